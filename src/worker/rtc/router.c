/*
 * SPDX-License-Identifier: MIT
 *
 * Router: capabilities, transports, producers. Requests addressed to the
 * router's id land in router_handle_request().
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define SFU_LOG_MODULE "router"
#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "common/strmap.h"
#include "worker/channel/channel_request.h"
#include "worker/channel/notifier.h"
#include "worker/channel/registry.h"
#include "worker/rtc/consumer.h"
#include "worker/rtc/ortc.h"
#include "worker/rtc/plain_transport.h"
#include "worker/rtc/producer.h"
#include "worker/rtc/router.h"
#include "worker/rtc/rtc_ctx.h"
#include "worker/rtc/transport.h"
#include "worker/rtc/webrtc_transport.h"

struct sfu_router {
	char			 id[SFU_MSG_ID_MAX];
	struct sfu_rtc_ctx	*ctx;		/* borrowed */
	struct sfu_rtp_capabilities caps;
	struct sfu_strmap	*transports;	/* id -> transport, owned */
	struct sfu_strmap	*producers;	/* id -> producer, borrowed */
	bool			 registered;
};

static void	router_handle_request(void *ctx,
		    struct sfu_channel_request *req);

struct sfu_router *
sfu_router_new(struct sfu_rtc_ctx *ctx, const msgpack_object *data,
    struct sfu_error *err)
{
	struct sfu_rtp_codec_capability *media = NULL;
	struct sfu_router *r = NULL;
	const msgpack_object *codecs = NULL;
	char path[SFU_MSG_PATH_MAX];
	uint32_t i = 0;

	r = sfu_xcalloc(1, sizeof(*r));
	r->ctx = ctx;
	r->transports = sfu_strmap_new();
	r->producers = sfu_strmap_new();
	if (sfu_msg_get_strbuf(data, "data", "routerId", SFU_MSG_REQUIRED,
	    r->id, sizeof(r->id), err) != 1) {
		goto fail;
	}
	if (sfu_msg_get_array(data, "data", "mediaCodecs", SFU_MSG_OPTIONAL,
	    &codecs, err) == -1) {
		goto fail;
	}
	if (codecs != NULL && codecs->via.array.size > SFU_RTP_MAX_CODECS) {
		sfu_error_set(err, SFU_ERR_TYPE, "data.mediaCodecs: more than "
		    "%d codecs", SFU_RTP_MAX_CODECS);
		goto fail;
	}
	media = sfu_xcalloc(SFU_RTP_MAX_CODECS, sizeof(*media));
	for (i = 0; codecs != NULL && i < codecs->via.array.size; i++) {
		sfu_msg_path_index(path, sizeof(path), "data.mediaCodecs", i);
		if (sfu_rtp_codec_capability_read(&codecs->via.array.ptr[i],
		    path, &media[i], err) == -1) {
			goto fail;
		}
	}
	if (sfu_ortc_router_capabilities(media,
	    codecs != NULL ? codecs->via.array.size : 0, &r->caps, err) ==
	    -1) {
		goto fail;
	}
	if (sfu_registry_add(ctx->registry, r->id, router_handle_request, r,
	    err) == -1) {
		sfu_error_prefix(err, "data.routerId: ");
		goto fail;
	}
	r->registered = true;
	free(media);
	SFU_LOG_DEBUG("router created [id:%s codecs:%u]", r->id,
	    r->caps.codec_count);
	return r;
fail:
	free(media);
	sfu_router_free(r);
	return NULL;
}

void
sfu_router_free(struct sfu_router *r)
{
	void **all = NULL;
	size_t n = 0;
	size_t i = 0;

	if (r == NULL) {
		return;
	}

	/* Transports close their producers and consumers. */
	all = sfu_strmap_values(r->transports, &n);
	for (i = 0; i < n; i++) {
		sfu_strmap_remove(r->transports,
		    sfu_transport_id(all[i]));
		sfu_transport_free(all[i]);
	}
	free(all);
	if (r->registered) {
		sfu_registry_remove(r->ctx->registry, r->id);
	}
	sfu_strmap_free(r->transports);
	sfu_strmap_free(r->producers);
	free(r);
}

const char *
sfu_router_id(const struct sfu_router *r)
{
	return r->id;
}

const struct sfu_rtp_capabilities *
sfu_router_capabilities(const struct sfu_router *r)
{
	return &r->caps;
}

void
sfu_router_pack_created(const struct sfu_router *r, msgpack_packer *pk)
{
	msgpack_pack_map(pk, 2);
	sfu_msg_pack_kv_str(pk, "routerId", r->id);
	sfu_msg_pack_str(pk, "rtpCapabilities");
	sfu_rtp_capabilities_pack(&r->caps, pk);
}

int
sfu_router_add_producer(struct sfu_router *r, struct sfu_producer *p,
    struct sfu_error *err)
{
	if (sfu_strmap_add(r->producers, sfu_producer_id(p), p) == -1) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "a producer with id '%s' already exists",
		    sfu_producer_id(p));
		return -1;
	}
	return 0;
}

void
sfu_router_remove_producer(struct sfu_router *r, struct sfu_producer *p)
{
	sfu_strmap_remove(r->producers, sfu_producer_id(p));
}

struct sfu_producer *
sfu_router_find_producer(const struct sfu_router *r, const char *id)
{
	return sfu_strmap_get(r->producers, id);
}

/* --- requests --- */

static void
router_pack_ids(void *arg, const char *key, void *value)
{
	(void)value;
	sfu_msg_pack_str(arg, key);
}

static void
router_dump(struct sfu_router *r, struct sfu_channel_request *req)
{
	msgpack_packer *pk = NULL;

	pk = sfu_channel_request_begin_data(req);
	msgpack_pack_map(pk, 4);
	sfu_msg_pack_kv_str(pk, "id", r->id);
	sfu_msg_pack_str(pk, "transportIds");
	msgpack_pack_array(pk, sfu_strmap_count(r->transports));
	sfu_strmap_foreach(r->transports, router_pack_ids, pk);
	sfu_msg_pack_str(pk, "producerIds");
	msgpack_pack_array(pk, sfu_strmap_count(r->producers));
	sfu_strmap_foreach(r->producers, router_pack_ids, pk);
	sfu_msg_pack_str(pk, "rtpCapabilities");
	sfu_rtp_capabilities_pack(&r->caps, pk);
	sfu_channel_request_accept_data(req);
}

static void
router_can_consume(struct sfu_router *r, struct sfu_channel_request *req)
{
	struct sfu_rtp_capabilities *caps = NULL;
	struct sfu_producer *p = NULL;
	const msgpack_object *o = NULL;
	struct sfu_error err = { 0 };
	char pid[SFU_MSG_ID_MAX];
	msgpack_packer *pk = NULL;
	bool ok = false;

	if (sfu_msg_get_strbuf(req->env.data, "data", "producerId",
	    SFU_MSG_REQUIRED, pid, sizeof(pid), &err) != 1 ||
	    sfu_msg_get_map(req->env.data, "data", "rtpCapabilities",
	    SFU_MSG_REQUIRED, &o, &err) != 1) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	p = sfu_router_find_producer(r, pid);
	if (p == NULL) {
		sfu_channel_request_error(req, SFU_ERR_NOT_FOUND,
		    "data.producerId: no producer '%s' in this router", pid);
		return;
	}
	caps = sfu_xcalloc(1, sizeof(*caps));
	if (sfu_rtp_capabilities_read(o, "data.rtpCapabilities", caps,
	    &err) == -1) {
		free(caps);
		sfu_channel_request_error_from(req, &err);
		return;
	}
	ok = sfu_ortc_can_consume(sfu_producer_consumable(p), caps);
	free(caps);
	pk = sfu_channel_request_begin_data(req);
	msgpack_pack_map(pk, 1);
	sfu_msg_pack_kv_bool(pk, "canConsume", ok);
	sfu_channel_request_accept_data(req);
}

/* router.createPlainTransport / router.createWebRtcTransport. */
static void
router_create_transport(struct sfu_router *r, struct sfu_channel_request *req,
    bool webrtc)
{
	struct sfu_transport *t = NULL;
	struct sfu_error err = { 0 };
	msgpack_packer *pk = NULL;

	if (req->env.data == NULL) {
		sfu_channel_request_error(req, SFU_ERR_TYPE, "data: missing");
		return;
	}
	t = webrtc ? sfu_webrtc_transport_new(r->ctx, r, req->env.data, &err) :
	    sfu_plain_transport_new(r->ctx, r, req->env.data, &err);
	if (t == NULL) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	SFU_ASSERT(sfu_strmap_add(r->transports, sfu_transport_id(t), t) ==
	    0);
	pk = sfu_channel_request_begin_data(req);
	sfu_transport_pack_dump(t, pk);
	sfu_channel_request_accept_data(req);
}

static bool
router_close_transport(struct sfu_router *r, const char *id)
{
	struct sfu_transport *t = NULL;

	t = sfu_strmap_remove(r->transports, id);
	if (t == NULL) {
		return false;
	}
	sfu_transport_free(t);
	return true;
}

/* transport.close, addressed to the transport, asks us to do it. */
void
sfu_router_close_transport(struct sfu_router *r, const char *id)
{
	router_close_transport(r, id);
}

static void
router_handle_request(void *ctx, struct sfu_channel_request *req)
{
	struct sfu_router *r = ctx;
	struct sfu_error err = { 0 };
	char id[SFU_MSG_ID_MAX];
	const char *m = req->env.method;

	if (strcmp(m, "router.dump") == 0) {
		router_dump(r, req);
	} else if (strcmp(m, "router.canConsume") == 0) {
		if (req->env.data == NULL) {
			sfu_channel_request_error(req, SFU_ERR_TYPE,
			    "data: missing");
			return;
		}
		router_can_consume(r, req);
	} else if (strcmp(m, "router.createPlainTransport") == 0) {
		router_create_transport(r, req, false);
	} else if (strcmp(m, "router.createWebRtcTransport") == 0) {
		router_create_transport(r, req, true);
	} else if (strcmp(m, "router.closeTransport") == 0) {
		if (sfu_msg_get_strbuf(req->env.data, "data", "transportId",
		    SFU_MSG_REQUIRED, id, sizeof(id), &err) != 1) {
			sfu_channel_request_error_from(req, &err);
			return;
		}
		if (!router_close_transport(r, id)) {
			sfu_channel_request_error(req, SFU_ERR_NOT_FOUND,
			    "data.transportId: no transport '%s' in this "
			    "router", id);
			return;
		}
		sfu_channel_request_accept(req);
	} else if (strcmp(m, "router.close") == 0) {
		/* The worker owns us: it frees us and answers. */
		r->ctx->close_router(r->ctx->owner, r, req);
	} else if (strcmp(m, "router.createPipeTransport") == 0 ||
	    strcmp(m, "router.createDirectTransport") == 0 ||
	    strcmp(m, "router.createActiveSpeakerObserver") == 0 ||
	    strcmp(m, "router.createAudioLevelObserver") == 0 ||
	    strcmp(m, "router.closeRtpObserver") == 0) {
		sfu_channel_request_error(req, SFU_ERR_UNSUPPORTED,
		    "%s is not implemented yet", m);
	} else {
		sfu_channel_request_error(req, SFU_ERR_ERROR,
		    "unknown method '%s'", m);
	}
}
