// Writing a content out to a target path atomically, with its pieces in any order: a temporary
// tree beside the target (".NAME.shoal-PID-TOKEN"), filled piece by piece, then cut to size,
// made durable (every file and directory fsynced) and renamed into place. `store::export_to`
// fills it in order from the store; the daemon fills it as a fetch stores pieces, so that a
// `shoal get` has its output ready when the last piece arrives instead of copying it after.
//
// Data goes through direct_writer (the page cache is bypassed where it can be). Pieces handed to
// write_piece must already be verified; finish() reads and verifies from the store's data file
// whatever was not handed over (pieces held before a resumed fetch began).
//
// Thread safety: one thread at a time (the daemon's disk worker, or the caller of export_to).
// A writer dropped before finish() removes its temporary tree.
#pragma once

#include <filesystem>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "core/piece_set.hpp"
#include "shoal/error.hpp"
#include "shoal/manifest.hpp"
#include "store/direct_write.hpp"
#include "store/file_io.hpp"

namespace shoal::store {

struct export_result {
  fs::path path;  // where the content now is
  std::uint64_t bytes = 0;
};

class export_writer {
 public:
  // Resolves the target (an existing directory receives the content inside it, as `name`, or
  // as the ID when `name` is not a valid file name), refuses a target that exists, removes the
  // leftovers of killed exports to the same target, and creates the temporary tree: every
  // directory, and every file empty with its mode.
  static result<std::unique_ptr<export_writer>> begin(const content_id& id, const manifest& m,
                                                      const fs::path& out, const std::string& name);
  ~export_writer();
  export_writer(const export_writer&) = delete;
  export_writer& operator=(const export_writer&) = delete;

  const fs::path& target() const { return target_; }

  // REQUIRES: `data` is piece p, verified. Each piece once; any order.
  result<void> write_piece(piece_index p, byte_span data);

  // Writes the pieces not handed over, from `data_file` (the store's), each checked against
  // `piece_hashes`; then cuts files to size, syncs and renames into place.
  result<export_result> finish(const fs::path& data_file, std::span<const hash256> piece_hashes);

 private:
  struct open_file_entry {
    std::size_t file;  // index into layout_.files()
    unique_fd fd;
    std::unique_ptr<direct_writer> writer;
  };

  export_writer(manifest m, fs::path target, fs::path tmp, fs::path parent);
  result<void> create_tree();
  fs::path path_of(std::size_t file) const;
  result<open_file_entry*> open(std::size_t file);

  manifest m_;
  content_layout layout_;
  fs::path target_, tmp_, parent_;
  piece_set written_;
  std::uint64_t bytes_ = 0;
  std::vector<fs::path> dirs_;
  std::vector<std::uint16_t> dir_modes_;  // of the directory entries, in dirs_ order after the top
  // A few files open at once (most recently used first): a tree of thousands of files must
  // not need thousands of descriptors.
  std::list<open_file_entry> open_;
  bool finished_ = false;
};

}  // namespace shoal::store
