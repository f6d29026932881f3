// `shoal daemon`: one node on the network. It accepts TLS connections from members, serves what
// its store holds, fetches what the CLI asks for, and listens for the CLI on a Unix socket in
// the data directory (docs/protocol/control.md).
//
// Threads: two. The io_context's thread owns the store, every session and every fetch; the
// network adapter (src/net) and the control channel only move bytes and timers. A disk worker
// thread writes fetched pieces and the get's output (docs/architecture.md).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/swarm.hpp"
#include "host/logging.hpp"
#include "shoal/error.hpp"

namespace shoal::host {

struct daemon_options {
  std::filesystem::path data_dir;
  std::string listen;  // HOST:PORT
  // Rate limits for the whole node, bytes per second (0: none); `shoal limit` changes them.
  std::uint64_t upload_limit = 0;
  std::uint64_t download_limit = 0;
  // Members to join the DHT through, HOST:PORT (any members; the rest are learned from them).
  std::vector<std::string> bootstrap;
  // Peers a fetch keeps in a content's swarm: it dials at most this many, and a peer that asks
  // it about the content past this many is told the swarm is full (docs/protocol/wire.md, 5.7).
  // Tests set a small one to see that rule with a few daemons.
  std::size_t max_swarm_peers = swarm::max_fetch_members;
  // Connections held open at once (config keys max_peer_connections and
  // max_control_connections), further bounded by the descriptor limit (host/limits.hpp).
  std::size_t max_peer_connections = 1024;
  std::size_t max_control_connections = 64;
  // The HTTP server's HOST:PORT, or "off" (docs/protocol/http.md).
  std::string http_listen = "off";
  // What a SIGHUP applies: the rate limits and the log's settings, from the config file read
  // again (the command line's flags still win). None: SIGHUP is logged and ignored.
  struct reloaded {
    std::uint64_t upload_limit = 0, download_limit = 0;
    std::string limits_source;
    log_settings log;
  };
  std::function<result<reloaded>()> reload;
  // Where the rate limits above came from, for the start line ("limits.json", "flags", ...).
  std::string limits_source;
};

// The control socket of a data directory.
std::filesystem::path control_socket_path(const std::filesystem::path& data_dir);

class daemon {
 public:
  // Opens the store and the identity, binds the listening and control sockets. Errors name what
  // is missing (no identity: run shoal init; the store is in use: another daemon runs).
  static result<std::unique_ptr<daemon>> create(const daemon_options& opts);
  virtual ~daemon() = default;
  // Runs until SIGINT or SIGTERM; returns the exit status.
  virtual int run() = 0;
};

}  // namespace shoal::host
