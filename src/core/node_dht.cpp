// The DHT's side of the node (core/node.hpp): its messages over the pooled connections (or a
// connection dialed for them, with the node it should reach), holder discovery for the fetches
// and its back-off, and bootstrap while no member is known. core/dht.hpp does the protocol.
#include <algorithm>

#include "core/node.hpp"

namespace shoal {

// The member at the other end as the DHT knows it: where it listens, or port 0 if it does not.
wire::peer_entry node::dht_entry_of(const link& l) const {
  if (auto e = peer_entry_of(l)) return *e;
  wire::peer_entry e;
  if (l.who) e.node = l.who->id;
  return e;
}

// A session is open: the DHT learns of the member and gets the messages waiting for it. False if
// the connection was dialed for a node the DHT named and reached another (closed).
bool node::dht_established(time_point now, peer_handle p) {
  link* l = find_link(p);
  if (l->dht_dial) {
    const node_id want = *l->dht_dial;
    l->dht_dial.reset();
    dial_queued_dht(now);  // its slot is free
    l = find_link(p);
    if (l->who && l->who->id != want) {
      close_link(now, p, wire::reason::done, "this is not the node the DHT named here");
      dht_outbox_.erase(want);
      dht_.handle_unreachable(now, want);
      pump_dht(now);
      return false;
    }
  }
  if (l->bootstrap) {
    l->bootstrap = false;
    if (l->who) {
      bootstrap_problems_.erase(l->remote);
      note(log_level::info, "joined the DHT through " + describe(p));
    }
  }
  if (!l->who) return true;
  const wire::peer_entry at = dht_entry_of(*l);
  if (at.port != 0) dht_.handle_connected(now, at);
  if (dht_reask_.erase(l->who->id) > 0) dht_.handle_reconnected(now, l->who->id);
  if (auto box = dht_outbox_.find(l->who->id); box != dht_outbox_.end()) {
    for (auto& m : box->second) send(p, std::move(m));
    dht_outbox_.erase(box);
  }
  pump_dht(now);
  return true;
}

// A connection ended: one dialed for the DHT that never opened means its node is unreachable,
// unless another connection to that node is open or opening (a duplicate closed), which takes
// its mail.
void node::dht_connection_closed(time_point now, peer_handle, const link& l) {
  if (!l.dht_dial) return;
  const node_id n = *l.dht_dial;
  dial_queued_dht(now);  // its slot is free (the link is forgotten already)
  auto box = dht_outbox_.find(n);
  if (auto other = open_to(n)) {
    if (box != dht_outbox_.end()) {
      for (auto& m : box->second) send(*other, std::move(m));
      dht_outbox_.erase(box);
    }
    return;
  }
  // Closed as the duplicate of a connection from that node still opening: the messages wait for
  // that one, which now answers for them (opened, or failed as this dial would have).
  if (auto other = link_to(n)) {
    links_.at(*other).dht_dial = n;
    return;
  }
  if (box != dht_outbox_.end()) dht_outbox_.erase(box);
  dht_.handle_unreachable(now, n);
  pump_dht(now);
}

void node::pump_dht(time_point now) {
  while (auto a = dht_.poll_action()) {
    if (auto* s = std::get_if<dht::actions::send>(&*a))
      send_dht(now, s->to, std::move(s->msg));
    else if (auto* f = std::get_if<dht::actions::providers_found>(&*a))
      on_providers_found(now, *f);
    else
      on_lookup_done(now, std::get<dht::actions::lookup_done>(*a));
  }
}

// Over a pooled connection to the node if there is one, else queued while one is dialed (or,
// with every DHT dial slot taken, until one frees up).
void node::send_dht(time_point now, const wire::peer_entry& to, wire::message m) {
  if (to.node == cfg_.self) return;
  if (auto c = open_to(to.node)) return send(*c, std::move(m));
  // A member that does not listen is reached only over its own connection; without one the
  // message is dropped and its query times out.
  if (to.port == 0) return;
  const bool dialing = std::any_of(links_.begin(), links_.end(),
                                   [&](const auto& e) { return e.second.dht_dial == to.node; });
  if (!dialing && !dht_dial_address_.contains(to.node)) {
    if (dht_dials() < cfg_.max_dht_dials) {
      links_.at(open_link(now, address_of(to))).dht_dial = to.node;
    } else {
      if (dht_dial_queue_.size() >= cfg_.max_dht_dial_queue) return;
      dht_dial_queue_.push_back(to.node);
      dht_dial_address_[to.node] = to;
    }
  }
  auto& box = dht_outbox_[to.node];
  if (box.size() >= cfg_.max_dht_outbox) box.pop_front();
  box.push_back(std::move(m));
}

std::size_t node::dht_dials() const {
  return static_cast<std::size_t>(std::count_if(
      links_.begin(), links_.end(), [](const auto& e) { return e.second.dht_dial.has_value(); }));
}

// Dials the members waiting for a DHT dial slot, oldest first, while slots are free. One whose
// messages found a connection meanwhile (or were dropped) is skipped.
void node::dial_queued_dht(time_point now) {
  while (!dht_dial_queue_.empty() && dht_dials() < cfg_.max_dht_dials) {
    const node_id n = dht_dial_queue_.front();
    dht_dial_queue_.pop_front();
    auto at = dht_dial_address_.find(n);
    if (at == dht_dial_address_.end()) continue;
    const wire::peer_entry to = at->second;
    dht_dial_address_.erase(at);
    auto box = dht_outbox_.find(n);
    if (box == dht_outbox_.end()) continue;
    if (auto c = open_to(n)) {
      for (auto& m : box->second) send(*c, std::move(m));
      dht_outbox_.erase(box);
      continue;
    }
    links_.at(open_link(now, address_of(to))).dht_dial = n;
  }
}

// Holders a running lookup has found so far: dialed at once.
void node::on_providers_found(time_point now, const dht::actions::providers_found& found) {
  auto d = discovery_.find(found.id);
  if (d == discovery_.end()) return;
  const content_id cid = d->second;
  auto it = jobs_.find(cid);
  if (it == jobs_.end()) return;
  std::vector<peer_handle> to_attach;
  for (const auto& p : found.providers) {
    const auto use = use_holder(now, it->second, p.peer, to_attach);
    if (use == holder_use::full) break;
    if (use == holder_use::added) it->second.providers_found.insert(p.peer.node);
  }
  attach_all(now, cid, to_attach);
}

void node::on_lookup_done(time_point now, const dht::actions::lookup_done& done) {
  lookup_summary fig;
  fig.kind = done.kind;
  fig.target = done.target.hex();
  fig.queries = done.stats.queries;
  fig.answered = done.stats.answered;
  fig.failed = done.stats.failed;
  fig.rounds = done.stats.rounds;
  fig.ms = std::chrono::duration<double, std::milli>(done.stats.elapsed).count();
  fig.providers = done.providers.size();
  recent_lookups_.push_back(fig);
  if (recent_lookups_.size() > cfg_.recent_lookups_kept) recent_lookups_.pop_front();
  if (host_lookups_.erase(done.id) > 0) {
    actions_.push_back(node_actions::lookup_ended{done.id, fig, done.closest, done.providers});
    return;
  }
  auto d = discovery_.find(done.id);
  if (d == discovery_.end()) return;
  const content_id cid = d->second;
  discovery_.erase(d);
  note(done.stats.queries > 0 ? log_level::info : log_level::debug,
       "DHT lookup for " + cid.str() + ": " + std::to_string(done.providers.size()) + " holders; " +
           std::to_string(done.stats.queries) + " queries (" + std::to_string(done.stats.answered) +
           " answered, " + std::to_string(done.stats.failed) + " failed), " +
           std::to_string(done.stats.rounds) + " round trips, " +
           std::to_string(static_cast<long long>(fig.ms + 0.5)) + " ms");
  auto it = jobs_.find(cid);
  if (it == jobs_.end()) return;
  job& j = it->second;
  j.lookup.reset();
  ++j.lookups;
  j.last_lookup = fig;
  j.lookup_ended = now;
  std::size_t dialed_now = 0;
  std::vector<peer_handle> to_attach;
  for (const auto& p : done.providers) {
    const auto use = use_holder(now, j, p.peer, to_attach);
    if (use == holder_use::full) break;
    if (use == holder_use::added) {
      j.providers_found.insert(p.peer.node);
      ++dialed_now;
    }
  }
  const bool nothing = j.attached.empty() && j.dialed.empty() && j.redialing.empty();
  if (!nothing || !j.sources.empty() || dialed_now > 0) {
    j.fruitless = 0;
    j.next_lookup = now + cfg_.rediscover_interval;
    return attach_all(now, cid, to_attach);  // last: attaching pumps the fetch, which may end it
  }
  if (++j.fruitless >= cfg_.max_fruitless_lookups) {
    std::string why;
    if (dht_.table().size() == 0)
      why = cfg_.bootstrap.empty() ? "this node knows no other member"
                                   : "no bootstrap peer has answered (" + bootstrap_text() + ")";
    else if (done.providers.empty())
      why = "no member holds it (the last lookup asked " + std::to_string(done.stats.answered) +
            " members)";
    else
      why = "no holder the DHT named could be reached" +
            (j.last_problem.empty() ? "" : ": " + j.last_problem);
    j.discover = false;
    return finish_job(
        now, cid,
        error{errc::not_found, "found no holder of " + cid.str() + " in " +
                                   std::to_string(j.lookups) + " DHT lookups: " + why});
  }
  j.next_lookup = now + std::chrono::seconds(1 << std::min(j.fruitless - 1, 2));
}

// Starts the job's provider lookup when one is due: every rediscover_interval, or a second after
// the last if the fetch has lost every connection since (its holders went away).
void node::discover(time_point now, job& j) {
  if (!j.discover || j.lookup) return;
  time_point due = j.next_lookup;
  if (j.fruitless == 0 && j.attached.empty() && j.dialed.empty() && j.redialing.empty())
    due = std::min(due, j.lookup_ended + std::chrono::seconds(1));
  if (now < due) return;
  auto id = dht_.lookup(now, dht::lookup_kind::get_providers, dht::key_of(j.f.id()));
  if (!id) {  // max_lookups are running: try again shortly
    j.next_lookup = now + std::chrono::seconds(1);
    return;
  }
  j.lookup = *id;
  discovery_[*id] = j.f.id();
  pump_dht(now);
}

std::optional<dht::lookup_id> node::lookup(time_point now, dht::lookup_kind kind,
                                           const dht::key& target) {
  auto id = dht_.lookup(now, kind, target);
  if (!id) return std::nullopt;
  host_lookups_.insert(*id);
  pump_dht(now);
  return id;
}

std::string node::bootstrap_text() const {
  std::string s;
  for (const auto& a : cfg_.bootstrap) {
    s += (s.empty() ? "" : "; ") + a.str();
    if (auto p = bootstrap_problems_.find(a.str()); p != bootstrap_problems_.end())
      s += ": " + p->second;
  }
  return s;
}

// While the DHT knows nobody, the bootstrap peers are dialed, with back-off up to a minute.
void node::bootstrap_tick(time_point now) {
  if (cfg_.bootstrap.empty() || stopping_) return;
  if (std::any_of(links_.begin(), links_.end(), [](const auto& l) { return l.second.bootstrap; }))
    return;
  if (dht_.table().size() > 0) {
    bootstrap_attempts_ = 0;
    return;
  }
  if (now < next_bootstrap_) return;
  if (bootstrap_attempts_ > 0)
    note(log_level::debug,
         "DHT: no member known; dialing the bootstrap peers again (" + bootstrap_text() + ")");
  for (const auto& a : cfg_.bootstrap) links_.at(open_link(now, a)).bootstrap = true;
  next_bootstrap_ = now + std::chrono::seconds(1 << std::min(bootstrap_attempts_, 6));
  ++bootstrap_attempts_;
}

}  // namespace shoal
