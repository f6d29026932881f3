// The core's and the simulator's random draws, specified here so that a seed replays the same on
// every standard library: std::mt19937_64's sequence is fixed by the C++ standard, but the
// standard distributions and std::shuffle are not (libstdc++ and libc++ turn the same draws into
// different numbers). tests/unit/core_boundary_test.cpp bans those in src/core and src/sim.
//
// Thread safety: plain functions over the caller's generator.
#pragma once

#include <cstdint>
#include <iterator>
#include <random>
#include <utility>

#include "shoal/error.hpp"

namespace shoal {

// A uniform integer in [0, n), n >= 1: draws below 2^64 mod n are rejected (at most half of
// them, for any n), and the rest taken mod n, so every value is equally likely.
inline std::uint64_t uniform_below(std::mt19937_64& g, std::uint64_t n) {
  SHOAL_ASSERT(n > 0);
  const std::uint64_t reject_below = (0 - n) % n;  // 2^64 mod n
  for (;;) {
    const std::uint64_t r = g();
    if (r >= reject_below) return r % n;
  }
}

// A uniform double in [0, 1): the top 53 bits of one draw.
inline double uniform_unit(std::mt19937_64& g) {
  return static_cast<double>(g() >> 11) * 0x1.0p-53;
}

// Fisher-Yates, from the last element down: element i is swapped with one uniform in [0, i].
template <typename It>
void shuffle_range(It first, It last, std::mt19937_64& g) {
  const auto n = static_cast<std::uint64_t>(std::distance(first, last));
  for (std::uint64_t i = n; i > 1; --i) {
    const std::uint64_t j = uniform_below(g, i);
    using std::swap;
    swap(*(first + static_cast<std::ptrdiff_t>(i - 1)), *(first + static_cast<std::ptrdiff_t>(j)));
  }
}

}  // namespace shoal
