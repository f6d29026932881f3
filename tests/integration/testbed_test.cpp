// The swarm on the network testbed (scripts/testbed.sh): hosts in network namespaces on a
// bridge, each host's upload and download shaped with tbf, a daemon in each. A small swarm
// fetches and verifies a file; and the churn test: a quarter of the fetching hosts are killed,
// then the origin once the others hold a full copy between them, and every surviving host
// completes with verified content. Needs root and `ip netns`; without them each test skips and
// says why (the reason `scripts/testbed.sh check` gives).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "support/background_get.hpp"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string testbed = std::string(SHOAL_SOURCE_DIR) + "/scripts/testbed.sh";

struct sh_result {
  int exit_code = -1;
  std::string out;
};

// Runs a shell command (stderr joined to stdout), bounded by `timeout`.
sh_result sh(const std::string& cmd) {
  sh_result r;
  FILE* p = ::popen(("timeout 120 " + cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  while (std::fgets(buf.data(), buf.size(), p)) r.out += buf.data();
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// One testbed for the test's lifetime: built in the constructor, torn down in the destructor
// (and before building, in case a killed run left one behind).
class testbed_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto check = sh(testbed + " check");
    if (check.exit_code != 0) GTEST_SKIP() << "the network testbed cannot run here: " << check.out;
  }
  void TearDown() override {
    if (!name_.empty()) sh(testbed + " down " + name_);
  }

  // HOSTS hosts shaped to RATE; host 0 is the origin.
  void up(const std::string& name, int hosts, const std::string& rate) {
    name_ = name;
    sh(testbed + " down " + name_);
    const auto r = sh(testbed + " up " + name_ + " " + std::to_string(hosts) + " " + rate);
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }

  static std::string addr(int i) { return "10.77.0." + std::to_string(i + 1); }

  // Starts the node's daemon inside host i; returns its pid once its control socket is up.
  pid_t start(test_node& n, int i, const std::string& extra = "") {
    std::error_code ec;
    fs::remove(n.dir / "control.sock", ec);
    const std::size_t log_start = fs::exists(n.log) ? fs::file_size(n.log) : 0;
    const auto r = sh(testbed + " spawn " + name_ + " " + std::to_string(i) + " " + n.log.string() +
                      " -- " + SHOAL_BINARY + " --data-dir " + n.dir.string() +
                      " daemon --listen " + addr(i) + ":7420 " + extra);
    EXPECT_EQ(r.exit_code, 0) << r.out;
    n.listen = addr(i) + ":7420";
    // "listening on" is logged once bind() is done, the HTTP token written too; the control
    // socket alone exists earlier (a test read the token empty under AddressSanitizer).
    const auto up = [&] {
      return fs::exists(n.dir / "control.sock") &&
             cli::slurp(n.log).find("listening on", log_start) != std::string::npos;
    };
    for (int k = 0; k < 400 && !up(); ++k)
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    EXPECT_TRUE(up()) << cli::slurp(n.log);
    return static_cast<pid_t>(std::stol(r.out));
  }

  // An origin holding a random file of `size` bytes and `hosts` fetcher nodes (not started).
  struct swarm_nodes {
    test_node* origin = nullptr;
    std::vector<test_node*> fetchers;
    fs::path file;
    std::string id;
  };
  swarm_nodes make_swarm(int hosts, const std::string& file_name, std::uint64_t size,
                         std::uint32_t seed) {
    swarm_nodes s;
    s.origin = &net_.add_node("origin");
    for (int i = 1; i <= hosts; ++i)
      s.fetchers.push_back(&net_.add_node("host-" + std::to_string(i)));
    s.file = net_.dir() / file_name;
    write_random(s.file, size, seed);
    s.id = net_.add(*s.origin, s.file);
    return s;
  }

  background_get start_get(test_node& n, const std::string& id, const std::string& from) {
    return background_get(net_, n, id, from);
  }

  json status(const test_node& n) {
    auto s = net_.shoal(&n, {"--json", "status"}, std::chrono::seconds(10));
    return s.exit_code == 0 ? json::parse(s.out) : json::object();
  }

  test_network net_;
  std::string name_;
};

TEST_F(testbed_fixture, a_small_swarm_fetches_and_verifies_over_shaped_links) {
  up("tbsmall", 4, "40mbit");
  const auto [origin_node, fetchers, file, id] =
      make_swarm(3, "image.bin", 8 * 1024 * 1024 + 4321, 5);
  test_node& origin = *origin_node;
  start(origin, 0);
  for (int i = 0; i < 3; ++i) start(*fetchers[i], i + 1);
  std::vector<background_get> gets;
  for (auto* f : fetchers) gets.push_back(start_get(*f, id, origin.listen));
  std::uint64_t from_peers = 0;
  for (std::size_t i = 0; i < gets.size(); ++i) {
    auto r = gets[i].wait(std::chrono::seconds(120));
    ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << cli::slurp(fetchers[i]->log);
    EXPECT_TRUE(same_file(file, gets[i].out)) << fetchers[i]->name;
    from_peers += json::parse(r.out).value("from_peers", std::uint64_t{0});
  }
  EXPECT_GT(from_peers, 0u) << "the hosts took nothing from each other";
}

TEST_F(testbed_fixture, churn_a_quarter_of_the_hosts_then_the_origin_die_and_the_rest_finish) {
  up("tbchurn", 5, "40mbit");
  const auto [origin_node, fetchers, file, id] =
      make_swarm(4, "dataset.bin", 16 * 1024 * 1024 + 99, 6);
  test_node& origin = *origin_node;
  const pid_t origin_pid = start(origin, 0);
  // The fetchers' uploads are held low until the origin is gone, so that they cannot all finish
  // before it is killed; then lifted at run time.
  std::vector<pid_t> pids;
  for (int i = 0; i < 4; ++i) pids.push_back(start(*fetchers[i], i + 1, "--upload-limit 1mbit"));
  std::vector<background_get> gets;
  for (auto* f : fetchers) gets.push_back(start_get(*f, id, origin.listen));

  // A quarter of the fetching hosts (one of four) dies once it holds something.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool killed = false;
  while (!killed && std::chrono::steady_clock::now() < deadline) {
    const json st = status(*fetchers[0]);
    if (!st.empty() && !st["fetches"].empty() &&
        st["fetches"][0].value("stored_bytes", std::uint64_t{0}) > 1024 * 1024) {
      ::kill(pids[0], SIGKILL);
      killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(killed) << "host-1 never stored 1 MiB";
  (void)gets[0].wait(std::chrono::seconds(30));

  // Then the origin, once the three left hold every piece between them.
  bool origin_killed = false;
  while (!origin_killed && std::chrono::steady_clock::now() < deadline) {
    const json swarms = status(origin).value("swarms", json::array());
    if (!swarms.empty() && swarms[0].value("pieces_only_here", std::uint64_t{1}) == 0) {
      ::kill(origin_pid, SIGKILL);
      origin_killed = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(origin_killed) << "the hosts never held a full copy between them";
  for (std::size_t i = 1; i < fetchers.size(); ++i)
    EXPECT_EQ(net_.shoal(fetchers[i], {"limit", "--upload", "0"}).exit_code, 0);
  for (std::size_t i = 1; i < gets.size(); ++i) {
    auto r = gets[i].wait(std::chrono::seconds(120));
    ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << cli::slurp(fetchers[i]->log);
    EXPECT_TRUE(same_file(file, gets[i].out)) << fetchers[i]->name;
    auto v = net_.shoal(fetchers[i], {"verify", id});
    EXPECT_EQ(v.exit_code, 0) << v.err;
  }
}

// Issue 21, item 2: off the loopback, the HTTP server answers nothing without the token. A
// client in another host of the testbed (a real, non-loopback address) gets 401 for a read of
// the API, the gateway and the metrics, and 200 with the token.
TEST_F(testbed_fixture, a_client_off_the_loopback_needs_the_token_for_every_request) {
  up("tbhttp", 2, "1gbit");
  test_node& node = net_.add_node("node");
  const auto file = net_.dir() / "f.bin";
  write_random(file, 300000, 7);
  const std::string id = net_.add(node, file);
  start(node, 0, "--http-listen " + addr(0) + ":7421");
  std::string token;
  std::ifstream(node.dir / "http.token") >> token;
  ASSERT_EQ(token.size(), 64u);
  const auto code = [&](const std::string& path, const std::string& auth = "") {
    return sh(testbed + " exec " + name_ + " 1 curl -sS -o /dev/null -w '%{http_code}' " +
              (auth.empty() ? "" : "-H 'Authorization: Bearer " + auth + "' ") + "http://" +
              addr(0) + ":7421" + path)
        .out;
  };
  for (const std::string& path :
       std::vector<std::string>{"/api/v1/status", "/content/" + id, "/metrics", "/healthz"}) {
    EXPECT_EQ(code(path), "401") << path;
    EXPECT_EQ(code(path, std::string(64, '0')), "401") << path;
    EXPECT_EQ(code(path, token), "200") << path;
  }
  // The bytes themselves, with the token, are the file's.
  const auto r =
      sh(testbed + " exec " + name_ + " 1 curl -sS -H 'Authorization: Bearer " + token + "' -o " +
         (net_.dir() / "copy.bin").string() + " http://" + addr(0) + ":7421/content/" + id);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(same_file(file, net_.dir() / "copy.bin"));
}

}  // namespace
}  // namespace shoal::testing
