// The daemon's replies on the control channel that describe the node (docs/protocol/control.md):
// a fetch's progress, the swarms it serves in, the DHT, an error.
//
// Thread safety: plain functions.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/node.hpp"
#include "core/token_bucket.hpp"
#include "net/connection.hpp"

namespace shoal::host {

nlohmann::json error_json(const error& e);
nlohmann::json progress_json(const fetch_report& r);
nlohmann::json lookup_json(const lookup_summary& l);
// The swarms this node serves in: how many peers take part, and how many pieces no connected peer
// holds yet (0: the peers hold a full copy between them without this node).
nlohmann::json swarms_json(const swarm& s);
nlohmann::json dht_json(const node& n);
// Refusals by reason, cut-offs, bad blocks and the recent ones in words (`status`).
nlohmann::json problems_json(time_point now, const node& n, std::uint64_t refused_incoming);
// The rate limits in bytes per second and as text.
nlohmann::json limits_json(const token_bucket& up, const token_bucket& down);
// The control channel's `limits`: sets the rates given (fields absent stay), and the reply.
result<nlohmann::json> apply_limits(time_point now, token_bucket& up, token_bucket& down,
                                    const nlohmann::json& req);
// The authenticated connections, each with the fetches it carries (`status`).
nlohmann::json peers_json(const std::map<peer_handle, std::shared_ptr<net::connection>>& conns,
                          const node& n);

}  // namespace shoal::host
