/*
 * SPDX-License-Identifier: MIT
 *
 * One TCP connection carrying RFC 4571 frames (ICE-TCP, RFC 6544): accepted
 * by a tcp_server_handle, or connected by whoever wants to. Reads go
 * through a per-thread buffer of SFU_TCP_CONN_READ_LEN bytes, at most
 * SFU_TCP_CONN_READ_BATCH reads per wakeup, into the rfc4571 decoder, and
 * each frame is handed up in place, writable, with SFU_RFC4571_TAILROOM
 * bytes after it (only a frame cut by a read is copied, into the
 * connection's bounded decoder buffer). Sends put the 2-byte header in
 * front and try the socket at once; what the kernel does not take waits in
 * an output queue bounded in bytes, and a frame that does not fit is
 * dropped whole and counted, so a peer that stops reading costs at most
 * the bound. The connection reports its end (EOF, error, framing) once,
 * through on_closed; the owner frees it.
 */
#ifndef SFU_COMMON_TCP_CONN_HANDLE_H
#define SFU_COMMON_TCP_CONN_HANDLE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/error.h"
#include "common/rfc4571.h"

/* Bytes asked of the kernel per read(2); shared by the thread's handles. */
#define SFU_TCP_CONN_READ_LEN (64 * 1024)
/* Most reads per wakeup; the level-triggered event brings us back. */
#define SFU_TCP_CONN_READ_BATCH 4
/* Default bound of the output queue, see set_max_out_len(). */
#define SFU_TCP_CONN_OUT_MAX_LEN (256 * 1024)

/* Results of sfu_tcp_conn_handle_send_frame(), as SFU_UDP_OK/AGAIN/ERROR. */
#define SFU_TCP_CONN_OK 0       /* handed to the kernel whole */
#define SFU_TCP_CONN_AGAIN 1    /* queued, in part or whole */
#define SFU_TCP_CONN_ERROR (-1) /* dropped: queue full, closed, too long */

enum sfu_tcp_conn_close_reason {
	SFU_TCP_CONN_CLOSE_EOF,     /* the peer closed its side (read 0) */
	SFU_TCP_CONN_CLOSE_ERROR,   /* a read or write failed (reset, ...) */
	SFU_TCP_CONN_CLOSE_FRAMING, /* a frame over the decoder's max_len */
};

struct sfu_tcp_conn_handle;

struct sfu_tcp_conn_handle_listener {
	/*
	 * One frame of len bytes (1..65535; empty frames are skipped). frame
	 * is writable for len + SFU_RFC4571_TAILROOM bytes (in-place SRTP,
	 * growing a packet) and valid only during the call. May send on c,
	 * and may free c: the rest of the input already read is then
	 * discarded.
	 */
	void (*on_frame)(void *ctx, struct sfu_tcp_conn_handle *c,
	    uint8_t *frame, size_t len);
	/*
	 * The connection ended: reason, and error (an errno value, 0 for a
	 * clean EOF or FRAMING). Called at most once, as the handle's last
	 * act; reading and writing have stopped and later sends fail. The
	 * handle is not freed: the owner frees it, here or later.
	 */
	void (*on_closed)(void *ctx, struct sfu_tcp_conn_handle *c,
	    enum sfu_tcp_conn_close_reason reason, int error);
};

struct sfu_tcp_conn_handle_stats {
	uint64_t recv_frames;    /* handed to on_frame */
	uint64_t recv_bytes;     /* their payload bytes */
	uint64_t recv_empty;     /* zero-length frames skipped */
	uint64_t sent_frames;    /* whole frames handed to the kernel */
	uint64_t sent_bytes;     /* their payload bytes */
	uint64_t dropped_frames; /* queue full, too long or closed */
	uint64_t dropped_bytes;  /* their payload bytes */
	size_t queued_len;       /* bytes (headers included) waiting now */
	size_t queued_max_len;   /* the most that ever waited */
};

/*
 * Watches fd, a connected stream socket (made non-blocking here), on base.
 * On success the handle owns fd and closes it on free; on failure (NULL,
 * err set) fd still belongs to the caller. listener and ctx are borrowed
 * and must outlive the handle.
 */
struct sfu_tcp_conn_handle *sfu_tcp_conn_handle_new(struct event_base *base,
    int fd, const struct sfu_tcp_conn_handle_listener *listener, void *ctx,
    struct sfu_error *err);
/*
 * NULL-safe; closes the fd, drops the output queue, calls no callback.
 * Safe inside on_frame and on_closed.
 */
void sfu_tcp_conn_handle_free(struct sfu_tcp_conn_handle *c);

/*
 * Sends one frame of len bytes (0..SFU_RFC4571_MAX_LEN) with its header:
 * now if nothing waits, else (or for what the kernel did not take) a copy
 * goes to the output queue and leaves in order when the socket is
 * writable. data is borrowed for the call only. A frame that would take
 * the queue past max_out_len is dropped whole (a frame is never cut, so
 * the stream stays in step); one frame is always taken when the queue is
 * empty. Returns SFU_TCP_CONN_OK (sent), SFU_TCP_CONN_AGAIN (queued) or
 * SFU_TCP_CONN_ERROR (dropped and counted: queue full, len too long, or
 * the connection closed or failing; a write error is reported through
 * on_closed from the loop, never from inside this call).
 */
int sfu_tcp_conn_handle_send_frame(
    struct sfu_tcp_conn_handle *c, const void *data, size_t len);

/*
 * Bound of the output queue in bytes, headers included (default
 * SFU_TCP_CONN_OUT_MAX_LEN). Lowering it drops nothing already queued.
 */
void sfu_tcp_conn_handle_set_max_out_len(
    struct sfu_tcp_conn_handle *c, size_t max_len);
/*
 * Longest frame accepted from the peer (1..SFU_RFC4571_MAX_LEN, the
 * default); a longer one closes the connection with
 * SFU_TCP_CONN_CLOSE_FRAMING. Bounds the decoder's buffer too.
 */
void sfu_tcp_conn_handle_set_max_frame_len(
    struct sfu_tcp_conn_handle *c, size_t max_len);

void sfu_tcp_conn_handle_get_stats(
    const struct sfu_tcp_conn_handle *c, struct sfu_tcp_conn_handle_stats *st);
/* Addresses read at creation; *len gets their length (len may be NULL). */
const struct sockaddr *sfu_tcp_conn_handle_local_addr(
    const struct sfu_tcp_conn_handle *c, socklen_t *len);
const struct sockaddr *sfu_tcp_conn_handle_peer_addr(
    const struct sfu_tcp_conn_handle *c, socklen_t *len);
int sfu_tcp_conn_handle_fd(const struct sfu_tcp_conn_handle *c);
/* True once on_closed was called (or is being called). */
bool sfu_tcp_conn_handle_is_closed(const struct sfu_tcp_conn_handle *c);

#endif
