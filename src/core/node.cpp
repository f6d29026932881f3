// The node's inputs and its tick (core/node.hpp); the rules they lead to are in node_links.cpp,
// node_jobs.cpp, node_serving.cpp and node_dht.cpp.
#include "core/node.hpp"

namespace shoal {

address address_of(const wire::peer_entry& e) {
  return {ip_text(e.ipv6, e.ip), e.port};
}

node::node(node_config cfg, std::uint64_t seed)
    : cfg_(std::move(cfg)),
      rng_(seed),
      swarm_(rng_(), cfg_.max_swarm_peers),
      dht_(cfg_.self, cfg_.dht, rng_()) {}

std::optional<node_action> node::poll_action() {
  if (actions_.empty()) return std::nullopt;
  node_action a = std::move(actions_.front());
  actions_.pop_front();
  return a;
}

void node::note(log_level level, std::string text) {
  if (level == log_level::debug && !cfg_.debug_logs) return;
  actions_.push_back(node_actions::log{level, std::move(text)});
}

void node::send(peer_handle p, wire::message m) {
  if (const auto* r = std::get_if<wire::reject>(&m)) ++counters_.rejects_sent[r->code];
  actions_.push_back(node_actions::send{p, std::move(m)});
}

peer_handle node::handle_accepted(time_point, std::string remote) {
  const peer_handle p = new_handle();
  link& l = links_[p];
  l.remote = std::move(remote);
  return p;
}

void node::handle_authenticated(time_point, peer_handle p, const authenticated_peer& who) {
  link* l = find_link(p);
  if (!l) return;
  l->who = who;
  note(log_level::info,
       "connected: " + describe(p) + " (" + (l->dialer ? "outgoing" : "incoming") + ")");
}

void node::problem(time_point now, peer_handle p, std::string what) {
  if (recent_problems_.size() >= max_recent_problems) recent_problems_.pop_front();
  recent_problems_.push_back({now, describe(p), std::move(what)});
}

void node::handle_dial_failed(time_point now, peer_handle p, bool untrusted,
                              const std::string& why) {
  link* l = find_link(p);
  if (!l || !l->dialer) return;  // the host reports refused incoming connections, bounded
  if (untrusted) {
    ++counters_.refused_dials;
    problem(now, p, "refused: " + why);
  }
  const std::string what = (untrusted ? "refused: " : "") + why;
  if (l->bootstrap) {
    // Said in the error of a fetch that finds nobody, and logged once per address and reason.
    std::string& last = bootstrap_problems_[l->remote];
    if (last != what) note(log_level::warn, "bootstrap peer " + l->remote + ": " + what);
    last = what;
    return;
  }
  const std::vector<content_id> mine = jobs_on(p);
  if (untrusted) {
    note(log_level::warn, "refused: " + l->remote + ": " + why);
    for (const content_id& c : mine)
      jobs_.at(c).last_problem = "connection to " + l->remote + " refused: " + why;
    l->refused = !mine.empty();
  } else if (!mine.empty()) {
    note(log_level::warn, "unreachable: " + l->remote + ": " + why);
    for (const content_id& c : mine) jobs_.at(c).last_problem = why;
  }  // else: a dial that its finished fetch abandoned; nothing to report
}

void node::handle_session_event(time_point now, peer_handle p, session_event ev) {
  link* l = find_link(p);
  if (!l) return;
  if (auto* e = std::get_if<session_events::closed>(&ev)) return on_session_closed(now, p, *e);
  if (l->closed) return;  // we said goodbye: what follows is not acted on
  std::visit(
      [&](auto&& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, session_events::established>) {
          on_established(now, p, e);
        } else if constexpr (std::is_same_v<T, session_events::refused>) {
          ++counters_.rejects_sent[e.code];
        } else if constexpr (std::is_same_v<T, session_events::timed_out>) {
          if (job* j = job_for(p, e.ref.content)) {
            j->f.handle_timed_out(now, p, e.kind, e.ref);
            pump(now, e.ref.content);
          }
        } else if constexpr (std::is_same_v<T, wire::get_manifest> ||
                             std::is_same_v<T, wire::get_hashes>) {
          if (useful(now, p, e.content)) answer(now, p, e.content, e);
        } else if constexpr (std::is_same_v<T, wire::request>) {
          if (useful(now, p, e.ref.content)) answer(now, p, e.ref.content, e);
        } else if constexpr (std::is_same_v<T, wire::peers>) {
          if (useful(now, p, e.content)) learn_peers(now, p, e);
        } else if constexpr (std::is_same_v<T, wire::dht_query> ||
                             std::is_same_v<T, wire::dht_nodes> ||
                             std::is_same_v<T, wire::dht_announce> ||
                             std::is_same_v<T, wire::dht_ack>) {
          l->last_useful = now;
          if (l->who) {
            dht_.handle_message(now, dht_entry_of(*l), e);
            pump_dht(now);
          }
        } else if constexpr (std::is_same_v<T, wire::revocations>) {
          on_revocations(now, p, e);
        } else if constexpr (std::is_same_v<T, wire::bitfield> || std::is_same_v<T, wire::have>) {
          if (!useful(now, p, e.content)) return;
          if (holds(e.content)) answer(now, p, e.content, e);
          forward(now, p, e);
        } else if constexpr (!std::is_same_v<T, session_events::closed>) {
          l->last_useful = now;
          forward(now, p, e);
        }
      },
      std::move(ev));
}

void node::handle_closed(time_point now, peer_handle p) {
  auto it = links_.find(p);
  if (it == links_.end()) return;
  const link l = std::move(it->second);
  links_.erase(it);
  if (l.open) swarm_.handle_peer_removed(p);
  dht_connection_closed(now, p, l);
  for (const content_id& cid : l.jobs) link_closed_for_job(now, p, l, cid);
}

void node::handle_tick(time_point now) {
  if (stopping_) return;
  for (const content_id& id : fetches()) {
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;  // a tick of another fetch ended this one
    it->second.f.handle_tick(now);
    pump(now, id);
  }
  run_redials(now);
  dht_.handle_tick(now);
  pump_dht(now);
  for (const content_id& id : fetches())  // a lookup can end a fetch: look each up again
    if (auto it = jobs_.find(id); it != jobs_.end()) discover(now, it->second);
  bootstrap_tick(now);
  close_idle(now);
  close_expired(now);
}

void node::handle_own_certificate(time_point now, std::optional<time_point> expires,
                                  std::optional<duration> lifetime) {
  own_expiry_ = expires;
  own_lifetime_ = lifetime;
  own_expired_ = false;
  own_warned_ = false;
  close_expired(now);
}

void node::shutdown(time_point now, const error& why) {
  stopping_ = true;
  for (const content_id& id : fetches()) finish_job(now, id, why);
  for (auto& [p, l] : links_)
    close_link(now, p, wire::reason::shutting_down, "the node is shutting down");
}

std::vector<content_id> node::fetches() const {
  std::vector<content_id> ids;
  for (const auto& [id, j] : jobs_) ids.push_back(id);
  return ids;
}

std::string node::describe(peer_handle p) const {
  const link* l = find_link(p);
  if (!l) return "peer #" + std::to_string(p.value);
  if (!l->who) return l->remote;
  return l->who->id.short_str() + " (" + l->who->name + ") at " + l->remote;
}

}  // namespace shoal
