/*
 * SPDX-License-Identifier: MIT
 *
 * libFuzzer target for worker/rtc/rtc_demux. The input is one datagram,
 * classified from an exact-size heap copy (so ASan sees any read past
 * len). The kind must match an independent reading of RFC 7983 / RFC 5761
 * written here, and the parser of that kind then runs on the bytes and
 * must agree with the classification: whatever is STUN passes
 * sfu_stun_is_message() and, when it parses, has its length; RTP that
 * parses never has a marker + payload type in the RTCP range; RTCP's
 * first packet, when it parses, has the type of byte 1. Invariants are
 * checked with __builtin_trap().
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "worker/rtc/rtc_demux.h"
#include "worker/rtc/rtcp_packet.h"
#include "worker/rtc/rtp_packet.h"
#include "worker/rtc/stun.h"

#define FUZZ_RTC_DEMUX_MAX_LEN 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_rtc_demux_check(bool ok)
{
	if (!ok) {
		__builtin_trap();
	}
}

/* RFC 7983 7 and RFC 5761 4, read independently of rtc_demux.c. */
static enum sfu_rtc_demux_kind
fuzz_rtc_demux_expect(const uint8_t *d, size_t len)
{
	uint32_t cookie = 0;
	size_t body = 0;

	if (len == 0) {
		return SFU_RTC_DEMUX_UNKNOWN;
	}
	switch (d[0] >> 6) {
	case 0:
		if (d[0] < 4) {
			if (len < 20) {
				return SFU_RTC_DEMUX_UNKNOWN;
			}
			cookie = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 |
			         (uint32_t)d[6] << 8 | d[7];
			body = (size_t)d[2] << 8 | d[3];
			return cookie == 0x2112A442u && body % 4 == 0 &&
			               body + 20 == len
			           ? SFU_RTC_DEMUX_STUN
			           : SFU_RTC_DEMUX_UNKNOWN;
		}
		return d[0] >= 20 && len >= 13 ? SFU_RTC_DEMUX_DTLS
		                               : SFU_RTC_DEMUX_UNKNOWN;
	case 2:
		if (len >= 2 && (d[1] & 0xe0) == 0xc0) {
			/* 192..223: 110xxxxx */
			return len >= 8 ? SFU_RTC_DEMUX_RTCP
			                : SFU_RTC_DEMUX_UNKNOWN;
		}
		return len >= 12 ? SFU_RTC_DEMUX_RTP : SFU_RTC_DEMUX_UNKNOWN;
	default: /* 64..127, 192..255 */
		return SFU_RTC_DEMUX_UNKNOWN;
	}
}

static void
fuzz_rtc_demux_stun(const uint8_t *d, size_t len)
{
	struct sfu_stun_message msg;
	struct sfu_error err;

	fuzz_rtc_demux_check(d[0] <= 3 && sfu_stun_is_message(d, len));
	sfu_error_clear(&err);
	if (sfu_stun_parse(d, len, &msg, &err) == 0) {
		fuzz_rtc_demux_check(msg.len == len);
	} else {
		/* The header passed: it was an attribute that failed. */
		fuzz_rtc_demux_check(err.kind == SFU_ERR_TYPE);
	}
}

static void
fuzz_rtc_demux_rtp(uint8_t *d, size_t len)
{
	struct sfu_rtp_packet p;

	fuzz_rtc_demux_check(sfu_rtp_is_rtp(d, len));
	fuzz_rtc_demux_check(!sfu_rtcp_is_rtcp(d, len));
	fuzz_rtc_demux_check(!sfu_stun_is_message(d, len));
	if (sfu_rtp_packet_parse(&p, d, len, len) == 0) {
		fuzz_rtc_demux_check(p.len == len);
		fuzz_rtc_demux_check(!(
		    p.marker && p.payload_type >= 64 && p.payload_type <= 95));
	}
}

static void
fuzz_rtc_demux_rtcp(const uint8_t *d, size_t len)
{
	struct sfu_rtcp_packet pkt;
	size_t off = 0;
	int n = 0;

	fuzz_rtc_demux_check(sfu_rtcp_is_rtcp(d, len));
	fuzz_rtc_demux_check(!sfu_rtp_is_rtp(d, len));
	fuzz_rtc_demux_check(!sfu_stun_is_message(d, len));
	if (sfu_rtcp_packet_next(d, len, &off, &pkt) == 1) {
		fuzz_rtc_demux_check(pkt.type == d[1]);
		fuzz_rtc_demux_check(pkt.data == d && off == pkt.len);
	}
	n = sfu_rtcp_packet_check_compound(d, len);
	fuzz_rtc_demux_check(n == -1 || n >= 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum sfu_rtc_demux_kind kind = SFU_RTC_DEMUX_UNKNOWN;
	uint8_t *exact = NULL;

	if (size > FUZZ_RTC_DEMUX_MAX_LEN) {
		return 0;
	}
	exact = malloc(size > 0 ? size : 1);
	if (exact == NULL) {
		return 0;
	}
	if (size > 0) {
		memcpy(exact, data, size);
	}
	kind = sfu_rtc_demux_classify(size > 0 ? exact : NULL, size);
	fuzz_rtc_demux_check(kind == fuzz_rtc_demux_expect(exact, size));
	fuzz_rtc_demux_check(sfu_rtc_demux_kind_name(kind) != NULL);
	switch (kind) {
	case SFU_RTC_DEMUX_STUN:
		fuzz_rtc_demux_stun(exact, size);
		break;
	case SFU_RTC_DEMUX_DTLS:
		fuzz_rtc_demux_check(exact[0] >= 20 && exact[0] <= 63);
		fuzz_rtc_demux_check(size >= SFU_RTC_DEMUX_DTLS_MIN_LEN);
		break;
	case SFU_RTC_DEMUX_RTP:
		fuzz_rtc_demux_rtp(exact, size);
		break;
	case SFU_RTC_DEMUX_RTCP:
		fuzz_rtc_demux_rtcp(exact, size);
		break;
	case SFU_RTC_DEMUX_UNKNOWN:
		/* Nothing we would take for STUN by its first byte. */
		fuzz_rtc_demux_check(size == 0 || exact[0] > 3 ||
		                     !sfu_stun_is_message(exact, size));
		break;
	}
	free(exact);
	return 0;
}
