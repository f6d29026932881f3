// Progress of long work (add, export, verify) for people: a redrawn bar with rate and ETA when
// the output is a terminal, a plain line every few seconds otherwise, nothing when quiet.
// Everything goes to stderr so that stdout keeps only the result (an ID, JSON).
//
// Thread safety: one reporter per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace shoal::host {

enum class progress_style { bar, lines, quiet };

// "0 B", "512.0 KiB", "1.5 GiB".
std::string format_bytes(double bytes);
// "0:42", "1:02:03".
std::string format_duration(double seconds);

// One progress report as text, without the redraw codes: `rate` in bytes per second (0: not
// known yet), `width` the terminal's columns for a bar (0: unknown; a line is cut to fit, so a
// narrow terminal does not wrap every redraw). With total 0 the size is not known yet, and the
// text says so instead of "100% (0 B of 0 B)".
// `detail` says what the work is doing besides (a fetch's stage and peers, fetch_detail): after
// the figures, or instead of the size while it is not known.
std::string progress_text(progress_style style, const std::string& label, std::uint64_t done,
                          std::uint64_t total, double rate, std::size_t width,
                          const std::string& detail = {});

// A fetch's stage for its progress line, from the daemon's progress event (stage, peers,
// connecting, redialing; control.md 4.3): "4 peers", "looking up holders in the DHT",
// "connecting to 2 peers", "no holder answers; 1 to dial again".
std::string fetch_detail(const std::string& stage, std::size_t peers, std::size_t connecting,
                         std::size_t redialing);

class progress_reporter {
 public:
  progress_reporter(std::string label, progress_style style);
  ~progress_reporter();
  void update(std::uint64_t done, std::uint64_t total, std::string detail = {});
  // Clears the bar (the caller prints the outcome).
  void finish();

 private:
  using clock = std::chrono::steady_clock;
  std::string label_;
  progress_style style_;
  clock::time_point start_ = clock::now();
  // The rate counts from the first report: a client that attaches to a fetch already under way
  // must not count what was stored before it came (issue 22, item 4).
  std::optional<std::pair<clock::time_point, std::uint64_t>> first_;
  clock::time_point last_draw_{};
  std::uint64_t done_ = 0;
  std::uint64_t total_ = 0;
  std::string detail_;
  bool drawn_ = false;
  bool finished_ = false;
};

}  // namespace shoal::host
