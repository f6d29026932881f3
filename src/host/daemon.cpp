// The daemon: a thin host for the core node (core/node.hpp). It owns the sockets, TLS, the
// control channel, the store, the disk worker, logging and signals, feeds the node what happens
// and carries out what the node asks for. No protocol rule lives here. The class is in
// daemon_impl.hpp; the control channel and HTTP parts are in daemon_control.cpp.
#include "host/daemon_impl.hpp"

namespace shoal::host {
namespace detail {

result<void> daemon_impl::bind(const net::address& listen) {
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
  listen_text_ = ec ? listen.str() : net::address{bound.address().to_string(), bound.port()}.str();
  // Told to peers in our hello, so that they can pass it on to others in the swarm.
  session_cfg_.listen_port = ec ? listen.port : bound.port();

  SHOAL_TRY(control_.listen(control_socket_path(opts_.data_dir)));
  if (opts_.http_listen == "off") return {};
  auto at = net::parse_address(opts_.http_listen, "http_listen", net::port_zero::means_any);
  if (!at) return std::move(at).err();
  auto token = load_or_make_http_token(opts_.data_dir);
  if (!token) return std::move(token).err();
  http_ = std::make_unique<http_server>(io_, std::min(max_http_clients, limits_.http));
  SHOAL_TRY(http_->listen(*at));
  http_api_.emplace(http_api{
      *store_, *token, [this] { return status_json(); }, [this] { return metrics(); },
      [this] { return not_ready(); },
      [this](const content_id& id, auto done) { gateway_open(id, std::move(done)); },
      [this](const content_id& id, piece_index p, auto done) {
        gateway_wait(id, p, std::move(done));
      },
      [this](const std::shared_ptr<reply_sink>& sink, const json& req) {
        const std::string op = req.value("op", "");
        if (op == "cancel")
          cancel_fetch(sink, req);
        else if (op == "get")
          start_get(sink, req);
        else if (op == "limits")
          set_limits(sink, req);
        else
          content_.handle(sink, op, req);
      },
      [this](const content_id& id) { return content_status_json(id); },
      [this](std::function<void()> work, std::function<void()> then) {
        // Both functions go back to the io thread to be run and destroyed there: what
        // they hold belongs to it.
        gateway_reads_.post([this, work = std::move(work), then = std::move(then)]() mutable {
          work();
          asio::post(io_, [work = std::move(work), then = std::move(then)] { then(); });
        });
      }});
  return {};
}

int daemon_impl::run() {
  // Before "listening on", which scripts wait for: both addresses are known then.
  if (http_)
    spdlog::info("HTTP on http://{}/ (API, gateway, /metrics; token in {})", http_->bound(),
                 (opts_.data_dir / "http.token").string());
  spdlog::info("node {} listening on {} (control socket {})", identity_.self.id.str(), listen_text_,
               control_socket_path(opts_.data_dir).string());
  if (up_.rate() || down_.rate())
    spdlog::info("rate limits: upload {}, download {} (from {})", rate_text(up_.rate()),
                 rate_text(down_.rate()),
                 opts_.limits_source.empty() ? "flags" : opts_.limits_source);
  spdlog::info(
      "{} file descriptors: at most {} peer connections ({} of them in their handshake), {} "
      "control connections, {} data files open for serving, {} HTTP clients",
      descriptors_, limits_.peers, limits_.handshaking, limits_.control, limits_.readers,
      http_ ? std::min(max_http_clients, limits_.http) : 0);
  tell_held();
  load_revocations();
  node_.handle_own_certificate(
      net::now(), expiry_on_core_clock(identity_.self.not_after_unix),
      std::chrono::seconds(identity_.self.not_after_unix - identity_.self.not_before_unix));
  node_.handle_tick(net::now());
  drain();
  accept_peers();
  if (http_) {
    http_->start(
        [this](const auto& s, http_request r) { route_http(*http_api_, s, std::move(r)); });
  }
  control_.start([this](const auto& client, const json& req) { handle_control(client, req); });
  wait_for_signals();
  tick();
  notify_.ready(status_line());
  io_.run();
  // An add in progress is cancelled; writes still queued finish, and their results are
  // recorded.
  content_.stop();
  gateway_reads_.stop();
  disk_.stop();
  io_.restart();
  io_.poll();
  std::error_code fec;
  std::filesystem::remove(control_socket_path(opts_.data_dir), fec);
  spdlog::info("stopped");
  return exit_code_;
}

void daemon_impl::on_established(connection& c) {
  if (!c.peer()) return;
  node_.handle_authenticated(net::now(), c.id(),
                             authenticated_peer{c.peer()->id, c.peer()->name, ip_of(c),
                                                expiry_on_core_clock(c.peer()->not_after_unix)});
  drain();
}

void daemon_impl::on_refused(connection& c, failure kind, const std::string& why) {
  if (c.side() == connection::role::acceptor) {
    if (kind == failure::untrusted) ++counters_.refused_incoming;
    // Anyone can open connections to the peer port: what they cost in log lines is bounded.
    log_limited(handshake_log_, spdlog::level::warn, "{}: {}: {}",
                kind == failure::untrusted ? "refused" : "handshake failed", c.remote(), why);
    return;
  }
  node_.handle_dial_failed(net::now(), c.id(), kind == failure::untrusted, why);
  drain();
}

void daemon_impl::on_closed(connection& c) {
  auto keep = connections_[c.id()];  // the object lives until this function returns
  connections_.erase(c.id());
  node_.handle_closed(net::now(), c.id());
  drain();
}

void daemon_impl::on_event(connection& c, session_event ev) {
  node_.handle_session_event(net::now(), c.id(), std::move(ev));
  drain();
}

duration daemon_impl::upload_delay(std::size_t bytes) {
  counters_.uploaded += bytes;
  return up_.take(net::now(), bytes);
}

duration daemon_impl::download_delay(std::size_t bytes) {
  counters_.downloaded += bytes;
  return down_.take(net::now(), bytes);
}

void daemon_impl::drain() {
  std::vector<std::shared_ptr<connection>> touched;
  const auto touch = [&](const std::shared_ptr<connection>& c) {
    if (std::find(touched.begin(), touched.end(), c) == touched.end()) touched.push_back(c);
  };
  while (auto a = node_.poll_action()) {
    const auto now = net::now();
    if (auto* d = std::get_if<node_actions::dial>(&*a)) {
      auto c = std::make_shared<connection>(io_, tls_.get(), d->to, *this, d->peer, session_cfg_);
      connections_[d->peer] = c;
      c->start();  // only posts its coroutine: nothing is reported before this returns
    } else if (auto* s = std::get_if<node_actions::send>(&*a)) {
      auto c = find(s->peer);
      if (!c || !c->sess() || c->sess()->closed()) continue;
      c->sess()->send_message(now, std::move(s->msg));
      touch(c);
    } else if (auto* cl = std::get_if<node_actions::close>(&*a)) {
      auto c = find(cl->peer);
      if (!c) continue;
      if (c->sess() && !c->sess()->closed()) {
        c->sess()->close(now, cl->code, cl->text, cl->keep_queued);
        touch(c);
      } else if (!c->sess()) {
        c->abort();
      }
    } else if (auto* l = std::get_if<node_actions::log>(&*a)) {
      spdlog::log(level_of(l->level), "{}", l->text);
    } else if (auto* lc = std::get_if<node_actions::load_content>(&*a)) {
      node_.handle_content_loaded(now, lc->id, load(lc->id));
    } else if (auto* rp = std::get_if<node_actions::read_piece>(&*a)) {
      node_.handle_piece_read(now, rp->id, rp->piece, read(rp->id, rp->piece));
    } else if (auto* o = std::get_if<node_actions::open_content>(&*a)) {
      open_content(now, *o);
    } else if (auto* w = std::get_if<node_actions::write_piece>(&*a)) {
      write_piece(w->id, w->piece, std::move(w->data));
    } else if (auto* st = std::get_if<node_actions::piece_stored>(&*a)) {
      if (auto r = readers_.find(st->id); r != readers_.end()) (void)r->second->refresh();
    } else if (auto* e = std::get_if<node_actions::fetch_ended>(&*a)) {
      fetch_ended(std::move(*e));
    } else if (auto* ra = std::get_if<node_actions::revocations_adopted>(&*a)) {
      revocations_adopted(*ra);
    }
  }
  for (auto& c : touched) c->flush();
}

std::shared_ptr<connection> daemon_impl::find(peer_handle p) {
  auto it = connections_.find(p);
  return it == connections_.end() ? nullptr : it->second;
}

store::content_reader* daemon_impl::reader(const content_id& id) {
  if (auto it = readers_.find(id); it != readers_.end()) return it->second.get();
  auto r = store_->open_reader(id);
  if (!r) return nullptr;
  if (readers_.size() >= limits_.readers) readers_.erase(readers_.begin());
  return readers_.emplace(id, std::move(*r)).first->second.get();
}

std::optional<held_content> daemon_impl::load(const content_id& id) {
  store::content_reader* r = reader(id);
  if (!r) return std::nullopt;
  (void)r->refresh();
  return held_content{r->record().manifest_bytes, r->record().summary.name,
                      r->record().piece_hashes, r->layout(), r->have()};
}

result<piece_data> daemon_impl::read(const content_id& id, piece_index p) {
  store::content_reader* r = reader(id);
  if (!r) return error{errc::not_found, "the store no longer holds " + id.str()};
  piece_data d;
  auto bytes = r->read_piece(p, &d.leaves);
  if (!bytes) return std::move(bytes).err();
  d.bytes = std::move(*bytes);
  return d;
}

void daemon_impl::tell_held() {
  auto held = store_->list();
  if (!held) return spdlog::warn("cannot list the store to announce it: {}", held.err().message);
  const auto now = net::now();
  std::size_t n = 0;
  for (const auto& s : *held) {
    node_.handle_held(now, s.id, s.have_count, s.complete());
    if (s.have_count > 0 || s.complete()) ++n;
  }
  if (n > 0) spdlog::info("announcing {} contents in the DHT", n);
}

void daemon_impl::open_content(time_point now, const node_actions::open_content& o) {
  auto w = watched_.find(o.id);
  if (w == watched_.end() || w->second.seq != node_.fetch_seq(o.id)) return;
  watched_fetch& f = w->second;
  const std::uint64_t seq = f.seq;
  f.name = o.name;  // the node's choice: the request's, else the holder's, else the ID
  if (auto r = begin_output(f, o.id, o.m); !r) return node_.handle_opened(now, o.id, seq, r.err());
  auto partial = store_->open_partial(o.m, o.name, o.piece_hashes);
  if (!partial) return node_.handle_opened(now, o.id, seq, partial.err());
  f.partial = std::move(*partial);
  node_.handle_opened(now, o.id, seq, f.partial->have());
  for (auto& done : std::exchange(f.open_waiters, {})) done(nullptr);
}

void daemon_impl::write_piece(const content_id& cid, piece_index piece, aligned_bytes data) {
  auto w = watched_.find(cid);
  if (w == watched_.end() || !w->second.partial) return;
  disk_.post([this, cid, seq = w->second.seq, partial = w->second.partial,
              output = w->second.output, piece, data = std::move(data)]() mutable {
    auto r = partial->write_verified_data(piece, data);
    result<void> out_r;
    if (r && output) out_r = output->write_piece(piece, data);
    output.reset();
    asio::post(io_, [this, cid, seq, partial = std::move(partial), piece, r = std::move(r),
                     out_r = std::move(out_r)]() mutable {
      piece_written(cid, seq, *partial, piece, std::move(r), out_r);
    });
  });
}

void daemon_impl::piece_written(const content_id& cid, std::uint64_t seq,
                                store::partial_content& partial, piece_index piece, result<void> r,
                                const result<void>& out_r) {
  // Recorded even when its fetch has ended meanwhile: the bytes are verified and on disk, and
  // the next fetch of the content should not ask for them again.
  if (r) r = partial.mark_stored(piece);
  auto w = watched_.find(cid);
  if (w == watched_.end() || w->second.seq != seq) return;
  watched_fetch& f = w->second;
  if (!out_r && !f.output_failed) {
    spdlog::warn("fetch of {}: cannot write the output, fetching into the store only: {}",
                 cid.str(), out_r.err().message);
    f.output_failed = out_r.err();
    f.output.reset();  // its temporary tree goes once the writes in flight let go of it
  }
  node_.handle_piece_written(net::now(), cid, seq, piece, r);
  if (r)
    if (auto pw = f.piece_waiters.extract(piece))
      for (auto& done : pw.mapped()) done(nullptr);
  drain();
}

error daemon_impl::output_error(const content_id& cid, const error& e) {
  return error{e.code, "fetched " + cid.str() +
                           " into the store, but could not write the output: " + e.message +
                           "; write it out with `shoal export " + cid.str() +
                           " -o PATH` once there is room"};
}

result<void> daemon_impl::begin_output(watched_fetch& f, const content_id& cid, const manifest& m) {
  if (f.output_path.empty()) return {};
  auto w = store::export_writer::begin(cid, m, f.output_path, f.name);
  if (!w) return std::move(w).err();
  f.output = std::move(*w);
  return {};
}

void daemon_impl::fetch_ended(node_actions::fetch_ended e) {
  ++(e.why.code == errc::ok          ? counters_.fetches_done
     : e.why.code == errc::cancelled ? counters_.fetches_cancelled
                                     : counters_.fetches_failed);
  counters_.fetched_from_sources += e.report.from_sources;
  counters_.fetched_from_peers += e.report.from_peers;
  auto w = watched_.find(e.id);
  if (w == watched_.end()) return;
  watched_fetch f = std::move(w->second);
  watched_.erase(w);
  if (f.partial) {
    if (auto r = readers_.find(e.id); r != readers_.end()) (void)r->second->refresh();
  }
  if (e.why.code == errc::ok && f.output && f.partial) {
    disk_.post([this, e = std::move(e), f = std::move(f)]() mutable {
      auto r = f.output->finish(f.partial->data_file(), f.partial->piece_hashes());
      asio::post(io_, [this, e = std::move(e), f = std::move(f), r = std::move(r)]() mutable {
        f.output.reset();
        if (!r) e.why = output_error(e.id, r.err());
        report_end(f, e, r ? std::optional(r->path) : std::nullopt);
      });
    });
    return;
  }
  if (e.why.code == errc::ok && f.output_failed) e.why = output_error(e.id, *f.output_failed);
  f.output.reset();  // unfinished: its temporary tree goes
  report_end(f, e, std::nullopt);
}

void daemon_impl::report_end(watched_fetch& f, const node_actions::fetch_ended& e,
                             const std::optional<std::filesystem::path>& output) {
  json last = progress_json(e.report);
  if (e.why.code == errc::ok) {
    last["event"] = "done";
    last["seconds"] = std::chrono::duration<double>(e.report.elapsed).count();
  } else {
    last = error_json(e.why);
  }
  for (auto& w : f.watchers) {
    json mine = last;
    if (output && w == f.output_owner) mine["output"] = output->string();
    w->send(mine);
    w->close_after_writes();
  }
  // Gateway responses still waiting: on success every piece is stored; else they end with why.
  const error* why = e.why.code == errc::ok ? nullptr : &e.why;
  for (auto& done : std::exchange(f.open_waiters, {})) done(why);
  for (auto& [p, waiting] : std::exchange(f.piece_waiters, {}))
    for (auto& done : waiting) done(why);
  f.partial.reset();
  // The fetch's piece buffers went back to the allocator, which keeps freed memory for reuse
  // (glibc raises its mmap threshold after the first large frees); give it back to the system
  // so that a node that fetched once does not stay at its peak.
  ::malloc_trim(0);
}

void daemon_impl::accept_peers() {
  acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket sock) {
    if (ec) {
      if (ec != asio::error::operation_aborted && !stopping_)
        accept_retry_.after_failure(accept_log_, "peers", ec, [this] {
          if (!stopping_) accept_peers();
        });
      return;
    }
    accept_retry_.reset();
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
    const auto ep = sock.remote_endpoint(ignored);
    const peer_handle id =
        node_.handle_accepted(net::now(), ignored ? "an unknown address" : net::endpoint_text(ep));
    auto c = std::make_shared<connection>(tls_.get(), std::move(sock), *this, id, session_cfg_);
    connections_[id] = c;
    c->start();
    accept_peers();
  });
}

void daemon_impl::shed_handshakes() {
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

void daemon_impl::tick() {
  ticker_.expires_after(node_.cfg().tick_interval);
  ticker_.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping_) return;
    const auto now = net::now();
    for (auto& [id, f] : watched_) {
      std::erase_if(f.watchers, [](const auto& w) { return !w->open(); });
      if (f.output_owner && !f.output_owner->open() && !f.detached) {
        // Whoever asked for the output is gone: do not create it behind their back.
        f.output.reset();
        f.output_owner.reset();
      }
      if (auto r = node_.report(now, id)) {
        const json p = progress_json(*r);
        for (auto& w : f.watchers) w->send(p);
      }
    }
    node_.handle_tick(now);
    drain();
    const auto wall = std::chrono::steady_clock::now();
    notify_.tick(wall);
    if (wall >= next_status_) {
      next_status_ = wall + std::chrono::seconds(10);
      notify_.status(status_line());
    }
    tick();
  });
}

std::string daemon_impl::status_line() const {
  std::size_t peers = 0;
  for (const auto& [id, c] : connections_)
    if (c->sess() && c->peer()) ++peers;
  return fmt::format("{} peers, {} fetches, listening on {}", peers, node_.fetches().size(),
                     listen_text_);
}

void daemon_impl::reload() {
  notify_.reloading();
  auto r = opts_.reload();
  if (!r) {
    spdlog::error("SIGHUP: the configuration was not reloaded, the daemon goes on as it was: {}",
                  r.err().message);
  } else {
    configure_logging(r->log);
    const auto now = net::now();
    up_.set_rate(now, r->upload_limit);
    down_.set_rate(now, r->download_limit);
    spdlog::info(
        "SIGHUP: configuration reloaded: log level {}, rate limits upload {}, download "
        "{} (from {}); the listen addresses, bootstrap and connection bounds need a "
        "restart",
        log_level_name(r->log.level), rate_text(up_.rate()), rate_text(down_.rate()),
        r->limits_source);
  }
  notify_.ready(status_line());
}

void daemon_impl::wait_for_signals() {
  signals_.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (sig == SIGHUP) {
      if (opts_.reload)
        reload();
      else
        spdlog::info("signal {} (SIGHUP): nothing to reload, the daemon goes on", sig);
      return wait_for_signals();
    }
    spdlog::info("signal {}: shutting down", sig);
    shutdown();
  });
}

void daemon_impl::shutdown() {
  stopping_ = true;
  notify_.stopping();
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  control_.stop();
  if (http_) http_->stop();
  ticker_.cancel();
  node_.shutdown(net::now(), {errc::busy,
                              "the daemon is shutting down; run the command again to "
                              "resume from the verified pieces"});
  drain();
  // Give goodbyes a moment to leave, then stop whatever is left.
  auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(300));
  t->async_wait([this, t](boost::system::error_code) { io_.stop(); });
}

}  // namespace detail

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
  SHOAL_TRY(detail::check_not_revoked(opts.data_dir, *id));
  auto s = store::store::open(opts.data_dir, store::access::read_write);
  if (!s) return std::move(s).err();
  for (const auto& w : (*s)->warnings()) spdlog::warn("{}", w);
  auto ctx = member::make_tls_context(*id);
  if (!ctx) return std::move(ctx).err();
  const std::uint64_t descriptors = raise_descriptor_limit();
  auto d =
      std::make_unique<detail::daemon_impl>(opts, std::move(*s), std::move(*id), *ctx, descriptors);
  SHOAL_TRY(d->bind(*listen));
  return std::unique_ptr<daemon>(std::move(d));
}

}  // namespace shoal::host
