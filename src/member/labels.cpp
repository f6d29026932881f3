#include "member/labels.hpp"

#include <charconv>

namespace shoal::member {
namespace {

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool value_char(char c) {
  return c >= 0x20 && c <= 0x7e && c != ',' && c != '=';
}

}  // namespace

result<void> check_name(std::string_view name, std::string_view what) {
  if (name.empty()) return error{errc::invalid_argument, std::string(what) + " is empty"};
  if (name.size() > max_name)
    return error{errc::invalid_argument, std::string(what) + " " + quoted(name) +
                                             " is longer than " + std::to_string(max_name) +
                                             " bytes"};
  for (char c : name)
    if (!name_char(c))
      return error{errc::invalid_argument, std::string(what) + " " + quoted(name) +
                                               " may only hold letters, digits, '.', '_' and '-'"};
  // A leading '-' reads as a flag and a leading '.' hides the NAME.key file.
  if (name.front() == '-' || name.front() == '.')
    return error{errc::invalid_argument,
                 std::string(what) + " " + quoted(name) + " must not start with '.' or '-'"};
  return {};
}

result<label> parse_label(std::string_view text) {
  const auto eq = text.find('=');
  if (eq == std::string_view::npos)
    return error{errc::invalid_argument, "label " + quoted(text) + " is not of the form key=value"};
  label l{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
  SHOAL_TRY(check_label(l));
  return l;
}

result<void> check_label(const label& l) {
  const auto& [key, value] = l;
  if (key.empty() || key.size() > max_label_key)
    return error{errc::invalid_argument, "label key " + quoted(key) + " must be 1 to " +
                                             std::to_string(max_label_key) + " bytes"};
  for (char c : key)
    if (!key_char(c))
      return error{errc::invalid_argument,
                   "label key " + quoted(key) + " may only hold a-z, 0-9 and '-'"};
  if (value.empty() || value.size() > max_label_value)
    return error{errc::invalid_argument, "value of label " + quoted(key) + " must be 1 to " +
                                             std::to_string(max_label_value) + " bytes"};
  for (char c : value)
    if (!value_char(c))
      return error{errc::invalid_argument,
                   "value of label " + quoted(key) +
                       " may only hold printable ASCII other than ',' and '='"};
  return {};
}

result<void> check_labels(const std::vector<label>& labels) {
  if (labels.size() > max_labels)
    return error{errc::limit_exceeded, std::to_string(labels.size()) + " labels given, at most " +
                                           std::to_string(max_labels) + " are allowed"};
  for (std::size_t i = 0; i < labels.size(); ++i) {
    SHOAL_TRY(check_label(labels[i]));
    for (std::size_t j = 0; j < i; ++j)
      if (labels[j].first == labels[i].first)
        return error{errc::invalid_argument,
                     "label key " + quoted(labels[i].first) + " is given twice"};
  }
  return {};
}

std::string label_uri(const label& l) {
  return std::string(label_uri_prefix) + l.first + "=" + l.second;
}

result<std::optional<label>> label_from_uri(std::string_view uri) {
  if (!uri.starts_with(label_uri_prefix)) return std::optional<label>{};
  auto l = parse_label(uri.substr(label_uri_prefix.size()));
  if (!l)
    return error{errc::untrusted,
                 "certificate label " + quoted(uri) + " is malformed: " + l.err().message};
  return std::optional<label>{std::move(*l)};
}

result<std::chrono::seconds> parse_expires_in(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return error{errc::invalid_argument, "expiry " + quoted(text) + " " + why +
                                             " (write a number and s, m, h or d: 90s, 12h, 30d)"};
  };
  if (text.size() < 2) return bad("is too short");
  const char unit = text.back();
  std::int64_t per = 0;
  switch (unit) {
    case 's':
      per = 1;
      break;
    case 'm':
      per = 60;
      break;
    case 'h':
      per = 3600;
      break;
    case 'd':
      per = 86400;
      break;
    default:
      return bad("has no unit");
  }
  const auto digits = text.substr(0, text.size() - 1);
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec == std::errc::result_out_of_range) return bad("is out of range");
  if (ec != std::errc{} || end != digits.data() + digits.size() || digits.front() == '+')
    return bad("is not a whole number");
  constexpr std::int64_t max_seconds = 3650LL * 86400;
  if (n < 1) return bad("must be at least 1 s");
  if (n > max_seconds / per) return bad("is longer than 3650 days");
  return std::chrono::seconds(n * per);
}

}  // namespace shoal::member
