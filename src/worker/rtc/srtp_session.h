/*
 * SPDX-License-Identifier: MIT
 *
 * One libsrtp2 session for one direction of a transport (mediasoup's
 * SrtpSession): OUTBOUND protects what we send, INBOUND unprotects what we
 * receive, for any SSRC, RTP and RTCP alike, in place. Failures (bad
 * authentication tag, replay, too short) are counted, logged rate-limited
 * under the "srtp" tag and returned as -1; they never abort. Also the SRTP
 * crypto suites with mediasoup's names and key lengths, random keys, and
 * the base64 used by srtpParameters.keyBase64.
 */
#ifndef SFU_WORKER_SRTP_SESSION_H
#define SFU_WORKER_SRTP_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* mediasoup's SrtpCryptoSuite. */
enum sfu_srtp_suite {
	SFU_SRTP_AES_CM_128_HMAC_SHA1_80 = 0,
	SFU_SRTP_AES_CM_128_HMAC_SHA1_32,
	SFU_SRTP_AEAD_AES_128_GCM,
	SFU_SRTP_AEAD_AES_256_GCM,
};

enum sfu_srtp_direction {
	SFU_SRTP_INBOUND = 0, /* unprotect what the peer sent */
	SFU_SRTP_OUTBOUND,    /* protect what we send */
};

/* Longest master key + salt of any suite (AEAD_AES_256_GCM), bytes. */
#define SFU_SRTP_MAX_KEY_LEN 44
/*
 * Room to leave after a packet for protect_rtp/protect_rtcp: libsrtp's
 * SRTP_MAX_TRAILER_LEN (tag + MKI) plus the SRTCP index (4 bytes).
 * SFU_UDP_RECV_TAILROOM covers it.
 */
#define SFU_SRTP_MAX_TRAILER_LEN 148

struct sfu_srtp_session;

struct sfu_srtp_session_stats {
	uint64_t rtp_packets; /* protected or unprotected */
	uint64_t rtcp_packets;
	uint64_t auth_failures;   /* tag did not verify */
	uint64_t replay_failures; /* replayed or too old */
	uint64_t other_failures;  /* bad packet, no room, misuse, ... */
};

/*
 * "AES_CM_128_HMAC_SHA1_80" ... -> suite; -1 for an unknown name. name may
 * be NULL (-1).
 */
int sfu_srtp_suite_parse(const char *name);
/* The mediasoup name of a suite; "" for a value out of range. */
const char *sfu_srtp_suite_name(enum sfu_srtp_suite suite);
/* Master key + salt length in bytes (30, 30, 28, 44); 0 out of range. */
size_t sfu_srtp_suite_key_len(enum sfu_srtp_suite suite);
/*
 * Fills out (sfu_srtp_suite_key_len(suite) bytes) with a fresh random
 * master key + salt from the OpenSSL CSPRNG. Returns 0, or -1.
 */
int sfu_srtp_random_key(enum sfu_srtp_suite suite, uint8_t *out);

/*
 * Creates a session for any SSRC in direction dir. key (master key + salt,
 * borrowed for the call) must be exactly sfu_srtp_suite_key_len(suite)
 * bytes. Initialises libsrtp on first use (once per process, thread-safe).
 * Returns NULL with err set on a bad suite or key length or a libsrtp
 * failure.
 */
struct sfu_srtp_session *sfu_srtp_session_new(enum sfu_srtp_direction dir,
    enum sfu_srtp_suite suite, const uint8_t *key, size_t key_len,
    struct sfu_error *err);
/* NULL-safe. */
void sfu_srtp_session_free(struct sfu_srtp_session *s);

/*
 * OUTBOUND sessions. Protect the *len bytes at data in place and grow *len
 * by the trailer; the buffer holds capacity bytes, and capacity - *len must
 * be at least the trailer room libsrtp may write (SRTP_MAX_TRAILER_LEN for
 * RTP, 4 more for RTCP; SFU_SRTP_MAX_TRAILER_LEN covers both), else
 * nothing is done. A retransmission of an already protected sequence
 * number is allowed (allow_repeat_tx). Return 0, or -1 (counted, *len
 * unchanged).
 */
int sfu_srtp_session_protect_rtp(
    struct sfu_srtp_session *s, uint8_t *data, size_t *len, size_t capacity);
int sfu_srtp_session_protect_rtcp(
    struct sfu_srtp_session *s, uint8_t *data, size_t *len, size_t capacity);
/*
 * INBOUND sessions. Verify and decrypt in place and shrink *len. Return 0,
 * or -1 on a bad tag, a replay (window of 1024 packets) or a malformed
 * packet (counted, logged rate-limited; the packet must be dropped).
 */
int sfu_srtp_session_unprotect_rtp(
    struct sfu_srtp_session *s, uint8_t *data, size_t *len);
int sfu_srtp_session_unprotect_rtcp(
    struct sfu_srtp_session *s, uint8_t *data, size_t *len);

void sfu_srtp_session_get_stats(
    const struct sfu_srtp_session *s, struct sfu_srtp_session_stats *stats);
enum sfu_srtp_suite sfu_srtp_session_suite(const struct sfu_srtp_session *s);
enum sfu_srtp_direction sfu_srtp_session_direction(
    const struct sfu_srtp_session *s);

/*
 * Standard base64 (RFC 4648 §4, with padding), as in mediasoup's
 * srtpParameters.keyBase64. These live here because SRTP keys are their
 * only user so far.
 */
#define SFU_BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)
/* Bytes a string of n characters can decode to, at most. */
#define SFU_BASE64_DECODED_MAX_LEN(n) ((((n) + 3) / 4) * 3)

/*
 * Writes the encoding of len bytes and a NUL into out (out_size bytes, at
 * least SFU_BASE64_ENCODED_LEN(len) + 1). Returns the string length, or -1
 * when out is too small or len too large (nothing written).
 */
int sfu_base64_encode(
    const uint8_t *in, size_t len, char *out, size_t out_size);
/*
 * Decodes in_len characters of in (standard alphabet; '=' padding, which
 * may be omitted, only at the end; no whitespace) into out (out_size
 * bytes). Returns the decoded length, or -1 on invalid input or when out
 * is too small.
 */
int sfu_base64_decode(
    const char *in, size_t in_len, uint8_t *out, size_t out_size);

#endif
