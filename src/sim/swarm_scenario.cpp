#include "sim/swarm_scenario.hpp"

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "core/merkle.hpp"
#include "core/session.hpp"
#include "core/swarm.hpp"
#include "sim/members.hpp"
#include "sim/world.hpp"

namespace shoal::sim {

namespace {

constexpr duration tick_every = 200ms;
// What the daemon's sessions offer as their request bound (session_config::max_requests).
constexpr std::uint16_t peer_max_requests = 256;
// --progress describes the fetching nodes once this few are left (swarm_progress::stragglers).
constexpr std::size_t stragglers_shown = 2;

double seconds(duration d) {
  return std::chrono::duration<double>(d).count();
}

// Bytes per second from megabits per second.
double bytes_per_second(double mbps) {
  return mbps * 1e6 / 8;
}

class swarm_sim {
 public:
  explicit swarm_sim(const swarm_params& p) : p_(p), w_(p.seed) {
    report_.params = p;
    p_.fetch.synthetic_blocks = true;
    make_content();
    const auto span = (p.max_latency - p.min_latency).count();
    nodes_.resize(p.nodes + 1);
    for (std::size_t i = 0; i <= p.nodes; ++i) {
      node& n = nodes_[i];
      n.id = node_id{random_hash(w_.rng())};
      n.sw = swarm(w_.next());
      n.latency =
          p.min_latency + duration(span > 0 ? static_cast<duration::rep>(w_.next() % span) : 0);
      double up = p.up_mbps;
      double down = p.down_mbps;
      if (p.heterogeneous) {
        static constexpr double classes[] = {25, 50, 100, 200};
        up = classes[w_.next() % 4];
        down = 4 * up;
      }
      if (i == 0) up = p.origin_up_mbps;
      n.up = bytes_per_second(up);
      n.down = bytes_per_second(down);
      index_[n.id] = i;
    }
    nodes_[0].opened = true;
    nodes_[0].have = piece_set(layout_->piece_count(), true);
    nodes_[0].finished = true;
    remaining_ = p.nodes;
  }

  swarm_report run() {
    const time_point start = w_.now();
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
        nodes_[i].liar = true;
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
  struct link {  // one connection: node a dialed node b
    std::size_t a = 0, b = 0;
    bool open = false;
    bool closed = false;
    // Per side (a, b): it hung up (and forgot the connection); it noted the peer's interest in
    // the content (note_interest), so later messages need not ask its swarm again.
    bool hung_up[2] = {false, false};
    bool interest[2] = {false, false};
    bool attached[2] = {false, false};  // in the side's fetch (as node::attached)
    std::deque<wire::block_ref> queued_at_a, queued_at_b;  // requests each side will serve
    int side(std::size_t me) const { return me == a ? 0 : 1; }
  };
  struct node {
    node_id id;
    duration latency{};
    double up = 0, down = 0;  // bytes per second
    bool alive = true;
    bool liar = false;                 // every block it sends is forged
    std::set<std::size_t> cut_off;     // nodes it cut off for a bad block: never dialed again
    std::set<std::size_t> full_peers;  // nodes that hung up on it, full: never dialed again
    bool opened = false;               // holds the manifest and piece layer, so it serves them
    bool finished = false;
    piece_set have;
    std::unique_ptr<fetch> f;
    swarm sw;
    std::set<std::uint64_t> links;     // its connections, open or opening
    std::set<std::uint64_t> attached;  // the ones its fetch uses
    std::deque<std::uint64_t> ready;   // connections with requests queued here, in turn
    bool sending = false;              // the upload is busy with a block
    time_point down_free{};            // when the download is free of queued blocks
    std::optional<time_point> done_at;
  };

  // --- content --------------------------------------------------------------------------

  void make_content() {
    const std::uint64_t pieces = merkle::piece_count(p_.size);
    piece_hashes_.resize(pieces);
    for (auto& h : piece_hashes_) h = random_hash(w_.rng());
    crypto::sha256_hasher hasher;
    manifest m;
    m.kind = root_kind::file;
    manifest_entry e;
    e.size = p_.size;
    e.root = merkle::root_from_pieces(hasher, piece_hashes_, p_.size);
    m.entries.push_back(e);
    manifest_bytes_ = encode(m);
    id_ = content_id::of_manifest(manifest_bytes_);
    layout_.emplace(m);
  }

  double bound_seconds(bool survivors_only) const {
    const double f = static_cast<double>(p_.size);
    double up_sum = nodes_[0].up;
    double d_min = 1e300;
    std::size_t n = 0;
    for (std::size_t i = 1; i < nodes_.size(); ++i) {
      if (survivors_only && (!nodes_[i].alive || nodes_[i].liar)) continue;
      up_sum += nodes_[i].up;
      d_min = std::min(d_min, nodes_[i].down);
      ++n;
    }
    return std::max({f / nodes_[0].up, f / d_min, static_cast<double>(n) * f / up_sum});
  }

  // --- connections ------------------------------------------------------------------------

  duration one_way(std::size_t a, std::size_t b) const {
    return nodes_[a].latency + nodes_[b].latency;
  }
  static peer_handle handle(std::uint64_t l) { return peer_handle(l); }
  link& lk(std::uint64_t id) { return links_[id - 1]; }
  std::size_t other(const link& l, std::size_t me) const { return l.a == me ? l.b : l.a; }
  bool connected(std::size_t a, std::size_t b) const {
    return pairs_.contains({std::min(a, b), std::max(a, b)});
  }

  // Node a dials node b. Both dialing at once is one connection here (the daemon closes the
  // second; core/swarm does not model it).
  void dial(std::size_t a, std::size_t b) {
    if (a == b || connected(a, b) || !nodes_[a].alive) return;
    links_.emplace_back();
    const std::uint64_t id = links_.size();  // from 1: a peer handle is never 0
    link& l = links_.back();
    l.a = a;
    l.b = b;
    pairs_[{std::min(a, b), std::max(a, b)}] = id;
    nodes_[a].links.insert(id);
    ++report_.connections;
    w_.trace("dial", a, b);
    // TCP's handshake, then TLS 1.3's: two round trips before the hellos cross.
    w_.after(one_way(a, b) * 4, [this, id] { established(id); });
  }

  void established(std::uint64_t id) {
    link& l = lk(id);
    if (l.closed) return;
    if (!nodes_[l.b].alive) return close_link(id);
    l.open = true;
    nodes_[l.b].links.insert(id);
    w_.trace("open", l.a, l.b);
    for (std::size_t me : {l.a, l.b}) {
      node& n = nodes_[me];
      const std::size_t them = other(l, me);
      n.sw.handle_peer_added(handle(id), entry_for(nodes_[them].id, them), true);
      // The dialer's fetch uses its connection at once; the acceptor's once the peer speaks of
      // the content (note_interest).
      if (me == l.a && n.f && !n.finished) attach(me, id);
    }
    pump(l.a);
    pump(l.b);
  }

  void attach(std::size_t me, std::uint64_t id) {
    node& n = nodes_[me];
    if (!n.f || n.finished || !n.attached.insert(id).second) return;
    lk(id).attached[lk(id).side(me)] = true;
    n.f->handle_peer_added(w_.now(), handle(id), peer_max_requests);
    announce_to(me, id);
    note_interest(me, id);
  }

  // As the daemon does: a fetch tells each peer it uses what it holds once the store is open.
  void announce_to(std::size_t me, std::uint64_t id) {
    const node& n = nodes_[me];
    if (n.opened) send(me, id, {wire::bitfield{id_, n.have.size(), n.have.bytes()}});
  }

  // The connection is gone for both sides (a side that hung up has forgotten it already).
  void close_link(std::uint64_t id) {
    link& l = lk(id);
    if (l.closed) return;
    l.closed = true;
    pairs_.erase({std::min(l.a, l.b), std::max(l.a, l.b)});
    for (std::size_t me : {l.a, l.b})
      if (forget_link(me, id)) pump(me);
  }

  // `me` forgets the connection: its swarm and fetch drop the peer. False if it had already.
  bool forget_link(std::size_t me, std::uint64_t id) {
    node& n = nodes_[me];
    if (!n.links.erase(id) || !n.alive) return false;
    n.sw.handle_peer_removed(handle(id));
    lk(id).attached[lk(id).side(me)] = false;
    if (n.attached.erase(id) && n.f) n.f->handle_peer_removed(w_.now(), handle(id));
    return true;
  }

  // `me` closes the connection (or dies): the other side learns it one latency later.
  void hang_up(std::size_t me, std::uint64_t id) {
    link& l = lk(id);
    if (l.closed) return;
    l.hung_up[l.side(me)] = true;
    forget_link(me, id);
    w_.after(one_way(l.a, l.b), [this, id] { close_link(id); });
  }

  // --- messages -----------------------------------------------------------------------------

  void send(std::size_t from, std::uint64_t id, std::vector<wire::message> msgs) {
    link& l = lk(id);
    if (!l.open || l.closed) return;
    const std::size_t to = other(l, from);
    w_.after(one_way(from, to), [this, id, to, msgs = std::move(msgs)]() mutable {
      for (auto& m : msgs) deliver(to, id, std::move(m));
    });
  }

  void deliver(std::size_t me, std::uint64_t id, wire::message msg) {
    link& l = lk(id);
    if (l.closed || !nodes_[me].alive || l.hung_up[l.side(me)]) return;
    node& n = nodes_[me];
    const time_point now = w_.now();
    const peer_handle p = handle(id);
    fetch* f = nullptr;
    std::vector<wire::message> out;
    // As the daemon's useful(): a message about the content makes the peer a member of its swarm
    // here (and of our fetch), whatever the answer.
    if (std::holds_alternative<wire::get_manifest>(msg) ||
        std::holds_alternative<wire::get_hashes>(msg) ||
        std::holds_alternative<wire::request>(msg) || std::holds_alternative<wire::peers>(msg) ||
        std::holds_alternative<wire::bitfield>(msg) || std::holds_alternative<wire::have>(msg))
      note_interest(me, id);
    f = n.f && !n.finished && l.attached[l.side(me)] ? n.f.get() : nullptr;
    if (auto* g = std::get_if<wire::get_manifest>(&msg)) {
      if (!n.opened) {
        out.push_back(wire::reject{wire::request_kind::manifest,
                                   {g->content, piece_index(g->offset), 0},
                                   wire::reason::not_found,
                                   "no such content"});
      } else {
        const std::uint64_t off = std::min<std::uint64_t>(g->offset, manifest_bytes_.size());
        const std::size_t len =
            std::min<std::size_t>(wire::max_manifest_chunk, manifest_bytes_.size() - off);
        wire::manifest_part part{id_, manifest_bytes_.size(), off, {}};
        part.data.assign(manifest_bytes_.begin() + static_cast<std::ptrdiff_t>(off),
                         manifest_bytes_.begin() + static_cast<std::ptrdiff_t>(off + len));
        out.push_back(std::move(part));
        if (off + len == manifest_bytes_.size())
          out.push_back(wire::bitfield{id_, n.have.size(), n.have.bytes()});
      }
    } else if (auto* gh = std::get_if<wire::get_hashes>(&msg); gh && n.opened) {
      wire::hashes h{id_, gh->first, {}};
      h.pieces.assign(
          piece_hashes_.begin() + static_cast<std::ptrdiff_t>(gh->first.value),
          piece_hashes_.begin() + static_cast<std::ptrdiff_t>(gh->first.value + gh->count));
      out.push_back(std::move(h));
    } else if (auto* r = std::get_if<wire::request>(&msg)) {
      const block_answer a = answer_block(n.sw, p, r->ref, n.opened ? &*layout_ : nullptr,
                                          n.opened ? &n.have : nullptr);
      if (const auto* no = std::get_if<block_answers::refuse>(&a)) {
        if (no->reject.code == wire::reason::elsewhere) ++report_.elsewhere;
        out.push_back(no->reject);
      } else if (const auto* bad = std::get_if<block_answers::violation>(&a)) {
        report_.violations.push_back("node " + std::to_string(me) +
                                     " was asked wrongly: " + bad->text);
      } else {
        queue_block(me, id, r->ref);
      }
    } else if (auto* c = std::get_if<wire::cancel>(&msg)) {
      auto& q = l.a == me ? l.queued_at_a : l.queued_at_b;
      if (auto pos = std::find(q.begin(), q.end(), c->ref); pos != q.end()) q.erase(pos);
    } else if (auto* b = std::get_if<wire::bitfield>(&msg)) {
      n.sw.handle_bitfield(p, *b, layout_->piece_count());
      if (f) f->handle_bitfield(now, p, *b);
      if (me == 0) note_first_copy();
    } else if (auto* h = std::get_if<wire::have>(&msg)) {
      n.sw.handle_have(p, *h, layout_->piece_count());
      if (f) f->handle_have(now, p, *h);
      if (me == 0) note_first_copy();
    } else if (auto* ps = std::get_if<wire::peers>(&msg)) {
      learn_peers(me, *ps);
    } else if (auto* mp = std::get_if<wire::manifest_part>(&msg)) {
      if (f) f->handle_manifest_part(now, p, *mp);
    } else if (auto* hs = std::get_if<wire::hashes>(&msg)) {
      if (f) f->handle_hashes(now, p, *hs);
    } else if (auto* rj = std::get_if<wire::reject>(&msg)) {
      if (f) f->handle_reject(now, p, *rj);
    } else if (auto* bl = std::get_if<wire::block>(&msg)) {
      w_.trace("block", me, (bl->ref.piece.value << 8) | bl->ref.block);
      if (f) {
        const bool liar = nodes_[other(l, me)].liar;
        const std::uint64_t before = liar ? f->bytes_from(p) : 0;
        f->handle_block(now, p, *bl);
        if (liar && f->bytes_from(p) > before)
          report_.violations.push_back("node " + std::to_string(me) +
                                       " accepted a forged block from a liar");
      }
    }
    if (!out.empty()) send(me, id, std::move(out));
    pump(me);
  }

  // The first time the origin hears that every piece is held by some node: what it had sent by
  // then is the first copy's cost.
  void note_first_copy() {
    if (report_.first_copy_seconds > 0 || nodes_[0].sw.only_here(id_) != 0) return;
    report_.first_copy_seconds = seconds(w_.now() - time_point{});
    report_.first_copy_copies =
        static_cast<double>(report_.origin_bytes) / static_cast<double>(p_.size);
  }

  // A message about the content arrived: the peer takes part in its swarm (core/swarm).
  void note_interest(std::size_t me, std::uint64_t id) {
    node& n = nodes_[me];
    link& l = lk(id);
    if (l.interest[l.side(me)] || (!n.opened && (!n.f || n.finished))) return;
    // As the daemon does: a fetching node whose swarm is full hangs up on a peer that dialed it
    // (goodbye(overloaded); core/swarm.hpp, max_fetch_members).
    if (l.b == me && n.f && !n.finished && n.sw.full(id_)) {
      ++report_.refused_full;
      nodes_[l.a].full_peers.insert(me);  // told so: it does not dial this node again
      return hang_up(me, id);
    }
    l.interest[l.side(me)] = true;
    if (n.f && !n.finished) attach(me, id);
    if (!n.sw.handle_interest(handle(id), id_, true)) return;
    while (auto t = n.sw.poll_tell()) send(me, t->to.value, {std::move(t->msg)});
  }

  void learn_peers(std::size_t me, const wire::peers& msg) {
    node& n = nodes_[me];
    if (!n.f || n.finished) return;
    for (const auto& e : msg.entries) {
      if (n.links.size() >= p_.max_connections) break;
      auto it = index_.find(e.node);
      if (it != index_.end() && !n.cut_off.contains(it->second) &&
          !n.full_peers.contains(it->second))
        dial(me, it->second);
    }
  }

  // --- the upload and download ----------------------------------------------------------------

  void queue_block(std::size_t me, std::uint64_t id, const wire::block_ref& ref) {
    link& l = lk(id);
    auto& q = l.a == me ? l.queued_at_a : l.queued_at_b;
    q.push_back(ref);
    if (q.size() == 1) nodes_[me].ready.push_back(id);
    upload(me);
  }

  // The upload sends one block at a time, from the connections with requests queued, in turn.
  void upload(std::size_t me) {
    node& n = nodes_[me];
    while (!n.sending && n.alive && !n.ready.empty()) {
      const std::uint64_t id = n.ready.front();
      n.ready.pop_front();
      link& l = lk(id);
      if (l.closed) continue;
      auto& q = l.a == me ? l.queued_at_a : l.queued_at_b;
      if (q.empty()) continue;
      const wire::block_ref ref = q.front();
      q.pop_front();
      if (!q.empty()) n.ready.push_back(id);
      const std::uint64_t bytes = layout_->locate(ref.piece).length;  // piece length
      const std::uint64_t len = std::min<std::uint64_t>(
          merkle::block_size, bytes - std::uint64_t{ref.block} * merkle::block_size);
      n.sending = true;
      report_.block_bytes += len;
      if (me == 0) report_.origin_bytes += len;
      const auto took = std::chrono::duration_cast<duration>(
          std::chrono::duration<double>(static_cast<double>(len) / n.up));
      w_.after(took, [this, me, id, ref, len] {
        nodes_[me].sending = false;
        in_flight(me, id, ref, len);
        upload(me);
      });
    }
  }

  // The block crossed `me`'s upload: it arrives one latency later and queues for the receiver's
  // download (computed now, in the order blocks leave their senders: one event per block).
  void in_flight(std::size_t me, std::uint64_t id, const wire::block_ref& ref, std::uint64_t len) {
    link& l = lk(id);
    if (l.closed || !nodes_[me].alive) return;
    const std::size_t to = other(l, me);
    node& r = nodes_[to];
    const auto took = std::chrono::duration_cast<duration>(
        std::chrono::duration<double>(static_cast<double>(len) / r.down));
    r.down_free = std::max(r.down_free, w_.now() + one_way(me, to)) + took;
    const bool forged = nodes_[me].liar;
    w_.at(r.down_free, [this, id, to, ref, forged] {
      wire::block b;
      b.ref = ref;
      b.proof[0] = synthetic_tag(piece_hashes_[ref.piece.value], ref.block);
      if (forged) b.proof[0].bytes[1] ^= 1;
      deliver(to, id, std::move(b));
    });
  }

  // --- the fetches ----------------------------------------------------------------------------

  void begin(std::size_t i) {
    node& n = nodes_[i];
    if (!n.alive) return;
    n.f = std::make_unique<fetch>(id_, p_.fetch, w_.next());
    dial(i, 0);
    tick(i);
  }

  void tick(std::size_t i) {
    node& n = nodes_[i];
    if (!n.alive || n.finished) return;
    n.f->handle_tick(w_.now());
    pump(i);
    w_.after(tick_every, [this, i] { tick(i); });
  }

  void pump(std::size_t me) {
    node& n = nodes_[me];
    if (!n.f || !n.alive) return;
    std::map<std::uint64_t, std::vector<wire::message>> out;
    while (auto a = n.f->poll_action()) {
      const time_point now = w_.now();
      if (auto* s = std::get_if<fetch_actions::send>(&*a)) {
        out[s->peer.value].push_back(std::move(s->msg));
      } else if (auto* d = std::get_if<fetch_actions::disconnect>(&*a)) {
        n.attached.erase(d->peer.value);
        lk(d->peer.value).attached[lk(d->peer.value).side(me)] = false;
        const std::size_t them = other(lk(d->peer.value), me);
        if (d->code == wire::reason::bad_block) n.cut_off.insert(them);  // as the daemon's job
        if (nodes_[them].liar && d->code == wire::reason::bad_block)
          ++report_.liars_cut_off;
        else
          report_.violations.push_back("node " + std::to_string(me) + " cut off honest node " +
                                       std::to_string(them) + ": " + d->text);
        hang_up(me, d->peer.value);
      } else if (std::holds_alternative<fetch_actions::open_content>(*a)) {
        n.opened = true;
        n.have = piece_set(layout_->piece_count());
        for (std::uint64_t id : n.attached) announce_to(me, id);
        n.f->handle_opened(now, n.have);
      } else if (auto* wp = std::get_if<fetch_actions::write_piece>(&*a)) {
        n.f->handle_piece_written(now, wp->piece, {});
      } else if (auto* st = std::get_if<fetch_actions::piece_stored>(&*a)) {
        n.have.insert(st->piece);
        for (peer_handle q : n.sw.members(id_)) out[q.value].push_back(wire::have{id_, st->piece});
      } else if (std::holds_alternative<fetch_actions::finished>(*a)) {
        n.finished = true;
        n.done_at = now;
        n.attached.clear();
        if (!n.liar) --remaining_;
        w_.trace("done", me, 0);
      } else if (auto* fl = std::get_if<fetch_actions::failed>(&*a)) {
        report_.violations.push_back("node " + std::to_string(me) + " failed: " + fl->why.message);
      }
    }
    for (auto& [id, msgs] : out) send(me, id, std::move(msgs));
  }

  // Killed (its peers see each connection reset one latency later) or powered off (they hear
  // nothing, and close the connection when their session's idle timeout passes).
  void crash(std::size_t i, bool powered_off) {
    node& n = nodes_[i];
    if (!n.alive) return;
    n.alive = false;
    ++report_.crashed;
    if (!n.finished && !n.liar) --remaining_;
    w_.trace(powered_off ? "power off" : "kill", i, 0);
    const std::set<std::uint64_t> links = n.links;
    for (std::uint64_t id : links) {
      const duration noticed =
          powered_off ? session_config{}.idle_timeout : one_way(lk(id).a, lk(id).b);
      w_.after(noticed, [this, id] { close_link(id); });
    }
    n.links.clear();
    n.f.reset();
  }

  // Its link degrades: a tenth of its upload and download from now on.
  void slow_down(std::size_t i) {
    node& n = nodes_[i];
    if (!n.alive) return;
    n.up /= 10;
    n.down /= 10;
    ++report_.slowed;
    w_.trace("slow", i, 0);
  }

  void progress() {
    swarm_progress g;
    g.seconds = seconds(w_.now() - time_point{});
    std::uint64_t held = 0, needed = 0, queued = 0, live = 0, busy = 0;
    std::optional<std::size_t> slowest;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      const node& n = nodes_[i];
      if (!n.alive) continue;
      std::uint64_t q = 0;
      for (std::uint64_t id : n.links) {
        const link& l = lk(id);
        q += (l.a == i ? l.queued_at_a : l.queued_at_b).size();
      }
      if (i == 0) {
        g.origin_queued = q;
        continue;
      }
      ++live;
      queued += q;
      busy += n.sending ? 1 : 0;
      if (n.finished) ++g.finished;
      if (n.liar) continue;
      if (!n.finished && n.f && (!slowest || n.have.count() < nodes_[*slowest].have.count()))
        slowest = i;
      held += n.have.count();
      needed += layout_->piece_count();
    }
    g.held = needed > 0 ? static_cast<double>(held) / static_cast<double>(needed) : 0;
    g.uploading = live > 0 ? static_cast<double>(busy) / static_cast<double>(live) : 0;
    g.queued_per_node = live > 0 ? static_cast<double>(queued) / static_cast<double>(live) : 0;
    g.origin_copies = static_cast<double>(report_.origin_bytes) / static_cast<double>(p_.size);
    g.events = w_.events_run();
    if (remaining_ <= stragglers_shown) g.stragglers = describe_stragglers();
    if (slowest)
      g.slowest =
          "node " + std::to_string(*slowest) + ": " + nodes_[*slowest].f->describe(w_.now(), false);
    p_.on_progress(g);
    if (remaining_ > 0) w_.after(p_.progress_every, [this] { progress(); });
  }

  // Why the last nodes wait: each one's fetch, and per connection the peer's side of it (does it
  // hold the content, how many requests from us wait at its upload, which pieces it counts as
  // being sent, against swarm::max_pieces_sending).
  std::string describe_stragglers() const {
    std::string s;
    for (std::size_t i = 1; i < nodes_.size(); ++i) {
      const node& n = nodes_[i];
      if (!n.alive || n.liar || n.finished || !n.f) continue;
      s += "node " + std::to_string(i) + ": " + n.f->describe(w_.now());
      for (std::uint64_t id : n.links) {
        const link& l = links_[id - 1];
        const std::size_t j = other(l, i);
        const node& m = nodes_[j];
        s += "  link " + std::to_string(id) + " to node " + std::to_string(j) +
             (l.open ? "" : " (opening)") + (m.finished ? " (finished)" : "") +
             (l.attached[l.side(i)] ? "" : " (not in our fetch)") + ": " +
             std::to_string((l.a == j ? l.queued_at_a : l.queued_at_b).size()) +
             " of our requests queued there";
        if (m.have.size() && m.have.complete()) {
          const auto sending = m.sw.sending(id_);
          s += "; it sends " + std::to_string(sending.size()) + " pieces:";
          for (const auto& [piece, to] : sending) {
            const std::size_t k = other(links_[to.value - 1], j);
            s += " " + std::to_string(piece.value) + "->" + std::to_string(k) +
                 (nodes_[k].have.size() && nodes_[k].have.contains(piece) ? "(held)" : "");
          }
          s += m.sw.announced(handle(id), id_) ? "" : "; we have not announced to it";
        }
        s += "\n";
      }
    }
    return s;
  }

  // --- the end --------------------------------------------------------------------------------

  void check(time_point start) {
    report_.bound_seconds = bound_seconds(true);
    for (std::size_t i = 1; i < nodes_.size(); ++i) {
      const node& n = nodes_[i];
      if (!n.alive || n.liar) continue;  // a liar need not finish: its peers cut it off
      ++report_.survivors;
      if (!n.done_at || !n.have.complete()) {
        report_.violations.push_back("node " + std::to_string(i) + " holds " +
                                     std::to_string(n.have.count()) + " of " +
                                     std::to_string(layout_->piece_count()) + " pieces at the end");
        continue;
      }
      ++report_.finished;
      const double s = seconds(*n.done_at - start);
      report_.finish_seconds.push_back(s);
      if (s > report_.last_seconds) report_.last_node = i;
      report_.last_seconds = std::max(report_.last_seconds, s);
      report_.duplicate_blocks += n.f ? n.f->duplicate_blocks() : 0;
    }
    double up_sum = 0;
    for (const node& n : nodes_)
      if (n.alive) up_sum += n.up;
    if (report_.last_seconds > 0) {
      report_.origin_use =
          static_cast<double>(report_.origin_bytes) / (nodes_[0].up * report_.last_seconds);
      report_.upload_use =
          static_cast<double>(report_.block_bytes) / (up_sum * report_.last_seconds);
    }
  }

  swarm_params p_;
  world w_;
  swarm_report report_;
  std::vector<std::uint8_t> manifest_bytes_;
  content_id id_;
  std::optional<content_layout> layout_;
  std::vector<hash256> piece_hashes_;
  std::vector<node> nodes_;
  std::map<node_id, std::size_t> index_;
  std::deque<link> links_;  // connection i + 1 (its peer handle on both sides) is links_[i]
  std::map<std::pair<std::size_t, std::size_t>, std::uint64_t> pairs_;
  std::size_t remaining_ = 0;  // honest nodes neither finished nor crashed
};

}  // namespace

swarm_report run_swarm(const swarm_params& p) {
  return swarm_sim(p).run();
}

}  // namespace shoal::sim
