// Core nodes (core/node.hpp) wired to each other in memory, for unit tests of the node's rules:
// a virtual clock, a dial reaching whichever member listens at the address (at once: no latency,
// no bandwidth), messages delivered in the order sent, a store per member that answers at once.
// Faults are set per address: nobody there, a refused certificate, or another member answering.
//
// Thread safety: one thread.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/node.hpp"
#include "sim/members.hpp"

namespace shoal::test {

class node_net {
 public:
  struct member {
    std::unique_ptr<node> n;
    address at;
    wire::peer_entry entry;
    std::map<content_id, held_content> store;
    std::vector<node_actions::fetch_ended> ended;
    std::vector<node_actions::lookup_ended> lookups;  // lookups it started (node::lookup)
    std::vector<node_actions::close> closes;          // every close it asked for
    std::vector<node_actions::dial> dials;            // every dial it asked for
    std::vector<std::string> opened_names;            // the names open_content gave, in order
    std::vector<time_point> dial_times;               // and when
    std::vector<std::pair<peer_handle, wire::message>> sent;  // every message it sent
    std::vector<std::string> logs;
    std::vector<log_level> log_levels;                       // of each line in logs
    std::vector<node_actions::revocations_adopted> adopted;  // lists it adopted, in order
    std::uint64_t loads = 0;
  };

  time_point now{std::chrono::seconds(1000)};
  std::vector<member> members;
  std::set<std::string> unreachable;             // dials to these fail: nobody listens
  std::set<std::string> refusing;                // dials to these are refused: untrusted
  std::map<std::string, std::size_t> answering;  // dials to these reach this member instead
  std::set<std::size_t> liars;                   // members whose every block is forged
  std::set<std::size_t> bad_manifests;  // members whose manifest parts skip a byte (a violation)
  std::map<std::size_t, time_point> expires;  // when members' certificates expire (else never)
  // Connections made while this is set wait for their hellos (deliver_hello()), so that a test
  // picks the order in which each side sees its connections open.
  bool hold_hellos = false;
  std::vector<std::pair<std::size_t, peer_handle>> held_hellos;
  // Dials to these addresses wait, still in their handshake (the peer not yet known), until
  // finish_dials().
  std::set<std::string> slow_dials;
  std::vector<std::pair<std::size_t, node_actions::dial>> held_dials;

  // Completes the dials slow_dials held.
  void finish_dials() {
    auto held = std::exchange(held_dials, {});
    for (auto& [i, d] : held) complete_dial(i, d);
    run();
  }

  // A member whose ID is drawn from `seed`; its address is 10.0.0.<index>:7420.
  std::size_t add(node_config cfg, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    const std::size_t i = members.size();
    if (cfg.self == node_id{}) cfg.self = node_id{sim::random_hash(rng)};
    cfg.fetch.synthetic_blocks = true;
    // Two members alone learn of no one new from each other's join, so each would look itself up
    // again after 5, 10, 20 s ... (dht::config::rejoin_interval), and those queries would keep
    // connections in use that the link rules' tests expect idle. The rule's own test is in
    // dht_test (dht_join).
    cfg.dht.rejoin_interval = std::chrono::hours(1);
    member m;
    m.entry = sim::entry_for(cfg.self, i);
    m.at = address_of(m.entry);
    m.n = std::make_unique<node>(std::move(cfg), rng());
    members.push_back(std::move(m));
    return i;
  }
  node& operator[](std::size_t i) { return *members[i].n; }

  // Carries out every member's actions until none is left (bounded).
  void run() {
    for (int round = 0; round < 100000; ++round) {
      bool any = false;
      for (std::size_t i = 0; i < members.size(); ++i)
        while (auto a = members[i].n->poll_action()) {
          any = true;
          act(i, std::move(*a));
        }
      if (!any) return;
    }
    ADD_FAILURE() << "the nodes never went quiet";
  }

  // Moves the clock by `d`, ticking every member every tick interval on the way.
  void advance(duration d) {
    const time_point end = now + d;
    while (now < end) {
      now = std::min(end, now + members.at(0).n->cfg().tick_interval);
      for (auto& m : members) m.n->handle_tick(now);
      run();
    }
  }

  // The connection member `i` knows as `p`, seen from the other side.
  std::optional<std::pair<std::size_t, peer_handle>> other_end(std::size_t i, peer_handle p) const {
    auto it = pairs_.find({i, p});
    if (it == pairs_.end()) return std::nullopt;
    return it->second;
  }
  std::size_t connections(std::size_t i) const {
    std::size_t n = 0;
    for (const auto& [k, v] : pairs_) n += k.first == i ? 1 : 0;
    return n;
  }

  // Opens a connection from member `from` to member `to` as if `from` had dialed it itself
  // outside any fetch (a peer that dials us): returns the handles on each side.
  std::pair<peer_handle, peer_handle> connect(std::size_t from, std::size_t to) {
    const peer_handle a = members[from].n->handle_accepted(now, members[to].at.str());
    // handle_accepted marks it accepted on `from`; the test only needs a live pair.
    const peer_handle b = members[to].n->handle_accepted(now, members[from].at.str());
    open(from, a, to, b);
    return {a, b};
  }

  // Member `i` receives the hello on its connection `p` (held by hold_hellos).
  void deliver_hello(std::size_t i, peer_handle p) {
    auto it = std::find(held_hellos.begin(), held_hellos.end(), std::pair{i, p});
    ASSERT_NE(it, held_hellos.end());
    held_hellos.erase(it);
    members[i].n->handle_session_event(now, p, hello());
  }

  // Delivers a message from member `from`'s connection `p` to the other end.
  void deliver(std::size_t from, peer_handle p, wire::message m) {
    auto o = other_end(from, p);
    if (!o) return;
    if (auto* b = std::get_if<wire::block>(&m); b && liars.contains(from))
      b->proof[0].bytes[1] ^= 1;
    if (auto* mp = std::get_if<wire::manifest_part>(&m); mp && bad_manifests.contains(from))
      ++mp->offset;
    std::visit(
        [&](auto&& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_constructible_v<session_event, T>)
            members[o->first].n->handle_session_event(now, o->second, session_event(std::move(x)));
        },
        std::move(m));
  }

 private:
  void open(std::size_t i, peer_handle p, std::size_t j, peer_handle q) {
    pairs_[{i, p}] = {j, q};
    pairs_[{j, q}] = {i, p};
    members[i].n->handle_authenticated(now, p, who(j));
    members[j].n->handle_authenticated(now, q, who(i));
    if (hold_hellos) {
      held_hellos.emplace_back(i, p);
      held_hellos.emplace_back(j, q);
      return;
    }
    members[i].n->handle_session_event(now, p, hello());
    members[j].n->handle_session_event(now, q, hello());
  }

  authenticated_peer who(std::size_t i) const {
    wire::peer_entry ip = members[i].entry;
    ip.port = 0;
    std::optional<time_point> until;
    if (auto it = expires.find(i); it != expires.end()) until = it->second;
    return authenticated_peer{members[i].n->cfg().self, "m" + std::to_string(i), ip, until};
  }
  static session_event hello() { return session_events::established{1, 256, 7420, "test"}; }

  void fail_dial(std::size_t i, peer_handle p, bool untrusted, const std::string& why) {
    members[i].n->handle_dial_failed(now, p, untrusted, why);
    members[i].n->handle_closed(now, p);
  }

  void complete_dial(std::size_t i, const node_actions::dial& d) {
    const std::string to = d.to.str();
    if (refusing.contains(to)) return fail_dial(i, d.peer, true, "certificate refused");
    std::optional<std::size_t> j;
    if (auto it = answering.find(to); it != answering.end()) j = it->second;
    for (std::size_t k = 0; !j && k < members.size(); ++k)
      if (members[k].at.str() == to) j = k;
    if (!j || unreachable.contains(to)) return fail_dial(i, d.peer, false, "connection refused");
    const peer_handle q = members[*j].n->handle_accepted(now, members[i].at.str());
    open(i, d.peer, *j, q);
  }

  void act(std::size_t i, node_action a) {
    member& m = members[i];
    node& n = *m.n;
    if (auto* d = std::get_if<node_actions::dial>(&a)) {
      m.dials.push_back(*d);
      m.dial_times.push_back(now);
      if (slow_dials.contains(d->to.str()))
        held_dials.emplace_back(i, *d);
      else
        complete_dial(i, *d);
    } else if (auto* s = std::get_if<node_actions::send>(&a)) {
      m.sent.emplace_back(s->peer, s->msg);
      deliver(i, s->peer, std::move(s->msg));
    } else if (auto* c = std::get_if<node_actions::close>(&a)) {
      m.closes.push_back(*c);
      auto o = other_end(i, c->peer);
      n.handle_session_event(now, c->peer, session_events::closed{c->code, c->text, false});
      n.handle_closed(now, c->peer);
      pairs_.erase({i, c->peer});
      if (!o) return;
      pairs_.erase(*o);
      members[o->first].n->handle_session_event(now, o->second,
                                                session_events::closed{c->code, c->text, true});
      members[o->first].n->handle_closed(now, o->second);
    } else if (auto* l = std::get_if<node_actions::log>(&a)) {
      m.logs.push_back(l->text);
      m.log_levels.push_back(l->level);
    } else if (auto* lc = std::get_if<node_actions::load_content>(&a)) {
      ++m.loads;
      auto it = m.store.find(lc->id);
      n.handle_content_loaded(now, lc->id,
                              it == m.store.end() ? std::nullopt : std::optional(it->second));
    } else if (auto* o = std::get_if<node_actions::open_content>(&a)) {
      m.opened_names.push_back(o->name);
      content_layout layout(o->m);
      n.handle_opened(now, o->id, n.fetch_seq(o->id), piece_set(layout.piece_count()));
    } else if (auto* w = std::get_if<node_actions::write_piece>(&a)) {
      n.handle_piece_written(now, w->id, n.fetch_seq(w->id), w->piece, {});
    } else if (auto* e = std::get_if<node_actions::fetch_ended>(&a)) {
      m.ended.push_back(std::move(*e));
    } else if (auto* le = std::get_if<node_actions::lookup_ended>(&a)) {
      m.lookups.push_back(std::move(*le));
    } else if (auto* ra = std::get_if<node_actions::revocations_adopted>(&a)) {
      m.adopted.push_back(std::move(*ra));
    }  // read_piece: synthetic blocks are never read; piece_stored: nothing to refresh
  }

  std::map<std::pair<std::size_t, peer_handle>, std::pair<std::size_t, peer_handle>> pairs_;
};

}  // namespace shoal::test
