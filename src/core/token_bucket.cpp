#include "core/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace shoal {

void token_bucket::refill(time_point now) {
  if (!started_) {
    started_ = true;
    last_ = now;
    tokens_ = burst_;
    return;
  }
  if (now <= last_) return;
  const double seconds = std::chrono::duration<double>(now - last_).count();
  tokens_ = std::min(burst_, tokens_ + seconds * static_cast<double>(rate_));
  last_ = now;
}

void token_bucket::set_rate(time_point now, std::uint64_t bytes_per_second) {
  if (rate_ != 0 && started_) refill(now);  // what accrued at the old rate
  rate_ = bytes_per_second;
  burst_ = std::max(static_cast<double>(min_burst),
                    static_cast<double>(rate_) * std::chrono::duration<double>(burst_time).count());
  if (rate_ == 0) {
    started_ = false;
    tokens_ = 0;
    return;
  }
  if (started_) {
    tokens_ = std::min(tokens_, burst_);
    last_ = now;
  }
}

duration token_bucket::take(time_point now, std::uint64_t bytes) {
  if (rate_ == 0) return duration::zero();
  refill(now);
  tokens_ -= static_cast<double>(bytes);
  if (tokens_ >= 0) return duration::zero();
  const double seconds = -tokens_ / static_cast<double>(rate_);
  return std::chrono::duration_cast<duration>(std::chrono::duration<double>(seconds));
}

}  // namespace shoal
