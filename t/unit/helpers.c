/*
 * SPDX-License-Identifier: MIT
 *
 * Shared unit test helpers: the event_base + socketpair fixture, the
 * bounded loop runner, the format-driven MessagePack packer and the
 * temporary directory helpers described in helpers.h. Linked into every unit
 * test program, so it stays generic.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <msgpack.h>

#include "common/mem.h"
#include "helpers.h"

/* --- event_base + socketpair fixture --- */

int
setup_io(void **state)
{
	struct helpers_io *io = NULL;
	int r = 0;

	io = calloc(1, sizeof(*io));
	if (io == NULL) {
		return -1;
	}
	io->fds[0] = -1;
	io->fds[1] = -1;
	io->base = event_base_new();
	if (io->base == NULL) {
		free(io);
		return -1;
	}
	r = socketpair(
	    AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, io->fds);
	if (r == -1) {
		event_base_free(io->base);
		free(io);
		return -1;
	}
	*state = io;
	return 0;
}

int
teardown_io(void **state)
{
	struct helpers_io *io = *state;

	if (io == NULL) {
		return 0;
	}
	if (io->fds[0] != -1) {
		close(io->fds[0]);
		io->fds[0] = -1;
	}
	if (io->fds[1] != -1) {
		close(io->fds[1]);
		io->fds[1] = -1;
	}
	event_base_free(io->base);
	io->base = NULL;
	free(io);
	*state = NULL;
	return 0;
}

/* --- bounded loop --- */

static int64_t
helpers_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
helpers_on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

bool
run_loop_until(
    struct event_base *base, bool (*cond)(void *), void *arg, int timeout_ms)
{
	struct timeval tick_tv = {0, 10 * 1000};
	struct event *tick = NULL;
	int64_t deadline = helpers_now_ms() + timeout_ms;
	bool done = false;

	/* The tick bounds each EVLOOP_ONCE pass when nothing else fires. */
	tick = evtimer_new(base, helpers_on_tick, NULL);
	assert_non_null(tick);
	for (;;) {
		done = cond(arg);
		if (done || helpers_now_ms() >= deadline) {
			break;
		}
		evtimer_add(tick, &tick_tv);
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(tick);
	return done;
}

/* --- format-driven packer --- */

/* Number of values at the top level of the container whose body is fmt. */
static uint32_t
helpers_count(const char *fmt)
{
	uint32_t n = 0;
	int depth = 0;

	for (; *fmt != '\0'; fmt++) {
		switch (*fmt) {
		case '{':
		case '[':
			if (depth == 0) {
				n++;
			}
			depth++;
			break;
		case '}':
		case ']':
			if (depth == 0) {
				return n;
			}
			depth--;
			break;
		case ' ':
		case ':':
		case ',':
			break;
		default:
			if (depth == 0) {
				n++;
			}
			break;
		}
	}
	fail_msg("helpers_pack: unterminated container in format");
	return n;
}

static void
helpers_packv(msgpack_packer *pk, const char **fmt, va_list *ap)
{
	const char *s = NULL;
	const void *p = NULL;
	size_t len = 0;
	uint32_t n = 0;
	uint32_t i = 0;
	char c = 0;

	while (**fmt == ' ' || **fmt == ':' || **fmt == ',') {
		(*fmt)++;
	}
	c = *(*fmt)++;
	switch (c) {
	case '{':
	case '[':
		n = helpers_count(*fmt);
		if (c == '{') {
			if (n % 2 != 0) {
				fail_msg("helpers_pack: odd map item count");
			}
			msgpack_pack_map(pk, n / 2);
		} else {
			msgpack_pack_array(pk, n);
		}
		for (i = 0; i < n; i++) {
			helpers_packv(pk, fmt, ap);
		}
		while (**fmt == ' ' || **fmt == ':' || **fmt == ',') {
			(*fmt)++;
		}
		if (**fmt != (c == '{' ? '}' : ']')) {
			fail_msg("helpers_pack: bad container end '%c'", **fmt);
		}
		(*fmt)++;
		break;
	case 's':
		s = va_arg(*ap, const char *);
		msgpack_pack_str_with_body(pk, s, strlen(s));
		break;
	case 'S':
		s = va_arg(*ap, const char *);
		len = va_arg(*ap, size_t);
		msgpack_pack_str_with_body(pk, s, len);
		break;
	case 'x':
		p = va_arg(*ap, const void *);
		len = va_arg(*ap, size_t);
		msgpack_pack_bin_with_body(pk, p, len);
		break;
	case 'r':
		p = va_arg(*ap, const void *);
		len = va_arg(*ap, size_t);
		pk->callback(pk->data, p, len);
		break;
	case 'u':
		msgpack_pack_unsigned_int(pk, va_arg(*ap, unsigned int));
		break;
	case 'U':
		msgpack_pack_uint64(pk, va_arg(*ap, uint64_t));
		break;
	case 'i':
		msgpack_pack_int(pk, va_arg(*ap, int));
		break;
	case 'I':
		msgpack_pack_int64(pk, va_arg(*ap, int64_t));
		break;
	case 'd':
		msgpack_pack_double(pk, va_arg(*ap, double));
		break;
	case 'F':
		msgpack_pack_float(pk, (float)va_arg(*ap, double));
		break;
	case 't':
		msgpack_pack_true(pk);
		break;
	case 'f':
		msgpack_pack_false(pk);
		break;
	case 'n':
		msgpack_pack_nil(pk);
		break;
	default:
		fail_msg("helpers_pack: bad format character '%c'", c);
		break;
	}
}

void
helpers_pack(msgpack_packer *pk, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	helpers_packv(pk, &fmt, &ap);
	va_end(ap);
}

void
helpers_pack_sbuf(msgpack_sbuffer *sb, const char *fmt, ...)
{
	msgpack_packer pk;
	va_list ap;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	va_start(ap, fmt);
	helpers_packv(&pk, &fmt, &ap);
	va_end(ap);
}

/* --- temporary directories --- */

int
helpers_mkdtemp(char *buf, size_t size, const char *name)
{
	const char *base = NULL;
	int n = 0;

	base = getenv("TMPDIR");
	if (base == NULL || base[0] == '\0') {
		base = "/tmp";
	}
	n = snprintf(buf, size, "%s/%s.XXXXXX", base, name);
	if (n < 0 || (size_t)n >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkdtemp(buf) == NULL ? -1 : 0;
}

static int
helpers_rm_one(
    const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

int
helpers_rmtree(const char *path)
{
	/* nftw() also passes on helpers_rm_one's -1 (from remove()). */
	if (nftw(path, helpers_rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		return -1;
	}
	return 0;
}

char *
helpers_write_file(
    const char *dir, const char *rel, const void *data, size_t len)
{
	char *path = NULL;
	FILE *fp = NULL;

	path = sfu_xasprintf("%s/%s", dir, rel);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	return path;
}

void
helpers_make_dir(const char *dir, const char *rel)
{
	char *path = NULL;

	path = sfu_xasprintf("%s/%s", dir, rel);
	assert_int_equal(mkdir(path, 0700), 0);
	free(path);
}

int
helpers_setup_tmpdir(void **state, const char *name)
{
	struct helpers_tmpdir *t = NULL;

	t = sfu_xcalloc(1, sizeof(*t));
	if (helpers_mkdtemp(t->path, sizeof(t->path), name) == -1) {
		free(t);
		return -1;
	}
	*state = t;
	return 0;
}

int
helpers_teardown_tmpdir(void **state)
{
	struct helpers_tmpdir *t = *state;
	int rc = 0;

	rc = helpers_rmtree(t->path);
	free(t);
	*state = NULL;
	return rc;
}
