/*
 * SPDX-License-Identifier: MIT
 *
 * Allocation wrappers: on failure they write one line to stderr and abort,
 * because a media server that cannot allocate cannot do anything useful and
 * a crash is restarted by the master.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mem.h"

static void
mem_oom(size_t size)
{
	char buf[96];
	int n = 0;

	n = snprintf(buf, sizeof(buf), "sfu: out of memory (%zu bytes)\n",
	    size);
	if (n > 0) {
		(void)!write(STDERR_FILENO, buf, (size_t)n);
	}
	abort();
}

void *
sfu_xmalloc(size_t size)
{
	void *p = NULL;

	p = malloc(size == 0 ? 1 : size);
	if (p == NULL) {
		mem_oom(size);
	}
	return p;
}

void *
sfu_xcalloc(size_t nmemb, size_t size)
{
	void *p = NULL;

	if (nmemb == 0 || size == 0) {
		nmemb = 1;
		size = 1;
	}
	p = calloc(nmemb, size);
	if (p == NULL) {
		mem_oom(nmemb * size);
	}
	return p;
}

void *
sfu_xrealloc(void *ptr, size_t size)
{
	void *p = NULL;

	p = realloc(ptr, size == 0 ? 1 : size);
	if (p == NULL) {
		mem_oom(size);
	}
	return p;
}

void *
sfu_xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size) {
		mem_oom(SIZE_MAX);
	}
	return sfu_xrealloc(ptr, nmemb * size);
}

char *
sfu_xstrdup(const char *s)
{
	return sfu_xstrndup(s, strlen(s));
}

char *
sfu_xstrndup(const char *s, size_t len)
{
	char *p = NULL;

	p = sfu_xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
sfu_xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p = NULL;
	int n = 0;

	va_start(ap, fmt);
	n = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (n < 0) {
		mem_oom(0);
	}
	return p;
}
