/* tls: client TLS over a connected socket as a `stream` (OpenSSL 3, non-blocking).
 *
 * Life of a TLS stream: a plain stream connects (the dialer), tls_start turns it into a
 * TLS stream whose handshake is pending, the driver calls tls_handshake at once and then on
 * every event of the stream's watcher until it returns 1 or -1.  While the handshake is
 * pending, stream_watch takes the events the fd must be watched for (tls_handshake's
 * *events) and the watcher's callback gets the fd's own events; stream_read and
 * stream_writev fail with -ENOTCONN.  Once it is done, the stream is an ordinary stream:
 * the driver watches for what it wants logically (EV_READ: bytes to read; EV_WRITE: room
 * to write) and the stream watches its fd for what OpenSSL needs for that (a write may
 * need to read, a read to write), calling the driver with the logical events.  Bytes
 * OpenSSL already decrypted (stream_pending) are announced by the stream itself with a
 * fed EV_READ while the driver watches for reading.
 *
 * - read: SSL_read; 0 at the peer's close_notify or at the end of the TCP stream (a proxy
 *   tunnel carries its own end-to-end protection, and many servers close without
 *   close_notify); STREAM_AGAIN; -EPROTO on a TLS error; -errno from the socket.
 * - writev: SSL_write record by record (partial writes on, the buffer may move between
 *   retries, but a retry must start with the same bytes, as the relay does); small iovs
 *   are copied together so that they make one record.  A write of more than a record
 *   gathers up to four and sends them at once (one system call and one wake-up of the
 *   proxy, not four); what the socket does not take is unsent (stream_unsent): it goes
 *   first on the next write (which takes nothing new until it has), or by itself once
 *   the socket has room.
 * - shutdown_wr: close_notify, once every write has gone out whole (as the relay does);
 *   sent when the socket has room (the stream watches for it itself); the fd is not shut
 *   down.  A TLS 1.2 peer may answer it by closing both ways (RFC 5246 §7.2.1).
 * - close: SSL_free and close(fd) without waiting for anything (a close_notify still
 *   waiting for room is dropped).
 * - raw_fd: -1 (the relay copies).  pending: SSL_pending, or 1 for read-ahead bytes a read may
 *   still turn into data.
 * - Record buffers (about 85 KiB with read-ahead, and 66 KiB for gathered records) are
 *   kept while the stream is busy and freed once the driver has not waited on it for a
 *   second (a timer on the loop of its last stream_watch), so an idle tunnel holds none.
 * Writes go out with send(MSG_NOSIGNAL); reads with read(2).
 *
 * Nothing here logs.  Errors are one line of text in the caller's buffer. */
#ifndef SOCKS2HTTP_TLS_H
#define SOCKS2HTTP_TLS_H

#include <stddef.h>

#include "stream.h"

/* One per https proxy: the SSL_CTX, the verification settings, and up to TLS_SESSIONS
 * sessions to resume (TLS 1.3 tickets are used once: a connection takes one out, the
 * tickets it is sent are put in, the oldest dropped).  Each TLS stream holds a reference:
 * tls_ctx_free drops the owner's, and the last stream closed frees it. */
struct tls_ctx;

#define TLS_SESSIONS 64 /* about the tunnels a client opens at once (a browser's burst) */

/* cafile NULL: the system store (SSL_CTX_set_default_verify_paths); insecure: no
 * verification at all.  NULL with err on failure (e.g. an unreadable cafile). */
struct tls_ctx *tls_ctx_new(const char *cafile, int insecure, char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx *c);

/* Turns s (a connected plain stream; its watcher may be active) into a TLS client stream
 * whose handshake is pending; the callback and data stay the driver's.  host: sent as SNI
 * and checked against the certificate (SSL_set1_host), or an IP literal (brackets
 * allowed): no SNI, the address is checked.  0, or -1 with err (s is then unchanged). */
int tls_start(struct stream *s, struct tls_ctx *c, const char *host, char *err, size_t errlen);

/* Drives the handshake; call it right after tls_start and on every event until it is done.
 * Returns 1 when done (the stream is ready; watch it for what you want from now on), 0
 * when not yet (*events: what the fd must be watched for now, to be passed to
 * stream_watch), or -1 when it failed, with err: one line naming what failed, e.g.
 * "certificate verify failed: self-signed certificate (subject CN=x, issuer CN=x)",
 * "hostname mismatch: certificate for CN=a, not b", "protocol: wrong version number",
 * "connection closed during the handshake", "connection failed during the handshake:
 * Connection reset by peer". */
int tls_handshake(struct stream *s, int *events, char *err, size_t errlen);

/* Did the handshake resume a session?  0 for a stream that is not TLS. */
int tls_resumed(const struct stream *s);

#endif
