// A content held in memory, with a server that answers wire requests for it the way a daemon
// does: for state-machine tests that must not touch the store or sockets.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/merkle.hpp"
#include "core/wire.hpp"
#include "shoal/manifest.hpp"

namespace shoal::testing {

struct memory_content {
  manifest m;
  std::vector<std::uint8_t> manifest_bytes;
  content_id id;
  std::vector<std::vector<std::uint8_t>> pieces;  // global piece order
  std::vector<hash256> piece_hashes;

  // files: path -> bytes; a single entry with an empty path is a single-file content.
  static memory_content make(const std::map<std::string, std::vector<std::uint8_t>>& files) {
    crypto::sha256_hasher h;
    memory_content c;
    c.m.kind =
        files.size() == 1 && files.begin()->first.empty() ? root_kind::file : root_kind::directory;
    std::set<std::string> dirs;  // every parent directory, as the manifest requires
    for (const auto& [path, bytes] : files)
      for (auto slash = path.find('/'); slash != std::string::npos;
           slash = path.find('/', slash + 1))
        dirs.insert(path.substr(0, slash));
    std::map<std::string, const std::vector<std::uint8_t>*> entries;
    for (const auto& d : dirs) entries[d] = nullptr;
    for (const auto& [path, bytes] : files) entries[path] = &bytes;
    for (const auto& [path, data] : entries) {
      manifest_entry e;
      e.path = path;
      if (!data) {
        e.type = entry_type::directory;
        c.m.entries.push_back(e);
        continue;
      }
      const auto& bytes = *data;
      e.size = bytes.size();
      std::vector<hash256> file_pieces;
      for (std::size_t off = 0; off < bytes.size(); off += merkle::piece_size) {
        const std::size_t len = std::min<std::size_t>(merkle::piece_size, bytes.size() - off);
        c.pieces.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(off),
                              bytes.begin() + static_cast<std::ptrdiff_t>(off + len));
        file_pieces.push_back(merkle::piece_hash(h, c.pieces.back()));
      }
      e.root = merkle::root_from_pieces(h, file_pieces, bytes.size());
      c.piece_hashes.insert(c.piece_hashes.end(), file_pieces.begin(), file_pieces.end());
      c.m.entries.push_back(e);
    }
    c.manifest_bytes = encode(c.m);
    c.id = content_id::of_manifest(c.manifest_bytes);
    return c;
  }

  wire::block block(const wire::block_ref& ref) const {
    crypto::sha256_hasher h;
    const auto& piece = pieces[ref.piece.value];
    const auto leaves = merkle::piece_leaf_hashes(h, piece);
    wire::block b;
    b.ref = ref;
    const auto proof = merkle::piece_proof(h, leaves, ref.block);
    std::copy(proof.begin(), proof.end(), b.proof.begin());
    const std::size_t off = ref.block * merkle::block_size;
    const std::size_t len = std::min<std::size_t>(merkle::block_size, piece.size() - off);
    b.data.assign(piece.begin() + static_cast<std::ptrdiff_t>(off),
                  piece.begin() + static_cast<std::ptrdiff_t>(off + len));
    return b;
  }

  // The answers an honest holder of every piece gives to one request.
  std::vector<wire::message> answer(const wire::message& req, std::size_t chunk = 64) const {
    std::vector<wire::message> out;
    if (auto* g = std::get_if<wire::get_manifest>(&req)) {
      const std::size_t len = std::min<std::size_t>(chunk, manifest_bytes.size() - g->offset);
      wire::manifest_part p{id, manifest_bytes.size(), g->offset, {}, {}};
      p.data.assign(manifest_bytes.begin() + static_cast<std::ptrdiff_t>(g->offset),
                    manifest_bytes.begin() + static_cast<std::ptrdiff_t>(g->offset + len));
      out.push_back(p);
      if (g->offset + len == manifest_bytes.size()) out.push_back(bitfield());
    } else if (auto* gh = std::get_if<wire::get_hashes>(&req)) {
      wire::hashes hs{id, gh->first, {}};
      hs.pieces.assign(
          piece_hashes.begin() + static_cast<std::ptrdiff_t>(gh->first.value),
          piece_hashes.begin() + static_cast<std::ptrdiff_t>(gh->first.value + gh->count));
      out.push_back(hs);
    } else if (auto* r = std::get_if<wire::request>(&req)) {
      out.push_back(block(r->ref));
    }
    return out;
  }

  wire::bitfield bitfield() const {
    wire::bitfield b{id, pieces.size(), {}};
    b.bits.assign((pieces.size() + 7) / 8, 0);
    for (std::size_t i = 0; i < pieces.size(); ++i) b.bits[i / 8] |= std::uint8_t(0x80 >> (i % 8));
    return b;
  }
};

}  // namespace shoal::testing
