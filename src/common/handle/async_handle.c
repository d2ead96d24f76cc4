/*
 * SPDX-License-Identifier: MIT
 *
 * async_handle: event_active() on a pure event from any thread. libevent
 * with evthread_use_pthreads() locks the base and wakes its loop (through
 * its internal notification fd), which is exactly what we need.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include <event2/thread.h>

#include "common/handle/async_handle.h"
#include "common/log.h"
#include "common/mem.h"

struct sfu_async_handle {
	struct event		*ev;	/* owned */
	sfu_async_handle_cb	 cb;
	void			*ctx;	/* borrowed: the owner */
};

static pthread_once_t async_handle_once = PTHREAD_ONCE_INIT;
static int async_handle_init_result = -1;

static void
async_handle_init_once(void)
{
	async_handle_init_result = evthread_use_pthreads();
}

int
sfu_async_handle_global_init(void)
{
	pthread_once(&async_handle_once, async_handle_init_once);
	return async_handle_init_result;
}

static void
async_handle_on_active(evutil_socket_t fd, short what, void *arg)
{
	struct sfu_async_handle *h = arg;

	(void)fd;
	(void)what;
	h->cb(h->ctx, h);
}

struct sfu_async_handle *
sfu_async_handle_new(struct event_base *base, sfu_async_handle_cb cb,
    void *ctx)
{
	struct sfu_async_handle *h = NULL;

	h = sfu_xcalloc(1, sizeof(*h));
	h->cb = cb;
	h->ctx = ctx;
	h->ev = event_new(base, -1, 0, async_handle_on_active, h);
	SFU_ASSERT(h->ev != NULL);
	return h;
}

void
sfu_async_handle_free(struct sfu_async_handle *h)
{
	if (h == NULL) {
		return;
	}
	if (h->ev != NULL) {
		event_free(h->ev);
		h->ev = NULL;
	}
	free(h);
}

void
sfu_async_handle_send(struct sfu_async_handle *h)
{
	event_active(h->ev, EV_READ, 0);
}
