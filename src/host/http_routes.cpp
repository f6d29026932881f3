#include "host/http_routes.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/asio/ip/address.hpp>
#include <fstream>

#include "host/content_json.hpp"
#include "host/dashboard.hpp"
#include "host/http_gateway.hpp"

namespace shoal::host {

using nlohmann::json;

namespace {

bool token_matches(const http_request& req, const std::string& token) {
  const auto field = req[http::field::authorization];
  const std::string_view h(field.data(), field.size());
  constexpr std::string_view scheme = "Bearer ";
  if (h.size() != scheme.size() + token.size() || !h.starts_with(scheme)) return false;
  return CRYPTO_memcmp(h.data() + scheme.size(), token.data(), token.size()) == 0;
}

// Whether a Host header names this machine by an IP literal or `localhost`. A page of another
// site that the user's browser opens can make its own host name resolve to 127.0.0.1 (DNS
// rebinding) and then read what loopback clients read without the token; its requests carry
// that name in Host, so they are refused unless they bring the token.
bool local_host_header(std::string_view host) {
  if (host.empty()) return true;  // HTTP/1.0 without Host: not a browser
  if (host.starts_with('[')) {    // [IPv6]:port
    const auto end = host.find(']');
    if (end == std::string_view::npos) return false;
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(std::string(host.substr(1, end - 1)), ec);
    return !ec;
  }
  std::string_view name = host.substr(0, host.rfind(':'));
  if (name.ends_with('.')) name.remove_suffix(1);  // "localhost." is the same name, rooted
  if (boost::algorithm::iequals(name, "localhost")) return true;  // names are case-blind
  boost::system::error_code ec;
  boost::asio::ip::make_address_v4(std::string(name), ec);
  return !ec;
}

http_response text(const http_request& req, http::status status, std::string body,
                   const char* type = "text/plain; charset=utf-8") {
  http_response res{status, req.version()};
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  if (req.method() == http::verb::head) {
    const auto n = res.body().size();
    res.body().clear();
    res.content_length(n);
  }
  return res;
}

// The answer of a control-channel operation as one HTTP response: progress messages are
// dropped, the final one becomes the body (without its "event"), an error its status. A fetch
// started over HTTP is answered at its first message instead (`started`, `watching`: 202;
// `done`, when the content was held already: 200), and the daemon then drops this sink from
// the fetch's watchers: the fetch goes on detached.
class http_reply final : public reply_sink {
 public:
  http_reply(std::shared_ptr<http_session> s, unsigned version, bool keep_alive,
             bool first_answers = false)
      : session_(std::move(s)),
        version_(version),
        keep_alive_(keep_alive),
        first_answers_(first_answers) {}
  void send(const json& j) override {
    if (done_ || j.value("event", "") == "progress") return;
    last_ = j;
    if (first_answers_) close_after_writes();
  }
  void close_after_writes() override {
    if (done_) return;
    done_ = true;
    http_request req{http::verb::post, "/", version_};
    req.keep_alive(keep_alive_);
    json body = last_;
    const std::string event = body.value("event", "");
    if (event == "error") {
      const auto code = errc_from_name(body.value("code", "io_error")).value_or(errc::io_error);
      return session_->reply(http_error(req, status_of(code), {code, body.value("message", "")}));
    }
    body.erase("event");
    if (first_answers_) body["state"] = event;  // started, watching or done
    const auto status =
        first_answers_ && event != "done" ? http::status::accepted : http::status::ok;
    session_->reply(text(req, status, body.dump(2) + "\n", "application/json"));
  }
  bool open() const override { return !done_; }

 private:
  static http::status status_of(errc c) {
    switch (c) {
      case errc::not_found:
        return http::status::not_found;
      case errc::invalid_argument:
      case errc::invalid_path:
      case errc::unsupported:
        return http::status::bad_request;
      case errc::pinned:
      case errc::busy:
      case errc::already_exists:
      case errc::source_changed:
      case errc::cancelled:
        return http::status::conflict;
      case errc::permission_denied:
        return http::status::forbidden;
      case errc::disk_full:
        return http::status::insufficient_storage;
      default:
        return http::status::internal_server_error;
    }
  }
  std::shared_ptr<http_session> session_;
  unsigned version_;
  bool keep_alive_;
  bool first_answers_;
  json last_;
  bool done_ = false;
};

// POST and DELETE under /api/v1/ (docs/protocol/http.md, section 5): the operation of the
// control channel that they name, or nullopt.
std::optional<json> operation_of(const http_request& req, std::string_view path) {
  constexpr std::string_view contents = "/api/v1/contents";
  const bool post = req.method() == http::verb::post;
  if (post && path == contents) {
    json body = json::parse(req.body(), nullptr, false);
    if (!body.is_object()) body = json::object();
    json op{{"op", "add"}, {"path", body.value("path", std::string())}};
    if (body.contains("pin")) op["pin"] = body["pin"];
    return op;
  }
  if (post && path == "/api/v1/gc") return json{{"op", "gc"}};
  if (post && (path == "/api/v1/fetches" || path == "/api/v1/limits")) {
    json body = json::parse(req.body(), nullptr, false);
    if (!body.is_object()) body = json::object();
    body["op"] = path == "/api/v1/limits" ? "limits" : "get";
    if (body["op"] == "get") body["detach"] = true;  // no client stays to watch it
    return body;
  }
  if (path.starts_with(contents) && path.size() > contents.size() + 1 &&
      path[contents.size()] == '/') {
    std::string_view rest = path.substr(contents.size() + 1);
    const auto slash = rest.find('/');
    const std::string id(rest.substr(0, slash));
    const std::string_view verb = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
    if (req.method() == http::verb::delete_ && verb.empty()) return json{{"op", "rm"}, {"id", id}};
    if (post && (verb == "pin" || verb == "unpin" || verb == "verify"))
      return json{{"op", std::string(verb)}, {"id", id}};
  }
  constexpr std::string_view fetches = "/api/v1/fetches/";
  if (post && path.starts_with(fetches) && path.ends_with("/cancel")) {
    const auto id = path.substr(fetches.size(), path.size() - fetches.size() - 7);
    return json{{"op", "cancel"}, {"id", std::string(id)}};
  }
  return std::nullopt;
}

}  // namespace

namespace {
void route(const http_api& api, const std::shared_ptr<http_session>& session, http_request req);
}  // namespace

void route_http(const http_api& api, const std::shared_ptr<http_session>& session,
                http_request req) {
  // A field of the wrong type in a JSON body makes nlohmann::json throw: that is the client's
  // error, answered 400, and must not stop the daemon.
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  try {
    route(api, session, std::move(req));
  } catch (const json::exception& e) {
    http_request r{http::verb::post, "/", version};
    r.keep_alive(keep_alive);
    session->reply(http_error(
        r, http::status::bad_request,
        {errc::invalid_argument, std::string("a field of the wrong type: ") + e.what()}));
  }
}

namespace {

void route(const http_api& api, const std::shared_ptr<http_session>& session, http_request req) {
  const bool reading = req.method() == http::verb::get || req.method() == http::verb::head;
  if ((!session->loopback() || !reading) && !token_matches(req, api.token)) {
    auto res = http_error(
        req, http::status::unauthorized,
        {errc::permission_denied, session->loopback()
                                      ? "this request changes the node: it needs the token of "
                                        "<data dir>/http.token as `Authorization: Bearer TOKEN`"
                                      : "clients that are not on loopback need the token of "
                                        "<data dir>/http.token as `Authorization: Bearer TOKEN`"});
    res.set(http::field::www_authenticate, "Bearer realm=\"shoal\"");
    return session->reply(std::move(res));
  }
  const auto host = req[http::field::host];
  if (!token_matches(req, api.token) && !local_host_header({host.data(), host.size()}))
    return session->reply(http_error(
        req, http::status::forbidden,
        {errc::permission_denied,
         "the Host header names \"" + std::string(host) +
             "\": without the token, ask by IP address or as localhost (a request through "
             "another name may come from a web page that rebound that name to this machine)"}));
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (!reading) {
    if (auto op = operation_of(req, path))
      return api.op(std::make_shared<http_reply>(session, req.version(), req.keep_alive(),
                                                 op->value("op", "") == "get"),
                    *op);
    return session->reply(http_error(
        req, http::status::method_not_allowed,
        {errc::invalid_argument, "no " + std::string(req.method_string()) + " on " +
                                     std::string(path) +
                                     " (see docs/protocol/http.md for the operations)"}));
  }

  if (path.starts_with("/content/")) {
    auto t = parse_gateway_target(target);
    if (!t)
      return session->reply(
          http_error(req, http::status::bad_request,
                     {errc::invalid_path, "bad gateway path \"" + std::string(path) +
                                              "\": /content/ID or /content/ID/PATH, no empty, "
                                              "`.` or `..` segments"}));
    return serve_gateway(api, session, req, *t);
  }
  if (auto page = dashboard_asset(path)) {
    auto res = text(req, http::status::ok, std::string(page->body), page->content_type);
    // Nothing but the node's own files and API: names shown come from other members.
    res.set("Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    res.set("X-Content-Type-Options", "nosniff");
    return session->reply(std::move(res));
  }
  if (path == "/metrics")
    return session->reply(
        text(req, http::status::ok, api.metrics(), "text/plain; version=0.0.4; charset=utf-8"));
  if (path == "/healthz") return session->reply(text(req, http::status::ok, "ok\n"));
  if (path == "/readyz") {
    if (auto why = api.not_ready())
      return session->reply(
          text(req, http::status::service_unavailable, "not ready: " + *why + "\n"));
    return session->reply(text(req, http::status::ok, "ready\n"));
  }
  if (path == "/api/v1/status")
    return session->reply(
        text(req, http::status::ok, api.status().dump(2) + "\n", "application/json"));
  if (path == "/api/v1/fetches" || path == "/api/v1/limits")
    return session->reply(
        text(req, http::status::ok,
             api.status()[path == "/api/v1/limits" ? "limits" : "fetches"].dump(2) + "\n",
             "application/json"));
  if (constexpr std::string_view one = "/api/v1/contents/"; path.starts_with(one)) {
    auto id = content_id::parse(std::string(path.substr(one.size())));
    auto st = !id                  ? result<json>(id.err())
              : api.content_status ? api.content_status(*id)
                                   : result<json>(error{errc::not_found, "no content status here"});
    if (!st)
      return session->reply(http_error(req,
                                       st.err().code == errc::not_found ? http::status::not_found
                                       : st.err().code == errc::invalid_argument
                                           ? http::status::bad_request
                                           : http::status::internal_server_error,
                                       st.err()));
    st->erase("event");
    return session->reply(text(req, http::status::ok, st->dump(2) + "\n", "application/json"));
  }
  if (path == "/api/v1/contents") {
    auto all = api.store.list();
    if (!all)
      return session->reply(http_error(req, http::status::internal_server_error, all.err()));
    json arr = json::array();
    for (const auto& s : *all) arr.push_back(summary_json(s));  // as `shoal --json ls`
    return session->reply(text(req, http::status::ok, arr.dump(2) + "\n", "application/json"));
  }
  session->reply(http_error(
      req, http::status::not_found,
      {errc::not_found, "no such path \"" + std::string(path) + "\" (see docs/protocol/http.md)"}));
}

}  // namespace

result<std::string> load_or_make_http_token(const std::filesystem::path& data_dir) {
  const auto path = data_dir / "http.token";
  std::ifstream in(path);
  std::string token;
  if (in && std::getline(in, token) && token.size() == 64) return token;
  if (std::filesystem::exists(path))
    return error{errc::invalid_argument, "the HTTP token " + path.string() +
                                             " is not 64 hex digits; delete it and restart the "
                                             "daemon to make a new one"};
  unsigned char raw[32];
  if (RAND_bytes(raw, sizeof raw) != 1)
    return error{errc::io_error, "cannot draw random bytes for the HTTP token"};
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned char b : raw) {
    token.push_back(hex[b >> 4]);
    token.push_back(hex[b & 15]);
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return system_error(errno, "cannot create the HTTP token " + path.string());
  const std::string line = token + "\n";
  const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                  ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return system_error(errno, "cannot write the HTTP token " + path.string());
  return token;
}

}  // namespace shoal::host
