/*
 * SPDX-License-Identifier: MIT
 *
 * struct sfu_error helpers and the kind -> wire name table.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/error.h"

void
sfu_error_setv(struct sfu_error *err, enum sfu_error_kind kind,
    const char *fmt, va_list ap)
{
	if (err == NULL) {
		return;
	}
	err->kind = kind;
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
}

void
sfu_error_set(struct sfu_error *err, enum sfu_error_kind kind,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sfu_error_setv(err, kind, fmt, ap);
	va_end(ap);
}

void
sfu_error_prefix(struct sfu_error *err, const char *fmt, ...)
{
	char prefix[SFU_ERROR_REASON_LEN];
	char old[SFU_ERROR_REASON_LEN];
	va_list ap;

	if (err == NULL) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, err->reason, sizeof(old));
	snprintf(err->reason, sizeof(err->reason), "%s%s", prefix, old);
}

void
sfu_error_clear(struct sfu_error *err)
{
	if (err == NULL) {
		return;
	}
	err->kind = SFU_ERR_NONE;
	err->reason[0] = '\0';
}

const char *
sfu_error_kind_name(enum sfu_error_kind kind)
{
	switch (kind) {
	case SFU_ERR_TYPE:
		return "TypeError";
	case SFU_ERR_INVALID_STATE:
		return "InvalidStateError";
	case SFU_ERR_NOT_FOUND:
		return "NotFoundError";
	case SFU_ERR_UNSUPPORTED:
		return "UnsupportedError";
	case SFU_ERR_NONE:
	case SFU_ERR_ERROR:
	default:
		return "Error";
	}
}
