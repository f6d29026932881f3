#include "shoal/manifest.hpp"

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include "core/merkle.hpp"
#include "core/path_rules.hpp"

namespace shoal {
namespace {

constexpr std::uint8_t magic[4] = {'S', 'H', 'M', 'F'};
constexpr std::uint8_t format_version = 1;
constexpr std::uint8_t flag_executable = 0x01;
constexpr std::size_t entry_fixed_size = 4;  // type, flags, path length
constexpr std::size_t file_fields_size = 8 + 32;

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
  std::uint64_t encoded_size = 4 + 2 + 4;  // magic, version and kind, entry count
  for (std::size_t i = 0; i < m.entries.size(); ++i) {
    const manifest_entry& e = m.entries[i];
    encoded_size +=
        entry_fixed_size + e.path.size() + (e.type == entry_type::file ? file_fields_size : 0);
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
    switch (e.type) {
      case entry_type::directory:
        if (e.executable || e.size != 0 || !e.root.is_zero())
          return invalid(describe(e, i) + ": a directory has no size, root or executable bit");
        directories.insert(e.path);
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
  return {};
}

std::vector<std::uint8_t> encode(const manifest& m) {
  SHOAL_ASSERT(validate(m).ok());
  std::vector<std::uint8_t> out(std::begin(magic), std::end(magic));
  out.push_back(format_version);
  out.push_back(static_cast<std::uint8_t>(m.kind));
  put_u32(out, static_cast<std::uint32_t>(m.entries.size()));
  for (const manifest_entry& e : m.entries) {
    out.push_back(static_cast<std::uint8_t>(e.type));
    out.push_back(e.executable ? flag_executable : 0);
    put_u16(out, static_cast<std::uint16_t>(e.path.size()));
    out.insert(out.end(), e.path.begin(), e.path.end());
    if (e.type == entry_type::file) {
      put_u64(out, e.size);
      out.insert(out.end(), e.root.bytes.begin(), e.root.bytes.end());
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
  if (version != format_version)
    return error{errc::unsupported, "manifest format version " + std::to_string(version) +
                                        " is not supported (this build reads version 1)"};
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
    std::uint8_t type = 0, flags = 0;
    std::uint16_t path_len = 0;
    if (!in.u8(type) || !in.u8(flags) || !in.big_endian(path_len) || in.remaining() < path_len)
      return invalid("entry " + std::to_string(i) + " truncated at offset " + std::to_string(at));
    manifest_entry e;
    e.type = static_cast<entry_type>(type);
    e.path.resize(path_len);
    (void)in.bytes(reinterpret_cast<std::uint8_t*>(e.path.data()), path_len);
    if (e.type != entry_type::file && e.type != entry_type::directory)
      return invalid("entry " + std::to_string(i) + " at offset " + std::to_string(at) +
                     " has unknown type " + std::to_string(type));
    if ((flags & ~flag_executable) != 0 || (e.type == entry_type::directory && flags != 0))
      return invalid("entry " + std::to_string(i) + " at offset " + std::to_string(at) +
                     " has undefined flags " + std::to_string(flags));
    e.executable = (flags & flag_executable) != 0;
    if (e.type == entry_type::file) {
      if (in.remaining() < file_fields_size || !in.big_endian(e.size) ||
          !in.bytes(e.root.bytes.data(), 32))
        return invalid("entry " + std::to_string(i) + " truncated at offset " + std::to_string(at));
    }
    m.entries.push_back(std::move(e));
  }
  if (in.remaining() != 0)
    return invalid(std::to_string(in.remaining()) +
                   " trailing bytes after the last entry at offset " + std::to_string(in.offset()));
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
