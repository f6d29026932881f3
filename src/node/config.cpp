#include "node/config.hpp"

#include <toml++/toml.h>
#include <cstdlib>

namespace shoal::node {
namespace {

namespace fs = std::filesystem;

std::optional<fs::path> env_path(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return fs::path(v);
}

fs::path home() {
  if (auto h = env_path("HOME")) return *h;
  return fs::path("/");
}

}  // namespace

result<config> load_config(const config_overrides& flags) {
  config c;
  std::optional<fs::path> file = flags.config_file;
  const bool explicit_file = file.has_value() || env_path("SHOAL_CONFIG").has_value();
  if (!file) file = env_path("SHOAL_CONFIG");
  if (!file) {
    const fs::path base = env_path("XDG_CONFIG_HOME").value_or(home() / ".config");
    file = base / "shoal" / "config.toml";
  }

  std::optional<fs::path> file_data_dir;
  std::error_code ec;
  if (fs::exists(*file, ec)) {
    toml::table t;
    try {  // Debian's toml++ is built with exceptions: parse errors arrive as toml::parse_error.
      t = toml::parse_file(file->string());
    } catch (const toml::parse_error& e) {
      return error{errc::invalid_argument, "config file \"" + file->string() + "\" line " +
                                               std::to_string(e.source().begin.line) + ": " +
                                               std::string(e.description())};
    }
    for (const auto& [key, value] : t) {
      if (key.str() == "data_dir") {
        const auto* s = value.as_string();
        if (s == nullptr || s->get().empty())
          return error{errc::invalid_argument, "config file \"" + file->string() +
                                                   "\": data_dir must be a non-empty string"};
        fs::path p(s->get());
        // A relative data_dir is taken relative to the config file, not the working directory.
        file_data_dir = p.is_absolute() ? p : file->parent_path() / p;
      } else if (key.str() == "listen") {
        const auto* s = value.as_string();
        if (s == nullptr || s->get().empty())
          return error{errc::invalid_argument,
                       "config file \"" + file->string() + "\": listen must be a string HOST:PORT"};
        c.listen = s->get();
      } else {
        return error{errc::invalid_argument, "config file \"" + file->string() + "\" line " +
                                                 std::to_string(value.source().begin.line) +
                                                 ": unknown key \"" + std::string(key.str()) +
                                                 "\""};
      }
    }
    c.config_file = *file;
  } else if (explicit_file) {
    return error{errc::not_found, "config file \"" + file->string() + "\" does not exist"};
  }

  if (flags.data_dir) {
    c.data_dir = *flags.data_dir;
    c.data_dir_source = "flag";
  } else if (auto e = env_path("SHOAL_DATA_DIR")) {
    c.data_dir = *e;
    c.data_dir_source = "environment";
  } else if (file_data_dir) {
    c.data_dir = *file_data_dir;
    c.data_dir_source = "config file";
  } else {
    c.data_dir = env_path("XDG_DATA_HOME").value_or(home() / ".local" / "share") / "shoal";
    c.data_dir_source = "default";
  }
  return c;
}

}  // namespace shoal::node
