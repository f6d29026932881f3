// Messages for the wire tests (wire_test.cpp, frame_reader_test.cpp): one sample of every message
// type, with its fields at interesting values, and small helpers to encode them.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "core/wire.hpp"
#include "shoal/manifest.hpp"

namespace shoal::wire::test_support {

using bytes = std::vector<std::uint8_t>;

inline std::string hex(const bytes& b) {
  std::string s;
  char buf[3];
  for (auto c : b) {
    std::snprintf(buf, sizeof buf, "%02x", c);
    s += buf;
  }
  return s;
}

inline bytes frame(const message& m) {
  bytes out;
  encode(m, out);
  return out;
}

inline bytes body(const message& m) {
  auto f = frame(m);
  return bytes(f.begin() + 4, f.end());
}

inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

inline content_id cid(std::uint8_t fill) {
  content_id c;
  c.digest.bytes.fill(fill);
  return c;
}

inline hash256 hsh(std::uint8_t fill) {
  hash256 h;
  h.bytes.fill(fill);
  return h;
}

inline block_ref ref(std::uint64_t piece, std::uint8_t blk, std::uint8_t fill = 0x11) {
  return block_ref{cid(fill), piece_index{piece}, blk};
}

inline bytes pattern(std::size_t n) {
  bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(i % 251);
  return b;
}

// Every message type, several with values at the edges of their ranges.
inline std::vector<message> samples() {
  std::vector<message> v;
  v.push_back(hello{1, 1, 1, 0, ""});
  v.push_back(hello{1, 0xFFFF, 0xFFFF, 0, std::string(max_agent, '~')});
  v.push_back(hello{protocol_version, protocol_version, 64, 0, " shoal/0.1 (x86_64) "});
  v.push_back(keepalive{});
  v.push_back(goodbye{reason::protocol_violation, ""});
  v.push_back(goodbye{reason::internal, std::string(max_reason, 'x')});
  v.push_back(goodbye{static_cast<reason>(0xFFFF), "caf\xc3\xa9 \xf0\x9f\x90\x9f"});
  v.push_back(get_manifest{cid(0), 0});
  v.push_back(get_manifest{cid(0xFF), manifest_bytes_max - 1});
  v.push_back(manifest_part{cid(1), 1, 0, {}, {0x42}});
  v.push_back(manifest_part{cid(1), 1, 0, "release-42.tar", {0x42}});
  v.push_back(manifest_part{cid(1), 1, 0, std::string(max_content_name, 'n'), {0x42}});
  v.push_back(manifest_part{cid(2),
                            manifest_bytes_max,
                            manifest_bytes_max - max_manifest_chunk,
                            {},
                            pattern(max_manifest_chunk)});
  v.push_back(manifest_part{cid(3), 1000, 10, {}, pattern(990)});
  v.push_back(get_hashes{cid(4), piece_index{0}, 1});
  v.push_back(get_hashes{cid(4), piece_index{piece_index_limit - max_hashes_per_message},
                         max_hashes_per_message});
  v.push_back(hashes{cid(5), piece_index{0}, {hsh(1)}});
  {
    hashes h{cid(5), piece_index{piece_index_limit - max_hashes_per_message}, {}};
    for (std::uint32_t i = 0; i < max_hashes_per_message; ++i)
      h.pieces.push_back(hsh(static_cast<std::uint8_t>(i)));
    v.push_back(std::move(h));
  }
  v.push_back(bitfield{cid(6), 1, {0x80}});
  v.push_back(bitfield{cid(6), 1, {0x00}});
  v.push_back(bitfield{cid(6), 6, {0xa4}});
  v.push_back(bitfield{cid(6), 16, {0xFF, 0x01}});
  v.push_back(bitfield{cid(6), max_bitfield_pieces, bytes(max_bitfield_pieces / 8, 0xFF)});
  v.push_back(have{cid(7), piece_index{0}});
  v.push_back(have{cid(7), piece_index{piece_index_limit - 1}});
  v.push_back(request{ref(0, 0)});
  v.push_back(request{ref(piece_index_limit - 1, blocks_per_piece - 1)});
  {
    block b{ref(3, 15), {hsh(1), hsh(2), hsh(3), hsh(4)}, {0x00}};
    v.push_back(b);
    b.ref = ref(piece_index_limit - 1, 0);
    b.data = pattern(max_block_data);
    v.push_back(b);
  }
  v.push_back(cancel{ref(9, 9)});
  v.push_back(reject{request_kind::manifest, ref(manifest_bytes_max - 1, 0), reason::not_found,
                     "no such content"});
  v.push_back(
      reject{request_kind::hashes, ref(piece_index_limit - 1, 0), static_cast<reason>(1234), ""});
  v.push_back(
      reject{request_kind::block, ref(5, 15), reason::overloaded, std::string(max_reason, 'y')});
  v.push_back(hello{1, 1, 8, 65535, "listening"});
  v.push_back(peers{cid(8), {peer_entry{node_id{hsh(9)}, false, {127, 0, 0, 1}, 1}}});
  {
    peers p{cid(8), {}};
    for (std::size_t i = 0; i < max_peers_per_message; ++i) {
      peer_entry e{node_id{hsh(static_cast<std::uint8_t>(i))}, i % 2 == 1, {}, 65535};
      e.ip[0] = static_cast<std::uint8_t>(i);
      if (e.ipv6) e.ip[15] = 1;
      p.entries.push_back(e);
    }
    v.push_back(std::move(p));
  }
  v.push_back(dht_query{0, dht_kind::find_node, hsh(1)});
  v.push_back(dht_query{0xffffffff, dht_kind::get_providers, hsh(2)});
  v.push_back(dht_nodes{7, false, false, {}, {}});
  {
    dht_nodes n{8, true, true, {}, {}};
    for (std::size_t i = 0; i < max_dht_nodes; ++i)
      n.nodes.push_back({node_id{hsh(static_cast<std::uint8_t>(i))}, false, {10, 0, 0, 1}, 7420});
    for (std::size_t i = 0; i < max_dht_providers; ++i)
      n.providers.push_back(
          {{node_id{hsh(static_cast<std::uint8_t>(i))}, i % 2 == 0, {10, 0, 0, 2}, 1}, i % 3 == 0});
    v.push_back(std::move(n));
  }
  v.push_back(dht_nodes{9, true, false, {}, {}});
  v.push_back(dht_announce{1, cid(3), true});
  v.push_back(dht_announce{2, cid(4), false});
  v.push_back(dht_ack{1, reason::none});
  v.push_back(dht_ack{2, reason::overloaded});
  v.push_back(revocations{{1, 2, 3}});
  return v;
}

}  // namespace shoal::wire::test_support
