#include "core/merkle.hpp"

#include <algorithm>
#include <bit>

#include "shoal/error.hpp"

namespace shoal::merkle {

unsigned tree_height(std::uint64_t file_size) {
  const std::uint64_t leaves = leaf_count(file_size);
  if (leaves == 0) return 0;
  const auto h = static_cast<unsigned>(std::bit_width(std::bit_ceil(leaves)) - 1);
  return h < piece_level ? piece_level : h;
}

hash256 leaf_hash(crypto::sha256_hasher& h, byte_span block) {
  SHOAL_ASSERT(block.size() <= block_size);
  h.reset();
  h.update(std::uint8_t{0x00});
  h.update(block);
  return h.finish();
}

hash256 node_hash(crypto::sha256_hasher& h, const hash256& left, const hash256& right) {
  h.reset();
  h.update(std::uint8_t{0x01});
  h.update(left.bytes);
  h.update(right.bytes);
  return h.finish();
}

hash256 fold(crypto::sha256_hasher& h, std::vector<hash256> nodes, unsigned levels) {
  SHOAL_ASSERT(levels < 64 && nodes.size() <= (std::uint64_t{1} << levels));
  if (nodes.empty()) return hash256{};
  // Only real nodes are stored; a missing right sibling is padding (Z). A parent exists as a
  // real node iff its left child is real, because padding only ever sits at the right end.
  for (unsigned level = 0; level < levels; ++level) {
    std::vector<hash256> up((nodes.size() + 1) / 2);
    for (std::size_t i = 0; i < up.size(); ++i) {
      const hash256 right = 2 * i + 1 < nodes.size() ? nodes[2 * i + 1] : hash256{};
      up[i] = node_hash(h, nodes[2 * i], right);
    }
    nodes = std::move(up);
  }
  return nodes.front();
}

std::vector<hash256> piece_leaf_hashes(crypto::sha256_hasher& h, byte_span piece) {
  SHOAL_ASSERT(piece.size() <= piece_size);
  std::vector<hash256> leaves;
  leaves.reserve(blocks_per_piece);
  for (std::uint64_t off = 0; off < piece.size(); off += block_size)
    leaves.push_back(leaf_hash(h, piece.subspan(off, std::min(block_size, piece.size() - off))));
  return leaves;
}

hash256 piece_hash(crypto::sha256_hasher& h, byte_span piece) {
  SHOAL_ASSERT(!piece.empty());
  return fold(h, piece_leaf_hashes(h, piece), piece_level);
}

hash256 root_from_pieces(crypto::sha256_hasher& h, std::span<const hash256> pieces,
                         std::uint64_t file_size) {
  SHOAL_ASSERT(pieces.size() == piece_count(file_size));
  if (file_size == 0) return hash256{};
  return fold(h, {pieces.begin(), pieces.end()}, tree_height(file_size) - piece_level);
}

namespace {

// Appends to `out` the siblings of node `index` on the way up `levels` levels of a tree whose
// bottom level has these real nodes (others are Z).
void append_siblings(crypto::sha256_hasher& h, std::vector<hash256> nodes, std::uint64_t index,
                     unsigned levels, std::vector<hash256>& out) {
  for (unsigned level = 0; level < levels; ++level) {
    const std::uint64_t sibling = index ^ 1;
    out.push_back(sibling < nodes.size() ? nodes[sibling] : hash256{});
    std::vector<hash256> up((nodes.size() + 1) / 2);
    for (std::size_t i = 0; i < up.size(); ++i)
      up[i] = node_hash(h, nodes[2 * i], 2 * i + 1 < nodes.size() ? nodes[2 * i + 1] : hash256{});
    nodes = std::move(up);
    index >>= 1;
  }
}

}  // namespace

proof make_proof(crypto::sha256_hasher& h, std::span<const hash256> piece_leaves,
                 std::span<const hash256> pieces, std::uint64_t file_size, block_index block) {
  SHOAL_ASSERT(block.value < leaf_count(file_size));
  SHOAL_ASSERT(pieces.size() == piece_count(file_size));
  proof p;
  const std::uint64_t piece = block.value / blocks_per_piece;
  append_siblings(h, {piece_leaves.begin(), piece_leaves.end()}, block.value % blocks_per_piece,
                  piece_level, p.siblings);
  append_siblings(h, {pieces.begin(), pieces.end()}, piece, tree_height(file_size) - piece_level,
                  p.siblings);
  return p;
}

bool verify_block(crypto::sha256_hasher& h, const hash256& root, std::uint64_t file_size,
                  block_index block, byte_span data, const proof& p) {
  const std::uint64_t leaves = leaf_count(file_size);
  if (block.value >= leaves) return false;
  const std::uint64_t expected_size =
      block.value + 1 < leaves ? block_size : file_size - block.value * block_size;
  if (data.size() != expected_size) return false;
  if (p.siblings.size() != tree_height(file_size)) return false;
  hash256 node = leaf_hash(h, data);
  std::uint64_t index = block.value;
  for (const hash256& sibling : p.siblings) {
    node = (index & 1) ? node_hash(h, sibling, node) : node_hash(h, node, sibling);
    index >>= 1;
  }
  return node == root;
}

std::array<hash256, piece_level> piece_proof(crypto::sha256_hasher& h,
                                             std::span<const hash256> piece_leaves,
                                             unsigned block_in_piece) {
  SHOAL_ASSERT(block_in_piece < piece_leaves.size() && piece_leaves.size() <= blocks_per_piece);
  std::vector<hash256> siblings;
  append_siblings(h, {piece_leaves.begin(), piece_leaves.end()}, block_in_piece, piece_level,
                  siblings);
  std::array<hash256, piece_level> out;
  std::copy(siblings.begin(), siblings.end(), out.begin());
  return out;
}

bool verify_in_piece(crypto::sha256_hasher& h, const hash256& piece_hash, unsigned block_in_piece,
                     byte_span data, std::span<const hash256, piece_level> siblings) {
  if (block_in_piece >= blocks_per_piece || data.empty() || data.size() > block_size) return false;
  hash256 node = leaf_hash(h, data);
  unsigned index = block_in_piece;
  for (const hash256& sibling : siblings) {
    node = (index & 1) ? node_hash(h, sibling, node) : node_hash(h, node, sibling);
    index >>= 1;
  }
  return node == piece_hash;
}

}  // namespace shoal::merkle
