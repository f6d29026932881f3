// The session state machine with a virtual clock: two sessions wired back to back, or one session
// fed hand-made frames.
#include "core/session.hpp"

#include <gtest/gtest.h>

#include "support/memory_content.hpp"
#include "support/test_dir.hpp"

namespace shoal {
namespace {

std::vector<session_event> drain(session& s) {
  std::vector<session_event> out;
  while (auto e = s.poll_event()) out.push_back(std::move(*e));
  return out;
}

// Moves bytes both ways until neither side has anything to send.
void pump(session& a, session& b, time_point now) {
  for (int i = 0; i < 100; ++i) {
    auto ab = a.poll_output();
    auto ba = b.poll_output();
    if (ab.empty() && ba.empty()) return;
    b.handle_bytes(now, ab);
    a.handle_bytes(now, ba);
  }
}

template <typename T>
std::vector<T> only(const std::vector<session_event>& evs) {
  std::vector<T> out;
  for (const auto& e : evs)
    if (auto* t = std::get_if<T>(&e)) out.push_back(*t);
  return out;
}

std::vector<wire::message> decode_all(const std::vector<std::uint8_t>& bytes) {
  wire::frame_reader r;
  r.append(bytes);
  std::vector<wire::message> out;
  while (true) {
    auto m = r.next();
    EXPECT_TRUE(m.ok()) << m.err().message;
    if (!m || !m->has_value()) return out;
    out.push_back(std::move(**m));
  }
}

std::vector<std::uint8_t> frames(std::initializer_list<wire::message> ms) {
  std::vector<std::uint8_t> out;
  for (const auto& m : ms) wire::encode(m, out);
  return out;
}

const time_point t0{};

struct pair_fixture : ::testing::Test {
  session_config ca, cb;
  std::optional<session> a, b;
  void open() {
    a.emplace(ca, t0);
    b.emplace(cb, t0);
    pump(*a, *b, t0);
    ASSERT_EQ(a->current_state(), session::state::open);
    ASSERT_EQ(b->current_state(), session::state::open);
  }
};

TEST_F(pair_fixture, handshake_exchanges_limits_and_agents) {
  ca.agent = "alpha";
  cb.max_requests = 7;
  open();
  auto ea = only<session_events::established>(drain(*a));
  ASSERT_EQ(ea.size(), 1u);
  EXPECT_EQ(ea[0].peer_max_requests, 7);
  EXPECT_EQ(ea[0].version, 1);
  auto eb = only<session_events::established>(drain(*b));
  ASSERT_EQ(eb.size(), 1u);
  EXPECT_EQ(eb[0].peer_agent, "alpha");
}

TEST_F(pair_fixture, pipelined_requests_are_bounded_by_the_peer_and_answered) {
  cb.max_requests = 4;
  open();
  drain(*a), drain(*b);
  const auto c = testing::memory_content::make({{"", testing::pattern_bytes(300'000)}});
  int sent = 0;
  for (std::uint8_t blk = 0; a->can_request(); ++blk, ++sent)
    a->send_request(t0, {c.id, piece_index(0), blk});
  EXPECT_EQ(sent, 4);
  pump(*a, *b, t0);
  auto reqs = only<wire::request>(drain(*b));
  ASSERT_EQ(reqs.size(), 4u);
  for (const auto& r : reqs) b->send_block(t0, c.block(r.ref));
  pump(*a, *b, t0);
  auto blocks = only<wire::block>(drain(*a));
  ASSERT_EQ(blocks.size(), 4u);
  EXPECT_EQ(blocks[2], c.block({c.id, piece_index(0), 2}));
  EXPECT_EQ(a->requests_outstanding(), 0u);
  EXPECT_TRUE(a->can_request());
}

// Two fetches sharing a connection may ask for more than the peer's bound for a moment: the
// excess waits in the session and goes out as answers free room, never over the bound (the
// serving side would refuse it), and a held request that is cancelled is never sent.
TEST_F(pair_fixture, requests_over_the_peers_bound_are_held_and_sent_as_room_frees) {
  cb.max_requests = 2;
  open();
  drain(*a), drain(*b);
  const auto c = testing::memory_content::make({{"", testing::pattern_bytes(100'000)}});
  for (std::uint8_t blk = 0; blk < 5; ++blk) a->send_request(t0, {c.id, piece_index(0), blk});
  EXPECT_EQ(a->requests_outstanding(), 2u);
  EXPECT_EQ(a->requests_held(), 3u);
  EXPECT_TRUE(a->is_requested({c.id, piece_index(0), 4}));
  a->send_cancel(t0, {c.id, piece_index(0), 3});  // held: dropped without a word
  pump(*a, *b, t0);
  std::vector<std::uint8_t> asked;
  for (int round = 0; round < 4; ++round) {
    auto reqs = only<wire::request>(drain(*b));
    EXPECT_LE(reqs.size(), 2u);
    if (reqs.empty()) break;
    for (const auto& r : reqs) {
      asked.push_back(r.ref.block);
      b->send_block(t0, c.block(r.ref));
    }
    pump(*a, *b, t0);
  }
  EXPECT_EQ(asked, (std::vector<std::uint8_t>{0, 1, 2, 4}));
  EXPECT_EQ(only<wire::block>(drain(*a)).size(), 4u);
  EXPECT_EQ(a->requests_outstanding() + a->requests_held(), 0u);
  EXPECT_EQ(b->current_state(), session::state::open);  // no request over its bound arrived
}

TEST_F(pair_fixture, a_cancelled_request_is_not_answered) {
  open();
  drain(*a), drain(*b);
  const auto c = testing::memory_content::make({{"", testing::pattern_bytes(40'000)}});
  const wire::block_ref ref{c.id, piece_index(0), 1};
  a->send_request(t0, ref);
  pump(*a, *b, t0);
  ASSERT_EQ(only<wire::request>(drain(*b)).size(), 1u);
  a->send_cancel(t0, ref);
  pump(*a, *b, t0);
  b->send_block(t0, c.block(ref));  // the owner answers late: the session drops it
  EXPECT_TRUE(b->poll_output().empty());
  EXPECT_FALSE(a->closed());
  EXPECT_FALSE(b->closed());
}

TEST_F(pair_fixture, a_request_times_out_and_its_late_answer_is_ignored) {
  ca.request_timeout = 5s;
  open();
  drain(*a), drain(*b);
  const auto c = testing::memory_content::make({{"", testing::pattern_bytes(40'000)}});
  const wire::block_ref ref{c.id, piece_index(0), 0};
  a->send_request(t0, ref);
  pump(*a, *b, t0);
  drain(*b);
  EXPECT_EQ(*a->next_deadline(), t0 + 5s);
  a->handle_tick(t0 + 5s);
  auto tos = only<session_events::timed_out>(drain(*a));
  ASSERT_EQ(tos.size(), 1u);
  EXPECT_EQ(tos[0].ref, ref);
  auto sent = decode_all(a->poll_output());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<wire::cancel>(sent[0]));
  // The block was already on its way: it arrives and is dropped without a fuss.
  a->handle_bytes(t0 + 6s, frames({c.block(ref)}));
  EXPECT_FALSE(a->closed());
  EXPECT_TRUE(drain(*a).empty());
}

TEST_F(pair_fixture, an_unrequested_block_is_a_protocol_violation) {
  open();
  drain(*a), drain(*b);
  const auto c = testing::memory_content::make({{"", testing::pattern_bytes(40'000)}});
  a->handle_bytes(t0, frames({c.block({c.id, piece_index(0), 0})}));
  ASSERT_TRUE(a->closed());
  auto cl = only<session_events::closed>(drain(*a));
  ASSERT_EQ(cl.size(), 1u);
  EXPECT_EQ(cl[0].code, wire::reason::protocol_violation);
  EXPECT_FALSE(cl[0].by_peer);
  // The peer is told why.
  pump(*a, *b, t0);
  auto cb_closed = only<session_events::closed>(drain(*b));
  ASSERT_EQ(cb_closed.size(), 1u);
  EXPECT_TRUE(cb_closed[0].by_peer);
  EXPECT_NE(cb_closed[0].text.find("nothing we asked for"), std::string::npos);
}

TEST_F(pair_fixture, keepalive_when_quiet_and_timeout_when_the_peer_is_silent) {
  open();
  drain(*a), drain(*b);
  EXPECT_EQ(*a->next_deadline(), t0 + 15s);
  a->handle_tick(t0 + 15s);
  auto sent = decode_all(a->poll_output());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<wire::keepalive>(sent[0]));
  a->handle_tick(t0 + 44s);
  EXPECT_FALSE(a->closed());
  a->handle_tick(t0 + 45s);
  ASSERT_TRUE(a->closed());
  auto cl = only<session_events::closed>(drain(*a));
  EXPECT_EQ(cl.at(0).code, wire::reason::timeout);
}

TEST_F(pair_fixture, dht_messages_pass_both_ways_within_the_request_budget) {
  open();
  drain(*a);
  drain(*b);
  const wire::dht_query q{5, wire::dht_kind::find_node, hash256{}};
  a->send_dht(t0, q);
  pump(*a, *b, t0);
  auto got = only<wire::dht_query>(drain(*b));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], q);
  b->send_dht(t0, wire::dht_nodes{5, false, false, {}, {}});
  pump(*a, *b, t0);
  EXPECT_EQ(only<wire::dht_nodes>(drain(*a)).size(), 1u);
  // A burst past the budget (the one above counted) closes the session with overloaded;
  // spread over time, the same number is fine.
  time_point t = t0;
  for (int i = 1; i < session::dht_burst * 3; ++i) {
    t += std::chrono::milliseconds(1000 / session::dht_per_second);
    a->send_dht(t, q);
    pump(*a, *b, t);
  }
  EXPECT_FALSE(b->closed());
  for (int i = 0; i <= session::dht_burst; ++i) a->send_dht(t, q);
  pump(*a, *b, t);
  EXPECT_TRUE(b->closed());
  auto closed = only<session_events::closed>(drain(*b));
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].code, wire::reason::overloaded);
  EXPECT_NE(closed[0].text.find("DHT requests"), std::string::npos) << closed[0].text;
}

TEST(session, no_hello_in_time_closes_with_timeout) {
  session s({}, t0);
  (void)s.poll_output();
  s.handle_tick(t0 + 9s);
  EXPECT_FALSE(s.closed());
  s.handle_tick(t0 + 10s);
  ASSERT_TRUE(s.closed());
  auto sent = decode_all(s.poll_output());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(std::get<wire::goodbye>(sent[0]).code, wire::reason::timeout);
}

TEST(session, anything_before_hello_is_refused) {
  session s({}, t0);
  s.handle_bytes(t0, frames({wire::keepalive{}}));
  ASSERT_TRUE(s.closed());
  auto cl = only<session_events::closed>(drain(s));
  EXPECT_NE(cl.at(0).text.find("expected hello"), std::string::npos);
}

TEST(session, an_unsupported_version_is_refused) {
  session s({}, t0);
  s.handle_bytes(t0, frames({wire::hello{2, 3, 16, 0, "future"}}));
  ASSERT_TRUE(s.closed());
  EXPECT_EQ(only<session_events::closed>(drain(s)).at(0).code, wire::reason::version_mismatch);
}

TEST(session, requests_over_the_announced_bound_are_rejected) {
  session_config cfg;
  cfg.max_requests = 2;
  session s(cfg, t0);
  (void)s.poll_output();
  const content_id c{};
  s.handle_bytes(
      t0, frames({wire::hello{1, 1, 16, 0, "x"}, wire::request{{c, piece_index(0), 0}},
                  wire::request{{c, piece_index(0), 1}}, wire::request{{c, piece_index(0), 2}}}));
  EXPECT_FALSE(s.closed());
  const auto events = drain(s);
  EXPECT_EQ(only<wire::request>(events).size(), 2u);
  // The refusal is reported, so that the node counts it beside its own.
  const auto refused = only<session_events::refused>(events);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].code, wire::reason::overloaded);
  auto sent = decode_all(s.poll_output());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(std::get<wire::reject>(sent[0]).code, wire::reason::overloaded);
}

TEST(session, truncated_and_oversized_frames_close_the_session) {
  {
    session s({}, t0);
    auto bytes = frames({wire::hello{1, 1, 16, 0, "x"}, wire::keepalive{}});
    bytes.pop_back();  // keepalive's body is its type byte: cut it
    s.handle_bytes(t0, bytes);
    EXPECT_FALSE(s.closed());
    s.handle_eof(t0);
    ASSERT_TRUE(s.closed());
    auto cl = only<session_events::closed>(drain(s));
    EXPECT_EQ(cl.at(0).code, wire::reason::protocol_violation);
    EXPECT_NE(cl.at(0).text.find("inside a frame"), std::string::npos) << cl.at(0).text;
    // Our verdict on a cut connection, not something the peer said (issue 18, finding 18).
    EXPECT_FALSE(cl.at(0).by_peer);
  }
  {
    session s({}, t0);
    const std::vector<std::uint8_t> huge = {0x7f, 0xff, 0xff, 0xff};
    s.handle_bytes(t0, huge);
    ASSERT_TRUE(s.closed());
    auto cl = only<session_events::closed>(drain(s));
    EXPECT_EQ(cl.at(0).code, wire::reason::protocol_violation);
    EXPECT_NE(cl.at(0).text.find("limit"), std::string::npos) << cl.at(0).text;
  }
}

TEST(session, goodbye_from_the_peer_is_reported_with_its_reason) {
  session s({}, t0);
  s.handle_bytes(t0, frames({wire::hello{1, 1, 16, 0, "x"},
                             wire::goodbye{wire::reason::shutting_down, "bye"}}));
  ASSERT_TRUE(s.closed());
  auto cl = only<session_events::closed>(drain(s));
  EXPECT_EQ(cl.at(0).code, wire::reason::shutting_down);
  EXPECT_EQ(cl.at(0).text, "bye");
  EXPECT_TRUE(cl.at(0).by_peer);
}

// Issue 18, finding 17: a peer cut off while our answers to it are still queued hears why first.
TEST(session, a_goodbye_goes_ahead_of_answers_still_queued) {
  session s({}, t0);
  const content_id c{};
  s.handle_bytes(t0, frames({wire::hello{1, 1, 16, 0, "x"}}));
  const wire::block_ref r0{c, piece_index(0), 0};
  s.handle_bytes(t0, frames({wire::request{r0}}));
  ASSERT_EQ(only<wire::request>(drain(s)).size(), 1u);
  wire::block b;
  b.ref = r0;
  b.data.assign(merkle::block_size, 7);
  s.send_block(t0, b);
  s.send_have(t0, c, piece_index(3));
  s.close(t0, wire::reason::overloaded, "cut off");
  auto sent = decode_all(s.poll_output());
  ASSERT_EQ(sent.size(), 2u);  // our hello (never taken yet), then the goodbye
  EXPECT_TRUE(std::holds_alternative<wire::hello>(sent[0]));
  EXPECT_EQ(std::get<wire::goodbye>(sent[1]).code, wire::reason::overloaded);
  // Once the hello is out, only the goodbye follows.
  session t({}, t0);
  (void)t.poll_output();
  t.handle_bytes(t0, frames({wire::hello{1, 1, 16, 0, "x"}}));
  t.send_have(t0, c, piece_index(1));
  t.close(t0, wire::reason::done, "");
  sent = decode_all(t.poll_output());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(std::get<wire::goodbye>(sent[0]).code, wire::reason::done);
}

}  // namespace
}  // namespace shoal
