// SHA-256 through OpenSSL's EVP interface (which uses the CPU's SHA extensions when present).
// This header does not include OpenSSL, so the I/O-free core may hash without depending on it.
//
// Thread safety: a sha256_hasher is used by one thread at a time; distinct hashers are
// independent. The free functions are thread-safe.
#pragma once

#include <memory>

#include "shoal/types.hpp"

namespace shoal::crypto {

class sha256_hasher {
 public:
  sha256_hasher();
  ~sha256_hasher();
  sha256_hasher(sha256_hasher&&) noexcept;
  sha256_hasher& operator=(sha256_hasher&&) noexcept;
  sha256_hasher(const sha256_hasher&) = delete;
  sha256_hasher& operator=(const sha256_hasher&) = delete;

  // Starts a new digest, discarding any unfinished one.
  void reset();
  void update(byte_span data);
  void update(std::uint8_t byte) { update(byte_span(&byte, 1)); }
  // Finishes the digest; the hasher must be reset() before reuse.
  hash256 finish();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

hash256 sha256(byte_span data);

}  // namespace shoal::crypto
