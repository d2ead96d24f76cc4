/*
 * SPDX-License-Identifier: MIT
 *
 * UUID v4 from getrandom(2) (RFC 4122 4.4).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>

#include "common/log.h"
#include "common/uuid.h"

static void
uuid_random(uint8_t *b, size_t len)
{
	ssize_t n = 0;
	size_t got = 0;

	while (got < len) {
		n = getrandom(b + got, len - got, 0);
		SFU_ASSERT(n > 0);
		got += (size_t)n;
	}
}

uint32_t
sfu_random_u32(void)
{
	uint32_t v = 0;

	while (v == 0) {
		uuid_random((uint8_t *)&v, sizeof(v));
	}
	return v;
}

void
sfu_uuid_v4(char out[SFU_UUID_STR_LEN])
{
	uint8_t b[16];

	uuid_random(b, sizeof(b));
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	snprintf(out, SFU_UUID_STR_LEN,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
	    b[11], b[12], b[13], b[14], b[15]);
}
