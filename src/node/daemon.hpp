// `shoal daemon`: one node on the network. It accepts TLS connections from members, serves what
// its store holds, fetches what the CLI asks for, and listens for the CLI on a Unix socket in
// the data directory (docs/protocol/control.md).
//
// Threads: one. The io_context's thread owns the store, every session and every fetch; the
// network adapter (src/net) and the control channel only move bytes and timers. Disk reads and
// writes happen on that thread too for now (a worker pool is issue 4's, see
// docs/architecture.md).
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "shoal/error.hpp"

namespace shoal::node {

struct daemon_options {
  std::filesystem::path data_dir;
  std::string listen;  // HOST:PORT
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

}  // namespace shoal::node
