// A content ID names an immutable content by the SHA-256 of its manifest, in a versioned text
// form: "sh1" followed by the digest in lowercase RFC 4648 base32 without padding (55 characters).
// "1" is the content format version (docs/protocol/content.md). The same bytes always give the
// same ID.
//
// Thread safety: plain value.
#pragma once

#include <string>
#include <string_view>

#include "shoal/error.hpp"
#include "shoal/types.hpp"

namespace shoal {

struct content_id {
  hash256 digest;

  static constexpr std::string_view prefix = "sh1";
  static constexpr std::size_t text_size = 55;

  // The ID of the content whose encoded manifest is `manifest_bytes`.
  static content_id of_manifest(byte_span manifest_bytes);
  // Parses the text form; rejects other versions, wrong lengths, bad characters, non-canonical
  // trailing bits, with a message saying which.
  static result<content_id> parse(std::string_view text);

  std::string str() const;
  auto operator<=>(const content_id&) const = default;
};

std::string base32_encode(byte_span data);

}  // namespace shoal
