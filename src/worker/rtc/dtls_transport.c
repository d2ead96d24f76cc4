/*
 * SPDX-License-Identifier: MIT
 *
 * dtls_transport: an OpenSSL DTLS endpoint over two memory BIOs. Received
 * datagrams are written into the read BIO and OpenSSL is driven
 * (SSL_do_handshake, then SSL_read); whatever it wrote into the write BIO
 * is cut at record boundaries into datagrams of at most SFU_DTLS_MTU bytes
 * and handed to the listener. Retransmissions use OpenSSL's DTLS timer,
 * mirrored by a timer_handle, plus an overall handshake deadline. Once the
 * handshake is done the peer certificate is checked against the signalled
 * fingerprint (RFC 8122 §5: the fingerprint, not a CA, authenticates it)
 * and the SRTP keys are exported (RFC 5764 §4.2).
 *
 * Re-entrancy: every public entry point and timer callback counts itself
 * in t->depth; sfu_dtls_transport_free() from inside a callback only
 * marks the transport, and the outermost entry point frees it on the way
 * out. After each callback the code checks that the transport is still in
 * the state it expects before touching OpenSSL again.
 *
 * There is no process-global mutable state here: OpenSSL initialises
 * itself, each worker owns its sfu_dtls_ctx, and the transport is found
 * from the SSL through SSL_set_app_data().
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/srtp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define SFU_LOG_MODULE "dtls_transport"
#include "common/handle/timer_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "worker/rtc/dtls_transport.h"

/*
 * ECDHE only (forward secrecy); AEAD first, CBC for DTLS 1.0 peers. The
 * ECDSA and RSA variants cover a generated (P-256) or a loaded RSA
 * certificate.
 */
#define DTLS_CIPHERS                                                           \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"           \
	"ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:"                         \
	"ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA"

/* Server preference order: AEAD before AES-CM, as libwebrtc. */
#define DTLS_SRTP_PROFILES                                                     \
	"SRTP_AEAD_AES_256_GCM:SRTP_AEAD_AES_128_GCM:"                         \
	"SRTP_AES128_CM_SHA1_80:SRTP_AES128_CM_SHA1_32"

/* RFC 5764 §4.2. */
#define DTLS_SRTP_EXPORTER_LABEL "EXTRACTOR-dtls_srtp"

/*
 * Retransmission timeout: first 100 ms, doubled up to 4 s (mediasoup's
 * DTLS timer callback). OpenSSL's own default (1 s doubling to 60 s) is
 * too slow for a media call set-up. OpenSSL gives up by itself after 12
 * expiries without progress (about 30 s with these numbers).
 */
#define DTLS_RTO_INITIAL_US 100000u
#define DTLS_RTO_MAX_US 4000000u

/* Generated certificate: valid from a day ago (clock skew) for a year. */
#define DTLS_CERT_NOT_BEFORE_S (-86400L)
#define DTLS_CERT_VALID_S (365L * 86400L)
#define DTLS_CERT_SERIAL_BITS 64

/* DTLS record header: type, version, epoch, sequence, length (RFC 6347). */
#define DTLS_RECORD_HEADER_LEN 13

#define DTLS_LOG_ID_LEN 64
#define DTLS_ERRBUF_LEN 256

struct sfu_dtls_ctx {
	SSL_CTX *ssl_ctx; /* owned: one reference, transports hold others */
	char srtp_profiles[128]; /* copied into each new SSL */
	char fingerprints[SFU_DTLS_HASH_COUNT][SFU_DTLS_FINGERPRINT_MAX_LEN];
};

struct sfu_dtls_transport {
	SSL *ssl;  /* owned; owns rbio and wbio */
	BIO *rbio; /* borrowed from ssl: datagrams fed in */
	BIO *wbio; /* borrowed from ssl: records to send */
	struct sfu_timer_handle *rto_timer;       /* owned: retransmission */
	struct sfu_timer_handle *handshake_timer; /* owned: overall deadline */
	const struct sfu_dtls_transport_listener *listener; /* borrowed */
	void *lctx;                                         /* borrowed */
	enum sfu_dtls_state state;
	enum sfu_dtls_role role;
	enum sfu_dtls_hash remote_hash;
	char remote_fingerprint[SFU_DTLS_FINGERPRINT_MAX_LEN];
	uint64_t handshake_timeout_ms;
	unsigned int depth; /* our entry points on the stack */
	bool free_pending;  /* freed from a callback: free when depth is 0 */
	bool handshake_done;
	struct sfu_dtls_transport_stats stats;
	char log_id[DTLS_LOG_ID_LEN];
	uint8_t read_buf[SFU_DTLS_MAX_APP_DATA_LEN]; /* SSL_read target */
};

static const struct {
	const char *name; /* mediasoup's FingerprintAlgorithm */
	const EVP_MD *(*md)(void);
	size_t len; /* digest bytes */
} dtls_hashes[SFU_DTLS_HASH_COUNT] = {
    [SFU_DTLS_HASH_SHA1] = {"sha-1", EVP_sha1, 20},
    [SFU_DTLS_HASH_SHA224] = {"sha-224", EVP_sha224, 28},
    [SFU_DTLS_HASH_SHA256] = {"sha-256", EVP_sha256, 32},
    [SFU_DTLS_HASH_SHA384] = {"sha-384", EVP_sha384, 48},
    [SFU_DTLS_HASH_SHA512] = {"sha-512", EVP_sha512, 64},
};

static const char *const dtls_role_names[] = {
    [SFU_DTLS_ROLE_AUTO] = "auto",
    [SFU_DTLS_ROLE_CLIENT] = "client",
    [SFU_DTLS_ROLE_SERVER] = "server",
};

static const char *const dtls_state_names[] = {
    [SFU_DTLS_STATE_NEW] = "new",
    [SFU_DTLS_STATE_CONNECTING] = "connecting",
    [SFU_DTLS_STATE_CONNECTED] = "connected",
    [SFU_DTLS_STATE_FAILED] = "failed",
    [SFU_DTLS_STATE_CLOSED] = "closed",
};

/* DTLS-SRTP profile -> suite and the key/salt split of RFC 5764 §4.2. */
static const struct {
	unsigned long profile_id; /* SRTP_PROTECTION_PROFILE.id */
	enum sfu_srtp_suite suite;
	size_t key_len;  /* master key, bytes */
	size_t salt_len; /* master salt, bytes */
} dtls_srtp_profiles[] = {
    {SRTP_AEAD_AES_256_GCM, SFU_SRTP_AEAD_AES_256_GCM, 32, 12},
    {SRTP_AEAD_AES_128_GCM, SFU_SRTP_AEAD_AES_128_GCM, 16, 12},
    {SRTP_AES128_CM_SHA1_80, SFU_SRTP_AES_CM_128_HMAC_SHA1_80, 16, 14},
    {SRTP_AES128_CM_SHA1_32, SFU_SRTP_AES_CM_128_HMAC_SHA1_32, 16, 14},
};

#define DTLS_NPROFILES                                                         \
	(sizeof(dtls_srtp_profiles) / sizeof(dtls_srtp_profiles[0]))
#define DTLS_NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* --- names --- */

int
sfu_dtls_hash_parse(const char *name)
{
	size_t i = 0;

	if (name == NULL) {
		return -1;
	}
	for (i = 0; i < SFU_DTLS_HASH_COUNT; i++) {
		if (strcasecmp(name, dtls_hashes[i].name) == 0) {
			return (int)i;
		}
	}
	return -1;
}

const char *
sfu_dtls_hash_name(enum sfu_dtls_hash hash)
{
	if ((unsigned int)hash >= SFU_DTLS_HASH_COUNT) {
		return "";
	}
	return dtls_hashes[hash].name;
}

int
sfu_dtls_role_parse(const char *name)
{
	size_t i = 0;

	if (name == NULL) {
		return -1;
	}
	for (i = 0; i < DTLS_NELEMS(dtls_role_names); i++) {
		if (strcmp(name, dtls_role_names[i]) == 0) {
			return (int)i;
		}
	}
	return -1;
}

const char *
sfu_dtls_role_name(enum sfu_dtls_role role)
{
	if ((unsigned int)role >= DTLS_NELEMS(dtls_role_names)) {
		return "";
	}
	return dtls_role_names[role];
}

const char *
sfu_dtls_state_name(enum sfu_dtls_state state)
{
	if ((unsigned int)state >= DTLS_NELEMS(dtls_state_names)) {
		return "";
	}
	return dtls_state_names[state];
}

enum sfu_dtls_role
sfu_dtls_role_resolve(enum sfu_dtls_role remote_role)
{
	/*
	 * mediasoup WebRtcTransport, transport.connect: "If the peer has
	 * role 'auto' we become 'client' since we are ICE controlled."
	 */
	if (remote_role == SFU_DTLS_ROLE_CLIENT) {
		return SFU_DTLS_ROLE_SERVER;
	}
	return SFU_DTLS_ROLE_CLIENT;
}

/* --- helpers --- */

/*
 * Drains the calling thread's OpenSSL error queue into buf ("a; b"), so
 * that nothing stale is left for the next call. Returns buf.
 */
static const char *
dtls_ssl_errors(char *buf, size_t size)
{
	unsigned long e = 0;
	size_t off = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		if (off + 3 >= size) {
			continue;
		}
		if (off > 0) {
			buf[off++] = ';';
			buf[off++] = ' ';
		}
		ERR_error_string_n(e, buf + off, size - off);
		off += strlen(buf + off);
	}
	if (off == 0) {
		snprintf(buf, size, "no OpenSSL error");
	}
	return buf;
}

/* Writes cert's hash fingerprint as "AB:CD:..." into out. Returns 0/-1. */
static int
dtls_fingerprint(X509 *cert, enum sfu_dtls_hash hash, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	unsigned int i = 0;

	if (X509_digest(cert, dtls_hashes[hash].md(), md, &len) != 1 ||
	    len != dtls_hashes[hash].len) {
		return -1;
	}
	for (i = 0; i < len; i++) {
		out[3 * i] = hex[md[i] >> 4];
		out[3 * i + 1] = hex[md[i] & 0x0f];
		out[3 * i + 2] = ':';
	}
	out[3 * len - 1] = '\0';
	return 0;
}

/* Whether s is hash's digest length of hex pairs joined by ':'. */
static bool
dtls_fingerprint_valid(enum sfu_dtls_hash hash, const char *s)
{
	size_t n = dtls_hashes[hash].len;
	size_t i = 0;

	if (strlen(s) != 3 * n - 1) {
		return false;
	}
	for (i = 0; i < 3 * n - 1; i++) {
		if (i % 3 == 2) {
			if (s[i] != ':') {
				return false;
			}
		} else if (strchr("0123456789abcdefABCDEF", s[i]) == NULL) {
			return false;
		}
	}
	return true;
}

/* --- context --- */

/* Never prompts for a passphrase: an encrypted key file is an error. */
static int
dtls_ctx_no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Accepts any certificate: the fingerprint is checked after the handshake. */
static int
dtls_ctx_on_verify(int preverify_ok, X509_STORE_CTX *store)
{
	(void)preverify_ok;
	(void)store;
	return 1;
}

static EVP_PKEY *
dtls_ctx_generate_key(struct sfu_error *err)
{
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *key = NULL;
	char ebuf[DTLS_ERRBUF_LEN];

	pctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	if (pctx == NULL || EVP_PKEY_keygen_init(pctx) != 1 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(
	        pctx, NID_X9_62_prime256v1) != 1 ||
	    EVP_PKEY_CTX_set_ec_param_enc(pctx, OPENSSL_EC_NAMED_CURVE) != 1 ||
	    EVP_PKEY_keygen(pctx, &key) != 1) {
		sfu_error_set(err, SFU_ERR_ERROR,
		    "cannot generate a P-256 dtls key: %s",
		    dtls_ssl_errors(ebuf, sizeof(ebuf)));
		EVP_PKEY_free(key);
		key = NULL;
	}
	EVP_PKEY_CTX_free(pctx);
	return key;
}

/* A self-signed certificate for key: O=sfud, CN=<random hex>. */
static X509 *
dtls_ctx_generate_cert(EVP_PKEY *key, struct sfu_error *err)
{
	static const char hex[] = "0123456789abcdef";
	X509 *cert = NULL;
	X509_NAME *name = NULL;
	BIGNUM *serial = NULL;
	unsigned char rnd[8];
	char cn[2 * sizeof(rnd) + 1];
	char ebuf[DTLS_ERRBUF_LEN];
	size_t i = 0;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		goto fail;
	}
	for (i = 0; i < sizeof(rnd); i++) {
		cn[2 * i] = hex[rnd[i] >> 4];
		cn[2 * i + 1] = hex[rnd[i] & 0x0f];
	}
	cn[2 * sizeof(rnd)] = '\0';
	cert = X509_new();
	serial = BN_new();
	if (cert == NULL || serial == NULL || X509_set_version(cert, 2) != 1 ||
	    BN_rand(serial, DTLS_CERT_SERIAL_BITS, BN_RAND_TOP_ANY,
	        BN_RAND_BOTTOM_ANY) != 1 ||
	    BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)) == NULL ||
	    X509_gmtime_adj(
	        X509_getm_notBefore(cert), DTLS_CERT_NOT_BEFORE_S) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(cert), DTLS_CERT_VALID_S) ==
	        NULL ||
	    X509_set_pubkey(cert, key) != 1) {
		goto fail;
	}
	name = X509_get_subject_name(cert);
	if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
	        (const unsigned char *)"sfud", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	        (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(cert, name) != 1 ||
	    X509_sign(cert, key, EVP_sha256()) == 0) {
		goto fail;
	}
	BN_free(serial);
	return cert;
fail:
	sfu_error_set(err, SFU_ERR_ERROR,
	    "cannot generate a dtls certificate: %s",
	    dtls_ssl_errors(ebuf, sizeof(ebuf)));
	BN_free(serial);
	X509_free(cert);
	return NULL;
}

/* What a context is built from; every member owned. */
struct dtls_material {
	X509 *cert;
	STACK_OF(X509) * chain; /* NULL when there are no extra certificates */
	EVP_PKEY *key;
};

static void
dtls_material_clear(struct dtls_material *m)
{
	sk_X509_pop_free(m->chain, X509_free);
	m->chain = NULL;
	X509_free(m->cert);
	m->cert = NULL;
	EVP_PKEY_free(m->key);
	m->key = NULL;
}

/*
 * Reads the first certificate of cert_file into m->cert, the others into
 * m->chain, and the key of key_file into m->key.
 */
static int
dtls_ctx_load(const char *cert_file, const char *key_file,
    struct dtls_material *m, struct sfu_error *err)
{
	FILE *fp = NULL;
	X509 *extra = NULL;
	char ebuf[DTLS_ERRBUF_LEN];
	int e = 0;

	fp = fopen(cert_file, "r");
	if (fp == NULL) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR,
		    "cannot open dtls certificate %s: %s", cert_file,
		    strerror(e));
		goto fail;
	}
	m->cert = PEM_read_X509(fp, NULL, dtls_ctx_no_password, NULL);
	if (m->cert == NULL) {
		sfu_error_set(err, SFU_ERR_ERROR,
		    "dtls certificate %s: no PEM certificate (%s)", cert_file,
		    dtls_ssl_errors(ebuf, sizeof(ebuf)));
		goto fail;
	}
	while ((extra = PEM_read_X509(fp, NULL, dtls_ctx_no_password, NULL)) !=
	       NULL) {
		if (m->chain == NULL) {
			m->chain = sk_X509_new_null();
		}
		if (m->chain == NULL || sk_X509_push(m->chain, extra) == 0) {
			X509_free(extra);
			sfu_error_set(err, SFU_ERR_ERROR,
			    "dtls certificate %s: out of memory", cert_file);
			goto fail;
		}
	}
	ERR_clear_error(); /* the read that ended the loop */
	fclose(fp);

	fp = fopen(key_file, "r");
	if (fp == NULL) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR,
		    "cannot open dtls private key %s: %s", key_file,
		    strerror(e));
		goto fail;
	}
	m->key = PEM_read_PrivateKey(fp, NULL, dtls_ctx_no_password, NULL);
	if (m->key == NULL) {
		sfu_error_set(err, SFU_ERR_ERROR,
		    "dtls private key %s: no PEM private key (%s)", key_file,
		    dtls_ssl_errors(ebuf, sizeof(ebuf)));
		goto fail;
	}
	fclose(fp);
	fp = NULL;
	if (X509_check_private_key(m->cert, m->key) != 1) {
		ERR_clear_error();
		sfu_error_set(err, SFU_ERR_ERROR,
		    "dtls private key %s does not match certificate %s",
		    key_file, cert_file);
		return -1;
	}
	return 0;
fail:
	if (fp != NULL) {
		fclose(fp);
	}
	return -1;
}

struct sfu_dtls_ctx *
sfu_dtls_ctx_new(
    const char *cert_file, const char *key_file, struct sfu_error *err)
{
	struct sfu_dtls_ctx *ctx = NULL;
	struct dtls_material m = {NULL, NULL, NULL};
	char ebuf[DTLS_ERRBUF_LEN];
	int i = 0;

	if ((cert_file == NULL) != (key_file == NULL)) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "dtls certificate and private key must be given together");
		return NULL;
	}
	ERR_clear_error();
	ctx = sfu_xcalloc(1, sizeof(*ctx));
	if (cert_file != NULL) {
		if (dtls_ctx_load(cert_file, key_file, &m, err) == -1) {
			goto fail;
		}
	} else {
		m.key = dtls_ctx_generate_key(err);
		if (m.key == NULL) {
			goto fail;
		}
		m.cert = dtls_ctx_generate_cert(m.key, err);
		if (m.cert == NULL) {
			goto fail;
		}
	}

	ctx->ssl_ctx = SSL_CTX_new(DTLS_method());
	if (ctx->ssl_ctx == NULL ||
	    SSL_CTX_set_min_proto_version(ctx->ssl_ctx, DTLS1_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx->ssl_ctx, DTLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate(ctx->ssl_ctx, m.cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx->ssl_ctx, m.key) != 1 ||
	    SSL_CTX_check_private_key(ctx->ssl_ctx) != 1 ||
	    SSL_CTX_set_cipher_list(ctx->ssl_ctx, DTLS_CIPHERS) != 1 ||
	    SSL_CTX_set_ecdh_auto(ctx->ssl_ctx, 1) != 1) {
		goto fail_ssl;
	}
	for (i = 0; m.chain != NULL && i < sk_X509_num(m.chain); i++) {
		if (SSL_CTX_add1_chain_cert(
		        ctx->ssl_ctx, sk_X509_value(m.chain, i)) != 1) {
			goto fail_ssl;
		}
	}
	/* Returns 0 on success, unlike everything else. */
	if (SSL_CTX_set_tlsext_use_srtp(ctx->ssl_ctx, DTLS_SRTP_PROFILES) !=
	    0) {
		goto fail_ssl;
	}
	snprintf(ctx->srtp_profiles, sizeof(ctx->srtp_profiles), "%s",
	    DTLS_SRTP_PROFILES);
	/*
	 * No session resumption (each association has fresh keys and a
	 * fresh fingerprint check), no renegotiation, and the MTU is ours:
	 * a memory BIO has none to query.
	 */
	SSL_CTX_set_options(
	    ctx->ssl_ctx, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET |
	                      SSL_OP_SINGLE_ECDH_USE | SSL_OP_NO_QUERY_MTU |
	                      SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_session_cache_mode(ctx->ssl_ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_read_ahead(ctx->ssl_ctx, 1);
	SSL_CTX_set_verify_depth(ctx->ssl_ctx, 4);
	SSL_CTX_set_verify(ctx->ssl_ctx,
	    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
	    dtls_ctx_on_verify);

	for (i = 0; i < SFU_DTLS_HASH_COUNT; i++) {
		if (dtls_fingerprint(m.cert, (enum sfu_dtls_hash)i,
		        ctx->fingerprints[i]) == -1) {
			sfu_error_set(err, SFU_ERR_ERROR,
			    "cannot compute the %s fingerprint: %s",
			    dtls_hashes[i].name,
			    dtls_ssl_errors(ebuf, sizeof(ebuf)));
			goto fail;
		}
	}
	SFU_LOG_DEBUG_TAG(DTLS,
	    "dtls context ready [certificate:%s sha-256:%s]",
	    cert_file != NULL ? cert_file : "generated",
	    ctx->fingerprints[SFU_DTLS_HASH_SHA256]);
	dtls_material_clear(&m); /* the SSL_CTX holds its own references */
	return ctx;
fail_ssl:
	sfu_error_set(err, SFU_ERR_ERROR, "cannot set up the dtls context: %s",
	    dtls_ssl_errors(ebuf, sizeof(ebuf)));
fail:
	dtls_material_clear(&m);
	sfu_dtls_ctx_free(ctx);
	return NULL;
}

void
sfu_dtls_ctx_free(struct sfu_dtls_ctx *ctx)
{
	if (ctx == NULL) {
		return;
	}
	SSL_CTX_free(ctx->ssl_ctx);
	ctx->ssl_ctx = NULL;
	free(ctx);
}

int
sfu_dtls_ctx_set_srtp_profiles(
    struct sfu_dtls_ctx *ctx, const char *profiles, struct sfu_error *err)
{
	char ebuf[DTLS_ERRBUF_LEN];

	if (profiles == NULL || profiles[0] == '\0' ||
	    strlen(profiles) >= sizeof(ctx->srtp_profiles)) {
		sfu_error_set(err, SFU_ERR_TYPE, "bad srtp profile list");
		return -1;
	}
	/* OpenSSL keeps the old list when the new one does not parse. */
	ERR_clear_error();
	if (SSL_CTX_set_tlsext_use_srtp(ctx->ssl_ctx, profiles) != 0) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "bad srtp profile list \"%s\": %s", profiles,
		    dtls_ssl_errors(ebuf, sizeof(ebuf)));
		return -1;
	}
	snprintf(
	    ctx->srtp_profiles, sizeof(ctx->srtp_profiles), "%s", profiles);
	return 0;
}

const char *
sfu_dtls_ctx_fingerprint(
    const struct sfu_dtls_ctx *ctx, enum sfu_dtls_hash hash)
{
	if ((unsigned int)hash >= SFU_DTLS_HASH_COUNT) {
		return NULL;
	}
	return ctx->fingerprints[hash];
}

/* --- transport: re-entrancy and callbacks --- */

static void
dtls_transport_destroy(struct sfu_dtls_transport *t)
{
	sfu_timer_handle_free(t->rto_timer);
	t->rto_timer = NULL;
	sfu_timer_handle_free(t->handshake_timer);
	t->handshake_timer = NULL;
	SSL_free(t->ssl); /* frees rbio and wbio */
	t->ssl = NULL;
	t->rbio = NULL;
	t->wbio = NULL;
	OPENSSL_cleanse(t->read_buf, sizeof(t->read_buf));
	free(t);
}

static void
dtls_transport_enter(struct sfu_dtls_transport *t)
{
	t->depth++;
}

/* Leaves an entry point; frees t when a callback asked for it. */
static void
dtls_transport_leave(struct sfu_dtls_transport *t)
{
	SFU_ASSERT(t->depth > 0);
	t->depth--;
	if (t->depth == 0 && t->free_pending) {
		dtls_transport_destroy(t);
	}
}

/* Whether t is still alive (not freed from a callback) and in state. */
static bool
dtls_transport_is(const struct sfu_dtls_transport *t, enum sfu_dtls_state state)
{
	return !t->free_pending && t->state == state;
}

static bool
dtls_transport_running(const struct sfu_dtls_transport *t)
{
	return dtls_transport_is(t, SFU_DTLS_STATE_CONNECTING) ||
	       dtls_transport_is(t, SFU_DTLS_STATE_CONNECTED);
}

static void
dtls_transport_set_state(
    struct sfu_dtls_transport *t, enum sfu_dtls_state state)
{
	t->state = state;
	if (state != SFU_DTLS_STATE_CONNECTING) {
		sfu_timer_handle_stop(t->handshake_timer);
	}
	if (state == SFU_DTLS_STATE_FAILED || state == SFU_DTLS_STATE_CLOSED) {
		sfu_timer_handle_stop(t->rto_timer);
	}
	SFU_LOG_DEBUG_TAG(DTLS, "state %s [transport:%s]",
	    sfu_dtls_state_name(state), t->log_id);
	if (!t->free_pending && t->listener->on_state != NULL) {
		t->listener->on_state(t->lctx, t, state);
	}
}

static void
dtls_transport_fail(
    struct sfu_dtls_transport *t, const char *what, const char *detail)
{
	SFU_LOG_WARN_TAG(DTLS, "%s: %s [transport:%s role:%s]", what, detail,
	    t->log_id, sfu_dtls_role_name(t->role));
	dtls_transport_set_state(t, SFU_DTLS_STATE_FAILED);
}

/*
 * Length of the next datagram at the head of the n bytes at p: as many
 * whole records as fit in SFU_DTLS_MTU, at least one. OpenSSL already
 * sizes handshake fragments so that what is pending in the write BIO fits
 * one MTU (dtls1_do_write counts BIO_wpending), so this packs records
 * back into the datagrams it had in mind.
 */
static size_t
dtls_transport_next_datagram_len(const uint8_t *p, size_t n)
{
	size_t off = 0;
	size_t rec = 0;

	while (n - off >= DTLS_RECORD_HEADER_LEN) {
		rec = DTLS_RECORD_HEADER_LEN +
		      ((size_t)p[off + 11] << 8 | (size_t)p[off + 12]);
		if (rec > n - off) {
			return n; /* cannot happen with OpenSSL's output */
		}
		if (off > 0 && off + rec > SFU_DTLS_MTU) {
			break;
		}
		off += rec;
	}
	return off > 0 ? off : n;
}

/* Sends everything OpenSSL wrote, one datagram per on_send. */
static void
dtls_transport_flush(struct sfu_dtls_transport *t)
{
	uint8_t dgram[SFU_DTLS_MTU];
	uint8_t *buf = NULL;
	char *p = NULL;
	long avail = 0;
	size_t n = 0;
	int r = 0;

	for (;;) {
		if (t->free_pending) {
			return;
		}
		avail = BIO_get_mem_data(t->wbio, &p);
		if (avail <= 0) {
			return;
		}
		n = dtls_transport_next_datagram_len(
		    (const uint8_t *)p, (size_t)avail);
		buf = n <= sizeof(dgram) ? dgram : sfu_xmalloc(n);
		r = BIO_read(t->wbio, buf, (int)n);
		SFU_ASSERT(r == (int)n);
		t->stats.datagrams_out++;
		t->stats.bytes_out += n;
		t->listener->on_send(t->lctx, t, buf, n);
		if (buf != dgram) {
			free(buf);
		}
	}
}

/* (Re)arms the retransmission timer from OpenSSL's DTLS timer. */
static void
dtls_transport_arm_rto(struct sfu_dtls_transport *t)
{
	struct timeval tv = {0, 0};
	uint64_t ms = 0;

	if (!dtls_transport_running(t)) {
		return;
	}
	if (DTLSv1_get_timeout(t->ssl, &tv) != 1) {
		sfu_timer_handle_stop(t->rto_timer);
		return;
	}
	ms = (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000;
	sfu_timer_handle_start(t->rto_timer, ms, 0);
}

/* --- transport: OpenSSL callbacks (no listener calls from these) --- */

static unsigned int
dtls_transport_on_dtls_timer(SSL *ssl, unsigned int timer_us)
{
	(void)ssl;
	if (timer_us == 0) {
		return DTLS_RTO_INITIAL_US;
	}
	if (timer_us >= DTLS_RTO_MAX_US / 2) {
		return DTLS_RTO_MAX_US;
	}
	return 2 * timer_us;
}

static void
dtls_transport_on_ssl_info(const SSL *ssl, int where, int ret)
{
	struct sfu_dtls_transport *t = SSL_get_app_data(ssl);

	if ((where & SSL_CB_ALERT) == 0 || t == NULL) {
		return;
	}
	SFU_LOG_DEBUG_TAG(DTLS, "%s alert %s: %s [transport:%s]",
	    (where & SSL_CB_READ) != 0 ? "received" : "sent",
	    SSL_alert_type_string_long(ret), SSL_alert_desc_string_long(ret),
	    t->log_id);
}

/* --- transport: the handshake and records --- */

/* Index of profile in dtls_srtp_profiles, or -1. */
static int
dtls_transport_profile_index(const SRTP_PROTECTION_PROFILE *profile)
{
	size_t i = 0;

	for (i = 0; i < DTLS_NPROFILES; i++) {
		if (profile->id == dtls_srtp_profiles[i].profile_id) {
			return (int)i;
		}
	}
	return -1;
}

/*
 * The handshake finished: check the peer certificate against the
 * signalled fingerprint, export the SRTP keys, become CONNECTED.
 */
static void
dtls_transport_on_handshake_done(struct sfu_dtls_transport *t)
{
	uint8_t material[2 * SFU_SRTP_MAX_KEY_LEN];
	uint8_t local_key[SFU_SRTP_MAX_KEY_LEN];
	uint8_t remote_key[SFU_SRTP_MAX_KEY_LEN];
	char fp[SFU_DTLS_FINGERPRINT_MAX_LEN];
	char ebuf[DTLS_ERRBUF_LEN];
	const SRTP_PROTECTION_PROFILE *profile = NULL;
	X509 *peer = NULL;
	int idx = -1;
	size_t key_len = 0;
	size_t salt_len = 0;
	const uint8_t *client_key = NULL;
	const uint8_t *server_key = NULL;
	const uint8_t *client_salt = NULL;
	const uint8_t *server_salt = NULL;
	enum sfu_srtp_suite suite = SFU_SRTP_AES_CM_128_HMAC_SHA1_80;
	int r = 0;

#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	peer = SSL_get1_peer_certificate(t->ssl);
#else
	peer = SSL_get_peer_certificate(t->ssl);
#endif
	if (peer == NULL) {
		dtls_transport_fail(t, "no peer certificate", "");
		return;
	}
	r = dtls_fingerprint(peer, t->remote_hash, fp);
	X509_free(peer);
	if (r == -1) {
		dtls_transport_fail(t, "cannot hash the peer certificate",
		    dtls_ssl_errors(ebuf, sizeof(ebuf)));
		return;
	}
	if (strcasecmp(fp, t->remote_fingerprint) != 0) {
		SFU_LOG_WARN_TAG(DTLS,
		    "peer certificate does not match the fingerprint "
		    "[transport:%s hash:%s expected:%s got:%s]",
		    t->log_id, dtls_hashes[t->remote_hash].name,
		    t->remote_fingerprint, fp);
		/* Tell the peer at once rather than let it time out. */
		ERR_clear_error();
		(void)SSL_shutdown(t->ssl);
		ERR_clear_error();
		dtls_transport_flush(t);
		if (dtls_transport_is(t, SFU_DTLS_STATE_CONNECTING)) {
			dtls_transport_fail(t, "fingerprint mismatch",
			    "remote certificate rejected");
		}
		return;
	}

	profile = SSL_get_selected_srtp_profile(t->ssl);
	if (profile != NULL) {
		idx = dtls_transport_profile_index(profile);
	}
	if (idx == -1) {
		dtls_transport_fail(t, "no SRTP profile negotiated",
		    profile != NULL ? profile->name : "use_srtp missing");
		return;
	}
	suite = dtls_srtp_profiles[idx].suite;
	key_len = dtls_srtp_profiles[idx].key_len;
	salt_len = dtls_srtp_profiles[idx].salt_len;
	SFU_ASSERT(key_len + salt_len == sfu_srtp_suite_key_len(suite));

	/*
	 * RFC 5764 §4.2: client_write_SRTP_master_key |
	 * server_write_SRTP_master_key | client_write_SRTP_master_salt |
	 * server_write_SRTP_master_salt.
	 */
	if (SSL_export_keying_material(t->ssl, material,
	        2 * (key_len + salt_len), DTLS_SRTP_EXPORTER_LABEL,
	        strlen(DTLS_SRTP_EXPORTER_LABEL), NULL, 0, 0) != 1) {
		dtls_transport_fail(t, "cannot export the SRTP keys",
		    dtls_ssl_errors(ebuf, sizeof(ebuf)));
		return;
	}
	client_key = material;
	server_key = material + key_len;
	client_salt = material + 2 * key_len;
	server_salt = material + 2 * key_len + salt_len;
	if (t->role == SFU_DTLS_ROLE_CLIENT) {
		memcpy(local_key, client_key, key_len);
		memcpy(local_key + key_len, client_salt, salt_len);
		memcpy(remote_key, server_key, key_len);
		memcpy(remote_key + key_len, server_salt, salt_len);
	} else {
		memcpy(local_key, server_key, key_len);
		memcpy(local_key + key_len, server_salt, salt_len);
		memcpy(remote_key, client_key, key_len);
		memcpy(remote_key + key_len, client_salt, salt_len);
	}
	OPENSSL_cleanse(material, sizeof(material));

	SFU_LOG_DEBUG_TAG(DTLS,
	    "handshake done [transport:%s role:%s version:%s cipher:%s "
	    "srtp:%s]",
	    t->log_id, sfu_dtls_role_name(t->role), SSL_get_version(t->ssl),
	    SSL_get_cipher_name(t->ssl), sfu_srtp_suite_name(suite));
	t->state = SFU_DTLS_STATE_CONNECTED;
	sfu_timer_handle_stop(t->handshake_timer);
	if (t->listener->on_connected != NULL) {
		t->listener->on_connected(t->lctx, t, suite, local_key,
		    remote_key, key_len + salt_len);
	}
	OPENSSL_cleanse(local_key, sizeof(local_key));
	OPENSSL_cleanse(remote_key, sizeof(remote_key));
	if (dtls_transport_is(t, SFU_DTLS_STATE_CONNECTED)) {
		dtls_transport_set_state(t, SFU_DTLS_STATE_CONNECTED);
	}
}

/* Reads records while CONNECTED: application data, close_notify. */
static void
dtls_transport_read(struct sfu_dtls_transport *t)
{
	char ebuf[DTLS_ERRBUF_LEN];
	int n = 0;
	int e = 0;

	for (;;) {
		ERR_clear_error();
		n = SSL_read(t->ssl, t->read_buf, (int)sizeof(t->read_buf));
		e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, n);
		if (e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL) {
			dtls_ssl_errors(ebuf, sizeof(ebuf));
		}
		/* SSL_read may answer a retransmitted flight of the peer. */
		dtls_transport_flush(t);
		if (!dtls_transport_is(t, SFU_DTLS_STATE_CONNECTED)) {
			return;
		}
		if (n > 0) {
			t->stats.app_data_in++;
			if (t->listener->on_app_data != NULL) {
				t->listener->on_app_data(
				    t->lctx, t, t->read_buf, (size_t)n);
			}
			if (!dtls_transport_is(t, SFU_DTLS_STATE_CONNECTED)) {
				return;
			}
			continue;
		}
		switch (e) {
		case SSL_ERROR_WANT_READ:
			dtls_transport_arm_rto(t);
			return;
		case SSL_ERROR_ZERO_RETURN:
			SFU_LOG_DEBUG_TAG(DTLS,
			    "close_notify received [transport:%s]", t->log_id);
			dtls_transport_set_state(t, SFU_DTLS_STATE_CLOSED);
			return;
		default:
			dtls_transport_fail(t, "dtls read failed", ebuf);
			return;
		}
	}
}

/* Drives OpenSSL after input or at start; sends what it wrote. */
static void
dtls_transport_run(struct sfu_dtls_transport *t)
{
	char ebuf[DTLS_ERRBUF_LEN];
	int r = 0;
	int e = 0;

	if (!t->handshake_done) {
		ERR_clear_error();
		r = SSL_do_handshake(t->ssl);
		e = r == 1 ? SSL_ERROR_NONE : SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_SSL || e == SSL_ERROR_SYSCALL) {
			dtls_ssl_errors(ebuf, sizeof(ebuf));
		}
		dtls_transport_flush(t);
		if (!dtls_transport_is(t, SFU_DTLS_STATE_CONNECTING)) {
			return;
		}
		switch (e) {
		case SSL_ERROR_NONE:
			t->handshake_done = true;
			dtls_transport_on_handshake_done(t);
			if (!dtls_transport_is(t, SFU_DTLS_STATE_CONNECTED)) {
				return;
			}
			break;
		case SSL_ERROR_WANT_READ:
			dtls_transport_arm_rto(t);
			return;
		case SSL_ERROR_ZERO_RETURN:
			SFU_LOG_DEBUG_TAG(DTLS,
			    "close_notify during handshake [transport:%s]",
			    t->log_id);
			dtls_transport_set_state(t, SFU_DTLS_STATE_CLOSED);
			return;
		default:
			dtls_transport_fail(t, "dtls handshake failed", ebuf);
			return;
		}
	}
	dtls_transport_read(t);
}

/* --- transport: timers --- */

static void
dtls_transport_on_rto_timer(void *ctx, struct sfu_timer_handle *th)
{
	struct sfu_dtls_transport *t = ctx;
	char ebuf[DTLS_ERRBUF_LEN];
	int r = 0;

	(void)th;
	if (!dtls_transport_running(t)) {
		return;
	}
	dtls_transport_enter(t);
	ERR_clear_error();
	r = DTLSv1_handle_timeout(t->ssl);
	if (r < 0) {
		dtls_ssl_errors(ebuf, sizeof(ebuf));
	} else if (r > 0) {
		t->stats.retransmits++;
	}
	dtls_transport_flush(t);
	if (dtls_transport_running(t)) {
		if (r < 0) {
			dtls_transport_fail(
			    t, "dtls retransmissions exhausted", ebuf);
		} else {
			dtls_transport_arm_rto(t);
		}
	}
	dtls_transport_leave(t);
}

static void
dtls_transport_on_handshake_timer(void *ctx, struct sfu_timer_handle *th)
{
	struct sfu_dtls_transport *t = ctx;
	char detail[64];

	(void)th;
	if (!dtls_transport_is(t, SFU_DTLS_STATE_CONNECTING)) {
		return;
	}
	dtls_transport_enter(t);
	snprintf(detail, sizeof(detail), "no handshake after %llu ms",
	    (unsigned long long)t->handshake_timeout_ms);
	dtls_transport_fail(t, "dtls handshake timed out", detail);
	dtls_transport_leave(t);
}

/* --- transport: public --- */

struct sfu_dtls_transport *
sfu_dtls_transport_new(struct event_base *base, struct sfu_dtls_ctx *ctx,
    const struct sfu_dtls_transport_listener *listener, void *lctx,
    struct sfu_error *err)
{
	struct sfu_dtls_transport *t = NULL;
	BIO *rbio = NULL;
	BIO *wbio = NULL;
	char ebuf[DTLS_ERRBUF_LEN];

	SFU_ASSERT(listener != NULL && listener->on_send != NULL);
	t = sfu_xcalloc(1, sizeof(*t));
	t->listener = listener;
	t->lctx = lctx;
	t->state = SFU_DTLS_STATE_NEW;
	t->role = SFU_DTLS_ROLE_AUTO;
	t->handshake_timeout_ms = SFU_DTLS_HANDSHAKE_TIMEOUT_MS;
	snprintf(t->log_id, sizeof(t->log_id), "-");
	t->rto_timer =
	    sfu_timer_handle_new(base, dtls_transport_on_rto_timer, t);
	t->handshake_timer =
	    sfu_timer_handle_new(base, dtls_transport_on_handshake_timer, t);

	ERR_clear_error();
	t->ssl = SSL_new(ctx->ssl_ctx);
	if (t->ssl == NULL) {
		goto fail;
	}
	rbio = BIO_new(BIO_s_mem());
	wbio = BIO_new(BIO_s_mem());
	if (rbio == NULL || wbio == NULL) {
		BIO_free(rbio);
		BIO_free(wbio);
		goto fail;
	}
	/* An empty read BIO means "wait for the next datagram", not EOF. */
	BIO_set_mem_eof_return(rbio, -1);
	BIO_set_mem_eof_return(wbio, -1);
	SSL_set_bio(t->ssl, rbio, wbio); /* ssl owns both now */
	t->rbio = rbio;
	t->wbio = wbio;
	SSL_set_app_data(t->ssl, t);
	SSL_set_info_callback(t->ssl, dtls_transport_on_ssl_info);
	SSL_set_options(t->ssl, SSL_OP_NO_QUERY_MTU);
	/*
	 * A copy of the list, so that a later
	 * sfu_dtls_ctx_set_srtp_profiles() leaves this session alone
	 * (without one OpenSSL reads the SSL_CTX's at handshake time).
	 */
	if (SSL_set_tlsext_use_srtp(t->ssl, ctx->srtp_profiles) != 0) {
		goto fail;
	}
	if (DTLS_set_link_mtu(t->ssl, SFU_DTLS_MTU) != 1) {
		goto fail;
	}
	DTLS_set_timer_cb(t->ssl, dtls_transport_on_dtls_timer);
	return t;
fail:
	sfu_error_set(err, SFU_ERR_ERROR, "cannot create a dtls session: %s",
	    dtls_ssl_errors(ebuf, sizeof(ebuf)));
	sfu_dtls_transport_free(t);
	return NULL;
}

void
sfu_dtls_transport_free(struct sfu_dtls_transport *t)
{
	if (t == NULL || t->free_pending) {
		return;
	}
	if (t->depth > 0) {
		/* Called from a callback: finish when our code unwinds. */
		t->free_pending = true;
		sfu_timer_handle_stop(t->rto_timer);
		sfu_timer_handle_stop(t->handshake_timer);
		return;
	}
	dtls_transport_destroy(t);
}

void
sfu_dtls_transport_set_log_id(struct sfu_dtls_transport *t, const char *id)
{
	snprintf(t->log_id, sizeof(t->log_id), "%s", id != NULL ? id : "-");
}

void
sfu_dtls_transport_set_handshake_timeout(
    struct sfu_dtls_transport *t, uint64_t timeout_ms)
{
	t->handshake_timeout_ms = timeout_ms;
}

int
sfu_dtls_transport_start(struct sfu_dtls_transport *t,
    enum sfu_dtls_role local_role, enum sfu_dtls_hash remote_hash,
    const char *remote_fingerprint, struct sfu_error *err)
{
	if (local_role != SFU_DTLS_ROLE_CLIENT &&
	    local_role != SFU_DTLS_ROLE_SERVER) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "dtls local role must be client or server");
		return -1;
	}
	if ((unsigned int)remote_hash >= SFU_DTLS_HASH_COUNT) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "unknown dtls fingerprint algorithm %d", (int)remote_hash);
		return -1;
	}
	if (remote_fingerprint == NULL ||
	    !dtls_fingerprint_valid(remote_hash, remote_fingerprint)) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "invalid %s fingerprint: expected %zu hex bytes joined "
		    "by ':'",
		    dtls_hashes[remote_hash].name,
		    dtls_hashes[remote_hash].len);
		return -1;
	}
	if (t->state != SFU_DTLS_STATE_NEW) {
		sfu_error_set(err, SFU_ERR_INVALID_STATE,
		    "dtls transport already started (state %s)",
		    sfu_dtls_state_name(t->state));
		return -1;
	}

	snprintf(t->remote_fingerprint, sizeof(t->remote_fingerprint), "%s",
	    remote_fingerprint);
	t->remote_hash = remote_hash;
	t->role = local_role;
	if (local_role == SFU_DTLS_ROLE_CLIENT) {
		SSL_set_connect_state(t->ssl);
	} else {
		SSL_set_accept_state(t->ssl);
	}

	dtls_transport_enter(t);
	if (t->handshake_timeout_ms > 0) {
		sfu_timer_handle_start(
		    t->handshake_timer, t->handshake_timeout_ms, 0);
	}
	dtls_transport_set_state(t, SFU_DTLS_STATE_CONNECTING);
	if (local_role == SFU_DTLS_ROLE_CLIENT &&
	    dtls_transport_is(t, SFU_DTLS_STATE_CONNECTING)) {
		dtls_transport_run(t); /* sends the ClientHello */
	}
	dtls_transport_leave(t);
	return 0;
}

void
sfu_dtls_transport_feed(
    struct sfu_dtls_transport *t, const uint8_t *data, size_t len)
{
	int r = 0;

	if (!dtls_transport_running(t) || len == 0 ||
	    len > SFU_DTLS_MAX_DATAGRAM_LEN) {
		t->stats.dropped_in++;
		return;
	}
	t->stats.datagrams_in++;
	t->stats.bytes_in += len;
	dtls_transport_enter(t);
	r = BIO_write(t->rbio, data, (int)len);
	if (r == (int)len) {
		dtls_transport_run(t);
	} else {
		ERR_clear_error();
		t->stats.dropped_in++;
	}
	/*
	 * Whatever OpenSSL left unread (the tail of a datagram longer than
	 * its read buffer) is garbage: never let it join the next datagram
	 * or pile up.
	 */
	if (!t->free_pending) {
		(void)BIO_reset(t->rbio);
	}
	dtls_transport_leave(t);
}

int
sfu_dtls_transport_send_app_data(
    struct sfu_dtls_transport *t, const uint8_t *data, size_t len)
{
	char ebuf[DTLS_ERRBUF_LEN];
	int r = 0;
	int ret = -1;

	if (!dtls_transport_is(t, SFU_DTLS_STATE_CONNECTED) || len == 0 ||
	    len > SFU_DTLS_MAX_APP_DATA_LEN) {
		return -1;
	}
	dtls_transport_enter(t);
	ERR_clear_error();
	r = SSL_write(t->ssl, data, (int)len);
	if (r == (int)len) {
		t->stats.app_data_out++;
		ret = 0;
	} else {
		SFU_LOG_WARN_TAG(DTLS, "dtls write failed: %s [transport:%s]",
		    dtls_ssl_errors(ebuf, sizeof(ebuf)), t->log_id);
	}
	dtls_transport_flush(t);
	dtls_transport_leave(t);
	return ret;
}

void
sfu_dtls_transport_close(struct sfu_dtls_transport *t)
{
	if (t->free_pending || t->state == SFU_DTLS_STATE_FAILED ||
	    t->state == SFU_DTLS_STATE_CLOSED) {
		return;
	}
	dtls_transport_enter(t);
	if (t->state == SFU_DTLS_STATE_CONNECTED) {
		ERR_clear_error();
		(void)SSL_shutdown(t->ssl); /* queues close_notify */
		ERR_clear_error();
		dtls_transport_flush(t);
	}
	if (!t->free_pending && t->state != SFU_DTLS_STATE_CLOSED &&
	    t->state != SFU_DTLS_STATE_FAILED) {
		dtls_transport_set_state(t, SFU_DTLS_STATE_CLOSED);
	}
	dtls_transport_leave(t);
}

enum sfu_dtls_state
sfu_dtls_transport_state(const struct sfu_dtls_transport *t)
{
	return t->state;
}

enum sfu_dtls_role
sfu_dtls_transport_local_role(const struct sfu_dtls_transport *t)
{
	return t->role;
}

void
sfu_dtls_transport_get_stats(
    const struct sfu_dtls_transport *t, struct sfu_dtls_transport_stats *stats)
{
	*stats = t->stats;
}
