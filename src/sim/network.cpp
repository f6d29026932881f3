#include "sim/network.hpp"

#include <algorithm>

#include "core/merkle.hpp"
#include "sim/members.hpp"

namespace shoal::sim {

namespace {

constexpr std::uint16_t listen_port = 7420;
constexpr auto block_type = static_cast<std::uint8_t>(wire::msg_type::block);

// A frame's message type (its first body byte, after the 4-byte length).
std::uint8_t type_of_frame(const std::vector<std::uint8_t>& f) {
  return f.size() > 4 ? f[4] : 0;
}

// A dial across a split: its SYNs go unanswered until the connect attempt is given up.
constexpr duration split_connect_timeout = std::chrono::seconds(3);

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

std::uint64_t network::blocks_in(const std::deque<std::vector<std::uint8_t>>& q) {
  return static_cast<std::uint64_t>(std::count_if(
      q.begin(), q.end(), [](const auto& f) { return type_of_frame(f) == block_type; }));
}

std::size_t network::add(node_config cfg, std::uint64_t seed, duration latency, double up,
                         double down) {
  const std::size_t i = members_.size();
  member& m = members_.emplace_back();
  m.entry = entry_for(cfg.self, i);
  m.at = address_of(m.entry).str();
  m.n = std::make_unique<node>(std::move(cfg), seed);
  m.latency = latency;
  m.up = up;
  m.down = down;
  by_address_[m.at] = i;
  return i;
}

std::optional<std::uint64_t> network::conn_of(std::size_t me, peer_handle p) const {
  auto it = members_[me].conns.find(p);
  if (it == members_[me].conns.end()) return std::nullopt;
  return it->second;
}

// --- the nodes' actions ------------------------------------------------------------------------

void network::pump(std::size_t me) {
  member& m = members_[me];
  while (m.alive) {
    auto a = m.n->poll_action();
    if (!a) return;
    if (auto* d = std::get_if<node_actions::dial>(&*a)) {
      dial(me, d->peer, d->to.str());
    } else if (auto* s = std::get_if<node_actions::send>(&*a)) {
      send(me, s->peer, std::move(s->msg));
    } else if (auto* c = std::get_if<node_actions::close>(&*a)) {
      on_close(me, *c);
      hang_up(me, c->peer, c->code, c->text, c->keep_queued);
    } else {
      on_action(me, *a);
    }
  }
}

// --- connections -------------------------------------------------------------------------------

// Member `me` dials `to` as handle `p`: TCP's handshake, then TLS 1.3's, two round trips
// before the hellos cross. Nobody there (or a dead member): refused after one round trip.
void network::dial(std::size_t me, peer_handle p, const std::string& to) {
  auto target = by_address_.find(to);
  ++stats_.dials;
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
  if (split(k.a, k.b)) {
    return w_.after(split_connect_timeout,
                    [this, c] { refused(c, "no route to the member (the network is split)"); });
  }
  w_.after(one_way(k.a, k.b) * 4, [this, c] { established(c); });
}

void network::refused(std::uint64_t c, const std::string& why) {
  conn& k = conns_[c];
  if (k.gone[0] || !members_[k.a].alive) return;
  members_[k.a].n->handle_dial_failed(w_.now(), k.pa, false, why);
  forget(k.a, c);
  pump(k.a);
}

void network::established(std::uint64_t c) {
  conn& k = conns_[c];
  if (k.gone[0] || !members_[k.a].alive) return;
  if (!members_[k.b].alive) return refused(c, "connection refused");
  if (split(k.a, k.b)) return refused(c, "no route to the member (the network is split)");
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
void network::dispatch(std::size_t me, std::uint64_t c) {
  conn& k = conns_[c];
  auto& sess = k.s[k.side(me)];
  if (!sess || k.gone[k.side(me)]) return;
  const peer_handle p = k.handle(me);
  while (auto ev = sess->poll_event()) members_[me].n->handle_session_event(w_.now(), p, *ev);
}

// Queues what the side's session output at its upload, frame by frame. A closed session's
// backlog goes first (its goodbye is next, as net::connection does), and once the last frame
// has left, the side forgets the connection.
void network::flush(std::size_t me, std::uint64_t c) {
  conn& k = conns_[c];
  const int side = k.side(me);
  auto& sess = k.s[side];
  if (!sess || k.gone[side]) return;
  auto& q = k.queued[side];
  const std::vector<std::uint8_t> bytes = sess->poll_output();
  if (sess->closed() && !k.dropped[side]) {
    k.dropped[side] = true;
    // As net::connection does: our hello, if it has not left yet, stays first, and a close that
    // keeps what was queued (a revocation list before goodbye(revoked)) drops nothing.
    if (!sess->kept_backlog()) {
      const bool hello_first = !q.empty() && q.front().size() > 4 &&
                               q.front()[4] == static_cast<std::uint8_t>(wire::msg_type::hello);
      q.erase(q.begin() + (hello_first ? 1 : 0), q.end());
    }
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
bool network::forget_if_done(std::size_t me, std::uint64_t c) {
  conn& k = conns_[c];
  const int side = k.side(me);
  if (k.gone[side] || !k.s[side] || !k.s[side]->closed() || !k.queued[side].empty()) return false;
  forget(me, c);
  return true;
}

// After input to the side's session: its events to the node, the node's actions, its output.
void network::settle(std::size_t me, std::uint64_t c) {
  dispatch(me, c);
  pump(me);
  flush(me, c);
}

// `me` forgets the connection: what waits at its upload for it goes.
void network::forget(std::size_t me, std::uint64_t c) {
  conn& k = conns_[c];
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
void network::hang_up(std::size_t me, peer_handle p, wire::reason code, const std::string& text,
                      bool keep_queued) {
  auto c = conn_of(me, p);
  if (!c) return;
  conn& k = conns_[*c];
  auto& sess = k.s[k.side(me)];
  if (!k.open || !sess) return forget(me, *c);
  sess->close(w_.now(), code, text, keep_queued);
  dispatch(me, *c);
  flush(me, *c);
}

// The other side was killed: its kernel resets the connection.
void network::reset(std::uint64_t c, std::size_t me) {
  conn& k = conns_[c];
  auto& sess = k.s[k.side(me)];
  if (k.gone[k.side(me)] || !members_[me].alive || !sess) return;
  sess->handle_eof(w_.now());
  settle(me, c);
}

// --- messages ----------------------------------------------------------------------------------

void network::send(std::size_t me, peer_handle p, wire::message msg) {
  auto c = conn_of(me, p);
  if (!c) return;
  conn& k = conns_[*c];
  auto& sess = k.s[k.side(me)];
  if (!k.open || !sess || sess->closed()) return;
  on_send(me, msg);
  sess->send_message(w_.now(), std::move(msg));
  flush(me, *c);
}

void network::deliver(std::size_t me, std::uint64_t c, const std::vector<std::uint8_t>& frame) {
  conn& k = conns_[c];
  auto& sess = k.s[k.side(me)];
  if (!members_[me].alive) ++stats_.lost;
  if (k.gone[k.side(me)] || !members_[me].alive || !sess) return;
  sess->handle_bytes(w_.now(), frame);
  dispatch(me, c);
  on_frame_read(me, type_of_frame(frame));
  pump(me);
  flush(me, c);
}

// --- the upload and download -------------------------------------------------------------------

// What a frame costs on the links: a block its framed size with the data it stands for
// (block_wire_bytes; a synthetic block carries one byte), any other frame its size with the same
// record and packet overheads. `len` is set to a block's data length.
double network::wire_bytes(const std::vector<std::uint8_t>& frame, std::uint64_t& len) {
  len = 0;
  if (type_of_frame(frame) == block_type) {
    auto m = wire::decode_body({frame.data() + 4, frame.size() - 4});
    SHOAL_ASSERT(m.ok());
    len = block_data(std::get<wire::block>(*m));
    return block_wire_bytes(len, mtu_);
  }
  const double size = static_cast<double>(frame.size());
  return mtu_ == 0 ? size : block_wire_bytes(0, mtu_) / (4 + 170) * size;
}

// The upload sends one frame at a time, from the connections with frames queued, in turn.
void network::upload(std::size_t me) {
  member& m = members_[me];
  while (!m.sending && m.alive && !m.ready.empty()) {
    const std::uint64_t c = m.ready.front();
    m.ready.pop_front();
    conn& k = conns_[c];
    auto& q = k.queued[k.side(me)];
    if (k.gone[k.side(me)] || q.empty()) continue;
    std::vector<std::uint8_t> frame = std::move(q.front());
    q.pop_front();
    if (!q.empty()) m.ready.push_back(c);
    std::uint64_t len = 0;
    const double bytes = wire_bytes(frame, len);
    if (type_of_frame(frame) == block_type) on_block_sent(me, len);
    m.sending = true;
    const auto took =
        std::chrono::duration_cast<duration>(std::chrono::duration<double>(bytes / m.up));
    const std::uint32_t epoch = m.epoch;
    w_.after(took, [this, me, c, epoch, frame = std::move(frame), bytes]() mutable {
      if (members_[me].epoch != epoch) return;  // restarted meanwhile: the frame never left
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
// FIN), but not from a member that was killed or powered off meanwhile. A lost packet is sent
// again after TCP's retransmission timeout (Linux: at least 200 ms, about the round trip plus
// its variance), as often as it is lost, and what follows it on the connection waits for it.
void network::in_flight(std::size_t me, std::uint64_t c, std::vector<std::uint8_t> frame,
                        double bytes) {
  conn& k = conns_[c];
  if (!members_[me].alive) return;
  ++stats_.frames;
  const std::size_t to = k.other(me);
  if (split(me, to)) {
    ++stats_.lost;
    return;
  }
  member& r = members_[to];
  const auto took =
      std::chrono::duration_cast<duration>(std::chrono::duration<double>(bytes / r.down));
  const duration latency = one_way(me, to);
  r.down_free = std::max(r.down_free, w_.now() + latency) + took;
  time_point arrives = r.down_free;
  while (loss_ > 0 && w_.uniform() < loss_) {
    ++stats_.retransmitted;
    arrives += std::max<duration>(std::chrono::milliseconds(200), 2 * latency) + latency;
  }
  time_point& last = k.last_arrival[k.side(me)];
  arrives = std::max(arrives, last);
  last = arrives;
  w_.at(arrives, [this, c, to, frame = std::move(frame)]() mutable { arrive(to, c, frame); });
}

// --- timers and faults -------------------------------------------------------------------------

void network::start_ticking(std::size_t me) {
  tick(me, members_[me].epoch);
}

void network::tick(std::size_t i, std::uint32_t epoch) {
  member& m = members_[i];
  if (!m.alive || m.epoch != epoch) return;
  m.n->handle_tick(w_.now());
  pump(i);
  std::vector<std::uint64_t> cs;
  for (const auto& [p, c] : m.conns) cs.push_back(c);
  for (std::uint64_t c : cs) {
    conn& k = conns_[c];
    auto& sess = k.s[k.side(i)];
    if (!sess || k.gone[k.side(i)] || sess->closed()) continue;
    if (auto due = sess->next_deadline(); due && *due <= w_.now()) {
      sess->handle_tick(w_.now());
      settle(i, c);
    }
  }
  w_.after(m.n->cfg().tick_interval, [this, i, epoch] { tick(i, epoch); });
}

void network::crash(std::size_t i, bool powered_off) {
  member& m = members_[i];
  if (!m.alive) return;
  m.alive = false;
  w_.trace(powered_off ? "power off" : "kill", i, 0);
  for (const auto& [p, c] : m.conns) {
    conn& k = conns_[c];
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

void network::restart(std::size_t i, node_config cfg, std::uint64_t seed) {
  member& m = members_[i];
  SHOAL_ASSERT(!m.alive);
  ++m.epoch;
  m.n = std::make_unique<node>(std::move(cfg), seed);
  m.alive = true;
  m.ready.clear();
  m.sending = false;
  w_.trace("restart", i, 0);
}

}  // namespace shoal::sim
