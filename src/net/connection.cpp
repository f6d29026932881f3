#include "net/connection.hpp"

#include <chrono>
#include <fstream>

#include "member/tls.hpp"

namespace shoal::net {
namespace {

using failure = connection_handler::failure;

constexpr std::size_t read_chunk = 256 * 1024;
constexpr std::size_t small_write = 4096;
constexpr auto handshake_timeout = std::chrono::seconds(10);

// Backpressure: while more than this is queued for a peer and not yet written, nothing more is
// read from it, so its requests wait in the kernel and TCP's window stops it. An honest peer
// never gets near it: what it has not read yet answers requests it still has outstanding, at
// most max_requests blocks (256 x 16 KiB = 4 MiB) and a few manifest parts. A peer that asks at
// a steady pace and never reads otherwise made the node buffer every answer (issue 18, finding
// 11: 829 MiB at 50,000 requests). Reading resumes below half of it.
constexpr std::size_t max_unsent = 8 * 1024 * 1024;

// A closing connection writes its goodbye, half-closes, and reads (and drops) what the peer
// still sends until the peer closes too: closing a socket with unread input makes the kernel
// reset the connection and throw away what was not yet sent, goodbye included (finding 17).
// A peer that neither reads nor closes is cut off after this long.
constexpr auto linger_time = std::chrono::seconds(5);

// On loopback and fast LANs the kernel's receive-buffer autotuning starts small (128 KiB) and,
// with a 64 KiB loopback MSS, the receiver advertises a zero window for tens of milliseconds at a
// time; a fixed 4 MiB buffer removed those stalls (a 200 MB fetch on loopback: 1.1 s instead of
// 1.3-1.7 s). A fixed size turns autotuning off, so it is used only when the kernel lets the
// buffer be that large (net.core.rmem_max); below that, autotuning is the better choice.
constexpr int wanted_receive_buffer = 4 * 1024 * 1024;

std::optional<int> fixed_receive_buffer() {
  static const std::optional<int> value = []() -> std::optional<int> {
    std::ifstream in("/proc/sys/net/core/rmem_max");
    long max = 0;
    if (!(in >> max) || max < wanted_receive_buffer) return std::nullopt;
    return wanted_receive_buffer;
  }();
  return value;
}

}  // namespace

std::string endpoint_text(const tcp::endpoint& e) {
  const auto a = e.address();
  return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" + std::to_string(e.port());
}

void tune_receive_buffer(tcp::socket& s) {
  if (auto size = fixed_receive_buffer()) {
    boost::system::error_code ignored;  // a hint: the transfer works without it
    s.set_option(asio::socket_base::receive_buffer_size(*size), ignored);
  }
}

void tune_receive_buffer(tcp::acceptor& a) {
  if (auto size = fixed_receive_buffer()) {
    boost::system::error_code ignored;
    a.set_option(asio::socket_base::receive_buffer_size(*size), ignored);
  }
}

time_point now() {
  return time_point(duration(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count()));
}

connection::connection(ssl_ctx_st* tls, tcp::socket socket, connection_handler& h, peer_handle id,
                       session_config cfg)
    : tls_(std::move(socket), tls, tls_socket::side::server),
      handler_(h),
      id_(id),
      cfg_(std::move(cfg)),
      role_(role::acceptor),
      timer_(tls_.socket().get_executor()),
      read_wait_(tls_.socket().get_executor()),
      write_wait_(tls_.socket().get_executor()),
      drained_(tls_.socket().get_executor()),
      linger_(tls_.socket().get_executor()),
      inbuf_(read_chunk) {
  boost::system::error_code ec;
  const auto ep = tls_.socket().remote_endpoint(ec);
  remote_ = ec ? "an unknown address" : endpoint_text(ep);
  if (!ec) endpoint_ = ep;
}

connection::connection(asio::io_context& io, ssl_ctx_st* tls, address target, connection_handler& h,
                       peer_handle id, session_config cfg)
    : tls_(tcp::socket(io), tls, tls_socket::side::client),
      handler_(h),
      id_(id),
      cfg_(std::move(cfg)),
      role_(role::dialer),
      target_(target),
      remote_(target.str()),
      timer_(io),
      read_wait_(io),
      write_wait_(io),
      drained_(io),
      linger_(io),
      inbuf_(read_chunk) {}

std::string connection::describe() const {
  if (!peer_) return remote_;
  return peer_->id.short_str() + " (" + peer_->name + ") at " + remote_;
}

void connection::start() {
  asio::co_spawn(tls_.socket().get_executor(), run(shared_from_this()), asio::detached);
}

// `self` is a parameter, not a shared_from_this() in the body: co_spawn only posts the
// coroutine, and by the time its body first runs the connection may have been closed and
// dropped by everyone else. Parameters are copied into the frame when the coroutine is created.
asio::awaitable<void> connection::run(std::shared_ptr<connection> self) {
  boost::system::error_code ec;
  auto& socket = tls_.socket();
  unsigned long openssl_error = 0;
  // The handshake (and the dial) must finish in time, or the socket is closed under it.
  timer_.expires_after(handshake_timeout);
  timer_.async_wait([self](boost::system::error_code e) {
    if (!e && !self->session_) self->tls_.close();
  });
  if (role_ == role::dialer) {
    tcp::resolver resolver(socket.get_executor());
    auto endpoints = co_await resolver.async_resolve(target_->host, std::to_string(target_->port),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (!ec)
      co_await asio::async_connect(socket, endpoints,
                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      handler_.on_refused(*this, failure::unreachable,
                          "cannot connect to " + remote_ + ": " + ec.message());
      co_return finish();
    }
    socket.set_option(tcp::no_delay(true), ec);  // a hint; a failure here is not fatal
    ec.clear();
    if (auto ep = socket.remote_endpoint(ec); !ec) endpoint_ = ep;
    ec.clear();
    tune_receive_buffer(socket);
  }
  co_await tls_.handshake(ec, openssl_error);
  if (shed_) co_return finish();
  if (ec) {
    const bool timed_out = !socket.is_open();
    // Plaintext, TLS 1.2 and broken connections are not refusals: "handshake failed".
    const bool refusal =
        !timed_out && member::is_certificate_refusal(tls_.native_handle(), openssl_error);
    handler_.on_refused(
        *this, refusal ? failure::untrusted : failure::unreachable,
        timed_out ? "the TLS handshake did not finish within 10 s"
        : openssl_error == 0
            ? "the connection failed during the TLS handshake: " + ec.message()
            : member::describe_handshake_failure(tls_.native_handle(), openssl_error));
    co_return finish();
  }
  auto who = member::verified_peer(tls_.native_handle());
  if (!who) {
    handler_.on_refused(*this, failure::untrusted, who.err().message);
    co_return finish();
  }
  peer_ = std::move(*who);
  timer_.cancel();
  session_.emplace(cfg_, now());
  handler_.on_established(*this);
  flush();
  asio::co_spawn(socket.get_executor(), tick_loop(shared_from_this()), asio::detached);

  while (!finished_) {
    const std::size_t n = co_await tls_.read_some(inbuf_, ec, openssl_error);
    if (ec) {
      peer_done_ = true;
      if (session_->closed()) break;
      if (session_->current_state() == session::state::awaiting_hello && openssl_error != 0) {
        // In TLS 1.3 a dialer learns that the acceptor refused its certificate here, on the
        // first read after its side of the handshake finished.
        handler_.on_refused(
            *this, failure::untrusted,
            member::describe_handshake_failure(tls_.native_handle(), openssl_error));
      }
      session_->handle_eof(now());
      dispatch();
      break;
    }
    // Closed on our side: what the peer still sends is read and dropped until it closes too.
    if (session_->closed()) {
      begin_closing();
      continue;
    }
    session_->handle_bytes(now(), {inbuf_.data(), n});
    dispatch();
    flush();
    // Over the download limit: stop reading for a while, and TCP's window slows the sender.
    if (const duration wait = handler_.download_delay(n); wait > duration::zero()) {
      read_wait_.expires_after(wait);
      co_await read_wait_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      ec.clear();
    }
    // The peer does not read what it asked for: stop reading it until the outbox drains.
    while (outbox_bytes_ > max_unsent && !finished_ && !session_->closed()) {
      drained_.expires_at(asio::steady_timer::time_point::max());
      co_await drained_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      ec.clear();
    }
  }
  begin_closing();
  flush();
  settle();
}

asio::awaitable<void> connection::tick_loop([[maybe_unused]] std::shared_ptr<connection> self) {
  // `self` as in run().
  while (session_ && !session_->closed() && !finished_) {
    // Wake at the session's next deadline, and at least every second, so a deadline that moved
    // earlier (a new request) is never missed by much.
    const auto deadline = session_->next_deadline();
    if (!deadline) break;
    const auto wait = std::min<duration>(*deadline - now(), duration(std::chrono::seconds(1)));
    timer_.expires_after(std::chrono::nanoseconds(std::max<std::int64_t>(0, wait.count())));
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (finished_ || !session_ || session_->closed()) break;
    session_->handle_tick(now());
    dispatch();
    flush();
    if (session_->closed()) {
      // The read loop is parked in a read; it drains the peer until the peer closes.
      begin_closing();
      settle();
    }
  }
}

void connection::dispatch() {
  if (!session_) return;
  while (auto ev = session_->poll_event()) handler_.on_event(*this, std::move(*ev));
}

void connection::flush() {
  if (session_) {
    auto bytes = session_->poll_output();
    if (!bytes.empty() && !polled_once_) {
      // The session's first output starts with its hello.
      polled_once_ = true;
      hello_queued_ = true;
      outbox_bytes_ += bytes.size();
      outbox_.push_back(std::move(bytes));
      bytes.clear();
    }
    if (session_->closed() && !backlog_dropped_) {
      backlog_dropped_ = true;
      // The goodbye goes next, ahead of answers the peer has not taken yet: a peer cut off for
      // not reading would otherwise never see why (the session dropped its own backlog too).
      // Our hello stays first, and a close that keeps what was queued (a revocation list the
      // peer must read) drops nothing.
      if (!session_->kept_backlog()) {
        const std::size_t keep = hello_queued_ && !outbox_.empty() ? 1 : 0;
        outbox_.erase(outbox_.begin() + static_cast<std::ptrdiff_t>(keep), outbox_.end());
        outbox_bytes_ = keep ? outbox_.front().size() : 0;
        drained_.cancel();
      }
    }
    // Queued as they come rather than appended to one buffer: appending copied every block a
    // serving node sends once more (5% of its time). Small ones (requests, haves) are still
    // joined, so that they do not each become a TLS record of their own.
    if (!bytes.empty()) {
      outbox_bytes_ += bytes.size();
      const bool hello_alone = hello_queued_ && outbox_.size() == 1;
      if (!outbox_.empty() && !hello_alone && bytes.size() < small_write &&
          outbox_.back().size() < small_write)
        outbox_.back().insert(outbox_.back().end(), bytes.begin(), bytes.end());
      else
        outbox_.push_back(std::move(bytes));
    }
  }
  if (session_ && session_->closed()) begin_closing();
  if (!write_in_flight_) write_more();
}

void connection::write_more() {
  if (finished_ || write_in_flight_) return;
  if (outbox_.empty()) return settle();
  write_in_flight_ = true;
  asio::co_spawn(tls_.socket().get_executor(), write_loop(shared_from_this()), asio::detached);
}

asio::awaitable<void> connection::write_loop([[maybe_unused]] std::shared_ptr<connection> self) {
  // `self` as in run().
  while (!outbox_.empty() && !finished_) {
    writing_ = std::move(outbox_.front());
    outbox_.pop_front();
    hello_queued_ = false;  // it is being written
    outbox_bytes_ -= writing_.size();
    if (outbox_bytes_ <= max_unsent / 2) drained_.cancel();
    boost::system::error_code ec;
    if (const duration wait = handler_.upload_delay(writing_.size()); wait > duration::zero()) {
      write_wait_.expires_after(wait);
      co_await write_wait_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      ec.clear();
      if (finished_) break;
    }
    co_await tls_.write_all(writing_, ec);
    if (ec) {
      write_in_flight_ = false;
      outbox_.clear();
      outbox_bytes_ = 0;
      peer_done_ = true;
      begin_closing();
      if (session_) {
        session_->handle_eof(now());
        dispatch();
      }
      co_return finish();
    }
  }
  write_in_flight_ = false;
  settle();
}

void connection::shed() {
  shed_ = true;
  abort();
}

void connection::abort() {
  begin_closing();
  settle();
}

void connection::begin_closing() {
  if (closing_ || finished_) return;
  closing_ = true;
  drained_.cancel();
  linger_.expires_after(linger_time);
  linger_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec) self->finish();
  });
}

void connection::settle() {
  if (finished_ || !closing_ || write_in_flight_ || !outbox_.empty()) return;
  // Before the session, or after the peer's end: nothing left to wait for.
  if (!session_ || peer_done_ || shed_) return finish();
  if (half_closed_) return;
  half_closed_ = true;
  boost::system::error_code ignored;
  tls_.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

void connection::finish() {
  if (finished_) return;
  finished_ = true;
  timer_.cancel();
  read_wait_.cancel();
  write_wait_.cancel();
  drained_.cancel();
  linger_.cancel();
  tls_.close();
  handler_.on_closed(*this);
}

}  // namespace shoal::net
