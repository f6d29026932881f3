#include "core/wire.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <initializer_list>
#include <random>
#include <string>
#include <vector>

#include "shoal/manifest.hpp"
#include "support/wire_samples.hpp"

namespace shoal::wire {
namespace {

using namespace test_support;  // NOLINT: the tests' own helpers

// A body builder written from docs/protocol/wire.md, independent of the encoder, so that the
// bound tests can build bodies the encoder would refuse to produce.
struct raw {
  bytes b;
  raw& u8(std::uint64_t v) { return put(v, 1); }
  raw& u16(std::uint64_t v) { return put(v, 2); }
  raw& u32(std::uint64_t v) { return put(v, 4); }
  raw& u64(std::uint64_t v) { return put(v, 8); }
  raw& fill(std::size_t n, std::uint8_t v) {
    b.insert(b.end(), n, v);
    return *this;
  }
  raw& str(std::string_view s) {
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  raw& id() { return fill(32, 0x5a); }
  raw& put(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    return *this;
  }
};

// Bytes of a body before its open-ended last field (data, hashes, bits), or the whole body for
// types whose fields are all self-delimiting.
std::size_t fixed_size(msg_type t, const bytes& b) {
  const std::size_t body_size = b.size();
  switch (t) {
    case msg_type::manifest_part:  // its name is self-delimiting (a length byte first)
      return body_size > 49 ? 1 + 32 + 8 + 8 + 1 + std::size_t{b[49]} : body_size;
    case msg_type::hashes:
      return 1 + 32 + 8;
    case msg_type::bitfield:
      return 1 + 32 + 8;
    case msg_type::block:
      return 1 + 32 + 8 + 1 + 4 * 32;
    case msg_type::revocations:  // the list is the rest of the body
      return 1;
    default:
      return body_size;
  }
}

void expect_error(const bytes& b, errc code, const std::string& part) {
  auto r = decode_body(b);
  ASSERT_FALSE(r.ok()) << "decoded: " << hex(b).substr(0, 200);
  EXPECT_EQ(r.err().code, code) << r.err().message;
  EXPECT_TRUE(contains(r.err().message, part))
      << "\"" << r.err().message << "\" does not mention \"" << part << "\"";
}

void expect_ok(const bytes& b) {
  auto r = decode_body(b);
  ASSERT_TRUE(r.ok()) << r.err().message;
  // Whatever decodes encodes back to the very same body.
  EXPECT_EQ(hex(body(*r)), hex(b));
}

TEST(wire, every_sample_round_trips) {
  for (const auto& m : samples()) {
    const auto f = frame(m);
    ASSERT_GE(f.size(), 5u);
    const std::uint32_t len =
        std::uint32_t{f[0]} << 24 | std::uint32_t{f[1]} << 16 | std::uint32_t{f[2]} << 8 | f[3];
    EXPECT_EQ(len, f.size() - 4);
    EXPECT_LE(len, max_frame_body);
    EXPECT_EQ(f[4], static_cast<std::uint8_t>(type_of(m)));
    auto back = decode_body(bytes(f.begin() + 4, f.end()));
    ASSERT_TRUE(back.ok()) << type_name(type_of(m)) << ": " << back.err().message;
    EXPECT_TRUE(*back == m) << type_name(type_of(m));
  }
}

TEST(wire, encode_appends) {
  bytes out{0xEE};
  encode(keepalive{}, out);
  encode(keepalive{}, out);
  EXPECT_EQ(hex(out), "ee00000001020000000102");
}

// Pinned encodings (also in docs/protocol/wire.md), so that the format cannot drift unnoticed.
TEST(wire, pinned_vectors) {
  EXPECT_EQ(hex(frame(hello{1, 1, 64, 0, "shoal/0.1"})),
            "00000017015348574c000100010040000009"
            "73686f616c2f302e31");

  content_id counting;
  for (std::uint8_t i = 0; i < 32; ++i) counting.digest.bytes[i] = i;
  EXPECT_EQ(hex(frame(request{block_ref{counting, piece_index{0x0102030405}, 7}})),
            "0000002a16000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
            "000000010203040507");

  block b{block_ref{cid(0xab), piece_index{2}, 3},
          {hsh(0x10), hsh(0x11), hsh(0x12), hsh(0x13)},
          {'a', 'b', 'c'}};
  EXPECT_EQ(hex(frame(b)),
            "000000ad17abababababababababababababababababababababababababababababababab"
            "000000000000000203"
            "1010101010101010101010101010101010101010101010101010101010101010"
            "1111111111111111111111111111111111111111111111111111111111111111"
            "1212121212121212121212121212121212121212121212121212121212121212"
            "1313131313131313131313131313131313131313131313131313131313131313"
            "616263");

  EXPECT_EQ(hex(frame(goodbye{reason::bad_block, "bad block"})),
            "0000000e030007000962616420626c6f636b");
}

TEST(wire, every_truncation_fails_or_changes_the_message) {
  for (const auto& m : samples()) {
    const auto b = body(m);
    const auto t = type_of(m);
    // The largest samples are checked on a sparse set of cuts near their fixed fields and ends.
    for (std::size_t cut = 0; cut < b.size(); ++cut) {
      if (b.size() > 4096 && cut > 300 && cut + 300 < b.size() && cut % 997 != 0) continue;
      auto r = decode_body(bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(cut)));
      if (!r.ok()) {
        EXPECT_FALSE(r.err().message.empty());
        continue;
      }
      // Only a cut inside an open-ended last field can leave a valid (shorter) message.
      EXPECT_GT(cut, fixed_size(t, b)) << type_name(t) << " cut at " << cut;
      EXPECT_FALSE(*r == m) << type_name(t);
    }
  }
}

TEST(wire, peers_limits_and_families) {
  const peer_entry ok{node_id{hsh(1)}, false, {10, 0, 0, 1}, 7000};
  auto b = body(peers{cid(1), {ok}});
  // count 0
  auto zero = b;
  zero[33] = 0;
  zero.resize(34);
  expect_error(zero, errc::invalid_argument, "count is 0");
  // a count over the limit is refused before any entry is read
  auto many = b;
  many[33] = static_cast<std::uint8_t>(max_peers_per_message + 1);
  expect_error(many, errc::limit_exceeded, "count 65 is over the limit of 64");
  // an unknown address family
  auto fam = b;
  fam[34 + 32] = 5;
  expect_error(fam, errc::invalid_argument, "address family 5");
  // port 0
  auto port = b;
  port[port.size() - 1] = 0;
  port[port.size() - 2] = 0;
  expect_error(port, errc::invalid_argument, "entry 0 has port 0");
  // an entry cut short
  auto cut = b;
  cut.pop_back();
  expect_error(cut, errc::invalid_argument, "field port");
}

TEST(wire, dht_limits_and_flags) {
  // dht_query: an unknown kind
  auto q = body(dht_query{1, dht_kind::find_node, hsh(1)});
  q[5] = 3;
  expect_error(q, errc::invalid_argument, "dht_query message: kind 3 is not 1 or 2");
  // dht_nodes: counts over their limits are refused before entries are read
  const peer_entry e{node_id{hsh(1)}, false, {10, 0, 0, 1}, 7000};
  auto n = body(dht_nodes{1, false, false, {e}, {}});
  auto many = n;
  many[6] = static_cast<std::uint8_t>(max_dht_nodes + 1);
  expect_error(many, errc::limit_exceeded, "node count 21 is over the limit of 20");
  auto p = body(dht_nodes{1, false, false, {}, {{e, true}}});
  auto many_p = p;
  many_p[7] = static_cast<std::uint8_t>(max_dht_providers + 1);
  expect_error(many_p, errc::limit_exceeded, "provider count 33 is over the limit of 32");
  // flags: unknown bits, and "complete" without "provides"
  auto flags = n;
  flags[5] = 4;
  expect_error(flags, errc::invalid_argument, "flags 0x04 has unknown bits set");
  flags[5] = 2;
  expect_error(flags, errc::invalid_argument, "complete but not that the sender provides");
  // a provider's complete byte other than 0 or 1, and an entry with port 0
  auto complete = p;
  complete.back() = 2;
  expect_error(complete, errc::invalid_argument, "provider entry 0 has complete = 2");
  auto port = n;
  port[port.size() - 2] = 0;  // the node entry's port, before the provider count
  port[port.size() - 3] = 0;
  expect_error(port, errc::invalid_argument, "node entry 0 has port 0");
  // dht_announce: complete other than 0 or 1
  auto a = body(dht_announce{1, cid(1), true});
  a.back() = 9;
  expect_error(a, errc::invalid_argument, "dht_announce message: complete = 9");
  // cut short
  auto cut = body(dht_ack{1, reason::none});
  cut.pop_back();
  expect_error(cut, errc::invalid_argument, "field code");
}

TEST(wire, truncation_names_the_field) {
  auto b = body(request{ref(1, 2)});
  b.resize(1 + 32 + 3);
  expect_error(b, errc::invalid_argument, "request message: body ends inside field piece");
  b = body(hello{1, 1, 1, 0, "abc"});
  b.pop_back();
  expect_error(b, errc::invalid_argument, "field agent (3 bytes needed, 2 left)");
}

TEST(wire, every_trailing_byte_fails) {
  for (const auto& m : samples()) {
    const auto t = type_of(m);
    auto b = body(m);
    const bool open_tail = fixed_size(t, b) != b.size();
    if (open_tail && t != msg_type::bitfield) continue;  // covered below
    for (std::uint8_t extra : std::initializer_list<std::uint8_t>{0x00, 0x01, 0xFF}) {
      auto longer = b;
      longer.push_back(extra);
      auto r = decode_body(longer);
      EXPECT_FALSE(r.ok()) << type_name(t) << " + " << int{extra};
    }
  }
  // Open-ended fields: a trailing byte lengthens the field past its bound.
  auto b = body(block{ref(0, 0), {}, pattern(max_block_data)});
  b.push_back(0);
  expect_error(b, errc::limit_exceeded, "data is 16385 bytes");
  b = body(manifest_part{cid(1), 10, 5, {}, pattern(5)});
  b.push_back(0);
  expect_error(b, errc::invalid_argument, "offset 5 + data length 6 is past total_size 10");
  b = body(hashes{cid(1), piece_index{0}, {hsh(1)}});
  for (int i = 1; i < 32; ++i) {
    b.push_back(0);
    expect_error(b, errc::invalid_argument, "not a multiple of 32");
  }
  auto k = body(keepalive{});
  k.push_back(0);
  expect_error(k, errc::invalid_argument, "keepalive message: 1 trailing bytes");
}

TEST(wire, empty_body_and_unknown_types) {
  expect_error({}, errc::invalid_argument, "empty");
  for (std::uint8_t t : std::initializer_list<std::uint8_t>{0x00, 0x04, 0x0f, 0x1b, 0x7f, 0xff}) {
    char want[8];
    std::snprintf(want, sizeof want, "0x%02x", t);
    expect_error({t}, errc::invalid_argument, std::string("unknown message type ") + want);
  }
  expect_error(bytes(max_frame_body + 1, 0x02), errc::limit_exceeded, "over the limit");
}

raw hello_body(std::uint64_t min, std::uint64_t max, std::uint64_t reqs, std::string_view agent) {
  raw r;
  r.u8(0x01).u32(hello_magic).u16(min).u16(max).u16(reqs).u16(7000).u8(agent.size()).str(agent);
  return r;
}

TEST(wire, hello_bounds) {
  expect_ok(hello_body(1, 1, 1, "").b);
  expect_error(hello_body(0, 1, 1, "").b, errc::invalid_argument, "hello message: min_version");
  expect_ok(hello_body(2, 2, 1, "").b);
  expect_error(hello_body(3, 2, 1, "").b, errc::invalid_argument,
               "min_version 3 is above max_version 2");
  expect_error(hello_body(1, 1, 0, "").b, errc::invalid_argument, "max_requests is 0");
  expect_ok(hello_body(1, 1, 1, std::string(64, 'a')).b);
  expect_error(hello_body(1, 1, 1, std::string(65, 'a')).b, errc::limit_exceeded,
               "agent is 65 bytes, over the limit of 64");
  expect_ok(hello_body(1, 1, 1, " ~").b);
  expect_error(hello_body(1, 1, 1, "a\x1f").b, errc::invalid_argument, "agent byte 1 is 0x1f");
  expect_error(hello_body(1, 1, 1, "\x7f").b, errc::invalid_argument, "agent byte 0 is 0x7f");
  expect_error(hello_body(1, 1, 1, "\xc3\xa9").b, errc::invalid_argument, "0xc3");
  auto wrong_magic = hello_body(1, 1, 1, "").b;
  wrong_magic[4] ^= 1;
  expect_error(wrong_magic, errc::invalid_argument, "magic is 0x5348574d, not 0x5348574c");
}

raw text_msg(std::uint8_t type, std::uint64_t code, std::string_view text) {
  raw r;
  r.u8(type).u16(code).u16(text.size()).str(text);
  return r;
}

TEST(wire, goodbye_bounds) {
  expect_ok(text_msg(0x03, 1, "").b);
  expect_ok(text_msg(0x03, 0xFFFF, "").b);
  auto unknown = decode_body(text_msg(0x03, 4242, "").b);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(static_cast<std::uint16_t>(std::get<goodbye>(*unknown).code), 4242);
  expect_error(text_msg(0x03, 0, "").b, errc::invalid_argument, "goodbye message: code is 0");
  expect_ok(text_msg(0x03, 1, std::string(max_reason, 'z')).b);
  expect_error(text_msg(0x03, 1, std::string(max_reason + 1, 'z')).b, errc::limit_exceeded,
               "text is 1025 bytes");
  expect_ok(text_msg(0x03, 1, "\xe2\x82\xac \xf4\x8f\xbf\xbf \x01").b);
  for (std::string_view bad_text : {"\x80", "a\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                    "\xe2\x82", "\xff", "\xf8\x88\x80\x80\x80"}) {
    expect_error(text_msg(0x03, 1, bad_text).b, errc::invalid_argument, "not valid UTF-8");
  }
  // A text_len that runs past the body.
  auto r = text_msg(0x03, 1, "abc");
  r.b[4] = 4;
  expect_error(r.b, errc::invalid_argument, "field text (4 bytes needed, 3 left)");
}

TEST(wire, get_manifest_bounds) {
  expect_ok(raw{}.u8(0x10).id().u64(manifest_bytes_max - 1).b);
  expect_error(raw{}.u8(0x10).id().u64(manifest_bytes_max).b, errc::limit_exceeded,
               "get_manifest message: offset 67108864");
}

raw part(std::uint64_t total, std::uint64_t offset, std::size_t len) {
  raw r;
  r.u8(0x11).id().u64(total).u64(offset).u8(0).fill(len, 0x33);
  return r;
}

TEST(wire, manifest_part_bounds) {
  expect_ok(part(1, 0, 1).b);
  expect_error(part(0, 0, 1).b, errc::invalid_argument, "total_size is 0");
  expect_ok(part(manifest_bytes_max, 0, 1).b);
  expect_error(part(manifest_bytes_max + 1, 0, 1).b, errc::limit_exceeded, "total_size 67108865");
  expect_error(part(10, 0, 0).b, errc::invalid_argument, "data is empty");
  expect_ok(part(max_manifest_chunk, 0, max_manifest_chunk).b);
  expect_error(part(manifest_bytes_max, 0, max_manifest_chunk + 1).b, errc::limit_exceeded,
               "data is 262145 bytes");
  expect_ok(part(10, 9, 1).b);
  expect_error(part(10, 10, 1).b, errc::invalid_argument, "offset 10 + data length 1");
  expect_error(part(10, 0, 11).b, errc::invalid_argument, "past total_size 10");
  expect_error(part(10, ~std::uint64_t{0}, 1).b, errc::invalid_argument, "past total_size");
  // The holder's name for the content rides in the first part only.
  expect_ok(raw{}.u8(0x11).id().u64(10).u64(0).u8(3).fill(3, 'a').fill(1, 0x33).b);
  expect_error(raw{}.u8(0x11).id().u64(10).u64(5).u8(3).fill(3, 'a').fill(1, 0x33).b,
               errc::invalid_argument, "only the first part has one");
}

TEST(wire, get_hashes_bounds) {
  auto gh = [](std::uint64_t first, std::uint64_t count) {
    return raw{}.u8(0x12).id().u64(first).u32(count).b;
  };
  expect_ok(gh(0, 1));
  expect_error(gh(0, 0), errc::invalid_argument, "get_hashes message: count is 0");
  expect_ok(gh(0, max_hashes_per_message));
  expect_error(gh(0, max_hashes_per_message + 1), errc::limit_exceeded, "count 8193");
  expect_error(gh(0, 0xFFFFFFFF), errc::limit_exceeded, "count 4294967295");
  expect_ok(gh(piece_index_limit - 1, 1));
  expect_error(gh(piece_index_limit - 1, 2), errc::limit_exceeded, "piece index limit");
  expect_error(gh(piece_index_limit, 1), errc::limit_exceeded, "first 1099511627776");
  expect_error(gh(~std::uint64_t{0}, 1), errc::limit_exceeded, "first");
}

TEST(wire, hashes_bounds) {
  auto hs = [](std::uint64_t first, std::size_t n) {
    return raw{}.u8(0x13).id().u64(first).fill(n * 32, 0x44).b;
  };
  expect_ok(hs(0, 1));
  expect_error(hs(0, 0), errc::invalid_argument, "hashes message: hash count is 0");
  expect_ok(hs(0, max_hashes_per_message));
  expect_error(hs(0, max_hashes_per_message + 1), errc::limit_exceeded, "hash count 8193");
  expect_ok(hs(piece_index_limit - 2, 2));
  expect_error(hs(piece_index_limit - 2, 3), errc::limit_exceeded, "piece index limit");
  expect_error(hs(piece_index_limit, 1), errc::limit_exceeded, "first");
}

raw bits(std::uint64_t count, const bytes& b) {
  raw r;
  r.u8(0x14).id().u64(count);
  r.b.insert(r.b.end(), b.begin(), b.end());
  return r;
}

TEST(wire, bitfield_bounds_and_padding) {
  expect_ok(bits(1, {0x80}).b);
  expect_error(bits(0, {}).b, errc::invalid_argument, "bitfield message: piece_count is 0");
  expect_ok(bits(max_bitfield_pieces, bytes(max_bitfield_pieces / 8, 0)).b);
  expect_error(bits(max_bitfield_pieces + 1, bytes(max_bitfield_pieces / 8 + 1, 0)).b,
               errc::limit_exceeded, "piece_count 8388609");
  expect_error(bits(9, {0xFF}).b, errc::invalid_argument, "bits is 1 bytes; piece_count 9 needs 2");
  expect_error(bits(8, {0xFF, 0x00}).b, errc::invalid_argument, "bits is 2 bytes");
  expect_error(bits(8, {}).b, errc::invalid_argument, "bits is 0 bytes");
  // Every padding bit of every partial last byte is refused; every used bit is accepted.
  for (std::uint64_t count = 1; count <= 16; ++count) {
    const std::size_t n = (count + 7) / 8;
    for (std::uint64_t bit = 0; bit < n * 8; ++bit) {
      bytes b(n, 0);
      b[bit / 8] = static_cast<std::uint8_t>(0x80 >> (bit % 8));
      if (bit < count) {
        expect_ok(bits(count, b).b);
      } else {
        expect_error(bits(count, b).b, errc::invalid_argument, "padding bits after piece");
      }
    }
  }
  // MSB first: piece 0 is the high bit of byte 0 (content.md section 7.2).
  auto r = decode_body(bits(6, {0xa4}).b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<bitfield>(*r).bits, bytes{0xa4});
}

TEST(wire, piece_and_block_bounds) {
  auto hv = [](std::uint64_t piece) { return raw{}.u8(0x15).id().u64(piece).b; };
  expect_ok(hv(piece_index_limit - 1));
  expect_error(hv(piece_index_limit), errc::limit_exceeded, "have message: piece 1099511627776");
  expect_error(hv(~std::uint64_t{0}), errc::limit_exceeded, "piece");
  for (std::uint8_t type : std::initializer_list<std::uint8_t>{0x16, 0x18}) {
    const std::string name = type == 0x16 ? "request" : "cancel";
    auto rq = [type](std::uint64_t piece, std::uint64_t blk) {
      return raw{}.u8(type).id().u64(piece).u8(blk).b;
    };
    expect_ok(rq(piece_index_limit - 1, 15));
    expect_error(rq(0, 16), errc::invalid_argument, name + " message: block 16 is not below 16");
    expect_error(rq(0, 255), errc::invalid_argument, "block 255");
    expect_error(rq(piece_index_limit, 0), errc::limit_exceeded, name + " message: piece");
  }
  auto blk = [](std::uint64_t piece, std::uint64_t b, std::size_t len) {
    return raw{}.u8(0x17).id().u64(piece).u8(b).fill(128, 0x77).fill(len, 0x01).b;
  };
  expect_ok(blk(0, 15, 1));
  expect_error(blk(0, 16, 1), errc::invalid_argument, "block message: block 16");
  expect_error(blk(piece_index_limit, 0, 1), errc::limit_exceeded, "block message: piece");
  expect_ok(blk(0, 0, max_block_data));
  expect_error(blk(0, 0, max_block_data + 1), errc::limit_exceeded, "data is 16385 bytes");
  expect_error(blk(0, 0, 0), errc::invalid_argument, "data is empty");
  auto short_proof = blk(0, 0, 0);
  short_proof.resize(short_proof.size() - 1);
  expect_error(short_proof, errc::invalid_argument, "field proof[3]");
}

raw rej(std::uint64_t kind, std::uint64_t index, std::uint64_t blk, std::uint64_t code,
        std::string_view text = "") {
  raw r;
  r.u8(0x19).u8(kind).id().u64(index).u8(blk).u16(code).u16(text.size()).str(text);
  return r;
}

TEST(wire, reject_bounds) {
  for (int kind = 1; kind <= 3; ++kind) expect_ok(rej(kind, 0, 0, 2).b);
  expect_error(rej(0, 0, 0, 2).b, errc::invalid_argument, "reject message: kind 0");
  expect_error(rej(4, 0, 0, 2).b, errc::invalid_argument, "kind 4");
  expect_ok(rej(3, 0, 15, 3).b);
  expect_error(rej(3, 0, 16, 3).b, errc::invalid_argument, "block 16");
  expect_error(rej(1, 0, 1, 2).b, errc::invalid_argument, "block is 1 for kind 1");
  expect_error(rej(2, 0, 1, 2).b, errc::invalid_argument, "block is 1 for kind 2");
  expect_ok(rej(1, manifest_bytes_max - 1, 0, 2).b);
  expect_error(rej(1, manifest_bytes_max, 0, 2).b, errc::limit_exceeded, "index 67108864");
  expect_ok(rej(2, piece_index_limit - 1, 0, 2).b);
  expect_error(rej(2, piece_index_limit, 0, 2).b, errc::limit_exceeded, "index");
  expect_error(rej(3, piece_index_limit, 0, 2).b, errc::limit_exceeded, "index");
  expect_error(rej(3, 0, 0, 0).b, errc::invalid_argument, "reject message: code is 0");
  expect_ok(rej(3, 0, 0, 0xFFFF).b);
  expect_ok(rej(3, 0, 0, 4, std::string(max_reason, 'r')).b);
  expect_error(rej(3, 0, 0, 4, std::string(max_reason + 1, 'r')).b, errc::limit_exceeded,
               "reject message: text is 1025 bytes");
  expect_error(rej(3, 0, 0, 4, "\xc0\xaf").b, errc::invalid_argument, "not valid UTF-8");
}

TEST(wire, names) {
  EXPECT_STREQ(type_name(msg_type::get_manifest), "get_manifest");
  EXPECT_STREQ(type_name(msg_type::reject), "reject");
  EXPECT_STREQ(type_name(static_cast<msg_type>(0x77)), "unknown");
  EXPECT_STREQ(reason_name(reason::protocol_violation), "protocol_violation");
  EXPECT_STREQ(reason_name(reason::version_mismatch), "version_mismatch");
  EXPECT_STREQ(reason_name(reason::internal), "internal");
  EXPECT_STREQ(reason_name(reason::done), "done");
  EXPECT_STREQ(reason_name(reason::expired), "expired");
  EXPECT_STREQ(reason_name(static_cast<reason>(999)), "unknown");
  for (const auto& m : samples()) EXPECT_EQ(body(m)[0], static_cast<std::uint8_t>(type_of(m)));
}

TEST(wire_death, encode_asserts_on_out_of_range_messages) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  bytes out;
  EXPECT_DEATH(encode(request{ref(0, 16)}, out), "request message: block 16");
  EXPECT_DEATH(encode(hello{}, out), "max_requests is 0");
  EXPECT_DEATH(encode(bitfield{cid(0), 3, {0x10}}, out), "padding bits");
  EXPECT_DEATH(encode(block{ref(0, 0), {}, {}}, out), "data is empty");
}

}  // namespace
}  // namespace shoal::wire
