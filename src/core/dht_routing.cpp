#include "core/dht_routing.hpp"

#include <algorithm>
#include <bit>

namespace shoal::dht {

key distance(const key& a, const key& b) {
  key d;
  for (std::size_t i = 0; i < d.bytes.size(); ++i) d.bytes[i] = a.bytes[i] ^ b.bytes[i];
  return d;
}

bool closer(const key& target, const key& a, const key& b) {
  for (std::size_t i = 0; i < target.bytes.size(); ++i) {
    const auto da = static_cast<std::uint8_t>(a.bytes[i] ^ target.bytes[i]);
    const auto db = static_cast<std::uint8_t>(b.bytes[i] ^ target.bytes[i]);
    if (da != db) return da < db;
  }
  return false;
}

int common_prefix(const key& a, const key& b) {
  for (std::size_t i = 0; i < a.bytes.size(); ++i) {
    const auto x = static_cast<std::uint8_t>(a.bytes[i] ^ b.bytes[i]);
    if (x != 0) return static_cast<int>(i * 8) + std::countl_zero(x);
  }
  return 256;
}

int routing_table::index_of(const node_id& n) const {
  return std::min(common_prefix(key_of(self_), key_of(n)), buckets - 1);
}

void routing_table::seen(time_point now, const wire::peer_entry& at) {
  if (at.node == self_ || at.port == 0) return;
  bucket& b = buckets_[static_cast<std::size_t>(index_of(at.node))];
  auto same = [&](const contact& c) { return c.at.node == at.node; };
  if (auto it = std::find_if(b.members.begin(), b.members.end(), same); it != b.members.end()) {
    b.members.erase(it);
    b.members.push_back({at, now, 0});
    return;
  }
  std::erase_if(b.replacements, same);
  if (b.members.size() < k_) {
    b.members.push_back({at, now, 0});
    ++size_;
    return;
  }
  b.replacements.push_back({at, now, 0});
  if (b.replacements.size() > replacements_per_bucket) b.replacements.erase(b.replacements.begin());
}

bool routing_table::failed(const node_id& n, int max_failures) {
  bucket& b = buckets_[static_cast<std::size_t>(index_of(n))];
  auto it = std::find_if(b.members.begin(), b.members.end(),
                         [&](const contact& c) { return c.at.node == n; });
  if (it == b.members.end()) {
    std::erase_if(b.replacements, [&](const contact& c) { return c.at.node == n; });
    return false;
  }
  if (++it->failures < max_failures) return false;
  b.members.erase(it);
  --size_;
  if (!b.replacements.empty()) {
    // The newest replacement was seen last, so it is the likeliest to be up.
    b.members.insert(b.members.begin(), b.replacements.back());
    b.replacements.pop_back();
    ++size_;
  }
  return true;
}

std::vector<wire::peer_entry> routing_table::closest(const key& target, std::size_t count) const {
  std::vector<const contact*> all;
  all.reserve(size_);
  for (const auto& b : buckets_)
    for (const auto& c : b.members) all.push_back(&c);
  const std::size_t n = std::min(count, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n), all.end(),
                    [&](const contact* a, const contact* b) {
                      return closer(target, key_of(a->at.node), key_of(b->at.node));
                    });
  std::vector<wire::peer_entry> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) out.push_back(all[i]->at);
  return out;
}

std::vector<wire::peer_entry> routing_table::stale(time_point before) const {
  std::vector<wire::peer_entry> out;
  for (const auto& b : buckets_)
    if (!b.members.empty() && b.members.front().last_seen < before)
      out.push_back(b.members.front().at);
  return out;
}

std::vector<int> routing_table::occupied() const {
  std::vector<int> out;
  for (int i = 0; i < buckets; ++i)
    if (!buckets_[static_cast<std::size_t>(i)].members.empty()) out.push_back(i);
  return out;
}

key routing_table::key_in_bucket(int i, const key& noise) const {
  // The first i bits are ours, bit i is the opposite of ours, the rest are noise.
  const key self = key_of(self_);
  key k = noise;
  for (int bit = 0; bit <= i && bit < 256; ++bit) {
    const auto byte = static_cast<std::size_t>(bit / 8);
    const auto mask = static_cast<std::uint8_t>(0x80u >> (bit % 8));
    const bool ours = self.bytes[byte] & mask;
    const bool want = bit < i ? ours : !ours;
    k.bytes[byte] = static_cast<std::uint8_t>(want ? k.bytes[byte] | mask : k.bytes[byte] & ~mask);
  }
  return k;
}

bool routing_table::contains(const node_id& n) const {
  const bucket& b = buckets_[static_cast<std::size_t>(index_of(n))];
  return std::any_of(b.members.begin(), b.members.end(),
                     [&](const contact& c) { return c.at.node == n; });
}

}  // namespace shoal::dht
