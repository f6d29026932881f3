// Writes a few valid manifests and content IDs into a directory, as the fuzzer's starting corpus.
#include <fstream>
#include <string>

#include "shoal/manifest.hpp"

int main(int argc, char** argv) {
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
  int n = 0;
  for (const manifest& m : {single, tree, manifest{}}) {
    const auto bytes = encode(m);
    std::ofstream(std::string(argv[1]) + "/m" + std::to_string(n++), std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    std::ofstream(std::string(argv[1]) + "/id" + std::to_string(n)) << id_of(m).str();
  }
  return 0;
}
