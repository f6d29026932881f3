// Discovery with no tracker, with real daemons on loopback: eight nodes, each configured with
// one bootstrap address (the node started before it; the first, the one started after it),
// find each other through the DHT; a content added on one is fetched by its ID alone on others;
// after a quarter of the nodes are killed (one of them a holder the records still name),
// lookups and fetches still succeed. Also the errors: no --from and no bootstrap, and bootstrap
// peers that are down or belong to another network.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "support/background_get.hpp"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr std::uint64_t mib = 1024 * 1024;

json status(test_network& net, const test_node& n) {
  auto s = net.shoal(&n, {"--json", "status"}, std::chrono::seconds(10));
  if (s.exit_code != 0) return json::object();
  return json::parse(s.out, nullptr, false);
}

// Waits (bounded) until the node's DHT knows at least `contacts` members.
bool knows(test_network& net, const test_node& n, std::size_t contacts) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  do {
    const json s = status(net, n);
    if (s.contains("dht") && s["dht"].value("contacts", 0u) >= contacts) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  return false;
}

// `shoal --json get ID -o OUT` with no --from; the parsed `done` (empty on failure).
json get_by_id(test_network& net, const test_node& n, const std::string& id, const fs::path& out) {
  auto r = net.get(n, id, {}, out, std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 0) << n.name << ": " << r.err << "\nlog:\n" << cli::slurp(n.log);
  if (r.exit_code != 0) return json::object();
  return json::parse(r.out);
}

void print_lookups(test_network& net, const test_node& n) {
  const json s = status(net, n);
  if (!s.contains("dht")) return;
  for (const auto& l : s["dht"]["recent_lookups"])
    if (l.value("kind", "") == "get_providers")
      std::printf(
          "%s: get_providers lookup: %d round trips, %d queries (%d failed), %.1f ms, "
          "%d holders\n",
          n.name.c_str(), l.value("rounds", 0), l.value("queries", 0), l.value("failed", 0),
          l.value("ms", 0.0), l.value("providers", 0));
}

TEST(dht_network, get_by_id_alone_finds_holders_even_after_a_quarter_of_the_nodes_fail) {
  test_network net;
  std::vector<test_node*> nodes;
  for (int i = 0; i < 8; ++i) nodes.push_back(&net.add_node("n" + std::to_string(i)));
  const auto file = net.dir() / "layer.tar";
  write_random(file, 6 * mib + 123, 7);
  const std::string id = net.add(*nodes[2], file);
  // n0's bootstrap peer is n1, which starts after it: n0 dials it again until it answers.
  const std::string n1_at = "127.0.0.1:" + std::to_string(test_network::free_port());
  net.start(*nodes[0], {"--bootstrap", n1_at});
  net.start(*nodes[1], {"--listen", n1_at, "--bootstrap", nodes[0]->listen});
  for (int i = 2; i < 8; ++i) net.start(*nodes[i], {"--bootstrap", nodes[i - 1]->listen});
  for (auto* n : nodes) ASSERT_TRUE(knows(net, *n, 1)) << n->name << cli::slurp(n->log);

  // By ID alone, on the node farthest down the bootstrap chain from the holder.
  json done = get_by_id(net, *nodes[6], id, net.dir() / "out-6");
  ASSERT_TRUE(done.contains("discovery")) << done.dump();
  EXPECT_GE(done["discovery"].value("lookups", 0), 1);
  EXPECT_GE(done["discovery"].value("holders_found", 0), 1);
  EXPECT_EQ(done.value("from_sources", 1), 0) << "there was no --from";
  EXPECT_TRUE(same_file(file, net.dir() / "out-6"));
  print_lookups(net, *nodes[6]);

  // The new holder announced itself: the next fetch can find two.
  json second = get_by_id(net, *nodes[4], id, net.dir() / "out-4");
  EXPECT_TRUE(same_file(file, net.dir() / "out-4"));
  print_lookups(net, *nodes[4]);

  // A quarter of the nodes fail: n6, a holder the DHT's records still name, and n1, through
  // which n2 joined. n7's only bootstrap peer is gone.
  net.stop(*nodes[6], SIGKILL);
  net.stop(*nodes[1], SIGKILL);
  for (int i : {7, 0, 5}) {
    const auto out = net.dir() / ("out-" + std::to_string(i));
    json after = get_by_id(net, *nodes[i], id, out);
    EXPECT_TRUE(same_file(file, out)) << nodes[i]->name;
    print_lookups(net, *nodes[i]);
  }
  // Every survivor still answers lookups, and none holds more records than the network made.
  for (int i : {0, 2, 3, 4, 5, 7}) {
    const json s = status(net, *nodes[i]);
    ASSERT_TRUE(s.contains("dht")) << nodes[i]->name;
    EXPECT_GE(s["dht"].value("contacts", 0), 1) << nodes[i]->name;
    EXPECT_LE(s["dht"].value("records", 0), 8) << nodes[i]->name;
    EXPECT_EQ(s["dht"].value("announces_refused", 1), 0) << nodes[i]->name;
  }
}

TEST(dht_network, without_from_or_bootstrap_the_error_says_what_to_give) {
  test_network net;
  auto& a = net.add_node("a");
  net.start(a);
  auto r = net.get(a, "sh1" + std::string(52, 'a'), {}, net.dir() / "out");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--from HOST:PORT"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--bootstrap"), std::string::npos) << r.err;
}

TEST(dht_network, bootstrap_peers_that_are_down_or_foreign_are_named_in_the_error) {
  test_network net;
  auto& a = net.add_node("a");
  auto& b = net.add_node("b");
  auto& foreign = net.add_node("foreign", "other-org");
  net.start(b);
  const std::string gone = b.listen;
  net.stop(b, SIGKILL);  // its port is now closed: every dial is refused
  net.start(foreign);
  net.start(a, {"--bootstrap", gone, "--bootstrap", foreign.listen});
  auto r = net.get(a, "sh1" + std::string(52, 'a'), {}, net.dir() / "out");
  EXPECT_NE(r.exit_code, 0);
  std::printf("the error: %s", r.err.c_str());
  EXPECT_NE(r.err.find("no bootstrap peer has answered (" + gone + ": "), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find(foreign.listen + ": refused: "), std::string::npos) << r.err;
  // The member of another network learned nothing of this one: only members speak.
  const json s = status(net, foreign);
  ASSERT_TRUE(s.contains("dht"));
  EXPECT_EQ(s["dht"].value("contacts", 1), 0);
  EXPECT_EQ(s["dht"].value("queries_answered", 1), 0);
}

// Issue 18, finding 9: a content of 0 bytes has no piece, and was never announced, so a get by
// ID alone failed with "no member holds it".
TEST(dht_network, an_empty_content_is_found_by_its_id_alone) {
  test_network net;
  auto& holder = net.add_node("holder");
  auto& fetcher = net.add_node("fetcher");
  write_bytes(net.dir() / "empty", {});
  const std::string id = net.add(holder, net.dir() / "empty");
  net.start(holder);
  net.start(fetcher, {"--bootstrap", holder.listen});
  ASSERT_TRUE(knows(net, fetcher, 1)) << cli::slurp(fetcher.log);
  json done = get_by_id(net, fetcher, id, net.dir() / "out");
  EXPECT_EQ(done.value("event", ""), "done") << done.dump();
  ASSERT_TRUE(fs::exists(net.dir() / "out"));
  EXPECT_EQ(fs::file_size(net.dir() / "out"), 0u);
}

}  // namespace
}  // namespace shoal::testing
