/*
 * SPDX-License-Identifier: MIT
 *
 * RTCP compound walking, parsed views, builders and the RFC 3550 appendix
 * A helpers. Every read is checked against the packet's own length (from
 * its common header), which sfu_rtcp_packet_next() has checked against the
 * compound; builders check the caller's capacity before writing a byte.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "worker/rtc/rtcp_packet.h"

#define RTCP_PACKET_FB_LEN 8 /* sender + media SSRC */
#define RTCP_PACKET_SENDER_INFO_LEN 20

static inline uint16_t
rtcp_packet_rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline void
rtcp_packet_wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void
rtcp_packet_wr32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* --- compound iteration --- */

int
sfu_rtcp_packet_next(
    const uint8_t *data, size_t len, size_t *off, struct sfu_rtcp_packet *pkt)
{
	const uint8_t *b = NULL;
	size_t left = 0;
	size_t plen = 0;
	uint8_t pad = 0;

	if (*off >= len) {
		return *off == len ? 0 : -1;
	}
	left = len - *off;
	if (left < SFU_RTCP_PACKET_HEADER_LEN) {
		return -1;
	}
	b = data + *off;
	if ((b[0] >> 6) != 2) {
		return -1;
	}

	/* RFC 3550 6.4.1: length in 32-bit words minus one. */
	plen = 4 * ((size_t)rtcp_packet_rd16(b + 2) + 1);
	if (plen > left) {
		return -1;
	}
	pkt->data = b;
	pkt->len = plen;
	pkt->body = b + SFU_RTCP_PACKET_HEADER_LEN;
	pkt->body_len = plen - SFU_RTCP_PACKET_HEADER_LEN;
	pkt->count = b[0] & 0x1f;
	pkt->type = b[1];
	pkt->padding_len = 0;
	if (b[0] & 0x20) {
		pad = b[plen - 1];
		if (pad == 0 || pad > pkt->body_len) {
			return -1;
		}
		pkt->padding_len = pad;
		pkt->body_len -= pad;
	}
	*off += plen;
	return 1;
}

int
sfu_rtcp_packet_check_compound(const uint8_t *data, size_t len)
{
	struct sfu_rtcp_packet pkt;
	size_t off = 0;
	int n = 0;
	int rc = 0;

	if (len == 0) {
		return -1;
	}
	while ((rc = sfu_rtcp_packet_next(data, len, &off, &pkt)) == 1) {
		n++;
	}
	return rc == 0 ? n : -1;
}

int
sfu_rtcp_packet_foreach(
    const uint8_t *data, size_t len, sfu_rtcp_packet_cb cb, void *ctx)
{
	struct sfu_rtcp_packet pkt;
	size_t off = 0;
	int n = 0;

	n = sfu_rtcp_packet_check_compound(data, len);
	if (n == -1) {
		return -1;
	}
	while (sfu_rtcp_packet_next(data, len, &off, &pkt) == 1) {
		if (!cb(ctx, &pkt)) {
			break;
		}
	}
	return n;
}

enum sfu_rtcp_packet_kind
sfu_rtcp_packet_kind(const struct sfu_rtcp_packet *pkt)
{
	switch (pkt->type) {
	case SFU_RTCP_PACKET_TYPE_SR:
		return SFU_RTCP_PACKET_KIND_SR;
	case SFU_RTCP_PACKET_TYPE_RR:
		return SFU_RTCP_PACKET_KIND_RR;
	case SFU_RTCP_PACKET_TYPE_SDES:
		return SFU_RTCP_PACKET_KIND_SDES;
	case SFU_RTCP_PACKET_TYPE_BYE:
		return SFU_RTCP_PACKET_KIND_BYE;
	case SFU_RTCP_PACKET_TYPE_APP:
		return SFU_RTCP_PACKET_KIND_APP;
	case SFU_RTCP_PACKET_TYPE_XR:
		return SFU_RTCP_PACKET_KIND_XR;
	case SFU_RTCP_PACKET_TYPE_RTPFB:
		if (pkt->count == SFU_RTCP_PACKET_FMT_NACK) {
			return SFU_RTCP_PACKET_KIND_NACK;
		}
		if (pkt->count == SFU_RTCP_PACKET_FMT_TCC) {
			return SFU_RTCP_PACKET_KIND_TCC;
		}
		return SFU_RTCP_PACKET_KIND_RTPFB_OTHER;
	case SFU_RTCP_PACKET_TYPE_PSFB:
		if (pkt->count == SFU_RTCP_PACKET_FMT_PLI) {
			return SFU_RTCP_PACKET_KIND_PLI;
		}
		if (pkt->count == SFU_RTCP_PACKET_FMT_FIR) {
			return SFU_RTCP_PACKET_KIND_FIR;
		}
		if (pkt->count == SFU_RTCP_PACKET_FMT_AFB &&
		    pkt->body_len >= RTCP_PACKET_FB_LEN + 4 &&
		    memcmp(pkt->body + RTCP_PACKET_FB_LEN, "REMB", 4) == 0) {
			return SFU_RTCP_PACKET_KIND_REMB;
		}
		return SFU_RTCP_PACKET_KIND_PSFB_OTHER;
	default:
		return SFU_RTCP_PACKET_KIND_UNKNOWN;
	}
}

/* --- parsed views --- */

static void
rtcp_packet_read_report(const uint8_t *b, struct sfu_rtcp_packet_report *r)
{
	uint32_t lost = 0;

	r->ssrc = sfu_rtcp_packet_read_u32(b);
	r->fraction_lost = b[4];

	/* 24-bit two's complement, sign-extended. */
	lost = (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
	r->cumulative_lost =
	    (lost & 0x800000) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
	r->highest_seq = sfu_rtcp_packet_read_u32(b + 8);
	r->jitter = sfu_rtcp_packet_read_u32(b + 12);
	r->lsr = sfu_rtcp_packet_read_u32(b + 16);
	r->dlsr = sfu_rtcp_packet_read_u32(b + 20);
}

int
sfu_rtcp_packet_parse_sr(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_sr *sr)
{
	const uint8_t *b = pkt->body;
	unsigned i = 0;

	if (pkt->type != SFU_RTCP_PACKET_TYPE_SR ||
	    pkt->body_len <
	        4 + RTCP_PACKET_SENDER_INFO_LEN +
	            (size_t)pkt->count * SFU_RTCP_PACKET_REPORT_LEN) {
		return -1;
	}
	sr->ssrc = sfu_rtcp_packet_read_u32(b);
	sr->ntp = (uint64_t)sfu_rtcp_packet_read_u32(b + 4) << 32 |
	          sfu_rtcp_packet_read_u32(b + 8);
	sr->rtp_timestamp = sfu_rtcp_packet_read_u32(b + 12);
	sr->packet_count = sfu_rtcp_packet_read_u32(b + 16);
	sr->octet_count = sfu_rtcp_packet_read_u32(b + 20);
	sr->report_count = pkt->count;
	for (i = 0; i < pkt->count; i++) {
		rtcp_packet_read_report(
		    b + 24 + SFU_RTCP_PACKET_REPORT_LEN * i, &sr->reports[i]);
	}
	return 0;
}

int
sfu_rtcp_packet_parse_rr(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_rr *rr)
{
	const uint8_t *b = pkt->body;
	unsigned i = 0;

	if (pkt->type != SFU_RTCP_PACKET_TYPE_RR ||
	    pkt->body_len <
	        4 + (size_t)pkt->count * SFU_RTCP_PACKET_REPORT_LEN) {
		return -1;
	}
	rr->ssrc = sfu_rtcp_packet_read_u32(b);
	rr->report_count = pkt->count;
	for (i = 0; i < pkt->count; i++) {
		rtcp_packet_read_report(
		    b + 4 + SFU_RTCP_PACKET_REPORT_LEN * i, &rr->reports[i]);
	}
	return 0;
}

int
sfu_rtcp_packet_parse_sdes(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_sdes *sdes)
{
	const uint8_t *b = pkt->body;
	struct sfu_rtcp_packet_sdes_chunk *c = NULL;
	size_t end = pkt->body_len;
	size_t off = 0;
	uint8_t type = 0;
	uint8_t len = 0;
	unsigned i = 0;

	if (pkt->type != SFU_RTCP_PACKET_TYPE_SDES) {
		return -1;
	}
	sdes->chunk_count = 0;
	for (i = 0; i < pkt->count; i++) {
		if (end - off < 4) {
			return -1;
		}
		c = &sdes->chunks[i];
		c->ssrc = sfu_rtcp_packet_read_u32(b + off);
		c->cname = NULL;
		c->cname_len = 0;
		off += 4;
		for (;;) {
			if (off >= end) {
				return -1; /* no terminating null octet */
			}
			type = b[off];
			if (type == 0) {
				break;
			}
			if (end - off < 2) {
				return -1;
			}
			len = b[off + 1];
			if (len > end - off - 2) {
				return -1;
			}
			if (type == SFU_RTCP_PACKET_SDES_CNAME &&
			    c->cname == NULL) {
				c->cname = b + off + 2;
				c->cname_len = len;
			}
			off += 2 + (size_t)len;
		}

		/*
		 * RFC 3550 6.5: the list ends with a null octet and nulls up
		 * to the next 32-bit boundary; the body starts on one.
		 */
		off = (off + 4) & ~(size_t)3;
		if (off > end) {
			return -1;
		}
		sdes->chunk_count++;
	}
	return 0;
}

int
sfu_rtcp_packet_parse_bye(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_bye *bye)
{
	const uint8_t *b = pkt->body;
	size_t off = 4 * (size_t)pkt->count;
	unsigned i = 0;

	if (pkt->type != SFU_RTCP_PACKET_TYPE_BYE || pkt->body_len < off) {
		return -1;
	}
	bye->ssrc_count = pkt->count;
	for (i = 0; i < pkt->count; i++) {
		bye->ssrcs[i] = sfu_rtcp_packet_read_u32(b + 4 * i);
	}
	bye->reason = NULL;
	bye->reason_len = 0;
	if (pkt->body_len > off) {
		if (b[off] > pkt->body_len - off - 1) {
			return -1;
		}
		bye->reason_len = b[off];
		bye->reason = b + off + 1;
	}
	return 0;
}

int
sfu_rtcp_packet_parse_fb(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_fb *fb)
{
	if ((pkt->type != SFU_RTCP_PACKET_TYPE_RTPFB &&
	        pkt->type != SFU_RTCP_PACKET_TYPE_PSFB) ||
	    pkt->body_len < RTCP_PACKET_FB_LEN) {
		return -1;
	}
	fb->sender_ssrc = sfu_rtcp_packet_read_u32(pkt->body);
	fb->media_ssrc = sfu_rtcp_packet_read_u32(pkt->body + 4);
	fb->fci = pkt->body + RTCP_PACKET_FB_LEN;
	fb->fci_len = pkt->body_len - RTCP_PACKET_FB_LEN;
	return 0;
}

int
sfu_rtcp_packet_parse_nack(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_nack *nack)
{
	struct sfu_rtcp_packet_fb fb;

	if (pkt->type != SFU_RTCP_PACKET_TYPE_RTPFB ||
	    pkt->count != SFU_RTCP_PACKET_FMT_NACK ||
	    sfu_rtcp_packet_parse_fb(pkt, &fb) == -1 || fb.fci_len == 0 ||
	    fb.fci_len % 4 != 0) {
		return -1;
	}
	nack->sender_ssrc = fb.sender_ssrc;
	nack->media_ssrc = fb.media_ssrc;
	nack->items = fb.fci;
	nack->item_count = fb.fci_len / 4;
	return 0;
}

int
sfu_rtcp_packet_parse_pli(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_fb *fb)
{
	if (pkt->type != SFU_RTCP_PACKET_TYPE_PSFB ||
	    pkt->count != SFU_RTCP_PACKET_FMT_PLI ||
	    sfu_rtcp_packet_parse_fb(pkt, fb) == -1 || fb->fci_len != 0) {
		return -1;
	}
	return 0;
}

int
sfu_rtcp_packet_parse_fir(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_fir *fir)
{
	struct sfu_rtcp_packet_fb fb;

	if (pkt->type != SFU_RTCP_PACKET_TYPE_PSFB ||
	    pkt->count != SFU_RTCP_PACKET_FMT_FIR ||
	    sfu_rtcp_packet_parse_fb(pkt, &fb) == -1 || fb.fci_len == 0 ||
	    fb.fci_len % 8 != 0) {
		return -1;
	}
	fir->sender_ssrc = fb.sender_ssrc;
	fir->media_ssrc = fb.media_ssrc;
	fir->entries = fb.fci;
	fir->entry_count = fb.fci_len / 8;
	return 0;
}

int
sfu_rtcp_packet_parse_remb(
    const struct sfu_rtcp_packet *pkt, struct sfu_rtcp_packet_remb *remb)
{
	struct sfu_rtcp_packet_fb fb;
	uint64_t mantissa = 0;
	unsigned exp = 0;
	uint8_t num = 0;

	if (pkt->type != SFU_RTCP_PACKET_TYPE_PSFB ||
	    pkt->count != SFU_RTCP_PACKET_FMT_AFB ||
	    sfu_rtcp_packet_parse_fb(pkt, &fb) == -1 || fb.fci_len < 8 ||
	    memcmp(fb.fci, "REMB", 4) != 0) {
		return -1;
	}

	/* Num SSRC (8 bits), BR Exp (6 bits), BR Mantissa (18 bits). */
	num = fb.fci[4];
	if (fb.fci_len != 8 + 4 * (size_t)num) {
		return -1;
	}
	exp = fb.fci[5] >> 2;
	mantissa = (uint64_t)(fb.fci[5] & 0x03) << 16 |
	           (uint64_t)fb.fci[6] << 8 | fb.fci[7];
	if (mantissa != 0 && exp > 0 && (mantissa << exp) >> exp != mantissa) {
		return -1;
	}
	remb->sender_ssrc = fb.sender_ssrc;
	remb->bitrate_bps = mantissa << exp;
	remb->ssrcs = fb.fci + 8;
	remb->ssrc_count = num;
	return 0;
}

unsigned
sfu_rtcp_packet_nack_item_seqs(
    struct sfu_rtcp_packet_nack_item it, uint16_t seqs[17])
{
	unsigned n = 0;
	unsigned i = 0;

	seqs[n++] = it.pid;
	for (i = 0; i < 16; i++) {
		if (it.blp & (1u << i)) {
			seqs[n++] = (uint16_t)(it.pid + i + 1);
		}
	}
	return n;
}

size_t
sfu_rtcp_packet_nack_pack(const uint16_t *seqs, size_t count,
    struct sfu_rtcp_packet_nack_item *items, size_t max)
{
	size_t n = 0;
	size_t i = 0;
	uint16_t d = 0;

	for (i = 0; i < count; i++) {
		if (n > 0) {
			d = (uint16_t)(seqs[i] - items[n - 1].pid);
			if (d == 0) {
				continue; /* repeated */
			}
			if (d <= 16) {
				items[n - 1].blp |= (uint16_t)(1u << (d - 1));
				continue;
			}
		}
		if (n == max) {
			break;
		}
		items[n].pid = seqs[i];
		items[n].blp = 0;
		n++;
	}
	return n;
}

/* --- builders --- */

/* Writes a common header for a packet of len bytes (a multiple of 4). */
static void
rtcp_packet_write_header(uint8_t *b, uint8_t count, uint8_t type, size_t len)
{
	b[0] = (uint8_t)(0x80 | (count & 0x1f));
	b[1] = type;
	rtcp_packet_wr16(b + 2, (uint16_t)(len / 4 - 1));
}

static void
rtcp_packet_write_report(uint8_t *b, const struct sfu_rtcp_packet_report *r)
{
	int32_t lost = r->cumulative_lost;

	if (lost > 0x7fffff) {
		lost = 0x7fffff;
	} else if (lost < -0x800000) {
		lost = -0x800000;
	}
	rtcp_packet_wr32(b, r->ssrc);
	b[4] = r->fraction_lost;
	b[5] = (uint8_t)((uint32_t)lost >> 16);
	b[6] = (uint8_t)((uint32_t)lost >> 8);
	b[7] = (uint8_t)lost;
	rtcp_packet_wr32(b + 8, r->highest_seq);
	rtcp_packet_wr32(b + 12, r->jitter);
	rtcp_packet_wr32(b + 16, r->lsr);
	rtcp_packet_wr32(b + 20, r->dlsr);
}

size_t
sfu_rtcp_packet_build_sr(
    uint8_t *buf, size_t capacity, const struct sfu_rtcp_packet_sr *sr)
{
	size_t len = 0;
	unsigned i = 0;

	if (sr->report_count > SFU_RTCP_PACKET_MAX_COUNT) {
		return 0;
	}
	len = SFU_RTCP_PACKET_HEADER_LEN + 4 + RTCP_PACKET_SENDER_INFO_LEN +
	      SFU_RTCP_PACKET_REPORT_LEN * (size_t)sr->report_count;
	if (len > capacity) {
		return 0;
	}
	rtcp_packet_write_header(
	    buf, sr->report_count, SFU_RTCP_PACKET_TYPE_SR, len);
	rtcp_packet_wr32(buf + 4, sr->ssrc);
	rtcp_packet_wr32(buf + 8, (uint32_t)(sr->ntp >> 32));
	rtcp_packet_wr32(buf + 12, (uint32_t)sr->ntp);
	rtcp_packet_wr32(buf + 16, sr->rtp_timestamp);
	rtcp_packet_wr32(buf + 20, sr->packet_count);
	rtcp_packet_wr32(buf + 24, sr->octet_count);
	for (i = 0; i < sr->report_count; i++) {
		rtcp_packet_write_report(
		    buf + 28 + SFU_RTCP_PACKET_REPORT_LEN * i, &sr->reports[i]);
	}
	return len;
}

size_t
sfu_rtcp_packet_build_rr(
    uint8_t *buf, size_t capacity, const struct sfu_rtcp_packet_rr *rr)
{
	size_t len = 0;
	unsigned i = 0;

	if (rr->report_count > SFU_RTCP_PACKET_MAX_COUNT) {
		return 0;
	}
	len = SFU_RTCP_PACKET_HEADER_LEN + 4 +
	      SFU_RTCP_PACKET_REPORT_LEN * (size_t)rr->report_count;
	if (len > capacity) {
		return 0;
	}
	rtcp_packet_write_header(
	    buf, rr->report_count, SFU_RTCP_PACKET_TYPE_RR, len);
	rtcp_packet_wr32(buf + 4, rr->ssrc);
	for (i = 0; i < rr->report_count; i++) {
		rtcp_packet_write_report(
		    buf + 8 + SFU_RTCP_PACKET_REPORT_LEN * i, &rr->reports[i]);
	}
	return len;
}

size_t
sfu_rtcp_packet_build_sdes(uint8_t *buf, size_t capacity, uint32_t ssrc,
    const char *cname, size_t cname_len)
{
	size_t items = 0;
	size_t len = 0;

	if (cname_len > 255 || (cname_len > 0 && cname == NULL)) {
		return 0;
	}

	/* SSRC, CNAME item, then 1..4 null octets up to a 32-bit boundary. */
	items = 4 + 2 + cname_len;
	len = SFU_RTCP_PACKET_HEADER_LEN + ((items + 4) & ~(size_t)3);
	if (len > capacity) {
		return 0;
	}
	rtcp_packet_write_header(buf, 1, SFU_RTCP_PACKET_TYPE_SDES, len);
	rtcp_packet_wr32(buf + 4, ssrc);
	buf[8] = SFU_RTCP_PACKET_SDES_CNAME;
	buf[9] = (uint8_t)cname_len;
	if (cname_len > 0) {
		memcpy(buf + 10, cname, cname_len);
	}
	memset(buf + 10 + cname_len, 0, len - 10 - cname_len);
	return len;
}

size_t
sfu_rtcp_packet_build_bye(
    uint8_t *buf, size_t capacity, const uint32_t *ssrcs, unsigned count)
{
	size_t len = 0;
	unsigned i = 0;

	if (count > SFU_RTCP_PACKET_MAX_COUNT || (count > 0 && ssrcs == NULL)) {
		return 0;
	}
	len = SFU_RTCP_PACKET_HEADER_LEN + 4 * (size_t)count;
	if (len > capacity) {
		return 0;
	}
	rtcp_packet_write_header(
	    buf, (uint8_t)count, SFU_RTCP_PACKET_TYPE_BYE, len);
	for (i = 0; i < count; i++) {
		rtcp_packet_wr32(buf + 4 + 4 * i, ssrcs[i]);
	}
	return len;
}

/* Header and the two SSRCs of a feedback message of len bytes. */
static void
rtcp_packet_write_fb(uint8_t *buf, uint8_t type, uint8_t fmt, size_t len,
    uint32_t sender_ssrc, uint32_t media_ssrc)
{
	rtcp_packet_write_header(buf, fmt, type, len);
	rtcp_packet_wr32(buf + 4, sender_ssrc);
	rtcp_packet_wr32(buf + 8, media_ssrc);
}

size_t
sfu_rtcp_packet_build_pli(
    uint8_t *buf, size_t capacity, uint32_t sender_ssrc, uint32_t media_ssrc)
{
	size_t len = SFU_RTCP_PACKET_HEADER_LEN + RTCP_PACKET_FB_LEN;

	if (len > capacity) {
		return 0;
	}
	rtcp_packet_write_fb(buf, SFU_RTCP_PACKET_TYPE_PSFB,
	    SFU_RTCP_PACKET_FMT_PLI, len, sender_ssrc, media_ssrc);
	return len;
}

size_t
sfu_rtcp_packet_build_fir(uint8_t *buf, size_t capacity, uint32_t sender_ssrc,
    uint32_t media_ssrc, uint8_t seq_nr)
{
	size_t len = SFU_RTCP_PACKET_HEADER_LEN + RTCP_PACKET_FB_LEN + 8;

	if (len > capacity) {
		return 0;
	}
	rtcp_packet_write_fb(buf, SFU_RTCP_PACKET_TYPE_PSFB,
	    SFU_RTCP_PACKET_FMT_FIR, len, sender_ssrc, 0);
	rtcp_packet_wr32(buf + 12, media_ssrc);
	buf[16] = seq_nr;
	buf[17] = 0;
	buf[18] = 0;
	buf[19] = 0;
	return len;
}

size_t
sfu_rtcp_packet_build_nack(uint8_t *buf, size_t capacity, uint32_t sender_ssrc,
    uint32_t media_ssrc, const struct sfu_rtcp_packet_nack_item *items,
    size_t count)
{
	size_t len = 0;
	size_t i = 0;

	/* The 16-bit length field bounds the item count. */
	if (count == 0 || items == NULL || count > 65535 - 2) {
		return 0;
	}
	len = SFU_RTCP_PACKET_HEADER_LEN + RTCP_PACKET_FB_LEN + 4 * count;
	if (len > capacity) {
		return 0;
	}
	rtcp_packet_write_fb(buf, SFU_RTCP_PACKET_TYPE_RTPFB,
	    SFU_RTCP_PACKET_FMT_NACK, len, sender_ssrc, media_ssrc);
	for (i = 0; i < count; i++) {
		rtcp_packet_wr16(buf + 12 + 4 * i, items[i].pid);
		rtcp_packet_wr16(buf + 14 + 4 * i, items[i].blp);
	}
	return len;
}

size_t
sfu_rtcp_packet_build_remb(uint8_t *buf, size_t capacity, uint32_t sender_ssrc,
    uint64_t bitrate_bps, const uint32_t *ssrcs, unsigned count)
{
	size_t len = 0;
	unsigned exp = 0;
	uint32_t mantissa = 0;
	unsigned i = 0;

	if (count > 255 || (count > 0 && ssrcs == NULL)) {
		return 0;
	}
	len = SFU_RTCP_PACKET_HEADER_LEN + RTCP_PACKET_FB_LEN + 8 +
	      4 * (size_t)count;
	if (len > capacity) {
		return 0;
	}
	while ((bitrate_bps >> exp) > 0x3ffff) {
		exp++;
	}
	mantissa = (uint32_t)(bitrate_bps >> exp);

	/* The draft sets the media source SSRC to 0. */
	rtcp_packet_write_fb(buf, SFU_RTCP_PACKET_TYPE_PSFB,
	    SFU_RTCP_PACKET_FMT_AFB, len, sender_ssrc, 0);
	memcpy(buf + 12, "REMB", 4);
	buf[16] = (uint8_t)count;
	buf[17] = (uint8_t)(exp << 2 | mantissa >> 16);
	buf[18] = (uint8_t)(mantissa >> 8);
	buf[19] = (uint8_t)mantissa;
	for (i = 0; i < count; i++) {
		rtcp_packet_wr32(buf + 20 + 4 * i, ssrcs[i]);
	}
	return len;
}

/* --- time and statistics --- */

uint64_t
sfu_rtcp_packet_ntp_from_unix_us(uint64_t unix_us)
{
	uint64_t sec = unix_us / 1000000 + SFU_RTCP_PACKET_NTP_UNIX_OFFSET;
	uint64_t frac = ((unix_us % 1000000) << 32) / 1000000;

	return (sec & 0xffffffffu) << 32 | frac;
}

uint64_t
sfu_rtcp_packet_ntp_from_timespec(const struct timespec *ts)
{
	uint64_t sec = (uint64_t)ts->tv_sec + SFU_RTCP_PACKET_NTP_UNIX_OFFSET;
	uint64_t frac = ((uint64_t)ts->tv_nsec << 32) / 1000000000;

	return (sec & 0xffffffffu) << 32 | frac;
}

uint64_t
sfu_rtcp_packet_ntp_to_unix_us(uint64_t ntp)
{
	uint64_t sec = ntp >> 32;
	uint64_t frac = ntp & 0xffffffffu;

	if (sec < SFU_RTCP_PACKET_NTP_UNIX_OFFSET) {
		sec += (uint64_t)1 << 32; /* era 1 */
	}
	sec -= SFU_RTCP_PACKET_NTP_UNIX_OFFSET;
	return sec * 1000000 + ((frac * 1000000 + ((uint64_t)1 << 31)) >> 32);
}

uint32_t
sfu_rtcp_packet_compact_from_us(uint64_t us)
{
	/* UINT32_MAX/65536 s is about 65536 s: beyond, saturate. */
	if (us >= (uint64_t)65536 * 1000000) {
		return UINT32_MAX;
	}
	return (uint32_t)((us << 16) / 1000000);
}

uint64_t
sfu_rtcp_packet_compact_to_us(uint32_t compact)
{
	return ((uint64_t)compact * 1000000 + 0x8000) >> 16;
}

uint64_t
sfu_rtcp_packet_rtt_us(uint32_t now_compact, uint32_t lsr, uint32_t dlsr)
{
	uint32_t rtt = 0;

	if (lsr == 0) {
		return 0;
	}
	rtt = now_compact - lsr - dlsr;
	if ((int32_t)rtt < 0) {
		return 0;
	}
	return sfu_rtcp_packet_compact_to_us(rtt);
}

uint8_t
sfu_rtcp_packet_fraction_lost(
    uint32_t expected_interval, uint32_t received_interval)
{
	uint64_t fraction = 0;
	uint32_t lost = 0;

	if (expected_interval == 0 || received_interval >= expected_interval) {
		return 0;
	}
	lost = expected_interval - received_interval;
	fraction = ((uint64_t)lost << 8) / expected_interval;
	return fraction > 255 ? 255 : (uint8_t)fraction;
}

int32_t
sfu_rtcp_packet_cumulative_lost(uint64_t expected, uint64_t received)
{
	if (expected >= received) {
		return expected - received > 0x7fffff
		           ? 0x7fffff
		           : (int32_t)(expected - received);
	}
	return received - expected > 0x800000 ? -0x800000
	                                      : -(int32_t)(received - expected);
}

uint32_t
sfu_rtcp_packet_jitter_update(
    uint32_t jitter_x16, uint32_t transit, uint32_t prev_transit)
{
	int64_t d = (int32_t)(transit - prev_transit);
	int64_t j = 0;

	if (d < 0) {
		d = -d;
	}

	/* J += (|D| - J) / 16, with J scaled by 16 and rounded (A.8). */
	j = (int64_t)jitter_x16 + d - (((int64_t)jitter_x16 + 8) >> 4);
	return j > UINT32_MAX ? UINT32_MAX : (uint32_t)j;
}
