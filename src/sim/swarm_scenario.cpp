#include "sim/swarm_scenario.hpp"

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <unordered_map>

#include "core/node.hpp"
#include "sim/members.hpp"
#include "sim/world.hpp"

namespace shoal::sim {

namespace {

constexpr std::uint16_t listen_port = 7420;
constexpr auto block_type = static_cast<std::uint8_t>(wire::msg_type::block);

// A frame's message type (its first body byte, after the 4-byte length).
std::uint8_t type_of_frame(const std::vector<std::uint8_t>& f) {
  return f.size() > 4 ? f[4] : 0;
}
// --progress describes the fetching nodes once this few are left (swarm_progress::stragglers).
constexpr std::size_t stragglers_shown = 2;

double seconds(duration d) {
  return std::chrono::duration<double>(d).count();
}

// Bytes per second from megabits per second.
double bytes_per_second(double mbps) {
  return mbps * 1e6 / 8;
}

}  // namespace

double block_wire_bytes(std::uint64_t data, std::uint32_t mtu) {
  if (mtu == 0) return static_cast<double>(data);
  constexpr double frame_overhead = 4 + 170;  // length prefix, then L = 170 + data (wire.md 4.11)
  constexpr double tls_record = 16384, tls_overhead = 5 + 1 + 16;
  constexpr double ip_tcp = 20 + 20 + 12, ethernet = 14;
  const double frame = static_cast<double>(data) + frame_overhead;
  const double tls = frame * (1 + tls_overhead / tls_record);
  const double segment = static_cast<double>(mtu) - ip_tcp;
  return tls * (1 + (ip_tcp + ethernet) / segment);
}

namespace {

class swarm_sim {
 public:
  explicit swarm_sim(const swarm_params& p)
      : p_(p), w_(p.seed), content_(make_synthetic_content(w_.rng(), p.size)) {
    report_.params = p;
    p_.fetch.synthetic_blocks = true;
    const auto span = (p.max_latency - p.min_latency).count();
    members_.resize(p.nodes + 1);
    for (std::size_t i = 0; i <= p.nodes; ++i) {
      member& m = members_[i];
      node_config cfg;
      cfg.self = node_id{random_hash(w_.rng())};
      cfg.max_swarm_peers = p.max_connections;
      cfg.fetch = p_.fetch;
      m.entry = entry_for(cfg.self, i);
      m.at = address_of(m.entry).str();
      m.n = std::make_unique<node>(std::move(cfg), w_.next());
      m.latency =
          p.min_latency + duration(span > 0 ? static_cast<duration::rep>(w_.next() % span) : 0);
      double up = p.up_mbps;
      double down = p.down_mbps;
      if (p.heterogeneous) {
        static constexpr double classes[] = {25, 50, 100, 200};
        up = classes[w_.next() % 4];
        down = 4 * up;
      }
      if (i == 0) up = p.origin_up_mbps;
      m.up = bytes_per_second(up);
      m.down = bytes_per_second(down);
      by_address_[m.at] = i;
    }
    member& origin = members_[0];
    origin.opened = true;
    origin.have = content_.held.have;
    origin.finished = true;
    origin.n->handle_held(w_.now(), content_.id, origin.have.size(), true);
    remaining_ = p.nodes;
  }

  swarm_report run() {
    const time_point start = w_.now();
    pump(0);
    tick(0);
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
        members_[i].liar = true;
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
  // One connection: member a dialed member b. Each side knows it by its own handle.
  struct conn {
    std::size_t a = 0, b = 0;
    peer_handle pa, pb;
    bool open = false;              // TCP and TLS are done: each side has its session
    bool gone[2] = {false, false};  // the side has forgotten it (handle_closed)
    // Each side's session, the real one (core/session.hpp), as the daemon's connections hold.
    std::optional<session> s[2];
    bool dropped[2] = {false, false};  // at its session's close, what was queued went
    // What each side's session has output and its upload has not yet carried, in order, frame
    // by frame: the session's output, TLS's and TCP's send buffers, one byte stream (so a
    // request waits behind the blocks sent before it, as it does on a real connection).
    std::deque<std::vector<std::uint8_t>> queued[2];
    int side(std::size_t me) const { return me == a ? 0 : 1; }
    std::size_t other(std::size_t me) const { return me == a ? b : a; }
    peer_handle handle(std::size_t me) const { return me == a ? pa : pb; }
  };
  struct member {
    std::unique_ptr<node> n;
    wire::peer_entry entry;
    std::string at;
    duration latency{};
    double up = 0, down = 0;  // bytes per second
    bool alive = true;
    bool liar = false;    // every block it sends is forged
    bool opened = false;  // its store holds the manifest and piece layer
    bool fetching = false;
    bool finished = false;
    piece_set have;
    std::unordered_map<peer_handle, std::uint64_t> conns;  // its connections, by its handles
    std::deque<std::uint64_t> ready;  // connections with messages queued at its upload, in turn
    bool sending = false;             // the upload is busy with a message
    time_point down_free{};           // when the download is free of queued messages
    std::optional<time_point> done_at;
    std::uint64_t duplicate_blocks = 0;
  };

  static std::uint64_t blocks_in(const std::deque<std::vector<std::uint8_t>>& q) {
    return static_cast<std::uint64_t>(std::count_if(
        q.begin(), q.end(), [](const auto& f) { return type_of_frame(f) == block_type; }));
  }

  double bound_seconds(bool survivors_only) const {
    const double f = static_cast<double>(p_.size);
    double up_sum = members_[0].up;
    double d_min = 1e300;
    std::size_t n = 0;
    for (std::size_t i = 1; i < members_.size(); ++i) {
      if (survivors_only && (!members_[i].alive || members_[i].liar)) continue;
      up_sum += members_[i].up;
      d_min = std::min(d_min, members_[i].down);
      ++n;
    }
    return std::max({f / members_[0].up, f / d_min, static_cast<double>(n) * f / up_sum});
  }

  duration one_way(std::size_t a, std::size_t b) const {
    return members_[a].latency + members_[b].latency;
  }
  conn& cn(std::uint64_t c) { return conns_[c]; }
  std::optional<std::uint64_t> conn_of(std::size_t me, peer_handle p) const {
    auto it = members_[me].conns.find(p);
    if (it == members_[me].conns.end()) return std::nullopt;
    return it->second;
  }

  // --- the nodes' actions ------------------------------------------------------------------

  // Carries out what member `me`'s node asks for until it asks nothing more.
  void pump(std::size_t me) {
    member& m = members_[me];
    while (m.alive) {
      auto a = m.n->poll_action();
      if (!a) return;
      const time_point now = w_.now();
      if (auto* d = std::get_if<node_actions::dial>(&*a)) {
        dial(me, d->peer, d->to.str());
      } else if (auto* s = std::get_if<node_actions::send>(&*a)) {
        send(me, s->peer, std::move(s->msg));
      } else if (auto* c = std::get_if<node_actions::close>(&*a)) {
        if (c->code == wire::reason::overloaded) ++report_.refused_full;
        if (c->code == wire::reason::bad_block) note_cut_off(me, c->peer, c->text);
        hang_up(me, c->peer, c->code, c->text);
      } else if (auto* l = std::get_if<node_actions::load_content>(&*a)) {
        std::optional<held_content> h;
        if (m.opened && l->id == content_.id) {
          h = content_.held;
          h->have = m.have;
        }
        m.n->handle_content_loaded(now, l->id, std::move(h));
      } else if (auto* o = std::get_if<node_actions::open_content>(&*a)) {
        m.opened = true;
        m.have = piece_set(content_.held.layout.piece_count());
        m.n->handle_opened(now, o->id, m.n->fetch_seq(o->id), m.have);
      } else if (auto* wp = std::get_if<node_actions::write_piece>(&*a)) {
        m.have.insert(wp->piece);  // storage is simulated: written at once
        m.n->handle_piece_written(now, wp->id, m.n->fetch_seq(wp->id), wp->piece, {});
      } else if (auto* e = std::get_if<node_actions::fetch_ended>(&*a)) {
        ended(me, *e);
      }  // log, read_piece (synthetic blocks are never read), piece_stored: nothing to do
    }
  }

  void ended(std::size_t me, const node_actions::fetch_ended& e) {
    member& m = members_[me];
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
    const std::size_t them = cn(*c).other(me);
    if (members_[them].liar)
      ++report_.liars_cut_off;
    else
      report_.violations.push_back("node " + std::to_string(me) + " cut off honest node " +
                                   std::to_string(them) + ": " + text);
  }

  // --- connections ---------------------------------------------------------------------------

  // Member `me` dials `to` as handle `p`: TCP's handshake, then TLS 1.3's, two round trips
  // before the hellos cross. Nobody there (or a dead member): refused after one round trip.
  void dial(std::size_t me, peer_handle p, const std::string& to) {
    auto target = by_address_.find(to);
    ++report_.connections;
    const std::uint64_t c = conns_.size();
    conns_.push_back(conn{});
    conn& k = conns_.back();
    k.a = me;
    k.pa = p;
    k.b = target == by_address_.end() ? me : target->second;
    members_[me].conns[p] = c;
    w_.trace("dial", me, k.b);
    if (target == by_address_.end() || target->second == me) {
      return w_.after(2 * members_[me].latency, [this, c] { refused(c, "nobody listens there"); });
    }
    w_.after(one_way(k.a, k.b) * 4, [this, c] { established(c); });
  }

  void refused(std::uint64_t c, const std::string& why) {
    conn& k = cn(c);
    if (k.gone[0] || !members_[k.a].alive) return;
    node& n = *members_[k.a].n;
    n.handle_dial_failed(w_.now(), k.pa, false, why);
    forget(k.a, c);
    pump(k.a);
  }

  void established(std::uint64_t c) {
    conn& k = cn(c);
    if (k.gone[0] || !members_[k.a].alive) return;
    if (!members_[k.b].alive) return refused(c, "connection refused");
    member& acceptor = members_[k.b];
    k.pb = acceptor.n->handle_accepted(w_.now(), members_[k.a].at);
    acceptor.conns[k.pb] = c;
    k.open = true;
    w_.trace("open", k.a, k.b);
    const time_point now = w_.now();
    session_config sc;
    sc.listen_port = listen_port;
    sc.agent = "shoal-sim";
    for (std::size_t me : {k.a, k.b}) {
      const std::size_t them = k.other(me);
      wire::peer_entry ip = members_[them].entry;
      ip.port = 0;
      members_[me].n->handle_authenticated(
          now, k.handle(me), authenticated_peer{members_[them].entry.node, "n", ip, std::nullopt});
      k.s[k.side(me)].emplace(sc, now);  // queues its hello
    }
    flush(k.a, c);
    flush(k.b, c);
  }

  // Hands what the side's session reported to its node.
  void dispatch(std::size_t me, std::uint64_t c) {
    conn& k = cn(c);
    auto& sess = k.s[k.side(me)];
    if (!sess || k.gone[k.side(me)]) return;
    const peer_handle p = k.handle(me);
    while (auto ev = sess->poll_event()) members_[me].n->handle_session_event(w_.now(), p, *ev);
  }

  // Queues what the side's session output at its upload, frame by frame. A closed session's
  // backlog goes first (its goodbye is next, as net::connection does), and once the last frame
  // has left, the side forgets the connection.
  void flush(std::size_t me, std::uint64_t c) {
    conn& k = cn(c);
    const int side = k.side(me);
    auto& sess = k.s[side];
    if (!sess || k.gone[side]) return;
    auto& q = k.queued[side];
    const std::vector<std::uint8_t> bytes = sess->poll_output();
    if (sess->closed() && !k.dropped[side]) {
      k.dropped[side] = true;
      q.clear();
    }
    const bool was_empty = q.empty();
    for (std::size_t at = 0; at + 4 <= bytes.size();) {
      const std::size_t len = (std::size_t{bytes[at]} << 24) | (std::size_t{bytes[at + 1]} << 16) |
                              (std::size_t{bytes[at + 2]} << 8) | bytes[at + 3];
      q.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(at),
                     bytes.begin() + static_cast<std::ptrdiff_t>(at + 4 + len));
      at += 4 + len;
    }
    if (was_empty && !q.empty()) members_[me].ready.push_back(c);
    if (forget_if_done(me, c)) return;
    upload(me);
  }

  // A closed session whose last frame has left: the side forgets the connection.
  bool forget_if_done(std::size_t me, std::uint64_t c) {
    conn& k = cn(c);
    const int side = k.side(me);
    if (k.gone[side] || !k.s[side] || !k.s[side]->closed() || !k.queued[side].empty()) return false;
    forget(me, c);
    return true;
  }

  // After input to the side's session: its events to the node, the node's actions, its output.
  void settle(std::size_t me, std::uint64_t c) {
    dispatch(me, c);
    pump(me);
    flush(me, c);
  }

  // `me` forgets the connection: what waits at its upload for it goes.
  void forget(std::size_t me, std::uint64_t c) {
    conn& k = cn(c);
    const int s = k.side(me);
    if (k.gone[s]) return;
    k.gone[s] = true;
    k.queued[s].clear();
    members_[me].conns.erase(k.handle(me));
    members_[me].n->handle_closed(w_.now(), k.handle(me));
    // What the node does about it (another connection takes the fetch's requests, a redial is
    // timed) is carried out at once, as the daemon drains after each close; as an event of its
    // own, since a close can come in the middle of carrying out the node's actions.
    w_.after(duration::zero(), [this, me] { pump(me); });
  }

  // `me` closes the connection with a goodbye (or, not yet open, drops it): its session says
  // goodbye, which reaches the other side behind what has already left.
  void hang_up(std::size_t me, peer_handle p, wire::reason code, const std::string& text) {
    auto c = conn_of(me, p);
    if (!c) return;
    conn& k = cn(*c);
    auto& sess = k.s[k.side(me)];
    if (!k.open || !sess) return forget(me, *c);
    sess->close(w_.now(), code, text);
    dispatch(me, *c);
    flush(me, *c);
  }

  // The other side was killed: its kernel resets the connection.
  void reset(std::uint64_t c, std::size_t me) {
    conn& k = cn(c);
    auto& sess = k.s[k.side(me)];
    if (k.gone[k.side(me)] || !members_[me].alive || !sess) return;
    sess->handle_eof(w_.now());
    settle(me, c);
  }

  // --- messages ------------------------------------------------------------------------------

  void send(std::size_t me, peer_handle p, wire::message msg) {
    auto c = conn_of(me, p);
    if (!c) return;
    conn& k = cn(*c);
    auto& sess = k.s[k.side(me)];
    if (!k.open || !sess || sess->closed()) return;
    if (auto* r = std::get_if<wire::reject>(&msg); r && r->code == wire::reason::elsewhere)
      ++report_.elsewhere;
    if (auto* b = std::get_if<wire::block>(&msg); b && members_[me].liar) b->proof[0].bytes[1] ^= 1;
    sess->send_message(w_.now(), std::move(msg));
    flush(me, *c);
  }

  void deliver(std::size_t me, std::uint64_t c, const std::vector<std::uint8_t>& frame) {
    conn& k = cn(c);
    member& m = members_[me];
    auto& sess = k.s[k.side(me)];
    if (k.gone[k.side(me)] || !m.alive || !sess) return;
    const std::uint8_t type = type_of_frame(frame);
    const bool announce = type == static_cast<std::uint8_t>(wire::msg_type::bitfield) ||
                          type == static_cast<std::uint8_t>(wire::msg_type::have);
    sess->handle_bytes(w_.now(), frame);
    dispatch(me, c);
    if (announce && me == 0) note_first_copy();
    pump(me);
    flush(me, c);
  }

  // The first time the origin hears that every piece is held by some node: what it had sent by
  // then is the first copy's cost.
  void note_first_copy() {
    if (report_.first_copy_seconds > 0 || members_[0].n->swarms().only_here(content_.id) != 0)
      return;
    report_.first_copy_seconds = seconds(w_.now() - time_point{});
    report_.first_copy_copies =
        static_cast<double>(report_.origin_bytes) / static_cast<double>(p_.size);
  }

  // --- the upload and download ---------------------------------------------------------------

  // What a frame costs on the links: a block its framed size with the data it stands for
  // (block_wire_bytes; a synthetic block carries one byte), any other frame its size with the same
  // record and packet overheads. `len` is set to a block's data length.
  double wire_bytes(const std::vector<std::uint8_t>& frame, std::uint64_t& len) {
    len = 0;
    if (type_of_frame(frame) == block_type) {
      auto m = wire::decode_body({frame.data() + 4, frame.size() - 4});
      SHOAL_ASSERT(m.ok());
      len = block_data(std::get<wire::block>(*m));
      return block_wire_bytes(len, p_.mtu);
    }
    const double size = static_cast<double>(frame.size());
    return p_.mtu == 0 ? size : block_wire_bytes(0, p_.mtu) / (4 + 170) * size;
  }

  std::uint64_t block_data(const wire::block& b) const {
    const std::uint64_t piece = content_.held.layout.locate(b.ref.piece).length;
    return std::min<std::uint64_t>(merkle::block_size,
                                   piece - std::uint64_t{b.ref.block} * merkle::block_size);
  }

  // The upload sends one frame at a time, from the connections with frames queued, in turn.
  void upload(std::size_t me) {
    member& m = members_[me];
    while (!m.sending && m.alive && !m.ready.empty()) {
      const std::uint64_t c = m.ready.front();
      m.ready.pop_front();
      conn& k = cn(c);
      auto& q = k.queued[k.side(me)];
      if (k.gone[k.side(me)] || q.empty()) continue;
      std::vector<std::uint8_t> frame = std::move(q.front());
      q.pop_front();
      if (!q.empty()) m.ready.push_back(c);
      std::uint64_t len = 0;
      const double bytes = wire_bytes(frame, len);
      report_.block_bytes += len;
      if (me == 0) report_.origin_bytes += len;
      m.sending = true;
      const auto took =
          std::chrono::duration_cast<duration>(std::chrono::duration<double>(bytes / m.up));
      w_.after(took, [this, me, c, frame = std::move(frame), bytes]() mutable {
        members_[me].sending = false;
        in_flight(me, c, std::move(frame), bytes);
        forget_if_done(me, c);
        upload(me);
      });
    }
  }

  // The frame crossed `me`'s upload: it arrives one latency later and queues for the
  // receiver's download (computed now, in the order frames leave their senders: one event
  // each). It arrives even if the sender has closed since (TCP delivers what was sent before a
  // FIN), but not from a member that was killed or powered off meanwhile.
  void in_flight(std::size_t me, std::uint64_t c, std::vector<std::uint8_t> frame, double bytes) {
    conn& k = cn(c);
    if (!members_[me].alive) return;
    const std::size_t to = k.other(me);
    member& r = members_[to];
    const auto took =
        std::chrono::duration_cast<duration>(std::chrono::duration<double>(bytes / r.down));
    r.down_free = std::max(r.down_free, w_.now() + one_way(me, to)) + took;
    w_.at(r.down_free, [this, c, to, frame = std::move(frame)]() mutable {
      if (type_of_frame(frame) != block_type) return deliver(to, c, frame);
      const conn& kk = cn(c);
      const bool liar = members_[kk.other(to)].liar;
      const std::uint64_t before = liar ? bytes_from(to, kk.other(to)) : 0;
      w_.trace("block", to, frame.size());
      deliver(to, c, frame);
      if (liar && bytes_from(to, kk.other(to)) > before)
        report_.violations.push_back("node " + std::to_string(to) +
                                     " accepted a forged block from a liar");
    });
  }

  // Verified bytes member `me`'s fetch took from member `from`.
  std::uint64_t bytes_from(std::size_t me, std::size_t from) {
    if (!members_[me].alive) return 0;
    auto r = members_[me].n->report(w_.now(), content_.id);
    if (!r) return 0;
    auto it = r->from.find(members_[from].at);
    return it == r->from.end() ? 0 : it->second;
  }

  // --- the fetches ---------------------------------------------------------------------------

  // As `shoal get ID --from ORIGIN` does.
  void begin(std::size_t i) {
    member& m = members_[i];
    if (!m.alive) return;
    m.fetching = true;
    fetch_request r;
    r.id = content_.id;
    r.name = "content";
    r.sources = {address_of(members_[0].entry)};
    m.n->start_fetch(w_.now(), std::move(r));
    pump(i);
    tick(i);
  }

  // The node's tick, and its sessions' timers (hello, keepalive, idle, request deadlines): the
  // daemon runs those at each session's next deadline, at least once a second.
  void tick(std::size_t i) {
    member& m = members_[i];
    if (!m.alive) return;
    m.n->handle_tick(w_.now());
    pump(i);
    std::vector<std::uint64_t> cs;
    for (const auto& [p, c] : m.conns) cs.push_back(c);
    for (std::uint64_t c : cs) {
      conn& k = cn(c);
      auto& sess = k.s[k.side(i)];
      if (!sess || k.gone[k.side(i)] || sess->closed()) continue;
      if (auto due = sess->next_deadline(); due && *due <= w_.now()) {
        sess->handle_tick(w_.now());
        settle(i, c);
      }
    }
    w_.after(m.n->cfg().tick_interval, [this, i] { tick(i); });
  }

  // Killed (its peers see each connection reset one latency later) or powered off (they hear
  // nothing, and close the connection when their session's idle timeout passes).
  void crash(std::size_t i, bool powered_off) {
    member& m = members_[i];
    if (!m.alive) return;
    m.alive = false;
    ++report_.crashed;
    if (!m.finished && !m.liar) --remaining_;
    w_.trace(powered_off ? "power off" : "kill", i, 0);
    for (const auto& [p, c] : m.conns) {
      conn& k = cn(c);
      k.gone[k.side(i)] = true;
      k.queued[k.side(i)].clear();
      // Powered off, it says nothing: its peers' sessions time out. Killed, its kernel resets
      // each connection.
      if (!k.open || powered_off) continue;
      const std::size_t them = k.other(i);
      w_.after(one_way(k.a, k.b), [this, c, them] { reset(c, them); });
    }
    m.conns.clear();
  }

  // Its link degrades: a tenth of its upload and download from now on.
  void slow_down(std::size_t i) {
    member& m = members_[i];
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
    for (std::size_t i = 0; i < members_.size(); ++i) {
      const member& m = members_[i];
      if (!m.alive) continue;
      std::uint64_t q = 0;
      for (const auto& [p, c] : m.conns) q += blocks_in(conns_[c].queued[conns_[c].side(i)]);
      if (i == 0) {
        g.origin_queued = q;
        continue;
      }
      ++live;
      queued += q;
      busy += m.sending ? 1 : 0;
      if (m.finished) ++g.finished;
      if (m.liar) continue;
      const std::uint64_t count = m.opened ? m.have.count() : 0;
      if (!m.finished && m.fetching &&
          (!slowest || count < (members_[*slowest].opened ? members_[*slowest].have.count() : 0)))
        slowest = i;
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
                  members_[*slowest].n->describe_fetch(w_.now(), content_.id, false);
    p_.on_progress(g);
    if (remaining_ > 0) w_.after(p_.progress_every, [this] { progress(); });
  }

  // Why the last nodes wait: each one's fetch, and per connection the peer's side of it (does it
  // hold the content, how many of our blocks wait at its upload, which pieces it counts as being
  // sent, against swarm::max_pieces_sending).
  std::string describe_stragglers() const {
    std::string s;
    for (std::size_t i = 1; i < members_.size(); ++i) {
      const member& m = members_[i];
      if (!m.alive || m.liar || m.finished || !m.fetching) continue;
      s += "node " + std::to_string(i) + ": " + m.n->describe_fetch(w_.now(), content_.id, true);
      for (const auto& [p, c] : m.conns) {
        const conn& k = conns_[c];
        const std::size_t j = k.other(i);
        const member& o = members_[j];
        s += "  connection " + std::to_string(c) + " to node " + std::to_string(j) +
             (k.open ? "" : " (opening)") + (o.finished ? " (finished)" : "") +
             (!m.n->fetches_of(p).empty() ? "" : " (not in our fetch)") + ": " +
             std::to_string(blocks_in(k.queued[k.side(j)])) + " of our blocks queued there";
        if (o.opened && o.have.complete() && k.open) {
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
    const std::uint64_t pieces = content_.held.layout.piece_count();
    for (std::size_t i = 1; i < members_.size(); ++i) {
      const member& m = members_[i];
      if (!m.alive || m.liar) continue;  // a liar need not finish: its peers cut it off
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
    for (const member& m : members_)
      if (m.alive) up_sum += m.up;
    if (report_.last_seconds > 0) {
      report_.origin_use =
          static_cast<double>(report_.origin_bytes) / (members_[0].up * report_.last_seconds);
      report_.upload_use =
          static_cast<double>(report_.block_bytes) / (up_sum * report_.last_seconds);
    }
  }

  swarm_params p_;
  world w_;
  swarm_report report_;
  synthetic_content content_;
  std::vector<member> members_;
  std::map<std::string, std::size_t> by_address_;
  std::deque<conn> conns_;
  std::size_t remaining_ = 0;  // honest nodes neither finished nor crashed
};

}  // namespace

swarm_report run_swarm(const swarm_params& p) {
  return swarm_sim(p).run();
}

}  // namespace shoal::sim
