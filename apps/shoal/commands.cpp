#include "commands.hpp"

#include <fmt/format.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>
#include <optional>

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
// else, while a daemon holds it, a read-only view beside the daemon (SQLite WAL allows that).
result<std::unique_ptr<store::store>> open_store_to_read(const context& c) {
  auto s = open_store(c, store::access::read_write);
  if (!s && s.err().code == errc::busy) return open_store(c, store::access::read_only);
  return s;
}

json to_json(const store::content_summary& s) {
  return json{{"id", s.id.str()},
              {"name", s.name},
              {"kind", s.kind == root_kind::file ? "file" : "directory"},
              {"size", s.total_size},
              {"files", s.file_count},
              {"pieces", s.piece_count},
              {"pieces_present", s.have_count},
              {"complete", s.complete()},
              {"pinned", s.pinned},
              {"added_at", s.added_at}};
}

std::string state_of(const store::content_summary& s) {
  if (s.complete()) return "complete";
  return fmt::format("partial {:.0f}%", 100.0 * static_cast<double>(s.have_count) /
                                            static_cast<double>(s.piece_count));
}

store::progress_fn reporter_fn(host::progress_reporter& r) {
  return [&r](std::uint64_t done, std::uint64_t total) { r.update(done, total); };
}

}  // namespace

int fail(const context& c, const error& e) {
  std::fprintf(stderr, "shoal: error: %s\n", e.message.c_str());
  if (c.json) print_json(json{{"error", {{"code", errc_name(e.code)}, {"message", e.message}}}});
  return 1;
}

int add(const context& c, const std::filesystem::path& source, bool pin) {
  auto s = open_store(c, store::access::read_write);
  if (!s) return fail(c, s.err());
  host::progress_reporter progress("adding " + source.filename().string(), c.style);
  auto r = (*s)->add(source, pin, reporter_fn(progress));
  progress.finish();
  if (!r) return fail(c, r.err());
  const auto& info = r->content;
  if (c.json) {
    json j = to_json(info);
    j["already_present"] = r->already_present;
    print_json(j);
  } else {
    if (c.style != host::progress_style::quiet)
      std::fprintf(stderr, "%s %s: %s in %llu file%s%s\n",
                   r->already_present ? "already held" : "added", info.name.c_str(),
                   host::format_bytes(static_cast<double>(info.total_size)).c_str(),
                   static_cast<unsigned long long>(info.file_count),
                   info.file_count == 1 ? "" : "s", info.pinned ? ", pinned" : "");
    std::printf("%s\n", info.id.str().c_str());
  }
  return 0;
}

int list(const context& c) {
  auto s = open_store(c, store::access::read_only);
  if (!s) return fail(c, s.err());
  auto all = (*s)->list();
  if (!all) return fail(c, all.err());
  if (c.json) {
    json arr = json::array();
    for (const auto& x : *all) arr.push_back(to_json(x));
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
  auto s = open_store(c, store::access::read_write);
  if (!s) return fail(c, s.err());
  auto freed = (*s)->remove(*id);
  if (!freed) return fail(c, freed.err());
  if (c.json)
    print_json(json{{"removed", id->str()}, {"bytes_freed", *freed}});
  else
    std::printf("removed %s (%s freed)\n", id->str().c_str(),
                host::format_bytes(static_cast<double>(*freed)).c_str());
  return 0;
}

int pin(const context& c, const std::string& id_text, bool pinned) {
  auto id = content_id::parse(id_text);
  if (!id) return fail(c, id.err());
  auto s = open_store(c, store::access::read_write);
  if (!s) return fail(c, s.err());
  if (auto r = (*s)->set_pinned(*id, pinned); !r) return fail(c, r.err());
  if (c.json)
    print_json(json{{"id", id->str()}, {"pinned", pinned}});
  else
    std::printf("%s %s\n", pinned ? "pinned" : "unpinned", id->str().c_str());
  return 0;
}

int gc(const context& c) {
  auto s = open_store(c, store::access::read_write);
  if (!s) return fail(c, s.err());
  auto removed = (*s)->collect_garbage();
  if (!removed) return fail(c, removed.err());
  if (c.json) {
    json arr = json::array();
    for (const auto& x : *removed) arr.push_back(to_json(x));
    print_json(json{{"removed", arr}});
    return 0;
  }
  for (const auto& x : *removed) std::printf("removed %s %s\n", x.id.str().c_str(), x.name.c_str());
  std::printf("%zu content%s removed\n", removed->size(), removed->size() == 1 ? "" : "s");
  return 0;
}

int verify(const context& c, const std::string& id_text) {
  auto id = content_id::parse(id_text);
  if (!id) return fail(c, id.err());
  auto s = open_store_to_read(c);
  if (!s) return fail(c, s.err());
  host::progress_reporter progress("verifying " + id_text.substr(0, 12), c.style);
  auto r = (*s)->verify(*id, reporter_fn(progress));
  progress.finish();
  if (!r) return fail(c, r.err());
  // After the check: a content with pieces missing (found bad now or before, or never fetched)
  // is not whole, and a check that passes must not let that go unsaid (issue 22, item 6).
  std::optional<store::content_summary> summary;
  if (auto found = (*s)->info(*id)) summary = *found;
  const bool whole = summary && summary->complete();
  if (c.json) {
    json bad = json::array();
    for (auto p : r->bad_pieces) bad.push_back(p.value);
    json out{{"id", id->str()}, {"pieces_checked", r->pieces_checked}, {"bad_pieces", bad}};
    if (summary) {
      out["pieces"] = summary->piece_count;
      out["pieces_held"] = summary->have_count;
      out["complete"] = whole;
    }
    print_json(out);
  } else {
    std::printf("%s: %llu pieces checked, %zu bad%s\n", id->str().c_str(),
                static_cast<unsigned long long>(r->pieces_checked), r->bad_pieces.size(),
                r->bad_pieces.empty() ? ""
                : (*s)->mode() == store::access::read_write
                    ? " (now marked missing)"
                    : " (another process, such as the "
                      "daemon, holds the store; they are "
                      "dropped when next read for writing)");
    if (summary && !whole)
      std::printf(
          "%s: incomplete: %llu of %llu pieces held; `shoal get %s` fetches the missing "
          "ones from the network (or `shoal add` the original again)\n",
          id->str().c_str(), static_cast<unsigned long long>(summary->have_count),
          static_cast<unsigned long long>(summary->piece_count), id->str().c_str());
  }
  return r->bad_pieces.empty() && whole ? 0 : 1;
}

int repair_store(const context& c) {
  host::progress_reporter progress("checking every piece", c.style);
  auto r = store::store::repair(c.config.data_dir, reporter_fn(progress));
  progress.finish();
  if (!r) return fail(c, r.err());
  if (c.json) {
    json adopted = json::array(), quarantined = json::array();
    for (const auto& a : r->contents) adopted.push_back(to_json(a.content));
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
