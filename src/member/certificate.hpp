// The membership certificate profile as a verifier sees it (docs/protocol/membership.md,
// section 6): what a network certificate must be, what a node certificate must be, and the
// order of the checks. The TLS verify callback (tls.cpp), `shoal init --certificate` and
// load_identity all call these, so a certificate is judged the same way everywhere.
//
// Thread safety: stateless functions; each object argument is used by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "member/handles.hpp"
#include "member/labels.hpp"
#include "shoal/error.hpp"
#include "shoal/node_id.hpp"

struct X509_VERIFY_PARAM_st;

namespace shoal::member {

// What a verified node certificate says about its holder. The ID is always derived from the
// certificate's key; the "shoal:node:" URI in the certificate is never read.
struct peer_info {
  node_id id;
  std::string name;  // the subject commonName
  std::vector<label> labels;
  std::int64_t not_before_unix = 0;
  std::int64_t not_after_unix = 0;
};

// The settings every chain check uses: strict X.509 (RFC 5280) rules, and the leaf signed
// directly by the trust anchor (OpenSSL depth 0 counts intermediates: none allowed).
void apply_verify_policy(X509_VERIFY_PARAM_st* param);

// A network (authority) certificate: Ed25519 key, self-signed with a valid signature, CA:TRUE,
// keyCertSign, and a commonName that is a valid network name. Returns the network name.
// `what` names the certificate in errors.
result<std::string> check_network_certificate(x509_st* cert, std::string_view what);

// The leaf-only rules that a chain check does not cover: Ed25519 key, not a CA, a valid
// commonName, well-formed labels. Returns the holder's facts.
result<peer_info> check_node_profile(x509_st* cert, std::string_view what);

// The full check at time `now` (Unix seconds): the chain (issued by `network`, signature,
// validity window, strict profile, TLS client and server purposes), then check_node_profile.
// Expired, foreign and malformed certificates are `untrusted`, each with its own message.
result<peer_info> verify_node_certificate(x509_st* cert, x509_st* network, std::int64_t now,
                                          std::string_view what);

// One line for an OpenSSL X509_V_ERR_* code raised while checking node certificate `leaf`
// against network `network_name`, starting with `what` ("peer certificate", "certificate
// \"x.cert\""): "... expired at 2026-11-22 10:00:00 UTC", "... is not issued by network 'acme'
// (issuer: 'other')". `current` is the certificate the error is about (null for the leaf); an
// error about another one names it as the network certificate or the leaf's issuer.
std::string describe_verify_error(int x509_error, x509_st* leaf, x509_st* current,
                                  std::string_view network_name, std::string_view what);

}  // namespace shoal::member
