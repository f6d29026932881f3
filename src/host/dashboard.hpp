// The dashboard's files (src/host/dashboard/), compiled into the binary so that the page works
// offline and needs nothing beside the daemon: `GET /` is index.html, and the page loads
// /dashboard.js and /dashboard.css (docs/protocol/http.md, section 9).
//
// Thread safety: constant data.
#pragma once

#include <optional>
#include <string_view>

namespace shoal::host {

struct dashboard_file {
  std::string_view body;
  const char* content_type;
};

// The file served at `path`, if the dashboard has one there.
std::optional<dashboard_file> dashboard_asset(std::string_view path);

}  // namespace shoal::host
