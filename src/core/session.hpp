// One peer connection's protocol state, after the TLS handshake: the hello exchange, keepalives
// and idle timeout, the block requests we have outstanding (with deadlines) and the ones the peer
// has outstanding with us (bounded), cancellation, and goodbye (docs/protocol/wire.md).
//
// I/O-free: bytes from the peer come in through handle_bytes(), time through every `now`; bytes
// to send are drained with poll_output() and what the owner must act on with poll_event(). The
// session does not know the store or the content: it hands requests to its owner (which answers
// with send_block() or send_reject()) and answers to the owner's fetch (which verifies blocks).
//
// Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/wire.hpp"

namespace shoal {

struct session_config {
  duration hello_timeout = 10s;
  duration keepalive_interval = 15s;
  duration idle_timeout = 45s;
  duration request_timeout = 20s;    // a request unanswered this long is given up
  std::uint16_t max_requests = 256;  // block requests we accept outstanding from the peer
  std::uint16_t listen_port = 0;     // told in our hello, so that peers can pass it on
  std::string agent = "shoal/0.1.0";
};

// What a session tells its owner.
namespace session_events {
struct established {
  std::uint16_t version = 0;
  std::uint16_t peer_max_requests = 0;  // our block requests the peer will queue
  std::uint16_t peer_listen_port = 0;   // where the peer accepts connections (0: nowhere)
  std::string peer_agent;
};
struct closed {
  wire::reason code = wire::reason::none;
  std::string text;
  bool by_peer = false;  // the peer said goodbye or hung up, rather than us closing
};
// One of our requests got no answer in time. It is withdrawn (a cancel was sent).
struct timed_out {
  wire::request_kind kind = wire::request_kind::block;
  wire::block_ref ref;
};
// The session refused one of the peer's requests itself (over the bound it announced); the
// reject is sent. Reported so that the node counts it with the refusals it makes.
struct refused {
  wire::reason code = wire::reason::none;
};
}  // namespace session_events

// The peer's requests (get_manifest, get_hashes, request) and answers (manifest_part, hashes,
// block, reject), announcements (bitfield, have, peers), DHT messages and revocation lists are
// passed on as the wire messages.
using session_event =
    std::variant<session_events::established, session_events::closed, session_events::timed_out,
                 session_events::refused, wire::get_manifest, wire::manifest_part, wire::get_hashes,
                 wire::hashes, wire::bitfield, wire::have, wire::request, wire::block, wire::reject,
                 wire::peers, wire::dht_query, wire::dht_nodes, wire::dht_announce, wire::dht_ack,
                 wire::revocations>;

class session {
 public:
  enum class state { awaiting_hello, open, closed };

  // A connection that has just completed its TLS handshake; sends our hello at once.
  session(session_config cfg, time_point now);

  // --- input --------------------------------------------------------------------------------
  void handle_bytes(time_point now, byte_span bytes);
  // The peer closed its side of the stream.
  void handle_eof(time_point now);
  // Runs timers: hello timeout, keepalive, idle timeout, request deadlines.
  void handle_tick(time_point now);

  // --- our requests (the fetch side) ------------------------------------------------------------
  void send_get_manifest(time_point now, const content_id& c, std::uint64_t offset);
  void send_get_hashes(time_point now, const content_id& c, piece_index first, std::uint32_t count);
  // REQUIRES: the session is open; the block is not already requested on this session. Sent at
  // once while fewer than the peer's bound are outstanding; else held here and sent, in order,
  // as answers free room (several fetches share a connection, and their shares of the bound may
  // overlap while they are rebalanced). A held request's deadline starts when it is sent.
  void send_request(time_point now, const wire::block_ref& ref);
  // Withdraws a request: a held one is dropped, a sent one is cancelled on the wire.
  void send_cancel(time_point now, const wire::block_ref& ref);
  // A request made now would be sent at once.
  bool can_request() const { return state_ == state::open && requests_.size() < peer_max_; }
  std::size_t requests_outstanding() const { return requests_.size(); }
  std::size_t requests_held() const { return held_requests_.size(); }
  bool is_requested(const wire::block_ref& ref) const;

  // --- answers and announcements (the serving side) ---------------------------------------------
  void send_manifest_part(time_point now, wire::manifest_part m);
  void send_hashes(time_point now, wire::hashes h);
  // A block for a request the peer made; dropped if the peer cancelled it meanwhile.
  void send_block(time_point now, wire::block b);
  void send_reject(time_point now, wire::reject r);
  void send_bitfield(time_point now, wire::bitfield b);
  void send_have(time_point now, const content_id& c, piece_index p);
  void send_peers(time_point now, wire::peers p);
  // A DHT message (query, answer, announce or ack); the DHT (core/dht.hpp) matches answers to
  // queries and keeps their deadlines, not the session.
  void send_dht(time_point now, const wire::message& m);

  // DHT requests (queries and announces) the peer may send: a burst, then a steady rate.
  static constexpr int dht_burst = 200;
  static constexpr int dht_per_second = 100;

  // Any message the node sends (node_actions::send), by the method above that fits it. The node
  // sends no hello, keepalive or goodbye: those are the session's own.
  void send_message(time_point now, wire::message m);

  // Sends goodbye and closes. Output queued and not yet polled is dropped (the goodbye goes
  // first), unless `keep_queued`: then it goes before the goodbye (a revocation list the peer
  // must read to trust it). Further input is ignored; output still drains the goodbye.
  void close(time_point now, wire::reason code, std::string text, bool keep_queued = false);
  // The session closed with keep_queued: its host must not drop output it holds either.
  bool kept_backlog() const { return kept_backlog_; }

  // --- output ---------------------------------------------------------------------------------
  // Bytes to write to the peer (moved out; empty if none).
  std::vector<std::uint8_t> poll_output();
  std::optional<session_event> poll_event();
  // When handle_tick() next has something to do (nothing once closed).
  std::optional<time_point> next_deadline() const;

  state current_state() const { return state_; }
  bool closed() const { return state_ == state::closed; }
  std::uint64_t bytes_received() const { return bytes_in_; }
  std::uint64_t bytes_sent() const { return bytes_out_; }

 private:
  struct pending_key {
    wire::request_kind kind;
    wire::block_ref ref;
    auto operator<=>(const pending_key&) const = default;
  };
  void send(time_point now, const wire::message& m);
  void on_message(time_point now, wire::message m);
  void on_hello(time_point now, const wire::hello& h);
  void on_answer(time_point now, wire::request_kind kind, const wire::block_ref& ref,
                 session_event ev);
  void withdraw(const pending_key& key);
  void send_held(time_point now);
  void on_peer_request(time_point now, const wire::request& r);
  void fail(time_point now, wire::reason code, std::string text);
  void finish(wire::reason code, std::string text, bool by_peer);
  bool take_dht_budget(time_point now);

  session_config cfg_;
  state state_ = state::awaiting_hello;
  time_point opened_;
  time_point last_received_;
  time_point last_sent_;
  std::uint16_t peer_max_ = 0;
  wire::frame_reader reader_;
  std::vector<std::uint8_t> out_;
  bool kept_backlog_ = false;
  std::size_t unpolled_hello_ = 0;  // bytes of our hello at the front of out_, until polled
  std::deque<session_event> events_;
  // Our outstanding block requests and their deadlines.
  std::map<wire::block_ref, time_point> requests_;
  // Block requests over the peer's bound, oldest first (send_request).
  std::deque<wire::block_ref> held_requests_;
  // Our outstanding manifest and hash requests (keyed by content and offset / first piece).
  std::map<pending_key, time_point> metadata_requests_;
  // Requests we withdrew; a late answer to one of them is dropped, not a violation. Bounded.
  std::set<pending_key> withdrawn_;
  std::deque<pending_key> withdrawn_order_;
  // Block requests the peer has outstanding with us, handed to the owner to answer.
  std::set<wire::block_ref> peer_requests_;
  int peer_metadata_ = 0;               // manifest and hash requests the peer has outstanding
  std::uint32_t overload_rejects_ = 0;  // requests refused in a row for exceeding the bound
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  double dht_budget_ = dht_burst;
  time_point dht_budget_at_{};
};

}  // namespace shoal
