// The node's content store: a data directory holding
//   catalog.db    the SQLite catalog (what is held, which pieces are verified, pins)
//   data/<id>     one bulk data file per content, its files laid end to end
//   meta/<id>     its record file (record_file.hpp): manifest, piece hashes, name, pin
//   tmp/          imports and partial writes in progress, swept on open
//   quarantine/   data files that nothing describes, moved aside instead of deleted
//   lock          held (flock) by the one process that writes the store
//
// Invariants, kept across a process killed at any instruction:
//   - a piece is marked present in the catalog only after its bytes were verified against the
//     piece hash and written to the data file;
//   - a data file is in data/ only once its record file is durable in meta/; the store never
//     deletes a data file it cannot prove is garbage: one without a catalog row is adopted back
//     from its record file with every piece re-verified, and one without a record is moved to
//     quarantine/;
//   - a missing or empty catalog beside data files is an error that names `shoal store repair`,
//     never an empty store;
//   - every piece read back for export or serving is verified again, so a damaged data file is
//     caught, reported and the piece marked missing rather than passed on.
// Bulk data is not fsynced on the add and fetch paths: a killed process loses nothing the kernel
// already has, and after a power loss a piece whose bytes did not reach the disk fails that
// re-verification and is fetched or added again. Until it is read, `ls` may still call such a
// content complete; `shoal verify` checks it on demand. docs/architecture.md ("Crash safety")
// says what reaches the disk before an add or a fetch reports success.
//
// Thread safety: a store object is used by one thread at a time.
#pragma once

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/piece_set.hpp"
#include "crypto/sha256.hpp"
#include "shoal/content_id.hpp"
#include "shoal/error.hpp"
#include "shoal/manifest.hpp"
#include "store/catalog.hpp"
#include "store/direct_write.hpp"
#include "store/export_writer.hpp"
#include "store/file_io.hpp"
#include "store/importer.hpp"
#include "store/record_file.hpp"

namespace shoal::store {

struct add_result {
  content_summary content;
  bool already_present = false;  // the same ID was complete in the store before
};

struct verify_result {
  std::uint64_t pieces_checked = 0;
  std::vector<piece_index> bad_pieces;  // now marked missing
};

enum class access { read_only, read_write };

// An add whose bytes are copied and hashed (the long part) but not yet part of the store: made
// by store::stage_add on any thread, taken in by store::commit_add on the store's own. One that
// is dropped uncommitted deletes its temporary data file.
class staged_add {
 public:
  staged_add(fs::path tmp, imported_tree tree) : tmp_(std::move(tmp)), tree_(std::move(tree)) {}
  staged_add(staged_add&& o) noexcept
      : tmp_(std::exchange(o.tmp_, {})), tree_(std::move(o.tree_)) {}
  staged_add& operator=(staged_add&&) = delete;
  ~staged_add();
  const std::string& name() const { return tree_.name; }

 private:
  friend class store;
  fs::path tmp_;  // empty once committed
  imported_tree tree_;
};

// What `shoal store repair` found and did.
struct repair_report {
  struct adopted {
    content_summary content;  // have_count: the pieces that verified
  };
  std::vector<adopted> contents;
  std::vector<fs::path> quarantined;  // data files with no usable record, moved aside
  fs::path old_catalog;               // where the catalog was moved, if there was one
  std::vector<std::string> notes;     // records that could not be used, and why
};

class partial_content;
class content_reader;

// The command that rebuilds the catalog of the store in `dir`, ready to paste into a shell.
std::string repair_command(const fs::path& dir);

class store {
 public:
  // Opens the store in `dir`. read_write creates it if needed, takes the directory lock, sweeps
  // leftovers of killed processes and checks data files; read_only takes no lock and creates
  // nothing (SQLite may still add its WAL index file beside an existing catalog).
  static result<std::unique_ptr<store>> open(const fs::path& dir, access mode = access::read_write);
  access mode() const { return mode_; }
  // Rebuilds the catalog of the store in `dir` from its data and record files, re-verifying
  // every piece; the old catalog is kept beside it (catalog.db.before-repair-<time>), data files
  // that no record describes go to quarantine/. Takes the directory lock.
  static result<repair_report> repair(const fs::path& dir, const progress_fn& progress = {});
  ~store();

  const fs::path& dir() const { return dir_; }
  // Problems found and repaired by open(), for the caller to report.
  const std::vector<std::string>& warnings() const { return warnings_; }

  // stage_add, then commit_add.
  result<add_result> add(const fs::path& source, bool pin, const progress_fn& progress = {});
  // Scans, copies and hashes `source` into the tmp/ directory of the store in `dir`. Touches
  // nothing else of the store, so it may run on another thread while the store's owner goes
  // on; `stop`, when it becomes true, ends it with `cancelled`.
  static result<staged_add> stage_add(const fs::path& dir, const fs::path& source,
                                      const progress_fn& progress = {},
                                      const std::atomic<bool>* stop = nullptr);
  // Makes a staged add part of the store (or pins what it already held complete).
  result<add_result> commit_add(staged_add staged, bool pin);
  result<std::vector<content_summary>> list();
  result<content_summary> info(const content_id& id);
  result<manifest> manifest_of(const content_id& id);
  // Writes the content to `out` atomically (a temporary name, renamed once every piece has been
  // verified and flushed). If `out` is an existing directory, the content goes inside it under
  // its name.
  result<export_result> export_to(const content_id& id, const fs::path& out,
                                  const progress_fn& progress = {});
  // Re-reads every present piece; pieces that fail are marked missing (read-only: reported).
  // `stop`, when it becomes true, ends it with `cancelled` after the piece it is on.
  result<verify_result> verify(const content_id& id, const progress_fn& progress = {},
                               const std::atomic<bool>* stop = nullptr);
  // Marks these pieces missing (a verify found them damaged through a read-only view).
  result<void> mark_missing(const content_id& id, const std::vector<piece_index>& pieces);
  // Whether a fetch has the content open (open_partial).
  bool being_fetched(const content_id& id) const { return fetching_.contains(id); }
  result<void> set_pinned(const content_id& id, bool pinned);
  // Removes a content and its data; refuses pinned content and content being fetched.
  // Returns the bytes of data freed.
  result<std::uint64_t> remove(const content_id& id);
  // Removes every content that is neither pinned nor being fetched.
  result<std::vector<content_summary>> collect_garbage();

  // Starts or resumes a partial content whose manifest and piece layer are known (a fetch).
  // The piece hashes are checked against the manifest's roots.
  result<std::unique_ptr<partial_content>> open_partial(const manifest& m, std::string name,
                                                        std::vector<hash256> piece_hashes);
  // The verified bytes of one present piece.
  result<std::vector<std::uint8_t>> read_piece(const content_id& id, piece_index p);
  // A handle for reading many pieces of one content (complete or partial), for serving it.
  result<std::unique_ptr<content_reader>> open_reader(const content_id& id);

 private:
  friend class partial_content;
  friend class content_reader;
  store(fs::path dir, access mode, std::unique_ptr<catalog> cat, unique_fd lock)
      : dir_(std::move(dir)), mode_(mode), catalog_(std::move(cat)), lock_(std::move(lock)) {}
  // Takes the directory lock (the pid inside names the holder).
  static result<unique_fd> lock_directory(const fs::path& dir);
  // A missing or empty catalog.db beside data files is an error, not an empty store.
  static result<void> require_catalog(const fs::path& dir);
  result<void> sweep();
  // Read-only: the problems sweep() would repair, as warnings.
  result<void> survey();
  // Brings a data file with no catalog row back from its record file (recovery.cpp).
  result<content_summary> adopt(const content_id& id, const content_record_file& rec,
                                const progress_fn& progress = {});
  // Moves a data file to quarantine/ with a warning; returns where it went.
  result<fs::path> quarantine(const fs::path& data_file, const std::string& why);
  fs::path data_path(const content_id& id) const;
  fs::path meta_dir() const { return dir_ / "meta"; }
  result<void> write_record(const content_record& r);
  result<content_record> record(const content_id& id);
  // The record's manifest, decoded (store_corrupt if the catalog's bytes do not decode).
  result<manifest> manifest_of(const content_record& r);
  result<void> require_write() const;

  fs::path dir_;
  access mode_;
  std::unique_ptr<catalog> catalog_;
  unique_fd lock_;
  std::vector<std::string> warnings_;
  std::set<content_id> fetching_;  // IDs with an open partial_content
};

// A content being filled piece by piece. Pieces are verified before they are written, and
// recorded in the catalog once written, so a restart resumes from the verified pieces.
class partial_content {
 public:
  ~partial_content();
  partial_content(const partial_content&) = delete;
  partial_content& operator=(const partial_content&) = delete;

  const content_id& id() const { return id_; }
  const piece_set& have() const { return have_; }
  bool complete() const { return have_.complete(); }
  const content_layout& layout() const { return layout_; }
  const fs::path& data_file() const { return path_; }
  const std::vector<hash256>& piece_hashes() const { return hashes_; }

  // hash_mismatch if the bytes are not piece p; the store is unchanged then.
  result<void> write_piece(piece_index p, byte_span data);

  // write_piece in two steps, for a caller that writes on another thread. The first writes the
  // bytes only; REQUIRES: they were verified against the piece hash already (the fetch checks
  // every block against it on arrival, wire.md section 5.6), so they are not hashed again. It
  // touches nothing but the data file and may run on one other thread at a time, while the
  // owner's thread goes on. The second, on the owner's thread, records the piece as present.
  result<void> write_verified_data(piece_index p, byte_span data);
  result<void> mark_stored(piece_index p);

 private:
  friend class store;
  result<void> check_piece(piece_index p, byte_span data) const;
  partial_content(store& s, content_id id, manifest m, std::vector<hash256> hashes, piece_set have,
                  unique_fd fd, fs::path path)
      : store_(s),
        id_(id),
        manifest_(std::move(m)),
        layout_(manifest_),
        hashes_(std::move(hashes)),
        have_(std::move(have)),
        fd_(std::move(fd)),
        path_(std::move(path)),
        writer_(fd_.get(), path_) {}

  store& store_;
  content_id id_;
  manifest manifest_;
  content_layout layout_;
  std::vector<hash256> hashes_;
  piece_set have_;
  unique_fd fd_;
  fs::path path_;
  direct_writer writer_;  // pieces bypass the page cache (direct_write.hpp says why)
  crypto::sha256_hasher hasher_;
};

// One content's record, layout and data file, kept open to read pieces for serving. Every piece
// is verified as it is read; a damaged one is marked missing and reported.
class content_reader {
 public:
  const content_id& id() const { return record_.summary.id; }
  const content_record& record() const { return record_; }
  const manifest& get_manifest() const { return manifest_; }
  const content_layout& layout() const { return layout_; }
  const piece_set& have() const { return have_; }
  // Re-reads which pieces are present (a fetch in progress adds pieces).
  result<void> refresh();
  // `leaves`, if given, receives the piece's leaf hashes, computed in the same pass.
  result<std::vector<std::uint8_t>> read_piece(piece_index p,
                                               std::vector<hash256>* leaves = nullptr);
  // Reads piece p and checks it against its hash without touching the reader's mutable state
  // or the catalog, so that it may run on another thread while the reader's owner goes on (the
  // reader must outlive it; `hasher` is the caller's). Nothing if the bytes do not match: the
  // owner then calls read_piece(p), which reports the damage and marks the piece missing. The
  // piece's presence is the caller's to check (have()).
  result<std::optional<std::vector<std::uint8_t>>> read_piece_detached(
      piece_index p, crypto::sha256_hasher& hasher) const;

 private:
  friend class store;
  content_reader(store& s, content_record rec, manifest m, piece_set have, unique_fd fd,
                 fs::path path)
      : store_(s),
        record_(std::move(rec)),
        manifest_(std::move(m)),
        layout_(manifest_),
        have_(std::move(have)),
        fd_(std::move(fd)),
        path_(std::move(path)) {}

  store& store_;
  content_record record_;
  manifest manifest_;
  content_layout layout_;
  piece_set have_;
  unique_fd fd_;
  fs::path path_;
  crypto::sha256_hasher hasher_;
};

}  // namespace shoal::store
