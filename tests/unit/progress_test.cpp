// host/progress.hpp: what a progress report says (issue 22, items 3 and 4).
#include "host/progress.hpp"

#include <gtest/gtest.h>

namespace shoal::host {
namespace {

TEST(progress, an_unknown_size_is_said_not_shown_as_done) {
  const auto line = progress_text(progress_style::lines, "fetching sh1abc", 0, 0, 0, 0);
  EXPECT_EQ(line, "fetching sh1abc: waiting for the content's size");
  EXPECT_EQ(line.find("100%"), std::string::npos);
  const auto bar = progress_text(progress_style::bar, "fetching sh1abc", 0, 0, 0, 80);
  EXPECT_EQ(bar.find("100%"), std::string::npos) << bar;
}

TEST(progress, rate_and_eta_appear_once_known) {
  const auto none = progress_text(progress_style::lines, "x", 1 << 20, 4 << 20, 0, 0);
  EXPECT_EQ(none, "x: 25% (1.0 MiB of 4.0 MiB)");
  const auto some = progress_text(progress_style::lines, "x", 1 << 20, 4 << 20, 1 << 20, 0);
  EXPECT_EQ(some, "x: 25% (1.0 MiB of 4.0 MiB) at 1.0 MiB/s, ETA 0:03");
}

TEST(progress, a_bar_fits_a_narrow_terminal) {
  const auto bar =
      progress_text(progress_style::bar, "fetching sh1abcdefghijk", 1 << 20, 4 << 20, 1 << 20, 60);
  EXPECT_LT(bar.size(), 60u) << bar;
  const auto wide = progress_text(progress_style::bar, "f", 1 << 20, 4 << 20, 1 << 20, 200);
  EXPECT_NE(wide.find("ETA 0:03"), std::string::npos) << wide;
}

TEST(progress, a_fetch_says_its_stage_and_peers) {
  EXPECT_EQ(progress_text(progress_style::lines, "fetching sh1abc", 0, 0, 0, 0,
                          fetch_detail("looking_up", 0, 0, 0)),
            "fetching sh1abc: looking up holders in the DHT");
  EXPECT_EQ(fetch_detail("connecting", 0, 2, 0), "connecting to 2 peers");
  EXPECT_EQ(fetch_detail("redialing", 0, 0, 1), "no holder answers; 1 to dial again");
  EXPECT_EQ(progress_text(progress_style::lines, "x", 1 << 20, 4 << 20, 1 << 20, 0,
                          fetch_detail("fetching", 1, 0, 0)),
            "x: 25% (1.0 MiB of 4.0 MiB) at 1.0 MiB/s, ETA 0:03; 1 peer");
}

}  // namespace
}  // namespace shoal::host
