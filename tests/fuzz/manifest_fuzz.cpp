// libFuzzer target for the manifest decoder and the content ID parser. Besides "never crash",
// it checks the decoder is canonical: whatever decodes re-encodes to the very same bytes, so two
// different byte strings can never describe the same manifest (and so never share an ID).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "shoal/content_id.hpp"
#include "shoal/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const shoal::byte_span bytes(data, size);
  auto m = shoal::decode_manifest(bytes);
  if (m.ok()) {
    const auto again = shoal::encode(*m);
    SHOAL_ASSERT(again.size() == size && std::equal(again.begin(), again.end(), data));
    (void)shoal::content_layout(*m);
  }
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto id = shoal::content_id::parse(text);
  if (id.ok()) SHOAL_ASSERT(id->str() == text);
  return 0;
}
