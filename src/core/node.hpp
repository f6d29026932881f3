// The node: one member's protocol layer, which the daemon (src/host/daemon.cpp) and the simulator
// (src/sim) both drive. It combines the leaves of the core (a session per connection is the
// host's; the fetches, the swarm, the DHT node and the block answers are here) and holds every
// rule between them: which connections a fetch uses, when a peer is redialed and when it is
// given up, who is cut off, the duplicate-connection rule, idle close, the full-swarm hang-up, the
// dial bounds, node-ID checks on peer-exchange and DHT dials, who keeps a connection after a
// fetch ends, the serving answers and their range checks, holder discovery and its back-off, and
// the order of a tick (docs/architecture.md, "The node").
//
// I/O-free: the host reports what happened with handle_*(now, ...) and drains what to do with
// poll_action(): dial, send a message on a session, close a session, load a content's metadata,
// read a piece, open a content, write a piece, log a line, report a fetch's end. Outputs are
// queued, never called back into, so the host may act on them in any order after the call that
// queued them. Peers are opaque handles that the node gives out (new dials and accepted
// connections alike). Randomness comes from the seed.
//
// Files: node.cpp (inputs, the tick), node_links.cpp (connections and their rules, peer
// exchange), node_jobs.cpp (fetch jobs and their give-up rules), node_serving.cpp (answers),
// node_dht.cpp (the DHT's connections, discovery and bootstrap), node_membership.cpp (the
// revocation list: adopting, spreading, cutting revoked members off).
//
// Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/address.hpp"
#include "core/dht.hpp"
#include "core/fetch.hpp"
#include "core/revocation.hpp"
#include "core/session.hpp"
#include "core/swarm.hpp"
#include "crypto/sha256.hpp"

namespace shoal {

// Every bound and interval of the node's rules, shared by the daemon and the simulator.
struct node_config {
  node_id self;
  // A fetch's connections (sources, peers it dialed, peers that dialed it), and the members of
  // a fetched content's swarm (core/swarm.hpp, full()).
  std::size_t max_swarm_peers = swarm::max_fetch_members;
  // A dialed address that closes is redialed after 1, 2, 4, 8 and 16 s, then given up; the
  // count starts again once a connection to it delivers verified data.
  int max_redials = 5;
  // A connection no fetch of ours uses and over which the peer has asked nothing this long is
  // closed (the peer closes it too once its fetch ends; this covers peers that just hold on).
  duration idle_close = std::chrono::seconds(20);
  // The DHT's side of the pool: messages waiting for a connection to their node, per node, and
  // connections being dialed for the DHT at once.
  std::size_t max_dht_outbox = 16;
  std::size_t max_dht_dials = 32;
  // Members waiting for one of those dials to free up (their messages wait in their outbox):
  // beyond this, a message to a member with no connection is dropped and its query times out.
  // Dials to unreachable members can hold every slot for seconds (a split, powered-off hosts),
  // and a query to a reachable one must not be dropped for it.
  std::size_t max_dht_dial_queue = 256;
  // A fetch looks for more holders in the DHT this often (a rollout adds holders as it goes),
  // and gives up after this many lookups in a row leave it nothing to fetch from.
  duration rediscover_interval = std::chrono::seconds(30);
  int max_fruitless_lookups = 6;
  // How often the host calls handle_tick (the node's timers are checked then).
  duration tick_interval = std::chrono::milliseconds(250);
  // Pieces kept read for serving, and contents whose metadata is kept loaded.
  std::size_t piece_cache = 16;
  std::size_t content_cache = 64;
  std::size_t recent_lookups_kept = 16;
  // Peers dialed while the DHT knows no member, with back-off up to a minute.
  std::vector<address> bootstrap;
  // Debug lines are built and queued only when the host will print them.
  bool debug_logs = false;
  fetch_config fetch;  // fetch.synthetic_blocks also makes the serving side send synthetic blocks
  dht::config dht;
  // The network's name and its authority's public key: a revocation list is adopted only when
  // it is made for this network and signed by this key (membership.md, section 9). Without a
  // key every list is refused.
  std::string network;
  std::optional<crypto::ed25519_public_key> authority_key;
  // A node that adopts a newer list sends it on every open connection, and to members of its
  // DHT routing table that it is not connected to (dialing them): its closest neighbours, and
  // this many more at random, so that the list spreads epidemically past the connections that
  // happen to be open (node_membership.cpp).
  std::size_t revocation_neighbours = 4;
  std::size_t revocation_fanout = 8;
};

// What the node knows of a content it holds, all or some of (node_actions::load_content).
struct held_content {
  std::vector<std::uint8_t> manifest_bytes;
  // The name the store keeps for it, sent to fetchers as a hint (wire.md 4.5); may be empty.
  std::string name;
  std::vector<hash256> piece_hashes;
  content_layout layout;
  piece_set have;
};

// A piece read from the store for serving: its bytes and its blocks' leaf hashes.
struct piece_data {
  std::vector<std::uint8_t> bytes;
  std::vector<hash256> leaves;
};

enum class log_level { debug, info, warn, error };

// A DHT lookup as reported (status, progress).
struct lookup_summary {
  dht::lookup_kind kind = dht::lookup_kind::get_providers;
  std::string target;  // hex
  std::size_t queries = 0, answered = 0, failed = 0, rounds = 0, providers = 0;
  double ms = 0;
};

// What a fetch is doing, for people (the progress line, status): in this order, the first that
// holds. Peers serving it: reading the metadata (the manifest and piece hashes) or fetching
// blocks. None: a DHT lookup for holders runs, connections are in their handshake, addresses
// wait to be dialed again, or nothing is left to try until the next lookup.
enum class fetch_stage { metadata, fetching, looking_up, connecting, redialing, waiting };
const char* fetch_stage_name(fetch_stage s);

// A fetch as reported while it runs and when it ends.
struct fetch_report {
  content_id id;
  fetch_progress progress;
  std::map<std::string, std::uint64_t> from;  // verified bytes per peer address
  std::uint64_t from_sources = 0;             // of them, from --from sources
  std::uint64_t from_peers = 0;
  std::uint64_t duplicate_blocks = 0;
  std::uint64_t full_swarms = 0;  // peers that hung up because their swarm was full
  std::string waiting;
  fetch_stage stage = fetch_stage::waiting;
  std::size_t connecting = 0;  // connections of this fetch still in their TLS or hello handshake
  std::size_t redialing = 0;   // addresses to be dialed again after a failure
  bool origin_only = false;
  int lookups = 0;
  std::size_t holders_found = 0;
  std::optional<lookup_summary> last_lookup;
  duration elapsed{};
};

namespace node_actions {
// Open a connection to `to`; its events come back under `peer`.
struct dial {
  peer_handle peer;
  address to;
};
// Send this message on the peer's session.
struct send {
  peer_handle peer;
  wire::message msg;
};
// Say goodbye with this reason and close; a connection not yet open is just dropped.
struct close {
  peer_handle peer;
  wire::reason code = wire::reason::done;
  std::string text;
  // The messages sent on it before go first (session::close): the peer needs them to trust
  // the goodbye (the revocation list that says why it is cut off).
  bool keep_queued = false;
};
struct log {
  log_level level = log_level::info;
  std::string text;
};
// Look up a content this node holds: answer with handle_content_loaded (messages about it wait).
struct load_content {
  content_id id;
};
// Read a piece for serving: answer with handle_piece_read.
struct read_piece {
  content_id id;
  piece_index piece;
};
// A fetch verified the manifest and piece layer: open (or resume) the content in the store, then
// call handle_opened with the pieces it already holds.
struct open_content {
  content_id id;
  manifest m;
  std::vector<hash256> piece_hashes;
  std::string name;
};
// Every block of the piece is verified: write it, then call handle_piece_written.
struct write_piece {
  content_id id;
  piece_index piece;
  aligned_bytes data;
};
// The piece is recorded as stored (the host's readers of the content may refresh).
struct piece_stored {
  content_id id;
  piece_index piece;
};
// The fetch ended: complete (`why` ok) or not (pieces stored are kept).
struct fetch_ended {
  content_id id;
  error why;
  fetch_report report;
};
// A revocation list newer than the one held was adopted: keep it (the host stores it in the data
// directory and hands it back with handle_revocations at start). If it revokes this node, the
// node has closed every connection and ended every fetch; the host stops.
struct revocations_adopted {
  std::vector<std::uint8_t> bytes;
  std::uint64_t serial = 0;
  std::size_t revoked = 0;
  std::optional<revoked_member> self;  // this node is revoked, with the authority's reason
};
// A lookup the host started (node::lookup) ended.
struct lookup_ended {
  dht::lookup_id id = 0;
  lookup_summary summary;
  std::vector<wire::peer_entry> closest;        // answered members, closest first
  std::vector<wire::provider_entry> providers;  // get_providers: holders found
};
}  // namespace node_actions

using node_action =
    std::variant<node_actions::dial, node_actions::send, node_actions::close, node_actions::log,
                 node_actions::load_content, node_actions::read_piece, node_actions::open_content,
                 node_actions::write_piece, node_actions::piece_stored, node_actions::fetch_ended,
                 node_actions::lookup_ended, node_actions::revocations_adopted>;

// What went wrong between this node and its peers, counted since it started (the host's
// /metrics) and the last few in words (its status and dashboard): an operator's first question
// when a fetch is slow is who refused whom, and why.
struct node_counters {
  std::map<wire::reason, std::uint64_t> rejects_sent;      // requests this node refused
  std::map<wire::reason, std::uint64_t> rejects_received;  // requests its peers refused
  std::uint64_t cut_offs = 0;              // peers a fetch stopped using (bad blocks among them)
  std::uint64_t bad_blocks = 0;            // peers cut off for a block that failed verification
  std::uint64_t refused_dials = 0;         // dials whose certificate check failed, on either side
  std::uint64_t revoked_refused = 0;       // connections to or from revoked members closed
  std::uint64_t revocation_lists = 0;      // newer lists adopted
  std::uint64_t bad_revocation_lists = 0;  // lists from peers refused (forged, foreign, bad)
};
struct node_problem {
  time_point at;
  std::string peer;  // describe(p): name and address
  std::string what;
};

// Who a connection's TLS handshake authenticated.
struct authenticated_peer {
  node_id id;
  std::string name;
  // The peer's IP address (port 0), if known: where it listens once its hello says the port.
  std::optional<wire::peer_entry> ip;
  // When its certificate expires, on the clock of `now` (none: never, as in the simulator). The
  // connection is closed then: admission holds only while the certificate does.
  std::optional<time_point> expires;
};

// A fetch to start (node::start_fetch).
struct fetch_request {
  content_id id;
  // The name to keep it under; empty: the name its holder gives with the manifest, if valid,
  // else the content ID.
  std::string name;
  std::vector<address> sources;  // --from
  bool origin_only = false;      // the sources alone: no DHT, no peer exchange, no announcements
  // The store already holds the manifest, piece layer and these pieces (an interrupted fetch).
  struct resume_state {
    manifest m;
    std::vector<hash256> piece_hashes;
    piece_set have;
  };
  std::optional<resume_state> resume;
};

class node {
 public:
  node(node_config cfg, std::uint64_t seed);
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  // --- connections ---------------------------------------------------------------------------
  // A connection was accepted (its TLS handshake begins): its handle.
  peer_handle handle_accepted(time_point now, std::string remote);
  // A connection's TLS handshake verified the peer; its session has queued our hello.
  void handle_authenticated(time_point now, peer_handle p, const authenticated_peer& who);
  // A dialed connection could not be made (unreachable) or one side refused the other's
  // certificate (untrusted); handle_closed follows.
  void handle_dial_failed(time_point now, peer_handle p, bool untrusted, const std::string& why);
  // What the connection's session reported.
  void handle_session_event(time_point now, peer_handle p, session_event ev);
  // The connection is gone.
  void handle_closed(time_point now, peer_handle p);
  // Timers: fetches, redials, the DHT, discovery, bootstrap, idle connections, certificates.
  void handle_tick(time_point now);
  // This node's own certificate expires at `expires` (on the clock of `now`): from then on
  // every connection is closed, since no member would admit it any more. With its `lifetime`
  // (notAfter less notBefore), the node warns once when a fifth of it is left, so that an
  // operator renews it in time.
  void handle_own_certificate(time_point now, std::optional<time_point> expires,
                              std::optional<duration> lifetime = std::nullopt);

  // --- membership (node_membership.cpp) -------------------------------------------------------
  // A revocation list from the host: the one stored at start, or one published by
  // `shoal network revoke`. Adopted (true) if it is valid and newer than the one held, else
  // false for an older or equal serial, or the error that refused it.
  result<bool> handle_revocations(time_point now, byte_span list);
  const std::optional<revocation_list>& revocations() const { return revocations_; }
  // This node's own certificate is revoked: it closed every connection and fetches nothing.
  bool revoked() const { return self_revoked_; }

  // --- the store ------------------------------------------------------------------------------
  // The store holds `pieces_held` pieces of this content (complete: all of them): said for every
  // content at start, and again whenever the store changes other than by a fetch (an add, a
  // verify that found damaged pieces). Contents with pieces are announced in the DHT; what the
  // node kept of the content's metadata is loaded again when next needed.
  void handle_held(time_point now, const content_id& id, std::uint64_t pieces_held, bool complete);
  // The store no longer holds this content (it was removed): it is neither served nor announced.
  void handle_dropped(time_point now, const content_id& id);
  // Answers to load_content (nullopt: not held after all), read_piece, open_content and
  // write_piece. `fetch_seq` is the fetch's number (fetch_seq()), so that an answer for a fetch
  // that ended is dropped.
  void handle_content_loaded(time_point now, const content_id& id,
                             std::optional<held_content> content);
  void handle_piece_read(time_point now, const content_id& id, piece_index piece,
                         result<piece_data> data);
  void handle_opened(time_point now, const content_id& id, std::uint64_t fetch_seq,
                     result<piece_set> have);
  void handle_piece_written(time_point now, const content_id& id, std::uint64_t fetch_seq,
                            piece_index piece, const result<void>& r);

  // --- fetches -------------------------------------------------------------------------------
  // Why a fetch of these sources cannot start (no peer to fetch from), if it cannot.
  std::optional<error> fetch_impossible(const fetch_request& r) const;
  // Starts a fetch (REQUIRES: none of the content runs, fetch_impossible() is nothing); or, if
  // one runs, dials the sources it does not know yet.
  void start_fetch(time_point now, fetch_request r);
  bool fetching(const content_id& id) const { return jobs_.contains(id); }
  // The number the running fetch of `id` was given (for the store answers).
  std::uint64_t fetch_seq(const content_id& id) const;
  // A reader waits for these pieces of a running fetch (the gateway streaming a range): they
  // are started before all others (fetch::handle_wanted). Nothing if no fetch of `id` runs.
  void handle_wanted(time_point now, const content_id& id, piece_index first, piece_index last);
  // Ends a fetch with this error (pieces stored are kept).
  void stop_fetch(time_point now, const content_id& id, const error& why);
  // Ends every fetch with `why` (the node shuts down) and says goodbye on every connection.
  void shutdown(time_point now, const error& why);

  // --- the DHT -------------------------------------------------------------------------------
  // Starts a lookup of `target` for the host (a diagnostic; the simulator's DHT scenario), over
  // the node's own connections as a fetch's discovery is; its end comes out as lookup_ended.
  // Nothing if the DHT runs max_lookups already.
  std::optional<dht::lookup_id> lookup(time_point now, dht::lookup_kind kind,
                                       const dht::key& target);

  std::optional<node_action> poll_action();

  // --- what it is doing ---------------------------------------------------------------------
  std::optional<fetch_report> report(time_point now, const content_id& id) const;
  std::vector<content_id> fetches() const;
  // The fetches a connection serves (any number share one connection), and their per-peer
  // figures.
  struct peer_fetch {
    content_id id;
    std::uint32_t in_flight = 0, capacity = 0;
    std::uint64_t pieces = 0;
  };
  std::vector<peer_fetch> fetches_of(peer_handle p) const;
  // The fetch's state in words (fetch::describe), empty if none runs.
  std::string describe_fetch(time_point now, const content_id& id, bool in_full) const;
  const swarm& swarms() const { return swarm_; }
  const dht::node& dht() const { return dht_; }
  const std::deque<lookup_summary>& recent_lookups() const { return recent_lookups_; }
  const node_counters& counters() const { return counters_; }
  // The last max_recent_problems refused dials and cut-off peers, oldest first.
  static constexpr std::size_t max_recent_problems = 32;
  const std::deque<node_problem>& recent_problems() const { return recent_problems_; }
  // The bootstrap addresses, each with why its last dial failed, if it did.
  std::string bootstrap_text() const;
  std::string describe(peer_handle p) const;
  const node_config& cfg() const { return cfg_; }

 private:
  // --- links (node_links.cpp) ---
  struct link {
    bool dialer = false;
    std::string remote;  // the address dialed, or the one the connection came from
    std::optional<authenticated_peer> who;
    bool open = false;    // the hello exchange is done
    bool closed = false;  // a goodbye was said or heard: no more messages
    std::uint16_t max_requests = 0;
    std::uint16_t listen_port = 0;
    time_point last_useful{};
    // The fetches that use it, or will once it opens: one connection per pair of nodes carries
    // every fetch between them (issue 18, findings 3 and 14).
    std::set<content_id> jobs;
    bool refused = false;             // its certificate was refused
    bool full = false;                // the peer hung up: its swarm of our content was full
    std::optional<node_id> dht_dial;  // dialed for the DHT, to this node
    bool bootstrap = false;           // dialed to a bootstrap peer
  };
  struct used_peer {
    std::string address;
    bool source = false;
  };
  // A fetch in progress and what the node keeps for it (node_jobs.cpp).
  struct job {
    job(const content_id& id, const fetch_config& cfg, std::uint64_t seed, std::uint64_t n)
        : f(id, cfg, seed), seq(n) {}
    fetch f;
    std::uint64_t seq;
    std::string name;
    std::vector<address> sources;
    std::map<peer_handle, address> dialed;  // live connections and where they go
    // Per address, since a connection to it last delivered verified data: an answer to the
    // handshake alone does not count, or a peer that misbehaves after its hello is redialed for
    // ever (issue 18, finding 12).
    std::map<std::string, int> redials;
    // Addresses cut off by this fetch (a bad block, a protocol violation, a stall): never
    // dialed again for it, whatever names them.
    std::set<std::string> cut_off;
    // Members cut off by this fetch, by node ID: a liar that dials us back, from any address,
    // is not used again (in the simulator's mixed run, 2 liars were cut off 4,261 times).
    std::set<node_id> cut_off_nodes;
    std::map<std::string, std::pair<address, time_point>> redialing;  // and when each is due
    // Every connection the fetch uses: dialed ones and peers that dialed us for this content.
    std::set<peer_handle> attached;
    // Dials to peers learned by peer exchange or the DHT, and the node each should turn out
    // to be.
    std::map<peer_handle, node_id> pex_dials;
    std::map<peer_handle, used_peer> used;  // every connection it has used, for byte counts
    bool origin_only = false;
    // Holders are looked up in the DHT (every fetch but an --origin-only one).
    bool discover = false;
    std::optional<dht::lookup_id> lookup;
    time_point next_lookup{};
    time_point lookup_ended{};
    int fruitless = 0;
    int lookups = 0;
    std::set<node_id> providers_found;
    std::optional<lookup_summary> last_lookup;
    // Addresses not dialed again: redialed max_redials times without an answer, or whose swarm
    // of the content was full.
    std::set<std::string> gave_up;
    std::uint64_t full_swarms = 0;
    bool opened = false;     // open_content answered: the store holds its pieces from now on
    bool providing = false;  // announced in the DHT as a partial holder
    bool bad_block = false;  // a peer was cut off for a block that failed verification
    piece_set have;          // pieces stored (once opened)
    time_point started{};
    std::string last_problem;
    // No connection, no redial and no DHT lookup pending: nothing can make progress. A fetch
    // with --from sources ends when they are gone (the DHT only adds peers to it); one without
    // waits for the DHT to find holders or give up.
    bool idle() const {
      return dialed.empty() && redialing.empty() && attached.empty() &&
             !(discover && sources.empty());
    }
  };

  link* find_link(peer_handle p);
  const link* find_link(peer_handle p) const;
  // The fetch of `c`, if connection `p` carries it.
  job* job_for(peer_handle p, const content_id& c);
  // The running fetches connection `p` carries (or will once it opens).
  std::vector<content_id> jobs_on(peer_handle p) const;
  // The fetch of `j` stops using `p`'s peer for good: its address is not dialed again and its
  // node is not attached again, whatever connection it comes on.
  void cut_off_peer(job& j, peer_handle p);
  // Splits the peer's request bound between the fetches attached to `p`.
  void share_requests(time_point now, peer_handle p);
  // The fetch of `j` takes over connection `p` to a node it used another way: at once if `p` is
  // open, else once it opens; redialed at `a` if it closes too.
  void adopt(time_point now, job& j, peer_handle p, const std::optional<address>& a);
  // A connection to node `n` that is not closed (open ones first), if there is one.
  std::optional<peer_handle> link_to(const node_id& n) const;
  peer_handle new_handle() { return peer_handle(++next_peer_); }
  peer_handle open_link(time_point now, const address& a);
  void on_established(time_point now, peer_handle p, const session_events::established& e);
  void on_session_closed(time_point now, peer_handle p, const session_events::closed& e);
  bool close_if_duplicate(time_point now, peer_handle p);
  bool connected_to(const node_id& n) const;
  std::optional<peer_handle> open_to(const node_id& n) const;
  std::optional<wire::peer_entry> peer_entry_of(const link& l) const;
  bool useful(time_point now, peer_handle p, const content_id& content);
  void note_interest(time_point now, peer_handle p, const content_id& x);
  void learn_peers(time_point now, peer_handle p, const wire::peers& msg);
  enum class holder_use { added, skipped, full };
  holder_use use_holder(time_point now, job& j, const wire::peer_entry& e,
                        std::vector<peer_handle>& to_attach);
  void attach_all(time_point now, const content_id& cid, const std::vector<peer_handle>& ps);
  void attach(time_point now, job& j, peer_handle p);
  void announce_to(time_point now, job& j, peer_handle p);
  void close_link(time_point now, peer_handle p, wire::reason code, std::string text,
                  bool keep_queued = false);
  void close_idle(time_point now);
  // Closes the connections whose certificate (the peer's, or ours) has expired.
  void close_expired(time_point now);
  void send(peer_handle p, wire::message m);
  void note(log_level level, std::string text);

  // --- jobs (node_jobs.cpp) ---
  template <typename T>
  void forward(time_point now, peer_handle p, const T& msg);
  void pump(time_point now, const content_id& cid);
  // Dials `a` for the fetch, or joins a connection already dialed there (to node `expect`, if
  // given). REQUIRES: the fetch runs. Attaching an open one is the caller's (attach_all).
  peer_handle dial(time_point now, const content_id& cid, const address& a,
                   std::optional<node_id> expect = std::nullopt);
  void link_closed_for_job(time_point now, peer_handle p, const link& l, const content_id& cid);
  void run_redials(time_point now);
  void finish_job(time_point now, const content_id& cid, const error& e);
  fetch_report report_of(time_point now, const job& j) const;

  // --- serving (node_serving.cpp) ---
  // A message about a content this node may hold, waiting for its metadata (load_content).
  using waiting_message =
      std::variant<wire::get_manifest, wire::get_hashes, wire::request, wire::bitfield, wire::have>;
  struct cached_piece {
    content_id content;
    piece_index piece;
    piece_data data;
  };
  bool holds(const content_id& id) const;
  // Answers `m` (or feeds the first-copy rule with it) once the content's metadata is loaded.
  void answer(time_point now, peer_handle p, const content_id& id, waiting_message m);
  void serve(time_point now, peer_handle p, const waiting_message& m, const held_content* h);
  void serve_manifest(time_point now, peer_handle p, const wire::get_manifest& g,
                      const held_content* h);
  void serve_hashes(time_point now, peer_handle p, const wire::get_hashes& g,
                    const held_content* h);
  void serve_block(time_point now, peer_handle p, const wire::block_ref& ref,
                   const held_content* h);
  void send_block(peer_handle p, const wire::block_ref& ref, const piece_data& data);
  void forget_content(const content_id& id);
  void piece_now_stored(const content_id& id, piece_index piece);

  // --- membership (node_membership.cpp) ---
  void on_revocations(time_point now, peer_handle p, const wire::revocations& m);
  void adopt_revocations(time_point now, revocation_list l, std::vector<std::uint8_t> bytes,
                         std::optional<peer_handle> from);
  // On a connection that just opened: cuts it if the peer is revoked, or this node is (true).
  bool revocation_check(time_point now, peer_handle p);
  void cut_revoked(time_point now, peer_handle p);

  // --- the DHT (node_dht.cpp) ---
  wire::peer_entry dht_entry_of(const link& l) const;
  bool dht_established(time_point now, peer_handle p);
  void dht_connection_closed(time_point now, peer_handle p, const link& l);
  void pump_dht(time_point now);
  void send_dht(time_point now, const wire::peer_entry& to, wire::message m);
  std::size_t dht_dials() const;
  void dial_queued_dht(time_point now);  // a DHT dial slot may be free
  void on_providers_found(time_point now, const dht::actions::providers_found& found);
  void on_lookup_done(time_point now, const dht::actions::lookup_done& done);
  void discover(time_point now, job& j);
  void bootstrap_tick(time_point now);

  node_config cfg_;
  std::mt19937_64 rng_;
  crypto::sha256_hasher hasher_;
  std::deque<node_action> actions_;
  std::uint64_t next_peer_ = 0;
  std::uint64_t next_job_ = 0;
  bool stopping_ = false;
  std::optional<time_point> own_expiry_;  // handle_own_certificate
  std::optional<duration> own_lifetime_;
  bool own_expired_ = false;                    // said once
  bool own_warned_ = false;                     // that it expires soon, said once
  std::optional<revocation_list> revocations_;  // the newest valid list seen
  std::vector<std::uint8_t> revocation_bytes_;  // and its encoding, as sent
  bool self_revoked_ = false;
  std::map<peer_handle, link> links_;
  std::map<content_id, job> jobs_;
  swarm swarm_;
  dht::node dht_;
  // Serving: what the store holds, the metadata loaded, messages waiting for a load, pieces
  // read and requests waiting for a read.
  std::map<content_id, bool> held_;  // complete?
  std::map<content_id, held_content> contents_;
  std::deque<content_id> contents_order_;  // loaded, oldest first
  std::map<content_id, std::vector<std::pair<peer_handle, waiting_message>>> loading_;
  std::deque<cached_piece> pieces_;
  std::map<std::pair<content_id, piece_index>, std::vector<std::pair<peer_handle, wire::block_ref>>>
      reading_;
  // The DHT's connections and discovery.
  std::map<node_id, std::deque<wire::message>> dht_outbox_;
  std::map<dht::lookup_id, content_id> discovery_;
  std::set<dht::lookup_id> host_lookups_;  // lookup()
  std::deque<node_id> dht_dial_queue_;     // waiting for a DHT dial slot, oldest first
  std::map<node_id, wire::peer_entry> dht_dial_address_;  // and where each listens
  // Members whose duplicate connection closed before the one that stays opened: the DHT asks
  // them again once it does (close_if_duplicate).
  std::set<node_id> dht_reask_;
  std::deque<lookup_summary> recent_lookups_;
  node_counters counters_;
  std::deque<node_problem> recent_problems_;
  void problem(time_point now, peer_handle p, std::string what);
  std::map<std::string, std::string> bootstrap_problems_;  // address: why its last dial failed
  time_point next_bootstrap_{};
  int bootstrap_attempts_ = 0;
};

// Where a peer entry listens, as an address to dial.
address address_of(const wire::peer_entry& e);

}  // namespace shoal
