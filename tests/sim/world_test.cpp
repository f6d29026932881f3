// The simulator's event queue: events run in (time, order scheduled) order, whatever order they
// were scheduled in, including events scheduled while others run; the clock jumps to each.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "sim/world.hpp"

namespace shoal::sim {
namespace {

TEST(sim_world, events_run_by_time_then_by_the_order_scheduled) {
  world w(3);
  std::mt19937_64 rng(11);
  // (time in ms, sequence scheduled): what ran, in order.
  std::vector<std::pair<std::int64_t, int>> ran;
  std::vector<std::pair<std::int64_t, int>> scheduled;
  int next = 0;
  const auto schedule = [&](std::int64_t ms) {
    const int seq = next++;
    scheduled.emplace_back(ms, seq);
    w.at(time_point(std::chrono::milliseconds(ms)), [&, ms, seq] {
      EXPECT_EQ(w.now(), time_point(std::chrono::milliseconds(ms)));
      ran.emplace_back(ms, seq);
    });
  };
  // Few distinct times, so that many events share one: their order is the order scheduled.
  for (int i = 0; i < 5000; ++i) schedule(static_cast<std::int64_t>(rng() % 200));
  // Some events schedule more, at their own time or later.
  for (int i = 0; i < 100; ++i) {
    const auto ms = static_cast<std::int64_t>(rng() % 200);
    const int seq = next++;
    scheduled.emplace_back(ms, seq);
    w.at(time_point(std::chrono::milliseconds(ms)), [&, ms, seq] {
      ran.emplace_back(ms, seq);
      schedule(ms + static_cast<std::int64_t>(rng() % 3));
    });
  }
  std::size_t steps = 0;
  while (w.step()) ASSERT_LT(++steps, 100'000u);
  std::sort(scheduled.begin(), scheduled.end());
  EXPECT_EQ(ran, scheduled);
  EXPECT_EQ(w.events_run(), scheduled.size());
}

}  // namespace
}  // namespace shoal::sim
