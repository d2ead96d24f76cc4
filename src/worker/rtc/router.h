/*
 * SPDX-License-Identifier: MIT
 *
 * A router: its RTP capabilities (from the media codecs it was created
 * with), its transports, and the producers consumers may attach to. Owned
 * by the worker; owns its transports.
 */
#ifndef SFU_WORKER_ROUTER_H
#define SFU_WORKER_ROUTER_H

#include <msgpack.h>

#include "common/error.h"
#include "worker/rtc/rtp_parameters.h"

struct sfu_producer;
struct sfu_rtc_ctx;
struct sfu_router;

/*
 * worker.createRouter: data {routerId, mediaCodecs}. Registers the id.
 * Returns NULL with err (TypeError naming the field, UnsupportedError
 * naming the codec).
 */
struct sfu_router *sfu_router_new(struct sfu_rtc_ctx *ctx,
	    const msgpack_object *data, struct sfu_error *err);
/* Closes every transport (and so producers, consumers); NULL-safe. */
void	sfu_router_free(struct sfu_router *r);
const char *sfu_router_id(const struct sfu_router *r);
/* {routerId, rtpCapabilities}: the worker.createRouter response data. */
void	sfu_router_pack_created(const struct sfu_router *r, msgpack_packer *pk);
const struct sfu_rtp_capabilities *sfu_router_capabilities(
	    const struct sfu_router *r);

/* Closes and frees the transport (transport.close reaches us here). */
void	sfu_router_close_transport(struct sfu_router *r, const char *id);

/* Producers, for transport.consume and router.canConsume. */
int	sfu_router_add_producer(struct sfu_router *r, struct sfu_producer *p,
	    struct sfu_error *err);
void	sfu_router_remove_producer(struct sfu_router *r,
	    struct sfu_producer *p);
struct sfu_producer *sfu_router_find_producer(const struct sfu_router *r,
	    const char *id);


#endif
