/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for common/conf: the nginx-style tokenizer and parser, its
 * includes (relative, glob, inside blocks) and every error it reports, with
 * the exact "file:line: " of each. Tests that need files write them into a
 * fresh mkdtemp() directory (the "tmpdir" fixture) which teardown removes.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/conf.h"
#include "common/error.h"
#include "common/mem.h"
#include "helpers.h"

/* --- helpers --- */

static int
setup_tmpdir(void **state)
{
	return helpers_setup_tmpdir(state, "test_conf");
}

/* Writes text to dir/rel; returns the full path (owned). */
static char *
write_file(const struct helpers_tmpdir *t, const char *rel, const char *text)
{
	return helpers_write_file(t->path, rel, text, strlen(text));
}

static struct sfu_conf *
parse(const char *text, struct sfu_error *err)
{
	return sfu_conf_parse_string("t.conf", text, strlen(text), err);
}

/* Parses text (of len bytes) and expects a TypeError reading reason. */
static void
expect_error_len(const char *text, size_t len, const char *reason)
{
	struct sfu_conf *conf = NULL;
	struct sfu_error err;

	sfu_error_clear(&err);
	conf = sfu_conf_parse_string("t.conf", text, len, &err);
	assert_null(conf);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(err.reason, reason);
}

static void
expect_error(const char *text, const char *reason)
{
	expect_error_len(text, strlen(text), reason);
}

/* The i-th (0-based) directive of b. */
static struct sfu_conf_directive *
nth(const struct sfu_conf_block *b, int i)
{
	struct sfu_conf_directive *d = NULL;

	TAILQ_FOREACH(d, &b->directives, entry)
	{
		if (i-- == 0) {
			return d;
		}
	}
	fail_msg("no directive %d", i);
	return NULL;
}

static int
count(const struct sfu_conf_block *b)
{
	struct sfu_conf_directive *d = NULL;
	int n = 0;

	TAILQ_FOREACH(d, &b->directives, entry)
	{
		n++;
	}
	return n;
}

/* Asserts d is "name" at line with the given file. */
static void
assert_directive(const struct sfu_conf_directive *d, const char *name,
    const char *file, int line, size_t nargs)
{
	assert_non_null(d);
	assert_string_equal(d->name, name);
	assert_string_equal(d->file, file);
	assert_int_equal(d->line, line);
	assert_int_equal(d->nargs, nargs);
}

/* --- good input --- */

/* Proves words, ';' and line numbers of plain directives are kept. */
static void
test_conf_parses_directives_and_args(void **state)
{
	struct sfu_conf *conf = NULL;
	struct sfu_conf_directive *d = NULL;
	struct sfu_error err;

	(void)state;
	conf = parse("daemon off;\n\n  worker_processes\tauto ;\n"
	             "listen udp 0.0.0.0 44444;bare;\n",
	    &err);
	assert_non_null(conf);
	assert_int_equal(count(&conf->root), 4);
	assert_int_equal(conf->nfiles, 1);
	assert_string_equal(conf->files[0], "t.conf");

	d = nth(&conf->root, 0);
	assert_directive(d, "daemon", "t.conf", 1, 1);
	assert_ptr_equal(d->file, conf->files[0]);
	assert_string_equal(d->args[0], "off");
	assert_null(d->block);
	d = nth(&conf->root, 1);
	assert_directive(d, "worker_processes", "t.conf", 3, 1);
	assert_string_equal(d->args[0], "auto");
	d = nth(&conf->root, 2);
	assert_directive(d, "listen", "t.conf", 4, 3);
	assert_string_equal(d->args[0], "udp");
	assert_string_equal(d->args[1], "0.0.0.0");
	assert_string_equal(d->args[2], "44444");
	d = nth(&conf->root, 3);
	assert_directive(d, "bare", "t.conf", 4, 0);
	sfu_conf_free(conf);
}

/* Proves blocks nest, keep their order, and may be empty or have args. */
static void
test_conf_parses_nested_blocks(void **state)
{
	struct sfu_conf *conf = NULL;
	struct sfu_conf_directive *d = NULL, *inner = NULL;
	struct sfu_error err;

	(void)state;
	conf = parse("admin {\n  listen run/sfud.sock;\n  mode 0600;\n}\n"
	             "server a b{inner{x;}y;}\nempty {}\nlast;",
	    &err);
	assert_non_null(conf);
	assert_int_equal(count(&conf->root), 4);

	d = nth(&conf->root, 0);
	assert_directive(d, "admin", "t.conf", 1, 0);
	assert_non_null(d->block);
	assert_int_equal(count(d->block), 2);
	assert_directive(nth(d->block, 0), "listen", "t.conf", 2, 1);
	assert_directive(nth(d->block, 1), "mode", "t.conf", 3, 1);

	d = nth(&conf->root, 1);
	assert_directive(d, "server", "t.conf", 5, 2);
	assert_string_equal(d->args[1], "b");
	assert_int_equal(count(d->block), 2);
	inner = nth(d->block, 0);
	assert_directive(inner, "inner", "t.conf", 5, 0);
	assert_int_equal(count(inner->block), 1);
	assert_directive(nth(inner->block, 0), "x", "t.conf", 5, 0);
	assert_directive(nth(d->block, 1), "y", "t.conf", 5, 0);

	d = nth(&conf->root, 2);
	assert_directive(d, "empty", "t.conf", 6, 0);
	assert_non_null(d->block);
	assert_int_equal(count(d->block), 0);
	assert_directive(nth(&conf->root, 3), "last", "t.conf", 7, 0);
	sfu_conf_free(conf);
}

/* Proves both quote kinds make one word holding blanks, ; { } # and escapes. */
static void
test_conf_parses_quoted_strings_with_escapes(void **state)
{
	struct sfu_conf *conf = NULL;
	struct sfu_conf_directive *d = NULL;
	struct sfu_error err;

	(void)state;
	conf = parse("\"quoted name\" \"a b;{}#c\" 'x \"y\" z' "
	             "\"\\\"\\'\\\\\" 'tab\\tnl\\n' \"\\q\\$\" '' \"\";\n"
	             "next \"x\"{ 'y'; }\n",
	    &err);
	assert_non_null(conf);
	d = nth(&conf->root, 0);
	assert_directive(d, "quoted name", "t.conf", 1, 7);
	assert_string_equal(d->args[0], "a b;{}#c");
	assert_string_equal(d->args[1], "x \"y\" z");
	assert_string_equal(d->args[2], "\"'\\");
	assert_string_equal(d->args[3], "tab\tnl\n");
	/* unknown escapes keep the backslash, as nginx */
	assert_string_equal(d->args[4], "\\q\\$");
	assert_string_equal(d->args[5], "");
	assert_string_equal(d->args[6], "");

	d = nth(&conf->root, 1);
	assert_directive(d, "next", "t.conf", 2, 1);
	assert_string_equal(d->args[0], "x");
	assert_directive(nth(d->block, 0), "y", "t.conf", 2, 0);
	sfu_conf_free(conf);
}

/* Proves '#' comments run to end of line but not inside quotes or words. */
static void
test_conf_skips_comments(void **state)
{
	struct sfu_conf *conf = NULL;
	struct sfu_conf_directive *d = NULL;
	struct sfu_error err;

	(void)state;
	conf = parse("# header ; { }\n"
	             "a 1; # trailing \"quote\n"
	             "b # inside a directive\n"
	             "  2 \"#not\" c#d;\n"
	             "#last line without newline",
	    &err);
	assert_non_null(conf);
	assert_int_equal(count(&conf->root), 2);
	d = nth(&conf->root, 0);
	assert_directive(d, "a", "t.conf", 2, 1);
	d = nth(&conf->root, 1);
	assert_directive(d, "b", "t.conf", 3, 3);
	assert_string_equal(d->args[0], "2");
	assert_string_equal(d->args[1], "#not");
	assert_string_equal(d->args[2], "c#d");
	sfu_conf_free(conf);
}

/* Proves an empty, blank or comment-only text is a valid empty config. */
static void
test_conf_parses_empty_file(void **state)
{
	const char *texts[] = {"", "\n\n \t\r\n", "# only a comment\n"};
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		conf = parse(texts[i], &err);
		assert_non_null(conf);
		assert_true(TAILQ_EMPTY(&conf->root.directives));
		assert_int_equal(conf->nfiles, 1);
		sfu_conf_free(conf);
	}
	conf = sfu_conf_parse_string("t.conf", NULL, 0, &err);
	assert_non_null(conf);
	assert_true(TAILQ_EMPTY(&conf->root.directives));
	sfu_conf_free(conf);
}

/* Proves lines are counted inside multi-line quoted strings and escapes. */
static void
test_conf_counts_lines_across_multiline_strings(void **state)
{
	struct sfu_conf *conf = NULL;
	struct sfu_conf_directive *d = NULL;
	struct sfu_error err;

	(void)state;
	conf = parse("a \"one\ntwo\n\" 'x\\\ny';\nb;\n\"c\nd\" e;", &err);
	assert_non_null(conf);
	d = nth(&conf->root, 0);
	assert_directive(d, "a", "t.conf", 1, 2);
	assert_string_equal(d->args[0], "one\ntwo\n");
	assert_string_equal(d->args[1], "x\\\ny");
	assert_directive(nth(&conf->root, 1), "b", "t.conf", 5, 0);
	/* a directive's line is the line where its name starts */
	assert_directive(nth(&conf->root, 2), "c\nd", "t.conf", 6, 1);
	sfu_conf_free(conf);
}

/* Proves parse_string reads exactly len bytes and needs no NUL. */
static void
test_conf_parse_string_honours_len(void **state)
{
	static const char text[] = "a 1;b 2;";
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *buf = NULL;

	(void)state;
	conf = sfu_conf_parse_string("t.conf", text, 4, &err);
	assert_non_null(conf);
	assert_int_equal(count(&conf->root), 1);
	sfu_conf_free(conf);

	/* exactly len bytes on the heap: ASan sees any read past them */
	buf = sfu_xmalloc(5);
	memcpy(buf, "x \"y\"", 5);
	expect_error_len(buf, 5,
	    "t.conf:1: unexpected end of file, expecting \";\" or \"}\"");
	memcpy(buf, "x \"yz", 5);
	expect_error_len(buf, 5, "t.conf:1: unterminated quoted string");
	memcpy(buf, "x '\\'", 5);
	expect_error_len(buf, 5, "t.conf:1: unterminated quoted string");
	memcpy(buf, "a;# c", 5);
	conf = sfu_conf_parse_string("t.conf", buf, 5, &err);
	assert_non_null(conf);
	sfu_conf_free(conf);
	free(buf);
}

/* Proves parse_file reads a file and names it in files and directives. */
static void
test_conf_parse_file_reads_file(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *path = NULL;

	path = write_file(t, "sfud.conf", "daemon off;\nworker {\n x 1;\n}\n");
	conf = sfu_conf_parse_file(path, &err);
	assert_non_null(conf);
	assert_int_equal(conf->nfiles, 1);
	assert_string_equal(conf->files[0], path);
	assert_directive(nth(&conf->root, 0), "daemon", path, 1, 1);
	assert_ptr_equal(nth(&conf->root, 0)->file, conf->files[0]);
	assert_directive(nth(nth(&conf->root, 1)->block, 0), "x", path, 3, 1);
	sfu_conf_free(conf);
	free(path);
}

/* Proves includes resolve against the including file's own directory. */
static void
test_conf_include_resolves_relative_paths(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *main_path = NULL, *a = NULL, *b = NULL;

	helpers_make_dir(t->path, "sub");
	main_path =
	    write_file(t, "main.conf", "first;\ninclude sub/a.conf;\nlast;\n");
	a = write_file(t, "sub/a.conf", "\na1;\ninclude b.conf;\n");
	b = write_file(t, "sub/b.conf", "\n\nb1 x;\n");
	conf = sfu_conf_parse_file(main_path, &err);
	assert_non_null(conf);
	assert_int_equal(count(&conf->root), 4);
	assert_directive(nth(&conf->root, 0), "first", main_path, 1, 0);
	assert_directive(nth(&conf->root, 1), "a1", a, 2, 0);
	assert_directive(nth(&conf->root, 2), "b1", b, 3, 1);
	assert_directive(nth(&conf->root, 3), "last", main_path, 3, 0);
	assert_int_equal(conf->nfiles, 3);
	assert_string_equal(conf->files[0], main_path);
	assert_string_equal(conf->files[1], a);
	assert_string_equal(conf->files[2], b);
	assert_ptr_equal(nth(&conf->root, 2)->file, conf->files[2]);
	sfu_conf_free(conf);
	free(main_path);
	free(a);
	free(b);
}

/* Proves an absolute include path is used as is. */
static void
test_conf_include_absolute_path(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *inc = NULL, *text = NULL;

	inc = write_file(t, "abs.conf", "from_abs;\n");
	text = sfu_xasprintf("include \"%s\";", inc);
	conf =
	    sfu_conf_parse_string("elsewhere/t.conf", text, strlen(text), &err);
	assert_non_null(conf);
	assert_directive(nth(&conf->root, 0), "from_abs", inc, 1, 0);
	sfu_conf_free(conf);
	free(text);
	free(inc);
}

/* Proves a glob include reads its matches in sorted order. */
static void
test_conf_include_glob_in_sorted_order(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *main_path = NULL;
	const char *names[] = {"c.conf", "a.conf", "b.conf", "skip.txt"};
	char *paths[4];
	size_t i;

	helpers_make_dir(t->path, "conf.d");
	for (i = 0; i < 4; i++) {
		char rel[64], text[64];

		snprintf(rel, sizeof(rel), "conf.d/%s", names[i]);
		snprintf(text, sizeof(text), "from_%c;\n", names[i][0]);
		paths[i] = write_file(t, rel, text);
	}
	main_path = write_file(t, "main.conf", "include conf.d/*.conf;\n");
	conf = sfu_conf_parse_file(main_path, &err);
	assert_non_null(conf);
	assert_int_equal(count(&conf->root), 3);
	assert_directive(nth(&conf->root, 0), "from_a", paths[1], 1, 0);
	assert_directive(nth(&conf->root, 1), "from_b", paths[2], 1, 0);
	assert_directive(nth(&conf->root, 2), "from_c", paths[0], 1, 0);
	assert_int_equal(conf->nfiles, 4);
	sfu_conf_free(conf);
	free(main_path);
	for (i = 0; i < 4; i++) {
		free(paths[i]);
	}
}

/* Proves a glob matching nothing is not an error (nginx). */
static void
test_conf_include_glob_without_match_is_ok(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *main_path = NULL;

	main_path = write_file(t, "main.conf",
	    "a;\ninclude none/*.conf;\ninclude n?ne.conf;\nb;\n");
	conf = sfu_conf_parse_file(main_path, &err);
	assert_non_null(conf);
	assert_int_equal(count(&conf->root), 2);
	assert_int_equal(conf->nfiles, 1);
	sfu_conf_free(conf);
	free(main_path);
}

/* Proves wildcards in the including file's directory are not expanded. */
static void
test_conf_include_escapes_glob_chars_in_directory(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *main_path = NULL, *inc = NULL;

	helpers_make_dir(t->path, "d[1]*");
	main_path = write_file(t, "d[1]*/main.conf", "include *.inc;\n");
	inc = write_file(t, "d[1]*/x.inc", "x;\n");
	conf = sfu_conf_parse_file(main_path, &err);
	assert_non_null(conf);
	assert_directive(nth(&conf->root, 0), "x", inc, 1, 0);
	sfu_conf_free(conf);
	free(main_path);
	free(inc);
}

/* Proves an include inside a block splices its directives into the block. */
static void
test_conf_include_inside_block_splices(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_conf_directive *w = NULL;
	struct sfu_error err;
	char *main_path = NULL, *inc = NULL;

	main_path = write_file(t, "main.conf",
	    "worker {\n  before;\n  include w.inc;\n  after;\n}\nroot;\n");
	inc = write_file(t, "w.inc", "log_level warn;\nsub { x; }\n");
	conf = sfu_conf_parse_file(main_path, &err);
	assert_non_null(conf);
	assert_int_equal(count(&conf->root), 2);
	w = nth(&conf->root, 0);
	assert_int_equal(count(w->block), 4);
	assert_directive(nth(w->block, 0), "before", main_path, 2, 0);
	assert_directive(nth(w->block, 1), "log_level", inc, 1, 1);
	assert_directive(nth(w->block, 2), "sub", inc, 2, 0);
	assert_directive(nth(nth(w->block, 2)->block, 0), "x", inc, 2, 0);
	assert_directive(nth(w->block, 3), "after", main_path, 4, 0);
	assert_directive(nth(&conf->root, 1), "root", main_path, 6, 0);
	sfu_conf_free(conf);
	free(main_path);
	free(inc);
}

/* Proves includes from a string resolve against the directory in its name. */
static void
test_conf_parse_string_includes_relative_to_name(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *name = NULL, *inc = NULL;
	const char *text = "include inc.conf;";

	name = sfu_xasprintf("%s/virtual.conf", t->path);
	inc = write_file(t, "inc.conf", "y 1;");
	conf = sfu_conf_parse_string(name, text, strlen(text), &err);
	assert_non_null(conf);
	assert_directive(nth(&conf->root, 0), "y", inc, 1, 1);
	assert_string_equal(conf->files[0], name);
	sfu_conf_free(conf);
	free(name);
	free(inc);
}

/* Proves 8 nested includes are allowed (the limit is not off by one). */
static void
test_conf_include_accepts_max_nesting(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char rel[32], text[64];
	char *path = NULL, *top = NULL;
	int i;

	for (i = 0; i <= SFU_CONF_MAX_INCLUDE; i++) {
		snprintf(rel, sizeof(rel), "%d.conf", i);
		if (i < SFU_CONF_MAX_INCLUDE) {
			snprintf(text, sizeof(text), "d%d;\ninclude %d.conf;\n",
			    i, i + 1);
		} else {
			snprintf(text, sizeof(text), "d%d;\n", i);
		}
		path = write_file(t, rel, text);
		if (i == 0) {
			top = path;
		} else {
			free(path);
		}
	}
	conf = sfu_conf_parse_file(top, &err);
	assert_non_null(conf);
	assert_int_equal(count(&conf->root), SFU_CONF_MAX_INCLUDE + 1);
	assert_int_equal(conf->nfiles, SFU_CONF_MAX_INCLUDE + 1);
	sfu_conf_free(conf);
	free(top);
}

/* Proves 64 arguments, 4096-byte words and 16 nested blocks are allowed. */
static void
test_conf_accepts_limits(void **state)
{
	struct sfu_conf *conf = NULL;
	struct sfu_conf_block *b = NULL;
	struct sfu_error err;
	char *text = NULL;
	size_t len = 0;
	int i;

	(void)state;
	text = sfu_xcalloc(1, 3 * SFU_CONF_MAX_TOKEN_LEN);
	len = (size_t)sprintf(text, "a");
	for (i = 0; i < SFU_CONF_MAX_ARGS; i++) {
		len += (size_t)sprintf(text + len, " %d", i);
	}
	text[len++] = ';';
	conf = sfu_conf_parse_string("t.conf", text, len, &err);
	assert_non_null(conf);
	assert_int_equal(nth(&conf->root, 0)->nargs, SFU_CONF_MAX_ARGS);
	sfu_conf_free(conf);

	memset(text, 'w', SFU_CONF_MAX_TOKEN_LEN);
	memcpy(text + SFU_CONF_MAX_TOKEN_LEN, " \"", 2);
	memset(text + SFU_CONF_MAX_TOKEN_LEN + 2, 'q', SFU_CONF_MAX_TOKEN_LEN);
	memcpy(text + 2 * SFU_CONF_MAX_TOKEN_LEN + 2, "\";", 2);
	conf = sfu_conf_parse_string(
	    "t.conf", text, 2 * SFU_CONF_MAX_TOKEN_LEN + 4, &err);
	assert_non_null(conf);
	assert_int_equal(
	    strlen(nth(&conf->root, 0)->name), SFU_CONF_MAX_TOKEN_LEN);
	assert_int_equal(
	    strlen(nth(&conf->root, 0)->args[0]), SFU_CONF_MAX_TOKEN_LEN);
	sfu_conf_free(conf);

	len = 0;
	for (i = 0; i < SFU_CONF_MAX_DEPTH; i++) {
		len += (size_t)sprintf(text + len, "b%d {\n", i);
	}
	for (i = 0; i < SFU_CONF_MAX_DEPTH; i++) {
		text[len++] = '}';
	}
	conf = sfu_conf_parse_string("t.conf", text, len, &err);
	assert_non_null(conf);
	b = &conf->root;
	for (i = 0; i < SFU_CONF_MAX_DEPTH; i++) {
		assert_int_equal(nth(b, 0)->line, i + 1);
		b = nth(b, 0)->block;
	}
	assert_true(TAILQ_EMPTY(&b->directives));
	sfu_conf_free(conf);
	free(text);
}

/* Proves block_find returns the first directive of a name, or NULL. */
static void
test_conf_block_find_returns_first_match(void **state)
{
	struct sfu_conf *conf = NULL;
	struct sfu_conf_directive *d = NULL;
	struct sfu_error err;

	(void)state;
	conf = parse("a 1;\nb 2;\nb 3;\nblk { c; }\n", &err);
	assert_non_null(conf);
	d = sfu_conf_block_find(&conf->root, "b");
	assert_non_null(d);
	assert_int_equal(d->line, 2);
	assert_string_equal(d->args[0], "2");
	assert_null(sfu_conf_block_find(&conf->root, "c"));
	assert_null(sfu_conf_block_find(&conf->root, "B"));
	d = sfu_conf_block_find(&conf->root, "blk");
	assert_non_null(sfu_conf_block_find(d->block, "c"));
	assert_null(sfu_conf_block_find(NULL, "c"));
	sfu_conf_free(conf);
}

/* Proves sfu_conf_error formats "file:line: message" as a TypeError. */
static void
test_conf_error_prefixes_file_and_line(void **state)
{
	struct sfu_conf *conf = NULL;
	struct sfu_error err;

	(void)state;
	conf = parse("\n\nworker_processes lots;\n", &err);
	assert_non_null(conf);
	sfu_error_clear(&err);
	sfu_conf_error(&err, nth(&conf->root, 0), "invalid value \"%s\"",
	    nth(&conf->root, 0)->args[0]);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(err.reason, "t.conf:3: invalid value \"lots\"");
	sfu_conf_error(NULL, nth(&conf->root, 0), "ignored");
	sfu_conf_free(conf);
}

/* Proves sfu_conf_free(NULL) and a NULL err are harmless. */
static void
test_conf_free_null_and_null_err(void **state)
{
	struct sfu_conf *conf = NULL;

	(void)state;
	sfu_conf_free(NULL);
	conf = sfu_conf_parse_string("t.conf", "}", 1, NULL);
	assert_null(conf);
	conf = sfu_conf_parse_string("t.conf", "a;", 2, NULL);
	assert_non_null(conf);
	sfu_conf_free(conf);
}

/* --- errors --- */

/* Proves a directive cut off by the end of the text is reported there. */
static void
test_conf_rejects_eof_in_directive(void **state)
{
	(void)state;
	expect_error("a 1;\nb 2\n",
	    "t.conf:2: unexpected end of file, expecting \";\" or \"}\"");
	expect_error("a 1;\nb",
	    "t.conf:2: unexpected end of file, expecting \";\" or \"}\"");
	expect_error("a {\n b\n\n",
	    "t.conf:3: unexpected end of file, expecting \";\" or \"}\"");
}

/* Proves an unclosed block is reported at the last line of the file. */
static void
test_conf_rejects_eof_in_block(void **state)
{
	(void)state;
	expect_error(
	    "a {\n b;\n", "t.conf:2: unexpected end of file, expecting \"}\"");
	expect_error("a {\n b { c; }\n\n# end",
	    "t.conf:4: unexpected end of file, expecting \"}\"");
	expect_error(
	    "a {", "t.conf:1: unexpected end of file, expecting \"}\"");
}

/* Proves a '}' without a block or after unfinished words is refused. */
static void
test_conf_rejects_unexpected_close_brace(void **state)
{
	(void)state;
	expect_error("a;\n}\n", "t.conf:2: unexpected \"}\"");
	expect_error("a {\n b c }\n", "t.conf:2: unexpected \"}\"");
	expect_error("a {\n}\n\n}", "t.conf:4: unexpected \"}\"");
	expect_error("a {\n \"b\"}\n", "t.conf:2: unexpected \"}\"");
}

/* Proves a '{' with no directive name before it is refused. */
static void
test_conf_rejects_unexpected_open_brace(void **state)
{
	(void)state;
	expect_error("a;\n\n{ b; }\n", "t.conf:3: unexpected \"{\"");
	expect_error("a { { } }", "t.conf:1: unexpected \"{\"");
}

/* Proves a ';' with no directive name before it is refused. */
static void
test_conf_rejects_unexpected_semicolon(void **state)
{
	(void)state;
	expect_error("a;\n;\n", "t.conf:2: unexpected \";\"");
	expect_error("a;;", "t.conf:1: unexpected \";\"");
	expect_error("a {\n\n ; }", "t.conf:3: unexpected \";\"");
}

/* Proves an unterminated string is reported at the line it started on. */
static void
test_conf_rejects_unterminated_string(void **state)
{
	(void)state;
	expect_error(
	    "a 1;\nb \"x\ny\nz;\n", "t.conf:2: unterminated quoted string");
	expect_error("a 'x\\'", "t.conf:1: unterminated quoted string");
	expect_error("a\n\n'", "t.conf:3: unterminated quoted string");
}

/* Proves an empty quoted directive name is refused. */
static void
test_conf_rejects_directive_without_name(void **state)
{
	(void)state;
	expect_error("a;\n\"\" x;\n", "t.conf:2: directive has no name");
	expect_error("'' { }", "t.conf:1: directive has no name");
}

/* Proves a quote glued to a word is refused, as in nginx. */
static void
test_conf_rejects_quote_glued_to_word(void **state)
{
	(void)state;
	expect_error("a \"abc\"def;", "t.conf:1: unexpected \"d\"");
	expect_error("a\n'x''y';", "t.conf:2: unexpected \"'\"");
	expect_error("a abc\"def\";", "t.conf:1: unexpected '\"'");
	expect_error("a \"x\"#c\n;", "t.conf:1: unexpected \"#\"");
	expect_error("a \"x\"\x01;", "t.conf:1: unexpected \"\\x01\"");
}

/* Proves a directive with more than 64 arguments is refused. */
static void
test_conf_rejects_too_many_arguments(void **state)
{
	char text[1024];
	size_t len = 0;
	int i;

	(void)state;
	len = (size_t)sprintf(text, "ok;\nmany");
	for (i = 0; i <= SFU_CONF_MAX_ARGS; i++) {
		len += (size_t)sprintf(text + len, " %d", i);
	}
	text[len++] = ';';
	expect_error_len(text, len,
	    "t.conf:2: too many arguments in \"many\" (more than 64)");
}

/* Proves a word over 4096 bytes, quoted or not, is refused at its line. */
static void
test_conf_rejects_token_too_long(void **state)
{
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *text = NULL;
	size_t len = 0;

	(void)state;
	text = sfu_xmalloc(SFU_CONF_MAX_TOKEN_LEN + 16);
	memcpy(text, "a;\n", 3);
	memset(text + 3, 'x', SFU_CONF_MAX_TOKEN_LEN + 1);
	len = 3 + SFU_CONF_MAX_TOKEN_LEN + 1;
	expect_error_len(
	    text, len, "t.conf:2: token too long (more than 4096 bytes)");

	/* a quoted word is measured after escapes, from its first line */
	memcpy(text, "a \"\n", 4);
	memset(text + 4, 'y', SFU_CONF_MAX_TOKEN_LEN);
	memcpy(text + 4 + SFU_CONF_MAX_TOKEN_LEN, "\";", 2);
	len = 4 + SFU_CONF_MAX_TOKEN_LEN + 2;
	expect_error_len(
	    text, len, "t.conf:1: token too long (more than 4096 bytes)");

	/* 4097 bytes of text, but "\n" is one byte: exactly at the limit */
	text[4] = '\\';
	text[5] = 'n';
	conf = sfu_conf_parse_string("t.conf", text, len, &err);
	assert_non_null(conf);
	assert_int_equal(
	    strlen(nth(&conf->root, 0)->args[0]), SFU_CONF_MAX_TOKEN_LEN);
	sfu_conf_free(conf);
	free(text);
}

/* Proves a 17th nested block is refused at the line of its '{'. */
static void
test_conf_rejects_deep_nesting(void **state)
{
	char text[512];
	size_t len = 0;
	int i;

	(void)state;
	for (i = 0; i <= SFU_CONF_MAX_DEPTH; i++) {
		len += (size_t)sprintf(text + len, "b%d\n{\n", i);
	}
	for (i = 0; i <= SFU_CONF_MAX_DEPTH; i++) {
		text[len++] = '}';
	}
	expect_error_len(text, len,
	    "t.conf:34: block nesting too deep (more than 16 levels)");
}

/* Proves a NUL byte anywhere (word, string, comment, blank) is refused. */
static void
test_conf_rejects_nul_byte(void **state)
{
	(void)state;
	expect_error_len("a;\nb c\0;", 8, "t.conf:2: NUL byte in file");
	expect_error_len("a;\n\"b\nc\0\";", 10, "t.conf:3: NUL byte in file");
	expect_error_len("a; # x\0\n", 8, "t.conf:1: NUL byte in file");
	expect_error_len("a;\n\n\0", 5, "t.conf:3: NUL byte in file");
	expect_error_len("a \"b\"\0;", 7, "t.conf:1: NUL byte in file");
}

/* Proves texts and files over 1 MiB are refused, top level or included. */
static void
test_conf_rejects_file_too_large(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *big = NULL, *path = NULL, *main_path = NULL, *want = NULL;
	size_t len = SFU_CONF_MAX_FILE_LEN + 1;

	big = sfu_xmalloc(len);
	memset(big, '\n', len);
	expect_error_len(
	    big, len, "t.conf: file too large (more than 1048576 bytes)");

	path = helpers_write_file(t->path, "big.conf", big, len);
	conf = sfu_conf_parse_file(path, &err);
	assert_null(conf);
	want =
	    sfu_xasprintf("%s: file too large (more than 1048576 bytes)", path);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(err.reason, want);
	free(want);

	main_path = write_file(t, "main.conf", "a;\ninclude big.conf;\n");
	conf = sfu_conf_parse_file(main_path, &err);
	assert_null(conf);
	want = sfu_xasprintf("%s:2: include \"%s\": file too large "
	                     "(more than 1048576 bytes)",
	    main_path, path);
	assert_string_equal(err.reason, want);
	free(want);
	free(path);

	/* exactly the limit is fine */
	path = helpers_write_file(t->path, "max.conf", big, len - 1);
	conf = sfu_conf_parse_file(path, &err);
	assert_non_null(conf);
	sfu_conf_free(conf);
	free(path);
	free(main_path);
	free(big);
}

/* Proves parse_file reports a missing top file as "path: strerror". */
static void
test_conf_rejects_missing_file(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *path = NULL, *want = NULL;

	path = sfu_xasprintf("%s/nope.conf", t->path);
	conf = sfu_conf_parse_file(path, &err);
	assert_null(conf);
	assert_int_equal(err.kind, SFU_ERR_ERROR);
	want = sfu_xasprintf("%s: %s", path, strerror(ENOENT));
	assert_string_equal(err.reason, want);
	free(want);

	conf = sfu_conf_parse_file(t->path, &err);
	assert_null(conf);
	want = sfu_xasprintf("%s: not a regular file", t->path);
	assert_string_equal(err.reason, want);
	free(want);
	free(path);
}

/* Proves include needs exactly one argument and no block. */
static void
test_conf_rejects_include_argument_count(void **state)
{
	(void)state;
	expect_error("a;\ninclude;\n",
	    "t.conf:2: \"include\" takes exactly one argument");
	expect_error("include\na b;\n",
	    "t.conf:1: \"include\" takes exactly one argument");
	expect_error("include x\n{ }", "t.conf:2: \"include\" takes no block");
}

/* Proves a missing plain include names the include's file:line and path. */
static void
test_conf_rejects_include_not_found(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *main_path = NULL, *want = NULL;

	main_path =
	    write_file(t, "main.conf", "a;\nb {\n  include missing.conf;\n}\n");
	conf = sfu_conf_parse_file(main_path, &err);
	assert_null(conf);
	assert_int_equal(err.kind, SFU_ERR_ERROR);
	want = sfu_xasprintf("%s:3: include \"%s/missing.conf\": %s", main_path,
	    t->path, strerror(ENOENT));
	assert_string_equal(err.reason, want);
	free(want);
	free(main_path);
}

/* Proves an include cycle stops at the nesting limit with a clear error. */
static void
test_conf_rejects_include_cycle(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *a = NULL, *b = NULL, *self = NULL, *want = NULL;

	a = write_file(t, "a.conf", "x;\ninclude b.conf;\n");
	b = write_file(t, "b.conf", "\n\ninclude a.conf;\n");
	conf = sfu_conf_parse_file(a, &err);
	assert_null(conf);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	/* a(0) b(1) a(2) ... b(7) a(8): a.conf's include at depth 8 fails */
	want = sfu_xasprintf("%s:2: include nesting too deep (cycle?)", a);
	assert_string_equal(err.reason, want);
	free(want);

	/* a glob that matches its own file */
	self = write_file(t, "self.conf", "include s*.conf;\n");
	conf = sfu_conf_parse_file(self, &err);
	assert_null(conf);
	want = sfu_xasprintf("%s:1: include nesting too deep (cycle?)", self);
	assert_string_equal(err.reason, want);
	free(want);
	free(self);
	free(a);
	free(b);
}

/* Proves a 9th level of nested includes is refused. */
static void
test_conf_rejects_include_nesting_too_deep(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char rel[32], text[64];
	char *path = NULL, *top = NULL, *want = NULL;
	int i;

	for (i = 0; i <= SFU_CONF_MAX_INCLUDE + 1; i++) {
		snprintf(rel, sizeof(rel), "%d.conf", i);
		snprintf(text, sizeof(text), "include %d.conf;\n", i + 1);
		path =
		    write_file(t, rel, i <= SFU_CONF_MAX_INCLUDE ? text : "");
		if (i == 0) {
			top = path;
		} else if (i == SFU_CONF_MAX_INCLUDE) {
			want = sfu_xasprintf(
			    "%s:1: include nesting too deep (cycle?)", path);
			free(path);
		} else {
			free(path);
		}
	}
	conf = sfu_conf_parse_file(top, &err);
	assert_null(conf);
	assert_string_equal(err.reason, want);
	free(want);
	free(top);
}

/* Proves errors inside an included file carry that file's name and line. */
static void
test_conf_rejects_error_in_included_file(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *main_path = NULL, *inc = NULL, *want = NULL;

	main_path = write_file(t, "main.conf", "w {\n include inc.conf;\n}\n");
	inc = write_file(t, "inc.conf", "good;\n\nbad \"x;\n");
	conf = sfu_conf_parse_file(main_path, &err);
	assert_null(conf);
	want = sfu_xasprintf("%s:3: unterminated quoted string", inc);
	assert_string_equal(err.reason, want);
	free(want);
	free(inc);

	/* blocks must balance within each file */
	inc = write_file(t, "inc.conf", "x;\n}\n");
	conf = sfu_conf_parse_file(main_path, &err);
	assert_null(conf);
	want = sfu_xasprintf("%s:2: unexpected \"}\"", inc);
	assert_string_equal(err.reason, want);
	free(want);
	free(inc);

	inc = write_file(t, "inc.conf", "x {\n");
	conf = sfu_conf_parse_file(main_path, &err);
	assert_null(conf);
	want =
	    sfu_xasprintf("%s:1: unexpected end of file, expecting \"}\"", inc);
	assert_string_equal(err.reason, want);
	free(want);
	free(inc);
	free(main_path);
}

/* Proves nesting depth counts the blocks around an include. */
static void
test_conf_rejects_deep_nesting_across_include(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char text[512];
	char *main_path = NULL, *inc = NULL, *want = NULL;
	size_t len = 0;
	int i;

	for (i = 0; i < SFU_CONF_MAX_DEPTH; i++) {
		len += (size_t)sprintf(text + len, "b%d {\n", i);
	}
	len += (size_t)sprintf(text + len, "include inc.conf;\n");
	for (i = 0; i < SFU_CONF_MAX_DEPTH; i++) {
		text[len++] = '}';
	}
	text[len] = '\0';
	main_path = write_file(t, "main.conf", text);
	inc = write_file(t, "inc.conf", "ok;\nblk {\n}\n");
	conf = sfu_conf_parse_file(main_path, &err);
	assert_null(conf);
	want = sfu_xasprintf(
	    "%s:2: block nesting too deep (more than 16 levels)", inc);
	assert_string_equal(err.reason, want);
	free(want);
	free(inc);
	free(main_path);
}

/* Proves including a directory (not a regular file) is an error. */
static void
test_conf_rejects_include_of_directory(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_conf *conf = NULL;
	struct sfu_error err;
	char *main_path = NULL, *want = NULL;

	helpers_make_dir(t->path, "dir");
	main_path = write_file(t, "main.conf", "include dir;\n");
	conf = sfu_conf_parse_file(main_path, &err);
	assert_null(conf);
	want = sfu_xasprintf(
	    "%s:1: include \"%s/dir\": not a regular file", main_path, t->path);
	assert_string_equal(err.reason, want);
	free(want);
	free(main_path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_conf_parses_directives_and_args),
	    cmocka_unit_test(test_conf_parses_nested_blocks),
	    cmocka_unit_test(test_conf_parses_quoted_strings_with_escapes),
	    cmocka_unit_test(test_conf_skips_comments),
	    cmocka_unit_test(test_conf_parses_empty_file),
	    cmocka_unit_test(test_conf_counts_lines_across_multiline_strings),
	    cmocka_unit_test(test_conf_parse_string_honours_len),
	    cmocka_unit_test_setup_teardown(test_conf_parse_file_reads_file,
	        setup_tmpdir, helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_conf_include_resolves_relative_paths, setup_tmpdir,
	        helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_conf_include_absolute_path,
	        setup_tmpdir, helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_conf_include_glob_in_sorted_order, setup_tmpdir,
	        helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_conf_include_glob_without_match_is_ok, setup_tmpdir,
	        helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_conf_include_escapes_glob_chars_in_directory, setup_tmpdir,
	        helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_conf_include_inside_block_splices, setup_tmpdir,
	        helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_conf_parse_string_includes_relative_to_name, setup_tmpdir,
	        helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_conf_include_accepts_max_nesting, setup_tmpdir,
	        helpers_teardown_tmpdir),
	    cmocka_unit_test(test_conf_accepts_limits),
	    cmocka_unit_test(test_conf_block_find_returns_first_match),
	    cmocka_unit_test(test_conf_error_prefixes_file_and_line),
	    cmocka_unit_test(test_conf_free_null_and_null_err),
	    cmocka_unit_test(test_conf_rejects_eof_in_directive),
	    cmocka_unit_test(test_conf_rejects_eof_in_block),
	    cmocka_unit_test(test_conf_rejects_unexpected_close_brace),
	    cmocka_unit_test(test_conf_rejects_unexpected_open_brace),
	    cmocka_unit_test(test_conf_rejects_unexpected_semicolon),
	    cmocka_unit_test(test_conf_rejects_unterminated_string),
	    cmocka_unit_test(test_conf_rejects_directive_without_name),
	    cmocka_unit_test(test_conf_rejects_quote_glued_to_word),
	    cmocka_unit_test(test_conf_rejects_too_many_arguments),
	    cmocka_unit_test(test_conf_rejects_token_too_long),
	    cmocka_unit_test(test_conf_rejects_deep_nesting),
	    cmocka_unit_test(test_conf_rejects_nul_byte),
	    cmocka_unit_test_setup_teardown(test_conf_rejects_file_too_large,
	        setup_tmpdir, helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_conf_rejects_missing_file,
	        setup_tmpdir, helpers_teardown_tmpdir),
	    cmocka_unit_test(test_conf_rejects_include_argument_count),
	    cmocka_unit_test_setup_teardown(test_conf_rejects_include_not_found,
	        setup_tmpdir, helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(test_conf_rejects_include_cycle,
	        setup_tmpdir, helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_conf_rejects_include_nesting_too_deep, setup_tmpdir,
	        helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_conf_rejects_error_in_included_file, setup_tmpdir,
	        helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_conf_rejects_deep_nesting_across_include, setup_tmpdir,
	        helpers_teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_conf_rejects_include_of_directory, setup_tmpdir,
	        helpers_teardown_tmpdir),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
