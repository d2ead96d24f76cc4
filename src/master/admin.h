/*
 * SPDX-License-Identifier: MIT
 *
 * The admin Unix socket: listener and client connections. Each client
 * sends framed MessagePack requests and receives responses and
 * notifications. Output per client is bounded: a client that stops
 * reading is dropped (logged), never blocking the loop. Malformed input is
 * answered with TypeError when an id can be read, counted, and the
 * connection is closed only when framing is lost.
 */
#ifndef SFU_MASTER_ADMIN_H
#define SFU_MASTER_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>
#include <msgpack.h>

#include "common/error.h"
#include "common/msg.h"

struct sfu_admin;
struct sfu_admin_client;

struct sfu_admin_listener {
	/*
	 * A well-formed request from client. req->data and root point into
	 * the decoded message and raw/len are its bytes: all valid during
	 * the call only. The callee answers now or later through
	 * sfu_admin_client_send*(), or not at all if the client is gone.
	 * It must not call sfu_admin_free() (defer that to the loop).
	 */
	void	(*on_request)(void *ctx, struct sfu_admin_client *c,
		    const struct sfu_msg_request *req,
		    const msgpack_object *root, const uint8_t *raw,
		    size_t len);
	/*
	 * The client is gone (EOF, error, dropped for being slow, framing
	 * lost). Called once, from the loop (never inside an
	 * sfu_admin_client_send*() call), just before the client is freed:
	 * forget every pointer to it. May call sfu_admin_free().
	 */
	void	(*on_client_closed)(void *ctx, struct sfu_admin_client *c);
};

struct sfu_admin_options {
	const char	*path;		/* socket path */
	mode_t		 mode;		/* e.g. 0600 */
	unsigned	 max_clients;	/* more are accepted and closed at once */
	size_t		 max_output;	/* per-client pending output, bytes */
};

/*
 * Binds and listens. A stale socket file (nobody accepting on it) is
 * replaced; a live one (another sfud) is an error. Returns NULL with err
 * naming the path and the failing call.
 */
struct sfu_admin *sfu_admin_new(struct event_base *base,
	    const struct sfu_admin_options *opts,
	    const struct sfu_admin_listener *listener, void *ctx,
	    struct sfu_error *err);
/*
 * Closes every client without calling on_client_closed (the owner forgets
 * its clients itself), then the listener, and unlinks the path if it is
 * still the socket we bound. NULL-safe.
 */
void	sfu_admin_free(struct sfu_admin *a);
/* Stops accepting (e.g. during shutdown); connected clients stay. */
void	sfu_admin_stop_accepting(struct sfu_admin *a);

/*
 * Sends one encoded message (a map) to c; msg is copied. Returns 0, or -1
 * when c is closing or msg is over the frame limit (logged, c kept); when
 * the bound would be passed the client is dropped (closed from the loop,
 * on_client_closed follows) and -1 returned.
 */
int	sfu_admin_client_send(struct sfu_admin_client *c, const uint8_t *msg,
	    size_t len);
/* Builds and sends {id, error, reason}. */
void	sfu_admin_client_send_error(struct sfu_admin_client *c, uint32_t id,
	    enum sfu_error_kind kind, const char *reason);

/*
 * Calls cb(arg, c) for each connected client not closing, in connection
 * order (e.g. to publish an event). cb may send to c (a client dropped
 * meanwhile is freed later, from the loop, so the walk stays valid) but
 * must not free the admin.
 */
typedef void (*sfu_admin_client_cb)(void *arg, struct sfu_admin_client *c);
void	sfu_admin_foreach_client(struct sfu_admin *a, sfu_admin_client_cb cb,
	    void *arg);

/* Per-client data for the owner (e.g. its subscriptions). */
void	sfu_admin_client_set_data(struct sfu_admin_client *c, void *data);
void	*sfu_admin_client_get_data(const struct sfu_admin_client *c);
/* A number unique for the life of the admin, for logs and dumps. */
uint64_t sfu_admin_client_id(const struct sfu_admin_client *c);
pid_t	sfu_admin_client_pid(const struct sfu_admin_client *c);
uid_t	sfu_admin_client_uid(const struct sfu_admin_client *c);

/* Counters for master.status. */
unsigned sfu_admin_client_count(const struct sfu_admin *a);
uint64_t sfu_admin_invalid_count(const struct sfu_admin *a);
uint64_t sfu_admin_dropped_clients(const struct sfu_admin *a);
/* Connections closed at once because max_clients were connected. */
uint64_t sfu_admin_rejected_clients(const struct sfu_admin *a);

#endif
