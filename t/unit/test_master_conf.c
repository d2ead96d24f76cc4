/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for master/master_conf: defaults, every directive, relative
 * paths made absolute against the directory of the file naming them, each
 * kind of error with its exact "file:line: " prefix, the reload diff, the
 * worker's argv and the "auto" worker count. Each test writes its configs
 * into a fresh mkdtemp() directory (the "tmpdir" fixture) which teardown
 * removes.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/error.h"
#include "common/log.h"
#include "common/mem.h"
#include "master/master_conf.h"
#include "helpers.h"

/* --- helpers --- */

static int
setup_tmpdir(void **state)
{
	struct helpers_tmpdir *t = NULL;
	char *real = NULL;

	if (helpers_setup_tmpdir(state, "test_master_conf") == -1) {
		return -1;
	}
	t = *state;

	/*
	 * Resolved (TMPDIR may be relative or a symlink): the paths the
	 * config computes are compared with ones built from t->path.
	 */
	real = realpath(t->path, NULL);
	if (real != NULL) {
		snprintf(t->path, sizeof(t->path), "%s", real);
		free(real);
	}
	return 0;
}

/* Writes text to dir/rel with mode; returns the full path (owned). */
static char *
write_file_mode(const struct helpers_tmpdir *t, const char *rel,
    const char *text, mode_t mode)
{
	char *path = NULL;

	path = helpers_write_file(t->path, rel, text, strlen(text));
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static char *
write_file(const struct helpers_tmpdir *t, const char *rel, const char *text)
{
	return write_file_mode(t, rel, text, 0644);
}

/* Writes text as dir/sfud.conf and loads it; expects success. */
static struct sfu_master_conf *
load_ok(const struct helpers_tmpdir *t, const char *text)
{
	struct sfu_master_conf *conf = NULL;
	struct sfu_error err;
	char *path = NULL;

	sfu_error_clear(&err);
	path = write_file(t, "sfud.conf", text);
	conf = sfu_master_conf_load(path, &err);
	if (conf == NULL) {
		print_error("unexpected error: %s\n", err.reason);
	}
	free(path);
	assert_non_null(conf);
	return conf;
}

/*
 * Writes text as dir/sfud.conf, expects the load to fail with exactly
 * "<dir>/<file>:<line>: <msg>".
 */
static void
expect_error_in(const struct helpers_tmpdir *t, const char *text,
    const char *file, int line, const char *msg)
{
	struct sfu_master_conf *conf = NULL;
	struct sfu_error err;
	char *path = NULL, *want = NULL;

	sfu_error_clear(&err);
	path = write_file(t, "sfud.conf", text);
	conf = sfu_master_conf_load(path, &err);
	sfu_master_conf_free(conf);
	want = sfu_xasprintf("%s/%s:%d: %s", t->path, file, line, msg);
	free(path);
	if (conf != NULL) {
		free(want);
		fail_msg("expected an error, the config loaded");
	}
	assert_string_equal(err.reason, want);
	free(want);
}

static void
expect_error(
    const struct helpers_tmpdir *t, const char *text, int line, const char *msg)
{
	expect_error_in(t, text, "sfud.conf", line, msg);
}

/* The name of the user running the test (root in CI containers). */
static char *
current_user(void)
{
	struct passwd *pw = NULL;

	pw = getpwuid(getuid());
	assert_non_null(pw);
	return sfu_xstrdup(pw->pw_name);
}

/* Two configs from two texts, and their diff. */
static void
diff_of(const struct helpers_tmpdir *t, const char *a, const char *b,
    struct sfu_master_conf_diff *diff)
{
	struct sfu_master_conf *old = NULL, *new_conf = NULL;

	old = load_ok(t, a);
	new_conf = load_ok(t, b);
	sfu_master_conf_diff(old, new_conf, diff);
	sfu_master_conf_free(old);
	sfu_master_conf_free(new_conf);
}

/* --- defaults and directives --- */

/* An empty file gives every documented default. */
static void
test_master_conf_defaults_from_empty_file(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_master_conf *conf = NULL;
	char *path = NULL;

	conf = load_ok(t, "# nothing here\n");
	path = sfu_xasprintf("%s/sfud.conf", t->path);
	assert_string_equal(conf->path, path);
	free(path);
	assert_true(conf->daemon);
	assert_string_equal(conf->pid_path, SFU_RUNSTATEDIR "/sfud.pid");
	assert_string_equal(conf->error_log, "stderr");
	assert_int_equal(conf->error_log_level, SFU_LOG_LEVEL_INFO);
	assert_null(conf->user);
	assert_null(conf->group);
	assert_true(conf->worker_processes_auto);
	assert_false(conf->worker_cpu_affinity);
	assert_int_equal(conf->worker_rlimit_nofile, 0);
	assert_null(conf->worker_binary);
	assert_int_equal(conf->worker_start_timeout_ms, 10000);
	assert_int_equal(conf->worker_ping_interval_ms, 5000);
	assert_int_equal(conf->worker_ping_timeout_ms, 10000);
	assert_int_equal(conf->drain_timeout_ms, 300000);
	assert_int_equal(conf->shutdown_timeout_ms, 5000);
	assert_string_equal(conf->admin_listen, SFU_RUNSTATEDIR "/sfud.sock");
	assert_int_equal(conf->admin_mode, 0600);
	assert_int_equal(conf->admin_max_clients, 1024);
	assert_int_equal(conf->admin_max_output, 16 * 1024 * 1024);
	assert_int_equal(conf->log_level, SFU_LOG_LEVEL_WARN);
	assert_int_equal(conf->log_tags, 0);
	assert_int_equal(conf->rtc_min_port, 10000);
	assert_int_equal(conf->rtc_max_port, 59999);
	assert_null(conf->dtls_certificate);
	assert_null(conf->dtls_private_key);
	assert_int_equal(conf->webrtc_nlisten, 0);
	sfu_master_conf_free(conf);
}

/* Every directive lands in its field, with absolute paths kept as given. */
static void
test_master_conf_parses_every_directive(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_master_conf *conf = NULL;
	char *user = NULL, *text = NULL, *bin = NULL, *cert = NULL, *key = NULL;

	user = current_user();
	bin = write_file_mode(t, "worker.sh", "#!/bin/sh\n", 0755);
	cert = write_file(t, "cert.pem", "cert\n");
	key = write_file(t, "key.pem", "key\n");
	text = sfu_xasprintf(
	    "daemon off;\n"
	    "pid /run/x/sfud.pid;\n"
	    "error_log /var/log/sfud.log debug;\n"
	    "user %s;\n"
	    "worker_processes 3;\n"
	    "worker_cpu_affinity auto;\n"
	    "worker_rlimit_nofile 65536;\n"
	    "worker_binary %s;\n"
	    "worker_start_timeout 500ms;\n"
	    "worker_ping_interval 2;\n"
	    "worker_ping_timeout 5m;\n"
	    "worker_drain_timeout 1h;\n"
	    "worker_shutdown_timeout 0;\n"
	    "admin {\n"
	    "    listen /run/x/sfud.sock;\n"
	    "    mode 0660;\n"
	    "    max_clients 10;\n"
	    "    client_output_limit 64k;\n"
	    "}\n"
	    "worker {\n"
	    "    log_level debug;\n"
	    "    log_tags info ice dtls;\n"
	    "    rtc_ports 40000-49999;\n"
	    "    dtls_certificate %s;\n"
	    "    dtls_private_key %s;\n"
	    "}\n"
	    "webrtc_server {\n"
	    "    listen udp 0.0.0.0 44444 announced 203.0.113.10;\n"
	    "    listen tcp ::1 44445;\n"
	    "}\n",
	    user, bin, cert, key);
	conf = load_ok(t, text);
	assert_false(conf->daemon);
	assert_string_equal(conf->pid_path, "/run/x/sfud.pid");
	assert_string_equal(conf->error_log, "/var/log/sfud.log");
	assert_int_equal(conf->error_log_level, SFU_LOG_LEVEL_DEBUG);
	assert_string_equal(conf->user, user);
	assert_null(conf->group);
	assert_false(conf->worker_processes_auto);
	assert_int_equal(conf->worker_processes, 3);
	assert_int_equal(sfu_master_conf_worker_count(conf), 3);
	assert_true(conf->worker_cpu_affinity);
	assert_int_equal(conf->worker_rlimit_nofile, 65536);
	assert_string_equal(conf->worker_binary, bin);
	assert_int_equal(conf->worker_start_timeout_ms, 500);
	assert_int_equal(conf->worker_ping_interval_ms, 2000);
	assert_int_equal(conf->worker_ping_timeout_ms, 300000);
	assert_int_equal(conf->drain_timeout_ms, 3600000);
	assert_int_equal(conf->shutdown_timeout_ms, 0);
	assert_string_equal(conf->admin_listen, "/run/x/sfud.sock");
	assert_int_equal(conf->admin_mode, 0660);
	assert_int_equal(conf->admin_max_clients, 10);
	assert_int_equal(conf->admin_max_output, 65536);
	assert_int_equal(conf->log_level, SFU_LOG_LEVEL_DEBUG);
	assert_int_equal(conf->log_tags,
	    SFU_LOG_TAG_INFO | SFU_LOG_TAG_ICE | SFU_LOG_TAG_DTLS);
	assert_int_equal(conf->rtc_min_port, 40000);
	assert_int_equal(conf->rtc_max_port, 49999);
	assert_string_equal(conf->dtls_certificate, cert);
	assert_string_equal(conf->dtls_private_key, key);
	assert_int_equal(conf->webrtc_nlisten, 2);
	assert_int_equal(conf->webrtc_listen[0].protocol, SFU_LISTEN_UDP);
	assert_string_equal(conf->webrtc_listen[0].ip, "0.0.0.0");
	assert_int_equal(conf->webrtc_listen[0].port, 44444);
	assert_string_equal(conf->webrtc_listen[0].announced, "203.0.113.10");
	assert_int_equal(conf->webrtc_listen[1].protocol, SFU_LISTEN_TCP);
	assert_string_equal(conf->webrtc_listen[1].ip, "::1");
	assert_int_equal(conf->webrtc_listen[1].port, 44445);
	assert_null(conf->webrtc_listen[1].announced);
	sfu_master_conf_free(conf);
	free(text);
	free(user);
	free(bin);
	free(cert);
	free(key);
}

/* "user USER GROUP" keeps both; "error_log stderr" stays "stderr". */
static void
test_master_conf_parses_user_group_and_stderr(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_master_conf *conf = NULL;
	char *user = NULL, *text = NULL;

	user = current_user();
	text = sfu_xasprintf("user %s root;\nerror_log stderr warn;\n", user);
	conf = load_ok(t, text);
	assert_string_equal(conf->user, user);
	assert_string_equal(conf->group, "root");
	assert_string_equal(conf->error_log, "stderr");
	assert_int_equal(conf->error_log_level, SFU_LOG_LEVEL_WARN);
	sfu_master_conf_free(conf);
	free(text);
	free(user);
}

/* Relative paths are made absolute against the config file's directory. */
static void
test_master_conf_relative_paths_made_absolute(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_master_conf *conf = NULL;
	char *p = NULL;

	helpers_make_dir(t->path, "tls");
	free(write_file_mode(t, "sfud-worker", "#!/bin/sh\n", 0755));
	free(write_file(t, "tls/cert.pem", "c\n"));
	free(write_file(t, "tls/key.pem", "k\n"));
	conf = load_ok(t, "pid run/sfud.pid;\n"
	                  "error_log ./logs/error.log;\n"
	                  "worker_binary sfud-worker;\n"
	                  "admin { listen run//sfud.sock; }\n"
	                  "worker {\n"
	                  "    dtls_certificate tls/cert.pem;\n"
	                  "    dtls_private_key ./tls/key.pem;\n"
	                  "}\n");
	p = sfu_xasprintf("%s/run/sfud.pid", t->path);
	assert_string_equal(conf->pid_path, p);
	free(p);
	p = sfu_xasprintf("%s/logs/error.log", t->path);
	assert_string_equal(conf->error_log, p);
	free(p);
	p = sfu_xasprintf("%s/sfud-worker", t->path);
	assert_string_equal(conf->worker_binary, p);
	free(p);
	p = sfu_xasprintf("%s/run/sfud.sock", t->path);
	assert_string_equal(conf->admin_listen, p);
	free(p);
	p = sfu_xasprintf("%s/tls/cert.pem", t->path);
	assert_string_equal(conf->dtls_certificate, p);
	free(p);
	p = sfu_xasprintf("%s/tls/key.pem", t->path);
	assert_string_equal(conf->dtls_private_key, p);
	free(p);
	sfu_master_conf_free(conf);
}

/* Paths in an included file resolve against that file's own directory. */
static void
test_master_conf_relative_paths_from_included_file(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_master_conf *conf = NULL;
	char *p = NULL;

	helpers_make_dir(t->path, "conf.d");
	free(write_file(t, "conf.d/cert.pem", "c\n"));
	free(write_file(t, "key.pem", "k\n"));
	free(write_file(t, "conf.d/main.inc", "pid sfud.pid;\n"));
	free(write_file(t, "conf.d/worker.inc",
	    "dtls_certificate cert.pem;\n"
	    "dtls_private_key ../key.pem;\n"));
	conf = load_ok(t, "include conf.d/main.inc;\n"
	                  "worker { include conf.d/worker.inc; }\n"
	                  "admin { listen sfud.sock; }\n");
	p = sfu_xasprintf("%s/conf.d/sfud.pid", t->path);
	assert_string_equal(conf->pid_path, p);
	free(p);
	p = sfu_xasprintf("%s/conf.d/cert.pem", t->path);
	assert_string_equal(conf->dtls_certificate, p);
	free(p);

	/* ".." is kept, not folded: folding is wrong across symlinks */
	p = sfu_xasprintf("%s/conf.d/../key.pem", t->path);
	assert_string_equal(conf->dtls_private_key, p);
	free(p);
	p = sfu_xasprintf("%s/sfud.sock", t->path);
	assert_string_equal(conf->admin_listen, p);
	free(p);
	sfu_master_conf_free(conf);
}

/* A main file named relatively gets an absolute conf->path and paths. */
static void
test_master_conf_relative_main_file_made_absolute(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_master_conf *conf = NULL;
	struct sfu_error err;
	char cwd[PATH_MAX];
	char *p = NULL;
	int rc;

	helpers_make_dir(t->path, "etc");
	free(write_file(t, "etc/sfud.conf", "pid sfud.pid;\n"));
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(t->path), 0);
	sfu_error_clear(&err);
	conf = sfu_master_conf_load("./etc/sfud.conf", &err);
	rc = chdir(cwd);
	assert_int_equal(rc, 0);
	assert_non_null(conf);
	p = sfu_xasprintf("%s/etc/sfud.conf", t->path);
	assert_string_equal(conf->path, p);
	free(p);
	p = sfu_xasprintf("%s/etc/sfud.pid", t->path);
	assert_string_equal(conf->pid_path, p);
	free(p);
	sfu_master_conf_free(conf);
}

/* --- errors --- */

/* A file that cannot be read is "path: strerror". */
static void
test_master_conf_rejects_missing_file(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_master_conf *conf = NULL;
	struct sfu_error err;
	char *path = NULL, *want = NULL;

	sfu_error_clear(&err);
	path = sfu_xasprintf("%s/none.conf", t->path);
	conf = sfu_master_conf_load(path, &err);
	assert_null(conf);
	want = sfu_xasprintf("%s: %s", path, strerror(ENOENT));
	assert_string_equal(err.reason, want);
	free(want);
	free(path);
}

/* A syntax error from the parser comes through unchanged. */
static void
test_master_conf_reports_syntax_error(void **state)
{
	expect_error(*state, "daemon off;\nworker {\n", 2,
	    "unexpected end of file, expecting \"}\"");
}

/* An unknown name is named, with the line it is on. */
static void
test_master_conf_rejects_unknown_directive(void **state)
{
	expect_error(*state, "daemon off;\n\nfoo bar;\n", 3,
	    "unknown directive \"foo\"");
	expect_error(*state, "worker {\n  log_level warn;\n  bogus;\n}\n", 3,
	    "unknown directive \"bogus\"");
}

/* A known directive outside its context is "not allowed here". */
static void
test_master_conf_rejects_directive_in_wrong_context(void **state)
{
	expect_error(*state, "rtc_ports 1-2;\n", 1,
	    "\"rtc_ports\" directive is not allowed here");
	expect_error(*state, "worker {\n daemon on;\n}\n", 2,
	    "\"daemon\" directive is not allowed here");
	expect_error(*state, "admin {\n worker { }\n}\n", 2,
	    "\"worker\" directive is not allowed here");
	expect_error(*state, "listen udp 127.0.0.1 1;\n", 1,
	    "\"listen\" directive is not allowed here");
	expect_error(*state, "worker {\n mode 0600;\n}\n", 2,
	    "\"mode\" directive is not allowed here");
}

/* A block directive needs its block; a simple one must not have one. */
static void
test_master_conf_rejects_block_mismatch(void **state)
{
	expect_error(*state, "daemon off;\nworker;\n", 2,
	    "directive \"worker\" has no opening \"{\"");
	expect_error(*state, "\npid /x { }\n", 2,
	    "directive \"pid\" is not terminated by \";\"");
	expect_error(*state, "admin {\n  mode 0600 { }\n}\n", 2,
	    "directive \"mode\" is not terminated by \";\"");
}

/* Too few or too many arguments name the directive. */
static void
test_master_conf_rejects_wrong_argument_count(void **state)
{
	expect_error(*state, "pid;\n", 1,
	    "invalid number of arguments in \"pid\" directive");
	expect_error(*state, "\ndaemon on off;\n", 2,
	    "invalid number of arguments in \"daemon\" directive");
	expect_error(*state, "error_log a info b;\n", 1,
	    "invalid number of arguments in \"error_log\" directive");
	expect_error(*state, "worker x { }\n", 1,
	    "invalid number of arguments in \"worker\" directive");
	expect_error(*state, "worker {\n log_tags;\n}\n", 2,
	    "invalid number of arguments in \"log_tags\" directive");
	expect_error(*state, "webrtc_server {\n listen udp 0.0.0.0;\n}\n", 2,
	    "invalid number of arguments in \"listen\" directive");
	expect_error(*state,
	    "webrtc_server {\n listen udp 0.0.0.0 1 announced;\n}\n", 2,
	    "invalid number of arguments in \"listen\" directive");
}

/* A second occurrence of a single-valued directive or block is rejected. */
static void
test_master_conf_rejects_duplicate(void **state)
{
	expect_error(
	    *state, "pid /a;\npid /b;\n", 2, "\"pid\" directive is duplicate");
	expect_error(*state, "worker { }\nworker {\n}\n", 2,
	    "\"worker\" directive is duplicate");
	expect_error(*state,
	    "webrtc_server { listen udp 0.0.0.0 1; }\n"
	    "webrtc_server { listen udp 0.0.0.0 2; }\n",
	    2, "\"webrtc_server\" directive is duplicate");
	expect_error(*state, "admin {\n mode 0600;\n mode 0660;\n}\n", 3,
	    "\"mode\" directive is duplicate");
}

/* Each bad value is named with what the directive accepts. */
static void
test_master_conf_rejects_invalid_values(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *msg;
	} cases[] = {
	    {"daemon maybe;\n", 1,
	        "invalid value \"maybe\" in \"daemon\" directive, it must "
	        "be \"on\" or \"off\""},
	    {"error_log stderr none;\n", 1,
	        "invalid value \"none\" in \"error_log\" directive, it "
	        "must be \"debug\", \"info\", \"warn\" or \"error\""},
	    {"worker_processes 0;\n", 1,
	        "invalid value \"0\" in \"worker_processes\" directive, it "
	        "must be \"auto\" or a number from 1 to 256"},
	    {"worker_processes 257;\n", 1,
	        "invalid value \"257\" in \"worker_processes\" directive, "
	        "it must be \"auto\" or a number from 1 to 256"},
	    {"worker_processes -1;\n", 1,
	        "invalid value \"-1\" in \"worker_processes\" directive, "
	        "it must be \"auto\" or a number from 1 to 256"},
	    {"worker_cpu_affinity on;\n", 1,
	        "invalid value \"on\" in \"worker_cpu_affinity\" "
	        "directive, it must be \"auto\" or \"off\""},
	    {"worker_rlimit_nofile 10k;\n", 1,
	        "invalid value \"10k\" in \"worker_rlimit_nofile\" "
	        "directive, it must be a positive number"},
	    {"worker_ping_interval 5x;\n", 1,
	        "invalid value \"5x\" in \"worker_ping_interval\" "
	        "directive, it must be a non-zero duration like 500ms, "
	        "10s, 5m or 1h"},
	    {"worker_start_timeout 0ms;\n", 1,
	        "invalid value \"0ms\" in \"worker_start_timeout\" "
	        "directive, it must be a non-zero duration like 500ms, "
	        "10s, 5m or 1h"},
	    {"worker_drain_timeout s;\n", 1,
	        "invalid value \"s\" in \"worker_drain_timeout\" "
	        "directive, it must be a duration like 500ms, 10s, 5m or "
	        "1h"},
	    {"worker_shutdown_timeout 99999999999999999999;\n", 1,
	        "invalid value \"99999999999999999999\" in "
	        "\"worker_shutdown_timeout\" directive, it must be a "
	        "duration like 500ms, 10s, 5m or 1h"},
	    {"admin {\n mode 0800;\n}\n", 2,
	        "invalid value \"0800\" in \"mode\" directive, it must be "
	        "an octal mode like 0600 or 0660, at most 0777"},
	    {"admin {\n mode 01777;\n}\n", 2,
	        "invalid value \"01777\" in \"mode\" directive, it must be "
	        "an octal mode like 0600 or 0660, at most 0777"},
	    {"admin {\n max_clients 0;\n}\n", 2,
	        "invalid value \"0\" in \"max_clients\" directive, it must "
	        "be a number from 1 to 1048576"},
	    {"admin {\n client_output_limit 16q;\n}\n", 2,
	        "invalid value \"16q\" in \"client_output_limit\" "
	        "directive, it must be a non-zero size like 1024, 64k or "
	        "16m"},
	    {"admin {\n listen \"\";\n}\n", 2,
	        "empty path in \"listen\" directive"},
	    {"worker {\n log_level loud;\n}\n", 2,
	        "invalid value \"loud\" in \"log_level\" directive, it "
	        "must be \"debug\", \"info\", \"warn\", \"error\" or "
	        "\"none\""},
	    {"worker {\n log_tags ice nope;\n}\n", 2,
	        "invalid value \"nope\" in \"log_tags\" directive, it must "
	        "be a log tag (info, ice, dtls, rtp, srtp, rtcp, ...)"},
	    {"worker {\n rtc_ports 50000-40000;\n}\n", 2,
	        "invalid value \"50000-40000\" in \"rtc_ports\" directive, "
	        "it must be MIN-MAX with ports from 1 to 65535 and MIN <= "
	        "MAX"},
	    {"worker {\n rtc_ports 0-100;\n}\n", 2,
	        "invalid value \"0-100\" in \"rtc_ports\" directive, it "
	        "must be MIN-MAX with ports from 1 to 65535 and MIN <= "
	        "MAX"},
	    {"worker {\n rtc_ports 1-65536;\n}\n", 2,
	        "invalid value \"1-65536\" in \"rtc_ports\" directive, it "
	        "must be MIN-MAX with ports from 1 to 65535 and MIN <= "
	        "MAX"},
	    {"worker {\n rtc_ports 4000;\n}\n", 2,
	        "invalid value \"4000\" in \"rtc_ports\" directive, it "
	        "must be MIN-MAX with ports from 1 to 65535 and MIN <= "
	        "MAX"},
	    {"webrtc_server {\n listen sctp 0.0.0.0 1;\n}\n", 2,
	        "invalid value \"sctp\" in \"listen\" directive, it must "
	        "be \"udp\" or \"tcp\""},
	    {"webrtc_server {\n listen udp localhost 1;\n}\n", 2,
	        "invalid value \"localhost\" in \"listen\" directive, it "
	        "must be an IPv4 or IPv6 address"},
	    {"webrtc_server {\n listen udp 0.0.0.0 0;\n}\n", 2,
	        "invalid value \"0\" in \"listen\" directive, it must be a "
	        "port from 1 to 65535"},
	    {"webrtc_server {\n listen udp 0.0.0.0 1 via 1.2.3.4;\n}\n", 2,
	        "invalid value \"via\" in \"listen\" directive, it must be "
	        "\"announced\""},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect_error(
		    *state, cases[i].text, cases[i].line, cases[i].msg);
	}
}

/* An error in an included file names that file and its own line. */
static void
test_master_conf_error_in_included_file(void **state)
{
	struct helpers_tmpdir *t = *state;

	helpers_make_dir(t->path, "sub");
	free(write_file(t, "sub/w.inc", "log_level warn;\n\nrtc_ports x;\n"));
	expect_error_in(t, "daemon off;\nworker {\n include sub/w.inc;\n}\n",
	    "sub/w.inc", 3,
	    "invalid value \"x\" in \"rtc_ports\" directive, it must be "
	    "MIN-MAX with ports from 1 to 65535 and MIN <= MAX");
}

/* More listens than SFU_MASTER_CONF_MAX_LISTEN are refused. */
static void
test_master_conf_rejects_too_many_listens(void **state)
{
	expect_error(*state,
	    "webrtc_server {\n"
	    " listen udp 0.0.0.0 1;\n listen udp 0.0.0.0 2;\n"
	    " listen udp 0.0.0.0 3;\n listen udp 0.0.0.0 4;\n"
	    " listen udp 0.0.0.0 5;\n listen udp 0.0.0.0 6;\n"
	    " listen udp 0.0.0.0 7;\n listen udp 0.0.0.0 8;\n"
	    " listen udp 0.0.0.0 9;\n"
	    "}\n",
	    10,
	    "too many \"listen\" directives in \"webrtc_server\" block (at "
	    "most 8)");
}

/* A certificate or key that cannot be read is named with file:line. */
static void
test_master_conf_rejects_unreadable_dtls_file(void **state)
{
	struct helpers_tmpdir *t = *state;
	char *msg = NULL;

	free(write_file(t, "key.pem", "k\n"));
	msg =
	    sfu_xasprintf("cannot read \"%s/none.pem\" in \"dtls_certificate\" "
	                  "directive: %s",
	        t->path, strerror(ENOENT));
	expect_error(t,
	    "worker {\n dtls_private_key key.pem;\n"
	    " dtls_certificate none.pem;\n}\n",
	    3, msg);
	free(msg);
}

/* The certificate and the key go together. */
static void
test_master_conf_rejects_certificate_without_key(void **state)
{
	struct helpers_tmpdir *t = *state;

	free(write_file(t, "cert.pem", "c\n"));
	expect_error(t, "worker {\n\n dtls_certificate cert.pem;\n}\n", 3,
	    "\"dtls_certificate\" directive requires \"dtls_private_key\"");
	expect_error(t, "worker {\n dtls_private_key cert.pem;\n}\n", 2,
	    "\"dtls_private_key\" directive requires \"dtls_certificate\"");
}

/* worker_binary must be executable. */
static void
test_master_conf_rejects_non_executable_binary(void **state)
{
	struct helpers_tmpdir *t = *state;
	char *msg = NULL;

	free(write_file_mode(t, "worker", "#!/bin/sh\n", 0644));
	msg = sfu_xasprintf(
	    "cannot execute \"%s/worker\" in \"worker_binary\" directive: %s",
	    t->path, strerror(EACCES));
	expect_error(t, "daemon off;\nworker_binary worker;\n", 2, msg);
	free(msg);
}

/* An unknown user or group is named. */
static void
test_master_conf_rejects_unknown_user(void **state)
{
	struct helpers_tmpdir *t = *state;
	char *user = NULL, *text = NULL;

	expect_error(t, "user no_such_user_sfud;\n", 1,
	    "unknown user \"no_such_user_sfud\" in \"user\" directive");
	user = current_user();
	text = sfu_xasprintf("\nuser %s no_such_group_sfud;\n", user);
	expect_error(t, text, 2,
	    "unknown group \"no_such_group_sfud\" in \"user\" directive");
	free(text);
	free(user);
}

/* An admin socket path that does not fit in sun_path is refused. */
static void
test_master_conf_rejects_long_admin_socket_path(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_master_conf *conf = NULL;
	struct sfu_error err;
	char name[121];
	char *path = NULL, *text = NULL, *prefix = NULL;
	size_t n = 0;

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	text = sfu_xasprintf("admin {\n listen %s.sock;\n}\n", name);
	path = write_file(t, "sfud.conf", text);
	sfu_error_clear(&err);
	conf = sfu_master_conf_load(path, &err);
	assert_null(conf);

	/* the reason is truncated at 256 bytes: check its beginning */
	prefix = sfu_xasprintf("%s:2: path \"%s/%s.sock\" in \"listen\" "
	                       "directive is too long",
	    path, t->path, name);
	n = strlen(prefix);
	if (n > sizeof(err.reason) - 1) {
		n = sizeof(err.reason) - 1;
	}
	assert_int_equal(strncmp(err.reason, prefix, n), 0);
	free(prefix);
	free(path);
	free(text);
}

/* --- diff --- */

/* Identical configs need nothing. */
static void
test_master_conf_diff_identical_is_empty(void **state)
{
	struct sfu_master_conf_diff diff;
	const char *text = "worker { log_level info; log_tags ice; }\n"
	                   "webrtc_server { listen udp 0.0.0.0 1; }\n";

	diff_of(*state, text, text, &diff);
	assert_false(diff.log_changed);
	assert_false(diff.workers_changed);
	assert_false(diff.respawn_needed);
	assert_false(diff.admin_changed);
	assert_false(diff.error_log_changed);
}

/* Log level or tags set log_changed only. */
static void
test_master_conf_diff_log(void **state)
{
	struct sfu_master_conf_diff diff;

	diff_of(*state, "", "worker { log_level debug; }\n", &diff);
	assert_true(diff.log_changed);
	assert_false(diff.workers_changed);
	assert_false(diff.respawn_needed);
	assert_false(diff.admin_changed);
	assert_false(diff.error_log_changed);
	diff_of(*state, "worker { log_tags ice; }\n",
	    "worker { log_tags ice dtls; }\n", &diff);
	assert_true(diff.log_changed);
	assert_false(diff.respawn_needed);
}

/* A different worker count sets workers_changed only. */
static void
test_master_conf_diff_workers(void **state)
{
	struct sfu_master_conf_diff diff;
	char *text = NULL;

	diff_of(
	    *state, "worker_processes 2;\n", "worker_processes 3;\n", &diff);
	assert_true(diff.workers_changed);
	assert_false(diff.log_changed);
	assert_false(diff.respawn_needed);
	assert_false(diff.admin_changed);
	assert_false(diff.error_log_changed);

	/* "auto" and the number of cores are the same count */
	text = sfu_xasprintf(
	    "worker_processes %ld;\n", sysconf(_SC_NPROCESSORS_ONLN));
	diff_of(*state, "worker_processes auto;\n", text, &diff);
	assert_false(diff.workers_changed);
	free(text);
}

/* Ports, certificate, binary and webrtc_server set respawn_needed. */
static void
test_master_conf_diff_respawn(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_master_conf_diff diff;

	free(write_file(t, "c.pem", "c\n"));
	free(write_file(t, "k.pem", "k\n"));
	free(write_file_mode(t, "w", "#!/bin/sh\n", 0755));
	diff_of(t, "", "worker { rtc_ports 10000-20000; }\n", &diff);
	assert_true(diff.respawn_needed);
	assert_false(diff.log_changed);
	assert_false(diff.workers_changed);
	assert_false(diff.admin_changed);
	assert_false(diff.error_log_changed);
	diff_of(t, "",
	    "worker { dtls_certificate c.pem; dtls_private_key k.pem; }\n",
	    &diff);
	assert_true(diff.respawn_needed);
	diff_of(t, "", "worker_binary w;\n", &diff);
	assert_true(diff.respawn_needed);
	diff_of(t, "webrtc_server { listen udp 0.0.0.0 1; }\n",
	    "webrtc_server { listen udp 0.0.0.0 1 announced 1.2.3.4; }\n",
	    &diff);
	assert_true(diff.respawn_needed);
	diff_of(t, "webrtc_server { listen udp 0.0.0.0 1; }\n",
	    "webrtc_server { listen tcp 0.0.0.0 1; }\n", &diff);
	assert_true(diff.respawn_needed);
	diff_of(t, "", "webrtc_server { listen udp 0.0.0.0 1; }\n", &diff);
	assert_true(diff.respawn_needed);
}

/* The admin socket's path or mode sets admin_changed only. */
static void
test_master_conf_diff_admin(void **state)
{
	struct sfu_master_conf_diff diff;

	diff_of(*state, "", "admin { listen s.sock; }\n", &diff);
	assert_true(diff.admin_changed);
	assert_false(diff.log_changed);
	assert_false(diff.workers_changed);
	assert_false(diff.respawn_needed);
	assert_false(diff.error_log_changed);
	diff_of(*state, "", "admin { mode 0660; }\n", &diff);
	assert_true(diff.admin_changed);
	diff_of(*state, "", "admin { max_clients 5; }\n", &diff);
	assert_false(diff.admin_changed);
}

/* The error_log's path or level sets error_log_changed only. */
static void
test_master_conf_diff_error_log(void **state)
{
	struct sfu_master_conf_diff diff;

	diff_of(*state, "", "error_log e.log;\n", &diff);
	assert_true(diff.error_log_changed);
	assert_false(diff.log_changed);
	assert_false(diff.workers_changed);
	assert_false(diff.respawn_needed);
	assert_false(diff.admin_changed);
	diff_of(*state, "", "error_log stderr debug;\n", &diff);
	assert_true(diff.error_log_changed);
}

/* --- worker argv and count --- */

/* Defaults: binary, level and ports; no tags, no DTLS files. */
static void
test_master_conf_worker_argv_defaults(void **state)
{
	struct sfu_master_conf *conf = NULL;
	char **argv = NULL;

	conf = load_ok(*state, "");
	argv = sfu_master_conf_worker_argv(conf, "/bin/w");
	assert_string_equal(argv[0], "/bin/w");
	assert_string_equal(argv[1], "--logLevel=warn");
	assert_string_equal(argv[2], "--rtcMinPort=10000");
	assert_string_equal(argv[3], "--rtcMaxPort=59999");
	assert_null(argv[4]);
	sfu_master_conf_free_argv(argv);
	sfu_master_conf_free(conf);
}

/* Tags joined by commas, DTLS files when set, worker_binary as fallback. */
static void
test_master_conf_worker_argv_full(void **state)
{
	struct helpers_tmpdir *t = *state;
	struct sfu_master_conf *conf = NULL;
	char **argv = NULL;
	char *p = NULL;

	free(write_file(t, "c.pem", "c\n"));
	free(write_file(t, "k.pem", "k\n"));
	free(write_file_mode(t, "w", "#!/bin/sh\n", 0755));
	conf = load_ok(t, "worker_binary w;\n"
	                  "worker {\n"
	                  "    log_level debug;\n"
	                  "    log_tags rtp ice;\n"
	                  "    rtc_ports 40000-40100;\n"
	                  "    dtls_certificate c.pem;\n"
	                  "    dtls_private_key k.pem;\n"
	                  "}\n");
	argv = sfu_master_conf_worker_argv(conf, NULL);
	p = sfu_xasprintf("%s/w", t->path);
	assert_string_equal(argv[0], p);
	free(p);
	assert_string_equal(argv[1], "--logLevel=debug");
	assert_string_equal(argv[2], "--logTags=ice,rtp");
	assert_string_equal(argv[3], "--rtcMinPort=40000");
	assert_string_equal(argv[4], "--rtcMaxPort=40100");
	p = sfu_xasprintf("--dtlsCertificateFile=%s/c.pem", t->path);
	assert_string_equal(argv[5], p);
	free(p);
	p = sfu_xasprintf("--dtlsPrivateKeyFile=%s/k.pem", t->path);
	assert_string_equal(argv[6], p);
	free(p);
	assert_null(argv[7]);
	sfu_master_conf_free_argv(argv);
	sfu_master_conf_free_argv(NULL);
	sfu_master_conf_free(conf);
}

/* "auto" resolves to the number of online cores, at least 1. */
static void
test_master_conf_worker_count_auto(void **state)
{
	struct sfu_master_conf *conf = NULL;
	long n;

	conf = load_ok(*state, "worker_processes auto;\n");
	assert_true(conf->worker_processes_auto);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1) {
		n = 1;
	}
	if (n > SFU_MASTER_CONF_MAX_WORKERS) {
		n = SFU_MASTER_CONF_MAX_WORKERS;
	}
	assert_int_equal(sfu_master_conf_worker_count(conf), n);
	assert_true(sfu_master_conf_worker_count(conf) >= 1);
	sfu_master_conf_free(conf);
	sfu_master_conf_free(NULL);
}

#define T(name)                                                                \
	cmocka_unit_test_setup_teardown(                                       \
	    name, setup_tmpdir, helpers_teardown_tmpdir)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_master_conf_defaults_from_empty_file),
	    T(test_master_conf_parses_every_directive),
	    T(test_master_conf_parses_user_group_and_stderr),
	    T(test_master_conf_relative_paths_made_absolute),
	    T(test_master_conf_relative_paths_from_included_file),
	    T(test_master_conf_relative_main_file_made_absolute),
	    T(test_master_conf_rejects_missing_file),
	    T(test_master_conf_reports_syntax_error),
	    T(test_master_conf_rejects_unknown_directive),
	    T(test_master_conf_rejects_directive_in_wrong_context),
	    T(test_master_conf_rejects_block_mismatch),
	    T(test_master_conf_rejects_wrong_argument_count),
	    T(test_master_conf_rejects_duplicate),
	    T(test_master_conf_rejects_invalid_values),
	    T(test_master_conf_error_in_included_file),
	    T(test_master_conf_rejects_too_many_listens),
	    T(test_master_conf_rejects_unreadable_dtls_file),
	    T(test_master_conf_rejects_certificate_without_key),
	    T(test_master_conf_rejects_non_executable_binary),
	    T(test_master_conf_rejects_unknown_user),
	    T(test_master_conf_rejects_long_admin_socket_path),
	    T(test_master_conf_diff_identical_is_empty),
	    T(test_master_conf_diff_log),
	    T(test_master_conf_diff_workers),
	    T(test_master_conf_diff_respawn),
	    T(test_master_conf_diff_admin),
	    T(test_master_conf_diff_error_log),
	    T(test_master_conf_worker_argv_defaults),
	    T(test_master_conf_worker_argv_full),
	    T(test_master_conf_worker_count_auto),
	};

	return cmocka_run_group_tests_name("master_conf", tests, NULL, NULL);
}
