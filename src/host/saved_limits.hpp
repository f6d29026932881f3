// Rate limits set at run time (`shoal limit`, POST /api/v1/limits) are kept in
// `<data dir>/limits.json`, so that a restart keeps them. Which limits a daemon starts with,
// and which a SIGHUP applies: the command line's flags first; then the more recent of the
// config file (by its modification time) and limits.json. So an operator who edits the config
// file after a `shoal limit` gets the file's limits, and one who runs `shoal limit` after
// editing it keeps those (docs/configuration.md, "Rate limits").
//
// Thread safety: plain functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "host/config.hpp"

namespace shoal::host {

struct rate_limits {
  std::uint64_t upload = 0, download = 0;  // bytes per second, 0: none
  std::string source;                      // "flags", "limits.json", "config file", "default"
};

std::filesystem::path saved_limits_path(const std::filesystem::path& data_dir);
// Written atomically (a temporary file, fsync, rename).
result<void> save_limits(const std::filesystem::path& data_dir, std::uint64_t upload,
                         std::uint64_t download);
// The limits to apply: `upload_flag` and `download_flag` (given on the command line) win; for
// the rest, limits.json if it is newer than the config file (or there is none), else the
// config's. A limits.json that cannot be read is an error naming it.
result<rate_limits> choose_limits(const config& c, std::optional<std::uint64_t> upload_flag,
                                  std::optional<std::uint64_t> download_flag);

}  // namespace shoal::host
