// Direct writes: aligned pieces bypass the page cache, unaligned ones and file systems without
// O_DIRECT fall back to ordinary writes, and the padded tail is cut back to size. In every case
// the file ends up holding exactly the bytes written.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <random>

#include "store/direct_write.hpp"
#include "support/test_dir.hpp"

namespace shoal::store {
namespace {

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) b = static_cast<std::uint8_t>(rng());
  return v;
}

std::vector<std::uint8_t> slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes `bytes` in chunks of `chunk` through a direct_writer, padding the last one, then cuts
// the file to size as export does.
void write_in_chunks(const fs::path& p, const std::vector<std::uint8_t>& bytes, std::size_t chunk) {
  auto fd = open_file(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_TRUE(fd) << fd.err().message;
  direct_writer w(fd->get(), p);
  for (std::size_t off = 0; off < bytes.size(); off += chunk) {
    const std::size_t len = std::min(chunk, bytes.size() - off);
    auto r = w.write(byte_span(bytes).subspan(off, len), off, off + len == bytes.size());
    ASSERT_TRUE(r) << r.err().message;
  }
  ASSERT_EQ(::ftruncate(fd->get(), static_cast<off_t>(bytes.size())), 0);
}

TEST(direct_write, aligned_pieces_and_a_padded_tail) {
  testing::temp_dir dir;
  const auto bytes = random_bytes(3 * 262144 + 12345, 1);
  write_in_chunks(dir / "f", bytes, 262144);
  EXPECT_TRUE(slurp(dir / "f") == bytes);
}

TEST(direct_write, aligned_buffers_are_written_as_they_are) {
  testing::temp_dir dir;
  const auto bytes = random_bytes(2 * 262144, 7);
  auto fd = open_file(dir / "f", O_WRONLY | O_CREAT, 0644);
  ASSERT_TRUE(fd);
  direct_writer w(fd->get(), dir / "f");
  for (std::size_t off = 0; off < bytes.size(); off += 262144) {
    aligned_bytes piece(bytes.begin() + static_cast<std::ptrdiff_t>(off),
                        bytes.begin() + static_cast<std::ptrdiff_t>(off + 262144));
    ASSERT_EQ(reinterpret_cast<std::uintptr_t>(piece.data()) % direct_alignment, 0u);
    ASSERT_TRUE(w.write(piece, off));
  }
  EXPECT_TRUE(slurp(dir / "f") == bytes);
}

TEST(direct_write, unaligned_offsets_fall_back_to_ordinary_writes) {
  testing::temp_dir dir;
  const auto bytes = random_bytes(100000, 2);
  write_in_chunks(dir / "f", bytes, 777);  // every offset after the first is unaligned
  EXPECT_TRUE(slurp(dir / "f") == bytes);
}

TEST(direct_write, overwrites_in_the_middle_keep_their_neighbours) {
  testing::temp_dir dir;
  auto bytes = random_bytes(5 * 4096, 3);
  write_in_chunks(dir / "f", bytes, 4096);
  auto fd = open_file(dir / "f", O_WRONLY, 0644);
  ASSERT_TRUE(fd);
  direct_writer w(fd->get(), dir / "f");
  const auto middle = random_bytes(4096, 4);
  ASSERT_TRUE(w.write(middle, 2 * 4096));
  const auto odd = random_bytes(100, 5);  // unaligned length without padding: ordinary write
  ASSERT_TRUE(w.write(odd, 4096));
  std::copy(middle.begin(), middle.end(), bytes.begin() + 2 * 4096);
  std::copy(odd.begin(), odd.end(), bytes.begin() + 4096);
  EXPECT_TRUE(slurp(dir / "f") == bytes);
}

TEST(direct_write, file_systems_without_o_direct_get_ordinary_writes) {
  // tmpfs refuses O_DIRECT at open.
  if (!fs::is_directory("/dev/shm")) GTEST_SKIP() << "no /dev/shm (tmpfs) on this machine";
  const fs::path p = "/dev/shm/shoal-direct-write-" + std::to_string(::getpid());
  const auto bytes = random_bytes(262144 + 5, 6);
  write_in_chunks(p, bytes, 262144);
  EXPECT_TRUE(slurp(p) == bytes);
  fs::remove(p);
}

}  // namespace
}  // namespace shoal::store
