/*
 * SPDX-License-Identifier: MIT
 *
 * What every transport does, whatever carries its packets: producers and
 * consumers (transport.produce / transport.consume and their close
 * methods), demultiplexing received RTP to producers (by SSRC, then MID
 * and RID) and RTCP to producers and consumers, periodic RTCP (RR for
 * producers, SR+SDES for consumers), stats and dump. A concrete transport
 * (plain_transport.c; WebRtcTransport later) supplies the ops that move
 * bytes and handles its own methods (connect, ...).
 *
 * Owned by its router; owns its producers and consumers.
 */
#ifndef SFU_WORKER_TRANSPORT_H
#define SFU_WORKER_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/error.h"
#include "worker/channel/channel_request.h"

struct sfu_consumer;
struct sfu_producer;
struct sfu_router;
struct sfu_rtc_ctx;
struct sfu_transport;

struct sfu_transport_ops {
	/*
	 * Sends one RTP or RTCP packet. data has capacity bytes of room
	 * (for the SRTP trailer) and may be modified (encrypted in place).
	 */
	void	(*send_rtp)(struct sfu_transport *t, uint8_t *data, size_t len,
		    size_t capacity);
	void	(*send_rtcp)(struct sfu_transport *t, uint8_t *data, size_t len,
		    size_t capacity);
	/* Whether the remote is known (packets can be sent). */
	bool	(*is_connected)(const struct sfu_transport *t);
	/* Methods of the concrete type (connect...); false: not its method. */
	bool	(*handle_request)(struct sfu_transport *t,
		    struct sfu_channel_request *req);
	/* Packs the type-specific dump/stats fields: returns how many. */
	unsigned (*count_dump_fields)(const struct sfu_transport *t);
	void	(*pack_dump_fields)(const struct sfu_transport *t,
		    msgpack_packer *pk);
	unsigned (*count_stats_fields)(const struct sfu_transport *t);
	void	(*pack_stats_fields)(const struct sfu_transport *t,
		    msgpack_packer *pk);
	/* Frees the concrete part (sockets...); calls nothing else. */
	void	(*free)(struct sfu_transport *t);

	/*
	 * Optional (NULL: send_rtp gets every RTP packet). Sends one RTP
	 * packet given in two parts, without joining them: hdr (hdr_len
	 * bytes, the whole RTP header, in a buffer of capacity bytes that
	 * may be modified) and body (body_len bytes: payload and padding;
	 * read only). body is borrowed for the call, but may be held until
	 * the end of the current receive batch (it lies in the datagram
	 * being handed up, see sfu_udp_handle_send_deferred()). Returns
	 * false, having sent nothing, when the packet must be contiguous
	 * (SRTP): the caller then joins the parts and calls send_rtp.
	 */
	bool	(*send_rtp_parts)(struct sfu_transport *t, uint8_t *hdr,
		    size_t hdr_len, size_t capacity, const uint8_t *body,
		    size_t body_len);
};

/* Counters kept by the generic part; the concrete part adds to them. */
struct sfu_transport_counters {
	uint64_t	bytes_received;
	uint64_t	bytes_sent;
	uint64_t	rtp_bytes_received;
	uint64_t	rtp_packets_received;
	uint64_t	rtp_bytes_sent;
	uint64_t	rtp_packets_sent;
	uint64_t	rtcp_packets_received;
	uint64_t	rtcp_packets_sent;
	uint64_t	rtp_unknown_ssrc;	/* dropped: no producer */
	uint64_t	invalid_packets;	/* dropped: malformed */
};

/*
 * Creates the generic part. type is mediasoup's name ("plain", ...);
 * impl is the concrete object (owned by it through ops->free).
 * Registers id. Returns NULL with err.
 */
struct sfu_transport *sfu_transport_new(struct sfu_rtc_ctx *ctx,
	    struct sfu_router *router, const char *id, const char *type,
	    const struct sfu_transport_ops *ops, void *impl,
	    struct sfu_error *err);
/* Closes producers and consumers, then ops->free; NULL-safe. */
void	sfu_transport_free(struct sfu_transport *t);

const char *sfu_transport_id(const struct sfu_transport *t);
/* mediasoup's type: "plain", "webrtc". */
const char *sfu_transport_type(const struct sfu_transport *t);
void	*sfu_transport_impl(const struct sfu_transport *t);
struct sfu_rtc_ctx *sfu_transport_ctx(const struct sfu_transport *t);
struct sfu_router *sfu_transport_router(const struct sfu_transport *t);
struct sfu_transport_counters *sfu_transport_counters(struct sfu_transport *t);

/* The concrete part hands over what it received (SRTP already removed). */
void	sfu_transport_receive_rtp(struct sfu_transport *t, uint8_t *data,
	    size_t len, size_t capacity);
void	sfu_transport_receive_rtcp(struct sfu_transport *t,
	    const uint8_t *data, size_t len);

/* Producers and consumers call these to send through their transport. */
void	sfu_transport_send_rtp(struct sfu_transport *t, uint8_t *data,
	    size_t len, size_t capacity);
void	sfu_transport_send_rtcp(struct sfu_transport *t, uint8_t *data,
	    size_t len, size_t capacity);
/*
 * An RTP packet as a header (hdr_len bytes in a buffer of capacity bytes,
 * modifiable) and a body (payload and padding, read only; it may be held
 * until the end of the current receive batch). Through send_rtp_parts
 * when the concrete transport takes the parts as they are, else joined
 * in hdr's buffer (dropped when capacity is too small) and sent through
 * send_rtp.
 */
void	sfu_transport_send_rtp_parts(struct sfu_transport *t, uint8_t *hdr,
	    size_t hdr_len, size_t capacity, const uint8_t *body,
	    size_t body_len);

/* Whether packets can be sent (the remote is known, SRTP keys ready). */
bool	sfu_transport_is_connected(const struct sfu_transport *t);
/*
 * The concrete part became able to send (DTLS connected, remote learnt):
 * consumers restart on a key frame and producers ask for one, as a
 * request made before could not reach the remote (mediasoup's
 * Transport::Connected).
 */
void	sfu_transport_connected(struct sfu_transport *t);

/* The SSRC this transport signs its RTCP with (RR, PLI, FIR). */
uint32_t sfu_transport_rtcp_ssrc(const struct sfu_transport *t);
/* Closes and frees one of its producers / consumers (their close). */
void	sfu_transport_close_producer(struct sfu_transport *t,
	    struct sfu_producer *p);
void	sfu_transport_close_consumer(struct sfu_transport *t,
	    struct sfu_consumer *c);
/* The next MID for a consumer ("0", "1", ...), as mediasoup assigns. */
unsigned sfu_transport_next_mid(struct sfu_transport *t);

/* Packs the generic dump with the concrete fields (the create response). */
void	sfu_transport_pack_dump(const struct sfu_transport *t,
	    msgpack_packer *pk);

/* A consumer closed from below (its producer closed): unlink and free. */
void	sfu_transport_consumer_closed(struct sfu_transport *t,
	    struct sfu_consumer *c);

/* The concrete part's request handler entry for generic methods. */
void	sfu_transport_handle_request(void *ctx, struct sfu_channel_request *req);

#endif
