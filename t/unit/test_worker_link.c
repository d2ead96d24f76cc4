/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for master/worker_link on a real event_base. The fake worker
 * is the test itself, holding the far ends of two socketpairs (its fd 3
 * and 4) and of a pipe (its stdout/stderr); one test spawns a real /bin/sh
 * worker through master/spawn. Log output is captured by installing a
 * struct sfu_log with a recording sink. Every wait is bounded by
 * run_loop_until().
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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
#include <msgpack.h>

#include "common/error.h"
#include "common/frame.h"
#include "common/log.h"
#include "common/msg.h"
#include "helpers.h"
#include "master/spawn.h"
#include "master/worker_link.h"

#define TEST_TIMEOUT_MS 5000
#define TEST_MAX_LINES 64
#define TEST_MAX_MSGS 16

struct captured_line {
	enum sfu_log_level level;
	char *text; /* owned */
};

struct fixture {
	struct event_base *base;      /* owned */
	struct sfu_worker_link *link; /* owned, NULL once freed */
	int req_peer;                 /* owned: the worker's fd 3 */
	int resp_peer;                /* owned: the worker's fd 4 */
	int log_peer;                 /* owned: the worker's stdout */

	struct sfu_log log; /* installed for the test */
	struct sfu_log *old_log;
	struct captured_line lines[TEST_MAX_LINES];
	size_t nlines;

	uint64_t ids[TEST_MAX_MSGS];  /* "id" of each message */
	uint8_t *raws[TEST_MAX_MSGS]; /* owned copies of raw */
	size_t raw_lens[TEST_MAX_MSGS];
	size_t nmsgs;
	int closed;
	bool free_in_message; /* free the link in on_message */
	bool free_in_closed;  /* free the link in on_closed */
};

/* --- log capture --- */

static void
capture_sink(void *ctx, enum sfu_log_level level, const char *line)
{
	struct fixture *f = ctx;

	if (f->nlines < TEST_MAX_LINES) {
		f->lines[f->nlines].level = level;
		f->lines[f->nlines].text = strdup(line);
		f->nlines++;
	}
}

/* The index of the first captured line containing s, or -1. */
static int
find_line(const struct fixture *f, const char *s)
{
	size_t i = 0;

	for (i = 0; i < f->nlines; i++) {
		if (strstr(f->lines[i].text, s) != NULL) {
			return (int)i;
		}
	}
	return -1;
}

static size_t
count_lines_with(const struct fixture *f, const char *s)
{
	size_t i = 0;
	size_t n = 0;

	for (i = 0; i < f->nlines; i++) {
		if (strstr(f->lines[i].text, s) != NULL) {
			n++;
		}
	}
	return n;
}

/* --- listener --- */

static void
test_on_message(void *ctx, struct sfu_worker_link *l,
    const msgpack_object *root, const uint8_t *raw, size_t len)
{
	struct fixture *f = ctx;
	uint64_t id = 0;

	assert_ptr_equal(l, f->link);
	assert_int_equal(root->type, MSGPACK_OBJECT_MAP);
	if (f->nmsgs < TEST_MAX_MSGS) {
		(void)sfu_msg_get_uint(
		    root, NULL, "id", SFU_MSG_OPTIONAL, UINT32_MAX, &id, NULL);
		f->ids[f->nmsgs] = id;
		f->raws[f->nmsgs] = malloc(len > 0 ? len : 1);
		memcpy(f->raws[f->nmsgs], raw, len);
		f->raw_lens[f->nmsgs] = len;
		f->nmsgs++;
	}
	if (f->free_in_message) {
		sfu_worker_link_free(l);
		f->link = NULL;
	}
}

static void
test_on_closed(void *ctx, struct sfu_worker_link *l)
{
	struct fixture *f = ctx;

	assert_ptr_equal(l, f->link);
	f->closed++;
	if (f->free_in_closed) {
		sfu_worker_link_free(l);
		f->link = NULL;
	}
}

static const struct sfu_worker_link_listener test_listener = {
    .on_message = test_on_message,
    .on_closed = test_on_closed,
};

/* --- fixture --- */

static int
setup_link(void **state)
{
	struct fixture *f = NULL;
	struct sfu_error err = {0};
	int req[2] = {-1, -1};
	int resp[2] = {-1, -1};
	int logp[2] = {-1, -1};

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->base = event_base_new();
	assert_non_null(f->base);
	sfu_log_init(&f->log);
	f->log.level = SFU_LOG_LEVEL_DEBUG;
	f->log.sink = capture_sink;
	f->log.sink_ctx = f;
	f->old_log = sfu_log_set_current(&f->log);

	/* [0] is the master's end, [1] the fake worker's. */
	assert_int_equal(
	    socketpair(
	        AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, req),
	    0);
	assert_int_equal(
	    socketpair(
	        AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, resp),
	    0);
	assert_int_equal(pipe2(logp, O_CLOEXEC | O_NONBLOCK), 0);
	f->req_peer = req[1];
	f->resp_peer = resp[1];
	f->log_peer = logp[1];
	f->link = sfu_worker_link_new(f->base, 3, 1234, req[0], resp[0],
	    logp[0], &test_listener, f, &err);
	assert_non_null(f->link);
	*state = f;
	return 0;
}

static int
teardown_link(void **state)
{
	struct fixture *f = *state;
	size_t i = 0;

	if (f == NULL) {
		return 0;
	}
	sfu_worker_link_free(f->link);
	sfu_log_set_current(f->old_log);
	if (f->req_peer >= 0) {
		close(f->req_peer);
	}
	if (f->resp_peer >= 0) {
		close(f->resp_peer);
	}
	if (f->log_peer >= 0) {
		close(f->log_peer);
	}
	event_base_free(f->base);
	for (i = 0; i < f->nlines; i++) {
		free(f->lines[i].text);
	}
	for (i = 0; i < f->nmsgs; i++) {
		free(f->raws[i]);
	}
	free(f);
	*state = NULL;
	return 0;
}

/* --- helpers --- */

struct wait_count {
	const size_t *value;
	size_t want;
};

static bool
count_reached(void *arg)
{
	const struct wait_count *w = arg;

	return *w->value >= w->want;
}

static bool
closed_reported(void *arg)
{
	const struct fixture *f = arg;

	return f->closed > 0;
}

/* Runs the loop until at least want messages arrived. */
static void
wait_msgs(struct fixture *f, size_t want)
{
	struct wait_count w = {&f->nmsgs, want};

	assert_true(
	    run_loop_until(f->base, count_reached, &w, TEST_TIMEOUT_MS));
}

static void
wait_lines(struct fixture *f, size_t want)
{
	struct wait_count w = {&f->nlines, want};

	assert_true(
	    run_loop_until(f->base, count_reached, &w, TEST_TIMEOUT_MS));
}

static bool
never(void *arg)
{
	(void)arg;
	return false;
}

/* Lets the loop run briefly (for "nothing more happens" checks). */
static void
spin(struct fixture *f, int ms)
{
	(void)run_loop_until(f->base, never, NULL, ms);
}

/*
 * Writes all of data to a non-blocking fd, running the loop while the
 * peer catches up; fails past the deadline.
 */
static void
write_all(struct fixture *f, int fd, const void *data, size_t len)
{
	const uint8_t *p = data;
	struct timespec t0;
	struct timespec t1;
	ssize_t n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (len > 0) {
		n = write(fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		assert_true(n == -1 && (errno == EAGAIN || errno == EINTR));
		spin(f, 1);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_true(t1.tv_sec - t0.tv_sec < TEST_TIMEOUT_MS / 1000);
	}
}

static void
write_str(struct fixture *f, int fd, const char *s)
{
	write_all(f, fd, s, strlen(s));
}

/* Appends a 4-byte big-endian length and payload to buf. */
static size_t
put_frame(uint8_t *buf, const void *payload, size_t len)
{
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	memcpy(buf + 4, payload, len);
	return len + 4;
}

/* A response {id, accepted: true} packed into sb. */
static void
pack_response(msgpack_sbuffer *sb, unsigned id)
{
	helpers_pack_sbuf(sb, "{s:u, s:t}", "id", id, "accepted");
}

/* --- channel input --- */

/* Frames split across reads and coalesced in one read all come out. */
static void
test_worker_link_delivers_split_and_coalesced_frames(void **state)
{
	struct fixture *f = *state;
	msgpack_sbuffer sb[3];
	uint8_t buf[256];
	size_t len = 0;
	size_t first = 0;
	int i = 0;

	for (i = 0; i < 3; i++) {
		pack_response(&sb[i], 10 + (unsigned)i);
	}

	/* Frame 1 in three pieces: half the header, the rest, the payload. */
	first = put_frame(buf, sb[0].data, sb[0].size);
	write_all(f, f->resp_peer, buf, 2);
	spin(f, 20);
	write_all(f, f->resp_peer, buf + 2, 3);
	spin(f, 20);
	assert_int_equal(f->nmsgs, 0);
	write_all(f, f->resp_peer, buf + 5, first - 5);
	wait_msgs(f, 1);

	/* Frames 2 and 3 in one write. */
	len = put_frame(buf, sb[1].data, sb[1].size);
	len += put_frame(buf + len, sb[2].data, sb[2].size);
	write_all(f, f->resp_peer, buf, len);
	wait_msgs(f, 3);

	assert_int_equal(f->nmsgs, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(f->ids[i], 10 + i);
		assert_int_equal(f->raw_lens[i], sb[i].size);
		assert_memory_equal(f->raws[i], sb[i].data, sb[i].size);
		msgpack_sbuffer_destroy(&sb[i]);
	}
	assert_int_equal(f->closed, 0);
}

/* A frame that is not a MessagePack map is logged and dropped, not fatal. */
static void
test_worker_link_drops_undecodable_message(void **state)
{
	struct fixture *f = *state;
	static const uint8_t garbage[] = {0xc1, 0x00};
	static const uint8_t array[] = {0x91, 0x01};
	msgpack_sbuffer sb;
	uint8_t buf[256];
	size_t len = 0;
	int at = -1;

	pack_response(&sb, 7);
	len = put_frame(buf, garbage, sizeof(garbage));
	len += put_frame(buf + len, array, sizeof(array));
	len += put_frame(buf + len, sb.data, sb.size);
	write_all(f, f->resp_peer, buf, len);
	wait_msgs(f, 1);
	msgpack_sbuffer_destroy(&sb);

	assert_int_equal(f->nmsgs, 1);
	assert_int_equal(f->ids[0], 7);
	assert_int_equal(f->closed, 0);
	assert_int_equal(count_lines_with(f, "does not decode"), 2);
	at = find_line(f, "does not decode");
	assert_true(at >= 0);
	assert_non_null(strstr(f->lines[at].text, "worker 3 pid 1234: "));
	assert_int_equal(f->lines[at].level, SFU_LOG_LEVEL_WARN);
}

/* A frame over 4 MiB is skipped and logged; the next one still arrives. */
static void
test_worker_link_skips_oversize_frame(void **state)
{
	struct fixture *f = *state;
	size_t big = SFU_FRAME_MAX_LEN + 1;
	msgpack_sbuffer sb;
	uint8_t hdr[4];
	uint8_t buf[64];
	uint8_t *payload = NULL;
	size_t len = 0;

	hdr[0] = (uint8_t)(big >> 24);
	hdr[1] = (uint8_t)(big >> 16);
	hdr[2] = (uint8_t)(big >> 8);
	hdr[3] = (uint8_t)big;
	payload = calloc(1, big);
	assert_non_null(payload);
	write_all(f, f->resp_peer, hdr, sizeof(hdr));
	write_all(f, f->resp_peer, payload, big);
	free(payload);
	pack_response(&sb, 99);
	len = put_frame(buf, sb.data, sb.size);
	write_all(f, f->resp_peer, buf, len);
	msgpack_sbuffer_destroy(&sb);
	wait_msgs(f, 1);

	assert_int_equal(f->nmsgs, 1);
	assert_int_equal(f->ids[0], 99);
	assert_int_equal(f->closed, 0);
	assert_true(find_line(f, "worker 3 pid 1234: skipping a message") >= 0);
}

/* An absurd frame length (framing lost) reports on_closed exactly once. */
static void
test_worker_link_reports_framing_lost_once(void **state)
{
	struct fixture *f = *state;
	static const uint8_t absurd[] = {'G', 'E', 'T', ' ', 'x'};

	write_all(f, f->resp_peer, absurd, sizeof(absurd));
	assert_true(
	    run_loop_until(f->base, closed_reported, f, TEST_TIMEOUT_MS));
	close(f->resp_peer);
	f->resp_peer = -1;
	spin(f, 50);
	assert_int_equal(f->closed, 1);
	assert_true(find_line(f, "framing lost") >= 0);

	/* Closed: nothing more is sent. */
	assert_int_equal(
	    sfu_worker_link_send(f->link, (const uint8_t *)"\x80", 1), -1);
}

/*
 * The worker dies with a request queued: EOF on its fd 4 and the write
 * error on its fd 3 together report on_closed exactly once.
 */
static void
test_worker_link_reports_eof_once(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(
	    sfu_worker_link_send(f->link, (const uint8_t *)"\x80", 1), 0);
	close(f->resp_peer);
	f->resp_peer = -1;
	close(f->req_peer);
	f->req_peer = -1;
	assert_true(
	    run_loop_until(f->base, closed_reported, f, TEST_TIMEOUT_MS));
	spin(f, 50);
	assert_int_equal(f->closed, 1);
	assert_int_equal(
	    sfu_worker_link_send(f->link, (const uint8_t *)"\x80", 1), -1);
}

/* A write error on the request side (worker gone) reports on_closed. */
static void
test_worker_link_reports_request_side_failure(void **state)
{
	struct fixture *f = *state;

	close(f->req_peer);
	f->req_peer = -1;
	assert_int_equal(
	    sfu_worker_link_send(f->link, (const uint8_t *)"\x80", 1), 0);
	assert_true(
	    run_loop_until(f->base, closed_reported, f, TEST_TIMEOUT_MS));
	spin(f, 20);
	assert_int_equal(f->closed, 1);
}

/* The listener may free the link in on_message; nothing touches it after. */
static void
test_worker_link_listener_may_free_in_on_message(void **state)
{
	struct fixture *f = *state;
	msgpack_sbuffer sb;
	uint8_t buf[256];
	size_t len = 0;

	f->free_in_message = true;
	pack_response(&sb, 1);
	len = put_frame(buf, sb.data, sb.size);
	len += put_frame(buf + len, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	write_all(f, f->resp_peer, buf, len);
	wait_msgs(f, 1);
	spin(f, 20);
	assert_null(f->link);
	assert_int_equal(f->nmsgs, 1);
	assert_int_equal(f->closed, 0);
}

/* The listener may free the link in on_closed. */
static void
test_worker_link_listener_may_free_in_on_closed(void **state)
{
	struct fixture *f = *state;

	f->free_in_closed = true;
	close(f->resp_peer);
	f->resp_peer = -1;
	assert_true(
	    run_loop_until(f->base, closed_reported, f, TEST_TIMEOUT_MS));
	spin(f, 20);
	assert_null(f->link);
	assert_int_equal(f->closed, 1);
}

/* --- channel output --- */

/* send() frames each message with its 4-byte big-endian length. */
static void
test_worker_link_sends_frames(void **state)
{
	struct fixture *f = *state;
	msgpack_sbuffer a;
	msgpack_sbuffer b;
	uint8_t want[256];
	uint8_t got[256];
	size_t want_len = 0;
	size_t got_len = 0;
	ssize_t n = 0;
	int i = 0;

	helpers_pack_sbuf(&a, "{s:u, s:s}", "id", 1u, "method", "worker.dump");
	helpers_pack_sbuf(&b, "{s:u, s:s}", "id", 2u, "method", "worker.close");
	assert_int_equal(
	    sfu_worker_link_send(f->link, (uint8_t *)a.data, a.size), 0);
	assert_int_equal(
	    sfu_worker_link_send(f->link, (uint8_t *)b.data, b.size), 0);
	want_len = put_frame(want, a.data, a.size);
	want_len += put_frame(want + want_len, b.data, b.size);
	msgpack_sbuffer_destroy(&a);
	msgpack_sbuffer_destroy(&b);

	for (i = 0; i < 500 && got_len < want_len; i++) {
		spin(f, 1);
		n = read(f->req_peer, got + got_len, sizeof(got) - got_len);
		if (n > 0) {
			got_len += (size_t)n;
		}
	}
	assert_int_equal(got_len, want_len);
	assert_memory_equal(got, want, want_len);
}

/* A message over the frame limit is refused; the link stays open. */
static void
test_worker_link_refuses_message_over_frame_limit(void **state)
{
	struct fixture *f = *state;
	uint8_t *big = NULL;

	big = calloc(1, SFU_FRAME_MAX_LEN + 1);
	assert_non_null(big);
	big[0] = 0x80;
	assert_int_equal(
	    sfu_worker_link_send(f->link, big, SFU_FRAME_MAX_LEN + 1), -1);
	free(big);
	assert_int_equal(
	    sfu_worker_link_send(f->link, (const uint8_t *)"\x80", 1), 0);
	spin(f, 20);
	assert_int_equal(f->closed, 0);
}

/*
 * A worker that stops reading: sends are refused once 64 MiB are queued,
 * and the link reports on_closed from the loop, not inside send().
 */
static void
test_worker_link_refuses_send_past_output_bound(void **state)
{
	struct fixture *f = *state;
	size_t chunk = SFU_FRAME_MAX_LEN;
	size_t queued = 0;
	uint8_t *msg = NULL;
	int r = 0;
	int i = 0;

	msg = calloc(1, chunk);
	assert_non_null(msg);
	msg[0] = 0x80;
	for (i = 0; i < 32; i++) {
		r = sfu_worker_link_send(f->link, msg, chunk);
		if (r == -1) {
			break;
		}
		queued += chunk + 4;
	}
	assert_int_equal(r, -1);
	assert_true(queued <= SFU_WORKER_LINK_MAX_OUT_LEN);
	assert_true(queued + chunk + 4 > SFU_WORKER_LINK_MAX_OUT_LEN);
	assert_int_equal(f->closed, 0); /* not from inside send() */
	assert_int_equal(sfu_worker_link_send(f->link, msg, 1), -1);
	free(msg);

	assert_true(
	    run_loop_until(f->base, closed_reported, f, TEST_TIMEOUT_MS));
	spin(f, 20);
	assert_int_equal(f->closed, 1);
	assert_true(find_line(f, "worker 3 pid 1234: not reading") >= 0);
}

/* shutdown() delivers what was queued, then the worker reads EOF. */
static void
test_worker_link_shutdown_sends_eof_after_queued(void **state)
{
	struct fixture *f = *state;
	uint8_t got[64];
	size_t got_len = 0;
	ssize_t n = 0;
	bool eof = false;
	int i = 0;

	assert_int_equal(
	    sfu_worker_link_send(f->link, (const uint8_t *)"\x80", 1), 0);
	sfu_worker_link_shutdown(f->link);
	assert_int_equal(
	    sfu_worker_link_send(f->link, (const uint8_t *)"\x80", 1), -1);
	for (i = 0; i < 500 && !eof; i++) {
		spin(f, 1);
		n = read(f->req_peer, got + got_len, sizeof(got) - got_len);
		if (n > 0) {
			got_len += (size_t)n;
		} else if (n == 0) {
			eof = true;
		}
	}
	assert_true(eof);
	assert_int_equal(got_len, 5);
	assert_memory_equal(got, "\x00\x00\x00\x01\x80", 5);

	/* Shutting the request side is not a broken channel. */
	assert_int_equal(f->closed, 0);
}

/* --- log pipe --- */

/* Each line is logged with the "worker N pid P: " prefix, verbatim. */
static void
test_worker_link_logs_lines_with_prefix(void **state)
{
	struct fixture *f = *state;
	const char *wline =
	    "2026-11-22T10:45:23.123Z info  router: created [id:r1]";
	char want[256];
	int at = -1;

	/* One worker line, then a plain line split across two writes. */
	write_str(f, f->log_peer, wline);
	write_str(f, f->log_peer, "\nsegfault ");
	spin(f, 20);
	assert_int_equal(count_lines_with(f, "worker 3 pid 1234: "), 1);
	write_str(f, f->log_peer, "at 0x0\n\n");
	wait_lines(f, 2);
	spin(f, 20);

	snprintf(
	    want, sizeof(want), "worker_link: worker 3 pid 1234: %s", wline);
	assert_int_equal(f->nlines, 2);
	assert_string_equal(f->lines[0].text, want);
	assert_int_equal(f->lines[0].level, SFU_LOG_LEVEL_INFO);

	/* Not in the worker's format: warn, so it shows at any level. */
	at = find_line(f, "segfault");
	assert_true(at == 1);
	assert_string_equal(f->lines[1].text,
	    "worker_link: worker 3 pid 1234: segfault at 0x0");
	assert_int_equal(f->lines[1].level, SFU_LOG_LEVEL_WARN);
}

/* A partial last line is logged when the pipe reaches EOF. */
static void
test_worker_link_flushes_partial_line_at_eof(void **state)
{
	struct fixture *f = *state;

	write_str(f, f->log_peer, "first\nno newline at the end");
	wait_lines(f, 1);
	spin(f, 20);
	assert_int_equal(f->nlines, 1);
	close(f->log_peer);
	f->log_peer = -1;
	wait_lines(f, 2);
	assert_string_equal(f->lines[1].text,
	    "worker_link: worker 3 pid 1234: no newline at the end");

	/* The log pipe closing is not the channel closing. */
	assert_int_equal(f->closed, 0);
}

/* A line over the limit is logged once, cut; the rest of it is dropped. */
static void
test_worker_link_cuts_overlong_line(void **state)
{
	struct fixture *f = *state;
	size_t len = SFU_WORKER_LINK_MAX_LOG_LINE + 100;
	char *line = NULL;
	const char *p = NULL;

	line = malloc(len + 1);
	assert_non_null(line);
	memset(line, 'a', SFU_WORKER_LINK_MAX_LOG_LINE);
	memset(line + SFU_WORKER_LINK_MAX_LOG_LINE, 'b', 100);
	line[len] = '\0';
	write_str(f, f->log_peer, line);
	free(line);

	/* Logged as soon as the buffer is full, not at the newline. */
	wait_lines(f, 1);
	write_str(f, f->log_peer, "bbbb\nafter\n");
	wait_lines(f, 2);
	spin(f, 20);

	assert_int_equal(f->nlines, 2);
	p = strstr(f->lines[0].text, "worker 3 pid 1234: aaaa");
	assert_non_null(p);
	assert_null(strchr(f->lines[0].text, 'b'));
	assert_string_equal(
	    f->lines[1].text, "worker_link: worker 3 pid 1234: after");
}

/* free() logs what is still in the pipe: a dying worker's last words. */
static void
test_worker_link_free_reads_rest_of_log(void **state)
{
	struct fixture *f = *state;

	write_str(f, f->log_peer, "==1234==ERROR: AddressSanitizer\nSUMMARY");
	assert_int_equal(f->nlines, 0);
	sfu_worker_link_free(f->link);
	f->link = NULL;
	assert_int_equal(f->nlines, 2);
	assert_string_equal(f->lines[0].text,
	    "worker_link: worker 3 pid 1234: ==1234==ERROR: AddressSanitizer");
	assert_string_equal(
	    f->lines[1].text, "worker_link: worker 3 pid 1234: SUMMARY");
}

/* --- with a real process --- */

/*
 * A /bin/sh worker started by sfu_spawn_worker: its frame arrives, its
 * stderr line carries its real pid, its exit closes the link.
 */
static void
test_worker_link_with_spawned_worker(void **state)
{
	struct fixture *f = *state;
	char *const argv[] = {"sh", "-c",
	    "echo hello from the worker >&2;"
	    "read x <&3;"
	    "printf '\\000\\000\\000\\005\\201\\242id\\052' >&4",
	    NULL};
	struct sfu_spawn_options opts = {0};
	struct sfu_spawned s;
	struct sfu_error err = {0};
	struct sfu_worker_link *l = NULL;
	char want[128];
	int status = 0;
	pid_t w = 0;
	int i = 0;

	/* This test makes its own link: drop the fixture's. */
	sfu_worker_link_free(f->link);
	f->link = NULL;

	opts.binary = "/bin/sh";
	opts.argv = argv;
	opts.cpu = -1;
	assert_int_equal(sfu_spawn_worker(&opts, &s, &err), 0);
	l = sfu_worker_link_new(f->base, 0, s.pid, s.req_fd, s.resp_fd,
	    s.log_fd, &test_listener, f, &err);
	assert_non_null(l);
	f->link = l;
	assert_int_equal(
	    sfu_worker_link_send(l, (const uint8_t *)"\x80", 1), 0);

	/* read(1) returns at EOF: the request, then the shutdown. */
	sfu_worker_link_shutdown(l);
	wait_msgs(f, 1);
	assert_int_equal(f->ids[0], 42);
	assert_true(
	    run_loop_until(f->base, closed_reported, f, TEST_TIMEOUT_MS));
	snprintf(want, sizeof(want),
	    "worker_link: worker 0 pid %ld: hello from the worker",
	    (long)s.pid);
	sfu_worker_link_free(f->link);
	f->link = NULL;
	assert_true(find_line(f, want) >= 0);

	for (i = 0; i < 5000; i++) {
		w = waitpid(s.pid, &status, WNOHANG);
		if (w == s.pid) {
			break;
		}
		usleep(1000);
	}
	if (w != s.pid) {
		kill(s.pid, SIGKILL);
		waitpid(s.pid, &status, 0);
	}
	assert_int_equal(w, s.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* new() owns the fds: on failure it closes them too. */
static void
test_worker_link_new_closes_fds_on_failure(void **state)
{
	struct sfu_error err = {0};
	struct event_base *base = NULL;
	struct sfu_worker_link *l = NULL;
	int p[2] = {-1, -1};
	int q[2] = {-1, -1};

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(pipe2(q, O_CLOEXEC), 0);

	/* A closed fd as log_fd makes the third handle fail. */
	close(q[0]);
	l = sfu_worker_link_new(
	    base, 1, 1, p[1], p[0], q[0], &test_listener, NULL, &err);
	assert_null(l);
	assert_int_not_equal(err.kind, SFU_ERR_NONE);

	/* libevent closes a freed bufferevent's fd in its finalizer. */
	event_base_free(base);
	assert_int_equal(fcntl(p[0], F_GETFD), -1);
	assert_int_equal(fcntl(p[1], F_GETFD), -1);
	close(q[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_delivers_split_and_coalesced_frames,
	        setup_link, teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_drops_undecodable_message, setup_link,
	        teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_skips_oversize_frame, setup_link,
	        teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_reports_framing_lost_once, setup_link,
	        teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_reports_eof_once, setup_link, teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_reports_request_side_failure, setup_link,
	        teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_listener_may_free_in_on_message, setup_link,
	        teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_listener_may_free_in_on_closed, setup_link,
	        teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_sends_frames, setup_link, teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_refuses_message_over_frame_limit, setup_link,
	        teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_refuses_send_past_output_bound, setup_link,
	        teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_shutdown_sends_eof_after_queued, setup_link,
	        teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_logs_lines_with_prefix, setup_link,
	        teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_flushes_partial_line_at_eof, setup_link,
	        teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_cuts_overlong_line, setup_link, teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_free_reads_rest_of_log, setup_link,
	        teardown_link),
	    cmocka_unit_test_setup_teardown(
	        test_worker_link_with_spawned_worker, setup_link,
	        teardown_link),
	    cmocka_unit_test(test_worker_link_new_closes_fds_on_failure),
	};

	/* The master ignores SIGPIPE; so do we (writes to closed peers). */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("worker_link", tests, NULL, NULL);
}
