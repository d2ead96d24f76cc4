/*
 * SPDX-License-Identifier: MIT
 *
 * Logging: levels (debug, info, warn, error, none), tags that gate hot-path
 * messages (mediasoup's logTags), and a sink. The configuration lives in a
 * struct sfu_log owned by whoever runs a loop (the master, each worker);
 * the logging macros use the one installed for the calling thread, so two
 * embedded workers in one process each log with their own level, tags and
 * sink. A thread with none installed logs warn and above to stderr.
 *
 * Each .c defines SFU_LOG_MODULE before including this header; headers
 * never include it.
 */
#ifndef SFU_COMMON_LOG_H
#define SFU_COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum sfu_log_level {
	SFU_LOG_LEVEL_DEBUG = 0,
	SFU_LOG_LEVEL_INFO,
	SFU_LOG_LEVEL_WARN,
	SFU_LOG_LEVEL_ERROR,
	SFU_LOG_LEVEL_NONE,
};

/* mediasoup's log tags, one bit each. */
enum sfu_log_tag {
	SFU_LOG_TAG_INFO = 1u << 0,
	SFU_LOG_TAG_ICE = 1u << 1,
	SFU_LOG_TAG_DTLS = 1u << 2,
	SFU_LOG_TAG_RTP = 1u << 3,
	SFU_LOG_TAG_SRTP = 1u << 4,
	SFU_LOG_TAG_RTCP = 1u << 5,
	SFU_LOG_TAG_RTX = 1u << 6,
	SFU_LOG_TAG_BWE = 1u << 7,
	SFU_LOG_TAG_SCORE = 1u << 8,
	SFU_LOG_TAG_SIMULCAST = 1u << 9,
	SFU_LOG_TAG_SVC = 1u << 10,
	SFU_LOG_TAG_SCTP = 1u << 11,
	SFU_LOG_TAG_MESSAGE = 1u << 12,
};

/*
 * A sink receives one formatted line (no newline, no timestamp: the sink
 * adds those) and may be called from the thread that owns the sfu_log only.
 */
typedef void (*sfu_log_sink_cb)(void *ctx, enum sfu_log_level level,
    const char *line);

struct sfu_log {
	enum sfu_log_level	 level;
	uint32_t		 tags;		/* enum sfu_log_tag bits */
	sfu_log_sink_cb		 sink;		/* NULL: stderr */
	void			*sink_ctx;	/* borrowed */
	const char		*prefix;	/* borrowed, may be NULL */
	int			 fd;		/* stderr sink target, -1: 2 */
};

/* Defaults: level warn, no tags, stderr. */
void	sfu_log_init(struct sfu_log *log);
/* Installs log for the calling thread (NULL uninstalls); returns the old. */
struct sfu_log *sfu_log_set_current(struct sfu_log *log);
struct sfu_log *sfu_log_current(void);

/* "debug" ... "none" <-> level; returns -1 for an unknown name. */
int	sfu_log_level_parse(const char *name);
const char *sfu_log_level_name(enum sfu_log_level level);
/* One tag name -> bit, 0 when unknown. */
uint32_t sfu_log_tag_parse(const char *name);
/* The name of one tag bit, NULL when it is not exactly one known tag. */
const char *sfu_log_tag_name(uint32_t tag);

bool	sfu_log_enabled(enum sfu_log_level level, uint32_t tag);
void	sfu_log_write(enum sfu_log_level level, const char *module,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The stderr sink: "2026-11-22T10:45:23.123Z warn  [prefix] module: msg".
 * Exposed so a custom sink can fall back to it.
 */
void	sfu_log_sink_stderr(void *ctx, enum sfu_log_level level,
	    const char *line);

#ifdef SFU_LOG_MODULE
#define SFU_LOG_AT(lvl, tag, ...)                                           \
	do {                                                                \
		if (sfu_log_enabled((lvl), (tag))) {                        \
			sfu_log_write((lvl), SFU_LOG_MODULE, __VA_ARGS__);  \
		}                                                           \
	} while (0)
#define SFU_LOG_DEBUG(...) SFU_LOG_AT(SFU_LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define SFU_LOG_INFO(...) SFU_LOG_AT(SFU_LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define SFU_LOG_WARN(...) SFU_LOG_AT(SFU_LOG_LEVEL_WARN, 0, __VA_ARGS__)
#define SFU_LOG_ERROR(...) SFU_LOG_AT(SFU_LOG_LEVEL_ERROR, 0, __VA_ARGS__)
/* Tagged: logged only when the tag is enabled (and the level allows). */
#define SFU_LOG_DEBUG_TAG(t, ...)                                           \
	SFU_LOG_AT(SFU_LOG_LEVEL_DEBUG, SFU_LOG_TAG_##t, __VA_ARGS__)
#define SFU_LOG_WARN_TAG(t, ...)                                            \
	SFU_LOG_AT(SFU_LOG_LEVEL_WARN, SFU_LOG_TAG_##t, __VA_ARGS__)
#endif

/* Invariant check: always compiled, logs file:line and aborts. */
#define SFU_ASSERT(cond)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			sfu_assert_fail(#cond, __FILE__, __LINE__);         \
		}                                                           \
	} while (0)
void	sfu_assert_fail(const char *expr, const char *file, int line)
	    __attribute__((noreturn));

#endif
