/*
 * SPDX-License-Identifier: MIT
 *
 * RTP packets (RFC 3550 5.1) as a zero-copy view over the caller's buffer:
 * sfu_rtp_packet_parse() checks the fixed header, CSRC list, header
 * extension block and padding against the packet length and indexes the
 * RFC 8285 extension elements (one-byte 0xBEDE and two-byte 0x100x forms)
 * by id. Setters write the header in place; extensions are rewritten in
 * place when their size stays the same, and the extension block is rebuilt
 * (moving the payload within the buffer's capacity) when it does not. The
 * view borrows the buffer: it allocates nothing, owns nothing, and becomes
 * stale when the buffer is changed by anything but these functions.
 * Demultiplexing RTP from RTCP, DTLS and STUN on one socket is RFC 7983 /
 * RFC 5761 (sfu_rtp_is_rtp() here, sfu_rtcp_is_rtcp() in rtcp_packet.h).
 */
#ifndef SFU_WORKER_RTP_PACKET_H
#define SFU_WORKER_RTP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SFU_RTP_PACKET_HEADER_LEN 12 /* fixed header, bytes */
#define SFU_RTP_PACKET_MAX_CSRC 15

/* RFC 8285 4.2 and 4.3: "defined by profile" values of the two forms. */
#define SFU_RTP_PACKET_PROFILE_ONE_BYTE 0xBEDEu
#define SFU_RTP_PACKET_PROFILE_TWO_BYTE 0x1000u /* low 4 bits: appbits */

#define SFU_RTP_PACKET_ONE_BYTE_MAX_ID 14 /* 15 is reserved (stop) */
#define SFU_RTP_PACKET_ONE_BYTE_MAX_LEN 16
#define SFU_RTP_PACKET_TWO_BYTE_MAX_LEN 255

/*
 * Extension elements indexed per packet. A packet with more elements is
 * rejected: browsers send fewer than 16, and the bound keeps the view a
 * fixed size with no allocation.
 */
#define SFU_RTP_PACKET_MAX_EXTENSIONS 32

/*
 * Largest extension block (4-byte header included) that
 * sfu_rtp_packet_rewrite_extensions() and sfu_rtp_packet_write() build: a
 * whole packet fits in an MTU, so a larger block is refused rather than
 * built through a larger scratch buffer.
 */
#define SFU_RTP_PACKET_MAX_EXTENSION_BLOCK_LEN 1024

enum sfu_rtp_packet_ext_form {
	SFU_RTP_PACKET_EXT_NONE = 0, /* X bit clear */
	SFU_RTP_PACKET_EXT_ONE_BYTE, /* profile 0xBEDE */
	SFU_RTP_PACKET_EXT_TWO_BYTE, /* profile 0x100x */
	SFU_RTP_PACKET_EXT_OTHER,    /* another profile: kept, not indexed */
};

/* One extension element found by the parser. */
struct sfu_rtp_packet_ext {
	uint32_t off; /* offset of the value from data, bytes */
	uint8_t id;   /* 1..14 one-byte, 1..255 two-byte */
	uint8_t len;  /* value length, bytes (0 only in two-byte) */
};

/*
 * An extension to write: id, value, value length. Used by
 * sfu_rtp_packet_rewrite_extensions() and sfu_rtp_packet_write(); value
 * is borrowed for the call and may point into the packet being rewritten.
 */
struct sfu_rtp_packet_ext_value {
	const uint8_t *value; /* borrowed */
	uint8_t id;
	uint8_t len;
};

/*
 * The parsed view. All members are read-only for callers: change the
 * packet through the functions below, which keep the view in step.
 */
struct sfu_rtp_packet {
	uint8_t *data;       /* borrowed: the caller's buffer */
	size_t len;          /* packet bytes at data */
	size_t capacity;     /* bytes writable at data, >= len */
	size_t header_len;   /* fixed + CSRCs + extension block */
	size_t payload_len;  /* bytes from header_len, padding excluded */
	uint8_t padding_len; /* trailing padding, incl. its count byte */
	uint8_t csrc_count;
	uint8_t payload_type;
	bool marker;
	uint16_t sequence_number;
	uint32_t timestamp;
	uint32_t ssrc;

	/* Header extension block (RFC 3550 5.3.1), when has_extension. */
	bool has_extension;
	enum sfu_rtp_packet_ext_form ext_form;
	uint16_t ext_profile;  /* "defined by profile" */
	size_t ext_off;        /* offset of the 4-byte block header */
	size_t ext_len;        /* bytes after the block header */
	uint8_t ext_count;     /* elements in ext[] */
	uint8_t ext_by_id[16]; /* id < 16 -> 1 + index in ext[], 0 none */
	struct sfu_rtp_packet_ext ext[SFU_RTP_PACKET_MAX_EXTENSIONS];
};

/* The fields sfu_rtp_packet_write() puts in a new packet. */
struct sfu_rtp_packet_spec {
	uint8_t payload_type; /* 0..127 */
	bool marker;
	uint16_t sequence_number;
	uint32_t timestamp;
	uint32_t ssrc;
	const uint32_t *csrcs; /* borrowed, csrc_count of them */
	uint8_t csrc_count;    /* 0..15 */
	const struct sfu_rtp_packet_ext_value *exts; /* borrowed */
	size_t ext_count;
	bool two_byte;          /* force the two-byte form */
	const uint8_t *payload; /* borrowed, may be NULL when 0 bytes */
	size_t payload_len;
	uint8_t padding_len; /* 0, or 1..255 padding bytes */
};

/*
 * RFC 7983 9 and RFC 5761 4: a datagram is RTP when its first byte is in
 * 128..191 and its second byte (marker + payload type) is outside 192..223,
 * which RTCP packet types 200..207 occupy (hence payload types 64..95 are
 * not used with rtcp-mux). Only classifies: parse before trusting it.
 */
static inline bool
sfu_rtp_is_rtp(const uint8_t *data, size_t len)
{
	return len >= SFU_RTP_PACKET_HEADER_LEN && data[0] >= 128 &&
	       data[0] <= 191 && (data[1] < 192 || data[1] > 223);
}

/*
 * Parses the packet at data (len bytes, in a buffer of capacity bytes with
 * capacity >= len) into p, which borrows data. Strict: returns -1, with p
 * unusable, when the packet is shorter than 12 bytes, is not version 2,
 * when the CSRC list, extension block or padding runs past the end, when
 * the padding count is 0 or larger than what follows the header, when an
 * RFC 8285 element overruns its block, or when there are more than
 * SFU_RTP_PACKET_MAX_EXTENSIONS elements. In the one-byte form a zero byte
 * is padding and id 15 ends the element list (RFC 8285 4.2), as does a
 * non-zero byte with id 0 (neither padding nor an element); in the
 * two-byte form id 0 is a padding byte. For duplicated ids, lookups find
 * the first element. Returns 0 on success.
 */
int sfu_rtp_packet_parse(
    struct sfu_rtp_packet *p, uint8_t *data, size_t len, size_t capacity);

/* The payload: data + header_len, payload_len bytes. */
static inline uint8_t *
sfu_rtp_packet_payload(const struct sfu_rtp_packet *p)
{
	return p->data + p->header_len;
}

/* CSRC i (0 <= i < csrc_count). */
static inline uint32_t
sfu_rtp_packet_csrc(const struct sfu_rtp_packet *p, unsigned i)
{
	const uint8_t *b = p->data + SFU_RTP_PACKET_HEADER_LEN + 4 * i;

	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

/* --- setters: write the header in place and update the view --- */

static inline void
sfu_rtp_packet_set_marker(struct sfu_rtp_packet *p, bool marker)
{
	p->data[1] = (uint8_t)((p->data[1] & 0x7f) | (marker ? 0x80 : 0));
	p->marker = marker;
}

/* pt is masked to 7 bits. */
static inline void
sfu_rtp_packet_set_payload_type(struct sfu_rtp_packet *p, uint8_t pt)
{
	p->data[1] = (uint8_t)((p->data[1] & 0x80) | (pt & 0x7f));
	p->payload_type = pt & 0x7f;
}

static inline void
sfu_rtp_packet_set_sequence_number(struct sfu_rtp_packet *p, uint16_t seq)
{
	p->data[2] = (uint8_t)(seq >> 8);
	p->data[3] = (uint8_t)seq;
	p->sequence_number = seq;
}

static inline void
sfu_rtp_packet_set_timestamp(struct sfu_rtp_packet *p, uint32_t ts)
{
	p->data[4] = (uint8_t)(ts >> 24);
	p->data[5] = (uint8_t)(ts >> 16);
	p->data[6] = (uint8_t)(ts >> 8);
	p->data[7] = (uint8_t)ts;
	p->timestamp = ts;
}

static inline void
sfu_rtp_packet_set_ssrc(struct sfu_rtp_packet *p, uint32_t ssrc)
{
	p->data[8] = (uint8_t)(ssrc >> 24);
	p->data[9] = (uint8_t)(ssrc >> 16);
	p->data[10] = (uint8_t)(ssrc >> 8);
	p->data[11] = (uint8_t)ssrc;
	p->ssrc = ssrc;
}

/* --- header extensions (RFC 8285) --- */

/*
 * The value of extension id (1..255), or NULL when the packet has none;
 * *len gets its length (a two-byte element may be empty: non-NULL, 0).
 * Points into the packet; valid until the extensions are changed.
 */
const uint8_t *sfu_rtp_packet_get_extension(
    const struct sfu_rtp_packet *p, uint8_t id, size_t *len);

/*
 * Overwrites the value of extension id with len bytes of val (which may
 * overlap it), in place. Returns -1, changing nothing, when the packet has
 * no such element or its length is not len: use
 * sfu_rtp_packet_rewrite_extensions() to change a length.
 */
int sfu_rtp_packet_set_extension_value(
    struct sfu_rtp_packet *p, uint8_t id, const uint8_t *val, size_t len);

/*
 * Renames the extension elements in place: each element's id becomes
 * map[id]; map[id] == 0 removes the element by overwriting its bytes with
 * zeros, which RFC 8285 reads as padding. So a consumer passes a map with
 * the ids it negotiated (producer id -> consumer id) and 0 elsewhere.
 * Returns -1, changing nothing, when a new id does not fit the block's
 * form (one-byte ids are 1..14) or two elements would end with the same
 * id. A block of another profile is left as it is. Returns 0 otherwise.
 */
int sfu_rtp_packet_update_extension_ids(
    struct sfu_rtp_packet *p, const uint8_t map[256]);

/*
 * Replaces the whole extension block with exts (count elements, in that
 * order): one-byte form when every id is 1..14 and every length 1..16,
 * else two-byte (ids 1..255, lengths 0..255); count 0 removes the block
 * and clears the X bit. The payload and padding move to follow the new
 * block, within capacity; len, header_len and the index are updated and
 * the CSRCs kept. Values may point into the packet (e.g. the elements
 * being kept). Returns -1, changing nothing, for an invalid or duplicated
 * id, more than SFU_RTP_PACKET_MAX_EXTENSIONS elements, a block over
 * SFU_RTP_PACKET_MAX_EXTENSION_BLOCK_LEN, or when the grown packet does not
 * fit in capacity.
 */
int sfu_rtp_packet_rewrite_extensions(struct sfu_rtp_packet *p,
    const struct sfu_rtp_packet_ext_value *exts, size_t count);

/*
 * Writes the extensions of p into exts[] (at most max) as a list that
 * sfu_rtp_packet_rewrite_extensions() accepts, values pointing into the
 * packet; duplicated ids are listed once. Returns the number written.
 */
size_t sfu_rtp_packet_list_extensions(const struct sfu_rtp_packet *p,
    struct sfu_rtp_packet_ext_value *exts, size_t max);

/* --- building packets (tests, benchmarks, probation padding) --- */

/*
 * Writes the header described by spec (fixed header, CSRCs and the
 * extension block chosen as in sfu_rtp_packet_rewrite_extensions(), or
 * the two-byte form when spec->two_byte) into buf. The P bit is set when
 * spec->padding_len > 0. Returns the header length, or 0 when it does not
 * fit in capacity or spec is invalid (payload type > 127, more than 15
 * CSRCs, a bad extension list).
 */
size_t sfu_rtp_packet_write_header(
    uint8_t *buf, size_t capacity, const struct sfu_rtp_packet_spec *spec);

/*
 * sfu_rtp_packet_write_header() followed by the payload and padding
 * (padding_len - 1 zeros and the count byte). Returns the packet length, or
 * 0 when it does not fit or spec is invalid.
 */
size_t sfu_rtp_packet_write(
    uint8_t *buf, size_t capacity, const struct sfu_rtp_packet_spec *spec);

#endif
