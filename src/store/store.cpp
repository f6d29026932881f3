#include "store/store.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "core/merkle.hpp"
#include "core/path_rules.hpp"

namespace shoal::store {
namespace {

std::string quoted(const fs::path& p) {
  return "\"" + p.string() + "\"";
}

// Reads piece p of a content from its data file into `buf` and checks it against its piece
// hash; touches nothing but its arguments. False on a mismatch.
result<bool> read_and_check(const content_record& rec, const content_layout& layout, int fd,
                            const fs::path& data_file, piece_index p,
                            std::vector<std::uint8_t>& buf, crypto::sha256_hasher& hasher,
                            std::vector<hash256>* leaves, direct_reader* direct) {
  const piece_location loc = layout.locate(p);
  const file_layout& f = layout.files()[loc.file];
  buf.resize(loc.length);
  if (direct)
    SHOAL_TRY(direct->read(buf, f.data_offset + loc.offset_in_file));
  else
    SHOAL_TRY(pread_exact(fd, buf, f.data_offset + loc.offset_in_file, data_file));
  // The piece hash is the fold of the leaf hashes; a caller that needs the leaves too (to build
  // block proofs) gets them from the same pass over the bytes.
  std::vector<hash256> own;
  std::vector<hash256>& l = leaves ? *leaves : own;
  l = merkle::piece_leaf_hashes(hasher, buf);
  if (merkle::fold(hasher, l, merkle::piece_level) == rec.piece_hashes[p.value]) return true;
  l.clear();
  return false;
}

// Reads piece p of a content from its data file and checks it against its piece hash. On a
// mismatch the piece is dropped from `have` and from the catalog (when writable), so the store
// never again reports a piece it cannot prove.
result<void> read_verified(catalog* cat, const content_record& rec, piece_set& have,
                           const manifest& m, const content_layout& layout, int fd,
                           const fs::path& data_file, piece_index p, std::vector<std::uint8_t>& buf,
                           crypto::sha256_hasher& hasher, std::vector<hash256>* leaves = nullptr,
                           direct_reader* direct = nullptr) {
  auto good = read_and_check(rec, layout, fd, data_file, p, buf, hasher, leaves, direct);
  if (!good) return std::move(good).err();
  if (*good) return {};
  const piece_location loc = layout.locate(p);
  const file_layout& f = layout.files()[loc.file];
  have.erase(p);
  std::string note = "piece " + std::to_string(p.value) + " of " + rec.summary.id.str() +
                     " (bytes " + std::to_string(loc.offset_in_file) + ".." +
                     std::to_string(loc.offset_in_file + loc.length) + " of " +
                     (m.kind == root_kind::file ? std::string("the file")
                                                : "\"" + m.entries[f.entry].path + "\"") +
                     ") failed verification: data file " + quoted(data_file) + " is damaged";
  if (cat) {
    if (cat->set_have(rec.summary.id, have.bytes(), have.count()).ok())
      note += "; the piece is now marked missing";
  }
  return error{errc::hash_mismatch, note};
}

content_summary summarize(const content_id& id, const manifest& m, std::string name,
                          const content_layout& layout, std::uint64_t have_count, bool pinned) {
  content_summary s;
  s.id = id;
  s.name = std::move(name);
  s.kind = m.kind;
  s.total_size = layout.total_size();
  s.file_count = layout.files().size();
  s.piece_count = layout.piece_count();
  s.have_count = have_count;
  s.pinned = pinned;
  s.added_at = static_cast<std::int64_t>(std::time(nullptr));
  return s;
}

// Removes a temporary path unless dismissed, so that every early return cleans up.
class cleanup {
 public:
  explicit cleanup(fs::path p) : p_(std::move(p)) {}
  ~cleanup() {
    if (!p_.empty()) (void)remove_tree(p_);
  }
  void dismiss() { p_.clear(); }

 private:
  fs::path p_;
};

}  // namespace

result<unique_fd> store::lock_directory(const fs::path& dir) {
  auto fd = open_file(dir / "lock", O_RDWR | O_CREAT, 0600);
  if (!fd) return std::move(fd).err();
  if (::flock(fd->get(), LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {};
    ssize_t n = ::pread(fd->get(), pid, sizeof(pid) - 1, 0);
    std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : "unknown";
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return error{errc::busy, "data directory " + quoted(dir) +
                                 " is in use by another shoal process (pid " + holder + ")"};
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd->get(), 0) == 0)
    (void)pwrite_all(fd->get(),
                     byte_span(reinterpret_cast<const std::uint8_t*>(pid.data()), pid.size()), 0,
                     dir / "lock");
  return std::move(*fd);
}

result<std::unique_ptr<store>> store::open(const fs::path& dir, access mode) {
  // Said plainly: otherwise a file named as the data directory reads as "not a directory" on
  // some path inside it, or as an empty store.
  if (std::error_code ec; fs::exists(dir, ec) && !fs::is_directory(dir, ec))
    return error{errc::invalid_argument,
                 "data directory " + quoted(dir) +
                     " is not a directory; give --data-dir (or SHOAL_DATA_DIR, or data_dir) a "
                     "directory of its own"};
  if (mode == access::read_write) {
    SHOAL_TRY(make_directories(dir, 0700));
    for (const char* sub : {"data", "meta", "tmp"}) SHOAL_TRY(make_directories(dir / sub, 0700));
  }
  unique_fd lock;
  if (mode == access::read_write) {
    auto fd = lock_directory(dir);
    if (!fd) return std::move(fd).err();
    lock = std::move(*fd);
  }
  SHOAL_TRY(require_catalog(dir));
  // A read-only view of a directory where nothing was ever stored is an empty in-memory
  // catalog, so that `shoal ls` creates no files.
  const bool nothing_stored = mode == access::read_only && !fs::exists(dir / "catalog.db");
  auto cat = nothing_stored               ? catalog::open(":memory:")
             : mode == access::read_write ? catalog::open(dir / "catalog.db")
                                          : catalog::open_read_only(dir / "catalog.db");
  if (!cat) {
    error e = std::move(cat).err();
    if (e.code == errc::store_corrupt)
      e.message += "; rebuild it from the data files with `" + repair_command(dir) + "`";
    return e;
  }
  std::unique_ptr<store> s(new store(dir, mode, std::move(*cat), std::move(lock)));
  if (mode == access::read_write)
    SHOAL_TRY(s->sweep());
  else if (!nothing_stored)
    SHOAL_TRY(s->survey());
  return s;
}

store::~store() = default;

fs::path store::data_path(const content_id& id) const {
  return dir_ / "data" / id.str();
}

result<void> store::require_write() const {
  if (mode_ != access::read_write)
    return error{errc::invalid_argument, "the store was opened read-only"};
  return {};
}

result<void> store::write_record(const content_record& r) {
  return write_record_file(meta_dir(), record_file_of(r));
}

result<content_record> store::record(const content_id& id) {
  auto r = catalog_->find(id);
  if (!r) return std::move(r).err();
  if (!r->has_value()) return error{errc::not_found, "no content " + id.str() + " in this store"};
  return std::move(**r);
}

staged_add::~staged_add() {
  if (!tmp_.empty()) (void)remove_tree(tmp_);
}

result<add_result> store::add(const fs::path& source, bool pin, const progress_fn& progress) {
  SHOAL_TRY(require_write());
  auto staged = stage_add(dir_, source, progress);
  if (!staged) return std::move(staged).err();
  return commit_add(std::move(*staged), pin);
}

result<staged_add> store::stage_add(const fs::path& dir, const fs::path& source,
                                    const progress_fn& progress, const std::atomic<bool>* stop) {
  auto tree = scan_source(source);
  if (!tree) return std::move(tree).err();
  const fs::path tmp = dir / "tmp" / ("add-" + random_token());
  cleanup guard(tmp);
  auto imported = import_tree(*tree, tmp, progress, stop);
  if (!imported) return std::move(imported).err();
  guard.dismiss();
  return staged_add(tmp, std::move(*imported));
}

result<add_result> store::commit_add(staged_add staged, bool pin) {
  SHOAL_TRY(require_write());
  imported_tree* imported = &staged.tree_;
  const fs::path tmp = staged.tmp_;
  const auto manifest_bytes = encode(imported->m);
  const content_id id = content_id::of_manifest(manifest_bytes);
  if (fetching_.contains(id))
    return error{errc::busy, "content " + id.str() + " is being fetched; add it again when done"};
  auto existing = catalog_->find(id);
  if (!existing) return std::move(existing).err();
  const bool was_pinned = existing->has_value() && (*existing)->summary.pinned;
  if (existing->has_value() && (*existing)->summary.complete()) {
    if (pin && !was_pinned) SHOAL_TRY(set_pinned(id, true));
    auto summary = (*existing)->summary;
    summary.pinned = summary.pinned || pin;
    return add_result{summary, true};
  }

  const content_layout layout(imported->m);
  content_record rec;
  rec.summary =
      summarize(id, imported->m, imported->name, layout, layout.piece_count(), pin || was_pinned);
  rec.manifest_bytes = manifest_bytes;
  rec.piece_hashes = std::move(imported->piece_hashes);
  rec.have = piece_set(layout.piece_count(), true).bytes();
  // Record, then data, then row: a crash after the rename leaves a data file that its record
  // describes, which the next open adopts (the add completes); before it, only a record with
  // no data, which describes nothing and is swept.
  SHOAL_TRY(write_record(rec));
  SHOAL_TRY(rename_path(tmp, data_path(id)));
  staged.tmp_.clear();
  if (auto r = catalog_->put(rec); !r) {
    (void)remove_tree(data_path(id));
    (void)remove_tree(meta_dir() / id.str());
    return r.err();
  }
  SHOAL_TRY(catalog_->checkpoint());
  return add_result{rec.summary, false};
}

result<std::vector<content_summary>> store::list() {
  return catalog_->list();
}

result<content_summary> store::info(const content_id& id) {
  auto r = record(id);
  if (!r) return std::move(r).err();
  return r->summary;
}

result<manifest> store::manifest_of(const content_id& id) {
  auto r = record(id);
  if (!r) return std::move(r).err();
  return manifest_of(*r);
}

result<manifest> store::manifest_of(const content_record& r) {
  const content_id& id = r.summary.id;
  auto m = decode_manifest(r.manifest_bytes);
  if (!m)
    return error{errc::store_corrupt,
                 "the catalog's manifest of " + id.str() + " is damaged: " + m.err().message};
  return m;
}

result<export_result> store::export_to(const content_id& id, const fs::path& out,
                                       const progress_fn& progress) {
  auto rec = record(id);
  if (!rec) return std::move(rec).err();
  const content_summary& sum = rec->summary;
  if (!sum.complete())
    return error{errc::not_found, "content " + id.str() + " is incomplete (" +
                                      std::to_string(sum.have_count) + " of " +
                                      std::to_string(sum.piece_count) +
                                      " pieces); it can be exported once complete"};
  auto m = manifest_of(*rec);
  if (!m) return std::move(m).err();
  auto have = piece_set::from_bytes(sum.piece_count, rec->have);
  if (!have)
    return error{errc::store_corrupt, "catalog entry " + id.str() + ": " + have.err().message};

  auto w = export_writer::begin(id, *m, out, sum.name);
  if (!w) return std::move(w).err();
  const fs::path data_file = data_path(id);
  auto data = open_file(data_file, O_RDONLY);
  if (!data) return std::move(data).err();

  const content_layout layout(*m);
  catalog* writable = mode_ == access::read_write ? catalog_.get() : nullptr;
  crypto::sha256_hasher hasher;
  std::vector<std::uint8_t> buf;
  direct_reader source(data->get(), data_file);  // bypasses the page cache (direct_write.hpp)
  std::uint64_t written = 0;
  for (std::uint64_t i = 0; i < layout.piece_count(); ++i) {
    const piece_index p{i};
    SHOAL_TRY(read_verified(writable, *rec, *have, *m, layout, data->get(), data_file, p, buf,
                            hasher, nullptr, &source));
    SHOAL_TRY((*w)->write_piece(p, buf));
    written += buf.size();
    if (progress) progress(written, sum.total_size);
  }
  auto r = (*w)->finish(data_file, rec->piece_hashes);  // every piece handed over: no re-read
  if (r && progress) progress(sum.total_size, sum.total_size);
  return r;
}

result<verify_result> store::verify(const content_id& id, const progress_fn& progress,
                                    const std::atomic<bool>* stop) {
  // Read-only (beside a running daemon) a damaged piece is reported but not marked missing.
  catalog* writable = mode_ == access::read_write ? catalog_.get() : nullptr;
  auto rec = record(id);
  if (!rec) return std::move(rec).err();
  auto m = manifest_of(*rec);
  if (!m) return std::move(m).err();
  auto have = piece_set::from_bytes(rec->summary.piece_count, rec->have);
  if (!have)
    return error{errc::store_corrupt, "catalog entry " + id.str() + ": " + have.err().message};
  const content_layout layout(*m);
  const fs::path data_file = data_path(id);
  auto data = open_file(data_file, O_RDONLY);
  if (!data) return std::move(data).err();
  crypto::sha256_hasher hasher;
  std::vector<std::uint8_t> buf;
  verify_result out;
  std::uint64_t done = 0;
  for (std::uint64_t i = 0; i < layout.piece_count(); ++i) {
    const piece_index p{i};
    if (!have->contains(p)) continue;
    ++out.pieces_checked;
    auto r =
        read_verified(writable, *rec, *have, *m, layout, data->get(), data_file, p, buf, hasher);
    if (!r) {
      if (r.err().code != errc::hash_mismatch) return std::move(r).err();
      out.bad_pieces.push_back(p);
    }
    done += layout.locate(p).length;
    if (progress) progress(done, rec->summary.total_size);
    if (stop && stop->load(std::memory_order_relaxed))
      return error{errc::cancelled, "the verify of " + id.str() + " was cancelled"};
  }
  return out;
}

result<void> store::mark_missing(const content_id& id, const std::vector<piece_index>& pieces) {
  SHOAL_TRY(require_write());
  if (fetching_.contains(id)) return error{errc::busy, "content " + id.str() + " is being fetched"};
  auto rec = record(id);
  if (!rec) return std::move(rec).err();
  auto have = piece_set::from_bytes(rec->summary.piece_count, rec->have);
  if (!have)
    return error{errc::store_corrupt, "catalog entry " + id.str() + ": " + have.err().message};
  for (auto p : pieces)
    if (p.value < have->size()) have->erase(p);
  return catalog_->set_have(id, have->bytes(), have->count());
}

result<void> store::set_pinned(const content_id& id, bool pinned) {
  SHOAL_TRY(require_write());
  auto rec = record(id);
  if (!rec) return std::move(rec).err();
  rec->summary.pinned = pinned;
  // The record first: a crash in between leaves the record ahead of the row, and a repair then
  // follows what was asked last.
  SHOAL_TRY(write_record(*rec));
  SHOAL_TRY(catalog_->set_pinned(id, pinned));
  return catalog_->checkpoint();
}

result<std::uint64_t> store::remove(const content_id& id) {
  SHOAL_TRY(require_write());
  auto rec = record(id);
  if (!rec) return std::move(rec).err();
  if (rec->summary.pinned)
    return error{errc::pinned, "content " + id.str() + " is pinned; unpin it first (shoal unpin " +
                                   id.str() + ")"};
  if (fetching_.contains(id)) return error{errc::busy, "content " + id.str() + " is being fetched"};
  struct stat st {};
  const fs::path p = data_path(id);
  const std::uint64_t freed =
      ::stat(p.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_blocks) * 512 : 0;
  // The data leaves data/ first, into tmp/ (which open() empties): a crash after it leaves a row
  // whose data is gone (marked as having no pieces) and never a data file that a surviving
  // record would bring back.
  const fs::path doomed = dir_ / "tmp" / ("rm-" + id.str());
  if (std::error_code ec; fs::exists(p, ec)) SHOAL_TRY(rename_path(p, doomed));
  SHOAL_TRY(catalog_->erase(id));
  SHOAL_TRY(remove_tree(meta_dir() / id.str()));
  SHOAL_TRY(remove_tree(doomed));
  return freed;
}

result<std::vector<content_summary>> store::collect_garbage() {
  SHOAL_TRY(require_write());
  auto all = catalog_->list();
  if (!all) return std::move(all).err();
  std::vector<content_summary> removed;
  for (const auto& c : *all) {
    if (c.pinned || fetching_.contains(c.id)) continue;
    SHOAL_TRY(remove(c.id));
    removed.push_back(c);
  }
  return removed;
}

result<std::unique_ptr<partial_content>> store::open_partial(const manifest& m, std::string name,
                                                             std::vector<hash256> piece_hashes) {
  SHOAL_TRY(require_write());
  SHOAL_TRY(validate(m));
  const content_layout layout(m);
  if (piece_hashes.size() != layout.piece_count())
    return error{errc::hash_mismatch, std::to_string(piece_hashes.size()) +
                                          " piece hashes given for " +
                                          std::to_string(layout.piece_count()) + " pieces"};
  crypto::sha256_hasher hasher;
  for (const file_layout& f : layout.files()) {
    const std::span<const hash256> slice(piece_hashes.data() + f.first_piece, f.piece_count);
    if (merkle::root_from_pieces(hasher, slice, f.size) != m.entries[f.entry].root)
      return error{errc::hash_mismatch, "the piece hashes of \"" + m.entries[f.entry].path +
                                            "\" do not match its Merkle root"};
  }
  const auto manifest_bytes = encode(m);
  const content_id id = content_id::of_manifest(manifest_bytes);
  if (fetching_.contains(id))
    return error{errc::busy, "content " + id.str() + " is already being fetched"};

  auto existing = catalog_->find(id);
  if (!existing) return std::move(existing).err();
  piece_set have(layout.piece_count());
  const fs::path path = data_path(id);
  if (existing->has_value()) {
    auto h = piece_set::from_bytes(layout.piece_count(), (*existing)->have);
    if (!h) return error{errc::store_corrupt, "catalog entry " + id.str() + ": " + h.err().message};
    have = std::move(*h);
  }
  content_record rec;
  if (!existing->has_value()) {
    rec.summary = summarize(id, m, std::move(name), layout, 0, false);
    rec.manifest_bytes = manifest_bytes;
    rec.piece_hashes = piece_hashes;
    rec.have = have.bytes();
    // The record before the data file, as in add().
    SHOAL_TRY(write_record(rec));
  }
  auto fd = open_file(path, O_RDWR | O_CREAT, 0600);
  if (!fd) return std::move(fd).err();
  if (!existing->has_value()) {
    // Reserve first so a full disk is reported now rather than halfway through the fetch.
    auto r = reserve_space(fd->get(), layout.total_size(), path);
    if (r) r = catalog_->put(rec);
    if (!r) {
      (void)remove_tree(path);
      (void)remove_tree(meta_dir() / id.str());
      return r.err();
    }
  }
  fetching_.insert(id);
  return std::unique_ptr<partial_content>(new partial_content(
      *this, id, m, std::move(piece_hashes), std::move(have), std::move(*fd), path));
}

result<std::vector<std::uint8_t>> store::read_piece(const content_id& id, piece_index p) {
  auto rec = record(id);
  if (!rec) return std::move(rec).err();
  if (p.value >= rec->summary.piece_count)
    return error{errc::invalid_argument,
                 "piece " + std::to_string(p.value) + " is out of range for " + id.str()};
  auto have = piece_set::from_bytes(rec->summary.piece_count, rec->have);
  if (!have)
    return error{errc::store_corrupt, "catalog entry " + id.str() + ": " + have.err().message};
  if (!have->contains(p))
    return error{errc::not_found,
                 "piece " + std::to_string(p.value) + " of " + id.str() + " is not present"};
  auto m = manifest_of(*rec);
  if (!m) return std::move(m).err();
  const content_layout layout(*m);
  auto data = open_file(data_path(id), O_RDONLY);
  if (!data) return std::move(data).err();
  crypto::sha256_hasher hasher;
  std::vector<std::uint8_t> buf;
  catalog* writable = mode_ == access::read_write ? catalog_.get() : nullptr;
  SHOAL_TRY(
      read_verified(writable, *rec, *have, *m, layout, data->get(), data_path(id), p, buf, hasher));
  return buf;
}

result<std::unique_ptr<content_reader>> store::open_reader(const content_id& id) {
  auto rec = record(id);
  if (!rec) return std::move(rec).err();
  auto have = piece_set::from_bytes(rec->summary.piece_count, rec->have);
  if (!have)
    return error{errc::store_corrupt, "catalog entry " + id.str() + ": " + have.err().message};
  auto m = manifest_of(*rec);
  if (!m) return std::move(m).err();
  auto fd = open_file(data_path(id), O_RDONLY);
  if (!fd) return std::move(fd).err();
  return std::unique_ptr<content_reader>(new content_reader(
      *this, std::move(*rec), std::move(*m), std::move(*have), std::move(*fd), data_path(id)));
}

result<void> content_reader::refresh() {
  auto rec = store_.record(id());
  if (!rec) return std::move(rec).err();
  auto have = piece_set::from_bytes(record_.summary.piece_count, rec->have);
  if (!have)
    return error{errc::store_corrupt, "catalog entry " + id().str() + ": " + have.err().message};
  have_ = std::move(*have);
  record_.summary.have_count = have_.count();
  return {};
}

result<std::vector<std::uint8_t>> content_reader::read_piece(piece_index p,
                                                             std::vector<hash256>* leaves) {
  if (p.value >= layout_.piece_count())
    return error{errc::invalid_argument,
                 "piece " + std::to_string(p.value) + " is out of range for " + id().str()};
  if (!have_.contains(p))
    return error{errc::not_found,
                 "piece " + std::to_string(p.value) + " of " + id().str() + " is not present"};
  std::vector<std::uint8_t> buf;
  catalog* writable = store_.mode_ == access::read_write ? store_.catalog_.get() : nullptr;
  SHOAL_TRY(read_verified(writable, record_, have_, manifest_, layout_, fd_.get(), path_, p, buf,
                          hasher_, leaves));
  return buf;
}

result<std::optional<std::vector<std::uint8_t>>> content_reader::read_piece_detached(
    piece_index p, crypto::sha256_hasher& hasher) const {
  if (p.value >= layout_.piece_count())
    return error{errc::invalid_argument,
                 "piece " + std::to_string(p.value) + " is out of range for " + id().str()};
  std::vector<std::uint8_t> buf;
  auto good = read_and_check(record_, layout_, fd_.get(), path_, p, buf, hasher, nullptr, nullptr);
  if (!good) return std::move(good).err();
  if (!*good) return std::optional<std::vector<std::uint8_t>>();
  return std::optional(std::move(buf));
}

partial_content::~partial_content() {
  store_.fetching_.erase(id_);
}

result<void> partial_content::write_piece(piece_index p, byte_span data) {
  if (p.value < layout_.piece_count() && have_.contains(p)) return {};
  SHOAL_TRY(check_piece(p, data));
  if (merkle::piece_hash(hasher_, data) != hashes_[p.value])
    return error{errc::hash_mismatch, "piece " + std::to_string(p.value) + " of " + id_.str() +
                                          " does not match its hash"};
  SHOAL_TRY(write_verified_data(p, data));
  return mark_stored(p);
}

result<void> partial_content::check_piece(piece_index p, byte_span data) const {
  if (p.value >= layout_.piece_count())
    return error{errc::invalid_argument,
                 "piece " + std::to_string(p.value) + " is out of range for " + id_.str()};
  const std::uint64_t length = layout_.locate(p).length;
  if (data.size() != length)
    return error{errc::hash_mismatch, "piece " + std::to_string(p.value) + " of " + id_.str() +
                                          " has " + std::to_string(data.size()) +
                                          " bytes; expected " + std::to_string(length)};
  return {};
}

result<void> partial_content::write_verified_data(piece_index p, byte_span data) {
  SHOAL_TRY(check_piece(p, data));
  const piece_location loc = layout_.locate(p);
  return writer_.write(data, layout_.files()[loc.file].data_offset + loc.offset_in_file);
}

result<void> partial_content::mark_stored(piece_index p) {
  if (p.value >= layout_.piece_count())
    return error{errc::invalid_argument,
                 "piece " + std::to_string(p.value) + " is out of range for " + id_.str()};
  if (have_.contains(p)) return {};
  have_.insert(p);
  if (auto r = store_.catalog_->set_have(id_, have_.bytes(), have_.count()); !r) {
    have_.erase(p);
    return r;
  }
  if (have_.complete()) return store_.catalog_->checkpoint();
  return {};
}

}  // namespace shoal::store
