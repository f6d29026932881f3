// A set of piece indices as a bitmap: bit i of byte i/8, most significant bit first, the layout
// that the catalog stores and the wire protocol's bitfield will send.
//
// Thread safety: plain value.
#pragma once

#include <cstdint>
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

 private:
  std::vector<std::uint8_t> bits_;
  std::uint64_t size_ = 0;
  std::uint64_t count_ = 0;
};

}  // namespace shoal
