/*
 * SPDX-License-Identifier: MIT
 *
 * Simple consumer: forwards one producer's stream with its own SSRC,
 * sequence numbers and timestamps (continuous across pause, resume and
 * restarts: a new segment starts where the last one ended), its own MID
 * and only the header extensions it negotiated. Video restarts wait for a
 * key frame (and ask the producer for one). Sends SRs, reads RRs, keeps a
 * score.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SFU_LOG_MODULE "consumer"
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
#include "worker/rtc/transport.h"

#define CONSUMER_MID_URI "urn:ietf:params:rtp-hdrext:sdes:mid"
/* Packets into a segment after which late ones from before are impossible. */
#define CONSUMER_SYNC_WINDOW 1000

struct sfu_consumer {
	char			 id[SFU_MSG_ID_MAX];
	char			 producer_id[SFU_MSG_ID_MAX];
	struct sfu_rtc_ctx	*ctx;		/* borrowed */
	struct sfu_transport	*transport;	/* borrowed: our owner */
	struct sfu_producer	*producer;	/* borrowed, NULL once gone */
	enum sfu_media_kind	 kind;
	/*
	 * Our rtpParameters, packed once (consume response and dump) instead
	 * of a struct sfu_rtp_parameters (166 KiB of fixed-size arrays):
	 * they never change. The packet path reads the fields below.
	 */
	uint8_t			*params_msg;	/* owned: MessagePack */
	size_t			 params_msg_len;
	char			 mid[SFU_RTP_MID_LEN];
	char			 cname[SFU_RTP_CNAME_LEN];
	char			 mime_type[SFU_RTP_MIME_LEN]; /* first codec */
	uint32_t		 ssrc;
	uint32_t		 clock_rate;
	bool			 pt_ok[128];	/* payload types we send */
	bool			 ext_ok[256];	/* router ext ids negotiated */
	uint8_t			 mid_ext_id;	/* 0: no MID extension */
	bool			 paused;
	bool			 producer_paused;
	bool			 registered;
	uint32_t		 priority;

	/* sequence and timestamp rewriting */
	bool			 sync_required;
	bool			 has_sent;
	bool			 has_sync_seq;
	uint16_t		 sync_seq;	/* first input seq of segment */
	uint16_t		 seq_offset;
	uint32_t		 ts_offset;
	uint16_t		 last_seq;	/* last output seq */
	uint32_t		 last_ts;	/* last output ts */
	uint64_t		 last_sent_us;

	struct sfu_rtp_stream_send stream;
	uint8_t			 score;
	uint8_t			 last_producer_score;
	uint64_t		 packets_dropped;	/* waiting for key */
	uint64_t		 key_frame_requests;	/* PLI/FIR received */
	uint64_t		 nacks;
};

/* RFC 1982 serial number arithmetic for 16 bits. */
static bool
consumer_seq_lt(uint16_t a, uint16_t b)
{
	return a != b && (uint16_t)(b - a) < 0x8000;
}

static void
consumer_emit(struct sfu_consumer *c, const char *event)
{
	sfu_notifier_emit(c->ctx->notifier, c->id, event);
}

static void
consumer_pack_score(const struct sfu_consumer *c, msgpack_packer *pk)
{
	uint8_t ps = c->producer != NULL ? sfu_producer_score(c->producer) : 0;

	msgpack_pack_map(pk, 3);
	sfu_msg_pack_kv_uint(pk, "score", c->score);
	sfu_msg_pack_kv_uint(pk, "producerScore", ps);
	sfu_msg_pack_str(pk, "producerScores");
	msgpack_pack_array(pk, 1);
	msgpack_pack_uint8(pk, ps);
}

static void
consumer_emit_score(struct sfu_consumer *c)
{
	msgpack_packer *pk = NULL;

	pk = sfu_notifier_begin(c->ctx->notifier, c->id, "consumer.score");
	consumer_pack_score(c, pk);
	sfu_notifier_send(c->ctx->notifier);
}

static void
consumer_request_sync(struct sfu_consumer *c)
{
	c->sync_required = true;
	c->has_sync_seq = false;
	if (c->kind == SFU_MEDIA_VIDEO && c->producer != NULL &&
	    !c->paused && !c->producer_paused) {
		sfu_producer_request_key_frame(c->producer);
	}
}

/* --- creation --- */

/* What the packet path and the requests need from our parameters. */
static int
consumer_setup(struct sfu_consumer *c, const struct sfu_rtp_parameters *params,
    struct sfu_error *err)
{
	const struct sfu_rtp_codec *codec = NULL;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	unsigned i = 0;

	if (params->encoding_count == 0 || params->codec_count == 0) {
		sfu_error_set(err, SFU_ERR_UNSUPPORTED,
		    "no codec of the producer can be consumed");
		return -1;
	}
	c->ssrc = params->encodings[0].ssrc;
	for (i = 0; i < params->codec_count; i++) {
		codec = &params->codecs[i];
		c->pt_ok[codec->payload_type & 0x7f] = true;
		if (c->clock_rate == 0 && !sfu_rtp_codec_is_rtx(codec->mime_type)) {
			c->clock_rate = codec->clock_rate;
		}
	}
	for (i = 0; i < params->header_extension_count; i++) {
		c->ext_ok[params->header_extensions[i].id] = true;
		if (strcmp(params->header_extensions[i].uri,
		    CONSUMER_MID_URI) == 0) {
			c->mid_ext_id = params->header_extensions[i].id;
		}
	}
	snprintf(c->mid, sizeof(c->mid), "%s", params->mid);
	snprintf(c->cname, sizeof(c->cname), "%s", params->rtcp.cname);
	snprintf(c->mime_type, sizeof(c->mime_type), "%s",
	    params->codecs[0].mime_type);

	/* An sbuffer starts at 8 KiB: keep an exact copy. */
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sfu_rtp_parameters_pack(params, &pk);
	c->params_msg = sfu_xmalloc(sb.size);
	memcpy(c->params_msg, sb.data, sb.size);
	c->params_msg_len = sb.size;
	msgpack_sbuffer_destroy(&sb);
	sfu_rtp_stream_send_init(&c->stream, c->ssrc, c->clock_rate,
	    c->kind == SFU_MEDIA_AUDIO ? SFU_RTP_STREAM_AUDIO :
	    SFU_RTP_STREAM_VIDEO);
	c->score = sfu_rtp_stream_send_score(&c->stream);
	return 0;
}

struct sfu_consumer *
sfu_consumer_new(struct sfu_rtc_ctx *ctx, struct sfu_transport *transport,
    const msgpack_object *data, struct sfu_error *err)
{
	struct sfu_rtp_capabilities *caps = &ctx->consume_caps;
	struct sfu_rtp_parameters *params = &ctx->consume_params;
	struct sfu_consumer *c = NULL;
	struct sfu_producer *p = NULL;
	const msgpack_object *co = NULL;
	int r = 0;

	c = sfu_xcalloc(1, sizeof(*c));
	c->ctx = ctx;
	c->transport = transport;
	c->priority = 1;
	if (sfu_msg_get_strbuf(data, "data", "consumerId", SFU_MSG_REQUIRED,
	    c->id, sizeof(c->id), err) != 1 ||
	    sfu_msg_get_strbuf(data, "data", "producerId", SFU_MSG_REQUIRED,
	    c->producer_id, sizeof(c->producer_id), err) != 1 ||
	    sfu_msg_get_map(data, "data", "rtpCapabilities", SFU_MSG_REQUIRED,
	    &co, err) != 1 ||
	    sfu_msg_get_bool(data, "data", "paused", SFU_MSG_OPTIONAL,
	    &c->paused, err) == -1) {
		goto fail;
	}
	p = sfu_router_find_producer(sfu_transport_router(transport),
	    c->producer_id);
	if (p == NULL) {
		sfu_error_set(err, SFU_ERR_NOT_FOUND, "data.producerId: no "
		    "producer '%s' in this router", c->producer_id);
		goto fail;
	}
	if (sfu_rtp_capabilities_read(co, "data.rtpCapabilities", caps, err) ==
	    -1) {
		goto fail;
	}
	if (sfu_ortc_consumer_parameters(sfu_producer_consumable(p), caps,
	    params, err) == -1) {
		goto fail;
	}
	r = sfu_msg_get_strbuf(data, "data", "mid", SFU_MSG_OPTIONAL,
	    params->mid, sizeof(params->mid), err);
	if (r == -1) {
		goto fail;
	}
	if (r == 0) {
		/* mediasoup numbers a transport's consumers "0", "1", ... */
		snprintf(params->mid, sizeof(params->mid), "%u",
		    sfu_transport_next_mid(transport));
	}
	c->kind = sfu_producer_kind(p);
	if (consumer_setup(c, params, err) == -1) {
		goto fail;
	}
	if (sfu_registry_add(ctx->registry, c->id,
	    sfu_consumer_handle_request, c, err) == -1) {
		sfu_error_prefix(err, "data.consumerId: ");
		goto fail;
	}
	c->registered = true;
	c->producer = p;
	c->producer_paused = sfu_producer_paused(p);
	sfu_producer_add_consumer(p, c);
	consumer_request_sync(c);
	SFU_LOG_DEBUG("consumer created [id:%s producer:%s ssrc:%u mid:%s]",
	    c->id, c->producer_id, c->ssrc, c->mid);
	return c;
fail:
	sfu_consumer_free(c);
	return NULL;
}

void
sfu_consumer_free(struct sfu_consumer *c)
{
	if (c == NULL) {
		return;
	}
	if (c->producer != NULL) {
		sfu_producer_remove_consumer(c->producer, c);
		c->producer = NULL;
	}
	if (c->registered) {
		sfu_registry_remove(c->ctx->registry, c->id);
	}
	free(c->params_msg);
	free(c);
}

const char *
sfu_consumer_id(const struct sfu_consumer *c)
{
	return c->id;
}

uint32_t
sfu_consumer_ssrc(const struct sfu_consumer *c)
{
	return c->ssrc;
}

const char *
sfu_consumer_cname(const struct sfu_consumer *c)
{
	return c->cname;
}

struct sfu_producer *
sfu_consumer_producer(const struct sfu_consumer *c)
{
	return c->producer;
}

/* The 8 fields the consume response and the dump share. */
#define CONSUMER_COMMON_FIELDS 8

static void
consumer_pack_common(const struct sfu_consumer *c, msgpack_packer *pk)
{
	sfu_msg_pack_kv_str(pk, "id", c->id);
	sfu_msg_pack_kv_str(pk, "producerId", c->producer_id);
	sfu_msg_pack_kv_str(pk, "kind", sfu_media_kind_name(c->kind));
	sfu_msg_pack_kv_str(pk, "type", "simple");
	sfu_msg_pack_str(pk, "rtpParameters");
	pk->callback(pk->data, (const char *)c->params_msg, c->params_msg_len);
	sfu_msg_pack_kv_bool(pk, "paused", c->paused);
	sfu_msg_pack_kv_bool(pk, "producerPaused", c->producer_paused);
	sfu_msg_pack_str(pk, "score");
	consumer_pack_score(c, pk);
}

void
sfu_consumer_pack_created(const struct sfu_consumer *c, msgpack_packer *pk)
{
	msgpack_pack_map(pk, CONSUMER_COMMON_FIELDS);
	consumer_pack_common(c, pk);
}

/* --- the packet path --- */

/*
 * The extensions we send for pkt: the negotiated ones, in the packet's
 * order, with our MID (replacing the producer's or added). Values point
 * into pkt or into our MID. Returns how many, in keep[]; *changed tells
 * whether that differs from what pkt carries (a packet with no extension
 * element and no MID to add is left as it is).
 */
static size_t
consumer_keep_extensions(const struct sfu_consumer *c,
    const struct sfu_rtp_packet *pkt, struct sfu_rtp_packet_ext_value *keep,
    bool *changed)
{
	struct sfu_rtp_packet_ext_value in[SFU_RTP_PACKET_MAX_EXTENSIONS];
	const char *mid = c->mid;
	size_t n = 0;
	size_t k = 0;
	size_t i = 0;
	bool has_mid = false;

	n = sfu_rtp_packet_list_extensions(pkt, in,
	    SFU_RTP_PACKET_MAX_EXTENSIONS);
	for (i = 0; i < n; i++) {
		if (!c->ext_ok[in[i].id]) {
			continue;
		}
		keep[k] = in[i];
		if (in[i].id == c->mid_ext_id) {
			keep[k].value = (const uint8_t *)mid;
			keep[k].len = (uint8_t)strlen(mid);
			has_mid = true;
		}
		k++;
	}
	if (!has_mid && c->mid_ext_id != 0 && mid[0] != '\0' &&
	    k < SFU_RTP_PACKET_MAX_EXTENSIONS) {
		keep[k].id = c->mid_ext_id;
		keep[k].value = (const uint8_t *)mid;
		keep[k].len = (uint8_t)strlen(mid);
		k++;
	}
	*changed = !(k == n && !has_mid && n == 0);
	return k;
}

/*
 * Our copy of pkt in buf (SFU_RTC_PACKET_BUF bytes), rewritten in place:
 * for packets whose extension block is of a profile we do not index (it
 * is kept unless a MID must be added). Returns its length, 0 to drop.
 */
static size_t
consumer_write_copy(struct sfu_consumer *c, const struct sfu_rtp_packet *pkt,
    uint16_t seq, uint32_t ts, uint8_t *buf)
{
	struct sfu_rtp_packet_ext_value keep[SFU_RTP_PACKET_MAX_EXTENSIONS];
	struct sfu_rtp_packet out;
	bool changed = false;
	size_t k = 0;

	if (pkt->len > SFU_RTC_PACKET_BUF) {
		return 0;
	}
	memcpy(buf, pkt->data, pkt->len);
	if (sfu_rtp_packet_parse(&out, buf, pkt->len, SFU_RTC_PACKET_BUF) ==
	    -1) {
		return 0;
	}
	sfu_rtp_packet_set_ssrc(&out, c->ssrc);
	sfu_rtp_packet_set_sequence_number(&out, seq);
	sfu_rtp_packet_set_timestamp(&out, ts);
	if (out.has_extension || c->mid_ext_id != 0) {
		k = consumer_keep_extensions(c, &out, keep, &changed);
		if (changed &&
		    sfu_rtp_packet_rewrite_extensions(&out, keep, k) == -1) {
			return 0;
		}
	}
	return out.len;
}

/*
 * Our RTP header for pkt in buf (SFU_RTC_PACKET_BUF bytes): the producer's
 * header in router space with our SSRC, sequence number, timestamp and
 * extensions. The payload and padding stay in pkt: no copy per consumer.
 * Returns the header length, 0 to drop.
 */
static size_t
consumer_write_header(struct sfu_consumer *c, const struct sfu_rtp_packet *pkt,
    uint16_t seq, uint32_t ts, uint8_t *buf)
{
	struct sfu_rtp_packet_ext_value keep[SFU_RTP_PACKET_MAX_EXTENSIONS];
	uint32_t csrcs[SFU_RTP_PACKET_MAX_CSRC];
	struct sfu_rtp_packet_spec spec;
	bool changed = false;
	size_t hlen = 0;
	unsigned i = 0;

	memset(&spec, 0, sizeof(spec));
	spec.ext_count = consumer_keep_extensions(c, pkt, keep, &changed);
	spec.exts = keep;
	for (i = 0; i < pkt->csrc_count; i++) {
		csrcs[i] = sfu_rtp_packet_csrc(pkt, i);
	}
	spec.csrcs = csrcs;
	spec.csrc_count = pkt->csrc_count;
	spec.payload_type = pkt->payload_type;
	spec.marker = pkt->marker;
	spec.sequence_number = seq;
	spec.timestamp = ts;
	spec.ssrc = c->ssrc;
	spec.padding_len = pkt->padding_len;

	/* The bound sfu_rtp_packet_rewrite_extensions() puts on the block. */
	hlen = SFU_RTP_PACKET_HEADER_LEN + 4 * (size_t)pkt->csrc_count;
	return sfu_rtp_packet_write_header(buf,
	    hlen + SFU_RTP_PACKET_MAX_EXTENSION_BLOCK_LEN, &spec);
}

void
sfu_consumer_send_rtp(struct sfu_consumer *c, const struct sfu_rtp_packet *pkt,
    bool keyframe, uint64_t now_us)
{
	uint8_t *buf = c->ctx->scratch;
	const uint8_t *body = NULL;
	size_t body_len = 0;
	size_t hlen = 0;
	uint32_t expected_ts = 0;
	uint32_t elapsed = 0;
	uint16_t seq = 0;
	uint32_t ts = 0;
	if (c->paused || c->producer_paused ||
	    !c->pt_ok[pkt->payload_type & 0x7f]) {
		return;
	}
	if (c->sync_required) {
		if (!sfu_transport_is_connected(c->transport)) {
			/*
			 * Not even the key frame would arrive: keep waiting.
			 * (Once in sync, a transport that loses its remote
			 * drops what we send, and resyncs us when it is back:
			 * sfu_transport_connected().)
			 */
			return;
		}
		if (c->kind == SFU_MEDIA_VIDEO && !keyframe) {
			c->packets_dropped++;
			/*
			 * Media flows but no key frame came: ask again (the
			 * producer rate-limits to one per 500 ms). Senders
			 * such as libwebrtc ignore a request that follows
			 * another closely, so the first retry matters.
			 */
			sfu_producer_request_key_frame(c->producer);
			return;
		}

		/*
		 * A new segment: continue where the last one ended (or at
		 * random bases), so receivers see neither a sequence gap
		 * nor time running backwards.
		 */
		if (c->has_sent) {
			elapsed = (uint32_t)((now_us - c->last_sent_us) *
			    c->clock_rate / 1000000u);
			expected_ts = c->last_ts + (elapsed > 0 ? elapsed : 1);
			c->seq_offset = (uint16_t)(c->last_seq + 1 -
			    pkt->sequence_number);
		} else {
			expected_ts = sfu_random_u32();
			c->seq_offset = (uint16_t)(sfu_random_u32() -
			    pkt->sequence_number);
		}
		c->ts_offset = expected_ts - pkt->timestamp;
		c->sync_seq = pkt->sequence_number;
		c->has_sync_seq = true;
		c->sync_required = false;
	} else if (c->has_sync_seq) {
		if (consumer_seq_lt(pkt->sequence_number, c->sync_seq)) {
			/* Older than the segment: would land before our last. */
			c->packets_dropped++;
			return;
		}

		/*
		 * Once the segment is well under way nothing from before it
		 * can still arrive; stop comparing, or 16-bit wrap-around
		 * would make half of a long stream look "older".
		 */
		if ((uint16_t)(pkt->sequence_number - c->sync_seq) >
		    CONSUMER_SYNC_WINDOW) {
			c->has_sync_seq = false;
		}
	}
	seq = (uint16_t)(pkt->sequence_number + c->seq_offset);
	ts = pkt->timestamp + c->ts_offset;
	if (pkt->has_extension && pkt->ext_form == SFU_RTP_PACKET_EXT_OTHER) {
		hlen = consumer_write_copy(c, pkt, seq, ts, buf);
	} else {
		hlen = consumer_write_header(c, pkt, seq, ts, buf);
		body = pkt->data + pkt->header_len;
		body_len = pkt->len - pkt->header_len;
	}
	if (hlen == 0) {
		c->packets_dropped++;
		return;
	}
	if (!c->has_sent || consumer_seq_lt(c->last_seq, seq)) {
		c->last_seq = seq;
		c->last_ts = ts;
		c->last_sent_us = now_us;
	}
	c->has_sent = true;
	sfu_rtp_stream_send_packet(&c->stream, seq, ts, hlen + body_len,
	    now_us);
	if (body == NULL) {
		sfu_transport_send_rtp(c->transport, buf, hlen,
		    SFU_RTC_PACKET_BUF);
	} else {
		sfu_transport_send_rtp_parts(c->transport, buf, hlen,
		    SFU_RTC_PACKET_BUF, body, body_len);
	}
}

/* --- producer events --- */

void
sfu_consumer_on_producer_paused(struct sfu_consumer *c, bool paused)
{
	if (c->producer_paused == paused) {
		return;
	}
	c->producer_paused = paused;
	consumer_emit(c, paused ? "consumer.producerpause" :
	    "consumer.producerresume");
	if (!paused) {
		consumer_request_sync(c);
	}
}

void
sfu_consumer_on_transport_connected(struct sfu_consumer *c)
{
	c->sync_required = true;
	c->has_sync_seq = false;
	if (c->kind == SFU_MEDIA_VIDEO && c->producer != NULL &&
	    !c->paused && !c->producer_paused) {
		/* An earlier request's key frame could not reach us. */
		sfu_producer_request_key_frame_now(c->producer);
	}
}

void
sfu_consumer_on_producer_closed(struct sfu_consumer *c)
{
	if (c->producer != NULL) {
		sfu_producer_remove_consumer(c->producer, c);
		c->producer = NULL;
	}
	consumer_emit(c, "consumer.producerclose");

	/* Our transport unlinks and frees us: nothing after this. */
	sfu_transport_consumer_closed(c->transport, c);
}

void
sfu_consumer_on_producer_score(struct sfu_consumer *c)
{
	uint8_t ps = c->producer != NULL ? sfu_producer_score(c->producer) : 0;

	if (ps != c->last_producer_score) {
		c->last_producer_score = ps;
		consumer_emit_score(c);
	}
}

/* --- RTCP --- */

void
sfu_consumer_receive_rr(struct sfu_consumer *c,
    const struct sfu_rtcp_packet_report *report, uint64_t now_us)
{
	struct sfu_rtp_report rep;

	rep.ssrc = report->ssrc;
	rep.fraction_lost = report->fraction_lost;
	rep.total_lost = report->cumulative_lost;
	rep.highest_seq = report->highest_seq;
	rep.jitter = report->jitter;
	rep.lsr = report->lsr;
	rep.dlsr = report->dlsr;
	sfu_rtp_stream_send_on_rr(&c->stream, &rep, now_us,
	    sfu_ntp_from_wall_us(sfu_clock_wall_ms() * 1000u));
}

void
sfu_consumer_receive_key_frame_request(struct sfu_consumer *c, bool fir)
{
	(void)fir;
	c->key_frame_requests++;
	if (c->producer != NULL && !c->paused) {
		sfu_producer_request_key_frame(c->producer);
	}
}

void
sfu_consumer_receive_nack(struct sfu_consumer *c)
{
	/* XXX(#4): no retransmission buffer yet; NACKs are counted. */
	c->nacks++;
}

bool
sfu_consumer_rtcp_tick(struct sfu_consumer *c, uint64_t now_us,
    struct sfu_rtcp_packet_sr *sr)
{
	struct sfu_rtp_sr s;
	uint64_t ntp = sfu_ntp_from_wall_us(sfu_clock_wall_ms() * 1000u);
	bool ok = false;

	if (sfu_rtp_stream_send_score_changed(&c->stream)) {
		c->score = sfu_rtp_stream_send_score(&c->stream);
		consumer_emit_score(c);
	}
	/*
	 * Still waiting for a key frame a second later: the request or the
	 * key frame was lost (or rate-limited away), ask again, as
	 * mediasoup's KeyFrameRequestManager retries.
	 */
	if (c->sync_required && c->kind == SFU_MEDIA_VIDEO &&
	    c->producer != NULL && !c->paused && !c->producer_paused &&
	    sfu_transport_is_connected(c->transport)) {
		sfu_producer_request_key_frame(c->producer);
	}
	ok = sfu_rtp_stream_send_fill_sr(&c->stream, now_us, ntp, &s);
	if (!ok) {
		return false;
	}
	memset(sr, 0, sizeof(*sr));
	sr->ssrc = s.ssrc;
	sr->ntp = s.ntp;
	sr->rtp_timestamp = s.rtp_ts;
	sr->packet_count = s.packet_count;
	sr->octet_count = s.octet_count;
	return true;
}

/* --- requests --- */

static void
consumer_dump(struct sfu_consumer *c, struct sfu_channel_request *req)
{
	msgpack_packer *pk = NULL;

	pk = sfu_channel_request_begin_data(req);
	msgpack_pack_map(pk, CONSUMER_COMMON_FIELDS + 2);
	consumer_pack_common(c, pk);
	sfu_msg_pack_kv_uint(pk, "priority", c->priority);
	sfu_msg_pack_str(pk, "traceEventTypes");
	msgpack_pack_array(pk, 0);
	sfu_channel_request_accept_data(req);
}

static void
consumer_get_stats(struct sfu_consumer *c, struct sfu_channel_request *req)
{
	msgpack_packer *pk = NULL;
	uint64_t now = sfu_clock_mono_us();
	uint32_t rtt = 0;
	bool has_rtt = false;

	has_rtt = sfu_rtp_stream_send_rtt(&c->stream, &rtt);
	pk = sfu_channel_request_begin_data(req);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 14 + (has_rtt ? 1 : 0));
	sfu_msg_pack_kv_str(pk, "type", "outbound-rtp");
	sfu_msg_pack_kv_uint(pk, "timestamp", sfu_clock_wall_ms());
	sfu_msg_pack_kv_uint(pk, "ssrc", c->ssrc);
	sfu_msg_pack_kv_str(pk, "kind", sfu_media_kind_name(c->kind));
	sfu_msg_pack_kv_str(pk, "mimeType", c->mime_type);
	sfu_msg_pack_kv_int(pk, "packetsLost",
	    sfu_rtp_stream_send_packets_lost(&c->stream));
	sfu_msg_pack_kv_uint(pk, "fractionLost",
	    sfu_rtp_stream_send_fraction_lost(&c->stream));
	sfu_msg_pack_kv_uint(pk, "packetCount",
	    sfu_rtp_stream_send_packet_count(&c->stream));
	sfu_msg_pack_kv_uint(pk, "byteCount",
	    sfu_rtp_stream_send_byte_count(&c->stream));
	sfu_msg_pack_kv_uint(pk, "bitrate",
	    sfu_rtp_stream_send_bitrate(&c->stream, now));
	sfu_msg_pack_kv_uint(pk, "score", c->score);
	sfu_msg_pack_kv_uint(pk, "nackCount", c->nacks);
	sfu_msg_pack_kv_uint(pk, "pliCount", c->key_frame_requests);
	sfu_msg_pack_kv_uint(pk, "packetsDiscarded", c->packets_dropped);
	if (has_rtt) {
		sfu_msg_pack_kv_double(pk, "roundTripTime", rtt / 1000.0);
	}
	sfu_channel_request_accept_data(req);
}

void
sfu_consumer_handle_request(void *ctx, struct sfu_channel_request *req)
{
	struct sfu_consumer *c = ctx;
	struct sfu_error err = { 0 };
	msgpack_packer *pk = NULL;
	uint64_t prio = 0;
	const char *m = req->env.method;

	if (strcmp(m, "consumer.dump") == 0) {
		consumer_dump(c, req);
	} else if (strcmp(m, "consumer.getStats") == 0) {
		consumer_get_stats(c, req);
	} else if (strcmp(m, "consumer.pause") == 0) {
		c->paused = true;
		sfu_channel_request_accept(req);
	} else if (strcmp(m, "consumer.resume") == 0) {
		if (c->paused) {
			c->paused = false;
			consumer_request_sync(c);
		}
		sfu_channel_request_accept(req);
	} else if (strcmp(m, "consumer.requestKeyFrame") == 0) {
		if (c->producer != NULL) {
			sfu_producer_request_key_frame(c->producer);
		}
		sfu_channel_request_accept(req);
	} else if (strcmp(m, "consumer.setPriority") == 0) {
		if (sfu_msg_get_uint(req->env.data, "data", "priority",
		    SFU_MSG_REQUIRED, 255, &prio, &err) != 1 || prio == 0) {
			if (err.kind == SFU_ERR_NONE) {
				sfu_error_set(&err, SFU_ERR_TYPE,
				    "data.priority: expected 1..255");
			}
			sfu_channel_request_error_from(req, &err);
			return;
		}
		c->priority = (uint32_t)prio;
		pk = sfu_channel_request_begin_data(req);
		msgpack_pack_map(pk, 1);
		sfu_msg_pack_kv_uint(pk, "priority", c->priority);
		sfu_channel_request_accept_data(req);
	} else if (strcmp(m, "consumer.setPreferredLayers") == 0) {
		/* A simple consumer has one layer: nothing to choose. */
		sfu_channel_request_accept(req);
	} else if (strcmp(m, "consumer.close") == 0) {
		sfu_channel_request_accept(req);
		sfu_transport_close_consumer(c->transport, c);
	} else if (strcmp(m, "consumer.enableTraceEvent") == 0) {
		sfu_channel_request_error(req, SFU_ERR_UNSUPPORTED,
		    "trace events are not implemented yet");
	} else {
		sfu_channel_request_error(req, SFU_ERR_ERROR,
		    "unknown method '%s'", m);
	}
}
