// What the store does with what a killed process, a damaged catalog or a careless operator left
// behind: the sweep at every open, the read-only survey, adoption of data files from their
// record files, quarantine, and `shoal store repair`. The rule throughout: nothing is deleted
// unless it is provably garbage (a temporary file, a record whose bytes are gone); anything else
// is kept, described in a warning, and given back to the catalog or set aside.
#include <fcntl.h>
#include <sys/stat.h>

#include <ctime>

#include "core/merkle.hpp"
#include "store/store.hpp"

namespace shoal::store {
namespace {

std::string quoted(const fs::path& p) {
  return "\"" + p.string() + "\"";
}

std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The names in a store subdirectory, without the temporary files of record writes; none if it
// does not exist. A directory that cannot be read is an error, never an empty list: the sweep
// decides what is garbage from these lists.
result<std::vector<std::string>> entries_of(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec == std::errc::no_such_file_or_directory) return out;
  for (; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (!name.starts_with(".tmp-")) out.push_back(std::move(name));
  }
  if (ec) return system_error(ec.value(), "cannot list " + quoted(dir));
  return out;
}

bool exists_quietly(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

std::string pieces_text(std::uint64_t have, std::uint64_t total) {
  return std::to_string(have) + " of " + std::to_string(total) + " piece" +
         (total == 1 ? "" : "s") + " verified";
}

}  // namespace

std::string repair_command(const fs::path& dir) {
  return "shoal --data-dir " + shell_quoted(dir.string()) + " store repair";
}

result<void> store::require_catalog(const fs::path& dir) {
  const fs::path file = dir / "catalog.db";
  std::error_code ec;
  const bool present = fs::exists(file, ec);
  const bool empty = present && fs::file_size(file, ec) == 0 && !ec;
  if (present && !empty) return {};
  auto data = entries_of(dir / "data");
  if (!data) return std::move(data).err();
  auto meta = entries_of(dir / "meta");
  if (!meta) return std::move(meta).err();
  if (data->empty() && meta->empty()) return {};
  return error{errc::store_corrupt,
               "catalog " + quoted(file) + (present ? " is empty" : " is missing") + " but " +
                   quoted(dir / "data") + " holds " + std::to_string(data->size()) + " data file" +
                   (data->size() == 1 ? "" : "s") +
                   "; nothing was changed. Rebuild the catalog from them with `" +
                   repair_command(dir) + "`"};
}

result<void> store::sweep() {
  std::error_code ec;
  for (fs::directory_iterator it(dir_ / "tmp", ec), end; !ec && it != end; it.increment(ec))
    SHOAL_TRY(remove_tree(it->path()));
  // Half-written records (a crash before their rename) describe nothing yet.
  for (fs::directory_iterator it(meta_dir(), ec), end; !ec && it != end; it.increment(ec))
    if (it->path().filename().string().starts_with(".tmp-")) SHOAL_TRY(remove_tree(it->path()));

  auto contents = catalog_->list();
  if (!contents) return std::move(contents).err();
  std::set<std::string> known;
  for (const auto& c : *contents) {
    known.insert(c.id.str());
    // A store written before record files existed, or a record lost: the row writes it again.
    if (exists_quietly(meta_dir() / c.id.str())) continue;
    auto rec = record(c.id);
    if (!rec) return std::move(rec).err();
    SHOAL_TRY(write_record(*rec));
  }

  auto data = entries_of(dir_ / "data");
  if (!data) return std::move(data).err();
  for (const std::string& name : *data) {
    if (known.contains(name)) continue;
    const fs::path file = dir_ / "data" / name;
    auto id = content_id::parse(name);
    if (!id) {
      if (auto to = quarantine(file, "its name is not a content ID"); !to)
        return std::move(to).err();
      continue;
    }
    auto rec = read_record_file(meta_dir(), *id);
    if (!rec) {
      auto to = quarantine(file, "no catalog entry claims it and its record file is unusable (" +
                                     rec.err().message + ")");
      if (!to) return std::move(to).err();
      continue;
    }
    auto adopted = adopt(*id, *rec);
    if (!adopted) return std::move(adopted).err();
    known.insert(name);
    warnings_.push_back("adopted " + quoted(file) + " (" + adopted->name +
                        "), which no catalog entry claimed (an "
                        "interrupted add or fetch, or a catalog that lost its last commits): " +
                        pieces_text(adopted->have_count, adopted->piece_count) +
                        (adopted->pinned ? ", pinned" : ""));
  }

  // A record whose content has neither a row nor a data file describes bytes that are gone.
  auto meta = entries_of(meta_dir());
  if (!meta) return std::move(meta).err();
  for (const std::string& name : *meta)
    if (!known.contains(name)) SHOAL_TRY(remove_tree(meta_dir() / name));

  for (const auto& c : *contents) {
    if (c.have_count == 0) continue;
    struct stat st {};
    const fs::path p = data_path(c.id);
    if (::stat(p.c_str(), &st) == 0 && static_cast<std::uint64_t>(st.st_size) >= c.total_size)
      continue;
    // The data is gone or cut short: nothing it claimed can be proven, so claim nothing.
    piece_set none(c.piece_count);
    SHOAL_TRY(catalog_->set_have(c.id, none.bytes(), 0));
    warnings_.push_back("data file " + quoted(p) + " is missing or truncated; " + c.id.str() +
                        " is now marked as having no pieces");
  }
  return {};
}

result<void> store::survey() {
  auto contents = catalog_->list();
  if (!contents) return std::move(contents).err();
  std::set<std::string> known;
  for (const auto& c : *contents) known.insert(c.id.str());
  auto data = entries_of(dir_ / "data");
  if (!data) return std::move(data).err();
  std::size_t unclaimed = 0;
  for (const std::string& name : *data) unclaimed += !known.contains(name);
  if (unclaimed > 0)
    warnings_.push_back(std::to_string(unclaimed) + " data file" + (unclaimed == 1 ? "" : "s") +
                        " in " + quoted(dir_ / "data") + (unclaimed == 1 ? " has" : " have") +
                        " no catalog entry and " + (unclaimed == 1 ? "is" : "are") +
                        " not listed; the next command that "
                        "opens the store for writing adopts them (or run `" +
                        repair_command(dir_) + "`)");
  return {};
}

result<content_summary> store::adopt(const content_id& id, const content_record_file& rec,
                                     const progress_fn& progress) {
  auto m = decode_manifest(rec.manifest_bytes);
  if (!m) return error{errc::store_corrupt, "record of " + id.str() + ": " + m.err().message};
  const content_layout layout(*m);
  const fs::path file = data_path(id);
  auto fd = open_file(file, O_RDONLY);
  if (!fd) return std::move(fd).err();
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return system_error(errno, "cannot stat " + quoted(file));
  const auto size = static_cast<std::uint64_t>(st.st_size);

  // Only what verifies is claimed: the record says what the bytes should be, not that they are.
  piece_set have(layout.piece_count());
  crypto::sha256_hasher hasher;
  std::vector<std::uint8_t> buf;
  std::uint64_t done = 0;
  for (std::uint64_t i = 0; i < layout.piece_count(); ++i) {
    const piece_index p{i};
    const piece_location loc = layout.locate(p);
    const std::uint64_t at = layout.files()[loc.file].data_offset + loc.offset_in_file;
    done += loc.length;
    if (progress) progress(done, layout.total_size());
    if (at + loc.length > size) continue;
    buf.resize(loc.length);
    SHOAL_TRY(pread_exact(fd->get(), buf, at, file));
    if (merkle::piece_hash(hasher, buf) == rec.piece_hashes[i]) have.insert(p);
  }

  content_record row;
  row.summary.id = id;
  row.summary.name = rec.name;
  row.summary.kind = m->kind;
  row.summary.total_size = layout.total_size();
  row.summary.file_count = layout.files().size();
  row.summary.piece_count = layout.piece_count();
  row.summary.have_count = have.count();
  row.summary.pinned = rec.pinned;
  row.summary.added_at = rec.added_at;
  row.manifest_bytes = rec.manifest_bytes;
  row.piece_hashes = rec.piece_hashes;
  row.have = have.bytes();
  SHOAL_TRY(catalog_->put(row));
  return row.summary;
}

result<fs::path> store::quarantine(const fs::path& data_file, const std::string& why) {
  const fs::path dir = dir_ / "quarantine";
  SHOAL_TRY(make_directories(dir, 0700));
  fs::path to = dir / data_file.filename();
  if (exists_quietly(to)) to += "." + random_token();
  SHOAL_TRY(rename_path(data_file, to));
  // Its record, damaged as it may be, goes with it: it is evidence, not garbage.
  const fs::path record = meta_dir() / data_file.filename();
  if (exists_quietly(record)) SHOAL_TRY(rename_path(record, fs::path(to) += ".record"));
  warnings_.push_back("moved " + quoted(data_file) + " to " + quoted(to) + ": " + why +
                      ". Nothing was deleted; it holds one content's files laid end to end");
  return to;
}

result<repair_report> store::repair(const fs::path& dir, const progress_fn& progress) {
  if (!exists_quietly(dir))
    return error{errc::not_found, "data directory " + quoted(dir) + " does not exist"};
  for (const char* sub : {"data", "meta", "tmp"}) SHOAL_TRY(make_directories(dir / sub, 0700));
  auto lock = lock_directory(dir);
  if (!lock) return std::move(lock).err();
  repair_report report;

  // What the old catalog still knows goes into record files first, so that a store written
  // before records existed keeps its names and pins.
  const fs::path file = dir / "catalog.db";
  std::error_code ec;
  if (exists_quietly(file) && fs::file_size(file, ec) > 0) {
    auto old = catalog::open(file);
    auto rows = old ? (*old)->list() : result<std::vector<content_summary>>(old.err());
    if (!rows) report.notes.push_back("the old catalog could not be read: " + rows.err().message);
    for (const auto& c : rows ? *rows : std::vector<content_summary>{}) {
      if (read_record_file(dir / "meta", c.id)) continue;  // intact: it stays as it is
      auto r = (*old)->find(c.id);
      if (!r || !r->has_value()) continue;
      if (auto w = write_record_file(dir / "meta", record_file_of(**r)); !w)
        report.notes.push_back("could not save the old catalog's entry for " + c.id.str() + ": " +
                               w.err().message);
    }
  }
  // The old catalog is kept, WAL and all, under a name SQLite still pairs with its WAL.
  if (exists_quietly(file)) {
    const std::string aside =
        "catalog-before-repair-" + std::to_string(static_cast<long long>(std::time(nullptr)));
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const fs::path from = dir / (std::string("catalog.db") + suffix);
      if (exists_quietly(from)) SHOAL_TRY(rename_path(from, dir / (aside + ".db" + suffix)));
    }
    report.old_catalog = dir / (aside + ".db");
  }

  auto cat = catalog::open(file);
  if (!cat) return std::move(cat).err();
  std::unique_ptr<store> s(new store(dir, access::read_write, std::move(*cat), std::move(*lock)));
  std::uint64_t total = 0, base = 0;
  auto listed = entries_of(dir / "data");
  if (!listed) return std::move(listed).err();
  const auto& names = *listed;
  for (const std::string& name : names) {
    std::error_code size_ec;
    const auto n = fs::file_size(dir / "data" / name, size_ec);
    if (!size_ec) total += n;
  }
  for (const std::string& name : names) {
    const fs::path data_file = dir / "data" / name;
    std::error_code size_ec;
    const auto n = fs::file_size(data_file, size_ec);
    auto id = content_id::parse(name);
    auto rec = id ? read_record_file(dir / "meta", *id)
                  : result<content_record_file>(errc::invalid_argument, "not a content ID");
    if (!rec) {
      auto to = s->quarantine(data_file, "no record file describes it (" + rec.err().message + ")");
      if (!to) return std::move(to).err();
      report.quarantined.push_back(*to);
      base += size_ec ? 0 : n;
      continue;
    }
    auto adopted = s->adopt(*id, *rec, [&](std::uint64_t done, std::uint64_t) {
      if (progress) progress(base + done, total);
    });
    if (!adopted) return std::move(adopted).err();
    report.contents.push_back({*adopted});
    base += size_ec ? 0 : n;
  }
  SHOAL_TRY(s->sweep());  // records with no data left, and the records of every adopted row
  SHOAL_TRY(s->catalog_->checkpoint());
  return report;
}

}  // namespace shoal::store
