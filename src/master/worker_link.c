/*
 * SPDX-License-Identifier: MIT
 *
 * worker_link: three stream handles (requests out, responses and
 * notifications in, the log pipe in), the frame decoder for the input and
 * the line splitter for the log. It decodes each incoming frame into a
 * MessagePack map for its owner (the pool) and knows nothing of what the
 * messages mean. It never frees itself: the owner frees it, possibly from
 * inside on_message or on_closed, which is why every path that calls the
 * listener returns without touching the link afterwards.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SFU_LOG_MODULE "worker_link"
#include "common/frame.h"
#include "common/handle/stream_handle.h"
#include "common/handle/timer_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "master/worker_link.h"

/*
 * The log pipe is read in chunks of this size; at free() at most
 * WORKER_LINK_FINAL_LOG_LEN bytes more are read, so a worker that is still
 * writing cannot hold the master in sfu_worker_link_free().
 */
#define WORKER_LINK_LOG_CHUNK 4096
#define WORKER_LINK_FINAL_LOG_LEN (1024 * 1024)

struct sfu_worker_link {
	struct event_base *base; /* borrowed */
	unsigned index;          /* "worker N" in log lines */
	pid_t pid;               /* "pid P" in log lines */
	const struct sfu_worker_link_listener *listener; /* borrowed */
	void *ctx; /* borrowed: the owner */

	struct sfu_stream_handle *req;        /* owned, write; NULL: shut */
	struct sfu_stream_handle *resp;       /* owned, read only */
	struct sfu_stream_handle *log;        /* owned, read only */
	struct sfu_frame_decoder decoder;     /* owns the last frame */
	struct sfu_timer_handle *close_timer; /* owned: deferred on_closed */

	char line[SFU_WORKER_LINK_MAX_LOG_LINE];
	size_t line_len; /* bytes held in line */
	bool line_cut;   /* dropping the rest of a line */

	bool closed;          /* channel broken: no I/O */
	bool closed_reported; /* on_closed called */
	bool shutting_down;   /* req closes once drained */
	bool log_eof;

	/* Borrowed: a flag on the stack of a running listener call. */
	bool *freed;

	uint64_t messages;    /* decoded and delivered */
	uint64_t invalid;     /* frames that did not decode */
	uint64_t oversize;    /* frames over the limit */
	uint64_t sent;        /* messages queued to the worker */
	uint64_t dropped_out; /* messages refused by send() */
	uint64_t log_lines;
	uint64_t log_lines_cut;
};

/* --- log pipe --- */

/*
 * The worker's own log lines start "<ISO time> <level> " (log.c's stderr
 * sink): keep that level, so a worker warning stays a warning. Anything
 * else (an abort message, a sanitizer report, a stray printf) is logged at
 * warn, so that at the default level it is never lost.
 */
static enum sfu_log_level
worker_link_line_level(const char *line, size_t len)
{
	char word[8];
	size_t i = 0;
	int level = -1;

	/* "2026-11-22T10:45:23.123Z info  ..." */
	if (len < 26 || line[4] != '-' || line[10] != 'T' || line[23] != 'Z' ||
	    line[24] != ' ') {
		return SFU_LOG_LEVEL_WARN;
	}
	for (i = 0; i + 25 < len && i < sizeof(word) - 1; i++) {
		if (line[25 + i] == ' ') {
			break;
		}
		word[i] = line[25 + i];
	}
	word[i] = '\0';
	level = sfu_log_level_parse(word);
	if (level < 0 || level >= SFU_LOG_LEVEL_NONE) {
		return SFU_LOG_LEVEL_WARN;
	}
	return (enum sfu_log_level)level;
}

/* Logs the line held, if any, and empties the buffer. */
static void
worker_link_emit_line(struct sfu_worker_link *l)
{
	enum sfu_log_level level = SFU_LOG_LEVEL_WARN;
	size_t len = l->line_len;

	l->line_len = 0;
	if (len > 0 && l->line[len - 1] == '\r') {
		len--;
	}
	if (len == 0) {
		return; /* blank lines carry nothing */
	}
	l->log_lines++;
	level = worker_link_line_level(l->line, len);
	SFU_LOG_AT(level, 0, "worker %u pid %ld: %.*s", l->index, (long)l->pid,
	    (int)len, l->line);
}

/*
 * Splits data into lines. A partial line waits for its newline; a line
 * longer than the buffer is logged cut at SFU_WORKER_LINK_MAX_LOG_LINE
 * and the rest of it, up to the newline, is dropped.
 */
static void
worker_link_feed_log(struct sfu_worker_link *l, const char *data, size_t len)
{
	const char *nl = NULL;
	size_t n = 0;
	size_t room = 0;

	while (len > 0) {
		nl = memchr(data, '\n', len);
		n = nl != NULL ? (size_t)(nl - data) : len;
		if (!l->line_cut) {
			room = sizeof(l->line) - l->line_len;
			if (n < room) {
				memcpy(l->line + l->line_len, data, n);
				l->line_len += n;
			} else {
				memcpy(l->line + l->line_len, data, room);
				l->line_len += room;
				l->line_cut = true;
				l->log_lines_cut++;
				worker_link_emit_line(l);
			}
		}
		if (nl == NULL) {
			return;
		}
		if (!l->line_cut) {
			worker_link_emit_line(l);
		}
		l->line_cut = false;
		data += n + 1;
		len -= n + 1;
	}
}

/* The partial last line, at EOF or free. */
static void
worker_link_flush_log(struct sfu_worker_link *l)
{
	if (!l->line_cut) {
		worker_link_emit_line(l);
	}
	l->line_len = 0;
	l->line_cut = false;
}

static void
worker_link_on_log_read(
    void *ctx, struct sfu_stream_handle *h, struct evbuffer *in)
{
	struct sfu_worker_link *l = ctx;
	char buf[WORKER_LINK_LOG_CHUNK];
	int n = 0;

	(void)h;
	while ((n = evbuffer_remove(in, buf, sizeof(buf))) > 0) {
		worker_link_feed_log(l, buf, (size_t)n);
	}
}

static void
worker_link_on_log_closed(void *ctx, struct sfu_stream_handle *h, int error)
{
	struct sfu_worker_link *l = ctx;

	(void)h;
	if (error != 0) {
		SFU_LOG_WARN("worker %u pid %ld: log pipe failed: %s", l->index,
		    (long)l->pid, strerror(error));
	}
	l->log_eof = true;
	worker_link_flush_log(l);
}

static const struct sfu_stream_handle_listener worker_link_log_listener = {
    .on_read = worker_link_on_log_read,
    .on_drained = NULL,
    .on_closed = worker_link_on_log_closed,
};

/*
 * What the pipe still holds, without blocking (the fd is non-blocking):
 * a dying worker's last words, e.g. a sanitizer report written just before
 * it exited, arrive after its channel closed.
 */
static void
worker_link_drain_log(struct sfu_worker_link *l)
{
	char buf[WORKER_LINK_LOG_CHUNK];
	size_t total = 0;
	ssize_t n = 0;
	int fd = -1;

	if (l->log == NULL || l->log_eof) {
		return;
	}
	fd = sfu_stream_handle_fd(l->log);
	while (fd >= 0 && total < WORKER_LINK_FINAL_LOG_LEN) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		worker_link_feed_log(l, buf, (size_t)n);
		total += (size_t)n;
	}
	worker_link_flush_log(l);
}

/* --- channel --- */

/*
 * Reports on_closed once. The listener may free the link: callers return
 * at once after this.
 */
static void
worker_link_report_closed(struct sfu_worker_link *l)
{
	if (l->closed_reported) {
		return;
	}
	l->closed = true;
	l->closed_reported = true;
	sfu_timer_handle_stop(l->close_timer);
	l->listener->on_closed(l->ctx, l);
}

/*
 * Marks the channel broken from a place where the listener must not run
 * (inside send(), whose caller still holds the link): on_closed follows
 * from the loop.
 */
static void
worker_link_close_later(struct sfu_worker_link *l)
{
	l->closed = true;
	if (l->resp != NULL) {
		sfu_stream_handle_stop_reading(l->resp);
	}
	if (!l->closed_reported) {
		sfu_timer_handle_start(l->close_timer, 0, 0);
	}
}

static void
worker_link_on_close_timer(void *ctx, struct sfu_timer_handle *t)
{
	struct sfu_worker_link *l = ctx;

	(void)t;
	worker_link_report_closed(l);
}

/*
 * Decodes one frame and hands it to the listener. Returns false when the
 * listener freed the link.
 */
static bool
worker_link_deliver(struct sfu_worker_link *l, const uint8_t *data, size_t len)
{
	struct sfu_error err = {0};
	struct sfu_msg m;
	bool freed = false;
	bool *outer = NULL;

	if (sfu_msg_decode(&m, data, len, &err) == -1) {
		l->invalid++;
		SFU_LOG_WARN("worker %u pid %ld: dropped a message that does "
		             "not decode [len:%zu reason:%s invalid:%llu]",
		    l->index, (long)l->pid, len, err.reason,
		    (unsigned long long)l->invalid);
		sfu_msg_release(&m);
		return true;
	}
	l->messages++;
	outer = l->freed;
	l->freed = &freed;
	l->listener->on_message(l->ctx, l, m.root, data, len);
	sfu_msg_release(&m);
	if (freed) {
		if (outer != NULL) {
			*outer = true;
		}
		return false;
	}
	l->freed = outer;
	return true;
}

static void
worker_link_on_resp_read(
    void *ctx, struct sfu_stream_handle *h, struct evbuffer *in)
{
	struct sfu_worker_link *l = ctx;
	const uint8_t *payload = NULL;
	size_t len = 0;
	size_t peek = 0;

	(void)h;
	while (!l->closed) {
		switch (
		    sfu_frame_decode(&l->decoder, in, &payload, &len, &peek)) {
		case SFU_FRAME_OK:
			if (!worker_link_deliver(l, payload, len)) {
				return; /* freed by the listener */
			}
			break;
		case SFU_FRAME_OVERSIZE:
			l->oversize++;
			SFU_LOG_WARN("worker %u pid %ld: skipping a message "
			             "of %zu bytes over the limit of %u "
			             "[oversize:%llu]",
			    l->index, (long)l->pid, len, SFU_FRAME_MAX_LEN,
			    (unsigned long long)l->oversize);
			break;
		case SFU_FRAME_LOST:
			SFU_LOG_ERROR("worker %u pid %ld: framing lost "
			              "(frame length %zu), closing the channel",
			    l->index, (long)l->pid, len);
			sfu_stream_handle_stop_reading(l->resp);
			worker_link_report_closed(l);
			return;
		case SFU_FRAME_AGAIN:
		default:
			return;
		}
	}
}

static void
worker_link_on_channel_closed(void *ctx, struct sfu_stream_handle *h, int error)
{
	struct sfu_worker_link *l = ctx;

	if (error != 0) {
		SFU_LOG_WARN("worker %u pid %ld: channel %s failed: %s",
		    l->index, (long)l->pid, h == l->req ? "output" : "input",
		    strerror(error));
	} else {
		SFU_LOG_DEBUG("worker %u pid %ld: channel closed (EOF)",
		    l->index, (long)l->pid);
	}
	worker_link_report_closed(l);
}

static void
worker_link_on_req_drained(void *ctx, struct sfu_stream_handle *h)
{
	struct sfu_worker_link *l = ctx;

	/* shutdown() waited for this: now the worker may see EOF. */
	if (l->shutting_down && h == l->req) {
		sfu_stream_handle_free(l->req);
		l->req = NULL;
	}
}

static const struct sfu_stream_handle_listener worker_link_req_listener = {
    .on_read = NULL,
    .on_drained = worker_link_on_req_drained,
    .on_closed = worker_link_on_channel_closed,
};

static const struct sfu_stream_handle_listener worker_link_resp_listener = {
    .on_read = worker_link_on_resp_read,
    .on_drained = NULL,
    .on_closed = worker_link_on_channel_closed,
};

/* --- public --- */

struct sfu_worker_link *
sfu_worker_link_new(struct event_base *base, unsigned index, pid_t pid,
    int req_fd, int resp_fd, int log_fd,
    const struct sfu_worker_link_listener *listener, void *ctx,
    struct sfu_error *err)
{
	struct sfu_worker_link *l = NULL;

	l = sfu_xcalloc(1, sizeof(*l));
	l->base = base;
	l->index = index;
	l->pid = pid;
	l->listener = listener;
	l->ctx = ctx;
	sfu_frame_decoder_init(&l->decoder);
	l->close_timer =
	    sfu_timer_handle_new(base, worker_link_on_close_timer, l);

	/* Each handle owns its fd once created; until then we do. */
	l->req = sfu_stream_handle_new(base, req_fd, SFU_STREAM_WRITE,
	    SFU_WORKER_LINK_MAX_OUT_LEN, &worker_link_req_listener, l, err);
	if (l->req == NULL) {
		goto fail;
	}
	req_fd = -1;
	l->resp = sfu_stream_handle_new(base, resp_fd, SFU_STREAM_READ,
	    SFU_WORKER_LINK_MAX_OUT_LEN, &worker_link_resp_listener, l, err);
	if (l->resp == NULL) {
		goto fail;
	}
	resp_fd = -1;
	l->log = sfu_stream_handle_new(base, log_fd, SFU_STREAM_READ,
	    SFU_WORKER_LINK_MAX_OUT_LEN, &worker_link_log_listener, l, err);
	if (l->log == NULL) {
		goto fail;
	}
	log_fd = -1;
	return l;
fail:
	/* The header promises: the fds are ours, also on failure. */
	if (req_fd >= 0) {
		close(req_fd);
	}
	if (resp_fd >= 0) {
		close(resp_fd);
	}
	if (log_fd >= 0) {
		close(log_fd);
	}
	sfu_worker_link_free(l);
	return NULL;
}

void
sfu_worker_link_free(struct sfu_worker_link *l)
{
	if (l == NULL) {
		return;
	}
	if (l->freed != NULL) {
		*l->freed = true; /* tell a running listener call */
		l->freed = NULL;
	}
	worker_link_drain_log(l);
	if (l->log_lines_cut > 0) {
		SFU_LOG_DEBUG("worker %u pid %ld: %llu log lines were cut at "
		              "%d bytes",
		    l->index, (long)l->pid,
		    (unsigned long long)l->log_lines_cut,
		    SFU_WORKER_LINK_MAX_LOG_LINE);
	}
	sfu_stream_handle_free(l->req);
	l->req = NULL;
	sfu_stream_handle_free(l->resp);
	l->resp = NULL;
	sfu_stream_handle_free(l->log);
	l->log = NULL;
	sfu_timer_handle_free(l->close_timer);
	l->close_timer = NULL;
	sfu_frame_decoder_release(&l->decoder);
	free(l);
}

int
sfu_worker_link_send(struct sfu_worker_link *l, const uint8_t *msg, size_t len)
{
	struct iovec iov[2];
	uint8_t hdr[SFU_FRAME_HEADER_LEN];
	int r = 0;

	if (l->closed || l->shutting_down || l->req == NULL) {
		l->dropped_out++;
		return -1;
	}
	if (len > SFU_FRAME_MAX_LEN) {
		l->dropped_out++;
		SFU_LOG_ERROR("worker %u pid %ld: dropped a request of %zu "
		              "bytes (over the frame limit of %u)",
		    l->index, (long)l->pid, len, SFU_FRAME_MAX_LEN);
		return -1;
	}
	SFU_ASSERT(sfu_frame_iov(iov, hdr, msg, len) == 0);
	r = sfu_stream_handle_writev(l->req, iov, 2);
	if (r == -1) {
		/*
		 * A worker that leaves SFU_WORKER_LINK_MAX_OUT_LEN of
		 * requests unread is stuck: the channel counts as broken
		 * (the owner kills and respawns it).
		 */
		l->dropped_out++;
		SFU_LOG_ERROR("worker %u pid %ld: not reading its channel "
		              "(%zu bytes pending), closing it",
		    l->index, (long)l->pid,
		    sfu_stream_handle_pending_out(l->req));
		worker_link_close_later(l);
		return -1;
	}
	l->sent++;
	return 0;
}

void
sfu_worker_link_shutdown(struct sfu_worker_link *l)
{
	if (l->shutting_down || l->req == NULL) {
		return;
	}
	l->shutting_down = true;

	/* Let queued requests go out first; EOF follows them. */
	if (sfu_stream_handle_is_closed(l->req) ||
	    sfu_stream_handle_pending_out(l->req) == 0) {
		sfu_stream_handle_free(l->req);
		l->req = NULL;
	}
}
