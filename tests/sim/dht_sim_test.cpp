// The simulator in CI: small DHT scenarios with fixed seeds that assert the invariants (every
// lookup of a live member finds it, with and without a fifth of the members crashed, after they
// restart, within each side of a split network and across it once healed; no node exceeds a
// bound), a revocation list that reaches every live member, the revoked one and the members that
// restart after it, and determinism (two runs of a seed give the same trace hash; another seed
// another).
#include <gtest/gtest.h>

#include "sim/dht_scenario.hpp"

namespace shoal::sim {
namespace {

dht_params small(std::uint64_t seed) {
  dht_params p;
  p.seed = seed;
  p.nodes = 300;
  p.lookups = 400;
  p.crash = 0.2;
  return p;
}

TEST(dht_sim, lookups_find_live_members_with_and_without_crashes) {
  for (std::uint64_t seed : {1, 2, 3}) {
    std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
    const dht_report r = run_dht(small(seed));
    EXPECT_EQ(r.healthy.found, r.healthy.lookups) << "seed " << seed;
    EXPECT_EQ(r.crashed.found, r.crashed.lookups) << "seed " << seed;
    EXPECT_GT(r.crashed_nodes, 0u);
    EXPECT_GT(r.crashed.failed_queries, 0u) << "no lookup met a crashed node";
    EXPECT_TRUE(r.violations.empty()) << r.violations.front();
    EXPECT_LE(percentile(r.healthy.rounds, 0.99), 6);
  }
}

TEST(dht_sim, lost_packets_cost_time_not_answers) {
  dht_params p = small(4);
  p.crash = 0;
  const dht_report clean = run_dht(p);
  p.loss = 0.05;
  const dht_report r = run_dht(p);
  EXPECT_GT(r.lost, 0u);
  EXPECT_EQ(r.healthy.found, r.healthy.lookups);  // TCP delivers late, not never
  EXPECT_GT(percentile(r.healthy.ms, 0.99), percentile(clean.healthy.ms, 0.99));
  EXPECT_TRUE(r.violations.empty());
}

// Issue 23: a list published at one member reaches every live member with a fifth crashed, and
// the revoked member, which is left with no connection; members that restart learn it from the
// first member they join through.
TEST(dht_sim, a_revocation_list_reaches_every_live_member_and_those_that_restart) {
  for (std::uint64_t seed : {6, 7}) {
    dht_params p = small(seed);
    p.lookups = 100;
    p.revoke = true;
    p.restart = true;
    const dht_report r = run_dht(p);
    const revocation_figures& f = r.revocation;
    std::printf(
        "seed %llu: %zu of %zu reached, median %.0f ms, max %.0f ms; restarts: %zu of %zu, "
        "median %.0f ms (bootstrap round trip %.0f ms)\n",
        static_cast<unsigned long long>(seed), f.reached, f.live, percentile(f.ms, 0.5),
        percentile(f.ms, 1.0), f.restart_ms.size(), f.restarted, percentile(f.restart_ms, 0.5),
        percentile(f.restart_rtt_ms, 0.5));
    EXPECT_GT(f.live, 200u);
    EXPECT_EQ(f.reached, f.live) << "seed " << seed;
    EXPECT_TRUE(f.revoked_learned) << "seed " << seed;
    EXPECT_EQ(f.revoked_links, 0u) << "seed " << seed;
    EXPECT_GT(f.restarted, 0u);
    EXPECT_EQ(f.restart_ms.size(), f.restarted) << "seed " << seed;
    EXPECT_EQ(r.restarted.found, r.restarted.lookups) << "seed " << seed;
    EXPECT_TRUE(r.violations.empty());
  }
}

TEST(dht_sim, restarted_members_rejoin_and_a_split_network_works_on_each_side_and_heals) {
  dht_params p = small(5);
  p.restart = true;
  p.partition = 0.4;
  const dht_report r = run_dht(p);
  ASSERT_GT(r.crashed_nodes, 0u);
  EXPECT_EQ(r.restarted.found, r.restarted.lookups);
  EXPECT_GT(r.split.lookups, 0u);
  EXPECT_EQ(r.split.found, r.split.lookups);  // each side finds its own members
  EXPECT_GT(r.split.failed_queries, 0u) << "no lookup met the split";
  EXPECT_GT(r.healed.lookups, 0u);
  EXPECT_EQ(r.healed.found, r.healed.lookups);  // and, healed, each other's at once
  EXPECT_TRUE(r.violations.empty());
}

TEST(dht_sim, the_same_seed_gives_the_same_trace) {
  const dht_report a = run_dht(small(7));
  const dht_report b = run_dht(small(7));
  const dht_report c = run_dht(small(8));
  std::printf("seed 7: trace %s (%llu events); seed 8: trace %s\n", a.trace_hash.c_str(),
              static_cast<unsigned long long>(a.events), c.trace_hash.c_str());
  EXPECT_EQ(a.trace_hash, b.trace_hash);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.messages, b.messages);
  EXPECT_NE(a.trace_hash, c.trace_hash);
}

}  // namespace
}  // namespace shoal::sim
