/*
 * SPDX-License-Identifier: MIT
 *
 * embedded_host: a host process that embeds sfud workers as threads through
 * libsfuworker (DESIGN §1, embedded mode) and checks what it sees, printing
 * TAP. Two workers (A: --logLevel=debug; B: --logLevel=warn --logTags=ice)
 * run at once, each with its own callbacks, its own inbound queue (mutex +
 * condition variable; the read callback keeps the waker under that mutex,
 * as worker.h asks) and its own outbound queue filled by the write
 * callback. The main thread drives both: running notifications, interleaved
 * bursts of worker.ping, worker.dump and worker.updateSettings per worker,
 * an unknown method, bytes that are not MessagePack, worker.close on A,
 * closing B's channel from the host side; then a third worker with bad
 * argv. Every wait has a deadline, so a broken worker fails the test rather
 * than hanging it. Run by t/integration/12-embedded.t; exits non-zero when a
 * check fails.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "common/error.h"
#include "common/msg.h"
#include "worker/worker.h"

#define HOST_PLAN 33
/* Every wait of the host, ms: generous for valgrind, finite for CI. */
#define HOST_TIMEOUT_MS 10000
/* worker.ping requests per worker, sent in bursts of HOST_BURST. */
#define HOST_PINGS 500
/* Larger than the worker's batch of 64 reads per wake-up. */
#define HOST_BURST 100
/* Offset of the id of the ping queued before a worker starts. */
#define HOST_EARLY_ID 80000
/* Bounds of the queues: the host blocks (with a deadline) when in is full. */
#define HOST_IN_MAX 256
#define HOST_OUT_MAX 4096
/* Log lines kept per worker to show as TAP comments. */
#define HOST_LOG_KEEP 3
#define HOST_LOG_LINE_MAX 200
#define HOST_LOG_LEVELS 5

struct host_msg {
	STAILQ_ENTRY(host_msg) entry;
	uint8_t *data; /* owned, malloc() */
	size_t len;
};

STAILQ_HEAD(host_msg_list, host_msg);

/* A message queue between the host thread and one worker thread. */
struct host_queue {
	pthread_mutex_t mu;
	pthread_cond_t cond; /* broadcast when the queue or its state moves */
	struct host_msg_list head; /* owned messages */
	size_t count;
};

struct host_worker {
	const char *name; /* borrowed: "A", "B", "C" */
	int argc;
	char *const *argv; /* borrowed, static */
	uint32_t id_base;  /* ids this host uses with this worker */
	struct sfu_worker_channel_ops ops;
	pthread_t thread;
	bool started;
	bool joined;

	/* Under in.mu: the waker and what the read callback saw. */
	struct host_queue in;
	struct sfu_worker_waker *waker;       /* borrowed from the worker */
	struct sfu_worker_waker *first_waker; /* only compared */
	bool in_closed;                       /* read returns -1 */
	bool ended;                           /* read got waker NULL */
	unsigned long reads;
	unsigned long null_reads;
	unsigned long reads_after_end; /* with a waker, after NULL */
	unsigned long waker_changes;
	unsigned long send_failures; /* host side only */

	/* Under out.mu: output, logs, and the end of the thread. */
	struct host_queue out;
	unsigned long written;
	unsigned long out_dropped;
	unsigned long reads_before_first_write;
	unsigned long log_lines[HOST_LOG_LEVELS];
	unsigned long log_requests_own;     /* "request [id:N" with our N */
	unsigned long log_requests_foreign; /* ... with another's N */
	unsigned long log_dropped_invalid;
	unsigned long log_bad_settings;
	char log_kept[HOST_LOG_KEEP][HOST_LOG_LINE_MAX];
	int log_kept_levels[HOST_LOG_KEEP];
	size_t log_kept_count;
	bool done;
	int exit_code;
};

/* A decoded message from a worker. */
struct host_reply {
	struct host_msg *raw; /* owned: msg's strings point into it */
	struct sfu_msg msg;   /* owned: the decoded tree */
	bool is_response;
	uint32_t id;
	bool accepted;
	char error[32];
	char reason[256];
	char target_id[SFU_MSG_ID_MAX];
	char event[64];
	const msgpack_object *data; /* borrowed from msg, NULL when absent */
};

static int host_test_count;
static int host_failures;

static const char *const host_level_names[HOST_LOG_LEVELS] = {
    "debug", "info", "warn", "error", "none"};

static char *const host_argv_a[] = {"worker-a", "--logLevel=debug", NULL};
static char *const host_argv_b[] = {
    "worker-b", "--logLevel=warn", "--logTags=ice", NULL};
static char *const host_argv_c[] = {"worker-c", "--logLevel=bogus", NULL};

static const char *
host_level_name(int level)
{
	if (level < 0 || level >= HOST_LOG_LEVELS) {
		return "?";
	}
	return host_level_names[level];
}

/* --- TAP --- */

static bool __attribute__((format(printf, 2, 3)))
host_ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	host_test_count++;
	if (!cond) {
		host_failures++;
	}
	printf("%sok %d - ", cond ? "" : "not ", host_test_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

static void __attribute__((format(printf, 1, 2)))
host_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* --- time --- */

static void
host_deadline(struct timespec *ts, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* --- queues --- */

static void
host_queue_init(struct host_queue *q)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &attr);
	pthread_condattr_destroy(&attr);
	STAILQ_INIT(&q->head);
	q->count = 0;
}

static void
host_msg_free(struct host_msg *m)
{
	if (m == NULL) {
		return;
	}
	free(m->data);
	free(m);
}

/* Not thread-safe: after the worker thread is joined (or never ran). */
static void
host_queue_release(struct host_queue *q)
{
	struct host_msg *m = NULL;

	while ((m = STAILQ_FIRST(&q->head)) != NULL) {
		STAILQ_REMOVE_HEAD(&q->head, entry);
		host_msg_free(m);
	}
	q->count = 0;
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->mu);
}

static struct host_msg *
host_msg_new(const uint8_t *data, size_t len)
{
	struct host_msg *m = NULL;

	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		abort();
	}
	m->data = malloc(len > 0 ? len : 1);
	if (m->data == NULL) {
		abort();
	}
	memcpy(m->data, data, len);
	m->len = len;
	return m;
}

/* --- channel callbacks (worker thread) --- */

/*
 * Hands the worker its next message. The waker is stored under in.mu, the
 * mutex host_send() holds while waking: once the worker has passed NULL
 * here, no wake can reach it.
 */
static int
host_on_read(
    void *ctx, struct sfu_worker_waker *waker, uint8_t **msg, size_t *len)
{
	struct host_worker *w = ctx;
	struct host_msg *m = NULL;
	int r = 0;

	pthread_mutex_lock(&w->in.mu);
	w->reads++;
	if (waker == NULL) {
		w->null_reads++;
		w->ended = true;
	} else {
		if (w->ended) {
			w->reads_after_end++;
		}
		if (w->first_waker == NULL) {
			w->first_waker = waker;
		} else if (w->first_waker != waker) {
			w->waker_changes++;
		}
	}
	w->waker = waker;
	if (w->in_closed) {
		r = -1;
		goto out;
	}
	m = STAILQ_FIRST(&w->in.head);
	if (m == NULL) {
		r = 0;
		goto out;
	}
	STAILQ_REMOVE_HEAD(&w->in.head, entry);
	w->in.count--;
	*msg = m->data; /* the worker frees it */
	*len = m->len;
	free(m);
	r = 1;
out:
	pthread_cond_broadcast(&w->in.cond);
	pthread_mutex_unlock(&w->in.mu);
	return r;
}

static void
host_on_write(void *ctx, const uint8_t *data, size_t len)
{
	struct host_worker *w = ctx;
	struct host_msg *m = NULL;
	unsigned long reads = 0;

	pthread_mutex_lock(&w->in.mu);
	reads = w->reads;
	pthread_mutex_unlock(&w->in.mu);

	m = host_msg_new(data, len);
	pthread_mutex_lock(&w->out.mu);
	if (w->written == 0) {
		w->reads_before_first_write = reads;
	}
	w->written++;
	if (w->out.count >= HOST_OUT_MAX) {
		w->out_dropped++;
		host_msg_free(m);
	} else {
		STAILQ_INSERT_TAIL(&w->out.head, m, entry);
		w->out.count++;
	}
	pthread_cond_broadcast(&w->out.cond);
	pthread_mutex_unlock(&w->out.mu);
}

static void
host_on_log(void *ctx, int level, const char *line)
{
	struct host_worker *w = ctx;
	const char *p = NULL;
	unsigned long id = 0;

	pthread_mutex_lock(&w->out.mu);
	if (level >= 0 && level < HOST_LOG_LEVELS) {
		w->log_lines[level]++;
	}
	p = strstr(line, "request [id:");
	if (p != NULL) {
		id = strtoul(p + strlen("request [id:"), NULL, 10);
		if (id >= w->id_base && id < w->id_base + 100000) {
			w->log_requests_own++;
		} else {
			w->log_requests_foreign++;
		}
	}
	if (strstr(line, "dropped invalid message") != NULL) {
		w->log_dropped_invalid++;
	}
	if (strstr(line, "bad settings") != NULL &&
	    strstr(line, "--logLevel") != NULL) {
		w->log_bad_settings++;
	}
	if (w->log_kept_count < HOST_LOG_KEEP) {
		snprintf(w->log_kept[w->log_kept_count], HOST_LOG_LINE_MAX,
		    "%s", line);
		w->log_kept_levels[w->log_kept_count] = level;
		w->log_kept_count++;
	}
	pthread_mutex_unlock(&w->out.mu);
}

static void *
host_worker_main(void *arg)
{
	struct host_worker *w = arg;
	int code = 0;

	code = sfu_worker_run(w->argc, w->argv, &w->ops);
	pthread_mutex_lock(&w->out.mu);
	w->done = true;
	w->exit_code = code;
	pthread_cond_broadcast(&w->out.cond);
	pthread_mutex_unlock(&w->out.mu);
	return NULL;
}

/* --- host side (main thread) --- */

static void
host_worker_init(struct host_worker *w, const char *name, char *const *argv,
    uint32_t id_base)
{
	memset(w, 0, sizeof(*w));
	w->name = name;
	w->argv = argv;
	while (argv[w->argc] != NULL) {
		w->argc++;
	}
	w->id_base = id_base;
	w->ops.read = host_on_read;
	w->ops.write = host_on_write;
	w->ops.log = host_on_log;
	w->ops.ctx = w;
	host_queue_init(&w->in);
	host_queue_init(&w->out);
}

static int
host_worker_start(struct host_worker *w)
{
	int e = 0;

	e = pthread_create(&w->thread, NULL, host_worker_main, w);
	if (e != 0) {
		host_diag(
		    "pthread_create(%s) failed: %s", w->name, strerror(e));
		return -1;
	}
	w->started = true;
	return 0;
}

/*
 * Waits until the worker's thread has returned, then joins it. Returns its
 * exit code, or -1 past the deadline (the thread is left running).
 */
static int
host_worker_wait(struct host_worker *w)
{
	struct timespec deadline;
	int e = 0;
	int code = -1;

	if (!w->started) {
		return -1;
	}
	if (w->joined) {
		return w->exit_code;
	}
	host_deadline(&deadline, HOST_TIMEOUT_MS);
	pthread_mutex_lock(&w->out.mu);
	while (!w->done && e != ETIMEDOUT) {
		e = pthread_cond_timedwait(&w->out.cond, &w->out.mu, &deadline);
	}
	if (w->done) {
		code = w->exit_code;
	}
	pthread_mutex_unlock(&w->out.mu);
	if (code == -1) {
		host_diag("worker %s did not return within %d ms", w->name,
		    HOST_TIMEOUT_MS);
		return -1;
	}
	pthread_join(w->thread, NULL);
	w->joined = true;
	return code;
}

/* Only once the thread is joined, or was never started. */
static void
host_worker_release(struct host_worker *w)
{
	host_queue_release(&w->in);
	host_queue_release(&w->out);
}

/*
 * Queues one message for the worker and wakes it, blocking while the queue
 * is full. Returns 0, or -1 when the worker has ended or the deadline
 * passed (reported once per worker).
 */
static int
host_send(struct host_worker *w, const uint8_t *data, size_t len)
{
	struct timespec deadline;
	struct host_msg *m = NULL;
	const char *why = NULL;
	int e = 0;

	m = host_msg_new(data, len);
	host_deadline(&deadline, HOST_TIMEOUT_MS);
	pthread_mutex_lock(&w->in.mu);
	while (!w->ended && w->in.count >= HOST_IN_MAX && e != ETIMEDOUT) {
		e = pthread_cond_timedwait(&w->in.cond, &w->in.mu, &deadline);
	}
	if (w->ended || w->in.count >= HOST_IN_MAX) {
		why = w->ended ? "it has ended" : "its queue stayed full";
		if (w->send_failures++ == 0) {
			host_diag(
			    "cannot send to worker %s: %s (reported once)",
			    w->name, why);
		}
		pthread_mutex_unlock(&w->in.mu);
		host_msg_free(m);
		return -1;
	}
	STAILQ_INSERT_TAIL(&w->in.head, m, entry);
	w->in.count++;
	sfu_worker_wake(w->waker); /* NULL before the first read: no-op */
	pthread_mutex_unlock(&w->in.mu);
	return 0;
}

/*
 * Queues msgs (taken over) at once, under one lock, so the worker sees
 * them in one read round. Returns 0, or -1 when the worker has ended (the
 * messages are freed).
 */
static int
host_send_batch(struct host_worker *w, struct host_msg **msgs, size_t n)
{
	size_t i = 0;
	int rc = -1;

	pthread_mutex_lock(&w->in.mu);
	if (!w->ended) {
		for (i = 0; i < n; i++) {
			STAILQ_INSERT_TAIL(&w->in.head, msgs[i], entry);
			w->in.count++;
			msgs[i] = NULL;
		}
		sfu_worker_wake(w->waker);
		rc = 0;
	}
	pthread_mutex_unlock(&w->in.mu);
	for (i = 0; i < n; i++) {
		host_msg_free(msgs[i]);
		msgs[i] = NULL;
	}
	return rc;
}

static int
host_send_built(struct host_worker *w, struct sfu_msg_builder *b)
{
	return host_send(w, (const uint8_t *)b->sbuf.data, b->sbuf.size);
}

static int
host_send_request(struct host_worker *w, struct sfu_msg_builder *b, uint32_t id,
    const char *method)
{
	sfu_msg_begin_request(b, id, method, NULL, false);
	return host_send_built(w, b);
}

/* The host closes the channel: read returns -1 from now on. */
static void
host_close_channel(struct host_worker *w)
{
	pthread_mutex_lock(&w->in.mu);
	w->in_closed = true;
	sfu_worker_wake(w->waker);
	pthread_mutex_unlock(&w->in.mu);
}

/*
 * The worker's next message, or NULL when none came before the deadline
 * (or the worker has returned with nothing left). wait_ms 0: no waiting.
 */
static struct host_msg *
host_recv(struct host_worker *w, long wait_ms)
{
	struct timespec deadline;
	struct host_msg *m = NULL;
	int e = 0;

	host_deadline(&deadline, wait_ms);
	pthread_mutex_lock(&w->out.mu);
	while (STAILQ_EMPTY(&w->out.head) && !w->done && wait_ms > 0 &&
	       e != ETIMEDOUT) {
		e = pthread_cond_timedwait(&w->out.cond, &w->out.mu, &deadline);
	}
	m = STAILQ_FIRST(&w->out.head);
	if (m != NULL) {
		STAILQ_REMOVE_HEAD(&w->out.head, entry);
		w->out.count--;
	}
	pthread_mutex_unlock(&w->out.mu);
	return m;
}

static void
host_reply_release(struct host_reply *r)
{
	sfu_msg_release(&r->msg);
	host_msg_free(r->raw);
	r->raw = NULL;
}

/*
 * Decodes m into r, which takes m over. Returns 0 or -1; call
 * host_reply_release() in both cases.
 */
static int
host_reply_parse(struct host_reply *r, struct host_msg *m)
{
	struct sfu_error err = {0};
	uint64_t id = 0;
	int has_id = 0;

	memset(r, 0, sizeof(*r));
	r->raw = m;
	if (sfu_msg_decode(&r->msg, m->data, m->len, &err) == -1) {
		host_diag(
		    "undecodable message from the worker: %s", err.reason);
		return -1;
	}
	r->data = sfu_msg_map_get(r->msg.root, "data");
	has_id = sfu_msg_get_uint(
	    r->msg.root, NULL, "id", SFU_MSG_OPTIONAL, UINT32_MAX, &id, &err);
	if (has_id == -1) {
		return -1;
	}
	if (has_id == 1) {
		r->is_response = true;
		r->id = (uint32_t)id;
		if (sfu_msg_get_bool(r->msg.root, NULL, "accepted",
		        SFU_MSG_OPTIONAL, &r->accepted, &err) == -1 ||
		    sfu_msg_get_strbuf(r->msg.root, NULL, "error",
		        SFU_MSG_OPTIONAL, r->error, sizeof(r->error),
		        &err) == -1 ||
		    sfu_msg_get_strbuf(r->msg.root, NULL, "reason",
		        SFU_MSG_OPTIONAL, r->reason, sizeof(r->reason),
		        &err) == -1) {
			host_diag("bad response: %s", err.reason);
			return -1;
		}
		return 0;
	}
	if (sfu_msg_get_strbuf(r->msg.root, NULL, "targetId", SFU_MSG_REQUIRED,
	        r->target_id, sizeof(r->target_id), &err) == -1 ||
	    sfu_msg_get_strbuf(r->msg.root, NULL, "event", SFU_MSG_REQUIRED,
	        r->event, sizeof(r->event), &err) == -1) {
		host_diag("message is neither response nor notification: %s",
		    err.reason);
		return -1;
	}
	return 0;
}

/*
 * Waits for the response to id, which must be the worker's next message.
 * Returns 0 with r filled (release it), or -1 (r released).
 */
static int
host_expect_response(struct host_worker *w, uint32_t id, struct host_reply *r)
{
	struct host_msg *m = NULL;
	int rc = -1;

	memset(r, 0, sizeof(*r));
	m = host_recv(w, HOST_TIMEOUT_MS);
	if (m == NULL) {
		host_diag("worker %s: no response to id %u", w->name, id);
		return -1;
	}
	if (host_reply_parse(r, m) == -1) {
		goto out;
	}
	if (!r->is_response || r->id != id) {
		host_diag("worker %s: expected the response to id %u, got %s "
		          "%u",
		    w->name, id, r->is_response ? "response" : "notification",
		    r->id);
		goto out;
	}
	rc = 0;
out:
	if (rc == -1) {
		host_reply_release(r);
	}
	return rc;
}

/* Sends a request without data and checks that it is accepted. */
static bool
host_call_accepted(struct host_worker *w, struct sfu_msg_builder *b,
    uint32_t id, const char *method)
{
	struct host_reply r;
	bool good = false;

	if (host_send_request(w, b, id, method) == -1 ||
	    host_expect_response(w, id, &r) == -1) {
		return false;
	}
	good = r.accepted && r.error[0] == '\0';
	if (!good) {
		host_diag("worker %s: %s rejected: %s %s", w->name, method,
		    r.error, r.reason);
	}
	host_reply_release(&r);
	return good;
}

static unsigned long
host_log_count(struct host_worker *w, int level)
{
	unsigned long n = 0;

	pthread_mutex_lock(&w->out.mu);
	n = w->log_lines[level];
	pthread_mutex_unlock(&w->out.mu);
	return n;
}

static unsigned long
host_out_dropped(struct host_worker *w)
{
	unsigned long n = 0;

	pthread_mutex_lock(&w->out.mu);
	n = w->out_dropped;
	pthread_mutex_unlock(&w->out.mu);
	return n;
}

/* --- checks --- */

/*
 * The first message is "running"; then comes the response to the ping the
 * host queued before the thread started (HOST_EARLY_ID), which the worker
 * must find without any wake: the host had no waker yet.
 */
static void
host_check_running(struct host_worker *w)
{
	struct host_reply r;
	struct host_msg *m = NULL;
	char pid[32];
	bool good = false;
	unsigned long reads = 0;

	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	m = host_recv(w, HOST_TIMEOUT_MS);
	if (m != NULL && host_reply_parse(&r, m) == 0) {
		good = !r.is_response && strcmp(r.event, "running") == 0 &&
		       strcmp(r.target_id, pid) == 0;
		if (!good) {
			host_diag("first message: targetId '%s' event '%s'",
			    r.target_id, r.event);
		}
	}
	if (m != NULL) {
		host_reply_release(&r); /* frees m */
	}
	host_ok(good,
	    "worker %s: first message is {targetId: pid, event: "
	    "running}",
	    w->name);

	/*
	 * worker.h: "running" is always the first message; the first read
	 * (handing over the waker) comes right after it.
	 */
	pthread_mutex_lock(&w->out.mu);
	reads = w->reads_before_first_write;
	pthread_mutex_unlock(&w->out.mu);
	if (!host_ok(reads == 0,
	        "worker %s: running is written before the first read, "
	        "as worker.h says",
	        w->name)) {
		host_diag("reads before the first write: %lu", reads);
	}

	good = false;
	if (host_expect_response(w, w->id_base + HOST_EARLY_ID, &r) == 0) {
		good = r.accepted;
		host_reply_release(&r);
	}
	host_ok(good, "worker %s: a ping queued before the start is answered",
	    w->name);
}

/*
 * Sends HOST_PINGS pings to each worker, in bursts of HOST_BURST
 * alternating between them, without waiting for responses.
 */
static void
host_send_pings(
    struct host_worker *a, struct host_worker *b, struct sfu_msg_builder *bld)
{
	struct host_worker *ws[2] = {a, b};
	uint32_t sent = 0;
	uint32_t k = 0;
	size_t i = 0;
	int failed = 0;

	for (sent = 0; sent < HOST_PINGS; sent += HOST_BURST) {
		for (i = 0; i < 2; i++) {
			for (k = sent; k < sent + HOST_BURST && k < HOST_PINGS;
			     k++) {
				if (host_send_request(ws[i], bld,
				        ws[i]->id_base + k,
				        "worker.ping") == -1) {
					failed++;
				}
			}
		}
	}
	if (failed > 0) {
		host_diag("%d pings could not be sent", failed);
	}
}

/* Collects the ping responses of one worker: all, in order, its ids. */
static void
host_check_pings(struct host_worker *w)
{
	struct host_reply r;
	struct host_msg *m = NULL;
	uint32_t expect = w->id_base;
	uint32_t got = 0;
	bool good = true;

	for (got = 0; got < HOST_PINGS; got++) {
		m = host_recv(w, HOST_TIMEOUT_MS);
		if (m == NULL) {
			host_diag("worker %s: only %u of %d ping responses",
			    w->name, got, HOST_PINGS);
			good = false;
			break;
		}
		if (host_reply_parse(&r, m) == -1 || !r.is_response ||
		    r.id != expect || !r.accepted) {
			if (good) {
				host_diag(
				    "worker %s: response %u: id %u "
				    "(expected %u) accepted %d error '%s'",
				    w->name, got, r.id, expect, r.accepted,
				    r.error);
			}
			good = false;
		}
		host_reply_release(&r); /* frees m */
		expect++;
	}
	host_ok(good,
	    "worker %s: %d interleaved pings answered in order, "
	    "each id on the right worker",
	    w->name, HOST_PINGS);
}

static bool
host_tags_equal(
    const msgpack_object *tags, const char *const *want, size_t nwant)
{
	size_t i = 0;

	if (tags == NULL || tags->type != MSGPACK_OBJECT_ARRAY ||
	    tags->via.array.size != nwant) {
		return false;
	}
	for (i = 0; i < nwant; i++) {
		if (!sfu_msg_str_eq(&tags->via.array.ptr[i], want[i])) {
			return false;
		}
	}
	return true;
}

/*
 * worker.dump: settings.logLevel and settings.logTags as given, our pid,
 * the embedded transport, and (unless 0) the channel's request count.
 */
static bool
host_dump_matches(struct host_worker *w, struct sfu_msg_builder *b, uint32_t id,
    const char *level, const char *const *tags, size_t ntags, uint64_t requests)
{
	struct host_reply r;
	struct sfu_error err = {0};
	const msgpack_object *settings = NULL;
	const msgpack_object *channel = NULL;
	char got_level[16] = "";
	char transport[16] = "";
	uint64_t pid = 0;
	uint64_t got_requests = 0;
	bool good = false;

	if (host_send_request(w, b, id, "worker.dump") == -1 ||
	    host_expect_response(w, id, &r) == -1) {
		return false;
	}
	if (!r.accepted || r.data == NULL ||
	    sfu_msg_get_map(r.data, "data", "settings", SFU_MSG_REQUIRED,
	        &settings, &err) != 1 ||
	    sfu_msg_get_map(r.data, "data", "channel", SFU_MSG_REQUIRED,
	        &channel, &err) != 1 ||
	    sfu_msg_get_uint(r.data, "data", "pid", SFU_MSG_REQUIRED,
	        UINT64_MAX, &pid, &err) != 1 ||
	    sfu_msg_get_strbuf(settings, "data.settings", "logLevel",
	        SFU_MSG_REQUIRED, got_level, sizeof(got_level), &err) != 1 ||
	    sfu_msg_get_strbuf(channel, "data.channel", "transport",
	        SFU_MSG_REQUIRED, transport, sizeof(transport), &err) != 1 ||
	    sfu_msg_get_uint(channel, "data.channel", "requests",
	        SFU_MSG_REQUIRED, UINT64_MAX, &got_requests, &err) != 1) {
		host_diag("worker %s: bad dump: %s %s", w->name, r.error,
		    err.reason[0] != '\0' ? err.reason : r.reason);
		goto out;
	}
	good = strcmp(got_level, level) == 0 &&
	       host_tags_equal(
	           sfu_msg_map_get(settings, "logTags"), tags, ntags) &&
	       pid == (uint64_t)getpid() &&
	       strcmp(transport, "embedded") == 0 &&
	       (requests == 0 || got_requests == requests);
	if (!good) {
		host_diag("worker %s: dump: logLevel '%s' (want '%s'), "
		          "%zu tags wanted, pid %llu, transport '%s', requests "
		          "%llu (want %llu)",
		    w->name, got_level, level, ntags, (unsigned long long)pid,
		    transport, (unsigned long long)got_requests,
		    (unsigned long long)requests);
	}
out:
	host_reply_release(&r);
	return good;
}

static void
host_check_logs(struct host_worker *a, struct host_worker *b)
{
	unsigned long a_own = 0;
	unsigned long a_foreign = 0;
	unsigned long a_debug = 0;
	unsigned long b_low = 0;
	unsigned long b_requests = 0;
	size_t i = 0;

	pthread_mutex_lock(&a->out.mu);
	a_own = a->log_requests_own;
	a_foreign = a->log_requests_foreign;
	a_debug = a->log_lines[0];
	for (i = 0; i < a->log_kept_count; i++) {
		host_diag("[%s] %s: %s", a->name,
		    host_level_name(a->log_kept_levels[i]), a->log_kept[i]);
	}
	pthread_mutex_unlock(&a->out.mu);
	pthread_mutex_lock(&b->out.mu);
	b_low = b->log_lines[0] + b->log_lines[1];
	b_requests = b->log_requests_own + b->log_requests_foreign;
	pthread_mutex_unlock(&b->out.mu);

	if (!host_ok(a_debug > 0 && a_own >= HOST_PINGS && a_foreign == 0,
	        "worker %s: its log callback got its debug lines, one per "
	        "request of its own, none of %s's",
	        a->name, b->name)) {
		host_diag("debug lines %lu, own requests %lu, foreign %lu",
		    a_debug, a_own, a_foreign);
	}
	if (!host_ok(b_low == 0 && b_requests == 0,
	        "worker %s (warn): its log callback got no debug or info line",
	        b->name)) {
		host_diag("debug+info lines %lu, request lines %lu", b_low,
		    b_requests);
	}
}

static void
host_check_unknown_method(
    struct host_worker *w, struct sfu_msg_builder *b, uint32_t id)
{
	struct host_reply r;
	bool good = false;

	if (host_send_request(w, b, id, "worker.noSuchMethod") == 0 &&
	    host_expect_response(w, id, &r) == 0) {
		good = !r.accepted && strcmp(r.error, "Error") == 0 &&
		       strstr(r.reason, "worker.noSuchMethod") != NULL;
		if (!good) {
			host_diag("accepted %d error '%s' reason '%s'",
			    r.accepted, r.error, r.reason);
		}
		host_reply_release(&r);
	}
	host_ok(
	    good, "worker %s: unknown method gets Error naming it", w->name);
}

/* Bytes that are not MessagePack (0xc1 is never used): no reply. */
static void
host_check_garbage(
    struct host_worker *w, struct sfu_msg_builder *b, uint32_t id)
{
	static const uint8_t garbage[] = {
	    0xc1, 'n', 'o', 't', ' ', 'm', 's', 'g', 'p', 'a', 'c', 'k'};

	if (host_send(w, garbage, sizeof(garbage)) == -1) {
		host_ok(false, "worker %s: garbage ignored", w->name);
		return;
	}

	/* The next message must be the ping's response, not an error. */
	host_ok(host_call_accepted(w, b, id, "worker.ping"),
	    "worker %s: no reply to a message that is not MessagePack, "
	    "still answers",
	    w->name);
}

static void
host_check_update_settings(struct host_worker *a, struct host_worker *b,
    struct sfu_msg_builder *bld, uint32_t id)
{
	static const char *const a_tags[] = {"rtp"};
	static const char *const b_tags[] = {"ice"};
	struct host_reply r;
	msgpack_packer *pk = NULL;
	unsigned long before = 0;
	unsigned long after = 0;
	bool good = false;

	pk =
	    sfu_msg_begin_request(bld, id, "worker.updateSettings", NULL, true);
	msgpack_pack_map(pk, 2);
	sfu_msg_pack_kv_str(pk, "logLevel", "error");
	sfu_msg_pack_str(pk, "logTags");
	msgpack_pack_array(pk, 1);
	sfu_msg_pack_str(pk, "rtp");
	if (host_send_built(a, bld) == 0 &&
	    host_expect_response(a, id, &r) == 0) {
		good = r.accepted;
		if (!good) {
			host_diag("%s: %s", r.error, r.reason);
		}
		host_reply_release(&r);
	}
	host_ok(good,
	    "worker %s: worker.updateSettings {logLevel: error, "
	    "logTags: [rtp]} accepted",
	    a->name);
	host_ok(host_dump_matches(a, bld, id + 1, "error", a_tags, 1, 0),
	    "worker %s: dump shows the new settings", a->name);
	host_ok(
	    host_dump_matches(b, bld, b->id_base + 90001, "warn", b_tags, 1, 0),
	    "worker %s: settings unchanged by %s's update", b->name, a->name);

	/* The update reached A's log configuration too. */
	before = host_log_count(a, 0);
	good = host_call_accepted(a, bld, id + 2, "worker.ping");
	after = host_log_count(a, 0);
	if (!host_ok(good && after == before,
	        "worker %s: no more debug lines after the update", a->name)) {
		host_diag("debug lines before %lu after %lu", before, after);
	}
}

/*
 * worker.close on A, with a ping queued right behind it in the same batch:
 * the close is accepted, the ping is never answered (the worker stops
 * reading once closing) but taken by its last read (waker NULL) and freed,
 * A's thread returns 0, and B keeps answering.
 */
static void
host_check_close(
    struct host_worker *a, struct host_worker *b, struct sfu_msg_builder *bld)
{
	struct host_msg *batch[2] = {NULL, NULL};
	struct host_reply r;
	struct host_msg *m = NULL;
	unsigned long null_reads = 0;
	unsigned long after_end = 0;
	unsigned long changes = 0;
	size_t left = 0;
	bool good = false;
	int code = 0;

	sfu_msg_begin_request(
	    bld, a->id_base + 95000, "worker.close", NULL, false);
	batch[0] =
	    host_msg_new((const uint8_t *)bld->sbuf.data, bld->sbuf.size);
	sfu_msg_begin_request(
	    bld, a->id_base + 95001, "worker.ping", NULL, false);
	batch[1] =
	    host_msg_new((const uint8_t *)bld->sbuf.data, bld->sbuf.size);
	if (host_send_batch(a, batch, 2) == 0 &&
	    host_expect_response(a, a->id_base + 95000, &r) == 0) {
		good = r.accepted;
		host_reply_release(&r);
	}
	host_ok(good, "worker %s: worker.close accepted", a->name);

	code = host_worker_wait(a);
	host_ok(code == 0,
	    "worker %s: sfu_worker_run returned 0 after worker.close (got %d)",
	    a->name, code);

	m = host_recv(a, 0);
	host_ok(m == NULL,
	    "worker %s: nothing written after the close response", a->name);
	host_msg_free(m);

	pthread_mutex_lock(&a->in.mu);
	null_reads = a->null_reads;
	after_end = a->reads_after_end;
	changes = a->waker_changes;
	left = a->in.count;
	pthread_mutex_unlock(&a->in.mu);
	if (!host_ok(code == 0 && null_reads >= 1 && after_end == 0 &&
	                 changes == 0 && left == 0,
	        "worker %s: last read has waker NULL and takes the ping left "
	        "behind",
	        a->name)) {
		host_diag("null reads %lu, reads after end %lu, waker changes "
		          "%lu, left in queue %zu",
		    null_reads, after_end, changes, left);
	}

	host_ok(host_call_accepted(b, bld, b->id_base + 95000, "worker.ping"),
	    "worker %s still answers after %s closed", b->name, a->name);
}

/* The host closes B's channel: read returns -1, B returns 0. */
static void
host_check_host_close(struct host_worker *b)
{
	unsigned long null_reads = 0;
	unsigned long after_end = 0;
	unsigned long changes = 0;
	int code = 0;

	host_close_channel(b);
	code = host_worker_wait(b);
	host_ok(code == 0,
	    "worker %s: sfu_worker_run returned 0 after the "
	    "host closed the channel (got %d)",
	    b->name, code);

	pthread_mutex_lock(&b->in.mu);
	null_reads = b->null_reads;
	after_end = b->reads_after_end;
	changes = b->waker_changes;
	pthread_mutex_unlock(&b->in.mu);
	if (!host_ok(
	        code == 0 && null_reads >= 1 && after_end == 0 && changes == 0,
	        "worker %s: read called with waker NULL at the end", b->name)) {
		host_diag("null reads %lu, reads after end %lu, waker changes "
		          "%lu",
		    null_reads, after_end, changes);
	}
}

/* A third worker with --logLevel=bogus: run returns 2, says why. */
static void
host_check_bad_argv(struct host_worker *c)
{
	unsigned long bad = 0;
	unsigned long errors = 0;
	unsigned long wakers = 0;
	int code = -1;

	if (host_worker_start(c) == 0) {
		code = host_worker_wait(c);
	}
	host_ok(code == SFU_WORKER_EXIT_SETTINGS,
	    "worker %s: --logLevel=bogus makes sfu_worker_run return 2 "
	    "(got %d)",
	    c->name, code);

	pthread_mutex_lock(&c->out.mu);
	bad = c->log_bad_settings;
	errors = c->log_lines[3];
	pthread_mutex_unlock(&c->out.mu);
	if (!host_ok(bad == 1 && errors >= 1,
	        "worker %s: its log callback got the error naming --logLevel",
	        c->name)) {
		host_diag(
		    "bad-settings lines %lu, error lines %lu", bad, errors);
	}

	pthread_mutex_lock(&c->in.mu);
	wakers = c->reads - c->null_reads;
	pthread_mutex_unlock(&c->in.mu);
	host_ok(wakers == 0,
	    "worker %s: a rejected worker never hands out a "
	    "waker (%lu reads with one)",
	    c->name, wakers);
}

int
main(void)
{
	static const char *const b_tags[] = {"ice"};
	struct host_worker a;
	struct host_worker b;
	struct host_worker c;
	struct sfu_msg_builder bld;
	bool stuck = false;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", HOST_PLAN);
	sfu_msg_builder_init(&bld);
	host_worker_init(&a, "A", host_argv_a, 100000);
	host_worker_init(&b, "B", host_argv_b, 200000);
	host_worker_init(&c, "C", host_argv_c, 300000);

	host_send_request(&a, &bld, a.id_base + HOST_EARLY_ID, "worker.ping");
	host_send_request(&b, &bld, b.id_base + HOST_EARLY_ID, "worker.ping");
	if (host_worker_start(&a) == -1 || host_worker_start(&b) == -1) {
		printf("Bail out! cannot start the worker threads\n");
		return 1;
	}

	/* Phase 1: two workers at once. */
	host_check_running(&a);
	host_check_running(&b);

	host_send_pings(&a, &b, &bld);
	host_check_pings(&a);
	host_check_pings(&b);

	host_ok(host_dump_matches(&a, &bld, a.id_base + 90000, "debug", NULL, 0,
	            HOST_PINGS + 2),
	    "worker A: dump shows logLevel debug, no tags, its own counters");
	host_ok(host_dump_matches(&b, &bld, b.id_base + 90000, "warn", b_tags,
	            1, HOST_PINGS + 2),
	    "worker B: dump shows logLevel warn, logTags [ice], its own "
	    "counters");

	host_check_logs(&a, &b);

	host_check_unknown_method(&a, &bld, a.id_base + 91000);
	host_check_unknown_method(&b, &bld, b.id_base + 91000);

	host_check_garbage(&a, &bld, a.id_base + 92000);
	host_check_garbage(&b, &bld, b.id_base + 92000);
	pthread_mutex_lock(&b.out.mu);
	host_ok(b.log_dropped_invalid == 1,
	    "worker B: the dropped message was logged to B's callback");
	pthread_mutex_unlock(&b.out.mu);

	host_check_update_settings(&a, &b, &bld, a.id_base + 93000);

	host_ok(host_out_dropped(&a) == 0 && host_out_dropped(&b) == 0,
	    "host output queues never overflowed");

	/* Phase 2: the two ways a worker ends. */
	host_check_close(&a, &b, &bld);
	host_check_host_close(&b);

	/* Phase 3: settings rejected. */
	host_check_bad_argv(&c);

	host_ok(host_test_count + 1 == HOST_PLAN, "ran every check");

	sfu_msg_builder_release(&bld);
	stuck = (a.started && !a.joined) || (b.started && !b.joined) ||
	        (c.started && !c.joined);
	if (stuck) {
		/* A thread still runs with our queues: leave them be. */
		printf("Bail out! a worker thread did not return\n");
		fflush(stdout);
		_exit(1);
	}
	host_worker_release(&a);
	host_worker_release(&b);
	host_worker_release(&c);
	return host_failures == 0 ? 0 : 1;
}
