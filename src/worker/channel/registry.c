/*
 * SPDX-License-Identifier: MIT
 *
 * handlerId -> handler, on top of common/strmap. Ids come from clients;
 * their length is bounded by SFU_MSG_ID_MAX and their number by what the
 * client created.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "common/strmap.h"
#include "worker/channel/registry.h"

struct registry_handler {
	sfu_method_cb	 handler;
	void		*ctx;		/* borrowed: the entity */
};

struct sfu_registry {
	struct sfu_strmap	*map;	/* owned; values: registry_handler */
};

struct sfu_registry *
sfu_registry_new(void)
{
	struct sfu_registry *reg = NULL;

	reg = sfu_xcalloc(1, sizeof(*reg));
	reg->map = sfu_strmap_new();
	return reg;
}

static void
registry_free_handler(void *arg, const char *key, void *value)
{
	(void)arg;
	(void)key;
	free(value);
}

void
sfu_registry_free(struct sfu_registry *reg)
{
	if (reg == NULL) {
		return;
	}
	sfu_strmap_foreach(reg->map, registry_free_handler, NULL);
	sfu_strmap_free(reg->map);
	free(reg);
}

int
sfu_registry_add(struct sfu_registry *reg, const char *id,
    sfu_method_cb handler, void *ctx, struct sfu_error *err)
{
	struct registry_handler *h = NULL;
	size_t len = strlen(id);

	if (len == 0) {
		sfu_error_set(err, SFU_ERR_TYPE, "id is empty");
		return -1;
	}
	if (len >= SFU_MSG_ID_MAX) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "id is longer than %d bytes", SFU_MSG_ID_MAX - 1);
		return -1;
	}
	if (sfu_strmap_get(reg->map, id) != NULL) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "an entity with id '%s' already exists", id);
		return -1;
	}
	h = sfu_xcalloc(1, sizeof(*h));
	h->handler = handler;
	h->ctx = ctx;
	SFU_ASSERT(sfu_strmap_add(reg->map, id, h) == 0);
	return 0;
}

int
sfu_registry_remove(struct sfu_registry *reg, const char *id)
{
	struct registry_handler *h = NULL;

	h = sfu_strmap_remove(reg->map, id);
	if (h == NULL) {
		return -1;
	}
	free(h);
	return 0;
}

bool
sfu_registry_lookup(const struct sfu_registry *reg, const char *id,
    sfu_method_cb *handler, void **ctx)
{
	const struct registry_handler *h = NULL;

	h = sfu_strmap_get(reg->map, id);
	if (h == NULL) {
		return false;
	}
	*handler = h->handler;
	*ctx = h->ctx;
	return true;
}

size_t
sfu_registry_count(const struct sfu_registry *reg)
{
	return sfu_strmap_count(reg->map);
}

static void
registry_pack_id(void *arg, const char *key, void *value)
{
	(void)value;
	sfu_msg_pack_str(arg, key);
}

void
sfu_registry_dump_ids(const struct sfu_registry *reg, msgpack_packer *pk)
{
	msgpack_pack_array(pk, sfu_strmap_count(reg->map));
	sfu_strmap_foreach(reg->map, registry_pack_id, pk);
}
