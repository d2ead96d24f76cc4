/*
 * SPDX-License-Identifier: MIT
 *
 * The admin Unix socket: binds the path (replacing a stale socket, refusing
 * a live one or any other file), accepts clients up to max_clients, and
 * turns each client's byte stream into requests for the owner (the master)
 * through frame -> msg. Owns the listening socket, every client and each
 * client's stream handle; the meaning of requests, and what is pending for
 * a client, belong to the owner. Clients are never freed inside a call
 * stack that may still use them: closing marks the client and frees it from
 * its own 0 ms timer, calling on_client_closed just before.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/queue.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#define SFU_LOG_MODULE "admin"
#include "common/fd.h"
#include "common/frame.h"
#include "common/handle/stream_handle.h"
#include "common/handle/timer_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "master/admin.h"

/* listen() backlog, as nginx and redis use. */
#define SFU_ADMIN_BACKLOG 511
/*
 * How long a client whose framing was lost keeps the socket open so the
 * final error response can leave, ms.
 */
#define SFU_ADMIN_LINGER_MS 1000
/* Pause before accepting again after EMFILE/ENFILE, ms (nginx waits too). */
#define SFU_ADMIN_ACCEPT_RETRY_MS 500

struct sfu_admin_client {
	struct sfu_admin *admin;              /* borrowed: our owner */
	TAILQ_ENTRY(sfu_admin_client) entry;  /* in admin->clients */
	struct sfu_stream_handle *stream;     /* owned; owns the fd */
	struct sfu_frame_decoder decoder;     /* owned buffer inside */
	struct sfu_timer_handle *close_timer; /* owned: deferred free */
	uint64_t id;                          /* unique for the admin's life */
	pid_t pid;                            /* SO_PEERCRED, -1 if unknown */
	uid_t uid;                            /* SO_PEERCRED, -1 if unknown */
	gid_t gid;                            /* SO_PEERCRED, -1 if unknown */
	void *data;                           /* borrowed: the owner's */
	bool closing;                         /* no more input or output */
	bool lingering;                       /* closing once output drained */
};

struct sfu_admin {
	struct event_base *base; /* borrowed */
	const struct sfu_admin_listener *listener;
	void *ctx; /* borrowed: the owner */

	char *path; /* owned copy of opts->path */
	mode_t mode;
	unsigned max_clients;
	size_t max_output; /* bytes per client */

	int fd;         /* owned until lev takes it */
	bool bound;     /* path is our socket */
	dev_t sock_dev; /* path's st_dev after bind */
	ino_t sock_ino; /* path's st_ino after bind */

	/*
	 * Accepting goes through libevent's evconnlistener directly (it
	 * is libevent_core's own accept "handle": accept4() with
	 * SOCK_NONBLOCK|SOCK_CLOEXEC until EAGAIN); no other libevent I/O
	 * happens in this file.
	 */
	struct evconnlistener *lev;            /* owned; owns fd */
	struct sfu_timer_handle *accept_timer; /* owned: retry after EMFILE */
	bool accepting;

	TAILQ_HEAD(, sfu_admin_client) clients; /* owned, closing ones too */
	unsigned client_count;                  /* not closing */
	uint64_t next_client_id;

	struct sfu_msg_builder builder; /* error responses */

	uint64_t invalid;  /* malformed/oversize messages */
	uint64_t dropped;  /* clients dropped: output full */
	uint64_t rejected; /* clients over max_clients */
};

static void admin_client_close(struct sfu_admin_client *c, bool linger);

/* --- clients: closing and freeing --- */

static void
admin_client_free(struct sfu_admin_client *c)
{
	if (c == NULL) {
		return;
	}
	sfu_stream_handle_free(c->stream);
	c->stream = NULL;
	sfu_timer_handle_free(c->close_timer);
	c->close_timer = NULL;
	sfu_frame_decoder_release(&c->decoder);
	free(c);
}

/* The 0 ms (or linger) timer: the client leaves for good. */
static void
admin_client_on_close_timer(void *ctx, struct sfu_timer_handle *t)
{
	struct sfu_admin_client *c = ctx;
	struct sfu_admin *a = c->admin;

	(void)t;
	if (c->lingering && sfu_stream_handle_pending_out(c->stream) > 0) {
		SFU_LOG_DEBUG("admin client %llu: %zu bytes left unsent",
		    (unsigned long long)c->id,
		    sfu_stream_handle_pending_out(c->stream));
	}
	TAILQ_REMOVE(&a->clients, c, entry);

	/* The owner may free the admin here: touch only c afterwards. */
	if (a->listener->on_client_closed != NULL) {
		a->listener->on_client_closed(a->ctx, c);
	}
	admin_client_free(c);
}

/*
 * Marks c closing: no more input is read and no more output accepted. The
 * free happens from c's timer, never in the caller's stack (the caller may
 * be iterating over clients or still hold c). With linger, pending output
 * (a final error) gets SFU_ADMIN_LINGER_MS to leave first.
 */
static void
admin_client_close(struct sfu_admin_client *c, bool linger)
{
	if (c->closing) {
		return;
	}
	c->closing = true;
	c->admin->client_count--;
	if (!sfu_stream_handle_is_closed(c->stream)) {
		sfu_stream_handle_stop_reading(c->stream);
	}
	if (linger && !sfu_stream_handle_is_closed(c->stream) &&
	    sfu_stream_handle_pending_out(c->stream) > 0) {
		c->lingering = true;
		sfu_timer_handle_start(c->close_timer, SFU_ADMIN_LINGER_MS, 0);
		return;
	}
	sfu_timer_handle_start(c->close_timer, 0, 0);
}

/* --- clients: input --- */

static void
admin_client_reply_invalid(
    struct sfu_admin_client *c, bool has_id, uint32_t id, const char *reason)
{
	c->admin->invalid++;
	if (!has_id) {
		SFU_LOG_WARN("admin client %llu sent an invalid message "
		             "without readable id [reason:%s invalid:%llu]",
		    (unsigned long long)c->id, reason,
		    (unsigned long long)c->admin->invalid);
		return;
	}
	SFU_LOG_WARN("admin client %llu sent an invalid request "
	             "[id:%u reason:%s invalid:%llu]",
	    (unsigned long long)c->id, id, reason,
	    (unsigned long long)c->admin->invalid);
	sfu_admin_client_send_error(c, id, SFU_ERR_TYPE, reason);
}

static void
admin_client_handle_message(
    struct sfu_admin_client *c, const uint8_t *data, size_t len)
{
	struct sfu_admin *a = c->admin;
	struct sfu_msg_request req;
	struct sfu_error err = {0};
	struct sfu_msg m;
	uint32_t id = 0;
	bool has_id = false;
	int r = 0;

	memset(&req, 0, sizeof(req));
	r = sfu_msg_decode(&m, data, len, &err);
	if (r == -1) {
		has_id = sfu_msg_peek_id(data, len, &id);
		admin_client_reply_invalid(c, has_id, id, err.reason);
		goto out;
	}
	r = sfu_msg_parse_request(m.root, &req, &err);
	if (r == -1) {
		has_id = req.has_id;
		id = req.id;
		if (!has_id) {
			has_id = sfu_msg_peek_id(data, len, &id);
		}
		admin_client_reply_invalid(c, has_id, id, err.reason);
		goto out;
	}
	SFU_LOG_DEBUG("admin client %llu request [id:%u method:%s]",
	    (unsigned long long)c->id, req.id, req.method);
	a->listener->on_request(a->ctx, c, &req, m.root, data, len);
out:
	sfu_msg_release(&m);
}

/*
 * Framing is lost: the declared length is absurd, so nothing after it can
 * be trusted. The bytes after the header may still start a map with an
 * id: answer it so the peer learns why it is being closed.
 */
static void
admin_client_on_framing_lost(
    struct sfu_admin_client *c, struct evbuffer *in, size_t declared_len)
{
	uint8_t buf[SFU_FRAME_HEADER_LEN + SFU_FRAME_PEEK_LEN];
	char reason[128];
	ev_ssize_t n = 0;
	uint32_t id = 0;
	bool has_id = false;

	c->admin->invalid++;
	n = evbuffer_copyout(in, buf, sizeof(buf));
	if (n > SFU_FRAME_HEADER_LEN) {
		has_id = sfu_msg_peek_id(buf + SFU_FRAME_HEADER_LEN,
		    (size_t)n - SFU_FRAME_HEADER_LEN, &id);
	}
	snprintf(reason, sizeof(reason),
	    "framing lost: declared message length %zu is absurd",
	    declared_len);
	SFU_LOG_WARN("admin client %llu: %s, closing [invalid:%llu]",
	    (unsigned long long)c->id, reason,
	    (unsigned long long)c->admin->invalid);
	if (has_id) {
		sfu_admin_client_send_error(c, id, SFU_ERR_TYPE, reason);
	}
	admin_client_close(c, true);
}

static void
admin_client_on_read(
    void *ctx, struct sfu_stream_handle *h, struct evbuffer *in)
{
	struct sfu_admin_client *c = ctx;
	const uint8_t *payload = NULL;
	enum sfu_frame_status st = SFU_FRAME_AGAIN;
	char reason[128];
	size_t len = 0;
	size_t peek = 0;
	uint32_t id = 0;
	bool has_id = false;

	(void)h;

	/*
	 * The decoder removes each frame as it completes and skips oversize
	 * ones as they arrive, so in never holds more than one frame under
	 * the limit plus one read: input stays bounded.
	 */
	while (!c->closing) {
		st = sfu_frame_decode(&c->decoder, in, &payload, &len, &peek);
		switch (st) {
		case SFU_FRAME_OK:
			admin_client_handle_message(c, payload, len);
			break;
		case SFU_FRAME_OVERSIZE:
			snprintf(reason, sizeof(reason),
			    "message of %zu bytes exceeds the limit of %u", len,
			    SFU_FRAME_MAX_LEN);
			has_id = sfu_msg_peek_id(payload, peek, &id);
			admin_client_reply_invalid(c, has_id, id, reason);
			break;
		case SFU_FRAME_LOST:
			admin_client_on_framing_lost(c, in, len);
			return;
		case SFU_FRAME_AGAIN:
		default:
			return;
		}
	}
}

static void
admin_client_on_drained(void *ctx, struct sfu_stream_handle *h)
{
	struct sfu_admin_client *c = ctx;

	(void)h;
	if (c->lingering) {
		/* The final error left: close now rather than at the bound. */
		sfu_timer_handle_start(c->close_timer, 0, 0);
	}
}

static void
admin_client_on_stream_closed(void *ctx, struct sfu_stream_handle *h, int error)
{
	struct sfu_admin_client *c = ctx;

	(void)h;
	if (c->closing) {
		/* Lingering, and the peer left: nothing to wait for. */
		sfu_timer_handle_start(c->close_timer, 0, 0);
		return;
	}
	if (error != 0) {
		SFU_LOG_INFO("admin client %llu disconnected: %s",
		    (unsigned long long)c->id, strerror(error));
	} else {
		SFU_LOG_INFO("admin client %llu disconnected",
		    (unsigned long long)c->id);
	}
	admin_client_close(c, false);
}

static const struct sfu_stream_handle_listener admin_client_stream_listener = {
    .on_read = admin_client_on_read,
    .on_drained = admin_client_on_drained,
    .on_closed = admin_client_on_stream_closed,
};

/* --- accepting --- */

static void
admin_peer_cred(int fd, pid_t *pid, uid_t *uid, gid_t *gid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int r = 0;
	int e = 0;

	*pid = -1;
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	r = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	if (r == -1) {
		e = errno;
		SFU_LOG_WARN("getsockopt(fd %d, SO_PEERCRED) failed: %s", fd,
		    strerror(e));
		return;
	}
	*pid = cred.pid;
	*uid = cred.uid;
	*gid = cred.gid;
}

static void
admin_on_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
	struct sfu_admin *a = arg;
	struct sfu_admin_client *c = NULL;
	struct sfu_error err = {0};
	pid_t pid = -1;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int cfd = fd; /* ours until the stream handle takes it */

	(void)lev;
	(void)sa;
	(void)socklen;
	admin_peer_cred(cfd, &pid, &uid, &gid);
	if (a->client_count >= a->max_clients) {
		a->rejected++;
		SFU_LOG_WARN("admin client refused: max_clients %u reached "
		             "[pid:%ld uid:%ld rejected:%llu]",
		    a->max_clients, (long)pid, (long)uid,
		    (unsigned long long)a->rejected);
		sfu_fd_close(&cfd);
		return;
	}

	c = sfu_xcalloc(1, sizeof(*c));
	c->admin = a;
	c->id = ++a->next_client_id;
	c->pid = pid;
	c->uid = uid;
	c->gid = gid;
	sfu_frame_decoder_init(&c->decoder);
	c->close_timer =
	    sfu_timer_handle_new(a->base, admin_client_on_close_timer, c);
	c->stream = sfu_stream_handle_new(a->base, cfd,
	    SFU_STREAM_READ | SFU_STREAM_WRITE, a->max_output,
	    &admin_client_stream_listener, c, &err);
	if (c->stream == NULL) {
		SFU_LOG_ERROR("admin client %llu refused: %s",
		    (unsigned long long)c->id, err.reason);
		sfu_fd_close(&cfd);
		admin_client_free(c);
		return;
	}
	cfd = -1; /* owned by c->stream */
	TAILQ_INSERT_TAIL(&a->clients, c, entry);
	a->client_count++;
	SFU_LOG_INFO("admin client %llu connected [pid:%ld uid:%ld gid:%ld]",
	    (unsigned long long)c->id, (long)pid, (long)uid, (long)gid);
}

static void
admin_on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct sfu_admin *a = arg;
	int e = EVUTIL_SOCKET_ERROR();

	if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
		/*
		 * The pending connection stays queued and the listening fd
		 * stays readable: pause instead of spinning the loop.
		 */
		SFU_LOG_ERROR("accept(%s) failed: %s; retrying in %d ms",
		    a->path, strerror(e), SFU_ADMIN_ACCEPT_RETRY_MS);
		evconnlistener_disable(lev);
		sfu_timer_handle_start(
		    a->accept_timer, SFU_ADMIN_ACCEPT_RETRY_MS, 0);
		return;
	}
	SFU_LOG_DEBUG("accept(%s) failed: %s", a->path, strerror(e));
}

static void
admin_on_accept_timer(void *ctx, struct sfu_timer_handle *t)
{
	struct sfu_admin *a = ctx;

	(void)t;
	if (a->accepting) {
		evconnlistener_enable(a->lev);
	}
}

/* --- binding --- */

/*
 * Whatever is at path must go before bind(): nothing (fine), a stale
 * socket left by a crashed sfud (connect() is refused: unlink it), a live
 * socket (someone accepts on it: refuse), or any other file (refuse: it
 * is not ours to delete).
 */
static int
admin_clear_path(const struct sockaddr_un *sun, struct sfu_error *err)
{
	struct stat st;
	const char *path = sun->sun_path;
	int fd = -1;
	int rc = -1;
	int r = 0;
	int e = 0;

	r = lstat(path, &st);
	if (r == -1) {
		e = errno;
		if (e == ENOENT) {
			rc = 0;
			goto out;
		}
		sfu_error_set(err, SFU_ERR_ERROR, "stat(%s) failed: %s", path,
		    strerror(e));
		goto out;
	}
	if (!S_ISSOCK(st.st_mode)) {
		sfu_error_set(err, SFU_ERR_ERROR,
		    "%s exists and is not a socket: not replacing it", path);
		goto out;
	}

	/* Non-blocking: a live listener with a full backlog says EAGAIN. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "socket(AF_UNIX) failed: %s",
		    strerror(e));
		goto out;
	}
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	e = errno;
	if (r == 0 || e == EAGAIN || e == EINPROGRESS) {
		sfu_error_set(err, SFU_ERR_ERROR,
		    "another process is listening on %s", path);
		goto out;
	}
	if (e == ENOENT) {
		rc = 0; /* gone meanwhile */
		goto out;
	}
	if (e != ECONNREFUSED) {
		sfu_error_set(err, SFU_ERR_ERROR, "connect(%s) failed: %s",
		    path, strerror(e));
		goto out;
	}
	SFU_LOG_INFO("removing stale admin socket %s", path);
	r = unlink(path);
	if (r == -1 && errno != ENOENT) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "unlink(%s) failed: %s", path,
		    strerror(e));
		goto out;
	}
	rc = 0;
out:
	sfu_fd_close(&fd);
	return rc;
}

static int
admin_bind(struct sfu_admin *a, struct sfu_error *err)
{
	struct sockaddr_un sun;
	struct stat st;
	size_t path_len = strlen(a->path);
	mode_t old_mask = 0;
	int r = 0;
	int e = 0;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path_len == 0 || path_len >= sizeof(sun.sun_path)) {
		sfu_error_set(err, SFU_ERR_ERROR,
		    "admin socket path %s: length %zu not in 1..%zu", a->path,
		    path_len, sizeof(sun.sun_path) - 1);
		return -1;
	}
	memcpy(sun.sun_path, a->path, path_len + 1);
	r = admin_clear_path(&sun, err);
	if (r == -1) {
		return -1;
	}

	a->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "socket(AF_UNIX) failed: %s",
		    strerror(e));
		return -1;
	}

	/*
	 * bind() creates the file with 0777 & ~umask: with this umask it is
	 * never wider than mode, not even until the chmod() below (which
	 * only matters if mode has bits a umask cannot grant). The master
	 * is single-threaded here, so the process-wide umask is safe.
	 */
	old_mask = umask(~a->mode & 0777);
	r = bind(a->fd, (const struct sockaddr *)&sun, sizeof(sun));
	e = errno;
	umask(old_mask);
	if (r == -1) {
		sfu_error_set(err, SFU_ERR_ERROR, "bind(%s) failed: %s",
		    a->path, strerror(e));
		return -1;
	}
	r = lstat(a->path, &st);
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "stat(%s) failed: %s",
		    a->path, strerror(e));
		return -1;
	}
	a->bound = true;
	a->sock_dev = st.st_dev;
	a->sock_ino = st.st_ino;
	r = chmod(a->path, a->mode);
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "chmod(%s, %04o) failed: %s",
		    a->path, (unsigned)a->mode, strerror(e));
		return -1;
	}
	r = listen(a->fd, SFU_ADMIN_BACKLOG);
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "listen(%s) failed: %s",
		    a->path, strerror(e));
		return -1;
	}
	return 0;
}

/* Unlinks path only while it is still the socket we bound. */
static void
admin_unlink(struct sfu_admin *a)
{
	struct stat st;
	int r = 0;
	int e = 0;

	if (!a->bound) {
		return;
	}
	a->bound = false;
	r = lstat(a->path, &st);
	if (r == -1) {
		e = errno;
		if (e != ENOENT) {
			SFU_LOG_WARN(
			    "stat(%s) failed: %s", a->path, strerror(e));
		}
		return;
	}
	if (!S_ISSOCK(st.st_mode) || st.st_dev != a->sock_dev ||
	    st.st_ino != a->sock_ino) {
		SFU_LOG_WARN(
		    "not removing %s: it is no longer our socket", a->path);
		return;
	}
	r = unlink(a->path);
	if (r == -1) {
		e = errno;
		SFU_LOG_WARN("unlink(%s) failed: %s", a->path, strerror(e));
	}
}

/* --- public --- */

struct sfu_admin *
sfu_admin_new(struct event_base *base, const struct sfu_admin_options *opts,
    const struct sfu_admin_listener *listener, void *ctx, struct sfu_error *err)
{
	struct sfu_admin *a = NULL;
	int r = 0;

	a = sfu_xcalloc(1, sizeof(*a));
	a->fd = -1;
	a->base = base;
	a->listener = listener;
	a->ctx = ctx;
	TAILQ_INIT(&a->clients);
	sfu_msg_builder_init(&a->builder);
	a->accept_timer = sfu_timer_handle_new(base, admin_on_accept_timer, a);
	if (opts->path == NULL) {
		sfu_error_set(err, SFU_ERR_TYPE, "admin socket path not set");
		goto fail;
	}
	a->path = sfu_xstrdup(opts->path);
	a->mode = opts->mode & 07777;
	a->max_clients = opts->max_clients;
	a->max_output = opts->max_output;
	r = admin_bind(a, err);
	if (r == -1) {
		goto fail;
	}

	/* The listener owns the fd from here and closes it on free. */
	a->lev = evconnlistener_new(base, admin_on_accept, a,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, a->fd);
	if (a->lev == NULL) {
		sfu_error_set(err, SFU_ERR_ERROR, "cannot watch %s", a->path);
		goto fail;
	}
	a->fd = -1;
	evconnlistener_set_error_cb(a->lev, admin_on_accept_error);
	a->accepting = true;
	SFU_LOG_INFO("admin socket listening on %s [mode:%04o]", a->path,
	    (unsigned)a->mode);
	return a;
fail:
	sfu_admin_free(a);
	return NULL;
}

/*
 * Clients are freed without on_client_closed: the owner is freeing us and
 * forgets its clients itself (STYLE §4: a destructor notifies no one).
 */
void
sfu_admin_free(struct sfu_admin *a)
{
	struct sfu_admin_client *c = NULL;

	if (a == NULL) {
		return;
	}
	while ((c = TAILQ_FIRST(&a->clients)) != NULL) {
		TAILQ_REMOVE(&a->clients, c, entry);
		admin_client_free(c);
	}
	a->client_count = 0;
	if (a->lev != NULL) {
		evconnlistener_free(a->lev);
		a->lev = NULL;
	}
	sfu_fd_close(&a->fd);
	sfu_timer_handle_free(a->accept_timer);
	a->accept_timer = NULL;
	if (a->path != NULL) {
		admin_unlink(a);
	}
	sfu_msg_builder_release(&a->builder);
	free(a->path);
	free(a);
}

void
sfu_admin_stop_accepting(struct sfu_admin *a)
{
	if (!a->accepting) {
		return;
	}
	a->accepting = false;
	sfu_timer_handle_stop(a->accept_timer);
	evconnlistener_disable(a->lev);
}

int
sfu_admin_client_send(
    struct sfu_admin_client *c, const uint8_t *msg, size_t len)
{
	struct sfu_admin *a = c->admin;
	struct iovec iov[2];
	uint8_t hdr[SFU_FRAME_HEADER_LEN];
	int r = 0;

	if (c->closing) {
		return -1;
	}
	if (len > SFU_FRAME_MAX_LEN) {
		SFU_LOG_ERROR("admin client %llu: not sending a message of "
		              "%zu bytes (over the frame limit)",
		    (unsigned long long)c->id, len);
		return -1;
	}
	SFU_ASSERT(sfu_frame_iov(iov, hdr, msg, len) == 0);
	r = sfu_stream_handle_writev(c->stream, iov, 2);
	if (r == 0) {
		return 0;
	}
	if (sfu_stream_handle_is_closed(c->stream)) {
		admin_client_close(c, false);
		return -1;
	}
	a->dropped++;
	SFU_LOG_WARN("admin client %llu dropped: output limit of %zu bytes "
	             "reached (client not reading) [dropped:%llu]",
	    (unsigned long long)c->id, a->max_output,
	    (unsigned long long)a->dropped);
	admin_client_close(c, false);
	return -1;
}

void
sfu_admin_client_send_error(struct sfu_admin_client *c, uint32_t id,
    enum sfu_error_kind kind, const char *reason)
{
	struct sfu_msg_builder *b = &c->admin->builder;

	sfu_msg_build_error(b, id, kind, reason);
	(void)sfu_admin_client_send(
	    c, (const uint8_t *)b->sbuf.data, b->sbuf.size);
}

void
sfu_admin_foreach_client(struct sfu_admin *a, sfu_admin_client_cb cb, void *arg)
{
	struct sfu_admin_client *c = NULL;

	/* Clients leave the list only from their close timer, never here. */
	for (c = TAILQ_FIRST(&a->clients); c != NULL;
	     c = TAILQ_NEXT(c, entry)) {
		if (!c->closing) {
			cb(arg, c);
		}
	}
}

void
sfu_admin_client_set_data(struct sfu_admin_client *c, void *data)
{
	c->data = data;
}

void *
sfu_admin_client_get_data(const struct sfu_admin_client *c)
{
	return c->data;
}

uint64_t
sfu_admin_client_id(const struct sfu_admin_client *c)
{
	return c->id;
}

pid_t
sfu_admin_client_pid(const struct sfu_admin_client *c)
{
	return c->pid;
}

uid_t
sfu_admin_client_uid(const struct sfu_admin_client *c)
{
	return c->uid;
}

unsigned
sfu_admin_client_count(const struct sfu_admin *a)
{
	return a->client_count;
}

uint64_t
sfu_admin_invalid_count(const struct sfu_admin *a)
{
	return a->invalid;
}

uint64_t
sfu_admin_dropped_clients(const struct sfu_admin *a)
{
	return a->dropped;
}

uint64_t
sfu_admin_rejected_clients(const struct sfu_admin *a)
{
	return a->rejected;
}
