/*
 * SPDX-License-Identifier: MIT
 *
 * The worker pool: slots, spawning, "running" hand-shake with a start
 * timeout, reaping, respawn with exponential backoff, liveness pings,
 * draining and stopping, and the config's WebRtcServer on each worker
 * (created when it runs, handed over between generations). A slot lives
 * from the spawn of its worker until the worker exits without being
 * respawned.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SFU_LOG_MODULE "pool"
#include "common/clock.h"
#include "common/handle/timer_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "master/master.h"
#include "master/master_conf.h"
#include "master/relay.h"
#include "master/spawn.h"
#include "master/worker_link.h"

/* A worker that lived this long is not in a crash loop. */
#define POOL_STABLE_MS		10000
#define POOL_BACKOFF_FIRST_MS	100
#define POOL_BACKOFF_MAX_MS	30000
/* How long a worker whose channel closed has to exit by itself. */
#define POOL_LINK_GRACE_MS	1000

static void	pool_spawn(struct sfu_slot *s);
static void	pool_webrtc_advance(struct sfu_master *m);

_Static_assert(SFU_SLOT_WEBRTC_MAX_PORTS == SFU_MASTER_CONF_MAX_LISTEN,
    "a slot records every listen of webrtc_server");

const char *
sfu_pool_state_name(enum sfu_slot_state state)
{
	switch (state) {
	case SFU_SLOT_STARTING:
		return "starting";
	case SFU_SLOT_RUNNING:
		return "running";
	case SFU_SLOT_DRAINING:
		return "draining";
	case SFU_SLOT_STOPPING:
		return "stopping";
	case SFU_SLOT_BACKOFF:
		return "respawning";
	default:
		return "?";
	}
}

/* --- worker link listener --- */

static void
pool_on_link_message(void *ctx, struct sfu_worker_link *l,
    const msgpack_object *root, const uint8_t *raw, size_t len)
{
	struct sfu_slot *s = ctx;

	(void)l;
	sfu_relay_on_worker_message(s->master->relay, s, root, raw, len);
}

static void
pool_on_link_closed(void *ctx, struct sfu_worker_link *l)
{
	struct sfu_slot *s = ctx;

	(void)l;

	/*
	 * Usually the worker is exiting and SIGCHLD follows. Give it a
	 * moment; if the same process is still there after it, its channel
	 * is unusable (framing lost, not reading): kill it so that it is
	 * respawned.
	 */
	s->link_broken_pid = s->pid;
	sfu_timer_handle_start(s->link_timer, POOL_LINK_GRACE_MS, 0);
}

static void
pool_on_link_timer(void *ctx, struct sfu_timer_handle *t)
{
	struct sfu_slot *s = ctx;

	(void)t;
	if (s->pid > 0 && s->pid == s->link_broken_pid) {
		SFU_LOG_ERROR("worker %u pid %ld: channel broken, killing it",
		    s->index, (long)s->pid);
		kill(s->pid, SIGKILL);
	}
}

static const struct sfu_worker_link_listener pool_link_listener = {
	.on_message = pool_on_link_message,
	.on_closed = pool_on_link_closed,
};

/* --- slots --- */

static void
pool_on_timer(void *ctx, struct sfu_timer_handle *t)
{
	struct sfu_slot *s = ctx;

	(void)t;
	switch (s->state) {
	case SFU_SLOT_STARTING:
		SFU_LOG_ERROR("worker %u pid %ld did not start within %llu ms, "
		    "killing it", s->index, (long)s->pid,
		    (unsigned long long)
		    s->master->conf->worker_start_timeout_ms);
		kill(s->pid, SIGKILL);
		break;
	case SFU_SLOT_BACKOFF:
		pool_spawn(s);
		break;
	case SFU_SLOT_STOPPING:
		SFU_LOG_WARN("worker %u pid %ld did not exit in time, killing "
		    "it", s->index, (long)s->pid);
		kill(s->pid, SIGKILL);
		break;
	default:
		break;
	}
}

static struct sfu_slot *
pool_slot_new(struct sfu_master *m, unsigned index)
{
	struct sfu_slot *s = NULL;

	s = sfu_xcalloc(1, sizeof(*s));
	s->master = m;
	s->index = index;
	s->generation = m->generation;
	s->pid = -1;
	s->last_status = -1;
	s->state = SFU_SLOT_BACKOFF;
	s->timer = sfu_timer_handle_new(m->base, pool_on_timer, s);
	s->link_timer = sfu_timer_handle_new(m->base, pool_on_link_timer, s);
	TAILQ_INSERT_TAIL(&m->slots, s, entry);
	return s;
}

static void
pool_slot_free(struct sfu_slot *s)
{
	struct sfu_master *m = s->master;

	TAILQ_REMOVE(&m->slots, s, entry);
	sfu_relay_on_worker_gone(m->relay, s, "was removed", NULL);
	sfu_worker_link_free(s->link);
	s->link = NULL;
	sfu_timer_handle_free(s->timer);
	sfu_timer_handle_free(s->link_timer);
	free(s);
	if (m->state != SFU_MASTER_RUNNING && TAILQ_EMPTY(&m->slots)) {
		event_base_loopbreak(m->base);
	}
}

static void
pool_schedule_respawn(struct sfu_slot *s, uint64_t delay_ms)
{
	s->state = SFU_SLOT_BACKOFF;
	sfu_timer_handle_start(s->timer, delay_ms, 0);
}

/*
 * Worker i goes to the i-th CPU (round robin) of those the master may use:
 * a cpuset or taskset may exclude some, and pinning there would fail.
 */
static int
pool_pick_cpu(unsigned index)
{
	cpu_set_t set;
	unsigned n = 0;
	unsigned want = 0;
	int cpu = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == -1) {
		return -1;
	}
	n = (unsigned)CPU_COUNT(&set);
	if (n == 0) {
		return -1;
	}
	want = index % n;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (CPU_ISSET(cpu, &set) && want-- == 0) {
			return cpu;
		}
	}
	return -1;
}

static void
pool_spawn(struct sfu_slot *s)
{
	struct sfu_master *m = s->master;
	struct sfu_spawn_options opts;
	struct sfu_spawned sp;
	struct sfu_error err = { 0 };
	char **argv = NULL;
	int r = 0;

	memset(&opts, 0, sizeof(opts));
	argv = sfu_master_conf_worker_argv(m->conf, m->worker_binary);
	opts.binary = m->worker_binary;
	opts.argv = argv;
	opts.cpu = -1;
	if (m->conf->worker_cpu_affinity) {
		opts.cpu = pool_pick_cpu(s->index);
	}
	opts.rlimit_nofile = m->conf->worker_rlimit_nofile;
	r = sfu_spawn_worker(&opts, &sp, &err);
	sfu_master_conf_free_argv(argv);
	if (r == -1) {
		s->failures++;
		SFU_LOG_ERROR("cannot start worker %u: %s (retrying in %d ms)",
		    s->index, err.reason, POOL_BACKOFF_MAX_MS);
		pool_schedule_respawn(s, POOL_BACKOFF_MAX_MS);
		return;
	}
	s->pid = sp.pid;
	s->started_wall_ms = sfu_clock_wall_ms();
	s->started_mono_ms = sfu_clock_mono_ms();
	s->ping_outstanding = false;
	s->link = sfu_worker_link_new(m->base, s->index, sp.pid, sp.req_fd,
	    sp.resp_fd, sp.log_fd, &pool_link_listener, s, &err);
	if (s->link == NULL) {
		SFU_LOG_ERROR("worker %u pid %ld: %s, killing it", s->index,
		    (long)sp.pid, err.reason);
		kill(sp.pid, SIGKILL);
	}
	s->state = SFU_SLOT_STARTING;
	sfu_timer_handle_start(s->timer, m->conf->worker_start_timeout_ms, 0);
	SFU_LOG_INFO("worker %u pid %ld started (generation %u)", s->index,
	    (long)sp.pid, s->generation);
}

void
sfu_pool_fill(struct sfu_master *m)
{
	unsigned want = sfu_master_conf_worker_count(m->conf);
	unsigned i = 0;

	if (m->state != SFU_MASTER_RUNNING) {
		return;
	}
	for (i = 0; i < want; i++) {
		if (sfu_pool_find_index(m, i) == NULL) {
			pool_spawn(pool_slot_new(m, i));
		}
	}
}

struct sfu_slot *
sfu_pool_find_index(struct sfu_master *m, unsigned index)
{
	struct sfu_slot *s = NULL;

	/* The current generation's live slot; draining ones are not found. */
	TAILQ_FOREACH(s, &m->slots, entry) {
		if (s->index == index && s->generation == m->generation &&
		    !s->retire && s->state != SFU_SLOT_DRAINING &&
		    s->state != SFU_SLOT_STOPPING) {
			return s;
		}
	}
	return NULL;
}

struct sfu_slot *
sfu_pool_find_pid(struct sfu_master *m, pid_t pid)
{
	struct sfu_slot *s = NULL;

	TAILQ_FOREACH(s, &m->slots, entry) {
		if (s->pid == pid) {
			return s;
		}
	}
	return NULL;
}

struct sfu_slot *
sfu_pool_least_loaded(struct sfu_master *m)
{
	struct sfu_slot *s = NULL;
	struct sfu_slot *best = NULL;

	if (m->state != SFU_MASTER_RUNNING) {
		return NULL;
	}
	TAILQ_FOREACH(s, &m->slots, entry) {
		if (s->state != SFU_SLOT_RUNNING || s->retire ||
		    s->link == NULL) {
			continue;
		}
		/* Creates in flight count, or a burst lands on one worker. */
		if (best == NULL || s->routers + s->routers_creating <
		    best->routers + best->routers_creating) {
			best = s;
		}
	}
	return best;
}

unsigned
sfu_pool_count(struct sfu_master *m, int state)
{
	struct sfu_slot *s = NULL;
	unsigned n = 0;

	TAILQ_FOREACH(s, &m->slots, entry) {
		if (state < 0 || (int)s->state == state) {
			n++;
		}
	}
	return n;
}

static void
pool_publish_worker(struct sfu_slot *s, const char *event)
{
	struct sfu_master *m = s->master;
	msgpack_packer *pk = NULL;

	pk = sfu_msg_begin_notification(&m->builder, "master", event, true);
	msgpack_pack_map(pk, 4);
	sfu_msg_pack_kv_uint(pk, "index", s->index);
	sfu_msg_pack_kv_int(pk, "pid", s->pid);
	sfu_msg_pack_kv_uint(pk, "generation", s->generation);
	sfu_msg_pack_kv_uint(pk, "restarts", s->restarts);
	sfu_master_publish(m, "master", event,
	    (const uint8_t *)m->builder.sbuf.data, m->builder.sbuf.size, NULL);
}

/* --- the config's webrtc_server --- */

/*
 * Each worker gets one WebRtcServer, listening on every "listen" of the
 * webrtc_server block with the port raised by the worker's index, as
 * nginx-style per-worker ports: PORT .. PORT + worker_processes - 1. Its
 * id is "webrtc-server-<index>-g<generation>": deterministic for a slot
 * (a respawned worker gets the same one) and unique, even while a
 * reload's old generation drains beside the new one.
 *
 * Ports cannot be shared (UDP without SO_REUSEPORT, and with it the
 * kernel would split a session's packets between two workers), so a new
 * generation's server takes its ports over from the older generations:
 * once the new worker is running, the draining servers that hold any of
 * its ports are closed (worker.closeWebRtcServer), and the new one is
 * created when the last of them has answered or its worker is gone.
 * Until the new worker runs, the old server keeps serving.
 *
 * A failed create (port in use, bad address) is logged, shown in
 * master.workers and retried only when the worker is respawned: the
 * worker keeps running without a server.
 */

static bool
pool_webrtc_overlap(const struct sfu_slot *a, const struct sfu_slot *b)
{
	unsigned i = 0;
	unsigned j = 0;

	for (i = 0; i < a->webrtc_nports; i++) {
		for (j = 0; j < b->webrtc_nports; j++) {
			if (a->webrtc_ports[i].tcp ==
			    b->webrtc_ports[j].tcp &&
			    a->webrtc_ports[i].port ==
			    b->webrtc_ports[j].port) {
				return true;
			}
		}
	}
	return false;
}

/* Whether s's server exists, or may (a create or close in flight). */
static bool
pool_webrtc_holds(const struct sfu_slot *s)
{
	switch (s->webrtc_state) {
	case SFU_SLOT_WEBRTC_CREATING:
	case SFU_SLOT_WEBRTC_CLOSING:
		return true;
	case SFU_SLOT_WEBRTC_CREATED:
		return sfu_pool_webrtc_server_id(s) != NULL;
	default:
		return false;
	}
}

const char *
sfu_pool_webrtc_server_id(const struct sfu_slot *s)
{
	if (s->webrtc_state != SFU_SLOT_WEBRTC_CREATED ||
	    s->webrtc_id[0] == '\0' ||
	    sfu_relay_entity_slot(s->master->relay, s->webrtc_id) != s) {
		return NULL;	/* a client may have closed it */
	}
	return s->webrtc_id;
}

const char *
sfu_pool_webrtc_server_error(const struct sfu_slot *s)
{
	return s->webrtc_error[0] != '\0' ? s->webrtc_error : NULL;
}

/* The state after the worker's exit: nothing is held any more. */
static void
pool_webrtc_forget(struct sfu_slot *s)
{
	s->webrtc_state = SFU_SLOT_WEBRTC_NONE;
	s->webrtc_id[0] = '\0';
	s->webrtc_nports = 0;
}

static void
pool_webrtc_fail(struct sfu_slot *s, const char *reason)
{
	snprintf(s->webrtc_error, sizeof(s->webrtc_error), "%s", reason);
	SFU_LOG_ERROR("worker %u pid %ld: cannot create webrtc server %s: %s "
	    "(the worker runs without it; retried when it is respawned)",
	    s->index, (long)s->pid, s->webrtc_id, reason);
	pool_webrtc_forget(s);
}

static void
pool_pack_webrtc_create(void *ctx, msgpack_packer *pk)
{
	struct sfu_slot *s = ctx;
	const struct sfu_master_conf *conf = s->master->conf;
	const struct sfu_master_conf_listen *l = NULL;
	unsigned i = 0;

	msgpack_pack_map(pk, 2);
	sfu_msg_pack_kv_str(pk, "webRtcServerId", s->webrtc_id);
	sfu_msg_pack_str(pk, "listenInfos");
	msgpack_pack_array(pk, conf->webrtc_nlisten);
	for (i = 0; i < conf->webrtc_nlisten; i++) {
		l = &conf->webrtc_listen[i];
		msgpack_pack_map(pk, l->announced != NULL ? 4 : 3);
		sfu_msg_pack_kv_str(pk, "protocol",
		    l->protocol == SFU_LISTEN_TCP ? "tcp" : "udp");
		sfu_msg_pack_kv_str(pk, "ip", l->ip);
		if (l->announced != NULL) {
			sfu_msg_pack_kv_str(pk, "announcedAddress",
			    l->announced);
		}
		sfu_msg_pack_kv_uint(pk, "port", s->webrtc_ports[i].port);
	}
}

static void
pool_pack_webrtc_close(void *ctx, msgpack_packer *pk)
{
	struct sfu_slot *s = ctx;

	msgpack_pack_map(pk, 1);
	sfu_msg_pack_kv_str(pk, "webRtcServerId", s->webrtc_id);
}

/* The worker's error reason, or a description of a failed response. */
static void
pool_response_reason(const msgpack_object *response, char *buf,
    size_t size)
{
	char kind[32];

	if (sfu_msg_get_strbuf(response, NULL, "reason", SFU_MSG_REQUIRED,
	    buf, size, NULL) == 1 && buf[0] != '\0') {
		return;
	}
	if (sfu_msg_get_strbuf(response, NULL, "error", SFU_MSG_REQUIRED,
	    kind, sizeof(kind), NULL) != 1) {
		snprintf(kind, sizeof(kind), "?");
	}
	snprintf(buf, size, "%s without a reason", kind);
}

static bool
pool_response_accepted(const msgpack_object *response)
{
	const msgpack_object *a = sfu_msg_map_get(response, "accepted");

	return a != NULL && a->type == MSGPACK_OBJECT_BOOLEAN &&
	    a->via.boolean;
}

static void
pool_on_webrtc_created(void *ctx, struct sfu_slot *s,
    const msgpack_object *response)
{
	char reason[SFU_ERROR_REASON_LEN];

	(void)ctx;
	if (response == NULL && s->link == NULL) {
		/* The worker died: pool_on_exit() takes over. */
		pool_webrtc_forget(s);
		return;
	}
	if (response == NULL) {
		snprintf(reason, sizeof(reason), "no answer within %d ms",
		    SFU_RELAY_TIMEOUT_MS);
		pool_webrtc_fail(s, reason);
	} else if (!pool_response_accepted(response)) {
		pool_response_reason(response, reason, sizeof(reason));
		pool_webrtc_fail(s, reason);
	} else {
		s->webrtc_state = SFU_SLOT_WEBRTC_CREATED;
		SFU_LOG_INFO("worker %u pid %ld: webrtc server %s created",
		    s->index, (long)s->pid, s->webrtc_id);
	}

	/* If it drains meanwhile, a newer server may want its ports. */
	pool_webrtc_advance(s->master);
}

static void
pool_on_webrtc_closed(void *ctx, struct sfu_slot *s,
    const msgpack_object *response)
{
	char reason[SFU_ERROR_REASON_LEN];

	(void)ctx;
	if (response == NULL && s->link == NULL) {
		pool_webrtc_forget(s);
		return;
	}
	if (response != NULL && !pool_response_accepted(response)) {
		pool_response_reason(response, reason, sizeof(reason));
		SFU_LOG_WARN("worker %u pid %ld: closing webrtc server %s "
		    "failed: %s", s->index, (long)s->pid, s->webrtc_id,
		    reason);
	} else if (response == NULL) {
		SFU_LOG_WARN("worker %u pid %ld: no answer to closing webrtc "
		    "server %s", s->index, (long)s->pid, s->webrtc_id);
	}

	/* Either way the ports are deemed free: a create then says if not. */
	pool_webrtc_forget(s);
	pool_webrtc_advance(s->master);
}

/*
 * Closes every older server that holds one of s's ports; returns how many
 * s still waits for.
 */
static unsigned
pool_webrtc_blockers(struct sfu_slot *s)
{
	struct sfu_master *m = s->master;
	struct sfu_slot *o = NULL;
	struct sfu_error err = { 0 };
	unsigned n = 0;

	TAILQ_FOREACH(o, &m->slots, entry) {
		if (o == s || o->generation >= s->generation ||
		    !pool_webrtc_holds(o) || !pool_webrtc_overlap(o, s)) {
			continue;
		}
		n++;
		if (o->webrtc_state != SFU_SLOT_WEBRTC_CREATED) {
			continue;	/* its answer comes back here */
		}
		SFU_LOG_INFO("worker %u pid %ld (generation %u): closing "
		    "webrtc server %s to hand its ports over to worker %u "
		    "(generation %u)", o->index, (long)o->pid, o->generation,
		    o->webrtc_id, s->index, s->generation);
		o->webrtc_state = SFU_SLOT_WEBRTC_CLOSING;
		if (sfu_relay_internal_entity(m->relay, o,
		    "worker.closeWebRtcServer", o->webrtc_id,
		    pool_pack_webrtc_close, o, pool_on_webrtc_closed, NULL,
		    &err) == -1) {
			/* Its channel is broken: wait for its exit. */
			SFU_LOG_WARN("worker %u pid %ld: %s", o->index,
			    (long)o->pid, err.reason);
		}
	}
	return n;
}

static void
pool_webrtc_create(struct sfu_slot *s)
{
	struct sfu_master *m = s->master;
	struct sfu_error err = { 0 };

	s->webrtc_state = SFU_SLOT_WEBRTC_CREATING;
	if (sfu_relay_internal_entity(m->relay, s,
	    "worker.createWebRtcServer", s->webrtc_id,
	    pool_pack_webrtc_create, s, pool_on_webrtc_created, NULL,
	    &err) == -1) {
		pool_webrtc_fail(s, err.reason);
	}
}

/* Creates the servers that wait, once nothing holds their ports. */
static void
pool_webrtc_advance(struct sfu_master *m)
{
	struct sfu_slot *s = NULL;

	if (m->state != SFU_MASTER_RUNNING) {
		return;
	}
	TAILQ_FOREACH(s, &m->slots, entry) {
		if (s->webrtc_state != SFU_SLOT_WEBRTC_WAITING) {
			continue;
		}
		if (s->state != SFU_SLOT_RUNNING || s->retire) {
			pool_webrtc_forget(s);
			continue;
		}
		if (pool_webrtc_blockers(s) == 0) {
			pool_webrtc_create(s);
		}
	}
}

/* s's worker just reported running: give it the config's server. */
static void
pool_webrtc_start(struct sfu_slot *s)
{
	const struct sfu_master_conf *conf = s->master->conf;
	const struct sfu_master_conf_listen *l = NULL;
	char reason[SFU_ERROR_REASON_LEN];
	unsigned port = 0;
	unsigned i = 0;
	unsigned n = 0;

	pool_webrtc_forget(s);
	s->webrtc_error[0] = '\0';
	if (conf->webrtc_nlisten == 0) {
		return;
	}
	snprintf(s->webrtc_id, sizeof(s->webrtc_id), "webrtc-server-%u-g%u",
	    s->index, s->generation);
	for (i = 0; i < conf->webrtc_nlisten; i++) {
		l = &conf->webrtc_listen[i];
		port = (unsigned)l->port + s->index;
		if (port > 65535) {
			snprintf(reason, sizeof(reason), "webrtc_server: %s "
			    "port %u + worker index %u is above 65535",
			    l->protocol == SFU_LISTEN_TCP ? "tcp" : "udp",
			    (unsigned)l->port, s->index);
			pool_webrtc_fail(s, reason);
			return;
		}
		s->webrtc_ports[i].tcp = l->protocol == SFU_LISTEN_TCP;
		s->webrtc_ports[i].port = (uint16_t)port;
	}
	s->webrtc_nports = conf->webrtc_nlisten;
	s->webrtc_state = SFU_SLOT_WEBRTC_WAITING;
	n = pool_webrtc_blockers(s);
	if (n == 0) {
		pool_webrtc_create(s);
	} else {
		SFU_LOG_INFO("worker %u pid %ld: webrtc server %s waits for %u "
		    "older server(s) to release its ports", s->index,
		    (long)s->pid, s->webrtc_id, n);
	}
}

void
sfu_pool_on_running(struct sfu_slot *s)
{
	if (s->state != SFU_SLOT_STARTING) {
		SFU_LOG_DEBUG("worker %u sent running again", s->index);
		return;
	}
	sfu_timer_handle_stop(s->timer);
	s->state = SFU_SLOT_RUNNING;
	SFU_LOG_INFO("worker %u pid %ld running", s->index, (long)s->pid);
	pool_publish_worker(s, "worker.spawned");
	if (s->retire) {
		/* Drained or stopped while it was starting. */
		sfu_pool_stop_slot(s);
		return;
	}
	pool_webrtc_start(s);
}

static void
pool_on_close_answer(void *ctx, struct sfu_slot *s,
    const msgpack_object *response)
{
	(void)ctx;
	(void)s;
	(void)response;
}

void
sfu_pool_stop_slot(struct sfu_slot *s)
{
	struct sfu_master *m = s->master;

	s->retire = true;
	if (s->pid <= 0) {
		pool_slot_free(s);
		return;
	}
	if (s->state == SFU_SLOT_STOPPING) {
		return;
	}
	s->state = SFU_SLOT_STOPPING;
	if (sfu_relay_internal(m->relay, s, "worker.close", NULL, NULL,
	    pool_on_close_answer, NULL) == -1) {
		kill(s->pid, SIGTERM);
	}
	sfu_timer_handle_start(s->timer, m->conf->shutdown_timeout_ms, 0);
}

void
sfu_pool_drain(struct sfu_slot *s, uint64_t timeout_ms)
{
	s->retire = true;
	if (s->state == SFU_SLOT_STOPPING) {
		return;
	}
	if (s->pid <= 0) {
		pool_slot_free(s);
		return;
	}
	if (s->state == SFU_SLOT_RUNNING) {
		s->state = SFU_SLOT_DRAINING;
	}
	s->drain_deadline_ms = sfu_clock_mono_ms() + timeout_ms;
	SFU_LOG_INFO("worker %u pid %ld draining (%u routers, at most %llu "
	    "ms)", s->index, (long)s->pid, s->routers,
	    (unsigned long long)timeout_ms);
	sfu_pool_check_drained(s);
}

void
sfu_pool_check_drained(struct sfu_slot *s)
{
	if (s->state == SFU_SLOT_DRAINING && s->routers == 0) {
		SFU_LOG_INFO("worker %u pid %ld drained", s->index,
		    (long)s->pid);
		sfu_pool_stop_slot(s);
	}
}

/* --- reaping --- */

static void
pool_describe_status(int status, char *buf, size_t size)
{
	if (WIFEXITED(status)) {
		snprintf(buf, size, "exited with code %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, size, "exited on signal %d (%s)%s",
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? " (core dumped)" : "");
	} else {
		snprintf(buf, size, "changed state (status %d)", status);
	}
}

static void
pool_publish_died(struct sfu_slot *s, int status, const char *why)
{
	struct sfu_master *m = s->master;
	msgpack_packer *pk = NULL;

	/* The relay packs the lost entity ids into the event. */
	pk = sfu_msg_begin_notification(&m->builder, "master", "worker.died",
	    true);
	msgpack_pack_map(pk, 7);
	sfu_msg_pack_kv_uint(pk, "index", s->index);
	sfu_msg_pack_kv_int(pk, "pid", s->pid);
	sfu_msg_pack_kv_uint(pk, "generation", s->generation);
	sfu_msg_pack_str(pk, "exitCode");
	if (WIFEXITED(status)) {
		msgpack_pack_int(pk, WEXITSTATUS(status));
	} else {
		msgpack_pack_nil(pk);
	}
	sfu_msg_pack_str(pk, "signal");
	if (WIFSIGNALED(status)) {
		msgpack_pack_int(pk, WTERMSIG(status));
	} else {
		msgpack_pack_nil(pk);
	}
	sfu_msg_pack_kv_str(pk, "reason", why);
	sfu_msg_pack_str(pk, "lostEntityIds");
	sfu_relay_on_worker_gone(m->relay, s, why, pk);
	sfu_master_publish(m, "master", "worker.died",
	    (const uint8_t *)m->builder.sbuf.data, m->builder.sbuf.size, NULL);
}

static void
pool_on_exit(struct sfu_slot *s, int status)
{
	struct sfu_master *m = s->master;
	char why[128];
	uint64_t lived = sfu_clock_mono_ms() - s->started_mono_ms;
	uint64_t delay = 0;
	unsigned i = 0;
	bool expected = false;

	pool_describe_status(status, why, sizeof(why));
	expected = s->retire || m->state != SFU_MASTER_RUNNING;
	s->last_status = status;
	sfu_timer_handle_stop(s->timer);
	sfu_timer_handle_stop(s->link_timer);

	/* Reads the worker's last log lines before they are lost. */
	sfu_worker_link_free(s->link);
	s->link = NULL;
	if (expected) {
		SFU_LOG_INFO("worker %u pid %ld %s", s->index, (long)s->pid,
		    why);
		s->pid = -1;
		pool_slot_free(s);

		/* Its server's ports are free now. */
		pool_webrtc_advance(m);
		return;
	}
	SFU_LOG_ERROR("worker %u pid %ld %s", s->index, (long)s->pid, why);
	pool_publish_died(s, status, why);
	s->pid = -1;
	s->restarts++;
	pool_webrtc_forget(s);
	pool_webrtc_advance(m);

	/*
	 * Crash loops back off exponentially; a worker whose settings were
	 * rejected (exit 2) will not do better soon, so it waits the most.
	 */
	if (lived >= POOL_STABLE_MS) {
		s->failures = 0;
	}
	s->failures++;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
		delay = POOL_BACKOFF_MAX_MS;
		SFU_LOG_ERROR("worker %u rejected its settings; respawning in "
		    "%llu ms", s->index, (unsigned long long)delay);
	} else if (s->failures > 1) {
		delay = POOL_BACKOFF_FIRST_MS;
		for (i = 2; i < s->failures && delay < POOL_BACKOFF_MAX_MS;
		    i++) {
			delay *= 2;
		}
		if (delay > POOL_BACKOFF_MAX_MS) {
			delay = POOL_BACKOFF_MAX_MS;
		}
		SFU_LOG_WARN("worker %u keeps dying; respawning in %llu ms",
		    s->index, (unsigned long long)delay);
	}
	pool_schedule_respawn(s, delay);
}

void
sfu_pool_reap(struct sfu_master *m)
{
	struct sfu_slot *s = NULL;
	pid_t pid = 0;
	int status = 0;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid <= 0) {
			break;
		}
		s = sfu_pool_find_pid(m, pid);
		if (s == NULL) {
			SFU_LOG_DEBUG("reaped unknown child %ld", (long)pid);
			continue;
		}
		pool_on_exit(s, status);
	}
}

/* --- liveness --- */

static void
pool_on_pong(void *ctx, struct sfu_slot *s, const msgpack_object *response)
{
	(void)ctx;

	/* NULL: the request expired or failed; the timeout logic decides. */
	if (response != NULL) {
		s->ping_outstanding = false;
	}
}

void
sfu_pool_tick(struct sfu_master *m)
{
	struct sfu_slot *s = NULL;
	struct sfu_slot *next = NULL;
	uint64_t now = sfu_clock_mono_ms();

	for (s = TAILQ_FIRST(&m->slots); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (s->state != SFU_SLOT_RUNNING &&
		    s->state != SFU_SLOT_DRAINING) {
			continue;
		}
		if (s->ping_outstanding &&
		    now - s->ping_sent_ms >= m->conf->worker_ping_timeout_ms) {
			SFU_LOG_ERROR("worker %u pid %ld has not answered a "
			    "ping for %llu ms, killing it", s->index,
			    (long)s->pid,
			    (unsigned long long)(now - s->ping_sent_ms));
			kill(s->pid, SIGKILL);
			s->ping_outstanding = false;
			continue;
		}
		if (!s->ping_outstanding &&
		    sfu_relay_internal(m->relay, s, "worker.ping", NULL, NULL,
		    pool_on_pong, NULL) == 0) {
			s->ping_outstanding = true;
			s->ping_sent_ms = now;
		}
		if (s->state == SFU_SLOT_DRAINING &&
		    s->drain_deadline_ms != 0 && now >= s->drain_deadline_ms) {
			SFU_LOG_WARN("worker %u pid %ld: drain timeout with %u "
			    "routers left, closing it", s->index,
			    (long)s->pid, s->routers);
			sfu_pool_stop_slot(s);
		}
	}
}
