// What a daemon may hold open at once, from its descriptor limit and its configuration, and a
// limiter for log lines that an outsider can provoke at will (a flood of connections).
//
// Every socket and file costs a descriptor; a daemon that runs out cannot accept the CLI, open
// a data file or finish a fetch. So the daemon raises its soft limit to the hard one at start,
// and splits what it has: a reserve for itself (the store, its log, the event loop), the
// control connections, the data files kept open for serving, and the rest for peers, of which
// only a share may still be in their TLS handshake (those are unauthenticated: anyone can open
// one). Issue 18, finding 7: with 64 descriptors, 100 plain TCP connections made the daemon spin
// on EMFILE and 80 idle control connections stopped its control socket for good.
//
// Thread safety: plain values; a log_limiter is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/clock.hpp"

namespace shoal::host {

struct connection_limits {
  std::size_t peers = 0;        // connections to and from members (dialed and accepted)
  std::size_t handshaking = 0;  // accepted connections still in their TLS handshake
  std::size_t control = 0;      // CLI connections on the control socket
  std::size_t readers = 0;      // contents whose data file is kept open for serving
  // HTTP clients at once; each may hold two descriptors (its socket, and the data file the
  // gateway streams from).
  std::size_t http = 0;
};

// Descriptors kept for everything else: the standard streams, the log, the event loop's own,
// the store's lock, catalog and WAL, and the data and output files of fetches in progress.
inline constexpr std::uint64_t descriptors_reserved = 32;

// REQUIRES: peers_max > 0 and control_max > 0 (the configured bounds).
connection_limits limits_for(std::uint64_t descriptors, std::size_t peers_max,
                             std::size_t control_max);

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
std::uint64_t raise_descriptor_limit();

// At most `lines` lines per `window`; the lines refused in between are counted, so the next
// line allowed can say how many were left out.
class log_limiter {
 public:
  log_limiter(std::size_t lines, duration window) : lines_(lines), window_(window) {}
  // True if a line may be logged now; `suppressed` is then the number refused since the last
  // line allowed (0 on refusal).
  bool allow(time_point now, std::uint64_t& suppressed);

 private:
  std::size_t lines_;
  duration window_;
  time_point window_start_{};
  std::size_t used_ = 0;
  std::uint64_t refused_ = 0;
};

}  // namespace shoal::host
