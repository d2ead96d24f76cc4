/*
 * SPDX-License-Identifier: MIT
 *
 * stream_handle: a bufferevent around one fd, with bounded output.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>

#include "common/fd.h"
#include "common/handle/stream_handle.h"
#include "common/mem.h"

struct sfu_stream_handle {
	struct bufferevent	*bev;		/* owned; owns fd (CLOSE_ON_FREE) */
	int			 fd;		/* owned through bev */
	size_t			 max_out_len;	/* bytes */
	uint64_t		 dropped_writes;
	bool			 closed;
	const struct sfu_stream_handle_listener *listener;
	void			*ctx;		/* borrowed: the owner */
};

static void
stream_handle_on_read(struct bufferevent *bev, void *arg)
{
	struct sfu_stream_handle *h = arg;

	if (h->closed) {
		return;
	}
	h->listener->on_read(h->ctx, h, bufferevent_get_input(bev));
}

static void
stream_handle_on_write(struct bufferevent *bev, void *arg)
{
	struct sfu_stream_handle *h = arg;

	(void)bev;
	if (h->closed || h->listener->on_drained == NULL) {
		return;
	}
	h->listener->on_drained(h->ctx, h);
}

static void
stream_handle_on_event(struct bufferevent *bev, short what, void *arg)
{
	struct sfu_stream_handle *h = arg;
	int error = 0;

	if (h->closed) {
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		error = EVUTIL_SOCKET_ERROR();
		if (error == 0) {
			error = EIO;
		}
	} else if (!(what & BEV_EVENT_EOF)) {
		return;
	}
	h->closed = true;
	bufferevent_disable(bev, EV_READ | EV_WRITE);
	h->listener->on_closed(h->ctx, h, error);
}

struct sfu_stream_handle *
sfu_stream_handle_new(struct event_base *base, int fd, int flags,
    size_t max_out_len, const struct sfu_stream_handle_listener *listener,
    void *ctx, struct sfu_error *err)
{
	struct sfu_stream_handle *h = NULL;
	short ev = 0;
	int e = 0;

	h = sfu_xcalloc(1, sizeof(*h));
	h->fd = -1;
	h->listener = listener;
	h->ctx = ctx;
	h->max_out_len = max_out_len;
	if (sfu_fd_set_nonblock(fd, true) == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "fcntl(fd %d) failed: %s",
		    fd, strerror(e));
		goto fail;
	}

	/* The bufferevent owns the fd from here: it closes it on free. */
	h->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (h->bev == NULL) {
		sfu_error_set(err, SFU_ERR_ERROR,
		    "cannot watch stream fd %d", fd);
		goto fail;
	}
	h->fd = fd;
	bufferevent_setcb(h->bev,
	    (flags & SFU_STREAM_READ) ? stream_handle_on_read : NULL,
	    stream_handle_on_write, stream_handle_on_event, h);
	if (flags & SFU_STREAM_READ) {
		ev |= EV_READ;
	}
	if (flags & SFU_STREAM_WRITE) {
		ev |= EV_WRITE;
	}
	bufferevent_disable(h->bev, EV_READ | EV_WRITE);
	if (bufferevent_enable(h->bev, ev) == -1) {
		sfu_error_set(err, SFU_ERR_ERROR, "cannot watch stream fd %d",
		    fd);
		goto fail;
	}
	return h;
fail:
	if (h->bev != NULL) {
		/* Give the fd back to the caller: do not let bev close it. */
		bufferevent_setfd(h->bev, -1);
		bufferevent_free(h->bev);
	}
	free(h);
	return NULL;
}

void
sfu_stream_handle_free(struct sfu_stream_handle *h)
{
	if (h == NULL) {
		return;
	}
	if (h->bev != NULL) {
		bufferevent_free(h->bev);
		h->bev = NULL;
		h->fd = -1;
	}
	free(h);
}

int
sfu_stream_handle_writev(struct sfu_stream_handle *h, const struct iovec *iov,
    int iovcnt)
{
	struct evbuffer *out = NULL;
	size_t total = 0;
	int i = 0;

	if (h->closed) {
		return -1;
	}
	for (i = 0; i < iovcnt; i++) {
		total += iov[i].iov_len;
	}
	out = bufferevent_get_output(h->bev);
	if (evbuffer_get_length(out) + total > h->max_out_len) {
		h->dropped_writes++;
		return -1;
	}
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > 0 &&
		    evbuffer_add(out, iov[i].iov_base, iov[i].iov_len) != 0) {
			h->dropped_writes++;
			return -1;
		}
	}
	return 0;
}

int
sfu_stream_handle_write(struct sfu_stream_handle *h, const void *data,
    size_t len)
{
	struct iovec iov;

	iov.iov_base = (void *)(uintptr_t)data;
	iov.iov_len = len;
	return sfu_stream_handle_writev(h, &iov, 1);
}

void
sfu_stream_handle_stop_reading(struct sfu_stream_handle *h)
{
	bufferevent_disable(h->bev, EV_READ);
}

size_t
sfu_stream_handle_pending_out(const struct sfu_stream_handle *h)
{
	return evbuffer_get_length(bufferevent_get_output(h->bev));
}

uint64_t
sfu_stream_handle_dropped_writes(const struct sfu_stream_handle *h)
{
	return h->dropped_writes;
}

int
sfu_stream_handle_fd(const struct sfu_stream_handle *h)
{
	return h->fd;
}

bool
sfu_stream_handle_is_closed(const struct sfu_stream_handle *h)
{
	return h->closed;
}
