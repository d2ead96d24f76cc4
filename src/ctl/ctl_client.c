/*
 * SPDX-License-Identifier: MIT
 *
 * libsfuctl: the blocking admin-socket client. Owns one non-blocking Unix
 * socket, an input buffer grown to fit one whole frame (4 MiB at most; a
 * partial frame survives a timeout, so the stream never loses step), and a
 * bounded queue of notifications that arrived while a call waited. Every
 * wait goes through poll() with a deadline on the monotonic clock. Decoded
 * messages are handed out with their bytes attached to their msgpack zone,
 * so they outlive the client.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fd.h"
#include "common/frame.h"
#include "common/mem.h"
#include "ctl/ctl_client.h"

/* Read size and the least input buffer; grown to hold one whole frame. */
#define CTL_CLIENT_READ_LEN (64u * 1024)
#define CTL_CLIENT_FOREVER UINT64_MAX

struct ctl_client_queued {
	uint8_t *payload; /* owned */
	size_t len;       /* bytes */
	STAILQ_ENTRY(ctl_client_queued) entry;
};

struct sfu_ctl_client {
	int fd;           /* owned, -1 once closed */
	char *path;       /* owned: socket path */
	uint32_t next_id; /* id of the next request, never 0 */

	uint8_t *in;   /* owned: bytes received, not taken */
	size_t in_len; /* bytes */
	size_t in_cap; /* bytes */

	STAILQ_HEAD(, ctl_client_queued) queue; /* owned: notifications */
	size_t queued_count;
	size_t queued_len; /* bytes */
	uint64_t dropped;  /* notifications over the bounds */

	bool closed;                /* fd unusable: see close_err */
	bool eof;                   /* closed by the peer between frames */
	struct sfu_error close_err; /* why closed, repeated to callers */
};

/* --- helpers --- */

static void ctl_client_fail(struct sfu_ctl_client *c, struct sfu_error *err,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Marks the connection unusable, remembers why (later calls repeat the
 * reason) and closes the fd.
 */
static void
ctl_client_fail(
    struct sfu_ctl_client *c, struct sfu_error *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sfu_error_setv(&c->close_err, SFU_ERR_ERROR, fmt, ap);
	va_end(ap);
	c->closed = true;
	sfu_fd_close(&c->fd);
	if (err != NULL) {
		*err = c->close_err;
	}
}

static uint64_t
ctl_client_deadline(int timeout_ms)
{
	if (timeout_ms < 0) {
		return CTL_CLIENT_FOREVER;
	}
	return sfu_clock_mono_ms() + (uint64_t)timeout_ms;
}

/* Milliseconds left before deadline, as poll() takes them. */
static int
ctl_client_left_ms(uint64_t deadline)
{
	uint64_t now = 0;

	if (deadline == CTL_CLIENT_FOREVER) {
		return -1;
	}
	now = sfu_clock_mono_ms();
	if (now >= deadline) {
		return 0;
	}
	if (deadline - now > INT32_MAX) {
		return INT32_MAX;
	}
	return (int)(deadline - now);
}

/*
 * Waits until fd is ready for events. Returns 1 ready (or hung up: the
 * next read/send says how), 0 when the deadline passed, -1 with the
 * connection closed on a poll() failure. Signals restart the wait with the
 * time left.
 */
static int
ctl_client_wait(struct sfu_ctl_client *c, short events, uint64_t deadline,
    struct sfu_error *err)
{
	struct pollfd pfd;
	int n = 0;
	int e = 0;

	for (;;) {
		pfd.fd = c->fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, ctl_client_left_ms(deadline));
		if (n > 0) {
			return 1;
		}
		if (n == 0) {
			return 0;
		}
		e = errno;
		if (e != EINTR) {
			ctl_client_fail(c, err, "poll(%s) failed: %s", c->path,
			    strerror(e));
			return -1;
		}
	}
}

/*
 * Gives the payload's memory to m's zone, so it is freed with m and m
 * outlives the client (msgpack-c's strings point into the input).
 */
static void
ctl_client_adopt(struct sfu_msg *m, uint8_t *payload)
{
	bool pushed = false;

	if (m->unpacked.zone == NULL) {
		m->unpacked.zone = msgpack_zone_new(MSGPACK_ZONE_CHUNK_SIZE);
		if (m->unpacked.zone == NULL) {
			fprintf(stderr, "sfuctl: out of memory\n");
			abort();
		}
	}
	pushed = msgpack_zone_push_finalizer(m->unpacked.zone, free, payload);
	if (!pushed) {
		fprintf(stderr, "sfuctl: out of memory\n");
		abort();
	}
}

static void
ctl_client_msg_empty(struct sfu_msg *m)
{
	msgpack_unpacked_init(&m->unpacked);
	m->root = NULL;
}

/* --- input --- */

/* Makes room for at least need bytes of input. */
static void
ctl_client_reserve(struct sfu_ctl_client *c, size_t need)
{
	if (need < CTL_CLIENT_READ_LEN) {
		need = CTL_CLIENT_READ_LEN;
	}
	if (c->in_cap < need) {
		c->in = sfu_xrealloc(c->in, need);
		c->in_cap = need;
	}
}

/*
 * Takes one whole frame out of the input buffer. Returns 1 with *payload
 * (owned by the caller) and *len, 0 when more bytes are needed (the
 * buffer then has room for them), -1 when the declared length is over
 * the limit: we cannot stay in step without reading it all, so the
 * connection is closed.
 */
static int
ctl_client_take_frame(struct sfu_ctl_client *c, uint8_t **payload, size_t *len,
    struct sfu_error *err)
{
	uint32_t n = 0;
	uint8_t *p = NULL;

	if (c->in_len < SFU_FRAME_HEADER_LEN) {
		ctl_client_reserve(c, SFU_FRAME_HEADER_LEN);
		return 0;
	}
	n = (uint32_t)c->in[0] << 24 | (uint32_t)c->in[1] << 16 |
	    (uint32_t)c->in[2] << 8 | (uint32_t)c->in[3];
	if (n > SFU_FRAME_MAX_LEN) {
		ctl_client_fail(c, err,
		    "%s: message of %u bytes over the %u-byte limit", c->path,
		    n, SFU_FRAME_MAX_LEN);
		return -1;
	}
	if (c->in_len < SFU_FRAME_HEADER_LEN + (size_t)n) {
		ctl_client_reserve(c, SFU_FRAME_HEADER_LEN + (size_t)n);
		return 0;
	}
	p = sfu_xmalloc(n);
	memcpy(p, c->in + SFU_FRAME_HEADER_LEN, n);
	c->in_len -= SFU_FRAME_HEADER_LEN + (size_t)n;
	memmove(c->in, c->in + SFU_FRAME_HEADER_LEN + n, c->in_len);
	*payload = p;
	*len = n;
	return 1;
}

/*
 * Reads what the socket has (at least one byte). Returns 1 when bytes
 * came, 0 when the deadline passed, -1 with the connection closed on EOF
 * or error.
 */
static int
ctl_client_fill(
    struct sfu_ctl_client *c, uint64_t deadline, struct sfu_error *err)
{
	ssize_t n = 0;
	int rc = 0;
	int e = 0;

	for (;;) {
		n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
		if (n > 0) {
			c->in_len += (size_t)n;
			return 1;
		}
		if (n == 0) {
			c->eof = c->in_len == 0;
			ctl_client_fail(c, err,
			    "%s: connection closed by sfud%s", c->path,
			    c->eof ? "" : " in the middle of a message");
			return -1;
		}
		e = errno;
		if (e == EINTR) {
			continue;
		}
		if (e != EAGAIN && e != EWOULDBLOCK) {
			ctl_client_fail(c, err, "read(%s) failed: %s", c->path,
			    strerror(e));
			return -1;
		}
		rc = ctl_client_wait(c, POLLIN, deadline, err);
		if (rc <= 0) {
			return rc;
		}
	}
}

/* The next frame: 1 with *payload (owned by the caller), 0 timeout, -1. */
static int
ctl_client_read_frame(struct sfu_ctl_client *c, uint64_t deadline,
    uint8_t **payload, size_t *len, struct sfu_error *err)
{
	int rc = 0;

	for (;;) {
		rc = ctl_client_take_frame(c, payload, len, err);
		if (rc != 0) {
			return rc;
		}
		rc = ctl_client_fill(c, deadline, err);
		if (rc <= 0) {
			return rc;
		}
	}
}

/* Keeps a notification for next_message(), or drops it past the bounds. */
static void
ctl_client_enqueue(struct sfu_ctl_client *c, uint8_t *payload, size_t len)
{
	struct ctl_client_queued *q = NULL;

	if (c->queued_count >= SFU_CTL_CLIENT_MAX_QUEUED ||
	    c->queued_len + len > SFU_CTL_CLIENT_MAX_QUEUED_LEN) {
		c->dropped++;
		free(payload);
		return;
	}
	q = sfu_xcalloc(1, sizeof(*q));
	q->payload = payload;
	q->len = len;
	STAILQ_INSERT_TAIL(&c->queue, q, entry);
	c->queued_count++;
	c->queued_len += len;
}

/* --- output --- */

/*
 * Sends all of buf. A timeout before the first byte leaves the connection
 * usable; after it, the peer holds a partial frame, so it is closed.
 */
static int
ctl_client_send_all(struct sfu_ctl_client *c, const uint8_t *buf, size_t len,
    uint64_t deadline, const char *method, struct sfu_error *err)
{
	size_t off = 0;
	ssize_t n = 0;
	int rc = 0;
	int e = 0;

	while (off < len) {
		n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += (size_t)n;
			continue;
		}
		e = errno;
		if (e == EINTR) {
			continue;
		}
		if (e != EAGAIN && e != EWOULDBLOCK) {
			ctl_client_fail(c, err, "send(%s) failed: %s", c->path,
			    strerror(e));
			return -1;
		}
		rc = ctl_client_wait(c, POLLOUT, deadline, err);
		if (rc == -1) {
			return -1;
		}
		if (rc == 0 && off == 0) {
			sfu_error_set(err, SFU_ERR_ERROR,
			    "%s: timed out sending %s", c->path, method);
			return -1;
		}
		if (rc == 0) {
			ctl_client_fail(c, err, "%s: timed out sending %s",
			    c->path, method);
			return -1;
		}
	}
	return 0;
}

/*
 * Frames the request into b: 4 bytes of length, then the map. Returns 0,
 * or -1 (SFU_ERR_TYPE) when it is over the frame limit.
 */
static int
ctl_client_build(struct sfu_msg_builder *b, uint32_t id, const char *method,
    const char *handler_id, int worker, const uint8_t *data, size_t data_len,
    struct sfu_error *err)
{
	static const uint8_t zero[SFU_FRAME_HEADER_LEN] = {0};
	size_t len = 0;
	uint8_t *h = NULL;

	sfu_msg_builder_reset(b);
	msgpack_sbuffer_write(&b->sbuf, (const char *)zero, sizeof(zero));
	msgpack_pack_map(&b->pk, 2 + (handler_id != NULL ? 1 : 0) +
	                             (worker >= 0 ? 1 : 0) +
	                             (data != NULL ? 1 : 0));
	sfu_msg_pack_kv_uint(&b->pk, "id", id);
	sfu_msg_pack_kv_str(&b->pk, "method", method);
	if (handler_id != NULL) {
		sfu_msg_pack_kv_str(&b->pk, "handlerId", handler_id);
	}
	if (worker >= 0) {
		sfu_msg_pack_kv_int(&b->pk, "worker", worker);
	}
	if (data != NULL) {
		sfu_msg_pack_str(&b->pk, "data");
		msgpack_sbuffer_write(&b->sbuf, (const char *)data, data_len);
	}
	len = b->sbuf.size - SFU_FRAME_HEADER_LEN;
	if (len > SFU_FRAME_MAX_LEN) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "request of %zu bytes over the %u-byte limit", len,
		    SFU_FRAME_MAX_LEN);
		return -1;
	}
	h = (uint8_t *)b->sbuf.data;
	h[0] = (uint8_t)(len >> 24);
	h[1] = (uint8_t)(len >> 16);
	h[2] = (uint8_t)(len >> 8);
	h[3] = (uint8_t)len;
	return 0;
}

/* --- public --- */

struct sfu_ctl_client *
sfu_ctl_client_connect(const char *socket_path, struct sfu_error *err)
{
	struct sfu_ctl_client *c = NULL;
	struct sockaddr_un sun;
	int rc = 0;
	int e = 0;

	c = sfu_xcalloc(1, sizeof(*c));
	c->fd = -1;
	c->next_id = 1;
	STAILQ_INIT(&c->queue);
	c->path = sfu_xstrdup(socket_path);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(socket_path) >= sizeof(sun.sun_path)) {
		sfu_error_set(err, SFU_ERR_ERROR,
		    "%s: socket path too long (at most %zu bytes)", socket_path,
		    sizeof(sun.sun_path) - 1);
		goto fail;
	}
	memcpy(sun.sun_path, socket_path, strlen(socket_path));
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "socket(%s) failed: %s",
		    socket_path, strerror(e));
		goto fail;
	}
	do {
		rc = connect(c->fd, (struct sockaddr *)&sun, sizeof(sun));
	} while (rc == -1 && errno == EINTR);
	if (rc == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "connect(%s) failed: %s",
		    socket_path, strerror(e));
		goto fail;
	}

	/* Blocking connect, then non-blocking I/O bounded by poll(). */
	rc = sfu_fd_set_nonblock(c->fd, true);
	if (rc == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "fcntl(%s) failed: %s",
		    socket_path, strerror(e));
		goto fail;
	}
	ctl_client_reserve(c, CTL_CLIENT_READ_LEN);
	return c;
fail:
	sfu_ctl_client_free(c);
	return NULL;
}

void
sfu_ctl_client_free(struct sfu_ctl_client *c)
{
	struct ctl_client_queued *q = NULL;

	if (c == NULL) {
		return;
	}
	while ((q = STAILQ_FIRST(&c->queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&c->queue, entry);
		free(q->payload);
		free(q);
	}
	sfu_fd_close(&c->fd);
	free(c->in);
	free(c->path);
	free(c);
}

int
sfu_ctl_client_call(struct sfu_ctl_client *c, const char *method,
    const char *handler_id, int worker, const uint8_t *data_msgpack,
    size_t data_len, int timeout_ms, struct sfu_msg *response_out,
    struct sfu_error *err)
{
	struct sfu_msg_builder b;
	struct sfu_msg check;
	struct sfu_error derr = {0};
	uint8_t *payload = NULL;
	size_t len = 0;
	uint64_t deadline = 0;
	uint64_t rid = 0;
	uint32_t id = 0;
	bool rejected = false;
	int result = SFU_CTL_CLIENT_FAILED;
	int rc = 0;

	ctl_client_msg_empty(response_out);
	sfu_msg_builder_init(&b);
	if (c->closed) {
		if (err != NULL) {
			*err = c->close_err;
		}
		goto out;
	}
	if (method == NULL || method[0] == '\0' ||
	    strlen(method) >= SFU_MSG_METHOD_MAX) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "method: expected a name of 1 to %d bytes",
		    SFU_MSG_METHOD_MAX - 1);
		goto out;
	}
	if (handler_id != NULL && strlen(handler_id) >= SFU_MSG_ID_MAX) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "handlerId: longer than %d bytes", SFU_MSG_ID_MAX - 1);
		goto out;
	}
	if (data_msgpack != NULL) {
		rc = sfu_msg_decode(&check, data_msgpack, data_len, &derr);
		sfu_msg_release(&check);
		if (rc == -1) {
			sfu_error_set(
			    err, SFU_ERR_TYPE, "data: %s", derr.reason);
			goto out;
		}
	}
	id = c->next_id;
	c->next_id = c->next_id == UINT32_MAX ? 1 : c->next_id + 1;
	rc = ctl_client_build(
	    &b, id, method, handler_id, worker, data_msgpack, data_len, err);
	if (rc == -1) {
		goto out;
	}
	deadline = ctl_client_deadline(timeout_ms);
	rc = ctl_client_send_all(c, (const uint8_t *)b.sbuf.data, b.sbuf.size,
	    deadline, method, err);
	if (rc == -1) {
		goto out;
	}

	for (;;) {
		rc = ctl_client_read_frame(c, deadline, &payload, &len, err);
		if (rc == 0) {
			sfu_error_set(err, SFU_ERR_ERROR,
			    "%s: no response to %s within %d ms", c->path,
			    method, timeout_ms);
			goto out;
		}
		if (rc == -1) {
			goto out;
		}
		rc = sfu_msg_decode(response_out, payload, len, &derr);
		if (rc == -1) {
			sfu_msg_release(response_out);
			free(payload);
			sfu_error_set(err, SFU_ERR_ERROR,
			    "%s: invalid message from sfud: %s", c->path,
			    derr.reason);
			goto out;
		}
		if (sfu_ctl_client_is_notification(response_out)) {
			sfu_msg_release(response_out);
			ctl_client_enqueue(c, payload, len);
			payload = NULL;
			continue;
		}
		rc = sfu_msg_get_uint(response_out->root, NULL, "id",
		    SFU_MSG_REQUIRED, UINT32_MAX, &rid, NULL);
		if (rc != 1 || rid != id) {
			/* A late response to a call that timed out. */
			sfu_msg_release(response_out);
			free(payload);
			payload = NULL;
			continue;
		}
		ctl_client_adopt(response_out, payload);
		payload = NULL;
		break;
	}
	rejected = sfu_ctl_client_response_error(response_out, err);
	result = rejected ? SFU_CTL_CLIENT_REJECTED : SFU_CTL_CLIENT_ACCEPTED;
out:
	sfu_msg_builder_release(&b);
	return result;
}

int
sfu_ctl_client_next_message(struct sfu_ctl_client *c, int timeout_ms,
    struct sfu_msg *out, struct sfu_error *err)
{
	struct ctl_client_queued *q = NULL;
	struct sfu_error derr = {0};
	uint8_t *payload = NULL;
	size_t len = 0;
	int rc = 0;

	ctl_client_msg_empty(out);
	q = STAILQ_FIRST(&c->queue);
	if (q != NULL) {
		STAILQ_REMOVE_HEAD(&c->queue, entry);
		c->queued_count--;
		c->queued_len -= q->len;
		payload = q->payload;
		len = q->len;
		free(q);
	} else if (c->closed) {
		if (err != NULL) {
			*err = c->close_err;
		}
		return -1;
	} else {
		rc = ctl_client_read_frame(
		    c, ctl_client_deadline(timeout_ms), &payload, &len, err);
		if (rc <= 0) {
			return rc;
		}
	}
	rc = sfu_msg_decode(out, payload, len, &derr);
	if (rc == -1) {
		sfu_msg_release(out);
		free(payload);
		sfu_error_set(err, SFU_ERR_TYPE,
		    "%s: invalid message from sfud: %s", c->path, derr.reason);
		return -1;
	}
	ctl_client_adopt(out, payload);
	return 1;
}

bool
sfu_ctl_client_is_closed(const struct sfu_ctl_client *c)
{
	return c->closed;
}

bool
sfu_ctl_client_is_eof(const struct sfu_ctl_client *c)
{
	return c->eof;
}

const char *
sfu_ctl_client_socket_path(const struct sfu_ctl_client *c)
{
	return c->path;
}

uint64_t
sfu_ctl_client_dropped(const struct sfu_ctl_client *c)
{
	return c->dropped;
}

const msgpack_object *
sfu_ctl_client_response_data(const struct sfu_msg *m)
{
	const msgpack_object *data = NULL;

	if (m->root == NULL) {
		return NULL;
	}
	data = sfu_msg_map_get(m->root, "data");
	if (data == NULL || data->type == MSGPACK_OBJECT_NIL) {
		return NULL;
	}
	return data;
}

bool
sfu_ctl_client_is_notification(const struct sfu_msg *m)
{
	const msgpack_object *target = NULL;
	const msgpack_object *event = NULL;

	if (m->root == NULL) {
		return false;
	}
	target = sfu_msg_map_get(m->root, "targetId");
	event = sfu_msg_map_get(m->root, "event");
	return target != NULL && target->type == MSGPACK_OBJECT_STR &&
	       event != NULL && event->type == MSGPACK_OBJECT_STR;
}

bool
sfu_ctl_client_response_error(const struct sfu_msg *m, struct sfu_error *err)
{
	static const enum sfu_error_kind kinds[] = {SFU_ERR_TYPE,
	    SFU_ERR_INVALID_STATE, SFU_ERR_NOT_FOUND, SFU_ERR_UNSUPPORTED,
	    SFU_ERR_ERROR};
	const msgpack_object *accepted = NULL;
	const msgpack_object *name = NULL;
	const msgpack_object *reason = NULL;
	enum sfu_error_kind kind = SFU_ERR_ERROR;
	size_t i = 0;

	if (m->root == NULL || sfu_ctl_client_is_notification(m) ||
	    sfu_msg_map_get(m->root, "id") == NULL) {
		return false;
	}
	accepted = sfu_msg_map_get(m->root, "accepted");
	if (accepted != NULL && accepted->type == MSGPACK_OBJECT_BOOLEAN &&
	    accepted->via.boolean) {
		return false;
	}
	name = sfu_msg_map_get(m->root, "error");
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (name != NULL &&
		    sfu_msg_str_eq(name, sfu_error_kind_name(kinds[i]))) {
			kind = kinds[i];
			break;
		}
	}
	reason = sfu_msg_map_get(m->root, "reason");
	if (reason != NULL && reason->type == MSGPACK_OBJECT_STR) {
		sfu_error_set(err, kind, "%.*s", (int)reason->via.str.size,
		    reason->via.str.ptr);
	} else if (name == NULL) {
		sfu_error_set(err, kind,
		    "response neither accepted nor an "
		    "error");
	} else {
		sfu_error_set(err, kind, "(no reason given)");
	}
	return true;
}
