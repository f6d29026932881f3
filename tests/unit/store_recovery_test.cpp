// The store never deletes what it cannot prove is garbage: a missing, empty or damaged catalog,
// a lost WAL, catalog rows lost while their data files survive (issue 18, findings 1 and 2).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/record_file.hpp"
#include "store/store.hpp"
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

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

void remove_catalog(const fs::path& dir) {
  for (const char* f : {"catalog.db", "catalog.db-wal", "catalog.db-shm"}) fs::remove(dir / f);
}

// Writes half the pieces of `src` into a fetcher's store, plus one unpinned file added there.
struct fetcher_state {
  content_id file_id;
  std::uint64_t half = 0;
};
fetcher_state fill_fetcher(const temp_dir& dir, const source_content& src) {
  fetcher_state st;
  auto s = store::open(dir / "fetcher");
  SHOAL_ASSERT(s.ok());
  auto partial = (*s)->open_partial(src.m, "src", src.piece_hashes);
  SHOAL_ASSERT(partial.ok());
  for (std::uint64_t i = 0; i < src.pieces.size(); i += 2, ++st.half)
    SHOAL_ASSERT((*partial)->write_piece(piece_index{i}, src.pieces[i]).ok());
  write_bytes(dir / "one.bin", pattern_bytes(300000, 7));
  auto added = (*s)->add(dir / "one.bin", false);
  SHOAL_ASSERT(added.ok());
  st.file_id = added->content.id;
  return st;
}

TEST(store_recovery, a_missing_catalog_beside_data_is_an_error_and_repair_brings_it_back) {
  temp_dir dir;
  const auto src = make_source(dir);  // pinned in dir/origin
  const fs::path origin = dir / "origin";
  const auto data = read_bytes(origin / "data" / src.id.str());
  for (bool truncate : {false, true}) {
    SCOPED_TRACE(truncate ? "catalog.db truncated to 0 bytes" : "catalog.db deleted");
    remove_catalog(origin);
    if (truncate) write_bytes(origin / "catalog.db", {});
    for (access mode : {access::read_write, access::read_only}) {
      auto s = store::open(origin, mode);
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(s.err().code, errc::store_corrupt);
      EXPECT_TRUE(contains(s.err().message, "store repair")) << s.err().message;
      EXPECT_TRUE(contains(s.err().message, "1 data file")) << s.err().message;
    }
    // Nothing was touched.
    EXPECT_EQ(read_bytes(origin / "data" / src.id.str()), data);
    EXPECT_EQ(fs::exists(origin / "catalog.db"), truncate);

    auto report = store::repair(origin);
    ASSERT_TRUE(report.ok()) << report.err().message;
    ASSERT_EQ(report->contents.size(), 1u);
    EXPECT_TRUE(report->contents[0].content.complete());
    EXPECT_TRUE(report->contents[0].content.pinned);
    EXPECT_EQ(report->contents[0].content.name, "src");
    EXPECT_EQ(report->old_catalog.empty(), !truncate);
    auto s = store::open(origin);
    ASSERT_TRUE(s.ok()) << s.err().message;
    ASSERT_TRUE((*s)->export_to(src.id, dir / (truncate ? "out2" : "out1")).ok());
    EXPECT_EQ(read_bytes(dir / (truncate ? "out2" : "out1") / "big.bin"),
              read_bytes(dir / "src/big.bin"));
    EXPECT_EQ((*s)->remove(src.id).err().code, errc::pinned);
  }
}

TEST(store_recovery, a_damaged_catalog_names_the_repair_and_repair_keeps_it_aside) {
  temp_dir dir;
  const auto src = make_source(dir);
  const fs::path origin = dir / "origin";
  remove_catalog(origin);
  write_bytes(origin / "catalog.db", pattern_bytes(8192, 3));  // not a database
  auto s = store::open(origin);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.err().code, errc::store_corrupt);
  EXPECT_TRUE(contains(s.err().message, "store repair")) << s.err().message;
  auto report = store::repair(origin);
  ASSERT_TRUE(report.ok()) << report.err().message;
  ASSERT_EQ(report->contents.size(), 1u);
  EXPECT_EQ(read_bytes(report->old_catalog), pattern_bytes(8192, 3));
  EXPECT_FALSE(report->notes.empty());  // the old catalog could not be read
  auto again = store::open(origin);
  ASSERT_TRUE(again.ok()) << again.err().message;
  EXPECT_TRUE((*(*again)->info(src.id)).complete());
}

TEST(store_recovery, rows_lost_from_the_catalog_are_adopted_with_their_verified_pieces) {
  temp_dir dir;
  const auto src = make_source(dir);
  const auto st = fill_fetcher(dir, src);
  {
    // The last commits lost: both rows gone, every data file and record still there.
    auto cat = catalog::open(dir / "fetcher" / "catalog.db");
    ASSERT_TRUE(cat.ok());
    ASSERT_TRUE((*cat)->erase(src.id).ok());
    ASSERT_TRUE((*cat)->erase(st.file_id).ok());
  }
  auto s = store::open(dir / "fetcher");
  ASSERT_TRUE(s.ok()) << s.err().message;
  ASSERT_EQ((*s)->warnings().size(), 2u);
  EXPECT_TRUE(contains((*s)->warnings()[0], "adopted")) << (*s)->warnings()[0];
  const auto partial = *(*s)->info(src.id);
  EXPECT_EQ(partial.have_count, st.half);
  EXPECT_FALSE(partial.pinned);
  const auto file = *(*s)->info(st.file_id);
  EXPECT_TRUE(file.complete());
  EXPECT_EQ(file.name, "one.bin");
  ASSERT_TRUE((*s)->export_to(st.file_id, dir / "one.out").ok());
  EXPECT_EQ(read_bytes(dir / "one.out"), pattern_bytes(300000, 7));
  // The adopted partial resumes from exactly the pieces that verified.
  auto resumed = (*s)->open_partial(src.m, "src", src.piece_hashes);
  ASSERT_TRUE(resumed.ok()) << resumed.err().message;
  for (std::uint64_t i = 0; i < src.pieces.size(); ++i)
    EXPECT_EQ((*resumed)->have().contains(piece_index{i}), i % 2 == 0) << "piece " << i;
}

TEST(store_recovery, a_wal_deleted_after_a_kill_loses_no_data_file) {
  temp_dir dir;
  const auto src = make_source(dir);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto s = store::open(dir / "fetcher");
    if (!s) ::_exit(2);
    auto partial = (*s)->open_partial(src.m, "src", src.piece_hashes);
    if (!partial) ::_exit(3);
    for (std::uint64_t i = 0; i < 3; ++i)
      if (!(*partial)->write_piece(piece_index{i}, src.pieces[i])) ::_exit(4);
    ::raise(SIGKILL);
    ::_exit(5);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  // Every commit of the fetch lived in the WAL; an operator deletes it.
  ASSERT_TRUE(fs::exists(dir / "fetcher/catalog.db-wal"));
  fs::remove(dir / "fetcher/catalog.db-wal");
  fs::remove(dir / "fetcher/catalog.db-shm");
  auto s = store::open(dir / "fetcher");
  ASSERT_TRUE(s.ok()) << s.err().message;
  EXPECT_TRUE(fs::exists(dir / "fetcher/data" / src.id.str()));
  auto info = (*s)->info(src.id);
  ASSERT_TRUE(info.ok()) << info.err().message;
  EXPECT_EQ(info->have_count, 3u);
}

TEST(store_recovery, a_data_file_nothing_describes_is_quarantined_not_deleted) {
  temp_dir dir;
  const auto src = make_source(dir);
  const fs::path origin = dir / "origin";
  const auto data = read_bytes(origin / "data" / src.id.str());
  remove_catalog(origin);
  fs::remove(origin / "meta" / src.id.str());
  auto report = store::repair(origin);
  ASSERT_TRUE(report.ok()) << report.err().message;
  EXPECT_TRUE(report->contents.empty());
  ASSERT_EQ(report->quarantined.size(), 1u);
  EXPECT_EQ(read_bytes(report->quarantined[0]), data);
  auto s = store::open(origin);
  ASSERT_TRUE(s.ok()) << s.err().message;
  EXPECT_TRUE((*s)->list()->empty());
  EXPECT_EQ(read_bytes(report->quarantined[0]), data);  // and still there after an open
}

// A damaged record goes to quarantine with its data file rather than being swept as a record
// without data (found reading the change: the sweep deleted it).
TEST(store_recovery, a_damaged_record_is_quarantined_with_its_data_file) {
  temp_dir dir;
  const auto src = make_source(dir);
  const fs::path origin = dir / "origin";
  auto record = read_bytes(origin / "meta" / src.id.str());
  record[record.size() / 2] ^= 0x01;
  write_bytes(origin / "meta" / src.id.str(), record);
  {
    auto cat = catalog::open(origin / "catalog.db");
    ASSERT_TRUE(cat.ok());
    ASSERT_TRUE((*cat)->erase(src.id).ok());
  }
  for (int open = 0; open < 2; ++open) {
    auto s = store::open(origin);
    ASSERT_TRUE(s.ok()) << s.err().message;
  }
  const fs::path kept = origin / "quarantine" / src.id.str();
  EXPECT_TRUE(fs::exists(kept));
  EXPECT_EQ(read_bytes(fs::path(kept) += ".record"), record);
  EXPECT_FALSE(fs::exists(origin / "meta" / src.id.str()));
}

TEST(store_recovery, repair_rewrites_a_damaged_record_from_a_readable_old_catalog) {
  temp_dir dir;
  const auto src = make_source(dir);
  const fs::path origin = dir / "origin";
  auto record = read_bytes(origin / "meta" / src.id.str());
  record[record.size() / 2] ^= 0x01;
  write_bytes(origin / "meta" / src.id.str(), record);
  auto report = store::repair(origin);
  ASSERT_TRUE(report.ok()) << report.err().message;
  EXPECT_TRUE(report->quarantined.empty());
  ASSERT_EQ(report->contents.size(), 1u);
  EXPECT_TRUE(report->contents[0].content.complete());
  EXPECT_TRUE(report->contents[0].content.pinned);
  EXPECT_TRUE(read_record_file(origin / "meta", src.id).ok());
}

TEST(store_recovery, a_store_without_records_gets_them_at_open_and_repair_keeps_its_pins) {
  temp_dir dir;
  const auto src = make_source(dir);
  const fs::path origin = dir / "origin";
  fs::remove_all(origin / "meta");  // as a store written before record files existed
  { ASSERT_TRUE(store::open(origin).ok()); }
  auto rec = read_record_file(origin / "meta", src.id);
  ASSERT_TRUE(rec.ok()) << rec.err().message;
  EXPECT_TRUE(rec->pinned);
  EXPECT_EQ(rec->name, "src");
  // Unpinning reaches the record, so a repair follows it.
  { ASSERT_TRUE((*store::open(origin))->set_pinned(src.id, false).ok()); }
  EXPECT_FALSE(read_record_file(origin / "meta", src.id)->pinned);
  auto report = store::repair(origin);
  ASSERT_TRUE(report.ok()) << report.err().message;
  ASSERT_EQ(report->contents.size(), 1u);
  EXPECT_FALSE(report->contents[0].content.pinned);
}

TEST(store_recovery, an_interrupted_remove_never_brings_the_content_back) {
  temp_dir dir;
  const auto src = make_source(dir);
  const fs::path origin = dir / "origin";
  {
    auto s = store::open(origin);
    ASSERT_TRUE((*s)->set_pinned(src.id, false).ok());
    ASSERT_TRUE((*s)->remove(src.id).ok());
  }
  EXPECT_FALSE(fs::exists(origin / "meta" / src.id.str()));
  EXPECT_FALSE(fs::exists(origin / "data" / src.id.str()));
  // A record left behind without its data (a crash inside remove) describes nothing.
  write_bytes(origin / "meta" / src.id.str(), read_bytes(dir / "src/big.bin"));
  auto s = store::open(origin);
  ASSERT_TRUE(s.ok()) << s.err().message;
  EXPECT_TRUE((*s)->list()->empty());
  EXPECT_FALSE(fs::exists(origin / "meta" / src.id.str()));
}

TEST(record_file, round_trips_and_refuses_damage) {
  temp_dir dir;
  const auto src = make_source(dir);
  auto rec = read_record_file(dir / "origin" / "meta", src.id);
  ASSERT_TRUE(rec.ok()) << rec.err().message;
  const auto bytes = encode_record(*rec);
  ASSERT_TRUE(decode_record(src.id, bytes).ok());
  // Every single-byte change is refused: the checksum, or a check behind it.
  for (std::size_t i = 0; i < bytes.size(); i += 7) {
    auto damaged = bytes;
    damaged[i] ^= 0x20;
    EXPECT_FALSE(decode_record(src.id, damaged).ok()) << "byte " << i;
  }
  for (std::size_t n : {std::size_t{0}, std::size_t{10}, bytes.size() - 1})
    EXPECT_EQ(decode_record(src.id, byte_span(bytes.data(), n)).err().code, errc::store_corrupt);
  // Another content's record, even intact, is not this one's.
  auto other = content_id::parse("sh1" + std::string(52, 'a'));
  if (other.ok()) {
    EXPECT_FALSE(decode_record(*other, bytes).ok());
  }
}

}  // namespace
}  // namespace shoal::store
