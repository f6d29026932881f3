#include "sim/dht_scenario.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>

#include "sim/members.hpp"
#include "sim/world.hpp"

namespace shoal::sim {

namespace {

constexpr time_point never = time_point::max();

class dht_sim {
 public:
  explicit dht_sim(const dht_params& p) : p_(p), w_(p.seed) {
    report_.params = p;
    const auto span = (p.max_latency - p.min_latency).count();
    for (std::size_t i = 0; i < p.nodes; ++i) {
      const node_id id{random_hash(w_.rng())};
      at_.push_back(entry_for(id, i));
      index_[id] = i;
      nodes_.push_back(std::make_unique<dht::node>(id, p.dht, w_.next()));
      latency_.push_back(p.min_latency +
                         duration(span > 0 ? static_cast<duration::rep>(w_.next() % span) : 0));
    }
    alive_.assign(p.nodes, true);
    tick_at_.assign(p.nodes, never);
    epoch_.assign(p.nodes, 0);
    side_.assign(p.nodes, false);
  }

  dht_report run() {
    const time_point start = w_.now();
    // Joining: node i contacts one earlier node, as configured with one bootstrap address.
    for (std::size_t i = 1; i < p_.nodes; ++i) {
      const std::size_t boot = w_.next() % i;
      w_.at(start + p_.join_gap * static_cast<std::int64_t>(i),
            [this, i, boot] { open_link(i, boot); });
    }
    w_.run_until(start + p_.join_gap * static_cast<std::int64_t>(p_.nodes) + 30s);
    lookups(report_.healthy);
    if (p_.crash > 0) {
      for (std::size_t i = 0; i < p_.nodes; ++i)
        if (w_.uniform() < p_.crash) {
          alive_[i] = false;
          ++report_.crashed_nodes;
          w_.trace("crash", i, 0);
        }
      lookups(report_.crashed);
    }
    if (p_.restart && report_.crashed_nodes > 0) {
      // The crashed members come back, one by one, with empty tables (a restarted daemon keeps
      // no routing state), each through one live member.
      const time_point t = w_.now();
      std::size_t k = 0;
      for (std::size_t i = 0; i < p_.nodes; ++i)
        if (!alive_[i])
          w_.at(t + p_.join_gap * static_cast<std::int64_t>(k++), [this, i] { restart(i); });
      w_.run_until(t + p_.join_gap * static_cast<std::int64_t>(k) + 30s);
      lookups(report_.restarted);
    }
    if (p_.partition > 0) {
      // The network splits: a share of the live members on one side, the rest on the other;
      // messages between the sides vanish. Lookups within a side, then the split heals and
      // lookups across the old split run at once (no time for refreshes).
      for (std::size_t i = 0; i < p_.nodes; ++i) side_[i] = w_.uniform() < p_.partition;
      split_ = true;
      w_.trace("split", 0, 0);
      lookups(report_.split, pairs::same_side);
      split_ = false;
      w_.trace("heal", 0, 0);
      lookups(report_.healed, pairs::across);
    }
    check_bounds();
    report_.events = w_.events_run();
    report_.virtual_seconds = std::chrono::duration<double>(w_.now() - start).count();
    report_.trace_hash = w_.trace_hash().hex();
    return std::move(report_);
  }

 private:
  enum class pairs { any, same_side, across };

  // One phase: lookups of random live targets from random live nodes, started lookup_gap apart.
  void lookups(lookup_figures& f, pairs how = pairs::any) {
    std::vector<std::size_t> live;
    for (std::size_t i = 0; i < p_.nodes; ++i)
      if (alive_[i]) live.push_back(i);
    if (live.size() < 2) return;
    const time_point start = w_.now();
    std::size_t started = 0;
    for (std::size_t q = 0; q < p_.lookups; ++q) {
      const std::size_t a = w_.next() % live.size();
      std::size_t b = w_.next() % live.size();
      if (b == a) b = (b + 1) % live.size();
      // A pair on the wanted sides of the split: a few more draws, else this lookup is skipped.
      for (int tries = 0; how != pairs::any && tries < 64; ++tries) {
        const bool same = side_[live[a]] == side_[live[b]];
        if (a != b && same == (how == pairs::same_side)) break;
        b = w_.next() % live.size();
      }
      if (a == b ||
          (how != pairs::any && (side_[live[a]] == side_[live[b]]) != (how == pairs::same_side)))
        continue;
      ++started;
      const std::size_t from = live[a], target = live[b];
      w_.at(start + p_.lookup_gap * static_cast<std::int64_t>(q), [this, from, target, &f] {
        if (!alive_[from]) return;
        auto id = nodes_[from]->lookup(w_.now(), dht::lookup_kind::find_node,
                                       dht::key_of(at_[target].node));
        if (!id) return;  // max_lookups running on that node: counted as not found
        waiting_[{from, *id}] = {target, &f};
        drain(from);
      });
    }
    f.lookups = started;
    // Every lookup ends by its own timeout at the latest.
    w_.run_until(start + p_.lookup_gap * static_cast<std::int64_t>(p_.lookups) +
                 p_.dht.lookup_timeout + 10s);
  }

  // A connection between two members, as their current incarnations (a restart ends every
  // connection the member had).
  std::pair<std::uint64_t, std::uint64_t> link_key(std::size_t a, std::size_t b) const {
    const std::uint64_t ka = (std::uint64_t{a} << 32) | epoch_[a];
    const std::uint64_t kb = (std::uint64_t{b} << 32) | epoch_[b];
    return {std::min(ka, kb), std::max(ka, kb)};
  }

  bool reachable(std::size_t a, std::size_t b) const {
    return alive_[a] && alive_[b] && !(split_ && side_[a] != side_[b]);
  }

  void restart(std::size_t i) {
    ++epoch_[i];
    // Lookups the old incarnation never finished are dropped (the new one numbers its own).
    std::erase_if(waiting_, [i](const auto& w) { return w.first.first == i; });
    nodes_[i] = std::make_unique<dht::node>(at_[i].node, p_.dht, w_.next());
    alive_[i] = true;
    tick_at_[i] = never;
    w_.trace("restart", i, 0);
    std::vector<std::size_t> live;
    for (std::size_t j = 0; j < p_.nodes; ++j)
      if (alive_[j] && j != i) live.push_back(j);
    if (!live.empty()) open_link(i, live[w_.next() % live.size()]);
  }

  void open_link(std::size_t a, std::size_t b) {
    if (!reachable(a, b)) return;
    if (!connected_.insert(link_key(a, b)).second) return;
    w_.trace("connect", a, b);
    nodes_[a]->handle_connected(w_.now(), at_[b]);
    nodes_[b]->handle_connected(w_.now(), at_[a]);
    drain(a);
    drain(b);
  }

  void send(std::size_t from, std::size_t to, const wire::message& m) {
    ++report_.messages;
    std::vector<std::uint8_t> frame;
    wire::encode(m, frame);
    w_.trace("send", from, to);
    w_.trace("frame", frame);
    if (!reachable(from, to)) {
      ++report_.lost;  // a crashed or cut-off node answers nothing: the sender's query times out
      return;
    }
    const duration one_way = latency_[from] + latency_[to];
    duration delay = one_way;
    const bool fresh = !connected_.contains(link_key(from, to));
    const std::uint32_t epoch_from = epoch_[from], epoch_to = epoch_[to];
    if (fresh) delay += 4 * one_way;  // TCP and TLS 1.3: two round trips first
    // DHT messages ride on TCP: a lost packet is sent again after the retransmission timeout
    // (Linux: at least 200 ms, and about the round trip plus its variance), as often as needed.
    while (p_.loss > 0 && w_.uniform() < p_.loss) {
      ++report_.lost;
      delay += std::max<duration>(200ms, 2 * one_way) + one_way;
    }
    w_.after(delay, [this, from, to, fresh, epoch_from, epoch_to, frame = std::move(frame)] {
      // Lost if either end crashed or restarted meanwhile, or the network split under it.
      if (!reachable(from, to) || epoch_[from] != epoch_from || epoch_[to] != epoch_to) return;
      if (fresh) open_link(from, to);
      auto got = wire::decode_body(byte_span(frame).subspan(4));
      SHOAL_ASSERT(got.ok());
      nodes_[to]->handle_message(w_.now(), at_[from], *got);
      drain(to);
    });
  }

  void drain(std::size_t i) {
    dht::node& n = *nodes_[i];
    while (auto a = n.poll_action()) {
      if (auto* s = std::get_if<dht::actions::send>(&*a)) {
        send(i, index_.at(s->to.node), s->msg);
      } else if (auto* d = std::get_if<dht::actions::lookup_done>(&*a)) {
        finished(i, *d);
      }
    }
    schedule_tick(i);
  }

  void finished(std::size_t i, const dht::actions::lookup_done& d) {
    auto it = waiting_.find({i, d.id});
    if (it == waiting_.end()) return;
    const auto [target, f] = it->second;
    waiting_.erase(it);
    const bool found = !d.closest.empty() && d.closest.front().node == at_[target].node;
    w_.trace("lookup", i, found ? 1 : 0);
    f->found += found ? 1 : 0;
    f->rounds.push_back(d.stats.rounds);
    f->queries.push_back(d.stats.queries);
    f->failed_queries += d.stats.failed;
    f->ms.push_back(std::chrono::duration<double, std::milli>(d.stats.elapsed).count());
  }

  // Each node's handle_tick runs at its next deadline, not on a fixed beat: 10,000 idle nodes
  // cost nothing between their timers.
  void schedule_tick(std::size_t i) {
    const auto d = nodes_[i]->next_deadline();
    if (!d || *d >= tick_at_[i]) return;
    const time_point t = std::max(*d, w_.now());
    tick_at_[i] = t;
    w_.at(t, [this, i, t] {
      if (tick_at_[i] != t) return;  // superseded by an earlier one
      tick_at_[i] = never;
      if (!alive_[i]) return;
      nodes_[i]->handle_tick(w_.now());
      drain(i);
    });
  }

  void check_bounds() {
    const auto& c = p_.dht;
    for (std::size_t i = 0; i < p_.nodes; ++i) {
      const dht::node& n = *nodes_[i];
      auto fail = [&](const std::string& what) {
        report_.violations.push_back("node " + std::to_string(i) + ": " + what);
      };
      if (n.record_count() > c.max_records) fail("records over max_records");
      if (n.lookups_running() > c.max_lookups) fail("lookups over max_lookups");
      if (n.pending_queries() > c.max_pending) fail("queries over max_pending");
      if (n.table().size() > dht::routing_table::buckets * c.k) fail("table over 256 k");
      if (n.table().contains(at_[i].node)) fail("itself in its table");
    }
  }

  dht_params p_;
  world w_;
  dht_report report_;
  std::vector<std::unique_ptr<dht::node>> nodes_;
  std::vector<wire::peer_entry> at_;
  std::vector<duration> latency_;
  std::vector<bool> alive_;
  std::vector<std::uint32_t> epoch_;  // restarts of each member
  std::vector<bool> side_;            // which side of a split each member is on
  bool split_ = false;
  std::vector<time_point> tick_at_;
  std::map<node_id, std::size_t> index_;
  std::set<std::pair<std::uint64_t, std::uint64_t>> connected_;
  std::map<std::pair<std::size_t, dht::lookup_id>, std::pair<std::size_t, lookup_figures*>>
      waiting_;
};

}  // namespace

dht_report run_dht(const dht_params& p) {
  SHOAL_ASSERT(p.nodes >= 2 && p.min_latency <= p.max_latency);
  return dht_sim(p).run();
}

}  // namespace shoal::sim
