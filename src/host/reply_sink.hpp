// Where the answer to an operation goes: a control-channel connection (control_session) or an
// HTTP request (http_routes.cpp), so that an operation such as content_service's is written once
// for both. Messages are the control channel's (docs/protocol/control.md): `progress` lines,
// then one final `done`, `cancelled` or `error`.
//
// Thread safety: the daemon's io thread only.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "shoal/error.hpp"

namespace shoal::host {

class reply_sink {
 public:
  virtual ~reply_sink() = default;
  virtual void send(const nlohmann::json& j) = 0;
  // The last message has been sent.
  virtual void close_after_writes() = 0;
  // Whether whoever asked is still there (a CLI that went away cancels its add).
  virtual bool open() const = 0;
};

// Sends an `error` message and ends the exchange.
void reply_error(const std::shared_ptr<reply_sink>& client, const error& e);

}  // namespace shoal::host
