/*
 * SPDX-License-Identifier: MIT
 *
 * TransportListenInfo parsing. See listen_info.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/handle/tcp_server_handle.h"
#include "common/handle/udp_handle.h"
#include "common/msg.h"
#include "worker/rtc/listen_info.h"
#include "worker/settings.h"

static bool
listen_info_is_ip(const char *ip)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, ip, &a4) == 1 ||
	    inet_pton(AF_INET6, ip, &a6) == 1;
}

int
sfu_listen_info_parse(const msgpack_object *li, const char *path,
    const struct sfu_settings *settings, int default_proto,
    struct sfu_listen_info *out, struct sfu_error *err)
{
	const msgpack_object *range = NULL;
	char proto[8];
	char sub[SFU_MSG_PATH_MAX];
	uint64_t port = 0;
	uint64_t min = settings->rtc_min_port;
	uint64_t max = settings->rtc_max_port;
	int r = 0;

	memset(out, 0, sizeof(*out));
	r = sfu_msg_get_strbuf(li, path, "protocol",
	    default_proto >= 0 ? SFU_MSG_OPTIONAL : SFU_MSG_REQUIRED, proto,
	    sizeof(proto), err);
	if (r == -1) {
		return -1;
	}
	if (r == 0) {
		out->protocol = (enum sfu_listen_proto)default_proto;
	} else if (strcmp(proto, "udp") == 0) {
		out->protocol = SFU_LISTEN_UDP;
	} else if (strcmp(proto, "tcp") == 0) {
		out->protocol = SFU_LISTEN_TCP;
	} else {
		sfu_error_set(err, SFU_ERR_TYPE, "%s.protocol: expected "
		    "\"udp\" or \"tcp\", got '%s'", path, proto);
		return -1;
	}
	if (sfu_msg_get_strbuf(li, path, "ip", SFU_MSG_REQUIRED, out->ip,
	    sizeof(out->ip), err) != 1) {
		return -1;
	}
	if (!listen_info_is_ip(out->ip)) {
		sfu_error_set(err, SFU_ERR_TYPE, "%s.ip: not an IPv4 or IPv6 "
		    "address: '%s'", path, out->ip);
		return -1;
	}
	r = sfu_msg_get_strbuf(li, path, "announcedAddress", SFU_MSG_OPTIONAL,
	    out->announced, sizeof(out->announced), err);
	if (r == 0) {
		r = sfu_msg_get_strbuf(li, path, "announcedIp",
		    SFU_MSG_OPTIONAL, out->announced, sizeof(out->announced),
		    err);
	}
	if (r == -1 ||
	    sfu_msg_get_uint(li, path, "port", SFU_MSG_OPTIONAL, UINT16_MAX,
	    &port, err) == -1 ||
	    sfu_msg_get_map(li, path, "portRange", SFU_MSG_OPTIONAL, &range,
	    err) == -1) {
		return -1;
	}
	if (range != NULL) {
		sfu_msg_path(sub, sizeof(sub), path, "portRange");
		if (sfu_msg_get_uint(range, sub, "min", SFU_MSG_REQUIRED,
		    UINT16_MAX, &min, err) != 1 ||
		    sfu_msg_get_uint(range, sub, "max", SFU_MSG_REQUIRED,
		    UINT16_MAX, &max, err) != 1) {
			return -1;
		}
		if (min == 0 || min > max) {
			sfu_error_set(err, SFU_ERR_TYPE, "%s: expected 1 <= "
			    "min <= max", sub);
			return -1;
		}
	}
	out->port = (uint16_t)port;
	out->min_port = (uint16_t)min;
	out->max_port = (uint16_t)max;
	return 0;
}

int
sfu_listen_socket_open(struct sfu_listen_socket *ls, struct event_base *base,
    const struct sfu_listen_info *li,
    const struct sfu_udp_handle_listener *udp_listener,
    const struct sfu_tcp_server_handle_listener *tcp_listener, void *ctx,
    const char *path, struct sfu_error *err)
{
	uint16_t port = 0;
	int fd = -1;

	memset(ls, 0, sizeof(*ls));
	ls->info = *li;
	if (li->protocol == SFU_LISTEN_UDP) {
		if (sfu_udp_bind(li->ip, li->port, li->min_port, li->max_port,
		    &fd, &port, err) == -1) {
			sfu_error_prefix(err, "%s: ", path);
			return -1;
		}
		ls->udp = sfu_udp_handle_new(base, fd, udp_listener, ctx, err);
		if (ls->udp == NULL) {
			close(fd);
			return -1;
		}
	} else {
		ls->tcp = sfu_tcp_server_handle_new(base, li->ip, li->port,
		    li->min_port, li->max_port, tcp_listener, ctx, err);
		if (ls->tcp == NULL) {
			sfu_error_prefix(err, "%s: ", path);
			return -1;
		}
		port = sfu_tcp_server_handle_local_port(ls->tcp);
	}
	ls->info.port = port;
	return 0;
}

void
sfu_listen_socket_close(struct sfu_listen_socket *ls)
{
	sfu_udp_handle_free(ls->udp);
	sfu_tcp_server_handle_free(ls->tcp);
	ls->udp = NULL;
	ls->tcp = NULL;
}

const char *
sfu_listen_proto_name(enum sfu_listen_proto proto)
{
	return proto == SFU_LISTEN_TCP ? "tcp" : "udp";
}

const char *
sfu_listen_info_address(const struct sfu_listen_info *li)
{
	return li->announced[0] != '\0' ? li->announced : li->ip;
}

uint32_t
sfu_listen_info_ice_priority(unsigned index, bool preferred)
{
	uint32_t local = 10000;

	local -= index * 100 < 10000 ? index * 100 : 9999;
	if (preferred) {
		local += 1000;
	}
	/* RFC 8445 §5.1.2.1: 2^24 type + 2^8 local + (256 - component). */
	return (64u << 24) + (local << 8) + (256 - 1);
}
