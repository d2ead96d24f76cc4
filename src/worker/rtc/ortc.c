/*
 * SPDX-License-Identifier: MIT
 *
 * mediasoup's ORTC logic (node/src/ortc.ts and supportedRtpCapabilities.ts)
 * in the worker: the supported codecs and header extensions, router
 * capabilities from media codecs (payload type assignment, RTX), codec
 * matching with the H264 profile-level-id rules of libwebrtc
 * (h264_profile_level_id.cc, which mediasoup uses through the
 * h264-profile-level-id package), the producer -> router mapping, the
 * consumable parameters of a producer, canConsume and the parameters of a
 * simple consumer. Pure functions over rtp_parameters.h structs: no
 * allocation, no I/O except getrandom(2) for SSRCs.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "worker/rtc/ortc.h"

/* --- supported capabilities (mediasoup's supportedRtpCapabilities) --- */

#define ORTC_FB_VIDEO                                                          \
	.rtcp_feedback = {{"nack", ""}, {"nack", "pli"}, {"ccm", "fir"},       \
	    {"goog-remb", ""}, {"transport-cc", ""}},                          \
	.rtcp_feedback_count = 5
#define ORTC_FB_TCC                                                            \
	.rtcp_feedback = {{"transport-cc", ""}}, .rtcp_feedback_count = 1
#define ORTC_AUDIO(mime, rate)                                                 \
	.kind = SFU_MEDIA_AUDIO, .mime_type = mime, .clock_rate = rate,        \
	.channels = 1
#define ORTC_VIDEO(mime)                                                       \
	.kind = SFU_MEDIA_VIDEO, .mime_type = mime, .clock_rate = 90000
#define ORTC_PT(pt)                                                            \
	.has_preferred_payload_type = true, .preferred_payload_type = pt
#define ORTC_MULTIOPUS(ch, map, streams, coupled)                              \
	{                                                                      \
		.kind = SFU_MEDIA_AUDIO, .mime_type = "audio/multiopus",       \
		.clock_rate = 48000, .channels = ch,                           \
		.parameters = {.items = {{.key = "channel_mapping",            \
		                             .is_string = true,                \
		                             .str = map},                      \
		                   {.key = "num_streams", .num = streams},     \
		                   {.key = "coupled_streams",                  \
		                       .num = coupled}},                       \
		    .count = 3},                                               \
		.rtcp_feedback = {{"nack", ""}, {"transport-cc", ""}},         \
		.rtcp_feedback_count = 2                                       \
	}
#define ORTC_LEVEL_ASYMMETRY                                                   \
	.parameters = {                                                        \
	    .items = {{.key = "level-asymmetry-allowed", .num = 1}},           \
	    .count = 1}
#define ORTC_EXT(k, u, id, dir)                                                \
	{                                                                      \
		.has_kind = true, .kind = k, .uri = u, .preferred_id = id,     \
		.direction = dir                                               \
	}

#define ORTC_URI_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define ORTC_URI_ABS_SEND_TIME                                                 \
	"http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define ORTC_URI_TRANSPORT_CC                                                  \
	"http://www.ietf.org/id/"                                              \
	"draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define ORTC_URI_ABS_CAPTURE_TIME                                              \
	"http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"
#define ORTC_URI_PLAYOUT_DELAY                                                 \
	"http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

/*
 * mediasoup 3.x's table, in its order. Static const and complete at
 * compile time, so embedded workers in several threads share it safely.
 */
static const struct sfu_rtp_capabilities ortc_supported = {
    .codecs =
        {
            {.kind = SFU_MEDIA_AUDIO,
                .mime_type = "audio/opus",
                .clock_rate = 48000,
                .channels = 2,
                .rtcp_feedback = {{"nack", ""}, {"transport-cc", ""}},
                .rtcp_feedback_count = 2},
            ORTC_MULTIOPUS(4, "0,1,2,3", 2, 2),
            ORTC_MULTIOPUS(6, "0,4,1,2,3,5", 4, 2),
            ORTC_MULTIOPUS(8, "0,6,1,2,3,4,5,7", 5, 3),
            {ORTC_AUDIO("audio/PCMU", 8000), ORTC_PT(0), ORTC_FB_TCC},
            {ORTC_AUDIO("audio/PCMA", 8000), ORTC_PT(8), ORTC_FB_TCC},
            {ORTC_AUDIO("audio/ISAC", 32000), ORTC_FB_TCC},
            {ORTC_AUDIO("audio/ISAC", 16000), ORTC_FB_TCC},
            {ORTC_AUDIO("audio/G722", 8000), ORTC_PT(9), ORTC_FB_TCC},
            {ORTC_AUDIO("audio/iLBC", 8000), ORTC_FB_TCC},
            {ORTC_AUDIO("audio/SILK", 24000), ORTC_FB_TCC},
            {ORTC_AUDIO("audio/SILK", 16000), ORTC_FB_TCC},
            {ORTC_AUDIO("audio/SILK", 12000), ORTC_FB_TCC},
            {ORTC_AUDIO("audio/SILK", 8000), ORTC_FB_TCC},
            {ORTC_AUDIO("audio/CN", 32000), ORTC_PT(13)},
            {ORTC_AUDIO("audio/CN", 16000), ORTC_PT(13)},
            {ORTC_AUDIO("audio/CN", 8000), ORTC_PT(13)},
            {ORTC_AUDIO("audio/telephone-event", 48000)},
            {ORTC_AUDIO("audio/telephone-event", 32000)},
            {ORTC_AUDIO("audio/telephone-event", 16000)},
            {ORTC_AUDIO("audio/telephone-event", 8000)},
            {ORTC_VIDEO("video/VP8"), ORTC_FB_VIDEO},
            {ORTC_VIDEO("video/VP9"), ORTC_FB_VIDEO},
            {ORTC_VIDEO("video/H264"), ORTC_LEVEL_ASYMMETRY, ORTC_FB_VIDEO},
            {ORTC_VIDEO("video/H265"), ORTC_LEVEL_ASYMMETRY, ORTC_FB_VIDEO},
            {ORTC_VIDEO("video/AV1"), ORTC_FB_VIDEO},
        },
    .codec_count = 26,
    .header_extensions =
        {
            ORTC_EXT(SFU_MEDIA_AUDIO, ORTC_URI_MID, 1, SFU_RTP_DIR_SENDRECV),
            ORTC_EXT(SFU_MEDIA_VIDEO, ORTC_URI_MID, 1, SFU_RTP_DIR_SENDRECV),
            ORTC_EXT(SFU_MEDIA_VIDEO,
                "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", 2,
                SFU_RTP_DIR_RECVONLY),
            ORTC_EXT(SFU_MEDIA_VIDEO,
                "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", 3,
                SFU_RTP_DIR_RECVONLY),
            ORTC_EXT(SFU_MEDIA_AUDIO, ORTC_URI_ABS_SEND_TIME, 4,
                SFU_RTP_DIR_SENDRECV),
            ORTC_EXT(SFU_MEDIA_VIDEO, ORTC_URI_ABS_SEND_TIME, 4,
                SFU_RTP_DIR_SENDRECV),
            /* mediasoup: transport-cc for audio only when receiving. */
            ORTC_EXT(SFU_MEDIA_AUDIO, ORTC_URI_TRANSPORT_CC, 5,
                SFU_RTP_DIR_RECVONLY),
            ORTC_EXT(SFU_MEDIA_VIDEO, ORTC_URI_TRANSPORT_CC, 5,
                SFU_RTP_DIR_SENDRECV),
            ORTC_EXT(SFU_MEDIA_VIDEO,
                "https://aomediacodec.github.io/av1-rtp-spec/"
                "#dependency-descriptor-rtp-header-extension",
                8, SFU_RTP_DIR_RECVONLY),
            ORTC_EXT(SFU_MEDIA_AUDIO,
                "urn:ietf:params:rtp-hdrext:ssrc-audio-level", 10,
                SFU_RTP_DIR_SENDRECV),
            ORTC_EXT(SFU_MEDIA_VIDEO, "urn:3gpp:video-orientation", 11,
                SFU_RTP_DIR_SENDRECV),
            ORTC_EXT(SFU_MEDIA_VIDEO, "urn:ietf:params:rtp-hdrext:toffset", 12,
                SFU_RTP_DIR_SENDRECV),
            ORTC_EXT(SFU_MEDIA_AUDIO, ORTC_URI_ABS_CAPTURE_TIME, 13,
                SFU_RTP_DIR_SENDRECV),
            ORTC_EXT(SFU_MEDIA_VIDEO, ORTC_URI_ABS_CAPTURE_TIME, 13,
                SFU_RTP_DIR_SENDRECV),
            ORTC_EXT(SFU_MEDIA_AUDIO, ORTC_URI_PLAYOUT_DELAY, 14,
                SFU_RTP_DIR_SENDRECV),
            ORTC_EXT(SFU_MEDIA_VIDEO, ORTC_URI_PLAYOUT_DELAY, 14,
                SFU_RTP_DIR_SENDRECV),
        },
    .header_extension_count = 16,
};

/* mediasoup's DynamicPayloadTypes, in its order. */
static const uint8_t ortc_dynamic_pts[] = {100, 101, 102, 103, 104, 105, 106,
    107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121,
    122, 123, 124, 125, 126, 127, 96, 97, 98, 99};

const struct sfu_rtp_capabilities *
sfu_ortc_supported_capabilities(void)
{
	return &ortc_supported;
}

/* --- parameter comparisons --- */

/*
 * A codec parameter as mediasoup compares it: `params[key] || dflt`
 * then ===. Numeric strings count as their number ("2" == 2), which
 * mediasoup-client always sends as numbers anyway.
 */
struct ortc_pval {
	bool present;
	bool is_string;
	double num;
	const char *str;
};

static struct ortc_pval
ortc_pval_get(
    const struct sfu_rtp_params *p, const char *key, bool has_dflt, double dflt)
{
	struct ortc_pval v = {false, false, 0, NULL};
	const struct sfu_rtp_param *item = NULL;
	char *end = NULL;
	long n = 0;

	item = sfu_rtp_params_get(p, key);
	if (item != NULL && item->is_string && item->str[0] != '\0') {
		errno = 0;
		n = strtol(item->str, &end, 10);
		if (*end == '\0' && errno == 0) {
			v.present = true;
			v.num = (double)n;
			return v;
		}
		v.present = true;
		v.is_string = true;
		v.str = item->str;
		return v;
	}
	if (item != NULL && !item->is_string && (item->num != 0 || !has_dflt)) {
		v.present = true;
		v.num = item->num;
		return v;
	}
	if (has_dflt || item != NULL) {
		/* JS falsy ('' or 0) falls back to the default. */
		v.present = true;
		v.num = has_dflt ? dflt : item->num;
	}
	return v;
}

static bool
ortc_param_same(const struct sfu_rtp_params *a, const struct sfu_rtp_params *b,
    const char *key, bool has_dflt, double dflt)
{
	struct ortc_pval va = ortc_pval_get(a, key, has_dflt, dflt);
	struct ortc_pval vb = ortc_pval_get(b, key, has_dflt, dflt);

	if (!va.present || !vb.present) {
		return va.present == vb.present;
	}
	if (va.is_string != vb.is_string) {
		return false;
	}
	return va.is_string ? strcmp(va.str, vb.str) == 0 : va.num == vb.num;
}

/* --- H264 profile-level-id (RFC 6184 8.1, libwebrtc's rules) --- */

enum ortc_h264_profile {
	ORTC_H264_CONSTRAINED_BASELINE,
	ORTC_H264_BASELINE,
	ORTC_H264_MAIN,
	ORTC_H264_CONSTRAINED_HIGH,
	ORTC_H264_HIGH,
	ORTC_H264_PREDICTIVE_HIGH_444,
};

#define ORTC_H264_LEVEL_1B 0 /* libwebrtc's kLevel1_b */
#define ORTC_H264_CONSTRAINT_SET3 0x10

struct ortc_h264_plid {
	enum ortc_h264_profile profile;
	uint8_t level; /* level_idc, 0 for 1b */
};

/*
 * profile_idc plus a profile_iop bit pattern: mask keeps the bits that
 * are not "x" in libwebrtc's BitPattern strings, value the "1" bits.
 */
static const struct {
	uint8_t idc;
	uint8_t mask;
	uint8_t value;
	enum ortc_h264_profile profile;
} ortc_h264_patterns[] = {
    {0x42, 0x4f, 0x40, ORTC_H264_CONSTRAINED_BASELINE}, /* x1xx0000 */
    {0x4d, 0x8f, 0x80, ORTC_H264_CONSTRAINED_BASELINE}, /* 1xxx0000 */
    {0x58, 0xcf, 0xc0, ORTC_H264_CONSTRAINED_BASELINE}, /* 11xx0000 */
    {0x42, 0x4f, 0x00, ORTC_H264_BASELINE},             /* x0xx0000 */
    {0x58, 0xcf, 0x80, ORTC_H264_BASELINE},             /* 10xx0000 */
    {0x4d, 0xaf, 0x00, ORTC_H264_MAIN},                 /* 0x0x0000 */
    {0x64, 0xff, 0x00, ORTC_H264_HIGH},                 /* 00000000 */
    {0x64, 0xff, 0x0c, ORTC_H264_CONSTRAINED_HIGH},     /* 00001100 */
    {0xf4, 0xff, 0x00, ORTC_H264_PREDICTIVE_HIGH_444},  /* 00000000 */
};

static int
ortc_hex(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

/* ParseProfileLevelId(): six hex digits, a known level and profile. */
static bool
ortc_h264_parse(const char *s, struct ortc_h264_plid *out)
{
	uint32_t v = 0;
	uint8_t idc = 0;
	uint8_t iop = 0;
	uint8_t level = 0;
	size_t i = 0;
	int h = 0;

	if (strlen(s) != 6) {
		return false;
	}
	for (i = 0; i < 6; i++) {
		h = ortc_hex(s[i]);
		if (h < 0) {
			return false;
		}
		v = v << 4 | (uint32_t)h;
	}
	if (v == 0) {
		return false;
	}
	idc = (uint8_t)(v >> 16);
	iop = (uint8_t)(v >> 8);
	level = (uint8_t)v;
	switch (level) {
	case 11:
		/* Level 1b is level_idc 11 with constraint_set3_flag. */
		if (iop & ORTC_H264_CONSTRAINT_SET3) {
			level = ORTC_H264_LEVEL_1B;
		}
		break;
	case 10:
	case 12:
	case 13:
	case 20:
	case 21:
	case 22:
	case 30:
	case 31:
	case 32:
	case 40:
	case 41:
	case 42:
	case 50:
	case 51:
	case 52:
		break;
	default:
		return false;
	}
	for (i = 0;
	     i < sizeof(ortc_h264_patterns) / sizeof(ortc_h264_patterns[0]);
	     i++) {
		if (ortc_h264_patterns[i].idc == idc &&
		    (iop & ortc_h264_patterns[i].mask) ==
		        ortc_h264_patterns[i].value) {
			out->profile = ortc_h264_patterns[i].profile;
			out->level = level;
			return true;
		}
	}
	return false;
}

/* Whether params carry a profile-level-id (JS truthiness). */
static bool
ortc_h264_has_plid(const struct sfu_rtp_params *p)
{
	const struct sfu_rtp_param *item = NULL;

	item = sfu_rtp_params_get(p, "profile-level-id");
	return item != NULL &&
	       (item->is_string ? item->str[0] != '\0' : item->num != 0);
}

/*
 * ParseSdpProfileLevelId(): absent means Constrained Baseline 3.1 (RFC
 * 6184 default); a number is no valid profile-level-id.
 */
static bool
ortc_h264_parse_sdp(const struct sfu_rtp_params *p, struct ortc_h264_plid *out)
{
	const struct sfu_rtp_param *item = NULL;

	if (!ortc_h264_has_plid(p)) {
		out->profile = ORTC_H264_CONSTRAINED_BASELINE;
		out->level = 31;
		return true;
	}
	item = sfu_rtp_params_get(p, "profile-level-id");
	return item->is_string && ortc_h264_parse(item->str, out);
}

/* IsLessLevel(): level 1b sits between 1 and 1.1. */
static bool
ortc_h264_level_less(uint8_t a, uint8_t b)
{
	if (a == ORTC_H264_LEVEL_1B) {
		return b != 10 && b != ORTC_H264_LEVEL_1B;
	}
	if (b == ORTC_H264_LEVEL_1B) {
		return a != 10;
	}
	return a < b;
}

/* ProfileLevelIdToString(); false when the pair has no string form. */
static bool
ortc_h264_to_string(const struct ortc_h264_plid *plid, char out[7])
{
	static const char hex[] = "0123456789abcdef";
	const char *prefix = NULL;

	if (plid->level == ORTC_H264_LEVEL_1B) {
		switch (plid->profile) {
		case ORTC_H264_CONSTRAINED_BASELINE:
			memcpy(out, "42f00b", 7);
			return true;
		case ORTC_H264_BASELINE:
			memcpy(out, "42100b", 7);
			return true;
		case ORTC_H264_MAIN:
			memcpy(out, "4d100b", 7);
			return true;
		default:
			return false;
		}
	}
	switch (plid->profile) {
	case ORTC_H264_CONSTRAINED_BASELINE:
		prefix = "42e0";
		break;
	case ORTC_H264_BASELINE:
		prefix = "4200";
		break;
	case ORTC_H264_MAIN:
		prefix = "4d00";
		break;
	case ORTC_H264_CONSTRAINED_HIGH:
		prefix = "640c";
		break;
	case ORTC_H264_HIGH:
		prefix = "6400";
		break;
	case ORTC_H264_PREDICTIVE_HIGH_444:
		prefix = "f400";
		break;
	default:
		return false;
	}
	memcpy(out, prefix, 4);
	out[4] = hex[plid->level >> 4];
	out[5] = hex[plid->level & 0x0f];
	out[6] = '\0';
	return true;
}

static bool
ortc_h264_level_asymmetry(const struct sfu_rtp_params *p)
{
	const struct sfu_rtp_param *item = NULL;

	item = sfu_rtp_params_get(p, "level-asymmetry-allowed");
	return item != NULL &&
	       (item->is_string ? strcmp(item->str, "1") == 0 : item->num == 1);
}

/*
 * isSameProfile() and generateProfileLevelIdForAnswer(local, remote):
 * false when the profiles differ or either is invalid (the "throw").
 * Otherwise answer holds the profile-level-id for the answer, or "" when
 * there is none (neither side gave one, or no string form exists).
 */
static bool
ortc_h264_answer(const struct sfu_rtp_params *local,
    const struct sfu_rtp_params *remote, char answer[7])
{
	struct ortc_h264_plid l = {ORTC_H264_CONSTRAINED_BASELINE, 0};
	struct ortc_h264_plid r = {ORTC_H264_CONSTRAINED_BASELINE, 0};
	struct ortc_h264_plid a = {ORTC_H264_CONSTRAINED_BASELINE, 0};

	answer[0] = '\0';
	if (!ortc_h264_parse_sdp(local, &l) ||
	    !ortc_h264_parse_sdp(remote, &r) || l.profile != r.profile) {
		return false;
	}
	if (!ortc_h264_has_plid(local) && !ortc_h264_has_plid(remote)) {
		return true;
	}

	/*
	 * Without level asymmetry the answer may not upgrade the level: it
	 * takes the lower of both.
	 */
	a.profile = r.profile;
	if (ortc_h264_level_asymmetry(local) &&
	    ortc_h264_level_asymmetry(remote)) {
		a.level = l.level;
	} else {
		a.level =
		    ortc_h264_level_less(l.level, r.level) ? l.level : r.level;
	}
	if (!ortc_h264_to_string(&a, answer)) {
		answer[0] = '\0';
	}
	return true;
}

/* --- codec matching --- */

struct ortc_codec {
	const char *mime_type;
	uint32_t clock_rate;
	uint8_t channels;
	const struct sfu_rtp_params *parameters;
};

static struct ortc_codec
ortc_cap_view(const struct sfu_rtp_codec_capability *c)
{
	struct ortc_codec v = {
	    c->mime_type, c->clock_rate, c->channels, &c->parameters};

	return v;
}

static struct ortc_codec
ortc_param_view(const struct sfu_rtp_codec *c)
{
	struct ortc_codec v = {
	    c->mime_type, c->clock_rate, c->channels, &c->parameters};

	return v;
}

/*
 * matchCodecs(a, b, {strict}): same mimeType (case-insensitive), clock
 * rate and channels; multiopus stream layout; strict: H264 packetization
 * mode, profile and an answerable profile-level-id, VP9 profile-id. Also
 * strict, as libwebrtc does and mediasoup does not: AV1 "profile" and
 * H265 "profile-id". answer (may be NULL) receives the H264
 * profile-level-id for the answer, "" when none applies.
 */
static bool
ortc_match(const struct ortc_codec *a, const struct ortc_codec *b, bool strict,
    char answer[7])
{
	char tmp[7];

	if (answer == NULL) {
		answer = tmp;
	}
	answer[0] = '\0';
	if (!sfu_rtp_mime_eq(a->mime_type, b->mime_type) ||
	    a->clock_rate != b->clock_rate || a->channels != b->channels) {
		return false;
	}
	if (sfu_rtp_mime_eq(a->mime_type, "audio/multiopus")) {
		return ortc_param_same(a->parameters, b->parameters,
		           "num_streams", false, 0) &&
		       ortc_param_same(a->parameters, b->parameters,
		           "coupled_streams", false, 0);
	}
	if (!strict) {
		return true;
	}
	if (sfu_rtp_mime_eq(a->mime_type, "video/H264")) {
		if (!ortc_param_same(a->parameters, b->parameters,
		        "packetization-mode", true, 0)) {
			return false;
		}
		return ortc_h264_answer(a->parameters, b->parameters, answer);
	}
	if (sfu_rtp_mime_eq(a->mime_type, "video/VP9")) {
		return ortc_param_same(
		    a->parameters, b->parameters, "profile-id", true, 0);
	}
	if (sfu_rtp_mime_eq(a->mime_type, "video/AV1")) {
		return ortc_param_same(
		    a->parameters, b->parameters, "profile", true, 0);
	}
	if (sfu_rtp_mime_eq(a->mime_type, "video/H265")) {
		return ortc_param_same(
		    a->parameters, b->parameters, "profile-id", true, 1);
	}
	return true;
}

/* The apt parameter as a payload type, or -1. */
static int
ortc_apt(const struct sfu_rtp_params *p)
{
	const struct sfu_rtp_param *apt = NULL;

	apt = sfu_rtp_params_get(p, "apt");
	if (apt == NULL || apt->is_string || apt->num < 0 || apt->num > 127 ||
	    apt->num != (double)(int)apt->num) {
		return -1;
	}
	return (int)apt->num;
}

/* --- randomness --- */

/*
 * 32 random bits from getrandom(2). Should it fail (no entropy source at
 * all), SSRCs only need to be unpredictable enough not to collide, so a
 * splitmix64 step over the clock, the pid and a counter stands in.
 */
static uint32_t
ortc_random_u32(void)
{
	static uint64_t counter = 0;
	struct timespec ts = {0, 0};
	uint32_t v = 0;
	uint64_t z = 0;
	ssize_t n = 0;

	do {
		n = getrandom(&v, sizeof(v), 0);
	} while (n == -1 && errno == EINTR);
	if (n == (ssize_t)sizeof(v)) {
		return v;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	z = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^
	    (uint64_t)getpid() << 16;
	z += __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED) *
	     0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (uint32_t)(z ^ (z >> 31));
}

/* A random base b with b .. b + count - 1 all non-zero 32-bit values. */
static uint32_t
ortc_random_ssrc_base(unsigned count)
{
	uint32_t v = 0;

	do {
		v = ortc_random_u32();
	} while (v == 0 || (uint64_t)v + count - 1 > UINT32_MAX);
	return v;
}

/* --- router capabilities --- */

int
sfu_ortc_router_capabilities(const struct sfu_rtp_codec_capability *media,
    unsigned count, struct sfu_rtp_capabilities *out, struct sfu_error *err)
{
	const struct sfu_rtp_capabilities *sup = &ortc_supported;
	const struct sfu_rtp_codec_capability *m = NULL;
	const struct sfu_rtp_codec_capability *match = NULL;
	struct sfu_rtp_codec_capability *codec = NULL;
	struct sfu_rtp_codec_capability *rtx = NULL;
	struct ortc_codec mv = {NULL, 0, 0, NULL};
	struct ortc_codec sv = {NULL, 0, 0, NULL};
	const struct sfu_rtp_param *item = NULL;
	bool used[128] = {false};
	size_t next_dyn = 0;
	unsigned i = 0;
	unsigned j = 0;
	int pt = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	memcpy(out->header_extensions, sup->header_extensions,
	    sizeof(out->header_extensions));
	out->header_extension_count = sup->header_extension_count;

	/*
	 * Payload types the application chose are reserved up front, so
	 * neither a dynamic nor a static assignment takes one of them.
	 * mediasoup reserves them in order and throws when an earlier RTX
	 * took one; the result is the same whenever mediasoup succeeds.
	 */
	for (i = 0; i < count; i++) {
		m = &media[i];
		if (!m->has_preferred_payload_type) {
			continue;
		}
		if (m->preferred_payload_type > 127) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "mediaCodecs[%u].preferredPayloadType: %u out of "
			    "range 0..127",
			    i, m->preferred_payload_type);
			return -1;
		}
		if (used[m->preferred_payload_type]) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "mediaCodecs[%u].preferredPayloadType: duplicated "
			    "payload type %u",
			    i, m->preferred_payload_type);
			return -1;
		}
		used[m->preferred_payload_type] = true;
	}

	for (i = 0; i < count; i++) {
		m = &media[i];
		mv = ortc_cap_view(m);
		match = NULL;
		for (j = 0; j < sup->codec_count && match == NULL; j++) {
			sv = ortc_cap_view(&sup->codecs[j]);
			if (ortc_match(&mv, &sv, false, NULL)) {
				match = &sup->codecs[j];
			}
		}
		if (match == NULL) {
			if (m->channels != 0) {
				sfu_error_set(err, SFU_ERR_UNSUPPORTED,
				    "unsupported codec [mimeType:%s, "
				    "clockRate:%u, channels:%u]",
				    m->mime_type, m->clock_rate, m->channels);
			} else {
				sfu_error_set(err, SFU_ERR_UNSUPPORTED,
				    "unsupported codec [mimeType:%s, "
				    "clockRate:%u]",
				    m->mime_type, m->clock_rate);
			}
			return -1;
		}
		/*
		 * The given payload type; else the supported codec's static
		 * one when free; else the next free dynamic one.
		 */
		if (m->has_preferred_payload_type) {
			pt = m->preferred_payload_type;
		} else if (match->has_preferred_payload_type &&
		           !used[match->preferred_payload_type]) {
			pt = match->preferred_payload_type;
		} else {
			pt = -1;
		}
		while (pt == -1 && next_dyn < sizeof(ortc_dynamic_pts)) {
			if (!used[ortc_dynamic_pts[next_dyn]]) {
				pt = ortc_dynamic_pts[next_dyn];
			}
			next_dyn++;
		}
		if (pt == -1) {
			goto exhausted;
		}
		if (out->codec_count >= SFU_RTP_MAX_CODECS) {
			goto full;
		}
		used[pt] = true;
		codec = &out->codecs[out->codec_count];
		*codec = *match;
		codec->has_preferred_payload_type = true;
		codec->preferred_payload_type = (uint8_t)pt;

		/* Merge the media codec parameters over the supported ones. */
		for (j = 0; j < m->parameters.count; j++) {
			item = &m->parameters.items[j];
			r = item->is_string
			        ? sfu_rtp_params_set_str(
			              &codec->parameters, item->key, item->str)
			        : sfu_rtp_params_set_num(
			              &codec->parameters, item->key, item->num);
			if (r == -1) {
				sfu_error_set(err, SFU_ERR_TYPE,
				    "mediaCodecs[%u].parameters: more than %u "
				    "entries with the defaults",
				    i, SFU_RTP_MAX_PARAMS);
				return -1;
			}
		}
		out->codec_count++;
		if (codec->kind != SFU_MEDIA_VIDEO) {
			continue;
		}

		pt = -1;
		while (pt == -1 && next_dyn < sizeof(ortc_dynamic_pts)) {
			if (!used[ortc_dynamic_pts[next_dyn]]) {
				pt = ortc_dynamic_pts[next_dyn];
			}
			next_dyn++;
		}
		if (pt == -1) {
			goto exhausted;
		}
		if (out->codec_count >= SFU_RTP_MAX_CODECS) {
			goto full;
		}
		used[pt] = true;
		rtx = &out->codecs[out->codec_count++];
		memset(rtx, 0, sizeof(*rtx));
		rtx->kind = SFU_MEDIA_VIDEO;
		memcpy(rtx->mime_type, "video/rtx", sizeof("video/rtx"));
		rtx->has_preferred_payload_type = true;
		rtx->preferred_payload_type = (uint8_t)pt;
		rtx->clock_rate = codec->clock_rate;
		sfu_rtp_params_set_num(
		    &rtx->parameters, "apt", codec->preferred_payload_type);
	}
	return 0;
exhausted:
	sfu_error_set(err, SFU_ERR_TYPE,
	    "cannot allocate more dynamic codec payload types");
	return -1;
full:
	sfu_error_set(err, SFU_ERR_TYPE,
	    "mediaCodecs: more than %u codecs with RTX", SFU_RTP_MAX_CODECS);
	return -1;
}

/* --- producer mapping --- */

/* The RTX capability codec whose apt is pt, or NULL. */
static const struct sfu_rtp_codec_capability *
ortc_caps_rtx_for(const struct sfu_rtp_capabilities *caps, int pt)
{
	unsigned i = 0;

	for (i = 0; i < caps->codec_count; i++) {
		if (sfu_rtp_codec_is_rtx(caps->codecs[i].mime_type) &&
		    caps->codecs[i].has_preferred_payload_type &&
		    ortc_apt(&caps->codecs[i].parameters) == pt) {
			return &caps->codecs[i];
		}
	}
	return NULL;
}

/* The index of the codec in params with payload type pt, or -1. */
static int
ortc_codec_index(const struct sfu_rtp_parameters *params, int pt)
{
	unsigned i = 0;

	for (i = 0; i < params->codec_count; i++) {
		if (params->codecs[i].payload_type == pt) {
			return (int)i;
		}
	}
	return -1;
}

/* The router codec matching producer codec c (strict), or NULL. */
static const struct sfu_rtp_codec_capability *
ortc_router_codec_for(const struct sfu_rtp_codec *c,
    const struct sfu_rtp_capabilities *caps, char answer[7])
{
	struct ortc_codec cv = ortc_param_view(c);
	struct ortc_codec kv = {NULL, 0, 0, NULL};
	unsigned j = 0;

	for (j = 0; j < caps->codec_count; j++) {
		kv = ortc_cap_view(&caps->codecs[j]);
		if (caps->codecs[j].has_preferred_payload_type &&
		    ortc_match(&cv, &kv, true, answer)) {
			return &caps->codecs[j];
		}
	}
	return NULL;
}

int
sfu_ortc_producer_mapping(const struct sfu_rtp_parameters *params,
    const struct sfu_rtp_capabilities *router_caps, struct sfu_rtp_mapping *out,
    struct sfu_error *err)
{
	const struct sfu_rtp_codec_capability *cap[SFU_RTP_MAX_CODECS];
	const struct sfu_rtp_codec_capability *rtx = NULL;
	const struct sfu_rtp_codec *c = NULL;
	const struct sfu_rtp_encoding *e = NULL;
	struct sfu_rtp_mapping_encoding *me = NULL;
	uint32_t ssrc = 0;
	unsigned i = 0;
	int assoc = 0;

	memset(out, 0, sizeof(*out));
	memset(cap, 0, sizeof(cap));

	/* Media codecs first: each must match a router codec strictly. */
	for (i = 0; i < params->codec_count; i++) {
		c = &params->codecs[i];
		if (sfu_rtp_codec_is_rtx(c->mime_type)) {
			continue;
		}
		cap[i] = ortc_router_codec_for(c, router_caps, NULL);
		if (cap[i] == NULL) {
			sfu_error_set(err, SFU_ERR_UNSUPPORTED,
			    "unsupported codec [mimeType:%s, payloadType:%u]",
			    c->mime_type, c->payload_type);
			return -1;
		}
		out->codecs[out->codec_count].payload_type = c->payload_type;
		out->codecs[out->codec_count].mapped_payload_type =
		    cap[i]->preferred_payload_type;
		out->codec_count++;
	}

	/* Then RTX codecs: the router must have RTX for the apt codec. */
	for (i = 0; i < params->codec_count; i++) {
		c = &params->codecs[i];
		if (!sfu_rtp_codec_is_rtx(c->mime_type)) {
			continue;
		}
		assoc = ortc_codec_index(params, ortc_apt(&c->parameters));
		if (assoc == -1 || cap[assoc] == NULL) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "missing media codec found for RTX PT %u",
			    c->payload_type);
			return -1;
		}
		rtx = ortc_caps_rtx_for(
		    router_caps, cap[assoc]->preferred_payload_type);
		if (rtx == NULL) {
			sfu_error_set(err, SFU_ERR_UNSUPPORTED,
			    "no RTX codec for capability codec PT %u",
			    cap[assoc]->preferred_payload_type);
			return -1;
		}
		out->codecs[out->codec_count].payload_type = c->payload_type;
		out->codecs[out->codec_count].mapped_payload_type =
		    rtx->preferred_payload_type;
		out->codec_count++;
	}

	/* Consecutive mapped SSRCs from a random base, as mediasoup. */
	ssrc = ortc_random_ssrc_base(params->encoding_count);
	for (i = 0; i < params->encoding_count; i++) {
		e = &params->encodings[i];
		me = &out->encodings[i];
		me->has_ssrc = e->has_ssrc;
		me->ssrc = e->ssrc;
		memcpy(me->rid, e->rid, sizeof(me->rid));
		memcpy(me->scalability_mode, e->scalability_mode,
		    sizeof(me->scalability_mode));
		me->mapped_ssrc = ssrc++;
	}
	out->encoding_count = params->encoding_count;
	return 0;
}

/* --- consumable parameters --- */

/* Appends a codec built from a router codec; -1 when full. */
static struct sfu_rtp_codec *
ortc_append_codec(
    struct sfu_rtp_parameters *out, const struct sfu_rtp_codec_capability *cap)
{
	struct sfu_rtp_codec *c = NULL;

	if (out->codec_count >= SFU_RTP_MAX_CODECS) {
		return NULL;
	}
	c = &out->codecs[out->codec_count++];
	memset(c, 0, sizeof(*c));
	memcpy(c->mime_type, cap->mime_type, sizeof(c->mime_type));
	c->payload_type = cap->preferred_payload_type;
	c->clock_rate = cap->clock_rate;
	c->channels = cap->channels;
	c->parameters = cap->parameters;
	memcpy(c->rtcp_feedback, cap->rtcp_feedback, sizeof(c->rtcp_feedback));
	c->rtcp_feedback_count = cap->rtcp_feedback_count;
	return c;
}

/* Removes key from p (keeping the order of the rest). */
static void
ortc_params_remove(struct sfu_rtp_params *p, const char *key)
{
	unsigned i = 0;

	for (i = 0; i < p->count; i++) {
		if (strcmp(p->items[i].key, key) == 0) {
			memmove(&p->items[i], &p->items[i + 1],
			    (p->count - i - 1) * sizeof(p->items[0]));
			p->count--;
			memset(&p->items[p->count], 0, sizeof(p->items[0]));
			return;
		}
	}
}

int
sfu_ortc_consumable_parameters(enum sfu_media_kind kind,
    const struct sfu_rtp_parameters *params,
    const struct sfu_rtp_capabilities *router_caps,
    const struct sfu_rtp_mapping *mapping, struct sfu_rtp_parameters *out,
    struct sfu_error *err)
{
	const struct sfu_rtp_codec *c = NULL;
	const struct sfu_rtp_codec_capability *cap = NULL;
	const struct sfu_rtp_header_extension_capability *h = NULL;
	struct sfu_rtp_header_extension *oh = NULL;
	struct sfu_rtp_encoding *e = NULL;
	struct sfu_rtp_codec *oc = NULL;
	enum sfu_media_kind ck = SFU_MEDIA_AUDIO;
	char answer[7];
	unsigned i = 0;
	unsigned j = 0;
	int mapped = 0;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < params->codec_count; i++) {
		c = &params->codecs[i];
		if (sfu_rtp_codec_is_rtx(c->mime_type)) {
			continue;
		}
		if (!sfu_rtp_mime_kind(c->mime_type, &ck) || ck != kind) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "rtpParameters.codecs[%u]: %s is no %s codec", i,
			    c->mime_type, sfu_media_kind_name(kind));
			return -1;
		}
		mapped = -1;
		for (j = 0; j < mapping->codec_count; j++) {
			if (mapping->codecs[j].payload_type ==
			    c->payload_type) {
				mapped = mapping->codecs[j].mapped_payload_type;
				break;
			}
		}
		cap = NULL;
		for (j = 0; mapped != -1 && j < router_caps->codec_count; j++) {
			if (router_caps->codecs[j].has_preferred_payload_type &&
			    router_caps->codecs[j].preferred_payload_type ==
			        mapped) {
				cap = &router_caps->codecs[j];
				break;
			}
		}
		if (cap == NULL) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "rtpParameters.codecs[%u]: payload type %u not in "
			    "the mapping",
			    i, c->payload_type);
			return -1;
		}

		/*
		 * Two producer codecs mapped onto one router codec would give
		 * consumers a duplicated payload type: the first one wins.
		 */
		for (j = 0; j < out->codec_count; j++) {
			if (out->codecs[j].payload_type == mapped) {
				break;
			}
		}
		if (j < out->codec_count) {
			continue;
		}
		oc = ortc_append_codec(out, cap);
		if (oc == NULL) {
			goto full;
		}

		/* Keep the producer's codec parameters. */
		oc->parameters = c->parameters;

		/*
		 * mediasoup matched the producer codec with {modify: true},
		 * which rewrites its H264 profile-level-id to the answer.
		 */
		if (sfu_rtp_mime_eq(c->mime_type, "video/H264")) {
			if (ortc_h264_answer(
			        &c->parameters, &cap->parameters, answer) &&
			    answer[0] != '\0') {
				sfu_rtp_params_set_str(&oc->parameters,
				    "profile-level-id", answer);
			} else {
				ortc_params_remove(
				    &oc->parameters, "profile-level-id");
			}
		}
		cap = ortc_caps_rtx_for(router_caps, oc->payload_type);
		if (cap != NULL && ortc_append_codec(out, cap) == NULL) {
			goto full;
		}
	}

	/* The router's header extensions a consumer of kind can send. */
	for (i = 0; i < router_caps->header_extension_count; i++) {
		h = &router_caps->header_extensions[i];
		if ((h->has_kind && h->kind != kind) ||
		    (h->direction != SFU_RTP_DIR_SENDRECV &&
		        h->direction != SFU_RTP_DIR_SENDONLY)) {
			continue;
		}
		oh = &out->header_extensions[out->header_extension_count++];
		memcpy(oh->uri, h->uri, sizeof(oh->uri));
		oh->id = h->preferred_id;
		oh->encrypt = h->preferred_encrypt;
	}

	if (mapping->encoding_count != params->encoding_count) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "rtpMapping has %u encodings, rtpParameters %u",
		    mapping->encoding_count, params->encoding_count);
		return -1;
	}
	for (i = 0; i < params->encoding_count; i++) {
		e = &out->encodings[i];
		*e = params->encodings[i];
		memset(e->rid, 0, sizeof(e->rid));
		e->has_rtx = false;
		e->rtx_ssrc = 0;
		e->has_codec_payload_type = false;
		e->codec_payload_type = 0;
		e->has_ssrc = true;
		e->ssrc = mapping->encodings[i].mapped_ssrc;
	}
	out->encoding_count = params->encoding_count;

	memcpy(out->rtcp.cname, params->rtcp.cname, sizeof(out->rtcp.cname));
	out->rtcp.reduced_size = true;
	out->rtcp.has_mux = true;
	out->rtcp.mux = true;
	return 0;
full:
	sfu_error_set(err, SFU_ERR_TYPE,
	    "rtpParameters.codecs: more than %u codecs with RTX",
	    SFU_RTP_MAX_CODECS);
	return -1;
}

/* --- consuming --- */

/* The first remote codec matching consumable codec c (strict), or NULL. */
static const struct sfu_rtp_codec_capability *
ortc_remote_codec_for(
    const struct sfu_rtp_codec *c, const struct sfu_rtp_capabilities *caps)
{
	struct ortc_codec cv = ortc_param_view(c);
	struct ortc_codec kv = {NULL, 0, 0, NULL};
	unsigned j = 0;

	for (j = 0; j < caps->codec_count; j++) {
		kv = ortc_cap_view(&caps->codecs[j]);
		if (ortc_match(&kv, &cv, true, NULL)) {
			return &caps->codecs[j];
		}
	}
	return NULL;
}

bool
sfu_ortc_can_consume(const struct sfu_rtp_parameters *consumable,
    const struct sfu_rtp_capabilities *caps)
{
	unsigned i = 0;

	/* The first consumable codec the caps match must be a media one. */
	for (i = 0; i < consumable->codec_count; i++) {
		if (ortc_remote_codec_for(&consumable->codecs[i], caps) !=
		    NULL) {
			return !sfu_rtp_codec_is_rtx(
			    consumable->codecs[i].mime_type);
		}
	}
	return false;
}

/* Drops the feedback entries of type from codec c. */
static void
ortc_drop_feedback(struct sfu_rtp_codec *c, const char *type)
{
	unsigned i = 0;
	unsigned n = 0;

	for (i = 0; i < c->rtcp_feedback_count; i++) {
		if (strcmp(c->rtcp_feedback[i].type, type) != 0) {
			c->rtcp_feedback[n++] = c->rtcp_feedback[i];
		}
	}
	memset(&c->rtcp_feedback[n], 0,
	    (c->rtcp_feedback_count - n) * sizeof(c->rtcp_feedback[0]));
	c->rtcp_feedback_count = n;
}

static bool
ortc_has_ext(const struct sfu_rtp_parameters *p, const char *uri)
{
	unsigned i = 0;

	for (i = 0; i < p->header_extension_count; i++) {
		if (strcmp(p->header_extensions[i].uri, uri) == 0) {
			return true;
		}
	}
	return false;
}

int
sfu_ortc_consumer_parameters(const struct sfu_rtp_parameters *consumable,
    const struct sfu_rtp_capabilities *remote_caps,
    struct sfu_rtp_parameters *out, struct sfu_error *err)
{
	const struct sfu_rtp_codec_capability *cap = NULL;
	const struct sfu_rtp_header_extension *h = NULL;
	const struct sfu_rtp_header_extension_capability *hc = NULL;
	const struct sfu_rtp_encoding *ce = NULL;
	struct sfu_rtp_encoding *e = NULL;
	struct sfu_rtp_codec *c = NULL;
	enum sfu_media_kind kind = SFU_MEDIA_AUDIO;
	bool rtx_supported = false;
	bool keep = false;
	const char *mode = "";
	unsigned spatial = 0;
	unsigned temporal = 0;
	bool ksvc = false;
	unsigned i = 0;
	unsigned j = 0;
	unsigned n = 0;
	int apt = 0;

	memset(out, 0, sizeof(*out));
	out->rtcp = consumable->rtcp;

	/* Consumable codecs the remote can receive, with its feedback. */
	for (i = 0; i < consumable->codec_count; i++) {
		cap =
		    ortc_remote_codec_for(&consumable->codecs[i], remote_caps);
		if (cap == NULL) {
			continue;
		}
		c = &out->codecs[out->codec_count++];
		*c = consumable->codecs[i];
		memcpy(c->rtcp_feedback, cap->rtcp_feedback,
		    sizeof(c->rtcp_feedback));
		c->rtcp_feedback_count = cap->rtcp_feedback_count;
	}

	/* RTX only where its media codec made it. */
	for (i = 0, n = 0; i < out->codec_count; i++) {
		keep = true;
		if (sfu_rtp_codec_is_rtx(out->codecs[i].mime_type)) {
			apt = ortc_apt(&out->codecs[i].parameters);
			keep = false;
			for (j = 0; j < out->codec_count; j++) {
				if (out->codecs[j].payload_type == apt) {
					keep = true;
				}
			}
			rtx_supported = rtx_supported || keep;
		}
		if (keep && n != i) {
			out->codecs[n] = out->codecs[i];
		}
		n += keep ? 1 : 0;
	}
	memset(&out->codecs[n], 0,
	    (out->codec_count - n) * sizeof(out->codecs[0]));
	out->codec_count = n;
	if (out->codec_count == 0 ||
	    sfu_rtp_codec_is_rtx(out->codecs[0].mime_type)) {
		sfu_error_set(
		    err, SFU_ERR_UNSUPPORTED, "no compatible media codecs");
		return -1;
	}
	sfu_rtp_mime_kind(out->codecs[0].mime_type, &kind);

	/* Header extensions the remote supports (same uri and id). */
	for (i = 0; i < consumable->header_extension_count; i++) {
		h = &consumable->header_extensions[i];
		for (j = 0; j < remote_caps->header_extension_count; j++) {
			hc = &remote_caps->header_extensions[j];
			if (strcmp(hc->uri, h->uri) == 0 &&
			    hc->preferred_id == h->id &&
			    (!hc->has_kind || hc->kind == kind)) {
				out->header_extensions
				    [out->header_extension_count++] = *h;
				break;
			}
		}
	}

	/* Congestion control: transport-cc if negotiated, else REMB. */
	for (i = 0; i < out->codec_count; i++) {
		c = &out->codecs[i];
		if (ortc_has_ext(out, ORTC_URI_TRANSPORT_CC)) {
			ortc_drop_feedback(c, "goog-remb");
		} else if (ortc_has_ext(out, ORTC_URI_ABS_SEND_TIME)) {
			ortc_drop_feedback(c, "transport-cc");
		} else {
			ortc_drop_feedback(c, "transport-cc");
			ortc_drop_feedback(c, "goog-remb");
		}
	}

	/* One encoding: fresh SSRC, RTX SSRC + 1 as mediasoup. */
	e = &out->encodings[0];
	out->encoding_count = 1;
	e->has_ssrc = true;
	e->ssrc = ortc_random_ssrc_base(2);
	if (rtx_supported) {
		e->has_rtx = true;
		e->rtx_ssrc = e->ssrc + 1;
	}

	/*
	 * The first scalabilityMode of the consumable encodings; with
	 * simulcast, L<encodings>T<its temporal layers>. maxBitrate: the
	 * highest of them.
	 */
	for (i = 0; i < consumable->encoding_count; i++) {
		ce = &consumable->encodings[i];
		if (mode[0] == '\0') {
			mode = ce->scalability_mode;
		}
		if (ce->max_bitrate > e->max_bitrate) {
			e->max_bitrate = ce->max_bitrate;
		}
	}
	if (consumable->encoding_count > 1) {
		sfu_rtp_scalability_mode_parse(
		    mode, &spatial, &temporal, &ksvc);
		snprintf(e->scalability_mode, sizeof(e->scalability_mode),
		    "L%uT%u", consumable->encoding_count, temporal);
	} else {
		memcpy(e->scalability_mode, mode, strlen(mode) + 1);
	}
	return 0;
}
