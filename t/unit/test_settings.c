/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for worker/settings: defaults, argv parsing (every option and
 * every refusal, each naming the option), worker.updateSettings data
 * (all-or-nothing, errors naming data.logLevel / data.logTags[i]) and the
 * dump decoded back. Certificate options need readable files: the
 * "tmpfiles" fixture writes two into a fresh mkdtemp() directory.
 */
#include "config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>

#include "common/error.h"
#include "common/log.h"
#include "common/msg.h"
#include "worker/settings.h"
#include "helpers.h"

/* --- helpers --- */

#define ARGV_MAX 32

/*
 * Runs sfu_settings_parse_argv on ("sfud-worker", args..., NULL) into s,
 * which the caller initialised. Returns its result; err is cleared first.
 */
static int
parse_args(struct sfu_settings *s, struct sfu_error *err, ...)
{
	char *argv[ARGV_MAX + 1];
	const char *a = NULL;
	va_list ap;
	int argc = 0;

	argv[argc++] = (char *)(uintptr_t) "sfud-worker";
	va_start(ap, err);
	while ((a = va_arg(ap, const char *)) != NULL) {
		assert_true(argc < ARGV_MAX);
		argv[argc++] = (char *)(uintptr_t)a;
	}
	va_end(ap);
	argv[argc] = NULL;
	sfu_error_clear(err);
	return sfu_settings_parse_argv(s, argc, argv, err);
}

/* Parsing the single argument arg must fail with exactly reason. */
static void
expect_arg_error(const char *arg, const char *reason)
{
	struct sfu_settings s;
	struct sfu_error err;

	sfu_settings_init(&s);
	assert_int_equal(parse_args(&s, &err, arg, NULL), -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(err.reason, reason);
	sfu_settings_release(&s);
}

struct tmpfiles {
	char dir[PATH_MAX];
	char cert[PATH_MAX];          /* readable file */
	char key[PATH_MAX];           /* readable file */
	char cert_arg[PATH_MAX + 32]; /* --dtlsCertificateFile=... */
	char key_arg[PATH_MAX + 32];  /* --dtlsPrivateKeyFile=... */
};

static int
setup_tmpfiles(void **state)
{
	struct tmpfiles *t = NULL;

	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return -1;
	}
	if (helpers_mkdtemp(t->dir, sizeof(t->dir), "test_settings") == -1) {
		free(t);
		return -1;
	}
	snprintf(t->cert, sizeof(t->cert), "%s/cert.pem", t->dir);
	snprintf(t->key, sizeof(t->key), "%s/key.pem", t->dir);
	snprintf(t->cert_arg, sizeof(t->cert_arg), "--dtlsCertificateFile=%s",
	    t->cert);
	snprintf(
	    t->key_arg, sizeof(t->key_arg), "--dtlsPrivateKeyFile=%s", t->key);
	free(
	    helpers_write_file(t->dir, "cert.pem", "cert\n", strlen("cert\n")));
	free(helpers_write_file(t->dir, "key.pem", "key\n", strlen("key\n")));
	*state = t;
	return 0;
}

static int
teardown_tmpfiles(void **state)
{
	struct tmpfiles *t = *state;

	(void)helpers_rmtree(t->dir);
	free(t);
	return 0;
}

/* Decodes data packed in sb and runs sfu_settings_update on it. */
static int
update_with(struct sfu_settings *s, msgpack_sbuffer *sb, struct sfu_error *err)
{
	struct sfu_msg m;
	int r = 0;

	assert_int_equal(
	    sfu_msg_decode(&m, (const uint8_t *)sb->data, sb->size, err), 0);
	sfu_error_clear(err);
	r = sfu_settings_update(s, m.root, err);
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(sb);
	return r;
}

/* Update with sb must fail with exactly reason and change nothing.
 * Destroys sb. */
static void
expect_update_error(msgpack_sbuffer *sb, const char *reason)
{
	struct sfu_settings s;
	struct sfu_error err;

	sfu_settings_init(&s);
	s.log_level = SFU_LOG_LEVEL_ERROR;
	s.log_tags = SFU_LOG_TAG_RTP | SFU_LOG_TAG_SCTP;
	assert_int_equal(update_with(&s, sb, &err), -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(err.reason, reason);
	assert_int_equal(s.log_level, SFU_LOG_LEVEL_ERROR);
	assert_int_equal(s.log_tags, SFU_LOG_TAG_RTP | SFU_LOG_TAG_SCTP);
	sfu_settings_release(&s);
}

/* --- defaults and argv --- */

/* Proves the defaults are mediasoup's: warn, no tags, ports 10000-59999,
 * no certificate; no arguments keeps them; release twice is safe. */
static void
test_settings_defaults(void **state)
{
	struct sfu_settings s;
	struct sfu_error err;

	(void)state;
	memset(&s, 0xa5, sizeof(s));
	sfu_settings_init(&s);
	assert_int_equal(s.log_level, SFU_LOG_LEVEL_WARN);
	assert_int_equal(s.log_tags, 0);
	assert_int_equal(s.rtc_min_port, 10000);
	assert_int_equal(s.rtc_max_port, 59999);
	assert_null(s.dtls_certificate_file);
	assert_null(s.dtls_private_key_file);
	assert_int_equal(parse_args(&s, &err, NULL), 0);
	assert_int_equal(s.log_level, SFU_LOG_LEVEL_WARN);
	assert_int_equal(s.rtc_min_port, 10000);
	assert_int_equal(s.rtc_max_port, 59999);
	sfu_settings_release(&s);
	sfu_settings_release(&s);
}

/* Proves every option is parsed and stored, the certificate paths copied. */
static void
test_settings_argv_every_option(void **state)
{
	struct tmpfiles *t = *state;
	struct sfu_settings s;
	struct sfu_error err;

	sfu_settings_init(&s);
	assert_int_equal(
	    parse_args(&s, &err, "--logLevel=debug", "--logTags=info,ice",
	        "--logTag=dtls", "--rtcMinPort=20000", "--rtcMaxPort=20100",
	        t->cert_arg, t->key_arg, NULL),
	    0);
	assert_int_equal(err.kind, SFU_ERR_NONE);
	assert_int_equal(s.log_level, SFU_LOG_LEVEL_DEBUG);
	assert_int_equal(
	    s.log_tags, SFU_LOG_TAG_INFO | SFU_LOG_TAG_ICE | SFU_LOG_TAG_DTLS);
	assert_int_equal(s.rtc_min_port, 20000);
	assert_int_equal(s.rtc_max_port, 20100);
	assert_non_null(s.dtls_certificate_file);
	assert_string_equal(s.dtls_certificate_file, t->cert);
	assert_non_null(s.dtls_private_key_file);
	assert_string_equal(s.dtls_private_key_file, t->key);
	sfu_settings_release(&s);
	assert_null(s.dtls_certificate_file);
	assert_null(s.dtls_private_key_file);
}

/* Proves each level name is accepted and the last --logLevel wins. */
static void
test_settings_argv_levels(void **state)
{
	static const struct {
		const char *arg;
		enum sfu_log_level level;
	} levels[] = {
	    {"--logLevel=debug", SFU_LOG_LEVEL_DEBUG},
	    {"--logLevel=info", SFU_LOG_LEVEL_INFO},
	    {"--logLevel=warn", SFU_LOG_LEVEL_WARN},
	    {"--logLevel=error", SFU_LOG_LEVEL_ERROR},
	    {"--logLevel=none", SFU_LOG_LEVEL_NONE},
	};
	struct sfu_settings s;
	struct sfu_error err;
	size_t i = 0;

	(void)state;
	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		sfu_settings_init(&s);
		assert_int_equal(parse_args(&s, &err, levels[i].arg, NULL), 0);
		assert_int_equal(s.log_level, levels[i].level);
		sfu_settings_release(&s);
	}
	sfu_settings_init(&s);
	assert_int_equal(
	    parse_args(&s, &err, "--logLevel=debug", "--logLevel=error", NULL),
	    0);
	assert_int_equal(s.log_level, SFU_LOG_LEVEL_ERROR);
	sfu_settings_release(&s);
}

/* Proves --logTags=a,b and repeated --logTag accumulate, argv tags replace
 * earlier ones, an empty list means none, and every tag name is known. */
static void
test_settings_argv_tags(void **state)
{
	struct sfu_settings s;
	struct sfu_error err;

	(void)state;
	sfu_settings_init(&s);
	s.log_tags = SFU_LOG_TAG_SCTP;
	assert_int_equal(parse_args(&s, &err, "--logTag=rtp", "--logTag=rtcp",
	                     "--logTags=bwe,score", NULL),
	    0);
	assert_int_equal(s.log_tags, SFU_LOG_TAG_RTP | SFU_LOG_TAG_RTCP |
	                                 SFU_LOG_TAG_BWE | SFU_LOG_TAG_SCORE);
	sfu_settings_release(&s);

	sfu_settings_init(&s);
	s.log_tags = SFU_LOG_TAG_SCTP;
	assert_int_equal(parse_args(&s, &err, "--logTags=", NULL), 0);
	assert_int_equal(s.log_tags, 0);
	sfu_settings_release(&s);

	sfu_settings_init(&s);
	assert_int_equal(
	    parse_args(&s, &err,
	        "--logTags=info,ice,dtls,rtp,srtp,rtcp,rtx,bwe,score,simulcast,"
	        "svc,sctp,message",
	        NULL),
	    0);
	assert_int_equal(s.log_tags, (1u << 13) - 1);
	sfu_settings_release(&s);

	sfu_settings_init(&s);
	assert_int_equal(parse_args(&s, &err, "--logTags=ice,,ice", NULL), 0);
	assert_int_equal(s.log_tags, SFU_LOG_TAG_ICE);
	sfu_settings_release(&s);
}

/* Proves an unknown level or tag is refused, naming the option and the
 * value; an overlong tag list is refused too. */
static void
test_settings_argv_bad_level_and_tags(void **state)
{
	char arg[400];

	(void)state;
	expect_arg_error("--logLevel=loud",
	    "--logLevel: expected debug, info, warn, error or none, got "
	    "'loud'");
	expect_arg_error("--logLevel=",
	    "--logLevel: expected debug, info, warn, error or none, got ''");
	expect_arg_error("--logLevel=DEBUG",
	    "--logLevel: expected debug, info, warn, error or none, got "
	    "'DEBUG'");
	expect_arg_error(
	    "--logTags=ice,nope", "--logTags: unknown log tag 'nope'");
	expect_arg_error("--logTag=Ice", "--logTag: unknown log tag 'Ice'");
	memset(arg, 0, sizeof(arg));
	strcpy(arg, "--logTags=");
	memset(arg + strlen(arg), 'i', 300);
	expect_arg_error(arg, "--logTags: value too long");
}

/* Proves ports from 1 to 65535 are accepted and bad, zero, negative,
 * over-65535, overflowing and trailing-garbage values are refused. */
static void
test_settings_argv_ports(void **state)
{
	struct sfu_settings s;
	struct sfu_error err;

	(void)state;
	sfu_settings_init(&s);
	assert_int_equal(
	    parse_args(&s, &err, "--rtcMinPort=1", "--rtcMaxPort=65535", NULL),
	    0);
	assert_int_equal(s.rtc_min_port, 1);
	assert_int_equal(s.rtc_max_port, 65535);
	sfu_settings_release(&s);

	expect_arg_error("--rtcMinPort=0",
	    "--rtcMinPort: expected a port from 1 to 65535, got '0'");
	expect_arg_error("--rtcMinPort=-1",
	    "--rtcMinPort: expected a port from 1 to 65535, got '-1'");
	expect_arg_error("--rtcMaxPort=65536",
	    "--rtcMaxPort: expected a port from 1 to 65535, got '65536'");
	expect_arg_error("--rtcMaxPort=",
	    "--rtcMaxPort: expected a port from 1 to 65535, got ''");
	expect_arg_error("--rtcMaxPort=abc",
	    "--rtcMaxPort: expected a port from 1 to 65535, got 'abc'");
	expect_arg_error("--rtcMaxPort=80x",
	    "--rtcMaxPort: expected a port from 1 to 65535, got '80x'");
	expect_arg_error("--rtcMinPort=99999999999999999999999",
	    "--rtcMinPort: expected a port from 1 to 65535, got "
	    "'99999999999999999999999'");
	expect_arg_error("--rtcMinPort=4294977296",
	    "--rtcMinPort: expected a port from 1 to 65535, got "
	    "'4294977296'");
}

/* Proves min > max is refused (also against the default max), while
 * min == max is accepted. */
static void
test_settings_argv_min_over_max(void **state)
{
	struct sfu_settings s;
	struct sfu_error err;

	(void)state;
	sfu_settings_init(&s);
	assert_int_equal(parse_args(&s, &err, "--rtcMinPort=30000",
	                     "--rtcMaxPort=20000", NULL),
	    -1);
	assert_string_equal(err.reason,
	    "--rtcMinPort (30000) is greater than --rtcMaxPort (20000)");
	sfu_settings_release(&s);

	expect_arg_error("--rtcMinPort=60000",
	    "--rtcMinPort (60000) is greater than --rtcMaxPort (59999)");

	sfu_settings_init(&s);
	assert_int_equal(parse_args(&s, &err, "--rtcMinPort=40000",
	                     "--rtcMaxPort=40000", NULL),
	    0);
	assert_int_equal(s.rtc_min_port, 40000);
	assert_int_equal(s.rtc_max_port, 40000);
	sfu_settings_release(&s);
}

/* Proves a certificate without its key (or the reverse) is refused, and a
 * repeated path option replaces the earlier one without leaking. */
static void
test_settings_argv_cert_needs_key(void **state)
{
	struct tmpfiles *t = *state;
	struct sfu_settings s;
	struct sfu_error err;

	sfu_settings_init(&s);
	assert_int_equal(parse_args(&s, &err, t->cert_arg, NULL), -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(err.reason,
	    "--dtlsCertificateFile and --dtlsPrivateKeyFile go together");
	sfu_settings_release(&s);

	sfu_settings_init(&s);
	assert_int_equal(parse_args(&s, &err, t->key_arg, NULL), -1);
	assert_string_equal(err.reason,
	    "--dtlsCertificateFile and --dtlsPrivateKeyFile go together");
	sfu_settings_release(&s);

	sfu_settings_init(&s);
	assert_int_equal(parse_args(&s, &err, t->cert_arg, t->key_arg,
	                     t->cert_arg, t->key_arg, NULL),
	    0);
	assert_string_equal(s.dtls_certificate_file, t->cert);
	sfu_settings_release(&s);
}

/* Proves an unreadable or empty certificate/key path is refused, naming
 * the option, the path and the reason. */
static void
test_settings_argv_unreadable_cert(void **state)
{
	struct tmpfiles *t = *state;
	struct sfu_settings s;
	struct sfu_error err;
	char arg[PATH_MAX + 64];

	expect_arg_error("--dtlsCertificateFile=/nonexistent-sfud-test/c.pem",
	    "--dtlsCertificateFile: cannot read "
	    "'/nonexistent-sfud-test/c.pem': No such file or directory");
	expect_arg_error("--dtlsPrivateKeyFile=/nonexistent-sfud-test/k.pem",
	    "--dtlsPrivateKeyFile: cannot read "
	    "'/nonexistent-sfud-test/k.pem': No such file or directory");
	expect_arg_error(
	    "--dtlsCertificateFile=", "--dtlsCertificateFile: empty path");
	expect_arg_error(
	    "--dtlsPrivateKeyFile=", "--dtlsPrivateKeyFile: empty path");

	/* a path through a regular file: ENOTDIR */
	snprintf(arg, sizeof(arg), "--dtlsPrivateKeyFile=%s/x", t->cert);
	sfu_settings_init(&s);
	assert_int_equal(parse_args(&s, &err, t->cert_arg, arg, NULL), -1);
	assert_non_null(strstr(err.reason, "--dtlsPrivateKeyFile: cannot "
	                                   "read '"));
	assert_non_null(strstr(err.reason, "Not a directory"));
	sfu_settings_release(&s);
}

/* Proves unknown options (also very long ones) and arguments without
 * "--" or '=' are refused with the offending text. */
static void
test_settings_argv_unknown_and_malformed(void **state)
{
	struct sfu_settings s;
	struct sfu_error err;
	char arg[200];

	(void)state;
	expect_arg_error("--foo=bar", "unknown option '--foo'");
	expect_arg_error("--loglevel=debug", "unknown option '--loglevel'");
	expect_arg_error("--=x", "unknown option '--'");
	expect_arg_error(
	    "--logLevel", "bad option '--logLevel': expected --name=value");
	expect_arg_error("logLevel=debug",
	    "bad option 'logLevel=debug': expected --name=value");
	expect_arg_error(
	    "-l=debug", "bad option '-l=debug': expected --name=value");
	expect_arg_error("", "bad option '': expected --name=value");

	memset(arg, 0, sizeof(arg));
	strcpy(arg, "--");
	memset(arg + 2, 'o', 150);
	strcat(arg, "=1");
	sfu_settings_init(&s);
	assert_int_equal(parse_args(&s, &err, arg, NULL), -1);
	assert_int_equal(strncmp(err.reason, "unknown option '--ooo", 21), 0);
	sfu_settings_release(&s);

	/* parsing stops at the first bad argument */
	sfu_settings_init(&s);
	assert_int_equal(parse_args(&s, &err, "--logLevel=info", "--bad=1",
	                     "--logLevel=debug", NULL),
	    -1);
	assert_string_equal(err.reason, "unknown option '--bad'");
	assert_int_not_equal(s.log_level, SFU_LOG_LEVEL_DEBUG);
	sfu_settings_release(&s);
}

/* --- worker.updateSettings --- */

/* Proves logLevel alone changes the level and keeps the tags, logTags
 * alone replaces the tags and keeps the level, both change both. */
static void
test_settings_update_applies(void **state)
{
	struct sfu_settings s;
	struct sfu_error err;
	msgpack_sbuffer sb;

	(void)state;
	sfu_settings_init(&s);
	s.log_tags = SFU_LOG_TAG_RTP;
	helpers_pack_sbuf(&sb, "{s:s}", "logLevel", "debug");
	assert_int_equal(update_with(&s, &sb, &err), 0);
	assert_int_equal(s.log_level, SFU_LOG_LEVEL_DEBUG);
	assert_int_equal(s.log_tags, SFU_LOG_TAG_RTP);

	helpers_pack_sbuf(&sb, "{s:[s,s]}", "logTags", "ice", "dtls");
	assert_int_equal(update_with(&s, &sb, &err), 0);
	assert_int_equal(s.log_level, SFU_LOG_LEVEL_DEBUG);
	assert_int_equal(s.log_tags, SFU_LOG_TAG_ICE | SFU_LOG_TAG_DTLS);

	helpers_pack_sbuf(&sb, "{s:s, s:[s], s:u}", "logLevel", "none",
	    "logTags", "svc", "unrelated", 1u);
	assert_int_equal(update_with(&s, &sb, &err), 0);
	assert_int_equal(s.log_level, SFU_LOG_LEVEL_NONE);
	assert_int_equal(s.log_tags, SFU_LOG_TAG_SVC);

	helpers_pack_sbuf(&sb, "{s:[]}", "logTags");
	assert_int_equal(update_with(&s, &sb, &err), 0);
	assert_int_equal(s.log_tags, 0);
	assert_int_equal(s.rtc_min_port, 10000);
	assert_int_equal(s.rtc_max_port, 59999);
	sfu_settings_release(&s);
}

/* Proves empty data, nil fields and NULL data change nothing and
 * succeed. */
static void
test_settings_update_empty(void **state)
{
	struct sfu_settings s;
	struct sfu_error err;
	msgpack_sbuffer sb;

	(void)state;
	sfu_settings_init(&s);
	s.log_tags = SFU_LOG_TAG_BWE;
	helpers_pack_sbuf(&sb, "{}");
	assert_int_equal(update_with(&s, &sb, &err), 0);
	helpers_pack_sbuf(&sb, "{s:n, s:n}", "logLevel", "logTags");
	assert_int_equal(update_with(&s, &sb, &err), 0);
	assert_int_equal(sfu_settings_update(&s, NULL, &err), 0);
	assert_int_equal(s.log_level, SFU_LOG_LEVEL_WARN);
	assert_int_equal(s.log_tags, SFU_LOG_TAG_BWE);
	sfu_settings_release(&s);
}

/* Proves bad data is refused naming data.logLevel or data.logTags[i], and
 * changes nothing (all-or-nothing, even when logLevel alone was good). */
static void
test_settings_update_errors(void **state)
{
	msgpack_sbuffer sb;

	(void)state;
	helpers_pack_sbuf(&sb, "{s:s}", "logLevel", "loud");
	expect_update_error(&sb, "data.logLevel: expected debug, info, warn, "
	                         "error or none, got 'loud'");
	helpers_pack_sbuf(&sb, "{s:u}", "logLevel", 1u);
	expect_update_error(&sb, "data.logLevel: expected string");
	helpers_pack_sbuf(&sb, "{s:s}", "logLevel", "debugdebugdebugdebug");
	expect_update_error(
	    &sb, "data.logLevel: expected string of at most 15 bytes");
	helpers_pack_sbuf(&sb, "{s:s}", "logTags", "ice");
	expect_update_error(&sb, "data.logTags: expected array");
	helpers_pack_sbuf(&sb, "{s:{}}", "logTags");
	expect_update_error(&sb, "data.logTags: expected array");
	helpers_pack_sbuf(&sb, "{s:[s,u]}", "logTags", "ice", 5u);
	expect_update_error(&sb, "data.logTags[1]: expected a log tag name");
	helpers_pack_sbuf(&sb, "{s:[s,s]}", "logTags", "ice", "nope");
	expect_update_error(&sb, "data.logTags[1]: unknown log tag 'nope'");
	helpers_pack_sbuf(
	    &sb, "{s:[s]}", "logTags", "averyveryverylongtagname");
	expect_update_error(&sb, "data.logTags[0]: expected a log tag name");
	helpers_pack_sbuf(&sb, "{s:s, s:[s,s,s]}", "logLevel", "debug",
	    "logTags", "ice", "rtp", "bad");
	expect_update_error(&sb, "data.logTags[2]: unknown log tag 'bad'");
	helpers_pack_sbuf(
	    &sb, "{s:s, s:[s]}", "logLevel", "bad", "logTags", "ice");
	expect_update_error(&sb, "data.logLevel: expected debug, info, warn, "
	                         "error or none, got 'bad'");
}

/* Proves a tag name with an embedded NUL ("ice\0x") is refused rather
 * than read as "ice", as get_strbuf refuses NUL in logLevel. */
static void
test_settings_update_refuses_tag_with_nul(void **state)
{
	struct sfu_settings s;
	struct sfu_error err;
	msgpack_sbuffer sb;

	(void)state;
	sfu_settings_init(&s);
	helpers_pack_sbuf(&sb, "{s:[S]}", "logTags", "ice\0x", (size_t)5);
	assert_int_equal(update_with(&s, &sb, &err), -1);
	assert_int_equal(strncmp(err.reason, "data.logTags[0]: ", 17), 0);
	assert_int_equal(s.log_tags, 0);
	sfu_settings_release(&s);
}

/* --- dump --- */

/* Packs s with sfu_settings_dump and decodes it into m. */
static void
dump_decode(
    const struct sfu_settings *s, msgpack_sbuffer *sb, struct sfu_msg *m)
{
	msgpack_packer pk;
	struct sfu_error err;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	sfu_settings_dump(s, &pk);
	assert_int_equal(
	    sfu_msg_decode(m, (const uint8_t *)sb->data, sb->size, &err), 0);
}

/* Proves the dump of defaults decodes to the six fields with nil
 * certificate paths. */
static void
test_settings_dump_defaults(void **state)
{
	struct sfu_settings s;
	struct sfu_error err;
	msgpack_sbuffer sb;
	struct sfu_msg m;
	const msgpack_object *tags = NULL;
	uint64_t port = 0;

	(void)state;
	sfu_settings_init(&s);
	dump_decode(&s, &sb, &m);
	assert_int_equal(m.root->via.map.size, 6);
	assert_true(
	    sfu_msg_str_eq(sfu_msg_map_get(m.root, "logLevel"), "warn"));
	assert_int_equal(sfu_msg_get_array(m.root, NULL, "logTags",
	                     SFU_MSG_REQUIRED, &tags, &err),
	    1);
	assert_int_equal(tags->via.array.size, 0);
	assert_int_equal(sfu_msg_get_uint(m.root, NULL, "rtcMinPort",
	                     SFU_MSG_REQUIRED, UINT16_MAX, &port, &err),
	    1);
	assert_int_equal(port, 10000);
	assert_int_equal(sfu_msg_get_uint(m.root, NULL, "rtcMaxPort",
	                     SFU_MSG_REQUIRED, UINT16_MAX, &port, &err),
	    1);
	assert_int_equal(port, 59999);
	assert_non_null(sfu_msg_map_get(m.root, "dtlsCertificateFile"));
	assert_int_equal(sfu_msg_map_get(m.root, "dtlsCertificateFile")->type,
	    MSGPACK_OBJECT_NIL);
	assert_non_null(sfu_msg_map_get(m.root, "dtlsPrivateKeyFile"));
	assert_int_equal(sfu_msg_map_get(m.root, "dtlsPrivateKeyFile")->type,
	    MSGPACK_OBJECT_NIL);
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);
	sfu_settings_release(&s);
}

/* Proves the dump after argv and an update reflects them: level, tag names
 * in bit order (unknown bits skipped, array size consistent), ports and
 * certificate paths. */
static void
test_settings_dump_after_changes(void **state)
{
	struct tmpfiles *t = *state;
	struct sfu_settings s;
	struct sfu_error err;
	msgpack_sbuffer sb;
	struct sfu_msg m;
	const msgpack_object *tags = NULL;
	uint64_t port = 0;

	sfu_settings_init(&s);
	assert_int_equal(
	    parse_args(&s, &err, "--logLevel=info",
	        "--logTags=sctp,ice,message", "--rtcMinPort=4000",
	        "--rtcMaxPort=5000", t->cert_arg, t->key_arg, NULL),
	    0);
	s.log_tags |= 1u << 20 | 1u << 31;
	dump_decode(&s, &sb, &m);
	assert_true(
	    sfu_msg_str_eq(sfu_msg_map_get(m.root, "logLevel"), "info"));
	assert_int_equal(sfu_msg_get_array(m.root, NULL, "logTags",
	                     SFU_MSG_REQUIRED, &tags, &err),
	    1);
	assert_int_equal(tags->via.array.size, 3);
	assert_true(sfu_msg_str_eq(&tags->via.array.ptr[0], "ice"));
	assert_true(sfu_msg_str_eq(&tags->via.array.ptr[1], "sctp"));
	assert_true(sfu_msg_str_eq(&tags->via.array.ptr[2], "message"));
	assert_int_equal(sfu_msg_get_uint(m.root, NULL, "rtcMinPort",
	                     SFU_MSG_REQUIRED, UINT16_MAX, &port, &err),
	    1);
	assert_int_equal(port, 4000);
	assert_int_equal(sfu_msg_get_uint(m.root, NULL, "rtcMaxPort",
	                     SFU_MSG_REQUIRED, UINT16_MAX, &port, &err),
	    1);
	assert_int_equal(port, 5000);
	assert_true(sfu_msg_str_eq(
	    sfu_msg_map_get(m.root, "dtlsCertificateFile"), t->cert));
	assert_true(sfu_msg_str_eq(
	    sfu_msg_map_get(m.root, "dtlsPrivateKeyFile"), t->key));
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);
	sfu_settings_release(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_settings_defaults),
	    cmocka_unit_test_setup_teardown(test_settings_argv_every_option,
	        setup_tmpfiles, teardown_tmpfiles),
	    cmocka_unit_test(test_settings_argv_levels),
	    cmocka_unit_test(test_settings_argv_tags),
	    cmocka_unit_test(test_settings_argv_bad_level_and_tags),
	    cmocka_unit_test(test_settings_argv_ports),
	    cmocka_unit_test(test_settings_argv_min_over_max),
	    cmocka_unit_test_setup_teardown(test_settings_argv_cert_needs_key,
	        setup_tmpfiles, teardown_tmpfiles),
	    cmocka_unit_test_setup_teardown(test_settings_argv_unreadable_cert,
	        setup_tmpfiles, teardown_tmpfiles),
	    cmocka_unit_test(test_settings_argv_unknown_and_malformed),
	    cmocka_unit_test(test_settings_update_applies),
	    cmocka_unit_test(test_settings_update_empty),
	    cmocka_unit_test(test_settings_update_errors),
	    cmocka_unit_test(test_settings_update_refuses_tag_with_nul),
	    cmocka_unit_test(test_settings_dump_defaults),
	    cmocka_unit_test_setup_teardown(test_settings_dump_after_changes,
	        setup_tmpfiles, teardown_tmpfiles),
	};

	return cmocka_run_group_tests_name("settings", tests, NULL, NULL);
}
