/*
 * SPDX-License-Identifier: MIT
 *
 * handlerId -> handler: how requests reach routers, transports, producers
 * and the rest. An entity registers its id when created and removes it in
 * its free function. Ids are unique per worker.
 */
#ifndef SFU_WORKER_REGISTRY_H
#define SFU_WORKER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include <msgpack.h>

#include "common/error.h"
#include "worker/channel/channel_request.h"

struct sfu_registry;

struct sfu_registry *sfu_registry_new(void);
/* NULL-safe. Entries must have been removed by their owners. */
void	sfu_registry_free(struct sfu_registry *reg);
/*
 * Adds id (copied). Returns 0, or -1 with err (SFU_ERR_TYPE) when id is
 * empty, too long (>= SFU_MSG_ID_MAX bytes) or already taken.
 */
int	sfu_registry_add(struct sfu_registry *reg, const char *id,
	    sfu_method_cb handler, void *ctx, struct sfu_error *err);
/* Returns 0, or -1 when id is not registered. */
int	sfu_registry_remove(struct sfu_registry *reg, const char *id);
/* Returns true and the handler of id, or false. */
bool	sfu_registry_lookup(const struct sfu_registry *reg, const char *id,
	    sfu_method_cb *handler, void **ctx);
size_t	sfu_registry_count(const struct sfu_registry *reg);
/* Packs the ids as an array (unordered). */
void	sfu_registry_dump_ids(const struct sfu_registry *reg,
	    msgpack_packer *pk);

#endif
