/*
 * SPDX-License-Identifier: MIT
 *
 * mediasoup's TransportListenInfo ({protocol, ip, announcedAddress?
 * (or the older announcedIp), port?, portRange? {min, max}}) read from a
 * request, with the worker's rtc port range as the default range, and the
 * IceCandidate priority mediasoup gives each listen info.
 */
#ifndef SFU_WORKER_LISTEN_INFO_H
#define SFU_WORKER_LISTEN_INFO_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <msgpack.h>

#include "common/error.h"

struct sfu_settings;
struct sfu_tcp_server_handle;
struct sfu_tcp_server_handle_listener;
struct sfu_udp_handle;
struct sfu_udp_handle_listener;

#define SFU_LISTEN_INFO_ADDR_LEN 64

enum sfu_listen_proto {
	SFU_LISTEN_UDP = 0,
	SFU_LISTEN_TCP,
};

struct sfu_listen_info {
	enum sfu_listen_proto protocol;
	char ip[SFU_LISTEN_INFO_ADDR_LEN];
	char announced[SFU_LISTEN_INFO_ADDR_LEN]; /* "" when none */
	uint16_t port;     /* 0: any in [min_port, max_port] */
	uint16_t min_port; /* the worker's rtc port range by default */
	uint16_t max_port;
};

/*
 * Reads li (a map at path, for error messages). protocol is required
 * unless default_proto >= 0. Returns 0, or -1 with a TypeError naming the
 * field.
 */
int sfu_listen_info_parse(const msgpack_object *li, const char *path,
    const struct sfu_settings *settings, int default_proto,
    struct sfu_listen_info *out, struct sfu_error *err);

/*
 * A listen info bound: a UDP socket or a TCP listener (WebRtcTransport's
 * own sockets, WebRtcServer's shared ones).
 */
struct sfu_listen_socket {
	struct sfu_listen_info info;       /* port: the one bound */
	struct sfu_udp_handle *udp;        /* owned, UDP */
	struct sfu_tcp_server_handle *tcp; /* owned, TCP */
};

/*
 * Binds li and watches it with the listener of its protocol (ctx is
 * theirs). path names li in errors ("data.listenInfos[0]: port 5000 in
 * use on 127.0.0.1"). Returns 0, or -1 with err and nothing open.
 */
int sfu_listen_socket_open(struct sfu_listen_socket *ls,
    struct event_base *base, const struct sfu_listen_info *li,
    const struct sfu_udp_handle_listener *udp_listener,
    const struct sfu_tcp_server_handle_listener *tcp_listener, void *ctx,
    const char *path, struct sfu_error *err);
/* Closes what is open; the struct may be opened again. */
void sfu_listen_socket_close(struct sfu_listen_socket *ls);

/* "udp" / "tcp". */
const char *sfu_listen_proto_name(enum sfu_listen_proto proto);
/* The address peers are told: announced, else ip. */
const char *sfu_listen_info_address(const struct sfu_listen_info *li);

/*
 * mediasoup's ICE host candidate priority for the index-th listen info:
 * type preference 64, local preference 10000 - 100 * index (+ 1000 when
 * its protocol is the preferred one), component 1.
 */
uint32_t sfu_listen_info_ice_priority(unsigned index, bool preferred);

#endif
