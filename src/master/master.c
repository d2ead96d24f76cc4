/*
 * SPDX-License-Identifier: MIT
 *
 * The master: owns the loop, the live config, the admin socket, the pool
 * and the relay; routes admin requests (master.* here, the rest to the
 * relay); publishes events to subscribers; reloads, stops and reopens
 * logs. The pid file is written here, atomically, and removed at exit.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SFU_LOG_MODULE "master"
#include "common/clock.h"
#include "common/fd.h"
#include "common/handle/timer_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "master/admin.h"
#include "master/master.h"
#include "master/master_conf.h"
#include "master/relay.h"
#include "master/worker_link.h"

/* --- subscriptions and events --- */

static bool
master_client_wants(const struct sfu_master_client *mc, const char *target,
    const char *event)
{
	size_t i = 0;

	if (mc == NULL) {
		return false;
	}
	if (mc->all_events) {
		return true;
	}
	for (i = 0; i < mc->nnames; i++) {
		if (strcmp(mc->names[i], event) == 0 ||
		    strcmp(mc->names[i], target) == 0) {
			return true;
		}
	}
	return false;
}

struct master_publish_ctx {
	const char		*target;
	const char		*event;
	const uint8_t		*raw;
	size_t			 len;
	struct sfu_admin_client	*extra;
};

static void
master_publish_one(void *arg, struct sfu_admin_client *c)
{
	struct master_publish_ctx *pc = arg;

	if (c == pc->extra ||
	    master_client_wants(sfu_admin_client_get_data(c), pc->target,
	    pc->event)) {
		sfu_admin_client_send(c, pc->raw, pc->len);
	}
}

void
sfu_master_publish(struct sfu_master *m, const char *target_id,
    const char *event, const uint8_t *raw, size_t len,
    struct sfu_admin_client *extra)
{
	struct master_publish_ctx pc = { target_id, event, raw, len, extra };

	if (m->admin == NULL) {
		return;
	}
	sfu_admin_foreach_client(m->admin, master_publish_one, &pc);
}

static void
master_client_free(struct sfu_master_client *mc)
{
	size_t i = 0;

	if (mc == NULL) {
		return;
	}
	for (i = 0; i < mc->nnames; i++) {
		free(mc->names[i]);
	}
	free(mc->names);
	free(mc);
}

/* --- admin listener --- */

static void
master_on_admin_request(void *ctx, struct sfu_admin_client *c,
    const struct sfu_msg_request *req, const msgpack_object *root,
    const uint8_t *raw, size_t len)
{
	struct sfu_master *m = ctx;
	struct sfu_master_client *mc = NULL;

	(void)raw;
	(void)len;
	if (sfu_admin_client_get_data(c) == NULL) {
		mc = sfu_xcalloc(1, sizeof(*mc));
		TAILQ_INSERT_TAIL(&m->clients, mc, entry);
		sfu_admin_client_set_data(c, mc);
	}
	if (strncmp(req->method, "master.", 7) == 0) {
		sfu_master_handle_method(m, c, req);
		return;
	}
	sfu_relay_forward(m->relay, c, req, root);
}

static void
master_on_admin_client_closed(void *ctx, struct sfu_admin_client *c)
{
	struct sfu_master *m = ctx;
	struct sfu_master_client *mc = sfu_admin_client_get_data(c);

	sfu_relay_on_client_closed(m->relay, c);
	if (mc != NULL) {
		TAILQ_REMOVE(&m->clients, mc, entry);
		master_client_free(mc);
		sfu_admin_client_set_data(c, NULL);
	}
}

static const struct sfu_admin_listener master_admin_listener = {
	.on_request = master_on_admin_request,
	.on_client_closed = master_on_admin_client_closed,
};

/* --- logs --- */

int
sfu_master_open_log(struct sfu_master *m, struct sfu_error *err)
{
	const char *path = m->conf->error_log;
	int fd = -1;
	int e = 0;

	m->log.level = m->conf->error_log_level;
	if (path == NULL || strcmp(path, "stderr") == 0) {
		sfu_fd_close(&m->log_fd);
		m->log.fd = -1;
		return 0;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "open(%s) failed: %s", path,
		    strerror(e));
		return -1;
	}
	if (m->log_fd >= 0) {
		/* Keep the fd number: logrotate's reopen is a dup2. */
		if (dup2(fd, m->log_fd) == -1) {
			e = errno;
			close(fd);
			sfu_error_set(err, SFU_ERR_ERROR, "dup2(%s) failed: %s",
			    path, strerror(e));
			return -1;
		}
		close(fd);
		sfu_fd_set_cloexec(m->log_fd, true);
	} else {
		m->log_fd = fd;
	}
	m->log.fd = m->log_fd;
	return 0;
}

void
sfu_master_reopen_logs(struct sfu_master *m)
{
	struct sfu_error err = { 0 };

	if (sfu_master_open_log(m, &err) == -1) {
		SFU_LOG_ERROR("cannot reopen the log: %s", err.reason);
		return;
	}
	SFU_LOG_INFO("log reopened");
}

/* --- pid file --- */

static int
master_read_pid_file(const char *path, pid_t *pid)
{
	char buf[32];
	ssize_t n = 0;
	long v = 0;
	int fd = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		return -1;
	}
	buf[n] = '\0';
	v = strtol(buf, NULL, 10);
	if (v <= 0 || v > INT_MAX) {
		return -1;
	}
	*pid = (pid_t)v;
	return 0;
}

static int
master_write_pid_file(struct sfu_master *m, struct sfu_error *err)
{
	const char *path = m->conf->pid_path;
	char tmp[PATH_MAX];
	char buf[32];
	pid_t other = 0;
	int fd = -1;
	int n = 0;
	int e = 0;

	if (master_read_pid_file(path, &other) == 0 && other != getpid() &&
	    kill(other, 0) == 0) {
		sfu_error_set(err, SFU_ERR_ERROR,
		    "pid file %s: another sfud (pid %ld) is running", path,
		    (long)other);
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "open(%s) failed: %s", tmp,
		    strerror(e));
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (write(fd, buf, (size_t)n) != n || fsync(fd) == -1) {
		e = errno;
		close(fd);
		unlink(tmp);
		sfu_error_set(err, SFU_ERR_ERROR, "write(%s) failed: %s", tmp,
		    strerror(e));
		return -1;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		e = errno;
		unlink(tmp);
		sfu_error_set(err, SFU_ERR_ERROR, "rename(%s) failed: %s",
		    path, strerror(e));
		return -1;
	}
	m->pid_file_written = true;
	return 0;
}

static void
master_remove_pid_file(struct sfu_master *m)
{
	pid_t pid = 0;

	if (!m->pid_file_written) {
		return;
	}
	if (master_read_pid_file(m->conf->pid_path, &pid) == 0 &&
	    pid == getpid()) {
		unlink(m->conf->pid_path);
	}
	m->pid_file_written = false;
}

/* --- life cycle --- */

static void
master_on_ping_timer(void *ctx, struct sfu_timer_handle *t)
{
	struct sfu_master *m = ctx;

	(void)t;
	sfu_relay_expire(m->relay, SFU_RELAY_TIMEOUT_MS);
	sfu_pool_tick(m);
}

static void
master_on_stop_timer(void *ctx, struct sfu_timer_handle *t)
{
	struct sfu_master *m = ctx;
	struct sfu_slot *s = NULL;

	(void)t;
	TAILQ_FOREACH(s, &m->slots, entry) {
		if (s->pid > 0) {
			SFU_LOG_WARN("worker %u pid %ld still running at "
			    "shutdown, killing it", s->index, (long)s->pid);
			kill(s->pid, SIGKILL);
		}
	}
}

static void
master_on_later(void *ctx, struct sfu_timer_handle *t)
{
	struct sfu_master *m = ctx;

	(void)t;
	if (TAILQ_EMPTY(&m->slots)) {
		event_base_loopbreak(m->base);
	}
}

static const char *
master_worker_binary(const struct sfu_master_conf *conf)
{
	const char *env = getenv("SFUD_WORKER_BIN");

	if (env != NULL && env[0] != '\0') {
		return env;
	}
	if (conf->worker_binary != NULL) {
		return conf->worker_binary;
	}
	return SFU_LIBEXECDIR "/sfud-worker";
}

struct sfu_master *
sfu_master_new(const char *conf_path, struct sfu_master_conf *conf,
    struct sfu_error *err)
{
	struct sfu_master *m = NULL;

	m = sfu_xcalloc(1, sizeof(*m));
	m->log_fd = -1;
	m->ready_fd = -1;
	TAILQ_INIT(&m->slots);
	TAILQ_INIT(&m->clients);
	sfu_log_init(&m->log);
	sfu_log_set_current(&m->log);
	sfu_msg_builder_init(&m->builder);
	m->conf_path = sfu_xstrdup(conf_path);
	m->conf = conf;
	m->worker_binary = sfu_xstrdup(master_worker_binary(conf));
	m->started_wall_ms = sfu_clock_wall_ms();
	m->started_mono_ms = sfu_clock_mono_ms();
	if (sfu_master_open_log(m, err) == -1) {
		goto fail;
	}
	m->base = event_base_new();
	if (m->base == NULL) {
		sfu_error_set(err, SFU_ERR_ERROR, "event_base_new() failed");
		goto fail;
	}
	m->relay = sfu_relay_new(m);
	m->ping_timer = sfu_timer_handle_new(m->base, master_on_ping_timer, m);
	m->stop_timer = sfu_timer_handle_new(m->base, master_on_stop_timer, m);
	m->later_timer = sfu_timer_handle_new(m->base, master_on_later, m);
	return m;
fail:
	m->conf = NULL;	/* still the caller's */
	sfu_master_free(m);
	return NULL;
}

int
sfu_master_open(struct sfu_master *m, struct sfu_error *err)
{
	struct sfu_admin_options ao;

	if (access(m->worker_binary, X_OK) == -1) {
		sfu_error_set(err, SFU_ERR_ERROR,
		    "worker binary %s: %s (set worker_binary or "
		    "SFUD_WORKER_BIN)", m->worker_binary, strerror(errno));
		return -1;
	}
	if (sfu_master_signals_init(m, err) == -1) {
		return -1;
	}
	if (master_write_pid_file(m, err) == -1) {
		return -1;
	}
	memset(&ao, 0, sizeof(ao));
	ao.path = m->conf->admin_listen;
	ao.mode = m->conf->admin_mode;
	ao.max_clients = m->conf->admin_max_clients;
	ao.max_output = m->conf->admin_max_output;
	m->admin = sfu_admin_new(m->base, &ao, &master_admin_listener, m, err);
	if (m->admin == NULL) {
		return -1;
	}
	return 0;
}

void
sfu_master_start_workers(struct sfu_master *m)
{
	sfu_pool_fill(m);
	sfu_timer_handle_start(m->ping_timer, m->conf->worker_ping_interval_ms,
	    m->conf->worker_ping_interval_ms);
	SFU_LOG_INFO("sfud %s started [pid:%ld config:%s workers:%u "
	    "socket:%s]", PACKAGE_VERSION, (long)getpid(), m->conf->path,
	    sfu_master_conf_worker_count(m->conf), m->conf->admin_listen);
}

int
sfu_master_run(struct sfu_master *m)
{
	if (event_base_dispatch(m->base) == -1) {
		SFU_LOG_ERROR("event loop failed");
		return 1;
	}
	SFU_LOG_INFO("exiting");
	return m->exit_code;
}

void
sfu_master_free(struct sfu_master *m)
{
	struct sfu_master_client *mc = NULL;
	struct sfu_slot *s = NULL;

	if (m == NULL) {
		return;
	}

	/* Workers left (loop failure): they exit on channel EOF anyway. */
	while ((s = TAILQ_FIRST(&m->slots)) != NULL) {
		TAILQ_REMOVE(&m->slots, s, entry);
		if (s->pid > 0) {
			kill(s->pid, SIGKILL);
		}
		sfu_worker_link_free(s->link);
		sfu_timer_handle_free(s->timer);
		sfu_timer_handle_free(s->link_timer);
		free(s);
	}
	sfu_admin_free(m->admin);
	m->admin = NULL;

	/* sfu_admin_free() calls no callback: free what clients left. */
	while ((mc = TAILQ_FIRST(&m->clients)) != NULL) {
		TAILQ_REMOVE(&m->clients, mc, entry);
		master_client_free(mc);
	}
	if (m->conf != NULL) {
		master_remove_pid_file(m);
	}
	sfu_master_signals_free(m);
	sfu_relay_free(m->relay);
	sfu_timer_handle_free(m->ping_timer);
	sfu_timer_handle_free(m->stop_timer);
	sfu_timer_handle_free(m->later_timer);
	if (m->base != NULL) {
		event_base_free(m->base);
	}
	sfu_master_conf_free(m->conf);
	sfu_msg_builder_release(&m->builder);
	free(m->conf_path);
	free(m->worker_binary);
	sfu_fd_close(&m->ready_fd);
	sfu_log_set_current(NULL);
	sfu_fd_close(&m->log_fd);
	free(m);
}

/* --- reload, stop, quit --- */

static void
master_pack_log_settings(void *ctx, msgpack_packer *pk)
{
	const struct sfu_master_conf *conf = ctx;
	uint32_t bit = 0;
	size_t n = 0;

	for (bit = 1; bit != 0; bit <<= 1) {
		if ((conf->log_tags & bit) && sfu_log_tag_name(bit) != NULL) {
			n++;
		}
	}
	msgpack_pack_map(pk, 2);
	sfu_msg_pack_kv_str(pk, "logLevel", sfu_log_level_name(conf->log_level));
	sfu_msg_pack_str(pk, "logTags");
	msgpack_pack_array(pk, n);
	for (bit = 1; bit != 0; bit <<= 1) {
		if ((conf->log_tags & bit) && sfu_log_tag_name(bit) != NULL) {
			sfu_msg_pack_str(pk, sfu_log_tag_name(bit));
		}
	}
}

static void
master_on_settings_answer(void *ctx, struct sfu_slot *s,
    const msgpack_object *response)
{
	(void)ctx;
	if (response == NULL || sfu_msg_map_get(response, "error") != NULL) {
		SFU_LOG_WARN("worker %u did not take the new log settings",
		    s->index);
	}
}

int
sfu_master_reload(struct sfu_master *m, struct sfu_error *err)
{
	struct sfu_master_conf *nc = NULL;
	struct sfu_master_conf *old = NULL;
	struct sfu_master_conf_diff diff;
	struct sfu_slot *s = NULL;
	struct sfu_slot *next = NULL;
	msgpack_packer *pk = NULL;
	unsigned want = 0;

	if (m->state != SFU_MASTER_RUNNING) {
		sfu_error_set(err, SFU_ERR_INVALID_STATE,
		    "cannot reload: shutting down");
		return -1;
	}
	nc = sfu_master_conf_load(m->conf_path, err);
	if (nc == NULL) {
		SFU_LOG_ERROR("reload failed, configuration kept: %s",
		    err->reason);
		return -1;
	}
	sfu_master_conf_diff(m->conf, nc, &diff);
	old = m->conf;
	m->conf = nc;
	m->reloads++;
	if (diff.admin_changed) {
		SFU_LOG_WARN("the admin socket settings changed: they apply "
		    "at the next restart");
		free(m->conf->admin_listen);
		m->conf->admin_listen = sfu_xstrdup(old->admin_listen);
	}
	if (strcmp(old->pid_path, nc->pid_path) != 0) {
		SFU_LOG_WARN("the pid file path changed: it applies at the "
		    "next restart");
		free(m->conf->pid_path);
		m->conf->pid_path = sfu_xstrdup(old->pid_path);
	}
	if (diff.error_log_changed || old->error_log_level !=
	    nc->error_log_level) {
		if (sfu_master_open_log(m, err) == -1) {
			SFU_LOG_ERROR("reload: %s (keeping the old log)",
			    err->reason);
		}
	}
	if (old->worker_ping_interval_ms != nc->worker_ping_interval_ms) {
		sfu_timer_handle_start(m->ping_timer,
		    nc->worker_ping_interval_ms, nc->worker_ping_interval_ms);
	}
	if (old->admin_max_clients != nc->admin_max_clients ||
	    old->admin_max_output != nc->admin_max_output ||
	    old->daemon != nc->daemon ||
	    (old->user == NULL) != (nc->user == NULL) ||
	    (old->user != NULL && strcmp(old->user, nc->user) != 0)) {
		SFU_LOG_WARN("daemon, user, max_clients and "
		    "client_output_limit changes apply at the next restart");
	}
	sfu_master_conf_free(old);
	free(m->worker_binary);
	m->worker_binary = sfu_xstrdup(master_worker_binary(m->conf));

	if (diff.respawn_needed) {
		/* nginx's way: a new generation; the old one drains. */
		m->generation++;
		for (s = TAILQ_FIRST(&m->slots); s != NULL; s = next) {
			next = TAILQ_NEXT(s, entry);
			if (s->generation < m->generation && !s->retire) {
				sfu_pool_drain(s, m->conf->drain_timeout_ms);
			}
		}
	} else {
		want = sfu_master_conf_worker_count(m->conf);
		for (s = TAILQ_FIRST(&m->slots); s != NULL; s = next) {
			next = TAILQ_NEXT(s, entry);
			if (s->index >= want && !s->retire) {
				sfu_pool_drain(s, m->conf->drain_timeout_ms);
			}
		}
		if (diff.log_changed) {
			TAILQ_FOREACH(s, &m->slots, entry) {
				if (s->state == SFU_SLOT_RUNNING ||
				    s->state == SFU_SLOT_DRAINING) {
					sfu_relay_internal(m->relay, s,
					    "worker.updateSettings",
					    master_pack_log_settings, m->conf,
					    master_on_settings_answer, NULL);
				}
			}
		}
	}
	sfu_pool_fill(m);
	SFU_LOG_INFO("reloaded [generation:%u workers:%u%s%s]", m->generation,
	    sfu_master_conf_worker_count(m->conf),
	    diff.respawn_needed ? " new-generation" : "",
	    diff.log_changed ? " log-settings" : "");
	pk = sfu_msg_begin_notification(&m->builder, "master",
	    "master.reloaded", true);
	msgpack_pack_map(pk, 3);
	sfu_msg_pack_kv_uint(pk, "generation", m->generation);
	sfu_msg_pack_kv_uint(pk, "workers",
	    sfu_master_conf_worker_count(m->conf));
	sfu_msg_pack_kv_bool(pk, "newGeneration", diff.respawn_needed);
	sfu_master_publish(m, "master", "master.reloaded",
	    (const uint8_t *)m->builder.sbuf.data, m->builder.sbuf.size, NULL);
	return 0;
}

void
sfu_master_stop(struct sfu_master *m)
{
	struct sfu_slot *s = NULL;
	struct sfu_slot *next = NULL;

	if (m->state == SFU_MASTER_STOPPING) {
		return;
	}
	SFU_LOG_INFO("stopping");
	m->state = SFU_MASTER_STOPPING;
	if (m->admin != NULL) {
		sfu_admin_stop_accepting(m->admin);
	}
	sfu_timer_handle_stop(m->ping_timer);
	for (s = TAILQ_FIRST(&m->slots); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		sfu_pool_stop_slot(s);
	}
	sfu_timer_handle_start(m->stop_timer, m->conf->shutdown_timeout_ms,
	    0);
	sfu_timer_handle_start(m->later_timer, 0, 0);
}

void
sfu_master_quit(struct sfu_master *m)
{
	struct sfu_slot *s = NULL;
	struct sfu_slot *next = NULL;

	if (m->state != SFU_MASTER_RUNNING) {
		return;
	}
	SFU_LOG_INFO("graceful shutdown: draining workers (at most %llu ms)",
	    (unsigned long long)m->conf->drain_timeout_ms);
	m->state = SFU_MASTER_QUITTING;
	for (s = TAILQ_FIRST(&m->slots); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		sfu_pool_drain(s, m->conf->drain_timeout_ms);
	}
	sfu_timer_handle_start(m->later_timer, 0, 0);
}
