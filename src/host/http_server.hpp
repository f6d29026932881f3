// The daemon's local HTTP server (Boost.Beast, HTTP/1.1 with keep-alive): the listener, one
// session per client, bounded requests and timeouts. What each request gets is decided by the
// daemon's handler (host/http_routes.cpp); this file only moves requests and responses,
// including bodies streamed piece by piece (the gateway) so that a large content never sits in
// memory whole. docs/protocol/http.md describes the API.
//
// Bounds: at most `max_connections` clients at once (one past it is answered 503 and closed);
// a request's header at most 16 KiB and its body 64 KiB; a client that sends nothing for 30 s,
// or does not read a response for 60 s, is closed.
//
// Thread safety: the daemon's io thread only.
#pragma once

#include <utility>  // before Boost.Asio: its awaitable.hpp uses std::exchange without it

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "host/accept_retry.hpp"
#include "shoal/error.hpp"

namespace shoal::host {

namespace http = boost::beast::http;
using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

class http_session : public std::enable_shared_from_this<http_session> {
 public:
  // The next chunk of a streamed body: bytes, nothing at its end, or an error (the connection
  // is then closed: the client sees a body shorter than its Content-Length, never wrong bytes).
  // The source calls `ready` once per call, at once or later (when the piece is stored).
  using chunk = result<std::optional<std::vector<std::uint8_t>>>;
  using chunk_source = std::function<void(std::function<void(chunk)> ready)>;

  // `open` counts the server's sessions (shared: a session may outlive its server in the
  // io_context's queue at exit).
  http_session(boost::asio::ip::tcp::socket s, std::shared_ptr<std::size_t> open);
  ~http_session() { --*open_; }
  // Whether the client connected from a loopback address.
  bool loopback() const { return loopback_; }
  const std::string& remote() const { return remote_; }
  // Sends a whole response, then reads the next request (or closes, if the request or the
  // response said so).
  void reply(http_response res);
  // Sends `header` (its Content-Length set by the caller), then the chunks `next` gives until
  // it gives nothing; then as reply().
  void stream(http::response<http::empty_body> header, chunk_source next);

  void start(std::function<void(const std::shared_ptr<http_session>&, http_request)> handler);

 private:
  void read();
  void write_chunk(std::shared_ptr<chunk_source> next, bool keep_alive);
  void finish(bool keep_alive);

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::function<void(const std::shared_ptr<http_session>&, http_request)> handler_;
  std::shared_ptr<std::size_t> open_;
  std::vector<std::uint8_t> chunk_;
  bool loopback_ = false;
  std::string remote_;
};

class http_server {
 public:
  using handler = std::function<void(const std::shared_ptr<http_session>&, http_request)>;
  http_server(boost::asio::io_context& io, std::size_t max_connections)
      : io_(io), acceptor_(io), retry_(io.get_executor()), max_(max_connections) {}
  result<void> listen(const address& at);
  // The bound address (with the port the kernel picked for port 0).
  const std::string& bound() const { return bound_; }
  void start(handler h);
  void stop();
  std::size_t open() const { return *open_; }

 private:
  void accept();

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  accept_retry retry_;
  log_limiter accept_log_{5, std::chrono::seconds(10)};
  log_limiter refuse_log_{5, std::chrono::seconds(10)};
  std::size_t max_;
  std::shared_ptr<std::size_t> open_ = std::make_shared<std::size_t>(0);
  std::string bound_;
  handler handler_;
  bool stopped_ = false;
};

}  // namespace shoal::host
