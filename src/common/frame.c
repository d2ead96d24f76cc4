/*
 * SPDX-License-Identifier: MIT
 *
 * Length-prefixed framing over libevent's evbuffer.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"
#include "common/mem.h"

void
sfu_frame_decoder_init(struct sfu_frame_decoder *d)
{
	memset(d, 0, sizeof(*d));
	d->max_len = SFU_FRAME_MAX_LEN;
}

void
sfu_frame_decoder_release(struct sfu_frame_decoder *d)
{
	free(d->buf);
	d->buf = NULL;
	d->buf_cap = 0;
}

static void
frame_drop_skipped(struct sfu_frame_decoder *d, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	size_t n = 0;

	n = d->skip_left < avail ? (size_t)d->skip_left : avail;
	evbuffer_drain(in, n);
	d->skip_left -= n;
}

static uint8_t *
frame_reserve(struct sfu_frame_decoder *d, size_t len)
{
	if (d->buf_cap < len || d->buf == NULL) {
		d->buf = sfu_xrealloc(d->buf, len == 0 ? 1 : len);
		d->buf_cap = len;
	}
	return d->buf;
}

enum sfu_frame_status
sfu_frame_decode(struct sfu_frame_decoder *d, struct evbuffer *in,
    const uint8_t **payload, size_t *len, size_t *peek_len)
{
	uint8_t hdr[SFU_FRAME_HEADER_LEN];
	uint32_t n = 0;
	size_t peek = 0;
	uint8_t *p = NULL;

	*payload = NULL;
	*len = 0;
	if (peek_len != NULL) {
		*peek_len = 0;
	}
	if (d->skip_left > 0) {
		frame_drop_skipped(d, in);
		if (d->skip_left > 0) {
			return SFU_FRAME_AGAIN;
		}
	}
	if (evbuffer_get_length(in) < SFU_FRAME_HEADER_LEN) {
		return SFU_FRAME_AGAIN;
	}
	evbuffer_copyout(in, hdr, sizeof(hdr));
	n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
	    (uint32_t)hdr[2] << 8 | hdr[3];
	if (n > SFU_FRAME_SKIP_MAX_LEN) {
		*len = n;
		return SFU_FRAME_LOST;
	}
	if (n > d->max_len) {
		/*
		 * Wait for the first bytes so the caller may read the id,
		 * then skip the rest as it comes.
		 */
		peek = n < SFU_FRAME_PEEK_LEN ? n : SFU_FRAME_PEEK_LEN;
		if (evbuffer_get_length(in) < SFU_FRAME_HEADER_LEN + peek) {
			return SFU_FRAME_AGAIN;
		}
		evbuffer_drain(in, SFU_FRAME_HEADER_LEN);
		p = frame_reserve(d, peek);
		evbuffer_copyout(in, p, peek);
		d->skip_left = n;
		frame_drop_skipped(d, in);
		*payload = p;
		*len = n;
		if (peek_len != NULL) {
			*peek_len = peek;
		}
		return SFU_FRAME_OVERSIZE;
	}
	if (evbuffer_get_length(in) < SFU_FRAME_HEADER_LEN + (size_t)n) {
		return SFU_FRAME_AGAIN;
	}
	evbuffer_drain(in, SFU_FRAME_HEADER_LEN);
	p = frame_reserve(d, n);
	if (n > 0) {
		evbuffer_remove(in, p, n);
	}
	*payload = p;
	*len = n;
	return SFU_FRAME_OK;
}

int
sfu_frame_iov(struct iovec iov[2], uint8_t hdr[SFU_FRAME_HEADER_LEN],
    const void *payload, size_t len)
{
	if (len > SFU_FRAME_MAX_LEN) {
		return -1;
	}
	hdr[0] = (uint8_t)(len >> 24);
	hdr[1] = (uint8_t)(len >> 16);
	hdr[2] = (uint8_t)(len >> 8);
	hdr[3] = (uint8_t)len;
	iov[0].iov_base = hdr;
	iov[0].iov_len = SFU_FRAME_HEADER_LEN;
	iov[1].iov_base = (void *)(uintptr_t)payload;
	iov[1].iov_len = len;
	return 0;
}

int
sfu_frame_encode(struct evbuffer *out, const void *payload, size_t len)
{
	struct iovec iov[2];
	uint8_t hdr[SFU_FRAME_HEADER_LEN];

	if (sfu_frame_iov(iov, hdr, payload, len) == -1) {
		return -1;
	}
	if (evbuffer_add(out, hdr, sizeof(hdr)) != 0 ||
	    evbuffer_add(out, payload, len) != 0) {
		return -1;
	}
	return 0;
}
