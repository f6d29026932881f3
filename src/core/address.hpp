// Peer addresses as users write them: "HOST:PORT", "[IPv6]:PORT".
//
// Thread safety: plain values.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "shoal/error.hpp"

namespace shoal {

struct address {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const;
};

enum class port_zero { refused, means_any };

// Parses "HOST:PORT" (PORT 1..65535, or 0 where `zero` is means_any: a listen address on which
// the kernel picks a free port); `what` names the setting in errors ("--from", "listen").
// An IP address as text: dotted for IPv4 (the first 4 bytes), RFC 5952 for IPv6 (lower case, the
// longest run of two or more zero groups as "::"), as inet_ntop writes them.
std::string ip_text(bool ipv6, const std::array<std::uint8_t, 16>& bytes);

result<address> parse_address(std::string_view text, std::string_view what,
                              port_zero zero = port_zero::refused);

}  // namespace shoal
