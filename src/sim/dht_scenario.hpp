// The DHT scenario (docs/simulation.md): N members running the real node (core/node.hpp), each
// configured with one earlier member as its bootstrap peer and started one by one, then lookups
// of random live members' IDs from random live members (node::lookup); again after a share of
// the members crash. The members' connections, sessions, TLS handshakes (two round trips before
// the first message), latencies and faults are the simulated network's (sim/network.hpp): a loss
// rate makes a lost packet arrive late, after a retransmission timeout, as TCP does, and a
// crashed member neither sends nor answers (its peers' queries time out).
// Every frame that arrives is recorded in the trace.
//
// Thread safety: one thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/dht.hpp"

namespace shoal::sim {

struct dht_params {
  std::uint64_t seed = 1;
  std::size_t nodes = 1000;
  std::size_t lookups = 1000;  // per phase
  double crash = 0.2;          // share of nodes that crash before the second phase (0: no phase)
  double loss = 0.0;           // share of packets lost (each costs a TCP retransmission)
  bool restart = false;        // the crashed members restart after the crash phase
  double partition = 0.0;      // share of members on one side of a split (0: no split phase)
  // After the crash phase, one live member publishes a revocation list that revokes another
  // (membership.md section 9); the crashed members that restart (restart) learn it on joining.
  bool revoke = false;
  duration join_gap = 10ms;    // between two nodes joining
  duration lookup_gap = 5ms;   // between two lookups starting
  duration min_latency = 2ms;  // one-way latency share of a node: uniform in [min, max]
  duration max_latency = 40ms;
  dht::config dht;  // the nodes' configuration (the daemon's defaults)
};

struct lookup_figures {
  std::size_t lookups = 0;
  std::size_t found = 0;  // the target was the closest answer
  std::vector<int> rounds;
  std::vector<std::size_t> queries;
  std::vector<double> ms;  // virtual time
  std::size_t failed_queries = 0;
};

// How a revocation list spread (dht_params::revoke): times from its publication (from a
// member's restart, for those that restarted) until each member adopted it, virtual time.
struct revocation_figures {
  std::size_t live = 0;     // members alive at publication, the revoked one and the publisher not
  std::size_t reached = 0;  // of them, those that adopted the list
  std::vector<double> ms;   // each one's adoption time, from the publication
  bool revoked_learned = false;        // the revoked member adopted the list (and stopped)
  std::size_t revoked_links = 0;       // connections to the revoked member still open at the end
  std::size_t restarted = 0;           // crashed members that restarted after it
  std::vector<double> restart_ms;      // each one's adoption time, from its start
  std::vector<double> restart_rtt_ms;  // and the round trip to its bootstrap peer
};

struct dht_report {
  dht_params params;
  lookup_figures healthy;
  lookup_figures crashed;         // empty if params.crash == 0
  lookup_figures restarted;       // after the crashed members restarted (params.restart)
  lookup_figures split;           // within each side of a split (params.partition > 0)
  lookup_figures healed;          // across the old split, at once after it healed
  revocation_figures revocation;  // params.revoke
  std::size_t crashed_nodes = 0;
  std::uint64_t messages = 0;  // frames sent (DHT messages, hellos, keepalives, goodbyes)
  std::uint64_t lost = 0;      // packets retransmitted, frames to crashed nodes or across a split
  std::uint64_t dials = 0;     // connections dialed
  std::uint64_t events = 0;
  double virtual_seconds = 0;
  std::string trace_hash;  // hex
  // Invariant checks: every bound held on every node at the end (named on failure).
  std::vector<std::string> violations;
};

// Runs the scenario to the end. Deterministic: the same parameters give the same report,
// trace hash included.
dht_report run_dht(const dht_params& p);

// The q-quantile of a sample (0 <= q <= 1; 0 for an empty sample), nearest rank.
template <typename T>
T percentile(std::vector<T> v, double q) {
  if (v.empty()) return T{};
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

}  // namespace shoal::sim
