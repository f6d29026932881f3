// The peer wire protocol, version 1 (docs/protocol/wire.md): the messages two nodes exchange
// inside their TLS 1.3 connection, and their strict, bounded encoding.
//
// A frame is a 4-byte big-endian body length L (1 <= L <= max_frame_body) followed by the body:
// one type byte, then that type's fields, all integers big-endian. Decoding is total: every byte
// string either decodes to exactly one message or gives an error naming what was wrong; a frame
// with trailing bytes, an unknown type, a field out of range or a length over a limit is an error.
//
// Pure computation, no I/O. Thread safety: plain values; a frame_reader is used by one thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "shoal/content_id.hpp"
#include "shoal/error.hpp"
#include "shoal/node_id.hpp"
#include "shoal/types.hpp"

namespace shoal::wire {

inline constexpr std::uint16_t protocol_version = 1;
inline constexpr std::uint32_t hello_magic = 0x5348574c;  // "SHWL"

// Hard limits. A receiver rejects a frame whose length prefix exceeds max_frame_body before it
// buffers a byte of the body.
inline constexpr std::uint32_t max_frame_body = 1024 * 1024 + 1024;
inline constexpr std::uint32_t max_manifest_chunk = 256 * 1024;
inline constexpr std::uint32_t max_hashes_per_message = 8192;
inline constexpr std::uint64_t max_bitfield_pieces = 8ull * 1024 * 1024;  // 1 MiB of bits
inline constexpr std::size_t max_agent = 64;
inline constexpr std::size_t max_content_name = 255;  // manifest_part.name, bytes
inline constexpr std::size_t max_peers_per_message = 64;
// DHT answers (docs/protocol/dht.md): closer nodes and providers of a key, each at most this many.
inline constexpr std::size_t max_dht_nodes = 20;
inline constexpr std::size_t max_dht_providers = 32;
inline constexpr std::size_t max_reason = 1024;
inline constexpr std::size_t block_proof_length = 4;  // levels from a leaf to its piece
inline constexpr std::uint8_t blocks_per_piece = 16;
inline constexpr std::uint32_t max_block_data = 16 * 1024;
// Every piece index on the wire is below 2^40 (and first + count <= 2^40). 2^40 pieces of
// 256 KiB are 256 PiB, beyond any content a node will transfer; the bound keeps index arithmetic
// (first + count, piece * piece size in bytes) far from overflowing 64 bits.
inline constexpr std::uint64_t piece_index_limit = std::uint64_t{1} << 40;

enum class msg_type : std::uint8_t {
  hello = 0x01,
  keepalive = 0x02,
  goodbye = 0x03,
  get_manifest = 0x10,
  manifest_part = 0x11,
  get_hashes = 0x12,
  hashes = 0x13,
  bitfield = 0x14,
  have = 0x15,
  request = 0x16,
  block = 0x17,
  cancel = 0x18,
  reject = 0x19,
  peers = 0x1a,
  dht_query = 0x20,
  dht_nodes = 0x21,
  dht_announce = 0x22,
  dht_ack = 0x23,
  revocations = 0x30,
};

// Why a connection ends or a request is refused. Unknown codes decode (as themselves) so that a
// newer peer's reason is still shown as a number.
enum class reason : std::uint16_t {
  none = 0,
  protocol_violation = 1,  // a malformed frame or a message out of order
  not_found = 2,           // the content is not held
  unavailable = 3,         // the piece is not held (yet)
  overloaded = 4,          // too many outstanding requests
  shutting_down = 5,
  version_mismatch = 6,
  bad_block = 7,  // a block failed verification; the connection is cut at that block
  timeout = 8,
  internal = 9,  // the sender failed locally (a disk error, a store problem)
  done = 10,     // nothing is wrong: the sender has no more use for the connection
  // A reject: the piece was already sent to another peer that announced it, while the sender
  // still holds pieces nobody else has; ask that peer for it (the swarm's first copy rule).
  elsewhere = 11,
  // The peer's (or the sender's own) certificate expired: the connection ends at that moment.
  expired = 12,
  // The peer's certificate is on the network's revocation list: it is refused from now on.
  revoked = 13,
};
const char* reason_name(reason r) noexcept;

// One 16 KiB block: a piece of a content and the block's position in it.
struct block_ref {
  content_id content;
  piece_index piece;
  std::uint8_t block = 0;  // 0 .. blocks_per_piece-1
  auto operator<=>(const block_ref&) const = default;
};

struct hello {
  std::uint16_t min_version = protocol_version;
  std::uint16_t max_version = protocol_version;
  std::uint16_t max_requests = 0;  // block requests the sender accepts outstanding, >= 1
  std::uint16_t listen_port = 0;   // where the sender accepts connections; 0: it does not
  std::string agent;               // printable ASCII, at most max_agent bytes
  bool operator==(const hello&) const = default;
};
struct keepalive {
  bool operator==(const keepalive&) const = default;
};
struct goodbye {
  reason code = reason::none;
  std::string text;  // UTF-8, at most max_reason bytes
  bool operator==(const goodbye&) const = default;
};
struct get_manifest {
  content_id content;
  std::uint64_t offset = 0;
  bool operator==(const get_manifest&) const = default;
};
struct manifest_part {
  content_id content;
  std::uint64_t total_size = 0;  // of the encoded manifest, 1 .. 64 MiB
  std::uint64_t offset = 0;      // offset + data.size() <= total_size
  // The name the holder keeps for the content (the file or top directory it was added as), in
  // the part at offset 0; else empty. A hint, not covered by the content ID: a fetcher uses it
  // only when it is a valid path component (content.md section 5).
  std::string name;                // at most max_content_name bytes
  std::vector<std::uint8_t> data;  // 1 .. max_manifest_chunk bytes
  bool operator==(const manifest_part&) const = default;
};
struct get_hashes {
  content_id content;
  piece_index first;
  std::uint32_t count = 0;  // 1 .. max_hashes_per_message
  bool operator==(const get_hashes&) const = default;
};
struct hashes {
  content_id content;
  piece_index first;
  std::vector<hash256> pieces;  // 1 .. max_hashes_per_message
  bool operator==(const hashes&) const = default;
};
struct bitfield {
  content_id content;
  std::uint64_t piece_count = 0;   // 1 .. max_bitfield_pieces
  std::vector<std::uint8_t> bits;  // (piece_count+7)/8 bytes, MSB first, padding bits zero
  bool operator==(const bitfield&) const = default;
};
struct have {
  content_id content;
  piece_index piece;
  bool operator==(const have&) const = default;
};
struct request {
  block_ref ref;
  bool operator==(const request&) const = default;
};
struct block {
  block_ref ref;
  // Sibling hashes from the block's leaf up to its piece's subtree root, lowest first. With the
  // piece hash from the verified piece layer, they prove the data.
  std::array<hash256, block_proof_length> proof{};
  std::vector<std::uint8_t> data;  // 1 .. max_block_data bytes
  bool operator==(const block&) const = default;
};
struct cancel {
  block_ref ref;
  bool operator==(const cancel&) const = default;
};
// A request that will not be answered: what it asked for, and why.
enum class request_kind : std::uint8_t { manifest = 1, hashes = 2, block = 3 };
struct reject {
  request_kind kind = request_kind::block;
  block_ref ref;  // manifest: piece = offset; hashes: piece = first; block: the block
  reason code = reason::none;
  std::string text;  // at most max_reason bytes
  bool operator==(const reject&) const = default;
};

// Where to reach another member that takes part in a content's swarm (peer exchange): its
// node ID, to check when dialing it, and its address (IPv4 or IPv6) and listening port.
struct peer_entry {
  node_id node;
  bool ipv6 = false;
  std::array<std::uint8_t, 16> ip{};  // IPv4 in the first 4 bytes, the rest zero
  std::uint16_t port = 0;             // >= 1
  bool operator==(const peer_entry&) const = default;
};
struct peers {
  content_id content;
  std::vector<peer_entry> entries;  // 1 .. max_peers_per_message
  bool operator==(const peers&) const = default;
};

// --- The DHT (docs/protocol/dht.md) --------------------------------------------------------
// Every DHT request carries a tag the sender picks; the answer repeats it. A key is 32 bytes:
// a node ID's digest or a content ID's digest, compared by XOR distance.
enum class dht_kind : std::uint8_t {
  find_node = 1,      // the nodes closest to the key
  get_providers = 2,  // members that hold the content whose digest is the key, and closest nodes
};
struct dht_query {
  std::uint32_t tag = 0;
  dht_kind kind = dht_kind::find_node;
  hash256 key;
  bool operator==(const dht_query&) const = default;
};
// A member that holds (some of) a content, and whether it holds all of it.
struct provider_entry {
  peer_entry peer;
  bool complete = false;
  bool operator==(const provider_entry&) const = default;
};
struct dht_nodes {
  std::uint32_t tag = 0;
  // The sender itself holds the content asked for (get_providers), and whether all of it: the
  // asker knows the sender's address already, so the sender need not know its own.
  bool self_provides = false;
  bool self_complete = false;
  std::vector<peer_entry> nodes;          // 0 .. max_dht_nodes, closest first
  std::vector<provider_entry> providers;  // 0 .. max_dht_providers
  bool operator==(const dht_nodes&) const = default;
};
// "I provide this content": a record for the sender alone, at the address it is connected from
// and the listen port of its hello. There is no field naming another node.
struct dht_announce {
  std::uint32_t tag = 0;
  content_id content;
  bool complete = false;
  bool operator==(const dht_announce&) const = default;
};
// The answer to an announce: none (stored) or why not (overloaded: a bound is reached).
struct dht_ack {
  std::uint32_t tag = 0;
  reason code = reason::none;
  bool operator==(const dht_ack&) const = default;
};

// --- Membership (docs/protocol/membership.md, section 9) ---------------------------------------
// The network's revocation list as the sender holds it, whole: sent when a connection opens and
// whenever the sender adopts a newer list. The node decodes and verifies it (core/revocation.hpp).
struct revocations {
  std::vector<std::uint8_t> list;  // 1 .. max_revocation_bytes
  bool operator==(const revocations&) const = default;
};
inline constexpr std::size_t max_revocation_bytes = max_frame_body - 1;

using message = std::variant<hello, keepalive, goodbye, get_manifest, manifest_part, get_hashes,
                             hashes, bitfield, have, request, block, cancel, reject, peers,
                             dht_query, dht_nodes, dht_announce, dht_ack, revocations>;

msg_type type_of(const message& m) noexcept;
const char* type_name(msg_type t) noexcept;

// Appends one frame (length prefix and body) to `out`. REQUIRES: the message is within the
// limits above (encoding an out-of-range message is a bug, caught by an assertion).
void encode(const message& m, std::vector<std::uint8_t>& out);

// Decodes one frame body (the bytes after the length prefix). Errors: limit_exceeded for a
// length or count over a limit above (or a field past the piece index limit), invalid_argument
// for anything else malformed; the message names the message type, the field and its value.
result<message> decode_body(byte_span body);

// Splits a byte stream into frames and decodes them.
class frame_reader {
 public:
  // Appends received bytes. Call next() until it yields nothing before appending more, so the
  // buffer stays under one frame plus one read.
  void append(byte_span bytes);
  // The next complete message, nothing if more bytes are needed, or an error: a length prefix
  // over max_frame_body (limit_exceeded) or of zero (invalid_argument), reported as soon as the
  // 4 prefix bytes are in, before the body is awaited; or a body that does not decode. After an
  // error the reader stays failed, drops its buffer and ignores appended bytes.
  result<std::optional<message>> next();
  // Call when the stream ends: an error if it ended inside a frame (naming how many of the
  // frame's bytes arrived), or the reader's error if it failed. Complete frames still buffered
  // are skipped, not decoded.
  result<void> finish() const;
  // Bytes buffered and not yet decoded.
  std::size_t buffered() const { return buffer_.size() - start_; }
  // Memory the buffer holds, for tests and metrics: it stays near one frame plus one read.
  std::size_t capacity() const { return buffer_.capacity(); }

 private:
  std::vector<std::uint8_t> buffer_;
  std::size_t start_ = 0;
  std::optional<error> failed_;
};

}  // namespace shoal::wire
