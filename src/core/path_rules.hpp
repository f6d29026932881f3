// The rules a relative path in a manifest must follow (docs/protocol/content.md, "Paths").
// Pure string checks, no file system access.
#pragma once

#include <cstddef>
#include <string_view>

#include "shoal/error.hpp"

namespace shoal::path_rules {

inline constexpr std::size_t path_bytes_max = 4096;
inline constexpr std::size_t component_bytes_max = 255;
inline constexpr std::size_t depth_max = 128;

// Checks one path component (a file or directory name).
result<void> check_component(std::string_view name);
// Checks a whole relative path: '/'-separated components, no empty, "." or ".." component, no
// leading or trailing '/', valid UTF-8 without control characters or backslashes.
result<void> check_relative(std::string_view path);

// The directory part of a relative path ("" for a top-level entry).
std::string_view parent_of(std::string_view path);

}  // namespace shoal::path_rules
