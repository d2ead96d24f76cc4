/*
 * SPDX-License-Identifier: MIT
 *
 * The worker's channel to whoever drives it. Two transports hide behind
 * this one interface: the fd pair (fd 3 in, fd 4 out, length-prefixed
 * frames, bounded output) and the embedded callbacks of worker.h. Nothing
 * above this file can tell which one runs.
 *
 * Input is decoded here: frame -> MessagePack map -> request envelope.
 * Malformed input is answered with an error response when an id can be
 * read, counted and logged; the channel stays open unless framing is lost.
 */
#ifndef SFU_WORKER_CHANNEL_H
#define SFU_WORKER_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <msgpack.h>

#include "common/error.h"
#include "common/msg.h"
#include "worker/worker.h"

struct sfu_channel;
struct sfu_channel_request;

struct sfu_channel_listener {
	/*
	 * A well-formed request. The callee replies exactly once, before it
	 * returns (every worker method is synchronous).
	 */
	void	(*on_request)(void *ctx, struct sfu_channel *ch,
		    struct sfu_channel_request *req);
	/* The other side is gone (EOF, error, or the host closed). */
	void	(*on_closed)(void *ctx, struct sfu_channel *ch);
	/* After sfu_channel_shutdown(): all output delivered or given up. */
	void	(*on_flushed)(void *ctx, struct sfu_channel *ch);
};

/* Bound of unsent output on the fd transport, bytes. */
#define SFU_CHANNEL_MAX_OUT_LEN	(64u * 1024 * 1024)
/* Embedded transport: messages taken per wake-up before yielding. */
#define SFU_CHANNEL_READ_BATCH	64

/* fd transport; takes in_fd and out_fd (closed on free). */
struct sfu_channel *sfu_channel_new_fd(struct event_base *base, int in_fd,
	    int out_fd, const struct sfu_channel_listener *listener, void *ctx,
	    struct sfu_error *err);
/* Embedded transport; ops borrowed, must outlive the channel. */
struct sfu_channel *sfu_channel_new_embedded(struct event_base *base,
	    const struct sfu_worker_channel_ops *ops,
	    const struct sfu_channel_listener *listener, void *ctx,
	    struct sfu_error *err);
/*
 * Starts input: the embedded transport makes its first read here. Call
 * after the owner is ready to take requests.
 */
void	sfu_channel_start(struct sfu_channel *ch);
/* NULL-safe; calls no callback. */
void	sfu_channel_free(struct sfu_channel *ch);

/*
 * Stops reading and calls on_flushed once pending output is written (at
 * once on the embedded transport), or after timeout_ms.
 */
void	sfu_channel_shutdown(struct sfu_channel *ch, uint64_t timeout_ms);

/*
 * The channel's builder: pack one message with sfu_msg_begin_*, then
 * sfu_channel_send_built(). Only one message is built at a time.
 */
struct sfu_msg_builder *sfu_channel_builder(struct sfu_channel *ch);
/* Sends what the builder holds. Returns 0, or -1 when dropped (counted). */
int	sfu_channel_send_built(struct sfu_channel *ch);

/*
 * Sends one encoded message (a map) built elsewhere, e.g. by the notifier's
 * own builder. Returns 0, or -1 when dropped (counted).
 */
int	sfu_channel_send_raw(struct sfu_channel *ch, const uint8_t *data,
	    size_t len);

/* Packs counters as a map: requests, errors, dropped output... */
void	sfu_channel_dump(const struct sfu_channel *ch, msgpack_packer *pk);

#endif
