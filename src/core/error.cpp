#include <cerrno>
#include <cstring>

#include "shoal/error.hpp"

namespace shoal {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "shoal"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::ok:
        return "ok";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::invalid_path:
        return "invalid path";
      case errc::invalid_manifest:
        return "invalid manifest";
      case errc::hash_mismatch:
        return "hash mismatch";
      case errc::not_found:
        return "not found";
      case errc::already_exists:
        return "already exists";
      case errc::io_error:
        return "input/output error";
      case errc::disk_full:
        return "disk full";
      case errc::permission_denied:
        return "permission denied";
      case errc::store_corrupt:
        return "store corrupt";
      case errc::busy:
        return "busy";
      case errc::unsupported:
        return "unsupported";
      case errc::pinned:
        return "pinned";
      case errc::limit_exceeded:
        return "limit exceeded";
      case errc::source_changed:
        return "source changed";
    }
    return "unknown shoal error";
  }
};

}  // namespace

const std::error_category& shoal_category() noexcept {
  static const category c;
  return c;
}

const char* errc_name(errc e) noexcept {
  switch (e) {
    case errc::ok:
      return "ok";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::invalid_path:
      return "invalid_path";
    case errc::invalid_manifest:
      return "invalid_manifest";
    case errc::hash_mismatch:
      return "hash_mismatch";
    case errc::not_found:
      return "not_found";
    case errc::already_exists:
      return "already_exists";
    case errc::io_error:
      return "io_error";
    case errc::disk_full:
      return "disk_full";
    case errc::permission_denied:
      return "permission_denied";
    case errc::store_corrupt:
      return "store_corrupt";
    case errc::busy:
      return "busy";
    case errc::unsupported:
      return "unsupported";
    case errc::pinned:
      return "pinned";
    case errc::limit_exceeded:
      return "limit_exceeded";
    case errc::source_changed:
      return "source_changed";
  }
  return "unknown";
}

errc errc_from_errno(int err) noexcept {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return errc::disk_full;
    case EACCES:
    case EPERM:
    case EROFS:
      return errc::permission_denied;
    case ENOENT:
    case ENOTDIR:
      return errc::not_found;
    case EEXIST:
    case ENOTEMPTY:
      return errc::already_exists;
    case EWOULDBLOCK:
      return errc::busy;
    default:
      return errc::io_error;
  }
}

error system_error(int err, std::string what) {
  what += ": ";
  what += std::strerror(err);
  return error{errc_from_errno(err), std::move(what)};
}

void assertion_failed(const char* expr, const char* file, int line) noexcept {
  std::fprintf(stderr, "shoal: assertion failed: %s (%s:%d)\n", expr, file, line);
  std::fflush(stderr);
  std::abort();
}

}  // namespace shoal
