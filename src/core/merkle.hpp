// The SHA-256 Merkle tree of a file (content format v1, docs/protocol/content.md).
//
// Leaves are 16 KiB blocks; a piece is the aligned subtree of 16 leaves (256 KiB). The tree is
// padded to a power of two leaves, at least 16, and every node whose subtree holds no real leaf is
// the all-zero hash Z. Leaves and interior nodes are domain-separated:
//   leaf = SHA-256(0x00 || block)        node = SHA-256(0x01 || left || right)
// so a 64-byte block can never pass for an interior node.
//
// Pure computation, no I/O. Thread safety: free functions are thread-safe; a hasher argument
// must not be shared between threads.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "crypto/sha256.hpp"
#include "shoal/types.hpp"

namespace shoal::merkle {

inline constexpr std::uint64_t block_size = 16 * 1024;
inline constexpr unsigned piece_level = 4;  // a piece is a subtree of 2^4 leaves
inline constexpr std::uint64_t blocks_per_piece = 1u << piece_level;
inline constexpr std::uint64_t piece_size = block_size * blocks_per_piece;

inline constexpr std::uint64_t leaf_count(std::uint64_t file_size) {
  return (file_size + block_size - 1) / block_size;
}
inline constexpr std::uint64_t piece_count(std::uint64_t file_size) {
  return (file_size + piece_size - 1) / piece_size;
}
// The level of the root (leaves are level 0): max(4, ceil(log2(leaf_count))). 0 for empty files.
unsigned tree_height(std::uint64_t file_size);

hash256 leaf_hash(crypto::sha256_hasher& h, byte_span block);
hash256 node_hash(crypto::sha256_hasher& h, const hash256& left, const hash256& right);

// Combines `nodes` (the real nodes of one level, left to right) `levels` times, padding with Z,
// and returns the single node on top. REQUIRES: nodes.size() <= 2^levels.
hash256 fold(crypto::sha256_hasher& h, std::vector<hash256> nodes, unsigned levels);

// The hash of one piece from its bytes (at most piece_size; only the file's last piece is short).
hash256 piece_hash(crypto::sha256_hasher& h, byte_span piece);
// The leaf hashes of one piece's bytes.
std::vector<hash256> piece_leaf_hashes(crypto::sha256_hasher& h, byte_span piece);

// The root of a file from its piece layer. REQUIRES: pieces.size() == piece_count(file_size).
hash256 root_from_pieces(crypto::sha256_hasher& h, std::span<const hash256> pieces,
                         std::uint64_t file_size);

// The sibling hashes from a block's leaf up to the root (tree_height(file_size) of them).
struct proof {
  std::vector<hash256> siblings;
};

// Builds the proof for `block` from the leaf hashes of the piece that holds it and the file's
// piece layer. REQUIRES: block < leaf_count(file_size); leaves are that piece's leaf hashes.
proof make_proof(crypto::sha256_hasher& h, std::span<const hash256> piece_leaves,
                 std::span<const hash256> pieces, std::uint64_t file_size, block_index block);

// True iff `data` is block `block` of a file with this root and size, by the proof.
bool verify_block(crypto::sha256_hasher& h, const hash256& root, std::uint64_t file_size,
                  block_index block, byte_span data, const proof& p);

// The siblings of block `block_in_piece` inside its piece, from the leaf up to the piece's subtree
// root (lowest first), given the piece's leaf hashes. This is the proof a block message carries;
// the receiver already holds the verified piece hash. REQUIRES: block_in_piece < leaves.size().
std::array<hash256, piece_level> piece_proof(crypto::sha256_hasher& h,
                                             std::span<const hash256> piece_leaves,
                                             unsigned block_in_piece);

// True iff `data` is block `block_in_piece` of the piece whose hash is `piece_hash`, by the
// siblings from piece_proof(). The caller checks the data's length against the layout.
bool verify_in_piece(crypto::sha256_hasher& h, const hash256& piece_hash, unsigned block_in_piece,
                     byte_span data, std::span<const hash256, piece_level> siblings);

}  // namespace shoal::merkle
