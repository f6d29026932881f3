#include "store/direct_write.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace shoal::store {
namespace {

std::size_t round_up(std::size_t n) {
  return (n + direct_alignment - 1) / direct_alignment * direct_alignment;
}

}  // namespace

std::uint8_t* aligned_buffer::get(std::size_t size) {
  if (capacity_ < size) {
    const std::size_t rounded = round_up(size);
    void* p = std::aligned_alloc(direct_alignment, rounded);
    if (!p) return nullptr;
    buf_ = {static_cast<std::uint8_t*>(p), &std::free};
    capacity_ = rounded;
  }
  return buf_.get();
}

direct_reader::direct_reader(int buffered, const fs::path& path)
    : buffered_(buffered), path_(path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECT | O_CLOEXEC);
  if (fd >= 0) direct_ = unique_fd(fd);
}

result<void> direct_reader::read(std::span<std::uint8_t> out, std::uint64_t offset) {
  if (!direct_.valid() || out.empty() || offset % direct_alignment != 0)
    return pread_exact(buffered_, out, offset, path_);
  // The length is rounded up: the read may stop short at the end of the file, which is fine
  // as long as it covers `out`.
  const std::size_t length = round_up(out.size());
  std::uint8_t* buf = buf_.get(length);
  if (!buf)
    return error{errc::io_error, "out of memory for a " + std::to_string(length) + "-byte buffer"};
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(direct_.get(), buf + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EINVAL && done == 0) {
      direct_.reset();  // the device wants a larger alignment: ordinary reads from now on
      return pread_exact(buffered_, out, offset, path_);
    }
    if (n < 0)
      return system_error(errno, "cannot read \"" + path_.string() + "\" at offset " +
                                     std::to_string(offset + done));
    if (n == 0)
      return error{errc::io_error, "\"" + path_.string() + "\" ends at offset " +
                                       std::to_string(offset + done) + ", before the " +
                                       std::to_string(out.size()) + " bytes expected"};
    done += static_cast<std::size_t>(n);
    if (done % direct_alignment != 0) break;  // a short read at the end of the file
  }
  if (done < out.size())
    return error{errc::io_error, "\"" + path_.string() + "\" ends at offset " +
                                     std::to_string(offset + done) + ", before the " +
                                     std::to_string(out.size()) + " bytes expected"};
  std::memcpy(out.data(), buf, out.size());
  return {};
}

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
  const std::size_t length = round_up(data.size());
  const std::uint8_t* buf = data.data();
  // An aligned buffer of an aligned length (a whole piece from the fetch, aligned_buffer.hpp)
  // is written as it is; anything else goes through our own aligned copy.
  if (reinterpret_cast<std::uintptr_t>(buf) % direct_alignment != 0 || length != data.size()) {
    std::uint8_t* copy = buf_.get(length);
    if (!copy)
      return error{errc::io_error,
                   "out of memory for a " + std::to_string(length) + "-byte buffer"};
    std::memcpy(copy, data.data(), data.size());
    std::memset(copy + data.size(), 0, length - data.size());
    buf = copy;
  }
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n =
        ::pwrite(direct_.get(), buf + done, length - done, static_cast<off_t>(offset + done));
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
