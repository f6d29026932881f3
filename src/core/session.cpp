#include "core/session.hpp"

#include <algorithm>

namespace shoal {
namespace {

// How many withdrawn requests are remembered so that their late answers are not violations.
constexpr std::size_t withdrawn_limit = 4096;
// Manifest and hash requests the peer may have outstanding with us at once.
constexpr int max_peer_metadata_requests = 16;

std::string seconds(duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

}  // namespace

session::session(session_config cfg, time_point now)
    : cfg_(std::move(cfg)),
      opened_(now),
      last_received_(now),
      last_sent_(now),
      dht_budget_at_(now) {
  SHOAL_ASSERT(cfg_.max_requests >= 1);
  send(now, wire::hello{wire::protocol_version, wire::protocol_version, cfg_.max_requests,
                        cfg_.listen_port, cfg_.agent});
  unpolled_hello_ = out_.size();
}

void session::send(time_point now, const wire::message& m) {
  const std::size_t before = out_.size();
  wire::encode(m, out_);
  bytes_out_ += out_.size() - before;
  last_sent_ = now;
}

void session::handle_bytes(time_point now, byte_span bytes) {
  if (closed()) return;
  bytes_in_ += bytes.size();
  last_received_ = now;
  reader_.append(bytes);
  while (!closed()) {
    auto next = reader_.next();
    if (!next) return fail(now, wire::reason::protocol_violation, next.err().message);
    if (!next->has_value()) return;
    on_message(now, std::move(**next));
  }
}

void session::handle_eof(time_point) {
  if (closed()) return;
  // A connection cut inside a frame: our verdict, not something the peer said.
  if (auto r = reader_.finish(); !r)
    return finish(wire::reason::protocol_violation, r.err().message, false);
  finish(wire::reason::none, "the peer closed the connection", true);
}

void session::on_message(time_point now, wire::message m) {
  if (state_ == state::awaiting_hello) {
    if (auto* h = std::get_if<wire::hello>(&m)) return on_hello(now, *h);
    return fail(now, wire::reason::protocol_violation,
                std::string("expected hello first, got ") + wire::type_name(wire::type_of(m)));
  }
  using wire::request_kind;
  std::visit(
      [&](auto&& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, wire::hello>) {
          fail(now, wire::reason::protocol_violation, "a second hello");
        } else if constexpr (std::is_same_v<T, wire::keepalive>) {
        } else if constexpr (std::is_same_v<T, wire::goodbye>) {
          finish(msg.code, msg.text, true);
        } else if constexpr (std::is_same_v<T, wire::get_manifest> ||
                             std::is_same_v<T, wire::get_hashes>) {
          if (peer_metadata_ >= max_peer_metadata_requests)
            return fail(now, wire::reason::overloaded,
                        "more than " + std::to_string(max_peer_metadata_requests) +
                            " manifest and hash requests outstanding");
          ++peer_metadata_;
          events_.push_back(std::move(msg));
        } else if constexpr (std::is_same_v<T, wire::manifest_part>) {
          const wire::block_ref ref{msg.content, piece_index(msg.offset), 0};
          on_answer(now, request_kind::manifest, ref, std::move(msg));
        } else if constexpr (std::is_same_v<T, wire::hashes>) {
          const wire::block_ref ref{msg.content, msg.first, 0};
          on_answer(now, request_kind::hashes, ref, std::move(msg));
        } else if constexpr (std::is_same_v<T, wire::bitfield> || std::is_same_v<T, wire::have> ||
                             std::is_same_v<T, wire::peers> || std::is_same_v<T, wire::dht_nodes> ||
                             std::is_same_v<T, wire::dht_ack>) {
          events_.push_back(std::move(msg));
        } else if constexpr (std::is_same_v<T, wire::dht_query> ||
                             std::is_same_v<T, wire::dht_announce> ||
                             std::is_same_v<T, wire::revocations>) {
          // Each is answered at once (a revocation list is verified), so the cost is the
          // answer's bytes or a signature check: a peer that sends faster than the budget allows
          // is cut off rather than let it fill our output buffer or our CPU.
          if (!take_dht_budget(now))
            return fail(now, wire::reason::overloaded,
                        "more than " + std::to_string(dht_burst) + " DHT requests in a burst (" +
                            std::to_string(dht_per_second) + " a second allowed)");
          events_.push_back(std::move(msg));
        } else if constexpr (std::is_same_v<T, wire::request>) {
          on_peer_request(now, msg);
        } else if constexpr (std::is_same_v<T, wire::block>) {
          const wire::block_ref ref = msg.ref;
          on_answer(now, request_kind::block, ref, std::move(msg));
        } else if constexpr (std::is_same_v<T, wire::cancel>) {
          peer_requests_.erase(msg.ref);  // a request already answered is simply gone
        } else if constexpr (std::is_same_v<T, wire::reject>) {
          const auto kind = msg.kind;
          const auto ref = msg.ref;
          on_answer(now, kind, ref, std::move(msg));
        }
      },
      std::move(m));
}

void session::on_hello(time_point now, const wire::hello& h) {
  const std::uint16_t ours_min = wire::protocol_version, ours_max = wire::protocol_version;
  const std::uint16_t v = std::min(ours_max, h.max_version);
  if (v < std::max(ours_min, h.min_version))
    return fail(now, wire::reason::version_mismatch,
                "the peer speaks protocol versions " + std::to_string(h.min_version) + " to " +
                    std::to_string(h.max_version) + "; this node speaks " +
                    std::to_string(ours_min) + " to " + std::to_string(ours_max));
  peer_max_ = h.max_requests;
  state_ = state::open;
  events_.push_back(session_events::established{v, h.max_requests, h.listen_port, h.agent});
}

void session::on_answer(time_point now, wire::request_kind kind, const wire::block_ref& ref,
                        session_event ev) {
  const pending_key key{kind, ref};
  const bool pending = kind == wire::request_kind::block ? requests_.erase(ref) > 0
                                                         : metadata_requests_.erase(key) > 0;
  if (pending) {
    events_.push_back(std::move(ev));
    if (kind == wire::request_kind::block) send_held(now);
    return;
  }
  if (withdrawn_.erase(key) > 0) return;  // a late answer to a request we gave up on
  const char* what = std::holds_alternative<wire::reject>(ev) ? "reject"
                     : kind == wire::request_kind::manifest   ? "manifest_part"
                     : kind == wire::request_kind::hashes     ? "hashes"
                                                              : "block";
  fail(now, wire::reason::protocol_violation,
       std::string("a ") + what + " for nothing we asked for (piece or offset " +
           std::to_string(ref.piece.value) + ", block " + std::to_string(ref.block) + ")");
}

void session::on_peer_request(time_point now, const wire::request& r) {
  if (peer_requests_.contains(r.ref))
    return fail(now, wire::reason::protocol_violation,
                "the same block requested twice (piece " + std::to_string(r.ref.piece.value) +
                    " block " + std::to_string(r.ref.block) + ")");
  if (peer_requests_.size() >= cfg_.max_requests) {
    // Over the bound we announced: refuse the excess; a peer that keeps pushing is cut off.
    if (++overload_rejects_ > cfg_.max_requests)
      return fail(now, wire::reason::overloaded,
                  "kept sending requests over the limit of " + std::to_string(cfg_.max_requests));
    send(now,
         wire::reject{wire::request_kind::block, r.ref, wire::reason::overloaded,
                      "more than " + std::to_string(cfg_.max_requests) + " requests outstanding"});
    events_.push_back(session_events::refused{wire::reason::overloaded});
    return;
  }
  overload_rejects_ = 0;
  peer_requests_.insert(r.ref);
  events_.push_back(r);
}

void session::handle_tick(time_point now) {
  if (closed()) return;
  if (state_ == state::awaiting_hello && now >= opened_ + cfg_.hello_timeout)
    return fail(now, wire::reason::timeout,
                "no hello from the peer within " + seconds(cfg_.hello_timeout));
  if (now >= last_received_ + cfg_.idle_timeout)
    return fail(now, wire::reason::timeout,
                "nothing received from the peer for " + seconds(cfg_.idle_timeout));
  for (auto it = requests_.begin(); it != requests_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    const wire::block_ref ref = it->first;
    it = requests_.erase(it);
    withdraw({wire::request_kind::block, ref});
    send(now, wire::cancel{ref});
    events_.push_back(session_events::timed_out{wire::request_kind::block, ref});
  }
  send_held(now);
  for (auto it = metadata_requests_.begin(); it != metadata_requests_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    const pending_key key = it->first;
    it = metadata_requests_.erase(it);
    withdraw(key);
    events_.push_back(session_events::timed_out{key.kind, key.ref});
  }
  if (state_ == state::open && now >= last_sent_ + cfg_.keepalive_interval)
    send(now, wire::keepalive{});
}

std::optional<time_point> session::next_deadline() const {
  if (closed()) return std::nullopt;
  time_point t = last_received_ + cfg_.idle_timeout;
  if (state_ == state::awaiting_hello) t = std::min(t, opened_ + cfg_.hello_timeout);
  if (state_ == state::open) t = std::min(t, last_sent_ + cfg_.keepalive_interval);
  for (const auto& [ref, deadline] : requests_) t = std::min(t, deadline);
  for (const auto& [key, deadline] : metadata_requests_) t = std::min(t, deadline);
  return t;
}

void session::withdraw(const pending_key& key) {
  if (!withdrawn_.insert(key).second) return;
  withdrawn_order_.push_back(key);
  if (withdrawn_order_.size() > withdrawn_limit) {
    withdrawn_.erase(withdrawn_order_.front());
    withdrawn_order_.pop_front();
  }
}

void session::send_get_manifest(time_point now, const content_id& c, std::uint64_t offset) {
  SHOAL_ASSERT(state_ == state::open);
  metadata_requests_[{wire::request_kind::manifest, {c, piece_index(offset), 0}}] =
      now + cfg_.request_timeout;
  send(now, wire::get_manifest{c, offset});
}

void session::send_get_hashes(time_point now, const content_id& c, piece_index first,
                              std::uint32_t count) {
  SHOAL_ASSERT(state_ == state::open);
  metadata_requests_[{wire::request_kind::hashes, {c, first, 0}}] = now + cfg_.request_timeout;
  send(now, wire::get_hashes{c, first, count});
}

bool session::is_requested(const wire::block_ref& ref) const {
  return requests_.contains(ref) ||
         std::find(held_requests_.begin(), held_requests_.end(), ref) != held_requests_.end();
}

void session::send_request(time_point now, const wire::block_ref& ref) {
  SHOAL_ASSERT(state_ == state::open && !is_requested(ref));
  if (requests_.size() >= peer_max_) {
    held_requests_.push_back(ref);
    return;
  }
  requests_[ref] = now + cfg_.request_timeout;
  withdrawn_.erase({wire::request_kind::block, ref});
  send(now, wire::request{ref});
}

void session::send_held(time_point now) {
  while (state_ == state::open && !held_requests_.empty() && requests_.size() < peer_max_) {
    const wire::block_ref ref = held_requests_.front();
    held_requests_.pop_front();
    requests_[ref] = now + cfg_.request_timeout;
    withdrawn_.erase({wire::request_kind::block, ref});
    send(now, wire::request{ref});
  }
}

void session::send_cancel(time_point now, const wire::block_ref& ref) {
  if (closed()) return;
  if (auto h = std::find(held_requests_.begin(), held_requests_.end(), ref);
      h != held_requests_.end()) {
    held_requests_.erase(h);  // never sent: nothing to say
    return;
  }
  if (requests_.erase(ref) == 0) return;
  withdraw({wire::request_kind::block, ref});
  send(now, wire::cancel{ref});
  send_held(now);
}

void session::send_manifest_part(time_point now, wire::manifest_part m) {
  if (closed()) return;
  peer_metadata_ = std::max(0, peer_metadata_ - 1);
  send(now, m);
}

void session::send_hashes(time_point now, wire::hashes h) {
  if (closed()) return;
  peer_metadata_ = std::max(0, peer_metadata_ - 1);
  send(now, h);
}

void session::send_block(time_point now, wire::block b) {
  if (closed() || peer_requests_.erase(b.ref) == 0) return;  // cancelled meanwhile
  send(now, b);
}

void session::send_reject(time_point now, wire::reject r) {
  if (closed()) return;
  if (r.kind == wire::request_kind::block) {
    if (peer_requests_.erase(r.ref) == 0) return;
  } else {
    peer_metadata_ = std::max(0, peer_metadata_ - 1);
  }
  send(now, r);
}

void session::send_bitfield(time_point now, wire::bitfield b) {
  if (state_ != state::open) return;
  send(now, b);
}

void session::send_have(time_point now, const content_id& c, piece_index p) {
  if (state_ != state::open) return;
  send(now, wire::have{c, p});
}

void session::send_peers(time_point now, wire::peers p) {
  if (state_ != state::open) return;
  send(now, std::move(p));
}

void session::send_dht(time_point now, const wire::message& m) {
  SHOAL_ASSERT(wire::type_of(m) >= wire::msg_type::dht_query);
  if (state_ != state::open) return;
  send(now, m);
}

bool session::take_dht_budget(time_point now) {
  const double refill =
      std::chrono::duration<double>(now - dht_budget_at_).count() * dht_per_second;
  dht_budget_ = std::min<double>(dht_burst, dht_budget_ + std::max(0.0, refill));
  dht_budget_at_ = now;
  if (dht_budget_ < 1) return false;
  dht_budget_ -= 1;
  return true;
}

void session::close(time_point now, wire::reason code, std::string text, bool keep_queued) {
  if (!keep_queued) return fail(now, code, std::move(text));
  if (closed()) return;
  kept_backlog_ = true;
  std::string sent = text.substr(0, wire::max_reason);
  send(now, wire::goodbye{code, std::move(sent)});
  finish(code, std::move(text), false);
}

void session::fail(time_point now, wire::reason code, std::string text) {
  if (closed()) return;
  // Whatever is queued and not yet taken goes: the goodbye is next (after our hello, if even
  // that is still here), so a peer that has stopped reading learns why it is cut off.
  out_.resize(unpolled_hello_);
  std::string sent = text.substr(0, wire::max_reason);
  send(now, wire::goodbye{code, std::move(sent)});
  finish(code, std::move(text), false);
}

void session::finish(wire::reason code, std::string text, bool by_peer) {
  state_ = state::closed;
  requests_.clear();
  held_requests_.clear();
  metadata_requests_.clear();
  peer_requests_.clear();
  events_.push_back(session_events::closed{code, std::move(text), by_peer});
}

void session::send_message(time_point now, wire::message m) {
  std::visit(
      [&](auto&& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, wire::get_manifest>)
          send_get_manifest(now, x.content, x.offset);
        else if constexpr (std::is_same_v<T, wire::get_hashes>)
          send_get_hashes(now, x.content, x.first, x.count);
        else if constexpr (std::is_same_v<T, wire::request>)
          send_request(now, x.ref);
        else if constexpr (std::is_same_v<T, wire::cancel>)
          send_cancel(now, x.ref);
        else if constexpr (std::is_same_v<T, wire::manifest_part>)
          send_manifest_part(now, std::move(x));
        else if constexpr (std::is_same_v<T, wire::hashes>)
          send_hashes(now, std::move(x));
        else if constexpr (std::is_same_v<T, wire::block>)
          send_block(now, std::move(x));
        else if constexpr (std::is_same_v<T, wire::reject>)
          send_reject(now, std::move(x));
        else if constexpr (std::is_same_v<T, wire::bitfield>)
          send_bitfield(now, std::move(x));
        else if constexpr (std::is_same_v<T, wire::have>)
          send_have(now, x.content, x.piece);
        else if constexpr (std::is_same_v<T, wire::peers>)
          send_peers(now, std::move(x));
        else if constexpr (std::is_same_v<T, wire::dht_query> ||
                           std::is_same_v<T, wire::dht_nodes> ||
                           std::is_same_v<T, wire::dht_announce> ||
                           std::is_same_v<T, wire::dht_ack> || std::is_same_v<T, wire::revocations>)
          send_dht(now, x);
        else  // hello, keepalive and goodbye are the session's own
          SHOAL_ASSERT(false && "the node sends no session-level message");
      },
      std::move(m));
}

std::vector<std::uint8_t> session::poll_output() {
  unpolled_hello_ = 0;
  return std::exchange(out_, {});
}

std::optional<session_event> session::poll_event() {
  if (events_.empty()) return std::nullopt;
  session_event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace shoal
