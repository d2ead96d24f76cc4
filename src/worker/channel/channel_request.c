/*
 * SPDX-License-Identifier: MIT
 *
 * Replies to channel requests, exactly once each (asserted, as mediasoup
 * does), and method-table dispatch.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SFU_LOG_MODULE "channel_request"
#include "common/log.h"
#include "worker/channel/channel.h"
#include "worker/channel/channel_request.h"

bool
sfu_method_dispatch(const struct sfu_method *table, void *ctx,
    struct sfu_channel_request *req)
{
	const struct sfu_method *m = NULL;

	for (m = table; m->name != NULL; m++) {
		if (strcmp(m->name, req->env.method) == 0) {
			m->fn(ctx, req);
			return true;
		}
	}
	return false;
}

void
sfu_channel_request_accept(struct sfu_channel_request *req)
{
	SFU_ASSERT(!req->replied && !req->building);
	req->replied = true;
	sfu_msg_begin_response(sfu_channel_builder(req->channel), req->env.id,
	    false);
	sfu_channel_send_built(req->channel);
}

msgpack_packer *
sfu_channel_request_begin_data(struct sfu_channel_request *req)
{
	SFU_ASSERT(!req->replied && !req->building);
	req->building = true;
	return sfu_msg_begin_response(sfu_channel_builder(req->channel),
	    req->env.id, true);
}

void
sfu_channel_request_accept_data(struct sfu_channel_request *req)
{
	SFU_ASSERT(!req->replied && req->building);
	req->building = false;
	req->replied = true;
	sfu_channel_send_built(req->channel);
}

void
sfu_channel_request_error(struct sfu_channel_request *req,
    enum sfu_error_kind kind, const char *fmt, ...)
{
	struct sfu_error err;
	va_list ap;

	va_start(ap, fmt);
	sfu_error_setv(&err, kind, fmt, ap);
	va_end(ap);
	sfu_channel_request_error_from(req, &err);
}

void
sfu_channel_request_error_from(struct sfu_channel_request *req,
    const struct sfu_error *err)
{
	enum sfu_error_kind kind = err->kind;

	SFU_ASSERT(!req->replied && !req->building);
	req->replied = true;
	if (kind == SFU_ERR_NONE) {
		kind = SFU_ERR_ERROR;
	}
	SFU_LOG_DEBUG("request failed [id:%u method:%s error:%s reason:%s]",
	    req->env.id, req->env.method, sfu_error_kind_name(kind),
	    err->reason);
	sfu_msg_build_error(sfu_channel_builder(req->channel), req->env.id,
	    kind, err->reason);
	sfu_channel_send_built(req->channel);
}
