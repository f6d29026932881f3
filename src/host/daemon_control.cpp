// The daemon's control channel (docs/protocol/control.md) and what its HTTP server shows of the
// node (docs/protocol/http.md): gets, cancels, rate limits, status, metrics, readiness, and the
// store's changes made through content_service.
#include "host/content_json.hpp"
#include "host/daemon_impl.hpp"
#include "member/pem.hpp"

namespace shoal::host::detail {

void daemon_impl::start_get(const std::shared_ptr<reply_sink>& client, const json& req) {
  // Every field is read before anything changes, so a field of the wrong type (which throws)
  // leaves no half-made fetch behind.
  auto id = content_id::parse(req.value("id", std::string()));
  if (!id) return reply_error(client, id.err());
  fetch_request r;
  r.id = *id;
  r.name = req.value("name", std::string());  // none: the holder's name, else the ID
  const std::filesystem::path output = req.value("output", std::string());
  r.origin_only = req.value("origin_only", false);
  const bool detach = req.value("detach", false);
  if (!output.empty() && !output.is_absolute())
    return reply_error(client, {errc::invalid_argument,
                                "output \"" + output.string() + "\" is not an absolute path"});
  const json from = req.value("from", json::array());
  if (!from.is_array())
    return reply_error(client, {errc::invalid_argument, "\"from\" must be an array of HOST:PORT"});
  for (const auto& f : from) {
    auto a = net::parse_address(f.get<std::string>(), "--from");
    if (!a) return reply_error(client, a.err());
    r.sources.push_back(*a);
  }
  const auto now = net::now();
  if (node_.fetching(*id)) {  // already fetching: watch it too
    watched_[*id].watchers.push_back(client);
    client->send(json{{"event", "watching"}, {"id", id->str()}});
    node_.start_fetch(now, std::move(r));
    return drain();
  }
  auto existing = store_->open_reader(*id);
  if (existing && (*existing)->have().complete()) {
    client->send(json{{"event", "done"},
                      {"id", id->str()},
                      {"total_bytes", (*existing)->layout().total_size()},
                      {"received_bytes", 0},
                      {"seconds", 0.0},
                      {"already_held", true}});
    return client->close_after_writes();
  }
  if (auto no = node_.fetch_impossible(r)) return reply_error(client, *no);
  watched_fetch f;
  f.watchers.push_back(client);
  f.name = r.name;
  f.detached = detach;
  if (!output.empty()) {
    f.output_path = output;
    f.output_owner = client;
  }
  auto resumed = begin_fetch(std::move(r), std::move(f), existing ? existing->get() : nullptr);
  if (!resumed) return reply_error(client, resumed.err());
  client->send(json{{"event", "started"}, {"id", id->str()}, {"resumed", *resumed}});
  drain();
}

result<bool> daemon_impl::begin_fetch(fetch_request r, watched_fetch f,
                                      const store::content_reader* existing) {
  const content_id id = r.id;
  if (existing) {  // a fetch that was interrupted: resume from the verified pieces
    const auto& rd = *existing;
    auto partial =
        store_->open_partial(rd.get_manifest(), rd.record().summary.name, rd.record().piece_hashes);
    if (!partial) return std::move(partial).err();
    f.partial = std::move(*partial);
    f.name = rd.record().summary.name;
    SHOAL_TRY(begin_output(f, id, rd.get_manifest()));
    spdlog::info("resuming {}: {} of {} pieces already verified", id.str(),
                 f.partial->have().count(), f.partial->have().size());
    r.resume =
        fetch_request::resume_state{rd.get_manifest(), rd.record().piece_hashes, f.partial->have()};
  }
  const bool resumed = r.resume.has_value();
  node_.start_fetch(net::now(), std::move(r));
  f.seq = node_.fetch_seq(id);
  // The node's actions are drained by the caller, and report to the watchers kept here (the
  // node may end the fetch in them already).
  watched_[id] = std::move(f);
  return resumed;
}

void daemon_impl::gateway_open(const content_id& id, std::function<void(const error*)> done) {
  if (auto w = watched_.find(id); w != watched_.end()) {
    if (w->second.partial) return done(nullptr);
    w->second.open_waiters.push_back(std::move(done));
    return;
  }
  auto existing = store_->open_reader(id);
  if (existing && (*existing)->have().complete()) return done(nullptr);
  fetch_request r;
  r.id = id;
  r.name = existing ? (*existing)->record().summary.name : std::string();
  if (auto no = node_.fetch_impossible(r)) return done(&*no);
  watched_fetch f;
  f.name = r.name;
  f.detached = true;
  spdlog::info("fetching {} for an HTTP client", id.str());
  auto started = begin_fetch(std::move(r), std::move(f), existing ? existing->get() : nullptr);
  if (!started) return done(&started.err());
  watched_fetch& w = watched_[id];
  if (w.partial)
    done(nullptr);
  else
    w.open_waiters.push_back(std::move(done));
  drain();
}

void daemon_impl::gateway_wait(const content_id& id, piece_index p,
                               std::function<void(const error*)> done) {
  auto w = watched_.find(id);
  // No fetch runs: the store has what it has (the gateway reads it again and says so).
  if (w == watched_.end() || !w->second.partial || w->second.partial->have().contains(p))
    return done(nullptr);
  w->second.piece_waiters[p].push_back(std::move(done));
  // The reader goes on from here: this piece and the next few first, rarest-first after them.
  node_.handle_wanted(net::now(), id, p, piece_index(p.value + gateway_read_ahead - 1));
  drain();
}

void daemon_impl::cancel_fetch(const std::shared_ptr<reply_sink>& client, const json& req) {
  auto id = content_id::parse(req.value("id", std::string()));
  if (!id) return reply_error(client, id.err());
  if (!node_.fetching(*id))
    return reply_error(client, {errc::not_found, "no fetch of " + id->str() + " is running"});
  spdlog::info("fetch of {} cancelled by the control channel", id->str());
  node_.stop_fetch(net::now(), *id,
                   {errc::cancelled, "the fetch of " + id->str() +
                                         " was cancelled; its verified pieces are kept, and "
                                         "`shoal get " +
                                         id->str() + "` resumes it"});
  drain();
  client->send(json{{"event", "cancelled"}, {"id", id->str()}});
  client->close_after_writes();
}

void daemon_impl::store_changed(const std::vector<content_service::change>& changes) {
  const auto now = net::now();
  for (const auto& c : changes) {
    readers_.erase(c.id);
    if (c.held)
      node_.handle_held(now, c.id, c.held->have_count, c.held->complete());
    else
      node_.handle_dropped(now, c.id);
  }
  drain();
}

void daemon_impl::set_limits(const std::shared_ptr<reply_sink>& client, const json& req) {
  auto reply = apply_limits(net::now(), up_, down_, req);
  if (!reply) return reply_error(client, reply.err());
  // Kept for the next start (host/saved_limits.hpp); the limits apply now either way.
  if (req.contains("upload") || req.contains("download")) {
    auto saved = save_limits(opts_.data_dir, up_.rate(), down_.rate());
    (*reply)["saved"] = saved.ok();
    if (!saved)
      spdlog::warn("the new rate limits apply, but a restart will not keep them: {}",
                   saved.err().message);
  }
  client->send(*reply);
  client->close_after_writes();
}

std::string daemon_impl::metrics() {
  std::size_t in = 0, out = 0;
  for (const auto& [id, c] : connections_)
    if (c->sess() && c->peer()) ++(c->side() == connection::role::dialer ? out : in);
  return metrics_text({node_, net::now(), counters_, up_.rate(), down_.rate(), in, out,
                       http_ ? http_->open() : 0, *store_, identity_.self.not_after_unix});
}

std::optional<std::string> daemon_impl::not_ready() const {
  if (stopping_) return "the daemon is stopping";
  if (std::chrono::system_clock::now() >=
      std::chrono::system_clock::from_time_t(
          static_cast<std::time_t>(identity_.self.not_after_unix)))
    return "this node's certificate has expired";
  if (!opts_.bootstrap.empty() && node_.dht().table().size() == 0)
    return "no member known in the DHT yet (bootstrap: " + node_.bootstrap_text() + ")";
  return std::nullopt;
}

json daemon_impl::status_json() {
  const auto now = net::now();
  json fetches = json::array();
  for (const auto& id : node_.fetches())
    if (auto r = node_.report(now, id)) fetches.push_back(progress_json(*r));
  return json{
      {"event", "status"},
      {"node", identity_.self.id.str()},
      {"clock_ms", std::chrono::duration<double, std::milli>(now.time_since_epoch()).count()},
      {"listen", listen_text_},
      {"listen_http", http_ ? http_->bound() : std::string("off")},
      {"uploaded_bytes", counters_.uploaded},
      {"downloaded_bytes", counters_.downloaded},
      {"certificate",
       {{"not_after", identity_.self.not_after_unix},
        {"seconds_left", identity_.self.not_after_unix - member::unix_now()}}},
      {"limits", limits_json(up_, down_)},
      {"peers", peers_json(connections_, node_)},
      {"fetches", fetches},
      {"swarms", swarms_json(node_.swarms())},
      {"dht", dht_json(node_)},
      // The summary only: status is polled every second (the dashboard), and a list holds up
      // to 4,096 entries; `shoal network revocations` shows them.
      {"revocations", revocations_json(false)},
      {"problems", problems_json(now, node_, counters_.refused_incoming)}};
}

result<json> daemon_impl::content_status_json(const content_id& id) {
  const auto now = net::now();
  json out{{"event", "content_status"}, {"id", id.str()}};
  auto all = store_->list();
  if (!all) return std::move(all).err();
  for (const auto& s : *all)
    if (s.id == id) out["held"] = summary_json(s);
  if (auto r = node_.report(now, id)) out["fetch"] = progress_json(*r);
  for (const auto& x : node_.swarms().swarms())
    if (x.id == id)
      out["swarm"] = {{"peers", node_.swarms().members(id).size()},
                      {"pieces", x.pieces},
                      {"pieces_only_here", x.only_here}};
  json peers = json::array();
  for (auto& p : peers_json(connections_, node_)) {
    const auto has = [&](const json& list, bool by_field) {
      for (const auto& e : list)
        if ((by_field ? e.value("id", "") : e.get<std::string>()) == id.str()) return true;
      return false;
    };
    if (has(p.value("swarms", json::array()), false) ||
        has(p.value("fetching", json::array()), true))
      peers.push_back(std::move(p));
  }
  if (!out.contains("held") && !out.contains("fetch") && peers.empty())
    return error{errc::not_found, "this node neither holds nor fetches " + id.str() +
                                      " and none of its peers shares it"};
  out["peers"] = std::move(peers);
  return out;
}

void daemon_impl::handle_control(const std::shared_ptr<control_session>& client, const json& req) {
  const std::string op = req.value("op", "");
  if (op == "get") {
    start_get(client, req);
  } else if (op == "limits") {
    set_limits(client, req);
  } else if (op == "revocations") {
    publish_revocations(client, req);
  } else if (op == "status" && req.contains("id")) {
    auto id = content_id::parse(req.value("id", std::string()));
    auto st = id ? content_status_json(*id) : result<json>(id.err());
    if (!st) return reply_error(client, st.err());
    client->send(*st);
    client->close_after_writes();
  } else if (op == "status") {
    client->send(status_json());
    client->close_after_writes();
  } else if (op == "cancel") {
    cancel_fetch(client, req);
  } else if (content_.handle(client, op, req)) {
    // an add, rm, pin, unpin, gc or verify: content_service
  } else {
    reply_error(client, {errc::invalid_argument, "unknown control op \"" + op + "\""});
  }
}

}  // namespace shoal::host::detail
