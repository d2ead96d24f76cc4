/*
 * SPDX-License-Identifier: MIT
 *
 * Per-SSRC RTP statistics, mediasoup's RtpStreamRecv/RtpStreamSend without
 * the packet handling: sequence validation (RFC 3550 A.1), loss (A.3),
 * interarrival jitter (A.8), SR/RR report blocks with LSR/DLSR and the round
 * trip time (6.4.1), a 1 s bitrate and a 0..10 quality score. Plain values
 * in, plain values out: the structs are embedded by their owner (a producer
 * or consumer), nothing is allocated, nothing is logged, no timer is armed;
 * the owner feeds packets and reports and calls the periodic functions from
 * its own RTCP timer.
 *
 * Units, everywhere in this file:
 *   *_us        microseconds. now_us is a monotonic clock (sfu_clock); only
 *               sfu_ntp_from_wall_us() takes a wall-clock (Unix epoch) time.
 *   ntp         64-bit NTP timestamp: seconds since 1900-01-01 in the high
 *               32 bits, binary fraction of a second in the low 32 bits.
 *   lsr, A      "compact" NTP: the middle 32 bits of an NTP timestamp,
 *               16.16 fixed-point seconds (RFC 3550 6.4.1).
 *   dlsr        1/65536 s.
 *   rtp_ts, jitter
 *               RTP clock units (1/clock_rate s).
 *   bytes       whole RTP packets as passed in (header included).
 *   bitrate     bits per second over the last 1 s.
 *   fraction_lost
 *               lost/expected in 1/256 (8-bit fixed point).
 *   score       0 (nothing arrives) .. 10 (no loss).
 */
#ifndef SFU_WORKER_RTP_STREAM_H
#define SFU_WORKER_RTP_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SFU_RTP_STREAM_RATE_BUCKETS 10 /* of 100 ms: a 1 s window */
#define SFU_RTP_STREAM_SCORE_HISTORY 8 /* intervals averaged */
#define SFU_RTP_STREAM_SEQ_WINDOW 2048 /* seqs kept for duplicates */

/*
 * RFC 3550 A.1 limits, mediasoup's values: MAX_MISORDER is 1500 rather than
 * the RFC's 100 because NACK retransmissions arrive one RTT late and must
 * still be accepted. SEQ_WINDOW must stay above MAX_MISORDER.
 */
#define SFU_RTP_STREAM_MAX_DROPOUT 3000
#define SFU_RTP_STREAM_MAX_MISORDER 1500

/*
 * Silence after which a receive stream is inactive and scores 0
 * (mediasoup: 1.5 s, 5 s with DTX; audio may use DTX, we cannot tell).
 */
#define SFU_RTP_STREAM_INACTIVE_VIDEO_US 1500000ULL
#define SFU_RTP_STREAM_INACTIVE_AUDIO_US 5000000ULL

/* total_lost is a 24-bit signed field on the wire (RFC 3550 6.4.1). */
#define SFU_RTP_REPORT_TOTAL_LOST_MAX 0x7fffff
#define SFU_RTP_REPORT_TOTAL_LOST_MIN (-0x800000)

enum sfu_rtp_stream_kind {
	SFU_RTP_STREAM_AUDIO,
	SFU_RTP_STREAM_VIDEO,
};

/* One RTCP report block (RFC 3550 6.4.1), host byte order. */
struct sfu_rtp_report {
	uint32_t ssrc;         /* source this block is about */
	uint8_t fraction_lost; /* 1/256, since the previous report */
	int32_t total_lost;    /* cumulative, clamped to 24-bit signed */
	uint32_t highest_seq;  /* extended: cycles << 16 | seq */
	uint32_t jitter;       /* RTP clock units */
	uint32_t lsr;          /* compact NTP of the last SR, 0: none yet */
	uint32_t dlsr;         /* 1/65536 s since that SR, 0: none yet */
};

/* The sender info of an RTCP SR (RFC 3550 6.4.1), host byte order. */
struct sfu_rtp_sr {
	uint32_t ssrc;
	uint64_t ntp;          /* 64-bit NTP, wall clock at sending */
	uint32_t rtp_ts;       /* same instant in RTP clock units */
	uint32_t packet_count; /* packets sent, mod 2^32 */
	uint32_t octet_count;  /* bytes sent, mod 2^32 (see send_packet) */
};

/* Bytes per 100 ms slot over the last second. Internal to rtp_stream.c. */
struct sfu_rtp_stream_rate {
	uint64_t slot[SFU_RTP_STREAM_RATE_BUCKETS]; /* now_us / 100 ms */
	uint64_t bytes[SFU_RTP_STREAM_RATE_BUCKETS];
};

/* Score history, oldest first. Internal to rtp_stream.c. */
struct sfu_rtp_stream_score {
	uint8_t history[SFU_RTP_STREAM_SCORE_HISTORY];
	uint8_t count; /* valid entries in history */
	uint8_t score; /* weighted average of history, 0..10 */
	uint8_t read;  /* value the last *_score() call returned */
};

/*
 * Receiving side: one per SSRC of a producer. Embedded by the owner, no
 * free needed. Members may be read (dump, stats), never written but by the
 * functions below.
 */
struct sfu_rtp_stream_recv {
	uint32_t ssrc;
	uint32_t clock_rate; /* Hz */
	enum sfu_rtp_stream_kind kind;

	/* RFC 3550 A.1 */
	bool started;           /* a packet was seen */
	uint8_t min_sequential; /* probation length, >= 1 */
	uint8_t probation;      /* in-order packets still due */
	uint16_t max_seq;       /* highest seq seen */
	uint32_t cycles;        /* seq wraps << 16 */
	uint32_t base_seq;      /* first seq since (re)sync */
	uint32_t bad_seq;       /* seq that would resync, +1 */
	uint32_t received;      /* A.1 count since (re)sync */
	uint8_t seen[SFU_RTP_STREAM_SEQ_WINDOW / 8]; /* bit per ext seq */

	/* cumulative statistics, never reset */
	uint64_t packet_count;       /* packets accepted */
	uint64_t byte_count;         /* bytes accepted */
	uint64_t packets_discarded;  /* false returns, all causes */
	uint64_t packets_duplicated; /* of which duplicates */
	uint64_t packets_reordered;  /* accepted, older than max */

	/* RFC 3550 A.3, advanced by fill_report */
	uint32_t expected_prior;
	uint32_t received_prior;
	uint8_t fraction_lost; /* of the last report */

	/* RFC 3550 A.8 */
	bool has_transit;
	uint32_t transit;   /* clock units, mod 2^32 */
	uint64_t jitter_q4; /* jitter * 16, clock units */

	/* last SR from the source */
	bool has_sr;
	uint32_t lsr;       /* compact NTP */
	uint64_t sr_ntp;    /* 64-bit NTP */
	uint32_t sr_rtp_ts; /* clock units */
	uint64_t sr_arrival_us;

	/* activity and score, advanced by update_score */
	bool active; /* packets arriving */
	uint64_t last_packet_us;
	uint32_t score_expected_prior;
	uint32_t score_received_prior;
	struct sfu_rtp_stream_score score;

	struct sfu_rtp_stream_rate rate;
};

/*
 * Sending side: one per SSRC of a consumer. Embedded by the owner, no free
 * needed; members are read-only outside this module.
 */
#define SFU_RTP_STREAM_SR_HISTORY 4 /* SRs remembered for RTT */

struct sfu_rtp_stream_send {
	uint32_t ssrc;
	uint32_t clock_rate; /* Hz */
	enum sfu_rtp_stream_kind kind;

	bool has_sent;          /* a packet was sent */
	uint16_t max_seq;       /* highest seq sent */
	uint32_t max_rtp_ts;    /* newest RTP timestamp sent */
	uint64_t max_rtp_ts_us; /* when it was sent */
	uint64_t packet_count;
	uint64_t byte_count;

	/* SRs sent, newest at sr_next - 1, for matching an RR's LSR */
	uint32_t sr_lsr[SFU_RTP_STREAM_SR_HISTORY];     /* compact NTP */
	uint64_t sr_sent_us[SFU_RTP_STREAM_SR_HISTORY]; /* monotonic */
	uint8_t sr_next;  /* slot of the next SR */
	uint8_t sr_count; /* valid slots */

	/* from the last RR about this SSRC */
	bool has_rtt;
	uint32_t rtt_us;
	int32_t packets_lost;   /* as reported, 24-bit */
	uint8_t fraction_lost;  /* as reported, 1/256 */
	uint32_t remote_jitter; /* as reported, clock units */

	/* score, advanced by on_rr */
	uint64_t score_sent_prior;
	uint32_t score_lost_prior;
	struct sfu_rtp_stream_score score;

	struct sfu_rtp_stream_rate rate;
};

/* --- NTP helpers --- */

/* Unix time in us -> 64-bit NTP (epoch 1900). */
uint64_t sfu_ntp_from_wall_us(uint64_t unix_us);
/* 64-bit NTP -> Unix time in us (0 for NTP times before 1970). */
uint64_t sfu_ntp_to_wall_us(uint64_t ntp);
/* Middle 32 bits of a 64-bit NTP time: the compact form LSR uses. */
uint32_t sfu_ntp_compact(uint64_t ntp);
/* A duration in us -> 1/65536 s (DLSR units), saturating at UINT32_MAX. */
uint32_t sfu_ntp_compact_from_us(uint64_t us);
/* A duration in 1/65536 s -> us. */
uint64_t sfu_ntp_compact_to_us(uint32_t compact);

/* --- receiving side --- */

/*
 * Resets s for a stream of that SSRC, clock rate (Hz, 0 disables jitter)
 * and kind (which sets the inactivity timeout). The score is 0 until the
 * first packet, then 10. Probation is 1 packet: sfud learns SSRCs from
 * signalling, so the first packet is accepted (mediasoup); see
 * set_probation for RFC 3550's unsignalled sources.
 */
void sfu_rtp_stream_recv_init(struct sfu_rtp_stream_recv *s, uint32_t ssrc,
    uint32_t clock_rate, enum sfu_rtp_stream_kind kind);
/*
 * RFC 3550 A.1 MIN_SEQUENTIAL: that many packets in sequence (1..255) are
 * needed before the source is valid; the ones before are discarded. The RFC
 * uses 2. Call before the first packet.
 */
void sfu_rtp_stream_recv_set_probation(
    struct sfu_rtp_stream_recv *s, uint8_t min_sequential);
/*
 * Accounts one RTP packet (bytes: its whole length) that arrived at now_us.
 * Returns false if it must be discarded: during probation, a duplicate of a
 * packet in the last SEQ_WINDOW, or a jump larger than MAX_DROPOUT ahead /
 * MAX_MISORDER behind (two such packets in sequence resync the stream, the
 * second is accepted). Discarded packets change no statistic but the
 * discard counters.
 */
bool sfu_rtp_stream_recv_packet(struct sfu_rtp_stream_recv *s, uint16_t seq,
    uint32_t rtp_ts, size_t bytes, uint64_t now_us);
/*
 * Records an SR from the source: ntp (64-bit) and rtp_ts are its sender
 * info, now_us its arrival. Later reports carry LSR = compact(ntp) and the
 * DLSR since now_us.
 */
void sfu_rtp_stream_recv_on_sr(struct sfu_rtp_stream_recv *s, uint64_t ntp,
    uint32_t rtp_ts, uint64_t now_us);
/*
 * Fills *out with a report block about this source as of now_us and starts
 * a new loss interval (the next fraction_lost covers the packets after this
 * call). Call once per RTCP report sent.
 */
void sfu_rtp_stream_recv_fill_report(
    struct sfu_rtp_stream_recv *s, uint64_t now_us, struct sfu_rtp_report *out);
/*
 * Closes a score interval at now_us: no packet for the kind's inactivity
 * timeout sets the score to 0 (the next packet sets it back to 10);
 * otherwise the interval's loss adds 10 * (1 - loss)^4, rounded, to the
 * history, whose weighted average (newer weighs more) is the score. An
 * interval in which nothing was expected changes nothing. Call periodically
 * (e.g. every second, from the RTCP timer); independent of fill_report.
 */
void sfu_rtp_stream_recv_update_score(
    struct sfu_rtp_stream_recv *s, uint64_t now_us);
/* Current score, 0..10; marks it read for score_changed. */
uint8_t sfu_rtp_stream_recv_score(struct sfu_rtp_stream_recv *s);
/* True if the score differs from what sfu_rtp_stream_recv_score() last
 * returned (or from 0 if it was never called). */
bool sfu_rtp_stream_recv_score_changed(const struct sfu_rtp_stream_recv *s);

uint64_t sfu_rtp_stream_recv_packet_count(const struct sfu_rtp_stream_recv *s);
uint64_t sfu_rtp_stream_recv_byte_count(const struct sfu_rtp_stream_recv *s);
/* Cumulative expected - received since the last (re)sync; < 0 is possible
 * (RFC 3550 A.3: late packets from before the first one). */
int64_t sfu_rtp_stream_recv_packets_lost(const struct sfu_rtp_stream_recv *s);
/* fraction_lost of the last fill_report, 1/256. */
uint8_t sfu_rtp_stream_recv_fraction_lost(const struct sfu_rtp_stream_recv *s);
/* Interarrival jitter, RTP clock units. */
uint32_t sfu_rtp_stream_recv_jitter(const struct sfu_rtp_stream_recv *s);
/* Extended highest sequence number (cycles << 16 | max seq). */
uint32_t sfu_rtp_stream_recv_highest_seq(const struct sfu_rtp_stream_recv *s);
/* Bits per second accepted over the last second before now_us. */
uint32_t sfu_rtp_stream_recv_bitrate(
    const struct sfu_rtp_stream_recv *s, uint64_t now_us);

/* --- sending side --- */

/* Resets s for a stream of that SSRC, clock rate (Hz) and kind. Score 10. */
void sfu_rtp_stream_send_init(struct sfu_rtp_stream_send *s, uint32_t ssrc,
    uint32_t clock_rate, enum sfu_rtp_stream_kind kind);
/*
 * Accounts one RTP packet sent at now_us (bytes: its whole length). Its
 * rtp_ts becomes the base of SR extrapolation. The SR octet count is the sum
 * of these bytes, as mediasoup sends it; RFC 3550 counts payload octets only.
 */
void sfu_rtp_stream_send_packet(struct sfu_rtp_stream_send *s, uint16_t seq,
    uint32_t rtp_ts, size_t bytes, uint64_t now_us);
/*
 * Fills *out with the sender info of an SR sent now: ntp_now (64-bit NTP of
 * the wall clock) and the RTP time of the same instant, extrapolated from
 * the last packet's rtp_ts by the monotonic time elapsed since (now_us).
 * Remembers compact(ntp_now) and now_us to compute the RTT from the RR that
 * answers it. Returns false, *out holding only ssrc and ntp, if no packet
 * was sent yet (RFC 3550 6.4: such a participant sends no SR).
 */
bool sfu_rtp_stream_send_fill_sr(struct sfu_rtp_stream_send *s, uint64_t now_us,
    uint64_t ntp_now, struct sfu_rtp_sr *out);
/*
 * Takes a report block about this stream, received at now_us / ntp_now
 * (64-bit NTP of the wall clock). A block for another SSRC is ignored. With
 * LSR != 0 it updates the RTT (RFC 3550 6.4.1: A - LSR - DLSR), from the
 * monotonic time of the SR it names if remembered, else from ntp_now; a
 * negative result leaves the RTT unchanged. Records lost/fraction/jitter
 * and adds an interval to the score: packets sent since the previous block
 * vs. the growth of total_lost (nothing sent scores 10, as mediasoup).
 */
void sfu_rtp_stream_send_on_rr(struct sfu_rtp_stream_send *s,
    const struct sfu_rtp_report *rr, uint64_t now_us, uint64_t ntp_now);
/* Current score, 0..10; marks it read for score_changed. */
uint8_t sfu_rtp_stream_send_score(struct sfu_rtp_stream_send *s);
/* True if the score differs from what sfu_rtp_stream_send_score() last
 * returned (or from 10 if it was never called). */
bool sfu_rtp_stream_send_score_changed(const struct sfu_rtp_stream_send *s);

uint64_t sfu_rtp_stream_send_packet_count(const struct sfu_rtp_stream_send *s);
uint64_t sfu_rtp_stream_send_byte_count(const struct sfu_rtp_stream_send *s);
/* total_lost of the last RR (24-bit signed). */
int32_t sfu_rtp_stream_send_packets_lost(const struct sfu_rtp_stream_send *s);
/* fraction_lost of the last RR, 1/256. */
uint8_t sfu_rtp_stream_send_fraction_lost(const struct sfu_rtp_stream_send *s);
/* Round trip time in us; false (and *rtt_us untouched) if none yet. */
bool sfu_rtp_stream_send_rtt(
    const struct sfu_rtp_stream_send *s, uint32_t *rtt_us);
/* Bits per second sent over the last second before now_us. */
uint32_t sfu_rtp_stream_send_bitrate(
    const struct sfu_rtp_stream_send *s, uint64_t now_us);

#endif /* SFU_WORKER_RTP_STREAM_H */
