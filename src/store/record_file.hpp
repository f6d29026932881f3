// A content's record file, `meta/<id>`: everything the catalog row holds except which pieces
// are present (the manifest, the piece hashes, the name, the pin and when it was added), in a
// small self-checking file beside the data file. It exists so that the catalog is never the
// only place that knows what a data file is: a data file whose row was lost (a damaged or
// deleted WAL, a deleted or truncated catalog.db) is adopted back from its record, its pieces
// re-verified, instead of being taken for garbage. The format is in docs/architecture.md
// ("The store's files").
//
// A record is written whole to a temporary name, fsynced and renamed into place, so a reader
// sees the old record or the new one, never a mix; decode() checks a SHA-256 over the file and
// that the manifest hashes to the ID in the file's name and its piece hashes to the manifest's
// roots, so a damaged record is refused, never half believed.
//
// Thread safety: free functions on distinct files are independent.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "shoal/content_id.hpp"
#include "shoal/error.hpp"
#include "shoal/manifest.hpp"
#include "store/catalog.hpp"

namespace shoal::store {

struct content_record_file {
  content_id id;
  std::string name;
  std::vector<std::uint8_t> manifest_bytes;
  std::vector<hash256> piece_hashes;
  bool pinned = false;
  std::int64_t added_at = 0;
};

inline constexpr std::uint32_t record_file_version = 1;
inline constexpr std::size_t record_name_bytes_max = 4096;

// The record of a catalog row (its name cut to record_name_bytes_max).
content_record_file record_file_of(const content_record& r);

std::vector<std::uint8_t> encode_record(const content_record_file& r);
// `id` is the ID the file is named by; a record of another content is store_corrupt.
result<content_record_file> decode_record(const content_id& id, byte_span bytes);

// Writes `r` to `meta_dir`/<id> atomically and durably (temporary name, fsync, rename, fsync of
// the directory).
result<void> write_record_file(const std::filesystem::path& meta_dir, const content_record_file& r);
// Reads and checks `meta_dir`/<id>; not_found if there is none.
result<content_record_file> read_record_file(const std::filesystem::path& meta_dir,
                                             const content_id& id);

}  // namespace shoal::store
