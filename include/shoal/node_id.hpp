// A node ID names a node by the SHA-256 of its raw Ed25519 public key, in a versioned text form:
// "nd1" followed by the digest in lowercase RFC 4648 base32 without padding (55 characters), the
// same encoding as content IDs. The certificate binds the key, so the ID cannot be claimed by a
// node that does not hold the private key.
//
// Thread safety: plain value.
#pragma once

#include <string>
#include <string_view>

#include "shoal/error.hpp"
#include "shoal/types.hpp"

namespace shoal {

struct node_id {
  hash256 digest;

  static constexpr std::string_view prefix = "nd1";
  static constexpr std::size_t text_size = 55;

  // The ID of the node whose raw 32-byte Ed25519 public key is `public_key`.
  static node_id of_public_key(byte_span public_key);
  static result<node_id> parse(std::string_view text);

  std::string str() const;
  // The first 12 characters, for logs and tables.
  std::string short_str() const { return str().substr(0, 12); }
  auto operator<=>(const node_id&) const = default;
};

}  // namespace shoal
