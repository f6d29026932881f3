#include "host/control_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>

#include "host/daemon_json.hpp"

namespace shoal::host {
namespace {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using nlohmann::json;

// The largest request is a revocation list in hex (core/revocation.hpp: 692,382 bytes at most).
constexpr std::size_t max_control_line = 2 * 1024 * 1024;
// A CLI connection that has sent no request this long is closed (its slot is wanted).
constexpr auto control_request_timeout = std::chrono::seconds(10);

}  // namespace

void reply_error(const std::shared_ptr<reply_sink>& client, const error& e) {
  client->send(error_json(e));
  client->close_after_writes();
}

result<void> control_server::listen(const std::filesystem::path& path) {
  if (path.native().size() >= sizeof(sockaddr_un::sun_path))
    return error{errc::invalid_argument,
                 "control socket path \"" + path.string() + "\" is too long for a Unix socket (" +
                     std::to_string(path.native().size()) + " bytes, at most " +
                     std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                     "); use a shorter data directory"};
  std::error_code fec;
  std::filesystem::remove(path, fec);
  boost::system::error_code ec;
  acceptor_.open(local(), ec);
  // The data directory is owner-only (0700), so the socket is never reachable by others between
  // bind and chmod; the chmod makes the socket's own mode say so too.
  if (!ec) acceptor_.bind(local::endpoint(path.string()), ec);
  if (!ec && ::chmod(path.c_str(), 0600) != 0)
    ec = boost::system::error_code(errno, boost::system::system_category());
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return error{errc::io_error,
                 "cannot create the control socket " + path.string() + ": " + ec.message()};
  return {};
}

void control_server::start(handler h) {
  handler_ = std::move(h);
  accept();
}

void control_server::stop() {
  stopped_ = true;
  retry_.cancel();
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void control_server::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, local::socket sock) {
    if (ec) {
      if (ec != asio::error::operation_aborted && !stopped_)
        retry_.after_failure(accept_log_, "control connections", ec, [this] {
          if (!stopped_) accept();
        });
      return;
    }
    retry_.reset();
    auto client = std::make_shared<control_session>(std::move(sock));
    if (admit(client)) {
      client->await_request(control_request_timeout);
      read(client);
    }
    accept();
  });
}

// Control connections are bounded: at the bound the oldest that has asked nothing yet makes
// room; if every one is in use (watching fetches), the newcomer is told so.
bool control_server::admit(const std::shared_ptr<control_session>& client) {
  std::erase_if(open_, [](const auto& w) {
    auto c = w.lock();
    return !c || !c->open();
  });
  if (open_.size() >= max_connections_) {
    auto idle = std::find_if(open_.begin(), open_.end(), [](const auto& w) {
      auto c = w.lock();
      return c && !c->asked();
    });
    if (idle == open_.end()) {
      log_limited(refuse_log_, spdlog::level::warn,
                  "turned away a control connection: {} are in use, the most this node takes "
                  "(max_control_connections)",
                  open_.size());
      reply_error(client, {errc::busy, std::to_string(open_.size()) +
                                           " control connections are in use, the most this "
                                           "daemon takes (max_control_connections); try again "
                                           "when one ends"});
      return false;
    }
    if (auto c = idle->lock()) c->close();
    open_.erase(idle);
  }
  open_.push_back(client);
  return true;
}

void control_server::read(const std::shared_ptr<control_session>& client) {
  auto buf = std::make_shared<std::string>();
  asio::async_read_until(
      client->socket(), asio::dynamic_buffer(*buf, max_control_line), '\n',
      [this, client, buf](boost::system::error_code ec, std::size_t n) {
        if (ec) return;  // the CLI went away; a fetch it started goes on
        client->mark_asked();
        json req = json::parse(buf->substr(0, n), nullptr, false);
        if (req.is_discarded() || !req.is_object())
          return reply_error(client, {errc::invalid_argument, "control request is not JSON"});
        // Fields of the wrong type make nlohmann::json throw; that is the client's error and
        // must not stop the daemon.
        try {
          handler_(client, req);
        } catch (const json::exception& e) {
          reply_error(client,
                      {errc::invalid_argument,
                       std::string("control request has a field of the wrong type: ") + e.what()});
        }
      });
}

}  // namespace shoal::host
