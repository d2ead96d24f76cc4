/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for worker/rtc/rtp_parameters and worker/rtc/ortc: the
 * RtpParameters and RtpCapabilities readers with every validation error
 * and its field path, the writers decoded back (shapes, integers packed as
 * integers, round trips), the supported table, router capabilities from
 * media codecs (payload types, RTX, header extensions, feedback), the
 * producer mapping (RTX, simulcast, H264 profile rules), consumable
 * parameters, canConsume and consumer parameters built from capabilities
 * shaped as mediasoup-client sends them.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>

#include "common/error.h"
#include "common/msg.h"
#include "worker/rtc/ortc.h"
#include "worker/rtc/rtp_parameters.h"
#include "helpers.h"

#define URI_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define URI_RID "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define URI_RRID "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
#define URI_AST "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define URI_TCC                                                                \
	"http://www.ietf.org/id/"                                              \
	"draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define URI_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define URI_ORIENT "urn:3gpp:video-orientation"
#define URI_TOFFSET "urn:ietf:params:rtp-hdrext:toffset"
#define URI_ACT "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"
#define URI_PD "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"

/* --- fixture --- */

/* The structs are large (~170 KiB each): they live on the heap. */
struct fixture {
	struct sfu_rtp_capabilities router;
	struct sfu_rtp_capabilities caps;
	struct sfu_rtp_capabilities caps2;
	struct sfu_rtp_parameters params;
	struct sfu_rtp_parameters params2;
	struct sfu_rtp_mapping mapping;
	struct sfu_rtp_parameters consumable;
	struct sfu_rtp_parameters consumer;
	struct sfu_rtp_codec_capability media[40];
};

static int
setup_fixture(void **state)
{
	*state = calloc(1, sizeof(struct fixture));
	return *state == NULL ? -1 : 0;
}

static int
teardown_fixture(void **state)
{
	free(*state);
	return 0;
}

/* --- helpers --- */

enum reader {
	READ_PARAMS,
	READ_CAPS,
	READ_CODEC,
};

/* Starts {"v": <value>} in sb; the caller packs the value into pk. */
static void
pack_value_begin(msgpack_sbuffer *sb, msgpack_packer *pk)
{
	msgpack_sbuffer_init(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(pk, 1);
	sfu_msg_pack_str(pk, "v");
}

#define PACK_VALUE(sb, ...)                                                    \
	do {                                                                   \
		msgpack_packer pk_;                                            \
		pack_value_begin((sb), &pk_);                                  \
		helpers_pack(&pk_, __VA_ARGS__);                               \
	} while (0)

/* Decodes {"v": value} from sb and runs reader r on value; destroys sb. */
static int
run_reader(enum reader r, msgpack_sbuffer *sb, void *out, struct sfu_error *err)
{
	struct sfu_msg m;
	const msgpack_object *v = NULL;
	int ret = 0;

	assert_int_equal(
	    sfu_msg_decode(&m, (const uint8_t *)sb->data, sb->size, err), 0);
	v = sfu_msg_map_get(m.root, "v");
	assert_non_null(v);
	switch (r) {
	case READ_PARAMS:
		ret =
		    sfu_rtp_parameters_read(v, "data.rtpParameters", out, err);
		break;
	case READ_CAPS:
		ret = sfu_rtp_capabilities_read(
		    v, "data.rtpCapabilities", out, err);
		break;
	case READ_CODEC:
		ret = sfu_rtp_codec_capability_read(
		    v, "data.mediaCodecs[0]", out, err);
		break;
	}
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(sb);
	return ret;
}

/* The reader must refuse the value with a TypeError of exactly reason. */
#define EXPECT_ERROR(out, r, reason_, ...)                                     \
	do {                                                                   \
		msgpack_sbuffer sb_;                                           \
		struct sfu_error err_;                                         \
		PACK_VALUE(&sb_, __VA_ARGS__);                                 \
		sfu_error_clear(&err_);                                        \
		assert_int_equal(run_reader((r), &sb_, (out), &err_), -1);     \
		assert_int_equal(err_.kind, SFU_ERR_TYPE);                     \
		assert_string_equal(err_.reason, (reason_));                   \
	} while (0)

/* The reader must accept the value. */
#define EXPECT_OK(out, r, ...)                                                 \
	do {                                                                   \
		msgpack_sbuffer sb_;                                           \
		struct sfu_error err_;                                         \
		PACK_VALUE(&sb_, __VA_ARGS__);                                 \
		sfu_error_clear(&err_);                                        \
		if (run_reader((r), &sb_, (out), &err_) != 0) {                \
			fail_msg("unexpected error: %s", err_.reason);         \
		}                                                              \
	} while (0)

/* Reads an array of media codecs from sb ({"v": [...]}); returns count. */
static unsigned
read_media(
    msgpack_sbuffer *sb, struct sfu_rtp_codec_capability *out, unsigned max)
{
	struct sfu_msg m;
	struct sfu_error err;
	const msgpack_object *v = NULL;
	char path[64];
	uint32_t i = 0;

	assert_int_equal(
	    sfu_msg_decode(&m, (const uint8_t *)sb->data, sb->size, &err), 0);
	v = sfu_msg_map_get(m.root, "v");
	assert_non_null(v);
	assert_int_equal(v->type, MSGPACK_OBJECT_ARRAY);
	assert_true(v->via.array.size <= max);
	for (i = 0; i < v->via.array.size; i++) {
		sfu_msg_path_index(path, sizeof(path), "data.mediaCodecs", i);
		if (sfu_rtp_codec_capability_read(
		        &v->via.array.ptr[i], path, &out[i], &err) != 0) {
			fail_msg("media codec %u: %s", i, err.reason);
		}
	}
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(sb);
	return i;
}

/* opus, VP8, VP9 profile-id=2, H264 42e01f packetization-mode=1. */
static void
build_typical_router(struct fixture *f)
{
	msgpack_sbuffer sb;
	struct sfu_error err;
	unsigned n = 0;

	PACK_VALUE(&sb,
	    "[{s:s, s:s, s:u, s:u, s:{s:u}},"
	    " {s:s, s:s, s:u},"
	    " {s:s, s:s, s:u, s:{s:u}},"
	    " {s:s, s:s, s:u, s:{s:u, s:u, s:s}}]",
	    "kind", "audio", "mimeType", "audio/opus", "clockRate", 48000,
	    "channels", 2, "parameters", "useinbandfec", 1, "kind", "video",
	    "mimeType", "video/VP8", "clockRate", 90000, "kind", "video",
	    "mimeType", "video/VP9", "clockRate", 90000, "parameters",
	    "profile-id", 2, "kind", "video", "mimeType", "video/H264",
	    "clockRate", 90000, "parameters", "level-asymmetry-allowed", 1,
	    "packetization-mode", 1, "profile-level-id", "42e01f");
	n = read_media(&sb, f->media, 40);
	if (sfu_ortc_router_capabilities(f->media, n, &f->router, &err) != 0) {
		fail_msg("router capabilities: %s", err.reason);
	}
}

/* A router from one media codec given as a format. */
#define BUILD_ROUTER(f, ...)                                                   \
	do {                                                                   \
		msgpack_sbuffer sb_;                                           \
		struct sfu_error err_;                                         \
		unsigned n_ = 0;                                               \
		PACK_VALUE(&sb_, __VA_ARGS__);                                 \
		n_ = read_media(&sb_, (f)->media, 40);                         \
		if (sfu_ortc_router_capabilities(                              \
		        (f)->media, n_, &(f)->router, &err_) != 0) {           \
			fail_msg("router: %s", err_.reason);                   \
		}                                                              \
	} while (0)

/*
 * A VP8 + RTX producer as mediasoup-client sends it for Chrome: with one
 * encoding (ssrc + rtx) or three simulcast ones (rids, no ssrc).
 */
static void
read_vp8_producer(struct fixture *f, bool simulcast)
{
	msgpack_sbuffer codecs;
	msgpack_sbuffer exts;
	struct sfu_error err;

	helpers_pack_sbuf(&codecs,
	    "[{s:s, s:u, s:u, s:{}, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s},"
	    "   {s:s, s:s}, {s:s, s:s}]},"
	    " {s:s, s:u, s:u, s:{s:u}, s:[]}]",
	    "mimeType", "video/VP8", "payloadType", 96, "clockRate", 90000,
	    "parameters", "rtcpFeedback", "type", "goog-remb", "parameter", "",
	    "type", "transport-cc", "parameter", "", "type", "ccm", "parameter",
	    "fir", "type", "nack", "parameter", "", "type", "nack", "parameter",
	    "pli", "mimeType", "video/rtx", "payloadType", 97, "clockRate",
	    90000, "parameters", "apt", 96, "rtcpFeedback");
	helpers_pack_sbuf(&exts,
	    "[{s:s, s:u, s:f, s:{}}, {s:s, s:u, s:f, s:{}},"
	    " {s:s, s:u, s:f, s:{}}, {s:s, s:u, s:f, s:{}},"
	    " {s:s, s:u, s:f, s:{}}]",
	    "uri", URI_MID, "id", 4, "encrypt", "parameters", "uri", URI_RID,
	    "id", 10, "encrypt", "parameters", "uri", URI_RRID, "id", 11,
	    "encrypt", "parameters", "uri", URI_AST, "id", 2, "encrypt",
	    "parameters", "uri", URI_TCC, "id", 3, "encrypt", "parameters");
	if (simulcast) {
		msgpack_sbuffer sb;

		PACK_VALUE(&sb,
		    "{s:s, s:r, s:r,"
		    " s:[{s:t, s:s, s:u, s:d, s:s},"
		    "    {s:t, s:s, s:u, s:d, s:s},"
		    "    {s:t, s:s, s:u, s:d, s:s}],"
		    " s:{s:s, s:t}}",
		    "mid", "0", "codecs", codecs.data, codecs.size,
		    "headerExtensions", exts.data, exts.size, "encodings",
		    "active", "rid", "r0", "maxBitrate", 100000,
		    "scaleResolutionDownBy", 4.0, "scalabilityMode", "L1T3",
		    "active", "rid", "r1", "maxBitrate", 300000,
		    "scaleResolutionDownBy", 2.0, "scalabilityMode", "L1T3",
		    "active", "rid", "r2", "maxBitrate", 900000,
		    "scaleResolutionDownBy", 1.0, "scalabilityMode", "L1T3",
		    "rtcp", "cname", "Zp7kAgYH", "reducedSize");
		if (run_reader(READ_PARAMS, &sb, &f->params, &err) != 0) {
			fail_msg("params: %s", err.reason);
		}
	} else {
		msgpack_sbuffer sb;

		PACK_VALUE(&sb,
		    "{s:s, s:r, s:r, s:[{s:t, s:u, s:{s:u}, s:u}],"
		    " s:{s:s, s:t}}",
		    "mid", "1", "codecs", codecs.data, codecs.size,
		    "headerExtensions", exts.data, exts.size, "encodings",
		    "active", "ssrc", 11111111, "rtx", "ssrc", 22222222,
		    "maxBitrate", 500000, "rtcp", "cname", "Zp7kAgYH",
		    "reducedSize");
		if (run_reader(READ_PARAMS, &sb, &f->params, &err) != 0) {
			fail_msg("params: %s", err.reason);
		}
	}
	msgpack_sbuffer_destroy(&codecs);
	msgpack_sbuffer_destroy(&exts);
}

/*
 * device.rtpCapabilities as mediasoup-client computes them for Chrome
 * against the typical router: the router's payload types, the browser's
 * parameters and feedback order, RTX, and header extensions with kind,
 * preferredId, preferredEncrypt and direction. ext_set picks the
 * congestion control extensions: 0 both, 1 abs-send-time only, 2 none.
 */
static void
read_browser_caps(struct fixture *f, int ext_set, bool with_rtx)
{
	msgpack_sbuffer codecs;
	msgpack_sbuffer rtx;
	msgpack_sbuffer exts;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct sfu_error err;

	helpers_pack_sbuf(&codecs,
	    "[{s:s, s:s, s:u, s:u, s:u, s:{s:u, s:u}, s:[{s:s, s:s}]},"
	    " {s:s, s:s, s:u, s:u, s:{}, s:[{s:s, s:s}, {s:s, s:s},"
	    "   {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]},"
	    " {s:s, s:s, s:u, s:u, s:{s:u, s:u, s:s},"
	    "   s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}]",
	    "mimeType", "audio/opus", "kind", "audio", "preferredPayloadType",
	    100, "clockRate", 48000, "channels", 2, "parameters", "minptime",
	    10, "useinbandfec", 1, "rtcpFeedback", "type", "transport-cc",
	    "parameter", "", "mimeType", "video/VP8", "kind", "video",
	    "preferredPayloadType", 101, "clockRate", 90000, "parameters",
	    "rtcpFeedback", "type", "goog-remb", "parameter", "", "type",
	    "transport-cc", "parameter", "", "type", "ccm", "parameter", "fir",
	    "type", "nack", "parameter", "", "type", "nack", "parameter", "pli",
	    "mimeType", "video/H264", "kind", "video", "preferredPayloadType",
	    105, "clockRate", 90000, "parameters", "level-asymmetry-allowed", 1,
	    "packetization-mode", 1, "profile-level-id", "42e01f",
	    "rtcpFeedback", "type", "goog-remb", "parameter", "", "type",
	    "transport-cc", "parameter", "", "type", "nack", "parameter", "",
	    "type", "nack", "parameter", "pli");
	helpers_pack_sbuf(&rtx,
	    "[{s:s, s:s, s:u, s:u, s:{s:u}, s:[]},"
	    " {s:s, s:s, s:u, s:u, s:{s:u}, s:[]}]",
	    "mimeType", "video/rtx", "kind", "video", "preferredPayloadType",
	    102, "clockRate", 90000, "parameters", "apt", 101, "rtcpFeedback",
	    "mimeType", "video/rtx", "kind", "video", "preferredPayloadType",
	    106, "clockRate", 90000, "parameters", "apt", 105, "rtcpFeedback");
	if (ext_set == 0) {
		helpers_pack_sbuf(&exts,
		    "[{s:s, s:s, s:u, s:f, s:s}, {s:s, s:s, s:u, s:f, s:s},"
		    " {s:s, s:s, s:u, s:f, s:s}, {s:s, s:s, s:u, s:f, s:s},"
		    " {s:s, s:s, s:u, s:f, s:s}, {s:s, s:s, s:u, s:f, s:s},"
		    " {s:s, s:s, s:u, s:f, s:s}, {s:s, s:s, s:u, s:f, s:s}]",
		    "kind", "audio", "uri", URI_MID, "preferredId", 1,
		    "preferredEncrypt", "direction", "sendrecv", "kind",
		    "video", "uri", URI_MID, "preferredId", 1,
		    "preferredEncrypt", "direction", "sendrecv", "kind",
		    "audio", "uri", URI_AST, "preferredId", 4,
		    "preferredEncrypt", "direction", "sendrecv", "kind",
		    "video", "uri", URI_AST, "preferredId", 4,
		    "preferredEncrypt", "direction", "sendrecv", "kind",
		    "video", "uri", URI_TCC, "preferredId", 5,
		    "preferredEncrypt", "direction", "sendrecv", "kind",
		    "audio", "uri", URI_LEVEL, "preferredId", 10,
		    "preferredEncrypt", "direction", "sendrecv", "kind",
		    "video", "uri", URI_ORIENT, "preferredId", 11,
		    "preferredEncrypt", "direction", "sendrecv", "kind",
		    "video", "uri", URI_TOFFSET, "preferredId", 12,
		    "preferredEncrypt", "direction", "sendrecv");
	} else if (ext_set == 1) {
		helpers_pack_sbuf(&exts,
		    "[{s:s, s:s, s:u, s:f, s:s}, {s:s, s:s, s:u, s:f, s:s}]",
		    "kind", "video", "uri", URI_MID, "preferredId", 1,
		    "preferredEncrypt", "direction", "sendrecv", "kind",
		    "video", "uri", URI_AST, "preferredId", 4,
		    "preferredEncrypt", "direction", "sendrecv");
	} else {
		helpers_pack_sbuf(&exts, "[{s:s, s:s, s:u, s:f, s:s}]", "kind",
		    "video", "uri", URI_MID, "preferredId", 1,
		    "preferredEncrypt", "direction", "sendrecv");
	}
	/* The fragments are fixarrays: their one-byte headers are skipped. */
	pack_value_begin(&sb, &pk);
	msgpack_pack_map(&pk, 2);
	sfu_msg_pack_str(&pk, "codecs");
	msgpack_pack_array(&pk, with_rtx ? 5 : 3);
	pk.callback(pk.data, codecs.data + 1, codecs.size - 1);
	if (with_rtx) {
		pk.callback(pk.data, rtx.data + 1, rtx.size - 1);
	}
	sfu_msg_pack_str(&pk, "headerExtensions");
	pk.callback(pk.data, exts.data, exts.size);
	if (run_reader(READ_CAPS, &sb, &f->caps, &err) != 0) {
		fail_msg("caps: %s", err.reason);
	}
	msgpack_sbuffer_destroy(&codecs);
	msgpack_sbuffer_destroy(&rtx);
	msgpack_sbuffer_destroy(&exts);
}

/* One media codec given as a format must make router caps fail. */
#define EXPECT_ROUTER_ERROR(f, kind_, reason_, ...)                            \
	do {                                                                   \
		msgpack_sbuffer sb_;                                           \
		struct sfu_error err_;                                         \
		unsigned n_ = 0;                                               \
		PACK_VALUE(&sb_, __VA_ARGS__);                                 \
		n_ = read_media(&sb_, (f)->media, 40);                         \
		sfu_error_clear(&err_);                                        \
		assert_int_equal(sfu_ortc_router_capabilities(                 \
		                     (f)->media, n_, &(f)->router, &err_),     \
		    -1);                                                       \
		assert_int_equal(err_.kind, (kind_));                          \
		assert_string_equal(err_.reason, (reason_));                   \
	} while (0)

/* The payload types of caps' codecs must be exactly pts. */
static void
assert_pts(const struct sfu_rtp_capabilities *caps, const unsigned *pts,
    unsigned count)
{
	unsigned i = 0;

	assert_int_equal(caps->codec_count, count);
	for (i = 0; i < count; i++) {
		assert_true(caps->codecs[i].has_preferred_payload_type);
		assert_int_equal(
		    caps->codecs[i].preferred_payload_type, pts[i]);
	}
}

static void
assert_param_num(const struct sfu_rtp_params *p, const char *key, double num)
{
	const struct sfu_rtp_param *item = sfu_rtp_params_get(p, key);

	assert_non_null(item);
	assert_false(item->is_string);
	assert_true(item->num == num);
}

static void
assert_param_str(
    const struct sfu_rtp_params *p, const char *key, const char *str)
{
	const struct sfu_rtp_param *item = sfu_rtp_params_get(p, key);

	assert_non_null(item);
	assert_true(item->is_string);
	assert_string_equal(item->str, str);
}

/* The feedback of codec c must be exactly "type[:parameter]" entries. */
static void
assert_feedback(const struct sfu_rtcp_feedback *fb, unsigned count,
    const char *const *want, unsigned want_count)
{
	char buf[80];
	unsigned i = 0;

	assert_int_equal(count, want_count);
	for (i = 0; i < count; i++) {
		if (fb[i].parameter[0] != '\0') {
			snprintf(buf, sizeof(buf), "%s:%s", fb[i].type,
			    fb[i].parameter);
		} else {
			snprintf(buf, sizeof(buf), "%s", fb[i].type);
		}
		assert_string_equal(buf, want[i]);
	}
}

/* The header extensions of p must be exactly these uri/id pairs. */
static void
assert_exts(const struct sfu_rtp_parameters *p, const char *const *uris,
    const unsigned *ids, unsigned count)
{
	unsigned i = 0;

	assert_int_equal(p->header_extension_count, count);
	for (i = 0; i < count; i++) {
		assert_string_equal(p->header_extensions[i].uri, uris[i]);
		assert_int_equal(p->header_extensions[i].id, ids[i]);
		assert_false(p->header_extensions[i].encrypt);
		assert_int_equal(p->header_extensions[i].parameters.count, 0);
	}
}

/* Writes p or caps with the writer into sb and decodes it into m. */
static const msgpack_object *
pack_decode_params(
    const struct sfu_rtp_parameters *p, msgpack_sbuffer *sb, struct sfu_msg *m)
{
	msgpack_packer pk;
	struct sfu_error err;

	pack_value_begin(sb, &pk);
	sfu_rtp_parameters_pack(p, &pk);
	assert_int_equal(
	    sfu_msg_decode(m, (const uint8_t *)sb->data, sb->size, &err), 0);
	return sfu_msg_map_get(m->root, "v");
}

static const msgpack_object *
pack_decode_caps(const struct sfu_rtp_capabilities *c, msgpack_sbuffer *sb,
    struct sfu_msg *m)
{
	msgpack_packer pk;
	struct sfu_error err;

	pack_value_begin(sb, &pk);
	sfu_rtp_capabilities_pack(c, &pk);
	assert_int_equal(
	    sfu_msg_decode(m, (const uint8_t *)sb->data, sb->size, &err), 0);
	return sfu_msg_map_get(m->root, "v");
}

static const msgpack_object *
at(const msgpack_object *arr, uint32_t i)
{
	assert_non_null(arr);
	assert_int_equal(arr->type, MSGPACK_OBJECT_ARRAY);
	assert_true(i < arr->via.array.size);
	return &arr->via.array.ptr[i];
}

static const msgpack_object *
get(const msgpack_object *map, const char *key)
{
	const msgpack_object *v = sfu_msg_map_get(map, key);

	if (v == NULL) {
		fail_msg("missing key %s", key);
	}
	return v;
}

static void
assert_map_size(const msgpack_object *o, uint32_t n)
{
	assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(o->via.map.size, n);
}

static void
assert_uint_obj(const msgpack_object *o, uint64_t v)
{
	assert_int_equal(o->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
	assert_int_equal(o->via.u64, v);
}

static void
assert_str_obj(const msgpack_object *o, const char *s)
{
	assert_true(sfu_msg_str_eq(o, s));
}

/* A producer with the one codec given as a format, one ssrc encoding. */
#define READ_ONE_CODEC_PRODUCER(f, ...)                                        \
	EXPECT_OK(&(f)->params, READ_PARAMS, "{s:[" __VA_ARGS__)

/* --- supported table and helpers --- */

/* The supported table is mediasoup's: 26 codecs, 16 header extensions. */
static void
test_ortc_supported_table(void **state)
{
	const struct sfu_rtp_capabilities *s = NULL;

	(void)state;
	s = sfu_ortc_supported_capabilities();
	assert_int_equal(s->codec_count, 26);
	assert_string_equal(s->codecs[0].mime_type, "audio/opus");
	assert_int_equal(s->codecs[0].channels, 2);
	assert_string_equal(s->codecs[4].mime_type, "audio/PCMU");
	assert_int_equal(s->codecs[4].preferred_payload_type, 0);
	assert_string_equal(s->codecs[5].mime_type, "audio/PCMA");
	assert_int_equal(s->codecs[5].preferred_payload_type, 8);
	assert_string_equal(s->codecs[8].mime_type, "audio/G722");
	assert_int_equal(s->codecs[8].preferred_payload_type, 9);
	assert_string_equal(s->codecs[25].mime_type, "video/AV1");
	assert_string_equal(s->codecs[26].mime_type, "");
	assert_param_num(
	    &s->codecs[23].parameters, "level-asymmetry-allowed", 1);
	assert_int_equal(s->header_extension_count, 16);
	assert_string_equal(s->header_extensions[0].uri, URI_MID);
	assert_string_equal(s->header_extensions[15].uri, URI_PD);
	assert_int_equal(s->header_extensions[15].preferred_id, 14);
}

/* mimeType, RTX, media and scalabilityMode helpers and parameter sets. */
static void
test_ortc_helpers(void **state)
{
	static const struct {
		const char *mode;
		unsigned spatial;
		unsigned temporal;
		bool ksvc;
	} modes[] = {
	    {"L1T3", 1, 3, false},
	    {"S3T3", 3, 3, false},
	    {"L2T2_KEY", 2, 2, true},
	    {"L10T12", 10, 12, false},
	    {"L1T3h", 1, 3, false},
	    {"", 1, 1, false},
	    {"X2T2", 1, 1, false},
	    {"L0T1", 1, 1, false},
	    {"L2T0", 1, 1, false},
	    {"L2", 1, 1, false},
	};
	struct sfu_rtp_params p;
	enum sfu_media_kind kind = SFU_MEDIA_AUDIO;
	char key[8];
	unsigned s = 0;
	unsigned t = 0;
	bool k = false;
	unsigned i = 0;

	(void)state;
	assert_true(sfu_rtp_mime_kind("VIDEO/vp8", &kind));
	assert_int_equal(kind, SFU_MEDIA_VIDEO);
	assert_true(sfu_rtp_mime_kind("audio/x", &kind));
	assert_int_equal(kind, SFU_MEDIA_AUDIO);
	assert_false(sfu_rtp_mime_kind("audio/", &kind));
	assert_false(sfu_rtp_mime_kind("text/plain", &kind));
	assert_true(sfu_rtp_mime_eq("video/H264", "VIDEO/h264"));
	assert_true(sfu_rtp_codec_is_rtx("video/rtx"));
	assert_true(sfu_rtp_codec_is_rtx("Audio/RTX"));
	assert_false(sfu_rtp_codec_is_rtx("/rtx"));
	assert_false(sfu_rtp_codec_is_rtx("video/rtxx"));
	assert_true(sfu_rtp_codec_is_media("video/VP8"));
	assert_false(sfu_rtp_codec_is_media("video/rtx"));
	assert_false(sfu_rtp_codec_is_media("audio/telephone-event"));
	assert_false(sfu_rtp_codec_is_media("video/ulpfec"));
	assert_string_equal(sfu_media_kind_name(SFU_MEDIA_VIDEO), "video");
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		sfu_rtp_scalability_mode_parse(modes[i].mode, &s, &t, &k);
		assert_int_equal(s, modes[i].spatial);
		assert_int_equal(t, modes[i].temporal);
		assert_int_equal(k, modes[i].ksvc);
	}

	memset(&p, 0, sizeof(p));
	assert_int_equal(sfu_rtp_params_set_num(&p, "apt", 96), 0);
	assert_int_equal(sfu_rtp_params_set_str(&p, "apt", "x"), 0);
	assert_int_equal(p.count, 1);
	assert_param_str(&p, "apt", "x");
	assert_null(sfu_rtp_params_get(&p, "APT"));
	for (i = 1; i < SFU_RTP_MAX_PARAMS; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		assert_int_equal(sfu_rtp_params_set_num(&p, key, i), 0);
	}
	assert_int_equal(sfu_rtp_params_set_num(&p, "full", 1), -1);
	assert_int_equal(sfu_rtp_params_set_num(&p, "k3", 33), 0);
	assert_param_num(&p, "k3", 33);
}

/* --- router capabilities --- */

/*
 * A typical mediaCodecs list gets payload types 100.., an RTX codec with
 * apt after each video codec, merged parameters, the supported feedback
 * and all supported header extensions.
 */
static void
test_ortc_router_caps_typical(void **state)
{
	static const struct {
		const char *mime;
		unsigned pt;
		int apt;
	} want[] = {
	    {"audio/opus", 100, -1},
	    {"video/VP8", 101, -1},
	    {"video/rtx", 102, 101},
	    {"video/VP9", 103, -1},
	    {"video/rtx", 104, 103},
	    {"video/H264", 105, -1},
	    {"video/rtx", 106, 105},
	};
	static const char *const opus_fb[] = {"nack", "transport-cc"};
	static const char *const video_fb[] = {
	    "nack", "nack:pli", "ccm:fir", "goog-remb", "transport-cc"};
	struct fixture *f = *state;
	const struct sfu_rtp_capabilities *c = &f->router;
	const struct sfu_rtp_header_extension_capability *h = NULL;
	unsigned i = 0;

	build_typical_router(f);
	assert_int_equal(c->codec_count, 7);
	for (i = 0; i < 7; i++) {
		assert_string_equal(c->codecs[i].mime_type, want[i].mime);
		assert_int_equal(
		    c->codecs[i].preferred_payload_type, want[i].pt);
		if (want[i].apt != -1) {
			assert_int_equal(c->codecs[i].kind, SFU_MEDIA_VIDEO);
			assert_int_equal(c->codecs[i].clock_rate, 90000);
			assert_int_equal(c->codecs[i].parameters.count, 1);
			assert_param_num(
			    &c->codecs[i].parameters, "apt", want[i].apt);
			assert_int_equal(c->codecs[i].rtcp_feedback_count, 0);
		}
	}
	assert_int_equal(c->codecs[0].kind, SFU_MEDIA_AUDIO);
	assert_int_equal(c->codecs[0].clock_rate, 48000);
	assert_int_equal(c->codecs[0].channels, 2);
	assert_param_num(&c->codecs[0].parameters, "useinbandfec", 1);
	assert_feedback(c->codecs[0].rtcp_feedback,
	    c->codecs[0].rtcp_feedback_count, opus_fb, 2);
	assert_int_equal(c->codecs[1].channels, 0);
	assert_int_equal(c->codecs[1].parameters.count, 0);
	assert_feedback(c->codecs[1].rtcp_feedback,
	    c->codecs[1].rtcp_feedback_count, video_fb, 5);
	assert_param_num(&c->codecs[3].parameters, "profile-id", 2);

	/* Supported defaults first, then the given ones, in order. */
	assert_int_equal(c->codecs[5].parameters.count, 3);
	assert_string_equal(
	    c->codecs[5].parameters.items[0].key, "level-asymmetry-allowed");
	assert_string_equal(
	    c->codecs[5].parameters.items[1].key, "packetization-mode");
	assert_param_str(
	    &c->codecs[5].parameters, "profile-level-id", "42e01f");
	assert_feedback(c->codecs[5].rtcp_feedback,
	    c->codecs[5].rtcp_feedback_count, video_fb, 5);

	assert_int_equal(c->header_extension_count, 16);
	h = &c->header_extensions[0];
	assert_true(h->has_kind);
	assert_int_equal(h->kind, SFU_MEDIA_AUDIO);
	assert_string_equal(h->uri, URI_MID);
	assert_int_equal(h->preferred_id, 1);
	assert_int_equal(h->direction, SFU_RTP_DIR_SENDRECV);
	h = &c->header_extensions[2];
	assert_string_equal(h->uri, URI_RID);
	assert_int_equal(h->preferred_id, 2);
	assert_int_equal(h->direction, SFU_RTP_DIR_RECVONLY);
	h = &c->header_extensions[6];
	assert_int_equal(h->kind, SFU_MEDIA_AUDIO);
	assert_string_equal(h->uri, URI_TCC);
	assert_int_equal(h->direction, SFU_RTP_DIR_RECVONLY);
	h = &c->header_extensions[7];
	assert_int_equal(h->kind, SFU_MEDIA_VIDEO);
	assert_string_equal(h->uri, URI_TCC);
	assert_int_equal(h->direction, SFU_RTP_DIR_SENDRECV);
}

/* The writer gives mediasoup's capability shapes, integers as integers. */
static void
test_ortc_router_caps_pack_shapes(void **state)
{
	struct fixture *f = *state;
	struct sfu_msg m;
	msgpack_sbuffer sb;
	const msgpack_object *v = NULL;
	const msgpack_object *codec = NULL;
	const msgpack_object *o = NULL;

	build_typical_router(f);
	v = pack_decode_caps(&f->router, &sb, &m);
	assert_map_size(v, 2);
	assert_int_equal(get(v, "codecs")->via.array.size, 7);
	codec = at(get(v, "codecs"), 0);
	assert_map_size(codec, 7);
	assert_str_obj(get(codec, "kind"), "audio");
	assert_str_obj(get(codec, "mimeType"), "audio/opus");
	assert_uint_obj(get(codec, "preferredPayloadType"), 100);
	assert_uint_obj(get(codec, "clockRate"), 48000);
	assert_uint_obj(get(codec, "channels"), 2);
	assert_uint_obj(get(get(codec, "parameters"), "useinbandfec"), 1);
	o = at(get(codec, "rtcpFeedback"), 0);
	assert_map_size(o, 2);
	assert_str_obj(get(o, "type"), "nack");
	assert_str_obj(get(o, "parameter"), "");

	/* Video: no channels; parameters numbers packed as integers. */
	codec = at(get(v, "codecs"), 5);
	assert_map_size(codec, 6);
	assert_null(sfu_msg_map_get(codec, "channels"));
	assert_uint_obj(get(get(codec, "parameters"), "packetization-mode"), 1);
	assert_str_obj(
	    get(get(codec, "parameters"), "profile-level-id"), "42e01f");
	codec = at(get(v, "codecs"), 6);
	assert_str_obj(get(codec, "mimeType"), "video/rtx");
	assert_uint_obj(get(get(codec, "parameters"), "apt"), 105);
	assert_int_equal(get(codec, "rtcpFeedback")->via.array.size, 0);

	o = at(get(v, "headerExtensions"), 3);
	assert_map_size(o, 5);
	assert_str_obj(get(o, "kind"), "video");
	assert_str_obj(get(o, "uri"), URI_RRID);
	assert_uint_obj(get(o, "preferredId"), 3);
	assert_int_equal(
	    get(o, "preferredEncrypt")->type, MSGPACK_OBJECT_BOOLEAN);
	assert_false(get(o, "preferredEncrypt")->via.boolean);
	assert_str_obj(get(o, "direction"), "recvonly");
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);
}

/*
 * Payload types: given ones kept (never taken by RTX first), static ones
 * of PCMU/PCMA/G722 kept, the rest from 100-127 then 96-99.
 */
static void
test_ortc_router_caps_payload_types(void **state)
{
	static const unsigned a[] = {100, 125, 101, 102, 103};
	static const unsigned b[] = {100, 102, 101, 103};
	static const unsigned c[] = {0, 8, 9, 100};
	static const unsigned d[] = {0, 100};
	static const unsigned e[] = {13, 100};
	struct fixture *f = *state;

	/* mediasoup's own test: opus, VP8 forced to 125, H264. */
	BUILD_ROUTER(f,
	    "[{s:s, s:s, s:u, s:u, s:{s:u, s:s}},"
	    " {s:s, s:s, s:u, s:u},"
	    " {s:s, s:s, s:u, s:{s:u, s:s, s:s}, s:[]}]",
	    "kind", "audio", "mimeType", "audio/opus", "clockRate", 48000,
	    "channels", 2, "parameters", "useinbandfec", 1, "foo", "bar",
	    "kind", "video", "mimeType", "video/VP8", "preferredPayloadType",
	    125, "clockRate", 90000, "kind", "video", "mimeType", "video/H264",
	    "clockRate", 90000, "parameters", "level-asymmetry-allowed", 1,
	    "profile-level-id", "42e01f", "foo", "bar", "rtcpFeedback");
	assert_pts(&f->router, a, 5);
	assert_param_num(&f->router.codecs[2].parameters, "apt", 125);
	assert_param_str(&f->router.codecs[0].parameters, "foo", "bar");
	assert_int_equal(f->router.codecs[3].rtcp_feedback_count, 5);

	/* 101 was given to H264: VP8's RTX skips it. */
	BUILD_ROUTER(f, "[{s:s, s:u}, {s:s, s:u, s:u}]", "mimeType",
	    "video/VP8", "clockRate", 90000, "mimeType", "video/H264",
	    "clockRate", 90000, "preferredPayloadType", 101);
	assert_pts(&f->router, b, 4);

	BUILD_ROUTER(f, "[{s:s, s:u}, {s:s, s:u}, {s:s, s:u}, {s:s, s:u, s:u}]",
	    "mimeType", "audio/PCMU", "clockRate", 8000, "mimeType",
	    "audio/PCMA", "clockRate", 8000, "mimeType", "audio/G722",
	    "clockRate", 8000, "mimeType", "audio/opus", "clockRate", 48000,
	    "channels", 2);
	assert_pts(&f->router, c, 4);

	/* A static payload type given to another codec is not reused. */
	BUILD_ROUTER(f, "[{s:s, s:u, s:u, s:u}, {s:s, s:u}]", "mimeType",
	    "audio/opus", "clockRate", 48000, "channels", 2,
	    "preferredPayloadType", 0, "mimeType", "audio/PCMU", "clockRate",
	    8000);
	assert_pts(&f->router, d, 2);
	BUILD_ROUTER(f, "[{s:s, s:u}, {s:s, s:u}]", "mimeType", "audio/CN",
	    "clockRate", 8000, "mimeType", "audio/CN", "clockRate", 16000);
	assert_pts(&f->router, e, 2);

	/* multiopus matches on its stream layout. */
	BUILD_ROUTER(f, "[{s:s, s:u, s:u, s:{s:u, s:u, s:s}}]", "mimeType",
	    "audio/multiopus", "clockRate", 48000, "channels", 6, "parameters",
	    "num_streams", 4, "coupled_streams", 2, "channel_mapping",
	    "0,4,1,2,3,5");
	assert_int_equal(f->router.codec_count, 1);
	assert_int_equal(f->router.codecs[0].channels, 6);
	assert_param_str(
	    &f->router.codecs[0].parameters, "channel_mapping", "0,4,1,2,3,5");
}

/* Codecs outside the supported table are UnsupportedError naming them. */
static void
test_ortc_router_caps_unsupported(void **state)
{
	struct fixture *f = *state;

	EXPECT_ROUTER_ERROR(f, SFU_ERR_UNSUPPORTED,
	    "unsupported codec [mimeType:audio/chicken, clockRate:8000, "
	    "channels:4]",
	    "[{s:s, s:s, s:u, s:u}]", "kind", "audio", "mimeType",
	    "audio/chicken", "clockRate", 8000, "channels", 4);
	EXPECT_ROUTER_ERROR(f, SFU_ERR_UNSUPPORTED,
	    "unsupported codec [mimeType:audio/opus, clockRate:48000, "
	    "channels:1]",
	    "[{s:s, s:u}]", "mimeType", "audio/opus", "clockRate", 48000);
	EXPECT_ROUTER_ERROR(f, SFU_ERR_UNSUPPORTED,
	    "unsupported codec [mimeType:video/VP8, clockRate:48000]",
	    "[{s:s, s:u}]", "mimeType", "video/VP8", "clockRate", 48000);
	EXPECT_ROUTER_ERROR(f, SFU_ERR_UNSUPPORTED,
	    "unsupported codec [mimeType:video/FOO, clockRate:90000]",
	    "[{s:s, s:u}, {s:s, s:u}]", "mimeType", "video/VP8", "clockRate",
	    90000, "mimeType", "video/FOO", "clockRate", 90000);
	EXPECT_ROUTER_ERROR(f, SFU_ERR_UNSUPPORTED,
	    "unsupported codec [mimeType:video/rtx, clockRate:90000]",
	    "[{s:s, s:u}]", "mimeType", "video/rtx", "clockRate", 90000);
	EXPECT_ROUTER_ERROR(f, SFU_ERR_UNSUPPORTED,
	    "unsupported codec [mimeType:audio/multiopus, clockRate:48000, "
	    "channels:4]",
	    "[{s:s, s:u, s:u, s:{s:u, s:u}}]", "mimeType", "audio/multiopus",
	    "clockRate", 48000, "channels", 4, "parameters", "num_streams", 3,
	    "coupled_streams", 2);
}

/* The same payload type given twice is a TypeError naming the codec. */
static void
test_ortc_router_caps_duplicate(void **state)
{
	struct fixture *f = *state;

	EXPECT_ROUTER_ERROR(f, SFU_ERR_TYPE,
	    "mediaCodecs[1].preferredPayloadType: duplicated payload type 100",
	    "[{s:s, s:u, s:u, s:u}, {s:s, s:u, s:u}]", "mimeType", "audio/opus",
	    "clockRate", 48000, "channels", 2, "preferredPayloadType", 100,
	    "mimeType", "video/VP8", "clockRate", 90000, "preferredPayloadType",
	    100);
}

/* Running out of dynamic payload types or codec slots is a TypeError. */
static void
test_ortc_router_caps_exhausted(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err;
	unsigned i = 0;

	BUILD_ROUTER(f, "[{s:s, s:u, s:u}]", "mimeType", "audio/opus",
	    "clockRate", 48000, "channels", 2);

	/* 33 opus: 32 dynamic payload types only (mediasoup's test). */
	for (i = 1; i < 33; i++) {
		f->media[i] = f->media[0];
	}
	assert_int_equal(
	    sfu_ortc_router_capabilities(f->media, 33, &f->router, &err), -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(
	    err.reason, "cannot allocate more dynamic codec payload types");
	assert_int_equal(
	    sfu_ortc_router_capabilities(f->media, 32, &f->router, &err), 0);

	/* 17 VP8 take 34 with their RTX. */
	BUILD_ROUTER(
	    f, "[{s:s, s:u}]", "mimeType", "video/VP8", "clockRate", 90000);
	for (i = 1; i < 17; i++) {
		f->media[i] = f->media[0];
	}
	assert_int_equal(
	    sfu_ortc_router_capabilities(f->media, 17, &f->router, &err), -1);
	assert_string_equal(
	    err.reason, "cannot allocate more dynamic codec payload types");

	/* 32 opus and PCMU: payload types suffice, codec slots do not. */
	BUILD_ROUTER(f, "[{s:s, s:u, s:u}, {s:s, s:u}]", "mimeType",
	    "audio/opus", "clockRate", 48000, "channels", 2, "mimeType",
	    "audio/PCMU", "clockRate", 8000);
	f->media[32] = f->media[1];
	for (i = 1; i < 32; i++) {
		f->media[i] = f->media[0];
	}
	assert_int_equal(
	    sfu_ortc_router_capabilities(f->media, 33, &f->router, &err), -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(
	    err.reason, "mediaCodecs: more than 32 codecs with RTX");
}

/* --- producer mapping --- */

/* VP8 + RTX with one encoding: PTs onto the router's, ssrc kept. */
static void
test_ortc_producer_mapping_vp8_rtx(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err;
	uint32_t first = 0;

	build_typical_router(f);
	read_vp8_producer(f, false);
	assert_int_equal(sfu_ortc_producer_mapping(
	                     &f->params, &f->router, &f->mapping, &err),
	    0);
	assert_int_equal(f->mapping.codec_count, 2);
	assert_int_equal(f->mapping.codecs[0].payload_type, 96);
	assert_int_equal(f->mapping.codecs[0].mapped_payload_type, 101);
	assert_int_equal(f->mapping.codecs[1].payload_type, 97);
	assert_int_equal(f->mapping.codecs[1].mapped_payload_type, 102);
	assert_int_equal(f->mapping.encoding_count, 1);
	assert_true(f->mapping.encodings[0].has_ssrc);
	assert_int_equal(f->mapping.encodings[0].ssrc, 11111111);
	assert_string_equal(f->mapping.encodings[0].rid, "");
	assert_int_not_equal(f->mapping.encodings[0].mapped_ssrc, 0);

	/* Fresh randomness each time. */
	first = f->mapping.encodings[0].mapped_ssrc;
	assert_int_equal(sfu_ortc_producer_mapping(
	                     &f->params, &f->router, &f->mapping, &err),
	    0);
	assert_int_not_equal(f->mapping.encodings[0].mapped_ssrc, first);
}

/* Three simulcast encodings by rid get consecutive non-zero SSRCs. */
static void
test_ortc_producer_mapping_simulcast(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err;
	const struct sfu_rtp_mapping_encoding *e = NULL;
	char rid[4];
	unsigned i = 0;

	build_typical_router(f);
	read_vp8_producer(f, true);
	assert_int_equal(f->params.encoding_count, 3);
	assert_int_equal(sfu_ortc_producer_mapping(
	                     &f->params, &f->router, &f->mapping, &err),
	    0);
	assert_int_equal(f->mapping.codec_count, 2);
	assert_int_equal(f->mapping.encoding_count, 3);
	for (i = 0; i < 3; i++) {
		e = &f->mapping.encodings[i];
		snprintf(rid, sizeof(rid), "r%u", i);
		assert_false(e->has_ssrc);
		assert_string_equal(e->rid, rid);
		assert_string_equal(e->scalability_mode, "L1T3");
		assert_int_not_equal(e->mapped_ssrc, 0);
		assert_int_equal(
		    e->mapped_ssrc, f->mapping.encodings[0].mapped_ssrc + i);
	}
}

/*
 * H264 matches strictly: packetization-mode and profile must agree (the
 * level may differ), an invalid profile-level-id never matches.
 */
static void
test_ortc_producer_mapping_h264(void **state)
{
	static const struct {
		int pm;           /* -1 absent, 100 as string "1" */
		const char *plid; /* NULL: absent */
		bool ok;
	} cases[] = {
	    {1, "42e01f", true},
	    {1, "42E034", true},
	    {1, NULL, true},
	    {100, "42e01f", true},
	    {1, "640c1f", false},
	    {1, "42001f", false},
	    {1, "4d001f", false},
	    {0, "42e01f", false},
	    {-1, "42e01f", false},
	    {1, "42e0zz", false},
	    {1, "42e01f0", false},
	    {1, "42e0ff", false},
	};
	struct fixture *f = *state;
	struct sfu_error err;
	unsigned i = 0;
	int r = 0;

	build_typical_router(f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].pm == -1) {
			READ_ONE_CODEC_PRODUCER(f,
			    "{s:s, s:u, s:u, s:{s:s}}], s:[{s:u}]}", "codecs",
			    "mimeType", "video/H264", "payloadType", 102,
			    "clockRate", 90000, "parameters",
			    "profile-level-id", cases[i].plid, "encodings",
			    "ssrc", 1234);
		} else if (cases[i].plid == NULL) {
			READ_ONE_CODEC_PRODUCER(f,
			    "{s:s, s:u, s:u, s:{s:u}}], s:[{s:u}]}", "codecs",
			    "mimeType", "video/H264", "payloadType", 102,
			    "clockRate", 90000, "parameters",
			    "packetization-mode", cases[i].pm, "encodings",
			    "ssrc", 1234);
		} else if (cases[i].pm == 100) {
			READ_ONE_CODEC_PRODUCER(f,
			    "{s:s, s:u, s:u, s:{s:s, s:s}}], s:[{s:u}]}",
			    "codecs", "mimeType", "video/H264", "payloadType",
			    102, "clockRate", 90000, "parameters",
			    "packetization-mode", "1", "profile-level-id",
			    cases[i].plid, "encodings", "ssrc", 1234);
		} else {
			READ_ONE_CODEC_PRODUCER(f,
			    "{s:s, s:u, s:u, s:{s:u, s:s}}], s:[{s:u}]}",
			    "codecs", "mimeType", "video/H264", "payloadType",
			    102, "clockRate", 90000, "parameters",
			    "packetization-mode", cases[i].pm,
			    "profile-level-id", cases[i].plid, "encodings",
			    "ssrc", 1234);
		}
		sfu_error_clear(&err);
		r = sfu_ortc_producer_mapping(
		    &f->params, &f->router, &f->mapping, &err);
		if (cases[i].ok) {
			assert_int_equal(r, 0);
			assert_int_equal(
			    f->mapping.codecs[0].mapped_payload_type, 105);
		} else {
			if (r != -1) {
				fail_msg("case %u matched", i);
			}
			assert_int_equal(err.kind, SFU_ERR_UNSUPPORTED);
			assert_string_equal(err.reason,
			    "unsupported codec [mimeType:video/H264, "
			    "payloadType:102]");
		}
	}
}

/* VP9 profile-id and RTX without a router RTX codec are refused. */
static void
test_ortc_producer_mapping_unsupported(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err;

	build_typical_router(f);
	READ_ONE_CODEC_PRODUCER(f, "{s:s, s:u, s:u, s:{s:u}}]}", "codecs",
	    "mimeType", "video/VP9", "payloadType", 98, "clockRate", 90000,
	    "parameters", "profile-id", 2);
	assert_int_equal(sfu_ortc_producer_mapping(
	                     &f->params, &f->router, &f->mapping, &err),
	    0);
	assert_int_equal(f->mapping.codecs[0].mapped_payload_type, 103);
	assert_int_equal(f->mapping.encoding_count, 0);

	READ_ONE_CODEC_PRODUCER(f, "{s:s, s:u, s:u}]}", "codecs", "mimeType",
	    "video/VP9", "payloadType", 98, "clockRate", 90000);
	assert_int_equal(sfu_ortc_producer_mapping(
	                     &f->params, &f->router, &f->mapping, &err),
	    -1);
	assert_int_equal(err.kind, SFU_ERR_UNSUPPORTED);
	assert_string_equal(err.reason,
	    "unsupported codec [mimeType:video/VP9, payloadType:98]");

	READ_ONE_CODEC_PRODUCER(f,
	    "{s:s, s:u, s:u, s:u}, {s:s, s:u, s:u, s:{s:u}}]}", "codecs",
	    "mimeType", "audio/opus", "payloadType", 111, "clockRate", 48000,
	    "channels", 2, "mimeType", "audio/rtx", "payloadType", 112,
	    "clockRate", 48000, "parameters", "apt", 111);
	assert_int_equal(sfu_ortc_producer_mapping(
	                     &f->params, &f->router, &f->mapping, &err),
	    -1);
	assert_int_equal(err.kind, SFU_ERR_UNSUPPORTED);
	assert_string_equal(
	    err.reason, "no RTX codec for capability codec PT 100");
}

/* --- consumable parameters --- */

/*
 * Consumable parameters: router payload types and feedback, producer
 * codec parameters, RTX, the router's sendable header extensions for the
 * kind, mapped SSRCs without rid/rtx, rtcp {cname, reducedSize, mux}.
 */
static void
test_ortc_consumable_parameters(void **state)
{
	static const char *const video_uris[] = {URI_MID, URI_AST, URI_TCC,
	    URI_ORIENT, URI_TOFFSET, URI_ACT, URI_PD};
	static const unsigned video_ids[] = {1, 4, 5, 11, 12, 13, 14};
	static const char *const audio_uris[] = {
	    URI_MID, URI_AST, URI_LEVEL, URI_ACT, URI_PD};
	static const unsigned audio_ids[] = {1, 4, 10, 13, 14};
	static const char *const opus_fb[] = {"nack", "transport-cc"};
	struct fixture *f = *state;
	struct sfu_rtp_parameters *c = &f->consumable;
	struct sfu_error err;
	unsigned i = 0;

	build_typical_router(f);
	read_vp8_producer(f, true);
	assert_int_equal(sfu_ortc_producer_mapping(
	                     &f->params, &f->router, &f->mapping, &err),
	    0);
	assert_int_equal(sfu_ortc_consumable_parameters(SFU_MEDIA_VIDEO,
	                     &f->params, &f->router, &f->mapping, c, &err),
	    0);
	assert_string_equal(c->mid, "");
	assert_int_equal(c->codec_count, 2);
	assert_string_equal(c->codecs[0].mime_type, "video/VP8");
	assert_int_equal(c->codecs[0].payload_type, 101);
	assert_int_equal(c->codecs[0].clock_rate, 90000);
	assert_int_equal(c->codecs[0].parameters.count, 0);
	assert_string_equal(c->codecs[0].rtcp_feedback[0].type, "nack");
	assert_int_equal(c->codecs[0].rtcp_feedback_count, 5);
	assert_string_equal(c->codecs[1].mime_type, "video/rtx");
	assert_int_equal(c->codecs[1].payload_type, 102);
	assert_param_num(&c->codecs[1].parameters, "apt", 101);
	assert_exts(c, video_uris, video_ids, 7);
	assert_int_equal(c->encoding_count, 3);
	for (i = 0; i < 3; i++) {
		assert_true(c->encodings[i].has_ssrc);
		assert_int_equal(
		    c->encodings[i].ssrc, f->mapping.encodings[i].mapped_ssrc);
		assert_string_equal(c->encodings[i].rid, "");
		assert_false(c->encodings[i].has_rtx);
		assert_string_equal(c->encodings[i].scalability_mode, "L1T3");
	}
	assert_int_equal(c->encodings[2].max_bitrate, 900000);
	assert_true(c->encodings[0].scale_resolution_down_by == 4.0);
	assert_string_equal(c->rtcp.cname, "Zp7kAgYH");
	assert_true(c->rtcp.reduced_size);
	assert_true(c->rtcp.has_mux);
	assert_true(c->rtcp.mux);

	/* The wrong kind for the codecs is refused. */
	assert_int_equal(sfu_ortc_consumable_parameters(SFU_MEDIA_AUDIO,
	                     &f->params, &f->router, &f->mapping, c, &err),
	    -1);
	assert_string_equal(
	    err.reason, "rtpParameters.codecs[0]: video/VP8 is no audio codec");

	/* Audio: no transport-cc extension (the router only receives it). */
	READ_ONE_CODEC_PRODUCER(f,
	    "{s:s, s:u, s:u, s:u, s:{s:u, s:u}}], s:[{s:u}], s:{s:s}}",
	    "codecs", "mimeType", "audio/opus", "payloadType", 111, "clockRate",
	    48000, "channels", 2, "parameters", "minptime", 10, "useinbandfec",
	    1, "encodings", "ssrc", 1234, "rtcp", "cname", "audiocname");
	assert_int_equal(sfu_ortc_producer_mapping(
	                     &f->params, &f->router, &f->mapping, &err),
	    0);
	assert_int_equal(sfu_ortc_consumable_parameters(SFU_MEDIA_AUDIO,
	                     &f->params, &f->router, &f->mapping, c, &err),
	    0);
	assert_int_equal(c->codec_count, 1);
	assert_int_equal(c->codecs[0].payload_type, 100);
	assert_int_equal(c->codecs[0].channels, 2);
	assert_param_num(&c->codecs[0].parameters, "minptime", 10);
	assert_feedback(c->codecs[0].rtcp_feedback,
	    c->codecs[0].rtcp_feedback_count, opus_fb, 2);
	assert_exts(c, audio_uris, audio_ids, 5);
	assert_string_equal(c->rtcp.cname, "audiocname");
}

/*
 * The consumable H264 profile-level-id is mediasoup's answer (the
 * producer codec is matched with {modify: true}): the producer's level
 * with level asymmetry on both sides, else the lower level.
 */
static void
test_ortc_consumable_h264_answer(void **state)
{
	static const struct {
		const char *plid; /* NULL: absent */
		bool asym;
		const char *want;
	} cases[] = {
	    {"42e029", true, "42e029"},
	    {"42e029", false, "42e01f"},
	    {"42E00B", false, "42e00b"},
	    {"42f00b", false, "42f00b"},
	    {"42e00a", true, "42e00a"},
	    {NULL, false, "42e01f"},
	};
	struct fixture *f = *state;
	struct sfu_error err;
	unsigned i = 0;

	build_typical_router(f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].plid == NULL) {
			READ_ONE_CODEC_PRODUCER(f,
			    "{s:s, s:u, s:u, s:{s:u}}], s:[{s:u}]}", "codecs",
			    "mimeType", "video/H264", "payloadType", 102,
			    "clockRate", 90000, "parameters",
			    "packetization-mode", 1, "encodings", "ssrc", 1);
		} else if (cases[i].asym) {
			READ_ONE_CODEC_PRODUCER(f,
			    "{s:s, s:u, s:u, s:{s:u, s:s, s:u}}], s:[{s:u}]}",
			    "codecs", "mimeType", "video/H264", "payloadType",
			    102, "clockRate", 90000, "parameters",
			    "packetization-mode", 1, "profile-level-id",
			    cases[i].plid, "level-asymmetry-allowed", 1,
			    "encodings", "ssrc", 1);
		} else {
			READ_ONE_CODEC_PRODUCER(f,
			    "{s:s, s:u, s:u, s:{s:u, s:s}}], s:[{s:u}]}",
			    "codecs", "mimeType", "video/H264", "payloadType",
			    102, "clockRate", 90000, "parameters",
			    "packetization-mode", 1, "profile-level-id",
			    cases[i].plid, "encodings", "ssrc", 1);
		}
		assert_int_equal(sfu_ortc_producer_mapping(
		                     &f->params, &f->router, &f->mapping, &err),
		    0);
		assert_int_equal(
		    sfu_ortc_consumable_parameters(SFU_MEDIA_VIDEO, &f->params,
		        &f->router, &f->mapping, &f->consumable, &err),
		    0);
		assert_param_str(&f->consumable.codecs[0].parameters,
		    "profile-level-id", cases[i].want);
		assert_param_num(&f->consumable.codecs[0].parameters,
		    "packetization-mode", 1);
		assert_string_equal(
		    f->consumable.codecs[1].mime_type, "video/rtx");
	}

	/* Neither side with a profile-level-id: none in the answer. */
	BUILD_ROUTER(f, "[{s:s, s:u, s:{s:u}}]", "mimeType", "video/H264",
	    "clockRate", 90000, "parameters", "packetization-mode", 1);
	READ_ONE_CODEC_PRODUCER(f, "{s:s, s:u, s:u, s:{s:u}}], s:[{s:u}]}",
	    "codecs", "mimeType", "video/H264", "payloadType", 102, "clockRate",
	    90000, "parameters", "packetization-mode", 1, "encodings", "ssrc",
	    1);
	assert_int_equal(sfu_ortc_producer_mapping(
	                     &f->params, &f->router, &f->mapping, &err),
	    0);
	assert_int_equal(
	    sfu_ortc_consumable_parameters(SFU_MEDIA_VIDEO, &f->params,
	        &f->router, &f->mapping, &f->consumable, &err),
	    0);
	assert_null(sfu_rtp_params_get(
	    &f->consumable.codecs[0].parameters, "profile-level-id"));
}

/* --- canConsume and consumer parameters --- */

/* The consumable of the typical router's single-encoding VP8 producer. */
static void
build_vp8_consumable(struct fixture *f, bool simulcast)
{
	struct sfu_error err;

	build_typical_router(f);
	read_vp8_producer(f, simulcast);
	assert_int_equal(sfu_ortc_producer_mapping(
	                     &f->params, &f->router, &f->mapping, &err),
	    0);
	assert_int_equal(
	    sfu_ortc_consumable_parameters(SFU_MEDIA_VIDEO, &f->params,
	        &f->router, &f->mapping, &f->consumable, &err),
	    0);
}

/* canConsume: true only when the first matching codec is a media one. */
static void
test_ortc_can_consume(void **state)
{
	struct fixture *f = *state;

	build_vp8_consumable(f, false);
	read_browser_caps(f, 0, true);
	assert_true(sfu_ortc_can_consume(&f->consumable, &f->caps));

	EXPECT_OK(&f->caps, READ_CAPS, "{}");
	assert_false(sfu_ortc_can_consume(&f->consumable, &f->caps));
	EXPECT_OK(&f->caps, READ_CAPS, "{s:[{s:s, s:s, s:u, s:u}]}", "codecs",
	    "kind", "video", "mimeType", "video/VP8", "preferredPayloadType",
	    96, "clockRate", 90000);
	assert_true(sfu_ortc_can_consume(&f->consumable, &f->caps));
	EXPECT_OK(&f->caps, READ_CAPS, "{s:[{s:s, s:u}]}", "codecs", "mimeType",
	    "video/VP8", "clockRate", 48000);
	assert_false(sfu_ortc_can_consume(&f->consumable, &f->caps));
	EXPECT_OK(&f->caps, READ_CAPS, "{s:[{s:s, s:u, s:{s:u}}]}", "codecs",
	    "mimeType", "video/rtx", "clockRate", 90000, "parameters", "apt",
	    96);
	assert_false(sfu_ortc_can_consume(&f->consumable, &f->caps));
	EXPECT_OK(&f->caps, READ_CAPS, "{s:[{s:s, s:u, s:{s:u, s:s}}]}",
	    "codecs", "mimeType", "video/H264", "clockRate", 90000,
	    "parameters", "packetization-mode", 1, "profile-level-id",
	    "42e01f");
	assert_false(sfu_ortc_can_consume(&f->consumable, &f->caps));
}

/*
 * Consumer parameters for mediasoup-client's Chrome capabilities: router
 * PTs, the remote's feedback minus goog-remb (transport-cc negotiated),
 * RTX, header extensions both sides know, one encoding with a fresh
 * SSRC and RTX SSRC + 1, the producer's cname; and its packed shape.
 */
static void
test_ortc_consumer_parameters_browser(void **state)
{
	static const char *const fb[] = {
	    "transport-cc", "ccm:fir", "nack", "nack:pli"};
	static const char *const uris[] = {
	    URI_MID, URI_AST, URI_TCC, URI_ORIENT, URI_TOFFSET};
	static const unsigned ids[] = {1, 4, 5, 11, 12};
	struct fixture *f = *state;
	struct sfu_rtp_parameters *c = &f->consumer;
	struct sfu_error err;
	struct sfu_msg m;
	msgpack_sbuffer sb;
	const msgpack_object *v = NULL;
	const msgpack_object *o = NULL;

	build_vp8_consumable(f, false);
	read_browser_caps(f, 0, true);
	assert_int_equal(
	    sfu_ortc_consumer_parameters(&f->consumable, &f->caps, c, &err), 0);
	assert_int_equal(c->codec_count, 2);
	assert_string_equal(c->codecs[0].mime_type, "video/VP8");
	assert_int_equal(c->codecs[0].payload_type, 101);
	assert_feedback(c->codecs[0].rtcp_feedback,
	    c->codecs[0].rtcp_feedback_count, fb, 4);
	assert_string_equal(c->codecs[1].mime_type, "video/rtx");
	assert_int_equal(c->codecs[1].payload_type, 102);
	assert_param_num(&c->codecs[1].parameters, "apt", 101);
	assert_int_equal(c->codecs[1].rtcp_feedback_count, 0);
	assert_exts(c, uris, ids, 5);
	assert_int_equal(c->encoding_count, 1);
	assert_true(c->encodings[0].has_ssrc);
	assert_int_not_equal(c->encodings[0].ssrc, 0);
	assert_int_not_equal(
	    c->encodings[0].ssrc, f->consumable.encodings[0].ssrc);
	assert_true(c->encodings[0].has_rtx);
	assert_int_equal(c->encodings[0].rtx_ssrc, c->encodings[0].ssrc + 1);
	assert_int_equal(c->encodings[0].max_bitrate, 500000);
	assert_string_equal(c->encodings[0].scalability_mode, "");
	assert_string_equal(c->rtcp.cname, "Zp7kAgYH");
	assert_true(c->rtcp.reduced_size);
	assert_true(c->rtcp.mux);

	/* Packed: mediasoup's consumer rtpParameters shape. */
	v = pack_decode_params(c, &sb, &m);
	assert_map_size(v, 4);
	o = at(get(v, "codecs"), 0);
	assert_map_size(o, 5);
	assert_str_obj(get(o, "mimeType"), "video/VP8");
	assert_uint_obj(get(o, "payloadType"), 101);
	assert_uint_obj(get(o, "clockRate"), 90000);
	assert_map_size(get(o, "parameters"), 0);
	o = at(get(v, "headerExtensions"), 0);
	assert_map_size(o, 4);
	assert_str_obj(get(o, "uri"), URI_MID);
	assert_uint_obj(get(o, "id"), 1);
	assert_false(get(o, "encrypt")->via.boolean);
	assert_map_size(get(o, "parameters"), 0);
	o = at(get(v, "encodings"), 0);
	assert_map_size(o, 3);
	assert_uint_obj(get(o, "ssrc"), c->encodings[0].ssrc);
	assert_uint_obj(get(get(o, "rtx"), "ssrc"), c->encodings[0].ssrc + 1);
	assert_uint_obj(get(o, "maxBitrate"), 500000);
	o = get(v, "rtcp");
	assert_map_size(o, 3);
	assert_str_obj(get(o, "cname"), "Zp7kAgYH");
	assert_true(get(o, "reducedSize")->via.boolean);
	assert_true(get(o, "mux")->via.boolean);
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);
}

/*
 * Feedback follows the negotiated congestion control: REMB with
 * abs-send-time only, neither without both; no RTX in the caps drops RTX
 * and the encoding's rtx; simulcast gives L<n>T<t> and the top bitrate.
 */
static void
test_ortc_consumer_parameters_variants(void **state)
{
	static const char *const fb_remb[] = {
	    "goog-remb", "ccm:fir", "nack", "nack:pli"};
	static const char *const fb_none[] = {"ccm:fir", "nack", "nack:pli"};
	static const char *const uris_ast[] = {URI_MID, URI_AST};
	static const unsigned ids_ast[] = {1, 4};
	struct fixture *f = *state;
	struct sfu_rtp_parameters *c = &f->consumer;
	struct sfu_error err;

	build_vp8_consumable(f, false);
	read_browser_caps(f, 1, true);
	assert_int_equal(
	    sfu_ortc_consumer_parameters(&f->consumable, &f->caps, c, &err), 0);
	assert_feedback(c->codecs[0].rtcp_feedback,
	    c->codecs[0].rtcp_feedback_count, fb_remb, 4);
	assert_exts(c, uris_ast, ids_ast, 2);

	read_browser_caps(f, 2, true);
	assert_int_equal(
	    sfu_ortc_consumer_parameters(&f->consumable, &f->caps, c, &err), 0);
	assert_feedback(c->codecs[0].rtcp_feedback,
	    c->codecs[0].rtcp_feedback_count, fb_none, 3);

	read_browser_caps(f, 0, false);
	assert_int_equal(
	    sfu_ortc_consumer_parameters(&f->consumable, &f->caps, c, &err), 0);
	assert_int_equal(c->codec_count, 1);
	assert_false(c->encodings[0].has_rtx);

	build_vp8_consumable(f, true);
	read_browser_caps(f, 0, true);
	assert_int_equal(
	    sfu_ortc_consumer_parameters(&f->consumable, &f->caps, c, &err), 0);
	assert_int_equal(c->encoding_count, 1);
	assert_string_equal(c->encodings[0].scalability_mode, "L3T3");
	assert_int_equal(c->encodings[0].max_bitrate, 900000);
	assert_true(c->encodings[0].has_rtx);
}

/* H264 and opus consumers; nothing in common is UnsupportedError. */
static void
test_ortc_consumer_parameters_codecs(void **state)
{
	static const char *const audio_uris[] = {URI_MID, URI_AST, URI_LEVEL};
	static const unsigned audio_ids[] = {1, 4, 10};
	struct fixture *f = *state;
	struct sfu_rtp_parameters *c = &f->consumer;
	struct sfu_error err;

	build_typical_router(f);
	READ_ONE_CODEC_PRODUCER(f,
	    "{s:s, s:u, s:u, s:{s:u, s:s, s:u}}, {s:s, s:u, s:u, s:{s:u}}],"
	    " s:[{s:u, s:{s:u}}]}",
	    "codecs", "mimeType", "video/H264", "payloadType", 102, "clockRate",
	    90000, "parameters", "packetization-mode", 1, "profile-level-id",
	    "42e01f", "level-asymmetry-allowed", 1, "mimeType", "video/rtx",
	    "payloadType", 103, "clockRate", 90000, "parameters", "apt", 102,
	    "encodings", "ssrc", 5555, "rtx", "ssrc", 5556);
	assert_int_equal(sfu_ortc_producer_mapping(
	                     &f->params, &f->router, &f->mapping, &err),
	    0);
	assert_int_equal(
	    sfu_ortc_consumable_parameters(SFU_MEDIA_VIDEO, &f->params,
	        &f->router, &f->mapping, &f->consumable, &err),
	    0);
	read_browser_caps(f, 0, true);
	assert_true(sfu_ortc_can_consume(&f->consumable, &f->caps));
	assert_int_equal(
	    sfu_ortc_consumer_parameters(&f->consumable, &f->caps, c, &err), 0);
	assert_int_equal(c->codec_count, 2);
	assert_int_equal(c->codecs[0].payload_type, 105);
	assert_param_str(
	    &c->codecs[0].parameters, "profile-level-id", "42e01f");
	assert_int_equal(c->codecs[1].payload_type, 106);

	READ_ONE_CODEC_PRODUCER(f, "{s:s, s:u, s:u, s:u}], s:[{s:u}]}",
	    "codecs", "mimeType", "audio/opus", "payloadType", 111, "clockRate",
	    48000, "channels", 2, "encodings", "ssrc", 1234);
	assert_int_equal(sfu_ortc_producer_mapping(
	                     &f->params, &f->router, &f->mapping, &err),
	    0);
	assert_int_equal(
	    sfu_ortc_consumable_parameters(SFU_MEDIA_AUDIO, &f->params,
	        &f->router, &f->mapping, &f->consumable, &err),
	    0);
	assert_int_equal(
	    sfu_ortc_consumer_parameters(&f->consumable, &f->caps, c, &err), 0);
	assert_int_equal(c->codec_count, 1);
	assert_int_equal(c->codecs[0].payload_type, 100);
	assert_int_equal(c->codecs[0].channels, 2);
	assert_int_equal(c->codecs[0].rtcp_feedback_count, 0);
	assert_exts(c, audio_uris, audio_ids, 3);
	assert_false(c->encodings[0].has_rtx);

	EXPECT_OK(&f->caps, READ_CAPS, "{s:[{s:s, s:u}]}", "codecs", "mimeType",
	    "video/VP8", "clockRate", 90000);
	sfu_error_clear(&err);
	assert_int_equal(
	    sfu_ortc_consumer_parameters(&f->consumable, &f->caps, c, &err),
	    -1);
	assert_int_equal(err.kind, SFU_ERR_UNSUPPORTED);
	assert_string_equal(err.reason, "no compatible media codecs");
}

/* --- readers --- */

/* Defaults: channels 1 for audio, none for video, rtcp flags true. */
static void
test_ortc_read_parameters_defaults(void **state)
{
	struct fixture *f = *state;
	struct sfu_rtp_parameters *p = &f->params;

	EXPECT_OK(p, READ_PARAMS,
	    "{s:[{s:s, s:u, s:u}, {s:s, s:u, s:u, s:u, s:s}], s:s}", "codecs",
	    "mimeType", "audio/opus", "payloadType", 111, "clockRate", 48000,
	    "mimeType", "video/VP8", "payloadType", 96, "clockRate", 90000,
	    "channels", 2, "unknownKey", "ignored", "foo", "bar");
	assert_int_equal(p->codec_count, 2);
	assert_int_equal(p->codecs[0].channels, 1);
	assert_int_equal(p->codecs[1].channels, 0);
	assert_int_equal(p->codecs[0].parameters.count, 0);
	assert_int_equal(p->codecs[0].rtcp_feedback_count, 0);
	assert_int_equal(p->header_extension_count, 0);
	assert_int_equal(p->encoding_count, 0);
	assert_string_equal(p->mid, "");
	assert_string_equal(p->rtcp.cname, "");
	assert_true(p->rtcp.reduced_size);
	assert_false(p->rtcp.has_mux);
	assert_true(p->rtcp.mux);

	/* Feedback without parameter, nil values as absent, ssrc 0. */
	EXPECT_OK(p, READ_PARAMS,
	    "{s:[{s:s, s:u, s:u, s:[{s:s}], s:n}], s:[{s:u, s:n}], s:n,"
	    " s:{s:f, s:f}}",
	    "codecs", "mimeType", "video/VP8", "payloadType", 96, "clockRate",
	    90000, "rtcpFeedback", "type", "nack", "parameters", "encodings",
	    "ssrc", 0, "rid", "mid", "rtcp", "reducedSize", "mux");
	assert_string_equal(p->codecs[0].rtcp_feedback[0].parameter, "");
	assert_false(p->encodings[0].has_ssrc);
	assert_false(p->rtcp.reduced_size);
	assert_true(p->rtcp.has_mux);
	assert_false(p->rtcp.mux);
}

/* Every RtpParameters rule refuses with a TypeError naming the field. */
static void
test_ortc_read_parameters_errors(void **state)
{
	struct fixture *f = *state;
	struct sfu_rtp_parameters *p = &f->params;
	char mid[40];

	memset(mid, 'm', sizeof(mid) - 1);
	mid[sizeof(mid) - 1] = '\0';

	EXPECT_ERROR(p, READ_PARAMS, "data.rtpParameters: expected map", "[]");
	EXPECT_ERROR(
	    p, READ_PARAMS, "data.rtpParameters.codecs: missing", "{}");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs: expected array", "{s:{}}", "codecs");
	EXPECT_ERROR(p, READ_PARAMS, "data.rtpParameters.codecs: empty",
	    "{s:[]}", "codecs");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0]: expected map", "{s:[u]}", "codecs",
	    1);
	EXPECT_ERROR(p, READ_PARAMS, "data.rtpParameters.mid: expected string",
	    "{s:u, s:[]}", "mid", 1, "codecs");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.mid: expected string of at most 31 bytes",
	    "{s:s, s:[]}", "mid", mid, "codecs");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].mimeType: missing", "{s:[{s:u}]}",
	    "codecs", "payloadType", 96);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].mimeType: expected \"audio/<name>\" "
	    "or \"video/<name>\"",
	    "{s:[{s:s, s:u, s:u}]}", "codecs", "mimeType", "VP8", "payloadType",
	    96, "clockRate", 90000);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].mimeType: expected \"audio/<name>\" "
	    "or \"video/<name>\"",
	    "{s:[{s:s, s:u, s:u}]}", "codecs", "mimeType", "video/",
	    "payloadType", 96, "clockRate", 90000);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].mimeType: expected string of at most "
	    "47 bytes",
	    "{s:[{s:s, s:u, s:u}]}", "codecs", "mimeType",
	    "video/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "payloadType", 96, "clockRate", 90000);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].payloadType: missing",
	    "{s:[{s:s, s:u}]}", "codecs", "mimeType", "video/VP8", "clockRate",
	    90000);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].payloadType: expected uint8",
	    "{s:[{s:s, s:s, s:u}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", "96", "clockRate", 90000);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].payloadType: expected uint8",
	    "{s:[{s:s, s:u, s:u}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 300, "clockRate", 90000);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].payloadType: payload type 128 out of "
	    "range 0..127",
	    "{s:[{s:s, s:u, s:u}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 128, "clockRate", 90000);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].clockRate: missing",
	    "{s:[{s:s, s:u}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].clockRate: expected uint32",
	    "{s:[{s:s, s:u, s:d}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000.5);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].clockRate: must not be 0",
	    "{s:[{s:s, s:u, s:u}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 0);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].channels: expected uint8",
	    "{s:[{s:s, s:u, s:u, s:s}]}", "codecs", "mimeType", "audio/opus",
	    "payloadType", 111, "clockRate", 48000, "channels", "2");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].channels: must not be 0",
	    "{s:[{s:s, s:u, s:u, s:u}]}", "codecs", "mimeType", "audio/opus",
	    "payloadType", 111, "clockRate", 48000, "channels", 0);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].parameters: expected map",
	    "{s:[{s:s, s:u, s:u, s:[]}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "parameters");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].parameters.foo: expected number or "
	    "string",
	    "{s:[{s:s, s:u, s:u, s:{s:t}}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "parameters", "foo");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].parameters.foo: expected number or "
	    "string",
	    "{s:[{s:s, s:u, s:u, s:{s:n}}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "parameters", "foo");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].parameters.foo: expected number or "
	    "string",
	    "{s:[{s:s, s:u, s:u, s:{s:[]}}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "parameters",
	    "foo");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].parameters.foo: expected number or "
	    "string",
	    "{s:[{s:s, s:u, s:u, s:{s:d}}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "parameters", "foo",
	    1.0 / 0.0);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].parameters: expected UTF-8 string "
	    "keys",
	    "{s:[{s:s, s:u, s:u, s:{u:u}}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "parameters", 1, 2);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].parameters: key longer than 47 bytes",
	    "{s:[{s:s, s:u, s:u, s:{s:u}}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "parameters",
	    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk", 1);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].parameters.apt: expected number",
	    "{s:[{s:s, s:u, s:u, s:{s:s}}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "parameters", "apt", "96");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[1].parameters.apt: missing (RTX codec)",
	    "{s:[{s:s, s:u, s:u}, {s:s, s:u, s:u}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "mimeType",
	    "video/rtx", "payloadType", 97, "clockRate", 90000);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[1].parameters.apt: expected integer "
	    "from 0 to 127",
	    "{s:[{s:s, s:u, s:u}, {s:s, s:u, s:u, s:{s:d}}]}", "codecs",
	    "mimeType", "video/VP8", "payloadType", 96, "clockRate", 90000,
	    "mimeType", "video/rtx", "payloadType", 97, "clockRate", 90000,
	    "parameters", "apt", 96.5);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[1]: missing media codec found for RTX "
	    "PT 97",
	    "{s:[{s:s, s:u, s:u}, {s:s, s:u, s:u, s:{s:u}}]}", "codecs",
	    "mimeType", "video/VP8", "payloadType", 96, "clockRate", 90000,
	    "mimeType", "video/rtx", "payloadType", 97, "clockRate", 90000,
	    "parameters", "apt", 95);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[1]: apt in RTX codec points to a RTX "
	    "codec",
	    "{s:[{s:s, s:u, s:u}, {s:s, s:u, s:u, s:{s:u}}]}", "codecs",
	    "mimeType", "video/VP8", "payloadType", 96, "clockRate", 90000,
	    "mimeType", "video/rtx", "payloadType", 97, "clockRate", 90000,
	    "parameters", "apt", 97);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[1]: duplicated payloadType 96",
	    "{s:[{s:s, s:u, s:u}, {s:s, s:u, s:u}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "mimeType",
	    "video/VP9", "payloadType", 96, "clockRate", 90000);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs: no media codecs found",
	    "{s:[{s:s, s:u, s:u}]}", "codecs", "mimeType",
	    "audio/telephone-event", "payloadType", 110, "clockRate", 8000);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].rtcpFeedback: expected array",
	    "{s:[{s:s, s:u, s:u, s:{}}]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "rtcpFeedback");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].rtcpFeedback[1]: expected map",
	    "{s:[{s:s, s:u, s:u, s:[{s:s}, s]}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "rtcpFeedback",
	    "type", "nack", "pli");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].rtcpFeedback[0].type: missing",
	    "{s:[{s:s, s:u, s:u, s:[{s:s}]}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "rtcpFeedback",
	    "parameter", "pli");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].rtcpFeedback[0].type: empty",
	    "{s:[{s:s, s:u, s:u, s:[{s:s}]}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "rtcpFeedback",
	    "type", "");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.codecs[0].rtcpFeedback[0].parameter: expected "
	    "string",
	    "{s:[{s:s, s:u, s:u, s:[{s:s, s:u}]}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "rtcpFeedback",
	    "type", "nack", "parameter", 1);

	/* Header extensions. */
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.headerExtensions: expected array",
	    "{s:[{s:s, s:u, s:u}], s:{}}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "headerExtensions");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.headerExtensions[0].uri: missing",
	    "{s:[{s:s, s:u, s:u}], s:[{s:u}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000,
	    "headerExtensions", "id", 1);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.headerExtensions[0].uri: empty",
	    "{s:[{s:s, s:u, s:u}], s:[{s:s, s:u}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000,
	    "headerExtensions", "uri", "", "id", 1);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.headerExtensions[0].id: missing",
	    "{s:[{s:s, s:u, s:u}], s:[{s:s}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000,
	    "headerExtensions", "uri", URI_MID);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.headerExtensions[0].id: expected integer from "
	    "1 to 255",
	    "{s:[{s:s, s:u, s:u}], s:[{s:s, s:u}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000,
	    "headerExtensions", "uri", URI_MID, "id", 0);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.headerExtensions[0].id: expected uint8",
	    "{s:[{s:s, s:u, s:u}], s:[{s:s, s:u}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000,
	    "headerExtensions", "uri", URI_MID, "id", 256);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.headerExtensions[0].encrypt: expected boolean",
	    "{s:[{s:s, s:u, s:u}], s:[{s:s, s:u, s:u}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000,
	    "headerExtensions", "uri", URI_MID, "id", 1, "encrypt", 1);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.headerExtensions[0].parameters.x: expected "
	    "number or string",
	    "{s:[{s:s, s:u, s:u}], s:[{s:s, s:u, s:{s:t}}]}", "codecs",
	    "mimeType", "video/VP8", "payloadType", 96, "clockRate", 90000,
	    "headerExtensions", "uri", URI_MID, "id", 1, "parameters", "x");

	/* Encodings. */
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[0]: expected map",
	    "{s:[{s:s, s:u, s:u}], s:[n]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "encodings");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[0].ssrc: expected uint32",
	    "{s:[{s:s, s:u, s:u}], s:[{s:s}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "encodings",
	    "ssrc", "1");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[0].ssrc: expected uint32",
	    "{s:[{s:s, s:u, s:u}], s:[{s:U}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "encodings",
	    "ssrc", (uint64_t)1 << 32);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[0].rid: expected string of at most "
	    "31 bytes",
	    "{s:[{s:s, s:u, s:u}], s:[{s:s}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "encodings",
	    "rid", "rrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrrr");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[0].rtx: expected map",
	    "{s:[{s:s, s:u, s:u}], s:[{s:u}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "encodings",
	    "rtx", 1);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[0].rtx.ssrc: missing",
	    "{s:[{s:s, s:u, s:u}], s:[{s:{}}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "encodings",
	    "rtx");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[0].dtx: expected boolean",
	    "{s:[{s:s, s:u, s:u}], s:[{s:u}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "encodings",
	    "dtx", 1);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[0].scalabilityMode: expected string "
	    "of at most 15 bytes",
	    "{s:[{s:s, s:u, s:u}], s:[{s:s}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "encodings",
	    "scalabilityMode", "L1T3L1T3L1T3L1T3");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[0].scaleResolutionDownBy: expected "
	    "positive number",
	    "{s:[{s:s, s:u, s:u}], s:[{s:u}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "encodings",
	    "scaleResolutionDownBy", 0);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[0].maxBitrate: expected uint32",
	    "{s:[{s:s, s:u, s:u}], s:[{s:i}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "encodings",
	    "maxBitrate", -1);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[0]: codecPayloadType 97 is no media "
	    "codec",
	    "{s:[{s:s, s:u, s:u}, {s:s, s:u, s:u, s:{s:u}}], s:[{s:u}]}",
	    "codecs", "mimeType", "video/VP8", "payloadType", 96, "clockRate",
	    90000, "mimeType", "video/rtx", "payloadType", 97, "clockRate",
	    90000, "parameters", "apt", 96, "encodings", "codecPayloadType",
	    97);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[0]: codecPayloadType 98 is no media "
	    "codec",
	    "{s:[{s:s, s:u, s:u}], s:[{s:u}]}", "codecs", "mimeType",
	    "video/VP8", "payloadType", 96, "clockRate", 90000, "encodings",
	    "codecPayloadType", 98);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.encodings[1]: cannot use both simulcast and "
	    "encodings with multiple SVC spatial layers",
	    "{s:[{s:s, s:u, s:u}], s:[{s:s}, {s:s}]}", "codecs", "mimeType",
	    "video/VP9", "payloadType", 96, "clockRate", 90000, "encodings",
	    "scalabilityMode", "L1T3", "scalabilityMode", "L3T3");

	/* RTCP. */
	EXPECT_ERROR(p, READ_PARAMS, "data.rtpParameters.rtcp: expected map",
	    "{s:[{s:s, s:u, s:u}], s:[]}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "rtcp");
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.rtcp.cname: expected string",
	    "{s:[{s:s, s:u, s:u}], s:{s:u}}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "rtcp", "cname", 1);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.rtcp.reducedSize: expected boolean",
	    "{s:[{s:s, s:u, s:u}], s:{s:u}}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "rtcp", "reducedSize", 1);
	EXPECT_ERROR(p, READ_PARAMS,
	    "data.rtpParameters.rtcp.mux: expected boolean",
	    "{s:[{s:s, s:u, s:u}], s:{s:s}}", "codecs", "mimeType", "video/VP8",
	    "payloadType", 96, "clockRate", 90000, "rtcp", "mux", "yes");
}

/* Every RtpCapabilities rule refuses with a TypeError naming the field. */
static void
test_ortc_read_capabilities_errors(void **state)
{
	struct fixture *f = *state;
	struct sfu_rtp_capabilities *c = &f->caps;
	struct sfu_rtp_codec_capability *codec = &f->media[0];

	EXPECT_ERROR(
	    c, READ_CAPS, "data.rtpCapabilities: expected map", "s", "x");
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.codecs: expected array", "{s:u}", "codecs",
	    1);
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.codecs[0].kind: \"video\" does not match "
	    "mimeType audio/opus",
	    "{s:[{s:s, s:s, s:u, s:u}]}", "codecs", "kind", "video", "mimeType",
	    "audio/opus", "clockRate", 48000, "channels", 2);
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.codecs[0].kind: expected \"audio\" or "
	    "\"video\"",
	    "{s:[{s:s, s:s, s:u}]}", "codecs", "kind", "screen", "mimeType",
	    "video/VP8", "clockRate", 90000);
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.codecs[0].kind: expected \"audio\" or "
	    "\"video\"",
	    "{s:[{s:u, s:s, s:u}]}", "codecs", "kind", 1, "mimeType",
	    "video/VP8", "clockRate", 90000);
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.codecs[0].preferredPayloadType: payload type "
	    "200 out of range 0..127",
	    "{s:[{s:s, s:u, s:u}]}", "codecs", "mimeType", "video/VP8",
	    "preferredPayloadType", 200, "clockRate", 90000);
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.codecs[0].preferredPayloadType: expected "
	    "uint8",
	    "{s:[{s:s, s:s, s:u}]}", "codecs", "mimeType", "video/VP8",
	    "preferredPayloadType", "96", "clockRate", 90000);
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.codecs[0].clockRate: missing", "{s:[{s:s}]}",
	    "codecs", "mimeType", "video/VP8");
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.codecs[0].parameters.apt: expected number",
	    "{s:[{s:s, s:u, s:{s:s}}]}", "codecs", "mimeType", "video/rtx",
	    "clockRate", 90000, "parameters", "apt", "x");
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.headerExtensions: expected array", "{s:s}",
	    "headerExtensions", "x");
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.headerExtensions[0].kind: expected \"audio\" "
	    "or \"video\"",
	    "{s:[{s:s, s:s, s:u}]}", "headerExtensions", "kind", "data", "uri",
	    URI_MID, "preferredId", 1);
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.headerExtensions[0].uri: missing",
	    "{s:[{s:s, s:u}]}", "headerExtensions", "kind", "audio",
	    "preferredId", 1);
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.headerExtensions[0].preferredId: missing",
	    "{s:[{s:s, s:s}]}", "headerExtensions", "kind", "audio", "uri",
	    URI_MID);
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.headerExtensions[0].preferredId: expected "
	    "integer from 1 to 255",
	    "{s:[{s:s, s:u}]}", "headerExtensions", "uri", URI_MID,
	    "preferredId", 0);
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.headerExtensions[0].preferredEncrypt: "
	    "expected boolean",
	    "{s:[{s:s, s:u, s:s}]}", "headerExtensions", "uri", URI_MID,
	    "preferredId", 1, "preferredEncrypt", "no");
	EXPECT_ERROR(c, READ_CAPS,
	    "data.rtpCapabilities.headerExtensions[0].direction: expected "
	    "\"sendrecv\", \"sendonly\", \"recvonly\" or \"inactive\"",
	    "{s:[{s:s, s:u, s:s}]}", "headerExtensions", "uri", URI_MID,
	    "preferredId", 1, "direction", "both");

	/* One media codec (worker.createRouter mediaCodecs). */
	EXPECT_ERROR(
	    codec, READ_CODEC, "data.mediaCodecs[0]: expected map", "u", 1);
	EXPECT_ERROR(codec, READ_CODEC, "data.mediaCodecs[0].mimeType: missing",
	    "{s:s}", "kind", "audio");
	EXPECT_OK(codec, READ_CODEC, "{s:s, s:u}", "mimeType", "AUDIO/OPUS",
	    "clockRate", 48000);
	assert_int_equal(codec->kind, SFU_MEDIA_AUDIO);
	assert_int_equal(codec->channels, 1);
	assert_false(codec->has_preferred_payload_type);

	/* Capabilities may omit everything; kind and direction default. */
	EXPECT_OK(c, READ_CAPS, "{s:[{s:s, s:u}]}", "headerExtensions", "uri",
	    URI_MID, "preferredId", 1);
	assert_int_equal(c->codec_count, 0);
	assert_false(c->header_extensions[0].has_kind);
	assert_false(c->header_extensions[0].preferred_encrypt);
	assert_int_equal(
	    c->header_extensions[0].direction, SFU_RTP_DIR_SENDRECV);
}

/*
 * Packs {"v": {[codecs: [VP8],] key: [n copies of one element]}}: fmt
 * "codec" for a VP8 codec, else {<key arg>: <unsigned arg>}.
 */
static void
pack_many(msgpack_sbuffer *sb, const char *key, unsigned n, bool with_codec,
    const char *fmt, ...)
{
	msgpack_sbuffer one;
	msgpack_packer pk;
	va_list ap;
	const char *k = NULL;
	unsigned u = 0;
	unsigned i = 0;

	/* helpers_pack has no va_list form: pack the element once by hand. */
	va_start(ap, fmt);
	if (strcmp(fmt, "codec") == 0) {
		helpers_pack_sbuf(&one, "{s:s, s:u, s:u}", "mimeType",
		    "video/VP8", "payloadType", 96, "clockRate", 90000);
	} else {
		k = va_arg(ap, const char *);
		u = va_arg(ap, unsigned);
		helpers_pack_sbuf(&one, "{s:u}", k, u);
	}
	va_end(ap);
	pack_value_begin(sb, &pk);
	msgpack_pack_map(&pk, with_codec ? 2 : 1);
	if (with_codec) {
		sfu_msg_pack_str(&pk, "codecs");
		msgpack_pack_array(&pk, 1);
		helpers_pack(&pk, "{s:s, s:u, s:u}", "mimeType", "video/VP8",
		    "payloadType", 96, "clockRate", 90000);
	}
	sfu_msg_pack_str(&pk, key);
	msgpack_pack_array(&pk, n);
	for (i = 0; i < n; i++) {
		pk.callback(pk.data, one.data, one.size);
	}
	msgpack_sbuffer_destroy(&one);
}

/* Counts over the fixed limits are refused naming field and limit. */
static void
test_ortc_read_over_limits(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	char key[8];
	unsigned i = 0;

	pack_many(&sb, "codecs", 33, false, "codec");
	assert_int_equal(run_reader(READ_PARAMS, &sb, &f->params, &err), -1);
	assert_string_equal(
	    err.reason, "data.rtpParameters.codecs: more than 32 entries");
	pack_many(&sb, "codecs", 33, false, "codec");
	assert_int_equal(run_reader(READ_CAPS, &sb, &f->caps, &err), -1);
	assert_string_equal(
	    err.reason, "data.rtpCapabilities.codecs: more than 32 entries");
	pack_many(&sb, "codecs", 32, false, "codec");
	assert_int_equal(run_reader(READ_CAPS, &sb, &f->caps, &err), 0);
	assert_int_equal(f->caps.codec_count, 32);

	pack_many(&sb, "encodings", 9, true, "ssrc", "ssrc", 5);
	assert_int_equal(run_reader(READ_PARAMS, &sb, &f->params, &err), -1);
	assert_string_equal(
	    err.reason, "data.rtpParameters.encodings: more than 8 entries");
	pack_many(&sb, "encodings", 8, true, "ssrc", "ssrc", 5);
	assert_int_equal(run_reader(READ_PARAMS, &sb, &f->params, &err), 0);
	assert_int_equal(f->params.encoding_count, 8);

	pack_many(&sb, "headerExtensions", 17, true, "x", "id", 5);
	assert_int_equal(run_reader(READ_PARAMS, &sb, &f->params, &err), -1);
	assert_string_equal(err.reason,
	    "data.rtpParameters.headerExtensions: more than 16 entries");
	pack_many(&sb, "headerExtensions", 17, false, "x", "preferredId", 5);
	assert_int_equal(run_reader(READ_CAPS, &sb, &f->caps, &err), -1);
	assert_string_equal(err.reason,
	    "data.rtpCapabilities.headerExtensions: more than 16 entries");

	/* 17 parameters and 9 feedback entries on one codec. */
	pack_value_begin(&sb, &pk);
	msgpack_pack_map(&pk, 1);
	sfu_msg_pack_str(&pk, "codecs");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 4);
	sfu_msg_pack_kv_str(&pk, "mimeType", "video/VP8");
	sfu_msg_pack_kv_uint(&pk, "payloadType", 96);
	sfu_msg_pack_kv_uint(&pk, "clockRate", 90000);
	sfu_msg_pack_str(&pk, "parameters");
	msgpack_pack_map(&pk, 17);
	for (i = 0; i < 17; i++) {
		snprintf(key, sizeof(key), "k%u", i);
		sfu_msg_pack_kv_uint(&pk, key, i);
	}
	assert_int_equal(run_reader(READ_PARAMS, &sb, &f->params, &err), -1);
	assert_string_equal(err.reason,
	    "data.rtpParameters.codecs[0].parameters: more than 16 entries");

	pack_value_begin(&sb, &pk);
	msgpack_pack_map(&pk, 1);
	sfu_msg_pack_str(&pk, "codecs");
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 4);
	sfu_msg_pack_kv_str(&pk, "mimeType", "video/VP8");
	sfu_msg_pack_kv_uint(&pk, "payloadType", 96);
	sfu_msg_pack_kv_uint(&pk, "clockRate", 90000);
	sfu_msg_pack_str(&pk, "rtcpFeedback");
	msgpack_pack_array(&pk, 9);
	for (i = 0; i < 9; i++) {
		helpers_pack(&pk, "{s:s}", "type", "nack");
	}
	assert_int_equal(run_reader(READ_PARAMS, &sb, &f->params, &err), -1);
	assert_string_equal(err.reason,
	    "data.rtpParameters.codecs[0].rtcpFeedback: more than 8 entries");
}

/* --- round trips --- */

/*
 * pack -> decode -> read gives the same parameters and the same bytes;
 * integral numbers stay integers, others doubles, strings strings.
 */
static void
test_ortc_parameters_round_trip(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err;
	struct sfu_msg m;
	msgpack_sbuffer sb;
	msgpack_sbuffer sb2;
	msgpack_packer pk;
	const msgpack_object *v = NULL;
	const msgpack_object *params = NULL;
	const msgpack_object *enc = NULL;
	unsigned i = 0;

	for (i = 0; i < 2; i++) {
		read_vp8_producer(f, i == 1);
		assert_int_equal(
		    sfu_rtp_params_set_num(&f->params.codecs[0].parameters,
		        "packetization-mode", 1),
		    0);
		sfu_rtp_params_set_num(
		    &f->params.codecs[0].parameters, "half", 0.5);
		sfu_rtp_params_set_num(
		    &f->params.codecs[0].parameters, "neg", -3);
		sfu_rtp_params_set_num(
		    &f->params.codecs[0].parameters, "big", 4294967296.0 * 4);
		sfu_rtp_params_set_str(
		    &f->params.codecs[0].parameters, "s", "str");
		f->params.encodings[0].dtx = true;
		f->params.rtcp.has_mux = true;

		v = pack_decode_params(&f->params, &sb, &m);
		params = get(at(get(v, "codecs"), 0), "parameters");
		assert_uint_obj(get(params, "packetization-mode"), 1);
		assert_int_equal(
		    get(params, "half")->type, MSGPACK_OBJECT_FLOAT64);
		assert_int_equal(
		    get(params, "neg")->type, MSGPACK_OBJECT_NEGATIVE_INTEGER);
		assert_int_equal(get(params, "neg")->via.i64, -3);
		assert_uint_obj(get(params, "big"), 17179869184ULL);
		assert_str_obj(get(params, "s"), "str");
		enc = at(get(v, "encodings"), 0);
		assert_true(get(enc, "dtx")->via.boolean);
		if (i == 1) {
			assert_str_obj(get(enc, "rid"), "r0");
			assert_uint_obj(get(enc, "scaleResolutionDownBy"), 4);
			assert_null(sfu_msg_map_get(enc, "ssrc"));
		} else {
			assert_uint_obj(get(get(enc, "rtx"), "ssrc"), 22222222);
		}
		assert_str_obj(get(v, "mid"), i == 1 ? "0" : "1");

		assert_int_equal(sfu_rtp_parameters_read(v,
		                     "data.rtpParameters", &f->params2, &err),
		    0);
		assert_memory_equal(&f->params, &f->params2, sizeof(f->params));
		pack_value_begin(&sb2, &pk);
		sfu_rtp_parameters_pack(&f->params2, &pk);
		assert_int_equal(sb.size, sb2.size);
		assert_memory_equal(sb.data, sb2.data, sb.size);
		sfu_msg_release(&m);
		msgpack_sbuffer_destroy(&sb);
		msgpack_sbuffer_destroy(&sb2);
	}
}

/* Router and browser capabilities survive pack -> decode -> read. */
static void
test_ortc_capabilities_round_trip(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err;
	struct sfu_msg m;
	msgpack_sbuffer sb;
	msgpack_sbuffer sb2;
	msgpack_packer pk;
	const msgpack_object *v = NULL;
	struct sfu_rtp_capabilities *src = NULL;
	unsigned i = 0;

	build_typical_router(f);
	read_browser_caps(f, 0, true);
	f->caps.header_extensions[0].has_kind = false;
	f->caps.header_extensions[1].direction = SFU_RTP_DIR_INACTIVE;
	f->caps.header_extensions[2].preferred_encrypt = true;
	for (i = 0; i < 2; i++) {
		src = i == 0 ? &f->router : &f->caps;
		v = pack_decode_caps(src, &sb, &m);
		assert_int_equal(sfu_rtp_capabilities_read(v,
		                     "data.rtpCapabilities", &f->caps2, &err),
		    0);
		assert_memory_equal(src, &f->caps2, sizeof(f->caps2));
		pack_value_begin(&sb2, &pk);
		sfu_rtp_capabilities_pack(&f->caps2, &pk);
		assert_int_equal(sb.size, sb2.size);
		assert_memory_equal(sb.data, sb2.data, sb.size);
		sfu_msg_release(&m);
		msgpack_sbuffer_destroy(&sb);
		msgpack_sbuffer_destroy(&sb2);
	}
}

#define T(name)                                                                \
	cmocka_unit_test_setup_teardown(name, setup_fixture, teardown_fixture)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_ortc_supported_table),
	    T(test_ortc_helpers),
	    T(test_ortc_router_caps_typical),
	    T(test_ortc_router_caps_pack_shapes),
	    T(test_ortc_router_caps_payload_types),
	    T(test_ortc_router_caps_unsupported),
	    T(test_ortc_router_caps_duplicate),
	    T(test_ortc_router_caps_exhausted),
	    T(test_ortc_producer_mapping_vp8_rtx),
	    T(test_ortc_producer_mapping_simulcast),
	    T(test_ortc_producer_mapping_h264),
	    T(test_ortc_producer_mapping_unsupported),
	    T(test_ortc_consumable_parameters),
	    T(test_ortc_consumable_h264_answer),
	    T(test_ortc_can_consume),
	    T(test_ortc_consumer_parameters_browser),
	    T(test_ortc_consumer_parameters_variants),
	    T(test_ortc_consumer_parameters_codecs),
	    T(test_ortc_read_parameters_defaults),
	    T(test_ortc_read_parameters_errors),
	    T(test_ortc_read_capabilities_errors),
	    T(test_ortc_read_over_limits),
	    T(test_ortc_parameters_round_trip),
	    T(test_ortc_capabilities_round_trip),
	};

	return cmocka_run_group_tests_name("ortc", tests, NULL, NULL);
}
