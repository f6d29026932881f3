#include "host/daemon_json.hpp"

#include <spdlog/spdlog.h>

#include "host/config.hpp"

namespace shoal::host {

using nlohmann::json;

json error_json(const error& e) {
  return json{{"event", "error"}, {"code", errc_name(e.code)}, {"message", e.message}};
}

json lookup_json(const lookup_summary& l) {
  return json{{"kind", l.kind == dht::lookup_kind::get_providers ? "get_providers" : "find_node"},
              {"target", l.target},
              {"queries", l.queries},
              {"answered", l.answered},
              {"failed", l.failed},
              {"rounds", l.rounds},
              {"ms", l.ms},
              {"providers", l.providers}};
}

json progress_json(const fetch_report& r) {
  json from = json::object();
  for (const auto& [address, bytes] : r.from) from[address] = bytes;
  const auto& p = r.progress;
  return json{{"event", "progress"},
              {"id", r.id.str()},
              {"total_bytes", p.total_bytes},
              {"stored_bytes", p.stored_bytes},
              {"received_bytes", p.received_bytes},
              {"pieces", p.pieces},
              {"pieces_stored", p.pieces_stored},
              {"peers", p.peers},
              {"from", from},
              {"from_sources", r.from_sources},
              {"from_peers", r.from_peers},
              {"duplicate_blocks", r.duplicate_blocks},
              {"full_swarms", r.full_swarms},
              {"waiting", r.waiting},
              {"stage", fetch_stage_name(r.stage)},
              {"connecting", r.connecting},
              {"redialing", r.redialing},
              {"origin_only", r.origin_only},
              {"discovery",
               {{"lookups", r.lookups},
                {"holders_found", r.holders_found},
                {"last_lookup", r.last_lookup ? lookup_json(*r.last_lookup) : json()}}}};
}

json swarms_json(const swarm& s) {
  json out = json::array();
  for (const auto& x : s.swarms())
    out.push_back({{"id", x.id.str()},
                   {"peers", s.members(x.id).size()},
                   {"pieces", x.pieces},
                   {"pieces_only_here", x.only_here}});
  return out;
}

json dht_json(const node& n) {
  const auto& d = n.dht();
  const auto& st = d.stats();
  json recent = json::array();
  for (const auto& l : n.recent_lookups()) recent.push_back(lookup_json(l));
  json boot = json::array();
  for (const auto& a : n.cfg().bootstrap) boot.push_back(a.str());
  return json{{"contacts", d.table().size()},
              {"records", d.record_count()},
              {"lookups_running", d.lookups_running()},
              {"queries_pending", d.pending_queries()},
              {"lookups", st.lookups},
              {"queries_sent", st.queries_sent},
              {"queries_answered", st.queries_answered},
              {"announces_stored", st.announces_stored},
              {"announces_refused", st.announces_refused},
              {"stray_answers", st.stray_answers},
              {"bootstrap", boot},
              {"recent_lookups", recent}};
}

json problems_json(time_point now, const node& n, std::uint64_t refused_incoming) {
  const auto by_reason = [](const std::map<wire::reason, std::uint64_t>& m) {
    json o = json::object();
    for (const auto& [r, k] : m) o[wire::reason_name(r)] = k;
    return o;
  };
  const auto& c = n.counters();
  json recent = json::array();
  for (const auto& p : n.recent_problems())
    recent.push_back({{"peer", p.peer},
                      {"what", p.what},
                      {"seconds_ago", std::chrono::duration<double>(now - p.at).count()}});
  return json{{"rejects_sent", by_reason(c.rejects_sent)},
              {"rejects_received", by_reason(c.rejects_received)},
              {"cut_offs", c.cut_offs},
              {"bad_blocks", c.bad_blocks},
              {"refused_in", refused_incoming},
              {"refused_out", c.refused_dials},
              {"recent", recent}};
}

json limits_json(const token_bucket& up, const token_bucket& down) {
  return json{{"upload", up.rate()},
              {"download", down.rate()},
              {"upload_text", rate_text(up.rate())},
              {"download_text", rate_text(down.rate())}};
}

result<json> apply_limits(time_point now, token_bucket& up, token_bucket& down, const json& req) {
  std::optional<std::uint64_t> u, d;
  for (const char* key : {"upload", "download"}) {
    if (!req.contains(key)) continue;
    auto r = parse_rate(req[key].get<std::string>(), key);
    if (!r) return std::move(r).err();
    (std::string(key) == "upload" ? u : d) = *r;
  }
  if (u) up.set_rate(now, *u);
  if (d) down.set_rate(now, *d);
  spdlog::info("rate limits: upload {}, download {}", rate_text(up.rate()), rate_text(down.rate()));
  json reply = limits_json(up, down);
  reply["event"] = "limits";
  return reply;
}

json peers_json(const std::map<peer_handle, std::shared_ptr<net::connection>>& conns,
                const node& n) {
  json peers = json::array();
  for (const auto& [id, c] : conns) {
    if (!c->sess() || !c->peer()) continue;
    peers.push_back({{"node", c->peer()->id.str()},
                     {"name", c->peer()->name},
                     {"address", c->remote()},
                     {"direction", c->side() == net::connection::role::dialer ? "out" : "in"},
                     {"bytes_in", c->sess()->bytes_received()},
                     {"bytes_out", c->sess()->bytes_sent()}});
    json fetching = json::array();
    for (const auto& f : n.fetches_of(id))
      fetching.push_back({{"id", f.id.str()},
                          {"requests_in_flight", f.in_flight},
                          {"pipeline", f.capacity},
                          {"pieces_announced", f.pieces}});
    if (!fetching.empty()) peers.back()["fetching"] = std::move(fetching);
    json labels = json::object();
    for (const auto& [k, v] : c->peer()->labels) labels[k] = v;
    peers.back()["labels"] = std::move(labels);
    json swarms = json::array();  // the contents this node and the peer share a swarm of
    for (const auto& x : n.swarms().swarms())
      if (n.swarms().members(x.id).contains(id)) swarms.push_back(x.id.str());
    peers.back()["swarms"] = std::move(swarms);
  }
  return peers;
}

}  // namespace shoal::host
