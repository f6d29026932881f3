// The CLI's side of the control channel (docs/protocol/control.md): newline-delimited JSON over
// the daemon's Unix socket in the data directory. Blocking; the CLI has nothing else to do. Every
// connect, write and wait for an answer gives up after 30 s with `busy`.
//
// Thread safety: one thread at a time.
#pragma once

#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "shoal/error.hpp"

namespace shoal::host {

class control_connection {
 public:
  // Connects to the daemon of `data_dir`; a clear error if none is running.
  static result<control_connection> open(const std::filesystem::path& data_dir);
  control_connection(control_connection&& o) noexcept;
  control_connection& operator=(control_connection&& o) noexcept;
  ~control_connection();

  result<void> send(const nlohmann::json& request);
  // The next message, or nothing when the daemon closed the channel. With an interrupt flag
  // set (a signal handler's), a wait that a signal interrupts ends with `cancelled` once the flag
  // is nonzero.
  result<std::optional<nlohmann::json>> next();
  void set_interrupt_flag(const volatile std::sig_atomic_t* flag) { interrupted_ = flag; }

 private:
  control_connection(int fd, std::filesystem::path data_dir)
      : fd_(fd), data_dir_(std::move(data_dir)) {}
  int fd_ = -1;
  std::filesystem::path data_dir_;
  std::string buffer_;
  const volatile std::sig_atomic_t* interrupted_ = nullptr;
};

}  // namespace shoal::host
