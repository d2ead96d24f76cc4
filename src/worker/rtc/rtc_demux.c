/*
 * SPDX-License-Identifier: MIT
 *
 * RFC 7983 first-byte demultiplexing, delegating the RTP/RTCP split to the
 * classifiers in rtp_packet.h and rtcp_packet.h and the STUN header check
 * to stun.c, so that one rule lives in one place.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "worker/rtc/rtc_demux.h"
#include "worker/rtc/rtcp_packet.h"
#include "worker/rtc/rtp_packet.h"
#include "worker/rtc/stun.h"

enum sfu_rtc_demux_kind
sfu_rtc_demux_classify(const uint8_t *data, size_t len)
{
	uint8_t b = 0;

	if (data == NULL || len == 0) {
		return SFU_RTC_DEMUX_UNKNOWN;
	}
	b = data[0];

	/* RFC 7983 7: the ranges of the first byte. */
	if (b <= 3) {
		return sfu_stun_is_message(data, len) ? SFU_RTC_DEMUX_STUN
		                                      : SFU_RTC_DEMUX_UNKNOWN;
	}
	if (b >= 20 && b <= 63) {
		return len >= SFU_RTC_DEMUX_DTLS_MIN_LEN
		           ? SFU_RTC_DEMUX_DTLS
		           : SFU_RTC_DEMUX_UNKNOWN;
	}
	if (b >= 128 && b <= 191) {
		/*
		 * SRTCP has a trailer after the packet, so its length says
		 * nothing more than the minimum.
		 */
		if (sfu_rtcp_is_rtcp(data, len)) {
			return len >= SFU_RTC_DEMUX_RTCP_MIN_LEN
			           ? SFU_RTC_DEMUX_RTCP
			           : SFU_RTC_DEMUX_UNKNOWN;
		}
		return sfu_rtp_is_rtp(data, len) ? SFU_RTC_DEMUX_RTP
		                                 : SFU_RTC_DEMUX_UNKNOWN;
	}
	return SFU_RTC_DEMUX_UNKNOWN;
}

const char *
sfu_rtc_demux_kind_name(enum sfu_rtc_demux_kind kind)
{
	switch (kind) {
	case SFU_RTC_DEMUX_STUN:
		return "stun";
	case SFU_RTC_DEMUX_DTLS:
		return "dtls";
	case SFU_RTC_DEMUX_RTP:
		return "rtp";
	case SFU_RTC_DEMUX_RTCP:
		return "rtcp";
	case SFU_RTC_DEMUX_UNKNOWN:
	default:
		return "unknown";
	}
}
