#include "sim/swarm_scenario.hpp"

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

#include "core/node.hpp"
#include "sim/members.hpp"
#include "sim/network.hpp"
#include "sim/world.hpp"

namespace shoal::sim {

namespace {

// --progress describes the fetching nodes once this few are left (swarm_progress::stragglers).
constexpr std::size_t stragglers_shown = 2;

double seconds(duration d) {
  return std::chrono::duration<double>(d).count();
}

// Bytes per second from megabits per second.
double bytes_per_second(double mbps) {
  return mbps * 1e6 / 8;
}

class swarm_sim final : public network {
 public:
  explicit swarm_sim(const swarm_params& p)
      : network(p.seed, p.mtu, 0), p_(p), content_(make_synthetic_content(w_.rng(), p.size)) {
    report_.params = p;
    p_.fetch.synthetic_blocks = true;
    const auto span = (p.max_latency - p.min_latency).count();
    st_.resize(p.nodes + 1);
    for (std::size_t i = 0; i <= p.nodes; ++i) {
      node_config cfg;
      cfg.self = node_id{random_hash(w_.rng())};
      cfg.max_swarm_peers = p.max_connections;
      cfg.fetch = p_.fetch;
      const std::uint64_t seed = w_.next();
      const duration latency =
          p.min_latency + duration(span > 0 ? static_cast<duration::rep>(w_.next() % span) : 0);
      double up = p.up_mbps;
      double down = p.down_mbps;
      if (p.heterogeneous) {
        static constexpr double classes[] = {25, 50, 100, 200};
        up = classes[w_.next() % 4];
        down = 4 * up;
      }
      if (i == 0) up = p.origin_up_mbps;
      add(std::move(cfg), seed, latency, bytes_per_second(up), bytes_per_second(down));
    }
    fetcher& origin = st_[0];
    origin.opened = true;
    origin.have = content_.held.have;
    origin.finished = true;
    at(0).n->handle_held(w_.now(), content_.id, origin.have.size(), true);
    remaining_ = p.nodes;
  }

  swarm_report run() {
    const time_point start = w_.now();
    pump(0);
    start_ticking(0);
    for (std::size_t i = 1; i <= p_.nodes; ++i)
      w_.at(start + p_.join_gap * static_cast<std::int64_t>(i - 1), [this, i] { begin(i); });
    // Faults strike at a random moment while the transfer runs: between a tenth and three
    // quarters of the bound, so that the node holds some pieces and has peers waiting on it.
    const double bound = bound_seconds(false);
    const auto sometime = [&] {
      const double at = bound * (0.1 + 0.65 * w_.uniform());
      return start + std::chrono::duration_cast<duration>(std::chrono::duration<double>(at));
    };
    for (std::size_t i = 1; i <= p_.nodes && p_.crash > 0; ++i)
      if (w_.uniform() < p_.crash) w_.at(sometime(), [this, i] { crash(i, false); });
    for (std::size_t i = 1; i <= p_.nodes && p_.mixed; ++i) {
      const double draw = w_.uniform();
      if (draw < 0.05) {
        w_.at(sometime(), [this, i] { crash(i, false); });
      } else if (draw < 0.10) {
        w_.at(sometime(), [this, i] { crash(i, true); });
      } else if (draw < 0.20) {
        w_.at(sometime(), [this, i] { slow_down(i); });
      } else if (draw < 0.23) {
        st_[i].liar = true;
        ++report_.liars;
        --remaining_;  // the run does not wait for liars
      }
    }
    if (p_.on_progress && p_.progress_every > duration::zero())
      w_.at(start, [this] { progress(); });
    while (w_.now() - start < p_.give_up && remaining_ > 0 && w_.step()) {
    }
    report_.events = w_.events_run();
    check(start);
    report_.trace_hash = w_.trace_hash().hex();
    return std::move(report_);
  }

 private:
  // What the scenario knows of each member besides its node and links.
  struct fetcher {
    bool liar = false;    // every block it sends is forged
    bool opened = false;  // its store holds the manifest and piece layer
    bool fetching = false;
    bool finished = false;
    piece_set have;
    std::optional<time_point> done_at;
    std::uint64_t duplicate_blocks = 0;
  };

  double bound_seconds(bool survivors_only) const {
    const double f = static_cast<double>(p_.size);
    double up_sum = at(0).up;
    double d_min = 1e300;
    std::size_t n = 0;
    for (std::size_t i = 1; i < size(); ++i) {
      if (survivors_only && (!at(i).alive || st_[i].liar)) continue;
      up_sum += at(i).up;
      d_min = std::min(d_min, at(i).down);
      ++n;
    }
    return std::max({f / at(0).up, f / d_min, static_cast<double>(n) * f / up_sum});
  }

  // --- what the network hands over --------------------------------------------------------

  // The store is simulated: what it holds is `have`, and a piece is written at once.
  void on_action(std::size_t me, node_action& a) override {
    fetcher& m = st_[me];
    node& n = *at(me).n;
    const time_point now = w_.now();
    if (auto* l = std::get_if<node_actions::load_content>(&a)) {
      std::optional<held_content> h;
      if (m.opened && l->id == content_.id) {
        h = content_.held;
        h->have = m.have;
      }
      n.handle_content_loaded(now, l->id, std::move(h));
    } else if (auto* o = std::get_if<node_actions::open_content>(&a)) {
      m.opened = true;
      m.have = piece_set(content_.held.layout.piece_count());
      n.handle_opened(now, o->id, n.fetch_seq(o->id), m.have);
    } else if (auto* wp = std::get_if<node_actions::write_piece>(&a)) {
      m.have.insert(wp->piece);
      n.handle_piece_written(now, wp->id, n.fetch_seq(wp->id), wp->piece, {});
    } else if (auto* e = std::get_if<node_actions::fetch_ended>(&a)) {
      ended(me, *e);
    }  // log, read_piece (synthetic blocks are never read), piece_stored: nothing to do
  }

  void on_close(std::size_t me, const node_actions::close& c) override {
    if (c.code == wire::reason::overloaded) ++report_.refused_full;
    if (c.code == wire::reason::bad_block) note_cut_off(me, c.peer, c.text);
  }

  void on_send(std::size_t me, wire::message& msg) override {
    if (auto* r = std::get_if<wire::reject>(&msg); r && r->code == wire::reason::elsewhere)
      ++report_.elsewhere;
    if (auto* b = std::get_if<wire::block>(&msg); b && st_[me].liar) b->proof[0].bytes[1] ^= 1;
  }

  void on_block_sent(std::size_t me, std::uint64_t data) override {
    report_.block_bytes += data;
    if (me == 0) report_.origin_bytes += data;
  }

  void on_frame_read(std::size_t me, std::uint8_t type) override {
    const bool announce = type == static_cast<std::uint8_t>(wire::msg_type::bitfield) ||
                          type == static_cast<std::uint8_t>(wire::msg_type::have);
    if (announce && me == 0) note_first_copy();
  }

  // A block from a liar must not add to what the receiver verified from it.
  void arrive(std::size_t to, std::uint64_t c, const std::vector<std::uint8_t>& frame) override {
    if (frame.size() <= 4 || frame[4] != static_cast<std::uint8_t>(wire::msg_type::block))
      return deliver(to, c, frame);
    const std::size_t from = connection(c).other(to);
    const bool liar = st_[from].liar;
    const std::uint64_t before = liar ? bytes_from(to, from) : 0;
    w_.trace("block", to, frame.size());
    deliver(to, c, frame);
    if (liar && bytes_from(to, from) > before)
      report_.violations.push_back("node " + std::to_string(to) +
                                   " accepted a forged block from a liar");
  }

  std::uint64_t block_data(const wire::block& b) const override {
    const std::uint64_t piece = content_.held.layout.locate(b.ref.piece).length;
    return std::min<std::uint64_t>(merkle::block_size,
                                   piece - std::uint64_t{b.ref.block} * merkle::block_size);
  }

  void ended(std::size_t me, const node_actions::fetch_ended& e) {
    fetcher& m = st_[me];
    m.fetching = false;
    if (e.why.code != errc::ok) {
      report_.violations.push_back("node " + std::to_string(me) + " failed: " + e.why.message);
      return;
    }
    m.finished = true;
    m.done_at = w_.now();
    m.duplicate_blocks = e.report.duplicate_blocks;
    if (!m.liar) --remaining_;
    w_.trace("done", me, 0);
  }

  void note_cut_off(std::size_t me, peer_handle p, const std::string& text) {
    auto c = conn_of(me, p);
    if (!c) return;
    const std::size_t them = connection(*c).other(me);
    if (st_[them].liar)
      ++report_.liars_cut_off;
    else
      report_.violations.push_back("node " + std::to_string(me) + " cut off honest node " +
                                   std::to_string(them) + ": " + text);
  }

  // The first time the origin hears that every piece is held by some node: what it had sent by
  // then is the first copy's cost.
  void note_first_copy() {
    if (report_.first_copy_seconds > 0 || at(0).n->swarms().only_here(content_.id) != 0) return;
    report_.first_copy_seconds = seconds(w_.now() - time_point{});
    report_.first_copy_copies =
        static_cast<double>(report_.origin_bytes) / static_cast<double>(p_.size);
  }

  // Verified bytes member `me`'s fetch took from member `from`.
  std::uint64_t bytes_from(std::size_t me, std::size_t from) {
    if (!at(me).alive) return 0;
    auto r = at(me).n->report(w_.now(), content_.id);
    if (!r) return 0;
    auto it = r->from.find(at(from).at);
    return it == r->from.end() ? 0 : it->second;
  }

  // --- the fetches ---------------------------------------------------------------------------

  // As `shoal get ID --from ORIGIN` does.
  void begin(std::size_t i) {
    if (!at(i).alive) return;
    st_[i].fetching = true;
    fetch_request r;
    r.id = content_.id;
    r.name = "content";
    r.sources = {address_of(at(0).entry)};
    at(i).n->start_fetch(w_.now(), std::move(r));
    pump(i);
    start_ticking(i);
  }

  void crash(std::size_t i, bool powered_off) {
    if (!at(i).alive) return;
    ++report_.crashed;
    if (!st_[i].finished && !st_[i].liar) --remaining_;
    network::crash(i, powered_off);
  }

  // Its link degrades: a tenth of its upload and download from now on.
  void slow_down(std::size_t i) {
    member& m = at(i);
    if (!m.alive) return;
    m.up /= 10;
    m.down /= 10;
    ++report_.slowed;
    w_.trace("slow", i, 0);
  }

  void progress() {
    swarm_progress g;
    g.seconds = seconds(w_.now() - time_point{});
    std::uint64_t held = 0, needed = 0, queued = 0, live = 0, busy = 0;
    std::optional<std::size_t> slowest;
    const std::uint64_t pieces = content_.held.layout.piece_count();
    const auto count_of = [this](std::size_t i) { return st_[i].opened ? st_[i].have.count() : 0; };
    for (std::size_t i = 0; i < size(); ++i) {
      const member& m = at(i);
      const fetcher& f = st_[i];
      if (!m.alive) continue;
      std::uint64_t q = 0;
      for (const auto& [p, c] : m.conns)
        q += blocks_in(connection(c).queued[connection(c).side(i)]);
      if (i == 0) {
        g.origin_queued = q;
        continue;
      }
      ++live;
      queued += q;
      busy += m.sending ? 1 : 0;
      if (f.finished) ++g.finished;
      if (f.liar) continue;
      const std::uint64_t count = count_of(i);
      if (!f.finished && f.fetching && (!slowest || count < count_of(*slowest))) slowest = i;
      held += count;
      needed += pieces;
    }
    g.held = needed > 0 ? static_cast<double>(held) / static_cast<double>(needed) : 0;
    g.uploading = live > 0 ? static_cast<double>(busy) / static_cast<double>(live) : 0;
    g.queued_per_node = live > 0 ? static_cast<double>(queued) / static_cast<double>(live) : 0;
    g.origin_copies = static_cast<double>(report_.origin_bytes) / static_cast<double>(p_.size);
    g.events = w_.events_run();
    if (remaining_ <= stragglers_shown) g.stragglers = describe_stragglers();
    if (slowest)
      g.slowest = "node " + std::to_string(*slowest) + ": " +
                  at(*slowest).n->describe_fetch(w_.now(), content_.id, false);
    p_.on_progress(g);
    if (remaining_ > 0) w_.after(p_.progress_every, [this] { progress(); });
  }

  // Why the last nodes wait: each one's fetch, and per connection the peer's side of it (does it
  // hold the content, how many of our blocks wait at its upload, which pieces it counts as being
  // sent, against swarm::max_pieces_sending).
  std::string describe_stragglers() const {
    std::string s;
    for (std::size_t i = 1; i < size(); ++i) {
      const member& m = at(i);
      const fetcher& f = st_[i];
      if (!m.alive || f.liar || f.finished || !f.fetching) continue;
      s += "node " + std::to_string(i) + ": " + m.n->describe_fetch(w_.now(), content_.id, true);
      for (const auto& [p, c] : m.conns) {
        const conn& k = connection(c);
        const std::size_t j = k.other(i);
        const member& o = at(j);
        const fetcher& of = st_[j];
        s += "  connection " + std::to_string(c) + " to node " + std::to_string(j) +
             (k.open ? "" : " (opening)") + (of.finished ? " (finished)" : "") +
             (!m.n->fetches_of(p).empty() ? "" : " (not in our fetch)") + ": " +
             std::to_string(blocks_in(k.queued[k.side(j)])) + " of our blocks queued there";
        if (of.opened && of.have.complete() && k.open) {
          const auto sending = o.n->swarms().sending(content_.id);
          s += "; it sends " + std::to_string(sending.size()) + " pieces";
          s += o.n->swarms().announced(k.handle(j), content_.id) ? ""
                                                                 : "; we have not announced to it";
        }
        s += "\n";
      }
    }
    return s;
  }

  // --- the end -------------------------------------------------------------------------------

  void check(time_point start) {
    report_.bound_seconds = bound_seconds(true);
    report_.connections = stats().dials;
    const std::uint64_t pieces = content_.held.layout.piece_count();
    for (std::size_t i = 1; i < size(); ++i) {
      const fetcher& m = st_[i];
      if (!at(i).alive || m.liar) continue;  // a liar need not finish: its peers cut it off
      ++report_.survivors;
      if (!m.done_at || !m.opened || !m.have.complete()) {
        report_.violations.push_back("node " + std::to_string(i) + " holds " +
                                     std::to_string(m.opened ? m.have.count() : 0) + " of " +
                                     std::to_string(pieces) + " pieces at the end");
        continue;
      }
      ++report_.finished;
      const double s = seconds(*m.done_at - start);
      report_.finish_seconds.push_back(s);
      if (s > report_.last_seconds) report_.last_node = i;
      report_.last_seconds = std::max(report_.last_seconds, s);
      report_.duplicate_blocks += m.duplicate_blocks;
    }
    double up_sum = 0;
    for (std::size_t i = 0; i < size(); ++i)
      if (at(i).alive) up_sum += at(i).up;
    if (report_.last_seconds > 0) {
      report_.origin_use =
          static_cast<double>(report_.origin_bytes) / (at(0).up * report_.last_seconds);
      report_.upload_use =
          static_cast<double>(report_.block_bytes) / (up_sum * report_.last_seconds);
    }
  }

  swarm_params p_;
  swarm_report report_;
  synthetic_content content_;
  std::vector<fetcher> st_;
  std::size_t remaining_ = 0;  // honest nodes neither finished nor crashed
};

}  // namespace

swarm_report run_swarm(const swarm_params& p) {
  return swarm_sim(p).run();
}

}  // namespace shoal::sim
