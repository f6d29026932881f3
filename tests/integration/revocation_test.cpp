// Revocation with real daemons (docs/protocol/membership.md, section 9): `shoal network revoke`
// hands the list to one daemon; every member it reaches cuts the revoked node off and refuses
// it, the revoked daemon learns it and stops, will not start again, and the list survives a
// restart. A list signed by another key, and an older list replayed, change nothing and say why.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/test_network.hpp"

namespace shoal::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class revocation_test : public ::testing::Test {
 protected:
  test_network net_;
  fs::path key() const { return net_.dir().path() / "authority-acme" / "acme.key"; }
  std::string id_of(const test_node& n) {
    auto r = net_.shoal(&n, {"--json", "id"});
    return json::parse(r.out).value("id", "");
  }
  std::uint64_t serial_at(const test_node& n) {
    auto r = net_.shoal(&n, {"--json", "network", "revocations"});
    if (r.exit_code != 0) return 0;
    return json::parse(r.out).value("serial", std::uint64_t{0});
  }
};

TEST_F(revocation_test, a_revoked_member_is_cut_off_stops_and_is_refused_from_then_on) {
  auto& a = net_.add_node("a");
  auto& b = net_.add_node("b");
  auto& c = net_.add_node("c");
  net_.start(a);
  net_.start(b, {"--bootstrap", a.listen});
  net_.start(c, {"--bootstrap", a.listen});
  ASSERT_TRUE(net_.log_shows(b, "joined the DHT")) << cli::slurp(b.log);
  ASSERT_TRUE(net_.log_shows(c, "joined the DHT")) << cli::slurp(c.log);
  const std::string cid = id_of(c);

  // Revoked by its certificate file, handed to a's daemon.
  auto r = net_.shoal(&a, {"network", "revoke", (c.dir / "identity" / "node.cert").string(),
                           "--authority", key().string(), "--reason", "laptop lost"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("revoked " + cid + " in list 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("adopted it"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(net_.dir().path() / "authority-acme" / "acme.revocations"));

  // c learns it from a (or from b, which got it from a) and stops with exit code 3.
  const auto code = net_.wait_exit(c, std::chrono::seconds(20));
  ASSERT_TRUE(code.has_value()) << cli::slurp(c.log);
  EXPECT_EQ(*code, 3);
  EXPECT_TRUE(net_.log_shows(c,
                             "this node's certificate is revoked by revocation list 1 "
                             "(laptop lost)"))
      << cli::slurp(c.log);
  EXPECT_TRUE(net_.log_shows(a, "its certificate is revoked (laptop lost)")) << cli::slurp(a.log);
  EXPECT_TRUE(net_.log_shows(b, "revocation list 1 adopted")) << cli::slurp(b.log);
  EXPECT_EQ(serial_at(b), 1u);

  // It does not start again, and says why.
  r = net_.shoal(&c, {"daemon", "--listen", "127.0.0.1:0", "--http-listen", "off"},
                 std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("this node's certificate is revoked by revocation list 1"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("reason: laptop lost"), std::string::npos) << r.err;

  // The list outlives a restart of a member.
  net_.stop(b);
  net_.start(b, {"--bootstrap", a.listen});
  EXPECT_EQ(serial_at(b), 1u);
  r = net_.shoal(&b, {"network", "revocations"});
  EXPECT_NE(r.out.find(cid), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("laptop lost"), std::string::npos) << r.out;

  // Revoking it again changes nothing, and says so.
  r = net_.shoal(&a, {"network", "revoke", cid, "--authority", key().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is revoked already, in list 1"), std::string::npos) << r.err;
}

TEST_F(revocation_test, a_forged_or_replayed_list_changes_nothing_and_says_why) {
  auto& a = net_.add_node("a");
  auto& x = net_.add_node("x");
  auto& y = net_.add_node("y");
  net_.start(a);
  const auto scratch = net_.dir().path() / "lists";
  fs::create_directories(scratch);

  // Another authority that calls its network "acme" too: its list is not signed by ours.
  auto r = net_.shoal(nullptr, {"network", "create", "acme", "--out", (scratch / "evil").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = net_.shoal(
      &a, {"network", "revoke", id_of(x), "--authority", (scratch / "evil" / "acme.key").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refused it: revocation list 1 is not signed by the authority of network "
                       "'acme'"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(serial_at(a), 0u);

  // Lists 1 and 2 of the real authority, made with no daemon to hand them to.
  const auto list = scratch / "acme.revocations";
  r = net_.shoal(nullptr, {"--data-dir", (scratch / "none").string(), "network", "revoke", id_of(x),
                           "--authority", key().string(), "--list", list.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("no daemon runs at"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shoal network publish"), std::string::npos) << r.out;
  fs::copy_file(list, scratch / "first.revocations");
  r = net_.shoal(nullptr, {"--data-dir", (scratch / "none").string(), "network", "revoke", id_of(y),
                           "--authority", key().string(), "--list", list.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  r = net_.shoal(&a, {"network", "publish", list.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("adopted it"), std::string::npos) << r.out;
  EXPECT_EQ(serial_at(a), 2u);
  // The older list, replayed: nothing changes.
  r = net_.shoal(&a, {"network", "publish", (scratch / "first.revocations").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("holds list 2 already"), std::string::npos) << r.out;
  EXPECT_EQ(serial_at(a), 2u);

  // A file that is not a list at all.
  std::ofstream(scratch / "junk") << "not a list";
  r = net_.shoal(&a, {"network", "publish", (scratch / "junk").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not start with \"SHOALRL1\""), std::string::npos) << r.err;

  // x, revoked, is refused when it dials a, and told why.
  std::ofstream(scratch / "data") << "some bytes";
  const std::string cid = net_.add(a, scratch / "data");
  net_.start(x);
  r = net_.shoal(&x, {"get", cid, "--from", a.listen, "-o", (scratch / "out").string()},
                 std::chrono::seconds(60));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_FALSE(fs::exists(scratch / "out"));
  EXPECT_TRUE(net_.log_shows(a, "its certificate is revoked")) << cli::slurp(a.log);
  EXPECT_TRUE(net_.log_shows(x, "this node's certificate is revoked")) << cli::slurp(x.log);
}

}  // namespace
}  // namespace shoal::testing
