/*
 * SPDX-License-Identifier: MIT
 *
 * sfud-worker: a worker process with its channel on fds 3 and 4, spawned by
 * the sfud master. All the work is in libsfuworker.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>

#include "worker/worker.h"

int
main(int argc, char *argv[])
{
	if (fcntl(SFU_WORKER_CHANNEL_IN_FD, F_GETFD) == -1 ||
	    fcntl(SFU_WORKER_CHANNEL_OUT_FD, F_GETFD) == -1) {
		fprintf(stderr, "sfud-worker: fds 3 and 4 must be the channel "
		    "(this program is started by sfud)\n");
		return SFU_WORKER_EXIT_SETTINGS;
	}
	return sfu_worker_run(argc, argv, NULL);
}
