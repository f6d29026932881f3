// The swarms this node takes part in: which connected peers take part in which content (peer
// exchange: each newcomer is told of the others and they of it), what each peer has announced
// (its bitfield and haves), how many peers hold each piece, and the first-copy rule that decides
// whether a requested piece is sent again (docs/protocol/wire.md, 5.7).
//
// The first-copy rule: while some piece of a content is held by no connected peer, a piece that
// another peer already announced, or that was sent to another announcing peer who will announce
// it, is not sent a second time; the requester is told `elsewhere` and gets it from that peer.
// So a node holding the whole content spends its upload on pieces the swarm lacks. And it sends
// at most max_pieces_sending pieces at a time (before and after every piece is out), refusing
// the rest as `elsewhere` too: a piece can be passed on only once it is complete, and an origin
// that a thousand fetches ask at once would otherwise share its upload so thinly that no piece
// completes for many seconds, while the pieces queued there wait instead of coming from the
// peers that have them by then. It applies
// between peers that announce what they hold: a peer that announced nothing of the content (a
// fetch with --origin-only) is served as it asks. A peer that sent a bitfield must then announce
// each piece it is sent (a have) within announce_deadline of its last block being granted; one
// that does not has let down the peers told to wait for it, and is served as it asks from then
// on (until it announces something), so neither it nor they wait for ever.
//
// I/O-free; the daemon feeds it and asks it (the simulator will too). Thread safety: one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/fetch.hpp"
#include "core/piece_set.hpp"
#include "core/wire.hpp"

namespace shoal {

class swarm {
 public:
  // Peer exchange tells a newcomer of at most this many members, and at most this many members
  // of it: each a random sample (from the seed), so that a thousand nodes joining through one
  // origin spread their connections over the swarm instead of all dialing its first members.
  static constexpr std::size_t exchange_sample = wire::max_peers_per_message;
  // Pieces a node holding the whole content sends at once (to announcing peers): each is sent
  // until its receiver announces it. 16 of 256 KiB at 100 Mbit/s complete in about 0.35 s. The
  // bound is there so that many requesters do not share the upload too thinly; with a single
  // announcing peer there is nobody to share with, and it does not apply (a pair of daemons
  // moved 256 MiB in 6.9 s under it, refusing 7,553 requests; 0.9 s without).
  static constexpr std::size_t max_pieces_sending = 16;
  // A piece sent to an announcing peer holds its slot, and makes other requesters wait for that
  // peer, until the peer announces it; at most this long after its last block was granted. A
  // piece of 256 KiB takes 0.4 s to arrive at 5 Mbit/s, and its have follows its verification
  // and write, so an honest peer is late only on a link slower than that or a stalled disk (and
  // is then only served without the rule). Without a deadline a peer that never sent a have got
  // 16 pieces and then `elsewhere` for ever (issue 18, finding 16).
  static constexpr duration announce_deadline = std::chrono::seconds(10);
  // Peers a node keeps in the swarm of a content it is fetching: a peer that asks about the
  // content beyond that, over a connection the fetch does not use, is told goodbye(overloaded)
  // (full()). Without a bound the
  // first nodes of a swarm became hubs (a thousand nodes joining one origin: each newcomer dials
  // a sample of the members, so the earliest are in most samples), each sharing its upload 240
  // ways; a node whose peers were all hubs got two thirds of the rate the others got and fell
  // further behind the longer the run (docs/simulation.md). The same bound as a fetch's own dials
  // (the daemon's daemon_options::max_swarm_peers): 48 and 32 left the last nodes to join with no
  // peer that had room. A node holding the whole content has no bound: an origin must serve whoever
  // comes.
  static constexpr std::size_t max_fetch_members = 64;

  // `fetch_members`: the bound full() applies, max_fetch_members unless the daemon was told
  // otherwise (shoal daemon --max-swarm-peers; tests use a small one).
  explicit swarm(std::uint64_t seed = 0, std::size_t fetch_members = max_fetch_members)
      : rng_(seed), fetch_members_(fetch_members) {}

  // --- peer exchange ------------------------------------------------------------------------
  // A peer's session opened. `at` is where it listens (none: it is never passed on); a peer
  // that does not `pass_on` (a connection our --origin-only fetch uses) is neither told of
  // others nor told to them.
  void handle_peer_added(peer_handle p, std::optional<wire::peer_entry> at, bool pass_on);
  // The peer takes part in content `x` (it asked about it or announced it, and we hold or fetch
  // it). False if that was known already. With `exchange`, it joins x's swarm: peers messages
  // are queued that tell it of others and others of it (poll_tell(); exchange_sample each way).
  bool handle_interest(peer_handle p, const content_id& x, bool exchange);
  bool interested(peer_handle p, const content_id& x) const;
  // The peers in x's swarm (for announcing each stored piece to them): every connected peer
  // that joined it, so as many as there are connections.
  const std::set<peer_handle>& members(const content_id& x) const;
  // While we fetch x: no further peer joins its swarm over a connection the fetch does not use
  // (one the peer dialed, or one dialed for the DHT; fetch_members).
  bool full(const content_id& x) const { return members(x).size() >= fetch_members_; }
  struct tell {
    peer_handle to;
    wire::peers msg;
  };
  std::optional<tell> poll_tell();

  // --- announcements and the first-copy rule --------------------------------------------------
  // A peer's bitfield or have for a content this node holds (some or all of; `pieces` pieces).
  // A bitfield of the wrong size is ignored (the peer's fetch of ours reports it if it matters).
  void handle_bitfield(peer_handle p, const wire::bitfield& b, std::uint64_t pieces);
  void handle_have(peer_handle p, const wire::have& h, std::uint64_t pieces);
  // The peer's connection closed: what it announced no longer counts, and it leaves every swarm.
  void handle_peer_removed(peer_handle p);

  // The first-copy rule for a block request of a content this node holds complete: true if the
  // piece should be refused with `elsewhere`. Otherwise the piece counts as sent to `requester`.
  bool held_elsewhere(time_point now, peer_handle requester, const wire::block_ref& ref);
  // The peer sent a bitfield for `c` but let a piece it was sent go unannounced past the
  // deadline: it is served as it asks (until it announces a piece of c).
  bool lapsed(peer_handle p, const content_id& c) const;

  struct summary {
    content_id id;
    std::uint64_t pieces = 0;
    std::uint64_t only_here = 0;  // pieces no connected peer announced
  };
  // Every content some peer announced pieces of.
  std::vector<summary> swarms() const;
  // Pieces of `c` no connected peer announced (none if no peer announced any of c).
  std::optional<std::uint64_t> only_here(const content_id& c) const;
  bool announced(peer_handle p, const content_id& c) const;
  // The pieces of `c` being sent now under the bound of max_pieces_sending, each with its
  // receiver (for finding out why a swarm waits).
  std::vector<std::pair<piece_index, peer_handle>> sending(const content_id& c) const;

 private:
  struct counts {
    std::vector<std::uint16_t> holders;  // connected peers that announced each piece
    // The peer each piece was last sent to: until it announces the piece, others wait for it.
    std::vector<peer_handle> sent_to;
    // Pieces being sent (piece, receiver), each with when its last block was granted: until the
    // receiver announces the piece or leaves, or announce_deadline passes.
    std::map<std::pair<std::uint64_t, peer_handle>, time_point> sending;
    // Announcing peers that let a piece go unannounced past the deadline.
    std::set<peer_handle> lapsed;
    // Peers that announced what they hold of the content (sent a bitfield), connected now.
    std::set<peer_handle> announcers;
    std::uint64_t unheld = 0;  // pieces no connected peer announced
    void add(std::uint64_t piece);
    void remove(std::uint64_t piece);
  };
  counts& counts_for(const content_id& c, std::uint64_t pieces);
  // Drops the slots whose receivers did not announce in time, and lapses those receivers.
  static void expire(time_point now, counts& sc);

  struct peer_info {
    std::optional<wire::peer_entry> at;
    bool pass_on = true;
    std::set<content_id> interests;
  };

  std::map<content_id, counts> counts_;
  // Looked up on every have and request, never walked in order: hashed.
  std::unordered_map<peer_handle, std::map<content_id, piece_set>> announced_;
  std::unordered_map<peer_handle, peer_info> peers_;
  std::map<content_id, std::set<peer_handle>> members_;
  std::deque<tell> tells_;
  std::mt19937_64 rng_;  // which members peer exchange passes on
  std::size_t fetch_members_;
};

// How a node answers a block request, in the daemon and the simulator alike. `layout` and
// `have` describe the content here; both null if this node does not hold it.
namespace block_answers {
struct send {};  // read the block and send it
struct refuse {
  wire::reject reject;
};
struct violation {  // close the session with protocol_violation, saying this
  std::string text;
};
}  // namespace block_answers
using block_answer =
    std::variant<block_answers::send, block_answers::refuse, block_answers::violation>;
block_answer answer_block(swarm& s, time_point now, peer_handle requester,
                          const wire::block_ref& ref, const content_layout* layout,
                          const piece_set* have);

}  // namespace shoal
