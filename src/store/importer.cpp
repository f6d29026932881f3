#include "store/importer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "core/merkle.hpp"
#include "core/path_rules.hpp"
#include "store/file_io.hpp"

namespace shoal::store {
namespace {

// Large enough to amortise system calls, small enough to stay in cache; a whole number of pieces.
constexpr std::size_t chunk_bytes = 16 * merkle::piece_size;

std::string quoted(const fs::path& p) {
  return "\"" + p.string() + "\"";
}

// Modes the manifest keeps: the permission bits, when they are not the default (manifest.hpp).
// Setuid, setgid and sticky bits are dropped: a fetched file must not gain privileges.
void set_mode(manifest_entry& e, mode_t st_mode) {
  const auto perms = static_cast<std::uint16_t>(st_mode & permission_bits);
  if (e.type == entry_type::file) e.executable = (st_mode & S_IXUSR) != 0;
  e.mode = perms;
  if (perms == mode_of(manifest_entry{e.type, e.executable, {}, 0, {}, std::nullopt, {}}))
    e.mode.reset();
}

result<void> scan_directory(const fs::path& dir, const std::string& prefix, scanned_tree& out,
                            std::size_t depth) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return system_error(ec.value(), "cannot read directory " + quoted(dir));
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return system_error(ec.value(), "cannot read directory " + quoted(dir));
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (auto r = path_rules::check_component(name); !r)
      return error{errc::invalid_path, "cannot add " + quoted(p) + ": " + r.err().message};
    // Entries of this directory have `depth` path components.
    if (depth > path_rules::depth_max)
      return error{errc::limit_exceeded, "cannot add " + quoted(p) + ": deeper than " +
                                             std::to_string(path_rules::depth_max) + " levels"};
    const std::string rel = prefix.empty() ? name : prefix + "/" + name;
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) return system_error(errno, "cannot stat " + quoted(p));
    scanned_entry e;
    e.entry.path = rel;
    e.source = p;
    if (S_ISDIR(st.st_mode)) {
      e.entry.type = entry_type::directory;
      set_mode(e.entry, st.st_mode);
      out.entries.push_back(std::move(e));
      SHOAL_TRY(scan_directory(p, rel, out, depth + 1));
    } else if (S_ISREG(st.st_mode)) {
      e.entry.type = entry_type::file;
      e.entry.size = static_cast<std::uint64_t>(st.st_size);
      set_mode(e.entry, st.st_mode);
      out.total_size += e.entry.size;
      out.entries.push_back(std::move(e));
    } else if (S_ISLNK(st.st_mode)) {
      // Stored as a link, never followed: its text is kept, and the manifest's rules (checked
      // before any byte is copied) refuse one that leads out of the tree.
      std::string target(path_rules::path_bytes_max + 1, '\0');
      const ssize_t n = ::readlink(p.c_str(), target.data(), target.size());
      if (n < 0) return system_error(errno, "cannot read the link " + quoted(p));
      target.resize(static_cast<std::size_t>(n));
      e.entry.type = entry_type::symlink;
      e.entry.target = std::move(target);
      out.entries.push_back(std::move(e));
    } else {
      return error{errc::unsupported,
                   "cannot add " + quoted(p) + ": only regular files and directories can be added"};
    }
    if (out.entries.size() > manifest_entries_max)
      return error{errc::limit_exceeded,
                   "cannot add: more than " + std::to_string(manifest_entries_max) + " entries"};
  }
  return {};
}

// Reads until `out` is full or the file ends; returns the bytes read.
result<std::size_t> read_up_to(int fd, std::span<std::uint8_t> out, const fs::path& name) {
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return system_error(errno, "cannot read " + quoted(name));
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return done;
}

}  // namespace

result<scanned_tree> scan_source(const fs::path& given) {
  struct stat st {};
  if (::stat(given.c_str(), &st) != 0) return system_error(errno, "cannot add " + quoted(given));
  scanned_tree tree;
  fs::path normal = fs::absolute(given).lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();
  tree.name = normal.filename().string();
  if (tree.name.empty()) tree.name = "root";
  // The path the user named may itself be a symbolic link (to a file or a directory): follow
  // it once here. Links inside the tree are refused by scan_directory.
  std::error_code ec;
  const fs::path source = fs::canonical(given, ec);
  if (ec) return system_error(ec.value(), "cannot add " + quoted(given));
  if (S_ISREG(st.st_mode)) {
    tree.kind = root_kind::file;
    scanned_entry e;
    e.entry.type = entry_type::file;
    e.entry.size = static_cast<std::uint64_t>(st.st_size);
    set_mode(e.entry, st.st_mode);
    e.source = source;
    tree.total_size = e.entry.size;
    tree.entries.push_back(std::move(e));
  } else if (S_ISDIR(st.st_mode)) {
    tree.kind = root_kind::directory;
    SHOAL_TRY(scan_directory(source, "", tree, 1));
    std::sort(
        tree.entries.begin(), tree.entries.end(),
        [](const scanned_entry& a, const scanned_entry& b) { return a.entry.path < b.entry.path; });
    // The tree's shape (paths, links) is checked now, before any byte is read: its files as
    // empty ones, since their roots are not known yet.
    manifest shape{root_kind::directory, {}};
    for (const auto& se : tree.entries) {
      manifest_entry e = se.entry;
      e.size = 0;
      shape.entries.push_back(std::move(e));
    }
    if (auto r = validate(shape); !r)
      return error{r.err().code, "cannot add " + quoted(given) + ": " + r.err().message};
  } else {
    return error{errc::unsupported, "cannot add " + quoted(source) +
                                        ": only regular files and directories can be added"};
  }
  return tree;
}

result<imported_tree> import_tree(const scanned_tree& tree, const fs::path& data_file,
                                  const progress_fn& progress, const std::atomic<bool>* stop) {
  auto out = open_file(data_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (!out) return std::move(out).err();
  SHOAL_TRY(reserve_space(out->get(), tree.total_size, data_file));

  imported_tree result_tree;
  result_tree.name = tree.name;
  result_tree.m.kind = tree.kind;
  crypto::sha256_hasher hasher;
  std::vector<std::uint8_t> buffer(chunk_bytes);
  std::uint64_t data_offset = 0;

  for (const scanned_entry& se : tree.entries) {
    manifest_entry entry = se.entry;
    if (entry.type == entry_type::file) {
      auto in = open_file(se.source, O_RDONLY | O_NOFOLLOW);
      if (!in) return std::move(in).err();
      ::posix_fadvise(in->get(), 0, 0, POSIX_FADV_SEQUENTIAL);
      struct stat before {};
      if (::fstat(in->get(), &before) != 0)
        return system_error(errno, "cannot stat " + quoted(se.source));
      const auto changed = [&] {
        return error{errc::source_changed, "cannot add " + quoted(se.source) +
                                               ": the file changed while it was being read"};
      };
      if (static_cast<std::uint64_t>(before.st_size) != entry.size) return changed();

      std::vector<hash256> pieces;
      pieces.reserve(merkle::piece_count(entry.size));
      std::uint64_t pos = 0;
      while (pos < entry.size) {
        const auto want =
            static_cast<std::size_t>(std::min<std::uint64_t>(chunk_bytes, entry.size - pos));
        auto got = read_up_to(in->get(), std::span(buffer.data(), want), se.source);
        if (!got) return std::move(got).err();
        if (*got < want) return changed();  // shorter than when scanned
        for (std::size_t off = 0; off < want; off += merkle::piece_size) {
          const std::size_t len = std::min<std::size_t>(merkle::piece_size, want - off);
          pieces.push_back(merkle::piece_hash(hasher, byte_span(buffer.data() + off, len)));
        }
        SHOAL_TRY(
            pwrite_all(out->get(), byte_span(buffer.data(), want), data_offset + pos, data_file));
        pos += want;
        if (progress) progress(data_offset + pos, tree.total_size);
        if (stop && stop->load(std::memory_order_relaxed))
          return error{errc::cancelled, "the add of \"" + tree.name + "\" was cancelled"};
      }
      char probe;
      struct stat after {};
      if (::read(in->get(), &probe, 1) != 0 || ::fstat(in->get(), &after) != 0 ||
          after.st_size != before.st_size || after.st_mtim.tv_sec != before.st_mtim.tv_sec ||
          after.st_mtim.tv_nsec != before.st_mtim.tv_nsec)
        return changed();
      entry.root = merkle::root_from_pieces(hasher, pieces, entry.size);
      result_tree.piece_hashes.insert(result_tree.piece_hashes.end(), pieces.begin(), pieces.end());
      data_offset += entry.size;
    }
    result_tree.m.entries.push_back(std::move(entry));
  }
  if (auto r = validate(result_tree.m); !r)
    return error{r.err().code, "cannot add \"" + tree.name + "\": " + r.err().message};
  if (progress) progress(tree.total_size, tree.total_size);
  return result_tree;
}

}  // namespace shoal::store
