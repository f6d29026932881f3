#include "commands.hpp"

#include <fmt/format.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

#include "host/content_json.hpp"
#include "store/store.hpp"

namespace shoal::cli {
namespace {

using nlohmann::json;

void print_json(const json& j) {
  std::printf("%s\n", j.dump(2).c_str());
}

result<std::unique_ptr<store::store>> open_store(const context& c, store::access mode) {
  auto s = store::store::open(c.config.data_dir, mode);
  if (s)
    for (const auto& w : (*s)->warnings()) std::fprintf(stderr, "shoal: warning: %s\n", w.c_str());
  return s;
}

// For commands that only read content (export, verify): the store for writing when it is free,
// else, while a daemon holds it, a read-only view beside the daemon (SQLite WAL allows that),
// and a read-only view too where this process may not write (read-only media, another user's
// store): reading needs no lock there, since nothing of this process can change it.
result<std::unique_ptr<store::store>> open_store_to_read(const context& c) {
  auto s = open_store(c, store::access::read_write);
  if (!s && (s.err().code == errc::busy || s.err().code == errc::permission_denied))
    return open_store(c, store::access::read_only);
  return s;
}

std::string state_of(const store::content_summary& s) {
  if (s.complete()) return "complete";
  return fmt::format("partial {:.0f}%", 100.0 * static_cast<double>(s.have_count) /
                                            static_cast<double>(s.piece_count));
}

store::progress_fn reporter_fn(host::progress_reporter& r) {
  return [&r](std::uint64_t done, std::uint64_t total) { r.update(done, total); };
}

// A content operation on the store when this process can take it for writing, else through the
// daemon that holds it (issue 21, item 1): the same JSON either way (host/content_json.hpp). If
// the store is held by another process that is not a daemon, its error says which.
result<json> on_store_or_daemon(const context& c, const json& req,
                                host::progress_reporter* progress,
                                const std::function<result<json>(store::store&)>& local) {
  auto s = open_store(c, store::access::read_write);
  if (s) return local(**s);
  if (s.err().code != errc::busy) return std::move(s).err();
  auto conn = host::control_connection::open(c.config.data_dir);
  if (!conn) return std::move(s).err();
  return daemon_op(*conn, req, progress);
}

}  // namespace

int fail(const context& c, const error& e) {
  std::fprintf(stderr, "shoal: error: %s\n", e.message.c_str());
  if (c.json) print_json(json{{"error", {{"code", errc_name(e.code)}, {"message", e.message}}}});
  return 1;
}

int add(const context& c, const std::filesystem::path& source, bool pin) {
  host::progress_reporter progress("adding " + source.filename().string(), c.style);
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(source, ec);
  auto r = on_store_or_daemon(c, {{"op", "add"}, {"path", absolute.string()}, {"pin", pin}},
                              &progress, [&](store::store& s) -> result<json> {
                                auto a = s.add(source, pin, reporter_fn(progress));
                                if (!a) return std::move(a).err();
                                return host::add_json(*a);
                              });
  progress.finish();
  if (!r) return fail(c, r.err());
  const json& j = *r;
  if (c.json) {
    print_json(j);
    return 0;
  }
  if (c.style != host::progress_style::quiet) {
    const auto files = j.value("files", 0ull);
    std::fprintf(stderr, "%s %s: %s in %llu file%s%s\n",
                 j.value("already_present", false) ? "already held" : "added",
                 j.value("name", "").c_str(), host::format_bytes(j.value("size", 0.0)).c_str(),
                 static_cast<unsigned long long>(files), files == 1 ? "" : "s",
                 j.value("pinned", false) ? ", pinned" : "");
  }
  std::printf("%s\n", j.value("id", "").c_str());
  return 0;
}

int list(const context& c) {
  auto s = open_store(c, store::access::read_only);
  if (!s) return fail(c, s.err());
  auto all = (*s)->list();
  if (!all) return fail(c, all.err());
  if (c.json) {
    json arr = json::array();
    for (const auto& x : *all) arr.push_back(host::summary_json(x));
    print_json(arr);
    return 0;
  }
  if (all->empty()) {
    std::fprintf(stderr, "no content in %s\n", c.config.data_dir.c_str());
    return 0;
  }
  std::printf("%-55s  %10s  %-13s  %-6s  %s\n", "ID", "SIZE", "STATE", "PINNED", "NAME");
  for (const auto& x : *all)
    std::printf("%-55s  %10s  %-13s  %-6s  %s\n", x.id.str().c_str(),
                host::format_bytes(static_cast<double>(x.total_size)).c_str(), state_of(x).c_str(),
                x.pinned ? "yes" : "no", x.name.c_str());
  return 0;
}

namespace {

// `export ID -o -`: a file content's bytes on stdout, each piece verified before any of it is
// written (issue 22, item 5: `-o -` made a file named `-`). A piece that fails verification ends
// the stream there with an error: what came before it was whole and correct.
int export_to_stdout(const context& c, store::store& s, const content_id& id) {
  auto reader = s.open_reader(id);
  if (!reader) return fail(c, reader.err());
  const manifest& m = (*reader)->get_manifest();
  if (m.kind != root_kind::file)
    return fail(c, {errc::invalid_argument,
                    id.str() + " is a tree of " + std::to_string(m.entries.size()) +
                        " entries: only a single file can be written to stdout; give -o DIR"});
  const content_layout& layout = (*reader)->layout();
  if (!(*reader)->have().complete())
    return fail(c, {errc::not_found,
                    id.str() + " is incomplete here (" + std::to_string((*reader)->have().count()) +
                        " of " + std::to_string(layout.piece_count()) +
                        " pieces): fetch it first with `shoal get " + id.str() + "`"});
  host::progress_reporter progress("exporting " + id.str().substr(0, 12), c.style);
  std::uint64_t written = 0;
  for (std::uint64_t i = 0; i < layout.piece_count(); ++i) {
    auto bytes = (*reader)->read_piece(piece_index(i));
    if (!bytes) return fail(c, bytes.err());
    if (std::fwrite(bytes->data(), 1, bytes->size(), stdout) != bytes->size())
      return fail(c,
                  {errc::io_error, "cannot write to stdout: " + std::string(std::strerror(errno))});
    written += bytes->size();
    progress.update(written, m.entries.empty() ? written : m.entries.front().size);
  }
  if (std::fflush(stdout) != 0)
    return fail(c,
                {errc::io_error, "cannot write to stdout: " + std::string(std::strerror(errno))});
  progress.finish();
  return 0;
}

}  // namespace

int export_content(const context& c, const std::string& id_text, const std::filesystem::path& out) {
  auto id = content_id::parse(id_text);
  if (!id) return fail(c, id.err());
  auto s = open_store_to_read(c);
  if (!s) return fail(c, s.err());
  if (out == "-") {
    if (c.json)
      return fail(c, {errc::invalid_argument, "--json and -o - both want stdout: choose one"});
    return export_to_stdout(c, **s, *id);
  }
  host::progress_reporter progress("exporting " + id_text.substr(0, 12), c.style);
  auto r = (*s)->export_to(*id, out, reporter_fn(progress));
  progress.finish();
  if (!r) return fail(c, r.err());
  if (c.json)
    print_json(json{{"id", id->str()}, {"path", r->path.string()}, {"bytes", r->bytes}});
  else
    std::printf("%s\n", r->path.c_str());
  return 0;
}

int remove(const context& c, const std::string& id_text) {
  auto id = content_id::parse(id_text);
  if (!id) return fail(c, id.err());
  auto r = on_store_or_daemon(c, {{"op", "rm"}, {"id", id->str()}}, nullptr,
                              [&](store::store& s) -> result<json> {
                                auto freed = s.remove(*id);
                                if (!freed) return std::move(freed).err();
                                return host::removed_json(*id, *freed);
                              });
  if (!r) return fail(c, r.err());
  if (c.json)
    print_json(*r);
  else
    std::printf("removed %s (%s freed)\n", id->str().c_str(),
                host::format_bytes(r->value("bytes_freed", 0.0)).c_str());
  return 0;
}

int pin(const context& c, const std::string& id_text, bool pinned) {
  auto id = content_id::parse(id_text);
  if (!id) return fail(c, id.err());
  auto r = on_store_or_daemon(c, {{"op", pinned ? "pin" : "unpin"}, {"id", id->str()}}, nullptr,
                              [&](store::store& s) -> result<json> {
                                SHOAL_TRY(s.set_pinned(*id, pinned));
                                return host::pinned_json(*id, pinned);
                              });
  if (!r) return fail(c, r.err());
  if (c.json)
    print_json(*r);
  else
    std::printf("%s %s\n", pinned ? "pinned" : "unpinned", id->str().c_str());
  return 0;
}

int gc(const context& c) {
  auto r = on_store_or_daemon(c, {{"op", "gc"}}, nullptr, [&](store::store& s) -> result<json> {
    auto removed = s.collect_garbage();
    if (!removed) return std::move(removed).err();
    return host::gc_json(*removed);
  });
  if (!r) return fail(c, r.err());
  if (c.json) {
    print_json(*r);
    return 0;
  }
  const json removed = r->value("removed", json::array());
  for (const auto& x : removed)
    std::printf("removed %s %s\n", x.value("id", "").c_str(), x.value("name", "").c_str());
  std::printf("%zu content%s removed\n", removed.size(), removed.size() == 1 ? "" : "s");
  return 0;
}

namespace {

// verify on a store this process opened: for writing (bad pieces are marked missing), or a
// read-only view beside another process that holds it (they are only reported).
result<json> verify_on(store::store& s, const content_id& id, host::progress_reporter& progress) {
  auto r = s.verify(id, reporter_fn(progress));
  if (!r) return std::move(r).err();
  std::optional<store::content_summary> now;
  if (auto found = s.info(id)) now = *found;
  return host::verify_json(id, *r, now,
                           r->bad_pieces.empty() || s.mode() == store::access::read_write);
}

}  // namespace

int verify(const context& c, const std::string& id_text) {
  auto id = content_id::parse(id_text);
  if (!id) return fail(c, id.err());
  host::progress_reporter progress("verifying " + id_text.substr(0, 12), c.style);
  result<json> r = error{errc::io_error, "verify did not run"};
  auto s = open_store(c, store::access::read_write);
  if (s) {
    r = verify_on(**s, *id, progress);
  } else if (s.err().code != errc::busy) {
    r = s.err();
  } else if (auto conn = host::control_connection::open(c.config.data_dir)) {
    // The daemon holds the store: it checks, marks what is bad missing and stops serving it.
    r = daemon_op(*conn, {{"op", "verify"}, {"id", id->str()}}, &progress);
  } else if (auto view = open_store(c, store::access::read_only)) {
    r = verify_on(**view, *id, progress);
  } else {
    r = view.err();
  }
  progress.finish();
  if (!r) return fail(c, r.err());
  const json& j = *r;
  // After the check: a content with pieces missing (found bad now or before, or never fetched)
  // is not whole, and a check that passes must not let that go unsaid (issue 22, item 6).
  const bool whole = j.value("complete", false);
  const std::size_t bad = j.value("bad_pieces", json::array()).size();
  if (c.json) {
    print_json(j);
  } else {
    std::printf("%s: %llu pieces checked, %zu bad%s\n", id->str().c_str(),
                static_cast<unsigned long long>(j.value("pieces_checked", 0ull)), bad,
                bad == 0                           ? ""
                : j.value("marked_missing", false) ? " (now marked missing)"
                                                   : " (another process holds the store; they "
                                                     "are dropped when next read for writing)");
    if (j.contains("pieces") && !whole)
      std::printf(
          "%s: incomplete: %llu of %llu pieces held; `shoal get %s` fetches the missing "
          "ones from the network (or `shoal add` the original again)\n",
          id->str().c_str(), static_cast<unsigned long long>(j.value("pieces_held", 0ull)),
          static_cast<unsigned long long>(j.value("pieces", 0ull)), id->str().c_str());
  }
  return bad == 0 && whole ? 0 : 1;
}

int repair_store(const context& c) {
  host::progress_reporter progress("checking every piece", c.style);
  auto r = store::store::repair(c.config.data_dir, reporter_fn(progress));
  progress.finish();
  if (!r) return fail(c, r.err());
  if (c.json) {
    json adopted = json::array(), quarantined = json::array();
    for (const auto& a : r->contents) adopted.push_back(host::summary_json(a.content));
    for (const auto& q : r->quarantined) quarantined.push_back(q.string());
    print_json(json{{"contents", adopted},
                    {"quarantined", quarantined},
                    {"old_catalog", r->old_catalog.string()},
                    {"notes", r->notes}});
    return 0;
  }
  for (const auto& note : r->notes) std::fprintf(stderr, "shoal: note: %s\n", note.c_str());
  for (const auto& a : r->contents)
    std::printf("%s  %-13s  %s%s\n", a.content.id.str().c_str(), state_of(a.content).c_str(),
                a.content.name.c_str(), a.content.pinned ? " (pinned)" : "");
  for (const auto& q : r->quarantined)
    std::printf("kept aside %s: no record describes it\n", q.c_str());
  std::printf("catalog rebuilt: %zu content%s from their data files", r->contents.size(),
              r->contents.size() == 1 ? "" : "s");
  if (!r->quarantined.empty()) std::printf(", %zu quarantined", r->quarantined.size());
  if (!r->old_catalog.empty()) std::printf("; the old catalog is %s", r->old_catalog.c_str());
  std::printf("\n");
  return 0;
}

}  // namespace shoal::cli
