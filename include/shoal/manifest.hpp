// The manifest describes one content: a single file, or a directory tree with its files, empty
// files and empty directories, symbolic links, permission bits, sizes and per-file Merkle roots.
// Its canonical encoding (docs/protocol/content.md) is what the content ID hashes, so encode() of a
// valid manifest is a pure function of the tree.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shoal/content_id.hpp"
#include "shoal/error.hpp"
#include "shoal/types.hpp"

namespace shoal {

enum class entry_type : std::uint8_t { file = 1, directory = 2, symlink = 3 };
enum class root_kind : std::uint8_t { file = 1, directory = 2 };

// Permission bits a manifest keeps (the setuid, setgid and sticky bits are never kept).
inline constexpr std::uint16_t permission_bits = 0777;
// What an entry without an explicit mode has: a file 0644, or 0755 when executable; a
// directory 0755. Contents whose entries all have these stay in format version 1.
inline constexpr std::uint16_t default_file_mode = 0644, default_executable_mode = 0755,
                               default_directory_mode = 0755;
inline constexpr std::size_t link_target_bytes_max = 4095;
inline constexpr int link_depth_max = 40;  // links followed in one resolution, as Linux does

struct manifest_entry {
  entry_type type = entry_type::file;
  bool executable = false;  // files only
  std::string path;         // relative, '/'-separated; empty for a single-file content
  std::uint64_t size = 0;   // files only
  hash256 root;             // files only: the file's Merkle root
  // Files and directories: the permission bits when they are not the default above (then, for
  // a file, executable is their owner-execute bit). None: the default.
  std::optional<std::uint16_t> mode;
  std::string target;  // symbolic links only: the link's text, relative, resolving inside
  bool operator==(const manifest_entry&) const = default;
};

// The permission bits an export gives a file or directory entry.
std::uint16_t mode_of(const manifest_entry& e);

struct manifest {
  root_kind kind = root_kind::directory;
  std::vector<manifest_entry> entries;  // sorted by path bytes, strictly ascending
  bool operator==(const manifest&) const = default;
};

// Bounds on what a manifest may hold, so a decoder never allocates without limit.
inline constexpr std::uint32_t manifest_entries_max = 1u << 20;
inline constexpr std::uint64_t file_size_max = std::uint64_t{1} << 50;  // 1 PiB
inline constexpr std::uint64_t manifest_bytes_max = std::uint64_t{64} << 20;

// Checks every rule: kind and entry count agree, paths valid, sorted, unique, parents present and
// directories, sizes in range, roots consistent with sizes (Z for empty files only).
result<void> validate(const manifest& m);

// The canonical bytes. REQUIRES: validate(m) succeeded.
std::vector<std::uint8_t> encode(const manifest& m);

// Strict, total decoder: any malformed or trailing input is an error naming the offset and rule.
result<manifest> decode_manifest(byte_span bytes);

inline content_id id_of(const manifest& m) {
  const auto bytes = encode(m);
  return content_id::of_manifest(bytes);
}

// Where `path` leads inside a directory manifest, following its symbolic links (at most
// link_depth_max): the index of the entry, or none when nothing is there (a dangling link, a
// missing name) or the path leaves the tree. "" is the top directory (returns none).
std::optional<std::uint32_t> resolve(const manifest& m, std::string_view path);

// Where each file's bytes and pieces sit in a content: files are laid end to end in manifest
// order (data offsets), and pieces are numbered across files in the same order.
struct file_layout {
  std::uint32_t entry = 0;  // index into manifest::entries
  std::uint64_t size = 0;
  std::uint64_t data_offset = 0;  // offset of the file's first byte in the content's data
  std::uint64_t first_piece = 0;  // global index of the file's first piece
  std::uint64_t piece_count = 0;
};

struct piece_location {
  std::uint32_t file = 0;  // index into content_layout::files
  std::uint64_t offset_in_file = 0;
  std::uint64_t length = 0;
};

class content_layout {
 public:
  explicit content_layout(const manifest& m);

  const std::vector<file_layout>& files() const { return files_; }
  std::uint64_t total_size() const { return total_size_; }
  std::uint64_t piece_count() const { return piece_count_; }
  // REQUIRES: p.value < piece_count().
  piece_location locate(piece_index p) const;

 private:
  std::vector<file_layout> files_;
  std::uint64_t total_size_ = 0;
  std::uint64_t piece_count_ = 0;
};

}  // namespace shoal
