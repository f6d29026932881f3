// libFuzzer target for the revocation list decoder (core/revocation.hpp). Besides "never
// crash", it checks the decoder is canonical (what decodes re-encodes to the same bytes, so one
// signature covers exactly one list) and that only the seeds' key verifies.
#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "core/revocation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto key = [] {
    shoal::crypto::ed25519_seed s{};
    s.fill(0x42);  // the key of the seeds (tests/fuzz/seeds.cpp)
    return shoal::crypto::ed25519_signer::from_seed(s)->public_key();
  }();
  const shoal::byte_span bytes(data, size);
  auto l = shoal::decode_revocation_list(bytes);
  if (l.ok()) {
    const auto again = shoal::encode(*l);
    SHOAL_ASSERT(again.size() == size && std::equal(again.begin(), again.end(), data));
    for (const auto& e : l->entries) SHOAL_ASSERT(l->revokes(e.node));
    (void)shoal::verify(*l, "acme", key);
  }
  return 0;
}
