#include "core/wire_rules.hpp"

#include <cstdio>
#include <string_view>

#include "shoal/manifest.hpp"

namespace shoal::wire::detail {

std::string hex8(std::uint8_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", v);
  return buf;
}

std::string hex32(std::uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", static_cast<unsigned>(v));
  return buf;
}

std::string num(std::uint64_t v) {
  return std::to_string(v);
}

std::string prefix(msg_type t) {
  return std::string(type_name(t)) + " message: ";
}

error bad(msg_type t, const std::string& what) {
  return error{errc::invalid_argument, prefix(t) + what};
}

error too_big(msg_type t, const std::string& what) {
  return error{errc::limit_exceeded, prefix(t) + what};
}

// Index of the first byte that breaks RFC 3629 UTF-8 (overlong forms, surrogates, code points
// above U+10FFFF, truncated or stray continuation bytes), or npos if the text is valid.
std::size_t utf8_error_at(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80) {
      ++i;
      continue;
    }
    std::size_t n;
    std::uint32_t cp;
    if ((b0 & 0xE0) == 0xC0) {
      n = 2;
      cp = b0 & 0x1Fu;
    } else if ((b0 & 0xF0) == 0xE0) {
      n = 3;
      cp = b0 & 0x0Fu;
    } else if ((b0 & 0xF8) == 0xF0) {
      n = 4;
      cp = b0 & 0x07u;
    } else {
      return i;
    }
    if (n > s.size() - i) return i;
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return i;
      cp = cp << 6 | (b & 0x3Fu);
    }
    static constexpr std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += n;
  }
  return std::string_view::npos;
}

result<void> check_text(msg_type t, const std::string& text) {
  if (text.size() > max_reason)
    return too_big(t,
                   "text is " + num(text.size()) + " bytes, over the limit of " + num(max_reason));
  if (const auto at = utf8_error_at(text); at != std::string_view::npos)
    return bad(t, "text is not valid UTF-8 (at byte " + num(at) + ")");
  return {};
}

result<void> check_code(msg_type t, reason code) {
  if (code == reason::none) return bad(t, "code is 0 (none), which is not a reason");
  return {};
}

result<void> check_piece(msg_type t, const char* field, std::uint64_t piece) {
  if (piece >= piece_index_limit)
    return too_big(t, std::string(field) + " " + num(piece) + " is not below the piece index " +
                          "limit 2^40 (" + num(piece_index_limit) + ")");
  return {};
}

// first and count of a run of piece hashes: count in 1..max_hashes_per_message, and the run
// ends at or below the piece index limit.
result<void> check_run(msg_type t, const char* count_field, std::uint64_t first,
                       std::uint64_t count) {
  SHOAL_TRY(check_piece(t, "first", first));
  if (count == 0) return bad(t, std::string(count_field) + " is 0; at least 1 is needed");
  if (count > max_hashes_per_message)
    return too_big(t, std::string(count_field) + " " + num(count) + " is over the limit of " +
                          num(max_hashes_per_message));
  if (count > piece_index_limit - first)
    return too_big(t, "first " + num(first) + " + " + count_field + " " + num(count) +
                          " goes past the piece index limit 2^40");
  return {};
}

result<void> check_ref(msg_type t, const block_ref& ref) {
  SHOAL_TRY(check_piece(t, "piece", ref.piece.value));
  if (ref.block >= blocks_per_piece)
    return bad(t, "block " + num(ref.block) + " is not below " + num(blocks_per_piece) +
                      " (blocks per piece)");
  return {};
}

// The rules of each message that are not about framing. Shared by the decoder (an error for
// the peer) and the encoder (an assertion), so that both accept exactly the same messages.
result<void> check(const hello& m) {
  constexpr auto t = msg_type::hello;
  if (m.min_version == 0) return bad(t, "min_version is 0; versions start at 1");
  if (m.min_version > m.max_version)
    return bad(t,
               "min_version " + num(m.min_version) + " is above max_version " + num(m.max_version));
  if (m.max_requests == 0) return bad(t, "max_requests is 0; at least 1 is needed");
  if (m.agent.size() > max_agent)
    return too_big(
        t, "agent is " + num(m.agent.size()) + " bytes, over the limit of " + num(max_agent));
  for (std::size_t i = 0; i < m.agent.size(); ++i) {
    const auto c = static_cast<unsigned char>(m.agent[i]);
    if (c < 0x20 || c > 0x7e)
      return bad(t, "agent byte " + num(i) + " is " + hex8(c) +
                        "; only printable ASCII (0x20..0x7e) is allowed");
  }
  return {};
}

result<void> check(const keepalive&) {
  return {};
}

result<void> check(const goodbye& m) {
  SHOAL_TRY(check_code(msg_type::goodbye, m.code));
  return check_text(msg_type::goodbye, m.text);
}

result<void> check(const get_manifest& m) {
  if (m.offset >= manifest_bytes_max)
    return too_big(msg_type::get_manifest, "offset " + num(m.offset) +
                                               " is not below the manifest size limit " +
                                               num(manifest_bytes_max));
  return {};
}

result<void> check(const manifest_part& m) {
  constexpr auto t = msg_type::manifest_part;
  if (m.total_size == 0) return bad(t, "total_size is 0; a manifest has at least 1 byte");
  if (m.total_size > manifest_bytes_max)
    return too_big(t, "total_size " + num(m.total_size) + " is over the manifest size limit " +
                          num(manifest_bytes_max));
  if (m.data.empty()) return bad(t, "data is empty; a part carries at least 1 byte");
  if (m.name.size() > max_content_name)
    return too_big(
        t, "name is " + num(m.name.size()) + " bytes, over the limit of " + num(max_content_name));
  if (!m.name.empty() && m.offset != 0)
    return bad(t,
               "a name in the part at offset " + num(m.offset) + "; only the first part has one");
  if (m.data.size() > max_manifest_chunk)
    return too_big(t, "data is " + num(m.data.size()) + " bytes, over the limit of " +
                          num(max_manifest_chunk));
  if (m.data.size() > m.total_size || m.offset > m.total_size - m.data.size())
    return bad(t, "offset " + num(m.offset) + " + data length " + num(m.data.size()) +
                      " is past total_size " + num(m.total_size));
  return {};
}

result<void> check(const get_hashes& m) {
  return check_run(msg_type::get_hashes, "count", m.first.value, m.count);
}

result<void> check(const hashes& m) {
  return check_run(msg_type::hashes, "hash count", m.first.value, m.pieces.size());
}

result<void> check(const bitfield& m) {
  constexpr auto t = msg_type::bitfield;
  if (m.piece_count == 0) return bad(t, "piece_count is 0; at least 1 is needed");
  if (m.piece_count > max_bitfield_pieces)
    return too_big(t, "piece_count " + num(m.piece_count) + " is over the limit of " +
                          num(max_bitfield_pieces));
  const std::uint64_t need = (m.piece_count + 7) / 8;
  if (m.bits.size() != need)
    return bad(t, "bits is " + num(m.bits.size()) + " bytes; piece_count " + num(m.piece_count) +
                      " needs " + num(need));
  const auto used = m.piece_count % 8;
  if (used != 0 && (m.bits.back() & (0xFFu >> used)) != 0)
    return bad(t, "padding bits after piece " + num(m.piece_count - 1) + " are set (last byte " +
                      hex8(m.bits.back()) + ")");
  return {};
}

result<void> check(const have& m) {
  return check_piece(msg_type::have, "piece", m.piece.value);
}

result<void> check(const request& m) {
  return check_ref(msg_type::request, m.ref);
}

result<void> check(const block& m) {
  constexpr auto t = msg_type::block;
  SHOAL_TRY(check_ref(t, m.ref));
  if (m.data.empty()) return bad(t, "data is empty; a block carries at least 1 byte");
  if (m.data.size() > max_block_data)
    return too_big(
        t, "data is " + num(m.data.size()) + " bytes, over the limit of " + num(max_block_data));
  return {};
}

result<void> check(const cancel& m) {
  return check_ref(msg_type::cancel, m.ref);
}

result<void> check(const reject& m) {
  constexpr auto t = msg_type::reject;
  const auto kind = static_cast<std::uint8_t>(m.kind);
  switch (m.kind) {
    case request_kind::manifest:
      if (m.ref.piece.value >= manifest_bytes_max)
        return too_big(t, "index " + num(m.ref.piece.value) +
                              " (a manifest offset) is not below the manifest size limit " +
                              num(manifest_bytes_max));
      break;
    case request_kind::hashes:
    case request_kind::block:
      SHOAL_TRY(check_piece(t, "index", m.ref.piece.value));
      break;
    default:
      return bad(t, "kind " + num(kind) + " is not 1 (manifest), 2 (hashes) or 3 (block)");
  }
  if (m.kind != request_kind::block && m.ref.block != 0)
    return bad(t, "block is " + num(m.ref.block) + " for kind " + num(kind) +
                      "; it must be 0 unless kind is 3 (block)");
  if (m.ref.block >= blocks_per_piece)
    return bad(t, "block " + num(m.ref.block) + " is not below " + num(blocks_per_piece) +
                      " (blocks per piece)");
  SHOAL_TRY(check_code(t, m.code));
  return check_text(t, m.text);
}

result<void> check_entry(msg_type t, const char* list, std::size_t i, const peer_entry& e) {
  if (e.port == 0) return bad(t, std::string(list) + " entry " + num(i) + " has port 0");
  if (!e.ipv6 && std::any_of(e.ip.begin() + 4, e.ip.end(), [](std::uint8_t b) { return b; }))
    return bad(t,
               std::string(list) + " entry " + num(i) + " is IPv4 but has bytes past the fourth");
  return {};
}

result<void> check(const peers& m) {
  constexpr auto t = msg_type::peers;
  if (m.entries.empty()) return bad(t, "count is 0; at least 1 entry is needed");
  if (m.entries.size() > max_peers_per_message)
    return too_big(t, "count " + num(m.entries.size()) + " is over the limit of " +
                          num(max_peers_per_message));
  for (std::size_t i = 0; i < m.entries.size(); ++i)
    SHOAL_TRY(check_entry(t, "peers", i, m.entries[i]));
  return {};
}

result<void> check(const dht_query& m) {
  if (m.kind != dht_kind::find_node && m.kind != dht_kind::get_providers)
    return bad(msg_type::dht_query,
               "kind " + num(static_cast<std::uint8_t>(m.kind)) + " is not 1 or 2");
  return {};
}

result<void> check(const dht_nodes& m) {
  constexpr auto t = msg_type::dht_nodes;
  if (m.nodes.size() > max_dht_nodes)
    return too_big(
        t, "node count " + num(m.nodes.size()) + " is over the limit of " + num(max_dht_nodes));
  if (m.providers.size() > max_dht_providers)
    return too_big(t, "provider count " + num(m.providers.size()) + " is over the limit of " +
                          num(max_dht_providers));
  if (m.self_complete && !m.self_provides)
    return bad(t, "flags say complete but not that the sender provides the content");
  for (std::size_t i = 0; i < m.nodes.size(); ++i) SHOAL_TRY(check_entry(t, "node", i, m.nodes[i]));
  for (std::size_t i = 0; i < m.providers.size(); ++i)
    SHOAL_TRY(check_entry(t, "provider", i, m.providers[i].peer));
  return {};
}

result<void> check(const dht_announce&) {
  return {};
}

result<void> check(const dht_ack&) {
  return {};  // none means stored; any other code (known or not) says why not
}

result<void> check(const revocations& m) {
  constexpr auto t = msg_type::revocations;
  if (m.list.empty()) return bad(t, "the list is empty");
  if (m.list.size() > max_revocation_bytes)
    return too_big(t, "list of " + num(m.list.size()) + " bytes, over the limit of " +
                          num(max_revocation_bytes));
  return {};
}

result<void> check_message(const message& m) {
  return std::visit([](const auto& v) { return check(v); }, m);
}

}  // namespace shoal::wire::detail
