// TLS 1.3 between members (docs/protocol/membership.md, section 7). The network adapter
// (src/net/tls_socket) makes one SSL object per connection from this context and, after each
// handshake, asks verified_peer who is on the other end, or describe_handshake_failure why there
// is no one.
//
// Both sides present certificates and both verify: the trust store holds only the network
// certificate, the peer's certificate must be signed directly by it, and the node profile
// (Ed25519 key, not a CA, valid name and labels) is checked inside the handshake, so a peer
// that fails is refused before any application data is read. The client learns that the server
// refused it from the server's alert, on its first read after the handshake (TLS 1.3 finishes
// the client's side before the server has judged the client's certificate).
//
// No header of shoal_member includes OpenSSL: headers forward-declare the struct tags of the
// OpenSSL objects they pass (here and in handles.hpp), so users need no OpenSSL headers.
//
// Thread safety: a context is immutable after make_tls_context and may be shared by any number
// of connections and threads (OpenSSL's rule); an SSL object belongs to one thread at a time.
#pragma once

#include <string>

#include "member/certificate.hpp"
#include "member/identity.hpp"
#include "shoal/error.hpp"

struct ssl_ctx_st;
struct ssl_st;

namespace shoal::member {

// A new SSL_CTX; the caller owns one reference (SSL_CTX_free, or hand it to asio's context).
// TLS 1.3 only, for both client and server connections; Ed25519 signatures only; verification
// of the peer is mandatory (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) against the
// network certificate alone with X509_V_FLAG_X509_STRICT; no session resumption, so every
// connection checks the certificate again.
result<ssl_ctx_st*> make_tls_context(const identity& id);

// After a completed handshake: the peer's verified identity. Fails if the handshake is not
// complete, the peer sent no certificate or it was not verified, or the profile does not hold.
result<peer_info> verified_peer(ssl_st* ssl);

// After a failed handshake (or a failed first read, for the client): one line naming the
// reason, from this side's view. `openssl_error` is the error the failing call left (asio puts it
// in the error_code's value; otherwise ERR_get_error()). Examples: "peer certificate expired at
// 2026-11-22 10:00:00 UTC", "peer certificate is not issued by network 'acme' (issuer:
// 'other')", "peer sent no certificate", "peer rejected our certificate: ...".
std::string describe_handshake_failure(ssl_st* ssl, unsigned long openssl_error);

// Whether that failure was one side refusing the other's certificate (or its lack of one), as
// opposed to a peer that does not speak TLS 1.3 at all, or a broken connection. Only a refusal
// is logged as "refused" and never redialed: certificates do not fix themselves.
bool is_certificate_refusal(ssl_st* ssl, unsigned long openssl_error);

}  // namespace shoal::member
