#include "core/revocation.hpp"

#include <algorithm>
#include <optional>

#include "core/wire_rules.hpp"

namespace shoal {
namespace {

std::string num(std::uint64_t v) {
  return std::to_string(v);
}

error bad(const std::string& what) {
  return error{errc::invalid_argument, "revocation list: " + what};
}
error too_big(const std::string& what) {
  return error{errc::limit_exceeded, "revocation list: " + what};
}

void put(std::vector<std::uint8_t>& out, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_text(std::vector<std::uint8_t>& out, std::string_view s) {
  out.insert(out.end(), s.begin(), s.end());
}

// Everything before the signature.
void encode_body(const revocation_list& l, std::vector<std::uint8_t>& out) {
  SHOAL_ASSERT(!l.network.empty() && l.network.size() <= max_network_name);
  SHOAL_ASSERT(l.serial >= 1 && l.entries.size() <= max_revoked);
  put_text(out, revocation_magic);
  put(out, l.network.size(), 1);
  put_text(out, l.network);
  put(out, l.serial, 8);
  put(out, static_cast<std::uint64_t>(l.issued_at), 8);
  put(out, l.entries.size(), 4);
  for (std::size_t i = 0; i < l.entries.size(); ++i) {
    const revoked_member& e = l.entries[i];
    SHOAL_ASSERT(i == 0 || l.entries[i - 1].node < e.node);
    SHOAL_ASSERT(e.reason.size() <= max_revocation_reason);
    out.insert(out.end(), e.node.digest.bytes.begin(), e.node.digest.bytes.end());
    put(out, static_cast<std::uint64_t>(e.revoked_at), 8);
    put(out, e.reason.size(), 1);
    put_text(out, e.reason);
  }
  put(out, 0, 1);  // signer: the network authority
}

class reader {
 public:
  explicit reader(byte_span b) : b_(b) {}
  // nullopt once the bytes end inside `field`; the error says which.
  std::optional<byte_span> take(std::size_t n, const std::string& field) {
    if (err_) return std::nullopt;
    if (b_.size() - pos_ < n) {
      err_ = bad("ends inside " + field + " (" + num(n) + " bytes needed, " +
                 num(b_.size() - pos_) + " left)");
      return std::nullopt;
    }
    auto s = b_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::optional<std::uint64_t> uint(std::size_t n, const std::string& field) {
    auto s = take(n, field);
    if (!s) return std::nullopt;
    std::uint64_t v = 0;
    for (std::uint8_t c : *s) v = v << 8 | c;
    return v;
  }
  std::size_t left() const { return b_.size() - pos_; }
  error take_error() { return std::move(*err_); }

 private:
  byte_span b_;
  std::size_t pos_ = 0;
  std::optional<error> err_;
};

std::optional<std::string> bad_text(std::string_view s) {
  if (const auto at = wire::detail::utf8_error_at(s); at != std::string_view::npos)
    return "not valid UTF-8 at byte " + num(at);
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "holds a control character";
  return std::nullopt;
}

}  // namespace

const revoked_member* revocation_list::find(const node_id& n) const {
  auto it = std::lower_bound(entries.begin(), entries.end(), n,
                             [](const revoked_member& e, const node_id& x) { return e.node < x; });
  return it != entries.end() && it->node == n ? &*it : nullptr;
}

bool revocation_list::revokes(const node_id& n) const {
  return find(n) != nullptr;
}

std::vector<std::uint8_t> revocation_signed_bytes(const revocation_list& l) {
  std::vector<std::uint8_t> out;
  put_text(out, revocation_signing_context);
  out.push_back(0);
  encode_body(l, out);
  return out;
}

std::vector<std::uint8_t> encode(const revocation_list& l) {
  std::vector<std::uint8_t> out;
  encode_body(l, out);
  out.insert(out.end(), l.signature.begin(), l.signature.end());
  return out;
}

revocation_list sign(revocation_list l, const crypto::ed25519_signer& authority) {
  l.signature = authority.sign(revocation_signed_bytes(l));
  return l;
}

result<revocation_list> decode_revocation_list(byte_span bytes) {
  if (bytes.size() > max_revocation_list)
    return too_big(num(bytes.size()) + " bytes, over the limit of " + num(max_revocation_list));
  reader r(bytes);
  revocation_list l;
  auto magic = r.take(revocation_magic.size(), "the magic");
  if (!magic) return r.take_error();
  if (!std::equal(magic->begin(), magic->end(), revocation_magic.begin()))
    return bad(
        "does not start with \"SHOALRL1\" (not a revocation list, or a version this "
        "node does not know)");
  auto n = r.uint(1, "the network name's length");
  if (!n) return r.take_error();
  if (*n == 0 || *n > max_network_name)
    return bad("network name of " + num(*n) + " bytes (1 to " + num(max_network_name) + ")");
  auto name = r.take(*n, "the network name");
  if (!name) return r.take_error();
  l.network.assign(name->begin(), name->end());
  if (auto why = bad_text(l.network)) return bad("network name " + *why);
  auto serial = r.uint(8, "the serial");
  auto issued = r.uint(8, "the issue time");
  auto count = r.uint(4, "the entry count");
  if (!count) return r.take_error();
  if (*serial == 0) return bad("serial 0 (serials start at 1)");
  l.serial = *serial;
  l.issued_at = static_cast<std::int64_t>(*issued);
  if (*count > max_revoked)
    return too_big(num(*count) + " entries, over the limit of " + num(max_revoked));
  // Each entry takes at least 41 bytes: a count the bytes cannot hold is refused before any
  // memory is reserved for it.
  if (*count * 41 > r.left())
    return bad(num(*count) + " entries cannot fit in the " + num(r.left()) + " bytes left");
  l.entries.reserve(*count);
  for (std::uint64_t i = 0; i < *count; ++i) {
    const std::string at = "entry " + num(i);
    revoked_member e;
    auto node = r.take(32, at + "'s node ID");
    auto when = r.uint(8, at + "'s time");
    auto len = r.uint(1, at + "'s reason length");
    if (!len) return r.take_error();
    std::copy(node->begin(), node->end(), e.node.digest.bytes.begin());
    e.revoked_at = static_cast<std::int64_t>(*when);
    if (*len > max_revocation_reason)
      return too_big(at + ": reason of " + num(*len) + " bytes, over the limit of " +
                     num(max_revocation_reason));
    auto why = r.take(*len, at + "'s reason");
    if (!why) return r.take_error();
    e.reason.assign(why->begin(), why->end());
    if (auto problem = bad_text(e.reason)) return bad(at + ": reason " + *problem);
    if (!l.entries.empty() && !(l.entries.back().node < e.node))
      return bad(at + ": node IDs not in strictly ascending order");
    l.entries.push_back(std::move(e));
  }
  auto signer = r.uint(1, "the signer kind");
  if (!signer) return r.take_error();
  if (*signer != 0)
    return bad("signer kind " + num(*signer) + " (this node knows 0, the network authority)");
  auto sig = r.take(l.signature.size(), "the signature");
  if (!sig) return r.take_error();
  std::copy(sig->begin(), sig->end(), l.signature.begin());
  if (r.left() != 0) return bad(num(r.left()) + " trailing bytes after the signature");
  return l;
}

result<void> verify(const revocation_list& l, std::string_view network,
                    const crypto::ed25519_public_key& authority) {
  if (l.network != network)
    return error{errc::untrusted, "revocation list " + num(l.serial) + " is for network '" +
                                      l.network + "', not '" + std::string(network) + "'"};
  if (!crypto::ed25519_verify(authority, revocation_signed_bytes(l), l.signature))
    return error{errc::untrusted, "revocation list " + num(l.serial) +
                                      " is not signed by the authority of network '" +
                                      std::string(network) + "'"};
  return {};
}

result<revocation_list> decode_and_verify(byte_span bytes, std::string_view network,
                                          const crypto::ed25519_public_key& authority) {
  auto l = decode_revocation_list(bytes);
  if (!l.ok()) return l;
  SHOAL_TRY(verify(*l, network, authority));
  return l;
}

}  // namespace shoal
