/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for worker/rtc/rtc_demux: a table of first and second byte
 * values at each RFC 7983 / RFC 5761 range boundary with the minimum
 * lengths just met and just missed, a sweep of all 256 first bytes, and
 * the kind names.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "worker/rtc/rtc_demux.h"
#include "worker/rtc/stun.h"

#define TEST_BUF_LEN 64

/*
 * A buffer whose every prefix of a multiple of 4 bytes from 20 on can be
 * made a STUN message by setting its length: a Binding request header
 * with the magic cookie, then zeros (a zero-type zero-length attribute
 * each 4 bytes is fine for sfu_stun_is_message(), which does not walk).
 */
static void
make_packet(uint8_t *buf, uint8_t b0, uint8_t b1, size_t len)
{
	memset(buf, 0, TEST_BUF_LEN);
	buf[0] = b0;
	buf[1] = b1;
	if (len >= SFU_STUN_HEADER_LEN) {
		buf[2] = (uint8_t)((len - SFU_STUN_HEADER_LEN) >> 8);
		buf[3] = (uint8_t)(len - SFU_STUN_HEADER_LEN);
	}
	buf[4] = 0x21;
	buf[5] = 0x12;
	buf[6] = 0xa4;
	buf[7] = 0x42;
}

/* Each boundary of each range, at and around each minimum length. */
static void
test_rtc_demux_classifies_boundaries(void **state)
{
	static const struct {
		uint8_t b0;
		uint8_t b1;
		size_t len;
		enum sfu_rtc_demux_kind kind;
	} cases[] = {
	    /* STUN: 0..3 with a valid header of 20 + 4n bytes. */
	    {0, 0x01, 20, SFU_RTC_DEMUX_STUN},
	    {0, 0x01, 24, SFU_RTC_DEMUX_STUN},
	    {1, 0x01, 20, SFU_RTC_DEMUX_STUN},
	    {3, 0xff, 20, SFU_RTC_DEMUX_STUN},
	    {0, 0x01, 19, SFU_RTC_DEMUX_UNKNOWN},
	    {0, 0x01, 22, SFU_RTC_DEMUX_UNKNOWN}, /* not a multiple of 4 */
	    {4, 0x01, 20, SFU_RTC_DEMUX_UNKNOWN},
	    {15, 0x01, 20, SFU_RTC_DEMUX_UNKNOWN},
	    /* ZRTP 16..19: not handled. */
	    {16, 0x00, 40, SFU_RTC_DEMUX_UNKNOWN},
	    {19, 0x00, 40, SFU_RTC_DEMUX_UNKNOWN},
	    /* DTLS 20..63, 13 bytes at least. */
	    {20, 0xfe, 13, SFU_RTC_DEMUX_DTLS},
	    {20, 0xfe, 12, SFU_RTC_DEMUX_UNKNOWN},
	    {22, 0xfe, 13, SFU_RTC_DEMUX_DTLS},
	    {63, 0xfe, 13, SFU_RTC_DEMUX_DTLS},
	    {63, 0xfe, 12, SFU_RTC_DEMUX_UNKNOWN},
	    /* TURN channels 64..79 and the unassigned rest up to 127. */
	    {64, 0x00, 40, SFU_RTC_DEMUX_UNKNOWN},
	    {79, 0x00, 40, SFU_RTC_DEMUX_UNKNOWN},
	    {80, 0x00, 40, SFU_RTC_DEMUX_UNKNOWN},
	    {127, 0x00, 40, SFU_RTC_DEMUX_UNKNOWN},
	    /* RTP: 128..191, second byte outside 192..223, 12 bytes. */
	    {128, 0, 12, SFU_RTC_DEMUX_RTP},
	    {128, 0, 11, SFU_RTC_DEMUX_UNKNOWN},
	    {128, 96, 12, SFU_RTC_DEMUX_RTP},
	    {128, 191, 12, SFU_RTC_DEMUX_RTP},
	    {128, 224, 12, SFU_RTC_DEMUX_RTP}, /* marker + PT 96 */
	    {128, 255, 12, SFU_RTC_DEMUX_RTP},
	    {191, 0, 12, SFU_RTC_DEMUX_RTP},
	    {0x90, 111, 40, SFU_RTC_DEMUX_RTP},
	    /* RTCP: second byte 192..223, 8 bytes. */
	    {128, 192, 8, SFU_RTC_DEMUX_RTCP},
	    {128, 192, 7, SFU_RTC_DEMUX_UNKNOWN},
	    {128, 200, 8, SFU_RTC_DEMUX_RTCP},
	    {0x81, 201, 32, SFU_RTC_DEMUX_RTCP},
	    {128, 223, 8, SFU_RTC_DEMUX_RTCP},
	    {191, 223, 8, SFU_RTC_DEMUX_RTCP},
	    {128, 200, 4, SFU_RTC_DEMUX_UNKNOWN},
	    /* An RTCP type is RTCP even where an RTP header would fit. */
	    {128, 200, 12, SFU_RTC_DEMUX_RTCP},
	    /* ... and an RTP one of 8..11 bytes is nothing. */
	    {128, 96, 8, SFU_RTC_DEMUX_UNKNOWN},
	    /* 192..255: nothing. */
	    {192, 0, 40, SFU_RTC_DEMUX_UNKNOWN},
	    {192, 200, 40, SFU_RTC_DEMUX_UNKNOWN},
	    {255, 0, 40, SFU_RTC_DEMUX_UNKNOWN},
	};
	uint8_t buf[TEST_BUF_LEN];
	enum sfu_rtc_demux_kind got = SFU_RTC_DEMUX_UNKNOWN;
	size_t i = 0;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		make_packet(buf, cases[i].b0, cases[i].b1, cases[i].len);
		got = sfu_rtc_demux_classify(buf, cases[i].len);
		if (got != cases[i].kind) {
			fail_msg("case %zu (%u, %u, len %zu): got %s, want %s",
			    i, cases[i].b0, cases[i].b1, cases[i].len,
			    sfu_rtc_demux_kind_name(got),
			    sfu_rtc_demux_kind_name(cases[i].kind));
		}
	}
}

/* STUN needs the whole header right, not only the first byte. */
static void
test_rtc_demux_stun_needs_header(void **state)
{
	uint8_t buf[TEST_BUF_LEN];

	(void)state;
	make_packet(buf, 0, 1, 20);
	assert_int_equal(sfu_rtc_demux_classify(buf, 20), SFU_RTC_DEMUX_STUN);
	buf[7] ^= 1; /* cookie */
	assert_int_equal(
	    sfu_rtc_demux_classify(buf, 20), SFU_RTC_DEMUX_UNKNOWN);
	make_packet(buf, 0, 1, 24);
	assert_int_equal(
	    sfu_rtc_demux_classify(buf, 20), SFU_RTC_DEMUX_UNKNOWN);
	assert_int_equal(
	    sfu_rtc_demux_classify(buf, 28), SFU_RTC_DEMUX_UNKNOWN);
	assert_int_equal(sfu_rtc_demux_classify(buf, 24), SFU_RTC_DEMUX_STUN);
}

/* Every first byte, with a buffer long enough for any kind. */
static void
test_rtc_demux_sweeps_first_byte(void **state)
{
	uint8_t buf[TEST_BUF_LEN];
	enum sfu_rtc_demux_kind want = SFU_RTC_DEMUX_UNKNOWN;
	unsigned b0 = 0;
	unsigned k = 0;
	uint8_t b1[2] = {96, 200};

	(void)state;
	for (k = 0; k < 2; k++) {
		for (b0 = 0; b0 < 256; b0++) {
			if (b0 <= 3) {
				want = SFU_RTC_DEMUX_STUN;
			} else if (b0 >= 20 && b0 <= 63) {
				want = SFU_RTC_DEMUX_DTLS;
			} else if (b0 >= 128 && b0 <= 191) {
				want = k == 0 ? SFU_RTC_DEMUX_RTP
				              : SFU_RTC_DEMUX_RTCP;
			} else {
				want = SFU_RTC_DEMUX_UNKNOWN;
			}
			make_packet(buf, (uint8_t)b0, b1[k], 40);
			assert_int_equal(sfu_rtc_demux_classify(buf, 40), want);
		}
	}
}

/* Nothing, or nothing at all, is unknown. */
static void
test_rtc_demux_empty_is_unknown(void **state)
{
	uint8_t b = 0x80;

	(void)state;
	assert_int_equal(
	    sfu_rtc_demux_classify(NULL, 0), SFU_RTC_DEMUX_UNKNOWN);
	assert_int_equal(sfu_rtc_demux_classify(&b, 0), SFU_RTC_DEMUX_UNKNOWN);
	assert_int_equal(sfu_rtc_demux_classify(&b, 1), SFU_RTC_DEMUX_UNKNOWN);
}

static void
test_rtc_demux_kind_names(void **state)
{
	(void)state;
	assert_string_equal(
	    sfu_rtc_demux_kind_name(SFU_RTC_DEMUX_UNKNOWN), "unknown");
	assert_string_equal(
	    sfu_rtc_demux_kind_name(SFU_RTC_DEMUX_STUN), "stun");
	assert_string_equal(
	    sfu_rtc_demux_kind_name(SFU_RTC_DEMUX_DTLS), "dtls");
	assert_string_equal(sfu_rtc_demux_kind_name(SFU_RTC_DEMUX_RTP), "rtp");
	assert_string_equal(
	    sfu_rtc_demux_kind_name(SFU_RTC_DEMUX_RTCP), "rtcp");
	assert_string_equal(
	    sfu_rtc_demux_kind_name((enum sfu_rtc_demux_kind)42), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rtc_demux_classifies_boundaries),
	    cmocka_unit_test(test_rtc_demux_stun_needs_header),
	    cmocka_unit_test(test_rtc_demux_sweeps_first_byte),
	    cmocka_unit_test(test_rtc_demux_empty_is_unknown),
	    cmocka_unit_test(test_rtc_demux_kind_names),
	};

	return cmocka_run_group_tests_name("rtc_demux", tests, NULL, NULL);
}
