// The wire's names (core/wire.hpp): of the goodbye and reject reasons, and of the message types,
// as logs and errors print them (docs/protocol/wire.md, sections 3 and 4).
#include <iterator>
#include <variant>

#include "core/wire.hpp"

namespace shoal::wire {

const char* reason_name(reason r) noexcept {
  switch (r) {
    case reason::none:
      return "none";
    case reason::protocol_violation:
      return "protocol_violation";
    case reason::not_found:
      return "not_found";
    case reason::unavailable:
      return "unavailable";
    case reason::overloaded:
      return "overloaded";
    case reason::shutting_down:
      return "shutting_down";
    case reason::version_mismatch:
      return "version_mismatch";
    case reason::bad_block:
      return "bad_block";
    case reason::timeout:
      return "timeout";
    case reason::internal:
      return "internal";
    case reason::done:
      return "done";
    case reason::elsewhere:
      return "elsewhere";
    case reason::expired:
      return "expired";
    case reason::revoked:
      return "revoked";
  }
  return "unknown";
}

msg_type type_of(const message& m) noexcept {
  // In the order of the message variant's alternatives.
  static constexpr msg_type types[] = {
      msg_type::hello,         msg_type::keepalive,  msg_type::goodbye,    msg_type::get_manifest,
      msg_type::manifest_part, msg_type::get_hashes, msg_type::hashes,     msg_type::bitfield,
      msg_type::have,          msg_type::request,    msg_type::block,      msg_type::cancel,
      msg_type::reject,        msg_type::peers,      msg_type::dht_query,  msg_type::dht_nodes,
      msg_type::dht_announce,  msg_type::dht_ack,    msg_type::revocations};
  static_assert(std::size(types) == std::variant_size_v<message>);
  return types[m.index()];
}

const char* type_name(msg_type t) noexcept {
  switch (t) {
    case msg_type::hello:
      return "hello";
    case msg_type::keepalive:
      return "keepalive";
    case msg_type::goodbye:
      return "goodbye";
    case msg_type::get_manifest:
      return "get_manifest";
    case msg_type::manifest_part:
      return "manifest_part";
    case msg_type::get_hashes:
      return "get_hashes";
    case msg_type::hashes:
      return "hashes";
    case msg_type::bitfield:
      return "bitfield";
    case msg_type::have:
      return "have";
    case msg_type::request:
      return "request";
    case msg_type::block:
      return "block";
    case msg_type::cancel:
      return "cancel";
    case msg_type::reject:
      return "reject";
    case msg_type::peers:
      return "peers";
    case msg_type::dht_query:
      return "dht_query";
    case msg_type::dht_nodes:
      return "dht_nodes";
    case msg_type::dht_announce:
      return "dht_announce";
    case msg_type::dht_ack:
      return "dht_ack";
    case msg_type::revocations:
      return "revocations";
  }
  return "unknown";
}

}  // namespace shoal::wire
