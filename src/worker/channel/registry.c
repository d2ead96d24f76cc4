/*
 * SPDX-License-Identifier: MIT
 *
 * A chained hash table from handlerId to handler. Ids come from clients,
 * so the table grows with them; the id length is bounded by
 * SFU_MSG_ID_MAX and the number of entries by what the client created.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "worker/channel/registry.h"

struct registry_entry {
	char			*id;		/* owned */
	uint32_t		 hash;
	sfu_method_cb		 handler;
	void			*ctx;		/* borrowed: the entity */
	struct registry_entry	*next;		/* owned: rest of the chain */
};

struct sfu_registry {
	struct registry_entry	**buckets;	/* owned */
	size_t			 nbuckets;	/* a power of two */
	size_t			 count;
};

#define REGISTRY_MIN_BUCKETS 16

/* FNV-1a, 32 bits. */
static uint32_t
registry_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0') {
		h ^= (uint8_t)*s++;
		h *= 16777619u;
	}
	return h;
}

struct sfu_registry *
sfu_registry_new(void)
{
	struct sfu_registry *reg = NULL;

	reg = sfu_xcalloc(1, sizeof(*reg));
	reg->nbuckets = REGISTRY_MIN_BUCKETS;
	reg->buckets = sfu_xcalloc(reg->nbuckets, sizeof(*reg->buckets));
	return reg;
}

void
sfu_registry_free(struct sfu_registry *reg)
{
	struct registry_entry *e = NULL;
	struct registry_entry *next = NULL;
	size_t i = 0;

	if (reg == NULL) {
		return;
	}
	for (i = 0; i < reg->nbuckets; i++) {
		for (e = reg->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e->id);
			free(e);
		}
	}
	free(reg->buckets);
	free(reg);
}

static void
registry_grow(struct sfu_registry *reg)
{
	struct registry_entry **nb = NULL;
	struct registry_entry *e = NULL;
	struct registry_entry *next = NULL;
	size_t n = reg->nbuckets * 2;
	size_t i = 0;

	nb = sfu_xcalloc(n, sizeof(*nb));
	for (i = 0; i < reg->nbuckets; i++) {
		for (e = reg->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(reg->buckets);
	reg->buckets = nb;
	reg->nbuckets = n;
}

static struct registry_entry **
registry_find(const struct sfu_registry *reg, const char *id, uint32_t hash)
{
	struct registry_entry **pe = NULL;

	pe = &reg->buckets[hash & (reg->nbuckets - 1)];
	while (*pe != NULL) {
		if ((*pe)->hash == hash && strcmp((*pe)->id, id) == 0) {
			return pe;
		}
		pe = &(*pe)->next;
	}
	return pe;
}

int
sfu_registry_add(struct sfu_registry *reg, const char *id,
    sfu_method_cb handler, void *ctx, struct sfu_error *err)
{
	struct registry_entry **pe = NULL;
	struct registry_entry *e = NULL;
	uint32_t hash = 0;
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
	hash = registry_hash(id);
	pe = registry_find(reg, id, hash);
	if (*pe != NULL) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "an entity with id '%s' already exists", id);
		return -1;
	}
	e = sfu_xcalloc(1, sizeof(*e));
	e->id = sfu_xstrdup(id);
	e->hash = hash;
	e->handler = handler;
	e->ctx = ctx;
	*pe = e;
	reg->count++;
	if (reg->count > reg->nbuckets - reg->nbuckets / 4) {
		registry_grow(reg);
	}
	return 0;
}

int
sfu_registry_remove(struct sfu_registry *reg, const char *id)
{
	struct registry_entry **pe = NULL;
	struct registry_entry *e = NULL;

	pe = registry_find(reg, id, registry_hash(id));
	if (*pe == NULL) {
		return -1;
	}
	e = *pe;
	*pe = e->next;
	free(e->id);
	free(e);
	reg->count--;
	return 0;
}

bool
sfu_registry_lookup(const struct sfu_registry *reg, const char *id,
    sfu_method_cb *handler, void **ctx)
{
	struct registry_entry **pe = NULL;

	pe = registry_find(reg, id, registry_hash(id));
	if (*pe == NULL) {
		return false;
	}
	*handler = (*pe)->handler;
	*ctx = (*pe)->ctx;
	return true;
}

size_t
sfu_registry_count(const struct sfu_registry *reg)
{
	return reg->count;
}

void
sfu_registry_dump_ids(const struct sfu_registry *reg, msgpack_packer *pk)
{
	const struct registry_entry *e = NULL;
	size_t i = 0;

	msgpack_pack_array(pk, reg->count);
	for (i = 0; i < reg->nbuckets; i++) {
		for (e = reg->buckets[i]; e != NULL; e = e->next) {
			sfu_msg_pack_str(pk, e->id);
		}
	}
}
