#include "host/http_routes.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <fstream>

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

}  // namespace

void route_http(const http_api& api, const std::shared_ptr<http_session>& session,
                http_request req) {
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
  const std::string_view target(req.target().data(), req.target().size());
  const std::string_view path = target.substr(0, target.find('?'));
  if (!reading)
    return session->reply(http_error(
        req, http::status::method_not_allowed,
        {errc::invalid_argument, "no " + std::string(req.method_string()) + " on " +
                                     std::string(path) + " (this API has only GET and HEAD yet)"}));
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
  if (path == "/api/v1/contents") {
    auto all = api.store.list();
    if (!all)
      return session->reply(http_error(req, http::status::internal_server_error, all.err()));
    json arr = json::array();
    for (const auto& s : *all)
      arr.push_back({{"id", s.id.str()},
                     {"name", s.name},
                     {"size", s.total_size},
                     {"pieces", s.piece_count},
                     {"pieces_present", s.have_count},
                     {"complete", s.complete()},
                     {"pinned", s.pinned}});
    return session->reply(text(req, http::status::ok, arr.dump(2) + "\n", "application/json"));
  }
  session->reply(http_error(
      req, http::status::not_found,
      {errc::not_found, "no such path \"" + std::string(path) + "\" (see docs/protocol/http.md)"}));
}

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
