#include "member/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

namespace shoal::member {
namespace {

std::string quoted(const std::filesystem::path& p) {
  return "\"" + p.string() + "\"";
}

class fd_closer {
 public:
  explicit fd_closer(int fd) : fd_(fd) {}
  ~fd_closer() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_closer(const fd_closer&) = delete;
  fd_closer& operator=(const fd_closer&) = delete;
  int get() const { return fd_; }
  // close() reports write-back errors on some file systems, so it is checked once, here.
  int close() {
    const int r = ::close(fd_);
    fd_ = -1;
    return r;
  }

 private:
  int fd_;
};

result<void> write_and_sync(int fd, std::string_view content, const std::filesystem::path& path) {
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return system_error(errno, "cannot write " + quoted(path));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return system_error(errno, "cannot flush " + quoted(path) + " to disk");
  return {};
}

result<void> create_and_write(const std::filesystem::path& path, std::string_view content,
                              unsigned mode) {
  fd_closer fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (fd.get() < 0) {
    if (errno == EEXIST)
      return error{errc::already_exists,
                   quoted(path) + " already exists; refusing to overwrite it"};
    return system_error(errno, "cannot create " + quoted(path));
  }
  // The umask may have cleared bits of `mode` (a 0644 certificate under umask 077); the mode is
  // part of the file format, so set it exactly. It only ever adds read bits to public files.
  auto r = write_and_sync(fd.get(), content, path);
  if (r && ::fchmod(fd.get(), mode) != 0)
    r = system_error(errno, "cannot set the mode of " + quoted(path));
  if (r && fd.close() != 0) r = system_error(errno, "cannot write " + quoted(path));
  if (!r) ::unlink(path.c_str());
  return r;
}

}  // namespace

result<void> write_new_file(const std::filesystem::path& path, std::string_view content,
                            unsigned mode) {
  return create_and_write(path, content, mode);
}

result<void> replace_file(const std::filesystem::path& path, std::string_view content,
                          unsigned mode) {
  std::random_device rd;
  const auto tmp = path.parent_path() / ("." + path.filename().string() + ".tmp-" +
                                         std::to_string(::getpid()) + "-" + std::to_string(rd()));
  SHOAL_TRY(create_and_write(tmp, content, mode));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return system_error(err, "cannot rename " + quoted(tmp) + " to " + quoted(path));
  }
  return {};
}

result<std::string> read_small_file(const std::filesystem::path& path, std::string_view what) {
  fd_closer fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT)
      return error{errc::not_found, std::string(what) + " " + quoted(path) + " does not exist"};
    return system_error(err, "cannot open " + std::string(what) + " " + quoted(path));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return system_error(errno, "cannot read " + std::string(what) + " " + quoted(path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_pem_file)
      return error{errc::limit_exceeded, std::string(what) + " " + quoted(path) +
                                             " is larger than " + std::to_string(max_pem_file) +
                                             " bytes; it is not a PEM key, certificate or request"};
  }
  return out;
}

result<void> make_private_directory(const std::filesystem::path& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      return error{errc::invalid_path, quoted(dir) + " exists and is not a directory"};
    return {};
  }
  if (errno != ENOENT) return system_error(errno, "cannot inspect " + quoted(dir));
  if (dir.has_parent_path() && dir.parent_path() != dir)
    SHOAL_TRY(make_private_directory(dir.parent_path()));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return system_error(errno, "cannot create directory " + quoted(dir));
  return {};
}

}  // namespace shoal::member
