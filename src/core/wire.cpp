#include "core/wire.hpp"

#include <algorithm>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "core/wire_rules.hpp"

namespace shoal::wire {
namespace {

using detail::bad;
using detail::check;
using detail::check_message;
using detail::hex32;
using detail::hex8;
using detail::num;
using detail::too_big;

// A buffer that has grown past this (for a bitfield or a manifest part) is released once it is
// drained, so that an idle connection does not keep a megabyte; blocks fit well below it.
constexpr std::size_t retained_capacity = 64 * 1024;
constexpr std::size_t prefix_size = 4;

class writer {
 public:
  explicit writer(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void bytes(byte_span b) { out_.insert(out_.end(), b.begin(), b.end()); }
  void text(std::string_view s) {
    bytes(byte_span(reinterpret_cast<const std::uint8_t*>(s.data()), s.size()));
  }
  void hash(const hash256& h) { bytes(h.bytes); }
  void id(const content_id& c) { hash(c.digest); }
  void ref(const block_ref& r) {
    id(r.content);
    u64(r.piece.value);
    u8(r.block);
  }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; --i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t>& out_;
};

void write_fields(writer& w, const hello& m) {
  w.u32(hello_magic);
  w.u16(m.min_version);
  w.u16(m.max_version);
  w.u16(m.max_requests);
  w.u16(m.listen_port);
  w.u8(static_cast<std::uint8_t>(m.agent.size()));
  w.text(m.agent);
}
void write_fields(writer&, const keepalive&) {}
void write_fields(writer& w, const goodbye& m) {
  w.u16(static_cast<std::uint16_t>(m.code));
  w.u16(static_cast<std::uint16_t>(m.text.size()));
  w.text(m.text);
}
void write_fields(writer& w, const get_manifest& m) {
  w.id(m.content);
  w.u64(m.offset);
}
void write_fields(writer& w, const manifest_part& m) {
  w.id(m.content);
  w.u64(m.total_size);
  w.u64(m.offset);
  w.u8(static_cast<std::uint8_t>(m.name.size()));
  w.text(m.name);
  w.bytes(m.data);
}
void write_fields(writer& w, const get_hashes& m) {
  w.id(m.content);
  w.u64(m.first.value);
  w.u32(m.count);
}
void write_fields(writer& w, const hashes& m) {
  w.id(m.content);
  w.u64(m.first.value);
  for (const auto& h : m.pieces) w.hash(h);
}
void write_fields(writer& w, const bitfield& m) {
  w.id(m.content);
  w.u64(m.piece_count);
  w.bytes(m.bits);
}
void write_fields(writer& w, const have& m) {
  w.id(m.content);
  w.u64(m.piece.value);
}
void write_fields(writer& w, const request& m) {
  w.ref(m.ref);
}
void write_fields(writer& w, const block& m) {
  w.ref(m.ref);
  for (const auto& h : m.proof) w.hash(h);
  w.bytes(m.data);
}
void write_fields(writer& w, const cancel& m) {
  w.ref(m.ref);
}
void write_entry(writer& w, const peer_entry& e) {
  w.hash(e.node.digest);
  w.u8(e.ipv6 ? 6 : 4);
  w.bytes(byte_span(e.ip.data(), e.ipv6 ? 16 : 4));
  w.u16(e.port);
}
void write_fields(writer& w, const peers& m) {
  w.id(m.content);
  w.u8(static_cast<std::uint8_t>(m.entries.size()));
  for (const auto& e : m.entries) write_entry(w, e);
}
void write_fields(writer& w, const dht_query& m) {
  w.u32(m.tag);
  w.u8(static_cast<std::uint8_t>(m.kind));
  w.hash(m.key);
}
void write_fields(writer& w, const dht_nodes& m) {
  w.u32(m.tag);
  w.u8(static_cast<std::uint8_t>((m.self_provides ? 1 : 0) | (m.self_complete ? 2 : 0)));
  w.u8(static_cast<std::uint8_t>(m.nodes.size()));
  for (const auto& e : m.nodes) write_entry(w, e);
  w.u8(static_cast<std::uint8_t>(m.providers.size()));
  for (const auto& p : m.providers) {
    write_entry(w, p.peer);
    w.u8(p.complete ? 1 : 0);
  }
}
void write_fields(writer& w, const dht_announce& m) {
  w.u32(m.tag);
  w.id(m.content);
  w.u8(m.complete ? 1 : 0);
}
void write_fields(writer& w, const dht_ack& m) {
  w.u32(m.tag);
  w.u16(static_cast<std::uint16_t>(m.code));
}
void write_fields(writer& w, const revocations& m) {
  w.bytes(m.list);
}
void write_fields(writer& w, const reject& m) {
  w.u8(static_cast<std::uint8_t>(m.kind));
  w.id(m.ref.content);
  w.u64(m.ref.piece.value);
  w.u8(m.ref.block);
  w.u16(static_cast<std::uint16_t>(m.code));
  w.u16(static_cast<std::uint16_t>(m.text.size()));
  w.text(m.text);
}

// Reads the fields of one body. The first failure (a field cut off by the end of the body) is
// kept and later reads yield zeros, so a decoder reads a group of fields and checks ok() once.
class reader {
 public:
  reader(byte_span body, msg_type t) : body_(body), type_(t) {}

  bool ok() const { return !err_; }
  error take_error() { return std::move(*err_); }

  std::uint8_t u8(const char* field) { return static_cast<std::uint8_t>(uint(1, field)); }
  std::uint16_t u16(const char* field) { return static_cast<std::uint16_t>(uint(2, field)); }
  std::uint32_t u32(const char* field) { return static_cast<std::uint32_t>(uint(4, field)); }
  std::uint64_t u64(const char* field) { return uint(8, field); }
  hash256 hash(const char* field) {
    hash256 h;
    const auto b = bytes(h.bytes.size(), field);
    std::copy(b.begin(), b.end(), h.bytes.begin());
    return h;
  }
  content_id id(const char* field) { return content_id{hash(field)}; }
  block_ref ref() {
    block_ref r;
    r.content = id("content");
    r.piece = piece_index{u64("piece")};
    r.block = u8("block");
    return r;
  }
  byte_span bytes(std::size_t n, const char* field) {
    if (!have(n, field)) return {};
    const auto b = body_.subspan(pos_, n);
    pos_ += n;
    return b;
  }
  std::string text(std::size_t n, const char* field) {
    const auto b = bytes(n, field);
    return std::string(b.begin(), b.end());
  }
  // The rest of the body, for the last field of the types that end with one.
  byte_span rest() {
    if (!ok()) return {};
    const auto b = body_.subspan(pos_);
    pos_ = body_.size();
    return b;
  }
  // After the last field: the body must end exactly there.
  result<void> end() {
    if (err_) return take_error();
    if (pos_ != body_.size())
      return bad(type_, num(body_.size() - pos_) + " trailing bytes after the last field");
    return {};
  }

 private:
  bool have(std::size_t n, const char* field) {
    if (err_) return false;
    if (body_.size() - pos_ < n) {
      err_ = bad(type_, "body ends inside field " + std::string(field) + " (" + num(n) +
                            " bytes needed, " + num(body_.size() - pos_) + " left)");
      return false;
    }
    return true;
  }
  std::uint64_t uint(std::size_t n, const char* field) {
    std::uint64_t v = 0;
    if (!have(n, field)) return 0;
    for (std::size_t i = 0; i < n; ++i) v = v << 8 | body_[pos_++];
    return v;
  }

  byte_span body_;
  msg_type type_;
  std::size_t pos_ = 1;  // after the type byte
  std::optional<error> err_;
};

// Each parser reads its fields and checks framing; check() then applies the message's rules.
result<hello> parse(reader& r, std::type_identity<hello>) {
  hello m;
  const auto magic = r.u32("magic");
  m.min_version = r.u16("min_version");
  m.max_version = r.u16("max_version");
  m.max_requests = r.u16("max_requests");
  m.listen_port = r.u16("listen_port");
  const auto agent_len = r.u8("agent_len");
  if (!r.ok()) return r.take_error();
  if (magic != hello_magic)
    return bad(msg_type::hello, "magic is " + hex32(magic) + ", not " + hex32(hello_magic));
  m.agent = r.text(agent_len, "agent");
  SHOAL_TRY(r.end());
  return m;
}
result<keepalive> parse(reader& r, std::type_identity<keepalive>) {
  SHOAL_TRY(r.end());
  return keepalive{};
}
result<goodbye> parse(reader& r, std::type_identity<goodbye>) {
  goodbye m;
  m.code = static_cast<reason>(r.u16("code"));
  const auto len = r.u16("text_len");
  m.text = r.text(len, "text");
  SHOAL_TRY(r.end());
  return m;
}
result<get_manifest> parse(reader& r, std::type_identity<get_manifest>) {
  get_manifest m;
  m.content = r.id("content");
  m.offset = r.u64("offset");
  SHOAL_TRY(r.end());
  return m;
}
result<manifest_part> parse(reader& r, std::type_identity<manifest_part>) {
  manifest_part m;
  m.content = r.id("content");
  m.total_size = r.u64("total_size");
  m.offset = r.u64("offset");
  const auto name_len = r.u8("name_len");
  m.name = r.text(name_len, "name");
  const auto data = r.rest();
  SHOAL_TRY(r.end());
  m.data.assign(data.begin(), data.end());
  return m;
}
result<get_hashes> parse(reader& r, std::type_identity<get_hashes>) {
  get_hashes m;
  m.content = r.id("content");
  m.first = piece_index{r.u64("first")};
  m.count = r.u32("count");
  SHOAL_TRY(r.end());
  return m;
}
result<hashes> parse(reader& r, std::type_identity<hashes>) {
  hashes m;
  m.content = r.id("content");
  m.first = piece_index{r.u64("first")};
  const auto rest = r.rest();
  SHOAL_TRY(r.end());
  if (rest.size() % hash256::size != 0)
    return bad(msg_type::hashes,
               "hashes field is " + num(rest.size()) + " bytes, not a multiple of 32");
  if (rest.size() / hash256::size > max_hashes_per_message)
    return too_big(msg_type::hashes, "hash count " + num(rest.size() / hash256::size) +
                                         " is over the limit of " + num(max_hashes_per_message));
  m.pieces.resize(rest.size() / hash256::size);
  for (std::size_t i = 0; i < m.pieces.size(); ++i)
    std::copy_n(rest.begin() + static_cast<std::ptrdiff_t>(i * hash256::size), hash256::size,
                m.pieces[i].bytes.begin());
  return m;
}
result<bitfield> parse(reader& r, std::type_identity<bitfield>) {
  bitfield m;
  m.content = r.id("content");
  m.piece_count = r.u64("piece_count");
  const auto bits = r.rest();
  SHOAL_TRY(r.end());
  m.bits.assign(bits.begin(), bits.end());
  return m;
}
result<have> parse(reader& r, std::type_identity<have>) {
  have m;
  m.content = r.id("content");
  m.piece = piece_index{r.u64("piece")};
  SHOAL_TRY(r.end());
  return m;
}
result<request> parse(reader& r, std::type_identity<request>) {
  request m{r.ref()};
  SHOAL_TRY(r.end());
  return m;
}
result<block> parse(reader& r, std::type_identity<block>) {
  block m;
  m.ref = r.ref();
  static constexpr const char* proof_fields[block_proof_length] = {"proof[0]", "proof[1]",
                                                                   "proof[2]", "proof[3]"};
  for (std::size_t k = 0; k < block_proof_length; ++k) m.proof[k] = r.hash(proof_fields[k]);
  const auto data = r.rest();
  SHOAL_TRY(r.end());
  m.data.assign(data.begin(), data.end());
  return m;
}
result<cancel> parse(reader& r, std::type_identity<cancel>) {
  cancel m{r.ref()};
  SHOAL_TRY(r.end());
  return m;
}
result<reject> parse(reader& r, std::type_identity<reject>) {
  reject m;
  m.kind = static_cast<request_kind>(r.u8("kind"));
  m.ref.content = r.id("content");
  m.ref.piece = piece_index{r.u64("index")};
  m.ref.block = r.u8("block");
  m.code = static_cast<reason>(r.u16("code"));
  const auto len = r.u16("text_len");
  m.text = r.text(len, "text");
  SHOAL_TRY(r.end());
  return m;
}

// One node entry of a peers or DHT message; an error for an unknown address family.
result<peer_entry> read_entry(reader& r, msg_type t, const char* list, unsigned i) {
  peer_entry e;
  e.node.digest = r.hash("node");
  const auto family = r.u8("family");
  if (!r.ok()) return r.take_error();
  if (family != 4 && family != 6)
    return bad(t, std::string(list) + " entry " + num(i) + " has address family " + num(family) +
                      ", not 4 or 6");
  e.ipv6 = family == 6;
  const auto ip = r.bytes(e.ipv6 ? 16 : 4, "ip");
  std::copy(ip.begin(), ip.end(), e.ip.begin());
  e.port = r.u16("port");
  if (!r.ok()) return r.take_error();
  return e;
}

// A count byte, refused before the entries are read if it is over `limit`.
result<unsigned> read_count(reader& r, msg_type t, const char* field, std::size_t limit) {
  const unsigned count = r.u8(field);
  if (!r.ok()) return r.take_error();
  if (count > limit)
    return too_big(t,
                   std::string(field) + " " + num(count) + " is over the limit of " + num(limit));
  return count;
}

// A count byte (`count_field`, at most `limit`) and that many node entries of list `list`.
result<std::vector<peer_entry>> read_entries(reader& r, msg_type t, const char* count_field,
                                             std::size_t limit, const char* list) {
  auto count = read_count(r, t, count_field, limit);
  if (!count) return std::move(count).err();
  std::vector<peer_entry> out;
  for (unsigned i = 0; i < *count; ++i) {
    auto e = read_entry(r, t, list, i);
    if (!e) return std::move(e).err();
    out.push_back(*e);
  }
  return out;
}

// A byte that must be 0 or 1; `what` names it in the error ("provider entry 3 has complete").
result<bool> read_bool(reader& r, msg_type t, const char* field, const std::string& what) {
  const auto v = r.u8(field);
  if (!r.ok()) return r.take_error();
  if (v > 1) return bad(t, what + " = " + num(v) + ", not 0 or 1");
  return v == 1;
}

result<peers> parse(reader& r, std::type_identity<peers>) {
  peers m;
  m.content = r.id("content");
  auto entries = read_entries(r, msg_type::peers, "count", max_peers_per_message, "peers");
  if (!entries) return std::move(entries).err();
  m.entries = std::move(*entries);
  SHOAL_TRY(r.end());
  return m;
}

result<dht_query> parse(reader& r, std::type_identity<dht_query>) {
  dht_query m;
  m.tag = r.u32("tag");
  m.kind = static_cast<dht_kind>(r.u8("kind"));
  m.key = r.hash("key");
  SHOAL_TRY(r.end());
  return m;
}

result<dht_nodes> parse(reader& r, std::type_identity<dht_nodes>) {
  constexpr auto t = msg_type::dht_nodes;
  dht_nodes m;
  m.tag = r.u32("tag");
  const auto flags = r.u8("flags");
  if (!r.ok()) return r.take_error();
  if (flags > 3) return bad(t, "flags " + hex8(flags) + " has unknown bits set");
  m.self_provides = flags & 1;
  m.self_complete = flags & 2;
  auto nodes = read_entries(r, t, "node count", max_dht_nodes, "node");
  if (!nodes) return std::move(nodes).err();
  m.nodes = std::move(*nodes);
  auto providers = read_count(r, t, "provider count", max_dht_providers);
  if (!providers) return std::move(providers).err();
  for (unsigned i = 0; i < *providers; ++i) {
    auto e = read_entry(r, t, "provider", i);
    if (!e) return std::move(e).err();
    auto complete = read_bool(r, t, "complete", "provider entry " + num(i) + " has complete");
    if (!complete) return std::move(complete).err();
    m.providers.push_back({*e, *complete});
  }
  SHOAL_TRY(r.end());
  return m;
}

result<dht_announce> parse(reader& r, std::type_identity<dht_announce>) {
  dht_announce m;
  m.tag = r.u32("tag");
  m.content = r.id("content");
  auto complete = read_bool(r, msg_type::dht_announce, "complete", "complete");
  if (!complete) return std::move(complete).err();
  m.complete = *complete;
  SHOAL_TRY(r.end());
  return m;
}

result<dht_ack> parse(reader& r, std::type_identity<dht_ack>) {
  dht_ack m;
  m.tag = r.u32("tag");
  m.code = static_cast<reason>(r.u16("code"));
  SHOAL_TRY(r.end());
  return m;
}

result<revocations> parse(reader& r, std::type_identity<revocations>) {
  revocations m;
  const auto b = r.rest();
  m.list.assign(b.begin(), b.end());
  SHOAL_TRY(r.end());
  return m;
}

template <typename T>
result<message> decode_as(byte_span body, msg_type t) {
  reader r(body, t);
  auto m = parse(r, std::type_identity<T>{});
  if (!m.ok()) return std::move(m).err();
  SHOAL_TRY(check(*m));
  return message{std::move(m).value()};
}

// The error for a length prefix that no frame may have, if `length` is one.
std::optional<error> bad_length(std::uint32_t length) {
  if (length == 0)
    return error{errc::invalid_argument, "frame length is 0; a body holds at least its type byte"};
  if (length > max_frame_body)
    return error{errc::limit_exceeded, "frame length " + num(length) + " is over the limit of " +
                                           num(max_frame_body) + " bytes"};
  return std::nullopt;
}

std::uint32_t read_prefix(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 |
         std::uint32_t{p[3]};
}

}  // namespace

void encode(const message& m, std::vector<std::uint8_t>& out) {
  if (auto valid = check_message(m); !valid.ok()) {
    // Encoding a message out of its limits is the caller's bug; say which rule it broke.
    const std::string what = "wire::encode of an invalid message: " + valid.err().message;
    assertion_failed(what.c_str(), __FILE__, __LINE__);
  }
  const std::size_t start = out.size();
  writer w(out);
  w.u32(0);  // the length, patched below
  w.u8(static_cast<std::uint8_t>(type_of(m)));
  std::visit([&w](const auto& v) { write_fields(w, v); }, m);
  const std::size_t length = out.size() - start - prefix_size;
  SHOAL_ASSERT(length >= 1 && length <= max_frame_body);
  for (std::size_t i = 0; i < prefix_size; ++i)
    out[start + i] = static_cast<std::uint8_t>(length >> (8 * (prefix_size - 1 - i)));
}

result<message> decode_body(byte_span body) {
  if (body.empty())
    return error{errc::invalid_argument, "frame body is empty; it holds at least its type byte"};
  if (body.size() > max_frame_body)
    return error{errc::limit_exceeded, "frame body of " + num(body.size()) +
                                           " bytes is over the limit of " + num(max_frame_body)};
  const auto t = static_cast<msg_type>(body[0]);
  switch (t) {
    case msg_type::hello:
      return decode_as<hello>(body, t);
    case msg_type::keepalive:
      return decode_as<keepalive>(body, t);
    case msg_type::goodbye:
      return decode_as<goodbye>(body, t);
    case msg_type::get_manifest:
      return decode_as<get_manifest>(body, t);
    case msg_type::manifest_part:
      return decode_as<manifest_part>(body, t);
    case msg_type::get_hashes:
      return decode_as<get_hashes>(body, t);
    case msg_type::hashes:
      return decode_as<hashes>(body, t);
    case msg_type::bitfield:
      return decode_as<bitfield>(body, t);
    case msg_type::have:
      return decode_as<have>(body, t);
    case msg_type::request:
      return decode_as<request>(body, t);
    case msg_type::block:
      return decode_as<block>(body, t);
    case msg_type::cancel:
      return decode_as<cancel>(body, t);
    case msg_type::reject:
      return decode_as<reject>(body, t);
    case msg_type::peers:
      return decode_as<peers>(body, t);
    case msg_type::dht_query:
      return decode_as<dht_query>(body, t);
    case msg_type::dht_nodes:
      return decode_as<dht_nodes>(body, t);
    case msg_type::dht_announce:
      return decode_as<dht_announce>(body, t);
    case msg_type::dht_ack:
      return decode_as<dht_ack>(body, t);
    case msg_type::revocations:
      return decode_as<revocations>(body, t);
  }
  return error{errc::invalid_argument, "frame body: unknown message type " + hex8(body[0])};
}

void frame_reader::append(byte_span bytes) {
  // A failed reader decodes nothing more, so it keeps nothing.
  if (failed_) return;
  if (start_ > 0) {
    // Drop what next() consumed. What remains is less than one frame when the caller drains
    // next() before appending, so this moves little and the buffer stays bounded.
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
  buffer_.insert(buffer_.end(), bytes.begin(), bytes.end());
}

result<std::optional<message>> frame_reader::next() {
  if (failed_) return *failed_;
  const std::size_t avail = buffered();
  if (avail < prefix_size) return std::optional<message>{};
  const std::uint32_t length = read_prefix(buffer_.data() + start_);
  // Checked before the body is awaited: a peer cannot make us buffer an oversized frame.
  if (auto e = bad_length(length)) {
    failed_ = std::move(e);
    buffer_ = std::vector<std::uint8_t>();
    start_ = 0;
    return *failed_;
  }
  if (avail - prefix_size < length) return std::optional<message>{};
  auto m = decode_body(byte_span(buffer_).subspan(start_ + prefix_size, length));
  start_ += prefix_size + length;
  if (start_ == buffer_.size()) {
    start_ = 0;
    if (buffer_.capacity() > retained_capacity) {
      buffer_ = std::vector<std::uint8_t>();
    } else {
      buffer_.clear();
    }
  }
  if (!m.ok()) {
    failed_ = std::move(m).err();
    buffer_ = std::vector<std::uint8_t>();
    start_ = 0;
    return *failed_;
  }
  return std::optional<message>{std::move(m).value()};
}

result<void> frame_reader::finish() const {
  if (failed_) return *failed_;
  std::size_t pos = start_;
  while (pos < buffer_.size()) {
    const std::size_t avail = buffer_.size() - pos;
    if (avail < prefix_size)
      return error{errc::invalid_argument, "connection closed inside a frame's length prefix: " +
                                               num(avail) + " of 4 bytes"};
    const std::uint32_t length = read_prefix(buffer_.data() + pos);
    if (auto e = bad_length(length)) return *e;
    if (avail - prefix_size < length)
      return error{errc::invalid_argument,
                   "connection closed inside a frame: " + num(avail - prefix_size) + " of " +
                       num(length) + " bytes"};
    pos += prefix_size + length;
  }
  return {};
}

}  // namespace shoal::wire
