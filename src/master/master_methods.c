/*
 * SPDX-License-Identifier: MIT
 *
 * master.* requests: status, workers, reload, stop, quit, subscribe,
 * unsubscribe. Answered by the master itself.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SFU_LOG_MODULE "master_methods"
#include "common/clock.h"
#include "common/handle/timer_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "master/admin.h"
#include "master/master.h"
#include "master/master_conf.h"
#include "master/relay.h"

/* Entries in one subscription list. */
#define MASTER_MAX_SUBSCRIPTIONS 1024
#define SFU_XSTR(x) #x
#define SFU_STR(x) SFU_XSTR(x)

typedef void (*master_method_fn)(struct sfu_master *m,
    struct sfu_admin_client *c, const struct sfu_msg_request *req);

static void
master_send_built(struct sfu_master *m, struct sfu_admin_client *c)
{
	sfu_admin_client_send(c, (const uint8_t *)m->builder.sbuf.data,
	    m->builder.sbuf.size);
}

static void
master_accept(struct sfu_master *m, struct sfu_admin_client *c, uint32_t id)
{
	sfu_msg_begin_response(&m->builder, id, false);
	master_send_built(m, c);
}

static void
master_method_status(struct sfu_master *m, struct sfu_admin_client *c,
    const struct sfu_msg_request *req)
{
	msgpack_packer *pk = NULL;

	pk = sfu_msg_begin_response(&m->builder, req->id, true);
	msgpack_pack_map(pk, 13);
	sfu_msg_pack_kv_str(pk, "version", PACKAGE_VERSION);
	sfu_msg_pack_kv_int(pk, "pid", (int64_t)getpid());
	sfu_msg_pack_kv_str(pk, "state",
	    m->state == SFU_MASTER_RUNNING ? "running" :
	    m->state == SFU_MASTER_QUITTING ? "quitting" : "stopping");
	sfu_msg_pack_kv_uint(pk, "uptimeMs",
	    sfu_clock_mono_ms() - m->started_mono_ms);
	sfu_msg_pack_kv_uint(pk, "startedAt", m->started_wall_ms);
	sfu_msg_pack_kv_str(pk, "configPath", m->conf->path);
	sfu_msg_pack_kv_uint(pk, "generation", m->generation);
	sfu_msg_pack_kv_uint(pk, "reloads", m->reloads);
	sfu_msg_pack_str(pk, "workers");
	msgpack_pack_map(pk, 5);
	sfu_msg_pack_kv_uint(pk, "configured",
	    sfu_master_conf_worker_count(m->conf));
	sfu_msg_pack_kv_uint(pk, "running",
	    sfu_pool_count(m, SFU_SLOT_RUNNING));
	sfu_msg_pack_kv_uint(pk, "starting",
	    sfu_pool_count(m, SFU_SLOT_STARTING) +
	    sfu_pool_count(m, SFU_SLOT_BACKOFF));
	sfu_msg_pack_kv_uint(pk, "draining",
	    sfu_pool_count(m, SFU_SLOT_DRAINING) +
	    sfu_pool_count(m, SFU_SLOT_STOPPING));
	sfu_msg_pack_kv_uint(pk, "total", sfu_pool_count(m, -1));
	sfu_msg_pack_kv_uint(pk, "adminClients",
	    sfu_admin_client_count(m->admin));
	sfu_msg_pack_kv_uint(pk, "invalidMessages",
	    sfu_admin_invalid_count(m->admin));
	sfu_msg_pack_kv_uint(pk, "droppedClients",
	    sfu_admin_dropped_clients(m->admin));
	sfu_msg_pack_kv_uint(pk, "pendingRequests",
	    sfu_relay_pending_count(m->relay));
	master_send_built(m, c);
}

static void
master_method_workers(struct sfu_master *m, struct sfu_admin_client *c,
    const struct sfu_msg_request *req)
{
	const struct sfu_slot *s = NULL;
	msgpack_packer *pk = NULL;
	const char *str = NULL;

	pk = sfu_msg_begin_response(&m->builder, req->id, true);
	msgpack_pack_map(pk, 1);
	sfu_msg_pack_str(pk, "workers");
	msgpack_pack_array(pk, sfu_pool_count(m, -1));
	TAILQ_FOREACH(s, &m->slots, entry) {
		msgpack_pack_map(pk, 11);
		sfu_msg_pack_kv_uint(pk, "index", s->index);
		sfu_msg_pack_str(pk, "pid");
		if (s->pid > 0) {
			msgpack_pack_int64(pk, s->pid);
		} else {
			msgpack_pack_nil(pk);
		}
		sfu_msg_pack_kv_str(pk, "state", sfu_pool_state_name(s->state));
		sfu_msg_pack_kv_uint(pk, "generation", s->generation);
		sfu_msg_pack_kv_uint(pk, "restarts", s->restarts);
		sfu_msg_pack_kv_uint(pk, "startedAt", s->started_wall_ms);
		sfu_msg_pack_kv_uint(pk, "routers", s->routers);
		sfu_msg_pack_str(pk, "routerIds");
		sfu_relay_pack_routers(m->relay, s, pk);
		sfu_msg_pack_kv_uint(pk, "entities", s->entities);
		sfu_msg_pack_str(pk, "webRtcServerId");
		str = sfu_pool_webrtc_server_id(s);
		if (str != NULL) {
			sfu_msg_pack_str(pk, str);
		} else {
			msgpack_pack_nil(pk);
		}
		sfu_msg_pack_str(pk, "webRtcServerError");
		str = sfu_pool_webrtc_server_error(s);
		if (str != NULL) {
			sfu_msg_pack_str(pk, str);
		} else {
			msgpack_pack_nil(pk);
		}
	}
	master_send_built(m, c);
}

static void
master_method_reload(struct sfu_master *m, struct sfu_admin_client *c,
    const struct sfu_msg_request *req)
{
	struct sfu_error err = { 0 };
	msgpack_packer *pk = NULL;

	if (sfu_master_reload(m, &err) == -1) {
		/*
		 * master.reload takes no arguments: a bad config file is an
		 * Error (the reason has file:line), not a TypeError.
		 */
		sfu_admin_client_send_error(c, req->id,
		    err.kind == SFU_ERR_INVALID_STATE ? SFU_ERR_INVALID_STATE :
		    SFU_ERR_ERROR, err.reason);
		return;
	}
	pk = sfu_msg_begin_response(&m->builder, req->id, true);
	msgpack_pack_map(pk, 2);
	sfu_msg_pack_kv_uint(pk, "generation", m->generation);
	sfu_msg_pack_kv_uint(pk, "workers",
	    sfu_master_conf_worker_count(m->conf));
	master_send_built(m, c);
}

static void
master_method_stop(struct sfu_master *m, struct sfu_admin_client *c,
    const struct sfu_msg_request *req)
{
	master_accept(m, c, req->id);
	sfu_master_stop(m);
}

static void
master_method_quit(struct sfu_master *m, struct sfu_admin_client *c,
    const struct sfu_msg_request *req)
{
	master_accept(m, c, req->id);
	sfu_master_quit(m);
}

static void
master_method_subscribe(struct sfu_master *m, struct sfu_admin_client *c,
    const struct sfu_msg_request *req)
{
	struct sfu_master_client *mc = sfu_admin_client_get_data(c);
	struct sfu_error err = { 0 };
	const msgpack_object *events = NULL;
	const msgpack_object *e = NULL;
	char path[SFU_MSG_PATH_MAX];
	char reason[SFU_ERROR_REASON_LEN];
	uint32_t i = 0;

	if (req->data == NULL) {
		sfu_admin_client_send_error(c, req->id, SFU_ERR_TYPE,
		    "data: missing");
		return;
	}
	if (sfu_msg_get_array(req->data, "data", "events", SFU_MSG_REQUIRED,
	    &events, &err) != 1) {
		sfu_admin_client_send_error(c, req->id, err.kind, err.reason);
		return;
	}
	for (i = 0; i < events->via.array.size; i++) {
		e = &events->via.array.ptr[i];
		if (e->type != MSGPACK_OBJECT_STR || e->via.str.size == 0 ||
		    e->via.str.size >= SFU_MSG_ID_MAX) {
			snprintf(reason, sizeof(reason), "%s: expected an "
			    "event name, a targetId or \"*\"",
			    sfu_msg_path_index(path, sizeof(path),
			    "data.events", i));
			sfu_admin_client_send_error(c, req->id, SFU_ERR_TYPE,
			    reason);
			return;
		}
	}
	if (mc->nnames + events->via.array.size > MASTER_MAX_SUBSCRIPTIONS) {
		sfu_admin_client_send_error(c, req->id, SFU_ERR_TYPE,
		    "data.events: too many subscriptions (at most "
		    SFU_STR(MASTER_MAX_SUBSCRIPTIONS) ")");
		return;
	}
	for (i = 0; i < events->via.array.size; i++) {
		e = &events->via.array.ptr[i];
		if (e->via.str.size == 1 && e->via.str.ptr[0] == '*') {
			mc->all_events = true;
			continue;
		}
		mc->names = sfu_xreallocarray(mc->names, mc->nnames + 1,
		    sizeof(*mc->names));
		mc->names[mc->nnames++] = sfu_xstrndup(e->via.str.ptr,
		    e->via.str.size);
	}
	master_accept(m, c, req->id);
}

static void
master_method_unsubscribe(struct sfu_master *m, struct sfu_admin_client *c,
    const struct sfu_msg_request *req)
{
	struct sfu_master_client *mc = sfu_admin_client_get_data(c);
	size_t i = 0;

	for (i = 0; i < mc->nnames; i++) {
		free(mc->names[i]);
	}
	free(mc->names);
	mc->names = NULL;
	mc->nnames = 0;
	mc->all_events = false;
	master_accept(m, c, req->id);
}

static const struct {
	const char		*name;
	master_method_fn	 fn;
} master_methods[] = {
	{ "master.status", master_method_status },
	{ "master.workers", master_method_workers },
	{ "master.reload", master_method_reload },
	{ "master.stop", master_method_stop },
	{ "master.quit", master_method_quit },
	{ "master.subscribe", master_method_subscribe },
	{ "master.unsubscribe", master_method_unsubscribe },
	{ NULL, NULL },
};

void
sfu_master_handle_method(struct sfu_master *m, struct sfu_admin_client *c,
    const struct sfu_msg_request *req)
{
	char reason[SFU_ERROR_REASON_LEN];
	size_t i = 0;

	for (i = 0; master_methods[i].name != NULL; i++) {
		if (strcmp(master_methods[i].name, req->method) == 0) {
			master_methods[i].fn(m, c, req);
			return;
		}
	}
	snprintf(reason, sizeof(reason), "unknown method '%s'", req->method);
	sfu_admin_client_send_error(c, req->id, SFU_ERR_ERROR, reason);
}
