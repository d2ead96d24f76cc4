/*
 * SPDX-License-Identifier: MIT
 *
 * A string-keyed hash map (chained, FNV-1a, grows at 3/4 load). Keys are
 * copied; values are borrowed pointers. Used for the worker's registry
 * (handlerId -> handler) and the master's entity table.
 */
#ifndef SFU_COMMON_STRMAP_H
#define SFU_COMMON_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct sfu_strmap;

struct sfu_strmap *sfu_strmap_new(void);
/* NULL-safe; frees the keys, not the values. */
void	sfu_strmap_free(struct sfu_strmap *m);
/* Returns 0, or -1 when key is already there (nothing changed). */
int	sfu_strmap_add(struct sfu_strmap *m, const char *key, void *value);
/* Returns the value removed, or NULL when key was not there. */
void	*sfu_strmap_remove(struct sfu_strmap *m, const char *key);
void	*sfu_strmap_get(const struct sfu_strmap *m, const char *key);
size_t	sfu_strmap_count(const struct sfu_strmap *m);
/*
 * Calls fn for every entry, in no particular order. fn must not add or
 * remove entries.
 */
void	sfu_strmap_foreach(const struct sfu_strmap *m,
	    void (*fn)(void *arg, const char *key, void *value), void *arg);

/*
 * The values as a newly allocated array (the caller frees it, not the
 * values); *count gets their number. For freeing every value: the array
 * is a snapshot, so the map may change while it is walked.
 */
void	**sfu_strmap_values(const struct sfu_strmap *m, size_t *count);

#endif
