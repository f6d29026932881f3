// One TLS 1.3 connection to a peer, moving bytes between the socket and a core session.
//
// The adapter owns no protocol logic: it dials or accepts, runs the mutually authenticated
// handshake (src/member/tls.hpp decides who is admitted), then feeds received bytes and the
// clock to the session, writes what the session queues, and hands the session's events to its
// handler (the daemon). Boost.Asio with C++20 coroutines, on the daemon's one network thread.
//
// Thread safety: every member runs on the io_context's thread.
#pragma once

#include <utility>  // boost/asio/awaitable.hpp (1.74) uses std::exchange without it

#include <boost/asio.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/fetch.hpp"
#include "core/session.hpp"
#include "member/certificate.hpp"
#include "net/address.hpp"
#include "net/tls_socket.hpp"

namespace shoal::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// The core's clock, read here (and only in adapters).
time_point now();

// "1.2.3.4:5678" or "[::1]:5678", as connections name the peer they accepted.
std::string endpoint_text(const tcp::endpoint& e);

// Sets a large fixed TCP receive buffer where the kernel allows it (see connection.cpp for why).
void tune_receive_buffer(tcp::socket& s);
void tune_receive_buffer(tcp::acceptor& a);

class connection;

// What the daemon implements to hear from its connections.
class connection_handler {
 public:
  virtual ~connection_handler() = default;
  // The handshake verified the peer; the session exists and has queued its hello.
  virtual void on_established(connection& c) = 0;
  virtual void on_event(connection& c, session_event ev) = 0;
  // The connection could not be made (unreachable: worth trying again later), or one side
  // refused the other's certificate (untrusted: certificates do not fix themselves); `why`
  // says what happened. on_closed follows.
  enum class failure { unreachable, untrusted };
  virtual void on_refused(connection& c, failure kind, const std::string& why) = 0;
  // The socket is closed; the connection object goes once the handler drops its reference.
  virtual void on_closed(connection& c) = 0;
  // Rate limits: how long to wait before writing (or after reading) `bytes`, which the caller
  // then counts as sent (or received). Zero means at once.
  virtual duration upload_delay(std::size_t bytes) = 0;
  virtual duration download_delay(std::size_t bytes) = 0;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  enum class role { dialer, acceptor };

  // An accepted socket.
  connection(ssl_ctx_st* tls, tcp::socket socket, connection_handler& h, peer_handle id,
             session_config cfg);
  // A connection to dial.
  connection(asio::io_context& io, ssl_ctx_st* tls, address target, connection_handler& h,
             peer_handle id, session_config cfg);

  void start();
  // Writes whatever the session has queued. Call after calling the session's send_* methods.
  void flush();
  // Ends the connection (after writing what is queued), without a goodbye.
  void abort();
  // Ends a connection still in its handshake at once, and quietly: no on_refused follows (the
  // daemon makes room for newer connections; the peer was never authenticated).
  void shed();
  // Accepted, and the handshake not yet done.
  bool handshaking() const { return !session_ && !finished_; }

  peer_handle id() const { return id_; }
  role side() const { return role_; }
  // "nd1abcdefgh… at 1.2.3.4:5678" once known, else the address.
  std::string describe() const;
  const std::string& remote() const { return remote_; }
  // The peer's IP address and port once connected.
  const std::optional<tcp::endpoint>& remote_endpoint() const { return endpoint_; }
  session* sess() { return session_ ? &*session_ : nullptr; }
  const member::peer_info* peer() const { return peer_ ? &*peer_ : nullptr; }
  // Dialed connections keep their target for reconnecting.
  const std::optional<address>& target() const { return target_; }

 private:
  asio::awaitable<void> run(std::shared_ptr<connection> self);
  asio::awaitable<void> tick_loop(std::shared_ptr<connection> self);
  void dispatch();
  void write_more();
  asio::awaitable<void> write_loop(std::shared_ptr<connection> self);
  // The session or the daemon ends the connection: its output drains, within the linger time.
  void begin_closing();
  // Once closing and written out: half-closes, then closes when the peer has closed too.
  void settle();
  void finish();

  tls_socket tls_;
  connection_handler& handler_;
  peer_handle id_;
  session_config cfg_;
  role role_;
  std::optional<address> target_;
  std::string remote_;
  std::optional<tcp::endpoint> endpoint_;
  std::optional<member::peer_info> peer_;
  std::optional<session> session_;
  asio::steady_timer timer_;
  asio::steady_timer read_wait_;   // download rate limit
  asio::steady_timer write_wait_;  // upload rate limit
  asio::steady_timer drained_;     // wakes the read loop paused on a full outbox
  asio::steady_timer linger_;      // bounds how long a closing connection drains
  std::deque<std::vector<std::uint8_t>> outbox_;
  std::size_t outbox_bytes_ = 0;  // in outbox_, not counting writing_
  std::vector<std::uint8_t> writing_;
  std::vector<std::uint8_t> inbuf_;
  bool write_in_flight_ = false;
  bool closing_ = false;
  bool backlog_dropped_ = false;  // at the session's close, what was still queued went
  // Our hello is the front of outbox_, not yet taken by the writer: a backlog dropped at close
  // keeps it, or the peer would read the goodbye before any hello and not believe its reason.
  bool hello_queued_ = false;
  bool polled_once_ = false;
  bool peer_done_ = false;    // the peer's side of the stream ended (or failed)
  bool half_closed_ = false;  // our side ended: FIN sent after the last byte
  bool finished_ = false;
  bool shed_ = false;
};

}  // namespace shoal::net
