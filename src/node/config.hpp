// Node configuration: where the data directory is, from (highest first) the --data-dir flag,
// the SHOAL_DATA_DIR environment variable, the `data_dir` key of the TOML config file, and the
// default $XDG_DATA_HOME/shoal (~/.local/share/shoal). The config file is --config, else
// SHOAL_CONFIG, else $XDG_CONFIG_HOME/shoal/config.toml (~/.config/shoal/config.toml) if present.
// docs/configuration.md lists every key.
//
// Thread safety: plain values.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "shoal/error.hpp"

namespace shoal::node {

struct config {
  std::filesystem::path data_dir;
  std::string data_dir_source;  // "flag", "environment", "config file", "default"
  std::optional<std::filesystem::path> config_file;  // the file that was read, if any
  // Where `shoal daemon` accepts peers (the `listen` key; --listen overrides it).
  std::string listen = "0.0.0.0:7420";
};

struct config_overrides {
  std::optional<std::filesystem::path> data_dir;     // --data-dir
  std::optional<std::filesystem::path> config_file;  // --config
};

result<config> load_config(const config_overrides& flags);

}  // namespace shoal::node
