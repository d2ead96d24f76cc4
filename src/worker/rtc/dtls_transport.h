/*
 * SPDX-License-Identifier: MIT
 *
 * DTLS for WebRtcTransport (mediasoup's DtlsTransport), with OpenSSL and
 * memory BIOs. struct sfu_dtls_ctx is per worker: the certificate and key
 * (loaded from PEM files or generated), their fingerprints and the
 * SSL_CTX. struct sfu_dtls_transport is one DTLS association: the owner
 * feeds it received datagrams and gets datagrams to send, state changes,
 * the SRTP keys once the handshake is done and the remote certificate
 * matched the signalled fingerprint, and application data (SCTP). It keeps
 * its own retransmission timer on the worker's loop; it does no socket I/O
 * and knows nothing of ICE or SRTP sessions.
 */
#ifndef SFU_WORKER_DTLS_TRANSPORT_H
#define SFU_WORKER_DTLS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "common/error.h"
#include "worker/rtc/srtp_session.h"

/* Certificate fingerprint hash functions (mediasoup's FingerprintAlgorithm). */
enum sfu_dtls_hash {
	SFU_DTLS_HASH_SHA1 = 0,
	SFU_DTLS_HASH_SHA224,
	SFU_DTLS_HASH_SHA256,
	SFU_DTLS_HASH_SHA384,
	SFU_DTLS_HASH_SHA512,
};

#define SFU_DTLS_HASH_COUNT 5

/*
 * Longest fingerprint string, NUL included: sha-512, 64 bytes as "AB:" ...
 * "EF" (64 * 3 - 1 characters).
 */
#define SFU_DTLS_FINGERPRINT_MAX_LEN 192

enum sfu_dtls_role {
	SFU_DTLS_ROLE_AUTO = 0,
	SFU_DTLS_ROLE_CLIENT,
	SFU_DTLS_ROLE_SERVER,
};

/* mediasoup's dtlsState. */
enum sfu_dtls_state {
	SFU_DTLS_STATE_NEW = 0,
	SFU_DTLS_STATE_CONNECTING,
	SFU_DTLS_STATE_CONNECTED,
	SFU_DTLS_STATE_FAILED,
	SFU_DTLS_STATE_CLOSED,
};

/*
 * Largest datagram the transport emits during the handshake (DTLS link
 * MTU). A single application data record larger than this goes out alone
 * in a larger datagram: keep SCTP packets below it.
 */
#define SFU_DTLS_MTU 1200
/* Datagrams longer than this are dropped unread (UDP cannot carry more). */
#define SFU_DTLS_MAX_DATAGRAM_LEN 65536
/* Largest sfu_dtls_transport_send_app_data() payload: one DTLS record. */
#define SFU_DTLS_MAX_APP_DATA_LEN 16384
/* Default bound on the whole handshake, from start. */
#define SFU_DTLS_HANDSHAKE_TIMEOUT_MS 30000

/* "sha-1" ... "sha-512" (case-insensitive) -> hash; -1 when unknown/NULL. */
int sfu_dtls_hash_parse(const char *name);
/* "sha-256" ...; "" out of range. */
const char *sfu_dtls_hash_name(enum sfu_dtls_hash hash);
/* "auto", "client", "server" -> role; -1 when unknown or NULL. */
int sfu_dtls_role_parse(const char *name);
const char *sfu_dtls_role_name(enum sfu_dtls_role role);
/* "new" ... "closed"; "" out of range. */
const char *sfu_dtls_state_name(enum sfu_dtls_state state);

/*
 * Our DTLS role given the remote one from transport.connect, as mediasoup's
 * WebRtcTransport: remote client -> server; remote server -> client;
 * remote auto -> client (we are ICE-lite, hence ICE-controlled, and
 * RFC 5763 §5 / W3C RTCDtlsRole make the controlled side the client).
 * Never returns SFU_DTLS_ROLE_AUTO.
 */
enum sfu_dtls_role sfu_dtls_role_resolve(enum sfu_dtls_role remote_role);

/* --- context: one per worker --- */

struct sfu_dtls_ctx;

/*
 * With cert_file and key_file both set, loads a PEM certificate (more
 * certificates after the first are sent as its chain) and a PEM private
 * key; with both NULL, generates an ECDSA P-256 key and a self-signed
 * certificate (SHA-256, random serial, valid from a day ago for a year).
 * Builds the SSL_CTX (DTLS 1.0 to 1.2, ECDHE ciphers, use_srtp with the
 * four SRTP profiles, peer certificate required but checked only through
 * the fingerprint) and computes the local fingerprints. Returns NULL with
 * err set (the reason names the file) when a file cannot be read, holds
 * no PEM object of the right kind, or the key does not match the
 * certificate, or when only one of the two is given.
 */
struct sfu_dtls_ctx *sfu_dtls_ctx_new(
    const char *cert_file, const char *key_file, struct sfu_error *err);
/*
 * NULL-safe. Transports hold their own reference to the SSL_CTX, so they
 * may outlive ctx.
 */
void sfu_dtls_ctx_free(struct sfu_dtls_ctx *ctx);
/*
 * Restricts the SRTP protection profiles offered or accepted by transports
 * created from now on, in OpenSSL's syntax ("SRTP_AEAD_AES_128_GCM:
 * SRTP_AES128_CM_SHA1_80"; names SRTP_AEAD_AES_256_GCM,
 * SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_SHA1_80, SRTP_AES128_CM_SHA1_32).
 * Meant for tests and tuning. Returns 0, or -1 with err set (TypeError)
 * on an unknown name; the previous list stays then.
 */
int sfu_dtls_ctx_set_srtp_profiles(
    struct sfu_dtls_ctx *ctx, const char *profiles, struct sfu_error *err);
/*
 * The local certificate's fingerprint for hash as uppercase hex pairs
 * joined by ':' ("AB:CD:..."), owned by ctx; NULL for a hash out of range.
 */
const char *sfu_dtls_ctx_fingerprint(
    const struct sfu_dtls_ctx *ctx, enum sfu_dtls_hash hash);

/* --- transport: one per WebRtcTransport --- */

struct sfu_dtls_transport;

/*
 * Every callback runs on the loop thread, never inside an OpenSSL call.
 * Any of them may call sfu_dtls_transport_close() or
 * sfu_dtls_transport_free() on t (the free is deferred until the
 * transport's own code unwinds; no callback follows it) and may call
 * sfu_dtls_transport_send_app_data().
 */
struct sfu_dtls_transport_listener {
	/* One datagram to send to the peer (borrowed for the call). */
	void (*on_send)(void *ctx, struct sfu_dtls_transport *t,
	    const uint8_t *data, size_t len);
	/*
	 * The state changed to CONNECTING, CONNECTED, FAILED or CLOSED.
	 * CONNECTED comes right after on_connected(); FAILED and CLOSED are
	 * final: nothing but deferred frees happen afterwards.
	 */
	void (*on_state)(
	    void *ctx, struct sfu_dtls_transport *t, enum sfu_dtls_state state);
	/*
	 * Once, when the handshake is done and the remote certificate matches
	 * the fingerprint given to start(). local_key is the SRTP master key
	 * then salt we protect with (outbound), remote_key the one the peer
	 * protects with (inbound); each key_len bytes, equal to
	 * sfu_srtp_suite_key_len(suite), borrowed for the call and wiped
	 * afterwards.
	 */
	void (*on_connected)(void *ctx, struct sfu_dtls_transport *t,
	    enum sfu_srtp_suite suite, const uint8_t *local_key,
	    const uint8_t *remote_key, size_t key_len);
	/* Application data (SCTP) received while CONNECTED; borrowed. */
	void (*on_app_data)(void *ctx, struct sfu_dtls_transport *t,
	    const uint8_t *data, size_t len);
};

struct sfu_dtls_transport_stats {
	uint64_t datagrams_in; /* fed while connecting or connected */
	uint64_t bytes_in;
	uint64_t datagrams_out; /* passed to on_send */
	uint64_t bytes_out;
	uint64_t dropped_in;   /* fed in another state, empty or too long */
	uint64_t app_data_in;  /* records delivered to on_app_data */
	uint64_t app_data_out; /* sfu_dtls_transport_send_app_data() calls */
	uint64_t retransmits;  /* DTLS retransmission timer expiries */
};

/*
 * A transport in state NEW. base and ctx are borrowed (base must outlive
 * the transport, ctx need not), listener and lctx too. Returns NULL with
 * err set when OpenSSL fails.
 */
struct sfu_dtls_transport *sfu_dtls_transport_new(struct event_base *base,
    struct sfu_dtls_ctx *ctx,
    const struct sfu_dtls_transport_listener *listener, void *lctx,
    struct sfu_error *err);
/*
 * NULL-safe; calls no callback and sends nothing (call close() first for
 * a close_notify). From inside a callback the memory is released when the
 * transport's code returns.
 */
void sfu_dtls_transport_free(struct sfu_dtls_transport *t);
/* A label for log lines ("[transport:<id>]"); copied, may be NULL. */
void sfu_dtls_transport_set_log_id(
    struct sfu_dtls_transport *t, const char *id);
/*
 * Bounds the handshake (from start to CONNECTED) to timeout_ms, default
 * SFU_DTLS_HANDSHAKE_TIMEOUT_MS, 0 for none (OpenSSL still gives up
 * after 12 unanswered retransmissions, about 30 s); past it the state
 * becomes FAILED. Takes effect at the next start().
 */
void sfu_dtls_transport_set_handshake_timeout(
    struct sfu_dtls_transport *t, uint64_t timeout_ms);

/*
 * Starts the handshake as local_role (CLIENT or SERVER; resolve AUTO with
 * sfu_dtls_role_resolve() first) expecting a peer certificate whose
 * remote_hash fingerprint is remote_fingerprint ("AB:CD:...", any case).
 * State becomes CONNECTING (on_state); a client sends its ClientHello at
 * once, a server waits for one. Returns 0, or -1 with err set: TypeError
 * for a bad role, hash or fingerprint (nothing changes then),
 * InvalidStateError unless the state is NEW. A callback may have freed t
 * when this returns 0.
 */
int sfu_dtls_transport_start(struct sfu_dtls_transport *t,
    enum sfu_dtls_role local_role, enum sfu_dtls_hash remote_hash,
    const char *remote_fingerprint, struct sfu_error *err);
/*
 * One received DTLS datagram (borrowed). Processed in CONNECTING and
 * CONNECTED, dropped and counted otherwise (the peer retransmits).
 * Garbage is discarded; a fatal alert or handshake error makes the state
 * FAILED, a close_notify CLOSED. Callbacks may free t.
 */
void sfu_dtls_transport_feed(
    struct sfu_dtls_transport *t, const uint8_t *data, size_t len);
/*
 * Sends application data (1 to SFU_DTLS_MAX_APP_DATA_LEN bytes) as one
 * record in one datagram. Returns 0, or -1 when not CONNECTED, on a bad
 * length or an OpenSSL failure.
 */
int sfu_dtls_transport_send_app_data(
    struct sfu_dtls_transport *t, const uint8_t *data, size_t len);
/*
 * Sends a close_notify when CONNECTED and moves to CLOSED (on_state, the
 * last callback). No-op when already FAILED or CLOSED.
 */
void sfu_dtls_transport_close(struct sfu_dtls_transport *t);

enum sfu_dtls_state sfu_dtls_transport_state(
    const struct sfu_dtls_transport *t);
/* The role given to start(); SFU_DTLS_ROLE_AUTO before. */
enum sfu_dtls_role sfu_dtls_transport_local_role(
    const struct sfu_dtls_transport *t);
void sfu_dtls_transport_get_stats(
    const struct sfu_dtls_transport *t, struct sfu_dtls_transport_stats *stats);

#endif
