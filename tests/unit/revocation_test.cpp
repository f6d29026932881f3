// core/revocation.hpp and the node's rules for it (core/node_membership.cpp): the list's codec
// (round trip, every truncation, each limit and rule), its signature and network checks, and in
// nodes wired in memory: a list spreads over open connections, the revoked member is cut off on
// both sides and refused when it comes back, an older list changes nothing and its sender gets
// the newer one, a forged or foreign list is refused, and a revoked node stops.
#include "core/revocation.hpp"

#include <gtest/gtest.h>

#include "support/node_net.hpp"

namespace shoal {
namespace {

crypto::ed25519_signer signer(std::uint8_t seed) {
  crypto::ed25519_seed s{};
  s.fill(seed);
  auto k = crypto::ed25519_signer::from_seed(s);
  SHOAL_ASSERT(k.has_value());
  return std::move(*k);
}

node_id id_of(std::uint8_t first) {
  hash256 h;
  h.bytes[0] = first;
  h.bytes[31] = 7;
  return node_id{h};
}

revocation_list list_of(std::uint64_t serial, std::vector<node_id> revoked,
                        const crypto::ed25519_signer& key, std::string network = "acme") {
  revocation_list l;
  l.network = std::move(network);
  l.serial = serial;
  l.issued_at = 1'800'000'000;
  std::sort(revoked.begin(), revoked.end());
  for (const node_id& n : revoked) l.entries.push_back({n, 1'800'000'000, "laptop lost"});
  return sign(std::move(l), key);
}

TEST(revocation_list_codec, round_trips_and_verifies) {
  const auto key = signer(1);
  const revocation_list l = list_of(3, {id_of(9), id_of(2)}, key);
  const auto bytes = encode(l);
  auto back = decode_and_verify(bytes, "acme", key.public_key());
  ASSERT_TRUE(back.ok()) << back.err().message;
  EXPECT_EQ(*back, l);
  EXPECT_TRUE(back->revokes(id_of(2)));
  EXPECT_TRUE(back->revokes(id_of(9)));
  EXPECT_FALSE(back->revokes(id_of(3)));
  EXPECT_EQ(back->find(id_of(9))->reason, "laptop lost");
}

TEST(revocation_list_codec, every_truncation_is_an_error_naming_the_field) {
  const auto bytes = encode(list_of(1, {id_of(1), id_of(2)}, signer(1)));
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode_revocation_list(byte_span(bytes.data(), n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_NE(r.err().message.find("revocation list"), std::string::npos) << r.err().message;
  }
  auto longer = bytes;
  longer.push_back(0);
  auto r = decode_revocation_list(longer);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("1 trailing bytes"), std::string::npos) << r.err().message;
}

TEST(revocation_list_codec, refuses_what_breaks_a_rule) {
  const auto key = signer(1);
  const auto good = encode(list_of(1, {id_of(1), id_of(2)}, key));
  const auto expect = [](std::vector<std::uint8_t> b, errc code, const std::string& text) {
    auto r = decode_revocation_list(b);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.err().code, code) << r.err().message;
    EXPECT_NE(r.err().message.find(text), std::string::npos) << r.err().message;
  };
  auto b = good;
  b[0] = 'X';
  expect(b, errc::invalid_argument, "does not start with");
  b = good;
  b[8] = 0;  // network name length
  expect(b, errc::invalid_argument, "network name of 0 bytes");
  // serial 0: bytes 8 + 1 + 4 ("acme") onward
  b = good;
  std::fill(b.begin() + 13, b.begin() + 21, 0);
  expect(b, errc::invalid_argument, "serial 0");
  // count over the limit
  b = good;
  b[29] = 0x7f;
  expect(b, errc::limit_exceeded, "over the limit of 4096");
  // count the bytes cannot hold
  b = good;
  b[32] = 100;
  expect(b, errc::invalid_argument, "cannot fit");
  // entries out of order: swap the two node IDs' first bytes
  b = good;
  std::swap(b[33], b[33 + 32 + 8 + 1 + 11]);
  expect(b, errc::invalid_argument, "strictly ascending");
  // an unknown signer kind
  b = good;
  b[b.size() - 65] = 1;
  expect(b, errc::invalid_argument, "signer kind 1");
  // a reason with a control character
  revocation_list l = list_of(1, {id_of(1)}, key);
  l.entries[0].reason = "a\nb";
  expect(encode(l), errc::invalid_argument, "control character");
  std::vector<std::uint8_t> huge(max_revocation_list + 1, 0);
  expect(huge, errc::limit_exceeded, "over the limit");
}

TEST(revocation_list_codec, a_list_of_another_network_or_key_is_untrusted) {
  const auto key = signer(1);
  const auto other = signer(2);
  auto r = decode_and_verify(encode(list_of(1, {id_of(1)}, other)), "acme", key.public_key());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::untrusted);
  EXPECT_NE(r.err().message.find("not signed by the authority of network 'acme'"),
            std::string::npos)
      << r.err().message;
  r = decode_and_verify(encode(list_of(1, {id_of(1)}, key, "other")), "acme", key.public_key());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("is for network 'other', not 'acme'"), std::string::npos)
      << r.err().message;
  // One byte changed anywhere under the signature breaks it.
  auto b = encode(list_of(1, {id_of(1)}, key));
  b[40] ^= 1;
  r = decode_and_verify(b, "acme", key.public_key());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::untrusted);
}

TEST(revocation_list_codec, the_largest_list_fits_in_one_frame) {
  static_assert(max_revocation_list <= wire::max_revocation_bytes);
  const auto key = signer(1);
  revocation_list l;
  l.network = std::string(max_network_name, 'n');
  l.serial = 1;
  for (std::size_t i = 0; i < max_revoked; ++i) {
    hash256 h;
    h.bytes[0] = static_cast<std::uint8_t>(i >> 8);
    h.bytes[1] = static_cast<std::uint8_t>(i);
    l.entries.push_back({node_id{h}, 1, std::string(max_revocation_reason, 'r')});
  }
  const auto bytes = encode(sign(l, key));
  EXPECT_EQ(bytes.size(), max_revocation_list);
  EXPECT_TRUE(decode_and_verify(bytes, l.network, key.public_key()).ok());
}

// --- in nodes ---------------------------------------------------------------------------------

class revocation_rules : public ::testing::Test {
 protected:
  crypto::ed25519_signer authority = signer(1);
  test::node_net net;

  std::size_t member(std::uint64_t seed) {
    node_config cfg;
    cfg.network = "acme";
    cfg.authority_key = authority.public_key();
    return net.add(std::move(cfg), seed);
  }
  node_id id(std::size_t i) { return net[i].cfg().self; }
  std::vector<std::uint8_t> list(std::uint64_t serial, std::vector<node_id> revoked) {
    return encode(list_of(serial, std::move(revoked), authority));
  }
  std::uint64_t serial(std::size_t i) {
    return net[i].revocations() ? net[i].revocations()->serial : 0;
  }
  static bool closed_with(const test::node_net::member& m, wire::reason r) {
    return std::any_of(m.closes.begin(), m.closes.end(),
                       [&](const auto& c) { return c.code == r; });
  }
};

TEST_F(revocation_rules, a_list_spreads_over_open_connections_and_the_revoked_member_is_cut_off) {
  const std::size_t a = member(1), b = member(2), c = member(3), d = member(4);
  net.connect(a, b);
  net.connect(b, c);
  net.connect(c, d);
  auto r = net[a].handle_revocations(net.now, list(1, {id(d)}));
  ASSERT_TRUE(r.ok()) << r.err().message;
  EXPECT_TRUE(*r);
  net.run();
  EXPECT_EQ(serial(b), 1u);
  EXPECT_EQ(serial(c), 1u);
  // c cut d off, saying why; d learned it from the list c sent first, and stopped.
  EXPECT_TRUE(closed_with(net.members[c], wire::reason::revoked));
  EXPECT_EQ(net[c].counters().revoked_refused, 1u);
  EXPECT_TRUE(net[d].revoked());
  ASSERT_EQ(net.members[d].adopted.size(), 1u);
  ASSERT_TRUE(net.members[d].adopted[0].self.has_value());
  EXPECT_EQ(net.members[d].adopted[0].self->reason, "laptop lost");
  EXPECT_EQ(net.connections(d), 0u);
  EXPECT_TRUE(net[d].fetch_impossible(fetch_request{}).has_value());
  // Every adopter told its host, which keeps the list.
  EXPECT_EQ(net.members[b].adopted.size(), 1u);
  EXPECT_EQ(net.members[b].adopted[0].serial, 1u);
  EXPECT_FALSE(net.members[b].adopted[0].self.has_value());
  EXPECT_FALSE(closed_with(net.members[a], wire::reason::revoked));  // a cut no one
}

TEST_F(revocation_rules, a_revoked_member_that_connects_again_is_refused) {
  const std::size_t a = member(1), d = member(4);
  ASSERT_TRUE(net[a].handle_revocations(net.now, list(1, {id(d)})).ok());
  net.run();
  net.connect(d, a);
  net.run();
  EXPECT_TRUE(closed_with(net.members[a], wire::reason::revoked));
  EXPECT_EQ(net.connections(a), 0u);
  EXPECT_TRUE(net[d].revoked());  // it was sent the list before the goodbye
  const auto& p = net[a].recent_problems();
  ASSERT_FALSE(p.empty());
  EXPECT_NE(p.back().what.find("revoked (laptop lost)"), std::string::npos) << p.back().what;
}

TEST_F(revocation_rules, an_older_list_changes_nothing_and_its_sender_gets_the_newer_one) {
  const std::size_t a = member(1), b = member(2), x = member(5), y = member(6);
  ASSERT_TRUE(net[a].handle_revocations(net.now, list(2, {id(x), id(y)})).ok());
  ASSERT_TRUE(net[b].handle_revocations(net.now, list(1, {id(x)})).ok());
  // The host's own older list is not adopted either.
  auto again = net[a].handle_revocations(net.now, list(1, {id(x)}));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);
  net.run();
  net.connect(b, a);
  net.run();
  EXPECT_EQ(serial(a), 2u);
  EXPECT_EQ(serial(b), 2u);
  EXPECT_TRUE(net[b].revocations()->revokes(id(y)));
  EXPECT_EQ(net.members[a].adopted.size(), 1u);
  EXPECT_EQ(net.connections(a), 1u);
}

TEST_F(revocation_rules, a_forged_list_from_a_peer_is_refused_and_the_peer_cut_off) {
  const std::size_t a = member(1), b = member(2), x = member(5);
  auto [pb, pa] = net.connect(b, a);
  net.run();
  const auto forger = signer(9);
  net.deliver(b, pb, wire::revocations{encode(list_of(7, {id(x)}, forger))});
  net.run();
  EXPECT_EQ(serial(a), 0u);
  EXPECT_EQ(net[a].counters().bad_revocation_lists, 1u);
  EXPECT_TRUE(closed_with(net.members[a], wire::reason::protocol_violation));
  ASSERT_FALSE(net[a].recent_problems().empty());
  EXPECT_NE(net[a].recent_problems().back().what.find("not signed by the authority"),
            std::string::npos);
  // From the host: the error says why, and nothing is adopted.
  auto r = net[a].handle_revocations(net.now, encode(list_of(1, {id(x)}, authority, "other")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::untrusted);
  EXPECT_EQ(serial(a), 0u);
}

TEST_F(revocation_rules, a_revoked_source_is_refused_when_it_answers) {
  const std::size_t a = member(1), h = member(2);
  ASSERT_TRUE(net[a].handle_revocations(net.now, list(1, {id(h)})).ok());
  net.run();
  const std::size_t dials = net.members[a].dials.size();
  fetch_request r;
  r.id = content_id{};
  r.sources = {net.members[h].at};
  net[a].start_fetch(net.now, r);
  net.run();
  // A --from source is dialed (the operator named it), and refused when it answers.
  EXPECT_EQ(net.members[a].dials.size(), dials + 1);
  EXPECT_TRUE(closed_with(net.members[a], wire::reason::revoked));
}

// Issue 23, item 2: a node says, once and well before, that its certificate is about to expire.
TEST_F(revocation_rules, a_node_warns_once_when_a_fifth_of_its_certificate_is_left) {
  const std::size_t a = member(1);
  net[a].handle_own_certificate(net.now, net.now + std::chrono::seconds(100),
                                std::chrono::seconds(100));
  const auto warnings = [&] {
    return std::count_if(net.members[a].logs.begin(), net.members[a].logs.end(),
                         [](const std::string& l) { return l.find("expires in") != l.npos; });
  };
  net.advance(std::chrono::seconds(79));
  EXPECT_EQ(warnings(), 0);
  net.advance(std::chrono::seconds(2));
  EXPECT_EQ(warnings(), 1);
  net.advance(std::chrono::seconds(10));
  EXPECT_EQ(warnings(), 1);
}

}  // namespace
}  // namespace shoal
