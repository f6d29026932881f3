// The daemon's control socket: a Unix socket in the data directory (0600) on which the CLI sends
// one JSON request per connection and reads newline-delimited JSON replies
// (docs/protocol/control.md). This file owns the socket, the bound on open connections and the
// parsing of a request; what a request does is the daemon's.
//
// Thread safety: the daemon's io thread only.
#pragma once

#include <utility>  // before Boost.Asio, whose awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "host/accept_retry.hpp"
#include "host/control_session.hpp"
#include "shoal/error.hpp"

namespace shoal::host {

// Tells the client what went wrong and closes its connection once that is written.

class control_server {
 public:
  // Called with every well-formed request: a JSON object with a string "op". A field of the
  // wrong type read from it may throw nlohmann::json::exception; the client is told so.
  using handler =
      std::function<void(const std::shared_ptr<control_session>&, const nlohmann::json&)>;

  control_server(boost::asio::io_context& io, std::size_t max_connections)
      : acceptor_(io), retry_(io.get_executor()), max_connections_(max_connections) {}

  // Creates the socket at `path`, replacing one a killed daemon left (the caller holds the store
  // lock, which proves no daemon uses it).
  result<void> listen(const std::filesystem::path& path);
  void start(handler h);
  // Stops accepting; connections open go on until their replies are written.
  void stop();

 private:
  void accept();
  bool admit(const std::shared_ptr<control_session>& client);
  void read(const std::shared_ptr<control_session>& client);

  boost::asio::local::stream_protocol::acceptor acceptor_;
  accept_retry retry_;
  std::size_t max_connections_;
  handler handler_;
  bool stopped_ = false;
  std::deque<std::weak_ptr<control_session>> open_;  // oldest first
  log_limiter accept_log_{5, std::chrono::seconds(10)};
  log_limiter refuse_log_{10, std::chrono::seconds(10)};
};

}  // namespace shoal::host
