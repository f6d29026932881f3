#include "host/http_range.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <utility>

namespace shoal::host {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A run of digits, nothing else (std::from_chars alone would take a sign or stop early).
std::optional<std::uint64_t> digits(std::string_view s) {
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

range_request parse_range(std::string_view header, std::uint64_t size) {
  range_request whole;
  header = trim(header);
  constexpr std::string_view unit = "bytes=";
  if (header.size() < unit.size()) return whole;
  for (std::size_t i = 0; i < unit.size(); ++i)  // the unit is case-insensitive
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(header[i]))) != unit[i])
      return whole;
  header.remove_prefix(unit.size());
  range_request out;
  std::size_t specs = 0;
  while (true) {
    const auto comma = header.find(',');
    const std::string_view spec = trim(header.substr(0, comma));
    if (!spec.empty()) {  // empty list elements are allowed and skipped
      if (++specs > max_ranges) return whole;
      const auto dash = spec.find('-');
      if (dash == std::string_view::npos) return whole;
      const std::string_view a = spec.substr(0, dash), b = spec.substr(dash + 1);
      if (a.empty()) {  // a suffix: the last N bytes
        auto n = digits(b);
        if (!n) return whole;
        if (*n > 0 && size > 0) out.ranges.push_back({size - std::min(*n, size), size - 1});
      } else {
        auto first = digits(a);
        if (!first) return whole;
        std::optional<std::uint64_t> last;
        if (!b.empty()) {
          last = digits(b);
          if (!last || *last < *first) return whole;
        }
        if (*first < size)
          out.ranges.push_back({*first, std::min(last.value_or(size - 1), size - 1)});
      }
    }
    if (comma == std::string_view::npos) break;
    header.remove_prefix(comma + 1);
  }
  if (specs == 0) return whole;
  out.what = out.ranges.empty() ? range_request::kind::unsatisfiable : range_request::kind::partial;
  return out;
}

std::string content_type_of(std::string_view file_name) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 26> types{{
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".md", "text/markdown; charset=utf-8"},
      {".csv", "text/csv; charset=utf-8"},
      {".xml", "application/xml"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/vnd.microsoft.icon"},
      {".wasm", "application/wasm"},
      {".pdf", "application/pdf"},
      {".zip", "application/zip"},
      {".gz", "application/gzip"},
      {".tar", "application/x-tar"},
      {".zst", "application/zstd"},
      {".mp4", "video/mp4"},
      {".webm", "video/webm"},
      {".mp3", "audio/mpeg"},
  }};
  const auto dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string ext(file_name.substr(dot));
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& [e, t] : types)
    if (e == ext) return std::string(t);
  return "application/octet-stream";
}

std::optional<gateway_target> parse_gateway_target(std::string_view target) {
  target = target.substr(0, target.find('?'));
  constexpr std::string_view prefix = "/content/";
  if (!target.starts_with(prefix)) return std::nullopt;
  target.remove_prefix(prefix.size());
  std::string decoded;
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (target[i] != '%') {
      decoded.push_back(target[i]);
      continue;
    }
    if (i + 2 >= target.size()) return std::nullopt;
    const int hi = hex_value(target[i + 1]), lo = hex_value(target[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0') return std::nullopt;
    decoded.push_back(c);
    i += 2;
  }
  gateway_target out;
  const auto slash = decoded.find('/');
  out.id = decoded.substr(0, slash);
  if (out.id.empty()) return std::nullopt;
  if (slash == std::string::npos) return out;
  std::string_view rest = std::string_view(decoded).substr(slash + 1);
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);  // a directory's listing
  if (rest.empty()) return out;
  std::size_t start = 0;
  while (start <= rest.size()) {
    const auto end = std::min(rest.find('/', start), rest.size());
    const std::string_view seg = rest.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") return std::nullopt;
    start = end + 1;
  }
  out.path = std::string(rest);
  return out;
}

}  // namespace shoal::host
