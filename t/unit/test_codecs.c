/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for worker/rtc/codecs: mimeType lookup, and key frame
 * detection on hand-built payloads for VP8, VP9, H264, H265 and AV1 (key,
 * non-key, truncated, malformed). Every payload is copied into a heap block
 * of exactly its length, so with -fsanitize=address any read past len
 * fails the test; a prefix sweep and a random sweep do the same at scale.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "worker/rtc/codecs.h"

/* --- helpers --- */

/* sfu_codec_is_keyframe() on a copy exactly len bytes long. */
static bool
is_key_len(enum sfu_codec_id id, const uint8_t *p, size_t len)
{
	uint8_t *copy = NULL;
	bool key = false;

	copy = malloc(len == 0 ? 1 : len);
	assert_non_null(copy);
	if (len > 0) {
		memcpy(copy, p, len);
	}
	/* With len 0, point past the block: any read trips ASan. */
	key = sfu_codec_is_keyframe(id, len == 0 ? copy + 1 : copy, len);
	free(copy);
	return key;
}

#define IS_KEY(id, arr) is_key_len((id), (arr), sizeof(arr))
#define IS_KEY_CUT(id, arr, n) is_key_len((id), (arr), sizeof(arr) - (n))

/* Every prefix of p, for the sanitizer to catch over-reads. */
static void
sweep_prefixes(enum sfu_codec_id id, const uint8_t *p, size_t len)
{
	size_t n = 0;

	for (n = 0; n <= len; n++) {
		(void)is_key_len(id, p, n);
	}
}

/* --- payloads --- */

/* VP8: S=1 PID=0, frame tag P=0 (key), start code, 640x480. */
static const uint8_t vp8_key[] = {
    0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01};
/* X with I (15-bit PictureID), L, T and K before the same header. */
static const uint8_t vp8_key_ext[] = {0x90, 0xf0, 0x80, 0x01, 0x05, 0x20, 0x10,
    0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01};

/* VP9 non-flexible: I (15 bit), L (SID 0) + TL0PICIDX, B, V with Y, G. */
static const uint8_t vp9_key_ss[] = {0xaa, 0x80, 0x10, 0x00, 0x01, 0x18, 0x02,
    0x80, 0x01, 0xe0, 0x01, 0x04, 0x01, 0x82};

/* H264 STAP-A: SPS, PPS, IDR slice. */
static const uint8_t h264_stap_key[] = {0x78, 0x00, 0x03, 0x67, 0x42, 0x00,
    0x00, 0x02, 0x68, 0xce, 0x00, 0x02, 0x65, 0x88};

/* H265 AP: VPS, SPS, IDR_W_RADL. */
static const uint8_t h265_ap_key[] = {0x60, 0x01, 0x00, 0x03, 0x40, 0x01, 0x0c,
    0x00, 0x03, 0x42, 0x01, 0x01, 0x00, 0x03, 0x26, 0x01, 0xaf};

/* AV1: N=1, W=0, one element of 3 bytes: a sequence header OBU. */
static const uint8_t av1_key_w0[] = {0x08, 0x03, 0x08, 0x00, 0x00};

/* --- mimeType --- */

/* mimeTypes map to codecs case-insensitively, type included. */
static void
test_codecs_from_mime(void **state)
{
	(void)state;
	assert_int_equal(sfu_codec_from_mime("video/VP8"), SFU_CODEC_VP8);
	assert_int_equal(sfu_codec_from_mime("VIDEO/vp8"), SFU_CODEC_VP8);
	assert_int_equal(sfu_codec_from_mime("video/vp9"), SFU_CODEC_VP9);
	assert_int_equal(sfu_codec_from_mime("video/h264"), SFU_CODEC_H264);
	assert_int_equal(sfu_codec_from_mime("video/H265"), SFU_CODEC_H265);
	assert_int_equal(sfu_codec_from_mime("video/AV1"), SFU_CODEC_AV1);
	assert_int_equal(sfu_codec_from_mime("audio/opus"), SFU_CODEC_OPUS);
	assert_int_equal(
	    sfu_codec_from_mime("audio/multiopus"), SFU_CODEC_MULTIOPUS);
	assert_int_equal(sfu_codec_from_mime("audio/pcmu"), SFU_CODEC_PCMU);
	assert_int_equal(sfu_codec_from_mime("audio/PCMA"), SFU_CODEC_PCMA);
	assert_int_equal(sfu_codec_from_mime("audio/G722"), SFU_CODEC_G722);
	assert_int_equal(sfu_codec_from_mime("video/rtx"), SFU_CODEC_RTX);
	assert_int_equal(sfu_codec_from_mime("audio/VP8"), SFU_CODEC_OTHER);
	assert_int_equal(sfu_codec_from_mime("video/VP8 "), SFU_CODEC_OTHER);
	assert_int_equal(sfu_codec_from_mime("video/red"), SFU_CODEC_OTHER);
	assert_int_equal(sfu_codec_from_mime("VP8"), SFU_CODEC_OTHER);
	assert_int_equal(sfu_codec_from_mime(""), SFU_CODEC_OTHER);
	assert_int_equal(sfu_codec_from_mime(NULL), SFU_CODEC_OTHER);
}

/* RTX is recognised in either media type and any case. */
static void
test_codecs_is_rtx(void **state)
{
	(void)state;
	assert_true(sfu_codec_is_rtx("video/rtx"));
	assert_true(sfu_codec_is_rtx("video/RTX"));
	assert_true(sfu_codec_is_rtx("audio/rtx"));
	assert_false(sfu_codec_is_rtx("video/VP8"));
	assert_false(sfu_codec_is_rtx("rtx"));
	assert_false(sfu_codec_is_rtx(NULL));
}

/* Names and key frame capability per codec. */
static void
test_codecs_name_and_capability(void **state)
{
	(void)state;
	assert_string_equal(sfu_codec_name(SFU_CODEC_VP8), "VP8");
	assert_string_equal(sfu_codec_name(SFU_CODEC_OPUS), "opus");
	assert_string_equal(sfu_codec_name(SFU_CODEC_OTHER), "other");
	assert_true(sfu_codec_has_keyframes(SFU_CODEC_VP8));
	assert_true(sfu_codec_has_keyframes(SFU_CODEC_VP9));
	assert_true(sfu_codec_has_keyframes(SFU_CODEC_H264));
	assert_true(sfu_codec_has_keyframes(SFU_CODEC_H265));
	assert_true(sfu_codec_has_keyframes(SFU_CODEC_AV1));
	assert_false(sfu_codec_has_keyframes(SFU_CODEC_OPUS));
	assert_false(sfu_codec_has_keyframes(SFU_CODEC_RTX));
}

/* Codecs without key frames and NULL payloads always answer false. */
static void
test_codecs_other_never_keyframe(void **state)
{
	static const uint8_t p[] = {0x65, 0x10, 0x08, 0x00};

	(void)state;
	assert_false(IS_KEY(SFU_CODEC_OPUS, p));
	assert_false(IS_KEY(SFU_CODEC_OTHER, p));
	assert_false(IS_KEY(SFU_CODEC_RTX, p));
	assert_false(sfu_codec_is_keyframe(SFU_CODEC_H264, NULL, 4));
}

/* --- VP8 --- */

/* VP8 key frames are found with and without the extended descriptor. */
static void
test_codecs_vp8_keyframe(void **state)
{
	(void)state;
	assert_true(IS_KEY(SFU_CODEC_VP8, vp8_key));
	assert_true(IS_KEY(SFU_CODEC_VP8, vp8_key_ext));
}

/* VP8 inter frames and packets past the first of partition 0 are not. */
static void
test_codecs_vp8_not_keyframe(void **state)
{
	uint8_t p[sizeof(vp8_key)];

	(void)state;
	memcpy(p, vp8_key, sizeof(p));
	p[1] |= 0x01; /* P=1: inter frame */
	assert_false(IS_KEY(SFU_CODEC_VP8, p));

	memcpy(p, vp8_key, sizeof(p));
	p[0] = 0x00; /* S=0: continuation */
	assert_false(IS_KEY(SFU_CODEC_VP8, p));

	memcpy(p, vp8_key, sizeof(p));
	p[0] = 0x11; /* S=1 but partition 1 */
	assert_false(IS_KEY(SFU_CODEC_VP8, p));

	memcpy(p, vp8_key, sizeof(p));
	p[4] = 0x9c; /* bad start code */
	assert_false(IS_KEY(SFU_CODEC_VP8, p));
}

/* Truncated VP8 descriptors or key headers are rejected. */
static void
test_codecs_vp8_truncated(void **state)
{
	static const uint8_t x_only[] = {0x90};
	static const uint8_t pid_cut[] = {0x90, 0x80, 0x80};

	(void)state;
	assert_false(IS_KEY_CUT(SFU_CODEC_VP8, vp8_key, 1));
	assert_false(IS_KEY_CUT(SFU_CODEC_VP8, vp8_key_ext, 1));
	assert_false(IS_KEY(SFU_CODEC_VP8, x_only));
	assert_false(IS_KEY(SFU_CODEC_VP8, pid_cut));
	assert_false(is_key_len(SFU_CODEC_VP8, vp8_key, 0));
	sweep_prefixes(SFU_CODEC_VP8, vp8_key_ext, sizeof(vp8_key_ext));
}

/* --- VP9 --- */

/* VP9 key frames: P=0, B=1, spatial layer 0, any descriptor shape. */
static void
test_codecs_vp9_keyframe(void **state)
{
	static const uint8_t bare[] = {0x08, 0x82};
	static const uint8_t flexible[] = {0x38, 0x00, 0x82};
	static const uint8_t pid7[] = {0x88, 0x7f, 0x82};

	(void)state;
	assert_true(IS_KEY(SFU_CODEC_VP9, bare));
	assert_true(IS_KEY(SFU_CODEC_VP9, flexible));
	assert_true(IS_KEY(SFU_CODEC_VP9, pid7));
	assert_true(IS_KEY(SFU_CODEC_VP9, vp9_key_ss));
}

/* VP9 inter frames, non-start packets and upper spatial layers are not. */
static void
test_codecs_vp9_not_keyframe(void **state)
{
	static const uint8_t inter[] = {0x48, 0x82};
	static const uint8_t middle[] = {0x00, 0x82};
	static const uint8_t end[] = {0x04, 0x82};
	static const uint8_t sl1[] = {0xa8, 0x05, 0x02, 0x00, 0x82};
	static const uint8_t flexible_sl2[] = {0x38, 0x04, 0x82};

	(void)state;
	assert_false(IS_KEY(SFU_CODEC_VP9, inter));
	assert_false(IS_KEY(SFU_CODEC_VP9, middle));
	assert_false(IS_KEY(SFU_CODEC_VP9, end));
	assert_false(IS_KEY(SFU_CODEC_VP9, sl1));
	assert_false(IS_KEY(SFU_CODEC_VP9, flexible_sl2));
}

/* Truncated VP9 descriptors (or no payload after one) are rejected. */
static void
test_codecs_vp9_truncated(void **state)
{
	static const uint8_t no_payload[] = {0x08};
	static const uint8_t pid_cut[] = {0x88, 0x80};
	static const uint8_t tl0_cut[] = {0x28, 0x00};
	/* V with Y for 2 layers (8 bytes of sizes) but only 4 present */
	static const uint8_t ss_cut[] = {
	    0x0a, 0x30, 0x02, 0x80, 0x01, 0xe0, 0x82};
	/* G announcing 2 pictures, the second missing */
	static const uint8_t ng_cut[] = {0x0a, 0x08, 0x02, 0x04, 0x01};

	(void)state;
	assert_false(IS_KEY(SFU_CODEC_VP9, no_payload));
	assert_false(IS_KEY(SFU_CODEC_VP9, pid_cut));
	assert_false(IS_KEY(SFU_CODEC_VP9, tl0_cut));
	assert_false(IS_KEY(SFU_CODEC_VP9, ss_cut));
	assert_false(IS_KEY(SFU_CODEC_VP9, ng_cut));
	assert_false(IS_KEY_CUT(SFU_CODEC_VP9, vp9_key_ss, 1));
	assert_false(is_key_len(SFU_CODEC_VP9, vp9_key_ss, 0));
	sweep_prefixes(SFU_CODEC_VP9, vp9_key_ss, sizeof(vp9_key_ss));
}

/* --- H264 --- */

/* H264 IDR or SPS alone, in a STAP-A/B, or starting an FU-A/B is key. */
static void
test_codecs_h264_keyframe(void **state)
{
	static const uint8_t idr[] = {0x65, 0x88, 0x84};
	static const uint8_t sps[] = {0x67, 0x42, 0xc0, 0x1f};
	static const uint8_t fu_a_start[] = {0x7c, 0x85, 0x88, 0x84};
	static const uint8_t stap_b[] = {
	    0x79, 0x00, 0x01, 0x00, 0x02, 0x65, 0x88};
	static const uint8_t fu_b_start[] = {0x7d, 0x85, 0x00, 0x01, 0x88};

	(void)state;
	assert_true(IS_KEY(SFU_CODEC_H264, idr));
	assert_true(IS_KEY(SFU_CODEC_H264, sps));
	assert_true(IS_KEY(SFU_CODEC_H264, h264_stap_key));
	assert_true(IS_KEY(SFU_CODEC_H264, fu_a_start));
	assert_true(IS_KEY(SFU_CODEC_H264, stap_b));
	assert_true(IS_KEY(SFU_CODEC_H264, fu_b_start));
}

/* H264 non-IDR slices, PPS, FU middles and MTAPs are not key. */
static void
test_codecs_h264_not_keyframe(void **state)
{
	static const uint8_t slice[] = {0x41, 0x9a, 0x00};
	static const uint8_t pps[] = {0x68, 0xce, 0x3c};
	static const uint8_t stap_p[] = {
	    0x78, 0x00, 0x02, 0x41, 0x9a, 0x00, 0x02, 0x41, 0x9b};
	static const uint8_t fu_middle[] = {0x7c, 0x05, 0x88};
	static const uint8_t fu_end[] = {0x7c, 0x45, 0x88};
	static const uint8_t fu_slice[] = {0x7c, 0x81, 0x88};
	static const uint8_t mtap16[] = {
	    0x7a, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x65};
	static const uint8_t type0[] = {0x00, 0x65};

	(void)state;
	assert_false(IS_KEY(SFU_CODEC_H264, slice));
	assert_false(IS_KEY(SFU_CODEC_H264, pps));
	assert_false(IS_KEY(SFU_CODEC_H264, stap_p));
	assert_false(IS_KEY(SFU_CODEC_H264, fu_middle));
	assert_false(IS_KEY(SFU_CODEC_H264, fu_end));
	assert_false(IS_KEY(SFU_CODEC_H264, fu_slice));
	assert_false(IS_KEY(SFU_CODEC_H264, mtap16));
	assert_false(IS_KEY(SFU_CODEC_H264, type0));
}

/* Truncated or malformed H264 aggregates and fragments are rejected. */
static void
test_codecs_h264_truncated_or_malformed(void **state)
{
	static const uint8_t forbidden[] = {0xe5, 0x88};
	static const uint8_t stap_empty[] = {0x78};
	static const uint8_t stap_zero[] = {
	    0x78, 0x00, 0x00, 0x00, 0x02, 0x65, 0x88};
	static const uint8_t stap_trailing[] = {
	    0x78, 0x00, 0x02, 0x65, 0x88, 0x00};
	static const uint8_t stap_inner_f[] = {0x78, 0x00, 0x02, 0xe5, 0x88};
	static const uint8_t fu_short[] = {0x7c, 0x85};
	static const uint8_t fu_start_end[] = {0x7c, 0xc5, 0x88};
	static const uint8_t fu_b_short[] = {0x7d, 0x85, 0x00, 0x01};
	static const uint8_t stap_b_short[] = {0x79, 0x00};

	(void)state;
	assert_false(IS_KEY(SFU_CODEC_H264, forbidden));
	assert_false(IS_KEY(SFU_CODEC_H264, stap_empty));
	assert_false(IS_KEY(SFU_CODEC_H264, stap_zero));
	assert_false(IS_KEY(SFU_CODEC_H264, stap_trailing));
	assert_false(IS_KEY(SFU_CODEC_H264, stap_inner_f));
	assert_false(IS_KEY(SFU_CODEC_H264, fu_short));
	assert_false(IS_KEY(SFU_CODEC_H264, fu_start_end));
	assert_false(IS_KEY(SFU_CODEC_H264, fu_b_short));
	assert_false(IS_KEY(SFU_CODEC_H264, stap_b_short));
	assert_false(IS_KEY_CUT(SFU_CODEC_H264, h264_stap_key, 1));
	assert_false(is_key_len(SFU_CODEC_H264, h264_stap_key, 0));
	sweep_prefixes(SFU_CODEC_H264, h264_stap_key, sizeof(h264_stap_key));
}

/* --- H265 --- */

/* H265 IRAP, VPS and SPS alone, in an AP, or starting an FU are key. */
static void
test_codecs_h265_keyframe(void **state)
{
	static const uint8_t idr_w_radl[] = {0x26, 0x01, 0xaf};
	static const uint8_t idr_n_lp[] = {0x28, 0x01, 0xaf};
	static const uint8_t bla_w_lp[] = {0x20, 0x01, 0xaf};
	static const uint8_t cra[] = {0x2a, 0x01, 0xaf};
	static const uint8_t vps[] = {0x40, 0x01, 0x0c};
	static const uint8_t sps[] = {0x42, 0x01, 0x01};
	static const uint8_t fu_start[] = {0x62, 0x01, 0x93, 0xaf};

	(void)state;
	assert_true(IS_KEY(SFU_CODEC_H265, idr_w_radl));
	assert_true(IS_KEY(SFU_CODEC_H265, idr_n_lp));
	assert_true(IS_KEY(SFU_CODEC_H265, bla_w_lp));
	assert_true(IS_KEY(SFU_CODEC_H265, cra));
	assert_true(IS_KEY(SFU_CODEC_H265, vps));
	assert_true(IS_KEY(SFU_CODEC_H265, sps));
	assert_true(IS_KEY(SFU_CODEC_H265, h265_ap_key));
	assert_true(IS_KEY(SFU_CODEC_H265, fu_start));
}

/* H265 trailing pictures, PPS, FU middles and PACI are not key. */
static void
test_codecs_h265_not_keyframe(void **state)
{
	static const uint8_t trail_r[] = {0x02, 0x01, 0xaf};
	static const uint8_t reserved_22[] = {0x2c, 0x01, 0xaf};
	static const uint8_t pps[] = {0x44, 0x01, 0xc1};
	static const uint8_t ap_trail[] = {0x60, 0x01, 0x00, 0x03, 0x02, 0x01,
	    0xaf, 0x00, 0x03, 0x44, 0x01, 0xc1};
	static const uint8_t fu_middle[] = {0x62, 0x01, 0x13, 0xaf};
	static const uint8_t fu_trail[] = {0x62, 0x01, 0x81, 0xaf};
	static const uint8_t paci[] = {0x64, 0x01, 0x26, 0x00, 0x26, 0x01};

	(void)state;
	assert_false(IS_KEY(SFU_CODEC_H265, trail_r));
	assert_false(IS_KEY(SFU_CODEC_H265, reserved_22));
	assert_false(IS_KEY(SFU_CODEC_H265, pps));
	assert_false(IS_KEY(SFU_CODEC_H265, ap_trail));
	assert_false(IS_KEY(SFU_CODEC_H265, fu_middle));
	assert_false(IS_KEY(SFU_CODEC_H265, fu_trail));
	assert_false(IS_KEY(SFU_CODEC_H265, paci));
}

/* Truncated or malformed H265 headers, APs and FUs are rejected. */
static void
test_codecs_h265_truncated_or_malformed(void **state)
{
	static const uint8_t one_byte[] = {0x26};
	static const uint8_t tid0[] = {0x26, 0x00, 0xaf};
	static const uint8_t forbidden[] = {0xa6, 0x01, 0xaf};
	static const uint8_t ap_empty[] = {0x60, 0x01};
	static const uint8_t ap_unit1[] = {0x60, 0x01, 0x00, 0x01, 0x26};
	static const uint8_t ap_inner_tid0[] = {
	    0x60, 0x01, 0x00, 0x02, 0x26, 0x00};
	static const uint8_t fu_short[] = {0x62, 0x01, 0x93};
	static const uint8_t fu_start_end[] = {0x62, 0x01, 0xd3, 0xaf};

	(void)state;
	assert_false(IS_KEY(SFU_CODEC_H265, one_byte));
	assert_false(IS_KEY(SFU_CODEC_H265, tid0));
	assert_false(IS_KEY(SFU_CODEC_H265, forbidden));
	assert_false(IS_KEY(SFU_CODEC_H265, ap_empty));
	assert_false(IS_KEY(SFU_CODEC_H265, ap_unit1));
	assert_false(IS_KEY(SFU_CODEC_H265, ap_inner_tid0));
	assert_false(IS_KEY(SFU_CODEC_H265, fu_short));
	assert_false(IS_KEY(SFU_CODEC_H265, fu_start_end));
	assert_false(IS_KEY_CUT(SFU_CODEC_H265, h265_ap_key, 1));
	assert_false(is_key_len(SFU_CODEC_H265, h265_ap_key, 0));
	sweep_prefixes(SFU_CODEC_H265, h265_ap_key, sizeof(h265_ap_key));
}

/* --- AV1 --- */

/* AV1 N=1 (new coded video sequence) is key, whatever W says. */
static void
test_codecs_av1_keyframe(void **state)
{
	static const uint8_t w1[] = {0x18, 0x0a, 0x0b, 0x00};
	static const uint8_t w2[] = {0x28, 0x02, 0x0a, 0x00, 0x32, 0x00};
	/* W=0 with a 2-byte leb128 length (130) */
	uint8_t big[3 + 130];

	(void)state;
	assert_true(IS_KEY(SFU_CODEC_AV1, av1_key_w0));
	assert_true(IS_KEY(SFU_CODEC_AV1, w1));
	assert_true(IS_KEY(SFU_CODEC_AV1, w2));
	memset(big, 0, sizeof(big));
	big[0] = 0x08;
	big[1] = 0x82;
	big[2] = 0x01;
	big[3] = 0x0a;
	assert_true(IS_KEY(SFU_CODEC_AV1, big));
	assert_false(IS_KEY_CUT(SFU_CODEC_AV1, big, 1));
}

/* AV1 packets with N=0 are not key, even when they hold an OBU start. */
static void
test_codecs_av1_not_keyframe(void **state)
{
	static const uint8_t n0[] = {0x10, 0x32, 0x00};
	static const uint8_t continuation[] = {0x90, 0x00, 0x00};

	(void)state;
	assert_false(IS_KEY(SFU_CODEC_AV1, n0));
	assert_false(IS_KEY(SFU_CODEC_AV1, continuation));
}

/* Truncated or malformed AV1 aggregation is rejected. */
static void
test_codecs_av1_truncated_or_malformed(void **state)
{
	static const uint8_t header_only[] = {0x18};
	static const uint8_t z_and_n[] = {0x98, 0x0a, 0x00};
	static const uint8_t len_past_end[] = {0x08, 0x05, 0x0a, 0x00};
	static const uint8_t len_zero[] = {0x08, 0x00, 0x0a};
	static const uint8_t leb_unterminated[] = {0x08, 0x80, 0x80};
	static const uint8_t leb_too_long[] = {
	    0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x0a};
	static const uint8_t obu_forbidden[] = {0x18, 0x8a, 0x00};

	(void)state;
	assert_false(IS_KEY(SFU_CODEC_AV1, header_only));
	assert_false(IS_KEY(SFU_CODEC_AV1, z_and_n));
	assert_false(IS_KEY(SFU_CODEC_AV1, len_past_end));
	assert_false(IS_KEY(SFU_CODEC_AV1, len_zero));
	assert_false(IS_KEY(SFU_CODEC_AV1, leb_unterminated));
	assert_false(IS_KEY(SFU_CODEC_AV1, leb_too_long));
	assert_false(IS_KEY(SFU_CODEC_AV1, obu_forbidden));
	assert_false(IS_KEY_CUT(SFU_CODEC_AV1, av1_key_w0, 1));
	assert_false(is_key_len(SFU_CODEC_AV1, av1_key_w0, 0));
	sweep_prefixes(SFU_CODEC_AV1, av1_key_w0, sizeof(av1_key_w0));
}

/* --- robustness --- */

/* Random payloads of every small length never read past their end. */
static void
test_codecs_random_payloads_stay_in_bounds(void **state)
{
	static const enum sfu_codec_id ids[] = {SFU_CODEC_VP8, SFU_CODEC_VP9,
	    SFU_CODEC_H264, SFU_CODEC_H265, SFU_CODEC_AV1};
	uint8_t buf[48];
	uint32_t x = 0x12345678; /* xorshift32, deterministic */
	size_t len = 0;
	size_t i = 0;
	unsigned n = 0;
	unsigned keys = 0;

	(void)state;
	for (n = 0; n < 200000; n++) {
		len = n % sizeof(buf);
		for (i = 0; i < len; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (uint8_t)x;
		}
		if (is_key_len(ids[n % 5], buf, len)) {
			keys++;
		}
	}
	/* Some random inputs do look like key frames: the sweep is live. */
	assert_true(keys > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codecs_from_mime),
	    cmocka_unit_test(test_codecs_is_rtx),
	    cmocka_unit_test(test_codecs_name_and_capability),
	    cmocka_unit_test(test_codecs_other_never_keyframe),
	    cmocka_unit_test(test_codecs_vp8_keyframe),
	    cmocka_unit_test(test_codecs_vp8_not_keyframe),
	    cmocka_unit_test(test_codecs_vp8_truncated),
	    cmocka_unit_test(test_codecs_vp9_keyframe),
	    cmocka_unit_test(test_codecs_vp9_not_keyframe),
	    cmocka_unit_test(test_codecs_vp9_truncated),
	    cmocka_unit_test(test_codecs_h264_keyframe),
	    cmocka_unit_test(test_codecs_h264_not_keyframe),
	    cmocka_unit_test(test_codecs_h264_truncated_or_malformed),
	    cmocka_unit_test(test_codecs_h265_keyframe),
	    cmocka_unit_test(test_codecs_h265_not_keyframe),
	    cmocka_unit_test(test_codecs_h265_truncated_or_malformed),
	    cmocka_unit_test(test_codecs_av1_keyframe),
	    cmocka_unit_test(test_codecs_av1_not_keyframe),
	    cmocka_unit_test(test_codecs_av1_truncated_or_malformed),
	    cmocka_unit_test(test_codecs_random_payloads_stay_in_bounds),
	};

	return cmocka_run_group_tests_name("codecs", tests, NULL, NULL);
}
