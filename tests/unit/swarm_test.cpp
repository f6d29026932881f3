// The serving side's first-copy rule (core/swarm.hpp): while some piece is held by no connected
// peer, a piece another announcing peer holds, or was just sent, is refused with `elsewhere`.
#include "core/swarm.hpp"

#include <gtest/gtest.h>

namespace shoal {
namespace {

const content_id c{hash256{{1}}};
constexpr std::uint64_t pieces = 4;
const peer_handle a(1), b(2), c3(3);

wire::bitfield bits(std::initializer_list<std::uint64_t> held) {
  piece_set s(pieces);
  for (auto i : held) s.insert(piece_index(i));
  return wire::bitfield{c, pieces, s.bytes()};
}

wire::block_ref ref(std::uint64_t piece) {
  return wire::block_ref{c, piece_index(piece), 0};
}

TEST(swarm, a_piece_sent_to_one_announcing_peer_is_not_sent_to_another) {
  swarm s;
  s.handle_bitfield(a, bits({}), pieces);
  s.handle_bitfield(b, bits({}), pieces);
  EXPECT_FALSE(s.held_elsewhere(a, ref(0)));  // the first copy goes to a
  EXPECT_FALSE(s.held_elsewhere(a, ref(0)));  // a may ask again (another block of it)
  EXPECT_TRUE(s.held_elsewhere(b, ref(0)));   // b waits for a to have it
  EXPECT_FALSE(s.held_elsewhere(b, ref(1)));  // but gets a piece nobody has
  // a announces piece 0: b is still sent elsewhere, now because a holds it.
  s.handle_have(a, wire::have{c, piece_index(0)}, pieces);
  EXPECT_TRUE(s.held_elsewhere(b, ref(0)));
  EXPECT_EQ(s.swarms().at(0).only_here, pieces - 1);
}

TEST(swarm, once_the_peers_hold_every_piece_second_copies_are_sent) {
  swarm s;
  s.handle_bitfield(a, bits({0, 1}), pieces);
  s.handle_bitfield(b, bits({2}), pieces);
  EXPECT_FALSE(s.held_elsewhere(c3, ref(0)));  // c3 announced nothing: served as it asks
  s.handle_bitfield(c3, bits({}), pieces);
  EXPECT_TRUE(s.held_elsewhere(c3, ref(0)));
  s.handle_have(b, wire::have{c, piece_index(3)}, pieces);
  ASSERT_EQ(s.swarms().size(), 1u);
  EXPECT_EQ(s.swarms()[0].only_here, 0u);
  EXPECT_FALSE(s.held_elsewhere(c3, ref(0)));  // the peers hold a full copy between them
}

TEST(swarm, a_peer_that_leaves_no_longer_counts) {
  swarm s;
  s.handle_bitfield(a, bits({0}), pieces);
  s.handle_bitfield(b, bits({}), pieces);
  EXPECT_FALSE(s.held_elsewhere(a, ref(1)));
  EXPECT_TRUE(s.held_elsewhere(b, ref(0)));
  EXPECT_TRUE(s.held_elsewhere(b, ref(1)));  // sent to a, which will announce it
  s.handle_peer_removed(a);
  EXPECT_FALSE(s.held_elsewhere(b, ref(0)));  // nobody else holds it now
  EXPECT_FALSE(s.held_elsewhere(b, ref(1)));  // nor will
  EXPECT_FALSE(s.announced(a, c));
  EXPECT_EQ(s.swarms().at(0).only_here, pieces);
}

TEST(swarm, malformed_and_early_announcements_are_ignored) {
  swarm s;
  s.handle_have(a, wire::have{c, piece_index(0)}, pieces);  // before any bitfield
  EXPECT_TRUE(s.swarms().empty());
  s.handle_bitfield(a, wire::bitfield{c, pieces + 1, {0xff}}, pieces);  // another layout
  EXPECT_FALSE(s.announced(a, c));
  s.handle_bitfield(a, bits({1}), pieces);
  s.handle_have(a, wire::have{c, piece_index(pieces + 5)}, pieces);  // past the end
  s.handle_have(a, wire::have{c, piece_index(1)}, pieces);           // again: counted once
  EXPECT_EQ(s.swarms().at(0).only_here, pieces - 1);
  // A new bitfield replaces the old one.
  s.handle_bitfield(a, bits({2, 3}), pieces);
  EXPECT_EQ(s.swarms().at(0).only_here, pieces - 2);
}

}  // namespace
}  // namespace shoal
