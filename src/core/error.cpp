#include <cerrno>
#include <cstring>

#include "shoal/error.hpp"

namespace shoal {
namespace {

// One row per errc, in enum order: the name for machine-readable output and the message.
struct errc_text {
  errc code;
  const char* name;
  const char* message;
};
constexpr errc_text texts[] = {
    {errc::ok, "ok", "ok"},
    {errc::invalid_argument, "invalid_argument", "invalid argument"},
    {errc::invalid_path, "invalid_path", "invalid path"},
    {errc::invalid_manifest, "invalid_manifest", "invalid manifest"},
    {errc::hash_mismatch, "hash_mismatch", "hash mismatch"},
    {errc::not_found, "not_found", "not found"},
    {errc::already_exists, "already_exists", "already exists"},
    {errc::io_error, "io_error", "input/output error"},
    {errc::disk_full, "disk_full", "disk full"},
    {errc::permission_denied, "permission_denied", "permission denied"},
    {errc::store_corrupt, "store_corrupt", "store corrupt"},
    {errc::busy, "busy", "busy"},
    {errc::unsupported, "unsupported", "unsupported"},
    {errc::pinned, "pinned", "pinned"},
    {errc::limit_exceeded, "limit_exceeded", "limit exceeded"},
    {errc::source_changed, "source_changed", "source changed"},
    {errc::untrusted, "untrusted", "untrusted"},
    {errc::cancelled, "cancelled", "cancelled"},
};

const errc_text* find_text(int code) {
  for (const auto& t : texts)
    if (static_cast<int>(t.code) == code) return &t;
  return nullptr;
}

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "shoal"; }
  std::string message(int c) const override {
    const errc_text* t = find_text(c);
    return t ? t->message : "unknown shoal error";
  }
};

}  // namespace

const std::error_category& shoal_category() noexcept {
  static const category c;
  return c;
}

const char* errc_name(errc e) noexcept {
  const errc_text* t = find_text(static_cast<int>(e));
  return t ? t->name : "unknown";
}

std::optional<errc> errc_from_name(std::string_view name) noexcept {
  for (const auto& t : texts)
    if (name == t.name) return t.code;
  return std::nullopt;
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
