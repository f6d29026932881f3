// A token bucket for a byte rate limit (upload or download, per node). Tokens are bytes; they
// refill at `rate` per second up to a burst of a short while's worth. A caller takes the bytes
// it is about to move and waits the returned delay first; the bucket may go into debt, so a
// large write is never refused, it only delays what follows. Rate 0 means unlimited.
//
// I/O-free: the time comes in with every call. Thread safety: one thread at a time.
#pragma once

#include <cstdint>

#include "core/clock.hpp"

namespace shoal {

class token_bucket {
 public:
  // The burst: what the bucket holds when full, as time at the rate (and at least min_burst
  // bytes, so that one block frame always fits).
  static constexpr duration burst_time = std::chrono::milliseconds(50);
  static constexpr std::uint64_t min_burst = 64 * 1024;

  explicit token_bucket(std::uint64_t bytes_per_second = 0) { set_rate({}, bytes_per_second); }

  // Changes the rate from `now` on (bytes per second; 0 removes the limit). Debt is kept.
  void set_rate(time_point now, std::uint64_t bytes_per_second);
  std::uint64_t rate() const { return rate_; }

  // Takes `bytes`; returns how long the caller must wait before moving them (zero if the bucket
  // held them).
  duration take(time_point now, std::uint64_t bytes);

 private:
  void refill(time_point now);

  std::uint64_t rate_ = 0;
  double burst_ = 0;
  double tokens_ = 0;  // negative: debt
  time_point last_{};
  bool started_ = false;
};

}  // namespace shoal
