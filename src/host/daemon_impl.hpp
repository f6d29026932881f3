// The daemon's one class, for the files that define its parts: daemon.cpp (the connections,
// the node's actions, the store's reads and writes, the fetches' outputs, sockets and signals)
// and daemon_control.cpp (the control channel and the HTTP server's view of the node). It is
// the thin host of the core node (core/node.hpp): no protocol rule lives here. Nothing outside
// those files includes this header; others use host/daemon.hpp.
#pragma once

#include "host/daemon.hpp"

#include <malloc.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <csignal>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

#include "core/node.hpp"
#include "core/token_bucket.hpp"
#include "host/config.hpp"
#include "host/content_service.hpp"
#include "host/control_server.hpp"
#include "host/daemon_json.hpp"
#include "host/disk_worker.hpp"
#include "host/http_routes.hpp"
#include "host/limits.hpp"
#include "host/metrics.hpp"
#include "host/node_adapter.hpp"
#include "host/saved_limits.hpp"
#include "host/service_notify.hpp"
#include "host/watched_fetch.hpp"
#include "member/identity.hpp"
#include "member/tls.hpp"
#include "net/connection.hpp"
#include "store/store.hpp"

namespace shoal::host::detail {

namespace asio = boost::asio;
using net::connection;
using nlohmann::json;

constexpr std::size_t max_http_clients = 256;
// Pieces a gateway response waiting for one asks its fetch for first (4 MiB): enough ahead that
// the next chunks are on their way while the client takes this one.
constexpr std::uint64_t gateway_read_ahead = 16;

// An error if the revocation list kept in `data_dir` revokes this node: it is not started.
result<void> check_not_revoked(const std::filesystem::path& data_dir, const member::identity& id);

class daemon_impl final : public daemon, public net::connection_handler {
 public:
  daemon_impl(daemon_options opts, std::unique_ptr<store::store> s, member::identity id,
              ssl_ctx_st* ctx, std::uint64_t descriptors)
      : opts_(std::move(opts)),
        store_(std::move(s)),
        identity_(std::move(id)),
        tls_(ctx, &SSL_CTX_free),
        descriptors_(descriptors),
        limits_(limits_for(descriptors, opts_.max_peer_connections, opts_.max_control_connections)),
        acceptor_(io_),
        control_(io_, limits_.control),
        signals_(io_, SIGINT, SIGTERM, SIGHUP),
        ticker_(io_),
        accept_retry_(io_.get_executor()),
        up_(opts_.upload_limit),
        down_(opts_.download_limit),
        node_(node_config_of(opts_, identity_, limits_), std::random_device{}()) {}

  result<void> bind(const net::address& listen);

  int run() override;

  // --- connection_handler: what the connections report goes to the node ----------------------

  void on_established(connection& c) override;

  void on_refused(connection& c, failure kind, const std::string& why) override;

  void on_closed(connection& c) override;

  void on_event(connection& c, session_event ev) override;

  duration upload_delay(std::size_t bytes) override;
  duration download_delay(std::size_t bytes) override;

 private:
  // --- what the node asks for ---------------------------------------------------------------

  void drain();

  std::shared_ptr<connection> find(peer_handle p);

  store::content_reader* reader(const content_id& id);

  std::optional<held_content> load(const content_id& id);

  result<piece_data> read(const content_id& id, piece_index p);

  // Every content the store holds, for the node to serve and announce.
  void tell_held();

  // The node verified a fetch's manifest and piece layer: the content opens in the store, and
  // the output begins.
  void open_content(time_point now, const node_actions::open_content& o);

  // The bytes go to disk on the worker thread; the piece is recorded and the node told on this
  // one. The partial content travels with the write and back, so its last reference is always
  // dropped here.
  void write_piece(const content_id& cid, piece_index piece, aligned_bytes data);

  void piece_written(const content_id& cid, std::uint64_t seq, store::partial_content& partial,
                     piece_index piece, result<void> r, const result<void>& out_r);

  // The content is complete in the store but its output could not be written.
  static error output_error(const content_id& cid, const error& e);

  // Creates the fetch's output once the manifest is known.
  result<void> begin_output(watched_fetch& f, const content_id& cid, const manifest& m);

  // The node ended a fetch: the output is completed (on the disk worker; pieces the store held
  // before this fetch are copied from it) and every watcher told.
  void fetch_ended(node_actions::fetch_ended e);

  // Tells every watcher how the fetch ended; `output` is where it wrote the content for the
  // client that asked (that client alone is told; others export it themselves).
  void report_end(watched_fetch& f, const node_actions::fetch_ended& e,
                  const std::optional<std::filesystem::path>& output);

  // --- the control channel ------------------------------------------------------------------

  void start_get(const std::shared_ptr<reply_sink>& client, const json& req);

  // Starts the node's fetch of r.id, resuming from `existing` (a partial content in the store)
  // if given; the caller drains. Whether it resumed.
  result<bool> begin_fetch(fetch_request r, watched_fetch f, const store::content_reader* existing);

  // The gateway's waits (docs/protocol/http.md, section 4): until the content is open in the
  // store (held complete, or its fetch knows the manifest; a fetch is started if none runs),
  // and until one of its pieces is stored. `done` gets nullptr, or why it will not happen.
  void gateway_open(const content_id& id, std::function<void(const error*)> done);
  void gateway_wait(const content_id& id, piece_index p, std::function<void(const error*)> done);

  // `cancel`: ends a running fetch; its verified pieces stay in the store, so a `get` resumes.
  void cancel_fetch(const std::shared_ptr<reply_sink>& client, const json& req);

  // The store changed through content_service (an add, a removal, pieces found damaged): what
  // the node serves and announces follows.
  void store_changed(const std::vector<content_service::change>& changes);

  // `revocations`: adopts the revocation list given (hex), which the node then spreads; without
  // one, says which list the node holds.
  void publish_revocations(const std::shared_ptr<reply_sink>& client, const json& req);
  // The list kept in the data directory, handed to the node at start.
  void load_revocations();
  // The node adopted a newer list: it is kept; if it revokes this node, the daemon stops.
  void revocations_adopted(const node_actions::revocations_adopted& a);
  // The list held: serial, issue time, count, and with `with_entries` every entry.
  json revocations_json(bool with_entries) const;

  // `limits`: changes the rate limits at once (fields absent are left as they are).
  void set_limits(const std::shared_ptr<reply_sink>& client, const json& req);

  // --- HTTP (docs/protocol/http.md) ---------------------------------------------------------

  std::string metrics();

  // Ready: the certificate is valid and, with bootstrap peers configured, the DHT knows someone.
  std::optional<std::string> not_ready() const;

  json status_json();
  // One content: what the store holds of it, its fetch, its swarm and the peers in it
  // (`status ID`, GET /api/v1/contents/ID); not_found if the node knows nothing of it.
  result<json> content_status_json(const content_id& id);

  // --- sockets ------------------------------------------------------------------------------

  void accept_peers();

  // Accepted connections not yet authenticated are bounded: at the bound the oldest is dropped,
  // so that a flood of connections that never finish their handshake cannot keep a member out.
  void shed_handshakes();

  void handle_control(const std::shared_ptr<control_session>& client, const json& req);

  void tick();

  // SIGINT and SIGTERM stop the daemon. SIGHUP (a closed terminal, or a service manager's
  // "reload") used to end it with no log line and its control socket left behind: there is
  // nothing to reload, so it says so and goes on.
  void wait_for_signals();

  void shutdown();

  daemon_options opts_;
  std::unique_ptr<store::store> store_;
  member::identity identity_;
  asio::io_context io_{1};
  disk_worker disk_;  // after io_: stopped (and joined) before io_ goes
  // The gateway's piece reads and their hashing (http_gateway.cpp), beside the fetches' writes.
  disk_worker gateway_reads_;
  std::unique_ptr<ssl_ctx_st, void (*)(ssl_ctx_st*)> tls_;
  std::uint64_t descriptors_;
  connection_limits limits_;
  asio::ip::tcp::acceptor acceptor_;
  control_server control_;
  log_limiter accept_log_{5, std::chrono::seconds(10)};
  log_limiter refuse_log_{10, std::chrono::seconds(10)};
  log_limiter handshake_log_{20, std::chrono::seconds(10)};
  asio::signal_set signals_;
  asio::steady_timer ticker_;
  accept_retry accept_retry_;
  std::string listen_text_;
  bool stopping_ = false;
  int exit_code_ = 0;  // run()'s: 3 once this node's certificate is found revoked
  std::map<peer_handle, std::shared_ptr<connection>> connections_;
  std::map<content_id, std::unique_ptr<store::content_reader>> readers_;
  std::map<content_id, watched_fetch> watched_;
  session_config session_cfg_;
  token_bucket up_;
  token_bucket down_;
  daemon_counters counters_;
  service_notify notify_;
  std::chrono::steady_clock::time_point next_status_{};  // of the STATUS= line for systemd
  void reload();
  std::string status_line() const;
  std::unique_ptr<http_server> http_;  // none when http_listen is "off"
  std::optional<http_api> http_api_;
  node node_;  // after opts_, identity_ and limits_, which it is made from
  content_service content_{io_, *store_, [this](const auto& changes) { store_changed(changes); }};
};

}  // namespace shoal::host::detail
