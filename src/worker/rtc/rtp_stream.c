/*
 * SPDX-License-Identifier: MIT
 *
 * Per-SSRC RTP statistics for producers (recv) and consumers (send):
 * RFC 3550 A.1 sequence validation, A.3 loss, A.8 jitter, SR/RR report
 * blocks and RTT, a 1 s bitrate and mediasoup's 0..10 score. Pure
 * arithmetic on the embedded structs: no allocation, no I/O, no logging.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "worker/rtc/rtp_stream.h"

#define RTP_SEQ_MOD (1u << 16)
#define NTP_UNIX_OFFSET_S 2208988800ULL /* 1900-01-01 to 1970-01-01 */
#define US_PER_S 1000000ULL
#define RATE_SLOT_US 100000ULL /* 100 ms per bucket */

/* --- NTP helpers --- */

uint64_t
sfu_ntp_from_wall_us(uint64_t unix_us)
{
	uint64_t sec = unix_us / US_PER_S + NTP_UNIX_OFFSET_S;
	uint64_t frac = ((unix_us % US_PER_S) << 32) / US_PER_S;

	return (sec << 32) | frac;
}

uint64_t
sfu_ntp_to_wall_us(uint64_t ntp)
{
	uint64_t sec = ntp >> 32;
	uint64_t frac = ntp & 0xffffffffULL;

	if (sec < NTP_UNIX_OFFSET_S) {
		return 0;
	}

	/* Rounded, so that to_wall(from_wall(t)) == t. */
	return (sec - NTP_UNIX_OFFSET_S) * US_PER_S +
	       ((frac * US_PER_S + (1ULL << 31)) >> 32);
}

uint32_t
sfu_ntp_compact(uint64_t ntp)
{
	return (uint32_t)(ntp >> 16);
}

uint32_t
sfu_ntp_compact_from_us(uint64_t us)
{
	/* 2^32 units of 1/65536 s are 65536 s. */
	if (us >= 65536ULL * US_PER_S) {
		return UINT32_MAX;
	}
	return (uint32_t)((us * 65536 + US_PER_S / 2) / US_PER_S);
}

uint64_t
sfu_ntp_compact_to_us(uint32_t compact)
{
	return ((uint64_t)compact * US_PER_S + 32768) >> 16;
}

/* --- shared pieces: rate, score, clock conversion --- */

static void
rtp_stream_rate_init(struct sfu_rtp_stream_rate *r)
{
	size_t i = 0;

	for (i = 0; i < SFU_RTP_STREAM_RATE_BUCKETS; i++) {
		r->slot[i] = UINT64_MAX; /* matches no time */
		r->bytes[i] = 0;
	}
}

static void
rtp_stream_rate_add(
    struct sfu_rtp_stream_rate *r, size_t bytes, uint64_t now_us)
{
	uint64_t slot = now_us / RATE_SLOT_US;
	size_t i = slot % SFU_RTP_STREAM_RATE_BUCKETS;

	if (r->slot[i] != slot) {
		r->slot[i] = slot;
		r->bytes[i] = 0;
	}
	r->bytes[i] += bytes;
}

/*
 * Bytes of the last RATE_BUCKETS slots, the current one included (so the
 * window is 0.9 to 1 s long, as mediasoup's RateCalculator), as bits/s.
 */
static uint32_t
rtp_stream_rate_bps(const struct sfu_rtp_stream_rate *r, uint64_t now_us)
{
	uint64_t slot = now_us / RATE_SLOT_US;
	uint64_t bytes = 0;
	uint64_t bps = 0;
	size_t i = 0;

	for (i = 0; i < SFU_RTP_STREAM_RATE_BUCKETS; i++) {
		if (r->slot[i] <= slot &&
		    slot - r->slot[i] < SFU_RTP_STREAM_RATE_BUCKETS) {
			bytes += r->bytes[i];
		}
	}
	bps =
	    bytes * 8 * US_PER_S / (RATE_SLOT_US * SFU_RTP_STREAM_RATE_BUCKETS);
	return bps > UINT32_MAX ? UINT32_MAX : (uint32_t)bps;
}

/* Forgets the history; v alone stands for it until new intervals come. */
static void
rtp_stream_score_reset(struct sfu_rtp_stream_score *sc, uint8_t v)
{
	sc->history[0] = v;
	sc->count = 1;
	sc->score = v;
}

/*
 * mediasoup's RtpStream::UpdateScore(): the score is the average of the
 * history weighted 1, 2, 3... from the oldest, so a single bad interval
 * lowers it without zeroing it and a recovery shows within a few intervals.
 */
static void
rtp_stream_score_add(struct sfu_rtp_stream_score *sc, uint8_t v)
{
	unsigned total = 0;
	unsigned samples = 0;
	unsigned i = 0;

	if (sc->count == SFU_RTP_STREAM_SCORE_HISTORY) {
		memmove(&sc->history[0], &sc->history[1],
		    SFU_RTP_STREAM_SCORE_HISTORY - 1);
		sc->count--;
	}
	sc->history[sc->count++] = v;
	for (i = 0; i < sc->count; i++) {
		total += (i + 1) * sc->history[i];
		samples += i + 1;
	}
	sc->score = (uint8_t)((2 * total + samples) / (2 * samples));
}

/*
 * One interval's score: 10 * delivered^4, rounded (mediasoup's
 * RtpStreamRecv/RtpStreamSend::UpdateScore without the repair credit):
 * 0% loss 10, 5% 8, 10% 7, 20% 4, 50% 1.
 */
static uint8_t
rtp_stream_score_from_loss(uint64_t total, uint64_t lost)
{
	double d = 0.0;

	if (total == 0) {
		return 10;
	}
	if (lost > total) {
		lost = total;
	}
	d = (double)(total - lost) / (double)total;
	return (uint8_t)(d * d * d * d * 10.0 + 0.5);
}

/* us -> RTP clock units, mod 2^32, without overflowing the product. */
static uint32_t
rtp_stream_us_to_units(uint64_t us, uint32_t clock_rate)
{
	return (uint32_t)((us / US_PER_S) * clock_rate +
	                  (us % US_PER_S) * clock_rate / US_PER_S);
}

/* --- receiving side --- */

static void
recv_seen_set(struct sfu_rtp_stream_recv *s, uint32_t ext)
{
	uint32_t i = ext % SFU_RTP_STREAM_SEQ_WINDOW;

	s->seen[i / 8] |= (uint8_t)(1u << (i % 8));
}

static void
recv_seen_clear(struct sfu_rtp_stream_recv *s, uint32_t ext)
{
	uint32_t i = ext % SFU_RTP_STREAM_SEQ_WINDOW;

	s->seen[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

static bool
recv_seen_test(const struct sfu_rtp_stream_recv *s, uint32_t ext)
{
	uint32_t i = ext % SFU_RTP_STREAM_SEQ_WINDOW;

	return (s->seen[i / 8] & (1u << (i % 8))) != 0;
}

/* RFC 3550 A.1 init_seq(), plus everything counted from the base. */
static void
recv_init_seq(struct sfu_rtp_stream_recv *s, uint16_t seq)
{
	s->base_seq = seq;
	s->max_seq = seq;
	s->bad_seq = RTP_SEQ_MOD + 1; /* so seq == bad_seq is false */
	s->cycles = 0;
	s->received = 0;
	s->received_prior = 0;
	s->expected_prior = 0;
	s->score_expected_prior = 0;
	s->score_received_prior = 0;
	memset(s->seen, 0, sizeof(s->seen));
	s->has_transit = false; /* a restarted source restarts its clock */
}

static uint32_t
recv_ext_max(const struct sfu_rtp_stream_recv *s)
{
	return s->cycles + s->max_seq;
}

static bool
recv_is_valid(const struct sfu_rtp_stream_recv *s)
{
	return s->started && s->probation == 0;
}

/* RFC 3550 A.3 expected, since the last (re)sync. */
static uint32_t
recv_expected(const struct sfu_rtp_stream_recv *s)
{
	if (!recv_is_valid(s)) {
		return 0;
	}
	return recv_ext_max(s) - s->base_seq + 1;
}

/* RFC 3550 A.8, in the integer form of its last paragraph. */
static void
recv_update_jitter(
    struct sfu_rtp_stream_recv *s, uint32_t rtp_ts, uint64_t now_us)
{
	uint32_t transit = 0;
	int64_t d = 0;

	if (s->clock_rate == 0) {
		return;
	}
	transit = rtp_stream_us_to_units(now_us, s->clock_rate) - rtp_ts;
	if (!s->has_transit) {
		s->has_transit = true;
		s->transit = transit;
		return;
	}
	d = (int32_t)(transit - s->transit);
	s->transit = transit;
	if (d < 0) {
		d = -d;
	}
	s->jitter_q4 += (uint64_t)d - ((s->jitter_q4 + 8) >> 4);
}

void
sfu_rtp_stream_recv_init(struct sfu_rtp_stream_recv *s, uint32_t ssrc,
    uint32_t clock_rate, enum sfu_rtp_stream_kind kind)
{
	memset(s, 0, sizeof(*s));
	s->ssrc = ssrc;
	s->clock_rate = clock_rate;
	s->kind = kind;
	s->min_sequential = 1;
	s->bad_seq = RTP_SEQ_MOD + 1;
	rtp_stream_score_reset(&s->score, 0);
	s->score.read = 0;
	rtp_stream_rate_init(&s->rate);
}

void
sfu_rtp_stream_recv_set_probation(
    struct sfu_rtp_stream_recv *s, uint8_t min_sequential)
{
	s->min_sequential = min_sequential == 0 ? 1 : min_sequential;
}

bool
sfu_rtp_stream_recv_packet(struct sfu_rtp_stream_recv *s, uint16_t seq,
    uint32_t rtp_ts, size_t bytes, uint64_t now_us)
{
	uint16_t udelta = 0;
	uint32_t old_ext = 0;
	uint32_t ext = 0;
	uint32_t gap = 0;
	uint32_t i = 0;

	if (!s->started) {
		recv_init_seq(s, seq);
		s->started = true;
		s->max_seq = (uint16_t)(seq - 1);
		s->probation = s->min_sequential;
	}

	/*
	 * RFC 3550 A.1 update_seq(). MIN_SEQUENTIAL 1 (our default) passes
	 * the first packet at once: it is always max_seq + 1.
	 */
	if (s->probation > 0) {
		if (seq == (uint16_t)(s->max_seq + 1)) {
			s->probation--;
			s->max_seq = seq;
			if (s->probation == 0) {
				recv_init_seq(s, seq);
				ext = seq;
				goto accept;
			}
		} else {
			s->probation = (uint8_t)(s->min_sequential - 1);
			s->max_seq = seq;
		}
		goto discard;
	}

	udelta = (uint16_t)(seq - s->max_seq);
	if (udelta == 0) {
		/* The highest packet again: always recorded in seen. */
		s->packets_duplicated++;
		goto discard;
	} else if (udelta < SFU_RTP_STREAM_MAX_DROPOUT) {
		/* In order, with a permissible gap. */
		old_ext = recv_ext_max(s);
		if (seq < s->max_seq) {
			s->cycles += RTP_SEQ_MOD; /* wrapped */
		}
		s->max_seq = seq;
		ext = recv_ext_max(s);

		/* Forget the seqs the window slides over. */
		gap = ext - old_ext;
		if (gap >= SFU_RTP_STREAM_SEQ_WINDOW) {
			memset(s->seen, 0, sizeof(s->seen));
		} else {
			for (i = 1; i <= gap; i++) {
				recv_seen_clear(s, old_ext + i);
			}
		}
	} else if (udelta <= RTP_SEQ_MOD - SFU_RTP_STREAM_MAX_MISORDER) {
		/*
		 * A very large jump. Two in sequence: the source restarted
		 * without telling us, resync on the second.
		 */
		if (seq != s->bad_seq) {
			s->bad_seq = (seq + 1) & (RTP_SEQ_MOD - 1);
			goto discard;
		}
		recv_init_seq(s, seq);
		ext = seq;
	} else {
		/*
		 * Late by less than MAX_MISORDER, so inside the seen window
		 * (a packet from before base_seq maps to a bit above
		 * max_seq, which is clear).
		 */
		ext = recv_ext_max(s) - (uint16_t)(s->max_seq - seq);
		if (recv_seen_test(s, ext)) {
			s->packets_duplicated++;
			goto discard;
		}
		s->packets_reordered++;
	}

accept:
	recv_seen_set(s, ext);
	s->received++;
	s->packet_count++;
	s->byte_count += bytes;
	rtp_stream_rate_add(&s->rate, bytes, now_us);
	recv_update_jitter(s, rtp_ts, now_us);
	s->last_packet_us = now_us;
	if (!s->active) {
		/* mediasoup: back from inactivity at full score. */
		s->active = true;
		rtp_stream_score_reset(&s->score, 10);
	}
	return true;

discard:
	s->packets_discarded++;
	return false;
}

void
sfu_rtp_stream_recv_on_sr(struct sfu_rtp_stream_recv *s, uint64_t ntp,
    uint32_t rtp_ts, uint64_t now_us)
{
	s->has_sr = true;
	s->lsr = sfu_ntp_compact(ntp);
	s->sr_ntp = ntp;
	s->sr_rtp_ts = rtp_ts;
	s->sr_arrival_us = now_us;
}

void
sfu_rtp_stream_recv_fill_report(
    struct sfu_rtp_stream_recv *s, uint64_t now_us, struct sfu_rtp_report *out)
{
	uint32_t expected = recv_expected(s);
	uint32_t expected_interval = 0;
	uint32_t received_interval = 0;
	int64_t lost = 0;
	int64_t lost_interval = 0;
	uint64_t fraction = 0;

	memset(out, 0, sizeof(*out));
	out->ssrc = s->ssrc;

	/* RFC 3550 A.3 */
	if (recv_is_valid(s)) {
		lost = (int64_t)expected - (int64_t)s->received;
		if (lost > SFU_RTP_REPORT_TOTAL_LOST_MAX) {
			lost = SFU_RTP_REPORT_TOTAL_LOST_MAX;
		} else if (lost < SFU_RTP_REPORT_TOTAL_LOST_MIN) {
			lost = SFU_RTP_REPORT_TOTAL_LOST_MIN;
		}
		expected_interval = expected - s->expected_prior;
		s->expected_prior = expected;
		received_interval = s->received - s->received_prior;
		s->received_prior = s->received;
		lost_interval =
		    (int64_t)expected_interval - (int64_t)received_interval;
		if (expected_interval != 0 && lost_interval > 0) {
			fraction =
			    ((uint64_t)lost_interval << 8) / expected_interval;
		}
		s->fraction_lost = fraction > 255 ? 255 : (uint8_t)fraction;

		out->fraction_lost = s->fraction_lost;
		out->total_lost = (int32_t)lost;
		out->highest_seq = recv_ext_max(s);
		out->jitter = sfu_rtp_stream_recv_jitter(s);
	}

	if (s->has_sr) {
		out->lsr = s->lsr;
		out->dlsr = sfu_ntp_compact_from_us(
		    now_us > s->sr_arrival_us ? now_us - s->sr_arrival_us : 0);
	}
}

void
sfu_rtp_stream_recv_update_score(struct sfu_rtp_stream_recv *s, uint64_t now_us)
{
	uint64_t timeout_us = s->kind == SFU_RTP_STREAM_VIDEO
	                          ? SFU_RTP_STREAM_INACTIVE_VIDEO_US
	                          : SFU_RTP_STREAM_INACTIVE_AUDIO_US;
	uint32_t expected_total = 0;
	uint32_t expected = 0;
	uint32_t received = 0;

	if (!s->active) {
		return; /* stays 0 until the next packet */
	}
	if (now_us > s->last_packet_us &&
	    now_us - s->last_packet_us >= timeout_us) {
		s->active = false;
		rtp_stream_score_reset(&s->score, 0);
		return;
	}

	expected_total = recv_expected(s);
	expected = expected_total - s->score_expected_prior;
	received = s->received - s->score_received_prior;
	s->score_expected_prior = expected_total;
	s->score_received_prior = s->received;
	if (expected == 0) {
		return;
	}
	rtp_stream_score_add(
	    &s->score, rtp_stream_score_from_loss(expected,
	                   received >= expected ? 0 : expected - received));
}

uint8_t
sfu_rtp_stream_recv_score(struct sfu_rtp_stream_recv *s)
{
	s->score.read = s->score.score;
	return s->score.score;
}

bool
sfu_rtp_stream_recv_score_changed(const struct sfu_rtp_stream_recv *s)
{
	return s->score.score != s->score.read;
}

uint64_t
sfu_rtp_stream_recv_packet_count(const struct sfu_rtp_stream_recv *s)
{
	return s->packet_count;
}

uint64_t
sfu_rtp_stream_recv_byte_count(const struct sfu_rtp_stream_recv *s)
{
	return s->byte_count;
}

int64_t
sfu_rtp_stream_recv_packets_lost(const struct sfu_rtp_stream_recv *s)
{
	if (!recv_is_valid(s)) {
		return 0;
	}
	return (int64_t)recv_expected(s) - (int64_t)s->received;
}

uint8_t
sfu_rtp_stream_recv_fraction_lost(const struct sfu_rtp_stream_recv *s)
{
	return s->fraction_lost;
}

uint32_t
sfu_rtp_stream_recv_jitter(const struct sfu_rtp_stream_recv *s)
{
	uint64_t j = s->jitter_q4 >> 4;

	return j > UINT32_MAX ? UINT32_MAX : (uint32_t)j;
}

uint32_t
sfu_rtp_stream_recv_highest_seq(const struct sfu_rtp_stream_recv *s)
{
	return recv_is_valid(s) ? recv_ext_max(s) : 0;
}

uint32_t
sfu_rtp_stream_recv_bitrate(
    const struct sfu_rtp_stream_recv *s, uint64_t now_us)
{
	return rtp_stream_rate_bps(&s->rate, now_us);
}

/* --- sending side --- */

void
sfu_rtp_stream_send_init(struct sfu_rtp_stream_send *s, uint32_t ssrc,
    uint32_t clock_rate, enum sfu_rtp_stream_kind kind)
{
	memset(s, 0, sizeof(*s));
	s->ssrc = ssrc;
	s->clock_rate = clock_rate;
	s->kind = kind;
	rtp_stream_score_reset(&s->score, 10);
	s->score.read = 10;
	rtp_stream_rate_init(&s->rate);
}

void
sfu_rtp_stream_send_packet(struct sfu_rtp_stream_send *s, uint16_t seq,
    uint32_t rtp_ts, size_t bytes, uint64_t now_us)
{
	/*
	 * The SR's RTP time extrapolates from the newest timestamp and the
	 * time it was first sent (mediasoup's maxPacketTs/maxPacketMs):
	 * retransmissions and later packets of the same frame move neither.
	 */
	if (!s->has_sent || (int32_t)(rtp_ts - s->max_rtp_ts) > 0) {
		s->max_rtp_ts = rtp_ts;
		s->max_rtp_ts_us = now_us;
	}
	if (!s->has_sent || (int16_t)(seq - s->max_seq) > 0) {
		s->max_seq = seq;
	}
	s->has_sent = true;
	s->packet_count++;
	s->byte_count += bytes;
	rtp_stream_rate_add(&s->rate, bytes, now_us);
}

bool
sfu_rtp_stream_send_fill_sr(struct sfu_rtp_stream_send *s, uint64_t now_us,
    uint64_t ntp_now, struct sfu_rtp_sr *out)
{
	uint64_t elapsed_us = 0;

	memset(out, 0, sizeof(*out));
	out->ssrc = s->ssrc;
	out->ntp = ntp_now;
	if (!s->has_sent) {
		return false;
	}
	if (now_us > s->max_rtp_ts_us) {
		elapsed_us = now_us - s->max_rtp_ts_us;
	}
	out->rtp_ts =
	    s->max_rtp_ts + rtp_stream_us_to_units(elapsed_us, s->clock_rate);
	out->packet_count = (uint32_t)s->packet_count;
	out->octet_count = (uint32_t)s->byte_count;

	s->sr_lsr[s->sr_next] = sfu_ntp_compact(ntp_now);
	s->sr_sent_us[s->sr_next] = now_us;
	s->sr_next = (uint8_t)((s->sr_next + 1) % SFU_RTP_STREAM_SR_HISTORY);
	if (s->sr_count < SFU_RTP_STREAM_SR_HISTORY) {
		s->sr_count++;
	}
	return true;
}

/*
 * RTT per RFC 3550 6.4.1, A - LSR - DLSR. When LSR names an SR we sent, A -
 * LSR is the monotonic time since we sent it, immune to wall-clock steps;
 * otherwise A is ntp_now. Returns false for a negative result.
 */
static bool
send_compute_rtt(const struct sfu_rtp_stream_send *s, uint32_t lsr,
    uint32_t dlsr, uint64_t now_us, uint64_t ntp_now, uint32_t *rtt_us)
{
	uint64_t dlsr_us = sfu_ntp_compact_to_us(dlsr);
	uint64_t elapsed_us = 0;
	uint64_t rtt = 0;
	uint32_t diff = 0;
	unsigned n = 0;
	unsigned i = 0;

	for (n = 0; n < s->sr_count; n++) {
		/* newest first */
		i = (s->sr_next + SFU_RTP_STREAM_SR_HISTORY - 1 - n) %
		    SFU_RTP_STREAM_SR_HISTORY;
		if (s->sr_lsr[i] != lsr) {
			continue;
		}
		if (now_us < s->sr_sent_us[i]) {
			return false;
		}
		elapsed_us = now_us - s->sr_sent_us[i];
		if (elapsed_us < dlsr_us) {
			return false;
		}
		rtt = elapsed_us - dlsr_us;
		*rtt_us = rtt > UINT32_MAX ? UINT32_MAX : (uint32_t)rtt;
		return true;
	}

	diff = sfu_ntp_compact(ntp_now) - lsr - dlsr;
	if ((int32_t)diff < 0) {
		return false;
	}
	*rtt_us = (uint32_t)sfu_ntp_compact_to_us(diff);
	return true;
}

void
sfu_rtp_stream_send_on_rr(struct sfu_rtp_stream_send *s,
    const struct sfu_rtp_report *rr, uint64_t now_us, uint64_t ntp_now)
{
	uint32_t rtt_us = 0;
	uint64_t sent = 0;
	uint32_t total_lost = 0;
	uint32_t lost = 0;

	if (rr->ssrc != s->ssrc) {
		return;
	}

	/* LSR 0: the receiver has no SR from us yet. */
	if (rr->lsr != 0 &&
	    send_compute_rtt(s, rr->lsr, rr->dlsr, now_us, ntp_now, &rtt_us)) {
		s->rtt_us = rtt_us;
		s->has_rtt = true;
	}

	s->packets_lost = rr->total_lost;
	s->fraction_lost = rr->fraction_lost;
	s->remote_jitter = rr->jitter;

	/* mediasoup RtpStreamSend::UpdateScore(), without repairs. */
	sent = s->packet_count - s->score_sent_prior;
	s->score_sent_prior = s->packet_count;
	total_lost = rr->total_lost > 0 ? (uint32_t)rr->total_lost : 0;
	lost = total_lost >= s->score_lost_prior
	           ? total_lost - s->score_lost_prior
	           : 0;
	s->score_lost_prior = total_lost;
	rtp_stream_score_add(&s->score, rtp_stream_score_from_loss(sent, lost));
}

uint8_t
sfu_rtp_stream_send_score(struct sfu_rtp_stream_send *s)
{
	s->score.read = s->score.score;
	return s->score.score;
}

bool
sfu_rtp_stream_send_score_changed(const struct sfu_rtp_stream_send *s)
{
	return s->score.score != s->score.read;
}

uint64_t
sfu_rtp_stream_send_packet_count(const struct sfu_rtp_stream_send *s)
{
	return s->packet_count;
}

uint64_t
sfu_rtp_stream_send_byte_count(const struct sfu_rtp_stream_send *s)
{
	return s->byte_count;
}

int32_t
sfu_rtp_stream_send_packets_lost(const struct sfu_rtp_stream_send *s)
{
	return s->packets_lost;
}

uint8_t
sfu_rtp_stream_send_fraction_lost(const struct sfu_rtp_stream_send *s)
{
	return s->fraction_lost;
}

bool
sfu_rtp_stream_send_rtt(const struct sfu_rtp_stream_send *s, uint32_t *rtt_us)
{
	if (!s->has_rtt) {
		return false;
	}
	*rtt_us = s->rtt_us;
	return true;
}

uint32_t
sfu_rtp_stream_send_bitrate(
    const struct sfu_rtp_stream_send *s, uint64_t now_us)
{
	return rtp_stream_rate_bps(&s->rate, now_us);
}
