// Made-up members for simulations and tests: IDs drawn from a seeded generator, and addresses
// (10.x.y.z:7420, one per index) that are distinct and pass the wire codec's checks.
//
// Thread safety: plain functions.
#pragma once

#include <cstdint>
#include <random>

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

}  // namespace shoal::sim
