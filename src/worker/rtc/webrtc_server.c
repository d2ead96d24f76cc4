/*
 * SPDX-License-Identifier: MIT
 *
 * WebRtcServer: shared sockets, demultiplexed to WebRtcTransports by ICE
 * ufrag (STUN) and then by validated tuple. See webrtc_server.h.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SFU_LOG_MODULE "webrtc_server"
#include "common/handle/tcp_conn_handle.h"
#include "common/handle/tcp_server_handle.h"
#include "common/handle/udp_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "common/strmap.h"
#include "worker/channel/notifier.h"
#include "worker/channel/registry.h"
#include "worker/rtc/router.h"
#include "worker/rtc/rtc_ctx.h"
#include "worker/rtc/stun.h"
#include "worker/rtc/transport.h"
#include "worker/rtc/webrtc_server.h"
#include "worker/rtc/webrtc_transport.h"

/* TCP connections a server holds at once (before and after ICE). */
#define WEBRTC_SERVER_MAX_CONNS 4096
/* "u" + pointer + family/address/port in hex, or "t" + pointer. */
#define WEBRTC_SERVER_KEY_LEN 96

struct webrtc_server_socket {
	struct sfu_listen_socket ls;      /* owned */
	struct sfu_webrtc_server *server; /* borrowed: back pointer */
};

struct webrtc_server_conn {
	struct sfu_tcp_conn_handle *conn; /* owned */
	struct sfu_transport *transport;  /* borrowed; NULL until ICE */
};

struct sfu_webrtc_server {
	char id[SFU_MSG_ID_MAX];
	struct sfu_rtc_ctx *ctx; /* borrowed */
	struct webrtc_server_socket sockets[SFU_WEBRTC_MAX_LISTEN];
	struct sfu_listen_info infos[SFU_WEBRTC_MAX_LISTEN];
	unsigned n_sockets;
	struct sfu_strmap *ufrags;     /* ufrag -> transport, borrowed */
	struct sfu_strmap *tuples;     /* tuple key -> transport, borrowed */
	struct sfu_strmap *transports; /* id -> transport, borrowed */
	struct webrtc_server_conn *conns; /* owned array */
	unsigned n_conns;
	bool registered;
	bool closing;
	uint64_t unknown_ufrag;  /* STUN for no transport of ours */
	uint64_t unknown_tuple;  /* non-STUN from no validated tuple */
};

static void webrtc_server_handle_request(void *ctx,
    struct sfu_channel_request *req);

/* --- tuple keys --- */

static void
webrtc_server_tuple_key(const struct sfu_ice_tuple *t, char *key)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = NULL;
	size_t n = 0;
	size_t i = 0;
	int off = 0;
	uint16_t port = 0;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)&t->remote;
	const struct sockaddr_in6 *in6 =
	    (const struct sockaddr_in6 *)&t->remote;

	if (t->proto == SFU_ICE_TCP) {
		snprintf(key, WEBRTC_SERVER_KEY_LEN, "t%p", (void *)t->tcp);
		return;
	}
	off = snprintf(key, WEBRTC_SERVER_KEY_LEN, "u%p/", (void *)t->udp);
	if (t->remote.ss_family == AF_INET) {
		p = (const uint8_t *)&in4->sin_addr;
		n = 4;
		port = in4->sin_port;
	} else {
		p = (const uint8_t *)&in6->sin6_addr;
		n = 16;
		port = in6->sin6_port;
	}
	for (i = 0; i < n; i++) {
		key[off++] = hex[p[i] >> 4];
		key[off++] = hex[p[i] & 15];
	}
	snprintf(key + off, WEBRTC_SERVER_KEY_LEN - off, ":%04x", port);
}

/* --- receiving --- */

/* The transport a STUN request is addressed to (by USERNAME), or NULL. */
static struct sfu_transport *
webrtc_server_by_ufrag(struct sfu_webrtc_server *s, const uint8_t *data,
    size_t len)
{
	struct sfu_stun_message msg;
	struct sfu_error err = { 0 };
	char ufrag[64];

	if (sfu_stun_parse(data, len, &msg, &err) == -1 ||
	    sfu_stun_username_local(&msg, ufrag, sizeof(ufrag)) < 0) {
		return NULL;
	}
	return sfu_strmap_get(s->ufrags, ufrag);
}

static struct sfu_transport *
webrtc_server_find(struct sfu_webrtc_server *s,
    const struct sfu_ice_tuple *tuple, const uint8_t *data, size_t len)
{
	struct sfu_transport *t = NULL;
	char key[WEBRTC_SERVER_KEY_LEN];

	if (sfu_stun_is_message(data, len)) {
		t = webrtc_server_by_ufrag(s, data, len);
		if (t == NULL && s->unknown_ufrag++ == 0) {
			SFU_LOG_DEBUG_TAG(ICE, "STUN for an unknown ufrag "
			    "[webRtcServer:%s]", s->id);
		}
		return t;
	}
	webrtc_server_tuple_key(tuple, key);
	t = sfu_strmap_get(s->tuples, key);
	if (t == NULL) {
		s->unknown_tuple++;
	}
	return t;
}

static void
webrtc_server_on_udp_datagram(void *ctx, struct sfu_udp_handle *h,
    uint8_t *data, size_t len, const struct sockaddr *from,
    socklen_t fromlen)
{
	struct webrtc_server_socket *sock = ctx;
	struct sfu_ice_tuple tuple;
	struct sfu_transport *t = NULL;

	sfu_ice_tuple_udp(&tuple, h, from, fromlen);
	t = webrtc_server_find(sock->server, &tuple, data, len);
	if (t != NULL) {
		sfu_webrtc_transport_receive(t, &tuple, data, len);
	}
}

static const struct sfu_udp_handle_listener webrtc_server_udp_listener = {
	.on_datagram = webrtc_server_on_udp_datagram,
};

static struct webrtc_server_conn *
webrtc_server_conn_find(struct sfu_webrtc_server *s,
    const struct sfu_tcp_conn_handle *conn)
{
	unsigned i = 0;

	for (i = 0; i < s->n_conns; i++) {
		if (s->conns[i].conn == conn) {
			return &s->conns[i];
		}
	}
	return NULL;
}

static void
webrtc_server_conn_remove(struct sfu_webrtc_server *s,
    struct webrtc_server_conn *c)
{
	struct sfu_tcp_conn_handle *conn = c->conn;

	*c = s->conns[--s->n_conns];
	sfu_tcp_conn_handle_free(conn);
}

static void
webrtc_server_on_tcp_frame(void *ctx, struct sfu_tcp_conn_handle *conn,
    uint8_t *data, size_t len)
{
	struct sfu_webrtc_server *s = ctx;
	struct webrtc_server_conn *c = webrtc_server_conn_find(s, conn);
	struct sfu_ice_tuple tuple;

	if (c == NULL) {
		return;
	}
	sfu_ice_tuple_tcp(&tuple, conn);
	if (c->transport == NULL) {
		/* A connection belongs to whoever its first check names. */
		c->transport = sfu_stun_is_message(data, len) ?
		    webrtc_server_by_ufrag(s, data, len) : NULL;
		if (c->transport == NULL) {
			s->unknown_ufrag++;
			return;
		}
	}
	sfu_webrtc_transport_receive(c->transport, &tuple, data, len);
}

static void
webrtc_server_on_tcp_closed(void *ctx, struct sfu_tcp_conn_handle *conn,
    enum sfu_tcp_conn_close_reason reason, int error)
{
	struct sfu_webrtc_server *s = ctx;
	struct webrtc_server_conn *c = webrtc_server_conn_find(s, conn);

	(void)reason;
	(void)error;
	if (c == NULL) {
		return;
	}
	if (c->transport != NULL) {
		sfu_webrtc_transport_tcp_closed(c->transport, conn);
	}
	/* The transport's ICE server forgot the tuple: find it again. */
	c = webrtc_server_conn_find(s, conn);
	if (c != NULL) {
		webrtc_server_conn_remove(s, c);
	}
}

static const struct sfu_tcp_conn_handle_listener webrtc_server_conn_listener = {
	.on_frame = webrtc_server_on_tcp_frame,
	.on_closed = webrtc_server_on_tcp_closed,
};

static void
webrtc_server_on_tcp_connection(void *ctx, struct sfu_tcp_server_handle *srv,
    int fd, const struct sockaddr *peer, socklen_t peer_len)
{
	struct webrtc_server_socket *sock = ctx;
	struct sfu_webrtc_server *s = sock->server;
	struct sfu_tcp_conn_handle *conn = NULL;
	struct sfu_error err = { 0 };

	(void)srv;
	(void)peer;
	(void)peer_len;
	if (s->n_conns == WEBRTC_SERVER_MAX_CONNS) {
		SFU_LOG_WARN_TAG(ICE, "refusing a TCP connection: %u already "
		    "[webRtcServer:%s]", WEBRTC_SERVER_MAX_CONNS, s->id);
		close(fd);
		return;
	}
	conn = sfu_tcp_conn_handle_new(s->ctx->base, fd,
	    &webrtc_server_conn_listener, s, &err);
	if (conn == NULL) {
		SFU_LOG_WARN_TAG(ICE, "TCP connection: %s", err.reason);
		close(fd);
		return;
	}
	s->conns[s->n_conns].conn = conn;
	s->conns[s->n_conns].transport = NULL;
	s->n_conns++;
}

static const struct sfu_tcp_server_handle_listener webrtc_server_tcp_listener = {
	.on_connection = webrtc_server_on_tcp_connection,
};

/* --- what transports tell us --- */

void
sfu_webrtc_server_add_ufrag(struct sfu_webrtc_server *s, const char *ufrag,
    struct sfu_transport *t)
{
	sfu_strmap_remove(s->ufrags, ufrag);
	sfu_strmap_add(s->ufrags, ufrag, t);
	sfu_strmap_remove(s->transports, sfu_transport_id(t));
	sfu_strmap_add(s->transports, sfu_transport_id(t), t);
}

void
sfu_webrtc_server_remove_ufrag(struct sfu_webrtc_server *s,
    const char *ufrag)
{
	sfu_strmap_remove(s->ufrags, ufrag);
}

void
sfu_webrtc_server_add_tuple(struct sfu_webrtc_server *s,
    const struct sfu_ice_tuple *tuple, struct sfu_transport *t)
{
	char key[WEBRTC_SERVER_KEY_LEN];

	webrtc_server_tuple_key(tuple, key);
	sfu_strmap_remove(s->tuples, key);
	sfu_strmap_add(s->tuples, key, t);
}

void
sfu_webrtc_server_remove_tuple(struct sfu_webrtc_server *s,
    const struct sfu_ice_tuple *tuple)
{
	char key[WEBRTC_SERVER_KEY_LEN];

	webrtc_server_tuple_key(tuple, key);
	sfu_strmap_remove(s->tuples, key);
}

struct webrtc_server_sweep {
	struct sfu_transport *transport;
	char (*keys)[WEBRTC_SERVER_KEY_LEN];
	size_t n;
	size_t cap;
};

static void
webrtc_server_collect(void *arg, const char *key, void *value)
{
	struct webrtc_server_sweep *sw = arg;

	if (value != sw->transport) {
		return;
	}
	if (sw->n == sw->cap) {
		sw->cap = sw->cap == 0 ? 8 : sw->cap * 2;
		sw->keys = sfu_xrealloc(sw->keys, sw->cap * sizeof(*sw->keys));
	}
	snprintf(sw->keys[sw->n++], WEBRTC_SERVER_KEY_LEN, "%s", key);
}

/* Removes every entry of map whose value is t. */
static void
webrtc_server_sweep(struct sfu_strmap *map, struct sfu_transport *t)
{
	struct webrtc_server_sweep sw = { .transport = t };
	size_t i = 0;

	sfu_strmap_foreach(map, webrtc_server_collect, &sw);
	for (i = 0; i < sw.n; i++) {
		sfu_strmap_remove(map, sw.keys[i]);
	}
	free(sw.keys);
}

void
sfu_webrtc_server_remove_transport(struct sfu_webrtc_server *s,
    struct sfu_transport *t)
{
	unsigned i = 0;

	webrtc_server_sweep(s->ufrags, t);
	webrtc_server_sweep(s->tuples, t);
	sfu_strmap_remove(s->transports, sfu_transport_id(t));
	/* Its TCP connections go with it (mediasoup closes them too). */
	while (i < s->n_conns) {
		if (s->conns[i].transport == t) {
			webrtc_server_conn_remove(s, &s->conns[i]);
			continue;
		}
		i++;
	}
}

unsigned
sfu_webrtc_server_listen_infos(const struct sfu_webrtc_server *s,
    const struct sfu_listen_info **infos)
{
	*infos = s->infos;
	return s->n_sockets;
}

const char *
sfu_webrtc_server_id(const struct sfu_webrtc_server *s)
{
	return s->id;
}

/* --- life cycle --- */

static int
webrtc_server_bind(struct sfu_webrtc_server *s,
    const struct sfu_listen_info *li, const char *path,
    struct sfu_error *err)
{
	struct webrtc_server_socket *sock = &s->sockets[s->n_sockets];

	sock->server = s;
	if (sfu_listen_socket_open(&sock->ls, s->ctx->base, li,
	    &webrtc_server_udp_listener, &webrtc_server_tcp_listener, sock,
	    path, err) == -1) {
		return -1;
	}
	s->infos[s->n_sockets] = sock->ls.info;
	s->n_sockets++;
	return 0;
}

struct sfu_webrtc_server *
sfu_webrtc_server_new(struct sfu_rtc_ctx *ctx, const msgpack_object *data,
    struct sfu_error *err)
{
	struct sfu_webrtc_server *s = NULL;
	const msgpack_object *arr = NULL;
	struct sfu_listen_info li;
	char path[SFU_MSG_PATH_MAX];
	uint32_t i = 0;

	s = sfu_xcalloc(1, sizeof(*s));
	s->ctx = ctx;
	s->ufrags = sfu_strmap_new();
	s->tuples = sfu_strmap_new();
	s->transports = sfu_strmap_new();
	s->conns = sfu_xcalloc(WEBRTC_SERVER_MAX_CONNS, sizeof(*s->conns));
	if (sfu_msg_get_strbuf(data, "data", "webRtcServerId",
	    SFU_MSG_REQUIRED, s->id, sizeof(s->id), err) != 1 ||
	    sfu_msg_get_array(data, "data", "listenInfos", SFU_MSG_REQUIRED,
	    &arr, err) != 1) {
		goto fail;
	}
	if (arr->via.array.size == 0 ||
	    arr->via.array.size > SFU_WEBRTC_MAX_LISTEN) {
		sfu_error_set(err, SFU_ERR_TYPE, "data.listenInfos: expected "
		    "1 to %d entries", SFU_WEBRTC_MAX_LISTEN);
		goto fail;
	}
	for (i = 0; i < arr->via.array.size; i++) {
		snprintf(path, sizeof(path), "data.listenInfos[%u]", i);
		if (arr->via.array.ptr[i].type != MSGPACK_OBJECT_MAP) {
			sfu_error_set(err, SFU_ERR_TYPE, "%s: expected a map",
			    path);
			goto fail;
		}
		if (sfu_listen_info_parse(&arr->via.array.ptr[i], path,
		    ctx->settings, -1, &li, err) == -1 ||
		    webrtc_server_bind(s, &li, path, err) == -1) {
			goto fail;
		}
	}
	if (sfu_registry_add(ctx->registry, s->id,
	    webrtc_server_handle_request, s, err) == -1) {
		sfu_error_prefix(err, "data.webRtcServerId: ");
		goto fail;
	}
	s->registered = true;
	SFU_LOG_DEBUG("webrtc server created [id:%s sockets:%u]", s->id,
	    s->n_sockets);
	return s;
fail:
	sfu_webrtc_server_free(s);
	return NULL;
}

void
sfu_webrtc_server_free(struct sfu_webrtc_server *s)
{
	struct sfu_transport **ts = NULL;
	msgpack_packer *pk = NULL;
	size_t n = 0;
	size_t i = 0;

	if (s == NULL) {
		return;
	}
	s->closing = true;
	/* Transports using us close (mediasoup: "listenserverclose"). */
	ts = (struct sfu_transport **)sfu_strmap_values(s->transports, &n);
	for (i = 0; i < n; i++) {
		sfu_webrtc_transport_server_closed(ts[i]);
		pk = sfu_notifier_begin(s->ctx->notifier,
		    sfu_transport_id(ts[i]), "transport.listenserverclose");
		msgpack_pack_nil(pk);
		sfu_notifier_send(s->ctx->notifier);
		sfu_router_close_transport(sfu_transport_router(ts[i]),
		    sfu_transport_id(ts[i]));
	}
	free(ts);
	for (i = 0; i < s->n_conns; i++) {
		sfu_tcp_conn_handle_free(s->conns[i].conn);
	}
	for (i = 0; i < s->n_sockets; i++) {
		sfu_listen_socket_close(&s->sockets[i].ls);
	}
	if (s->registered) {
		sfu_registry_remove(s->ctx->registry, s->id);
	}
	sfu_strmap_free(s->ufrags);
	sfu_strmap_free(s->tuples);
	sfu_strmap_free(s->transports);
	free(s->conns);
	free(s);
}

static void
webrtc_server_pack_key(void *arg, const char *key, void *value)
{
	msgpack_packer *pk = arg;

	msgpack_pack_map(pk, 2);
	sfu_msg_pack_kv_str(pk, "localIceUsernameFragment", key);
	sfu_msg_pack_kv_str(pk, "webRtcTransportId", sfu_transport_id(value));
}

static void
webrtc_server_pack_id(void *arg, const char *key, void *value)
{
	(void)value;
	sfu_msg_pack_str(arg, key);
}

static void
webrtc_server_pack_sockets(const struct sfu_webrtc_server *s,
    enum sfu_listen_proto proto, msgpack_packer *pk)
{
	unsigned i = 0;
	unsigned n = 0;

	for (i = 0; i < s->n_sockets; i++) {
		n += s->infos[i].protocol == proto ? 1 : 0;
	}
	msgpack_pack_array(pk, n);
	for (i = 0; i < s->n_sockets; i++) {
		if (s->infos[i].protocol != proto) {
			continue;
		}
		msgpack_pack_map(pk, 2);
		sfu_msg_pack_kv_str(pk, "ip", s->infos[i].ip);
		sfu_msg_pack_kv_uint(pk, "port", s->infos[i].port);
	}
}

void
sfu_webrtc_server_pack_dump(const struct sfu_webrtc_server *s,
    msgpack_packer *pk)
{
	msgpack_pack_map(pk, 7);
	sfu_msg_pack_kv_str(pk, "id", s->id);
	sfu_msg_pack_str(pk, "udpSockets");
	webrtc_server_pack_sockets(s, SFU_LISTEN_UDP, pk);
	sfu_msg_pack_str(pk, "tcpServers");
	webrtc_server_pack_sockets(s, SFU_LISTEN_TCP, pk);
	sfu_msg_pack_str(pk, "webRtcTransportIds");
	msgpack_pack_array(pk, sfu_strmap_count(s->transports));
	sfu_strmap_foreach(s->transports, webrtc_server_pack_id, pk);
	sfu_msg_pack_str(pk, "localIceUsernameFragments");
	msgpack_pack_array(pk, sfu_strmap_count(s->ufrags));
	sfu_strmap_foreach(s->ufrags, webrtc_server_pack_key, pk);
	sfu_msg_pack_kv_uint(pk, "tupleCount", sfu_strmap_count(s->tuples));
	sfu_msg_pack_kv_uint(pk, "tcpConnectionCount", s->n_conns);
}

static void
webrtc_server_handle_request(void *ctx, struct sfu_channel_request *req)
{
	struct sfu_webrtc_server *s = ctx;
	msgpack_packer *pk = NULL;

	if (strcmp(req->env.method, "webRtcServer.dump") == 0) {
		pk = sfu_channel_request_begin_data(req);
		sfu_webrtc_server_pack_dump(s, pk);
		sfu_channel_request_accept_data(req);
	} else if (strcmp(req->env.method, "webRtcServer.close") == 0) {
		/* The worker owns us: it frees us and answers. */
		s->ctx->close_webrtc_server(s->ctx->owner, s, req);
	} else {
		sfu_channel_request_error(req, SFU_ERR_ERROR,
		    "unknown method '%s'", req->env.method);
	}
}
