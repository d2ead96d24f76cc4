/*
 * SPDX-License-Identifier: MIT
 *
 * udp_handle: one datagram socket, a read event draining it in recvmmsg
 * batches and a write event armed only while the bounded send queue holds
 * packets. The receive slots are per thread, not per handle (see
 * udp_recv_arena below); the send queue is per handle.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#define SFU_LOG_MODULE "udp_handle"
#include "common/clock.h"
#include "common/fd.h"
#include "common/handle/udp_handle.h"
#include "common/log.h"
#include "common/mem.h"

/* Most datagrams handed to one sendmmsg() call. */
#define UDP_HANDLE_SEND_BATCH 64
/* Socket buffers asked for; the kernel may cap them (net.core.*mem_max). */
#define UDP_HANDLE_SOCKBUF_LEN (4 * 1024 * 1024)
/* At most one warning per handle per interval; the rest are counted. */
#define UDP_HANDLE_WARN_INTERVAL_MS 1000

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
	const struct sfu_udp_handle_listener *listener; /* borrowed */
	void *ctx; /* borrowed: the owner */
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
	bool busy; /* lent to a listener */
};

static pthread_once_t udp_recv_arena_once = PTHREAD_ONCE_INIT;
static pthread_key_t udp_recv_arena_key;

static void
udp_recv_arena_destroy(void *p)
{
	free(p);
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

/* "1.2.3.4:5", "[::1]:5" or "family N" into buf. */
static const char *
udp_handle_addr_str(const struct sockaddr *sa, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "";
	const struct sockaddr_in *sin = NULL;
	const struct sockaddr_in6 *sin6 = NULL;

	if (sa == NULL) {
		snprintf(buf, size, "?");
	} else if (sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, size, "family %d", (int)sa->sa_family);
	}
	return buf;
}

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
	    udp_handle_addr_str(
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
	    udp_handle_addr_str(to, peer, sizeof(peer)), strerror(e));
}

/* --- send queue --- */

static int
udp_handle_enqueue(struct sfu_udp_handle *h, const void *data, size_t len,
    const struct sockaddr *to, socklen_t tolen)
{
	struct udp_handle_pending *p = NULL;

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
	if (to != NULL && tolen > 0) {
		memcpy(&p->to, to, tolen);
	} else {
		tolen = 0;
	}
	p->tolen = tolen;
	p->len = len;
	if (len > 0) {
		memcpy(p->data, data, len);
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
		if (n == -1) {
			e = errno;
			if (e == EINTR) {
				continue;
			}
			if (e == EAGAIN || e == EWOULDBLOCK) {
				return;
			}
			p = STAILQ_FIRST(&h->queue);
			udp_handle_on_send_error(h, e,
			    p->tolen > 0 ? (const struct sockaddr *)&p->to
			                 : NULL);
			udp_handle_dequeue(h, false);
			continue;
		}
		for (i = 0; i < n; i++) {
			udp_handle_dequeue(h, true);
		}
	}
	event_del(h->wev);
	h->writing = false;
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
		a->msgs[i].msg_hdr.msg_control = NULL;
		a->msgs[i].msg_hdr.msg_controllen = 0;
	}
	do {
		n = recvmmsg(
		    fd, a->msgs, SFU_UDP_RECV_BATCH, MSG_DONTWAIT, NULL);
	} while (n == -1 && errno == EINTR);
	if (n == -1) {
		e = errno;
		if (e != EAGAIN && e != EWOULDBLOCK) {
			h->stats.recv_errors++;
			udp_handle_warn(h, "recvmmsg failed: %s", strerror(e));
		}
		return;
	}

	/*
	 * At most one batch per wakeup, even if more are waiting: the event is
	 * level-triggered, so the loop calls us again after serving others.
	 */
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
	a->busy = false;
}

/* --- public --- */

/* Parses a numeric address (getaddrinfo with AI_NUMERICHOST never blocks). */
static int
udp_handle_parse_ip(const char *ip, struct sockaddr_storage *ss,
    socklen_t *sslen, struct sfu_error *err)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	int r = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	r = getaddrinfo(ip, NULL, &hints, &res);
	if (r != 0 || res == NULL) {
		sfu_error_set(err, SFU_ERR_TYPE, "invalid IP address '%s'", ip);
		if (res != NULL) {
			freeaddrinfo(res);
		}
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static void
udp_handle_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET) {
		((struct sockaddr_in *)(void *)ss)->sin_port = htons(port);
	} else {
		((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons(port);
	}
}

static uint16_t
udp_handle_get_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		return ntohs(
		    ((const struct sockaddr_in *)(const void *)sa)->sin_port);
	}
	if (sa->sa_family == AF_INET6) {
		return ntohs(
		    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	}
	return 0;
}

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

static uint32_t
udp_handle_random(void)
{
	uint32_t r = 0;
	ssize_t n = 0;

	n = getrandom(&r, sizeof(r), GRND_NONBLOCK);
	if (n != (ssize_t)sizeof(r)) {
		r = (uint32_t)sfu_clock_mono_us() ^ (uint32_t)getpid();
	}
	return r;
}

int
sfu_udp_bind(const char *ip, uint16_t port, uint16_t min_port,
    uint16_t max_port, int *fd_out, uint16_t *port_out, struct sfu_error *err)
{
	struct sockaddr_storage ss;
	socklen_t sslen = 0;
	uint32_t count = 0;
	uint32_t offset = 0;
	uint32_t i = 0;
	uint16_t p = 0;
	int on = 1;
	int fd = -1;
	int r = 0;
	int e = 0;

	r = udp_handle_parse_ip(ip, &ss, &sslen, err);
	if (r == -1) {
		goto fail;
	}
	if (port == 0 &&
	    (min_port > max_port || (min_port == 0 && max_port != 0))) {
		sfu_error_set(err, SFU_ERR_TYPE, "invalid port range [%u, %u]",
		    min_port, max_port);
		goto fail;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "socket(%s) failed: %s", ip,
		    strerror(e));
		goto fail;
	}
	if (ss.ss_family == AF_INET6) {
		r = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		if (r == -1) {
			e = errno;
			sfu_error_set(err, SFU_ERR_ERROR,
			    "setsockopt(%s, IPV6_V6ONLY) failed: %s", ip,
			    strerror(e));
			goto fail;
		}
	}
	udp_handle_grow_buffers(fd);

	if (port != 0 || max_port == 0) {
		udp_handle_set_port(&ss, port);
		r = bind(fd, (struct sockaddr *)&ss, sslen);
		if (r == -1) {
			e = errno;
			if (e == EADDRINUSE) {
				sfu_error_set(err, SFU_ERR_ERROR,
				    "port %u in use on %s", port, ip);
			} else {
				sfu_error_set(err, SFU_ERR_ERROR,
				    "bind(%s port %u) failed: %s", ip, port,
				    strerror(e));
			}
			goto fail;
		}
	} else {
		/*
		 * A random start spreads concurrent transports over the range
		 * instead of all racing for min_port; each port is tried once.
		 */
		count = (uint32_t)max_port - min_port + 1;
		offset = udp_handle_random() % count;
		for (i = 0; i < count; i++) {
			p = (uint16_t)(min_port + (offset + i) % count);
			udp_handle_set_port(&ss, p);
			r = bind(fd, (struct sockaddr *)&ss, sslen);
			if (r == 0) {
				break;
			}
			e = errno;
			if (e != EADDRINUSE) {
				sfu_error_set(err, SFU_ERR_ERROR,
				    "bind(%s port %u) failed: %s", ip, p,
				    strerror(e));
				goto fail;
			}
		}
		if (i == count) {
			sfu_error_set(err, SFU_ERR_ERROR,
			    "no free udp port in [%u, %u] on %s", min_port,
			    max_port, ip);
			goto fail;
		}
	}
	sslen = sizeof(ss);
	r = getsockname(fd, (struct sockaddr *)&ss, &sslen);
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "getsockname(%s) failed: %s",
		    ip, strerror(e));
		goto fail;
	}
	if (port_out != NULL) {
		*port_out = udp_handle_get_port((struct sockaddr *)&ss);
	}
	*fd_out = fd;
	return 0;
fail:
	sfu_fd_close(&fd);
	return -1;
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

int
sfu_udp_handle_send(struct sfu_udp_handle *h, const void *data, size_t len,
    const struct sockaddr *to, socklen_t tolen)
{
	ssize_t n = 0;
	int e = 0;

	/* Datagrams leave in the order they were given. */
	if (!STAILQ_EMPTY(&h->queue)) {
		return udp_handle_enqueue(h, data, len, to, tolen);
	}
	do {
		n = sendto(h->fd, data, len, 0, to, tolen);
	} while (n == -1 && errno == EINTR);
	if (n >= 0) {
		h->stats.sent_packets++;
		h->stats.sent_bytes += len;
		return SFU_UDP_OK;
	}
	e = errno;
	if (e == EAGAIN || e == EWOULDBLOCK) {
		return udp_handle_enqueue(h, data, len, to, tolen);
	}
	udp_handle_on_send_error(h, e, to);
	return SFU_UDP_ERROR;
}

/* Queues msgs[0..n), folding the results as send_batch reports them. */
static int
udp_handle_enqueue_batch(
    struct sfu_udp_handle *h, const struct sfu_udp_msg *msgs, unsigned int n)
{
	unsigned int i = 0;
	int result = SFU_UDP_AGAIN;
	int r = 0;

	for (i = 0; i < n; i++) {
		r = udp_handle_enqueue(
		    h, msgs[i].data, msgs[i].len, msgs[i].to, msgs[i].tolen);
		if (r == SFU_UDP_ERROR) {
			result = SFU_UDP_ERROR;
		}
	}
	return result;
}

int
sfu_udp_handle_send_batch(
    struct sfu_udp_handle *h, const struct sfu_udp_msg *msgs, unsigned int n)
{
	struct mmsghdr mm[UDP_HANDLE_SEND_BATCH];
	struct iovec iov[UDP_HANDLE_SEND_BATCH];
	unsigned int done = 0;
	unsigned int count = 0;
	unsigned int i = 0;
	int result = SFU_UDP_OK;
	int r = 0;
	int e = 0;

	if (!STAILQ_EMPTY(&h->queue)) {
		return udp_handle_enqueue_batch(h, msgs, n);
	}
	while (done < n) {
		count = n - done;
		if (count > UDP_HANDLE_SEND_BATCH) {
			count = UDP_HANDLE_SEND_BATCH;
		}
		for (i = 0; i < count; i++) {
			iov[i].iov_base =
			    (void *)(uintptr_t)msgs[done + i].data;
			iov[i].iov_len = msgs[done + i].len;
			memset(&mm[i], 0, sizeof(mm[i]));
			mm[i].msg_hdr.msg_name =
			    (void *)(uintptr_t)msgs[done + i].to;
			mm[i].msg_hdr.msg_namelen = msgs[done + i].tolen;
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}

		/*
		 * sendmmsg() stops at the first failing datagram and returns
		 * how many went before it; the next call reports its error.
		 */
		r = sendmmsg(h->fd, mm, count, 0);
		if (r > 0) {
			for (i = 0; i < (unsigned int)r; i++) {
				h->stats.sent_packets++;
				h->stats.sent_bytes += msgs[done + i].len;
			}
			done += (unsigned int)r;
			continue;
		}
		e = errno;
		if (r == -1 && e == EINTR) {
			continue;
		}
		if (r == -1 && (e == EAGAIN || e == EWOULDBLOCK)) {
			r = udp_handle_enqueue_batch(h, msgs + done, n - done);
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
		udp_handle_on_send_error(h, e, msgs[done].to);
		result = SFU_UDP_ERROR;
		done++;
	}
	return result;
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
	return udp_handle_get_port((const struct sockaddr *)&h->local);
}

int
sfu_udp_handle_fd(const struct sfu_udp_handle *h)
{
	return h->fd;
}
