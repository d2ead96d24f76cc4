/*
 * SPDX-License-Identifier: MIT
 *
 * nginx-style configuration parser: "directive arg ...;" and
 * "directive arg ... { ... }" with '#' comments, single- and double-quoted
 * strings (backslash escapes \" \' \\ \n \t inside quotes), and
 * "include PATH;" (glob patterns allowed; relative to the including file's
 * directory). The result is a tree of directives that remembers the file and
 * line of each one; it knows no directive names besides "include": meaning
 * is given by the caller's directive table (see master_conf.c).
 *
 * Every error is reported as "file:line: message".
 */
#ifndef SFU_COMMON_CONF_H
#define SFU_COMMON_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/queue.h>

#include "common/error.h"

/* Limits: a config larger than these is certainly a mistake. */
#define SFU_CONF_MAX_FILE_LEN	 (1024 * 1024)	/* bytes per file */
#define SFU_CONF_MAX_TOKEN_LEN	 4096		/* bytes per word */
#define SFU_CONF_MAX_ARGS	 64		/* arguments after the name */
#define SFU_CONF_MAX_DEPTH	 16		/* nested blocks */
#define SFU_CONF_MAX_INCLUDE	 8		/* nested includes */

struct sfu_conf_block;

struct sfu_conf_directive {
	char				*name;	/* owned */
	char				**args;	/* owned, nargs entries */
	size_t				 nargs;
	const char			*file;	/* borrowed: from the sfu_conf */
	int				 line;	/* 1-based line of the name */
	struct sfu_conf_block		*block;	/* owned, NULL when "name ...;" */
	TAILQ_ENTRY(sfu_conf_directive)	 entry;
};

struct sfu_conf_block {
	TAILQ_HEAD(, sfu_conf_directive) directives;	/* owned, in order */
};

struct sfu_conf {
	struct sfu_conf_block	 root;		/* top level directives */
	char			**files;	/* owned: every file read */
	size_t			 nfiles;
};

/*
 * Parses the file at path (and whatever it includes). Returns the tree, or
 * NULL with err (kind SFU_ERR_TYPE for syntax, SFU_ERR_ERROR for I/O) whose
 * reason reads "file:line: message" (I/O errors on the top file:
 * "path: strerror"). "include" directives are replaced by the directives
 * of the files they name, in glob order.
 */
struct sfu_conf	*sfu_conf_parse_file(const char *path, struct sfu_error *err);

/*
 * Same for an in-memory text; name is what errors call the file and what
 * relative includes are resolved against (its directory).
 */
struct sfu_conf	*sfu_conf_parse_string(const char *name, const char *text,
		    size_t len, struct sfu_error *err);

/* NULL-safe. */
void		 sfu_conf_free(struct sfu_conf *conf);

/*
 * Helpers for directive tables: first directive called name in block (or
 * NULL); "file:line: " formatting of an error about a directive.
 */
struct sfu_conf_directive *sfu_conf_block_find(const struct sfu_conf_block *b,
		    const char *name);
void		 sfu_conf_error(struct sfu_error *err,
		    const struct sfu_conf_directive *d, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

#endif
