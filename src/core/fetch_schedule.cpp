// The fetch's block scheduler (core/fetch.hpp): which piece to start next (rarest first, from a
// sample on large contents), which blocks to ask of which peer and how many, the endgame's second
// requests, the buffer bounds, and what a tick re-examines.
#include <algorithm>
#include <bit>

#include "core/fetch.hpp"
#include "core/merkle.hpp"
#include "core/random.hpp"

namespace shoal {
namespace {

// How many random candidates pick_piece() compares by rarity before taking the rarest, for a
// content with many pieces missing.
constexpr int rarity_samples = 64;
// Up to this many missing pieces (4096: 1 GiB), pick_piece() scans them all for the rarest; above
// it, it compares a random sample, so that a start costs O(1) however large the content.
constexpr std::size_t full_scan_limit = 4096;
// Up to this many pieces in the content (65,536: 16 GiB), pick_piece() finds the pieces both
// missing here and held by the peer a byte of the two bitmaps at a time (8 KiB at most), and
// compares only those: exact, and cheap even when the peer holds few of them.
constexpr std::uint64_t bitmap_scan_limit = 65536;
}  // namespace

std::uint64_t fetch::piece_length(piece_index piece) const {
  return layout_->locate(piece).length;
}

std::uint64_t fetch::block_length(piece_index piece, unsigned block) const {
  const std::uint64_t len = piece_length(piece);
  const std::uint64_t start = std::uint64_t{block} * merkle::block_size;
  return start >= len ? 0 : std::min<std::uint64_t>(merkle::block_size, len - start);
}

void fetch::forget_missing(piece_index piece) {
  const std::uint64_t pos = missing_pos_[piece.value];
  if (pos == npos) return;
  const std::uint64_t last = missing_.back();
  missing_[pos] = last;
  missing_pos_[last] = pos;
  missing_.pop_back();
  missing_pos_[piece.value] = npos;
  missing_set_.erase(piece);
}

std::optional<piece_index> fetch::pick_piece(peer_state& ps, bool rare_only) {
  // Rarest first, so that a swarm spreads pieces and two nodes seldom take the same piece from
  // the origin: every candidate compared up to bitmap_scan_limit pieces (or full_scan_limit
  // missing ones), a random sample above it (then a full scan when the sample finds nothing: the
  // peer holds few of the pieces we lack).
  if (missing_.empty()) return std::nullopt;
  const piece_set& has = *ps.has;
  // Rare only: no peer that sends copies holds it (the refusing peer would say `elsewhere`).
  const auto rare_enough = [&](std::uint64_t c) { return !rare_only || willing_[c] == 0; };
  const auto usable = [&](std::uint64_t c) {
    return has.contains(piece_index(c)) && !is_deferred(ps, piece_index(c)) && rare_enough(c);
  };
  // What a reader waits for goes first, in order (handle_wanted); pieces no longer missing
  // (started or stored) leave the wish once stored.
  for (auto it = wanted_.begin(); it != wanted_.end();) {
    if (have_.contains(*it)) {
      it = wanted_.erase(it);
      continue;
    }
    if (missing_set_.contains(*it) && usable(it->value)) return *it;
    ++it;
  }
  std::optional<std::uint64_t> best;
  std::uint64_t ties = 0;
  // The true rarest, ties broken at random (reservoir sampling): a piece only the origin has
  // is worth more than one a peer has too, and a sample can miss the few that remain.
  const auto consider = [&](std::uint64_t c) {
    if (!best || availability_[c] < availability_[*best]) {
      best = c;
      ties = 1;
    } else if (availability_[c] == availability_[*best] && uniform_below(rng_, ++ties) == 0) {
      best = c;
    }
  };
  if (layout_->piece_count() <= bitmap_scan_limit) {
    has.find_common(missing_set_, piece_index(0), [&](piece_index c) {
      if (!is_deferred(ps, c) && rare_enough(c.value)) consider(c.value);
      return false;
    });
  } else if (missing_.size() <= full_scan_limit) {
    for (std::uint64_t c : missing_)
      if (usable(c)) consider(c);
  } else {
    for (int i = 0; i < rarity_samples; ++i) {
      const std::uint64_t c = missing_[uniform_below(rng_, missing_.size())];
      if (usable(c) && (!best || availability_[c] < availability_[*best])) best = c;
    }
    if (!best)
      for (std::uint64_t c : missing_)
        if (usable(c) && (!best || availability_[c] < availability_[*best])) best = c;
  }
  if (!best) return std::nullopt;
  return piece_index(*best);
}

// The endgame: every piece still missing is being fetched. A peer with room asks for a block
// already asked of another peer (once more at most), so that a slow or dying peer cannot hold
// back the last pieces; whichever copy comes second is dropped and the other request cancelled.
std::optional<std::pair<piece_index, std::uint8_t>> fetch::endgame_block(time_point now,
                                                                         peer_handle p,
                                                                         const peer_state& ps) {
  if (!missing_.empty()) return std::nullopt;
  for (auto& [piece, pp] : in_progress_) {
    if (!ps.has->contains(piece) || is_deferred(ps, piece)) continue;
    for (std::size_t b = 0; b < pp.blocks.size(); ++b)
      if (pp.blocks[b] == block_state::requested && pp.requested_from[b] != p &&
          pp.also_from[b] == no_peer && now - pp.requested_at[b] >= cfg_.endgame_after)
        return std::pair{piece, static_cast<std::uint8_t>(b)};
  }
  return std::nullopt;
}

void fetch::measure(time_point now, peer_state& ps, std::uint64_t bytes) {
  ps.window_bytes += bytes;
  if (!ps.measured && ps.capacity < ps.limit) ++ps.capacity;
  const duration elapsed = now - ps.window_start;
  if (elapsed < cfg_.rate_window) return;
  ps.measured = true;
  const double rate = static_cast<double>(ps.window_bytes) /
                      std::chrono::duration<double>(elapsed).count();  // bytes per second
  const duration horizon = ps.min_latency == duration::max()
                               ? cfg_.pipeline_time
                               : std::max(cfg_.pipeline_time, 2 * ps.min_latency);
  const double want = rate * std::chrono::duration<double>(horizon).count() /
                      static_cast<double>(merkle::block_size);
  ps.capacity = std::clamp(static_cast<std::uint32_t>(std::min(want, 1e9)),
                           std::min(ps.limit, cfg_.min_requests_per_peer), ps.limit);
  ps.window_bytes = 0;
  ps.window_start = now;
}

bool fetch::buffers_full() const {
  return buffered_bytes_ + merkle::piece_size > cfg_.buffer_bytes_max ||
         committed_bytes_ + merkle::piece_size > cfg_.asked_bytes_max;
}

void fetch::check_unheld(time_point now) {
  // Only while nothing arrives, and at most once a second: the scan is O(pieces).
  if (now - last_block_at_ < std::chrono::seconds(5) || now - unheld_checked_ < 1s) return;
  unheld_checked_ = now;
  std::optional<std::uint64_t> unheld;
  for (std::uint64_t i = 0; i < availability_.size() && !unheld; ++i)
    if (availability_[i] == 0 && askable(piece_index(i))) unheld = i;
  if (!unheld) {
    unheld_since_ = {};
    waiting_.clear();
    return;
  }
  if (unheld_since_ == time_point{}) unheld_since_ = now;
  waiting_ = "piece " + std::to_string(*unheld) + " is held by no connected peer" +
             (last_refusal_.empty() ? "" : " (" + last_refusal_ + ")");
  if (now - unheld_since_ >= cfg_.unheld_timeout)
    fail_with(
        {errc::not_found,
         waiting_ + " and nothing has arrived for " +
             std::to_string(
                 std::chrono::duration_cast<std::chrono::seconds>(now - last_block_at_).count()) +
             " s; pieces stored so far are kept"});
}

void fetch::handle_tick(time_point now) {
  if (phase_ != phase::blocks) return;
  check_unheld(now);
  if (phase_ != phase::blocks) return;
  // In the endgame, blocks become askable twice as their requests age.
  if (missing_.empty())
    for (auto& [p, ps] : peers_) ps.stuck = false;
  schedule(now);
}

void fetch::handle_wanted(time_point now, piece_index first, piece_index last) {
  wanted_.clear();
  // Before the content is open (its pieces held known) there is nothing to want yet.
  if (!layout_ || have_.size() != layout_->piece_count()) return;
  const std::uint64_t end = std::min(last.value + 1, layout_->piece_count());
  for (std::uint64_t i = first.value; i < end && wanted_.size() < max_wanted; ++i)
    if (!have_.contains(piece_index(i))) wanted_.insert(piece_index(i));
  schedule(now);
}

void fetch::schedule(time_point now) {
  if (phase_ == phase::manifest) return start_manifest(now);
  // The peer asked for the piece hashes went away (or was cut off for bad ones): a peer added
  // since is asked (issue 18, finding 13: the fetch waited for ever).
  if (phase_ == phase::hashes) return start_hashes(now);
  if (phase_ != phase::blocks) return;
  unstuck_ = false;
  for (auto& [p, ps] : peers_) fill(now, p, ps);
}

// After an event that can only give work to `p` (its block or have): the other peers are left
// as they are, unless the event made a piece they hold askable again.
void fetch::schedule_for(time_point now, peer_handle p) {
  if (phase_ != phase::blocks || unstuck_) return schedule(now);
  if (peer_state* ps = peer(p)) fill(now, p, *ps);
}

void fetch::fill(time_point now, peer_handle p, peer_state& ps) {
  if (!ps.has || ps.lacks_content) return;
  if (!ps.deferred.empty() && ps.deferred_next <= now) {
    ps.deferred_next = time_point::max();
    for (auto it = ps.deferred.begin(); it != ps.deferred.end();) {
      if (it->second <= now) {
        ps.deferred_pieces.erase(piece_index(it->first));
        it = ps.deferred.erase(it);
      } else {
        ps.deferred_next = std::min(ps.deferred_next, it->second);
        ++it;
      }
    }
    ps.stuck = false;
  }
  if (ps.rare_only_until != time_point{} && ps.rare_only_until <= now) {
    ps.rare_only_until = {};
    ps.stuck = false;
  }
  const bool rare_only = ps.rare_only_until != time_point{};
  if (ps.stuck) return;
  piece_index resume(0);
  while (ps.in_flight < ps.capacity) {
    // Finish pieces already started before starting new ones, so pieces complete early and
    // can be stored and announced.
    std::optional<std::pair<piece_index, std::uint8_t>> next;
    // Pieces before `resume` were passed over earlier in this call, and nothing that made them
    // unusable to p (held, deferred, rare, probed, every block asked) changes within it.
    const auto found = ps.has->find_common(open_, resume, [&](piece_index piece) {
      if (is_deferred(ps, piece) || (rare_only && willing_[piece.value] > 0)) return false;
      const piece_progress& pp = in_progress_.at(piece);
      if (pp.probe) return false;
      for (std::size_t b = 0; b < pp.blocks.size() && !next; ++b)
        if (pp.blocks[b] == block_state::missing) next = {piece, static_cast<std::uint8_t>(b)};
      return next.has_value();
    });
    resume = found.value_or(piece_index(layout_->piece_count()));
    if (!next) {
      if (auto dup = endgame_block(now, p, ps)) {
        piece_progress& pp = in_progress_[dup->first];
        pp.also_from[dup->second] = p;
        ++ps.in_flight;
        actions_.push_back(
            fetch_actions::send{p, wire::request{wire::block_ref{id_, dup->first, dup->second}}});
        continue;
      }
      // No new piece past the buffer bound; a write that completes calls schedule() again.
      // Pieces asked for but not yet begun have their own bound (asked_bytes_max): each can
      // become a buffer when its first block comes.
      if (buffers_full()) break;
      auto piece = pick_piece(ps, rare_only);
      if (!piece) {
        ps.stuck = true;
        break;
      }
      forget_missing(*piece);
      const std::uint64_t len = piece_length(*piece);
      const std::size_t blocks = (len + merkle::block_size - 1) / merkle::block_size;
      piece_progress& pp = in_progress_[*piece];
      committed_bytes_ += len;
      pp.blocks.assign(blocks, block_state::missing);
      pp.requested_from.assign(blocks, no_peer);
      pp.also_from.assign(blocks, no_peer);
      pp.requested_at.assign(blocks, now);
      pp.unasked = static_cast<unsigned>(blocks);
      open_.insert(*piece);
      resume = std::min(resume, *piece);
      if (ps.refuses_copies && blocks > 1) pp.probe = p;
      next = {*piece, 0};
    }
    ask(now, p, ps, next->first, in_progress_[next->first], next->second);
  }
}

void fetch::ask(time_point now, peer_handle p, peer_state& ps, piece_index piece,
                piece_progress& pp, std::uint8_t block) {
  pp.blocks[block] = block_state::requested;
  if (--pp.unasked == 0) open_.erase(piece);
  pp.requested_from[block] = p;
  pp.requested_at[block] = now;
  ++ps.in_flight;
  actions_.push_back(fetch_actions::send{p, wire::request{wire::block_ref{id_, piece, block}}});
}

}  // namespace shoal
