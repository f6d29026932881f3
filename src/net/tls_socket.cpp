#include "net/tls_socket.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <csignal>
#include <mutex>

#include "shoal/error.hpp"

namespace shoal::net {
namespace {

// OpenSSL writes to the socket with write(), which raises SIGPIPE when the peer has hung up;
// by default that kills the process. A peer hanging up is ordinary here and is reported as
// EPIPE, so the signal is ignored in every process that uses TLS sockets.
void ignore_sigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

}  // namespace

tls_socket::tls_socket(tcp::socket socket, ssl_ctx_st* ctx, side s) : socket_(std::move(socket)) {
  ignore_sigpipe();
  ssl_ = SSL_new(ctx);
  SHOAL_ASSERT(ssl_ != nullptr);
  // Reading ahead lets one recv() bring in many records; partial writes let a full socket
  // buffer hand back control instead of blocking.
  SSL_set_read_ahead(ssl_, 1);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (s == side::client)
    SSL_set_connect_state(ssl_);
  else
    SSL_set_accept_state(ssl_);
}

tls_socket::~tls_socket() {
  if (ssl_) SSL_free(ssl_);
}

void tls_socket::close() {
  boost::system::error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

asio::awaitable<bool> tls_socket::wait_for(int ssl_error, boost::system::error_code& ec) {
  if (ssl_error == SSL_ERROR_WANT_READ)
    co_await socket_.async_wait(tcp::socket::wait_read,
                                asio::redirect_error(asio::use_awaitable, ec));
  else
    co_await socket_.async_wait(tcp::socket::wait_write,
                                asio::redirect_error(asio::use_awaitable, ec));
  co_return !ec;
}

namespace {
// Attaches the descriptor on first use: the socket is connected (or accepted) by then.
void attach(ssl_st* ssl, tcp::socket& s) {
  if (SSL_get_fd(ssl) < 0) {
    boost::system::error_code ec;
    s.non_blocking(true, ec);
    // A blocking descriptor would stall the io thread inside OpenSSL; without one, every
    // following operation fails with "bad descriptor" instead.
    if (ec) {
      s.close(ec);
      return;
    }
    SSL_set_fd(ssl, s.native_handle());
  }
}
}  // namespace

asio::awaitable<void> tls_socket::handshake(boost::system::error_code& ec,
                                            unsigned long& openssl_error) {
  attach(ssl_, socket_);
  openssl_error = 0;
  ERR_clear_error();
  while (true) {
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) co_return;
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (!co_await wait_for(e, ec)) co_return;
      continue;
    }
    openssl_error = ERR_peek_last_error();
    ec = e == SSL_ERROR_SYSCALL && openssl_error == 0 ? asio::error::connection_reset
                                                      : asio::error::access_denied;
    co_return;
  }
}

asio::awaitable<std::size_t> tls_socket::read_some(std::span<std::uint8_t> buf,
                                                   boost::system::error_code& ec,
                                                   unsigned long& openssl_error) {
  openssl_error = 0;
  std::size_t total = 0;
  ERR_clear_error();
  while (total < buf.size()) {
    std::size_t n = 0;
    const int r = SSL_read_ex(ssl_, buf.data() + total, buf.size() - total, &n);
    if (r == 1) {
      total += n;
      continue;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (total > 0) co_return total;  // hand over what arrived; read more next time
      if (!co_await wait_for(e, ec)) co_return 0;
      continue;
    }
    if (total > 0) co_return total;  // report the end or the error on the next call
    if (e == SSL_ERROR_ZERO_RETURN) {
      ec = asio::error::eof;
    } else if (e == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0) {
      ec = asio::error::eof;  // closed without close_notify: the session layer judges it
    } else {
      openssl_error = ERR_peek_last_error();
      ec = asio::error::access_denied;
    }
    co_return 0;
  }
  co_return total;
}

asio::awaitable<void> tls_socket::write_all(std::span<const std::uint8_t> data,
                                            boost::system::error_code& ec) {
  std::size_t done = 0;
  ERR_clear_error();
  while (done < data.size()) {
    std::size_t n = 0;
    const int r = SSL_write_ex(ssl_, data.data() + done, data.size() - done, &n);
    if (r == 1) {
      done += n;
      continue;
    }
    const int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      if (!co_await wait_for(e, ec)) co_return;
      continue;
    }
    ec = asio::error::broken_pipe;
    co_return;
  }
}

}  // namespace shoal::net
