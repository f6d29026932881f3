#include "store/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <random>

namespace shoal::store {

void unique_fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

result<unique_fd> open_file(const fs::path& p, int flags, unsigned mode) {
  const int fd = ::open(p.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return system_error(errno, "cannot open \"" + p.string() + "\"");
  return unique_fd(fd);
}

result<void> pread_exact(int fd, std::span<std::uint8_t> out, std::uint64_t offset,
                         const fs::path& name) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return system_error(errno, "cannot read \"" + name.string() + "\" at offset " +
                                     std::to_string(offset + done));
    }
    if (n == 0)
      return error{errc::io_error, "\"" + name.string() + "\" ends at offset " +
                                       std::to_string(offset + done) + ", before the " +
                                       std::to_string(out.size()) + " bytes expected"};
    done += static_cast<std::size_t>(n);
  }
  return {};
}

result<void> pwrite_all(int fd, byte_span data, std::uint64_t offset, const fs::path& name) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return system_error(errno, "cannot write \"" + name.string() + "\" at offset " +
                                     std::to_string(offset + done));
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

result<void> reserve_space(int fd, std::uint64_t size, const fs::path& name) {
  if (size == 0) return {};
  // Free space first: a size that cannot fit is refused before the file system is asked to
  // allocate any of it (a forged manifest declared 1 TiB).
  struct statvfs fsinfo {};
  struct stat st {};
  if (::fstatvfs(fd, &fsinfo) == 0 && ::fstat(fd, &st) == 0) {
    const auto held = static_cast<std::uint64_t>(st.st_blocks) * 512;
    const auto free_bytes = static_cast<std::uint64_t>(fsinfo.f_bavail) * fsinfo.f_frsize;
    if (size > held && size - held > free_bytes)
      return error{errc::disk_full, "cannot reserve " + std::to_string(size) + " bytes for \"" +
                                        name.string() + "\": only " + std::to_string(free_bytes) +
                                        " bytes are free on its file system"};
  }
  const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
  if (err == 0) return {};
  if (err == EOPNOTSUPP || err == EINVAL) {  // file systems without fallocate: size it sparsely
    if (::ftruncate(fd, static_cast<off_t>(size)) == 0) return {};
    return system_error(errno, "cannot size \"" + name.string() + "\"");
  }
  return system_error(
      err, "cannot reserve " + std::to_string(size) + " bytes for \"" + name.string() + "\"");
}

result<void> sync_file(int fd, const fs::path& name) {
  if (::fsync(fd) != 0)
    return system_error(errno, "cannot flush \"" + name.string() + "\" to disk");
  return {};
}

result<void> sync_directory(const fs::path& dir) {
  auto fd = open_file(dir, O_RDONLY | O_DIRECTORY);
  if (!fd) return std::move(fd).err();
  return sync_file(fd->get(), dir);
}

result<void> make_directories(const fs::path& dir, unsigned mode) {
  std::error_code ec;
  // Only a directory created here gets `mode`: an existing one (say, a home directory given as
  // --data-dir) keeps the permissions its owner chose.
  const bool created = fs::create_directories(dir, ec);
  if (ec) return system_error(ec.value(), "cannot create directory \"" + dir.string() + "\"");
  if (created) ::chmod(dir.c_str(), mode);
  return {};
}

result<void> rename_path(const fs::path& from, const fs::path& to) {
  if (::rename(from.c_str(), to.c_str()) != 0)
    return system_error(errno,
                        "cannot rename \"" + from.string() + "\" to \"" + to.string() + "\"");
  return {};
}

result<void> remove_tree(const fs::path& p) {
  std::error_code ec;
  fs::remove_all(p, ec);
  if (ec) return system_error(ec.value(), "cannot remove \"" + p.string() + "\"");
  return {};
}

std::string random_token() {
  static thread_local std::mt19937_64 gen{std::random_device{}()};
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(16, '0');
  std::uint64_t v = gen();
  for (auto& c : s) {
    c = digits[v & 15];
    v >>= 4;
  }
  return s;
}

}  // namespace shoal::store
