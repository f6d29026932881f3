#include "host/limits.hpp"

#include <sys/resource.h>

#include <algorithm>

#include "shoal/error.hpp"

namespace shoal::host {

connection_limits limits_for(std::uint64_t descriptors, std::size_t peers_max,
                             std::size_t control_max) {
  SHOAL_ASSERT(peers_max > 0 && control_max > 0);
  const auto share = [&](std::uint64_t cap) {
    return static_cast<std::size_t>(std::clamp<std::uint64_t>(descriptors / 16, 4, cap));
  };
  connection_limits l;
  l.control = std::min(control_max, share(64));
  l.readers = share(64);
  l.http = std::max<std::size_t>(2, share(512) / 2);
  const std::uint64_t used = descriptors_reserved + l.control + l.readers + 2 * l.http;
  const std::uint64_t left = descriptors > used + 8 ? descriptors - used : 8;
  l.peers = static_cast<std::size_t>(std::min<std::uint64_t>(peers_max, left));
  l.handshaking = std::max<std::size_t>(4, l.peers / 4);
  return l;
}

std::uint64_t raise_descriptor_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return 1024;
  if (r.rlim_cur < r.rlim_max) {
    rlimit want = r;
    want.rlim_cur = r.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) r = want;
  }
  return r.rlim_cur == RLIM_INFINITY ? std::uint64_t{1} << 20 : r.rlim_cur;
}

bool log_limiter::allow(time_point now, std::uint64_t& suppressed) {
  suppressed = 0;
  if (now - window_start_ >= window_) {
    window_start_ = now;
    used_ = 0;
  }
  if (used_ >= lines_) {
    ++refused_;
    return false;
  }
  ++used_;
  suppressed = refused_;
  refused_ = 0;
  return true;
}

}  // namespace shoal::host
