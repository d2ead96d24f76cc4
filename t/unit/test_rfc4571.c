/*
 * SPDX-License-Identifier: MIT
 *
 * rfc4571 decoder and encoder: input split at every byte, coalesced
 * frames handed out in place with writable tailroom that does not corrupt
 * the next frame, zero-length frames, the largest frame, the max_len
 * bound, and stopping (and freeing everything) from the callback.
 *
 * Each chunk is fed from a fresh heap buffer of exactly len +
 * SFU_RFC4571_TAILROOM bytes that is poisoned and freed right after the
 * call, so ASan catches a decoder that keeps pointing into its input or
 * writes outside what the contract allows.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/rfc4571.h"

#define SINK_MAX 64

/* What the callback saw. */
struct sink {
	unsigned int count;
	size_t lens[SINK_MAX];
	uint8_t *frames[SINK_MAX]; /* owned copies */
	const uint8_t *in_lo;      /* the input being fed, to spot copies */
	const uint8_t *in_hi;
	unsigned int in_place; /* frames lent straight from the input */
	unsigned int stop_at;  /* return false on this frame (1-based) */
	bool scribble;         /* write all over the tailroom */
};

static void
sink_reset(struct sink *s)
{
	unsigned int i = 0;

	for (i = 0; i < s->count && i < SINK_MAX; i++) {
		free(s->frames[i]);
	}
	memset(s, 0, sizeof(*s));
}

static bool
sink_on_frame(void *ctx, uint8_t *frame, size_t len)
{
	struct sink *s = ctx;

	assert_true(len >= 1 && len <= SFU_RFC4571_MAX_LEN);
	if (s->count < SINK_MAX) {
		s->frames[s->count] = malloc(len);
		assert_non_null(s->frames[s->count]);
		memcpy(s->frames[s->count], frame, len);
		s->lens[s->count] = len;
	}
	if (frame >= s->in_lo && frame < s->in_hi) {
		s->in_place++;
	}
	s->count++;

	/* The contract: len + tailroom bytes are ours (ASan checks it). */
	if (s->scribble) {
		memset(frame, 0xee, len + SFU_RFC4571_TAILROOM);
	}
	return s->stop_at == 0 || s->count != s->stop_at;
}

/* Feeds src[0..len) from a fresh, exactly-sized heap buffer. */
static enum sfu_rfc4571_status
feed(struct sfu_rfc4571_decoder *d, struct sink *s, const uint8_t *src,
    size_t len)
{
	enum sfu_rfc4571_status st = SFU_RFC4571_OK;
	uint8_t *buf = NULL;

	buf = malloc(len + SFU_RFC4571_TAILROOM);
	assert_non_null(buf);
	if (len > 0) {
		memcpy(buf, src, len);
	}
	memset(buf + len, 0x5a, SFU_RFC4571_TAILROOM);
	s->in_lo = buf;
	s->in_hi = buf + len;
	st = sfu_rfc4571_decoder_feed(d, buf, len, sink_on_frame, s);
	memset(buf, 0xdd, len + SFU_RFC4571_TAILROOM);
	free(buf);
	s->in_lo = NULL;
	s->in_hi = NULL;
	return st;
}

/* Appends one frame of len bytes, byte i being (seed + i) & 0xff. */
static size_t
put_frame(uint8_t *out, size_t len, uint8_t seed)
{
	size_t i = 0;

	assert_int_equal(sfu_rfc4571_encode_header(out, len), 0);
	for (i = 0; i < len; i++) {
		out[SFU_RFC4571_HEADER_LEN + i] = (uint8_t)(seed + i);
	}
	return SFU_RFC4571_HEADER_LEN + len;
}

static void
check_frame(const struct sink *s, unsigned int i, size_t len, uint8_t seed)
{
	size_t k = 0;

	assert_true(i < s->count);
	assert_int_equal(s->lens[i], len);
	for (k = 0; k < len; k++) {
		if (s->frames[i][k] != (uint8_t)(seed + k)) {
			fail_msg("frame %u byte %zu: %u != %u", i, k,
			    s->frames[i][k], (uint8_t)(seed + k));
		}
	}
}

/* The stream used by the split tests: 6 frames, one of them empty. */
static const size_t stream_lens[] = {1, 5, 300, 0, 40, 2};
#define STREAM_FRAMES (sizeof(stream_lens) / sizeof(stream_lens[0]))

static size_t
build_stream(uint8_t *out)
{
	size_t off = 0;
	size_t i = 0;

	for (i = 0; i < STREAM_FRAMES; i++) {
		off += put_frame(out + off, stream_lens[i], (uint8_t)(i * 37));
	}
	return off;
}

static void
check_stream(const struct sink *s)
{
	unsigned int got = 0;
	size_t i = 0;

	for (i = 0; i < STREAM_FRAMES; i++) {
		if (stream_lens[i] == 0) {
			continue;
		}
		check_frame(s, got++, stream_lens[i], (uint8_t)(i * 37));
	}
	assert_int_equal(s->count, got);
}

/*
 * Fed in two pieces cut at every byte position, and again in three pieces
 * cut at every pair of positions, the same frames come out, in order, and
 * the empty frame is skipped and counted; scribbling over each frame's
 * tailroom never corrupts the frames after it.
 */
static void
test_rfc4571_split_at_every_position(void **state)
{
	struct sfu_rfc4571_decoder d;
	struct sink s;
	uint8_t stream[512];
	size_t total = 0;
	size_t i = 0;
	size_t j = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	total = build_stream(stream);
	for (i = 0; i <= total; i++) {
		sfu_rfc4571_decoder_init(&d);
		sink_reset(&s);
		s.scribble = true;
		assert_int_equal(feed(&d, &s, stream, i), SFU_RFC4571_OK);
		assert_int_equal(
		    feed(&d, &s, stream + i, total - i), SFU_RFC4571_OK);
		check_stream(&s);
		assert_int_equal(d.frames, STREAM_FRAMES - 1);
		assert_int_equal(d.empty_frames, 1);
		assert_false(sfu_rfc4571_decoder_has_partial(&d));
		sfu_rfc4571_decoder_release(&d);
	}
	for (i = 0; i <= total; i += 3) {
		for (j = i; j <= total; j++) {
			sfu_rfc4571_decoder_init(&d);
			sink_reset(&s);
			s.scribble = (i + j) % 2 == 0;
			assert_int_equal(
			    feed(&d, &s, stream, i), SFU_RFC4571_OK);
			assert_int_equal(
			    feed(&d, &s, stream + i, j - i), SFU_RFC4571_OK);
			assert_int_equal(feed(&d, &s, stream + j, total - j),
			    SFU_RFC4571_OK);
			check_stream(&s);
			sfu_rfc4571_decoder_release(&d);
		}
	}
	sink_reset(&s);
}

/* One byte per call: every state of the decoder is a resting state. */
static void
test_rfc4571_byte_by_byte(void **state)
{
	struct sfu_rfc4571_decoder d;
	struct sink s;
	uint8_t stream[512];
	size_t total = 0;
	size_t i = 0;
	size_t boundary = 0;
	size_t f = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	total = build_stream(stream);
	sfu_rfc4571_decoder_init(&d);
	boundary = SFU_RFC4571_HEADER_LEN + stream_lens[0];
	for (i = 0; i < total; i++) {
		assert_int_equal(feed(&d, &s, stream + i, 1), SFU_RFC4571_OK);

		/* Something waits exactly when not at a frame boundary. */
		if (i + 1 == boundary) {
			assert_false(sfu_rfc4571_decoder_has_partial(&d));
			f++;
			if (f < STREAM_FRAMES) {
				boundary +=
				    SFU_RFC4571_HEADER_LEN + stream_lens[f];
			}
		} else {
			assert_true(sfu_rfc4571_decoder_has_partial(&d));
		}
	}
	assert_int_equal(f, STREAM_FRAMES);
	check_stream(&s);
	assert_int_equal(s.in_place, 0);
	/* An empty feed changes nothing. */
	assert_int_equal(feed(&d, &s, stream, 0), SFU_RFC4571_OK);
	assert_int_equal(s.count, STREAM_FRAMES - 1);
	sfu_rfc4571_decoder_release(&d);
	sink_reset(&s);
}

/*
 * Whole frames coalesced in one input are lent in place (no copy), and a
 * callback writing over the tailroom of each does not disturb the next.
 */
static void
test_rfc4571_coalesced_frames_in_place(void **state)
{
	struct sfu_rfc4571_decoder d;
	struct sink s;
	uint8_t stream[4096];
	size_t off = 0;
	unsigned int i = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	for (i = 0; i < 20; i++) {
		off += put_frame(stream + off, 10 + i * 13, (uint8_t)i);
	}
	sfu_rfc4571_decoder_init(&d);
	s.scribble = true;
	assert_int_equal(feed(&d, &s, stream, off), SFU_RFC4571_OK);
	assert_int_equal(s.count, 20);
	assert_int_equal(s.in_place, 20);
	for (i = 0; i < 20; i++) {
		check_frame(&s, i, 10 + i * 13, (uint8_t)i);
	}
	assert_null(d.buf); /* nothing was buffered */
	sfu_rfc4571_decoder_release(&d);
	sink_reset(&s);
}

/* Only zero-length frames: nothing delivered, all counted, header split. */
static void
test_rfc4571_zero_length_frames_skipped(void **state)
{
	struct sfu_rfc4571_decoder d;
	struct sink s;
	uint8_t zeros[10] = {0};
	uint8_t one[3] = {0, 1, 0x42};

	(void)state;
	memset(&s, 0, sizeof(s));
	sfu_rfc4571_decoder_init(&d);
	assert_int_equal(feed(&d, &s, zeros, 5), SFU_RFC4571_OK);
	assert_true(sfu_rfc4571_decoder_has_partial(&d));
	assert_int_equal(feed(&d, &s, zeros + 5, 5), SFU_RFC4571_OK);
	assert_false(sfu_rfc4571_decoder_has_partial(&d));
	assert_int_equal(s.count, 0);
	assert_int_equal(d.empty_frames, 5);
	assert_int_equal(feed(&d, &s, one, 3), SFU_RFC4571_OK);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.lens[0], 1);
	assert_int_equal(s.frames[0][0], 0x42);
	sfu_rfc4571_decoder_release(&d);
	sink_reset(&s);
}

/*
 * A 65535-byte frame passes whole and in pieces; its buffer (65535 +
 * tailroom) is released once delivered, so it does not stay per
 * connection.
 */
static void
test_rfc4571_max_size_frame(void **state)
{
	struct sfu_rfc4571_decoder d;
	struct sink s;
	uint8_t *stream = NULL;
	size_t total = 0;
	size_t off = 0;
	size_t n = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	stream = malloc(2 * (SFU_RFC4571_HEADER_LEN + SFU_RFC4571_MAX_LEN));
	assert_non_null(stream);
	total = put_frame(stream, SFU_RFC4571_MAX_LEN, 7);
	total += put_frame(stream + total, SFU_RFC4571_MAX_LEN, 9);

	sfu_rfc4571_decoder_init(&d);
	s.scribble = true;
	assert_int_equal(feed(&d, &s, stream, total), SFU_RFC4571_OK);
	assert_int_equal(s.count, 2);
	assert_int_equal(s.in_place, 2);
	check_frame(&s, 0, SFU_RFC4571_MAX_LEN, 7);
	check_frame(&s, 1, SFU_RFC4571_MAX_LEN, 9);

	/* In 1000-byte pieces: buffered, then released. */
	sink_reset(&s);
	s.scribble = true;
	for (off = 0; off < total; off += n) {
		n = total - off < 1000 ? total - off : 1000;
		assert_int_equal(feed(&d, &s, stream + off, n), SFU_RFC4571_OK);
	}
	assert_int_equal(s.count, 2);
	assert_int_equal(s.in_place, 0);
	check_frame(&s, 0, SFU_RFC4571_MAX_LEN, 7);
	check_frame(&s, 1, SFU_RFC4571_MAX_LEN, 9);
	assert_null(d.buf);
	assert_int_equal(d.buf_cap, 0);
	sfu_rfc4571_decoder_release(&d);
	sink_reset(&s);
	free(stream);
}

/* A small frame completed across reads keeps its small buffer. */
static void
test_rfc4571_small_buffer_kept(void **state)
{
	struct sfu_rfc4571_decoder d;
	struct sink s;
	uint8_t stream[64];
	size_t total = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	total = put_frame(stream, 50, 1);
	sfu_rfc4571_decoder_init(&d);
	assert_int_equal(feed(&d, &s, stream, 10), SFU_RFC4571_OK);
	assert_non_null(d.buf);
	assert_int_equal(d.buf_cap, 50 + SFU_RFC4571_TAILROOM);
	assert_int_equal(feed(&d, &s, stream + 10, total - 10), SFU_RFC4571_OK);
	check_frame(&s, 0, 50, 1);
	assert_non_null(d.buf);
	sfu_rfc4571_decoder_release(&d);
	assert_null(d.buf);
	sink_reset(&s);
}

/*
 * The callback stops at the second frame: feed says so, and the third
 * frame of the same input is not delivered, nor on a later feed of new
 * input (the rest of the stopped input is the caller's to discard).
 */
static void
test_rfc4571_stop_from_callback(void **state)
{
	struct sfu_rfc4571_decoder d;
	struct sink s;
	uint8_t stream[64];
	size_t off = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	off += put_frame(stream + off, 3, 1);
	off += put_frame(stream + off, 4, 2);
	off += put_frame(stream + off, 5, 3);
	sfu_rfc4571_decoder_init(&d);
	s.stop_at = 2;
	assert_int_equal(feed(&d, &s, stream, off), SFU_RFC4571_STOPPED);
	assert_int_equal(s.count, 2);
	check_frame(&s, 0, 3, 1);
	check_frame(&s, 1, 4, 2);

	/* Stopping on a buffered frame works the same way. */
	sfu_rfc4571_decoder_release(&d);
	sfu_rfc4571_decoder_init(&d);
	sink_reset(&s);
	s.stop_at = 1;
	assert_int_equal(feed(&d, &s, stream, 3), SFU_RFC4571_OK);
	assert_int_equal(
	    feed(&d, &s, stream + 3, off - 3), SFU_RFC4571_STOPPED);
	assert_int_equal(s.count, 1);
	check_frame(&s, 0, 3, 1);
	sfu_rfc4571_decoder_release(&d);
	sink_reset(&s);
}

/* An owner whose callback frees the decoder and the input it fed. */
struct owner {
	struct sfu_rfc4571_decoder *d; /* owned, heap */
	uint8_t *in;                   /* owned, heap */
	unsigned int count;
};

static bool
owner_on_frame(void *ctx, uint8_t *frame, size_t len)
{
	struct owner *o = ctx;

	(void)frame;
	(void)len;
	o->count++;
	sfu_rfc4571_decoder_release(o->d);
	free(o->d);
	o->d = NULL;
	free(o->in);
	o->in = NULL;
	return false;
}

/*
 * Both for a frame in place and for a buffered one, the callback may free
 * the decoder and the input: feed returns STOPPED touching neither (ASan
 * reports any use after free).
 */
static void
test_rfc4571_callback_frees_everything(void **state)
{
	struct owner o;
	uint8_t stream[64];
	size_t total = 0;
	int pass = 0;

	(void)state;
	total = put_frame(stream, 20, 5);
	total += put_frame(stream + total, 20, 6);
	for (pass = 0; pass < 2; pass++) {
		memset(&o, 0, sizeof(o));
		o.d = malloc(sizeof(*o.d));
		assert_non_null(o.d);
		sfu_rfc4571_decoder_init(o.d);
		if (pass == 1) {
			/* Leave 5 bytes of the first frame buffered. */
			o.in = malloc(5 + SFU_RFC4571_TAILROOM);
			assert_non_null(o.in);
			memcpy(o.in, stream, 5);
			assert_int_equal(sfu_rfc4571_decoder_feed(
			                     o.d, o.in, 5, owner_on_frame, &o),
			    SFU_RFC4571_OK);
			free(o.in);
			o.in = malloc(total - 5 + SFU_RFC4571_TAILROOM);
			assert_non_null(o.in);
			memcpy(o.in, stream + 5, total - 5);
			assert_int_equal(sfu_rfc4571_decoder_feed(o.d, o.in,
			                     total - 5, owner_on_frame, &o),
			    SFU_RFC4571_STOPPED);
		} else {
			o.in = malloc(total + SFU_RFC4571_TAILROOM);
			assert_non_null(o.in);
			memcpy(o.in, stream, total);
			assert_int_equal(sfu_rfc4571_decoder_feed(o.d, o.in,
			                     total, owner_on_frame, &o),
			    SFU_RFC4571_STOPPED);
		}
		assert_int_equal(o.count, 1);
		assert_null(o.d);
		assert_null(o.in);
	}
}

/*
 * With max_len set, a longer declared length fails the decoder at once,
 * whether read whole or split, after delivering the frames before it; a
 * failed decoder refuses all later input.
 */
static void
test_rfc4571_too_long_fails(void **state)
{
	struct sfu_rfc4571_decoder d;
	struct sink s;
	uint8_t stream[256];
	size_t off = 0;
	size_t split = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	off += put_frame(stream + off, 100, 1);
	off += put_frame(stream + off, 101, 2);
	off += put_frame(stream + off, 3, 3);
	for (split = 0; split <= off; split++) {
		sfu_rfc4571_decoder_init(&d);
		sfu_rfc4571_decoder_set_max_len(&d, 100);
		sink_reset(&s);
		if (split < 102 + 2) {
			/* The bad header is read in the second feed. */
			assert_int_equal(
			    feed(&d, &s, stream, split), SFU_RFC4571_OK);
			assert_int_equal(
			    feed(&d, &s, stream + split, off - split),
			    SFU_RFC4571_TOO_LONG);
		} else {
			assert_int_equal(
			    feed(&d, &s, stream, split), SFU_RFC4571_TOO_LONG);
		}
		assert_int_equal(s.count, 1);
		check_frame(&s, 0, 100, 1);
		assert_int_equal(
		    feed(&d, &s, stream, 102), SFU_RFC4571_TOO_LONG);
		assert_int_equal(s.count, 1);
		sfu_rfc4571_decoder_release(&d);
	}
	sink_reset(&s);

	/* The setter clamps to 1..65535. */
	sfu_rfc4571_decoder_init(&d);
	sfu_rfc4571_decoder_set_max_len(&d, 0);
	assert_int_equal(d.max_len, 1);
	sfu_rfc4571_decoder_set_max_len(&d, 100000);
	assert_int_equal(d.max_len, SFU_RFC4571_MAX_LEN);
}

/* Headers are big-endian; 65535 is the largest length; iov covers both. */
static void
test_rfc4571_encode(void **state)
{
	uint8_t hdr[SFU_RFC4571_HEADER_LEN] = {0x11, 0x22};
	struct iovec iov[2];
	uint8_t payload[3] = {1, 2, 3};

	(void)state;
	assert_int_equal(sfu_rfc4571_encode_header(hdr, 0x1234), 0);
	assert_int_equal(hdr[0], 0x12);
	assert_int_equal(hdr[1], 0x34);
	assert_int_equal(sfu_rfc4571_encode_header(hdr, 65535), 0);
	assert_int_equal(hdr[0], 0xff);
	assert_int_equal(hdr[1], 0xff);
	hdr[0] = 0x11;
	hdr[1] = 0x22;
	assert_int_equal(sfu_rfc4571_encode_header(hdr, 65536), -1);
	assert_int_equal(hdr[0], 0x11);
	assert_int_equal(hdr[1], 0x22);
	assert_int_equal(sfu_rfc4571_iov(iov, hdr, payload, 3), 0);
	assert_ptr_equal(iov[0].iov_base, hdr);
	assert_int_equal(iov[0].iov_len, 2);
	assert_ptr_equal(iov[1].iov_base, payload);
	assert_int_equal(iov[1].iov_len, 3);
	assert_int_equal(hdr[0], 0);
	assert_int_equal(hdr[1], 3);
	assert_int_equal(sfu_rfc4571_iov(iov, hdr, payload, 70000), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4571_split_at_every_position),
	    cmocka_unit_test(test_rfc4571_byte_by_byte),
	    cmocka_unit_test(test_rfc4571_coalesced_frames_in_place),
	    cmocka_unit_test(test_rfc4571_zero_length_frames_skipped),
	    cmocka_unit_test(test_rfc4571_max_size_frame),
	    cmocka_unit_test(test_rfc4571_small_buffer_kept),
	    cmocka_unit_test(test_rfc4571_stop_from_callback),
	    cmocka_unit_test(test_rfc4571_callback_frees_everything),
	    cmocka_unit_test(test_rfc4571_too_long_fails),
	    cmocka_unit_test(test_rfc4571_encode),
	};

	return cmocka_run_group_tests_name("rfc4571", tests, NULL, NULL);
}
