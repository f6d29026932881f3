// The serving side of the swarms this node holds content for: what each connected peer has
// announced (its bitfield and haves), how many peers hold each piece, and the first-copy rule
// that decides whether a requested piece is sent again (docs/protocol/wire.md, 5.7).
//
// The first-copy rule: while some piece of a content is held by no connected peer, a piece that
// another peer already announced, or that was sent to another announcing peer who will announce
// it, is not sent a second time; the requester is told `elsewhere` and gets it from that peer.
// So a node holding the whole content spends its upload on pieces the swarm lacks. It applies
// between peers that announce what they hold: a peer that announced nothing of the content (a
// fetch with --origin-only) is served as it asks.
//
// I/O-free; the daemon feeds it and asks it (the simulator will too). Thread safety: one thread.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/fetch.hpp"
#include "core/piece_set.hpp"
#include "core/wire.hpp"

namespace shoal {

class swarm {
 public:
  // A peer's bitfield or have for a content this node holds (some or all of; `pieces` pieces).
  // A bitfield of the wrong size is ignored (the peer's fetch of ours reports it if it matters).
  void handle_bitfield(peer_handle p, const wire::bitfield& b, std::uint64_t pieces);
  void handle_have(peer_handle p, const wire::have& h, std::uint64_t pieces);
  // The peer's connection closed: what it announced no longer counts.
  void handle_peer_removed(peer_handle p);

  // The first-copy rule for a block request of a content this node holds complete: true if the
  // piece should be refused with `elsewhere`. Otherwise the piece counts as sent to `requester`.
  bool held_elsewhere(peer_handle requester, const wire::block_ref& ref);

  struct summary {
    content_id id;
    std::uint64_t pieces = 0;
    std::uint64_t only_here = 0;  // pieces no connected peer announced
  };
  // Every content some peer announced pieces of.
  std::vector<summary> swarms() const;
  bool announced(peer_handle p, const content_id& c) const;

 private:
  struct counts {
    std::vector<std::uint16_t> holders;  // connected peers that announced each piece
    // The peer each piece was last sent to: until it announces the piece, others wait for it.
    std::vector<peer_handle> sent_to;
    std::uint64_t unheld = 0;  // pieces no connected peer announced
    void add(std::uint64_t piece);
    void remove(std::uint64_t piece);
  };
  counts& counts_for(const content_id& c, std::uint64_t pieces);

  std::map<content_id, counts> counts_;
  std::map<peer_handle, std::map<content_id, piece_set>> announced_;
};

}  // namespace shoal
