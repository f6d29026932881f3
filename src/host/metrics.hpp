// `/metrics`: the node in the Prometheus text exposition format (version 0.0.4), every family
// with HELP and TYPE, names in base units with the `shoal_` prefix, counters ending in
// `_total` (docs/protocol/http.md, section 5, lists them all).
//
// Thread safety: the daemon's io thread only (it reads the node and the store).
#pragma once

#include <cstdint>
#include <string>

#include "core/node.hpp"
#include "store/store.hpp"

namespace shoal::host {

// What the daemon counts itself, since it started.
struct daemon_counters {
  std::uint64_t uploaded = 0;    // TLS payload bytes written to peers
  std::uint64_t downloaded = 0;  // read from peers
  // Fetches that ended, and the verified block bytes they received by source.
  std::uint64_t fetches_done = 0, fetches_failed = 0, fetches_cancelled = 0;
  std::uint64_t fetched_from_sources = 0, fetched_from_peers = 0;
  // Incoming connections whose certificate the network authority did not admit (the node
  // counts the ones it dialed).
  std::uint64_t refused_incoming = 0;
};

struct metrics_input {
  const node& n;
  time_point now;
  const daemon_counters& counters;
  std::uint64_t upload_limit = 0, download_limit = 0;  // bytes per second, 0: none
  std::size_t connections_in = 0, connections_out = 0;
  std::size_t http_clients = 0;
  store::store& store;
  std::int64_t certificate_not_after = 0;  // this node's, Unix seconds
};

std::string metrics_text(const metrics_input& in);

}  // namespace shoal::host
