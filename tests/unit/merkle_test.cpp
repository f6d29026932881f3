#include "core/merkle.hpp"
#include "support/test_dir.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace shoal::merkle {
namespace {

std::vector<std::uint8_t> pattern(std::size_t n) {
  return testing::mod251_bytes(n);
}

// The root computed the long way: every leaf, padded and folded to the tree's height.
hash256 root_from_leaves(byte_span data) {
  crypto::sha256_hasher h;
  std::vector<hash256> leaves;
  for (std::size_t off = 0; off < data.size(); off += block_size)
    leaves.push_back(
        leaf_hash(h, data.subspan(off, std::min<std::size_t>(block_size, data.size() - off))));
  return fold(h, leaves, tree_height(data.size()));
}

struct file_tree {
  std::vector<hash256> pieces;
  std::vector<std::vector<hash256>> piece_leaves;
  hash256 root;
};

file_tree build(byte_span data) {
  crypto::sha256_hasher h;
  file_tree t;
  for (std::size_t off = 0; off < data.size(); off += piece_size) {
    auto piece = data.subspan(off, std::min<std::size_t>(piece_size, data.size() - off));
    t.pieces.push_back(piece_hash(h, piece));
    t.piece_leaves.push_back(piece_leaf_hashes(h, piece));
  }
  t.root = root_from_pieces(h, t.pieces, data.size());
  return t;
}

TEST(merkle, counts_and_height) {
  EXPECT_EQ(leaf_count(0), 0u);
  EXPECT_EQ(leaf_count(1), 1u);
  EXPECT_EQ(leaf_count(block_size), 1u);
  EXPECT_EQ(leaf_count(block_size + 1), 2u);
  EXPECT_EQ(piece_count(piece_size), 1u);
  EXPECT_EQ(piece_count(piece_size + 1), 2u);
  EXPECT_EQ(tree_height(0), 0u);
  EXPECT_EQ(tree_height(1), 4u);  // at least a whole piece
  EXPECT_EQ(tree_height(piece_size), 4u);
  EXPECT_EQ(tree_height(piece_size + 1), 5u);
  EXPECT_EQ(tree_height(3 * piece_size), 6u);
}

TEST(merkle, empty_file_root_is_zero) {
  crypto::sha256_hasher h;
  EXPECT_TRUE(root_from_pieces(h, {}, 0).is_zero());
}

TEST(merkle, piece_layer_gives_the_same_root_as_all_leaves) {
  for (std::size_t size :
       {std::size_t{1}, std::size_t{3}, std::size_t{block_size}, std::size_t{block_size + 1},
        std::size_t{piece_size - 1}, std::size_t{piece_size}, std::size_t{piece_size + 1},
        std::size_t{1000000}, std::size_t{5 * piece_size + 12345}}) {
    const auto data = pattern(size);
    EXPECT_EQ(build(data).root, root_from_leaves(data)) << "size " << size;
  }
}

TEST(merkle, domain_separation_keeps_a_64_byte_leaf_apart_from_a_node) {
  crypto::sha256_hasher h;
  const auto data = pattern(64);
  hash256 left, right;
  std::copy_n(data.begin(), 32, left.bytes.begin());
  std::copy_n(data.begin() + 32, 32, right.bytes.begin());
  EXPECT_NE(leaf_hash(h, data), node_hash(h, left, right));
}

TEST(merkle, every_block_proof_verifies) {
  crypto::sha256_hasher h;
  for (std::size_t size : {std::size_t{5}, std::size_t{block_size * 3 + 7}, std::size_t{piece_size},
                           std::size_t{3 * piece_size + 2 * block_size + 1}}) {
    const auto data = pattern(size);
    const auto t = build(data);
    for (std::uint64_t b = 0; b < leaf_count(size); ++b) {
      const auto piece = b / blocks_per_piece;
      const auto p = make_proof(h, t.piece_leaves[piece], t.pieces, size, block_index{b});
      const auto block = byte_span(data).subspan(
          b * block_size, std::min<std::size_t>(block_size, size - b * block_size));
      ASSERT_EQ(p.siblings.size(), tree_height(size));
      EXPECT_TRUE(verify_block(h, t.root, size, block_index{b}, block, p))
          << "size " << size << " block " << b;
    }
  }
}

TEST(merkle, tampered_proofs_fail) {
  crypto::sha256_hasher h;
  const std::size_t size = 2 * piece_size + 100;
  const auto data = pattern(size);
  const auto t = build(data);
  const block_index b{17};
  const auto good = make_proof(h, t.piece_leaves[1], t.pieces, size, b);
  const auto block = byte_span(data).subspan(17 * block_size, block_size);
  ASSERT_TRUE(verify_block(h, t.root, size, b, block, good));

  for (std::size_t i = 0; i < good.siblings.size(); ++i) {
    auto bad = good;
    bad.siblings[i].bytes[5] ^= 1;
    EXPECT_FALSE(verify_block(h, t.root, size, b, block, bad)) << "sibling " << i;
  }
  auto tampered = std::vector<std::uint8_t>(block.begin(), block.end());
  tampered[100] ^= 0x80;
  EXPECT_FALSE(verify_block(h, t.root, size, b, tampered, good));
  EXPECT_FALSE(verify_block(h, t.root, size, block_index{16}, block, good));   // wrong position
  EXPECT_FALSE(verify_block(h, t.root, size, block_index{999}, block, good));  // out of range
  auto short_proof = good;
  short_proof.siblings.pop_back();
  EXPECT_FALSE(verify_block(h, t.root, size, b, block, short_proof));
  auto long_proof = good;
  long_proof.siblings.push_back(hash256{});
  EXPECT_FALSE(verify_block(h, t.root, size, b, block, long_proof));
  // The size is authenticated by the manifest, not the root; a size that changes the tree's
  // height must still make the proof fail.
  EXPECT_FALSE(verify_block(h, t.root, 4 * size, b, block, good));
  // The last block must have exactly the file's remaining length.
  const block_index last{leaf_count(size) - 1};
  const auto last_proof = make_proof(h, t.piece_leaves[2], t.pieces, size, last);
  const auto last_block = byte_span(data).subspan(last.value * block_size);
  EXPECT_TRUE(verify_block(h, t.root, size, last, last_block, last_proof));
  std::vector<std::uint8_t> padded(last_block.begin(), last_block.end());
  padded.push_back(0);
  EXPECT_FALSE(verify_block(h, t.root, size, last, padded, last_proof));
}

}  // namespace
}  // namespace shoal::merkle
