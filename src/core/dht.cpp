#include "core/dht.hpp"

#include <algorithm>
#include <utility>

#include "core/random.hpp"
#include "shoal/error.hpp"

namespace shoal::dht {

namespace {
constexpr duration expiry_sweep = 60s;
// Buckets refreshed (a lookup of a random key in their range) each refresh_interval.
constexpr std::size_t refreshes_per_round = 4;
}  // namespace

node::node(node_id self, config cfg, std::uint64_t seed)
    : self_(self),
      cfg_(cfg),
      rng_(seed),
      table_(self, cfg.k),
      next_tag_(static_cast<std::uint32_t>(rng_())) {
  SHOAL_ASSERT(cfg_.k >= 1 && cfg_.k <= wire::max_dht_nodes);
  SHOAL_ASSERT(cfg_.alpha >= 1 && cfg_.max_candidates >= cfg_.k);
}

// --- input ------------------------------------------------------------------------------------

void node::handle_connected(time_point now, const wire::peer_entry& at) {
  last_now_ = std::max(last_now_, now);
  const std::size_t before = table_.size();
  table_.seen(now, at);
  if (table_.size() == before || before >= cfg_.k) return;
  // Joining (we know fewer than k members and this one is new): look ourselves up, which fills
  // the buckets near us and tells the nodes near us that we exist (they see our queries). Again
  // after each such contact, one lookup at a time: the first contact may be a member that has
  // just joined through us and knows nobody else, and its empty answer must not end our join
  // before our own bootstrap peer has been asked.
  if (!started_) {
    started_ = true;
    next_refresh_ = now + cfg_.refresh_interval;
    next_expiry_ = now + expiry_sweep;
  }
  if (before == 0) run_announcements(now);
  if (join_lookup_ && lookups_.contains(*join_lookup_)) {
    join_again_ = true;
    return;
  }
  join_again_ = false;
  rejoin_after_ = cfg_.rejoin_interval;  // a new contact: the back-off starts again
  start_join(now);
}

void node::start_join(time_point now) {
  rejoin_at_.reset();
  join_known_ = table_.size();
  if (lookups_.size() < cfg_.max_lookups)
    join_lookup_ = start(now, lookup_kind::find_node, key_of(self_), true);
}

void node::handle_message(time_point now, const wire::peer_entry& from, const wire::message& m) {
  last_now_ = std::max(last_now_, now);
  if (const auto* q = std::get_if<wire::dht_query>(&m)) {
    answer_query(now, from, *q);
  } else if (const auto* a = std::get_if<wire::dht_announce>(&m)) {
    store_record(now, from, *a);
  } else if (const auto* n = std::get_if<wire::dht_nodes>(&m)) {
    on_nodes(now, from, *n);
  } else if (const auto* ack = std::get_if<wire::dht_ack>(&m)) {
    auto p = pending_.find(ack->tag);
    if (p == pending_.end() || p->second.to != from.node || p->second.why != purpose::announce) {
      ++stats_.stray_answers;
      return;
    }
    pending_.erase(p);
    table_.seen(now, from);
  }
  // Other messages are not the DHT's; the owner does not pass them.
}

std::size_t node::fail_queries_to(time_point now, const node_id& n) {
  std::vector<std::uint32_t> tags;
  for (const auto& [tag, p] : pending_)
    if (p.to == n) tags.push_back(tag);
  for (auto tag : tags) query_failed(now, tag);
  return tags.size();
}

void node::handle_unreachable(time_point now, const node_id& n) {
  last_now_ = std::max(last_now_, now);
  // Nothing was pending (a dial for a liveness check raced its deadline): still a failure.
  if (fail_queries_to(now, n) == 0) table_.failed(n, cfg_.max_failures);
}

void node::handle_reconnected(time_point now, const node_id& n) {
  last_now_ = std::max(last_now_, now);
  for (const auto& [tag, p] : pending_)
    if (p.to == n) actions_.push_back(actions::send{p.at, p.msg});  // same tag: one answer counts
}

void node::handle_revoked(time_point now, const node_id& n) {
  last_now_ = std::max(last_now_, now);
  fail_queries_to(now, n);
  table_.failed(n, 1);  // one failure drops it (or its place among the replacements)
  std::vector<content_id> held;
  for (const auto& [c, holders] : records_)
    if (holders.contains(n)) held.push_back(c);
  for (const content_id& c : held) forget_record(c, n);
}

void node::handle_tick(time_point now) {
  last_now_ = std::max(last_now_, now);
  std::vector<std::uint32_t> late;
  for (const auto& [tag, p] : pending_)
    if (p.deadline <= now) late.push_back(tag);
  for (auto tag : late) query_failed(now, tag);

  std::vector<lookup_id> ids;
  for (const auto& [id, l] : lookups_) ids.push_back(id);
  for (auto id : ids) {
    auto it = lookups_.find(id);
    if (it == lookups_.end()) continue;
    if (now >= it->second.started + cfg_.lookup_timeout)
      finish(now, id);
    else
      step(now, id);  // one that waited for room among the pending queries
  }
  if (started_ && now >= next_expiry_) {
    next_expiry_ = now + expiry_sweep;
    expire_records(now);
  }
  run_announcements(now);
  if (rejoin_at_ && now >= *rejoin_at_ && !(join_lookup_ && lookups_.contains(*join_lookup_)))
    start_join(now);
  if (started_ && now >= next_refresh_) {
    next_refresh_ = now + cfg_.refresh_interval;
    refresh(now);
  }
}

// --- lookups ----------------------------------------------------------------------------------

std::optional<lookup_id> node::lookup(time_point now, lookup_kind kind, const key& target) {
  last_now_ = std::max(last_now_, now);
  if (lookups_.size() >= cfg_.max_lookups) return std::nullopt;
  ++stats_.lookups;
  return start(now, kind, target, false);
}

lookup_id node::start(time_point now, lookup_kind kind, const key& target, bool internal,
                      std::optional<content_id> announce) {
  const lookup_id id = next_lookup_++;
  lookup_state& l = lookups_[id];
  l.kind = kind;
  l.target = target;
  l.started = now;
  l.internal = internal;
  l.announce = announce;
  for (const auto& at : table_.closest(target, cfg_.k)) l.shortlist.push_back({at});
  step(now, id);
  return id;
}

void node::add_candidate(lookup_state& l, const wire::peer_entry& at, int hop) {
  if (at.node == self_ || at.port == 0) return;
  auto& s = l.shortlist;
  if (std::any_of(s.begin(), s.end(), [&](const candidate& c) { return c.at.node == at.node; }))
    return;
  const key k = key_of(at.node);
  auto pos = std::find_if(s.begin(), s.end(), [&](const candidate& c) {
    return closer(l.target, k, key_of(c.at.node));
  });
  if (s.size() >= cfg_.max_candidates && pos == s.end()) return;  // farther than all kept
  s.insert(pos, candidate{at, candidate::state::fresh, hop});
  if (s.size() <= cfg_.max_candidates) return;
  // Over the bound: drop the farthest that has no query in flight.
  for (auto it = s.end(); it != s.begin();) {
    --it;
    if (it->st != candidate::state::waiting) {
      s.erase(it);
      return;
    }
  }
}

void node::step(time_point now, lookup_id id) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  lookup_state& l = it->second;
  if (l.kind == lookup_kind::get_providers && l.providers.size() >= cfg_.want_providers)
    return finish(now, id);
  // Kademlia's rule: query the closest k candidates that have not failed, alpha at a time; the
  // lookup has converged when all of them have answered. A query unanswered for longer than
  // stall_after() (a few round trips) is *stalled*: it no longer takes one of the alpha slots nor
  // holds the lookup open, though a late answer still counts. A dead node then costs a lookup a
  // few round trips, not the whole query timeout (libtorrent does the same).
  const duration stall = stall_after();
  std::size_t active = 0;
  for (const candidate& c : l.shortlist)
    if (c.st == candidate::state::waiting && now - c.sent < stall) ++active;
  std::size_t window = 0;
  bool open = false;
  for (candidate& c : l.shortlist) {
    if (c.st == candidate::state::failed) continue;
    if (c.st == candidate::state::waiting && now - c.sent >= stall) continue;
    if (window++ >= cfg_.k) break;
    if (c.st == candidate::state::waiting) {
      open = true;
    } else if (c.st == candidate::state::fresh) {
      open = true;
      if (active >= cfg_.alpha || pending_.size() >= cfg_.max_pending) continue;
      c.st = candidate::state::waiting;
      c.sent = now;
      ++active;
      ++l.stats.queries;
      const auto kind = l.kind == lookup_kind::find_node ? wire::dht_kind::find_node
                                                         : wire::dht_kind::get_providers;
      send_query(now, c.at, wire::dht_query{0, kind, l.target}, purpose::lookup, id);
    }
  }
  if (!open) finish(now, id);
}

void node::finish(time_point now, lookup_id id) {
  auto it = lookups_.find(id);
  if (it == lookups_.end()) return;
  lookup_state l = std::move(it->second);
  lookups_.erase(it);
  actions::lookup_done done;
  done.id = id;
  done.kind = l.kind;
  done.target = l.target;
  for (const candidate& c : l.shortlist) {
    if (c.st != candidate::state::answered) continue;
    if (done.closest.size() < cfg_.k) done.closest.push_back(c.at);
    l.stats.rounds = std::max(l.stats.rounds, c.hop);
  }
  for (const auto& [n, p] : l.providers) done.providers.push_back(p);
  // Holders of the whole content first: they can serve every piece.
  std::stable_partition(done.providers.begin(), done.providers.end(),
                        [](const wire::provider_entry& p) { return p.complete; });
  l.stats.elapsed = now - l.started;
  done.stats = l.stats;
  if (l.announce) {
    auto own = own_.find(*l.announce);
    if (own != own_.end()) {
      own->second.in_progress = false;
      // Nobody answered (no contacts yet, or all down): try again soon, not at the next round.
      own->second.next =
          now + (done.closest.empty() ? cfg_.retry_interval : cfg_.republish_interval);
      for (const auto& at : done.closest)
        if (pending_.size() < cfg_.max_pending)
          send_query(now, at, wire::dht_announce{0, *l.announce, own->second.complete},
                     purpose::announce, 0);
    }
  }
  if (!l.internal) actions_.push_back(std::move(done));
  if (join_lookup_ == id) {
    join_lookup_.reset();
    // New contacts came while it ran: look again while we still know fewer than k.
    if (std::exchange(join_again_, false) && table_.size() < cfg_.k) {
      start_join(now);
    } else if (table_.size() <= join_known_ && table_.size() < cfg_.k) {
      // It learned of no one: the members we know may have joined no better than we have (two
      // that joined through each other at once). Again later, backing off.
      rejoin_at_ = now + rejoin_after_;
      rejoin_after_ = std::min<duration>(2 * rejoin_after_, cfg_.refresh_interval);
    }
  }
}

void node::on_nodes(time_point now, const wire::peer_entry& from, const wire::dht_nodes& m) {
  auto p = pending_.find(m.tag);
  if (p == pending_.end() || p->second.to != from.node || p->second.why == purpose::announce) {
    ++stats_.stray_answers;
    return;
  }
  const pending_query q = p->second;
  pending_.erase(p);
  table_.seen(now, from);
  if (q.why != purpose::lookup) return;
  auto it = lookups_.find(q.lookup);
  if (it == lookups_.end()) return;  // it ended meanwhile
  lookup_state& l = it->second;
  int hop = 1;
  for (candidate& c : l.shortlist)
    if (c.at.node == from.node && c.st == candidate::state::waiting) {
      c.st = candidate::state::answered;
      hop = c.hop;
      ++l.stats.answered;
      sample_rtt(now - c.sent);
      break;
    }
  for (const auto& at : m.nodes) add_candidate(l, at, hop + 1);
  if (l.kind == lookup_kind::get_providers) {
    actions::providers_found news{q.lookup, {}};
    auto add = [&](const wire::provider_entry& e) {
      if (e.peer.node == self_ || l.providers.size() >= cfg_.max_providers_per_key) return;
      auto [pos, fresh] = l.providers.try_emplace(e.peer.node, e);
      if (!fresh && e.complete) pos->second.complete = true;
      if (fresh) news.providers.push_back(e);
    };
    if (m.self_provides) add({from, m.self_complete});
    for (const auto& e : m.providers) add(e);
    if (!l.internal && !news.providers.empty()) actions_.push_back(std::move(news));
  }
  step(now, q.lookup);
}

void node::query_failed(time_point now, std::uint32_t tag) {
  auto p = pending_.find(tag);
  if (p == pending_.end()) return;
  const pending_query q = p->second;
  pending_.erase(p);
  table_.failed(q.to, cfg_.max_failures);
  if (q.why != purpose::lookup) return;
  auto it = lookups_.find(q.lookup);
  if (it == lookups_.end()) return;
  for (candidate& c : it->second.shortlist)
    if (c.at.node == q.to && c.st == candidate::state::waiting) {
      c.st = candidate::state::failed;
      ++it->second.stats.failed;
      break;
    }
  step(now, q.lookup);
}

std::uint32_t node::send_query(time_point now, const wire::peer_entry& to, wire::message msg,
                               purpose why, lookup_id l) {
  std::uint32_t tag = next_tag_++;
  while (pending_.contains(tag)) tag = next_tag_++;
  std::visit(
      [&](auto& m) {
        if constexpr (requires { m.tag; }) m.tag = tag;
      },
      msg);
  pending_[tag] = {to.node, why, l, now + cfg_.query_timeout, to, msg};
  ++stats_.queries_sent;
  actions_.push_back(actions::send{to, std::move(msg)});
  return tag;
}

// --- serving others ---------------------------------------------------------------------------

void node::answer_query(time_point now, const wire::peer_entry& from, const wire::dht_query& q) {
  ++stats_.queries_answered;
  table_.seen(now, from);
  wire::dht_nodes reply;
  reply.tag = q.tag;
  for (const auto& at : table_.closest(q.key, cfg_.k + 1)) {
    if (at.node == from.node) continue;  // it knows where it is
    if (reply.nodes.size() < cfg_.k) reply.nodes.push_back(at);
  }
  if (q.kind == wire::dht_kind::get_providers) {
    const content_id c{q.key};
    if (auto own = own_.find(c); own != own_.end()) {
      reply.self_provides = true;
      reply.self_complete = own->second.complete;
    }
    if (auto r = records_.find(c); r != records_.end()) {
      for (int pass = 0; pass < 2; ++pass)  // complete holders first
        for (const auto& [n, rec] : r->second) {
          if (reply.providers.size() >= wire::max_dht_providers) break;
          if (n == from.node || rec.expires <= now || rec.complete != (pass == 0)) continue;
          reply.providers.push_back({rec.at, rec.complete});
        }
    }
  }
  actions_.push_back(actions::send{from, std::move(reply)});
}

void node::store_record(time_point now, const wire::peer_entry& from, const wire::dht_announce& a) {
  auto refuse = [&](wire::reason why) {
    ++stats_.announces_refused;
    actions_.push_back(actions::send{from, wire::dht_ack{a.tag, why}});
  };
  // A record names where the member listens: one that does not cannot be a provider.
  if (from.port == 0) return refuse(wire::reason::protocol_violation);
  table_.seen(now, from);
  auto& holders = records_[a.content];
  if (auto it = holders.find(from.node); it != holders.end()) {
    it->second = {from, a.complete, now + cfg_.record_ttl};
  } else if (record_count_ >= cfg_.max_records ||
             records_per_node_[from.node] >= cfg_.max_records_per_node ||
             holders.size() >= cfg_.max_providers_per_key) {
    if (holders.empty()) records_.erase(a.content);
    if (records_per_node_[from.node] == 0) records_per_node_.erase(from.node);
    return refuse(wire::reason::overloaded);
  } else {
    holders.emplace(from.node, record{from, a.complete, now + cfg_.record_ttl});
    ++records_per_node_[from.node];
    ++record_count_;
  }
  ++stats_.announces_stored;
  actions_.push_back(actions::send{from, wire::dht_ack{a.tag, wire::reason::none}});
}

void node::forget_record(const content_id& c, const node_id& n) {
  auto r = records_.find(c);
  if (r == records_.end() || r->second.erase(n) == 0) return;
  if (r->second.empty()) records_.erase(r);
  --record_count_;
  if (auto per = records_per_node_.find(n); per != records_per_node_.end() && --per->second == 0)
    records_per_node_.erase(per);
}

void node::expire_records(time_point now) {
  std::vector<std::pair<content_id, node_id>> old;
  for (const auto& [c, holders] : records_)
    for (const auto& [n, rec] : holders)
      if (rec.expires <= now) old.emplace_back(c, n);
  for (const auto& [c, n] : old) forget_record(c, n);
}

// --- our own records and upkeep ---------------------------------------------------------------

void node::provide(time_point now, const content_id& c, bool complete) {
  last_now_ = std::max(last_now_, now);
  auto [it, fresh] = own_.try_emplace(c);
  if (fresh || it->second.complete != complete) {
    it->second.complete = complete;
    it->second.next = now;
  }
  run_announcements(now);
}

void node::stop_providing(const content_id& c) {
  own_.erase(c);  // a lookup announcing it finds no own record when it ends, and sends nothing
}

void node::run_announcements(time_point now) {
  if (table_.size() == 0) return;  // nobody to tell yet; handle_connected calls again
  std::size_t running = 0;
  for (const auto& [c, o] : own_) running += o.in_progress ? 1 : 0;
  for (auto& [c, o] : own_) {
    if (running >= cfg_.max_announcing || lookups_.size() >= cfg_.max_lookups) break;
    if (o.in_progress || o.next > now) continue;
    o.in_progress = true;
    ++running;
    // If nobody can be asked the lookup ends inside start(), and finish() schedules a retry.
    start(now, lookup_kind::find_node, key_of(c), true, c);
  }
}

void node::refresh(time_point now) {
  // Liveness: the oldest member of each bucket not heard from for a whole interval is asked
  // something; no answer counts as a failure.
  for (const auto& at : table_.stale(now - cfg_.refresh_interval))
    if (pending_.size() < cfg_.max_pending)
      send_query(now, at, wire::dht_query{0, wire::dht_kind::find_node, key_of(self_)},
                 purpose::ping, 0);
  if (lookups_.size() < cfg_.max_lookups) start(now, lookup_kind::find_node, key_of(self_), true);
  auto occupied = table_.occupied();
  shuffle_range(occupied.begin(), occupied.end(), rng_);
  for (std::size_t i = 0; i < occupied.size() && i < refreshes_per_round; ++i) {
    if (lookups_.size() >= cfg_.max_lookups) break;
    key noise;
    for (auto& b : noise.bytes) b = static_cast<std::uint8_t>(rng_());
    start(now, lookup_kind::find_node, table_.key_in_bucket(occupied[i], noise), true);
  }
}

// --- output and inspection --------------------------------------------------------------------

std::optional<action> node::poll_action() {
  if (actions_.empty()) return std::nullopt;
  action a = std::move(actions_.front());
  actions_.pop_front();
  return a;
}

std::optional<time_point> node::next_deadline() const {
  std::optional<time_point> t;
  auto at = [&](time_point x) { t = t ? std::min(*t, x) : x; };
  for (const auto& [tag, p] : pending_) at(p.deadline);
  const duration stall = stall_after();
  for (const auto& [id, l] : lookups_) {
    at(l.started + cfg_.lookup_timeout);
    for (const candidate& c : l.shortlist)  // when a query stalls, the lookup moves on
      if (c.st == candidate::state::waiting && c.sent + stall > last_now_) at(c.sent + stall);
  }
  if (table_.size() > 0)
    for (const auto& [c, o] : own_)
      if (!o.in_progress) at(o.next);
  if (started_) {
    at(next_expiry_);
    at(next_refresh_);
    if (rejoin_at_) at(*rejoin_at_);
  }
  return t;
}

// A TCP-style smoothed round trip and its variation, over the answers to lookup queries.
void node::sample_rtt(duration sample) {
  const duration err = sample > srtt_ ? sample - srtt_ : srtt_ - sample;
  rttvar_ = (3 * rttvar_ + err) / 4;
  srtt_ = (7 * srtt_ + sample) / 8;
}

duration node::stall_after() const {
  return std::clamp<duration>(srtt_ + 4 * rttvar_, cfg_.min_stall, cfg_.query_timeout);
}

std::size_t node::records_from(const node_id& n) const {
  auto it = records_per_node_.find(n);
  return it == records_per_node_.end() ? 0 : it->second;
}

std::size_t node::providers_of(const content_id& c) const {
  auto it = records_.find(c);
  return it == records_.end() ? 0 : it->second.size();
}

}  // namespace shoal::dht
