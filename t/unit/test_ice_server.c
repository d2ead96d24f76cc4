/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for worker/rtc/ice_server, the ICE-lite agent: Binding
 * success responses (XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT,
 * transaction id) over IPv4, IPv6 and TCP; the 400/401/420/487 answers and
 * the messages dropped without one, none of which change anything; the
 * state machine (new, connected, completed, disconnected, closed) and
 * nomination; eviction beyond SFU_ICE_MAX_TUPLES; consent expiry on a real
 * event_base; TCP tuple removal; ICE restart and ufrag retirement; tuple
 * equality and state names. A recording listener checks every callback
 * against the server's own view and parses every response it sends.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>

#include "common/clock.h"
#include "common/error.h"
#include "worker/rtc/ice_server.h"
#include "worker/rtc/stun.h"

#define REC_MAX 64
#define TEST_BUF_LEN 2048

/* --- fake handles (never dereferenced) and tuples --- */

static int fake_handles[4];

#define UDP_A ((struct sfu_udp_handle *)&fake_handles[0])
#define UDP_B ((struct sfu_udp_handle *)&fake_handles[1])
#define TCP_A ((struct sfu_tcp_conn_handle *)&fake_handles[2])
#define TCP_B ((struct sfu_tcp_conn_handle *)&fake_handles[3])

static struct sfu_ice_tuple
udp4(struct sfu_udp_handle *udp, const char *ip, uint16_t port)
{
	struct sfu_ice_tuple t;
	struct sockaddr_in *sin = (struct sockaddr_in *)&t.remote;

	memset(&t, 0, sizeof(t));
	t.proto = SFU_ICE_UDP;
	t.udp = udp;
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	t.remote_len = sizeof(*sin);
	return t;
}

static struct sfu_ice_tuple
udp6(struct sfu_udp_handle *udp, const char *ip, uint16_t port)
{
	struct sfu_ice_tuple t;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&t.remote;

	memset(&t, 0, sizeof(t));
	t.proto = SFU_ICE_UDP;
	t.udp = udp;
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	t.remote_len = sizeof(*sin6);
	return t;
}

static struct sfu_ice_tuple
tcp4(struct sfu_tcp_conn_handle *conn, const char *ip, uint16_t port)
{
	struct sfu_ice_tuple t = udp4(NULL, ip, port);

	t.proto = SFU_ICE_TCP;
	t.tcp = conn;
	return t;
}

/* --- the recording listener --- */

struct rec_sent {
	struct sfu_ice_tuple tuple;
	uint8_t data[SFU_STUN_MAX_LEN];
	size_t len;
};

struct rec {
	struct sfu_ice_server *s;
	struct rec_sent sent[REC_MAX];
	unsigned n_sent;
	enum sfu_ice_state states[REC_MAX];
	unsigned n_states;
	struct sfu_ice_tuple selected[REC_MAX];
	unsigned n_selected;
	struct sfu_ice_tuple added[REC_MAX];
	unsigned n_added;
	struct sfu_ice_tuple removed[REC_MAX];
	unsigned n_removed;
	char retired[REC_MAX][SFU_ICE_UFRAG_LEN + 1];
	unsigned n_retired;
};

static void
rec_send(void *ctx, const struct sfu_ice_tuple *tuple, const uint8_t *data,
    size_t len)
{
	struct rec *r = ctx;

	assert_true(r->n_sent < REC_MAX);
	assert_true(len <= SFU_STUN_MAX_LEN);
	r->sent[r->n_sent].tuple = *tuple;
	memcpy(r->sent[r->n_sent].data, data, len);
	r->sent[r->n_sent].len = len;
	r->n_sent++;
}

static void
rec_on_state(void *ctx, enum sfu_ice_state state)
{
	struct rec *r = ctx;

	assert_true(r->n_states < REC_MAX);
	assert_int_equal(sfu_ice_server_state(r->s), state);
	r->states[r->n_states++] = state;
}

static void
rec_on_selected_tuple(void *ctx, const struct sfu_ice_tuple *tuple)
{
	struct rec *r = ctx;

	assert_non_null(tuple);
	assert_true(r->n_selected < REC_MAX);
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s), tuple);
	assert_ptr_equal(sfu_ice_server_find_tuple(r->s, tuple), tuple);
	r->selected[r->n_selected++] = *tuple;
}

static void
rec_on_tuple_added(void *ctx, const struct sfu_ice_tuple *tuple)
{
	struct rec *r = ctx;

	assert_true(r->n_added < REC_MAX);
	assert_ptr_equal(sfu_ice_server_find_tuple(r->s, tuple), tuple);
	r->added[r->n_added++] = *tuple;
}

static void
rec_on_tuple_removed(void *ctx, const struct sfu_ice_tuple *tuple)
{
	struct rec *r = ctx;

	assert_true(r->n_removed < REC_MAX);
	/* Still stored when announced. */
	assert_ptr_equal(sfu_ice_server_find_tuple(r->s, tuple), tuple);
	r->removed[r->n_removed++] = *tuple;
}

static void
rec_on_ufrag_retired(void *ctx, const char *ufrag)
{
	struct rec *r = ctx;

	assert_true(r->n_retired < REC_MAX);
	assert_int_equal(strlen(ufrag), SFU_ICE_UFRAG_LEN);
	memcpy(r->retired[r->n_retired++], ufrag, SFU_ICE_UFRAG_LEN + 1);
}

static const struct sfu_ice_server_listener rec_listener = {
    .send = rec_send,
    .on_state = rec_on_state,
    .on_selected_tuple = rec_on_selected_tuple,
    .on_tuple_added = rec_on_tuple_added,
    .on_tuple_removed = rec_on_tuple_removed,
    .on_ufrag_retired = rec_on_ufrag_retired,
};

static struct rec *
rec_new(struct event_base *base, uint32_t consent_timeout_s)
{
	struct rec *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->s = sfu_ice_server_new(base, consent_timeout_s, &rec_listener, r);
	assert_non_null(r->s);
	return r;
}

static void
rec_free(struct rec *r)
{
	if (r != NULL) {
		sfu_ice_server_free(r->s);
		free(r);
	}
}

/* Everything a listener saw, to show that nothing happened. */
struct rec_counts {
	unsigned n_sent, n_states, n_selected, n_added, n_removed, n_retired;
	enum sfu_ice_state state;
	const struct sfu_ice_tuple *selected;
};

static struct rec_counts
rec_counts(const struct rec *r)
{
	struct rec_counts c;

	memset(&c, 0, sizeof(c));
	c.n_sent = r->n_sent;
	c.n_states = r->n_states;
	c.n_selected = r->n_selected;
	c.n_added = r->n_added;
	c.n_removed = r->n_removed;
	c.n_retired = r->n_retired;
	c.state = sfu_ice_server_state(r->s);
	c.selected = sfu_ice_server_selected_tuple(r->s);
	return c;
}

/* Nothing but sends (up to n_sent_more of them) happened since c. */
static void
assert_no_change(
    const struct rec *r, const struct rec_counts *c, unsigned n_sent_more)
{
	assert_int_equal(r->n_sent, c->n_sent + n_sent_more);
	assert_int_equal(r->n_states, c->n_states);
	assert_int_equal(r->n_selected, c->n_selected);
	assert_int_equal(r->n_added, c->n_added);
	assert_int_equal(r->n_removed, c->n_removed);
	assert_int_equal(r->n_retired, c->n_retired);
	assert_int_equal(sfu_ice_server_state(r->s), c->state);
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s), c->selected);
}

struct fixture {
	struct event_base *base;
	struct rec *r; /* consent 0 */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL) {
		return -1;
	}
	f->base = event_base_new();
	if (f->base == NULL) {
		free(f);
		return -1;
	}
	f->r = rec_new(f->base, 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	rec_free(f->r);
	event_base_free(f->base);
	free(f);
	return 0;
}

/* --- requests --- */

enum user_mode {
	USER_LOCAL = 0, /* "<server ufrag>:peer" */
	USER_NONE,
	USER_OTHER,   /* another ufrag */
	USER_NOCOLON, /* the server's ufrag alone */
};

enum key_mode {
	KEY_LOCAL = 0, /* the password that goes with the ufrag */
	KEY_NONE,
	KEY_WRONG,
};

enum fp_mode {
	FP_OK = 0,
	FP_NONE,
	FP_BAD,
};

/* A request to build; all zero is a valid non-nominating Binding check. */
struct req {
	enum sfu_stun_class cls;
	uint16_t method; /* 0: Binding */
	enum user_mode user;
	enum key_mode key;
	enum fp_mode fp;
	bool no_priority;
	bool use_candidate;
	bool controlled;     /* ICE-CONTROLLED instead of ICE-CONTROLLING */
	uint16_t unknown[2]; /* extra attributes to add, 0: none */
	uint8_t tid[SFU_STUN_TRANSACTION_ID_LEN]; /* filled by build_req */
};

static void
new_tid(uint8_t *tid)
{
	static uint32_t counter;
	unsigned i = 0;

	counter++;
	for (i = 0; i < SFU_STUN_TRANSACTION_ID_LEN; i++) {
		tid[i] = (uint8_t)(0xa0 + i);
	}
	memcpy(tid, &counter, sizeof(counter));
}

/* Builds q addressed with ufrag/pwd; returns its length. */
static size_t
build_req(
    struct req *q, const char *ufrag, const char *pwd, uint8_t *buf, size_t cap)
{
	struct sfu_stun_builder b;
	char user[128];
	const char *key = NULL;
	size_t len = 0;
	unsigned i = 0;
	static const uint8_t junk[4] = {1, 2, 3, 4};

	new_tid(q->tid);
	sfu_stun_builder_init(&b, buf, cap, q->cls,
	    q->method != 0 ? q->method : SFU_STUN_METHOD_BINDING, q->tid);
	switch (q->user) {
	case USER_LOCAL:
		snprintf(user, sizeof(user), "%s:peerufrag", ufrag);
		break;
	case USER_OTHER:
		snprintf(user, sizeof(user), "notmyufrag00:peerufrag");
		break;
	case USER_NOCOLON:
		snprintf(user, sizeof(user), "%s", ufrag);
		break;
	case USER_NONE:
		user[0] = '\0';
		break;
	}
	if (q->user != USER_NONE) {
		sfu_stun_builder_add(
		    &b, SFU_STUN_ATTR_USERNAME, user, strlen(user));
	}
	if (!q->no_priority) {
		sfu_stun_builder_add_u32(
		    &b, SFU_STUN_ATTR_PRIORITY, 0x6e0001ff);
	}
	sfu_stun_builder_add_u64(&b,
	    q->controlled ? SFU_STUN_ATTR_ICE_CONTROLLED
	                  : SFU_STUN_ATTR_ICE_CONTROLLING,
	    0x0123456789abcdefULL);
	if (q->use_candidate) {
		sfu_stun_builder_add(&b, SFU_STUN_ATTR_USE_CANDIDATE, NULL, 0);
	}
	for (i = 0; i < 2; i++) {
		if (q->unknown[i] != 0) {
			sfu_stun_builder_add(
			    &b, q->unknown[i], junk, sizeof(junk));
		}
	}
	switch (q->key) {
	case KEY_LOCAL:
		key = pwd;
		break;
	case KEY_WRONG:
		key = "thisisnotthepasswordatall0000000";
		break;
	case KEY_NONE:
		key = NULL;
		break;
	}
	len = sfu_stun_builder_finish(
	    &b, (const uint8_t *)key, key != NULL ? strlen(key) : 0);
	assert_true(len > 0);
	if (q->fp == FP_NONE) {
		/* Drop FINGERPRINT; MESSAGE-INTEGRITY stays valid (§15.4). */
		len -= 8;
		buf[2] = (uint8_t)((len - SFU_STUN_HEADER_LEN) >> 8);
		buf[3] = (uint8_t)(len - SFU_STUN_HEADER_LEN);
	} else if (q->fp == FP_BAD) {
		buf[len - 1] ^= 0x01;
	}
	return len;
}

/* Builds q with the server's current credentials and processes it. */
static void
process_req(struct rec *r, struct req *q, const struct sfu_ice_tuple *t)
{
	uint8_t buf[TEST_BUF_LEN];
	size_t len = build_req(q, sfu_ice_server_ufrag(r->s),
	    sfu_ice_server_password(r->s), buf, sizeof(buf));

	sfu_ice_server_process_stun(r->s, buf, len, t);
}

/* --- responses --- */

/* The value of the first attribute of type in a whole message, or NULL. */
static const uint8_t *
find_attr(const uint8_t *data, size_t len, uint16_t type, size_t *vlen)
{
	size_t off = SFU_STUN_HEADER_LEN;

	while (off + 4 <= len) {
		uint16_t t = (uint16_t)(data[off] << 8 | data[off + 1]);
		size_t l = (size_t)(data[off + 2] << 8 | data[off + 3]);

		if (t == type) {
			*vlen = l;
			return data + off + 4;
		}
		off += 4 + ((l + 3) & ~(size_t)3);
	}
	return NULL;
}

static void
assert_same_remote(
    const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	assert_int_equal(a->ss_family, b->ss_family);
	if (a->ss_family == AF_INET) {
		assert_int_equal(a4->sin_port, b4->sin_port);
		assert_memory_equal(
		    &a4->sin_addr, &b4->sin_addr, sizeof(a4->sin_addr));
	} else {
		assert_int_equal(a->ss_family, AF_INET6);
		assert_int_equal(a6->sin6_port, b6->sin6_port);
		assert_memory_equal(
		    &a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
	}
}

/*
 * Checks r->sent[idx]: parses, went to t, answers tid, FINGERPRINT right,
 * MESSAGE-INTEGRITY with pwd (absent when pwd is NULL).
 */
static const struct rec_sent *
check_sent(const struct rec *r, unsigned idx, const struct sfu_ice_tuple *t,
    const uint8_t *tid, const char *pwd, struct sfu_stun_message *msg)
{
	const struct rec_sent *s = NULL;
	struct sfu_error err = {0};

	assert_true(idx < r->n_sent);
	s = &r->sent[idx];
	assert_true(sfu_ice_tuple_equal(&s->tuple, t));
	assert_int_equal(sfu_stun_parse(s->data, s->len, msg, &err), 0);
	assert_memory_equal(
	    msg->transaction_id, tid, SFU_STUN_TRANSACTION_ID_LEN);
	assert_true(msg->has_fingerprint);
	assert_true(msg->fingerprint_ok);
	assert_int_equal(msg->n_unknown, 0);
	if (pwd == NULL) {
		assert_int_equal(msg->message_integrity_offset, 0);
	} else {
		assert_true(msg->message_integrity_offset != 0);
		assert_true(sfu_stun_check_integrity(
		    s->data, s->len, msg, (const uint8_t *)pwd, strlen(pwd)));
		/* And not with something else. */
		assert_false(sfu_stun_check_integrity(
		    s->data, s->len, msg, (const uint8_t *)"x", 1));
	}
	return s;
}

static void
check_success(const struct rec *r, unsigned idx, const struct sfu_ice_tuple *t,
    const uint8_t *tid, const char *pwd)
{
	struct sfu_stun_message msg;

	check_sent(r, idx, t, tid, pwd, &msg);
	assert_int_equal(msg.cls, SFU_STUN_SUCCESS_RESPONSE);
	assert_int_equal(msg.method, SFU_STUN_METHOD_BINDING);
	assert_false(msg.has_error_code);
	assert_true(msg.has_xor_mapped_address);
	assert_same_remote(&msg.xor_mapped_address, &t->remote);
}

static void
check_error(const struct rec *r, unsigned idx, const struct sfu_ice_tuple *t,
    const struct req *q, uint16_t code, const char *pwd)
{
	struct sfu_stun_message msg;

	check_sent(r, idx, t, q->tid, pwd, &msg);
	assert_int_equal(msg.cls, SFU_STUN_ERROR_RESPONSE);
	assert_int_equal(
	    msg.method, q->method != 0 ? q->method : SFU_STUN_METHOD_BINDING);
	assert_true(msg.has_error_code);
	assert_int_equal(msg.error_code, code);
	assert_false(msg.has_xor_mapped_address);
}

/*
 * A valid check from t with the server's current credentials: asserts a
 * success response signed with the password and returns nothing else.
 */
static void
check_ok(struct rec *r, const struct sfu_ice_tuple *t, bool use_candidate)
{
	struct req q;
	unsigned n = r->n_sent;
	char pwd[SFU_ICE_PWD_LEN + 1];

	memset(&q, 0, sizeof(q));
	q.use_candidate = use_candidate;
	snprintf(pwd, sizeof(pwd), "%s", sfu_ice_server_password(r->s));
	process_req(r, &q, t);
	assert_int_equal(r->n_sent, n + 1);
	check_success(r, n, t, q.tid, pwd);
}

/* A check with explicit credentials; returns how many responses came. */
static unsigned
check_with(struct rec *r, const struct sfu_ice_tuple *t, const char *ufrag,
    const char *pwd, struct req *q)
{
	uint8_t buf[TEST_BUF_LEN];
	unsigned n = r->n_sent;
	size_t len = 0;

	memset(q, 0, sizeof(*q));
	len = build_req(q, ufrag, pwd, buf, sizeof(buf));
	sfu_ice_server_process_stun(r->s, buf, len, t);
	return r->n_sent - n;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) == -1) {
	}
}

/* --- success responses --- */

static void
test_ice_success_response(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->r;
	struct sfu_ice_tuple tuples[3];
	struct sfu_ice_server_stats st;
	unsigned i = 0;

	tuples[0] = udp4(UDP_A, "192.0.2.1", 32853);
	tuples[1] = udp6(UDP_A, "2001:db8:1234:5678:11:2233:4455:6677", 32853);
	tuples[2] = tcp4(TCP_A, "198.51.100.7", 9);
	for (i = 0; i < 3; i++) {
		check_ok(r, &tuples[i], false);
		assert_non_null(sfu_ice_server_find_tuple(r->s, &tuples[i]));
	}
	assert_int_equal(r->n_sent, 3);
	assert_int_equal(r->n_added, 3);
	sfu_ice_server_get_stats(r->s, &st);
	assert_int_equal(st.requests, 3);
	assert_int_equal(st.bad_requests + st.unauthorized + st.ignored +
	                     st.role_conflicts + st.unknown_attrs +
	                     st.consent_expired,
	    0);
}

/* --- error responses and dropped messages --- */

struct error_case {
	const char *name;
	struct req req;
	uint16_t code;    /* 0: dropped, nothing sent */
	bool signed_resp; /* response carries MESSAGE-INTEGRITY */
	size_t stat;      /* offsetof the counter that goes up */
};

#define STAT(field) offsetof(struct sfu_ice_server_stats, field)

static const struct error_case error_cases[] = {
    {"no FINGERPRINT", {.fp = FP_NONE}, 400, false, STAT(bad_requests)},
    {"no USERNAME", {.user = USER_NONE}, 400, false, STAT(bad_requests)},
    {"no MESSAGE-INTEGRITY", {.key = KEY_NONE}, 400, false, STAT(bad_requests)},
    {"no PRIORITY", {.no_priority = true}, 400, false, STAT(bad_requests)},
    {"not Binding", {.method = 0x003}, 400, false, STAT(bad_requests)},
    {"wrong ufrag", {.user = USER_OTHER}, 401, false, STAT(unauthorized)},
    {"ufrag without colon", {.user = USER_NOCOLON}, 401, false,
        STAT(unauthorized)},
    {"wrong password", {.key = KEY_WRONG}, 401, false, STAT(unauthorized)},
    {"wrong password, unknown attribute",
        {.key = KEY_WRONG, .unknown = {0x7f31}}, 401, false,
        STAT(unauthorized)},
    {"ICE-CONTROLLED", {.controlled = true}, 487, true, STAT(role_conflicts)},
    {"ICE-CONTROLLED, nominating", {.controlled = true, .use_candidate = true},
        487, true, STAT(role_conflicts)},
    {"unknown attribute", {.unknown = {0x7f31}}, 420, true,
        STAT(unknown_attrs)},
    {"two unknown attributes, nominating",
        {.unknown = {0x0777, 0x7f32}, .use_candidate = true}, 420, true,
        STAT(unknown_attrs)},
    /* RFC 5389 §7.3: a bad FINGERPRINT means not STUN: dropped. */
    {"bad FINGERPRINT", {.fp = FP_BAD}, 0, false, STAT(ignored)},
    {"bad FINGERPRINT, nominating", {.fp = FP_BAD, .use_candidate = true}, 0,
        false, STAT(ignored)},
    {"indication", {.cls = SFU_STUN_INDICATION}, 0, false, STAT(ignored)},
    {"success response", {.cls = SFU_STUN_SUCCESS_RESPONSE}, 0, false,
        STAT(ignored)},
    {"error response", {.cls = SFU_STUN_ERROR_RESPONSE}, 0, false,
        STAT(ignored)},
    {"nominating indication",
        {.cls = SFU_STUN_INDICATION, .use_candidate = true}, 0, false,
        STAT(ignored)},
};

static uint64_t
stat_at(const struct sfu_ice_server_stats *st, size_t off)
{
	uint64_t v = 0;

	memcpy(&v, (const uint8_t *)st + off, sizeof(v));
	return v;
}

/* Sends c's request from t and checks the answer and that nothing moved. */
static void
run_error_case(
    struct rec *r, const struct error_case *c, const struct sfu_ice_tuple *t)
{
	struct sfu_ice_server_stats before, after;
	struct rec_counts counts = rec_counts(r);
	struct req q = c->req;
	const struct sfu_ice_tuple *stored = sfu_ice_server_find_tuple(r->s, t);
	uint64_t last_check_ms = stored != NULL ? stored->last_check_ms : 0;
	bool nominated = stored != NULL ? stored->nominated : false;
	char pwd[SFU_ICE_PWD_LEN + 1];
	struct sfu_stun_message msg;
	const struct rec_sent *s = NULL;
	const uint8_t *v = NULL;
	size_t vlen = 0;
	unsigned i = 0, n = 0;

	snprintf(pwd, sizeof(pwd), "%s", sfu_ice_server_password(r->s));
	sfu_ice_server_get_stats(r->s, &before);
	process_req(r, &q, t);
	sfu_ice_server_get_stats(r->s, &after);

	assert_no_change(r, &counts, c->code != 0 ? 1 : 0);
	assert_ptr_equal(sfu_ice_server_find_tuple(r->s, t), stored);
	if (stored != NULL) {
		/* No consent refresh, no nomination from a failed check. */
		assert_int_equal(stored->last_check_ms, last_check_ms);
		assert_int_equal(stored->nominated, nominated);
	}
	assert_int_equal(
	    stat_at(&after, c->stat), stat_at(&before, c->stat) + 1);
	assert_int_equal(after.requests, before.requests);
	if (c->code == 0) {
		return;
	}
	check_error(
	    r, counts.n_sent, t, &q, c->code, c->signed_resp ? pwd : NULL);
	if (c->code != 420) {
		return;
	}
	s = check_sent(r, counts.n_sent, t, q.tid, pwd, &msg);
	v = find_attr(s->data, s->len, SFU_STUN_ATTR_UNKNOWN_ATTRIBUTES, &vlen);
	assert_non_null(v);
	for (i = 0; i < 2; i++) {
		if (q.unknown[i] != 0) {
			assert_true(vlen >= 2 * n + 2);
			assert_int_equal(
			    v[2 * n] << 8 | v[2 * n + 1], q.unknown[i]);
			n++;
		}
	}
	assert_int_equal(vlen, 2 * n);
}

static void
test_ice_error_responses(void **state)
{
	struct fixture *f = *state;
	struct sfu_ice_tuple a = udp4(UDP_A, "192.0.2.1", 5000);
	struct sfu_ice_tuple b = udp6(UDP_B, "2001:db8::2", 5001);
	struct rec *r = NULL;
	size_t i = 0;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];

		print_message("case: %s\n", c->name);
		r = rec_new(f->base, 30);
		/* In "new", from nowhere known. */
		run_error_case(r, c, &a);
		assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_NEW);
		assert_int_equal(r->n_added, 0);
		/* Completed on a; a failed check from b, then from a. */
		check_ok(r, &a, true);
		assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_COMPLETED);
		sleep_ms(3);
		run_error_case(r, c, &b);
		run_error_case(r, c, &a);
		/* Connected on b (not nominated): a failed check from b. */
		rec_free(r);
		r = rec_new(f->base, 30);
		check_ok(r, &b, false);
		sleep_ms(3);
		run_error_case(r, c, &b);
		assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_CONNECTED);
		rec_free(r);
	}
}

/* Garbage and truncated messages are dropped. */
static void
test_ice_drops_malformed(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->r;
	struct sfu_ice_tuple a = udp4(UDP_A, "192.0.2.1", 5000);
	struct sfu_ice_server_stats st;
	struct rec_counts counts;
	uint8_t buf[TEST_BUF_LEN];
	uint8_t junk[64];
	struct req q;
	size_t len = 0;

	memset(&q, 0, sizeof(q));
	memset(junk, 0x17, sizeof(junk));
	check_ok(r, &a, true);
	counts = rec_counts(r);
	len = build_req(&q, sfu_ice_server_ufrag(r->s),
	    sfu_ice_server_password(r->s), buf, sizeof(buf));
	sfu_ice_server_process_stun(r->s, buf, len - 4, &a);
	sfu_ice_server_process_stun(r->s, buf, 10, &a);
	sfu_ice_server_process_stun(r->s, buf, 0, &a);
	sfu_ice_server_process_stun(r->s, junk, sizeof(junk), &a);
	assert_no_change(r, &counts, 0);
	sfu_ice_server_get_stats(r->s, &st);
	assert_int_equal(st.ignored, 4);
	assert_int_equal(st.requests, 1);
}

/* --- the state machine --- */

static void
test_ice_new_connected_completed(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->r;
	struct sfu_ice_tuple a = udp4(UDP_A, "192.0.2.1", 5000);
	struct sfu_ice_tuple b = udp4(UDP_A, "192.0.2.2", 5000);
	struct sfu_ice_tuple c = udp6(UDP_B, "2001:db8::3", 5000);
	const struct sfu_ice_tuple *sa = NULL;

	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_NEW);
	assert_null(sfu_ice_server_selected_tuple(r->s));
	assert_null(sfu_ice_server_find_tuple(r->s, &a));

	/* new -> connected on a plain check. */
	check_ok(r, &a, false);
	assert_int_equal(r->n_states, 1);
	assert_int_equal(r->states[0], SFU_ICE_CONNECTED);
	assert_int_equal(r->n_added, 1);
	assert_true(sfu_ice_tuple_equal(&r->added[0], &a));
	assert_int_equal(r->n_selected, 1);
	assert_true(sfu_ice_tuple_equal(&r->selected[0], &a));
	sa = sfu_ice_server_find_tuple(r->s, &a);
	assert_non_null(sa);
	assert_false(sa->nominated);
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s), sa);

	/* Connected: another plain check adds b, the selection stays. */
	check_ok(r, &b, false);
	assert_int_equal(r->n_added, 2);
	assert_int_equal(r->n_selected, 1);
	assert_int_equal(r->n_states, 1);
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s),
	    sfu_ice_server_find_tuple(r->s, &a));

	/* Repeated checks on a known tuple add nothing. */
	check_ok(r, &a, false);
	assert_int_equal(r->n_added, 2);

	/* connected -> completed: b nominated and selected. */
	check_ok(r, &b, true);
	assert_int_equal(r->n_states, 2);
	assert_int_equal(r->states[1], SFU_ICE_COMPLETED);
	assert_int_equal(r->n_selected, 2);
	assert_true(sfu_ice_tuple_equal(&r->selected[1], &b));
	assert_true(sfu_ice_server_find_tuple(r->s, &b)->nominated);
	assert_false(sfu_ice_server_find_tuple(r->s, &a)->nominated);

	/* Completed: a plain check from c adds it, the selection stays. */
	check_ok(r, &c, false);
	assert_int_equal(r->n_added, 3);
	assert_int_equal(r->n_selected, 2);
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s),
	    sfu_ice_server_find_tuple(r->s, &b));
	/* Nominating the selected one again changes nothing. */
	check_ok(r, &b, true);
	assert_int_equal(r->n_selected, 2);
	/* A nominating check from c moves the selection; still completed. */
	check_ok(r, &c, true);
	assert_int_equal(r->n_selected, 3);
	assert_true(sfu_ice_tuple_equal(&r->selected[2], &c));
	assert_int_equal(r->n_states, 2);
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_COMPLETED);
	/* A nominating check from a tuple not seen before: added, selected. */
	check_ok(r, &a, true);
	assert_int_equal(r->n_selected, 4);
	assert_true(sfu_ice_tuple_equal(&r->selected[3], &a));
	assert_int_equal(r->n_removed, 0);
	assert_int_equal(r->n_retired, 0);
}

static void
test_ice_new_to_completed(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->r;
	struct sfu_ice_tuple a = udp6(UDP_A, "2001:db8::1", 443);

	check_ok(r, &a, true);
	assert_int_equal(r->n_states, 1);
	assert_int_equal(r->states[0], SFU_ICE_COMPLETED);
	assert_int_equal(r->n_selected, 1);
	assert_int_equal(r->n_added, 1);
	assert_true(sfu_ice_server_find_tuple(r->s, &a)->nominated);
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s),
	    sfu_ice_server_find_tuple(r->s, &a));
	/* A later plain check keeps the nomination and the state. */
	check_ok(r, &a, false);
	assert_true(sfu_ice_server_find_tuple(r->s, &a)->nominated);
	assert_int_equal(r->n_states, 1);
}

/* disconnected (all tuples gone) -> completed, and -> connected. */
static void
test_ice_disconnected_reconnects(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->r;
	struct sfu_ice_tuple ta = tcp4(TCP_A, "192.0.2.9", 40000);
	struct sfu_ice_tuple tb = tcp4(TCP_B, "192.0.2.9", 40001);
	struct sfu_ice_tuple u = udp4(UDP_A, "192.0.2.9", 40000);
	static const enum sfu_ice_state want[] = {SFU_ICE_COMPLETED,
	    SFU_ICE_DISCONNECTED, SFU_ICE_COMPLETED, SFU_ICE_DISCONNECTED,
	    SFU_ICE_CONNECTED};
	size_t i = 0;

	check_ok(r, &ta, true);
	sfu_ice_server_remove_tcp(r->s, TCP_A);
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_DISCONNECTED);
	assert_null(sfu_ice_server_selected_tuple(r->s));
	assert_null(sfu_ice_server_find_tuple(r->s, &ta));
	assert_int_equal(r->n_removed, 1);
	assert_true(sfu_ice_tuple_equal(&r->removed[0], &ta));

	/* disconnected -> completed on a nominating check. */
	check_ok(r, &tb, true);
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_COMPLETED);
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s),
	    sfu_ice_server_find_tuple(r->s, &tb));
	sfu_ice_server_remove_tcp(r->s, TCP_B);
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_DISCONNECTED);

	/* disconnected -> connected on a plain one. */
	check_ok(r, &u, false);
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_CONNECTED);
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s),
	    sfu_ice_server_find_tuple(r->s, &u));
	assert_int_equal(r->n_states, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(r->states[i], want[i]);
	}
	assert_int_equal(r->n_selected, 3);
	assert_true(sfu_ice_tuple_equal(&r->selected[2], &u));
	assert_int_equal(r->n_added, 3);
	assert_int_equal(r->n_removed, 2);
}

static void
test_ice_closed_ignores_everything(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->r;
	struct sfu_ice_tuple a = tcp4(TCP_A, "192.0.2.1", 5000);
	struct sfu_ice_tuple b = udp4(UDP_A, "192.0.2.2", 5000);
	struct sfu_ice_tuple c = tcp4(TCP_B, "192.0.2.3", 5000);
	struct sfu_ice_server_stats before, after;
	struct rec_counts counts;
	struct req q;

	check_ok(r, &a, true);
	check_ok(r, &b, false);
	sfu_ice_server_close(r->s);
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_CLOSED);
	assert_int_equal(r->n_states, 1); /* no callback for closed */
	counts = rec_counts(r);
	sfu_ice_server_get_stats(r->s, &before);

	memset(&q, 0, sizeof(q));
	q.use_candidate = true;
	process_req(r, &q, &c);
	memset(&q, 0, sizeof(q));
	process_req(r, &q, &b);
	memset(&q, 0, sizeof(q));
	q.key = KEY_WRONG;
	process_req(r, &q, &c);
	assert_no_change(r, &counts, 0);
	assert_null(sfu_ice_server_find_tuple(r->s, &c));
	sfu_ice_server_get_stats(r->s, &after);
	assert_memory_equal(&before, &after, sizeof(before));

	/* Dropping the selected TCP tuple: announced, but no new state. */
	sfu_ice_server_remove_tcp(r->s, TCP_A);
	assert_int_equal(r->n_removed, 1);
	assert_true(sfu_ice_tuple_equal(&r->removed[0], &a));
	assert_int_equal(r->n_states, counts.n_states);
	assert_int_equal(r->n_selected, counts.n_selected);
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_CLOSED);
	assert_null(sfu_ice_server_selected_tuple(r->s));
	assert_non_null(sfu_ice_server_find_tuple(r->s, &b));
	/* Closing again is harmless. */
	sfu_ice_server_close(r->s);
	assert_int_equal(r->n_states, counts.n_states);
}

/* --- eviction --- */

static void
test_ice_max_tuples_evicts_least_recent(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->r;
	struct sfu_ice_tuple t[SFU_ICE_MAX_TUPLES + 3];
	unsigned i = 0;
	char ip[32];

	for (i = 0; i < SFU_ICE_MAX_TUPLES + 3; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%u", 10 + i);
		t[i] = udp4(UDP_A, ip, (uint16_t)(6000 + i));
	}
	/* t0 nominated first (the oldest), then t1..t7, 2 ms apart. */
	check_ok(r, &t[0], true);
	for (i = 1; i < SFU_ICE_MAX_TUPLES; i++) {
		sleep_ms(2);
		check_ok(r, &t[i], false);
	}
	assert_int_equal(r->n_added, SFU_ICE_MAX_TUPLES);
	sleep_ms(2);
	check_ok(r, &t[1], false); /* t2 is now the stalest but t0 */
	sleep_ms(2);

	/* t8: t2 goes (t0 is older but selected). */
	check_ok(r, &t[8], false);
	assert_int_equal(r->n_removed, 1);
	assert_true(sfu_ice_tuple_equal(&r->removed[0], &t[2]));
	assert_null(sfu_ice_server_find_tuple(r->s, &t[2]));
	assert_non_null(sfu_ice_server_find_tuple(r->s, &t[8]));
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s),
	    sfu_ice_server_find_tuple(r->s, &t[0]));
	assert_int_equal(r->n_selected, 1);
	sleep_ms(2);

	/* Nominate t5 (middle of the array): now t0 is the stalest. */
	check_ok(r, &t[5], true);
	assert_int_equal(r->n_selected, 2);
	sleep_ms(2);
	check_ok(r, &t[9], false);
	assert_int_equal(r->n_removed, 2);
	assert_true(sfu_ice_tuple_equal(&r->removed[1], &t[0]));
	/* The selection survived the array shifting under it. */
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s),
	    sfu_ice_server_find_tuple(r->s, &t[5]));
	assert_true(
	    sfu_ice_tuple_equal(sfu_ice_server_selected_tuple(r->s), &t[5]));
	assert_int_equal(r->n_selected, 2);
	sleep_ms(2);

	/* Next stalest: t3 (t1 was refreshed). */
	check_ok(r, &t[10], false);
	assert_int_equal(r->n_removed, 3);
	assert_true(sfu_ice_tuple_equal(&r->removed[2], &t[3]));
	for (i = 0; i < SFU_ICE_MAX_TUPLES + 3; i++) {
		bool gone = i == 0 || i == 2 || i == 3;

		assert_int_equal(
		    sfu_ice_server_find_tuple(r->s, &t[i]) == NULL, gone);
	}
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_COMPLETED);
	assert_int_equal(r->n_states, 1);
}

/* --- TCP removal --- */

static void
test_ice_remove_tcp(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->r;
	struct sfu_ice_tuple ta = tcp4(TCP_A, "192.0.2.1", 5000);
	struct sfu_ice_tuple tb = tcp4(TCP_B, "192.0.2.1", 5001);
	struct sfu_ice_tuple u = udp4(UDP_A, "192.0.2.1", 5000);

	check_ok(r, &ta, true);
	check_ok(r, &u, false);
	sleep_ms(2);
	check_ok(r, &tb, false); /* the most recent */

	/* An unknown connection: nothing. */
	sfu_ice_server_remove_tcp(
	    r->s, (const struct sfu_tcp_conn_handle *)&fake_handles[0]);
	assert_int_equal(r->n_removed, 0);

	/* The selected one: tb (checked last) takes over. */
	sfu_ice_server_remove_tcp(r->s, TCP_A);
	assert_int_equal(r->n_removed, 1);
	assert_true(sfu_ice_tuple_equal(&r->removed[0], &ta));
	assert_null(sfu_ice_server_find_tuple(r->s, &ta));
	assert_non_null(sfu_ice_server_find_tuple(r->s, &u));
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s),
	    sfu_ice_server_find_tuple(r->s, &tb));
	assert_int_equal(r->n_selected, 2);
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_COMPLETED);

	/* Again: nothing left on TCP_A. */
	sfu_ice_server_remove_tcp(r->s, TCP_A);
	assert_int_equal(r->n_removed, 1);

	sfu_ice_server_remove_tcp(r->s, TCP_B);
	assert_int_equal(r->n_removed, 2);
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s),
	    sfu_ice_server_find_tuple(r->s, &u));
	assert_non_null(sfu_ice_server_find_tuple(r->s, &u));
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_COMPLETED);

	/* A non-selected TCP tuple goes without touching the selection. */
	check_ok(r, &ta, false);
	sfu_ice_server_remove_tcp(r->s, TCP_A);
	assert_int_equal(r->n_removed, 3);
	assert_int_equal(r->n_selected, 3);
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s),
	    sfu_ice_server_find_tuple(r->s, &u));
}

/* --- consent freshness --- */

/* A clock the test moves: checks are stamped with it, consent reads it. */
static uint64_t fake_now_ms;

static uint64_t
fake_clock(void *ctx)
{
	(void)ctx;
	return fake_now_ms;
}

static void
use_fake_clock(struct rec *r, uint64_t now_ms)
{
	fake_now_ms = now_ms;
	sfu_ice_server_set_clock(r->s, fake_clock, NULL);
}

/*
 * consent 1 s, on a clock of our own:
 *   0: x (plain)   300: a nominated   1300: b   1600: c
 * At 2000, x and a (selected) are gone; c, the most recent, is selected.
 * b checked again at 2250..3000; at 3000 c is gone and b is selected.
 * The state stays completed.
 */
static void
test_ice_consent_expiry_moves_selection(void **state)
{
	struct fixture *f = *state;
	struct rec *r = rec_new(f->base, 1);
	struct sfu_ice_tuple x = udp4(UDP_A, "192.0.2.1", 1000);
	struct sfu_ice_tuple a = udp4(UDP_A, "192.0.2.2", 1000);
	struct sfu_ice_tuple b = udp6(UDP_A, "2001:db8::3", 1000);
	struct sfu_ice_tuple c = tcp4(TCP_A, "192.0.2.4", 1000);
	struct sfu_ice_server_stats st;
	uint64_t t = 0;

	use_fake_clock(r, 100000);
	check_ok(r, &x, false);
	fake_now_ms += 300;
	check_ok(r, &a, true);
	/* 999 ms after a's check, 1299 after x's: x goes, a stays. */
	fake_now_ms = 100000 + 1299;
	sfu_ice_server_check_consent(r->s);
	assert_int_equal(r->n_removed, 1);
	assert_non_null(sfu_ice_server_find_tuple(r->s, &a));
	fake_now_ms = 100000 + 1300;
	check_ok(r, &b, false);
	fake_now_ms += 300;
	check_ok(r, &c, false);
	fake_now_ms = 100000 + 2000;
	sfu_ice_server_check_consent(r->s);
	assert_null(sfu_ice_server_find_tuple(r->s, &x));
	assert_null(sfu_ice_server_find_tuple(r->s, &a));
	assert_non_null(sfu_ice_server_find_tuple(r->s, &b));
	assert_non_null(sfu_ice_server_find_tuple(r->s, &c));
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s),
	    sfu_ice_server_find_tuple(r->s, &c));
	assert_int_equal(r->n_removed, 2);
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_COMPLETED);
	/* x selected, a nominated, c after a expired. */
	assert_int_equal(r->n_selected, 3);
	assert_true(sfu_ice_tuple_equal(&r->selected[2], &c));

	for (t = 2250; t <= 3000; t += 250) {
		fake_now_ms = 100000 + t;
		check_ok(r, &b, false);
		sfu_ice_server_check_consent(r->s);
	}
	assert_null(sfu_ice_server_find_tuple(r->s, &c));
	assert_ptr_equal(sfu_ice_server_selected_tuple(r->s),
	    sfu_ice_server_find_tuple(r->s, &b));
	assert_int_equal(r->n_removed, 3);
	assert_true(sfu_ice_tuple_equal(&r->removed[2], &c));
	assert_int_equal(r->n_selected, 4);
	assert_true(sfu_ice_tuple_equal(&r->selected[3], &b));
	assert_int_equal(r->n_states, 2);
	assert_int_equal(r->states[0], SFU_ICE_CONNECTED);
	assert_int_equal(r->states[1], SFU_ICE_COMPLETED);
	sfu_ice_server_get_stats(r->s, &st);
	assert_int_equal(st.consent_expired, 3);
	rec_free(r);
}

/*
 * d (consent 1 s) loses its only tuple and goes disconnected; z (consent
 * 0) keeps its tuple. Then d reconnects.
 */
static void
test_ice_consent_all_expire_and_zero_never(void **state)
{
	struct fixture *f = *state;
	struct rec *d = rec_new(f->base, 1);
	struct rec *z = f->r;
	struct sfu_ice_tuple a = udp4(UDP_A, "192.0.2.1", 1000);
	struct sfu_ice_tuple b = udp4(UDP_B, "192.0.2.1", 1000);
	struct sfu_ice_server_stats st;

	use_fake_clock(d, 5000);
	sfu_ice_server_set_clock(z->s, fake_clock, NULL);
	check_ok(d, &a, true);
	check_ok(z, &a, true);
	fake_now_ms += 2300;
	sfu_ice_server_check_consent(d->s);
	sfu_ice_server_check_consent(z->s);

	assert_int_equal(sfu_ice_server_state(d->s), SFU_ICE_DISCONNECTED);
	assert_null(sfu_ice_server_selected_tuple(d->s));
	assert_null(sfu_ice_server_find_tuple(d->s, &a));
	assert_int_equal(d->n_removed, 1);
	assert_true(sfu_ice_tuple_equal(&d->removed[0], &a));
	assert_int_equal(d->n_states, 2);
	assert_int_equal(d->states[1], SFU_ICE_DISCONNECTED);
	sfu_ice_server_get_stats(d->s, &st);
	assert_int_equal(st.consent_expired, 1);

	assert_int_equal(sfu_ice_server_state(z->s), SFU_ICE_COMPLETED);
	assert_non_null(sfu_ice_server_find_tuple(z->s, &a));
	assert_int_equal(z->n_removed, 0);
	sfu_ice_server_get_stats(z->s, &st);
	assert_int_equal(st.consent_expired, 0);

	/* A new check brings d back: disconnected -> connected. */
	check_ok(d, &b, false);
	assert_int_equal(sfu_ice_server_state(d->s), SFU_ICE_CONNECTED);
	assert_ptr_equal(sfu_ice_server_selected_tuple(d->s),
	    sfu_ice_server_find_tuple(d->s, &b));
	assert_int_equal(d->n_states, 3);
	rec_free(d);
}

/*
 * The server's own timer drives consent on the real clock: a tuple left
 * alone is dropped and the state goes disconnected, however late the
 * timer fires (no upper bound is asserted but a 20 s safety stop).
 */
static void
test_ice_consent_timer_runs(void **state)
{
	struct fixture *f = *state;
	struct rec *d = rec_new(f->base, 1);
	struct sfu_ice_tuple a = udp4(UDP_A, "192.0.2.1", 1000);
	uint64_t start = sfu_clock_mono_ms();

	check_ok(d, &a, true);
	while (sfu_ice_server_state(d->s) != SFU_ICE_DISCONNECTED &&
	    sfu_clock_mono_ms() - start < 20000) {
		event_base_loop(f->base, EVLOOP_ONCE);
	}
	assert_int_equal(sfu_ice_server_state(d->s), SFU_ICE_DISCONNECTED);
	assert_true(sfu_clock_mono_ms() - start >= 1000);
	rec_free(d);
}

/* --- restart --- */

static void
assert_ice_chars(const char *s, size_t len)
{
	size_t i = 0;

	assert_int_equal(strlen(s), len);
	for (i = 0; i < len; i++) {
		assert_true((s[i] >= 'a' && s[i] <= 'z') ||
		            (s[i] >= '0' && s[i] <= '9'));
	}
}

struct creds {
	char ufrag[SFU_ICE_UFRAG_LEN + 1];
	char pwd[SFU_ICE_PWD_LEN + 1];
};

static struct creds
creds_of(const struct rec *r)
{
	struct creds c;

	snprintf(c.ufrag, sizeof(c.ufrag), "%s", sfu_ice_server_ufrag(r->s));
	snprintf(c.pwd, sizeof(c.pwd), "%s", sfu_ice_server_password(r->s));
	assert_ice_chars(c.ufrag, SFU_ICE_UFRAG_LEN);
	assert_ice_chars(c.pwd, SFU_ICE_PWD_LEN);
	return c;
}

/* A check with c's credentials: success signed with c.pwd, or 401. */
static void
expect_creds(struct rec *r, const struct sfu_ice_tuple *t,
    const struct creds *c, bool accepted)
{
	struct req q;
	unsigned n = r->n_sent;

	assert_int_equal(check_with(r, t, c->ufrag, c->pwd, &q), 1);
	if (accepted) {
		check_success(r, n, t, q.tid, c->pwd);
	} else {
		check_error(r, n, t, &q, 401, NULL);
	}
}

static void
test_ice_restart(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->r;
	struct sfu_ice_tuple a = udp4(UDP_A, "192.0.2.1", 5000);
	struct creds c1, c2, mixed;
	struct rec *other = rec_new(f->base, 0);

	c1 = creds_of(r);
	/* Two servers do not share credentials. */
	assert_string_not_equal(c1.ufrag, sfu_ice_server_ufrag(other->s));
	assert_string_not_equal(c1.pwd, sfu_ice_server_password(other->s));
	rec_free(other);
	assert_null(sfu_ice_server_old_ufrag(r->s));
	check_ok(r, &a, true);

	sfu_ice_server_restart(r->s);
	c2 = creds_of(r);
	assert_string_not_equal(c1.ufrag, c2.ufrag);
	assert_string_not_equal(c1.pwd, c2.pwd);
	assert_string_equal(sfu_ice_server_old_ufrag(r->s), c1.ufrag);
	assert_int_equal(r->n_retired, 0);
	/* A restart alone changes no state. */
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_COMPLETED);

	/* The old credentials still work, as often as needed. */
	expect_creds(r, &a, &c1, true);
	expect_creds(r, &a, &c1, true);
	assert_int_equal(r->n_retired, 0);
	/* Mixing them does not. */
	mixed = c1;
	memcpy(mixed.pwd, c2.pwd, sizeof(mixed.pwd));
	expect_creds(r, &a, &mixed, false);
	mixed = c2;
	memcpy(mixed.pwd, c1.pwd, sizeof(mixed.pwd));
	expect_creds(r, &a, &mixed, false);
	assert_int_equal(r->n_retired, 0);

	/* The new ones retire the old. */
	expect_creds(r, &a, &c2, true);
	assert_int_equal(r->n_retired, 1);
	assert_string_equal(r->retired[0], c1.ufrag);
	assert_null(sfu_ice_server_old_ufrag(r->s));
	expect_creds(r, &a, &c1, false);
	expect_creds(r, &a, &c2, true);
	assert_int_equal(r->n_retired, 1);
	assert_int_equal(sfu_ice_server_state(r->s), SFU_ICE_COMPLETED);
	assert_int_equal(r->n_states, 1);
}

static void
test_ice_restart_twice(void **state)
{
	struct fixture *f = *state;
	struct rec *r = f->r;
	struct sfu_ice_tuple a = udp4(UDP_A, "192.0.2.1", 5000);
	struct creds c1, c2, c3;

	c1 = creds_of(r);
	check_ok(r, &a, false);
	sfu_ice_server_restart(r->s);
	c2 = creds_of(r);
	sfu_ice_server_restart(r->s);
	c3 = creds_of(r);
	/* The first one is retired at once; the second is the old one. */
	assert_int_equal(r->n_retired, 1);
	assert_string_equal(r->retired[0], c1.ufrag);
	assert_string_equal(sfu_ice_server_old_ufrag(r->s), c2.ufrag);
	assert_string_not_equal(c2.ufrag, c3.ufrag);
	assert_string_not_equal(c1.ufrag, c3.ufrag);

	expect_creds(r, &a, &c1, false);
	expect_creds(r, &a, &c2, true);
	assert_int_equal(r->n_retired, 1);
	expect_creds(r, &a, &c3, true);
	assert_int_equal(r->n_retired, 2);
	assert_string_equal(r->retired[1], c2.ufrag);
	expect_creds(r, &a, &c2, false);
	assert_null(sfu_ice_server_old_ufrag(r->s));
	/* A restart with no old ufrag retires nothing. */
	sfu_ice_server_restart(r->s);
	assert_int_equal(r->n_retired, 2);
	assert_string_equal(sfu_ice_server_old_ufrag(r->s), c3.ufrag);
}

/* --- tuple equality and names --- */

static void
test_ice_tuple_equal(void **state)
{
	struct sfu_ice_tuple base4 = udp4(UDP_A, "192.0.2.1", 5000);
	struct sfu_ice_tuple base6 = udp6(UDP_A, "2001:db8::1", 5000);
	struct sfu_ice_tuple basetcp = tcp4(TCP_A, "192.0.2.1", 5000);
	struct sfu_ice_tuple x;
	struct {
		const char *name;
		struct sfu_ice_tuple a, b;
		bool equal;
	} cases[16];
	size_t n = 0, i = 0;

	(void)state;
#define CASE(nm, ta, tb, eq)                                                   \
	do {                                                                   \
		cases[n].name = (nm);                                          \
		cases[n].a = (ta);                                             \
		cases[n].b = (tb);                                             \
		cases[n].equal = (eq);                                         \
		n++;                                                           \
	} while (0)
	CASE("v4 same", base4, udp4(UDP_A, "192.0.2.1", 5000), true);
	CASE("v4 port", base4, udp4(UDP_A, "192.0.2.1", 5001), false);
	CASE("v4 address", base4, udp4(UDP_A, "192.0.2.2", 5000), false);
	CASE("v4 socket", base4, udp4(UDP_B, "192.0.2.1", 5000), false);
	x = base4;
	memset(((struct sockaddr_in *)&x.remote)->sin_zero, 0x55, 8);
	x.last_check_ms = 12345;
	x.nominated = true;
	x.tcp = TCP_B; /* ignored for UDP */
	CASE("v4 padding, kept fields", base4, x, true);
	CASE("v6 same", base6, udp6(UDP_A, "2001:db8::1", 5000), true);
	CASE("v6 port", base6, udp6(UDP_A, "2001:db8::1", 5001), false);
	CASE("v6 address", base6, udp6(UDP_A, "2001:db8::2", 5000), false);
	CASE("v6 socket", base6, udp6(UDP_B, "2001:db8::1", 5000), false);
	CASE("v4 vs mapped v6", base4, udp6(UDP_A, "::ffff:192.0.2.1", 5000),
	    false);
	x = base6;
	((struct sockaddr_in6 *)&x.remote)->sin6_flowinfo = htonl(7);
	CASE("v6 flow label", base6, x, true);
	CASE("udp vs tcp", base4, basetcp, false);
	CASE("tcp other remote", basetcp, tcp4(TCP_A, "192.0.2.9", 9), true);
	CASE("tcp other conn", basetcp, tcp4(TCP_B, "192.0.2.1", 5000), false);
	memset(&x, 0, sizeof(x));
	x.proto = SFU_ICE_UDP;
	x.udp = UDP_A;
	x.remote.ss_family = AF_UNSPEC;
	CASE("no address", x, x, false);
#undef CASE
	assert_true(n <= sizeof(cases) / sizeof(cases[0]));
	for (i = 0; i < n; i++) {
		print_message("case: %s\n", cases[i].name);
		assert_int_equal(sfu_ice_tuple_equal(&cases[i].a, &cases[i].b),
		    cases[i].equal);
		assert_int_equal(sfu_ice_tuple_equal(&cases[i].b, &cases[i].a),
		    cases[i].equal);
	}
}

static void
test_ice_state_name(void **state)
{
	(void)state;
	assert_string_equal(sfu_ice_state_name(SFU_ICE_NEW), "new");
	assert_string_equal(sfu_ice_state_name(SFU_ICE_CONNECTED), "connected");
	assert_string_equal(sfu_ice_state_name(SFU_ICE_COMPLETED), "completed");
	assert_string_equal(
	    sfu_ice_state_name(SFU_ICE_DISCONNECTED), "disconnected");
	assert_string_equal(sfu_ice_state_name(SFU_ICE_CLOSED), "closed");
	assert_string_equal(sfu_ice_state_name((enum sfu_ice_state)99), "");
}

static void
test_ice_free_null(void **state)
{
	(void)state;
	sfu_ice_server_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_ice_success_response, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ice_error_responses, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ice_drops_malformed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ice_new_connected_completed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ice_new_to_completed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ice_disconnected_reconnects, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ice_closed_ignores_everything, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ice_max_tuples_evicts_least_recent, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ice_remove_tcp, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ice_consent_expiry_moves_selection, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ice_consent_all_expire_and_zero_never, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ice_consent_timer_runs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ice_restart, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_ice_restart_twice, setup, teardown),
	    cmocka_unit_test(test_ice_tuple_equal),
	    cmocka_unit_test(test_ice_state_name),
	    cmocka_unit_test(test_ice_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
