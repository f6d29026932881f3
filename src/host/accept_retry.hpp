// Accepting again after a failed accept (EMFILE, ENFILE, ENOBUFS...) and logging what outsiders
// can provoke at a bounded rate.
//
// A failed accept tried again at once fails again at once, for ever (issue 18, finding 7): the
// next is tried after a pause, doubling from 50 ms to 1 s, while the connection waits in the
// kernel's backlog.
//
// Thread safety: the daemon's io thread only.
#pragma once

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>
#include <utility>

#include "host/limits.hpp"
#include "net/connection.hpp"

namespace shoal::host {

// Logs a line that outsiders can provoke (floods), at most as often as `l` allows, saying how
// many were left out.
template <typename... Args>
void log_limited(log_limiter& l, spdlog::level::level_enum level, fmt::format_string<Args...> f,
                 Args&&... args) {
  std::uint64_t left_out = 0;
  if (!l.allow(net::now(), left_out)) return;
  std::string line = fmt::format(f, std::forward<Args>(args)...);
  if (left_out > 0) line += fmt::format(" ({} more like it not logged)", left_out);
  spdlog::log(level, "{}", line);
}

class accept_retry {
 public:
  static constexpr duration first = std::chrono::milliseconds(50);
  static constexpr duration most = std::chrono::seconds(1);

  explicit accept_retry(boost::asio::any_io_executor ex) : timer_(std::move(ex)) {}

  // An accept succeeded: the next failure pauses for the shortest time again.
  void reset() { backoff_ = first; }
  void cancel() { timer_.cancel(); }

  // Logs the failure and calls `again` after the pause (unless cancelled).
  template <typename F>
  void after_failure(log_limiter& log, const char* what, const boost::system::error_code& ec,
                     F again) {
    log_limited(log, spdlog::level::warn, "accepting {}: {}; trying again in {} ms", what,
                ec.message(),
                std::chrono::duration_cast<std::chrono::milliseconds>(backoff_).count());
    timer_.expires_after(backoff_);
    backoff_ = std::min<duration>(2 * backoff_, most);
    timer_.async_wait([again = std::move(again)](boost::system::error_code e) {
      if (!e) again();
    });
  }

 private:
  boost::asio::steady_timer timer_;
  duration backoff_ = first;
};

}  // namespace shoal::host
