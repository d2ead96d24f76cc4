/*
 * SPDX-License-Identifier: MIT
 *
 * libsfuworker's public entry point: run one sfud worker in the calling
 * thread until it is closed. Used by sfud-worker's main() with the channel
 * on fds 3/4, and by host processes that embed workers as threads with a
 * callback channel (mediasoup's libmediasoup-worker model).
 *
 * Everything a worker has (event loop, settings, log configuration,
 * registry) belongs to its run: several workers may run at once in one
 * process, each in its own thread.
 */
#ifndef SFU_WORKER_WORKER_H
#define SFU_WORKER_WORKER_H

#include <stddef.h>
#include <stdint.h>

/* Handed to the host so it can wake the worker's loop from any thread. */
struct sfu_worker_waker;

/*
 * The embedded channel. All callbacks run on the worker's thread.
 *
 * read: called once when the worker starts (just after it wrote "running",
 *   which is always the first message) and after every sfu_worker_wake() (several wakes may coalesce into one
 *   round of reads). The host keeps waker and returns its waiting
 *   messages one per call: 1 with *msg (allocated with malloc(); the worker
 *   frees it with free()) and *len holding one MessagePack map without a
 *   length prefix; 0 when none is waiting; -1 when the host has closed the
 *   channel (the worker then closes as on fd 3 EOF). When the worker ends
 *   it calls read once more with waker NULL: from then on the host must
 *   not wake it. A host that serialises its wake calls with its read
 *   callback (one mutex around both) is therefore race-free.
 * write: one message (MessagePack map, no length prefix) for the host,
 *   valid during the call only.
 * log: optional; one formatted log line. NULL: stderr.
 */
struct sfu_worker_channel_ops {
	int	(*read)(void *ctx, struct sfu_worker_waker *waker, uint8_t **msg,
		    size_t *len);
	void	(*write)(void *ctx, const uint8_t *msg, size_t len);
	void	(*log)(void *ctx, int level, const char *line);
	void	*ctx;
};

/* Any thread; see read above for when it is valid. */
void	sfu_worker_wake(struct sfu_worker_waker *waker);

/*
 * Runs a worker. argv holds mediasoup-style settings (argv[0] is ignored):
 * --logLevel=debug|info|warn|error|none, --logTags=info,ice,... (or
 * --logTag=X repeated), --rtcMinPort=N, --rtcMaxPort=N,
 * --dtlsCertificateFile=PATH, --dtlsPrivateKeyFile=PATH.
 * ops NULL: the channel is fds 3 (requests in) and 4 (responses and
 * notifications out), and SIGINT/SIGTERM close the worker.
 * Returns the exit code: 0 closed (worker.close, a signal, channel EOF),
 * 1 runtime failure, 2 settings rejected (the reason is logged).
 */
int	sfu_worker_run(int argc, char *const argv[],
	    const struct sfu_worker_channel_ops *ops);

#define SFU_WORKER_EXIT_OK		0
#define SFU_WORKER_EXIT_FAILURE		1
#define SFU_WORKER_EXIT_SETTINGS	2

/* The channel fds of sfud-worker. */
#define SFU_WORKER_CHANNEL_IN_FD	3
#define SFU_WORKER_CHANNEL_OUT_FD	4

#endif
