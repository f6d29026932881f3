// The revocation list on disk and on the authority's side (docs/protocol/membership.md, section
// 9): `shoal network revoke` adds a member to the list beside the authority key and signs it;
// the daemon keeps the newest list it adopted in its data directory. The format and the checks
// are the core's (core/revocation.hpp); this file reads and writes files and signs.
//
// Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/revocation.hpp"
#include "member/authority.hpp"
#include "shoal/error.hpp"

namespace shoal::member {

// The network's authority key as the core checks lists with it: the raw Ed25519 public key of
// the network certificate.
result<crypto::ed25519_public_key> network_public_key(x509_st* network);

// Reads a list file (at most max_revocation_list bytes): nullopt if there is none, else its
// bytes. Errors name the file.
result<std::optional<std::vector<std::uint8_t>>> read_revocation_file(
    const std::filesystem::path& path);
// Replaces the file atomically (mode 0644: the list is public).
result<void> write_revocation_file(const std::filesystem::path& path,
                                   const std::vector<std::uint8_t>& bytes);

// The list after revoking `node` (with `reason`) at `now`: the next serial after `current`'s
// (1 if none), signed by the authority. `already_exists` if `current` revokes it already.
result<revocation_list> add_revocation(const authority& ca,
                                       const std::optional<revocation_list>& current,
                                       const node_id& node, std::string reason, std::int64_t now);

// A list as the control socket carries it: lowercase hex (docs/protocol/control.md).
std::string revocation_hex(const std::vector<std::uint8_t>& bytes);
result<std::vector<std::uint8_t>> revocation_from_hex(std::string_view text);

// The member `shoal network revoke` names: a node ID (nd1...), or a node certificate file.
result<node_id> revocation_target(const std::string& text);

// The list beside an authority key: acme.key has acme.revocations.
std::filesystem::path revocation_file_of(const std::filesystem::path& authority_key);
// Where a daemon keeps the list it adopted.
std::filesystem::path adopted_revocation_file(const std::filesystem::path& data_dir);

}  // namespace shoal::member
