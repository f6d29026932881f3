// The network authority: the CA key an organization keeps and its self-signed certificate, and
// the issuing of node certificates from certificate requests (docs/protocol/membership.md,
// sections 2 to 4). Used by `shoal network create` and `shoal network sign`, and by the tests,
// which issue certificates with explicit validity windows.
//
// Thread safety: an `authority` is used by one thread at a time; the functions keep no state.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "member/certificate.hpp"
#include "member/handles.hpp"
#include "member/labels.hpp"
#include "shoal/error.hpp"

namespace shoal::member {

constexpr std::chrono::seconds authority_validity{3650LL * 86400};
constexpr std::chrono::seconds default_node_validity{30LL * 86400};
// Node certificates start this much before the moment they are issued, so a node whose clock
// runs a little behind the authority's accepts them at once.
constexpr std::chrono::seconds backdating{60};

struct authority {
  pkey_ptr key;
  x509_ptr cert;
  std::string network_name;
};

struct authority_files {
  std::filesystem::path key;   // NAME.key, mode 0600
  std::filesystem::path cert;  // NAME.cert, mode 0644
};

// Creates a new authority for network `name` valid for 10 years from `now` (Unix seconds), and
// writes DIR/NAME.key and DIR/NAME.cert. Refuses (already_exists) if either file exists.
result<authority_files> create_authority(const std::filesystem::path& dir, const std::string& name,
                                         std::int64_t now);
// The authority in memory only (tests, and create_authority itself).
result<authority> make_authority(const std::string& name, std::int64_t now);

// Loads NAME.key and NAME.cert and checks that they belong together.
result<authority> load_authority(const std::filesystem::path& key_path,
                                 const std::filesystem::path& cert_path);

struct issue_options {
  std::vector<label> labels;
  std::int64_t not_before_unix = 0;
  std::int64_t not_after_unix = 0;
};

// The usual window: from `now - backdating` to `now + expires_in`.
issue_options issue_window(std::int64_t now, std::chrono::seconds expires_in,
                           std::vector<label> labels = {});

struct issued {
  x509_ptr cert;
  peer_info info;
};

// Checks a certificate request (its self-signature, an Ed25519 key, a valid node name) and
// issues a node certificate for it. `origin` names the request in errors. The window may lie in
// the past (tests make expired certificates that way) but not beyond the authority's own expiry.
result<issued> sign_request(const authority& ca, X509_req_st* csr, const issue_options& options,
                            std::string_view origin);

// A certificate request for `key` with commonName `name`, signed by `key`; with a `network`,
// its organizationName says which network it is for, so that another network's authority
// refuses it rather than issue a certificate the node cannot use (membership.md, 5.2).
result<x509_req_ptr> make_request(evp_pkey_st* key, const std::string& name,
                                  const std::string& network = {});

}  // namespace shoal::member
