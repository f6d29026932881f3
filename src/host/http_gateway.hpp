// The gateway: `GET` and `HEAD /content/<id>` and `/content/<id>/<path>` from the store, with
// single and multiple ranges (206, 416 as RFC 9110 says), the content ID as ETag, a content
// type from the name, and directory listings as JSON (docs/protocol/http.md, section 4).
//
// Verified or nothing: every byte comes out of content_reader::read_piece, which checks the
// piece against its hash first; a piece that fails ends the response there (the connection is
// closed short of its Content-Length), so a client never receives a byte that did not match.
// Memory: one piece (256 KiB) per response at a time, read as the client takes the bytes.
//
// Thread safety: the daemon's io thread only.
#pragma once

#include <memory>

#include "host/http_range.hpp"
#include "host/http_routes.hpp"
#include "host/http_server.hpp"
#include "store/store.hpp"

namespace shoal::host {

// A content the store does not hold complete is fetched (api.open) and its bytes are sent as
// the pieces that hold them are stored (api.wait).
void serve_gateway(const http_api& api, const std::shared_ptr<http_session>& session,
                   const http_request& req, const gateway_target& target);

// A response with a JSON error body {"error": {"code": ..., "message": ...}}.
http_response http_error(const http_request& req, http::status status, const error& e);

}  // namespace shoal::host
