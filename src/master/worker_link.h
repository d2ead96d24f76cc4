/*
 * SPDX-License-Identifier: MIT
 *
 * The master's end of one worker process: the channel (requests out on the
 * worker's fd 3, responses and notifications in from its fd 4) and the
 * pipe carrying the worker's stdout/stderr, each line of which is written
 * into the master's log prefixed "worker N pid P".
 */
#ifndef SFU_MASTER_WORKER_LINK_H
#define SFU_MASTER_WORKER_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <msgpack.h>

#include "common/error.h"

struct sfu_worker_link;

struct sfu_worker_link_listener {
	/*
	 * One message from the worker: root is the decoded map, raw/len its
	 * encoded bytes (both valid during the call). May free the link
	 * (root and raw are invalid from then on).
	 */
	void	(*on_message)(void *ctx, struct sfu_worker_link *l,
		    const msgpack_object *root, const uint8_t *raw,
		    size_t len);
	/*
	 * The channel broke (EOF or error on fd 4's end, framing lost, or
	 * the worker stopped reading and the output bound was passed).
	 * Called at most once. The owner frees the link (here or later).
	 */
	void	(*on_closed)(void *ctx, struct sfu_worker_link *l);
};

/* Bound of requests queued for a worker that does not read, bytes. */
#define SFU_WORKER_LINK_MAX_OUT_LEN	(64u * 1024 * 1024)
/* Longest log line kept from a worker; longer ones are cut. */
#define SFU_WORKER_LINK_MAX_LOG_LINE	8192

/*
 * Takes ownership of the three fds (closed on free, also on failure).
 * index and pid are used in log prefixes.
 */
struct sfu_worker_link *sfu_worker_link_new(struct event_base *base,
	    unsigned index, pid_t pid, int req_fd, int resp_fd, int log_fd,
	    const struct sfu_worker_link_listener *listener, void *ctx,
	    struct sfu_error *err);
/* NULL-safe; calls no callback. Reads what is left of the log pipe first. */
void	sfu_worker_link_free(struct sfu_worker_link *l);

/*
 * Sends one encoded message (a map) as a frame. Returns 0, or -1 when the
 * link is closed or shut down, the message is over SFU_FRAME_MAX_LEN, or
 * the output bound would be passed (the message is dropped; the caller
 * fails the request). Passing the bound also breaks the link: on_closed
 * follows from the loop, never from inside this call.
 */
int	sfu_worker_link_send(struct sfu_worker_link *l, const uint8_t *msg,
	    size_t len);
/*
 * Closes the request side once what is queued has been written (the
 * worker then sees EOF on fd 3); later sends fail. Not a broken channel:
 * on_closed is not called for it.
 */
void	sfu_worker_link_shutdown(struct sfu_worker_link *l);

#endif
