// Translations between the core node's types and the daemon's: a connection's peer address as the
// node keeps it, the node's log levels, certificate expiry on its clock and its configuration
// from the daemon's options.
//
// Thread safety: plain functions.
#pragma once

#include <spdlog/spdlog.h>

#include <optional>

#include "core/node.hpp"
#include "host/daemon.hpp"
#include "host/limits.hpp"
#include "member/identity.hpp"
#include "net/connection.hpp"

namespace shoal::host {

spdlog::level::level_enum level_of(log_level l);

// The peer's IP address as the node keeps it (port 0 until its hello says where it listens).
std::optional<wire::peer_entry> ip_of(net::connection& c);

// A certificate's notAfter (Unix seconds, wall clock) on the core's monotonic clock, as of now.
// A later jump of the wall clock is not followed: the connection is closed when the time it had
// left at the handshake has passed.
time_point expiry_on_core_clock(std::int64_t not_after_unix);

// The node's configuration: the daemon's options, and from the identity the node's ID, its
// network's name and the authority key that signs the revocation list.
node_config node_config_of(const daemon_options& opts, const member::identity& id,
                           const connection_limits& limits);

}  // namespace shoal::host
