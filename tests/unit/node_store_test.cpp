// core/node.hpp: what the node serves follows the store while it runs (issue 21, item 1). An
// add, a verify that found damaged pieces or a removal through the running daemon reaches the
// node as handle_held or handle_dropped, and the node answers from the store's new state: it
// loads the content's metadata again, announces what it now holds, refuses what it dropped.
#include <gtest/gtest.h>

#include "core/node.hpp"
#include "support/node_net.hpp"

namespace shoal {
namespace {

class node_and_store : public ::testing::Test {
 protected:
  test::node_net net;
  std::mt19937_64 rng{11};
  sim::synthetic_content content = sim::make_synthetic_content(rng, 3 * merkle::piece_size + 1000);

  // A member that holds the content complete.
  std::size_t holder() {
    const std::size_t h = net.add({}, 1);
    net.members[h].store.emplace(content.id, content.held);
    net[h].handle_held(net.now, content.id, content.held.layout.piece_count(), true);
    return h;
  }
  // What `from` last sent of type T, or null.
  template <typename T>
  const T* last_sent(std::size_t from) const {
    const auto& sent = net.members[from].sent;
    for (auto it = sent.rbegin(); it != sent.rend(); ++it)
      if (const auto* m = std::get_if<T>(&it->second)) return m;
    return nullptr;
  }
};

TEST_F(node_and_store, a_content_held_again_with_fewer_pieces_is_loaded_again_and_announced_so) {
  const std::size_t h = holder();
  const std::size_t x = net.add({}, 2);
  const auto [at_x, at_h] = net.connect(x, h);
  net.deliver(x, at_x, wire::get_manifest{content.id, 0});
  net.run();
  ASSERT_EQ(net.members[h].loads, 1u);
  const auto* first = last_sent<wire::bitfield>(h);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->bits, piece_set(content.held.layout.piece_count(), true).bytes());

  // A verify found piece 1 damaged: the store marks it missing and tells the node.
  net.members[h].store.at(content.id).have.erase(piece_index(1));
  net[h].handle_held(net.now, content.id, content.held.layout.piece_count() - 1, false);
  net.deliver(x, at_x, wire::get_manifest{content.id, 0});
  net.run();
  EXPECT_EQ(net.members[h].loads, 2u);  // what it had kept of the content is not trusted
  const auto* second = last_sent<wire::bitfield>(h);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->bits, net.members[h].store.at(content.id).have.bytes());
  EXPECT_NE(second->bits, first->bits);
  (void)at_h;
}

TEST_F(node_and_store, a_dropped_content_is_refused_and_one_added_later_is_served) {
  const std::size_t h = holder();
  const std::size_t x = net.add({}, 2);
  const auto [at_x, at_h] = net.connect(x, h);
  net.deliver(x, at_x, wire::get_manifest{content.id, 0});
  net.run();
  ASSERT_NE(last_sent<wire::manifest_part>(h), nullptr);

  // `shoal rm` through the daemon.
  net.members[h].store.erase(content.id);
  net[h].handle_dropped(net.now, content.id);
  net.deliver(x, at_x, wire::get_manifest{content.id, 0});
  net.run();
  const auto* r = std::get_if<wire::reject>(&net.members[h].sent.back().second);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->code, wire::reason::not_found);
  const std::uint64_t loads = net.members[h].loads;

  // `shoal add` of the same bytes again.
  net.members[h].store.emplace(content.id, content.held);
  net[h].handle_held(net.now, content.id, content.held.layout.piece_count(), true);
  const std::size_t parts_before = std::count_if(
      net.members[h].sent.begin(), net.members[h].sent.end(),
      [](const auto& s) { return std::holds_alternative<wire::manifest_part>(s.second); });
  net.deliver(x, at_x, wire::get_manifest{content.id, 0});
  net.run();
  EXPECT_EQ(net.members[h].loads, loads + 1);
  const std::size_t parts_after = std::count_if(
      net.members[h].sent.begin(), net.members[h].sent.end(),
      [](const auto& s) { return std::holds_alternative<wire::manifest_part>(s.second); });
  EXPECT_EQ(parts_after, parts_before + 1);
  (void)at_h;
}

TEST_F(node_and_store, a_content_added_while_running_can_be_fetched_from_the_node) {
  // The node started with an empty store; the content is added while it runs.
  const std::size_t h = holder();
  const std::size_t f = net.add({}, 2);
  fetch_request r;
  r.id = content.id;
  r.sources = {net.members[h].at};
  net[f].start_fetch(net.now, r);
  net.run();
  ASSERT_EQ(net.members[f].ended.size(), 1u);
  EXPECT_EQ(net.members[f].ended[0].why.code, errc::ok) << net.members[f].ended[0].why.message;
}

}  // namespace
}  // namespace shoal
