/*
 * SPDX-License-Identifier: MIT
 *
 * nginx-style configuration parser. A tokenizer turns one file's bytes into
 * words, ';', '{' and '}'; a recursive parser builds the directive tree and
 * splices "include"d files into the block that names them. The tree, the
 * names of every file read and all strings in them are owned by the
 * struct sfu_conf; the text being parsed is only borrowed. No global state:
 * each parse carries its own struct conf_parser, so threads may parse at
 * once. What the directives mean is left to the caller's directive table.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/conf.h"
#include "common/error.h"
#include "common/mem.h"

enum conf_token {
	CONF_TOKEN_WORD,
	CONF_TOKEN_SEMICOLON,
	CONF_TOKEN_OPEN,
	CONF_TOKEN_CLOSE,
	CONF_TOKEN_EOF,
	CONF_TOKEN_ERROR,
};

/* One parse (sfu_conf_parse_file/_string) and everything it reads. */
struct conf_parser {
	struct sfu_conf *conf; /* borrowed: the result being built */
	struct sfu_error *err; /* borrowed, may be NULL */
	char word[SFU_CONF_MAX_TOKEN_LEN + 1]; /* last word, NUL-terminated */
	size_t word_len;                       /* bytes in word */
};

/* The tokenizer's position in one file's text. */
struct conf_file {
	struct conf_parser *parser; /* borrowed */
	const char *name;           /* borrowed: from parser->conf->files */
	const char *p;              /* borrowed: next byte to read */
	const char *end;            /* one past the last byte of the text */
	int line;                   /* 1-based line of p */
	int eof_line;               /* line of the text's last byte */
	int include_depth;          /* 0 for the top file */
};

static void conf_file_error(struct conf_file *, int, enum sfu_error_kind,
    const char *, ...) __attribute__((format(printf, 4, 5)));

/* --- tree --- */

static void
conf_block_clear(struct sfu_conf_block *b)
{
	struct sfu_conf_directive *d = NULL;
	size_t i;

	while ((d = TAILQ_FIRST(&b->directives)) != NULL) {
		TAILQ_REMOVE(&b->directives, d, entry);
		if (d->block != NULL) {
			conf_block_clear(d->block);
			free(d->block);
			d->block = NULL;
		}
		for (i = 0; i < d->nargs; i++) {
			free(d->args[i]);
		}
		free(d->args);
		free(d->name);
		free(d);
	}
}

/* Frees a directive that is in no block yet. NULL-safe. */
static void
conf_directive_free(struct sfu_conf_directive *d)
{
	struct sfu_conf_block b;

	if (d == NULL) {
		return;
	}
	TAILQ_INIT(&b.directives);
	TAILQ_INSERT_TAIL(&b.directives, d, entry);
	conf_block_clear(&b);
}

static struct sfu_conf_directive *
conf_directive_new(const char *file, int line, const char *name, size_t len)
{
	struct sfu_conf_directive *d = NULL;

	d = sfu_xcalloc(1, sizeof(*d));
	d->name = sfu_xstrndup(name, len);
	d->args = NULL;
	d->nargs = 0;
	d->file = file;
	d->line = line;
	d->block = NULL;
	return d;
}

static void
conf_directive_add_arg(
    struct sfu_conf_directive *d, const char *arg, size_t len)
{
	d->args = sfu_xreallocarray(d->args, d->nargs + 1, sizeof(*d->args));
	d->args[d->nargs++] = sfu_xstrndup(arg, len);
}

/* Records a file name in conf->files; returns the conf's copy. */
static const char *
conf_add_file(struct sfu_conf *conf, const char *name)
{
	conf->files = sfu_xreallocarray(
	    conf->files, conf->nfiles + 1, sizeof(*conf->files));
	conf->files[conf->nfiles] = sfu_xstrdup(name);
	return conf->files[conf->nfiles++];
}

/* --- errors --- */

static void
conf_file_error(struct conf_file *f, int line, enum sfu_error_kind kind,
    const char *fmt, ...)
{
	char msg[SFU_ERROR_REASON_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sfu_error_set(f->parser->err, kind, "%s:%d: %s", f->name, line, msg);
}

/*
 * Quotes a byte for an "unexpected" message the way nginx does ("x"), but
 * '"' as '"' and unprintable bytes as "\xNN" so the message stays readable.
 */
static void
conf_quote_char(char c, char *buf, size_t size)
{
	unsigned char u = (unsigned char)c;

	if (c == '"') {
		snprintf(buf, size, "'\"'");
	} else if (u < 0x20 || u >= 0x7f) {
		snprintf(buf, size, "\"\\x%02x\"", u);
	} else {
		snprintf(buf, size, "\"%c\"", c);
	}
}

static void
conf_unexpected(struct conf_file *f, int line, char c)
{
	char q[16];

	conf_quote_char(c, q, sizeof(q));
	conf_file_error(f, line, SFU_ERR_TYPE, "unexpected %s", q);
}

/* --- tokenizer --- */

static bool
conf_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Bytes that end an unquoted word, or must follow a quoted one. */
static bool
conf_is_separator(char c)
{
	return conf_is_space(c) || c == ';' || c == '{' || c == '}';
}

static int
conf_word_append(struct conf_file *f, int start_line, char c)
{
	struct conf_parser *ps = f->parser;

	if (ps->word_len == SFU_CONF_MAX_TOKEN_LEN) {
		conf_file_error(f, start_line, SFU_ERR_TYPE,
		    "token too long (more than %d bytes)",
		    SFU_CONF_MAX_TOKEN_LEN);
		return -1;
	}
	ps->word[ps->word_len++] = c;
	ps->word[ps->word_len] = '\0';
	return 0;
}

static int
conf_nul_error(struct conf_file *f)
{
	conf_file_error(f, f->line, SFU_ERR_TYPE, "NUL byte in file");
	return CONF_TOKEN_ERROR;
}

/*
 * An unquoted word runs to the next blank, ';', '{' or '}'. '#' inside it
 * is an ordinary byte, as in nginx and sh ("a#b" is one word); so is '\'.
 * A quote inside it is refused rather than kept, so that abc"def" is not
 * silently read as a word with quote characters in it.
 */
static int
conf_read_word(struct conf_file *f)
{
	int line = f->line;
	char c;

	while (f->p < f->end) {
		c = *f->p;
		if (conf_is_separator(c)) {
			break;
		}
		if (c == '\0') {
			return conf_nul_error(f);
		}
		if (c == '"' || c == '\'') {
			conf_unexpected(f, f->line, c);
			return CONF_TOKEN_ERROR;
		}
		if (conf_word_append(f, line, c) == -1) {
			return CONF_TOKEN_ERROR;
		}
		f->p++;
	}
	return CONF_TOKEN_WORD;
}

/*
 * A quoted word: 'q' is ' or ", f->p is on it. It may span lines and
 * contain blanks, ';', '{', '}' and '#'. Escapes are \" \' \\ \n \t; any
 * other backslash is kept with the byte after it, as nginx does. The
 * closing quote must be followed by a separator or the end of the text
 * (nginx: "abc"def is an error).
 */
static int
conf_read_quoted(struct conf_file *f, char q)
{
	int start_line = f->line;
	char c;

	f->p++;
	for (;;) {
		if (f->p == f->end) {
			conf_file_error(f, start_line, SFU_ERR_TYPE,
			    "unterminated quoted string");
			return CONF_TOKEN_ERROR;
		}
		c = *f->p++;
		if (c == q) {
			break;
		}
		if (c == '\0') {
			return conf_nul_error(f);
		}
		if (c == '\n') {
			f->line++;
		} else if (c == '\\' && f->p < f->end) {
			switch (*f->p) {
			case '"':
			case '\'':
			case '\\':
				c = *f->p++;
				break;
			case 'n':
				c = '\n';
				f->p++;
				break;
			case 't':
				c = '\t';
				f->p++;
				break;
			default:
				/* kept: the next byte is read on its own */
				break;
			}
		}
		if (conf_word_append(f, start_line, c) == -1) {
			return CONF_TOKEN_ERROR;
		}
	}
	if (f->p < f->end && !conf_is_separator(*f->p)) {
		if (*f->p == '\0') {
			return conf_nul_error(f);
		}
		conf_unexpected(f, f->line, *f->p);
		return CONF_TOKEN_ERROR;
	}
	return CONF_TOKEN_WORD;
}

/*
 * Reads the next token; *linep gets its line (for CONF_TOKEN_EOF the line
 * of the text's last byte). A word is left in parser->word.
 */
static int
conf_next_token(struct conf_file *f, int *linep)
{
	char c = '\0';

	f->parser->word_len = 0;
	f->parser->word[0] = '\0';
	for (;;) {
		if (f->p == f->end) {
			*linep = f->eof_line;
			return CONF_TOKEN_EOF;
		}
		c = *f->p;
		if (c == '\0') {
			return conf_nul_error(f);
		}
		if (c == '\n') {
			f->line++;
			f->p++;
		} else if (conf_is_space(c)) {
			f->p++;
		} else if (c == '#') {
			while (f->p < f->end && *f->p != '\n') {
				if (*f->p == '\0') {
					return conf_nul_error(f);
				}
				f->p++;
			}
		} else {
			break;
		}
	}
	*linep = f->line;
	switch (c) {
	case ';':
		f->p++;
		return CONF_TOKEN_SEMICOLON;
	case '{':
		f->p++;
		return CONF_TOKEN_OPEN;
	case '}':
		f->p++;
		return CONF_TOKEN_CLOSE;
	case '"':
	case '\'':
		return conf_read_quoted(f, c);
	default:
		return conf_read_word(f);
	}
}

/* --- files and includes --- */

/*
 * Reads a whole regular file of at most SFU_CONF_MAX_FILE_LEN bytes into
 * *textp (owned by the caller). On failure returns -1 and writes why into
 * why ("No such file or directory", "file too large ...") and its kind
 * into *kindp. O_NONBLOCK: should a FIFO replace the file between stat()
 * and open() it must not block open(), and a regular file that would block
 * a read (/proc/kmsg) fails instead of hanging.
 */
static int
conf_read_file(const char *path, char **textp, size_t *lenp,
    enum sfu_error_kind *kindp, char *why, size_t whylen)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd = -1, e, rc = -1;

	*kindp = SFU_ERR_ERROR;

	/*
	 * Look before opening: opening a device can have effects of its own
	 * (a tape rewinds, a watchdog starts). fstat() below checks again.
	 */
	if (stat(path, &st) == -1) {
		e = errno;
		snprintf(why, whylen, "%s", strerror(e));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		e = errno;
		snprintf(why, whylen, "%s", strerror(e));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		e = errno;
		snprintf(why, whylen, "fstat failed: %s", strerror(e));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		goto out;
	}

	/* One byte more than allowed, to see a file that is too large. */
	cap = st.st_size > 0 && st.st_size < SFU_CONF_MAX_FILE_LEN
	          ? (size_t)st.st_size + 1
	          : 4096;
	text = sfu_xmalloc(cap);
	for (;;) {
		if (len == cap) {
			if (cap > SFU_CONF_MAX_FILE_LEN) {
				break;
			}
			cap = cap * 2 > SFU_CONF_MAX_FILE_LEN
			          ? SFU_CONF_MAX_FILE_LEN + 1
			          : cap * 2;
			text = sfu_xrealloc(text, cap);
		}
		n = read(fd, text + len, cap - len);
		if (n == -1 && errno == EINTR) {
			continue;
		}
		if (n == -1) {
			e = errno;
			snprintf(why, whylen, "read failed: %s", strerror(e));
			goto out;
		}
		if (n == 0) {
			break;
		}
		len += (size_t)n;
	}
	if (len > SFU_CONF_MAX_FILE_LEN) {
		*kindp = SFU_ERR_TYPE;
		snprintf(why, whylen, "file too large (more than %d bytes)",
		    SFU_CONF_MAX_FILE_LEN);
		goto out;
	}
	*textp = text;
	*lenp = len;
	text = NULL;
	rc = 0;
out:
	free(text);
	if (fd != -1) {
		close(fd);
	}
	return rc;
}

static int conf_parse_text(struct conf_parser *, const char *, const char *,
    size_t, int, struct sfu_conf_block *, int);

/* Reads and parses one included file into b. */
static int
conf_include_file(struct conf_file *f, const struct sfu_conf_directive *d,
    const char *path, struct sfu_conf_block *b, int depth)
{
	enum sfu_error_kind kind;
	const char *name = NULL;
	char why[SFU_ERROR_REASON_LEN];
	char *text = NULL;
	size_t len = 0;
	int rc = -1;

	if (f->include_depth >= SFU_CONF_MAX_INCLUDE) {
		conf_file_error(f, d->line, SFU_ERR_TYPE,
		    "include nesting too deep (cycle?)");
		goto out;
	}
	if (conf_read_file(path, &text, &len, &kind, why, sizeof(why)) == -1) {
		conf_file_error(
		    f, d->line, kind, "include \"%s\": %s", path, why);
		goto out;
	}
	name = conf_add_file(f->parser->conf, path);
	rc = conf_parse_text(
	    f->parser, name, text, len, f->include_depth + 1, b, depth);
out:
	free(text);
	return rc;
}

/*
 * "include PATH;": PATH relative to the directory of the including file;
 * with a wildcard (nginx's test: any of "*?[") it is a glob(3) pattern
 * whose matches are read in sorted order and which may match nothing;
 * otherwise the file must exist. The directory part is escaped in the
 * pattern, so only PATH's own wildcards count.
 */
static int
conf_include(struct conf_file *f, const struct sfu_conf_directive *d,
    struct sfu_conf_block *b, int depth)
{
	const char *arg = NULL, *slash = NULL, *s = NULL;
	char *path = NULL, *pattern = NULL, *q = NULL;
	size_t dirlen = 0, i;
	glob_t gl;
	bool has_glob = false;
	int grc, rc = -1;

	memset(&gl, 0, sizeof(gl));
	if (d->nargs != 1) {
		conf_file_error(f, d->line, SFU_ERR_TYPE,
		    "\"include\" takes exactly one argument");
		goto out;
	}
	arg = d->args[0];
	if (arg[0] != '/') {
		slash = strrchr(f->name, '/');
		dirlen = slash == NULL ? 0 : (size_t)(slash - f->name) + 1;
	}
	if (strpbrk(arg, "*?[") == NULL) {
		path = sfu_xasprintf("%.*s%s", (int)dirlen, f->name, arg);
		rc = conf_include_file(f, d, path, b, depth);
		goto out;
	}

	pattern = sfu_xmalloc(2 * dirlen + strlen(arg) + 1);
	q = pattern;
	for (s = f->name; s < f->name + dirlen; s++) {
		if (*s == '*' || *s == '?' || *s == '[' || *s == '\\') {
			*q++ = '\\';
		}
		*q++ = *s;
	}
	strcpy(q, arg);
	has_glob = true;
	grc = glob(pattern, 0, NULL, &gl);
	if (grc == GLOB_NOMATCH) {
		rc = 0;
		goto out;
	}
	if (grc != 0) {
		conf_file_error(f, d->line, SFU_ERR_ERROR,
		    "include \"%s\": glob failed", pattern);
		goto out;
	}
	for (i = 0; i < gl.gl_pathc; i++) {
		if (conf_include_file(f, d, gl.gl_pathv[i], b, depth) == -1) {
			goto out;
		}
	}
	rc = 0;
out:
	if (has_glob) {
		globfree(&gl);
	}
	free(pattern);
	free(path);
	return rc;
}

/* --- parser --- */

/*
 * Parses directives into b until the end of the text (when !in_block) or
 * the '}' that closes b (when in_block). depth is how many blocks enclose
 * b, counting those of including files.
 */
static int
conf_parse_block(
    struct conf_file *f, struct sfu_conf_block *b, int depth, bool in_block)
{
	struct conf_parser *ps = f->parser;
	struct sfu_conf_directive *d = NULL, *parent = NULL;
	int tok, line = 0, rc = -1;

	for (;;) {
		tok = conf_next_token(f, &line);
		switch (tok) {
		case CONF_TOKEN_WORD:
			if (d == NULL) {
				if (ps->word_len == 0) {
					conf_file_error(f, line, SFU_ERR_TYPE,
					    "directive has no name");
					goto out;
				}
				d = conf_directive_new(
				    f->name, line, ps->word, ps->word_len);
				break;
			}
			if (d->nargs == SFU_CONF_MAX_ARGS) {
				conf_file_error(f, line, SFU_ERR_TYPE,
				    "too many arguments in \"%s\" "
				    "(more than %d)",
				    d->name, SFU_CONF_MAX_ARGS);
				goto out;
			}
			conf_directive_add_arg(d, ps->word, ps->word_len);
			break;
		case CONF_TOKEN_SEMICOLON:
			if (d == NULL) {
				conf_unexpected(f, line, ';');
				goto out;
			}
			if (strcmp(d->name, "include") == 0) {
				if (conf_include(f, d, b, depth) == -1) {
					goto out;
				}
				conf_directive_free(d);
			} else {
				TAILQ_INSERT_TAIL(&b->directives, d, entry);
			}
			d = NULL;
			break;
		case CONF_TOKEN_OPEN:
			if (d == NULL) {
				conf_unexpected(f, line, '{');
				goto out;
			}
			if (strcmp(d->name, "include") == 0) {
				conf_file_error(f, line, SFU_ERR_TYPE,
				    "\"include\" takes no block");
				goto out;
			}
			if (depth >= SFU_CONF_MAX_DEPTH) {
				conf_file_error(f, line, SFU_ERR_TYPE,
				    "block nesting too deep (more than %d "
				    "levels)",
				    SFU_CONF_MAX_DEPTH);
				goto out;
			}
			d->block = sfu_xcalloc(1, sizeof(*d->block));
			TAILQ_INIT(&d->block->directives);
			TAILQ_INSERT_TAIL(&b->directives, d, entry);
			parent = d;
			d = NULL; /* owned by b from here on */
			if (conf_parse_block(
			        f, parent->block, depth + 1, true) == -1) {
				goto out;
			}
			break;
		case CONF_TOKEN_CLOSE:
			if (d != NULL || !in_block) {
				conf_unexpected(f, line, '}');
				goto out;
			}
			rc = 0;
			goto out;
		case CONF_TOKEN_EOF:
			if (d != NULL) {
				conf_file_error(f, line, SFU_ERR_TYPE,
				    "unexpected end of file, "
				    "expecting \";\" or \"}\"");
				goto out;
			}
			if (in_block) {
				conf_file_error(f, line, SFU_ERR_TYPE,
				    "unexpected end of file, expecting \"}\"");
				goto out;
			}
			rc = 0;
			goto out;
		case CONF_TOKEN_ERROR:
		default:
			goto out;
		}
	}
out:
	conf_directive_free(d);
	return rc;
}

/*
 * Parses the text of the file called name (already in conf->files) into b.
 * Blocks must balance within one file, as in nginx.
 */
static int
conf_parse_text(struct conf_parser *ps, const char *name, const char *text,
    size_t len, int include_depth, struct sfu_conf_block *b, int depth)
{
	struct conf_file f;
	size_t i;

	memset(&f, 0, sizeof(f));
	f.parser = ps;
	f.name = name;
	f.p = text;
	f.end = text + len;
	f.line = 1;
	f.include_depth = include_depth;

	/*
	 * An end-of-file error names the last line that has a byte on it,
	 * not the empty "line" after a final newline.
	 */
	f.eof_line = 1;
	for (i = 0; i + 1 < len; i++) {
		if (text[i] == '\n') {
			f.eof_line++;
		}
	}
	return conf_parse_block(&f, b, depth, false);
}

static struct sfu_conf *
conf_new(void)
{
	struct sfu_conf *conf = NULL;

	conf = sfu_xcalloc(1, sizeof(*conf));
	TAILQ_INIT(&conf->root.directives);
	conf->files = NULL;
	conf->nfiles = 0;
	return conf;
}

static struct sfu_conf *
conf_parse(
    const char *name, const char *text, size_t len, struct sfu_error *err)
{
	struct conf_parser *ps = NULL;
	struct sfu_conf *conf = NULL;
	const char *stored = NULL;

	conf = conf_new();
	ps = sfu_xcalloc(1, sizeof(*ps)); /* holds a 4 KiB word buffer */
	ps->conf = conf;
	ps->err = err;
	stored = conf_add_file(conf, name);
	if (conf_parse_text(ps, stored, text, len, 0, &conf->root, 0) == -1) {
		sfu_conf_free(conf);
		conf = NULL;
	}
	free(ps);
	return conf;
}

/* --- API --- */

struct sfu_conf *
sfu_conf_parse_file(const char *path, struct sfu_error *err)
{
	struct sfu_conf *conf = NULL;
	enum sfu_error_kind kind;
	char why[SFU_ERROR_REASON_LEN];
	char *text = NULL;
	size_t len = 0;

	if (conf_read_file(path, &text, &len, &kind, why, sizeof(why)) == -1) {
		sfu_error_set(err, kind, "%s: %s", path, why);
		goto out;
	}
	conf = conf_parse(path, text, len, err);
out:
	free(text);
	return conf;
}

struct sfu_conf *
sfu_conf_parse_string(
    const char *name, const char *text, size_t len, struct sfu_error *err)
{
	if (name == NULL) {
		name = "(string)";
	}
	if (text == NULL) {
		text = "";
		len = 0;
	}
	if (len > SFU_CONF_MAX_FILE_LEN) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "%s: file too large (more than %d bytes)", name,
		    SFU_CONF_MAX_FILE_LEN);
		return NULL;
	}
	return conf_parse(name, text, len, err);
}

void
sfu_conf_free(struct sfu_conf *conf)
{
	size_t i;

	if (conf == NULL) {
		return;
	}
	conf_block_clear(&conf->root);
	for (i = 0; i < conf->nfiles; i++) {
		free(conf->files[i]);
	}
	free(conf->files);
	free(conf);
}

struct sfu_conf_directive *
sfu_conf_block_find(const struct sfu_conf_block *b, const char *name)
{
	struct sfu_conf_directive *d = NULL;

	if (b == NULL) {
		return NULL;
	}
	TAILQ_FOREACH(d, &b->directives, entry)
	{
		if (strcmp(d->name, name) == 0) {
			return d;
		}
	}
	return NULL;
}

void
sfu_conf_error(struct sfu_error *err, const struct sfu_conf_directive *d,
    const char *fmt, ...)
{
	char msg[SFU_ERROR_REASON_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (d == NULL) {
		sfu_error_set(err, SFU_ERR_TYPE, "%s", msg);
		return;
	}
	sfu_error_set(err, SFU_ERR_TYPE, "%s:%d: %s", d->file, d->line, msg);
}
