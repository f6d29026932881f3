// Micro-benchmark: hashing a piece into its Merkle subtree against one plain SHA-256 over the
// same bytes, in one binary, so the tree's overhead (domain prefix bytes, interior nodes, one
// EVP call per 16 KiB) reads as a ratio.
#include <benchmark/benchmark.h>

#include "core/merkle.hpp"

namespace {

std::vector<std::uint8_t> piece_bytes() {
  std::vector<std::uint8_t> v(shoal::merkle::piece_size);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint8_t>(i * 131 + 7);
  return v;
}

void plain_sha256(benchmark::State& state) {
  const auto data = piece_bytes();
  shoal::crypto::sha256_hasher h;
  for (auto _ : state) {
    h.reset();
    h.update(data);
    benchmark::DoNotOptimize(h.finish());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}

void merkle_piece_hash(benchmark::State& state) {
  const auto data = piece_bytes();
  shoal::crypto::sha256_hasher h;
  for (auto _ : state) benchmark::DoNotOptimize(shoal::merkle::piece_hash(h, data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
}

BENCHMARK(plain_sha256);
BENCHMARK(merkle_piece_hash);

}  // namespace

BENCHMARK_MAIN();
