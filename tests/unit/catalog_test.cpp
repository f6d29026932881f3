#include "store/catalog.hpp"

#include <gtest/gtest.h>

#include "support/test_dir.hpp"

namespace shoal::store {
namespace {

content_record sample_record() {
  content_record r;
  hash256 digest;
  digest.bytes.fill(7);
  r.summary.id = content_id{digest};
  r.summary.name = "release-42";
  r.summary.kind = root_kind::directory;
  r.summary.total_size = 1000;
  r.summary.file_count = 2;
  r.summary.piece_count = 2;
  r.summary.have_count = 1;
  r.summary.added_at = 1700000000;
  r.manifest_bytes = {1, 2, 3};
  r.piece_hashes.resize(2);
  r.piece_hashes[1].bytes.fill(9);
  r.have = {0x80};
  return r;
}

TEST(catalog, stores_and_finds_content) {
  testing::temp_dir dir;
  auto cat = catalog::open(dir / "catalog.db");
  ASSERT_TRUE(cat.ok()) << cat.err().message;
  const auto rec = sample_record();
  ASSERT_TRUE((*cat)->put(rec).ok());
  auto found = (*cat)->find(rec.summary.id);
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->summary.name, "release-42");
  EXPECT_EQ((*found)->piece_hashes, rec.piece_hashes);
  EXPECT_EQ((*found)->have, rec.have);
  EXPECT_FALSE((*found)->summary.complete());

  ASSERT_TRUE((*cat)->set_have(rec.summary.id, {0xC0}, 2).ok());
  ASSERT_TRUE((*cat)->set_pinned(rec.summary.id, true).ok());
  auto all = (*cat)->list();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_TRUE(all->front().complete());
  EXPECT_TRUE(all->front().pinned);

  ASSERT_TRUE((*cat)->erase(rec.summary.id).ok());
  EXPECT_FALSE((*cat)->find(rec.summary.id)->has_value());
  EXPECT_EQ((*cat)->set_pinned(rec.summary.id, true).err().code, errc::not_found);
}

TEST(catalog, survives_reopen) {
  testing::temp_dir dir;
  const auto rec = sample_record();
  {
    auto cat = catalog::open(dir / "catalog.db");
    ASSERT_TRUE(cat.ok());
    ASSERT_TRUE((*cat)->put(rec).ok());
  }
  auto cat = catalog::open(dir / "catalog.db");
  ASSERT_TRUE(cat.ok());
  EXPECT_TRUE((*cat)->find(rec.summary.id)->has_value());
}

TEST(catalog, refuses_what_it_cannot_read) {
  testing::temp_dir dir;
  testing::write_bytes(dir / "junk.db", testing::pattern_bytes(8192));
  auto junk = catalog::open(dir / "junk.db");
  ASSERT_FALSE(junk.ok());
  EXPECT_EQ(junk.err().code, errc::store_corrupt);
  EXPECT_NE(junk.err().message.find("junk.db"), std::string::npos);
  {
    auto cat = catalog::open(dir / "new.db");
    ASSERT_TRUE(cat.ok());
  }
  // A schema from a newer build is refused rather than misread.
  ASSERT_EQ(
      std::system(("sqlite3 " + (dir / "new.db").string() + " 'PRAGMA user_version=99'").c_str()),
      0);
  auto newer = catalog::open(dir / "new.db");
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.err().code, errc::unsupported);
}

}  // namespace
}  // namespace shoal::store
