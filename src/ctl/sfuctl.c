/*
 * SPDX-License-Identifier: MIT
 *
 * sfuctl: the admin CLI. Finds the admin socket (-s, -c CONFIG, $SFUD_SOCKET,
 * the compiled default), sends one request through libsfuctl and prints the
 * answer: tables for status and workers, "ok" for reload/stop/quit, JSON for
 * --json, call and watch. JSON is converted here (jansson) in both
 * directions; the daemon speaks only MessagePack. Output is meant for
 * scripts: stable columns, one JSON document (or line, for watch) per
 * result, errors on stderr, and the exit status says which kind of failure.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <msgpack.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/mem.h"
#include "common/msg.h"
#include "ctl/ctl_client.h"
#include "master/master_conf.h"

#define SFUCTL_EXIT_OK 0       /* accepted */
#define SFUCTL_EXIT_REJECTED 1 /* sfud answered with an error */
#define SFUCTL_EXIT_FAILURE 2  /* usage, connection, timeout */

#define SFUCTL_DEFAULT_SOCKET SFU_RUNSTATEDIR "/sfud.sock"
#define SFUCTL_DEFAULT_TIMEOUT_MS 10000
/* How often watch looks at the signal flag while waiting, ms. */
#define SFUCTL_WATCH_TICK_MS 200

enum sfuctl_option {
	SFUCTL_OPT_JSON = 256,
	SFUCTL_OPT_WORKER,
	SFUCTL_OPT_HANDLER,
};

struct sfuctl {
	const char *socket_opt; /* borrowed from argv: -s */
	const char *conf_opt;   /* borrowed from argv: -c */
	char *socket_path;      /* owned: resolved */
	bool json;              /* --json */
	int timeout_ms;         /* -t; -1: forever */
	int worker;             /* --worker; -1: none */
	const char *handler_id; /* borrowed from argv */
	const char *command;    /* borrowed from argv */
	char **args;            /* owned array, borrowed strings:
	                           the command's arguments */
	int nargs;
	struct sfu_msg_builder data; /* owned: call's JSON-DATA */
	bool has_data;
	struct sfu_ctl_client *client; /* owned */
};

/* Integers up to INT64_MAX convert exactly (jansson's long long). */
_Static_assert(
    sizeof(json_int_t) >= sizeof(int64_t), "json_int_t narrower than int64_t");

static volatile sig_atomic_t sfuctl_stop_signal;

/* --- usage --- */

static void
sfuctl_usage(FILE *f)
{
	fprintf(f,
	    "usage: sfuctl [-s SOCKET | -c CONFIG] [--json] [-t TIMEOUT_MS] "
	    "COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  status                  the master's state\n"
	    "  workers                 one line per worker: INDEX PID STATE "
	    "GEN RESTARTS\n"
	    "                          ROUTERS UPTIME WEBRTC_SERVER\n"
	    "  reload                  re-read the configuration (as "
	    "SIGHUP)\n"
	    "  stop                    fast shutdown (as SIGTERM)\n"
	    "  quit                    graceful shutdown (as SIGQUIT)\n"
	    "  call METHOD [--worker N] [--handler ID] [JSON-DATA]\n"
	    "                          send any request; print the response "
	    "data as JSON\n"
	    "  watch [EVENT...]        print notifications (default: all) "
	    "as JSON lines\n"
	    "                          until SIGINT or SIGTERM\n"
	    "\n"
	    "options:\n"
	    "  -s SOCKET      the admin socket\n"
	    "  -c CONFIG      take the socket from sfud's configuration "
	    "(admin { listen })\n"
	    "  --json         print results as JSON (status, workers, reload, "
	    "stop, quit)\n"
	    "  -t TIMEOUT_MS  wait this long for each response (default %d; "
	    "0: forever)\n"
	    "  -h, --help     this help\n"
	    "\n"
	    "The socket is -s, else -c CONFIG's, else $SFUD_SOCKET, "
	    "else " SFUCTL_DEFAULT_SOCKET ".\n"
	    "Exit status: 0 ok, 1 sfud answered with an error, 2 usage or "
	    "connection error.\n",
	    SFUCTL_DEFAULT_TIMEOUT_MS);
}

static int sfuctl_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
sfuctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sfuctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\n(sfuctl -h shows the usage)\n", stderr);
	return SFUCTL_EXIT_FAILURE;
}

static void
sfuctl_oom(void)
{
	fputs("sfuctl: out of memory\n", stderr);
	abort();
}

/* --- MessagePack -> JSON --- */

/*
 * Length of the valid UTF-8 sequence at p (1-4), or 0 when the bytes
 * there are not one (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
 */
static size_t
sfuctl_utf8_len(const uint8_t *p, size_t left)
{
	size_t n = 0;
	size_t i = 0;
	uint32_t cp = 0;

	if (p[0] < 0x80) {
		return 1;
	} else if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (left < n) {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff)) {
		return 0;
	}
	return n;
}

/*
 * A copy of s as valid UTF-8 without NUL bytes (both replaced by U+FFFD),
 * NUL terminated. Owned by the caller.
 */
static char *
sfuctl_utf8_clean(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	char *out = NULL;
	size_t o = 0;
	size_t i = 0;
	size_t n = 0;

	out = sfu_xmalloc(len * 3 + 1);
	while (i < len) {
		n = p[i] == 0 ? 0 : sfuctl_utf8_len(p + i, len - i);
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}

static json_t *
sfuctl_json_str(const char *s, size_t len)
{
	json_t *j = NULL;
	char *clean = NULL;

	/* jansson checks UTF-8; invalid bytes become U+FFFD, not an error. */
	j = json_stringn(s, len);
	if (j == NULL) {
		clean = sfuctl_utf8_clean(s, len);
		j = json_string(clean);
		free(clean);
	}
	if (j == NULL) {
		sfuctl_oom();
	}
	return j;
}

/* bin (and ext payloads) as standard base64 with padding (RFC 4648). */
static json_t *
sfuctl_json_base64(const char *data, size_t len)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint8_t *p = (const uint8_t *)data;
	json_t *j = NULL;
	char *out = NULL;
	size_t o = 0;
	size_t i = 0;
	uint32_t v = 0;

	out = sfu_xmalloc((len + 2) / 3 * 4 + 1);
	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = alphabet[v >> 6 & 0x3f];
		out[o++] = alphabet[v & 0x3f];
	}
	if (len - i == 1) {
		v = (uint32_t)p[i] << 16;
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = alphabet[v >> 6 & 0x3f];
		out[o++] = '=';
	}
	out[o] = '\0';
	j = json_string(out);
	free(out);
	if (j == NULL) {
		sfuctl_oom();
	}
	return j;
}

static json_t *sfuctl_to_json(const msgpack_object *o);

/* An object key: strings as they are, anything else as compact JSON. */
static char *
sfuctl_json_key(const msgpack_object *k)
{
	json_t *j = NULL;
	char *text = NULL;
	char *key = NULL;

	if (k->type == MSGPACK_OBJECT_STR) {
		return sfuctl_utf8_clean(k->via.str.ptr, k->via.str.size);
	}
	j = sfuctl_to_json(k);
	text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(j);
	if (text == NULL) {
		sfuctl_oom();
	}
	key = sfu_xstrdup(text);
	free(text);
	return key;
}

/*
 * o as a new JSON value (never NULL). Integers beyond int64 and
 * non-finite floats have no exact JSON form: the first become reals, the
 * second null.
 */
static json_t *
sfuctl_to_json(const msgpack_object *o)
{
	json_t *j = NULL;
	json_t *v = NULL;
	char *key = NULL;
	uint32_t i = 0;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		j = json_null();
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		j = json_boolean(o->via.boolean);
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 > (uint64_t)INT64_MAX) {
			j = json_real((double)o->via.u64);
		} else {
			j = json_integer((json_int_t)o->via.u64);
		}
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		j = json_integer((json_int_t)o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		j = isfinite(o->via.f64) ? json_real(o->via.f64) : json_null();
		break;
	case MSGPACK_OBJECT_STR:
		j = sfuctl_json_str(o->via.str.ptr, o->via.str.size);
		break;
	case MSGPACK_OBJECT_BIN:
		j = sfuctl_json_base64(o->via.bin.ptr, o->via.bin.size);
		break;
	case MSGPACK_OBJECT_EXT:
		j = json_object();
		if (j == NULL) {
			sfuctl_oom();
		}
		json_object_set_new(
		    j, "extType", json_integer(o->via.ext.type));
		json_object_set_new(j, "data",
		    sfuctl_json_base64(o->via.ext.ptr, o->via.ext.size));
		break;
	case MSGPACK_OBJECT_ARRAY:
		j = json_array();
		if (j == NULL) {
			sfuctl_oom();
		}
		for (i = 0; i < o->via.array.size; i++) {
			json_array_append_new(
			    j, sfuctl_to_json(&o->via.array.ptr[i]));
		}
		break;
	case MSGPACK_OBJECT_MAP:
		j = json_object();
		if (j == NULL) {
			sfuctl_oom();
		}
		for (i = 0; i < o->via.map.size; i++) {
			key = sfuctl_json_key(&o->via.map.ptr[i].key);
			v = sfuctl_to_json(&o->via.map.ptr[i].val);
			json_object_set_new(j, key, v);
			free(key);
		}
		break;
	default:
		j = json_null();
		break;
	}
	if (j == NULL) {
		sfuctl_oom();
	}
	return j;
}

/*
 * Prints j on stdout: indented for one-shot results, compact on one line
 * for watch. Returns SFUCTL_EXIT_OK, or SFUCTL_EXIT_FAILURE when stdout
 * failed (said on stderr).
 */
static int
sfuctl_print_json(const json_t *j, bool one_line)
{
	char *text = NULL;
	size_t flags = JSON_ENCODE_ANY;
	int rc = 0;

	flags |= one_line ? JSON_COMPACT : JSON_INDENT(2);
	text = json_dumps(j, flags);
	if (text == NULL) {
		sfuctl_oom();
	}
	fputs(text, stdout);
	fputc('\n', stdout);
	free(text);
	rc = fflush(stdout);
	if (rc == EOF || ferror(stdout)) {
		fprintf(stderr, "sfuctl: writing to stdout failed: %s\n",
		    strerror(errno));
		return SFUCTL_EXIT_FAILURE;
	}
	return SFUCTL_EXIT_OK;
}

/* Prints data as JSON, or {} when there is none; as sfuctl_print_json(). */
static int
sfuctl_print_data(const msgpack_object *data)
{
	json_t *j = NULL;
	int rc = 0;

	j = data != NULL ? sfuctl_to_json(data) : json_object();
	if (j == NULL) {
		sfuctl_oom();
	}
	rc = sfuctl_print_json(j, false);
	json_decref(j);
	return rc;
}

/* --- JSON -> MessagePack --- */

static void
sfuctl_pack_json(msgpack_packer *pk, const json_t *j)
{
	const char *key = NULL;
	json_t *v = NULL;
	size_t i = 0;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		msgpack_pack_map(pk, json_object_size(j));
		json_object_foreach((json_t *)j, key, v)
		{
			sfu_msg_pack_str(pk, key);
			sfuctl_pack_json(pk, v);
		}
		break;
	case JSON_ARRAY:
		msgpack_pack_array(pk, json_array_size(j));
		for (i = 0; i < json_array_size(j); i++) {
			sfuctl_pack_json(pk, json_array_get(j, i));
		}
		break;
	case JSON_STRING:
		sfu_msg_pack_strn(
		    pk, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		msgpack_pack_int64(pk, (int64_t)json_integer_value(j));
		break;
	case JSON_REAL:
		msgpack_pack_double(pk, json_real_value(j));
		break;
	case JSON_TRUE:
		msgpack_pack_true(pk);
		break;
	case JSON_FALSE:
		msgpack_pack_false(pk);
		break;
	case JSON_NULL:
	default:
		msgpack_pack_nil(pk);
		break;
	}
}

/*
 * Parses text (a JSON object) into b as one MessagePack map. Returns 0,
 * or -1 after printing a usage error.
 */
static int
sfuctl_json_to_msgpack(const char *text, struct sfu_msg_builder *b)
{
	json_error_t jerr;
	json_t *j = NULL;

	j = json_loads(text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL) {
		sfuctl_usage_error("JSON-DATA: %s (line %d, column %d)",
		    jerr.text, jerr.line, jerr.column);
		return -1;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		sfuctl_usage_error("JSON-DATA: expected a JSON object");
		return -1;
	}
	sfu_msg_builder_reset(b);
	sfuctl_pack_json(&b->pk, j);
	json_decref(j);
	return 0;
}

/* --- formatting --- */

/* "45s", "3m07s", "2h05m", "4d03h": two units at most. */
static void
sfuctl_format_duration(char *buf, size_t size, uint64_t ms)
{
	uint64_t s = ms / 1000;

	if (s < 60) {
		snprintf(buf, size, "%" PRIu64 "s", s);
	} else if (s < 3600) {
		snprintf(
		    buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	} else if (s < 86400) {
		snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
		    s % 3600 / 60);
	} else {
		snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
		    s % 86400 / 3600);
	}
}

/* Wall-clock milliseconds as "2024-05-01T12:00:00.123Z". */
static void
sfuctl_format_time(char *buf, size_t size, uint64_t wall_ms)
{
	struct tm tm;
	time_t t = (time_t)(wall_ms / 1000);
	char day[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(day, sizeof(day), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, size, "-");
		return;
	}
	snprintf(buf, size, "%s.%03uZ", day, (unsigned)(wall_ms % 1000));
}

/* A scalar field for a table cell: "-" when absent, nil or not scalar. */
static void
sfuctl_format_field(
    char *buf, size_t size, const msgpack_object *map, const char *key)
{
	const msgpack_object *o = sfu_msg_map_get(map, key);

	if (o == NULL) {
		snprintf(buf, size, "-");
		return;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		snprintf(buf, size, "%" PRIu64, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		snprintf(buf, size, "%" PRId64, o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		snprintf(buf, size, "%g", o->via.f64);
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		snprintf(buf, size, "%s", o->via.boolean ? "true" : "false");
		break;
	case MSGPACK_OBJECT_STR:
		snprintf(
		    buf, size, "%.*s", (int)o->via.str.size, o->via.str.ptr);
		break;
	default:
		snprintf(buf, size, "-");
		break;
	}
}

/* An unsigned field, or false when absent or of another type. */
static bool
sfuctl_get_u64(const msgpack_object *map, const char *key, uint64_t *out)
{
	return sfu_msg_get_uint(map, NULL, key, SFU_MSG_REQUIRED, UINT64_MAX,
	           out, NULL) == 1;
}

/* --- requests --- */

static int
sfuctl_connect(struct sfuctl *s)
{
	struct sfu_error err = {0};

	s->client = sfu_ctl_client_connect(s->socket_path, &err);
	if (s->client == NULL) {
		fprintf(stderr, "sfuctl: %s\n", err.reason);
		return -1;
	}
	return 0;
}

/*
 * One request. Returns SFUCTL_EXIT_OK with resp holding the accepted
 * response, SFUCTL_EXIT_REJECTED after printing "ERRORNAME: reason" on
 * stderr, SFUCTL_EXIT_FAILURE after printing why there is no response.
 * resp must be released in every case.
 */
static int
sfuctl_call(struct sfuctl *s, const char *method, const char *handler_id,
    int worker, const struct sfu_msg_builder *data, struct sfu_msg *resp)
{
	struct sfu_error err = {0};
	const msgpack_object *name = NULL;
	int rc = 0;

	rc = sfu_ctl_client_call(s->client, method, handler_id, worker,
	    data != NULL ? (const uint8_t *)data->sbuf.data : NULL,
	    data != NULL ? data->sbuf.size : 0, s->timeout_ms, resp, &err);
	if (rc == SFU_CTL_CLIENT_ACCEPTED) {
		return SFUCTL_EXIT_OK;
	}
	if (rc == SFU_CTL_CLIENT_REJECTED) {
		/* The wire name as sent, even one this build does not know. */
		name = sfu_msg_map_get(resp->root, "error");
		if (name != NULL && name->type == MSGPACK_OBJECT_STR) {
			fprintf(stderr, "%.*s: %s\n", (int)name->via.str.size,
			    name->via.str.ptr, err.reason);
		} else {
			fprintf(stderr, "%s: %s\n",
			    sfu_error_kind_name(err.kind), err.reason);
		}
		return SFUCTL_EXIT_REJECTED;
	}
	fprintf(stderr, "sfuctl: %s\n", err.reason);
	return SFUCTL_EXIT_FAILURE;
}

/* --- commands --- */

static void
sfuctl_print_status(const msgpack_object *d)
{
	const msgpack_object *w = NULL;
	char buf[256];
	uint64_t v = 0;
	uint64_t running = 0;
	uint64_t starting = 0;
	uint64_t draining = 0;
	uint64_t configured = 0;
	uint64_t total = 0;

	sfuctl_format_field(buf, sizeof(buf), d, "version");
	printf("%-18s %s\n", "version", buf);
	sfuctl_format_field(buf, sizeof(buf), d, "pid");
	printf("%-18s %s\n", "pid", buf);
	sfuctl_format_field(buf, sizeof(buf), d, "state");
	printf("%-18s %s\n", "state", buf);
	if (sfuctl_get_u64(d, "uptimeMs", &v)) {
		sfuctl_format_duration(buf, sizeof(buf), v);
	} else {
		snprintf(buf, sizeof(buf), "-");
	}
	printf("%-18s %s\n", "uptime", buf);
	if (sfuctl_get_u64(d, "startedAt", &v) && v > 0) {
		sfuctl_format_time(buf, sizeof(buf), v);
	} else {
		snprintf(buf, sizeof(buf), "-");
	}
	printf("%-18s %s\n", "started", buf);
	sfuctl_format_field(buf, sizeof(buf), d, "configPath");
	printf("%-18s %s\n", "config", buf);
	sfuctl_format_field(buf, sizeof(buf), d, "generation");
	printf("%-18s %s\n", "generation", buf);
	sfuctl_format_field(buf, sizeof(buf), d, "reloads");
	printf("%-18s %s\n", "reloads", buf);
	w = sfu_msg_map_get(d, "workers");
	if (w != NULL && w->type == MSGPACK_OBJECT_MAP) {
		(void)sfuctl_get_u64(w, "running", &running);
		(void)sfuctl_get_u64(w, "starting", &starting);
		(void)sfuctl_get_u64(w, "draining", &draining);
		(void)sfuctl_get_u64(w, "configured", &configured);
		(void)sfuctl_get_u64(w, "total", &total);
		printf("%-18s %" PRIu64 " running, %" PRIu64
		       " starting, %" PRIu64 " draining (%" PRIu64
		       " configured, %" PRIu64 " total)\n",
		    "workers", running, starting, draining, configured, total);
	} else {
		printf("%-18s -\n", "workers");
	}
	sfuctl_format_field(buf, sizeof(buf), d, "adminClients");
	printf("%-18s %s\n", "admin clients", buf);
	sfuctl_format_field(buf, sizeof(buf), d, "pendingRequests");
	printf("%-18s %s\n", "pending requests", buf);
	sfuctl_format_field(buf, sizeof(buf), d, "invalidMessages");
	printf("%-18s %s\n", "invalid messages", buf);
	sfuctl_format_field(buf, sizeof(buf), d, "droppedClients");
	printf("%-18s %s\n", "dropped clients", buf);
}

static int
sfuctl_cmd_status(struct sfuctl *s)
{
	struct sfu_msg resp;
	const msgpack_object *data = NULL;
	int rc = 0;

	rc = sfuctl_call(s, "master.status", NULL, -1, NULL, &resp);
	if (rc == SFUCTL_EXIT_OK) {
		data = sfu_ctl_client_response_data(&resp);
		if (s->json) {
			rc = sfuctl_print_data(data);
		} else if (data != NULL && data->type == MSGPACK_OBJECT_MAP) {
			sfuctl_print_status(data);
		} else {
			fprintf(stderr, "sfuctl: master.status: no data in "
			                "the response\n");
			rc = SFUCTL_EXIT_FAILURE;
		}
	}
	sfu_msg_release(&resp);
	return rc;
}

#define SFUCTL_WORKERS_FMT "%-5s %-7s %-9s %-3s %-8s %-7s %-7s %s\n"

static void
sfuctl_print_worker(const msgpack_object *w, uint64_t now_ms)
{
	const msgpack_object *pid = NULL;
	char index[32];
	char pidbuf[32];
	char state[32];
	char gen[32];
	char restarts[32];
	char routers[32];
	char uptime[32];
	char webrtc[SFU_MSG_ID_MAX];
	const msgpack_object *error = NULL;
	uint64_t started = 0;

	sfuctl_format_field(index, sizeof(index), w, "index");
	sfuctl_format_field(pidbuf, sizeof(pidbuf), w, "pid");
	sfuctl_format_field(state, sizeof(state), w, "state");
	sfuctl_format_field(gen, sizeof(gen), w, "generation");
	sfuctl_format_field(restarts, sizeof(restarts), w, "restarts");
	sfuctl_format_field(routers, sizeof(routers), w, "routers");
	pid = sfu_msg_map_get(w, "pid");
	if (pid != NULL && pid->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    sfuctl_get_u64(w, "startedAt", &started) && started > 0) {
		sfuctl_format_duration(uptime, sizeof(uptime),
		    now_ms > started ? now_ms - started : 0);
	} else {
		snprintf(uptime, sizeof(uptime), "-");
	}

	/* The server's id; "failed" when creating it failed (see --json). */
	sfuctl_format_field(webrtc, sizeof(webrtc), w, "webRtcServerId");
	error = sfu_msg_map_get(w, "webRtcServerError");
	if (strcmp(webrtc, "-") == 0 && error != NULL &&
	    error->type == MSGPACK_OBJECT_STR) {
		snprintf(webrtc, sizeof(webrtc), "failed");
	}
	printf(SFUCTL_WORKERS_FMT, index, pidbuf, state, gen, restarts, routers,
	    uptime, webrtc);
}

static int
sfuctl_cmd_workers(struct sfuctl *s)
{
	struct sfu_msg resp;
	const msgpack_object *data = NULL;
	const msgpack_object *list = NULL;
	uint64_t now_ms = 0;
	uint32_t i = 0;
	int rc = 0;

	rc = sfuctl_call(s, "master.workers", NULL, -1, NULL, &resp);
	if (rc != SFUCTL_EXIT_OK) {
		goto out;
	}
	data = sfu_ctl_client_response_data(&resp);
	rc = sfu_msg_get_array(
	    data, "data", "workers", SFU_MSG_REQUIRED, &list, NULL);
	if (rc != 1) {
		fprintf(stderr, "sfuctl: master.workers: no data.workers in "
		                "the response\n");
		rc = SFUCTL_EXIT_FAILURE;
		goto out;
	}
	if (s->json) {
		rc = sfuctl_print_data(list);
		goto out;
	}
	rc = SFUCTL_EXIT_OK;
	now_ms = sfu_clock_wall_ms();
	printf(SFUCTL_WORKERS_FMT, "INDEX", "PID", "STATE", "GEN", "RESTARTS",
	    "ROUTERS", "UPTIME", "WEBRTC_SERVER");
	for (i = 0; i < list->via.array.size; i++) {
		if (list->via.array.ptr[i].type == MSGPACK_OBJECT_MAP) {
			sfuctl_print_worker(&list->via.array.ptr[i], now_ms);
		}
	}
out:
	sfu_msg_release(&resp);
	return rc;
}

/* reload, stop, quit: "ok", or with --json the response data. */
static int
sfuctl_cmd_simple(struct sfuctl *s, const char *method)
{
	struct sfu_msg resp;
	int rc = 0;

	rc = sfuctl_call(s, method, NULL, -1, NULL, &resp);
	if (rc == SFUCTL_EXIT_OK) {
		if (s->json) {
			rc = sfuctl_print_data(
			    sfu_ctl_client_response_data(&resp));
		} else {
			printf("ok\n");
		}
	}
	sfu_msg_release(&resp);
	return rc;
}

static int
sfuctl_cmd_reload(struct sfuctl *s)
{
	return sfuctl_cmd_simple(s, "master.reload");
}

static int
sfuctl_cmd_stop(struct sfuctl *s)
{
	return sfuctl_cmd_simple(s, "master.stop");
}

static int
sfuctl_cmd_quit(struct sfuctl *s)
{
	return sfuctl_cmd_simple(s, "master.quit");
}

static int
sfuctl_cmd_call(struct sfuctl *s)
{
	struct sfu_msg resp;
	int rc = 0;

	rc = sfuctl_call(s, s->args[0], s->handler_id, s->worker,
	    s->has_data ? &s->data : NULL, &resp);
	if (rc == SFUCTL_EXIT_OK) {
		rc = sfuctl_print_data(sfu_ctl_client_response_data(&resp));
	}
	sfu_msg_release(&resp);
	return rc;
}

static void
sfuctl_on_signal(int signo)
{
	sfuctl_stop_signal = signo;
}

/* One notification as {"targetId":..., "event":..., "data":...}. */
static int
sfuctl_print_notification(const struct sfu_msg *m)
{
	const msgpack_object *data = NULL;
	json_t *j = NULL;
	int rc = 0;

	j = json_object();
	if (j == NULL) {
		sfuctl_oom();
	}
	json_object_set_new(j, "targetId",
	    sfuctl_to_json(sfu_msg_map_get(m->root, "targetId")));
	json_object_set_new(
	    j, "event", sfuctl_to_json(sfu_msg_map_get(m->root, "event")));
	data = sfu_ctl_client_response_data(m);
	json_object_set_new(
	    j, "data", data != NULL ? sfuctl_to_json(data) : json_null());
	rc = sfuctl_print_json(j, true);
	json_decref(j);
	return rc;
}

static int
sfuctl_cmd_watch(struct sfuctl *s)
{
	struct sfu_msg_builder b;
	struct sfu_msg m;
	struct sfu_error err = {0};
	struct sigaction sa;
	int rc = 0;
	int i = 0;

	sfu_msg_builder_init(&b);
	msgpack_pack_map(&b.pk, 1);
	sfu_msg_pack_str(&b.pk, "events");
	if (s->nargs == 0) {
		msgpack_pack_array(&b.pk, 1);
		sfu_msg_pack_str(&b.pk, "*");
	} else {
		msgpack_pack_array(&b.pk, (size_t)s->nargs);
		for (i = 0; i < s->nargs; i++) {
			sfu_msg_pack_str(&b.pk, s->args[i]);
		}
	}

	/* Set before subscribing, so no notification is missed or killed. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sfuctl_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = sfuctl_call(s, "master.subscribe", NULL, -1, &b, &m);
	sfu_msg_release(&m);
	sfu_msg_builder_release(&b);
	if (rc != SFUCTL_EXIT_OK) {
		return rc;
	}

	/*
	 * libsfuctl restarts waits after a signal, so wait in short slices
	 * and look at the flag between them.
	 */
	while (sfuctl_stop_signal == 0) {
		rc = sfu_ctl_client_next_message(
		    s->client, SFUCTL_WATCH_TICK_MS, &m, &err);
		if (rc == 1 && sfu_ctl_client_is_notification(&m)) {
			rc = sfuctl_print_notification(&m);
			sfu_msg_release(&m);
			if (rc != SFUCTL_EXIT_OK) {
				return rc;
			}
			continue;
		}
		sfu_msg_release(&m);
		if (rc >= 0) {
			continue;
		}
		if (sfu_ctl_client_is_eof(s->client)) {
			fprintf(stderr, "sfuctl: %s\n", err.reason);
			return SFUCTL_EXIT_OK;
		}
		fprintf(stderr, "sfuctl: %s\n", err.reason);
		if (sfu_ctl_client_is_closed(s->client)) {
			return SFUCTL_EXIT_FAILURE;
		}
	}
	return SFUCTL_EXIT_OK;
}

static const struct {
	const char *name;
	int (*fn)(struct sfuctl *s);
	int min_args;
	int max_args; /* -1: any */
} sfuctl_commands[] = {
    {"status", sfuctl_cmd_status, 0, 0},
    {"workers", sfuctl_cmd_workers, 0, 0},
    {"reload", sfuctl_cmd_reload, 0, 0},
    {"stop", sfuctl_cmd_stop, 0, 0},
    {"quit", sfuctl_cmd_quit, 0, 0},
    {"call", sfuctl_cmd_call, 1, 2},
    {"watch", sfuctl_cmd_watch, 0, -1},
    {NULL, NULL, 0, 0},
};

/* --- options and socket --- */

/* A decimal integer in [min, max], the whole string. */
static int
sfuctl_parse_int(const char *s, long min, long max, int *out)
{
	char *end = NULL;
	long v = 0;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		return -1;
	}
	*out = (int)v;
	return 0;
}

/* -s, else -c CONFIG's admin listen, else $SFUD_SOCKET, else default. */
static int
sfuctl_resolve_socket(struct sfuctl *s)
{
	struct sfu_master_conf *conf = NULL;
	struct sfu_error err = {0};
	const char *env = NULL;

	if (s->socket_opt != NULL) {
		s->socket_path = sfu_xstrdup(s->socket_opt);
		return 0;
	}
	if (s->conf_opt != NULL) {
		conf = sfu_master_conf_load(s->conf_opt, &err);
		if (conf == NULL) {
			fprintf(stderr, "sfuctl: %s\n", err.reason);
			return -1;
		}
		s->socket_path = sfu_xstrdup(conf->admin_listen);
		sfu_master_conf_free(conf);
		return 0;
	}
	env = getenv("SFUD_SOCKET");
	if (env != NULL && env[0] != '\0') {
		s->socket_path = sfu_xstrdup(env);
		return 0;
	}
	s->socket_path = sfu_xstrdup(SFUCTL_DEFAULT_SOCKET);
	return 0;
}

/*
 * Options may come before or after the command ("sfuctl status --json",
 * "sfuctl call worker.dump --worker 0"): with a leading '-' in the option
 * string getopt hands out the other arguments in order, whatever
 * POSIXLY_CORRECT says. "--" ends the options.
 * Returns -1 to go on, else the exit status.
 */
static int
sfuctl_parse_args(struct sfuctl *s, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, SFUCTL_OPT_JSON},
	    {"worker", required_argument, NULL, SFUCTL_OPT_WORKER},
	    {"handler", required_argument, NULL, SFUCTL_OPT_HANDLER},
	    {"help", no_argument, NULL, 'h'},
	    {"socket", required_argument, NULL, 's'},
	    {"config", required_argument, NULL, 'c'},
	    {"timeout", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	int ch = 0;
	int i = 0;

	s->args = sfu_xcalloc((size_t)argc + 1, sizeof(*s->args));
	opterr = 0;
	while (
	    (ch = getopt_long(argc, argv, "-:hs:c:t:", longopts, NULL)) != -1) {
		switch (ch) {
		case 1:
			if (s->command == NULL) {
				s->command = optarg;
			} else {
				s->args[s->nargs++] = optarg;
			}
			break;
		case 'h':
			sfuctl_usage(stdout);
			return SFUCTL_EXIT_OK;
		case 's':
			s->socket_opt = optarg;
			break;
		case 'c':
			s->conf_opt = optarg;
			break;
		case 't':
			if (sfuctl_parse_int(
			        optarg, 0, INT_MAX, &s->timeout_ms) == -1) {
				return sfuctl_usage_error(
				    "-t %s: expected "
				    "milliseconds, 0 to %d",
				    optarg, INT_MAX);
			}
			if (s->timeout_ms == 0) {
				s->timeout_ms = -1;
			}
			break;
		case SFUCTL_OPT_JSON:
			s->json = true;
			break;
		case SFUCTL_OPT_WORKER:
			if (sfuctl_parse_int(optarg, 0, INT_MAX, &s->worker) ==
			    -1) {
				return sfuctl_usage_error(
				    "--worker %s: "
				    "expected a worker index",
				    optarg);
			}
			break;
		case SFUCTL_OPT_HANDLER:
			if (optarg[0] == '\0') {
				return sfuctl_usage_error("--handler: empty "
				                          "id");
			}
			s->handler_id = optarg;
			break;
		case ':':
			return sfuctl_usage_error(
			    "%s needs an argument", argv[optind - 1]);
		default:
			return sfuctl_usage_error(
			    "unknown option %s", argv[optind - 1]);
		}
	}
	for (i = optind; i < argc; i++) {
		if (s->command == NULL) {
			s->command = argv[i];
		} else {
			s->args[s->nargs++] = argv[i];
		}
	}
	if (s->socket_opt != NULL && s->conf_opt != NULL) {
		return sfuctl_usage_error("-s and -c exclude each other");
	}
	if (s->command == NULL) {
		return sfuctl_usage_error("no command given");
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct sfuctl s;
	int rc = SFUCTL_EXIT_FAILURE;
	int flushed = 0;
	int i = 0;

	memset(&s, 0, sizeof(s));
	s.timeout_ms = SFUCTL_DEFAULT_TIMEOUT_MS;
	s.worker = -1;
	sfu_msg_builder_init(&s.data);
	rc = sfuctl_parse_args(&s, argc, argv);
	if (rc != -1) {
		goto out;
	}
	for (i = 0; sfuctl_commands[i].name != NULL; i++) {
		if (strcmp(sfuctl_commands[i].name, s.command) == 0) {
			break;
		}
	}
	if (sfuctl_commands[i].name == NULL) {
		rc = sfuctl_usage_error("unknown command \"%s\"", s.command);
		goto out;
	}
	if (s.nargs < sfuctl_commands[i].min_args ||
	    (sfuctl_commands[i].max_args >= 0 &&
	        s.nargs > sfuctl_commands[i].max_args)) {
		rc = sfuctl_usage_error("%s: %s", s.command,
		    s.nargs < sfuctl_commands[i].min_args
		        ? "missing arguments"
		        : "too many arguments");
		goto out;
	}
	if ((s.worker >= 0 || s.handler_id != NULL) &&
	    strcmp(s.command, "call") != 0) {
		rc = sfuctl_usage_error("--worker and --handler go with call "
		                        "only");
		goto out;
	}
	/* Bad JSON is a usage error even when sfud is not running. */
	if (strcmp(s.command, "call") == 0 && s.nargs > 1) {
		rc = sfuctl_json_to_msgpack(s.args[1], &s.data);
		if (rc == -1) {
			rc = SFUCTL_EXIT_FAILURE;
			goto out;
		}
		s.has_data = true;
	}
	rc = sfuctl_resolve_socket(&s);
	if (rc == 0) {
		rc = sfuctl_connect(&s);
	}
	if (rc == -1) {
		rc = SFUCTL_EXIT_FAILURE;
		goto out;
	}
	rc = sfuctl_commands[i].fn(&s);

	/* A table that could not be written is a failure too (disk full). */
	flushed = fflush(stdout);
	if ((flushed == EOF || ferror(stdout)) && rc == SFUCTL_EXIT_OK) {
		fprintf(stderr, "sfuctl: writing to stdout failed: %s\n",
		    strerror(errno));
		rc = SFUCTL_EXIT_FAILURE;
	}
out:
	sfu_ctl_client_free(s.client);
	sfu_msg_builder_release(&s.data);
	free(s.socket_path);
	free(s.args);
	return rc;
}
