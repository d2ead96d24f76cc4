/*
 * SPDX-License-Identifier: MIT
 *
 * tcp_server_handle and tcp_conn_handle on real sockets (127.0.0.1 and
 * ::1) and a real event_base: binding on port 0, in a range and on a taken
 * port; echo of RFC 4571 frames written in pieces; peer close and reset;
 * a framing error; a peer that never reads (the output bound drops whole
 * frames, the rest arrives intact and in order); freeing from the
 * callbacks; and the accept pause when the process runs out of fds.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>

#include "common/error.h"
#include "common/handle/tcp_conn_handle.h"
#include "common/handle/tcp_server_handle.h"
#include "common/rfc4571.h"
#include "helpers.h"

#define PEER_MAX_FRAMES 4096
#define PEER_MAX_DATA (1024 * 1024)
#define SRV_MAX_CONNS 8

/* One tcp_conn_handle and what it saw. */
struct peer {
	struct sfu_tcp_conn_handle *c; /* owned */
	unsigned int frames;
	size_t lens[PEER_MAX_FRAMES];
	uint8_t *data; /* owned: the payloads, concatenated */
	size_t data_len;
	bool echo;          /* send each frame back */
	bool free_on_frame; /* free c in on_frame */
	bool free_on_close; /* free c in on_closed */
	bool closed;
	enum sfu_tcp_conn_close_reason reason;
	int error;
	bool in_send; /* a send_frame() call is running */
	bool closed_in_send;
};

/* A server, the connections it accepted, and what it was told. */
struct srv {
	struct event_base *base;          /* borrowed */
	struct sfu_tcp_server_handle *s;  /* owned */
	struct peer conns[SRV_MAX_CONNS]; /* wrapped accepted fds */
	unsigned int nconns;
	struct sockaddr_storage peers[SRV_MAX_CONNS]; /* on_connection's */
	socklen_t peer_lens[SRV_MAX_CONNS];
	bool free_on_connection;
	bool echo;
	size_t max_frame_len; /* 0: the default */
};

static void
peer_on_frame(
    void *ctx, struct sfu_tcp_conn_handle *c, uint8_t *frame, size_t len)
{
	struct peer *p = ctx;

	assert_ptr_equal(c, p->c);
	assert_true(len >= 1 && len <= SFU_RFC4571_MAX_LEN);
	if (p->frames < PEER_MAX_FRAMES) {
		p->lens[p->frames] = len;
	}
	p->frames++;
	if (p->data_len + len <= PEER_MAX_DATA) {
		memcpy(p->data + p->data_len, frame, len);
		p->data_len += len;
	}

	/* Ours to write: the frame and its tailroom. */
	memset(frame + len, 0xa5, SFU_RFC4571_TAILROOM);
	if (p->echo) {
		assert_int_not_equal(
		    sfu_tcp_conn_handle_send_frame(c, frame, len),
		    SFU_TCP_CONN_ERROR);
	}
	if (p->free_on_frame) {
		sfu_tcp_conn_handle_free(c);
		p->c = NULL;
	}
}

static void
peer_on_closed(void *ctx, struct sfu_tcp_conn_handle *c,
    enum sfu_tcp_conn_close_reason reason, int error)
{
	struct peer *p = ctx;

	assert_ptr_equal(c, p->c);
	assert_false(p->closed);
	assert_true(sfu_tcp_conn_handle_is_closed(c));
	p->closed = true;
	p->reason = reason;
	p->error = error;
	if (p->in_send) {
		p->closed_in_send = true;
	}
	if (p->free_on_close) {
		sfu_tcp_conn_handle_free(c);
		p->c = NULL;
	}
}

static const struct sfu_tcp_conn_handle_listener peer_listener = {
    .on_frame = peer_on_frame,
    .on_closed = peer_on_closed,
};

static void
peer_init(struct peer *p)
{
	memset(p, 0, sizeof(*p));
	p->data = malloc(PEER_MAX_DATA);
	assert_non_null(p->data);
}

/* Wraps fd (now owned by the handle) and starts recording. */
static void
peer_open(struct peer *p, struct event_base *base, int fd)
{
	struct sfu_error err = {0};

	p->c = sfu_tcp_conn_handle_new(base, fd, &peer_listener, p, &err);
	if (p->c == NULL) {
		fail_msg("sfu_tcp_conn_handle_new: %s", err.reason);
	}
}

static void
peer_close(struct peer *p)
{
	sfu_tcp_conn_handle_free(p->c);
	p->c = NULL;
	free(p->data);
	p->data = NULL;
}

static void
srv_on_connection(void *ctx, struct sfu_tcp_server_handle *s, int fd,
    const struct sockaddr *peer, socklen_t peerlen)
{
	struct srv *v = ctx;
	struct peer *p = NULL;
	int fl = 0;

	assert_ptr_equal(s, v->s);
	fl = fcntl(fd, F_GETFL);
	assert_true(fl & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	if (v->free_on_connection) {
		sfu_tcp_server_handle_free(s);
		v->s = NULL;
	}
	assert_true(v->nconns < SRV_MAX_CONNS);
	assert_true((size_t)peerlen <= sizeof(v->peers[0]));
	memcpy(&v->peers[v->nconns], peer, peerlen);
	v->peer_lens[v->nconns] = peerlen;
	p = &v->conns[v->nconns++];
	peer_init(p);
	p->echo = v->echo;
	peer_open(p, v->base, fd);
	if (v->max_frame_len > 0) {
		sfu_tcp_conn_handle_set_max_frame_len(p->c, v->max_frame_len);
	}
}

static const struct sfu_tcp_server_handle_listener srv_listener = {
    .on_connection = srv_on_connection,
};

static void
srv_open(struct srv *v, struct event_base *base, const char *ip)
{
	struct sfu_error err = {0};

	memset(v, 0, sizeof(*v));
	v->base = base;
	v->s = sfu_tcp_server_handle_new(
	    base, ip, 0, 0, 0, &srv_listener, v, &err);
	if (v->s == NULL) {
		fail_msg("sfu_tcp_server_handle_new(%s): %s", ip, err.reason);
	}
}

static void
srv_close(struct srv *v)
{
	unsigned int i = 0;

	for (i = 0; i < v->nconns; i++) {
		peer_close(&v->conns[i]);
	}
	sfu_tcp_server_handle_free(v->s);
	v->s = NULL;
}

/* A blocking client socket connected to the server (loopback: at once). */
static int
client_connect(const struct srv *v)
{
	const struct sockaddr *to = NULL;
	socklen_t tolen = 0;
	int fd = -1;

	to = sfu_tcp_server_handle_local_addr(v->s, &tolen);
	fd = socket(to->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, to, tolen), 0);
	return fd;
}

static void
write_all(int fd, const uint8_t *data, size_t len)
{
	ssize_t n = 0;

	while (len > 0) {
		n = send(fd, data, len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EINTR || errno == EAGAIN)) {
			continue;
		}
		assert_true(n > 0);
		data += n;
		len -= (size_t)n;
	}
}

struct until {
	const unsigned int *count;
	unsigned int want;
};

static bool
until_count(void *arg)
{
	struct until *u = arg;

	return *u->count >= u->want;
}

static bool
wait_count(
    struct event_base *base, const unsigned int *count, unsigned int want)
{
	struct until u = {count, want};

	return run_loop_until(base, until_count, &u, 5000);
}

static bool
until_closed(void *arg)
{
	const struct peer *p = arg;

	return p->closed;
}

/* Appends a frame of len bytes, byte i = (seed + 3 i) & 0xff. */
static size_t
put_frame(uint8_t *out, size_t len, unsigned int seed)
{
	size_t i = 0;

	assert_int_equal(sfu_rfc4571_encode_header(out, len), 0);
	for (i = 0; i < len; i++) {
		out[SFU_RFC4571_HEADER_LEN + i] = (uint8_t)(seed + 3 * i);
	}
	return SFU_RFC4571_HEADER_LEN + len;
}

/* --- tcp_server_handle: binding --- */

/*
 * Port 0 lets the kernel choose; the handle reports the bound address and
 * port, for IPv4 and IPv6.
 */
static void
test_tcp_server_binds_port_zero(void **state)
{
	struct helpers_io *io = *state;
	struct srv v4;
	struct srv v6;
	const struct sockaddr *sa = NULL;
	struct sockaddr_in sin;
	socklen_t len = 0;

	srv_open(&v4, io->base, "127.0.0.1");
	srv_open(&v6, io->base, "::1");
	assert_true(sfu_tcp_server_handle_local_port(v4.s) > 0);
	assert_true(sfu_tcp_server_handle_local_port(v6.s) > 0);
	sa = sfu_tcp_server_handle_local_addr(v4.s, &len);
	assert_int_equal(sa->sa_family, AF_INET);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	sa = sfu_tcp_server_handle_local_addr(v6.s, &len);
	assert_int_equal(sa->sa_family, AF_INET6);

	/* The fd is the one the kernel knows as listening there. */
	len = sizeof(sin);
	assert_int_equal(getsockname(sfu_tcp_server_handle_fd(v4.s),
	                     (struct sockaddr *)&sin, &len),
	    0);
	assert_int_equal(
	    ntohs(sin.sin_port), sfu_tcp_server_handle_local_port(v4.s));
	srv_close(&v4);
	srv_close(&v6);
}

/*
 * Port 0 with a range hands out distinct ports of that range until none is
 * left, then names the range.
 */
static void
test_tcp_server_binds_in_range(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_error err = {0};
	struct sfu_tcp_server_handle *s[10];
	struct srv first;
	uint16_t base_port = 0;
	uint16_t port = 0;
	char want[128];
	int n = 0;
	int i = 0;
	int j = 0;

	srv_open(&first, io->base, "127.0.0.1");
	base_port = sfu_tcp_server_handle_local_port(first.s);
	if (base_port > 65535 - 7) {
		srv_close(&first);
		srv_open(&first, io->base, "127.0.0.1");
		base_port = sfu_tcp_server_handle_local_port(first.s);
		assert_true(base_port <= 65535 - 7);
	}
	for (i = 0; i < 10; i++) {
		s[n] = sfu_tcp_server_handle_new(io->base, "127.0.0.1", 0,
		    base_port, (uint16_t)(base_port + 7), &srv_listener, NULL,
		    &err);
		if (s[n] == NULL) {
			break;
		}
		port = sfu_tcp_server_handle_local_port(s[n]);
		assert_true(port > base_port && port <= base_port + 7);
		for (j = 0; j < n; j++) {
			assert_int_not_equal(
			    sfu_tcp_server_handle_local_port(s[j]), port);
		}
		n++;
	}
	assert_true(i < 10);
	assert_true(n <= 7);
	snprintf(want, sizeof(want),
	    "no free tcp port in [%u, %u] on 127.0.0.1", base_port,
	    base_port + 7);
	assert_string_equal(err.reason, want);
	for (j = 0; j < n; j++) {
		sfu_tcp_server_handle_free(s[j]);
	}
	srv_close(&first);
}

/*
 * An exact port that is listened on already gives "port N in use on IP";
 * once it is free again it binds, SO_REUSEADDR letting it past the
 * TIME_WAIT a served connection left.
 */
static void
test_tcp_server_port_in_use(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_error err = {0};
	struct sfu_tcp_server_handle *s = NULL;
	struct srv v;
	uint16_t port = 0;
	char want[128];
	int fd = -1;

	srv_open(&v, io->base, "127.0.0.1");
	port = sfu_tcp_server_handle_local_port(v.s);
	s = sfu_tcp_server_handle_new(
	    io->base, "127.0.0.1", port, 0, 0, &srv_listener, NULL, &err);
	assert_null(s);
	assert_int_equal(err.kind, SFU_ERR_ERROR);
	snprintf(want, sizeof(want), "port %u in use on 127.0.0.1", port);
	assert_string_equal(err.reason, want);

	/* Serve one connection and close our side first: TIME_WAIT here. */
	fd = client_connect(&v);
	assert_true(wait_count(io->base, &v.nconns, 1));
	srv_close(&v);
	close(fd);

	s = sfu_tcp_server_handle_new(
	    io->base, "127.0.0.1", port, 0, 0, &srv_listener, NULL, &err);
	if (s == NULL) {
		fail_msg("rebind: %s", err.reason);
	}
	assert_int_equal(sfu_tcp_server_handle_local_port(s), port);
	sfu_tcp_server_handle_free(s);
}

/* Names, bad ranges and foreign addresses are refused with a reason. */
static void
test_tcp_server_rejects_bad_arguments(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_error err = {0};

	assert_null(sfu_tcp_server_handle_new(
	    io->base, "localhost", 0, 0, 0, &srv_listener, NULL, &err));
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(err.reason, "invalid IP address 'localhost'");
	assert_null(sfu_tcp_server_handle_new(
	    io->base, "127.0.0.1", 0, 5000, 4000, &srv_listener, NULL, &err));
	assert_string_equal(err.reason, "invalid port range [5000, 4000]");
	assert_null(sfu_tcp_server_handle_new(
	    io->base, "192.0.2.1", 0, 0, 0, &srv_listener, NULL, &err));
	assert_non_null(strstr(err.reason, "bind(192.0.2.1 port 0) failed"));
}

/* --- frames both ways --- */

/*
 * A client writes 60 frames (empty, 1 byte, ..., one of 65535 bytes) in
 * pieces of 1 to 1500 bytes with loop passes between them, so the server
 * reads frames split and coalesced; the server echoes each frame and the
 * client's own conn handle gets them all back, intact and in order.
 * Addresses and statistics agree on both ends.
 */
static void
run_echo(struct event_base *base, const char *ip)
{
	static const size_t pieces[] = {1, 2, 3, 7, 100, 1500, 5, 999};
	struct srv v;
	struct peer cl;
	struct sfu_tcp_conn_handle_stats st;
	struct sockaddr_storage cl_local;
	socklen_t cl_local_len = sizeof(cl_local);
	const struct sockaddr *sa = NULL;
	socklen_t salen = 0;
	uint8_t *stream = NULL;
	uint8_t *want = NULL;
	size_t want_len = 0;
	size_t lens[60];
	size_t total = 0;
	size_t off = 0;
	size_t n = 0;
	unsigned int nonempty = 0;
	unsigned int i = 0;
	int fd = -1;

	stream = malloc(256 * 1024);
	want = malloc(256 * 1024);
	assert_non_null(stream);
	assert_non_null(want);
	for (i = 0; i < 60; i++) {
		lens[i] = i == 0 ? 0 : i == 30 ? SFU_RFC4571_MAX_LEN : i * 41;
		total += put_frame(stream + total, lens[i], i);
		memcpy(want + want_len, stream + total - lens[i], lens[i]);
		want_len += lens[i];
		nonempty += lens[i] > 0;
	}

	srv_open(&v, base, ip);
	v.echo = true;
	fd = client_connect(&v);
	assert_int_equal(
	    getsockname(fd, (struct sockaddr *)&cl_local, &cl_local_len), 0);
	assert_true(wait_count(base, &v.nconns, 1));
	for (i = 0; off < total; i++) {
		n = pieces[i % (sizeof(pieces) / sizeof(pieces[0]))];
		if (n > total - off) {
			n = total - off;
		}
		write_all(fd, stream + off, n);
		off += n;
		if (i % 4 == 0) {
			event_base_loop(base, EVLOOP_NONBLOCK);
		}
	}

	/* The client end as a conn handle too (it owns fd from here). */
	peer_init(&cl);
	peer_open(&cl, base, fd);
	assert_true(wait_count(base, &cl.frames, nonempty));
	assert_int_equal(cl.frames, nonempty);
	for (i = 1; i < 60; i++) {
		assert_int_equal(cl.lens[i - 1], lens[i]);
	}
	assert_int_equal(cl.data_len, want_len);
	assert_memory_equal(cl.data, want, want_len);
	assert_int_equal(v.conns[0].frames, nonempty);
	assert_memory_equal(v.conns[0].data, want, want_len);

	/* Both ends name each other. */
	sa = sfu_tcp_conn_handle_peer_addr(v.conns[0].c, &salen);
	assert_int_equal(salen, cl_local_len);
	assert_memory_equal(sa, &cl_local, salen);
	assert_int_equal(v.peer_lens[0], cl_local_len);
	assert_memory_equal(&v.peers[0], &cl_local, cl_local_len);
	sa = sfu_tcp_conn_handle_local_addr(v.conns[0].c, &salen);
	assert_memory_equal(
	    sa, sfu_tcp_conn_handle_peer_addr(cl.c, NULL), salen);

	sfu_tcp_conn_handle_get_stats(v.conns[0].c, &st);
	assert_int_equal(st.recv_frames, nonempty);
	assert_int_equal(st.recv_bytes, want_len);
	assert_int_equal(st.recv_empty, 1);
	assert_int_equal(st.sent_frames, nonempty);
	assert_int_equal(st.sent_bytes, want_len);
	assert_int_equal(st.dropped_frames, 0);
	assert_int_equal(st.queued_len, 0);
	sfu_tcp_conn_handle_get_stats(cl.c, &st);
	assert_int_equal(st.recv_frames, nonempty);
	assert_false(cl.closed);
	assert_false(v.conns[0].closed);

	peer_close(&cl);
	srv_close(&v);
	free(stream);
	free(want);
}

static void
test_tcp_conn_echo_ipv4(void **state)
{
	struct helpers_io *io = *state;

	run_echo(io->base, "127.0.0.1");
}

static void
test_tcp_conn_echo_ipv6(void **state)
{
	struct helpers_io *io = *state;

	run_echo(io->base, "::1");
}

/* --- closing --- */

/*
 * The peer closing (even mid-frame) is EOF; a reset is an error naming
 * ECONNRESET; either way on_closed comes once, later sends are dropped and
 * counted, and the owner may free the handle inside on_closed.
 */
static void
test_tcp_conn_peer_close(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_tcp_conn_handle_stats st;
	struct linger lg = {1, 0};
	struct srv v;
	uint8_t half[5] = {0, 10, 1, 2, 3};
	int fd = -1;

	srv_open(&v, io->base, "127.0.0.1");

	/* Clean close after half a frame. */
	fd = client_connect(&v);
	assert_true(wait_count(io->base, &v.nconns, 1));
	write_all(fd, half, sizeof(half));
	close(fd);
	assert_true(run_loop_until(io->base, until_closed, &v.conns[0], 5000));
	assert_int_equal(v.conns[0].reason, SFU_TCP_CONN_CLOSE_EOF);
	assert_int_equal(v.conns[0].error, 0);
	assert_int_equal(v.conns[0].frames, 0);
	assert_int_equal(sfu_tcp_conn_handle_send_frame(v.conns[0].c, half, 5),
	    SFU_TCP_CONN_ERROR);
	sfu_tcp_conn_handle_get_stats(v.conns[0].c, &st);
	assert_int_equal(st.dropped_frames, 1);
	assert_int_equal(st.dropped_bytes, 5);

	/* Reset (SO_LINGER 0), freed from on_closed. */
	fd = client_connect(&v);
	assert_true(wait_count(io->base, &v.nconns, 2));
	v.conns[1].free_on_close = true;
	assert_int_equal(
	    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(fd);
	assert_true(run_loop_until(io->base, until_closed, &v.conns[1], 5000));
	assert_int_equal(v.conns[1].reason, SFU_TCP_CONN_CLOSE_ERROR);
	assert_int_equal(v.conns[1].error, ECONNRESET);
	assert_null(v.conns[1].c);
	event_base_loop(io->base, EVLOOP_NONBLOCK);
	srv_close(&v);
}

/*
 * A send that fails because the peer reset does not call on_closed from
 * inside send_frame; the loop reports it right after.
 */
static void
test_tcp_conn_send_error_reported_from_loop(void **state)
{
	struct helpers_io *io = *state;
	struct linger lg = {1, 0};
	struct srv v;
	uint8_t buf[100] = {0};
	int r = SFU_TCP_CONN_OK;
	int fd = -1;
	int i = 0;

	srv_open(&v, io->base, "127.0.0.1");
	fd = client_connect(&v);
	assert_true(wait_count(io->base, &v.nconns, 1));
	assert_int_equal(
	    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	close(fd);
	v.conns[0].in_send = true;
	for (i = 0; i < 10 && r != SFU_TCP_CONN_ERROR; i++) {
		r = sfu_tcp_conn_handle_send_frame(v.conns[0].c, buf, 100);
	}
	v.conns[0].in_send = false;
	assert_int_equal(r, SFU_TCP_CONN_ERROR);
	assert_false(v.conns[0].closed);
	assert_true(run_loop_until(io->base, until_closed, &v.conns[0], 5000));
	assert_false(v.conns[0].closed_in_send);
	assert_int_equal(v.conns[0].reason, SFU_TCP_CONN_CLOSE_ERROR);
	assert_true(
	    v.conns[0].error == ECONNRESET || v.conns[0].error == EPIPE);
	srv_close(&v);
}

/* A frame over the connection's max frame length closes it: FRAMING. */
static void
test_tcp_conn_framing_error(void **state)
{
	struct helpers_io *io = *state;
	struct srv v;
	uint8_t stream[512];
	size_t total = 0;
	int fd = -1;

	srv_open(&v, io->base, "127.0.0.1");
	v.max_frame_len = 100;
	fd = client_connect(&v);
	total = put_frame(stream, 100, 1);
	total += put_frame(stream + total, 101, 2);
	total += put_frame(stream + total, 5, 3);
	write_all(fd, stream, total);
	assert_true(wait_count(io->base, &v.nconns, 1));
	assert_true(run_loop_until(io->base, until_closed, &v.conns[0], 5000));
	assert_int_equal(v.conns[0].reason, SFU_TCP_CONN_CLOSE_FRAMING);
	assert_int_equal(v.conns[0].error, 0);
	assert_int_equal(v.conns[0].frames, 1);
	assert_int_equal(v.conns[0].lens[0], 100);
	close(fd);
	srv_close(&v);
}

/*
 * on_frame frees the connection at the first of three frames read at once:
 * nothing more is delivered and nothing touches the freed handle (ASan).
 */
static void
test_tcp_conn_free_inside_on_frame(void **state)
{
	struct helpers_io *io = *state;
	struct srv v;
	uint8_t stream[512];
	size_t total = 0;
	int fd = -1;

	srv_open(&v, io->base, "127.0.0.1");
	fd = client_connect(&v);
	assert_true(wait_count(io->base, &v.nconns, 1));
	v.conns[0].free_on_frame = true;
	total = put_frame(stream, 10, 1);
	total += put_frame(stream + total, 20, 2);
	total += put_frame(stream + total, 30, 3);
	write_all(fd, stream, total);
	assert_true(wait_count(io->base, &v.conns[0].frames, 1));
	assert_null(v.conns[0].c);

	/* More input for the freed handle's fd (now closed): no callback. */
	(void)send(fd, stream, total, MSG_NOSIGNAL);
	(void)run_loop_until(io->base, until_closed, &v.conns[0], 50);
	assert_int_equal(v.conns[0].frames, 1);
	assert_false(v.conns[0].closed);
	close(fd);
	srv_close(&v);
}

/*
 * A peer that never reads: the kernel buffers fill, frames queue up to the
 * bound, and then whole frames are dropped and counted, never growing the
 * queue past the bound. When the peer reads at last, every frame that was
 * not dropped arrives intact and in order, and the queue empties.
 */
static void
test_tcp_conn_output_bound_drops(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_tcp_conn_handle_stats st;
	struct srv v;
	struct peer cl;
	struct sfu_tcp_conn_handle *c = NULL;
	static uint32_t kept[8192];
	uint8_t frame[1000];
	unsigned int nkept = 0;
	unsigned int ok = 0;
	unsigned int again = 0;
	unsigned int dropped = 0;
	unsigned int i = 0;
	uint32_t seq = 0;
	uint32_t got = 0;
	int small = 4096;
	int fd = -1;
	int r = 0;

	srv_open(&v, io->base, "127.0.0.1");
	fd = client_connect(&v);
	assert_int_equal(
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	assert_true(wait_count(io->base, &v.nconns, 1));
	c = v.conns[0].c;
	assert_int_equal(setsockopt(sfu_tcp_conn_handle_fd(c), SOL_SOCKET,
	                     SO_SNDBUF, &small, sizeof(small)),
	    0);
	sfu_tcp_conn_handle_set_max_out_len(c, 64 * 1024);
	memset(frame, 0x77, sizeof(frame));

	/* Send until 100 drops, running the loop now and then. */
	for (seq = 0; seq < 8000 && dropped < 100; seq++) {
		memcpy(frame, &seq, sizeof(seq));
		r = sfu_tcp_conn_handle_send_frame(c, frame, sizeof(frame));
		if (r == SFU_TCP_CONN_ERROR) {
			dropped++;
			continue;
		}
		if (r == SFU_TCP_CONN_OK) {
			ok++;
		} else {
			assert_int_equal(r, SFU_TCP_CONN_AGAIN);
			again++;
		}
		kept[nkept++] = seq;
		if (seq % 64 == 0) {
			event_base_loop(io->base, EVLOOP_NONBLOCK);
		}
		sfu_tcp_conn_handle_get_stats(c, &st);
		assert_true(st.queued_len <= 64 * 1024);
	}
	assert_int_equal(dropped, 100);
	assert_true(ok > 0 && again > 0);
	sfu_tcp_conn_handle_get_stats(c, &st);
	assert_int_equal(st.dropped_frames, 100);
	assert_int_equal(st.dropped_bytes, 100 * sizeof(frame));
	assert_true(st.queued_len > 64 * 1024 - 1002);
	assert_true(st.queued_max_len <= 64 * 1024);

	/* The peer reads now (cl keeps 1 MiB of payload). */
	assert_true((size_t)nkept * sizeof(frame) <= PEER_MAX_DATA);
	peer_init(&cl);
	peer_open(&cl, io->base, fd);
	assert_true(wait_count(io->base, &cl.frames, nkept));
	assert_int_equal(cl.frames, nkept);
	for (i = 0; i < nkept; i++) {
		assert_int_equal(cl.lens[i], sizeof(frame));
		memcpy(&got, cl.data + (size_t)i * sizeof(frame), sizeof(got));
		assert_int_equal(got, kept[i]);
		assert_int_equal(
		    cl.data[(size_t)i * sizeof(frame) + 999], 0x77);
	}
	sfu_tcp_conn_handle_get_stats(c, &st);
	assert_int_equal(st.queued_len, 0);
	assert_int_equal(st.sent_frames, nkept);
	assert_int_equal(st.sent_bytes, (uint64_t)nkept * sizeof(frame));

	/* Empty queue again: the next frame goes out at once. */
	assert_int_equal(
	    sfu_tcp_conn_handle_send_frame(c, frame, 10), SFU_TCP_CONN_OK);
	assert_true(wait_count(io->base, &cl.frames, nkept + 1));

	/* Too long for RFC 4571: refused, counted. */
	assert_int_equal(sfu_tcp_conn_handle_send_frame(c, frame, 65536),
	    SFU_TCP_CONN_ERROR);
	sfu_tcp_conn_handle_get_stats(c, &st);
	assert_int_equal(st.dropped_frames, 101);
	peer_close(&cl);
	srv_close(&v);
}

/* Freed with frames queued: the queue goes with it (LeakSanitizer). */
static void
test_tcp_conn_free_with_queue(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_tcp_conn_handle_stats st;
	struct srv v;
	uint8_t frame[4000] = {0};
	int small = 4096;
	int fd = -1;
	int i = 0;

	srv_open(&v, io->base, "127.0.0.1");
	fd = client_connect(&v);
	assert_int_equal(
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	assert_true(wait_count(io->base, &v.nconns, 1));
	assert_int_equal(setsockopt(sfu_tcp_conn_handle_fd(v.conns[0].c),
	                     SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)),
	    0);
	for (i = 0; i < 200; i++) {
		(void)sfu_tcp_conn_handle_send_frame(
		    v.conns[0].c, frame, sizeof(frame));
	}
	sfu_tcp_conn_handle_get_stats(v.conns[0].c, &st);
	assert_true(st.queued_len > 0);
	assert_true(st.dropped_frames > 0);
	close(fd);
	srv_close(&v);
}

/* A connection handle refuses a socket that is not connected. */
static void
test_tcp_conn_new_failure_keeps_fd(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_error err = {0};
	int fd = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_null(
	    sfu_tcp_conn_handle_new(io->base, fd, &peer_listener, NULL, &err));
	assert_non_null(strstr(err.reason, "getpeername"));
	/* Still ours: closing it works. */
	assert_int_equal(close(fd), 0);
}

/* --- accepting --- */

/*
 * The server may be freed inside on_connection: the other pending
 * connection is not accepted in that batch, and nothing touches the
 * freed handle.
 */
static void
test_tcp_server_free_inside_on_connection(void **state)
{
	struct helpers_io *io = *state;
	struct srv v;
	int fd1 = -1;
	int fd2 = -1;

	srv_open(&v, io->base, "127.0.0.1");
	v.free_on_connection = true;
	fd1 = client_connect(&v);
	fd2 = client_connect(&v);
	assert_true(wait_count(io->base, &v.nconns, 1));
	event_base_loop(io->base, EVLOOP_NONBLOCK);
	assert_int_equal(v.nconns, 1);
	assert_null(v.s);
	close(fd1);
	close(fd2);
	srv_close(&v);
}

/*
 * Out of fds, accept fails with EMFILE: the server counts it and pauses
 * instead of spinning, then accepts the waiting connection after the
 * pause once fds are available again.
 */
static void
test_tcp_server_pauses_on_emfile(void **state)
{
	struct helpers_io *io = *state;
	struct sfu_tcp_server_handle_stats st;
	struct rlimit old;
	struct rlimit low;
	struct timespec t0;
	struct timespec t1;
	struct srv v;
	long elapsed_ms = 0;
	int probe = -1;
	int fd = -1;

	srv_open(&v, io->base, "127.0.0.1");
	fd = client_connect(&v);

	/* No fd can be made: the lowest free one is at the limit. */
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	probe = dup(0);
	assert_true(probe >= 0);
	close(probe);
	low = old;
	low.rlim_cur = (rlim_t)probe;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	event_base_loop(io->base, EVLOOP_NONBLOCK);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	sfu_tcp_server_handle_get_stats(v.s, &st);
	assert_int_equal(v.nconns, 0);
	assert_int_equal(st.pauses, 1);
	assert_true(st.accept_errors >= 1);

	/* Paused: the waiting connection is taken after the pause only. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_true(wait_count(io->base, &v.nconns, 1));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed_ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	             (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(elapsed_ms >= SFU_TCP_SERVER_ACCEPT_PAUSE_MS / 2);
	sfu_tcp_server_handle_get_stats(v.s, &st);
	assert_int_equal(st.accepted, 1);
	assert_int_equal(st.pauses, 1);
	close(fd);
	srv_close(&v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_tcp_server_binds_port_zero, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_server_binds_in_range, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_server_port_in_use, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_server_rejects_bad_arguments, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_conn_echo_ipv4, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_conn_echo_ipv6, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_conn_peer_close, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_conn_send_error_reported_from_loop, setup_io,
	        teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_conn_framing_error, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_conn_free_inside_on_frame, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_conn_output_bound_drops, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_conn_free_with_queue, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_conn_new_failure_keeps_fd, setup_io, teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_server_free_inside_on_connection, setup_io,
	        teardown_io),
	    cmocka_unit_test_setup_teardown(
	        test_tcp_server_pauses_on_emfile, setup_io, teardown_io),
	};

	return cmocka_run_group_tests_name("tcp_handle", tests, NULL, NULL);
}
