#include "host/config.hpp"

#include <toml++/toml.h>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "net/address.hpp"

namespace shoal::host {
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

result<std::uint64_t> parse_rate(std::string_view text, std::string_view what) {
  const auto bad = [&] {
    return error{errc::invalid_argument,
                 std::string(what) + " \"" + std::string(text) +
                     "\" is not a rate; write for example 40mbit, 5MB/s, 512KiB or 0 (no limit)"};
  };
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  if (i == 0) return bad();
  double value = 0;
  try {
    value = std::stod(std::string(text.substr(0, i)));
  } catch (const std::exception&) {
    return bad();
  }
  std::string unit(text.substr(i));
  if (unit.size() >= 2 && unit.substr(unit.size() - 2) == "/s") unit.resize(unit.size() - 2);
  std::string lower;
  for (char ch : unit) lower += static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
  double scale = 0;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "kB" || unit == "KB" || unit == "k" || unit == "K")
    scale = 1e3;
  else if (unit == "MB" || unit == "M")
    scale = 1e6;
  else if (unit == "GB" || unit == "G")
    scale = 1e9;
  else if (unit == "KiB")
    scale = 1024;
  else if (unit == "MiB")
    scale = 1024.0 * 1024;
  else if (unit == "GiB")
    scale = 1024.0 * 1024 * 1024;
  else if (lower == "bit" || lower == "bps")
    scale = 1.0 / 8;
  else if (lower == "kbit" || lower == "kbps")
    scale = 1e3 / 8;
  else if (lower == "mbit" || lower == "mbps")
    scale = 1e6 / 8;
  else if (lower == "gbit" || lower == "gbps")
    scale = 1e9 / 8;
  else
    return bad();
  const double bytes = value * scale;
  if (bytes > 1e15) return bad();
  if (bytes > 0 && bytes < 1024)
    return error{errc::invalid_argument, std::string(what) + " \"" + std::string(text) +
                                             "\" is below 1 KiB/s; use 0 for no limit"};
  return static_cast<std::uint64_t>(bytes);
}

namespace {
// "%.3g" of `v` in the largest of giga, mega and kilo that it reaches: "40 Mbit/s".
std::string in_units(double v, const char* giga, const char* mega, const char* kilo) {
  char buf[32];
  const auto [scale, unit] = v >= 1e9   ? std::pair{1e9, giga}
                             : v >= 1e6 ? std::pair{1e6, mega}
                                        : std::pair{1e3, kilo};
  std::snprintf(buf, sizeof buf, "%.3g %s", v / scale, unit);
  return buf;
}
}  // namespace

std::string rate_text(std::uint64_t bytes_per_second) {
  if (bytes_per_second == 0) return "unlimited";
  // In bits, as links are sold, and in bytes, as files are sized: `limit --upload 1MB/s` reads
  // back as "8 Mbit/s (1 MB/s)", not as a number the user must convert to check.
  const double bytes = static_cast<double>(bytes_per_second);
  return in_units(bytes * 8, "Gbit/s", "Mbit/s", "kbit/s") + " (" +
         in_units(bytes, "GB/s", "MB/s", "kB/s") + ")";
}

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
      } else if (key.str() == "http_listen") {
        const auto* s = value.as_string();
        if (s == nullptr || s->get().empty())
          return error{errc::invalid_argument, "config file \"" + file->string() +
                                                   "\": http_listen must be a string HOST:PORT "
                                                   "or \"off\""};
        c.http_listen = s->get();
      } else if (key.str() == "bootstrap") {
        const auto* a = value.as_array();
        const std::string bad_type = "config file \"" + file->string() +
                                     "\": bootstrap must be an array of \"HOST:PORT\" strings";
        if (a == nullptr) return error{errc::invalid_argument, bad_type};
        for (const auto& item : *a) {
          const auto* s = item.as_string();
          if (s == nullptr) return error{errc::invalid_argument, bad_type};
          auto addr = net::parse_address(s->get(), "bootstrap");
          if (!addr)
            return error{errc::invalid_argument,
                         "config file \"" + file->string() + "\": " + addr.err().message};
          c.bootstrap.push_back(s->get());
        }
      } else if (key.str() == "upload_limit" || key.str() == "download_limit") {
        const auto* s = value.as_string();
        if (s == nullptr)
          return error{errc::invalid_argument, "config file \"" + file->string() +
                                                   "\": " + std::string(key.str()) +
                                                   " must be a string such as \"40mbit\""};
        auto r = parse_rate(s->get(), std::string(key.str()));
        if (!r)
          return error{errc::invalid_argument,
                       "config file \"" + file->string() + "\": " + r.err().message};
        (key.str() == "upload_limit" ? c.upload_limit : c.download_limit) = *r;
      } else if (key.str() == "max_peer_connections" || key.str() == "max_control_connections") {
        const auto* n = value.as_integer();
        if (n == nullptr || n->get() < 1 || n->get() > 1'000'000)
          return error{errc::invalid_argument, "config file \"" + file->string() +
                                                   "\": " + std::string(key.str()) +
                                                   " must be an integer from 1 to 1000000"};
        (key.str() == "max_peer_connections" ? c.max_peer_connections : c.max_control_connections) =
            static_cast<std::size_t>(n->get());
      } else if (key.str() == "log_level" || key.str() == "log_format") {
        const auto* v = value.as_string();
        const std::string what =
            "config file \"" + file->string() + "\": " + std::string(key.str());
        if (v == nullptr) return error{errc::invalid_argument, what + " must be a string"};
        if (key.str() == "log_level") {
          auto l = parse_log_level(v->get(), what);
          if (!l) return std::move(l).err();
          c.log.level = *l;
        } else {
          auto f = parse_log_format(v->get(), what);
          if (!f) return std::move(f).err();
          c.log.format = *f;
        }
      } else if (key.str() == "max_swarm_peers") {
        const auto* n = value.as_integer();
        if (n == nullptr || n->get() < 1 || n->get() > 4096)
          return error{errc::invalid_argument, "config file \"" + file->string() +
                                                   "\": max_swarm_peers must be an integer from "
                                                   "1 to 4096"};
        c.max_swarm_peers = static_cast<std::size_t>(n->get());
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

}  // namespace shoal::host
