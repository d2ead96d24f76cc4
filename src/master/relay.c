/*
 * SPDX-License-Identifier: MIT
 *
 * The relay's tables: pending requests by master-side id (and in a list,
 * for the rare scans on client or worker death) and entities by id (with
 * their parent, so closing a router forgets its transports, producers and
 * the rest). Messages are re-encoded only to swap the id (and to add an
 * entity id the client did not give); everything else passes through as
 * the client or worker wrote it.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SFU_LOG_MODULE "relay"
#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "common/strmap.h"
#include "common/uuid.h"
#include "master/admin.h"
#include "master/master.h"
#include "master/relay.h"
#include "master/worker_link.h"

struct relay_pending {
	uint32_t		 id;		/* master-side */
	struct sfu_admin_client	*client;	/* borrowed, NULL: internal
						   or client gone */
	bool			 internal;
	uint32_t		 client_id;
	struct sfu_slot		*slot;		/* borrowed */
	const struct relay_method *method;	/* static, NULL: plain */
	char			 entity_id[SFU_MSG_ID_MAX]; /* create/close */
	char			 parent_id[SFU_MSG_ID_MAX]; /* create */
	uint64_t		 sent_ms;	/* monotonic */
	sfu_relay_cb		 cb;		/* internal only */
	void			*cb_ctx;
	TAILQ_ENTRY(relay_pending) entry;
};

struct relay_entity {
	char			 id[SFU_MSG_ID_MAX];
	char			 parent_id[SFU_MSG_ID_MAX]; /* "" for roots */
	bool			 is_router;
	struct sfu_slot		*slot;		/* borrowed */
	struct sfu_admin_client	*owner;		/* borrowed, NULL: gone */
	TAILQ_ENTRY(relay_entity) entry;
};

struct sfu_relay {
	struct sfu_master	*master;	/* borrowed: our owner */
	struct sfu_strmap	*pending;	/* "<id>" -> relay_pending */
	TAILQ_HEAD(, relay_pending) pending_list; /* owned */
	struct sfu_strmap	*entities;	/* id -> relay_entity */
	TAILQ_HEAD(, relay_entity) entity_list;	/* owned */
	uint32_t		 next_id;
	struct sfu_msg_builder	 builder;
};

/*
 * Methods that create or close entities: which data field carries the id
 * (NULL: the handlerId itself is closed).
 */
enum relay_kind { RELAY_CREATE, RELAY_CLOSE };

struct relay_method {
	const char	*name;
	enum relay_kind	 kind;
	const char	*id_field;
	bool		 router;
};

static const struct relay_method relay_methods[] = {
	{ "worker.createRouter", RELAY_CREATE, "routerId", true },
	{ "worker.createWebRtcServer", RELAY_CREATE, "webRtcServerId", false },
	{ "router.createWebRtcTransport", RELAY_CREATE, "transportId", false },
	{ "router.createPlainTransport", RELAY_CREATE, "transportId", false },
	{ "router.createPipeTransport", RELAY_CREATE, "transportId", false },
	{ "router.createDirectTransport", RELAY_CREATE, "transportId", false },
	{ "router.createActiveSpeakerObserver", RELAY_CREATE, "rtpObserverId",
	    false },
	{ "router.createAudioLevelObserver", RELAY_CREATE, "rtpObserverId",
	    false },
	{ "transport.produce", RELAY_CREATE, "producerId", false },
	{ "transport.consume", RELAY_CREATE, "consumerId", false },
	{ "transport.produceData", RELAY_CREATE, "dataProducerId", false },
	{ "transport.consumeData", RELAY_CREATE, "dataConsumerId", false },
	{ "worker.closeRouter", RELAY_CLOSE, "routerId", false },
	{ "worker.closeWebRtcServer", RELAY_CLOSE, "webRtcServerId", false },
	{ "router.closeTransport", RELAY_CLOSE, "transportId", false },
	{ "router.closeRtpObserver", RELAY_CLOSE, "rtpObserverId", false },
	{ "transport.closeProducer", RELAY_CLOSE, "producerId", false },
	{ "transport.closeConsumer", RELAY_CLOSE, "consumerId", false },
	{ "transport.closeDataProducer", RELAY_CLOSE, "dataProducerId", false },
	{ "transport.closeDataConsumer", RELAY_CLOSE, "dataConsumerId", false },
	{ "webRtcServer.close", RELAY_CLOSE, NULL, false },
	{ "router.close", RELAY_CLOSE, NULL, false },
	{ "transport.close", RELAY_CLOSE, NULL, false },
	{ "producer.close", RELAY_CLOSE, NULL, false },
	{ "consumer.close", RELAY_CLOSE, NULL, false },
	{ "dataProducer.close", RELAY_CLOSE, NULL, false },
	{ "dataConsumer.close", RELAY_CLOSE, NULL, false },
	{ "rtpObserver.close", RELAY_CLOSE, NULL, false },
	{ NULL, RELAY_CREATE, NULL, false },
};

/* Worker events after which the target no longer exists. */
static const char *const relay_closing_events[] = {
	"consumer.producerclose", "dataconsumer.dataproducerclose",
	"producerclose", "dataproducerclose", "routerclose", "transportclose",
	"listenserverclose", "transport.listenserverclose", NULL,
};

static const struct relay_method *
relay_find_method(const char *name)
{
	const struct relay_method *rm = NULL;

	for (rm = relay_methods; rm->name != NULL; rm++) {
		if (strcmp(rm->name, name) == 0) {
			return rm;
		}
	}
	return NULL;
}

struct sfu_relay *
sfu_relay_new(struct sfu_master *m)
{
	struct sfu_relay *r = NULL;

	r = sfu_xcalloc(1, sizeof(*r));
	r->master = m;
	r->pending = sfu_strmap_new();
	r->entities = sfu_strmap_new();
	TAILQ_INIT(&r->pending_list);
	TAILQ_INIT(&r->entity_list);
	r->next_id = 1;
	sfu_msg_builder_init(&r->builder);
	return r;
}

void
sfu_relay_free(struct sfu_relay *r)
{
	struct relay_pending *p = NULL;
	struct relay_entity *e = NULL;

	if (r == NULL) {
		return;
	}
	while ((p = TAILQ_FIRST(&r->pending_list)) != NULL) {
		TAILQ_REMOVE(&r->pending_list, p, entry);
		free(p);
	}
	while ((e = TAILQ_FIRST(&r->entity_list)) != NULL) {
		TAILQ_REMOVE(&r->entity_list, e, entry);
		free(e);
	}
	sfu_strmap_free(r->pending);
	sfu_strmap_free(r->entities);
	sfu_msg_builder_release(&r->builder);
	free(r);
}

/* --- tables --- */

static void
relay_pending_key(char *buf, size_t size, uint32_t id)
{
	snprintf(buf, size, "%u", id);
}

static struct relay_pending *
relay_pending_add(struct sfu_relay *r, struct sfu_slot *s)
{
	struct relay_pending *p = NULL;
	char key[16];

	p = sfu_xcalloc(1, sizeof(*p));
	do {
		p->id = r->next_id++;
		relay_pending_key(key, sizeof(key), p->id);
	} while (sfu_strmap_get(r->pending, key) != NULL);
	p->slot = s;
	p->sent_ms = sfu_clock_mono_ms();
	SFU_ASSERT(sfu_strmap_add(r->pending, key, p) == 0);
	TAILQ_INSERT_TAIL(&r->pending_list, p, entry);
	return p;
}

static void
relay_pending_remove(struct sfu_relay *r, struct relay_pending *p)
{
	char key[16];

	if (p->method != NULL && p->method->router) {
		p->slot->routers_creating--;
	}

	relay_pending_key(key, sizeof(key), p->id);
	sfu_strmap_remove(r->pending, key);
	TAILQ_REMOVE(&r->pending_list, p, entry);
	free(p);
}

static void
relay_entity_add(struct sfu_relay *r, const char *id, const char *parent,
    bool is_router, struct sfu_slot *s, struct sfu_admin_client *owner)
{
	struct relay_entity *e = NULL;

	if (sfu_strmap_get(r->entities, id) != NULL) {
		SFU_LOG_WARN("entity created twice [id:%s]", id);
		return;
	}
	e = sfu_xcalloc(1, sizeof(*e));
	snprintf(e->id, sizeof(e->id), "%s", id);
	snprintf(e->parent_id, sizeof(e->parent_id), "%s", parent);
	e->is_router = is_router;
	e->slot = s;
	e->owner = owner;
	SFU_ASSERT(sfu_strmap_add(r->entities, e->id, e) == 0);
	TAILQ_INSERT_TAIL(&r->entity_list, e, entry);
	s->entities++;
	if (is_router) {
		s->routers++;
	}
}

static void
relay_entity_unlink(struct sfu_relay *r, struct relay_entity *e)
{
	sfu_strmap_remove(r->entities, e->id);
	TAILQ_REMOVE(&r->entity_list, e, entry);
	e->slot->entities--;
	if (e->is_router) {
		e->slot->routers--;
	}
}

/* Forgets id and everything below it. */
static void
relay_entity_forget(struct sfu_relay *r, const char *id)
{
	struct relay_entity *e = NULL;
	struct relay_entity *c = NULL;
	struct relay_entity *next = NULL;
	struct sfu_slot *s = NULL;
	char gone[SFU_MSG_ID_MAX];

	e = sfu_strmap_get(r->entities, id);
	if (e == NULL) {
		return;
	}
	snprintf(gone, sizeof(gone), "%s", e->id);
	s = e->slot;
	relay_entity_unlink(r, e);
	free(e);
	for (c = TAILQ_FIRST(&r->entity_list); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (strcmp(c->parent_id, gone) == 0) {
			relay_entity_forget(r, c->id);
			/* The recursion may have freed what next points to. */
			next = TAILQ_FIRST(&r->entity_list);
		}
	}
	sfu_pool_check_drained(s);
}

/* --- encoding --- */

/*
 * Packs root with "id" replaced by id, and, when inject_key is set, with
 * data[inject_key] = inject_val added. "worker" is left out (admin-side
 * only).
 */
static void
relay_repack(struct sfu_relay *r, const msgpack_object *root, uint32_t id,
    const char *inject_key, const char *inject_val)
{
	msgpack_packer *pk = &r->builder.pk;
	const msgpack_object_kv *kv = NULL;
	const msgpack_object *data = NULL;
	uint32_t n = 0;
	uint32_t i = 0;
	uint32_t j = 0;
	bool has_data = false;

	sfu_msg_builder_reset(&r->builder);
	for (i = 0; i < root->via.map.size; i++) {
		kv = &root->via.map.ptr[i];
		if (sfu_msg_str_eq(&kv->key, "worker")) {
			continue;
		}
		if (sfu_msg_str_eq(&kv->key, "data")) {
			has_data = true;
		}
		n++;
	}
	if (inject_key != NULL && !has_data) {
		n++;
	}
	msgpack_pack_map(pk, n);
	for (i = 0; i < root->via.map.size; i++) {
		kv = &root->via.map.ptr[i];
		if (sfu_msg_str_eq(&kv->key, "worker")) {
			continue;
		}
		msgpack_pack_object(pk, kv->key);
		if (sfu_msg_str_eq(&kv->key, "id")) {
			msgpack_pack_uint32(pk, id);
		} else if (inject_key != NULL &&
		    sfu_msg_str_eq(&kv->key, "data") &&
		    kv->val.type == MSGPACK_OBJECT_MAP) {
			data = &kv->val;
			n = data->via.map.size + 1;
			for (j = 0; j < data->via.map.size; j++) {
				if (sfu_msg_str_eq(&data->via.map.ptr[j].key,
				    inject_key)) {
					n--;	/* a nil the client sent */
				}
			}
			msgpack_pack_map(pk, n);
			for (j = 0; j < data->via.map.size; j++) {
				if (sfu_msg_str_eq(&data->via.map.ptr[j].key,
				    inject_key)) {
					continue;
				}
				msgpack_pack_object(pk, data->via.map.ptr[j].key);
				msgpack_pack_object(pk, data->via.map.ptr[j].val);
			}
			sfu_msg_pack_kv_str(pk, inject_key, inject_val);
		} else if (inject_key != NULL &&
		    sfu_msg_str_eq(&kv->key, "data")) {
			/* data: nil (or no map): ours replaces it. */
			msgpack_pack_map(pk, 1);
			sfu_msg_pack_kv_str(pk, inject_key, inject_val);
		} else {
			msgpack_pack_object(pk, kv->val);
		}
	}
	if (inject_key != NULL && !has_data) {
		sfu_msg_pack_str(pk, "data");
		msgpack_pack_map(pk, 1);
		sfu_msg_pack_kv_str(pk, inject_key, inject_val);
	}
}

static void
relay_reply_error(struct sfu_admin_client *c, uint32_t id,
    enum sfu_error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
relay_reply_error(struct sfu_admin_client *c, uint32_t id,
    enum sfu_error_kind kind, const char *fmt, ...)
{
	char reason[SFU_ERROR_REASON_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	sfu_admin_client_send_error(c, id, kind, reason);
}

/* --- routing --- */

/*
 * worker.closeRouter {routerId} and the like name the entity in data:
 * route them to its owner (also when that worker is draining and so
 * cannot be named by index). Returns false when req is not such a close.
 */
static bool
relay_close_target(struct sfu_relay *r, const struct sfu_msg_request *req,
    struct relay_entity **e)
{
	const struct relay_method *rm = relay_find_method(req->method);
	char id[SFU_MSG_ID_MAX];

	*e = NULL;
	if (rm == NULL || rm->kind != RELAY_CLOSE || rm->id_field == NULL ||
	    strncmp(req->method, "worker.", 7) != 0) {
		return false;
	}
	if (sfu_msg_get_strbuf(req->data, "data", rm->id_field,
	    SFU_MSG_REQUIRED, id, sizeof(id), NULL) == 1) {
		*e = sfu_strmap_get(r->entities, id);
	}
	return true;
}

/* A create for id already sent and not answered yet. */
static bool
relay_create_pending(const struct sfu_relay *r, const char *id)
{
	const struct relay_pending *p = NULL;

	TAILQ_FOREACH(p, &r->pending_list, entry) {
		if (p->method != NULL && p->method->kind == RELAY_CREATE &&
		    strcmp(p->entity_id, id) == 0) {
			return true;
		}
	}
	return false;
}

static struct sfu_slot *
relay_route(struct sfu_relay *r, struct sfu_admin_client *c,
    const struct sfu_msg_request *req)
{
	struct sfu_master *m = r->master;
	struct relay_entity *e = NULL;
	struct sfu_slot *s = NULL;

	if (req->has_worker) {
		s = sfu_pool_find_index(m, (unsigned)req->worker);
		if (s == NULL) {
			relay_reply_error(c, req->id, SFU_ERR_NOT_FOUND,
			    "worker: no worker %lld", (long long)req->worker);
			return NULL;
		}
	} else if (req->has_handler_id) {
		e = sfu_strmap_get(r->entities, req->handler_id);
		if (e == NULL) {
			relay_reply_error(c, req->id, SFU_ERR_NOT_FOUND,
			    "handlerId: no entity '%s'", req->handler_id);
			return NULL;
		}
		s = e->slot;
	} else if (relay_close_target(r, req, &e)) {
		if (e == NULL) {
			relay_reply_error(c, req->id, SFU_ERR_NOT_FOUND,
			    "data.%s: no entity with that id",
			    relay_find_method(req->method)->id_field);
			return NULL;
		}
		s = e->slot;
	} else if (strcmp(req->method, "worker.createRouter") == 0) {
		s = sfu_pool_least_loaded(m);
		if (s == NULL) {
			relay_reply_error(c, req->id, SFU_ERR_INVALID_STATE,
			    "%s", m->state != SFU_MASTER_RUNNING ?
			    "master is shutting down: no new routers" :
			    "no worker is running");
			return NULL;
		}
		return s;
	} else {
		relay_reply_error(c, req->id, SFU_ERR_TYPE,
		    "worker: missing (%s is a worker-level method: say which "
		    "worker, or give a handlerId)", req->method);
		return NULL;
	}
	if (s->state == SFU_SLOT_STARTING || s->state == SFU_SLOT_BACKOFF ||
	    s->link == NULL) {
		relay_reply_error(c, req->id, SFU_ERR_INVALID_STATE,
		    "worker %u is not running (%s)", s->index,
		    sfu_pool_state_name(s->state));
		return NULL;
	}
	if (s->state != SFU_SLOT_RUNNING &&
	    strcmp(req->method, "worker.createRouter") == 0) {
		relay_reply_error(c, req->id, SFU_ERR_INVALID_STATE,
		    "worker %u is %s: no new routers", s->index,
		    sfu_pool_state_name(s->state));
		return NULL;
	}
	return s;
}

void
sfu_relay_forward(struct sfu_relay *r, struct sfu_admin_client *c,
    const struct sfu_msg_request *req, const msgpack_object *root)
{
	const struct relay_method *rm = NULL;
	struct relay_pending *p = NULL;
	struct sfu_slot *s = NULL;
	struct sfu_error err = { 0 };
	char path[SFU_MSG_PATH_MAX];
	char uuid[SFU_UUID_STR_LEN];
	char id[SFU_MSG_ID_MAX];
	const char *inject = NULL;
	int got = 0;

	s = relay_route(r, c, req);
	if (s == NULL) {
		return;
	}
	rm = relay_find_method(req->method);
	id[0] = '\0';
	if (rm != NULL && rm->id_field != NULL) {
		got = sfu_msg_get_strbuf(req->data, "data", rm->id_field,
		    rm->kind == RELAY_CREATE ? SFU_MSG_OPTIONAL :
		    SFU_MSG_REQUIRED, id, sizeof(id), &err);
		if (got == -1) {
			sfu_admin_client_send_error(c, req->id, err.kind,
			    err.reason);
			return;
		}
		if (rm->kind == RELAY_CREATE && got == 1 &&
		    (sfu_strmap_get(r->entities, id) != NULL ||
		    relay_create_pending(r, id))) {
			relay_reply_error(c, req->id, SFU_ERR_TYPE,
			    "%s: an entity with id '%s' already exists",
			    sfu_msg_path(path, sizeof(path), "data",
			    rm->id_field), id);
			return;
		}
		if (rm->kind == RELAY_CREATE && got == 0) {
			sfu_uuid_v4(uuid);
			snprintf(id, sizeof(id), "%s", uuid);
			inject = rm->id_field;
		}
	} else if (rm != NULL && req->has_handler_id) {
		snprintf(id, sizeof(id), "%s", req->handler_id);
	}
	p = relay_pending_add(r, s);
	p->client = c;
	p->client_id = req->id;
	p->method = rm;
	if (rm != NULL && rm->router) {
		s->routers_creating++;
	}
	snprintf(p->entity_id, sizeof(p->entity_id), "%s", id);
	if (req->has_handler_id) {
		snprintf(p->parent_id, sizeof(p->parent_id), "%s",
		    req->handler_id);
	}
	relay_repack(r, root, p->id, inject, id);
	if (sfu_worker_link_send(s->link, (const uint8_t *)r->builder.sbuf.data,
	    r->builder.sbuf.size) == -1) {
		relay_pending_remove(r, p);
		relay_reply_error(c, req->id, SFU_ERR_ERROR,
		    "worker %u is not accepting requests", s->index);
	}
}

static int
relay_send_internal(struct sfu_relay *r, struct sfu_slot *s,
    const char *method, const struct relay_method *rm, const char *entity_id,
    sfu_relay_pack_cb pack, void *pack_ctx, sfu_relay_cb cb, void *ctx)
{
	struct relay_pending *p = NULL;
	msgpack_packer *pk = NULL;

	if (s->link == NULL) {
		return -1;
	}
	p = relay_pending_add(r, s);
	p->internal = true;
	p->cb = cb;
	p->cb_ctx = ctx;
	p->method = rm;
	if (entity_id != NULL) {
		snprintf(p->entity_id, sizeof(p->entity_id), "%s", entity_id);
	}
	pk = sfu_msg_begin_request(&r->builder, p->id, method, NULL,
	    pack != NULL);
	if (pack != NULL) {
		pack(pack_ctx, pk);
	}
	if (sfu_worker_link_send(s->link, (const uint8_t *)r->builder.sbuf.data,
	    r->builder.sbuf.size) == -1) {
		relay_pending_remove(r, p);
		return -1;
	}
	return 0;
}

int
sfu_relay_internal(struct sfu_relay *r, struct sfu_slot *s,
    const char *method, sfu_relay_pack_cb pack, void *pack_ctx,
    sfu_relay_cb cb, void *ctx)
{
	return relay_send_internal(r, s, method, NULL, NULL, pack, pack_ctx,
	    cb, ctx);
}

int
sfu_relay_internal_entity(struct sfu_relay *r, struct sfu_slot *s,
    const char *method, const char *entity_id, sfu_relay_pack_cb pack,
    void *pack_ctx, sfu_relay_cb cb, void *ctx, struct sfu_error *err)
{
	const struct relay_method *rm = relay_find_method(method);

	SFU_ASSERT(rm != NULL && rm->id_field != NULL && !rm->router);
	if (entity_id[0] == '\0' || strlen(entity_id) >= SFU_MSG_ID_MAX) {
		sfu_error_set(err, SFU_ERR_TYPE, "%s: bad %s '%s'", method,
		    rm->id_field, entity_id);
		return -1;
	}
	if (rm->kind == RELAY_CREATE &&
	    (sfu_strmap_get(r->entities, entity_id) != NULL ||
	    relay_create_pending(r, entity_id))) {
		sfu_error_set(err, SFU_ERR_TYPE, "an entity with id '%s' "
		    "already exists", entity_id);
		return -1;
	}
	if (relay_send_internal(r, s, method, rm, entity_id, pack, pack_ctx,
	    cb, ctx) == -1) {
		sfu_error_set(err, SFU_ERR_ERROR, "worker %u is not accepting "
		    "requests", s->index);
		return -1;
	}
	return 0;
}

/* --- from workers --- */

static bool
relay_response_lacks_id(const struct relay_pending *p,
    const msgpack_object *root, bool ok)
{
	const msgpack_object *data = NULL;

	if (!ok || p->method == NULL || p->method->kind != RELAY_CREATE ||
	    p->method->id_field == NULL || p->entity_id[0] == '\0') {
		return false;
	}
	data = sfu_msg_map_get(root, "data");
	return data == NULL || data->type != MSGPACK_OBJECT_MAP ||
	    sfu_msg_map_get(data, p->method->id_field) == NULL;
}

static void
relay_on_response(struct sfu_relay *r, struct sfu_slot *s,
    const msgpack_object *root, uint32_t id)
{
	struct relay_pending *p = NULL;
	const msgpack_object *accepted = NULL;
	char key[16];
	bool ok = false;

	relay_pending_key(key, sizeof(key), id);
	p = sfu_strmap_get(r->pending, key);
	if (p == NULL || p->slot != s) {
		SFU_LOG_WARN("worker %u sent a response to unknown request %u",
		    s->index, id);
		return;
	}
	accepted = sfu_msg_map_get(root, "accepted");
	ok = accepted != NULL && accepted->type == MSGPACK_OBJECT_BOOLEAN &&
	    accepted->via.boolean;
	if (ok && p->method != NULL && p->entity_id[0] != '\0') {
		if (p->method->kind == RELAY_CREATE) {
			relay_entity_add(r, p->entity_id,
			    p->method->router ? "" : p->parent_id,
			    p->method->router, s, p->client);
		} else {
			relay_entity_forget(r, p->entity_id);
		}
	}
	if (p->internal) {
		if (p->cb != NULL) {
			p->cb(p->cb_ctx, s, root);
		}
	} else if (p->client != NULL) {
		/*
		 * A client that let the master choose the id must learn it:
		 * add it to the response's data when the worker did not.
		 */
		relay_repack(r, root, p->client_id,
		    relay_response_lacks_id(p, root, ok) ?
		    p->method->id_field : NULL, p->entity_id);
		sfu_admin_client_send(p->client,
		    (const uint8_t *)r->builder.sbuf.data,
		    r->builder.sbuf.size);
	}
	relay_pending_remove(r, p);
}

static void
relay_on_notification(struct sfu_relay *r, struct sfu_slot *s,
    const msgpack_object *root, const uint8_t *raw, size_t len)
{
	struct relay_entity *e = NULL;
	struct sfu_admin_client *owner = NULL;
	char target[SFU_MSG_ID_MAX];
	char event[SFU_MSG_METHOD_MAX];
	size_t i = 0;

	if (sfu_msg_get_strbuf(root, NULL, "targetId", SFU_MSG_REQUIRED,
	    target, sizeof(target), NULL) != 1 ||
	    sfu_msg_get_strbuf(root, NULL, "event", SFU_MSG_REQUIRED, event,
	    sizeof(event), NULL) != 1) {
		SFU_LOG_WARN("worker %u sent a malformed notification",
		    s->index);
		return;
	}
	if (strcmp(event, "running") == 0) {
		sfu_pool_on_running(s);
		return;
	}
	e = sfu_strmap_get(r->entities, target);
	if (e != NULL) {
		owner = e->owner;
	}
	sfu_master_publish(r->master, target, event, raw, len, owner);
	for (i = 0; relay_closing_events[i] != NULL; i++) {
		if (e != NULL && strcmp(event, relay_closing_events[i]) == 0) {
			relay_entity_forget(r, target);
			break;
		}
	}
}

void
sfu_relay_on_worker_message(struct sfu_relay *r, struct sfu_slot *s,
    const msgpack_object *root, const uint8_t *raw, size_t len)
{
	uint64_t id = 0;

	if (sfu_msg_map_get(root, "targetId") != NULL) {
		relay_on_notification(r, s, root, raw, len);
		return;
	}
	if (sfu_msg_get_uint(root, NULL, "id", SFU_MSG_REQUIRED, UINT32_MAX,
	    &id, NULL) != 1) {
		SFU_LOG_WARN("worker %u sent a message that is neither a "
		    "response nor a notification", s->index);
		return;
	}
	relay_on_response(r, s, root, (uint32_t)id);
}

void
sfu_relay_on_worker_gone(struct sfu_relay *r, struct sfu_slot *s,
    const char *why, msgpack_packer *pk)
{
	struct relay_pending *p = NULL;
	struct relay_pending *pnext = NULL;
	struct relay_entity *e = NULL;
	struct relay_entity *enext = NULL;
	char reason[SFU_ERROR_REASON_LEN];
	size_t n = 0;

	snprintf(reason, sizeof(reason), "worker %u %s", s->index, why);
	for (p = TAILQ_FIRST(&r->pending_list); p != NULL; p = pnext) {
		pnext = TAILQ_NEXT(p, entry);
		if (p->slot != s) {
			continue;
		}
		if (p->internal && p->cb != NULL) {
			p->cb(p->cb_ctx, s, NULL);
		} else if (p->client != NULL) {
			sfu_admin_client_send_error(p->client, p->client_id,
			    SFU_ERR_ERROR, reason);
		}
		relay_pending_remove(r, p);
	}
	TAILQ_FOREACH(e, &r->entity_list, entry) {
		if (e->slot == s) {
			n++;
		}
	}
	if (pk != NULL) {
		msgpack_pack_array(pk, n);
	}
	for (e = TAILQ_FIRST(&r->entity_list); e != NULL; e = enext) {
		enext = TAILQ_NEXT(e, entry);
		if (e->slot != s) {
			continue;
		}
		if (pk != NULL) {
			sfu_msg_pack_str(pk, e->id);
		}
		relay_entity_unlink(r, e);
		free(e);
	}
}

void
sfu_relay_expire(struct sfu_relay *r, uint64_t timeout_ms)
{
	struct relay_pending *p = NULL;
	char reason[SFU_ERROR_REASON_LEN];
	uint64_t now = sfu_clock_mono_ms();

	/* The list is in sending order: the oldest come first. */
	while ((p = TAILQ_FIRST(&r->pending_list)) != NULL &&
	    now - p->sent_ms >= timeout_ms) {
		SFU_LOG_WARN("worker %u did not answer request %u within "
		    "%llu ms", p->slot->index, p->id,
		    (unsigned long long)timeout_ms);
		if (p->internal && p->cb != NULL) {
			p->cb(p->cb_ctx, p->slot, NULL);
		} else if (p->client != NULL) {
			snprintf(reason, sizeof(reason), "worker %u did not "
			    "answer within %llu ms", p->slot->index,
			    (unsigned long long)timeout_ms);
			sfu_admin_client_send_error(p->client, p->client_id,
			    SFU_ERR_ERROR, reason);
		}
		relay_pending_remove(r, p);
	}
}

void
sfu_relay_on_client_closed(struct sfu_relay *r, struct sfu_admin_client *c)
{
	struct relay_pending *p = NULL;
	struct relay_entity *e = NULL;

	TAILQ_FOREACH(p, &r->pending_list, entry) {
		if (p->client == c) {
			p->client = NULL;
		}
	}
	TAILQ_FOREACH(e, &r->entity_list, entry) {
		if (e->owner == c) {
			e->owner = NULL;
		}
	}
}

size_t
sfu_relay_pending_count(const struct sfu_relay *r)
{
	return sfu_strmap_count(r->pending);
}

size_t
sfu_relay_entity_count(const struct sfu_relay *r)
{
	return sfu_strmap_count(r->entities);
}

struct sfu_slot *
sfu_relay_entity_slot(const struct sfu_relay *r, const char *id)
{
	const struct relay_entity *e = sfu_strmap_get(r->entities, id);

	return e != NULL ? e->slot : NULL;
}

void
sfu_relay_pack_routers(const struct sfu_relay *r, const struct sfu_slot *s,
    msgpack_packer *pk)
{
	const struct relay_entity *e = NULL;

	msgpack_pack_array(pk, s->routers);
	TAILQ_FOREACH(e, &r->entity_list, entry) {
		if (e->slot == s && e->is_router) {
			sfu_msg_pack_str(pk, e->id);
		}
	}
}
