/*
 * SPDX-License-Identifier: MIT
 *
 * Codec table and key frame detection. Every parser walks the payload with
 * an offset checked against len before each read; any inconsistency
 * (truncated descriptor, length field past the end, forbidden bit set)
 * makes the answer false.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include "worker/rtc/codecs.h"

static const struct {
	const char *mime_type;
	enum sfu_codec_id id;
} codecs_mimes[] = {
    {"audio/opus", SFU_CODEC_OPUS},
    {"audio/multiopus", SFU_CODEC_MULTIOPUS},
    {"audio/PCMU", SFU_CODEC_PCMU},
    {"audio/PCMA", SFU_CODEC_PCMA},
    {"audio/G722", SFU_CODEC_G722},
    {"video/VP8", SFU_CODEC_VP8},
    {"video/VP9", SFU_CODEC_VP9},
    {"video/H264", SFU_CODEC_H264},
    {"video/H265", SFU_CODEC_H265},
    {"video/AV1", SFU_CODEC_AV1},
    {"video/rtx", SFU_CODEC_RTX},
    {"audio/rtx", SFU_CODEC_RTX},
};

enum sfu_codec_id
sfu_codec_from_mime(const char *mime_type)
{
	size_t i = 0;

	if (mime_type == NULL) {
		return SFU_CODEC_OTHER;
	}
	for (i = 0; i < sizeof(codecs_mimes) / sizeof(codecs_mimes[0]); i++) {
		if (strcasecmp(mime_type, codecs_mimes[i].mime_type) == 0) {
			return codecs_mimes[i].id;
		}
	}
	return SFU_CODEC_OTHER;
}

bool
sfu_codec_is_rtx(const char *mime_type)
{
	return sfu_codec_from_mime(mime_type) == SFU_CODEC_RTX;
}

const char *
sfu_codec_name(enum sfu_codec_id id)
{
	switch (id) {
	case SFU_CODEC_OPUS:
		return "opus";
	case SFU_CODEC_MULTIOPUS:
		return "multiopus";
	case SFU_CODEC_PCMU:
		return "PCMU";
	case SFU_CODEC_PCMA:
		return "PCMA";
	case SFU_CODEC_G722:
		return "G722";
	case SFU_CODEC_VP8:
		return "VP8";
	case SFU_CODEC_VP9:
		return "VP9";
	case SFU_CODEC_H264:
		return "H264";
	case SFU_CODEC_H265:
		return "H265";
	case SFU_CODEC_AV1:
		return "AV1";
	case SFU_CODEC_RTX:
		return "rtx";
	case SFU_CODEC_OTHER:
		break;
	}
	return "other";
}

bool
sfu_codec_has_keyframes(enum sfu_codec_id id)
{
	switch (id) {
	case SFU_CODEC_VP8:
	case SFU_CODEC_VP9:
	case SFU_CODEC_H264:
	case SFU_CODEC_H265:
	case SFU_CODEC_AV1:
		return true;
	default:
		return false;
	}
}

/* --- VP8 (RFC 7741) --- */

#define VP8_X 0x80   /* extended control bits present */
#define VP8_S 0x10   /* start of partition */
#define VP8_PID 0x07 /* partition index */
#define VP8_I 0x80   /* PictureID present */
#define VP8_L 0x40   /* TL0PICIDX present */
#define VP8_T 0x20   /* TID present */
#define VP8_K 0x10   /* KEYIDX present */
#define VP8_M 0x80   /* 15-bit PictureID */

/*
 * RFC 6386 9.1: a key frame's 3-byte frame tag (P, its bit 0, is 0) is
 * followed by the start code 9d 01 2a and 4 bytes of dimensions.
 */
#define VP8_KEY_HEADER_LEN 10

static bool
codecs_vp8_is_keyframe(const uint8_t *p, size_t len)
{
	size_t off = 1;
	uint8_t x = 0;

	if (len < 1) {
		return false;
	}
	/* Only the start of partition 0 holds the frame header. */
	if ((p[0] & VP8_S) == 0 || (p[0] & VP8_PID) != 0) {
		return false;
	}
	if ((p[0] & VP8_X) != 0) {
		if (off >= len) {
			return false;
		}
		x = p[off++];
		if ((x & VP8_I) != 0) {
			if (off >= len) {
				return false;
			}
			off += (p[off] & VP8_M) != 0 ? 2 : 1;
		}
		if ((x & VP8_L) != 0) {
			off++;
		}
		if ((x & (VP8_T | VP8_K)) != 0) {
			off++; /* TID/Y/KEYIDX share one byte */
		}
	}
	if (off > len || len - off < VP8_KEY_HEADER_LEN) {
		return false;
	}
	p += off;
	return (p[0] & 0x01) == 0 && p[3] == 0x9d && p[4] == 0x01 &&
	       p[5] == 0x2a;
}

/* --- VP9 (RFC 9628) --- */

#define VP9_I 0x80 /* PictureID present */
#define VP9_P 0x40 /* inter-picture predicted */
#define VP9_L 0x20 /* layer indices present */
#define VP9_F 0x10 /* flexible mode */
#define VP9_B 0x08 /* start of a frame */
#define VP9_V 0x02 /* scalability structure present */
#define VP9_M 0x80 /* 15-bit PictureID */

static bool
codecs_vp9_is_keyframe(const uint8_t *p, size_t len)
{
	size_t off = 1;
	uint8_t b0 = 0;
	uint8_t ss = 0;
	unsigned n_s = 0;
	unsigned n_g = 0;
	unsigned i = 0;

	if (len < 1) {
		return false;
	}
	b0 = p[0];
	if ((b0 & VP9_P) != 0 || (b0 & VP9_B) == 0) {
		return false;
	}
	if ((b0 & VP9_I) != 0) {
		if (off >= len) {
			return false;
		}
		off += (p[off] & VP9_M) != 0 ? 2 : 1;
	}
	if ((b0 & VP9_L) != 0) {
		if (off >= len) {
			return false;
		}
		/* TID(3) U(1) SID(3) D(1): upper spatial layers of a key
		 * picture are not where decoding can start. */
		if (((p[off] >> 1) & 0x07) != 0) {
			return false;
		}
		off++;
		if ((b0 & VP9_F) == 0) {
			off++; /* TL0PICIDX, non-flexible mode */
		}
	}
	/* P_DIFF (F=1 and P=1) cannot occur: P is 0 here. */
	if ((b0 & VP9_V) != 0) {
		if (off >= len) {
			return false;
		}
		ss = p[off++];
		n_s = (unsigned)(ss >> 5) + 1;
		if ((ss & 0x10) != 0) {
			off += 4 * n_s; /* Y: WIDTH, HEIGHT per layer */
		}
		if ((ss & 0x08) != 0) {
			/* G: N_G pictures, each T(3) U(1) R(2) + R P_DIFFs */
			if (off >= len) {
				return false;
			}
			n_g = p[off++];
			for (i = 0; i < n_g; i++) {
				if (off >= len) {
					return false;
				}
				off += 1 + ((p[off] >> 2) & 0x03);
			}
		}
	}

	/* The descriptor must be followed by some VP9 payload. */
	return off < len;
}

/* --- H264 (RFC 6184) --- */

#define H264_F 0x80 /* forbidden_zero_bit */
#define H264_TYPE 0x1f
#define H264_IDR 5
#define H264_SPS 7
#define H264_STAP_A 24
#define H264_STAP_B 25
#define H264_FU_A 28
#define H264_FU_B 29
#define H264_FU_S 0x80 /* FU header: start */
#define H264_FU_E 0x40 /* FU header: end */

static bool
codecs_h264_type_is_key(uint8_t type)
{
	return type == H264_IDR || type == H264_SPS;
}

/* Aggregation units from off: 16-bit size, then a NAL unit of that size. */
static bool
codecs_h264_stap_is_keyframe(const uint8_t *p, size_t len, size_t off)
{
	bool key = false;
	size_t size = 0;

	if (off >= len) {
		return false; /* no unit at all */
	}
	while (off < len) {
		if (len - off < 2) {
			return false;
		}
		size = (size_t)p[off] << 8 | p[off + 1];
		off += 2;
		if (size == 0 || size > len - off) {
			return false;
		}
		if ((p[off] & H264_F) != 0) {
			return false;
		}
		if (codecs_h264_type_is_key(p[off] & H264_TYPE)) {
			key = true;
		}
		off += size;
	}
	return key;
}

static bool
codecs_h264_is_keyframe(const uint8_t *p, size_t len)
{
	uint8_t type = 0;
	uint8_t fu = 0;

	if (len < 1 || (p[0] & H264_F) != 0) {
		return false;
	}
	type = p[0] & H264_TYPE;
	switch (type) {
	case H264_STAP_A:
		return codecs_h264_stap_is_keyframe(p, len, 1);
	case H264_STAP_B:
		/* 16-bit DON before the units */
		return len >= 3 && codecs_h264_stap_is_keyframe(p, len, 3);
	case H264_FU_A:
	case H264_FU_B:
		/* FU-B carries a 16-bit DON after the FU header. */
		if (len < (type == H264_FU_B ? 5u : 3u)) {
			return false;
		}
		fu = p[1];
		if ((fu & H264_FU_S) == 0 || (fu & H264_FU_E) != 0) {
			return false; /* not a start; S+E is malformed */
		}
		return codecs_h264_type_is_key(fu & H264_TYPE);
	default:
		/* 1-23: a single NAL unit; 0, MTAPs, 30, 31: never key. */
		return type >= 1 && type <= 23 && codecs_h264_type_is_key(type);
	}
}

/* --- H265 (RFC 7798) --- */

#define H265_F 0x80   /* forbidden_zero_bit, first byte */
#define H265_TID 0x07 /* nuh_temporal_id_plus1, second byte */
#define H265_AP 48
#define H265_FU 49
#define H265_FU_S 0x80
#define H265_FU_E 0x40
#define H265_FU_TYPE 0x3f

static uint8_t
codecs_h265_type(const uint8_t *nal)
{
	return (nal[0] >> 1) & 0x3f;
}

/* A 2-byte NAL unit header as RFC 7798 1.1.4 requires: F 0, TID > 0. */
static bool
codecs_h265_header_ok(const uint8_t *nal)
{
	return (nal[0] & H265_F) == 0 && (nal[1] & H265_TID) != 0;
}

/* 16-21 IRAP (BLA, IDR, CRA), 32 VPS, 33 SPS. */
static bool
codecs_h265_type_is_key(uint8_t type)
{
	return (type >= 16 && type <= 21) || type == 32 || type == 33;
}

static bool
codecs_h265_is_keyframe(const uint8_t *p, size_t len)
{
	bool key = false;
	size_t off = 2;
	size_t size = 0;
	uint8_t type = 0;
	uint8_t fu = 0;

	if (len < 2 || !codecs_h265_header_ok(p)) {
		return false;
	}
	type = codecs_h265_type(p);
	if (type < H265_AP) {
		return codecs_h265_type_is_key(type);
	}
	if (type == H265_FU) {
		if (len < 4) {
			return false; /* FU header and 1 byte of data */
		}
		fu = p[2];
		if ((fu & H265_FU_S) == 0 || (fu & H265_FU_E) != 0) {
			return false;
		}
		return codecs_h265_type_is_key(fu & H265_FU_TYPE);
	}
	if (type != H265_AP) {
		return false; /* 50 PACI, 51-63 unspecified */
	}
	if (off >= len) {
		return false;
	}
	while (off < len) {
		if (len - off < 2) {
			return false;
		}
		size = (size_t)p[off] << 8 | p[off + 1];
		off += 2;
		if (size < 2 || size > len - off) {
			return false;
		}
		if (!codecs_h265_header_ok(p + off)) {
			return false;
		}
		if (codecs_h265_type_is_key(codecs_h265_type(p + off))) {
			key = true;
		}
		off += size;
	}
	return key;
}

/* --- AV1 (AV1 RTP specification) --- */

#define AV1_Z 0x80       /* first OBU element continues one */
#define AV1_W 0x30       /* OBU element count, 0: each has a length */
#define AV1_N 0x08       /* first packet of a coded video sequence */
#define AV1_OBU_F 0x80   /* OBU header forbidden bit */
#define AV1_LEB128_MAX 8 /* bytes */

/* AV1 4.10.5 leb128(): at most 8 bytes. Returns false if truncated. */
static bool
codecs_av1_leb128(const uint8_t *p, size_t len, size_t *off, uint64_t *v)
{
	unsigned i = 0;

	*v = 0;
	for (i = 0; i < AV1_LEB128_MAX; i++) {
		if (*off >= len) {
			return false;
		}
		*v |= (uint64_t)(p[*off] & 0x7f) << (7 * i);
		if ((p[(*off)++] & 0x80) == 0) {
			return true;
		}
	}
	return false;
}

static bool
codecs_av1_is_keyframe(const uint8_t *p, size_t len)
{
	size_t off = 1;
	uint64_t elem_len = 0;

	if (len < 2) {
		return false;
	}
	if ((p[0] & AV1_N) == 0) {
		return false;
	}
	/* A new sequence cannot begin with the tail of an earlier OBU. */
	if ((p[0] & AV1_Z) != 0) {
		return false;
	}
	/* W=1: the only element has no length field; else the first has. */
	if ((p[0] & AV1_W) >> 4 != 1) {
		if (!codecs_av1_leb128(p, len, &off, &elem_len)) {
			return false;
		}
		if (elem_len == 0 || elem_len > len - off) {
			return false;
		}
	}
	if (off >= len) {
		return false;
	}
	return (p[off] & AV1_OBU_F) == 0;
}

bool
sfu_codec_is_keyframe(enum sfu_codec_id id, const uint8_t *payload, size_t len)
{
	if (payload == NULL) {
		return false;
	}
	switch (id) {
	case SFU_CODEC_VP8:
		return codecs_vp8_is_keyframe(payload, len);
	case SFU_CODEC_VP9:
		return codecs_vp9_is_keyframe(payload, len);
	case SFU_CODEC_H264:
		return codecs_h264_is_keyframe(payload, len);
	case SFU_CODEC_H265:
		return codecs_h265_is_keyframe(payload, len);
	case SFU_CODEC_AV1:
		return codecs_av1_is_keyframe(payload, len);
	default:
		return false;
	}
}
