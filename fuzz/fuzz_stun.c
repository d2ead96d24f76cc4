/*
 * SPDX-License-Identifier: MIT
 *
 * libFuzzer target for worker/rtc/stun. The input is one datagram, parsed
 * from an exact-size heap copy (so ASan sees any read past len). The
 * parser must agree with sfu_stun_is_message(); a parsed view must point
 * inside the bytes and keep the promises of stun.h; MESSAGE-INTEGRITY is
 * checked with a fixed key and the USERNAME helpers must agree with each
 * other. Then the parsed fields are built into a new message (with the
 * unknown attributes, MESSAGE-INTEGRITY and FINGERPRINT) that must parse
 * back to the same fields and pass both checks, and a one-bit change of
 * it must fail the parse or the FINGERPRINT. Invariants are checked with
 * __builtin_trap().
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "worker/rtc/stun.h"

#define FUZZ_STUN_MAX_LEN 65536
#define FUZZ_STUN_BUILD_LEN 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fuzz_stun_key[] = "VOkJxbRl1RmTxUk/WvJxBt";
static const uint8_t fuzz_stun_other_key[] = "VOkJxbRl1RmTxUk/WvJxBu";

static void
fuzz_stun_check(bool ok)
{
	if (!ok) {
		__builtin_trap();
	}
}

static bool
fuzz_stun_inside(const uint8_t *data, size_t len, const void *p, size_t n)
{
	const uint8_t *b = p;

	return b >= data && n <= len && (size_t)(b - data) <= len - n;
}

/* The view's promises (stun.h) about the bytes it was parsed from. */
static void
fuzz_stun_check_view(
    const uint8_t *data, size_t len, const struct sfu_stun_message *m)
{
	size_t off = m->message_integrity_offset;
	unsigned i = 0;
	unsigned j = 0;

	fuzz_stun_check(sfu_stun_is_message(data, len));
	fuzz_stun_check(m->len == len);
	fuzz_stun_check((unsigned)m->cls <= SFU_STUN_ERROR_RESPONSE);
	fuzz_stun_check(m->method <= 0x0fff);
	fuzz_stun_check(memcmp(m->transaction_id, data + 8, 12) == 0);
	if (m->username != NULL) {
		fuzz_stun_check(m->username_len <= 513);
		fuzz_stun_check(
		    fuzz_stun_inside(data, len, m->username, m->username_len));
	} else {
		fuzz_stun_check(m->username_len == 0);
	}
	if (m->has_error_code) {
		fuzz_stun_check(m->error_code >= 300 && m->error_code <= 699);
		fuzz_stun_check(fuzz_stun_inside(
		    data, len, m->error_reason, m->error_reason_len));
	}
	if (m->has_xor_mapped_address) {
		fuzz_stun_check(m->xor_mapped_address.ss_family == AF_INET ||
		                m->xor_mapped_address.ss_family == AF_INET6);
	}
	if (off != 0) {
		fuzz_stun_check(off >= SFU_STUN_HEADER_LEN && off % 4 == 0 &&
		                off + 24 <= len);
		fuzz_stun_check(data[off] == 0x00 && data[off + 1] == 0x08);
	}
	if (m->has_fingerprint) {
		/* Nothing follows it, so it is the last 8 bytes. */
		fuzz_stun_check(len >= SFU_STUN_HEADER_LEN + 8);
		fuzz_stun_check(data[len - 8] == 0x80 && data[len - 7] == 0x28);
		fuzz_stun_check(off == 0 || off + 24 <= len - 8);
	} else {
		fuzz_stun_check(!m->fingerprint_ok);
	}
	fuzz_stun_check(m->n_unknown <= SFU_STUN_MAX_UNKNOWN);
	for (i = 0; i < m->n_unknown; i++) {
		fuzz_stun_check(m->unknown[i] < 0x8000);
		for (j = 0; j < i; j++) {
			fuzz_stun_check(m->unknown[i] != m->unknown[j]);
		}
	}
}

/* sfu_stun_username_local() and sfu_stun_username_matches() agree. */
static void
fuzz_stun_check_username(const struct sfu_stun_message *m)
{
	char out[600];
	int n = 0;

	n = sfu_stun_username_local(m, out, sizeof(out));
	if (n < 0) {
		fuzz_stun_check(!sfu_stun_username_matches(m, "evtj"));
		return;
	}
	fuzz_stun_check((size_t)n == strlen(out));
	fuzz_stun_check(m->username[n] == ':');
	fuzz_stun_check(sfu_stun_username_matches(m, out) == (n > 0));
	fuzz_stun_check(
	    sfu_stun_username_matches(m, "evtj") == (strcmp(out, "evtj") == 0));
	if (n > 0) {
		/* Too small by one. */
		fuzz_stun_check(
		    sfu_stun_username_local(m, out, (size_t)n) == -1);
	}
}

/*
 * Builds a message from m's fields (the reason phrase up to any NUL byte,
 * as sfu_stun_builder_add_error() takes a C string), which must fit,
 * parses it back and compares; then flips one bit chosen by flip.
 */
static void
fuzz_stun_round_trip(const struct sfu_stun_message *m, uint8_t flip)
{
	struct sfu_stun_builder b;
	struct sfu_stun_message q;
	struct sfu_error err;
	uint8_t *buf = NULL;
	char reason[800];
	size_t reason_len = 0;
	size_t len = 0;
	size_t bit = 0;
	unsigned i = 0;

	buf = malloc(FUZZ_STUN_BUILD_LEN);
	if (buf == NULL) {
		return;
	}
	sfu_stun_builder_init(
	    &b, buf, FUZZ_STUN_BUILD_LEN, m->cls, m->method, m->transaction_id);
	if (m->username != NULL) {
		sfu_stun_builder_add(
		    &b, SFU_STUN_ATTR_USERNAME, m->username, m->username_len);
	}
	if (m->has_priority) {
		sfu_stun_builder_add_u32(
		    &b, SFU_STUN_ATTR_PRIORITY, m->priority);
	}
	if (m->has_ice_controlling) {
		sfu_stun_builder_add_u64(
		    &b, SFU_STUN_ATTR_ICE_CONTROLLING, m->ice_controlling);
	}
	if (m->has_ice_controlled) {
		sfu_stun_builder_add_u64(
		    &b, SFU_STUN_ATTR_ICE_CONTROLLED, m->ice_controlled);
	}
	if (m->use_candidate) {
		sfu_stun_builder_add(&b, SFU_STUN_ATTR_USE_CANDIDATE, NULL, 0);
	}
	if (m->has_error_code) {
		/* add_error takes a C string: the reason up to any NUL. */
		memcpy(reason, m->error_reason, m->error_reason_len);
		reason[m->error_reason_len] = '\0';
		reason_len = strlen(reason);
		sfu_stun_builder_add_error(&b, m->error_code, reason);
	}
	if (m->has_xor_mapped_address) {
		sfu_stun_builder_add_xor_address(
		    &b, (const struct sockaddr *)&m->xor_mapped_address);
	}
	if (m->n_unknown > 0) {
		sfu_stun_builder_add_unknown(&b, m->unknown, m->n_unknown);
	}
	for (i = 0; i < m->n_unknown; i++) {
		sfu_stun_builder_add(&b, m->unknown[i], NULL, 0);
	}
	len = sfu_stun_builder_finish(
	    &b, fuzz_stun_key, sizeof(fuzz_stun_key) - 1);
	fuzz_stun_check(len > 0 && len == b.len && len % 4 == 0);

	sfu_error_clear(&err);
	fuzz_stun_check(sfu_stun_parse(buf, len, &q, &err) == 0);
	fuzz_stun_check_view(buf, len, &q);
	fuzz_stun_check(q.cls == m->cls && q.method == m->method);
	fuzz_stun_check(memcmp(q.transaction_id, m->transaction_id, 12) == 0);
	fuzz_stun_check((q.username == NULL) == (m->username == NULL));
	fuzz_stun_check(q.username_len == m->username_len);
	fuzz_stun_check(m->username_len == 0 ||
	                memcmp(q.username, m->username, m->username_len) == 0);
	fuzz_stun_check(
	    q.has_priority == m->has_priority && q.priority == m->priority);
	fuzz_stun_check(q.has_ice_controlling == m->has_ice_controlling &&
	                q.ice_controlling == m->ice_controlling);
	fuzz_stun_check(q.has_ice_controlled == m->has_ice_controlled &&
	                q.ice_controlled == m->ice_controlled);
	fuzz_stun_check(q.use_candidate == m->use_candidate);
	fuzz_stun_check(q.has_error_code == m->has_error_code &&
	                q.error_code == m->error_code);
	fuzz_stun_check(q.error_reason_len == reason_len);
	fuzz_stun_check(
	    reason_len == 0 || memcmp(q.error_reason, reason, reason_len) == 0);
	fuzz_stun_check(q.has_xor_mapped_address == m->has_xor_mapped_address);
	fuzz_stun_check(!m->has_xor_mapped_address ||
	                memcmp(&q.xor_mapped_address, &m->xor_mapped_address,
	                    sizeof(q.xor_mapped_address)) == 0);
	fuzz_stun_check(q.n_unknown == m->n_unknown);
	fuzz_stun_check(memcmp(q.unknown, m->unknown,
	                    m->n_unknown * sizeof(m->unknown[0])) == 0);
	fuzz_stun_check(q.has_fingerprint && q.fingerprint_ok);
	fuzz_stun_check(q.message_integrity_offset == len - 32);
	fuzz_stun_check(sfu_stun_check_integrity(
	    buf, len, &q, fuzz_stun_key, sizeof(fuzz_stun_key) - 1));
	fuzz_stun_check(!sfu_stun_check_integrity(buf, len, &q,
	    fuzz_stun_other_key, sizeof(fuzz_stun_other_key) - 1));

	/* CRC-32 catches any one-bit error; the parse may catch it first. */
	bit = (size_t)flip * 131 % (len * 8);
	buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	if (sfu_stun_parse(buf, len, &q, NULL) == 0) {
		fuzz_stun_check_view(buf, len, &q);
		fuzz_stun_check(!q.fingerprint_ok);
	}
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sfu_stun_message m;
	struct sfu_error err;
	uint8_t *exact = NULL;
	bool is_message = false;
	bool ok = false;

	if (size > FUZZ_STUN_MAX_LEN) {
		return 0;
	}
	exact = malloc(size > 0 ? size : 1);
	if (exact == NULL) {
		return 0;
	}
	if (size > 0) {
		memcpy(exact, data, size);
	}
	is_message = sfu_stun_is_message(exact, size);
	sfu_error_clear(&err);
	if (sfu_stun_parse(exact, size, &m, &err) == -1) {
		fuzz_stun_check(err.kind == SFU_ERR_TYPE && err.reason[0] != 0);
		fuzz_stun_check(m.username == NULL && !m.has_fingerprint);
		goto out;
	}
	fuzz_stun_check(is_message);
	fuzz_stun_check_view(exact, size, &m);
	fuzz_stun_check_username(&m);
	ok = sfu_stun_check_integrity(
	    exact, size, &m, fuzz_stun_key, sizeof(fuzz_stun_key) - 1);
	fuzz_stun_check(!ok || m.message_integrity_offset != 0);
	fuzz_stun_round_trip(&m, size > 0 ? exact[size - 1] : 0);
out:
	free(exact);
	return 0;
}
