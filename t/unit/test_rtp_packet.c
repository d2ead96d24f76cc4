/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for worker/rtc/rtp_packet: parsing of plain packets, CSRCs,
 * one-byte and two-byte extensions and padding; every malformed or
 * truncated case rejected at its exact boundary; in-place setters and
 * extension edits; the rebuild of the extension block (a MID of another
 * length) moving the payload within capacity; id remapping; the builder;
 * and the RTP/RTCP classifiers.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "worker/rtc/rtcp_packet.h"
#include "worker/rtc/rtp_packet.h"

/* --- helpers --- */

/*
 * A packet like Chrome's Opus audio: one-byte extensions ssrc-audio-level
 * (id 1), abs-send-time (id 2), transport-wide-cc (id 3), mid (id 4, "0"),
 * then 8 bytes of payload.
 */
static const uint8_t opus_packet[] = {
    0x90, 0x6f, 0x1a, 0x2b, 0x00, 0x01, 0xe2, 0x40, 0x11, 0x22, 0x33,
    0x44, /* V=2 X=1 PT=111 seq=6699 ts=123456 ssrc=0x11223344 */
    0xbe, 0xde, 0x00, 0x04,                         /* 4 words */
    0x10, 0xaa,                                     /* id 1 len 1 */
    0x22, 0x01, 0x02, 0x03,                         /* id 2 len 3 */
    0x31, 0x00, 0x07,                               /* id 3 len 2 */
    0x40, '0',                                      /* id 4 len 1 */
    0x00, 0x00, 0x00, 0x00, 0x00,                   /* padding */
    0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, /* payload */
};

static void
fill(uint8_t *p, size_t len, uint8_t seed)
{
	size_t i = 0;

	for (i = 0; i < len; i++) {
		p[i] = (uint8_t)(seed + i * 7);
	}
}

static void
assert_ext(
    const struct sfu_rtp_packet *p, uint8_t id, const void *val, size_t len)
{
	const uint8_t *v = NULL;
	size_t n = 99;

	v = sfu_rtp_packet_get_extension(p, id, &n);
	assert_non_null(v);
	assert_int_equal(n, len);
	if (len > 0) {
		assert_memory_equal(v, val, len);
	}
}

static void
assert_no_ext(const struct sfu_rtp_packet *p, uint8_t id)
{
	size_t n = 99;

	assert_null(sfu_rtp_packet_get_extension(p, id, &n));
	assert_int_equal(n, 0);
}

/* --- parsing --- */

/* A 12-byte header with payload parses into every field. */
static void
test_rtp_packet_parses_plain_header(void **state)
{
	uint8_t b[] = {0x80, 0xe0, 0xff, 0xfe, 0xde, 0xad, 0xbe, 0xef, 0x01,
	    0x02, 0x03, 0x04, 0x55, 0x66};
	struct sfu_rtp_packet p;

	(void)state;
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	assert_ptr_equal(p.data, b);
	assert_int_equal(p.len, sizeof(b));
	assert_true(p.marker);
	assert_int_equal(p.payload_type, 96);
	assert_int_equal(p.sequence_number, 0xfffe);
	assert_int_equal(p.timestamp, 0xdeadbeef);
	assert_int_equal(p.ssrc, 0x01020304);
	assert_int_equal(p.csrc_count, 0);
	assert_false(p.has_extension);
	assert_int_equal(p.ext_form, SFU_RTP_PACKET_EXT_NONE);
	assert_int_equal(p.header_len, 12);
	assert_int_equal(p.payload_len, 2);
	assert_int_equal(p.padding_len, 0);
	assert_ptr_equal(sfu_rtp_packet_payload(&p), b + 12);
	assert_no_ext(&p, 1);
}

/* CSRCs are counted into the header length and readable by index. */
static void
test_rtp_packet_parses_csrcs(void **state)
{
	uint8_t b[] = {0x82, 0x00, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0xaa, 0xbb,
	    0xcc, 0xdd, 0x11, 0x22, 0x33, 0x44, 0x99};
	struct sfu_rtp_packet p;

	(void)state;
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	assert_int_equal(p.csrc_count, 2);
	assert_int_equal(p.header_len, 20);
	assert_int_equal(p.payload_len, 1);
	assert_int_equal(sfu_rtp_packet_csrc(&p, 0), 0xaabbccdd);
	assert_int_equal(sfu_rtp_packet_csrc(&p, 1), 0x11223344);
	assert_false(p.marker);
	assert_int_equal(p.payload_type, 0);
}

/* One-byte extensions are indexed by id, padding skipped, payload after. */
static void
test_rtp_packet_parses_one_byte_extensions(void **state)
{
	uint8_t b[sizeof(opus_packet)];
	struct sfu_rtp_packet p;
	const uint8_t tcc[] = {0x00, 0x07};
	const uint8_t ast[] = {0x01, 0x02, 0x03};

	(void)state;
	memcpy(b, opus_packet, sizeof(b));
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	assert_true(p.has_extension);
	assert_int_equal(p.ext_form, SFU_RTP_PACKET_EXT_ONE_BYTE);
	assert_int_equal(p.ext_profile, 0xbede);
	assert_int_equal(p.ext_off, 12);
	assert_int_equal(p.ext_len, 16);
	assert_int_equal(p.ext_count, 4);
	assert_int_equal(p.header_len, 32);
	assert_int_equal(p.payload_len, 8);
	assert_int_equal(p.payload_type, 111);
	assert_int_equal(p.sequence_number, 6699);
	assert_int_equal(p.timestamp, 123456);
	assert_ext(&p, 1, "\xaa", 1);
	assert_ext(&p, 2, ast, 3);
	assert_ext(&p, 3, tcc, 2);
	assert_ext(&p, 4, "0", 1);
	assert_no_ext(&p, 0);
	assert_no_ext(&p, 5);
	assert_no_ext(&p, 14);
	assert_no_ext(&p, 15);
	assert_no_ext(&p, 200);
	assert_int_equal(sfu_rtp_packet_payload(&p)[0], 0xf1);
}

/* Two-byte extensions: empty values, ids above 14, values over 16 bytes. */
static void
test_rtp_packet_parses_two_byte_extensions(void **state)
{
	uint8_t b[64];
	uint8_t big[17];
	struct sfu_rtp_packet p;
	size_t n = 0;

	(void)state;
	fill(big, sizeof(big), 3);
	memcpy(b, "\x90\x60\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03", 12);
	n = 12;
	memcpy(b + n, "\x10\x05\x00\x08", 4); /* 0x100, appbits 5; 8 words */
	n += 4;
	b[n++] = 0;  /* padding before the first element */
	b[n++] = 1;  /* id 1, */
	b[n++] = 0;  /* empty */
	b[n++] = 20; /* id 20, */
	b[n++] = 2;  /* 2 bytes */
	b[n++] = 0xab;
	b[n++] = 0xcd;
	b[n++] = 200; /* id 200, */
	b[n++] = 17;  /* 17 bytes */
	memcpy(b + n, big, 17);
	n += 17;
	while (n < 16 + 32) {
		b[n++] = 0;
	}
	b[n++] = 0x77; /* payload */
	assert_int_equal(sfu_rtp_packet_parse(&p, b, n, sizeof(b)), 0);
	assert_int_equal(p.ext_form, SFU_RTP_PACKET_EXT_TWO_BYTE);
	assert_int_equal(p.ext_profile, 0x1005);
	assert_int_equal(p.ext_count, 3);
	assert_int_equal(p.header_len, 48);
	assert_int_equal(p.payload_len, 1);
	assert_ext(&p, 1, NULL, 0);
	assert_ext(&p, 20, "\xab\xcd", 2);
	assert_ext(&p, 200, big, 17);
	assert_no_ext(&p, 2);
	assert_no_ext(&p, 255);
}

/* Padding: its count byte is included; a padding-only packet is valid. */
static void
test_rtp_packet_parses_padding(void **state)
{
	uint8_t b[] = {0xa0, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x11, 0x22,
	    0x33, 0, 0, 0, 4};
	uint8_t probe[12 + 255];
	struct sfu_rtp_packet p;

	(void)state;
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	assert_int_equal(p.padding_len, 4);
	assert_int_equal(p.payload_len, 3);

	/* A bandwidth probe: 255 bytes of padding, no payload. */
	memset(probe, 0, sizeof(probe));
	memcpy(probe, b, 12);
	probe[sizeof(probe) - 1] = 255;
	assert_int_equal(
	    sfu_rtp_packet_parse(&p, probe, sizeof(probe), sizeof(probe)), 0);
	assert_int_equal(p.padding_len, 255);
	assert_int_equal(p.payload_len, 0);
}

/* One-byte form: id 15 ends the list (RFC 8285 4.2), as does a 0x0N byte. */
static void
test_rtp_packet_one_byte_id15_stops_parsing(void **state)
{
	uint8_t b[] = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0,
	    2, 0x10, 0x01, 0xff, 0x20, 0x02, 0, 0, 0};
	uint8_t c[] = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0,
	    1, 0x10, 0x01, 0x03, 0x20};
	struct sfu_rtp_packet p;

	(void)state;
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	assert_int_equal(p.ext_count, 1);
	assert_ext(&p, 1, "\x01", 1);
	assert_no_ext(&p, 2);
	assert_int_equal(p.header_len, sizeof(b));

	assert_int_equal(sfu_rtp_packet_parse(&p, c, sizeof(c), sizeof(c)), 0);
	assert_int_equal(p.ext_count, 1);
	assert_no_ext(&p, 2);
}

/* An unknown extension profile is kept as a block but not indexed. */
static void
test_rtp_packet_other_profile_not_indexed(void **state)
{
	uint8_t b[] = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0x12, 0x34, 0,
	    1, 0x10, 0x01, 0x02, 0x03, 0xee};
	struct sfu_rtp_packet p;

	(void)state;
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	assert_int_equal(p.ext_form, SFU_RTP_PACKET_EXT_OTHER);
	assert_int_equal(p.ext_count, 0);
	assert_int_equal(p.header_len, 20);
	assert_int_equal(p.payload_len, 1);
	assert_no_ext(&p, 1);
}

/* With a duplicated id, lookups find the first element. */
static void
test_rtp_packet_duplicate_id_finds_first(void **state)
{
	uint8_t b[] = {0x90, 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0xbe, 0xde, 0,
	    1, 0x30, 0x01, 0x30, 0x02};
	struct sfu_rtp_packet p;
	struct sfu_rtp_packet_ext_value list[4];

	(void)state;
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	assert_int_equal(p.ext_count, 2);
	assert_ext(&p, 3, "\x01", 1);
	assert_int_equal(sfu_rtp_packet_list_extensions(&p, list, 4), 1);
	assert_int_equal(list[0].id, 3);
	assert_int_equal(list[0].value[0], 1);
}

struct bad_case {
	const char *name;
	uint8_t bytes[48];
	size_t len;
	bool ok; /* the boundary case that must still parse */
};

#define H(b0) (b0), 0x60, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1

static const struct bad_case bad_cases[] = {
    {"11 bytes", {H(0x80)}, 11, false},
    {"12 bytes", {H(0x80)}, 12, true},
    {"version 0", {H(0x00)}, 12, false},
    {"version 1", {H(0x40)}, 12, false},
    {"version 3", {H(0xc0)}, 12, false},
    {"csrc cut", {H(0x81), 1, 2, 3}, 15, false},
    {"csrc exact", {H(0x81), 1, 2, 3, 4}, 16, true},
    {"15 csrcs cut", {H(0x8f)}, 12 + 36, false},
    {"ext header cut", {H(0x90), 0xbe, 0xde, 0}, 15, false},
    {"ext empty", {H(0x90), 0xbe, 0xde, 0, 0}, 16, true},
    {"ext words cut", {H(0x90), 0xbe, 0xde, 0, 1, 0x10, 0}, 18, false},
    {"ext words exact", {H(0x90), 0xbe, 0xde, 0, 1, 0x10, 1, 0, 0}, 20, true},
    {"ext words huge", {H(0x90), 0xbe, 0xde, 0xff, 0xff, 0x10, 1, 0, 0}, 20,
        false},
    {"one-byte elem overrun", {H(0x90), 0xbe, 0xde, 0, 1, 0x13, 1, 2, 3}, 20,
        false},
    {"one-byte elem exact", {H(0x90), 0xbe, 0xde, 0, 1, 0x12, 1, 2, 3}, 20,
        true},
    {"one-byte header at end", {H(0x90), 0xbe, 0xde, 0, 1, 0, 0, 0, 0x10}, 20,
        false},
    {"two-byte id at end", {H(0x90), 0x10, 0x00, 0, 1, 0, 0, 0, 5}, 20, false},
    {"two-byte elem overrun", {H(0x90), 0x10, 0x00, 0, 1, 5, 3, 1, 2}, 20,
        false},
    {"two-byte elem exact", {H(0x90), 0x10, 0x00, 0, 1, 5, 2, 1, 2}, 20, true},
    {"padding count 0", {H(0xa0), 0x11, 0}, 14, false},
    {"padding over payload", {H(0xa0), 0x11, 0, 4}, 15, false},
    {"padding all payload", {H(0xa0), 0x11, 0, 3}, 15, true},
    {"padding, no payload", {H(0xa0)}, 12, false},
    {"padding into ext", {H(0xb0), 0xbe, 0xde, 0, 0, 2}, 17, false},
    {"padding after ext", {H(0xb0), 0xbe, 0xde, 0, 0, 1}, 17, true},
};

/* Each malformed packet is refused; each boundary twin still parses. */
static void
test_rtp_packet_rejects_malformed(void **state)
{
	struct sfu_rtp_packet p;
	uint8_t b[48];
	size_t i = 0;
	int rc = 0;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		memcpy(b, bad_cases[i].bytes, sizeof(b));
		rc = sfu_rtp_packet_parse(&p, b, bad_cases[i].len, sizeof(b));
		if (rc != (bad_cases[i].ok ? 0 : -1)) {
			fail_msg("case \"%s\": rc %d", bad_cases[i].name, rc);
		}
	}
}

/* More than SFU_RTP_PACKET_MAX_EXTENSIONS elements is refused, the limit not.
 */
static void
test_rtp_packet_rejects_too_many_extensions(void **state)
{
	uint8_t b[12 + 4 + 80];
	struct sfu_rtp_packet p;
	size_t n = 0;
	size_t i = 0;

	(void)state;
	memset(b, 0, sizeof(b));
	b[0] = 0x90;
	b[14] = 0;
	b[15] = 20; /* 80 bytes */
	n = 16;
	for (i = 0; i < SFU_RTP_PACKET_MAX_EXTENSIONS + 1; i++) {
		b[n++] = (uint8_t)(((i % 14) + 1) << 4); /* 1 byte each */
		b[n++] = (uint8_t)i;
	}
	b[12] = 0xbe;
	b[13] = 0xde;
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), -1);
	b[16 + 2 * SFU_RTP_PACKET_MAX_EXTENSIONS] = 0; /* last one: padding */
	b[17 + 2 * SFU_RTP_PACKET_MAX_EXTENSIONS] = 0;
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	assert_int_equal(p.ext_count, SFU_RTP_PACKET_MAX_EXTENSIONS);
}

/* Capacity below len is a caller error, refused. */
static void
test_rtp_packet_rejects_capacity_below_len(void **state)
{
	uint8_t b[] = {H(0x80), 1};
	struct sfu_rtp_packet p;

	(void)state;
	assert_int_equal(sfu_rtp_packet_parse(&p, b, 13, 12), -1);
	assert_int_equal(sfu_rtp_packet_parse(&p, b, 13, 13), 0);
}

/* Every prefix of a packet with CSRCs, extensions and padding is refused. */
static void
test_rtp_packet_rejects_every_truncation(void **state)
{
	static const struct sfu_rtp_packet_ext_value exts[] = {
	    {(const uint8_t *)"abc", 4, 3},
	    {(const uint8_t *)"\x01\x02", 3, 2},
	};
	static const uint32_t csrcs[] = {7, 8};
	uint8_t payload[20];
	uint8_t b[128];
	struct sfu_rtp_packet_spec s;
	struct sfu_rtp_packet p;
	size_t len = 0;
	size_t n = 0;

	(void)state;
	memset(payload, 0xee, sizeof(payload)); /* never a valid pad count */
	memset(&s, 0, sizeof(s));
	s.payload_type = 96;
	s.ssrc = 1;
	s.csrcs = csrcs;
	s.csrc_count = 2;
	s.exts = exts;
	s.ext_count = 2;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	s.padding_len = 3;
	len = sfu_rtp_packet_write(b, sizeof(b), &s);
	assert_int_equal(len, 12 + 8 + 12 + 20 + 3);
	assert_int_equal(sfu_rtp_packet_parse(&p, b, len, sizeof(b)), 0);
	for (n = 0; n < len; n++) {
		if (sfu_rtp_packet_parse(&p, b, n, sizeof(b)) != -1) {
			fail_msg("prefix of %zu bytes parsed", n);
		}
	}
}

/* --- setters --- */

/* Each setter writes its field in place, leaving its neighbours alone. */
static void
test_rtp_packet_setters_round_trip(void **state)
{
	uint8_t b[sizeof(opus_packet)];
	struct sfu_rtp_packet p;
	struct sfu_rtp_packet q;

	(void)state;
	memcpy(b, opus_packet, sizeof(b));
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	sfu_rtp_packet_set_ssrc(&p, 0xcafebabe);
	sfu_rtp_packet_set_sequence_number(&p, 65535);
	sfu_rtp_packet_set_timestamp(&p, 0xfffffff0);
	sfu_rtp_packet_set_marker(&p, true);
	sfu_rtp_packet_set_payload_type(&p, 100);
	assert_int_equal(sfu_rtp_packet_parse(&q, b, sizeof(b), sizeof(b)), 0);
	assert_int_equal(q.ssrc, 0xcafebabe);
	assert_int_equal(q.sequence_number, 65535);
	assert_int_equal(q.timestamp, 0xfffffff0);
	assert_true(q.marker);
	assert_int_equal(q.payload_type, 100);
	assert_int_equal(p.payload_type, 100);
	assert_true(p.marker);

	/* The marker and payload type share a byte. */
	sfu_rtp_packet_set_payload_type(&p, 0xff);
	assert_int_equal(p.payload_type, 127);
	assert_true((b[1] & 0x80) != 0);
	sfu_rtp_packet_set_marker(&p, false);
	assert_int_equal(b[1], 127);
	assert_int_equal(b[0], 0x90);
	assert_memory_equal(b + 12, opus_packet + 12, sizeof(b) - 12);
}

/* A MID of the same length is rewritten in place; another length refused. */
static void
test_rtp_packet_set_extension_value_in_place(void **state)
{
	uint8_t b[sizeof(opus_packet)];
	struct sfu_rtp_packet p;

	(void)state;
	memcpy(b, opus_packet, sizeof(b));
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	assert_int_equal(
	    sfu_rtp_packet_set_extension_value(&p, 4, (const uint8_t *)"7", 1),
	    0);
	assert_ext(&p, 4, "7", 1);
	assert_int_equal(b[26], '7');
	assert_int_equal(
	    sfu_rtp_packet_set_extension_value(&p, 4, (const uint8_t *)"77", 2),
	    -1);
	assert_int_equal(
	    sfu_rtp_packet_set_extension_value(&p, 9, (const uint8_t *)"7", 1),
	    -1);
	assert_int_equal(b[26], '7');
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	assert_ext(&p, 4, "7", 1);
}

/* --- rebuilding the extension block --- */

/* Sets the value of id in list (n entries); returns its index. */
static size_t
list_set(
    struct sfu_rtp_packet_ext_value *list, size_t n, uint8_t id, const char *v)
{
	size_t i = 0;

	for (i = 0; i < n; i++) {
		if (list[i].id == id) {
			list[i].value = (const uint8_t *)v;
			list[i].len = (uint8_t)strlen(v);
			return i;
		}
	}
	fail_msg("id %u not listed", id);
	return 0;
}

/* A longer MID grows the block; payload and other extensions survive. */
static void
test_rtp_packet_rewrite_mid_grows(void **state)
{
	uint8_t b[256];
	uint8_t before[256];
	struct sfu_rtp_packet p;
	struct sfu_rtp_packet_ext_value list[8];
	const uint8_t tcc[] = {0x00, 0x07};
	size_t n = 0;

	(void)state;
	memset(b, 0x5a, sizeof(b));
	memcpy(b, opus_packet, sizeof(opus_packet));
	assert_int_equal(
	    sfu_rtp_packet_parse(&p, b, sizeof(opus_packet), sizeof(b)), 0);
	n = sfu_rtp_packet_list_extensions(&p, list, 8);
	assert_int_equal(n, 4);
	list_set(list, n, 4, "video-long-mid");
	assert_int_equal(sfu_rtp_packet_rewrite_extensions(&p, list, n), 0);

	/* 1+1 + 1+3 + 1+2 + 1+14 = 24 bytes: 6 words, was 4. */
	assert_int_equal(p.len, sizeof(opus_packet) + 8);
	assert_int_equal(p.header_len, 12 + 4 + 24);
	assert_int_equal(p.ext_form, SFU_RTP_PACKET_EXT_ONE_BYTE);
	assert_int_equal(p.payload_len, 8);
	assert_memory_equal(sfu_rtp_packet_payload(&p), opus_packet + 32, 8);
	assert_ext(&p, 1, "\xaa", 1);
	assert_ext(&p, 2, "\x01\x02\x03", 3);
	assert_ext(&p, 3, tcc, 2);
	assert_ext(&p, 4, "video-long-mid", 14);
	assert_int_equal(p.ssrc, 0x11223344);
	assert_int_equal(p.sequence_number, 6699);

	/* The bytes themselves parse to the same view. */
	memcpy(before, b, p.len);
	assert_int_equal(sfu_rtp_packet_parse(&p, before, p.len, p.len), 0);
	assert_ext(&p, 4, "video-long-mid", 14);
	assert_memory_equal(sfu_rtp_packet_payload(&p), opus_packet + 32, 8);
}

/* Growth needs capacity: exactly enough works, one byte less changes nothing.
 */
static void
test_rtp_packet_rewrite_respects_capacity(void **state)
{
	uint8_t b[sizeof(opus_packet) + 8];
	struct sfu_rtp_packet p;
	struct sfu_rtp_packet_ext_value list[8];
	size_t n = 0;

	(void)state;
	memcpy(b, opus_packet, sizeof(opus_packet));
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(opus_packet),
	                     sizeof(opus_packet) + 7),
	    0);
	n = sfu_rtp_packet_list_extensions(&p, list, 8);
	list_set(list, n, 4, "video-long-mid");
	assert_int_equal(sfu_rtp_packet_rewrite_extensions(&p, list, n), -1);
	assert_memory_equal(b, opus_packet, sizeof(opus_packet));
	assert_int_equal(p.len, sizeof(opus_packet));
	assert_ext(&p, 4, "0", 1);

	assert_int_equal(
	    sfu_rtp_packet_parse(&p, b, sizeof(opus_packet), sizeof(b)), 0);
	n = sfu_rtp_packet_list_extensions(&p, list, 8);
	list_set(list, n, 4, "video-long-mid");
	assert_int_equal(sfu_rtp_packet_rewrite_extensions(&p, list, n), 0);
	assert_int_equal(p.len, sizeof(b));
	assert_memory_equal(b + sizeof(b) - 8, opus_packet + 32, 8);
}

/* A shorter list shrinks the block; none at all removes it and the X bit. */
static void
test_rtp_packet_rewrite_shrinks_and_removes(void **state)
{
	uint8_t b[sizeof(opus_packet)];
	struct sfu_rtp_packet p;
	struct sfu_rtp_packet_ext_value one = {(const uint8_t *)"m", 4, 1};

	(void)state;
	memcpy(b, opus_packet, sizeof(b));
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	assert_int_equal(sfu_rtp_packet_rewrite_extensions(&p, &one, 1), 0);
	assert_int_equal(p.len, sizeof(b) - 12);
	assert_int_equal(p.ext_len, 4);
	assert_ext(&p, 4, "m", 1);
	assert_no_ext(&p, 1);
	assert_memory_equal(sfu_rtp_packet_payload(&p), opus_packet + 32, 8);

	assert_int_equal(sfu_rtp_packet_rewrite_extensions(&p, NULL, 0), 0);
	assert_false(p.has_extension);
	assert_int_equal(b[0] & 0x10, 0);
	assert_int_equal(p.len, 12 + 8);
	assert_int_equal(p.header_len, 12);
	assert_memory_equal(b + 12, opus_packet + 32, 8);
	assert_no_ext(&p, 4);
}

/* Rebuilding keeps CSRCs and padding; ids > 14 or odd lengths go two-byte. */
static void
test_rtp_packet_rewrite_switches_to_two_byte(void **state)
{
	static const uint32_t csrcs[] = {0xabcdef01};
	uint8_t payload[5] = {1, 2, 3, 4, 5};
	uint8_t big[40];
	uint8_t b[256];
	struct sfu_rtp_packet_spec s;
	struct sfu_rtp_packet p;
	struct sfu_rtp_packet_ext_value list[3];
	size_t len = 0;

	(void)state;
	fill(big, sizeof(big), 9);
	memset(&s, 0, sizeof(s));
	s.payload_type = 97;
	s.csrcs = csrcs;
	s.csrc_count = 1;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	s.padding_len = 6;
	len = sfu_rtp_packet_write(b, sizeof(b), &s);
	assert_int_equal(sfu_rtp_packet_parse(&p, b, len, sizeof(b)), 0);
	assert_false(p.has_extension);

	list[0] = (struct sfu_rtp_packet_ext_value){big, 1, 40};
	list[1] = (struct sfu_rtp_packet_ext_value){NULL, 2, 0};
	list[2] = (struct sfu_rtp_packet_ext_value){big, 100, 1};
	assert_int_equal(sfu_rtp_packet_rewrite_extensions(&p, list, 3), 0);
	assert_int_equal(p.ext_form, SFU_RTP_PACKET_EXT_TWO_BYTE);
	assert_int_equal(p.ext_profile, 0x1000);
	assert_int_equal(p.ext_len, 48); /* 42 + 2 + 3 = 47, padded */
	assert_ext(&p, 1, big, 40);
	assert_ext(&p, 2, NULL, 0);
	assert_ext(&p, 100, big, 1);
	assert_int_equal(sfu_rtp_packet_csrc(&p, 0), 0xabcdef01);
	assert_int_equal(p.padding_len, 6);
	assert_int_equal(p.payload_len, 5);
	assert_memory_equal(sfu_rtp_packet_payload(&p), payload, 5);
	assert_int_equal(p.len, 16 + 52 + 5 + 6);

	/* Back to one-byte when everything fits it. */
	list[0] = (struct sfu_rtp_packet_ext_value){big, 14, 16};
	assert_int_equal(sfu_rtp_packet_rewrite_extensions(&p, list, 1), 0);
	assert_int_equal(p.ext_form, SFU_RTP_PACKET_EXT_ONE_BYTE);
	assert_int_equal(p.ext_len, 20);
	assert_ext(&p, 14, big, 16);
	assert_memory_equal(sfu_rtp_packet_payload(&p), payload, 5);
	assert_int_equal(p.padding_len, 6);
}

/* Invalid lists (id 0, duplicates, too many, too big) change nothing. */
static void
test_rtp_packet_rewrite_rejects_bad_lists(void **state)
{
	uint8_t b[4096];
	uint8_t big[255];
	struct sfu_rtp_packet p;
	struct sfu_rtp_packet_ext_value list[SFU_RTP_PACKET_MAX_EXTENSIONS + 1];
	size_t i = 0;

	(void)state;
	memset(big, 1, sizeof(big));
	memcpy(b, opus_packet, sizeof(opus_packet));
	assert_int_equal(
	    sfu_rtp_packet_parse(&p, b, sizeof(opus_packet), sizeof(b)), 0);

	list[0] = (struct sfu_rtp_packet_ext_value){big, 0, 1};
	assert_int_equal(sfu_rtp_packet_rewrite_extensions(&p, list, 1), -1);
	list[0] = (struct sfu_rtp_packet_ext_value){big, 5, 1};
	list[1] = (struct sfu_rtp_packet_ext_value){big, 5, 2};
	assert_int_equal(sfu_rtp_packet_rewrite_extensions(&p, list, 2), -1);
	list[1] = (struct sfu_rtp_packet_ext_value){NULL, 6, 2};
	assert_int_equal(sfu_rtp_packet_rewrite_extensions(&p, list, 2), -1);
	for (i = 0; i < SFU_RTP_PACKET_MAX_EXTENSIONS + 1; i++) {
		list[i] =
		    (struct sfu_rtp_packet_ext_value){big, (uint8_t)(i + 1), 1};
	}
	assert_int_equal(sfu_rtp_packet_rewrite_extensions(
	                     &p, list, SFU_RTP_PACKET_MAX_EXTENSIONS + 1),
	    -1);

	/* 4 x 257 bytes > SFU_RTP_PACKET_MAX_EXTENSION_BLOCK_LEN. */
	for (i = 0; i < 4; i++) {
		list[i] = (struct sfu_rtp_packet_ext_value){
		    big, (uint8_t)(i + 1), 255};
	}
	assert_int_equal(sfu_rtp_packet_rewrite_extensions(&p, list, 4), -1);
	assert_int_equal(p.len, sizeof(opus_packet));
	assert_memory_equal(b, opus_packet, sizeof(opus_packet));

	/* Three of them fit. */
	assert_int_equal(sfu_rtp_packet_rewrite_extensions(&p, list, 3), 0);
	assert_ext(&p, 3, big, 255);
}

/* --- id remapping --- */

/* Ids are renamed in place; those mapped to 0 become padding. */
static void
test_rtp_packet_update_extension_ids_renames(void **state)
{
	uint8_t b[sizeof(opus_packet)];
	uint8_t map[256];
	struct sfu_rtp_packet p;
	const uint8_t tcc[] = {0x00, 0x07};

	(void)state;
	memcpy(b, opus_packet, sizeof(b));
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	memset(map, 0, sizeof(map));
	map[1] = 10;
	map[3] = 5;
	map[4] = 1;
	assert_int_equal(sfu_rtp_packet_update_extension_ids(&p, map), 0);
	assert_int_equal(p.ext_count, 3);
	assert_ext(&p, 10, "\xaa", 1);
	assert_ext(&p, 5, tcc, 2);
	assert_ext(&p, 1, "0", 1);
	assert_no_ext(&p, 2);
	assert_no_ext(&p, 3);
	assert_no_ext(&p, 4);
	assert_int_equal(p.len, sizeof(opus_packet));
	assert_memory_equal(b + 18, "\0\0\0\0", 4); /* id 2: padding now */

	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	assert_int_equal(p.ext_count, 3);
	assert_ext(&p, 10, "\xaa", 1);
	assert_ext(&p, 1, "0", 1);
	assert_memory_equal(sfu_rtp_packet_payload(&p), opus_packet + 32, 8);
}

/* Two-byte ids may become large; removal zeroes header and value. */
static void
test_rtp_packet_update_extension_ids_two_byte(void **state)
{
	static const struct sfu_rtp_packet_ext_value exts[] = {
	    {(const uint8_t *)"ab", 1, 2},
	    {(const uint8_t *)"cde", 2, 3},
	};
	uint8_t b[64];
	uint8_t map[256];
	struct sfu_rtp_packet_spec s;
	struct sfu_rtp_packet p;
	size_t len = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.exts = exts;
	s.ext_count = 2;
	s.two_byte = true;
	len = sfu_rtp_packet_write(b, sizeof(b), &s);
	assert_int_equal(sfu_rtp_packet_parse(&p, b, len, sizeof(b)), 0);
	assert_int_equal(p.ext_form, SFU_RTP_PACKET_EXT_TWO_BYTE);
	memset(map, 0, sizeof(map));
	map[2] = 250;
	assert_int_equal(sfu_rtp_packet_update_extension_ids(&p, map), 0);
	assert_no_ext(&p, 1);
	assert_ext(&p, 250, "cde", 3);
	assert_int_equal(p.ext_count, 1);
	assert_memory_equal(b + 16, "\0\0\0\0", 4);
}

/* A one-byte id over 14 or two elements on one id refuse, changing nothing. */
static void
test_rtp_packet_update_extension_ids_rejects(void **state)
{
	uint8_t b[sizeof(opus_packet)];
	uint8_t map[256];
	struct sfu_rtp_packet p;
	size_t i = 0;

	(void)state;
	memcpy(b, opus_packet, sizeof(b));
	assert_int_equal(sfu_rtp_packet_parse(&p, b, sizeof(b), sizeof(b)), 0);
	for (i = 0; i < 256; i++) {
		map[i] = (uint8_t)i;
	}
	map[2] = 15;
	assert_int_equal(sfu_rtp_packet_update_extension_ids(&p, map), -1);
	map[2] = 1;
	assert_int_equal(sfu_rtp_packet_update_extension_ids(&p, map), -1);
	assert_memory_equal(b, opus_packet, sizeof(b));
	assert_int_equal(p.ext_count, 4);

	/* The identity map changes nothing at all. */
	map[2] = 2;
	assert_int_equal(sfu_rtp_packet_update_extension_ids(&p, map), 0);
	assert_memory_equal(b, opus_packet, sizeof(b));
	assert_int_equal(p.ext_count, 4);
}

/* --- building --- */

struct write_case {
	const char *name;
	bool marker;
	uint8_t csrc_count;
	size_t ext_count;
	bool two_byte;
	size_t payload_len;
	uint8_t padding_len;
	enum sfu_rtp_packet_ext_form form;
};

static const struct write_case write_cases[] = {
    {"plain", false, 0, 0, false, 100, 0, SFU_RTP_PACKET_EXT_NONE},
    {"marker, csrcs", true, 15, 0, false, 1, 0, SFU_RTP_PACKET_EXT_NONE},
    {"one-byte", false, 0, 3, false, 10, 0, SFU_RTP_PACKET_EXT_ONE_BYTE},
    {"two-byte", true, 2, 3, true, 0, 1, SFU_RTP_PACKET_EXT_TWO_BYTE},
    {"padding", false, 1, 1, false, 7, 200, SFU_RTP_PACKET_EXT_ONE_BYTE},
    {"probe", false, 0, 0, false, 0, 255, SFU_RTP_PACKET_EXT_NONE},
};

/* What the writer builds parses back to the same fields and bytes. */
static void
test_rtp_packet_write_round_trip(void **state)
{
	static const struct sfu_rtp_packet_ext_value exts[] = {
	    {(const uint8_t *)"\x30", 1, 1},
	    {(const uint8_t *)"mid-1", 9, 5},
	    {(const uint8_t *)"0123456789abcdef", 14, 16},
	};
	uint32_t csrcs[15];
	uint8_t payload[100];
	uint8_t b[600];
	struct sfu_rtp_packet_spec s;
	struct sfu_rtp_packet p;
	const struct write_case *c = NULL;
	size_t len = 0;
	size_t i = 0;
	size_t j = 0;

	(void)state;
	for (i = 0; i < 15; i++) {
		csrcs[i] = (uint32_t)(0x1000 + i);
	}
	fill(payload, sizeof(payload), 1);
	for (i = 0; i < sizeof(write_cases) / sizeof(write_cases[0]); i++) {
		c = &write_cases[i];
		memset(&s, 0, sizeof(s));
		s.payload_type = (uint8_t)(96 + i);
		s.marker = c->marker;
		s.sequence_number = (uint16_t)(65530 + i);
		s.timestamp = (uint32_t)(0xfffffff0u + i);
		s.ssrc = (uint32_t)(0x80000000u + i);
		s.csrcs = csrcs;
		s.csrc_count = c->csrc_count;
		s.exts = exts;
		s.ext_count = c->ext_count;
		s.two_byte = c->two_byte;
		s.payload = payload;
		s.payload_len = c->payload_len;
		s.padding_len = c->padding_len;
		len = sfu_rtp_packet_write(b, sizeof(b), &s);
		if (len == 0 || sfu_rtp_packet_parse(&p, b, len, len) != 0) {
			fail_msg(
			    "case \"%s\": not built or not parsed", c->name);
		}
		assert_int_equal(p.payload_type, s.payload_type);
		assert_int_equal(p.marker, s.marker);
		assert_int_equal(p.sequence_number, s.sequence_number);
		assert_int_equal(p.timestamp, s.timestamp);
		assert_int_equal(p.ssrc, s.ssrc);
		assert_int_equal(p.csrc_count, c->csrc_count);
		for (j = 0; j < c->csrc_count; j++) {
			assert_int_equal(
			    sfu_rtp_packet_csrc(&p, (unsigned)j), csrcs[j]);
		}
		assert_int_equal(p.ext_form, c->form);
		assert_int_equal(p.ext_count, c->ext_count);
		for (j = 0; j < c->ext_count; j++) {
			assert_ext(&p, exts[j].id, exts[j].value, exts[j].len);
		}
		assert_int_equal(p.payload_len, c->payload_len);
		assert_int_equal(p.padding_len, c->padding_len);
		if (c->payload_len > 0) {
			assert_memory_equal(sfu_rtp_packet_payload(&p), payload,
			    c->payload_len);
		}
		assert_int_equal(sfu_rtp_packet_write_header(b, sizeof(b), &s),
		    p.header_len);
	}
}

/* The writer needs room for every byte and refuses invalid specs. */
static void
test_rtp_packet_write_checks_capacity_and_spec(void **state)
{
	static const struct sfu_rtp_packet_ext_value ext = {
	    (const uint8_t *)"x", 1, 1};
	uint8_t payload[10] = {0};
	uint8_t b[64];
	struct sfu_rtp_packet_spec s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.exts = &ext;
	s.ext_count = 1;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	s.padding_len = 2;
	assert_int_equal(sfu_rtp_packet_write(b, 12 + 8 + 12, &s), 12 + 8 + 12);
	assert_int_equal(sfu_rtp_packet_write(b, 12 + 8 + 11, &s), 0);
	assert_int_equal(sfu_rtp_packet_write(b, 12 + 7, &s), 0);
	assert_int_equal(sfu_rtp_packet_write(b, 11, &s), 0);
	s.payload_type = 128;
	assert_int_equal(sfu_rtp_packet_write(b, sizeof(b), &s), 0);
	s.payload_type = 0;
	s.csrc_count = 16;
	assert_int_equal(sfu_rtp_packet_write(b, sizeof(b), &s), 0);
	s.csrc_count = 1; /* csrcs NULL */
	assert_int_equal(sfu_rtp_packet_write(b, sizeof(b), &s), 0);
}

/* --- demultiplexing --- */

/* RFC 7983 / 5761: first byte 128..191, then PT byte decides RTP or RTCP. */
static void
test_rtp_packet_classifies_rtp_and_rtcp(void **state)
{
	static const struct {
		uint8_t b0, b1;
		size_t len;
		bool rtp, rtcp;
	} cases[] = {
	    {0x80, 111, 12, true, false}, {0x80, 0x80 | 96, 12, true, false},
	    {0x80, 191, 12, true, false}, {0x80, 192, 12, false, true},
	    {0x81, 200, 12, false, true},
	    {0x80, 0x80 | 72, 12, false, true}, /* PT 72 + marker */
	    {0x8f, 223, 12, false, true}, {0x80, 224, 12, true, false},
	    {0x80, 111, 11, false, false}, {0x81, 201, 4, false, true},
	    {0x81, 201, 3, false, false}, {0xbf, 96, 12, true, false},
	    {0xc0, 96, 12, false, false}, /* version 3 */
	    {0x7f, 96, 12, false, false},
	    {0x00, 0x01, 20, false, false}, /* STUN binding request */
	    {0x16, 0xfe, 20, false, false}, /* DTLS handshake */
	};
	uint8_t b[20];
	size_t i = 0;

	(void)state;
	memset(b, 0, sizeof(b));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b[0] = cases[i].b0;
		b[1] = cases[i].b1;
		if (sfu_rtp_is_rtp(b, cases[i].len) != cases[i].rtp ||
		    sfu_rtcp_is_rtcp(b, cases[i].len) != cases[i].rtcp) {
			fail_msg("case %zu: %02x %02x len %zu", i, b[0], b[1],
			    cases[i].len);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rtp_packet_parses_plain_header),
	    cmocka_unit_test(test_rtp_packet_parses_csrcs),
	    cmocka_unit_test(test_rtp_packet_parses_one_byte_extensions),
	    cmocka_unit_test(test_rtp_packet_parses_two_byte_extensions),
	    cmocka_unit_test(test_rtp_packet_parses_padding),
	    cmocka_unit_test(test_rtp_packet_one_byte_id15_stops_parsing),
	    cmocka_unit_test(test_rtp_packet_other_profile_not_indexed),
	    cmocka_unit_test(test_rtp_packet_duplicate_id_finds_first),
	    cmocka_unit_test(test_rtp_packet_rejects_malformed),
	    cmocka_unit_test(test_rtp_packet_rejects_too_many_extensions),
	    cmocka_unit_test(test_rtp_packet_rejects_capacity_below_len),
	    cmocka_unit_test(test_rtp_packet_rejects_every_truncation),
	    cmocka_unit_test(test_rtp_packet_setters_round_trip),
	    cmocka_unit_test(test_rtp_packet_set_extension_value_in_place),
	    cmocka_unit_test(test_rtp_packet_rewrite_mid_grows),
	    cmocka_unit_test(test_rtp_packet_rewrite_respects_capacity),
	    cmocka_unit_test(test_rtp_packet_rewrite_shrinks_and_removes),
	    cmocka_unit_test(test_rtp_packet_rewrite_switches_to_two_byte),
	    cmocka_unit_test(test_rtp_packet_rewrite_rejects_bad_lists),
	    cmocka_unit_test(test_rtp_packet_update_extension_ids_renames),
	    cmocka_unit_test(test_rtp_packet_update_extension_ids_two_byte),
	    cmocka_unit_test(test_rtp_packet_update_extension_ids_rejects),
	    cmocka_unit_test(test_rtp_packet_write_round_trip),
	    cmocka_unit_test(test_rtp_packet_write_checks_capacity_and_spec),
	    cmocka_unit_test(test_rtp_packet_classifies_rtp_and_rtcp),
	};

	return cmocka_run_group_tests_name("rtp_packet", tests, NULL, NULL);
}
