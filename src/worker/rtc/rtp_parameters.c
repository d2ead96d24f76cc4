/*
 * SPDX-License-Identifier: MIT
 *
 * RtpCapabilities and RtpParameters: MessagePack readers that apply the
 * checks of mediasoup's validateRtp*() (node/src/ortc.ts) plus those its
 * worker makes when it builds RtpParameters (unique payload types, RTX
 * codecs with an apt naming a media codec, at least one media codec,
 * encodings' codecPayloadType naming a media codec), and writers giving
 * back mediasoup's JSON shapes. Everything lives in fixed-size structs:
 * counts and string lengths over the limits of rtp_parameters.h are
 * refused with a TypeError naming the field, never truncated.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/msg.h"
#include "worker/rtc/rtp_parameters.h"

/* Field paths in errors: "data.rtpParameters.codecs[12].parameters.x". */
#define RTP_PATH_LEN 256

/* --- helpers --- */

const char *
sfu_media_kind_name(enum sfu_media_kind kind)
{
	return kind == SFU_MEDIA_VIDEO ? "video" : "audio";
}

bool
sfu_rtp_mime_kind(const char *mime_type, enum sfu_media_kind *kind)
{
	/* mediasoup: /^(audio|video)\/(.+)/i */
	if (strncasecmp(mime_type, "audio/", 6) == 0 && mime_type[6] != '\0') {
		*kind = SFU_MEDIA_AUDIO;
		return true;
	}
	if (strncasecmp(mime_type, "video/", 6) == 0 && mime_type[6] != '\0') {
		*kind = SFU_MEDIA_VIDEO;
		return true;
	}
	return false;
}

bool
sfu_rtp_mime_eq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

/* The part after "kind/", or "" when there is no slash. */
static const char *
rtp_mime_subtype(const char *mime_type)
{
	const char *slash = NULL;

	slash = strchr(mime_type, '/');
	return slash == NULL ? "" : slash + 1;
}

bool
sfu_rtp_codec_is_rtx(const char *mime_type)
{
	/* mediasoup: /.+\/rtx$/i */
	const char *slash = NULL;

	slash = strrchr(mime_type, '/');
	return slash != NULL && slash != mime_type &&
	       strcasecmp(slash + 1, "rtx") == 0;
}

bool
sfu_rtp_codec_is_media(const char *mime_type)
{
	static const char *const feature[] = {"rtx", "red", "ulpfec",
	    "flexfec-03", "x-ulpfecuc", "CN", "telephone-event"};
	const char *sub = NULL;
	size_t i = 0;

	sub = rtp_mime_subtype(mime_type);
	for (i = 0; i < sizeof(feature) / sizeof(feature[0]); i++) {
		if (strcasecmp(sub, feature[i]) == 0) {
			return false;
		}
	}
	return true;
}

void
sfu_rtp_scalability_mode_parse(
    const char *mode, unsigned *spatial, unsigned *temporal, bool *ksvc)
{
	const char *p = mode;
	unsigned s = 0;
	unsigned t = 0;

	*spatial = 1;
	*temporal = 1;
	*ksvc = false;

	/* ^[LS]([1-9]\d?)T([1-9]\d?)(_KEY)? */
	if (p == NULL || (*p != 'L' && *p != 'S')) {
		return;
	}
	p++;
	if (*p < '1' || *p > '9') {
		return;
	}
	s = (unsigned)(*p++ - '0');
	if (*p >= '0' && *p <= '9') {
		s = s * 10 + (unsigned)(*p++ - '0');
	}
	if (*p++ != 'T') {
		return;
	}
	if (*p < '1' || *p > '9') {
		return;
	}
	t = (unsigned)(*p++ - '0');
	if (*p >= '0' && *p <= '9') {
		t = t * 10 + (unsigned)(*p++ - '0');
	}
	*spatial = s;
	*temporal = t;
	*ksvc = strncmp(p, "_KEY", 4) == 0;
}

const struct sfu_rtp_param *
sfu_rtp_params_get(const struct sfu_rtp_params *p, const char *key)
{
	unsigned i = 0;

	for (i = 0; i < p->count; i++) {
		if (strcmp(p->items[i].key, key) == 0) {
			return &p->items[i];
		}
	}
	return NULL;
}

/*
 * The slot for key: the existing one, a new one, or NULL when full. The
 * setters zero what they do not use, so equal parameters compare equal
 * byte for byte (the fuzzer's round trips rely on it).
 */
static struct sfu_rtp_param *
rtp_params_slot(struct sfu_rtp_params *p, const char *key)
{
	struct sfu_rtp_param *item = NULL;
	unsigned i = 0;

	if (strlen(key) >= SFU_RTP_PARAM_KEY_LEN) {
		return NULL;
	}
	for (i = 0; i < p->count; i++) {
		if (strcmp(p->items[i].key, key) == 0) {
			return &p->items[i];
		}
	}
	if (p->count >= SFU_RTP_MAX_PARAMS) {
		return NULL;
	}
	item = &p->items[p->count++];
	memset(item, 0, sizeof(*item));
	memcpy(item->key, key, strlen(key) + 1);
	return item;
}

int
sfu_rtp_params_set_num(struct sfu_rtp_params *p, const char *key, double num)
{
	struct sfu_rtp_param *item = NULL;

	item = rtp_params_slot(p, key);
	if (item == NULL) {
		return -1;
	}
	item->is_string = false;
	item->num = num;
	memset(item->str, 0, sizeof(item->str));
	return 0;
}

int
sfu_rtp_params_set_str(
    struct sfu_rtp_params *p, const char *key, const char *str)
{
	struct sfu_rtp_param *item = NULL;
	size_t len = strlen(str);

	if (len >= SFU_RTP_PARAM_STR_LEN) {
		return -1;
	}
	item = rtp_params_slot(p, key);
	if (item == NULL) {
		return -1;
	}
	item->is_string = true;
	item->num = 0;
	memset(item->str, 0, sizeof(item->str));
	memcpy(item->str, str, len);
	return 0;
}

/* --- reading --- */

/* Sets a TypeError "<path>: <message>" and returns -1. */
static int rtp_fail(struct sfu_error *err, const char *path, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static int
rtp_fail(struct sfu_error *err, const char *path, const char *fmt, ...)
{
	char msg[SFU_ERROR_REASON_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sfu_error_set(err, SFU_ERR_TYPE, "%s: %s", path, msg);
	return -1;
}

/* RFC 3629 UTF-8 without NUL (map keys escape the typed getters). */
static bool
rtp_utf8_valid(const uint8_t *p, size_t len)
{
	return memchr(p, '\0', len) == NULL && sfu_msg_utf8_valid(p, len);
}

/* An array under key holding at most max entries; 1, 0 (absent), -1. */
static int
rtp_get_array(const msgpack_object *map, const char *path, const char *key,
    int flags, unsigned max, const msgpack_object **out, struct sfu_error *err)
{
	char full[RTP_PATH_LEN];
	int r = 0;

	r = sfu_msg_get_array(map, path, key, flags, out, err);
	if (r != 1) {
		return r;
	}
	if ((*out)->via.array.size > max) {
		return rtp_fail(err,
		    sfu_msg_path(full, sizeof(full), path, key),
		    "more than %u entries", max);
	}
	return 1;
}

/* Element i of arr, which must be a map; its path goes into path. */
static const msgpack_object *
rtp_array_map(const msgpack_object *arr, uint32_t i, const char *parent,
    const char *key, char *path, size_t size, struct sfu_error *err)
{
	char base[RTP_PATH_LEN];
	const msgpack_object *o = &arr->via.array.ptr[i];

	sfu_msg_path(base, sizeof(base), parent, key);
	sfu_msg_path_index(path, size, base, i);
	if (o->type != MSGPACK_OBJECT_MAP) {
		rtp_fail(err, path, "expected map");
		return NULL;
	}
	return o;
}

/* A non-empty string of at most size - 1 bytes; 1, 0 (absent), -1. */
static int
rtp_get_name(const msgpack_object *map, const char *path, const char *key,
    int flags, char *buf, size_t size, struct sfu_error *err)
{
	char full[RTP_PATH_LEN];
	int r = 0;

	r = sfu_msg_get_strbuf(map, path, key, flags, buf, size, err);
	if (r == 1 && buf[0] == '\0') {
		return rtp_fail(
		    err, sfu_msg_path(full, sizeof(full), path, key), "empty");
	}
	return r;
}

/* A payload type: uint8 (the wire type) and an RTP PT (0..127). */
static int
rtp_get_payload_type(const msgpack_object *map, const char *path,
    const char *key, int flags, uint8_t *out, struct sfu_error *err)
{
	char full[RTP_PATH_LEN];
	uint64_t v = 0;
	int r = 0;

	r = sfu_msg_get_uint(map, path, key, flags, UINT8_MAX, &v, err);
	if (r != 1) {
		return r;
	}
	if (v > 127) {
		return rtp_fail(err,
		    sfu_msg_path(full, sizeof(full), path, key),
		    "payload type %u out of range 0..127", (unsigned)v);
	}
	*out = (uint8_t)v;
	return 1;
}

/*
 * "parameters": a map of string keys to numbers or strings (mediasoup
 * throws on anything else). Absent means empty.
 */
static int
rtp_read_params(const msgpack_object *o, const char *path,
    struct sfu_rtp_params *out, struct sfu_error *err)
{
	char ppath[RTP_PATH_LEN];
	char kpath[RTP_PATH_LEN];
	char key[SFU_RTP_PARAM_KEY_LEN];
	char str[SFU_RTP_PARAM_STR_LEN];
	const msgpack_object *map = NULL;
	const msgpack_object_kv *kv = NULL;
	const msgpack_object *v = NULL;
	double num = 0;
	uint32_t i = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	r = sfu_msg_get_map(o, path, "parameters", SFU_MSG_OPTIONAL, &map, err);
	if (r != 1) {
		return r;
	}
	sfu_msg_path(ppath, sizeof(ppath), path, "parameters");
	for (i = 0; i < map->via.map.size; i++) {
		kv = &map->via.map.ptr[i];
		v = &kv->val;
		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    !rtp_utf8_valid((const uint8_t *)kv->key.via.str.ptr,
		        kv->key.via.str.size)) {
			return rtp_fail(
			    err, ppath, "expected UTF-8 string keys");
		}
		if (kv->key.via.str.size >= sizeof(key)) {
			return rtp_fail(err, ppath, "key longer than %zu bytes",
			    sizeof(key) - 1);
		}
		memcpy(key, kv->key.via.str.ptr, kv->key.via.str.size);
		key[kv->key.via.str.size] = '\0';
		sfu_msg_path(kpath, sizeof(kpath), ppath, key);
		switch (v->type) {
		case MSGPACK_OBJECT_POSITIVE_INTEGER:
			num = (double)v->via.u64;
			r = sfu_rtp_params_set_num(out, key, num);
			break;
		case MSGPACK_OBJECT_NEGATIVE_INTEGER:
			num = (double)v->via.i64;
			r = sfu_rtp_params_set_num(out, key, num);
			break;
		case MSGPACK_OBJECT_FLOAT32:
		case MSGPACK_OBJECT_FLOAT64:
			/* NaN and infinities have no JSON form. */
			num = v->via.f64;
			if (num != num || num > 1.7976931348623157e308 ||
			    num < -1.7976931348623157e308) {
				return rtp_fail(
				    err, kpath, "expected number or string");
			}
			r = sfu_rtp_params_set_num(out, key, num);
			break;
		case MSGPACK_OBJECT_STR:
			if (!rtp_utf8_valid((const uint8_t *)v->via.str.ptr,
			        v->via.str.size)) {
				return rtp_fail(
				    err, kpath, "expected UTF-8 string");
			}
			if (v->via.str.size >= sizeof(str)) {
				return rtp_fail(err, kpath,
				    "expected string of at most %zu bytes",
				    sizeof(str) - 1);
			}
			memcpy(str, v->via.str.ptr, v->via.str.size);
			str[v->via.str.size] = '\0';
			r = sfu_rtp_params_set_str(out, key, str);
			break;
		default:
			return rtp_fail(
			    err, kpath, "expected number or string");
		}
		if (r == -1) {
			return rtp_fail(err, ppath, "more than %u entries",
			    SFU_RTP_MAX_PARAMS);
		}
	}
	return 1;
}

/* "rtcpFeedback": [{type, parameter?}]; absent means empty. */
static int
rtp_read_feedback(const msgpack_object *o, const char *path,
    struct sfu_rtcp_feedback *fb, unsigned *count, struct sfu_error *err)
{
	char epath[RTP_PATH_LEN];
	const msgpack_object *arr = NULL;
	const msgpack_object *e = NULL;
	uint32_t i = 0;
	int r = 0;

	*count = 0;
	r = rtp_get_array(o, path, "rtcpFeedback", SFU_MSG_OPTIONAL,
	    SFU_RTP_MAX_FEEDBACK, &arr, err);
	if (r != 1) {
		return r;
	}
	for (i = 0; i < arr->via.array.size; i++) {
		e = rtp_array_map(
		    arr, i, path, "rtcpFeedback", epath, sizeof(epath), err);
		if (e == NULL) {
			return -1;
		}
		memset(&fb[i], 0, sizeof(fb[i]));
		if (rtp_get_name(e, epath, "type", SFU_MSG_REQUIRED, fb[i].type,
		        sizeof(fb[i].type), err) != 1) {
			return -1;
		}
		if (sfu_msg_get_strbuf(e, epath, "parameter", SFU_MSG_OPTIONAL,
		        fb[i].parameter, sizeof(fb[i].parameter), err) == -1) {
			return -1;
		}
		(*count)++;
	}
	return 1;
}

/* mimeType, checked against ^(audio|video)/.+ (case-insensitive). */
static int
rtp_read_mime(const msgpack_object *o, const char *path, char *mime,
    enum sfu_media_kind *kind, struct sfu_error *err)
{
	char full[RTP_PATH_LEN];

	if (sfu_msg_get_strbuf(o, path, "mimeType", SFU_MSG_REQUIRED, mime,
	        SFU_RTP_MIME_LEN, err) != 1) {
		return -1;
	}
	if (!sfu_rtp_mime_kind(mime, kind)) {
		return rtp_fail(err,
		    sfu_msg_path(full, sizeof(full), path, "mimeType"),
		    "expected \"audio/<name>\" or \"video/<name>\"");
	}
	return 0;
}

/*
 * clockRate (mandatory, non-zero) and channels (audio only: 1 when
 * absent, as mediasoup defaults it; video: dropped, as mediasoup deletes
 * it).
 */
static int
rtp_read_rate(const msgpack_object *o, const char *path,
    enum sfu_media_kind kind, uint32_t *clock_rate, uint8_t *channels,
    struct sfu_error *err)
{
	char full[RTP_PATH_LEN];
	uint64_t v = 0;
	int r = 0;

	if (sfu_msg_get_uint(o, path, "clockRate", SFU_MSG_REQUIRED, UINT32_MAX,
	        &v, err) != 1) {
		return -1;
	}
	if (v == 0) {
		return rtp_fail(err,
		    sfu_msg_path(full, sizeof(full), path, "clockRate"),
		    "must not be 0");
	}
	*clock_rate = (uint32_t)v;
	*channels = 0;
	if (kind != SFU_MEDIA_AUDIO) {
		return 0;
	}
	r = sfu_msg_get_uint(
	    o, path, "channels", SFU_MSG_OPTIONAL, UINT8_MAX, &v, err);
	if (r == -1) {
		return -1;
	}
	if (r == 1 && v == 0) {
		return rtp_fail(err,
		    sfu_msg_path(full, sizeof(full), path, "channels"),
		    "must not be 0");
	}
	*channels = r == 1 ? (uint8_t)v : 1;
	return 0;
}

/*
 * The apt parameter: a number whenever present (mediasoup's "invalid
 * codec apt parameter"); in RtpParameters, for RTX codecs, mandatory and
 * a payload type (the worker's "missing apt parameter in RTX codec").
 * Capabilities are not held to the latter, as in mediasoup.
 */
static int
rtp_check_apt(const char *mime_type, const struct sfu_rtp_params *params,
    bool rtx_needs_apt, const char *path, struct sfu_error *err)
{
	char full[RTP_PATH_LEN];
	const struct sfu_rtp_param *apt = NULL;

	snprintf(full, sizeof(full), "%s.parameters.apt", path);
	apt = sfu_rtp_params_get(params, "apt");
	if (apt != NULL && apt->is_string) {
		return rtp_fail(err, full, "expected number");
	}
	if (!rtx_needs_apt || !sfu_rtp_codec_is_rtx(mime_type)) {
		return 0;
	}
	if (apt == NULL) {
		return rtp_fail(err, full, "missing (RTX codec)");
	}
	if (apt->num < 0 || apt->num > 127 ||
	    apt->num != (double)(int)apt->num) {
		return rtp_fail(err, full, "expected integer from 0 to 127");
	}
	return 0;
}

/* The body shared by codec capabilities and codec parameters. */
static int
rtp_read_codec_common(const msgpack_object *o, const char *path,
    enum sfu_media_kind kind, const char *mime_type, bool rtx_needs_apt,
    uint32_t *clock_rate, uint8_t *channels, struct sfu_rtp_params *params,
    struct sfu_rtcp_feedback *fb, unsigned *fb_count, struct sfu_error *err)
{
	if (rtp_read_rate(o, path, kind, clock_rate, channels, err) == -1) {
		return -1;
	}
	if (rtp_read_params(o, path, params, err) == -1) {
		return -1;
	}
	if (rtp_check_apt(mime_type, params, rtx_needs_apt, path, err) == -1) {
		return -1;
	}
	if (rtp_read_feedback(o, path, fb, fb_count, err) == -1) {
		return -1;
	}
	return 0;
}

int
sfu_rtp_codec_capability_read(const msgpack_object *o, const char *path,
    struct sfu_rtp_codec_capability *out, struct sfu_error *err)
{
	char full[RTP_PATH_LEN];
	char kind[8];
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (o == NULL || o->type != MSGPACK_OBJECT_MAP) {
		return rtp_fail(err, path, "expected map");
	}
	if (rtp_read_mime(o, path, out->mime_type, &out->kind, err) == -1) {
		return -1;
	}

	/* mediasoup takes kind from mimeType; a contradicting one is a bug. */
	r = sfu_msg_get_strbuf(
	    o, path, "kind", SFU_MSG_OPTIONAL, kind, sizeof(kind), err);
	sfu_msg_path(full, sizeof(full), path, "kind");
	if (r == -1 || (r == 1 && strcmp(kind, "audio") != 0 &&
	                   strcmp(kind, "video") != 0)) {
		return rtp_fail(err, full, "expected \"audio\" or \"video\"");
	}
	if (r == 1 && strcmp(kind, sfu_media_kind_name(out->kind)) != 0) {
		return rtp_fail(err, full, "\"%s\" does not match mimeType %s",
		    kind, out->mime_type);
	}
	r = rtp_get_payload_type(o, path, "preferredPayloadType",
	    SFU_MSG_OPTIONAL, &out->preferred_payload_type, err);
	if (r == -1) {
		return -1;
	}
	out->has_preferred_payload_type = r == 1;
	if (rtp_read_codec_common(o, path, out->kind, out->mime_type, false,
	        &out->clock_rate, &out->channels, &out->parameters,
	        out->rtcp_feedback, &out->rtcp_feedback_count, err) == -1) {
		return -1;
	}
	return 0;
}

static int
rtp_read_codec(const msgpack_object *o, const char *path,
    struct sfu_rtp_codec *out, struct sfu_error *err)
{
	enum sfu_media_kind kind = SFU_MEDIA_AUDIO;

	memset(out, 0, sizeof(*out));
	if (rtp_read_mime(o, path, out->mime_type, &kind, err) == -1) {
		return -1;
	}
	if (rtp_get_payload_type(o, path, "payloadType", SFU_MSG_REQUIRED,
	        &out->payload_type, err) != 1) {
		return -1;
	}
	return rtp_read_codec_common(o, path, kind, out->mime_type, true,
	    &out->clock_rate, &out->channels, &out->parameters,
	    out->rtcp_feedback, &out->rtcp_feedback_count, err);
}

/* A header extension id: 1..14 one-byte, up to 255 two-byte (RFC 8285). */
static int
rtp_get_ext_id(const msgpack_object *o, const char *path, const char *key,
    uint8_t *out, struct sfu_error *err)
{
	char full[RTP_PATH_LEN];
	uint64_t v = 0;

	if (sfu_msg_get_uint(
	        o, path, key, SFU_MSG_REQUIRED, UINT8_MAX, &v, err) != 1) {
		return -1;
	}
	if (v == 0) {
		return rtp_fail(err,
		    sfu_msg_path(full, sizeof(full), path, key),
		    "expected integer from 1 to 255");
	}
	*out = (uint8_t)v;
	return 0;
}

static int
rtp_read_ext_capability(const msgpack_object *o, const char *path,
    struct sfu_rtp_header_extension_capability *out, struct sfu_error *err)
{
	static const char *const dirs[] = {
	    "sendrecv", "sendonly", "recvonly", "inactive"};
	char full[RTP_PATH_LEN];
	char buf[16];
	unsigned i = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	r = sfu_msg_get_strbuf(
	    o, path, "kind", SFU_MSG_OPTIONAL, buf, sizeof(buf), err);
	if (r == -1 || (r == 1 && strcmp(buf, "audio") != 0 &&
	                   strcmp(buf, "video") != 0)) {
		return rtp_fail(err,
		    sfu_msg_path(full, sizeof(full), path, "kind"),
		    "expected \"audio\" or \"video\"");
	}
	out->has_kind = r == 1;
	out->kind = r == 1 && strcmp(buf, "video") == 0 ? SFU_MEDIA_VIDEO
	                                                : SFU_MEDIA_AUDIO;
	if (rtp_get_name(o, path, "uri", SFU_MSG_REQUIRED, out->uri,
	        sizeof(out->uri), err) != 1) {
		return -1;
	}
	if (rtp_get_ext_id(o, path, "preferredId", &out->preferred_id, err) ==
	    -1) {
		return -1;
	}
	if (sfu_msg_get_bool(o, path, "preferredEncrypt", SFU_MSG_OPTIONAL,
	        &out->preferred_encrypt, err) == -1) {
		return -1;
	}
	out->direction = SFU_RTP_DIR_SENDRECV;
	r = sfu_msg_get_strbuf(
	    o, path, "direction", SFU_MSG_OPTIONAL, buf, sizeof(buf), err);
	if (r == 0) {
		return 0;
	}
	for (i = 0; r == 1 && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (strcmp(buf, dirs[i]) == 0) {
			out->direction = (enum sfu_rtp_direction)i;
			return 0;
		}
	}
	return rtp_fail(err,
	    sfu_msg_path(full, sizeof(full), path, "direction"),
	    "expected \"sendrecv\", \"sendonly\", \"recvonly\" or "
	    "\"inactive\"");
}

static int
rtp_read_ext(const msgpack_object *o, const char *path,
    struct sfu_rtp_header_extension *out, struct sfu_error *err)
{
	memset(out, 0, sizeof(*out));
	if (rtp_get_name(o, path, "uri", SFU_MSG_REQUIRED, out->uri,
	        sizeof(out->uri), err) != 1) {
		return -1;
	}
	if (rtp_get_ext_id(o, path, "id", &out->id, err) == -1) {
		return -1;
	}
	if (sfu_msg_get_bool(o, path, "encrypt", SFU_MSG_OPTIONAL,
	        &out->encrypt, err) == -1) {
		return -1;
	}
	if (rtp_read_params(o, path, &out->parameters, err) == -1) {
		return -1;
	}
	return 0;
}

static int
rtp_read_encoding(const msgpack_object *o, const char *path,
    struct sfu_rtp_encoding *out, struct sfu_error *err)
{
	char full[RTP_PATH_LEN];
	const msgpack_object *rtx = NULL;
	uint64_t v = 0;
	double d = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));

	/* mediasoup's "if (encoding.ssrc)": 0 counts as absent. */
	r = sfu_msg_get_uint(
	    o, path, "ssrc", SFU_MSG_OPTIONAL, UINT32_MAX, &v, err);
	if (r == -1) {
		return -1;
	}
	out->has_ssrc = r == 1 && v != 0;
	out->ssrc = out->has_ssrc ? (uint32_t)v : 0;
	if (sfu_msg_get_strbuf(o, path, "rid", SFU_MSG_OPTIONAL, out->rid,
	        sizeof(out->rid), err) == -1) {
		return -1;
	}
	r = rtp_get_payload_type(o, path, "codecPayloadType", SFU_MSG_OPTIONAL,
	    &out->codec_payload_type, err);
	if (r == -1) {
		return -1;
	}
	out->has_codec_payload_type = r == 1;
	r = sfu_msg_get_map(o, path, "rtx", SFU_MSG_OPTIONAL, &rtx, err);
	if (r == -1) {
		return -1;
	}
	if (r == 1) {
		sfu_msg_path(full, sizeof(full), path, "rtx");
		if (sfu_msg_get_uint(rtx, full, "ssrc", SFU_MSG_REQUIRED,
		        UINT32_MAX, &v, err) != 1) {
			return -1;
		}
		out->has_rtx = true;
		out->rtx_ssrc = (uint32_t)v;
	}
	if (sfu_msg_get_bool(
	        o, path, "dtx", SFU_MSG_OPTIONAL, &out->dtx, err) == -1) {
		return -1;
	}
	if (sfu_msg_get_strbuf(o, path, "scalabilityMode", SFU_MSG_OPTIONAL,
	        out->scalability_mode, sizeof(out->scalability_mode),
	        err) == -1) {
		return -1;
	}
	r = sfu_msg_get_double(
	    o, path, "scaleResolutionDownBy", SFU_MSG_OPTIONAL, &d, err);
	if (r == -1) {
		return -1;
	}
	if (r == 1 && !(d > 0 && d <= 1.7976931348623157e308)) {
		return rtp_fail(err,
		    sfu_msg_path(
		        full, sizeof(full), path, "scaleResolutionDownBy"),
		    "expected positive number");
	}
	out->scale_resolution_down_by = r == 1 ? d : 0;
	r = sfu_msg_get_uint(
	    o, path, "maxBitrate", SFU_MSG_OPTIONAL, UINT32_MAX, &v, err);
	if (r == -1) {
		return -1;
	}
	out->max_bitrate = r == 1 ? (uint32_t)v : 0;
	return 0;
}

static int
rtp_read_rtcp(const msgpack_object *o, const char *path,
    struct sfu_rtcp_parameters *out, struct sfu_error *err)
{
	char rpath[RTP_PATH_LEN];
	const msgpack_object *rtcp = NULL;
	int r = 0;

	memset(out, 0, sizeof(*out));
	out->reduced_size = true;
	out->mux = true;
	r = sfu_msg_get_map(o, path, "rtcp", SFU_MSG_OPTIONAL, &rtcp, err);
	if (r != 1) {
		return r;
	}
	sfu_msg_path(rpath, sizeof(rpath), path, "rtcp");
	if (sfu_msg_get_strbuf(rtcp, rpath, "cname", SFU_MSG_OPTIONAL,
	        out->cname, sizeof(out->cname), err) == -1) {
		return -1;
	}
	if (sfu_msg_get_bool(rtcp, rpath, "reducedSize", SFU_MSG_OPTIONAL,
	        &out->reduced_size, err) == -1) {
		return -1;
	}
	r = sfu_msg_get_bool(
	    rtcp, rpath, "mux", SFU_MSG_OPTIONAL, &out->mux, err);
	if (r == -1) {
		return -1;
	}
	out->has_mux = r == 1;
	return 1;
}

/* The codec of p with payload type pt, or NULL. */
static const struct sfu_rtp_codec *
rtp_codec_by_pt(const struct sfu_rtp_parameters *p, double pt)
{
	unsigned i = 0;

	for (i = 0; i < p->codec_count; i++) {
		if ((double)p->codecs[i].payload_type == pt) {
			return &p->codecs[i];
		}
	}
	return NULL;
}

/* The worker-side rules across codecs and encodings (RtpParameters.cpp). */
static int
rtp_check_parameters(
    const struct sfu_rtp_parameters *p, const char *path, struct sfu_error *err)
{
	char full[RTP_PATH_LEN];
	const struct sfu_rtp_codec *c = NULL;
	const struct sfu_rtp_codec *target = NULL;
	const struct sfu_rtp_encoding *e = NULL;
	bool has_media = false;
	bool seen[128] = {false};
	unsigned spatial = 0;
	unsigned temporal = 0;
	bool ksvc = false;
	unsigned i = 0;

	if (p->codec_count == 0) {
		return rtp_fail(err,
		    sfu_msg_path(full, sizeof(full), path, "codecs"), "empty");
	}
	for (i = 0; i < p->codec_count; i++) {
		c = &p->codecs[i];
		snprintf(full, sizeof(full), "%s.codecs[%u]", path, i);
		if (seen[c->payload_type]) {
			return rtp_fail(err, full, "duplicated payloadType %u",
			    c->payload_type);
		}
		seen[c->payload_type] = true;
		if (sfu_rtp_codec_is_media(c->mime_type)) {
			has_media = true;
		}
		if (!sfu_rtp_codec_is_rtx(c->mime_type)) {
			continue;
		}
		target = rtp_codec_by_pt(
		    p, sfu_rtp_params_get(&c->parameters, "apt")->num);
		if (target == NULL) {
			return rtp_fail(err, full,
			    "missing media codec found for RTX PT %u",
			    c->payload_type);
		}
		if (sfu_rtp_codec_is_rtx(target->mime_type)) {
			return rtp_fail(err, full,
			    "apt in RTX codec points to a RTX codec");
		}
	}
	if (!has_media) {
		return rtp_fail(err,
		    sfu_msg_path(full, sizeof(full), path, "codecs"),
		    "no media codecs found");
	}
	for (i = 0; i < p->encoding_count; i++) {
		e = &p->encodings[i];
		snprintf(full, sizeof(full), "%s.encodings[%u]", path, i);
		if (e->has_codec_payload_type) {
			target = rtp_codec_by_pt(p, e->codec_payload_type);
			if (target == NULL ||
			    !sfu_rtp_codec_is_media(target->mime_type)) {
				return rtp_fail(err, full,
				    "codecPayloadType %u is no media codec",
				    e->codec_payload_type);
			}
		}
		sfu_rtp_scalability_mode_parse(
		    e->scalability_mode, &spatial, &temporal, &ksvc);
		if (spatial > 1 && p->encoding_count > 1) {
			return rtp_fail(err, full,
			    "cannot use both simulcast and encodings with "
			    "multiple SVC spatial layers");
		}
	}
	return 0;
}

int
sfu_rtp_parameters_read(const msgpack_object *o, const char *path,
    struct sfu_rtp_parameters *out, struct sfu_error *err)
{
	char epath[RTP_PATH_LEN];
	const msgpack_object *arr = NULL;
	const msgpack_object *e = NULL;
	uint32_t i = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (o == NULL || o->type != MSGPACK_OBJECT_MAP) {
		return rtp_fail(err, path, "expected map");
	}
	if (sfu_msg_get_strbuf(o, path, "mid", SFU_MSG_OPTIONAL, out->mid,
	        sizeof(out->mid), err) == -1) {
		return -1;
	}
	if (rtp_get_array(o, path, "codecs", SFU_MSG_REQUIRED,
	        SFU_RTP_MAX_CODECS, &arr, err) != 1) {
		return -1;
	}
	for (i = 0; i < arr->via.array.size; i++) {
		e = rtp_array_map(
		    arr, i, path, "codecs", epath, sizeof(epath), err);
		if (e == NULL ||
		    rtp_read_codec(e, epath, &out->codecs[i], err) == -1) {
			return -1;
		}
		out->codec_count++;
	}
	r = rtp_get_array(o, path, "headerExtensions", SFU_MSG_OPTIONAL,
	    SFU_RTP_MAX_HEADER_EXTENSIONS, &arr, err);
	for (i = 0; r == 1 && i < arr->via.array.size; i++) {
		e = rtp_array_map(arr, i, path, "headerExtensions", epath,
		    sizeof(epath), err);
		if (e == NULL || rtp_read_ext(e, epath,
		                     &out->header_extensions[i], err) == -1) {
			return -1;
		}
		out->header_extension_count++;
	}
	if (r == -1) {
		return -1;
	}
	r = rtp_get_array(o, path, "encodings", SFU_MSG_OPTIONAL,
	    SFU_RTP_MAX_ENCODINGS, &arr, err);
	for (i = 0; r == 1 && i < arr->via.array.size; i++) {
		e = rtp_array_map(
		    arr, i, path, "encodings", epath, sizeof(epath), err);
		if (e == NULL || rtp_read_encoding(
		                     e, epath, &out->encodings[i], err) == -1) {
			return -1;
		}
		out->encoding_count++;
	}
	if (r == -1) {
		return -1;
	}
	if (rtp_read_rtcp(o, path, &out->rtcp, err) == -1) {
		return -1;
	}
	return rtp_check_parameters(out, path, err);
}

int
sfu_rtp_capabilities_read(const msgpack_object *o, const char *path,
    struct sfu_rtp_capabilities *out, struct sfu_error *err)
{
	char epath[RTP_PATH_LEN];
	const msgpack_object *arr = NULL;
	const msgpack_object *e = NULL;
	uint32_t i = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (o == NULL || o->type != MSGPACK_OBJECT_MAP) {
		return rtp_fail(err, path, "expected map");
	}
	r = rtp_get_array(
	    o, path, "codecs", SFU_MSG_OPTIONAL, SFU_RTP_MAX_CODECS, &arr, err);
	for (i = 0; r == 1 && i < arr->via.array.size; i++) {
		e = rtp_array_map(
		    arr, i, path, "codecs", epath, sizeof(epath), err);
		if (e == NULL || sfu_rtp_codec_capability_read(
		                     e, epath, &out->codecs[i], err) == -1) {
			return -1;
		}
		out->codec_count++;
	}
	if (r == -1) {
		return -1;
	}
	r = rtp_get_array(o, path, "headerExtensions", SFU_MSG_OPTIONAL,
	    SFU_RTP_MAX_HEADER_EXTENSIONS, &arr, err);
	for (i = 0; r == 1 && i < arr->via.array.size; i++) {
		e = rtp_array_map(arr, i, path, "headerExtensions", epath,
		    sizeof(epath), err);
		if (e == NULL || rtp_read_ext_capability(e, epath,
		                     &out->header_extensions[i], err) == -1) {
			return -1;
		}
		out->header_extension_count++;
	}
	return r == -1 ? -1 : 0;
}

/* --- writing --- */

/* Integral values go out as integers ({"packetization-mode": 1}). */
static void
rtp_pack_number(msgpack_packer *pk, double v)
{
	if (v > -9223372036854775808.0 && v < 9223372036854775808.0 &&
	    (double)(int64_t)v == v) {
		msgpack_pack_int64(pk, (int64_t)v);
	} else if (v >= 9223372036854775808.0 && v < 18446744073709551616.0) {
		msgpack_pack_uint64(pk, (uint64_t)v);
	} else {
		msgpack_pack_double(pk, v);
	}
}

static void
rtp_pack_params(msgpack_packer *pk, const struct sfu_rtp_params *p)
{
	unsigned i = 0;

	msgpack_pack_map(pk, p->count);
	for (i = 0; i < p->count; i++) {
		sfu_msg_pack_str(pk, p->items[i].key);
		if (p->items[i].is_string) {
			sfu_msg_pack_str(pk, p->items[i].str);
		} else {
			rtp_pack_number(pk, p->items[i].num);
		}
	}
}

static void
rtp_pack_feedback(
    msgpack_packer *pk, const struct sfu_rtcp_feedback *fb, unsigned count)
{
	unsigned i = 0;

	msgpack_pack_array(pk, count);
	for (i = 0; i < count; i++) {
		msgpack_pack_map(pk, 2);
		sfu_msg_pack_kv_str(pk, "type", fb[i].type);
		sfu_msg_pack_kv_str(pk, "parameter", fb[i].parameter);
	}
}

static const char *
rtp_direction_name(enum sfu_rtp_direction d)
{
	switch (d) {
	case SFU_RTP_DIR_SENDONLY:
		return "sendonly";
	case SFU_RTP_DIR_RECVONLY:
		return "recvonly";
	case SFU_RTP_DIR_INACTIVE:
		return "inactive";
	default:
		return "sendrecv";
	}
}

void
sfu_rtp_capabilities_pack(
    const struct sfu_rtp_capabilities *c, msgpack_packer *pk)
{
	const struct sfu_rtp_codec_capability *cc = NULL;
	const struct sfu_rtp_header_extension_capability *h = NULL;
	unsigned i = 0;

	msgpack_pack_map(pk, 2);
	sfu_msg_pack_str(pk, "codecs");
	msgpack_pack_array(pk, c->codec_count);
	for (i = 0; i < c->codec_count; i++) {
		cc = &c->codecs[i];
		msgpack_pack_map(
		    pk, 5 + (cc->has_preferred_payload_type ? 1 : 0) +
		            (cc->channels != 0 ? 1 : 0));
		sfu_msg_pack_kv_str(pk, "kind", sfu_media_kind_name(cc->kind));
		sfu_msg_pack_kv_str(pk, "mimeType", cc->mime_type);
		if (cc->has_preferred_payload_type) {
			sfu_msg_pack_kv_uint(pk, "preferredPayloadType",
			    cc->preferred_payload_type);
		}
		sfu_msg_pack_kv_uint(pk, "clockRate", cc->clock_rate);
		if (cc->channels != 0) {
			sfu_msg_pack_kv_uint(pk, "channels", cc->channels);
		}
		sfu_msg_pack_str(pk, "parameters");
		rtp_pack_params(pk, &cc->parameters);
		sfu_msg_pack_str(pk, "rtcpFeedback");
		rtp_pack_feedback(
		    pk, cc->rtcp_feedback, cc->rtcp_feedback_count);
	}
	sfu_msg_pack_str(pk, "headerExtensions");
	msgpack_pack_array(pk, c->header_extension_count);
	for (i = 0; i < c->header_extension_count; i++) {
		h = &c->header_extensions[i];
		msgpack_pack_map(pk, 4 + (h->has_kind ? 1 : 0));
		if (h->has_kind) {
			sfu_msg_pack_kv_str(
			    pk, "kind", sfu_media_kind_name(h->kind));
		}
		sfu_msg_pack_kv_str(pk, "uri", h->uri);
		sfu_msg_pack_kv_uint(pk, "preferredId", h->preferred_id);
		sfu_msg_pack_kv_bool(
		    pk, "preferredEncrypt", h->preferred_encrypt);
		sfu_msg_pack_kv_str(
		    pk, "direction", rtp_direction_name(h->direction));
	}
}

static void
rtp_pack_encoding(msgpack_packer *pk, const struct sfu_rtp_encoding *e)
{
	uint32_t n = 0;

	n = (e->has_ssrc ? 1 : 0) + (e->rid[0] != '\0' ? 1 : 0) +
	    (e->has_codec_payload_type ? 1 : 0) + (e->has_rtx ? 1 : 0) +
	    (e->dtx ? 1 : 0) + (e->scalability_mode[0] != '\0' ? 1 : 0) +
	    (e->scale_resolution_down_by > 0 ? 1 : 0) +
	    (e->max_bitrate != 0 ? 1 : 0);
	msgpack_pack_map(pk, n);
	if (e->has_ssrc) {
		sfu_msg_pack_kv_uint(pk, "ssrc", e->ssrc);
	}
	if (e->rid[0] != '\0') {
		sfu_msg_pack_kv_str(pk, "rid", e->rid);
	}
	if (e->has_codec_payload_type) {
		sfu_msg_pack_kv_uint(
		    pk, "codecPayloadType", e->codec_payload_type);
	}
	if (e->has_rtx) {
		sfu_msg_pack_str(pk, "rtx");
		msgpack_pack_map(pk, 1);
		sfu_msg_pack_kv_uint(pk, "ssrc", e->rtx_ssrc);
	}
	if (e->dtx) {
		sfu_msg_pack_kv_bool(pk, "dtx", true);
	}
	if (e->scalability_mode[0] != '\0') {
		sfu_msg_pack_kv_str(pk, "scalabilityMode", e->scalability_mode);
	}
	if (e->scale_resolution_down_by > 0) {
		sfu_msg_pack_str(pk, "scaleResolutionDownBy");
		rtp_pack_number(pk, e->scale_resolution_down_by);
	}
	if (e->max_bitrate != 0) {
		sfu_msg_pack_kv_uint(pk, "maxBitrate", e->max_bitrate);
	}
}

void
sfu_rtp_parameters_pack(const struct sfu_rtp_parameters *p, msgpack_packer *pk)
{
	const struct sfu_rtp_codec *c = NULL;
	const struct sfu_rtp_header_extension *h = NULL;
	unsigned i = 0;

	msgpack_pack_map(pk, 4 + (p->mid[0] != '\0' ? 1 : 0));
	if (p->mid[0] != '\0') {
		sfu_msg_pack_kv_str(pk, "mid", p->mid);
	}
	sfu_msg_pack_str(pk, "codecs");
	msgpack_pack_array(pk, p->codec_count);
	for (i = 0; i < p->codec_count; i++) {
		c = &p->codecs[i];
		msgpack_pack_map(pk, 5 + (c->channels != 0 ? 1 : 0));
		sfu_msg_pack_kv_str(pk, "mimeType", c->mime_type);
		sfu_msg_pack_kv_uint(pk, "payloadType", c->payload_type);
		sfu_msg_pack_kv_uint(pk, "clockRate", c->clock_rate);
		if (c->channels != 0) {
			sfu_msg_pack_kv_uint(pk, "channels", c->channels);
		}
		sfu_msg_pack_str(pk, "parameters");
		rtp_pack_params(pk, &c->parameters);
		sfu_msg_pack_str(pk, "rtcpFeedback");
		rtp_pack_feedback(pk, c->rtcp_feedback, c->rtcp_feedback_count);
	}
	sfu_msg_pack_str(pk, "headerExtensions");
	msgpack_pack_array(pk, p->header_extension_count);
	for (i = 0; i < p->header_extension_count; i++) {
		h = &p->header_extensions[i];
		msgpack_pack_map(pk, 4);
		sfu_msg_pack_kv_str(pk, "uri", h->uri);
		sfu_msg_pack_kv_uint(pk, "id", h->id);
		sfu_msg_pack_kv_bool(pk, "encrypt", h->encrypt);
		sfu_msg_pack_str(pk, "parameters");
		rtp_pack_params(pk, &h->parameters);
	}
	sfu_msg_pack_str(pk, "encodings");
	msgpack_pack_array(pk, p->encoding_count);
	for (i = 0; i < p->encoding_count; i++) {
		rtp_pack_encoding(pk, &p->encodings[i]);
	}
	sfu_msg_pack_str(pk, "rtcp");
	msgpack_pack_map(pk,
	    1 + (p->rtcp.cname[0] != '\0' ? 1 : 0) + (p->rtcp.has_mux ? 1 : 0));
	if (p->rtcp.cname[0] != '\0') {
		sfu_msg_pack_kv_str(pk, "cname", p->rtcp.cname);
	}
	sfu_msg_pack_kv_bool(pk, "reducedSize", p->rtcp.reduced_size);
	if (p->rtcp.has_mux) {
		sfu_msg_pack_kv_bool(pk, "mux", p->rtcp.mux);
	}
}
