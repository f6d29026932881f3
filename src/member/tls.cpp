#include "member/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "member/pem.hpp"

namespace shoal::member {
namespace {

// ex_data slots holding a std::string each: on the context, the network name (for messages);
// on a connection, the first reason its verify callback refused the peer. OpenSSL calls the
// free function when the context or connection goes away.
void free_string(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<std::string*>(ptr);
}

int network_name_slot() {
  static const int slot = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_string);
  SHOAL_ASSERT(slot >= 0);
  return slot;
}

int refusal_slot() {
  static const int slot = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_string);
  SHOAL_ASSERT(slot >= 0);
  return slot;
}

std::string network_name_of(SSL* ssl) {
  const auto* name = static_cast<const std::string*>(
      SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), network_name_slot()));
  return name ? *name : std::string();
}

void record_refusal(SSL* ssl, std::string reason) {
  if (SSL_get_ex_data(ssl, refusal_slot()) != nullptr) return;  // the first reason is the cause
  auto* s = new std::string(std::move(reason));
  if (SSL_set_ex_data(ssl, refusal_slot(), s) != 1) delete s;
}

// Runs for each certificate of the peer's chain, the trust anchor first, with OpenSSL's verdict
// in `ok`. It adds the node profile at depth 0 and keeps the reason for a refusal, which the
// handshake error alone would not tell (after a failed verification OpenSSL keeps no peer
// certificate to look at).
int verify_callback(int ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  SHOAL_ASSERT(ssl != nullptr);
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  X509* current = X509_STORE_CTX_get_current_cert(store);
  if (!ok) {
    record_refusal(ssl, describe_verify_error(X509_STORE_CTX_get_error(store), leaf, current,
                                              network_name_of(ssl), "peer certificate"));
    return 0;
  }
  if (X509_STORE_CTX_get_error_depth(store) == 0) {
    auto profile = check_node_profile(current, "peer certificate");
    if (!profile) {
      record_refusal(ssl, profile.err().message);
      X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
      return 0;
    }
  }
  return 1;
}

bool is_certificate_alert(int alert) {
  switch (alert) {
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
    case SSL_AD_CERTIFICATE_REQUIRED:
    case SSL_AD_HANDSHAKE_FAILURE:
      return true;
    default:
      return false;
  }
}

// What the peer's alert means for us, in the words of this protocol.
std::string alert_meaning(int alert) {
  switch (alert) {
    case SSL_AD_UNKNOWN_CA:
      return "it does not trust our network authority";
    case SSL_AD_CERTIFICATE_EXPIRED:
      return "it says our certificate has expired or is not valid yet";
    case SSL_AD_CERTIFICATE_REQUIRED:
      return "it requires a certificate and we sent none";
    case SSL_AD_CERTIFICATE_REVOKED:
      return "it says our certificate is revoked";
    case SSL_AD_BAD_CERTIFICATE:
      // OpenSSL's alert for a certificate whose window has not begun, among other faults.
      return "it found it invalid: not valid yet by its clock (check both clocks), or damaged";
    default:
      return {};
  }
}

}  // namespace

result<ssl_ctx_st*> make_tls_context(const identity& id) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr)
    return error{errc::io_error, "cannot create a TLS context: " + take_openssl_error()};
  const auto fail = [&](const char* what) -> result<ssl_ctx_st*> {
    SSL_CTX_free(ctx);
    return error{errc::invalid_argument,
                 std::string("cannot set up TLS: ") + what + ": " + take_openssl_error()};
  };
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
    return fail("TLS 1.3 is not available");
  // Ed25519 for both the certificates and CertificateVerify: nothing else is a valid member key.
  if (SSL_CTX_set1_sigalgs_list(ctx, "ed25519") != 1) return fail("Ed25519 is not available");
  if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256") != 1) return fail("no key exchange group");
  if (SSL_CTX_use_certificate(ctx, id.cert.get()) != 1) return fail("the node certificate");
  if (SSL_CTX_use_PrivateKey(ctx, id.key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1)
    return fail("the node key does not match the node certificate");

  // A fresh store: the system's CA bundle is never consulted (SSL_CTX_new does not load it, and
  // replacing the store makes sure nothing else put there is trusted).
  X509_STORE* store = X509_STORE_new();
  if (store == nullptr || X509_STORE_add_cert(store, id.network.get()) != 1) {
    X509_STORE_free(store);
    return fail("the network certificate");
  }
  SSL_CTX_set_cert_store(ctx, store);  // the context owns it now
  // Send the node certificate alone: every member already holds the network certificate, and
  // OpenSSL would otherwise add it from the trust store to each handshake.
  SSL_CTX_set_mode(ctx, SSL_MODE_NO_AUTO_CHAIN);
  apply_verify_policy(SSL_CTX_get0_param(ctx));
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_callback);

  // No resumption: a resumed session would skip the certificate check, and an expired or
  // (later) revoked member must be refused at its next connection.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 0);

  auto* name = new std::string(id.network_name);
  if (SSL_CTX_set_ex_data(ctx, network_name_slot(), name) != 1) {
    delete name;
    return fail("cannot attach the network name");
  }
  return ctx;
}

result<peer_info> verified_peer(ssl_st* ssl) {
  if (SSL_is_init_finished(ssl) != 1)
    return error{errc::invalid_argument, "the TLS handshake has not completed"};
  X509* peer = SSL_get0_peer_certificate(ssl);
  if (peer == nullptr) return error{errc::untrusted, "peer sent no certificate"};
  const long verdict = SSL_get_verify_result(ssl);
  if (verdict != X509_V_OK)
    return error{errc::untrusted, describe_verify_error(static_cast<int>(verdict), peer, nullptr,
                                                        network_name_of(ssl), "peer certificate")};
  return check_node_profile(peer, "peer certificate");
}

std::string describe_handshake_failure(ssl_st* ssl, unsigned long openssl_error) {
  if (const auto* reason = static_cast<const std::string*>(SSL_get_ex_data(ssl, refusal_slot())))
    return *reason;
  if (openssl_error == 0) return "the connection closed during the TLS handshake";
  const int reason = ERR_GET_REASON(openssl_error);
  if (ERR_GET_LIB(openssl_error) == ERR_LIB_SSL) {
    if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) return "peer sent no certificate";
    if (reason > SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
      const int alert = reason - SSL_AD_REASON_OFFSET;
      const std::string desc = SSL_alert_desc_string_long(alert);
      if (alert == SSL_AD_PROTOCOL_VERSION)
        return "peer does not accept TLS 1.3 (alert: " + desc + ")";
      if (is_certificate_alert(alert)) {
        const auto meaning = alert_meaning(alert);
        return "peer rejected our certificate: " +
               (meaning.empty() ? desc : meaning + " (alert: " + desc + ")");
      }
      return "peer aborted the handshake (alert: " + desc + ")";
    }
    if (reason == SSL_R_UNSUPPORTED_PROTOCOL || reason == SSL_R_WRONG_VERSION_NUMBER ||
        reason == SSL_R_NO_PROTOCOLS_AVAILABLE)
      return "peer does not speak TLS 1.3";
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
      return "peer certificate was refused: " +
             std::string(X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
  }
  char buf[256];
  ERR_error_string_n(openssl_error, buf, sizeof buf);
  return std::string("TLS handshake failed: ") + buf;
}

bool is_certificate_refusal(ssl_st* ssl, unsigned long openssl_error) {
  if (SSL_get_ex_data(ssl, refusal_slot()) != nullptr) return true;  // our own check refused
  if (openssl_error == 0 || ERR_GET_LIB(openssl_error) != ERR_LIB_SSL) return false;
  const int reason = ERR_GET_REASON(openssl_error);
  if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE ||
      reason == SSL_R_CERTIFICATE_VERIFY_FAILED)
    return true;
  return reason > SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256 &&
         is_certificate_alert(reason - SSL_AD_REASON_OFFSET);
}

}  // namespace shoal::member
