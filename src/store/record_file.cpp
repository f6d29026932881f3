#include "store/record_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>

#include "core/merkle.hpp"
#include "crypto/sha256.hpp"
#include "store/file_io.hpp"

namespace shoal::store {
namespace {

constexpr std::array<std::uint8_t, 8> magic = {'S', 'H', 'O', 'A', 'L', 'R', 'E', 'C'};
constexpr std::uint32_t flag_pinned = 1;
// magic, version, flags, added_at, name length, manifest length, piece count.
constexpr std::size_t header_size = 8 + 4 + 4 + 8 + 4 + 4 + 8;

void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
std::uint64_t get_le(byte_span b, std::size_t at, int n) {
  std::uint64_t v = 0;
  for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[at + static_cast<std::size_t>(i)];
  return v;
}

error corrupt(const content_id& id, const std::string& what) {
  return error{errc::store_corrupt, "record file of " + id.str() + " " + what};
}

}  // namespace

content_record_file record_file_of(const content_record& r) {
  content_record_file f;
  f.id = r.summary.id;
  f.name = r.summary.name.substr(0, record_name_bytes_max);
  f.manifest_bytes = r.manifest_bytes;
  f.piece_hashes = r.piece_hashes;
  f.pinned = r.summary.pinned;
  f.added_at = r.summary.added_at;
  return f;
}

std::vector<std::uint8_t> encode_record(const content_record_file& r) {
  SHOAL_ASSERT(r.name.size() <= record_name_bytes_max);
  SHOAL_ASSERT(r.manifest_bytes.size() <= manifest_bytes_max);
  std::vector<std::uint8_t> out(magic.begin(), magic.end());
  put_u32(out, record_file_version);
  put_u32(out, r.pinned ? flag_pinned : 0);
  put_u64(out, static_cast<std::uint64_t>(r.added_at));
  put_u32(out, static_cast<std::uint32_t>(r.name.size()));
  put_u32(out, static_cast<std::uint32_t>(r.manifest_bytes.size()));
  put_u64(out, r.piece_hashes.size());
  out.insert(out.end(), r.name.begin(), r.name.end());
  out.insert(out.end(), r.manifest_bytes.begin(), r.manifest_bytes.end());
  for (const hash256& h : r.piece_hashes) out.insert(out.end(), h.bytes.begin(), h.bytes.end());
  const hash256 sum = crypto::sha256(out);
  out.insert(out.end(), sum.bytes.begin(), sum.bytes.end());
  return out;
}

result<content_record_file> decode_record(const content_id& id, byte_span b) {
  if (b.size() < header_size + hash256::size)
    return corrupt(id, "is " + std::to_string(b.size()) + " bytes, shorter than any record");
  if (std::memcmp(b.data(), magic.data(), magic.size()) != 0)
    return corrupt(id, "does not start with SHOALREC");
  const auto version = get_le(b, 8, 4);
  if (version != record_file_version)
    return error{errc::unsupported, "record file of " + id.str() + " has version " +
                                        std::to_string(version) + "; this build reads " +
                                        std::to_string(record_file_version)};
  const auto flags = get_le(b, 12, 4);
  const auto name_size = get_le(b, 24, 4);
  const auto manifest_size = get_le(b, 28, 4);
  const auto piece_count = get_le(b, 32, 8);
  // Each length is bounded before any sum, so the arithmetic cannot wrap.
  if (name_size > record_name_bytes_max || manifest_size > manifest_bytes_max ||
      piece_count > b.size() / hash256::size)
    return corrupt(id, "declares sizes larger than the file");
  const std::uint64_t expected =
      header_size + name_size + manifest_size + piece_count * hash256::size + hash256::size;
  if (b.size() != expected)
    return corrupt(id, "is " + std::to_string(b.size()) + " bytes; its header declares " +
                           std::to_string(expected));
  hash256 sum;
  std::memcpy(sum.bytes.data(), b.data() + b.size() - hash256::size, hash256::size);
  if (crypto::sha256(b.first(b.size() - hash256::size)) != sum)
    return corrupt(id, "fails its checksum (damaged)");

  content_record_file r;
  r.id = id;
  r.pinned = (flags & flag_pinned) != 0;
  r.added_at = static_cast<std::int64_t>(get_le(b, 16, 8));
  std::size_t at = header_size;
  r.name.assign(reinterpret_cast<const char*>(b.data() + at), name_size);
  at += name_size;
  r.manifest_bytes.assign(b.data() + at, b.data() + at + manifest_size);
  at += manifest_size;
  r.piece_hashes.resize(piece_count);
  for (auto& h : r.piece_hashes) {
    std::memcpy(h.bytes.data(), b.data() + at, hash256::size);
    at += hash256::size;
  }

  if (content_id::of_manifest(r.manifest_bytes) != id)
    return corrupt(id, "holds the manifest of another content");
  auto m = decode_manifest(r.manifest_bytes);
  if (!m) return corrupt(id, "holds a manifest that does not decode: " + m.err().message);
  const content_layout layout(*m);
  if (layout.piece_count() != piece_count)
    return corrupt(id, "holds " + std::to_string(piece_count) + " piece hashes for " +
                           std::to_string(layout.piece_count()) + " pieces");
  crypto::sha256_hasher hasher;
  for (const file_layout& f : layout.files()) {
    const std::span<const hash256> slice(r.piece_hashes.data() + f.first_piece, f.piece_count);
    if (merkle::root_from_pieces(hasher, slice, f.size) != m->entries[f.entry].root)
      return corrupt(id, "holds piece hashes that do not match the Merkle root of \"" +
                             m->entries[f.entry].path + "\"");
  }
  return r;
}

result<void> write_record_file(const fs::path& meta_dir, const content_record_file& r) {
  const auto bytes = encode_record(r);
  const fs::path final_path = meta_dir / r.id.str();
  const fs::path tmp = meta_dir / (".tmp-" + r.id.str() + "-" + random_token());
  {
    auto fd = open_file(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (!fd) return std::move(fd).err();
    auto w = pwrite_all(fd->get(), bytes, 0, tmp);
    if (w) w = sync_file(fd->get(), tmp);
    if (!w) {
      (void)remove_tree(tmp);
      return w;
    }
  }
  if (auto mv = rename_path(tmp, final_path); !mv) {
    (void)remove_tree(tmp);
    return mv;
  }
  return sync_directory(meta_dir);
}

result<content_record_file> read_record_file(const fs::path& meta_dir, const content_id& id) {
  const fs::path p = meta_dir / id.str();
  auto fd = open_file(p, O_RDONLY);
  if (!fd) {
    if (fd.err().code == errc::not_found)
      return error{errc::not_found, "no record file \"" + p.string() + "\""};
    return std::move(fd).err();
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0)
    return system_error(errno, "cannot stat \"" + p.string() + "\"");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  // Bounded before anything is allocated: the manifest limit plus one hash per piece of a
  // content of up to 4 TiB (2^24 pieces, 512 MiB of hashes).
  constexpr std::uint64_t record_bytes_max =
      header_size + record_name_bytes_max + manifest_bytes_max +
      (std::uint64_t{1} << 24) * hash256::size + hash256::size;
  if (size > record_bytes_max)
    return corrupt(id, "is " + std::to_string(size) + " bytes, more than any record");
  std::vector<std::uint8_t> bytes(size);
  SHOAL_TRY(pread_exact(fd->get(), bytes, 0, p));
  return decode_record(id, bytes);
}

}  // namespace shoal::store
