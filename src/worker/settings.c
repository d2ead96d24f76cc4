/*
 * SPDX-License-Identifier: MIT
 *
 * Worker settings from argv (mediasoup's option names) and from
 * worker.updateSettings.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mem.h"
#include "common/msg.h"
#include "worker/settings.h"

void
sfu_settings_init(struct sfu_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->log_level = SFU_LOG_LEVEL_WARN;
	s->log_tags = 0;
	s->rtc_min_port = 10000;
	s->rtc_max_port = 59999;
}

void
sfu_settings_release(struct sfu_settings *s)
{
	free(s->dtls_certificate_file);
	free(s->dtls_private_key_file);
	s->dtls_certificate_file = NULL;
	s->dtls_private_key_file = NULL;
}

static int
settings_parse_port(const char *opt, const char *val, uint16_t *out,
    struct sfu_error *err)
{
	char *end = NULL;
	unsigned long v = 0;

	errno = 0;
	v = strtoul(val, &end, 10);
	if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0 ||
	    v < 1 || v > 65535) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "%s: expected a port from 1 to 65535, got '%s'", opt, val);
		return -1;
	}
	*out = (uint16_t)v;
	return 0;
}

/* "info,ice" or one tag; adds the bits to *tags. */
static int
settings_parse_tags(const char *opt, const char *val, uint32_t *tags,
    struct sfu_error *err)
{
	char buf[256];
	char *p = NULL;
	char *tok = NULL;
	char *save = NULL;
	uint32_t bit = 0;

	if (strlen(val) >= sizeof(buf)) {
		sfu_error_set(err, SFU_ERR_TYPE, "%s: value too long", opt);
		return -1;
	}
	strcpy(buf, val);
	for (p = buf; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		bit = sfu_log_tag_parse(tok);
		if (bit == 0) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "%s: unknown log tag '%s'", opt, tok);
			return -1;
		}
		*tags |= bit;
	}
	return 0;
}

static int
settings_check_readable(const char *opt, const char *path,
    struct sfu_error *err)
{
	int e = 0;

	if (path[0] == '\0') {
		sfu_error_set(err, SFU_ERR_TYPE, "%s: empty path", opt);
		return -1;
	}
	if (access(path, R_OK) == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_TYPE, "%s: cannot read '%s': %s",
		    opt, path, strerror(e));
		return -1;
	}
	return 0;
}

int
sfu_settings_parse_argv(struct sfu_settings *s, int argc, char *const argv[],
    struct sfu_error *err)
{
	const char *arg = NULL;
	const char *eq = NULL;
	const char *val = NULL;
	char opt[64];
	size_t nlen = 0;
	int level = 0;
	int i = 0;
	bool tags_reset = false;

	for (i = 1; i < argc; i++) {
		arg = argv[i];
		eq = strchr(arg, '=');
		if (strncmp(arg, "--", 2) != 0 || eq == NULL) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "bad option '%s': expected --name=value", arg);
			return -1;
		}
		nlen = (size_t)(eq - arg);
		if (nlen >= sizeof(opt)) {
			nlen = sizeof(opt) - 1;
		}
		memcpy(opt, arg, nlen);
		opt[nlen] = '\0';
		val = eq + 1;
		if (strcmp(opt, "--logLevel") == 0) {
			level = sfu_log_level_parse(val);
			if (level < 0) {
				sfu_error_set(err, SFU_ERR_TYPE,
				    "--logLevel: expected debug, info, warn, "
				    "error or none, got '%s'", val);
				return -1;
			}
			s->log_level = (enum sfu_log_level)level;
		} else if (strcmp(opt, "--logTags") == 0 ||
		    strcmp(opt, "--logTag") == 0) {
			if (!tags_reset) {
				s->log_tags = 0;
				tags_reset = true;
			}
			if (settings_parse_tags(opt, val, &s->log_tags,
			    err) == -1) {
				return -1;
			}
		} else if (strcmp(opt, "--rtcMinPort") == 0) {
			if (settings_parse_port(opt, val, &s->rtc_min_port,
			    err) == -1) {
				return -1;
			}
		} else if (strcmp(opt, "--rtcMaxPort") == 0) {
			if (settings_parse_port(opt, val, &s->rtc_max_port,
			    err) == -1) {
				return -1;
			}
		} else if (strcmp(opt, "--dtlsCertificateFile") == 0) {
			if (settings_check_readable(opt, val, err) == -1) {
				return -1;
			}
			free(s->dtls_certificate_file);
			s->dtls_certificate_file = sfu_xstrdup(val);
		} else if (strcmp(opt, "--dtlsPrivateKeyFile") == 0) {
			if (settings_check_readable(opt, val, err) == -1) {
				return -1;
			}
			free(s->dtls_private_key_file);
			s->dtls_private_key_file = sfu_xstrdup(val);
		} else {
			sfu_error_set(err, SFU_ERR_TYPE, "unknown option '%s'",
			    opt);
			return -1;
		}
	}
	if (s->rtc_min_port > s->rtc_max_port) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "--rtcMinPort (%u) is greater than --rtcMaxPort (%u)",
		    s->rtc_min_port, s->rtc_max_port);
		return -1;
	}
	if ((s->dtls_certificate_file == NULL) !=
	    (s->dtls_private_key_file == NULL)) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "--dtlsCertificateFile and --dtlsPrivateKeyFile go "
		    "together");
		return -1;
	}
	return 0;
}

int
sfu_settings_update(struct sfu_settings *s, const msgpack_object *data,
    struct sfu_error *err)
{
	char level_name[16];
	char path[SFU_MSG_PATH_MAX];
	const msgpack_object *tags = NULL;
	const msgpack_object *t = NULL;
	enum sfu_log_level level = s->log_level;
	uint32_t bits = s->log_tags;
	uint32_t bit = 0;
	uint32_t i = 0;
	int r = 0;

	r = sfu_msg_get_strbuf(data, "data", "logLevel", SFU_MSG_OPTIONAL,
	    level_name, sizeof(level_name), err);
	if (r == -1) {
		return -1;
	}
	if (r == 1) {
		r = sfu_log_level_parse(level_name);
		if (r < 0) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "data.logLevel: expected debug, info, warn, error "
			    "or none, got '%s'", level_name);
			return -1;
		}
		level = (enum sfu_log_level)r;
	}
	r = sfu_msg_get_array(data, "data", "logTags", SFU_MSG_OPTIONAL, &tags,
	    err);
	if (r == -1) {
		return -1;
	}
	if (r == 1) {
		bits = 0;
		for (i = 0; i < tags->via.array.size; i++) {
			t = &tags->via.array.ptr[i];
			sfu_msg_path_index(path, sizeof(path), "data.logTags",
			    i);
			if (t->type != MSGPACK_OBJECT_STR ||
			    t->via.str.size >= sizeof(level_name) ||
			    memchr(t->via.str.ptr, '\0', t->via.str.size) !=
			    NULL) {
				sfu_error_set(err, SFU_ERR_TYPE,
				    "%s: expected a log tag name", path);
				return -1;
			}
			memcpy(level_name, t->via.str.ptr, t->via.str.size);
			level_name[t->via.str.size] = '\0';
			bit = sfu_log_tag_parse(level_name);
			if (bit == 0) {
				sfu_error_set(err, SFU_ERR_TYPE,
				    "%s: unknown log tag '%s'", path,
				    level_name);
				return -1;
			}
			bits |= bit;
		}
	}
	s->log_level = level;
	s->log_tags = bits;
	return 0;
}

void
sfu_settings_dump(const struct sfu_settings *s, msgpack_packer *pk)
{
	uint32_t bit = 0;
	size_t ntags = 0;

	for (bit = 1; bit != 0; bit <<= 1) {
		if ((s->log_tags & bit) && sfu_log_tag_name(bit) != NULL) {
			ntags++;
		}
	}
	msgpack_pack_map(pk, 6);
	sfu_msg_pack_kv_str(pk, "logLevel", sfu_log_level_name(s->log_level));
	sfu_msg_pack_str(pk, "logTags");
	msgpack_pack_array(pk, ntags);
	for (bit = 1; bit != 0; bit <<= 1) {
		if ((s->log_tags & bit) && sfu_log_tag_name(bit) != NULL) {
			sfu_msg_pack_str(pk, sfu_log_tag_name(bit));
		}
	}
	sfu_msg_pack_kv_uint(pk, "rtcMinPort", s->rtc_min_port);
	sfu_msg_pack_kv_uint(pk, "rtcMaxPort", s->rtc_max_port);
	sfu_msg_pack_str(pk, "dtlsCertificateFile");
	if (s->dtls_certificate_file != NULL) {
		sfu_msg_pack_str(pk, s->dtls_certificate_file);
	} else {
		msgpack_pack_nil(pk);
	}
	sfu_msg_pack_str(pk, "dtlsPrivateKeyFile");
	if (s->dtls_private_key_file != NULL) {
		sfu_msg_pack_str(pk, s->dtls_private_key_file);
	} else {
		msgpack_pack_nil(pk);
	}
}
