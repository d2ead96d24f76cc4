/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for common/frame: the incremental decoder over an evbuffer
 * (frames split across reads, coalesced in one read, empty, exactly at the
 * limit, oversize frames skipped in step, absurd lengths losing framing),
 * the encoder's limit, and a round trip through a real socketpair.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/frame.h"
#include "helpers.h"

/* --- helpers --- */

static uint8_t
pattern_byte(unsigned seed, size_t i)
{
	return (uint8_t)(seed * 31u + i * 7u + (i >> 8) + (i >> 16));
}

static uint8_t *
pattern_new(unsigned seed, size_t len)
{
	uint8_t *p = NULL;
	size_t i = 0;

	p = malloc(len == 0 ? 1 : len);
	assert_non_null(p);
	for (i = 0; i < len; i++) {
		p[i] = pattern_byte(seed, i);
	}
	return p;
}

static bool
pattern_ok(const uint8_t *p, size_t len, unsigned seed)
{
	size_t i = 0;

	for (i = 0; i < len; i++) {
		if (p[i] != pattern_byte(seed, i)) {
			return false;
		}
	}
	return true;
}

/* Appends one encoded frame of len pattern bytes to out. */
static void
add_frame(struct evbuffer *out, unsigned seed, size_t len)
{
	uint8_t *p = NULL;

	p = pattern_new(seed, len);
	assert_int_equal(sfu_frame_encode(out, p, len), 0);
	free(p);
}

/* Appends a bare 4-byte big-endian header. */
static void
add_header(struct evbuffer *out, uint32_t n)
{
	uint8_t hdr[4];

	hdr[0] = (uint8_t)(n >> 24);
	hdr[1] = (uint8_t)(n >> 16);
	hdr[2] = (uint8_t)(n >> 8);
	hdr[3] = (uint8_t)n;
	assert_int_equal(evbuffer_add(out, hdr, sizeof(hdr)), 0);
}

static int
setup_frame_bufs(void **state)
{
	struct evbuffer **b = NULL;

	b = calloc(2, sizeof(*b));
	if (b == NULL) {
		return -1;
	}
	b[0] = evbuffer_new();
	b[1] = evbuffer_new();
	if (b[0] == NULL || b[1] == NULL) {
		return -1;
	}
	*state = b;
	return 0;
}

static int
teardown_frame_bufs(void **state)
{
	struct evbuffer **b = *state;

	evbuffer_free(b[0]);
	evbuffer_free(b[1]);
	free(b);
	return 0;
}

/* --- decoding --- */

/* Proves the decoder starts with the 4 MiB limit and nothing to skip. */
static void
test_frame_decoder_init_defaults(void **state)
{
	struct sfu_frame_decoder d;

	(void)state;
	memset(&d, 0xa5, sizeof(d));
	sfu_frame_decoder_init(&d);
	assert_int_equal(d.max_len, SFU_FRAME_MAX_LEN);
	assert_int_equal(d.skip_left, 0);
	assert_null(d.buf);
	sfu_frame_decoder_release(&d);
	assert_null(d.buf);
}

/* Proves fewer than 4 header bytes yield AGAIN and consume nothing. */
static void
test_frame_partial_header_waits(void **state)
{
	struct evbuffer **b = *state;
	struct sfu_frame_decoder d;
	const uint8_t part[3] = {0, 0, 0};
	const uint8_t *p = (const uint8_t *)"x";
	size_t len = 99;
	size_t peek = 99;

	sfu_frame_decoder_init(&d);
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, &peek), SFU_FRAME_AGAIN);
	assert_null(p);
	assert_int_equal(len, 0);
	assert_int_equal(peek, 0);
	evbuffer_add(b[0], part, sizeof(part));
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, &peek), SFU_FRAME_AGAIN);
	assert_int_equal(evbuffer_get_length(b[0]), 3);
	sfu_frame_decoder_release(&d);
}

/* Proves frames fed one byte per read come out whole, each exactly when
 * its last byte arrives. */
static void
test_frame_decodes_byte_by_byte(void **state)
{
	static const size_t sizes[] = {1, 0, 5, 300, 70000, 2};
	const size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
	struct evbuffer **b = *state;
	struct sfu_frame_decoder d;
	enum sfu_frame_status st;
	const uint8_t *wire = NULL;
	const uint8_t *p = NULL;
	size_t ends[sizeof(sizes) / sizeof(sizes[0])];
	size_t total = 0;
	size_t len = 0;
	size_t got = 0;
	size_t i = 0;

	for (i = 0; i < nsizes; i++) {
		add_frame(b[1], (unsigned)i, sizes[i]);
		total += SFU_FRAME_HEADER_LEN + sizes[i];
		ends[i] = total;
	}
	assert_int_equal(evbuffer_get_length(b[1]), total);
	wire = evbuffer_pullup(b[1], -1);
	sfu_frame_decoder_init(&d);
	for (i = 0; i < total; i++) {
		evbuffer_add(b[0], wire + i, 1);
		while ((st = sfu_frame_decode(&d, b[0], &p, &len, NULL)) !=
		       SFU_FRAME_AGAIN) {
			assert_int_equal(st, SFU_FRAME_OK);
			assert_true(got < nsizes);
			assert_int_equal(i + 1, ends[got]);
			assert_int_equal(len, sizes[got]);
			assert_non_null(p);
			assert_true(pattern_ok(p, len, (unsigned)got));
			got++;
		}
	}
	assert_int_equal(got, nsizes);
	assert_int_equal(evbuffer_get_length(b[0]), 0);
	sfu_frame_decoder_release(&d);
}

/* Proves many frames arriving in one read come out one by one, in order,
 * and each OK removes exactly its header and payload from the buffer. */
static void
test_frame_decodes_coalesced_frames(void **state)
{
	struct evbuffer **b = *state;
	struct sfu_frame_decoder d;
	const uint8_t *p = NULL;
	size_t left = 0;
	size_t len = 0;
	size_t i = 0;

	for (i = 0; i < 200; i++) {
		add_frame(b[0], (unsigned)i, (i * 37) % 1000);
	}
	sfu_frame_decoder_init(&d);
	for (i = 0; i < 200; i++) {
		left = evbuffer_get_length(b[0]);
		assert_int_equal(
		    sfu_frame_decode(&d, b[0], &p, &len, NULL), SFU_FRAME_OK);
		assert_int_equal(len, (i * 37) % 1000);
		assert_true(pattern_ok(p, len, (unsigned)i));
		assert_int_equal(evbuffer_get_length(b[0]),
		    left - SFU_FRAME_HEADER_LEN - len);
	}
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, NULL), SFU_FRAME_AGAIN);
	assert_int_equal(evbuffer_get_length(b[0]), 0);
	sfu_frame_decoder_release(&d);
}

/* Proves a zero-length frame decodes as OK with len 0 and the stream
 * continues with the next frame. */
static void
test_frame_decodes_zero_length_frame(void **state)
{
	struct evbuffer **b = *state;
	struct sfu_frame_decoder d;
	const uint8_t *p = NULL;
	size_t len = 99;

	add_header(b[0], 0);
	add_frame(b[0], 7, 3);
	sfu_frame_decoder_init(&d);
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, NULL), SFU_FRAME_OK);
	assert_int_equal(len, 0);
	assert_int_equal(evbuffer_get_length(b[0]), SFU_FRAME_HEADER_LEN + 3);
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, NULL), SFU_FRAME_OK);
	assert_int_equal(len, 3);
	assert_true(pattern_ok(p, len, 7));
	sfu_frame_decoder_release(&d);
}

/* Proves a frame of exactly SFU_FRAME_MAX_LEN bytes is encoded and
 * decoded intact (the limit is inclusive). */
static void
test_frame_accepts_exactly_max_len(void **state)
{
	struct evbuffer **b = *state;
	struct sfu_frame_decoder d;
	const uint8_t *p = NULL;
	uint8_t hdr[4];
	size_t len = 0;

	add_frame(b[0], 3, SFU_FRAME_MAX_LEN);
	assert_int_equal(evbuffer_get_length(b[0]),
	    SFU_FRAME_HEADER_LEN + SFU_FRAME_MAX_LEN);
	evbuffer_copyout(b[0], hdr, sizeof(hdr));
	assert_int_equal(hdr[0], 0x00);
	assert_int_equal(hdr[1], 0x40);
	assert_int_equal(hdr[2], 0x00);
	assert_int_equal(hdr[3], 0x00);
	add_frame(b[0], 4, 1);
	sfu_frame_decoder_init(&d);
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, NULL), SFU_FRAME_OK);
	assert_int_equal(len, SFU_FRAME_MAX_LEN);
	assert_true(pattern_ok(p, len, 3));
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, NULL), SFU_FRAME_OK);
	assert_int_equal(len, 1);
	sfu_frame_decoder_release(&d);
}

/* Proves an oversize frame (default limit) is reported exactly once with
 * its declared length and first 64 bytes, is skipped as it trickles in,
 * and the next normal frame then decodes. */
static void
test_frame_oversize_reported_once_then_in_step(void **state)
{
	struct evbuffer **b = *state;
	struct sfu_frame_decoder d;
	enum sfu_frame_status st;
	const size_t n = SFU_FRAME_MAX_LEN + 1;
	const size_t chunk = 4093;
	const uint8_t *wire = NULL;
	const uint8_t *p = NULL;
	uint8_t *big = NULL;
	size_t total = 0;
	size_t off = 0;
	size_t len = 0;
	size_t peek = 0;
	int oversize = 0;
	int ok = 0;

	big = pattern_new(11, n);
	add_header(b[1], (uint32_t)n);
	evbuffer_add(b[1], big, n);
	add_frame(b[1], 12, 17);
	total = evbuffer_get_length(b[1]);
	wire = evbuffer_pullup(b[1], -1);
	sfu_frame_decoder_init(&d);

	/* Header plus 10 payload bytes: it waits for the 64 peek bytes. */
	evbuffer_add(b[0], wire, SFU_FRAME_HEADER_LEN + 10);
	off = SFU_FRAME_HEADER_LEN + 10;
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, &peek), SFU_FRAME_AGAIN);
	while (off < total) {
		len = total - off < chunk ? total - off : chunk;
		evbuffer_add(b[0], wire + off, len);
		off += len;
		while ((st = sfu_frame_decode(&d, b[0], &p, &len, &peek)) !=
		       SFU_FRAME_AGAIN) {
			if (st == SFU_FRAME_OVERSIZE) {
				oversize++;
				assert_int_equal(len, n);
				assert_int_equal(peek, SFU_FRAME_PEEK_LEN);
				assert_memory_equal(p, big, SFU_FRAME_PEEK_LEN);
				assert_int_equal(ok, 0);
			} else {
				assert_int_equal(st, SFU_FRAME_OK);
				assert_int_equal(oversize, 1);
				assert_int_equal(len, 17);
				assert_true(pattern_ok(p, len, 12));
				ok++;
			}
		}
	}
	assert_int_equal(oversize, 1);
	assert_int_equal(ok, 1);
	assert_int_equal(evbuffer_get_length(b[0]), 0);
	assert_int_equal(d.skip_left, 0);
	free(big);
	sfu_frame_decoder_release(&d);
}

/* Proves with a small limit that an oversize frame shorter than the peek
 * size shows all its bytes, that limit+1 is oversize and limit is not,
 * and that a NULL peek_len is accepted. */
static void
test_frame_oversize_small_limit(void **state)
{
	struct evbuffer **b = *state;
	struct sfu_frame_decoder d;
	const uint8_t *p = NULL;
	size_t len = 0;
	size_t peek = 0;

	add_frame(b[0], 1, 20);
	add_frame(b[0], 2, 16);
	add_frame(b[0], 3, 17);
	add_frame(b[0], 4, 0);
	sfu_frame_decoder_init(&d);
	d.max_len = 16;
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, &peek), SFU_FRAME_OVERSIZE);
	assert_int_equal(len, 20);
	assert_int_equal(peek, 20);
	assert_true(pattern_ok(p, peek, 1));
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, &peek), SFU_FRAME_OK);
	assert_int_equal(len, 16);
	assert_int_equal(peek, 0);
	assert_true(pattern_ok(p, len, 2));
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, NULL), SFU_FRAME_OVERSIZE);
	assert_int_equal(len, 17);
	assert_true(pattern_ok(p, 17, 3));
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, &peek), SFU_FRAME_OK);
	assert_int_equal(len, 0);
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, &peek), SFU_FRAME_AGAIN);
	sfu_frame_decoder_release(&d);
}

/* Proves a declared length of exactly SFU_FRAME_SKIP_MAX_LEN is still
 * skipped (OVERSIZE), while one byte more loses framing. */
static void
test_frame_skip_max_boundary(void **state)
{
	struct evbuffer **b = *state;
	struct sfu_frame_decoder d;
	const uint8_t *p = NULL;
	uint8_t *peekbytes = NULL;
	size_t len = 0;
	size_t peek = 0;

	peekbytes = pattern_new(5, SFU_FRAME_PEEK_LEN);
	add_header(b[0], SFU_FRAME_SKIP_MAX_LEN);
	evbuffer_add(b[0], peekbytes, SFU_FRAME_PEEK_LEN);
	sfu_frame_decoder_init(&d);
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, &peek), SFU_FRAME_OVERSIZE);
	assert_int_equal(len, SFU_FRAME_SKIP_MAX_LEN);
	assert_int_equal(peek, SFU_FRAME_PEEK_LEN);
	assert_memory_equal(p, peekbytes, SFU_FRAME_PEEK_LEN);
	assert_int_equal(
	    d.skip_left, SFU_FRAME_SKIP_MAX_LEN - SFU_FRAME_PEEK_LEN);
	sfu_frame_decoder_release(&d);

	evbuffer_drain(b[1], evbuffer_get_length(b[1]));
	add_header(b[1], SFU_FRAME_SKIP_MAX_LEN + 1);
	evbuffer_add(b[1], peekbytes, SFU_FRAME_PEEK_LEN);
	sfu_frame_decoder_init(&d);
	assert_int_equal(
	    sfu_frame_decode(&d, b[1], &p, &len, &peek), SFU_FRAME_LOST);
	assert_int_equal(len, SFU_FRAME_SKIP_MAX_LEN + 1);
	sfu_frame_decoder_release(&d);
	free(peekbytes);
}

/* Proves an absurd length (an HTTP request, 0xffffffff) reports LOST with
 * the declared length, and stays LOST on later calls. */
static void
test_frame_absurd_length_is_lost(void **state)
{
	struct evbuffer **b = *state;
	struct sfu_frame_decoder d;
	const char *http = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	const uint8_t *p = NULL;
	size_t len = 0;

	sfu_frame_decoder_init(&d);
	evbuffer_add(b[0], http, strlen(http));
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, NULL), SFU_FRAME_LOST);
	assert_int_equal(len, 0x47455420u);
	assert_int_equal(
	    sfu_frame_decode(&d, b[0], &p, &len, NULL), SFU_FRAME_LOST);
	sfu_frame_decoder_release(&d);

	sfu_frame_decoder_init(&d);
	add_header(b[1], 0xffffffffu);
	assert_int_equal(
	    sfu_frame_decode(&d, b[1], &p, &len, NULL), SFU_FRAME_LOST);
	assert_int_equal(len, 0xffffffffu);
	sfu_frame_decoder_release(&d);
}

/* --- encoding --- */

/* Proves the encoder writes a big-endian header and refuses a payload over
 * the limit without writing anything. */
static void
test_frame_encode_refuses_over_limit(void **state)
{
	struct evbuffer **b = *state;
	uint8_t *big = NULL;
	uint8_t out[4 + 258];

	big = calloc(1, SFU_FRAME_MAX_LEN + 1);
	assert_non_null(big);
	assert_int_equal(
	    sfu_frame_encode(b[0], big, SFU_FRAME_MAX_LEN + 1), -1);
	assert_int_equal(evbuffer_get_length(b[0]), 0);
	assert_int_equal(sfu_frame_encode(b[0], big, SIZE_MAX), -1);
	assert_int_equal(evbuffer_get_length(b[0]), 0);
	free(big);

	add_frame(b[0], 9, 258);
	assert_int_equal(evbuffer_get_length(b[0]), sizeof(out));
	evbuffer_remove(b[0], out, sizeof(out));
	assert_int_equal(out[0], 0);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 1);
	assert_int_equal(out[3], 2);
	assert_true(pattern_ok(out + 4, 258, 9));

	assert_int_equal(sfu_frame_encode(b[0], "", 0), 0);
	assert_int_equal(evbuffer_get_length(b[0]), SFU_FRAME_HEADER_LEN);
}

/* --- socketpair round trip --- */

static const size_t roundtrip_sizes[] = {
    0, 1, 100, 65536, 1024 * 1024, 3, SFU_FRAME_MAX_LEN};
#define ROUNDTRIP_COUNT (sizeof(roundtrip_sizes) / sizeof(roundtrip_sizes[0]))

struct roundtrip {
	struct sfu_frame_decoder d;
	struct evbuffer *out; /* owned: not yet written */
	struct evbuffer *in;  /* owned: read, not yet decoded */
	struct event *wev;    /* owned */
	struct event *rev;    /* owned */
	size_t got;
	bool failed;
	bool eof;
};

static void
roundtrip_on_writable(evutil_socket_t fd, short what, void *arg)
{
	struct roundtrip *rt = arg;
	int n = 0;

	(void)what;
	n = evbuffer_write(rt->out, fd);
	if (n == -1 && errno != EAGAIN) {
		rt->failed = true;
	}
	if (evbuffer_get_length(rt->out) == 0 || rt->failed) {
		event_del(rt->wev);
	}
}

static void
roundtrip_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct roundtrip *rt = arg;
	enum sfu_frame_status st;
	const uint8_t *p = NULL;
	size_t len = 0;
	int n = 0;

	(void)what;
	while ((n = evbuffer_read(rt->in, fd, 65536)) > 0) {
		;
	}
	if (n == 0) {
		rt->eof = true;
	}
	while ((st = sfu_frame_decode(&rt->d, rt->in, &p, &len, NULL)) ==
	       SFU_FRAME_OK) {
		if (rt->got >= ROUNDTRIP_COUNT ||
		    len != roundtrip_sizes[rt->got] ||
		    !pattern_ok(p, len, (unsigned)rt->got)) {
			rt->failed = true;
			return;
		}
		rt->got++;
	}
	if (st != SFU_FRAME_AGAIN) {
		rt->failed = true;
	}
}

static bool
roundtrip_done(void *arg)
{
	struct roundtrip *rt = arg;

	return rt->failed || rt->eof || rt->got == ROUNDTRIP_COUNT;
}

/* Proves frames written to a real non-blocking socketpair, including one
 * of exactly 4 MiB, arrive in order and intact through evbuffer reads. */
static void
test_frame_roundtrip_socketpair(void **state)
{
	struct helpers_io *io = *state;
	struct roundtrip rt;
	size_t i = 0;

	memset(&rt, 0, sizeof(rt));
	sfu_frame_decoder_init(&rt.d);
	rt.out = evbuffer_new();
	rt.in = evbuffer_new();
	assert_non_null(rt.out);
	assert_non_null(rt.in);
	for (i = 0; i < ROUNDTRIP_COUNT; i++) {
		add_frame(rt.out, (unsigned)i, roundtrip_sizes[i]);
	}
	rt.wev = event_new(io->base, io->fds[0], EV_WRITE | EV_PERSIST,
	    roundtrip_on_writable, &rt);
	rt.rev = event_new(io->base, io->fds[1], EV_READ | EV_PERSIST,
	    roundtrip_on_readable, &rt);
	assert_non_null(rt.wev);
	assert_non_null(rt.rev);
	assert_int_equal(event_add(rt.wev, NULL), 0);
	assert_int_equal(event_add(rt.rev, NULL), 0);

	assert_true(run_loop_until(io->base, roundtrip_done, &rt, 10000));
	assert_false(rt.failed);
	assert_false(rt.eof);
	assert_int_equal(rt.got, ROUNDTRIP_COUNT);
	assert_int_equal(evbuffer_get_length(rt.out), 0);
	assert_int_equal(evbuffer_get_length(rt.in), 0);

	event_free(rt.wev);
	event_free(rt.rev);
	evbuffer_free(rt.out);
	evbuffer_free(rt.in);
	sfu_frame_decoder_release(&rt.d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_decoder_init_defaults),
	    cmocka_unit_test_setup_teardown(test_frame_partial_header_waits,
	        setup_frame_bufs, teardown_frame_bufs),
	    cmocka_unit_test_setup_teardown(test_frame_decodes_byte_by_byte,
	        setup_frame_bufs, teardown_frame_bufs),
	    cmocka_unit_test_setup_teardown(test_frame_decodes_coalesced_frames,
	        setup_frame_bufs, teardown_frame_bufs),
	    cmocka_unit_test_setup_teardown(
	        test_frame_decodes_zero_length_frame, setup_frame_bufs,
	        teardown_frame_bufs),
	    cmocka_unit_test_setup_teardown(test_frame_accepts_exactly_max_len,
	        setup_frame_bufs, teardown_frame_bufs),
	    cmocka_unit_test_setup_teardown(
	        test_frame_oversize_reported_once_then_in_step,
	        setup_frame_bufs, teardown_frame_bufs),
	    cmocka_unit_test_setup_teardown(test_frame_oversize_small_limit,
	        setup_frame_bufs, teardown_frame_bufs),
	    cmocka_unit_test_setup_teardown(test_frame_skip_max_boundary,
	        setup_frame_bufs, teardown_frame_bufs),
	    cmocka_unit_test_setup_teardown(test_frame_absurd_length_is_lost,
	        setup_frame_bufs, teardown_frame_bufs),
	    cmocka_unit_test_setup_teardown(
	        test_frame_encode_refuses_over_limit, setup_frame_bufs,
	        teardown_frame_bufs),
	    cmocka_unit_test_setup_teardown(
	        test_frame_roundtrip_socketpair, setup_io, teardown_io),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
