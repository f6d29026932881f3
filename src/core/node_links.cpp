// The node's connections and their rules: the duplicate-connection rule, idle close, the
// full-swarm hang-up, which fetch a connection serves, and peer exchange (core/node.hpp).
#include <algorithm>

#include "core/node.hpp"

namespace shoal {

node::link* node::find_link(peer_handle p) {
  auto it = links_.find(p);
  return it == links_.end() ? nullptr : &it->second;
}

const node::link* node::find_link(peer_handle p) const {
  auto it = links_.find(p);
  return it == links_.end() ? nullptr : &it->second;
}

peer_handle node::open_link(time_point, const address& a) {
  const peer_handle p = new_handle();
  link& l = links_[p];
  l.dialer = true;
  l.remote = a.str();
  actions_.push_back(node_actions::dial{p, a});
  return p;
}

void node::close_link(time_point, peer_handle p, wire::reason code, std::string text,
                      bool keep_queued) {
  link* l = find_link(p);
  if (!l || l->closed) return;
  l->closed = true;
  actions_.push_back(node_actions::close{p, code, std::move(text), keep_queued});
}

void node::close_expired(time_point now) {
  if (own_expiry_ && own_lifetime_ && !own_warned_ && now < *own_expiry_ &&
      *own_expiry_ - now <= *own_lifetime_ / 5) {
    own_warned_ = true;
    const auto left = std::chrono::duration_cast<std::chrono::minutes>(*own_expiry_ - now);
    note(log_level::warn,
         "this node's certificate expires in " + std::to_string(left.count() / 60) + " h " +
             std::to_string(left.count() % 60) +
             " min (a fifth of its lifetime is left): renew it before then (shoal network "
             "sign its request, then shoal init --certificate and restart the daemon), or every "
             "member will refuse it");
  }
  if (own_expiry_ && now >= *own_expiry_) {
    const std::string what =
        "this node's certificate has expired: no member admits it, so every connection is "
        "closed; sign a new one for it (shoal network sign) and restart the daemon";
    if (!own_expired_) note(log_level::error, what);
    own_expired_ = true;
    // The peers are told why first; then no fetch can go on (every dial would be refused), and
    // each ends now, saying why.
    for (const auto& [p, l] : links_)
      if (l.who) close_link(now, p, wire::reason::expired, "our certificate expired");
    for (const content_id& id : fetches()) finish_job(now, id, error{errc::untrusted, what});
  }
  for (auto& [p, l] : links_) {
    if (l.closed || !l.who || !l.who->expires || now < *l.who->expires) continue;
    note(log_level::warn, "the certificate of " + describe(p) + " has expired: disconnected");
    const std::vector<content_id> mine = jobs_on(p);
    for (const content_id& c : mine)
      jobs_.at(c).last_problem = "the certificate of " + describe(p) + " expired";
    l.refused = !mine.empty();  // certificates do not renew themselves here: not redialed
    close_link(now, p, wire::reason::expired, "your certificate expired");
  }
}

void node::on_established(time_point now, peer_handle p, const session_events::established& e) {
  link* l = find_link(p);
  l->open = true;
  l->max_requests = e.peer_max_requests;
  l->listen_port = e.peer_listen_port;
  l->last_useful = now;
  // A connection only --origin-only fetches use is kept out of peer exchange.
  const std::vector<content_id> mine = jobs_on(p);
  const bool pex = mine.empty() || std::any_of(mine.begin(), mine.end(), [&](const auto& c) {
                     return !jobs_.at(c).origin_only;
                   });
  swarm_.handle_peer_added(p, peer_entry_of(*l), pex);
  if (revocation_check(now, p)) return;
  if (close_if_duplicate(now, p)) return;
  if (!dht_established(now, p)) return;
  // After the DHT's waiting queries: a lookup for a member just revoked (node_membership.cpp)
  // must be answered before the peer reads the list and forgets that member.
  if (revocations_) send(p, wire::revocations{revocation_bytes_});
  for (const content_id& c : jobs_on(p)) {
    auto it = jobs_.find(c);  // attaching pumps, which may end another fetch
    l = find_link(p);
    if (it == jobs_.end() || !l || l->closed) continue;
    job& j = it->second;
    if (auto px = j.pex_dials.find(p);
        px != j.pex_dials.end() && l->who && l->who->id != px->second) {
      // A member, but not the one announced at that address: not this swarm's peer. The fetch
      // lets go of the connection; other fetches may have dialed the same address and use it.
      j.pex_dials.erase(px);
      j.dialed.erase(p);
      l->jobs.erase(c);
      if (l->jobs.empty() && !l->dht_dial)
        return close_link(now, p, wire::reason::done,
                          "this is not the node announced at this address");
      continue;
    }
    attach(now, j, p);
  }
}

void node::on_session_closed(time_point now, peer_handle p, const session_events::closed& e) {
  link* l = find_link(p);
  // Closed by this node (close_link: a fetch cut the peer off and said why already), or by the
  // session on its own finding.
  const bool we_closed = l->closed;
  l->closed = true;
  const std::string who = describe(p);
  // Orderly ends are news, not warnings: a node that stops says goodbye(shutting_down) on every
  // connection, and its peers (and it) logged a warning for each (272 in a 16-host run).
  if (e.code == wire::reason::none || e.code == wire::reason::done ||
      e.code == wire::reason::shutting_down)
    note(log_level::info,
         "disconnected: " + who + ": " + e.text +
             (e.code == wire::reason::shutting_down && e.by_peer ? " (shutting_down, said the peer)"
                                                                 : ""));
  else
    note(log_level::warn, "disconnected: " + who + ": " + e.text + " (" +
                              wire::reason_name(e.code) + (e.by_peer ? ", said the peer" : "") +
                              ")");
  const std::vector<content_id> mine = jobs_on(p);
  if (mine.empty()) return;
  const bool violation = !e.by_peer && !we_closed && e.code == wire::reason::protocol_violation;
  if (violation) problem(now, p, "cut off: " + e.text);
  if (e.by_peer && e.code == wire::reason::overloaded) l->full = true;
  for (const content_id& c : mine) {
    job& j = jobs_.at(c);
    // Our session found the peer breaking the protocol (an unsolicited block, a bad size): the
    // fetches do not dial it again.
    if (violation) cut_off_peer(j, p);
    // A refusal already said what went wrong; the hang-up that follows is no news.
    if (!l->refused) j.last_problem = e.text;
  }
}

// Two connections to the same node: one is closed, and the fetches of the one closed move to the
// one that stays (link_closed_for_job). Crossing dials (each side dialed the other): the one
// dialed by the node with the smaller ID stays, on both sides alike. Two dialed by the same side:
// that side alone decides (the other cannot know which opened first here) and keeps the one that
// opened first; the side that accepted both waits for its goodbye. True if `p` is the one closed.
bool node::close_if_duplicate(time_point now, peer_handle p) {
  const link& c = links_.at(p);
  if (!c.who) return false;
  const node_id other = c.who->id;
  for (const auto& [id, d] : links_) {
    if (id == p || !d.who || d.who->id != other || d.closed) continue;
    peer_handle loser = p;
    if (c.dialer != d.dialer) {
      const bool we_win = cfg_.self < other;
      loser = c.dialer == we_win ? id : p;
    } else if (!c.dialer) {
      continue;  // both dialed by the peer: its call
    } else if (!d.open) {
      loser = id;
    }
    close_link(now, loser, wire::reason::done, "a duplicate connection");
    // What the DHT asked over the closed one may have been answered there, and the answer is
    // lost with it: it is asked again over the one that stays, now or once that one opens.
    if (loser != p || d.open) {
      dht_.handle_reconnected(now, other);
      pump_dht(now);
    } else {
      dht_reask_.insert(other);
    }
    return loser == p;
  }
  return false;
}

bool node::connected_to(const node_id& n) const {
  return std::any_of(links_.begin(), links_.end(), [&](const auto& e) {
    return e.second.who && e.second.who->id == n && !e.second.closed;
  });
}

// A connection to node `n` whose session is open, if there is one (the pool).
std::optional<peer_handle> node::open_to(const node_id& n) const {
  for (const auto& [p, l] : links_)
    if (l.who && l.who->id == n && l.open && !l.closed) return p;
  return std::nullopt;
}

std::optional<peer_handle> node::link_to(const node_id& n) const {
  if (auto p = open_to(n)) return p;
  for (const auto& [p, l] : links_)
    if (l.who && l.who->id == n && !l.closed) return p;
  return std::nullopt;
}

std::optional<wire::peer_entry> node::peer_entry_of(const link& l) const {
  if (!l.who || l.listen_port == 0 || !l.who->ip) return std::nullopt;
  wire::peer_entry e = *l.who->ip;
  e.node = l.who->id;
  e.port = l.listen_port;
  return e;
}

// A message about `content` arrived on `p`: the connection is in use, and the peer takes part in
// that content's swarm, if we hold or fetch it. False if that closed the connection (our swarm of
// the content is full): the message is then not acted on.
bool node::useful(time_point now, peer_handle p, const content_id& content) {
  link* l = find_link(p);
  if (!l || !l->open) return true;
  l->last_useful = now;
  if (swarm_.interested(p, content)) return true;
  if (!jobs_.contains(content) && !holds(content)) return true;  // bounded by what we have
  note_interest(now, p, content);
  l = find_link(p);
  return l && !l->closed;
}

// Peer exchange (core/swarm.hpp): the new peer learns the others in the swarm, and they learn it.
// A peer interested in a content we fetch joins that fetch, unless it is an --origin-only fetch,
// which takes no part in the swarm.
void node::note_interest(time_point now, peer_handle p, const content_id& x) {
  if (swarm_.interested(p, x)) return;
  if (auto j = jobs_.find(x); j != jobs_.end() && !j->second.attached.contains(p)) {
    const link* l = find_link(p);
    const bool cut = l && l->who && j->second.cut_off_nodes.contains(l->who->id);
    if (j->second.origin_only || cut) {  // we serve it, but our fetch does not use it
      swarm_.handle_interest(p, x, false);
      return;
    }
    if (swarm_.full(x) && l && !l->jobs.empty()) {
      // Full, but the connection carries other fetches of ours: it stays, and serves the peer
      // without our fetch of x using it.
      swarm_.handle_interest(p, x, false);
      return;
    }
    if (swarm_.full(x)) {
      // A peer asks about x over a connection our fetch does not use (it dialed us, or we
      // dialed it for the DHT) while our swarm of x is full: it is told so and does not dial us
      // again for x; it has the other members it was told of.
      note(log_level::debug,
           describe(p) + ": the swarm of " + x.str().substr(0, 12) + " is full here");
      return close_link(now, p, wire::reason::overloaded,
                        "the swarm of " + x.str() + " is full here");
    }
    attach(now, j->second, p);  // which comes back here, attached, and does the exchange
  }
  if (!swarm_.handle_interest(p, x, true)) return;
  while (auto t = swarm_.poll_tell()) {
    const link* to = find_link(t->to);
    if (!to || !to->who || to->closed) continue;
    send(t->to, std::move(t->msg));
  }
}

// A peer told us of others in the swarm of a content we fetch: dial the ones we lack.
void node::learn_peers(time_point now, peer_handle p, const wire::peers& msg) {
  auto it = jobs_.find(msg.content);
  if (it == jobs_.end() || it->second.origin_only) return;
  std::vector<peer_handle> to_attach;
  for (const auto& e : msg.entries) {
    if (cfg_.debug_logs)
      note(log_level::debug,
           describe(p) + " told of " + e.node.short_str() + " at " + address_of(e).str());
    if (use_holder(now, it->second, e, to_attach) == holder_use::full) break;
  }
  attach_all(now, msg.content, to_attach);
}

// A member in the content's swarm (told by peer exchange or found in the DHT): the fetch dials
// it, or takes over a connection to it that is open (and serves no other fetch of ours) or being
// dialed for the DHT. Connections to attach are collected, for attach_all.
node::holder_use node::use_holder(time_point now, job& j, const wire::peer_entry& e,
                                  std::vector<peer_handle>& to_attach) {
  const node_id n = e.node;
  // The fetch's connections (sources, peers it dialed, peers that dialed it) are bounded as its
  // swarm's members are (swarm::full).
  if (j.attached.size() + j.pex_dials.size() + to_attach.size() >= cfg_.max_swarm_peers)
    return holder_use::full;
  if (n == cfg_.self || j.cut_off_nodes.contains(n)) return holder_use::skipped;
  if (revocations_ && revocations_->revokes(n)) return holder_use::skipped;
  if (std::any_of(j.pex_dials.begin(), j.pex_dials.end(),
                  [&](const auto& d) { return d.second == n; }))
    return holder_use::skipped;
  const address a = address_of(e);
  if (j.cut_off.contains(a.str()) || j.gave_up.contains(a.str())) return holder_use::skipped;
  if (auto c = open_to(n)) {  // the connection we have to it, whatever else uses it
    if (j.attached.contains(*c) ||
        std::find(to_attach.begin(), to_attach.end(), *c) != to_attach.end())
      return holder_use::skipped;
    to_attach.push_back(*c);
    return holder_use::added;
  }
  // A connection to it is being made (its hellos, or a DHT dial): no second one is dialed; the
  // fetch uses that one once it opens.
  for (auto& [p, l] : links_) {
    const bool to_n = l.who ? l.who->id == n : l.dht_dial == n;
    if (!to_n || l.closed) continue;
    if (l.jobs.contains(j.f.id())) return holder_use::skipped;
    l.jobs.insert(j.f.id());
    if (l.dialer) j.dialed[p] = a;
    j.pex_dials[p] = n;
    return holder_use::added;
  }
  const peer_handle p = dial(now, j.f.id(), a, n);
  if (links_.at(p).open)
    to_attach.push_back(p);
  else
    j.pex_dials[p] = n;
  return holder_use::added;
}

// Attaching pumps the fetch, which may end it: each attach looks the job up again.
void node::attach_all(time_point now, const content_id& cid, const std::vector<peer_handle>& ps) {
  for (peer_handle p : ps) {
    auto it = jobs_.find(cid);
    const link* l = find_link(p);
    if (it == jobs_.end()) return;
    if (l && l->open && !l->closed && !it->second.attached.contains(p)) attach(now, it->second, p);
  }
}

// The fetch of `j` uses connection `p` from now on.
void node::attach(time_point now, job& j, peer_handle p) {
  if (!j.attached.insert(p).second) return;
  j.pex_dials.erase(p);  // a dial no longer: counted once against the bound, as attached
  const content_id cid = j.f.id();
  link& l = links_.at(p);
  l.jobs.insert(cid);
  const auto d = j.dialed.find(p);
  const bool source =
      d != j.dialed.end() && std::any_of(j.sources.begin(), j.sources.end(),
                                         [&](const auto& a) { return a.str() == d->second.str(); });
  j.used[p] = {l.remote, source};
  j.f.handle_peer_added(now, p, l.max_requests);
  if (!j.origin_only) {
    announce_to(now, j, p);
    note_interest(now, p, cid);
  }
  pump(now, cid);  // which may end the fetch: `j` is not used after it
  if (l.jobs.size() > 1) share_requests(now, p);
}

// Tells the peer which pieces we hold (so far) of the content we fetch.
void node::announce_to(time_point, job& j, peer_handle p) {
  const link* l = find_link(p);
  if (!j.opened || j.origin_only || !l || !l->who || l->closed) return;
  if (j.have.size() == 0) return;
  send(p, wire::bitfield{j.f.id(), j.have.size(), j.have.bytes()});
}

// Connections that no fetch of ours uses and over which the peer has asked for nothing lately.
void node::close_idle(time_point now) {
  std::vector<peer_handle> idle;
  for (const auto& [p, l] : links_)
    if (l.open && l.jobs.empty() && !l.closed && now - l.last_useful >= cfg_.idle_close)
      idle.push_back(p);
  for (peer_handle p : idle)
    close_link(now, p, wire::reason::done, "idle: neither side needs this connection");
}

}  // namespace shoal
