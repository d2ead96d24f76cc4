/*
 * SPDX-License-Identifier: MIT
 *
 * WebRTC sink for the fan-out benchmark (bench/webrtc_fanout_bench.py):
 * K WebRTC peers in one process, each on its own UDP socket bound to
 * 127.0.0.1:BASE_PORT+i, each talking to one sfud WebRtcTransport. sfud
 * is ICE-lite, so each peer is the controlling agent: it sends Binding
 * requests (USERNAME "<sfud ufrag>:<ours>", PRIORITY, ICE-CONTROLLING,
 * USE-CANDIDATE, MESSAGE-INTEGRITY with sfud's password, FINGERPRINT)
 * every 100 ms until one succeeds, then one every 5 s as consent
 * freshness (sfud drops a tuple after 30 s without one). Once ICE
 * succeeded it runs the DTLS client handshake (sfud is the DTLS server:
 * connect sfud's transport with role "client" and our fingerprint), and
 * then counts the SRTP packets it receives per peer as bench/rtp_receiver
 * counts RTP: the RTP header is in clear in SRTP, so sequence gaps are
 * counted without decrypting. The first -c packets of each peer are
 * decrypted with an inbound SRTP session from the DTLS keys, to check
 * that what sfud sends is valid SRTP; the rest are only counted, so the
 * sink stays cheap next to the worker under test. sfud's own modules do
 * the work: udp_handle (recvmmsg batches), timer_handle, stun (builder
 * and parser), dtls_transport (OpenSSL) and srtp_session (libsrtp2).
 *
 *   webrtc_receiver [-v] [-D] [-c VERIFY] [-p PROFILES] BASE_PORT COUNT
 *
 * -p restricts the SRTP profiles offered in the handshake, in OpenSSL's
 * syntax (default SRTP_AES128_CM_SHA1_80, the suite sfud's PlainTransport
 * uses by default; sfud picks from what is offered). -D logs sfud's dtls
 * module at debug level to stderr.
 *
 * Prints, once every socket is bound:
 *
 *   fingerprint sha-256 AB:CD:...
 *
 * then reads lines on stdin:
 *
 *   I UFRAG PASSWORD IP PORT FINGERPRINT
 *	peer I (0..COUNT-1) talks to sfud's transport at IP:PORT with its
 *	ICE credentials and its sha-256 certificate fingerprint; prints
 *	"ready I SUITE" once DTLS is connected, or "failed I REASON";
 *   stats
 *	prints the totals so far (below) and goes on.
 *
 * On stdin EOF, SIGTERM or SIGINT it prints the totals and exits. Totals
 * cover the peers configured so far: with -v (and always for "stats") one
 * line per peer, then a summary line whose fields are bench/rtp_receiver's
 * followed by ours:
 *
 *   port=P packets=N lost=L gaps=G rtcp=R other=O
 *   ports=K packets=P bytes=B rtcp=R other=O lost=L gaps=G loss_pct=X
 *   active_s=T pps=Q min_port_packets=A max_port_packets=Z ready=D
 *   verified=V verify_failed=F checks_sent=S checks_ok=C check_errors=E
 *
 * Counts are totals since the start: a caller measuring an interval
 * subtracts two "stats" answers.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "common/error.h"
#include "common/handle/signal_handle.h"
#include "common/handle/timer_handle.h"
#include "common/handle/udp_handle.h"
#include "common/log.h"
#include "worker/rtc/dtls_transport.h"
#include "worker/rtc/rtc_demux.h"
#include "worker/rtc/srtp_session.h"
#include "worker/rtc/stun.h"

#define WRX_MAX_PEERS 4096
#define WRX_CHECK_RETRY_MS 100
#define WRX_CONSENT_MS 5000
#define WRX_UFRAG_MAX 64
#define WRX_PASSWORD_MAX 128
#define WRX_LINE_MAX 1024
#define WRX_DEFAULT_VERIFY 16
#define WRX_DEFAULT_PROFILES "SRTP_AES128_CM_SHA1_80"
/* Candidate priority of our host candidate (RFC 8445 §5.1.2.1). */
#define WRX_PRIORITY ((126u << 24) | (65535u << 8) | 255u)

struct wrx;

struct wrx_peer {
	struct wrx *rx; /* borrowed: our owner */
	unsigned int idx;
	uint16_t port;                        /* ours */
	struct sfu_udp_handle *udp;           /* owned */
	struct sfu_timer_handle *check_timer; /* owned */
	struct sfu_dtls_transport *dtls;      /* owned */
	struct sfu_srtp_session *srtp_in;     /* owned, for -c packets */
	bool configured;
	bool ice_done;  /* a check succeeded */
	bool dtls_done; /* connected */
	bool dtls_failed;
	struct sockaddr_in remote;            /* sfud's transport */
	char username[2 * WRX_UFRAG_MAX + 2]; /* "<sfud ufrag>:<ours>" */
	char password[WRX_PASSWORD_MAX];      /* sfud's */
	char fingerprint[SFU_DTLS_FINGERPRINT_MAX_LEN]; /* sfud's sha-256 */
	uint8_t txid[SFU_STUN_TRANSACTION_ID_LEN];      /* last check sent */
	uint64_t tie_breaker;

	uint64_t checks_sent;
	uint64_t checks_ok;
	uint64_t check_errors; /* error responses */
	uint64_t verified;     /* decrypted and found valid */
	uint64_t verify_failed;

	/* RTP counting, as bench/rtp_receiver (RFC 3550 A.1, simplified). */
	bool started;
	uint32_t ssrc;
	uint16_t max_seq;
	uint32_t cycles;      /* wrap-arounds, << 16 */
	uint32_t base_seq;    /* first extended sequence number */
	uint64_t received;    /* since the first packet of this SSRC */
	uint64_t lost_before; /* in earlier SSRC segments */
	uint64_t gaps;
	uint64_t packets;
	uint64_t bytes;
	uint64_t rtcp;
	uint64_t other;
};

struct wrx {
	struct event_base *base;       /* owned */
	struct sfu_dtls_ctx *dtls_ctx; /* owned */
	struct wrx_peer *peers;        /* owned, count of them */
	unsigned int count;
	struct event *stdin_ev;            /* owned */
	struct sfu_signal_handle *sigterm; /* owned */
	struct sfu_signal_handle *sigint;  /* owned */
	char line[WRX_LINE_MAX];
	size_t line_len;
	unsigned long verify_count; /* packets to decrypt per peer */
	bool verbose;
	uint64_t first_ns; /* first RTP packet, any peer */
	uint64_t last_ns;
};

static uint64_t
wrx_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- RTP counting --- */

static uint64_t
wrx_peer_lost(const struct wrx_peer *p)
{
	uint64_t expected = 0;
	uint64_t lost = p->lost_before;

	if (p->started) {
		expected = (uint64_t)(p->cycles + p->max_seq) - p->base_seq + 1;
		if (expected > p->received) {
			lost += expected - p->received;
		}
	}
	return lost;
}

static void
wrx_peer_count_rtp(struct wrx_peer *p, const uint8_t *d)
{
	uint16_t seq = (uint16_t)(d[2] << 8 | d[3]);
	uint32_t ssrc = (uint32_t)d[8] << 24 | (uint32_t)d[9] << 16 |
	                (uint32_t)d[10] << 8 | d[11];
	uint16_t delta = 0;

	if (p->started && ssrc != p->ssrc) {
		p->lost_before = wrx_peer_lost(p);
		p->started = false;
	}
	if (!p->started) {
		p->started = true;
		p->ssrc = ssrc;
		p->max_seq = seq;
		p->cycles = 0;
		p->base_seq = seq;
		p->received = 1;
		return;
	}
	p->received++;
	delta = (uint16_t)(seq - p->max_seq);
	if (delta == 0 || delta >= 0x8000) {
		return; /* duplicate or late */
	}
	if (delta > 1) {
		p->gaps++;
	}
	if (seq < p->max_seq) {
		p->cycles += 1u << 16;
	}
	p->max_seq = seq;
}

/* The first verify_count packets: decrypt (in place) and check. */
static void
wrx_peer_verify(struct wrx_peer *p, uint8_t *data, size_t len)
{
	size_t plain_len = len;
	int r = 0;

	r = sfu_srtp_session_unprotect_rtp(p->srtp_in, data, &plain_len);
	if (r == 0 && plain_len < len) {
		p->verified++;
	} else {
		p->verify_failed++;
		if (p->verify_failed == 1) {
			fprintf(stderr,
			    "webrtc_receiver: peer %u: SRTP "
			    "packet did not decrypt\n",
			    p->idx);
		}
	}
	if (p->verified + p->verify_failed >= p->rx->verify_count) {
		sfu_srtp_session_free(p->srtp_in);
		p->srtp_in = NULL;
	}
}

/* --- ICE --- */

static void
wrx_peer_send_check(struct wrx_peer *p)
{
	struct sfu_stun_builder b;
	uint8_t buf[SFU_STUN_MAX_LEN];
	size_t len = 0;

	if (RAND_bytes(p->txid, sizeof(p->txid)) != 1) {
		fprintf(stderr, "webrtc_receiver: RAND_bytes failed\n");
		exit(1);
	}
	sfu_stun_builder_init(&b, buf, sizeof(buf), SFU_STUN_REQUEST,
	    SFU_STUN_METHOD_BINDING, p->txid);
	sfu_stun_builder_add(
	    &b, SFU_STUN_ATTR_USERNAME, p->username, strlen(p->username));
	sfu_stun_builder_add_u32(&b, SFU_STUN_ATTR_PRIORITY, WRX_PRIORITY);
	sfu_stun_builder_add_u64(
	    &b, SFU_STUN_ATTR_ICE_CONTROLLING, p->tie_breaker);
	sfu_stun_builder_add(&b, SFU_STUN_ATTR_USE_CANDIDATE, NULL, 0);
	len = sfu_stun_builder_finish(
	    &b, (const uint8_t *)p->password, strlen(p->password));
	if (len == 0) {
		fprintf(stderr,
		    "webrtc_receiver: peer %u: STUN request does "
		    "not fit\n",
		    p->idx);
		exit(1);
	}
	p->checks_sent++;
	sfu_udp_handle_send(p->udp, buf, len,
	    (const struct sockaddr *)&p->remote, sizeof(p->remote));
}

static void
wrx_peer_on_check_timer(void *ctx, struct sfu_timer_handle *t)
{
	(void)t;
	wrx_peer_send_check(ctx);
}

static void
wrx_peer_start_dtls(struct wrx_peer *p)
{
	struct sfu_error err = {0};
	int r = 0;

	r = sfu_dtls_transport_start(p->dtls, SFU_DTLS_ROLE_CLIENT,
	    SFU_DTLS_HASH_SHA256, p->fingerprint, &err);
	if (r == -1) {
		printf("failed %u cannot start DTLS: %s\n", p->idx, err.reason);
		fflush(stdout);
		p->dtls_failed = true;
	}
}

static void
wrx_peer_on_stun(struct wrx_peer *p, const uint8_t *data, size_t len)
{
	struct sfu_stun_message msg;
	struct sfu_error err = {0};
	bool ok = false;

	if (sfu_stun_parse(data, len, &msg, &err) == -1 ||
	    memcmp(msg.transaction_id, p->txid, sizeof(p->txid)) != 0) {
		return; /* garbage, or an answer to an older check */
	}
	ok = sfu_stun_check_integrity(
	    data, len, &msg, (const uint8_t *)p->password, strlen(p->password));
	if (msg.cls == SFU_STUN_ERROR_RESPONSE) {
		if (p->check_errors++ == 0) {
			fprintf(stderr,
			    "webrtc_receiver: peer %u: Binding "
			    "error %u %.*s\n",
			    p->idx, msg.has_error_code ? msg.error_code : 0,
			    (int)msg.error_reason_len,
			    msg.error_reason != NULL ? msg.error_reason : "");
		}
		return;
	}
	if (msg.cls != SFU_STUN_SUCCESS_RESPONSE || !ok) {
		return;
	}
	p->checks_ok++;
	if (p->ice_done) {
		return; /* consent refreshed */
	}
	p->ice_done = true;
	sfu_timer_handle_start(p->check_timer, WRX_CONSENT_MS, WRX_CONSENT_MS);
	wrx_peer_start_dtls(p);
}

/* --- DTLS --- */

static void
wrx_peer_on_dtls_send(
    void *ctx, struct sfu_dtls_transport *t, const uint8_t *data, size_t len)
{
	struct wrx_peer *p = ctx;

	(void)t;
	sfu_udp_handle_send(p->udp, data, len,
	    (const struct sockaddr *)&p->remote, sizeof(p->remote));
}

static void
wrx_peer_on_dtls_state(
    void *ctx, struct sfu_dtls_transport *t, enum sfu_dtls_state state)
{
	struct wrx_peer *p = ctx;

	(void)t;
	if (state == SFU_DTLS_STATE_FAILED || state == SFU_DTLS_STATE_CLOSED) {
		p->dtls_failed = true;
		p->dtls_done = false;
		printf(
		    "failed %u DTLS %s\n", p->idx, sfu_dtls_state_name(state));
		fflush(stdout);
	}
}

static void
wrx_peer_on_dtls_connected(void *ctx, struct sfu_dtls_transport *t,
    enum sfu_srtp_suite suite, const uint8_t *local_key,
    const uint8_t *remote_key, size_t key_len)
{
	struct wrx_peer *p = ctx;
	struct sfu_error err = {0};

	(void)t;
	(void)local_key;
	if (p->rx->verify_count > 0) {
		/* sfud protects with its (the remote's) key. */
		p->srtp_in = sfu_srtp_session_new(
		    SFU_SRTP_INBOUND, suite, remote_key, key_len, &err);
		if (p->srtp_in == NULL) {
			printf(
			    "failed %u SRTP session: %s\n", p->idx, err.reason);
			fflush(stdout);
			p->dtls_failed = true;
			return;
		}
	}
	p->dtls_done = true;
	printf("ready %u %s\n", p->idx, sfu_srtp_suite_name(suite));
	fflush(stdout);
}

static void
wrx_peer_on_dtls_app_data(
    void *ctx, struct sfu_dtls_transport *t, const uint8_t *data, size_t len)
{
	(void)ctx;
	(void)t;
	(void)data;
	(void)len;
}

static const struct sfu_dtls_transport_listener wrx_dtls_listener = {
    .on_send = wrx_peer_on_dtls_send,
    .on_state = wrx_peer_on_dtls_state,
    .on_connected = wrx_peer_on_dtls_connected,
    .on_app_data = wrx_peer_on_dtls_app_data,
};

/* --- datagrams --- */

static void
wrx_peer_on_udp_datagram(void *ctx, struct sfu_udp_handle *h, uint8_t *data,
    size_t len, const struct sockaddr *from, socklen_t fromlen)
{
	struct wrx_peer *p = ctx;
	struct wrx *rx = p->rx;
	enum sfu_rtc_demux_kind kind;

	(void)h;
	(void)from;
	(void)fromlen;
	if (!p->configured) {
		p->other++;
		return;
	}
	kind = sfu_rtc_demux_classify(data, len);
	switch (kind) {
	case SFU_RTC_DEMUX_RTP:
		rx->last_ns = wrx_now_ns();
		if (rx->first_ns == 0) {
			rx->first_ns = rx->last_ns;
		}
		p->packets++;
		p->bytes += len;
		wrx_peer_count_rtp(p, data);
		if (p->srtp_in != NULL) {
			wrx_peer_verify(p, data, len);
		}
		break;
	case SFU_RTC_DEMUX_RTCP:
		p->rtcp++;
		break;
	case SFU_RTC_DEMUX_STUN:
		wrx_peer_on_stun(p, data, len);
		break;
	case SFU_RTC_DEMUX_DTLS:
		if (p->ice_done && !p->dtls_failed) {
			sfu_dtls_transport_feed(p->dtls, data, len);
		}
		break;
	default:
		p->other++;
		break;
	}
}

static const struct sfu_udp_handle_listener wrx_udp_listener = {
    .on_datagram = wrx_peer_on_udp_datagram,
};

/* --- totals --- */

static void
wrx_print_totals(struct wrx *rx, bool per_peer)
{
	const struct wrx_peer *p = NULL;
	uint64_t packets = 0, bytes = 0, rtcp = 0, other = 0, lost = 0;
	uint64_t gaps = 0, verified = 0, verify_failed = 0;
	uint64_t checks_sent = 0, checks_ok = 0, check_errors = 0;
	uint64_t minp = UINT64_MAX, maxp = 0;
	unsigned int configured = 0, ready = 0, i = 0;
	double active = 0;

	for (i = 0; i < rx->count; i++) {
		p = &rx->peers[i];
		if (!p->configured) {
			continue;
		}
		configured++;
		ready += p->dtls_done ? 1 : 0;
		packets += p->packets;
		bytes += p->bytes;
		rtcp += p->rtcp;
		other += p->other;
		gaps += p->gaps;
		lost += wrx_peer_lost(p);
		verified += p->verified;
		verify_failed += p->verify_failed;
		checks_sent += p->checks_sent;
		checks_ok += p->checks_ok;
		check_errors += p->check_errors;
		minp = p->packets < minp ? p->packets : minp;
		maxp = p->packets > maxp ? p->packets : maxp;
		if (per_peer) {
			printf("port=%u packets=%llu lost=%llu gaps=%llu "
			       "rtcp=%llu other=%llu\n",
			    p->port, (unsigned long long)p->packets,
			    (unsigned long long)wrx_peer_lost(p),
			    (unsigned long long)p->gaps,
			    (unsigned long long)p->rtcp,
			    (unsigned long long)p->other);
		}
	}
	if (configured == 0) {
		minp = 0;
	}
	active =
	    rx->first_ns != 0 ? (double)(rx->last_ns - rx->first_ns) / 1e9 : 0;
	printf("ports=%u packets=%llu bytes=%llu rtcp=%llu other=%llu "
	       "lost=%llu gaps=%llu loss_pct=%.3f active_s=%.3f pps=%.0f "
	       "min_port_packets=%llu max_port_packets=%llu ready=%u "
	       "verified=%llu verify_failed=%llu checks_sent=%llu "
	       "checks_ok=%llu check_errors=%llu\n",
	    configured, (unsigned long long)packets, (unsigned long long)bytes,
	    (unsigned long long)rtcp, (unsigned long long)other,
	    (unsigned long long)lost, (unsigned long long)gaps,
	    packets + lost > 0 ? 100.0 * (double)lost / (double)(packets + lost)
	                       : 0.0,
	    active, active > 0 ? (double)packets / active : 0.0,
	    (unsigned long long)minp, (unsigned long long)maxp, ready,
	    (unsigned long long)verified, (unsigned long long)verify_failed,
	    (unsigned long long)checks_sent, (unsigned long long)checks_ok,
	    (unsigned long long)check_errors);
	fflush(stdout);
}

/* --- stdin --- */

/* "I UFRAG PASSWORD IP PORT FINGERPRINT": configures and starts peer I. */
static void
wrx_configure_peer(struct wrx *rx, const char *line)
{
	char ufrag[WRX_UFRAG_MAX];
	char password[WRX_PASSWORD_MAX];
	char ip[64];
	char fp[SFU_DTLS_FINGERPRINT_MAX_LEN];
	char log_id[32];
	struct sfu_error err = {0};
	struct wrx_peer *p = NULL;
	unsigned int idx = 0, port = 0;
	int n = 0;

	n = sscanf(line, "%u %63s %127s %63s %u %191s", &idx, ufrag, password,
	    ip, &port, fp);
	if (n != 6 || idx >= rx->count || port == 0 || port > 65535) {
		fprintf(stderr, "webrtc_receiver: bad line '%s'\n", line);
		return;
	}
	p = &rx->peers[idx];
	if (p->configured) {
		fprintf(stderr,
		    "webrtc_receiver: peer %u already "
		    "configured\n",
		    idx);
		return;
	}
	memset(&p->remote, 0, sizeof(p->remote));
	p->remote.sin_family = AF_INET;
	p->remote.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &p->remote.sin_addr) != 1) {
		fprintf(stderr, "webrtc_receiver: bad IPv4 address '%s'\n", ip);
		return;
	}
	snprintf(p->username, sizeof(p->username), "%s:bench%u", ufrag, idx);
	snprintf(p->password, sizeof(p->password), "%s", password);
	snprintf(p->fingerprint, sizeof(p->fingerprint), "%s", fp);
	if (RAND_bytes((uint8_t *)&p->tie_breaker, sizeof(p->tie_breaker)) !=
	    1) {
		fprintf(stderr, "webrtc_receiver: RAND_bytes failed\n");
		exit(1);
	}
	p->dtls = sfu_dtls_transport_new(
	    rx->base, rx->dtls_ctx, &wrx_dtls_listener, p, &err);
	if (p->dtls == NULL) {
		fprintf(
		    stderr, "webrtc_receiver: peer %u: %s\n", idx, err.reason);
		exit(1);
	}
	snprintf(log_id, sizeof(log_id), "peer%u", idx);
	sfu_dtls_transport_set_log_id(p->dtls, log_id);
	p->configured = true;
	sfu_timer_handle_start(
	    p->check_timer, WRX_CHECK_RETRY_MS, WRX_CHECK_RETRY_MS);
	wrx_peer_send_check(p);
}

static void
wrx_on_line(struct wrx *rx, const char *line)
{
	if (line[0] == '\0') {
		return;
	}
	if (strcmp(line, "stats") == 0) {
		wrx_print_totals(rx, true);
		return;
	}
	wrx_configure_peer(rx, line);
}

static void
wrx_on_stdin(evutil_socket_t fd, short what, void *arg)
{
	struct wrx *rx = arg;
	char buf[4096];
	ssize_t n = 0;
	ssize_t i = 0;

	(void)what;
	n = read(fd, buf, sizeof(buf));
	if (n == -1 && (errno == EINTR || errno == EAGAIN)) {
		return;
	}
	if (n <= 0) {
		event_base_loopbreak(rx->base);
		return;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			rx->line[rx->line_len] = '\0';
			wrx_on_line(rx, rx->line);
			rx->line_len = 0;
		} else if (rx->line_len + 1 < sizeof(rx->line)) {
			rx->line[rx->line_len++] = buf[i];
		}
	}
}

static void
wrx_on_signal(void *ctx, struct sfu_signal_handle *h, int signo)
{
	struct wrx *rx = ctx;

	(void)h;
	(void)signo;
	event_base_loopbreak(rx->base);
}

static void
wrx_usage(void)
{
	fprintf(stderr, "usage: webrtc_receiver [-v] [-D] [-c VERIFY] "
	                "[-p PROFILES] BASE_PORT COUNT\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static struct wrx rx;
	static struct sfu_log log;
	struct sfu_error err = {0};
	struct wrx_peer *p = NULL;
	const char *profiles = WRX_DEFAULT_PROFILES;
	unsigned long base_port = 0;
	unsigned long count = 0;
	unsigned int i = 0;
	uint16_t bound = 0;
	int fd = -1;
	int opt = 0;
	int r = 0;

	sfu_log_init(&log);
	rx.verify_count = WRX_DEFAULT_VERIFY;
	while ((opt = getopt(argc, argv, "c:Dp:v")) != -1) {
		switch (opt) {
		case 'c':
			rx.verify_count = strtoul(optarg, NULL, 10);
			break;
		case 'D':
			log.level = SFU_LOG_LEVEL_DEBUG;
			log.tags = SFU_LOG_TAG_DTLS | SFU_LOG_TAG_ICE |
			           SFU_LOG_TAG_SRTP;
			break;
		case 'p':
			profiles = optarg;
			break;
		case 'v':
			rx.verbose = true;
			break;
		default:
			wrx_usage();
		}
	}
	if (argc - optind != 2) {
		wrx_usage();
	}
	base_port = strtoul(argv[optind], NULL, 10);
	count = strtoul(argv[optind + 1], NULL, 10);
	if (base_port == 0 || count == 0 || count > WRX_MAX_PEERS ||
	    base_port + count - 1 > 65535) {
		wrx_usage();
	}
	sfu_log_set_current(&log);

	rx.base = event_base_new();
	if (rx.base == NULL) {
		fprintf(stderr, "webrtc_receiver: event_base_new failed\n");
		return 1;
	}
	rx.dtls_ctx = sfu_dtls_ctx_new(NULL, NULL, &err);
	if (rx.dtls_ctx == NULL) {
		fprintf(stderr, "webrtc_receiver: %s\n", err.reason);
		return 1;
	}
	r = sfu_dtls_ctx_set_srtp_profiles(rx.dtls_ctx, profiles, &err);
	if (r == -1) {
		fprintf(stderr, "webrtc_receiver: -p: %s\n", err.reason);
		return 1;
	}
	rx.count = (unsigned int)count;
	rx.peers = calloc(count, sizeof(*rx.peers));
	if (rx.peers == NULL) {
		perror("webrtc_receiver: calloc");
		return 1;
	}
	for (i = 0; i < rx.count; i++) {
		p = &rx.peers[i];
		p->rx = &rx;
		p->idx = i;
		p->port = (uint16_t)(base_port + i);
		r = sfu_udp_bind("127.0.0.1", p->port, 0, 0, &fd, &bound, &err);
		if (r == -1) {
			fprintf(stderr, "webrtc_receiver: %s\n", err.reason);
			return 1;
		}
		p->udp =
		    sfu_udp_handle_new(rx.base, fd, &wrx_udp_listener, p, &err);
		if (p->udp == NULL) {
			fprintf(stderr, "webrtc_receiver: %s\n", err.reason);
			close(fd);
			return 1;
		}
		fd = -1;
		p->check_timer =
		    sfu_timer_handle_new(rx.base, wrx_peer_on_check_timer, p);
	}
	rx.stdin_ev = event_new(
	    rx.base, STDIN_FILENO, EV_READ | EV_PERSIST, wrx_on_stdin, &rx);
	if (rx.stdin_ev == NULL || event_add(rx.stdin_ev, NULL) == -1) {
		fprintf(stderr, "webrtc_receiver: cannot watch stdin\n");
		return 1;
	}
	rx.sigterm =
	    sfu_signal_handle_new(rx.base, SIGTERM, wrx_on_signal, &rx, &err);
	rx.sigint =
	    sfu_signal_handle_new(rx.base, SIGINT, wrx_on_signal, &rx, &err);
	if (rx.sigterm == NULL || rx.sigint == NULL) {
		fprintf(stderr, "webrtc_receiver: %s\n", err.reason);
		return 1;
	}
	printf("fingerprint sha-256 %s\n",
	    sfu_dtls_ctx_fingerprint(rx.dtls_ctx, SFU_DTLS_HASH_SHA256));
	fflush(stdout);

	event_base_dispatch(rx.base);

	wrx_print_totals(&rx, rx.verbose);
	for (i = 0; i < rx.count; i++) {
		p = &rx.peers[i];
		sfu_dtls_transport_free(p->dtls);
		sfu_srtp_session_free(p->srtp_in);
		sfu_timer_handle_free(p->check_timer);
		sfu_udp_handle_free(p->udp);
	}
	free(rx.peers);
	sfu_signal_handle_free(rx.sigterm);
	sfu_signal_handle_free(rx.sigint);
	event_free(rx.stdin_ev);
	sfu_dtls_ctx_free(rx.dtls_ctx);
	event_base_free(rx.base);
	sfu_log_set_current(NULL);
	return 0;
}
