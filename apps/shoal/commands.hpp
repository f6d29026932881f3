// The `shoal` subcommands. Each returns the process exit status: 0 on success, 1 on an error
// (printed to stderr, and as {"error": ...} on stdout with --json).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "host/config.hpp"
#include "host/control_client.hpp"
#include "host/progress.hpp"
#include "sim/dht_scenario.hpp"
#include "sim/swarm_scenario.hpp"

namespace shoal::cli {

struct context {
  host::config config;
  bool json = false;
  host::progress_style style = host::progress_style::lines;
};

int add(const context& c, const std::filesystem::path& source, bool pin);
int list(const context& c);
int export_content(const context& c, const std::string& id, const std::filesystem::path& out);
int remove(const context& c, const std::string& id);
int pin(const context& c, const std::string& id, bool pinned);
int gc(const context& c);
int verify(const context& c, const std::string& id);
// Rebuilds the catalog from the data and record files (`shoal store repair`).
int repair_store(const context& c);

// Membership (member_commands.cpp).
struct sign_args {
  std::filesystem::path request;
  std::filesystem::path authority_key;
  std::filesystem::path authority_cert;  // empty: authority_key with .key replaced by .cert
  std::filesystem::path output;          // empty: request with .csr replaced by .cert
  std::string expires_in = "30d";
  std::vector<std::string> labels;  // "key=value"
};
int network_create(const context& c, const std::string& name, const std::filesystem::path& dir);
int network_sign(const context& c, const sign_args& a);
// The revocation list (membership.md, section 9).
struct revoke_args {
  std::string target;  // a node ID, or a node certificate file
  std::filesystem::path authority_key;
  std::filesystem::path authority_cert;  // empty: authority_key with .key replaced by .cert
  std::filesystem::path list;            // empty: authority_key with .key replaced by .revocations
  std::string reason;
};
// Adds the member to the list and signs it, then hands it to the local daemon, if one runs.
int network_revoke(const context& c, const revoke_args& a);
// Hands a list file to the running daemon, which adopts it if newer and spreads it.
int network_publish(const context& c, const std::filesystem::path& list);
// The list the running daemon holds.
int network_revocations(const context& c);
int init_node(const context& c, const std::filesystem::path& network_cert, const std::string& name);
int install_certificate(const context& c, const std::filesystem::path& cert);
int show_identity(const context& c);

// The daemon and the commands that talk to it (net_commands.cpp).
// Rate limits as given on the command line ("" where not given: the config's value stays).
struct rate_flags {
  std::string upload;
  std::string download;
};
struct log_flags {
  std::string level;   // --log-level; empty: the config's
  std::string format;  // --log-format
};
int run_daemon(const context& c, const std::string& listen, const std::string& http_listen,
               const rate_flags& limits, const log_flags& logs,
               const std::vector<std::string>& bootstrap, std::size_t max_swarm_peers);
// Changes the running daemon's rate limits (or, with neither given, shows them).
int limit(const context& c, const rate_flags& limits);
// Ctrl-C cancels the fetch this get started, unless `detach`: then the get returns as soon as
// the daemon has the fetch, which goes on (and writes `out`) without it.
int get(const context& c, const std::string& id, const std::vector<std::string>& from,
        const std::filesystem::path& out, bool origin_only, bool detach);
// Ends the daemon's fetch of a content; its verified pieces stay in the store.
int cancel(const context& c, const std::string& id);
int status(const context& c);
// One content through the running daemon: the pieces held, its fetch, its swarm and its peers.
int content_status(const context& c, const std::string& id);
// The running daemon's peers: node, name, address, direction, rates over a second, bytes each
// way, the contents shared with each and its labels.
int peers(const context& c);

// `shoal sim dht`: runs the DHT scenario and prints its figures (docs/simulation.md).
int simulate_dht(const context& c, const sim::dht_params& p);
// `shoal sim swarm`: runs the swarm scenario and prints its figures against the fluid bound.
int simulate_swarm(const context& c, sim::swarm_params p);

// Sends a content operation (add, rm, pin, unpin, gc, verify) to the running daemon and waits
// for its `done`, whose fields it returns; `progress` shows the daemon's progress messages.
result<nlohmann::json> daemon_op(host::control_connection& conn, const nlohmann::json& req,
                                 host::progress_reporter* progress);

// Sends one control request and returns the daemon's one reply (an `error` reply as an error);
// `what` names the reply in the error when none comes.
result<nlohmann::json> ask_daemon(const context& c, const nlohmann::json& req,
                                  const std::string& what);
// The same over a connection already open.
result<nlohmann::json> ask_daemon(host::control_connection& conn, const nlohmann::json& req,
                                  const std::string& what);

// Prints an error the way every command does.
int fail(const context& c, const error& e);

}  // namespace shoal::cli
