/*
 * SPDX-License-Identifier: MIT
 *
 * Time: monotonic milliseconds/microseconds for timers and stats, wall
 * clock milliseconds for timestamps shown to users.
 */
#ifndef SFU_COMMON_CLOCK_H
#define SFU_COMMON_CLOCK_H

#include <stdint.h>

uint64_t	sfu_clock_mono_ms(void);
uint64_t	sfu_clock_mono_us(void);
uint64_t	sfu_clock_wall_ms(void);

#endif
