/*
 * SPDX-License-Identifier: MIT
 *
 * dtls_transport with real OpenSSL on a real event_base: two transports
 * whose datagrams reach each other through a queue drained by an event
 * (never by a recursive feed). Handshakes for every SRTP profile with the
 * exported keys driving real SRTP sessions, fingerprint checks, lost
 * datagrams and retransmission, the handshake deadline, close_notify,
 * garbage input, application data, MTU-sized datagrams with a large
 * certificate chain, freeing from callbacks, contexts from PEM files and
 * their errors, and the name and role tables.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <event2/event.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/error.h"
#include "worker/rtc/dtls_transport.h"
#include "worker/rtc/srtp_session.h"
#include "helpers.h"

#define INBOX_MAX 512
#define STATES_MAX 16
#define APP_MAX 4096
#define LOOP_MS 5000

enum free_at {
	FREE_NEVER = 0,
	FREE_ON_SEND,      /* in the first on_send */
	FREE_ON_STATE,     /* in on_state(free_state) */
	FREE_ON_CONNECTED, /* in on_connected */
	FREE_ON_APP_DATA,  /* in the first on_app_data */
	CLOSE_ON_STATE, /* sfu_dtls_transport_close in on_state(free_state) */
};

struct dgram {
	uint8_t *data; /* owned */
	size_t len;
};

/* One side: its transport, its inbox, what it saw. */
struct peer {
	const char *name;
	struct sfu_dtls_transport *t;  /* owned; NULL once freed */
	struct peer *other;            /* borrowed */
	struct event *deliver_ev;      /* owned: feeds the inbox to t */
	struct dgram inbox[INBOX_MAX]; /* sent by other, not yet fed */
	unsigned int inbox_head;
	unsigned int inbox_n;

	unsigned int drop_first; /* drop the first N datagrams we send */
	bool drop_all;           /* drop everything we send */
	unsigned int sent;       /* on_send calls */
	unsigned int dropped;
	size_t max_dgram; /* longest datagram we sent */

	enum sfu_dtls_state states[STATES_MAX]; /* on_state, in order */
	unsigned int nstates;
	unsigned int connected_calls;
	enum sfu_srtp_suite suite;
	uint8_t local_key[SFU_SRTP_MAX_KEY_LEN];
	uint8_t remote_key[SFU_SRTP_MAX_KEY_LEN];
	size_t key_len;
	enum sfu_dtls_state state_in_connected; /* getter inside on_connected */
	uint8_t app[APP_MAX];                   /* last app data */
	size_t app_len;
	unsigned int app_count;

	enum free_at free_at;
	enum sfu_dtls_state free_state;
	bool freed_in_callback;

	/* A plain OpenSSL peer instead of a transport (raw_peer_*). */
	SSL *raw;        /* owned, owns its two BIOs */
	BIO *raw_rbio;   /* borrowed from raw */
	BIO *raw_wbio;   /* borrowed from raw */
	bool raw_done;   /* its handshake finished */
	bool raw_failed; /* its handshake failed */
};

struct fixture {
	struct event_base *base;    /* owned */
	struct sfu_dtls_ctx *ctx_a; /* owned */
	struct sfu_dtls_ctx *ctx_b; /* owned */
	struct peer a;
	struct peer b;
	char tmpdir[PATH_MAX]; /* "" unless made */
};

/* --- peers --- */

static void
peer_free_self(struct peer *p)
{
	sfu_dtls_transport_free(p->t);
	p->t = NULL;
	p->freed_in_callback = true;
}

static void
peer_on_send(
    void *ctx, struct sfu_dtls_transport *t, const uint8_t *data, size_t len)
{
	struct peer *p = ctx;
	struct peer *o = p->other;
	struct dgram *d = NULL;

	assert_ptr_equal(t, p->t);
	assert_true(len > 0);
	p->sent++;
	if (len > p->max_dgram) {
		p->max_dgram = len;
	}
	if (p->drop_all || p->dropped < p->drop_first) {
		p->dropped++;
	} else {
		assert_true(o->inbox_n < INBOX_MAX);
		d = &o->inbox[o->inbox_n++];
		d->data = malloc(len);
		assert_non_null(d->data);
		memcpy(d->data, data, len);
		d->len = len;
		event_active(o->deliver_ev, EV_TIMEOUT, 0);
	}
	if (p->free_at == FREE_ON_SEND) {
		peer_free_self(p);
	}
}

static void
peer_on_state(
    void *ctx, struct sfu_dtls_transport *t, enum sfu_dtls_state state)
{
	struct peer *p = ctx;

	assert_ptr_equal(t, p->t);
	assert_int_equal(sfu_dtls_transport_state(t), state);
	assert_true(p->nstates < STATES_MAX);
	p->states[p->nstates++] = state;
	if (p->free_at == FREE_ON_STATE && state == p->free_state) {
		peer_free_self(p);
	} else if (p->free_at == CLOSE_ON_STATE && state == p->free_state) {
		sfu_dtls_transport_close(t);
	}
}

static void
peer_on_connected(void *ctx, struct sfu_dtls_transport *t,
    enum sfu_srtp_suite suite, const uint8_t *local_key,
    const uint8_t *remote_key, size_t key_len)
{
	struct peer *p = ctx;

	assert_ptr_equal(t, p->t);
	assert_true(key_len <= SFU_SRTP_MAX_KEY_LEN);
	p->connected_calls++;
	p->suite = suite;
	p->key_len = key_len;
	memcpy(p->local_key, local_key, key_len);
	memcpy(p->remote_key, remote_key, key_len);
	p->state_in_connected = sfu_dtls_transport_state(t);
	if (p->free_at == FREE_ON_CONNECTED) {
		peer_free_self(p);
	}
}

static void
peer_on_app_data(
    void *ctx, struct sfu_dtls_transport *t, const uint8_t *data, size_t len)
{
	struct peer *p = ctx;

	assert_ptr_equal(t, p->t);
	assert_true(len <= APP_MAX);
	memcpy(p->app, data, len);
	p->app_len = len;
	p->app_count++;
	if (p->free_at == FREE_ON_APP_DATA) {
		peer_free_self(p);
	}
}

static const struct sfu_dtls_transport_listener peer_listener = {
    .on_send = peer_on_send,
    .on_state = peer_on_state,
    .on_connected = peer_on_connected,
    .on_app_data = peer_on_app_data,
};

/*
 * The plain OpenSSL peer: handshakes, then sends whatever its write BIO
 * holds as one datagram to the other side.
 */
static void
raw_peer_drive(struct peer *p)
{
	struct peer *o = p->other;
	struct dgram *d = NULL;
	char *data = NULL;
	long n = 0;
	int r = 0;

	if (!p->raw_done && !p->raw_failed) {
		r = SSL_do_handshake(p->raw);
		if (r == 1) {
			p->raw_done = true;
		} else if (SSL_get_error(p->raw, r) != SSL_ERROR_WANT_READ) {
			p->raw_failed = true;
			ERR_clear_error();
		}
	}
	n = BIO_get_mem_data(p->raw_wbio, &data);
	if (n <= 0) {
		return;
	}
	assert_true(o->inbox_n < INBOX_MAX);
	d = &o->inbox[o->inbox_n++];
	d->data = malloc((size_t)n);
	assert_non_null(d->data);
	memcpy(d->data, data, (size_t)n);
	d->len = (size_t)n;
	(void)BIO_reset(p->raw_wbio);
	p->sent++;
	event_active(o->deliver_ev, EV_TIMEOUT, 0);
}

/* Feeds what the other side sent, in order, until the inbox is empty. */
static void
peer_on_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct peer *p = arg;
	struct dgram *d = NULL;

	(void)fd;
	(void)what;
	while (p->inbox_head < p->inbox_n) {
		d = &p->inbox[p->inbox_head++];
		if (p->t != NULL) {
			sfu_dtls_transport_feed(p->t, d->data, d->len);
		} else if (p->raw != NULL) {
			assert_int_equal(
			    BIO_write(p->raw_rbio, d->data, (int)d->len),
			    (int)d->len);
			raw_peer_drive(p);
		}
		free(d->data);
		d->data = NULL;
	}
	p->inbox_head = 0;
	p->inbox_n = 0;
}

static void
peer_init(struct fixture *f, struct peer *p, const char *name,
    struct sfu_dtls_ctx *ctx, struct peer *other)
{
	struct sfu_error err = {0};

	memset(p, 0, sizeof(*p));
	p->name = name;
	p->other = other;
	p->deliver_ev = event_new(f->base, -1, 0, peer_on_deliver, p);
	assert_non_null(p->deliver_ev);
	p->t = sfu_dtls_transport_new(f->base, ctx, &peer_listener, p, &err);
	assert_non_null(p->t);
	sfu_dtls_transport_set_log_id(p->t, name);
	assert_int_equal(sfu_dtls_transport_state(p->t), SFU_DTLS_STATE_NEW);
	assert_int_equal(
	    sfu_dtls_transport_local_role(p->t), SFU_DTLS_ROLE_AUTO);
}

static void
peer_fini(struct peer *p)
{
	unsigned int i = 0;

	sfu_dtls_transport_free(p->t);
	p->t = NULL;
	SSL_free(p->raw);
	p->raw = NULL;
	for (i = 0; i < INBOX_MAX; i++) {
		free(p->inbox[i].data);
		p->inbox[i].data = NULL;
	}
	p->inbox_head = 0;
	p->inbox_n = 0;
	if (p->deliver_ev != NULL) {
		event_free(p->deliver_ev);
		p->deliver_ev = NULL;
	}
}

/* Both peers on fresh transports: a on ctx_a, b on ctx_b. */
static void
pair_init(struct fixture *f)
{
	peer_init(f, &f->a, "a", f->ctx_a, &f->b);
	peer_init(f, &f->b, "b", f->ctx_b, &f->a);
}

static void
pair_fini(struct fixture *f)
{
	peer_fini(&f->a);
	peer_fini(&f->b);
}

static void
peer_start(struct peer *p, enum sfu_dtls_role role, enum sfu_dtls_hash hash,
    const char *fingerprint)
{
	struct sfu_error err = {0};

	assert_int_equal(
	    sfu_dtls_transport_start(p->t, role, hash, fingerprint, &err), 0);
}

/* a as role_a, b as the other role, each checking the other's sha-256. */
static void
pair_start(struct fixture *f, enum sfu_dtls_role role_a)
{
	enum sfu_dtls_role role_b = role_a == SFU_DTLS_ROLE_CLIENT
	                                ? SFU_DTLS_ROLE_SERVER
	                                : SFU_DTLS_ROLE_CLIENT;

	/* The server first, as in a real call the client's hello may wait. */
	if (role_a == SFU_DTLS_ROLE_SERVER) {
		peer_start(&f->a, role_a, SFU_DTLS_HASH_SHA256,
		    sfu_dtls_ctx_fingerprint(f->ctx_b, SFU_DTLS_HASH_SHA256));
		peer_start(&f->b, role_b, SFU_DTLS_HASH_SHA256,
		    sfu_dtls_ctx_fingerprint(f->ctx_a, SFU_DTLS_HASH_SHA256));
	} else {
		peer_start(&f->b, role_b, SFU_DTLS_HASH_SHA256,
		    sfu_dtls_ctx_fingerprint(f->ctx_a, SFU_DTLS_HASH_SHA256));
		peer_start(&f->a, role_a, SFU_DTLS_HASH_SHA256,
		    sfu_dtls_ctx_fingerprint(f->ctx_b, SFU_DTLS_HASH_SHA256));
	}
}

static enum sfu_dtls_state
peer_last_state(const struct peer *p)
{
	return p->nstates == 0 ? SFU_DTLS_STATE_NEW : p->states[p->nstates - 1];
}

static bool
cond_both_connected(void *arg)
{
	struct fixture *f = arg;

	return peer_last_state(&f->a) == SFU_DTLS_STATE_CONNECTED &&
	       peer_last_state(&f->b) == SFU_DTLS_STATE_CONNECTED;
}

struct until_state {
	struct peer *p;
	enum sfu_dtls_state state;
};

static bool
cond_state(void *arg)
{
	struct until_state *u = arg;

	return peer_last_state(u->p) == u->state;
}

static void
wait_state(struct fixture *f, struct peer *p, enum sfu_dtls_state state)
{
	struct until_state u = {p, state};

	assert_true(run_loop_until(f->base, cond_state, &u, LOOP_MS));
}

static void
pair_connect(struct fixture *f, enum sfu_dtls_role role_a)
{
	pair_start(f, role_a);
	assert_true(run_loop_until(f->base, cond_both_connected, f, LOOP_MS));
}

/* Runs the loop for ms milliseconds whatever happens. */
static bool
cond_never(void *arg)
{
	(void)arg;
	return false;
}

static void
run_for(struct fixture *f, int ms)
{
	(void)run_loop_until(f->base, cond_never, NULL, ms);
}

/* --- fixtures --- */

static int
setup(void **state)
{
	struct fixture *f = NULL;
	struct sfu_error err = {0};

	f = calloc(1, sizeof(*f));
	if (f == NULL) {
		return -1;
	}
	f->base = event_base_new();
	f->ctx_a = sfu_dtls_ctx_new(NULL, NULL, &err);
	f->ctx_b = sfu_dtls_ctx_new(NULL, NULL, &err);
	if (f->base == NULL || f->ctx_a == NULL || f->ctx_b == NULL) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc = 0;

	pair_fini(f);
	sfu_dtls_ctx_free(f->ctx_a);
	sfu_dtls_ctx_free(f->ctx_b);
	if (f->tmpdir[0] != '\0') {
		rc = helpers_rmtree(f->tmpdir);
	}
	event_base_free(f->base);
	free(f);
	return rc;
}

/* --- RTP through SRTP with the exported keys --- */

static size_t
make_rtp(uint8_t *buf, size_t size, uint16_t seq, uint32_t ssrc)
{
	size_t i = 0;

	memset(buf, 0, size);
	buf[0] = 0x80;
	buf[1] = 111;
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	buf[7] = 0x10;
	buf[8] = (uint8_t)(ssrc >> 24);
	buf[9] = (uint8_t)(ssrc >> 16);
	buf[10] = (uint8_t)(ssrc >> 8);
	buf[11] = (uint8_t)ssrc;
	for (i = 0; i < 160; i++) {
		buf[12 + i] = (uint8_t)(i * 13 + seq);
	}
	return 12 + 160;
}

/* from protects with its local key, to unprotects with its remote key. */
static void
srtp_round_trip(const struct peer *from, const struct peer *to)
{
	struct sfu_srtp_session *out = NULL;
	struct sfu_srtp_session *in = NULL;
	struct sfu_error err = {0};
	uint8_t buf[512];
	uint8_t orig[512];
	size_t len = 0;
	size_t orig_len = 0;

	out = sfu_srtp_session_new(SFU_SRTP_OUTBOUND, from->suite,
	    from->local_key, from->key_len, &err);
	assert_non_null(out);
	in = sfu_srtp_session_new(
	    SFU_SRTP_INBOUND, to->suite, to->remote_key, to->key_len, &err);
	assert_non_null(in);
	orig_len = make_rtp(orig, sizeof(orig), 4242, 0x11223344);
	memcpy(buf, orig, sizeof(buf));
	len = orig_len;
	assert_int_equal(
	    sfu_srtp_session_protect_rtp(out, buf, &len, sizeof(buf)), 0);
	assert_true(len > orig_len);
	assert_memory_not_equal(buf + 12, orig + 12, 160);
	assert_int_equal(sfu_srtp_session_unprotect_rtp(in, buf, &len), 0);
	assert_int_equal(len, orig_len);
	assert_memory_equal(buf, orig, orig_len);
	sfu_srtp_session_free(out);
	sfu_srtp_session_free(in);
}

/* --- names and tables --- */

/* Hash names parse both ways, any case; unknown names are refused. */
static void
test_dtls_transport_hash_names(void **state)
{
	static const char *names[] = {
	    "sha-1", "sha-224", "sha-256", "sha-384", "sha-512"};
	int i = 0;

	(void)state;
	for (i = 0; i < SFU_DTLS_HASH_COUNT; i++) {
		assert_int_equal(sfu_dtls_hash_parse(names[i]), i);
		assert_string_equal(
		    sfu_dtls_hash_name((enum sfu_dtls_hash)i), names[i]);
	}
	assert_int_equal(sfu_dtls_hash_parse("SHA-256"), SFU_DTLS_HASH_SHA256);
	assert_int_equal(sfu_dtls_hash_parse("md5"), -1);
	assert_int_equal(sfu_dtls_hash_parse("sha256"), -1);
	assert_int_equal(sfu_dtls_hash_parse(""), -1);
	assert_int_equal(sfu_dtls_hash_parse(NULL), -1);
	assert_string_equal(sfu_dtls_hash_name((enum sfu_dtls_hash)99), "");
}

/* Roles and states have mediasoup's names. */
static void
test_dtls_transport_role_and_state_names(void **state)
{
	(void)state;
	assert_int_equal(sfu_dtls_role_parse("auto"), SFU_DTLS_ROLE_AUTO);
	assert_int_equal(sfu_dtls_role_parse("client"), SFU_DTLS_ROLE_CLIENT);
	assert_int_equal(sfu_dtls_role_parse("server"), SFU_DTLS_ROLE_SERVER);
	assert_int_equal(sfu_dtls_role_parse("Client"), -1);
	assert_int_equal(sfu_dtls_role_parse("actpass"), -1);
	assert_int_equal(sfu_dtls_role_parse(NULL), -1);
	assert_string_equal(sfu_dtls_role_name(SFU_DTLS_ROLE_AUTO), "auto");
	assert_string_equal(sfu_dtls_role_name(SFU_DTLS_ROLE_CLIENT), "client");
	assert_string_equal(sfu_dtls_role_name(SFU_DTLS_ROLE_SERVER), "server");
	assert_string_equal(sfu_dtls_role_name((enum sfu_dtls_role)7), "");
	assert_string_equal(sfu_dtls_state_name(SFU_DTLS_STATE_NEW), "new");
	assert_string_equal(
	    sfu_dtls_state_name(SFU_DTLS_STATE_CONNECTING), "connecting");
	assert_string_equal(
	    sfu_dtls_state_name(SFU_DTLS_STATE_CONNECTED), "connected");
	assert_string_equal(
	    sfu_dtls_state_name(SFU_DTLS_STATE_FAILED), "failed");
	assert_string_equal(
	    sfu_dtls_state_name(SFU_DTLS_STATE_CLOSED), "closed");
	assert_string_equal(sfu_dtls_state_name((enum sfu_dtls_state)9), "");
}

/* The remote role from transport.connect gives ours, as in mediasoup. */
static void
test_dtls_transport_role_resolve(void **state)
{
	(void)state;
	assert_int_equal(
	    sfu_dtls_role_resolve(SFU_DTLS_ROLE_CLIENT), SFU_DTLS_ROLE_SERVER);
	assert_int_equal(
	    sfu_dtls_role_resolve(SFU_DTLS_ROLE_SERVER), SFU_DTLS_ROLE_CLIENT);
	assert_int_equal(
	    sfu_dtls_role_resolve(SFU_DTLS_ROLE_AUTO), SFU_DTLS_ROLE_CLIENT);
}

/* --- context --- */

static void
assert_fingerprint_format(const char *fp, size_t bytes)
{
	size_t i = 0;

	assert_non_null(fp);
	assert_int_equal(strlen(fp), 3 * bytes - 1);
	for (i = 0; i < 3 * bytes - 1; i++) {
		if (i % 3 == 2) {
			assert_int_equal(fp[i], ':');
		} else {
			assert_true(isxdigit((unsigned char)fp[i]));
			assert_false(islower((unsigned char)fp[i]));
		}
	}
}

/* Generated contexts: five fingerprints of the right shape, per context. */
static void
test_dtls_transport_ctx_fingerprints(void **state)
{
	struct fixture *f = *state;
	static const size_t bytes[] = {20, 28, 32, 48, 64};
	int i = 0;

	for (i = 0; i < SFU_DTLS_HASH_COUNT; i++) {
		assert_fingerprint_format(
		    sfu_dtls_ctx_fingerprint(f->ctx_a, (enum sfu_dtls_hash)i),
		    bytes[i]);
		assert_string_not_equal(
		    sfu_dtls_ctx_fingerprint(f->ctx_a, (enum sfu_dtls_hash)i),
		    sfu_dtls_ctx_fingerprint(f->ctx_b, (enum sfu_dtls_hash)i));
	}
	assert_int_equal(
	    strlen(sfu_dtls_ctx_fingerprint(f->ctx_a, SFU_DTLS_HASH_SHA256)),
	    95);
	assert_true(strlen(sfu_dtls_ctx_fingerprint(f->ctx_a,
	                SFU_DTLS_HASH_SHA512)) < SFU_DTLS_FINGERPRINT_MAX_LEN);
	assert_null(sfu_dtls_ctx_fingerprint(f->ctx_a, (enum sfu_dtls_hash)5));
	sfu_dtls_ctx_free(NULL);
	sfu_dtls_transport_free(NULL);
}

/* A key (EC P-256 or RSA 2048) and a self-signed certificate for it. */
static EVP_PKEY *
make_key(bool rsa)
{
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *key = NULL;

	pctx = EVP_PKEY_CTX_new_id(rsa ? EVP_PKEY_RSA : EVP_PKEY_EC, NULL);
	assert_non_null(pctx);
	assert_int_equal(EVP_PKEY_keygen_init(pctx), 1);
	if (rsa) {
		assert_int_equal(
		    EVP_PKEY_CTX_set_rsa_keygen_bits(pctx, 2048), 1);
	} else {
		assert_int_equal(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(
		                     pctx, NID_X9_62_prime256v1),
		    1);
	}
	assert_int_equal(EVP_PKEY_keygen(pctx, &key), 1);
	EVP_PKEY_CTX_free(pctx);
	return key;
}

static X509 *
make_cert(EVP_PKEY *key, const char *cn)
{
	X509 *cert = X509_new();
	X509_NAME *name = NULL;

	assert_non_null(cert);
	assert_int_equal(X509_set_version(cert, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(cert), 1), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), -3600));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(cert), 86400));
	assert_int_equal(X509_set_pubkey(cert, key), 1);
	name = X509_get_subject_name(cert);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	                     (const unsigned char *)cn, -1, -1, 0),
	    1);
	assert_int_equal(X509_set_issuer_name(cert, name), 1);
	assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
	return cert;
}

/* cert's SHA-256 fingerprint, computed here, "AB:CD:..." into out. */
static void
fingerprint_of(X509 *cert, char *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	unsigned int i = 0;

	assert_int_equal(X509_digest(cert, EVP_sha256(), md, &md_len), 1);
	assert_int_equal(md_len, 32);
	for (i = 0; i < md_len; i++) {
		snprintf(out + 3 * i, 4, "%02X:", md[i]);
	}
	out[3 * md_len - 1] = '\0';
}

/* Writes certs (PEM, in order) to dir/cert_rel and key to dir/key_rel. */
static void
write_pem(const char *dir, const char *cert_rel, X509 **certs, int ncerts,
    const char *key_rel, EVP_PKEY *key, char **cert_path, char **key_path)
{
	BIO *mem = BIO_new(BIO_s_mem());
	char *p = NULL;
	long n = 0;
	int i = 0;

	assert_non_null(mem);
	for (i = 0; i < ncerts; i++) {
		assert_int_equal(PEM_write_bio_X509(mem, certs[i]), 1);
	}
	n = BIO_get_mem_data(mem, &p);
	*cert_path = helpers_write_file(dir, cert_rel, p, (size_t)n);
	(void)BIO_reset(mem);
	assert_int_equal(
	    PEM_write_bio_PrivateKey(mem, key, NULL, NULL, 0, NULL, NULL), 1);
	n = BIO_get_mem_data(mem, &p);
	*key_path = helpers_write_file(dir, key_rel, p, (size_t)n);
	BIO_free(mem);
}

static void
make_tmpdir(struct fixture *f)
{
	assert_int_equal(
	    helpers_mkdtemp(f->tmpdir, sizeof(f->tmpdir), "test_dtls"), 0);
}

/*
 * A context from PEM files (RSA) shows the certificate's fingerprint and
 * completes a handshake with a generated (ECDSA) one.
 */
static void
test_dtls_transport_ctx_from_pem_files(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err = {0};
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char *cert_path = NULL;
	char *key_path = NULL;
	char want[SFU_DTLS_FINGERPRINT_MAX_LEN];

	make_tmpdir(f);
	key = make_key(true);
	cert = make_cert(key, "pem-test");
	write_pem(f->tmpdir, "cert.pem", &cert, 1, "key.pem", key, &cert_path,
	    &key_path);
	fingerprint_of(cert, want);

	sfu_dtls_ctx_free(f->ctx_b);
	f->ctx_b = sfu_dtls_ctx_new(cert_path, key_path, &err);
	assert_non_null(f->ctx_b);
	assert_string_equal(
	    sfu_dtls_ctx_fingerprint(f->ctx_b, SFU_DTLS_HASH_SHA256), want);

	pair_init(f);
	pair_connect(f, SFU_DTLS_ROLE_CLIENT);
	assert_int_equal(f->a.connected_calls, 1);
	assert_int_equal(f->b.connected_calls, 1);
	srtp_round_trip(&f->a, &f->b);

	X509_free(cert);
	EVP_PKEY_free(key);
	free(cert_path);
	free(key_path);
}

/* Missing, unreadable, mismatched or lone files: errors naming the file. */
static void
test_dtls_transport_ctx_file_errors(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err = {0};
	EVP_PKEY *key1 = NULL;
	EVP_PKEY *key2 = NULL;
	X509 *cert1 = NULL;
	X509 *cert2 = NULL;
	char *cert1_path = NULL;
	char *key1_path = NULL;
	char *cert2_path = NULL;
	char *key2_path = NULL;
	char *junk_path = NULL;
	char missing[PATH_MAX + 32];

	make_tmpdir(f);
	key1 = make_key(false);
	key2 = make_key(false);
	cert1 = make_cert(key1, "one");
	cert2 = make_cert(key2, "two");
	write_pem(f->tmpdir, "cert1.pem", &cert1, 1, "key1.pem", key1,
	    &cert1_path, &key1_path);
	write_pem(f->tmpdir, "cert2.pem", &cert2, 1, "key2.pem", key2,
	    &cert2_path, &key2_path);
	junk_path = helpers_write_file(f->tmpdir, "junk.pem", "not pem\n", 8);
	snprintf(missing, sizeof(missing), "%s/missing.pem", f->tmpdir);

	/* The matching pair loads. */
	sfu_dtls_ctx_free(f->ctx_b);
	f->ctx_b = sfu_dtls_ctx_new(cert1_path, key1_path, &err);
	assert_non_null(f->ctx_b);

	/* Key of another certificate. */
	assert_null(sfu_dtls_ctx_new(cert1_path, key2_path, &err));
	assert_int_equal(err.kind, SFU_ERR_ERROR);
	assert_non_null(strstr(err.reason, key2_path));
	assert_non_null(strstr(err.reason, "does not match"));

	/* Missing certificate, missing key. */
	sfu_error_clear(&err);
	assert_null(sfu_dtls_ctx_new(missing, key1_path, &err));
	assert_non_null(strstr(err.reason, missing));
	assert_non_null(strstr(err.reason, "No such file"));
	sfu_error_clear(&err);
	assert_null(sfu_dtls_ctx_new(cert1_path, missing, &err));
	assert_non_null(strstr(err.reason, missing));

	/* Not PEM. */
	sfu_error_clear(&err);
	assert_null(sfu_dtls_ctx_new(junk_path, key1_path, &err));
	assert_non_null(strstr(err.reason, junk_path));
	sfu_error_clear(&err);
	assert_null(sfu_dtls_ctx_new(cert1_path, junk_path, &err));
	assert_non_null(strstr(err.reason, junk_path));
	/* A certificate where the key should be. */
	sfu_error_clear(&err);
	assert_null(sfu_dtls_ctx_new(cert1_path, cert1_path, &err));
	assert_non_null(strstr(err.reason, "private key"));

	/* Only one of the two. */
	sfu_error_clear(&err);
	assert_null(sfu_dtls_ctx_new(cert1_path, NULL, &err));
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	sfu_error_clear(&err);
	assert_null(sfu_dtls_ctx_new(NULL, key1_path, &err));
	assert_int_equal(err.kind, SFU_ERR_TYPE);

	X509_free(cert1);
	X509_free(cert2);
	EVP_PKEY_free(key1);
	EVP_PKEY_free(key2);
	free(cert1_path);
	free(key1_path);
	free(cert2_path);
	free(key2_path);
	free(junk_path);
}

/* --- handshakes --- */

static void
assert_keys_cross(const struct fixture *f, enum sfu_srtp_suite suite)
{
	assert_int_equal(f->a.connected_calls, 1);
	assert_int_equal(f->b.connected_calls, 1);
	assert_int_equal(f->a.suite, suite);
	assert_int_equal(f->b.suite, suite);
	assert_int_equal(f->a.key_len, sfu_srtp_suite_key_len(suite));
	assert_int_equal(f->b.key_len, sfu_srtp_suite_key_len(suite));
	assert_memory_equal(f->a.local_key, f->b.remote_key, f->a.key_len);
	assert_memory_equal(f->a.remote_key, f->b.local_key, f->a.key_len);
	assert_memory_not_equal(f->a.local_key, f->a.remote_key, f->a.key_len);
	srtp_round_trip(&f->a, &f->b);
	srtp_round_trip(&f->b, &f->a);
}

/*
 * A default handshake: states in order, on_connected once before
 * CONNECTED, roles, lower-case fingerprints accepted, and AEAD_AES_256_GCM
 * (first in our preference) chosen.
 */
static void
test_dtls_transport_handshake(void **state)
{
	struct fixture *f = *state;
	char lower[SFU_DTLS_FINGERPRINT_MAX_LEN];
	struct sfu_dtls_transport_stats st;
	size_t i = 0;

	snprintf(lower, sizeof(lower), "%s",
	    sfu_dtls_ctx_fingerprint(f->ctx_b, SFU_DTLS_HASH_SHA512));
	for (i = 0; lower[i] != '\0'; i++) {
		lower[i] = (char)tolower((unsigned char)lower[i]);
	}
	pair_init(f);
	peer_start(&f->b, SFU_DTLS_ROLE_SERVER, SFU_DTLS_HASH_SHA1,
	    sfu_dtls_ctx_fingerprint(f->ctx_a, SFU_DTLS_HASH_SHA1));
	assert_int_equal(f->b.sent, 0); /* a server waits */
	peer_start(&f->a, SFU_DTLS_ROLE_CLIENT, SFU_DTLS_HASH_SHA512, lower);
	assert_true(f->a.sent >= 1); /* the ClientHello, at once */
	assert_true(run_loop_until(f->base, cond_both_connected, f, LOOP_MS));

	assert_int_equal(f->a.nstates, 2);
	assert_int_equal(f->a.states[0], SFU_DTLS_STATE_CONNECTING);
	assert_int_equal(f->a.states[1], SFU_DTLS_STATE_CONNECTED);
	assert_int_equal(f->b.nstates, 2);
	assert_int_equal(f->b.states[0], SFU_DTLS_STATE_CONNECTING);
	assert_int_equal(f->a.state_in_connected, SFU_DTLS_STATE_CONNECTED);
	assert_int_equal(
	    sfu_dtls_transport_local_role(f->a.t), SFU_DTLS_ROLE_CLIENT);
	assert_int_equal(
	    sfu_dtls_transport_local_role(f->b.t), SFU_DTLS_ROLE_SERVER);
	assert_keys_cross(f, SFU_SRTP_AEAD_AES_256_GCM);

	sfu_dtls_transport_get_stats(f->a.t, &st);
	assert_int_equal(st.datagrams_out, f->a.sent);
	assert_true(st.datagrams_in >= 1);
	assert_true(st.bytes_out > 0 && st.bytes_in > 0);
	assert_int_equal(st.dropped_in, 0);
	assert_true(f->a.max_dgram <= SFU_DTLS_MTU);
	assert_true(f->b.max_dgram <= SFU_DTLS_MTU);
}

/* Makes p a plain OpenSSL peer on sctx talking to f->a. */
static void
raw_peer_init(struct fixture *f, struct peer *p, SSL_CTX *sctx)
{
	BIO *rbio = NULL;
	BIO *wbio = NULL;

	memset(p, 0, sizeof(*p));
	p->name = "raw";
	p->other = &f->a;
	p->deliver_ev = event_new(f->base, -1, 0, peer_on_deliver, p);
	assert_non_null(p->deliver_ev);
	p->raw = SSL_new(sctx);
	assert_non_null(p->raw);
	rbio = BIO_new(BIO_s_mem());
	wbio = BIO_new(BIO_s_mem());
	assert_non_null(rbio);
	assert_non_null(wbio);
	BIO_set_mem_eof_return(rbio, -1);
	SSL_set_bio(p->raw, rbio, wbio);
	p->raw_rbio = rbio;
	p->raw_wbio = wbio;
}

/* A plain OpenSSL context with a fresh P-256 certificate. */
static SSL_CTX *
raw_ctx_new(X509 **cert_out, EVP_PKEY **key_out)
{
	SSL_CTX *sctx = NULL;

	*key_out = make_key(false);
	*cert_out = make_cert(*key_out, "raw-openssl-peer");
	sctx = SSL_CTX_new(DTLS_method());
	assert_non_null(sctx);
	assert_int_equal(SSL_CTX_use_certificate(sctx, *cert_out), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(sctx, *key_out), 1);
	SSL_CTX_set_verify(sctx, SSL_VERIFY_NONE, NULL);
	return sctx;
}

/*
 * Against a plain OpenSSL peer (the test's own SSL, not this module):
 * the keys follow RFC 5764 §4.2 for either role. The peer's exporter gives
 * client key | server key | client salt | server salt; as client our
 * local key must be the client's key + salt, as server the server's.
 */
static void
test_dtls_transport_keys_match_rfc5764(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err = {0};
	SSL_CTX *sctx = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char fp[SFU_DTLS_FINGERPRINT_MAX_LEN];
	uint8_t m[2 * 30];
	uint8_t client[30];
	uint8_t server[30];
	const SRTP_PROTECTION_PROFILE *prof = NULL;
	int role = 0;

	sctx = raw_ctx_new(&cert, &key);
	fingerprint_of(cert, fp);
	assert_int_equal(
	    SSL_CTX_set_tlsext_use_srtp(sctx, "SRTP_AES128_CM_SHA1_80"), 0);

	for (role = 0; role < 2; role++) {
		/* role 0: we are the client; 1: we are the server. */
		peer_init(f, &f->a, "a", f->ctx_a, &f->b);
		raw_peer_init(f, &f->b, sctx);
		if (role == 0) {
			SSL_set_accept_state(f->b.raw);
			peer_start(&f->a, SFU_DTLS_ROLE_CLIENT,
			    SFU_DTLS_HASH_SHA256, fp);
		} else {
			SSL_set_connect_state(f->b.raw);
			peer_start(&f->a, SFU_DTLS_ROLE_SERVER,
			    SFU_DTLS_HASH_SHA256, fp);
			raw_peer_drive(&f->b); /* its ClientHello */
		}
		wait_state(f, &f->a, SFU_DTLS_STATE_CONNECTED);
		assert_true(f->b.raw_done);
		prof = SSL_get_selected_srtp_profile(f->b.raw);
		assert_non_null(prof);
		assert_int_equal(prof->id, SRTP_AES128_CM_SHA1_80);
		assert_int_equal(f->a.suite, SFU_SRTP_AES_CM_128_HMAC_SHA1_80);
		assert_int_equal(f->a.key_len, 30);
		assert_int_equal(
		    SSL_export_keying_material(f->b.raw, m, sizeof(m),
		        "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0),
		    1);
		memcpy(client, m, 16);
		memcpy(client + 16, m + 32, 14);
		memcpy(server, m + 16, 16);
		memcpy(server + 16, m + 46, 14);
		if (role == 0) {
			assert_memory_equal(f->a.local_key, client, 30);
			assert_memory_equal(f->a.remote_key, server, 30);
		} else {
			assert_memory_equal(f->a.local_key, server, 30);
			assert_memory_equal(f->a.remote_key, client, 30);
		}
		pair_fini(f);
	}
	SSL_CTX_free(sctx);
	X509_free(cert);
	EVP_PKEY_free(key);
	(void)err;
}

/*
 * Handshake errors: a server with no cipher we accept answers our hello
 * with a fatal alert (client FAILED); a client offering none makes our
 * server fail and send one.
 */
static void
test_dtls_transport_fatal_alert_fails(void **state)
{
	struct fixture *f = *state;
	SSL_CTX *sctx = NULL;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	char fp[SFU_DTLS_FINGERPRINT_MAX_LEN];
	int role = 0;

	sctx = raw_ctx_new(&cert, &key);
	fingerprint_of(cert, fp);
	/* Static RSA key exchange only: not in our ECDHE list. */
	assert_int_equal(SSL_CTX_set_cipher_list(sctx, "AES128-SHA"), 1);
	SSL_CTX_set_security_level(sctx, 0);

	for (role = 0; role < 2; role++) {
		peer_init(f, &f->a, "a", f->ctx_a, &f->b);
		raw_peer_init(f, &f->b, sctx);
		if (role == 0) {
			SSL_set_accept_state(f->b.raw);
			peer_start(&f->a, SFU_DTLS_ROLE_CLIENT,
			    SFU_DTLS_HASH_SHA256, fp);
		} else {
			SSL_set_connect_state(f->b.raw);
			peer_start(&f->a, SFU_DTLS_ROLE_SERVER,
			    SFU_DTLS_HASH_SHA256, fp);
			raw_peer_drive(&f->b);
		}
		wait_state(f, &f->a, SFU_DTLS_STATE_FAILED);
		assert_int_equal(f->a.connected_calls, 0);
		assert_int_equal(f->a.nstates, 2);
		/* The alert from whichever side failed reached the other. */
		run_for(f, 30);
		assert_true(f->b.raw_failed);
		pair_fini(f);
	}
	SSL_CTX_free(sctx);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/*
 * Each SRTP profile, forced on the client or on the server, is what both
 * sides get, with keys that protect and unprotect a real RTP packet.
 */
static void
test_dtls_transport_each_srtp_profile(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *profile;
		enum sfu_srtp_suite suite;
	} cases[] = {
	    {"SRTP_AEAD_AES_256_GCM", SFU_SRTP_AEAD_AES_256_GCM},
	    {"SRTP_AEAD_AES_128_GCM", SFU_SRTP_AEAD_AES_128_GCM},
	    {"SRTP_AES128_CM_SHA1_80", SFU_SRTP_AES_CM_128_HMAC_SHA1_80},
	    {"SRTP_AES128_CM_SHA1_32", SFU_SRTP_AES_CM_128_HMAC_SHA1_32},
	};
	struct sfu_error err = {0};
	struct sfu_dtls_ctx *restricted = NULL;
	size_t i = 0;
	int side = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (side = 0; side < 2; side++) {
			/* side 0: a (client) restricted; 1: b (server). */
			restricted = side == 0 ? f->ctx_a : f->ctx_b;
			assert_int_equal(
			    sfu_dtls_ctx_set_srtp_profiles(
			        restricted, cases[i].profile, &err),
			    0);
			pair_init(f);
			/* Later changes leave existing transports alone. */
			assert_int_equal(
			    sfu_dtls_ctx_set_srtp_profiles(restricted,
			        "SRTP_AEAD_AES_256_GCM:"
			        "SRTP_AEAD_AES_128_GCM:"
			        "SRTP_AES128_CM_SHA1_80:"
			        "SRTP_AES128_CM_SHA1_32",
			        &err),
			    0);
			pair_connect(f, SFU_DTLS_ROLE_CLIENT);
			assert_keys_cross(f, cases[i].suite);
			pair_fini(f);
		}
	}
}

/*
 * Roles swapped (a is the server): keys still cross; a bad profile list
 * is refused and the old one kept.
 */
static void
test_dtls_transport_server_side_and_profile_errors(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err = {0};

	assert_int_equal(
	    sfu_dtls_ctx_set_srtp_profiles(f->ctx_a, "SRTP_BOGUS", &err), -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_int_equal(
	    sfu_dtls_ctx_set_srtp_profiles(f->ctx_a, "", &err), -1);
	assert_int_equal(
	    sfu_dtls_ctx_set_srtp_profiles(f->ctx_a, NULL, &err), -1);
	pair_init(f);
	pair_connect(f, SFU_DTLS_ROLE_SERVER);
	assert_keys_cross(f, SFU_SRTP_AEAD_AES_256_GCM);
}

/* No SRTP profile in common: both sides fail, no keys. */
static void
test_dtls_transport_no_common_srtp_profile(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err = {0};

	assert_int_equal(sfu_dtls_ctx_set_srtp_profiles(
	                     f->ctx_a, "SRTP_AES128_CM_SHA1_32", &err),
	    0);
	assert_int_equal(sfu_dtls_ctx_set_srtp_profiles(
	                     f->ctx_b, "SRTP_AEAD_AES_128_GCM", &err),
	    0);
	pair_init(f);
	pair_start(f, SFU_DTLS_ROLE_CLIENT);
	wait_state(f, &f->a, SFU_DTLS_STATE_FAILED);
	wait_state(f, &f->b, SFU_DTLS_STATE_FAILED);
	assert_int_equal(f->a.connected_calls, 0);
	assert_int_equal(f->b.connected_calls, 0);
}

/* The server checks a wrong fingerprint: it fails, the client is told. */
static void
test_dtls_transport_wrong_fingerprint_server(void **state)
{
	struct fixture *f = *state;
	char wrong[SFU_DTLS_FINGERPRINT_MAX_LEN];

	snprintf(wrong, sizeof(wrong), "%s",
	    sfu_dtls_ctx_fingerprint(f->ctx_a, SFU_DTLS_HASH_SHA256));
	wrong[0] = wrong[0] == '0' ? '1' : '0';
	pair_init(f);
	peer_start(&f->b, SFU_DTLS_ROLE_SERVER, SFU_DTLS_HASH_SHA256, wrong);
	peer_start(&f->a, SFU_DTLS_ROLE_CLIENT, SFU_DTLS_HASH_SHA256,
	    sfu_dtls_ctx_fingerprint(f->ctx_b, SFU_DTLS_HASH_SHA256));
	wait_state(f, &f->b, SFU_DTLS_STATE_FAILED);
	assert_int_equal(f->b.connected_calls, 0);
	assert_int_equal(f->b.nstates, 2);
	/* The client finished its side, then got our close_notify. */
	wait_state(f, &f->a, SFU_DTLS_STATE_CLOSED);
	/* Nothing reaches a failed transport. */
	assert_int_equal(
	    sfu_dtls_transport_send_app_data(f->b.t, (const uint8_t *)"x", 1),
	    -1);
}

/* The client checks: the fingerprint of another hash's certificate. */
static void
test_dtls_transport_wrong_fingerprint_client(void **state)
{
	struct fixture *f = *state;

	pair_init(f);
	peer_start(&f->b, SFU_DTLS_ROLE_SERVER, SFU_DTLS_HASH_SHA256,
	    sfu_dtls_ctx_fingerprint(f->ctx_a, SFU_DTLS_HASH_SHA256));
	/* Its own certificate's fingerprint, not the server's. */
	peer_start(&f->a, SFU_DTLS_ROLE_CLIENT, SFU_DTLS_HASH_SHA256,
	    sfu_dtls_ctx_fingerprint(f->ctx_a, SFU_DTLS_HASH_SHA256));
	wait_state(f, &f->a, SFU_DTLS_STATE_FAILED);
	assert_int_equal(f->a.connected_calls, 0);
	wait_state(f, &f->b, SFU_DTLS_STATE_CLOSED);
	run_for(f, 50);
	assert_int_equal(f->a.nstates, 2); /* nothing after FAILED */
}

/* start() refuses bad arguments and leaves the transport NEW. */
static void
test_dtls_transport_start_rejects_bad_arguments(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err = {0};
	const char *fp =
	    sfu_dtls_ctx_fingerprint(f->ctx_b, SFU_DTLS_HASH_SHA256);
	char bad[SFU_DTLS_FINGERPRINT_MAX_LEN];

	pair_init(f);
	assert_int_equal(sfu_dtls_transport_start(f->a.t, SFU_DTLS_ROLE_AUTO,
	                     SFU_DTLS_HASH_SHA256, fp, &err),
	    -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	/* Unknown hash. */
	assert_int_equal(
	    sfu_dtls_transport_start(f->a.t, SFU_DTLS_ROLE_CLIENT,
	        (enum sfu_dtls_hash)sfu_dtls_hash_parse("md5"), fp, &err),
	    -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_int_equal(sfu_dtls_transport_start(f->a.t, SFU_DTLS_ROLE_CLIENT,
	                     (enum sfu_dtls_hash)42, fp, &err),
	    -1);
	/* A sha-256 fingerprint given as sha-1, NULL, bad characters. */
	assert_int_equal(sfu_dtls_transport_start(f->a.t, SFU_DTLS_ROLE_CLIENT,
	                     SFU_DTLS_HASH_SHA1, fp, &err),
	    -1);
	assert_int_equal(sfu_dtls_transport_start(f->a.t, SFU_DTLS_ROLE_CLIENT,
	                     SFU_DTLS_HASH_SHA256, NULL, &err),
	    -1);
	snprintf(bad, sizeof(bad), "%s", fp);
	bad[4] = 'G';
	assert_int_equal(sfu_dtls_transport_start(f->a.t, SFU_DTLS_ROLE_CLIENT,
	                     SFU_DTLS_HASH_SHA256, bad, &err),
	    -1);
	snprintf(bad, sizeof(bad), "%s", fp);
	bad[2] = '-';
	assert_int_equal(sfu_dtls_transport_start(f->a.t, SFU_DTLS_ROLE_CLIENT,
	                     SFU_DTLS_HASH_SHA256, bad, &err),
	    -1);
	assert_int_equal(sfu_dtls_transport_state(f->a.t), SFU_DTLS_STATE_NEW);
	assert_int_equal(f->a.nstates, 0);
	assert_int_equal(f->a.sent, 0);

	/* Twice. */
	peer_start(&f->a, SFU_DTLS_ROLE_CLIENT, SFU_DTLS_HASH_SHA256, fp);
	sfu_error_clear(&err);
	assert_int_equal(sfu_dtls_transport_start(f->a.t, SFU_DTLS_ROLE_SERVER,
	                     SFU_DTLS_HASH_SHA256, fp, &err),
	    -1);
	assert_int_equal(err.kind, SFU_ERR_INVALID_STATE);
	assert_int_equal(
	    sfu_dtls_transport_local_role(f->a.t), SFU_DTLS_ROLE_CLIENT);
}

/* Lost datagrams both ways: the retransmission timer recovers. */
static void
test_dtls_transport_retransmits_lost_datagrams(void **state)
{
	struct fixture *f = *state;
	struct sfu_dtls_transport_stats st;

	pair_init(f);
	f->a.drop_first = 3; /* the ClientHello, three times */
	f->b.drop_first = 1; /* the first of the server's flight */
	pair_connect(f, SFU_DTLS_ROLE_CLIENT);
	assert_int_equal(f->a.dropped, 3);
	assert_int_equal(f->b.dropped, 1);
	sfu_dtls_transport_get_stats(f->a.t, &st);
	assert_true(st.retransmits >= 3);
	assert_keys_cross(f, SFU_SRTP_AEAD_AES_256_GCM);
}

/* A peer that never answers: FAILED at the handshake deadline. */
static void
test_dtls_transport_handshake_timeout(void **state)
{
	struct fixture *f = *state;
	struct sfu_dtls_transport_stats st;

	pair_init(f);
	f->a.drop_all = true;
	sfu_dtls_transport_set_handshake_timeout(f->a.t, 400);
	peer_start(&f->a, SFU_DTLS_ROLE_CLIENT, SFU_DTLS_HASH_SHA256,
	    sfu_dtls_ctx_fingerprint(f->ctx_b, SFU_DTLS_HASH_SHA256));
	wait_state(f, &f->a, SFU_DTLS_STATE_FAILED);
	assert_int_equal(f->a.nstates, 2);
	sfu_dtls_transport_get_stats(f->a.t, &st);
	assert_true(st.retransmits >= 1);
	assert_true(f->a.sent >= 2);
	/* Nothing more is sent once failed. */
	f->a.sent = 0;
	run_for(f, 300);
	assert_int_equal(f->a.sent, 0);
}

/* close_notify: a closes, b reaches CLOSED; both refuse app data then. */
static void
test_dtls_transport_close_notify(void **state)
{
	struct fixture *f = *state;
	unsigned int sent = 0;

	pair_init(f);
	pair_connect(f, SFU_DTLS_ROLE_CLIENT);
	sent = f->a.sent;
	sfu_dtls_transport_close(f->a.t);
	assert_int_equal(f->a.sent, sent + 1); /* the alert */
	assert_int_equal(peer_last_state(&f->a), SFU_DTLS_STATE_CLOSED);
	assert_int_equal(
	    sfu_dtls_transport_state(f->a.t), SFU_DTLS_STATE_CLOSED);
	wait_state(f, &f->b, SFU_DTLS_STATE_CLOSED);
	assert_int_equal(f->b.nstates, 3);
	assert_int_equal(
	    sfu_dtls_transport_send_app_data(f->a.t, (const uint8_t *)"x", 1),
	    -1);
	assert_int_equal(
	    sfu_dtls_transport_send_app_data(f->b.t, (const uint8_t *)"x", 1),
	    -1);
	/* Closing again does nothing. */
	sfu_dtls_transport_close(f->a.t);
	sfu_dtls_transport_close(f->b.t);
	assert_int_equal(f->a.nstates, 3);
	assert_int_equal(f->b.nstates, 3);
}

/* Closing before the handshake: CLOSED, nothing sent. */
static void
test_dtls_transport_close_before_connected(void **state)
{
	struct fixture *f = *state;

	pair_init(f);
	sfu_dtls_transport_close(f->a.t);
	assert_int_equal(f->a.nstates, 1);
	assert_int_equal(f->a.states[0], SFU_DTLS_STATE_CLOSED);
	assert_int_equal(f->a.sent, 0);

	peer_start(&f->b, SFU_DTLS_ROLE_SERVER, SFU_DTLS_HASH_SHA256,
	    sfu_dtls_ctx_fingerprint(f->ctx_a, SFU_DTLS_HASH_SHA256));
	sfu_dtls_transport_close(f->b.t);
	assert_int_equal(peer_last_state(&f->b), SFU_DTLS_STATE_CLOSED);
	assert_int_equal(f->b.sent, 0);
}

/* Application data both ways, only while connected, bounded in size. */
static void
test_dtls_transport_app_data(void **state)
{
	struct fixture *f = *state;
	static uint8_t big[SFU_DTLS_MAX_APP_DATA_LEN + 1];
	uint8_t msg[1000];
	size_t i = 0;

	for (i = 0; i < sizeof(msg); i++) {
		msg[i] = (uint8_t)(i * 7);
	}
	pair_init(f);
	assert_int_equal(sfu_dtls_transport_send_app_data(
	                     f->a.t, (const uint8_t *)"early", 5),
	    -1);
	pair_connect(f, SFU_DTLS_ROLE_CLIENT);

	assert_int_equal(sfu_dtls_transport_send_app_data(
	                     f->a.t, (const uint8_t *)"hello", 5),
	    0);
	run_for(f, 20);
	assert_int_equal(f->b.app_count, 1);
	assert_int_equal(f->b.app_len, 5);
	assert_memory_equal(f->b.app, "hello", 5);

	assert_int_equal(
	    sfu_dtls_transport_send_app_data(f->b.t, msg, sizeof(msg)), 0);
	run_for(f, 20);
	assert_int_equal(f->a.app_count, 1);
	assert_int_equal(f->a.app_len, sizeof(msg));
	assert_memory_equal(f->a.app, msg, sizeof(msg));

	assert_int_equal(sfu_dtls_transport_send_app_data(f->a.t, msg, 0), -1);
	assert_int_equal(
	    sfu_dtls_transport_send_app_data(f->a.t, big, sizeof(big)), -1);
	assert_int_equal(f->a.app_count, 1);
}

/*
 * Garbage before start, during the handshake and once connected is
 * dropped or ignored; the handshake and app data still work.
 */
static void
test_dtls_transport_garbage(void **state)
{
	struct fixture *f = *state;
	static uint8_t huge[SFU_DTLS_MAX_DATAGRAM_LEN + 1];
	struct sfu_dtls_transport_stats st;
	uint8_t junk[200];
	/* An application data record of epoch 1 with a bad MAC. */
	uint8_t forged[13 + 48];
	size_t i = 0;

	for (i = 0; i < sizeof(junk); i++) {
		junk[i] = (uint8_t)(i * 37 + 11);
	}
	memset(forged, 0x5a, sizeof(forged));
	forged[0] = 23;
	forged[1] = 0xfe;
	forged[2] = 0xfd;
	forged[3] = 0;
	forged[4] = 1;
	forged[11] = 0;
	forged[12] = 48;

	pair_init(f);
	sfu_dtls_transport_feed(f->a.t, junk, sizeof(junk));
	sfu_dtls_transport_feed(f->b.t, junk, 1);
	sfu_dtls_transport_get_stats(f->a.t, &st);
	assert_int_equal(st.dropped_in, 1);
	assert_int_equal(st.datagrams_in, 0);
	assert_int_equal(f->a.nstates, 0);
	assert_int_equal(f->a.sent, 0);

	peer_start(&f->b, SFU_DTLS_ROLE_SERVER, SFU_DTLS_HASH_SHA256,
	    sfu_dtls_ctx_fingerprint(f->ctx_a, SFU_DTLS_HASH_SHA256));
	sfu_dtls_transport_feed(f->b.t, junk, sizeof(junk));
	sfu_dtls_transport_feed(f->b.t, junk, 13);
	sfu_dtls_transport_feed(f->b.t, forged, sizeof(forged));
	sfu_dtls_transport_feed(f->b.t, junk, 0);
	sfu_dtls_transport_feed(f->b.t, huge, sizeof(huge));
	assert_int_equal(peer_last_state(&f->b), SFU_DTLS_STATE_CONNECTING);
	sfu_dtls_transport_get_stats(f->b.t, &st);
	assert_int_equal(st.dropped_in, 3); /* before start, empty, huge */

	peer_start(&f->a, SFU_DTLS_ROLE_CLIENT, SFU_DTLS_HASH_SHA256,
	    sfu_dtls_ctx_fingerprint(f->ctx_b, SFU_DTLS_HASH_SHA256));
	sfu_dtls_transport_feed(f->a.t, junk, sizeof(junk));
	assert_true(run_loop_until(f->base, cond_both_connected, f, LOOP_MS));

	for (i = 0; i < 4; i++) {
		sfu_dtls_transport_feed(f->a.t, junk, sizeof(junk) - i);
		sfu_dtls_transport_feed(f->b.t, forged, sizeof(forged));
		sfu_dtls_transport_feed(f->a.t, forged, sizeof(forged));
	}
	assert_int_equal(peer_last_state(&f->a), SFU_DTLS_STATE_CONNECTED);
	assert_int_equal(peer_last_state(&f->b), SFU_DTLS_STATE_CONNECTED);
	assert_int_equal(f->a.app_count, 0);
	assert_int_equal(f->b.app_count, 0);
	assert_int_equal(sfu_dtls_transport_send_app_data(
	                     f->a.t, (const uint8_t *)"still", 5),
	    0);
	run_for(f, 20);
	assert_int_equal(f->b.app_count, 1);
	assert_memory_equal(f->b.app, "still", 5);
	assert_keys_cross(f, SFU_SRTP_AEAD_AES_256_GCM);

	/* After close: dropped. */
	sfu_dtls_transport_close(f->b.t);
	sfu_dtls_transport_get_stats(f->b.t, &st);
	sfu_dtls_transport_feed(f->b.t, junk, sizeof(junk));
	sfu_dtls_transport_get_stats(f->b.t, &st);
	assert_true(st.dropped_in >= 4);
}

/*
 * A certificate chain too large for one datagram: every datagram fits the
 * MTU and the handshake completes through fragmented messages.
 */
static void
test_dtls_transport_datagrams_fit_mtu(void **state)
{
	struct fixture *f = *state;
	struct sfu_error err = {0};
	EVP_PKEY *keys[4] = {NULL};
	X509 *certs[4] = {NULL};
	char cn[64];
	char *cert_path = NULL;
	char *key_path = NULL;
	int i = 0;

	make_tmpdir(f);
	for (i = 0; i < 4; i++) {
		keys[i] = make_key(false);
		snprintf(cn, sizeof(cn),
		    "a rather long common name to grow certificate %d", i);
		certs[i] = make_cert(keys[i], cn);
	}
	write_pem(f->tmpdir, "chain.pem", certs, 4, "key.pem", keys[0],
	    &cert_path, &key_path);
	sfu_dtls_ctx_free(f->ctx_b);
	f->ctx_b = sfu_dtls_ctx_new(cert_path, key_path, &err);
	assert_non_null(f->ctx_b);

	pair_init(f);
	pair_connect(f, SFU_DTLS_ROLE_CLIENT);
	assert_true(f->b.max_dgram <= SFU_DTLS_MTU);
	assert_true(f->a.max_dgram <= SFU_DTLS_MTU);
	/* Hello, certificates (over 1200 bytes), ...: several datagrams. */
	assert_true(f->b.sent >= 3);
	assert_true(f->b.max_dgram > SFU_DTLS_MTU / 2);
	assert_keys_cross(f, SFU_SRTP_AEAD_AES_256_GCM);

	for (i = 0; i < 4; i++) {
		X509_free(certs[i]);
		EVP_PKEY_free(keys[i]);
	}
	free(cert_path);
	free(key_path);
}

/* --- freeing and closing from callbacks --- */

/* The server frees itself when CONNECTED; the client connects anyway. */
static void
test_dtls_transport_free_in_on_state(void **state)
{
	struct fixture *f = *state;

	pair_init(f);
	f->b.free_at = FREE_ON_STATE;
	f->b.free_state = SFU_DTLS_STATE_CONNECTED;
	pair_start(f, SFU_DTLS_ROLE_CLIENT);
	wait_state(f, &f->a, SFU_DTLS_STATE_CONNECTED);
	assert_true(f->b.freed_in_callback);
	assert_null(f->b.t);
	assert_int_equal(f->b.connected_calls, 1);
}

/* The client frees itself in on_connected: no on_state(CONNECTED). */
static void
test_dtls_transport_free_in_on_connected(void **state)
{
	struct fixture *f = *state;

	pair_init(f);
	f->a.free_at = FREE_ON_CONNECTED;
	pair_start(f, SFU_DTLS_ROLE_CLIENT);
	wait_state(f, &f->b, SFU_DTLS_STATE_CONNECTED);
	run_for(f, 50);
	assert_true(f->a.freed_in_callback);
	assert_int_equal(f->a.connected_calls, 1);
	assert_int_equal(f->a.nstates, 1); /* CONNECTING only */
}

/* The client frees itself while sending its ClientHello from start(). */
static void
test_dtls_transport_free_in_on_send(void **state)
{
	struct fixture *f = *state;

	pair_init(f);
	f->a.free_at = FREE_ON_SEND;
	peer_start(&f->a, SFU_DTLS_ROLE_CLIENT, SFU_DTLS_HASH_SHA256,
	    sfu_dtls_ctx_fingerprint(f->ctx_b, SFU_DTLS_HASH_SHA256));
	assert_true(f->a.freed_in_callback);
	assert_int_equal(f->a.sent, 1);
	run_for(f, 250); /* no timer of the freed transport fires */
}

/* Freed from on_state(FAILED) inside the deadline timer. */
static void
test_dtls_transport_free_in_timer(void **state)
{
	struct fixture *f = *state;

	pair_init(f);
	f->a.drop_all = true;
	f->a.free_at = FREE_ON_STATE;
	f->a.free_state = SFU_DTLS_STATE_FAILED;
	sfu_dtls_transport_set_handshake_timeout(f->a.t, 150);
	peer_start(&f->a, SFU_DTLS_ROLE_CLIENT, SFU_DTLS_HASH_SHA256,
	    sfu_dtls_ctx_fingerprint(f->ctx_b, SFU_DTLS_HASH_SHA256));
	wait_state(f, &f->a, SFU_DTLS_STATE_FAILED);
	assert_true(f->a.freed_in_callback);
	run_for(f, 100);
}

/* Freed from on_app_data; closing from on_state(CONNECTED). */
static void
test_dtls_transport_free_in_app_data_and_close_in_state(void **state)
{
	struct fixture *f = *state;

	pair_init(f);
	f->b.free_at = FREE_ON_APP_DATA;
	pair_connect(f, SFU_DTLS_ROLE_CLIENT);
	assert_int_equal(
	    sfu_dtls_transport_send_app_data(f->a.t, (const uint8_t *)"one", 3),
	    0);
	assert_int_equal(
	    sfu_dtls_transport_send_app_data(f->a.t, (const uint8_t *)"two", 3),
	    0);
	run_for(f, 30);
	assert_true(f->b.freed_in_callback);
	assert_int_equal(f->b.app_count, 1);
	pair_fini(f);

	pair_init(f);
	f->a.free_at = CLOSE_ON_STATE;
	f->a.free_state = SFU_DTLS_STATE_CONNECTED;
	pair_start(f, SFU_DTLS_ROLE_CLIENT);
	wait_state(f, &f->b, SFU_DTLS_STATE_CLOSED);
	assert_int_equal(f->a.nstates, 3);
	assert_int_equal(f->a.states[1], SFU_DTLS_STATE_CONNECTED);
	assert_int_equal(f->a.states[2], SFU_DTLS_STATE_CLOSED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dtls_transport_hash_names),
	    cmocka_unit_test(test_dtls_transport_role_and_state_names),
	    cmocka_unit_test(test_dtls_transport_role_resolve),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_ctx_fingerprints, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_ctx_from_pem_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_ctx_file_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_handshake, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_keys_match_rfc5764, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_fatal_alert_fails, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_each_srtp_profile, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_server_side_and_profile_errors, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_no_common_srtp_profile, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_wrong_fingerprint_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_wrong_fingerprint_client, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_start_rejects_bad_arguments, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_retransmits_lost_datagrams, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_handshake_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_close_notify, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_close_before_connected, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_app_data, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_garbage, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_datagrams_fit_mtu, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_free_in_on_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_free_in_on_connected, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_free_in_on_send, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_free_in_timer, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_dtls_transport_free_in_app_data_and_close_in_state, setup,
	        teardown),
	};

	return cmocka_run_group_tests_name("dtls_transport", tests, NULL, NULL);
}
