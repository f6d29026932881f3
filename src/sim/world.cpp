#include "sim/world.hpp"

#include <algorithm>

#include "core/random.hpp"
#include "shoal/error.hpp"

namespace shoal::sim {

namespace {
constexpr std::size_t chunk = 64 * 1024;

void put64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
}  // namespace

world::world(std::uint64_t seed) : seed_(seed), rng_(seed) {
  pending_.reserve(chunk + 4096);
}

double world::uniform() {
  return uniform_unit(rng_);
}

void world::at(time_point t, std::function<void()> fn) {
  SHOAL_ASSERT(t >= now_);
  std::uint32_t slot = 0;
  if (free_slots_.empty()) {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.push_back(std::move(fn));
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
    slots_[slot] = std::move(fn);
  }
  push(event{t, seq_++, slot});
}

void world::push(const event& e) {
  std::size_t i = heap_.size();
  heap_.push_back(e);
  while (i > 0) {
    const std::size_t parent = (i - 1) / arity;
    if (!earlier(e, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = e;
}

world::event world::pop() {
  SHOAL_ASSERT(!heap_.empty());
  const event top = heap_.front();
  const event last = heap_.back();
  heap_.pop_back();
  const std::size_t n = heap_.size();
  if (n == 0) return top;
  std::size_t i = 0;
  for (;;) {
    const std::size_t first = arity * i + 1;
    if (first >= n) break;
    std::size_t best = first;
    const std::size_t end = std::min(first + arity, n);
    for (std::size_t c = first + 1; c < end; ++c)
      if (earlier(heap_[c], heap_[best])) best = c;
    if (!earlier(heap_[best], last)) break;
    heap_[i] = heap_[best];
    i = best;
  }
  heap_[i] = last;
  return top;
}

bool world::step() {
  if (heap_.empty()) return false;
  const event e = pop();
  // Moved out before it runs: the event may schedule others, which may reuse or grow the slots.
  std::function<void()> fn = std::move(slots_[e.slot]);
  free_slots_.push_back(e.slot);
  now_ = e.when;
  ++events_;
  fn();
  return true;
}

void world::run_until(time_point t) {
  while (!heap_.empty() && heap_.front().when <= t) step();
  if (t > now_) now_ = t;
}

void world::trace(std::string_view kind, byte_span bytes) {
  put64(pending_, static_cast<std::uint64_t>(now_.time_since_epoch().count()));
  pending_.insert(pending_.end(), kind.begin(), kind.end());
  put64(pending_, bytes.size());
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  if (pending_.size() < chunk) return;
  crypto::sha256_hasher h;
  h.update(chain_.bytes);
  h.update(pending_);
  chain_ = h.finish();
  pending_.clear();
}

void world::trace(std::string_view kind, std::uint64_t a, std::uint64_t b) {
  std::uint8_t buf[16];
  for (int i = 0; i < 8; ++i) {
    buf[i] = static_cast<std::uint8_t>(a >> (56 - 8 * i));
    buf[8 + i] = static_cast<std::uint8_t>(b >> (56 - 8 * i));
  }
  trace(kind, byte_span(buf, sizeof buf));
}

hash256 world::trace_hash() {
  crypto::sha256_hasher h;
  h.update(chain_.bytes);
  h.update(pending_);
  return h.finish();
}

}  // namespace shoal::sim
