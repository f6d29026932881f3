// The network's revocation list in the node (core/node.hpp, docs/protocol/membership.md section
// 9): a newer valid list is adopted, passed on over every connection and to a few members the
// node is not connected to, and every revoked member is cut off and refused from then on. A node
// that finds itself on the list closes everything and tells its host to stop.
#include <algorithm>

#include "core/node.hpp"

namespace shoal {
namespace {

std::string revoked_text(const revoked_member& m) {
  return m.reason.empty() ? std::string() : " (" + m.reason + ")";
}

}  // namespace

result<bool> node::handle_revocations(time_point now, byte_span list) {
  if (!cfg_.authority_key)
    return error{errc::untrusted, "this node knows no network authority key to check the list"};
  auto l = decode_and_verify(list, cfg_.network, *cfg_.authority_key);
  if (!l.ok()) return std::move(l).err();
  if (revocations_ && l->serial <= revocations_->serial) return false;
  adopt_revocations(now, std::move(l).value(), {list.begin(), list.end()}, std::nullopt);
  return true;
}

void node::on_revocations(time_point now, peer_handle p, const wire::revocations& m) {
  if (!cfg_.authority_key) return;  // a node outside any network (tests of other rules)
  // The list held, sent back as every connection opens: nothing to check again.
  if (revocations_ && m.list == revocation_bytes_) return;
  auto l = decode_and_verify(m.list, cfg_.network, *cfg_.authority_key);
  if (!l.ok()) {
    // Members pass on only lists they verified: this one is forged, foreign or corrupt.
    ++counters_.bad_revocation_lists;
    const std::string why = l.err().message;
    problem(now, p, "sent a revocation list that was refused: " + why);
    note(log_level::warn, "refused the revocation list from " + describe(p) + ": " + why);
    close_link(now, p, wire::reason::protocol_violation,
               "your revocation list was refused: " + why);
    return;
  }
  if (revocations_ && l->serial <= revocations_->serial) {
    // An older list (a member that was away, or a replay) changes nothing here; the sender
    // gets ours, so it catches up at once.
    if (l->serial < revocations_->serial) send(p, wire::revocations{revocation_bytes_});
    return;
  }
  adopt_revocations(now, std::move(l).value(), m.list, p);
}

void node::adopt_revocations(time_point now, revocation_list l, std::vector<std::uint8_t> bytes,
                             std::optional<peer_handle> from) {
  const std::uint64_t before = revocations_ ? revocations_->serial : 0;
  std::vector<node_id> newly;  // revoked by this list and not by the one held before
  for (const revoked_member& r : l.entries)
    if (!revocations_ || !revocations_->revokes(r.node)) newly.push_back(r.node);
  revocations_ = std::move(l);
  revocation_bytes_ = std::move(bytes);
  ++counters_.revocation_lists;
  const revocation_list& list = *revocations_;
  note(log_level::info, "revocation list " + std::to_string(list.serial) + " adopted (" +
                            std::to_string(list.entries.size()) + " members revoked; held " +
                            (before == 0 ? "none" : std::to_string(before)) + " before)" +
                            (from ? ", from " + describe(*from) : ""));
  const revoked_member* me = list.find(cfg_.self);
  actions_.push_back(
      node_actions::revocations_adopted{revocation_bytes_, list.serial, list.entries.size(),
                                        me ? std::optional<revoked_member>(*me) : std::nullopt});
  if (me) {
    self_revoked_ = true;
    const std::string what = "this node's certificate is revoked by revocation list " +
                             std::to_string(list.serial) + revoked_text(*me) +
                             ": no member admits it any more, so it stops";
    note(log_level::error, what);
    // The peers get the list before the goodbye, so none has to learn it from another.
    for (const auto& [p, lk] : links_) {
      if (lk.closed) continue;
      if (lk.open) send(p, wire::revocations{revocation_bytes_});
      close_link(now, p, wire::reason::revoked, "our certificate is revoked", true);
    }
    for (const content_id& id : fetches()) finish_job(now, id, error{errc::untrusted, what});
    return;
  }
  // The node the list came to first (from its host) also tells each newly revoked member it is
  // not connected to: it dials it (found in its routing table, or by a DHT lookup of its ID,
  // whose query to it is such a dial), and the connection is cut at its hello with the list, so
  // the revoked node learns it now and stops, not at its next dial. The lookups start before the
  // list goes out: a member answers a query before it reads the list that follows it on the
  // same connection, while the revoked node is still in its routing table.
  if (!from)
    for (const node_id& n : newly) {
      if (link_to(n)) continue;
      const auto near = dht_.table().closest(dht::key_of(n), 1);
      if (!near.empty() && near.front().node == n)
        links_.at(open_link(now, address_of(near.front()))).dht_dial = n;
      else
        (void)dht_.lookup(now, dht::lookup_kind::find_node, dht::key_of(n));
    }
  pump_dht(now);
  for (const revoked_member& r : list.entries) dht_.handle_revoked(now, r.node);
  std::set<node_id> reached;
  std::vector<peer_handle> cut;
  for (const auto& [p, lk] : links_) {
    if (lk.closed || !lk.who) continue;
    if (list.revokes(lk.who->id)) {
      cut.push_back(p);
    } else if (lk.open) {
      reached.insert(lk.who->id);
      if (!from || p != *from) send(p, wire::revocations{revocation_bytes_});
    } else {
      reached.insert(lk.who->id);  // gets the list when it opens (revocation_check)
    }
  }
  for (peer_handle p : cut) cut_revoked(now, p);
  // Members this node is not connected to, from its routing table: its closest neighbours by
  // XOR distance, and a few more at random. Every member is in the routing tables of its own
  // closest neighbours, so the neighbour pushes reach the members that random choices miss (with
  // random ones alone, 1,000 members left one to learn it 30 s later from a DHT refresh); the
  // random ones carry the list across the ID space in a number of rounds that grows with the
  // logarithm of the network's size.
  std::vector<wire::peer_entry> others;  // closest first
  for (const wire::peer_entry& e : dht_.table().closest(dht::key_of(cfg_.self), ~std::size_t{0}))
    if (!reached.contains(e.node) && !list.revokes(e.node)) others.push_back(e);
  const std::size_t near = std::min(others.size(), cfg_.revocation_neighbours);
  const std::size_t total = std::min(others.size(), near + cfg_.revocation_fanout);
  for (std::size_t i = near; i < total; ++i) {
    const std::size_t j = i + static_cast<std::size_t>(rng_() % (others.size() - i));
    std::swap(others[i], others[j]);
  }
  for (std::size_t i = 0; i < total; ++i)
    send_dht(now, others[i], wire::revocations{revocation_bytes_});
}

void node::cut_revoked(time_point now, peer_handle p) {
  link* l = find_link(p);
  if (!l || l->closed || !l->who) return;
  const revoked_member* r = revocations_->find(l->who->id);
  SHOAL_ASSERT(r != nullptr);
  ++counters_.revoked_refused;
  const std::string why = "its certificate is revoked" + revoked_text(*r);
  problem(now, p, why);
  note(log_level::warn, "disconnected " + describe(p) + ": " + why);
  for (const content_id& c : jobs_on(p)) {
    job& j = jobs_.at(c);
    j.last_problem = describe(p) + ": " + why;
    cut_off_peer(j, p);
  }
  l = find_link(p);
  l->refused = true;  // never redialed
  // It is told why, with the list that says so, then cut.
  if (l->open) send(p, wire::revocations{revocation_bytes_});
  close_link(now, p, wire::reason::revoked, "your certificate is revoked" + revoked_text(*r), true);
}

bool node::revocation_check(time_point now, peer_handle p) {
  if (!revocations_) return false;
  if (self_revoked_) {
    send(p, wire::revocations{revocation_bytes_});
    close_link(now, p, wire::reason::revoked, "our certificate is revoked", true);
    return true;
  }
  const link* l = find_link(p);
  if (l->who && revocations_->revokes(l->who->id)) {
    cut_revoked(now, p);
    return true;
  }
  return false;  // the list is sent once the DHT's waiting messages are (on_established)
}

}  // namespace shoal
