#include "shoal/manifest.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "core/merkle.hpp"
#include "core/path_rules.hpp"

namespace shoal {
namespace {

constexpr std::uint8_t magic[4] = {'S', 'H', 'M', 'F'};
// Version 1 has files and directories with an executable bit; version 2 adds symbolic links
// and permission bits. A manifest is encoded in version 1 whenever that can express it, so
// every tree keeps one encoding and the IDs of version-1 contents stay as they were.
constexpr std::uint8_t version_1 = 1, version_2 = 2;
constexpr std::uint8_t flag_executable = 0x01;
constexpr std::size_t entry_fixed_size_1 = 4;  // type, flags, path length
constexpr std::size_t entry_fixed_size_2 = 5;  // type, mode, path length
constexpr std::size_t file_fields_size = 8 + 32;

bool needs_version_2(const manifest_entry& e) {
  return e.type == entry_type::symlink || e.mode.has_value();
}
bool needs_version_2(const manifest& m) {
  return std::any_of(m.entries.begin(), m.entries.end(),
                     [](const manifest_entry& e) { return needs_version_2(e); });
}
std::uint16_t default_mode(const manifest_entry& e) {
  if (e.type == entry_type::directory) return default_directory_mode;
  return e.executable ? default_executable_mode : default_file_mode;
}

// The entry at `path`: entries are sorted by path bytes (rule 11), so a binary search finds it
// without an index. REQUIRES: m is sorted.
std::optional<std::uint32_t> find_entry(const manifest& m, std::string_view path) {
  const auto it = std::lower_bound(
      m.entries.begin(), m.entries.end(), path,
      [](const manifest_entry& e, std::string_view p) { return std::string_view(e.path) < p; });
  if (it == m.entries.end() || it->path != path) return std::nullopt;
  return static_cast<std::uint32_t>(it - m.entries.begin());
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

std::vector<std::string> components(std::string_view path) {
  std::vector<std::string> out;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    out.emplace_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

// Walks `target` from the directory `at` (its components), following the manifest's links, as
// the kernel resolves a path: `..` goes up from where a link led, not from where it was written.
// Names the manifest lacks are kept as names (they stay inside the tree); `why` says how a walk
// failed: out of the tree, or too many links.
bool walk(const manifest& m, std::vector<std::string>& at, std::string_view target, int depth,
          std::string& why) {
  for (const std::string& c : components(target)) {
    if (c == ".") continue;
    if (c == "..") {
      if (at.empty()) {
        why = "leads out of the tree";
        return false;
      }
      at.pop_back();
      continue;
    }
    at.push_back(c);
    const auto hit = find_entry(m, joined(at));
    if (!hit || m.entries[*hit].type != entry_type::symlink) continue;
    if (depth >= link_depth_max) {
      why = "goes through more than " + std::to_string(link_depth_max) + " links (a loop?)";
      return false;
    }
    at.pop_back();  // the link's name gives way to where it points, from its own directory
    if (!walk(m, at, m.entries[*hit].target, depth + 1, why)) return false;
  }
  return true;
}

// A link's text: relative, '/'-separated, each part ".", ".." or a valid name.
result<void> check_target(std::string_view t) {
  if (t.empty()) return error{errc::invalid_argument, "the link target is empty"};
  if (t.size() > link_target_bytes_max)
    return error{errc::invalid_argument, "the link target is longer than 4095 bytes"};
  if (t.front() == '/')
    return error{errc::invalid_argument, "the link target is absolute: \"" + std::string(t) + "\""};
  if (t.back() == '/' || t.find("//") != std::string_view::npos)
    return error{errc::invalid_argument, "the link target has an empty part"};
  for (const std::string& c : components(t)) {
    if (c == "." || c == "..") continue;
    if (auto r = path_rules::check_component(c); !r)
      return error{errc::invalid_argument, "the link target: " + r.err().message};
  }
  return {};
}

error invalid(std::string message) {
  return error{errc::invalid_manifest, std::move(message)};
}

std::string describe(const manifest_entry& e, std::size_t i) {
  return "entry " + std::to_string(i) + (e.path.empty() ? "" : " (\"" + e.path + "\")");
}

void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}
void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<std::uint8_t>(v >> s));
}

// A bounds-checked reader: every read says whether the bytes were there.
class reader {
 public:
  explicit reader(byte_span b) : b_(b) {}
  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return b_.size() - pos_; }
  bool u8(std::uint8_t& v) {
    if (remaining() < 1) return false;
    v = b_[pos_++];
    return true;
  }
  template <typename T>
  bool big_endian(T& v) {
    if (remaining() < sizeof(T)) return false;
    v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v = static_cast<T>(v << 8 | b_[pos_++]);
    return true;
  }
  bool bytes(std::uint8_t* out, std::size_t n) {
    if (remaining() < n) return false;
    std::copy_n(b_.begin() + static_cast<std::ptrdiff_t>(pos_), n, out);
    pos_ += n;
    return true;
  }

 private:
  byte_span b_;
  std::size_t pos_ = 0;
};

}  // namespace

std::uint16_t mode_of(const manifest_entry& e) {
  return e.mode ? *e.mode : default_mode(e);
}

std::optional<std::uint32_t> resolve(const manifest& m, std::string_view path) {
  if (m.kind != root_kind::directory) return std::nullopt;
  std::vector<std::string> at;
  std::string why;
  if (path.empty() || !walk(m, at, path, 0, why) || at.empty()) return std::nullopt;
  return find_entry(m, joined(at));
}

result<void> validate(const manifest& m) {
  if (m.kind == root_kind::file) {
    if (m.entries.size() != 1)
      return invalid("a single-file manifest has exactly one entry, not " +
                     std::to_string(m.entries.size()));
    const auto& e = m.entries.front();
    if (e.type != entry_type::file)
      return invalid("the entry of a single-file manifest must be a file");
    if (!e.path.empty())
      return invalid("the entry of a single-file manifest must have an empty path");
  } else if (m.kind == root_kind::directory) {
    if (m.entries.size() > manifest_entries_max)
      return error{errc::limit_exceeded, "manifest has " + std::to_string(m.entries.size()) +
                                             " entries; the limit is " +
                                             std::to_string(manifest_entries_max)};
  } else {
    return invalid("unknown manifest kind " + std::to_string(static_cast<int>(m.kind)));
  }

  std::unordered_set<std::string_view> directories;
  const bool v2 = needs_version_2(m);
  std::uint64_t encoded_size = 4 + 2 + 4;  // magic, version and kind, entry count
  for (std::size_t i = 0; i < m.entries.size(); ++i) {
    const manifest_entry& e = m.entries[i];
    encoded_size += (v2 ? entry_fixed_size_2 : entry_fixed_size_1) + e.path.size() +
                    (e.type == entry_type::file ? file_fields_size : 0) +
                    (e.type == entry_type::symlink ? 2 + e.target.size() : 0);
    if (encoded_size > manifest_bytes_max)
      return error{errc::limit_exceeded, "the manifest would exceed the limit of 64 MiB at " +
                                             describe(e, i) +
                                             "; split the tree into several contents"};
    if (m.kind == root_kind::directory) {
      if (auto r = path_rules::check_relative(e.path); !r)
        return invalid(describe(e, i) + ": " + r.err().message);
      if (i > 0 && !(m.entries[i - 1].path < e.path))
        return invalid(describe(e, i) + (m.entries[i - 1].path == e.path
                                             ? ": duplicate path"
                                             : ": entries are not sorted by path bytes"));
      const std::string_view parent = path_rules::parent_of(e.path);
      if (!parent.empty() && !directories.contains(parent))
        return invalid(describe(e, i) + ": parent directory \"" + std::string(parent) +
                       "\" is not a directory entry of the manifest");
    }
    if (e.type != entry_type::symlink && !e.target.empty())
      return invalid(describe(e, i) + ": only a symbolic link has a target");
    if (e.mode) {
      if (e.type == entry_type::symlink)
        return invalid(describe(e, i) + ": a symbolic link has no mode");
      if ((*e.mode & ~permission_bits) != 0)
        return invalid(describe(e, i) + ": mode " + std::to_string(*e.mode) +
                       " has bits besides the permission bits (0777)");
      if (*e.mode == default_mode(e))
        return invalid(describe(e, i) +
                       ": an explicit mode equal to the default is not canonical (leave it out)");
      if (e.type == entry_type::file && e.executable != ((*e.mode & 0100) != 0))
        return invalid(describe(e, i) + ": the executable bit disagrees with the mode");
    }
    switch (e.type) {
      case entry_type::directory:
        if (e.executable || e.size != 0 || !e.root.is_zero())
          return invalid(describe(e, i) + ": a directory has no size, root or executable bit");
        directories.insert(e.path);
        break;
      case entry_type::symlink:
        if (m.kind != root_kind::directory)
          return invalid(describe(e, i) + ": a symbolic link is only inside a directory");
        if (e.executable || e.size != 0 || !e.root.is_zero())
          return invalid(describe(e, i) + ": a symbolic link has no size, root or executable bit");
        if (auto r = check_target(e.target); !r)
          return invalid(describe(e, i) + ": " + r.err().message);
        break;
      case entry_type::file:
        if (e.size > file_size_max)
          return error{errc::limit_exceeded, describe(e, i) + ": size " + std::to_string(e.size) +
                                                 " exceeds the limit of 2^50 bytes"};
        if ((e.size == 0) != e.root.is_zero())
          return invalid(describe(e, i) +
                         ": the root must be all zeros exactly when the file is empty");
        break;
      default:
        return invalid(describe(e, i) + ": unknown entry type " +
                       std::to_string(static_cast<int>(e.type)));
    }
  }
  // Every link resolves inside the tree, through the other links as the kernel would follow
  // them, so an export never writes or points outside its target.
  if (m.kind == root_kind::directory && v2) {  // sorted: checked above
    for (std::size_t i = 0; i < m.entries.size(); ++i) {
      const manifest_entry& e = m.entries[i];
      if (e.type != entry_type::symlink) continue;
      std::vector<std::string> at = components(path_rules::parent_of(e.path));
      std::string why;
      if (!walk(m, at, e.target, 1, why))
        return invalid(describe(e, i) + ": the link to \"" + e.target + "\" " + why);
    }
  }
  return {};
}

std::vector<std::uint8_t> encode(const manifest& m) {
  SHOAL_ASSERT(validate(m).ok());
  const bool v2 = needs_version_2(m);
  std::vector<std::uint8_t> out(std::begin(magic), std::end(magic));
  out.push_back(v2 ? version_2 : version_1);
  out.push_back(static_cast<std::uint8_t>(m.kind));
  put_u32(out, static_cast<std::uint32_t>(m.entries.size()));
  for (const manifest_entry& e : m.entries) {
    out.push_back(static_cast<std::uint8_t>(e.type));
    if (v2)
      put_u16(out, e.type == entry_type::symlink ? 0 : mode_of(e));
    else
      out.push_back(e.executable ? flag_executable : 0);
    put_u16(out, static_cast<std::uint16_t>(e.path.size()));
    out.insert(out.end(), e.path.begin(), e.path.end());
    if (e.type == entry_type::file) {
      put_u64(out, e.size);
      out.insert(out.end(), e.root.bytes.begin(), e.root.bytes.end());
    } else if (e.type == entry_type::symlink) {
      put_u16(out, static_cast<std::uint16_t>(e.target.size()));
      out.insert(out.end(), e.target.begin(), e.target.end());
    }
  }
  return out;
}

result<manifest> decode_manifest(byte_span bytes) {
  if (bytes.size() > manifest_bytes_max)
    return error{errc::limit_exceeded, "manifest of " + std::to_string(bytes.size()) +
                                           " bytes exceeds the limit of 64 MiB"};
  reader in(bytes);
  std::uint8_t got_magic[4];
  if (!in.bytes(got_magic, 4) || !std::equal(got_magic, got_magic + 4, magic))
    return invalid("not a Shoal manifest (bad magic at offset 0)");
  std::uint8_t version = 0, kind = 0;
  std::uint32_t count = 0;
  if (!in.u8(version) || !in.u8(kind) || !in.big_endian(count))
    return invalid("manifest truncated in its header");
  if (version != version_1 && version != version_2)
    return error{errc::unsupported, "manifest format version " + std::to_string(version) +
                                        " is not supported (this build reads versions 1 and 2)"};
  const bool v2 = version == version_2;
  const std::size_t entry_fixed_size = v2 ? entry_fixed_size_2 : entry_fixed_size_1;
  if (count > manifest_entries_max)
    return error{errc::limit_exceeded, "manifest declares " + std::to_string(count) +
                                           " entries; the limit is " +
                                           std::to_string(manifest_entries_max)};
  if (count > in.remaining() / entry_fixed_size)
    return invalid("manifest declares " + std::to_string(count) + " entries but has only " +
                   std::to_string(in.remaining()) + " bytes left");

  manifest m;
  m.kind = static_cast<root_kind>(kind);
  m.entries.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::size_t at = in.offset();
    const auto truncated = [&] {
      return invalid("entry " + std::to_string(i) + " truncated at offset " + std::to_string(at));
    };
    std::uint8_t type = 0, flags = 0;
    std::uint16_t mode = 0, path_len = 0;
    if (!in.u8(type) || !(v2 ? in.big_endian(mode) : in.u8(flags)) || !in.big_endian(path_len) ||
        in.remaining() < path_len)
      return truncated();
    manifest_entry e;
    e.type = static_cast<entry_type>(type);
    e.path.resize(path_len);
    (void)in.bytes(reinterpret_cast<std::uint8_t*>(e.path.data()), path_len);
    if (e.type != entry_type::file && e.type != entry_type::directory &&
        !(v2 && e.type == entry_type::symlink))
      return invalid("entry " + std::to_string(i) + " at offset " + std::to_string(at) +
                     " has unknown type " + std::to_string(type));
    if (v2) {
      if ((mode & ~permission_bits) != 0 || (e.type == entry_type::symlink && mode != 0))
        return invalid("entry " + std::to_string(i) + " at offset " + std::to_string(at) +
                       " has mode " + std::to_string(mode) + ", not permission bits" +
                       (e.type == entry_type::symlink ? " (a link's is 0)" : ""));
      if (e.type == entry_type::file) e.executable = (mode & 0100) != 0;
      if (e.type != entry_type::symlink && mode != default_mode(e)) e.mode = mode;
    } else {
      if ((flags & ~flag_executable) != 0 || (e.type == entry_type::directory && flags != 0))
        return invalid("entry " + std::to_string(i) + " at offset " + std::to_string(at) +
                       " has undefined flags " + std::to_string(flags));
      e.executable = (flags & flag_executable) != 0;
    }
    if (e.type == entry_type::file) {
      if (in.remaining() < file_fields_size || !in.big_endian(e.size) ||
          !in.bytes(e.root.bytes.data(), 32))
        return truncated();
    } else if (e.type == entry_type::symlink) {
      std::uint16_t target_len = 0;
      if (!in.big_endian(target_len) || in.remaining() < target_len) return truncated();
      e.target.resize(target_len);
      (void)in.bytes(reinterpret_cast<std::uint8_t*>(e.target.data()), target_len);
    }
    m.entries.push_back(std::move(e));
  }
  if (in.remaining() != 0)
    return invalid(std::to_string(in.remaining()) +
                   " trailing bytes after the last entry at offset " + std::to_string(in.offset()));
  if (v2 && !needs_version_2(m))
    return invalid(
        "a version-2 manifest without links or explicit modes is not canonical: version 1 "
        "expresses it");
  if (auto r = validate(m); !r) return std::move(r).err();
  return m;
}

content_layout::content_layout(const manifest& m) {
  for (std::uint32_t i = 0; i < m.entries.size(); ++i) {
    const manifest_entry& e = m.entries[i];
    if (e.type != entry_type::file) continue;
    file_layout f{i, e.size, total_size_, piece_count_, merkle::piece_count(e.size)};
    total_size_ += f.size;
    piece_count_ += f.piece_count;
    files_.push_back(f);
  }
}

piece_location content_layout::locate(piece_index p) const {
  SHOAL_ASSERT(p.value < piece_count_);
  // The last file whose first_piece <= p. An empty file shares first_piece with the file after
  // it, so upper_bound never stops on one while p is in range.
  auto it =
      std::upper_bound(files_.begin(), files_.end(), p.value,
                       [](std::uint64_t v, const file_layout& f) { return v < f.first_piece; });
  SHOAL_ASSERT(it != files_.begin());
  --it;
  const std::uint64_t k = p.value - it->first_piece;
  SHOAL_ASSERT(k < it->piece_count);
  const std::uint64_t offset = k * merkle::piece_size;
  return {static_cast<std::uint32_t>(it - files_.begin()), offset,
          std::min(merkle::piece_size, it->size - offset)};
}

}  // namespace shoal
