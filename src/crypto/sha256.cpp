#include "crypto/sha256.hpp"

#include <openssl/evp.h>

#include "shoal/error.hpp"

namespace shoal::crypto {
namespace {

// Fetching the algorithm once avoids a provider lookup on every digest, which matters when
// hashing 65,536 leaves per GiB.
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  SHOAL_ASSERT(md != nullptr);
  return md;
}

}  // namespace

struct sha256_hasher::impl {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~impl() { EVP_MD_CTX_free(ctx); }
};

sha256_hasher::sha256_hasher() : impl_(std::make_unique<impl>()) {
  SHOAL_ASSERT(impl_->ctx != nullptr);
  reset();
}
sha256_hasher::~sha256_hasher() = default;
sha256_hasher::sha256_hasher(sha256_hasher&&) noexcept = default;
sha256_hasher& sha256_hasher::operator=(sha256_hasher&&) noexcept = default;

void sha256_hasher::reset() {
  SHOAL_ASSERT(EVP_DigestInit_ex2(impl_->ctx, sha256_md(), nullptr) == 1);
}

void sha256_hasher::update(byte_span data) {
  SHOAL_ASSERT(EVP_DigestUpdate(impl_->ctx, data.data(), data.size()) == 1);
}

hash256 sha256_hasher::finish() {
  hash256 h;
  unsigned int len = 0;
  SHOAL_ASSERT(EVP_DigestFinal_ex(impl_->ctx, h.bytes.data(), &len) == 1);
  SHOAL_ASSERT(len == hash256::size);
  return h;
}

hash256 sha256(byte_span data) {
  sha256_hasher h;
  h.update(data);
  return h.finish();
}

}  // namespace shoal::crypto
