// Ed25519 signatures through OpenSSL (RFC 8032, pure Ed25519), for the records the core checks
// itself: the network's revocation list (docs/protocol/membership.md, section 9). Like
// sha256.hpp, this header does not include OpenSSL, so the I/O-free core may verify without
// depending on it.
//
// Thread safety: the free functions are thread-safe; an ed25519_signer is used by one thread at
// a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>

#include "shoal/types.hpp"

namespace shoal::crypto {

using ed25519_public_key = std::array<std::uint8_t, 32>;
using ed25519_signature = std::array<std::uint8_t, 64>;
using ed25519_seed = std::array<std::uint8_t, 32>;

// True if `signature` is `key`'s signature of `message`. A key that is not a valid curve point
// verifies nothing.
bool ed25519_verify(const ed25519_public_key& key, byte_span message,
                    const ed25519_signature& signature);

// A private key in memory: the authority's (from its raw 32-byte private key), or one made
// from a seed by tests and the simulator.
class ed25519_signer {
 public:
  // nullopt if OpenSSL refuses the key (it accepts every 32-byte seed).
  static std::optional<ed25519_signer> from_seed(const ed25519_seed& seed);
  ~ed25519_signer();
  ed25519_signer(ed25519_signer&&) noexcept;
  ed25519_signer& operator=(ed25519_signer&&) noexcept;

  const ed25519_public_key& public_key() const { return public_key_; }
  ed25519_signature sign(byte_span message) const;

 private:
  struct impl;
  ed25519_signer(std::unique_ptr<impl> i, const ed25519_public_key& pub);
  std::unique_ptr<impl> impl_;
  ed25519_public_key public_key_{};
};

}  // namespace shoal::crypto
