#include "member/revocations.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "member/files.hpp"
#include "member/pem.hpp"

namespace shoal::member {
namespace {

std::string quoted(const std::filesystem::path& p) {
  return "\"" + p.string() + "\"";
}

}  // namespace

result<crypto::ed25519_public_key> network_public_key(x509_st* network) {
  auto raw = ed25519_public_key(X509_get0_pubkey(network), "the network certificate");
  if (!raw) return std::move(raw).err();
  crypto::ed25519_public_key k{};
  std::copy(raw->begin(), raw->end(), k.begin());
  return k;
}

result<std::optional<std::vector<std::uint8_t>>> read_revocation_file(
    const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (ec) return system_error(ec.value(), "cannot look for " + quoted(path));
    return std::optional<std::vector<std::uint8_t>>{};
  }
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return system_error(ec.value(), "cannot read " + quoted(path));
  if (size > max_revocation_list)
    return error{errc::limit_exceeded, quoted(path) + " is " + std::to_string(size) +
                                           " bytes, more than a revocation list can be (" +
                                           std::to_string(max_revocation_list) + ")"};
  std::ifstream in(path, std::ios::binary);
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return error{errc::io_error, "cannot read " + quoted(path)};
  return std::optional<std::vector<std::uint8_t>>{std::move(bytes)};
}

result<void> write_revocation_file(const std::filesystem::path& path,
                                   const std::vector<std::uint8_t>& bytes) {
  return replace_file(
      path, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), 0644);
}

result<revocation_list> add_revocation(const authority& ca,
                                       const std::optional<revocation_list>& current,
                                       const node_id& node, std::string reason, std::int64_t now) {
  if (reason.size() > max_revocation_reason)
    return error{errc::invalid_argument, "the reason is " + std::to_string(reason.size()) +
                                             " bytes; at most " +
                                             std::to_string(max_revocation_reason)};
  for (char c : reason)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return error{errc::invalid_argument, "the reason holds a control character"};
  revocation_list l = current.value_or(revocation_list{});
  if (const revoked_member* r = l.find(node))
    return error{errc::already_exists, node.str() + " is revoked already, in list " +
                                           std::to_string(l.serial) + " (since " +
                                           format_utc(r->revoked_at) + ")"};
  if (l.entries.size() >= max_revoked)
    return error{errc::limit_exceeded,
                 "the list holds " + std::to_string(max_revoked) +
                     " members already, as many as it can; issue short certificates and drop "
                     "the entries of those that expired"};
  l.network = ca.network_name;
  ++l.serial;
  l.issued_at = now;
  const auto at =
      std::lower_bound(l.entries.begin(), l.entries.end(), node,
                       [](const revoked_member& e, const node_id& n) { return e.node < n; });
  l.entries.insert(at, revoked_member{node, now, std::move(reason)});
  std::string raw(32, '\0');
  std::size_t len = raw.size();
  if (EVP_PKEY_get_raw_private_key(ca.key.get(), reinterpret_cast<unsigned char*>(raw.data()),
                                   &len) != 1 ||
      len != 32)
    return error{errc::unsupported, "the authority key cannot be read as an Ed25519 key"};
  crypto::ed25519_seed seed{};
  std::copy(raw.begin(), raw.end(), seed.begin());
  OPENSSL_cleanse(raw.data(), raw.size());
  auto signer = crypto::ed25519_signer::from_seed(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  if (!signer) return error{errc::unsupported, "OpenSSL refused the authority key"};
  return sign(std::move(l), *signer);
}

std::string revocation_hex(const std::vector<std::uint8_t>& b) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (std::uint8_t c : b) {
    s.push_back(digits[c >> 4]);
    s.push_back(digits[c & 15]);
  }
  return s;
}

result<std::vector<std::uint8_t>> revocation_from_hex(std::string_view s) {
  const auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (s.size() % 2 != 0)
    return error{errc::invalid_argument, "revocation list: odd number of hex digits"};
  std::vector<std::uint8_t> out(s.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(s[2 * i]), lo = nibble(s[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return error{errc::invalid_argument,
                   "revocation list: not a hex digit at " + std::to_string(2 * i)};
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

result<node_id> revocation_target(const std::string& text) {
  if (text.starts_with(node_id::prefix)) return node_id::parse(text);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(text, ec))
    return error{errc::invalid_argument,
                 quoted(std::filesystem::path(text)) +
                     " is neither a node ID (nd1...) nor a certificate file"};
  auto cert = read_cert(text, "node certificate");
  if (!cert) return std::move(cert).err();
  return node_id_of(X509_get0_pubkey(cert->get()),
                    "the node certificate " + quoted(std::filesystem::path(text)));
}

std::filesystem::path revocation_file_of(const std::filesystem::path& authority_key) {
  auto p = authority_key;
  if (p.extension() == ".key") return p.replace_extension(".revocations");
  p += ".revocations";
  return p;
}

std::filesystem::path adopted_revocation_file(const std::filesystem::path& data_dir) {
  return data_dir / "revocations.list";
}

}  // namespace shoal::member
