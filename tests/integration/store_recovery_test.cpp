// Through the real binary and daemon: a lost catalog or WAL costs no data file, added or
// fetched, pinned or not (issue 18, findings 1 and 2). Before record files, the next command
// that opened the store for writing deleted every data file as unclaimed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_network.hpp"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void remove_catalog(const fs::path& dir) {
  for (const char* f : {"catalog.db", "catalog.db-wal", "catalog.db-shm"}) fs::remove(dir / f);
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// The store's contents as `shoal --json ls` gives them: id -> {complete, pinned}.
std::map<std::string, std::pair<bool, bool>> listing(test_network& net, const test_node& n) {
  auto r = net.shoal(&n, {"--json", "ls"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::pair<bool, bool>> out;
  if (r.exit_code != 0) return out;
  for (const auto& c : json::parse(r.out))
    out[c.at("id")] = {c.at("complete").get<bool>(), c.at("pinned").get<bool>()};
  return out;
}

TEST(store_recovery, a_lost_catalog_stops_every_command_and_repair_restores_every_content) {
  test_network net;
  auto& holder = net.add_node("holder");
  auto& node = net.add_node("node");
  write_bytes(net.dir() / "fetched.bin", pattern_bytes(3u << 20, 1));
  write_bytes(net.dir() / "added.bin", pattern_bytes(1u << 20, 2));
  const std::string fetched = net.add(holder, net.dir() / "fetched.bin");
  const std::string added = net.add(node, net.dir() / "added.bin");  // pinned
  net.start(holder);
  net.start(node);
  auto got = net.get(node, fetched, {holder.listen}, net.dir() / "out.bin");
  ASSERT_EQ(got.exit_code, 0) << got.err;
  net.stop(node);
  const auto before = listing(net, node);
  ASSERT_EQ(before.size(), 2u);

  remove_catalog(node.dir);
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{{"ls"}, {"verify", fetched}, {"gc"}}) {
    auto r = net.shoal(&node, cmd);
    EXPECT_EQ(r.exit_code, 1) << cmd[0] << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "store repair")) << cmd[0] << ": " << r.err;
  }
  try {
    net.start(node);
    ADD_FAILURE() << "the daemon started on a store without its catalog";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(contains(e.what(), "store repair")) << e.what();
  }
  EXPECT_TRUE(fs::exists(node.dir / "data" / fetched));
  EXPECT_TRUE(fs::exists(node.dir / "data" / added));

  auto repaired = net.shoal(&node, {"store", "repair"});
  ASSERT_EQ(repaired.exit_code, 0) << repaired.err;
  EXPECT_TRUE(contains(repaired.out, "2 contents")) << repaired.out;
  EXPECT_EQ(listing(net, node), before);
  auto ex = net.shoal(&node, {"export", fetched, "-o", (net.dir() / "again.bin").string()});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  EXPECT_EQ(read_bytes(net.dir() / "again.bin"), pattern_bytes(3u << 20, 1));
}

TEST(store_recovery, a_wal_deleted_after_the_daemon_was_killed_loses_no_fetched_content) {
  test_network net;
  auto& holder = net.add_node("holder");
  auto& node = net.add_node("node");
  write_bytes(net.dir() / "fetched.bin", pattern_bytes(3u << 20, 3));
  const std::string fetched = net.add(holder, net.dir() / "fetched.bin");
  net.start(holder);
  net.start(node);
  auto got = net.get(node, fetched, {holder.listen}, net.dir() / "out.bin");
  ASSERT_EQ(got.exit_code, 0) << got.err;
  net.stop(node, SIGKILL);
  fs::remove(node.dir / "catalog.db-wal");
  fs::remove(node.dir / "catalog.db-shm");
  net.start(node);
  net.stop(node);
  const auto after = listing(net, node);
  ASSERT_EQ(after.count(fetched), 1u) << "the fetched content was lost";
  EXPECT_TRUE(after.at(fetched).first);
  EXPECT_TRUE(fs::exists(node.dir / "data" / fetched));
}

}  // namespace
}  // namespace shoal::testing
