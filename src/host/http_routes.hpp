// What each HTTP request gets (docs/protocol/http.md): the gateway under /content/, /metrics,
// /healthz, /readyz and the JSON API under /api/v1/, after the bearer-token check.
//
// The token (`<data dir>/http.token`, 64 hex digits, mode 0600, made at the daemon's first
// start) is required from clients that are not on loopback, for every request; loopback
// clients may read (GET, HEAD) without it. Every other method needs it from anyone.
//
// Thread safety: the daemon's io thread only.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "host/http_server.hpp"
#include "host/reply_sink.hpp"
#include "store/store.hpp"

namespace shoal::host {

struct http_api {
  store::store& store;
  std::string token;
  std::function<nlohmann::json()> status;                 // as the control channel's status
  std::function<std::string()> metrics;                   // the Prometheus text
  std::function<std::optional<std::string>()> not_ready;  // why the node is not ready, if not
  // The gateway's waits on the node (daemon_impl::gateway_open, gateway_wait).
  std::function<void(const content_id&, std::function<void(const error*)>)> open;
  std::function<void(const content_id&, piece_index, std::function<void(const error*)>)> wait;
  // A control-channel operation (add, rm, pin, unpin, gc, verify, cancel; control.md 3.3, 3.5),
  // answered through the sink.
  std::function<void(const std::shared_ptr<reply_sink>&, const nlohmann::json&)> op;
  // One content's status (the control channel's `status` with an ID).
  std::function<result<nlohmann::json>(const content_id&)> content_status;
  // Runs `work` on the gateway's reads' thread, then `then` on the io thread (none: the
  // gateway reads on the io thread).
  std::function<void(std::function<void()> work, std::function<void()> then)> off_io;
};

void route_http(const http_api& api, const std::shared_ptr<http_session>& session,
                http_request req);

// The data directory's HTTP token, made (random, 0600) if it does not exist yet.
result<std::string> load_or_make_http_token(const std::filesystem::path& data_dir);

}  // namespace shoal::host
