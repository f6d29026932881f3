// Time in the I/O-free core. The core never reads a clock: every handle_*() call carries `now`,
// which the daemon takes from the steady clock and the simulator from its event queue. The epoch
// is arbitrary (the adapter's choice); only differences mean anything.
//
// Thread safety: plain values.
#pragma once

#include <chrono>
#include <cstdint>

namespace shoal {

// A clock type with no now(): time points of it can only be handed in.
struct virtual_clock {
  using rep = std::int64_t;
  using period = std::nano;
  using duration = std::chrono::duration<rep, period>;
  using time_point = std::chrono::time_point<virtual_clock>;
  static constexpr bool is_steady = true;
};

using duration = virtual_clock::duration;
using time_point = virtual_clock::time_point;

using namespace std::chrono_literals;

}  // namespace shoal
