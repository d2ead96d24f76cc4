/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for worker/rtc/rtp_stream: NTP conversions, RFC 3550 A.1
 * sequence validation (probation, wrap, duplicates, jumps and resync), A.3
 * loss and fraction lost per interval, A.8 jitter, LSR/DLSR and the RTT
 * they give, SR extrapolation, the 1 s bitrate and the 0..10 scores of
 * both sides, all with synthetic times.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "worker/rtc/rtp_stream.h"

#define SSRC 0x11223344u
#define T0_US 10000000ULL            /* an arbitrary monotonic start */
#define WALL0_US 1700000000000000ULL /* 2023-11-14, Unix us */
#define FRAME_US 20000ULL
#define FRAME_TS_8K 160u /* 20 ms at 8 kHz */

/* --- helpers --- */

/* Feeds one 8 kHz packet per 20 ms, seq k at T0 + k * 20 ms. */
static bool
feed(struct sfu_rtp_stream_recv *s, uint32_t k)
{
	return sfu_rtp_stream_recv_packet(s, (uint16_t)k, k * FRAME_TS_8K, 100,
	    T0_US + (uint64_t)k * FRAME_US);
}

static void
recv_init(struct sfu_rtp_stream_recv *s, enum sfu_rtp_stream_kind kind)
{
	sfu_rtp_stream_recv_init(s, SSRC, 8000, kind);
}

/*
 * Feeds intervals of 100 seqs, skipping those for which lose(seq) holds,
 * closing a score interval after each; returns the score.
 */
static uint8_t
recv_score_after(bool (*lose)(uint32_t), unsigned intervals)
{
	struct sfu_rtp_stream_recv s;
	uint32_t k = 0;
	unsigned n = 0;

	recv_init(&s, SFU_RTP_STREAM_VIDEO);
	for (n = 0; n < intervals; n++) {
		for (k = n * 100; k < (n + 1) * 100; k++) {
			if (!lose(k)) {
				assert_true(feed(&s, k));
			}
		}
		sfu_rtp_stream_recv_update_score(
		    &s, T0_US + (uint64_t)k * FRAME_US);
	}
	return sfu_rtp_stream_recv_score(&s);
}

static bool
lose_none(uint32_t k)
{
	(void)k;
	return false;
}

static bool
lose_5_percent(uint32_t k)
{
	return k % 20 == 7;
}

static bool
lose_50_percent(uint32_t k)
{
	return k % 2 == 1;
}

/* Sends 100 packets per interval and answers with total_lost growing by
 * lost_per_interval; returns the send score. */
static uint8_t
send_score_after(uint32_t lost_per_interval, unsigned intervals)
{
	struct sfu_rtp_stream_send s;
	struct sfu_rtp_report rr;
	uint64_t now = T0_US;
	uint32_t seq = 0;
	unsigned n = 0;
	unsigned k = 0;

	sfu_rtp_stream_send_init(&s, SSRC, 90000, SFU_RTP_STREAM_VIDEO);
	for (n = 0; n < intervals; n++) {
		for (k = 0; k < 100; k++) {
			sfu_rtp_stream_send_packet(
			    &s, (uint16_t)seq, seq * 3000, 1000, now);
			seq++;
			now += 10000;
		}
		memset(&rr, 0, sizeof(rr));
		rr.ssrc = SSRC;
		rr.total_lost = (int32_t)((n + 1) * lost_per_interval);
		sfu_rtp_stream_send_on_rr(&s, &rr, now, 0);
	}
	return sfu_rtp_stream_send_score(&s);
}

/* --- NTP --- */

/* NTP conversions: the 1900 epoch, fractions, compact form, round trips. */
static void
test_rtp_stream_ntp_conversions(void **state)
{
	uint64_t ntp = 0;

	(void)state;
	assert_int_equal(sfu_ntp_from_wall_us(0), 2208988800ULL << 32);
	ntp = sfu_ntp_from_wall_us(1500000);
	assert_int_equal(ntp >> 32, 2208988801ULL);
	assert_int_equal(ntp & 0xffffffffULL, 0x80000000ULL);
	assert_int_equal(
	    sfu_ntp_compact(ntp), ((2208988801ULL & 0xffff) << 16) | 0x8000);
	assert_int_equal(sfu_ntp_to_wall_us(ntp), 1500000);
	assert_int_equal(sfu_ntp_to_wall_us(sfu_ntp_from_wall_us(WALL0_US + 1)),
	    WALL0_US + 1);
	assert_int_equal(
	    sfu_ntp_to_wall_us(sfu_ntp_from_wall_us(WALL0_US + 999999)),
	    WALL0_US + 999999);
	assert_int_equal(sfu_ntp_to_wall_us(1), 0);
	assert_int_equal(sfu_ntp_compact_from_us(1000000), 65536);
	assert_int_equal(sfu_ntp_compact_from_us(500000), 32768);
	assert_int_equal(sfu_ntp_compact_from_us(UINT64_MAX), UINT32_MAX);
	assert_int_equal(sfu_ntp_compact_to_us(65536), 1000000);
	assert_int_equal(sfu_ntp_compact_to_us(6554), 100006);
}

/* --- receiving side: sequence validation --- */

/* The first packet is accepted at once (signalled SSRC) and scores 10. */
static void
test_rtp_stream_recv_first_packet_accepted(void **state)
{
	struct sfu_rtp_stream_recv s;

	(void)state;
	recv_init(&s, SFU_RTP_STREAM_VIDEO);
	assert_int_equal(sfu_rtp_stream_recv_score(&s), 0);
	assert_false(sfu_rtp_stream_recv_score_changed(&s));
	assert_true(feed(&s, 1000));
	assert_int_equal(sfu_rtp_stream_recv_packet_count(&s), 1);
	assert_int_equal(sfu_rtp_stream_recv_byte_count(&s), 100);
	assert_int_equal(sfu_rtp_stream_recv_highest_seq(&s), 1000);
	assert_int_equal(sfu_rtp_stream_recv_packets_lost(&s), 0);
	assert_true(sfu_rtp_stream_recv_score_changed(&s));
	assert_int_equal(sfu_rtp_stream_recv_score(&s), 10);
	assert_false(sfu_rtp_stream_recv_score_changed(&s));
}

/* With RFC 3550 probation 2, packets are discarded until two in a row. */
static void
test_rtp_stream_recv_probation_discards_until_sequential(void **state)
{
	struct sfu_rtp_stream_recv s;
	struct sfu_rtp_report r;

	(void)state;
	recv_init(&s, SFU_RTP_STREAM_VIDEO);
	sfu_rtp_stream_recv_set_probation(&s, 2);
	assert_false(feed(&s, 100));
	assert_false(feed(&s, 200)); /* not 101: probation restarts */
	assert_true(feed(&s, 201));
	assert_true(feed(&s, 202));
	assert_int_equal(sfu_rtp_stream_recv_packet_count(&s), 2);
	assert_int_equal(s.packets_discarded, 2);
	sfu_rtp_stream_recv_fill_report(&s, T0_US, &r);
	assert_int_equal(r.highest_seq, 202);
	assert_int_equal(r.total_lost, 0);
	assert_int_equal(r.fraction_lost, 0);
}

/* Crossing 65535 -> 0 counts a cycle and no loss. */
static void
test_rtp_stream_recv_sequence_wrap(void **state)
{
	struct sfu_rtp_stream_recv s;
	struct sfu_rtp_report r;
	uint32_t k = 0;

	(void)state;
	recv_init(&s, SFU_RTP_STREAM_VIDEO);
	for (k = 65530; k < 65550; k++) {
		assert_true(feed(&s, k)); /* seq is k mod 2^16 */
	}
	assert_int_equal(sfu_rtp_stream_recv_highest_seq(&s), 65549);
	sfu_rtp_stream_recv_fill_report(&s, T0_US, &r);
	assert_int_equal(r.highest_seq, (1u << 16) | 13);
	assert_int_equal(r.total_lost, 0);
	assert_int_equal(r.fraction_lost, 0);
	assert_int_equal(sfu_rtp_stream_recv_packet_count(&s), 20);
}

/* A gap counts as lost; a late packet fills it and counts as reordered. */
static void
test_rtp_stream_recv_loss_and_reorder(void **state)
{
	static const uint32_t seqs[] = {0, 1, 2, 4, 3, 5, 7, 8};
	struct sfu_rtp_stream_recv s;
	size_t i = 0;

	(void)state;
	recv_init(&s, SFU_RTP_STREAM_VIDEO);
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		assert_true(feed(&s, seqs[i]));
	}
	assert_int_equal(sfu_rtp_stream_recv_packets_lost(&s), 1); /* 6 */
	assert_int_equal(s.packets_reordered, 1);
	assert_int_equal(sfu_rtp_stream_recv_packet_count(&s), 8);
	assert_int_equal(sfu_rtp_stream_recv_highest_seq(&s), 8);

	/* The missing one arriving late closes the loss. */
	assert_true(feed(&s, 6));
	assert_int_equal(sfu_rtp_stream_recv_packets_lost(&s), 0);
	assert_int_equal(s.packets_reordered, 2);
}

/* Duplicates are discarded and never make the loss negative. */
static void
test_rtp_stream_recv_duplicate_discarded(void **state)
{
	struct sfu_rtp_stream_recv s;

	(void)state;
	recv_init(&s, SFU_RTP_STREAM_VIDEO);
	assert_true(feed(&s, 0));
	assert_true(feed(&s, 1));
	assert_true(feed(&s, 2));
	assert_false(feed(&s, 2));
	assert_false(feed(&s, 1));
	assert_int_equal(s.packets_duplicated, 2);
	assert_int_equal(s.packets_discarded, 2);
	assert_int_equal(sfu_rtp_stream_recv_packet_count(&s), 3);
	assert_int_equal(sfu_rtp_stream_recv_packets_lost(&s), 0);

	/* Still detected across a wrap of the seen window. */
	assert_true(feed(&s, 3000));
	assert_true(feed(&s, 2500));
	assert_false(feed(&s, 2500));
}

/* A very old or far-ahead packet is discarded; two in a row resync. */
static void
test_rtp_stream_recv_large_jump_discarded_then_resync(void **state)
{
	struct sfu_rtp_stream_recv s;
	struct sfu_rtp_report r;
	uint32_t k = 0;

	(void)state;
	recv_init(&s, SFU_RTP_STREAM_VIDEO);
	for (k = 0; k < 5001; k += 1000) {
		assert_true(feed(&s, k)); /* gaps under MAX_DROPOUT */
	}
	assert_false(feed(&s, 1000 - 900)); /* 4900 behind: very old */
	assert_false(feed(&s, 40000));      /* far ahead */
	assert_int_equal(sfu_rtp_stream_recv_highest_seq(&s), 5000);
	assert_true(feed(&s, 40001)); /* sequential: resync */
	assert_true(feed(&s, 40002));
	assert_int_equal(sfu_rtp_stream_recv_highest_seq(&s), 40002);
	assert_int_equal(sfu_rtp_stream_recv_packets_lost(&s), 0);
	assert_int_equal(s.packets_discarded, 2);
	sfu_rtp_stream_recv_fill_report(&s, T0_US, &r);
	assert_int_equal(r.total_lost, 0);
	assert_int_equal(r.highest_seq, 40002);
	assert_int_equal(sfu_rtp_stream_recv_packet_count(&s), 8);
}

/* --- receiving side: reports --- */

/* fraction_lost covers only the interval since the previous report. */
static void
test_rtp_stream_recv_fraction_lost_per_interval(void **state)
{
	struct sfu_rtp_stream_recv s;
	struct sfu_rtp_report r;
	uint32_t k = 0;

	(void)state;
	recv_init(&s, SFU_RTP_STREAM_VIDEO);
	for (k = 0; k < 100; k++) {
		if (k % 10 != 5) {
			assert_true(feed(&s, k));
		}
	}
	sfu_rtp_stream_recv_fill_report(&s, T0_US, &r);
	assert_int_equal(r.ssrc, SSRC);
	assert_int_equal(r.total_lost, 10);
	assert_int_equal(r.fraction_lost, 10 * 256 / 100);
	assert_int_equal(r.highest_seq, 99);
	assert_int_equal(
	    sfu_rtp_stream_recv_fraction_lost(&s), r.fraction_lost);

	for (k = 100; k < 200; k++) {
		assert_true(feed(&s, k));
	}
	sfu_rtp_stream_recv_fill_report(&s, T0_US, &r);
	assert_int_equal(r.fraction_lost, 0);
	assert_int_equal(r.total_lost, 10);
	assert_int_equal(r.highest_seq, 199);

	for (k = 200; k < 300; k++) {
		if (k % 4 != 0) {
			assert_true(feed(&s, k));
		}
	}
	sfu_rtp_stream_recv_fill_report(&s, T0_US, &r);
	assert_int_equal(r.fraction_lost, 25 * 256 / 100);
	assert_int_equal(r.total_lost, 35);

	/* Nothing in the interval: no loss reported. */
	sfu_rtp_stream_recv_fill_report(&s, T0_US, &r);
	assert_int_equal(r.fraction_lost, 0);
	assert_int_equal(r.total_lost, 35);
}

/* total_lost saturates at the 24-bit maximum; the getter does not. */
static void
test_rtp_stream_recv_total_lost_clamped(void **state)
{
	struct sfu_rtp_stream_recv s;
	struct sfu_rtp_report r;
	uint32_t seq = 0;
	unsigned i = 0;

	(void)state;
	recv_init(&s, SFU_RTP_STREAM_VIDEO);
	assert_true(sfu_rtp_stream_recv_packet(&s, 0, 0, 10, T0_US));
	for (i = 1; i <= 2800; i++) {
		seq += SFU_RTP_STREAM_MAX_DROPOUT - 1;
		assert_true(sfu_rtp_stream_recv_packet(
		    &s, (uint16_t)seq, 0, 10, T0_US + i));
	}
	assert_int_equal(sfu_rtp_stream_recv_packets_lost(&s), 2800 * 2998);
	sfu_rtp_stream_recv_fill_report(&s, T0_US, &r);
	assert_int_equal(r.total_lost, SFU_RTP_REPORT_TOTAL_LOST_MAX);
	assert_int_equal(r.highest_seq, seq);
	assert_int_equal(r.fraction_lost, 255);
}

/* A constant network delay gives zero jitter. */
static void
test_rtp_stream_recv_jitter_zero_for_constant_delay(void **state)
{
	struct sfu_rtp_stream_recv s;
	uint32_t k = 0;

	(void)state;
	sfu_rtp_stream_recv_init(&s, SSRC, 90000, SFU_RTP_STREAM_VIDEO);
	for (k = 0; k < 500; k++) {
		/* 3600 units per 40 ms frame, 37 ms of constant delay */
		assert_true(sfu_rtp_stream_recv_packet(&s, (uint16_t)k,
		    0xfffff000u + k * 3600, 1000,
		    T0_US + 37000 + (uint64_t)k * 40000));
	}
	assert_int_equal(sfu_rtp_stream_recv_jitter(&s), 0);
}

/* Alternating 0/10 ms delay: jitter follows RFC 3550 A.8 towards 10 ms. */
static void
test_rtp_stream_recv_jitter_known_pattern(void **state)
{
	struct sfu_rtp_stream_recv s;
	struct sfu_rtp_report r;
	double ref = 0.0;
	uint32_t k = 0;

	(void)state;
	recv_init(&s, SFU_RTP_STREAM_AUDIO);
	for (k = 0; k < 300; k++) {
		assert_true(sfu_rtp_stream_recv_packet(&s, (uint16_t)k,
		    k * FRAME_TS_8K, 100,
		    T0_US + (uint64_t)k * FRAME_US + (k % 2 ? 10000 : 0)));
		if (k > 0) {
			/* |D| = 10 ms = 80 units at 8 kHz */
			ref += (80.0 - ref) / 16.0;
		}
		if (k == 1) {
			assert_int_equal(sfu_rtp_stream_recv_jitter(&s), 5);
		}
		/* reported as jitter_q4 >> 4: truncated, as in A.8 */
		assert_true((double)sfu_rtp_stream_recv_jitter(&s) > ref - 1.5);
		assert_true((double)sfu_rtp_stream_recv_jitter(&s) < ref + 0.5);
	}
	assert_in_range(sfu_rtp_stream_recv_jitter(&s), 79, 80);
	sfu_rtp_stream_recv_fill_report(&s, T0_US, &r);
	assert_int_equal(r.jitter, sfu_rtp_stream_recv_jitter(&s));
}

/* LSR is the SR's compact NTP and DLSR the wait since, in 1/65536 s. */
static void
test_rtp_stream_recv_lsr_dlsr(void **state)
{
	struct sfu_rtp_stream_recv s;
	struct sfu_rtp_report r;
	uint64_t ntp = sfu_ntp_from_wall_us(WALL0_US);

	(void)state;
	recv_init(&s, SFU_RTP_STREAM_VIDEO);
	assert_true(feed(&s, 0));
	sfu_rtp_stream_recv_fill_report(&s, T0_US, &r);
	assert_int_equal(r.lsr, 0);
	assert_int_equal(r.dlsr, 0);

	sfu_rtp_stream_recv_on_sr(&s, ntp, 12345, T0_US + 1000000);
	sfu_rtp_stream_recv_fill_report(&s, T0_US + 1500000, &r);
	assert_int_equal(r.lsr, (uint32_t)(ntp >> 16));
	assert_int_equal(r.dlsr, 32768);
	sfu_rtp_stream_recv_fill_report(&s, T0_US + 3250000, &r);
	assert_int_equal(r.dlsr, 2 * 65536 + 16384);
}

/* --- RTT --- */

/* SR -> RR through both sides with 20 ms each way gives a 40 ms RTT. */
static void
test_rtp_stream_rtt_round_trip(void **state)
{
	struct sfu_rtp_stream_send tx;
	struct sfu_rtp_stream_recv rx;
	struct sfu_rtp_sr sr;
	struct sfu_rtp_report rr;
	uint32_t rtt_us = 0;
	uint64_t t = T0_US;
	uint64_t wall = WALL0_US;

	(void)state;
	sfu_rtp_stream_send_init(&tx, SSRC, 90000, SFU_RTP_STREAM_VIDEO);
	sfu_rtp_stream_recv_init(&rx, SSRC, 90000, SFU_RTP_STREAM_VIDEO);
	assert_false(sfu_rtp_stream_send_rtt(&tx, &rtt_us));

	sfu_rtp_stream_send_packet(&tx, 1, 1000, 1200, t);
	assert_true(sfu_rtp_stream_recv_packet(&rx, 1, 1000, 1200, t + 20000));
	assert_true(sfu_rtp_stream_send_fill_sr(
	    &tx, t + 5000, sfu_ntp_from_wall_us(wall + 5000), &sr));

	/* SR arrives 20 ms later; the RR leaves 300 ms after that. */
	sfu_rtp_stream_recv_on_sr(&rx, sr.ntp, sr.rtp_ts, t + 25000);
	sfu_rtp_stream_recv_fill_report(&rx, t + 325000, &rr);
	assert_int_equal(rr.lsr, sfu_ntp_compact(sr.ntp));

	/* RR arrives 20 ms later. */
	sfu_rtp_stream_send_on_rr(
	    &tx, &rr, t + 345000, sfu_ntp_from_wall_us(wall + 345000));
	assert_true(sfu_rtp_stream_send_rtt(&tx, &rtt_us));
	assert_in_range(rtt_us, 40000 - 20, 40000 + 20);
}

/* An LSR we do not remember falls back to ntp_now: A - LSR - DLSR. */
static void
test_rtp_stream_send_rtt_from_ntp_now(void **state)
{
	struct sfu_rtp_stream_send s;
	struct sfu_rtp_report rr;
	uint64_t ntp0 = sfu_ntp_from_wall_us(WALL0_US);
	uint32_t rtt_us = 0;

	(void)state;
	sfu_rtp_stream_send_init(&s, SSRC, 90000, SFU_RTP_STREAM_VIDEO);
	memset(&rr, 0, sizeof(rr));
	rr.ssrc = SSRC;
	rr.lsr = sfu_ntp_compact(ntp0);
	rr.dlsr = sfu_ntp_compact_from_us(200000);
	sfu_rtp_stream_send_on_rr(
	    &s, &rr, T0_US, sfu_ntp_from_wall_us(WALL0_US + 250000));
	assert_true(sfu_rtp_stream_send_rtt(&s, &rtt_us));
	assert_in_range(rtt_us, 50000 - 40, 50000 + 40);
}

/* LSR 0, a negative result or another SSRC leave the RTT alone. */
static void
test_rtp_stream_send_rtt_ignores_unusable_reports(void **state)
{
	struct sfu_rtp_stream_send s;
	struct sfu_rtp_sr sr;
	struct sfu_rtp_report rr;
	uint32_t rtt_us = 0;

	(void)state;
	sfu_rtp_stream_send_init(&s, SSRC, 90000, SFU_RTP_STREAM_VIDEO);
	sfu_rtp_stream_send_packet(&s, 1, 1000, 1200, T0_US);
	assert_true(sfu_rtp_stream_send_fill_sr(
	    &s, T0_US, sfu_ntp_from_wall_us(WALL0_US), &sr));

	memset(&rr, 0, sizeof(rr));
	rr.ssrc = SSRC;
	rr.dlsr = 1000;
	sfu_rtp_stream_send_on_rr(
	    &s, &rr, T0_US + 100000, sfu_ntp_from_wall_us(WALL0_US + 100000));
	assert_false(sfu_rtp_stream_send_rtt(&s, &rtt_us));

	/* DLSR longer than the time since the SR. */
	rr.lsr = sfu_ntp_compact(sr.ntp);
	rr.dlsr = sfu_ntp_compact_from_us(200000);
	sfu_rtp_stream_send_on_rr(
	    &s, &rr, T0_US + 100000, sfu_ntp_from_wall_us(WALL0_US + 100000));
	assert_false(sfu_rtp_stream_send_rtt(&s, &rtt_us));

	rr.ssrc = SSRC + 1;
	rr.dlsr = sfu_ntp_compact_from_us(10000);
	rr.total_lost = 77;
	sfu_rtp_stream_send_on_rr(
	    &s, &rr, T0_US + 100000, sfu_ntp_from_wall_us(WALL0_US + 100000));
	assert_false(sfu_rtp_stream_send_rtt(&s, &rtt_us));
	assert_int_equal(sfu_rtp_stream_send_packets_lost(&s), 0);

	rr.ssrc = SSRC;
	rr.fraction_lost = 12;
	sfu_rtp_stream_send_on_rr(
	    &s, &rr, T0_US + 100000, sfu_ntp_from_wall_us(WALL0_US + 100000));
	assert_true(sfu_rtp_stream_send_rtt(&s, &rtt_us));
	assert_in_range(rtt_us, 90000 - 20, 90000 + 20);
	assert_int_equal(sfu_rtp_stream_send_packets_lost(&s), 77);
	assert_int_equal(sfu_rtp_stream_send_fraction_lost(&s), 12);
}

/* --- SR --- */

/* The SR's RTP time extrapolates the newest timestamp by elapsed time. */
static void
test_rtp_stream_send_sr_extrapolation(void **state)
{
	struct sfu_rtp_stream_send s;
	struct sfu_rtp_sr sr;
	uint64_t ntp = sfu_ntp_from_wall_us(WALL0_US);

	(void)state;
	sfu_rtp_stream_send_init(&s, SSRC, 90000, SFU_RTP_STREAM_VIDEO);
	assert_false(sfu_rtp_stream_send_fill_sr(&s, T0_US, ntp, &sr));
	assert_int_equal(sr.ssrc, SSRC);
	assert_int_equal(sr.ntp, ntp);
	assert_int_equal(sr.packet_count, 0);

	sfu_rtp_stream_send_packet(&s, 10, 1000, 1200, T0_US);
	sfu_rtp_stream_send_packet(&s, 11, 1000, 1100, T0_US + 5000);
	assert_true(sfu_rtp_stream_send_fill_sr(&s, T0_US + 500000, ntp, &sr));
	assert_int_equal(sr.rtp_ts, 1000 + 45000);
	assert_int_equal(sr.packet_count, 2);
	assert_int_equal(sr.octet_count, 2300);
	assert_int_equal(sr.ntp, ntp);

	/* An older timestamp (a retransmission) does not move the base. */
	sfu_rtp_stream_send_packet(&s, 9, 500, 1000, T0_US + 600000);
	assert_true(sfu_rtp_stream_send_fill_sr(&s, T0_US + 1000000, ntp, &sr));
	assert_int_equal(sr.rtp_ts, 1000 + 90000);

	/* Timestamps wrap modulo 2^32. */
	sfu_rtp_stream_send_init(&s, SSRC, 48000, SFU_RTP_STREAM_AUDIO);
	sfu_rtp_stream_send_packet(&s, 1, 0xffffff00u, 100, T0_US);
	assert_true(sfu_rtp_stream_send_fill_sr(&s, T0_US + 1000000, ntp, &sr));
	assert_int_equal(sr.rtp_ts, (uint32_t)(0xffffff00u + 48000u));
	sfu_rtp_stream_send_packet(&s, 2, 0x00000100u, 100, T0_US + 2000000);
	assert_true(sfu_rtp_stream_send_fill_sr(&s, T0_US + 2000000, ntp, &sr));
	assert_int_equal(sr.rtp_ts, 0x100);
}

/* --- bitrate --- */

/* Bitrate counts the bytes of the last second only. */
static void
test_rtp_stream_bitrate_window(void **state)
{
	struct sfu_rtp_stream_recv r;
	struct sfu_rtp_stream_send s;
	uint32_t k = 0;

	(void)state;
	recv_init(&r, SFU_RTP_STREAM_VIDEO);
	sfu_rtp_stream_send_init(&s, SSRC, 90000, SFU_RTP_STREAM_VIDEO);
	assert_int_equal(sfu_rtp_stream_recv_bitrate(&r, T0_US), 0);
	for (k = 0; k < 10; k++) {
		assert_true(sfu_rtp_stream_recv_packet(
		    &r, (uint16_t)k, 0, 1000, T0_US + k * 95000));
		sfu_rtp_stream_send_packet(
		    &s, (uint16_t)k, 0, 500, T0_US + k * 95000);
	}
	assert_int_equal(
	    sfu_rtp_stream_recv_bitrate(&r, T0_US + 900000), 80000);
	assert_int_equal(
	    sfu_rtp_stream_send_bitrate(&s, T0_US + 900000), 40000);
	/* At 1.4 s only the packets sent from 0.5 s on remain (k 6..9). */
	assert_int_equal(
	    sfu_rtp_stream_recv_bitrate(&r, T0_US + 1400000), 32000);
	assert_int_equal(sfu_rtp_stream_recv_bitrate(&r, T0_US + 3000000), 0);
	assert_int_equal(sfu_rtp_stream_send_bitrate(&s, T0_US + 3000000), 0);
}

/* --- scores --- */

/* No loss keeps the receive score at 10. */
static void
test_rtp_stream_recv_score_no_loss(void **state)
{
	(void)state;
	assert_int_equal(recv_score_after(lose_none, 10), 10);
}

/* 5% loss in every interval scores 8 (10 * 0.95^4). */
static void
test_rtp_stream_recv_score_5_percent_loss(void **state)
{
	(void)state;
	assert_int_equal(recv_score_after(lose_5_percent, 10), 8);
}

/* 50% loss in every interval scores 1 (10 * 0.5^4). */
static void
test_rtp_stream_recv_score_50_percent_loss(void **state)
{
	(void)state;
	assert_int_equal(recv_score_after(lose_50_percent, 10), 1);
}

/* One interval losing nearly everything lowers the score, not to 0. */
static void
test_rtp_stream_recv_score_one_bad_interval(void **state)
{
	struct sfu_rtp_stream_recv s;
	uint32_t k = 0;
	unsigned n = 0;

	(void)state;
	recv_init(&s, SFU_RTP_STREAM_VIDEO);
	for (n = 0; n < 8; n++) {
		for (k = n * 100; k < (n + 1) * 100; k++) {
			assert_true(feed(&s, k));
		}
		sfu_rtp_stream_recv_update_score(
		    &s, T0_US + (uint64_t)k * FRAME_US);
	}
	assert_int_equal(sfu_rtp_stream_recv_score(&s), 10);

	/* 800..2799 expected, 10 of them received */
	for (k = 2790; k < 2800; k++) {
		assert_true(feed(&s, k));
	}
	sfu_rtp_stream_recv_update_score(&s, T0_US + (uint64_t)k * FRAME_US);
	assert_true(sfu_rtp_stream_recv_score_changed(&s));
	assert_int_equal(sfu_rtp_stream_recv_score(&s), 8); /* 280 / 36 */
	assert_false(sfu_rtp_stream_recv_score_changed(&s));
}

/* Silence longer than the kind's timeout scores 0; a packet restores 10. */
static void
test_rtp_stream_recv_score_silence(void **state)
{
	struct sfu_rtp_stream_recv v;
	struct sfu_rtp_stream_recv a;
	uint64_t last = T0_US + 9 * FRAME_US;
	uint32_t k = 0;

	(void)state;
	recv_init(&v, SFU_RTP_STREAM_VIDEO);
	recv_init(&a, SFU_RTP_STREAM_AUDIO);
	for (k = 0; k < 10; k++) {
		assert_true(feed(&v, k));
		assert_true(feed(&a, k));
	}
	assert_int_equal(sfu_rtp_stream_recv_score(&v), 10);
	assert_int_equal(sfu_rtp_stream_recv_score(&a), 10);

	sfu_rtp_stream_recv_update_score(&v, last + 1000000);
	sfu_rtp_stream_recv_update_score(&a, last + 1000000);
	assert_false(sfu_rtp_stream_recv_score_changed(&v));
	assert_int_equal(sfu_rtp_stream_recv_score(&v), 10);

	sfu_rtp_stream_recv_update_score(&v, last + 2000000);
	sfu_rtp_stream_recv_update_score(&a, last + 2000000);
	assert_true(sfu_rtp_stream_recv_score_changed(&v));
	assert_int_equal(sfu_rtp_stream_recv_score(&v), 0);
	assert_int_equal(sfu_rtp_stream_recv_score(&a), 10); /* DTX */
	sfu_rtp_stream_recv_update_score(&a, last + 6000000);
	assert_int_equal(sfu_rtp_stream_recv_score(&a), 0);

	/* Still 0 on later ticks, back to 10 with the next packet. */
	sfu_rtp_stream_recv_update_score(&v, last + 3000000);
	assert_false(sfu_rtp_stream_recv_score_changed(&v));
	assert_true(sfu_rtp_stream_recv_packet(
	    &v, 10, 10 * FRAME_TS_8K, 100, last + 3000000));
	assert_true(sfu_rtp_stream_recv_score_changed(&v));
	assert_int_equal(sfu_rtp_stream_recv_score(&v), 10);
}

/* Send scores from RR loss: 10, 8 and 1 for 0%, 5% and 50%. */
static void
test_rtp_stream_send_scores(void **state)
{
	struct sfu_rtp_stream_send s;

	(void)state;
	assert_int_equal(send_score_after(0, 10), 10);
	assert_int_equal(send_score_after(5, 10), 8);
	assert_int_equal(send_score_after(50, 10), 1);

	/* A fresh stream scores 10 and no change is pending. */
	sfu_rtp_stream_send_init(&s, SSRC, 90000, SFU_RTP_STREAM_VIDEO);
	assert_false(sfu_rtp_stream_send_score_changed(&s));
	assert_int_equal(sfu_rtp_stream_send_score(&s), 10);
	assert_int_equal(sfu_rtp_stream_send_packet_count(&s), 0);
	assert_int_equal(sfu_rtp_stream_send_byte_count(&s), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rtp_stream_ntp_conversions),
	    cmocka_unit_test(test_rtp_stream_recv_first_packet_accepted),
	    cmocka_unit_test(
	        test_rtp_stream_recv_probation_discards_until_sequential),
	    cmocka_unit_test(test_rtp_stream_recv_sequence_wrap),
	    cmocka_unit_test(test_rtp_stream_recv_loss_and_reorder),
	    cmocka_unit_test(test_rtp_stream_recv_duplicate_discarded),
	    cmocka_unit_test(
	        test_rtp_stream_recv_large_jump_discarded_then_resync),
	    cmocka_unit_test(test_rtp_stream_recv_fraction_lost_per_interval),
	    cmocka_unit_test(test_rtp_stream_recv_total_lost_clamped),
	    cmocka_unit_test(
	        test_rtp_stream_recv_jitter_zero_for_constant_delay),
	    cmocka_unit_test(test_rtp_stream_recv_jitter_known_pattern),
	    cmocka_unit_test(test_rtp_stream_recv_lsr_dlsr),
	    cmocka_unit_test(test_rtp_stream_rtt_round_trip),
	    cmocka_unit_test(test_rtp_stream_send_rtt_from_ntp_now),
	    cmocka_unit_test(test_rtp_stream_send_rtt_ignores_unusable_reports),
	    cmocka_unit_test(test_rtp_stream_send_sr_extrapolation),
	    cmocka_unit_test(test_rtp_stream_bitrate_window),
	    cmocka_unit_test(test_rtp_stream_recv_score_no_loss),
	    cmocka_unit_test(test_rtp_stream_recv_score_5_percent_loss),
	    cmocka_unit_test(test_rtp_stream_recv_score_50_percent_loss),
	    cmocka_unit_test(test_rtp_stream_recv_score_one_bad_interval),
	    cmocka_unit_test(test_rtp_stream_recv_score_silence),
	    cmocka_unit_test(test_rtp_stream_send_scores),
	};

	return cmocka_run_group_tests_name("rtp_stream", tests, NULL, NULL);
}
