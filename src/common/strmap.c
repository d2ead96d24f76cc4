/*
 * SPDX-License-Identifier: MIT
 *
 * String-keyed chained hash map.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/strmap.h"

struct strmap_entry {
	char			*key;	/* owned */
	uint32_t		 hash;
	void			*value;	/* borrowed */
	struct strmap_entry	*next;	/* owned: rest of the chain */
};

struct sfu_strmap {
	struct strmap_entry	**buckets;	/* owned */
	size_t			 nbuckets;	/* a power of two */
	size_t			 count;
};

#define STRMAP_MIN_BUCKETS 16

/* FNV-1a, 32 bits. */
static uint32_t
strmap_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s != '\0') {
		h ^= (uint8_t)*s++;
		h *= 16777619u;
	}
	return h;
}

struct sfu_strmap *
sfu_strmap_new(void)
{
	struct sfu_strmap *m = NULL;

	m = sfu_xcalloc(1, sizeof(*m));
	m->nbuckets = STRMAP_MIN_BUCKETS;
	m->buckets = sfu_xcalloc(m->nbuckets, sizeof(*m->buckets));
	return m;
}

void
sfu_strmap_free(struct sfu_strmap *m)
{
	struct strmap_entry *e = NULL;
	struct strmap_entry *next = NULL;
	size_t i = 0;

	if (m == NULL) {
		return;
	}
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e->key);
			free(e);
		}
	}
	free(m->buckets);
	free(m);
}

static void
strmap_grow(struct sfu_strmap *m)
{
	struct strmap_entry **nb = NULL;
	struct strmap_entry *e = NULL;
	struct strmap_entry *next = NULL;
	size_t n = m->nbuckets * 2;
	size_t i = 0;

	nb = sfu_xcalloc(n, sizeof(*nb));
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = n;
}

static struct strmap_entry **
strmap_find(const struct sfu_strmap *m, const char *key, uint32_t hash)
{
	struct strmap_entry **pe = NULL;

	pe = &m->buckets[hash & (m->nbuckets - 1)];
	while (*pe != NULL) {
		if ((*pe)->hash == hash && strcmp((*pe)->key, key) == 0) {
			return pe;
		}
		pe = &(*pe)->next;
	}
	return pe;
}

int
sfu_strmap_add(struct sfu_strmap *m, const char *key, void *value)
{
	struct strmap_entry **pe = NULL;
	struct strmap_entry *e = NULL;
	uint32_t hash = strmap_hash(key);

	pe = strmap_find(m, key, hash);
	if (*pe != NULL) {
		return -1;
	}
	e = sfu_xcalloc(1, sizeof(*e));
	e->key = sfu_xstrdup(key);
	e->hash = hash;
	e->value = value;
	*pe = e;
	m->count++;
	if (m->count > m->nbuckets - m->nbuckets / 4) {
		strmap_grow(m);
	}
	return 0;
}

void *
sfu_strmap_remove(struct sfu_strmap *m, const char *key)
{
	struct strmap_entry **pe = NULL;
	struct strmap_entry *e = NULL;
	void *value = NULL;

	pe = strmap_find(m, key, strmap_hash(key));
	if (*pe == NULL) {
		return NULL;
	}
	e = *pe;
	*pe = e->next;
	value = e->value;
	free(e->key);
	free(e);
	m->count--;
	return value;
}

void *
sfu_strmap_get(const struct sfu_strmap *m, const char *key)
{
	struct strmap_entry **pe = NULL;

	pe = strmap_find(m, key, strmap_hash(key));
	return *pe != NULL ? (*pe)->value : NULL;
}

size_t
sfu_strmap_count(const struct sfu_strmap *m)
{
	return m->count;
}

void
sfu_strmap_foreach(const struct sfu_strmap *m,
    void (*fn)(void *arg, const char *key, void *value), void *arg)
{
	const struct strmap_entry *e = NULL;
	size_t i = 0;

	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = e->next) {
			fn(arg, e->key, e->value);
		}
	}
}

void **
sfu_strmap_values(const struct sfu_strmap *m, size_t *count)
{
	const struct strmap_entry *e = NULL;
	void **all = NULL;
	size_t n = 0;
	size_t i = 0;

	all = sfu_xcalloc(m->count + 1, sizeof(*all));
	for (i = 0; i < m->nbuckets; i++) {
		for (e = m->buckets[i]; e != NULL; e = e->next) {
			all[n++] = e->value;
		}
	}
	*count = n;
	return all;
}
