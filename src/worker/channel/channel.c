/*
 * SPDX-License-Identifier: MIT
 *
 * The worker channel: fd pair or embedded callbacks below, requests above.
 * Owns the transport's handles, the frame decoder and the builder used for
 * responses. Never frees itself; the owner frees it outside its callbacks.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#define SFU_LOG_MODULE "channel"
#include "common/frame.h"
#include "common/handle/async_handle.h"
#include "common/handle/stream_handle.h"
#include "common/handle/timer_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "worker/channel/channel.h"
#include "worker/channel/channel_request.h"

/* The waker handed to an embedding host: just our async handle. */
struct sfu_worker_waker {
	struct sfu_async_handle	*async;	/* borrowed from the channel */
};

struct sfu_channel {
	struct event_base	*base;		/* borrowed */
	const struct sfu_channel_listener *listener;
	void			*ctx;		/* borrowed: the owner */

	/* fd transport */
	struct sfu_stream_handle *in;		/* owned, NULL when embedded */
	struct sfu_stream_handle *out;		/* owned, NULL when embedded */
	struct sfu_frame_decoder decoder;

	/* embedded transport */
	const struct sfu_worker_channel_ops *ops;	/* borrowed */
	struct sfu_async_handle	*async;		/* owned */
	struct sfu_worker_waker	 waker;

	struct sfu_msg_builder	 builder;	/* responses */
	struct sfu_timer_handle	*flush_timer;	/* owned: shutdown bound */
	bool			 shutting_down;
	bool			 flushed;
	bool			 closed;

	uint64_t		 requests;	/* well-formed requests */
	uint64_t		 invalid;	/* malformed messages */
	uint64_t		 oversize;	/* frames over the limit */
	uint64_t		 dropped_out;	/* messages not sent */
	uint64_t		 sent;		/* messages sent */
};

static void
channel_report_closed(struct sfu_channel *ch)
{
	if (ch->closed) {
		return;
	}
	ch->closed = true;
	ch->listener->on_closed(ch->ctx, ch);
}

static void
channel_report_flushed(struct sfu_channel *ch)
{
	if (ch->flushed) {
		return;
	}
	ch->flushed = true;
	sfu_timer_handle_stop(ch->flush_timer);
	ch->listener->on_flushed(ch->ctx, ch);
}

/* --- input: one message --- */

static void
channel_reply_invalid(struct sfu_channel *ch, const uint8_t *data,
    size_t len, bool has_id, uint32_t id, const char *reason)
{
	ch->invalid++;
	if (!has_id) {
		has_id = sfu_msg_peek_id(data, len, &id);
	}
	if (!has_id) {
		SFU_LOG_WARN("dropped invalid message without readable id "
		    "[len:%zu reason:%s]", len, reason);
		return;
	}
	SFU_LOG_WARN("invalid request [id:%u reason:%s]", id, reason);
	sfu_msg_build_error(&ch->builder, id, SFU_ERR_TYPE, reason);
	sfu_channel_send_built(ch);
}

static void
channel_handle_message(struct sfu_channel *ch, const uint8_t *data,
    size_t len)
{
	struct sfu_channel_request req;
	struct sfu_error err = { 0 };
	struct sfu_msg m;

	if (sfu_msg_decode(&m, data, len, &err) == -1) {
		channel_reply_invalid(ch, data, len, false, 0, err.reason);
		goto out;
	}
	memset(&req, 0, sizeof(req));
	req.channel = ch;
	if (sfu_msg_parse_request(m.root, &req.env, &err) == -1) {
		channel_reply_invalid(ch, data, len, req.env.has_id,
		    req.env.id, err.reason);
		goto out;
	}
	ch->requests++;
	SFU_LOG_DEBUG("request [id:%u method:%s handlerId:%s]", req.env.id,
	    req.env.method, req.env.has_handler_id ? req.env.handler_id : "");
	ch->listener->on_request(ch->ctx, ch, &req);
	SFU_ASSERT(req.replied);
out:
	sfu_msg_release(&m);
}

/* --- fd transport --- */

static void
channel_on_in_read(void *ctx, struct sfu_stream_handle *h,
    struct evbuffer *in)
{
	struct sfu_channel *ch = ctx;
	const uint8_t *payload = NULL;
	size_t len = 0;
	size_t peek = 0;
	uint32_t id = 0;
	char reason[128];

	(void)h;
	while (!ch->shutting_down && !ch->closed) {
		switch (sfu_frame_decode(&ch->decoder, in, &payload, &len,
		    &peek)) {
		case SFU_FRAME_OK:
			channel_handle_message(ch, payload, len);
			break;
		case SFU_FRAME_OVERSIZE:
			ch->oversize++;
			snprintf(reason, sizeof(reason),
			    "message of %zu bytes exceeds the limit of %u",
			    len, SFU_FRAME_MAX_LEN);
			if (sfu_msg_peek_id(payload, peek, &id)) {
				channel_reply_invalid(ch, payload, peek, true,
				    id, reason);
			} else {
				channel_reply_invalid(ch, payload, 0, false, 0,
				    reason);
			}
			break;
		case SFU_FRAME_LOST:
			ch->invalid++;
			SFU_LOG_ERROR("framing lost: frame length %zu "
			    "is absurd, closing the channel", len);
			channel_report_closed(ch);
			return;
		case SFU_FRAME_AGAIN:
		default:
			return;
		}
	}
}

static void
channel_on_out_drained(void *ctx, struct sfu_stream_handle *h)
{
	struct sfu_channel *ch = ctx;

	(void)h;
	if (ch->shutting_down) {
		channel_report_flushed(ch);
	}
}

static void
channel_on_stream_closed(void *ctx, struct sfu_stream_handle *h, int error)
{
	struct sfu_channel *ch = ctx;

	if (error != 0) {
		SFU_LOG_WARN("channel %s fd failed: %s",
		    h == ch->in ? "input" : "output", strerror(error));
	} else {
		SFU_LOG_DEBUG("channel input closed (EOF)");
	}
	if (h == ch->out && ch->shutting_down) {
		channel_report_flushed(ch);
		return;
	}
	channel_report_closed(ch);
}

static const struct sfu_stream_handle_listener channel_in_listener = {
	.on_read = channel_on_in_read,
	.on_drained = NULL,
	.on_closed = channel_on_stream_closed,
};

static const struct sfu_stream_handle_listener channel_out_listener = {
	.on_read = NULL,
	.on_drained = channel_on_out_drained,
	.on_closed = channel_on_stream_closed,
};

/* --- embedded transport --- */

static void
channel_on_async(void *ctx, struct sfu_async_handle *a)
{
	struct sfu_channel *ch = ctx;
	uint8_t *msg = NULL;
	size_t len = 0;
	int i = 0;
	int r = 0;

	for (i = 0; i < SFU_CHANNEL_READ_BATCH; i++) {
		if (ch->shutting_down || ch->closed) {
			return;
		}
		msg = NULL;
		len = 0;
		r = ch->ops->read(ch->ops->ctx, &ch->waker, &msg, &len);
		if (r == 0) {
			return;
		}
		if (r < 0) {
			channel_report_closed(ch);
			return;
		}
		if (len > SFU_FRAME_MAX_LEN) {
			ch->oversize++;
			channel_reply_invalid(ch, msg, len, false, 0,
			    "message exceeds the size limit");
		} else {
			channel_handle_message(ch, msg, len);
		}
		free(msg);
	}

	/* More may be waiting: yield to the loop, then read on. */
	sfu_async_handle_send(a);
}

/* --- shared --- */

static void
channel_on_flush_timeout(void *ctx, struct sfu_timer_handle *t)
{
	struct sfu_channel *ch = ctx;

	(void)t;
	if (ch->out != NULL && sfu_stream_handle_pending_out(ch->out) > 0) {
		SFU_LOG_WARN("channel shutdown: %zu bytes of output not "
		    "delivered", sfu_stream_handle_pending_out(ch->out));
	}
	channel_report_flushed(ch);
}

static struct sfu_channel *
channel_alloc(struct event_base *base,
    const struct sfu_channel_listener *listener, void *ctx)
{
	struct sfu_channel *ch = NULL;

	ch = sfu_xcalloc(1, sizeof(*ch));
	ch->base = base;
	ch->listener = listener;
	ch->ctx = ctx;
	sfu_frame_decoder_init(&ch->decoder);
	sfu_msg_builder_init(&ch->builder);
	ch->flush_timer = sfu_timer_handle_new(base, channel_on_flush_timeout,
	    ch);
	return ch;
}

struct sfu_channel *
sfu_channel_new_fd(struct event_base *base, int in_fd, int out_fd,
    const struct sfu_channel_listener *listener, void *ctx,
    struct sfu_error *err)
{
	struct sfu_channel *ch = NULL;

	ch = channel_alloc(base, listener, ctx);
	ch->out = sfu_stream_handle_new(base, out_fd, SFU_STREAM_WRITE,
	    SFU_CHANNEL_MAX_OUT_LEN, &channel_out_listener, ch, err);
	if (ch->out == NULL) {
		goto fail;
	}
	ch->in = sfu_stream_handle_new(base, in_fd, SFU_STREAM_READ,
	    SFU_CHANNEL_MAX_OUT_LEN, &channel_in_listener, ch, err);
	if (ch->in == NULL) {
		goto fail;
	}
	return ch;
fail:
	sfu_channel_free(ch);
	return NULL;
}

struct sfu_channel *
sfu_channel_new_embedded(struct event_base *base,
    const struct sfu_worker_channel_ops *ops,
    const struct sfu_channel_listener *listener, void *ctx,
    struct sfu_error *err)
{
	struct sfu_channel *ch = NULL;

	if (ops == NULL || ops->read == NULL || ops->write == NULL) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "embedded channel needs read and write callbacks");
		return NULL;
	}
	ch = channel_alloc(base, listener, ctx);
	ch->ops = ops;
	ch->async = sfu_async_handle_new(base, channel_on_async, ch);
	ch->waker.async = ch->async;
	return ch;
}

void
sfu_channel_start(struct sfu_channel *ch)
{
	if (ch->ops != NULL) {
		/* The first read hands the host its waker. */
		sfu_async_handle_send(ch->async);
	}
}

void
sfu_channel_free(struct sfu_channel *ch)
{
	uint8_t *msg = NULL;
	size_t len = 0;

	if (ch == NULL) {
		return;
	}
	if (ch->ops != NULL) {
		/* Tell the host to forget the waker; drop what it still has. */
		while (ch->ops->read(ch->ops->ctx, NULL, &msg, &len) == 1) {
			free(msg);
			msg = NULL;
		}
	}
	sfu_stream_handle_free(ch->in);
	sfu_stream_handle_free(ch->out);
	sfu_async_handle_free(ch->async);
	sfu_timer_handle_free(ch->flush_timer);
	sfu_frame_decoder_release(&ch->decoder);
	sfu_msg_builder_release(&ch->builder);
	free(ch);
}

void
sfu_channel_shutdown(struct sfu_channel *ch, uint64_t timeout_ms)
{
	if (ch->shutting_down) {
		return;
	}
	ch->shutting_down = true;
	if (ch->in != NULL) {
		sfu_stream_handle_stop_reading(ch->in);
	}
	if (ch->out == NULL || sfu_stream_handle_is_closed(ch->out) ||
	    sfu_stream_handle_pending_out(ch->out) == 0) {
		timeout_ms = 0;	/* nothing to wait for: report from the loop */
	}
	sfu_timer_handle_start(ch->flush_timer, timeout_ms, 0);
}

struct sfu_msg_builder *
sfu_channel_builder(struct sfu_channel *ch)
{
	return &ch->builder;
}

static int
channel_send(struct sfu_channel *ch, const uint8_t *data, size_t len)
{
	struct iovec iov[2];
	uint8_t hdr[SFU_FRAME_HEADER_LEN];

	if (ch->ops != NULL) {
		if (ch->closed) {
			ch->dropped_out++;
			return -1;
		}
		ch->ops->write(ch->ops->ctx, data, len);
		ch->sent++;
		return 0;
	}
	if (len > SFU_FRAME_MAX_LEN) {
		SFU_LOG_ERROR("dropped outgoing message of %zu bytes "
		    "(over the frame limit)", len);
		ch->dropped_out++;
		return -1;
	}
	SFU_ASSERT(sfu_frame_iov(iov, hdr, data, len) == 0);
	if (sfu_stream_handle_writev(ch->out, iov, 2) == -1) {
		ch->dropped_out++;
		SFU_LOG_WARN("dropped outgoing message of %zu bytes "
		    "(output full or closed) [dropped:%llu]", len,
		    (unsigned long long)ch->dropped_out);
		return -1;
	}
	ch->sent++;
	return 0;
}

int
sfu_channel_send_built(struct sfu_channel *ch)
{
	return channel_send(ch, (const uint8_t *)ch->builder.sbuf.data,
	    ch->builder.sbuf.size);
}

int
sfu_channel_send_raw(struct sfu_channel *ch, const uint8_t *data, size_t len)
{
	return channel_send(ch, data, len);
}

void
sfu_channel_dump(const struct sfu_channel *ch, msgpack_packer *pk)
{
	msgpack_pack_map(pk, 7);
	sfu_msg_pack_kv_str(pk, "transport", ch->ops != NULL ? "embedded" :
	    "fd");
	sfu_msg_pack_kv_uint(pk, "requests", ch->requests);
	sfu_msg_pack_kv_uint(pk, "invalidMessages", ch->invalid);
	sfu_msg_pack_kv_uint(pk, "oversizeMessages", ch->oversize);
	sfu_msg_pack_kv_uint(pk, "messagesSent", ch->sent);
	sfu_msg_pack_kv_uint(pk, "messagesDropped", ch->dropped_out);
	sfu_msg_pack_kv_uint(pk, "pendingOutputBytes",
	    ch->out != NULL ? sfu_stream_handle_pending_out(ch->out) : 0);
}

void
sfu_worker_wake(struct sfu_worker_waker *waker)
{
	if (waker != NULL) {
		sfu_async_handle_send(waker->async);
	}
}
