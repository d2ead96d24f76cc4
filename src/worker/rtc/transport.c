/*
 * SPDX-License-Identifier: MIT
 *
 * The generic transport: producers and consumers it owns, the tables that
 * route received packets (SSRC -> producer encoding, MID -> producer,
 * consumer SSRC -> consumer for RTCP), the RTCP timer, stats and dump.
 * Tables are small arrays scanned linearly: a transport carries a handful
 * of streams, and a scan of a few entries beats hashing on the hot path.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define SFU_LOG_MODULE "transport"
#include "common/clock.h"
#include "common/handle/timer_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "common/strmap.h"
#include "common/uuid.h"
#include "worker/channel/channel_request.h"
#include "worker/channel/registry.h"
#include "worker/rtc/consumer.h"
#include "worker/rtc/producer.h"
#include "worker/rtc/router.h"
#include "worker/rtc/rtc_ctx.h"
#include "worker/rtc/rtcp_packet.h"
#include "worker/rtc/rtp_packet.h"
#include "worker/rtc/srtp_session.h"
#include "worker/rtc/transport.h"

#define TRANSPORT_RTCP_INTERVAL_MS	1000
#define TRANSPORT_RTCP_BUF		(1200 + SFU_SRTP_MAX_TRAILER_LEN)
#define TRANSPORT_CNAME			"sfud"

struct transport_ssrc {
	uint32_t		 ssrc;
	struct sfu_producer	*producer;	/* borrowed */
	int			 encoding;
	bool			 is_rtx;
};

struct transport_consumer_ssrc {
	uint32_t		 ssrc;
	struct sfu_consumer	*consumer;	/* borrowed */
};

struct sfu_transport {
	char			 id[SFU_MSG_ID_MAX];
	const char		*type;		/* static: "plain" ... */
	struct sfu_rtc_ctx	*ctx;		/* borrowed */
	struct sfu_router	*router;	/* borrowed: our owner */
	const struct sfu_transport_ops *ops;
	void			*impl;		/* owned through ops->free */
	bool			 registered;
	struct sfu_strmap	*producers;	/* id -> producer, owned */
	struct sfu_strmap	*consumers;	/* id -> consumer, owned */
	struct transport_ssrc	*ssrcs;		/* owned array */
	unsigned		 nssrcs;
	unsigned		 ssrcs_cap;
	struct transport_consumer_ssrc *cssrcs;	/* owned array */
	unsigned		 ncssrcs;
	unsigned		 cssrcs_cap;
	uint8_t			 mid_ext_id;	/* the remotes' MID id, 0 */
	uint8_t			 rid_ext_id;	/* the remotes' RID id, 0 */
	uint32_t		 rtcp_ssrc;
	unsigned		 next_mid;
	struct sfu_timer_handle	*rtcp_timer;	/* owned */
	struct sfu_transport_counters counters;
	struct sfu_transport_counters last;	/* at the last tick */
	uint64_t		 last_tick_us;
	uint32_t		 recv_bitrate;	/* bps over the last tick */
	uint32_t		 send_bitrate;
	uint32_t		 rtp_recv_bitrate;
	uint32_t		 rtp_send_bitrate;
};

static void	transport_on_rtcp_timer(void *ctx, struct sfu_timer_handle *h);

/* --- life cycle --- */

struct sfu_transport *
sfu_transport_new(struct sfu_rtc_ctx *ctx, struct sfu_router *router,
    const char *id, const char *type, const struct sfu_transport_ops *ops,
    void *impl, struct sfu_error *err)
{
	struct sfu_transport *t = NULL;

	t = sfu_xcalloc(1, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->type = type;
	t->ctx = ctx;
	t->router = router;
	t->ops = ops;
	t->producers = sfu_strmap_new();
	t->consumers = sfu_strmap_new();
	t->rtcp_ssrc = sfu_random_u32();
	t->rtcp_timer = sfu_timer_handle_new(ctx->base, transport_on_rtcp_timer,
	    t);
	if (sfu_registry_add(ctx->registry, id, sfu_transport_handle_request, t,
	    err) == -1) {
		sfu_error_prefix(err, "data.transportId: ");
		goto fail;
	}
	t->registered = true;
	t->impl = impl;
	t->last_tick_us = sfu_clock_mono_us();
	sfu_timer_handle_start(t->rtcp_timer, TRANSPORT_RTCP_INTERVAL_MS,
	    TRANSPORT_RTCP_INTERVAL_MS);
	return t;
fail:
	sfu_transport_free(t);	/* impl stays the caller's */
	return NULL;
}

static void
transport_forget_consumer(struct sfu_transport *t, struct sfu_consumer *c)
{
	unsigned i = 0;

	sfu_strmap_remove(t->consumers, sfu_consumer_id(c));
	for (i = 0; i < t->ncssrcs; i++) {
		if (t->cssrcs[i].consumer == c) {
			t->cssrcs[i] = t->cssrcs[--t->ncssrcs];
			break;
		}
	}
}

static void
transport_forget_producer(struct sfu_transport *t, struct sfu_producer *p)
{
	unsigned i = 0;

	sfu_strmap_remove(t->producers, sfu_producer_id(p));
	for (i = 0; i < t->nssrcs;) {
		if (t->ssrcs[i].producer == p) {
			t->ssrcs[i] = t->ssrcs[--t->nssrcs];
		} else {
			i++;
		}
	}
}

void
sfu_transport_free(struct sfu_transport *t)
{
	void **all = NULL;
	size_t n = 0;
	size_t i = 0;

	if (t == NULL) {
		return;
	}
	sfu_timer_handle_stop(t->rtcp_timer);

	/* Consumers first: then producers' consumers are only elsewhere. */
	all = sfu_strmap_values(t->consumers, &n);
	for (i = 0; i < n; i++) {
		transport_forget_consumer(t, all[i]);
		sfu_consumer_free(all[i]);
	}
	free(all);
	all = sfu_strmap_values(t->producers, &n);
	for (i = 0; i < n; i++) {
		transport_forget_producer(t, all[i]);
		sfu_producer_free(all[i]);
	}
	free(all);
	if (t->ops != NULL && t->impl != NULL) {
		t->ops->free(t);
	}
	if (t->registered) {
		sfu_registry_remove(t->ctx->registry, t->id);
	}
	sfu_timer_handle_free(t->rtcp_timer);
	sfu_strmap_free(t->producers);
	sfu_strmap_free(t->consumers);
	free(t->ssrcs);
	free(t->cssrcs);
	free(t);
}

bool
sfu_transport_is_connected(const struct sfu_transport *t)
{
	return t->ops->is_connected(t);
}

void
sfu_transport_connected(struct sfu_transport *t)
{
	void **all = NULL;
	size_t n = 0;
	size_t i = 0;

	all = sfu_strmap_values(t->consumers, &n);
	for (i = 0; i < n; i++) {
		sfu_consumer_on_transport_connected(all[i]);
	}
	free(all);
	all = sfu_strmap_values(t->producers, &n);
	for (i = 0; i < n; i++) {
		sfu_producer_on_transport_connected(all[i]);
	}
	free(all);
}

const char *
sfu_transport_type(const struct sfu_transport *t)
{
	return t->type;
}

const char *
sfu_transport_id(const struct sfu_transport *t)
{
	return t->id;
}

void *
sfu_transport_impl(const struct sfu_transport *t)
{
	return t->impl;
}

struct sfu_rtc_ctx *
sfu_transport_ctx(const struct sfu_transport *t)
{
	return t->ctx;
}

struct sfu_router *
sfu_transport_router(const struct sfu_transport *t)
{
	return t->router;
}

struct sfu_transport_counters *
sfu_transport_counters(struct sfu_transport *t)
{
	return &t->counters;
}

uint32_t
sfu_transport_rtcp_ssrc(const struct sfu_transport *t)
{
	return t->rtcp_ssrc;
}

unsigned
sfu_transport_next_mid(struct sfu_transport *t)
{
	return t->next_mid++;
}

/* --- tables --- */

static void
transport_add_ssrc(struct sfu_transport *t, uint32_t ssrc,
    struct sfu_producer *p, int encoding, bool is_rtx)
{
	if (t->nssrcs == t->ssrcs_cap) {
		t->ssrcs_cap = t->ssrcs_cap == 0 ? 8 : t->ssrcs_cap * 2;
		t->ssrcs = sfu_xreallocarray(t->ssrcs, t->ssrcs_cap,
		    sizeof(*t->ssrcs));
	}
	t->ssrcs[t->nssrcs].ssrc = ssrc;
	t->ssrcs[t->nssrcs].producer = p;
	t->ssrcs[t->nssrcs].encoding = encoding;
	t->ssrcs[t->nssrcs].is_rtx = is_rtx;
	t->nssrcs++;
}

static struct transport_ssrc *
transport_find_ssrc(struct sfu_transport *t, uint32_t ssrc)
{
	unsigned i = 0;

	for (i = 0; i < t->nssrcs; i++) {
		if (t->ssrcs[i].ssrc == ssrc) {
			return &t->ssrcs[i];
		}
	}
	return NULL;
}

static struct sfu_consumer *
transport_find_consumer_ssrc(struct sfu_transport *t, uint32_t ssrc)
{
	unsigned i = 0;

	for (i = 0; i < t->ncssrcs; i++) {
		if (t->cssrcs[i].ssrc == ssrc) {
			return t->cssrcs[i].consumer;
		}
	}
	return NULL;
}

struct transport_mid_search {
	const char		*mid;
	size_t			 len;
	struct sfu_producer	*found;
};

static void
transport_match_mid(void *arg, const char *key, void *value)
{
	struct transport_mid_search *ms = arg;
	const char *mid = sfu_producer_mid(value);

	(void)key;
	if (ms->found == NULL && strlen(mid) == ms->len &&
	    memcmp(mid, ms->mid, ms->len) == 0) {
		ms->found = value;
	}
}

/*
 * An SSRC we have not seen: find its producer by MID (or the only
 * producer whose encodings lack SSRCs), learn it.
 */
static struct transport_ssrc *
transport_learn_ssrc(struct sfu_transport *t, struct sfu_rtp_packet *pkt)
{
	struct transport_mid_search ms = { NULL, 0, NULL };
	const uint8_t *v = NULL;
	char rid[SFU_RTP_RID_LEN];
	size_t len = 0;
	bool is_rtx = false;
	int enc = -1;

	rid[0] = '\0';
	if (t->mid_ext_id != 0) {
		v = sfu_rtp_packet_get_extension(pkt, t->mid_ext_id, &len);
		if (v != NULL && len > 0) {
			ms.mid = (const char *)v;
			ms.len = len;
			sfu_strmap_foreach(t->producers, transport_match_mid,
			    &ms);
		}
	}
	if (t->rid_ext_id != 0) {
		v = sfu_rtp_packet_get_extension(pkt, t->rid_ext_id, &len);
		if (v != NULL && len > 0 && len < sizeof(rid)) {
			memcpy(rid, v, len);
			rid[len] = '\0';
		}
	}
	if (ms.found == NULL && sfu_strmap_count(t->producers) == 1) {
		sfu_strmap_foreach(t->producers, transport_match_mid, &ms);
		if (ms.found == NULL) {
			/* The single producer, whatever its MID. */
			ms.len = 0;
			ms.mid = "";
			sfu_strmap_foreach(t->producers, transport_match_mid,
			    &ms);
		}
	}
	if (ms.found == NULL) {
		return NULL;
	}
	enc = sfu_producer_match_ssrc(ms.found, pkt->ssrc, rid, &is_rtx);
	if (enc < 0) {
		return NULL;
	}
	transport_add_ssrc(t, pkt->ssrc, ms.found, enc, is_rtx);
	return &t->ssrcs[t->nssrcs - 1];
}

/* --- receiving --- */

void
sfu_transport_receive_rtp(struct sfu_transport *t, uint8_t *data, size_t len,
    size_t capacity)
{
	struct sfu_rtp_packet pkt;
	struct transport_ssrc *e = NULL;

	if (sfu_rtp_packet_parse(&pkt, data, len, capacity) == -1) {
		t->counters.invalid_packets++;
		return;
	}
	t->counters.rtp_packets_received++;
	t->counters.rtp_bytes_received += len;
	e = transport_find_ssrc(t, pkt.ssrc);
	if (e == NULL) {
		e = transport_learn_ssrc(t, &pkt);
	}
	if (e == NULL) {
		t->counters.rtp_unknown_ssrc++;
		SFU_LOG_DEBUG_TAG(RTP, "no producer for ssrc %u [transport:%s]",
		    pkt.ssrc, t->id);
		return;
	}
	sfu_producer_receive_rtp(e->producer, e->encoding, &pkt);
}

struct transport_rtcp_ctx {
	struct sfu_transport	*t;
	uint64_t		 now_us;
};

static void
transport_on_rr_blocks(struct sfu_transport *t,
    const struct sfu_rtcp_packet_report *reports, unsigned n, uint64_t now)
{
	struct sfu_consumer *c = NULL;
	unsigned i = 0;

	for (i = 0; i < n; i++) {
		c = transport_find_consumer_ssrc(t, reports[i].ssrc);
		if (c != NULL) {
			sfu_consumer_receive_rr(c, &reports[i], now);
		}
	}
}

static bool
transport_on_rtcp_packet(void *arg, const struct sfu_rtcp_packet *pkt)
{
	struct transport_rtcp_ctx *rc = arg;
	struct sfu_transport *t = rc->t;
	struct sfu_rtcp_packet_sr sr;
	struct sfu_rtcp_packet_rr rr;
	struct sfu_rtcp_packet_fb fb;
	struct sfu_rtcp_packet_fir fir;
	struct sfu_rtcp_packet_nack nack;
	struct transport_ssrc *e = NULL;
	struct sfu_consumer *c = NULL;
	uint32_t ssrc = 0;
	uint8_t seq = 0;
	size_t i = 0;

	switch (sfu_rtcp_packet_kind(pkt)) {
	case SFU_RTCP_PACKET_KIND_SR:
		if (sfu_rtcp_packet_parse_sr(pkt, &sr) == 0) {
			e = transport_find_ssrc(t, sr.ssrc);
			if (e != NULL) {
				sfu_producer_receive_sr(e->producer, sr.ssrc,
				    sr.ntp, sr.rtp_timestamp, rc->now_us);
			}
			transport_on_rr_blocks(t, sr.reports, sr.report_count,
			    rc->now_us);
		}
		break;
	case SFU_RTCP_PACKET_KIND_RR:
		if (sfu_rtcp_packet_parse_rr(pkt, &rr) == 0) {
			transport_on_rr_blocks(t, rr.reports, rr.report_count,
			    rc->now_us);
		}
		break;
	case SFU_RTCP_PACKET_KIND_PLI:
		if (sfu_rtcp_packet_parse_pli(pkt, &fb) == 0) {
			c = transport_find_consumer_ssrc(t, fb.media_ssrc);
			if (c != NULL) {
				sfu_consumer_receive_key_frame_request(c,
				    false);
			}
		}
		break;
	case SFU_RTCP_PACKET_KIND_FIR:
		if (sfu_rtcp_packet_parse_fir(pkt, &fir) == 0) {
			for (i = 0; i < fir.entry_count; i++) {
				sfu_rtcp_packet_fir_get(&fir, i, &ssrc, &seq);
				c = transport_find_consumer_ssrc(t, ssrc);
				if (c != NULL) {
					sfu_consumer_receive_key_frame_request(
					    c, true);
				}
			}
		}
		break;
	case SFU_RTCP_PACKET_KIND_NACK:
		if (sfu_rtcp_packet_parse_nack(pkt, &nack) == 0) {
			c = transport_find_consumer_ssrc(t, nack.media_ssrc);
			if (c != NULL) {
				sfu_consumer_receive_nack(c);
			}
		}
		break;
	default:
		/* SDES, BYE, REMB, transport-cc, APP, XR: passed over. */
		break;
	}
	return true;
}

void
sfu_transport_receive_rtcp(struct sfu_transport *t, const uint8_t *data,
    size_t len)
{
	struct transport_rtcp_ctx rc = { t, sfu_clock_mono_us() };

	t->counters.rtcp_packets_received++;
	if (sfu_rtcp_packet_foreach(data, len, transport_on_rtcp_packet, &rc) ==
	    -1) {
		t->counters.invalid_packets++;
	}
}

/* --- sending --- */

void
sfu_transport_send_rtp(struct sfu_transport *t, uint8_t *data, size_t len,
    size_t capacity)
{
	t->counters.rtp_packets_sent++;
	t->counters.rtp_bytes_sent += len;
	t->ops->send_rtp(t, data, len, capacity);
}

void
sfu_transport_send_rtp_parts(struct sfu_transport *t, uint8_t *hdr,
    size_t hdr_len, size_t capacity, const uint8_t *body, size_t body_len)
{
	if (t->ops->send_rtp_parts != NULL && t->ops->send_rtp_parts(t, hdr,
	    hdr_len, capacity, body, body_len)) {
		t->counters.rtp_packets_sent++;
		t->counters.rtp_bytes_sent += hdr_len + body_len;
		return;
	}
	if (body_len > capacity - hdr_len) {
		return;
	}
	memcpy(hdr + hdr_len, body, body_len);
	sfu_transport_send_rtp(t, hdr, hdr_len + body_len, capacity);
}

void
sfu_transport_send_rtcp(struct sfu_transport *t, uint8_t *data, size_t len,
    size_t capacity)
{
	t->counters.rtcp_packets_sent++;
	t->ops->send_rtcp(t, data, len, capacity);
}

struct transport_tick {
	struct sfu_transport		*t;
	uint64_t			 now_us;
	struct sfu_rtcp_packet_rr	 rr;
};

static void
transport_tick_producer(void *arg, const char *key, void *value)
{
	struct transport_tick *tk = arg;
	unsigned room = SFU_RTCP_PACKET_MAX_COUNT - tk->rr.report_count;

	(void)key;
	tk->rr.report_count += (uint8_t)sfu_producer_rtcp_tick(value,
	    tk->now_us, &tk->rr.reports[tk->rr.report_count], room);
}

static void
transport_tick_consumer(void *arg, const char *key, void *value)
{
	struct transport_tick *tk = arg;
	struct sfu_rtcp_packet_compound cp;
	struct sfu_rtcp_packet_sr sr;
	uint8_t buf[TRANSPORT_RTCP_BUF];
	const char *cname = sfu_consumer_cname(value);

	(void)key;
	if (!sfu_consumer_rtcp_tick(value, tk->now_us, &sr)) {
		return;
	}
	if (!tk->t->ops->is_connected(tk->t)) {
		return;
	}
	sfu_rtcp_packet_compound_init(&cp, buf, 1200);
	if (sfu_rtcp_packet_compound_append(&cp,
	    sfu_rtcp_packet_build_sr(sfu_rtcp_packet_compound_tail(&cp),
	    sfu_rtcp_packet_compound_room(&cp), &sr)) == -1) {
		return;
	}
	if (cname[0] == '\0') {
		cname = TRANSPORT_CNAME;
	}
	sfu_rtcp_packet_compound_append(&cp, sfu_rtcp_packet_build_sdes(
	    sfu_rtcp_packet_compound_tail(&cp),
	    sfu_rtcp_packet_compound_room(&cp), sr.ssrc, cname,
	    strlen(cname)));
	sfu_transport_send_rtcp(tk->t, buf, cp.len, sizeof(buf));
}

static uint32_t
transport_rate(uint64_t now_bytes, uint64_t then_bytes, uint64_t us)
{
	return us == 0 ? 0 : (uint32_t)((now_bytes - then_bytes) * 8u *
	    1000000u / us);
}

static void
transport_on_rtcp_timer(void *ctx, struct sfu_timer_handle *h)
{
	struct sfu_transport *t = ctx;
	struct sfu_rtcp_packet_compound cp;
	struct transport_tick tk;
	uint8_t buf[TRANSPORT_RTCP_BUF];
	uint64_t elapsed = 0;

	(void)h;
	memset(&tk, 0, sizeof(tk));
	tk.t = t;
	tk.now_us = sfu_clock_mono_us();
	elapsed = tk.now_us - t->last_tick_us;
	t->recv_bitrate = transport_rate(t->counters.bytes_received,
	    t->last.bytes_received, elapsed);
	t->send_bitrate = transport_rate(t->counters.bytes_sent,
	    t->last.bytes_sent, elapsed);
	t->rtp_recv_bitrate = transport_rate(t->counters.rtp_bytes_received,
	    t->last.rtp_bytes_received, elapsed);
	t->rtp_send_bitrate = transport_rate(t->counters.rtp_bytes_sent,
	    t->last.rtp_bytes_sent, elapsed);
	t->last = t->counters;
	t->last_tick_us = tk.now_us;

	/* RR for what we receive (one compound), SR per consumer. */
	tk.rr.ssrc = t->rtcp_ssrc;
	sfu_strmap_foreach(t->producers, transport_tick_producer, &tk);
	if (tk.rr.report_count > 0 && t->ops->is_connected(t)) {
		sfu_rtcp_packet_compound_init(&cp, buf, 1200);
		if (sfu_rtcp_packet_compound_append(&cp,
		    sfu_rtcp_packet_build_rr(sfu_rtcp_packet_compound_tail(&cp),
		    sfu_rtcp_packet_compound_room(&cp), &tk.rr)) == 0) {
			sfu_rtcp_packet_compound_append(&cp,
			    sfu_rtcp_packet_build_sdes(
			    sfu_rtcp_packet_compound_tail(&cp),
			    sfu_rtcp_packet_compound_room(&cp), t->rtcp_ssrc,
			    TRANSPORT_CNAME, strlen(TRANSPORT_CNAME)));
			sfu_transport_send_rtcp(t, buf, cp.len, sizeof(buf));
		}
	}
	sfu_strmap_foreach(t->consumers, transport_tick_consumer, &tk);
}

/* --- producers and consumers --- */

void
sfu_transport_close_producer(struct sfu_transport *t, struct sfu_producer *p)
{
	transport_forget_producer(t, p);
	sfu_producer_free(p);
}

void
sfu_transport_close_consumer(struct sfu_transport *t, struct sfu_consumer *c)
{
	transport_forget_consumer(t, c);
	sfu_consumer_free(c);
}

void
sfu_transport_consumer_closed(struct sfu_transport *t, struct sfu_consumer *c)
{
	sfu_transport_close_consumer(t, c);
}

/*
 * One transport reads one id per extension (mediasoup's rule): a new
 * producer's MID/RID ids must match those of the others.
 */
static int
transport_check_ext_ids(const struct sfu_transport *t, uint8_t mid_id,
    uint8_t rid_id, struct sfu_error *err)
{
	if ((mid_id != 0 && t->mid_ext_id != 0 && mid_id != t->mid_ext_id) ||
	    (rid_id != 0 && t->rid_ext_id != 0 && rid_id != t->rid_ext_id)) {
		sfu_error_set(err, SFU_ERR_TYPE, "data.rtpParameters."
		    "headerExtensions: MID/RID ids differ from those of this "
		    "transport's other producers");
		return -1;
	}
	return 0;
}

static void
transport_produce(struct sfu_transport *t, struct sfu_channel_request *req)
{
	struct sfu_producer *p = NULL;
	struct sfu_error err = { 0 };
	msgpack_packer *pk = NULL;
	uint32_t ssrcs[2 * 8];
	uint8_t mid_id = 0;
	uint8_t rid_id = 0;
	unsigned n = 0;
	unsigned i = 0;
	bool is_rtx = false;
	int enc = 0;

	if (req->env.data == NULL) {
		sfu_channel_request_error(req, SFU_ERR_TYPE, "data: missing");
		return;
	}
	p = sfu_producer_new(t->ctx, t, req->env.data, &err);
	if (p == NULL) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	sfu_producer_recv_ext_ids(p, &mid_id, &rid_id);
	if (transport_check_ext_ids(t, mid_id, rid_id, &err) == -1) {
		sfu_producer_free(p);
		sfu_channel_request_error_from(req, &err);
		return;
	}
	n = sfu_producer_ssrcs(p, ssrcs, 16);
	for (i = 0; i < n; i++) {
		if (transport_find_ssrc(t, ssrcs[i]) != NULL) {
			sfu_producer_free(p);
			sfu_channel_request_error(req, SFU_ERR_TYPE,
			    "data.rtpParameters.encodings: ssrc %u is already "
			    "used by another producer", ssrcs[i]);
			return;
		}
	}
	if (mid_id != 0) {
		t->mid_ext_id = mid_id;
	}
	if (rid_id != 0) {
		t->rid_ext_id = rid_id;
	}
	SFU_ASSERT(sfu_strmap_add(t->producers, sfu_producer_id(p), p) == 0);
	for (i = 0; i < n; i++) {
		enc = sfu_producer_match_ssrc(p, ssrcs[i], NULL, &is_rtx);
		transport_add_ssrc(t, ssrcs[i], p, enc, is_rtx);
	}
	pk = sfu_channel_request_begin_data(req);
	sfu_producer_pack_created(p, pk);
	sfu_channel_request_accept_data(req);
}

static void
transport_consume(struct sfu_transport *t, struct sfu_channel_request *req)
{
	struct sfu_consumer *c = NULL;
	struct sfu_error err = { 0 };
	msgpack_packer *pk = NULL;

	if (req->env.data == NULL) {
		sfu_channel_request_error(req, SFU_ERR_TYPE, "data: missing");
		return;
	}
	c = sfu_consumer_new(t->ctx, t, req->env.data, &err);
	if (c == NULL) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	SFU_ASSERT(sfu_strmap_add(t->consumers, sfu_consumer_id(c), c) == 0);
	if (t->ncssrcs == t->cssrcs_cap) {
		t->cssrcs_cap = t->cssrcs_cap == 0 ? 8 : t->cssrcs_cap * 2;
		t->cssrcs = sfu_xreallocarray(t->cssrcs, t->cssrcs_cap,
		    sizeof(*t->cssrcs));
	}
	t->cssrcs[t->ncssrcs].ssrc = sfu_consumer_ssrc(c);
	t->cssrcs[t->ncssrcs].consumer = c;
	t->ncssrcs++;
	pk = sfu_channel_request_begin_data(req);
	sfu_consumer_pack_created(c, pk);
	sfu_channel_request_accept_data(req);
}

/* closeProducer / closeConsumer {xId}. */
static void
transport_close_child(struct sfu_transport *t, struct sfu_channel_request *req,
    bool producer)
{
	struct sfu_error err = { 0 };
	const char *field = producer ? "producerId" : "consumerId";
	char id[SFU_MSG_ID_MAX];
	void *x = NULL;

	if (sfu_msg_get_strbuf(req->env.data, "data", field, SFU_MSG_REQUIRED,
	    id, sizeof(id), &err) != 1) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	x = sfu_strmap_get(producer ? t->producers : t->consumers, id);
	if (x == NULL) {
		sfu_channel_request_error(req, SFU_ERR_NOT_FOUND,
		    "data.%s: no %s '%s' in this transport", field,
		    producer ? "producer" : "consumer", id);
		return;
	}
	sfu_channel_request_accept(req);
	if (producer) {
		sfu_transport_close_producer(t, x);
	} else {
		sfu_transport_close_consumer(t, x);
	}
}

static void
transport_pack_id(void *arg, const char *key, void *value)
{
	(void)value;
	sfu_msg_pack_str(arg, key);
}

void
sfu_transport_pack_dump(const struct sfu_transport *t, msgpack_packer *pk)
{
	unsigned i = 0;

	msgpack_pack_map(pk, 9 + t->ops->count_dump_fields(t));
	sfu_msg_pack_kv_str(pk, "id", t->id);
	sfu_msg_pack_kv_str(pk, "type", t->type);
	sfu_msg_pack_kv_bool(pk, "direct", false);
	sfu_msg_pack_str(pk, "producerIds");
	msgpack_pack_array(pk, sfu_strmap_count(t->producers));
	sfu_strmap_foreach(t->producers, transport_pack_id, pk);
	sfu_msg_pack_str(pk, "consumerIds");
	msgpack_pack_array(pk, sfu_strmap_count(t->consumers));
	sfu_strmap_foreach(t->consumers, transport_pack_id, pk);
	sfu_msg_pack_str(pk, "mapSsrcConsumerId");
	msgpack_pack_map(pk, t->ncssrcs);
	for (i = 0; i < t->ncssrcs; i++) {
		char k[16];

		snprintf(k, sizeof(k), "%u", t->cssrcs[i].ssrc);
		sfu_msg_pack_kv_str(pk, k,
		    sfu_consumer_id(t->cssrcs[i].consumer));
	}
	sfu_msg_pack_str(pk, "rtpListener");
	msgpack_pack_map(pk, 1);
	sfu_msg_pack_str(pk, "ssrcTable");
	msgpack_pack_map(pk, t->nssrcs);
	for (i = 0; i < t->nssrcs; i++) {
		char k[16];

		snprintf(k, sizeof(k), "%u", t->ssrcs[i].ssrc);
		sfu_msg_pack_kv_str(pk, k,
		    sfu_producer_id(t->ssrcs[i].producer));
	}
	sfu_msg_pack_kv_uint(pk, "maxMessageSize", 262144);
	sfu_msg_pack_str(pk, "traceEventTypes");
	msgpack_pack_array(pk, 0);
	t->ops->pack_dump_fields(t, pk);
}

static void
transport_get_stats(struct sfu_transport *t, struct sfu_channel_request *req)
{
	msgpack_packer *pk = NULL;
	char type[48];

	/* mediasoup: "webrtc-transport", "plain-rtp-transport". */
	snprintf(type, sizeof(type), "%s-transport", strcmp(t->type, "plain") == 0 ?
	    "plain-rtp" : t->type);
	pk = sfu_channel_request_begin_data(req);
	msgpack_pack_array(pk, 1);
	msgpack_pack_map(pk, 19 + t->ops->count_stats_fields(t));
	sfu_msg_pack_kv_str(pk, "type", type);
	sfu_msg_pack_kv_str(pk, "transportId", t->id);
	sfu_msg_pack_kv_uint(pk, "timestamp", sfu_clock_wall_ms());
	sfu_msg_pack_kv_uint(pk, "bytesReceived", t->counters.bytes_received);
	sfu_msg_pack_kv_uint(pk, "recvBitrate", t->recv_bitrate);
	sfu_msg_pack_kv_uint(pk, "bytesSent", t->counters.bytes_sent);
	sfu_msg_pack_kv_uint(pk, "sendBitrate", t->send_bitrate);
	sfu_msg_pack_kv_uint(pk, "rtpBytesReceived",
	    t->counters.rtp_bytes_received);
	sfu_msg_pack_kv_uint(pk, "rtpRecvBitrate", t->rtp_recv_bitrate);
	sfu_msg_pack_kv_uint(pk, "rtpBytesSent", t->counters.rtp_bytes_sent);
	sfu_msg_pack_kv_uint(pk, "rtpSendBitrate", t->rtp_send_bitrate);
	sfu_msg_pack_kv_uint(pk, "rtpPacketsReceived",
	    t->counters.rtp_packets_received);
	sfu_msg_pack_kv_uint(pk, "rtpPacketsSent",
	    t->counters.rtp_packets_sent);
	sfu_msg_pack_kv_uint(pk, "rtcpPacketsReceived",
	    t->counters.rtcp_packets_received);
	sfu_msg_pack_kv_uint(pk, "rtcpPacketsSent",
	    t->counters.rtcp_packets_sent);
	sfu_msg_pack_kv_uint(pk, "rtxBytesReceived", 0);
	sfu_msg_pack_kv_uint(pk, "rtxBytesSent", 0);
	sfu_msg_pack_kv_uint(pk, "rtpPacketsUnknownSsrc",
	    t->counters.rtp_unknown_ssrc);
	sfu_msg_pack_kv_uint(pk, "invalidPackets", t->counters.invalid_packets);
	t->ops->pack_stats_fields(t, pk);
	sfu_channel_request_accept_data(req);
}

void
sfu_transport_handle_request(void *ctx, struct sfu_channel_request *req)
{
	struct sfu_transport *t = ctx;
	msgpack_packer *pk = NULL;
	const char *m = req->env.method;

	if (t->ops->handle_request(t, req)) {
		return;
	}
	if (strcmp(m, "transport.produce") == 0) {
		transport_produce(t, req);
	} else if (strcmp(m, "transport.consume") == 0) {
		transport_consume(t, req);
	} else if (strcmp(m, "transport.dump") == 0) {
		pk = sfu_channel_request_begin_data(req);
		sfu_transport_pack_dump(t, pk);
		sfu_channel_request_accept_data(req);
	} else if (strcmp(m, "transport.getStats") == 0) {
		transport_get_stats(t, req);
	} else if (strcmp(m, "transport.closeProducer") == 0) {
		transport_close_child(t, req, true);
	} else if (strcmp(m, "transport.closeConsumer") == 0) {
		transport_close_child(t, req, false);
	} else if (strcmp(m, "transport.close") == 0) {
		/* The router owns us: it frees us. Reply first. */
		sfu_channel_request_accept(req);
		sfu_router_close_transport(t->router, t->id);
	} else if (strcmp(m, "transport.restartIce") == 0) {
		sfu_channel_request_error(req, SFU_ERR_ERROR, "%s: a %s "
		    "transport has no ICE", m, t->type);
	} else if (strcmp(m, "transport.produceData") == 0 ||
	    strcmp(m, "transport.consumeData") == 0 ||
	    strcmp(m, "transport.closeDataProducer") == 0 ||
	    strcmp(m, "transport.closeDataConsumer") == 0) {
		sfu_channel_request_error(req, SFU_ERR_UNSUPPORTED,
		    "%s is not implemented yet (data channels)", m);
	} else if (strcmp(m, "transport.setMaxIncomingBitrate") == 0 ||
	    strcmp(m, "transport.setMaxOutgoingBitrate") == 0 ||
	    strcmp(m, "transport.setMinOutgoingBitrate") == 0 ||
	    strcmp(m, "transport.enableTraceEvent") == 0) {
		sfu_channel_request_error(req, SFU_ERR_UNSUPPORTED,
		    "%s is not implemented yet (no bandwidth estimation)", m);
	} else {
		sfu_channel_request_error(req, SFU_ERR_ERROR,
		    "unknown method '%s'", m);
	}
}
