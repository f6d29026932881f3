#include "shoal/manifest.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/merkle.hpp"
#include "core/path_rules.hpp"

namespace shoal {
namespace {

hash256 some_root(std::uint8_t seed) {
  hash256 h;
  h.bytes.fill(seed);
  return h;
}

manifest_entry dir(std::string path) {
  manifest_entry e;
  e.type = entry_type::directory;
  e.path = std::move(path);
  return e;
}

manifest_entry file(std::string path, std::uint64_t size, bool exec = false) {
  manifest_entry e;
  e.type = entry_type::file;
  e.path = std::move(path);
  e.size = size;
  e.executable = exec;
  if (size > 0) e.root = some_root(static_cast<std::uint8_t>(size % 250 + 1));
  return e;
}

manifest sample() {
  manifest m;
  m.kind = root_kind::directory;
  m.entries = {file("a.txt", 6),    file("empty", 0), file("run.sh", 18, true),
               dir("sub"),          dir("sub/deep"),  file("sub/deep/data.bin", 1000000),
               dir("sub/empty_dir")};
  return m;
}

TEST(manifest, round_trips_and_is_canonical) {
  const manifest m = sample();
  ASSERT_TRUE(validate(m).ok());
  const auto bytes = encode(m);
  auto back = decode_manifest(bytes);
  ASSERT_TRUE(back.ok()) << back.err().message;
  EXPECT_EQ(*back, m);
  EXPECT_EQ(encode(*back), bytes);
  EXPECT_EQ(id_of(*back), id_of(m));
}

TEST(manifest, single_file) {
  manifest m;
  m.kind = root_kind::file;
  m.entries = {file("", 5)};
  ASSERT_TRUE(validate(m).ok());
  m.entries[0].path = "name";
  EXPECT_EQ(validate(m).err().code, errc::invalid_manifest);
  m.entries = {file("", 5), file("", 6)};
  EXPECT_FALSE(validate(m).ok());
}

TEST(manifest, empty_directory_is_valid) {
  manifest m;
  EXPECT_TRUE(validate(m).ok());
  EXPECT_TRUE(decode_manifest(encode(m)).ok());
}

TEST(manifest, rejects_broken_trees) {
  auto expect_invalid = [](std::vector<manifest_entry> entries, const char* why) {
    manifest m;
    m.entries = std::move(entries);
    auto r = validate(m);
    EXPECT_FALSE(r.ok()) << why;
    if (!r.ok()) {
      EXPECT_FALSE(r.err().message.empty());
    }
  };
  expect_invalid({file("b", 1), file("a", 1)}, "unsorted");
  expect_invalid({file("a", 1), file("a", 1)}, "duplicate");
  expect_invalid({file("a/b", 1)}, "missing parent");
  expect_invalid({file("a", 1), file("a/b", 1)}, "parent is a file");
  expect_invalid({file("/etc/passwd", 1)}, "absolute");
  expect_invalid({dir("a"), file("a/../../x", 1)}, "dot-dot");
  expect_invalid({file("..", 1)}, "dot-dot alone");
  expect_invalid({file("./a", 1)}, "dot");
  expect_invalid({file("a//b", 1)}, "empty component");
  expect_invalid({file("", 1)}, "empty path in a directory");
  auto zero_root = file("z", 5);
  zero_root.root = hash256{};
  expect_invalid({zero_root}, "non-empty file with zero root");
  auto empty_with_root = file("e", 0);
  empty_with_root.root = some_root(1);
  expect_invalid({empty_with_root}, "empty file with a root");
  auto exec_dir = dir("d");
  exec_dir.executable = true;
  expect_invalid({exec_dir}, "executable directory");
  expect_invalid({file("huge", file_size_max + 1)}, "too large");
}

TEST(manifest, encoded_size_is_bounded_before_encoding) {
  // 18,000 entries with ~3,800-byte paths would encode to about 66 MiB, over the 64 MiB limit
  // that every decoder enforces, so validate() must refuse to produce such a manifest.
  manifest m;
  const std::string dir_name(250, 'd');
  std::string prefix;
  for (int level = 0; level < 15; ++level) {
    prefix += (level ? "/" : "") + dir_name;
    m.entries.push_back(dir(prefix));
  }
  for (int i = 0; i < 18000; ++i) {
    char name[16];
    std::snprintf(name, sizeof(name), "%08d", i);
    m.entries.push_back(file(prefix + "/" + name, 0));
  }
  auto r = validate(m);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.err().code, errc::limit_exceeded);
  EXPECT_NE(r.err().message.find("64 MiB"), std::string::npos);
}

TEST(manifest, decoder_rejects_every_truncation) {
  const auto bytes = encode(sample());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    auto r = decode_manifest(byte_span(bytes.data(), n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes decoded";
    EXPECT_FALSE(r.err().message.empty());
  }
}

TEST(manifest, decoder_rejects_bad_fields) {
  const auto good = encode(sample());
  auto with = [&](std::size_t at, std::uint8_t v) {
    auto b = good;
    b[at] = v;
    return decode_manifest(b);
  };
  EXPECT_EQ(with(0, 'X').err().code, errc::invalid_manifest);  // magic
  EXPECT_EQ(with(4, 3).err().code, errc::unsupported);         // version
  // Version 2 is known, but these bytes are a version-1 layout: not a valid version 2.
  EXPECT_EQ(with(4, 2).err().code, errc::invalid_manifest);
  EXPECT_EQ(with(5, 9).err().code, errc::invalid_manifest);      // kind
  EXPECT_EQ(with(10, 7).err().code, errc::invalid_manifest);     // first entry's type
  EXPECT_EQ(with(11, 0x02).err().code, errc::invalid_manifest);  // undefined flag
  auto trailing = good;
  trailing.push_back(0);
  EXPECT_NE(decode_manifest(trailing).err().message.find("trailing"), std::string::npos);
  auto huge_count = good;
  huge_count[6] = 0xFF;
  EXPECT_EQ(decode_manifest(huge_count).err().code, errc::limit_exceeded);
  auto more_than_present = good;
  more_than_present[8] = 0x10;  // count 0x1007: within the limit but far beyond the bytes
  EXPECT_EQ(decode_manifest(more_than_present).err().code, errc::invalid_manifest);
}

manifest_entry link(std::string path, std::string target) {
  manifest_entry e;
  e.type = entry_type::symlink;
  e.path = std::move(path);
  e.target = std::move(target);
  return e;
}

// Issue 22, item 11: symbolic links and permission bits, in format version 2.
TEST(manifest, links_and_modes_round_trip_in_version_2_and_plain_trees_stay_version_1) {
  EXPECT_EQ(encode(sample())[4], 1);  // nothing new in it: its ID is what it was
  manifest m = sample();
  auto secret = file("secret.key", 32);
  secret.mode = 0600;
  auto shared = dir("shared");
  shared.mode = 0775;
  m.entries.push_back(secret);
  m.entries.push_back(shared);
  m.entries.push_back(link("shared/latest", "../sub/deep/data.bin"));
  std::sort(m.entries.begin(), m.entries.end(),
            [](const auto& a, const auto& b) { return a.path < b.path; });
  ASSERT_TRUE(validate(m).ok()) << validate(m).err().message;
  const auto bytes = encode(m);
  EXPECT_EQ(bytes[4], 2);
  auto back = decode_manifest(bytes);
  ASSERT_TRUE(back.ok()) << back.err().message;
  EXPECT_EQ(*back, m);
  EXPECT_EQ(mode_of(m.entries[0]), 0644);  // a.txt, the default
  // Through the link, to the file it names.
  auto at = resolve(m, "shared/latest");
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(m.entries[*at].path, "sub/deep/data.bin");
  // Every prefix of the version-2 encoding is refused, as for version 1.
  for (std::size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(decode_manifest(byte_span(bytes.data(), n)).ok()) << n;
}

TEST(manifest, links_that_leave_the_tree_or_loop_are_refused_and_the_rest_kept) {
  const auto check = [](std::vector<manifest_entry> entries) {
    manifest m;
    m.entries = std::move(entries);
    std::sort(m.entries.begin(), m.entries.end(),
              [](const auto& a, const auto& b) { return a.path < b.path; });
    return validate(m);
  };
  EXPECT_FALSE(check({link("up", "..")}).ok());
  EXPECT_FALSE(check({dir("a"), link("a/x", "../../etc/passwd")}).ok());
  EXPECT_FALSE(check({link("abs", "/etc/passwd")}).ok());
  EXPECT_FALSE(check({link("empty", "")}).ok());
  EXPECT_FALSE(check({link("slashes", "a//b")}).ok());
  // Through another link: a/up leads to the top, so a/up/.. would be above it.
  const auto via = check({dir("a"), link("a/up", ".."), link("x", "a/up/..")});
  ASSERT_FALSE(via.ok());
  EXPECT_NE(via.err().message.find("out of the tree"), std::string::npos) << via.err().message;
  const auto loop = check({link("p", "q/x"), link("q", "p")});
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.err().message.find("links"), std::string::npos) << loop.err().message;
  // Kept: a dangling link inside, a link to a directory, an npm workspace's links.
  EXPECT_TRUE(check({link("dangling", "not-there")}).ok());
  EXPECT_TRUE(check({dir("a"), link("a/here", "."), link("top", "a")}).ok());
  const auto npm =
      check({dir("node_modules"), dir("node_modules/.bin"), dir("packages"), dir("packages/pkg"),
             dir("packages/pkg/bin"), file("packages/pkg/bin/cmd.js", 10),
             link("node_modules/pkg", "../packages/pkg"),
             link("node_modules/.bin/cmd", "../pkg/bin/cmd.js")});
  EXPECT_TRUE(npm.ok()) << npm.err().message;
  // A mode equal to the default is not written (one tree, one encoding), nor a link's mode.
  auto f = file("f", 1);
  f.mode = 0644;
  EXPECT_FALSE(check({f}).ok());
  auto l = link("l", "f");
  l.mode = 0777;
  EXPECT_FALSE(check({file("f", 1), l}).ok());
  auto exec = file("x", 1, true);
  exec.mode = 0700;
  EXPECT_TRUE(check({exec}).ok());
  exec.mode = 0600;  // says not executable while the bit says it is
  EXPECT_FALSE(check({exec}).ok());
}

TEST(content_layout, numbers_pieces_across_files) {
  manifest m;
  m.entries = {file("a", merkle::piece_size + 1), file("b", 0), dir("d"), file("d/c", 10)};
  content_layout layout(m);
  ASSERT_EQ(layout.files().size(), 3u);
  EXPECT_EQ(layout.piece_count(), 3u);
  EXPECT_EQ(layout.total_size(), merkle::piece_size + 11);
  EXPECT_EQ(layout.files()[2].data_offset, merkle::piece_size + 1);
  auto second = layout.locate(piece_index{1});
  EXPECT_EQ(second.file, 0u);
  EXPECT_EQ(second.offset_in_file, merkle::piece_size);
  EXPECT_EQ(second.length, 1u);
  auto third = layout.locate(piece_index{2});
  EXPECT_EQ(third.file, 2u);
  EXPECT_EQ(third.length, 10u);
}

TEST(content_id, text_form_round_trips) {
  const content_id id = id_of(sample());
  const std::string text = id.str();
  EXPECT_EQ(text.size(), content_id::text_size);
  EXPECT_EQ(text.substr(0, 3), "sh1");
  auto back = content_id::parse(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, id);
}

TEST(content_id, parse_names_what_is_wrong) {
  const std::string good = id_of(sample()).str();
  EXPECT_NE(content_id::parse("hello").err().message.find("not a content ID"), std::string::npos);
  EXPECT_EQ(content_id::parse("sh2" + good.substr(3)).err().code, errc::unsupported);
  EXPECT_NE(content_id::parse(good.substr(0, 54)).err().message.find("54 characters"),
            std::string::npos);
  EXPECT_NE(content_id::parse(good.substr(0, 54) + "A").err().message.find("'A'"),
            std::string::npos);
  // The last character carries 1 bit of the digest and 4 padding bits that must be zero, so it
  // is always 'a' or 'q'; 'b' sets a padding bit.
  ASSERT_TRUE(good.back() == 'a' || good.back() == 'q');
  std::string noncanonical = good;
  noncanonical.back() = 'b';
  EXPECT_NE(content_id::parse(noncanonical).err().message.find("canonical"), std::string::npos);
  EXPECT_FALSE(content_id::parse(good.substr(0, 54) + "7").ok());
}

TEST(path_rules, accepts_and_rejects) {
  using path_rules::check_relative;
  EXPECT_TRUE(check_relative("a").ok());
  EXPECT_TRUE(check_relative("dir/sub/file.tar.gz").ok());
  EXPECT_TRUE(check_relative("caf\xc3\xa9/\xe2\x82\xac").ok());  // UTF-8
  EXPECT_TRUE(check_relative("...").ok());                       // only "." and ".." are special
  for (const char* bad :
       {"", "/abs", "a/", "a//b", ".", "..", "a/..", "../a", "a/./b", "a\\b", "tab\there", "nl\n",
        "\xff", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    auto r = check_relative(bad);
    EXPECT_FALSE(r.ok()) << "accepted \"" << bad << "\"";
    if (!r.ok()) {
      EXPECT_EQ(r.err().code, errc::invalid_path);
    }
  }
  EXPECT_FALSE(check_relative(std::string(256, 'x')).ok());
  EXPECT_TRUE(check_relative(std::string(255, 'x')).ok());
  std::string deep;
  for (int i = 0; i < 129; ++i) deep += i ? "/d" : "d";
  EXPECT_FALSE(check_relative(deep).ok());
  EXPECT_NE(check_relative("a/../../etc").err().message.find("escape"), std::string::npos);
  EXPECT_NE(check_relative("/etc/passwd").err().message.find("absolute"), std::string::npos);
}

}  // namespace
}  // namespace shoal
