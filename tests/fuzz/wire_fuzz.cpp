// libFuzzer target for the wire codec (src/core/wire.hpp). The input is a small header that
// chooses how the stream is cut into reads, then the byte stream itself:
//
//   byte 0        k = byte % 8: how many chunk-size bytes follow (0: one read of everything)
//   bytes 1..k    chunk sizes, used in turn: 1 + byte
//   the rest      the stream, fed to a frame_reader in those chunks, next() drained each time
//
// Besides "never crash", it checks that the codec is canonical and total: every decoded message
// re-encodes to exactly the frame it came from and decodes again to an equal message; errors are
// sticky; a stream that decoded without error and ended at a frame boundary finishes cleanly.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/wire.hpp"

namespace {

using namespace shoal;

std::uint32_t prefix_at(byte_span s, std::size_t pos) {
  return std::uint32_t{s[pos]} << 24 | std::uint32_t{s[pos + 1]} << 16 |
         std::uint32_t{s[pos + 2]} << 8 | std::uint32_t{s[pos + 3]};
}

void check_message(const wire::message& m, byte_span stream, std::size_t& frame_pos) {
  // The frame this message came from: frames are back to back in the stream.
  SHOAL_ASSERT(stream.size() - frame_pos >= 4);
  const std::uint32_t length = prefix_at(stream, frame_pos);
  SHOAL_ASSERT(stream.size() - frame_pos - 4 >= length);
  const auto original = stream.subspan(frame_pos, 4 + std::size_t{length});
  frame_pos += original.size();

  std::vector<std::uint8_t> again;
  wire::encode(m, again);
  SHOAL_ASSERT(std::equal(again.begin(), again.end(), original.begin(), original.end()));
  auto back = wire::decode_body(byte_span(again).subspan(4));
  SHOAL_ASSERT(back.ok());
  SHOAL_ASSERT(*back == m);
  SHOAL_ASSERT(wire::type_name(wire::type_of(m)) != nullptr);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t k = std::min<std::size_t>(data[0] % 8, size - 1);
  const byte_span sizes(data + 1, k);
  const byte_span stream(data + 1 + k, size - 1 - k);

  // The whole stream as one body, too: decode_body must be total on its own.
  (void)wire::decode_body(stream);

  wire::frame_reader reader;
  std::size_t pos = 0;        // bytes of the stream appended
  std::size_t frame_pos = 0;  // start of the next frame to decode
  std::size_t chunk = 0;
  bool failed = false;
  while (pos < stream.size() && !failed) {
    const std::size_t n = k == 0 ? stream.size() : std::size_t{1} + sizes[chunk++ % k];
    const auto piece = stream.subspan(pos, std::min(n, stream.size() - pos));
    reader.append(piece);
    pos += piece.size();
    for (;;) {
      auto m = reader.next();
      if (!m.ok()) {
        SHOAL_ASSERT(!m.err().message.empty());
        auto again = reader.next();
        SHOAL_ASSERT(!again.ok() && again.err().message == m.err().message);
        SHOAL_ASSERT(!reader.finish().ok());
        failed = true;
        break;
      }
      if (!*m) break;
      check_message(**m, stream, frame_pos);
    }
    // Drained: what is left is one partial frame, never more.
    if (!failed) SHOAL_ASSERT(reader.buffered() == pos - frame_pos);
  }
  if (!failed) {
    const bool at_boundary = frame_pos == stream.size();
    SHOAL_ASSERT(reader.finish().ok() == at_boundary);
  }
  return 0;
}
