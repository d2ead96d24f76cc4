/*
 * SPDX-License-Identifier: MIT
 *
 * A signal delivered as a loop event (libevent signal event): the callback
 * runs on the loop, so it may log, allocate and reload. Only one event_base
 * per process may watch signals; embedded workers therefore never do.
 */
#ifndef SFU_COMMON_SIGNAL_HANDLE_H
#define SFU_COMMON_SIGNAL_HANDLE_H

#include <event2/event.h>

#include "common/error.h"

struct sfu_signal_handle;

typedef void (*sfu_signal_handle_cb)(void *ctx, struct sfu_signal_handle *h,
    int signo);

struct sfu_signal_handle *sfu_signal_handle_new(struct event_base *base,
	    int signo, sfu_signal_handle_cb cb, void *ctx,
	    struct sfu_error *err);
/* NULL-safe; restores the default handling libevent had replaced. */
void	sfu_signal_handle_free(struct sfu_signal_handle *h);

#endif
