/*
 * SPDX-License-Identifier: MIT
 *
 * Wakes a loop from another thread (the libevent counterpart of libuv's
 * uv_async_send, used by mediasoup's embedded worker). Sends coalesce: the
 * callback runs at least once after any number of sends. Needs libevent's
 * pthread support, switched on by sfu_async_handle_global_init() before the
 * base is created.
 */
#ifndef SFU_COMMON_ASYNC_HANDLE_H
#define SFU_COMMON_ASYNC_HANDLE_H

#include <event2/event.h>

struct sfu_async_handle;

typedef void (*sfu_async_handle_cb)(void *ctx, struct sfu_async_handle *h);

/* Once per process, thread-safe (pthread_once). Returns 0 or -1. */
int	sfu_async_handle_global_init(void);
/* Aborts on allocation failure. The base must be thread-aware. */
struct sfu_async_handle *sfu_async_handle_new(struct event_base *base,
	    sfu_async_handle_cb cb, void *ctx);
/* NULL-safe; loop thread only, with no send racing (join first). */
void	sfu_async_handle_free(struct sfu_async_handle *h);
/* Any thread. */
void	sfu_async_handle_send(struct sfu_async_handle *h);

#endif
