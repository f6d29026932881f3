#include "member/certificate.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "member/pem.hpp"

namespace shoal::member {
namespace {

struct store_free {
  void operator()(X509_STORE* s) const noexcept { X509_STORE_free(s); }
};
struct store_ctx_free {
  void operator()(X509_STORE_CTX* c) const noexcept { X509_STORE_CTX_free(c); }
};
struct general_names_free {
  void operator()(GENERAL_NAMES* n) const noexcept { GENERAL_NAMES_free(n); }
};

std::string single_quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// The "shoal:label:" URIs of the subjectAltName extension, in certificate order.
result<std::vector<label>> labels_of(x509_st* cert, std::string_view what) {
  std::vector<label> out;
  int critical = 0;
  std::unique_ptr<GENERAL_NAMES, general_names_free> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr)));
  if (!names) {
    // -1: no extension (no labels); -2: the extension appears twice, which RFC 5280 forbids.
    if (critical == -2)
      return error{errc::untrusted, std::string(what) + " has two subjectAltName extensions"};
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
    if (n->type != GEN_URI) continue;
    const std::string_view uri(reinterpret_cast<const char*>(ASN1_STRING_get0_data(n->d.ia5)),
                               static_cast<std::size_t>(ASN1_STRING_length(n->d.ia5)));
    auto l = label_from_uri(uri);
    if (!l) return error{errc::untrusted, std::string(what) + ": " + l.err().message};
    if (*l) out.push_back(std::move(**l));
  }
  if (auto r = check_labels(out); !r)
    return error{errc::untrusted,
                 std::string(what) + " carries invalid labels: " + r.err().message};
  return out;
}

}  // namespace

void apply_verify_policy(X509_VERIFY_PARAM_st* param) {
  // CHECK_SS_SIGNATURE: the network certificate's own signature is checked too, so a damaged
  // identity/network.cert is noticed rather than trusted as it is.
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT | X509_V_FLAG_CHECK_SS_SIGNATURE);
  X509_VERIFY_PARAM_set_depth(param, 0);
}

result<std::string> check_network_certificate(x509_st* cert, std::string_view what) {
  auto key = ed25519_public_key(X509_get0_pubkey(cert), what);
  if (!key) return std::move(key).err();
  const auto name = common_name(X509_get_subject_name(cert));
  if (auto r = check_name(name, "network name"); !r)
    return error{errc::invalid_argument, std::string(what) + ": " + r.err().message};
  if (X509_self_signed(cert, 1) != 1)
    return error{errc::untrusted, std::string(what) +
                                      " is not a self-signed network certificate (or its "
                                      "signature does not verify)"};
  const auto flags = X509_get_extension_flags(cert);
  if ((flags & EXFLAG_CA) == 0 || (X509_get_key_usage(cert) & KU_KEY_CERT_SIGN) == 0)
    return error{errc::untrusted, std::string(what) +
                                      " is not a CA certificate (basicConstraints CA:TRUE and "
                                      "keyUsage keyCertSign are required)"};
  return name;
}

result<peer_info> check_node_profile(x509_st* cert, std::string_view what) {
  auto id = node_id_of(X509_get0_pubkey(cert), what);
  if (!id) return error{errc::untrusted, id.err().message};
  if (X509_check_ca(cert) != 0)
    return error{errc::untrusted,
                 std::string(what) + " is a CA certificate, not a node certificate"};
  peer_info info;
  info.id = *id;
  info.name = common_name(X509_get_subject_name(cert));
  if (auto r = check_name(info.name, "node name"); !r)
    return error{errc::untrusted, std::string(what) + ": " + r.err().message};
  if (X509_check_purpose(cert, X509_PURPOSE_SSL_CLIENT, 0) != 1 ||
      X509_check_purpose(cert, X509_PURPOSE_SSL_SERVER, 0) != 1)
    return error{errc::untrusted, std::string(what) +
                                      " is not valid for both TLS client and server use "
                                      "(extendedKeyUsage serverAuth and clientAuth)"};
  auto labels = labels_of(cert, what);
  if (!labels) return std::move(labels).err();
  info.labels = std::move(*labels);
  info.not_before_unix = not_before_unix(cert);
  info.not_after_unix = not_after_unix(cert);
  return info;
}

result<peer_info> verify_node_certificate(x509_st* cert, x509_st* network, std::int64_t now,
                                          std::string_view what) {
  std::unique_ptr<X509_STORE, store_free> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, store_ctx_free> ctx(X509_STORE_CTX_new());
  SHOAL_ASSERT(store && ctx);
  const int added = X509_STORE_add_cert(store.get(), network);
  SHOAL_ASSERT(added == 1);
  const int inited = X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr);
  SHOAL_ASSERT(inited == 1);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  apply_verify_policy(param);
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(now));
  // TLS uses "ssl_client" on the server side and "ssl_server" on the client side; one of them
  // here, the other in check_node_profile.
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return error{errc::untrusted,
                 describe_verify_error(err, cert, X509_STORE_CTX_get_current_cert(ctx.get()),
                                       common_name(X509_get_subject_name(network)), what)};
  }
  return check_node_profile(cert, what);
}

std::string describe_verify_error(int x509_error, x509_st* leaf, x509_st* current,
                                  std::string_view network_name, std::string_view what) {
  const std::string w(what);
  const std::string issuer = leaf ? common_name(X509_get_issuer_name(leaf)) : std::string();
  switch (x509_error) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      // Whichever certificate of a chain the peer sent raised it, the leaf was not signed by the
      // network certificate. Another authority may use the same network name; only the key
      // decides.
      if (issuer == network_name)
        return w + " is not issued by network " + single_quoted(network_name) +
               " (issuer: another authority that is also named " + single_quoted(issuer) + ")";
      return w + " is not issued by network " + single_quoted(network_name) +
             " (issuer: " + single_quoted(issuer) + ")";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return w + " has a signature that does not verify against network " +
             single_quoted(network_name) + " (forged or damaged)";
    case X509_V_ERR_INVALID_PURPOSE:
      return w + " is not valid for TLS client and server use (extendedKeyUsage)";
    default:
      break;
  }
  // The remaining errors are about one certificate; with the leaf signed directly by the trust
  // anchor, a certificate other than the leaf is the network certificate.
  x509_st* cert = current ? current : leaf;
  const std::string who = (current && current != leaf) ? "the network certificate" : w;
  switch (x509_error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      if (cert) return who + " expired at " + format_utc(not_after_unix(cert));
      return who + " has expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      if (cert) return who + " is not valid before " + format_utc(not_before_unix(cert));
      return who + " is not valid yet";
    default:
      return who + " was refused: " + X509_verify_cert_error_string(x509_error);
  }
}

}  // namespace shoal::member
