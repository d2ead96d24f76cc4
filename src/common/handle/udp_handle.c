/*
 * SPDX-License-Identifier: MIT
 *
 * udp_handle: one datagram socket, a read event draining it in recvmmsg
 * batches and a write event armed only while the bounded send queue holds
 * packets. The receive slots are per thread, not per handle (see
 * udp_recv_arena below), and so is the space where deferred sends wait for
 * the end of a receive batch (udp_defer); the send queue is per handle.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define SFU_LOG_MODULE "udp_handle"
#include "common/clock.h"
#include "common/fd.h"
#include "common/handle/sock_util.h"
#include "common/handle/udp_handle.h"
#include "common/log.h"
#include "common/mem.h"

/* Most datagrams handed to one sendmmsg() call. */
#define UDP_HANDLE_SEND_BATCH 64
/* Socket buffers asked for; the kernel may cap them (net.core.*mem_max). */
#define UDP_HANDLE_SOCKBUF_LEN (4 * 1024 * 1024)
/* At most one warning per handle per interval; the rest are counted. */
#define UDP_HANDLE_WARN_INTERVAL_MS 1000
/*
 * Holding space of sfu_udp_handle_send_deferred(), per thread: datagrams
 * and bytes copied (heads, and bodies outside the receive slots). With
 * header-sized heads, 8192 datagrams are one 64-datagram batch fanned out
 * to 128 consumers; past either bound everything held is sent at once.
 */
#define UDP_DEFER_ENTRIES 8192
#define UDP_DEFER_BYTES (512 * 1024)

/* A queued copy of one datagram waiting for the socket to be writable. */
struct udp_handle_pending {
	STAILQ_ENTRY(udp_handle_pending) entry;
	struct sockaddr_storage to;
	socklen_t tolen;
	size_t len; /* bytes in data */
	uint8_t data[];
};

STAILQ_HEAD(udp_handle_queue, udp_handle_pending);

struct sfu_udp_handle {
	int fd;                        /* owned, -1 when absent */
	struct event *rev;             /* owned: EV_READ | EV_PERSIST */
	struct event *wev;             /* owned: armed while queue != {} */
	bool writing;                  /* wev added */
	struct udp_handle_queue queue; /* owned entries */
	size_t max_queue_len;          /* bytes of payload */
	size_t max_queue_count;        /* packets */
	struct sfu_udp_handle_stats stats;
	struct sockaddr_storage local;
	socklen_t local_len;
	/*
	 * Points at a flag on the stack of udp_handle_on_readable() while it
	 * calls on_datagram: sfu_udp_handle_free() sets it so the loop stops
	 * touching the handle.
	 */
	bool *freed;
	uint64_t warn_ms;         /* last warning, monotonic ms */
	uint64_t warn_suppressed; /* since the last one */
	uint64_t max_age_ns;      /* 0: no receive timestamps */
	const struct sfu_udp_handle_listener *listener; /* borrowed */
	void *ctx; /* borrowed: the owner */

	/* Held by send_deferred: entries of the thread's udp_defer. */
	struct udp_defer *defer; /* borrowed: the thread's, while held */
	TAILQ_ENTRY(sfu_udp_handle) defer_link; /* in defer->handles */
	unsigned int defer_count;               /* datagrams held */
	uint16_t defer_idx[SFU_UDP_DEFER_MAX];  /* into defer->entries */
};

/*
 * --- receive slots ---
 *
 * One recvmmsg batch needs SFU_UDP_RECV_BATCH slots of SFU_UDP_RECV_SLOT
 * bytes (about 140 KiB). A worker may hold thousands of sockets, but one
 * thread reads one socket at a time and datagrams are only lent to the
 * listener for the duration of the call, so the slots belong to the thread
 * (mediasoup's thread_local read buffer): allocated on its first read,
 * freed by the pthread key destructor when the thread exits.
 */
struct udp_recv_arena {
	uint8_t buf[SFU_UDP_RECV_BATCH][SFU_UDP_RECV_SLOT];
	struct mmsghdr msgs[SFU_UDP_RECV_BATCH];
	struct iovec iov[SFU_UDP_RECV_BATCH];
	struct sockaddr_storage from[SFU_UDP_RECV_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl[SFU_UDP_RECV_BATCH]; /* receive timestamps, with a max age */
	bool busy;                 /* lent to a listener */
	struct udp_defer *defer;   /* owned, NULL until the first deferral */
};

/*
 * --- deferred sends ---
 *
 * What sfu_udp_handle_send_deferred() holds during one receive batch, for
 * every handle of the thread: the datagrams (a head copied into bytes, a
 * body borrowed from a receive slot or copied too) and the handles that
 * hold some, in the order they first did. Per thread for the reason the
 * receive slots are: the bodies point into them, and the batch that lends
 * them is the thread's. Emptied when the batch ends
 * (udp_handle_on_readable), so nothing is ever held between batches.
 */
struct udp_defer_entry {
	const uint8_t *head; /* in bytes */
	const uint8_t *body; /* in a receive slot or in bytes; may be NULL */
	size_t head_len;
	size_t body_len;
	socklen_t tolen;        /* 0: the connect()ed peer */
	struct sockaddr_in6 to; /* holds a sockaddr_in too */
};

struct udp_defer {
	struct udp_defer_entry entries[UDP_DEFER_ENTRIES];
	unsigned int nentries;
	size_t nbytes;
	TAILQ_HEAD(, sfu_udp_handle) handles; /* holding datagrams */
	uint8_t bytes[UDP_DEFER_BYTES];
};

static pthread_once_t udp_recv_arena_once = PTHREAD_ONCE_INIT;
static pthread_key_t udp_recv_arena_key;

static void
udp_recv_arena_destroy(void *p)
{
	struct udp_recv_arena *a = p;

	if (a != NULL) {
		free(a->defer);
	}
	free(a);
}

static void
udp_recv_arena_init_once(void)
{
	SFU_ASSERT(pthread_key_create(
	               &udp_recv_arena_key, udp_recv_arena_destroy) == 0);
}

static struct udp_recv_arena *
udp_recv_arena_get(void)
{
	struct udp_recv_arena *a = NULL;
	int i = 0;

	pthread_once(&udp_recv_arena_once, udp_recv_arena_init_once);
	a = pthread_getspecific(udp_recv_arena_key);
	if (a != NULL) {
		return a;
	}
	a = sfu_xcalloc(1, sizeof(*a));
	for (i = 0; i < SFU_UDP_RECV_BATCH; i++) {
		a->iov[i].iov_base = a->buf[i];
		a->iov[i].iov_len = SFU_UDP_RECV_MAX_LEN;
		a->msgs[i].msg_hdr.msg_iov = &a->iov[i];
		a->msgs[i].msg_hdr.msg_iovlen = 1;
		a->msgs[i].msg_hdr.msg_name = &a->from[i];
	}
	SFU_ASSERT(pthread_setspecific(udp_recv_arena_key, a) == 0);
	return a;
}

/* --- helpers --- */

/*
 * A warning that input or the network may repeat at line rate: at most one
 * per UDP_HANDLE_WARN_INTERVAL_MS per handle, saying how many were held
 * back.
 */
static void udp_handle_warn(struct sfu_udp_handle *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
udp_handle_warn(struct sfu_udp_handle *h, const char *fmt, ...)
{
	char line[256];
	char local[64];
	uint64_t now_ms = 0;
	va_list ap;

	if (!sfu_log_enabled(SFU_LOG_LEVEL_WARN, 0)) {
		return;
	}
	now_ms = sfu_clock_mono_ms();
	if (h->warn_ms != 0 &&
	    now_ms - h->warn_ms < UDP_HANDLE_WARN_INTERVAL_MS) {
		h->warn_suppressed++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	SFU_LOG_WARN("%s [local:%s suppressed:%llu]", line,
	    sfu_sock_util_addr_str(
	        (const struct sockaddr *)&h->local, local, sizeof(local)),
	    (unsigned long long)h->warn_suppressed);
	h->warn_ms = now_ms;
	h->warn_suppressed = 0;
}

static void
udp_handle_on_send_error(
    struct sfu_udp_handle *h, int e, const struct sockaddr *to)
{
	char peer[64];

	h->stats.send_errors++;

	/*
	 * ICMP port unreachable reported by the kernel: the peer went away,
	 * ICE consent or the transport's owner will notice; not worth a line.
	 */
	if (e == ECONNREFUSED) {
		return;
	}
	udp_handle_warn(h, "send to %s failed: %s",
	    sfu_sock_util_addr_str(to, peer, sizeof(peer)), strerror(e));
}

/* --- send queue --- */

/*
 * One datagram to send: head then body (either may be empty), to to
 * (NULL, tolen 0: the connect()ed peer). All borrowed.
 */
struct udp_out {
	const void *head;
	size_t head_len;
	const void *body;
	size_t body_len;
	const struct sockaddr *to;
	socklen_t tolen;
};

/* Queues a copy of head + body behind what waits for EV_WRITE. */
static int
udp_handle_enqueue(struct sfu_udp_handle *h, const struct udp_out *o)
{
	struct udp_handle_pending *p = NULL;
	socklen_t tolen = o->tolen;
	size_t len = o->head_len + o->body_len;

	if (h->stats.queued_packets + 1 > h->max_queue_count ||
	    len > h->max_queue_len ||
	    h->stats.queued_len > h->max_queue_len - len) {
		h->stats.dropped_packets++;
		udp_handle_warn(h,
		    "send queue full, dropping (%zu packets, "
		    "%zu bytes queued)",
		    h->stats.queued_packets, h->stats.queued_len);
		return SFU_UDP_ERROR;
	}
	if ((size_t)tolen > sizeof(p->to)) {
		udp_handle_on_send_error(h, EINVAL, NULL);
		return SFU_UDP_ERROR;
	}
	p = sfu_xmalloc(sizeof(*p) + len);
	if (o->to != NULL && tolen > 0) {
		memcpy(&p->to, o->to, tolen);
	} else {
		tolen = 0;
	}
	p->tolen = tolen;
	p->len = len;
	if (o->head_len > 0) {
		memcpy(p->data, o->head, o->head_len);
	}
	if (o->body_len > 0) {
		memcpy(p->data + o->head_len, o->body, o->body_len);
	}
	STAILQ_INSERT_TAIL(&h->queue, p, entry);
	h->stats.queued_packets++;
	h->stats.queued_len += len;
	if (!h->writing) {
		SFU_ASSERT(event_add(h->wev, NULL) == 0);
		h->writing = true;
	}
	return SFU_UDP_AGAIN;
}

static void
udp_handle_dequeue(struct sfu_udp_handle *h, bool sent)
{
	struct udp_handle_pending *p = STAILQ_FIRST(&h->queue);

	STAILQ_REMOVE_HEAD(&h->queue, entry);
	h->stats.queued_packets--;
	h->stats.queued_len -= p->len;
	if (sent) {
		h->stats.sent_packets++;
		h->stats.sent_bytes += p->len;
	}
	free(p);
}

/*
 * Sends queued datagrams in order, UDP_HANDLE_SEND_BATCH per sendmmsg()
 * call, until the queue is empty (write event disarmed) or the kernel says
 * EAGAIN again (stays armed). A datagram the kernel refuses is dropped.
 */
static void
udp_handle_flush(struct sfu_udp_handle *h)
{
	struct mmsghdr mm[UDP_HANDLE_SEND_BATCH];
	struct iovec iov[UDP_HANDLE_SEND_BATCH];
	struct udp_handle_pending *p = NULL;
	unsigned int count = 0;
	bool retried = false;
	int n = 0;
	int e = 0;
	int i = 0;

	while (!STAILQ_EMPTY(&h->queue)) {
		count = 0;
		STAILQ_FOREACH(p, &h->queue, entry)
		{
			if (count == UDP_HANDLE_SEND_BATCH) {
				break;
			}
			iov[count].iov_base = p->data;
			iov[count].iov_len = p->len;
			memset(&mm[count], 0, sizeof(mm[count]));
			mm[count].msg_hdr.msg_name =
			    p->tolen > 0 ? &p->to : NULL;
			mm[count].msg_hdr.msg_namelen = p->tolen;
			mm[count].msg_hdr.msg_iov = &iov[count];
			mm[count].msg_hdr.msg_iovlen = 1;
			count++;
		}
		n = sendmmsg(h->fd, mm, count, 0);
		h->stats.send_calls++;
		if (n == -1) {
			e = errno;
			if (e == EINTR) {
				continue;
			}
			if (e == EAGAIN || e == EWOULDBLOCK) {
				return;
			}
			if (e == ECONNREFUSED && !retried) {
				/* An earlier datagram's error: see below. */
				retried = true;
				continue;
			}
			p = STAILQ_FIRST(&h->queue);
			udp_handle_on_send_error(h, e,
			    p->tolen > 0 ? (const struct sockaddr *)&p->to
			                 : NULL);
			udp_handle_dequeue(h, false);
			retried = false;
			continue;
		}
		retried = false;
		for (i = 0; i < n; i++) {
			udp_handle_dequeue(h, true);
		}
	}
	event_del(h->wev);
	h->writing = false;
}

/* Queues o[0..n), folding the results as send_batch reports them. */
static int
udp_handle_enqueue_outs(
    struct sfu_udp_handle *h, const struct udp_out *o, unsigned int n)
{
	unsigned int i = 0;
	int result = SFU_UDP_AGAIN;
	int r = 0;

	for (i = 0; i < n; i++) {
		r = udp_handle_enqueue(h, &o[i]);
		if (r == SFU_UDP_ERROR) {
			result = SFU_UDP_ERROR;
		}
	}
	return result;
}

/*
 * Sends o[0..n) (n <= UDP_HANDLE_SEND_BATCH) with as few sendmmsg() calls
 * as the kernel allows; what EAGAIN leaves is queued. Results as
 * sfu_udp_handle_send_batch().
 *
 * ECONNREFUSED: on a connect()ed socket the kernel reports an ICMP port
 * unreachable that an earlier datagram caused on the next send, which then
 * fails without sending its datagram (sock_error() in the skb allocation).
 * The error is consumed by that report, so the datagram is tried once more:
 * it was not the one refused. An unconnected socket never reports them.
 */
static int
udp_handle_send_outs(
    struct sfu_udp_handle *h, const struct udp_out *o, unsigned int n)
{
	struct mmsghdr mm[UDP_HANDLE_SEND_BATCH];
	struct iovec iov[2 * UDP_HANDLE_SEND_BATCH];
	unsigned int done = 0;
	unsigned int count = 0;
	unsigned int i = 0;
	unsigned int k = 0;
	bool retried = false;
	int result = SFU_UDP_OK;
	int r = 0;
	int e = 0;

	SFU_ASSERT(n <= UDP_HANDLE_SEND_BATCH);
	if (!STAILQ_EMPTY(&h->queue)) {
		return udp_handle_enqueue_outs(h, o, n);
	}
	while (done < n) {
		count = n - done;
		for (i = 0; i < count; i++) {
			k = 0;
			if (o[done + i].head_len > 0) {
				iov[2 * i].iov_base =
				    (void *)(uintptr_t)o[done + i].head;
				iov[2 * i].iov_len = o[done + i].head_len;
				k++;
			}
			if (o[done + i].body_len > 0) {
				iov[2 * i + k].iov_base =
				    (void *)(uintptr_t)o[done + i].body;
				iov[2 * i + k].iov_len = o[done + i].body_len;
				k++;
			}
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_name =
			    (void *)(uintptr_t)o[done + i].to;
			mm[i].msg_hdr.msg_namelen = o[done + i].tolen;
			mm[i].msg_hdr.msg_iov = &iov[2 * i];
			mm[i].msg_hdr.msg_iovlen = k;
		}

		/*
		 * sendmmsg() stops at the first failing datagram and returns
		 * how many went before it; the next call reports its error.
		 */
		r = sendmmsg(h->fd, mm, count, 0);
		h->stats.send_calls++;
		if (r > 0) {
			for (i = 0; i < (unsigned int)r; i++) {
				h->stats.sent_packets++;
				h->stats.sent_bytes +=
				    o[done + i].head_len + o[done + i].body_len;
			}
			done += (unsigned int)r;
			retried = false;
			continue;
		}
		e = errno;
		if (r == -1 && e == EINTR) {
			continue;
		}
		if (r == -1 && e == ECONNREFUSED && !retried) {
			retried = true;
			continue;
		}
		if (r == -1 && (e == EAGAIN || e == EWOULDBLOCK)) {
			r = udp_handle_enqueue_outs(h, o + done, n - done);
			if (r == SFU_UDP_ERROR) {
				result = SFU_UDP_ERROR;
			} else if (result == SFU_UDP_OK) {
				result = SFU_UDP_AGAIN;
			}
			break;
		}
		if (r == 0) {
			e = EIO; /* cannot happen with count > 0 */
		}
		udp_handle_on_send_error(h, e, o[done].to);
		result = SFU_UDP_ERROR;
		retried = false;
		done++;
	}
	return result;
}

/* --- deferred sends --- */

/* Sends what h holds (one sendmmsg() for up to SFU_UDP_DEFER_MAX). */
static void
udp_defer_flush_handle(struct sfu_udp_handle *h)
{
	struct udp_out o[SFU_UDP_DEFER_MAX];
	struct udp_defer *d = h->defer;
	struct udp_defer_entry *e = NULL;
	unsigned int i = 0;

	if (h->defer_count == 0) {
		return;
	}
	for (i = 0; i < h->defer_count; i++) {
		e = &d->entries[h->defer_idx[i]];
		o[i].head = e->head;
		o[i].head_len = e->head_len;
		o[i].body = e->body;
		o[i].body_len = e->body_len;
		o[i].to = e->tolen > 0 ? (const struct sockaddr *)&e->to : NULL;
		o[i].tolen = e->tolen;
	}
	h->stats.deferred_packets += h->defer_count;
	TAILQ_REMOVE(&d->handles, h, defer_link);
	h->defer_count = 0;
	h->defer = NULL;
	(void)udp_handle_send_outs(h, o, i);
}

/* Sends everything the thread holds and empties the holding space. */
static void
udp_defer_flush_all(struct udp_defer *d)
{
	struct sfu_udp_handle *h = NULL;

	while ((h = TAILQ_FIRST(&d->handles)) != NULL) {
		udp_defer_flush_handle(h);
	}
	d->nentries = 0;
	d->nbytes = 0;
}

/* The thread's receive slots, NULL when it never read. */
static struct udp_recv_arena *
udp_recv_arena_peek(void)
{
	pthread_once(&udp_recv_arena_once, udp_recv_arena_init_once);
	return pthread_getspecific(udp_recv_arena_key);
}

/* --- receive timestamps --- */

static uint64_t
udp_handle_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Whether m waited in the socket longer than h's max age before now_ns.
 * No timestamp (control data cut, or none given): not stale. A timestamp
 * in the future (the wall clock stepped back) is not stale either.
 */
static bool
udp_handle_is_stale(
    const struct sfu_udp_handle *h, struct mmsghdr *m, uint64_t now_ns)
{
	struct cmsghdr *cm = NULL;
	struct timespec ts;
	uint64_t t = 0;

	for (cm = CMSG_FIRSTHDR(&m->msg_hdr); cm != NULL;
	     cm = CMSG_NXTHDR(&m->msg_hdr, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_TIMESTAMPNS ||
		    cm->cmsg_len < CMSG_LEN(sizeof(ts))) {
			continue;
		}
		memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
		t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		return now_ns > t && now_ns - t > h->max_age_ns;
	}
	return false;
}

/* --- libevent trampolines --- */

static void
udp_handle_on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct sfu_udp_handle *h = arg;

	(void)fd;
	(void)what;
	udp_handle_flush(h);
}

static void
udp_handle_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct sfu_udp_handle *h = arg;
	struct udp_recv_arena *a = NULL;
	struct mmsghdr *m = NULL;
	uint64_t now_ns = 0;
	bool freed = false;
	int n = 0;
	int e = 0;
	int i = 0;

	(void)what;
	a = udp_recv_arena_get();

	/* Only a nested event loop could get here twice; there is none. */
	SFU_ASSERT(!a->busy);
	for (i = 0; i < SFU_UDP_RECV_BATCH; i++) {
		a->msgs[i].msg_hdr.msg_namelen = sizeof(a->from[i]);
		a->msgs[i].msg_hdr.msg_flags = 0;
		if (h->max_age_ns > 0) {
			a->msgs[i].msg_hdr.msg_control = a->ctl[i].buf;
			a->msgs[i].msg_hdr.msg_controllen =
			    sizeof(a->ctl[i].buf);
		} else {
			a->msgs[i].msg_hdr.msg_control = NULL;
			a->msgs[i].msg_hdr.msg_controllen = 0;
		}
	}
	do {
		n = recvmmsg(
		    fd, a->msgs, SFU_UDP_RECV_BATCH, MSG_DONTWAIT, NULL);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		e = errno;

		/*
		 * ECONNREFUSED: on a connect()ed socket, an ICMP port
		 * unreachable for an earlier send, reported (and cleared) here
		 * instead of on the next send; datagrams still queued make the
		 * socket readable again.
		 */
		if (e != EAGAIN && e != EWOULDBLOCK && e != ECONNREFUSED) {
			h->stats.recv_errors++;
			udp_handle_warn(h, "recvmmsg failed: %s", strerror(e));
		}
		return;
	}

	/*
	 * At most one batch per wakeup, even if more are waiting: the event is
	 * level-triggered, so the loop calls us again after serving others.
	 */
	if (h->max_age_ns > 0) {
		now_ns = udp_handle_wall_ns();
	}
	a->busy = true;
	h->freed = &freed;
	for (i = 0; i < n; i++) {
		m = &a->msgs[i];
		if (m->msg_hdr.msg_flags & MSG_TRUNC) {
			h->stats.truncated++;
			udp_handle_warn(h,
			    "dropped a datagram longer than %d "
			    "bytes",
			    SFU_UDP_RECV_MAX_LEN);
			continue;
		}
		if (h->max_age_ns > 0 && udp_handle_is_stale(h, m, now_ns)) {
			h->stats.stale_packets++;
			udp_handle_warn(h,
			    "input overload: dropped a datagram queued "
			    "more than %llu ms ago (%llu so far)",
			    (unsigned long long)(h->max_age_ns / 1000000u),
			    (unsigned long long)h->stats.stale_packets);
			continue;
		}
		h->stats.recv_packets++;
		h->stats.recv_bytes += m->msg_len;
		h->listener->on_datagram(h->ctx, h, a->buf[i], m->msg_len,
		    (const struct sockaddr *)&a->from[i],
		    m->msg_hdr.msg_namelen);
		if (freed) {
			break;
		}
	}
	if (!freed) {
		h->freed = NULL;
	}

	/*
	 * The batch is over: send what listeners held back (for any handle,
	 * even if h is gone) while the receive slots their bodies point
	 * into are intact.
	 */
	if (a->defer != NULL) {
		udp_defer_flush_all(a->defer);
	}
	a->busy = false;
}

/* --- public --- */

/* Best effort: SO_*BUFFORCE works with CAP_NET_ADMIN, else capped. */
static void
udp_handle_grow_buffers(int fd)
{
	int len = UDP_HANDLE_SOCKBUF_LEN;
	int r = 0;

	r = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &len, sizeof(len));
	if (r == -1) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &len, sizeof(len));
	}
	r = setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &len, sizeof(len));
	if (r == -1) {
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &len, sizeof(len));
	}
}

int
sfu_udp_bind(const char *ip, uint16_t port, uint16_t min_port,
    uint16_t max_port, int *fd_out, uint16_t *port_out, struct sfu_error *err)
{
	int r = 0;

	r = sfu_sock_util_bind(
	    ip, SOCK_DGRAM, port, min_port, max_port, 0, fd_out, port_out, err);
	if (r == -1) {
		return -1;
	}
	udp_handle_grow_buffers(*fd_out);
	return 0;
}

struct sfu_udp_handle *
sfu_udp_handle_new(struct event_base *base, int fd,
    const struct sfu_udp_handle_listener *listener, void *ctx,
    struct sfu_error *err)
{
	struct sfu_udp_handle *h = NULL;
	int r = 0;
	int e = 0;

	h = sfu_xcalloc(1, sizeof(*h));
	h->fd = -1;
	STAILQ_INIT(&h->queue);
	h->max_queue_len = SFU_UDP_SEND_QUEUE_MAX_LEN;
	h->max_queue_count = SFU_UDP_SEND_QUEUE_MAX_COUNT;
	h->listener = listener;
	h->ctx = ctx;
	r = sfu_fd_set_nonblock(fd, true);
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "fcntl(fd %d) failed: %s", fd,
		    strerror(e));
		goto fail;
	}
	h->local_len = sizeof(h->local);
	r = getsockname(fd, (struct sockaddr *)&h->local, &h->local_len);
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR,
		    "getsockname(fd %d) failed: %s", fd, strerror(e));
		goto fail;
	}
	h->rev = event_new(
	    base, fd, EV_READ | EV_PERSIST, udp_handle_on_readable, h);
	h->wev = event_new(
	    base, fd, EV_WRITE | EV_PERSIST, udp_handle_on_writable, h);
	if (h->rev == NULL || h->wev == NULL) {
		sfu_error_set(err, SFU_ERR_ERROR, "cannot watch udp fd %d", fd);
		goto fail;
	}
	r = event_add(h->rev, NULL);
	if (r == -1) {
		sfu_error_set(err, SFU_ERR_ERROR, "cannot watch udp fd %d", fd);
		goto fail;
	}
	h->fd = fd; /* owned from here on */
	return h;
fail:
	sfu_udp_handle_free(h); /* fd still belongs to the caller */
	return NULL;
}

void
sfu_udp_handle_free(struct sfu_udp_handle *h)
{
	struct udp_handle_pending *p = NULL;

	if (h == NULL) {
		return;
	}
	if (h->freed != NULL) {
		*h->freed = true;
		h->freed = NULL;
	}

	/* What it holds was given to send before the free: send it. */
	udp_defer_flush_handle(h);
	if (h->rev != NULL) {
		event_free(h->rev);
		h->rev = NULL;
	}
	if (h->wev != NULL) {
		event_free(h->wev);
		h->wev = NULL;
	}
	sfu_fd_close(&h->fd);
	while ((p = STAILQ_FIRST(&h->queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&h->queue, entry);
		free(p);
	}
	free(h);
}

/* Sends one datagram now (sendto, or sendmsg for two parts), or queues it. */
static int
udp_handle_send_one(struct sfu_udp_handle *h, const struct udp_out *o)
{
	struct msghdr mh;
	struct iovec iov[2];
	bool retried = false;
	ssize_t n = 0;
	int e = 0;

	/* Datagrams leave in the order they were given. */
	udp_defer_flush_handle(h);
	if (!STAILQ_EMPTY(&h->queue)) {
		return udp_handle_enqueue(h, o);
	}
	for (;;) {
		if (o->body_len == 0) {
			n = sendto(
			    h->fd, o->head, o->head_len, 0, o->to, o->tolen);
		} else {
			iov[0].iov_base = (void *)(uintptr_t)o->head;
			iov[0].iov_len = o->head_len;
			iov[1].iov_base = (void *)(uintptr_t)o->body;
			iov[1].iov_len = o->body_len;
			memset(&mh, 0, sizeof(mh));
			mh.msg_name = (void *)(uintptr_t)o->to;
			mh.msg_namelen = o->tolen;
			mh.msg_iov = iov;
			mh.msg_iovlen = 2;
			n = sendmsg(h->fd, &mh, 0);
		}
		h->stats.send_calls++;
		if (n >= 0) {
			h->stats.sent_packets++;
			h->stats.sent_bytes += o->head_len + o->body_len;
			return SFU_UDP_OK;
		}
		e = errno;
		if (e == EINTR) {
			continue;
		}

		/* An earlier datagram's error: see udp_handle_send_outs(). */
		if (e == ECONNREFUSED && !retried) {
			retried = true;
			continue;
		}
		break;
	}
	if (e == EAGAIN || e == EWOULDBLOCK) {
		return udp_handle_enqueue(h, o);
	}
	udp_handle_on_send_error(h, e, o->to);
	return SFU_UDP_ERROR;
}

int
sfu_udp_handle_send(struct sfu_udp_handle *h, const void *data, size_t len,
    const struct sockaddr *to, socklen_t tolen)
{
	struct udp_out o = {data, len, NULL, 0, to, tolen};

	return udp_handle_send_one(h, &o);
}

int
sfu_udp_handle_send_batch(
    struct sfu_udp_handle *h, const struct sfu_udp_msg *msgs, unsigned int n)
{
	struct udp_out o[UDP_HANDLE_SEND_BATCH];
	unsigned int done = 0;
	unsigned int count = 0;
	unsigned int i = 0;
	int result = SFU_UDP_OK;
	int r = 0;

	udp_defer_flush_handle(h);
	while (done < n) {
		count = n - done;
		if (count > UDP_HANDLE_SEND_BATCH) {
			count = UDP_HANDLE_SEND_BATCH;
		}
		for (i = 0; i < count; i++) {
			o[i].head = msgs[done + i].data;
			o[i].head_len = msgs[done + i].len;
			o[i].body = NULL;
			o[i].body_len = 0;
			o[i].to = msgs[done + i].to;
			o[i].tolen = msgs[done + i].tolen;
		}
		r = udp_handle_send_outs(h, o, count);
		if (r == SFU_UDP_ERROR) {
			result = SFU_UDP_ERROR;
		} else if (r == SFU_UDP_AGAIN && result == SFU_UDP_OK) {
			result = SFU_UDP_AGAIN;
		}
		done += count;
	}
	return result;
}

/* Whether [p, p + len) lies in one of the thread's receive slots. */
static bool
udp_recv_arena_holds(const struct udp_recv_arena *a, const void *p, size_t len)
{
	uintptr_t lo = (uintptr_t)a->buf;
	uintptr_t hi = lo + sizeof(a->buf);
	uintptr_t x = (uintptr_t)p;

	return x >= lo && x <= hi && len <= hi - x;
}

int
sfu_udp_handle_send_deferred(struct sfu_udp_handle *h, const void *head,
    size_t head_len, const void *body, size_t body_len,
    const struct sockaddr *to, socklen_t tolen)
{
	struct udp_out o = {head, head_len, body, body_len, to, tolen};
	struct udp_recv_arena *a = NULL;
	struct udp_defer *d = NULL;
	struct udp_defer_entry *e = NULL;
	bool borrow = false;
	size_t need = 0;

	a = udp_recv_arena_peek();
	if (a == NULL || !a->busy || (size_t)tolen > sizeof(e->to) ||
	    head_len + body_len > SFU_UDP_RECV_SLOT) {
		return udp_handle_send_one(h, &o);
	}
	if (a->defer == NULL) {
		a->defer = sfu_xmalloc(sizeof(*a->defer));
		a->defer->nentries = 0;
		a->defer->nbytes = 0;
		TAILQ_INIT(&a->defer->handles);
	}
	d = a->defer;
	borrow = body_len == 0 || udp_recv_arena_holds(a, body, body_len);
	need = head_len + (borrow ? 0 : body_len);
	if (d->nentries == UDP_DEFER_ENTRIES ||
	    need > UDP_DEFER_BYTES - d->nbytes) {
		udp_defer_flush_all(d);
	}
	e = &d->entries[d->nentries];
	e->head = d->bytes + d->nbytes;
	e->head_len = head_len;
	if (head_len > 0) {
		memcpy(d->bytes + d->nbytes, head, head_len);
	}
	d->nbytes += head_len;
	e->body_len = body_len;
	if (borrow) {
		e->body = body_len > 0 ? body : NULL;
	} else {
		e->body = d->bytes + d->nbytes;
		memcpy(d->bytes + d->nbytes, body, body_len);
		d->nbytes += body_len;
	}
	e->tolen = to != NULL ? tolen : 0;
	if (e->tolen > 0) {
		memcpy(&e->to, to, tolen);
	}
	if (h->defer_count == 0) {
		h->defer = d;
		TAILQ_INSERT_TAIL(&d->handles, h, defer_link);
	}
	h->defer_idx[h->defer_count++] = (uint16_t)d->nentries++;
	if (h->defer_count == SFU_UDP_DEFER_MAX) {
		udp_defer_flush_handle(h);
	}
	return SFU_UDP_AGAIN;
}

int
sfu_udp_handle_set_max_age(
    struct sfu_udp_handle *h, unsigned int max_age_ms, struct sfu_error *err)
{
	int on = max_age_ms > 0 ? 1 : 0;
	int r = 0;
	int e = 0;

	r = setsockopt(h->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR,
		    "setsockopt(SO_TIMESTAMPNS) failed: %s", strerror(e));
		return -1;
	}
	h->max_age_ns = (uint64_t)max_age_ms * 1000000u;
	return 0;
}

void
sfu_udp_handle_set_send_queue_limits(
    struct sfu_udp_handle *h, size_t max_len, size_t max_count)
{
	h->max_queue_len = max_len;
	h->max_queue_count = max_count;
}

void
sfu_udp_handle_get_stats(
    const struct sfu_udp_handle *h, struct sfu_udp_handle_stats *stats)
{
	*stats = h->stats;
}

const struct sockaddr *
sfu_udp_handle_local_addr(const struct sfu_udp_handle *h, socklen_t *len)
{
	if (len != NULL) {
		*len = h->local_len;
	}
	return (const struct sockaddr *)&h->local;
}

uint16_t
sfu_udp_handle_local_port(const struct sfu_udp_handle *h)
{
	return sfu_sock_util_port((const struct sockaddr *)&h->local);
}

int
sfu_udp_handle_fd(const struct sfu_udp_handle *h)
{
	return h->fd;
}

/* Whether sa is 0.0.0.0 or ::. */
static bool
udp_handle_is_wildcard(const struct sockaddr *sa)
{
	const struct sockaddr_in *sin = NULL;
	const struct sockaddr_in6 *sin6 = NULL;

	if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		return sin->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		return IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
	}
	return false;
}

int
sfu_udp_handle_connect(struct sfu_udp_handle *h, const struct sockaddr *to,
    socklen_t tolen, struct sfu_error *err)
{
	char peer[64];
	int r = 0;
	int e = 0;

	if (udp_handle_is_wildcard((const struct sockaddr *)&h->local)) {
		sfu_error_set(err, SFU_ERR_INVALID_STATE,
		    "socket bound to a wildcard address");
		return -1;
	}

	/* Held datagrams and the queue were meant for the old peer: send. */
	udp_defer_flush_handle(h);
	r = connect(h->fd, to, tolen);
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "connect(%s) failed: %s",
		    sfu_sock_util_addr_str(to, peer, sizeof(peer)),
		    strerror(e));
		return -1;
	}
	return 0;
}
