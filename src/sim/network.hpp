// The simulated network both scenarios run on (docs/simulation.md, "The network"): members that
// each run the real node (core/node.hpp), connections that run the real session (core/session.hpp)
// on each side, and links that carry one frame at a time: each member has an upload and a
// download rate and a one-way latency share (a pair's latency is the sum of theirs), a connection
// opens after TCP's and TLS 1.3's handshakes (two round trips), and frames are charged for their
// TLS records and packet headers at the configured MTU (block_wire_bytes). The node's dial, send
// and close actions are carried out here; everything else it asks for (the store, a fetch's or a
// lookup's end) goes to the scenario, which derives from this class and answers through the node.
//
// Faults: a member killed (its peers' connections are reset one latency later) or powered off
// (they hear nothing until their sessions time out); restarted with a new node; a loss rate
// (a lost packet arrives late, after TCP's retransmission timeout, and holds up the frames behind
// it on its connection); and a split (scenario-defined: frames between the sides are lost, as if
// delayed past every timeout, and dials across it fail).
//
// Thread safety: one thread.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/node.hpp"
#include "core/session.hpp"
#include "sim/world.hpp"

namespace shoal::sim {

// What a block of `data` bytes costs on a link with this MTU: its frame (the length prefix, the
// type, the reference, the proof), split into TLS 1.3 records of at most 16 KiB (5 bytes of
// header, 1 of content type, 16 of tag each), sent in TCP segments of MTU - 52 bytes (IPv4 20,
// TCP 20, timestamps 12) that each carry those 52 and Ethernet's 14. Averaged over a stream of
// blocks, so fractional. mtu 0: `data` alone.
double block_wire_bytes(std::uint64_t data, std::uint32_t mtu);

class network {
 public:
  // One connection: member a dialed member b. Each side knows it by its own handle.
  struct conn {
    std::size_t a = 0, b = 0;
    peer_handle pa, pb;
    bool open = false;              // TCP and TLS are done: each side has its session
    bool gone[2] = {false, false};  // the side has forgotten it (handle_closed)
    // Each side's session, the real one, as the daemon's connections hold.
    std::optional<session> s[2];
    bool dropped[2] = {false, false};  // at its session's close, what was queued went
    // What each side's session has output and its upload has not yet carried, in order, frame
    // by frame: the session's output, TLS's and TCP's send buffers, one byte stream (so a
    // request waits behind the blocks sent before it, as it does on a real connection).
    std::deque<std::vector<std::uint8_t>> queued[2];
    // When the last frame each side sent arrives: a later frame never overtakes it.
    time_point last_arrival[2]{};
    int side(std::size_t me) const { return me == a ? 0 : 1; }
    std::size_t other(std::size_t me) const { return me == a ? b : a; }
    peer_handle handle(std::size_t me) const { return me == a ? pa : pb; }
  };
  struct member {
    std::unique_ptr<node> n;
    wire::peer_entry entry;
    std::string at;
    duration latency{};
    double up = 0, down = 0;  // bytes per second
    bool alive = true;
    std::uint32_t epoch = 0;                               // restarts
    std::unordered_map<peer_handle, std::uint64_t> conns;  // its connections, by its handles
    std::deque<std::uint64_t> ready;  // connections with frames queued at its upload, in turn
    bool sending = false;             // the upload is busy with a frame
    time_point down_free{};           // when the download is free of queued frames
  };
  struct counters {
    std::uint64_t dials = 0;
    std::uint64_t frames = 0;         // frames that left an upload
    std::uint64_t retransmitted = 0;  // packets lost and sent again (loss)
    std::uint64_t lost = 0;           // frames lost to a split, or sent to a dead member
  };

  network(std::uint64_t seed, std::uint32_t mtu, double loss) : w_(seed), mtu_(mtu), loss_(loss) {}
  network(const network&) = delete;
  network& operator=(const network&) = delete;
  virtual ~network() = default;

  // A member at entry_for(cfg.self, index), up and down in bytes per second.
  std::size_t add(node_config cfg, std::uint64_t seed, duration latency, double up, double down);
  std::size_t size() const { return members_.size(); }
  member& at(std::size_t i) { return members_[i]; }
  const member& at(std::size_t i) const { return members_[i]; }
  const conn& connection(std::uint64_t c) const { return conns_[c]; }
  const counters& stats() const { return stats_; }
  duration one_way(std::size_t a, std::size_t b) const {
    return members_[a].latency + members_[b].latency;
  }

  // Carries out what member `me`'s node asks for until it asks nothing more.
  void pump(std::size_t me);
  // Ticks the member's node and its sessions now, and from now on every tick interval (the daemon
  // runs each session's timers at its next deadline, at least once a second).
  void start_ticking(std::size_t me);
  // Killed (its peers see each connection reset one latency later) or powered off (they hear
  // nothing, and close the connection when their session's idle timeout passes).
  void crash(std::size_t me, bool powered_off);
  // The member runs again with a new node (a restarted daemon: no connection, no routing state).
  void restart(std::size_t me, node_config cfg, std::uint64_t seed);
  // The connection member `me` knows as `p`, if it still knows it.
  std::optional<std::uint64_t> conn_of(std::size_t me, peer_handle p) const;
  static std::uint64_t blocks_in(const std::deque<std::vector<std::uint8_t>>& q);

 protected:
  // --- what the scenario does ---
  // Every action other than dial, send and close (the store, a fetch's or a lookup's end, logs).
  virtual void on_action(std::size_t me, node_action& a) = 0;
  // The node closes a connection (before it is closed).
  virtual void on_close(std::size_t, const node_actions::close&) {}
  // A message the node sends, before its session encodes it (a liar forges it here).
  virtual void on_send(std::size_t, wire::message&) {}
  // A block left `me`'s upload carrying `data` bytes.
  virtual void on_block_sent(std::size_t, std::uint64_t) {}
  // A frame of this type reached `me`'s node (its session's events were handed over).
  virtual void on_frame_read(std::size_t, std::uint8_t) {}
  // A frame reached `to` over connection `c`: deliver() it (a scenario may check around it).
  virtual void arrive(std::size_t to, std::uint64_t c, const std::vector<std::uint8_t>& frame) {
    deliver(to, c, frame);
  }
  // The data a block stands for (a synthetic block carries one byte).
  virtual std::uint64_t block_data(const wire::block&) const { return 0; }
  // The two members are on opposite sides of a split.
  virtual bool split(std::size_t, std::size_t) const { return false; }

  void deliver(std::size_t me, std::uint64_t c, const std::vector<std::uint8_t>& frame);
  world w_;  // the scenario's clock, events, generator and trace

 private:
  void dial(std::size_t me, peer_handle p, const std::string& to);
  void refused(std::uint64_t c, const std::string& why);
  void established(std::uint64_t c);
  void dispatch(std::size_t me, std::uint64_t c);
  void flush(std::size_t me, std::uint64_t c);
  bool forget_if_done(std::size_t me, std::uint64_t c);
  void settle(std::size_t me, std::uint64_t c);
  void forget(std::size_t me, std::uint64_t c);
  void hang_up(std::size_t me, peer_handle p, wire::reason code, const std::string& text,
               bool keep_queued);
  void reset(std::uint64_t c, std::size_t me);
  void send(std::size_t me, peer_handle p, wire::message msg);
  double wire_bytes(const std::vector<std::uint8_t>& frame, std::uint64_t& len);
  void upload(std::size_t me);
  void in_flight(std::size_t me, std::uint64_t c, std::vector<std::uint8_t> frame, double bytes);
  void tick(std::size_t me, std::uint32_t epoch);

  std::uint32_t mtu_;
  double loss_;
  std::vector<member> members_;
  std::unordered_map<std::string, std::size_t> by_address_;
  std::deque<conn> conns_;
  counters stats_;
};

}  // namespace shoal::sim
