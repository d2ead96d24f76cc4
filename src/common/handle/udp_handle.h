/*
 * SPDX-License-Identifier: MIT
 *
 * A datagram socket (UDP over IPv4 or IPv6) and its libevent events. Reads
 * drain the socket with recvmmsg(2), at most SFU_UDP_RECV_BATCH datagrams
 * per wakeup, into preallocated slots and hand each datagram up through the
 * listener in a writable buffer with room to grow in place (SRTP trailers).
 * Sends are tried at once; on EAGAIN a copy waits in a per-socket queue
 * bounded in bytes and packets and is flushed, in order, when the socket
 * becomes writable; what does not fit is dropped and counted (DESIGN §7).
 * Sends made while a receive batch is handed up may be held back and sent
 * together when it ends, one sendmmsg(2) per socket
 * (sfu_udp_handle_send_deferred()).
 * sfu_udp_bind() opens and binds the socket, in a port range or on one port.
 */
#ifndef SFU_COMMON_UDP_HANDLE_H
#define SFU_COMMON_UDP_HANDLE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/error.h"

/*
 * Size in bytes of the buffer handed to on_datagram. Datagrams are read
 * into its first SFU_UDP_RECV_MAX_LEN bytes, so at least
 * SFU_UDP_RECV_TAILROOM bytes after the datagram are always writable (an
 * SRTP trailer needs at most 148). Longer datagrams are dropped as
 * truncated.
 */
#define SFU_UDP_RECV_SLOT 2048
#define SFU_UDP_RECV_TAILROOM 256
#define SFU_UDP_RECV_MAX_LEN (SFU_UDP_RECV_SLOT - SFU_UDP_RECV_TAILROOM)
/* Most datagrams read per wakeup (one recvmmsg call). */
#define SFU_UDP_RECV_BATCH 64
/*
 * Most datagrams one handle holds back during a receive batch (see
 * sfu_udp_handle_send_deferred()); one more sends them at once.
 */
#define SFU_UDP_DEFER_MAX 64
/* Default send queue bounds, see sfu_udp_handle_set_send_queue_limits(). */
#define SFU_UDP_SEND_QUEUE_MAX_LEN (1024 * 1024)
#define SFU_UDP_SEND_QUEUE_MAX_COUNT 1024

/* Results of the send functions (nginx's NGX_OK / NGX_AGAIN / NGX_ERROR). */
#define SFU_UDP_OK 0       /* handed to the kernel */
#define SFU_UDP_AGAIN 1    /* queued (EAGAIN or queue not empty) */
#define SFU_UDP_ERROR (-1) /* dropped: queue full, or send error */

struct sfu_udp_handle;

struct sfu_udp_handle_listener {
	/*
	 * One datagram of len bytes from from. data points to a buffer of
	 * SFU_UDP_RECV_SLOT bytes, writable in full (len <=
	 * SFU_UDP_RECV_MAX_LEN), so the owner may unprotect or rewrite it in
	 * place; it is valid only during the call. May send on h, and may
	 * free h (the rest of the batch already read is then discarded).
	 */
	void (*on_datagram)(void *ctx, struct sfu_udp_handle *h, uint8_t *data,
	    size_t len, const struct sockaddr *from, socklen_t fromlen);
};

/* One datagram of a sfu_udp_handle_send_batch() call; all borrowed. */
struct sfu_udp_msg {
	const void *data;
	size_t len;                /* bytes */
	const struct sockaddr *to; /* NULL: the connect()ed peer */
	socklen_t tolen;
};

struct sfu_udp_handle_stats {
	uint64_t recv_packets;
	uint64_t recv_bytes;
	uint64_t sent_packets; /* handed to the kernel, now or later */
	uint64_t sent_bytes;
	uint64_t dropped_packets;  /* send queue full */
	uint64_t send_errors;      /* sendto/sendmmsg errors but EAGAIN */
	uint64_t recv_errors;      /* recvmmsg errors but EAGAIN */
	uint64_t truncated;        /* longer than SFU_UDP_RECV_MAX_LEN */
	size_t queued_packets;     /* in the send queue now */
	size_t queued_len;         /* bytes in the send queue now */
	uint64_t send_calls;       /* sendto/sendmsg/sendmmsg calls made */
	uint64_t stale_packets;    /* read older than the max age: dropped */
	uint64_t deferred_packets; /* held back by send_deferred, then sent */
};

/*
 * Opens a non-blocking, close-on-exec UDP socket and binds it to ip (a
 * numeric IPv4 or IPv6 address; IPv6 sockets are IPV6_V6ONLY). With port
 * != 0 binds exactly that port. With port 0 tries each port of [min_port,
 * max_port] once, starting at a random offset, moving on when one is in use;
 * min_port = max_port = 0 lets the kernel choose. Socket buffers are raised
 * to 4 MiB where the system allows (best effort). Returns 0 with the fd
 * (owned by the caller) in *fd_out and the bound port in *port_out (may be
 * NULL), or -1 with err set ("port N in use on IP", "no free port in
 * [min, max] on IP", ...).
 */
int sfu_udp_bind(const char *ip, uint16_t port, uint16_t min_port,
    uint16_t max_port, int *fd_out, uint16_t *port_out, struct sfu_error *err);

/*
 * Watches fd, a bound datagram socket (made non-blocking here). On success
 * the handle owns fd and closes it on free; on failure (NULL, err set) fd
 * still belongs to the caller. listener and ctx are borrowed and must
 * outlive the handle.
 */
struct sfu_udp_handle *sfu_udp_handle_new(struct event_base *base, int fd,
    const struct sfu_udp_handle_listener *listener, void *ctx,
    struct sfu_error *err);
/*
 * NULL-safe; closes the fd, drops the send queue, calls no callback. Safe
 * inside on_datagram.
 */
void sfu_udp_handle_free(struct sfu_udp_handle *h);

/*
 * Sends len bytes to to: now if the send queue is empty, else (or on
 * EAGAIN) a copy is queued behind what waits and sent when the socket is
 * writable. data and to are borrowed for the call only; to may be NULL
 * (tolen 0) on a connect()ed socket. Returns SFU_UDP_OK (sent), SFU_UDP_AGAIN
 * (queued) or SFU_UDP_ERROR (dropped: the queue is full, counted in
 * dropped_packets; or the kernel refused it, counted in send_errors). The
 * caller need not act on the result: drops are counted.
 */
int sfu_udp_handle_send(struct sfu_udp_handle *h, const void *data, size_t len,
    const struct sockaddr *to, socklen_t tolen);
/*
 * Sends n datagrams (e.g. one packet fanned out to many destinations) with
 * as few sendmmsg(2) calls as possible; what EAGAIN leaves unsent is queued
 * as by sfu_udp_handle_send(). Returns SFU_UDP_OK when all were sent,
 * SFU_UDP_AGAIN when some were queued and none dropped, SFU_UDP_ERROR when
 * any was dropped or refused.
 */
int sfu_udp_handle_send_batch(
    struct sfu_udp_handle *h, const struct sfu_udp_msg *msgs, unsigned int n);
/*
 * Sends one datagram made of head (head_len bytes) followed by body
 * (body_len bytes; NULL when 0) to to (NULL on a connect()ed socket), as
 * sfu_udp_handle_send() would, but coalesces the sends of a receive batch:
 * called while a handle of this thread is handing up the datagrams of one
 * recvmmsg(2) batch (from on_datagram, directly or not), it holds the
 * datagram back and returns SFU_UDP_AGAIN; when that batch has been handed
 * up, every datagram held for each handle leaves with one sendmmsg(2) per
 * handle (in the order given; what EAGAIN leaves is queued as usual).
 * Held datagrams also leave, in order, before any other send on h, when h
 * holds SFU_UDP_DEFER_MAX of them, when the thread's holding space is full,
 * and when h is freed. Outside a receive batch it sends at once, without
 * joining the parts. head and to are copied; body is borrowed without a
 * copy when it lies in a buffer handed to on_datagram in the current batch
 * (those stay valid and unchanged until the batch has been sent), and
 * copied otherwise. Results as sfu_udp_handle_send().
 */
int sfu_udp_handle_send_deferred(struct sfu_udp_handle *h, const void *head,
    size_t head_len, const void *body, size_t body_len,
    const struct sockaddr *to, socklen_t tolen);

/*
 * Input older than max_age_ms is dropped when read, before the listener
 * sees it (counted in stale_packets, warned about once a second): age is
 * the time since the kernel queued the datagram on the socket (a receive
 * timestamp, SO_TIMESTAMPNS, on the wall clock; for a few ms after the
 * host's first socket asks for them the kernel stamps on read, so those
 * look fresh). A loop that falls behind its input then spends at most
 * about max_age_ms on what is queued when the input stops, however deep
 * the socket's buffer, and never hands up data that old. 0 (the default)
 * turns it off. Returns 0, or -1 with err when the socket refuses
 * timestamps.
 */
int sfu_udp_handle_set_max_age(
    struct sfu_udp_handle *h, unsigned int max_age_ms, struct sfu_error *err);

/*
 * Bounds of the send queue: bytes of payload and packets (defaults
 * SFU_UDP_SEND_QUEUE_MAX_LEN and _COUNT). Lowering them does not drop what
 * is already queued.
 */
void sfu_udp_handle_set_send_queue_limits(
    struct sfu_udp_handle *h, size_t max_len, size_t max_count);

void sfu_udp_handle_get_stats(
    const struct sfu_udp_handle *h, struct sfu_udp_handle_stats *stats);
/* The bound address (getsockname() at creation); *len gets its length. */
const struct sockaddr *sfu_udp_handle_local_addr(
    const struct sfu_udp_handle *h, socklen_t *len);
/* The bound port, 0 for a non-IP socket. */
uint16_t sfu_udp_handle_local_port(const struct sfu_udp_handle *h);
int sfu_udp_handle_fd(const struct sfu_udp_handle *h);
/*
 * connect(2)s the socket to to (tolen bytes, copied): sends to NULL then go
 * there without a route lookup per datagram, and the kernel delivers only
 * datagrams from to (others get an ICMP port unreachable and are counted
 * nowhere here). Refused (-1, SFU_ERR_INVALID_STATE) on a socket bound to a
 * wildcard address, whose local address connect() would pin to the route's
 * source, so that datagrams sent to the host's other addresses no longer
 * reach it. Datagrams held by send_deferred are sent first; the send queue
 * stays (a queued datagram with an address still goes there). Returns 0,
 * or -1 with err set.
 */
int sfu_udp_handle_connect(struct sfu_udp_handle *h, const struct sockaddr *to,
    socklen_t tolen, struct sfu_error *err);

#endif
