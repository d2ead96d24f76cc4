/*
 * SPDX-License-Identifier: MIT
 *
 * PlainTransport: UDP sockets (one with rtcp-mux, else two), the remote
 * tuple (given by transport.connect, or learnt from the first packet in
 * comedia mode), optional SRTP in both directions. Everything above bytes
 * is the generic transport's.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SFU_LOG_MODULE "plain_transport"
#include "common/handle/sock_util.h"
#include "common/handle/udp_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "worker/channel/channel_request.h"
#include "worker/channel/notifier.h"
#include "worker/rtc/listen_info.h"
#include "worker/rtc/plain_transport.h"
#include "worker/rtc/rtc_ctx.h"
#include "worker/rtc/rtc_demux.h"
#include "worker/rtc/srtp_session.h"
#include "worker/rtc/transport.h"
#include "worker/settings.h"

#define PLAIN_ADDR_LEN 64

/*
 * Input that waited longer than this in a socket is dropped unread
 * (sfu_udp_handle_set_max_age()). A worker that cannot keep up (a producer
 * fanned out to more consumers than its core can serve) would otherwise
 * forward seconds-old media from a deep socket buffer (8 MiB holds 3,600
 * 1 kB datagrams, 4 s of work at 500 consumers) and stay busy that long
 * after the input stops; real-time media that late is useless to its
 * receivers. 500 ms leaves room for bursts that take a while to fan out
 * (a 200-packet key frame to 500 consumers is about 0.2 s of work) and
 * bounds the tail of an overload to about half a second.
 */
#define PLAIN_MAX_INPUT_AGE_MS 500

struct plain_tuple {
	bool			 known;
	struct sockaddr_storage	 addr;
	socklen_t		 addr_len;
	char			 ip[PLAIN_ADDR_LEN];
	uint16_t		 port;
};

struct plain_transport {
	struct sfu_transport	*transport;	/* borrowed: generic part */
	struct sfu_rtc_ctx	*ctx;		/* borrowed */
	struct sfu_udp_handle	*rtp;		/* owned */
	struct sfu_udp_handle	*rtcp;		/* owned, NULL with rtcp-mux */
	char			 listen_ip[PLAIN_ADDR_LEN];
	char			 announced[PLAIN_ADDR_LEN]; /* "" when none */
	uint16_t		 rtp_port;
	uint16_t		 rtcp_port;
	bool			 rtcp_mux;
	bool			 comedia;
	bool			 connected;	/* connect() called */
	struct plain_tuple	 tuple;
	struct plain_tuple	 rtcp_tuple;
	bool			 tuple_from_rtcp; /* comedia learnt it on RTCP */
	bool			 rtp_seen;	/* an RTP packet was accepted */
	bool			 rtp_connected;	/* rtp socket connect()ed */
	bool			 rtcp_connected; /* rtcp socket connect()ed */
	bool			 srtp_enabled;
	enum sfu_srtp_suite	 srtp_suite;
	uint8_t			 srtp_local_key[SFU_SRTP_MAX_KEY_LEN];
	struct sfu_srtp_session	*srtp_out;	/* owned */
	struct sfu_srtp_session	*srtp_in;	/* owned */
	uint64_t		 unknown_source;	/* dropped datagrams */
};

/* --- tuples --- */

static void
plain_tuple_set(struct plain_tuple *t, const struct sockaddr *sa,
    socklen_t len)
{
	memset(t, 0, sizeof(*t));
	memcpy(&t->addr, sa, len);
	t->addr_len = len;
	sfu_sock_util_ip_str(sa, t->ip, sizeof(t->ip));
	t->port = sfu_sock_util_port(sa);
	t->known = true;
}

static bool
plain_tuple_matches(const struct plain_tuple *t, const struct sockaddr *sa,
    socklen_t len)
{
	(void)len;
	return t->known &&
	    sfu_sock_util_addr_equal(sa, (const struct sockaddr *)&t->addr);
}

static int
plain_tuple_from_ip(struct plain_tuple *t, const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;

	if (sfu_sock_util_parse_ip(ip, &ss, &len, NULL) == -1) {
		return -1;
	}
	sfu_sock_util_set_port(&ss, port);
	plain_tuple_set(t, (const struct sockaddr *)&ss, len);
	return 0;
}

/* mediasoup's TransportTuple: {localAddress, localPort, remoteIp?,
 * remotePort?, protocol}. */
static void
plain_pack_tuple(const struct plain_transport *pt, uint16_t local_port,
    const struct plain_tuple *remote, msgpack_packer *pk)
{
	msgpack_pack_map(pk, remote->known ? 5 : 3);
	sfu_msg_pack_kv_str(pk, "localAddress",
	    pt->announced[0] != '\0' ? pt->announced : pt->listen_ip);
	sfu_msg_pack_kv_uint(pk, "localPort", local_port);
	if (remote->known) {
		sfu_msg_pack_kv_str(pk, "remoteIp", remote->ip);
		sfu_msg_pack_kv_uint(pk, "remotePort", remote->port);
	}
	sfu_msg_pack_kv_str(pk, "protocol", "udp");
}

static void
plain_pack_srtp_parameters(const struct plain_transport *pt,
    msgpack_packer *pk)
{
	char b64[SFU_BASE64_ENCODED_LEN(SFU_SRTP_MAX_KEY_LEN) + 1];

	sfu_base64_encode(pt->srtp_local_key,
	    sfu_srtp_suite_key_len(pt->srtp_suite), b64, sizeof(b64));
	msgpack_pack_map(pk, 2);
	sfu_msg_pack_kv_str(pk, "cryptoSuite",
	    sfu_srtp_suite_name(pt->srtp_suite));
	sfu_msg_pack_kv_str(pk, "keyBase64", b64);
}

/* tuple, rtcpTuple (without rtcp-mux), srtpParameters (with SRTP). */
static unsigned
plain_count_addresses(const struct plain_transport *pt)
{
	return 1 + (!pt->rtcp_mux ? 1 : 0) + (pt->srtp_enabled ? 1 : 0);
}

static void
plain_pack_addresses(const struct plain_transport *pt, msgpack_packer *pk)
{
	sfu_msg_pack_str(pk, "tuple");
	plain_pack_tuple(pt, pt->rtp_port, &pt->tuple, pk);
	if (!pt->rtcp_mux) {
		sfu_msg_pack_str(pk, "rtcpTuple");
		plain_pack_tuple(pt, pt->rtcp_port, &pt->rtcp_tuple, pk);
	}
	if (pt->srtp_enabled) {
		sfu_msg_pack_str(pk, "srtpParameters");
		plain_pack_srtp_parameters(pt, pk);
	}
}

static void
plain_emit_tuple(struct plain_transport *pt, bool rtcp)
{
	msgpack_packer *pk = NULL;

	pk = sfu_notifier_begin(pt->ctx->notifier,
	    sfu_transport_id(pt->transport),
	    rtcp ? "plaintransport.rtcptuple" : "plaintransport.tuple");
	msgpack_pack_map(pk, 1);
	sfu_msg_pack_str(pk, rtcp ? "rtcpTuple" : "tuple");
	if (rtcp) {
		plain_pack_tuple(pt, pt->rtcp_port, &pt->rtcp_tuple, pk);
	} else {
		plain_pack_tuple(pt, pt->rtp_port, &pt->tuple, pk);
	}
	sfu_notifier_send(pt->ctx->notifier);
}

/*
 * connect()s the RTP (or RTCP) socket to its remote once that tuple is
 * final: sends then skip the kernel's route lookup and IP ID hashing per
 * datagram (about 7 % of a fan-out worker's time, docs/benchmarks.md),
 * and the kernel drops datagrams from other sources before we see them
 * (they were dropped here anyway, so packetsFromUnknownSource stops
 * counting them). Not done on a wildcard listen address, where it would
 * pin the local address (sfu_udp_handle_connect()): sends there keep
 * naming the remote.
 */
static void
plain_connect_socket(struct plain_transport *pt, bool rtcp)
{
	struct sfu_udp_handle *h = rtcp ? pt->rtcp : pt->rtp;
	const struct plain_tuple *tp = rtcp ? &pt->rtcp_tuple : &pt->tuple;
	bool *done = rtcp ? &pt->rtcp_connected : &pt->rtp_connected;
	struct sfu_error err = { 0 };

	if (*done || h == NULL || !tp->known) {
		return;
	}
	if (sfu_udp_handle_connect(h, (const struct sockaddr *)&tp->addr,
	    tp->addr_len, &err) == -1) {
		SFU_LOG_DEBUG("%s socket left unconnected: %s [transport:%s]",
		    rtcp ? "rtcp" : "rtp", err.reason,
		    sfu_transport_id(pt->transport));
		return;
	}
	*done = true;
}

/* --- receiving --- */

static void
plain_on_datagram_common(struct plain_transport *pt, bool on_rtcp_socket,
    uint8_t *data, size_t len, const struct sockaddr *from, socklen_t fromlen)
{
	struct sfu_transport_counters *cnt = NULL;
	struct plain_tuple *want = NULL;
	enum sfu_rtc_demux_kind kind = sfu_rtc_demux_classify(data, len);
	bool rtcp = false;

	cnt = sfu_transport_counters(pt->transport);
	/* RFC 5761: RTCP packet types 192-223 on a muxed port. */
	rtcp = on_rtcp_socket || kind == SFU_RTC_DEMUX_RTCP;
	if (!rtcp && kind != SFU_RTC_DEMUX_RTP) {
		cnt->invalid_packets++;
		return;
	}
	want = on_rtcp_socket ? &pt->rtcp_tuple : &pt->tuple;
	if (!plain_tuple_matches(want, from, fromlen)) {
		/*
		 * comedia: the first packet tells us the remote. Tools like
		 * ffmpeg send their first RTCP from another port than their
		 * RTP: with rtcp-mux, a tuple learnt from RTCP gives way to
		 * the first RTP packet's source.
		 */
		if (pt->comedia && (!want->known || (!on_rtcp_socket &&
		    !rtcp && pt->tuple_from_rtcp && !pt->rtp_seen))) {
			plain_tuple_set(want, from, fromlen);
			if (!on_rtcp_socket) {
				pt->tuple_from_rtcp = rtcp;
			}
			SFU_LOG_DEBUG("comedia: learnt %s tuple %s:%u [id:%s]",
			    on_rtcp_socket ? "rtcp" : "rtp", want->ip,
			    want->port, sfu_transport_id(pt->transport));
			plain_emit_tuple(pt, on_rtcp_socket);
			if (on_rtcp_socket) {
				plain_connect_socket(pt, true);
			}
		} else {
			if (pt->unknown_source++ == 0) {
				SFU_LOG_WARN("dropping packets from an unknown "
				    "source [transport:%s]",
				    sfu_transport_id(pt->transport));
			}
			return;
		}
	}
	cnt->bytes_received += len;
	if (rtcp) {
		if (pt->srtp_enabled && (pt->srtp_in == NULL ||
		    sfu_srtp_session_unprotect_rtcp(pt->srtp_in, data, &len) ==
		    -1)) {
			cnt->invalid_packets++;
			return;
		}
		sfu_transport_receive_rtcp(pt->transport, data, len);
		return;
	}
	if (pt->srtp_enabled && (pt->srtp_in == NULL ||
	    sfu_srtp_session_unprotect_rtp(pt->srtp_in, data, &len) == -1)) {
		cnt->invalid_packets++;
		return;
	}
	pt->rtp_seen = true;
	if (!pt->rtp_connected) {
		/*
		 * An accepted RTP packet fixes a comedia tuple (one learnt
		 * from RTCP gives way only before the first RTP).
		 */
		plain_connect_socket(pt, false);
	}
	sfu_transport_receive_rtp(pt->transport, data, len, SFU_UDP_RECV_SLOT);
}

static void
plain_on_rtp_datagram(void *ctx, struct sfu_udp_handle *h, uint8_t *data,
    size_t len, const struct sockaddr *from, socklen_t fromlen)
{
	(void)h;
	plain_on_datagram_common(ctx, false, data, len, from, fromlen);
}

static void
plain_on_rtcp_datagram(void *ctx, struct sfu_udp_handle *h, uint8_t *data,
    size_t len, const struct sockaddr *from, socklen_t fromlen)
{
	(void)h;
	plain_on_datagram_common(ctx, true, data, len, from, fromlen);
}

static const struct sfu_udp_handle_listener plain_rtp_listener = {
	.on_datagram = plain_on_rtp_datagram,
};

static const struct sfu_udp_handle_listener plain_rtcp_listener = {
	.on_datagram = plain_on_rtcp_datagram,
};

/* --- ops --- */

static void
plain_send_rtp(struct sfu_transport *t, uint8_t *data, size_t len,
    size_t capacity)
{
	struct plain_transport *pt = sfu_transport_impl(t);
	struct sfu_transport_counters *cnt = sfu_transport_counters(t);

	if (!pt->tuple.known) {
		return;
	}
	if (pt->srtp_out != NULL &&
	    sfu_srtp_session_protect_rtp(pt->srtp_out, data, &len, capacity) ==
	    -1) {
		return;
	}
	if (pt->srtp_enabled && pt->srtp_out == NULL) {
		return;
	}

	/*
	 * Inside a receive batch (a producer's packet fanned out), held and
	 * sent with this socket's other packets of the batch in one
	 * sendmmsg(); RTCP on the same socket goes after them.
	 */
	if (pt->rtp_connected) {
		sfu_udp_handle_send_deferred(pt->rtp, data, len, NULL, 0,
		    NULL, 0);
	} else {
		sfu_udp_handle_send_deferred(pt->rtp, data, len, NULL, 0,
		    (const struct sockaddr *)&pt->tuple.addr,
		    pt->tuple.addr_len);
	}
	cnt->bytes_sent += len;
}

/*
 * Without SRTP the header and the body (in the producer's datagram) leave
 * as two iovecs: no per-consumer copy of the payload. With SRTP the packet
 * is encrypted as a whole, so the caller joins the parts for
 * plain_send_rtp().
 */
static bool
plain_send_rtp_parts(struct sfu_transport *t, uint8_t *hdr, size_t hdr_len,
    size_t capacity, const uint8_t *body, size_t body_len)
{
	struct plain_transport *pt = sfu_transport_impl(t);
	struct sfu_transport_counters *cnt = sfu_transport_counters(t);

	(void)capacity;
	if (pt->srtp_enabled) {
		return false;
	}
	if (!pt->tuple.known) {
		return true;	/* dropped, as plain_send_rtp() does */
	}
	if (pt->rtp_connected) {
		sfu_udp_handle_send_deferred(pt->rtp, hdr, hdr_len, body,
		    body_len, NULL, 0);
	} else {
		sfu_udp_handle_send_deferred(pt->rtp, hdr, hdr_len, body,
		    body_len, (const struct sockaddr *)&pt->tuple.addr,
		    pt->tuple.addr_len);
	}
	cnt->bytes_sent += hdr_len + body_len;
	return true;
}

static void
plain_send_rtcp(struct sfu_transport *t, uint8_t *data, size_t len,
    size_t capacity)
{
	struct plain_transport *pt = sfu_transport_impl(t);
	struct sfu_transport_counters *cnt = sfu_transport_counters(t);
	const struct plain_tuple *to = NULL;
	struct sfu_udp_handle *h = NULL;
	bool connected = false;

	to = pt->rtcp_mux ? &pt->tuple : &pt->rtcp_tuple;
	h = pt->rtcp_mux ? pt->rtp : pt->rtcp;
	connected = pt->rtcp_mux ? pt->rtp_connected : pt->rtcp_connected;
	if (!to->known) {
		return;
	}
	if (pt->srtp_enabled && (pt->srtp_out == NULL ||
	    sfu_srtp_session_protect_rtcp(pt->srtp_out, data, &len,
	    capacity) == -1)) {
		return;
	}
	if (connected) {
		sfu_udp_handle_send(h, data, len, NULL, 0);
	} else {
		sfu_udp_handle_send(h, data, len,
		    (const struct sockaddr *)&to->addr, to->addr_len);
	}
	cnt->bytes_sent += len;
}

static bool
plain_is_connected(const struct sfu_transport *t)
{
	const struct plain_transport *pt = sfu_transport_impl(t);

	return pt->tuple.known;
}

static int
plain_read_srtp_parameters(struct plain_transport *pt,
    const msgpack_object *data, struct sfu_error *err)
{
	const msgpack_object *sp = NULL;
	char suite_name[64];
	char b64[128];
	uint8_t key[SFU_BASE64_DECODED_MAX_LEN(128)];
	int suite = 0;
	int n = 0;

	if (sfu_msg_get_map(data, "data", "srtpParameters", SFU_MSG_REQUIRED,
	    &sp, err) != 1 ||
	    sfu_msg_get_strbuf(sp, "data.srtpParameters", "cryptoSuite",
	    SFU_MSG_REQUIRED, suite_name, sizeof(suite_name), err) != 1 ||
	    sfu_msg_get_strbuf(sp, "data.srtpParameters", "keyBase64",
	    SFU_MSG_REQUIRED, b64, sizeof(b64), err) != 1) {
		return -1;
	}
	suite = sfu_srtp_suite_parse(suite_name);
	if (suite < 0) {
		sfu_error_set(err, SFU_ERR_TYPE, "data.srtpParameters."
		    "cryptoSuite: unsupported '%s'", suite_name);
		return -1;
	}
	n = sfu_base64_decode(b64, strlen(b64), key, sizeof(key));
	if (n < 0 || (size_t)n != sfu_srtp_suite_key_len(suite)) {
		sfu_error_set(err, SFU_ERR_TYPE, "data.srtpParameters."
		    "keyBase64: expected %zu bytes of base64 key for %s",
		    sfu_srtp_suite_key_len(suite), suite_name);
		return -1;
	}

	/*
	 * mediasoup: the local suite follows the remote's, so the local key
	 * may change here (the response carries it).
	 */
	if ((enum sfu_srtp_suite)suite != pt->srtp_suite) {
		pt->srtp_suite = (enum sfu_srtp_suite)suite;
		sfu_srtp_random_key(pt->srtp_suite, pt->srtp_local_key);
	}
	sfu_srtp_session_free(pt->srtp_out);
	pt->srtp_out = sfu_srtp_session_new(SFU_SRTP_OUTBOUND, pt->srtp_suite,
	    pt->srtp_local_key, sfu_srtp_suite_key_len(pt->srtp_suite), err);
	if (pt->srtp_out == NULL) {
		return -1;
	}
	sfu_srtp_session_free(pt->srtp_in);
	pt->srtp_in = sfu_srtp_session_new(SFU_SRTP_INBOUND, pt->srtp_suite,
	    key, (size_t)n, err);
	if (pt->srtp_in == NULL) {
		return -1;
	}
	return 0;
}

static void
plain_connect(struct plain_transport *pt, struct sfu_channel_request *req)
{
	const msgpack_object *d = req->env.data;
	struct sfu_error err = { 0 };
	msgpack_packer *pk = NULL;
	char ip[PLAIN_ADDR_LEN];
	uint64_t port = 0;
	uint64_t rtcp_port = 0;
	int has_ip = 0;

	if (pt->connected) {
		sfu_channel_request_error(req, SFU_ERR_INVALID_STATE,
		    "connect() already called");
		return;
	}
	if (d == NULL) {
		sfu_channel_request_error(req, SFU_ERR_TYPE, "data: missing");
		return;
	}
	has_ip = sfu_msg_get_strbuf(d, "data", "ip", SFU_MSG_OPTIONAL, ip,
	    sizeof(ip), &err);
	if (has_ip == -1 ||
	    sfu_msg_get_uint(d, "data", "port", SFU_MSG_OPTIONAL, UINT16_MAX,
	    &port, &err) == -1 ||
	    sfu_msg_get_uint(d, "data", "rtcpPort", SFU_MSG_OPTIONAL,
	    UINT16_MAX, &rtcp_port, &err) == -1) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	if (!pt->comedia) {
		if (has_ip != 1 || port == 0) {
			sfu_channel_request_error(req, SFU_ERR_TYPE,
			    "%s: missing (required unless comedia)",
			    has_ip != 1 ? "data.ip" : "data.port");
			return;
		}
		if (!pt->rtcp_mux && rtcp_port == 0) {
			sfu_channel_request_error(req, SFU_ERR_TYPE,
			    "data.rtcpPort: missing (required without "
			    "rtcpMux)");
			return;
		}
		if (plain_tuple_from_ip(&pt->tuple, ip, (uint16_t)port) ==
		    -1 || (!pt->rtcp_mux && plain_tuple_from_ip(
		    &pt->rtcp_tuple, ip, (uint16_t)rtcp_port) == -1)) {
			pt->tuple.known = false;
			sfu_channel_request_error(req, SFU_ERR_TYPE,
			    "data.ip: not an IPv4 or IPv6 address: '%s'", ip);
			return;
		}
	}
	if (pt->srtp_enabled) {
		if (plain_read_srtp_parameters(pt, d, &err) == -1) {
			pt->tuple.known = pt->comedia ? pt->tuple.known : false;
			sfu_channel_request_error_from(req, &err);
			return;
		}
	} else if (sfu_msg_map_get(d, "srtpParameters") != NULL &&
	    sfu_msg_map_get(d, "srtpParameters")->type != MSGPACK_OBJECT_NIL) {
		sfu_channel_request_error(req, SFU_ERR_TYPE,
		    "data.srtpParameters: SRTP is not enabled on this "
		    "transport");
		return;
	}
	pt->connected = true;
	if (!pt->comedia) {
		plain_connect_socket(pt, false);
		if (!pt->rtcp_mux) {
			plain_connect_socket(pt, true);
		}
	}
	pk = sfu_channel_request_begin_data(req);
	msgpack_pack_map(pk, plain_count_addresses(pt));
	plain_pack_addresses(pt, pk);
	sfu_channel_request_accept_data(req);
}

static bool
plain_handle_request(struct sfu_transport *t, struct sfu_channel_request *req)
{
	struct plain_transport *pt = sfu_transport_impl(t);

	if (strcmp(req->env.method, "transport.connect") == 0) {
		plain_connect(pt, req);
		return true;
	}
	return false;
}

static unsigned
plain_count_fields(const struct sfu_transport *t)
{
	const struct plain_transport *pt = sfu_transport_impl(t);

	return 3 + plain_count_addresses(pt);
}

static void
plain_pack_fields(const struct sfu_transport *t, msgpack_packer *pk)
{
	const struct plain_transport *pt = sfu_transport_impl(t);

	sfu_msg_pack_kv_bool(pk, "rtcpMux", pt->rtcp_mux);
	sfu_msg_pack_kv_bool(pk, "comedia", pt->comedia);
	sfu_msg_pack_kv_uint(pk, "packetsFromUnknownSource",
	    pt->unknown_source);
	plain_pack_addresses(pt, pk);
}

static void
plain_free(struct sfu_transport *t)
{
	struct plain_transport *pt = sfu_transport_impl(t);

	if (pt == NULL) {
		return;
	}
	sfu_udp_handle_free(pt->rtp);
	sfu_udp_handle_free(pt->rtcp);
	sfu_srtp_session_free(pt->srtp_in);
	sfu_srtp_session_free(pt->srtp_out);
	free(pt);
}

static const struct sfu_transport_ops plain_ops = {
	.send_rtp = plain_send_rtp,
	.send_rtcp = plain_send_rtcp,
	.is_connected = plain_is_connected,
	.handle_request = plain_handle_request,
	.count_dump_fields = plain_count_fields,
	.pack_dump_fields = plain_pack_fields,
	.count_stats_fields = plain_count_fields,
	.pack_stats_fields = plain_pack_fields,
	.free = plain_free,
	.send_rtp_parts = plain_send_rtp_parts,
};

/* --- creation --- */

/* listenInfo (mediasoup's TransportListenInfo, UDP only here). */
static int
plain_bind(struct plain_transport *pt, const msgpack_object *li,
    const char *path, struct sfu_udp_handle **h, uint16_t *port_out,
    const struct sfu_udp_handle_listener *listener, struct sfu_error *err)
{
	struct sfu_listen_info info;
	struct sfu_error aerr = { 0 };
	int fd = -1;

	if (sfu_listen_info_parse(li, path, pt->ctx->settings, SFU_LISTEN_UDP,
	    &info, err) == -1) {
		return -1;
	}
	if (info.protocol != SFU_LISTEN_UDP) {
		sfu_error_set(err, SFU_ERR_UNSUPPORTED, "%s.protocol: a "
		    "PlainTransport is UDP only, got 'tcp'", path);
		return -1;
	}
	if (pt->listen_ip[0] == '\0') {
		snprintf(pt->listen_ip, sizeof(pt->listen_ip), "%s", info.ip);
		snprintf(pt->announced, sizeof(pt->announced), "%s",
		    info.announced);
	}
	if (sfu_udp_bind(info.ip, info.port, info.min_port, info.max_port, &fd,
	    port_out, err) == -1) {
		sfu_error_prefix(err, "%s: ", path);
		return -1;
	}
	*h = sfu_udp_handle_new(pt->ctx->base, fd, listener, pt, err);
	if (*h == NULL) {
		close(fd);
		return -1;
	}
	if (sfu_udp_handle_set_max_age(*h, PLAIN_MAX_INPUT_AGE_MS, &aerr) ==
	    -1) {
		SFU_LOG_WARN("%s: stale input will not be dropped [port:%u]",
		    aerr.reason, *port_out);
	}
	return 0;
}

struct sfu_transport *
sfu_plain_transport_new(struct sfu_rtc_ctx *ctx, struct sfu_router *router,
    const msgpack_object *data, struct sfu_error *err)
{
	struct plain_transport *pt = NULL;
	struct sfu_transport *t = NULL;
	const msgpack_object *li = NULL;
	const msgpack_object *rli = NULL;
	char id[SFU_MSG_ID_MAX];
	char suite[64];
	bool sctp = false;
	int r = 0;

	pt = sfu_xcalloc(1, sizeof(*pt));
	pt->ctx = ctx;
	pt->rtcp_mux = true;
	pt->srtp_suite = SFU_SRTP_AES_CM_128_HMAC_SHA1_80;
	if (sfu_msg_get_strbuf(data, "data", "transportId", SFU_MSG_REQUIRED,
	    id, sizeof(id), err) != 1 ||
	    sfu_msg_get_map(data, "data", "listenInfo", SFU_MSG_REQUIRED, &li,
	    err) != 1 ||
	    sfu_msg_get_map(data, "data", "rtcpListenInfo", SFU_MSG_OPTIONAL,
	    &rli, err) == -1 ||
	    sfu_msg_get_bool(data, "data", "rtcpMux", SFU_MSG_OPTIONAL,
	    &pt->rtcp_mux, err) == -1 ||
	    sfu_msg_get_bool(data, "data", "comedia", SFU_MSG_OPTIONAL,
	    &pt->comedia, err) == -1 ||
	    sfu_msg_get_bool(data, "data", "enableSrtp", SFU_MSG_OPTIONAL,
	    &pt->srtp_enabled, err) == -1 ||
	    sfu_msg_get_bool(data, "data", "enableSctp", SFU_MSG_OPTIONAL,
	    &sctp, err) == -1) {
		goto fail;
	}
	if (sctp) {
		sfu_error_set(err, SFU_ERR_UNSUPPORTED,
		    "data.enableSctp: SCTP is not implemented yet");
		goto fail;
	}
	r = sfu_msg_get_strbuf(data, "data", "srtpCryptoSuite",
	    SFU_MSG_OPTIONAL, suite, sizeof(suite), err);
	if (r == -1) {
		goto fail;
	}
	if (r == 1) {
		r = sfu_srtp_suite_parse(suite);
		if (r < 0) {
			sfu_error_set(err, SFU_ERR_TYPE, "data.srtpCryptoSuite: "
			    "unsupported '%s'", suite);
			goto fail;
		}
		pt->srtp_suite = (enum sfu_srtp_suite)r;
	}
	if (pt->srtp_enabled &&
	    sfu_srtp_random_key(pt->srtp_suite, pt->srtp_local_key) == -1) {
		sfu_error_set(err, SFU_ERR_ERROR, "cannot make an SRTP key");
		goto fail;
	}
	if (plain_bind(pt, li, "data.listenInfo", &pt->rtp, &pt->rtp_port,
	    &plain_rtp_listener, err) == -1) {
		goto fail;
	}
	if (!pt->rtcp_mux) {
		if (plain_bind(pt, rli != NULL ? rli : li,
		    rli != NULL ? "data.rtcpListenInfo" : "data.listenInfo",
		    &pt->rtcp, &pt->rtcp_port, &plain_rtcp_listener, err) ==
		    -1) {
			goto fail;
		}
	}
	t = sfu_transport_new(ctx, router, id, "plain", &plain_ops, pt, err);
	if (t == NULL) {
		goto fail;
	}
	pt->transport = t;
	SFU_LOG_DEBUG("plain transport created [id:%s port:%u comedia:%d "
	    "srtp:%d]", id, pt->rtp_port, pt->comedia, pt->srtp_enabled);
	return t;
fail:
	sfu_udp_handle_free(pt->rtp);
	sfu_udp_handle_free(pt->rtcp);
	free(pt);
	return NULL;
}

void
sfu_plain_transport_pack_dump(const struct sfu_transport *t,
    msgpack_packer *pk)
{
	sfu_transport_pack_dump(t, pk);
}
