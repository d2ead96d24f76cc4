/*
 * SPDX-License-Identifier: MIT
 *
 * WebRtcTransport: sockets (own, or a WebRtcServer's), ICE-lite, DTLS,
 * SRTP; see webrtc_transport.h. The order of things is mediasoup's: ICE
 * checks may arrive at any time; DTLS runs once transport.connect gave
 * the remote fingerprint and ICE has a selected tuple; SRTP sessions come
 * from the DTLS keys; RTP and RTCP are accepted only from tuples ICE
 * validated and are sent to the selected one.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SFU_LOG_MODULE "webrtc_transport"
#include "common/handle/sock_util.h"
#include "common/handle/tcp_conn_handle.h"
#include "common/handle/tcp_server_handle.h"
#include "common/handle/udp_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "common/strmap.h"
#include "worker/channel/channel_request.h"
#include "worker/channel/notifier.h"
#include "worker/rtc/dtls_transport.h"
#include "worker/rtc/ice_server.h"
#include "worker/rtc/listen_info.h"
#include "worker/rtc/rtc_ctx.h"
#include "worker/rtc/rtc_demux.h"
#include "worker/rtc/srtp_session.h"
#include "worker/rtc/transport.h"
#include "worker/rtc/webrtc_server.h"
#include "worker/rtc/webrtc_transport.h"
#include "worker/settings.h"

/* TCP connections one transport accepts on its own listeners. */
#define WEBRTC_MAX_TCP_CONNS 32
/* mediasoup's default iceConsentTimeout, seconds. */
#define WEBRTC_DEFAULT_CONSENT_TIMEOUT_S 30

struct webrtc_socket {
	struct sfu_listen_socket ls;     /* owned */
	struct webrtc_transport *wt;     /* borrowed: back pointer */
};

struct webrtc_candidate {
	enum sfu_listen_proto protocol;
	char address[SFU_LISTEN_INFO_ADDR_LEN];
	uint16_t port;
	uint32_t priority;
};

struct webrtc_transport {
	struct sfu_transport *transport; /* borrowed: the generic part */
	struct sfu_rtc_ctx *ctx;         /* borrowed */
	struct sfu_webrtc_server *server; /* borrowed, NULL: own sockets */
	struct webrtc_socket sockets[SFU_WEBRTC_MAX_LISTEN];
	unsigned n_sockets;
	struct webrtc_candidate candidates[SFU_WEBRTC_MAX_LISTEN];
	unsigned n_candidates;
	struct sfu_tcp_conn_handle *conns[WEBRTC_MAX_TCP_CONNS]; /* owned */
	unsigned n_conns;
	struct sfu_ice_server *ice;      /* owned */
	struct sfu_dtls_transport *dtls; /* owned */
	bool connect_called;
	enum sfu_dtls_role local_role;   /* after connect */
	enum sfu_dtls_hash remote_hash;
	char remote_fingerprint[192];
	bool dtls_started;
	bool ice_usable; /* connected or completed, with a tuple */
	enum sfu_dtls_state dtls_state;
	struct sfu_srtp_session *srtp_in;  /* owned */
	struct sfu_srtp_session *srtp_out; /* owned */
	uint32_t consent_timeout_s;
	uint64_t initial_bitrate;
	uint64_t invalid_tuple; /* dropped: not from a valid tuple */
	uint64_t no_srtp;       /* dropped: SRTP not ready */
	bool closing;
};

static const struct sfu_transport_ops webrtc_ops;

/* --- tuples --- */

static void
webrtc_sockaddr_str(const struct sockaddr *sa, char *ip, size_t ip_size,
    uint16_t *port)
{
	sfu_sock_util_ip_str(sa, ip, ip_size);
	*port = sfu_sock_util_port(sa);
}

/*
 * The candidate (announced address) of a tuple whose local end is on port
 * local_port, or NULL.
 */
static const struct webrtc_candidate *
webrtc_tuple_candidate(const struct webrtc_transport *wt,
    const struct sfu_ice_tuple *tuple, uint16_t local_port)
{
	unsigned i = 0;

	for (i = 0; i < wt->n_candidates; i++) {
		if (wt->candidates[i].port == local_port &&
		    (wt->candidates[i].protocol == SFU_LISTEN_TCP) ==
		    (tuple->proto == SFU_ICE_TCP)) {
			return &wt->candidates[i];
		}
	}
	return NULL;
}

/* mediasoup's TransportTuple. */
static void
webrtc_pack_tuple(const struct webrtc_transport *wt,
    const struct sfu_ice_tuple *tuple, msgpack_packer *pk)
{
	const struct webrtc_candidate *c = NULL;
	const struct sockaddr *local = NULL;
	socklen_t len = 0;
	char ip[SFU_LISTEN_INFO_ADDR_LEN];
	char lip[SFU_LISTEN_INFO_ADDR_LEN];
	uint16_t port = 0;
	uint16_t lport = 0;

	if (tuple->proto == SFU_ICE_UDP) {
		local = sfu_udp_handle_local_addr(tuple->udp, &len);
	} else {
		local = sfu_tcp_conn_handle_local_addr(tuple->tcp, &len);
	}
	webrtc_sockaddr_str(local, lip, sizeof(lip), &lport);
	webrtc_sockaddr_str((const struct sockaddr *)&tuple->remote, ip,
	    sizeof(ip), &port);
	c = webrtc_tuple_candidate(wt, tuple, lport);
	msgpack_pack_map(pk, 5);
	sfu_msg_pack_kv_str(pk, "localAddress", c != NULL ? c->address : lip);
	sfu_msg_pack_kv_uint(pk, "localPort", lport);
	sfu_msg_pack_kv_str(pk, "remoteIp", ip);
	sfu_msg_pack_kv_uint(pk, "remotePort", port);
	sfu_msg_pack_kv_str(pk, "protocol",
	    tuple->proto == SFU_ICE_TCP ? "tcp" : "udp");
}

/*
 * Sends to tuple. RTP (rtp true) rides the receive batch's sendmmsg (a
 * copy is held: the SRTP buffer is reused); STUN, DTLS and RTCP go at
 * once, behind what is held on that socket.
 */
static void
webrtc_send_to_tuple(struct webrtc_transport *wt,
    const struct sfu_ice_tuple *tuple, const uint8_t *data, size_t len,
    bool rtp)
{
	struct sfu_transport_counters *cnt = NULL;

	if (tuple->proto == SFU_ICE_UDP && rtp) {
		sfu_udp_handle_send_deferred(tuple->udp, data, len, NULL, 0,
		    (const struct sockaddr *)&tuple->remote, tuple->remote_len);
	} else if (tuple->proto == SFU_ICE_UDP) {
		sfu_udp_handle_send(tuple->udp, data, len,
		    (const struct sockaddr *)&tuple->remote, tuple->remote_len);
	} else {
		sfu_tcp_conn_handle_send_frame(tuple->tcp, data, len);
	}
	if (wt->transport != NULL) {
		cnt = sfu_transport_counters(wt->transport);
		cnt->bytes_sent += len;
	}
}

/* --- notifications --- */

static void
webrtc_emit_ice_state(struct webrtc_transport *wt)
{
	msgpack_packer *pk = NULL;

	pk = sfu_notifier_begin(wt->ctx->notifier,
	    sfu_transport_id(wt->transport), "webrtctransport.icestatechange");
	msgpack_pack_map(pk, 1);
	sfu_msg_pack_kv_str(pk, "iceState",
	    sfu_ice_state_name(sfu_ice_server_state(wt->ice)));
	sfu_notifier_send(wt->ctx->notifier);
}

static void
webrtc_emit_dtls_state(struct webrtc_transport *wt)
{
	msgpack_packer *pk = NULL;

	pk = sfu_notifier_begin(wt->ctx->notifier,
	    sfu_transport_id(wt->transport), "webrtctransport.dtlsstatechange");
	msgpack_pack_map(pk, 1);
	sfu_msg_pack_kv_str(pk, "dtlsState",
	    sfu_dtls_state_name(wt->dtls_state));
	sfu_notifier_send(wt->ctx->notifier);
}

/* --- DTLS --- */

static bool
webrtc_ice_usable(const struct webrtc_transport *wt)
{
	enum sfu_ice_state s = sfu_ice_server_state(wt->ice);

	return (s == SFU_ICE_CONNECTED || s == SFU_ICE_COMPLETED) &&
	    sfu_ice_server_selected_tuple(wt->ice) != NULL;
}

/* mediasoup's MayRunDtlsTransport: connect() called and ICE usable. */
static void
webrtc_maybe_run_dtls(struct webrtc_transport *wt)
{
	struct sfu_error err = { 0 };

	if (wt->dtls_started || !wt->connect_called || !webrtc_ice_usable(wt)) {
		return;
	}
	wt->dtls_started = true;
	if (sfu_dtls_transport_start(wt->dtls, wt->local_role, wt->remote_hash,
	    wt->remote_fingerprint, &err) == -1) {
		SFU_LOG_WARN_TAG(DTLS, "cannot start DTLS: %s [transport:%s]",
		    err.reason, sfu_transport_id(wt->transport));
		wt->dtls_state = SFU_DTLS_STATE_FAILED;
		webrtc_emit_dtls_state(wt);
	}
}

static void
webrtc_on_dtls_send(void *ctx, struct sfu_dtls_transport *d,
    const uint8_t *data, size_t len)
{
	struct webrtc_transport *wt = ctx;
	const struct sfu_ice_tuple *tuple = NULL;

	(void)d;
	tuple = sfu_ice_server_selected_tuple(wt->ice);
	if (tuple == NULL) {
		return;
	}
	webrtc_send_to_tuple(wt, tuple, data, len, false);
}

static void
webrtc_on_dtls_state(void *ctx, struct sfu_dtls_transport *d,
    enum sfu_dtls_state state)
{
	struct webrtc_transport *wt = ctx;

	(void)d;
	if (wt->closing || wt->dtls_state == state ||
	    (state == SFU_DTLS_STATE_CONNECTED &&
	    wt->dtls_state == SFU_DTLS_STATE_FAILED)) {
		/* connected was told by on_connected, or SRTP failed. */
		return;
	}
	wt->dtls_state = state;
	SFU_LOG_DEBUG_TAG(DTLS, "DTLS %s [transport:%s]",
	    sfu_dtls_state_name(state), sfu_transport_id(wt->transport));
	if (state != SFU_DTLS_STATE_CONNECTED) {
		/* connected is told once the SRTP sessions exist. */
		webrtc_emit_dtls_state(wt);
	}
	if (state == SFU_DTLS_STATE_FAILED || state == SFU_DTLS_STATE_CLOSED) {
		sfu_srtp_session_free(wt->srtp_in);
		sfu_srtp_session_free(wt->srtp_out);
		wt->srtp_in = NULL;
		wt->srtp_out = NULL;
	}
}

static void
webrtc_on_dtls_connected(void *ctx, struct sfu_dtls_transport *d,
    enum sfu_srtp_suite suite, const uint8_t *local_key,
    const uint8_t *remote_key, size_t key_len)
{
	struct webrtc_transport *wt = ctx;
	struct sfu_error err = { 0 };

	(void)d;
	sfu_srtp_session_free(wt->srtp_in);
	sfu_srtp_session_free(wt->srtp_out);
	wt->srtp_out = sfu_srtp_session_new(SFU_SRTP_OUTBOUND, suite,
	    local_key, key_len, &err);
	wt->srtp_in = wt->srtp_out == NULL ? NULL :
	    sfu_srtp_session_new(SFU_SRTP_INBOUND, suite, remote_key, key_len,
	    &err);
	if (wt->srtp_in == NULL) {
		SFU_LOG_ERROR("cannot create SRTP sessions: %s [transport:%s]",
		    err.reason, sfu_transport_id(wt->transport));
		sfu_srtp_session_free(wt->srtp_out);
		wt->srtp_out = NULL;
		wt->dtls_state = SFU_DTLS_STATE_FAILED;
		webrtc_emit_dtls_state(wt);
		return;
	}
	SFU_LOG_DEBUG_TAG(DTLS, "DTLS connected, SRTP %s [transport:%s]",
	    sfu_srtp_suite_name(suite), sfu_transport_id(wt->transport));
	wt->dtls_state = SFU_DTLS_STATE_CONNECTED;
	webrtc_emit_dtls_state(wt);
	sfu_transport_connected(wt->transport);
}

static void
webrtc_on_dtls_app_data(void *ctx, struct sfu_dtls_transport *d,
    const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)d;
	(void)data;
	(void)len;
	/* SCTP over DTLS comes with data channels. */
}

static const struct sfu_dtls_transport_listener webrtc_dtls_listener = {
	.on_send = webrtc_on_dtls_send,
	.on_state = webrtc_on_dtls_state,
	.on_connected = webrtc_on_dtls_connected,
	.on_app_data = webrtc_on_dtls_app_data,
};

/* --- ICE --- */

static void
webrtc_on_ice_send(void *ctx, const struct sfu_ice_tuple *tuple,
    const uint8_t *data, size_t len)
{
	webrtc_send_to_tuple(ctx, tuple, data, len, false);
}

static void
webrtc_on_ice_state(void *ctx, enum sfu_ice_state state)
{
	struct webrtc_transport *wt = ctx;
	bool was_usable = wt->ice_usable;

	SFU_LOG_DEBUG_TAG(ICE, "ICE %s [transport:%s]",
	    sfu_ice_state_name(state), sfu_transport_id(wt->transport));
	webrtc_emit_ice_state(wt);
	webrtc_maybe_run_dtls(wt);
	wt->ice_usable = webrtc_ice_usable(wt);
	if (wt->ice_usable && !was_usable && wt->srtp_out != NULL) {
		/* Back from disconnected with DTLS up: resync. */
		sfu_transport_connected(wt->transport);
	}
}

static void
webrtc_on_ice_selected_tuple(void *ctx, const struct sfu_ice_tuple *tuple)
{
	struct webrtc_transport *wt = ctx;
	msgpack_packer *pk = NULL;

	pk = sfu_notifier_begin(wt->ctx->notifier,
	    sfu_transport_id(wt->transport),
	    "webrtctransport.iceselectedtuplechange");
	msgpack_pack_map(pk, 1);
	sfu_msg_pack_str(pk, "iceSelectedTuple");
	webrtc_pack_tuple(wt, tuple, pk);
	sfu_notifier_send(wt->ctx->notifier);
}

static void
webrtc_on_ice_tuple_added(void *ctx, const struct sfu_ice_tuple *tuple)
{
	struct webrtc_transport *wt = ctx;

	if (wt->server != NULL) {
		sfu_webrtc_server_add_tuple(wt->server, tuple, wt->transport);
	}
}

static void
webrtc_on_ice_tuple_removed(void *ctx, const struct sfu_ice_tuple *tuple)
{
	struct webrtc_transport *wt = ctx;

	if (wt->server != NULL) {
		sfu_webrtc_server_remove_tuple(wt->server, tuple);
	}
}

static void
webrtc_on_ice_ufrag_retired(void *ctx, const char *ufrag)
{
	struct webrtc_transport *wt = ctx;

	if (wt->server != NULL) {
		sfu_webrtc_server_remove_ufrag(wt->server, ufrag);
	}
}

static const struct sfu_ice_server_listener webrtc_ice_listener = {
	.send = webrtc_on_ice_send,
	.on_state = webrtc_on_ice_state,
	.on_selected_tuple = webrtc_on_ice_selected_tuple,
	.on_tuple_added = webrtc_on_ice_tuple_added,
	.on_tuple_removed = webrtc_on_ice_tuple_removed,
	.on_ufrag_retired = webrtc_on_ice_ufrag_retired,
};

/* --- receiving --- */

static void
webrtc_receive(struct webrtc_transport *wt, const struct sfu_ice_tuple *tuple,
    uint8_t *data, size_t len)
{
	struct sfu_transport_counters *cnt = NULL;
	enum sfu_rtc_demux_kind kind;

	if (wt->closing) {
		return;
	}
	cnt = sfu_transport_counters(wt->transport);
	kind = sfu_rtc_demux_classify(data, len);
	if (kind == SFU_RTC_DEMUX_STUN) {
		cnt->bytes_received += len;
		sfu_ice_server_process_stun(wt->ice, data, len, tuple);
		return;
	}
	if (kind == SFU_RTC_DEMUX_UNKNOWN) {
		cnt->invalid_packets++;
		return;
	}
	if (sfu_ice_server_find_tuple(wt->ice, tuple) == NULL) {
		if (wt->invalid_tuple++ == 0) {
			SFU_LOG_WARN_TAG(ICE, "dropping data from a tuple ICE "
			    "has not validated [transport:%s]",
			    sfu_transport_id(wt->transport));
		}
		return;
	}
	cnt->bytes_received += len;
	if (kind == SFU_RTC_DEMUX_DTLS) {
		if (wt->dtls_started) {
			sfu_dtls_transport_feed(wt->dtls, data, len);
		}
		return;
	}
	if (wt->srtp_in == NULL) {
		wt->no_srtp++;
		return;
	}
	if (kind == SFU_RTC_DEMUX_RTCP) {
		if (sfu_srtp_session_unprotect_rtcp(wt->srtp_in, data, &len) ==
		    -1) {
			cnt->invalid_packets++;
			return;
		}
		sfu_transport_receive_rtcp(wt->transport, data, len);
		return;
	}
	if (sfu_srtp_session_unprotect_rtp(wt->srtp_in, data, &len) == -1) {
		cnt->invalid_packets++;
		return;
	}
	sfu_transport_receive_rtp(wt->transport, data, len, len +
	    SFU_UDP_RECV_TAILROOM);
}

void
sfu_webrtc_transport_receive(struct sfu_transport *t,
    const struct sfu_ice_tuple *tuple, uint8_t *data, size_t len)
{
	webrtc_receive(sfu_transport_impl(t), tuple, data, len);
}

static void
webrtc_on_udp_datagram(void *ctx, struct sfu_udp_handle *h, uint8_t *data,
    size_t len, const struct sockaddr *from, socklen_t fromlen)
{
	struct webrtc_socket *sock = ctx;
	struct sfu_ice_tuple tuple;

	sfu_ice_tuple_udp(&tuple, h, from, fromlen);
	webrtc_receive(sock->wt, &tuple, data, len);
}

static const struct sfu_udp_handle_listener webrtc_udp_listener = {
	.on_datagram = webrtc_on_udp_datagram,
};

static void
webrtc_tcp_conn_gone(struct webrtc_transport *wt,
    struct sfu_tcp_conn_handle *conn)
{
	unsigned i = 0;

	sfu_ice_server_remove_tcp(wt->ice, conn);
	for (i = 0; i < wt->n_conns; i++) {
		if (wt->conns[i] == conn) {
			wt->conns[i] = wt->conns[--wt->n_conns];
			break;
		}
	}
	sfu_tcp_conn_handle_free(conn);
}

static void
webrtc_on_tcp_frame(void *ctx, struct sfu_tcp_conn_handle *conn,
    uint8_t *data, size_t len)
{
	struct webrtc_transport *wt = ctx;
	struct sfu_ice_tuple tuple;

	sfu_ice_tuple_tcp(&tuple, conn);
	webrtc_receive(wt, &tuple, data, len);
}

static void
webrtc_on_tcp_closed(void *ctx, struct sfu_tcp_conn_handle *conn,
    enum sfu_tcp_conn_close_reason reason, int error)
{
	struct webrtc_transport *wt = ctx;

	SFU_LOG_DEBUG_TAG(ICE, "TCP connection closed (%d, %d) [transport:%s]",
	    (int)reason, error, sfu_transport_id(wt->transport));
	webrtc_tcp_conn_gone(wt, conn);
}

static const struct sfu_tcp_conn_handle_listener webrtc_tcp_conn_listener = {
	.on_frame = webrtc_on_tcp_frame,
	.on_closed = webrtc_on_tcp_closed,
};

static void
webrtc_on_tcp_connection(void *ctx, struct sfu_tcp_server_handle *srv,
    int fd, const struct sockaddr *peer, socklen_t peer_len)
{
	struct webrtc_socket *sock = ctx;
	struct webrtc_transport *wt = sock->wt;
	struct sfu_tcp_conn_handle *conn = NULL;
	struct sfu_error err = { 0 };

	(void)srv;
	(void)peer;
	(void)peer_len;
	if (wt->n_conns == WEBRTC_MAX_TCP_CONNS) {
		SFU_LOG_WARN_TAG(ICE, "refusing a TCP connection: %u already "
		    "[transport:%s]", WEBRTC_MAX_TCP_CONNS,
		    sfu_transport_id(wt->transport));
		close(fd);
		return;
	}
	conn = sfu_tcp_conn_handle_new(wt->ctx->base, fd,
	    &webrtc_tcp_conn_listener, wt, &err);
	if (conn == NULL) {
		SFU_LOG_WARN_TAG(ICE, "TCP connection: %s", err.reason);
		close(fd);
		return;
	}
	wt->conns[wt->n_conns++] = conn;
}

static const struct sfu_tcp_server_handle_listener webrtc_tcp_listener = {
	.on_connection = webrtc_on_tcp_connection,
};

void
sfu_webrtc_transport_tcp_closed(struct sfu_transport *t,
    const struct sfu_tcp_conn_handle *conn)
{
	struct webrtc_transport *wt = sfu_transport_impl(t);

	sfu_ice_server_remove_tcp(wt->ice, conn);
}

void
sfu_webrtc_transport_server_closed(struct sfu_transport *t)
{
	struct webrtc_transport *wt = sfu_transport_impl(t);

	wt->server = NULL;
}

bool
sfu_webrtc_transport_is(const struct sfu_transport *t)
{
	return strcmp(sfu_transport_type(t), "webrtc") == 0;
}

/* --- ops --- */

static void
webrtc_send_rtp(struct sfu_transport *t, uint8_t *data, size_t len,
    size_t capacity)
{
	struct webrtc_transport *wt = sfu_transport_impl(t);
	const struct sfu_ice_tuple *tuple = NULL;

	tuple = sfu_ice_server_selected_tuple(wt->ice);
	if (tuple == NULL || wt->srtp_out == NULL ||
	    sfu_srtp_session_protect_rtp(wt->srtp_out, data, &len, capacity) ==
	    -1) {
		return;
	}
	webrtc_send_to_tuple(wt, tuple, data, len, true);
}

static void
webrtc_send_rtcp(struct sfu_transport *t, uint8_t *data, size_t len,
    size_t capacity)
{
	struct webrtc_transport *wt = sfu_transport_impl(t);
	const struct sfu_ice_tuple *tuple = NULL;

	tuple = sfu_ice_server_selected_tuple(wt->ice);
	if (tuple == NULL || wt->srtp_out == NULL ||
	    sfu_srtp_session_protect_rtcp(wt->srtp_out, data, &len,
	    capacity) == -1) {
		return;
	}
	webrtc_send_to_tuple(wt, tuple, data, len, false);
}

static bool
webrtc_is_connected(const struct sfu_transport *t)
{
	const struct webrtc_transport *wt = sfu_transport_impl(t);

	return wt->srtp_out != NULL &&
	    sfu_ice_server_selected_tuple(wt->ice) != NULL;
}

static void
webrtc_pack_ice_parameters(const struct webrtc_transport *wt,
    msgpack_packer *pk)
{
	msgpack_pack_map(pk, 3);
	sfu_msg_pack_kv_str(pk, "usernameFragment",
	    sfu_ice_server_ufrag(wt->ice));
	sfu_msg_pack_kv_str(pk, "password", sfu_ice_server_password(wt->ice));
	sfu_msg_pack_kv_bool(pk, "iceLite", true);
}

static void
webrtc_pack_candidates(const struct webrtc_transport *wt, msgpack_packer *pk)
{
	const struct webrtc_candidate *c = NULL;
	unsigned i = 0;

	msgpack_pack_array(pk, wt->n_candidates);
	for (i = 0; i < wt->n_candidates; i++) {
		c = &wt->candidates[i];
		msgpack_pack_map(pk, c->protocol == SFU_LISTEN_TCP ? 8 : 7);
		sfu_msg_pack_kv_str(pk, "foundation",
		    c->protocol == SFU_LISTEN_TCP ? "tcpcandidate" :
		    "udpcandidate");
		sfu_msg_pack_kv_uint(pk, "priority", c->priority);
		sfu_msg_pack_kv_str(pk, "ip", c->address);
		sfu_msg_pack_kv_str(pk, "address", c->address);
		sfu_msg_pack_kv_str(pk, "protocol",
		    sfu_listen_proto_name(c->protocol));
		sfu_msg_pack_kv_uint(pk, "port", c->port);
		sfu_msg_pack_kv_str(pk, "type", "host");
		if (c->protocol == SFU_LISTEN_TCP) {
			sfu_msg_pack_kv_str(pk, "tcpType", "passive");
		}
	}
}

static void
webrtc_pack_dtls_parameters(const struct webrtc_transport *wt,
    msgpack_packer *pk)
{
	static const enum sfu_dtls_hash hashes[] = {
		SFU_DTLS_HASH_SHA1, SFU_DTLS_HASH_SHA224, SFU_DTLS_HASH_SHA256,
		SFU_DTLS_HASH_SHA384, SFU_DTLS_HASH_SHA512,
	};
	unsigned i = 0;

	msgpack_pack_map(pk, 2);
	sfu_msg_pack_kv_str(pk, "role", wt->connect_called ?
	    sfu_dtls_role_name(wt->local_role) : "auto");
	sfu_msg_pack_str(pk, "fingerprints");
	msgpack_pack_array(pk, sizeof(hashes) / sizeof(hashes[0]));
	for (i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++) {
		msgpack_pack_map(pk, 2);
		sfu_msg_pack_kv_str(pk, "algorithm",
		    sfu_dtls_hash_name(hashes[i]));
		sfu_msg_pack_kv_str(pk, "value",
		    sfu_dtls_ctx_fingerprint(wt->ctx->dtls, hashes[i]));
	}
}

/* iceRole, iceParameters, iceCandidates, iceState, [iceSelectedTuple],
 * dtlsParameters, dtlsState, [webRtcServerId]. */
static unsigned
webrtc_count_dump_fields(const struct sfu_transport *t)
{
	const struct webrtc_transport *wt = sfu_transport_impl(t);

	return 6 + (sfu_ice_server_selected_tuple(wt->ice) != NULL ? 1 : 0) +
	    (wt->server != NULL ? 1 : 0);
}

static void
webrtc_pack_dump_fields(const struct sfu_transport *t, msgpack_packer *pk)
{
	const struct webrtc_transport *wt = sfu_transport_impl(t);
	const struct sfu_ice_tuple *sel = sfu_ice_server_selected_tuple(wt->ice);

	sfu_msg_pack_kv_str(pk, "iceRole", "controlled");
	sfu_msg_pack_str(pk, "iceParameters");
	webrtc_pack_ice_parameters(wt, pk);
	sfu_msg_pack_str(pk, "iceCandidates");
	webrtc_pack_candidates(wt, pk);
	sfu_msg_pack_kv_str(pk, "iceState",
	    sfu_ice_state_name(sfu_ice_server_state(wt->ice)));
	if (sel != NULL) {
		sfu_msg_pack_str(pk, "iceSelectedTuple");
		webrtc_pack_tuple(wt, sel, pk);
	}
	sfu_msg_pack_str(pk, "dtlsParameters");
	webrtc_pack_dtls_parameters(wt, pk);
	sfu_msg_pack_kv_str(pk, "dtlsState",
	    sfu_dtls_state_name(wt->dtls_state));
	if (wt->server != NULL) {
		sfu_msg_pack_kv_str(pk, "webRtcServerId",
		    sfu_webrtc_server_id(wt->server));
	}
}

/* iceRole, iceState, [iceSelectedTuple], dtlsState. */
static unsigned
webrtc_count_stats_fields(const struct sfu_transport *t)
{
	const struct webrtc_transport *wt = sfu_transport_impl(t);

	return 3 + (sfu_ice_server_selected_tuple(wt->ice) != NULL ? 1 : 0);
}

static void
webrtc_pack_stats_fields(const struct sfu_transport *t, msgpack_packer *pk)
{
	const struct webrtc_transport *wt = sfu_transport_impl(t);
	const struct sfu_ice_tuple *sel = sfu_ice_server_selected_tuple(wt->ice);

	sfu_msg_pack_kv_str(pk, "iceRole", "controlled");
	sfu_msg_pack_kv_str(pk, "iceState",
	    sfu_ice_state_name(sfu_ice_server_state(wt->ice)));
	if (sel != NULL) {
		sfu_msg_pack_str(pk, "iceSelectedTuple");
		webrtc_pack_tuple(wt, sel, pk);
	}
	sfu_msg_pack_kv_str(pk, "dtlsState",
	    sfu_dtls_state_name(wt->dtls_state));
}

/* transport.connect {dtlsParameters {role?, fingerprints}}. */
static void
webrtc_connect(struct webrtc_transport *wt, struct sfu_channel_request *req)
{
	const msgpack_object *d = req->env.data;
	const msgpack_object *dp = NULL;
	const msgpack_object *fps = NULL;
	const msgpack_object *fp = NULL;
	struct sfu_error err = { 0 };
	msgpack_packer *pk = NULL;
	char role_name[16];
	char path[SFU_MSG_PATH_MAX];
	char algo[16];
	char value[sizeof(wt->remote_fingerprint)];
	int remote_role = SFU_DTLS_ROLE_AUTO;
	int hash = -1;
	int r = 0;
	uint32_t i = 0;

	if (wt->connect_called) {
		sfu_channel_request_error(req, SFU_ERR_INVALID_STATE,
		    "connect() already called");
		return;
	}
	if (d == NULL) {
		sfu_channel_request_error(req, SFU_ERR_TYPE, "data: missing");
		return;
	}
	if (sfu_msg_get_map(d, "data", "dtlsParameters", SFU_MSG_REQUIRED, &dp,
	    &err) != 1 ||
	    sfu_msg_get_array(dp, "data.dtlsParameters", "fingerprints",
	    SFU_MSG_REQUIRED, &fps, &err) != 1) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	r = sfu_msg_get_strbuf(dp, "data.dtlsParameters", "role",
	    SFU_MSG_OPTIONAL, role_name, sizeof(role_name), &err);
	if (r == -1) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	if (r == 1) {
		remote_role = sfu_dtls_role_parse(role_name);
		if (remote_role < 0) {
			sfu_channel_request_error(req, SFU_ERR_TYPE,
			    "data.dtlsParameters.role: expected \"auto\", "
			    "\"client\" or \"server\", got '%s'", role_name);
			return;
		}
	}
	/* The first fingerprint with an algorithm we know, as mediasoup. */
	for (i = 0; i < fps->via.array.size; i++) {
		fp = &fps->via.array.ptr[i];
		snprintf(path, sizeof(path), "data.dtlsParameters."
		    "fingerprints[%u]", i);
		if (fp->type != MSGPACK_OBJECT_MAP) {
			sfu_channel_request_error(req, SFU_ERR_TYPE,
			    "%s: expected a map", path);
			return;
		}
		if (sfu_msg_get_strbuf(fp, path, "algorithm", SFU_MSG_REQUIRED,
		    algo, sizeof(algo), &err) != 1 ||
		    sfu_msg_get_strbuf(fp, path, "value", SFU_MSG_REQUIRED,
		    value, sizeof(value), &err) != 1) {
			sfu_channel_request_error_from(req, &err);
			return;
		}
		if (hash < 0) {
			hash = sfu_dtls_hash_parse(algo);
			if (hash >= 0) {
				memcpy(wt->remote_fingerprint, value,
				    sizeof(value));
			}
		}
	}
	if (hash < 0) {
		sfu_channel_request_error(req, SFU_ERR_TYPE,
		    "data.dtlsParameters.fingerprints: none with a supported "
		    "algorithm (sha-1, sha-224, sha-256, sha-384, sha-512)");
		return;
	}
	wt->remote_hash = (enum sfu_dtls_hash)hash;
	wt->local_role = sfu_dtls_role_resolve(
	    (enum sfu_dtls_role)remote_role);
	wt->connect_called = true;
	pk = sfu_channel_request_begin_data(req);
	msgpack_pack_map(pk, 1);
	sfu_msg_pack_kv_str(pk, "dtlsLocalRole",
	    sfu_dtls_role_name(wt->local_role));
	sfu_channel_request_accept_data(req);
	webrtc_maybe_run_dtls(wt);
}

static void
webrtc_restart_ice(struct webrtc_transport *wt,
    struct sfu_channel_request *req)
{
	msgpack_packer *pk = NULL;

	sfu_ice_server_restart(wt->ice);
	if (wt->server != NULL) {
		sfu_webrtc_server_add_ufrag(wt->server,
		    sfu_ice_server_ufrag(wt->ice), wt->transport);
	}
	pk = sfu_channel_request_begin_data(req);
	msgpack_pack_map(pk, 1);
	sfu_msg_pack_str(pk, "iceParameters");
	webrtc_pack_ice_parameters(wt, pk);
	sfu_channel_request_accept_data(req);
}

static bool
webrtc_handle_request(struct sfu_transport *t, struct sfu_channel_request *req)
{
	struct webrtc_transport *wt = sfu_transport_impl(t);

	if (strcmp(req->env.method, "transport.connect") == 0) {
		webrtc_connect(wt, req);
		return true;
	}
	if (strcmp(req->env.method, "transport.restartIce") == 0) {
		webrtc_restart_ice(wt, req);
		return true;
	}
	return false;
}

static void
webrtc_free_impl(struct webrtc_transport *wt)
{
	unsigned i = 0;

	wt->closing = true;
	if (wt->dtls != NULL) {
		/*
		 * close_notify, as mediasoup's DtlsTransport::Close does,
		 * while the selected tuple (maybe a server's TCP
		 * connection) still exists.
		 */
		sfu_dtls_transport_close(wt->dtls);
		sfu_dtls_transport_free(wt->dtls);
	}
	if (wt->server != NULL && wt->transport != NULL) {
		sfu_webrtc_server_remove_transport(wt->server, wt->transport);
	}
	sfu_ice_server_free(wt->ice);
	for (i = 0; i < wt->n_conns; i++) {
		sfu_tcp_conn_handle_free(wt->conns[i]);
	}
	for (i = 0; i < wt->n_sockets; i++) {
		sfu_listen_socket_close(&wt->sockets[i].ls);
	}
	sfu_srtp_session_free(wt->srtp_in);
	sfu_srtp_session_free(wt->srtp_out);
	free(wt);
}

static void
webrtc_free(struct sfu_transport *t)
{
	struct webrtc_transport *wt = sfu_transport_impl(t);

	if (wt != NULL) {
		webrtc_free_impl(wt);
	}
}

static const struct sfu_transport_ops webrtc_ops = {
	.send_rtp = webrtc_send_rtp,
	.send_rtcp = webrtc_send_rtcp,
	.is_connected = webrtc_is_connected,
	.handle_request = webrtc_handle_request,
	.count_dump_fields = webrtc_count_dump_fields,
	.pack_dump_fields = webrtc_pack_dump_fields,
	.count_stats_fields = webrtc_count_stats_fields,
	.pack_stats_fields = webrtc_pack_stats_fields,
	.free = webrtc_free,
};

/* --- creation --- */

static int
webrtc_bind(struct webrtc_transport *wt, const struct sfu_listen_info *li,
    const char *path, struct sfu_error *err)
{
	struct webrtc_socket *sock = &wt->sockets[wt->n_sockets];

	sock->wt = wt;
	if (sfu_listen_socket_open(&sock->ls, wt->ctx->base, li,
	    &webrtc_udp_listener, &webrtc_tcp_listener, sock, path, err) ==
	    -1) {
		return -1;
	}
	wt->n_sockets++;
	return 0;
}

static void
webrtc_add_candidates(struct webrtc_transport *wt,
    const struct sfu_listen_info *infos, unsigned n, bool prefer_udp,
    bool prefer_tcp)
{
	struct webrtc_candidate *c = NULL;
	unsigned i = 0;
	bool preferred = false;

	for (i = 0; i < n && wt->n_candidates < SFU_WEBRTC_MAX_LISTEN; i++) {
		c = &wt->candidates[wt->n_candidates++];
		c->protocol = infos[i].protocol;
		snprintf(c->address, sizeof(c->address), "%s",
		    sfu_listen_info_address(&infos[i]));
		c->port = infos[i].port;
		preferred = (prefer_udp && c->protocol == SFU_LISTEN_UDP) ||
		    (prefer_tcp && c->protocol == SFU_LISTEN_TCP);
		c->priority = sfu_listen_info_ice_priority(i, preferred);
	}
}

/* listenInfos, or the older listenIps [{ip, announcedIp}] with
 * enableUdp/enableTcp. Binds each. */
static int
webrtc_create_sockets(struct webrtc_transport *wt, const msgpack_object *data,
    bool enable_udp, bool enable_tcp, struct sfu_error *err)
{
	const msgpack_object *arr = NULL;
	struct sfu_listen_info li;
	char path[SFU_MSG_PATH_MAX];
	const char *key = "listenInfos";
	unsigned n = 0;
	uint32_t i = 0;
	int p = 0;
	int r = 0;

	r = sfu_msg_get_array(data, "data", "listenInfos", SFU_MSG_OPTIONAL,
	    &arr, err);
	if (r == 0) {
		key = "listenIps";
		r = sfu_msg_get_array(data, "data", "listenIps",
		    SFU_MSG_OPTIONAL, &arr, err);
	}
	if (r == -1) {
		return -1;
	}
	if (r == 0 || arr->via.array.size == 0) {
		sfu_error_set(err, SFU_ERR_TYPE, "data.listenInfos: missing or "
		    "empty (or give data.webRtcServerId)");
		return -1;
	}
	for (i = 0; i < arr->via.array.size; i++) {
		snprintf(path, sizeof(path), "data.%s[%u]", key, i);
		if (arr->via.array.ptr[i].type != MSGPACK_OBJECT_MAP) {
			sfu_error_set(err, SFU_ERR_TYPE, "%s: expected a map",
			    path);
			return -1;
		}
		/* listenIps: one UDP and/or one TCP socket per entry. */
		for (p = 0; p < 2; p++) {
			if (strcmp(key, "listenIps") == 0) {
				if ((p == 0 && !enable_udp) ||
				    (p == 1 && !enable_tcp)) {
					continue;
				}
			} else if (p == 1) {
				break;
			}
			if (sfu_listen_info_parse(&arr->via.array.ptr[i], path,
			    wt->ctx->settings, strcmp(key, "listenIps") == 0 ?
			    p : -1, &li, err) == -1) {
				return -1;
			}
			if ((li.protocol == SFU_LISTEN_UDP && !enable_udp) ||
			    (li.protocol == SFU_LISTEN_TCP && !enable_tcp)) {
				continue;
			}
			if (n == SFU_WEBRTC_MAX_LISTEN) {
				sfu_error_set(err, SFU_ERR_TYPE, "data.%s: at "
				    "most %d sockets", key,
				    SFU_WEBRTC_MAX_LISTEN);
				return -1;
			}
			if (webrtc_bind(wt, &li, path, err) == -1) {
				return -1;
			}
			n++;
		}
	}
	if (n == 0) {
		sfu_error_set(err, SFU_ERR_TYPE, "data.%s: no socket left "
		    "with enableUdp/enableTcp", key);
		return -1;
	}
	return (int)n;
}

struct sfu_transport *
sfu_webrtc_transport_new(struct sfu_rtc_ctx *ctx, struct sfu_router *router,
    const msgpack_object *data, struct sfu_error *err)
{
	struct webrtc_transport *wt = NULL;
	struct sfu_transport *t = NULL;
	const struct sfu_listen_info *server_infos = NULL;
	struct sfu_listen_info infos[SFU_WEBRTC_MAX_LISTEN];
	char id[SFU_MSG_ID_MAX];
	char server_id[SFU_MSG_ID_MAX];
	bool enable_udp = true;
	bool enable_tcp = false;
	bool prefer_udp = false;
	bool prefer_tcp = false;
	bool sctp = false;
	uint64_t consent = WEBRTC_DEFAULT_CONSENT_TIMEOUT_S;
	uint64_t u = 0;
	unsigned n = 0;
	unsigned i = 0;
	int has_server = 0;
	int has_tcp = 0;

	wt = sfu_xcalloc(1, sizeof(*wt));
	wt->ctx = ctx;
	wt->dtls_state = SFU_DTLS_STATE_NEW;
	if (sfu_msg_get_strbuf(data, "data", "transportId", SFU_MSG_REQUIRED,
	    id, sizeof(id), err) != 1) {
		goto fail;
	}
	has_server = sfu_msg_get_strbuf(data, "data", "webRtcServerId",
	    SFU_MSG_OPTIONAL, server_id, sizeof(server_id), err);
	if (has_server == -1) {
		goto fail;
	}
	/* With a WebRtcServer, TCP is on unless said otherwise. */
	enable_tcp = has_server == 1;
	has_tcp = sfu_msg_get_bool(data, "data", "enableTcp", SFU_MSG_OPTIONAL,
	    &enable_tcp, err);
	if (has_tcp == -1 ||
	    sfu_msg_get_bool(data, "data", "enableUdp", SFU_MSG_OPTIONAL,
	    &enable_udp, err) == -1 ||
	    sfu_msg_get_bool(data, "data", "preferUdp", SFU_MSG_OPTIONAL,
	    &prefer_udp, err) == -1 ||
	    sfu_msg_get_bool(data, "data", "preferTcp", SFU_MSG_OPTIONAL,
	    &prefer_tcp, err) == -1 ||
	    sfu_msg_get_uint(data, "data", "iceConsentTimeout",
	    SFU_MSG_OPTIONAL, 3600, &consent, err) == -1 ||
	    sfu_msg_get_uint(data, "data", "initialAvailableOutgoingBitrate",
	    SFU_MSG_OPTIONAL, UINT32_MAX, &wt->initial_bitrate, err) == -1 ||
	    sfu_msg_get_bool(data, "data", "enableSctp", SFU_MSG_OPTIONAL,
	    &sctp, err) == -1 ||
	    sfu_msg_get_uint(data, "data", "maxSctpMessageSize",
	    SFU_MSG_OPTIONAL, UINT32_MAX, &u, err) == -1) {
		goto fail;
	}
	if (sctp) {
		sfu_error_set(err, SFU_ERR_UNSUPPORTED,
		    "data.enableSctp: SCTP is not implemented yet");
		goto fail;
	}
	if (!enable_udp && !enable_tcp) {
		sfu_error_set(err, SFU_ERR_TYPE, "data.enableUdp, "
		    "data.enableTcp: at least one must be true");
		goto fail;
	}
	if (ctx->dtls == NULL) {
		sfu_error_set(err, SFU_ERR_ERROR, "this worker has no DTLS "
		    "certificate");
		goto fail;
	}
	wt->consent_timeout_s = (uint32_t)consent;
	if (has_server == 1) {
		wt->server = sfu_strmap_get(ctx->webrtc_servers, server_id);
		if (wt->server == NULL) {
			sfu_error_set(err, SFU_ERR_NOT_FOUND, "data."
			    "webRtcServerId: no WebRtcServer '%s' in this "
			    "worker", server_id);
			goto fail;
		}
		n = sfu_webrtc_server_listen_infos(wt->server, &server_infos);
		for (i = 0; i < n; i++) {
			if ((server_infos[i].protocol == SFU_LISTEN_UDP &&
			    enable_udp) ||
			    (server_infos[i].protocol == SFU_LISTEN_TCP &&
			    enable_tcp)) {
				infos[wt->n_candidates] = server_infos[i];
				wt->n_candidates++;
			}
		}
		if (wt->n_candidates == 0) {
			sfu_error_set(err, SFU_ERR_TYPE, "data.enableUdp, "
			    "data.enableTcp: WebRtcServer '%s' listens on "
			    "none of the enabled protocols", server_id);
			goto fail;
		}
		n = wt->n_candidates;
		wt->n_candidates = 0;
		webrtc_add_candidates(wt, infos, n, prefer_udp, prefer_tcp);
	} else {
		if (webrtc_create_sockets(wt, data, enable_udp, enable_tcp,
		    err) == -1) {
			goto fail;
		}
		for (i = 0; i < wt->n_sockets; i++) {
			infos[i] = wt->sockets[i].ls.info;
		}
		webrtc_add_candidates(wt, infos, wt->n_sockets, prefer_udp,
		    prefer_tcp);
	}
	wt->ice = sfu_ice_server_new(ctx->base, wt->consent_timeout_s,
	    &webrtc_ice_listener, wt);
	wt->dtls = sfu_dtls_transport_new(ctx->base, ctx->dtls,
	    &webrtc_dtls_listener, wt, err);
	if (wt->dtls == NULL) {
		goto fail;
	}
	sfu_dtls_transport_set_log_id(wt->dtls, id);
	t = sfu_transport_new(ctx, router, id, "webrtc", &webrtc_ops, wt, err);
	if (t == NULL) {
		goto fail;
	}
	wt->transport = t;
	if (wt->server != NULL) {
		sfu_webrtc_server_add_ufrag(wt->server,
		    sfu_ice_server_ufrag(wt->ice), t);
	}
	SFU_LOG_DEBUG("webrtc transport created [id:%s candidates:%u "
	    "server:%s]", id, wt->n_candidates,
	    wt->server != NULL ? server_id : "-");
	return t;
fail:
	wt->server = NULL;
	webrtc_free_impl(wt);
	return NULL;
}
