/*
 * SPDX-License-Identifier: MIT
 *
 * PlainTransport: plain RTP/RTCP over UDP (for ffmpeg, GStreamer and
 * other RTP tools), with rtcp-mux or a separate RTCP port, comedia (learn
 * the remote from the first packet) or an explicit transport.connect, and
 * optional SRTP with keys exchanged in srtpParameters.
 */
#ifndef SFU_WORKER_PLAIN_TRANSPORT_H
#define SFU_WORKER_PLAIN_TRANSPORT_H

#include <msgpack.h>

#include "common/error.h"

struct sfu_router;
struct sfu_rtc_ctx;
struct sfu_transport;

/*
 * router.createPlainTransport: data {transportId, listenInfo {protocol,
 * ip, announcedAddress?, port?, portRange?}, rtcpListenInfo?, rtcpMux,
 * comedia, enableSrtp, srtpCryptoSuite, enableSctp}. Binds the sockets
 * (in the worker's rtc port range unless a port is given). NULL with err.
 */
struct sfu_transport *sfu_plain_transport_new(struct sfu_rtc_ctx *ctx,
	    struct sfu_router *router, const msgpack_object *data,
	    struct sfu_error *err);
/* The dump (also the create response): id, tuple, rtcpTuple, srtp... */
void	sfu_plain_transport_pack_dump(const struct sfu_transport *t,
	    msgpack_packer *pk);

#endif
