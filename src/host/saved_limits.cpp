#include "host/saved_limits.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace shoal::host {

namespace fs = std::filesystem;

fs::path saved_limits_path(const fs::path& data_dir) {
  return data_dir / "limits.json";
}

result<void> save_limits(const fs::path& data_dir, std::uint64_t upload, std::uint64_t download) {
  const fs::path path = saved_limits_path(data_dir);
  const fs::path tmp = data_dir / "limits.json.tmp";
  const std::string text = nlohmann::json{{"upload", upload}, {"download", download}}.dump() + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return system_error(errno, "cannot save the rate limits in " + tmp.string());
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) return system_error(saved, "cannot save the rate limits in " + tmp.string());
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec)
    return error{errc::io_error,
                 "cannot save the rate limits as " + path.string() + ": " + ec.message()};
  return {};
}

result<rate_limits> choose_limits(const config& c, std::optional<std::uint64_t> upload_flag,
                                  std::optional<std::uint64_t> download_flag) {
  rate_limits r{c.upload_limit, c.download_limit, c.config_file ? "config file" : "default"};
  const fs::path saved = saved_limits_path(c.data_dir);
  std::error_code ec;
  const auto saved_time = fs::last_write_time(saved, ec);
  if (!ec) {
    std::error_code cec;
    const bool newer =
        !c.config_file || saved_time >= fs::last_write_time(*c.config_file, cec) || cec;
    if (newer) {
      std::ifstream in(saved);
      const auto j = nlohmann::json::parse(in, nullptr, false);
      if (!j.is_object() || !j.contains("upload") || !j.contains("download") ||
          !j["upload"].is_number_unsigned() || !j["download"].is_number_unsigned())
        return error{errc::invalid_argument,
                     saved.string() +
                         " is not {\"upload\": N, \"download\": N} (bytes per second); delete it "
                         "to use the config file's limits, or set new ones with shoal limit"};
      r = {j["upload"].get<std::uint64_t>(), j["download"].get<std::uint64_t>(), "limits.json"};
    }
  }
  if (upload_flag) r.upload = *upload_flag;
  if (download_flag) r.download = *download_flag;
  if (upload_flag || download_flag) r.source = "flags";
  return r;
}

}  // namespace shoal::host
