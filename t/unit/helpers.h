/*
 * SPDX-License-Identifier: MIT
 *
 * Shared helpers for the cmocka unit tests: a fixture giving each test a
 * fresh libevent event_base and a connected, non-blocking AF_UNIX stream
 * socketpair (libevent's TT_NEED_BASE|TT_NEED_SOCKETPAIR), a bounded loop
 * runner so that a broken test fails instead of hanging, a small
 * MessagePack packer driven by a format string, and fresh temporary
 * directories (create, fill, remove).
 */
#ifndef SFU_T_UNIT_HELPERS_H
#define SFU_T_UNIT_HELPERS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <msgpack.h>

struct helpers_io {
	struct event_base *base; /* owned */
	int fds[2];              /* owned: connected, O_NONBLOCK */
};

/*
 * cmocka fixtures: setup_io() puts a struct helpers_io in *state,
 * teardown_io() closes both fds and frees the base. Events the test
 * created on base must be freed by the test before teardown.
 */
int setup_io(void **state);
int teardown_io(void **state);

/*
 * Runs base (EVLOOP_ONCE, waking at least every 10 ms) until cond(arg) is
 * true or timeout_ms passed. cond is checked before each iteration.
 * Returns the last value of cond.
 */
bool run_loop_until(
    struct event_base *base, bool (*cond)(void *), void *arg, int timeout_ms);

/*
 * Packs one value described by fmt into pk. Containers: "{...}" map (keys
 * and values alternate), "[...]" array; their sizes are counted from fmt.
 * Scalars, each taking its arguments in order:
 *   s  const char *           string (NUL terminated)
 *   S  const char *, size_t   string of that length (may hold NUL)
 *   x  const void *, size_t   bin
 *   r  const void *, size_t   raw MessagePack bytes, counted as one value
 *   u  unsigned int   U  uint64_t   i  int   I  int64_t
 *   d  double   F  double packed as float32
 *   t  true   f  false   n  nil
 * Spaces, ':' and ',' are ignored, so "{s:u, s:[s,s]}" reads well. A bad
 * format fails the running test.
 */
void helpers_pack(msgpack_packer *pk, const char *fmt, ...);

/* Initialises sb and packs fmt into it; the caller destroys sb. */
void helpers_pack_sbuf(msgpack_sbuffer *sb, const char *fmt, ...);

/*
 * Creates a fresh directory "<base>/<name>.XXXXXX" with mkdtemp(), base
 * being $TMPDIR or /tmp when that is unset or empty, and leaves its path
 * in buf (size bytes). Returns 0, or -1 with errno set (ENAMETOOLONG when
 * the template does not fit).
 */
int helpers_mkdtemp(char *buf, size_t size, const char *name);

/*
 * Removes path and everything below it, depth first, without following
 * symbolic links (nftw FTW_DEPTH | FTW_PHYS). Returns 0, or -1 when
 * something could not be removed.
 */
int helpers_rmtree(const char *path);

/*
 * Writes len bytes of data to the new or truncated file dir/rel and
 * returns its full path (malloc'ed, the caller frees it). Any failure
 * fails the running test.
 */
char *helpers_write_file(
    const char *dir, const char *rel, const void *data, size_t len);

/* mkdir(dir/rel, 0700); a failure fails the running test. */
void helpers_make_dir(const char *dir, const char *rel);

/* A fresh temporary directory, for tests that need nothing else. */
struct helpers_tmpdir {
	char path[PATH_MAX]; /* the mkdtemp() directory */
};

/*
 * cmocka fixtures: helpers_setup_tmpdir() is meant to be called from a
 * test file's own setup, which names the directory (see helpers_mkdtemp);
 * it puts a struct helpers_tmpdir in *state and returns 0, or -1 when the
 * directory could not be made. helpers_teardown_tmpdir() removes the
 * directory with all it holds, frees the struct and returns what
 * helpers_rmtree() returned.
 */
int helpers_setup_tmpdir(void **state, const char *name);
int helpers_teardown_tmpdir(void **state);

#endif
