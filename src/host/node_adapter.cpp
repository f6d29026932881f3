#include "host/node_adapter.hpp"

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <ctime>

#include "member/revocations.hpp"
#include "net/address.hpp"

namespace shoal::host {

spdlog::level::level_enum level_of(log_level l) {
  switch (l) {
    case log_level::debug:
      return spdlog::level::debug;
    case log_level::info:
      return spdlog::level::info;
    case log_level::warn:
      return spdlog::level::warn;
    case log_level::error:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::optional<wire::peer_entry> ip_of(net::connection& c) {
  if (!c.peer() || !c.remote_endpoint()) return std::nullopt;
  wire::peer_entry e;
  e.node = c.peer()->id;
  auto ip = c.remote_endpoint()->address();
  if (ip.is_v6() && ip.to_v6().is_v4_mapped())
    ip = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, ip.to_v6());
  if (ip.is_v4()) {
    const auto b = ip.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), e.ip.begin());
  } else {
    e.ipv6 = true;
    const auto b = ip.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), e.ip.begin());
  }
  return e;
}

time_point expiry_on_core_clock(std::int64_t not_after_unix) {
  const auto wall = std::chrono::system_clock::now();
  const auto left =
      std::chrono::system_clock::from_time_t(static_cast<std::time_t>(not_after_unix)) - wall;
  return net::now() + std::chrono::duration_cast<duration>(left);
}

node_config node_config_of(const daemon_options& opts, const member::identity& id,
                           const connection_limits& limits) {
  node_config c;
  c.self = id.self.id;
  c.network = id.network_name;
  // load_identity checked the network certificate, Ed25519 key included.
  if (auto k = member::network_public_key(id.network.get())) c.authority_key = *k;
  c.max_swarm_peers = opts.max_swarm_peers;
  c.content_cache = limits.readers;
  for (const auto& b : opts.bootstrap)
    if (auto a = net::parse_address(b, "bootstrap")) c.bootstrap.push_back(*a);
  c.debug_logs = spdlog::should_log(spdlog::level::debug);
  return c;
}

}  // namespace shoal::host
