#include "core/piece_set.hpp"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace shoal {
namespace {

TEST(piece_set, insert_erase_count) {
  piece_set s(10);
  EXPECT_EQ(s.count(), 0u);
  EXPECT_TRUE(s.insert(piece_index{0}));
  EXPECT_FALSE(s.insert(piece_index{0}));
  EXPECT_TRUE(s.insert(piece_index{9}));
  EXPECT_EQ(s.count(), 2u);
  EXPECT_EQ(s.bytes(), (std::vector<std::uint8_t>{0x80, 0x40}));
  EXPECT_TRUE(s.erase(piece_index{0}));
  EXPECT_FALSE(s.contains(piece_index{0}));
  EXPECT_FALSE(s.complete());
}

TEST(piece_set, full_set_has_no_padding_bits) {
  piece_set s(10, true);
  EXPECT_TRUE(s.complete());
  EXPECT_EQ(s.bytes(), (std::vector<std::uint8_t>{0xFF, 0xC0}));
  auto back = piece_set::from_bytes(10, s.bytes());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->count(), 10u);
}

TEST(piece_set, from_bytes_rejects_bad_input) {
  const std::vector<std::uint8_t> wrong_size{0xFF};
  EXPECT_FALSE(piece_set::from_bytes(10, wrong_size).ok());
  const std::vector<std::uint8_t> padding_set{0xFF, 0xE0};
  EXPECT_EQ(piece_set::from_bytes(10, padding_set).err().code, errc::invalid_argument);
  EXPECT_TRUE(piece_set::from_bytes(0, {}).ok());
}

// find_common against a plain loop, over sizes that end inside a byte, at a byte and at a word
// boundary, from every start.
TEST(piece_set, find_common_visits_the_intersection_in_order) {
  std::mt19937_64 rng(7);
  for (const std::uint64_t size : {1u, 7u, 8u, 63u, 64u, 65u, 130u, 1000u}) {
    piece_set a(size);
    piece_set b(size);
    for (std::uint64_t i = 0; i < size; ++i) {
      if (rng() % 3 != 0) a.insert(piece_index(i));
      if (rng() % 3 != 0) b.insert(piece_index(i));
    }
    for (std::uint64_t from = 0; from <= size; ++from) {
      std::vector<std::uint64_t> want;
      for (std::uint64_t i = from; i < size; ++i)
        if (a.contains(piece_index(i)) && b.contains(piece_index(i))) want.push_back(i);
      std::vector<std::uint64_t> got;
      const auto none = a.find_common(b, piece_index(from), [&](piece_index p) {
        got.push_back(p.value);
        return false;
      });
      EXPECT_FALSE(none.has_value());
      EXPECT_EQ(got, want) << "size " << size << " from " << from;
      // Stopping at the third piece returns it.
      if (want.size() >= 3) {
        int seen = 0;
        const auto third =
            a.find_common(b, piece_index(from), [&](piece_index) { return ++seen == 3; });
        ASSERT_TRUE(third.has_value());
        EXPECT_EQ(third->value, want[2]);
      }
    }
  }
}

}  // namespace
}  // namespace shoal
