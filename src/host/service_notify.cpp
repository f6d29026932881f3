#include "host/service_notify.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <time.h>

namespace shoal::host {

service_notify::service_notify() {
  std::uint64_t usec = 0;
  // > 0: the unit has WatchdogSec= and this process is the one watched (WATCHDOG_PID).
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_ = std::chrono::microseconds(usec);
}

void service_notify::send(const std::string& state) {
  const int r = sd_notify(0, state.c_str());
  if (r < 0) spdlog::warn("cannot notify systemd ({}): error {}", state.substr(0, 20), -r);
}

void service_notify::ready(const std::string& status) {
  send("READY=1\nSTATUS=" + status);
}

void service_notify::reloading() {
  // systemd 253 and later want the time of the reload with it; earlier ones ignore it.
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
                    static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void service_notify::stopping() {
  send("STOPPING=1\nSTATUS=shutting down");
}

void service_notify::status(const std::string& text) {
  send("STATUS=" + text);
}

void service_notify::tick(std::chrono::steady_clock::time_point now) {
  if (watchdog_.count() == 0 || now - last_ping_ < watchdog_ / 2) return;
  last_ping_ = now;
  send("WATCHDOG=1");
}

}  // namespace shoal::host
