/*
 * SPDX-License-Identifier: MIT
 *
 * srtp_session: a libsrtp2 srtp_t created from one ssrc_any_inbound or
 * ssrc_any_outbound policy, with per-session failure counters; plus the
 * suite table, random keys and base64. libsrtp is initialised once per
 * process (srtp_init() under pthread_once) and never shut down: embedded
 * workers share the process and may start and stop at any time.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <srtp2/srtp.h>

#define SFU_LOG_MODULE "srtp_session"
#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "worker/rtc/srtp_session.h"

/*
 * RFC 3711 3.3.2: the replay window must be at least 64; mediasoup uses
 * 1024 so that reordering across simulcast bursts is not taken for replay.
 */
#define SRTP_SESSION_REPLAY_WINDOW 1024
/* At most one warning per session per interval; the rest are counted. */
#define SRTP_SESSION_WARN_INTERVAL_MS 1000
/* SRTCP adds a 4-byte E flag + index before the tag (RFC 3711 3.4). */
#define SRTP_SESSION_SRTCP_INDEX_LEN 4

_Static_assert(SFU_SRTP_MAX_TRAILER_LEN >=
                   SRTP_MAX_TRAILER_LEN + SRTP_SESSION_SRTCP_INDEX_LEN,
    "SFU_SRTP_MAX_TRAILER_LEN too small for libsrtp");
_Static_assert(SFU_SRTP_MAX_KEY_LEN >= SRTP_AES_GCM_256_KEY_LEN_WSALT,
    "SFU_SRTP_MAX_KEY_LEN too small");

struct sfu_srtp_session {
	srtp_t srtp; /* owned */
	enum sfu_srtp_direction dir;
	enum sfu_srtp_suite suite;
	struct sfu_srtp_session_stats stats;
	uint64_t warn_ms;         /* last warning, monotonic ms */
	uint64_t warn_suppressed; /* since the last one */
};

static const struct {
	const char *name; /* mediasoup's SrtpCryptoSuite */
	size_t key_len;   /* master key + salt, bytes */
} srtp_session_suites[] = {
    [SFU_SRTP_AES_CM_128_HMAC_SHA1_80] = {"AES_CM_128_HMAC_SHA1_80",
        SRTP_AES_ICM_128_KEY_LEN_WSALT},
    [SFU_SRTP_AES_CM_128_HMAC_SHA1_32] = {"AES_CM_128_HMAC_SHA1_32",
        SRTP_AES_ICM_128_KEY_LEN_WSALT},
    [SFU_SRTP_AEAD_AES_128_GCM] = {"AEAD_AES_128_GCM",
        SRTP_AES_GCM_128_KEY_LEN_WSALT},
    [SFU_SRTP_AEAD_AES_256_GCM] = {"AEAD_AES_256_GCM",
        SRTP_AES_GCM_256_KEY_LEN_WSALT},
};

#define SRTP_SESSION_NSUITES                                                   \
	(sizeof(srtp_session_suites) / sizeof(srtp_session_suites[0]))

/* --- process-wide libsrtp initialisation --- */

static pthread_once_t srtp_session_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t srtp_session_init_status = srtp_err_status_ok;

static void
srtp_session_init_once(void)
{
	srtp_session_init_status = srtp_init();
}

/* --- suites --- */

static bool
srtp_session_suite_valid(enum sfu_srtp_suite suite)
{
	return (unsigned int)suite < SRTP_SESSION_NSUITES;
}

int
sfu_srtp_suite_parse(const char *name)
{
	size_t i = 0;

	if (name == NULL) {
		return -1;
	}
	for (i = 0; i < SRTP_SESSION_NSUITES; i++) {
		if (strcmp(name, srtp_session_suites[i].name) == 0) {
			return (int)i;
		}
	}
	return -1;
}

const char *
sfu_srtp_suite_name(enum sfu_srtp_suite suite)
{
	if (!srtp_session_suite_valid(suite)) {
		return "";
	}
	return srtp_session_suites[suite].name;
}

size_t
sfu_srtp_suite_key_len(enum sfu_srtp_suite suite)
{
	if (!srtp_session_suite_valid(suite)) {
		return 0;
	}
	return srtp_session_suites[suite].key_len;
}

int
sfu_srtp_random_key(enum sfu_srtp_suite suite, uint8_t *out)
{
	size_t len = sfu_srtp_suite_key_len(suite);
	int r = 0;

	if (len == 0) {
		return -1;
	}
	r = RAND_bytes(out, (int)len);
	return r == 1 ? 0 : -1;
}

/* --- session --- */

static const char *
srtp_session_status_str(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_auth_fail:
		return "authentication failed";
	case srtp_err_status_replay_fail:
		return "replayed packet";
	case srtp_err_status_replay_old:
		return "packet too old for the replay window";
	case srtp_err_status_bad_param:
		return "malformed packet";
	case srtp_err_status_no_ctx:
		return "no stream context";
	default:
		return "libsrtp error";
	}
}

/*
 * Counts a failure by its kind and logs it, at most once per
 * SRTP_SESSION_WARN_INTERVAL_MS: input at line rate must not flood the log.
 * Returns -1 for the caller to return.
 */
static int
srtp_session_fail(struct sfu_srtp_session *s, const char *what,
    srtp_err_status_t st, const char *reason)
{
	uint64_t now_ms = 0;

	switch (st) {
	case srtp_err_status_auth_fail:
		s->stats.auth_failures++;
		break;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old:
		s->stats.replay_failures++;
		break;
	default:
		s->stats.other_failures++;
		break;
	}
	if (!sfu_log_enabled(SFU_LOG_LEVEL_WARN, SFU_LOG_TAG_SRTP)) {
		return -1;
	}
	now_ms = sfu_clock_mono_ms();
	if (s->warn_ms != 0 &&
	    now_ms - s->warn_ms < SRTP_SESSION_WARN_INTERVAL_MS) {
		s->warn_suppressed++;
		return -1;
	}
	SFU_LOG_WARN_TAG(SRTP, "%s failed: %s (%d) [suite:%s suppressed:%llu]",
	    what, reason != NULL ? reason : srtp_session_status_str(st),
	    (int)st, srtp_session_suites[s->suite].name,
	    (unsigned long long)s->warn_suppressed);
	s->warn_ms = now_ms;
	s->warn_suppressed = 0;
	return -1;
}

struct sfu_srtp_session *
sfu_srtp_session_new(enum sfu_srtp_direction dir, enum sfu_srtp_suite suite,
    const uint8_t *key, size_t key_len, struct sfu_error *err)
{
	struct sfu_srtp_session *s = NULL;
	uint8_t key_copy[SFU_SRTP_MAX_KEY_LEN];
	srtp_policy_t policy;
	srtp_err_status_t st = srtp_err_status_ok;

	if (!srtp_session_suite_valid(suite)) {
		sfu_error_set(err, SFU_ERR_TYPE, "unknown SRTP crypto suite %d",
		    (int)suite);
		goto fail;
	}
	if (dir != SFU_SRTP_INBOUND && dir != SFU_SRTP_OUTBOUND) {
		sfu_error_set(
		    err, SFU_ERR_TYPE, "unknown SRTP direction %d", (int)dir);
		goto fail;
	}
	if (key == NULL || key_len != srtp_session_suites[suite].key_len) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "%s needs a %zu-byte master key + salt, got %zu",
		    srtp_session_suites[suite].name,
		    srtp_session_suites[suite].key_len, key_len);
		goto fail;
	}
	pthread_once(&srtp_session_once, srtp_session_init_once);
	if (srtp_session_init_status != srtp_err_status_ok) {
		sfu_error_set(err, SFU_ERR_ERROR, "srtp_init() failed: %d",
		    (int)srtp_session_init_status);
		goto fail;
	}

	s = sfu_xcalloc(1, sizeof(*s));
	s->srtp = NULL;
	s->dir = dir;
	s->suite = suite;

	memset(&policy, 0, sizeof(policy));
	switch (suite) {
	case SFU_SRTP_AES_CM_128_HMAC_SHA1_80:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
		break;
	case SFU_SRTP_AES_CM_128_HMAC_SHA1_32:
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);

		/* RFC 5764 4.1.2: SRTCP keeps the 80-bit tag. */
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
		break;
	case SFU_SRTP_AEAD_AES_128_GCM:
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp);
		break;
	case SFU_SRTP_AEAD_AES_256_GCM:
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&policy.rtcp);
		break;
	}
	policy.ssrc.type =
	    dir == SFU_SRTP_INBOUND ? ssrc_any_inbound : ssrc_any_outbound;
	policy.ssrc.value = 0;

	/* srtp_create() copies the key; the policy wants it non-const. */
	memcpy(key_copy, key, key_len);
	policy.key = key_copy;
	policy.window_size = SRTP_SESSION_REPLAY_WINDOW;

	/*
	 * RTX and NACK answers resend packets with sequence numbers already
	 * protected; libsrtp refuses those as replays unless told otherwise.
	 */
	policy.allow_repeat_tx = 1;
	policy.next = NULL;
	st = srtp_create(&s->srtp, &policy);
	memset(key_copy, 0, sizeof(key_copy));
	if (st != srtp_err_status_ok) {
		s->srtp = NULL;
		sfu_error_set(err, SFU_ERR_ERROR,
		    "srtp_create(%s) failed: %s (%d)",
		    srtp_session_suites[suite].name,
		    srtp_session_status_str(st), (int)st);
		goto fail;
	}
	return s;
fail:
	sfu_srtp_session_free(s);
	return NULL;
}

void
sfu_srtp_session_free(struct sfu_srtp_session *s)
{
	if (s == NULL) {
		return;
	}
	if (s->srtp != NULL) {
		srtp_dealloc(s->srtp);
		s->srtp = NULL;
	}
	free(s);
}

/* Checks common to the four operations; -1 counted when they fail. */
static int
srtp_session_check(struct sfu_srtp_session *s, const char *what,
    enum sfu_srtp_direction want, const uint8_t *data, const size_t *len)
{
	if (s->dir != want) {
		return srtp_session_fail(s, what, srtp_err_status_bad_param,
		    "wrong direction for this session");
	}
	if (data == NULL || len == NULL || *len == 0 ||
	    *len > INT_MAX - SFU_SRTP_MAX_TRAILER_LEN) {
		return srtp_session_fail(
		    s, what, srtp_err_status_bad_param, "bad length");
	}
	return 0;
}

int
sfu_srtp_session_protect_rtp(
    struct sfu_srtp_session *s, uint8_t *data, size_t *len, size_t capacity)
{
	srtp_err_status_t st = srtp_err_status_ok;
	int n = 0;
	int r = 0;

	r = srtp_session_check(s, "protect_rtp", SFU_SRTP_OUTBOUND, data, len);
	if (r == -1) {
		return -1;
	}

	/* libsrtp writes up to SRTP_MAX_TRAILER_LEN past *len unchecked. */
	if (capacity < *len || capacity - *len < SRTP_MAX_TRAILER_LEN) {
		return srtp_session_fail(s, "protect_rtp",
		    srtp_err_status_bad_param, "no room for the trailer");
	}
	n = (int)*len;
	st = srtp_protect(s->srtp, data, &n);
	if (st != srtp_err_status_ok) {
		return srtp_session_fail(s, "protect_rtp", st, NULL);
	}
	*len = (size_t)n;
	s->stats.rtp_packets++;
	return 0;
}

int
sfu_srtp_session_protect_rtcp(
    struct sfu_srtp_session *s, uint8_t *data, size_t *len, size_t capacity)
{
	srtp_err_status_t st = srtp_err_status_ok;
	int n = 0;
	int r = 0;

	r = srtp_session_check(s, "protect_rtcp", SFU_SRTP_OUTBOUND, data, len);
	if (r == -1) {
		return -1;
	}
	if (capacity < *len ||
	    capacity - *len <
	        SRTP_MAX_TRAILER_LEN + SRTP_SESSION_SRTCP_INDEX_LEN) {
		return srtp_session_fail(s, "protect_rtcp",
		    srtp_err_status_bad_param, "no room for the trailer");
	}
	n = (int)*len;
	st = srtp_protect_rtcp(s->srtp, data, &n);
	if (st != srtp_err_status_ok) {
		return srtp_session_fail(s, "protect_rtcp", st, NULL);
	}
	*len = (size_t)n;
	s->stats.rtcp_packets++;
	return 0;
}

int
sfu_srtp_session_unprotect_rtp(
    struct sfu_srtp_session *s, uint8_t *data, size_t *len)
{
	srtp_err_status_t st = srtp_err_status_ok;
	int n = 0;
	int r = 0;

	r = srtp_session_check(s, "unprotect_rtp", SFU_SRTP_INBOUND, data, len);
	if (r == -1) {
		return -1;
	}
	n = (int)*len;
	st = srtp_unprotect(s->srtp, data, &n);
	if (st != srtp_err_status_ok) {
		return srtp_session_fail(s, "unprotect_rtp", st, NULL);
	}
	*len = (size_t)n;
	s->stats.rtp_packets++;
	return 0;
}

int
sfu_srtp_session_unprotect_rtcp(
    struct sfu_srtp_session *s, uint8_t *data, size_t *len)
{
	srtp_err_status_t st = srtp_err_status_ok;
	int n = 0;
	int r = 0;

	r = srtp_session_check(
	    s, "unprotect_rtcp", SFU_SRTP_INBOUND, data, len);
	if (r == -1) {
		return -1;
	}
	n = (int)*len;
	st = srtp_unprotect_rtcp(s->srtp, data, &n);
	if (st != srtp_err_status_ok) {
		return srtp_session_fail(s, "unprotect_rtcp", st, NULL);
	}
	*len = (size_t)n;
	s->stats.rtcp_packets++;
	return 0;
}

void
sfu_srtp_session_get_stats(
    const struct sfu_srtp_session *s, struct sfu_srtp_session_stats *stats)
{
	*stats = s->stats;
}

enum sfu_srtp_suite
sfu_srtp_session_suite(const struct sfu_srtp_session *s)
{
	return s->suite;
}

enum sfu_srtp_direction
sfu_srtp_session_direction(const struct sfu_srtp_session *s)
{
	return s->dir;
}

/* --- base64 --- */

int
sfu_base64_encode(const uint8_t *in, size_t len, char *out, size_t out_size)
{
	int n = 0;

	if (len > (size_t)INT_MAX / 4 * 3 ||
	    out_size < SFU_BASE64_ENCODED_LEN(len) + 1) {
		return -1;
	}
	if (len == 0) {
		out[0] = '\0';
		return 0;
	}

	/* EVP_EncodeBlock() pads and NUL-terminates: 4 * ceil(len/3) + 1. */
	n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return n;
}

/* The 6-bit value of a base64 character, -1 when not in the alphabet. */
static int
base64_value(char c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	if (c == '+') {
		return 62;
	}
	if (c == '/') {
		return 63;
	}
	return -1;
}

/*
 * Our own decoder rather than EVP_DecodeBlock(): that one returns padding
 * as zero bytes (the caller must count the '='s) and accepts '=' in the
 * middle of the input.
 */
int
sfu_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t out_size)
{
	size_t chars = in_len;
	size_t pad = 0;
	size_t out_len = 0;
	size_t i = 0;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	int v = 0;

	if (in_len > (size_t)INT_MAX) {
		return -1;
	}
	while (chars > 0 && pad < 2 && in[chars - 1] == '=') {
		chars--;
		pad++;
	}

	/* Padding, when present, completes the last quantum exactly. */
	if (chars % 4 == 1 || (pad > 0 && (chars + pad) % 4 != 0)) {
		return -1;
	}
	out_len = chars / 4 * 3 + (chars % 4 == 0 ? 0 : chars % 4 - 1);
	if (out_len > out_size) {
		return -1;
	}

	/* Validate first so that a bad string leaves out untouched. */
	for (i = 0; i < chars; i++) {
		if (base64_value(in[i]) < 0) {
			return -1;
		}
	}
	for (i = 0; i < chars; i++) {
		v = base64_value(in[i]);
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	return (int)o;
}
