#include "node/daemon.hpp"

#include <malloc.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <csignal>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "core/dht.hpp"
#include "core/fetch.hpp"
#include "core/merkle.hpp"
#include "core/swarm.hpp"
#include "core/token_bucket.hpp"
#include "member/identity.hpp"
#include "member/tls.hpp"
#include "net/connection.hpp"
#include "node/config.hpp"
#include "node/disk_worker.hpp"
#include "node/limits.hpp"
#include "store/store.hpp"

namespace shoal::node {
namespace {

namespace asio = boost::asio;
using net::connection;
using nlohmann::json;
using local = asio::local::stream_protocol;

constexpr std::size_t piece_cache_limit = 16;
constexpr int max_redials = 5;
constexpr std::size_t max_control_line = 64 * 1024;
// A CLI connection that has sent no request this long is closed (its slot is wanted).
constexpr auto control_request_timeout = std::chrono::seconds(10);
// After a failed accept (EMFILE and its kin) the next is tried this long after, doubling up to
// accept_retry_max: the connection waits in the kernel's backlog meanwhile.
constexpr auto accept_retry_min = std::chrono::milliseconds(50);
constexpr auto accept_retry_max = std::chrono::seconds(1);
// A connection no fetch of ours uses and over which the peer has asked nothing this long is
// closed (the peer closes it too once its fetch ends; this covers peers that just hold on).
constexpr auto idle_close = std::chrono::seconds(20);
// The DHT's side of the pool: messages waiting for a connection to their node, per node, and
// connections being dialed for the DHT at once.
constexpr std::size_t max_dht_outbox = 16;
constexpr std::size_t max_dht_dials = 32;
// A fetch found through the DHT looks for more holders this often (a rollout adds holders as
// it goes), and gives up after this many lookups in a row leave it nothing to fetch from.
constexpr auto rediscover_interval = std::chrono::seconds(30);
constexpr int max_fruitless_lookups = 6;
constexpr std::size_t recent_lookups_kept = 16;

json error_json(const error& e) {
  return json{{"event", "error"}, {"code", errc_name(e.code)}, {"message", e.message}};
}

// One CLI connection on the control socket: newline-delimited JSON both ways.
class control_client : public std::enable_shared_from_this<control_client> {
 public:
  explicit control_client(local::socket s)
      : socket_(std::move(s)), request_timer_(socket_.get_executor()) {}
  local::socket& socket() { return socket_; }
  bool open() const { return socket_.is_open(); }
  // Whether a request has arrived; one that never comes closes the connection after `limit`.
  bool asked() const { return asked_; }
  void mark_asked() {
    asked_ = true;
    request_timer_.cancel();
  }
  void await_request(duration limit) {
    request_timer_.expires_after(limit);
    request_timer_.async_wait([w = weak_from_this()](boost::system::error_code ec) {
      if (auto self = w.lock(); !ec && self && !self->asked_) self->close();
    });
  }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    request_timer_.cancel();
    queue_.clear();
  }

  void send(const json& j) {
    if (!socket_.is_open()) return;
    const bool idle = queue_.empty();
    // Replace, not throw, on invalid UTF-8: an error message may quote the client's own bad bytes.
    queue_.push_back(j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n");
    if (idle) write_front();
  }
  void close_after_writes() {
    closing_ = true;
    if (queue_.empty()) close();
  }

 private:
  void write_front() {
    asio::async_write(socket_, asio::buffer(queue_.front()),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->queue_.pop_front();
                        if (!self->queue_.empty()) return self->write_front();
                        if (self->closing_) self->close();
                      });
  }

  local::socket socket_;
  asio::steady_timer request_timer_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  bool asked_ = false;
};

// A fetch in progress and everything the daemon keeps for it.
struct job {
  job(const content_id& id, std::uint64_t seed) : f(id, fetch_config{}, seed) {}
  fetch f;
  std::string name;
  // Shared with the disk worker's writes in flight; released on the io thread only.
  std::shared_ptr<store::partial_content> partial;
  std::vector<net::address> sources;
  std::map<peer_handle, net::address> dialed;  // live connections and where they go
  // Per address, since a connection to it last delivered verified data: an answer to the
  // handshake alone does not count, or a peer that misbehaves after its hello is redialed for
  // ever (issue 18, finding 12).
  std::map<std::string, int> redials;
  // Addresses cut off by this fetch (a bad block, a protocol violation, a stall): never dialed
  // again for it, whatever names them.
  std::set<std::string> cut_off;
  std::set<std::string> redialing;  // addresses waiting for their redial timer
  // Every connection the fetch uses: dialed ones and peers that dialed us for this content.
  std::set<peer_handle> attached;
  // Dials to peers learned by peer exchange, and the node each should turn out to be.
  std::map<peer_handle, node_id> pex_dials;
  // Every connection the fetch has used, for the byte counts: its address and whether it is a
  // source (given with --from) rather than a peer learned in the swarm.
  struct used_peer {
    std::string address;
    bool source = false;
  };
  std::map<peer_handle, used_peer> used;
  // Fetch from the sources alone: no peer exchange, no announcements (the comparison mode).
  bool origin_only = false;
  // Holders are looked up in the DHT (every fetch but an --origin-only one, with or without
  // --from): the lookup in flight, when the next is due, and how many in a row found nothing
  // to fetch from.
  bool discover = false;
  std::optional<dht::lookup_id> lookup;
  time_point next_lookup{};
  time_point lookup_ended{};
  int fruitless = 0;
  int lookups = 0;
  std::set<node_id> providers_found;
  json last_lookup;
  // Addresses not dialed again: redialed max_redials times without an answer, or whose swarm
  // of the content was full.
  std::set<std::string> gave_up;
  // Peers that hung up on the fetch because their swarm of the content was full.
  std::uint64_t full_swarms = 0;
  bool providing = false;  // announced in the DHT as a partial holder
  bool bad_block = false;  // a peer was cut off for a block that failed verification

  // No connection (dialed or attached), no redial and no DHT lookup pending: nothing can make
  // progress.
  // A fetch with --from sources ends when they are gone (the DHT only adds peers to it); one
  // without waits for the DHT to find holders or give up (on_lookup_done).
  bool idle() const {
    return dialed.empty() && redialing.empty() && attached.empty() &&
           !(discover && sources.empty());
  }
  std::vector<std::shared_ptr<control_client>> watchers;
  time_point started;
  std::string last_problem;

  // The output the first `get` asked for, written as pieces are stored (export_writer.hpp),
  // so that it is ready when the fetch is; shared with the disk worker. Dropped, with its
  // temporary tree, if that client goes away first.
  std::filesystem::path output_path;
  std::shared_ptr<control_client> output_owner;
  // Writing the output failed (a full output disk): the fetch goes on into the store, and ends
  // with this, saying how to write the output later (issue 18, finding 10).
  std::optional<error> output_failed;
  std::shared_ptr<store::export_writer> output;
};

// What the daemon knows of an established connection besides its session.
struct link {
  std::uint16_t max_requests = 0;
  std::uint16_t listen_port = 0;
  time_point last_useful{};
};

struct cached_piece {
  content_id content;
  piece_index piece;
  std::vector<std::uint8_t> data;
  std::vector<hash256> leaves;
};

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
        control_(io_),
        signals_(io_, SIGINT, SIGTERM),
        ticker_(io_),
        accept_retry_(io_),
        control_retry_(io_),
        rng_(std::random_device{}()),
        up_(opts_.upload_limit),
        down_(opts_.download_limit),
        swarm_(rng_(), opts_.max_swarm_peers),
        dht_(identity_.self.id, dht::config{}, rng_()) {}

  result<void> bind(const net::address& listen) {
    boost::system::error_code ec;
    asio::ip::tcp::resolver resolver(io_);
    auto eps = resolver.resolve(listen.host, std::to_string(listen.port),
                                asio::ip::tcp::resolver::passive, ec);
    if (ec || eps.empty())
      return error{errc::invalid_argument,
                   "cannot resolve listen address " + listen.str() + ": " + ec.message()};
    const auto ep = eps.begin()->endpoint();
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
    if (!ec) net::tune_receive_buffer(acceptor_);  // inherited by every accepted socket
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return error{errc::io_error, "cannot listen on " + listen.str() + ": " + ec.message()};
    // The bound address, so that port 0 shows the port the kernel picked (in the log and in
    // `shoal status`).
    const auto bound = acceptor_.local_endpoint(ec);
    listen_text_ =
        ec ? listen.str() : net::address{bound.address().to_string(), bound.port()}.str();
    // Told to peers in our hello, so that they can pass it on to others in the swarm.
    session_cfg_.listen_port = ec ? listen.port : bound.port();

    const auto path = control_socket_path(opts_.data_dir);
    // A socket file left by a daemon that was killed: the store lock, which we hold, proves no
    // daemon is using it now.
    if (path.native().size() >= sizeof(sockaddr_un::sun_path))
      return error{errc::invalid_argument,
                   "control socket path \"" + path.string() + "\" is too long for a Unix socket (" +
                       std::to_string(path.native().size()) + " bytes, at most " +
                       std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                       "); use a shorter data directory"};
    std::error_code fec;
    std::filesystem::remove(path, fec);
    control_.open(local(), ec);
    // The data directory is owner-only (0700), so the socket is never reachable by others
    // between bind and chmod; the chmod makes the socket's own mode say so too.
    if (!ec) control_.bind(local::endpoint(path.string()), ec);
    if (!ec && ::chmod(path.c_str(), 0600) != 0)
      ec = boost::system::error_code(errno, boost::system::system_category());
    if (!ec) control_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
      return error{errc::io_error,
                   "cannot create the control socket " + path.string() + ": " + ec.message()};
    return {};
  }

  int run() override {
    const node_id self = identity_.self.id;
    spdlog::info("node {} listening on {} (control socket {})", self.str(), listen_text_,
                 control_socket_path(opts_.data_dir).string());
    if (up_.rate() || down_.rate())
      spdlog::info("rate limits: upload {}, download {}", rate_text(up_.rate()),
                   rate_text(down_.rate()));
    spdlog::info(
        "{} file descriptors: at most {} peer connections ({} of them in their handshake), {} "
        "control connections, {} data files open for serving",
        descriptors_, limits_.peers, limits_.handshaking, limits_.control, limits_.readers);
    for (const auto& b : opts_.bootstrap)
      if (auto a = net::parse_address(b, "bootstrap")) bootstrap_.push_back(*a);
    provide_held();
    bootstrap_tick(net::now());
    accept_peers();
    accept_control();
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      spdlog::info("signal {}: shutting down", sig);
      shutdown();
    });
    tick();
    io_.run();
    // Writes still queued finish, and their results are recorded.
    disk_.stop();
    io_.restart();
    io_.poll();
    std::error_code fec;
    std::filesystem::remove(control_socket_path(opts_.data_dir), fec);
    spdlog::info("stopped");
    return 0;
  }

  // --- connection_handler -------------------------------------------------------------------

  void on_established(connection& c) override {
    spdlog::info("connected: {} ({})", c.describe(),
                 c.side() == connection::role::dialer ? "outgoing" : "incoming");
  }

  void on_refused(connection& c, failure kind, const std::string& why) override {
    if (bootstrap_dials_.contains(c.id())) {
      // Said in the error of a fetch that finds nobody, and logged once per address and reason.
      std::string& last = bootstrap_problems_[c.remote()];
      if (last != why)
        spdlog::warn("bootstrap peer {}: {}{}", c.remote(),
                     kind == failure::untrusted ? "refused: " : "", why);
      last = (kind == failure::untrusted ? "refused: " : "") + why;
      return;
    }
    // Anyone can open connections to the peer port: what they cost in log lines is bounded.
    if (c.side() == connection::role::acceptor) {
      log_limited(handshake_log_, spdlog::level::warn, "{}: {}: {}",
                  kind == failure::untrusted ? "refused" : "handshake failed", c.remote(), why);
    } else if (kind == failure::untrusted) {
      spdlog::warn("refused: {}: {}", c.remote(), why);
      if (job* j = job_of(c.id())) {
        j->last_problem = "connection to " + c.remote() + " refused: " + why;
        refused_.insert(c.id());
      }
    } else if (job* j = job_of(c.id())) {
      spdlog::warn("unreachable: {}: {}", c.remote(), why);
      j->last_problem = why;
    }  // else: a dial that its finished fetch abandoned; nothing to report
  }

  void on_closed(connection& c) override {
    const peer_handle id = c.id();
    auto keep = connections_[id];  // the object lives until this function returns
    connections_.erase(id);
    const bool refused = refused_.erase(id) > 0;
    const bool full = full_.erase(id) > 0;
    // Where a peer whose swarm was full listens (forget_link drops what says so), so that it is
    // not dialed again for the content however we learned of it.
    const std::optional<wire::peer_entry> full_at = full ? peer_entry_of(c) : std::nullopt;
    forget_link(id);
    dht_connection_closed(id);
    auto jit = conn_job_.find(id);
    if (jit == conn_job_.end()) return;
    const content_id cid = jit->second;
    conn_job_.erase(jit);
    auto it = jobs_.find(cid);
    if (it == jobs_.end()) return;
    job& j = it->second;
    j.attached.erase(id);
    j.pex_dials.erase(id);
    const auto target = j.dialed.find(id);
    std::optional<net::address> addr;
    if (target != j.dialed.end()) {
      addr = target->second;
      j.dialed.erase(target);
    }
    j.f.handle_peer_removed(net::now(), id);
    pump(cid);
    if (!jobs_.contains(cid)) return;
    if (full) {
      // Its swarm is full: the fetch goes on with the members it has (and those it learns of),
      // and takes no other connection to that node either (it would hang up on that one too).
      ++j.full_swarms;
      if (addr) j.gave_up.insert(addr->str());
      if (full_at) j.gave_up.insert(address_of(*full_at).str());
      if (j.idle()) finish_job(cid, error{errc::io_error, "no peer left: " + j.last_problem});
      return;
    }
    if (!addr) return;
    // A node we are still connected to another way (a duplicate connection closed) is not
    // redialed. Peers learned in the swarm are, like sources: a swarm whose members lose their
    // links to each other falls back on the origin, which then sends every piece to everyone.
    if (c.peer() && connected_to(c.peer()->id)) {
      if (connection* other = open_to(c.peer()->id); other && !conn_job_.contains(other->id())) {
        attach(j, *other);  // the duplicate that stayed was not ours: the fetch takes it
        return;
      }
      if (j.idle()) finish_job(cid, error{errc::io_error, "no peer left: " + j.last_problem});
      return;
    }
    if (refused) {
      // Certificates do not fix themselves: a refused peer is not dialed again.
      if (j.idle()) finish_job(cid, error{errc::untrusted, j.last_problem});
      return;
    }
    if (j.cut_off.contains(addr->str())) {
      // It sent a bad block, broke the protocol or stalled: nothing more is taken from it.
      if (j.idle())
        finish_job(cid, error{j.bad_block ? errc::hash_mismatch : errc::io_error,
                              "no peer left to fetch from: " + j.last_problem});
      return;
    }
    int& n = j.redials[addr->str()];
    if (j.f.bytes_from(id) > 0) n = 0;  // it delivered: back to a full allowance
    if (++n > max_redials) {
      j.gave_up.insert(addr->str());  // the DHT may name it again; it is not dialed again
      if (j.idle())
        finish_job(cid, error{errc::io_error, "gave up on " + addr->str() + " after " +
                                                  std::to_string(max_redials + 1) +
                                                  " attempts: " + j.last_problem});
      return;
    }
    j.redialing.insert(addr->str());
    auto timer = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(1 << (n - 1)));
    timer->async_wait([this, timer, cid, a = *addr](boost::system::error_code ec) {
      auto waiting = jobs_.find(cid);
      if (waiting == jobs_.end()) return;
      waiting->second.redialing.erase(a.str());
      if (!ec && !stopping_) dial(cid, a);
    });
  }

  void on_event(connection& c, session_event ev) override {
    const auto now = net::now();
    std::visit(
        [&](auto&& e) {
          using T = std::decay_t<decltype(e)>;
          if constexpr (std::is_same_v<T, session_events::established>) {
            link& l = links_[c.id()];
            l.max_requests = e.peer_max_requests;
            l.listen_port = e.peer_listen_port;
            l.last_useful = now;
            // A connection of an --origin-only fetch is kept out of peer exchange.
            swarm_.handle_peer_added(c.id(), peer_entry_of(c), !origin_only(c.id()));
            if (close_if_duplicate(c)) return;
            if (!dht_established(c)) return;
            if (auto* j = job_of(c.id())) {
              if (auto px = j->pex_dials.find(c.id());
                  px != j->pex_dials.end() && c.peer() && c.peer()->id != px->second) {
                // A member, but not the one announced at that address: not this swarm's peer.
                c.sess()->close(now, wire::reason::done,
                                "this is not the node announced at this address");
                return;
              }
              attach(*j, c);
            }
          } else if constexpr (std::is_same_v<T, session_events::closed>) {
            log_close(c, e);
            // Our session found the peer breaking the protocol (an unsolicited block, a bad
            // size): the fetch does not dial it again.
            if (!e.by_peer && e.code == wire::reason::protocol_violation)
              if (auto* j = job_of(c.id()))
                if (auto a = j->dialed.find(c.id()); a != j->dialed.end())
                  j->cut_off.insert(a->second.str());
            if (e.by_peer && e.code == wire::reason::overloaded)
              if (auto* j = job_of(c.id())) {
                j->last_problem = e.text;
                full_.insert(c.id());
              }
            // A refusal already said what went wrong; the hang-up that follows is no news.
            if (auto* j = job_of(c.id()); j && !refused_.contains(c.id())) j->last_problem = e.text;
          } else if constexpr (std::is_same_v<T, session_events::timed_out>) {
            if (auto* j = job_of(c.id())) {
              j->f.handle_timed_out(now, c.id(), e.kind, e.ref);
              pump(j->f.id());
            }
          } else if constexpr (std::is_same_v<T, wire::get_manifest>) {
            if (useful(c, e.content)) serve_manifest(c, e);
          } else if constexpr (std::is_same_v<T, wire::get_hashes>) {
            if (useful(c, e.content)) serve_hashes(c, e);
          } else if constexpr (std::is_same_v<T, wire::request>) {
            if (useful(c, e.ref.content)) serve_block(c, e.ref);
          } else if constexpr (std::is_same_v<T, wire::peers>) {
            if (useful(c, e.content)) learn_peers(c, e);
          } else if constexpr (std::is_same_v<T, wire::dht_query> ||
                               std::is_same_v<T, wire::dht_nodes> ||
                               std::is_same_v<T, wire::dht_announce> ||
                               std::is_same_v<T, wire::dht_ack>) {
            if (auto l = links_.find(c.id()); l != links_.end()) l->second.last_useful = now;
            if (c.peer()) {
              dht_.handle_message(now, dht_entry_of(c), e);
              pump_dht();
            }
          } else if constexpr (std::is_same_v<T, wire::bitfield> || std::is_same_v<T, wire::have>) {
            if (!useful(c, e.content)) return;
            record_announce(c, e);
            forward(c, e);
          } else {
            if (auto l = links_.find(c.id()); l != links_.end()) l->second.last_useful = now;
            forward(c, e);
          }
        },
        std::move(ev));
    c.flush();
  }

  duration upload_delay(std::size_t bytes) override {
    uploaded_ += bytes;
    return up_.take(net::now(), bytes);
  }
  duration download_delay(std::size_t bytes) override {
    downloaded_ += bytes;
    return down_.take(net::now(), bytes);
  }

 private:
  // --- serving ------------------------------------------------------------------------------

  store::content_reader* reader(const content_id& id) {
    if (auto it = readers_.find(id); it != readers_.end()) return it->second.get();
    auto r = store_->open_reader(id);
    if (!r) return nullptr;
    if (readers_.size() >= limits_.readers) readers_.erase(readers_.begin());
    return readers_.emplace(id, std::move(*r)).first->second.get();
  }

  void serve_manifest(connection& c, const wire::get_manifest& g) {
    session& s = *c.sess();
    const auto now = net::now();
    store::content_reader* r = reader(g.content);
    // A node still fetching serves the manifest too (with its bitfield, perhaps empty), so that
    // it joins the swarm before it holds a piece and is told of each piece as it arrives.
    if (!r) {
      s.send_reject(now, {wire::request_kind::manifest,
                          {g.content, piece_index(g.offset), 0},
                          wire::reason::not_found,
                          "this node does not hold " + g.content.str()});
      return;
    }
    const auto& bytes = r->record().manifest_bytes;
    if (g.offset >= bytes.size())
      return s.close(now, wire::reason::protocol_violation,
                     "asked for the manifest at offset " + std::to_string(g.offset) + " of " +
                         std::to_string(bytes.size()));
    const std::size_t len =
        std::min<std::size_t>(wire::max_manifest_chunk, bytes.size() - g.offset);
    wire::manifest_part part{g.content, bytes.size(), g.offset, {}};
    part.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(g.offset),
                     bytes.begin() + static_cast<std::ptrdiff_t>(g.offset + len));
    s.send_manifest_part(now, std::move(part));
    if (g.offset + len == bytes.size() && r->have().size() > 0) {
      const piece_set& have = r->have();
      s.send_bitfield(now, wire::bitfield{g.content, have.size(), have.bytes()});
    }
  }

  void serve_hashes(connection& c, const wire::get_hashes& g) {
    session& s = *c.sess();
    const auto now = net::now();
    store::content_reader* r = reader(g.content);
    if (!r) {
      s.send_reject(now, {wire::request_kind::hashes,
                          {g.content, g.first, 0},
                          wire::reason::not_found,
                          "this node does not hold " + g.content.str()});
      return;
    }
    const auto& all = r->record().piece_hashes;
    if (g.first.value >= all.size() || g.count > all.size() - g.first.value)
      return s.close(now, wire::reason::protocol_violation,
                     "asked for piece hashes " + std::to_string(g.first.value) + "+" +
                         std::to_string(g.count) + " of " + std::to_string(all.size()));
    wire::hashes h{g.content, g.first, {}};
    h.pieces.assign(all.begin() + static_cast<std::ptrdiff_t>(g.first.value),
                    all.begin() + static_cast<std::ptrdiff_t>(g.first.value + g.count));
    s.send_hashes(now, std::move(h));
  }

  const cached_piece* piece_for(store::content_reader& r, piece_index p, error& problem) {
    for (const auto& cp : pieces_)
      if (cp.content == r.id() && cp.piece == p) return &cp;
    std::vector<hash256> leaves;
    auto data = r.read_piece(p, &leaves);
    if (!data) {
      problem = data.err();
      return nullptr;
    }
    cached_piece cp{r.id(), p, std::move(*data), std::move(leaves)};
    if (pieces_.size() >= piece_cache_limit) pieces_.pop_front();
    pieces_.push_back(std::move(cp));
    return &pieces_.back();
  }

  void serve_block(connection& c, const wire::block_ref& ref) {
    session& s = *c.sess();
    const auto now = net::now();
    store::content_reader* r = reader(ref.content);
    const block_answer answer =
        answer_block(swarm_, c.id(), ref, r ? &r->layout() : nullptr, r ? &r->have() : nullptr);
    if (const auto* no = std::get_if<block_answers::refuse>(&answer))
      return s.send_reject(now, no->reject);
    if (const auto* bad = std::get_if<block_answers::violation>(&answer))
      return s.close(now, wire::reason::protocol_violation, bad->text);
    error problem;
    const cached_piece* cp = piece_for(*r, ref.piece, problem);
    if (!cp) {
      spdlog::error("cannot serve piece {} of {}: {}", ref.piece.value, ref.content.str(),
                    problem.message);
      // The store marked a damaged piece missing: the requester learns why, and asks others.
      s.send_reject(now, {wire::request_kind::block, ref, wire::reason::unavailable,
                          "piece " + std::to_string(ref.piece.value) +
                              (problem.code == errc::hash_mismatch
                                   ? " failed verification here: this copy is damaged and no "
                                     "longer held"
                                   : " cannot be read here")});
      return;
    }
    SHOAL_ASSERT(ref.block < cp->leaves.size());  // checked against the layout above
    wire::block b;
    b.ref = ref;
    const auto proof = merkle::piece_proof(hasher_, cp->leaves, ref.block);
    std::copy(proof.begin(), proof.end(), b.proof.begin());
    const std::size_t off = ref.block * merkle::block_size;
    const std::size_t len = std::min<std::size_t>(merkle::block_size, cp->data.size() - off);
    b.data.assign(cp->data.begin() + static_cast<std::ptrdiff_t>(off),
                  cp->data.begin() + static_cast<std::ptrdiff_t>(off + len));
    s.send_block(now, std::move(b));
  }

  // --- the swarm ----------------------------------------------------------------------------

  bool connected_to(const node_id& n) const {
    for (const auto& [id, c] : connections_)
      if (c->peer() && c->peer()->id == n && c->sess() && !c->sess()->closed()) return true;
    return false;
  }

  bool origin_only(peer_handle p) {
    const job* j = job_of(p);
    return j && j->origin_only;
  }

  // Two connections to the same node (both dialed the other at once): the one dialed by the
  // node with the smaller ID stays, on both sides alike; true if `c` is the one closed.
  bool close_if_duplicate(connection& c) {
    if (!c.peer()) return false;
    const node_id other = c.peer()->id;
    for (auto& [id, d] : connections_) {
      if (id == c.id() || !d->peer() || d->peer()->id != other || !d->sess() || d->sess()->closed())
        continue;
      connection* loser = &c;
      if (c.side() != d->side()) {
        const bool we_win = identity_.self.id < other;
        const auto winner_side = we_win ? connection::role::dialer : connection::role::acceptor;
        loser = c.side() == winner_side ? d.get() : &c;
      }
      loser->sess()->close(net::now(), wire::reason::done, "a duplicate connection");
      loser->flush();
      return loser == &c;
    }
    return false;
  }

  // A message about `content` arrived on `c`: the connection is in use, and the peer takes
  // part in that content's swarm, if we hold or fetch it. False if that closed the connection
  // (our swarm of the content is full): the message is then not acted on.
  bool useful(connection& c, const content_id& content) {
    auto l = links_.find(c.id());
    if (l == links_.end()) return true;
    l->second.last_useful = net::now();
    if (swarm_.interested(c.id(), content)) return true;
    if (!jobs_.contains(content) && !reader(content)) return true;  // bounded by what we have
    note_interest(c, content);
    return !c.sess()->closed();
  }

  // Peer exchange (core/swarm.hpp): the new peer learns the others in the swarm, and they
  // learn it. A peer interested in a content we fetch joins that fetch, unless it is an
  // --origin-only fetch, which takes no part in the swarm.
  void note_interest(connection& c, const content_id& x) {
    if (swarm_.interested(c.id(), x)) return;
    if (auto j = jobs_.find(x); j != jobs_.end() && !conn_job_.contains(c.id())) {
      if (j->second.origin_only) {
        swarm_.handle_interest(c.id(), x, false);
        return;
      }
      if (swarm_.full(x)) {
        // A peer asks about x over a connection our fetch does not use (it dialed us, or we
        // dialed it for the DHT) while our swarm of x is full (core/swarm.hpp): it is told so
        // and does not dial us again for x; it has the other members it was told of.
        spdlog::debug("{}: the swarm of {} is full here", c.describe(), x.str().substr(0, 12));
        c.sess()->close(net::now(), wire::reason::overloaded,
                        "the swarm of " + x.str() + " is full here");
        c.flush();
        return;
      }
      attach(j->second, c);  // which comes back here, attached, and does the exchange
    }
    if (!swarm_.handle_interest(c.id(), x, true)) return;
    const auto now = net::now();
    while (auto t = swarm_.poll_tell()) {
      auto to = connections_.find(t->to);
      if (to == connections_.end() || !to->second->sess() || to->second->sess()->closed()) continue;
      to->second->sess()->send_peers(now, std::move(t->msg));
      to->second->flush();
    }
  }

  std::optional<wire::peer_entry> peer_entry_of(connection& c) {
    auto l = links_.find(c.id());
    if (!c.peer() || l == links_.end() || l->second.listen_port == 0 || !c.remote_endpoint())
      return std::nullopt;
    wire::peer_entry e;
    e.node = c.peer()->id;
    e.port = l->second.listen_port;
    auto ip = c.remote_endpoint()->address();
    if (ip.is_v6() && ip.to_v6().is_v4_mapped())
      ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
    if (ip.is_v4()) {
      const auto b = ip.to_v4().to_bytes();
      std::copy(b.begin(), b.end(), e.ip.begin());
    } else {
      e.ipv6 = true;
      const auto b = ip.to_v6().to_bytes();
      std::copy(b.begin(), b.end(), e.ip.begin());
    }
    return e;
  }

  // A peer told us of others in the swarm of a content we fetch: dial the ones we lack.
  void learn_peers(connection& c, const wire::peers& msg) {
    auto it = jobs_.find(msg.content);
    if (it == jobs_.end() || it->second.origin_only) return;
    std::vector<connection*> to_attach;
    for (const auto& e : msg.entries) {
      spdlog::debug("{} told of {} at {}", c.describe(), e.node.short_str(), address_of(e).str());
      if (use_holder(it->second, e, to_attach) == holder_use::full) break;
    }
    attach_all(msg.content, to_attach);
  }

  // A member in the content's swarm (told by peer exchange or found in the DHT): the fetch
  // dials it, or takes over a connection to it that is open (and serves no other fetch of ours)
  // or being dialed for the DHT. Connections to attach are collected, for attach_all.
  enum class holder_use { added, skipped, full };
  holder_use use_holder(job& j, const wire::peer_entry& e, std::vector<connection*>& to_attach) {
    const node_id n = e.node;
    // The fetch's connections (sources, peers it dialed, peers that dialed it) are bounded as
    // its swarm's members are (swarm::full).
    if (j.attached.size() + j.pex_dials.size() + to_attach.size() >= opts_.max_swarm_peers)
      return holder_use::full;
    if (n == identity_.self.id) return holder_use::skipped;
    if (std::any_of(j.pex_dials.begin(), j.pex_dials.end(),
                    [&](const auto& d) { return d.second == n; }))
      return holder_use::skipped;
    const net::address a = address_of(e);
    if (j.cut_off.contains(a.str()) || j.gave_up.contains(a.str())) return holder_use::skipped;
    if (connection* c = open_to(n)) {
      if (conn_job_.contains(c->id()) || j.attached.contains(c->id()) ||
          std::find(to_attach.begin(), to_attach.end(), c) != to_attach.end())
        return holder_use::skipped;
      to_attach.push_back(c);
      return holder_use::added;
    }
    // Its session is still exchanging hellos: no second connection is dialed; once open, its
    // own messages about the content, or the next lookup, attach it.
    if (connected_to(n)) return holder_use::skipped;
    auto dht_dial = std::find_if(dht_dials_.begin(), dht_dials_.end(),
                                 [&](const auto& x) { return x.second == n; });
    if (dht_dial != dht_dials_.end()) {
      if (conn_job_.contains(dht_dial->first)) return holder_use::skipped;
      conn_job_[dht_dial->first] = j.f.id();
      j.dialed[dht_dial->first] = a;
      j.pex_dials[dht_dial->first] = n;
      return holder_use::added;
    }
    j.pex_dials[dial(j.f.id(), a)] = n;
    return holder_use::added;
  }

  // Attaching pumps the fetch, which may end it: each attach looks the job up again.
  void attach_all(const content_id& cid, const std::vector<connection*>& cs) {
    for (connection* c : cs)
      if (auto it = jobs_.find(cid); it != jobs_.end()) attach(it->second, *c);
  }

  // The fetch of `j` uses connection `c` from now on.
  void attach(job& j, connection& c) {
    if (!j.attached.insert(c.id()).second) return;
    const content_id cid = j.f.id();
    conn_job_[c.id()] = cid;
    const auto d = j.dialed.find(c.id());
    const bool source = d != j.dialed.end() &&
                        std::any_of(j.sources.begin(), j.sources.end(),
                                    [&](const auto& a) { return a.str() == d->second.str(); });
    j.used[c.id()] = {c.remote(), source};
    j.f.handle_peer_added(net::now(), c.id(), links_[c.id()].max_requests);
    if (!j.origin_only) {
      announce_to(j, c);
      note_interest(c, cid);
    }
    pump(cid);
  }

  // Tells the peer which pieces we hold (so far) of the content we fetch.
  void announce_to(job& j, connection& c) {
    if (!j.partial || j.origin_only || !c.sess() || c.sess()->closed()) return;
    const piece_set& have = j.partial->have();
    if (have.size() == 0) return;
    c.sess()->send_bitfield(net::now(), wire::bitfield{j.f.id(), have.size(), have.bytes()});
    c.flush();
  }

  // What peers announce of contents we hold feeds the first-copy rule (core/swarm.hpp).
  template <typename T>
  void record_announce(connection& c, const T& msg) {
    store::content_reader* r = reader(msg.content);
    if (!r || !links_.contains(c.id())) return;
    const std::uint64_t pieces = r->layout().piece_count();
    if constexpr (std::is_same_v<T, wire::bitfield>)
      swarm_.handle_bitfield(c.id(), msg, pieces);
    else
      swarm_.handle_have(c.id(), msg, pieces);
  }

  void forget_link(peer_handle id) {
    auto l = links_.find(id);
    if (l == links_.end()) return;
    swarm_.handle_peer_removed(id);
    links_.erase(l);
  }

  // --- fetching -----------------------------------------------------------------------------

  job* job_of(peer_handle p) {
    auto it = conn_job_.find(p);
    if (it == conn_job_.end()) return nullptr;
    auto j = jobs_.find(it->second);
    return j == jobs_.end() ? nullptr : &j->second;
  }

  template <typename T>
  void forward(connection& c, const T& msg) {
    job* j = job_of(c.id());
    if (!j) return;  // not fetching over this connection: nothing to do with answers
    const auto now = net::now();
    const peer_handle p = c.id();
    if constexpr (std::is_same_v<T, wire::manifest_part>) j->f.handle_manifest_part(now, p, msg);
    if constexpr (std::is_same_v<T, wire::hashes>) j->f.handle_hashes(now, p, msg);
    if constexpr (std::is_same_v<T, wire::bitfield>) j->f.handle_bitfield(now, p, msg);
    if constexpr (std::is_same_v<T, wire::have>) j->f.handle_have(now, p, msg);
    if constexpr (std::is_same_v<T, wire::block>) j->f.handle_block(now, p, msg);
    if constexpr (std::is_same_v<T, wire::reject>) {
      if (msg.code == wire::reason::not_found) j->last_problem = c.describe() + ": " + msg.text;
      j->f.handle_reject(now, p, msg);
    }
    pump(j->f.id());
  }

  static net::address address_of(const wire::peer_entry& e) {
    if (e.ipv6) {
      asio::ip::address_v6::bytes_type b;
      std::copy(e.ip.begin(), e.ip.end(), b.begin());
      return {asio::ip::address_v6(b).to_string(), e.port};
    }
    return {asio::ip::address_v4({e.ip[0], e.ip[1], e.ip[2], e.ip[3]}).to_string(), e.port};
  }

  // A new outgoing connection, for a fetch (dial()), the DHT or a bootstrap peer.
  peer_handle connect(const net::address& a) {
    const peer_handle id(++next_peer_);
    auto c = std::make_shared<connection>(io_, tls_.get(), a, *this, id, session_cfg_);
    connections_[id] = c;
    c->start();
    return id;
  }

  // start() only posts the connection's coroutine, so no callback runs before these are set.
  peer_handle dial(const content_id& cid, const net::address& a) {
    const peer_handle id = connect(a);
    conn_job_[id] = cid;
    jobs_.at(cid).dialed[id] = a;
    return id;
  }

  // Carries out what the fetch asks for until it has nothing more.
  void pump(const content_id& cid) {
    auto it = jobs_.find(cid);
    if (it == jobs_.end()) return;
    job& j = it->second;
    const auto now = net::now();
    std::set<peer_handle> touched;
    while (auto a = j.f.poll_action()) {
      if (auto* s = std::get_if<fetch_actions::send>(&*a)) {
        auto c = connections_.find(s->peer);
        if (c == connections_.end() || !c->second->sess() || c->second->sess()->closed()) continue;
        session& sess = *c->second->sess();
        touched.insert(s->peer);
        std::visit(
            [&](auto&& m) {
              using T = std::decay_t<decltype(m)>;
              if constexpr (std::is_same_v<T, wire::get_manifest>)
                sess.send_get_manifest(now, m.content, m.offset);
              else if constexpr (std::is_same_v<T, wire::get_hashes>)
                sess.send_get_hashes(now, m.content, m.first, m.count);
              else if constexpr (std::is_same_v<T, wire::request>)
                sess.send_request(now, m.ref);
              else if constexpr (std::is_same_v<T, wire::cancel>)
                sess.send_cancel(now, m.ref);
            },
            s->msg);
      } else if (auto* d = std::get_if<fetch_actions::disconnect>(&*a)) {
        spdlog::warn("cutting off {}: {}", describe(d->peer), d->text);
        j.last_problem = describe(d->peer) + ": " + d->text;
        if (auto where = j.dialed.find(d->peer); where != j.dialed.end())
          j.cut_off.insert(where->second.str());
        if (d->code == wire::reason::bad_block) j.bad_block = true;
        if (auto c = connections_.find(d->peer); c != connections_.end() && c->second->sess()) {
          c->second->sess()->close(now, d->code, d->text);
          touched.insert(d->peer);
        }
      } else if (auto* o = std::get_if<fetch_actions::open_content>(&*a)) {
        if (!begin_output(cid, j, o->m)) return;
        auto partial = store_->open_partial(o->m, j.name, std::move(o->piece_hashes));
        if (!partial) return finish_job(cid, partial.err());
        j.partial = std::move(*partial);
        for (peer_handle p : j.attached)
          if (auto c = connections_.find(p); c != connections_.end()) announce_to(j, *c->second);
        j.f.handle_opened(now, j.partial->have());
      } else if (auto* w = std::get_if<fetch_actions::write_piece>(&*a)) {
        write_piece(cid, j.partial, w->piece, std::move(w->data));
      } else if (auto* st = std::get_if<fetch_actions::piece_stored>(&*a)) {
        if (auto r = readers_.find(cid); r != readers_.end()) (void)r->second->refresh();
        if (!j.providing && !j.origin_only) {  // a holder of verified pieces: say so in the DHT
          j.providing = true;
          dht_.provide(now, cid, false);
          pump_dht();
        }
        // Announced at once: the piece is verified and stored, so it can be served now.
        if (!j.origin_only)
          for (peer_handle p : swarm_.members(cid))
            if (auto c = connections_.find(p); c != connections_.end() && c->second->sess()) {
              c->second->sess()->send_have(now, cid, st->piece);
              touched.insert(p);
            }
      } else if (std::holds_alternative<fetch_actions::finished>(*a)) {
        for (peer_handle p : touched)
          if (auto c = connections_.find(p); c != connections_.end()) c->second->flush();
        if (j.output) return finish_output(cid, j);
        if (j.output_failed) return finish_job(cid, output_error(cid, *j.output_failed));
        return finish_job(cid, {});
      } else if (auto* fl = std::get_if<fetch_actions::failed>(&*a)) {
        return finish_job(cid, fl->why);
      }
    }
    for (peer_handle p : touched)
      if (auto c = connections_.find(p); c != connections_.end()) c->second->flush();
  }

  // The bytes go to disk on the worker thread; the piece is recorded and the fetch told on
  // this one. The partial content travels with the write and back, so its last reference is
  // always dropped here.
  void write_piece(const content_id& cid, std::shared_ptr<store::partial_content> partial,
                   piece_index piece, aligned_bytes data) {
    disk_.post([this, cid, partial = std::move(partial), output = jobs_.at(cid).output, piece,
                data = std::move(data)]() mutable {
      auto r = partial->write_verified_data(piece, data);
      result<void> out_r;
      if (r && output) out_r = output->write_piece(piece, data);
      output.reset();
      asio::post(io_,
                 [this, cid, partial = std::move(partial), piece, r = std::move(r),
                  out_r = std::move(out_r)] { piece_written(cid, *partial, piece, r, out_r); });
    });
  }

  void piece_written(const content_id& cid, store::partial_content& partial, piece_index piece,
                     result<void> r, const result<void>& out_r) {
    // Recorded even when its fetch has ended meanwhile: the bytes are verified and on disk,
    // and the next fetch of the content should not ask for them again.
    if (r) r = partial.mark_stored(piece);
    auto it = jobs_.find(cid);
    if (it == jobs_.end() || it->second.partial.get() != &partial) return;
    job& j = it->second;
    if (!out_r && !j.output_failed) {
      spdlog::warn("fetch of {}: cannot write the output, fetching into the store only: {}",
                   cid.str(), out_r.err().message);
      j.output_failed = out_r.err();
      j.output.reset();  // its temporary tree goes once the writes in flight let go of it
    }
    j.f.handle_piece_written(net::now(), piece, r);
    pump(cid);
  }

  // The content is complete in the store but its output could not be written.
  static error output_error(const content_id& cid, const error& e) {
    return error{e.code, "fetched " + cid.str() +
                             " into the store, but could not write the output: " + e.message +
                             "; write it out with `shoal export " + cid.str() +
                             " -o PATH` once there is room"};
  }

  // Creates the job's output once the manifest is known; false (and the job ended) on error.
  bool begin_output(const content_id& cid, job& j, const manifest& m) {
    if (j.output_path.empty()) return true;
    auto w = store::export_writer::begin(cid, m, j.output_path, j.name);
    if (!w) {
      finish_job(cid, w.err());
      return false;
    }
    j.output = std::move(*w);
    return true;
  }

  // The last piece is stored: complete the output on the disk worker (pieces the store held
  // before this fetch are copied from it), then report.
  void finish_output(const content_id& cid, job& j) {
    disk_.post([this, cid, output = j.output, data_file = j.partial->data_file(),
                hashes = j.partial->piece_hashes()]() mutable {
      auto r = output->finish(data_file, hashes);
      output.reset();
      asio::post(io_, [this, cid, r = std::move(r)] {
        if (!r) return finish_job(cid, output_error(cid, r.err()));
        finish_job(cid, {}, r->path);
      });
    });
  }

  std::string describe(peer_handle p) {
    auto c = connections_.find(p);
    return c == connections_.end() ? "peer #" + std::to_string(p.value) : c->second->describe();
  }

  json progress_json(const job& j) {
    const auto p = j.f.progress();
    json from = json::object();
    std::uint64_t from_sources = 0, from_peers = 0;
    for (const auto& [id, u] : j.used) {
      const std::uint64_t n = j.f.bytes_from(id);
      if (n == 0) continue;
      from[u.address] = from.value(u.address, std::uint64_t{0}) + n;
      (u.source ? from_sources : from_peers) += n;
    }
    return json{{"event", "progress"},
                {"id", j.f.id().str()},
                {"total_bytes", p.total_bytes},
                {"stored_bytes", p.stored_bytes},
                {"received_bytes", p.received_bytes},
                {"pieces", p.pieces},
                {"pieces_stored", p.pieces_stored},
                {"peers", p.peers},
                {"from", from},
                {"from_sources", from_sources},
                {"from_peers", from_peers},
                {"duplicate_blocks", j.f.duplicate_blocks()},
                {"full_swarms", j.full_swarms},
                {"waiting", j.f.waiting()},
                {"origin_only", j.origin_only},
                {"discovery",
                 {{"lookups", j.lookups},
                  {"holders_found", j.providers_found.size()},
                  {"last_lookup", j.last_lookup}}}};
  }

  // Ends a job: reports to every watcher, keeps what was stored, closes its connections.
  // `output` is where the job wrote the content for the client that asked (that client alone
  // is told; others export it themselves).
  void finish_job(const content_id& cid, const error& e,
                  const std::optional<std::filesystem::path>& output = std::nullopt) {
    auto it = jobs_.find(cid);
    if (it == jobs_.end()) return;
    job& j = it->second;
    json last = progress_json(j);
    const double seconds = std::chrono::duration<double>(net::now() - j.started).count();
    if (e.code == errc::ok) {
      last["event"] = "done";
      last["seconds"] = seconds;
      spdlog::info("fetched {} ({} bytes received in {:.2f} s)", cid.str(),
                   j.f.progress().received_bytes, seconds);
    } else {
      last = error_json(e);
      spdlog::error("fetch of {} failed: {}", cid.str(), e.message);
    }
    for (auto& w : j.watchers) {
      json mine = last;
      if (output && w == j.output_owner) mine["output"] = output->string();
      w->send(mine);
      w->close_after_writes();
    }
    j.output.reset();  // unfinished: its temporary tree goes
    // Complete in the store (also when only its output failed): held, and said so.
    if (j.f.current_phase() == fetch::phase::done && !j.origin_only)
      dht_.provide(net::now(), cid, true);
    for (auto d = discovery_.begin(); d != discovery_.end();)
      d = d->second == cid ? discovery_.erase(d) : std::next(d);
    std::vector<peer_handle> peers(j.attached.begin(), j.attached.end());
    for (const auto& [p, a] : j.dialed)
      if (!j.attached.contains(p)) peers.push_back(p);  // still connecting
    // Peers that still lack pieces keep their connection: this node now serves them what it
    // fetched (they close it when they are done, or it is closed when idle).
    std::set<peer_handle> keep;
    if (e.code == errc::ok && !stopping_)
      for (peer_handle p : j.attached)
        if (!j.f.peer_complete(p)) keep.insert(p);
    j.partial.reset();
    if (auto r = readers_.find(cid); r != readers_.end()) (void)r->second->refresh();
    jobs_.erase(it);
    const auto now = net::now();
    for (peer_handle p : peers) {
      conn_job_.erase(p);
      auto c = connections_.find(p);
      if (c == connections_.end() || keep.contains(p)) continue;
      // A goodbye, so that the peer logs why the connection ended rather than a hang-up.
      if (c->second->sess() && !c->second->sess()->closed()) {
        if (stopping_)
          c->second->sess()->close(now, wire::reason::shutting_down, "the node is shutting down");
        else
          c->second->sess()->close(
              now, wire::reason::done,
              e.code == errc::ok ? "the fetch is complete" : "the fetch has stopped");
        c->second->flush();
      } else {
        c->second->abort();
      }
    }
    if (!stopping_) pump_dht();  // the announcement of what was fetched
    // The fetch's piece buffers went back to the allocator, which keeps freed memory for reuse
    // (glibc raises its mmap threshold after the first large frees); give it back to the system
    // so that a node that fetched once does not stay at its peak.
    ::malloc_trim(0);
  }

  void start_get(const std::shared_ptr<control_client>& client, const json& req) {
    // Every field is read before anything changes, so a field of the wrong type (which throws)
    // leaves no half-made job behind.
    auto id = content_id::parse(req.value("id", std::string()));
    if (!id) return reply_error(client, id.err());
    const std::string name = req.value("name", id->str());
    const std::filesystem::path output = req.value("output", std::string());
    const bool origin_only = req.value("origin_only", false);
    if (!output.empty() && !output.is_absolute())
      return reply_error(client, {errc::invalid_argument,
                                  "output \"" + output.string() + "\" is not an absolute path"});
    std::vector<net::address> sources;
    const json from = req.value("from", json::array());
    if (!from.is_array())
      return reply_error(client,
                         {errc::invalid_argument, "\"from\" must be an array of HOST:PORT"});
    for (const auto& f : from) {
      auto a = net::parse_address(f.get<std::string>(), "--from");
      if (!a) return reply_error(client, a.err());
      sources.push_back(*a);
    }
    if (auto it = jobs_.find(*id); it != jobs_.end()) {  // already fetching: watch it too
      job& j = it->second;
      j.watchers.push_back(client);
      for (const auto& a : sources) {
        const bool known = std::any_of(j.dialed.begin(), j.dialed.end(),
                                       [&](const auto& d) { return d.second.str() == a.str(); });
        if (!known && !j.cut_off.contains(a.str()) && !j.redialing.contains(a.str())) dial(*id, a);
      }
      return;
    }
    auto existing = store_->open_reader(*id);
    if (existing && (*existing)->have().complete()) {
      json done{{"event", "done"},
                {"id", id->str()},
                {"total_bytes", (*existing)->layout().total_size()},
                {"received_bytes", 0},
                {"seconds", 0.0},
                {"already_held", true}};
      client->send(done);
      return client->close_after_writes();
    }
    if (sources.empty() && (origin_only || (bootstrap_.empty() && dht_.table().size() == 0)))
      return reply_error(
          client,
          {errc::invalid_argument,
           "no peer to fetch " + id->str() + " from: give one with --from HOST:PORT" +
               (origin_only ? ""
                            : ", or start the daemon with --bootstrap HOST:PORT (or the "
                              "config key bootstrap) so that holders are found in the DHT")});
    auto [it, inserted] = jobs_.try_emplace(*id, *id, rng_());
    job& j = it->second;
    j.name = name;
    j.started = net::now();
    j.watchers.push_back(client);
    j.sources = sources;
    j.origin_only = origin_only;
    j.discover = !origin_only;
    if (!output.empty()) {
      j.output_path = output;
      j.output_owner = client;
    }
    if (existing) {  // a fetch that was interrupted: resume from the verified pieces
      const auto& rd = **existing;
      auto partial = store_->open_partial(rd.get_manifest(), rd.record().summary.name,
                                          rd.record().piece_hashes);
      if (!partial) return finish_job(*id, partial.err());
      j.partial = std::move(*partial);
      if (!begin_output(*id, j, rd.get_manifest())) return;
      spdlog::info("resuming {}: {} of {} pieces already verified", id->str(),
                   j.partial->have().count(), j.partial->have().size());
      j.f.handle_known(j.started, rd.get_manifest(), rd.record().piece_hashes, j.partial->have());
    }
    for (const auto& a : sources) dial(*id, a);
    discover(j, j.started);
    pump(*id);
  }

  json limits_json() const {
    return json{{"upload", up_.rate()},
                {"download", down_.rate()},
                {"upload_text", rate_text(up_.rate())},
                {"download_text", rate_text(down_.rate())}};
  }

  // `limits`: changes the rate limits at once (fields absent are left as they are).
  void set_limits(const std::shared_ptr<control_client>& client, const json& req) {
    std::optional<std::uint64_t> up, down;
    for (const char* key : {"upload", "download"}) {
      if (!req.contains(key)) continue;
      auto r = parse_rate(req[key].get<std::string>(), key);
      if (!r) return reply_error(client, r.err());
      (std::string(key) == "upload" ? up : down) = *r;
    }
    const auto now = net::now();
    if (up) up_.set_rate(now, *up);
    if (down) down_.set_rate(now, *down);
    spdlog::info("rate limits: upload {}, download {}", rate_text(up_.rate()),
                 rate_text(down_.rate()));
    json reply = limits_json();
    reply["event"] = "limits";
    client->send(reply);
    client->close_after_writes();
  }

  void reply_error(const std::shared_ptr<control_client>& client, const error& e) {
    client->send(error_json(e));
    client->close_after_writes();
  }

  json status_json() {
    json peers = json::array();
    for (const auto& [id, c] : connections_) {
      if (!c->sess() || !c->peer()) continue;
      peers.push_back({{"node", c->peer()->id.str()},
                       {"name", c->peer()->name},
                       {"address", c->remote()},
                       {"direction", c->side() == connection::role::dialer ? "out" : "in"},
                       {"bytes_in", c->sess()->bytes_received()},
                       {"bytes_out", c->sess()->bytes_sent()}});
      if (const job* j = job_of(id)) {
        peers.back()["fetching"] = j->f.id().str();
        peers.back()["requests_in_flight"] = j->f.peer_in_flight(id);
        peers.back()["pipeline"] = j->f.peer_capacity(id);
        peers.back()["pieces_announced"] = j->f.peer_pieces(id);
      }
    }
    json fetches = json::array();
    for (const auto& [id, j] : jobs_) fetches.push_back(progress_json(j));
    // The swarms this node serves in: how many peers take part, and how many pieces no
    // connected peer holds yet (0: the peers hold a full copy between them without this node).
    json swarms = json::array();
    for (const auto& s : swarm_.swarms()) {
      swarms.push_back({{"id", s.id.str()},
                        {"peers", swarm_.members(s.id).size()},
                        {"pieces", s.pieces},
                        {"pieces_only_here", s.only_here}});
    }
    return json{{"event", "status"},
                {"node", identity_.self.id.str()},
                {"listen", listen_text_},
                {"uploaded_bytes", uploaded_},
                {"downloaded_bytes", downloaded_},
                {"limits", limits_json()},
                {"peers", peers},
                {"fetches", fetches},
                {"swarms", swarms},
                {"dht", dht_json()}};
  }

  // --- the DHT (src/core/dht.hpp does the protocol; this carries its messages) -------------

  // The member at the other end as the DHT knows it: where it listens, or port 0 if it does not.
  wire::peer_entry dht_entry_of(connection& c) {
    if (auto e = peer_entry_of(c)) return *e;
    wire::peer_entry e;
    if (c.peer()) e.node = c.peer()->id;
    return e;
  }

  // A connection to node `n` whose session is open, if there is one (the pool).
  connection* open_to(const node_id& n) {
    for (auto& [id, c] : connections_)
      if (c->peer() && c->peer()->id == n && c->sess() &&
          c->sess()->current_state() == session::state::open)
        return c.get();
    return nullptr;
  }

  // A session is open: the DHT learns of the member and gets the messages waiting for it.
  // False if the connection was dialed for a node the DHT named and reached another (closed).
  bool dht_established(connection& c) {
    const auto now = net::now();
    if (auto d = dht_dials_.find(c.id()); d != dht_dials_.end()) {
      const node_id want = d->second;
      dht_dials_.erase(d);
      if (c.peer() && c.peer()->id != want) {
        c.sess()->close(now, wire::reason::done, "this is not the node the DHT named here");
        c.flush();
        dht_outbox_.erase(want);
        dht_.handle_unreachable(now, want);
        pump_dht();
        return false;
      }
    }
    if (bootstrap_dials_.erase(c.id()) > 0 && c.peer()) {
      bootstrap_problems_.erase(c.remote());
      spdlog::info("joined the DHT through {}", c.describe());
    }
    if (!c.peer()) return true;
    const wire::peer_entry at = dht_entry_of(c);
    if (at.port != 0) dht_.handle_connected(now, at);
    if (auto box = dht_outbox_.find(c.peer()->id); box != dht_outbox_.end()) {
      for (const auto& m : box->second) c.sess()->send_dht(now, m);
      dht_outbox_.erase(box);
      c.flush();
    }
    pump_dht();
    return true;
  }

  // A connection ended: one dialed for the DHT that never opened means its node is unreachable,
  // unless another connection to that node is open (a duplicate closed), which takes its mail.
  void dht_connection_closed(peer_handle id) {
    bootstrap_dials_.erase(id);
    auto d = dht_dials_.find(id);
    if (d == dht_dials_.end()) return;
    const node_id n = d->second;
    dht_dials_.erase(d);
    const auto now = net::now();
    auto box = dht_outbox_.find(n);
    if (connection* other = open_to(n)) {
      if (box != dht_outbox_.end()) {
        for (const auto& m : box->second) other->sess()->send_dht(now, m);
        dht_outbox_.erase(box);
        other->flush();
      }
      return;
    }
    if (box != dht_outbox_.end()) dht_outbox_.erase(box);
    dht_.handle_unreachable(now, n);
    pump_dht();
  }

  void pump_dht() {
    const auto now = net::now();
    while (auto a = dht_.poll_action()) {
      if (auto* s = std::get_if<dht::actions::send>(&*a))
        send_dht(now, s->to, std::move(s->msg));
      else if (auto* f = std::get_if<dht::actions::providers_found>(&*a))
        on_providers_found(*f);
      else
        on_lookup_done(now, std::get<dht::actions::lookup_done>(*a));
    }
  }

  // Over a pooled connection to the node if there is one, else queued while one is dialed.
  void send_dht(time_point now, const wire::peer_entry& to, wire::message m) {
    if (to.node == identity_.self.id) return;
    if (connection* c = open_to(to.node)) {
      c->sess()->send_dht(now, m);
      c->flush();
      return;
    }
    // A member that does not listen is reached only over its own connection; without one, or
    // with too many dials out already, the message is dropped and its query times out.
    if (to.port == 0) return;
    const bool dialing = std::any_of(dht_dials_.begin(), dht_dials_.end(),
                                     [&](const auto& d) { return d.second == to.node; });
    if (!dialing && dht_dials_.size() >= max_dht_dials) return;
    auto& box = dht_outbox_[to.node];
    if (box.size() >= max_dht_outbox) box.pop_front();
    box.push_back(std::move(m));
    if (!dialing) dht_dials_[connect(address_of(to))] = to.node;
  }

  // Holders a running lookup has found so far: dialed at once.
  void on_providers_found(const dht::actions::providers_found& found) {
    auto d = discovery_.find(found.id);
    if (d == discovery_.end()) return;
    const content_id cid = d->second;
    auto it = jobs_.find(cid);
    if (it == jobs_.end()) return;
    std::vector<connection*> to_attach;
    for (const auto& p : found.providers) {
      const auto use = use_holder(it->second, p.peer, to_attach);
      if (use == holder_use::full) break;
      if (use == holder_use::added) it->second.providers_found.insert(p.peer.node);
    }
    attach_all(cid, to_attach);
  }

  void on_lookup_done(time_point now, const dht::actions::lookup_done& done) {
    const double ms = std::chrono::duration<double, std::milli>(done.stats.elapsed).count();
    json fig{{"kind", done.kind == dht::lookup_kind::get_providers ? "get_providers" : "find_node"},
             {"target", done.target.hex()},
             {"queries", done.stats.queries},
             {"answered", done.stats.answered},
             {"failed", done.stats.failed},
             {"rounds", done.stats.rounds},
             {"ms", ms},
             {"providers", done.providers.size()}};
    recent_lookups_.push_back(fig);
    if (recent_lookups_.size() > recent_lookups_kept) recent_lookups_.pop_front();
    auto d = discovery_.find(done.id);
    if (d == discovery_.end()) return;
    const content_id cid = d->second;
    discovery_.erase(d);
    spdlog::log(done.stats.queries > 0 ? spdlog::level::info : spdlog::level::debug,
                "DHT lookup for {}: {} holders; {} queries ({} answered, {} failed), "
                "{} round trips, {:.0f} ms",
                cid.str(), done.providers.size(), done.stats.queries, done.stats.answered,
                done.stats.failed, done.stats.rounds, ms);
    auto it = jobs_.find(cid);
    if (it == jobs_.end()) return;
    job& j = it->second;
    j.lookup.reset();
    ++j.lookups;
    j.last_lookup = fig;
    j.lookup_ended = now;
    std::size_t dialed_now = 0;
    std::vector<connection*> to_attach;
    for (const auto& p : done.providers) {
      const auto use = use_holder(j, p.peer, to_attach);
      if (use == holder_use::full) break;
      if (use == holder_use::added) {
        j.providers_found.insert(p.peer.node);
        ++dialed_now;
      }
    }
    const bool nothing = j.attached.empty() && j.dialed.empty() && j.redialing.empty();
    if (!nothing || !j.sources.empty() || dialed_now > 0) {
      j.fruitless = 0;
      j.next_lookup = now + rediscover_interval;
      attach_all(cid, to_attach);  // last: attaching pumps the fetch, which may end it
      return;
    }
    if (++j.fruitless >= max_fruitless_lookups) {
      std::string why;
      if (dht_.table().size() == 0)
        why = bootstrap_.empty() ? "this node knows no other member"
                                 : "no bootstrap peer has answered (" + bootstrap_text() + ")";
      else if (done.providers.empty())
        why = "no member holds it (the last lookup asked " + std::to_string(done.stats.answered) +
              " members)";
      else
        why = "no holder the DHT named could be reached" +
              (j.last_problem.empty() ? "" : ": " + j.last_problem);
      j.discover = false;
      return finish_job(
          cid, error{errc::not_found, "found no holder of " + cid.str() + " in " +
                                          std::to_string(j.lookups) + " DHT lookups: " + why});
    }
    j.next_lookup = now + std::chrono::seconds(1 << std::min(j.fruitless - 1, 2));
  }

  // Starts the job's provider lookup when one is due: every rediscover_interval, or a second
  // after the last if the fetch has lost every connection since (its holders went away).
  void discover(job& j, time_point now) {
    if (!j.discover || j.lookup) return;
    time_point due = j.next_lookup;
    if (j.fruitless == 0 && j.attached.empty() && j.dialed.empty() && j.redialing.empty())
      due = std::min(due, j.lookup_ended + std::chrono::seconds(1));
    if (now < due) return;
    auto id = dht_.lookup(now, dht::lookup_kind::get_providers, dht::key_of(j.f.id()));
    if (!id) {  // max_lookups are running: try again shortly
      j.next_lookup = now + std::chrono::seconds(1);
      return;
    }
    j.lookup = *id;
    discovery_[*id] = j.f.id();
    pump_dht();
  }

  // The bootstrap addresses, each with why its last dial failed, if it did.
  std::string bootstrap_text() const {
    std::string s;
    for (const auto& a : bootstrap_) {
      s += (s.empty() ? "" : "; ") + a.str();
      if (auto p = bootstrap_problems_.find(a.str()); p != bootstrap_problems_.end())
        s += ": " + p->second;
    }
    return s;
  }

  // While the DHT knows nobody, the bootstrap peers are dialed, with backoff up to a minute.
  void bootstrap_tick(time_point now) {
    if (bootstrap_.empty() || !bootstrap_dials_.empty() || stopping_) return;
    if (dht_.table().size() > 0) {
      bootstrap_attempts_ = 0;
      return;
    }
    if (now < next_bootstrap_) return;
    if (bootstrap_attempts_ > 0)
      spdlog::debug("DHT: no member known; dialing the bootstrap peers again ({})",
                    bootstrap_text());
    for (const auto& a : bootstrap_) bootstrap_dials_.insert(connect(a));
    next_bootstrap_ = now + std::chrono::seconds(1 << std::min(bootstrap_attempts_, 6));
    ++bootstrap_attempts_;
  }

  // Everything the store holds is announced: complete contents, and verified pieces of others.
  void provide_held() {
    auto held = store_->list();
    if (!held) return spdlog::warn("cannot list the store to announce it: {}", held.err().message);
    const auto now = net::now();
    std::size_t n = 0;
    // An empty content has no piece to hold, and is held all the same (complete).
    for (const auto& s : *held)
      if (s.have_count > 0 || s.complete()) {
        dht_.provide(now, s.id, s.complete());
        ++n;
      }
    if (n > 0) spdlog::info("announcing {} contents in the DHT", n);
  }

  json dht_json() {
    const auto& st = dht_.stats();
    json recent = json::array();
    for (const auto& f : recent_lookups_) recent.push_back(f);
    json boot = json::array();
    for (const auto& a : bootstrap_) boot.push_back(a.str());
    return json{{"contacts", dht_.table().size()},
                {"records", dht_.record_count()},
                {"lookups_running", dht_.lookups_running()},
                {"queries_pending", dht_.pending_queries()},
                {"lookups", st.lookups},
                {"queries_sent", st.queries_sent},
                {"queries_answered", st.queries_answered},
                {"announces_stored", st.announces_stored},
                {"announces_refused", st.announces_refused},
                {"stray_answers", st.stray_answers},
                {"bootstrap", boot},
                {"recent_lookups", recent}};
  }

  // --- sockets ------------------------------------------------------------------------------

  // Logs a line that outsiders can provoke (floods), at most a few per window, saying how many
  // were left out.
  template <typename... Args>
  void log_limited(log_limiter& l, spdlog::level::level_enum level, fmt::format_string<Args...> f,
                   Args&&... args) {
    std::uint64_t left_out = 0;
    if (!l.allow(net::now(), left_out)) return;
    std::string line = fmt::format(f, std::forward<Args>(args)...);
    if (left_out > 0) line += fmt::format(" ({} more like it not logged)", left_out);
    spdlog::log(level, "{}", line);
  }

  // A failed accept (EMFILE, ENFILE, ENOBUFS...) is tried again after a pause: at once, it
  // failed again at once, for ever.
  void retry_accept(asio::steady_timer& t, duration& backoff, const char* what,
                    const boost::system::error_code& ec, void (daemon_impl::*again)()) {
    log_limited(accept_log_, spdlog::level::warn, "accepting {}: {}; trying again in {} ms", what,
                ec.message(),
                std::chrono::duration_cast<std::chrono::milliseconds>(backoff).count());
    t.expires_after(backoff);
    backoff = std::min<duration>(2 * backoff, accept_retry_max);
    t.async_wait([this, again](boost::system::error_code e) {
      if (!e && !stopping_) (this->*again)();
    });
  }

  void accept_peers() {
    acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket sock) {
      if (ec) {
        if (ec != asio::error::operation_aborted && !stopping_)
          retry_accept(accept_retry_, accept_backoff_, "peers", ec, &daemon_impl::accept_peers);
        return;
      }
      accept_backoff_ = accept_retry_min;
      boost::system::error_code ignored;  // a hint; a failure here is not fatal
      if (connections_.size() >= limits_.peers) {
        const auto from = sock.remote_endpoint(ignored);
        log_limited(refuse_log_, spdlog::level::warn,
                    "turned away a connection from {}: {} connections are open, the most this "
                    "node takes (max_peer_connections, and the descriptor limit)",
                    from.address().to_string(), connections_.size());
        sock.close(ignored);
        return accept_peers();
      }
      shed_handshakes();
      sock.set_option(asio::ip::tcp::no_delay(true), ignored);
      const peer_handle id(++next_peer_);
      auto c = std::make_shared<connection>(tls_.get(), std::move(sock), *this, id, session_cfg_);
      connections_[id] = c;
      c->start();
      accept_peers();
    });
  }

  // Accepted connections not yet authenticated are bounded: at the bound the oldest is dropped,
  // so that a flood of connections that never finish their handshake cannot keep a member out.
  void shed_handshakes() {
    std::size_t handshaking = 0;
    connection* oldest = nullptr;
    for (auto& [id, c] : connections_)  // by handle: the oldest first
      if (c->side() == connection::role::acceptor && c->handshaking()) {
        if (!oldest) oldest = c.get();
        ++handshaking;
      }
    if (handshaking < limits_.handshaking || !oldest) return;
    log_limited(refuse_log_, spdlog::level::warn,
                "dropped a connection from {} still in its handshake: {} are, the most this "
                "node waits for",
                oldest->remote(), handshaking);
    oldest->shed();
  }

  void accept_control() {
    control_.async_accept([this](boost::system::error_code ec, local::socket sock) {
      if (ec) {
        if (ec != asio::error::operation_aborted && !stopping_)
          retry_accept(control_retry_, control_backoff_, "control connections", ec,
                       &daemon_impl::accept_control);
        return;
      }
      control_backoff_ = accept_retry_min;
      auto client = std::make_shared<control_client>(std::move(sock));
      if (admit_control(client)) {
        client->await_request(control_request_timeout);
        read_control(client, std::make_shared<std::string>());
      }
      accept_control();
    });
  }

  // Control connections are bounded: at the bound the oldest that has asked nothing yet makes
  // room; if every one is in use (watching fetches), the newcomer is told so.
  bool admit_control(const std::shared_ptr<control_client>& client) {
    std::erase_if(controls_, [](const auto& w) {
      auto c = w.lock();
      return !c || !c->open();
    });
    if (controls_.size() >= limits_.control) {
      auto idle = std::find_if(controls_.begin(), controls_.end(), [](const auto& w) {
        auto c = w.lock();
        return c && !c->asked();
      });
      if (idle == controls_.end()) {
        log_limited(refuse_log_, spdlog::level::warn,
                    "turned away a control connection: {} are in use, the most this node takes "
                    "(max_control_connections)",
                    controls_.size());
        reply_error(client, {errc::busy, std::to_string(controls_.size()) +
                                             " control connections are in use, the most this "
                                             "daemon takes (max_control_connections); try again "
                                             "when one ends"});
        return false;
      }
      if (auto c = idle->lock()) c->close();
      controls_.erase(idle);
    }
    controls_.push_back(client);
    return true;
  }

  void read_control(std::shared_ptr<control_client> client, std::shared_ptr<std::string> buf) {
    asio::async_read_until(
        client->socket(), asio::dynamic_buffer(*buf, max_control_line), '\n',
        [this, client, buf](boost::system::error_code ec, std::size_t n) {
          if (ec) return;  // the CLI went away; a fetch it started goes on
          client->mark_asked();
          const std::string line = buf->substr(0, n);
          buf->erase(0, n);
          json req = json::parse(line, nullptr, false);
          if (req.is_discarded() || !req.is_object())
            return reply_error(client, {errc::invalid_argument, "control request is not JSON"});
          // Fields of the wrong type make nlohmann::json throw; that is the client's error and
          // must not stop the daemon.
          try {
            const std::string op = req.value("op", "");
            if (op == "get") {
              start_get(client, req);
            } else if (op == "limits") {
              set_limits(client, req);
            } else if (op == "status") {
              client->send(status_json());
              client->close_after_writes();
            } else {
              reply_error(client, {errc::invalid_argument, "unknown control op \"" + op + "\""});
            }
          } catch (const json::exception& e) {
            reply_error(client, {errc::invalid_argument,
                                 std::string("control request has a field of the wrong type: ") +
                                     e.what()});
          }
        });
  }

  void tick() {
    ticker_.expires_after(std::chrono::milliseconds(250));
    ticker_.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping_) return;
      for (auto& [id, j] : jobs_) {
        std::erase_if(j.watchers, [](const auto& w) { return !w->open(); });
        if (j.output_owner && !j.output_owner->open()) {
          // Whoever asked for the output is gone: do not create it behind their back.
          j.output.reset();
          j.output_owner.reset();
        }
        const json p = progress_json(j);
        for (auto& w : j.watchers) w->send(p);
      }
      std::vector<content_id> ids;
      for (auto& [id, j] : jobs_) ids.push_back(id);
      for (const auto& id : ids) {
        if (auto it = jobs_.find(id); it != jobs_.end()) {
          it->second.f.handle_tick(net::now());
          pump(id);
        }
      }
      const auto now = net::now();
      dht_.handle_tick(now);
      pump_dht();
      for (const auto& id : ids)  // a lookup can end a fetch: look each up again
        if (auto it = jobs_.find(id); it != jobs_.end()) discover(it->second, now);
      bootstrap_tick(now);
      close_idle();
      tick();
    });
  }

  // Connections that no fetch of ours uses and over which the peer has asked for nothing lately.
  void close_idle() {
    const auto now = net::now();
    std::vector<std::shared_ptr<connection>> idle;
    for (auto& [id, c] : connections_) {
      auto l = links_.find(id);
      if (l == links_.end() || conn_job_.contains(id) || !c->sess() || c->sess()->closed())
        continue;
      if (now - l->second.last_useful >= idle_close) idle.push_back(c);
    }
    for (auto& c : idle) {
      c->sess()->close(now, wire::reason::done, "idle: neither side needs this connection");
      c->flush();
    }
  }

  void log_close(connection& c, const session_events::closed& e) {
    const std::string who = c.describe();
    if (e.code == wire::reason::none || e.code == wire::reason::done)
      spdlog::info("disconnected: {}: {}", who, e.text);
    else
      spdlog::warn("disconnected: {}: {} ({}{})", who, e.text, wire::reason_name(e.code),
                   e.by_peer ? ", said the peer" : "");
  }

  void shutdown() {
    stopping_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    control_.close(ignored);
    ticker_.cancel();
    std::vector<content_id> ids;
    for (auto& [id, j] : jobs_) ids.push_back(id);
    for (const auto& id : ids)
      finish_job(id, {errc::busy,
                      "the daemon is shutting down; run the command again to "
                      "resume from the verified pieces"});
    auto conns = connections_;
    for (auto& [id, c] : conns) {
      if (c->sess()) {
        c->sess()->close(net::now(), wire::reason::shutting_down, "the node is shutting down");
        c->flush();
      } else {
        c->abort();
      }
    }
    // Give goodbyes a moment to leave, then stop whatever is left.
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(300));
    t->async_wait([this, t](boost::system::error_code) { io_.stop(); });
  }

  daemon_options opts_;
  std::unique_ptr<store::store> store_;
  member::identity identity_;
  asio::io_context io_{1};
  disk_worker disk_;  // after io_: stopped (and joined) before io_ goes
  std::unique_ptr<ssl_ctx_st, void (*)(ssl_ctx_st*)> tls_;
  std::uint64_t descriptors_;
  connection_limits limits_;
  asio::ip::tcp::acceptor acceptor_;
  local::acceptor control_;
  std::deque<std::weak_ptr<control_client>> controls_;  // open CLI connections, oldest first
  log_limiter accept_log_{5, std::chrono::seconds(10)};
  log_limiter refuse_log_{10, std::chrono::seconds(10)};
  log_limiter handshake_log_{20, std::chrono::seconds(10)};
  asio::signal_set signals_;
  asio::steady_timer ticker_;
  asio::steady_timer accept_retry_;
  asio::steady_timer control_retry_;
  duration accept_backoff_ = accept_retry_min;
  duration control_backoff_ = accept_retry_min;
  std::string listen_text_;
  std::mt19937_64 rng_;
  crypto::sha256_hasher hasher_;
  std::uint64_t next_peer_ = 0;
  bool stopping_ = false;
  std::map<peer_handle, std::shared_ptr<connection>> connections_;
  std::set<peer_handle> refused_;
  // Connections the peer closed with goodbye(overloaded): its swarm was full (or we went over
  // its request bound, which our fetch never does). Not redialed.
  std::set<peer_handle> full_;
  std::map<peer_handle, content_id> conn_job_;
  std::map<content_id, job> jobs_;
  std::map<content_id, std::unique_ptr<store::content_reader>> readers_;
  std::deque<cached_piece> pieces_;
  session_config session_cfg_;
  token_bucket up_;
  token_bucket down_;
  std::uint64_t uploaded_ = 0;    // bytes written to peers (TLS payload)
  std::uint64_t downloaded_ = 0;  // bytes read from peers
  std::map<peer_handle, link> links_;
  swarm swarm_;  // who takes part in which swarm, what they announced, the first-copy rule
  // The DHT: after identity_ and rng_, which it is made from (as swarm_ is from rng_).
  dht::node dht_;
  std::map<node_id, std::deque<wire::message>> dht_outbox_;  // waiting for a connection
  std::map<peer_handle, node_id> dht_dials_;  // dialed for the DHT, and the node expected
  std::vector<net::address> bootstrap_;
  std::set<peer_handle> bootstrap_dials_;
  std::map<std::string, std::string> bootstrap_problems_;  // address: why its last dial failed
  time_point next_bootstrap_{};
  int bootstrap_attempts_ = 0;
  std::map<dht::lookup_id, content_id> discovery_;  // provider lookups and their fetch
  std::deque<json> recent_lookups_;
};

}  // namespace

std::filesystem::path control_socket_path(const std::filesystem::path& data_dir) {
  return data_dir / "control.sock";
}

result<std::unique_ptr<daemon>> daemon::create(const daemon_options& opts) {
  // A peer or a CLI that hangs up mid-write is an error to handle, not a reason to die.
  std::signal(SIGPIPE, SIG_IGN);
  auto listen = net::parse_address(opts.listen, "listen address", net::port_zero::means_any);
  if (!listen) return std::move(listen).err();
  auto id = member::load_identity(opts.data_dir);
  if (!id) return std::move(id).err();
  auto s = store::store::open(opts.data_dir, store::access::read_write);
  if (!s) return std::move(s).err();
  for (const auto& w : (*s)->warnings()) spdlog::warn("{}", w);
  auto ctx = member::make_tls_context(*id);
  if (!ctx) return std::move(ctx).err();
  const std::uint64_t descriptors = raise_descriptor_limit();
  auto d = std::make_unique<daemon_impl>(opts, std::move(*s), std::move(*id), *ctx, descriptors);
  SHOAL_TRY(d->bind(*listen));
  return std::unique_ptr<daemon>(std::move(d));
}

}  // namespace shoal::node
