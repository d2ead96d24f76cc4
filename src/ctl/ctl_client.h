/*
 * SPDX-License-Identifier: MIT
 *
 * libsfuctl: a small blocking client for sfud's admin socket, used by
 * sfuctl and usable by any C program or test. It speaks the wire protocol
 * of DESIGN §3 (4-byte big-endian length + one MessagePack map), assigns
 * request ids, matches responses to requests, and keeps notifications that
 * arrive while a call waits in a bounded queue for
 * sfu_ctl_client_next_message(). Every wait has a deadline (poll()); no
 * signal handler, thread or event loop is involved. A client is not
 * thread-safe: use one per thread.
 */
#ifndef SFU_CTL_CTL_CLIENT_H
#define SFU_CTL_CTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/error.h"
#include "common/msg.h"

/* sfu_ctl_client_call() results. */
#define SFU_CTL_CLIENT_ACCEPTED 0  /* {id, accepted: true, data?} */
#define SFU_CTL_CLIENT_REJECTED 1  /* {id, error, reason} */
#define SFU_CTL_CLIENT_FAILED (-1) /* no response: see err */

/*
 * Notifications held for sfu_ctl_client_next_message() while a call waits:
 * past either bound the newest are dropped and counted.
 */
#define SFU_CTL_CLIENT_MAX_QUEUED 4096                    /* messages */
#define SFU_CTL_CLIENT_MAX_QUEUED_LEN (16u * 1024 * 1024) /* bytes */

struct sfu_ctl_client;

/*
 * Connects to the admin socket at socket_path (a blocking connect(); a
 * Unix socket answers at once). Returns a new client, owned by the caller
 * and freed with sfu_ctl_client_free(), or NULL with err (kind
 * SFU_ERR_ERROR) naming the path and the failing call, e.g.
 * "connect(/run/sfud.sock) failed: No such file or directory". The path
 * is copied.
 */
struct sfu_ctl_client *sfu_ctl_client_connect(
    const char *socket_path, struct sfu_error *err);

/*
 * Closes the connection and frees the client with its queued
 * notifications. NULL-safe. Messages returned earlier stay valid: they
 * own their memory.
 */
void sfu_ctl_client_free(struct sfu_ctl_client *c);

/*
 * Sends one request and waits for its response.
 *
 * method is required; handler_id (NULL: none) becomes "handlerId";
 * worker >= 0 becomes "worker" (-1: none); data_msgpack (NULL: none) must
 * hold exactly one MessagePack map of data_len bytes, sent as "data"
 * unchanged. The request gets the next id of this client (1, 2, ...).
 * timeout_ms bounds the whole call (sending included); < 0 waits forever.
 *
 * While waiting, notifications are queued for next_message() and
 * responses with other ids (to earlier calls that timed out) are
 * discarded.
 *
 * response_out is always initialised by this call and must be released
 * with sfu_msg_release() afterwards, whatever the result (releasing an
 * empty one is harmless). It owns its memory; it does not depend on c.
 *
 * Returns:
 * - SFU_CTL_CLIENT_ACCEPTED: response_out holds the response
 *   (sfu_ctl_client_response_data() gives its data, or NULL).
 * - SFU_CTL_CLIENT_REJECTED: response_out holds an error response; err
 *   has its kind (from the wire name; unknown names map to SFU_ERR_ERROR)
 *   and its reason.
 * - SFU_CTL_CLIENT_FAILED: no response; response_out is empty and err
 *   says why: SFU_ERR_TYPE for bad arguments (data not one map, method
 *   too long, request over 4 MiB; nothing was sent), SFU_ERR_ERROR for
 *   I/O failures, a timeout, a closed connection, or a response that is
 *   not valid MessagePack. After a timeout the client stays usable (the
 *   late response will be discarded); after other I/O failures
 *   sfu_ctl_client_is_closed() is true and every later call fails.
 */
int sfu_ctl_client_call(struct sfu_ctl_client *c, const char *method,
    const char *handler_id, int worker, const uint8_t *data_msgpack,
    size_t data_len, int timeout_ms, struct sfu_msg *response_out,
    struct sfu_error *err);

/*
 * The next message in arrival order: queued notifications first, then
 * whatever the socket brings (a notification, or a response no call was
 * waiting for). timeout_ms: 0 does not wait, < 0 waits forever. A
 * signal does not interrupt the wait: use a finite timeout and poll a
 * flag to stop on signals.
 *
 * out is always initialised and must be released with sfu_msg_release().
 * Returns 1 with a message in out; 0 when nothing came in time (a frame
 * partly received stays buffered for the next call); -1 with err when the
 * connection is gone or the message is not valid MessagePack (kind
 * SFU_ERR_TYPE; the connection stays usable). When sfud closed the
 * connection between two messages, sfu_ctl_client_is_eof() is true.
 */
int sfu_ctl_client_next_message(struct sfu_ctl_client *c, int timeout_ms,
    struct sfu_msg *out, struct sfu_error *err);

/* True once the connection is unusable (peer closed, I/O error, framing). */
bool sfu_ctl_client_is_closed(const struct sfu_ctl_client *c);
/* True when sfud closed the connection cleanly, between two messages. */
bool sfu_ctl_client_is_eof(const struct sfu_ctl_client *c);
/* The socket path given to sfu_ctl_client_connect(); borrowed from c. */
const char *sfu_ctl_client_socket_path(const struct sfu_ctl_client *c);
/* Notifications dropped because the queue was full. */
uint64_t sfu_ctl_client_dropped(const struct sfu_ctl_client *c);

/*
 * Reading messages (m: a decoded message from this library, borrowed).
 * response_data: the "data" of a response or notification, NULL when
 * absent or nil; it points into m. is_notification: true for
 * {targetId, event, ...}. response_error: for an error response, fills
 * err with its kind and reason and returns true; false (err untouched)
 * for anything else.
 */
const msgpack_object *sfu_ctl_client_response_data(const struct sfu_msg *m);
bool sfu_ctl_client_is_notification(const struct sfu_msg *m);
bool sfu_ctl_client_response_error(
    const struct sfu_msg *m, struct sfu_error *err);

#endif
