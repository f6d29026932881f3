// The swarm on loopback, with real daemons: fetchers that start together take most of the
// content from each other, so the origin sends about one copy (the first-copy rule) rather
// than one per fetcher; a fetch with --origin-only takes everything from the origin; and when a
// fetcher dies and then the origin leaves once the fetchers hold a full copy between them,
// everyone left still finishes with verified content. The origin's upload is rate-limited so
// that the fetches overlap; no assertion depends on timing.
#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>

#include "support/background_get.hpp"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::uint64_t mib = 1024 * 1024;

class swarm_test : public ::testing::Test {
 protected:
  background_get start_get(test_node& n, const std::string& id, const std::string& from,
                           bool origin_only = false) {
    return background_get(net_, n, id, from, origin_only);
  }

  json finish(background_get& g, const test_node& n) {
    auto r = g.wait();
    EXPECT_EQ(r.exit_code, 0) << n.name << ": " << r.err << "\nstatus: " << status(n).dump()
                              << "\nlog:\n"
                              << cli::slurp(n.log);
    if (r.exit_code != 0) return json::object();
    return json::parse(r.out);
  }

  json status(const test_node& n) {
    auto s = net_.shoal(&n, {"--json", "status"}, std::chrono::seconds(10));
    if (s.exit_code != 0) return json::object();
    return json::parse(s.out);
  }

  test_network net_;
};

TEST_F(swarm_test, fetchers_take_most_from_each_other_and_the_origin_sends_about_one_copy) {
  auto& origin = net_.add_node("origin");
  std::vector<test_node*> fetchers;
  for (int i = 0; i < 4; ++i) fetchers.push_back(&net_.add_node("fetcher-" + std::to_string(i)));
  const auto file = net_.dir() / "model.bin";
  const std::uint64_t size = 24 * mib + 777;
  write_random(file, size, 42);
  const std::string id = net_.add(origin, file);
  net_.start(origin, {"--upload-limit", "40mbit"});
  for (auto* f : fetchers) net_.start(*f);

  std::vector<background_get> gets;
  for (auto* f : fetchers) gets.push_back(start_get(*f, id, origin.listen));
  std::uint64_t from_origin = 0;
  for (std::size_t i = 0; i < gets.size(); ++i) {
    const json done = finish(gets[i], *fetchers[i]);
    ASSERT_FALSE(done.empty());
    EXPECT_TRUE(same_file(file, gets[i].out)) << fetchers[i]->name << " got different bytes";
    from_origin += done.value("from_sources", std::uint64_t{0});
    EXPECT_GT(done.value("from_peers", std::uint64_t{0}), 0u)
        << fetchers[i]->name << " took nothing from the other fetchers: " << done.dump();
  }
  // Without the swarm the origin would send 4 copies; with it, one and some of the last
  // pieces again (under two copies in 6 s on an idle machine). When the machine is busy with
  // other tests the fetchers trade more slowly and the origin sends more: 2.3 copies in 13 s
  // in one CI run (two tests at a time on two cores). Three copies still fails without the
  // swarm, which is what this test is about; the swarm's efficiency is measured in bench/.
  EXPECT_LT(from_origin, 3 * size) << "block bytes taken from the origin";
  const json st = status(origin);
  EXPECT_LT(st.value("uploaded_bytes", std::uint64_t{0}), 3 * size + size / 10);
}

// Issue 18, finding 3: many gets of different contents at once, all held by one peer, some by
// --from and some by ID alone. Before, all but one of 20 failed with "no peer left: a duplicate
// connection"; now they share the connection to that peer and all succeed.
TEST_F(swarm_test, concurrent_gets_of_different_contents_from_one_peer_all_succeed) {
  auto& a = net_.add_node("a");
  auto& b = net_.add_node("b");
  std::vector<std::string> ids;
  std::vector<fs::path> files;
  for (int i = 0; i < 8; ++i) {
    files.push_back(net_.dir() / ("file-" + std::to_string(i)));
    write_random(files.back(), (i + 1) * 300'000 + 17, 100 + i);
    ids.push_back(net_.add(a, files.back()));
  }
  net_.start(a);
  net_.start(b, {"--bootstrap", a.listen});
  std::vector<background_get> gets;
  for (int i = 0; i < 8; ++i)
    gets.emplace_back(net_, b, ids[i], i % 2 == 0 ? a.listen : "", false, std::to_string(i));
  for (int i = 0; i < 8; ++i) {
    const json done = finish(gets[i], b);
    EXPECT_EQ(done.value("event", ""), "done") << i;
    EXPECT_TRUE(same_file(files[i], gets[i].out)) << i;
  }
}

TEST_F(swarm_test, origin_only_takes_every_byte_from_the_origin) {
  auto& origin = net_.add_node("origin");
  auto& a = net_.add_node("fetcher-a");
  auto& b = net_.add_node("fetcher-b");
  const auto file = net_.dir() / "layer.tar";
  const std::uint64_t size = 6 * mib + 5;
  write_random(file, size, 7);
  const std::string id = net_.add(origin, file);
  net_.start(origin, {"--upload-limit", "80mbit"});
  net_.start(a);
  net_.start(b);
  auto ga = start_get(a, id, origin.listen, true);
  auto gb = start_get(b, id, origin.listen, true);
  for (auto [g, n] : {std::pair{&ga, &a}, std::pair{&gb, &b}}) {
    const json done = finish(*g, *n);
    ASSERT_FALSE(done.empty());
    EXPECT_TRUE(same_file(file, g->out));
    EXPECT_TRUE(done.value("origin_only", false));
    EXPECT_EQ(done.value("from_sources", std::uint64_t{0}), size) << done.dump();
    EXPECT_EQ(done.value("from_peers", std::uint64_t{1}), 0u) << done.dump();
  }
}

// The full-swarm rule (wire.md 5.7) with three daemons: fetcher A keeps one peer in its swarm
// (--max-swarm-peers 1), the origin. Fetcher B, started once A is fetching, is told of A by the
// origin and dials it; A hangs up with goodbye(overloaded), and B does not dial A again. Both
// finish from the origin. (At the default bound the rule needs 65 fetchers of one content.)
TEST_F(swarm_test, a_fetcher_with_a_full_swarm_turns_a_dialer_away_and_both_finish) {
  auto& origin = net_.add_node("origin");
  auto& a = net_.add_node("fetcher-a");
  auto& b = net_.add_node("fetcher-b");
  const auto file = net_.dir() / "layer.tar";
  const std::uint64_t size = 4 * mib + 99;
  write_random(file, size, 11);
  const std::string id = net_.add(origin, file);
  net_.start(origin, {"--upload-limit", "8mbit"});  // so that A is still fetching when B comes
  net_.start(a, {"--max-swarm-peers", "1"});
  net_.start(b);
  background_get get_a = start_get(a, id, origin.listen);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool fetching = false;
  while (!fetching && std::chrono::steady_clock::now() < deadline) {
    const json st = status(a);
    fetching = !st.empty() && !st["fetches"].empty() &&
               st["fetches"][0].value("received_bytes", std::uint64_t{0}) > 0;
    if (!fetching) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(fetching) << "fetcher-a never received a block";
  background_get get_b = start_get(b, id, origin.listen);
  const json done_b = finish(get_b, b);
  const json done_a = finish(get_a, a);
  ASSERT_FALSE(done_a.empty());
  ASSERT_FALSE(done_b.empty());
  EXPECT_TRUE(same_file(file, get_a.out));
  EXPECT_TRUE(same_file(file, get_b.out));
  // B was turned away by A and did not dial it again (redials would come a second apart for as
  // long as A fetches). Twice at most: a connection A opens to B for the DHT may reach B's
  // fetch before B has taken the first hang-up in, and A hangs up on that one as well.
  const auto turned_away = done_b.value("full_swarms", std::uint64_t{0});
  EXPECT_GE(turned_away, 1u) << done_b.dump();
  EXPECT_LE(turned_away, 2u) << done_b.dump();
  EXPECT_EQ(done_a.value("full_swarms", std::uint64_t{0}), 0u) << done_a.dump();
  // Neither took anything from the other: A kept to its one peer, the origin.
  EXPECT_EQ(done_a.value("from_peers", std::uint64_t{1}), 0u) << done_a.dump();
  EXPECT_EQ(done_b.value("from_peers", std::uint64_t{1}), 0u) << done_b.dump();
}

// Churn: one fetcher of four is killed mid-transfer; once the three left hold a full copy
// between them (the origin's status says no piece is held only by it), the origin is killed
// too. The three still finish, from each other, with verified content. The fetchers' uploads
// are held to 1 Mbit/s until the origin is gone (so that they cannot finish first), then
// lifted at run time with `shoal limit`.
TEST_F(swarm_test, survivors_finish_after_a_fetcher_and_then_the_origin_die) {
  auto& origin = net_.add_node("origin");
  std::vector<test_node*> fetchers;
  for (int i = 0; i < 4; ++i) fetchers.push_back(&net_.add_node("fetcher-" + std::to_string(i)));
  const auto file = net_.dir() / "dataset.bin";
  const std::uint64_t size = 24 * mib + 12345;
  write_random(file, size, 9);
  const std::string id = net_.add(origin, file);
  net_.start(origin, {"--upload-limit", "24mbit"});
  for (auto* f : fetchers) net_.start(*f, {"--upload-limit", "1mbit"});
  std::vector<background_get> gets;
  for (auto* f : fetchers) gets.push_back(start_get(*f, id, origin.listen));

  // Kill fetcher 0 once it has stored something.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  bool killed_fetcher = false;
  while (std::chrono::steady_clock::now() < deadline) {
    const json st = status(*fetchers[0]);
    if (!st.empty() && !st["fetches"].empty() &&
        st["fetches"][0].value("stored_bytes", std::uint64_t{0}) > 2 * mib) {
      net_.stop(*fetchers[0], SIGKILL);
      killed_fetcher = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(killed_fetcher) << "fetcher-0 never stored 2 MiB";
  (void)gets[0].wait(std::chrono::seconds(30));

  // Then the origin, as soon as the survivors hold every piece between them.
  bool killed_origin = false;
  while (std::chrono::steady_clock::now() < deadline) {
    const json st = status(origin);
    const json swarms = st.value("swarms", json::array());
    if (!swarms.empty() && swarms[0].value("pieces_only_here", std::uint64_t{1}) == 0) {
      net_.stop(origin, SIGKILL);
      killed_origin = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(killed_origin) << "the fetchers never held a full copy between them";
  for (std::size_t i = 1; i < fetchers.size(); ++i) {
    auto l = net_.shoal(fetchers[i], {"--json", "limit", "--upload", "0"});
    ASSERT_EQ(l.exit_code, 0) << l.err;
    EXPECT_EQ(json::parse(l.out).value("upload", std::uint64_t{1}), 0u) << l.out;
  }
  for (std::size_t i = 1; i < gets.size(); ++i) {
    const json done = finish(gets[i], *fetchers[i]);
    ASSERT_FALSE(done.empty());
    EXPECT_TRUE(same_file(file, gets[i].out)) << fetchers[i]->name;
    auto v = net_.shoal(fetchers[i], {"verify", id});
    EXPECT_EQ(v.exit_code, 0) << v.err;
  }
}

}  // namespace
}  // namespace shoal::testing
