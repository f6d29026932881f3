#include "host/progress.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
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

std::string fetch_detail(const std::string& stage, std::size_t peers, std::size_t connecting,
                         std::size_t redialing) {
  const auto n = [](std::size_t k, const char* one) {
    return std::to_string(k) + " " + one + (k == 1 ? "" : "s");
  };
  if (stage == "fetching") return n(peers, "peer");
  if (stage == "metadata") return "reading the manifest from " + n(peers, "peer");
  if (stage == "looking_up") return "looking up holders in the DHT";
  if (stage == "connecting") return "connecting to " + n(connecting, "peer");
  if (stage == "redialing")
    return "no holder answers; " + std::to_string(redialing) + " to dial again";
  if (stage == "waiting") return "no holder found yet; looking again";
  return {};
}

std::string progress_text(progress_style style, const std::string& label, std::uint64_t done,
                          std::uint64_t total, double rate, std::size_t width,
                          const std::string& detail) {
  std::string text;
  const std::string rate_part = rate > 0 ? format_bytes(rate) + "/s" : "";
  if (total == 0) {
    text = label + ": " + (detail.empty() ? "waiting for the content's size" : detail);
    if (done > 0) text += " (" + format_bytes(static_cast<double>(done)) + ")";
  } else {
    const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    const double eta = rate > 0 && total > done ? static_cast<double>(total - done) / rate : -1;
    if (style == progress_style::bar) {
      constexpr int bar_width = 30;
      const int filled = static_cast<int>(fraction * bar_width);
      const std::string bar = std::string(static_cast<std::size_t>(filled), '#') +
                              std::string(static_cast<std::size_t>(bar_width - filled), '.');
      text = fmt::format("{} [{}] {:3.0f}%  {} / {}", label, bar, fraction * 100,
                         format_bytes(static_cast<double>(done)),
                         format_bytes(static_cast<double>(total)));
      if (!rate_part.empty()) text += "  " + rate_part + "  ETA " + format_duration(eta);
      if (!detail.empty()) text += "  " + detail;
    } else {
      text = fmt::format("{}: {:.0f}% ({} of {})", label, fraction * 100,
                         format_bytes(static_cast<double>(done)),
                         format_bytes(static_cast<double>(total)));
      if (!rate_part.empty()) text += " at " + rate_part + ", ETA " + format_duration(eta);
      if (!detail.empty()) text += "; " + detail;
    }
  }
  // Cut to the terminal (a bar only: a plain line may wrap, it is not redrawn).
  if (style == progress_style::bar && width > 1 && text.size() >= width) text.resize(width - 1);
  return text;
}

namespace {

// The terminal's width from stderr, 0 if it is not a terminal.
std::size_t terminal_width() {
  winsize ws{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) != 0) return 0;
  return ws.ws_col;
}

}  // namespace

void progress_reporter::update(std::uint64_t done, std::uint64_t total, std::string detail) {
  done_ = done;
  total_ = total;
  detail_ = std::move(detail);
  if (style_ == progress_style::quiet) return;
  const auto now = clock::now();
  if (!first_ || done < first_->second) first_ = {now, done};
  const auto interval = style_ == progress_style::bar ? std::chrono::milliseconds(100)
                                                      : std::chrono::milliseconds(2000);
  if (drawn_ && now - last_draw_ < interval) return;
  if (!drawn_ && style_ == progress_style::lines && now - start_ < interval) return;
  last_draw_ = now;
  drawn_ = true;

  const double elapsed = std::chrono::duration<double>(now - first_->first).count();
  const double rate = elapsed > 0.5 ? static_cast<double>(done - first_->second) / elapsed : 0;
  const std::string text =
      progress_text(style_, label_, done, total, rate,
                    style_ == progress_style::bar ? terminal_width() : 0, detail_);
  if (style_ == progress_style::bar)
    std::fprintf(stderr, "\r\033[K%s", text.c_str());
  else
    std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

void progress_reporter::finish() {
  if (finished_) return;
  finished_ = true;
  if (style_ == progress_style::bar && drawn_) std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
}

}  // namespace shoal::host
