/*
 * SPDX-License-Identifier: MIT
 *
 * STUN messages (RFC 5389) as ICE uses them (RFC 8445): strict, bounded
 * parsing into a flat struct that points into the packet, short-term
 * credential checks (MESSAGE-INTEGRITY, HMAC-SHA1), FINGERPRINT (CRC-32
 * xor 0x5354554e), and building of the messages an ICE-lite agent sends
 * (Binding success and error responses) and the ones its tests send
 * (Binding requests and indications). Nothing here allocates.
 */
#ifndef SFU_WORKER_STUN_H
#define SFU_WORKER_STUN_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define SFU_STUN_HEADER_LEN 20
#define SFU_STUN_MAGIC_COOKIE 0x2112A442u
#define SFU_STUN_TRANSACTION_ID_LEN 12
/* The largest message we build; what we parse may be as large as a UDP
 * datagram. */
#define SFU_STUN_MAX_LEN 1280
/* Unknown comprehension-required attributes remembered for a 420. */
#define SFU_STUN_MAX_UNKNOWN 8

enum sfu_stun_class {
	SFU_STUN_REQUEST = 0,
	SFU_STUN_INDICATION = 1,
	SFU_STUN_SUCCESS_RESPONSE = 2,
	SFU_STUN_ERROR_RESPONSE = 3,
};

#define SFU_STUN_METHOD_BINDING 0x001

/* Attribute types used (RFC 5389 §18.2, RFC 8445 §16.1). */
#define SFU_STUN_ATTR_MAPPED_ADDRESS 0x0001
#define SFU_STUN_ATTR_USERNAME 0x0006
#define SFU_STUN_ATTR_MESSAGE_INTEGRITY 0x0008
#define SFU_STUN_ATTR_ERROR_CODE 0x0009
#define SFU_STUN_ATTR_UNKNOWN_ATTRIBUTES 0x000A
#define SFU_STUN_ATTR_REALM 0x0014
#define SFU_STUN_ATTR_NONCE 0x0015
#define SFU_STUN_ATTR_XOR_MAPPED_ADDRESS 0x0020
#define SFU_STUN_ATTR_PRIORITY 0x0024
#define SFU_STUN_ATTR_USE_CANDIDATE 0x0025
#define SFU_STUN_ATTR_SOFTWARE 0x8022
#define SFU_STUN_ATTR_ALTERNATE_SERVER 0x8023
#define SFU_STUN_ATTR_FINGERPRINT 0x8028
#define SFU_STUN_ATTR_ICE_CONTROLLED 0x8029
#define SFU_STUN_ATTR_ICE_CONTROLLING 0x802A

/*
 * A parsed message. Pointers point into the parsed bytes and live as long
 * as they do. Only the first occurrence of an attribute counts (RFC 5389
 * §15); attributes after MESSAGE-INTEGRITY other than FINGERPRINT are
 * ignored, and nothing may follow FINGERPRINT.
 */
struct sfu_stun_message {
	enum sfu_stun_class cls;
	uint16_t method;
	uint8_t transaction_id[SFU_STUN_TRANSACTION_ID_LEN];
	size_t len; /* whole message: 20 + the header's length */

	const char *username; /* not NUL-terminated; NULL when absent */
	size_t username_len;
	bool has_priority;
	uint32_t priority;
	bool has_ice_controlling;
	uint64_t ice_controlling; /* tie-breaker */
	bool has_ice_controlled;
	uint64_t ice_controlled;
	bool use_candidate;
	bool has_error_code;
	uint16_t error_code;      /* 300..699 */
	const char *error_reason; /* not NUL-terminated */
	size_t error_reason_len;
	bool has_xor_mapped_address;
	struct sockaddr_storage xor_mapped_address; /* decoded */

	/* Offset of the MESSAGE-INTEGRITY attribute header; 0 when absent. */
	size_t message_integrity_offset;
	/* FINGERPRINT present, and whether its CRC matched. */
	bool has_fingerprint;
	bool fingerprint_ok;

	/* Comprehension-required (type < 0x8000) attributes we do not know. */
	unsigned n_unknown;
	uint16_t unknown[SFU_STUN_MAX_UNKNOWN];
};

/*
 * Whether data looks like a STUN message (RFC 5389 §6/§7.3): at least 20
 * bytes, the two top bits zero, the magic cookie, a length that is a
 * multiple of 4 and equals len - 20. Cheap; for demultiplexing.
 */
bool sfu_stun_is_message(const uint8_t *data, size_t len);

/*
 * Parses len bytes. Strict: the header as sfu_stun_is_message() wants it,
 * every attribute inside the message with its padding, sane attribute
 * lengths (USERNAME <= 513 bytes, PRIORITY 4, ICE-CONTROLL* 8,
 * USE-CANDIDATE 0, MESSAGE-INTEGRITY 20, FINGERPRINT 4, XOR-MAPPED-ADDRESS
 * 8 or 20 with a known family, ERROR-CODE >= 4 with class 3..6), nothing
 * after FINGERPRINT. Returns 0, or -1 with err naming the problem. Unknown
 * comprehension-required attributes are not an error here: they are listed
 * in msg->unknown for the caller to answer with 420.
 */
int sfu_stun_parse(const uint8_t *data, size_t len,
    struct sfu_stun_message *msg, struct sfu_error *err);

/*
 * Checks MESSAGE-INTEGRITY (HMAC-SHA1 over the message up to the
 * attribute, with the header length adjusted as RFC 5389 §15.4 says) with
 * key (the short-term password, key_len bytes). data/len and msg as parsed.
 * False when absent or wrong, or when key is NULL.
 */
bool sfu_stun_check_integrity(const uint8_t *data, size_t len,
    const struct sfu_stun_message *msg, const uint8_t *key, size_t key_len);

/*
 * Whether the USERNAME is "<local_ufrag>:<anything>" (RFC 8445 §7.3: the
 * part before the first colon is the receiver's ufrag). False when absent,
 * and for an empty local_ufrag.
 */
bool sfu_stun_username_matches(
    const struct sfu_stun_message *msg, const char *local_ufrag);
/*
 * The ufrag a request is addressed to (the USERNAME part before ':'):
 * copies it NUL-terminated into out (out_size bytes). Returns its length,
 * or -1 when there is no USERNAME, no colon, a NUL byte before the colon,
 * or out is too small.
 */
int sfu_stun_username_local(
    const struct sfu_stun_message *msg, char *out, size_t out_size);

/*
 * A message under construction in a caller's buffer. Attributes are
 * appended in order; finishing adds MESSAGE-INTEGRITY (when a key is
 * given) and FINGERPRINT and fixes the header length. An append that
 * does not fit, or has invalid arguments, sets overflow and later appends
 * do nothing, so callers check only finish's result.
 */
struct sfu_stun_builder {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow; /* an append did not fit: finish fails */
};

/*
 * Starts a message of cls/method (12 bits) with the transaction id (12
 * bytes). A buffer under 20 bytes or a NULL id sets overflow.
 */
void sfu_stun_builder_init(struct sfu_stun_builder *b, uint8_t *buf, size_t cap,
    enum sfu_stun_class cls, uint16_t method, const uint8_t *transaction_id);
/* Any attribute: value of len bytes, padded to 4 with zeros. */
void sfu_stun_builder_add(
    struct sfu_stun_builder *b, uint16_t type, const void *value, size_t len);
void sfu_stun_builder_add_u32(
    struct sfu_stun_builder *b, uint16_t type, uint32_t v);
void sfu_stun_builder_add_u64(
    struct sfu_stun_builder *b, uint16_t type, uint64_t v);
/* XOR-MAPPED-ADDRESS of an AF_INET or AF_INET6 sockaddr (else overflow). */
void sfu_stun_builder_add_xor_address(
    struct sfu_stun_builder *b, const struct sockaddr *addr);
/*
 * ERROR-CODE: code 300..699 and a reason phrase (NULL for none) of at most
 * 763 bytes (RFC 5389 §15.6); anything else sets overflow.
 */
void sfu_stun_builder_add_error(
    struct sfu_stun_builder *b, uint16_t code, const char *reason);
/* UNKNOWN-ATTRIBUTES: n attribute types. */
void sfu_stun_builder_add_unknown(
    struct sfu_stun_builder *b, const uint16_t *types, unsigned n);
/*
 * Adds MESSAGE-INTEGRITY with key (skipped when key is NULL), then
 * FINGERPRINT. Returns the message length, or 0 when it did not fit.
 */
size_t sfu_stun_builder_finish(
    struct sfu_stun_builder *b, const uint8_t *key, size_t key_len);

/* CRC-32 (ISO-HDLC, as zlib's crc32()) of len bytes, starting from 0. */
uint32_t sfu_stun_crc32(const uint8_t *data, size_t len);

#endif
