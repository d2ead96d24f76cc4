/*
 * SPDX-License-Identifier: MIT
 *
 * Codec identification from an RTP mimeType and key frame detection on RTP
 * payloads (VP8, VP9, H264, H265, AV1), mediasoup's RTC::Codecs::Tools in
 * C. Pure functions on caller-owned bytes: nothing is kept, allocated or
 * logged; they never read past len and answer false on malformed input.
 */
#ifndef SFU_WORKER_CODECS_H
#define SFU_WORKER_CODECS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sfu_codec_id {
	SFU_CODEC_OTHER,     /* anything not below, FEC and RED included */
	SFU_CODEC_OPUS,      /* audio/opus */
	SFU_CODEC_MULTIOPUS, /* audio/multiopus */
	SFU_CODEC_PCMU,      /* audio/PCMU */
	SFU_CODEC_PCMA,      /* audio/PCMA */
	SFU_CODEC_G722,      /* audio/G722 */
	SFU_CODEC_VP8,       /* video/VP8 */
	SFU_CODEC_VP9,       /* video/VP9 */
	SFU_CODEC_H264,      /* video/H264 */
	SFU_CODEC_H265,      /* video/H265 */
	SFU_CODEC_AV1,       /* video/AV1 */
	SFU_CODEC_RTX,       /* video/rtx or audio/rtx (RFC 4588) */
};

/*
 * The codec of a mimeType ("video/VP8"), compared case-insensitively as
 * mediasoup does; the type must match too ("audio/VP8" is OTHER). NULL or
 * unknown: SFU_CODEC_OTHER.
 */
enum sfu_codec_id sfu_codec_from_mime(const char *mime_type);
/* True for an RTX mimeType ("video/rtx", "audio/rtx", any case). */
bool sfu_codec_is_rtx(const char *mime_type);
/* Canonical subtype ("VP8", "opus"...), "other" for SFU_CODEC_OTHER. */
const char *sfu_codec_name(enum sfu_codec_id id);
/* True if sfu_codec_is_keyframe() can ever answer true for id. */
bool sfu_codec_has_keyframes(enum sfu_codec_id id);

/*
 * True if this RTP payload (after the RTP header, extensions and padding
 * removed) starts a key frame, or carries what a decoder needs to start:
 *   VP8   first packet of partition 0 (S=1, PID=0) with P=0 and the key
 *         frame start code (RFC 7741, RFC 6386 9.1);
 *   VP9   P=0, B=1 and spatial layer 0 when layer indices are present
 *         (RFC 9628, draft-ietf-payload-vp9-16);
 *   H264  IDR (5) or SPS (7), alone, in a STAP-A/STAP-B, or as the start
 *         of an FU-A/FU-B (RFC 6184);
 *   H265  IRAP (16-21), VPS (32) or SPS (33), alone, in an AP, or as the
 *         start of an FU (RFC 7798; no DONL, as WebRTC never uses it);
 *   AV1   aggregation header N=1: the first packet of a coded video
 *         sequence (AV1 RTP specification 4.4).
 * Any other codec, a truncated or malformed payload: false.
 */
bool sfu_codec_is_keyframe(
    enum sfu_codec_id id, const uint8_t *payload, size_t len);

#endif /* SFU_WORKER_CODECS_H */
