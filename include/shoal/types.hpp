// Strong types for hashes, identifiers and indices, so that a piece index can never be passed
// where a block index or a byte offset is expected.
//
// Thread safety: plain values.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>

namespace shoal {

using byte_span = std::span<const std::uint8_t>;

// A SHA-256 digest.
struct hash256 {
  std::array<std::uint8_t, 32> bytes{};

  static constexpr std::size_t size = 32;
  bool is_zero() const noexcept;
  std::string hex() const;
  auto operator<=>(const hash256&) const = default;
};

// Parses 64 hex digits; returns false on anything else.
bool parse_hex(std::string_view text, hash256& out);

// An integer with a tag, so that indices of different kinds do not mix.
template <typename Tag, typename Rep = std::uint64_t>
struct strong_index {
  Rep value{};
  constexpr strong_index() = default;
  constexpr explicit strong_index(Rep v) : value(v) {}
  constexpr auto operator<=>(const strong_index&) const = default;
  constexpr strong_index& operator++() {
    ++value;
    return *this;
  }
};

struct piece_index_tag {};
struct block_index_tag {};
struct file_index_tag {};
// A piece's position in a content's global piece list (all files' pieces, in manifest order).
using piece_index = strong_index<piece_index_tag>;
// A 16 KiB block's position within one file.
using block_index = strong_index<block_index_tag>;
// A file's position among the file entries of a manifest.
using file_index = strong_index<file_index_tag, std::uint32_t>;

}  // namespace shoal

template <typename Tag, typename Rep>
struct std::hash<shoal::strong_index<Tag, Rep>> {
  std::size_t operator()(const shoal::strong_index<Tag, Rep>& i) const noexcept {
    return std::hash<Rep>{}(i.value);
  }
};
