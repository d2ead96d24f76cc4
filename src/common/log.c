/*
 * SPDX-License-Identifier: MIT
 *
 * The only code that formats a log line. The active configuration is a
 * thread-local pointer so embedded workers (one thread each) never share
 * level, tags or sink.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SFU_LOG_MODULE "log"
#include "common/log.h"

static _Thread_local struct sfu_log *log_current;

static const char *const log_level_names[] = {
	[SFU_LOG_LEVEL_DEBUG] = "debug",
	[SFU_LOG_LEVEL_INFO] = "info",
	[SFU_LOG_LEVEL_WARN] = "warn",
	[SFU_LOG_LEVEL_ERROR] = "error",
	[SFU_LOG_LEVEL_NONE] = "none",
};

static const struct {
	const char	*name;
	uint32_t	 bit;
} log_tags[] = {
	{ "info", SFU_LOG_TAG_INFO },
	{ "ice", SFU_LOG_TAG_ICE },
	{ "dtls", SFU_LOG_TAG_DTLS },
	{ "rtp", SFU_LOG_TAG_RTP },
	{ "srtp", SFU_LOG_TAG_SRTP },
	{ "rtcp", SFU_LOG_TAG_RTCP },
	{ "rtx", SFU_LOG_TAG_RTX },
	{ "bwe", SFU_LOG_TAG_BWE },
	{ "score", SFU_LOG_TAG_SCORE },
	{ "simulcast", SFU_LOG_TAG_SIMULCAST },
	{ "svc", SFU_LOG_TAG_SVC },
	{ "sctp", SFU_LOG_TAG_SCTP },
	{ "message", SFU_LOG_TAG_MESSAGE },
};

void
sfu_log_init(struct sfu_log *log)
{
	memset(log, 0, sizeof(*log));
	log->level = SFU_LOG_LEVEL_WARN;
	log->fd = -1;
}

struct sfu_log *
sfu_log_set_current(struct sfu_log *log)
{
	struct sfu_log *old = log_current;

	log_current = log;
	return old;
}

struct sfu_log *
sfu_log_current(void)
{
	return log_current;
}

int
sfu_log_level_parse(const char *name)
{
	size_t i = 0;

	for (i = 0; i < sizeof(log_level_names) / sizeof(log_level_names[0]);
	    i++) {
		if (strcmp(name, log_level_names[i]) == 0) {
			return (int)i;
		}
	}
	return -1;
}

const char *
sfu_log_level_name(enum sfu_log_level level)
{
	if ((unsigned)level > SFU_LOG_LEVEL_NONE) {
		return "?";
	}
	return log_level_names[level];
}

uint32_t
sfu_log_tag_parse(const char *name)
{
	size_t i = 0;

	for (i = 0; i < sizeof(log_tags) / sizeof(log_tags[0]); i++) {
		if (strcmp(name, log_tags[i].name) == 0) {
			return log_tags[i].bit;
		}
	}
	return 0;
}

const char *
sfu_log_tag_name(uint32_t tag)
{
	size_t i = 0;

	for (i = 0; i < sizeof(log_tags) / sizeof(log_tags[0]); i++) {
		if (tag == log_tags[i].bit) {
			return log_tags[i].name;
		}
	}
	return NULL;
}

bool
sfu_log_enabled(enum sfu_log_level level, uint32_t tag)
{
	const struct sfu_log *log = log_current;
	enum sfu_log_level min = SFU_LOG_LEVEL_WARN;

	if (log != NULL) {
		min = log->level;
		if (tag != 0 && (log->tags & tag) == 0) {
			return false;
		}
	} else if (tag != 0) {
		return false;
	}
	return level >= min && level != SFU_LOG_LEVEL_NONE;
}

void
sfu_log_sink_stderr(void *ctx, enum sfu_log_level level, const char *line)
{
	const struct sfu_log *log = ctx;
	char buf[4096];
	struct timeval tv;
	struct tm tm;
	int fd = STDERR_FILENO;
	int n = 0;

	if (log != NULL && log->fd >= 0) {
		fd = log->fd;
	}
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(buf, sizeof(buf),
	    "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s %s%s%s%s\n",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000),
	    sfu_log_level_name(level),
	    (log != NULL && log->prefix != NULL) ? "[" : "",
	    (log != NULL && log->prefix != NULL) ? log->prefix : "",
	    (log != NULL && log->prefix != NULL) ? "] " : "", line);
	if (n < 0) {
		return;
	}
	if ((size_t)n >= sizeof(buf)) {
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}

	/* One write per line so lines from several processes never mix. */
	(void)!write(fd, buf, (size_t)n);
}

void
sfu_log_write(enum sfu_log_level level, const char *module, const char *fmt,
    ...)
{
	struct sfu_log *log = log_current;
	char line[3072];
	va_list ap;
	int n = 0;

	n = snprintf(line, sizeof(line), "%s: ", module);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		n = 0;
	}
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (log != NULL && log->sink != NULL) {
		log->sink(log->sink_ctx, level, line);
	} else {
		sfu_log_sink_stderr(log, level, line);
	}
}

void
sfu_assert_fail(const char *expr, const char *file, int line)
{
	sfu_log_write(SFU_LOG_LEVEL_ERROR, "assert",
	    "assertion failed: %s (%s:%d)", expr, file, line);
	abort();
}
