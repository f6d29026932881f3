#include "net/address.hpp"

#include <charconv>

namespace shoal::net {

std::string address::str() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

result<address> parse_address(std::string_view text, std::string_view what, port_zero zero) {
  const auto bad = [&](const std::string& why) {
    return error{errc::invalid_argument,
                 std::string(what) + " \"" + std::string(text) + "\" " + why +
                     " (expected HOST:PORT, e.g. 127.0.0.1:7420 or [::1]:7420)"};
  };
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return bad("has no port");
  std::string_view host = text.substr(0, colon);
  const std::string_view port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string_view::npos)
    return bad("needs brackets around an IPv6 address");
  if (host.empty()) return bad("has no host");
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value > 65535 ||
      (value == 0 && zero == port_zero::refused))
    return bad("has an invalid port");
  return address{std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace shoal::net
