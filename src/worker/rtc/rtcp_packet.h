/*
 * SPDX-License-Identifier: MIT
 *
 * RTCP packets: walking a compound packet (RFC 3550 6.1) one common header
 * at a time with strict bounds, parsed views of SR, RR, SDES (CNAME), BYE
 * (RFC 3550 6.4-6.6), generic NACK and PLI (RFC 4585 6.2.1, 6.3.1), FIR
 * (RFC 5104 4.3.1) and REMB (draft-alvestrand-rmcat-remb), recognising
 * transport-cc, APP and XR so that callers can pass over them; builders for
 * the packets an SFU sends, into a caller's buffer with capacity checks;
 * and the small pure functions of RFC 3550 appendix A that receiver
 * statistics need (NTP time, fraction lost, cumulative lost, jitter).
 * Views borrow the packet bytes; nothing here allocates.
 */
#ifndef SFU_WORKER_RTCP_PACKET_H
#define SFU_WORKER_RTCP_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SFU_RTCP_PACKET_HEADER_LEN 4
#define SFU_RTCP_PACKET_MAX_COUNT 31  /* RC/SC: 5 bits */
#define SFU_RTCP_PACKET_REPORT_LEN 24 /* one report block */

/* Packet types (RFC 3550 12.1, RFC 4585 6.1, RFC 3611 2). */
#define SFU_RTCP_PACKET_TYPE_SR 200
#define SFU_RTCP_PACKET_TYPE_RR 201
#define SFU_RTCP_PACKET_TYPE_SDES 202
#define SFU_RTCP_PACKET_TYPE_BYE 203
#define SFU_RTCP_PACKET_TYPE_APP 204
#define SFU_RTCP_PACKET_TYPE_RTPFB 205
#define SFU_RTCP_PACKET_TYPE_PSFB 206
#define SFU_RTCP_PACKET_TYPE_XR 207

/* Feedback message types (FMT) of RTPFB and PSFB. */
#define SFU_RTCP_PACKET_FMT_NACK 1 /* RTPFB, RFC 4585 6.2.1 */
#define SFU_RTCP_PACKET_FMT_TCC 15 /* RTPFB, transport-cc */
#define SFU_RTCP_PACKET_FMT_PLI 1  /* PSFB, RFC 4585 6.3.1 */
#define SFU_RTCP_PACKET_FMT_FIR 4  /* PSFB, RFC 5104 4.3.1 */
#define SFU_RTCP_PACKET_FMT_AFB 15 /* PSFB, RFC 4585 6.4 */

#define SFU_RTCP_PACKET_SDES_CNAME 1 /* SDES item type */

/* Seconds from the NTP epoch (1900) to the Unix epoch (1970). */
#define SFU_RTCP_PACKET_NTP_UNIX_OFFSET 2208988800u

/* What a packet is, for dispatch (sfu_rtcp_packet_kind()). */
enum sfu_rtcp_packet_kind {
	SFU_RTCP_PACKET_KIND_UNKNOWN = 0,
	SFU_RTCP_PACKET_KIND_SR,
	SFU_RTCP_PACKET_KIND_RR,
	SFU_RTCP_PACKET_KIND_SDES,
	SFU_RTCP_PACKET_KIND_BYE,
	SFU_RTCP_PACKET_KIND_APP, /* recognised, not parsed */
	SFU_RTCP_PACKET_KIND_XR,  /* recognised, not parsed */
	SFU_RTCP_PACKET_KIND_NACK,
	SFU_RTCP_PACKET_KIND_TCC, /* recognised, not parsed */
	SFU_RTCP_PACKET_KIND_RTPFB_OTHER,
	SFU_RTCP_PACKET_KIND_PLI,
	SFU_RTCP_PACKET_KIND_FIR,
	SFU_RTCP_PACKET_KIND_REMB,
	SFU_RTCP_PACKET_KIND_PSFB_OTHER,
};

/* One packet of a compound: its common header and where its body lies. */
struct sfu_rtcp_packet {
	const uint8_t *data; /* borrowed: the packet's first byte */
	size_t len;          /* 4 * (length + 1): header, body, padding */
	const uint8_t *body; /* borrowed: data + 4 */
	size_t body_len;     /* bytes after the header, padding excluded */
	uint8_t count;       /* RC, SC or FMT: 5 bits */
	uint8_t type;        /* packet type */
	uint8_t padding_len; /* 0, or padding bytes incl. count byte */
};

/* A report block (RFC 3550 6.4.1). */
struct sfu_rtcp_packet_report {
	uint32_t ssrc;           /* source reported on */
	uint8_t fraction_lost;   /* 1/256ths since the last report */
	int32_t cumulative_lost; /* 24-bit signed on the wire */
	uint32_t highest_seq;    /* extended highest sequence number */
	uint32_t jitter;         /* timestamp units */
	uint32_t lsr;            /* middle 32 bits of the last SR's NTP */
	uint32_t dlsr;           /* 1/65536 s since that SR */
};

/* Sender report; also the input of sfu_rtcp_packet_build_sr(). */
struct sfu_rtcp_packet_sr {
	uint32_t ssrc;
	uint64_t ntp; /* NTP timestamp, 32.32 fixed point */
	uint32_t rtp_timestamp;
	uint32_t packet_count;
	uint32_t octet_count;
	uint8_t report_count; /* 0..31 */
	struct sfu_rtcp_packet_report reports[SFU_RTCP_PACKET_MAX_COUNT];
};

/* Receiver report; also the input of sfu_rtcp_packet_build_rr(). */
struct sfu_rtcp_packet_rr {
	uint32_t ssrc;
	uint8_t report_count; /* 0..31 */
	struct sfu_rtcp_packet_report reports[SFU_RTCP_PACKET_MAX_COUNT];
};

struct sfu_rtcp_packet_sdes_chunk {
	uint32_t ssrc;
	const uint8_t *cname; /* borrowed, not NUL terminated; NULL if absent */
	uint8_t cname_len;
};

struct sfu_rtcp_packet_sdes {
	uint8_t chunk_count;
	struct sfu_rtcp_packet_sdes_chunk chunks[SFU_RTCP_PACKET_MAX_COUNT];
};

struct sfu_rtcp_packet_bye {
	uint8_t ssrc_count;
	uint32_t ssrcs[SFU_RTCP_PACKET_MAX_COUNT];
	const uint8_t *reason; /* borrowed; NULL if absent */
	uint8_t reason_len;
};

/* Common part of RTPFB and PSFB messages (RFC 4585 6.1). */
struct sfu_rtcp_packet_fb {
	uint32_t sender_ssrc;
	uint32_t media_ssrc;
	const uint8_t *fci; /* borrowed: feedback control information */
	size_t fci_len;
};

/* Generic NACK: item_count FCI entries of (PID, BLP) at items. */
struct sfu_rtcp_packet_nack {
	uint32_t sender_ssrc;
	uint32_t media_ssrc;
	const uint8_t *items; /* borrowed: 4 bytes each */
	size_t item_count;    /* >= 1 */
};

/* One generic NACK entry, as sfu_rtcp_packet_build_nack() takes it. */
struct sfu_rtcp_packet_nack_item {
	uint16_t pid; /* lost packet */
	uint16_t blp; /* bit i set: pid + i + 1 lost too */
};

/* FIR: entry_count FCI entries of (SSRC, seq nr, reserved) at entries. */
struct sfu_rtcp_packet_fir {
	uint32_t sender_ssrc;
	uint32_t media_ssrc;    /* 0 per RFC 5104 4.3.1.2 */
	const uint8_t *entries; /* borrowed: 8 bytes each */
	size_t entry_count;     /* >= 1 */
};

/* REMB: the bitrate and the ssrc_count SSRCs it applies to at ssrcs. */
struct sfu_rtcp_packet_remb {
	uint32_t sender_ssrc;
	uint64_t bitrate_bps; /* mantissa << exp */
	const uint8_t *ssrcs; /* borrowed: 4 bytes each */
	uint8_t ssrc_count;
};

/* A buffer that builders append to, for compound packets. */
struct sfu_rtcp_packet_compound {
	uint8_t *data;   /* borrowed */
	size_t capacity; /* bytes */
	size_t len;      /* bytes written so far */
};

typedef bool (*sfu_rtcp_packet_cb)(
    void *ctx, const struct sfu_rtcp_packet *pkt);

static inline uint32_t
sfu_rtcp_packet_read_u32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

/*
 * RFC 5761 4 and RFC 7983 9: an RTCP packet starts with a byte in 128..191
 * and has its packet type (second byte) in 192..223. Only classifies.
 */
static inline bool
sfu_rtcp_is_rtcp(const uint8_t *data, size_t len)
{
	return len >= SFU_RTCP_PACKET_HEADER_LEN && data[0] >= 128 &&
	       data[0] <= 191 && data[1] >= 192 && data[1] <= 223;
}

/* --- compound iteration --- */

/*
 * Reads the packet at *off in the compound [data, data + len) into pkt and
 * advances *off past it. Returns 1 with pkt filled, 0 when *off == len (no
 * more), -1 when the remaining bytes are malformed: fewer than a header,
 * version not 2, a length running past the end, or a padding count of 0 or
 * larger than the body. Padding is accepted on any packet, not only the
 * last (RFC 3550 6.4.1 asks senders for the last; its bounds are what
 * matter here).
 */
int sfu_rtcp_packet_next(
    const uint8_t *data, size_t len, size_t *off, struct sfu_rtcp_packet *pkt);

/*
 * Checks that [data, data + len) is a non-empty sequence of well-formed
 * common headers whose lengths add up to exactly len. Returns the number
 * of packets, or -1.
 */
int sfu_rtcp_packet_check_compound(const uint8_t *data, size_t len);

/*
 * Checks the whole compound (sfu_rtcp_packet_check_compound()), then calls
 * cb for each packet in order until it returns false. A malformed compound
 * yields no call at all. Returns the number of packets or -1.
 */
int sfu_rtcp_packet_foreach(
    const uint8_t *data, size_t len, sfu_rtcp_packet_cb cb, void *ctx);

/* What pkt is, from its type, FMT and (for AFB) the "REMB" identifier. */
enum sfu_rtcp_packet_kind sfu_rtcp_packet_kind(
    const struct sfu_rtcp_packet *pkt);

/* --- parsed views: each returns 0, or -1 for another type or bad bounds --- */

/*
 * SR: body of at least 24 + 24 * RC bytes; profile-specific extensions
 * after the report blocks are ignored (RFC 3550 6.4.1).
 */
int sfu_rtcp_packet_parse_sr(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_sr *sr);

/* RR: body of at least 4 + 24 * RC bytes. */
int sfu_rtcp_packet_parse_rr(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_rr *rr);

/*
 * SDES: SC chunks, each an SSRC and items up to a null octet, then padding
 * to a 32-bit boundary (RFC 3550 6.5); every item must fit, and each chunk
 * must end inside the body. The first CNAME of each chunk is kept; other
 * items are skipped.
 */
int sfu_rtcp_packet_parse_sdes(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_sdes *sdes);

/* BYE: SC SSRCs and an optional reason that must fit (RFC 3550 6.6). */
int sfu_rtcp_packet_parse_bye(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_bye *bye);

/* Any RTPFB or PSFB: the two SSRCs and the FCI. */
int sfu_rtcp_packet_parse_fb(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_fb *fb);

/* RTPFB FMT 1: at least one item; the FCI a multiple of 4 bytes. */
int sfu_rtcp_packet_parse_nack(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_nack *nack);

/* PSFB FMT 1: RFC 4585 6.3.1 says no FCI, so any FCI is refused. */
int sfu_rtcp_packet_parse_pli(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_fb *fb);

/* PSFB FMT 4: at least one entry; the FCI a multiple of 8 bytes. */
int sfu_rtcp_packet_parse_fir(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_fir *fir);

/*
 * PSFB FMT 15 with "REMB": the FCI exactly 8 + 4 * num SSRC bytes, and a
 * bitrate that fits in 64 bits.
 */
int sfu_rtcp_packet_parse_remb(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_remb *remb);

static inline struct sfu_rtcp_packet_nack_item
sfu_rtcp_packet_nack_get(const struct sfu_rtcp_packet_nack *nack, size_t i)
{
	const uint8_t *b = nack->items + 4 * i;
	struct sfu_rtcp_packet_nack_item it;

	it.pid = (uint16_t)(b[0] << 8 | b[1]);
	it.blp = (uint16_t)(b[2] << 8 | b[3]);
	return it;
}

/* Entry i of a FIR: the SSRC asked for a key frame and the seq nr. */
static inline void
sfu_rtcp_packet_fir_get(const struct sfu_rtcp_packet_fir *fir, size_t i,
    uint32_t *ssrc, uint8_t *seq_nr)
{
	*ssrc = sfu_rtcp_packet_read_u32(fir->entries + 8 * i);
	*seq_nr = fir->entries[8 * i + 4];
}

static inline uint32_t
sfu_rtcp_packet_remb_ssrc(const struct sfu_rtcp_packet_remb *remb, size_t i)
{
	return sfu_rtcp_packet_read_u32(remb->ssrcs + 4 * i);
}

/*
 * The sequence numbers a NACK item names, in order, into seqs (room for
 * 17): its PID, then PID + i + 1 for each bit i of its BLP. Returns how
 * many (1..17).
 */
unsigned sfu_rtcp_packet_nack_item_seqs(
    struct sfu_rtcp_packet_nack_item it, uint16_t seqs[17]);

/*
 * Packs count sequence numbers (in the order given, e.g. ascending with
 * wrap-around) into NACK items: a number within 16 after the current
 * item's PID sets a BLP bit, any other starts a new item. Writes at most
 * max items; returns how many were written, and stops early when out of
 * room (the rest are not reported).
 */
size_t sfu_rtcp_packet_nack_pack(const uint16_t *seqs, size_t count,
    struct sfu_rtcp_packet_nack_item *items, size_t max);

/* --- builders: bytes written, or 0 when it does not fit or is invalid --- */

/* SR with sr->report_count (<= 31) report blocks. */
size_t sfu_rtcp_packet_build_sr(
    uint8_t *buf, size_t capacity, const struct sfu_rtcp_packet_sr *sr);

/* RR with rr->report_count (<= 31) report blocks. */
size_t sfu_rtcp_packet_build_rr(
    uint8_t *buf, size_t capacity, const struct sfu_rtcp_packet_rr *rr);

/* SDES with one chunk holding one CNAME item (cname_len <= 255). */
size_t sfu_rtcp_packet_build_sdes(uint8_t *buf, size_t capacity, uint32_t ssrc,
    const char *cname, size_t cname_len);

/* BYE for count (<= 31) SSRCs, no reason. */
size_t sfu_rtcp_packet_build_bye(
    uint8_t *buf, size_t capacity, const uint32_t *ssrcs, unsigned count);

size_t sfu_rtcp_packet_build_pli(
    uint8_t *buf, size_t capacity, uint32_t sender_ssrc, uint32_t media_ssrc);

/*
 * FIR asking media_ssrc for a key frame with command sequence number
 * seq_nr (RFC 5104 4.3.1.2: the header's media SSRC is 0, the target goes
 * in the FCI; the sender increments seq_nr for each new request).
 */
size_t sfu_rtcp_packet_build_fir(uint8_t *buf, size_t capacity,
    uint32_t sender_ssrc, uint32_t media_ssrc, uint8_t seq_nr);

/* Generic NACK with count (>= 1) items. */
size_t sfu_rtcp_packet_build_nack(uint8_t *buf, size_t capacity,
    uint32_t sender_ssrc, uint32_t media_ssrc,
    const struct sfu_rtcp_packet_nack_item *items, size_t count);

/*
 * REMB for count (<= 255) SSRCs. The bitrate is encoded as an 18-bit
 * mantissa and 6-bit exponent, rounded down when it needs more than 18
 * significant bits.
 */
size_t sfu_rtcp_packet_build_remb(uint8_t *buf, size_t capacity,
    uint32_t sender_ssrc, uint64_t bitrate_bps, const uint32_t *ssrcs,
    unsigned count);

/*
 * Compound building: init over a buffer, then pass tail()/room() to a
 * builder and its result to append(), which returns -1 (leaving len as it
 * was) when the builder wrote nothing because the packet did not fit.
 */
static inline void
sfu_rtcp_packet_compound_init(
    struct sfu_rtcp_packet_compound *c, uint8_t *buf, size_t capacity)
{
	c->data = buf;
	c->capacity = capacity;
	c->len = 0;
}

static inline uint8_t *
sfu_rtcp_packet_compound_tail(const struct sfu_rtcp_packet_compound *c)
{
	return c->data + c->len;
}

static inline size_t
sfu_rtcp_packet_compound_room(const struct sfu_rtcp_packet_compound *c)
{
	return c->capacity - c->len;
}

static inline int
sfu_rtcp_packet_compound_append(struct sfu_rtcp_packet_compound *c, size_t n)
{
	if (n == 0 || n > c->capacity - c->len) {
		return -1;
	}
	c->len += n;
	return 0;
}

/* --- time and statistics (RFC 3550 4, A.3, A.8, 6.4.1) --- */

/*
 * Wall-clock time (microseconds since the Unix epoch, or a CLOCK_REALTIME
 * timespec) to a 64-bit NTP timestamp: seconds since 1900 in the high 32
 * bits (wrapping in 2036 as NTP era 1 does), the fraction in the low 32.
 * SR timestamps must come from the wall clock, not the monotonic one.
 */
uint64_t sfu_rtcp_packet_ntp_from_unix_us(uint64_t unix_us);
uint64_t sfu_rtcp_packet_ntp_from_timespec(const struct timespec *ts);

/*
 * The inverse, to the microsecond; NTP seconds below the Unix epoch offset
 * are read as era 1 (after February 2036).
 */
uint64_t sfu_rtcp_packet_ntp_to_unix_us(uint64_t ntp);

/* The middle 32 bits of an NTP timestamp: an RR's LSR (RFC 3550 6.4.1). */
static inline uint32_t
sfu_rtcp_packet_ntp_compact(uint64_t ntp)
{
	return (uint32_t)(ntp >> 16);
}

/*
 * Durations in 1/65536 s (DLSR, and differences of compact NTP times).
 * from_us saturates at UINT32_MAX (about 18 hours).
 */
uint32_t sfu_rtcp_packet_compact_from_us(uint64_t us);
uint64_t sfu_rtcp_packet_compact_to_us(uint32_t compact);

/*
 * Round-trip time seen by a sender receiving a report block at now_compact
 * (its compact NTP time) with the block's lsr and dlsr (RFC 3550 6.4.1:
 * now - LSR - DLSR). Returns microseconds, or 0 when lsr is 0 (no SR
 * received yet) or the result would be negative (clock steps).
 */
uint64_t sfu_rtcp_packet_rtt_us(
    uint32_t now_compact, uint32_t lsr, uint32_t dlsr);

/*
 * RFC 3550 A.3: fraction lost over an interval, in 1/256ths, from the
 * packets expected (extended highest seq difference) and received in it.
 * 0 when nothing was expected or more arrived than expected (duplicates);
 * 255 at most (all lost would be 256, which the 8-bit field cannot hold).
 */
uint8_t sfu_rtcp_packet_fraction_lost(
    uint32_t expected_interval, uint32_t received_interval);

/*
 * RFC 3550 A.3: cumulative number lost, expected - received, clamped to
 * the 24-bit signed field (-8388608..8388607); negative with duplicates.
 */
int32_t sfu_rtcp_packet_cumulative_lost(uint64_t expected, uint64_t received);

/*
 * RFC 3550 A.8: one step of the interarrival jitter estimate, kept scaled
 * by 16 as the RFC's integer version does. transit = arrival time in
 * timestamp units - the packet's RTP timestamp (mod 2^32); prev_transit
 * the previous packet's. Returns the new jitter_x16; the report block
 * field is jitter_x16 >> 4.
 */
uint32_t sfu_rtcp_packet_jitter_update(
    uint32_t jitter_x16, uint32_t transit, uint32_t prev_transit);

#endif
