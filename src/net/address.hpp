// Peer addresses as users write them: the core's (core/address.hpp), named here as well because
// the adapters and the CLI spelled them net::address before the node moved into the core.
#pragma once

#include "core/address.hpp"

namespace shoal::net {

using shoal::address;
using shoal::parse_address;
using shoal::port_zero;

}  // namespace shoal::net
