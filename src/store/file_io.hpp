// Thin POSIX file helpers for the store: every failure becomes an error that names the file and
// the operation, and disk-full and permission errors keep their own codes.
//
// Thread safety: unique_fd is a move-only owner; pread/pwrite on one fd from several threads is
// safe, everything else is per object.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "shoal/error.hpp"
#include "shoal/types.hpp"

namespace shoal::store {

namespace fs = std::filesystem;

class unique_fd {
 public:
  unique_fd() = default;
  explicit unique_fd(int fd) : fd_(fd) {}
  ~unique_fd() { reset(); }
  unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
  unique_fd& operator=(unique_fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

result<unique_fd> open_file(const fs::path& p, int flags, unsigned mode = 0644);
// Reads exactly out.size() bytes at offset; a short file is an io_error naming the offset.
result<void> pread_exact(int fd, std::span<std::uint8_t> out, std::uint64_t offset,
                         const fs::path& name);
result<void> pwrite_all(int fd, byte_span data, std::uint64_t offset, const fs::path& name);
// Reserves `size` bytes so that a full disk is reported before any work is done.
result<void> reserve_space(int fd, std::uint64_t size, const fs::path& name);
result<void> sync_file(int fd, const fs::path& name);
result<void> sync_directory(const fs::path& dir);
// Creates `dir` and its parents; sets `mode` on `dir` only if it did not exist.
result<void> make_directories(const fs::path& dir, unsigned mode = 0755);
result<void> rename_path(const fs::path& from, const fs::path& to);
// Removes a file or a whole tree; a missing path is not an error.
result<void> remove_tree(const fs::path& p);
// A random lowercase hex token, for temporary names.
std::string random_token();

}  // namespace shoal::store
