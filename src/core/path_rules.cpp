#include "core/path_rules.hpp"

#include <string>

namespace shoal::path_rules {
namespace {

// Length of the UTF-8 sequence starting at s[i], or 0 if it is not well formed (overlong forms,
// surrogates and code points above U+10FFFF are rejected, as RFC 3629 requires).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (b & 0x3F);
  }
  static constexpr std::uint32_t min_for_length[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

error bad(std::string_view path, std::string_view why) {
  return error{errc::invalid_path,
               "invalid path \"" + std::string(path) + "\": " + std::string(why)};
}

// Why a name breaks the rules, or nullptr when it is fine.
const char* component_problem(std::string_view name) {
  if (name.empty()) return "empty name";
  if (name == "." || name == "..") return "\".\" and \"..\" are not allowed";
  if (name.size() > component_bytes_max) return "name longer than 255 bytes";
  for (std::size_t i = 0; i < name.size();) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c == '/') return "'/' inside a name";
    if (c == '\\') return "backslash in a name";
    if (c < 0x20 || c == 0x7F) return "control character in a name";
    const std::size_t n = utf8_sequence(name, i);
    if (n == 0) return "not valid UTF-8";
    i += n;
  }
  return nullptr;
}

}  // namespace

result<void> check_component(std::string_view name) {
  if (const char* why = component_problem(name)) return bad(name, why);
  return {};
}

result<void> check_relative(std::string_view path) {
  if (path.empty()) return bad(path, "empty path");
  if (path.size() > path_bytes_max) return bad(path.substr(0, 64), "longer than 4096 bytes");
  if (path.front() == '/') return bad(path, "absolute path");
  if (path.back() == '/') return bad(path, "trailing '/'");
  std::size_t depth = 0;
  for (std::size_t start = 0; start <= path.size();) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view name = path.substr(start, end - start);
    if (name == "..") return bad(path, "\"..\" would escape the tree");
    if (name.empty()) return bad(path, "empty component (\"//\")");
    if (const char* why = component_problem(name)) return bad(path, why);
    if (++depth > depth_max) return bad(path.substr(0, 64), "deeper than 128 components");
    start = end + 1;
  }
  return {};
}

std::string_view parent_of(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

}  // namespace shoal::path_rules
