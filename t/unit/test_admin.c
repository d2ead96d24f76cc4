/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for master/admin: the admin Unix socket with a real socket in
 * a fresh mkdtemp() directory, a real event_base and real non-blocking
 * client sockets. The loop only ever runs through run_loop_until(), whose
 * conditions also move the clients' bytes, so a broken test fails on a
 * deadline instead of hanging.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
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
#include <msgpack.h>

#include "common/error.h"
#include "common/frame.h"
#include "common/mem.h"
#include "common/msg.h"
#include "master/admin.h"
#include "helpers.h"

#define TEST_TIMEOUT_MS 5000
#define TEST_MAX_CLIENTS 8

/* --- a test client: a non-blocking socket with in and out buffers --- */

struct tclient {
	int fd;      /* owned, -1 when closed */
	uint8_t *in; /* owned: bytes read, not yet taken */
	size_t in_len;
	size_t in_cap;
	uint8_t *out; /* owned: bytes queued, not yet sent */
	size_t out_len;
	size_t out_off; /* sent so far */
	bool eof;       /* EOF or reset seen */
	bool paused;    /* never read: a slow client */
};

struct fixture {
	char dir[PATH_MAX];      /* mkdtemp() directory */
	char path[PATH_MAX];     /* dir/admin.sock */
	struct event_base *base; /* owned */
	struct sfu_admin *admin; /* owned, NULL until started */
	struct sfu_admin_options opts;
	struct tclient clients[TEST_MAX_CLIENTS];
	struct sfu_msg_builder builder; /* replies from on_request */

	/* what the listener saw */
	unsigned requests;
	struct sfu_admin_client *last_client; /* of the last request */
	uint32_t last_id;
	char last_method[SFU_MSG_METHOD_MAX];
	bool last_has_handler_id;
	char last_handler_id[SFU_MSG_ID_MAX];
	bool last_has_worker;
	int64_t last_worker;
	uint64_t last_data_x;      /* data.x, or ~0 */
	bool last_raw_matches;     /* raw == sent */
	const uint8_t *expect_raw; /* borrowed, may be NULL */
	size_t expect_raw_len;
	unsigned closed;
	struct sfu_admin_client *last_closed;

	/* what run_loop_until() waits for */
	struct tclient *watch;
	unsigned want;
};

static void
tclient_pump(struct tclient *tc)
{
	uint8_t buf[65536];
	ssize_t n = 0;

	if (tc->fd == -1) {
		return;
	}
	while (tc->out_off < tc->out_len) {
		n = send(tc->fd, tc->out + tc->out_off,
		    tc->out_len - tc->out_off, MSG_NOSIGNAL);
		if (n <= 0) {
			break;
		}
		tc->out_off += (size_t)n;
	}
	if (tc->out_off == tc->out_len) {
		tc->out_off = 0;
		tc->out_len = 0;
	}
	while (!tc->paused && !tc->eof) {
		n = recv(tc->fd, buf, sizeof(buf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			break;
		}
		if (n <= 0) {
			tc->eof = true; /* EOF or ECONNRESET */
			break;
		}
		if (tc->in_len + (size_t)n > tc->in_cap) {
			tc->in_cap = (tc->in_len + (size_t)n) * 2;
			tc->in = sfu_xrealloc(tc->in, tc->in_cap);
		}
		memcpy(tc->in + tc->in_len, buf, (size_t)n);
		tc->in_len += (size_t)n;
	}
}

static void
tclient_close(struct tclient *tc)
{
	if (tc->fd != -1) {
		close(tc->fd);
		tc->fd = -1;
	}
	free(tc->in);
	free(tc->out);
	memset(tc, 0, sizeof(*tc));
	tc->fd = -1;
}

static bool
tclient_has_frame(const struct tclient *tc)
{
	size_t n = 0;

	if (tc->in_len < SFU_FRAME_HEADER_LEN) {
		return false;
	}
	n = (size_t)tc->in[0] << 24 | (size_t)tc->in[1] << 16 |
	    (size_t)tc->in[2] << 8 | tc->in[3];
	return tc->in_len >= SFU_FRAME_HEADER_LEN + n;
}

/* Queues raw bytes (any framing) for sending. */
static void
tclient_queue_raw(struct tclient *tc, const void *data, size_t len)
{
	tc->out = sfu_xrealloc(tc->out, tc->out_len + len);
	memcpy(tc->out + tc->out_len, data, len);
	tc->out_len += len;
	tclient_pump(tc);
}

static void
tclient_queue_frame(struct tclient *tc, const void *payload, size_t len)
{
	uint8_t hdr[SFU_FRAME_HEADER_LEN];

	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	tclient_queue_raw(tc, hdr, sizeof(hdr));
	tclient_queue_raw(tc, payload, len);
}

/* Sends {id, method} as one frame. */
static void
tclient_request(struct tclient *tc, uint32_t id, const char *method)
{
	msgpack_sbuffer sb;

	helpers_pack_sbuf(&sb, "{s:u, s:s}", "id", id, "method", method);
	tclient_queue_frame(tc, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
}

/* --- fixture --- */

static void
on_request(void *ctx, struct sfu_admin_client *c,
    const struct sfu_msg_request *req, const msgpack_object *root,
    const uint8_t *raw, size_t len)
{
	struct fixture *f = ctx;
	msgpack_packer *pk = NULL;
	uint64_t x = 0;

	assert_non_null(root);
	f->requests++;
	f->last_client = c;
	f->last_id = req->id;
	snprintf(f->last_method, sizeof(f->last_method), "%s", req->method);
	f->last_has_handler_id = req->has_handler_id;
	snprintf(f->last_handler_id, sizeof(f->last_handler_id), "%s",
	    req->handler_id);
	f->last_has_worker = req->has_worker;
	f->last_worker = req->worker;
	f->last_data_x = ~(uint64_t)0;
	if (req->data != NULL &&
	    sfu_msg_get_uint(req->data, "data", "x", SFU_MSG_REQUIRED,
	        UINT64_MAX, &x, NULL) == 1) {
		f->last_data_x = x;
	}
	f->last_raw_matches = f->expect_raw != NULL &&
	                      len == f->expect_raw_len &&
	                      memcmp(raw, f->expect_raw, len) == 0;

	/* Every request is answered {id, accepted, data: {method}}. */
	pk = sfu_msg_begin_response(&f->builder, req->id, true);
	msgpack_pack_map(pk, 1);
	sfu_msg_pack_kv_str(pk, "method", req->method);
	(void)sfu_admin_client_send(
	    c, (const uint8_t *)f->builder.sbuf.data, f->builder.sbuf.size);
}

static void
on_client_closed(void *ctx, struct sfu_admin_client *c)
{
	struct fixture *f = ctx;

	f->closed++;
	f->last_closed = c;
	if (f->last_client == c) {
		f->last_client = NULL;
	}
}

static const struct sfu_admin_listener test_listener = {
    .on_request = on_request,
    .on_client_closed = on_client_closed,
};

static int
setup_admin(void **state)
{
	struct fixture *f = NULL;
	int i = 0;

	f = sfu_xcalloc(1, sizeof(*f));
	if (helpers_mkdtemp(f->dir, sizeof(f->dir), "test_admin") == -1) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/admin.sock", f->dir);
	f->base = event_base_new();
	if (f->base == NULL) {
		rmdir(f->dir);
		free(f);
		return -1;
	}
	for (i = 0; i < TEST_MAX_CLIENTS; i++) {
		f->clients[i].fd = -1;
	}
	sfu_msg_builder_init(&f->builder);
	f->opts.path = f->path;
	f->opts.mode = 0600;
	f->opts.max_clients = 4;
	f->opts.max_output = 1024 * 1024;
	*state = f;
	return 0;
}

static int
teardown_admin(void **state)
{
	struct fixture *f = *state;
	int i = 0;
	int rc = 0;

	for (i = 0; i < TEST_MAX_CLIENTS; i++) {
		tclient_close(&f->clients[i]);
	}
	sfu_admin_free(f->admin);
	f->admin = NULL;
	event_base_free(f->base);
	sfu_msg_builder_release(&f->builder);
	rc = helpers_rmtree(f->dir);
	free(f);
	*state = NULL;
	return rc;
}

static void
fixture_start(struct fixture *f)
{
	struct sfu_error err = {0};

	f->admin = sfu_admin_new(f->base, &f->opts, &test_listener, f, &err);
	if (f->admin == NULL) {
		fail_msg("sfu_admin_new: %s", err.reason);
	}
}

static int
connect_unix(const char *path, int type_flags)
{
	struct sockaddr_un sun;
	int fd = -1;
	int r = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | type_flags, 0);
	assert_true(fd >= 0);
	r = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	if (r == -1) {
		fail_msg("connect(%s): %s", path, strerror(errno));
	}
	return fd;
}

static struct tclient *
fixture_connect(struct fixture *f)
{
	int i = 0;

	for (i = 0; i < TEST_MAX_CLIENTS; i++) {
		if (f->clients[i].fd == -1) {
			f->clients[i].fd = connect_unix(f->path, SOCK_NONBLOCK);
			return &f->clients[i];
		}
	}
	fail_msg("too many test clients");
	return NULL;
}

/* Binds (and optionally listens on) a socket at path; returns its fd. */
static int
bind_unix(const char *path, bool do_listen)
{
	struct sockaddr_un sun;
	int fd = -1;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	if (do_listen) {
		assert_int_equal(listen(fd, 8), 0);
	}
	return fd;
}

/* --- loop conditions: each moves every client's bytes first --- */

static void
fixture_pump(struct fixture *f)
{
	int i = 0;

	for (i = 0; i < TEST_MAX_CLIENTS; i++) {
		tclient_pump(&f->clients[i]);
	}
}

static bool
cond_watch_frame(void *arg)
{
	struct fixture *f = arg;

	fixture_pump(f);
	return tclient_has_frame(f->watch);
}

static bool
cond_watch_eof(void *arg)
{
	struct fixture *f = arg;

	fixture_pump(f);
	return f->watch->eof;
}

static bool
cond_requests(void *arg)
{
	struct fixture *f = arg;

	fixture_pump(f);
	return f->requests >= f->want;
}

static bool
cond_closed(void *arg)
{
	struct fixture *f = arg;

	fixture_pump(f);
	return f->closed >= f->want;
}

static bool
cond_client_count(void *arg)
{
	struct fixture *f = arg;

	fixture_pump(f);
	return sfu_admin_client_count(f->admin) == f->want;
}

static bool
cond_never(void *arg)
{
	fixture_pump(arg);
	return false;
}

/* Sends f->builder's message to c. */
static void
send_built(void *arg, struct sfu_admin_client *c)
{
	struct fixture *f = arg;

	assert_int_equal(
	    sfu_admin_client_send(
	        c, (const uint8_t *)f->builder.sbuf.data, f->builder.sbuf.size),
	    0);
}

static void
count_one(void *arg, struct sfu_admin_client *c)
{
	unsigned *n = arg;

	assert_non_null(c);
	(*n)++;
}

/* The clients sfu_admin_foreach_client() visits. */
static unsigned
count_clients(struct sfu_admin *a)
{
	unsigned n = 0;

	sfu_admin_foreach_client(a, count_one, &n);
	return n;
}

/* Runs the loop until tc has a whole frame, then decodes it into m. */
static void
wait_message(struct fixture *f, struct tclient *tc, struct sfu_msg *m)
{
	struct sfu_error err = {0};
	size_t n = 0;
	int r = 0;

	f->watch = tc;
	assert_true(
	    run_loop_until(f->base, cond_watch_frame, f, TEST_TIMEOUT_MS));
	n = (size_t)tc->in[0] << 24 | (size_t)tc->in[1] << 16 |
	    (size_t)tc->in[2] << 8 | tc->in[3];
	r = sfu_msg_decode(m, tc->in + SFU_FRAME_HEADER_LEN, n, &err);
	if (r == -1) {
		sfu_msg_release(m);
		fail_msg("response does not decode: %s", err.reason);
	}

	/* m's zone holds copies: the bytes can go. */
	memmove(tc->in, tc->in + SFU_FRAME_HEADER_LEN + n,
	    tc->in_len - SFU_FRAME_HEADER_LEN - n);
	tc->in_len -= SFU_FRAME_HEADER_LEN + n;
}

static void
wait_accepted(struct fixture *f, struct tclient *tc, uint32_t id)
{
	struct sfu_msg m;
	uint64_t got = 0;
	bool accepted = false;

	wait_message(f, tc, &m);
	assert_int_equal(sfu_msg_get_uint(m.root, NULL, "id", SFU_MSG_REQUIRED,
	                     UINT32_MAX, &got, NULL),
	    1);
	assert_int_equal(got, id);
	assert_int_equal(sfu_msg_get_bool(m.root, NULL, "accepted",
	                     SFU_MSG_REQUIRED, &accepted, NULL),
	    1);
	assert_true(accepted);
	sfu_msg_release(&m);
}

/* Waits for {id, error: kind, reason}; returns reason's copy in buf. */
static void
wait_error(struct fixture *f, struct tclient *tc, uint32_t id, const char *kind,
    char *reason, size_t size)
{
	struct sfu_msg m;
	const char *s = NULL;
	size_t len = 0;
	uint64_t got = 0;

	wait_message(f, tc, &m);
	assert_int_equal(sfu_msg_get_uint(m.root, NULL, "id", SFU_MSG_REQUIRED,
	                     UINT32_MAX, &got, NULL),
	    1);
	assert_int_equal(got, id);
	assert_int_equal(sfu_msg_get_str(m.root, NULL, "error",
	                     SFU_MSG_REQUIRED, &s, &len, NULL),
	    1);
	assert_int_equal(len, strlen(kind));
	assert_memory_equal(s, kind, len);
	assert_int_equal(sfu_msg_get_strbuf(m.root, NULL, "reason",
	                     SFU_MSG_REQUIRED, reason, size, NULL),
	    1);
	assert_true(reason[0] != '\0');
	sfu_msg_release(&m);
}

/* --- requests and replies --- */

/* Proves a request reaches on_request parsed and a reply reaches the client. */
static void
test_admin_request_reaches_listener_and_reply_reaches_client(void **state)
{
	struct fixture *f = *state;
	struct tclient *tc = NULL;
	struct sfu_msg m;
	msgpack_sbuffer sb;
	const char *s = NULL;
	size_t len = 0;
	uint64_t id = 0;
	int dummy = 0;

	fixture_start(f);
	tc = fixture_connect(f);
	helpers_pack_sbuf(&sb, "{s:u, s:s, s:s, s:i, s:{s:u}}", "id", 42,
	    "method", "router.dump", "handlerId", "r1", "worker", 1, "data",
	    "x", 7);
	f->expect_raw = (const uint8_t *)sb.data;
	f->expect_raw_len = sb.size;
	tclient_queue_frame(tc, sb.data, sb.size);
	f->want = 1;
	assert_true(run_loop_until(f->base, cond_requests, f, TEST_TIMEOUT_MS));
	msgpack_sbuffer_destroy(&sb);
	f->expect_raw = NULL;

	assert_int_equal(f->last_id, 42);
	assert_string_equal(f->last_method, "router.dump");
	assert_true(f->last_has_handler_id);
	assert_string_equal(f->last_handler_id, "r1");
	assert_true(f->last_has_worker);
	assert_int_equal(f->last_worker, 1);
	assert_int_equal(f->last_data_x, 7);
	assert_true(f->last_raw_matches);

	/* The owner's per-client data and the client's id. */
	assert_null(sfu_admin_client_get_data(f->last_client));
	sfu_admin_client_set_data(f->last_client, &dummy);
	assert_ptr_equal(sfu_admin_client_get_data(f->last_client), &dummy);
	assert_true(sfu_admin_client_id(f->last_client) > 0);

	wait_message(f, tc, &m);
	assert_int_equal(sfu_msg_get_uint(m.root, NULL, "id", SFU_MSG_REQUIRED,
	                     UINT32_MAX, &id, NULL),
	    1);
	assert_int_equal(id, 42);
	assert_int_equal(
	    sfu_msg_get_str(sfu_msg_map_get(m.root, "data"), "data", "method",
	        SFU_MSG_REQUIRED, &s, &len, NULL),
	    1);
	assert_int_equal(len, strlen("router.dump"));
	assert_memory_equal(s, "router.dump", len);
	sfu_msg_release(&m);
	assert_int_equal(sfu_admin_invalid_count(f->admin), 0);
}

/* Proves frames batched in one write or split across writes are all served. */
static void
test_admin_pipelined_and_split_requests_answered(void **state)
{
	struct fixture *f = *state;
	struct tclient *tc = NULL;
	msgpack_sbuffer sb;
	uint8_t hdr[SFU_FRAME_HEADER_LEN];

	fixture_start(f);
	tc = fixture_connect(f);
	tclient_request(tc, 1, "a");
	tclient_request(tc, 2, "b");

	/* Request 3: header and first byte now, the rest later. */
	helpers_pack_sbuf(&sb, "{s:u, s:s}", "id", 3, "method", "c");
	hdr[0] = 0;
	hdr[1] = 0;
	hdr[2] = (uint8_t)(sb.size >> 8);
	hdr[3] = (uint8_t)sb.size;
	tclient_queue_raw(tc, hdr, sizeof(hdr));
	tclient_queue_raw(tc, sb.data, 1);
	f->want = 2;
	assert_true(run_loop_until(f->base, cond_requests, f, TEST_TIMEOUT_MS));
	assert_false(run_loop_until(f->base, cond_never, f, 50));
	assert_int_equal(f->requests, 2);
	tclient_queue_raw(tc, sb.data + 1, sb.size - 1);
	msgpack_sbuffer_destroy(&sb);

	wait_accepted(f, tc, 1);
	wait_accepted(f, tc, 2);
	wait_accepted(f, tc, 3);
	assert_int_equal(f->requests, 3);
}

/* --- malformed input --- */

/* Proves bad input with a readable id gets TypeError, the client stays. */
static void
test_admin_invalid_with_id_gets_type_error_and_stays_open(void **state)
{
	struct fixture *f = *state;
	struct tclient *tc = NULL;
	msgpack_sbuffer sb;
	char reason[SFU_ERROR_REASON_LEN];

	fixture_start(f);
	tc = fixture_connect(f);

	/* Envelope: method is not a string. */
	helpers_pack_sbuf(&sb, "{s:u, s:u}", "id", 5, "method", 42);
	tclient_queue_frame(tc, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	wait_error(f, tc, 5, "TypeError", reason, sizeof(reason));
	assert_non_null(strstr(reason, "method"));

	/* MessagePack cut short after the id. */
	helpers_pack_sbuf(&sb, "{s:u, s:s}", "id", 6, "method", "worker.dump");
	tclient_queue_frame(tc, sb.data, sb.size - 3);
	msgpack_sbuffer_destroy(&sb);
	wait_error(f, tc, 6, "TypeError", reason, sizeof(reason));

	tclient_request(tc, 7, "worker.dump");
	wait_accepted(f, tc, 7);
	assert_int_equal(f->requests, 1);
	assert_int_equal(sfu_admin_invalid_count(f->admin), 2);
	assert_int_equal(f->closed, 0);
}

/* Proves garbage without a readable id is counted, unanswered, survived. */
static void
test_admin_invalid_without_id_counted_without_response(void **state)
{
	struct fixture *f = *state;
	struct tclient *tc = NULL;
	static const uint8_t garbage[] = {0xc1, 0xc1, 0xc1};

	fixture_start(f);
	tc = fixture_connect(f);
	tclient_queue_frame(tc, garbage, sizeof(garbage));
	tclient_queue_frame(tc, "\x93\x01\x02\x03", 4); /* an array */
	tclient_request(tc, 8, "worker.dump");

	/* The first frame the client gets answers request 8. */
	wait_accepted(f, tc, 8);
	assert_int_equal(tc->in_len, 0);
	assert_int_equal(sfu_admin_invalid_count(f->admin), 2);
	assert_int_equal(f->requests, 1);
}

/* Proves a 5 MiB frame gets TypeError with its id and is skipped. */
static void
test_admin_oversize_frame_gets_type_error_then_next_works(void **state)
{
	struct fixture *f = *state;
	struct tclient *tc = NULL;
	msgpack_sbuffer sb;
	char reason[SFU_ERROR_REASON_LEN];
	size_t pad_len = 5u * 1024 * 1024;
	uint8_t *pad = NULL;

	fixture_start(f);
	tc = fixture_connect(f);
	pad = sfu_xcalloc(1, pad_len);
	helpers_pack_sbuf(&sb, "{s:u, s:s, s:x}", "id", 77, "method",
	    "worker.dump", "data", pad, pad_len);
	free(pad);
	assert_true(sb.size > SFU_FRAME_MAX_LEN);
	tclient_queue_frame(tc, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	tclient_request(tc, 78, "worker.dump");

	wait_error(f, tc, 77, "TypeError", reason, sizeof(reason));
	assert_non_null(strstr(reason, "exceeds the limit"));
	wait_accepted(f, tc, 78);
	assert_int_equal(f->requests, 1);
	assert_string_equal(f->last_method, "worker.dump");
	assert_int_equal(sfu_admin_invalid_count(f->admin), 1);
	assert_int_equal(f->closed, 0);
}

/* Proves an absurd length ("GET ") closes the client without a response. */
static void
test_admin_absurd_length_closes_connection(void **state)
{
	struct fixture *f = *state;
	struct tclient *tc = NULL;
	static const char http[] = "GET / HTTP/1.0\r\n\r\n";

	fixture_start(f);
	tc = fixture_connect(f);
	tclient_queue_raw(tc, http, sizeof(http) - 1);
	f->watch = tc;
	assert_true(
	    run_loop_until(f->base, cond_watch_eof, f, TEST_TIMEOUT_MS));
	assert_int_equal(tc->in_len, 0);
	f->want = 1;
	assert_true(run_loop_until(f->base, cond_closed, f, TEST_TIMEOUT_MS));
	assert_int_equal(sfu_admin_invalid_count(f->admin), 1);
	assert_int_equal(sfu_admin_client_count(f->admin), 0);
	assert_int_equal(f->requests, 0);
}

/* Proves lost framing with a readable id sends a final TypeError, closes. */
static void
test_admin_absurd_length_with_id_gets_final_error(void **state)
{
	struct fixture *f = *state;
	struct tclient *tc = NULL;
	static const uint8_t hdr[] = {0xff, 0xff, 0xff, 0xff};
	msgpack_sbuffer sb;
	char reason[SFU_ERROR_REASON_LEN];

	fixture_start(f);
	tc = fixture_connect(f);
	helpers_pack_sbuf(&sb, "{s:u, s:s}", "id", 9, "method", "x");
	tclient_queue_raw(tc, hdr, sizeof(hdr));
	tclient_queue_raw(tc, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);

	wait_error(f, tc, 9, "TypeError", reason, sizeof(reason));
	assert_non_null(strstr(reason, "framing lost"));
	f->watch = tc;
	assert_true(
	    run_loop_until(f->base, cond_watch_eof, f, TEST_TIMEOUT_MS));
	f->want = 1;
	assert_true(run_loop_until(f->base, cond_closed, f, TEST_TIMEOUT_MS));
	assert_int_equal(f->requests, 0);
}

/* --- output bound and client lifecycle --- */

/* Proves a non-reading client is dropped from the loop; others unaffected. */
static void
test_admin_slow_client_dropped_others_unaffected(void **state)
{
	struct fixture *f = *state;
	struct tclient *slow = NULL;
	struct tclient *other = NULL;
	struct sfu_admin_client *c = NULL;
	struct sfu_msg_builder b;
	msgpack_packer *pk = NULL;
	static uint8_t blob[8192];
	int r = 0;
	int i = 0;

	f->opts.max_output = 64 * 1024;
	fixture_start(f);
	slow = fixture_connect(f);
	other = fixture_connect(f);
	slow->paused = true;
	f->want = 2;
	assert_true(
	    run_loop_until(f->base, cond_client_count, f, TEST_TIMEOUT_MS));
	tclient_request(slow, 1, "master.subscribe");
	f->want = 1;
	assert_true(run_loop_until(f->base, cond_requests, f, TEST_TIMEOUT_MS));
	c = f->last_client;
	assert_non_null(c);

	sfu_msg_builder_init(&b);
	pk = sfu_msg_begin_notification(&b, "w1", "worker.spawned", true);
	msgpack_pack_bin(pk, sizeof(blob));
	msgpack_pack_bin_body(pk, blob, sizeof(blob));
	for (i = 0; i < 10000; i++) {
		r = sfu_admin_client_send(
		    c, (const uint8_t *)b.sbuf.data, b.sbuf.size);
		if (r == -1) {
			break;
		}
		(void)event_base_loop(f->base, EVLOOP_NONBLOCK);
	}
	assert_int_equal(r, -1);
	assert_int_equal(sfu_admin_dropped_clients(f->admin), 1);

	/* Not freed inside send: the caller may still hold c. */
	assert_int_equal(f->closed, 0);
	assert_int_equal(sfu_admin_client_count(f->admin), 1);
	assert_int_equal(count_clients(f->admin), 1); /* c is skipped */
	assert_int_equal(
	    sfu_admin_client_send(c, (const uint8_t *)b.sbuf.data, b.sbuf.size),
	    -1);
	sfu_msg_builder_release(&b);
	f->want = 1;
	assert_true(run_loop_until(f->base, cond_closed, f, TEST_TIMEOUT_MS));
	assert_ptr_equal(f->last_closed, c);
	assert_int_equal(sfu_admin_client_count(f->admin), 1);

	tclient_request(other, 2, "worker.dump");
	wait_accepted(f, other, 2);
	assert_int_equal(f->closed, 1);
	assert_int_equal(sfu_admin_dropped_clients(f->admin), 1);
}

/* Proves foreach_client visits every connected client; sends reach them. */
static void
test_admin_foreach_client_reaches_every_client(void **state)
{
	struct fixture *f = *state;
	struct tclient *tc[3] = {NULL, NULL, NULL};
	struct sfu_msg m;
	int i = 0;

	fixture_start(f);
	for (i = 0; i < 3; i++) {
		tc[i] = fixture_connect(f);
	}
	f->want = 3;
	assert_true(
	    run_loop_until(f->base, cond_client_count, f, TEST_TIMEOUT_MS));
	assert_int_equal(count_clients(f->admin), 3);
	sfu_msg_begin_notification(&f->builder, "w1", "worker.died", false);
	sfu_admin_foreach_client(f->admin, send_built, f);
	for (i = 0; i < 3; i++) {
		wait_message(f, tc[i], &m);
		assert_true(sfu_msg_str_eq(
		    sfu_msg_map_get(m.root, "event"), "worker.died"));
		sfu_msg_release(&m);
	}
	tclient_close(tc[1]);
	f->want = 1;
	assert_true(run_loop_until(f->base, cond_closed, f, TEST_TIMEOUT_MS));
	assert_int_equal(count_clients(f->admin), 2);
}

/* Proves a client's EOF is reported once through on_client_closed. */
static void
test_admin_client_eof_calls_on_client_closed(void **state)
{
	struct fixture *f = *state;
	struct tclient *tc = NULL;
	struct sfu_admin_client *c = NULL;

	fixture_start(f);
	tc = fixture_connect(f);
	tclient_request(tc, 1, "x");
	wait_accepted(f, tc, 1);
	c = f->last_client;
	tclient_close(tc);
	f->want = 1;
	assert_true(run_loop_until(f->base, cond_closed, f, TEST_TIMEOUT_MS));
	assert_ptr_equal(f->last_closed, c);
	assert_int_equal(sfu_admin_client_count(f->admin), 0);
	assert_false(run_loop_until(f->base, cond_never, f, 50));
	assert_int_equal(f->closed, 1);
}

/* Proves connections past max_clients are closed at once and counted. */
static void
test_admin_max_clients_enforced(void **state)
{
	struct fixture *f = *state;
	struct tclient *c1 = NULL;
	struct tclient *c3 = NULL;

	f->opts.max_clients = 2;
	fixture_start(f);
	c1 = fixture_connect(f);
	(void)fixture_connect(f);
	f->want = 2;
	assert_true(
	    run_loop_until(f->base, cond_client_count, f, TEST_TIMEOUT_MS));

	c3 = fixture_connect(f);
	f->watch = c3;
	assert_true(
	    run_loop_until(f->base, cond_watch_eof, f, TEST_TIMEOUT_MS));
	assert_int_equal(sfu_admin_rejected_clients(f->admin), 1);
	assert_int_equal(sfu_admin_client_count(f->admin), 2);
	assert_int_equal(f->closed, 0);

	tclient_request(c1, 1, "x");
	wait_accepted(f, c1, 1);

	tclient_close(c1);
	f->want = 1;
	assert_true(
	    run_loop_until(f->base, cond_client_count, f, TEST_TIMEOUT_MS));
	c3 = fixture_connect(f);
	tclient_request(c3, 2, "x");
	wait_accepted(f, c3, 2);
	assert_int_equal(sfu_admin_rejected_clients(f->admin), 1);
}

/* Proves the client's pid and uid come from SO_PEERCRED. */
static void
test_admin_peer_credentials(void **state)
{
	struct fixture *f = *state;
	struct tclient *tc = NULL;

	fixture_start(f);
	tc = fixture_connect(f);
	tclient_request(tc, 1, "x");
	wait_accepted(f, tc, 1);
	assert_int_equal(sfu_admin_client_pid(f->last_client), getpid());
	assert_int_equal(sfu_admin_client_uid(f->last_client), getuid());
}

/* Proves stop_accepting refuses newcomers but keeps connected clients. */
static void
test_admin_stop_accepting_keeps_clients(void **state)
{
	struct fixture *f = *state;
	struct tclient *c1 = NULL;

	fixture_start(f);
	c1 = fixture_connect(f);
	f->want = 1;
	assert_true(
	    run_loop_until(f->base, cond_client_count, f, TEST_TIMEOUT_MS));
	sfu_admin_stop_accepting(f->admin);
	(void)fixture_connect(f);
	assert_false(run_loop_until(f->base, cond_never, f, 100));
	assert_int_equal(sfu_admin_client_count(f->admin), 1);
	tclient_request(c1, 1, "x");
	wait_accepted(f, c1, 1);
}

/* Proves freeing with clients calls no callback and closes their sockets. */
static void
test_admin_free_with_clients_calls_no_callback(void **state)
{
	struct fixture *f = *state;
	struct tclient *c1 = NULL;

	fixture_start(f);
	c1 = fixture_connect(f);
	(void)fixture_connect(f);
	f->want = 2;
	assert_true(
	    run_loop_until(f->base, cond_client_count, f, TEST_TIMEOUT_MS));
	sfu_admin_free(f->admin);
	f->admin = NULL;
	assert_int_equal(f->closed, 0);

	/* libevent finalizes (closes) freed bufferevents from the loop. */
	f->watch = c1;
	assert_true(
	    run_loop_until(f->base, cond_watch_eof, f, TEST_TIMEOUT_MS));
	assert_int_equal(f->closed, 0);
}

/* --- the socket file --- */

/* Proves the socket file has exactly opts->mode, whatever the umask. */
static void
test_admin_socket_mode_is_opts_mode(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	mode_t old_mask = 0;

	f->opts.mode = 0660;
	old_mask = umask(022);
	fixture_start(f);
	assert_int_equal(umask(old_mask), 022); /* restored */
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	sfu_admin_free(f->admin);
	f->admin = NULL;

	f->opts.mode = 0600;
	old_mask = umask(0);
	fixture_start(f);
	umask(old_mask);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

/* Proves a socket file nobody accepts on is replaced. */
static void
test_admin_stale_socket_replaced(void **state)
{
	struct fixture *f = *state;
	struct tclient *tc = NULL;
	int fd = -1;

	fd = bind_unix(f->path, true);
	close(fd);
	fixture_start(f);
	tc = fixture_connect(f);
	tclient_request(tc, 1, "x");
	wait_accepted(f, tc, 1);
}

/* Proves a live socket is refused with an error naming the path, and kept. */
static void
test_admin_live_socket_refused(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err = {0};
	struct sfu_admin *a = NULL;
	struct stat before;
	struct stat after;
	int fd = -1;

	fd = bind_unix(f->path, true);
	assert_int_equal(lstat(f->path, &before), 0);
	a = sfu_admin_new(f->base, &f->opts, &test_listener, f, &err);
	assert_null(a);
	assert_non_null(strstr(err.reason, "another process is listening"));
	assert_non_null(strstr(err.reason, f->path));
	assert_int_equal(lstat(f->path, &after), 0);
	assert_int_equal(after.st_ino, before.st_ino);
	close(fd);
}

/* Proves a regular file at the path is refused and never deleted. */
static void
test_admin_regular_file_refused_and_kept(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err = {0};
	struct sfu_admin *a = NULL;
	struct stat st;
	char buf[16];
	int fd = -1;

	fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	a = sfu_admin_new(f->base, &f->opts, &test_listener, f, &err);
	assert_null(a);
	assert_non_null(strstr(err.reason, "not a socket"));
	assert_non_null(strstr(err.reason, f->path));
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "keep", 4);
	close(fd);
}

/* Proves a path longer than sun_path is refused, the error naming it. */
static void
test_admin_path_too_long_refused(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err = {0};
	struct sfu_admin *a = NULL;
	char path[200];

	memset(path, 'a', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	path[0] = '/';
	f->opts.path = path;
	a = sfu_admin_new(f->base, &f->opts, &test_listener, f, &err);
	assert_null(a);
	assert_non_null(strstr(err.reason, "/aaaaaaaaaaaaaaaaaaaa"));
	assert_non_null(strstr(err.reason, "length"));
}

/* Proves sfu_admin_free removes the socket file. */
static void
test_admin_free_unlinks_path(void **state)
{
	struct fixture *f = *state;
	struct stat st;

	fixture_start(f);
	assert_int_equal(lstat(f->path, &st), 0);
	sfu_admin_free(f->admin);
	f->admin = NULL;
	assert_int_equal(lstat(f->path, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* Proves sfu_admin_free leaves a path that is no longer our socket. */
static void
test_admin_free_keeps_replaced_path(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	int fd = -1;

	fixture_start(f);
	assert_int_equal(unlink(f->path), 0);
	fd = bind_unix(f->path, false);
	sfu_admin_free(f->admin);
	f->admin = NULL;
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_admin_request_reaches_listener_and_reply_reaches_client,
	        setup_admin, teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_pipelined_and_split_requests_answered, setup_admin,
	        teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_invalid_with_id_gets_type_error_and_stays_open,
	        setup_admin, teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_invalid_without_id_counted_without_response,
	        setup_admin, teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_oversize_frame_gets_type_error_then_next_works,
	        setup_admin, teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_absurd_length_closes_connection, setup_admin,
	        teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_absurd_length_with_id_gets_final_error, setup_admin,
	        teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_slow_client_dropped_others_unaffected, setup_admin,
	        teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_foreach_client_reaches_every_client, setup_admin,
	        teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_client_eof_calls_on_client_closed, setup_admin,
	        teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_max_clients_enforced, setup_admin, teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_peer_credentials, setup_admin, teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_stop_accepting_keeps_clients, setup_admin,
	        teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_free_with_clients_calls_no_callback, setup_admin,
	        teardown_admin),
	    cmocka_unit_test_setup_teardown(test_admin_socket_mode_is_opts_mode,
	        setup_admin, teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_stale_socket_replaced, setup_admin, teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_live_socket_refused, setup_admin, teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_regular_file_refused_and_kept, setup_admin,
	        teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_path_too_long_refused, setup_admin, teardown_admin),
	    cmocka_unit_test_setup_teardown(
	        test_admin_free_unlinks_path, setup_admin, teardown_admin),
	    cmocka_unit_test_setup_teardown(test_admin_free_keeps_replaced_path,
	        setup_admin, teardown_admin),
	};

	/* The daemon's only raw disposition (STYLE §6): writes to a gone
	 * client must fail with EPIPE, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("admin", tests, NULL, NULL);
}
