// One member's part in the Kademlia DHT (docs/protocol/dht.md): its routing table, iterative
// lookups, the provider records it keeps for others, and the announcements of what it holds.
//
// I/O-free like the session: messages from members come in through handle_message() with the
// authenticated node ID of the connection they arrived on, time through every `now`; what to
// send, and lookups that finished, come out of poll_action(). The owner (the daemon, or the
// simulator) carries a `send` to the member over an existing connection or dials its address
// (checking that the certificate names that node), and calls handle_unreachable() if it cannot.
// Randomness (query tags, refresh keys) comes from the seed.
//
// Every set that a peer can make grow has a named bound in dht_config.
//
// Thread safety: one thread at a time.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <variant>
#include <vector>

#include "core/dht_routing.hpp"

namespace shoal::dht {

struct config {
  std::size_t k = 20;               // bucket size, nodes per answer, and copies of each record
  std::size_t alpha = 3;            // queries in flight per lookup
  duration query_timeout = 3s;      // a query unanswered this long has failed
  duration min_stall = 250ms;       // stalled (see step()) after max(this, srtt + 4 rttvar)
  duration lookup_timeout = 30s;    // a lookup that has not converged by then ends with what it has
  int max_failures = 2;             // unanswered queries in a row that drop a member from the table
  std::size_t max_lookups = 64;     // lookups at once; more are refused (lookup() gives nothing)
  std::size_t max_candidates = 80;  // nodes one lookup keeps in its shortlist (the closest)
  std::size_t max_pending = 1024;   // queries in flight in all
  // Provider records kept for others.
  std::size_t max_records = 65536;          // in all
  std::size_t max_records_per_node = 4096;  // for one announcing member
  std::size_t max_providers_per_key = 64;   // for one content
  duration record_ttl = 30min;
  duration republish_interval = 10min;  // our own records, well inside the TTL
  duration retry_interval = 5s;         // an announcement that reached nobody
  // A join's self-lookup that learned of no new member is repeated after this, doubling up to
  // refresh_interval: the members we know may have joined no better than we have.
  duration rejoin_interval = 5s;
  std::size_t max_announcing = 4;     // announcement lookups at once
  duration refresh_interval = 15min;  // buckets, and a ping of each bucket's oldest member
  std::size_t want_providers = 20;    // a provider lookup stops early with this many
};

using lookup_id = std::uint64_t;

enum class lookup_kind { find_node, get_providers };

struct lookup_stats {
  std::size_t queries = 0;  // sent
  std::size_t answered = 0;
  std::size_t failed = 0;  // timed out or unreachable
  int rounds = 0;          // the longest chain of answers the result depended on
  duration elapsed{};
};

namespace actions {
// Send `msg` to the member `to` (over a connection to it, or dial `to`'s address).
struct send {
  wire::peer_entry to;
  wire::message msg;
};
// A get_providers lookup the owner started learned of holders it had not reported yet; they
// come again in its lookup_done. The owner can dial them at once rather than wait for the
// lookup to converge (which asks all k closest nodes: several round trips more).
struct providers_found {
  lookup_id id = 0;
  std::vector<wire::provider_entry> providers;
};
// A lookup that the owner started has ended.
struct lookup_done {
  lookup_id id = 0;
  lookup_kind kind = lookup_kind::find_node;
  key target;
  std::vector<wire::peer_entry> closest;        // answered nodes, closest first (up to k)
  std::vector<wire::provider_entry> providers;  // get_providers: holders found (not us)
  lookup_stats stats;
};
}  // namespace actions
using action = std::variant<actions::send, actions::providers_found, actions::lookup_done>;

struct counters {
  std::uint64_t lookups = 0;
  std::uint64_t queries_sent = 0;
  std::uint64_t queries_answered = 0;  // by us, for others
  std::uint64_t announces_stored = 0;
  std::uint64_t announces_refused = 0;
  std::uint64_t stray_answers = 0;  // answers to no query of ours from that node
};

class node {
 public:
  node(node_id self, config cfg, std::uint64_t seed);

  // --- input --------------------------------------------------------------------------------
  // An authenticated member that listens at `at` is connected (either direction).
  void handle_connected(time_point now, const wire::peer_entry& at);
  // A DHT message from member `from`. `from_at` is where it listens (port 0: nowhere, so it is
  // not put in the routing table and cannot be recorded as a provider).
  void handle_message(time_point now, const wire::peer_entry& from_at, const wire::message& m);
  // The member cannot be reached (the dial failed, or its certificate named another node):
  // its queries fail now rather than at their deadline.
  void handle_unreachable(time_point now, const node_id& n);
  // The connection to the member was replaced by another (a duplicate closed): answers on their
  // way over the closed one are lost with it, so what it has not answered is asked again.
  void handle_reconnected(time_point now, const node_id& n);
  // The member is revoked (core/revocation.hpp): its queries fail now, it leaves the routing
  // table and every record it made is dropped. It can enter again only by speaking to us, which
  // the node no longer lets it do.
  void handle_revoked(time_point now, const node_id& n);
  // Deadlines, record expiry, republishing and refreshes.
  void handle_tick(time_point now);

  // --- what the owner asks ------------------------------------------------------------------
  // Starts a lookup; its lookup_done comes out of poll_action(). Nothing if max_lookups are
  // running. A lookup with no contact to ask ends at once with no result.
  std::optional<lookup_id> lookup(time_point now, lookup_kind kind, const key& target);
  // Announces that we hold `c` (all of it, or verified pieces of it), now and every
  // republish_interval. A change of `complete` is announced at once.
  void provide(time_point now, const content_id& c, bool complete);
  // Stops announcing `c` (records elsewhere expire).
  void stop_providing(const content_id& c);

  // --- output -------------------------------------------------------------------------------
  std::optional<action> poll_action();
  std::optional<time_point> next_deadline() const;

  // --- inspection ---------------------------------------------------------------------------
  const routing_table& table() const { return table_; }
  std::size_t record_count() const { return record_count_; }
  std::size_t records_from(const node_id& n) const;
  std::size_t providers_of(const content_id& c) const;
  std::size_t lookups_running() const { return lookups_.size(); }
  std::size_t pending_queries() const { return pending_.size(); }
  const counters& stats() const { return stats_; }
  const config& cfg() const { return cfg_; }

 private:
  enum class purpose { lookup, ping, announce };
  struct candidate {
    wire::peer_entry at;
    enum class state { fresh, waiting, answered, failed } st = state::fresh;
    int hop = 1;        // answers that led to it
    time_point sent{};  // when it was asked (waiting)
  };
  struct lookup_state {
    lookup_kind kind;
    key target;
    time_point started;
    std::vector<candidate> shortlist;  // closest first, at most max_candidates
    std::map<node_id, wire::provider_entry> providers;
    lookup_stats stats;
    bool internal = false;  // started by us (announce, refresh, bootstrap): no lookup_done
    std::optional<content_id> announce;  // the content to announce to the closest nodes
  };
  struct pending_query {
    node_id to;
    purpose why;
    lookup_id lookup = 0;
    time_point deadline;
    wire::peer_entry at;  // where it went, and what, for handle_reconnected
    wire::message msg;
  };
  struct record {
    wire::peer_entry at;
    bool complete = false;
    time_point expires;
  };
  struct own_record {
    bool complete = false;
    time_point next{};  // when to announce next
    bool in_progress = false;
  };

  std::uint32_t send_query(time_point now, const wire::peer_entry& to, wire::message msg,
                           purpose why, lookup_id l);
  lookup_id start(time_point now, lookup_kind kind, const key& target, bool internal,
                  std::optional<content_id> announce = std::nullopt);
  void add_candidate(lookup_state& l, const wire::peer_entry& at, int hop);
  void step(time_point now, lookup_id id);
  void finish(time_point now, lookup_id id);
  void answer_query(time_point now, const wire::peer_entry& from, const wire::dht_query& q);
  void store_record(time_point now, const wire::peer_entry& from, const wire::dht_announce& a);
  void on_nodes(time_point now, const wire::peer_entry& from, const wire::dht_nodes& m);
  void query_failed(time_point now, std::uint32_t tag);
  // Fails every query pending to `n`; how many there were.
  std::size_t fail_queries_to(time_point now, const node_id& n);
  void expire_records(time_point now);
  void run_announcements(time_point now);
  void refresh(time_point now);
  void start_join(time_point now);  // the self-lookup of a join
  void forget_record(const content_id& c, const node_id& n);
  void sample_rtt(duration sample);
  duration stall_after() const;

  node_id self_;
  config cfg_;
  std::mt19937_64 rng_;
  routing_table table_;
  std::uint32_t next_tag_;
  lookup_id next_lookup_ = 1;
  std::map<lookup_id, lookup_state> lookups_;
  // The self-lookup of a join (handle_connected), and whether contacts came while it ran.
  std::optional<lookup_id> join_lookup_;
  bool join_again_ = false;
  std::size_t join_known_ = 0;           // members known when it started
  std::optional<time_point> rejoin_at_;  // a join that learned of no one is repeated then
  duration rejoin_after_{};
  std::map<std::uint32_t, pending_query> pending_;
  std::map<content_id, std::map<node_id, record>> records_;
  std::map<node_id, std::size_t> records_per_node_;
  std::size_t record_count_ = 0;
  std::map<content_id, own_record> own_;
  std::deque<action> actions_;
  counters stats_;
  time_point next_expiry_{};
  time_point next_refresh_{};
  bool started_ = false;     // some member was known once: upkeep timers run
  duration srtt_ = 500ms;    // smoothed round trip of lookup queries
  duration rttvar_ = 250ms;  // and its mean deviation
  time_point last_now_{};    // the latest `now` handed in, for next_deadline()
};

}  // namespace shoal::dht
