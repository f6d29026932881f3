#include "host/logging.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

namespace shoal::host {
namespace {

// syslog(3) priorities, which journald reads from a `<N>` prefix.
int priority_of(spdlog::level::level_enum l) {
  switch (l) {
    case spdlog::level::critical:
      return 2;
    case spdlog::level::err:
      return 3;
    case spdlog::level::warn:
      return 4;
    case spdlog::level::info:
      return 6;
    default:
      return 7;  // debug, trace
  }
}

std::string utc_time(spdlog::log_clock::time_point t) {
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(t);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t - secs).count();
  const std::time_t tt = spdlog::log_clock::to_time_t(secs);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

class stderr_sink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  stderr_sink(log_format f, bool journal)
      : format_(f), journal_(journal), color_(!journal && ::isatty(2) == 1) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view text(msg.payload.data(), msg.payload.size());
    const auto level = spdlog::level::to_string_view(msg.level);
    std::string line;
    if (journal_) line = "<" + std::to_string(priority_of(msg.level)) + ">";
    if (format_ == log_format::json) {
      nlohmann::json j{{"level", std::string_view(level.data(), level.size())}, {"msg", text}};
      if (!journal_) j["time"] = utc_time(msg.time);
      line += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      if (!journal_) line += utc_time(msg.time) + " ";
      const bool paint = color_ && msg.level >= spdlog::level::warn;
      if (paint) line += msg.level == spdlog::level::warn ? "\033[33m" : "\033[31m";
      line.append(level.data(), level.size());
      if (paint) line += "\033[0m";
      line += " ";
      line += text;
    }
    line += "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  log_format format_;
  bool journal_;
  bool color_;
};

}  // namespace

result<spdlog::level::level_enum> parse_log_level(std::string_view text, std::string_view what) {
  for (auto l : {spdlog::level::trace, spdlog::level::debug, spdlog::level::info,
                 spdlog::level::warn, spdlog::level::err, spdlog::level::off})
    if (text == log_level_name(l)) return l;
  return error{errc::invalid_argument, std::string(what) + " \"" + std::string(text) +
                                           "\": expected trace, debug, info, warn, error or off"};
}

result<log_format> parse_log_format(std::string_view text, std::string_view what) {
  if (text == "text") return log_format::text;
  if (text == "json") return log_format::json;
  return error{errc::invalid_argument,
               std::string(what) + " \"" + std::string(text) + "\": expected text or json"};
}

const char* log_level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
      return "trace";
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    case spdlog::level::err:
      return "error";
    case spdlog::level::critical:
      return "critical";
    default:
      return "off";
  }
}

bool stderr_is_journal() {
  const char* js = std::getenv("JOURNAL_STREAM");  // "DEVICE:INODE" of the stream systemd made
  if (js == nullptr) return false;
  struct stat st {};
  if (::fstat(2, &st) != 0) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
  return dev == static_cast<unsigned long long>(st.st_dev) &&
         ino == static_cast<unsigned long long>(st.st_ino);
}

void configure_logging(const log_settings& s) {
  auto logger = std::make_shared<spdlog::logger>(
      "shoal", std::make_shared<stderr_sink>(s.format, stderr_is_journal()));
  logger->set_level(s.level);
  logger->flush_on(spdlog::level::trace);  // every line, as it happens
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace shoal::host
