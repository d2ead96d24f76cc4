/*
 * SPDX-License-Identifier: MIT
 *
 * libFuzzer target for worker/rtc/rtp_packet. The input is one datagram.
 * It is parsed from an exact-size heap copy (so ASan sees any read past
 * len); when valid, the view's invariants are checked, and a second copy
 * in a buffer with spare capacity (its size derived from the input) goes
 * through the setters, in-place extension writes, an id remap, a rebuild of
 * the extension block with one value resized, and sfu_rtp_packet_write()
 * of the parsed fields. After each change the bytes are parsed again and
 * must agree with the view; a refused change must leave the bytes alone.
 * Invariants are checked with __builtin_trap().
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/rtc/rtcp_packet.h"
#include "worker/rtc/rtp_packet.h"

#define FUZZ_RTP_MAX_LEN 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_rtp_check(bool ok)
{
	if (!ok) {
		__builtin_trap();
	}
}

/* The view p of the bytes p->data must satisfy the parser's promises. */
static void
fuzz_rtp_check_view(const struct sfu_rtp_packet *p)
{
	const struct sfu_rtp_packet_ext *e = NULL;
	const uint8_t *v = NULL;
	size_t len = 0;
	unsigned i = 0;
	unsigned id = 0;

	fuzz_rtp_check(p->len >= SFU_RTP_PACKET_HEADER_LEN);
	fuzz_rtp_check(p->capacity >= p->len);
	fuzz_rtp_check(
	    p->header_len + p->payload_len + p->padding_len == p->len);
	fuzz_rtp_check(p->header_len >=
	               SFU_RTP_PACKET_HEADER_LEN + 4 * (size_t)p->csrc_count);
	fuzz_rtp_check(p->payload_type < 128);
	fuzz_rtp_check(sfu_rtp_is_rtp(p->data, p->len) ||
	               sfu_rtcp_is_rtcp(p->data, p->len));
	fuzz_rtp_check(p->has_extension == (p->ext_form != 0));
	fuzz_rtp_check(p->ext_count <= SFU_RTP_PACKET_MAX_EXTENSIONS);
	for (i = 0; i < p->ext_count; i++) {
		e = &p->ext[i];
		fuzz_rtp_check(e->id != 0);
		fuzz_rtp_check(
		    e->off >= p->ext_off + 4 &&
		    e->off + (size_t)e->len <= p->ext_off + 4 + p->ext_len);
		fuzz_rtp_check(p->ext_form != SFU_RTP_PACKET_EXT_ONE_BYTE ||
		               (e->id <= 14 && e->len >= 1 && e->len <= 16));
	}
	for (id = 0; id < 256; id++) {
		v = sfu_rtp_packet_get_extension(p, (uint8_t)id, &len);
		if (v == NULL) {
			fuzz_rtp_check(len == 0);
			continue;
		}
		fuzz_rtp_check(v >= p->data + p->ext_off + 4 &&
		               v + len <= p->data + p->header_len);

		/* The first element with this id. */
		for (i = 0; i < p->ext_count && p->ext[i].id != id; i++) {
		}
		fuzz_rtp_check(i < p->ext_count &&
		               v == p->data + p->ext[i].off &&
		               len == p->ext[i].len);
	}
}

/* Two parses of the same bytes give the same header fields. */
static void
fuzz_rtp_check_same(
    const struct sfu_rtp_packet *a, const struct sfu_rtp_packet *b)
{
	fuzz_rtp_check(
	    a->len == b->len && a->header_len == b->header_len &&
	    a->payload_len == b->payload_len &&
	    a->padding_len == b->padding_len &&
	    a->csrc_count == b->csrc_count &&
	    a->payload_type == b->payload_type && a->marker == b->marker &&
	    a->sequence_number == b->sequence_number &&
	    a->timestamp == b->timestamp && a->ssrc == b->ssrc &&
	    a->ext_count == b->ext_count && a->ext_form == b->ext_form);
}

static void
fuzz_rtp_setters(struct sfu_rtp_packet *p)
{
	struct sfu_rtp_packet q;
	uint8_t pattern[256];
	const uint8_t *v = NULL;
	size_t len = 0;
	unsigned i = 0;

	sfu_rtp_packet_set_ssrc(p, ~p->ssrc);
	sfu_rtp_packet_set_sequence_number(
	    p, (uint16_t)(p->sequence_number + 1));
	sfu_rtp_packet_set_timestamp(p, p->timestamp + 90000);
	sfu_rtp_packet_set_marker(p, !p->marker);
	sfu_rtp_packet_set_payload_type(p, (uint8_t)(p->payload_type + 1));
	fuzz_rtp_check(
	    sfu_rtp_packet_parse(&q, p->data, p->len, p->capacity) == 0);
	fuzz_rtp_check_same(p, &q);

	memset(pattern, 0xa5, sizeof(pattern));
	for (i = 0; i < p->ext_count; i++) {
		v = sfu_rtp_packet_get_extension(p, p->ext[i].id, &len);
		fuzz_rtp_check(sfu_rtp_packet_set_extension_value(
		                   p, p->ext[i].id, pattern, len) == 0);
		fuzz_rtp_check(len == 0 || memcmp(v, pattern, len) == 0);
		fuzz_rtp_check(sfu_rtp_packet_set_extension_value(
		                   p, p->ext[i].id, pattern, len + 1) == -1);
	}
	fuzz_rtp_check(
	    sfu_rtp_packet_parse(&q, p->data, p->len, p->capacity) == 0);
	fuzz_rtp_check_same(p, &q);
}

static bool
fuzz_rtp_has_duplicates(const struct sfu_rtp_packet *p)
{
	uint8_t seen[256];
	unsigned i = 0;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < p->ext_count; i++) {
		if (seen[p->ext[i].id]++) {
			return true;
		}
	}
	return false;
}

static void
fuzz_rtp_remap(struct sfu_rtp_packet *p, const uint8_t *data, size_t size)
{
	struct sfu_rtp_packet before = *p;
	struct sfu_rtp_packet q;
	uint8_t map[256];
	uint8_t *snap = NULL;
	const uint8_t *v = NULL;
	size_t len = 0;
	unsigned rot = data[size / 2];
	unsigned i = 0;
	bool dup = fuzz_rtp_has_duplicates(p);

	for (i = 0; i < 256; i++) {
		if (size & 1) {
			map[i] = data[(i * 13) % size]; /* often refused */
		} else if (i >= 1 && i <= 14) {
			map[i] = (uint8_t)(((i - 1 + rot) % 14) + 1);
		} else {
			map[i] = (uint8_t)(i + rot);
		}
	}
	if (rot & 0x80) {
		map[rot & 0x0f] = 0; /* remove one */
	}
	snap = malloc(p->len);
	if (snap == NULL) {
		return;
	}
	memcpy(snap, p->data, p->len);
	if (sfu_rtp_packet_update_extension_ids(p, map) == -1) {
		fuzz_rtp_check(memcmp(snap, p->data, p->len) == 0);
		free(snap);
		return;
	}
	fuzz_rtp_check(
	    p->len == before.len && p->header_len == before.header_len);
	fuzz_rtp_check(
	    sfu_rtp_packet_parse(&q, p->data, p->len, p->capacity) == 0);
	fuzz_rtp_check_same(p, &q);
	fuzz_rtp_check_view(p);
	if (!dup) {
		for (i = 0; i < before.ext_count; i++) {
			if (map[before.ext[i].id] == 0) {
				continue;
			}
			v = sfu_rtp_packet_get_extension(
			    p, map[before.ext[i].id], &len);
			fuzz_rtp_check(v == p->data + before.ext[i].off &&
			               len == before.ext[i].len);
		}
	}
	free(snap);
}

static void
fuzz_rtp_rewrite(struct sfu_rtp_packet *p, const uint8_t *data, size_t size)
{
	struct sfu_rtp_packet_ext_value list[SFU_RTP_PACKET_MAX_EXTENSIONS];
	static uint8_t values[SFU_RTP_PACKET_MAX_EXTENSIONS * 256];
	static const uint8_t mid[255] =
	    "a-new-mid-of-some-length-chosen-by-input";
	struct sfu_rtp_packet q;
	uint8_t *snap = NULL;
	uint8_t *tail = NULL;
	const uint8_t *v = NULL;
	size_t tail_len = 0;
	size_t n = 0;
	size_t len = 0;
	size_t i = 0;
	size_t old_len = p->len;

	/* Copy the values out: the rebuild overwrites the old block. */
	n = sfu_rtp_packet_list_extensions(
	    p, list, SFU_RTP_PACKET_MAX_EXTENSIONS);
	for (i = 0; i < n; i++) {
		if (list[i].len > 0) {
			memcpy(values + 256 * i, list[i].value, list[i].len);
		}
		list[i].value = values + 256 * i;
	}
	if (n > 0) {
		i = data[size - 1] % n;
		list[i].value = mid;
		list[i].len = (uint8_t)(data[size - 2] % 40);
	} else if (data[size - 1] & 1) {
		list[0].id = (uint8_t)(data[size - 2] | 1);
		list[0].value = mid;
		list[0].len = (uint8_t)(data[size - 1] % 20);
		n = 1;
	}
	tail_len = p->payload_len + p->padding_len;
	snap = malloc(p->len);
	tail = malloc(tail_len + 1);
	if (snap == NULL || tail == NULL) {
		free(snap);
		free(tail);
		return;
	}
	memcpy(snap, p->data, p->len);
	memcpy(tail, p->data + p->header_len, tail_len);
	if (sfu_rtp_packet_rewrite_extensions(p, list, n) == -1) {
		fuzz_rtp_check(p->len == old_len);
		fuzz_rtp_check(memcmp(snap, p->data, p->len) == 0);
		goto out;
	}
	fuzz_rtp_check(p->len <= p->capacity);
	fuzz_rtp_check(p->payload_len + p->padding_len == tail_len);
	fuzz_rtp_check(memcmp(tail, p->data + p->header_len, tail_len) == 0);
	fuzz_rtp_check(memcmp(snap + 1, p->data + 1,
	                   SFU_RTP_PACKET_HEADER_LEN - 1 +
	                       4 * (size_t)p->csrc_count) == 0);
	fuzz_rtp_check(p->ext_count == n);
	fuzz_rtp_check(sfu_rtp_packet_parse(&q, p->data, p->len, p->len) == 0);
	fuzz_rtp_check_same(p, &q);
	fuzz_rtp_check_view(&q);
	for (i = 0; i < n; i++) {
		v = sfu_rtp_packet_get_extension(&q, list[i].id, &len);
		fuzz_rtp_check(
		    v != NULL && len == list[i].len &&
		    (len == 0 || memcmp(v, list[i].value, len) == 0));
	}
out:
	free(snap);
	free(tail);
}

/* sfu_rtp_packet_write() of the parsed fields parses back to them. */
static void
fuzz_rtp_write(const struct sfu_rtp_packet *p)
{
	struct sfu_rtp_packet_ext_value list[SFU_RTP_PACKET_MAX_EXTENSIONS];
	uint32_t csrcs[SFU_RTP_PACKET_MAX_CSRC];
	struct sfu_rtp_packet_spec s;
	struct sfu_rtp_packet q;
	uint8_t *out = NULL;
	size_t cap = p->len + SFU_RTP_PACKET_MAX_EXTENSION_BLOCK_LEN;
	size_t len = 0;
	unsigned i = 0;

	memset(&s, 0, sizeof(s));
	s.payload_type = p->payload_type;
	s.marker = p->marker;
	s.sequence_number = p->sequence_number;
	s.timestamp = p->timestamp;
	s.ssrc = p->ssrc;
	for (i = 0; i < p->csrc_count; i++) {
		csrcs[i] = sfu_rtp_packet_csrc(p, i);
	}
	s.csrcs = csrcs;
	s.csrc_count = p->csrc_count;
	s.ext_count = sfu_rtp_packet_list_extensions(
	    p, list, SFU_RTP_PACKET_MAX_EXTENSIONS);
	s.exts = list;
	s.two_byte = p->ext_form == SFU_RTP_PACKET_EXT_TWO_BYTE;
	s.payload = sfu_rtp_packet_payload(p);
	s.payload_len = p->payload_len;
	s.padding_len = p->padding_len;
	out = malloc(cap);
	if (out == NULL) {
		return;
	}
	len = sfu_rtp_packet_write(out, cap, &s);
	if (len == 0) {
		/* Only a block over the limit can be refused. */
		fuzz_rtp_check(s.ext_count > 0);
		free(out);
		return;
	}
	fuzz_rtp_check(sfu_rtp_packet_parse(&q, out, len, cap) == 0);
	fuzz_rtp_check(
	    q.ssrc == p->ssrc && q.timestamp == p->timestamp &&
	    q.sequence_number == p->sequence_number &&
	    q.payload_type == p->payload_type && q.marker == p->marker &&
	    q.csrc_count == p->csrc_count && q.payload_len == p->payload_len &&
	    q.padding_len == p->padding_len && q.ext_count == s.ext_count);
	fuzz_rtp_check(
	    p->payload_len == 0 ||
	    memcmp(sfu_rtp_packet_payload(&q), s.payload, p->payload_len) == 0);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sfu_rtp_packet p;
	struct sfu_rtp_packet w;
	uint8_t *exact = NULL;
	uint8_t *work = NULL;
	size_t extra = 0;

	if (size == 0 || size > FUZZ_RTP_MAX_LEN) {
		return 0;
	}
	exact = malloc(size);
	if (exact == NULL) {
		return 0;
	}
	memcpy(exact, data, size);
	(void)sfu_rtp_is_rtp(exact, size);
	if (sfu_rtp_packet_parse(&p, exact, size, size) == -1) {
		free(exact);
		return 0;
	}
	fuzz_rtp_check_view(&p);
	fuzz_rtp_write(&p);

	/* Spare capacity from 0 to 299 bytes, chosen by the input. */
	extra = (size * 7 + data[size - 1]) % 300;
	work = malloc(size + extra);
	if (work == NULL) {
		free(exact);
		return 0;
	}
	memcpy(work, data, size);
	fuzz_rtp_check(sfu_rtp_packet_parse(&w, work, size, size + extra) == 0);
	fuzz_rtp_check_same(&p, &w);
	fuzz_rtp_setters(&w);
	fuzz_rtp_remap(&w, data, size);
	fuzz_rtp_rewrite(&w, data, size);
	fuzz_rtp_check_view(&w);
	free(work);
	free(exact);
	return 0;
}
