/*
 * SPDX-License-Identifier: MIT
 *
 * libFuzzer target for common/frame, followed by common/msg on what comes
 * out: the input is a control header and a byte stream. The stream is fed
 * into an evbuffer in chunks whose sizes come from the header (so frames
 * split and coalesce in many ways), and sfu_frame_decode runs after every
 * chunk until AGAIN or LOST. Each whole frame goes through sfu_msg_decode
 * and sfu_msg_parse_request; each oversize frame's peek bytes through
 * sfu_msg_peek_id. Invariants are checked with __builtin_trap(); LSan sees
 * any leak.
 *
 * Input layout:
 *   byte 0       bits 0-2: number of chunk-size bytes that follow, minus 1
 *                bit 3: use a small frame limit (byte 1 + 1) so oversize
 *                frames are reachable with inputs of a few bytes
 *   byte 1       the small limit, when bit 3 is set
 *   1..8 bytes   chunk sizes, used in turn: 0xff means "all the rest",
 *                anything else n means n + 1 bytes
 *   the rest     the stream
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

#include "common/error.h"
#include "common/frame.h"
#include "common/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A whole frame: decode, and parse as a request when it is a map. */
static void
fuzz_frame_on_frame(const uint8_t *payload, size_t len, size_t max_len)
{
	struct sfu_msg m;
	struct sfu_msg_request req;
	struct sfu_error err;
	uint32_t id = 0;
	bool peeked = false;

	if (len > max_len || (len > 0 && payload == NULL)) {
		__builtin_trap();
	}
	peeked = sfu_msg_peek_id(payload, len, &id);
	sfu_error_clear(&err);
	if (sfu_msg_decode(&m, payload, len, &err) == 0) {
		if (m.root == NULL || m.root->type != MSGPACK_OBJECT_MAP) {
			__builtin_trap();
		}
		if (sfu_msg_parse_request(m.root, &req, &err) == 0) {
			if (!req.has_id || req.method[0] == '\0' ||
			    (peeked && req.id != id)) {
				__builtin_trap();
			}
		} else if (err.kind != SFU_ERR_TYPE || err.reason[0] == '\0') {
			__builtin_trap();
		}
	} else if (err.kind != SFU_ERR_TYPE || m.root != NULL) {
		__builtin_trap();
	}
	sfu_msg_release(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sfu_frame_decoder d;
	struct evbuffer *in = NULL;
	enum sfu_frame_status st = SFU_FRAME_AGAIN;
	const uint8_t *chunks = NULL;
	const uint8_t *payload = NULL;
	size_t nchunks = 0;
	size_t ci = 0;
	size_t off = 0;
	size_t n = 0;
	size_t len = 0;
	size_t peek = 0;
	size_t before = 0;
	uint64_t skip_before = 0;
	uint32_t peek_id = 0;
	bool lost = false;

	if (size < 3) {
		return 0;
	}
	sfu_frame_decoder_init(&d);
	nchunks = (size_t)(data[0] & 7) + 1;
	if (data[0] & 8) {
		d.max_len = (size_t)data[1] + 1;
	}
	off = 2;
	if (size - off < nchunks) {
		sfu_frame_decoder_release(&d);
		return 0;
	}
	chunks = data + off;
	off += nchunks;
	in = evbuffer_new();
	if (in == NULL) {
		sfu_frame_decoder_release(&d);
		return 0;
	}
	while (off < size && !lost) {
		n = chunks[ci++ % nchunks];
		n = n == 0xff ? size - off : n + 1;
		if (n > size - off) {
			n = size - off;
		}
		evbuffer_add(in, data + off, n);
		off += n;
		for (;;) {
			before = evbuffer_get_length(in);
			skip_before = d.skip_left;
			st = sfu_frame_decode(&d, in, &payload, &len, &peek);
			if (st == SFU_FRAME_AGAIN) {
				if (payload != NULL || len != 0 || peek != 0 ||
				    evbuffer_get_length(in) > before) {
					__builtin_trap();
				}
				break;
			}
			if (st == SFU_FRAME_LOST) {
				if (len <= SFU_FRAME_SKIP_MAX_LEN) {
					__builtin_trap();
				}
				lost = true;
				break;
			}
			if (st == SFU_FRAME_OVERSIZE) {
				if (len <= d.max_len || peek == 0 ||
				    peek > SFU_FRAME_PEEK_LEN || peek > len ||
				    payload == NULL) {
					__builtin_trap();
				}
				(void)sfu_msg_peek_id(payload, peek, &peek_id);
				continue;
			}
			/* OK comes only once the previous skip is done. */
			if (evbuffer_get_length(in) + skip_before +
			        SFU_FRAME_HEADER_LEN + len !=
			    before) {
				__builtin_trap();
			}
			fuzz_frame_on_frame(payload, len, d.max_len);
		}
	}
	evbuffer_free(in);
	sfu_frame_decoder_release(&d);
	return 0;
}
