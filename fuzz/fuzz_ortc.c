/*
 * SPDX-License-Identifier: MIT
 *
 * libFuzzer target for worker/rtc/rtp_parameters and worker/rtc/ortc. The
 * input is one MessagePack map {rtpParameters, rtpCapabilities}. Each is
 * read (errors must be TypeErrors naming the field), written back and read
 * again (same struct, same bytes). The capabilities' codecs also go
 * through sfu_ortc_router_capabilities() as mediaCodecs (unique payload
 * types, RTX after each video codec). The parameters are mapped onto a
 * router built once from a fixed mediaCodecs list, made consumable, then
 * checked with canConsume and turned into consumer parameters for the
 * capabilities. Invariants are checked with __builtin_trap(); ASan and
 * UBSan watch the rest. The big structs are static: one input at a time.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "common/error.h"
#include "common/msg.h"
#include "worker/rtc/ortc.h"
#include "worker/rtc/rtp_parameters.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sfu_rtp_capabilities fuzz_router;
static struct sfu_rtp_capabilities fuzz_caps;
static struct sfu_rtp_capabilities fuzz_caps2;
static struct sfu_rtp_capabilities fuzz_media_router;
static struct sfu_rtp_parameters fuzz_params;
static struct sfu_rtp_parameters fuzz_params2;
static struct sfu_rtp_parameters fuzz_consumable;
static struct sfu_rtp_parameters fuzz_consumer;
static struct sfu_rtp_mapping fuzz_mapping;
static bool fuzz_ready;

/* A reader error must be a TypeError starting with "<path>". */
static void
fuzz_check_reader_error(const struct sfu_error *err, const char *path)
{
	if (err->kind != SFU_ERR_TYPE ||
	    strncmp(err->reason, path, strlen(path)) != 0) {
		__builtin_trap();
	}
}

/* The fixed router: the usual browser codecs and a few more. */
static void
fuzz_build_router(void)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct sfu_msg m;
	struct sfu_error err;
	struct sfu_rtp_codec_capability media[9];
	const msgpack_object *arr = NULL;
	uint32_t i = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	sfu_msg_pack_str(&pk, "mediaCodecs");
	msgpack_pack_array(&pk, 9);

	msgpack_pack_map(&pk, 4);
	sfu_msg_pack_kv_str(&pk, "mimeType", "audio/opus");
	sfu_msg_pack_kv_uint(&pk, "clockRate", 48000);
	sfu_msg_pack_kv_uint(&pk, "channels", 2);
	sfu_msg_pack_str(&pk, "parameters");
	msgpack_pack_map(&pk, 1);
	sfu_msg_pack_kv_uint(&pk, "useinbandfec", 1);

	msgpack_pack_map(&pk, 2);
	sfu_msg_pack_kv_str(&pk, "mimeType", "video/VP8");
	sfu_msg_pack_kv_uint(&pk, "clockRate", 90000);

	msgpack_pack_map(&pk, 3);
	sfu_msg_pack_kv_str(&pk, "mimeType", "video/VP9");
	sfu_msg_pack_kv_uint(&pk, "clockRate", 90000);
	sfu_msg_pack_str(&pk, "parameters");
	msgpack_pack_map(&pk, 1);
	sfu_msg_pack_kv_uint(&pk, "profile-id", 2);

	msgpack_pack_map(&pk, 3);
	sfu_msg_pack_kv_str(&pk, "mimeType", "video/H264");
	sfu_msg_pack_kv_uint(&pk, "clockRate", 90000);
	sfu_msg_pack_str(&pk, "parameters");
	msgpack_pack_map(&pk, 3);
	sfu_msg_pack_kv_uint(&pk, "level-asymmetry-allowed", 1);
	sfu_msg_pack_kv_uint(&pk, "packetization-mode", 1);
	sfu_msg_pack_kv_str(&pk, "profile-level-id", "42e01f");

	msgpack_pack_map(&pk, 3);
	sfu_msg_pack_kv_str(&pk, "mimeType", "video/H264");
	sfu_msg_pack_kv_uint(&pk, "clockRate", 90000);
	sfu_msg_pack_str(&pk, "parameters");
	msgpack_pack_map(&pk, 2);
	sfu_msg_pack_kv_uint(&pk, "packetization-mode", 1);
	sfu_msg_pack_kv_str(&pk, "profile-level-id", "4d0032");

	msgpack_pack_map(&pk, 2);
	sfu_msg_pack_kv_str(&pk, "mimeType", "video/H265");
	sfu_msg_pack_kv_uint(&pk, "clockRate", 90000);

	msgpack_pack_map(&pk, 2);
	sfu_msg_pack_kv_str(&pk, "mimeType", "video/AV1");
	sfu_msg_pack_kv_uint(&pk, "clockRate", 90000);

	msgpack_pack_map(&pk, 3);
	sfu_msg_pack_kv_str(&pk, "mimeType", "audio/PCMU");
	sfu_msg_pack_kv_uint(&pk, "clockRate", 8000);
	sfu_msg_pack_kv_uint(&pk, "preferredPayloadType", 0);

	msgpack_pack_map(&pk, 4);
	sfu_msg_pack_kv_str(&pk, "mimeType", "audio/multiopus");
	sfu_msg_pack_kv_uint(&pk, "clockRate", 48000);
	sfu_msg_pack_kv_uint(&pk, "channels", 6);
	sfu_msg_pack_str(&pk, "parameters");
	msgpack_pack_map(&pk, 3);
	sfu_msg_pack_kv_str(&pk, "channel_mapping", "0,4,1,2,3,5");
	sfu_msg_pack_kv_uint(&pk, "num_streams", 4);
	sfu_msg_pack_kv_uint(&pk, "coupled_streams", 2);

	if (sfu_msg_decode(&m, (const uint8_t *)sb.data, sb.size, &err) != 0) {
		__builtin_trap();
	}
	arr = sfu_msg_map_get(m.root, "mediaCodecs");
	for (i = 0; i < arr->via.array.size; i++) {
		if (sfu_rtp_codec_capability_read(&arr->via.array.ptr[i],
		        "data.mediaCodecs[]", &media[i], &err) != 0) {
			__builtin_trap();
		}
	}
	if (sfu_ortc_router_capabilities(media, 9, &fuzz_router, &err) != 0) {
		__builtin_trap();
	}
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);
}

/* Written parameters must read back the same and write the same bytes. */
static void
fuzz_params_round_trip(const struct sfu_rtp_parameters *p)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer sb2;
	msgpack_packer pk;
	struct sfu_msg m;
	struct sfu_error err;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	sfu_msg_pack_str(&pk, "p");
	sfu_rtp_parameters_pack(p, &pk);
	if (sfu_msg_decode(&m, (const uint8_t *)sb.data, sb.size, &err) != 0 ||
	    sfu_rtp_parameters_read(
	        sfu_msg_map_get(m.root, "p"), "p", &fuzz_params2, &err) != 0 ||
	    memcmp(p, &fuzz_params2, sizeof(*p)) != 0) {
		__builtin_trap();
	}
	msgpack_sbuffer_init(&sb2);
	msgpack_packer_init(&pk, &sb2, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	sfu_msg_pack_str(&pk, "p");
	sfu_rtp_parameters_pack(&fuzz_params2, &pk);
	if (sb.size != sb2.size || memcmp(sb.data, sb2.data, sb.size) != 0) {
		__builtin_trap();
	}
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_destroy(&sb2);
}

static void
fuzz_caps_round_trip(const struct sfu_rtp_capabilities *c)
{
	msgpack_sbuffer sb;
	msgpack_sbuffer sb2;
	msgpack_packer pk;
	struct sfu_msg m;
	struct sfu_error err;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	sfu_msg_pack_str(&pk, "c");
	sfu_rtp_capabilities_pack(c, &pk);
	if (sfu_msg_decode(&m, (const uint8_t *)sb.data, sb.size, &err) != 0 ||
	    sfu_rtp_capabilities_read(
	        sfu_msg_map_get(m.root, "c"), "c", &fuzz_caps2, &err) != 0 ||
	    memcmp(c, &fuzz_caps2, sizeof(*c)) != 0) {
		__builtin_trap();
	}
	msgpack_sbuffer_init(&sb2);
	msgpack_packer_init(&pk, &sb2, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	sfu_msg_pack_str(&pk, "c");
	sfu_rtp_capabilities_pack(&fuzz_caps2, &pk);
	if (sb.size != sb2.size || memcmp(sb.data, sb2.data, sb.size) != 0) {
		__builtin_trap();
	}
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);
	msgpack_sbuffer_destroy(&sb2);
}

/* Router capabilities: unique payload types, RTX right after video. */
static void
fuzz_check_router(const struct sfu_rtp_capabilities *r)
{
	bool seen[128];
	const struct sfu_rtp_codec_capability *c = NULL;
	const struct sfu_rtp_param *apt = NULL;
	unsigned i = 0;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < r->codec_count; i++) {
		c = &r->codecs[i];
		if (!c->has_preferred_payload_type ||
		    c->preferred_payload_type > 127 ||
		    seen[c->preferred_payload_type]) {
			__builtin_trap();
		}
		seen[c->preferred_payload_type] = true;
		if (c->kind == SFU_MEDIA_VIDEO &&
		    !sfu_rtp_codec_is_rtx(c->mime_type)) {
			if (i + 1 >= r->codec_count ||
			    !sfu_rtp_codec_is_rtx(r->codecs[i + 1].mime_type)) {
				__builtin_trap();
			}
			apt = sfu_rtp_params_get(
			    &r->codecs[i + 1].parameters, "apt");
			if (apt == NULL ||
			    apt->num != c->preferred_payload_type) {
				__builtin_trap();
			}
		}
	}
}

/* Consumer parameters: a media codec first, one encoding, fresh SSRCs. */
static void
fuzz_check_consumer(const struct sfu_rtp_parameters *c)
{
	const struct sfu_rtp_encoding *e = &c->encodings[0];

	if (c->codec_count == 0 ||
	    sfu_rtp_codec_is_rtx(c->codecs[0].mime_type) ||
	    c->encoding_count != 1 || !e->has_ssrc || e->ssrc == 0 ||
	    (e->has_rtx && e->rtx_ssrc != e->ssrc + 1)) {
		__builtin_trap();
	}
}

static void
fuzz_produce_and_consume(bool have_caps)
{
	struct sfu_error err;
	enum sfu_media_kind kind = SFU_MEDIA_AUDIO;
	unsigned i = 0;
	unsigned j = 0;
	bool can = false;
	int r = 0;

	r = sfu_ortc_producer_mapping(
	    &fuzz_params, &fuzz_router, &fuzz_mapping, &err);
	if (r != 0) {
		if (err.kind != SFU_ERR_UNSUPPORTED &&
		    err.kind != SFU_ERR_TYPE) {
			__builtin_trap();
		}
		return;
	}
	if (fuzz_mapping.codec_count != fuzz_params.codec_count ||
	    fuzz_mapping.encoding_count != fuzz_params.encoding_count) {
		__builtin_trap();
	}
	for (i = 0; i < fuzz_mapping.encoding_count; i++) {
		if (fuzz_mapping.encodings[i].mapped_ssrc == 0) {
			__builtin_trap();
		}
		for (j = 0; j < i; j++) {
			if (fuzz_mapping.encodings[i].mapped_ssrc ==
			    fuzz_mapping.encodings[j].mapped_ssrc) {
				__builtin_trap();
			}
		}
	}

	for (i = 0; i < fuzz_params.codec_count; i++) {
		if (!sfu_rtp_codec_is_rtx(fuzz_params.codecs[i].mime_type)) {
			sfu_rtp_mime_kind(
			    fuzz_params.codecs[i].mime_type, &kind);
			break;
		}
	}
	r = sfu_ortc_consumable_parameters(kind, &fuzz_params, &fuzz_router,
	    &fuzz_mapping, &fuzz_consumable, &err);
	if (r != 0) {
		if (err.kind != SFU_ERR_TYPE) {
			__builtin_trap();
		}
		return;
	}

	/* Consumable parameters are valid parameters the router can feed. */
	fuzz_params_round_trip(&fuzz_consumable);
	if (!sfu_ortc_can_consume(&fuzz_consumable, &fuzz_router)) {
		__builtin_trap();
	}
	if (sfu_ortc_consumer_parameters(
	        &fuzz_consumable, &fuzz_router, &fuzz_consumer, &err) != 0) {
		__builtin_trap();
	}
	fuzz_check_consumer(&fuzz_consumer);
	fuzz_params_round_trip(&fuzz_consumer);

	if (!have_caps) {
		return;
	}
	can = sfu_ortc_can_consume(&fuzz_consumable, &fuzz_caps);
	r = sfu_ortc_consumer_parameters(
	    &fuzz_consumable, &fuzz_caps, &fuzz_consumer, &err);
	if (r != 0) {
		if (can || err.kind != SFU_ERR_UNSUPPORTED) {
			__builtin_trap();
		}
		return;
	}
	fuzz_check_consumer(&fuzz_consumer);
	fuzz_params_round_trip(&fuzz_consumer);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sfu_msg m;
	struct sfu_error err;
	const msgpack_object *o = NULL;
	bool have_caps = false;
	int r = 0;

	if (!fuzz_ready) {
		fuzz_build_router();
		fuzz_ready = true;
	}
	if (sfu_msg_decode(&m, data, size, &err) != 0) {
		sfu_msg_release(&m);
		return 0;
	}

	o = sfu_msg_map_get(m.root, "rtpCapabilities");
	if (o != NULL) {
		r = sfu_rtp_capabilities_read(
		    o, "data.rtpCapabilities", &fuzz_caps, &err);
		if (r != 0) {
			fuzz_check_reader_error(&err, "data.rtpCapabilities");
		} else {
			have_caps = true;
			fuzz_caps_round_trip(&fuzz_caps);
			r = sfu_ortc_router_capabilities(fuzz_caps.codecs,
			    fuzz_caps.codec_count, &fuzz_media_router, &err);
			if (r == 0) {
				fuzz_check_router(&fuzz_media_router);
				fuzz_caps_round_trip(&fuzz_media_router);
			} else if (err.kind != SFU_ERR_TYPE &&
			           err.kind != SFU_ERR_UNSUPPORTED) {
				__builtin_trap();
			}
		}
	}

	o = sfu_msg_map_get(m.root, "rtpParameters");
	if (o != NULL) {
		r = sfu_rtp_parameters_read(
		    o, "data.rtpParameters", &fuzz_params, &err);
		if (r != 0) {
			fuzz_check_reader_error(&err, "data.rtpParameters");
		} else {
			fuzz_params_round_trip(&fuzz_params);
			fuzz_produce_and_consume(have_caps);
		}
	}
	sfu_msg_release(&m);
	return 0;
}
