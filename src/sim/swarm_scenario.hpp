// The swarm scenario (docs/simulation.md): one origin holds a content of F bytes and N nodes
// fetch it at once. Every member is the core node (core/node.hpp) that the daemon drives: its
// fetch, swarm, DHT, answers and rules are the daemon's; this file simulates only the network,
// the storage and the clock, and carries out what each node asks. Each fetch starts as
// `shoal get ID --from ORIGIN` does.
//
// The network: each node has an upload and a download capacity and a one-way latency share (a
// pair's latency is the sum). Each connection's messages form one byte stream per direction, in
// order; a node's upload carries one message at a time, taking the connections with something
// queued in turn, charged its frame, TLS records and packet headers (swarm_params::mtu); a
// message then crosses the latency and queues for the receiver's download. Messages reach the
// node as the session events they would become: the session itself (its timers) is not run. A
// connection opens after a TCP and TLS 1.3 handshake (two round trips). A crash is a process
// killed: its peers see the connection reset one latency later (mixed faults add power-offs, slowed
// links and liars: swarm_params::mixed). Storage is simulated: blocks carry no bytes
// (fetch_config:: synthetic_blocks), so a thousand nodes fetch a gigabyte each without holding one.
//
// The figure is the last surviving node's finishing time against the fluid bound
//   max(F / u_origin, F / d_min, N F / (u_origin + sum of u_i))
// over the origin and the surviving nodes (docs/simulation.md says why it is a lower bound).
//
// Thread safety: one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/fetch.hpp"
#include "core/swarm.hpp"
#include "sim/network.hpp"  // block_wire_bytes

namespace shoal::sim {

// A look at the run while it goes (swarm_params::on_progress): where the pieces are, and what the
// uploads are doing.
struct swarm_progress {
  double seconds = 0;          // virtual time
  double held = 0;             // share of the pieces the live fetching nodes need that they hold
  std::size_t finished = 0;    // nodes done
  double uploading = 0;        // share of the live nodes whose upload is sending a block
  double queued_per_node = 0;  // requests waiting at a live node's upload, on average
  std::uint64_t origin_queued = 0;  // requests waiting at the origin's
  double origin_copies = 0;         // block bytes the origin sent, in copies of the content
  std::uint64_t events = 0;
  // The live fetching node that holds the fewest pieces, and its fetch's state in brief.
  std::string slowest;
  // When at most stragglers_shown honest nodes are left fetching: each one's fetch state and,
  // per connection, what the peer at the other end is doing for it (several lines).
  std::string stragglers;
};

struct swarm_params {
  std::uint64_t seed = 1;
  std::size_t nodes = 100;           // fetching nodes, besides the origin
  std::uint64_t size = 64ull << 20;  // F, bytes of content
  double origin_up_mbps = 100;       // megabits per second
  double up_mbps = 100;              // each node's, with uniform capacities
  double down_mbps = 200;            // each node's download
  bool heterogeneous = false;        // upload drawn from 25/50/100/200, download 4x that
  double crash = 0;                  // share of nodes killed during the transfer
  // Random faults from the seed, each node drawing at most one (docs/simulation.md): killed
  // (5%), powered off (5%: silent, its peers find out by their idle timeout), slowed to a tenth
  // of its capacities (10%), or a liar whose every block is forged (3%).
  bool mixed = false;
  duration join_gap = 1ms;     // between two nodes starting their fetch
  duration min_latency = 2ms;  // one-way latency share: uniform in [min, max]
  duration max_latency = 20ms;
  // The wire's framing, charged to the links as the testbed's shapers charge it: each block's
  // frame (docs/protocol/wire.md 4.11), TLS 1.3's record overhead and the TCP/IPv4/Ethernet
  // headers of packets of this MTU (block_wire_bytes). 0 charges the block's data alone.
  std::uint32_t mtu = 1500;
  // A fetch's connections: the daemon's bound (--max-swarm-peers), the same as full()'s.
  std::size_t max_connections = swarm::max_fetch_members;
  duration give_up = std::chrono::hours(1);  // virtual time after which the run stops
  fetch_config fetch;                        // the daemon's defaults, with synthetic blocks
  // Called every progress_every of virtual time while the run goes, if both are set.
  duration progress_every{};
  std::function<void(const swarm_progress&)> on_progress;
};

struct swarm_report {
  swarm_params params;
  double bound_seconds = 0;            // the fluid bound for the origin and the surviving nodes
  double last_seconds = 0;             // when the last surviving node finished
  std::size_t last_node = 0;           // which one (nodes count from 1; 0 is the origin)
  std::vector<double> finish_seconds;  // each surviving node's
  std::size_t finished = 0;
  std::size_t survivors = 0;
  std::size_t crashed = 0;  // killed or powered off
  std::size_t slowed = 0;
  std::size_t liars = 0;
  std::uint64_t liars_cut_off = 0;  // connections closed on a liar for a forged block
  std::uint64_t origin_bytes = 0;   // block bytes the origin uploaded
  std::uint64_t block_bytes = 0;    // block bytes every node uploaded
  // Shares of the upload capacity used until the last node finished: the origin's, and all
  // nodes' (the survivors' and the origin's; crashed nodes' bytes count too).
  double origin_use = 0;
  // When every piece had left the origin once (held by some node), and how much the origin had
  // sent by then, in copies of the content.
  double first_copy_seconds = 0;
  double first_copy_copies = 0;
  double upload_use = 0;
  std::uint64_t elsewhere = 0;         // requests refused by the first-copy rule
  std::uint64_t duplicate_blocks = 0;  // endgame copies dropped
  std::uint64_t connections = 0;
  std::uint64_t refused_full = 0;  // connections hung up on by a fetching node with a full swarm
  std::uint64_t events = 0;
  std::string trace_hash;  // hex
  // Invariant checks: every surviving honest node holds every piece, each verified; no forged
  // block was accepted; no honest peer was cut off; no fetch failed.
  std::vector<std::string> violations;
  double ratio() const { return bound_seconds > 0 ? last_seconds / bound_seconds : 0; }
};

// Runs the scenario to the end. Deterministic: the same parameters give the same report.
swarm_report run_swarm(const swarm_params& p);

}  // namespace shoal::sim
