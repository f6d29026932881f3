#include "store/catalog.hpp"

#include <sqlite3.h>

#include <cctype>
#include <cstdio>
#include <cstring>

namespace shoal::store {
namespace {

// A prepared statement that finalizes itself.
class statement {
 public:
  statement(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~statement() { sqlite3_finalize(s_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  bool prepared() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(s_, i, v); }
  void bind_blob(int i, const void* p, std::size_t n) {
    // A zero-length blob must still be a blob, not NULL, for the NOT NULL columns.
    if (n == 0)
      sqlite3_bind_zeroblob(s_, i, 0);
    else
      sqlite3_bind_blob64(s_, i, p, n, SQLITE_TRANSIENT);
  }
  int step() { return sqlite3_step(s_); }
  std::int64_t int64(int col) { return sqlite3_column_int64(s_, col); }
  std::string text(int col) {
    const auto* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  std::vector<std::uint8_t> blob(int col) {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_, col));
    const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s_, col));
    return p ? std::vector<std::uint8_t>(p, p + n) : std::vector<std::uint8_t>();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS content (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  kind         INTEGER NOT NULL,
  manifest     BLOB NOT NULL,
  piece_hashes BLOB NOT NULL,
  total_size   INTEGER NOT NULL,
  file_count   INTEGER NOT NULL,
  piece_count  INTEGER NOT NULL,
  have         BLOB NOT NULL,
  have_count   INTEGER NOT NULL,
  pinned       INTEGER NOT NULL DEFAULT 0,
  added_at     INTEGER NOT NULL
) STRICT;
)sql";

constexpr const char* summary_columns =
    "id, name, kind, total_size, file_count, piece_count, have_count, pinned, added_at";

result<content_summary> read_summary(statement& s, const std::filesystem::path& file) {
  content_summary c;
  auto id = content_id::parse(s.text(0));
  if (!id)
    return error{errc::store_corrupt,
                 "catalog \"" + file.string() + "\" holds a bad ID: " + id.err().message};
  c.id = *id;
  c.name = s.text(1);
  c.kind = static_cast<root_kind>(s.int64(2));
  c.total_size = static_cast<std::uint64_t>(s.int64(3));
  c.file_count = static_cast<std::uint64_t>(s.int64(4));
  c.piece_count = static_cast<std::uint64_t>(s.int64(5));
  c.have_count = static_cast<std::uint64_t>(s.int64(6));
  c.pinned = s.int64(7) != 0;
  c.added_at = s.int64(8);
  return c;
}

}  // namespace

error catalog::db_error(const std::string& what) const {
  const int rc = sqlite3_extended_errcode(db_);
  errc code = errc::io_error;
  switch (rc & 0xFF) {
    case SQLITE_FULL:
      code = errc::disk_full;
      break;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
      code = errc::permission_denied;
      break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      code = errc::store_corrupt;
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      code = errc::busy;
      break;
    default:
      break;
  }
  return error{code, "catalog \"" + file_.string() + "\": " + what + ": " + sqlite3_errmsg(db_)};
}

result<std::unique_ptr<catalog>> catalog::open(const std::filesystem::path& file) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      file.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<catalog> c(new catalog(db, file));
  if (rc != SQLITE_OK) return c->db_error("cannot open");
  sqlite3_busy_timeout(db, 5000);
  // WAL keeps readers and the writer apart; synchronous=NORMAL is durable across a killed
  // process, and a power loss can only lose the last commits, never corrupt the database.
  SHOAL_TRY(c->exec("PRAGMA journal_mode=WAL"));
  SHOAL_TRY(c->exec("PRAGMA synchronous=NORMAL"));
  statement v(db, "PRAGMA user_version");
  if (!v.prepared() || v.step() != SQLITE_ROW) return c->db_error("cannot read the schema version");
  const auto version = v.int64(0);
  if (version > schema_version)
    return error{errc::unsupported, "catalog \"" + file.string() + "\" has schema version " +
                                        std::to_string(version) + ", newer than this build's " +
                                        std::to_string(schema_version) + "; upgrade shoal"};
  if (version < schema_version) {
    SHOAL_TRY(c->exec(schema_sql));
    SHOAL_TRY(c->exec(("PRAGMA user_version=" + std::to_string(schema_version)).c_str()));
  }
  return c;
}

result<std::unique_ptr<catalog>> catalog::open_read_only(const std::filesystem::path& file) {
  const auto attempt = [&](bool immutable) -> result<std::unique_ptr<catalog>> {
    sqlite3* db = nullptr;
    // A URI, so that the immutable flag can be given; the path is escaped as a URI path.
    std::string uri = "file:";
    for (unsigned char ch : file.string()) {
      if (std::isalnum(ch) || std::strchr("/._-~", ch))
        uri += static_cast<char>(ch);
      else {
        char esc[4];
        std::snprintf(esc, sizeof esc, "%%%02X", ch);
        uri += esc;
      }
    }
    if (immutable) uri += "?immutable=1";
    const int rc = sqlite3_open_v2(
        uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<catalog> c(new catalog(db, file));
    if (rc != SQLITE_OK) return c->db_error("cannot open");
    sqlite3_busy_timeout(db, 5000);
    statement v(db, "PRAGMA user_version");
    if (!v.prepared() || v.step() != SQLITE_ROW)
      return c->db_error("cannot read the schema version");
    const auto version = v.int64(0);
    if (version != schema_version)
      return error{errc::unsupported,
                   "catalog \"" + file.string() + "\" has schema version " +
                       std::to_string(version) + " and this build reads " +
                       std::to_string(schema_version) + ": " +
                       (version > schema_version ? "upgrade shoal"
                                                 : "any writing command upgrades it in place")};
    return c;
  };
  auto r = attempt(false);
  if (r || r.err().code != errc::permission_denied) return r;
  return attempt(true);
}

catalog::~catalog() {
  sqlite3_close_v2(db_);
}

result<void> catalog::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    auto e = db_error(std::string("cannot run \"") + std::string(sql).substr(0, 40) + "\"");
    sqlite3_free(msg);
    return e;
  }
  return {};
}

result<void> catalog::put(const content_record& r) {
  statement s(db_,
              "INSERT OR REPLACE INTO content (id, name, kind, manifest, piece_hashes, total_size, "
              "file_count, piece_count, have, have_count, pinned, added_at) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  if (!s.prepared()) return db_error("cannot prepare insert");
  const auto& c = r.summary;
  s.bind(1, c.id.str());
  s.bind(2, c.name);
  s.bind(3, static_cast<std::int64_t>(c.kind));
  s.bind_blob(4, r.manifest_bytes.data(), r.manifest_bytes.size());
  s.bind_blob(5, r.piece_hashes.data(), r.piece_hashes.size() * hash256::size);
  s.bind(6, static_cast<std::int64_t>(c.total_size));
  s.bind(7, static_cast<std::int64_t>(c.file_count));
  s.bind(8, static_cast<std::int64_t>(c.piece_count));
  s.bind_blob(9, r.have.data(), r.have.size());
  s.bind(10, static_cast<std::int64_t>(c.have_count));
  s.bind(11, std::int64_t{c.pinned});
  s.bind(12, c.added_at);
  if (s.step() != SQLITE_DONE) return db_error("cannot record " + c.id.str());
  return {};
}

result<std::optional<content_record>> catalog::find(const content_id& id) {
  statement s(db_, (std::string("SELECT ") + summary_columns +
                    ", manifest, piece_hashes, have FROM content WHERE id = ?1")
                       .c_str());
  if (!s.prepared()) return db_error("cannot prepare lookup");
  s.bind(1, id.str());
  const int rc = s.step();
  if (rc == SQLITE_DONE) return std::optional<content_record>{};
  if (rc != SQLITE_ROW) return db_error("cannot look up " + id.str());
  content_record r;
  auto summary = read_summary(s, file_);
  if (!summary) return std::move(summary).err();
  r.summary = *summary;
  r.manifest_bytes = s.blob(9);
  const auto hashes = s.blob(10);
  if (hashes.size() != r.summary.piece_count * hash256::size)
    return error{errc::store_corrupt, "catalog entry " + id.str() + " has " +
                                          std::to_string(hashes.size()) +
                                          " bytes of piece hashes for " +
                                          std::to_string(r.summary.piece_count) + " pieces"};
  r.piece_hashes.resize(r.summary.piece_count);
  if (!hashes.empty()) std::memcpy(r.piece_hashes.data(), hashes.data(), hashes.size());
  r.have = s.blob(11);
  return std::optional<content_record>(std::move(r));
}

result<std::vector<content_summary>> catalog::list() {
  statement s(
      db_,
      (std::string("SELECT ") + summary_columns + " FROM content ORDER BY added_at, id").c_str());
  if (!s.prepared()) return db_error("cannot prepare listing");
  std::vector<content_summary> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    auto c = read_summary(s, file_);
    if (!c) return std::move(c).err();
    out.push_back(std::move(*c));
  }
  if (rc != SQLITE_DONE) return db_error("cannot list content");
  return out;
}

result<void> catalog::set_have(const content_id& id, const std::vector<std::uint8_t>& have,
                               std::uint64_t have_count) {
  statement s(db_, "UPDATE content SET have = ?2, have_count = ?3 WHERE id = ?1");
  if (!s.prepared()) return db_error("cannot prepare update");
  s.bind(1, id.str());
  s.bind_blob(2, have.data(), have.size());
  s.bind(3, static_cast<std::int64_t>(have_count));
  if (s.step() != SQLITE_DONE) return db_error("cannot record the pieces of " + id.str());
  return {};
}

result<void> catalog::set_pinned(const content_id& id, bool pinned) {
  statement s(db_, "UPDATE content SET pinned = ?2 WHERE id = ?1");
  if (!s.prepared()) return db_error("cannot prepare update");
  s.bind(1, id.str());
  s.bind(2, std::int64_t{pinned});
  if (s.step() != SQLITE_DONE) return db_error("cannot pin " + id.str());
  if (sqlite3_changes(db_) == 0)
    return error{errc::not_found, "no content " + id.str() + " in this store"};
  return {};
}

result<void> catalog::erase(const content_id& id) {
  statement s(db_, "DELETE FROM content WHERE id = ?1");
  if (!s.prepared()) return db_error("cannot prepare delete");
  s.bind(1, id.str());
  if (s.step() != SQLITE_DONE) return db_error("cannot remove " + id.str());
  return {};
}

result<void> catalog::checkpoint() {
  const int rc =
      sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  // BUSY means another connection is checkpointing; the frames stay in the WAL, which is fine.
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) return db_error("cannot checkpoint");
  return {};
}

}  // namespace shoal::store
