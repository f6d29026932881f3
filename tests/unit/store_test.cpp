#include "store/store.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/merkle.hpp"
#include "support/store_source.hpp"
#include "support/test_dir.hpp"

namespace shoal::store {
namespace {

using testing::make_source;
using testing::pattern_bytes;
using testing::read_bytes;
using testing::source_content;
using testing::temp_dir;
using testing::write_bytes;

void expect_same_tree(const fs::path& a, const fs::path& b) {
  EXPECT_EQ(read_bytes(a / "big.bin"), read_bytes(b / "big.bin"));
  EXPECT_EQ(read_bytes(a / "sub/small.bin"), read_bytes(b / "sub/small.bin"));
  EXPECT_TRUE(fs::exists(b / "sub/empty"));
  EXPECT_EQ(fs::file_size(b / "sub/empty"), 0u);
}

TEST(store, add_then_export_round_trips) {
  temp_dir dir;
  const auto src = make_source(dir);
  auto s = store::open(dir / "origin");
  ASSERT_TRUE(s.ok()) << s.err().message;
  auto out = (*s)->export_to(src.id, dir / "out");
  ASSERT_TRUE(out.ok()) << out.err().message;
  expect_same_tree(dir / "src", dir / "out");
  auto again = (*s)->export_to(src.id, dir / "out" / "sub" / "small.bin");
  EXPECT_EQ(again.err().code, errc::already_exists);
}

TEST(store, partial_content_resumes_after_reopen) {
  temp_dir dir;
  const auto src = make_source(dir);
  {
    auto s = store::open(dir / "fetcher");
    ASSERT_TRUE(s.ok());
    auto partial = (*s)->open_partial(src.m, "src", src.piece_hashes);
    ASSERT_TRUE(partial.ok()) << partial.err().message;
    for (std::uint64_t i = 0; i < src.pieces.size(); i += 2)
      ASSERT_TRUE((*partial)->write_piece(piece_index{i}, src.pieces[i]).ok());
    EXPECT_EQ((*(*s)->info(src.id)).have_count, (src.pieces.size() + 1) / 2);
    EXPECT_EQ((*s)->export_to(src.id, dir / "early").err().code, errc::not_found);
  }
  auto s = store::open(dir / "fetcher");
  ASSERT_TRUE(s.ok());
  auto partial = (*s)->open_partial(src.m, "src", src.piece_hashes);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ((*partial)->have().count(), (src.pieces.size() + 1) / 2);
  for (std::uint64_t i = 1; i < src.pieces.size(); i += 2)
    ASSERT_TRUE((*partial)->write_piece(piece_index{i}, src.pieces[i]).ok());
  EXPECT_TRUE((*partial)->complete());
  partial->reset();
  ASSERT_TRUE((*s)->export_to(src.id, dir / "out").ok());
  expect_same_tree(dir / "src", dir / "out");
}

TEST(store, process_killed_mid_write_resumes_from_verified_pieces) {
  temp_dir dir;
  const auto src = make_source(dir);
  const std::uint64_t written_before_kill = 3;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto s = store::open(dir / "fetcher");
    if (!s) ::_exit(2);
    auto partial = (*s)->open_partial(src.m, "src", src.piece_hashes);
    if (!partial) ::_exit(3);
    for (std::uint64_t i = 0; i < written_before_kill; ++i)
      if (!(*partial)->write_piece(piece_index{i}, src.pieces[i])) ::_exit(4);
    // Half of the next piece reaches the data file, then the process dies before recording it.
    auto fd = open_file(dir / "fetcher" / "data" / src.id.str(), O_WRONLY);
    const auto& next = src.pieces[written_before_kill];
    (void)pwrite_all(fd->get(), byte_span(next.data(), next.size() / 2),
                     written_before_kill * merkle::piece_size, "data");
    ::raise(SIGKILL);
    ::_exit(5);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);

  auto s = store::open(dir / "fetcher");
  ASSERT_TRUE(s.ok()) << s.err().message;
  auto partial = (*s)->open_partial(src.m, "src", src.piece_hashes);
  ASSERT_TRUE(partial.ok()) << partial.err().message;
  EXPECT_EQ((*partial)->have().count(), written_before_kill);
  EXPECT_FALSE((*partial)->have().contains(piece_index{written_before_kill}));
  for (std::uint64_t i = 0; i < src.pieces.size(); ++i)
    ASSERT_TRUE((*partial)->write_piece(piece_index{i}, src.pieces[i]).ok());
  partial->reset();
  ASSERT_TRUE((*s)->export_to(src.id, dir / "out").ok());
  expect_same_tree(dir / "src", dir / "out");
}

TEST(store, refuses_bad_pieces_and_bad_piece_layers) {
  temp_dir dir;
  const auto src = make_source(dir);
  auto s = store::open(dir / "fetcher");
  ASSERT_TRUE(s.ok());
  auto wrong_layer = src.piece_hashes;
  wrong_layer[1].bytes[0] ^= 1;
  EXPECT_EQ((*s)->open_partial(src.m, "src", wrong_layer).err().code, errc::hash_mismatch);
  auto partial = (*s)->open_partial(src.m, "src", src.piece_hashes);
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ((*partial)->write_piece(piece_index{0}, src.pieces[1]).err().code, errc::hash_mismatch);
  auto short_piece = src.pieces[0];
  short_piece.pop_back();
  EXPECT_EQ((*partial)->write_piece(piece_index{0}, short_piece).err().code, errc::hash_mismatch);
  EXPECT_EQ((*partial)->write_piece(piece_index{999}, src.pieces[0]).err().code,
            errc::invalid_argument);
  EXPECT_EQ((*partial)->have().count(), 0u);
  EXPECT_EQ((*(*s)->info(src.id)).have_count, 0u);
  // While a fetch holds it, the content cannot be removed or fetched twice.
  EXPECT_EQ((*s)->open_partial(src.m, "src", src.piece_hashes).err().code, errc::busy);
  EXPECT_EQ((*s)->remove(src.id).err().code, errc::busy);
}

TEST(store, damaged_data_is_caught_and_the_piece_marked_missing) {
  temp_dir dir;
  const auto src = make_source(dir);
  const fs::path data = dir / "origin" / "data" / src.id.str();
  {
    auto fd = open_file(data, O_WRONLY);
    ASSERT_TRUE(fd.ok());
    const std::uint8_t junk = 0x5A;
    ASSERT_TRUE(pwrite_all(fd->get(), byte_span(&junk, 1), 2 * merkle::piece_size + 77, data).ok());
  }
  auto s = store::open(dir / "origin");
  ASSERT_TRUE(s.ok());
  auto out = (*s)->export_to(src.id, dir / "out");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.err().code, errc::hash_mismatch);
  EXPECT_NE(out.err().message.find("piece 2"), std::string::npos) << out.err().message;
  EXPECT_FALSE(fs::exists(dir / "out"));
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".out.shoal-"), std::string::npos)
        << "leftover " << e.path();
  EXPECT_EQ((*(*s)->info(src.id)).have_count, src.pieces.size() - 1);
  EXPECT_EQ((*s)->read_piece(src.id, piece_index{2}).err().code, errc::not_found);
  auto v = (*s)->verify(src.id);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->bad_pieces.empty());  // already marked missing, so not checked again
  EXPECT_EQ(v->pieces_checked, src.pieces.size() - 1);
}

TEST(store, open_sweeps_leftovers_and_checks_data_files) {
  temp_dir dir;
  const auto src = make_source(dir);
  write_bytes(dir / "origin/tmp/add-deadbeef", pattern_bytes(100));
  write_bytes(dir / "origin/data/sh1orphan", pattern_bytes(100));
  fs::resize_file(dir / "origin" / "data" / src.id.str(), 10);
  auto s = store::open(dir / "origin");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(fs::exists(dir / "origin/tmp/add-deadbeef"));
  // A data file that nothing describes is moved aside, never deleted.
  EXPECT_FALSE(fs::exists(dir / "origin/data/sh1orphan"));
  EXPECT_EQ(read_bytes(dir / "origin/quarantine/sh1orphan"), pattern_bytes(100));
  EXPECT_EQ((*s)->warnings().size(), 2u);
  EXPECT_EQ((*(*s)->info(src.id)).have_count, 0u);
}

// Issue 18, finding 15: a forged but consistent 1 TiB manifest made the node try to reserve
// 1 TiB with no look at the free space first.
TEST(store, a_reservation_larger_than_the_free_space_is_refused_before_any_allocation) {
  temp_dir dir;
  auto fd = open_file(dir / "big", O_RDWR | O_CREAT, 0600);
  ASSERT_TRUE(fd.ok());
  auto r = reserve_space(fd->get(), std::uint64_t{1} << 60, dir / "big");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::disk_full);
  EXPECT_NE(r.err().message.find("bytes are free"), std::string::npos) << r.err().message;
  EXPECT_EQ(fs::file_size(dir / "big"), 0u);
  EXPECT_TRUE(reserve_space(fd->get(), 1 << 20, dir / "big").ok());
}

TEST(store, one_writer_at_a_time) {
  temp_dir dir;
  auto first = store::open(dir / "d");
  ASSERT_TRUE(first.ok());
  auto second = store::open(dir / "d");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.err().code, errc::busy);
  EXPECT_NE(second.err().message.find(std::to_string(::getpid())), std::string::npos);
  EXPECT_TRUE(store::open(dir / "d", access::read_only).ok());
}

TEST(store, remove_respects_pins_and_reclaims_space) {
  temp_dir dir;
  const auto src = make_source(dir);
  auto s = store::open(dir / "origin");
  ASSERT_TRUE(s.ok());
  write_bytes(dir / "other.bin", pattern_bytes(70000, 9));
  auto other = (*s)->add(dir / "other.bin", false);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ((*s)->remove(src.id).err().code, errc::pinned);
  auto collected = (*s)->collect_garbage();
  ASSERT_TRUE(collected.ok());
  ASSERT_EQ(collected->size(), 1u);
  EXPECT_EQ(collected->front().id, other->content.id);
  EXPECT_FALSE(fs::exists(dir / "origin" / "data" / other->content.id.str()));
  ASSERT_TRUE((*s)->set_pinned(src.id, false).ok());
  auto freed = (*s)->remove(src.id);
  ASSERT_TRUE(freed.ok());
  EXPECT_GE(*freed, 5 * merkle::piece_size);
  EXPECT_FALSE(fs::exists(dir / "origin" / "data" / src.id.str()));
  EXPECT_EQ((*s)->info(src.id).err().code, errc::not_found);
  EXPECT_TRUE((*s)->list()->empty());
}

}  // namespace
}  // namespace shoal::store
