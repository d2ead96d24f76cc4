/*
 * SPDX-License-Identifier: MIT
 *
 * Starting a worker process (DESIGN §1): two socketpairs for the channel, a
 * pipe for its stdout/stderr, fork, and in the child the fd moves onto 3
 * and 4 done with the care libuv's uv__process_child_init takes (sources
 * may themselves be 3 or 4), signal mask and dispositions reset, then exec.
 * No event code here, and nothing but async-signal-safe calls between fork
 * and exec. An exec failure comes back through a close-on-exec pipe.
 */
#ifndef SFU_MASTER_SPAWN_H
#define SFU_MASTER_SPAWN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct sfu_spawn_options {
	const char	*binary;	/* path executed */
	char *const	*argv;		/* NULL-terminated, argv[0] included */
	int		 cpu;		/* pin to this CPU, -1: no affinity */
	uint64_t	 rlimit_nofile;	/* RLIMIT_NOFILE for the child, 0: keep */
};

struct sfu_spawned {
	pid_t	pid;
	int	req_fd;		/* master writes requests here (worker's fd 3) */
	int	resp_fd;	/* master reads responses here (worker's fd 4) */
	int	log_fd;		/* master reads the worker's stdout+stderr */
};

/*
 * Starts the worker. On success fills out (all fds close-on-exec and
 * owned by the caller) and returns 0; the exec has happened by then. On
 * failure returns -1 with err naming the call and errno (e.g. "execve
 * (/path) failed: No such file or directory") and leaves no child behind.
 */
int	sfu_spawn_worker(const struct sfu_spawn_options *opts,
	    struct sfu_spawned *out, struct sfu_error *err);

/*
 * Moves req_fd and resp_fd onto fds 3 and 4 (and log_fd onto 1 and 2 when
 * >= 0), whatever their current numbers. Called only between fork() and
 * exec(): async-signal-safe calls only. Returns 0, or -1 with errno set.
 */
int	sfu_spawn_place_channel_fds(int req_fd, int resp_fd, int log_fd);

#endif
