/*
 * SPDX-License-Identifier: MIT
 *
 * tcp_server_handle: one listening socket, a persistent read event that
 * accepts in bounded batches, and a timer that re-arms it after a pause
 * for lack of fds.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#define SFU_LOG_MODULE "tcp_server_handle"
#include "common/clock.h"
#include "common/fd.h"
#include "common/handle/sock_util.h"
#include "common/handle/tcp_server_handle.h"
#include "common/log.h"
#include "common/mem.h"

/* At most one warning per handle per interval; the rest are counted. */
#define TCP_SERVER_WARN_INTERVAL_MS 1000

struct sfu_tcp_server_handle {
	int fd;            /* owned, -1 when absent */
	struct event *rev; /* owned: EV_READ | EV_PERSIST, accepting */
	struct event *tev; /* owned: ends an accept pause */
	bool paused;       /* rev deleted, tev pending */
	struct sockaddr_storage local;
	socklen_t local_len;
	struct sfu_tcp_server_handle_stats stats;
	/*
	 * Points at a flag on the stack of tcp_server_handle_on_readable()
	 * while it calls on_connection: free sets it.
	 */
	bool *freed;
	uint64_t warn_ms;         /* last warning, monotonic ms */
	uint64_t warn_suppressed; /* since the last one */
	const struct sfu_tcp_server_handle_listener *listener; /* borrowed */
	void *ctx; /* borrowed: the owner */
};

static void
tcp_server_handle_warn(struct sfu_tcp_server_handle *s, int e)
{
	char local[SFU_SOCK_UTIL_ADDR_STR_LEN];
	uint64_t now_ms = 0;

	if (!sfu_log_enabled(SFU_LOG_LEVEL_WARN, 0)) {
		return;
	}
	now_ms = sfu_clock_mono_ms();
	if (s->warn_ms != 0 &&
	    now_ms - s->warn_ms < TCP_SERVER_WARN_INTERVAL_MS) {
		s->warn_suppressed++;
		return;
	}
	SFU_LOG_WARN("accept failed: %s [local:%s suppressed:%llu]",
	    strerror(e),
	    sfu_sock_util_addr_str(
	        (const struct sockaddr *)&s->local, local, sizeof(local)),
	    (unsigned long long)s->warn_suppressed);
	s->warn_ms = now_ms;
	s->warn_suppressed = 0;
}

/* --- libevent trampolines --- */

static void
tcp_server_handle_on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct sfu_tcp_server_handle *s = arg;

	(void)fd;
	(void)what;
	s->paused = false;
	SFU_ASSERT(event_add(s->rev, NULL) == 0);
}

/*
 * Out of fds: the pending connection stays in the backlog and the socket
 * stays readable, so a level-triggered event would spin. Stop watching for
 * a while (nginx disables accept events the same way).
 */
static void
tcp_server_handle_pause(struct sfu_tcp_server_handle *s)
{
	struct timeval tv = {SFU_TCP_SERVER_ACCEPT_PAUSE_MS / 1000,
	    (SFU_TCP_SERVER_ACCEPT_PAUSE_MS % 1000) * 1000};

	if (s->paused) {
		return;
	}
	event_del(s->rev);
	SFU_ASSERT(evtimer_add(s->tev, &tv) == 0);
	s->paused = true;
	s->stats.pauses++;
}

static void
tcp_server_handle_on_readable(evutil_socket_t lfd, short what, void *arg)
{
	struct sfu_tcp_server_handle *s = arg;
	struct sockaddr_storage peer;
	socklen_t peerlen = 0;
	bool freed = false;
	int fd = -1;
	int e = 0;
	int i = 0;

	(void)what;
	s->freed = &freed;
	for (i = 0; i < SFU_TCP_SERVER_ACCEPT_BATCH; i++) {
		peerlen = sizeof(peer);
		fd = accept4(lfd, (struct sockaddr *)&peer, &peerlen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			e = errno;
			if (e == EINTR) {
				continue;
			}
			if (e == EAGAIN || e == EWOULDBLOCK) {
				break;
			}
			s->stats.accept_errors++;

			/*
			 * accept(2): errors of the pending connection (reset
			 * before we took it, ...) are reported here too; the
			 * next one may be fine.
			 */
			if (e == ECONNABORTED || e == EPROTO || e == ENETDOWN ||
			    e == ENOPROTOOPT || e == EHOSTDOWN || e == ENONET ||
			    e == EHOSTUNREACH || e == EOPNOTSUPP ||
			    e == ENETUNREACH || e == EPERM) {
				continue;
			}
			tcp_server_handle_warn(s, e);
			if (e == EMFILE || e == ENFILE || e == ENOBUFS ||
			    e == ENOMEM) {
				tcp_server_handle_pause(s);
			}
			break;
		}
		s->stats.accepted++;
		s->listener->on_connection(
		    s->ctx, s, fd, (const struct sockaddr *)&peer, peerlen);
		if (freed) {
			return;
		}
	}
	s->freed = NULL;
}

/* --- public --- */

struct sfu_tcp_server_handle *
sfu_tcp_server_handle_new(struct event_base *base, const char *ip,
    uint16_t port, uint16_t min_port, uint16_t max_port,
    const struct sfu_tcp_server_handle_listener *listener, void *ctx,
    struct sfu_error *err)
{
	struct sfu_tcp_server_handle *s = NULL;
	int fd = -1;
	int r = 0;
	int e = 0;

	s = sfu_xcalloc(1, sizeof(*s));
	s->fd = -1;
	s->listener = listener;
	s->ctx = ctx;
	r = sfu_sock_util_bind(ip, SOCK_STREAM, port, min_port, max_port,
	    SFU_TCP_SERVER_BACKLOG, &fd, NULL, err);
	if (r == -1) {
		goto fail;
	}
	s->fd = fd; /* owned from here on */
	s->local_len = sizeof(s->local);
	r = getsockname(fd, (struct sockaddr *)&s->local, &s->local_len);
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "getsockname(%s) failed: %s",
		    ip, strerror(e));
		goto fail;
	}
	s->rev = event_new(
	    base, fd, EV_READ | EV_PERSIST, tcp_server_handle_on_readable, s);
	s->tev = evtimer_new(base, tcp_server_handle_on_resume, s);
	if (s->rev == NULL || s->tev == NULL) {
		sfu_error_set(err, SFU_ERR_ERROR, "cannot watch tcp fd %d", fd);
		goto fail;
	}
	r = event_add(s->rev, NULL);
	if (r == -1) {
		sfu_error_set(err, SFU_ERR_ERROR, "cannot watch tcp fd %d", fd);
		goto fail;
	}
	return s;
fail:
	sfu_tcp_server_handle_free(s);
	return NULL;
}

void
sfu_tcp_server_handle_free(struct sfu_tcp_server_handle *s)
{
	if (s == NULL) {
		return;
	}
	if (s->freed != NULL) {
		*s->freed = true;
		s->freed = NULL;
	}
	if (s->rev != NULL) {
		event_free(s->rev);
		s->rev = NULL;
	}
	if (s->tev != NULL) {
		event_free(s->tev);
		s->tev = NULL;
	}
	sfu_fd_close(&s->fd);
	free(s);
}

const struct sockaddr *
sfu_tcp_server_handle_local_addr(
    const struct sfu_tcp_server_handle *s, socklen_t *len)
{
	if (len != NULL) {
		*len = s->local_len;
	}
	return (const struct sockaddr *)&s->local;
}

uint16_t
sfu_tcp_server_handle_local_port(const struct sfu_tcp_server_handle *s)
{
	return sfu_sock_util_port((const struct sockaddr *)&s->local);
}

int
sfu_tcp_server_handle_fd(const struct sfu_tcp_server_handle *s)
{
	return s->fd;
}

void
sfu_tcp_server_handle_get_stats(const struct sfu_tcp_server_handle *s,
    struct sfu_tcp_server_handle_stats *stats)
{
	*stats = s->stats;
}
