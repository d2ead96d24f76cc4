/*
 * SPDX-License-Identifier: MIT
 *
 * libFuzzer target for common/rfc4571: the input is a control header and a
 * byte stream. A one-shot reference parse of the whole stream says which
 * frames exist; the decoder then gets the stream in chunks whose sizes
 * come from the header (so frames split and coalesce in many ways), each
 * chunk in a fresh heap buffer of exactly chunk + SFU_RFC4571_TAILROOM
 * bytes. Every frame delivered must equal the next reference frame; the
 * callback scribbles over the frame and its whole tailroom (ASan catches
 * anything outside, and a later frame corrupted by it would differ from
 * the reference). Counts, the stop flag, the max_len failure and the
 * partial state at the end are checked too. Invariants trap with
 * __builtin_trap(); LSan sees any leak.
 *
 * Input layout:
 *   byte 0       bits 0-2: number of chunk-size bytes that follow, minus 1
 *                bit 3: max_len = byte 1 + 1 (so TOO_LONG is reachable)
 *                bit 4: the callback stops at frame byte 2 + 1
 *   byte 1       the small max_len, when bit 3 is set
 *   byte 2       the frame to stop at, when bit 4 is set
 *   1..8 bytes   chunk sizes, used in turn: 0xff means "all the rest",
 *                anything else n means n + 1 bytes
 *   the rest     the stream
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rfc4571.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the one-shot parse found. */
struct fuzz_ref {
	const uint8_t *stream;
	size_t nframes;
	size_t *offs;        /* owned: payload offset of each frame */
	size_t *lens;        /* owned */
	uint64_t empties;    /* zero-length frames before the end or failure */
	bool too_long;       /* a header over max_len ends the stream */
	size_t too_long_end; /* stream bytes up to and with that header */
	bool partial;        /* bytes of an unfinished frame at the end */
};

/* What the callback checks against. */
struct fuzz_run {
	const struct fuzz_ref *ref;
	size_t delivered;
	size_t stop_at; /* 1-based; 0: never */
};

static void
fuzz_ref_parse(
    struct fuzz_ref *ref, const uint8_t *s, size_t len, size_t max_len)
{
	size_t off = 0;
	size_t n = 0;

	memset(ref, 0, sizeof(*ref));
	ref->stream = s;
	ref->offs = malloc((len / 2 + 1) * sizeof(size_t));
	ref->lens = malloc((len / 2 + 1) * sizeof(size_t));
	if (ref->offs == NULL || ref->lens == NULL) {
		__builtin_trap();
	}
	while (len - off >= 2) {
		n = (size_t)s[off] << 8 | s[off + 1];
		if (n > max_len) {
			ref->too_long = true;
			ref->too_long_end = off + 2;
			return;
		}
		if (len - off - 2 < n) {
			break;
		}
		if (n == 0) {
			ref->empties++;
		} else {
			ref->offs[ref->nframes] = off + 2;
			ref->lens[ref->nframes] = n;
			ref->nframes++;
		}
		off += 2 + n;
	}
	ref->partial = off < len;
}

static bool
fuzz_on_frame(void *ctx, uint8_t *frame, size_t len)
{
	struct fuzz_run *run = ctx;
	const struct fuzz_ref *ref = run->ref;
	size_t k = run->delivered;

	if (k >= ref->nframes || len != ref->lens[k] ||
	    memcmp(frame, ref->stream + ref->offs[k], len) != 0) {
		__builtin_trap();
	}
	run->delivered++;
	memset(frame, 0xee, len + SFU_RFC4571_TAILROOM);
	return run->stop_at == 0 || run->delivered != run->stop_at;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sfu_rfc4571_decoder d;
	struct fuzz_ref ref;
	struct fuzz_run run;
	enum sfu_rfc4571_status st = SFU_RFC4571_OK;
	const uint8_t *chunks = NULL;
	const uint8_t *stream = NULL;
	uint8_t *buf = NULL;
	size_t stream_len = 0;
	size_t nchunks = 0;
	size_t max_len = SFU_RFC4571_MAX_LEN;
	size_t want = 0;
	size_t ci = 0;
	size_t off = 0;
	size_t n = 0;
	bool stopped = false;
	bool failed = false;

	if (size < 4) {
		return 0;
	}
	nchunks = (size_t)(data[0] & 7) + 1;
	if (size - 3 < nchunks) {
		return 0;
	}
	if (data[0] & 8) {
		max_len = (size_t)data[1] + 1;
	}
	memset(&run, 0, sizeof(run));
	if (data[0] & 16) {
		run.stop_at = (size_t)data[2] + 1;
	}
	chunks = data + 3;
	stream = chunks + nchunks;
	stream_len = size - 3 - nchunks;
	fuzz_ref_parse(&ref, stream, stream_len, max_len);
	run.ref = &ref;

	sfu_rfc4571_decoder_init(&d);
	sfu_rfc4571_decoder_set_max_len(&d, max_len);
	while (off < stream_len) {
		n = chunks[ci++ % nchunks];
		n = n == 0xff ? stream_len - off : n + 1;
		if (n > stream_len - off) {
			n = stream_len - off;
		}
		buf = malloc(n + SFU_RFC4571_TAILROOM);
		if (buf == NULL) {
			__builtin_trap();
		}
		memcpy(buf, stream + off, n);
		st = sfu_rfc4571_decoder_feed(&d, buf, n, fuzz_on_frame, &run);
		free(buf);
		off += n;
		if (st == SFU_RFC4571_STOPPED) {
			stopped = true;
			break;
		}
		if (st == SFU_RFC4571_TOO_LONG) {
			/* Only once the bad header was fed, never before. */
			if (!ref.too_long || off < ref.too_long_end) {
				__builtin_trap();
			}
			failed = true;
			break;
		}
		if (st != SFU_RFC4571_OK) {
			__builtin_trap();
		}
	}

	/* Every reference frame, up to the stop, came out, in order. */
	want = ref.nframes;
	if (run.stop_at != 0 && run.stop_at < want) {
		want = run.stop_at;
	}
	if (run.delivered != want || d.frames != run.delivered) {
		__builtin_trap();
	}
	if (stopped != (run.stop_at != 0 && run.stop_at <= ref.nframes)) {
		__builtin_trap();
	}
	if (!stopped) {
		if (failed != ref.too_long || d.empty_frames != ref.empties) {
			__builtin_trap();
		}
		if (!failed &&
		    sfu_rfc4571_decoder_has_partial(&d) != ref.partial) {
			__builtin_trap();
		}
		if (failed &&
		    sfu_rfc4571_decoder_feed(&d, NULL, 0, fuzz_on_frame,
		        &run) != SFU_RFC4571_TOO_LONG) {
			__builtin_trap();
		}
	}
	sfu_rfc4571_decoder_release(&d);
	free(ref.offs);
	free(ref.lens);
	return 0;
}
