#include "store/direct_write.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace shoal::store {

direct_writer::direct_writer(int buffered, const fs::path& path)
    : buffered_(buffered), path_(path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC);
  if (fd >= 0) direct_ = unique_fd(fd);
}

result<void> direct_writer::write(byte_span data, std::uint64_t offset, bool may_pad) {
  const bool aligned_start = offset % direct_alignment == 0;
  const bool aligned_length = data.size() % direct_alignment == 0;
  if (!direct_.valid() || data.empty() || !aligned_start || (!aligned_length && !may_pad))
    return pwrite_all(buffered_, data, offset, path_);
  const std::size_t length =
      (data.size() + direct_alignment - 1) / direct_alignment * direct_alignment;
  if (capacity_ < length) {
    void* p = std::aligned_alloc(direct_alignment, length);
    if (!p)
      return error{errc::io_error,
                   "out of memory for a " + std::to_string(length) + "-byte write buffer"};
    buf_ = {static_cast<std::uint8_t*>(p), &std::free};
    capacity_ = length;
  }
  std::memcpy(buf_.get(), data.data(), data.size());
  std::memset(buf_.get() + data.size(), 0, length - data.size());
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n = ::pwrite(direct_.get(), buf_.get() + done, length - done,
                               static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && done == 0) {
      // The device wants a larger alignment than ours: no more direct writes to this file.
      direct_.reset();
      return pwrite_all(buffered_, data, offset, path_);
    }
    if (n < 0)
      return system_error(errno, "cannot write \"" + path_.string() + "\" at offset " +
                                     std::to_string(offset + done));
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace shoal::store
