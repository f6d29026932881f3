// Made-up members for simulations and tests: IDs drawn from a seeded generator, and addresses
// (10.x.y.z:7420, one per index) that are distinct and pass the wire codec's checks.
//
// Thread safety: plain functions.
#pragma once

#include <cstdint>
#include <random>

#include "core/merkle.hpp"
#include "core/node.hpp"
#include "core/wire.hpp"

namespace shoal::sim {

inline hash256 random_hash(std::mt19937_64& rng) {
  hash256 h;
  for (std::size_t i = 0; i < h.bytes.size(); i += 8) {
    const std::uint64_t r = rng();
    for (std::size_t j = 0; j < 8; ++j) h.bytes[i + j] = static_cast<std::uint8_t>(r >> (8 * j));
  }
  return h;
}

inline wire::peer_entry entry_for(const node_id& n, std::size_t index) {
  wire::peer_entry e;
  e.node = n;
  e.ip = {10, static_cast<std::uint8_t>(index >> 16), static_cast<std::uint8_t>(index >> 8),
          static_cast<std::uint8_t>(index)};
  e.port = 7420;
  return e;
}

// A content of `size` bytes as the simulator holds it (fetch_config::synthetic_blocks): one file
// whose piece hashes are drawn from the generator, so that its ID, manifest and layout are real
// and no byte of it exists. `have` is complete.
struct synthetic_content {
  content_id id;
  held_content held;
};

inline synthetic_content make_synthetic_content(std::mt19937_64& rng, std::uint64_t size) {
  std::vector<hash256> hashes(merkle::piece_count(size));
  for (auto& h : hashes) h = random_hash(rng);
  crypto::sha256_hasher hasher;
  manifest m;
  m.kind = root_kind::file;
  manifest_entry e;
  e.size = size;
  e.root = merkle::root_from_pieces(hasher, hashes, size);
  m.entries.push_back(e);
  auto bytes = encode(m);
  const content_id id = content_id::of_manifest(bytes);
  content_layout layout(m);
  piece_set have(layout.piece_count(), true);
  return {id, held_content{
                  std::move(bytes), {}, std::move(hashes), std::move(layout), std::move(have)}};
}

}  // namespace shoal::sim
