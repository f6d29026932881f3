// One CLI connection on the daemon's control socket: newline-delimited JSON both ways
// (docs/protocol/control.md). Replies are queued and written in order; a request that never
// comes closes the connection (its slot is wanted).
//
// Thread safety: the daemon's io thread only.
#pragma once

#include <boost/asio.hpp>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/clock.hpp"
#include "host/reply_sink.hpp"

namespace shoal::host {

// One CLI connection on the control socket: newline-delimited JSON both ways.
class control_session final : public reply_sink,
                              public std::enable_shared_from_this<control_session> {
 public:
  explicit control_session(boost::asio::local::stream_protocol::socket s)
      : socket_(std::move(s)), request_timer_(socket_.get_executor()) {}
  boost::asio::local::stream_protocol::socket& socket() { return socket_; }
  bool open() const override { return socket_.is_open(); }
  // Whether a request has arrived; one that never comes closes the connection after `limit`.
  bool asked() const { return asked_; }
  void mark_asked() {
    asked_ = true;
    request_timer_.cancel();
  }
  void await_request(duration limit) {
    request_timer_.expires_after(limit);
    request_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
      if (auto self = w.lock(); !ec && self && !self->asked_) self->close();
    });
  }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    request_timer_.cancel();
    queue_.clear();
  }

  void send(const nlohmann::json& j) override {
    if (!socket_.is_open()) return;
    const bool idle = queue_.empty();
    // Replace, not throw, on invalid UTF-8: an error message may quote the client's own bad bytes.
    queue_.push_back(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    if (idle) write_front();
  }
  void close_after_writes() override {
    closing_ = true;
    if (queue_.empty()) close();
  }

 private:
  void write_front() {
    boost::asio::async_write(
        socket_, boost::asio::buffer(queue_.front()),
        [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
          if (ec) return self->close();
          self->queue_.pop_front();
          if (!self->queue_.empty()) return self->write_front();
          if (self->closing_) self->close();
        });
  }

  boost::asio::local::stream_protocol::socket socket_;
  boost::asio::steady_timer request_timer_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  bool asked_ = false;
};

}  // namespace shoal::host
