/*
 * SPDX-License-Identifier: MIT
 *
 * tcp_conn_handle: one connected stream socket, a read event feeding the
 * rfc4571 decoder from a per-thread buffer, and a write event armed only
 * while the bounded output queue holds bytes. Plain fds and events rather
 * than a bufferevent: reads need a writable buffer with tailroom that the
 * decoder can lend in place, and the output bound is on whole frames.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define SFU_LOG_MODULE "tcp_conn_handle"
#include "common/fd.h"
#include "common/handle/sock_util.h"
#include "common/handle/tcp_conn_handle.h"
#include "common/log.h"
#include "common/mem.h"

/* Most queued chunks handed to one sendmsg() call. */
#define TCP_CONN_SEND_IOV 64

/*
 * One frame (header + payload) in the output queue; off bytes of it were
 * written already (only the head of the queue can have off > 0).
 */
struct tcp_conn_chunk {
	STAILQ_ENTRY(tcp_conn_chunk) entry;
	size_t len;         /* bytes in data */
	size_t off;         /* bytes of data written */
	size_t payload_len; /* len - SFU_RFC4571_HEADER_LEN */
	uint8_t data[];
};

STAILQ_HEAD(tcp_conn_queue, tcp_conn_chunk);

/* On the stack of tcp_conn_handle_on_readable() while frames go up. */
struct tcp_conn_read {
	struct sfu_tcp_conn_handle *c;
	bool freed; /* set by sfu_tcp_conn_handle_free() */
};

struct sfu_tcp_conn_handle {
	int fd;                         /* owned, -1 when absent */
	struct event *rev;              /* owned: EV_READ | EV_PERSIST */
	struct event *wev;              /* owned: armed while out != {} */
	bool writing;                   /* wev added */
	bool closed;                    /* on_closed called */
	int send_error;                 /* errno of a failed send, 0 if none */
	struct sfu_rfc4571_decoder dec; /* owns its buffer */
	struct tcp_conn_queue out;      /* owned entries */
	size_t max_out_len;             /* bytes, headers included */
	struct sfu_tcp_conn_handle_stats stats;
	struct sockaddr_storage local;
	socklen_t local_len;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct tcp_conn_read *reading; /* borrowed: on the reader's stack */
	const struct sfu_tcp_conn_handle_listener *listener; /* borrowed */
	void *ctx; /* borrowed: the owner */
};

/*
 * --- read buffer ---
 *
 * Frames are only lent to the listener for the duration of the call, and
 * one thread reads one socket at a time, so the read buffer belongs to the
 * thread, not to each of its (possibly thousands of) connections; the
 * pthread key's destructor frees it when the thread exits (embedded
 * workers). The tailroom after it is what the decoder lends to the last
 * frame of a read.
 */
struct tcp_conn_arena {
	uint8_t buf[SFU_TCP_CONN_READ_LEN + SFU_RFC4571_TAILROOM];
	bool busy; /* lent to the decoder */
};

static pthread_once_t tcp_conn_arena_once = PTHREAD_ONCE_INIT;
static pthread_key_t tcp_conn_arena_key;

static void
tcp_conn_arena_destroy(void *p)
{
	free(p);
}

static void
tcp_conn_arena_init_once(void)
{
	SFU_ASSERT(pthread_key_create(
	               &tcp_conn_arena_key, tcp_conn_arena_destroy) == 0);
}

static struct tcp_conn_arena *
tcp_conn_arena_get(void)
{
	struct tcp_conn_arena *a = NULL;

	pthread_once(&tcp_conn_arena_once, tcp_conn_arena_init_once);
	a = pthread_getspecific(tcp_conn_arena_key);
	if (a != NULL) {
		return a;
	}
	a = sfu_xcalloc(1, sizeof(*a));
	SFU_ASSERT(pthread_setspecific(tcp_conn_arena_key, a) == 0);
	return a;
}

/* --- closing --- */

/*
 * Stops all I/O and tells the owner, as the last act: the caller returns
 * at once after this, since on_closed may free c.
 */
static void
tcp_conn_handle_close(struct sfu_tcp_conn_handle *c,
    enum sfu_tcp_conn_close_reason reason, int error)
{
	char peer[SFU_SOCK_UTIL_ADDR_STR_LEN];

	if (c->closed) {
		return;
	}
	c->closed = true;
	event_del(c->rev);
	event_del(c->wev);
	c->writing = false;
	SFU_LOG_DEBUG("closed (%s%s%s) [peer:%s]",
	    reason == SFU_TCP_CONN_CLOSE_EOF     ? "eof"
	    : reason == SFU_TCP_CONN_CLOSE_ERROR ? "error"
	                                         : "framing",
	    error != 0 ? ": " : "", error != 0 ? strerror(error) : "",
	    sfu_sock_util_addr_str(
	        (const struct sockaddr *)&c->peer, peer, sizeof(peer)));
	c->listener->on_closed(c->ctx, c, reason, error);
}

/* --- output queue --- */

static void
tcp_conn_handle_drop(struct sfu_tcp_conn_handle *c, size_t len)
{
	c->stats.dropped_frames++;
	c->stats.dropped_bytes += len;
}

/*
 * Queues the part of the frame (hdr + data) from byte sent on. Past the
 * bound the frame is dropped whole; an empty queue always takes one frame,
 * so that the rest of a frame the kernel took in part always fits.
 */
static int
tcp_conn_handle_enqueue(struct sfu_tcp_conn_handle *c,
    const uint8_t hdr[SFU_RFC4571_HEADER_LEN], const void *data, size_t len,
    size_t sent)
{
	struct tcp_conn_chunk *p = NULL;
	size_t total = SFU_RFC4571_HEADER_LEN + len;

	if (!STAILQ_EMPTY(&c->out) &&
	    (total > c->max_out_len ||
	        c->stats.queued_len > c->max_out_len - total)) {
		tcp_conn_handle_drop(c, len);
		return SFU_TCP_CONN_ERROR;
	}
	p = sfu_xmalloc(sizeof(*p) + total);
	memcpy(p->data, hdr, SFU_RFC4571_HEADER_LEN);
	if (len > 0) {
		memcpy(p->data + SFU_RFC4571_HEADER_LEN, data, len);
	}
	p->len = total;
	p->off = sent;
	p->payload_len = len;
	STAILQ_INSERT_TAIL(&c->out, p, entry);
	c->stats.queued_len += total - sent;
	if (c->stats.queued_len > c->stats.queued_max_len) {
		c->stats.queued_max_len = c->stats.queued_len;
	}
	if (!c->writing) {
		SFU_ASSERT(event_add(c->wev, NULL) == 0);
		c->writing = true;
	}
	return SFU_TCP_CONN_AGAIN;
}

/* Takes n written bytes off the head of the queue. */
static void
tcp_conn_handle_advance(struct sfu_tcp_conn_handle *c, size_t n)
{
	struct tcp_conn_chunk *p = NULL;
	size_t rem = 0;

	while (n > 0) {
		p = STAILQ_FIRST(&c->out);
		SFU_ASSERT(p != NULL);
		rem = p->len - p->off;
		if (n < rem) {
			p->off += n;
			c->stats.queued_len -= n;
			return;
		}
		n -= rem;
		c->stats.queued_len -= rem;
		c->stats.sent_frames++;
		c->stats.sent_bytes += p->payload_len;
		STAILQ_REMOVE_HEAD(&c->out, entry);
		free(p);
	}
}

/*
 * Writes the queue in order, TCP_CONN_SEND_IOV chunks per sendmsg(), until
 * it is empty (write event disarmed) or the kernel says EAGAIN (stays
 * armed). Returns 0, or the errno of a failed write.
 */
static int
tcp_conn_handle_flush(struct sfu_tcp_conn_handle *c)
{
	struct iovec iov[TCP_CONN_SEND_IOV];
	struct msghdr msg;
	struct tcp_conn_chunk *p = NULL;
	ssize_t n = 0;
	int count = 0;
	int e = 0;

	while (!STAILQ_EMPTY(&c->out)) {
		count = 0;
		STAILQ_FOREACH(p, &c->out, entry)
		{
			if (count == TCP_CONN_SEND_IOV) {
				break;
			}
			iov[count].iov_base = p->data + p->off;
			iov[count].iov_len = p->len - p->off;
			count++;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)count;
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (n == -1) {
			e = errno;
			if (e == EINTR) {
				continue;
			}
			if (e == EAGAIN || e == EWOULDBLOCK) {
				return 0;
			}
			return e;
		}
		tcp_conn_handle_advance(c, (size_t)n);
	}
	event_del(c->wev);
	c->writing = false;
	return 0;
}

/* --- libevent trampolines --- */

static void
tcp_conn_handle_on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct sfu_tcp_conn_handle *c = arg;
	int e = 0;

	(void)fd;
	(void)what;
	if (c->closed) {
		return;
	}
	if (c->send_error != 0) {
		tcp_conn_handle_close(
		    c, SFU_TCP_CONN_CLOSE_ERROR, c->send_error);
		return;
	}
	e = tcp_conn_handle_flush(c);
	if (e != 0) {
		tcp_conn_handle_close(c, SFU_TCP_CONN_CLOSE_ERROR, e);
	}
}

static bool
tcp_conn_handle_on_decoded(void *ctx, uint8_t *frame, size_t len)
{
	struct tcp_conn_read *r = ctx;
	struct sfu_tcp_conn_handle *c = r->c;

	c->stats.recv_frames++;
	c->stats.recv_bytes += len;
	c->listener->on_frame(c->ctx, c, frame, len);

	/* c may be gone: only the flag on our stack is safe to read. */
	return !r->freed;
}

static void
tcp_conn_handle_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct sfu_tcp_conn_handle *c = arg;
	struct tcp_conn_arena *a = NULL;
	struct tcp_conn_read r = {c, false};
	enum sfu_rfc4571_status st = SFU_RFC4571_OK;
	ssize_t n = 0;
	int e = 0;
	int i = 0;

	(void)what;
	if (c->closed) {
		return;
	}
	a = tcp_conn_arena_get();

	/* Only a nested event loop could get here twice; there is none. */
	SFU_ASSERT(!a->busy);
	for (i = 0; i < SFU_TCP_CONN_READ_BATCH; i++) {
		n = read(fd, a->buf, SFU_TCP_CONN_READ_LEN);
		if (n == -1) {
			e = errno;
			if (e == EINTR) {
				continue;
			}
			if (e == EAGAIN || e == EWOULDBLOCK) {
				return;
			}
			tcp_conn_handle_close(c, SFU_TCP_CONN_CLOSE_ERROR, e);
			return;
		}
		if (n == 0) {
			tcp_conn_handle_close(c, SFU_TCP_CONN_CLOSE_EOF, 0);
			return;
		}
		a->busy = true;
		c->reading = &r;
		st = sfu_rfc4571_decoder_feed(
		    &c->dec, a->buf, (size_t)n, tcp_conn_handle_on_decoded, &r);
		a->busy = false;
		if (r.freed) {
			return;
		}
		c->reading = NULL;
		if (st == SFU_RFC4571_TOO_LONG) {
			tcp_conn_handle_close(c, SFU_TCP_CONN_CLOSE_FRAMING, 0);
			return;
		}
		if ((size_t)n < SFU_TCP_CONN_READ_LEN || c->closed) {
			return;
		}
	}
}

/* --- public --- */

struct sfu_tcp_conn_handle *
sfu_tcp_conn_handle_new(struct event_base *base, int fd,
    const struct sfu_tcp_conn_handle_listener *listener, void *ctx,
    struct sfu_error *err)
{
	struct sfu_tcp_conn_handle *c = NULL;
	int on = 1;
	int r = 0;
	int e = 0;

	c = sfu_xcalloc(1, sizeof(*c));
	c->fd = -1;
	sfu_rfc4571_decoder_init(&c->dec);
	STAILQ_INIT(&c->out);
	c->max_out_len = SFU_TCP_CONN_OUT_MAX_LEN;
	c->listener = listener;
	c->ctx = ctx;
	r = sfu_fd_set_nonblock(fd, true);
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "fcntl(fd %d) failed: %s", fd,
		    strerror(e));
		goto fail;
	}
	c->local_len = sizeof(c->local);
	r = getsockname(fd, (struct sockaddr *)&c->local, &c->local_len);
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR,
		    "getsockname(fd %d) failed: %s", fd, strerror(e));
		goto fail;
	}
	c->peer_len = sizeof(c->peer);
	r = getpeername(fd, (struct sockaddr *)&c->peer, &c->peer_len);
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR,
		    "getpeername(fd %d) failed: %s", fd, strerror(e));
		goto fail;
	}

	/*
	 * Media and STUN are small, latency-bound writes: Nagle would hold
	 * them back behind unacknowledged data. Best effort (AF_UNIX has no
	 * such option).
	 */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->rev = event_new(
	    base, fd, EV_READ | EV_PERSIST, tcp_conn_handle_on_readable, c);
	c->wev = event_new(
	    base, fd, EV_WRITE | EV_PERSIST, tcp_conn_handle_on_writable, c);
	if (c->rev == NULL || c->wev == NULL) {
		sfu_error_set(err, SFU_ERR_ERROR, "cannot watch tcp fd %d", fd);
		goto fail;
	}
	r = event_add(c->rev, NULL);
	if (r == -1) {
		sfu_error_set(err, SFU_ERR_ERROR, "cannot watch tcp fd %d", fd);
		goto fail;
	}
	c->fd = fd; /* owned from here on */
	return c;
fail:
	sfu_tcp_conn_handle_free(c); /* fd still belongs to the caller */
	return NULL;
}

void
sfu_tcp_conn_handle_free(struct sfu_tcp_conn_handle *c)
{
	struct tcp_conn_chunk *p = NULL;

	if (c == NULL) {
		return;
	}
	if (c->reading != NULL) {
		c->reading->freed = true;
		c->reading = NULL;
	}
	if (c->rev != NULL) {
		event_free(c->rev);
		c->rev = NULL;
	}
	if (c->wev != NULL) {
		event_free(c->wev);
		c->wev = NULL;
	}
	sfu_fd_close(&c->fd);
	while ((p = STAILQ_FIRST(&c->out)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->out, entry);
		free(p);
	}
	sfu_rfc4571_decoder_release(&c->dec);
	free(c);
}

int
sfu_tcp_conn_handle_send_frame(
    struct sfu_tcp_conn_handle *c, const void *data, size_t len)
{
	uint8_t hdr[SFU_RFC4571_HEADER_LEN];
	struct iovec iov[2];
	struct msghdr msg;
	ssize_t n = 0;
	int e = 0;

	if (c->closed || c->send_error != 0 ||
	    sfu_rfc4571_iov(iov, hdr, data, len) == -1) {
		tcp_conn_handle_drop(c, len);
		return SFU_TCP_CONN_ERROR;
	}

	/* Frames leave in the order they were given. */
	if (!STAILQ_EMPTY(&c->out)) {
		return tcp_conn_handle_enqueue(c, hdr, data, len, 0);
	}
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	do {
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == (ssize_t)(SFU_RFC4571_HEADER_LEN + len)) {
		c->stats.sent_frames++;
		c->stats.sent_bytes += len;
		return SFU_TCP_CONN_OK;
	}
	if (n >= 0) {
		/* The kernel took a part: the rest must follow, it is queued.
		 */
		return tcp_conn_handle_enqueue(c, hdr, data, len, (size_t)n);
	}
	e = errno;
	if (e == EAGAIN || e == EWOULDBLOCK) {
		return tcp_conn_handle_enqueue(c, hdr, data, len, 0);
	}

	/*
	 * The connection is broken (EPIPE, ECONNRESET, ...). The caller may
	 * be deep in its own work: on_closed comes from the loop, through the
	 * write event made active now.
	 */
	c->send_error = e;
	tcp_conn_handle_drop(c, len);
	event_active(c->wev, EV_WRITE, 1);
	return SFU_TCP_CONN_ERROR;
}

void
sfu_tcp_conn_handle_set_max_out_len(
    struct sfu_tcp_conn_handle *c, size_t max_len)
{
	c->max_out_len = max_len;
}

void
sfu_tcp_conn_handle_set_max_frame_len(
    struct sfu_tcp_conn_handle *c, size_t max_len)
{
	sfu_rfc4571_decoder_set_max_len(&c->dec, max_len);
}

void
sfu_tcp_conn_handle_get_stats(
    const struct sfu_tcp_conn_handle *c, struct sfu_tcp_conn_handle_stats *st)
{
	*st = c->stats;
	st->recv_empty = c->dec.empty_frames;
}

const struct sockaddr *
sfu_tcp_conn_handle_local_addr(
    const struct sfu_tcp_conn_handle *c, socklen_t *len)
{
	if (len != NULL) {
		*len = c->local_len;
	}
	return (const struct sockaddr *)&c->local;
}

const struct sockaddr *
sfu_tcp_conn_handle_peer_addr(
    const struct sfu_tcp_conn_handle *c, socklen_t *len)
{
	if (len != NULL) {
		*len = c->peer_len;
	}
	return (const struct sockaddr *)&c->peer;
}

int
sfu_tcp_conn_handle_fd(const struct sfu_tcp_conn_handle *c)
{
	return c->fd;
}

bool
sfu_tcp_conn_handle_is_closed(const struct sfu_tcp_conn_handle *c)
{
	return c->closed;
}
