// Kademlia's routing table over node IDs (docs/protocol/dht.md): 256 buckets of at most k
// members each, bucket i holding the members whose ID shares exactly i leading bits with ours.
//
// A member enters the table only after it has spoken to us over an authenticated connection
// (its certificate names its node ID), never because a third party named it: a flooding or lying
// peer can make us try addresses, not fill the table. A full bucket keeps its long-lived members
// (they are the likeliest to stay up) and holds newcomers in a small replacement list until a
// member fails.
//
// Pure computation, no I/O, no clock: time comes in as arguments. Thread safety: one thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/clock.hpp"
#include "core/wire.hpp"

namespace shoal::dht {

using key = hash256;

inline key key_of(const node_id& n) {
  return n.digest;
}
inline key key_of(const content_id& c) {
  return c.digest;
}

// XOR distance, compared as a big-endian 256-bit number.
key distance(const key& a, const key& b);
// True if `a` is closer to `target` than `b` is.
bool closer(const key& target, const key& a, const key& b);
// Leading bits `a` and `b` share (256 if equal).
int common_prefix(const key& a, const key& b);

struct contact {
  wire::peer_entry at;  // node ID and where it listens
  time_point last_seen{};
  int failures = 0;  // queries in a row that got no answer
};

class routing_table {
 public:
  static constexpr int buckets = 256;
  static constexpr std::size_t replacements_per_bucket = 8;

  routing_table(node_id self, std::size_t k) : self_(self), k_(k) {}

  // The member spoke to us (an answer, a query, or an authenticated connection): insert it or
  // move it to its bucket's most-recently-seen end and clear its failures. A full bucket puts it
  // in the replacement list instead (newest kept). Ourselves and port 0 are ignored.
  void seen(time_point now, const wire::peer_entry& at);
  // A query to the member got no answer. After `max_failures` in a row it is dropped and the
  // newest replacement, if any, takes its place. Returns true if it was dropped.
  bool failed(const node_id& n, int max_failures);

  // Up to `count` members closest to `target`, closest first.
  std::vector<wire::peer_entry> closest(const key& target, std::size_t count) const;
  // The least recently seen member of each non-empty bucket not seen since `before`, for
  // liveness checks.
  std::vector<wire::peer_entry> stale(time_point before) const;
  // Indices of non-empty buckets, for refreshes.
  std::vector<int> occupied() const;
  // A random-looking key in bucket `i`'s range, from the 32 bytes of `noise`.
  key key_in_bucket(int i, const key& noise) const;

  std::size_t size() const { return size_; }
  bool contains(const node_id& n) const;
  std::size_t k() const { return k_; }
  const node_id& self() const { return self_; }

 private:
  struct bucket {
    std::vector<contact> members;  // least recently seen first; at most k
    std::vector<contact> replacements;
  };
  int index_of(const node_id& n) const;

  node_id self_;
  std::size_t k_;
  std::array<bucket, buckets> buckets_{};
  std::size_t size_ = 0;
};

}  // namespace shoal::dht
