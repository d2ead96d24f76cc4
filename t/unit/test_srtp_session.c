/*
 * SPDX-License-Identifier: MIT
 *
 * srtp_session: round trips for the four suites, libsrtp's reference
 * packets, failure counting (bad key, tampering, replay, no room, wrong
 * direction, short input), the suite table, random keys and base64.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "worker/rtc/srtp_session.h"
#include "helpers.h"

#define TEST_BUF_LEN 2048

static const enum sfu_srtp_suite all_suites[] = {
    SFU_SRTP_AES_CM_128_HMAC_SHA1_80,
    SFU_SRTP_AES_CM_128_HMAC_SHA1_32,
    SFU_SRTP_AEAD_AES_128_GCM,
    SFU_SRTP_AEAD_AES_256_GCM,
};

#define NSUITES (sizeof(all_suites) / sizeof(all_suites[0]))

/* Authentication tag lengths per suite: RTP, RTCP (RTCP never uses 32). */
static const size_t rtp_tag_len[] = {10, 4, 16, 16};
static const size_t rtcp_tag_len[] = {10, 10, 16, 16};

/* Parses a hex string (no separators) into out; returns the length. */
static size_t
hex_decode(const char *hex, uint8_t *out, size_t size)
{
	size_t n = strlen(hex) / 2;
	size_t i = 0;
	unsigned int v = 0;

	assert_true(n <= size);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/* A 12-byte RTP header plus payload_len bytes of a pattern. */
static size_t
make_rtp(uint8_t *buf, uint16_t seq, uint32_t ssrc, size_t payload_len)
{
	size_t i = 0;

	memset(buf, 0, TEST_BUF_LEN);
	buf[0] = 0x80;
	buf[1] = 96;
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	buf[4] = 0x00;
	buf[5] = 0x01;
	buf[6] = 0x02;
	buf[7] = 0x03;
	buf[8] = (uint8_t)(ssrc >> 24);
	buf[9] = (uint8_t)(ssrc >> 16);
	buf[10] = (uint8_t)(ssrc >> 8);
	buf[11] = (uint8_t)ssrc;
	for (i = 0; i < payload_len; i++) {
		buf[12 + i] = (uint8_t)(i * 7 + seq);
	}
	return 12 + payload_len;
}

/* An RTCP sender report (28 bytes). */
static size_t
make_rtcp(uint8_t *buf, uint32_t ssrc)
{
	size_t i = 0;

	memset(buf, 0, TEST_BUF_LEN);
	buf[0] = 0x80;
	buf[1] = 200;
	buf[2] = 0;
	buf[3] = 6;
	buf[4] = (uint8_t)(ssrc >> 24);
	buf[5] = (uint8_t)(ssrc >> 16);
	buf[6] = (uint8_t)(ssrc >> 8);
	buf[7] = (uint8_t)ssrc;
	for (i = 8; i < 28; i++) {
		buf[i] = (uint8_t)(i * 3);
	}
	return 28;
}

static void
new_pair(enum sfu_srtp_suite suite, struct sfu_srtp_session **out,
    struct sfu_srtp_session **in)
{
	uint8_t key[SFU_SRTP_MAX_KEY_LEN];
	struct sfu_error err = {0};
	size_t key_len = sfu_srtp_suite_key_len(suite);

	assert_int_equal(sfu_srtp_random_key(suite, key), 0);
	*out =
	    sfu_srtp_session_new(SFU_SRTP_OUTBOUND, suite, key, key_len, &err);
	assert_non_null(*out);
	*in = sfu_srtp_session_new(SFU_SRTP_INBOUND, suite, key, key_len, &err);
	assert_non_null(*in);
}

struct thread_result {
	enum sfu_srtp_suite suite;
	int ok;      /* round trips that came back equal */
	int created; /* sessions created */
};

/*
 * Creates sessions and round-trips packets; no cmocka assertion here (they
 * longjmp), the main thread checks the counts.
 */
static void *
thread_main(void *arg)
{
	struct thread_result *r = arg;
	struct sfu_srtp_session *out = NULL;
	struct sfu_srtp_session *in = NULL;
	uint8_t key[SFU_SRTP_MAX_KEY_LEN];
	uint8_t buf[TEST_BUF_LEN];
	uint8_t orig[TEST_BUF_LEN];
	size_t key_len = sfu_srtp_suite_key_len(r->suite);
	size_t orig_len = 0;
	size_t len = 0;
	uint16_t seq = 0;
	int round = 0;

	for (round = 0; round < 20; round++) {
		if (sfu_srtp_random_key(r->suite, key) == -1) {
			return NULL;
		}
		out = sfu_srtp_session_new(
		    SFU_SRTP_OUTBOUND, r->suite, key, key_len, NULL);
		in = sfu_srtp_session_new(
		    SFU_SRTP_INBOUND, r->suite, key, key_len, NULL);
		r->created += (out != NULL) + (in != NULL);
		for (seq = 0; out != NULL && in != NULL && seq < 50; seq++) {
			orig_len = make_rtp(orig, seq, 0x1000u + round, 200);
			memcpy(buf, orig, orig_len);
			len = orig_len;
			if (sfu_srtp_session_protect_rtp(
			        out, buf, &len, sizeof(buf)) == 0 &&
			    sfu_srtp_session_unprotect_rtp(in, buf, &len) ==
			        0 &&
			    len == orig_len && memcmp(buf, orig, len) == 0) {
				r->ok++;
			}
		}
		sfu_srtp_session_free(out);
		sfu_srtp_session_free(in);
	}
	return NULL;
}

/*
 * First use from several threads at once (embedded workers): libsrtp is
 * initialised exactly once and sessions work in every thread. Runs first,
 * so that these threads race for the initialisation.
 */
static void
test_srtp_session_threads_share_init(void **state)
{
	pthread_t th[4];
	struct thread_result r[4];
	int i = 0;

	(void)state;
	memset(r, 0, sizeof(r));
	for (i = 0; i < 4; i++) {
		r[i].suite = all_suites[i];
		assert_int_equal(
		    pthread_create(&th[i], NULL, thread_main, &r[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(r[i].created, 40);
		assert_int_equal(r[i].ok, 20 * 50);
	}
}

/* Every suite protects and unprotects RTP and RTCP back to the original. */
static void
test_srtp_session_round_trips_all_suites(void **state)
{
	struct sfu_srtp_session *out = NULL;
	struct sfu_srtp_session *in = NULL;
	struct sfu_srtp_session_stats st;
	uint8_t buf[TEST_BUF_LEN];
	uint8_t orig[TEST_BUF_LEN];
	size_t orig_len = 0;
	size_t len = 0;
	size_t i = 0;
	uint16_t seq = 0;

	(void)state;
	for (i = 0; i < NSUITES; i++) {
		new_pair(all_suites[i], &out, &in);
		assert_int_equal(sfu_srtp_session_suite(out), all_suites[i]);
		assert_int_equal(
		    sfu_srtp_session_direction(out), SFU_SRTP_OUTBOUND);
		assert_int_equal(
		    sfu_srtp_session_direction(in), SFU_SRTP_INBOUND);
		for (seq = 100; seq < 110; seq++) {
			orig_len = make_rtp(orig, seq, 0x11223344, 160);
			memcpy(buf, orig, TEST_BUF_LEN);
			len = orig_len;
			assert_int_equal(sfu_srtp_session_protect_rtp(
			                     out, buf, &len, sizeof(buf)),
			    0);
			assert_int_equal(len, orig_len + rtp_tag_len[i]);
			/* Header in clear, payload encrypted. */
			assert_memory_equal(buf, orig, 12);
			assert_memory_not_equal(buf + 12, orig + 12, 160);
			assert_int_equal(
			    sfu_srtp_session_unprotect_rtp(in, buf, &len), 0);
			assert_int_equal(len, orig_len);
			assert_memory_equal(buf, orig, orig_len);
		}
		for (seq = 0; seq < 3; seq++) {
			orig_len = make_rtcp(orig, 0x55667788);
			memcpy(buf, orig, TEST_BUF_LEN);
			len = orig_len;
			assert_int_equal(sfu_srtp_session_protect_rtcp(
			                     out, buf, &len, sizeof(buf)),
			    0);
			/* E flag + SRTCP index (4 bytes) and the tag. */
			assert_int_equal(len, orig_len + 4 + rtcp_tag_len[i]);
			assert_memory_not_equal(buf + 8, orig + 8, 20);
			assert_int_equal(
			    sfu_srtp_session_unprotect_rtcp(in, buf, &len), 0);
			assert_int_equal(len, orig_len);
			assert_memory_equal(buf, orig, orig_len);
		}
		sfu_srtp_session_get_stats(out, &st);
		assert_int_equal(st.rtp_packets, 10);
		assert_int_equal(st.rtcp_packets, 3);
		sfu_srtp_session_get_stats(in, &st);
		assert_int_equal(st.rtp_packets, 10);
		assert_int_equal(st.rtcp_packets, 3);
		assert_int_equal(
		    st.auth_failures + st.replay_failures + st.other_failures,
		    0);
		sfu_srtp_session_free(out);
		sfu_srtp_session_free(in);
	}
}

/*
 * Interoperability: libsrtp's own reference packets (test/srtp_driver.c
 * srtp_validate and srtp_validate_gcm) come out of our sessions, which use
 * ssrc_any_* rather than a specific SSRC.
 */
static void
test_srtp_session_matches_reference_packets(void **state)
{
	static const struct {
		enum sfu_srtp_suite suite;
		const char *key;
		const char *rtp;
		const char *srtp;
		const char *rtcp;
		const char *srtcp;
	} vectors[] = {
	    {SFU_SRTP_AES_CM_128_HMAC_SHA1_80,
	        "e1f97a0d3e018be0d64fa32c06de41390ec675ad498afeebb6960b3aab"
	        "e6",
	        "800f1234decafbadcafebabe"
	        "abababababababababababababababab",
	        "800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402"
	        "b78d6acc99ea179b8dbb",
	        "81c8000bcafebabe"
	        "abababababababababababababababab",
	        "81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001"
	        "993e08cd54d6c1230798"},
	    {SFU_SRTP_AEAD_AES_128_GCM,
	        "000102030405060708090a0b0c0d0e0fa0a1a2a3a4a5a6a7a8a9aaab",
	        "800f1234decafbadcafebabe"
	        "abababababababababababababababab",
	        "800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06e"
	        "d2976826f796b201df3131a127e8a392",
	        "81c8000bcafebabe"
	        "abababababababababababababababab",
	        "81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbe"
	        "a2b3b446ea31123ba88ce61e80000001"},
	};
	struct sfu_srtp_session *out = NULL;
	struct sfu_srtp_session *in = NULL;
	uint8_t key[SFU_SRTP_MAX_KEY_LEN];
	uint8_t plain[TEST_BUF_LEN];
	uint8_t cipher[TEST_BUF_LEN];
	uint8_t buf[TEST_BUF_LEN];
	size_t key_len = 0;
	size_t plain_len = 0;
	size_t cipher_len = 0;
	size_t len = 0;
	size_t i = 0;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		key_len = hex_decode(vectors[i].key, key, sizeof(key));
		assert_int_equal(
		    key_len, sfu_srtp_suite_key_len(vectors[i].suite));
		out = sfu_srtp_session_new(
		    SFU_SRTP_OUTBOUND, vectors[i].suite, key, key_len, NULL);
		in = sfu_srtp_session_new(
		    SFU_SRTP_INBOUND, vectors[i].suite, key, key_len, NULL);
		assert_non_null(out);
		assert_non_null(in);

		plain_len = hex_decode(vectors[i].rtp, plain, sizeof(plain));
		cipher_len =
		    hex_decode(vectors[i].srtp, cipher, sizeof(cipher));
		memcpy(buf, plain, plain_len);
		len = plain_len;
		assert_int_equal(
		    sfu_srtp_session_protect_rtp(out, buf, &len, sizeof(buf)),
		    0);
		assert_int_equal(len, cipher_len);
		assert_memory_equal(buf, cipher, cipher_len);
		assert_int_equal(
		    sfu_srtp_session_unprotect_rtp(in, buf, &len), 0);
		assert_int_equal(len, plain_len);
		assert_memory_equal(buf, plain, plain_len);

		plain_len = hex_decode(vectors[i].rtcp, plain, sizeof(plain));
		cipher_len =
		    hex_decode(vectors[i].srtcp, cipher, sizeof(cipher));
		memcpy(buf, plain, plain_len);
		len = plain_len;
		assert_int_equal(
		    sfu_srtp_session_protect_rtcp(out, buf, &len, sizeof(buf)),
		    0);
		assert_int_equal(len, cipher_len);
		assert_memory_equal(buf, cipher, cipher_len);
		assert_int_equal(
		    sfu_srtp_session_unprotect_rtcp(in, buf, &len), 0);
		assert_int_equal(len, plain_len);
		assert_memory_equal(buf, plain, plain_len);

		sfu_srtp_session_free(out);
		sfu_srtp_session_free(in);
	}
}

/* A packet protected with another key fails authentication, counted. */
static void
test_srtp_session_counts_auth_failure_on_wrong_key(void **state)
{
	struct sfu_srtp_session *out = NULL;
	struct sfu_srtp_session *in = NULL;
	struct sfu_srtp_session *other = NULL;
	struct sfu_srtp_session *unused = NULL;
	struct sfu_srtp_session_stats st;
	uint8_t buf[TEST_BUF_LEN];
	uint8_t protected[TEST_BUF_LEN];
	size_t len = 0;
	size_t plen = 0;
	size_t i = 0;

	(void)state;
	for (i = 0; i < NSUITES; i++) {
		new_pair(all_suites[i], &out, &in);
		new_pair(all_suites[i], &other, &unused);
		sfu_srtp_session_free(unused);

		len = make_rtp(buf, 1, 0xabcdef01, 100);
		assert_int_equal(
		    sfu_srtp_session_protect_rtp(other, buf, &len, sizeof(buf)),
		    0);
		plen = len;
		memcpy(protected, buf, plen);
		assert_int_equal(
		    sfu_srtp_session_unprotect_rtp(in, buf, &len), -1);
		assert_int_equal(len, plen);

		/* RTCP too. */
		len = make_rtcp(buf, 0xabcdef01);
		assert_int_equal(sfu_srtp_session_protect_rtcp(
		                     other, buf, &len, sizeof(buf)),
		    0);
		assert_int_equal(
		    sfu_srtp_session_unprotect_rtcp(in, buf, &len), -1);

		/* One flipped payload bit with the right key fails too. */
		len = make_rtp(buf, 2, 0xabcdef01, 100);
		assert_int_equal(
		    sfu_srtp_session_protect_rtp(out, buf, &len, sizeof(buf)),
		    0);
		buf[20] ^= 0x01;
		assert_int_equal(
		    sfu_srtp_session_unprotect_rtp(in, buf, &len), -1);

		sfu_srtp_session_get_stats(in, &st);
		assert_int_equal(st.auth_failures, 3);
		assert_int_equal(st.rtp_packets, 0);
		assert_int_equal(st.rtcp_packets, 0);
		sfu_srtp_session_free(out);
		sfu_srtp_session_free(in);
		sfu_srtp_session_free(other);
	}
}

/* The same SRTP or SRTCP packet accepted twice is a replay, counted. */
static void
test_srtp_session_rejects_replay(void **state)
{
	struct sfu_srtp_session *out = NULL;
	struct sfu_srtp_session *in = NULL;
	struct sfu_srtp_session_stats st;
	uint8_t buf[TEST_BUF_LEN];
	uint8_t copy[TEST_BUF_LEN];
	uint8_t old[TEST_BUF_LEN];
	size_t len = 0;
	size_t copy_len = 0;
	size_t old_len = 0;

	(void)state;
	new_pair(SFU_SRTP_AES_CM_128_HMAC_SHA1_80, &out, &in);

	/* An old packet, kept for later. */
	len = make_rtp(buf, 1000, 0x01020304, 50);
	assert_int_equal(
	    sfu_srtp_session_protect_rtp(out, buf, &len, sizeof(buf)), 0);
	memcpy(old, buf, len);
	old_len = len;

	/* The same packet twice. */
	len = make_rtp(buf, 5000, 0x01020304, 50);
	assert_int_equal(
	    sfu_srtp_session_protect_rtp(out, buf, &len, sizeof(buf)), 0);
	memcpy(copy, buf, len);
	copy_len = len;
	assert_int_equal(sfu_srtp_session_unprotect_rtp(in, buf, &len), 0);
	assert_int_equal(
	    sfu_srtp_session_unprotect_rtp(in, copy, &copy_len), -1);

	/* 4000 behind the newest, outside the 1024-packet window. */
	assert_int_equal(sfu_srtp_session_unprotect_rtp(in, old, &old_len), -1);

	len = make_rtcp(buf, 0x01020304);
	assert_int_equal(
	    sfu_srtp_session_protect_rtcp(out, buf, &len, sizeof(buf)), 0);
	memcpy(copy, buf, len);
	copy_len = len;
	assert_int_equal(sfu_srtp_session_unprotect_rtcp(in, buf, &len), 0);
	assert_int_equal(
	    sfu_srtp_session_unprotect_rtcp(in, copy, &copy_len), -1);

	sfu_srtp_session_get_stats(in, &st);
	assert_int_equal(st.replay_failures, 3);
	assert_int_equal(st.auth_failures, 0);
	sfu_srtp_session_free(out);
	sfu_srtp_session_free(in);
}

/*
 * A retransmission (same sequence number protected again, as RTX/NACK
 * answers do) is allowed and decrypts on a fresh receiver.
 */
static void
test_srtp_session_allows_repeated_protect(void **state)
{
	struct sfu_srtp_session *out = NULL;
	struct sfu_srtp_session *in = NULL;
	uint8_t first[TEST_BUF_LEN];
	uint8_t again[TEST_BUF_LEN];
	size_t first_len = 0;
	size_t again_len = 0;

	(void)state;
	new_pair(SFU_SRTP_AEAD_AES_128_GCM, &out, &in);
	first_len = make_rtp(first, 77, 0x0a0b0c0d, 80);
	again_len = make_rtp(again, 77, 0x0a0b0c0d, 80);
	assert_int_equal(
	    sfu_srtp_session_protect_rtp(out, first, &first_len, sizeof(first)),
	    0);
	assert_int_equal(
	    sfu_srtp_session_protect_rtp(out, again, &again_len, sizeof(again)),
	    0);
	assert_int_equal(first_len, again_len);
	assert_memory_equal(first, again, first_len);
	assert_int_equal(
	    sfu_srtp_session_unprotect_rtp(in, again, &again_len), 0);
	sfu_srtp_session_free(out);
	sfu_srtp_session_free(in);
}

/* protect refuses a buffer without room for the trailer and keeps it. */
static void
test_srtp_session_refuses_small_capacity(void **state)
{
	struct sfu_srtp_session *out = NULL;
	struct sfu_srtp_session *in = NULL;
	struct sfu_srtp_session_stats st;
	uint8_t buf[TEST_BUF_LEN];
	uint8_t orig[TEST_BUF_LEN];
	size_t orig_len = 0;
	size_t len = 0;

	(void)state;
	new_pair(SFU_SRTP_AES_CM_128_HMAC_SHA1_80, &out, &in);
	orig_len = make_rtp(orig, 9, 0x99, 100);
	memcpy(buf, orig, sizeof(buf));
	len = orig_len;

	/* Only 10 bytes of room: the tag would fit, libsrtp's rule not. */
	assert_int_equal(
	    sfu_srtp_session_protect_rtp(out, buf, &len, orig_len + 10), -1);
	assert_int_equal(len, orig_len);
	assert_memory_equal(buf, orig, orig_len);
	/* Capacity below len. */
	assert_int_equal(
	    sfu_srtp_session_protect_rtp(out, buf, &len, orig_len - 1), -1);

	/* RTCP needs 4 bytes more than RTP. */
	orig_len = make_rtcp(orig, 0x99);
	memcpy(buf, orig, sizeof(buf));
	len = orig_len;
	assert_int_equal(sfu_srtp_session_protect_rtcp(out, buf, &len,
	                     orig_len + SFU_SRTP_MAX_TRAILER_LEN - 1),
	    -1);
	assert_int_equal(len, orig_len);
	assert_int_equal(sfu_srtp_session_protect_rtcp(out, buf, &len,
	                     orig_len + SFU_SRTP_MAX_TRAILER_LEN),
	    0);

	/* RTP with exactly SFU_SRTP_MAX_TRAILER_LEN is enough. */
	orig_len = make_rtp(orig, 10, 0x99, 100);
	memcpy(buf, orig, sizeof(buf));
	len = orig_len;
	assert_int_equal(sfu_srtp_session_protect_rtp(out, buf, &len,
	                     orig_len + SFU_SRTP_MAX_TRAILER_LEN),
	    0);

	sfu_srtp_session_get_stats(out, &st);
	assert_int_equal(st.other_failures, 3);
	assert_int_equal(st.rtp_packets, 1);
	assert_int_equal(st.rtcp_packets, 1);
	sfu_srtp_session_free(out);
	sfu_srtp_session_free(in);
}

/* Garbage, short and empty input fails without crashing, counted. */
static void
test_srtp_session_rejects_malformed_input(void **state)
{
	struct sfu_srtp_session *out = NULL;
	struct sfu_srtp_session *in = NULL;
	struct sfu_srtp_session_stats st;
	uint8_t buf[TEST_BUF_LEN];
	size_t len = 0;
	size_t i = 0;

	(void)state;
	new_pair(SFU_SRTP_AES_CM_128_HMAC_SHA1_80, &out, &in);
	for (len = 0; len < 40; len++) {
		memset(buf, 0x80, sizeof(buf));
		i = len;
		assert_int_equal(
		    sfu_srtp_session_unprotect_rtp(in, buf, &i), -1);
		i = len;
		assert_int_equal(
		    sfu_srtp_session_unprotect_rtcp(in, buf, &i), -1);
	}
	assert_int_equal(sfu_srtp_session_unprotect_rtp(in, NULL, &len), -1);
	sfu_srtp_session_get_stats(in, &st);
	assert_int_equal(
	    st.auth_failures + st.replay_failures + st.other_failures, 81);
	assert_int_equal(st.rtp_packets + st.rtcp_packets, 0);

	/* A too short packet to protect. */
	len = 4;
	assert_int_equal(
	    sfu_srtp_session_protect_rtp(out, buf, &len, sizeof(buf)), -1);
	sfu_srtp_session_free(out);
	sfu_srtp_session_free(in);
}

/* Protecting on an inbound session (or the reverse) is refused. */
static void
test_srtp_session_refuses_wrong_direction(void **state)
{
	struct sfu_srtp_session *out = NULL;
	struct sfu_srtp_session *in = NULL;
	struct sfu_srtp_session_stats st;
	uint8_t buf[TEST_BUF_LEN];
	size_t len = 0;

	(void)state;
	new_pair(SFU_SRTP_AES_CM_128_HMAC_SHA1_32, &out, &in);
	len = make_rtp(buf, 1, 1, 10);
	assert_int_equal(
	    sfu_srtp_session_protect_rtp(in, buf, &len, sizeof(buf)), -1);
	assert_int_equal(
	    sfu_srtp_session_protect_rtcp(in, buf, &len, sizeof(buf)), -1);
	assert_int_equal(sfu_srtp_session_unprotect_rtp(out, buf, &len), -1);
	assert_int_equal(sfu_srtp_session_unprotect_rtcp(out, buf, &len), -1);
	sfu_srtp_session_get_stats(in, &st);
	assert_int_equal(st.other_failures, 2);
	sfu_srtp_session_get_stats(out, &st);
	assert_int_equal(st.other_failures, 2);
	sfu_srtp_session_free(out);
	sfu_srtp_session_free(in);
}

/* A key of the wrong length or an unknown suite is a TypeError. */
static void
test_srtp_session_rejects_bad_key_or_suite(void **state)
{
	uint8_t key[64] = {0};
	struct sfu_error err = {0};

	(void)state;
	assert_null(sfu_srtp_session_new(SFU_SRTP_OUTBOUND,
	    SFU_SRTP_AES_CM_128_HMAC_SHA1_80, key, 29, &err));
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_non_null(strstr(err.reason, "AES_CM_128_HMAC_SHA1_80"));
	assert_non_null(strstr(err.reason, "30-byte"));

	sfu_error_clear(&err);
	assert_null(sfu_srtp_session_new(
	    SFU_SRTP_INBOUND, SFU_SRTP_AEAD_AES_256_GCM, key, 30, &err));
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_non_null(strstr(err.reason, "44-byte"));

	sfu_error_clear(&err);
	assert_null(sfu_srtp_session_new(
	    SFU_SRTP_INBOUND, SFU_SRTP_AEAD_AES_128_GCM, NULL, 28, &err));
	assert_int_equal(err.kind, SFU_ERR_TYPE);

	sfu_error_clear(&err);
	assert_null(sfu_srtp_session_new(
	    SFU_SRTP_INBOUND, (enum sfu_srtp_suite)42, key, 30, &err));
	assert_int_equal(err.kind, SFU_ERR_TYPE);

	/* NULL err is allowed. */
	assert_null(sfu_srtp_session_new(
	    SFU_SRTP_INBOUND, SFU_SRTP_AEAD_AES_128_GCM, key, 30, NULL));
	sfu_srtp_session_free(NULL);
}

/* Suite names and key lengths are mediasoup's. */
static void
test_srtp_suite_parse_name_and_key_len(void **state)
{
	static const struct {
		const char *name;
		enum sfu_srtp_suite suite;
		size_t key_len;
	} table[] = {
	    {"AES_CM_128_HMAC_SHA1_80", SFU_SRTP_AES_CM_128_HMAC_SHA1_80, 30},
	    {"AES_CM_128_HMAC_SHA1_32", SFU_SRTP_AES_CM_128_HMAC_SHA1_32, 30},
	    {"AEAD_AES_128_GCM", SFU_SRTP_AEAD_AES_128_GCM, 28},
	    {"AEAD_AES_256_GCM", SFU_SRTP_AEAD_AES_256_GCM, 44},
	};
	size_t i = 0;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		assert_int_equal(
		    sfu_srtp_suite_parse(table[i].name), (int)table[i].suite);
		assert_string_equal(
		    sfu_srtp_suite_name(table[i].suite), table[i].name);
		assert_int_equal(
		    sfu_srtp_suite_key_len(table[i].suite), table[i].key_len);
		assert_true(table[i].key_len <= SFU_SRTP_MAX_KEY_LEN);
	}
	assert_int_equal(sfu_srtp_suite_parse("aes_cm_128_hmac_sha1_80"), -1);
	assert_int_equal(sfu_srtp_suite_parse("AES_CM_128_HMAC_SHA1"), -1);
	assert_int_equal(sfu_srtp_suite_parse(""), -1);
	assert_int_equal(sfu_srtp_suite_parse(NULL), -1);
	assert_string_equal(sfu_srtp_suite_name((enum sfu_srtp_suite)9), "");
	assert_int_equal(sfu_srtp_suite_key_len((enum sfu_srtp_suite)9), 0);
}

/* Random keys have the suite's length and differ from call to call. */
static void
test_srtp_random_key(void **state)
{
	uint8_t a[SFU_SRTP_MAX_KEY_LEN + 1];
	uint8_t b[SFU_SRTP_MAX_KEY_LEN + 1];

	(void)state;
	memset(a, 0xee, sizeof(a));
	memset(b, 0xee, sizeof(b));
	assert_int_equal(sfu_srtp_random_key(SFU_SRTP_AEAD_AES_256_GCM, a), 0);
	assert_int_equal(sfu_srtp_random_key(SFU_SRTP_AEAD_AES_256_GCM, b), 0);
	assert_memory_not_equal(a, b, 44);
	/* Nothing written past the key. */
	assert_int_equal(a[44], 0xee);
	memset(a, 0xee, sizeof(a));
	assert_int_equal(sfu_srtp_random_key(SFU_SRTP_AEAD_AES_128_GCM, a), 0);
	assert_int_equal(a[28], 0xee);
	assert_int_equal(sfu_srtp_random_key((enum sfu_srtp_suite)9, a), -1);
}

/* RFC 4648 §10 vectors both ways, without padding too. */
static void
test_base64_known_vectors(void **state)
{
	static const struct {
		const char *plain;
		const char *b64;
		const char *unpadded;
	} v[] = {
	    {"", "", ""},
	    {"f", "Zg==", "Zg"},
	    {"fo", "Zm8=", "Zm8"},
	    {"foo", "Zm9v", "Zm9v"},
	    {"foob", "Zm9vYg==", "Zm9vYg"},
	    {"fooba", "Zm9vYmE=", "Zm9vYmE"},
	    {"foobar", "Zm9vYmFy", "Zm9vYmFy"},
	};
	static const uint8_t bin[] = {0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20,
	    0x92, 0x8b, 0x30, 0xd3, 0x8f, 0x41, 0x14, 0x93, 0x51, 0x55, 0x97,
	    0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f, 0x82, 0x18, 0xa3, 0x92, 0x59,
	    0xa7, 0xa2, 0x9a, 0xab, 0xb2, 0xdb, 0xaf, 0xc3, 0x1c, 0xb3, 0xd3,
	    0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf, 0xff};
	char enc[128];
	uint8_t dec[64];
	size_t plen = 0;
	size_t i = 0;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		plen = strlen(v[i].plain);
		assert_int_equal(sfu_base64_encode((const uint8_t *)v[i].plain,
		                     plen, enc, sizeof(enc)),
		    (int)strlen(v[i].b64));
		assert_string_equal(enc, v[i].b64);
		assert_int_equal(
		    SFU_BASE64_ENCODED_LEN(plen), strlen(v[i].b64));

		memset(dec, 0xee, sizeof(dec));
		assert_int_equal(sfu_base64_decode(v[i].b64, strlen(v[i].b64),
		                     dec, sizeof(dec)),
		    (int)plen);
		assert_memory_equal(dec, v[i].plain, plen);
		assert_int_equal(dec[plen], 0xee);
		assert_int_equal(sfu_base64_decode(v[i].unpadded,
		                     strlen(v[i].unpadded), dec, sizeof(dec)),
		    (int)plen);
		assert_memory_equal(dec, v[i].plain, plen);
		/* Exactly enough room. */
		assert_int_equal(
		    sfu_base64_decode(v[i].b64, strlen(v[i].b64), dec, plen),
		    (int)plen);
	}

	/* All 64 characters, and the bytes 0x00 and 0xff. */
	assert_int_equal(
	    sfu_base64_encode(bin, sizeof(bin), enc, sizeof(enc)), 68);
	assert_string_equal(enc, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
	                         "tuvwxyz0123456789+//w==");
	assert_int_equal(sfu_base64_decode(enc, strlen(enc), dec, sizeof(dec)),
	    (int)sizeof(bin));
	assert_memory_equal(dec, bin, sizeof(bin));
}

/* Bad base64 and short buffers are refused, leaving out untouched. */
static void
test_base64_rejects_invalid(void **state)
{
	static const char *bad[] = {"Z", "Zg=", "Z===", "Zm9v!",
	    "Zg==Zg==", "Zm=v", "Zm9vY", "Zm 9v", "Zm9v\n", "====", "Zm9vYg="};
	uint8_t dec[64];
	char enc[8];
	size_t i = 0;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(dec, 0xee, sizeof(dec));
		assert_int_equal(
		    sfu_base64_decode(bad[i], strlen(bad[i]), dec, sizeof(dec)),
		    -1);
		assert_int_equal(dec[0], 0xee);
	}
	/* Output too small. */
	assert_int_equal(sfu_base64_decode("Zm9vYmFy", 8, dec, 5), -1);
	assert_int_equal(
	    sfu_base64_encode((const uint8_t *)"foob", 4, enc, sizeof(enc)),
	    -1);
	assert_int_equal(
	    sfu_base64_encode((const uint8_t *)"foo", 3, enc, 4), -1);
	assert_int_equal(
	    sfu_base64_encode((const uint8_t *)"foo", 3, enc, 5), 4);
}

/* Random SRTP keys survive keyBase64 both ways (30 -> 40, 44 -> 60). */
static void
test_base64_round_trips_srtp_keys(void **state)
{
	uint8_t key[SFU_SRTP_MAX_KEY_LEN];
	uint8_t dec[SFU_SRTP_MAX_KEY_LEN];
	char enc[SFU_BASE64_ENCODED_LEN(SFU_SRTP_MAX_KEY_LEN) + 1];
	size_t key_len = 0;
	size_t i = 0;
	int rounds = 0;

	(void)state;
	for (rounds = 0; rounds < 50; rounds++) {
		for (i = 0; i < NSUITES; i++) {
			key_len = sfu_srtp_suite_key_len(all_suites[i]);
			assert_int_equal(
			    sfu_srtp_random_key(all_suites[i], key), 0);
			assert_int_equal(
			    sfu_base64_encode(key, key_len, enc, sizeof(enc)),
			    (int)SFU_BASE64_ENCODED_LEN(key_len));
			assert_int_equal(
			    sfu_base64_decode(enc, strlen(enc), dec, key_len),
			    (int)key_len);
			assert_memory_equal(dec, key, key_len);
		}
	}
	assert_int_equal(SFU_BASE64_ENCODED_LEN(30), 40);
	assert_int_equal(SFU_BASE64_ENCODED_LEN(44), 60);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_srtp_session_threads_share_init),
	    cmocka_unit_test(test_srtp_session_round_trips_all_suites),
	    cmocka_unit_test(test_srtp_session_matches_reference_packets),
	    cmocka_unit_test(
	        test_srtp_session_counts_auth_failure_on_wrong_key),
	    cmocka_unit_test(test_srtp_session_rejects_replay),
	    cmocka_unit_test(test_srtp_session_allows_repeated_protect),
	    cmocka_unit_test(test_srtp_session_refuses_small_capacity),
	    cmocka_unit_test(test_srtp_session_rejects_malformed_input),
	    cmocka_unit_test(test_srtp_session_refuses_wrong_direction),
	    cmocka_unit_test(test_srtp_session_rejects_bad_key_or_suite),
	    cmocka_unit_test(test_srtp_suite_parse_name_and_key_len),
	    cmocka_unit_test(test_srtp_random_key),
	    cmocka_unit_test(test_base64_known_vectors),
	    cmocka_unit_test(test_base64_rejects_invalid),
	    cmocka_unit_test(test_base64_round_trips_srtp_keys),
	};

	return cmocka_run_group_tests_name("srtp_session", tests, NULL, NULL);
}
