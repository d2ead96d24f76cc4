/*
 * SPDX-License-Identifier: MIT
 *
 * RFC 7983 demultiplexing of one UDP 5-tuple carrying STUN, DTLS and
 * SRTP/SRTCP: the first byte picks the protocol (0..3 STUN, 20..63 DTLS,
 * 128..191 RTP/RTCP), and for RTP/RTCP the second byte tells RTCP packet
 * types 192..223 from RTP (RFC 5761 4). Each kind also needs a minimum
 * length, and STUN the full header check of sfu_stun_is_message(). ZRTP
 * (16..19), TURN channels (64..79) and everything else are unknown.
 * Classifying is not validating: parse before trusting the bytes.
 */
#ifndef SFU_WORKER_RTC_DEMUX_H
#define SFU_WORKER_RTC_DEMUX_H

#include <stddef.h>
#include <stdint.h>

enum sfu_rtc_demux_kind {
	SFU_RTC_DEMUX_UNKNOWN = 0,
	SFU_RTC_DEMUX_STUN,
	SFU_RTC_DEMUX_DTLS,
	SFU_RTC_DEMUX_RTP,
	SFU_RTC_DEMUX_RTCP,
};

/* A DTLS record header: type, version, epoch, sequence, length. */
#define SFU_RTC_DEMUX_DTLS_MIN_LEN 13
/* The smallest RTCP packet, an RR with no report blocks. */
#define SFU_RTC_DEMUX_RTCP_MIN_LEN 8

/*
 * What len bytes at data are (data may be NULL when len is 0):
 * STUN       first byte 0..3 and sfu_stun_is_message();
 * DTLS       first byte 20..63 and at least 13 bytes;
 * RTCP       sfu_rtcp_is_rtcp() (first byte 128..191, second 192..223)
 *            and at least 8 bytes;
 * RTP        sfu_rtp_is_rtp() (first byte 128..191, second outside
 *            192..223, at least 12 bytes);
 * UNKNOWN    anything else, including the above when too short.
 */
enum sfu_rtc_demux_kind sfu_rtc_demux_classify(const uint8_t *data, size_t len);

/* "stun", "dtls", "rtp", "rtcp" or "unknown": for logs and counters. */
const char *sfu_rtc_demux_kind_name(enum sfu_rtc_demux_kind kind);

#endif
