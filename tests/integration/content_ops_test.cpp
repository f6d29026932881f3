// Content operations while the daemon runs (issue 21, item 1). Before, with a daemon running,
// `shoal add`, `rm`, `pin`, `unpin` and `gc` failed with "data directory ... is in use by
// another shoal process": publishing meant stopping the node. Now the CLI asks the daemon, with
// the same output as on a store that no daemon holds, and the node serves what was added at
// once; Ctrl-C on a `get` cancels the fetch it started, unless --detach.
#include <gtest/gtest.h>
#include <signal.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/background_get.hpp"
#include "support/raw_control.hpp"
#include "support/test_network.hpp"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json parse_out(const run_result& r) {
  return json::parse(r.out, nullptr, false);
}

// The keys of a JSON object, to compare the shape of two outputs.
std::vector<std::string> keys(const json& j) {
  std::vector<std::string> k;
  for (const auto& [key, _] : j.items()) k.push_back(key);
  return k;
}

TEST(content_ops, add_pin_rm_and_gc_go_through_a_running_daemon_with_the_same_output) {
  test_network net;
  auto& a = net.add_node("a");
  auto& b = net.add_node("b");
  write_bytes(net.dir() / "offline.bin", pattern_bytes(300000, 1));
  write_bytes(net.dir() / "online.bin", pattern_bytes(700000, 2));
  write_bytes(net.dir() / "spare.bin", pattern_bytes(1000, 3));
  // The same commands on a store no daemon holds, for their output.
  const auto offline_add = net.shoal(&a, {"--json", "add", (net.dir() / "offline.bin").string()});
  ASSERT_EQ(offline_add.exit_code, 0) << offline_add.err;
  const std::string offline_id = parse_out(offline_add).value("id", "");
  const auto offline_unpin = net.shoal(&a, {"--json", "unpin", offline_id});
  ASSERT_EQ(offline_unpin.exit_code, 0) << offline_unpin.err;

  net.start(a);
  net.start(b);
  const auto added = net.shoal(&a, {"--json", "add", (net.dir() / "online.bin").string()});
  ASSERT_EQ(added.exit_code, 0) << added.err << "\nlog of a:\n" << cli::slurp(a.log);
  const json j = parse_out(added);
  EXPECT_EQ(keys(j), keys(parse_out(offline_add)));
  EXPECT_EQ(j.value("name", ""), "online.bin");
  EXPECT_TRUE(j.value("pinned", false));
  EXPECT_FALSE(j.value("already_present", true));
  const std::string id = j.value("id", "");
  EXPECT_TRUE(net.log_shows(a, "added " + id));
  // The text output too: the ID on stdout, what was added on stderr.
  const auto again = net.shoal(&a, {"add", (net.dir() / "online.bin").string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(trim(again.out), id);
  EXPECT_NE(again.err.find("already held online.bin"), std::string::npos) << again.err;

  // The running node serves what was just added.
  const auto out = net.dir() / "fetched.bin";
  auto got = net.get(b, id, {a.listen}, out);
  ASSERT_EQ(got.exit_code, 0) << got.err << "\nlog of a:\n" << cli::slurp(a.log);
  EXPECT_TRUE(same_file(out, net.dir() / "online.bin"));

  // Pinned content is not removed; unpinned, rm takes it and the node no longer serves it.
  auto rm = net.shoal(&a, {"rm", id});
  EXPECT_EQ(rm.exit_code, 1);
  EXPECT_NE(rm.err.find("is pinned"), std::string::npos) << rm.err;
  const auto unpin = net.shoal(&a, {"--json", "unpin", id});
  ASSERT_EQ(unpin.exit_code, 0) << unpin.err;
  EXPECT_EQ(keys(parse_out(unpin)), keys(parse_out(offline_unpin)));
  rm = net.shoal(&a, {"--json", "rm", id});
  ASSERT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(parse_out(rm).value("removed", ""), id);
  EXPECT_GT(parse_out(rm).value("bytes_freed", 0ull), 0u);
  auto& c = net.add_node("c");
  net.start(c);
  got = net.get(c, id, {a.listen}, net.dir() / "gone.bin", std::chrono::seconds(60));
  EXPECT_NE(got.exit_code, 0) << "a removed content was still served";

  // gc removes the unpinned content added before the daemon started, and keeps what is pinned.
  const std::string spare = net.add(a, net.dir() / "spare.bin");
  const auto gc = net.shoal(&a, {"--json", "gc"});
  ASSERT_EQ(gc.exit_code, 0) << gc.err;
  const json removed = parse_out(gc).value("removed", json::array());
  ASSERT_EQ(removed.size(), 1u) << gc.out;
  EXPECT_EQ(removed[0].value("id", ""), offline_id);
  const auto ls = net.shoal(&a, {"--json", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  ASSERT_EQ(parse_out(ls).size(), 1u) << ls.out;
  EXPECT_EQ(parse_out(ls)[0].value("id", ""), spare);
}

// One add or verify runs at a time in the daemon: the one that waits is told so at once,
// instead of looking hung until the other is done.
TEST(content_ops, an_add_that_waits_behind_another_is_told_it_is_queued) {
  test_network net;
  auto& a = net.add_node("a");
  net.start(a);
  write_bytes(net.dir() / "big.bin", pattern_bytes(384u << 20, 1));
  write_bytes(net.dir() / "small.bin", pattern_bytes(1000, 2));
  const auto add = [&](const std::string& name) {
    return "{\"op\": \"add\", \"path\": \"" + (net.dir() / name).string() + "\"}\n";
  };
  raw_control first(a.dir / "control.sock", add("big.bin"));
  raw_control second(a.dir / "control.sock", add("small.bin"));
  const std::string one = first.read_all(), two = second.read_all();
  // Whichever the daemon read second waited, and heard so before its answer.
  const bool q1 = one.find("\"event\":\"queued\"") != std::string::npos;
  const bool q2 = two.find("\"event\":\"queued\"") != std::string::npos;
  EXPECT_NE(q1, q2) << one << "\n---\n" << two;
  const std::string& waited = q1 ? one : two;
  EXPECT_NE(waited.find("\"ahead\":1"), std::string::npos) << waited;
  EXPECT_LT(waited.find("queued"), waited.find("\"event\":\"done\"")) << waited;
  EXPECT_NE(one.find("\"event\":\"done\""), std::string::npos) << one;
  EXPECT_NE(two.find("\"event\":\"done\""), std::string::npos) << two;
}

TEST(content_ops, verify_through_the_daemon_marks_damaged_pieces_missing_there) {
  test_network net;
  auto& a = net.add_node("a");
  write_bytes(net.dir() / "file.bin", pattern_bytes(3 * 262144, 4));
  const std::string id = net.add(a, net.dir() / "file.bin");
  net.start(a);
  auto v = net.shoal(&a, {"verify", id});
  ASSERT_EQ(v.exit_code, 0) << v.err << v.out;
  {  // one byte of the second piece flips on disk
    std::fstream f(a.dir / "data" / id, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(262144 + 10);
    char byte = 0;
    f.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x5a);
    f.seekp(262144 + 10);
    f.write(&byte, 1);
  }
  v = net.shoal(&a, {"--json", "verify", id});
  EXPECT_EQ(v.exit_code, 1) << v.err;
  const json j = parse_out(v);
  EXPECT_EQ(j.value("bad_pieces", json::array()), json::array({1})) << v.out;
  EXPECT_TRUE(j.value("marked_missing", false)) << v.out;
  EXPECT_FALSE(j.value("complete", true));
  EXPECT_TRUE(net.log_shows(a, "1 of 3 pieces are damaged and now marked missing"));
  // The daemon's store knows: the content is partial now, and the next verify says so.
  const auto ls = net.shoal(&a, {"--json", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_EQ(parse_out(ls)[0].value("pieces_present", 0), 2) << ls.out;
  v = net.shoal(&a, {"verify", id});
  EXPECT_EQ(v.exit_code, 1);
  EXPECT_NE(v.out.find("incomplete: 2 of 3 pieces held"), std::string::npos) << v.out;
}

// Polls `shoal --json status` until the node runs a fetch (bounded).
bool fetch_runs(test_network& net, const test_node& n) {
  for (int i = 0; i < 200; ++i) {
    const auto s = net.shoal(&n, {"--json", "status"});
    if (s.exit_code == 0 && !parse_out(s).value("fetches", json::array()).empty()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(content_ops, ctrl_c_cancels_the_fetch_a_get_started_and_detach_leaves_it_running) {
  test_network net;
  auto& a = net.add_node("a");
  auto& b = net.add_node("b");
  write_bytes(net.dir() / "file.bin", pattern_bytes(4u << 20, 6));
  const std::string id = net.add(a, net.dir() / "file.bin");
  net.start(a);
  net.start(b, {"--download-limit", "1MB/s"});  // 4 s at least: time to interrupt it

  background_get get(net, b, id, a.listen);
  ASSERT_TRUE(fetch_runs(net, b)) << cli::slurp(b.log);
  // `shoal peers` while it runs: the origin, by name, with bytes coming in.
  const auto peers = net.shoal(&b, {"--json", "peers"});
  ASSERT_EQ(peers.exit_code, 0) << peers.err;
  const json list = parse_out(peers);
  ASSERT_TRUE(list.is_array() && !list.empty()) << peers.out;
  EXPECT_EQ(list[0].value("name", ""), "a");
  EXPECT_EQ(list[0].value("direction", ""), "out");
  EXPECT_GT(list[0].value("rate_in", 0.0), 0.0) << peers.out;
  ::kill(get.pid, SIGINT);
  auto r = get.wait(std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_NE(r.err.find("cancelled the fetch of " + id), std::string::npos) << r.err;
  EXPECT_TRUE(net.log_shows(b, "fetch of " + id + " cancelled")) << cli::slurp(b.log);
  auto s = net.shoal(&b, {"--json", "status"});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_TRUE(parse_out(s).value("fetches", json::array()).empty()) << s.out;
  EXPECT_FALSE(fs::exists(get.out)) << "a cancelled get leaves no output";
  auto cancel = net.shoal(&b, {"cancel", id});
  EXPECT_EQ(cancel.exit_code, 1);
  EXPECT_NE(cancel.err.find("no fetch of " + id + " is running"), std::string::npos) << cancel.err;

  // --detach: the command returns at once, and the daemon finishes the fetch and its output.
  const auto out = net.dir() / "detached.bin";
  r = net.shoal(&b, {"get", id, "--from", a.listen, "-o", out.string(), "--detach"},
                std::chrono::seconds(30));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("fetching " + id + " in the daemon"), std::string::npos) << r.err;
  bool done = false;
  for (int i = 0; i < 600 && !done; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    done = fs::exists(out) &&
           parse_out(net.shoal(&b, {"--json", "status"})).value("fetches", json::array()).empty();
  }
  ASSERT_TRUE(done) << cli::slurp(b.log);
  EXPECT_TRUE(same_file(out, net.dir() / "file.bin"));
}

}  // namespace
}  // namespace shoal::testing
