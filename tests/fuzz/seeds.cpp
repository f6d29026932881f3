// Writes the fuzzers' starting corpora into a directory:
//   shoal_fuzz_seeds DIR        valid manifests and content IDs (shoal_manifest_fuzz)
//   shoal_fuzz_seeds wire DIR   valid frames of every wire message type (shoal_wire_fuzz)
//   shoal_fuzz_seeds revocations DIR   valid revocation lists (shoal_revocation_fuzz)
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "core/revocation.hpp"
#include "core/wire.hpp"
#include "shoal/manifest.hpp"

namespace {

void write_file(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

// Lists of 0, 1 and 3 entries signed by the fuzz target's key (revocation_fuzz.cpp).
int revocation_seeds(const std::string& dir) {
  using namespace shoal;
  crypto::ed25519_seed s{};
  s.fill(0x42);
  const auto key = crypto::ed25519_signer::from_seed(s);
  if (!key) return 1;
  for (std::size_t n : {0, 1, 3}) {
    revocation_list l;
    l.network = "acme";
    l.serial = n + 1;
    l.issued_at = 1'800'000'000;
    for (std::size_t i = 0; i < n; ++i) {
      hash256 h;
      h.bytes[0] = static_cast<std::uint8_t>(i);
      l.entries.push_back({node_id{h}, 1'800'000'000, i == 1 ? "" : "key lost"});
    }
    write_file(dir + "/r" + std::to_string(n), encode(sign(l, *key)));
  }
  return 0;
}

// One seed per message (read in one piece), one stream of all of them read a byte at a time and
// one read in uneven chunks. The header layout is described in wire_fuzz.cpp.
int wire_seeds(const std::string& dir) {
  using namespace shoal;
  using namespace shoal::wire;
  content_id c;
  for (std::uint8_t i = 0; i < 32; ++i) c.digest.bytes[i] = i;
  hash256 h;
  h.bytes.fill(0x5a);
  const block_ref ref{c, piece_index{2}, 3};
  const std::vector<std::uint8_t> small{'a', 'b', 'c', 0, 0xff};
  const std::vector<message> messages = {
      hello{1, 1, 64, 7000, "shoal/0.1"},
      keepalive{},
      goodbye{reason::bad_block, "bad block piece 2 block 3"},
      get_manifest{c, 0},
      manifest_part{c, 300, 0, "model.bin", std::vector<std::uint8_t>(50, 0x11)},
      manifest_part{c, 300, 100, {}, std::vector<std::uint8_t>(50, 0x11)},
      get_hashes{c, piece_index{0}, 3},
      hashes{c, piece_index{5}, {h, h, h}},
      bitfield{c, 20, {0xa4, 0xff, 0xf0}},
      have{c, piece_index{7}},
      request{ref},
      block{ref, {h, h, h, h}, small},
      cancel{ref},
      reject{request_kind::block, ref, reason::unavailable, "not yet"},
      reject{request_kind::manifest, block_ref{c, piece_index{0}, 0}, reason::not_found, ""},
      peers{c,
            {peer_entry{node_id{h}, false, {10, 77, 0, 2}, 7000},
             peer_entry{
                 node_id{h}, true, {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 7001}}},
      dht_query{1, dht_kind::get_providers, h},
      dht_nodes{2,
                true,
                false,
                {peer_entry{node_id{h}, false, {10, 77, 0, 3}, 7420}},
                {provider_entry{peer_entry{node_id{h}, false, {10, 77, 0, 4}, 7420}, true}}},
      dht_announce{3, c, false},
      dht_ack{3, reason::overloaded},
      revocations{small},
  };
  std::vector<std::uint8_t> all;
  int n = 0;
  for (const auto& m : messages) {
    std::vector<std::uint8_t> seed{0};
    encode(m, seed);
    encode(m, all);
    write_file(dir + "/w" + std::to_string(n++), seed);
  }
  std::vector<std::uint8_t> bytewise{1, 0};
  bytewise.insert(bytewise.end(), all.begin(), all.end());
  write_file(dir + "/w-bytewise", bytewise);
  std::vector<std::uint8_t> chunked{3, 6, 40, 200};
  chunked.insert(chunked.end(), all.begin(), all.end());
  write_file(dir + "/w-chunked", chunked);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "wire") == 0) return wire_seeds(argv[2]);
  if (argc == 3 && std::strcmp(argv[1], "revocations") == 0) return revocation_seeds(argv[2]);
  if (argc != 2) return 2;
  using namespace shoal;
  auto file_entry = [](std::string path, std::uint64_t size, bool exec) {
    manifest_entry e;
    e.path = std::move(path);
    e.size = size;
    e.executable = exec;
    if (size) e.root.bytes.fill(static_cast<std::uint8_t>(size));
    return e;
  };
  manifest single{root_kind::file, {file_entry("", 6, false)}};
  manifest tree;
  manifest_entry d;
  d.type = entry_type::directory;
  d.path = "sub";
  tree.entries = {file_entry("a", 1, true), file_entry("b", 0, false), d,
                  file_entry("sub/c", 300000, false)};
  // Version 2: a link (through another, to reach its file) and explicit modes.
  manifest v2 = tree;
  v2.entries[1].mode = 0600;
  manifest_entry up;
  up.type = entry_type::symlink;
  up.path = "sub/up";
  up.target = "..";
  manifest_entry via;
  via.type = entry_type::symlink;
  via.path = "sub/via";
  via.target = "up/a";
  v2.entries.push_back(up);
  v2.entries.push_back(via);
  int n = 0;
  for (const manifest& m : {single, tree, manifest{}, v2}) {
    const auto bytes = encode(m);
    std::ofstream(std::string(argv[1]) + "/m" + std::to_string(n++), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    std::ofstream(std::string(argv[1]) + "/id" + std::to_string(n)) << id_of(m).str();
  }
  return 0;
}
