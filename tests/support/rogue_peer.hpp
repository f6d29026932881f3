// Misbehaving members for integration tests, built from the real adapter and core: a peer that
// serves a content with corrupted blocks, and a raw TLS client that sends whatever bytes a test
// gives it. Both present a genuine certificate of the network, so only their behaviour is bad.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <csignal>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

#include "member/identity.hpp"
#include "member/tls.hpp"
#include "net/connection.hpp"
#include "support/memory_content.hpp"

namespace shoal::testing {

inline std::unique_ptr<ssl_ctx_st, decltype(&SSL_CTX_free)> tls_context_of(
    const std::filesystem::path& data_dir) {
  auto id = member::load_identity(data_dir);
  if (!id) throw std::runtime_error(id.err().message);
  auto ctx = member::make_tls_context(*id);
  if (!ctx) throw std::runtime_error(ctx.err().message);
  return {*ctx, &SSL_CTX_free};
}

// Serves `content` to whoever connects, on its own io thread, damaged as `what` says: every
// block's bytes altered (with a proof for the true bytes), or the manifest's first byte.
enum class damage { blocks, manifest };
class corrupting_peer : public net::connection_handler {
 public:
  corrupting_peer(const std::filesystem::path& data_dir, memory_content content,
                  damage what = damage::blocks)
      : tls_(tls_context_of(data_dir)), content_(std::move(content)), what_(what), acceptor_(io_) {
    const net::tcp::endpoint ep(net::asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~corrupting_peer() override {
    io_.stop();
    thread_.join();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Blocks sent corrupted, and how each connection ended as this side saw it.
  int corrupt_blocks_sent() {
    std::lock_guard lock(mutex_);
    return corrupt_sent_;
  }
  std::vector<session_events::closed> closes() {
    std::lock_guard lock(mutex_);
    return closes_;
  }
  int connections_accepted() {
    std::lock_guard lock(mutex_);
    return accepted_;
  }

  void on_established(net::connection&) override {}
  void on_refused(net::connection&, failure, const std::string&) override {}
  void on_closed(net::connection& c) override { connections_.erase(c.id()); }
  duration upload_delay(std::size_t) override { return duration::zero(); }
  duration download_delay(std::size_t) override { return duration::zero(); }
  void on_event(net::connection& c, session_event ev) override {
    session& s = *c.sess();
    const auto now = net::now();
    if (auto* closed = std::get_if<session_events::closed>(&ev)) {
      std::lock_guard lock(mutex_);
      closes_.push_back(*closed);
      return;
    }
    std::vector<wire::message> answers;
    if (auto* g = std::get_if<wire::get_manifest>(&ev)) answers = content_.answer(*g, 16384);
    if (auto* g = std::get_if<wire::get_hashes>(&ev)) answers = content_.answer(*g);
    if (auto* r = std::get_if<wire::request>(&ev)) answers = content_.answer(*r);
    for (auto& a : answers) {
      if (auto* p = std::get_if<wire::manifest_part>(&a)) {
        if (what_ == damage::manifest && p->offset == 0 && !p->data.empty()) p->data[0] ^= 0x01;
        s.send_manifest_part(now, *p);
      }
      if (auto* h = std::get_if<wire::hashes>(&a)) s.send_hashes(now, *h);
      if (auto* b = std::get_if<wire::bitfield>(&a)) s.send_bitfield(now, *b);
      if (auto* b = std::get_if<wire::block>(&a)) {
        b->data[b->data.size() / 2] ^= 0x01;
        s.send_block(now, *b);
        std::lock_guard lock(mutex_);
        ++corrupt_sent_;
      }
    }
    c.flush();
  }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, net::tcp::socket sock) {
      if (ec) return;
      {
        std::lock_guard lock(mutex_);
        ++accepted_;
      }
      const peer_handle id(++next_id_);
      auto c = std::make_shared<net::connection>(tls_.get(), std::move(sock), *this, id,
                                                 session_config{});
      connections_[id] = c;
      c->start();
      accept();
    });
  }

  std::unique_ptr<ssl_ctx_st, decltype(&SSL_CTX_free)> tls_;
  memory_content content_;
  damage what_;
  net::asio::io_context io_;
  net::tcp::acceptor acceptor_;
  std::map<peer_handle, std::shared_ptr<net::connection>> connections_;
  std::uint64_t next_id_ = 0;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  int corrupt_sent_ = 0;
  int accepted_ = 0;
  std::vector<session_events::closed> closes_;
};

// A member that completes the TLS handshake and then writes raw bytes: blocking, with 10 s
// socket timeouts so no test can hang on it.
class raw_member_client {
 public:
  raw_member_client(const std::filesystem::path& data_dir, const std::string& host, int port)
      : tls_(tls_context_of(data_dir)) {
    std::signal(SIGPIPE, SIG_IGN);  // the daemon may hang up while we write
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    ::inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      throw std::runtime_error("cannot connect");
    ssl_ = SSL_new(tls_.get());
    SSL_set_fd(ssl_, fd_);
    if (SSL_connect(ssl_) != 1) throw std::runtime_error("TLS handshake failed");
  }
  ~raw_member_client() {
    SSL_free(ssl_);
    ::close(fd_);
  }

  bool write(const std::vector<std::uint8_t>& bytes) {
    return SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size())) > 0;
  }
  // A frame as the protocol encodes it.
  bool send(const wire::message& m) {
    std::vector<std::uint8_t> out;
    wire::encode(m, out);
    return write(out);
  }
  // Closes our side cleanly (TLS close_notify, then FIN).
  void close() {
    SSL_shutdown(ssl_);
    ::shutdown(fd_, SHUT_WR);
  }
  // Reads until the peer closes; returns every byte received (bounded by the socket timeout).
  std::vector<std::uint8_t> read_until_closed() {
    std::vector<std::uint8_t> all;
    std::uint8_t buf[16384];
    for (int i = 0; i < 4096; ++i) {
      const int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) break;
      all.insert(all.end(), buf, buf + n);
    }
    return all;
  }

 private:
  std::unique_ptr<ssl_ctx_st, decltype(&SSL_CTX_free)> tls_;
  int fd_ = -1;
  ssl_st* ssl_ = nullptr;
};

}  // namespace shoal::testing
