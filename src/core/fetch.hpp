// Fetching one content from the peers that hold it: the manifest (checked against the content
// ID), the piece layer (checked against each file's Merkle root), then 16 KiB blocks, each
// verified by its proof against the piece hash before it is kept, assembled into pieces that the
// owner writes to the store. A peer whose block fails verification is cut off at that block and
// the block is fetched again (from it never again).
//
// I/O-free (docs/architecture.md): the owner reports what happened with handle_*(now, ...) and
// drains what to do with poll_action(). Peers are opaque handles; the owner maps them to
// sessions and forwards each session's events for this content. Randomness (ties between equally
// rare pieces) comes from the seed.
//
// Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/aligned_buffer.hpp"
#include "core/clock.hpp"
#include "core/piece_set.hpp"
#include "core/wire.hpp"
#include "crypto/sha256.hpp"
#include "shoal/manifest.hpp"

namespace shoal {

struct peer_handle_tag {};
using peer_handle = strong_index<peer_handle_tag>;

struct fetch_config {
  // Blocks in flight per peer, at most. 128 (2 MiB) keeps a loopback or LAN link busy while the
  // serving side reads and hashes pieces between writes; 64 measurably left it idle. It stays
  // below the serving side's own bound (session_config::max_requests, 256) so a peer is never
  // refused.
  std::uint32_t max_requests_per_peer = 128;
  // Below that, each peer's pipeline holds what it delivers in `pipeline_time` (or in twice its
  // shortest request-to-block time, if longer: a link with a long round trip still stays full)
  // at its measured rate, and at least min_requests_per_peer. Before its first measurement a
  // peer starts at initial_requests_per_peer and gets one more for each block it delivers
  // (doubling every round trip, as TCP's slow start does): a fast idle peer is soon asked for
  // 128, while an origin that a thousand fetches dial at once is not handed 64 requests by each.
  // A full pipeline keeps the link busy; a longer one only queues requests at the sender, where
  // they wait their turn with every other requester's: each hop a piece takes through a swarm
  // costs that wait, so it is kept short, and a node that 90 peers ask holds at least 90 x
  // min_requests_per_peer. Measured in the simulator (bench/RESULTS.md): with 1 s and 4, 100
  // nodes x 256 MiB finished at 1.40x the fluid bound; with 500 ms and 2, 1.21x; 250 ms and 2,
  // 1.17x (before the bound on pieces sent at once, core/swarm.hpp).
  duration pipeline_time = std::chrono::milliseconds(250);
  duration rate_window = std::chrono::milliseconds(200);
  std::uint32_t min_requests_per_peer = 2;
  std::uint32_t initial_requests_per_peer = 4;
  // In the endgame a block is asked of a second peer once its request is this old: a block
  // normally arrives within pipeline_time, and asking sooner would only make the senders'
  // uploads carry copies that get cancelled.
  duration endgame_after = std::chrono::milliseconds(3000);
  // The bytes of pieces a fetch holds at once: pieces being received (a piece's buffer is
  // allocated when its first block comes) and pieces waiting to be written. Past it no new piece
  // is started until a write is done, so a fetch's memory follows this bound, not the content's
  // size, and a store slower than the network slows the requests instead of queueing pieces (issue
  // 18: 1 GiB of buffers for a 1 GiB fetch before). 32 MiB is 128 pieces, a second of a 256 Mbit/s
  // link and 25 ms of a 10 Gbit/s one, more than the requests in flight at those rates need (rate x
  // pipeline_time).
  std::uint64_t buffer_bytes_max = std::uint64_t{32} << 20;
  // And the pieces asked for at once (in progress, begun or not, and writing): those not begun
  // hold no buffer yet, but each can become one, so this bounds how far the first bound can be
  // passed. Tighter (64 MiB) slowed the simulator's 30-node run from 1.14 to 1.20 x the bound.
  std::uint64_t asked_bytes_max = std::uint64_t{128} << 20;
  // A peer whose block requests time out this many times in a row, with no block between, is
  // stalling: it is cut off with reason timeout, so that a fetch whose only peer stalls ends
  // with an error instead of asking it again for ever (issue 18, finding 12).
  std::uint32_t stall_timeouts = 3;
  // A fetch some of whose missing pieces no connected peer holds, that has received nothing this
  // long, ends with not_found naming such a piece and what its last holder said (issue 18,
  // finding 5: a holder that found its own copy damaged left the fetch at 255 of 256 pieces,
  // silent, for ever). Long enough for a partial peer to get the piece from elsewhere first, or
  // for the owner to find another holder (the daemon looks again in the DHT every 30 s).
  duration unheld_timeout = std::chrono::seconds(60);
  // The largest content a node fetches: a manifest that declares more ends the fetch with
  // limit_exceeded before the piece hashes are asked for or anything is sized by it (a forged
  // 1 TiB manifest cost 455 MiB before). 1 TiB is 4 Mi pieces, about 460 MiB of bookkeeping.
  std::uint64_t content_bytes_max = std::uint64_t{1} << 40;
  // A piece the peer rejected with reason `elsewhere` is not asked from it again this long.
  duration elsewhere_backoff = std::chrono::seconds(2);
  // ... unless every other connected peer that holds it refused it too: then this long. The
  // refusals were then the senders' pieces at a time (core/swarm.hpp), not a copy elsewhere,
  // and waiting 2 s held the last pieces back (two holders of 16 MiB took 3.1 s against 2.1 s
  // from one; issue 18, finding 4). A piece no other connected peer holds keeps the 2 s: its
  // refuser sent it to a peer we may not know (a 100 ms retry there cost the simulator's
  // 100-node swarm 1.68 -> 1.88 x the bound).
  duration busy_backoff = std::chrono::milliseconds(100);
  // The simulator's content (docs/simulation.md): blocks carry one byte (a valid frame's
  // least: the simulator runs real sessions, which encode it) and their first proof
  // hash is synthetic_tag(piece hash, block) in place of a proof, so that a thousand simulated
  // nodes neither hold nor hash real gigabytes. Everything else (what is asked of whom and when,
  // the endgame, a wrong block cutting its sender off) runs as with real blocks; write_piece then
  // carries no bytes. The daemon never sets it.
  bool synthetic_blocks = false;
};

// What stands for a block's bytes and proof under fetch_config::synthetic_blocks.
hash256 synthetic_tag(const hash256& piece_hash, unsigned block);

namespace fetch_actions {
// Send this request (get_manifest, get_hashes, request or cancel) on the peer's session.
struct send {
  peer_handle peer;
  wire::message msg;
};
// Close the peer's session with this reason; the fetch has already forgotten the peer.
struct disconnect {
  peer_handle peer;
  wire::reason code = wire::reason::none;
  std::string text;
};
// The manifest and piece layer are verified: open (or resume) the content in the store, then
// call handle_opened() with the pieces it already holds.
struct open_content {
  manifest m;
  std::vector<hash256> piece_hashes;
};
// Every block of this piece is verified: write it, then call handle_piece_written().
struct write_piece {
  piece_index piece;
  aligned_bytes data;
};
// The piece is stored: announce it to the peers.
struct piece_stored {
  piece_index piece;
};
struct finished {};
// The fetch cannot go on (the message says why); pieces stored so far are kept.
struct failed {
  error why;
};
}  // namespace fetch_actions

using fetch_action =
    std::variant<fetch_actions::send, fetch_actions::disconnect, fetch_actions::open_content,
                 fetch_actions::write_piece, fetch_actions::piece_stored, fetch_actions::finished,
                 fetch_actions::failed>;

struct fetch_progress {
  std::uint64_t total_bytes = 0;     // of the content's data (0 until the manifest is known)
  std::uint64_t stored_bytes = 0;    // in pieces written to the store
  std::uint64_t received_bytes = 0;  // block data verified and kept this run
  std::uint64_t pieces = 0;
  std::uint64_t pieces_stored = 0;
  std::size_t peers = 0;
};

class fetch {
 public:
  enum class phase { manifest, hashes, opening, blocks, done, failed };

  fetch(content_id id, fetch_config cfg, std::uint64_t seed);
  // peer_index_ points into peers_: moving keeps the map's nodes, copying would not.
  fetch(const fetch&) = delete;
  fetch& operator=(const fetch&) = delete;
  fetch(fetch&&) = default;
  fetch& operator=(fetch&&) = default;

  // The store already holds this content's manifest and verified piece layer (a resumed fetch):
  // skip to the blocks. Call before or after peers are added.
  void handle_known(time_point now, manifest m, std::vector<hash256> piece_hashes,
                    const piece_set& have);

  // A session with this peer is established; it may hold the content.
  void handle_peer_added(time_point now, peer_handle p, std::uint16_t peer_max_requests);
  // The peer's bound for this fetch changed (other fetches of ours share its connection): blocks
  // in flight over the new bound are not withdrawn, no more are asked for until below it.
  void handle_peer_limit(time_point now, peer_handle p, std::uint16_t peer_max_requests);
  // The peer's session closed (its outstanding requests go back to be asked elsewhere).
  void handle_peer_removed(time_point now, peer_handle p);

  void handle_manifest_part(time_point now, peer_handle p, const wire::manifest_part& m);
  // The name the peer that sent the manifest gives the content, when it is a valid path
  // component (content.md section 5); else empty.
  const std::string& offered_name() const { return offered_name_; }
  void handle_hashes(time_point now, peer_handle p, const wire::hashes& h);
  void handle_bitfield(time_point now, peer_handle p, const wire::bitfield& b);
  void handle_have(time_point now, peer_handle p, const wire::have& h);
  void handle_block(time_point now, peer_handle p, const wire::block& b);
  void handle_reject(time_point now, peer_handle p, const wire::reject& r);
  void handle_timed_out(time_point now, peer_handle p, wire::request_kind kind,
                        const wire::block_ref& ref);

  // A reader wants these pieces now (the gateway streaming a range): while any of them is
  // missing, the scheduler starts them before all others, lowest index first, instead of the
  // rarest. At most max_wanted pieces are kept; asking again replaces the earlier wish.
  static constexpr std::uint64_t max_wanted = 1024;
  void handle_wanted(time_point now, piece_index first, piece_index last);

  // Time passes: the endgame and pieces deferred by `elsewhere` are timed. Call a few times a
  // second.
  void handle_tick(time_point now);

  // Answers to open_content and write_piece.
  void handle_opened(time_point now, const piece_set& have);
  void handle_piece_written(time_point now, piece_index piece, const result<void>& r);

  std::optional<fetch_action> poll_action();

  const content_id& id() const { return id_; }
  phase current_phase() const { return phase_; }
  fetch_progress progress() const;
  // Bytes of verified block data received from each peer this run.
  std::uint64_t bytes_from(peer_handle p) const;
  // The peer announced every piece (known only once its bitfield arrived).
  bool peer_complete(peer_handle p) const;
  // Pieces the peer announced (0 until its bitfield arrived).
  std::uint64_t peer_pieces(peer_handle p) const;
  // Blocks in flight to the peer and the most it may have now (rate-based, see fetch_config).
  std::uint32_t peer_in_flight(peer_handle p) const;
  std::uint32_t peer_capacity(peer_handle p) const;
  // Blocks received twice in the endgame (the second copy is dropped).
  std::uint64_t duplicate_blocks() const { return duplicate_blocks_; }
  // Why the fetch is not progressing, if it is not: a missing piece no connected peer holds,
  // and what its last holder said; empty while blocks arrive. Updated by handle_tick().
  const std::string& waiting() const { return waiting_; }
  // Bytes of the pieces being received and written (bounded by fetch_config::buffer_bytes_max,
  // give or take the pieces already asked for when it was reached).
  std::uint64_t buffered_bytes() const { return buffered_bytes_; }
  // Its state in words, for finding out why a fetch waits: the phase and pieces, and how many
  // peers are asked, rare-only, deferring pieces or stuck; in full, several lines: a few pieces
  // in progress with whom each block is asked of, and each peer's state. O(peers + pieces in
  // progress).
  std::string describe(time_point now, bool in_full = true) const;

 private:
  // No peer is ever given this handle (the owner numbers peers from 1 up); it marks an endgame
  // slot that is free.
  static constexpr peer_handle no_peer{std::numeric_limits<std::uint64_t>::max()};
  enum class block_state : std::uint8_t { missing, requested, received };
  struct peer_state {
    std::uint32_t limit = 0;     // the most blocks in flight: ours and the peer's bound
    std::uint32_t capacity = 0;  // blocks in flight allowed now, from the measured rate
    std::uint32_t in_flight = 0;
    time_point window_start{};
    std::uint64_t window_bytes = 0;
    bool measured = false;  // capacity comes from a measured rate (else: slow start)
    // The shortest time from a request to its block: about the round trip when its queue was
    // empty.
    duration min_latency = duration::max();
    // Pieces it rejected with `elsewhere`, and until when they are not asked from it again.
    std::map<std::uint64_t, time_point> deferred;
    piece_set deferred_pieces;     // the same pieces as a bitmap (empty until the first): asked
                                   // about for every candidate piece, so it must be cheap
    time_point deferred_next{};    // the earliest time in `deferred` (it is swept then, not before)
    std::optional<piece_set> has;  // once its bitfield arrived and matched the layout
    std::optional<wire::bitfield> early_bitfield;  // arrived before the layout was known
    // Haves that came after that bitfield (or before any), applied with it; bounded by
    // max_early_haves (beyond it they are dropped: the peer is then asked less than it could be).
    std::vector<piece_index> early_haves;
    std::uint32_t timeouts_in_a_row = 0;  // block requests that timed out since its last block
    bool probed = false;         // we asked it for the manifest's last byte (for a bitfield)
    bool lacks_content = false;  // it said not_found
    // It answered `elsewhere` before: a piece newly started with it is asked one block first,
    // and the rest only once that block comes, so that a refusal costs one request, not 16.
    bool refuses_copies = false;
    // Until then (its last `elsewhere` is that recent), it is asked only for pieces no other peer
    // announced: the first-copy rule refuses the rest, and each refusal costs a round trip of
    // its pipeline, which at an origin that a hundred fetches ask is most of its requests.
    time_point rare_only_until{};
    // It had room for requests and held nothing we could ask: schedule() skips it until a piece
    // it holds becomes askable (unstick()), so that each event costs O(peers), not O(peers x
    // pieces), with dozens of peers holding nothing we lack.
    bool stuck = false;
  };
  struct piece_progress {
    aligned_bytes data;
    std::vector<block_state> blocks;
    std::vector<peer_handle> requested_from;
    // Endgame: a second peer asked for the same block; none (value 0) otherwise.
    std::vector<peer_handle> also_from;
    std::vector<time_point> requested_at;
    // The peer asked for the first block of this piece while it may still refuse it; no other
    // block is requested until that one comes (none: value 0 of the no_peer sentinel).
    std::optional<peer_handle> probe;
    unsigned received = 0;
    unsigned unasked = 0;  // blocks `missing`: the piece is in open_ while there are any
  };

  void schedule(time_point now);
  void schedule_for(time_point now, peer_handle p);
  void fill(time_point now, peer_handle p, peer_state& ps);
  void ask(time_point now, peer_handle p, peer_state& ps, piece_index piece, piece_progress& pp,
           std::uint8_t block);
  void start_manifest(time_point now);
  void start_hashes(time_point now);
  void request_next_hashes(time_point now);
  void on_layout_known(time_point now);
  void probe(time_point now, peer_handle p, peer_state& ps);
  void apply_bitfield(time_point now, peer_handle p, peer_state& ps, const wire::bitfield& b);
  void cut_off(time_point now, peer_handle p, wire::reason code, std::string text);
  void release_requests(peer_handle p);
  void release_block(peer_handle p, piece_index piece, std::uint8_t block);
  bool withdraw(piece_index piece, piece_progress& pp, std::size_t block, peer_handle p);
  std::optional<piece_index> pick_piece(peer_state& ps, bool rare_only);
  // A peer's announcement of `piece` counted in (+1) or out (-1).
  void count_holder(const peer_state& ps, std::uint64_t piece, int delta);
  std::optional<std::pair<piece_index, std::uint8_t>> endgame_block(time_point now, peer_handle p,
                                                                    const peer_state& ps);
  void measure(time_point now, peer_state& ps, std::uint64_t bytes);
  void drop_request(peer_handle p);
  // Something of `piece` can be asked again: the peers holding it are scanned again.
  void unstick(piece_index piece);
  bool askable(piece_index piece) const;
  void forget_missing(piece_index piece);
  void check_all_lack(time_point now);
  void check_unheld(time_point now);
  // No new piece may start: buffer_bytes_max or asked_bytes_max would be passed.
  bool buffers_full() const;
  void fail_with(error e);
  std::uint64_t block_length(piece_index piece, unsigned block) const;
  std::uint64_t piece_length(piece_index piece) const;
  peer_state* peer(peer_handle p);
  const peer_state* peer(peer_handle p) const;
  static bool is_deferred(const peer_state& ps, piece_index piece);

  content_id id_;
  fetch_config cfg_;
  std::mt19937_64 rng_;
  crypto::sha256_hasher hasher_;
  phase phase_ = phase::manifest;
  std::map<peer_handle, peer_state> peers_;  // walked in handle order by schedule()
  // The same states by handle, for the lookup every block, have and reject makes (a map's walk
  // from its root was a tenth of a thousand-node simulation's time).
  std::unordered_map<peer_handle, peer_state*> peer_index_;
  std::deque<fetch_action> actions_;

  // Manifest and piece layer.
  std::optional<peer_handle> metadata_peer_;
  std::vector<std::uint8_t> manifest_bytes_;
  std::uint64_t manifest_total_ = 0;
  std::optional<manifest> manifest_;
  std::optional<content_layout> layout_;
  std::vector<hash256> piece_hashes_;
  std::uint64_t hashes_received_ = 0;

  // Blocks.
  piece_set have_;
  std::vector<std::uint32_t> availability_;  // peers holding each piece
  // Of them, peers that do not refuse copies: where an `elsewhere` sends us. A peer that refused
  // one is asked only for pieces none of these holds (rare_only_until); pieces that only
  // refusing peers hold (two complete holders, say) are asked of any of them (issue 18, finding
  // 4: each such refusal left that holder idle for 2 s, and two holders took 2.9 x as long as
  // one).
  std::vector<std::uint32_t> willing_;
  std::vector<std::uint64_t> missing_;  // pieces neither stored, in progress nor writing
  static constexpr std::uint64_t npos = std::numeric_limits<std::uint64_t>::max();
  std::vector<std::uint64_t> missing_pos_;  // index into missing_, or npos
  piece_set missing_set_;                   // the same pieces as missing_, as a bitmap
  std::set<piece_index> wanted_;            // handle_wanted: started first while missing
  std::map<piece_index, piece_progress> in_progress_;
  // The pieces in progress with a block not asked of anyone: what fill() looks through first
  // (in_progress_ also holds the many pieces whose every block is asked). A bitmap, so that
  // fill() ANDs it with what a peer holds a word at a time: with a hundred peers each leaving a
  // piece part-asked, a tree of them cost most of a thousand-node simulation's time.
  piece_set open_;
  std::map<piece_index, bool> writing_;
  std::map<peer_handle, std::uint64_t> bytes_from_;
  std::uint64_t received_bytes_ = 0;
  std::uint64_t stored_bytes_ = 0;
  std::uint64_t duplicate_blocks_ = 0;
  // piece_length of every piece in progress that a block has come for, and of those writing
  std::uint64_t buffered_bytes_ = 0;
  std::uint64_t committed_bytes_ = 0;  // the same for every piece in progress or writing
  // The no-holder rule (fetch_config::unheld_timeout).
  time_point last_block_at_{};
  time_point unheld_since_{};  // epoch: every missing piece has a holder (as last checked)
  time_point unheld_checked_{};
  std::string waiting_;
  std::string offered_name_;
  std::string last_refusal_;  // the last reject that said a peer does not hold a piece
  bool unstuck_ = false;      // a stuck peer was unstuck since schedule() last ran over them all
};

}  // namespace shoal
