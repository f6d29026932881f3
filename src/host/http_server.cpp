#include "host/http_server.hpp"

#include <spdlog/spdlog.h>

#include "net/connection.hpp"

namespace shoal::host {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr std::size_t max_header_bytes = 16 * 1024;
constexpr std::size_t max_body_bytes = 64 * 1024;
constexpr auto read_timeout = std::chrono::seconds(30);
constexpr auto write_timeout = std::chrono::seconds(60);

}  // namespace

http_session::http_session(asio::ip::tcp::socket s, std::shared_ptr<std::size_t> open)
    : stream_(std::move(s)), open_(std::move(open)) {
  ++*open_;
  boost::system::error_code ec;
  const auto ep = stream_.socket().remote_endpoint(ec);
  if (!ec) {
    auto a = ep.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped())
      a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    loopback_ = a.is_loopback();
    remote_ = net::endpoint_text(ep);
  }
}

void http_session::start(
    std::function<void(const std::shared_ptr<http_session>&, http_request)> handler) {
  handler_ = std::move(handler);
  read();
}

void http_session::read() {
  parser_.emplace();
  parser_->header_limit(max_header_bytes);
  parser_->body_limit(max_body_bytes);
  stream_.expires_after(read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, std::size_t) {
                     if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
                         ec == asio::error::operation_aborted || ec == asio::error::eof)
                       return self->finish(false);
                     if (ec) {
                       // A request that breaks HTTP or a bound: say so once, then close.
                       http_response res{http::status::bad_request, 11};
                       res.set(http::field::content_type, "text/plain; charset=utf-8");
                       res.body() = "bad request: " + ec.message() + "\n";
                       res.keep_alive(false);
                       res.prepare_payload();
                       return self->reply(std::move(res));
                     }
                     self->handler_(self, self->parser_->release());
                   });
}

void http_session::reply(http_response res) {
  auto sp = std::make_shared<http_response>(std::move(res));
  stream_.expires_after(write_timeout);
  http::async_write(stream_, *sp,
                    [self = shared_from_this(), sp](beast::error_code ec, std::size_t) {
                      self->finish(!ec && sp->keep_alive());
                    });
}

void http_session::stream(http::response<http::empty_body> header, chunk_source next) {
  auto res = std::make_shared<http::response<http::empty_body>>(std::move(header));
  auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
  auto src = std::make_shared<chunk_source>(std::move(next));
  stream_.expires_after(write_timeout);
  http::async_write_header(
      stream_, *sr, [self = shared_from_this(), res, sr, src](beast::error_code ec, std::size_t) {
        if (ec) return self->finish(false);
        self->write_chunk(src, res->keep_alive());
      });
}

void http_session::write_chunk(std::shared_ptr<chunk_source> next, bool keep_alive) {
  (*next)([self = shared_from_this(), next, keep_alive](chunk c) {
    if (!c) {
      spdlog::warn("http: {}: the response stopped short: {}", self->remote_, c.err().message);
      return self->finish(false);
    }
    if (!*c) return self->finish(keep_alive);
    self->chunk_ = std::move(**c);
    self->stream_.expires_after(write_timeout);
    asio::async_write(self->stream_, asio::buffer(self->chunk_),
                      [self, next, keep_alive](beast::error_code ec, std::size_t) {
                        if (ec) return self->finish(false);  // the client went away
                        self->write_chunk(next, keep_alive);
                      });
  });
}

void http_session::finish(bool keep_alive) {
  if (keep_alive) return read();
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream_.close();
}

result<void> http_server::listen(const address& at) {
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io_);
  auto eps =
      resolver.resolve(at.host, std::to_string(at.port), asio::ip::tcp::resolver::passive, ec);
  if (ec || eps.empty())
    return error{errc::invalid_argument,
                 "cannot resolve the HTTP listen address " + at.str() + ": " + ec.message()};
  const auto ep = eps.begin()->endpoint();
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return error{errc::io_error, "cannot listen for HTTP on " + at.str() + ": " + ec.message() +
                                     " (set http_listen, or --http-listen, to another address, "
                                     "or to \"off\")"};
  const auto b = acceptor_.local_endpoint(ec);
  bound_ = ec ? at.str() : address{b.address().to_string(), b.port()}.str();
  return {};
}

void http_server::start(handler h) {
  handler_ = std::move(h);
  accept();
}

void http_server::stop() {
  stopped_ = true;
  retry_.cancel();
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void http_server::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket sock) {
    if (ec) {
      if (ec != asio::error::operation_aborted && !stopped_)
        retry_.after_failure(accept_log_, "HTTP clients", ec, [this] {
          if (!stopped_) accept();
        });
      return;
    }
    retry_.reset();
    auto s = std::make_shared<http_session>(std::move(sock), open_);
    if (*open_ > max_) {
      log_limited(refuse_log_, spdlog::level::warn,
                  "turned away an HTTP client ({}): {} are connected, the most this node takes",
                  s->remote(), *open_ - 1);
      http_response res{http::status::service_unavailable, 11};
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.set(http::field::retry_after, "1");
      res.body() = "too many HTTP clients; try again\n";
      res.keep_alive(false);
      res.prepare_payload();
      s->reply(std::move(res));
    } else {
      s->start(handler_);
    }
    accept();
  });
}

}  // namespace shoal::host
