// What the node answers: manifest parts, piece hashes and blocks of the contents it holds, with
// their range checks and the first-copy rule (core/node.hpp). The metadata and pieces come from
// the host (load_content, read_piece); messages wait for them in arrival order.
#include <algorithm>

#include "core/merkle.hpp"
#include "core/node.hpp"
#include "core/path_rules.hpp"

namespace shoal {

namespace {

// Messages waiting for one content's metadata: a peer's session bounds its requests, so this is
// reached only if the host never answers; beyond it they are dropped (and time out there).
constexpr std::size_t max_waiting_per_content = 4096;

}  // namespace

void node::handle_held(time_point now, const content_id& id, std::uint64_t pieces_held,
                       bool complete) {
  // A running fetch keeps its own count (the store's may lag behind the pieces it wrote).
  if (jobs_.contains(id)) return;
  held_[id] = complete;
  forget_content(id);
  // An empty content has no piece to hold, and is held all the same (complete).
  if (pieces_held > 0 || complete)
    dht_.provide(now, id, complete);
  else
    dht_.stop_providing(id);
}

void node::handle_dropped(time_point /*now*/, const content_id& id) {
  if (jobs_.contains(id)) return;  // the store refuses to remove what a fetch has open
  held_.erase(id);
  forget_content(id);
  dht_.stop_providing(id);
}

bool node::holds(const content_id& id) const {
  return held_.contains(id);
}

void node::answer(time_point now, peer_handle p, const content_id& id, waiting_message m) {
  if (!holds(id)) return serve(now, p, m, nullptr);
  if (auto c = contents_.find(id); c != contents_.end()) return serve(now, p, m, &c->second);
  auto& waiting = loading_[id];
  if (waiting.empty()) actions_.push_back(node_actions::load_content{id});
  if (waiting.size() < max_waiting_per_content) waiting.emplace_back(p, std::move(m));
}

void node::handle_content_loaded(time_point now, const content_id& id,
                                 std::optional<held_content> content) {
  auto w = loading_.extract(id);
  const held_content* h = nullptr;
  if (!content) {
    held_.erase(id);  // not held after all (removed meanwhile): the waiting are told so
  } else {
    if (auto j = jobs_.find(id); j != jobs_.end() && j->second.opened)
      content->have = j->second.have;  // the fetch's count is the newer
    if (!contents_.contains(id)) {
      if (contents_.size() >= cfg_.content_cache && !contents_order_.empty()) {
        contents_.erase(contents_order_.front());
        contents_order_.pop_front();
      }
      contents_order_.push_back(id);
    }
    h = &contents_.insert_or_assign(id, std::move(*content)).first->second;
  }
  if (w.empty()) return;
  for (auto& [p, m] : w.mapped()) {
    const link* l = find_link(p);
    if (l && !l->closed) serve(now, p, m, h);
  }
}

void node::forget_content(const content_id& id) {
  if (contents_.erase(id) == 0) return;
  contents_order_.erase(std::find(contents_order_.begin(), contents_order_.end(), id));
}

void node::serve(time_point now, peer_handle p, const waiting_message& m, const held_content* h) {
  std::visit(
      [&](const auto& msg) {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, wire::get_manifest>) serve_manifest(now, p, msg, h);
        if constexpr (std::is_same_v<T, wire::get_hashes>) serve_hashes(now, p, msg, h);
        if constexpr (std::is_same_v<T, wire::request>) serve_block(now, p, msg.ref, h);
        // What peers announce of contents we hold feeds the first-copy rule (core/swarm.hpp).
        if constexpr (std::is_same_v<T, wire::bitfield>)
          if (h && find_link(p)->open) swarm_.handle_bitfield(p, msg, h->layout.piece_count());
        if constexpr (std::is_same_v<T, wire::have>)
          if (h && find_link(p)->open) swarm_.handle_have(p, msg, h->layout.piece_count());
      },
      m);
}

void node::serve_manifest(time_point now, peer_handle p, const wire::get_manifest& g,
                          const held_content* h) {
  // A node still fetching serves the manifest too (with its bitfield, perhaps empty), so that it
  // joins the swarm before it holds a piece and is told of each piece as it arrives.
  if (!h)
    return send(p, wire::reject{wire::request_kind::manifest,
                                {g.content, piece_index(g.offset), 0},
                                wire::reason::not_found,
                                "this node does not hold " + g.content.str()});
  const auto& bytes = h->manifest_bytes;
  if (g.offset >= bytes.size())
    return close_link(now, p, wire::reason::protocol_violation,
                      "asked for the manifest at offset " + std::to_string(g.offset) + " of " +
                          std::to_string(bytes.size()));
  const std::size_t len = std::min<std::size_t>(wire::max_manifest_chunk, bytes.size() - g.offset);
  wire::manifest_part part{g.content, bytes.size(), g.offset, {}, {}};
  if (g.offset == 0 && path_rules::check_component(h->name)) part.name = h->name;
  part.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(g.offset),
                   bytes.begin() + static_cast<std::ptrdiff_t>(g.offset + len));
  send(p, std::move(part));
  if (g.offset + len == bytes.size() && h->have.size() > 0)
    send(p, wire::bitfield{g.content, h->have.size(), h->have.bytes()});
}

void node::serve_hashes(time_point now, peer_handle p, const wire::get_hashes& g,
                        const held_content* h) {
  if (!h)
    return send(p, wire::reject{wire::request_kind::hashes,
                                {g.content, g.first, 0},
                                wire::reason::not_found,
                                "this node does not hold " + g.content.str()});
  const auto& all = h->piece_hashes;
  if (g.first.value >= all.size() || g.count > all.size() - g.first.value)
    return close_link(now, p, wire::reason::protocol_violation,
                      "asked for piece hashes " + std::to_string(g.first.value) + "+" +
                          std::to_string(g.count) + " of " + std::to_string(all.size()));
  wire::hashes out{g.content, g.first, {}};
  out.pieces.assign(all.begin() + static_cast<std::ptrdiff_t>(g.first.value),
                    all.begin() + static_cast<std::ptrdiff_t>(g.first.value + g.count));
  send(p, std::move(out));
}

void node::serve_block(time_point now, peer_handle p, const wire::block_ref& ref,
                       const held_content* h) {
  const block_answer a =
      answer_block(swarm_, now, p, ref, h ? &h->layout : nullptr, h ? &h->have : nullptr);
  if (const auto* no = std::get_if<block_answers::refuse>(&a)) return send(p, no->reject);
  if (const auto* bad = std::get_if<block_answers::violation>(&a))
    return close_link(now, p, wire::reason::protocol_violation, bad->text);
  if (cfg_.fetch.synthetic_blocks) {  // the simulator's content: one byte, a tag for a proof
    wire::block b;
    b.ref = ref;
    b.data.assign(1, 0);
    b.proof[0] = synthetic_tag(h->piece_hashes[ref.piece.value], ref.block);
    return send(p, std::move(b));
  }
  for (const auto& cp : pieces_)
    if (cp.content == ref.content && cp.piece == ref.piece) return send_block(p, ref, cp.data);
  auto& waiting = reading_[{ref.content, ref.piece}];
  if (waiting.empty()) actions_.push_back(node_actions::read_piece{ref.content, ref.piece});
  waiting.emplace_back(p, ref);
}

void node::send_block(peer_handle p, const wire::block_ref& ref, const piece_data& data) {
  SHOAL_ASSERT(ref.block < data.leaves.size());  // checked against the layout before the read
  wire::block b;
  b.ref = ref;
  const auto proof = merkle::piece_proof(hasher_, data.leaves, ref.block);
  std::copy(proof.begin(), proof.end(), b.proof.begin());
  const std::size_t off = ref.block * merkle::block_size;
  const std::size_t len = std::min<std::size_t>(merkle::block_size, data.bytes.size() - off);
  b.data.assign(data.bytes.begin() + static_cast<std::ptrdiff_t>(off),
                data.bytes.begin() + static_cast<std::ptrdiff_t>(off + len));
  send(p, std::move(b));
}

void node::handle_piece_read(time_point, const content_id& id, piece_index piece,
                             result<piece_data> data) {
  auto w = reading_.extract({id, piece});
  if (w.empty()) return;
  if (!data) {
    note(log_level::error, "cannot serve piece " + std::to_string(piece.value) + " of " + id.str() +
                               ": " + data.err().message);
    // The store marked a damaged piece missing: what it holds is loaded again, and the
    // requesters learn why and ask others.
    forget_content(id);
    const std::string why =
        "piece " + std::to_string(piece.value) +
        (data.err().code == errc::hash_mismatch
             ? " failed verification here: this copy is damaged and no longer held"
             : " cannot be read here");
    for (const auto& [p, ref] : w.mapped())
      if (const link* l = find_link(p); l && !l->closed)
        send(p, wire::reject{wire::request_kind::block, ref, wire::reason::unavailable, why});
    return;
  }
  if (pieces_.size() >= cfg_.piece_cache) pieces_.pop_front();
  pieces_.push_back({id, piece, std::move(*data)});
  for (const auto& [p, ref] : w.mapped())
    if (const link* l = find_link(p); l && !l->closed) send_block(p, ref, pieces_.back().data);
}

void node::piece_now_stored(const content_id& id, piece_index piece) {
  if (auto c = contents_.find(id); c != contents_.end()) c->second.have.insert(piece);
}

}  // namespace shoal
