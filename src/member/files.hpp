// The few file operations membership needs, with the modes that keep keys private: a key file
// is created with mode 0600 by open(O_CREAT | O_EXCL) itself, so it is never readable by others,
// not even for an instant, and an existing file is never overwritten. Certificates are public
// and replaced atomically (renewal writes a new one over the old).
//
// Thread safety: stateless functions; concurrent writers of one path get O_EXCL's or rename's
// semantics.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "shoal/error.hpp"

namespace shoal::member {

// Files larger than this are not keys, certificates or requests; reading stops there.
constexpr std::size_t max_pem_file = 64 * 1024;

// Creates `path` with `mode` (O_CREAT | O_EXCL), writes `content` and fsyncs it. An existing
// file is `already_exists`. On a failed write the new file is removed.
result<void> write_new_file(const std::filesystem::path& path, std::string_view content,
                            unsigned mode);
// Writes `content` to a temporary file beside `path` with `mode`, fsyncs it and renames it over
// `path`, so readers see the old file or the new one, never a part.
result<void> replace_file(const std::filesystem::path& path, std::string_view content,
                          unsigned mode);
// Reads a whole small file; `what` names it in errors ("certificate request").
result<std::string> read_small_file(const std::filesystem::path& path, std::string_view what);
// Creates `dir` with mode 0700 if missing (its parents with 0700 too); an existing directory is
// left as it is.
result<void> make_private_directory(const std::filesystem::path& dir);

}  // namespace shoal::member
