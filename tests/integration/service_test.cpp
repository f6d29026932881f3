// The daemon as a service (issue 22, item 2): systemd's notification protocol, read from a
// NOTIFY_SOCKET the test makes (what systemd does for a Type=notify unit); SIGHUP reloads the
// config file's limits and log level; limits set at run time survive a restart; JSON log lines.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "support/test_network.hpp"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// A datagram socket where the daemon's sd_notify messages arrive.
class notify_socket {
 public:
  explicit notify_socket(const fs::path& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("cannot bind " + path.string());
  }
  ~notify_socket() {
    ::close(fd_);
    fs::remove(path_);
  }
  // The messages received until one contains `what` (true), or `limit` passes (false).
  bool wait_for(const std::string& what,
                std::chrono::milliseconds limit = std::chrono::seconds(15)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      timeval tv{0, 100000};
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) continue;
      seen.emplace_back(buf, static_cast<std::size_t>(n));
      if (seen.back().find(what) != std::string::npos) return true;
    }
    return false;
  }
  std::vector<std::string> seen;

 private:
  fs::path path_;
  int fd_ = -1;
};

std::string all(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + " | ";
  return out;
}

std::uint64_t upload_limit(test_network& net, const test_node& n) {
  const json s = json::parse(net.shoal(&n, {"--json", "status"}).out, nullptr, false);
  return s.is_object() ? s["limits"].value("upload", std::uint64_t{0}) : 0;
}

TEST(service, readiness_watchdog_reload_and_stopping_reach_systemd) {
  test_network net;
  auto& a = net.add_node("a");
  notify_socket sd(net.dir() / "notify.sock");
  ::setenv("NOTIFY_SOCKET", (net.dir() / "notify.sock").c_str(), 1);
  ::setenv("WATCHDOG_USEC", "400000", 1);  // WatchdogSec=0.4
  net.start(a);
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ASSERT_TRUE(sd.wait_for("READY=1")) << all(sd.seen) << cli::slurp(a.log);
  EXPECT_NE(sd.seen.back().find("STATUS=0 peers, 0 fetches, listening on " + a.listen),
            std::string::npos)
      << sd.seen.back();
  EXPECT_TRUE(sd.wait_for("WATCHDOG=1", std::chrono::seconds(2))) << all(sd.seen);
  ::kill(a.daemon, SIGHUP);
  ASSERT_TRUE(sd.wait_for("RELOADING=1")) << all(sd.seen);
  EXPECT_TRUE(sd.wait_for("READY=1")) << all(sd.seen);
  EXPECT_TRUE(net.log_shows(a, "SIGHUP: configuration reloaded"));
  ::kill(a.daemon, SIGTERM);
  EXPECT_TRUE(sd.wait_for("STOPPING=1")) << all(sd.seen);
  EXPECT_EQ(net.stop(a), 0);
}

// Limits from the config file; then `shoal limit`, kept across a restart; then the config file
// edited again and a SIGHUP: the more recent one wins each time, and flags beat both.
TEST(service, limits_set_at_run_time_survive_a_restart_and_sighup_applies_the_config) {
  test_network net;
  auto& a = net.add_node("a");
  const fs::path conf = net.dir() / "shoal.toml";
  std::ofstream(conf) << "upload_limit = \"3MB/s\"\n";
  net.start(a, {"--config", conf.string()});
  EXPECT_EQ(upload_limit(net, a), 3000000u);

  auto r = net.shoal(&a, {"--json", "limit", "--upload", "1MB/s"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(json::parse(r.out).value("saved", false)) << r.out;
  EXPECT_TRUE(fs::exists(a.dir / "limits.json"));
  net.stop(a);
  net.start(a, {"--config", conf.string()});
  EXPECT_EQ(upload_limit(net, a), 1000000u) << cli::slurp(a.log);

  // The config file edited after the `shoal limit`, and a reload: the file's limits now.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::ofstream(conf) << "upload_limit = \"2MB/s\"\nlog_level = \"debug\"\n";
  ::kill(a.daemon, SIGHUP);
  ASSERT_TRUE(net.log_shows(a, "SIGHUP: configuration reloaded: log level debug"))
      << cli::slurp(a.log);
  EXPECT_EQ(upload_limit(net, a), 2000000u);
  // A config file that no longer parses: the daemon says so and keeps what it had.
  std::ofstream(conf) << "upload_limit = fast\n";
  ::kill(a.daemon, SIGHUP);
  EXPECT_TRUE(net.log_shows(a, "the configuration was not reloaded")) << cli::slurp(a.log);
  EXPECT_EQ(upload_limit(net, a), 2000000u);
  net.stop(a);

  // Flags beat both.
  std::ofstream(conf) << "upload_limit = \"2MB/s\"\n";
  net.start(a, {"--config", conf.string(), "--upload-limit", "5MB/s"});
  EXPECT_EQ(upload_limit(net, a), 5000000u);
}

TEST(service, json_log_lines_carry_level_time_and_message) {
  test_network net;
  auto& a = net.add_node("a");
  net.start(a, {"--log-format", "json"});
  net.stop(a);
  std::istringstream in(cli::slurp(a.log));
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    const json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
    ++lines;
  }
  EXPECT_GE(lines, 3);
  EXPECT_NE(cli::slurp(a.log).find("\"msg\":\"signal 15: shutting down\""), std::string::npos);
}

}  // namespace
}  // namespace shoal::testing
