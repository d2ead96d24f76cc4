/*
 * SPDX-License-Identifier: MIT
 *
 * Request relay between admin clients and workers (DESIGN §4): routing
 * (worker index, entity owner, least-loaded worker for
 * worker.createRouter), master-side request ids mapped back to the
 * client's, entity ids assigned when the client gave none, the entity ->
 * worker table learned from create responses and forgotten on close or
 * worker death, and the master's own requests to workers.
 */
#ifndef SFU_MASTER_RELAY_H
#define SFU_MASTER_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/error.h"
#include "common/msg.h"

struct sfu_admin_client;
struct sfu_master;
struct sfu_relay;
struct sfu_slot;

/*
 * The answer to an internal request: response is the decoded map, or NULL
 * when the worker died or the request could not be sent.
 */
typedef void (*sfu_relay_cb)(void *ctx, struct sfu_slot *s,
    const msgpack_object *response);
/* Packs the data value (one map) of an internal request. */
typedef void (*sfu_relay_pack_cb)(void *ctx, msgpack_packer *pk);

struct sfu_relay *sfu_relay_new(struct sfu_master *m);
/* NULL-safe; calls no callback. */
void	sfu_relay_free(struct sfu_relay *r);

/*
 * A client's request for a worker: routes, rewrites and sends it, or
 * answers the client with the error at once. root is the decoded
 * request req was parsed from.
 */
void	sfu_relay_forward(struct sfu_relay *r, struct sfu_admin_client *c,
	    const struct sfu_msg_request *req, const msgpack_object *root);
/*
 * The master's own request. Returns 0, or -1 when it could not be sent
 * (cb is not called then).
 */
int	sfu_relay_internal(struct sfu_relay *r, struct sfu_slot *s,
	    const char *method, sfu_relay_pack_cb pack, void *pack_ctx,
	    sfu_relay_cb cb, void *ctx);

/*
 * The master's own create or close of an entity (a method of the relay's
 * create/close table, e.g. worker.createWebRtcServer), whose id is
 * entity_id: like sfu_relay_internal(), and the entity table learns (on
 * an accepted create) or forgets (on an accepted close) entity_id on s,
 * as for a client's request. The entity has no owning client. Returns 0,
 * or -1 with err (a create of an id in use or in flight, or the request
 * could not be sent; cb is not called then).
 */
int	sfu_relay_internal_entity(struct sfu_relay *r, struct sfu_slot *s,
	    const char *method, const char *entity_id, sfu_relay_pack_cb pack,
	    void *pack_ctx, sfu_relay_cb cb, void *ctx, struct sfu_error *err);

/* A message from a worker: a response or a notification. */
void	sfu_relay_on_worker_message(struct sfu_relay *r, struct sfu_slot *s,
	    const msgpack_object *root, const uint8_t *raw, size_t len);
/*
 * The worker is gone: its pending requests fail now (Error naming the
 * death), its entities are forgotten. When pk is not NULL the lost entity
 * ids are packed into it as one array.
 */
void	sfu_relay_on_worker_gone(struct sfu_relay *r, struct sfu_slot *s,
	    const char *why, msgpack_packer *pk);
/*
 * Fails the requests older than timeout_ms (Error to the client, NULL to
 * an internal callback), so nothing waits forever on a lost response.
 */
void	sfu_relay_expire(struct sfu_relay *r, uint64_t timeout_ms);
#define SFU_RELAY_TIMEOUT_MS	30000

/* The client is gone: its pending responses are dropped silently. */
void	sfu_relay_on_client_closed(struct sfu_relay *r,
	    struct sfu_admin_client *c);

size_t	sfu_relay_pending_count(const struct sfu_relay *r);
size_t	sfu_relay_entity_count(const struct sfu_relay *r);
/* The worker that owns entity id, or NULL when the table lacks it. */
struct sfu_slot *sfu_relay_entity_slot(const struct sfu_relay *r,
	    const char *id);
/* Packs the ids of the routers that live on s as an array. */
void	sfu_relay_pack_routers(const struct sfu_relay *r,
	    const struct sfu_slot *s, msgpack_packer *pk);

#endif
