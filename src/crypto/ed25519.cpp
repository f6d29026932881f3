#include "crypto/ed25519.hpp"

#include <openssl/evp.h>

#include "shoal/error.hpp"

namespace shoal::crypto {
namespace {

struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct md_ctx_free {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using md_ctx = std::unique_ptr<EVP_MD_CTX, md_ctx_free>;

}  // namespace

bool ed25519_verify(const ed25519_public_key& key, byte_span message,
                    const ed25519_signature& signature) {
  std::unique_ptr<EVP_PKEY, pkey_free> k(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()));
  if (!k) return false;
  md_ctx ctx(EVP_MD_CTX_new());
  SHOAL_ASSERT(ctx != nullptr);
  // Ed25519 takes no digest: the message is signed whole (one-shot DigestVerify).
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, k.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(),
                          message.size()) == 1;
}

struct ed25519_signer::impl {
  std::unique_ptr<EVP_PKEY, pkey_free> key;
};

ed25519_signer::ed25519_signer(std::unique_ptr<impl> i, const ed25519_public_key& pub)
    : impl_(std::move(i)), public_key_(pub) {}
ed25519_signer::~ed25519_signer() = default;
ed25519_signer::ed25519_signer(ed25519_signer&&) noexcept = default;
ed25519_signer& ed25519_signer::operator=(ed25519_signer&&) noexcept = default;

std::optional<ed25519_signer> ed25519_signer::from_seed(const ed25519_seed& seed) {
  auto i = std::make_unique<impl>();
  i->key.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!i->key) return std::nullopt;
  ed25519_public_key pub{};
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(i->key.get(), pub.data(), &len) != 1 || len != pub.size())
    return std::nullopt;
  return ed25519_signer(std::move(i), pub);
}

ed25519_signature ed25519_signer::sign(byte_span message) const {
  md_ctx ctx(EVP_MD_CTX_new());
  SHOAL_ASSERT(ctx != nullptr);
  SHOAL_ASSERT(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) == 1);
  ed25519_signature sig{};
  std::size_t len = sig.size();
  SHOAL_ASSERT(EVP_DigestSign(ctx.get(), sig.data(), &len, message.data(), message.size()) == 1);
  SHOAL_ASSERT(len == sig.size());
  return sig;
}

}  // namespace shoal::crypto
