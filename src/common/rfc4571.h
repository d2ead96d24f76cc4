/*
 * SPDX-License-Identifier: MIT
 *
 * RFC 4571 framing, as ICE-TCP (RFC 6544) uses it to carry STUN, DTLS,
 * RTP and RTCP over TCP: each packet is preceded by its length as a 16-bit
 * unsigned integer in network byte order, so a frame is at most 65535
 * bytes. The decoder is incremental and works on input split and coalesced
 * at any byte: whole frames are handed to the callback straight from the
 * input (no copy); only a frame cut by the end of the input is copied into
 * the decoder's own buffer, which is bounded by construction (at most
 * SFU_RFC4571_MAX_LEN + SFU_RFC4571_TAILROOM bytes, allocated to the size
 * of the frame being completed, and released after a frame larger than
 * SFU_RFC4571_KEEP_LEN). The decoder does no I/O; tcp_conn_handle feeds it.
 *
 * Zero-length frames: RFC 4571 gives the length of the packet that
 * follows, and an empty packet is no STUN, DTLS, RTP or RTCP message, so a
 * length of 0 is legal framing and is skipped: never delivered, counted in
 * empty_frames.
 */
#ifndef SFU_COMMON_RFC4571_H
#define SFU_COMMON_RFC4571_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define SFU_RFC4571_HEADER_LEN 2
#define SFU_RFC4571_MAX_LEN 65535
/*
 * Writable bytes guaranteed after every frame handed to the callback: the
 * owner may unprotect SRTP in place and consumers may grow a packet
 * (header extensions, an SRTP trailer: at most 148 bytes).
 */
#define SFU_RFC4571_TAILROOM 256
/*
 * A buffer grown past this many bytes (one frame plus the tailroom) is
 * released once its frame was delivered, so an idle connection keeps at
 * most this much.
 */
#define SFU_RFC4571_KEEP_LEN (2048 + SFU_RFC4571_TAILROOM)

/* Results of sfu_rfc4571_decoder_feed(). */
enum sfu_rfc4571_status {
	SFU_RFC4571_OK, /* all input taken: frames delivered, the rest kept */
	SFU_RFC4571_STOPPED,  /* the callback returned false */
	SFU_RFC4571_TOO_LONG, /* a frame declared more than max_len bytes */
};

/*
 * Called once per complete, non-empty frame of len bytes (1..max_len).
 * frame is writable for len + SFU_RFC4571_TAILROOM bytes and valid only
 * during the call; the bytes past len are scratch (their content is
 * unspecified). Returns true to go on, false to stop: feed then returns
 * SFU_RFC4571_STOPPED at once without touching the decoder or the input
 * again, so the callback may free both (e.g. the connection was closed).
 */
typedef bool (*sfu_rfc4571_frame_cb)(void *ctx, uint8_t *frame, size_t len);

/* Embedded by its owner; every member is private to rfc4571.c. */
struct sfu_rfc4571_decoder {
	size_t max_len; /* bytes; SFU_RFC4571_MAX_LEN by default */
	uint8_t hdr[SFU_RFC4571_HEADER_LEN]; /* of the frame being collected */
	size_t hdr_len;                      /* bytes of hdr read, 0..2 */
	size_t need;     /* payload bytes of that frame, once hdr_len = 2 */
	size_t got;      /* payload bytes of it in buf */
	uint8_t *buf;    /* owned: NULL, or buf_cap bytes */
	size_t buf_cap;  /* bytes */
	bool failed;     /* a frame was TOO_LONG: nothing more is read */
	uint64_t frames; /* delivered to the callback */
	uint64_t empty_frames; /* length 0, skipped */
};

void sfu_rfc4571_decoder_init(struct sfu_rfc4571_decoder *d);
/* Frees the buffer; d may be initialised again. */
void sfu_rfc4571_decoder_release(struct sfu_rfc4571_decoder *d);
/*
 * Frames longer than max_len (1..SFU_RFC4571_MAX_LEN) are refused: feed
 * returns SFU_RFC4571_TOO_LONG as soon as such a header is read, and from
 * then on, since the stream cannot be resynchronised.
 */
void sfu_rfc4571_decoder_set_max_len(
    struct sfu_rfc4571_decoder *d, size_t max_len);

/*
 * Decodes len bytes of stream. data must be writable for len +
 * SFU_RFC4571_TAILROOM bytes: each whole frame found in it is handed to cb
 * in place (a frame inside data borrows the bytes after it as tailroom;
 * the decoder saves and restores the next frame's bytes around the call),
 * and its content is scratch once feed returns. A frame cut by the end of
 * data is kept in the decoder and completed by later calls. Returns
 * SFU_RFC4571_OK, SFU_RFC4571_STOPPED (cb returned false; the rest of data
 * is left unread and neither d nor data is touched again) or
 * SFU_RFC4571_TOO_LONG (d is failed; frames before the bad header were
 * delivered).
 */
enum sfu_rfc4571_status sfu_rfc4571_decoder_feed(struct sfu_rfc4571_decoder *d,
    uint8_t *data, size_t len, sfu_rfc4571_frame_cb cb, void *ctx);

/* True while part of a frame (or of its header) waits in the decoder. */
bool sfu_rfc4571_decoder_has_partial(const struct sfu_rfc4571_decoder *d);

/*
 * Writes the 2-byte header of a len-byte frame into hdr. Returns 0, or -1
 * when len is over SFU_RFC4571_MAX_LEN (hdr untouched).
 */
int sfu_rfc4571_encode_header(uint8_t hdr[SFU_RFC4571_HEADER_LEN], size_t len);

/*
 * Prepares iov[0..1] = header (written into hdr) + payload for writev or
 * sendmsg of one frame. Returns 0, or -1 when len > SFU_RFC4571_MAX_LEN.
 */
int sfu_rfc4571_iov(struct iovec iov[2], uint8_t hdr[SFU_RFC4571_HEADER_LEN],
    const void *payload, size_t len);

#endif
