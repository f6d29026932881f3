#include "member/pem.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <chrono>
#include <ctime>

#include "member/files.hpp"

namespace shoal::member {
namespace {

struct bio_free {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;

std::string quoted(const std::filesystem::path& p) {
  return "\"" + p.string() + "\"";
}

bio_ptr memory_bio(std::string_view text) {
  bio_ptr b(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  SHOAL_ASSERT(b != nullptr);
  return b;
}

template <typename Write>
std::string pem_text(Write&& write) {
  bio_ptr b(BIO_new(BIO_s_mem()));
  SHOAL_ASSERT(b != nullptr);
  const int ok = write(b.get());
  SHOAL_ASSERT(ok == 1);  // writing a valid object to memory cannot fail
  char* data = nullptr;
  const long n = BIO_get_mem_data(b.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// A PEM file holds one object; text after it would be silently ignored by OpenSSL, and a
// second object there (a key pasted after a certificate) is a mistake worth reporting.
bool only_whitespace_left(BIO* b) {
  char c = 0;
  while (BIO_read(b, &c, 1) == 1)
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return false;
  return true;
}

template <typename T, typename Read>
result<T> parse_pem(std::string_view pem, const std::filesystem::path& origin,
                    std::string_view what, std::string_view label, Read&& read) {
  ERR_clear_error();
  auto b = memory_bio(pem);
  T obj(read(b.get()));
  if (!obj) {
    const auto detail = take_openssl_error();
    return error{errc::invalid_argument,
                 quoted(origin) + " does not hold a PEM " + std::string(what) + " (\"-----BEGIN " +
                     std::string(label) + "-----\")" + (detail.empty() ? "" : ": " + detail)};
  }
  if (!only_whitespace_left(b.get()))
    return error{errc::invalid_argument, quoted(origin) + " holds more than one PEM " +
                                             std::string(what) +
                                             " or other text after it; expected exactly one"};
  return obj;
}

std::int64_t asn1_time_unix(const ASN1_TIME* t) {
  std::tm tm{};
  const int ok = ASN1_TIME_to_tm(t, &tm);
  SHOAL_ASSERT(ok == 1);  // OpenSSL only decodes certificates whose times parse
  return static_cast<std::int64_t>(::timegm(&tm));
}

}  // namespace

result<pkey_ptr> generate_ed25519_key() {
  pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return error{errc::io_error, "cannot generate an Ed25519 key: " + take_openssl_error()};
  return key;
}

std::string key_to_pem(evp_pkey_st* key) {
  return pem_text([&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
}

std::string cert_to_pem(x509_st* cert) {
  return pem_text([&](BIO* b) { return PEM_write_bio_X509(b, cert); });
}

std::string csr_to_pem(X509_req_st* csr) {
  return pem_text([&](BIO* b) { return PEM_write_bio_X509_REQ(b, csr); });
}

result<pkey_ptr> key_from_pem(std::string_view pem, const std::filesystem::path& origin) {
  // A passphrase-protected key would make OpenSSL prompt on the terminal; the callback that
  // returns no passphrase turns that into an error instead.
  return parse_pem<pkey_ptr>(pem, origin, "private key", "PRIVATE KEY", [](BIO* b) {
    return PEM_read_bio_PrivateKey(
        b, nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  });
}

result<x509_ptr> cert_from_pem(std::string_view pem, const std::filesystem::path& origin) {
  return parse_pem<x509_ptr>(pem, origin, "certificate", "CERTIFICATE", [](BIO* b) {
    return PEM_read_bio_X509(b, nullptr, nullptr, nullptr);
  });
}

result<x509_req_ptr> csr_from_pem(std::string_view pem, const std::filesystem::path& origin) {
  return parse_pem<x509_req_ptr>(
      pem, origin, "certificate request", "CERTIFICATE REQUEST",
      [](BIO* b) { return PEM_read_bio_X509_REQ(b, nullptr, nullptr, nullptr); });
}

result<pkey_ptr> read_key(const std::filesystem::path& path) {
  auto text = read_small_file(path, "key");
  if (!text) return std::move(text).err();
  return key_from_pem(*text, path);
}

result<x509_ptr> read_cert(const std::filesystem::path& path, std::string_view what) {
  auto text = read_small_file(path, what);
  if (!text) return std::move(text).err();
  return cert_from_pem(*text, path);
}

result<x509_req_ptr> read_csr(const std::filesystem::path& path) {
  auto text = read_small_file(path, "certificate request");
  if (!text) return std::move(text).err();
  return csr_from_pem(*text, path);
}

result<std::string> ed25519_public_key(evp_pkey_st* key, std::string_view what) {
  if (key == nullptr)
    return error{errc::unsupported, std::string(what) + " has a public key OpenSSL cannot read"};
  if (EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
    const char* type = EVP_PKEY_get0_type_name(key);
    return error{errc::unsupported, std::string(what) + " is a " + (type ? type : "unknown") +
                                        " key; Shoal node and network keys are Ed25519"};
  }
  std::string raw(32, '\0');
  std::size_t len = raw.size();
  const int ok =
      EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(raw.data()), &len);
  SHOAL_ASSERT(ok == 1 && len == 32);
  return raw;
}

result<node_id> node_id_of(evp_pkey_st* key, std::string_view what) {
  auto raw = ed25519_public_key(key, what);
  if (!raw) return std::move(raw).err();
  return node_id::of_public_key(
      byte_span(reinterpret_cast<const std::uint8_t*>(raw->data()), raw->size()));
}

bool same_public_key(evp_pkey_st* a, evp_pkey_st* b) {
  return EVP_PKEY_eq(a, b) == 1;
}

std::string common_name(const X509_name_st* name) {
  return name_entry(name, NID_commonName);
}

std::string name_entry(const X509_name_st* name, int nid) {
  if (name == nullptr) return {};
  const int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) return {};
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return {};
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::int64_t not_before_unix(const x509_st* cert) {
  return asn1_time_unix(X509_get0_notBefore(cert));
}
std::int64_t not_after_unix(const x509_st* cert) {
  return asn1_time_unix(X509_get0_notAfter(cert));
}

std::string format_utc(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

}  // namespace shoal::member
