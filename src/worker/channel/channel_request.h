/*
 * SPDX-License-Identifier: MIT
 *
 * One request received on the channel and its single reply. Handlers are
 * found through method tables (struct sfu_method), worker-level ones by
 * the worker, entity-level ones through the registry (handlerId).
 */
#ifndef SFU_WORKER_CHANNEL_REQUEST_H
#define SFU_WORKER_CHANNEL_REQUEST_H

#include <stdbool.h>

#include <msgpack.h>

#include "common/error.h"
#include "common/msg.h"

struct sfu_channel;

struct sfu_channel_request {
	struct sfu_channel	*channel;	/* borrowed */
	struct sfu_msg_request	 env;		/* id, method, handlerId, data */
	bool			 replied;
	bool			 building;	/* between begin_data and accept_data */
};

typedef void (*sfu_method_cb)(void *ctx, struct sfu_channel_request *req);

struct sfu_method {
	const char	*name;
	sfu_method_cb	 fn;
};

/*
 * Finds req's method in a NULL-terminated table and calls it. Returns
 * false when the table has no such method (nothing replied).
 */
bool	sfu_method_dispatch(const struct sfu_method *table, void *ctx,
	    struct sfu_channel_request *req);

/* accepted: true, no data. */
void	sfu_channel_request_accept(struct sfu_channel_request *req);
/*
 * accepted: true with data: pack exactly one value (usually a map) into
 * the returned packer, then call sfu_channel_request_accept_data().
 */
msgpack_packer *sfu_channel_request_begin_data(struct sfu_channel_request *req);
void	sfu_channel_request_accept_data(struct sfu_channel_request *req);
/* An error response; the reason should name the field or object. */
void	sfu_channel_request_error(struct sfu_channel_request *req,
	    enum sfu_error_kind kind, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
void	sfu_channel_request_error_from(struct sfu_channel_request *req,
	    const struct sfu_error *err);

#endif
