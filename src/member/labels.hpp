// Membership values that are plain text: node and network names, certificate labels and their
// subjectAltName URI form, and the --expires-in durations. Pure functions, no OpenSSL, so the
// CLI, the certificate code and the tests share one definition of what is valid
// (docs/protocol/membership.md, sections 3 and 5).
//
// Thread safety: stateless functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shoal/error.hpp"

namespace shoal::member {

using label = std::pair<std::string, std::string>;

constexpr std::size_t max_labels = 16;
constexpr std::size_t max_label_key = 32;
constexpr std::size_t max_label_value = 64;
constexpr std::size_t max_name = 64;

// The subjectAltName URI prefixes of a node certificate.
constexpr std::string_view label_uri_prefix = "shoal:label:";
constexpr std::string_view node_uri_prefix = "shoal:node:";

// A node or network name: 1 to 64 bytes of [A-Za-z0-9._-], not starting with '.' or '-'.
// `what` names the value in the error ("network name", "node name").
result<void> check_name(std::string_view name, std::string_view what);

// Parses "key=value" from the command line.
result<label> parse_label(std::string_view text);
// One label: key from [a-z0-9-]{1,32}; value 1 to 64 bytes of printable ASCII (0x20-0x7e)
// other than ',' and '='.
result<void> check_label(const label& l);
// A whole set: each label valid, no key twice, at most 16.
result<void> check_labels(const std::vector<label>& labels);

// "shoal:label:KEY=VALUE".
std::string label_uri(const label& l);
// The label of a "shoal:label:" URI; nullopt if `uri` has another prefix; an error if it has
// this prefix but does not hold a valid label.
result<std::optional<label>> label_from_uri(std::string_view uri);

// An --expires-in value: a positive integer and a unit s, m, h or d ("90s", "12h", "30d"),
// from 1 s to 3650 d.
result<std::chrono::seconds> parse_expires_in(std::string_view text);

}  // namespace shoal::member
