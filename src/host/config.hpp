// Node configuration: where the data directory is, from (highest first) the --data-dir flag,
// the SHOAL_DATA_DIR environment variable, the `data_dir` key of the TOML config file, and the
// default $XDG_DATA_HOME/shoal (~/.local/share/shoal). The config file is --config, else
// SHOAL_CONFIG, else $XDG_CONFIG_HOME/shoal/config.toml (~/.config/shoal/config.toml) if present.
// docs/configuration.md lists every key.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/swarm.hpp"
#include "host/logging.hpp"
#include "shoal/error.hpp"

namespace shoal::host {

struct config {
  std::filesystem::path data_dir;
  std::string data_dir_source;  // "flag", "environment", "config file", "default"
  std::optional<std::filesystem::path> config_file;  // the file that was read, if any
  // Where `shoal daemon` accepts peers (the `listen` key; --listen overrides it).
  std::string listen = "0.0.0.0:7420";
  // Where the daemon serves HTTP: the API, the gateway, /metrics (`http_listen`; --http-listen
  // overrides it; "off" for none). Loopback by default: docs/protocol/http.md says why.
  std::string http_listen = "127.0.0.1:7421";
  // Rate limits in bytes per second, 0 for none (`upload_limit`, `download_limit`).
  std::uint64_t upload_limit = 0;
  std::uint64_t download_limit = 0;
  // Members to join the DHT through, HOST:PORT (`bootstrap`; --bootstrap overrides it).
  std::vector<std::string> bootstrap;
  // Connections the daemon holds open at once, further bounded by its descriptor limit
  // (`max_peer_connections`, `max_control_connections`).
  std::size_t max_peer_connections = 1024;
  std::size_t max_control_connections = 64;
  // Peers a fetch keeps in a content's swarm (`max_swarm_peers`; --max-swarm-peers overrides it).
  std::size_t max_swarm_peers = swarm::max_fetch_members;
  // The daemon's log (`log_level`, `log_format`; --log-level, --log-format override them).
  log_settings log;
};

// A rate as people write it: "0" (no limit), "40mbit" / "1gbit" / "500kbit" (bits per second),
// "5MB" / "5MB/s" / "512KiB" / "1000" (bytes per second). `what` names the setting in errors.
result<std::uint64_t> parse_rate(std::string_view text, std::string_view what);
// The rate back in bits per second, for people: "40 Mbit/s", or "unlimited".
std::string rate_text(std::uint64_t bytes_per_second);

struct config_overrides {
  std::optional<std::filesystem::path> data_dir;     // --data-dir
  std::optional<std::filesystem::path> config_file;  // --config
};

result<config> load_config(const config_overrides& flags);

}  // namespace shoal::host
