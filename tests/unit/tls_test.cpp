// TLS 1.3 between members, in memory: two SSL objects joined by a BIO pair, no sockets. Each
// case checks what both sides conclude: the peer's verified identity, or one line saying why
// the handshake failed.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "member/authority.hpp"
#include "member/pem.hpp"
#include "member/tls.hpp"

namespace shoal::member {
namespace {

constexpr std::int64_t day = 86400;

struct ctx_free {
  void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct ssl_free {
  void operator()(SSL* s) const noexcept { SSL_free(s); }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ctx_free>;
using ssl_ptr = std::unique_ptr<SSL, ssl_free>;

// A member of `ca`'s network whose certificate is valid from `not_before` to `not_after`.
identity make_member(const authority& ca, const std::string& name, std::int64_t not_before,
                     std::int64_t not_after, std::vector<label> labels = {}) {
  auto key = generate_ed25519_key();
  EXPECT_TRUE(key.ok());
  auto req = make_request(key->get(), name);
  EXPECT_TRUE(req.ok());
  auto issued = sign_request(ca, req->get(), {std::move(labels), not_before, not_after}, "test");
  EXPECT_TRUE(issued.ok()) << (issued.ok() ? "" : issued.err().message);
  return identity{std::move(*key), std::move(issued->cert), share(ca.cert.get()), ca.network_name,
                  std::move(issued->info)};
}

ctx_ptr context_of(const identity& id) {
  auto ctx = make_tls_context(id);
  EXPECT_TRUE(ctx.ok()) << (ctx.ok() ? "" : ctx.err().message);
  return ctx_ptr(ctx.ok() ? *ctx : nullptr);
}

// One side of a connection and how its handshake ended.
struct side {
  ssl_ptr ssl;
  bool done = false;
  bool failed = false;
  unsigned long error = 0;

  // One handshake step. Both sides share this thread's OpenSSL error queue, so each step
  // starts with it empty and takes its own error out of it.
  void step() {
    if (done || failed) return;
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl.get());
    if (r == 1) {
      done = true;
      return;
    }
    const int e = SSL_get_error(ssl.get(), r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    failed = true;
    error = ERR_get_error();
    ERR_clear_error();
  }

  // TLS 1.3 completes the client's side before the server has judged the client's certificate;
  // the server's verdict (an alert) arrives with the first read.
  void read_once() {
    if (!done) return;
    ERR_clear_error();
    char byte = 0;
    const int r = SSL_read(ssl.get(), &byte, 1);
    const int e = SSL_get_error(ssl.get(), r);
    if (r > 0 || e == SSL_ERROR_WANT_READ) return;
    done = false;
    failed = true;
    error = ERR_get_error();
    ERR_clear_error();
  }

  std::string why() { return describe_handshake_failure(ssl.get(), error); }
};

struct connection {
  side client, server;

  connection(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
    client.ssl.reset(SSL_new(client_ctx));
    server.ssl.reset(SSL_new(server_ctx));
    BIO* a = nullptr;
    BIO* b = nullptr;
    EXPECT_EQ(BIO_new_bio_pair(&a, 0, &b, 0), 1);
    SSL_set_bio(client.ssl.get(), a, a);
    SSL_set_bio(server.ssl.get(), b, b);
    SSL_set_connect_state(client.ssl.get());
    SSL_set_accept_state(server.ssl.get());
    for (int i = 0; i < 20; ++i) {
      client.step();
      server.step();
    }
    client.read_once();
  }
};

class tls_test : public ::testing::Test {
 protected:
  tls_test() {
    auto acme = make_authority("acme", now_);
    auto other = make_authority("other", now_);
    EXPECT_TRUE(acme.ok() && other.ok());
    acme_ = std::move(*acme);
    other_ = std::move(*other);
  }
  identity member_of(const authority& ca, const std::string& name, std::vector<label> labels = {}) {
    return make_member(ca, name, now_ - 60, now_ + 30 * day, std::move(labels));
  }

  const std::int64_t now_ = unix_now();
  authority acme_, other_;
};

TEST_F(tls_test, context_is_tls13_only_with_mandatory_peer_verification) {
  auto ctx = context_of(member_of(acme_, "a"));
  ASSERT_NE(ctx, nullptr);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_max_proto_version(ctx.get()), TLS1_3_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx.get()), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
  EXPECT_EQ(SSL_CTX_get_verify_depth(ctx.get()), 0);
  EXPECT_NE(X509_VERIFY_PARAM_get_flags(SSL_CTX_get0_param(ctx.get())) & X509_V_FLAG_X509_STRICT,
            0u);
}

TEST_F(tls_test, members_of_one_network_learn_each_others_ids) {
  const auto a = member_of(acme_, "alpha", {{"site", "ams"}});
  const auto b = member_of(acme_, "beta", {{"site", "fra"}, {"rack", "r2"}});
  auto ca = context_of(a), cb = context_of(b);
  connection c(ca.get(), cb.get());
  ASSERT_TRUE(c.client.done) << c.client.why();
  ASSERT_TRUE(c.server.done) << c.server.why();
  EXPECT_EQ(SSL_version(c.client.ssl.get()), TLS1_3_VERSION);

  auto server_seen_by_client = verified_peer(c.client.ssl.get());
  auto client_seen_by_server = verified_peer(c.server.ssl.get());
  ASSERT_TRUE(server_seen_by_client.ok()) << server_seen_by_client.err().message;
  ASSERT_TRUE(client_seen_by_server.ok()) << client_seen_by_server.err().message;
  EXPECT_EQ(server_seen_by_client->id, b.self.id);
  EXPECT_EQ(server_seen_by_client->name, "beta");
  EXPECT_EQ(server_seen_by_client->labels, b.self.labels);
  EXPECT_EQ(client_seen_by_server->id, a.self.id);
  EXPECT_EQ(client_seen_by_server->labels, a.self.labels);
  EXPECT_EQ(client_seen_by_server->not_after_unix, a.self.not_after_unix);

  // Application data flows once both sides are verified.
  ASSERT_EQ(SSL_write(c.client.ssl.get(), "hi", 2), 2);
  char buf[2];
  ASSERT_EQ(SSL_read(c.server.ssl.get(), buf, 2), 2);
  EXPECT_EQ(std::string(buf, 2), "hi");
}

TEST_F(tls_test, foreign_network_is_refused_on_both_sides) {
  auto ca = context_of(member_of(acme_, "alpha"));
  auto cb = context_of(member_of(other_, "intruder"));
  connection c(ca.get(), cb.get());
  ASSERT_TRUE(c.client.failed);
  ASSERT_TRUE(c.server.failed);
  EXPECT_EQ(c.client.why(), "peer certificate is not issued by network 'acme' (issuer: 'other')");
  EXPECT_NE(c.server.why().find("peer rejected our certificate"), std::string::npos)
      << c.server.why();
  EXPECT_NE(c.server.why().find("network authority"), std::string::npos) << c.server.why();
  EXPECT_FALSE(verified_peer(c.client.ssl.get()).ok());
  EXPECT_FALSE(verified_peer(c.server.ssl.get()).ok());
}

TEST_F(tls_test, foreign_client_is_refused_by_the_server) {
  // An intruder with a copy of the (public) network certificate trusts the network's members,
  // but its own certificate comes from another authority.
  auto intruder = member_of(other_, "intruder");
  intruder.network = share(acme_.cert.get());
  intruder.network_name = "acme";
  auto ca = context_of(intruder);
  auto cb = context_of(member_of(acme_, "beta"));
  connection c(ca.get(), cb.get());
  ASSERT_TRUE(c.server.failed);
  EXPECT_EQ(c.server.why(), "peer certificate is not issued by network 'acme' (issuer: 'other')");
  ASSERT_TRUE(c.client.failed);
  EXPECT_EQ(c.client.why(),
            "peer rejected our certificate: it does not trust our network authority (alert: "
            "unknown CA)");
}

TEST_F(tls_test, expired_client_certificate_is_refused) {
  const auto expired = make_member(acme_, "late", now_ - 2 * day, now_ - day);
  auto ca = context_of(expired);
  auto cb = context_of(member_of(acme_, "beta"));
  connection c(ca.get(), cb.get());
  ASSERT_TRUE(c.server.failed);
  EXPECT_EQ(c.server.why(), "peer certificate expired at " + format_utc(now_ - day));
  ASSERT_TRUE(c.client.failed);
  EXPECT_NE(c.client.why().find("peer rejected our certificate"), std::string::npos)
      << c.client.why();
  EXPECT_NE(c.client.why().find("expired"), std::string::npos) << c.client.why();
  EXPECT_FALSE(verified_peer(c.server.ssl.get()).ok());
}

// Issue 23, item 6: a certificate whose window starts later (an authority's clock ahead, or a
// certificate issued for later) is refused on both sides, each saying why.
TEST_F(tls_test, a_certificate_not_valid_yet_is_refused_on_both_sides) {
  const auto early = make_member(acme_, "early", now_ + day, now_ + 2 * day);
  auto ca = context_of(early);
  auto cb = context_of(member_of(acme_, "beta"));
  connection c(ca.get(), cb.get());
  ASSERT_TRUE(c.server.failed);
  EXPECT_EQ(c.server.why(), "peer certificate is not valid before " + format_utc(now_ + day));
  ASSERT_TRUE(c.client.failed);
  EXPECT_NE(c.client.why().find("peer rejected our certificate"), std::string::npos)
      << c.client.why();
  EXPECT_NE(c.client.why().find("not valid yet by its clock"), std::string::npos) << c.client.why();
  // The other way round: the server's certificate is the early one.
  connection d(cb.get(), ca.get());
  ASSERT_TRUE(d.client.failed);
  EXPECT_EQ(d.client.why(), "peer certificate is not valid before " + format_utc(now_ + day));
  EXPECT_FALSE(verified_peer(d.client.ssl.get()).ok());
}

TEST_F(tls_test, client_without_certificate_is_refused) {
  ctx_ptr bare(SSL_CTX_new(TLS_client_method()));
  SSL_CTX_set_min_proto_version(bare.get(), TLS1_3_VERSION);
  SSL_CTX_set_verify(bare.get(), SSL_VERIFY_NONE, nullptr);
  auto cb = context_of(member_of(acme_, "beta"));
  connection c(bare.get(), cb.get());
  ASSERT_TRUE(c.server.failed);
  EXPECT_EQ(c.server.why(), "peer sent no certificate");
  ASSERT_TRUE(c.client.failed);
  EXPECT_NE(c.client.why().find("we sent none"), std::string::npos) << c.client.why();
}

TEST_F(tls_test, verified_peer_needs_a_completed_handshake) {
  auto ca = context_of(member_of(acme_, "alpha"));
  ssl_ptr ssl(SSL_new(ca.get()));
  auto r = verified_peer(ssl.get());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.err().message.find("not completed"), std::string::npos);
}

}  // namespace
}  // namespace shoal::member
