/*
 * SPDX-License-Identifier: MIT
 *
 * A producer: one incoming media source (its RTP parameters, the mapping
 * onto the router's payload types and SSRCs, receive statistics per
 * encoding, pause state) and the consumers fed from it. Owned by its
 * transport; consumers (owned by their transports) are borrowed.
 */
#ifndef SFU_WORKER_PRODUCER_H
#define SFU_WORKER_PRODUCER_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/error.h"
#include "worker/rtc/ortc.h"
#include "worker/rtc/rtp_parameters.h"

struct sfu_consumer;
struct sfu_rtc_ctx;
struct sfu_rtcp_packet_report;
struct sfu_rtp_packet;
struct sfu_channel_request;
struct sfu_transport;
struct sfu_producer;

/*
 * transport.produce: data {producerId, kind, rtpParameters, paused}.
 * Validates against the router's capabilities, computes the mapping and
 * consumable parameters, registers the id. NULL with err.
 */
struct sfu_producer *sfu_producer_new(struct sfu_rtc_ctx *ctx,
	    struct sfu_transport *transport, const msgpack_object *data,
	    struct sfu_error *err);
/*
 * Tells every consumer (consumer.producerclose; they close), unregisters,
 * frees. NULL-safe.
 */
void	sfu_producer_free(struct sfu_producer *p);

const char *sfu_producer_id(const struct sfu_producer *p);
enum sfu_media_kind sfu_producer_kind(const struct sfu_producer *p);
bool	sfu_producer_paused(const struct sfu_producer *p);
uint8_t	sfu_producer_score(const struct sfu_producer *p);
const struct sfu_rtp_parameters *sfu_producer_consumable(
	    const struct sfu_producer *p);
struct sfu_transport *sfu_producer_transport(const struct sfu_producer *p);
/* {id, kind, rtpParameters, type, consumableRtpParameters, paused...}. */
void	sfu_producer_pack_created(const struct sfu_producer *p,
	    msgpack_packer *pk);

/*
 * Which encoding (and whether RTX) an SSRC belongs to, for the transport's
 * demultiplexing: returns the encoding index or -1. With rid (not NULL,
 * from the RID header extension) an unknown SSRC is learned.
 */
int	sfu_producer_match_ssrc(struct sfu_producer *p, uint32_t ssrc,
	    const char *rid, bool *is_rtx);
/* The ids its remote sends MID and RID with (0: not negotiated). */
void	sfu_producer_recv_ext_ids(const struct sfu_producer *p, uint8_t *mid,
	    uint8_t *rid);
/* The MID the producer's packets carry ("" when none). */
const char *sfu_producer_mid(const struct sfu_producer *p);
/* Every SSRC it knows (for the transport's table). */
unsigned sfu_producer_ssrcs(const struct sfu_producer *p, uint32_t *out,
	    unsigned max);

/*
 * A packet from the remote (already matched to encoding). Rewrites it to
 * the router's payload type, mapped SSRC and header extension ids, and
 * hands it to every consumer.
 */
void	sfu_producer_receive_rtp(struct sfu_producer *p, int encoding,
	    struct sfu_rtp_packet *pkt);
/* An SR from the remote about one of its streams. */
void	sfu_producer_receive_sr(struct sfu_producer *p, uint32_t ssrc,
	    uint64_t ntp, uint32_t rtp_ts, uint64_t now_us);
/*
 * The RTCP tick: fills RR report blocks for its streams (at most max;
 * returns how many), updates scores and emits producer.score on change.
 */
unsigned sfu_producer_rtcp_tick(struct sfu_producer *p, uint64_t now_us,
	    struct sfu_rtcp_packet_report *blocks, unsigned max);

/* A consumer wants a key frame (rate-limited here). */
void	sfu_producer_request_key_frame(struct sfu_producer *p);
/*
 * Its transport can send now: a key frame request sent before it was
 * lost, so ask again (the rate limit does not apply) when consumers wait.
 */
void	sfu_producer_on_transport_connected(struct sfu_producer *p);
/* The same request without the rate limit (a consumer just connected). */
void	sfu_producer_request_key_frame_now(struct sfu_producer *p);

/* Consumers attach and detach themselves. */
void	sfu_producer_add_consumer(struct sfu_producer *p,
	    struct sfu_consumer *c);
void	sfu_producer_remove_consumer(struct sfu_producer *p,
	    struct sfu_consumer *c);

/* producer.* requests (registered handler). */
void	sfu_producer_handle_request(void *ctx, struct sfu_channel_request *req);

#endif
