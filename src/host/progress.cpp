#include "host/progress.hpp"

#include <fmt/format.h>
#include <cstdio>

namespace shoal::host {

std::string format_bytes(double bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (bytes >= 1024 && u < 5) {
    bytes /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} B", bytes) : fmt::format("{:.1f} {}", bytes, units[u]);
}

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 1e7) return "?";
  const auto s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

progress_reporter::progress_reporter(std::string label, progress_style style)
    : label_(std::move(label)), style_(style) {}

progress_reporter::~progress_reporter() {
  finish();
}

void progress_reporter::update(std::uint64_t done, std::uint64_t total) {
  done_ = done;
  total_ = total;
  if (style_ == progress_style::quiet) return;
  const auto now = clock::now();
  const auto interval = style_ == progress_style::bar ? std::chrono::milliseconds(100)
                                                      : std::chrono::milliseconds(2000);
  if (drawn_ && now - last_draw_ < interval) return;
  if (!drawn_ && style_ == progress_style::lines && now - start_ < interval) return;
  last_draw_ = now;
  drawn_ = true;

  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : -1;
  if (style_ == progress_style::bar) {
    constexpr int width = 30;
    const int filled = static_cast<int>(fraction * width);
    std::string bar = std::string(static_cast<std::size_t>(filled), '#') +
                      std::string(static_cast<std::size_t>(width - filled), '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %3.0f%%  %s / %s  %s/s  ETA %s", label_.c_str(),
                 bar.c_str(), fraction * 100, format_bytes(static_cast<double>(done)).c_str(),
                 format_bytes(static_cast<double>(total)).c_str(), format_bytes(rate).c_str(),
                 format_duration(eta).c_str());
  } else {
    std::fprintf(stderr, "%s: %.0f%% (%s of %s) at %s/s, ETA %s\n", label_.c_str(), fraction * 100,
                 format_bytes(static_cast<double>(done)).c_str(),
                 format_bytes(static_cast<double>(total)).c_str(), format_bytes(rate).c_str(),
                 format_duration(eta).c_str());
  }
  std::fflush(stderr);
}

void progress_reporter::finish() {
  if (finished_) return;
  finished_ = true;
  if (style_ == progress_style::bar && drawn_) std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace shoal::host
