#include "core/piece_set.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace shoal
