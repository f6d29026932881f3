// The test vectors of docs/protocol/content.md, computed independently by
// docs/protocol/content_vectors.py. If one of these changes, the content format changed.
#include <gtest/gtest.h>

#include <cstring>

#include "core/merkle.hpp"
#include "shoal/manifest.hpp"
#include "support/test_dir.hpp"

namespace shoal {
namespace {

std::vector<std::uint8_t> pattern(std::size_t n) {
  return testing::mod251_bytes(n);
}

hash256 root_of(byte_span data) {
  crypto::sha256_hasher h;
  std::vector<hash256> pieces;
  for (std::size_t off = 0; off < data.size(); off += merkle::piece_size)
    pieces.push_back(merkle::piece_hash(
        h, data.subspan(off, std::min<std::size_t>(merkle::piece_size, data.size() - off))));
  return merkle::root_from_pieces(h, pieces, data.size());
}

manifest_entry file_entry(std::string path, byte_span data, bool exec = false) {
  manifest_entry e;
  e.path = std::move(path);
  e.size = data.size();
  e.root = root_of(data);
  e.executable = exec;
  return e;
}

manifest_entry dir_entry(std::string path) {
  manifest_entry e;
  e.type = entry_type::directory;
  e.path = std::move(path);
  return e;
}

byte_span text(const char* s) {
  return byte_span(reinterpret_cast<const std::uint8_t*>(s), std::strlen(s));
}

TEST(content_vectors, file_roots) {
  EXPECT_TRUE(root_of({}).is_zero());
  EXPECT_EQ(root_of(text("abc")).hex(),
            "4cce399bc8d08520887a707c8882b5fd553fe54a18abae349005f613b5e56ada");
  EXPECT_EQ(root_of(pattern(16384)).hex(),
            "f8defb82e34aed7f127452f64d8aa78956cf34dbf470ab4824647434dc712df9");
  EXPECT_EQ(root_of(pattern(16385)).hex(),
            "0b96353be53a74706ac4c1f52d40c066406d1fed948760ce5fa24a7fba164358");
  EXPECT_EQ(root_of(pattern(262144)).hex(),
            "d33d490cd019060ebe50c6fbb044a1370596f6eff6c36f2e943821c3f65b67be");
  EXPECT_EQ(root_of(pattern(1000000)).hex(),
            "2c09f00347d01954cbb7d0df0b24952f0793ded10f1dd5fe41e62cf159b1dc9a");
  EXPECT_EQ(root_of(pattern(2 * 262144 + 1)).hex(),
            "edb41db7c65d30fbf82d4a34e2952fa6872035cca4e03a393a7ed30ddd4bda73");
}

TEST(content_vectors, content_ids) {
  manifest single{root_kind::file, {file_entry("", text("hello\n"))}};
  EXPECT_EQ(encode(single).size(), 54u);
  EXPECT_EQ(id_of(single).str(), "sh1andeydzakwd7foi3cuqsuek3c56aukm6pi777ia6lrc3vtrrixna");

  const auto data = pattern(1000000);
  manifest tree;
  tree.entries = {file_entry("a.txt", text("hello\n")),
                  file_entry("empty", {}),
                  file_entry("run.sh", text("#!/bin/sh\necho hi\n"), true),
                  dir_entry("sub"),
                  dir_entry("sub/deep"),
                  file_entry("sub/deep/data.bin", data),
                  dir_entry("sub/empty_dir")};
  EXPECT_EQ(encode(tree).size(), 255u);
  EXPECT_EQ(id_of(tree).str(), "sh1lubcx2ztnpvl5bjn3kl32zjhi2r6wictswu3eivgcrlp4wpv4laa");

  manifest empty_dir;
  const auto bytes = encode(empty_dir);
  EXPECT_EQ(bytes, (std::vector<std::uint8_t>{0x53, 0x48, 0x4d, 0x46, 0x01, 0x02, 0, 0, 0, 0}));
  EXPECT_EQ(id_of(empty_dir).str(), "sh1h3oao3mkcjudzc5tpg7nx2m6phevymwkmlimseld33rbyyz66aaq");
}

// content.md 9.7: a link and modes, in format version 2.
TEST(content_vectors, links_and_modes_version_2) {
  manifest tree;
  auto tool = file_entry("bin/tool", text("#!/bin/sh\necho tool\n"), true);
  tool.mode = 0750;
  auto conf = dir_entry("conf");
  conf.mode = 0700;
  auto key = file_entry("conf/secret.key", byte_span(std::vector<std::uint8_t>(32, 'k')));
  key.mode = 0600;
  manifest_entry latest;
  latest.type = entry_type::symlink;
  latest.path = "latest";
  latest.target = "bin/tool";
  tree.entries = {
      dir_entry("bin"), tool, conf, key, latest, file_entry("readme.txt", text("hello\n"))};
  const auto bytes = encode(tree);
  EXPECT_EQ(bytes.size(), 216u);
  EXPECT_EQ(bytes[4], 2);
  EXPECT_EQ(id_of(tree).str(), "sh1aubm5wf5z5rznuik7kg23silv4mfsohbpqlpaoo4m2oqq4r4qj6a");
  auto back = decode_manifest(bytes);
  ASSERT_TRUE(back.ok()) << back.err().message;
  EXPECT_EQ(*back, tree);
}

}  // namespace
}  // namespace shoal
