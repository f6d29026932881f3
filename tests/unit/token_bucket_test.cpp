#include "core/token_bucket.hpp"

#include <gtest/gtest.h>

namespace shoal {
namespace {

const time_point t0 = time_point{} + 100s;

double seconds(duration d) {
  return std::chrono::duration<double>(d).count();
}

TEST(token_bucket, unlimited_never_waits) {
  token_bucket b;
  EXPECT_EQ(b.take(t0, 1ull << 40), duration::zero());
  EXPECT_EQ(b.rate(), 0u);
}

TEST(token_bucket, a_burst_then_the_rate) {
  token_bucket b(1'000'000);  // 1 MB/s: a burst of 64 KiB (50 ms would be only 50 kB)
  EXPECT_EQ(b.take(t0, 64 * 1024), duration::zero());
  // Empty now: the next 100 kB wait 0.1 s.
  EXPECT_NEAR(seconds(b.take(t0, 100'000)), 0.1, 1e-6);
  // Debt carries: another 100 kB at the same instant waits 0.2 s in all.
  EXPECT_NEAR(seconds(b.take(t0, 100'000)), 0.2, 1e-6);
  // After 0.2 s the debt is paid; a small take waits only for itself.
  EXPECT_NEAR(seconds(b.take(t0 + 200ms, 1'000)), 0.001, 1e-6);
}

TEST(token_bucket, sustained_rate_matches) {
  // Moving 10 MB in 16 KiB writes, each after the wait the bucket asked for, takes 10 MB at
  // the rate (less the first burst).
  token_bucket b(5'000'000);
  time_point t = t0;
  std::uint64_t moved = 0;
  while (moved < 10'000'000) {
    t += b.take(t, 16384);
    moved += 16384;
  }
  EXPECT_NEAR(seconds(t - t0), (static_cast<double>(moved) - 250000.0) / 5e6, 0.01);
}

TEST(token_bucket, idle_time_fills_only_the_burst) {
  token_bucket b(1'000'000);
  (void)b.take(t0, 0);
  // An hour idle does not bank an hour of bytes: only the burst.
  EXPECT_EQ(b.take(t0 + 3600s, 64 * 1024), duration::zero());
  EXPECT_GT(b.take(t0 + 3600s, 1000), duration::zero());
}

TEST(token_bucket, rate_changes_at_run_time) {
  token_bucket b(1'000'000);
  (void)b.take(t0, 64 * 1024);
  b.set_rate(t0, 2'000'000);
  EXPECT_EQ(b.rate(), 2'000'000u);
  EXPECT_NEAR(seconds(b.take(t0, 200'000)), 0.1, 1e-6);
  b.set_rate(t0, 0);  // no limit any more
  EXPECT_EQ(b.take(t0, 1ull << 30), duration::zero());
  b.set_rate(t0 + 1s, 1'000'000);  // limited again: starts with a full burst
  EXPECT_EQ(b.take(t0 + 1s, 64 * 1024), duration::zero());
}

}  // namespace
}  // namespace shoal
