// `shoal sim`: the deterministic simulator's scenarios, with their figures (docs/simulation.md).
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.hpp"

namespace shoal::cli {

namespace {

using nlohmann::json;

json figures_json(const sim::lookup_figures& f) {
  return json{{"lookups", f.lookups},
              {"found", f.found},
              {"success_rate",
               f.lookups ? static_cast<double>(f.found) / static_cast<double>(f.lookups) : 0.0},
              {"rounds_median", sim::percentile(f.rounds, 0.5)},
              {"rounds_p99", sim::percentile(f.rounds, 0.99)},
              {"queries_median", sim::percentile(f.queries, 0.5)},
              {"queries_p99", sim::percentile(f.queries, 0.99)},
              {"ms_median", sim::percentile(f.ms, 0.5)},
              {"ms_p99", sim::percentile(f.ms, 0.99)},
              {"failed_queries", f.failed_queries}};
}

void print_figures(const char* phase, const sim::lookup_figures& f) {
  std::printf(
      "%s: %zu of %zu lookups found their target (%.2f%%)\n", phase, f.found, f.lookups,
      f.lookups ? 100.0 * static_cast<double>(f.found) / static_cast<double>(f.lookups) : 0.0);
  std::printf("  round trips median %d, p99 %d; queries median %zu, p99 %zu (%zu failed in all)\n",
              sim::percentile(f.rounds, 0.5), sim::percentile(f.rounds, 0.99),
              sim::percentile(f.queries, 0.5), sim::percentile(f.queries, 0.99), f.failed_queries);
  std::printf("  virtual time median %.0f ms, p99 %.0f ms\n", sim::percentile(f.ms, 0.5),
              sim::percentile(f.ms, 0.99));
}

json revocation_json(const sim::revocation_figures& f) {
  return json{{"live", f.live},
              {"reached", f.reached},
              {"ms_median", sim::percentile(f.ms, 0.5)},
              {"ms_max", sim::percentile(f.ms, 1.0)},
              {"revoked_learned", f.revoked_learned},
              {"revoked_links_left", f.revoked_links},
              {"restarted", f.restarted},
              {"restarted_learned", f.restart_ms.size()},
              {"restart_ms_median", sim::percentile(f.restart_ms, 0.5)},
              {"restart_ms_max", sim::percentile(f.restart_ms, 1.0)},
              {"restart_rtt_ms_median", sim::percentile(f.restart_rtt_ms, 0.5)}};
}

void print_revocation(const sim::revocation_figures& f) {
  std::printf("then a live member published a revocation list revoking another\n");
  std::printf(
      "  %zu of %zu live members adopted it: median %.0f ms, max %.0f ms after it was "
      "published\n",
      f.reached, f.live, sim::percentile(f.ms, 0.5), sim::percentile(f.ms, 1.0));
  std::printf("  the revoked member %s; %zu connections to it left open\n",
              f.revoked_learned ? "learned it and stopped" : "never learned it", f.revoked_links);
}

}  // namespace

int simulate_dht(const context& c, const sim::dht_params& p) {
  if (!c.json)
    std::printf(
        "seed %llu (replay: shoal sim dht --seed %llu --nodes %zu --lookups %zu --crash %g "
        "--loss %g%s%s --partition %g)\n",
        static_cast<unsigned long long>(p.seed), static_cast<unsigned long long>(p.seed), p.nodes,
        p.lookups, p.crash, p.loss, p.restart ? " --restart" : "", p.revoke ? " --revoke" : "",
        p.partition);
  std::fflush(stdout);
  // The simulator reads no clock; its speed is measured here, outside it.
  const auto start = std::chrono::steady_clock::now();
  const sim::dht_report r = sim::run_dht(p);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rate = wall > 0 ? static_cast<double>(r.events) / wall : 0;
  if (c.json) {
    json j{{"scenario", "dht"},
           {"seed", p.seed},
           {"nodes", p.nodes},
           {"crash", p.crash},
           {"loss", p.loss},
           {"healthy", figures_json(r.healthy)},
           {"crashed_nodes", r.crashed_nodes},
           {"messages", r.messages},
           {"lost", r.lost},
           {"dials", r.dials},
           {"events", r.events},
           {"virtual_seconds", r.virtual_seconds},
           {"wall_seconds", wall},
           {"events_per_second", rate},
           {"trace_hash", r.trace_hash},
           {"violations", r.violations}};
    if (p.crash > 0) j["crashed"] = figures_json(r.crashed);
    if (p.restart && r.crashed_nodes > 0) j["restarted"] = figures_json(r.restarted);
    if (p.revoke) j["revocation"] = revocation_json(r.revocation);
    if (p.partition > 0) {
      j["split"] = figures_json(r.split);
      j["healed"] = figures_json(r.healed);
    }
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%zu members joined, each through one earlier member\n", p.nodes);
    print_figures("healthy", r.healthy);
    if (p.crash > 0) {
      std::printf("then %zu members (%.0f%%) crashed\n", r.crashed_nodes, 100.0 * p.crash);
      print_figures("after the crash", r.crashed);
    }
    if (p.revoke) print_revocation(r.revocation);
    if (p.restart && r.crashed_nodes > 0) {
      std::printf("then the %zu crashed members restarted, with empty tables\n", r.crashed_nodes);
      if (p.revoke)
        std::printf(
            "  %zu of %zu learned the revocation list: median %.0f ms, max %.0f ms after "
            "their start (round trip to their bootstrap peer: median %.0f ms)\n",
            r.revocation.restart_ms.size(), r.revocation.restarted,
            sim::percentile(r.revocation.restart_ms, 0.5),
            sim::percentile(r.revocation.restart_ms, 1.0),
            sim::percentile(r.revocation.restart_rtt_ms, 0.5));
      print_figures("after the restarts", r.restarted);
    }
    if (p.partition > 0) {
      std::printf("then the network split (%.0f%% of the members on one side)\n",
                  100.0 * p.partition);
      print_figures("within each side", r.split);
      std::printf("then the split healed\n");
      print_figures("across the old split, at once", r.healed);
    }
    std::printf(
        "%llu messages (%llu lost), %llu connections dialed, %llu events in %.0f s of virtual "
        "time; %.1f s of wall time, %.0f events/s\n",
        static_cast<unsigned long long>(r.messages), static_cast<unsigned long long>(r.lost),
        static_cast<unsigned long long>(r.dials), static_cast<unsigned long long>(r.events),
        r.virtual_seconds, wall, rate);
    for (const auto& v : r.violations) std::printf("BOUND EXCEEDED: %s\n", v.c_str());
    std::printf("trace %s\n", r.trace_hash.c_str());
  }
  return r.violations.empty() ? 0 : 1;
}

int simulate_swarm(const context& c, sim::swarm_params p) {
  if (!c.json)
    std::printf(
        "seed %llu (replay: shoal sim swarm --seed %llu --nodes %zu --mib %llu --origin-up %g "
        "--up %g --down %g%s --crash %g%s --pipeline-ms %lld --min-latency-ms %g "
        "--max-latency-ms %g --mtu %u)\n",
        static_cast<unsigned long long>(p.seed), static_cast<unsigned long long>(p.seed), p.nodes,
        static_cast<unsigned long long>(p.size >> 20), p.origin_up_mbps, p.up_mbps, p.down_mbps,
        p.heterogeneous ? " --heterogeneous" : "", p.crash, p.mixed ? " --mixed" : "",
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(p.fetch.pipeline_time).count()),
        std::chrono::duration<double, std::milli>(p.min_latency).count(),
        std::chrono::duration<double, std::milli>(p.max_latency).count(), p.mtu);
  std::fflush(stdout);
  const auto start = std::chrono::steady_clock::now();
  if (p.progress_every > duration::zero())
    p.on_progress = [start](const sim::swarm_progress& g) {
      const double wall =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr,
                   "%6.1f s: %5.1f%% held, %zu finished; uploads busy %3.0f%%, %.1f requests "
                   "queued per node, %llu at the origin; origin sent %.2f copies (%.0f s, %llu "
                   "events)\n",
                   g.seconds, 100 * g.held, g.finished, 100 * g.uploading, g.queued_per_node,
                   static_cast<unsigned long long>(g.origin_queued), g.origin_copies, wall,
                   static_cast<unsigned long long>(g.events));
      if (!g.slowest.empty()) std::fprintf(stderr, "  slowest: %s\n", g.slowest.c_str());
      if (!g.stragglers.empty()) std::fputs(g.stragglers.c_str(), stderr);
    };
  const sim::swarm_report r = sim::run_swarm(p);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rate = wall > 0 ? static_cast<double>(r.events) / wall : 0;
  const double origin_copies =
      static_cast<double>(r.origin_bytes) / static_cast<double>(std::max<std::uint64_t>(p.size, 1));
  if (c.json) {
    json j{{"scenario", "swarm"},
           {"seed", p.seed},
           {"nodes", p.nodes},
           {"bytes", p.size},
           {"heterogeneous", p.heterogeneous},
           {"crash", p.crash},
           {"mixed", p.mixed},
           {"mtu", p.mtu},
           {"crashed", r.crashed},
           {"slowed", r.slowed},
           {"liars", r.liars},
           {"liars_cut_off", r.liars_cut_off},
           {"survivors", r.survivors},
           {"finished", r.finished},
           {"bound_seconds", r.bound_seconds},
           {"last_seconds", r.last_seconds},
           {"last_node", r.last_node},
           {"median_seconds", sim::percentile(r.finish_seconds, 0.5)},
           {"ratio", r.ratio()},
           {"origin_copies", origin_copies},
           {"origin_use", r.origin_use},
           {"upload_use", r.upload_use},
           {"elsewhere", r.elsewhere},
           {"duplicate_blocks", r.duplicate_blocks},
           {"connections", r.connections},
           {"refused_full", r.refused_full},
           {"events", r.events},
           {"wall_seconds", wall},
           {"events_per_second", rate},
           {"trace_hash", r.trace_hash},
           {"violations", r.violations}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%zu of %zu surviving nodes finished (%zu killed during the transfer)\n",
                r.finished, r.survivors, r.crashed);
    if (p.mixed)
      std::printf("faults: %zu killed or powered off, %zu slowed, %zu liars (cut off %llu times)\n",
                  r.crashed, r.slowed, r.liars, static_cast<unsigned long long>(r.liars_cut_off));
    std::printf("last %.1f s (node %zu), median %.1f s; fluid bound %.1f s: %.3fx the bound\n",
                r.last_seconds, r.last_node, sim::percentile(r.finish_seconds, 0.5),
                r.bound_seconds, r.ratio());
    std::printf("every piece had left the origin at %.1f s, after %.2f copies\n",
                r.first_copy_seconds, r.first_copy_copies);
    std::printf("upload capacity used: the origin's %.0f%%, all nodes' %.0f%%\n",
                100 * r.origin_use, 100 * r.upload_use);
    std::printf(
        "the origin sent %.2f copies; %llu requests refused as held elsewhere, %llu endgame "
        "copies dropped, %llu connections (%llu hung up on: the swarm there was full)\n",
        origin_copies, static_cast<unsigned long long>(r.elsewhere),
        static_cast<unsigned long long>(r.duplicate_blocks),
        static_cast<unsigned long long>(r.connections),
        static_cast<unsigned long long>(r.refused_full));
    std::printf("%llu events; %.1f s of wall time, %.0f events/s\n",
                static_cast<unsigned long long>(r.events), wall, rate);
    for (const auto& v : r.violations) std::printf("INVARIANT BROKEN: %s\n", v.c_str());
    std::printf("trace %s\n", r.trace_hash.c_str());
  }
  return r.violations.empty() ? 0 : 1;
}

}  // namespace shoal::cli
