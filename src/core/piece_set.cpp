#include "core/piece_set.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

namespace shoal {

piece_set::piece_set(std::uint64_t piece_count, bool full)
    : bits_((piece_count + 7) / 8, full ? 0xFF : 0),
      size_(piece_count),
      count_(full ? piece_count : 0) {
  if (full && piece_count % 8 != 0)
    bits_.back() = static_cast<std::uint8_t>(0xFF00 >> (piece_count % 8));
}

result<piece_set> piece_set::from_bytes(std::uint64_t piece_count, byte_span bytes) {
  if (bytes.size() != (piece_count + 7) / 8)
    return error{errc::invalid_argument, "piece bitmap has " + std::to_string(bytes.size()) +
                                             " bytes; " + std::to_string(piece_count) +
                                             " pieces need " +
                                             std::to_string((piece_count + 7) / 8)};
  piece_set s;
  s.size_ = piece_count;
  s.bits_.assign(bytes.begin(), bytes.end());
  if (piece_count % 8 != 0 && (s.bits_.back() & (0xFF >> (piece_count % 8))) != 0)
    return error{errc::invalid_argument, "piece bitmap has bits set past the last piece"};
  for (auto b : s.bits_) s.count_ += static_cast<std::uint64_t>(std::popcount(b));
  return s;
}

bool piece_set::contains(piece_index p) const {
  SHOAL_ASSERT(p.value < size_);
  return (bits_[p.value / 8] >> (7 - p.value % 8)) & 1;
}

bool piece_set::insert(piece_index p) {
  if (contains(p)) return false;
  bits_[p.value / 8] |= static_cast<std::uint8_t>(0x80 >> (p.value % 8));
  ++count_;
  return true;
}

bool piece_set::erase(piece_index p) {
  if (!contains(p)) return false;
  bits_[p.value / 8] &= static_cast<std::uint8_t>(~(0x80 >> (p.value % 8)));
  --count_;
  return true;
}

std::uint64_t piece_set::common_word(const piece_set& other, std::size_t i) const {
  if (i + 8 <= bits_.size()) {
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    std::memcpy(&a, bits_.data() + i, 8);
    std::memcpy(&b, other.bits_.data() + i, 8);
    a &= b;
    if constexpr (std::endian::native == std::endian::little) a = __builtin_bswap64(a);
    return a;
  }
  std::uint64_t word = 0;
  const std::size_t end = std::min(bits_.size(), i + 8);
  for (std::size_t j = i; j < end; ++j)
    word |= std::uint64_t{static_cast<std::uint8_t>(bits_[j] & other.bits_[j])}
            << (8 * (7 - (j - i)));
  return word;
}

}  // namespace shoal
