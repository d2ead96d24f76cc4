/*
 * SPDX-License-Identifier: MIT
 *
 * timer_handle: a libevent timer event with an optional repeat.
 */
#include "config.h"

#include <stdlib.h>

#include "common/handle/timer_handle.h"
#include "common/log.h"
#include "common/mem.h"

struct sfu_timer_handle {
	struct event		*ev;		/* owned */
	uint64_t		 repeat_ms;
	bool			 active;
	sfu_timer_handle_cb	 cb;
	void			*ctx;		/* borrowed: the owner */
};

static void
timer_handle_arm(struct sfu_timer_handle *t, uint64_t ms)
{
	struct timeval tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
	SFU_ASSERT(event_add(t->ev, &tv) == 0);
	t->active = true;
}

static void
timer_handle_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct sfu_timer_handle *t = arg;

	(void)fd;
	(void)what;
	t->active = false;
	if (t->repeat_ms > 0) {
		timer_handle_arm(t, t->repeat_ms);
	}
	t->cb(t->ctx, t);
}

struct sfu_timer_handle *
sfu_timer_handle_new(struct event_base *base, sfu_timer_handle_cb cb,
    void *ctx)
{
	struct sfu_timer_handle *t = NULL;

	t = sfu_xcalloc(1, sizeof(*t));
	t->cb = cb;
	t->ctx = ctx;
	t->ev = evtimer_new(base, timer_handle_on_timeout, t);
	SFU_ASSERT(t->ev != NULL);
	return t;
}

void
sfu_timer_handle_free(struct sfu_timer_handle *t)
{
	if (t == NULL) {
		return;
	}
	if (t->ev != NULL) {
		event_free(t->ev);
		t->ev = NULL;
	}
	free(t);
}

void
sfu_timer_handle_start(struct sfu_timer_handle *t, uint64_t timeout_ms,
    uint64_t repeat_ms)
{
	t->repeat_ms = repeat_ms;
	timer_handle_arm(t, timeout_ms);
}

void
sfu_timer_handle_stop(struct sfu_timer_handle *t)
{
	event_del(t->ev);
	t->active = false;
	t->repeat_ms = 0;
}

bool
sfu_timer_handle_is_active(const struct sfu_timer_handle *t)
{
	return t->active;
}
