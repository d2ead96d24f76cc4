/*
 * SPDX-License-Identifier: MIT
 *
 * WebRtcServer (mediasoup's): UDP sockets and TCP listeners of one worker
 * shared by many WebRtcTransports, so a deployment needs one port per
 * worker instead of one per transport. Datagrams and TCP frames are
 * demultiplexed to transports by the ICE username fragment of STUN
 * checks, then by remote tuple once ICE validated it. Owned by the worker;
 * closing it closes the transports that use it.
 */
#ifndef SFU_WORKER_WEBRTC_SERVER_H
#define SFU_WORKER_WEBRTC_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/error.h"
#include "worker/rtc/ice_server.h"
#include "worker/rtc/listen_info.h"

struct sfu_rtc_ctx;
struct sfu_transport;
struct sfu_webrtc_server;

/* Most listen infos of a server (and of a WebRtcTransport). */
#define SFU_WEBRTC_MAX_LISTEN 8

/*
 * worker.createWebRtcServer: data {webRtcServerId, listenInfos}. Binds
 * everything or nothing; registers the id. NULL with err.
 */
struct sfu_webrtc_server *sfu_webrtc_server_new(struct sfu_rtc_ctx *ctx,
    const msgpack_object *data, struct sfu_error *err);
/* Closes the transports using it, then frees; NULL-safe. */
void sfu_webrtc_server_free(struct sfu_webrtc_server *s);
const char *sfu_webrtc_server_id(const struct sfu_webrtc_server *s);
void sfu_webrtc_server_pack_dump(const struct sfu_webrtc_server *s,
    msgpack_packer *pk);

/* Its listen infos with their bound ports, for a transport's candidates. */
unsigned sfu_webrtc_server_listen_infos(const struct sfu_webrtc_server *s,
    const struct sfu_listen_info **infos);

/* A transport's ICE ufrag, and the tuples ICE validated for it. */
void sfu_webrtc_server_add_ufrag(struct sfu_webrtc_server *s,
    const char *ufrag, struct sfu_transport *t);
void sfu_webrtc_server_remove_ufrag(struct sfu_webrtc_server *s,
    const char *ufrag);
void sfu_webrtc_server_add_tuple(struct sfu_webrtc_server *s,
    const struct sfu_ice_tuple *tuple, struct sfu_transport *t);
void sfu_webrtc_server_remove_tuple(struct sfu_webrtc_server *s,
    const struct sfu_ice_tuple *tuple);
/* The transport closes: forget it (and close its TCP connections). */
void sfu_webrtc_server_remove_transport(struct sfu_webrtc_server *s,
    struct sfu_transport *t);

#endif
