/*
 * SPDX-License-Identifier: MIT
 *
 * RTP packet view: strict parsing of the RFC 3550 header with the RFC 8285
 * extension index, in-place setters and extension edits, and the rebuild
 * of the extension block when its size changes. Nothing here allocates;
 * the only copy is the rebuilt block, assembled in a bounded scratch
 * buffer on the stack because the new values may point into the old block.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "worker/rtc/rtp_packet.h"

static inline uint16_t
rtp_packet_rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t
rtp_packet_rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	       (uint32_t)b[2] << 8 | b[3];
}

static inline void
rtp_packet_wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void
rtp_packet_wr32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* --- parsing --- */

static int
rtp_packet_add_ext(
    struct sfu_rtp_packet *p, uint8_t id, size_t off, uint8_t len)
{
	struct sfu_rtp_packet_ext *e = NULL;

	if (p->ext_count == SFU_RTP_PACKET_MAX_EXTENSIONS) {
		return -1;
	}
	e = &p->ext[p->ext_count++];
	e->off = (uint32_t)off;
	e->id = id;
	e->len = len;
	if (id < 16 && p->ext_by_id[id] == 0) {
		p->ext_by_id[id] = p->ext_count;
	}
	return 0;
}

/*
 * Indexes the elements of the block at p->ext_off (its bounds already
 * checked against the packet). RFC 8285 4.1.1: elements are found byte by
 * byte with no alignment; zero bytes are padding in both forms.
 */
static int
rtp_packet_index_extensions(struct sfu_rtp_packet *p)
{
	const uint8_t *d = p->data;
	size_t i = p->ext_off + 4;
	size_t end = i + p->ext_len;
	uint8_t id = 0;
	uint8_t len = 0;

	p->ext_count = 0;
	memset(p->ext_by_id, 0, sizeof(p->ext_by_id));
	if (p->ext_profile == SFU_RTP_PACKET_PROFILE_ONE_BYTE) {
		p->ext_form = SFU_RTP_PACKET_EXT_ONE_BYTE;
		while (i < end) {
			if (d[i] == 0) {
				i++;
				continue;
			}
			id = d[i] >> 4;

			/*
			 * RFC 8285 4.2: id 15 ends processing, its length
			 * ignored. A non-zero byte with id 0 is neither
			 * padding nor an element: treated the same way,
			 * keeping the elements before it.
			 */
			if (id == 15 || id == 0) {
				break;
			}
			len = (uint8_t)((d[i] & 0x0f) + 1);
			if (len > end - i - 1) {
				return -1;
			}
			if (rtp_packet_add_ext(p, id, i + 1, len) == -1) {
				return -1;
			}
			i += 1 + (size_t)len;
		}
	} else if ((p->ext_profile & 0xfff0) ==
	           SFU_RTP_PACKET_PROFILE_TWO_BYTE) {
		p->ext_form = SFU_RTP_PACKET_EXT_TWO_BYTE;
		while (i < end) {
			id = d[i];
			if (id == 0) {
				i++;
				continue;
			}
			if (end - i < 2) {
				return -1;
			}
			len = d[i + 1];
			if (len > end - i - 2) {
				return -1;
			}
			if (rtp_packet_add_ext(p, id, i + 2, len) == -1) {
				return -1;
			}
			i += 2 + (size_t)len;
		}
	} else {
		p->ext_form = SFU_RTP_PACKET_EXT_OTHER;
	}
	return 0;
}

int
sfu_rtp_packet_parse(
    struct sfu_rtp_packet *p, uint8_t *data, size_t len, size_t capacity)
{
	size_t off = 0;
	size_t ext_len = 0;
	uint8_t b0 = 0;
	uint8_t pad = 0;

	if (len < SFU_RTP_PACKET_HEADER_LEN || capacity < len) {
		return -1;
	}
	b0 = data[0];
	if ((b0 >> 6) != 2) {
		return -1;
	}
	p->data = data;
	p->len = len;
	p->capacity = capacity;
	p->csrc_count = b0 & 0x0f;
	p->marker = (data[1] & 0x80) != 0;
	p->payload_type = data[1] & 0x7f;
	p->sequence_number = rtp_packet_rd16(data + 2);
	p->timestamp = rtp_packet_rd32(data + 4);
	p->ssrc = rtp_packet_rd32(data + 8);
	off = SFU_RTP_PACKET_HEADER_LEN + 4 * (size_t)p->csrc_count;
	if (off > len) {
		return -1;
	}
	p->has_extension = (b0 & 0x10) != 0;
	p->ext_count = 0;
	if (p->has_extension) {
		if (len - off < 4) {
			return -1;
		}
		ext_len = 4 * (size_t)rtp_packet_rd16(data + off + 2);
		if (len - off - 4 < ext_len) {
			return -1;
		}
		p->ext_profile = rtp_packet_rd16(data + off);
		p->ext_off = off;
		p->ext_len = ext_len;
		off += 4 + ext_len;
		if (rtp_packet_index_extensions(p) == -1) {
			return -1;
		}
	} else {
		p->ext_form = SFU_RTP_PACKET_EXT_NONE;
		p->ext_profile = 0;
		p->ext_off = 0;
		p->ext_len = 0;
	}
	p->header_len = off;
	p->padding_len = 0;
	if (b0 & 0x20) {

		/*
		 * RFC 3550 5.1: the last octet counts the padding, itself
		 * included, so 0 is invalid; it cannot reach into the header.
		 */
		pad = data[len - 1];
		if (pad == 0 || pad > len - off) {
			return -1;
		}
		p->padding_len = pad;
	}
	p->payload_len = len - off - p->padding_len;
	return 0;
}

/* --- extensions --- */

static const struct sfu_rtp_packet_ext *
rtp_packet_find_ext(const struct sfu_rtp_packet *p, uint8_t id)
{
	unsigned i = 0;

	if (p->ext_count == 0) {
		return NULL;
	}
	if (id < 16) {
		i = p->ext_by_id[id];
		return i == 0 ? NULL : &p->ext[i - 1];
	}
	for (i = 0; i < p->ext_count; i++) {
		if (p->ext[i].id == id) {
			return &p->ext[i];
		}
	}
	return NULL;
}

const uint8_t *
sfu_rtp_packet_get_extension(
    const struct sfu_rtp_packet *p, uint8_t id, size_t *len)
{
	const struct sfu_rtp_packet_ext *e = NULL;

	e = rtp_packet_find_ext(p, id);
	if (e == NULL) {
		*len = 0;
		return NULL;
	}
	*len = e->len;
	return p->data + e->off;
}

int
sfu_rtp_packet_set_extension_value(
    struct sfu_rtp_packet *p, uint8_t id, const uint8_t *val, size_t len)
{
	const struct sfu_rtp_packet_ext *e = NULL;

	e = rtp_packet_find_ext(p, id);
	if (e == NULL || e->len != len) {
		return -1;
	}
	if (len > 0) {
		memmove(p->data + e->off, val, len);
	}
	return 0;
}

int
sfu_rtp_packet_update_extension_ids(
    struct sfu_rtp_packet *p, const uint8_t map[256])
{
	const struct sfu_rtp_packet_ext *e = NULL;
	uint8_t seen[32];
	uint8_t nid = 0;
	bool one_byte = p->ext_form == SFU_RTP_PACKET_EXT_ONE_BYTE;
	unsigned i = 0;

	if (p->ext_count == 0) {
		return 0;
	}

	/* Check everything first so that a refusal changes nothing. */
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < p->ext_count; i++) {
		nid = map[p->ext[i].id];
		if (nid == 0) {
			continue;
		}
		if ((one_byte && nid > SFU_RTP_PACKET_ONE_BYTE_MAX_ID) ||
		    (seen[nid >> 3] & (1u << (nid & 7))) != 0) {
			return -1;
		}
		seen[nid >> 3] |= (uint8_t)(1u << (nid & 7));
	}
	for (i = 0; i < p->ext_count; i++) {
		e = &p->ext[i];
		nid = map[e->id];
		if (one_byte && nid == 0) {
			memset(p->data + e->off - 1, 0, 1 + (size_t)e->len);
		} else if (one_byte) {
			p->data[e->off - 1] =
			    (uint8_t)(nid << 4 | (e->len - 1));
		} else if (nid == 0) {
			memset(p->data + e->off - 2, 0, 2 + (size_t)e->len);
		} else {
			p->data[e->off - 2] = nid;
		}
	}

	/* Same block, same bounds: indexing it again cannot fail. */
	return rtp_packet_index_extensions(p);
}

/*
 * Builds an RFC 8285 extension block (4-byte header, elements, zero
 * padding to a 32-bit boundary) into out. *out_len is 0 for count 0.
 */
static int
rtp_packet_build_ext_block(uint8_t *out, size_t cap,
    const struct sfu_rtp_packet_ext_value *exts, size_t count, bool two_byte,
    size_t *out_len)
{
	uint8_t seen[32];
	const struct sfu_rtp_packet_ext_value *x = NULL;
	bool one_byte = !two_byte;
	size_t need = 0;
	size_t total = 0;
	size_t off = 0;
	size_t i = 0;

	*out_len = 0;
	if (count == 0) {
		return 0;
	}
	if (count > SFU_RTP_PACKET_MAX_EXTENSIONS) {
		return -1;
	}
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < count; i++) {
		x = &exts[i];
		if (x->id == 0 || (seen[x->id >> 3] & (1u << (x->id & 7))) ||
		    (x->len > 0 && x->value == NULL)) {
			return -1;
		}
		seen[x->id >> 3] |= (uint8_t)(1u << (x->id & 7));
		if (x->id > SFU_RTP_PACKET_ONE_BYTE_MAX_ID || x->len < 1 ||
		    x->len > SFU_RTP_PACKET_ONE_BYTE_MAX_LEN) {
			one_byte = false;
		}
		need += (size_t)x->len;
	}
	need += one_byte ? count : 2 * count;
	total = 4 + ((need + 3) & ~(size_t)3);
	if (total > SFU_RTP_PACKET_MAX_EXTENSION_BLOCK_LEN || total > cap) {
		return -1;
	}
	rtp_packet_wr16(out, one_byte ? SFU_RTP_PACKET_PROFILE_ONE_BYTE
	                              : SFU_RTP_PACKET_PROFILE_TWO_BYTE);
	rtp_packet_wr16(out + 2, (uint16_t)((total - 4) / 4));
	off = 4;
	for (i = 0; i < count; i++) {
		x = &exts[i];
		if (one_byte) {
			out[off++] = (uint8_t)(x->id << 4 | (x->len - 1));
		} else {
			out[off++] = x->id;
			out[off++] = x->len;
		}
		if (x->len > 0) {
			memcpy(out + off, x->value, x->len);
		}
		off += x->len;
	}
	memset(out + off, 0, total - off);
	*out_len = total;
	return 0;
}

int
sfu_rtp_packet_rewrite_extensions(struct sfu_rtp_packet *p,
    const struct sfu_rtp_packet_ext_value *exts, size_t count)
{
	uint8_t block[SFU_RTP_PACKET_MAX_EXTENSION_BLOCK_LEN];
	size_t block_len = 0;
	size_t start = 0;
	size_t old_len = 0;
	size_t tail = 0;
	size_t new_len = 0;

	if (rtp_packet_build_ext_block(
	        block, sizeof(block), exts, count, false, &block_len) == -1) {
		return -1;
	}
	start = SFU_RTP_PACKET_HEADER_LEN + 4 * (size_t)p->csrc_count;
	old_len = p->has_extension ? 4 + p->ext_len : 0;
	tail = p->len - start - old_len;
	new_len = start + block_len + tail;
	if (new_len > p->capacity) {
		return -1;
	}
	if (block_len != old_len) {
		memmove(p->data + start + block_len, p->data + start + old_len,
		    tail);
	}
	memcpy(p->data + start, block, block_len);
	if (block_len > 0) {
		p->data[0] |= 0x10;
	} else {
		p->data[0] &= (uint8_t)~0x10;
	}

	/*
	 * The header, padding and block are valid by construction, so this
	 * cannot fail; it refreshes every offset in the view.
	 */
	return sfu_rtp_packet_parse(p, p->data, new_len, p->capacity);
}

size_t
sfu_rtp_packet_list_extensions(const struct sfu_rtp_packet *p,
    struct sfu_rtp_packet_ext_value *exts, size_t max)
{
	uint8_t seen[32];
	const struct sfu_rtp_packet_ext *e = NULL;
	size_t n = 0;
	unsigned i = 0;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < p->ext_count && n < max; i++) {
		e = &p->ext[i];
		if (seen[e->id >> 3] & (1u << (e->id & 7))) {
			continue;
		}
		seen[e->id >> 3] |= (uint8_t)(1u << (e->id & 7));
		exts[n].id = e->id;
		exts[n].len = e->len;
		exts[n].value = p->data + e->off;
		n++;
	}
	return n;
}

/* --- building --- */

size_t
sfu_rtp_packet_write_header(
    uint8_t *buf, size_t capacity, const struct sfu_rtp_packet_spec *spec)
{
	size_t hlen = 0;
	size_t block_len = 0;
	unsigned i = 0;

	if (spec->payload_type > 127 ||
	    spec->csrc_count > SFU_RTP_PACKET_MAX_CSRC ||
	    (spec->csrc_count > 0 && spec->csrcs == NULL)) {
		return 0;
	}
	hlen = SFU_RTP_PACKET_HEADER_LEN + 4 * (size_t)spec->csrc_count;
	if (hlen > capacity) {
		return 0;
	}
	if (rtp_packet_build_ext_block(buf + hlen, capacity - hlen, spec->exts,
	        spec->ext_count, spec->two_byte, &block_len) == -1) {
		return 0;
	}
	buf[0] = (uint8_t)(0x80 | (spec->padding_len > 0 ? 0x20 : 0) |
	                   (block_len > 0 ? 0x10 : 0) | spec->csrc_count);
	buf[1] = (uint8_t)((spec->marker ? 0x80 : 0) | spec->payload_type);
	rtp_packet_wr16(buf + 2, spec->sequence_number);
	rtp_packet_wr32(buf + 4, spec->timestamp);
	rtp_packet_wr32(buf + 8, spec->ssrc);
	for (i = 0; i < spec->csrc_count; i++) {
		rtp_packet_wr32(
		    buf + SFU_RTP_PACKET_HEADER_LEN + 4 * i, spec->csrcs[i]);
	}
	return hlen + block_len;
}

size_t
sfu_rtp_packet_write(
    uint8_t *buf, size_t capacity, const struct sfu_rtp_packet_spec *spec)
{
	size_t hlen = 0;

	if (spec->payload_len > 0 && spec->payload == NULL) {
		return 0;
	}
	hlen = sfu_rtp_packet_write_header(buf, capacity, spec);
	if (hlen == 0 || spec->payload_len > capacity - hlen ||
	    spec->padding_len > capacity - hlen - spec->payload_len) {
		return 0;
	}
	if (spec->payload_len > 0) {
		memcpy(buf + hlen, spec->payload, spec->payload_len);
	}
	if (spec->padding_len > 0) {
		memset(buf + hlen + spec->payload_len, 0,
		    (size_t)spec->padding_len - 1);
		buf[hlen + spec->payload_len + spec->padding_len - 1] =
		    spec->padding_len;
	}
	return hlen + spec->payload_len + spec->padding_len;
}
