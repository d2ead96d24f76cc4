/*
 * SPDX-License-Identifier: MIT
 *
 * A byte stream on one fd (socket, socketpair end or pipe), read and/or
 * written through a libevent bufferevent. Output is bounded: a write that
 * would push the pending output past max_out_len is refused whole and
 * counted, so a peer that stops reading can never grow our memory.
 */
#ifndef SFU_COMMON_STREAM_HANDLE_H
#define SFU_COMMON_STREAM_HANDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "common/error.h"

struct sfu_stream_handle;

struct sfu_stream_handle_listener {
	/*
	 * Bytes arrived; consume what you can from in (the rest stays for
	 * the next call). May free the handle.
	 */
	void	(*on_read)(void *ctx, struct sfu_stream_handle *h,
		    struct evbuffer *in);
	/* All output written (optional). May free the handle. */
	void	(*on_drained)(void *ctx, struct sfu_stream_handle *h);
	/*
	 * EOF (error 0) or a read/write error (errno value). The handle is
	 * closed (reads and writes stopped) but not freed: the owner frees
	 * it, here or later.
	 */
	void	(*on_closed)(void *ctx, struct sfu_stream_handle *h,
		    int error);
};

#define SFU_STREAM_READ		0x1
#define SFU_STREAM_WRITE	0x2

/*
 * Watches fd (made non-blocking here). flags: SFU_STREAM_READ and/or
 * SFU_STREAM_WRITE. On success the handle owns fd and closes it on free; on
 * failure the fd still belongs to the caller.
 */
struct sfu_stream_handle *sfu_stream_handle_new(struct event_base *base,
	    int fd, int flags, size_t max_out_len,
	    const struct sfu_stream_handle_listener *listener, void *ctx,
	    struct sfu_error *err);
/* NULL-safe; closes the fd; calls no callback. */
void	sfu_stream_handle_free(struct sfu_stream_handle *h);

/*
 * Queues the iovecs as one unit. Returns 0, or -1 when the handle is
 * closed or the bound would be passed (nothing queued; counted in
 * dropped_writes).
 */
int	sfu_stream_handle_writev(struct sfu_stream_handle *h,
	    const struct iovec *iov, int iovcnt);
int	sfu_stream_handle_write(struct sfu_stream_handle *h, const void *data,
	    size_t len);
/* Stops reading (e.g. while shutting down); writes go on. */
void	sfu_stream_handle_stop_reading(struct sfu_stream_handle *h);

size_t	sfu_stream_handle_pending_out(const struct sfu_stream_handle *h);
uint64_t sfu_stream_handle_dropped_writes(const struct sfu_stream_handle *h);
int	sfu_stream_handle_fd(const struct sfu_stream_handle *h);
bool	sfu_stream_handle_is_closed(const struct sfu_stream_handle *h);

#endif
