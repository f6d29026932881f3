// The node's fetch jobs and their rules: redials with back-off and giving up, cut-offs, who
// keeps a connection after a fetch ends, and the end of a fetch (core/node.hpp).
#include <algorithm>
#include <charconv>

#include "core/node.hpp"

namespace shoal {

namespace {

std::string fixed2(double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 2);
  return std::string(buf, r.ptr);
}

}  // namespace

node::job* node::job_for(peer_handle p, const content_id& c) {
  const link* l = find_link(p);
  if (!l || !l->jobs.contains(c)) return nullptr;
  auto j = jobs_.find(c);
  return j == jobs_.end() ? nullptr : &j->second;
}

std::vector<content_id> node::jobs_on(peer_handle p) const {
  std::vector<content_id> out;
  if (const link* l = find_link(p))
    for (const content_id& c : l->jobs)
      if (jobs_.contains(c)) out.push_back(c);
  return out;
}

void node::cut_off_peer(job& j, peer_handle p) {
  bool news = false;
  if (auto where = j.dialed.find(p); where != j.dialed.end())
    news = j.cut_off.insert(where->second.str()).second;
  if (const link* l = find_link(p); l && l->who)
    news = j.cut_off_nodes.insert(l->who->id).second || news;
  if (news) ++counters_.cut_offs;  // once per peer and fetch
}

// Each fetch attached to the connection gets an equal share of the requests the peer accepts
// outstanding (at least one: the session holds what goes over, core/session.hpp).
void node::share_requests(time_point now, peer_handle p) {
  const link* l = find_link(p);
  if (!l) return;
  std::vector<content_id> users;
  for (const content_id& c : l->jobs)
    if (auto it = jobs_.find(c); it != jobs_.end() && it->second.attached.contains(p))
      users.push_back(c);
  if (users.empty()) return;
  const auto share =
      static_cast<std::uint16_t>(std::max<std::size_t>(1, l->max_requests / users.size()));
  for (const content_id& c : users) {
    auto it = jobs_.find(c);  // a pump below may have ended it
    if (it == jobs_.end()) continue;
    it->second.f.handle_peer_limit(now, p, share);
    pump(now, c);
  }
}

void node::adopt(time_point now, job& j, peer_handle p, const std::optional<address>& a) {
  link& l = links_.at(p);
  if (a) j.dialed.try_emplace(p, *a);
  l.jobs.insert(j.f.id());
  if (l.open) attach(now, j, p);
}

std::optional<error> node::fetch_impossible(const fetch_request& r) const {
  if (self_revoked_)
    return error{errc::untrusted, "this node's certificate is revoked: no member admits it"};
  if (jobs_.contains(r.id) || !r.sources.empty()) return std::nullopt;
  if (!r.origin_only && (!cfg_.bootstrap.empty() || dht_.table().size() > 0)) return std::nullopt;
  return error{errc::invalid_argument,
               "no peer to fetch " + r.id.str() + " from: give one with --from HOST:PORT" +
                   (r.origin_only ? ""
                                  : ", or start the daemon with --bootstrap HOST:PORT (or the "
                                    "config key bootstrap) so that holders are found in the DHT")};
}

void node::start_fetch(time_point now, fetch_request r) {
  if (auto it = jobs_.find(r.id); it != jobs_.end()) {  // already fetching: new sources join it
    job& j = it->second;
    std::vector<peer_handle> open;
    for (const auto& a : r.sources) {
      const bool known = std::any_of(j.dialed.begin(), j.dialed.end(),
                                     [&](const auto& d) { return d.second.str() == a.str(); });
      if (!known && !j.cut_off.contains(a.str()) && !j.redialing.contains(a.str()))
        open.push_back(dial(now, r.id, a));
    }
    return attach_all(now, r.id, open);
  }
  SHOAL_ASSERT(!fetch_impossible(r));
  job& j = jobs_.try_emplace(r.id, r.id, cfg_.fetch, rng_(), ++next_job_).first->second;
  j.name = std::move(r.name);
  j.started = now;
  j.sources = std::move(r.sources);
  j.origin_only = r.origin_only;
  j.discover = !r.origin_only;
  if (r.resume) {  // a fetch that was interrupted: resume from the verified pieces
    j.opened = true;
    j.have = r.resume->have;
    held_.try_emplace(r.id, false);
    j.f.handle_known(now, std::move(r.resume->m), std::move(r.resume->piece_hashes),
                     r.resume->have);
  }
  std::vector<peer_handle> open;
  for (const auto& a : j.sources) open.push_back(dial(now, r.id, a));
  discover(now, j);
  pump(now, r.id);
  attach_all(now, r.id, open);
}

std::uint64_t node::fetch_seq(const content_id& id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? 0 : it->second.seq;
}

void node::handle_wanted(time_point now, const content_id& id, piece_index first,
                         piece_index last) {
  auto j = jobs_.find(id);
  if (j == jobs_.end()) return;
  j->second.f.handle_wanted(now, first, last);
  pump(now, id);
}

void node::stop_fetch(time_point now, const content_id& id, const error& why) {
  finish_job(now, id, why);
}

peer_handle node::dial(time_point now, const content_id& cid, const address& a,
                       std::optional<node_id> expect) {
  job& j = jobs_.at(cid);
  for (auto& [p, l] : links_) {
    if (!l.dialer || l.closed || l.remote != a.str()) continue;
    if (expect && l.who && l.who->id != *expect) continue;
    l.jobs.insert(cid);
    j.dialed.try_emplace(p, a);
    return p;
  }
  const peer_handle p = open_link(now, a);
  links_.at(p).jobs.insert(cid);
  j.dialed[p] = a;
  return p;
}

template <typename T>
void node::forward(time_point now, peer_handle p, const T& msg) {
  const content_id* c = nullptr;
  if constexpr (requires { msg.ref; })
    c = &msg.ref.content;
  else
    c = &msg.content;
  if constexpr (std::is_same_v<T, wire::reject>) ++counters_.rejects_received[msg.code];
  job* j = job_for(p, *c);
  if (!j) return;  // no fetch of that content over this connection: nothing to do with it
  if constexpr (std::is_same_v<T, wire::manifest_part>) j->f.handle_manifest_part(now, p, msg);
  if constexpr (std::is_same_v<T, wire::hashes>) j->f.handle_hashes(now, p, msg);
  if constexpr (std::is_same_v<T, wire::bitfield>) j->f.handle_bitfield(now, p, msg);
  if constexpr (std::is_same_v<T, wire::have>) j->f.handle_have(now, p, msg);
  if constexpr (std::is_same_v<T, wire::block>) j->f.handle_block(now, p, msg);
  if constexpr (std::is_same_v<T, wire::reject>) {
    if (msg.code == wire::reason::not_found) j->last_problem = describe(p) + ": " + msg.text;
    j->f.handle_reject(now, p, msg);
  }
  pump(now, j->f.id());
}

template void node::forward(time_point, peer_handle, const wire::manifest_part&);
template void node::forward(time_point, peer_handle, const wire::hashes&);
template void node::forward(time_point, peer_handle, const wire::bitfield&);
template void node::forward(time_point, peer_handle, const wire::have&);
template void node::forward(time_point, peer_handle, const wire::block&);
template void node::forward(time_point, peer_handle, const wire::reject&);

// Carries out what the fetch asks for until it has nothing more.
void node::pump(time_point now, const content_id& cid) {
  auto it = jobs_.find(cid);
  if (it == jobs_.end()) return;
  job& j = it->second;
  bool announced = false;
  while (auto a = j.f.poll_action()) {
    if (auto* s = std::get_if<fetch_actions::send>(&*a)) {
      const link* l = find_link(s->peer);
      if (!l || !l->who || l->closed) continue;
      send(s->peer, std::move(s->msg));
    } else if (auto* d = std::get_if<fetch_actions::disconnect>(&*a)) {
      note(log_level::warn, "cutting off " + describe(d->peer) + ": " + d->text);
      j.last_problem = describe(d->peer) + ": " + d->text;
      problem(now, d->peer, "cut off: " + d->text);
      cut_off_peer(j, d->peer);
      if (d->code == wire::reason::bad_block) {
        j.bad_block = true;
        ++counters_.bad_blocks;
      }
      close_link(now, d->peer, d->code, d->text);
    } else if (auto* o = std::get_if<fetch_actions::open_content>(&*a)) {
      actions_.push_back(
          node_actions::open_content{cid, std::move(o->m), std::move(o->piece_hashes),
                                     !j.name.empty()               ? j.name
                                     : !j.f.offered_name().empty() ? j.f.offered_name()
                                                                   : cid.str()});
    } else if (auto* w = std::get_if<fetch_actions::write_piece>(&*a)) {
      actions_.push_back(node_actions::write_piece{cid, w->piece, std::move(w->data)});
    } else if (auto* st = std::get_if<fetch_actions::piece_stored>(&*a)) {
      j.have.insert(st->piece);
      piece_now_stored(cid, st->piece);
      actions_.push_back(node_actions::piece_stored{cid, st->piece});
      if (!j.providing && !j.origin_only) {  // a holder of verified pieces: say so in the DHT
        j.providing = true;
        dht_.provide(now, cid, false);
        announced = true;
      }
      // Announced at once: the piece is verified and stored, so it can be served now.
      if (!j.origin_only)
        for (peer_handle p : swarm_.members(cid))
          if (const link* l = find_link(p); l && l->who && !l->closed)
            send(p, wire::have{cid, st->piece});
    } else if (std::holds_alternative<fetch_actions::finished>(*a)) {
      return finish_job(now, cid, {});
    } else if (auto* fl = std::get_if<fetch_actions::failed>(&*a)) {
      return finish_job(now, cid, fl->why);
    }
  }
  // After the loop: the DHT's actions can attach peers, which pumps this fetch again.
  if (announced) pump_dht(now);
}

void node::handle_opened(time_point now, const content_id& id, std::uint64_t seq,
                         result<piece_set> have) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.seq != seq) return;
  job& j = it->second;
  if (!have) return finish_job(now, id, have.err());
  j.opened = true;
  j.have = std::move(*have);
  held_.try_emplace(id, false);
  for (peer_handle p : j.attached) announce_to(now, j, p);
  j.f.handle_opened(now, j.have);
  pump(now, id);
}

void node::handle_piece_written(time_point now, const content_id& id, std::uint64_t seq,
                                piece_index piece, const result<void>& r) {
  auto it = jobs_.find(id);
  if (it == jobs_.end() || it->second.seq != seq) return;
  it->second.f.handle_piece_written(now, piece, r);
  pump(now, id);
}

// A connection the fetch used is gone: it is redialed, or given up, or the fetch ends.
void node::link_closed_for_job(time_point now, peer_handle p, const link& l,
                               const content_id& cid) {
  auto it = jobs_.find(cid);
  if (it == jobs_.end()) return;
  {
    job& j = it->second;
    j.attached.erase(p);
    j.pex_dials.erase(p);
    j.f.handle_peer_removed(now, p);
  }
  std::optional<address> addr;
  if (auto t = it->second.dialed.find(p); t != it->second.dialed.end()) {
    addr = t->second;
    it->second.dialed.erase(t);
  }
  pump(now, cid);
  it = jobs_.find(cid);
  if (it == jobs_.end()) return;
  job& j = it->second;
  const auto end_if_idle = [&](errc code, const std::string& why) {
    if (j.idle()) finish_job(now, cid, error{code, why});
  };
  if (l.full) {
    // Its swarm is full: the fetch goes on with the members it has (and those it learns of),
    // and takes no other connection to that node either (it would hang up on that one too).
    ++j.full_swarms;
    if (addr) j.gave_up.insert(addr->str());
    if (auto at = peer_entry_of(l)) j.gave_up.insert(address_of(*at).str());
    return end_if_idle(errc::io_error, "no peer left: " + j.last_problem);
  }
  if (!addr) return;
  // A node we are still connected to another way (a duplicate connection closed) is not
  // redialed. Peers learned in the swarm are, like sources: a swarm whose members lose their
  // links to each other falls back on the origin, which then sends every piece to everyone.
  if (l.who && connected_to(l.who->id)) {
    if (auto other = link_to(l.who->id); other && !j.cut_off_nodes.contains(l.who->id))
      return adopt(now, j, *other, addr);  // the duplicate that stayed: the fetch takes it
    return end_if_idle(errc::io_error, "no peer left: " + j.last_problem);
  }
  // Certificates do not fix themselves: a refused peer is not dialed again.
  if (l.refused) return end_if_idle(errc::untrusted, j.last_problem);
  if (j.cut_off.contains(addr->str()))  // a bad block, a protocol violation or a stall
    return end_if_idle(j.bad_block ? errc::hash_mismatch : errc::io_error,
                       "no peer left to fetch from: " + j.last_problem);
  int& n = j.redials[addr->str()];
  if (j.f.bytes_from(p) > 0) n = 0;  // it delivered: back to a full allowance
  if (++n > cfg_.max_redials) {
    j.gave_up.insert(addr->str());  // the DHT may name it again; it is not dialed again
    return end_if_idle(errc::io_error, "gave up on " + addr->str() + " after " +
                                           std::to_string(cfg_.max_redials + 1) +
                                           " attempts: " + j.last_problem);
  }
  j.redialing[addr->str()] = {*addr, now + std::chrono::seconds(1 << (n - 1))};
}

void node::run_redials(time_point now) {
  for (const content_id& id : fetches()) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    std::vector<address> due;
    for (auto r = it->second.redialing.begin(); r != it->second.redialing.end();) {
      if (r->second.second > now) {
        ++r;
        continue;
      }
      due.push_back(r->second.first);
      r = it->second.redialing.erase(r);
    }
    std::vector<peer_handle> open;
    for (const auto& a : due) open.push_back(dial(now, id, a));
    attach_all(now, id, open);
  }
}

const char* fetch_stage_name(fetch_stage s) {
  switch (s) {
    case fetch_stage::metadata:
      return "metadata";
    case fetch_stage::fetching:
      return "fetching";
    case fetch_stage::looking_up:
      return "looking_up";
    case fetch_stage::connecting:
      return "connecting";
    case fetch_stage::redialing:
      return "redialing";
    case fetch_stage::waiting:
      return "waiting";
  }
  return "waiting";
}

fetch_report node::report_of(time_point now, const job& j) const {
  fetch_report r;
  r.id = j.f.id();
  r.progress = j.f.progress();
  for (const auto& [p, u] : j.used) {
    const std::uint64_t n = j.f.bytes_from(p);
    if (n == 0) continue;
    r.from[u.address] += n;
    (u.source ? r.from_sources : r.from_peers) += n;
  }
  r.duplicate_blocks = j.f.duplicate_blocks();
  r.full_swarms = j.full_swarms;
  r.waiting = j.f.waiting();
  for (const auto& [p, a] : j.dialed)
    if (const link* l = find_link(p); l && !l->open && !l->closed) ++r.connecting;
  r.redialing = j.redialing.size();
  const auto ph = j.f.current_phase();
  if (r.progress.peers > 0)
    r.stage = ph == fetch::phase::manifest || ph == fetch::phase::hashes ? fetch_stage::metadata
                                                                         : fetch_stage::fetching;
  else if (j.lookup)
    r.stage = fetch_stage::looking_up;
  else if (r.connecting > 0)
    r.stage = fetch_stage::connecting;
  else if (r.redialing > 0)
    r.stage = fetch_stage::redialing;
  else
    r.stage = fetch_stage::waiting;
  r.origin_only = j.origin_only;
  r.lookups = j.lookups;
  r.holders_found = j.providers_found.size();
  r.last_lookup = j.last_lookup;
  r.elapsed = now - j.started;
  return r;
}

std::optional<fetch_report> node::report(time_point now, const content_id& id) const {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return report_of(now, it->second);
}

std::vector<node::peer_fetch> node::fetches_of(peer_handle p) const {
  std::vector<peer_fetch> out;
  for (const content_id& c : jobs_on(p)) {
    const job& j = jobs_.at(c);
    if (j.attached.contains(p))
      out.push_back({c, j.f.peer_in_flight(p), j.f.peer_capacity(p), j.f.peer_pieces(p)});
  }
  return out;
}

std::string node::describe_fetch(time_point now, const content_id& id, bool in_full) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? std::string() : it->second.f.describe(now, in_full);
}

// Ends a job: keeps what was stored, says so in the DHT if it is complete, and closes its
// connections but those to peers that still lack pieces.
void node::finish_job(time_point now, const content_id& cid, const error& e) {
  auto it = jobs_.find(cid);
  if (it == jobs_.end()) return;
  job& j = it->second;
  fetch_report rep = report_of(now, j);
  if (e.code == errc::ok)
    note(log_level::info, "fetched " + cid.str() + " (" +
                              std::to_string(rep.progress.received_bytes) + " bytes received in " +
                              fixed2(std::chrono::duration<double>(rep.elapsed).count()) + " s)");
  else
    note(log_level::error, "fetch of " + cid.str() + " failed: " + e.message);
  // Complete in the store (also when the host fails to write its output): held, and said so.
  if (j.f.current_phase() == fetch::phase::done) {
    held_[cid] = true;
    if (!j.origin_only) dht_.provide(now, cid, true);
  }
  for (auto d = discovery_.begin(); d != discovery_.end();)
    d = d->second == cid ? discovery_.erase(d) : std::next(d);
  std::vector<peer_handle> peers(j.attached.begin(), j.attached.end());
  for (const auto& [p, a] : j.dialed)
    if (!j.attached.contains(p)) peers.push_back(p);  // still connecting
  // Peers that still lack pieces keep their connection: this node now serves them what it
  // fetched (they close it when they are done, or it is closed when idle).
  std::set<peer_handle> keep;
  if (e.code == errc::ok && !stopping_)
    for (peer_handle p : j.attached)
      if (!j.f.peer_complete(p)) keep.insert(p);
  jobs_.erase(it);
  for (peer_handle p : peers) {
    link* l = find_link(p);
    if (!l) continue;
    l->jobs.erase(cid);
    if (!l->jobs.empty()) {  // other fetches of ours use it: they get its whole bound
      share_requests(now, p);
      continue;
    }
    if (keep.contains(p)) continue;
    // A goodbye, so that the peer logs why the connection ended rather than a hang-up.
    if (stopping_)
      close_link(now, p, wire::reason::shutting_down, "the node is shutting down");
    else
      close_link(now, p, wire::reason::done,
                 e.code == errc::ok ? "the fetch is complete" : "the fetch has stopped");
  }
  if (!stopping_) pump_dht(now);  // the announcement of what was fetched
  actions_.push_back(node_actions::fetch_ended{cid, e, std::move(rep)});
}

}  // namespace shoal
