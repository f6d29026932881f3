#include "host/http_gateway.hpp"

#include <nlohmann/json.hpp>
#include <random>
#include <variant>

#include "core/merkle.hpp"

namespace shoal::host {

using nlohmann::json;

http_response http_error(const http_request& req, http::status status, const error& e) {
  http_response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.keep_alive(req.keep_alive());
  // Replace, not throw, on invalid UTF-8: the message may quote the client's own bytes.
  res.body() = json{{"error", {{"code", errc_name(e.code)}, {"message", e.message}}}}.dump(
                   -1, ' ', false, json::error_handler_t::replace) +
               "\n";
  res.prepare_payload();
  if (req.method() == http::verb::head) {  // the headers of the GET, no body
    const auto n = res.body().size();
    res.body().clear();
    res.content_length(n);
  }
  return res;
}

namespace {

// The body of a response: literal text (multipart boundaries) and ranges of one file.
struct file_span {
  std::uint64_t first = 0, last = 0;  // inclusive, offsets in the file
};
using body_part = std::variant<std::string, file_span>;

// Yields a body's parts as chunks, reading the pieces that hold each span (verified); a piece
// not stored yet is waited for (api.wait), once: if it is still missing then, the body ends
// with an error. Pieces are read and hashed off the io thread (api.off_io), the next one while
// the current one is sent: done in turn on the io thread, a held 1 GiB file came at 0.36 x
// nginx's speed, 0.62 x this way (bench/RESULTS.md).
class body_reader : public std::enable_shared_from_this<body_reader> {
 public:
  body_reader(const http_api& api, std::unique_ptr<store::content_reader> r, const file_layout& f,
              std::vector<body_part> parts)
      : api_(api), reader_(std::move(r)), file_(f), parts_(std::move(parts)) {}

  void next(std::function<void(http_session::chunk)> ready) {
    while (part_ < parts_.size()) {
      if (auto* text = std::get_if<std::string>(&parts_[part_])) {
        ++part_;
        return ready(std::optional(std::vector<std::uint8_t>(text->begin(), text->end())));
      }
      const auto& span = std::get<file_span>(parts_[part_]);
      const std::uint64_t at = span.first + done_;
      if (at > span.last) {
        ++part_;
        done_ = 0;
        continue;
      }
      const std::uint64_t in_file = at / merkle::piece_size;
      const piece_index p(file_.first_piece + in_file);
      if (!piece_ || piece_->first != p) {
        if (auto got = take_read_ahead(p)) {
          if (!*got) return ready(std::move(*got).err());
          piece_.emplace(p, std::move(**got));
        } else if (reading_ == p) {
          pending_ = std::move(ready);  // the read's `then` comes back here
          return;
        } else {
          if (!reader_->have().contains(p)) (void)reader_->refresh();
          if (!reader_->have().contains(p)) {
            if (waited_for_ == p)
              return ready(error{errc::not_found, "piece " + std::to_string(p.value) + " of " +
                                                      reader_->id().str() +
                                                      " is not held here and no fetch of it runs"});
            waited_for_ = p;
            return api_.wait(reader_->id(), p, [self = shared_from_this(), ready](const error* e) {
              if (e) return ready(*e);
              self->next(ready);
            });
          }
          if (api_.off_io) {
            pending_ = std::move(ready);
            return read(p);
          }
          auto bytes = reader_->read_piece(p);
          if (!bytes) return ready(std::move(bytes).err());
          piece_.emplace(p, std::move(*bytes));
        }
        read_ahead(piece_index(p.value + 1), span);
      }
      const std::uint64_t piece_start = in_file * merkle::piece_size;
      const std::uint64_t from = at - piece_start;
      const std::uint64_t to =
          std::min<std::uint64_t>(span.last - piece_start + 1, piece_->second.size());
      if (from >= to)
        return ready(error{errc::store_corrupt, "a piece is shorter than its layout says"});
      done_ += to - from;
      if (from == 0 && to == piece_->second.size()) {  // the whole piece: no copy
        auto out = std::move(piece_->second);
        piece_.reset();
        return ready(std::optional(std::move(out)));
      }
      std::vector<std::uint8_t> out(piece_->second.begin() + static_cast<std::ptrdiff_t>(from),
                                    piece_->second.begin() + static_cast<std::ptrdiff_t>(to));
      return ready(std::optional(std::move(out)));
    }
    ready(std::optional<std::vector<std::uint8_t>>());
  }

 private:
  using read_result = result<std::optional<std::vector<std::uint8_t>>>;

  // Piece p, if it was read ahead: its bytes or an error. A read whose bytes did not match is
  // done again on the io thread, where read_piece reports the damage and marks it missing.
  std::optional<result<std::vector<std::uint8_t>>> take_read_ahead(piece_index p) {
    if (!ahead_ || ahead_->first != p) return std::nullopt;
    read_result r = std::move(ahead_->second);
    ahead_.reset();
    if (!r) return result<std::vector<std::uint8_t>>(std::move(r).err());
    if (!*r) return reader_->read_piece(p);
    return result<std::vector<std::uint8_t>>(std::move(**r));
  }

  // Starts reading p on the reads' thread, if it is held, within the span and nothing else is
  // being read.
  void read_ahead(piece_index p, const file_span& span) {
    if (!api_.off_io || reading_ || ahead_) return;
    const std::uint64_t last = file_.first_piece + span.last / merkle::piece_size;
    if (p.value > last || !reader_->have().contains(p)) return;
    read(p);
  }

  void read(piece_index p) {
    reading_ = p;
    auto self = shared_from_this();
    auto out = std::make_shared<read_result>(error{errc::io_error, "not read"});
    // The work holds plain pointers: `then` keeps both alive, and so the last reference to this
    // reader is always dropped on the io thread, never on the reads' thread.
    api_.off_io(
        [b = self.get(), p, o = out.get()] { *o = b->reader_->read_piece_detached(p, b->hasher_); },
        [self, p, out] {
          self->reading_.reset();
          self->ahead_.emplace(p, std::move(*out));
          if (self->pending_) {
            auto ready = std::move(self->pending_);
            self->pending_ = nullptr;
            self->next(std::move(ready));
          }
        });
  }

  const http_api& api_;
  std::unique_ptr<store::content_reader> reader_;
  file_layout file_;
  std::vector<body_part> parts_;
  std::size_t part_ = 0;
  std::uint64_t done_ = 0;  // bytes of the current span given
  std::optional<std::pair<piece_index, std::vector<std::uint8_t>>> piece_;
  std::optional<piece_index> waited_for_;
  // The read off the io thread: the piece being read, the one read, and the chunk asked for
  // while it was being read. hasher_ is the reads' thread's alone (one read at a time).
  std::optional<piece_index> reading_;
  std::optional<std::pair<piece_index, read_result>> ahead_;
  std::function<void(http_session::chunk)> pending_;
  crypto::sha256_hasher hasher_;
};

std::string boundary_token() {
  std::random_device rd;
  static constexpr char hex[] = "0123456789abcdef";
  std::string b = "shoal-";
  for (int i = 0; i < 24; ++i) b.push_back(hex[rd() % 16]);
  return b;
}

std::string range_text(const byte_range& r, std::uint64_t size) {
  return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
         std::to_string(size);
}

// The direct children of `dir` ("" for the root) in the manifest, as a JSON listing.
std::optional<json> listing(const manifest& m, const content_id& id, const std::string& dir) {
  json entries = json::array();
  bool exists = dir.empty();
  const std::string prefix = dir.empty() ? "" : dir + "/";
  for (const auto& e : m.entries) {
    if (e.path == dir && e.type == entry_type::directory) exists = true;
    if (!e.path.starts_with(prefix) || e.path.size() == prefix.size()) continue;
    exists = true;
    const std::string rest = e.path.substr(prefix.size());
    if (rest.find('/') != std::string::npos) continue;  // deeper
    json j{{"name", rest},
           {"type", e.type == entry_type::file        ? "file"
                    : e.type == entry_type::directory ? "directory"
                                                      : "symlink"}};
    if (e.type == entry_type::file) {
      j["size"] = e.size;
      j["executable"] = e.executable;
    }
    if (e.type == entry_type::symlink)
      j["target"] = e.target;
    else
      j["mode"] = fmt::format("{:04o}", mode_of(e));
    entries.push_back(std::move(j));
  }
  if (!exists) return std::nullopt;
  return json{{"id", id.str()}, {"path", dir}, {"entries", entries}};
}

void send_listing(const std::shared_ptr<http_session>& session, const http_request& req,
                  const json& body, const std::string& etag) {
  http_response res{http::status::ok, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::etag, etag);
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(req.keep_alive());
  res.body() = body.dump(2) + "\n";
  res.prepare_payload();
  if (req.method() == http::verb::head) {
    const auto n = res.body().size();
    res.body().clear();
    res.content_length(n);
  }
  session->reply(std::move(res));
}

}  // namespace

namespace {

// The status for a fetch that could not start or failed.
http::status status_of(const error& e) {
  switch (e.code) {
    case errc::not_found:
    case errc::invalid_argument:  // no peer to fetch from
      return http::status::not_found;
    case errc::busy:
      return http::status::service_unavailable;
    default:
      return http::status::bad_gateway;
  }
}

void respond(const http_api& api, const std::shared_ptr<http_session>& session,
             const http_request& req, const gateway_target& target, const content_id& cid) {
  auto reader = api.store.open_reader(cid);
  if (!reader) {
    const auto status = reader.err().code == errc::not_found ? http::status::not_found
                                                             : http::status::internal_server_error;
    return session->reply(http_error(req, status, reader.err()));
  }
  const auto& rd = **reader;
  const manifest& m = rd.get_manifest();
  const std::string etag = "\"" + cid.str() + (target.path.empty() ? "" : "/" + target.path) + "\"";
  const auto inm = req[http::field::if_none_match];
  if (std::string_view(inm.data(), inm.size()) == etag) {
    http_response res{http::status::not_modified, req.version()};
    res.set(http::field::etag, etag);
    res.keep_alive(req.keep_alive());
    return session->reply(std::move(res));
  }
  // Which file: the single file of a file content, or the entry at `path`, where the content's
  // symbolic links lead (never out of it: content.md 6.3).
  std::string path = target.path;
  if (m.kind == root_kind::directory && !path.empty())
    if (auto i = resolve(m, path)) path = m.entries[*i].path;
  const file_layout* file = nullptr;
  for (const auto& f : rd.layout().files()) {
    const auto& e = m.entries[f.entry];
    if ((m.kind == root_kind::file && target.path.empty()) ||
        (m.kind == root_kind::directory && e.path == path && !path.empty()))
      file = &f;
  }
  if (!file) {
    if (m.kind == root_kind::directory)
      if (auto l = listing(m, cid, path)) return send_listing(session, req, *l, etag);
    return session->reply(
        http_error(req, http::status::not_found,
                   {errc::not_found,
                    "content " + cid.str() + " has no file or directory \"" + target.path + "\""}));
  }
  const std::uint64_t size = file->size;
  const std::string& entry_path = m.entries[file->entry].path;
  const std::string name = entry_path.empty() ? rd.record().summary.name : entry_path;
  const std::string type = content_type_of(name.substr(name.rfind('/') + 1));

  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::accept_ranges, "bytes");
  res.set(http::field::etag, etag);
  // The bytes come from any member: an HTML page among them must not run as the node's own
  // origin (where the API is), nor be sniffed into one.
  res.set("Content-Security-Policy", "sandbox");
  res.set("X-Content-Type-Options", "nosniff");
  res.keep_alive(req.keep_alive());
  std::vector<body_part> parts;
  std::uint64_t length = 0;
  range_request ranges;
  if (auto h = req.find(http::field::range); h != req.end()) {
    // If-Range with another validator than ours: the whole representation (RFC 9110 13.1.5).
    const auto ir = req[http::field::if_range];
    const std::string_view if_range(ir.data(), ir.size());
    if (if_range.empty() || if_range == etag)
      ranges = parse_range(std::string_view(h->value().data(), h->value().size()), size);
  }
  if (ranges.what == range_request::kind::unsatisfiable) {
    http_response bad{http::status::range_not_satisfiable, req.version()};
    bad.set(http::field::content_range, "bytes */" + std::to_string(size));
    bad.set(http::field::accept_ranges, "bytes");
    bad.keep_alive(req.keep_alive());
    bad.prepare_payload();
    return session->reply(std::move(bad));
  }
  if (ranges.what == range_request::kind::partial && ranges.ranges.size() == 1) {
    const auto& r = ranges.ranges.front();
    res.result(http::status::partial_content);
    res.set(http::field::content_range, range_text(r, size));
    res.set(http::field::content_type, type);
    parts.push_back(file_span{r.first, r.last});
    length = r.length();
  } else if (ranges.what == range_request::kind::partial) {
    const std::string boundary = boundary_token();
    res.result(http::status::partial_content);
    res.set(http::field::content_type, "multipart/byteranges; boundary=" + boundary);
    for (const auto& r : ranges.ranges) {
      std::string head = "\r\n--" + boundary + "\r\nContent-Type: " + type +
                         "\r\nContent-Range: " + range_text(r, size) + "\r\n\r\n";
      if (parts.empty()) head.erase(0, 2);  // the first boundary needs no CRLF before it
      length += head.size() + r.length();
      parts.push_back(std::move(head));
      parts.push_back(file_span{r.first, r.last});
    }
    std::string tail = "\r\n--" + boundary + "--\r\n";
    length += tail.size();
    parts.push_back(std::move(tail));
  } else {
    res.set(http::field::content_type, type);
    if (size > 0) parts.push_back(file_span{0, size - 1});
    length = size;
  }
  res.content_length(length);
  if (req.method() == http::verb::head) parts.clear();
  auto body = std::make_shared<body_reader>(api, std::move(*reader), *file, std::move(parts));
  session->stream(std::move(res), [body](auto ready) { body->next(ready); });
}

}  // namespace

void serve_gateway(const http_api& api, const std::shared_ptr<http_session>& session,
                   const http_request& req, const gateway_target& target) {
  auto id = content_id::parse(target.id);
  if (!id) return session->reply(http_error(req, http::status::bad_request, id.err()));
  // Held complete: at once. Else its fetch starts (or is joined) and the response begins once
  // the manifest is known; the bytes follow as their pieces are stored.
  auto r = std::make_shared<http_request>(req);
  api.open(*id, [&api, session, r, target, cid = *id](const error* e) {
    if (e) return session->reply(http_error(*r, status_of(*e), *e));
    respond(api, session, *r, target, cid);
  });
}

}  // namespace shoal::host
