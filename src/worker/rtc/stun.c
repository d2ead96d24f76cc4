/*
 * SPDX-License-Identifier: MIT
 *
 * STUN (RFC 5389) for ICE (RFC 8445): the header check used to
 * demultiplex, a strict single-pass attribute walk that fills a flat view
 * pointing into the packet, MESSAGE-INTEGRITY (HMAC-SHA1, short-term
 * credentials) and FINGERPRINT (CRC-32) checks, and a builder writing into
 * the caller's buffer. The code here allocates nothing; OpenSSL's HMAC
 * (EVP_MAC, fetched once per process) allocates its context internally.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/error.h"
#include "worker/rtc/stun.h"

/* RFC 5389 15.5: the CRC is xored with this ("STUN"). */
#define STUN_FINGERPRINT_XOR 0x5354554eu
#define STUN_ATTR_HEADER_LEN 4
#define STUN_HMAC_LEN 20 /* SHA-1 */
#define STUN_MI_ATTR_LEN (STUN_ATTR_HEADER_LEN + STUN_HMAC_LEN)
#define STUN_FP_ATTR_LEN (STUN_ATTR_HEADER_LEN + 4)
/* The header's 16-bit length field bounds every message. */
#define STUN_MAX_BODY_LEN 0xfffcu
/* RFC 5389 15.3: USERNAME is under 513 bytes (we allow 513 as stun.h says). */
#define STUN_MAX_USERNAME_LEN 513
/*
 * RFC 5389 15.6, 15.7, 15.8, 15.10: reason phrase, REALM, NONCE and
 * SOFTWARE are under 128 characters, "which can be as long as 763 bytes".
 */
#define STUN_MAX_TEXT_LEN 763
#define STUN_FAMILY_IPV4 0x01
#define STUN_FAMILY_IPV6 0x02

/* ISO-HDLC CRC-32 (reflected 0x04C11DB7) table, one entry per byte. */
/* clang-format off */
static const uint32_t stun_crc32_table[256] = {
	0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau, 0x076dc419u,
	0x706af48fu, 0xe963a535u, 0x9e6495a3u, 0x0edb8832u, 0x79dcb8a4u,
	0xe0d5e91eu, 0x97d2d988u, 0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u,
	0x90bf1d91u, 0x1db71064u, 0x6ab020f2u, 0xf3b97148u, 0x84be41deu,
	0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u, 0x136c9856u,
	0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu, 0x14015c4fu, 0x63066cd9u,
	0xfa0f3d63u, 0x8d080df5u, 0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u,
	0xa2677172u, 0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu,
	0x35b5a8fau, 0x42b2986cu, 0xdbbbc9d6u, 0xacbcf940u, 0x32d86ce3u,
	0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u, 0x26d930acu, 0x51de003au,
	0xc8d75180u, 0xbfd06116u, 0x21b4f4b5u, 0x56b3c423u, 0xcfba9599u,
	0xb8bda50fu, 0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
	0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du, 0x76dc4190u,
	0x01db7106u, 0x98d220bcu, 0xefd5102au, 0x71b18589u, 0x06b6b51fu,
	0x9fbfe4a5u, 0xe8b8d433u, 0x7807c9a2u, 0x0f00f934u, 0x9609a88eu,
	0xe10e9818u, 0x7f6a0dbbu, 0x086d3d2du, 0x91646c97u, 0xe6635c01u,
	0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu, 0x6c0695edu,
	0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u, 0x65b0d9c6u, 0x12b7e950u,
	0x8bbeb8eau, 0xfcb9887cu, 0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u,
	0xfbd44c65u, 0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u,
	0x4adfa541u, 0x3dd895d7u, 0xa4d1c46du, 0xd3d6f4fbu, 0x4369e96au,
	0x346ed9fcu, 0xad678846u, 0xda60b8d0u, 0x44042d73u, 0x33031de5u,
	0xaa0a4c5fu, 0xdd0d7cc9u, 0x5005713cu, 0x270241aau, 0xbe0b1010u,
	0xc90c2086u, 0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
	0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u, 0x59b33d17u,
	0x2eb40d81u, 0xb7bd5c3bu, 0xc0ba6cadu, 0xedb88320u, 0x9abfb3b6u,
	0x03b6e20cu, 0x74b1d29au, 0xead54739u, 0x9dd277afu, 0x04db2615u,
	0x73dc1683u, 0xe3630b12u, 0x94643b84u, 0x0d6d6a3eu, 0x7a6a5aa8u,
	0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u, 0xf00f9344u,
	0x8708a3d2u, 0x1e01f268u, 0x6906c2feu, 0xf762575du, 0x806567cbu,
	0x196c3671u, 0x6e6b06e7u, 0xfed41b76u, 0x89d32be0u, 0x10da7a5au,
	0x67dd4accu, 0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u,
	0xd6d6a3e8u, 0xa1d1937eu, 0x38d8c2c4u, 0x4fdff252u, 0xd1bb67f1u,
	0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu, 0xd80d2bdau, 0xaf0a1b4cu,
	0x36034af6u, 0x41047a60u, 0xdf60efc3u, 0xa867df55u, 0x316e8eefu,
	0x4669be79u, 0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
	0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu, 0xc5ba3bbeu,
	0xb2bd0b28u, 0x2bb45a92u, 0x5cb36a04u, 0xc2d7ffa7u, 0xb5d0cf31u,
	0x2cd99e8bu, 0x5bdeae1du, 0x9b64c2b0u, 0xec63f226u, 0x756aa39cu,
	0x026d930au, 0x9c0906a9u, 0xeb0e363fu, 0x72076785u, 0x05005713u,
	0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u, 0x92d28e9bu,
	0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u, 0x86d3d2d4u, 0xf1d4e242u,
	0x68ddb3f8u, 0x1fda836eu, 0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u,
	0x18b74777u, 0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu,
	0x8f659effu, 0xf862ae69u, 0x616bffd3u, 0x166ccf45u, 0xa00ae278u,
	0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u, 0xa7672661u, 0xd06016f7u,
	0x4969474du, 0x3e6e77dbu, 0xaed16a4au, 0xd9d65adcu, 0x40df0b66u,
	0x37d83bf0u, 0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
	0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u, 0xbad03605u,
	0xcdd70693u, 0x54de5729u, 0x23d967bfu, 0xb3667a2eu, 0xc4614ab8u,
	0x5d681b02u, 0x2a6f2b94u, 0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu,
	0x2d02ef8du
};
/* clang-format on */

static pthread_once_t stun_hmac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *stun_hmac_mac; /* owned by the process, never freed */

static inline uint16_t
stun_rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t
stun_rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static inline void
stun_wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void
stun_wr32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static inline size_t
stun_pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* --- CRC-32 and HMAC-SHA1 --- */

uint32_t
sfu_stun_crc32(const uint8_t *data, size_t len)
{
	uint32_t c = 0xffffffffu;
	size_t i = 0;

	for (i = 0; i < len; i++) {
		c = stun_crc32_table[(c ^ data[i]) & 0xff] ^ (c >> 8);
	}
	return c ^ 0xffffffffu;
}

static void
stun_hmac_fetch(void)
{
	stun_hmac_mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
}

/*
 * HMAC-SHA1 with key over hdr (the 20-byte header, possibly a copy with
 * its length adjusted) followed by body_len bytes of body. Returns 0 with
 * out filled, -1 when OpenSSL fails.
 */
static int
stun_hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t *hdr,
    const uint8_t *body, size_t body_len, uint8_t out[STUN_HMAC_LEN])
{
	static const uint8_t empty_key[1] = {0};
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = NULL;
	size_t out_len = 0;
	int rc = -1;

	pthread_once(&stun_hmac_once, stun_hmac_fetch);
	if (stun_hmac_mac == NULL) {
		return -1;
	}
	ctx = EVP_MAC_CTX_new(stun_hmac_mac);
	if (ctx == NULL) {
		return -1;
	}
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, (char *)"SHA1", 0);
	params[1] = OSSL_PARAM_construct_end();

	/* A NULL key would mean "keep the previous one": pass an empty one. */
	if (key == NULL || key_len == 0) {
		key = empty_key;
		key_len = 0;
	}
	if (EVP_MAC_init(ctx, key, key_len, params) != 1 ||
	    EVP_MAC_update(ctx, hdr, SFU_STUN_HEADER_LEN) != 1 ||
	    (body_len > 0 && EVP_MAC_update(ctx, body, body_len) != 1) ||
	    EVP_MAC_final(ctx, out, &out_len, STUN_HMAC_LEN) != 1 ||
	    out_len != STUN_HMAC_LEN) {
		goto out;
	}
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);
	return rc;
}

/* --- parsing --- */

bool
sfu_stun_is_message(const uint8_t *data, size_t len)
{
	size_t body_len = 0;

	if (data == NULL || len < SFU_STUN_HEADER_LEN) {
		return false;
	}
	body_len = stun_rd16(data + 2);
	return (data[0] & 0xc0) == 0 &&
	       stun_rd32(data + 4) == SFU_STUN_MAGIC_COOKIE &&
	       (body_len & 3) == 0 && body_len == len - SFU_STUN_HEADER_LEN;
}

/* Says why sfu_stun_is_message() refused data. */
static void
stun_header_error(const uint8_t *data, size_t len, struct sfu_error *err)
{
	size_t body_len = 0;

	if (data == NULL || len < SFU_STUN_HEADER_LEN) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "stun: %zu bytes, shorter than the header", len);
		return;
	}
	body_len = stun_rd16(data + 2);
	if ((data[0] & 0xc0) != 0) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "stun: first two bits not zero (0x%02x)", data[0]);
	} else if (stun_rd32(data + 4) != SFU_STUN_MAGIC_COOKIE) {
		sfu_error_set(err, SFU_ERR_TYPE, "stun: bad magic cookie");
	} else if ((body_len & 3) != 0) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "stun: length %zu not a multiple of 4", body_len);
	} else {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "stun: length %zu, but %zu bytes follow the header",
		    body_len, len - SFU_STUN_HEADER_LEN);
	}
}

/*
 * MAPPED-ADDRESS, XOR-MAPPED-ADDRESS, ALTERNATE-SERVER (RFC 5389 15.1,
 * 15.2): a reserved byte, the family, the port, then 4 or 16 address
 * bytes as the family says.
 */
static int
stun_check_address(
    uint16_t type, const uint8_t *val, size_t alen, struct sfu_error *err)
{
	if (alen >= 4 && val[1] == STUN_FAMILY_IPV4 && alen == 8) {
		return 0;
	}
	if (alen >= 4 && val[1] == STUN_FAMILY_IPV6 && alen == 20) {
		return 0;
	}
	if (alen >= 4 && val[1] != STUN_FAMILY_IPV4 &&
	    val[1] != STUN_FAMILY_IPV6) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "stun: attribute 0x%04x: unknown address family 0x%02x",
		    type, val[1]);
	} else {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "stun: attribute 0x%04x: bad address length %zu", type,
		    alen);
	}
	return -1;
}

/*
 * RFC 5389 15.2: the port is xored with the cookie's top 16 bits, an IPv4
 * address with the cookie, an IPv6 address with the cookie followed by the
 * transaction id. val has been checked by stun_check_address().
 */
static void
stun_decode_xor_address(
    const uint8_t *val, const uint8_t *header, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = NULL;
	struct sockaddr_in6 *sin6 = NULL;
	uint16_t port =
	    (uint16_t)(stun_rd16(val + 2) ^ (SFU_STUN_MAGIC_COOKIE >> 16));
	uint8_t *addr = NULL;
	size_t i = 0;

	memset(ss, 0, sizeof(*ss));
	if (val[1] == STUN_FAMILY_IPV4) {
		sin = (struct sockaddr_in *)ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		addr = (uint8_t *)&sin->sin_addr;
		for (i = 0; i < 4; i++) {
			addr[i] = val[4 + i] ^ header[4 + i];
		}
	} else {
		sin6 = (struct sockaddr_in6 *)ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		addr = (uint8_t *)&sin6->sin6_addr;

		/* Header bytes 4..19: the cookie, then the transaction id. */
		for (i = 0; i < 16; i++) {
			addr[i] = val[4 + i] ^ header[4 + i];
		}
	}
}

/* Remembers an unknown comprehension-required type once, while room. */
static void
stun_add_unknown(struct sfu_stun_message *msg, uint16_t type)
{
	unsigned i = 0;

	for (i = 0; i < msg->n_unknown; i++) {
		if (msg->unknown[i] == type) {
			return;
		}
	}
	if (msg->n_unknown < SFU_STUN_MAX_UNKNOWN) {
		msg->unknown[msg->n_unknown++] = type;
	}
}

/* Checks that an attribute's length is exactly want. */
static int
stun_want_len(uint16_t type, size_t alen, size_t want, struct sfu_error *err)
{
	if (alen != want) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "stun: attribute 0x%04x: length %zu, expected %zu", type,
		    alen, want);
		return -1;
	}
	return 0;
}

static int
stun_max_len(uint16_t type, size_t alen, size_t max, struct sfu_error *err)
{
	if (alen > max) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "stun: attribute 0x%04x: length %zu over %zu", type, alen,
		    max);
		return -1;
	}
	return 0;
}

/*
 * One attribute before MESSAGE-INTEGRITY, or FINGERPRINT: checks its
 * size and records the first occurrence. Every occurrence is checked, not
 * only the first, so a malformed duplicate rejects the message.
 */
static int
stun_parse_attr(struct sfu_stun_message *msg, const uint8_t *data, size_t off,
    uint16_t type, const uint8_t *val, size_t alen, struct sfu_error *err)
{
	unsigned cls = 0;
	unsigned number = 0;

	switch (type) {
	case SFU_STUN_ATTR_USERNAME:
		if (stun_max_len(type, alen, STUN_MAX_USERNAME_LEN, err) ==
		    -1) {
			return -1;
		}
		if (msg->username == NULL) {
			msg->username = (const char *)val;
			msg->username_len = alen;
		}
		return 0;
	case SFU_STUN_ATTR_PRIORITY:
		if (stun_want_len(type, alen, 4, err) == -1) {
			return -1;
		}
		if (!msg->has_priority) {
			msg->has_priority = true;
			msg->priority = stun_rd32(val);
		}
		return 0;
	case SFU_STUN_ATTR_ICE_CONTROLLING:
		if (stun_want_len(type, alen, 8, err) == -1) {
			return -1;
		}
		if (!msg->has_ice_controlling) {
			msg->has_ice_controlling = true;
			msg->ice_controlling =
			    (uint64_t)stun_rd32(val) << 32 | stun_rd32(val + 4);
		}
		return 0;
	case SFU_STUN_ATTR_ICE_CONTROLLED:
		if (stun_want_len(type, alen, 8, err) == -1) {
			return -1;
		}
		if (!msg->has_ice_controlled) {
			msg->has_ice_controlled = true;
			msg->ice_controlled =
			    (uint64_t)stun_rd32(val) << 32 | stun_rd32(val + 4);
		}
		return 0;
	case SFU_STUN_ATTR_USE_CANDIDATE:
		if (stun_want_len(type, alen, 0, err) == -1) {
			return -1;
		}
		msg->use_candidate = true;
		return 0;
	case SFU_STUN_ATTR_MESSAGE_INTEGRITY:
		if (stun_want_len(type, alen, STUN_HMAC_LEN, err) == -1) {
			return -1;
		}
		msg->message_integrity_offset = off;
		return 0;
	case SFU_STUN_ATTR_FINGERPRINT:
		if (stun_want_len(type, alen, 4, err) == -1) {
			return -1;
		}

		/*
		 * RFC 5389 15.5: the CRC of the message up to the attribute,
		 * the header length covering it. FINGERPRINT must be last,
		 * which the caller enforces, so the header is as received.
		 */
		msg->has_fingerprint = true;
		msg->fingerprint_ok =
		    (sfu_stun_crc32(data, off) ^ STUN_FINGERPRINT_XOR) ==
		    stun_rd32(val);
		return 0;
	case SFU_STUN_ATTR_XOR_MAPPED_ADDRESS:
		if (stun_check_address(type, val, alen, err) == -1) {
			return -1;
		}
		if (!msg->has_xor_mapped_address) {
			msg->has_xor_mapped_address = true;
			stun_decode_xor_address(
			    val, data, &msg->xor_mapped_address);
		}
		return 0;
	case SFU_STUN_ATTR_MAPPED_ADDRESS:
	case SFU_STUN_ATTR_ALTERNATE_SERVER:
		return stun_check_address(type, val, alen, err);
	case SFU_STUN_ATTR_ERROR_CODE:
		if (alen < 4) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "stun: ERROR-CODE: length %zu under 4", alen);
			return -1;
		}
		if (stun_max_len(type, alen, 4 + STUN_MAX_TEXT_LEN, err) ==
		    -1) {
			return -1;
		}

		/* RFC 5389 15.6: class 3..6 in 3 bits, number 0..99. */
		cls = val[2] & 0x07;
		number = val[3];
		if (cls < 3 || cls > 6 || number > 99) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "stun: ERROR-CODE: bad class %u or number %u", cls,
			    number);
			return -1;
		}
		if (!msg->has_error_code) {
			msg->has_error_code = true;
			msg->error_code = (uint16_t)(cls * 100 + number);
			msg->error_reason = (const char *)val + 4;
			msg->error_reason_len = alen - 4;
		}
		return 0;
	case SFU_STUN_ATTR_UNKNOWN_ATTRIBUTES:
		if (alen % 2 != 0) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "stun: UNKNOWN-ATTRIBUTES: odd length %zu", alen);
			return -1;
		}
		return 0;
	case SFU_STUN_ATTR_REALM:
	case SFU_STUN_ATTR_NONCE:
	case SFU_STUN_ATTR_SOFTWARE:
		return stun_max_len(type, alen, STUN_MAX_TEXT_LEN, err);
	default:
		/* RFC 5389 7.3: 0x0000-0x7FFF must be understood. */
		if (type < 0x8000) {
			stun_add_unknown(msg, type);
		}
		return 0;
	}
}

int
sfu_stun_parse(const uint8_t *data, size_t len, struct sfu_stun_message *msg,
    struct sfu_error *err)
{
	const uint8_t *val = NULL;
	uint16_t type = 0;
	size_t alen = 0;
	size_t off = 0;
	bool after_mi = false;

	memset(msg, 0, sizeof(*msg));
	if (!sfu_stun_is_message(data, len)) {
		stun_header_error(data, len, err);
		return -1;
	}

	/* RFC 5389 6: type bits are M11..M7 C1 M6..M4 C0 M3..M0. */
	type = stun_rd16(data);
	msg->cls =
	    (enum sfu_stun_class)(((type >> 7) & 0x2) | ((type >> 4) & 0x1));
	msg->method = (uint16_t)((type & 0x000f) | ((type >> 1) & 0x0070) |
	                         ((type >> 2) & 0x0f80));
	memcpy(msg->transaction_id, data + 8, SFU_STUN_TRANSACTION_ID_LEN);
	msg->len = len;

	/*
	 * len - 20 is a multiple of 4, and so is every padded attribute, so
	 * at any off < len there are at least 4 bytes for a header.
	 */
	for (off = SFU_STUN_HEADER_LEN; off < len;
	     off += STUN_ATTR_HEADER_LEN + stun_pad4(alen)) {
		type = stun_rd16(data + off);
		alen = stun_rd16(data + off + 2);
		val = data + off + STUN_ATTR_HEADER_LEN;
		if (msg->has_fingerprint) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "stun: attribute 0x%04x after FINGERPRINT", type);
			goto fail;
		}
		if (stun_pad4(alen) > len - off - STUN_ATTR_HEADER_LEN) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "stun: attribute 0x%04x (%zu bytes) at %zu "
			    "overruns "
			    "the message",
			    type, alen, off);
			goto fail;
		}

		/* RFC 5389 15.4: after MESSAGE-INTEGRITY only FINGERPRINT. */
		if (after_mi && type != SFU_STUN_ATTR_FINGERPRINT) {
			continue;
		}
		if (stun_parse_attr(msg, data, off, type, val, alen, err) ==
		    -1) {
			goto fail;
		}
		if (type == SFU_STUN_ATTR_MESSAGE_INTEGRITY) {
			after_mi = true;
		}
	}
	return 0;
fail:
	memset(msg, 0, sizeof(*msg));
	return -1;
}

bool
sfu_stun_check_integrity(const uint8_t *data, size_t len,
    const struct sfu_stun_message *msg, const uint8_t *key, size_t key_len)
{
	uint8_t hdr[SFU_STUN_HEADER_LEN];
	uint8_t mac[STUN_HMAC_LEN];
	size_t off = 0;

	if (data == NULL || msg == NULL || key == NULL) {
		return false;
	}
	off = msg->message_integrity_offset;

	/* Trust msg only as far as the bytes agree with it. */
	if (off < SFU_STUN_HEADER_LEN || off % 4 != 0 ||
	    len < STUN_MI_ATTR_LEN || off > len - STUN_MI_ATTR_LEN ||
	    stun_rd16(data + off) != SFU_STUN_ATTR_MESSAGE_INTEGRITY ||
	    stun_rd16(data + off + 2) != STUN_HMAC_LEN) {
		return false;
	}

	/*
	 * RFC 5389 15.4: the header length as if the message ended with the
	 * MESSAGE-INTEGRITY attribute (a FINGERPRINT after it not counted).
	 */
	memcpy(hdr, data, sizeof(hdr));
	stun_wr16(
	    hdr + 2, (uint16_t)(off + STUN_MI_ATTR_LEN - SFU_STUN_HEADER_LEN));
	if (stun_hmac_sha1(key, key_len, hdr, data + SFU_STUN_HEADER_LEN,
	        off - SFU_STUN_HEADER_LEN, mac) == -1) {
		return false;
	}
	return CRYPTO_memcmp(
	           mac, data + off + STUN_ATTR_HEADER_LEN, STUN_HMAC_LEN) == 0;
}

/* --- USERNAME --- */

/* Length of the part before the first ':', or -1 without a colon. */
static ssize_t
stun_username_local_len(const struct sfu_stun_message *msg)
{
	const char *colon = NULL;

	if (msg == NULL || msg->username == NULL) {
		return -1;
	}
	colon = memchr(msg->username, ':', msg->username_len);
	if (colon == NULL) {
		return -1;
	}
	return colon - msg->username;
}

bool
sfu_stun_username_matches(
    const struct sfu_stun_message *msg, const char *local_ufrag)
{
	ssize_t n = stun_username_local_len(msg);

	if (n <= 0 || local_ufrag == NULL) {
		return false;
	}
	return strlen(local_ufrag) == (size_t)n &&
	       memcmp(msg->username, local_ufrag, (size_t)n) == 0;
}

int
sfu_stun_username_local(
    const struct sfu_stun_message *msg, char *out, size_t out_size)
{
	ssize_t n = stun_username_local_len(msg);

	if (n < 0 || out == NULL || (size_t)n >= out_size ||
	    memchr(msg->username, '\0', (size_t)n) != NULL) {
		return -1;
	}
	memcpy(out, msg->username, (size_t)n);
	out[n] = '\0';
	return (int)n;
}

/* --- building --- */

void
sfu_stun_builder_init(struct sfu_stun_builder *b, uint8_t *buf, size_t cap,
    enum sfu_stun_class cls, uint16_t method, const uint8_t *transaction_id)
{
	unsigned c = (unsigned)cls & 0x3;
	uint16_t type = 0;

	b->buf = buf;
	b->cap = cap;
	b->len = 0;
	b->overflow = false;
	if (buf == NULL || cap < SFU_STUN_HEADER_LEN || method > 0x0fff ||
	    transaction_id == NULL) {
		b->overflow = true;
		return;
	}
	type = (uint16_t)((method & 0x000f) | ((method & 0x0070) << 1) |
	                  ((method & 0x0f80) << 2) | ((c & 0x1) << 4) |
	                  ((c & 0x2) << 7));
	stun_wr16(buf, type);
	stun_wr16(buf + 2, 0);
	stun_wr32(buf + 4, SFU_STUN_MAGIC_COOKIE);
	memcpy(buf + 8, transaction_id, SFU_STUN_TRANSACTION_ID_LEN);
	b->len = SFU_STUN_HEADER_LEN;
}

/*
 * Reserves an attribute of value length len: writes its header and zero
 * padding, keeps the header length in step, and returns where the value
 * goes, or NULL (and overflow set) when it does not fit the buffer or the
 * 16-bit length fields.
 */
static uint8_t *
stun_builder_reserve(struct sfu_stun_builder *b, uint16_t type, size_t len)
{
	uint8_t *attr = NULL;
	size_t need = STUN_ATTR_HEADER_LEN + stun_pad4(len);

	if (b->overflow) {
		return NULL;
	}
	if (len > 0xffff || need > b->cap - b->len ||
	    b->len - SFU_STUN_HEADER_LEN + need > STUN_MAX_BODY_LEN) {
		b->overflow = true;
		return NULL;
	}
	attr = b->buf + b->len;
	stun_wr16(attr, type);
	stun_wr16(attr + 2, (uint16_t)len);
	memset(attr + STUN_ATTR_HEADER_LEN, 0, stun_pad4(len));
	b->len += need;
	stun_wr16(b->buf + 2, (uint16_t)(b->len - SFU_STUN_HEADER_LEN));
	return attr + STUN_ATTR_HEADER_LEN;
}

void
sfu_stun_builder_add(
    struct sfu_stun_builder *b, uint16_t type, const void *value, size_t len)
{
	uint8_t *v = NULL;

	if (value == NULL && len > 0) {
		b->overflow = true;
		return;
	}
	v = stun_builder_reserve(b, type, len);
	if (v != NULL && len > 0) {
		memcpy(v, value, len);
	}
}

void
sfu_stun_builder_add_u32(struct sfu_stun_builder *b, uint16_t type, uint32_t v)
{
	uint8_t *p = stun_builder_reserve(b, type, 4);

	if (p != NULL) {
		stun_wr32(p, v);
	}
}

void
sfu_stun_builder_add_u64(struct sfu_stun_builder *b, uint16_t type, uint64_t v)
{
	uint8_t *p = stun_builder_reserve(b, type, 8);

	if (p != NULL) {
		stun_wr32(p, (uint32_t)(v >> 32));
		stun_wr32(p + 4, (uint32_t)v);
	}
}

void
sfu_stun_builder_add_xor_address(
    struct sfu_stun_builder *b, const struct sockaddr *addr)
{
	const struct sockaddr_in *sin = NULL;
	const struct sockaddr_in6 *sin6 = NULL;
	const uint8_t *a = NULL;
	uint8_t *p = NULL;
	uint16_t port = 0;
	size_t n = 0;
	size_t i = 0;

	if (addr != NULL && addr->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)addr;
		port = ntohs(sin->sin_port);
		a = (const uint8_t *)&sin->sin_addr;
		n = 4;
	} else if (addr != NULL && addr->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)addr;
		port = ntohs(sin6->sin6_port);
		a = (const uint8_t *)&sin6->sin6_addr;
		n = 16;
	} else {
		b->overflow = true;
		return;
	}
	p = stun_builder_reserve(b, SFU_STUN_ATTR_XOR_MAPPED_ADDRESS, 4 + n);
	if (p == NULL) {
		return;
	}
	p[0] = 0;
	p[1] = n == 4 ? STUN_FAMILY_IPV4 : STUN_FAMILY_IPV6;
	stun_wr16(p + 2, (uint16_t)(port ^ (SFU_STUN_MAGIC_COOKIE >> 16)));

	/* Header bytes 4..19: the cookie, then the transaction id. */
	for (i = 0; i < n; i++) {
		p[4 + i] = a[i] ^ b->buf[4 + i];
	}
}

void
sfu_stun_builder_add_error(
    struct sfu_stun_builder *b, uint16_t code, const char *reason)
{
	size_t reason_len = reason != NULL ? strlen(reason) : 0;
	uint8_t *p = NULL;

	if (code < 300 || code > 699 || reason_len > STUN_MAX_TEXT_LEN) {
		b->overflow = true;
		return;
	}
	p = stun_builder_reserve(b, SFU_STUN_ATTR_ERROR_CODE, 4 + reason_len);
	if (p == NULL) {
		return;
	}
	p[0] = 0;
	p[1] = 0;
	p[2] = (uint8_t)(code / 100);
	p[3] = (uint8_t)(code % 100);
	if (reason_len > 0) {
		memcpy(p + 4, reason, reason_len);
	}
}

void
sfu_stun_builder_add_unknown(
    struct sfu_stun_builder *b, const uint16_t *types, unsigned n)
{
	uint8_t *p = NULL;
	unsigned i = 0;

	if (types == NULL && n > 0) {
		b->overflow = true;
		return;
	}
	p = stun_builder_reserve(
	    b, SFU_STUN_ATTR_UNKNOWN_ATTRIBUTES, 2 * (size_t)n);
	if (p == NULL) {
		return;
	}
	for (i = 0; i < n; i++) {
		stun_wr16(p + 2 * i, types[i]);
	}
}

size_t
sfu_stun_builder_finish(
    struct sfu_stun_builder *b, const uint8_t *key, size_t key_len)
{
	uint8_t *p = NULL;
	size_t off = 0;

	if (b->overflow) {
		return 0;
	}
	if (key != NULL) {
		/*
		 * RFC 5389 15.4: reserving the attribute first sets the header
		 * length to cover it, as the HMAC wants; the HMAC covers the
		 * bytes before it.
		 */
		off = b->len;
		p = stun_builder_reserve(
		    b, SFU_STUN_ATTR_MESSAGE_INTEGRITY, STUN_HMAC_LEN);
		if (p == NULL) {
			return 0;
		}
		if (stun_hmac_sha1(key, key_len, b->buf,
		        b->buf + SFU_STUN_HEADER_LEN, off - SFU_STUN_HEADER_LEN,
		        p) == -1) {
			b->overflow = true;
			return 0;
		}
	}

	/* RFC 5389 15.5: likewise, the header length covers FINGERPRINT. */
	off = b->len;
	p = stun_builder_reserve(b, SFU_STUN_ATTR_FINGERPRINT, 4);
	if (p == NULL) {
		return 0;
	}
	stun_wr32(p, sfu_stun_crc32(b->buf, off) ^ STUN_FINGERPRINT_XOR);
	return b->len;
}
