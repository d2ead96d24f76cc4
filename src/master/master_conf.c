/*
 * SPDX-License-Identifier: MIT
 *
 * The master's configuration. common/conf.c turns the file into a tree of
 * directives; this file gives them meaning through a directive table in
 * the style of nginx's ngx_command_t: each entry names the contexts it is
 * allowed in, whether it opens a block, how many arguments it takes and
 * the setter that checks and stores its value. Relative paths are resolved
 * against the directory of the file holding the directive (so an included
 * file in a subdirectory names paths next to itself). Every error is
 * "file:line: message" about the offending directive. The struct
 * sfu_master_conf and all its strings are owned by the caller of
 * sfu_master_conf_load(); nothing here keeps state between calls.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/error.h"
#include "common/log.h"
#include "common/mem.h"
#include "master/master_conf.h"

#ifndef SFU_RUNSTATEDIR
#define SFU_RUNSTATEDIR "/var/run"
#endif
#ifndef SFU_LIBEXECDIR
#define SFU_LIBEXECDIR "/usr/local/libexec"
#endif

/* Where a directive may appear (bits). */
#define MASTER_CONF_MAIN 0x01u
#define MASTER_CONF_ADMIN 0x02u
#define MASTER_CONF_WORKER 0x04u
#define MASTER_CONF_WEBRTC 0x08u

/* Directive flags. */
#define MASTER_CONF_BLOCK 0x01u /* "name { ... }" */
#define MASTER_CONF_MULTI 0x02u /* may be repeated */

/*
 * Durations are stored in ms and fed to timers; a year is far more than
 * any timeout needs and keeps every conversion clear of overflow.
 */
#define MASTER_CONF_MAX_DURATION_MS (365ULL * 24 * 3600 * 1000)
/* Sizes: 1 TiB is far more than any output buffer may hold. */
#define MASTER_CONF_MAX_SIZE (1ULL << 40)
/* max_clients: each client is an fd; more would exceed any fd limit. */
#define MASTER_CONF_MAX_CLIENTS 1048576u

#define MASTER_CONF_DEFAULT_WORKER_BINARY SFU_LIBEXECDIR "/sfud-worker"

struct master_conf_parse;
struct master_conf_cmd;

typedef int (*master_conf_set_cb)(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err);

struct master_conf_cmd {
	const char *name;
	unsigned ctx;    /* MASTER_CONF_MAIN... where it is allowed */
	unsigned flags;  /* MASTER_CONF_BLOCK, MASTER_CONF_MULTI */
	size_t min_args; /* arguments after the name */
	size_t max_args;
	master_conf_set_cb set;
	size_t offset;      /* field in struct sfu_master_conf, for slots */
	uint64_t min;       /* smallest value, for numeric slots */
	unsigned block_ctx; /* context of the block's directives */
};

/* One load in progress. */
#define MASTER_CONF_MAX_CMDS 32
struct master_conf_parse {
	struct sfu_master_conf *conf; /* borrowed: being filled */
	/* borrowed from the tree: the first occurrence of each command */
	const struct sfu_conf_directive *seen[MASTER_CONF_MAX_CMDS];
};

static int master_conf_block(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_flag(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_duration(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_path(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_readable(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_error_log(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_user(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_worker_processes(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_cpu_affinity(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_rlimit_nofile(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_worker_binary(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_admin_listen(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_mode(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_max_clients(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_size(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_log_level(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_log_tags(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_rtc_ports(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);
static int master_conf_set_webrtc_listen(struct master_conf_parse *,
    const struct master_conf_cmd *, const struct sfu_conf_directive *,
    struct sfu_error *);

#define MASTER_CONF_FIELD(f) offsetof(struct sfu_master_conf, f)

/*
 * The directive table. A name may appear in several contexts with
 * different meanings ("listen"); lookup is by name and context.
 */
static const struct master_conf_cmd master_conf_cmds[] = {
    {
        .name = "daemon",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_flag,
        .offset = MASTER_CONF_FIELD(daemon),
    },
    {
        .name = "pid",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_path,
        .offset = MASTER_CONF_FIELD(pid_path),
    },
    {
        .name = "error_log",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 2,
        .set = master_conf_set_error_log,
    },
    {
        .name = "user",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 2,
        .set = master_conf_set_user,
    },
    {
        .name = "worker_processes",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_worker_processes,
    },
    {
        .name = "worker_cpu_affinity",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_cpu_affinity,
    },
    {
        .name = "worker_rlimit_nofile",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_rlimit_nofile,
    },
    {
        .name = "worker_binary",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_worker_binary,
    },
    {
        .name = "worker_start_timeout",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_duration,
        .offset = MASTER_CONF_FIELD(worker_start_timeout_ms),
        .min = 1,
    },
    {
        .name = "worker_ping_interval",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_duration,
        .offset = MASTER_CONF_FIELD(worker_ping_interval_ms),
        .min = 1,
    },
    {
        .name = "worker_ping_timeout",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_duration,
        .offset = MASTER_CONF_FIELD(worker_ping_timeout_ms),
        .min = 1,
    },
    {
        /* 0: drain at once */
        .name = "worker_drain_timeout",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_duration,
        .offset = MASTER_CONF_FIELD(drain_timeout_ms),
    },
    {
        /* 0: kill at once */
        .name = "worker_shutdown_timeout",
        .ctx = MASTER_CONF_MAIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_duration,
        .offset = MASTER_CONF_FIELD(shutdown_timeout_ms),
    },
    {
        .name = "admin",
        .ctx = MASTER_CONF_MAIN,
        .flags = MASTER_CONF_BLOCK,
        .min_args = 0,
        .max_args = 0,
        .set = master_conf_block,
        .block_ctx = MASTER_CONF_ADMIN,
    },
    {
        .name = "worker",
        .ctx = MASTER_CONF_MAIN,
        .flags = MASTER_CONF_BLOCK,
        .min_args = 0,
        .max_args = 0,
        .set = master_conf_block,
        .block_ctx = MASTER_CONF_WORKER,
    },
    {
        .name = "webrtc_server",
        .ctx = MASTER_CONF_MAIN,
        .flags = MASTER_CONF_BLOCK,
        .min_args = 0,
        .max_args = 0,
        .set = master_conf_block,
        .block_ctx = MASTER_CONF_WEBRTC,
    },
    {
        .name = "listen",
        .ctx = MASTER_CONF_ADMIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_admin_listen,
    },
    {
        .name = "mode",
        .ctx = MASTER_CONF_ADMIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_mode,
    },
    {
        .name = "max_clients",
        .ctx = MASTER_CONF_ADMIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_max_clients,
    },
    {
        .name = "client_output_limit",
        .ctx = MASTER_CONF_ADMIN,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_size,
        .offset = MASTER_CONF_FIELD(admin_max_output),
        .min = 1,
    },
    {
        .name = "log_level",
        .ctx = MASTER_CONF_WORKER,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_log_level,
    },
    {
        .name = "log_tags",
        .ctx = MASTER_CONF_WORKER,
        .min_args = 1,
        .max_args = SFU_CONF_MAX_ARGS,
        .set = master_conf_set_log_tags,
    },
    {
        .name = "rtc_ports",
        .ctx = MASTER_CONF_WORKER,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_rtc_ports,
    },
    {
        .name = "dtls_certificate",
        .ctx = MASTER_CONF_WORKER,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_readable,
        .offset = MASTER_CONF_FIELD(dtls_certificate),
    },
    {
        .name = "dtls_private_key",
        .ctx = MASTER_CONF_WORKER,
        .min_args = 1,
        .max_args = 1,
        .set = master_conf_set_readable,
        .offset = MASTER_CONF_FIELD(dtls_private_key),
    },
    {
        .name = "listen",
        .ctx = MASTER_CONF_WEBRTC,
        .flags = MASTER_CONF_MULTI,
        .min_args = 3,
        .max_args = 5,
        .set = master_conf_set_webrtc_listen,
    },
};

#define MASTER_CONF_NCMDS                                                      \
	(sizeof(master_conf_cmds) / sizeof(master_conf_cmds[0]))
_Static_assert(
    MASTER_CONF_NCMDS <= MASTER_CONF_MAX_CMDS, "raise MASTER_CONF_MAX_CMDS");

/* --- value parsers --- */

/* Decimal digits only (no sign, no space), at most max. */
static int
master_conf_parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0) {
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return -1;
		}
		if (v > (max - (uint64_t)(s[i] - '0')) / 10) {
			return -1;
		}
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

/* nginx-style duration: "500ms", "10s", "5m", "1h", "1d"; bare = seconds. */
static int
master_conf_parse_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
	    {"", 1000},
	    {"ms", 1},
	    {"s", 1000},
	    {"m", 60 * 1000},
	    {"h", 3600 * 1000},
	    {"d", 24 * 3600 * 1000},
	};
	size_t ndigits = 0, i;
	uint64_t v = 0;

	ndigits = strspn(s, "0123456789");
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + ndigits, units[i].unit) != 0) {
			continue;
		}
		if (master_conf_parse_uint(s, ndigits,
		        MASTER_CONF_MAX_DURATION_MS / units[i].ms, &v) == -1) {
			return -1;
		}
		*ms = v * units[i].ms;
		return 0;
	}
	return -1;
}

/* nginx-style size: "1024", "64k", "16m", "1g" (k = 1024). */
static int
master_conf_parse_size(const char *s, uint64_t *bytes)
{
	size_t ndigits = 0;
	uint64_t mult = 1, v = 0;

	ndigits = strspn(s, "0123456789");
	switch (s[ndigits]) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1024;
		break;
	case 'm':
	case 'M':
		mult = 1024 * 1024;
		break;
	case 'g':
	case 'G':
		mult = 1024 * 1024 * 1024;
		break;
	default:
		return -1;
	}
	if (s[ndigits] != '\0' && s[ndigits + 1] != '\0') {
		return -1;
	}
	if (master_conf_parse_uint(
	        s, ndigits, MASTER_CONF_MAX_SIZE / mult, &v) == -1) {
		return -1;
	}
	*bytes = v * mult;
	return 0;
}

static int
master_conf_parse_port(const char *s, size_t len, uint16_t *port)
{
	uint64_t v = 0;

	if (master_conf_parse_uint(s, len, 65535, &v) == -1 || v == 0) {
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* --- paths --- */

/*
 * Appends the components of path to out (an absolute path being built,
 * without trailing '/'), dropping empty and "." components. ".." is kept:
 * removing it lexically would be wrong across symbolic links.
 */
static void
master_conf_path_append(char **out, size_t *len, const char *path)
{
	const char *p = path, *slash = NULL;
	size_t n = 0;

	while (*p != '\0') {
		slash = strchr(p, '/');
		n = slash == NULL ? strlen(p) : (size_t)(slash - p);
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			*out = sfu_xrealloc(*out, *len + n + 2);
			(*out)[(*len)++] = '/';
			memcpy(*out + *len, p, n);
			*len += n;
			(*out)[*len] = '\0';
		}
		p += n;
		if (*p == '/') {
			p++;
		}
	}
}

/*
 * path made absolute: as is when it starts with '/', else against the
 * directory of file (itself against the working directory when relative).
 * Returns an owned string, or NULL with errno from getcwd().
 */
static char *
master_conf_abspath(const char *file, const char *path)
{
	char cwd[PATH_MAX];
	char *out = NULL, *dir = NULL;
	const char *slash = NULL;
	size_t len = 0;

	out = sfu_xstrdup("");
	if (path[0] != '/') {
		if (file == NULL || file[0] != '/') {
			if (getcwd(cwd, sizeof(cwd)) == NULL) {
				free(out);
				return NULL;
			}
			master_conf_path_append(&out, &len, cwd);
		}
		if (file != NULL) {
			slash = strrchr(file, '/');
			if (slash != NULL) {
				dir =
				    sfu_xstrndup(file, (size_t)(slash - file));
				master_conf_path_append(&out, &len, dir);
				free(dir);
			}
		}
	}
	master_conf_path_append(&out, &len, path);
	if (len == 0) {
		free(out);
		out = sfu_xstrdup("/");
	}
	return out;
}

/* Stores the directive's first argument, made absolute, into *field. */
static int
master_conf_store_path(const struct master_conf_cmd *cmd,
    const struct sfu_conf_directive *d, char **field, struct sfu_error *err)
{
	char *abs = NULL;
	int e;

	if (d->args[0][0] == '\0') {
		sfu_conf_error(
		    err, d, "empty path in \"%s\" directive", cmd->name);
		return -1;
	}
	abs = master_conf_abspath(d->file, d->args[0]);
	if (abs == NULL) {
		e = errno;
		sfu_conf_error(err, d,
		    "cannot resolve \"%s\" in \"%s\" directive: getcwd() "
		    "failed: %s",
		    d->args[0], cmd->name, strerror(e));
		return -1;
	}
	free(*field);
	*field = abs;
	return 0;
}

static char **
master_conf_str_field(
    struct master_conf_parse *p, const struct master_conf_cmd *cmd)
{
	return (char **)(void *)((char *)p->conf + cmd->offset);
}

/* --- generic setters (slots) --- */

static int
master_conf_set_flag(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	bool *field = (bool *)(void *)((char *)p->conf + cmd->offset);

	if (strcmp(d->args[0], "on") == 0) {
		*field = true;
	} else if (strcmp(d->args[0], "off") == 0) {
		*field = false;
	} else {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be "
		    "\"on\" or \"off\"",
		    d->args[0], cmd->name);
		return -1;
	}
	return 0;
}

static int
master_conf_set_duration(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	uint64_t *field = (uint64_t *)(void *)((char *)p->conf + cmd->offset);
	uint64_t ms = 0;

	if (master_conf_parse_duration(d->args[0], &ms) == -1 ||
	    ms < cmd->min) {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be %s"
		    "duration like 500ms, 10s, 5m or 1h",
		    d->args[0], cmd->name, cmd->min > 0 ? "a non-zero " : "a ");
		return -1;
	}
	*field = ms;
	return 0;
}

static int
master_conf_set_size(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	uint64_t *field = (uint64_t *)(void *)((char *)p->conf + cmd->offset);
	uint64_t bytes = 0;

	if (master_conf_parse_size(d->args[0], &bytes) == -1 ||
	    bytes < cmd->min) {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be a "
		    "non-zero size like 1024, 64k or 16m",
		    d->args[0], cmd->name);
		return -1;
	}
	*field = bytes;
	return 0;
}

static int
master_conf_set_path(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	return master_conf_store_path(
	    cmd, d, master_conf_str_field(p, cmd), err);
}

/* A path to a file the workers read (certificate, key). */
static int
master_conf_set_readable(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	char **field = master_conf_str_field(p, cmd);
	int e;

	if (master_conf_store_path(cmd, d, field, err) == -1) {
		return -1;
	}
	if (access(*field, R_OK) == -1) {
		e = errno;
		sfu_conf_error(err, d,
		    "cannot read \"%s\" in \"%s\" directive: %s", *field,
		    cmd->name, strerror(e));
		return -1;
	}
	return 0;
}

/* --- top level --- */

static int
master_conf_set_error_log(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	struct sfu_master_conf *conf = p->conf;
	int level = SFU_LOG_LEVEL_INFO;

	if (d->nargs == 2) {
		level = sfu_log_level_parse(d->args[1]);
		if (level < 0 || level == SFU_LOG_LEVEL_NONE) {
			sfu_conf_error(err, d,
			    "invalid value \"%s\" in \"%s\" directive, it "
			    "must be \"debug\", \"info\", \"warn\" or "
			    "\"error\"",
			    d->args[1], cmd->name);
			return -1;
		}
	}
	if (strcmp(d->args[0], "stderr") == 0) {
		free(conf->error_log);
		conf->error_log = sfu_xstrdup("stderr");
	} else if (master_conf_store_path(cmd, d, &conf->error_log, err) ==
	           -1) {
		return -1;
	}
	conf->error_log_level = (enum sfu_log_level)level;
	return 0;
}

static int
master_conf_set_user(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	struct sfu_master_conf *conf = p->conf;
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char buf[16384];
	int rc;

	(void)cmd;

	/* getpwnam_r returns 0 with pwp == NULL for "no such user" */
	rc = getpwnam_r(d->args[0], &pw, buf, sizeof(buf), &pwp);
	if (pwp == NULL) {
		sfu_conf_error(err, d,
		    "unknown user \"%s\" in \"user\" directive%s%s", d->args[0],
		    rc != 0 ? ": " : "", rc != 0 ? strerror(rc) : "");
		return -1;
	}
	if (d->nargs == 2) {
		rc = getgrnam_r(d->args[1], &gr, buf, sizeof(buf), &grp);
		if (grp == NULL) {
			sfu_conf_error(err, d,
			    "unknown group \"%s\" in \"user\" directive%s%s",
			    d->args[1], rc != 0 ? ": " : "",
			    rc != 0 ? strerror(rc) : "");
			return -1;
		}
	}
	free(conf->user);
	free(conf->group);
	conf->user = sfu_xstrdup(d->args[0]);
	conf->group = d->nargs == 2 ? sfu_xstrdup(d->args[1]) : NULL;
	return 0;
}

static int
master_conf_set_worker_processes(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	struct sfu_master_conf *conf = p->conf;
	const char *s = d->args[0];
	uint64_t n = 0;

	if (strcmp(s, "auto") == 0) {
		conf->worker_processes_auto = true;
		conf->worker_processes = 0;
		return 0;
	}
	if (master_conf_parse_uint(
	        s, strlen(s), SFU_MASTER_CONF_MAX_WORKERS, &n) == -1 ||
	    n == 0) {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be "
		    "\"auto\" or a number from 1 to %d",
		    s, cmd->name, SFU_MASTER_CONF_MAX_WORKERS);
		return -1;
	}
	conf->worker_processes_auto = false;
	conf->worker_processes = (unsigned)n;
	return 0;
}

static int
master_conf_set_cpu_affinity(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	if (strcmp(d->args[0], "auto") == 0) {
		p->conf->worker_cpu_affinity = true;
	} else if (strcmp(d->args[0], "off") == 0) {
		p->conf->worker_cpu_affinity = false;
	} else {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be "
		    "\"auto\" or \"off\"",
		    d->args[0], cmd->name);
		return -1;
	}
	return 0;
}

static int
master_conf_set_rlimit_nofile(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	const char *s = d->args[0];
	uint64_t n = 0;

	if (master_conf_parse_uint(s, strlen(s), UINT64_MAX, &n) == -1 ||
	    n == 0) {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be a "
		    "positive number",
		    s, cmd->name);
		return -1;
	}
	p->conf->worker_rlimit_nofile = n;
	return 0;
}

static int
master_conf_set_worker_binary(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	struct sfu_master_conf *conf = p->conf;
	int e;

	if (master_conf_store_path(cmd, d, &conf->worker_binary, err) == -1) {
		return -1;
	}
	if (access(conf->worker_binary, X_OK) == -1) {
		e = errno;
		sfu_conf_error(err, d,
		    "cannot execute \"%s\" in \"%s\" directive: %s",
		    conf->worker_binary, cmd->name, strerror(e));
		return -1;
	}
	return 0;
}

/* --- admin { } --- */

static int
master_conf_set_admin_listen(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	struct sockaddr_un sun;
	struct sfu_master_conf *conf = p->conf;

	if (master_conf_store_path(cmd, d, &conf->admin_listen, err) == -1) {
		return -1;
	}
	if (strlen(conf->admin_listen) >= sizeof(sun.sun_path)) {
		sfu_conf_error(err, d,
		    "path \"%s\" in \"%s\" directive is too long (a socket "
		    "path has at most %zu bytes)",
		    conf->admin_listen, cmd->name, sizeof(sun.sun_path) - 1);
		return -1;
	}
	return 0;
}

static int
master_conf_set_mode(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	const char *s = d->args[0];
	unsigned long v = 0;
	size_t i, len = strlen(s);

	/* at most 4 digits: "0777" */
	for (i = 0; i < len && len <= 4; i++) {
		if (s[i] < '0' || s[i] > '7') {
			break;
		}
		v = v * 8 + (unsigned long)(s[i] - '0');
	}
	if (len == 0 || len > 4 || i != len || v > 0777) {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be an "
		    "octal mode like 0600 or 0660, at most 0777",
		    s, cmd->name);
		return -1;
	}
	p->conf->admin_mode = (mode_t)v;
	return 0;
}

static int
master_conf_set_max_clients(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	const char *s = d->args[0];
	uint64_t n = 0;

	if (master_conf_parse_uint(s, strlen(s), MASTER_CONF_MAX_CLIENTS, &n) ==
	        -1 ||
	    n == 0) {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be a "
		    "number from 1 to %u",
		    s, cmd->name, MASTER_CONF_MAX_CLIENTS);
		return -1;
	}
	p->conf->admin_max_clients = (unsigned)n;
	return 0;
}

/* --- worker { } --- */

static int
master_conf_set_log_level(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	int level;

	level = sfu_log_level_parse(d->args[0]);
	if (level < 0) {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be "
		    "\"debug\", \"info\", \"warn\", \"error\" or \"none\"",
		    d->args[0], cmd->name);
		return -1;
	}
	p->conf->log_level = (enum sfu_log_level)level;
	return 0;
}

static int
master_conf_set_log_tags(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	uint32_t tags = 0, tag = 0;
	size_t i;

	for (i = 0; i < d->nargs; i++) {
		tag = sfu_log_tag_parse(d->args[i]);
		if (tag == 0) {
			sfu_conf_error(err, d,
			    "invalid value \"%s\" in \"%s\" directive, it "
			    "must be a log tag (info, ice, dtls, rtp, srtp, "
			    "rtcp, ...)",
			    d->args[i], cmd->name);
			return -1;
		}
		tags |= tag;
	}
	p->conf->log_tags = tags;
	return 0;
}

static int
master_conf_set_rtc_ports(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	const char *s = d->args[0], *dash = NULL;
	uint16_t min = 0, max = 0;

	dash = strchr(s, '-');
	if (dash == NULL ||
	    master_conf_parse_port(s, (size_t)(dash - s), &min) == -1 ||
	    master_conf_parse_port(dash + 1, strlen(dash + 1), &max) == -1 ||
	    min > max) {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be "
		    "MIN-MAX with ports from 1 to 65535 and MIN <= MAX",
		    s, cmd->name);
		return -1;
	}
	p->conf->rtc_min_port = min;
	p->conf->rtc_max_port = max;
	return 0;
}

/* --- webrtc_server { } --- */

static int
master_conf_set_webrtc_listen(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	struct sfu_master_conf *conf = p->conf;
	struct sfu_master_conf_listen *l = NULL;
	enum sfu_listen_protocol protocol;
	unsigned char addr[sizeof(struct in6_addr)];
	uint16_t port = 0;

	if (d->nargs == 4) {
		sfu_conf_error(err, d,
		    "invalid number of arguments in \"%s\" directive",
		    cmd->name);
		return -1;
	}
	if (d->nargs == 5 && strcmp(d->args[3], "announced") != 0) {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be "
		    "\"announced\"",
		    d->args[3], cmd->name);
		return -1;
	}
	if (strcmp(d->args[0], "udp") == 0) {
		protocol = SFU_LISTEN_UDP;
	} else if (strcmp(d->args[0], "tcp") == 0) {
		protocol = SFU_LISTEN_TCP;
	} else {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be "
		    "\"udp\" or \"tcp\"",
		    d->args[0], cmd->name);
		return -1;
	}
	if (inet_pton(AF_INET, d->args[1], addr) != 1 &&
	    inet_pton(AF_INET6, d->args[1], addr) != 1) {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be an "
		    "IPv4 or IPv6 address",
		    d->args[1], cmd->name);
		return -1;
	}
	if (master_conf_parse_port(d->args[2], strlen(d->args[2]), &port) ==
	    -1) {
		sfu_conf_error(err, d,
		    "invalid value \"%s\" in \"%s\" directive, it must be a "
		    "port from 1 to 65535",
		    d->args[2], cmd->name);
		return -1;
	}
	if (d->nargs == 5 && d->args[4][0] == '\0') {
		sfu_conf_error(err, d,
		    "invalid value \"\" in \"%s\" directive, it must be an "
		    "announced address",
		    cmd->name);
		return -1;
	}
	if (conf->webrtc_nlisten == SFU_MASTER_CONF_MAX_LISTEN) {
		sfu_conf_error(err, d,
		    "too many \"%s\" directives in \"webrtc_server\" block "
		    "(at most %d)",
		    cmd->name, SFU_MASTER_CONF_MAX_LISTEN);
		return -1;
	}
	l = &conf->webrtc_listen[conf->webrtc_nlisten++];
	l->protocol = protocol;
	l->ip = sfu_xstrdup(d->args[1]);
	l->port = port;
	l->announced = d->nargs == 5 ? sfu_xstrdup(d->args[4]) : NULL;
	return 0;
}

/* --- the walk --- */

/* Applies every directive of b, which sits in context ctx. */
static int
master_conf_walk(struct master_conf_parse *p, const struct sfu_conf_block *b,
    unsigned ctx, struct sfu_error *err)
{
	const struct sfu_conf_directive *d = NULL;
	const struct master_conf_cmd *cmd = NULL;
	bool known = false;
	size_t i;

	TAILQ_FOREACH(d, &b->directives, entry)
	{
		cmd = NULL;
		known = false;
		for (i = 0; i < MASTER_CONF_NCMDS; i++) {
			if (strcmp(master_conf_cmds[i].name, d->name) != 0) {
				continue;
			}
			known = true;
			if (master_conf_cmds[i].ctx & ctx) {
				cmd = &master_conf_cmds[i];
				break;
			}
		}
		if (cmd == NULL) {
			if (known) {
				sfu_conf_error(err, d,
				    "\"%s\" directive is not allowed here",
				    d->name);
			} else {
				sfu_conf_error(err, d,
				    "unknown directive \"%s\"", d->name);
			}
			return -1;
		}
		if ((cmd->flags & MASTER_CONF_BLOCK) && d->block == NULL) {
			sfu_conf_error(err, d,
			    "directive \"%s\" has no opening \"{\"", d->name);
			return -1;
		}
		if (!(cmd->flags & MASTER_CONF_BLOCK) && d->block != NULL) {
			sfu_conf_error(err, d,
			    "directive \"%s\" is not terminated by \";\"",
			    d->name);
			return -1;
		}
		if (d->nargs < cmd->min_args || d->nargs > cmd->max_args) {
			sfu_conf_error(err, d,
			    "invalid number of arguments in \"%s\" directive",
			    d->name);
			return -1;
		}
		if (!(cmd->flags & MASTER_CONF_MULTI) && p->seen[i] != NULL) {
			sfu_conf_error(
			    err, d, "\"%s\" directive is duplicate", d->name);
			return -1;
		}
		p->seen[i] = d;
		if (cmd->set(p, cmd, d, err) == -1) {
			return -1;
		}
	}
	return 0;
}

static int
master_conf_block(struct master_conf_parse *p,
    const struct master_conf_cmd *cmd, const struct sfu_conf_directive *d,
    struct sfu_error *err)
{
	return master_conf_walk(p, d->block, cmd->block_ctx, err);
}

/* The first directive called name in context ctx, or NULL. */
static const struct sfu_conf_directive *
master_conf_seen(
    const struct master_conf_parse *p, const char *name, unsigned ctx)
{
	size_t i;

	for (i = 0; i < MASTER_CONF_NCMDS; i++) {
		if (strcmp(master_conf_cmds[i].name, name) == 0 &&
		    (master_conf_cmds[i].ctx & ctx)) {
			return p->seen[i];
		}
	}
	return NULL;
}

/* Rules across directives, checked once everything is read. */
static int
master_conf_check(struct master_conf_parse *p, struct sfu_error *err)
{
	const struct sfu_conf_directive *cert = NULL, *key = NULL;

	cert = master_conf_seen(p, "dtls_certificate", MASTER_CONF_WORKER);
	key = master_conf_seen(p, "dtls_private_key", MASTER_CONF_WORKER);
	if (cert != NULL && key == NULL) {
		sfu_conf_error(err, cert,
		    "\"dtls_certificate\" directive requires "
		    "\"dtls_private_key\"");
		return -1;
	}
	if (key != NULL && cert == NULL) {
		sfu_conf_error(err, key,
		    "\"dtls_private_key\" directive requires "
		    "\"dtls_certificate\"");
		return -1;
	}
	return 0;
}

static struct sfu_master_conf *
master_conf_new(void)
{
	struct sfu_master_conf *conf = NULL;
	unsigned i;

	conf = sfu_xcalloc(1, sizeof(*conf));
	conf->path = NULL;
	conf->daemon = true;
	conf->pid_path = sfu_xstrdup(SFU_RUNSTATEDIR "/sfud.pid");
	conf->error_log = sfu_xstrdup("stderr");
	conf->error_log_level = SFU_LOG_LEVEL_INFO;
	conf->user = NULL;
	conf->group = NULL;

	/* one worker per core, as DESIGN.md's sample config */
	conf->worker_processes = 0;
	conf->worker_processes_auto = true;
	conf->worker_cpu_affinity = false;
	conf->worker_rlimit_nofile = 0;
	conf->worker_binary = NULL;
	conf->worker_start_timeout_ms = 10 * 1000;
	conf->worker_ping_interval_ms = 5 * 1000;
	conf->worker_ping_timeout_ms = 10 * 1000;
	conf->drain_timeout_ms = 300 * 1000;
	conf->shutdown_timeout_ms = 5 * 1000;

	conf->admin_listen = sfu_xstrdup(SFU_RUNSTATEDIR "/sfud.sock");
	conf->admin_mode = 0600;
	conf->admin_max_clients = 1024;
	conf->admin_max_output = 16 * 1024 * 1024;

	conf->log_level = SFU_LOG_LEVEL_WARN;
	conf->log_tags = 0;
	conf->rtc_min_port = 10000;
	conf->rtc_max_port = 59999;
	conf->dtls_certificate = NULL;
	conf->dtls_private_key = NULL;
	for (i = 0; i < SFU_MASTER_CONF_MAX_LISTEN; i++) {
		conf->webrtc_listen[i].ip = NULL;
		conf->webrtc_listen[i].announced = NULL;
	}
	conf->webrtc_nlisten = 0;
	return conf;
}

/* --- API --- */

struct sfu_master_conf *
sfu_master_conf_load(const char *path, struct sfu_error *err)
{
	struct master_conf_parse p;
	struct sfu_master_conf *conf = NULL;
	struct sfu_conf *tree = NULL;
	int e;

	memset(&p, 0, sizeof(p));
	conf = master_conf_new();
	p.conf = conf;
	conf->path = master_conf_abspath(NULL, path);
	if (conf->path == NULL) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "%s: getcwd() failed: %s",
		    path, strerror(e));
		goto fail;
	}
	tree = sfu_conf_parse_file(path, err);
	if (tree == NULL) {
		goto fail;
	}
	if (master_conf_walk(&p, &tree->root, MASTER_CONF_MAIN, err) == -1 ||
	    master_conf_check(&p, err) == -1) {
		goto fail;
	}
	sfu_conf_free(tree);
	return conf;
fail:
	sfu_conf_free(tree);
	sfu_master_conf_free(conf);
	return NULL;
}

void
sfu_master_conf_free(struct sfu_master_conf *conf)
{
	unsigned i;

	if (conf == NULL) {
		return;
	}
	free(conf->path);
	free(conf->pid_path);
	free(conf->error_log);
	free(conf->user);
	free(conf->group);
	free(conf->worker_binary);
	free(conf->admin_listen);
	free(conf->dtls_certificate);
	free(conf->dtls_private_key);
	for (i = 0; i < conf->webrtc_nlisten; i++) {
		free(conf->webrtc_listen[i].ip);
		free(conf->webrtc_listen[i].announced);
	}
	free(conf);
}

/* NULL-safe string equality. */
static bool
master_conf_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL) {
		return a == b;
	}
	return strcmp(a, b) == 0;
}

static bool
master_conf_listen_eq(
    const struct sfu_master_conf *a, const struct sfu_master_conf *b)
{
	const struct sfu_master_conf_listen *la = NULL, *lb = NULL;
	unsigned i;

	if (a->webrtc_nlisten != b->webrtc_nlisten) {
		return false;
	}
	for (i = 0; i < a->webrtc_nlisten; i++) {
		la = &a->webrtc_listen[i];
		lb = &b->webrtc_listen[i];
		if (la->protocol != lb->protocol || la->port != lb->port ||
		    !master_conf_streq(la->ip, lb->ip) ||
		    !master_conf_streq(la->announced, lb->announced)) {
			return false;
		}
	}
	return true;
}

void
sfu_master_conf_diff(const struct sfu_master_conf *old,
    const struct sfu_master_conf *new_conf, struct sfu_master_conf_diff *diff)
{
	memset(diff, 0, sizeof(*diff));
	diff->log_changed = old->log_level != new_conf->log_level ||
	                    old->log_tags != new_conf->log_tags;

	/* compared resolved: "auto" and the core count are the same */
	diff->workers_changed = sfu_master_conf_worker_count(old) !=
	                        sfu_master_conf_worker_count(new_conf);
	diff->respawn_needed =
	    old->rtc_min_port != new_conf->rtc_min_port ||
	    old->rtc_max_port != new_conf->rtc_max_port ||
	    !master_conf_streq(
	        old->dtls_certificate, new_conf->dtls_certificate) ||
	    !master_conf_streq(
	        old->dtls_private_key, new_conf->dtls_private_key) ||
	    !master_conf_streq(old->worker_binary, new_conf->worker_binary) ||
	    !master_conf_listen_eq(old, new_conf);
	diff->admin_changed =
	    !master_conf_streq(old->admin_listen, new_conf->admin_listen) ||
	    old->admin_mode != new_conf->admin_mode;
	diff->error_log_changed =
	    !master_conf_streq(old->error_log, new_conf->error_log) ||
	    old->error_log_level != new_conf->error_log_level;
}

char **
sfu_master_conf_worker_argv(
    const struct sfu_master_conf *conf, const char *binary)
{
	char **argv = NULL;
	char *tags = NULL, *joined = NULL;
	const char *name = NULL;
	size_t n = 0;
	unsigned bit;

	if (binary == NULL) {
		binary = conf->worker_binary != NULL
		             ? conf->worker_binary
		             : MASTER_CONF_DEFAULT_WORKER_BINARY;
	}

	/* binary, level, tags, 2 ports, 2 dtls files, NULL */
	argv = sfu_xcalloc(8, sizeof(*argv));
	argv[n++] = sfu_xstrdup(binary);
	argv[n++] =
	    sfu_xasprintf("--logLevel=%s", sfu_log_level_name(conf->log_level));
	for (bit = 0; bit < 32; bit++) {
		name = sfu_log_tag_name(1u << bit);
		if (!(conf->log_tags & (1u << bit)) || name == NULL) {
			continue;
		}
		joined = tags == NULL ? sfu_xstrdup(name)
		                      : sfu_xasprintf("%s,%s", tags, name);
		free(tags);
		tags = joined;
	}
	if (tags != NULL) {
		argv[n++] = sfu_xasprintf("--logTags=%s", tags);
		free(tags);
	}
	argv[n++] = sfu_xasprintf("--rtcMinPort=%u", conf->rtc_min_port);
	argv[n++] = sfu_xasprintf("--rtcMaxPort=%u", conf->rtc_max_port);
	if (conf->dtls_certificate != NULL) {
		argv[n++] = sfu_xasprintf(
		    "--dtlsCertificateFile=%s", conf->dtls_certificate);
	}
	if (conf->dtls_private_key != NULL) {
		argv[n++] = sfu_xasprintf(
		    "--dtlsPrivateKeyFile=%s", conf->dtls_private_key);
	}
	argv[n] = NULL;
	return argv;
}

void
sfu_master_conf_free_argv(char **argv)
{
	size_t i;

	if (argv == NULL) {
		return;
	}
	for (i = 0; argv[i] != NULL; i++) {
		free(argv[i]);
	}
	free(argv);
}

unsigned
sfu_master_conf_worker_count(const struct sfu_master_conf *conf)
{
	cpu_set_t set;
	long n = 0;

	if (!conf->worker_processes_auto) {
		return conf->worker_processes;
	}

	/* The CPUs we may run on (taskset, cpusets), not all online ones. */
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		n = CPU_COUNT(&set);
	} else {
		n = sysconf(_SC_NPROCESSORS_ONLN);
	}
	if (n < 1) {
		n = 1;
	}
	if (n > SFU_MASTER_CONF_MAX_WORKERS) {
		n = SFU_MASTER_CONF_MAX_WORKERS;
	}
	return (unsigned)n;
}
