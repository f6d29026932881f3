#include "core/address.hpp"

#include <charconv>

namespace shoal {

std::string address::str() const {
  return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
         std::to_string(port);
}

std::string ip_text(bool ipv6, const std::array<std::uint8_t, 16>& b) {
  if (!ipv6)
    return std::to_string(b[0]) + "." + std::to_string(b[1]) + "." + std::to_string(b[2]) + "." +
           std::to_string(b[3]);
  std::array<unsigned, 8> g{};
  for (std::size_t i = 0; i < 8; ++i) g[i] = (unsigned{b[2 * i]} << 8) | b[2 * i + 1];
  // The longest run of zero groups (the first of equal ones), if at least two long.
  std::size_t best = 8, best_len = 0;
  for (std::size_t i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best = 8;
  static constexpr char digits[] = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < 8; ++i) {
    if (i == best) {
      s += "::";
      i += best_len - 1;
      continue;
    }
    if (!s.empty() && s.back() != ':') s += ':';
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      const unsigned d = (g[i] >> shift) & 0xf;
      if (d == 0 && !started && shift > 0) continue;
      started = true;
      s += digits[d];
    }
  }
  return s;
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

}  // namespace shoal
