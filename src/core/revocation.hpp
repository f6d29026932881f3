// The network's revocation list (docs/protocol/membership.md, section 9): the members whose
// certificates the authority has withdrawn before they expire, signed by the authority and
// numbered by a serial that only grows, so that a node keeps the newest list it has seen and an
// older one replayed to it changes nothing.
//
// Encoding (all integers big-endian):
//   magic "SHOALRL1" | network: u8 n (1..64), n bytes | serial u64 (>= 1) | issued i64 (Unix s)
//   | count u32 (<= max_revoked) | count x { node: 32 bytes, revoked i64, reason: u8 n, n bytes }
//   | signer u8 (0: the network authority) | signature: 64 bytes
// Entries are sorted by node ID, strictly ascending. The signature is Ed25519 by the authority
// over signing_context followed by every byte before the signature.
//
// Pure computation, no I/O. Thread safety: plain values and functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/ed25519.hpp"
#include "shoal/error.hpp"
#include "shoal/node_id.hpp"
#include "shoal/types.hpp"

namespace shoal {

inline constexpr std::string_view revocation_magic = "SHOALRL1";
inline constexpr std::string_view revocation_signing_context = "shoal revocation list v1";
inline constexpr std::size_t max_revoked = 4096;
inline constexpr std::size_t max_revocation_reason = 128;  // bytes of UTF-8
inline constexpr std::size_t max_network_name = 64;
// The largest encoding max_revoked entries can take, below the wire's frame limit.
inline constexpr std::size_t max_revocation_list =
    8 + 1 + max_network_name + 8 + 8 + 4 + max_revoked * (32 + 8 + 1 + max_revocation_reason) + 1 +
    64;

struct revoked_member {
  node_id node;
  std::int64_t revoked_at = 0;  // Unix seconds
  std::string reason;           // UTF-8, may be empty
  bool operator==(const revoked_member&) const = default;
};

struct revocation_list {
  std::string network;
  std::uint64_t serial = 0;
  std::int64_t issued_at = 0;
  std::vector<revoked_member> entries;  // sorted by node, no duplicates
  crypto::ed25519_signature signature{};
  bool operator==(const revocation_list&) const = default;

  bool revokes(const node_id& n) const;
  const revoked_member* find(const node_id& n) const;
};

// The bytes the signature covers (signing context, then the encoding up to the signature).
// REQUIRES: the list is within the limits above.
std::vector<std::uint8_t> revocation_signed_bytes(const revocation_list& l);
// The whole encoding. REQUIRES: as above.
std::vector<std::uint8_t> encode(const revocation_list& l);
// Signs the list with `authority` and returns it with its signature.
revocation_list sign(revocation_list l, const crypto::ed25519_signer& authority);

// Decodes a list: every byte string decodes to exactly one list or gives an error naming what
// was wrong (limit_exceeded for a count or length over a limit, invalid_argument otherwise).
// The signature is not checked here.
result<revocation_list> decode_revocation_list(byte_span bytes);

// The checks a node makes before it adopts a list: made for `network` and signed by its
// authority (`untrusted` otherwise, saying which).
result<void> verify(const revocation_list& l, std::string_view network,
                    const crypto::ed25519_public_key& authority);

// decode then verify.
result<revocation_list> decode_and_verify(byte_span bytes, std::string_view network,
                                          const crypto::ed25519_public_key& authority);

}  // namespace shoal
