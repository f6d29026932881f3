// A small content added to a store, and what a fetcher of it would know: the store tests'
// common fixture.
#pragma once

#include <vector>

#include "core/merkle.hpp"
#include "store/store.hpp"
#include "support/test_dir.hpp"

namespace shoal::testing {

// A source tree with several pieces in two files, and what a fetcher would know of it.
struct source_content {
  manifest m;
  content_id id;
  std::vector<hash256> piece_hashes;
  std::vector<std::vector<std::uint8_t>> pieces;
};

inline source_content make_source(const temp_dir& dir) {
  write_bytes(dir / "src/big.bin", pattern_bytes(5 * merkle::piece_size + 333, 1));
  write_bytes(dir / "src/sub/small.bin", pattern_bytes(40000, 2));
  write_bytes(dir / "src/sub/empty", {});
  auto origin = store::store::open(dir / "origin");
  SHOAL_ASSERT(origin.ok());
  auto added = (*origin)->add(dir / "src", true);
  SHOAL_ASSERT(added.ok());
  source_content s;
  s.id = added->content.id;
  s.m = *(*origin)->manifest_of(s.id);
  for (std::uint64_t i = 0; i < added->content.piece_count; ++i)
    s.pieces.push_back(*(*origin)->read_piece(s.id, piece_index{i}));
  crypto::sha256_hasher h;
  for (const auto& p : s.pieces) s.piece_hashes.push_back(merkle::piece_hash(h, p));
  return s;
}

}  // namespace shoal::testing
