// A set of piece indices as a bitmap: bit i of byte i/8, most significant bit first, the layout
// that the catalog stores and the wire protocol's bitfield will send.
//
// Thread safety: plain value.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <vector>

#include "shoal/error.hpp"
#include "shoal/types.hpp"

namespace shoal {

class piece_set {
 public:
  piece_set() = default;
  explicit piece_set(std::uint64_t piece_count, bool full = false);
  // Rebuilds a set from its bytes; fails if the size is wrong or padding bits are set.
  static result<piece_set> from_bytes(std::uint64_t piece_count, byte_span bytes);

  std::uint64_t size() const { return size_; }
  std::uint64_t count() const { return count_; }
  bool complete() const { return count_ == size_; }
  bool contains(piece_index p) const;
  // Both return whether the set changed.
  bool insert(piece_index p);
  bool erase(piece_index p);
  const std::vector<std::uint8_t>& bytes() const { return bits_; }

  // Calls fn(piece) for each piece in both this set and `other` (of the same size), in
  // ascending order from `from`, until fn returns true, and returns that piece. A word of the
  // bitmaps at a time: the fetch looks through the pieces a peer holds this way on every event.
  template <class Fn>
  std::optional<piece_index> find_common(const piece_set& other, piece_index from, Fn&& fn) const;

 private:
  // Bytes [i, i + 8) of both bitmaps ANDed, piece 8i in the top bit (zero past the end).
  std::uint64_t common_word(const piece_set& other, std::size_t i) const;

  std::vector<std::uint8_t> bits_;
  std::uint64_t size_ = 0;
  std::uint64_t count_ = 0;
};

template <class Fn>
std::optional<piece_index> piece_set::find_common(const piece_set& other, piece_index from,
                                                  Fn&& fn) const {
  SHOAL_ASSERT(other.size_ == size_);
  for (std::size_t i = from.value / 8 / 8 * 8; i < bits_.size(); i += 8) {
    std::uint64_t word = common_word(other, i);
    while (word != 0) {
      const int bit = std::countl_zero(word);
      word &= ~(std::uint64_t{1} << (63 - bit));
      const piece_index p(i * 8 + static_cast<std::uint64_t>(bit));
      if (p.value >= from.value && fn(p)) return p;
    }
  }
  return std::nullopt;
}

}  // namespace shoal
