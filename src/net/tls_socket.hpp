// A TCP socket carrying TLS, driven directly through OpenSSL on the non-blocking descriptor,
// with asio only telling when the socket is readable or writable.
//
// Why not asio::ssl::stream: it moves at most one TLS record (16 KiB) per event-loop turn in
// each direction, so a transfer pays a wake-up per record and, measured on loopback, stalls at
// about 80 MiB/s with both processes mostly idle. Here one wake-up reads every record the
// kernel has (read-ahead on) and writes as much as the socket takes.
//
// Thread safety: one thread at a time (the io_context's).
#pragma once

#include <utility>  // boost/asio/awaitable.hpp (1.74) uses std::exchange without it

#include <boost/asio.hpp>
#include <cstdint>
#include <span>

struct ssl_ctx_st;
struct ssl_st;

namespace shoal::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class tls_socket {
 public:
  enum class side { client, server };

  tls_socket(tcp::socket socket, ssl_ctx_st* ctx, side s);
  ~tls_socket();
  tls_socket(const tls_socket&) = delete;
  tls_socket& operator=(const tls_socket&) = delete;

  tcp::socket& socket() { return socket_; }
  ssl_st* native_handle() { return ssl_; }

  // Runs the handshake. On failure, `ec` is set and `openssl_error` holds OpenSSL's error code
  // (0 if the socket failed).
  asio::awaitable<void> handshake(boost::system::error_code& ec, unsigned long& openssl_error);
  // Reads at least one byte, and as many as are ready, up to buf.size(). 0 with ec == eof at the
  // end of the stream.
  asio::awaitable<std::size_t> read_some(std::span<std::uint8_t> buf, boost::system::error_code& ec,
                                         unsigned long& openssl_error);
  // Writes all of `data`.
  asio::awaitable<void> write_all(std::span<const std::uint8_t> data,
                                  boost::system::error_code& ec);
  void close();

 private:
  // Waits until OpenSSL's last call can make progress; false if the wait failed.
  asio::awaitable<bool> wait_for(int ssl_error, boost::system::error_code& ec);

  tcp::socket socket_;
  ssl_st* ssl_ = nullptr;
};

}  // namespace shoal::net
