/*
 * SPDX-License-Identifier: MIT
 *
 * A listening TCP socket (IPv4 or IPv6) and its libevent events: the
 * passive side of ICE-TCP (RFC 6544). Binds an exact port or a free port of
 * a range (sock_util), accepts with accept4(2), at most
 * SFU_TCP_SERVER_ACCEPT_BATCH connections per wakeup, and hands each new fd
 * with its peer address to the owner, who wraps it in a tcp_conn_handle or
 * closes it. How many connections to keep is the owner's business. When
 * the process or system is out of fds, accepting pauses for
 * SFU_TCP_SERVER_ACCEPT_PAUSE_MS instead of spinning on a listening socket
 * that stays readable.
 */
#ifndef SFU_COMMON_TCP_SERVER_HANDLE_H
#define SFU_COMMON_TCP_SERVER_HANDLE_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdint.h>

#include <event2/event.h>

#include "common/error.h"

#define SFU_TCP_SERVER_BACKLOG 256
/* Most connections accepted per wakeup of the listening socket. */
#define SFU_TCP_SERVER_ACCEPT_BATCH 32
/* How long accepting stops after EMFILE, ENFILE, ENOBUFS or ENOMEM. */
#define SFU_TCP_SERVER_ACCEPT_PAUSE_MS 500

struct sfu_tcp_server_handle;

struct sfu_tcp_server_handle_listener {
	/*
	 * A new connection: fd is connected, non-blocking and close-on-exec,
	 * and belongs to the callee from now on (wrap it or close it). peer
	 * is borrowed for the call. May free s (no further connection of the
	 * batch is accepted then).
	 */
	void (*on_connection)(void *ctx, struct sfu_tcp_server_handle *s,
	    int fd, const struct sockaddr *peer, socklen_t peerlen);
};

struct sfu_tcp_server_handle_stats {
	uint64_t accepted;      /* connections handed to on_connection */
	uint64_t accept_errors; /* accept4 errors but EAGAIN and EINTR */
	uint64_t pauses;        /* times accepting paused for lack of fds */
};

/*
 * Opens a socket on ip (a numeric IPv4 or IPv6 address; IPv6 is
 * IPV6_V6ONLY), with SO_REUSEADDR, bound as sfu_sock_util_bind() does (port
 * != 0: exactly that port; port 0: a free port of [min_port, max_port] from
 * a random offset, or the kernel's choice with 0, 0), listening with
 * backlog SFU_TCP_SERVER_BACKLOG, and watches it on base. listener and ctx
 * are borrowed and must outlive the handle. Returns the handle, or NULL
 * with err set ("port N in use on IP", "no free tcp port in [min, max] on
 * IP", "invalid IP address 'x'", ...).
 */
struct sfu_tcp_server_handle *sfu_tcp_server_handle_new(struct event_base *base,
    const char *ip, uint16_t port, uint16_t min_port, uint16_t max_port,
    const struct sfu_tcp_server_handle_listener *listener, void *ctx,
    struct sfu_error *err);
/*
 * NULL-safe; closes the listening socket (connections already accepted are
 * their owners'), calls no callback. Safe inside on_connection.
 */
void sfu_tcp_server_handle_free(struct sfu_tcp_server_handle *s);

/* The bound address (getsockname() at creation); *len gets its length. */
const struct sockaddr *sfu_tcp_server_handle_local_addr(
    const struct sfu_tcp_server_handle *s, socklen_t *len);
uint16_t sfu_tcp_server_handle_local_port(
    const struct sfu_tcp_server_handle *s);
int sfu_tcp_server_handle_fd(const struct sfu_tcp_server_handle *s);
void sfu_tcp_server_handle_get_stats(const struct sfu_tcp_server_handle *s,
    struct sfu_tcp_server_handle_stats *stats);

#endif
