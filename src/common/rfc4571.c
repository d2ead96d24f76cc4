/*
 * SPDX-License-Identifier: MIT
 *
 * RFC 4571 framing: an incremental decoder that delivers whole frames in
 * place and buffers only the one frame cut by the end of the input.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/rfc4571.h"

void
sfu_rfc4571_decoder_init(struct sfu_rfc4571_decoder *d)
{
	memset(d, 0, sizeof(*d));
	d->max_len = SFU_RFC4571_MAX_LEN;
}

void
sfu_rfc4571_decoder_release(struct sfu_rfc4571_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->buf_cap = 0;
}

void
sfu_rfc4571_decoder_set_max_len(struct sfu_rfc4571_decoder *d, size_t max_len)
{
	if (max_len < 1) {
		max_len = 1;
	} else if (max_len > SFU_RFC4571_MAX_LEN) {
		max_len = SFU_RFC4571_MAX_LEN;
	}
	d->max_len = max_len;
}

bool
sfu_rfc4571_decoder_has_partial(const struct sfu_rfc4571_decoder *d)
{
	return d->hdr_len > 0;
}

static size_t
rfc4571_read_len(const uint8_t *p)
{
	return (size_t)p[0] << 8 | p[1];
}

/*
 * Makes room for a frame of d->need bytes plus the tailroom. The buffer only
 * grows here; feed releases a large one after its frame.
 */
static void
rfc4571_reserve(struct sfu_rfc4571_decoder *d)
{
	size_t want = d->need + SFU_RFC4571_TAILROOM;

	if (d->buf_cap < want) {
		free(d->buf);
		d->buf = sfu_xmalloc(want);
		d->buf_cap = want;
	}
}

/*
 * Whole frames straight from data, starting at *off, until fewer than one
 * whole frame is left. The bytes after each frame are its tailroom; they
 * belong to the next frame (or are the caller's scratch past len), so the
 * part that is still input is saved before the call and put back after.
 */
static enum sfu_rfc4571_status
rfc4571_feed_whole(struct sfu_rfc4571_decoder *d, uint8_t *data, size_t len,
    size_t *off, sfu_rfc4571_frame_cb cb, void *ctx)
{
	uint8_t saved[SFU_RFC4571_TAILROOM];
	uint8_t *frame = NULL;
	size_t n = 0;
	size_t after = 0;
	size_t keep = 0;
	bool go_on = true;

	while (len - *off >= SFU_RFC4571_HEADER_LEN) {
		n = rfc4571_read_len(data + *off);
		if (n > d->max_len) {
			d->failed = true;
			return SFU_RFC4571_TOO_LONG;
		}
		if (len - *off - SFU_RFC4571_HEADER_LEN < n) {
			break;
		}
		frame = data + *off + SFU_RFC4571_HEADER_LEN;
		*off += SFU_RFC4571_HEADER_LEN + n;
		if (n == 0) {
			d->empty_frames++;
			continue;
		}
		after = len - *off;
		keep = after < sizeof(saved) ? after : sizeof(saved);
		if (keep > 0) {
			memcpy(saved, data + *off, keep);
		}
		d->frames++;
		go_on = cb(ctx, frame, n);
		if (!go_on) {
			/* d and data may be gone: touch neither. */
			return SFU_RFC4571_STOPPED;
		}
		if (keep > 0) {
			memcpy(data + *off, saved, keep);
		}
	}
	return SFU_RFC4571_OK;
}

enum sfu_rfc4571_status
sfu_rfc4571_decoder_feed(struct sfu_rfc4571_decoder *d, uint8_t *data,
    size_t len, sfu_rfc4571_frame_cb cb, void *ctx)
{
	enum sfu_rfc4571_status st = SFU_RFC4571_OK;
	size_t off = 0;
	size_t n = 0;
	bool go_on = true;

	if (d->failed) {
		return SFU_RFC4571_TOO_LONG;
	}
	while (off < len) {
		if (d->hdr_len == 0) {
			st = rfc4571_feed_whole(d, data, len, &off, cb, ctx);
			if (st != SFU_RFC4571_OK) {
				return st;
			}
			if (off == len) {
				break;
			}
		}

		/* A frame cut by the end of some input: collect it in d. */
		while (d->hdr_len < SFU_RFC4571_HEADER_LEN && off < len) {
			d->hdr[d->hdr_len++] = data[off++];
			if (d->hdr_len < SFU_RFC4571_HEADER_LEN) {
				continue;
			}
			d->need = rfc4571_read_len(d->hdr);
			d->got = 0;
			if (d->need > d->max_len) {
				d->failed = true;
				return SFU_RFC4571_TOO_LONG;
			}
			if (d->need == 0) {
				d->empty_frames++;
				d->hdr_len = 0;
				break;
			}
			rfc4571_reserve(d);
		}
		if (d->hdr_len < SFU_RFC4571_HEADER_LEN) {
			continue; /* out of input, or an empty frame done */
		}
		n = d->need - d->got;
		if (n > len - off) {
			n = len - off;
		}
		memcpy(d->buf + d->got, data + off, n);
		d->got += n;
		off += n;
		if (d->got < d->need) {
			break;
		}

		/* Reset first: the callback may free d. */
		d->hdr_len = 0;
		d->frames++;
		go_on = cb(ctx, d->buf, d->need);
		if (!go_on) {
			return SFU_RFC4571_STOPPED;
		}
		if (d->buf_cap > SFU_RFC4571_KEEP_LEN) {
			sfu_rfc4571_decoder_release(d);
		}
	}
	return SFU_RFC4571_OK;
}

int
sfu_rfc4571_encode_header(uint8_t hdr[SFU_RFC4571_HEADER_LEN], size_t len)
{
	if (len > SFU_RFC4571_MAX_LEN) {
		return -1;
	}
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)len;
	return 0;
}

int
sfu_rfc4571_iov(struct iovec iov[2], uint8_t hdr[SFU_RFC4571_HEADER_LEN],
    const void *payload, size_t len)
{
	int r = 0;

	r = sfu_rfc4571_encode_header(hdr, len);
	if (r == -1) {
		return -1;
	}
	iov[0].iov_base = hdr;
	iov[0].iov_len = SFU_RFC4571_HEADER_LEN;
	iov[1].iov_base = (void *)(uintptr_t)payload;
	iov[1].iov_len = len;
	return 0;
}
