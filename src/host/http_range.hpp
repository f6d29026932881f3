// The parts of HTTP the gateway decides on its own, as plain functions that unit tests reach:
// the Range header (RFC 9110 section 14), the content type from a file name, and the paths of
// the gateway (`/content/<id>[/<path>]`).
//
// Thread safety: plain functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::host {

// One satisfiable range, as offsets into the representation: [first, last], inclusive.
struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  std::uint64_t length() const { return last - first + 1; }
  bool operator==(const byte_range&) const = default;
};

// What a Range header asks of a representation of `size` bytes.
struct range_request {
  enum class kind {
    whole,          // no Range, one the server ignores (not bytes, bad syntax, too many): 200
    partial,        // at least one range is satisfiable: 206 with those (the others dropped)
    unsatisfiable,  // none is: 416 with Content-Range: bytes */size
  } what = kind::whole;
  std::vector<byte_range> ranges;
};

// More ranges than this in one header are ignored (the whole is sent): a client asking for
// thousands of tiny ranges is not served thousands of parts.
inline constexpr std::size_t max_ranges = 16;

// RFC 9110 section 14.1.2: "bytes=0-499", "bytes=500-", "bytes=-500", comma-separated lists of
// them with optional whitespace. A last position past the end is clamped to it; a suffix longer
// than the representation means all of it.
range_request parse_range(std::string_view header, std::uint64_t size);

// A media type from the file name's extension (application/octet-stream when unknown).
std::string content_type_of(std::string_view file_name);

// `/content/<id>` or `/content/<id>/<path>` of a request target (the query, if any, dropped;
// percent-escapes decoded). nullopt when the target is not under /content/, or its path has an
// empty, `.` or `..` segment, or a bad escape.
struct gateway_target {
  std::string id;
  std::string path;  // "" for the content's root; else its entry path ("dir/file.txt")
};
std::optional<gateway_target> parse_gateway_target(std::string_view target);

}  // namespace shoal::host
