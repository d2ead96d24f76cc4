/*
 * SPDX-License-Identifier: MIT
 *
 * udp_handle on real sockets and a real event_base: binding in a range and
 * on a taken port, batched reads, truncation, freeing from the callback,
 * sendmmsg fan-out, IPv6, the bounded send queue, sends deferred to the end
 * of a receive batch, connect()ed sockets and stale input.
 *
 * Loopback UDP never returns EAGAIN (the kernel hands the datagram to the
 * receiver, or drops it, inside sendto), so the queue tests run the same
 * handle on AF_UNIX datagram sockets: a sender connect()ed to a receiver
 * that does not read gets a real EAGAIN once the receiver's queue is full
 * (net.unix.max_dgram_qlen) and a real EV_WRITE once it drains. The handle
 * does not look at the address family, so this is the code path UDP takes.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>

#include "common/error.h"
#include "common/handle/udp_handle.h"
#include "helpers.h"

#define RX_MAX 4096

/* What a receiving handle saw. */
struct rx {
	struct sfu_udp_handle *h; /* owned */
	unsigned int count;       /* datagrams */
	uint32_t seqs[RX_MAX];    /* first 4 bytes of each */
	uint32_t seconds[RX_MAX]; /* the next 4 bytes, when there */
	size_t lens[RX_MAX];
	struct sockaddr_storage from; /* of the last one */
	socklen_t fromlen;
	bool free_on_first;
	bool echo; /* send each datagram back */
};

struct until_count {
	struct rx *rx;
	unsigned int want;
};

static void
rx_on_datagram(void *ctx, struct sfu_udp_handle *h, uint8_t *data, size_t len,
    const struct sockaddr *from, socklen_t fromlen)
{
	struct rx *rx = ctx;
	uint32_t seq = 0;

	assert_ptr_equal(h, rx->h);
	assert_true(len <= SFU_UDP_RECV_MAX_LEN);
	assert_true(SFU_UDP_RECV_SLOT - len >= SFU_UDP_RECV_TAILROOM);

	/* The whole slot is ours to write (in-place SRTP, rewrites). */
	memset(data + len, 0xa5, SFU_UDP_RECV_SLOT - len);
	if (len >= sizeof(seq)) {
		memcpy(&seq, data, sizeof(seq));
	}
	if (rx->count < RX_MAX) {
		rx->seqs[rx->count] = seq;
		rx->lens[rx->count] = len;
		if (len >= 2 * sizeof(seq)) {
			memcpy(&rx->seconds[rx->count], data + sizeof(seq),
			    sizeof(seq));
		}
	}
	rx->count++;
	assert_true((size_t)fromlen <= sizeof(rx->from));
	memcpy(&rx->from, from, fromlen);
	rx->fromlen = fromlen;
	if (rx->echo) {
		assert_int_equal(
		    sfu_udp_handle_send(h, data, len, from, fromlen),
		    SFU_UDP_OK);
	}
	if (rx->free_on_first) {
		sfu_udp_handle_free(h);
		rx->h = NULL;
	}
}

static const struct sfu_udp_handle_listener rx_listener = {
    .on_datagram = rx_on_datagram,
};

static bool
until_count(void *arg)
{
	struct until_count *u = arg;

	return u->rx->count >= u->want;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* One EVLOOP_ONCE pass that returns within 10 ms even if nothing fires. */
static void
loop_once(struct event_base *base)
{
	struct timeval tv = {0, 10 * 1000};
	struct event *tick = NULL;

	tick = evtimer_new(base, on_tick, NULL);
	assert_non_null(tick);
	evtimer_add(tick, &tv);
	event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
}

static bool
wait_count(struct event_base *base, struct rx *rx, unsigned int want)
{
	struct until_count u = {rx, want};

	return run_loop_until(base, until_count, &u, 5000);
}

/* Binds ip in [min, max] and wraps the fd in a handle reporting to rx. */
static void
rx_open(struct event_base *base, struct rx *rx, const char *ip)
{
	struct sfu_error err = {0};
	int fd = -1;

	memset(rx, 0, sizeof(*rx));
	assert_int_equal(sfu_udp_bind(ip, 0, 0, 0, &fd, NULL, &err), 0);
	rx->h = sfu_udp_handle_new(base, fd, &rx_listener, rx, &err);
	assert_non_null(rx->h);
}

static void
rx_close(struct rx *rx)
{
	sfu_udp_handle_free(rx->h);
	rx->h = NULL;
}

static int
plain_socket(int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	return fd;
}

/* --- binding --- */

/*
 * Port 0 with a range hands out distinct ports of that range until none is
 * left, then says which range was full.
 */
static void
test_udp_handle_binds_in_range(void **state)
{
	struct sfu_error err = {0};
	int fds[10];
	int nfds = 0;
	int first = -1;
	int fd = -1;
	uint16_t base_port = 0;
	uint16_t port = 0;
	char want[128];
	int i = 0;
	int j = 0;
	int r = 0;

	(void)state;

	/* A kernel-chosen port starts the range: it is taken by us. */
	assert_int_equal(
	    sfu_udp_bind("127.0.0.1", 0, 0, 0, &first, &base_port, &err), 0);
	assert_true(base_port > 0);
	if (base_port > 65535 - 7) {
		base_port = 65535 - 7;
	}
	for (i = 0; i < 10; i++) {
		r = sfu_udp_bind("127.0.0.1", 0, base_port,
		    (uint16_t)(base_port + 7), &fd, &port, &err);
		if (r == -1) {
			break;
		}
		assert_true(port >= base_port && port <= base_port + 7);
		for (j = 0; j < nfds; j++) {
			struct sockaddr_in sin;
			socklen_t len = sizeof(sin);

			assert_int_equal(
			    getsockname(fds[j], (struct sockaddr *)&sin, &len),
			    0);
			assert_int_not_equal(ntohs(sin.sin_port), port);
		}
		fds[nfds++] = fd;
	}

	/* At most 7 were free (we hold the first), and then none. */
	assert_int_equal(r, -1);
	assert_true(nfds <= 7);
	snprintf(want, sizeof(want),
	    "no free udp port in [%u, %u] on 127.0.0.1", base_port,
	    base_port + 7);
	assert_string_equal(err.reason, want);
	for (j = 0; j < nfds; j++) {
		close(fds[j]);
	}
	close(first);
}

/* An explicit port that is taken gives a clear error. */
static void
test_udp_handle_port_in_use(void **state)
{
	struct sfu_error err = {0};
	int first = -1;
	int fd = -1;
	uint16_t port = 0;
	uint16_t got = 0;
	char want[128];

	(void)state;
	assert_int_equal(
	    sfu_udp_bind("127.0.0.1", 0, 0, 0, &first, &port, &err), 0);
	fd = -1;
	assert_int_equal(
	    sfu_udp_bind("127.0.0.1", port, 0, 0, &fd, &got, &err), -1);
	assert_int_equal(fd, -1);
	snprintf(want, sizeof(want), "port %u in use on 127.0.0.1", port);
	assert_string_equal(err.reason, want);
	close(first);

	/* Free again: the exact port binds. */
	assert_int_equal(
	    sfu_udp_bind("127.0.0.1", port, 0, 0, &fd, &got, &err), 0);
	assert_int_equal(got, port);
	close(fd);
}

/* Names that are not numeric addresses and inverted ranges are refused. */
static void
test_udp_handle_bind_rejects_bad_arguments(void **state)
{
	struct sfu_error err = {0};
	int fd = -1;

	(void)state;
	assert_int_equal(
	    sfu_udp_bind("localhost", 0, 0, 0, &fd, NULL, &err), -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_non_null(strstr(err.reason, "localhost"));
	assert_int_equal(
	    sfu_udp_bind("127.0.0.1", 0, 5000, 4000, &fd, NULL, &err), -1);
	assert_string_equal(err.reason, "invalid port range [5000, 4000]");
	/* Not a local address. */
	assert_int_equal(
	    sfu_udp_bind("192.0.2.1", 0, 0, 0, &fd, NULL, &err), -1);
	assert_non_null(strstr(err.reason, "bind(192.0.2.1"));
	assert_int_equal(fd, -1);
}

/* --- receiving --- */

/*
 * 200 datagrams waiting are all delivered, in order, with at most
 * SFU_UDP_RECV_BATCH per wakeup, and a full batch when that many wait.
 */
static void
test_udp_handle_reads_in_bounded_batches(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_udp_handle_stats st;
	struct rx rx;
	const struct sockaddr *to = NULL;
	socklen_t tolen = 0;
	unsigned int before = 0;
	unsigned int max_batch = 0;
	unsigned int wakeups = 0;
	uint8_t buf[100];
	uint32_t seq = 0;
	int s = -1;

	rx_open(io->base, &rx, "127.0.0.1");
	to = sfu_udp_handle_local_addr(rx.h, &tolen);
	assert_int_equal(to->sa_family, AF_INET);
	s = plain_socket(AF_INET);
	memset(buf, 0, sizeof(buf));
	for (seq = 0; seq < 200; seq++) {
		memcpy(buf, &seq, sizeof(seq));
		assert_int_equal(
		    sendto(s, buf, sizeof(buf), 0, to, tolen), sizeof(buf));
	}

	/* One EVLOOP_ONCE pass = at most one wakeup of the read event. */
	while (rx.count < 200 && wakeups < 500) {
		before = rx.count;
		loop_once(io->base);
		assert_true(rx.count - before <= SFU_UDP_RECV_BATCH);
		if (rx.count - before > max_batch) {
			max_batch = rx.count - before;
		}
		wakeups++;
	}
	assert_int_equal(rx.count, 200);
	assert_int_equal(max_batch, SFU_UDP_RECV_BATCH);
	assert_true(
	    wakeups >= (200 + SFU_UDP_RECV_BATCH - 1) / SFU_UDP_RECV_BATCH);
	for (seq = 0; seq < 200; seq++) {
		assert_int_equal(rx.seqs[seq], seq);
		assert_int_equal(rx.lens[seq], sizeof(buf));
	}
	sfu_udp_handle_get_stats(rx.h, &st);
	assert_int_equal(st.recv_packets, 200);
	assert_int_equal(st.recv_bytes, 200 * sizeof(buf));
	assert_int_equal(st.truncated, 0);
	close(s);
	rx_close(&rx);
}

/* A datagram longer than SFU_UDP_RECV_MAX_LEN is dropped and counted. */
static void
test_udp_handle_drops_truncated(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_udp_handle_stats st;
	struct rx rx;
	const struct sockaddr *to = NULL;
	socklen_t tolen = 0;
	static uint8_t big[SFU_UDP_RECV_MAX_LEN + 1];
	uint32_t seq = 7;
	int s = -1;

	rx_open(io->base, &rx, "127.0.0.1");
	to = sfu_udp_handle_local_addr(rx.h, &tolen);
	s = plain_socket(AF_INET);
	assert_int_equal(
	    sendto(s, big, sizeof(big), 0, to, tolen), (ssize_t)sizeof(big));
	/* Exactly the maximum passes. */
	memcpy(big, &seq, sizeof(seq));
	assert_int_equal(sendto(s, big, SFU_UDP_RECV_MAX_LEN, 0, to, tolen),
	    SFU_UDP_RECV_MAX_LEN);
	assert_true(wait_count(io->base, &rx, 1));
	assert_int_equal(rx.count, 1);
	assert_int_equal(rx.seqs[0], 7);
	assert_int_equal(rx.lens[0], SFU_UDP_RECV_MAX_LEN);
	sfu_udp_handle_get_stats(rx.h, &st);
	assert_int_equal(st.truncated, 1);
	assert_int_equal(st.recv_packets, 1);
	close(s);
	rx_close(&rx);
}

/* The listener may free the handle mid-batch; nothing else is delivered. */
static void
test_udp_handle_callback_may_free(void **state)
{
	struct helpers_io *io = *state;
	struct rx rx;
	const struct sockaddr *to = NULL;
	struct sockaddr_storage ss;
	socklen_t tolen = 0;
	uint8_t buf[16] = {0};
	int s = -1;
	int i = 0;

	rx_open(io->base, &rx, "127.0.0.1");
	rx.free_on_first = true;
	to = sfu_udp_handle_local_addr(rx.h, &tolen);
	memcpy(&ss, to, tolen);
	s = plain_socket(AF_INET);
	for (i = 0; i < 10; i++) {
		assert_int_equal(sendto(s, buf, sizeof(buf), 0,
		                     (struct sockaddr *)&ss, tolen),
		    sizeof(buf));
	}
	assert_true(wait_count(io->base, &rx, 1));
	assert_null(rx.h);
	/* Run a little more: the freed handle's events are gone. */
	event_base_loop(io->base, EVLOOP_NONBLOCK);
	assert_int_equal(rx.count, 1);
	close(s);
}

/* --- sending --- */

/* One send_batch reaches three receivers, and more than one sendmmsg. */
static void
test_udp_handle_send_batch_fans_out(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_udp_handle_stats st;
	struct rx rx[3];
	struct rx tx;
	struct sfu_udp_msg msgs[150];
	uint32_t payload[150];
	socklen_t tolen = 0;
	unsigned int i = 0;
	unsigned int k = 0;

	for (i = 0; i < 3; i++) {
		rx_open(io->base, &rx[i], "127.0.0.1");
	}
	rx_open(io->base, &tx, "127.0.0.1");
	for (i = 0; i < 3; i++) {
		payload[i] = 1000 + i;
		msgs[i].data = &payload[i];
		msgs[i].len = sizeof(payload[i]);
		msgs[i].to = sfu_udp_handle_local_addr(rx[i].h, &tolen);
		msgs[i].tolen = tolen;
	}
	assert_int_equal(sfu_udp_handle_send_batch(tx.h, msgs, 3), SFU_UDP_OK);
	for (i = 0; i < 3; i++) {
		assert_true(wait_count(io->base, &rx[i], 1));
		assert_int_equal(rx[i].seqs[0], 1000 + i);
		/* From the sender's address. */
		assert_int_equal(rx[i].fromlen, sizeof(struct sockaddr_in));
		assert_int_equal(
		    ntohs(((struct sockaddr_in *)&rx[i].from)->sin_port),
		    sfu_udp_handle_local_port(tx.h));
	}

	/* 150 datagrams, round robin: three sendmmsg calls of <= 64. */
	for (i = 0; i < 150; i++) {
		payload[i] = i;
		msgs[i].data = &payload[i];
		msgs[i].len = sizeof(payload[i]);
		msgs[i].to = sfu_udp_handle_local_addr(rx[i % 3].h, &tolen);
		msgs[i].tolen = tolen;
	}
	assert_int_equal(
	    sfu_udp_handle_send_batch(tx.h, msgs, 150), SFU_UDP_OK);
	for (i = 0; i < 3; i++) {
		assert_true(wait_count(io->base, &rx[i], 51));
		for (k = 0; k < 50; k++) {
			assert_int_equal(rx[i].seqs[1 + k], k * 3 + i);
		}
	}
	sfu_udp_handle_get_stats(tx.h, &st);
	assert_int_equal(st.sent_packets, 153);
	assert_int_equal(st.sent_bytes, 153 * sizeof(uint32_t));
	assert_int_equal(st.queued_packets, 0);
	assert_int_equal(sfu_udp_handle_send_batch(tx.h, msgs, 0), SFU_UDP_OK);
	for (i = 0; i < 3; i++) {
		rx_close(&rx[i]);
	}
	rx_close(&tx);
}

/* Kernel errors other than EAGAIN are counted, nothing is queued. */
static void
test_udp_handle_counts_send_errors(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_udp_handle_stats st;
	struct sockaddr_in6 sin6;
	struct rx tx;
	struct sfu_udp_msg msgs[2];
	uint8_t buf[8] = {0};

	rx_open(io->base, &tx, "127.0.0.1");

	/* An IPv6 destination on an IPv4 socket. */
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(9);
	sin6.sin6_addr = in6addr_loopback;
	assert_int_equal(sfu_udp_handle_send(tx.h, buf, sizeof(buf),
	                     (struct sockaddr *)&sin6, sizeof(sin6)),
	    SFU_UDP_ERROR);

	/* In a batch, the bad one is skipped and the good one still sent. */
	msgs[0].data = buf;
	msgs[0].len = sizeof(buf);
	msgs[0].to = (struct sockaddr *)&sin6;
	msgs[0].tolen = sizeof(sin6);
	msgs[1].data = buf;
	msgs[1].len = sizeof(buf);
	msgs[1].to = sfu_udp_handle_local_addr(tx.h, &msgs[1].tolen);
	assert_int_equal(
	    sfu_udp_handle_send_batch(tx.h, msgs, 2), SFU_UDP_ERROR);
	assert_true(wait_count(io->base, &tx, 1));

	sfu_udp_handle_get_stats(tx.h, &st);
	assert_int_equal(st.send_errors, 2);
	assert_int_equal(st.sent_packets, 1);
	assert_int_equal(st.queued_packets, 0);
	assert_int_equal(st.dropped_packets, 0);
	rx_close(&tx);
}

/* IPv6 on ::1: bind, receive, echo back. */
static void
test_udp_handle_ipv6_loopback(void **state)
{
	struct helpers_io *io = *state;
	struct rx a;
	struct rx b;
	const struct sockaddr *to = NULL;
	const struct sockaddr_in6 *from = NULL;
	socklen_t tolen = 0;
	uint32_t seq = 42;
	struct sfu_error err = {0};
	int fd = -1;
	uint16_t port = 0;
	int v6only = 0;
	socklen_t optlen = sizeof(v6only);

	rx_open(io->base, &a, "::1");
	rx_open(io->base, &b, "::1");
	b.echo = true;
	to = sfu_udp_handle_local_addr(b.h, &tolen);
	assert_int_equal(to->sa_family, AF_INET6);
	assert_int_equal(tolen, sizeof(struct sockaddr_in6));
	assert_true(sfu_udp_handle_local_port(b.h) > 0);
	assert_int_equal(getsockopt(sfu_udp_handle_fd(b.h), IPPROTO_IPV6,
	                     IPV6_V6ONLY, &v6only, &optlen),
	    0);
	assert_int_equal(v6only, 1);

	assert_int_equal(
	    sfu_udp_handle_send(a.h, &seq, sizeof(seq), to, tolen), SFU_UDP_OK);
	assert_true(wait_count(io->base, &b, 1));
	assert_true(wait_count(io->base, &a, 1));
	assert_int_equal(b.seqs[0], 42);
	assert_int_equal(a.seqs[0], 42);
	from = (const struct sockaddr_in6 *)&b.from;
	assert_int_equal(from->sin6_family, AF_INET6);
	assert_true(IN6_IS_ADDR_LOOPBACK(&from->sin6_addr));
	assert_int_equal(
	    ntohs(from->sin6_port), sfu_udp_handle_local_port(a.h));

	/* The exact port, taken, on ::1. */
	assert_int_equal(sfu_udp_bind("::1", sfu_udp_handle_local_port(a.h), 0,
	                     0, &fd, &port, &err),
	    -1);
	assert_non_null(strstr(err.reason, "in use on ::1"));
	rx_close(&a);
	rx_close(&b);
}

/* --- send queue (AF_UNIX datagram sockets, see the file comment) --- */

struct unix_pair {
	int rfd; /* receiver, bound, not read yet */
	int sfd; /* sender, bound, connect()ed to rfd */
	struct sockaddr_un raddr;
	socklen_t rlen;
};

static socklen_t
unix_addr(struct sockaddr_un *sun, const char *tag)
{
	static unsigned int n;
	int len = 0;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	/* Abstract namespace: sun_path[0] = '\0', nothing on disk. */
	len = snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1,
	    "sfud-test-udp-%ld-%u-%s", (long)getpid(), n++, tag);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	                   (size_t)len);
}

static void
unix_pair_open(struct unix_pair *p)
{
	struct sockaddr_un saddr;
	socklen_t slen = 0;

	p->rfd = plain_socket(AF_UNIX);
	p->sfd = plain_socket(AF_UNIX);
	p->rlen = unix_addr(&p->raddr, "r");
	slen = unix_addr(&saddr, "s");
	assert_int_equal(
	    bind(p->rfd, (struct sockaddr *)&p->raddr, p->rlen), 0);
	assert_int_equal(bind(p->sfd, (struct sockaddr *)&saddr, slen), 0);

	/*
	 * Connected, so that poll() reports the sender unwritable while the
	 * receiver's queue is full and wakes it when the queue drains.
	 */
	assert_int_equal(
	    connect(p->sfd, (struct sockaddr *)&p->raddr, p->rlen), 0);
}

/* Sends seq as a 100-byte datagram through h to the pair's receiver. */
static int
send_seq(struct sfu_udp_handle *h, struct unix_pair *p, uint32_t seq)
{
	uint8_t buf[100];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, &seq, sizeof(seq));
	return sfu_udp_handle_send(
	    h, buf, sizeof(buf), (struct sockaddr *)&p->raddr, p->rlen);
}

/*
 * On EAGAIN datagrams are queued, later ones queue behind them, and all
 * leave in order once the receiver reads: nothing lost, nothing reordered.
 */
static void
test_udp_handle_queues_on_eagain(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_udp_handle_stats st;
	struct sfu_error err = {0};
	struct sfu_udp_handle *tx = NULL;
	struct unix_pair p;
	struct rx rx;
	struct sfu_udp_msg msgs[40];
	uint32_t payload[40];
	unsigned int sent_now = 0;
	uint32_t seq = 0;
	int r = 0;
	int i = 0;

	unix_pair_open(&p);
	tx = sfu_udp_handle_new(io->base, p.sfd, &rx_listener, NULL, &err);
	assert_non_null(tx);
	for (seq = 0; seq < 300; seq++) {
		r = send_seq(tx, &p, seq);
		if (r == SFU_UDP_OK) {
			/* Nothing goes out directly once something waits. */
			assert_int_equal(sent_now, seq);
			sent_now++;
		} else {
			assert_int_equal(r, SFU_UDP_AGAIN);
		}
	}
	assert_true(sent_now > 0 && sent_now < 300);
	sfu_udp_handle_get_stats(tx, &st);
	assert_int_equal(st.sent_packets, sent_now);
	assert_int_equal(st.queued_packets, 300 - sent_now);
	assert_int_equal(st.queued_len, (300 - sent_now) * 100);
	assert_int_equal(st.dropped_packets, 0);

	/* A batch while the queue is not empty goes behind it. */
	for (i = 0; i < 40; i++) {
		payload[i] = 300 + (uint32_t)i;
		msgs[i].data = &payload[i];
		msgs[i].len = sizeof(payload[i]);
		msgs[i].to = (struct sockaddr *)&p.raddr;
		msgs[i].tolen = p.rlen;
	}
	assert_int_equal(
	    sfu_udp_handle_send_batch(tx, msgs, 40), SFU_UDP_AGAIN);

	/* Now read: the sender's write event flushes as room appears. */
	memset(&rx, 0, sizeof(rx));
	rx.h = sfu_udp_handle_new(io->base, p.rfd, &rx_listener, &rx, &err);
	assert_non_null(rx.h);
	assert_true(wait_count(io->base, &rx, 340));
	for (seq = 0; seq < 340; seq++) {
		assert_int_equal(rx.seqs[seq], seq);
	}
	sfu_udp_handle_get_stats(tx, &st);
	assert_int_equal(st.sent_packets, 340);
	assert_int_equal(st.sent_bytes, 300 * 100 + 40 * sizeof(uint32_t));
	assert_int_equal(st.queued_packets, 0);
	assert_int_equal(st.queued_len, 0);
	assert_int_equal(st.dropped_packets, 0);

	/* Empty queue again: the next send goes out at once. */
	assert_int_equal(send_seq(tx, &p, 340), SFU_UDP_OK);
	assert_true(wait_count(io->base, &rx, 341));
	sfu_udp_handle_free(tx);
	rx_close(&rx);
}

/*
 * send_batch hitting EAGAIN mid-way sends what it can with sendmmsg and
 * queues the remainder in order.
 */
static void
test_udp_handle_send_batch_queues_remainder(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_udp_handle_stats st;
	struct sfu_error err = {0};
	struct sfu_udp_handle *tx = NULL;
	struct unix_pair p;
	struct rx rx;
	struct sfu_udp_msg msgs[100];
	uint32_t payload[100];
	int i = 0;

	unix_pair_open(&p);
	tx = sfu_udp_handle_new(io->base, p.sfd, &rx_listener, NULL, &err);
	assert_non_null(tx);
	for (i = 0; i < 100; i++) {
		payload[i] = (uint32_t)i;
		msgs[i].data = &payload[i];
		msgs[i].len = sizeof(payload[i]);
		/* Odd ones to the connect()ed peer, without an address. */
		msgs[i].to = i % 2 ? NULL : (struct sockaddr *)&p.raddr;
		msgs[i].tolen = i % 2 ? 0 : p.rlen;
	}
	assert_int_equal(
	    sfu_udp_handle_send_batch(tx, msgs, 100), SFU_UDP_AGAIN);
	sfu_udp_handle_get_stats(tx, &st);
	assert_true(st.sent_packets > 0 && st.sent_packets < 100);
	assert_int_equal(st.sent_packets + st.queued_packets, 100);

	memset(&rx, 0, sizeof(rx));
	rx.h = sfu_udp_handle_new(io->base, p.rfd, &rx_listener, &rx, &err);
	assert_non_null(rx.h);
	assert_true(wait_count(io->base, &rx, 100));
	for (i = 0; i < 100; i++) {
		assert_int_equal(rx.seqs[i], (uint32_t)i);
	}
	sfu_udp_handle_get_stats(tx, &st);
	assert_int_equal(st.sent_packets, 100);
	assert_int_equal(st.queued_packets, 0);
	sfu_udp_handle_free(tx);
	rx_close(&rx);
}

/*
 * Past the count or byte bound datagrams are dropped and counted; what was
 * queued still arrives; freeing with a full queue leaks nothing.
 */
static void
test_udp_handle_queue_bound_drops(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_udp_handle_stats st;
	struct sfu_error err = {0};
	struct sfu_udp_handle *tx = NULL;
	struct unix_pair p;
	struct rx rx;
	unsigned int sent_now = 0;
	unsigned int queued = 0;
	unsigned int dropped = 0;
	uint32_t seq = 0;
	int r = 0;

	/* Count bound: 5 packets. */
	unix_pair_open(&p);
	tx = sfu_udp_handle_new(io->base, p.sfd, &rx_listener, NULL, &err);
	assert_non_null(tx);
	sfu_udp_handle_set_send_queue_limits(tx, 1024 * 1024, 5);
	for (seq = 0; seq < 100; seq++) {
		r = send_seq(tx, &p, seq);
		if (r == SFU_UDP_OK) {
			sent_now++;
		} else if (r == SFU_UDP_AGAIN) {
			queued++;
		} else {
			assert_int_equal(r, SFU_UDP_ERROR);
			dropped++;
		}
	}
	assert_int_equal(queued, 5);
	assert_int_equal(sent_now + queued + dropped, 100);
	sfu_udp_handle_get_stats(tx, &st);
	assert_int_equal(st.dropped_packets, dropped);
	assert_int_equal(st.queued_packets, 5);

	/* Byte bound: 250 bytes hold two more 100-byte datagrams only. */
	sfu_udp_handle_set_send_queue_limits(tx, 250 + 500, 1000);
	assert_int_equal(send_seq(tx, &p, 1000), SFU_UDP_AGAIN);
	assert_int_equal(send_seq(tx, &p, 1001), SFU_UDP_AGAIN);
	assert_int_equal(send_seq(tx, &p, 1002), SFU_UDP_ERROR);
	sfu_udp_handle_get_stats(tx, &st);
	assert_int_equal(st.queued_packets, 7);
	assert_int_equal(st.queued_len, 700);
	assert_int_equal(st.dropped_packets, dropped + 1);

	/* The receiver gets the direct ones, then the 7 queued, in order. */
	memset(&rx, 0, sizeof(rx));
	rx.h = sfu_udp_handle_new(io->base, p.rfd, &rx_listener, &rx, &err);
	assert_non_null(rx.h);
	assert_true(wait_count(io->base, &rx, sent_now + 7));
	for (seq = 0; seq < sent_now + 5; seq++) {
		assert_int_equal(rx.seqs[seq], seq);
	}
	assert_int_equal(rx.seqs[sent_now + 5], 1000);
	assert_int_equal(rx.seqs[sent_now + 6], 1001);
	sfu_udp_handle_free(tx);
	rx_close(&rx);

	/* Freed while packets wait: the queue goes with it (ASan: no leak). */
	unix_pair_open(&p);
	tx = sfu_udp_handle_new(io->base, p.sfd, &rx_listener, NULL, &err);
	assert_non_null(tx);
	for (seq = 0; seq < 50; seq++) {
		(void)send_seq(tx, &p, seq);
	}
	sfu_udp_handle_get_stats(tx, &st);
	assert_true(st.queued_packets > 0);
	sfu_udp_handle_free(tx);
	sfu_udp_handle_free(NULL);
	close(p.rfd);
}

/* --- deferred sends --- */

#define FAN_OUTS 3

enum fan_mode {
	FAN_DEFER,        /* hold one datagram per output */
	FAN_INTERLEAVE,   /* hold, send directly, hold, on out[0] */
	FAN_FOREIGN_BODY, /* hold with a body outside the receive slot */
	FAN_FILL,         /* hold SFU_UDP_DEFER_MAX + 1 on out[0] */
	FAN_FREE,         /* hold on out[0], then free it */
};

/*
 * An input handle whose listener sends what it reads on through outputs
 * with sfu_udp_handle_send_deferred(), each output to its own receiver,
 * and notes what the outputs had sent while the batch was handed up.
 */
struct fan {
	struct rx in;                         /* in.h owned */
	struct sfu_udp_handle *out[FAN_OUTS]; /* owned, NULL once freed */
	struct rx rx[FAN_OUTS];               /* the receivers */
	enum fan_mode mode;
	unsigned int count;      /* datagrams handed up */
	uint64_t sent_in_batch;  /* out[0] sent_packets, last callback */
	uint64_t calls_in_batch; /* out[0] send_calls, last callback */
	int bad_results;         /* send results not as expected */
	uint8_t foreign[64];     /* a body outside the receive slots */
};

static void
fan_send(struct fan *f, unsigned int k, uint32_t tag, const void *body,
    size_t body_len, int want)
{
	const struct sockaddr *to = NULL;
	socklen_t tolen = 0;

	to = sfu_udp_handle_local_addr(f->rx[k].h, &tolen);
	if (sfu_udp_handle_send_deferred(f->out[k], &tag, sizeof(tag), body,
	        body_len, to, tolen) != want) {
		f->bad_results++;
	}
}

static void
fan_on_datagram(void *ctx, struct sfu_udp_handle *h, uint8_t *data, size_t len,
    const struct sockaddr *from, socklen_t fromlen)
{
	struct fan *f = ctx;
	struct sfu_udp_handle_stats st;
	const struct sockaddr *to = NULL;
	socklen_t tolen = 0;
	uint32_t tag = 0;
	unsigned int i = 0;
	unsigned int k = 0;

	(void)h;
	(void)from;
	(void)fromlen;
	switch (f->mode) {
	case FAN_DEFER:
		for (k = 0; k < FAN_OUTS; k++) {
			fan_send(
			    f, k, k << 16 | f->count, data, len, SFU_UDP_AGAIN);
		}
		break;
	case FAN_INTERLEAVE:
		fan_send(f, 0, 3 * f->count, NULL, 0, SFU_UDP_AGAIN);
		tag = 3 * f->count + 1;
		to = sfu_udp_handle_local_addr(f->rx[0].h, &tolen);
		if (sfu_udp_handle_send(f->out[0], &tag, sizeof(tag), to,
		        tolen) != SFU_UDP_OK) {
			f->bad_results++;
		}
		fan_send(f, 0, 3 * f->count + 2, NULL, 0, SFU_UDP_AGAIN);
		break;
	case FAN_FOREIGN_BODY:
		/* Overwritten by the next datagram of the same batch. */
		memcpy(f->foreign, data, len < 64 ? len : 64);
		fan_send(f, 0, f->count, f->foreign, len < 64 ? len : 64,
		    SFU_UDP_AGAIN);
		break;
	case FAN_FILL:
		for (i = 0; i <= SFU_UDP_DEFER_MAX; i++) {
			fan_send(f, 0, i, NULL, 0, SFU_UDP_AGAIN);
		}
		break;
	case FAN_FREE:
		if (f->out[0] != NULL) {
			fan_send(f, 0, f->count, data, len, SFU_UDP_AGAIN);
			sfu_udp_handle_free(f->out[0]);
			f->out[0] = NULL;
		}
		break;
	}
	if (f->out[0] != NULL) {
		sfu_udp_handle_get_stats(f->out[0], &st);
		f->sent_in_batch = st.sent_packets;
		f->calls_in_batch = st.send_calls;
	}
	f->count++;
}

static const struct sfu_udp_handle_listener fan_listener = {
    .on_datagram = fan_on_datagram,
};

static void
fan_open(struct event_base *base, struct fan *f, enum fan_mode mode)
{
	struct sfu_error err = {0};
	int fd = -1;
	unsigned int k = 0;

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	assert_int_equal(
	    sfu_udp_bind("127.0.0.1", 0, 0, 0, &fd, NULL, &err), 0);
	f->in.h = sfu_udp_handle_new(base, fd, &fan_listener, f, &err);
	assert_non_null(f->in.h);
	for (k = 0; k < FAN_OUTS; k++) {
		rx_open(base, &f->rx[k], "127.0.0.1");
		assert_int_equal(
		    sfu_udp_bind("127.0.0.1", 0, 0, 0, &fd, NULL, &err), 0);
		f->out[k] =
		    sfu_udp_handle_new(base, fd, &rx_listener, NULL, &err);
		assert_non_null(f->out[k]);
	}
}

static void
fan_close(struct fan *f)
{
	unsigned int k = 0;

	for (k = 0; k < FAN_OUTS; k++) {
		sfu_udp_handle_free(f->out[k]);
		rx_close(&f->rx[k]);
	}
	rx_close(&f->in);
}

/*
 * Queues n datagrams {seq, 1000 + seq} on the input socket before the loop
 * runs, so that one recvmmsg batch reads them all.
 */
static void
fan_feed(struct fan *f, unsigned int n)
{
	const struct sockaddr *to = NULL;
	socklen_t tolen = 0;
	uint32_t d[2];
	unsigned int i = 0;
	int s = -1;

	to = sfu_udp_handle_local_addr(f->in.h, &tolen);
	s = plain_socket(AF_INET);
	for (i = 0; i < n; i++) {
		d[0] = i;
		d[1] = 1000 + i;
		assert_int_equal(
		    sendto(s, d, sizeof(d), 0, to, tolen), (ssize_t)sizeof(d));
	}
	close(s);
}

/*
 * Sends made while a batch is handed up are held and leave when it ends:
 * one sendmmsg per output for the whole batch, the body borrowed from the
 * receive slot, in order; outside a batch they leave at once.
 */
static void
test_udp_handle_defers_sends_to_batch_end(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_udp_handle_stats st;
	struct fan f;
	const struct sockaddr *to = NULL;
	socklen_t tolen = 0;
	uint32_t tag = 0;
	uint32_t body = 77;
	unsigned int i = 0;
	unsigned int k = 0;

	fan_open(io->base, &f, FAN_DEFER);
	fan_feed(&f, 10);
	for (k = 0; k < FAN_OUTS; k++) {
		assert_true(wait_count(io->base, &f.rx[k], 10));
	}
	assert_int_equal(f.count, 10);
	assert_int_equal(f.bad_results, 0);

	/* Nothing left while the batch was handed up. */
	assert_int_equal(f.sent_in_batch, 0);
	assert_int_equal(f.calls_in_batch, 0);
	for (k = 0; k < FAN_OUTS; k++) {
		for (i = 0; i < 10; i++) {
			assert_int_equal(f.rx[k].seqs[i], k << 16 | i);
			assert_int_equal(f.rx[k].seconds[i], i);
			assert_int_equal(f.rx[k].lens[i], 12);
		}
		sfu_udp_handle_get_stats(f.out[k], &st);
		assert_int_equal(st.sent_packets, 10);
		assert_int_equal(st.sent_bytes, 120);
		assert_int_equal(st.deferred_packets, 10);
		assert_int_equal(st.send_calls, 1);
	}

	/* Outside a batch: sent at once, the two parts joined. */
	to = sfu_udp_handle_local_addr(f.rx[0].h, &tolen);
	tag = 4242;
	assert_int_equal(sfu_udp_handle_send_deferred(f.out[0], &tag,
	                     sizeof(tag), &body, sizeof(body), to, tolen),
	    SFU_UDP_OK);
	sfu_udp_handle_get_stats(f.out[0], &st);
	assert_int_equal(st.send_calls, 2);
	assert_int_equal(st.deferred_packets, 10);
	assert_true(wait_count(io->base, &f.rx[0], 11));
	assert_int_equal(f.rx[0].seqs[10], 4242);
	assert_int_equal(f.rx[0].seconds[10], 77);
	fan_close(&f);
}

/*
 * A direct send on a handle holding datagrams sends them first: a mix of
 * held and direct sends arrives in the order it was made.
 */
static void
test_udp_handle_deferred_keeps_order(void **state)
{
	struct helpers_io *io = *state;
	struct fan f;
	unsigned int i = 0;

	fan_open(io->base, &f, FAN_INTERLEAVE);
	fan_feed(&f, 5);
	assert_true(wait_count(io->base, &f.rx[0], 15));
	assert_int_equal(f.bad_results, 0);
	for (i = 0; i < 15; i++) {
		assert_int_equal(f.rx[0].seqs[i], i);
	}
	fan_close(&f);
}

/*
 * A body outside the receive slots is copied when held: the buffer it came
 * from may change before the batch ends.
 */
static void
test_udp_handle_deferred_copies_foreign_body(void **state)
{
	struct helpers_io *io = *state;
	struct fan f;
	unsigned int i = 0;

	fan_open(io->base, &f, FAN_FOREIGN_BODY);
	fan_feed(&f, 8);
	assert_true(wait_count(io->base, &f.rx[0], 8));
	for (i = 0; i < 8; i++) {
		assert_int_equal(f.rx[0].seqs[i], i);
		assert_int_equal(f.rx[0].seconds[i], i);
		assert_int_equal(f.rx[0].lens[i], 12);
	}
	fan_close(&f);
}

/* A handle holding SFU_UDP_DEFER_MAX datagrams sends them at once. */
static void
test_udp_handle_deferred_flushes_when_full(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_udp_handle_stats st;
	struct fan f;
	unsigned int i = 0;

	fan_open(io->base, &f, FAN_FILL);
	fan_feed(&f, 1);
	assert_true(wait_count(io->base, &f.rx[0], SFU_UDP_DEFER_MAX + 1));
	assert_int_equal(f.bad_results, 0);
	assert_int_equal(f.sent_in_batch, SFU_UDP_DEFER_MAX);
	assert_int_equal(f.calls_in_batch, 1);
	for (i = 0; i <= SFU_UDP_DEFER_MAX; i++) {
		assert_int_equal(f.rx[0].seqs[i], i);
	}
	sfu_udp_handle_get_stats(f.out[0], &st);
	assert_int_equal(st.send_calls, 2);
	assert_int_equal(st.sent_packets, SFU_UDP_DEFER_MAX + 1);
	fan_close(&f);
}

/* Freeing a handle that holds datagrams sends them, during the batch. */
static void
test_udp_handle_deferred_sent_on_free(void **state)
{
	struct helpers_io *io = *state;
	struct fan f;

	fan_open(io->base, &f, FAN_FREE);
	fan_feed(&f, 3);
	assert_true(wait_count(io->base, &f.rx[0], 1));
	assert_int_equal(f.count, 3);
	assert_null(f.out[0]);
	assert_int_equal(f.rx[0].seqs[0], 0);
	assert_int_equal(f.rx[0].seconds[0], 0);
	fan_close(&f);
}

/* --- connect, stale input --- */

/*
 * A connect()ed handle sends without an address and hears only its peer;
 * the ICMP error a closed peer port causes does not cost the next
 * datagram, nor show as a receive error; a wildcard socket is refused.
 */
static void
test_udp_handle_connect(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_udp_handle_stats st;
	struct sfu_error err = {0};
	struct rx peer;
	struct rx other;
	struct rx tx;
	struct rx any;
	const struct sockaddr *to = NULL;
	socklen_t tolen = 0;
	uint16_t port = 0;
	uint32_t seq = 0;
	int fd = -1;
	int i = 0;

	rx_open(io->base, &peer, "127.0.0.1");
	rx_open(io->base, &other, "127.0.0.1");
	rx_open(io->base, &tx, "127.0.0.1");
	to = sfu_udp_handle_local_addr(peer.h, &tolen);
	assert_int_equal(sfu_udp_handle_connect(tx.h, to, tolen, &err), 0);
	seq = 1;
	assert_int_equal(
	    sfu_udp_handle_send(tx.h, &seq, sizeof(seq), NULL, 0), SFU_UDP_OK);
	assert_true(wait_count(io->base, &peer, 1));
	assert_int_equal(peer.seqs[0], 1);

	/* Only the peer gets through. */
	to = sfu_udp_handle_local_addr(tx.h, &tolen);
	seq = 2;
	assert_int_equal(
	    sfu_udp_handle_send(other.h, &seq, sizeof(seq), to, tolen),
	    SFU_UDP_OK);
	seq = 3;
	assert_int_equal(
	    sfu_udp_handle_send(peer.h, &seq, sizeof(seq), to, tolen),
	    SFU_UDP_OK);
	assert_true(wait_count(io->base, &tx, 1));
	for (i = 0; i < 5; i++) {
		loop_once(io->base);
	}
	assert_int_equal(tx.count, 1);
	assert_int_equal(tx.seqs[0], 3);

	/*
	 * The peer's port closes: a datagram there brings an ICMP port
	 * unreachable, which the kernel reports on the next send. A new
	 * socket on that port still gets that next datagram.
	 */
	port = sfu_udp_handle_local_port(peer.h);
	rx_close(&peer);
	seq = 4;
	assert_int_equal(
	    sfu_udp_handle_send(tx.h, &seq, sizeof(seq), NULL, 0), SFU_UDP_OK);
	usleep(20 * 1000);
	assert_int_equal(
	    sfu_udp_bind("127.0.0.1", port, 0, 0, &fd, NULL, &err), 0);
	memset(&peer, 0, sizeof(peer));
	peer.h = sfu_udp_handle_new(io->base, fd, &rx_listener, &peer, &err);
	assert_non_null(peer.h);
	seq = 5;
	assert_int_equal(
	    sfu_udp_handle_send(tx.h, &seq, sizeof(seq), NULL, 0), SFU_UDP_OK);
	assert_true(wait_count(io->base, &peer, 1));
	assert_int_equal(peer.seqs[0], 5);

	/* Reported to the reader instead: not a receive error either. */
	rx_close(&peer);
	seq = 6;
	(void)sfu_udp_handle_send(tx.h, &seq, sizeof(seq), NULL, 0);
	usleep(20 * 1000);
	for (i = 0; i < 5; i++) {
		loop_once(io->base);
	}
	sfu_udp_handle_get_stats(tx.h, &st);
	assert_int_equal(st.send_errors, 0);
	assert_int_equal(st.recv_errors, 0);
	assert_int_equal(st.sent_packets, 4);

	/* A wildcard socket keeps its address free: refused. */
	rx_open(io->base, &any, "0.0.0.0");
	to = sfu_udp_handle_local_addr(other.h, &tolen);
	assert_int_equal(sfu_udp_handle_connect(any.h, to, tolen, &err), -1);
	assert_int_equal(err.kind, SFU_ERR_INVALID_STATE);
	rx_close(&any);
	rx_close(&other);
	rx_close(&tx);
}

/*
 * With a max age, datagrams that waited longer in the socket are dropped
 * and counted, fresh ones handed up; without, nothing is dropped.
 */
static void
test_udp_handle_drops_stale_input(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_udp_handle_stats st;
	struct sfu_error err = {0};
	struct rx rx;
	const struct sockaddr *to = NULL;
	socklen_t tolen = 0;
	uint32_t seq = 0;
	int s = -1;
	int i = 0;

	rx_open(io->base, &rx, "127.0.0.1");
	assert_int_equal(sfu_udp_handle_set_max_age(rx.h, 200, &err), 0);

	/*
	 * The first socket asking for timestamps makes the kernel start
	 * taking them on arrival, from a work queue; until then a datagram
	 * is stamped when it is read (so looks fresh).
	 */
	usleep(100 * 1000);
	to = sfu_udp_handle_local_addr(rx.h, &tolen);
	s = plain_socket(AF_INET);
	for (seq = 1; seq <= 3; seq++) {
		assert_int_equal(sendto(s, &seq, sizeof(seq), 0, to, tolen),
		    (ssize_t)sizeof(seq));
	}
	usleep(500 * 1000);
	seq = 4;
	assert_int_equal(
	    sendto(s, &seq, sizeof(seq), 0, to, tolen), (ssize_t)sizeof(seq));
	assert_true(wait_count(io->base, &rx, 1));
	for (i = 0; i < 3; i++) {
		loop_once(io->base);
	}
	assert_int_equal(rx.count, 1);
	assert_int_equal(rx.seqs[0], 4);
	sfu_udp_handle_get_stats(rx.h, &st);
	assert_int_equal(st.stale_packets, 3);
	assert_int_equal(st.recv_packets, 1);

	/* Off again. */
	assert_int_equal(sfu_udp_handle_set_max_age(rx.h, 0, &err), 0);
	for (seq = 5; seq <= 6; seq++) {
		assert_int_equal(sendto(s, &seq, sizeof(seq), 0, to, tolen),
		    (ssize_t)sizeof(seq));
	}
	usleep(300 * 1000);
	assert_true(wait_count(io->base, &rx, 3));
	assert_int_equal(rx.seqs[1], 5);
	assert_int_equal(rx.seqs[2], 6);
	sfu_udp_handle_get_stats(rx.h, &st);
	assert_int_equal(st.stale_packets, 3);
	close(s);
	rx_close(&rx);
}

/* --- threads --- */

struct thread_rx {
	struct sfu_udp_handle *h;
	unsigned int count;
	unsigned int in_order;
};

static void
thread_on_datagram(void *ctx, struct sfu_udp_handle *h, uint8_t *data,
    size_t len, const struct sockaddr *from, socklen_t fromlen)
{
	struct thread_rx *t = ctx;
	uint32_t seq = 0;

	(void)h;
	(void)from;
	(void)fromlen;
	if (len == sizeof(seq)) {
		memcpy(&seq, data, sizeof(seq));
		if (seq == t->count) {
			t->in_order++;
		}
	}
	t->count++;
}

static const struct sfu_udp_handle_listener thread_listener = {
    .on_datagram = thread_on_datagram,
};

static bool
thread_done(void *arg)
{
	struct thread_rx *t = arg;

	return t->count >= 300;
}

/*
 * Runs a loop of its own with one handle receiving 300 datagrams; no cmocka
 * assertion here (they longjmp), the main thread checks the counts.
 */
static void *
thread_main(void *arg)
{
	struct thread_rx *t = arg;
	struct event_base *base = NULL;
	const struct sockaddr *to = NULL;
	socklen_t tolen = 0;
	uint32_t seq = 0;
	int fd = -1;
	int s = -1;

	base = event_base_new();
	if (base == NULL ||
	    sfu_udp_bind("127.0.0.1", 0, 0, 0, &fd, NULL, NULL) == -1) {
		goto out;
	}
	t->h = sfu_udp_handle_new(base, fd, &thread_listener, t, NULL);
	if (t->h == NULL) {
		close(fd);
		goto out;
	}
	to = sfu_udp_handle_local_addr(t->h, &tolen);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	for (seq = 0; s >= 0 && seq < 300; seq++) {
		(void)sendto(s, &seq, sizeof(seq), 0, to, tolen);
		if (seq % 50 == 49) {
			(void)run_loop_until(base, thread_done, t, 0);
		}
	}
	(void)run_loop_until(base, thread_done, t, 5000);
out:
	if (s >= 0) {
		close(s);
	}
	sfu_udp_handle_free(t->h);
	t->h = NULL;
	if (base != NULL) {
		event_base_free(base);
	}
	return NULL;
}

/*
 * Handles on two threads, each with its own loop (embedded workers), read
 * at the same time with their per-thread receive slots, which are freed
 * when the threads exit (LeakSanitizer would say otherwise).
 */
static void
test_udp_handle_threads_read_independently(void **state)
{
	pthread_t th[2];
	struct thread_rx t[2];
	int i = 0;

	(void)state;
	memset(t, 0, sizeof(t));
	for (i = 0; i < 2; i++) {
		assert_int_equal(
		    pthread_create(&th[i], NULL, thread_main, &t[i]), 0);
	}
	for (i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(t[i].count, 300);
		assert_int_equal(t[i].in_order, 300);
	}
}

/* A constructor failure leaves the fd with the caller. */
static void
test_udp_handle_new_failure_keeps_fd(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_error err = {0};
	int fd = -1;

	fd = plain_socket(AF_INET);
	close(fd);
	/* A closed fd: getsockname/fcntl fail, nothing is closed twice. */
	assert_null(sfu_udp_handle_new(io->base, fd, &rx_listener, NULL, &err));
	assert_int_equal(err.kind, SFU_ERR_ERROR);
	assert_non_null(strstr(err.reason, "failed"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_udp_handle_binds_in_range),
	    cmocka_unit_test(test_udp_handle_port_in_use),
	    cmocka_unit_test(test_udp_handle_bind_rejects_bad_arguments),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_reads_in_bounded_batches, setup_io,
	        teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_drops_truncated, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_callback_may_free, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_send_batch_fans_out, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_counts_send_errors, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_ipv6_loopback, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_queues_on_eagain, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_send_batch_queues_remainder, setup_io,
	        teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_queue_bound_drops, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_defers_sends_to_batch_end, setup_io,
	        teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_deferred_keeps_order, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_deferred_copies_foreign_body, setup_io,
	        teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_deferred_flushes_when_full, setup_io,
	        teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_deferred_sent_on_free, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_connect, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_drops_stale_input, setup_io, teardown_io),
	    cmocka_unit_test(test_udp_handle_threads_read_independently),
	    cmocka_unit_test_setup_teardown(
	        test_udp_handle_new_failure_keeps_fd, setup_io, teardown_io),
	};

	return cmocka_run_group_tests_name("udp_handle", tests, NULL, NULL);
}
