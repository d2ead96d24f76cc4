/*
 * SPDX-License-Identifier: MIT
 *
 * A one-shot or repeating timer on the loop. Timers are always owned by an
 * object (never event_base_once()).
 */
#ifndef SFU_COMMON_TIMER_HANDLE_H
#define SFU_COMMON_TIMER_HANDLE_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

struct sfu_timer_handle;

/* Fires on the loop thread; may stop, restart or free the timer. */
typedef void (*sfu_timer_handle_cb)(void *ctx, struct sfu_timer_handle *t);

/* Aborts on allocation failure like sfu_xmalloc. */
struct sfu_timer_handle *sfu_timer_handle_new(struct event_base *base,
	    sfu_timer_handle_cb cb, void *ctx);
/* NULL-safe. */
void	sfu_timer_handle_free(struct sfu_timer_handle *t);
/*
 * (Re)arms: first fire after timeout_ms, then every repeat_ms (0: once).
 */
void	sfu_timer_handle_start(struct sfu_timer_handle *t, uint64_t timeout_ms,
	    uint64_t repeat_ms);
void	sfu_timer_handle_stop(struct sfu_timer_handle *t);
bool	sfu_timer_handle_is_active(const struct sfu_timer_handle *t);

#endif
