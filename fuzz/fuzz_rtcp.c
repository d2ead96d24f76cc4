/*
 * SPDX-License-Identifier: MIT
 *
 * libFuzzer target for worker/rtc/rtcp_packet. The input is one compound
 * RTCP datagram, walked from an exact-size heap copy (so ASan sees any read
 * past the end) with sfu_rtcp_packet_next(), which must agree with
 * sfu_rtcp_packet_check_compound() and sfu_rtcp_packet_foreach(). Each
 * packet is classified and parsed with its view; what parses is built
 * again with the matching builder and parsed back, and must give the same
 * values. The appendix A helpers run on numbers taken from the input.
 * Invariants are checked with __builtin_trap().
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "worker/rtc/rtcp_packet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_rtcp_check(bool ok)
{
	if (!ok) {
		__builtin_trap();
	}
}

/* Parses the single packet built into [b, b + len). */
static void
fuzz_rtcp_reparse(const uint8_t *b, size_t len, struct sfu_rtcp_packet *pkt)
{
	size_t off = 0;

	fuzz_rtcp_check(len > 0);
	fuzz_rtcp_check(sfu_rtcp_packet_next(b, len, &off, pkt) == 1);
	fuzz_rtcp_check(off == len);
}

static bool
fuzz_rtcp_same_reports(const struct sfu_rtcp_packet_report *a,
    const struct sfu_rtcp_packet_report *b, unsigned count)
{
	unsigned i = 0;

	for (i = 0; i < count; i++) {
		if (a[i].ssrc != b[i].ssrc ||
		    a[i].fraction_lost != b[i].fraction_lost ||
		    a[i].cumulative_lost != b[i].cumulative_lost ||
		    a[i].highest_seq != b[i].highest_seq ||
		    a[i].jitter != b[i].jitter || a[i].lsr != b[i].lsr ||
		    a[i].dlsr != b[i].dlsr) {
			return false;
		}
	}
	return true;
}

static void
fuzz_rtcp_sr_rr(const struct sfu_rtcp_packet *pkt, uint8_t *out, size_t cap)
{
	static struct sfu_rtcp_packet_sr sr, sr2;
	static struct sfu_rtcp_packet_rr rr, rr2;
	struct sfu_rtcp_packet q;
	size_t len = 0;

	if (sfu_rtcp_packet_parse_sr(pkt, &sr) == 0) {
		fuzz_rtcp_check(sr.report_count == pkt->count);
		len = sfu_rtcp_packet_build_sr(out, cap, &sr);
		fuzz_rtcp_reparse(out, len, &q);
		fuzz_rtcp_check(sfu_rtcp_packet_parse_sr(&q, &sr2) == 0);
		fuzz_rtcp_check(sr2.ssrc == sr.ssrc && sr2.ntp == sr.ntp &&
		                sr2.rtp_timestamp == sr.rtp_timestamp &&
		                sr2.packet_count == sr.packet_count &&
		                sr2.octet_count == sr.octet_count &&
		                sr2.report_count == sr.report_count);
		fuzz_rtcp_check(fuzz_rtcp_same_reports(
		    sr.reports, sr2.reports, sr.report_count));
	}
	if (sfu_rtcp_packet_parse_rr(pkt, &rr) == 0) {
		len = sfu_rtcp_packet_build_rr(out, cap, &rr);
		fuzz_rtcp_reparse(out, len, &q);
		fuzz_rtcp_check(sfu_rtcp_packet_parse_rr(&q, &rr2) == 0);
		fuzz_rtcp_check(
		    rr2.ssrc == rr.ssrc && rr2.report_count == rr.report_count);
		fuzz_rtcp_check(fuzz_rtcp_same_reports(
		    rr.reports, rr2.reports, rr.report_count));
	}
}

static void
fuzz_rtcp_sdes_bye(const struct sfu_rtcp_packet *pkt, uint8_t *out, size_t cap)
{
	static struct sfu_rtcp_packet_sdes sdes, sdes2;
	static struct sfu_rtcp_packet_bye bye, bye2;
	const struct sfu_rtcp_packet_sdes_chunk *c = NULL;
	struct sfu_rtcp_packet q;
	size_t len = 0;
	unsigned i = 0;

	if (sfu_rtcp_packet_parse_sdes(pkt, &sdes) == 0) {
		fuzz_rtcp_check(sdes.chunk_count == pkt->count);
		for (i = 0; i < sdes.chunk_count; i++) {
			c = &sdes.chunks[i];
			if (c->cname == NULL) {
				continue;
			}
			fuzz_rtcp_check(c->cname >= pkt->body &&
			                c->cname + c->cname_len <=
			                    pkt->body + pkt->body_len);
			len = sfu_rtcp_packet_build_sdes(out, cap, c->ssrc,
			    (const char *)c->cname, c->cname_len);
			fuzz_rtcp_reparse(out, len, &q);
			fuzz_rtcp_check(
			    sfu_rtcp_packet_parse_sdes(&q, &sdes2) == 0);
			fuzz_rtcp_check(
			    sdes2.chunk_count == 1 &&
			    sdes2.chunks[0].ssrc == c->ssrc &&
			    sdes2.chunks[0].cname_len == c->cname_len &&
			    memcmp(sdes2.chunks[0].cname, c->cname,
			        c->cname_len) == 0);
		}
	}
	if (sfu_rtcp_packet_parse_bye(pkt, &bye) == 0) {
		fuzz_rtcp_check(
		    bye.reason == NULL ||
		    bye.reason + bye.reason_len <= pkt->body + pkt->body_len);
		len = sfu_rtcp_packet_build_bye(
		    out, cap, bye.ssrcs, bye.ssrc_count);
		fuzz_rtcp_reparse(out, len, &q);
		fuzz_rtcp_check(sfu_rtcp_packet_parse_bye(&q, &bye2) == 0);
		fuzz_rtcp_check(bye2.ssrc_count == bye.ssrc_count &&
		                memcmp(bye2.ssrcs, bye.ssrcs,
		                    4 * (size_t)bye.ssrc_count) == 0);
	}
}

static void
fuzz_rtcp_nack(const struct sfu_rtcp_packet *pkt, uint8_t *out, size_t cap)
{
	struct sfu_rtcp_packet_nack nack, nack2;
	struct sfu_rtcp_packet_nack_item *items = NULL;
	struct sfu_rtcp_packet_nack_item it;
	struct sfu_rtcp_packet_nack_item packed[17];
	struct sfu_rtcp_packet q;
	uint16_t seqs[17];
	unsigned n = 0;
	size_t len = 0;
	size_t i = 0;

	if (sfu_rtcp_packet_parse_nack(pkt, &nack) == -1) {
		return;
	}
	fuzz_rtcp_check(
	    nack.item_count >= 1 &&
	    nack.items + 4 * nack.item_count <= pkt->body + pkt->body_len);
	items = malloc(nack.item_count * sizeof(*items));
	if (items == NULL) {
		return;
	}
	for (i = 0; i < nack.item_count; i++) {
		items[i] = sfu_rtcp_packet_nack_get(&nack, i);

		/* An item's numbers pack back into that one item. */
		n = sfu_rtcp_packet_nack_item_seqs(items[i], seqs);
		fuzz_rtcp_check(n >= 1 && n <= 17 && seqs[0] == items[i].pid);
		fuzz_rtcp_check(
		    sfu_rtcp_packet_nack_pack(seqs, n, packed, 17) == 1);
		fuzz_rtcp_check(packed[0].pid == items[i].pid &&
		                packed[0].blp == items[i].blp);
	}
	len = sfu_rtcp_packet_build_nack(out, cap, nack.sender_ssrc,
	    nack.media_ssrc, items, nack.item_count);
	fuzz_rtcp_reparse(out, len, &q);
	fuzz_rtcp_check(sfu_rtcp_packet_parse_nack(&q, &nack2) == 0);
	fuzz_rtcp_check(nack2.sender_ssrc == nack.sender_ssrc &&
	                nack2.media_ssrc == nack.media_ssrc &&
	                nack2.item_count == nack.item_count);
	for (i = 0; i < nack.item_count; i++) {
		it = sfu_rtcp_packet_nack_get(&nack2, i);
		fuzz_rtcp_check(
		    it.pid == items[i].pid && it.blp == items[i].blp);
	}
	free(items);
}

static void
fuzz_rtcp_psfb(const struct sfu_rtcp_packet *pkt, uint8_t *out, size_t cap)
{
	struct sfu_rtcp_packet_fb fb, fb2;
	struct sfu_rtcp_packet_fir fir, fir2;
	struct sfu_rtcp_packet_remb remb, remb2;
	struct sfu_rtcp_packet q;
	uint32_t *ssrcs = NULL;
	uint32_t ssrc = 0;
	uint32_t ssrc2 = 0;
	uint8_t seq = 0;
	uint8_t seq2 = 0;
	size_t len = 0;
	size_t i = 0;

	if (sfu_rtcp_packet_parse_pli(pkt, &fb) == 0) {
		fuzz_rtcp_check(fb.fci_len == 0);
		len = sfu_rtcp_packet_build_pli(
		    out, cap, fb.sender_ssrc, fb.media_ssrc);
		fuzz_rtcp_reparse(out, len, &q);
		fuzz_rtcp_check(sfu_rtcp_packet_parse_pli(&q, &fb2) == 0);
		fuzz_rtcp_check(fb2.sender_ssrc == fb.sender_ssrc &&
		                fb2.media_ssrc == fb.media_ssrc);
	}
	if (sfu_rtcp_packet_parse_fir(pkt, &fir) == 0) {
		for (i = 0; i < fir.entry_count; i++) {
			sfu_rtcp_packet_fir_get(&fir, i, &ssrc, &seq);
			len = sfu_rtcp_packet_build_fir(
			    out, cap, fir.sender_ssrc, ssrc, seq);
			fuzz_rtcp_reparse(out, len, &q);
			fuzz_rtcp_check(
			    sfu_rtcp_packet_parse_fir(&q, &fir2) == 0);
			fuzz_rtcp_check(fir2.entry_count == 1 &&
			                fir2.sender_ssrc == fir.sender_ssrc);
			sfu_rtcp_packet_fir_get(&fir2, 0, &ssrc2, &seq2);
			fuzz_rtcp_check(ssrc2 == ssrc && seq2 == seq);
		}
	}
	if (sfu_rtcp_packet_parse_remb(pkt, &remb) == 0) {
		fuzz_rtcp_check(
		    sfu_rtcp_packet_kind(pkt) == SFU_RTCP_PACKET_KIND_REMB);
		ssrcs = malloc(4 * (size_t)remb.ssrc_count + 1);
		if (ssrcs == NULL) {
			return;
		}
		for (i = 0; i < remb.ssrc_count; i++) {
			ssrcs[i] = sfu_rtcp_packet_remb_ssrc(&remb, i);
		}
		len = sfu_rtcp_packet_build_remb(out, cap, remb.sender_ssrc,
		    remb.bitrate_bps, ssrcs, remb.ssrc_count);
		fuzz_rtcp_reparse(out, len, &q);
		fuzz_rtcp_check(sfu_rtcp_packet_parse_remb(&q, &remb2) == 0);
		fuzz_rtcp_check(remb2.sender_ssrc == remb.sender_ssrc &&
		                remb2.ssrc_count == remb.ssrc_count);

		/* A parsed value has at most 18 significant bits: exact. */
		fuzz_rtcp_check(remb2.bitrate_bps == remb.bitrate_bps);
		for (i = 0; i < remb.ssrc_count; i++) {
			fuzz_rtcp_check(
			    sfu_rtcp_packet_remb_ssrc(&remb2, i) == ssrcs[i]);
		}
		free(ssrcs);
	}
}

static bool
fuzz_rtcp_count_cb(void *ctx, const struct sfu_rtcp_packet *pkt)
{
	int *n = ctx;

	(void)pkt;
	(*n)++;
	return true;
}

/* Appendix A helpers on numbers from the input: no traps, round trips. */
static void
fuzz_rtcp_helpers(const uint8_t *data, size_t size)
{
	uint64_t x = 0;
	uint64_t us = 0;
	size_t i = 0;

	for (i = 0; i < 8 && i < size; i++) {
		x = x << 8 | data[i];
	}

	/* NTP round trips for every Unix time up to 2106. */
	us = x % ((uint64_t)1 << 32) * 1000000 + x % 1000000;
	fuzz_rtcp_check(sfu_rtcp_packet_ntp_to_unix_us(
	                    sfu_rtcp_packet_ntp_from_unix_us(us)) == us);
	(void)sfu_rtcp_packet_compact_to_us(sfu_rtcp_packet_compact_from_us(x));
	(void)sfu_rtcp_packet_rtt_us(
	    (uint32_t)x, (uint32_t)(x >> 32), (uint32_t)(x >> 16));
	fuzz_rtcp_check(sfu_rtcp_packet_fraction_lost(
	                    (uint32_t)x, (uint32_t)(x >> 32)) <= 255);
	fuzz_rtcp_check(sfu_rtcp_packet_cumulative_lost(x, x >> 7) <= 0x7fffff);
	fuzz_rtcp_check(
	    sfu_rtcp_packet_cumulative_lost(x >> 7, x) >= -0x800000);
	(void)sfu_rtcp_packet_jitter_update(
	    (uint32_t)x, (uint32_t)(x >> 32), (uint32_t)(x >> 13));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65536 + 64];
	struct sfu_rtcp_packet pkt;
	struct sfu_rtcp_packet_fb fb;
	uint8_t *exact = NULL;
	size_t off = 0;
	int checked = 0;
	int walked = 0;
	int called = 0;
	int rc = 0;

	if (size == 0 || size > 65536) {
		return 0;
	}
	fuzz_rtcp_helpers(data, size);
	exact = malloc(size);
	if (exact == NULL) {
		return 0;
	}
	memcpy(exact, data, size);
	(void)sfu_rtcp_is_rtcp(exact, size);
	checked = sfu_rtcp_packet_check_compound(exact, size);
	while ((rc = sfu_rtcp_packet_next(exact, size, &off, &pkt)) == 1) {
		walked++;
		fuzz_rtcp_check(pkt.data >= exact &&
		                pkt.data + pkt.len <= exact + size &&
		                pkt.body + pkt.body_len + pkt.padding_len ==
		                    pkt.data + pkt.len);
		switch (sfu_rtcp_packet_kind(&pkt)) {
		case SFU_RTCP_PACKET_KIND_SR:
		case SFU_RTCP_PACKET_KIND_RR:
			fuzz_rtcp_sr_rr(&pkt, out, sizeof(out));
			break;
		case SFU_RTCP_PACKET_KIND_SDES:
		case SFU_RTCP_PACKET_KIND_BYE:
			fuzz_rtcp_sdes_bye(&pkt, out, sizeof(out));
			break;
		case SFU_RTCP_PACKET_KIND_NACK:
			fuzz_rtcp_nack(&pkt, out, sizeof(out));
			break;
		case SFU_RTCP_PACKET_KIND_PLI:
		case SFU_RTCP_PACKET_KIND_FIR:
		case SFU_RTCP_PACKET_KIND_REMB:
		case SFU_RTCP_PACKET_KIND_PSFB_OTHER:
			fuzz_rtcp_psfb(&pkt, out, sizeof(out));
			break;
		case SFU_RTCP_PACKET_KIND_TCC:
		case SFU_RTCP_PACKET_KIND_RTPFB_OTHER:
			if (sfu_rtcp_packet_parse_fb(&pkt, &fb) == 0) {
				fuzz_rtcp_check(fb.fci + fb.fci_len ==
				                pkt.body + pkt.body_len);
			}
			break;
		default:
			break; /* APP, XR, unknown: passed over */
		}
	}
	fuzz_rtcp_check(rc == 0 ? checked == walked : checked == -1);
	fuzz_rtcp_check(sfu_rtcp_packet_foreach(exact, size, fuzz_rtcp_count_cb,
	                    &called) == checked);
	fuzz_rtcp_check(called == (checked > 0 ? checked : 0));
	free(exact);
	return 0;
}
