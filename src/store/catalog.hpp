// The catalog: one SQLite database (WAL mode) that records each content the node holds, its
// manifest and piece hashes, which pieces are present and verified, and whether it is pinned.
// Bulk data lives in separate files (see store.hpp); the catalog only says what they hold.
//
// Thread safety: one catalog object per thread. Several processes may open the same database;
// the store serialises writers with its directory lock.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shoal/content_id.hpp"
#include "shoal/error.hpp"
#include "shoal/manifest.hpp"

struct sqlite3;

namespace shoal::store {

// What `shoal ls` shows: everything but the large blobs.
struct content_summary {
  content_id id;
  std::string name;
  root_kind kind = root_kind::file;
  std::uint64_t total_size = 0;
  std::uint64_t file_count = 0;
  std::uint64_t piece_count = 0;
  std::uint64_t have_count = 0;
  bool pinned = false;
  std::int64_t added_at = 0;  // seconds since the Unix epoch
  bool complete() const { return have_count == piece_count; }
};

struct content_record {
  content_summary summary;
  std::vector<std::uint8_t> manifest_bytes;
  std::vector<hash256> piece_hashes;  // one per piece, global piece order
  std::vector<std::uint8_t> have;     // piece_set bytes
};

class catalog {
 public:
  static constexpr int schema_version = 1;

  static result<std::unique_ptr<catalog>> open(const std::filesystem::path& file);
  // Reads only: never creates, converts or upgrades the database. Beside a running writer it
  // reads through the WAL as usual; on read-only media, where SQLite cannot create the WAL's
  // shared-memory file, it opens the database as immutable (nothing can be writing it there).
  static result<std::unique_ptr<catalog>> open_read_only(const std::filesystem::path& file);
  ~catalog();
  catalog(const catalog&) = delete;
  catalog& operator=(const catalog&) = delete;

  // Inserts the record, or replaces the one with the same ID.
  result<void> put(const content_record& r);
  result<std::optional<content_record>> find(const content_id& id);
  result<std::vector<content_summary>> list();
  result<void> set_have(const content_id& id, const std::vector<std::uint8_t>& have,
                        std::uint64_t have_count);
  // not_found if the ID is unknown.
  result<void> set_pinned(const content_id& id, bool pinned);
  result<void> erase(const content_id& id);
  // Copies committed transactions from the WAL into catalog.db without waiting for readers
  // (a passive checkpoint), so that a lost or damaged WAL costs as little as possible.
  result<void> checkpoint();

 private:
  catalog(sqlite3* db, std::filesystem::path file) : db_(db), file_(std::move(file)) {}
  result<void> exec(const char* sql);
  error db_error(const std::string& what) const;

  sqlite3* db_;
  std::filesystem::path file_;
};

}  // namespace shoal::store
