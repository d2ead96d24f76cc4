/*
 * SPDX-License-Identifier: MIT
 *
 * Random (version 4) UUIDs for entity ids the client did not choose.
 */
#ifndef SFU_COMMON_UUID_H
#define SFU_COMMON_UUID_H

#include <stdint.h>

#define SFU_UUID_STR_LEN 37	/* 36 characters and the NUL */

/* A random non-zero 32-bit number (SSRCs, sequence bases). */
uint32_t sfu_random_u32(void);

/* Writes "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" into out. */
void	sfu_uuid_v4(char out[SFU_UUID_STR_LEN]);

#endif
