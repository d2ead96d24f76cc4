/*
 * SPDX-License-Identifier: MIT
 *
 * Message framing for the admin socket and the worker channel: a 4-byte
 * unsigned length in network byte order, then that many bytes (one
 * MessagePack map). The decoder is incremental over an evbuffer: a frame
 * split across reads waits for the rest, many frames in one read come out
 * one by one.
 *
 * Oversize frames: a declared length over the limit (SFU_FRAME_MAX_LEN) but
 * not over SFU_FRAME_SKIP_MAX_LEN is skipped byte by byte as it arrives, so
 * the stream stays in step; the caller is told once, with the first bytes of
 * the payload so it can try to read the request id and answer. A declared
 * length above SFU_FRAME_SKIP_MAX_LEN means the peer is not speaking this
 * protocol (e.g. "GET " reads as 1.1 GB): framing is lost and the caller
 * closes the connection.
 */
#ifndef SFU_COMMON_FRAME_H
#define SFU_COMMON_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <event2/buffer.h>

#define SFU_FRAME_HEADER_LEN	4
#define SFU_FRAME_MAX_LEN	(4u * 1024 * 1024)
#define SFU_FRAME_SKIP_MAX_LEN	(64u * 1024 * 1024)
/* How much of an oversize payload is shown to the caller. */
#define SFU_FRAME_PEEK_LEN	64

enum sfu_frame_status {
	SFU_FRAME_OK,		/* a whole frame: payload/len are set */
	SFU_FRAME_AGAIN,	/* need more bytes */
	SFU_FRAME_OVERSIZE,	/* a frame over the limit; being skipped */
	SFU_FRAME_LOST,		/* framing lost: close the connection */
};

struct sfu_frame_decoder {
	size_t		max_len;	/* bytes; SFU_FRAME_MAX_LEN by default */
	uint64_t	skip_left;	/* bytes of an oversize frame to drop */
	uint8_t		*buf;		/* owned: the last frame handed out */
	size_t		buf_cap;
};

void	sfu_frame_decoder_init(struct sfu_frame_decoder *d);
void	sfu_frame_decoder_release(struct sfu_frame_decoder *d);

/*
 * Takes the next frame out of in.
 * - SFU_FRAME_OK: payload and len hold the frame's bytes, valid until the
 *   next call or release (the bytes are removed from in).
 * - SFU_FRAME_OVERSIZE: len holds the declared length and payload up to
 *   SFU_FRAME_PEEK_LEN first bytes of it (peek_len of them); the rest is
 *   dropped from in now and on later calls.
 * - SFU_FRAME_AGAIN: call again when more bytes came.
 * - SFU_FRAME_LOST: len holds the declared length; nothing more can be
 *   read from this stream.
 */
enum sfu_frame_status sfu_frame_decode(struct sfu_frame_decoder *d,
	    struct evbuffer *in, const uint8_t **payload, size_t *len,
	    size_t *peek_len);

/*
 * Prepares iov[0..1] = header (written into hdr) + payload for a writev
 * of one frame. Returns 0, or -1 when len is over SFU_FRAME_MAX_LEN.
 */
int	sfu_frame_iov(struct iovec iov[2], uint8_t hdr[SFU_FRAME_HEADER_LEN],
	    const void *payload, size_t len);

/* Appends header + payload to out. Returns 0, or -1 when len > limit. */
int	sfu_frame_encode(struct evbuffer *out, const void *payload,
	    size_t len);

#endif
