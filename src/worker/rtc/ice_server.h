/*
 * SPDX-License-Identifier: MIT
 *
 * The ICE-lite agent of one WebRtcTransport (RFC 8445 §2.5, mediasoup's
 * IceServer): local credentials, answering connectivity checks (STUN
 * Binding requests) with the checks and error responses RFC 5389/8445
 * ask for, the set of valid tuples, nomination (USE-CANDIDATE) selecting
 * the tuple media goes to, and consent freshness: a tuple without a valid
 * check for consent_timeout_s is dropped, and with none left the state is
 * "disconnected". It never sends requests: lite agents only answer.
 *
 * A tuple is where a check came from: a UDP socket and a remote address,
 * or a TCP connection. The owner passes tuples by value; the server keeps
 * copies and hands out pointers to them, valid until the tuple is removed
 * (on_tuple_removed) or the server is freed.
 */
#ifndef SFU_WORKER_ICE_SERVER_H
#define SFU_WORKER_ICE_SERVER_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct sfu_ice_server;
struct sfu_tcp_conn_handle;
struct sfu_udp_handle;

enum sfu_ice_state {
	SFU_ICE_NEW = 0,
	SFU_ICE_CONNECTED,
	SFU_ICE_COMPLETED,
	SFU_ICE_DISCONNECTED,
	SFU_ICE_CLOSED,
};

enum sfu_ice_proto {
	SFU_ICE_UDP = 0,
	SFU_ICE_TCP,
};

struct sfu_ice_tuple {
	enum sfu_ice_proto proto;
	struct sfu_udp_handle *udp;      /* UDP: the socket; borrowed */
	struct sfu_tcp_conn_handle *tcp; /* TCP: the connection; borrowed */
	struct sockaddr_storage remote;
	socklen_t remote_len;
	/* Kept by the server. */
	uint64_t last_check_ms; /* last valid Binding request */
	bool nominated;
};

/* Most tuples kept; a new one replaces the least recently checked. */
#define SFU_ICE_MAX_TUPLES 8
/* ufrag and password lengths (RFC 8445 asks for >= 4 and >= 22). */
#define SFU_ICE_UFRAG_LEN 16
#define SFU_ICE_PWD_LEN 32

struct sfu_ice_server_listener {
	/* Sends a STUN response on tuple. */
	void (*send)(void *ctx, const struct sfu_ice_tuple *tuple,
	    const uint8_t *data, size_t len);
	void (*on_state)(void *ctx, enum sfu_ice_state state);
	/* The tuple media goes to changed (never NULL here). */
	void (*on_selected_tuple)(void *ctx, const struct sfu_ice_tuple *tuple);
	/* A tuple became valid / is about to go away (pointer still valid). */
	void (*on_tuple_added)(void *ctx, const struct sfu_ice_tuple *tuple);
	void (*on_tuple_removed)(void *ctx, const struct sfu_ice_tuple *tuple);
	/* After restartIce, the old ufrag is no longer accepted. */
	void (*on_ufrag_retired)(void *ctx, const char *ufrag);
};

/*
 * consent_timeout_s 0 disables consent checking. listener and ctx are
 * borrowed and must outlive the server. Never NULL.
 */
struct sfu_ice_server *sfu_ice_server_new(struct event_base *base,
    uint32_t consent_timeout_s, const struct sfu_ice_server_listener *listener,
    void *ctx);
/* NULL-safe; calls no callback. */
void sfu_ice_server_free(struct sfu_ice_server *s);

/*
 * One STUN message received on tuple (whose last_check_ms/nominated are
 * ignored). Requests are answered through listener->send; a valid one
 * adds or refreshes the tuple and may change the state and the selected
 * tuple. Callbacks may not free the server.
 */
void sfu_ice_server_process_stun(struct sfu_ice_server *s,
    const uint8_t *data, size_t len, const struct sfu_ice_tuple *tuple);

/* The stored copy of a valid tuple equal to t, or NULL. */
const struct sfu_ice_tuple *sfu_ice_server_find_tuple(
    const struct sfu_ice_server *s, const struct sfu_ice_tuple *t);
/* The selected tuple, or NULL. */
const struct sfu_ice_tuple *sfu_ice_server_selected_tuple(
    const struct sfu_ice_server *s);
/* Drops every tuple on this TCP connection (it closed). */
void sfu_ice_server_remove_tcp(struct sfu_ice_server *s,
    const struct sfu_tcp_conn_handle *conn);

/*
 * New credentials (transport.restartIce). The previous ufrag/password
 * stay valid until a check with the new ones arrives.
 */
void sfu_ice_server_restart(struct sfu_ice_server *s);
const char *sfu_ice_server_ufrag(const struct sfu_ice_server *s);
const char *sfu_ice_server_password(const struct sfu_ice_server *s);
/* The retired-on-next-check ufrag after a restart, or NULL. */
const char *sfu_ice_server_old_ufrag(const struct sfu_ice_server *s);
enum sfu_ice_state sfu_ice_server_state(const struct sfu_ice_server *s);
/*
 * Drops the tuples whose last valid check is consent_timeout_s old (the
 * server's timer calls this every second while it has tuples).
 */
void sfu_ice_server_check_consent(struct sfu_ice_server *s);
/* Tests: the clock checks are stamped with (default sfu_clock_mono_ms). */
void sfu_ice_server_set_clock(struct sfu_ice_server *s,
    uint64_t (*now_ms)(void *ctx), void *ctx);
/* Moves to CLOSED (no callback). */
void sfu_ice_server_close(struct sfu_ice_server *s);

/* mediasoup's names: "new", "connected", "completed", ... */
const char *sfu_ice_state_name(enum sfu_ice_state state);
/* A tuple for a datagram from `from` on h / a frame on conn. */
void sfu_ice_tuple_udp(struct sfu_ice_tuple *t, struct sfu_udp_handle *h,
    const struct sockaddr *from, socklen_t fromlen);
void sfu_ice_tuple_tcp(struct sfu_ice_tuple *t,
    struct sfu_tcp_conn_handle *conn);
/* Same protocol and socket/connection, and (UDP) the same remote. */
bool sfu_ice_tuple_equal(const struct sfu_ice_tuple *a,
    const struct sfu_ice_tuple *b);

struct sfu_ice_server_stats {
	uint64_t requests;      /* Binding requests answered with success */
	uint64_t bad_requests;  /* answered 400 */
	uint64_t unauthorized;  /* answered 401 */
	uint64_t role_conflicts; /* answered 487 */
	uint64_t unknown_attrs; /* answered 420 */
	uint64_t ignored;       /* malformed, or not a request */
	uint64_t consent_expired; /* tuples dropped for lack of consent */
};
void sfu_ice_server_get_stats(const struct sfu_ice_server *s,
    struct sfu_ice_server_stats *stats);

#endif
