/*
 * SPDX-License-Identifier: MIT
 *
 * A consumer of type "simple": one outgoing stream of one producer's media
 * with its own SSRC, payload types and sequence/timestamp space, kept
 * continuous across pauses, resumes and restarts. Owned by its transport;
 * the producer is borrowed (it tells us when it goes).
 */
#ifndef SFU_WORKER_CONSUMER_H
#define SFU_WORKER_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/error.h"

struct sfu_channel_request;
struct sfu_consumer;
struct sfu_producer;
struct sfu_rtc_ctx;
struct sfu_rtcp_packet_report;
struct sfu_rtcp_packet_sr;
struct sfu_rtp_packet;
struct sfu_transport;

/*
 * transport.consume: data {consumerId, producerId, rtpCapabilities,
 * paused, mid?}. NULL with err (NotFoundError for the producer,
 * UnsupportedError when the capabilities cannot receive it).
 */
struct sfu_consumer *sfu_consumer_new(struct sfu_rtc_ctx *ctx,
	    struct sfu_transport *transport, const msgpack_object *data,
	    struct sfu_error *err);
/* Detaches from the producer, unregisters, frees. NULL-safe. */
void	sfu_consumer_free(struct sfu_consumer *c);

const char *sfu_consumer_id(const struct sfu_consumer *c);
uint32_t sfu_consumer_ssrc(const struct sfu_consumer *c);
/* mediasoup's consume response: {id, producerId, kind, type, rtpParameters,
 * paused, producerPaused, score}. */
void	sfu_consumer_pack_created(const struct sfu_consumer *c,
	    msgpack_packer *pk);

/*
 * From the producer: a packet in router space (payload type, mapped SSRC
 * and header extension ids of the router), not modified here; keyframe
 * tells whether it starts a key frame (video).
 */
void	sfu_consumer_send_rtp(struct sfu_consumer *c,
	    const struct sfu_rtp_packet *pkt, bool keyframe, uint64_t now_us);
/* The producer paused, resumed or closed. */
void	sfu_consumer_on_producer_paused(struct sfu_consumer *c, bool paused);
/* Its transport can send now: restart on a key frame. */
void	sfu_consumer_on_transport_connected(struct sfu_consumer *c);
void	sfu_consumer_on_producer_closed(struct sfu_consumer *c);
void	sfu_consumer_on_producer_score(struct sfu_consumer *c);

/* RTCP from the remote about our stream. */
void	sfu_consumer_receive_rr(struct sfu_consumer *c,
	    const struct sfu_rtcp_packet_report *report, uint64_t now_us);
void	sfu_consumer_receive_key_frame_request(struct sfu_consumer *c,
	    bool fir);
void	sfu_consumer_receive_nack(struct sfu_consumer *c);
/*
 * The RTCP tick: fills an SR for our stream (false when nothing was sent
 * yet), updates the score and emits consumer.score on change.
 */
bool	sfu_consumer_rtcp_tick(struct sfu_consumer *c, uint64_t now_us,
	    struct sfu_rtcp_packet_sr *sr);
const char *sfu_consumer_cname(const struct sfu_consumer *c);
struct sfu_producer *sfu_consumer_producer(const struct sfu_consumer *c);

/* consumer.* requests (registered handler). */
void	sfu_consumer_handle_request(void *ctx, struct sfu_channel_request *req);

#endif
