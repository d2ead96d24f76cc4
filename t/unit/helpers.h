/*
 * SPDX-License-Identifier: MIT
 *
 * Shared helpers for the cmocka unit tests: a fixture giving each test a
 * fresh libevent event_base and a connected, non-blocking AF_UNIX stream
 * socketpair (libevent's TT_NEED_BASE|TT_NEED_SOCKETPAIR), a bounded loop
 * runner so that a broken test fails instead of hanging, and a small
 * MessagePack packer driven by a format string.
 */
#ifndef SFU_T_UNIT_HELPERS_H
#define SFU_T_UNIT_HELPERS_H

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

#endif
