// The dashboard in a real browser (issue 21, item 3): Debian's Chromium, headless, loads the
// page a daemon serves while that daemon fetches a content, and the page must show the fetch,
// the peer it comes from and, once it ends, the content held. A screenshot is saved beside the
// test's files (and copied to $SHOAL_DASHBOARD_SCREENSHOT when set, for docs/images/).
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/background_get.hpp"
#include "support/test_network.hpp"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string run_out(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[65536];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// Chromium as the machine allows it (root: no sandbox) and with nothing of its own on the
// network (no background requests, no QUIC), with a fresh profile, bounded in time. The page's
// timers run on virtual time: `budget_ms` of it lets the page poll the node a few times, each
// poll as soon as the last one's answers came (its rates are over the node's clock).
std::string chromium(const fs::path& profile, const std::string& args, int budget_ms = 4000) {
  return "timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic "
         "--no-first-run --disable-background-networking --disable-component-update "
         "--disable-sync --disable-dev-shm-usage --user-data-dir=" +
         profile.string() + " --virtual-time-budget=" + std::to_string(budget_ms) + " " + args +
         " 2>/dev/null";
}

TEST(dashboard, headless_chromium_shows_a_running_fetch_its_peer_and_then_the_content) {
  int st = -1;
  run_out("which chromium >/dev/null", &st);
  ASSERT_EQ(st, 0) << "chromium is missing: scripts/bootstrap.sh installs Debian's package";
  test_network net;
  auto& a = net.add_node("a");
  auto& b = net.add_node("b");
  write_random(net.dir() / "model.bin", 12u << 20, 5);
  const std::string id = net.add(a, net.dir() / "model.bin");
  net.start(a);
  net.start(b, {"--download-limit", "2MB/s"});  // about 6 s: long enough to be seen running
  background_get get(net, b, id, a.listen);

  // The fetch has started and a's connection is up.
  std::string peer;
  for (int i = 0; i < 100 && peer.empty(); ++i) {
    const json s = json::parse(net.shoal(&b, {"--json", "status"}).out, nullptr, false);
    if (s.is_object() && !s["fetches"].empty() && !s["peers"].empty())
      peer = s["peers"][0].value("node", "");
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_FALSE(peer.empty()) << cli::slurp(b.log);

  const std::string page = "http://" + b.http + "/";
  const std::string dom = run_out(chromium(net.dir() / "profile", "--dump-dom " + page), &st);
  ASSERT_EQ(st, 0) << dom;
  EXPECT_NE(dom.find("id=\"state\" class=\"state\">live<"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<tr data-id=\"" + id + "\">"), std::string::npos) << dom;  // the fetch
  EXPECT_NE(dom.find("<tr data-node=\"" + peer + "\"><td>a</td>"), std::string::npos) << dom;
  EXPECT_NE(dom.find(b.listen), std::string::npos) << dom;

  const fs::path shot = net.dir() / "dashboard.png";
  // 40 polls: enough real time between the first and the last for the rates to show.
  run_out(chromium(net.dir() / "profile",
                   "--hide-scrollbars --window-size=1280,1000 --screenshot=" + shot.string() + " " +
                       page,
                   40000),
          &st);
  ASSERT_EQ(st, 0);
  ASSERT_TRUE(fs::exists(shot));
  EXPECT_GT(fs::file_size(shot), 20000u);  // a drawn page, not a blank one
  if (const char* keep = std::getenv("SHOAL_DASHBOARD_SCREENSHOT"))
    fs::copy_file(shot, keep, fs::copy_options::overwrite_existing);

  const auto done = get.wait();
  ASSERT_EQ(done.exit_code, 0) << done.err;
  const std::string after = run_out(chromium(net.dir() / "profile", "--dump-dom " + page), &st);
  ASSERT_EQ(st, 0);
  EXPECT_NE(after.find("No fetch running."), std::string::npos);
  EXPECT_NE(after.find("id=\"fetches\" hidden"), std::string::npos) << after;
  const auto row = after.find("<tr data-id=\"" + id + "\">");  // now in the contents
  ASSERT_NE(row, std::string::npos) << after;
  EXPECT_NE(after.find("complete", row), std::string::npos);

  // The page and its files are the node's own, under a policy that allows nothing else.
  const std::string head = run_out("curl -sS -D - -o /dev/null " + page);
  EXPECT_NE(head.find("Content-Security-Policy: default-src 'none'"), std::string::npos) << head;
  EXPECT_NE(run_out("curl -sS http://" + b.http + "/dashboard.js").find("function poll"),
            std::string::npos);
}

}  // namespace
}  // namespace shoal::testing
