/*
 * SPDX-License-Identifier: MIT
 *
 * Worker settings: parsed from argv at start (mediasoup's names), some
 * changed later by worker.updateSettings. One struct per worker.
 */
#ifndef SFU_WORKER_SETTINGS_H
#define SFU_WORKER_SETTINGS_H

#include <stdint.h>

#include <msgpack.h>

#include "common/error.h"
#include "common/log.h"

struct sfu_settings {
	enum sfu_log_level	 log_level;
	uint32_t		 log_tags;	/* enum sfu_log_tag bits */
	uint16_t		 rtc_min_port;
	uint16_t		 rtc_max_port;
	char			*dtls_certificate_file;	/* owned, may be NULL */
	char			*dtls_private_key_file;	/* owned, may be NULL */
};

/* Defaults: warn, no tags, ports 10000-59999 (mediasoup's). */
void	sfu_settings_init(struct sfu_settings *s);
void	sfu_settings_release(struct sfu_settings *s);
/*
 * Parses argv[1..]. Returns 0, or -1 with err naming the option and what
 * is wrong with its value (SFU_ERR_TYPE).
 */
int	sfu_settings_parse_argv(struct sfu_settings *s, int argc,
	    char *const argv[], struct sfu_error *err);
/*
 * worker.updateSettings: data may hold logLevel (string) and logTags
 * (array of strings). All-or-nothing: on error nothing changes.
 */
int	sfu_settings_update(struct sfu_settings *s, const msgpack_object *data,
	    struct sfu_error *err);
/* Packs a map {logLevel, logTags, rtcMinPort, rtcMaxPort, ...}. */
void	sfu_settings_dump(const struct sfu_settings *s, msgpack_packer *pk);

#endif
