// Errors as values: every expected failure in Shoal is an `error` that carries a code from
// Shoal's own category and a message naming what was wrong (a path, an ID, a field).
// Programmer errors are assertions instead (see SHOAL_ASSERT below), which stay on in release.
//
// Thread safety: plain values; safe to copy between threads.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

namespace shoal {

enum class errc {
  ok = 0,
  invalid_argument = 1,  // a caller passed something malformed (a bad ID, a bad flag value)
  invalid_path,          // a path in a manifest or on the command line breaks the path rules
  invalid_manifest,      // manifest bytes that do not decode, or that break a rule
  hash_mismatch,         // data or a proof did not verify against its expected hash
  not_found,             // an unknown content ID, a missing file
  already_exists,        // the target of an atomic write is taken
  io_error,              // the operating system refused (the message carries strerror)
  disk_full,             // ENOSPC or EDQUOT while writing
  permission_denied,     // EACCES or EPERM
  store_corrupt,         // the catalog or a data file contradicts itself
  busy,                  // the resource is held by another process
  unsupported,           // a version or kind this build does not understand
  pinned,                // the operation would drop pinned content
  limit_exceeded,        // an input is larger than a documented bound
  source_changed,        // a file changed while it was being imported
  untrusted,             // a certificate or signature that does not verify (expired, foreign)
  cancelled,             // the user or the daemon stopped the operation before it finished
};

const std::error_category& shoal_category() noexcept;
// The enumerator's name ("disk_full"), for machine-readable output.
const char* errc_name(errc e) noexcept;
// The errc with that name; invalid_argument... for a name this build does not know, nullopt.
std::optional<errc> errc_from_name(std::string_view name) noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), shoal_category()};
}

struct error {
  errc code = errc::ok;
  std::string message;
};

// Maps an errno value to the closest errc (ENOSPC -> disk_full, EACCES -> permission_denied...).
errc errc_from_errno(int err) noexcept;
// An error for a failed system call: "<what>: <strerror(err)>".
error system_error(int err, std::string what);

// The value of a successful operation or the error that stopped it.
template <typename T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  result(error e) : v_(std::move(e)) {}      // NOLINT(google-explicit-constructor)
  result(errc c, std::string m) : v_(error{c, std::move(m)}) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }

  const error& err() const& { return std::get<1>(v_); }
  error&& err() && { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, error> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(error e) : e_(std::move(e)) {}  // NOLINT(google-explicit-constructor)
  result(errc c, std::string m) : e_{c, std::move(m)} {}

  bool ok() const noexcept { return e_.code == errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
  const error& err() const& { return e_; }
  error&& err() && { return std::move(e_); }

 private:
  error e_;
};

[[noreturn]] void assertion_failed(const char* expr, const char* file, int line) noexcept;

}  // namespace shoal

namespace std {
template <>
struct is_error_code_enum<shoal::errc> : true_type {};
}  // namespace std

// An invariant that only a bug can break. Checked in every build type.
#define SHOAL_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::shoal::assertion_failed(#expr, __FILE__, __LINE__))

// Evaluates a result-returning expression and returns its error from the enclosing function.
#define SHOAL_TRY(expr)                                           \
  do {                                                            \
    auto shoal_try_r_ = (expr);                                   \
    if (!shoal_try_r_.ok()) return std::move(shoal_try_r_).err(); \
  } while (0)
