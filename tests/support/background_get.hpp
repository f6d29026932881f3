// Helpers of the swarm tests: random files, comparing files, and `shoal get` running in the
// background on one node while the test does other things (kills a node, polls status).
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "support/test_network.hpp"

namespace shoal::testing {

inline void write_random(const std::filesystem::path& p, std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<char> v(n);
  for (auto& b : v) b = static_cast<char>(rng());
  std::ofstream(p, std::ios::binary).write(v.data(), static_cast<std::streamsize>(n));
}

inline bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::ifstream x(a, std::ios::binary), y(b, std::ios::binary);
  return std::equal(std::istreambuf_iterator<char>(x), std::istreambuf_iterator<char>(),
                    std::istreambuf_iterator<char>(y), std::istreambuf_iterator<char>());
}

// `shoal --json get ID --from FROM -o <test dir>/out-NAME[TAG]` on the node, in the background
// (no --from if FROM is empty: the holders are looked up in the DHT). TAG tells apart several
// gets on one node.
struct background_get {
  std::unique_ptr<cli> runner;
  pid_t pid = 0;
  std::filesystem::path out;

  background_get(test_network& net, const test_node& n, const std::string& id,
                 const std::string& from, bool origin_only = false, const std::string& tag = "") {
    const auto scratch = net.dir() / ("get-" + n.name + tag);
    std::filesystem::create_directories(scratch);
    runner = std::make_unique<cli>(scratch);
    out = net.dir() / ("out-" + n.name + tag);
    std::vector<std::string> args{"--data-dir", n.dir.string(), "--json",    "get",
                                  id,           "-o",           out.string()};
    if (!from.empty()) args.insert(args.end(), {"--from", from});
    if (origin_only) args.push_back("--origin-only");
    pid = runner->start(args);
  }
  run_result wait(std::chrono::seconds limit = std::chrono::seconds(180)) {
    return runner->wait(pid, limit);
  }
};

}  // namespace shoal::testing
