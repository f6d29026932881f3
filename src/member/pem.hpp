// Keys, certificates and certificate requests in and out of PEM, and the facts membership reads
// from them: a key's node ID, a name's common name, a certificate's validity window. Errors name
// the file the text came from.
//
// Thread safety: stateless functions; each object argument is used by one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "member/handles.hpp"
#include "shoal/error.hpp"
#include "shoal/node_id.hpp"

struct X509_name_st;

namespace shoal::member {

// A fresh Ed25519 key from OpenSSL's random generator.
result<pkey_ptr> generate_ed25519_key();

// PEM text: keys as unencrypted PKCS#8 ("PRIVATE KEY"), certificates ("CERTIFICATE"), requests
// ("CERTIFICATE REQUEST").
std::string key_to_pem(evp_pkey_st* key);
std::string cert_to_pem(x509_st* cert);
std::string csr_to_pem(X509_req_st* csr);

// Parse exactly one PEM object of the kind named; `origin` names the file in errors.
result<pkey_ptr> key_from_pem(std::string_view pem, const std::filesystem::path& origin);
result<x509_ptr> cert_from_pem(std::string_view pem, const std::filesystem::path& origin);
result<x509_req_ptr> csr_from_pem(std::string_view pem, const std::filesystem::path& origin);

// Read a file and parse it.
result<pkey_ptr> read_key(const std::filesystem::path& path);
result<x509_ptr> read_cert(const std::filesystem::path& path, std::string_view what);
result<x509_req_ptr> read_csr(const std::filesystem::path& path);

// The raw 32-byte public key of an Ed25519 key, or an error naming the key's actual type.
result<std::string> ed25519_public_key(evp_pkey_st* key, std::string_view what);
// node_id::of_public_key of an Ed25519 key's raw public key.
result<node_id> node_id_of(evp_pkey_st* key, std::string_view what);
// Whether two keys have the same public half.
bool same_public_key(evp_pkey_st* a, evp_pkey_st* b);

// The first commonName of a name, or "" when it has none.
std::string common_name(const X509_name_st* name);
// The name's first entry of type `nid` (NID_organizationName...), UTF-8; "" when it has none.
std::string name_entry(const X509_name_st* name, int nid);

// Seconds since the Unix epoch, now, from the system clock.
std::int64_t unix_now();
// Certificate validity bounds in Unix seconds.
std::int64_t not_before_unix(const x509_st* cert);
std::int64_t not_after_unix(const x509_st* cert);
// "2026-11-22 10:00:00 UTC".
std::string format_utc(std::int64_t unix_seconds);

}  // namespace shoal::member
