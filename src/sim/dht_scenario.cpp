#include "sim/dht_scenario.hpp"

#include <map>
#include <memory>
#include <optional>
#include <set>

#include "core/revocation.hpp"
#include "sim/members.hpp"
#include "sim/network.hpp"

namespace shoal::sim {

namespace {

constexpr double link_bytes_per_second = 1e9 / 8;  // 1 Gbit/s: DHT messages are small

class dht_sim final : public network {
 public:
  explicit dht_sim(const dht_params& p) : network(p.seed, 1500, p.loss), p_(p) {
    report_.params = p;
    const auto span = (p.max_latency - p.min_latency).count();
    for (std::size_t i = 0; i < p.nodes; ++i) {
      node_config cfg = config_for(node_id{random_hash(w_.rng())});
      // Joining: node i is configured with one earlier node as its bootstrap peer.
      if (i > 0) cfg.bootstrap = {address_of(at(w_.next() % i).entry)};
      const std::uint64_t seed = w_.next();
      const duration latency =
          p.min_latency + duration(span > 0 ? static_cast<duration::rep>(w_.next() % span) : 0);
      add(std::move(cfg), seed, latency, link_bytes_per_second, link_bytes_per_second);
    }
    side_.assign(p.nodes, false);
  }

  dht_report run() {
    const time_point start = w_.now();
    for (std::size_t i = 0; i < p_.nodes; ++i)
      w_.at(start + p_.join_gap * static_cast<std::int64_t>(i), [this, i] { start_ticking(i); });
    w_.run_until(start + p_.join_gap * static_cast<std::int64_t>(p_.nodes) + 30s);
    lookups(report_.healthy);
    if (p_.crash > 0) {
      for (std::size_t i = 0; i < p_.nodes; ++i)
        if (w_.uniform() < p_.crash) {
          crash(i, true);  // silently: its peers' queries time out
          ++report_.crashed_nodes;
        }
      lookups(report_.crashed);
    }
    if (p_.revoke) revocation_phase();
    if (p_.restart && report_.crashed_nodes > 0) {
      // The crashed members come back, one by one, with empty tables (a restarted daemon keeps
      // no routing state), each with one live member as its bootstrap peer.
      const time_point t = w_.now();
      std::size_t k = 0;
      for (std::size_t i = 0; i < p_.nodes; ++i)
        if (!at(i).alive && (!revoked_ || i != *revoked_))
          w_.at(t + p_.join_gap * static_cast<std::int64_t>(k++), [this, i] { come_back(i); });
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
    report_.messages = stats().frames;
    report_.lost = stats().lost + stats().retransmitted;
    report_.dials = stats().dials;
    report_.events = w_.events_run();
    report_.virtual_seconds = std::chrono::duration<double>(w_.now() - start).count();
    report_.trace_hash = w_.trace_hash().hex();
    return std::move(report_);
  }

 private:
  enum class pairs { any, same_side, across };

  node_config config_for(const node_id& self) const {
    node_config cfg;
    cfg.self = self;
    cfg.dht = p_.dht;
    cfg.network = "sim";
    cfg.authority_key = authority_.public_key();
    return cfg;
  }

  // The network's authority, from the seed alone (drawing it from the world's generator would
  // change every run without a revocation phase).
  static crypto::ed25519_signer authority_of(std::uint64_t seed) {
    crypto::ed25519_seed s{};
    for (std::size_t i = 0; i < s.size(); ++i)
      s[i] = static_cast<std::uint8_t>((seed * 0x9e3779b97f4a7c15ull) >> (8 * (i % 8))) ^
             static_cast<std::uint8_t>(i);
    auto k = crypto::ed25519_signer::from_seed(s);
    SHOAL_ASSERT(k.has_value());
    return std::move(*k);
  }

  // A live member publishes a list that revokes another live member; every live member should
  // adopt it, the revoked one included (which then stops: it is crashed here, as its daemon
  // exits, and does not restart).
  void revocation_phase() {
    std::vector<std::size_t> live;
    for (std::size_t i = 0; i < p_.nodes; ++i)
      if (at(i).alive) live.push_back(i);
    if (live.size() < 3) return;
    const std::size_t a = w_.next() % live.size();
    std::size_t b = w_.next() % live.size();
    if (b == a) b = (b + 1) % live.size();
    const std::size_t from = live[a], x = live[b];
    revoked_ = x;
    revocation_figures& f = report_.revocation;
    f.live = live.size() - 2;
    revocation_list l;
    l.network = "sim";
    l.serial = 1;
    l.entries.push_back({at(x).entry.node, 0, "simulated"});
    const auto bytes = encode(sign(std::move(l), authority_));
    published_ = w_.now();
    publisher_ = from;
    w_.trace("revoke", from, x);
    auto r = at(from).n->handle_revocations(w_.now(), bytes);
    SHOAL_ASSERT(r.ok() && *r);
    pump(from);
    w_.run_until(*published_ + 30s);
    // Connections a live member still keeps with it (the revoked side may have forgotten).
    for (const auto& [h, c] : at(x).conns) {
      const conn& k = connection(c);
      const std::size_t o = k.other(x);
      if (k.open && at(o).alive && !k.gone[k.side(o)]) ++f.revoked_links;
    }
    crash(x, true);
  }

  void adopted(std::size_t me) {
    if (!published_) return;
    revocation_figures& f = report_.revocation;
    const double ms = std::chrono::duration<double, std::milli>(w_.now() - *published_).count();
    if (auto r = restarted_at_.find(me); r != restarted_at_.end()) {
      f.restart_ms.push_back(
          std::chrono::duration<double, std::milli>(w_.now() - r->second.first).count());
      f.restart_rtt_ms.push_back(r->second.second);
      restarted_at_.erase(r);
    } else if (me == *revoked_) {
      f.revoked_learned = true;
    } else if (me != publisher_) {
      ++f.reached;
      f.ms.push_back(ms);
    }
  }

  // One phase: lookups of random live targets from random live nodes, started lookup_gap apart.
  void lookups(lookup_figures& f, pairs how = pairs::any) {
    std::vector<std::size_t> live;
    for (std::size_t i = 0; i < p_.nodes; ++i)
      if (at(i).alive) live.push_back(i);
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
        if (!at(from).alive) return;
        auto id = at(from).n->lookup(w_.now(), dht::lookup_kind::find_node,
                                     dht::key_of(at(target).entry.node));
        if (!id) return;  // max_lookups running on that node: counted as not found
        waiting_[{from, *id}] = {target, &f};
        pump(from);
      });
    }
    f.lookups = started;
    // Every lookup ends by its own timeout at the latest.
    w_.run_until(start + p_.lookup_gap * static_cast<std::int64_t>(p_.lookups) +
                 p_.dht.lookup_timeout + 10s);
  }

  void come_back(std::size_t i) {
    // Lookups the old incarnation never finished are dropped (the new one numbers its own).
    std::erase_if(waiting_, [i](const auto& w) { return w.first.first == i; });
    std::vector<std::size_t> live;
    for (std::size_t j = 0; j < p_.nodes; ++j)
      if (at(j).alive && j != i) live.push_back(j);
    node_config cfg = config_for(at(i).entry.node);
    const std::optional<std::size_t> boot =
        live.empty() ? std::nullopt : std::optional(live[w_.next() % live.size()]);
    if (boot) cfg.bootstrap = {address_of(at(*boot).entry)};
    restart(i, std::move(cfg), w_.next());
    if (published_) {
      ++report_.revocation.restarted;
      const double rtt =
          boot ? 2 * std::chrono::duration<double, std::milli>(at(i).latency + at(*boot).latency)
                         .count()
               : 0;
      restarted_at_[i] = {w_.now(), rtt};
    }
    start_ticking(i);
  }

  // --- what the network hands over --------------------------------------------------------

  void on_action(std::size_t me, node_action& a) override {
    if (auto* d = std::get_if<node_actions::lookup_ended>(&a)) finished(me, *d);
    if (std::get_if<node_actions::revocations_adopted>(&a)) adopted(me);
  }  // no member holds or fetches content here: nothing else is asked for

  void arrive(std::size_t to, std::uint64_t c, const std::vector<std::uint8_t>& frame) override {
    w_.trace("frame", frame);
    deliver(to, c, frame);
  }

  bool split(std::size_t a, std::size_t b) const override { return split_ && side_[a] != side_[b]; }

  void finished(std::size_t i, const node_actions::lookup_ended& d) {
    auto it = waiting_.find({i, d.id});
    if (it == waiting_.end()) return;
    const auto [target, f] = it->second;
    waiting_.erase(it);
    const bool found = !d.closest.empty() && d.closest.front().node == at(target).entry.node;
    w_.trace("lookup", i, found ? 1 : 0);
    f->found += found ? 1 : 0;
    f->rounds.push_back(static_cast<int>(d.summary.rounds));
    f->queries.push_back(d.summary.queries);
    f->failed_queries += d.summary.failed;
    f->ms.push_back(d.summary.ms);
  }

  void check_bounds() {
    const auto& c = p_.dht;
    for (std::size_t i = 0; i < p_.nodes; ++i) {
      if (!at(i).alive) continue;
      const dht::node& n = at(i).n->dht();
      auto fail = [&](const std::string& what) {
        report_.violations.push_back("node " + std::to_string(i) + ": " + what);
      };
      if (n.record_count() > c.max_records) fail("records over max_records");
      if (n.lookups_running() > c.max_lookups) fail("lookups over max_lookups");
      if (n.pending_queries() > c.max_pending) fail("queries over max_pending");
      if (n.table().size() > dht::routing_table::buckets * c.k) fail("table over 256 k");
      if (n.table().contains(at(i).entry.node)) fail("itself in its table");
    }
  }

  dht_params p_;
  crypto::ed25519_signer authority_ = authority_of(p_.seed);
  dht_report report_;
  std::optional<time_point> published_;
  std::size_t publisher_ = 0;
  std::optional<std::size_t> revoked_;
  std::map<std::size_t, std::pair<time_point, double>> restarted_at_;  // start, RTT to bootstrap
  std::vector<bool> side_;  // which side of a split each member is on
  bool split_ = false;
  std::map<std::pair<std::size_t, dht::lookup_id>, std::pair<std::size_t, lookup_figures*>>
      waiting_;
};

}  // namespace

dht_report run_dht(const dht_params& p) {
  SHOAL_ASSERT(p.nodes >= 2 && p.min_latency <= p.max_latency);
  return dht_sim(p).run();
}

}  // namespace shoal::sim
