// Peer addresses as users write them: "HOST:PORT", "[IPv6]:PORT".
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "shoal/error.hpp"

namespace shoal::net {

struct address {
  std::string host;
  std::uint16_t port = 0;
  std::string str() const;
};

enum class port_zero { refused, means_any };

// Parses "HOST:PORT" (PORT 1..65535, or 0 where `zero` is means_any: a listen address on which
// the kernel picks a free port); `what` names the setting in errors ("--from", "listen").
result<address> parse_address(std::string_view text, std::string_view what,
                              port_zero zero = port_zero::refused);

}  // namespace shoal::net
