/*
 * SPDX-License-Identifier: MIT
 *
 * ICE-lite: answer checks, keep valid tuples, follow nomination, expire
 * consent. See ice_server.h.
 */
#include "config.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#define SFU_LOG_MODULE "ice_server"
#include "common/clock.h"
#include "common/handle/sock_util.h"
#include "common/handle/tcp_conn_handle.h"
#include "common/handle/timer_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "worker/rtc/ice_server.h"
#include "worker/rtc/stun.h"

/* How often consent is checked while tuples exist, ms. */
#define ICE_CONSENT_CHECK_MS 1000

struct sfu_ice_server {
	const struct sfu_ice_server_listener *listener; /* borrowed */
	void *ctx;                                      /* borrowed */
	struct sfu_timer_handle *consent_timer;         /* owned */
	uint32_t consent_timeout_s;
	enum sfu_ice_state state;
	char ufrag[SFU_ICE_UFRAG_LEN + 1];
	char password[SFU_ICE_PWD_LEN + 1];
	char old_ufrag[SFU_ICE_UFRAG_LEN + 1]; /* "" when none */
	char old_password[SFU_ICE_PWD_LEN + 1];
	struct sfu_ice_tuple tuples[SFU_ICE_MAX_TUPLES];
	unsigned n_tuples;
	int selected; /* index into tuples, -1 when none */
	struct sfu_ice_server_stats stats;
	uint64_t (*now_ms)(void *ctx); /* NULL: sfu_clock_mono_ms() */
	void *clock_ctx;
};

static uint64_t
ice_server_now_ms(const struct sfu_ice_server *s)
{
	return s->now_ms != NULL ? s->now_ms(s->clock_ctx) :
	    sfu_clock_mono_ms();
}

static void ice_server_on_consent_timer(void *, struct sfu_timer_handle *);

const char *
sfu_ice_state_name(enum sfu_ice_state state)
{
	switch (state) {
	case SFU_ICE_NEW:
		return "new";
	case SFU_ICE_CONNECTED:
		return "connected";
	case SFU_ICE_COMPLETED:
		return "completed";
	case SFU_ICE_DISCONNECTED:
		return "disconnected";
	case SFU_ICE_CLOSED:
		return "closed";
	}
	return "";
}

void
sfu_ice_tuple_udp(struct sfu_ice_tuple *t, struct sfu_udp_handle *h,
    const struct sockaddr *from, socklen_t fromlen)
{
	memset(t, 0, sizeof(*t));
	t->proto = SFU_ICE_UDP;
	t->udp = h;
	if (fromlen > sizeof(t->remote)) {
		fromlen = sizeof(t->remote);
	}
	memcpy(&t->remote, from, fromlen);
	t->remote_len = fromlen;
}

void
sfu_ice_tuple_tcp(struct sfu_ice_tuple *t, struct sfu_tcp_conn_handle *conn)
{
	const struct sockaddr *peer = NULL;
	socklen_t len = 0;

	memset(t, 0, sizeof(*t));
	t->proto = SFU_ICE_TCP;
	t->tcp = conn;
	peer = sfu_tcp_conn_handle_peer_addr(conn, &len);
	if (len > sizeof(t->remote)) {
		len = sizeof(t->remote);
	}
	memcpy(&t->remote, peer, len);
	t->remote_len = len;
}

bool
sfu_ice_tuple_equal(const struct sfu_ice_tuple *a,
    const struct sfu_ice_tuple *b)
{
	if (a->proto != b->proto) {
		return false;
	}
	if (a->proto == SFU_ICE_TCP) {
		return a->tcp == b->tcp;
	}
	return a->udp == b->udp &&
	    sfu_sock_util_addr_equal((const struct sockaddr *)&a->remote,
	    (const struct sockaddr *)&b->remote);
}

/* ICE characters, lower case and digits as mediasoup uses. */
static void
ice_server_random_string(char *out, size_t len)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t rnd[64];
	size_t i = 0;

	SFU_ASSERT(len <= sizeof(rnd));
	if (RAND_bytes(rnd, (int)len) != 1) {
		/* Never with a working OpenSSL; still no predictable creds. */
		SFU_ASSERT(!"RAND_bytes failed");
	}
	for (i = 0; i < len; i++) {
		out[i] = chars[rnd[i] % (sizeof(chars) - 1)];
	}
	out[len] = '\0';
}

struct sfu_ice_server *
sfu_ice_server_new(struct event_base *base, uint32_t consent_timeout_s,
    const struct sfu_ice_server_listener *listener, void *ctx)
{
	struct sfu_ice_server *s = NULL;

	s = sfu_xcalloc(1, sizeof(*s));
	s->listener = listener;
	s->ctx = ctx;
	s->consent_timeout_s = consent_timeout_s;
	s->selected = -1;
	s->consent_timer = sfu_timer_handle_new(base,
	    ice_server_on_consent_timer, s);
	ice_server_random_string(s->ufrag, SFU_ICE_UFRAG_LEN);
	ice_server_random_string(s->password, SFU_ICE_PWD_LEN);
	return s;
}

void
sfu_ice_server_free(struct sfu_ice_server *s)
{
	if (s == NULL) {
		return;
	}
	sfu_timer_handle_free(s->consent_timer);
	free(s);
}

static void
ice_server_set_state(struct sfu_ice_server *s, enum sfu_ice_state state)
{
	if (s->state == state) {
		return;
	}
	SFU_LOG_DEBUG_TAG(ICE, "state %s -> %s", sfu_ice_state_name(s->state),
	    sfu_ice_state_name(state));
	s->state = state;
	s->listener->on_state(s->ctx, state);
}

static void
ice_server_select(struct sfu_ice_server *s, int idx)
{
	if (s->selected == idx) {
		return;
	}
	s->selected = idx;
	s->listener->on_selected_tuple(s->ctx, &s->tuples[idx]);
}

/* Removes tuples[idx]; fixes the selection and the state. */
static void
ice_server_remove_at(struct sfu_ice_server *s, unsigned idx)
{
	unsigned i = 0;
	int best = -1;
	bool was_selected = (int)idx == s->selected;

	s->listener->on_tuple_removed(s->ctx, &s->tuples[idx]);
	memmove(&s->tuples[idx], &s->tuples[idx + 1],
	    (s->n_tuples - idx - 1) * sizeof(s->tuples[0]));
	s->n_tuples--;
	if (s->selected > (int)idx) {
		s->selected--;
	}
	if (!was_selected) {
		return;
	}
	s->selected = -1;
	if (s->state == SFU_ICE_CLOSED) {
		/* Closed is final: no new selection, no "disconnected". */
		return;
	}
	if (s->n_tuples == 0) {
		sfu_timer_handle_stop(s->consent_timer);
		ice_server_set_state(s, SFU_ICE_DISCONNECTED);
		return;
	}
	/* The most recently checked remaining tuple takes over. */
	for (i = 0; i < s->n_tuples; i++) {
		if (best == -1 || s->tuples[i].last_check_ms >
		    s->tuples[best].last_check_ms) {
			best = (int)i;
		}
	}
	ice_server_select(s, best);
}

static int
ice_server_find_index(const struct sfu_ice_server *s,
    const struct sfu_ice_tuple *t)
{
	unsigned i = 0;

	for (i = 0; i < s->n_tuples; i++) {
		if (sfu_ice_tuple_equal(&s->tuples[i], t)) {
			return (int)i;
		}
	}
	return -1;
}

/* Adds (or refreshes) tuple; returns its index. */
static int
ice_server_add_tuple(struct sfu_ice_server *s, const struct sfu_ice_tuple *t,
    uint64_t now_ms)
{
	unsigned i = 0;
	unsigned oldest = 0;
	int idx = ice_server_find_index(s, t);

	if (idx >= 0) {
		s->tuples[idx].last_check_ms = now_ms;
		return idx;
	}
	if (s->n_tuples == SFU_ICE_MAX_TUPLES) {
		/* Evict the least recently checked tuple but the selected. */
		oldest = s->selected == 0 ? 1 : 0;
		for (i = 0; i < s->n_tuples; i++) {
			if ((int)i != s->selected && s->tuples[i].last_check_ms <
			    s->tuples[oldest].last_check_ms) {
				oldest = i;
			}
		}
		ice_server_remove_at(s, oldest);
	}
	idx = (int)s->n_tuples++;
	s->tuples[idx] = *t;
	s->tuples[idx].last_check_ms = now_ms;
	s->tuples[idx].nominated = false;
	s->listener->on_tuple_added(s->ctx, &s->tuples[idx]);
	if (s->consent_timeout_s > 0 &&
	    !sfu_timer_handle_is_active(s->consent_timer)) {
		sfu_timer_handle_start(s->consent_timer, ICE_CONSENT_CHECK_MS,
		    ICE_CONSENT_CHECK_MS);
	}
	return idx;
}

/* mediasoup's IceServer::HandleTuple. */
static void
ice_server_handle_tuple(struct sfu_ice_server *s,
    const struct sfu_ice_tuple *t, bool use_candidate)
{
	int idx = ice_server_add_tuple(s, t, ice_server_now_ms(s));

	if (use_candidate) {
		s->tuples[idx].nominated = true;
	}
	switch (s->state) {
	case SFU_ICE_NEW:
	case SFU_ICE_DISCONNECTED:
		ice_server_select(s, idx);
		ice_server_set_state(s, use_candidate ? SFU_ICE_COMPLETED :
		    SFU_ICE_CONNECTED);
		break;
	case SFU_ICE_CONNECTED:
		if (use_candidate) {
			ice_server_select(s, idx);
			ice_server_set_state(s, SFU_ICE_COMPLETED);
		} else if (s->selected == -1) {
			ice_server_select(s, idx);
		}
		break;
	case SFU_ICE_COMPLETED:
		if (use_candidate || s->selected == -1) {
			ice_server_select(s, idx);
		}
		break;
	case SFU_ICE_CLOSED:
		break;
	}
}

/*
 * An error response; password is the one that authenticated the request
 * (RFC 5389 §10.1.2: then the response carries MESSAGE-INTEGRITY), NULL
 * for the 400 and 401 sent before or instead of authentication.
 */
static void
ice_server_reply_error(struct sfu_ice_server *s,
    const struct sfu_stun_message *req, const struct sfu_ice_tuple *t,
    uint16_t code, const char *reason, const char *password)
{
	struct sfu_stun_builder b;
	uint8_t buf[SFU_STUN_MAX_LEN];
	size_t len = 0;

	sfu_stun_builder_init(&b, buf, sizeof(buf), SFU_STUN_ERROR_RESPONSE,
	    req->method, req->transaction_id);
	sfu_stun_builder_add_error(&b, code, reason);
	if (code == 420) {
		sfu_stun_builder_add_unknown(&b, req->unknown, req->n_unknown);
	}
	len = sfu_stun_builder_finish(&b, (const uint8_t *)password,
	    password != NULL ? strlen(password) : 0);
	if (len > 0) {
		s->listener->send(s->ctx, t, buf, len);
	}
	SFU_LOG_DEBUG_TAG(ICE, "Binding request answered %u %s", code,
	    reason);
}

static void
ice_server_reply_success(struct sfu_ice_server *s,
    const struct sfu_stun_message *req, const struct sfu_ice_tuple *t,
    const char *password)
{
	struct sfu_stun_builder b;
	uint8_t buf[SFU_STUN_MAX_LEN];
	size_t len = 0;

	sfu_stun_builder_init(&b, buf, sizeof(buf), SFU_STUN_SUCCESS_RESPONSE,
	    SFU_STUN_METHOD_BINDING, req->transaction_id);
	sfu_stun_builder_add_xor_address(&b,
	    (const struct sockaddr *)&t->remote);
	len = sfu_stun_builder_finish(&b, (const uint8_t *)password,
	    strlen(password));
	if (len > 0) {
		s->listener->send(s->ctx, t, buf, len);
	}
}

void
sfu_ice_server_process_stun(struct sfu_ice_server *s, const uint8_t *data,
    size_t len, const struct sfu_ice_tuple *tuple)
{
	struct sfu_stun_message msg;
	struct sfu_error err = { 0 };
	const char *password = NULL;
	bool old_creds = false;

	if (s->state == SFU_ICE_CLOSED) {
		return;
	}
	if (sfu_stun_parse(data, len, &msg, &err) == -1) {
		s->stats.ignored++;
		SFU_LOG_DEBUG_TAG(ICE, "ignoring STUN: %s", err.reason);
		return;
	}
	if (msg.has_fingerprint && !msg.fingerprint_ok) {
		/* Not STUN (RFC 5389 §7.3): silently discarded. */
		s->stats.ignored++;
		return;
	}
	if (msg.cls != SFU_STUN_REQUEST) {
		/* Lite agents send no requests: nothing to match. */
		s->stats.ignored++;
		return;
	}
	if (msg.method != SFU_STUN_METHOD_BINDING) {
		s->stats.bad_requests++;
		ice_server_reply_error(s, &msg, tuple, 400, "Bad Request",
		    NULL);
		return;
	}
	if (!msg.has_fingerprint || msg.username == NULL ||
	    msg.message_integrity_offset == 0 || !msg.has_priority) {
		/* RFC 8445 §7.3, RFC 5389 §10.1.2: 400 without these. */
		s->stats.bad_requests++;
		ice_server_reply_error(s, &msg, tuple, 400, "Bad Request",
		    NULL);
		return;
	}
	if (sfu_stun_username_matches(&msg, s->ufrag)) {
		password = s->password;
	} else if (s->old_ufrag[0] != '\0' &&
	    sfu_stun_username_matches(&msg, s->old_ufrag)) {
		password = s->old_password;
		old_creds = true;
	}
	if (password == NULL || !sfu_stun_check_integrity(data, len, &msg,
	    (const uint8_t *)password, strlen(password))) {
		s->stats.unauthorized++;
		ice_server_reply_error(s, &msg, tuple, 401, "Unauthorized",
		    NULL);
		return;
	}
	if (msg.n_unknown > 0) {
		/* Checked once authenticated (RFC 5389 §7.3). */
		s->stats.unknown_attrs++;
		ice_server_reply_error(s, &msg, tuple, 420,
		    "Unknown Attribute", password);
		return;
	}
	if (msg.has_ice_controlled) {
		/* We are controlled (lite): so is the peer. RFC 8445 §7.3.1.1. */
		s->stats.role_conflicts++;
		ice_server_reply_error(s, &msg, tuple, 487, "Role Conflict",
		    password);
		return;
	}
	s->stats.requests++;
	ice_server_reply_success(s, &msg, tuple, password);
	if (!old_creds && s->old_ufrag[0] != '\0') {
		/* The peer uses the new credentials: retire the old ones. */
		char retired[SFU_ICE_UFRAG_LEN + 1];

		memcpy(retired, s->old_ufrag, sizeof(retired));
		s->old_ufrag[0] = '\0';
		s->old_password[0] = '\0';
		s->listener->on_ufrag_retired(s->ctx, retired);
	}
	ice_server_handle_tuple(s, tuple, msg.use_candidate);
}

static void
ice_server_on_consent_timer(void *ctx, struct sfu_timer_handle *timer)
{
	(void)timer;
	sfu_ice_server_check_consent(ctx);
}

void
sfu_ice_server_check_consent(struct sfu_ice_server *s)
{
	uint64_t now_ms = ice_server_now_ms(s);
	uint64_t limit_ms = (uint64_t)s->consent_timeout_s * 1000;
	unsigned i = 0;

	if (s->consent_timeout_s == 0) {
		return;
	}
	while (i < s->n_tuples) {
		if (now_ms - s->tuples[i].last_check_ms >= limit_ms) {
			s->stats.consent_expired++;
			SFU_LOG_DEBUG_TAG(ICE, "consent expired for a tuple");
			ice_server_remove_at(s, i);
			continue;
		}
		i++;
	}
}

void
sfu_ice_server_set_clock(struct sfu_ice_server *s,
    uint64_t (*now_ms)(void *ctx), void *ctx)
{
	s->now_ms = now_ms;
	s->clock_ctx = ctx;
}

const struct sfu_ice_tuple *
sfu_ice_server_find_tuple(const struct sfu_ice_server *s,
    const struct sfu_ice_tuple *t)
{
	int idx = ice_server_find_index(s, t);

	return idx >= 0 ? &s->tuples[idx] : NULL;
}

const struct sfu_ice_tuple *
sfu_ice_server_selected_tuple(const struct sfu_ice_server *s)
{
	return s->selected >= 0 ? &s->tuples[s->selected] : NULL;
}

void
sfu_ice_server_remove_tcp(struct sfu_ice_server *s,
    const struct sfu_tcp_conn_handle *conn)
{
	unsigned i = 0;

	while (i < s->n_tuples) {
		if (s->tuples[i].proto == SFU_ICE_TCP &&
		    s->tuples[i].tcp == conn) {
			ice_server_remove_at(s, i);
			continue;
		}
		i++;
	}
}

void
sfu_ice_server_restart(struct sfu_ice_server *s)
{
	char retired[SFU_ICE_UFRAG_LEN + 1];

	if (s->old_ufrag[0] != '\0') {
		/* Restarted twice before the peer caught up. */
		memcpy(retired, s->old_ufrag, sizeof(retired));
		s->old_ufrag[0] = '\0';
		s->listener->on_ufrag_retired(s->ctx, retired);
	}
	memcpy(s->old_ufrag, s->ufrag, sizeof(s->old_ufrag));
	memcpy(s->old_password, s->password, sizeof(s->old_password));
	ice_server_random_string(s->ufrag, SFU_ICE_UFRAG_LEN);
	ice_server_random_string(s->password, SFU_ICE_PWD_LEN);
}

const char *
sfu_ice_server_ufrag(const struct sfu_ice_server *s)
{
	return s->ufrag;
}

const char *
sfu_ice_server_password(const struct sfu_ice_server *s)
{
	return s->password;
}

const char *
sfu_ice_server_old_ufrag(const struct sfu_ice_server *s)
{
	return s->old_ufrag[0] != '\0' ? s->old_ufrag : NULL;
}

enum sfu_ice_state
sfu_ice_server_state(const struct sfu_ice_server *s)
{
	return s->state;
}

void
sfu_ice_server_close(struct sfu_ice_server *s)
{
	s->state = SFU_ICE_CLOSED;
	sfu_timer_handle_stop(s->consent_timer);
}

void
sfu_ice_server_get_stats(const struct sfu_ice_server *s,
    struct sfu_ice_server_stats *stats)
{
	*stats = s->stats;
}
