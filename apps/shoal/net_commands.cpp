// `shoal daemon`, `shoal get` and `shoal status`: the commands that run or talk to the daemon.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "commands.hpp"
#include "host/config.hpp"
#include "host/control_client.hpp"
#include "host/daemon.hpp"
#include "host/logging.hpp"
#include "host/saved_limits.hpp"
#include "member/pem.hpp"
#include "net/address.hpp"
#include "store/store.hpp"

namespace shoal::cli {
namespace {

using nlohmann::json;

error error_from(const json& j) {
  const auto code = errc_from_name(j.value("code", "io_error"));
  return error{code && *code != errc::ok ? *code : errc::io_error,
               j.value("message", "the daemon reported an error")};
}

// The output the daemon wrote for this `get`, if it did (the `output` of its `done`).
result<store::export_result> written_by_daemon(const json& done) {
  if (!done.contains("output") || !done["output"].is_string())
    return error{errc::not_found, "the daemon did not write the output"};
  return store::export_result{done["output"].get<std::string>(), done.value("total_bytes", 0ull)};
}

}  // namespace

result<json> ask_daemon(const context& c, const json& req, const std::string& what) {
  auto conn = host::control_connection::open(c.config.data_dir);
  if (!conn) return std::move(conn).err();
  return ask_daemon(*conn, req, what);
}

result<json> ask_daemon(host::control_connection& conn, const json& req, const std::string& what) {
  if (auto r = conn.send(req); !r) return r.err();
  auto msg = conn.next();
  if (!msg) return std::move(msg).err();
  if (!msg->has_value()) return error{errc::io_error, "the daemon sent no " + what};
  json reply = std::move(**msg);
  if (reply.value("event", "") == "error") return error_from(reply);
  return reply;
}

result<json> daemon_op(host::control_connection& conn, const json& req,
                       host::progress_reporter* progress) {
  if (auto r = conn.send(req); !r) return r.err();
  while (true) {
    auto msg = conn.next();
    if (!msg) return std::move(msg).err();
    if (!msg->has_value())
      return error{errc::io_error, "the daemon closed the control channel before the " +
                                       req.value("op", std::string("operation")) +
                                       " finished (it may have stopped)"};
    json reply = std::move(**msg);
    const std::string ev = reply.value("event", "");
    if (ev == "error") return error_from(reply);
    if (ev == "progress" && progress)
      progress->update(reply.value("done_bytes", 0ull), reply.value("total_bytes", 0ull));
    if (ev == "queued" && progress) {
      const auto ahead = reply.value("ahead", 0u);
      progress->update(0, 0,
                       "waiting in the daemon behind " + std::to_string(ahead) + " operation" +
                           (ahead == 1 ? "" : "s") + " (one add or verify runs at a time)");
    }
    if (ev == "done") {
      reply.erase("event");
      return reply;
    }
  }
}

int run_daemon(const context& c, const std::string& listen, const std::string& http_listen,
               const rate_flags& limits, const log_flags& logs,
               const std::vector<std::string>& bootstrap, std::size_t max_swarm_peers) {
  host::log_settings log = c.config.log;
  if (!logs.level.empty()) {
    auto l = host::parse_log_level(logs.level, "--log-level");
    if (!l) return fail(c, l.err());
    log.level = *l;
  }
  if (!logs.format.empty()) {
    auto f = host::parse_log_format(logs.format, "--log-format");
    if (!f) return fail(c, f.err());
    log.format = *f;
  }
  host::configure_logging(log);
  std::optional<std::uint64_t> up_flag, down_flag;
  if (!limits.upload.empty()) {
    auto r = host::parse_rate(limits.upload, "--upload-limit");
    if (!r) return fail(c, r.err());
    up_flag = *r;
  }
  if (!limits.download.empty()) {
    auto r = host::parse_rate(limits.download, "--download-limit");
    if (!r) return fail(c, r.err());
    down_flag = *r;
  }
  auto rates = host::choose_limits(c.config, up_flag, down_flag);
  if (!rates) return fail(c, rates.err());
  host::daemon_options opts{c.config.data_dir,
                            listen.empty() ? c.config.listen : listen,
                            rates->upload,
                            rates->download,
                            bootstrap.empty() ? c.config.bootstrap : bootstrap,
                            max_swarm_peers > 0 ? max_swarm_peers : c.config.max_swarm_peers,
                            c.config.max_peer_connections,
                            c.config.max_control_connections,
                            "off",
                            {},
                            rates->source};
  opts.http_listen = http_listen.empty() ? c.config.http_listen : http_listen;
  for (const auto& b : opts.bootstrap)
    if (auto a = net::parse_address(b, "--bootstrap"); !a) return fail(c, a.err());
  // SIGHUP: the same config file and data directory read again, the same flags on top.
  const host::config_overrides again{c.config.data_dir, c.config.config_file};
  opts.reload = [again, up_flag, down_flag, logs]() -> result<host::daemon_options::reloaded> {
    auto cfg = host::load_config(again);
    if (!cfg) return std::move(cfg).err();
    auto r = host::choose_limits(*cfg, up_flag, down_flag);
    if (!r) return std::move(r).err();
    host::daemon_options::reloaded out{r->upload, r->download, r->source, cfg->log};
    if (!logs.level.empty()) out.log.level = *host::parse_log_level(logs.level, "--log-level");
    if (!logs.format.empty()) out.log.format = *host::parse_log_format(logs.format, "--log-format");
    return out;
  };
  auto d = host::daemon::create(opts);
  if (!d) return fail(c, d.err());
  return (*d)->run();
}

int limit(const context& c, const rate_flags& limits) {
  json req{{"op", "limits"}};
  // Checked here too, so that a typo is reported before the daemon is asked.
  if (!limits.upload.empty()) {
    if (auto r = host::parse_rate(limits.upload, "--upload"); !r) return fail(c, r.err());
    req["upload"] = limits.upload;
  }
  if (!limits.download.empty()) {
    if (auto r = host::parse_rate(limits.download, "--download"); !r) return fail(c, r.err());
    req["download"] = limits.download;
  }
  auto reply = ask_daemon(c, req, "limits");
  if (!reply) return fail(c, reply.err());
  const json& s = *reply;
  if (c.json) {
    std::printf("%s\n", s.dump(2).c_str());
  } else {
    std::printf("upload    %s\ndownload  %s\n", s.value("upload_text", "").c_str(),
                s.value("download_text", "").c_str());
  }
  return 0;
}

namespace {

volatile std::sig_atomic_t interrupted = 0;
extern "C" void on_interrupt(int) {
  interrupted = 1;
}

// While a `get` waits on the daemon, Ctrl-C (SIGINT) sets `interrupted` and ends the wait
// instead of the process, so that the get can cancel the fetch it started. No SA_RESTART: the
// blocking read returns EINTR.
struct interrupt_guard {
  struct sigaction before {};
  interrupt_guard() {
    struct sigaction sa {};
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, &before);
  }
  ~interrupt_guard() { ::sigaction(SIGINT, &before, nullptr); }
};

// Ctrl-C on a `get`: the fetch it started is cancelled (its verified pieces stay); one that
// another `get` started goes on without this watcher.
int interrupted_get(const context& c, const content_id& id, bool started) {
  if (!started) {
    std::fprintf(stderr,
                 "shoal: stopped watching %s; the fetch goes on in the daemon (this get did not "
                 "start it; `shoal cancel %s` stops it)\n",
                 id.str().c_str(), id.str().c_str());
    return 130;
  }
  auto reply = ask_daemon(c, json{{"op", "cancel"}, {"id", id.str()}}, "answer to cancel");
  if (!reply && reply.err().code != errc::not_found) return fail(c, reply.err());
  std::fprintf(stderr,
               "shoal: cancelled the fetch of %s; its verified pieces are kept, and `shoal get "
               "%s` resumes it\n",
               id.str().c_str(), id.str().c_str());
  return 130;
}

}  // namespace

int cancel(const context& c, const std::string& id_text) {
  auto id = content_id::parse(id_text);
  if (!id) return fail(c, id.err());
  auto reply = ask_daemon(c, json{{"op", "cancel"}, {"id", id->str()}}, "answer to cancel");
  if (!reply) return fail(c, reply.err());
  if (c.json)
    std::printf("%s\n", reply->dump(2).c_str());
  else
    std::printf("cancelled the fetch of %s; `shoal get %s` resumes it\n", id->str().c_str(),
                id->str().c_str());
  return 0;
}

int get(const context& c, const std::string& id_text, const std::vector<std::string>& from,
        const std::filesystem::path& out, bool origin_only, bool detach) {
  auto id = content_id::parse(id_text);
  if (!id) return fail(c, id.err());
  if (out == "-")  // the daemon writes the output, and it has no terminal or pipe of ours
    return fail(c, {errc::invalid_argument,
                    "get writes to a file or directory, not to stdout (-o -): fetch it, then "
                    "`shoal export " +
                        id->str() + " -o -`"});
  auto conn = host::control_connection::open(c.config.data_dir);
  if (!conn) return fail(c, conn.err());
  // Checked now rather than after the transfer: a target that is taken by a file will not be
  // written (an existing directory receives the content inside it).
  std::error_code ec;
  const auto st = std::filesystem::symlink_status(out, ec);
  if (std::filesystem::exists(st) && !std::filesystem::is_directory(st))
    return fail(c, {errc::already_exists, "output \"" + out.string() + "\" already exists"});
  // The daemon writes the output as the pieces arrive (it runs as the same user: the control
  // socket is owner-only), so it is ready when the fetch is.
  json req{{"op", "get"},
           {"id", id->str()},
           {"from", from},
           {"output", std::filesystem::absolute(out).lexically_normal().string()},
           {"origin_only", origin_only},
           {"detach", detach}};
  // The catalog name of new content is the output's name, unless the output is a directory that
  // will hold it (then the daemon names it by its ID).
  if (!std::filesystem::is_directory(st) && !out.filename().empty())
    req["name"] = out.filename().string();
  // Only while waiting on the daemon: the export below is the CLI's own work, and Ctrl-C
  // ends it as it ends any command.
  std::optional<interrupt_guard> on_ctrl_c(std::in_place);
  conn->set_interrupt_flag(&interrupted);
  if (auto r = conn->send(req); !r) return fail(c, r.err());
  host::progress_reporter progress("fetching " + id->str().substr(0, 12), c.style);
  json last;
  // Until the daemon says `started`, this request is not taken to have started the fetch: a
  // Ctrl-C before then must not cancel a fetch someone else started.
  bool started = false;
  while (true) {
    auto msg = conn->next();
    if (!msg && msg.err().code == errc::cancelled) {
      progress.finish();
      return interrupted_get(c, *id, started);
    }
    if (!msg) return fail(c, msg.err());
    if (!msg->has_value())
      return fail(c, {errc::io_error,
                      "the daemon closed the control channel before the fetch "
                      "finished (it may have stopped; run the command again to "
                      "resume)"});
    last = std::move(**msg);
    const std::string ev = last.value("event", "");
    if (ev == "started" || ev == "watching") {
      started = ev == "started";
      if (!detach) continue;
      progress.finish();
      if (c.json) {
        std::printf("%s\n", last.dump(2).c_str());
      } else {
        std::fprintf(stderr,
                     "%s %s in the daemon; it writes %s when done. `shoal get %s -o PATH` "
                     "watches it, `shoal cancel %s` stops it\n",
                     started ? "fetching" : "already fetching", id->str().c_str(),
                     started ? std::filesystem::absolute(out).string().c_str()
                             : "the output of the get that started it",
                     id->str().c_str(), id->str().c_str());
      }
      return 0;
    }
    if (ev == "progress") {
      progress.update(
          last.value("stored_bytes", 0ull), last.value("total_bytes", 0ull),
          host::fetch_detail(last.value("stage", ""), last.value("peers", 0u),
                             last.value("connecting", 0u), last.value("redialing", 0u)));
    } else if (ev == "error") {
      progress.finish();
      return fail(c, error_from(last));
    } else if (ev == "done") {
      break;
    }
  }
  progress.finish();
  on_ctrl_c.reset();
  auto r = written_by_daemon(last);
  if (!r) {
    // The content was held already, or another `get` started the fetch: export it here. The
    // daemon holds the store for writing; reading it alongside is safe (SQLite WAL, and every
    // piece is verified again as it is exported).
    auto s = store::store::open(c.config.data_dir, store::access::read_only);
    if (!s) return fail(c, s.err());
    host::progress_reporter writing("writing " + out.filename().string(), c.style);
    r = (*s)->export_to(
        *id, out, [&](std::uint64_t done, std::uint64_t total) { writing.update(done, total); });
    writing.finish();
  }
  if (!r) return fail(c, r.err());
  const double seconds = last.value("seconds", 0.0);
  const auto received = last.value("received_bytes", 0ull);
  if (c.json) {
    last["output"] = r->path.string();
    std::printf("%s\n", last.dump(2).c_str());
  } else if (c.style != host::progress_style::quiet) {
    std::printf("%s\n", r->path.string().c_str());
    std::fprintf(
        stderr, "fetched %s: %s received in %s (%s/s), %s written to %s\n", id->str().c_str(),
        host::format_bytes(static_cast<double>(received)).c_str(),
        host::format_duration(seconds).c_str(),
        host::format_bytes(seconds > 0 ? static_cast<double>(received) / seconds : 0).c_str(),
        host::format_bytes(static_cast<double>(r->bytes)).c_str(), r->path.string().c_str());
    if (received > 0)
      std::fprintf(stderr, "  from the origin (--from) %s, from other peers %s\n",
                   host::format_bytes(last.value("from_sources", 0.0)).c_str(),
                   host::format_bytes(last.value("from_peers", 0.0)).c_str());
    const json disc = last.value("discovery", json::object());
    const json lookup = disc.value("last_lookup", json::object());
    if (disc.value("lookups", 0) > 0 && lookup.is_object())
      std::fprintf(stderr,
                   "  %d holders found in %d DHT lookups (the last: %d round trips, %.0f ms)\n",
                   disc.value("holders_found", 0), disc.value("lookups", 0),
                   lookup.value("rounds", 0), lookup.value("ms", 0.0));
  } else {
    std::printf("%s\n", r->path.string().c_str());
  }
  return 0;
}

int peers(const context& c) {
  // Rates are what moved between two status replies a second apart.
  auto first = ask_daemon(c, json{{"op", "status"}}, "status");
  if (!first) return fail(c, first.err());
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto second = ask_daemon(c, json{{"op", "status"}}, "status");
  if (!second) return fail(c, second.err());
  const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::map<std::string, std::pair<double, double>> before;  // by node and address
  for (const auto& p : (*first)["peers"])
    before[p.value("node", "") + p.value("address", "")] = {p.value("bytes_in", 0.0),
                                                            p.value("bytes_out", 0.0)};
  json out = json::array();
  for (auto p : (*second)["peers"]) {
    const auto b = before.find(p.value("node", "") + p.value("address", ""));
    const double in0 = b == before.end() ? 0 : b->second.first;
    const double out0 = b == before.end() ? 0 : b->second.second;
    p["rate_in"] = (p.value("bytes_in", 0.0) - in0) / dt;
    p["rate_out"] = (p.value("bytes_out", 0.0) - out0) / dt;
    out.push_back(std::move(p));
  }
  if (c.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  if (out.empty()) {
    std::fprintf(stderr, "no peers connected\n");
    return 0;
  }
  std::printf("%-12s  %-16s  %-22s  %-3s  %10s  %10s  %10s  %10s  %s\n", "NODE", "NAME", "ADDRESS",
              "DIR", "IN/s", "OUT/s", "IN", "OUT", "CONTENTS / LABELS");
  for (const auto& p : out) {
    std::string shared;
    for (const auto& s : p.value("swarms", json::array()))
      shared += (shared.empty() ? "" : ",") + s.get<std::string>().substr(0, 12);
    for (const auto& [k, v] : p.value("labels", json::object()).items())
      shared += (shared.empty() ? "" : " ") + k + "=" + v.get<std::string>();
    std::printf("%-12s  %-16s  %-22s  %-3s  %10s  %10s  %10s  %10s  %s\n",
                p.value("node", "").substr(0, 12).c_str(), p.value("name", "").c_str(),
                p.value("address", "").c_str(), p.value("direction", "").c_str(),
                host::format_bytes(p.value("rate_in", 0.0)).c_str(),
                host::format_bytes(p.value("rate_out", 0.0)).c_str(),
                host::format_bytes(p.value("bytes_in", 0.0)).c_str(),
                host::format_bytes(p.value("bytes_out", 0.0)).c_str(), shared.c_str());
  }
  return 0;
}

int content_status(const context& c, const std::string& text) {
  auto id = content_id::parse(text);
  if (!id) return fail(c, id.err());
  auto reply = ask_daemon(c, json{{"op", "status"}, {"id", id->str()}}, "status");
  if (!reply) return fail(c, reply.err());
  json s = std::move(*reply);
  s.erase("event");
  if (c.json) {
    std::printf("%s\n", s.dump(2).c_str());
    return 0;
  }
  std::printf("content %s\n", id->str().c_str());
  if (s.contains("held")) {
    const json& h = s["held"];
    std::printf("held    %s, %s, %d of %d pieces%s%s\n", h.value("name", "").c_str(),
                host::format_bytes(h.value("size", 0.0)).c_str(), h.value("pieces_present", 0),
                h.value("pieces", 0), h.value("complete", false) ? " (complete)" : " (partial)",
                h.value("pinned", false) ? ", pinned" : "");
  } else {
    std::printf("held    nothing of it in the store\n");
  }
  if (s.contains("fetch")) {
    const json& f = s["fetch"];
    std::printf(
        "fetch   %s of %s stored, %d peers; from the origin (--from) %s, from other peers %s\n",
        host::format_bytes(f.value("stored_bytes", 0.0)).c_str(),
        host::format_bytes(f.value("total_bytes", 0.0)).c_str(), f.value("peers", 0),
        host::format_bytes(f.value("from_sources", 0.0)).c_str(),
        host::format_bytes(f.value("from_peers", 0.0)).c_str());
  } else {
    std::printf("fetch   none running\n");
  }
  if (s.contains("swarm")) {
    const json& w = s["swarm"];
    std::printf("swarm   %d peers; %d pieces no connected peer holds but this node\n",
                w.value("peers", 0), w.value("pieces_only_here", 0));
  }
  std::printf("peers   %zu\n", s["peers"].size());
  for (const auto& p : s["peers"])
    std::printf("  %s  %-16s %-22s %-3s in %s  out %s (the whole connection)\n",
                p.value("node", "").substr(0, 12).c_str(), p.value("name", "").c_str(),
                p.value("address", "").c_str(), p.value("direction", "").c_str(),
                host::format_bytes(p.value("bytes_in", 0.0)).c_str(),
                host::format_bytes(p.value("bytes_out", 0.0)).c_str());
  return 0;
}

int status(const context& c) {
  auto reply = ask_daemon(c, json{{"op", "status"}}, "status");
  if (!reply) return fail(c, reply.err());
  const json& s = *reply;
  if (c.json) {
    std::printf("%s\n", s.dump(2).c_str());
    return 0;
  }
  std::printf("node    %s\nlisten  %s\nhttp    %s\n", s.value("node", "").c_str(),
              s.value("listen", "").c_str(), s.value("listen_http", "off").c_str());
  const json limits = s.value("limits", json::object());
  std::printf("limits  upload %s, download %s\n", limits.value("upload_text", "?").c_str(),
              limits.value("download_text", "?").c_str());
  std::printf("moved   %s up, %s down\n",
              host::format_bytes(s.value("uploaded_bytes", 0.0)).c_str(),
              host::format_bytes(s.value("downloaded_bytes", 0.0)).c_str());
  const json cert = s.value("certificate", json::object());
  const std::int64_t left = cert.value("seconds_left", std::int64_t{0});
  std::printf("cert    expires %s (%s)\n",
              member::format_utc(cert.value("not_after", std::int64_t{0})).c_str(),
              left <= 0 ? "expired: no member admits this node"
                        : ("in " + std::to_string(left / 86400) + " d " +
                           std::to_string(left % 86400 / 3600) + " h")
                              .c_str());
  const json rl = s.value("revocations", json::object());
  if (rl.value("serial", 0) == 0)
    std::printf("revoked none (no revocation list)\n");
  else
    std::printf("revoked %d members (revocation list %d)\n", rl.value("revoked", 0),
                rl.value("serial", 0));
  const json dht = s.value("dht", json::object());
  std::printf("dht     %d members known, %d records kept for others, %d lookups\n",
              dht.value("contacts", 0), dht.value("records", 0), dht.value("lookups", 0));
  const json recent = dht.value("recent_lookups", json::array());
  if (!recent.empty()) {
    const json& l = recent.back();
    std::printf("        last lookup: %s, %d round trips, %d queries (%d failed), %.1f ms\n",
                l.value("kind", "?").c_str(), l.value("rounds", 0), l.value("queries", 0),
                l.value("failed", 0), l.value("ms", 0.0));
  }
  std::printf("peers   %zu\n", s["peers"].size());
  for (const auto& p : s["peers"])
    std::printf("  %s  %-16s %-22s %-3s in %s  out %s\n", p.value("node", "").substr(0, 12).c_str(),
                p.value("name", "").c_str(), p.value("address", "").c_str(),
                p.value("direction", "").c_str(),
                host::format_bytes(p.value("bytes_in", 0.0)).c_str(),
                host::format_bytes(p.value("bytes_out", 0.0)).c_str());
  std::printf("fetches %zu\n", s["fetches"].size());
  for (const auto& f : s["fetches"]) {
    std::printf("  %s  %s of %s%s\n", f.value("id", "").c_str(),
                host::format_bytes(f.value("stored_bytes", 0.0)).c_str(),
                host::format_bytes(f.value("total_bytes", 0.0)).c_str(),
                f.value("origin_only", false) ? "  (origin only)" : "");
    std::printf("    %s\n", host::fetch_detail(f.value("stage", ""), f.value("peers", 0u),
                                               f.value("connecting", 0u), f.value("redialing", 0u))
                                .c_str());
    std::printf("    from the origin (--from) %s, from other peers %s\n",
                host::format_bytes(f.value("from_sources", 0.0)).c_str(),
                host::format_bytes(f.value("from_peers", 0.0)).c_str());
    const json disc = f.value("discovery", json::object());
    if (disc.value("lookups", 0) > 0)
      std::printf("    %d DHT lookups, %d holders found\n", disc.value("lookups", 0),
                  disc.value("holders_found", 0));
    const json from = f.value("from", json::object());
    for (const auto& [addr, n] : from.items())
      std::printf("    %-22s %s\n", addr.c_str(), host::format_bytes(n.get<double>()).c_str());
  }
  return 0;
}

}  // namespace shoal::cli
