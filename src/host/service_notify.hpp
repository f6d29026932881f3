// The daemon's side of systemd's service protocol (sd_notify(3), through libsystemd): READY=1
// once it accepts peers and clients (`Type=notify` units start their dependents then),
// RELOADING=1 and READY=1 around a SIGHUP reload, STOPPING=1 when it begins to shut down,
// STATUS= lines for `systemctl status`, and WATCHDOG=1 at half the interval the unit's
// WatchdogSec= asks for, from the tick, so that a daemon whose event loop hangs is restarted.
// Outside systemd (no NOTIFY_SOCKET) every call does nothing.
//
// Thread safety: the io thread only.
#pragma once

#include <chrono>
#include <string>

namespace shoal::host {

class service_notify {
 public:
  service_notify();
  void ready(const std::string& status);
  void reloading();
  void stopping();
  void status(const std::string& text);
  // Called on every tick; sends WATCHDOG=1 when half the watchdog interval has passed.
  void tick(std::chrono::steady_clock::time_point now);
  bool watchdog_enabled() const { return watchdog_.count() > 0; }

 private:
  void send(const std::string& state);
  std::chrono::microseconds watchdog_{0};
  std::chrono::steady_clock::time_point last_ping_{};
};

}  // namespace shoal::host
