#include "host/metrics.hpp"

#include <fmt/format.h>
#include <sys/statvfs.h>

namespace shoal::host {
namespace {

// A label value with `\`, `"` and newlines escaped, as the text format requires.
std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

class writer {
 public:
  void family(const char* name, const char* type, const char* help) {
    text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  void sample(const char* name, double v, const std::string& labels = {}) {
    text_ += labels.empty() ? fmt::format("{} {}\n", name, v)
                            : fmt::format("{}{{{}}} {}\n", name, labels, v);
  }
  void one(const char* name, const char* type, const char* help, double v) {
    family(name, type, help);
    sample(name, v);
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

double d(std::uint64_t v) {
  return static_cast<double>(v);
}

// Refusals by reason: the ones a node answers with in a healthy swarm always (so that a rate
// can be taken from the first scrape), any other that happened beside them.
void rejects(writer& w, const char* name, const std::map<wire::reason, std::uint64_t>& counts) {
  std::map<wire::reason, std::uint64_t> all{{wire::reason::not_found, 0},
                                            {wire::reason::unavailable, 0},
                                            {wire::reason::overloaded, 0},
                                            {wire::reason::elsewhere, 0}};
  for (const auto& [r, n] : counts) all[r] = n;
  for (const auto& [r, n] : all)
    w.sample(name, d(n), fmt::format("reason=\"{}\"", wire::reason_name(r)));
}

std::string id_label(const fetch_report& r) {
  return "id=\"" + label_value(r.id.str()) + "\"";
}

}  // namespace

std::string metrics_text(const metrics_input& in) {
  writer w;
  const auto& c = in.counters;
  w.family("shoal_peer_bytes_total", "counter",
           "TLS payload bytes moved to and from peers since the daemon started");
  w.sample("shoal_peer_bytes_total", d(c.uploaded), "direction=\"up\"");
  w.sample("shoal_peer_bytes_total", d(c.downloaded), "direction=\"down\"");

  // Verified block bytes by source: the --from peers (the origin) against peers in the swarm,
  // over the fetches that ended and the ones running.
  std::uint64_t sources = c.fetched_from_sources, peers = c.fetched_from_peers;
  std::vector<fetch_report> running;
  for (const auto& id : in.n.fetches())
    if (auto r = in.n.report(in.now, id)) {
      sources += r->from_sources;
      peers += r->from_peers;
      running.push_back(std::move(*r));
    }
  w.family("shoal_fetched_bytes_total", "counter",
           "Verified block bytes fetched, by source: the peers a get named (origin) or peers "
           "found in the swarm");
  w.sample("shoal_fetched_bytes_total", d(sources), "source=\"origin\"");
  w.sample("shoal_fetched_bytes_total", d(peers), "source=\"peers\"");
  w.family("shoal_fetches_ended_total", "counter", "Fetches that ended, by result");
  w.sample("shoal_fetches_ended_total", d(c.fetches_done), "result=\"done\"");
  w.sample("shoal_fetches_ended_total", d(c.fetches_failed), "result=\"failed\"");
  w.sample("shoal_fetches_ended_total", d(c.fetches_cancelled), "result=\"cancelled\"");
  w.one("shoal_fetches_running", "gauge", "Fetches running now", d(running.size()));
  w.family("shoal_fetch_stored_bytes", "gauge", "Bytes of a running fetch's content stored");
  for (const auto& r : running)
    w.sample("shoal_fetch_stored_bytes", d(r.progress.stored_bytes), id_label(r));
  w.family("shoal_fetch_total_bytes", "gauge",
           "Bytes of a running fetch's content (0 until its manifest is known)");
  for (const auto& r : running)
    w.sample("shoal_fetch_total_bytes", d(r.progress.total_bytes), id_label(r));
  w.family("shoal_fetch_peers", "gauge", "Established connections of a running fetch");
  for (const auto& r : running) w.sample("shoal_fetch_peers", d(r.progress.peers), id_label(r));
  w.family("shoal_fetch_duplicate_blocks_total", "counter",
           "Blocks a running fetch received twice in its endgame");
  for (const auto& r : running)
    w.sample("shoal_fetch_duplicate_blocks_total", d(r.duplicate_blocks), id_label(r));

  w.family("shoal_peer_connections", "gauge",
           "Peer connections with a session (past the TLS handshake), by who dialed");
  w.sample("shoal_peer_connections", d(in.connections_in), "direction=\"in\"");
  w.sample("shoal_peer_connections", d(in.connections_out), "direction=\"out\"");
  std::size_t swarm_peers = 0;
  for (const auto& x : in.n.swarms().swarms()) swarm_peers += in.n.swarms().members(x.id).size();
  w.one("shoal_swarm_peers", "gauge",
        "Connections in the swarms of the contents this node holds or fetches", d(swarm_peers));

  const auto& nc = in.n.counters();
  w.family("shoal_rejects_sent_total", "counter",
           "Requests of peers this node refused, by reason (docs/protocol/wire.md)");
  rejects(w, "shoal_rejects_sent_total", nc.rejects_sent);
  w.family("shoal_rejects_received_total", "counter", "Requests peers refused, by reason");
  rejects(w, "shoal_rejects_received_total", nc.rejects_received);
  w.one("shoal_peers_cut_off_total", "counter",
        "Peers a fetch stopped using for a bad block or a protocol violation, once per fetch",
        d(nc.cut_offs));
  w.one("shoal_bad_blocks_total", "counter", "Blocks received that failed verification",
        d(nc.bad_blocks));
  w.family("shoal_connections_refused_total", "counter",
           "Connections ended at the handshake by a certificate check, by who dialed");
  w.sample("shoal_connections_refused_total", d(c.refused_incoming), "direction=\"in\"");
  w.sample("shoal_connections_refused_total", d(nc.refused_dials), "direction=\"out\"");
  w.one("shoal_certificate_expiry_timestamp_seconds", "gauge",
        "When this node's certificate expires (Unix time): alert on it minus time() running low",
        d(static_cast<std::uint64_t>(std::max<std::int64_t>(0, in.certificate_not_after))));
  w.one("shoal_revoked_disconnects_total", "counter",
        "Connections to or from revoked members closed (docs/protocol/membership.md, 9.4)",
        d(nc.revoked_refused));
  w.family("shoal_revocation_lists_total", "counter",
           "Revocation lists received: newer ones adopted, and forged or foreign ones refused");
  w.sample("shoal_revocation_lists_total", d(nc.revocation_lists), "result=\"adopted\"");
  w.sample("shoal_revocation_lists_total", d(nc.bad_revocation_lists), "result=\"refused\"");
  const auto& rl = in.n.revocations();
  w.one("shoal_revocation_serial", "gauge",
        "Serial of the revocation list this node holds (0: none)", d(rl ? rl->serial : 0));
  w.one("shoal_revoked_members", "gauge", "Members on that list", d(rl ? rl->entries.size() : 0));

  const auto& dht = in.n.dht();
  const auto& st = dht.stats();
  w.one("shoal_dht_contacts", "gauge", "Members in the DHT routing table", d(dht.table().size()));
  w.one("shoal_dht_records", "gauge", "Provider records kept for other members",
        d(dht.record_count()));
  w.one("shoal_dht_lookups_total", "counter", "DHT lookups started", d(st.lookups));
  w.one("shoal_dht_queries_sent_total", "counter", "DHT queries sent", d(st.queries_sent));
  w.one("shoal_dht_queries_answered_total", "counter", "DHT queries of others answered",
        d(st.queries_answered));
  w.family("shoal_dht_announces_total", "counter", "Announcements of others, by what was done");
  w.sample("shoal_dht_announces_total", d(st.announces_stored), "result=\"stored\"");
  w.sample("shoal_dht_announces_total", d(st.announces_refused), "result=\"refused\"");
  if (!in.n.recent_lookups().empty()) {
    const auto& l = in.n.recent_lookups().back();
    w.one("shoal_dht_last_lookup_rounds", "gauge", "Round trips of the last DHT lookup",
          d(static_cast<std::uint64_t>(l.rounds)));
    w.one("shoal_dht_last_lookup_seconds", "gauge", "Duration of the last DHT lookup",
          l.ms / 1000.0);
  }

  std::uint64_t held_bytes = 0, contents = 0, complete = 0, pinned = 0;
  if (auto all = in.store.list()) {
    for (const auto& s : *all) {
      ++contents;
      complete += s.complete() ? 1 : 0;
      pinned += s.pinned ? 1 : 0;
      held_bytes += s.piece_count == 0
                        ? s.total_size
                        : static_cast<std::uint64_t>(static_cast<double>(s.total_size) *
                                                     static_cast<double>(s.have_count) /
                                                     static_cast<double>(s.piece_count));
    }
  }
  w.family("shoal_store_contents", "gauge", "Contents in the store, by state");
  w.sample("shoal_store_contents", d(complete), "state=\"complete\"");
  w.sample("shoal_store_contents", d(contents - complete), "state=\"partial\"");
  w.one("shoal_store_pinned_contents", "gauge", "Pinned contents in the store", d(pinned));
  w.one("shoal_store_bytes", "gauge", "Bytes of content held (the pieces present)", d(held_bytes));
  struct statvfs fs {};
  if (::statvfs(in.store.dir().c_str(), &fs) == 0)
    w.one("shoal_store_free_bytes", "gauge",
          "Bytes free for an unprivileged writer on the data directory's file system",
          static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize));
  w.family("shoal_rate_limit_bytes_per_second", "gauge",
           "The node's rate limits (0: none), by direction");
  w.sample("shoal_rate_limit_bytes_per_second", d(in.upload_limit), "direction=\"up\"");
  w.sample("shoal_rate_limit_bytes_per_second", d(in.download_limit), "direction=\"down\"");
  w.one("shoal_http_clients", "gauge", "HTTP clients connected now", d(in.http_clients));
  return w.take();
}

}  // namespace shoal::host
