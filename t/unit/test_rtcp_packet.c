/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for worker/rtc/rtcp_packet: walking compound packets (SR +
 * SDES as browsers send them), the parsed views of RR, BYE, NACK, PLI, FIR
 * and REMB, classification, strict refusal of malformed and truncated
 * packets at their exact boundaries, builders whose output parses back to
 * the values given, compound appending, and the RFC 3550 appendix A
 * helpers (NTP time, RTT, fraction and cumulative lost, jitter).
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "worker/rtc/rtcp_packet.h"

/* --- helpers --- */

/* SR with one report block, then SDES with a 16-byte CNAME. */
static const uint8_t sr_sdes[] = {
    0x81,
    0xc8,
    0x00,
    0x0c, /* SR, RC 1, 52 bytes */
    0x11,
    0x22,
    0x33,
    0x44, /* sender SSRC */
    0xe9,
    0xa1,
    0xb2,
    0xc3,
    0x80,
    0x00,
    0x00,
    0x00, /* NTP */
    0x00,
    0xbc,
    0x61,
    0x4e, /* RTP timestamp */
    0x00,
    0x00,
    0x03,
    0xe8, /* packets */
    0x00,
    0x02,
    0x71,
    0x00, /* octets */
    0xaa,
    0xbb,
    0xcc,
    0xdd, /* block: SSRC */
    0x40,
    0x00,
    0x00,
    0x10, /* 64/256, 16 lost */
    0x00,
    0x01,
    0xff,
    0xff, /* highest seq */
    0x00,
    0x00,
    0x00,
    0x20, /* jitter */
    0xb2,
    0xc3,
    0x80,
    0x00, /* LSR */
    0x00,
    0x01,
    0x00,
    0x00, /* DLSR: 1 s */
    0x81,
    0xca,
    0x00,
    0x06, /* SDES, SC 1, 28 bytes */
    0x11,
    0x22,
    0x33,
    0x44,
    0x01,
    0x10,
    'a',
    'b',
    'c',
    'd',
    'e',
    'f',
    'g',
    'h',
    'i',
    'j',
    'k',
    'l',
    'm',
    'n',
    'o',
    'p',
    0x00,
    0x00,
};

/* Reads the single packet in [b, b + len) into pkt, asserting it is one. */
static void
one_packet(const uint8_t *b, size_t len, struct sfu_rtcp_packet *pkt)
{
	size_t off = 0;

	assert_int_equal(sfu_rtcp_packet_next(b, len, &off, pkt), 1);
	assert_int_equal(off, len);
	assert_int_equal(sfu_rtcp_packet_next(b, len, &off, pkt), 0);
}

static void
make_report(struct sfu_rtcp_packet_report *r, unsigned i)
{
	r->ssrc = 0x1000 + i;
	r->fraction_lost = (uint8_t)(i * 8);
	r->cumulative_lost = (int32_t)i * 1000 - 5000;
	r->highest_seq = 0x10000 * i + 7;
	r->jitter = i * 3;
	r->lsr = 0xabcd0000 + i;
	r->dlsr = 0x8000 + i;
}

static void
assert_report_equal(const struct sfu_rtcp_packet_report *a,
    const struct sfu_rtcp_packet_report *b)
{
	assert_int_equal(a->ssrc, b->ssrc);
	assert_int_equal(a->fraction_lost, b->fraction_lost);
	assert_int_equal(a->cumulative_lost, b->cumulative_lost);
	assert_int_equal(a->highest_seq, b->highest_seq);
	assert_int_equal(a->jitter, b->jitter);
	assert_int_equal(a->lsr, b->lsr);
	assert_int_equal(a->dlsr, b->dlsr);
}

/* --- parsing --- */

/* A compound SR + SDES yields both packets with every field. */
static void
test_rtcp_packet_parses_compound_sr_sdes(void **state)
{
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_sr sr;
	struct sfu_rtcp_packet_sdes sdes;
	size_t off = 0;

	(void)state;
	assert_int_equal(
	    sfu_rtcp_packet_check_compound(sr_sdes, sizeof(sr_sdes)), 2);
	assert_int_equal(
	    sfu_rtcp_packet_next(sr_sdes, sizeof(sr_sdes), &off, &pkt), 1);
	assert_int_equal(off, 52);
	assert_int_equal(pkt.type, SFU_RTCP_PACKET_TYPE_SR);
	assert_int_equal(pkt.count, 1);
	assert_int_equal(pkt.len, 52);
	assert_int_equal(pkt.body_len, 48);
	assert_int_equal(sfu_rtcp_packet_kind(&pkt), SFU_RTCP_PACKET_KIND_SR);
	assert_int_equal(sfu_rtcp_packet_parse_sr(&pkt, &sr), 0);
	assert_int_equal(sr.ssrc, 0x11223344);
	assert_int_equal(sr.ntp, 0xe9a1b2c380000000ull);
	assert_int_equal(sr.rtp_timestamp, 12345678);
	assert_int_equal(sr.packet_count, 1000);
	assert_int_equal(sr.octet_count, 160000);
	assert_int_equal(sr.report_count, 1);
	assert_int_equal(sr.reports[0].ssrc, 0xaabbccdd);
	assert_int_equal(sr.reports[0].fraction_lost, 64);
	assert_int_equal(sr.reports[0].cumulative_lost, 16);
	assert_int_equal(sr.reports[0].highest_seq, 0x1ffff);
	assert_int_equal(sr.reports[0].jitter, 32);
	assert_int_equal(sr.reports[0].lsr, 0xb2c38000);
	assert_int_equal(sr.reports[0].dlsr, 65536);
	assert_int_equal(sfu_rtcp_packet_parse_rr(&pkt, NULL), -1);

	assert_int_equal(
	    sfu_rtcp_packet_next(sr_sdes, sizeof(sr_sdes), &off, &pkt), 1);
	assert_int_equal(pkt.type, SFU_RTCP_PACKET_TYPE_SDES);
	assert_int_equal(sfu_rtcp_packet_parse_sdes(&pkt, &sdes), 0);
	assert_int_equal(sdes.chunk_count, 1);
	assert_int_equal(sdes.chunks[0].ssrc, 0x11223344);
	assert_int_equal(sdes.chunks[0].cname_len, 16);
	assert_memory_equal(sdes.chunks[0].cname, "abcdefghijklmnop", 16);
	assert_int_equal(
	    sfu_rtcp_packet_next(sr_sdes, sizeof(sr_sdes), &off, &pkt), 0);
}

/* RR report blocks decode, including negative 24-bit cumulative loss. */
static void
test_rtcp_packet_parses_rr_with_blocks(void **state)
{
	uint8_t b[8 + 3 * 24];
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_rr rr;
	static const uint8_t lost[3][3] = {
	    {0xff, 0xff, 0xff}, /* -1 */
	    {0x7f, 0xff, 0xff}, /* 8388607 */
	    {0x80, 0x00, 0x00}, /* -8388608 */
	};
	static const int32_t want[3] = {-1, 8388607, -8388608};
	unsigned i = 0;

	(void)state;
	memset(b, 0, sizeof(b));
	b[0] = 0x83;
	b[1] = 201;
	b[3] = sizeof(b) / 4 - 1;
	memcpy(b + 4, "\x01\x02\x03\x04", 4);
	for (i = 0; i < 3; i++) {
		b[8 + 24 * i + 3] = (uint8_t)(i + 1); /* SSRC */
		b[8 + 24 * i + 4] = (uint8_t)(255 - i);
		memcpy(b + 8 + 24 * i + 5, lost[i], 3);
	}
	one_packet(b, sizeof(b), &pkt);
	assert_int_equal(sfu_rtcp_packet_kind(&pkt), SFU_RTCP_PACKET_KIND_RR);
	assert_int_equal(sfu_rtcp_packet_parse_rr(&pkt, &rr), 0);
	assert_int_equal(rr.ssrc, 0x01020304);
	assert_int_equal(rr.report_count, 3);
	for (i = 0; i < 3; i++) {
		assert_int_equal(rr.reports[i].ssrc, i + 1);
		assert_int_equal(rr.reports[i].fraction_lost, 255 - i);
		assert_int_equal(rr.reports[i].cumulative_lost, want[i]);
	}
}

/* Generic NACK items and the sequence numbers they name. */
static void
test_rtcp_packet_parses_nack(void **state)
{
	static const uint8_t b[] = {0x81, 0xcd, 0x00, 0x04, 0, 0, 0, 1, 0xca,
	    0xfe, 0xba, 0xbe, 0xff, 0xfe, 0x80, 0x05, 0x00, 0x10, 0x00, 0x00};
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_nack nack;
	struct sfu_rtcp_packet_nack_item it;
	uint16_t seqs[17];

	(void)state;
	one_packet(b, sizeof(b), &pkt);
	assert_int_equal(sfu_rtcp_packet_kind(&pkt), SFU_RTCP_PACKET_KIND_NACK);
	assert_int_equal(sfu_rtcp_packet_parse_nack(&pkt, &nack), 0);
	assert_int_equal(nack.sender_ssrc, 1);
	assert_int_equal(nack.media_ssrc, 0xcafebabe);
	assert_int_equal(nack.item_count, 2);
	it = sfu_rtcp_packet_nack_get(&nack, 0);
	assert_int_equal(it.pid, 65534);
	assert_int_equal(it.blp, 0x8005);
	assert_int_equal(sfu_rtcp_packet_nack_item_seqs(it, seqs), 4);
	assert_int_equal(seqs[0], 65534);
	assert_int_equal(seqs[1], 65535); /* bit 0 */
	assert_int_equal(seqs[2], 1);     /* bit 2, wrapped */
	assert_int_equal(seqs[3], 14);    /* bit 15 */
	it = sfu_rtcp_packet_nack_get(&nack, 1);
	assert_int_equal(it.pid, 16);
	assert_int_equal(sfu_rtcp_packet_nack_item_seqs(it, seqs), 1);
	assert_int_equal(sfu_rtcp_packet_parse_pli(&pkt, NULL), -1);
}

/* PLI carries two SSRCs and no FCI; an FCI makes it invalid. */
static void
test_rtcp_packet_parses_pli(void **state)
{
	uint8_t b[] = {
	    0x81, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0};
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_fb fb;

	(void)state;
	one_packet(b, 12, &pkt);
	assert_int_equal(sfu_rtcp_packet_kind(&pkt), SFU_RTCP_PACKET_KIND_PLI);
	assert_int_equal(sfu_rtcp_packet_parse_pli(&pkt, &fb), 0);
	assert_int_equal(fb.sender_ssrc, 1);
	assert_int_equal(fb.media_ssrc, 2);
	assert_int_equal(fb.fci_len, 0);

	b[3] = 3;
	one_packet(b, 16, &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_pli(&pkt, &fb), -1);
}

/* FIR entries: SSRC and command sequence number each. */
static void
test_rtcp_packet_parses_fir(void **state)
{
	static const uint8_t b[] = {0x84, 0xce, 0x00, 0x06, 0, 0, 0, 9, 0, 0, 0,
	    0, 0x11, 0x11, 0x11, 0x11, 7, 0, 0, 0, 0x22, 0x22, 0x22, 0x22, 200,
	    0, 0, 0};
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_fir fir;
	uint32_t ssrc = 0;
	uint8_t seq = 0;

	(void)state;
	one_packet(b, sizeof(b), &pkt);
	assert_int_equal(sfu_rtcp_packet_kind(&pkt), SFU_RTCP_PACKET_KIND_FIR);
	assert_int_equal(sfu_rtcp_packet_parse_fir(&pkt, &fir), 0);
	assert_int_equal(fir.sender_ssrc, 9);
	assert_int_equal(fir.media_ssrc, 0);
	assert_int_equal(fir.entry_count, 2);
	sfu_rtcp_packet_fir_get(&fir, 0, &ssrc, &seq);
	assert_int_equal(ssrc, 0x11111111);
	assert_int_equal(seq, 7);
	sfu_rtcp_packet_fir_get(&fir, 1, &ssrc, &seq);
	assert_int_equal(ssrc, 0x22222222);
	assert_int_equal(seq, 200);
}

/* REMB: exponent and mantissa, SSRC list; strict about sizes and overflow. */
static void
test_rtcp_packet_parses_remb(void **state)
{
	uint8_t b[] = {0x8f, 0xce, 0x00, 0x05, 1, 2, 3, 4, 0, 0, 0, 0, 'R', 'E',
	    'M', 'B', 1, 0x06, 0x49, 0xf0, 0xde, 0xad, 0xbe, 0xef};
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_remb remb;

	(void)state;
	one_packet(b, sizeof(b), &pkt);
	assert_int_equal(sfu_rtcp_packet_kind(&pkt), SFU_RTCP_PACKET_KIND_REMB);
	assert_int_equal(sfu_rtcp_packet_parse_remb(&pkt, &remb), 0);
	assert_int_equal(remb.sender_ssrc, 0x01020304);
	assert_int_equal(remb.bitrate_bps, 300000); /* 150000 << 1 */
	assert_int_equal(remb.ssrc_count, 1);
	assert_int_equal(sfu_rtcp_packet_remb_ssrc(&remb, 0), 0xdeadbeef);

	/* Num SSRC disagreeing with the length, either way. */
	b[16] = 2;
	assert_int_equal(sfu_rtcp_packet_parse_remb(&pkt, &remb), -1);
	b[16] = 0;
	assert_int_equal(sfu_rtcp_packet_parse_remb(&pkt, &remb), -1);
	b[16] = 1;

	/* exp 46 with an 18-bit mantissa fits 64 bits; exp 47 does not. */
	b[17] = 46 << 2 | 3;
	b[18] = 0xff;
	b[19] = 0xff;
	assert_int_equal(sfu_rtcp_packet_parse_remb(&pkt, &remb), 0);
	assert_int_equal(remb.bitrate_bps, 0x3ffffull << 46);
	b[17] = 47 << 2 | 3;
	assert_int_equal(sfu_rtcp_packet_parse_remb(&pkt, &remb), -1);
	b[17] = 63 << 2;
	b[18] = 0;
	b[19] = 0;
	assert_int_equal(sfu_rtcp_packet_parse_remb(&pkt, &remb), 0);
	assert_int_equal(remb.bitrate_bps, 0);

	/* Another AFB is not REMB. */
	b[12] = 'X';
	assert_int_equal(
	    sfu_rtcp_packet_kind(&pkt), SFU_RTCP_PACKET_KIND_PSFB_OTHER);
	assert_int_equal(sfu_rtcp_packet_parse_remb(&pkt, &remb), -1);
}

/* BYE: SSRCs and an optional reason, which must fit. */
static void
test_rtcp_packet_parses_bye(void **state)
{
	uint8_t b[] = {0x82, 0xcb, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 3, 'b',
	    'y', 'e', 0, 0, 0, 0};
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_bye bye;

	(void)state;
	one_packet(b, 16, &pkt);
	assert_int_equal(sfu_rtcp_packet_kind(&pkt), SFU_RTCP_PACKET_KIND_BYE);
	assert_int_equal(sfu_rtcp_packet_parse_bye(&pkt, &bye), 0);
	assert_int_equal(bye.ssrc_count, 2);
	assert_int_equal(bye.ssrcs[0], 1);
	assert_int_equal(bye.ssrcs[1], 2);
	assert_int_equal(bye.reason_len, 3);
	assert_memory_equal(bye.reason, "bye", 3);

	b[12] = 4; /* one byte past the packet */
	assert_int_equal(sfu_rtcp_packet_parse_bye(&pkt, &bye), -1);
	b[3] = 2; /* no reason */
	one_packet(b, 12, &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_bye(&pkt, &bye), 0);
	assert_null(bye.reason);
	b[0] = 0x83; /* 3 SSRCs in 2 words */
	one_packet(b, 12, &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_bye(&pkt, &bye), -1);
}

/* Types and FMTs map to kinds; APP, XR and transport-cc are recognised. */
static void
test_rtcp_packet_classifies_kinds(void **state)
{
	static const struct {
		uint8_t fmt, type;
		enum sfu_rtcp_packet_kind kind;
	} cases[] = {
	    {0, 200, SFU_RTCP_PACKET_KIND_SR},
	    {0, 201, SFU_RTCP_PACKET_KIND_RR},
	    {1, 202, SFU_RTCP_PACKET_KIND_SDES},
	    {1, 203, SFU_RTCP_PACKET_KIND_BYE},
	    {3, 204, SFU_RTCP_PACKET_KIND_APP},
	    {1, 205, SFU_RTCP_PACKET_KIND_NACK},
	    {3, 205, SFU_RTCP_PACKET_KIND_RTPFB_OTHER},
	    {15, 205, SFU_RTCP_PACKET_KIND_TCC},
	    {1, 206, SFU_RTCP_PACKET_KIND_PLI},
	    {2, 206, SFU_RTCP_PACKET_KIND_PSFB_OTHER},
	    {4, 206, SFU_RTCP_PACKET_KIND_FIR},
	    {15, 206, SFU_RTCP_PACKET_KIND_PSFB_OTHER}, /* no "REMB" */
	    {0, 207, SFU_RTCP_PACKET_KIND_XR},
	    {0, 199, SFU_RTCP_PACKET_KIND_UNKNOWN},
	    {0, 208, SFU_RTCP_PACKET_KIND_UNKNOWN},
	};
	uint8_t b[16];
	struct sfu_rtcp_packet pkt;
	size_t i = 0;

	(void)state;
	memset(b, 0, sizeof(b));
	b[3] = 3;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b[0] = (uint8_t)(0x80 | cases[i].fmt);
		b[1] = cases[i].type;
		one_packet(b, sizeof(b), &pkt);
		if (sfu_rtcp_packet_kind(&pkt) != cases[i].kind) {
			fail_msg("case %zu: type %u fmt %u -> %d", i,
			    cases[i].type, cases[i].fmt,
			    sfu_rtcp_packet_kind(&pkt));
		}
	}
}

struct header_case {
	const char *name;
	uint8_t bytes[20];
	size_t len;
	int count; /* sfu_rtcp_packet_check_compound() */
};

static const struct header_case header_cases[] = {
    {"empty", {0}, 0, -1},
    {"3 bytes", {0x80, 0xc9, 0x00}, 3, -1},
    {"header only", {0x80, 0xc9, 0x00, 0x00}, 4, 1},
    {"version 0", {0x00, 0xc9, 0x00, 0x00}, 4, -1},
    {"version 1", {0x40, 0xc9, 0x00, 0x00}, 4, -1},
    {"version 3", {0xc0, 0xc9, 0x00, 0x00}, 4, -1},
    {"length past end", {0x80, 0xc9, 0x00, 0x01, 1, 2, 3}, 7, -1},
    {"length exact", {0x80, 0xc9, 0x00, 0x01, 1, 2, 3, 4}, 8, 1},
    {"huge length", {0x80, 0xc9, 0xff, 0xff, 1, 2, 3, 4}, 8, -1},
    {"trailing bytes", {0x80, 0xc9, 0x00, 0x01, 1, 2, 3, 4, 0x80}, 9, -1},
    {"trailing header", {0x80, 0xc9, 0x00, 0x01, 1, 2, 3, 4, 0x80, 0xc9, 0x00},
        11, -1},
    {"two packets",
        {0x80, 0xc9, 0x00, 0x01, 1, 2, 3, 4, 0x80, 0xcb, 0x00, 0x00}, 12, 2},
    {"second version bad",
        {0x80, 0xc9, 0x00, 0x01, 1, 2, 3, 4, 0x40, 0xcb, 0x00, 0x00}, 12, -1},
    {"padding 0", {0xa0, 0xc9, 0x00, 0x01, 1, 2, 3, 0}, 8, -1},
    {"padding over body", {0xa0, 0xc9, 0x00, 0x01, 1, 2, 3, 5}, 8, -1},
    {"padding whole body", {0xa0, 0xc9, 0x00, 0x01, 0, 0, 0, 4}, 8, 1},
    {"padding, no body", {0xa0, 0xc9, 0x00, 0x00}, 4, -1},
};

/* Malformed common headers and compounds are refused at their boundary. */
static void
test_rtcp_packet_rejects_malformed_headers(void **state)
{
	size_t i = 0;
	int n = 0;

	(void)state;
	for (i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		n = sfu_rtcp_packet_check_compound(
		    header_cases[i].bytes, header_cases[i].len);
		if (n != header_cases[i].count) {
			fail_msg("case \"%s\": %d", header_cases[i].name, n);
		}
	}
}

/* Padding is removed from the body the views see. */
static void
test_rtcp_packet_padding_excluded_from_body(void **state)
{
	static const uint8_t b[] = {
	    0xa0, 0xc9, 0x00, 0x03, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 8};
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_rr rr;

	(void)state;
	one_packet(b, sizeof(b), &pkt);
	assert_int_equal(pkt.padding_len, 8);
	assert_int_equal(pkt.body_len, 4);
	assert_int_equal(sfu_rtcp_packet_parse_rr(&pkt, &rr), 0);
	assert_int_equal(rr.ssrc, 5);
	assert_int_equal(rr.report_count, 0);
}

struct body_case {
	const char *name;
	uint8_t b0, type;
	size_t body_len; /* zero bytes after the header */
	int (*parse)(const struct sfu_rtcp_packet *pkt);
	bool ok;
};

static int
parse_sr(const struct sfu_rtcp_packet *pkt)
{
	struct sfu_rtcp_packet_sr v;

	return sfu_rtcp_packet_parse_sr(pkt, &v);
}

static int
parse_rr(const struct sfu_rtcp_packet *pkt)
{
	struct sfu_rtcp_packet_rr v;

	return sfu_rtcp_packet_parse_rr(pkt, &v);
}

static int
parse_sdes(const struct sfu_rtcp_packet *pkt)
{
	struct sfu_rtcp_packet_sdes v;

	return sfu_rtcp_packet_parse_sdes(pkt, &v);
}

static int
parse_bye(const struct sfu_rtcp_packet *pkt)
{
	struct sfu_rtcp_packet_bye v;

	return sfu_rtcp_packet_parse_bye(pkt, &v);
}

static int
parse_fb(const struct sfu_rtcp_packet *pkt)
{
	struct sfu_rtcp_packet_fb v;

	return sfu_rtcp_packet_parse_fb(pkt, &v);
}

static int
parse_nack(const struct sfu_rtcp_packet *pkt)
{
	struct sfu_rtcp_packet_nack v;

	return sfu_rtcp_packet_parse_nack(pkt, &v);
}

static int
parse_fir(const struct sfu_rtcp_packet *pkt)
{
	struct sfu_rtcp_packet_fir v;

	return sfu_rtcp_packet_parse_fir(pkt, &v);
}

static const struct body_case body_cases[] = {
    {"SR no blocks short", 0x80, 200, 20, parse_sr, false},
    {"SR no blocks", 0x80, 200, 24, parse_sr, true},
    {"SR 2 blocks short", 0x82, 200, 68, parse_sr, false},
    {"SR 2 blocks", 0x82, 200, 72, parse_sr, true},
    {"SR with extension", 0x80, 200, 32, parse_sr, true},
    {"RR empty", 0x80, 201, 0, parse_rr, false},
    {"RR no blocks", 0x80, 201, 4, parse_rr, true},
    {"RR 31 blocks short", 0x9f, 201, 4 + 30 * 24 + 20, parse_rr, false},
    {"RR 31 blocks", 0x9f, 201, 4 + 31 * 24, parse_rr, true},
    {"SDES 0 chunks", 0x80, 202, 0, parse_sdes, true},
    {"SDES chunk no SSRC", 0x81, 202, 0, parse_sdes, false},
    {"SDES chunk no end", 0x81, 202, 4, parse_sdes, false},
    {"SDES chunk with end", 0x81, 202, 8, parse_sdes, true},
    {"SDES 2 chunks, 1 there", 0x82, 202, 8, parse_sdes, false},
    {"BYE 0 SSRCs", 0x80, 203, 0, parse_bye, true},
    {"BYE 2 SSRCs short", 0x82, 203, 4, parse_bye, false},
    {"FB short", 0x81, 205, 4, parse_fb, false},
    {"FB exact", 0x81, 206, 8, parse_fb, true},
    {"FB wrong type", 0x81, 201, 8, parse_fb, false},
    {"NACK no items", 0x81, 205, 8, parse_nack, false},
    {"NACK one item", 0x81, 205, 12, parse_nack, true},
    {"NACK wrong FMT", 0x82, 205, 12, parse_nack, false},
    {"NACK in PSFB", 0x81, 206, 12, parse_nack, false},
    {"FIR no entries", 0x84, 206, 8, parse_fir, false},
    {"FIR half entry", 0x84, 206, 12, parse_fir, false},
    {"FIR one entry", 0x84, 206, 16, parse_fir, true},
    {"FIR in RTPFB", 0x84, 205, 16, parse_fir, false},
};

/* Each view refuses a body one word short of its counts, accepts exact. */
static void
test_rtcp_packet_rejects_short_bodies(void **state)
{
	uint8_t b[4 + 4 + 31 * 24];
	struct sfu_rtcp_packet pkt;
	const struct body_case *c = NULL;
	size_t i = 0;
	int rc = 0;

	(void)state;
	for (i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		c = &body_cases[i];
		memset(b, 0, sizeof(b));
		b[0] = c->b0;
		b[1] = c->type;
		b[3] = (uint8_t)(c->body_len / 4);
		b[2] = (uint8_t)(c->body_len / 4 >> 8);
		one_packet(b, 4 + c->body_len, &pkt);
		rc = c->parse(&pkt);
		if (rc != (c->ok ? 0 : -1)) {
			fail_msg("case \"%s\": %d", c->name, rc);
		}
	}
}

/* SDES chunks: each ends with a null octet and nulls to a 32-bit boundary. */
static void
test_rtcp_packet_parses_sdes_chunks(void **state)
{
	static const uint8_t b[] = {
	    0x83, 0xca, 0x00, 0x0a,     /* SC 3, 44 bytes */
	    0, 0, 0, 1, 1, 2, 'h', 'i', /* null at an aligned offset: */
	    0, 0, 0, 0,                 /* four nulls */
	    0, 0, 0, 2, 1, 1, 'x', 0,   /* one null */
	    0, 0, 0, 3, 2, 3, 'n', 'a', 'm', 1, 5, 'c', 'n', 'a', 'm', 'e', 0,
	    0, 0, 0, /* NAME, then CNAME */
	};
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_sdes sdes;

	(void)state;
	one_packet(b, sizeof(b), &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_sdes(&pkt, &sdes), 0);
	assert_int_equal(sdes.chunk_count, 3);
	assert_int_equal(sdes.chunks[0].ssrc, 1);
	assert_int_equal(sdes.chunks[0].cname_len, 2);
	assert_memory_equal(sdes.chunks[0].cname, "hi", 2);
	assert_int_equal(sdes.chunks[1].ssrc, 2);
	assert_int_equal(sdes.chunks[1].cname_len, 1);
	assert_memory_equal(sdes.chunks[1].cname, "x", 1);
	assert_int_equal(sdes.chunks[2].ssrc, 3);
	assert_int_equal(sdes.chunks[2].cname_len, 5);
	assert_memory_equal(sdes.chunks[2].cname, "cname", 5);
}

/* SDES items overrunning the chunk, or a chunk without its null octet. */
static void
test_rtcp_packet_rejects_bad_sdes(void **state)
{
	uint8_t b[] = {0x81, 0xca, 0x00, 0x03, 0, 0, 0, 1, 0x01, 0x03, 'a', 'b',
	    'c', 0x00, 0x00, 0x00};
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_sdes sdes;

	(void)state;
	one_packet(b, sizeof(b), &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_sdes(&pkt, &sdes), 0);
	assert_int_equal(sdes.chunks[0].cname_len, 3);

	b[9] = 6; /* 'a'..end is 6 bytes: fits, but no null octet after */
	assert_int_equal(sfu_rtcp_packet_parse_sdes(&pkt, &sdes), -1);
	b[9] = 7; /* past the end */
	assert_int_equal(sfu_rtcp_packet_parse_sdes(&pkt, &sdes), -1);
	b[9] = 5; /* fits, null octet is the last byte */
	assert_int_equal(sfu_rtcp_packet_parse_sdes(&pkt, &sdes), 0);
	assert_int_equal(sdes.chunks[0].cname_len, 5);

	/* A NAME item is skipped, and a chunk without CNAME is kept. */
	b[8] = 2;
	b[9] = 3;
	assert_int_equal(sfu_rtcp_packet_parse_sdes(&pkt, &sdes), 0);
	assert_null(sdes.chunks[0].cname);
}

/* Every prefix of a compound that does not end on a packet is refused. */
static void
test_rtcp_packet_rejects_every_truncation(void **state)
{
	static const struct sfu_rtcp_packet_nack_item items[] = {
	    {5, 1}, {40, 0}};
	uint8_t b[256];
	struct sfu_rtcp_packet_compound c;
	size_t ends[3];
	size_t n = 0;
	int want = 0;
	unsigned k = 0;

	(void)state;
	memcpy(b, sr_sdes, sizeof(sr_sdes));
	ends[0] = 52;
	ends[1] = sizeof(sr_sdes);
	sfu_rtcp_packet_compound_init(&c, b, sizeof(b));
	c.len = sizeof(sr_sdes);
	assert_int_equal(
	    sfu_rtcp_packet_compound_append(&c,
	        sfu_rtcp_packet_build_nack(sfu_rtcp_packet_compound_tail(&c),
	            sfu_rtcp_packet_compound_room(&c), 1, 2, items, 2)),
	    0);
	ends[2] = c.len;
	for (n = 0; n <= c.len; n++) {
		want = -1;
		for (k = 0; k < 3; k++) {
			if (n == ends[k]) {
				want = (int)k + 1;
			}
		}
		if (sfu_rtcp_packet_check_compound(b, n) != want) {
			fail_msg("prefix of %zu bytes", n);
		}
	}
}

/* --- builders --- */

/* SR and RR built from values parse back to the same values. */
static void
test_rtcp_packet_builds_sr_rr(void **state)
{
	uint8_t b[1024];
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_sr sr;
	struct sfu_rtcp_packet_sr sr2;
	struct sfu_rtcp_packet_rr rr;
	struct sfu_rtcp_packet_rr rr2;
	size_t len = 0;
	unsigned i = 0;

	(void)state;
	memset(&sr, 0, sizeof(sr));
	sr.ssrc = 0xfeedface;
	sr.ntp = 0xe9a1b2c312345678ull;
	sr.rtp_timestamp = 0xffffffff;
	sr.packet_count = 1;
	sr.octet_count = 2;
	sr.report_count = 2;
	make_report(&sr.reports[0], 0);
	make_report(&sr.reports[1], 1);
	len = sfu_rtcp_packet_build_sr(b, sizeof(b), &sr);
	assert_int_equal(len, 28 + 48);
	one_packet(b, len, &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_sr(&pkt, &sr2), 0);
	assert_int_equal(sr2.ssrc, sr.ssrc);
	assert_int_equal(sr2.ntp, sr.ntp);
	assert_int_equal(sr2.rtp_timestamp, sr.rtp_timestamp);
	assert_int_equal(sr2.packet_count, 1);
	assert_int_equal(sr2.octet_count, 2);
	assert_int_equal(sr2.report_count, 2);
	assert_report_equal(&sr2.reports[0], &sr.reports[0]);
	assert_report_equal(&sr2.reports[1], &sr.reports[1]);

	memset(&rr, 0, sizeof(rr));
	rr.ssrc = 77;
	rr.report_count = SFU_RTCP_PACKET_MAX_COUNT;
	for (i = 0; i < SFU_RTCP_PACKET_MAX_COUNT; i++) {
		make_report(&rr.reports[i], i);
	}
	len = sfu_rtcp_packet_build_rr(b, sizeof(b), &rr);
	assert_int_equal(len, 8 + 31 * 24);
	one_packet(b, len, &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_rr(&pkt, &rr2), 0);
	assert_int_equal(rr2.ssrc, 77);
	assert_int_equal(rr2.report_count, 31);
	for (i = 0; i < SFU_RTCP_PACKET_MAX_COUNT; i++) {
		assert_report_equal(&rr2.reports[i], &rr.reports[i]);
	}

	/* Cumulative loss beyond 24 bits is clamped, not wrapped. */
	rr.report_count = 2;
	rr.reports[0].cumulative_lost = 0x1000000;
	rr.reports[1].cumulative_lost = -0x1000000;
	len = sfu_rtcp_packet_build_rr(b, sizeof(b), &rr);
	one_packet(b, len, &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_rr(&pkt, &rr2), 0);
	assert_int_equal(rr2.reports[0].cumulative_lost, 0x7fffff);
	assert_int_equal(rr2.reports[1].cumulative_lost, -0x800000);

	rr.report_count = 32;
	assert_int_equal(sfu_rtcp_packet_build_rr(b, sizeof(b), &rr), 0);
	sr.report_count = 32;
	assert_int_equal(sfu_rtcp_packet_build_sr(b, sizeof(b), &sr), 0);
}

/* SDES and BYE built parse back; CNAME lengths pad to 32 bits. */
static void
test_rtcp_packet_builds_sdes_bye(void **state)
{
	static const uint32_t ssrcs[] = {1, 2, 3};
	char cname[256];
	uint8_t b[512];
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_sdes sdes;
	struct sfu_rtcp_packet_bye bye;
	size_t len = 0;
	size_t n = 0;

	(void)state;
	memset(cname, 'c', sizeof(cname));
	for (n = 0; n <= 255; n++) {
		len = sfu_rtcp_packet_build_sdes(b, sizeof(b), 0xabc, cname, n);
		assert_int_equal(len % 4, 0);
		assert_true(
		    len >= 4 + 4 + 2 + n + 1 && len <= 4 + 4 + 2 + n + 4);
		one_packet(b, len, &pkt);
		assert_int_equal(sfu_rtcp_packet_parse_sdes(&pkt, &sdes), 0);
		assert_int_equal(sdes.chunk_count, 1);
		assert_int_equal(sdes.chunks[0].ssrc, 0xabc);
		assert_int_equal(sdes.chunks[0].cname_len, n);
		assert_non_null(sdes.chunks[0].cname);
	}
	assert_int_equal(
	    sfu_rtcp_packet_build_sdes(b, sizeof(b), 1, cname, 256), 0);

	len = sfu_rtcp_packet_build_bye(b, sizeof(b), ssrcs, 3);
	assert_int_equal(len, 16);
	one_packet(b, len, &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_bye(&pkt, &bye), 0);
	assert_int_equal(bye.ssrc_count, 3);
	assert_int_equal(bye.ssrcs[2], 3);
	assert_null(bye.reason);
	assert_int_equal(sfu_rtcp_packet_build_bye(b, sizeof(b), ssrcs, 32), 0);
}

/* PLI, FIR, NACK and REMB built parse back to their values. */
static void
test_rtcp_packet_builds_feedback(void **state)
{
	static const struct sfu_rtcp_packet_nack_item items[] = {
	    {100, 0x0001}, {65535, 0xffff}, {0, 0}};
	static const uint32_t ssrcs[] = {0xa, 0xb};
	uint8_t b[256];
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_fb fb;
	struct sfu_rtcp_packet_fir fir;
	struct sfu_rtcp_packet_nack nack;
	struct sfu_rtcp_packet_nack_item it;
	struct sfu_rtcp_packet_remb remb;
	uint32_t ssrc = 0;
	uint8_t seq = 0;
	size_t len = 0;
	size_t i = 0;

	(void)state;
	len = sfu_rtcp_packet_build_pli(b, sizeof(b), 5, 6);
	assert_int_equal(len, 12);
	one_packet(b, len, &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_pli(&pkt, &fb), 0);
	assert_int_equal(fb.sender_ssrc, 5);
	assert_int_equal(fb.media_ssrc, 6);

	len = sfu_rtcp_packet_build_fir(b, sizeof(b), 5, 0x12345678, 250);
	assert_int_equal(len, 20);
	one_packet(b, len, &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_fir(&pkt, &fir), 0);
	assert_int_equal(fir.sender_ssrc, 5);
	assert_int_equal(fir.media_ssrc, 0);
	assert_int_equal(fir.entry_count, 1);
	sfu_rtcp_packet_fir_get(&fir, 0, &ssrc, &seq);
	assert_int_equal(ssrc, 0x12345678);
	assert_int_equal(seq, 250);

	len = sfu_rtcp_packet_build_nack(b, sizeof(b), 7, 8, items, 3);
	assert_int_equal(len, 24);
	one_packet(b, len, &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_nack(&pkt, &nack), 0);
	assert_int_equal(nack.sender_ssrc, 7);
	assert_int_equal(nack.media_ssrc, 8);
	assert_int_equal(nack.item_count, 3);
	for (i = 0; i < 3; i++) {
		it = sfu_rtcp_packet_nack_get(&nack, i);
		assert_int_equal(it.pid, items[i].pid);
		assert_int_equal(it.blp, items[i].blp);
	}
	assert_int_equal(
	    sfu_rtcp_packet_build_nack(b, sizeof(b), 7, 8, items, 0), 0);

	len = sfu_rtcp_packet_build_remb(b, sizeof(b), 9, 262143, ssrcs, 2);
	assert_int_equal(len, 28);
	one_packet(b, len, &pkt);
	assert_int_equal(sfu_rtcp_packet_kind(&pkt), SFU_RTCP_PACKET_KIND_REMB);
	assert_int_equal(sfu_rtcp_packet_parse_remb(&pkt, &remb), 0);
	assert_int_equal(remb.sender_ssrc, 9);
	assert_int_equal(remb.bitrate_bps, 262143); /* 18 bits: exact */
	assert_int_equal(remb.ssrc_count, 2);
	assert_int_equal(sfu_rtcp_packet_remb_ssrc(&remb, 1), 0xb);

	/* More than 18 significant bits: rounded down, within 2^-17. */
	len = sfu_rtcp_packet_build_remb(b, sizeof(b), 9, 2500001, NULL, 0);
	one_packet(b, len, &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_remb(&pkt, &remb), 0);
	assert_true(remb.bitrate_bps <= 2500001);
	assert_true(remb.bitrate_bps > 2500001 - 2500001 / 131072);
	len = sfu_rtcp_packet_build_remb(b, sizeof(b), 9, UINT64_MAX, NULL, 0);
	one_packet(b, len, &pkt);
	assert_int_equal(sfu_rtcp_packet_parse_remb(&pkt, &remb), 0);
	assert_int_equal(remb.bitrate_bps, 0x3ffffull << 46);
}

/* Every builder needs room for its whole packet: exact fits, one less not. */
static void
test_rtcp_packet_builders_check_capacity(void **state)
{
	static const struct sfu_rtcp_packet_nack_item item = {1, 0};
	static const uint32_t ssrc = 1;
	struct sfu_rtcp_packet_sr sr;
	struct sfu_rtcp_packet_rr rr;
	uint8_t b[128];
	size_t need = 0;

	(void)state;
	memset(&sr, 0, sizeof(sr));
	memset(&rr, 0, sizeof(rr));
	sr.report_count = 1;
	rr.report_count = 2;
	need = 52;
	assert_int_equal(sfu_rtcp_packet_build_sr(b, need, &sr), need);
	assert_int_equal(sfu_rtcp_packet_build_sr(b, need - 1, &sr), 0);
	need = 56;
	assert_int_equal(sfu_rtcp_packet_build_rr(b, need, &rr), need);
	assert_int_equal(sfu_rtcp_packet_build_rr(b, need - 1, &rr), 0);
	need = 16;
	assert_int_equal(sfu_rtcp_packet_build_sdes(b, need, 1, "ab", 2), need);
	assert_int_equal(
	    sfu_rtcp_packet_build_sdes(b, need - 1, 1, "ab", 2), 0);
	need = 8;
	assert_int_equal(sfu_rtcp_packet_build_bye(b, need, &ssrc, 1), need);
	assert_int_equal(sfu_rtcp_packet_build_bye(b, need - 1, &ssrc, 1), 0);
	need = 12;
	assert_int_equal(sfu_rtcp_packet_build_pli(b, need, 1, 2), need);
	assert_int_equal(sfu_rtcp_packet_build_pli(b, need - 1, 1, 2), 0);
	need = 20;
	assert_int_equal(sfu_rtcp_packet_build_fir(b, need, 1, 2, 3), need);
	assert_int_equal(sfu_rtcp_packet_build_fir(b, need - 1, 1, 2, 3), 0);
	need = 16;
	assert_int_equal(
	    sfu_rtcp_packet_build_nack(b, need, 1, 2, &item, 1), need);
	assert_int_equal(
	    sfu_rtcp_packet_build_nack(b, need - 1, 1, 2, &item, 1), 0);
	need = 24;
	assert_int_equal(
	    sfu_rtcp_packet_build_remb(b, need, 1, 1000, &ssrc, 1), need);
	assert_int_equal(
	    sfu_rtcp_packet_build_remb(b, need - 1, 1, 1000, &ssrc, 1), 0);
	assert_int_equal(sfu_rtcp_packet_build_pli(b, 0, 1, 2), 0);
}

/* --- compounds --- */

struct collect {
	int calls;
	int stop_after;
	uint8_t types[8];
};

static bool
collect_cb(void *ctx, const struct sfu_rtcp_packet *pkt)
{
	struct collect *c = ctx;

	c->types[c->calls++] = pkt->type;
	return c->calls != c->stop_after;
}

/* Builders append into one compound until it is full; foreach walks it. */
static void
test_rtcp_packet_compound_append_and_foreach(void **state)
{
	uint8_t b[8 + 24 + 16 + 12];
	struct sfu_rtcp_packet_compound c;
	struct sfu_rtcp_packet_rr rr;
	struct collect col;

	(void)state;
	memset(&rr, 0, sizeof(rr));
	rr.report_count = 1;
	sfu_rtcp_packet_compound_init(&c, b, sizeof(b));
	assert_int_equal(
	    sfu_rtcp_packet_compound_append(
	        &c, sfu_rtcp_packet_build_rr(sfu_rtcp_packet_compound_tail(&c),
	                sfu_rtcp_packet_compound_room(&c), &rr)),
	    0);
	assert_int_equal(
	    sfu_rtcp_packet_compound_append(&c,
	        sfu_rtcp_packet_build_sdes(sfu_rtcp_packet_compound_tail(&c),
	            sfu_rtcp_packet_compound_room(&c), 1, "cn", 2)),
	    0);
	assert_int_equal(c.len, 32 + 16);
	assert_int_equal(
	    sfu_rtcp_packet_compound_append(&c,
	        sfu_rtcp_packet_build_remb(sfu_rtcp_packet_compound_tail(&c),
	            sfu_rtcp_packet_compound_room(&c), 1, 1, NULL, 0)),
	    -1);
	assert_int_equal(c.len, 48);
	assert_int_equal(
	    sfu_rtcp_packet_compound_append(
	        &c, sfu_rtcp_packet_build_pli(sfu_rtcp_packet_compound_tail(&c),
	                sfu_rtcp_packet_compound_room(&c), 1, 2)),
	    0);
	assert_int_equal(c.len, 60);

	memset(&col, 0, sizeof(col));
	assert_int_equal(
	    sfu_rtcp_packet_foreach(b, c.len, collect_cb, &col), 3);
	assert_int_equal(col.calls, 3);
	assert_int_equal(col.types[0], SFU_RTCP_PACKET_TYPE_RR);
	assert_int_equal(col.types[1], SFU_RTCP_PACKET_TYPE_SDES);
	assert_int_equal(col.types[2], SFU_RTCP_PACKET_TYPE_PSFB);

	/* The callback stops the walk. */
	memset(&col, 0, sizeof(col));
	col.stop_after = 1;
	assert_int_equal(
	    sfu_rtcp_packet_foreach(b, c.len, collect_cb, &col), 3);
	assert_int_equal(col.calls, 1);

	/* A bad tail means no callback at all. */
	memset(&col, 0, sizeof(col));
	b[48] = 0x40;
	assert_int_equal(
	    sfu_rtcp_packet_foreach(b, c.len, collect_cb, &col), -1);
	assert_int_equal(col.calls, 0);
}

/* Sequence numbers pack into PID + BLP items, across the 16-bit wrap. */
static void
test_rtcp_packet_nack_pack(void **state)
{
	static const uint16_t seqs[] = {
	    100, 101, 101, 116, 117, 118, 65535, 0, 5};
	struct sfu_rtcp_packet_nack_item items[4];
	uint16_t out[17];

	(void)state;
	assert_int_equal(sfu_rtcp_packet_nack_pack(seqs, 9, items, 4), 3);
	assert_int_equal(items[0].pid, 100);
	assert_int_equal(items[0].blp, 0x8001);
	assert_int_equal(items[1].pid, 117);
	assert_int_equal(items[1].blp, 0x0001);
	assert_int_equal(items[2].pid, 65535);
	assert_int_equal(items[2].blp, 0x0021);
	assert_int_equal(sfu_rtcp_packet_nack_item_seqs(items[2], out), 3);
	assert_int_equal(out[1], 0);
	assert_int_equal(out[2], 5);

	/* Out of room: the first items only. */
	assert_int_equal(sfu_rtcp_packet_nack_pack(seqs, 9, items, 1), 1);
	assert_int_equal(items[0].blp, 0x8001);
	assert_int_equal(sfu_rtcp_packet_nack_pack(seqs, 0, items, 4), 0);
}

/* --- time and statistics --- */

/* Unix time to NTP and back, at the epochs, fractions and era 1. */
static void
test_rtcp_packet_ntp_conversion(void **state)
{
	static const uint64_t times[] = {0, 1, 999999, 1000000,
	    1700000000123456ull, 2085978495999999ull, /* last of era 0 */
	    2085978496000000ull,                      /* era 1 begins */
	    2500000000654321ull};
	struct timespec ts;
	uint64_t ntp = 0;
	size_t i = 0;

	(void)state;
	ntp = sfu_rtcp_packet_ntp_from_unix_us(0);
	assert_int_equal(ntp, (uint64_t)2208988800u << 32);
	ntp = sfu_rtcp_packet_ntp_from_unix_us(1500000);
	assert_int_equal(ntp, (uint64_t)2208988801u << 32 | 0x80000000u);
	ntp = sfu_rtcp_packet_ntp_from_unix_us(2085978496000000ull);
	assert_int_equal(ntp, 0); /* 2036-02-07 06:28:16 UTC */
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		ntp = sfu_rtcp_packet_ntp_from_unix_us(times[i]);
		assert_int_equal(sfu_rtcp_packet_ntp_to_unix_us(ntp), times[i]);
	}
	ts.tv_sec = 1700000000;
	ts.tv_nsec = 250000000;
	ntp = sfu_rtcp_packet_ntp_from_timespec(&ts);
	assert_int_equal(ntp >> 32, 1700000000ull + 2208988800u);
	assert_int_equal(ntp & 0xffffffffu, 0x40000000u);
	assert_int_equal(
	    sfu_rtcp_packet_ntp_to_unix_us(ntp), 1700000000250000ull);
	assert_int_equal(
	    sfu_rtcp_packet_ntp_compact(0x0001234567890000ull), 0x23456789u);
}

/* RTT from LSR and DLSR in 1/65536 s; no SR yet or negative -> 0. */
static void
test_rtcp_packet_rtt(void **state)
{
	(void)state;
	assert_int_equal(sfu_rtcp_packet_compact_from_us(1000000), 65536);
	assert_int_equal(sfu_rtcp_packet_compact_to_us(65536), 1000000);
	assert_int_equal(sfu_rtcp_packet_compact_to_us(32768), 500000);
	assert_int_equal(
	    sfu_rtcp_packet_compact_from_us(UINT64_MAX), UINT32_MAX);
	assert_int_equal(
	    sfu_rtcp_packet_compact_from_us(65535999999ull), 0xffffffffu);

	/* Sent at 0x10000 (1 s), held 0.5 s, back at 1.75 s: 250 ms. */
	assert_int_equal(
	    sfu_rtcp_packet_rtt_us(0x1c000, 0x10000, 0x8000), 250000);
	/* Across the 32-bit wrap of compact time. */
	assert_int_equal(
	    sfu_rtcp_packet_rtt_us(0x4000, 0xffff8000u, 0x8000), 250000);
	assert_int_equal(sfu_rtcp_packet_rtt_us(0x1c000, 0, 0x8000), 0);
	assert_int_equal(sfu_rtcp_packet_rtt_us(0x10000, 0x10000, 0x8000), 0);
	assert_int_equal(sfu_rtcp_packet_rtt_us(0x18000, 0x10000, 0x8000), 0);
}

/* RFC 3550 A.3 fraction lost and 24-bit cumulative lost, with clamps. */
static void
test_rtcp_packet_loss_stats(void **state)
{
	static const struct {
		uint32_t expected, received;
		uint8_t fraction;
	} fr[] = {
	    {0, 0, 0},
	    {100, 100, 0},
	    {100, 150, 0}, /* duplicates */
	    {100, 75, 64},
	    {256, 255, 1},
	    {1000, 1, 255},
	    {1, 0, 255}, /* all lost: 256 clamps */
	    {0xffffffffu, 0, 255},
	};
	size_t i = 0;

	(void)state;
	for (i = 0; i < sizeof(fr) / sizeof(fr[0]); i++) {
		if (sfu_rtcp_packet_fraction_lost(
		        fr[i].expected, fr[i].received) != fr[i].fraction) {
			fail_msg("fraction case %zu", i);
		}
	}
	assert_int_equal(sfu_rtcp_packet_cumulative_lost(10, 10), 0);
	assert_int_equal(sfu_rtcp_packet_cumulative_lost(10, 7), 3);
	assert_int_equal(sfu_rtcp_packet_cumulative_lost(7, 10), -3);
	assert_int_equal(
	    sfu_rtcp_packet_cumulative_lost(0x7fffff, 0), 0x7fffff);
	assert_int_equal(
	    sfu_rtcp_packet_cumulative_lost(0x800000, 0), 0x7fffff);
	assert_int_equal(
	    sfu_rtcp_packet_cumulative_lost(0, 0x800000), -0x800000);
	assert_int_equal(
	    sfu_rtcp_packet_cumulative_lost(0, UINT64_MAX), -0x800000);
}

/* RFC 3550 A.8 jitter: 0 for steady transit, converging to |D| otherwise. */
static void
test_rtcp_packet_jitter_update(void **state)
{
	uint32_t j = 0;
	uint32_t prev = 1000;
	uint32_t transit = 0;
	unsigned i = 0;

	(void)state;
	for (i = 0; i < 100; i++) {
		j = sfu_rtcp_packet_jitter_update(j, 1000, prev);
	}
	assert_int_equal(j, 0);

	/* One step from 0 with D = 16: J = 16/16 = 1 in report units. */
	j = sfu_rtcp_packet_jitter_update(0, 1016, 1000);
	assert_int_equal(j, 16);
	assert_int_equal(j >> 4, 1);

	/* Transit alternating by 90 (1 ms at 90 kHz), wrapping 2^32. */
	j = 0;
	prev = 0xffffffd0u;
	for (i = 0; i < 1000; i++) {
		transit = prev + ((i & 1) ? 90u : (uint32_t)-90);
		j = sfu_rtcp_packet_jitter_update(j, transit, prev);
		prev = transit;
	}
	assert_true((j >> 4) >= 89 && (j >> 4) <= 90);

	/* Absurd jumps saturate rather than wrap. */
	j = sfu_rtcp_packet_jitter_update(UINT32_MAX, 0x80000000u, 0);
	assert_int_equal(j, UINT32_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rtcp_packet_parses_compound_sr_sdes),
	    cmocka_unit_test(test_rtcp_packet_parses_rr_with_blocks),
	    cmocka_unit_test(test_rtcp_packet_parses_nack),
	    cmocka_unit_test(test_rtcp_packet_parses_pli),
	    cmocka_unit_test(test_rtcp_packet_parses_fir),
	    cmocka_unit_test(test_rtcp_packet_parses_remb),
	    cmocka_unit_test(test_rtcp_packet_parses_bye),
	    cmocka_unit_test(test_rtcp_packet_classifies_kinds),
	    cmocka_unit_test(test_rtcp_packet_rejects_malformed_headers),
	    cmocka_unit_test(test_rtcp_packet_padding_excluded_from_body),
	    cmocka_unit_test(test_rtcp_packet_rejects_short_bodies),
	    cmocka_unit_test(test_rtcp_packet_parses_sdes_chunks),
	    cmocka_unit_test(test_rtcp_packet_rejects_bad_sdes),
	    cmocka_unit_test(test_rtcp_packet_rejects_every_truncation),
	    cmocka_unit_test(test_rtcp_packet_builds_sr_rr),
	    cmocka_unit_test(test_rtcp_packet_builds_sdes_bye),
	    cmocka_unit_test(test_rtcp_packet_builds_feedback),
	    cmocka_unit_test(test_rtcp_packet_builders_check_capacity),
	    cmocka_unit_test(test_rtcp_packet_compound_append_and_foreach),
	    cmocka_unit_test(test_rtcp_packet_nack_pack),
	    cmocka_unit_test(test_rtcp_packet_ntp_conversion),
	    cmocka_unit_test(test_rtcp_packet_rtt),
	    cmocka_unit_test(test_rtcp_packet_loss_stats),
	    cmocka_unit_test(test_rtcp_packet_jitter_update),
	};

	return cmocka_run_group_tests_name("rtcp_packet", tests, NULL, NULL);
}
