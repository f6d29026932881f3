#include "member/handles.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "shoal/error.hpp"

namespace shoal::member {

void pkey_free::operator()(evp_pkey_st* p) const noexcept {
  EVP_PKEY_free(p);
}
void x509_free::operator()(x509_st* p) const noexcept {
  X509_free(p);
}
void x509_req_free::operator()(X509_req_st* p) const noexcept {
  X509_REQ_free(p);
}

pkey_ptr share(evp_pkey_st* p) {
  SHOAL_ASSERT(p != nullptr);
  const int referenced = EVP_PKEY_up_ref(p);
  SHOAL_ASSERT(referenced == 1);
  return pkey_ptr(p);
}

x509_ptr share(x509_st* p) {
  SHOAL_ASSERT(p != nullptr);
  const int referenced = X509_up_ref(p);
  SHOAL_ASSERT(referenced == 1);
  return x509_ptr(p);
}

std::string take_openssl_error() {
  const unsigned long first = ERR_get_error();
  ERR_clear_error();
  if (first == 0) return {};
  char buf[256];
  ERR_error_string_n(first, buf, sizeof buf);
  return buf;
}

}  // namespace shoal::member
