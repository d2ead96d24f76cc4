/*
 * SPDX-License-Identifier: MIT
 *
 * struct sfu_error: an error kind plus a human reason. The kinds map onto
 * the wire names of DESIGN §3 (TypeError, InvalidStateError, NotFoundError,
 * UnsupportedError, Error). Every function taking a struct sfu_error *
 * accepts NULL for "caller does not care".
 */
#ifndef SFU_COMMON_ERROR_H
#define SFU_COMMON_ERROR_H

#include <stdarg.h>

enum sfu_error_kind {
	SFU_ERR_NONE = 0,
	SFU_ERR_TYPE,		/* TypeError: bad arguments */
	SFU_ERR_INVALID_STATE,	/* InvalidStateError */
	SFU_ERR_NOT_FOUND,	/* NotFoundError */
	SFU_ERR_UNSUPPORTED,	/* UnsupportedError: not built (yet) */
	SFU_ERR_ERROR,		/* Error: anything else */
};

#define SFU_ERROR_REASON_LEN 256

struct sfu_error {
	enum sfu_error_kind	kind;
	char			reason[SFU_ERROR_REASON_LEN];
};

/* Sets kind and reason (truncated to fit). NULL-safe. */
void	sfu_error_set(struct sfu_error *err, enum sfu_error_kind kind,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void	sfu_error_setv(struct sfu_error *err, enum sfu_error_kind kind,
	    const char *fmt, va_list ap);
/* Puts "<prefix>" before the current reason, e.g. a field path. NULL-safe. */
void	sfu_error_prefix(struct sfu_error *err, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Clears err back to SFU_ERR_NONE. NULL-safe. */
void	sfu_error_clear(struct sfu_error *err);
/* The wire name of a kind: "TypeError", ..., "Error". */
const char *sfu_error_kind_name(enum sfu_error_kind kind);

#endif
