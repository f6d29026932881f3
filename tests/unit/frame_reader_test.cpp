// frame_reader (core/wire.hpp): cutting a byte stream into frames, in any splits, with the
// length prefix checked before a body is buffered.
#include <gtest/gtest.h>

#include <random>

#include "core/wire.hpp"
#include "support/wire_samples.hpp"

namespace shoal::wire {
namespace {

using namespace test_support;  // NOLINT: the tests' own helpers

bytes stream_of(const std::vector<message>& ms) {
  bytes s;
  for (const auto& m : ms) encode(m, s);
  return s;
}

// Feeds `s` in the given chunk sizes, draining next() after every append, and returns what
// was decoded.
std::vector<message> read_all(const bytes& s, const std::vector<std::size_t>& chunks) {
  frame_reader r;
  std::vector<message> out;
  std::size_t pos = 0;
  for (std::size_t i = 0; pos < s.size(); ++i) {
    const std::size_t n = std::min(chunks[i % chunks.size()], s.size() - pos);
    r.append(byte_span(s).subspan(pos, n));
    pos += n;
    for (;;) {
      auto m = r.next();
      EXPECT_TRUE(m.ok()) << m.err().message;
      if (!m.ok() || !*m) break;
      out.push_back(std::move(**m));
    }
  }
  EXPECT_TRUE(r.finish().ok());
  EXPECT_EQ(r.buffered(), 0u);
  return out;
}

std::vector<message> small_samples() {
  std::vector<message> v;
  for (auto& m : samples())
    if (body(m).size() < 20000) v.push_back(std::move(m));
  return v;
}

TEST(frame_reader, one_byte_at_a_time) {
  const auto ms = small_samples();
  EXPECT_EQ(read_all(stream_of(ms), {1}), ms);
}

TEST(frame_reader, random_splits) {
  const auto ms = samples();
  const auto s = stream_of(ms);
  std::mt19937 rng(20240611);
  for (int round = 0; round < 20; ++round) {
    std::vector<std::size_t> chunks;
    std::uniform_int_distribution<std::size_t> size(1, round % 2 ? 64 : 300000);
    for (int i = 0; i < 97; ++i) chunks.push_back(size(rng));
    EXPECT_EQ(read_all(s, chunks), ms) << "round " << round;
  }
  EXPECT_EQ(read_all(s, {s.size()}), ms);
}

TEST(frame_reader, oversized_prefix_fails_before_the_body) {
  frame_reader r;
  const bytes prefix{0x00, 0x10, 0x04, 0x01};  // max_frame_body + 1
  r.append(byte_span(prefix).first(3));
  auto m = r.next();
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(*m);
  r.append(byte_span(prefix).subspan(3));
  m = r.next();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.err().code, errc::limit_exceeded);
  EXPECT_TRUE(contains(m.err().message, "frame length 1049601 is over the limit of 1049600"))
      << m.err().message;
  // Sticky, and nothing more is buffered.
  r.append(bytes(1000, 0));
  EXPECT_EQ(r.buffered(), 0u);
  EXPECT_EQ(r.next().err().message, m.err().message);
  EXPECT_EQ(r.finish().err().message, m.err().message);

  frame_reader huge;
  huge.append(bytes{0xFF, 0xFF, 0xFF, 0xFF, 0x01});
  EXPECT_EQ(huge.next().err().code, errc::limit_exceeded);
}

TEST(frame_reader, largest_frame_passes) {
  bitfield big{cid(1), max_bitfield_pieces, bytes(max_bitfield_pieces / 8, 0x55)};
  const auto s = stream_of({big, keepalive{}});
  EXPECT_LE(s.size(), 4 + max_frame_body + 5);
  const auto out = read_all(s, {65536});
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0] == message{big});
}

TEST(frame_reader, zero_length_fails) {
  frame_reader r;
  r.append(stream_of({keepalive{}}));
  r.append(bytes{0, 0, 0, 0, 0x02});
  auto first = r.next();
  ASSERT_TRUE(first.ok() && *first);
  EXPECT_TRUE(std::holds_alternative<keepalive>(**first));
  auto m = r.next();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.err().code, errc::invalid_argument);
  EXPECT_TRUE(contains(m.err().message, "frame length is 0")) << m.err().message;
}

TEST(frame_reader, bad_body_is_sticky) {
  frame_reader r;
  auto s = stream_of({keepalive{}});
  const bytes bad{0, 0, 0, 1, 0x42};
  s.insert(s.end(), bad.begin(), bad.end());
  const auto more = stream_of({keepalive{}});
  s.insert(s.end(), more.begin(), more.end());
  r.append(s);
  auto m = r.next();
  ASSERT_TRUE(m.ok() && *m);
  m = r.next();
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(contains(m.err().message, "unknown message type 0x42")) << m.err().message;
  EXPECT_FALSE(r.next().ok());
  EXPECT_FALSE(r.finish().ok());
}

TEST(frame_reader, finish_inside_a_frame) {
  const auto f = frame(block{ref(0, 0), {}, pattern(max_block_data)});
  ASSERT_EQ(f.size(), 4u + 16554u);
  frame_reader r;
  EXPECT_TRUE(r.finish().ok());
  r.append(byte_span(f).first(104));
  auto m = r.next();
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(*m);
  EXPECT_EQ(r.buffered(), 104u);
  auto e = r.finish();
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.err().message, "connection closed inside a frame: 100 of 16554 bytes");

  frame_reader p;
  p.append(byte_span(f).first(2));
  EXPECT_EQ(p.finish().err().message,
            "connection closed inside a frame's length prefix: 2 of 4 bytes");

  // Complete frames not yet taken by next() are not an error; a partial one after them is.
  frame_reader q;
  auto s = stream_of({keepalive{}, keepalive{}});
  q.append(s);
  EXPECT_TRUE(q.finish().ok());
  q.append(byte_span(f).first(5));
  EXPECT_EQ(q.finish().err().message, "connection closed inside a frame: 1 of 16554 bytes");
}

TEST(frame_reader, many_frames_keep_the_buffer_bounded) {
  // Reads of 3.5 frames, each drained: the buffer never holds more than one read plus one
  // partial frame, however many frames pass.
  const auto one = frame(block{ref(1, 2), {}, pattern(max_block_data)});
  bytes s;
  for (int i = 0; i < 400; ++i) s.insert(s.end(), one.begin(), one.end());
  const std::size_t read_size = one.size() * 7 / 2;
  frame_reader r;
  std::size_t decoded = 0;
  std::size_t max_capacity = 0;
  for (std::size_t pos = 0; pos < s.size(); pos += read_size) {
    r.append(byte_span(s).subspan(pos, std::min(read_size, s.size() - pos)));
    max_capacity = std::max(max_capacity, r.capacity());
    for (;;) {
      auto m = r.next();
      ASSERT_TRUE(m.ok()) << m.err().message;
      if (!*m) break;
      ++decoded;
    }
    EXPECT_LT(r.buffered(), one.size());
  }
  EXPECT_EQ(decoded, 400u);
  EXPECT_LE(max_capacity, 2 * (read_size + one.size()));
  // A drained reader that held a large frame gives its memory back.
  frame_reader big;
  big.append(frame(bitfield{cid(1), max_bitfield_pieces, bytes(max_bitfield_pieces / 8, 0)}));
  auto m = big.next();
  ASSERT_TRUE(m.ok() && *m);
  EXPECT_LE(big.capacity(), 64u * 1024);
}

}  // namespace
}  // namespace shoal::wire
