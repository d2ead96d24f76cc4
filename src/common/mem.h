/*
 * SPDX-License-Identifier: MIT
 *
 * Allocation wrappers that abort the process on out-of-memory (redis
 * zmalloc, OpenSSH xmalloc): callers never check for NULL.
 */
#ifndef SFU_COMMON_MEM_H
#define SFU_COMMON_MEM_H

#include <stddef.h>

void	*sfu_xmalloc(size_t size);
void	*sfu_xcalloc(size_t nmemb, size_t size);
void	*sfu_xrealloc(void *ptr, size_t size);
/* Like reallocarray(): checks nmemb * size for overflow. */
void	*sfu_xreallocarray(void *ptr, size_t nmemb, size_t size);
char	*sfu_xstrdup(const char *s);
/* Copies at most len bytes of s and adds a NUL; s need not be terminated. */
char	*sfu_xstrndup(const char *s, size_t len);
/* printf into a fresh string. */
char	*sfu_xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
