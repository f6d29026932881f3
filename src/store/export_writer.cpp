#include "store/export_writer.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "core/merkle.hpp"
#include "core/path_rules.hpp"

namespace shoal::store {
namespace {

constexpr std::size_t max_open_files = 32;

std::string quoted(const fs::path& p) {
  return "\"" + p.string() + "\"";
}

// Removes "<prefix><pid>-<token>" entries in `dir` whose process no longer exists.
void sweep_dead_exports(const fs::path& dir, const std::string& prefix) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string rest = name.substr(prefix.size());
    const auto dash = rest.find('-');
    if (dash == std::string::npos || dash == 0) continue;
    const long pid = std::strtol(rest.substr(0, dash).c_str(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      (void)remove_tree(it->path());
  }
}

}  // namespace

result<std::unique_ptr<export_writer>> export_writer::begin(const content_id& id, const manifest& m,
                                                            const fs::path& out,
                                                            const std::string& name) {
  fs::path target = out;
  std::error_code ec;
  if (fs::is_directory(out, ec)) {
    // A file goes inside an existing directory, as cp does. A tree goes inside only when asked
    // with a trailing slash: else exporting the same tree twice to the same path would put the
    // second copy inside the first (issue 22, item 5).
    if (m.kind == root_kind::directory && !out.filename().empty())
      return error{errc::already_exists,
                   "cannot export the tree to " + quoted(out) +
                       ": it already exists. To put it inside, as " +
                       quoted(out / (path_rules::check_component(name).ok() ? name : id.str())) +
                       ", end the path with a slash (" + out.string() +
                       "/); to replace it, remove it first"};
    target = out / (path_rules::check_component(name).ok() ? name : id.str());
  }
  if (fs::exists(fs::symlink_status(target, ec)))
    return error{errc::already_exists,
                 "cannot export to " + quoted(target) + ": it already exists"};
  fs::path parent = target.parent_path();
  if (parent.empty()) parent = ".";
  if (!fs::is_directory(parent, ec))
    return error{errc::not_found, "cannot export to " + quoted(target) + ": directory " +
                                      quoted(parent) + " does not exist"};
  // The temporary name carries our pid, so leftovers of a killed export can be told apart from
  // one still running and removed.
  const std::string prefix = "." + target.filename().string() + ".shoal-";
  sweep_dead_exports(parent, prefix);
  const fs::path tmp = parent / (prefix + std::to_string(::getpid()) + "-" + random_token());
  std::unique_ptr<export_writer> w(new export_writer(m, target, tmp, parent));
  SHOAL_TRY(w->create_tree());
  return w;
}

export_writer::export_writer(manifest m, fs::path target, fs::path tmp, fs::path parent)
    : m_(std::move(m)),
      layout_(m_),
      target_(std::move(target)),
      tmp_(std::move(tmp)),
      parent_(std::move(parent)),
      written_(layout_.piece_count()) {}

export_writer::~export_writer() {
  open_.clear();
  if (!finished_) (void)remove_tree(tmp_);
}

fs::path export_writer::path_of(std::size_t file) const {
  if (m_.kind == root_kind::file) return tmp_;
  return tmp_ / m_.entries[layout_.files()[file].entry].path;
}

result<void> export_writer::create_tree() {
  if (m_.kind == root_kind::directory) {
    if (::mkdir(tmp_.c_str(), 0777) != 0)
      return system_error(errno, "cannot create " + quoted(tmp_));
    dirs_.push_back(tmp_);
  }
  for (const manifest_entry& e : m_.entries) {
    const fs::path dest = m_.kind == root_kind::file ? tmp_ : tmp_ / e.path;
    if (e.type == entry_type::directory) {
      if (::mkdir(dest.c_str(), 0700) != 0)
        return system_error(errno, "cannot create " + quoted(dest));
      dirs_.push_back(dest);
      dir_modes_.push_back(mode_of(e));
      continue;
    }
    if (e.type == entry_type::symlink) {
      // The manifest's rules keep the link inside the tree (content.md 6.3).
      if (::symlink(e.target.c_str(), dest.c_str()) != 0)
        return system_error(errno, "cannot create the link " + quoted(dest));
      continue;
    }
    // Owner-only while it is written; the manifest's mode is set when it is complete.
    auto fd = open_file(dest, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (!fd) return std::move(fd).err();
  }
  return {};
}

result<export_writer::open_file_entry*> export_writer::open(std::size_t file) {
  for (auto it = open_.begin(); it != open_.end(); ++it) {
    if (it->file != file) continue;
    open_.splice(open_.begin(), open_, it);
    return &open_.front();
  }
  if (open_.size() >= max_open_files) open_.pop_back();
  const fs::path p = path_of(file);
  auto fd = open_file(p, O_WRONLY);
  if (!fd) return std::move(fd).err();
  open_file_entry e{file, std::move(*fd), nullptr};
  e.writer = std::make_unique<direct_writer>(e.fd.get(), p);
  open_.push_front(std::move(e));
  return &open_.front();
}

result<void> export_writer::write_piece(piece_index p, byte_span data) {
  SHOAL_ASSERT(p.value < layout_.piece_count());
  if (written_.contains(p)) return {};
  const piece_location loc = layout_.locate(p);
  SHOAL_ASSERT(data.size() == loc.length);
  auto f = open(loc.file);
  if (!f) return std::move(f).err();
  // A file's last piece may be padded to the alignment; finish() cuts the file back to size.
  const bool last = loc.offset_in_file + loc.length == layout_.files()[loc.file].size;
  SHOAL_TRY((*f)->writer->write(data, loc.offset_in_file, last));
  written_.insert(p);
  bytes_ += data.size();
  return {};
}

result<export_result> export_writer::finish(const fs::path& data_file,
                                            std::span<const hash256> piece_hashes) {
  SHOAL_ASSERT(piece_hashes.size() == layout_.piece_count());
  if (!written_.complete()) {
    auto data = open_file(data_file, O_RDONLY);
    if (!data) return std::move(data).err();
    direct_reader source(data->get(), data_file);
    crypto::sha256_hasher hasher;
    std::vector<std::uint8_t> buf;
    for (std::uint64_t i = 0; i < layout_.piece_count(); ++i) {
      const piece_index p{i};
      if (written_.contains(p)) continue;
      const piece_location loc = layout_.locate(p);
      buf.resize(loc.length);
      SHOAL_TRY(source.read(buf, layout_.files()[loc.file].data_offset + loc.offset_in_file));
      if (merkle::piece_hash(hasher, buf) != piece_hashes[i])
        return error{errc::hash_mismatch, "piece " + std::to_string(i) + " in " +
                                              quoted(data_file) +
                                              " failed verification; run `shoal verify` and "
                                              "fetch the content again"};
      SHOAL_TRY(write_piece(p, buf));
    }
  }
  open_.clear();
  for (std::size_t i = 0; i < layout_.files().size(); ++i) {
    const fs::path p = path_of(i);
    auto fd = open_file(p, O_WRONLY);
    if (!fd) return std::move(fd).err();
    if (::ftruncate(fd->get(), static_cast<off_t>(layout_.files()[i].size)) != 0)
      return system_error(errno, "cannot set the size of " + quoted(p));
    // The exact mode, not masked by the umask: it is part of the content.
    if (::fchmod(fd->get(), mode_of(m_.entries[layout_.files()[i].entry])) != 0)
      return system_error(errno, "cannot set the mode of " + quoted(p));
    SHOAL_TRY(sync_file(fd->get(), p));
  }
  // Directory entries are flushed too, so that after a crash the renamed tree is whole.
  for (const fs::path& d : dirs_) SHOAL_TRY(sync_directory(d));
  // Then the directories' modes, children before parents, so that a read-only directory is
  // made so only once everything inside it is written. (dirs_[0] is the top, which keeps the
  // mode it was created with: a content has no mode for its top directory.)
  for (std::size_t k = dir_modes_.size(); k-- > 0;)
    if (::chmod(dirs_[dirs_.size() - dir_modes_.size() + k].c_str(), dir_modes_[k]) != 0)
      return system_error(
          errno, "cannot set the mode of " + quoted(dirs_[dirs_.size() - dir_modes_.size() + k]));
  // RENAME_NOREPLACE: a target created meanwhile is not silently replaced.
  if (::renameat2(AT_FDCWD, tmp_.c_str(), AT_FDCWD, target_.c_str(), RENAME_NOREPLACE) != 0)
    return system_error(errno, "cannot move the export into place at " + quoted(target_));
  finished_ = true;
  SHOAL_TRY(sync_directory(parent_));
  return export_result{target_, bytes_};
}

}  // namespace shoal::store
