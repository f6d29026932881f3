#include "member/authority.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "member/files.hpp"
#include "member/pem.hpp"

namespace shoal::member {
namespace {

std::string quoted(const std::filesystem::path& p) {
  return "\"" + p.string() + "\"";
}

struct bn_free {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct name_free {
  void operator()(X509_NAME* n) const noexcept { X509_NAME_free(n); }
};
struct general_names_free {
  void operator()(GENERAL_NAMES* n) const noexcept { GENERAL_NAMES_free(n); }
};

// A random positive 128-bit serial (RFC 5280 allows up to 20 octets). The top bit is cleared so
// the DER integer needs no sign byte and stays 16 octets; the low bit is set so it is never 0.
result<void> set_random_serial(X509* x) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1)
    return error{errc::io_error, "cannot draw a random serial number: " + take_openssl_error()};
  bytes[0] &= 0x7f;
  bytes[15] |= 0x01;
  std::unique_ptr<BIGNUM, bn_free> bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
  SHOAL_ASSERT(bn != nullptr);
  SHOAL_ASSERT(BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x)) != nullptr);
  return {};
}

std::unique_ptr<X509_NAME, name_free> name_with_cn(const std::string& cn) {
  std::unique_ptr<X509_NAME, name_free> n(X509_NAME_new());
  SHOAL_ASSERT(n != nullptr);
  const int ok = X509_NAME_add_entry_by_NID(n.get(), NID_commonName, MBSTRING_UTF8,
                                            reinterpret_cast<const unsigned char*>(cn.data()),
                                            static_cast<int>(cn.size()), -1, 0);
  SHOAL_ASSERT(ok == 1);
  return n;
}

// Adds an extension written in OpenSSL's configuration syntax ("critical,CA:TRUE,pathlen:0").
// The values are constants of this file, so a failure is a bug.
void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  SHOAL_ASSERT(ext != nullptr);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  SHOAL_ASSERT(ok == 1);
}

// subjectAltName with URIs, built directly rather than from a configuration string so that no
// character of a label value can be read as syntax.
void add_uri_names(X509* cert, const std::vector<std::string>& uris) {
  std::unique_ptr<GENERAL_NAMES, general_names_free> names(sk_GENERAL_NAME_new_null());
  SHOAL_ASSERT(names != nullptr);
  for (const auto& uri : uris) {
    GENERAL_NAME* n = GENERAL_NAME_new();
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    SHOAL_ASSERT(n != nullptr && s != nullptr);
    const int set = ASN1_STRING_set(s, uri.data(), static_cast<int>(uri.size()));
    SHOAL_ASSERT(set == 1);
    GENERAL_NAME_set0_value(n, GEN_URI, s);
    const int pushed = sk_GENERAL_NAME_push(names.get(), n);
    SHOAL_ASSERT(pushed > 0);
  }
  const int ok = X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT);
  SHOAL_ASSERT(ok == 1);
}

void set_window(X509* x, std::int64_t not_before, std::int64_t not_after) {
  SHOAL_ASSERT(ASN1_TIME_set(X509_getm_notBefore(x), static_cast<time_t>(not_before)) != nullptr);
  SHOAL_ASSERT(ASN1_TIME_set(X509_getm_notAfter(x), static_cast<time_t>(not_after)) != nullptr);
}

void sign(X509* x, EVP_PKEY* key) {
  // Ed25519 signs the message itself; the digest argument must be null.
  const int n = X509_sign(x, key, nullptr);
  SHOAL_ASSERT(n > 0);
}

// A fresh X.509 v3 certificate with a random serial, to be filled in.
result<x509_ptr> new_certificate() {
  x509_ptr cert(X509_new());
  SHOAL_ASSERT(cert != nullptr);
  SHOAL_ASSERT(X509_set_version(cert.get(), X509_VERSION_3) == 1);
  SHOAL_TRY(set_random_serial(cert.get()));
  return cert;
}

}  // namespace

result<authority> make_authority(const std::string& name, std::int64_t now) {
  SHOAL_TRY(check_name(name, "network name"));
  auto key = generate_ed25519_key();
  if (!key) return std::move(key).err();
  auto made = new_certificate();
  if (!made) return std::move(made).err();
  x509_ptr cert = std::move(*made);
  X509* x = cert.get();
  auto subject = name_with_cn(name);
  SHOAL_ASSERT(X509_set_subject_name(x, subject.get()) == 1);
  SHOAL_ASSERT(X509_set_issuer_name(x, subject.get()) == 1);
  // Backdated like node certificates, so that nodes with a slow clock accept it at once.
  set_window(x, now - backdating.count(), now + authority_validity.count());
  SHOAL_ASSERT(X509_set_pubkey(x, key->get()) == 1);
  add_extension(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(x, x, NID_subject_key_identifier, "hash");
  sign(x, key->get());
  return authority{std::move(*key), std::move(cert), name};
}

result<authority_files> create_authority(const std::filesystem::path& dir, const std::string& name,
                                         std::int64_t now) {
  SHOAL_TRY(check_name(name, "network name"));
  authority_files files{dir / (name + ".key"), dir / (name + ".cert")};
  // Checked before anything is generated so that neither file is touched; the O_EXCL creates
  // below still guard against a file appearing meanwhile.
  for (const auto& p : {files.key, files.cert}) {
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(p, ec)))
      return error{errc::already_exists,
                   quoted(p) + " already exists; refusing to overwrite a network authority"};
  }
  auto ca = make_authority(name, now);
  if (!ca) return std::move(ca).err();
  {
    // A missing output directory is made, owner-only: it is about to hold the authority's key.
    std::error_code ec;
    if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
      std::filesystem::create_directories(dir, ec);
      if (!ec)
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace, ec);
      if (ec) return error{errc::io_error, "cannot create " + quoted(dir) + ": " + ec.message()};
    }
  }
  SHOAL_TRY(write_new_file(files.key, key_to_pem(ca->key.get()), 0600));
  if (auto r = write_new_file(files.cert, cert_to_pem(ca->cert.get()), 0644); !r) {
    // The key is useless without its certificate and would block the next attempt.
    std::error_code ec;
    std::filesystem::remove(files.key, ec);
    return r.err();
  }
  return files;
}

result<authority> load_authority(const std::filesystem::path& key_path,
                                 const std::filesystem::path& cert_path) {
  auto cert = read_cert(cert_path, "authority certificate");
  if (!cert) return std::move(cert).err();
  auto name = check_network_certificate(cert->get(), "authority certificate " + quoted(cert_path));
  if (!name) return std::move(name).err();
  auto key = read_key(key_path);
  if (!key) return std::move(key).err();
  if (!same_public_key(key->get(), X509_get0_pubkey(cert->get())))
    return error{errc::invalid_argument, "authority key " + quoted(key_path) +
                                             " does not belong to authority certificate " +
                                             quoted(cert_path)};
  return authority{std::move(*key), std::move(*cert), std::move(*name)};
}

issue_options issue_window(std::int64_t now, std::chrono::seconds expires_in,
                           std::vector<label> labels) {
  return issue_options{std::move(labels), now - backdating.count(), now + expires_in.count()};
}

result<issued> sign_request(const authority& ca, X509_req_st* csr, const issue_options& options,
                            std::string_view origin) {
  const std::string what = "certificate request " + quoted(std::filesystem::path(origin));
  EVP_PKEY* key = X509_REQ_get0_pubkey(csr);
  auto id = node_id_of(key, what);
  if (!id) return std::move(id).err();
  if (X509_REQ_verify(csr, key) != 1) {
    ERR_clear_error();
    return error{errc::untrusted,
                 what + " has a bad signature: it was not signed by the key it carries"};
  }
  const auto name = common_name(X509_REQ_get_subject_name(csr));
  if (auto r = check_name(name, "node name"); !r)
    return error{errc::invalid_argument, what + ": " + r.err().message};
  // A request made for another network: the node holds that network's certificate and would
  // refuse ours. (Requests without the field, from before it existed, are not checked.)
  if (const auto asked = name_entry(X509_REQ_get_subject_name(csr), NID_organizationName);
      !asked.empty() && asked != ca.network_name)
    return error{errc::invalid_argument,
                 what + " was made for network '" + asked + "', not '" + ca.network_name +
                     "': the node ran `shoal init --network " + asked +
                     ".cert` and would not accept a certificate of '" + ca.network_name +
                     "'. Sign it with that network's authority, or give the node a new data "
                     "directory and run `shoal init --network " +
                     ca.network_name + ".cert` there"};
  SHOAL_TRY(check_labels(options.labels));
  if (options.not_after_unix <= options.not_before_unix)
    return error{errc::invalid_argument, "the certificate's validity window is empty"};
  const auto ca_not_after = not_after_unix(ca.cert.get());
  if (options.not_after_unix > ca_not_after)
    return error{errc::invalid_argument,
                 "the certificate would outlive the network certificate, which expires at " +
                     format_utc(ca_not_after) + "; ask for a shorter expiry"};

  auto made = new_certificate();
  if (!made) return std::move(made).err();
  x509_ptr cert = std::move(*made);
  X509* x = cert.get();
  // Only the commonName is taken from the request: the rest of its subject and any extensions
  // it asks for are the requester's wishes, not the authority's profile.
  auto subject = name_with_cn(name);
  SHOAL_ASSERT(X509_set_subject_name(x, subject.get()) == 1);
  SHOAL_ASSERT(X509_set_issuer_name(x, X509_get_subject_name(ca.cert.get())) == 1);
  set_window(x, options.not_before_unix, options.not_after_unix);
  SHOAL_ASSERT(X509_set_pubkey(x, key) == 1);
  add_extension(x, ca.cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(x, ca.cert.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(x, ca.cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  add_extension(x, ca.cert.get(), NID_authority_key_identifier, "keyid:always");
  std::vector<std::string> uris{std::string(node_uri_prefix) + id->str()};
  for (const auto& l : options.labels) uris.push_back(label_uri(l));
  add_uri_names(x, uris);
  sign(x, ca.key.get());

  auto info = check_node_profile(x, "issued certificate");
  SHOAL_ASSERT(info.ok());  // the profile above is the one check_node_profile checks
  return issued{std::move(cert), std::move(*info)};
}

result<x509_req_ptr> make_request(evp_pkey_st* key, const std::string& name,
                                  const std::string& network) {
  SHOAL_TRY(check_name(name, "node name"));
  x509_req_ptr req(X509_REQ_new());
  SHOAL_ASSERT(req != nullptr);
  SHOAL_ASSERT(X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) == 1);
  auto subject = name_with_cn(name);
  if (!network.empty())
    SHOAL_ASSERT(X509_NAME_add_entry_by_NID(subject.get(), NID_organizationName, MBSTRING_UTF8,
                                            reinterpret_cast<const unsigned char*>(network.data()),
                                            static_cast<int>(network.size()), -1, 0) == 1);
  SHOAL_ASSERT(X509_REQ_set_subject_name(req.get(), subject.get()) == 1);
  SHOAL_ASSERT(X509_REQ_set_pubkey(req.get(), key) == 1);
  const int n = X509_REQ_sign(req.get(), key, nullptr);
  SHOAL_ASSERT(n > 0);
  return req;
}

}  // namespace shoal::member
