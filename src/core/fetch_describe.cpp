// fetch::describe(): a fetch's state in words, for finding out why a fetch waits (the
// simulator prints it for the last nodes of a run; docs/simulation.md).
#include <algorithm>
#include <string>

#include "core/fetch.hpp"

namespace shoal {
namespace {

std::string ms_from(time_point now, time_point t) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t - now).count()) +
         " ms";
}

}  // namespace

std::string fetch::describe(time_point now, bool in_full) const {
  static constexpr const char* phases[] = {"manifest", "hashes", "opening",
                                           "blocks",   "done",   "failed"};
  std::string s = "phase " + std::string(phases[static_cast<int>(phase_)]);
  if (phase_ != phase::blocks) return s;
  s += "; " + std::to_string(have_.count()) + " of " + std::to_string(have_.size()) +
       " pieces stored, " + std::to_string(writing_.size()) + " being written, " +
       std::to_string(missing_.size()) + " not started, " + std::to_string(in_progress_.size()) +
       " in progress";
  if (!in_full) {
    std::size_t asked = 0, rare_only = 0, deferring = 0, stuck = 0, unknown = 0;
    for (const auto& [p, ps] : peers_) {
      asked += ps.in_flight > 0 ? 1 : 0;
      rare_only += ps.rare_only_until > now ? 1 : 0;
      deferring += ps.deferred.empty() ? 0 : 1;
      stuck += ps.stuck ? 1 : 0;
      unknown += ps.has ? 0 : 1;
    }
    return s + "; " + std::to_string(peers_.size()) + " peers: " + std::to_string(asked) +
           " asked, " + std::to_string(rare_only) + " rare only, " + std::to_string(deferring) +
           " deferring pieces, " + std::to_string(stuck) + " stuck, " + std::to_string(unknown) +
           " without a bitfield";
  }
  s += "\n";
  // The pieces in progress, a few of them: each block's state and whom it is asked of.
  std::size_t shown = 0;
  for (const auto& [piece, pp] : in_progress_) {
    if (++shown > 8) {
      s += "  ...\n";
      break;
    }
    s += "  piece " + std::to_string(piece.value) + ": " + std::to_string(pp.received) + " of " +
         std::to_string(pp.blocks.size()) + " blocks, " + std::to_string(pp.unasked) + " unasked";
    if (pp.probe) s += ", probe at peer " + std::to_string(pp.probe->value);
    s += "; holders " + std::to_string(availability_[piece.value]) + "\n    asked:";
    for (std::size_t b = 0; b < pp.blocks.size(); ++b) {
      if (pp.blocks[b] != block_state::requested) continue;
      s += " " + std::to_string(b) + "@" + std::to_string(pp.requested_from[b].value);
      if (pp.also_from[b] != no_peer) s += "+" + std::to_string(pp.also_from[b].value);
      s += "(" + ms_from(pp.requested_at[b], now) + ")";
    }
    s += "\n";
  }
  // Every peer: what it holds and why it is (not) asked.
  for (const auto& [p, ps] : peers_) {
    s += "  peer " + std::to_string(p.value) + ": ";
    s += ps.has ? std::to_string(ps.has->count()) + " pieces" : std::string("no bitfield");
    s += ", " + std::to_string(ps.in_flight) + "/" + std::to_string(ps.capacity) + " in flight";
    if (!ps.deferred.empty())
      s += ", " + std::to_string(ps.deferred.size()) + " deferred (next in " +
           ms_from(now, ps.deferred_next) + ")";
    if (ps.rare_only_until != time_point{})
      s += ", rare only for " + ms_from(now, ps.rare_only_until);
    if (ps.refuses_copies) s += ", refuses copies";
    if (ps.stuck) s += ", stuck";
    if (ps.lacks_content) s += ", lacks the content";
    s += "\n";
  }
  return s;
}

}  // namespace shoal
