// The wire's rules for each message (docs/protocol/wire.md): the checks every decoded message
// passes and every message to be encoded must pass, and the error texts they share with the
// decoder (core/wire.cpp). Internal to the core (wire*.cpp, revocation.cpp).
//
// Pure computation. Thread safety: plain functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/wire.hpp"

namespace shoal::wire::detail {

std::string hex8(std::uint8_t v);
std::string hex32(std::uint32_t v);
std::string num(std::uint64_t v);
// Index of the first byte that breaks RFC 3629 UTF-8, or npos if the text is valid.
std::size_t utf8_error_at(std::string_view s);
// "<type> message: <what>", as invalid_argument (bad) or limit_exceeded (too_big).
error bad(msg_type t, const std::string& what);
error too_big(msg_type t, const std::string& what);

// The message's fields against its rules: ranges, limits, UTF-8 text, known codes.
result<void> check(const hello& m);
result<void> check(const keepalive& m);
result<void> check(const goodbye& m);
result<void> check(const get_manifest& m);
result<void> check(const manifest_part& m);
result<void> check(const get_hashes& m);
result<void> check(const hashes& m);
result<void> check(const bitfield& m);
result<void> check(const have& m);
result<void> check(const request& m);
result<void> check(const block& m);
result<void> check(const cancel& m);
result<void> check(const reject& m);
result<void> check(const peers& m);
result<void> check(const dht_query& m);
result<void> check(const dht_nodes& m);
result<void> check(const dht_announce& m);
result<void> check(const dht_ack& m);
result<void> check(const revocations& m);
result<void> check_message(const message& m);

}  // namespace shoal::wire::detail
