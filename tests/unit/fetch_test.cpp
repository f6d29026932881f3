// The fetch state machine against in-memory peers: no sockets, no store, a virtual clock.
#include "core/fetch.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <set>

#include "support/memory_content.hpp"
#include "support/test_dir.hpp"

namespace shoal {
namespace {

enum class behaviour {
  honest,
  corrupt,
  lacks,
  silent,
  bad_manifest,
  bad_hashes,
  elsewhere,
  refuses_once,  // refuses its first block request with `elsewhere` (its 16 pieces at once)
  stalls         // answers metadata, never a block request
};

struct harness {
  testing::memory_content c;
  fetch f;
  time_point now{};
  std::map<peer_handle, behaviour> kind;
  std::map<peer_handle, std::deque<wire::message>> queue;  // requests not yet answered
  std::map<peer_handle, std::size_t> max_in_flight;
  std::set<wire::block_ref> corrupt_refs;  // blocks a `corrupt` peer damages
  std::vector<std::vector<std::uint8_t>> stored;
  std::vector<fetch_actions::disconnect> disconnects;
  std::set<peer_handle> gone;
  std::vector<piece_index> requested;
  std::map<peer_handle, std::size_t> block_requests;
  std::map<peer_handle, std::size_t> cancels;
  std::map<peer_handle, std::vector<wire::block_ref>> stalled;  // requests a `stalls` peer took
  bool opened = false, finished = false;
  std::optional<error> failed;
  piece_set resume_have;

  bool synthetic = false;  // blocks go as fetch_config::synthetic_blocks wants them
  // Writes wait for release_writes(), as they do behind a slow disk.
  bool hold_writes = false;
  std::vector<piece_index> held_writes;
  std::uint64_t max_buffered = 0;  // the most fetch::buffered_bytes() seen

  void release_writes() {
    for (piece_index p : std::exchange(held_writes, {})) f.handle_piece_written(now, p, {});
  }

  explicit harness(testing::memory_content content, std::uint64_t seed = 7,
                   fetch_config cfg = fetch_config{8})
      : c(std::move(content)), f(c.id, cfg, seed), synthetic(cfg.synthetic_blocks) {
    stored.resize(c.pieces.size());
  }

  void add_peer(std::uint64_t p, behaviour b) {
    kind[peer_handle(p)] = b;
    f.handle_peer_added(now, peer_handle(p), 256);
  }

  void deliver(peer_handle p, const wire::message& req) {
    const behaviour b = kind[p];
    if (b == behaviour::lacks) {
      wire::reject r;
      r.kind = std::holds_alternative<wire::request>(req) ? wire::request_kind::block
                                                          : wire::request_kind::manifest;
      r.ref.content = c.id;
      r.code = wire::reason::not_found;
      return f.handle_reject(now, p, r);
    }
    if (b == behaviour::stalls && std::holds_alternative<wire::request>(req)) {
      stalled[p].push_back(std::get<wire::request>(req).ref);
      return;
    }
    if (b == behaviour::refuses_once && std::holds_alternative<wire::request>(req)) {
      kind[p] = behaviour::honest;
      return f.handle_reject(
          now, p,
          wire::reject{wire::request_kind::block, std::get<wire::request>(req).ref,
                       wire::reason::elsewhere, ""});
    }
    if (b == behaviour::elsewhere && std::holds_alternative<wire::request>(req)) {
      return f.handle_reject(
          now, p,
          wire::reject{wire::request_kind::block, std::get<wire::request>(req).ref,
                       wire::reason::elsewhere, "ask the others"});
    }
    for (auto& m : c.answer(req)) {
      if (auto* mp = std::get_if<wire::manifest_part>(&m)) {
        if (b == behaviour::bad_manifest) mp->data[0] ^= 1;
        f.handle_manifest_part(now, p, *mp);
      } else if (auto* h = std::get_if<wire::hashes>(&m)) {
        if (b == behaviour::bad_hashes) h->pieces[0].bytes[0] ^= 1;
        f.handle_hashes(now, p, *h);
      } else if (auto* bf = std::get_if<wire::bitfield>(&m)) {
        f.handle_bitfield(now, p, *bf);
      } else if (auto* bl = std::get_if<wire::block>(&m)) {
        if (synthetic) {
          bl->data.assign(1, 0);  // one byte, as node::serve_block sends them
          bl->proof[0] = synthetic_tag(c.piece_hashes[bl->ref.piece.value], bl->ref.block);
          if (b == behaviour::corrupt && corrupt_refs.contains(bl->ref)) bl->proof[0].bytes[1] ^= 1;
        } else if (b == behaviour::corrupt && corrupt_refs.contains(bl->ref)) {
          bl->data[0] ^= 1;
        }
        f.handle_block(now, p, *bl);
      }
      if (gone.contains(p)) return;
    }
  }

  // Runs until nothing moves: actions are applied, then each peer answers its oldest request.
  void run() {
    for (int steps = 0; steps < 1'000'000; ++steps) {
      max_buffered = std::max(max_buffered, f.buffered_bytes());
      if (auto a = f.poll_action()) {
        apply(std::move(*a));
        continue;
      }
      bool moved = false;
      for (auto& [p, q] : queue) {
        if (q.empty() || gone.contains(p) || kind[p] == behaviour::silent) continue;
        const wire::message req = q.front();
        q.pop_front();
        deliver(p, req);
        moved = true;
        break;
      }
      if (!moved) return;
    }
    FAIL() << "the fetch did not settle";
  }

  void apply(fetch_action a) {
    if (auto* s = std::get_if<fetch_actions::send>(&a)) {
      ASSERT_FALSE(gone.contains(s->peer)) << "sent to a peer it cut off";
      if (auto* r = std::get_if<wire::request>(&s->msg)) {
        requested.push_back(r->ref.piece);
        ++block_requests[s->peer];
      }
      if (std::holds_alternative<wire::cancel>(s->msg)) {
        ++cancels[s->peer];
        return;
      }
      auto& q = queue[s->peer];
      q.push_back(s->msg);
      std::size_t blocks = 0;
      for (auto& m : q) blocks += std::holds_alternative<wire::request>(m);
      max_in_flight[s->peer] = std::max(max_in_flight[s->peer], blocks);
    } else if (auto* d = std::get_if<fetch_actions::disconnect>(&a)) {
      disconnects.push_back(*d);
      gone.insert(d->peer);
    } else if (auto* o = std::get_if<fetch_actions::open_content>(&a)) {
      EXPECT_EQ(o->m, c.m);
      EXPECT_EQ(o->piece_hashes, c.piece_hashes);
      opened = true;
      f.handle_opened(now, resume_have.size() ? resume_have : piece_set(c.pieces.size()));
    } else if (auto* sw = std::get_if<fetch_actions::write_piece>(&a); sw && synthetic) {
      EXPECT_TRUE(sw->data.empty());
      stored[sw->piece.value] = c.pieces[sw->piece.value];  // what the simulator's store stands for
      f.handle_piece_written(now, sw->piece, {});
    } else if (auto* w = std::get_if<fetch_actions::write_piece>(&a)) {
      crypto::sha256_hasher h;
      EXPECT_EQ(merkle::piece_hash(h, w->data), c.piece_hashes[w->piece.value]);
      stored[w->piece.value].assign(w->data.begin(), w->data.end());
      if (hold_writes)
        held_writes.push_back(w->piece);
      else
        f.handle_piece_written(now, w->piece, {});
    } else if (std::holds_alternative<fetch_actions::finished>(a)) {
      finished = true;
    } else if (auto* fl = std::get_if<fetch_actions::failed>(&a)) {
      failed = fl->why;
    }
  }

  // The peer, alone, was cut off for a block that failed verification.
  void expect_cut_off_for_a_bad_block(std::uint64_t p) {
    ASSERT_EQ(disconnects.size(), 1u);
    EXPECT_EQ(disconnects[0].peer, peer_handle(p));
    EXPECT_EQ(disconnects[0].code, wire::reason::bad_block);
    EXPECT_NE(disconnects[0].text.find("failed verification"), std::string::npos);
  }

  void expect_all_stored() {
    ASSERT_TRUE(finished);
    for (std::size_t i = 0; i < c.pieces.size(); ++i) EXPECT_EQ(stored[i], c.pieces[i]) << i;
  }
};

testing::memory_content one_file(std::size_t size) {
  return testing::memory_content::make({{"", testing::pattern_bytes(size, 3)}});
}

TEST(fetch, single_file_from_one_peer_with_a_bounded_pipeline) {
  harness h(one_file(5 * merkle::piece_size + 3 * merkle::block_size + 100));
  h.add_peer(1, behaviour::honest);
  h.run();
  h.expect_all_stored();
  EXPECT_TRUE(h.disconnects.empty());
  EXPECT_EQ(h.max_in_flight[peer_handle(1)], 8u);  // the configured depth, never more
  EXPECT_EQ(h.f.progress().stored_bytes, h.f.progress().total_bytes);
  EXPECT_EQ(h.f.bytes_from(peer_handle(1)), h.f.progress().total_bytes);
}

// Fetches that share a connection split the peer's bound (core/node.hpp): a fetch whose share
// is lowered keeps its block requests under the new bound.
TEST(fetch, a_lowered_peer_limit_bounds_its_requests) {
  harness h(one_file(5 * merkle::piece_size + 100));
  h.add_peer(1, behaviour::honest);
  h.f.handle_peer_limit(h.now, peer_handle(1), 3);
  h.run();
  h.expect_all_stored();
  EXPECT_EQ(h.max_in_flight[peer_handle(1)], 3u);
}

TEST(fetch, multi_file_tree_with_an_empty_file) {
  harness h(testing::memory_content::make({{"a/big", testing::pattern_bytes(700'000, 1)},
                                           {"a/empty", {}},
                                           {"b", testing::pattern_bytes(5, 2)}}));
  h.add_peer(1, behaviour::honest);
  h.run();
  h.expect_all_stored();
}

TEST(fetch, empty_content_finishes_after_the_manifest) {
  harness h(testing::memory_content::make({{"", {}}}));
  h.add_peer(1, behaviour::honest);
  h.run();
  EXPECT_TRUE(h.opened);
  EXPECT_TRUE(h.finished);
}

TEST(fetch, a_corrupt_block_cuts_the_peer_off_and_is_fetched_elsewhere) {
  harness h(one_file(3 * merkle::piece_size));
  h.corrupt_refs.insert({h.c.id, piece_index(1), 5});
  h.corrupt_refs.insert({h.c.id, piece_index(0), 0});
  h.add_peer(1, behaviour::corrupt);
  h.add_peer(2, behaviour::honest);
  h.run();
  h.expect_all_stored();
  h.expect_cut_off_for_a_bad_block(1);
}

TEST(fetch, a_corrupt_block_from_the_only_peer_stops_there) {
  harness h(one_file(2 * merkle::piece_size));
  h.corrupt_refs.insert({h.c.id, piece_index(0), 3});
  h.add_peer(1, behaviour::corrupt);
  h.run();
  EXPECT_FALSE(h.finished);
  ASSERT_EQ(h.disconnects.size(), 1u);
  EXPECT_EQ(h.disconnects[0].code, wire::reason::bad_block);
  // A new connection to an honest peer completes the fetch.
  h.add_peer(2, behaviour::honest);
  h.run();
  h.expect_all_stored();
}

TEST(fetch, a_manifest_that_does_not_hash_to_the_id_is_refused) {
  harness h(one_file(1000));
  h.add_peer(1, behaviour::bad_manifest);
  h.add_peer(2, behaviour::honest);
  h.run();
  h.expect_all_stored();
  ASSERT_EQ(h.disconnects.size(), 1u);
  EXPECT_NE(h.disconnects[0].text.find("does not hash to"), std::string::npos);
}

TEST(fetch, piece_hashes_that_do_not_match_the_root_are_refused) {
  harness h(one_file(3 * merkle::piece_size));
  h.add_peer(1, behaviour::bad_hashes);
  h.add_peer(2, behaviour::honest);
  h.run();
  h.expect_all_stored();
  ASSERT_EQ(h.disconnects.size(), 1u);
  EXPECT_NE(h.disconnects[0].text.find("do not match the file's root"), std::string::npos);
}

TEST(fetch, fails_when_no_peer_holds_the_content) {
  harness h(one_file(1000));
  h.add_peer(1, behaviour::lacks);
  h.run();
  ASSERT_TRUE(h.failed.has_value());
  EXPECT_EQ(h.failed->code, errc::not_found);
  EXPECT_NE(h.failed->message.find(h.c.id.str()), std::string::npos);
}

TEST(fetch, resume_asks_only_for_missing_pieces) {
  harness h(one_file(6 * merkle::piece_size));
  piece_set have(6);
  for (std::uint64_t i : {0, 2, 3}) {
    have.insert(piece_index(i));
    h.stored[i] = h.c.pieces[i];
  }
  h.f.handle_known(h.now, h.c.m, h.c.piece_hashes, have);
  h.add_peer(1, behaviour::honest);
  h.run();
  h.expect_all_stored();
  EXPECT_FALSE(h.opened);  // the manifest and hashes came from the store
  for (piece_index p : h.requested) EXPECT_TRUE(p.value == 1 || p.value >= 4) << p.value;
}

TEST(fetch, timed_out_and_lost_requests_go_to_other_peers) {
  harness s(one_file(4 * merkle::piece_size));
  s.add_peer(1, behaviour::honest);
  s.kind[peer_handle(1)] = behaviour::silent;
  // Peer 1 answers the metadata, then falls silent.
  while (auto a = s.f.poll_action()) {
    s.apply(std::move(*a));
    if (s.queue[peer_handle(1)].empty()) continue;
    auto req = s.queue[peer_handle(1)].front();
    if (std::holds_alternative<wire::request>(req)) break;
    s.queue[peer_handle(1)].pop_front();
    s.kind[peer_handle(1)] = behaviour::honest;
    s.deliver(peer_handle(1), req);
    s.kind[peer_handle(1)] = behaviour::silent;
  }
  s.run();
  ASSERT_FALSE(s.finished);
  // Its first request times out; the rest are lost when the session goes.
  auto first = std::get<wire::request>(s.queue[peer_handle(1)].front());
  s.f.handle_timed_out(s.now, peer_handle(1), wire::request_kind::block, first.ref);
  const std::size_t before = s.requested.size();
  s.run();
  ASSERT_EQ(s.requested.size(), before + 1);  // asked again, of the only peer there is
  EXPECT_EQ(s.requested.back(), first.ref.piece);
  s.f.handle_peer_removed(s.now, peer_handle(1));
  s.gone.insert(peer_handle(1));
  s.add_peer(2, behaviour::honest);
  s.run();
  s.expect_all_stored();
  EXPECT_EQ(s.f.bytes_from(peer_handle(2)), s.f.progress().total_bytes);
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

// A holder that answers `elsewhere` (it sent the piece to another peer already) is not asked
// for that piece again while it is deferred; the other peer serves it. Time does not move in
// this run, so a request storm (asking again at once) would never settle.
TEST(fetch, elsewhere_defers_the_piece_at_that_peer) {
  harness h(one_file(6 * merkle::piece_size));
  h.add_peer(1, behaviour::elsewhere);
  h.add_peer(2, behaviour::honest);
  h.run();
  h.expect_all_stored();
  EXPECT_TRUE(h.disconnects.empty());
  // Each piece was asked of peer 1 at most once (one block of it, or a few in one go).
  EXPECT_LE(h.block_requests[peer_handle(1)], 6u * wire::blocks_per_piece);
  EXPECT_EQ(h.f.bytes_from(peer_handle(2)), h.f.progress().total_bytes);
}

// The endgame: a peer that never answers holds the last blocks; once their requests are older
// than endgame_after, they are asked of another peer, and the stalled requests cancelled.
TEST(fetch, endgame_moves_stalled_blocks_to_another_peer) {
  harness h(one_file(3 * merkle::piece_size));
  h.add_peer(1, behaviour::stalls);
  h.add_peer(2, behaviour::honest);
  h.run();
  // Peer 1 received requests it will never answer; nothing else is missing.
  ASSERT_GT(h.block_requests[peer_handle(1)], 0u);
  EXPECT_FALSE(h.finished);
  h.now += fetch_config{}.endgame_after;
  h.f.handle_tick(h.now);
  h.run();
  h.expect_all_stored();
  EXPECT_EQ(h.cancels[peer_handle(1)], h.block_requests[peer_handle(1)]);
}

// The simulator's blocks (no bytes, a tag for a proof): the same requests and endgame, and a
// wrong tag cuts its sender off as a wrong proof does.
TEST(fetch, synthetic_blocks_are_checked_by_their_tag) {
  fetch_config cfg{8};
  cfg.synthetic_blocks = true;
  harness h(one_file(5 * merkle::piece_size + 100), 7, cfg);
  h.corrupt_refs.insert(wire::block_ref{h.c.id, piece_index(0), 0});
  h.add_peer(1, behaviour::corrupt);
  h.add_peer(2, behaviour::honest);
  h.run();
  h.expect_all_stored();
  h.expect_cut_off_for_a_bad_block(1);
  EXPECT_EQ(h.f.progress().received_bytes, h.f.progress().total_bytes);
}

// A peer fetching too announces pieces while our piece layer is still coming: its haves count
// once its bitfield can be applied (they used to be dropped, and it was asked for nothing).
TEST(fetch, haves_before_the_layout_is_known_are_kept) {
  harness h(one_file(3 * merkle::piece_size));
  h.add_peer(1, behaviour::honest);
  h.add_peer(2, behaviour::silent);
  h.f.handle_bitfield(h.now, peer_handle(2), wire::bitfield{h.c.id, 3, {0}});
  h.f.handle_have(h.now, peer_handle(2), wire::have{h.c.id, piece_index(2)});
  h.run();
  EXPECT_EQ(h.f.peer_pieces(peer_handle(2)), 1u);
  EXPECT_EQ(h.f.peer_pieces(peer_handle(1)), 3u);
}

// Slow start: a new peer is asked for a few blocks, and for one more with each it delivers, until
// its rate is measured; so a peer a thousand fetches dial at once is not handed 64 requests by
// each, while a fast one soon has a full pipeline.
TEST(fetch, a_new_peer_starts_with_a_few_requests_and_gets_more_as_blocks_come) {
  harness h(one_file(8 * merkle::piece_size), 7, fetch_config{128});
  h.add_peer(1, behaviour::stalls);
  h.run();
  EXPECT_EQ(h.block_requests[peer_handle(1)], fetch_config{}.initial_requests_per_peer);
  h.add_peer(2, behaviour::honest);
  h.run();  // no time passes: no rate is measured, only blocks counted
  EXPECT_GE(h.max_in_flight[peer_handle(2)], 8 * fetch_config{}.initial_requests_per_peer);
  EXPECT_EQ(h.block_requests[peer_handle(1)], fetch_config{}.initial_requests_per_peer);
}

// After an `elsewhere`, a peer is asked only for pieces no other peer holds, until the backoff
// passes: the first-copy rule would refuse the rest, a round trip of its pipeline each.
TEST(fetch, a_peer_that_refuses_copies_is_asked_only_for_pieces_nobody_else_has) {
  harness h(one_file(16 * merkle::piece_size));
  h.add_peer(2, behaviour::stalls);  // announces everything, sends no block (slow, say)
  h.run();
  h.add_peer(1, behaviour::elsewhere);  // holds everything, refuses every block
  h.run();
  // Its first requests only: every piece is held by peer 2 (without the rule, each new piece
  // would be tried there once, and refused).
  EXPECT_EQ(h.block_requests[peer_handle(1)], fetch_config{}.initial_requests_per_peer);
  // What describe() tells of the two (the simulator prints it for a run's last nodes).
  const std::string d = h.f.describe(h.now);
  EXPECT_NE(d.find("phase blocks; 0 of 16 pieces stored"), std::string::npos) << d;
  EXPECT_NE(d.find("peer 1: 16 pieces, 0/4 in flight, 1 deferred (next in 2000 ms), rare only "
                   "for 2000 ms, refuses copies, stuck"),
            std::string::npos)
      << d;
  EXPECT_NE(d.find("peer 2: 16 pieces, 4/4 in flight"), std::string::npos) << d;
}

// Issue 18, finding 4: two complete holders, each refusing a request once (an origin sends 16
// pieces at a time and refuses the rest). Before, each was then asked only for pieces no other
// peer held, and the other held them all: both sat idle for the 2 s back-off, and two holders
// took 2.9 x as long as one. Pieces that only refusing peers hold are asked of them as usual.
TEST(fetch, two_complete_holders_that_refuse_once_are_both_kept_busy) {
  harness h(one_file(32 * merkle::piece_size));
  h.add_peer(1, behaviour::refuses_once);
  h.add_peer(2, behaviour::refuses_once);
  for (std::uint64_t p : {1, 2})  // both announce every piece before any block is asked
    h.f.handle_bitfield(h.now, peer_handle(p),
                        wire::bitfield{h.c.id, 32, std::vector<std::uint8_t>(4, 0xff)});
  h.run();  // time does not move: a holder left idle for the back-off never comes back
  h.expect_all_stored();
  EXPECT_GT(h.f.bytes_from(peer_handle(1)), 0u);
  EXPECT_GT(h.f.bytes_from(peer_handle(2)), 0u);
  EXPECT_EQ(h.f.bytes_from(peer_handle(1)) + h.f.bytes_from(peer_handle(2)),
            h.f.progress().total_bytes);
}

// A piece refused with `elsewhere` by every connected holder is asked again soon, not after the
// 2 s back-off: the refusals were the holders' pieces at a time (finding 4: two holders of
// 16 MiB took 3.1 s against 2.1 s from one, the last pieces waiting out the back-off).
TEST(fetch, a_piece_every_holder_refused_is_asked_again_soon) {
  harness h(one_file(merkle::piece_size));
  h.add_peer(1, behaviour::elsewhere);  // both refuse every block: the piece is deferred there
  h.add_peer(2, behaviour::elsewhere);
  for (std::uint64_t p : {1, 2})
    h.f.handle_bitfield(h.now, peer_handle(p), wire::bitfield{h.c.id, 1, {0x80}});
  h.run();
  const std::size_t first = h.block_requests[peer_handle(1)] + h.block_requests[peer_handle(2)];
  ASSERT_GT(first, 0u);
  h.now += fetch_config{}.busy_backoff;  // not the 2 s of elsewhere_backoff
  h.f.handle_tick(h.now);
  h.run();
  EXPECT_GT(h.block_requests[peer_handle(1)] + h.block_requests[peer_handle(2)], first);
  EXPECT_FALSE(h.finished);
}

// One holder alone that refuses a piece (it sent it to a peer we do not know) is not asked for
// it again for the whole back-off.
TEST(fetch, a_piece_only_its_refuser_holds_waits_the_full_back_off) {
  harness h(one_file(merkle::piece_size));
  h.add_peer(1, behaviour::elsewhere);
  h.run();
  const std::size_t first = h.block_requests[peer_handle(1)];
  h.now += fetch_config{}.busy_backoff;
  h.f.handle_tick(h.now);
  h.run();
  EXPECT_EQ(h.block_requests[peer_handle(1)], first);
}

// A piece started with a peer that refuses copies waits for its probe (its first block) before
// the other blocks are asked. When the endgame asks that block of another peer and it comes from
// there, the piece must go on (found by the simulator: it waited on the cancelled probe for good).
TEST(fetch, a_probe_answered_by_another_peer_in_the_endgame_does_not_stall_the_piece) {
  fetch_config cfg{8};
  cfg.initial_requests_per_peer = 8;
  harness h(one_file(2 * merkle::piece_size), 7, cfg);
  h.add_peer(1, behaviour::stalls);
  h.run();  // the layout is known; 8 blocks of one piece are asked of peer 1, never answered
  ASSERT_EQ(h.block_requests[peer_handle(1)], 8u);
  const piece_index first = h.requested.front();
  // Peer 1 refuses one of them: that piece is deferred there, and the other piece is started
  // with a probe, its first block alone.
  h.f.handle_reject(h.now, peer_handle(1),
                    wire::reject{wire::request_kind::block, wire::block_ref{h.c.id, first, 7},
                                 wire::reason::elsewhere, ""});
  h.run();
  ASSERT_EQ(h.block_requests[peer_handle(1)], 9u);
  h.add_peer(2, behaviour::honest);
  h.run();  // peer 2 sends the refused block; the probe still waits on peer 1
  EXPECT_FALSE(h.finished);
  // The endgame asks peer 2 for peer 1's blocks, the probe included; then the piece's other
  // blocks are asked (some of peer 1 again, and of peer 2 once those are old).
  for (int i = 0; i < 2; ++i) {
    h.now += fetch_config{}.endgame_after;
    h.f.handle_tick(h.now);
    h.run();
  }
  h.expect_all_stored();
}

// A peer that refuses copies and then sends the probe of a piece no other peer holds is sending
// its first copy: the rest of that piece is asked of it at once, past its rate-sized pipeline,
// so that the piece completes soon and can be passed on (an origin sends few pieces at a time).
TEST(fetch, the_rest_of_a_first_copy_is_asked_at_once) {
  harness h(one_file(4 * merkle::piece_size), 7, fetch_config{128});
  h.add_peer(1, behaviour::stalls);
  h.run();  // the layout is known; slow start's first blocks of one piece are asked
  const std::size_t first_asks = fetch_config{}.initial_requests_per_peer;
  ASSERT_EQ(h.block_requests[peer_handle(1)], first_asks);
  const piece_index first = h.requested.front();
  h.f.handle_reject(
      h.now, peer_handle(1),
      wire::reject{wire::request_kind::block,
                   wire::block_ref{h.c.id, first, static_cast<std::uint8_t>(first_asks - 1)},
                   wire::reason::elsewhere, ""});
  h.run();  // its slot goes to a new piece, started with a probe: one block
  ASSERT_EQ(h.block_requests[peer_handle(1)], first_asks + 1);
  const piece_index second = h.requested.back();
  ASSERT_NE(second, first);
  const wire::block_ref probe{h.c.id, second, 0};
  bool sent = false;
  for (auto& m : h.c.answer(wire::request{probe}))
    if (auto* bl = std::get_if<wire::block>(&m)) {
      h.f.handle_block(h.now, peer_handle(1), *bl);
      sent = true;
    }
  ASSERT_TRUE(sent);
  h.run();
  // Every other block of the piece at once; slow start alone would have allowed one more.
  EXPECT_EQ(h.block_requests[peer_handle(1)], first_asks + wire::blocks_per_piece);
  EXPECT_EQ(h.f.peer_in_flight(peer_handle(1)), first_asks - 1 + wire::blocks_per_piece - 1);
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

// Issue 18, finding 6: a fetch held a buffer for every piece it had started or not yet written,
// without bound (1 GiB of buffers for a 1 GiB content behind a slower disk).
TEST(fetch, pieces_held_in_memory_are_bounded_and_writes_let_more_start) {
  fetch_config cfg{128};
  cfg.buffer_bytes_max = 4 * merkle::piece_size;
  cfg.asked_bytes_max = 8 * merkle::piece_size;
  harness h(one_file(20 * merkle::piece_size), 7, cfg);
  h.hold_writes = true;
  h.add_peer(1, behaviour::honest);
  h.add_peer(2, behaviour::honest);
  h.run();
  EXPECT_FALSE(h.finished);
  // Pieces already asked for when the bound was reached still come (at most asked_bytes_max of
  // them); then nothing new is asked until the disk catches up.
  EXPECT_GE(h.held_writes.size(), 4u);
  EXPECT_LE(h.held_writes.size(), 8u);
  EXPECT_LE(h.max_buffered, cfg.asked_bytes_max);
  for (int round = 0; round < 20 && !h.finished; ++round) {
    h.release_writes();
    h.run();
    EXPECT_LE(h.held_writes.size(), 8u);
  }
  h.release_writes();
  h.run();
  h.expect_all_stored();
  EXPECT_LE(h.max_buffered, cfg.asked_bytes_max);
  EXPECT_EQ(h.f.buffered_bytes(), 0u);
}

TEST(fetch, pieces_only_asked_for_hold_no_buffer) {
  fetch_config cfg{128};
  cfg.buffer_bytes_max = 3 * merkle::piece_size;
  harness h(one_file(12 * merkle::piece_size), 7, cfg);
  h.add_peer(1, behaviour::stalls);  // answers metadata, never a block: pieces only asked for
  h.run();
  EXPECT_EQ(h.f.buffered_bytes(), 0u);
  h.gone.insert(peer_handle(1));
  h.f.handle_peer_removed(h.now, peer_handle(1));
  h.add_peer(2, behaviour::honest);
  h.run();
  h.expect_all_stored();
}

// Issue 18, finding 13: once the peer asked for the piece hashes was cut off for bad ones, a
// peer added later was only probed, never asked for the hashes, and the fetch waited for ever.
TEST(fetch, after_bad_piece_hashes_a_later_peer_is_asked_for_them) {
  harness h(one_file(3 * merkle::piece_size + 10));
  h.add_peer(1, behaviour::bad_hashes);
  h.run();
  ASSERT_EQ(h.disconnects.size(), 1u);
  EXPECT_FALSE(h.finished);
  h.add_peer(2, behaviour::honest);
  h.run();
  h.expect_all_stored();
}

// Issue 18, findings 13 and 15: a consistent manifest declaring an enormous content hung the
// fetch, and one of 1 TiB cost 455 MiB before anything checked it.
TEST(fetch, a_content_larger_than_the_node_fetches_ends_before_the_piece_hashes) {
  fetch_config cfg{8};
  cfg.content_bytes_max = 2 * merkle::piece_size;
  harness h(one_file(3 * merkle::piece_size), 7, cfg);
  h.add_peer(1, behaviour::honest);
  h.run();
  ASSERT_TRUE(h.failed.has_value());
  EXPECT_EQ(h.failed->code, errc::limit_exceeded);
  EXPECT_NE(h.failed->message.find("more than this node fetches"), std::string::npos)
      << h.failed->message;
  EXPECT_FALSE(h.opened);
  for (const auto& [p, q] : h.queue)
    for (const auto& m : q) EXPECT_FALSE(std::holds_alternative<wire::get_hashes>(m));
}

// Issue 18, finding 12: a peer that answers the metadata and then never a block was asked again
// for ever, and a fetch with no other peer never ended.
TEST(fetch, a_peer_whose_requests_keep_timing_out_is_cut_off_as_stalling) {
  harness h(one_file(4 * merkle::piece_size));
  h.add_peer(1, behaviour::stalls);
  h.run();
  ASSERT_TRUE(h.disconnects.empty());
  for (int i = 0; i < 3 && h.disconnects.empty(); ++i) {
    auto& taken = h.stalled[peer_handle(1)];
    ASSERT_GT(taken.size(), static_cast<std::size_t>(i));
    h.f.handle_timed_out(h.now, peer_handle(1), wire::request_kind::block, taken[i]);
    h.run();
  }
  ASSERT_EQ(h.disconnects.size(), 1u);
  EXPECT_EQ(h.disconnects[0].code, wire::reason::timeout);
  EXPECT_NE(h.disconnects[0].text.find("sent none of the last 3 blocks"), std::string::npos)
      << h.disconnects[0].text;
  // Another peer finishes the content.
  h.add_peer(2, behaviour::honest);
  h.run();
  h.expect_all_stored();
}

// Issue 18, finding 5: the only holder found its copy of a piece damaged and refused it; the
// fetch waited at the last piece for ever, saying nothing.
TEST(fetch, a_piece_no_connected_peer_holds_ends_the_fetch_after_a_bounded_wait) {
  harness h(one_file(4 * merkle::piece_size));
  h.add_peer(1, behaviour::honest);
  // Let everything but piece 3 through; the holder refuses that one as damaged.
  h.kind[peer_handle(1)] = behaviour::honest;
  for (int steps = 0; steps < 100000; ++steps) {
    if (auto a = h.f.poll_action()) {
      h.apply(std::move(*a));
      continue;
    }
    bool moved = false;
    for (auto& [p, q] : h.queue) {
      if (q.empty()) continue;
      const wire::message req = q.front();
      q.pop_front();
      if (auto* r = std::get_if<wire::request>(&req); r && r->ref.piece.value == 3)
        h.f.handle_reject(h.now, p,
                          wire::reject{wire::request_kind::block, r->ref, wire::reason::unavailable,
                                       "piece 3 failed verification here"});
      else
        h.deliver(p, req);
      moved = true;
      break;
    }
    if (!moved) break;
  }
  ASSERT_FALSE(h.finished);
  ASSERT_FALSE(h.failed.has_value());
  // Time passes with nothing arriving: first the fetch says why it waits, then it gives up.
  for (int s = 1; s <= 30 && !h.failed; ++s) {
    h.now += std::chrono::seconds(1);
    h.f.handle_tick(h.now);
    h.run();
  }
  EXPECT_FALSE(h.failed.has_value()) << "it gave up before unheld_timeout";
  EXPECT_NE(h.f.waiting().find("piece 3 is held by no connected peer"), std::string::npos)
      << h.f.waiting();
  for (int s = 0; s < 60 && !h.failed; ++s) {
    h.now += std::chrono::seconds(1);
    h.f.handle_tick(h.now);
    h.run();
  }
  ASSERT_TRUE(h.failed.has_value());
  EXPECT_EQ(h.failed->code, errc::not_found);
  EXPECT_NE(h.failed->message.find("failed verification here"), std::string::npos)
      << h.failed->message;
  EXPECT_EQ(h.f.progress().pieces_stored, 3u);
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

// The gateway streams a range at the end of a content not held yet: those pieces go first, in
// order, rather than wherever rarest-first would take them (issue 21, item 2).
TEST(fetch, wanted_pieces_are_started_first_in_order) {
  harness h(one_file(40 * merkle::piece_size));
  h.f.handle_known(h.now, h.c.m, h.c.piece_hashes, piece_set(40));
  h.f.handle_wanted(h.now, piece_index(36), piece_index(39));
  h.add_peer(1, behaviour::honest);
  h.run();
  h.expect_all_stored();
  std::vector<std::uint64_t> first;
  for (piece_index p : h.requested)
    if (first.empty() || first.back() != p.value) first.push_back(p.value);
  ASSERT_GE(first.size(), 4u);
  EXPECT_EQ(std::vector<std::uint64_t>(first.begin(), first.begin() + 4),
            (std::vector<std::uint64_t>{36, 37, 38, 39}));
}

}  // namespace
}  // namespace shoal
