#include "core/swarm.hpp"

#include <algorithm>

#include "core/merkle.hpp"
#include "core/random.hpp"

namespace shoal {

void swarm::counts::add(std::uint64_t piece) {
  if (holders[piece]++ == 0) --unheld;
}

void swarm::counts::remove(std::uint64_t piece) {
  if (--holders[piece] == 0) ++unheld;
}

swarm::counts& swarm::counts_for(const content_id& c, std::uint64_t pieces) {
  auto [it, fresh] = counts_.try_emplace(c);
  if (fresh) {
    it->second.holders.assign(pieces, 0);
    it->second.sent_to.assign(pieces, peer_handle{});
    it->second.unheld = pieces;
  }
  return it->second;
}

void swarm::handle_bitfield(peer_handle p, const wire::bitfield& b, std::uint64_t pieces) {
  auto set = piece_set::from_bytes(b.piece_count, b.bits);
  if (!set || set->size() != pieces) return;
  counts& sc = counts_for(b.content, pieces);
  if (sc.holders.size() != pieces) return;
  auto& mine = announced_[p];
  if (auto old = mine.find(b.content); old != mine.end())
    for (std::uint64_t i = 0; i < pieces; ++i)
      if (old->second.contains(piece_index(i))) sc.remove(i);
  for (std::uint64_t i = 0; i < pieces; ++i)
    if (set->contains(piece_index(i))) sc.add(i);
  std::erase_if(sc.sending, [&](const auto& s) {
    return s.first.second == p && set->contains(piece_index(s.first.first));
  });
  if (set->count() > 0) sc.lapsed.erase(p);
  sc.announcers.insert(p);
  mine[b.content] = std::move(*set);
}

void swarm::handle_have(peer_handle p, const wire::have& h, std::uint64_t pieces) {
  auto peer = announced_.find(p);
  if (peer == announced_.end()) return;
  auto a = peer->second.find(h.content);  // a have counts only after the peer's bitfield
  if (a == peer->second.end() || h.piece.value >= pieces) return;
  counts& sc = counts_for(h.content, pieces);
  if (sc.holders.size() != pieces) return;
  if (a->second.insert(h.piece)) sc.add(h.piece.value);
  sc.sending.erase({h.piece.value, p});
  sc.lapsed.erase(p);  // it announces after all
}

void swarm::handle_peer_added(peer_handle p, std::optional<wire::peer_entry> at, bool pass_on) {
  peer_info& info = peers_[p];
  info.at = at;
  info.pass_on = pass_on;
}

bool swarm::handle_interest(peer_handle p, const content_id& x, bool exchange) {
  peer_info& me = peers_[p];
  if (!me.interests.insert(x).second) return false;
  if (!exchange) return true;
  auto& others = members_[x];
  // Random samples of the members that can be passed on (reservoir sampling, in handle order so
  // that the seed alone decides it): one to tell of the newcomer, and one of those that listen
  // to tell the newcomer of (the same one when every member listens).
  const auto draw = [&](auto&& eligible) {
    std::vector<std::pair<peer_handle, const wire::peer_entry*>> sample;
    std::size_t seen = 0;
    for (peer_handle o : others) {
      auto other = peers_.find(o);
      if (other == peers_.end() || !other->second.pass_on || !eligible(other->second)) continue;
      const wire::peer_entry* entry = other->second.at ? &*other->second.at : nullptr;
      if (sample.size() < exchange_sample) {
        sample.emplace_back(o, entry);
      } else if (const std::size_t j = uniform_below(rng_, seen + 1); j < exchange_sample) {
        sample[j] = {o, entry};
      }
      ++seen;
    }
    return sample;
  };
  const auto to_tell = draw([](const peer_info&) { return true; });
  const bool all_listen = std::ranges::all_of(others, [&](peer_handle o) {
    auto other = peers_.find(o);
    return other == peers_.end() || !other->second.pass_on || other->second.at.has_value();
  });
  const auto told_of =
      all_listen ? to_tell : draw([](const peer_info& i) { return i.at.has_value(); });
  wire::peers to_new{x, {}};
  for (const auto& [o, entry] : told_of) to_new.entries.push_back(*entry);
  if (me.at)
    for (const auto& [o, entry] : to_tell) tells_.push_back({o, wire::peers{x, {*me.at}}});
  if (!to_new.entries.empty()) tells_.push_back({p, std::move(to_new)});
  others.insert(p);
  return true;
}

bool swarm::interested(peer_handle p, const content_id& x) const {
  auto it = peers_.find(p);
  return it != peers_.end() && it->second.interests.contains(x);
}

const std::set<peer_handle>& swarm::members(const content_id& x) const {
  static const std::set<peer_handle> none;
  auto it = members_.find(x);
  return it == members_.end() ? none : it->second;
}

std::optional<swarm::tell> swarm::poll_tell() {
  if (tells_.empty()) return std::nullopt;
  tell t = std::move(tells_.front());
  tells_.pop_front();
  return t;
}

void swarm::handle_peer_removed(peer_handle p) {
  if (auto info = peers_.find(p); info != peers_.end()) {
    for (const auto& x : info->second.interests)
      if (auto m = members_.find(x); m != members_.end()) {
        m->second.erase(p);
        if (m->second.empty()) members_.erase(m);
      }
    peers_.erase(info);
  }
  for (auto& [cid, sc] : counts_) {
    std::erase_if(sc.sending, [&](const auto& s) { return s.first.second == p; });
    sc.lapsed.erase(p);
    sc.announcers.erase(p);
  }
  auto peer = announced_.find(p);
  if (peer == announced_.end()) return;
  for (const auto& [cid, set] : peer->second)
    if (auto sit = counts_.find(cid); sit != counts_.end())
      for (std::uint64_t i = 0; i < set.size(); ++i)
        if (set.contains(piece_index(i))) sit->second.remove(i);
  announced_.erase(peer);
}

bool swarm::announced(peer_handle p, const content_id& c) const {
  auto peer = announced_.find(p);
  return peer != announced_.end() && peer->second.contains(c);
}

bool swarm::lapsed(peer_handle p, const content_id& c) const {
  auto it = counts_.find(c);
  return it != counts_.end() && it->second.lapsed.contains(p);
}

void swarm::expire(time_point now, counts& sc) {
  std::vector<peer_handle> late;
  for (const auto& [slot, granted] : sc.sending)
    if (now - granted >= announce_deadline) late.push_back(slot.second);
  for (peer_handle p : late) {
    sc.lapsed.insert(p);
    std::erase_if(sc.sending, [&](const auto& s) { return s.first.second == p; });
  }
}

bool swarm::held_elsewhere(time_point now, peer_handle requester, const wire::block_ref& ref) {
  auto sit = counts_.find(ref.content);
  auto peer = announced_.find(requester);
  if (sit == counts_.end() || peer == announced_.end()) return false;
  counts& sc = sit->second;
  const std::uint64_t piece = ref.piece.value;
  const auto mine = peer->second.find(ref.content);
  if (mine == peer->second.end()) return false;  // not announcing: not in the swarm
  if (piece >= sc.holders.size()) return false;
  expire(now, sc);
  if (sc.lapsed.contains(requester)) return false;  // served as it asks
  if (auto slot = sc.sending.find({piece, requester}); slot != sc.sending.end()) {
    slot->second = now;  // its piece goes on
    return false;
  }
  if (sc.unheld > 0) {
    const std::uint64_t holders = sc.holders[piece] - (mine->second.contains(ref.piece) ? 1 : 0);
    if (holders > 0) return true;
    // Sent to another peer, which will announce it: unless that peer left, announced another
    // bitfield or let the deadline pass (its slot is gone then).
    const peer_handle sent = sc.sent_to[piece];
    if (sent != peer_handle{} && sent != requester && sc.sending.contains({piece, sent}))
      return true;
  }
  const bool alone = sc.announcers.size() == 1 && sc.announcers.contains(requester);
  if (sc.sending.size() >= max_pieces_sending && !alone) return true;
  sc.sent_to[piece] = requester;
  sc.sending.emplace(std::pair{piece, requester}, now);
  return false;
}

std::vector<std::pair<piece_index, peer_handle>> swarm::sending(const content_id& c) const {
  std::vector<std::pair<piece_index, peer_handle>> out;
  if (auto it = counts_.find(c); it != counts_.end())
    for (const auto& [slot, granted] : it->second.sending)
      out.emplace_back(piece_index(slot.first), slot.second);
  return out;
}

std::vector<swarm::summary> swarm::swarms() const {
  std::vector<summary> out;
  for (const auto& [id, sc] : counts_) out.push_back({id, sc.holders.size(), sc.unheld});
  return out;
}

std::optional<std::uint64_t> swarm::only_here(const content_id& c) const {
  auto it = counts_.find(c);
  if (it == counts_.end()) return std::nullopt;
  return it->second.unheld;
}

block_answer answer_block(swarm& s, time_point now, peer_handle requester,
                          const wire::block_ref& ref, const content_layout* layout,
                          const piece_set* have) {
  using namespace block_answers;
  if (!layout || !have)
    return refuse{{wire::request_kind::block, ref, wire::reason::not_found,
                   "this node does not hold " + ref.content.str()}};
  if (ref.piece.value >= layout->piece_count())
    return violation{"asked for piece " + std::to_string(ref.piece.value) + " of " +
                     std::to_string(layout->piece_count())};
  const std::uint64_t blocks =
      (layout->locate(ref.piece).length + merkle::block_size - 1) / merkle::block_size;
  if (ref.block >= blocks)
    return violation{"asked for block " + std::to_string(ref.block) + " of a piece with " +
                     std::to_string(blocks)};
  if (!have->contains(ref.piece))
    return refuse{{wire::request_kind::block, ref, wire::reason::unavailable,
                   "piece " + std::to_string(ref.piece.value) + " is not here yet"}};
  // No text: the reason says it all, and these go out by the thousand from an origin whose
  // upload is the swarm's scarcest resource.
  if (have->complete() && s.held_elsewhere(now, requester, ref))
    return refuse{{wire::request_kind::block, ref, wire::reason::elsewhere, ""}};
  return send{};
}

}  // namespace shoal
