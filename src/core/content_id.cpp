#include "shoal/content_id.hpp"

#include "crypto/sha256.hpp"
#include "shoal/node_id.hpp"

namespace shoal {
namespace {
constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

// Parses "<prefix><base32 digest>", naming `what` ("content ID", "node ID") in every error.
result<hash256> parse_versioned(std::string_view text, std::string_view prefix,
                                std::size_t text_size, const std::string& what) {
  const std::string shown(text.substr(0, 80));
  if (text.size() < prefix.size() || text.substr(0, 2) != prefix.substr(0, 2))
    return error{errc::invalid_argument, "\"" + shown + "\" is not a " + what +
                                             " (it must start with \"" + std::string(prefix) +
                                             "\")"};
  if (text.substr(0, prefix.size()) != prefix)
    return error{errc::unsupported, what + " \"" + shown +
                                        "\" has an unsupported version (this build reads \"" +
                                        std::string(prefix) + "\")"};
  if (text.size() != text_size)
    return error{errc::invalid_argument, what + " \"" + shown + "\" has " +
                                             std::to_string(text.size()) +
                                             " characters; expected " + std::to_string(text_size)};
  hash256 digest;
  std::uint32_t buffer = 0;
  int bits = 0;
  std::size_t out = 0;
  for (char c : text.substr(prefix.size())) {
    int v;
    if (c >= 'a' && c <= 'z')
      v = c - 'a';
    else if (c >= '2' && c <= '7')
      v = c - '2' + 26;
    else
      return error{errc::invalid_argument, what + " \"" + shown + "\" contains '" +
                                               std::string(1, c) +
                                               "', which is not lowercase base32"};
    buffer = buffer << 5 | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      digest.bytes[out++] = static_cast<std::uint8_t>(buffer >> (bits - 8));
      bits -= 8;
    }
  }
  if ((buffer & ((1u << bits) - 1)) != 0)
    return error{errc::invalid_argument,
                 what + " \"" + shown + "\" is not in canonical form (nonzero trailing bits)"};
  return digest;
}
}  // namespace

std::string base32_encode(byte_span data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : data) {
    buffer = buffer << 8 | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

content_id content_id::of_manifest(byte_span manifest_bytes) {
  return content_id{crypto::sha256(manifest_bytes)};
}

std::string content_id::str() const {
  return std::string(prefix) + base32_encode(digest.bytes);
}

result<content_id> content_id::parse(std::string_view text) {
  auto d = parse_versioned(text, prefix, text_size, "content ID");
  if (!d) return std::move(d).err();
  return content_id{*d};
}

node_id node_id::of_public_key(byte_span public_key) {
  return node_id{crypto::sha256(public_key)};
}

std::string node_id::str() const {
  return std::string(prefix) + base32_encode(digest.bytes);
}

result<node_id> node_id::parse(std::string_view text) {
  auto d = parse_versioned(text, prefix, text_size, "node ID");
  if (!d) return std::move(d).err();
  return node_id{*d};
}

}  // namespace shoal
