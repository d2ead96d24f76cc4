/*
 * SPDX-License-Identifier: MIT
 *
 * WebRtcTransport: ICE-lite (ice_server.c) over UDP and passive TCP
 * (RFC 4571 framing), DTLS (dtls_transport.c) whose exported keys make the
 * SRTP sessions, and RFC 7983 demultiplexing of STUN, DTLS and SRTP/SRTCP
 * on one tuple. Sockets are its own (listenInfos) or a WebRtcServer's
 * (webRtcServerId). Everything above bytes is the generic transport's.
 */
#ifndef SFU_WORKER_WEBRTC_TRANSPORT_H
#define SFU_WORKER_WEBRTC_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/error.h"
#include "worker/rtc/ice_server.h"

struct sfu_router;
struct sfu_rtc_ctx;
struct sfu_tcp_conn_handle;
struct sfu_transport;

/*
 * router.createWebRtcTransport: data {transportId, listenInfos |
 * listenIps | webRtcServerId, enableUdp, enableTcp, preferUdp, preferTcp,
 * iceConsentTimeout, initialAvailableOutgoingBitrate, enableSctp,
 * numSctpStreams, maxSctpMessageSize}. NULL with err.
 */
struct sfu_transport *sfu_webrtc_transport_new(struct sfu_rtc_ctx *ctx,
    struct sfu_router *router, const msgpack_object *data,
    struct sfu_error *err);

/*
 * From a WebRtcServer: one datagram or TCP frame (writable, with
 * SFU_UDP_RECV_TAILROOM bytes after it) received on tuple.
 */
void sfu_webrtc_transport_receive(struct sfu_transport *t,
    const struct sfu_ice_tuple *tuple, uint8_t *data, size_t len);
/* From a WebRtcServer: a TCP connection of ours closed. */
void sfu_webrtc_transport_tcp_closed(struct sfu_transport *t,
    const struct sfu_tcp_conn_handle *conn);
/* From a WebRtcServer that closes: forget it (the router frees us next). */
void sfu_webrtc_transport_server_closed(struct sfu_transport *t);
/* Whether t is a WebRtcTransport. */
bool sfu_webrtc_transport_is(const struct sfu_transport *t);

#endif
