/*
 * SPDX-License-Identifier: MIT
 *
 * Events leave the worker only through here: {targetId, event, data?}.
 */
#ifndef SFU_WORKER_NOTIFIER_H
#define SFU_WORKER_NOTIFIER_H

#include <msgpack.h>

struct sfu_channel;
struct sfu_notifier;

/* ch is borrowed and must outlive the notifier. */
struct sfu_notifier *sfu_notifier_new(struct sfu_channel *ch);
void	sfu_notifier_free(struct sfu_notifier *n);
/* An event without data. */
void	sfu_notifier_emit(struct sfu_notifier *n, const char *target_id,
	    const char *event);
/*
 * An event with data: pack exactly one value into the returned packer,
 * then sfu_notifier_send().
 */
msgpack_packer *sfu_notifier_begin(struct sfu_notifier *n,
	    const char *target_id, const char *event);
void	sfu_notifier_send(struct sfu_notifier *n);

#endif
