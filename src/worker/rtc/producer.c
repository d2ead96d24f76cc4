/*
 * SPDX-License-Identifier: MIT
 *
 * Producer: validates transport.produce, receives its remote's RTP (one
 * receive stream per encoding), rewrites each packet into router space
 * (mapped payload type and SSRC, the router's header extension ids) and
 * hands it to its consumers; answers key frame requests with PLI or FIR
 * towards the remote; reports RR blocks and scores.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define SFU_LOG_MODULE "producer"
#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "common/uuid.h"
#include "worker/channel/channel_request.h"
#include "worker/channel/notifier.h"
#include "worker/channel/registry.h"
#include "worker/rtc/codecs.h"
#include "worker/rtc/consumer.h"
#include "worker/rtc/ortc.h"
#include "worker/rtc/producer.h"
#include "worker/rtc/router.h"
#include "worker/rtc/rtc_ctx.h"
#include "worker/rtc/rtcp_packet.h"
#include "worker/rtc/rtp_packet.h"
#include "worker/rtc/rtp_stream.h"
#include "worker/rtc/srtp_session.h"
#include "worker/rtc/transport.h"

/* Key frame requests towards the remote: at most one per this period. */
#define PRODUCER_KEY_FRAME_INTERVAL_US	500000

struct producer_encoding {
	bool			 has_ssrc;	/* known (signalled or learnt) */
	uint32_t		 ssrc;
	bool			 has_rtx;
	uint32_t		 rtx_ssrc;
	char			 rid[SFU_RTP_RID_LEN];
	uint32_t		 mapped_ssrc;
	struct sfu_rtp_stream_recv stream;
	bool			 stream_init;
	uint8_t			 score;
	uint64_t		 last_key_frame_request_us;
	uint8_t			 fir_seq;
};

struct producer_codec {
	uint8_t			 payload_type;	/* the producer's */
	uint8_t			 mapped_payload_type;
	uint32_t		 clock_rate;
	enum sfu_codec_id	 codec;
	bool			 is_rtx;
	bool			 pli;		/* remote takes PLI */
	bool			 fir;		/* remote takes FIR */
};

struct sfu_producer {
	char			 id[SFU_MSG_ID_MAX];
	struct sfu_rtc_ctx	*ctx;		/* borrowed */
	struct sfu_transport	*transport;	/* borrowed: our owner */
	enum sfu_media_kind	 kind;
	struct sfu_rtp_parameters *params;	/* owned */
	struct sfu_rtp_parameters *consumable;	/* owned */
	struct sfu_rtp_mapping	 mapping;
	struct producer_encoding encodings[SFU_RTP_MAX_ENCODINGS];
	unsigned		 encoding_count;
	struct producer_codec	 codecs[SFU_RTP_MAX_CODECS];
	unsigned		 codec_count;
	uint8_t			 ext_map[256];	/* our id -> router id, 0 drop */
	uint8_t			 rid_ext_id;	/* the remote's RID id, 0 */
	uint8_t			 mid_ext_id;	/* the remote's MID id, 0 */
	const char		*type;		/* simple, simulcast, svc */
	bool			 paused;
	bool			 registered;
	bool			 in_router;
	struct sfu_consumer	**consumers;	/* borrowed pointers */
	unsigned		 consumer_count;
	unsigned		 consumer_cap;
	uint64_t		 packets_dropped; /* unknown pt, invalid */
};

static bool
producer_has_feedback(const struct sfu_rtp_codec *c, const char *type,
    const char *param)
{
	unsigned i = 0;

	for (i = 0; i < c->rtcp_feedback_count; i++) {
		if (strcmp(c->rtcp_feedback[i].type, type) == 0 &&
		    strcmp(c->rtcp_feedback[i].parameter, param) == 0) {
			return true;
		}
	}
	return false;
}

/* --- creation --- */

static int
producer_read(struct sfu_producer *p, const msgpack_object *data,
    struct sfu_error *err)
{
	const msgpack_object *rp = NULL;
	char kind[8];

	if (sfu_msg_get_strbuf(data, "data", "producerId", SFU_MSG_REQUIRED,
	    p->id, sizeof(p->id), err) != 1 ||
	    sfu_msg_get_strbuf(data, "data", "kind", SFU_MSG_REQUIRED, kind,
	    sizeof(kind), err) != 1 ||
	    sfu_msg_get_map(data, "data", "rtpParameters", SFU_MSG_REQUIRED,
	    &rp, err) != 1 ||
	    sfu_msg_get_bool(data, "data", "paused", SFU_MSG_OPTIONAL,
	    &p->paused, err) == -1) {
		return -1;
	}
	if (strcmp(kind, "audio") == 0) {
		p->kind = SFU_MEDIA_AUDIO;
	} else if (strcmp(kind, "video") == 0) {
		p->kind = SFU_MEDIA_VIDEO;
	} else {
		sfu_error_set(err, SFU_ERR_TYPE, "data.kind: expected "
		    "\"audio\" or \"video\", got '%s'", kind);
		return -1;
	}
	return sfu_rtp_parameters_read(rp, "data.rtpParameters", p->params,
	    err);
}

static int
producer_setup_codecs(struct sfu_producer *p, struct sfu_error *err)
{
	const struct sfu_rtp_codec *c = NULL;
	struct producer_codec *pc = NULL;
	enum sfu_media_kind kind = SFU_MEDIA_AUDIO;
	unsigned i = 0;
	unsigned j = 0;

	for (i = 0; i < p->params->codec_count; i++) {
		c = &p->params->codecs[i];
		if (!sfu_rtp_mime_kind(c->mime_type, &kind) ||
		    kind != p->kind) {
			sfu_error_set(err, SFU_ERR_TYPE, "data.rtpParameters."
			    "codecs[%u].mimeType: '%s' is not a %s codec", i,
			    c->mime_type, sfu_media_kind_name(p->kind));
			return -1;
		}
		pc = &p->codecs[p->codec_count++];
		pc->payload_type = c->payload_type;
		pc->clock_rate = c->clock_rate;
		pc->codec = sfu_codec_from_mime(c->mime_type);
		pc->is_rtx = sfu_rtp_codec_is_rtx(c->mime_type);
		pc->pli = producer_has_feedback(c, "nack", "pli");
		pc->fir = producer_has_feedback(c, "ccm", "fir");
		pc->mapped_payload_type = c->payload_type;
		for (j = 0; j < p->mapping.codec_count; j++) {
			if (p->mapping.codecs[j].payload_type ==
			    c->payload_type) {
				pc->mapped_payload_type =
				    p->mapping.codecs[j].mapped_payload_type;
			}
		}
	}
	return 0;
}

static void
producer_setup_extensions(struct sfu_producer *p)
{
	const struct sfu_rtp_capabilities *caps = NULL;
	const struct sfu_rtp_header_extension *e = NULL;
	const struct sfu_rtp_header_extension_capability *ce = NULL;
	unsigned i = 0;
	unsigned j = 0;

	caps = sfu_router_capabilities(sfu_transport_router(p->transport));
	memset(p->ext_map, 0, sizeof(p->ext_map));
	for (i = 0; i < p->params->header_extension_count; i++) {
		e = &p->params->header_extensions[i];
		if (strcmp(e->uri,
		    "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id") == 0) {
			p->rid_ext_id = e->id;
		} else if (strcmp(e->uri,
		    "urn:ietf:params:rtp-hdrext:sdes:mid") == 0) {
			p->mid_ext_id = e->id;
		}
		for (j = 0; j < caps->header_extension_count; j++) {
			ce = &caps->header_extensions[j];
			if (strcmp(ce->uri, e->uri) == 0 &&
			    (!ce->has_kind || ce->kind == p->kind)) {
				p->ext_map[e->id] = ce->preferred_id;
				break;
			}
		}
	}
}

static void
producer_setup_encodings(struct sfu_producer *p)
{
	const struct sfu_rtp_encoding *e = NULL;
	struct producer_encoding *pe = NULL;
	unsigned i = 0;

	p->encoding_count = p->params->encoding_count;
	for (i = 0; i < p->encoding_count; i++) {
		e = &p->params->encodings[i];
		pe = &p->encodings[i];
		pe->has_ssrc = e->has_ssrc;
		pe->ssrc = e->ssrc;
		pe->has_rtx = e->has_rtx;
		pe->rtx_ssrc = e->rtx_ssrc;
		memcpy(pe->rid, e->rid, sizeof(pe->rid));
		pe->mapped_ssrc = i < p->mapping.encoding_count ?
		    p->mapping.encodings[i].mapped_ssrc : sfu_random_u32();
		pe->score = 0;
	}

	/* mediasoup: simulcast with several encodings, svc with layers. */
	if (p->encoding_count > 1) {
		p->type = "simulcast";
	} else if (p->encoding_count == 1 &&
	    p->params->encodings[0].scalability_mode[0] != '\0' &&
	    strncmp(p->params->encodings[0].scalability_mode, "L1T", 3) !=
	    0) {
		p->type = "svc";
	} else {
		p->type = "simple";
	}
}

struct sfu_producer *
sfu_producer_new(struct sfu_rtc_ctx *ctx, struct sfu_transport *transport,
    const msgpack_object *data, struct sfu_error *err)
{
	struct sfu_producer *p = NULL;
	const struct sfu_rtp_capabilities *caps = NULL;
	struct sfu_router *router = sfu_transport_router(transport);

	p = sfu_xcalloc(1, sizeof(*p));
	p->ctx = ctx;
	p->transport = transport;
	p->params = sfu_xcalloc(1, sizeof(*p->params));
	p->consumable = sfu_xcalloc(1, sizeof(*p->consumable));
	if (producer_read(p, data, err) == -1) {
		goto fail;
	}
	if (p->params->encoding_count == 0) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "data.rtpParameters.encodings: at least one encoding");
		goto fail;
	}
	caps = sfu_router_capabilities(router);
	if (sfu_ortc_producer_mapping(p->params, caps, &p->mapping, err) ==
	    -1 ||
	    sfu_ortc_consumable_parameters(p->kind, p->params, caps,
	    &p->mapping, p->consumable, err) == -1) {
		goto fail;
	}
	if (producer_setup_codecs(p, err) == -1) {
		goto fail;
	}
	producer_setup_extensions(p);
	producer_setup_encodings(p);
	if (sfu_router_find_producer(router, p->id) != NULL) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "data.producerId: a producer with id '%s' already exists",
		    p->id);
		goto fail;
	}
	if (sfu_registry_add(ctx->registry, p->id,
	    sfu_producer_handle_request, p, err) == -1) {
		sfu_error_prefix(err, "data.producerId: ");
		goto fail;
	}
	p->registered = true;
	if (sfu_router_add_producer(router, p, err) == -1) {
		goto fail;
	}
	p->in_router = true;
	SFU_LOG_DEBUG("producer created [id:%s kind:%s type:%s encodings:%u]",
	    p->id, sfu_media_kind_name(p->kind), p->type, p->encoding_count);
	return p;
fail:
	sfu_producer_free(p);
	return NULL;
}

void
sfu_producer_free(struct sfu_producer *p)
{
	struct sfu_consumer *c = NULL;

	if (p == NULL) {
		return;
	}

	/* Each consumer closes and detaches itself (shrinking our list). */
	while (p->consumer_count > 0) {
		c = p->consumers[p->consumer_count - 1];
		sfu_consumer_on_producer_closed(c);
		if (p->consumer_count > 0 &&
		    p->consumers[p->consumer_count - 1] == c) {
			p->consumer_count--;	/* it did not detach */
		}
	}
	if (p->in_router) {
		sfu_router_remove_producer(sfu_transport_router(p->transport),
		    p);
	}
	if (p->registered) {
		sfu_registry_remove(p->ctx->registry, p->id);
	}
	free(p->consumers);
	free(p->params);
	free(p->consumable);
	free(p);
}

/* --- accessors --- */

const char *
sfu_producer_id(const struct sfu_producer *p)
{
	return p->id;
}

enum sfu_media_kind
sfu_producer_kind(const struct sfu_producer *p)
{
	return p->kind;
}

bool
sfu_producer_paused(const struct sfu_producer *p)
{
	return p->paused;
}

uint8_t
sfu_producer_score(const struct sfu_producer *p)
{
	uint8_t best = 0;
	unsigned i = 0;

	for (i = 0; i < p->encoding_count; i++) {
		if (p->encodings[i].score > best) {
			best = p->encodings[i].score;
		}
	}
	return best;
}

const struct sfu_rtp_parameters *
sfu_producer_consumable(const struct sfu_producer *p)
{
	return p->consumable;
}

struct sfu_transport *
sfu_producer_transport(const struct sfu_producer *p)
{
	return p->transport;
}

void
sfu_producer_recv_ext_ids(const struct sfu_producer *p, uint8_t *mid,
    uint8_t *rid)
{
	*mid = p->mid_ext_id;
	*rid = p->rid_ext_id;
}

const char *
sfu_producer_mid(const struct sfu_producer *p)
{
	return p->params->mid;
}

unsigned
sfu_producer_ssrcs(const struct sfu_producer *p, uint32_t *out, unsigned max)
{
	unsigned n = 0;
	unsigned i = 0;

	for (i = 0; i < p->encoding_count && n < max; i++) {
		if (p->encodings[i].has_ssrc) {
			out[n++] = p->encodings[i].ssrc;
		}
		if (p->encodings[i].has_rtx && n < max) {
			out[n++] = p->encodings[i].rtx_ssrc;
		}
	}
	return n;
}

int
sfu_producer_match_ssrc(struct sfu_producer *p, uint32_t ssrc,
    const char *rid, bool *is_rtx)
{
	unsigned i = 0;

	*is_rtx = false;
	for (i = 0; i < p->encoding_count; i++) {
		if (p->encodings[i].has_ssrc && p->encodings[i].ssrc == ssrc) {
			return (int)i;
		}
		if (p->encodings[i].has_rtx &&
		    p->encodings[i].rtx_ssrc == ssrc) {
			*is_rtx = true;
			return (int)i;
		}
	}

	/* Learn: by RID, or the single encoding without a signalled SSRC. */
	for (i = 0; i < p->encoding_count; i++) {
		if (p->encodings[i].has_ssrc) {
			continue;
		}
		if ((rid != NULL && rid[0] != '\0' &&
		    strcmp(p->encodings[i].rid, rid) == 0) ||
		    (p->encoding_count == 1 && p->encodings[i].rid[0] ==
		    '\0')) {
			p->encodings[i].has_ssrc = true;
			p->encodings[i].ssrc = ssrc;
			return (int)i;
		}
	}
	return -1;
}

/* --- packets --- */

static struct producer_codec *
producer_find_codec(struct sfu_producer *p, uint8_t pt)
{
	unsigned i = 0;

	for (i = 0; i < p->codec_count; i++) {
		if (p->codecs[i].payload_type == pt) {
			return &p->codecs[i];
		}
	}
	return NULL;
}

void
sfu_producer_receive_rtp(struct sfu_producer *p, int encoding,
    struct sfu_rtp_packet *pkt)
{
	struct producer_encoding *pe = &p->encodings[encoding];
	struct producer_codec *pc = NULL;
	uint64_t now = sfu_clock_mono_us();
	bool keyframe = false;
	unsigned i = 0;

	pc = producer_find_codec(p, pkt->payload_type);
	if (pc == NULL || pc->is_rtx) {
		/*
		 * RTX only answers NACKs, which we do not send yet; an
		 * unknown payload type is the remote's mistake.
		 */
		p->packets_dropped++;
		return;
	}
	if (!pe->stream_init) {
		sfu_rtp_stream_recv_init(&pe->stream, pe->ssrc, pc->clock_rate,
		    p->kind == SFU_MEDIA_AUDIO ? SFU_RTP_STREAM_AUDIO :
		    SFU_RTP_STREAM_VIDEO);
		pe->stream_init = true;
	}
	if (!sfu_rtp_stream_recv_packet(&pe->stream, pkt->sequence_number,
	    pkt->timestamp, pkt->len, now)) {
		p->packets_dropped++;
		return;
	}
	if (p->paused || p->consumer_count == 0) {
		return;
	}
	if (p->kind == SFU_MEDIA_VIDEO) {
		keyframe = sfu_codec_is_keyframe(pc->codec,
		    sfu_rtp_packet_payload(pkt), pkt->payload_len);
	}

	/* Into router space: what every consumer starts from. */
	sfu_rtp_packet_set_ssrc(pkt, pe->mapped_ssrc);
	sfu_rtp_packet_set_payload_type(pkt, pc->mapped_payload_type);
	if (pkt->has_extension &&
	    sfu_rtp_packet_update_extension_ids(pkt, p->ext_map) == -1) {
		p->packets_dropped++;
		return;
	}
	for (i = 0; i < p->consumer_count; i++) {
		sfu_consumer_send_rtp(p->consumers[i], pkt, keyframe, now);
	}
}

void
sfu_producer_receive_sr(struct sfu_producer *p, uint32_t ssrc, uint64_t ntp,
    uint32_t rtp_ts, uint64_t now_us)
{
	unsigned i = 0;

	for (i = 0; i < p->encoding_count; i++) {
		if (p->encodings[i].stream_init &&
		    p->encodings[i].ssrc == ssrc) {
			sfu_rtp_stream_recv_on_sr(&p->encodings[i].stream, ntp,
			    rtp_ts, now_us);
		}
	}
}

/* Encodings that have received something (they have a stream). */
static unsigned
producer_stream_count(const struct sfu_producer *p)
{
	unsigned n = 0;
	unsigned i = 0;

	for (i = 0; i < p->encoding_count; i++) {
		n += p->encodings[i].stream_init ? 1 : 0;
	}
	return n;
}

static void
producer_emit_score(struct sfu_producer *p)
{
	msgpack_packer *pk = NULL;
	unsigned n = 0;
	unsigned i = 0;

	n = producer_stream_count(p);
	pk = sfu_notifier_begin(p->ctx->notifier, p->id, "producer.score");
	msgpack_pack_array(pk, n);
	for (i = 0; i < p->encoding_count; i++) {
		if (!p->encodings[i].stream_init) {
			continue;
		}
		msgpack_pack_map(pk, p->encodings[i].rid[0] != '\0' ? 4 : 3);
		sfu_msg_pack_kv_uint(pk, "encodingIdx", i);
		sfu_msg_pack_kv_uint(pk, "ssrc", p->encodings[i].ssrc);
		if (p->encodings[i].rid[0] != '\0') {
			sfu_msg_pack_kv_str(pk, "rid", p->encodings[i].rid);
		}
		sfu_msg_pack_kv_uint(pk, "score", p->encodings[i].score);
	}
	sfu_notifier_send(p->ctx->notifier);
}

unsigned
sfu_producer_rtcp_tick(struct sfu_producer *p, uint64_t now_us,
    struct sfu_rtcp_packet_report *blocks, unsigned max)
{
	struct producer_encoding *pe = NULL;
	struct sfu_rtp_report rep;
	bool changed = false;
	unsigned n = 0;
	unsigned i = 0;

	for (i = 0; i < p->encoding_count; i++) {
		pe = &p->encodings[i];
		if (!pe->stream_init) {
			continue;
		}
		if (n < max) {
			sfu_rtp_stream_recv_fill_report(&pe->stream, now_us,
			    &rep);
			blocks[n].ssrc = rep.ssrc;
			blocks[n].fraction_lost = rep.fraction_lost;
			blocks[n].cumulative_lost = rep.total_lost;
			blocks[n].highest_seq = rep.highest_seq;
			blocks[n].jitter = rep.jitter;
			blocks[n].lsr = rep.lsr;
			blocks[n].dlsr = rep.dlsr;
			n++;
		}
		sfu_rtp_stream_recv_update_score(&pe->stream, now_us);
		if (sfu_rtp_stream_recv_score_changed(&pe->stream)) {
			pe->score = sfu_rtp_stream_recv_score(&pe->stream);
			changed = true;
		}
	}
	if (changed) {
		producer_emit_score(p);
		for (i = 0; i < p->consumer_count; i++) {
			sfu_consumer_on_producer_score(p->consumers[i]);
		}
	}
	return n;
}

void
sfu_producer_request_key_frame_now(struct sfu_producer *p)
{
	unsigned i = 0;

	for (i = 0; i < p->encoding_count; i++) {
		p->encodings[i].last_key_frame_request_us = 0;
	}
	sfu_producer_request_key_frame(p);
}

void
sfu_producer_on_transport_connected(struct sfu_producer *p)
{
	if (p->consumer_count > 0) {
		sfu_producer_request_key_frame_now(p);
	}
}

void
sfu_producer_request_key_frame(struct sfu_producer *p)
{
	struct producer_encoding *pe = NULL;
	struct producer_codec *pc = NULL;
	uint8_t buf[64 + SFU_SRTP_MAX_TRAILER_LEN];
	uint64_t now = sfu_clock_mono_us();
	uint32_t me = sfu_transport_rtcp_ssrc(p->transport);
	size_t len = 0;
	unsigned i = 0;

	if (p->kind != SFU_MEDIA_VIDEO) {
		return;
	}

	/* The codec the remote sends with: the first non-RTX one. */
	for (i = 0; i < p->codec_count; i++) {
		if (!p->codecs[i].is_rtx) {
			pc = &p->codecs[i];
			break;
		}
	}
	if (pc == NULL || (!pc->pli && !pc->fir)) {
		return;
	}
	for (i = 0; i < p->encoding_count; i++) {
		pe = &p->encodings[i];
		if (!pe->has_ssrc || (pe->last_key_frame_request_us != 0 &&
		    now - pe->last_key_frame_request_us <
		    PRODUCER_KEY_FRAME_INTERVAL_US)) {
			continue;
		}
		pe->last_key_frame_request_us = now;
		if (pc->pli) {
			len = sfu_rtcp_packet_build_pli(buf, 64, me, pe->ssrc);
		} else {
			len = sfu_rtcp_packet_build_fir(buf, 64, me, pe->ssrc,
			    pe->fir_seq++);
		}
		if (len > 0) {
			SFU_LOG_DEBUG_TAG(RTCP, "key frame request [producer:%s "
			    "ssrc:%u %s]", p->id, pe->ssrc,
			    pc->pli ? "PLI" : "FIR");
			sfu_transport_send_rtcp(p->transport, buf, len,
			    sizeof(buf));
		}
	}
}

/* --- consumers --- */

void
sfu_producer_add_consumer(struct sfu_producer *p, struct sfu_consumer *c)
{
	if (p->consumer_count == p->consumer_cap) {
		p->consumer_cap = p->consumer_cap == 0 ? 8 :
		    p->consumer_cap * 2;
		p->consumers = sfu_xreallocarray(p->consumers, p->consumer_cap,
		    sizeof(*p->consumers));
	}
	p->consumers[p->consumer_count++] = c;
}

void
sfu_producer_remove_consumer(struct sfu_producer *p, struct sfu_consumer *c)
{
	unsigned i = 0;

	for (i = 0; i < p->consumer_count; i++) {
		if (p->consumers[i] == c) {
			p->consumers[i] = p->consumers[--p->consumer_count];
			return;
		}
	}
}

/* --- requests --- */

static void
producer_pack_mapping(const struct sfu_producer *p, msgpack_packer *pk)
{
	const struct sfu_rtp_mapping_encoding *e = NULL;
	unsigned i = 0;

	msgpack_pack_map(pk, 2);
	sfu_msg_pack_str(pk, "codecs");
	msgpack_pack_array(pk, p->mapping.codec_count);
	for (i = 0; i < p->mapping.codec_count; i++) {
		msgpack_pack_map(pk, 2);
		sfu_msg_pack_kv_uint(pk, "payloadType",
		    p->mapping.codecs[i].payload_type);
		sfu_msg_pack_kv_uint(pk, "mappedPayloadType",
		    p->mapping.codecs[i].mapped_payload_type);
	}
	sfu_msg_pack_str(pk, "encodings");
	msgpack_pack_array(pk, p->mapping.encoding_count);
	for (i = 0; i < p->mapping.encoding_count; i++) {
		e = &p->mapping.encodings[i];
		msgpack_pack_map(pk, 1 + (e->has_ssrc ? 1 : 0) +
		    (e->rid[0] != '\0' ? 1 : 0) +
		    (e->scalability_mode[0] != '\0' ? 1 : 0));
		if (e->has_ssrc) {
			sfu_msg_pack_kv_uint(pk, "ssrc", e->ssrc);
		}
		if (e->rid[0] != '\0') {
			sfu_msg_pack_kv_str(pk, "rid", e->rid);
		}
		if (e->scalability_mode[0] != '\0') {
			sfu_msg_pack_kv_str(pk, "scalabilityMode",
			    e->scalability_mode);
		}
		sfu_msg_pack_kv_uint(pk, "mappedSsrc", e->mapped_ssrc);
	}
}

static void
producer_pack_score(const struct sfu_producer *p, msgpack_packer *pk)
{
	unsigned n = 0;
	unsigned i = 0;

	n = producer_stream_count(p);
	msgpack_pack_array(pk, n);
	for (i = 0; i < p->encoding_count; i++) {
		if (!p->encodings[i].stream_init) {
			continue;
		}
		msgpack_pack_map(pk, 3);
		sfu_msg_pack_kv_uint(pk, "encodingIdx", i);
		sfu_msg_pack_kv_uint(pk, "ssrc", p->encodings[i].ssrc);
		sfu_msg_pack_kv_uint(pk, "score", p->encodings[i].score);
	}
}

void
sfu_producer_pack_created(const struct sfu_producer *p, msgpack_packer *pk)
{
	msgpack_pack_map(pk, 8);
	sfu_msg_pack_kv_str(pk, "id", p->id);
	sfu_msg_pack_kv_str(pk, "kind", sfu_media_kind_name(p->kind));
	sfu_msg_pack_kv_str(pk, "type", p->type);
	sfu_msg_pack_str(pk, "rtpParameters");
	sfu_rtp_parameters_pack(p->params, pk);
	sfu_msg_pack_str(pk, "consumableRtpParameters");
	sfu_rtp_parameters_pack(p->consumable, pk);
	sfu_msg_pack_str(pk, "rtpMapping");
	producer_pack_mapping(p, pk);
	sfu_msg_pack_kv_bool(pk, "paused", p->paused);
	sfu_msg_pack_str(pk, "score");
	producer_pack_score(p, pk);
}

static void
producer_dump(struct sfu_producer *p, struct sfu_channel_request *req)
{
	const struct producer_encoding *pe = NULL;
	msgpack_packer *pk = NULL;
	unsigned n = 0;
	unsigned i = 0;

	n = producer_stream_count(p);
	pk = sfu_channel_request_begin_data(req);
	msgpack_pack_map(pk, 8);
	sfu_msg_pack_kv_str(pk, "id", p->id);
	sfu_msg_pack_kv_str(pk, "kind", sfu_media_kind_name(p->kind));
	sfu_msg_pack_kv_str(pk, "type", p->type);
	sfu_msg_pack_str(pk, "rtpParameters");
	sfu_rtp_parameters_pack(p->params, pk);
	sfu_msg_pack_str(pk, "rtpMapping");
	producer_pack_mapping(p, pk);
	sfu_msg_pack_str(pk, "rtpStreams");
	msgpack_pack_array(pk, n);
	for (i = 0; i < p->encoding_count; i++) {
		pe = &p->encodings[i];
		if (!pe->stream_init) {
			continue;
		}
		msgpack_pack_map(pk, 4);
		sfu_msg_pack_kv_uint(pk, "ssrc", pe->ssrc);
		sfu_msg_pack_kv_uint(pk, "mappedSsrc", pe->mapped_ssrc);
		sfu_msg_pack_kv_uint(pk, "packetCount",
		    sfu_rtp_stream_recv_packet_count(&pe->stream));
		sfu_msg_pack_kv_uint(pk, "score", pe->score);
	}
	sfu_msg_pack_kv_bool(pk, "paused", p->paused);
	sfu_msg_pack_str(pk, "traceEventTypes");
	msgpack_pack_array(pk, 0);
	sfu_channel_request_accept_data(req);
}

static const char *
producer_mime(const struct sfu_producer *p, uint32_t ssrc)
{
	(void)ssrc;
	return p->params->codec_count > 0 ? p->params->codecs[0].mime_type :
	    "";
}

static void
producer_get_stats(struct sfu_producer *p, struct sfu_channel_request *req)
{
	struct producer_encoding *pe = NULL;
	msgpack_packer *pk = NULL;
	uint64_t now = sfu_clock_mono_us();
	unsigned n = 0;
	unsigned i = 0;

	n = producer_stream_count(p);
	pk = sfu_channel_request_begin_data(req);
	msgpack_pack_array(pk, n);
	for (i = 0; i < p->encoding_count; i++) {
		pe = &p->encodings[i];
		if (!pe->stream_init) {
			continue;
		}
		msgpack_pack_map(pk, pe->rid[0] != '\0' ? 15 : 14);
		sfu_msg_pack_kv_str(pk, "type", "inbound-rtp");
		sfu_msg_pack_kv_uint(pk, "timestamp", sfu_clock_wall_ms());
		sfu_msg_pack_kv_uint(pk, "ssrc", pe->ssrc);
		if (pe->rid[0] != '\0') {
			sfu_msg_pack_kv_str(pk, "rid", pe->rid);
		}
		sfu_msg_pack_kv_str(pk, "kind", sfu_media_kind_name(p->kind));
		sfu_msg_pack_kv_str(pk, "mimeType", producer_mime(p, pe->ssrc));
		sfu_msg_pack_kv_int(pk, "packetsLost",
		    sfu_rtp_stream_recv_packets_lost(&pe->stream));
		sfu_msg_pack_kv_uint(pk, "fractionLost",
		    sfu_rtp_stream_recv_fraction_lost(&pe->stream));
		sfu_msg_pack_kv_uint(pk, "packetsDiscarded",
		    pe->stream.packets_discarded);
		sfu_msg_pack_kv_uint(pk, "packetCount",
		    sfu_rtp_stream_recv_packet_count(&pe->stream));
		sfu_msg_pack_kv_uint(pk, "byteCount",
		    sfu_rtp_stream_recv_byte_count(&pe->stream));
		sfu_msg_pack_kv_uint(pk, "bitrate",
		    sfu_rtp_stream_recv_bitrate(&pe->stream, now));
		sfu_msg_pack_kv_uint(pk, "jitter",
		    sfu_rtp_stream_recv_jitter(&pe->stream));
		sfu_msg_pack_kv_uint(pk, "score", pe->score);
		sfu_msg_pack_kv_uint(pk, "packetsDropped", p->packets_dropped);
	}
	sfu_channel_request_accept_data(req);
}

static void
producer_set_paused(struct sfu_producer *p, bool paused)
{
	unsigned i = 0;

	if (p->paused == paused) {
		return;
	}
	p->paused = paused;
	for (i = 0; i < p->consumer_count; i++) {
		sfu_consumer_on_producer_paused(p->consumers[i], paused);
	}
	if (!paused) {
		sfu_producer_request_key_frame(p);
	}
}

void
sfu_producer_handle_request(void *ctx, struct sfu_channel_request *req)
{
	struct sfu_producer *p = ctx;
	const char *m = req->env.method;

	if (strcmp(m, "producer.dump") == 0) {
		producer_dump(p, req);
	} else if (strcmp(m, "producer.getStats") == 0) {
		producer_get_stats(p, req);
	} else if (strcmp(m, "producer.pause") == 0) {
		producer_set_paused(p, true);
		sfu_channel_request_accept(req);
	} else if (strcmp(m, "producer.resume") == 0) {
		producer_set_paused(p, false);
		sfu_channel_request_accept(req);
	} else if (strcmp(m, "producer.close") == 0) {
		sfu_channel_request_accept(req);
		sfu_transport_close_producer(p->transport, p);
	} else if (strcmp(m, "producer.enableTraceEvent") == 0) {
		sfu_channel_request_error(req, SFU_ERR_UNSUPPORTED,
		    "trace events are not implemented yet");
	} else {
		sfu_channel_request_error(req, SFU_ERR_ERROR,
		    "unknown method '%s'", m);
	}
}
