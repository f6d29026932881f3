#include "host/limits.hpp"

#include <gtest/gtest.h>

namespace shoal::host {
namespace {

TEST(limits, descriptors_are_shared_out_and_never_overcommitted_when_few) {
  for (std::uint64_t fds : {64u, 128u, 256u, 1024u, 4096u}) {
    const auto l = limits_for(fds, 1024, 64);
    SCOPED_TRACE(fds);
    // An HTTP client may hold two: its socket and the data file the gateway streams from.
    EXPECT_LE(descriptors_reserved + l.peers + l.control + l.readers + 2 * l.http, fds);
    EXPECT_GE(l.http, 2u);
    EXPECT_GE(l.control, 4u);
    EXPECT_GE(l.peers, 8u);
    EXPECT_LT(l.handshaking, l.peers);  // unauthenticated connections never take every slot
  }
  // Plenty of descriptors: the configured bounds rule.
  const auto many = limits_for(1u << 20, 1024, 32);
  EXPECT_EQ(many.peers, 1024u);
  EXPECT_EQ(many.control, 32u);
  EXPECT_EQ(many.handshaking, 256u);
  EXPECT_EQ(many.http, 256u);
}

TEST(limits, a_log_limiter_counts_what_it_left_out) {
  log_limiter l(2, std::chrono::seconds(10));
  time_point t{};
  std::uint64_t suppressed = 99;
  EXPECT_TRUE(l.allow(t, suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_TRUE(l.allow(t, suppressed));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(l.allow(t + std::chrono::seconds(1), suppressed));
  EXPECT_TRUE(l.allow(t + std::chrono::seconds(10), suppressed));
  EXPECT_EQ(suppressed, 5u);
  EXPECT_TRUE(l.allow(t + std::chrono::seconds(11), suppressed));
  EXPECT_EQ(suppressed, 0u);
}

}  // namespace
}  // namespace shoal::host
