// Reads and writes of bulk data that bypass the page cache (O_DIRECT) where they can, and fall
// back to ordinary ones where they cannot.
//
// Why: on the machines we measure, writing fresh pages through the page cache costs about
// 3 s of kernel time per GiB (copying into newly allocated page-cache pages), while a direct
// write of the same bytes runs at the disk's speed (0.8 s per GiB; bench/RESULTS.md). A fetch
// writes each byte once into the store and an export once more into its target, so this is
// most of the time a fetch spends outside the network. The bytes written are not cached,
// which also keeps one fetched GiB from evicting a GiB of other cached data. Reading a file that
// is not cached costs the same page allocation (an export right after a fetch: 4.6 s per GiB
// with ordinary reads), so an export reads its source directly too.
//
// Direct I/O needs the buffer, the file offset and the length aligned to the device's logical
// block size; 4096 covers the usual 512 and 4096. A write that is not aligned, or a file
// system that refuses O_DIRECT (tmpfs), goes through the ordinary descriptor instead.
//
// Thread safety: one object per thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>

#include "core/aligned_buffer.hpp"
#include "shoal/error.hpp"
#include "shoal/types.hpp"
#include "store/file_io.hpp"

namespace shoal::store {

inline constexpr std::size_t direct_alignment = io_alignment;

// An aligned heap buffer that grows on demand.
class aligned_buffer {
 public:
  // At least `size` bytes, aligned to direct_alignment; nullptr when memory runs out.
  std::uint8_t* get(std::size_t size);

 private:
  std::unique_ptr<std::uint8_t, void (*)(void*)> buf_{nullptr, nullptr};
  std::size_t capacity_ = 0;
};

class direct_reader {
 public:
  // As direct_writer, for reading.
  direct_reader(int buffered, const fs::path& path);
  // Fills `out` from `offset`; a file that ends first is an io_error.
  result<void> read(std::span<std::uint8_t> out, std::uint64_t offset);

 private:
  int buffered_;
  fs::path path_;
  unique_fd direct_;
  aligned_buffer buf_;
};

class direct_writer {
 public:
  // `buffered` stays owned by the caller and must outlive this object. The file is opened a
  // second time with O_DIRECT; if that fails, every write is an ordinary one.
  direct_writer(int buffered, const fs::path& path);

  // Writes `data` at `offset`. With `may_pad`, an aligned offset with an unaligned length is
  // still written directly, padded with zeros up to the alignment: only for the last bytes of
  // a file, which the caller then cuts back to size with ftruncate.
  result<void> write(byte_span data, std::uint64_t offset, bool may_pad = false);

  bool direct() const { return direct_.valid(); }

 private:
  int buffered_;
  fs::path path_;
  unique_fd direct_;
  aligned_buffer buf_;
};

}  // namespace shoal::store
