/*
 * SPDX-License-Identifier: MIT
 *
 * libFuzzer target for common/conf: parses the input as a config text with
 * sfu_conf_parse_string() (which must never read outside [data, data+size):
 * libFuzzer's buffer is exactly size bytes, so ASan sees any overread),
 * walks the tree so every string it holds is read, and frees it (LSan sees
 * any leak, on success or error). The name points into a directory that
 * does not exist, so relative includes in the input find nothing; absolute
 * ones may read real files, which the parser refuses unless regular.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/conf.h"
#include "common/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
fuzz_conf_walk(const struct sfu_conf_block *b)
{
	const struct sfu_conf_directive *d = NULL;
	size_t n = 0, i;

	TAILQ_FOREACH(d, &b->directives, entry)
	{
		n += strlen(d->name) + strlen(d->file) + (size_t)d->line;
		for (i = 0; i < d->nargs; i++) {
			n += strlen(d->args[i]);
		}
		if (d->block != NULL) {
			n += fuzz_conf_walk(d->block);
		}
		if (sfu_conf_block_find(b, d->name) == NULL) {
			__builtin_trap();
		}
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	volatile size_t sink;

	sfu_error_clear(&err);
	conf = sfu_conf_parse_string(
	    "/nonexistent-sfud-fuzz/fuzz.conf", (const char *)data, size, &err);
	if (conf == NULL) {
		/* every failure says why, starting with a file name */
		if (err.kind == SFU_ERR_NONE || err.reason[0] != '/') {
			__builtin_trap();
		}
	} else {
		sink = fuzz_conf_walk(&conf->root);
		(void)sink;
		if (!TAILQ_EMPTY(&conf->root.directives)) {
			sfu_conf_error(&err,
			    TAILQ_FIRST(&conf->root.directives), "fuzz %d", 1);
		}
	}
	sfu_conf_free(conf);
	return 0;
}
