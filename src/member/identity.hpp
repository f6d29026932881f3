// A node's membership identity in its data directory (docs/protocol/membership.md, section 2):
//
//   <data dir>/identity/     mode 0700
//     node.key               Ed25519 private key, PKCS#8 PEM, mode 0600
//     node.csr               certificate request for node.key, PEM
//     network.cert           the network (authority) certificate the node was initialised with
//     node.cert              the node certificate, once installed
//
// `shoal init` creates the first three, `shoal init --certificate` installs the fourth, and the
// daemon loads all of them with load_identity. Time is a parameter wherever a certificate's
// validity is judged, so tests can check expiry without waiting.
//
// Thread safety: functions keep no state; two processes initialising one data directory at
// once are separated by node.key's O_EXCL create. An `identity` is immutable once loaded and
// may be read from several threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "member/certificate.hpp"
#include "member/handles.hpp"
#include "shoal/error.hpp"
#include "shoal/node_id.hpp"

namespace shoal::member {

struct identity_paths {
  std::filesystem::path dir, key, csr, network_cert, node_cert;
};
identity_paths paths_of(const std::filesystem::path& data_dir);

// Everything a node needs to join TLS connections as a member.
struct identity {
  pkey_ptr key;
  x509_ptr cert;
  x509_ptr network;
  std::string network_name;
  peer_info self;  // this node's own ID, name, labels and validity
};

struct init_result {
  node_id id;
  std::string name;
  std::string network_name;
  std::filesystem::path csr;
};

// Creates identity/ with a new key, a request for `name` and a copy of the network certificate
// read from `network_cert`. Refuses if identity/node.key exists.
result<init_result> init_identity(const std::filesystem::path& data_dir,
                                  const std::filesystem::path& network_cert,
                                  const std::string& name);

// Checks `cert_file` against this node (its key, then the network, then validity at `now`) and
// installs it as identity/node.cert, replacing an older one.
result<peer_info> install_certificate(const std::filesystem::path& data_dir,
                                      const std::filesystem::path& cert_file, std::int64_t now);

// Loads and checks the identity at `now`. Errors say what to do: not initialised (run shoal
// init), no certificate installed, certificate expired (and when), key and certificate that do
// not match.
result<identity> load_identity(const std::filesystem::path& data_dir, std::int64_t now);
// The same at the system clock's current time.
result<identity> load_identity(const std::filesystem::path& data_dir);

// What `shoal id` shows: everything that can be read, and why the node cannot join if it cannot.
struct identity_status {
  node_id id;
  std::string name;  // from the certificate when installed, else from the request
  std::string network_name;
  std::optional<peer_info> certificate;  // present when node.cert is installed and readable
  bool valid = false;                    // load_identity would succeed at `now`
  std::string problem;                   // why not, when !valid
};
result<identity_status> read_identity_status(const std::filesystem::path& data_dir,
                                             std::int64_t now);

// The machine's host name, the default node name.
std::string default_node_name();

}  // namespace shoal::member
