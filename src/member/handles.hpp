// Owning handles for the OpenSSL objects that membership passes between its files: keys,
// certificates and certificate requests. The OpenSSL types are only forward-declared (they are
// the struct tags behind EVP_PKEY, X509 and X509_REQ), so no header of shoal_member but tls.hpp
// needs OpenSSL's headers, and nothing that includes these does either.
//
// Thread safety: unique owners; one thread uses an object at a time (OpenSSL's own rule for
// these objects, except that a loaded, unchanging key or certificate may be read concurrently).
#pragma once

#include <memory>
#include <string>

struct evp_pkey_st;
struct x509_st;
struct X509_req_st;

namespace shoal::member {

struct pkey_free {
  void operator()(evp_pkey_st* p) const noexcept;
};
struct x509_free {
  void operator()(x509_st* p) const noexcept;
};
struct x509_req_free {
  void operator()(X509_req_st* p) const noexcept;
};

using pkey_ptr = std::unique_ptr<evp_pkey_st, pkey_free>;
using x509_ptr = std::unique_ptr<x509_st, x509_free>;
using x509_req_ptr = std::unique_ptr<X509_req_st, x509_req_free>;

// A new reference to the same object (OpenSSL reference counting), for sharing a loaded key or
// certificate with, for example, a TLS context.
pkey_ptr share(evp_pkey_st* p);
x509_ptr share(x509_st* p);

// Takes every error on this thread's OpenSSL error queue and returns the first as text (empty
// when the queue was empty), so one failure does not leak into the next call's report.
std::string take_openssl_error();

}  // namespace shoal::member
