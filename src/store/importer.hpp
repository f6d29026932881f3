// Reads a file or directory tree from the local file system, hashes it into a manifest and
// piece layer, and copies its bytes into one data file (files end to end, manifest order).
//
// Thread safety: a free function with no shared state.
#pragma once

#include <atomic>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "shoal/error.hpp"
#include "shoal/manifest.hpp"

namespace shoal::store {

using progress_fn = std::function<void(std::uint64_t done, std::uint64_t total)>;

struct imported_tree {
  manifest m;
  std::string name;                   // the source's base name, shown by `shoal ls`
  std::vector<hash256> piece_hashes;  // global piece order
};

// The tree under `source` as manifest entries (roots not yet computed), with clear errors for
// missing paths, symbolic links, special files and names that break the path rules.
struct scanned_entry {
  manifest_entry entry;
  std::filesystem::path source;
};
struct scanned_tree {
  root_kind kind = root_kind::file;
  std::string name;
  std::vector<scanned_entry> entries;  // sorted by path bytes
  std::uint64_t total_size = 0;
};
result<scanned_tree> scan_source(const std::filesystem::path& source);

// Copies and hashes a scanned tree into `data_file` (created, sized, written). When `stop` is
// given and becomes true, the import ends with `cancelled` after the chunk it is on.
result<imported_tree> import_tree(const scanned_tree& tree, const std::filesystem::path& data_file,
                                  const progress_fn& progress,
                                  const std::atomic<bool>* stop = nullptr);

}  // namespace shoal::store
