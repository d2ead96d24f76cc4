/*
 * SPDX-License-Identifier: MIT
 *
 * The notifier: builds {targetId, event, data?} with a builder of its own,
 * so an event may be emitted while a response is being built.
 */
#include "config.h"

#include <stdlib.h>

#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "worker/channel/channel.h"
#include "worker/channel/notifier.h"

struct sfu_notifier {
	struct sfu_channel	*channel;	/* borrowed */
	struct sfu_msg_builder	 builder;
	bool			 building;
};

struct sfu_notifier *
sfu_notifier_new(struct sfu_channel *ch)
{
	struct sfu_notifier *n = NULL;

	n = sfu_xcalloc(1, sizeof(*n));
	n->channel = ch;
	sfu_msg_builder_init(&n->builder);
	return n;
}

void
sfu_notifier_free(struct sfu_notifier *n)
{
	if (n == NULL) {
		return;
	}
	sfu_msg_builder_release(&n->builder);
	free(n);
}

void
sfu_notifier_emit(struct sfu_notifier *n, const char *target_id,
    const char *event)
{
	SFU_ASSERT(!n->building);
	sfu_msg_begin_notification(&n->builder, target_id, event, false);
	sfu_channel_send_raw(n->channel, (const uint8_t *)n->builder.sbuf.data,
	    n->builder.sbuf.size);
}

msgpack_packer *
sfu_notifier_begin(struct sfu_notifier *n, const char *target_id,
    const char *event)
{
	SFU_ASSERT(!n->building);
	n->building = true;
	return sfu_msg_begin_notification(&n->builder, target_id, event, true);
}

void
sfu_notifier_send(struct sfu_notifier *n)
{
	SFU_ASSERT(n->building);
	n->building = false;
	sfu_channel_send_raw(n->channel, (const uint8_t *)n->builder.sbuf.data,
	    n->builder.sbuf.size);
}
