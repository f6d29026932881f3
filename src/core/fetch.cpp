#include "core/fetch.hpp"

#include <algorithm>
#include <bit>
#include <limits>

#include "core/merkle.hpp"
#include "core/path_rules.hpp"
#include "core/random.hpp"

namespace shoal {
namespace {

// Haves kept per peer while our layout or its bitfield is not known yet (the store is opening,
// or the piece layer is still coming): a peer fetching too announces pieces meanwhile.
constexpr std::size_t max_early_haves = 65536;

}  // namespace

hash256 synthetic_tag(const hash256& piece_hash, unsigned block) {
  hash256 tag = piece_hash;
  tag.bytes[0] ^= static_cast<std::uint8_t>(block + 1);
  return tag;
}

fetch::fetch(content_id id, fetch_config cfg, std::uint64_t seed) : id_(id), cfg_(cfg), rng_(seed) {
  SHOAL_ASSERT(cfg_.max_requests_per_peer >= 1);
}

bool fetch::is_deferred(const peer_state& ps, piece_index piece) {
  return ps.deferred_pieces.size() != 0 && ps.deferred_pieces.contains(piece);
}

fetch::peer_state* fetch::peer(peer_handle p) {
  auto it = peer_index_.find(p);
  return it == peer_index_.end() ? nullptr : it->second;
}

const fetch::peer_state* fetch::peer(peer_handle p) const {
  auto it = peer_index_.find(p);
  return it == peer_index_.end() ? nullptr : it->second;
}

std::uint64_t fetch::bytes_from(peer_handle p) const {
  auto it = bytes_from_.find(p);
  return it == bytes_from_.end() ? 0 : it->second;
}

bool fetch::peer_complete(peer_handle p) const {
  const peer_state* ps = peer(p);
  return ps && ps->has && ps->has->complete();
}

std::uint64_t fetch::peer_pieces(peer_handle p) const {
  const peer_state* ps = peer(p);
  return ps && ps->has ? ps->has->count() : 0;
}

std::uint32_t fetch::peer_in_flight(peer_handle p) const {
  const peer_state* ps = peer(p);
  return ps ? ps->in_flight : 0;
}

std::uint32_t fetch::peer_capacity(peer_handle p) const {
  const peer_state* ps = peer(p);
  return ps ? ps->capacity : 0;
}

fetch_progress fetch::progress() const {
  fetch_progress r;
  if (layout_) {
    r.total_bytes = layout_->total_size();
    r.pieces = layout_->piece_count();
  }
  r.stored_bytes = stored_bytes_;
  r.received_bytes = received_bytes_;
  r.pieces_stored = have_.count();
  r.peers = peers_.size();
  return r;
}

std::optional<fetch_action> fetch::poll_action() {
  if (actions_.empty()) return std::nullopt;
  fetch_action a = std::move(actions_.front());
  actions_.pop_front();
  return a;
}

void fetch::fail_with(error e) {
  if (phase_ == phase::done || phase_ == phase::failed) return;
  phase_ = phase::failed;
  actions_.push_back(fetch_actions::failed{std::move(e)});
}

// --- peers ------------------------------------------------------------------------------------

void fetch::handle_peer_added(time_point now, peer_handle p, std::uint16_t peer_max_requests) {
  if (phase_ == phase::done || phase_ == phase::failed || peer(p)) return;
  peer_state& ps = peers_[p];
  peer_index_[p] = &ps;
  ps.limit = std::max<std::uint32_t>(
      1, std::min<std::uint32_t>(cfg_.max_requests_per_peer, peer_max_requests));
  ps.capacity = std::min(ps.limit, cfg_.initial_requests_per_peer);
  ps.window_start = now;
  if (manifest_) probe(now, p, ps);
  schedule(now);
}

void fetch::handle_peer_limit(time_point now, peer_handle p, std::uint16_t peer_max_requests) {
  peer_state* ps = peer(p);
  if (!ps) return;
  ps->limit = std::max<std::uint32_t>(
      1, std::min<std::uint32_t>(cfg_.max_requests_per_peer, peer_max_requests));
  ps->capacity = std::min(ps->capacity, ps->limit);
  schedule(now);
}

void fetch::handle_peer_removed(time_point now, peer_handle p) {
  if (!peer(p)) return;
  release_requests(p);
  if (layout_ && peer(p)->has) {
    const piece_set& has = *peer(p)->has;
    for (std::uint64_t i = 0; i < has.size(); ++i)
      if (has.contains(piece_index(i))) count_holder(*peer(p), i, -1);
  }
  peers_.erase(p);
  peer_index_.erase(p);
  // Pieces it held may now be held by one peer only, which a rare_only peer is asked for.
  for (auto& [q, qs] : peers_) qs.stuck = false;
  if (metadata_peer_ == p) {
    metadata_peer_.reset();
    if (phase_ == phase::manifest) start_manifest(now);
    if (phase_ == phase::hashes) start_hashes(now);
  }
  schedule(now);
}

void fetch::cut_off(time_point now, peer_handle p, wire::reason code, std::string text) {
  actions_.push_back(fetch_actions::disconnect{p, code, std::move(text)});
  handle_peer_removed(now, p);
}

// Takes p's request for one block back; the endgame's other request, if any, becomes the only
// one. False if p had not asked for it.
bool fetch::withdraw(piece_index piece, piece_progress& pp, std::size_t b, peer_handle p) {
  if (pp.blocks[b] != block_state::requested) return false;
  if (pp.also_from[b] == p) {
    pp.also_from[b] = no_peer;
  } else if (pp.requested_from[b] == p) {
    pp.requested_from[b] = pp.also_from[b];
    pp.also_from[b] = no_peer;
    if (pp.requested_from[b] == no_peer) {
      pp.blocks[b] = block_state::missing;
      if (pp.unasked++ == 0) open_.insert(piece);
    }
  } else {
    return false;
  }
  if (pp.probe == p) pp.probe.reset();
  return true;
}

void fetch::unstick(piece_index piece) {
  for (auto& [q, qs] : peers_)
    if (qs.stuck && qs.has && qs.has->contains(piece)) {
      qs.stuck = false;
      unstuck_ = true;
    }
}

// Not stored nor being written: missing, or in progress (where a block may be unasked, or asked
// once and askable again in the endgame).
bool fetch::askable(piece_index piece) const {
  return !have_.contains(piece) && !writing_.contains(piece);
}

void fetch::release_requests(peer_handle p) {
  for (auto& [piece, pp] : in_progress_) {
    bool released = false;
    if (pp.probe == p) {
      pp.probe.reset();
      released = true;
    }
    for (std::size_t b = 0; b < pp.blocks.size(); ++b) released |= withdraw(piece, pp, b, p);
    if (released) unstick(piece);
  }
  if (auto* ps = peer(p)) ps->in_flight = 0;
}

void fetch::drop_request(peer_handle p) {
  if (auto* ps = peer(p); ps && ps->in_flight > 0) --ps->in_flight;
}

// One peer's request for the block is gone (rejected or timed out); the other's, if any, stays.
void fetch::release_block(peer_handle p, piece_index piece, std::uint8_t block) {
  auto it = in_progress_.find(piece);
  if (it == in_progress_.end() || block >= it->second.blocks.size()) return;
  if (withdraw(piece, it->second, block, p)) {
    drop_request(p);
    unstick(piece);
  }
}

void fetch::check_all_lack(time_point) {
  if (peers_.empty()) return;
  for (const auto& [p, ps] : peers_)
    if (!ps.lacks_content) return;
  fail_with({errc::not_found, "no connected peer holds " + id_.str()});
}

void fetch::handle_reject(time_point now, peer_handle p, const wire::reject& r) {
  peer_state* ps = peer(p);
  if (!ps) return;
  if (r.code == wire::reason::not_found) {
    ps->lacks_content = true;
    release_requests(p);
    if (metadata_peer_ == p) {
      metadata_peer_.reset();
      if (phase_ == phase::manifest) start_manifest(now);
      if (phase_ == phase::hashes) start_hashes(now);
    }
    check_all_lack(now);
    schedule(now);
    return;
  }
  switch (r.kind) {
    case wire::request_kind::block:
      release_block(p, r.ref.piece, r.ref.block);
      if (r.code == wire::reason::elsewhere) {
        // It holds the piece but wants it taken from a peer it already sent it to: ask those
        // peers, and this one again only if they do not have it by then.
        if (layout_ && r.ref.piece.value < layout_->piece_count()) {
          // Every other connected holder of the piece has refused it too: they are all sending
          // their pieces at a time, and it is asked again soon. (No other holder at all: the
          // refuser sent it to a peer we may not know, and waits for it to be passed on.)
          bool held = false, askable = false;
          for (const auto& [q, qs] : peers_) {
            if (q == p || !qs.has || qs.lacks_content || !qs.has->contains(r.ref.piece)) continue;
            held = true;
            askable = askable || !is_deferred(qs, r.ref.piece);
          }
          const bool busy = held && !askable;
          const time_point until = now + (busy ? cfg_.busy_backoff : cfg_.elsewhere_backoff);
          ps->deferred[r.ref.piece.value] = until;
          if (ps->deferred.size() == 1 || until < ps->deferred_next) ps->deferred_next = until;
          if (ps->deferred_pieces.size() == 0)
            ps->deferred_pieces = piece_set(layout_->piece_count());
          ps->deferred_pieces.insert(r.ref.piece);
        }
        if (!ps->refuses_copies && ps->has && layout_) {  // no longer where copies come from
          for (std::uint64_t i = 0; i < ps->has->size(); ++i)
            if (ps->has->contains(piece_index(i))) --willing_[i];
          for (auto& [q, qs] : peers_) qs.stuck = false;  // rare-only peers may have work now
        }
        ps->refuses_copies = true;
        ps->rare_only_until = now + cfg_.elsewhere_backoff;
      } else if (ps->has && r.ref.piece.value < ps->has->size() && ps->has->erase(r.ref.piece)) {
        // It does not hold the piece after all (or is overloaded): do not ask it again for it.
        count_holder(*ps, r.ref.piece.value, -1);
        last_refusal_ = "the last peer that held it said: " + r.text;
      }
      break;
    case wire::request_kind::manifest:
    case wire::request_kind::hashes:
      if (metadata_peer_ == p) {
        // A peer that will not give metadata it claims is of no use for the metadata.
        ps->lacks_content = true;
        metadata_peer_.reset();
        if (phase_ == phase::manifest) start_manifest(now);
        if (phase_ == phase::hashes) start_hashes(now);
        check_all_lack(now);
      }
      break;
  }
  schedule(now);
}

void fetch::handle_timed_out(time_point now, peer_handle p, wire::request_kind kind,
                             const wire::block_ref& ref) {
  peer_state* ps = peer(p);
  if (!ps) return;
  if (kind == wire::request_kind::block) {
    release_block(p, ref.piece, ref.block);
    if (++ps->timeouts_in_a_row >= cfg_.stall_timeouts)
      cut_off(now, p, wire::reason::timeout,
              "it sent none of the last " + std::to_string(ps->timeouts_in_a_row) +
                  " blocks asked of it within the request timeout");
  } else if (metadata_peer_ == p) {
    cut_off(now, p, wire::reason::timeout, "no answer to a metadata request");
  }
  schedule(now);
}

// --- manifest and piece layer -------------------------------------------------------------------

void fetch::start_manifest(time_point now) {
  if (metadata_peer_) return;
  manifest_bytes_.clear();
  manifest_total_ = 0;
  for (auto& [p, ps] : peers_) {
    if (ps.lacks_content) continue;
    metadata_peer_ = p;
    actions_.push_back(fetch_actions::send{p, wire::get_manifest{id_, 0}});
    return;
  }
  (void)now;
}

void fetch::handle_manifest_part(time_point now, peer_handle p, const wire::manifest_part& m) {
  peer_state* ps = peer(p);
  if (!ps) return;
  if (phase_ != phase::manifest || metadata_peer_ != p) return;  // a probe's answer: no use
  if (m.offset != manifest_bytes_.size() ||
      (manifest_total_ != 0 && m.total_size != manifest_total_) ||
      m.total_size > manifest_bytes_max)
    return cut_off(now, p, wire::reason::protocol_violation,
                   "manifest part at offset " + std::to_string(m.offset) + " of " +
                       std::to_string(m.total_size) + " bytes does not continue the " +
                       std::to_string(manifest_bytes_.size()) + " bytes received");
  manifest_total_ = m.total_size;
  if (m.offset == 0 && !m.name.empty() && path_rules::check_component(m.name))
    offered_name_ = m.name;
  manifest_bytes_.insert(manifest_bytes_.end(), m.data.begin(), m.data.end());
  if (manifest_bytes_.size() < manifest_total_) {
    actions_.push_back(fetch_actions::send{p, wire::get_manifest{id_, manifest_bytes_.size()}});
    return;
  }
  if (content_id::of_manifest(manifest_bytes_) != id_)
    return cut_off(now, p, wire::reason::protocol_violation,
                   "the manifest it sent does not hash to " + id_.str());
  auto decoded = decode_manifest(manifest_bytes_);
  if (!decoded)  // cannot happen for an honest peer: the ID was made from valid bytes
    return fail_with({errc::invalid_manifest,
                      "the manifest of " + id_.str() +
                          " hashes right but does not decode: " + decoded.err().message});
  // The size is checked before anything is sized by it (the piece hashes alone are 32 bytes a
  // piece, the fetch's own bookkeeping about 80 more).
  const content_layout layout(*decoded);
  if (layout.total_size() > cfg_.content_bytes_max)
    return fail_with({errc::limit_exceeded,
                      "content " + id_.str() + " declares " + std::to_string(layout.total_size()) +
                          " bytes, more than this node fetches (" +
                          std::to_string(cfg_.content_bytes_max) + " bytes)"});
  manifest_ = std::move(*decoded);
  layout_.emplace(layout);
  ps->probed = true;  // the peer sends its bitfield after the last manifest part
  for (auto& [q, qs] : peers_)
    if (q != p) probe(now, q, qs);
  phase_ = phase::hashes;
  piece_hashes_.assign(layout_->piece_count(), hash256{});
  hashes_received_ = 0;
  if (layout_->piece_count() == 0) return on_layout_known(now);
  request_next_hashes(now);
}

void fetch::start_hashes(time_point now) {
  if (metadata_peer_) return;
  hashes_received_ = 0;
  for (auto& [p, ps] : peers_) {
    if (ps.lacks_content) continue;
    metadata_peer_ = p;
    return request_next_hashes(now);
  }
}

void fetch::request_next_hashes(time_point) {
  SHOAL_ASSERT(metadata_peer_ && layout_);
  const std::uint64_t left = layout_->piece_count() - hashes_received_;
  const auto count =
      static_cast<std::uint32_t>(std::min<std::uint64_t>(left, wire::max_hashes_per_message));
  actions_.push_back(fetch_actions::send{
      *metadata_peer_, wire::get_hashes{id_, piece_index(hashes_received_), count}});
}

void fetch::handle_hashes(time_point now, peer_handle p, const wire::hashes& h) {
  if (!peer(p) || phase_ != phase::hashes || metadata_peer_ != p) return;
  const std::uint64_t expected = std::min<std::uint64_t>(layout_->piece_count() - hashes_received_,
                                                         wire::max_hashes_per_message);
  if (h.first.value != hashes_received_ || h.pieces.size() != expected)
    return cut_off(now, p, wire::reason::protocol_violation,
                   "sent " + std::to_string(h.pieces.size()) + " piece hashes from " +
                       std::to_string(h.first.value) + "; asked for " + std::to_string(expected) +
                       " from " + std::to_string(hashes_received_));
  std::copy(h.pieces.begin(), h.pieces.end(), piece_hashes_.begin() + hashes_received_);
  hashes_received_ += h.pieces.size();
  if (hashes_received_ < layout_->piece_count()) return request_next_hashes(now);
  for (const file_layout& f : layout_->files()) {
    const std::span<const hash256> pieces(piece_hashes_.data() + f.first_piece, f.piece_count);
    const manifest_entry& e = manifest_->entries[f.entry];
    if (merkle::root_from_pieces(hasher_, pieces, f.size) != e.root) {
      hashes_received_ = 0;
      return cut_off(now, p, wire::reason::protocol_violation,
                     "its piece hashes for \"" + e.path + "\" do not match the file's root");
    }
  }
  on_layout_known(now);
}

void fetch::on_layout_known(time_point) {
  metadata_peer_.reset();
  phase_ = phase::opening;
  actions_.push_back(fetch_actions::open_content{*manifest_, piece_hashes_});
}

void fetch::handle_known(time_point now, manifest m, std::vector<hash256> piece_hashes,
                         const piece_set& have) {
  SHOAL_ASSERT(phase_ == phase::manifest);
  piece_hashes_ = std::move(piece_hashes);
  manifest_total_ = encode(m).size();
  manifest_ = std::move(m);
  layout_.emplace(*manifest_);
  SHOAL_ASSERT(piece_hashes_.size() == layout_->piece_count());
  metadata_peer_.reset();
  for (auto& [p, ps] : peers_) probe(now, p, ps);
  handle_opened(now, have);
}

void fetch::probe(time_point now, peer_handle p, peer_state& ps) {
  // Asking for the manifest's last byte is how a node says "I want this content": the holder
  // answers with that byte and then its bitfield (docs/protocol/wire.md).
  if (ps.probed || ps.lacks_content || manifest_total_ == 0) return;
  ps.probed = true;
  actions_.push_back(fetch_actions::send{p, wire::get_manifest{id_, manifest_total_ - 1}});
  if (ps.early_bitfield) {
    const wire::bitfield b = std::move(*ps.early_bitfield);
    ps.early_bitfield.reset();
    apply_bitfield(now, p, ps, b);
  }
}

// --- blocks ------------------------------------------------------------------------------------

void fetch::handle_opened(time_point now, const piece_set& have) {
  SHOAL_ASSERT(layout_ && have.size() == layout_->piece_count());
  phase_ = phase::blocks;
  last_block_at_ = now;
  have_ = have;
  stored_bytes_ = 0;
  availability_.assign(layout_->piece_count(), 0);
  willing_.assign(layout_->piece_count(), 0);
  missing_.clear();
  missing_pos_.assign(layout_->piece_count(), npos);
  missing_set_ = piece_set(layout_->piece_count());
  open_ = piece_set(layout_->piece_count());
  for (std::uint64_t i = 0; i < layout_->piece_count(); ++i) {
    if (have_.contains(piece_index(i))) {
      stored_bytes_ += piece_length(piece_index(i));
    } else {
      missing_pos_[i] = missing_.size();
      missing_.push_back(i);
      missing_set_.insert(piece_index(i));
    }
  }
  for (auto& [p, ps] : peers_) {
    if (ps.has) {  // arrived while the store was opening
      const piece_set has = std::move(*ps.has);
      ps.has.reset();
      apply_bitfield(now, p, ps, wire::bitfield{id_, has.size(), has.bytes()});
    } else if (ps.early_bitfield) {
      const wire::bitfield b = std::move(*ps.early_bitfield);
      ps.early_bitfield.reset();
      apply_bitfield(now, p, ps, b);
    }
  }
  if (have_.complete()) {
    phase_ = phase::done;
    actions_.push_back(fetch_actions::finished{});
    return;
  }
  schedule(now);
}

void fetch::handle_bitfield(time_point now, peer_handle p, const wire::bitfield& b) {
  peer_state* ps = peer(p);
  if (!ps || b.content != id_) return;
  // A peer that said not_found may have been fetching the content's metadata itself; its
  // bitfield says it holds (or is fetching) the content now.
  ps->lacks_content = false;
  ps->early_haves.clear();  // the bitfield includes what they announced
  if (phase_ != phase::blocks) {
    ps->early_bitfield = b;
    return;
  }
  apply_bitfield(now, p, *ps, b);
  schedule(now);
}

void fetch::apply_bitfield(time_point now, peer_handle p, peer_state& ps, const wire::bitfield& b) {
  if (phase_ != phase::blocks) {
    ps.early_bitfield = b;
    return;
  }
  auto set = piece_set::from_bytes(b.piece_count, b.bits);
  if (!set || b.piece_count != layout_->piece_count())
    return cut_off(now, p, wire::reason::protocol_violation,
                   "its bitfield has " + std::to_string(b.piece_count) +
                       " pieces; the content has " + std::to_string(layout_->piece_count()));
  if (ps.has)
    for (std::uint64_t i = 0; i < ps.has->size(); ++i)
      if (ps.has->contains(piece_index(i))) count_holder(ps, i, -1);
  ps.has = std::move(*set);
  ps.stuck = false;
  for (const piece_index h : ps.early_haves)
    if (h.value < ps.has->size()) ps.has->insert(h);
  ps.early_haves.clear();
  for (std::uint64_t i = 0; i < ps.has->size(); ++i)
    if (ps.has->contains(piece_index(i))) count_holder(ps, i, +1);
}

void fetch::count_holder(const peer_state& ps, std::uint64_t piece, int delta) {
  availability_[piece] += static_cast<std::uint32_t>(delta);
  if (!ps.refuses_copies) willing_[piece] += static_cast<std::uint32_t>(delta);
}

void fetch::handle_have(time_point now, peer_handle p, const wire::have& h) {
  peer_state* ps = peer(p);
  if (!ps || h.content != id_) return;
  if (phase_ != phase::blocks || !ps->has) {
    if (ps->early_haves.size() < max_early_haves) ps->early_haves.push_back(h.piece);
    return;
  }
  if (h.piece.value >= ps->has->size())
    return cut_off(now, p, wire::reason::protocol_violation,
                   "announced piece " + std::to_string(h.piece.value) + " of a content with " +
                       std::to_string(ps->has->size()) + " pieces");
  if (ps->has->insert(h.piece)) {
    count_holder(*ps, h.piece.value, +1);
    if (askable(h.piece)) ps->stuck = false;
  }
  schedule_for(now, p);
}

void fetch::handle_block(time_point now, peer_handle p, const wire::block& b) {
  peer_state* ps = peer(p);
  if (!ps || b.ref.content != id_) return;
  auto it = in_progress_.find(b.ref.piece);
  if (it == in_progress_.end() || b.ref.block >= it->second.blocks.size() ||
      it->second.blocks[b.ref.block] != block_state::requested ||
      (it->second.requested_from[b.ref.block] != p && it->second.also_from[b.ref.block] != p)) {
    // Asked elsewhere meanwhile, or already had (the endgame's second copy): not this peer's
    // fault. It still frees a slot if the request was ours.
    if (it == in_progress_.end() || b.ref.block >= it->second.blocks.size() ||
        it->second.blocks[b.ref.block] == block_state::received)
      ++duplicate_blocks_;
    return schedule_for(now, p);
  }
  piece_progress& pp = it->second;
  // A peer that refuses copies sends this piece, which no peer that sends copies holds: its
  // first copy.
  const bool first_copy = ps->refuses_copies && willing_[b.ref.piece.value] == 0;
  if (pp.probe) {
    // The probed block came: the peer did not refuse, or (in the endgame) another peer sent it
    // first. Either way the other blocks may be asked now; waiting on the probe's peer, whose
    // request is cancelled below, would stall the piece for good.
    pp.probe.reset();
    unstick(b.ref.piece);
  }
  drop_request(p);
  ps->timeouts_in_a_row = 0;
  last_block_at_ = now;
  if (pp.requested_from[b.ref.block] == p)
    ps->min_latency = std::min(ps->min_latency, now - pp.requested_at[b.ref.block]);
  const std::uint64_t expected = block_length(b.ref.piece, b.ref.block);
  measure(now, *ps, expected);
  const hash256& piece_hash = piece_hashes_[b.ref.piece.value];
  const bool valid =
      cfg_.synthetic_blocks
          ? b.data.size() == 1 && b.proof[0] == synthetic_tag(piece_hash, b.ref.block)
          : b.data.size() == expected &&
                merkle::verify_in_piece(hasher_, piece_hash, b.ref.block, b.data, b.proof);
  if (!valid) {
    // Its requests, this block's included, go back to be asked elsewhere.
    return cut_off(now, p, wire::reason::bad_block,
                   "block " + std::to_string(b.ref.block) + " of piece " +
                       std::to_string(b.ref.piece.value) + " (" + std::to_string(b.data.size()) +
                       " bytes) failed verification against the piece hash");
  }
  // A piece holds memory from its first block on (the simulator's, with no bytes, is counted
  // the same way, so that it runs the same rule).
  if (pp.received == 0) buffered_bytes_ += piece_length(b.ref.piece);
  if (!cfg_.synthetic_blocks) {
    if (pp.data.empty()) pp.data.resize(piece_length(b.ref.piece));
    std::copy(b.data.begin(), b.data.end(),
              pp.data.begin() + static_cast<std::ptrdiff_t>(b.ref.block * merkle::block_size));
  }
  pp.blocks[b.ref.block] = block_state::received;
  // The endgame's other request for this block is no longer needed.
  const peer_handle other = pp.requested_from[b.ref.block] == p ? pp.also_from[b.ref.block]
                                                                : pp.requested_from[b.ref.block];
  if (other != no_peer) {
    drop_request(other);
    actions_.push_back(fetch_actions::send{other, wire::cancel{b.ref}});
  }
  pp.also_from[b.ref.block] = no_peer;
  if (first_copy) {
    // Its other blocks are asked of it at once, past the rate-sized pipeline (up to its bound):
    // an origin sends few first copies at a time (core/swarm.hpp), and each should complete
    // soon, so that it can be passed on.
    for (std::size_t i = 0; i < pp.blocks.size() && ps->in_flight < ps->limit; ++i)
      if (pp.blocks[i] == block_state::missing)
        ask(now, p, *ps, b.ref.piece, pp, static_cast<std::uint8_t>(i));
  }
  received_bytes_ += expected;
  bytes_from_[p] += expected;
  if (++pp.received == pp.blocks.size()) {
    const piece_index piece = b.ref.piece;
    actions_.push_back(fetch_actions::write_piece{piece, std::move(pp.data)});
    in_progress_.erase(it);
    writing_[piece] = true;
  }
  schedule_for(now, p);
  if (other != no_peer) schedule_for(now, other);
}

void fetch::handle_piece_written(time_point now, piece_index piece, const result<void>& r) {
  if (writing_.erase(piece) == 0 || phase_ != phase::blocks) return;
  const bool was_full = buffers_full();
  buffered_bytes_ -= piece_length(piece);
  committed_bytes_ -= piece_length(piece);
  if (!r) {
    if (r.err().code != errc::hash_mismatch) return fail_with(r.err());
    // Blocks verified one by one cannot make a bad piece; if the store disagrees, fetch again.
    missing_pos_[piece.value] = missing_.size();
    missing_.push_back(piece.value);
    missing_set_.insert(piece);
    unstick(piece);
    return schedule(now);
  }
  have_.insert(piece);
  stored_bytes_ += piece_length(piece);
  actions_.push_back(fetch_actions::piece_stored{piece});
  if (have_.complete()) {
    phase_ = phase::done;
    actions_.push_back(fetch_actions::finished{});
    return;
  }
  if (was_full) schedule(now);  // room for a new piece again
}

}  // namespace shoal
