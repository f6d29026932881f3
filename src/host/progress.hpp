// Progress of long work (add, export, verify) for people: a redrawn bar with rate and ETA when
// the output is a terminal, a plain line every few seconds otherwise, nothing when quiet.
// Everything goes to stderr so that stdout keeps only the result (an ID, JSON).
//
// Thread safety: one reporter per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace shoal::host {

enum class progress_style { bar, lines, quiet };

// "0 B", "512.0 KiB", "1.5 GiB".
std::string format_bytes(double bytes);
// "0:42", "1:02:03".
std::string format_duration(double seconds);

class progress_reporter {
 public:
  progress_reporter(std::string label, progress_style style);
  ~progress_reporter();
  void update(std::uint64_t done, std::uint64_t total);
  // Clears the bar (the caller prints the outcome).
  void finish();

 private:
  using clock = std::chrono::steady_clock;
  std::string label_;
  progress_style style_;
  clock::time_point start_ = clock::now();
  clock::time_point last_draw_{};
  std::uint64_t done_ = 0;
  std::uint64_t total_ = 0;
  bool drawn_ = false;
  bool finished_ = false;
};

}  // namespace shoal::host
