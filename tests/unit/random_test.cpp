// core/random.hpp: the draws are ours, so a seed gives the same numbers on every standard library.
// The expected values below follow from the definitions and std::mt19937_64's standard sequence;
// a change to either changes every simulation's trace, and must be deliberate.
#include "core/random.hpp"

#include <gtest/gtest.h>

#include <array>
#include <numeric>
#include <vector>

namespace shoal {
namespace {

TEST(random, the_generator_is_the_standard_one) {
  std::mt19937_64 g;  // default seed 5489: the standard fixes its 10,000th output
  g.discard(9999);
  EXPECT_EQ(g(), 9981545732273789042ull);
}

TEST(random, uniform_below_is_in_range_and_takes_every_value) {
  std::mt19937_64 g(1);
  std::array<int, 7> seen{};
  for (int i = 0; i < 7000; ++i) {
    const auto v = uniform_below(g, 7);
    ASSERT_LT(v, 7u);
    ++seen[v];
  }
  for (int n : seen) {
    EXPECT_GT(n, 850);
    EXPECT_LT(n, 1150);
  }
  EXPECT_EQ(uniform_below(g, 1), 0u);
}

TEST(random, draws_are_the_specified_ones) {
  // uniform_below(n) is g() % n unless g() < 2^64 mod n: the first draws of seed 1.
  std::mt19937_64 a(1), b(1);
  for (std::uint64_t n : {2ull, 3ull, 10ull, 1000ull, (1ull << 63) + 1}) {
    const std::uint64_t reject_below = (0 - n) % n;
    std::uint64_t r = b();
    while (r < reject_below) r = b();
    EXPECT_EQ(uniform_below(a, n), r % n) << n;
  }
  std::mt19937_64 c(1), d(1);
  EXPECT_EQ(uniform_unit(c), static_cast<double>(d() >> 11) / 9007199254740992.0);
}

TEST(random, shuffle_is_fisher_yates_from_the_end) {
  std::vector<int> v(10);
  std::iota(v.begin(), v.end(), 0);
  std::vector<int> w = v;
  std::mt19937_64 a(3), b(3);
  shuffle_range(v.begin(), v.end(), a);
  for (std::uint64_t i = w.size(); i > 1; --i) std::swap(w[i - 1], w[uniform_below(b, i)]);
  EXPECT_EQ(v, w);
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> all(10);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(sorted, all);  // a permutation
}

}  // namespace
}  // namespace shoal
