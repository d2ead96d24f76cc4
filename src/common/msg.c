/*
 * SPDX-License-Identifier: MIT
 *
 * MessagePack decoding, request envelopes, typed getters and builders.
 * Decoding first walks the bytes without allocating (msg_scan) so a header
 * that claims four billion elements is refused before msgpack-c would try
 * to allocate room for them.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/msg.h"

/* --- byte-level scanning --- */

struct msg_cursor {
	const uint8_t	*p;
	size_t		 left;
};

static int
msg_take(struct msg_cursor *c, size_t n, const uint8_t **out)
{
	if (c->left < n) {
		return -1;
	}
	if (out != NULL) {
		*out = c->p;
	}
	c->p += n;
	c->left -= n;
	return 0;
}

static uint64_t
msg_be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i = 0;

	for (i = 0; i < n; i++) {
		v = v << 8 | p[i];
	}
	return v;
}

/*
 * Reads one item header. For containers *children is the number of items
 * that follow it (a map's keys and values both count); for everything else
 * the payload is skipped. Returns -1 on truncation or a reserved byte.
 */
static int
msg_item(struct msg_cursor *c, uint64_t *children)
{
	const uint8_t *b = NULL;
	const uint8_t *q = NULL;
	uint8_t t = 0;
	uint64_t n = 0;

	*children = 0;
	if (msg_take(c, 1, &b) == -1) {
		return -1;
	}
	t = *b;
	if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) {
		return 0;
	}
	if ((t & 0xe0) == 0xa0) {
		return msg_take(c, t & 0x1f, NULL);
	}
	if ((t & 0xf0) == 0x90) {
		*children = t & 0x0f;
		return 0;
	}
	if ((t & 0xf0) == 0x80) {
		*children = (uint64_t)(t & 0x0f) * 2;
		return 0;
	}
	switch (t) {
	case 0xcc: case 0xd0:
		return msg_take(c, 1, NULL);
	case 0xcd: case 0xd1:
		return msg_take(c, 2, NULL);
	case 0xce: case 0xd2: case 0xca:
		return msg_take(c, 4, NULL);
	case 0xcf: case 0xd3: case 0xcb:
		return msg_take(c, 8, NULL);
	case 0xd4:
		return msg_take(c, 2, NULL);
	case 0xd5:
		return msg_take(c, 3, NULL);
	case 0xd6:
		return msg_take(c, 5, NULL);
	case 0xd7:
		return msg_take(c, 9, NULL);
	case 0xd8:
		return msg_take(c, 17, NULL);
	case 0xc4: case 0xd9: case 0xc7:
		if (msg_take(c, 1, &q) == -1) {
			return -1;
		}
		return msg_take(c, *q + (t == 0xc7 ? 1 : 0), NULL);
	case 0xc5: case 0xda: case 0xc8:
		if (msg_take(c, 2, &q) == -1) {
			return -1;
		}
		return msg_take(c, msg_be(q, 2) + (t == 0xc8 ? 1 : 0), NULL);
	case 0xc6: case 0xdb: case 0xc9:
		if (msg_take(c, 4, &q) == -1) {
			return -1;
		}
		return msg_take(c, msg_be(q, 4) + (t == 0xc9 ? 1 : 0), NULL);
	case 0xdc: case 0xde:
		if (msg_take(c, 2, &q) == -1) {
			return -1;
		}
		n = msg_be(q, 2);
		*children = t == 0xde ? n * 2 : n;
		return 0;
	case 0xdd: case 0xdf:
		if (msg_take(c, 4, &q) == -1) {
			return -1;
		}
		n = msg_be(q, 4);
		*children = t == 0xdf ? n * 2 : n;
		return 0;
	default:
		return -1; /* 0xc1, never used */
	}
}

/*
 * Walks one complete item without recursion. Every item takes at least one
 * byte, so a count larger than the bytes left is refused at once. Returns
 * 0, -1 when malformed, -2 when over SFU_MSG_MAX_ITEMS.
 */
static int
msg_scan(const uint8_t *data, size_t len, size_t *used)
{
	struct msg_cursor c = { data, len };
	uint64_t pending = 1;
	uint64_t children = 0;
	uint64_t items = 0;

	while (pending > 0) {
		if (++items > SFU_MSG_MAX_ITEMS) {
			return -2;
		}
		if (msg_item(&c, &children) == -1) {
			return -1;
		}
		pending--;
		if (children > c.left || pending + children > c.left) {
			return -1;
		}
		pending += children;
	}
	*used = len - c.left;
	return 0;
}

int
sfu_msg_decode(struct sfu_msg *m, const uint8_t *data, size_t len,
    struct sfu_error *err)
{
	size_t used = 0;
	size_t off = 0;
	msgpack_unpack_return ret;
	int r = 0;

	msgpack_unpacked_init(&m->unpacked);
	m->root = NULL;
	r = len == 0 ? -1 : msg_scan(data, len, &used);
	if (r == -2) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "message has more than %u elements", SFU_MSG_MAX_ITEMS);
		return -1;
	}
	if (r == -1) {
		sfu_error_set(err, SFU_ERR_TYPE, "invalid MessagePack");
		return -1;
	}
	if (used != len) {
		sfu_error_set(err, SFU_ERR_TYPE, "trailing bytes after message");
		return -1;
	}
	ret = msgpack_unpack_next(&m->unpacked, (const char *)data, len, &off);
	if (ret == MSGPACK_UNPACK_NOMEM_ERROR) {
		sfu_error_set(err, SFU_ERR_TYPE, "message nested too deep");
		return -1;
	}
	if (ret != MSGPACK_UNPACK_SUCCESS) {
		sfu_error_set(err, SFU_ERR_TYPE, "invalid MessagePack");
		return -1;
	}
	if (m->unpacked.data.type != MSGPACK_OBJECT_MAP) {
		sfu_error_set(err, SFU_ERR_TYPE, "message is not a map");
		return -1;
	}
	m->root = &m->unpacked.data;
	return 0;
}

void
sfu_msg_release(struct sfu_msg *m)
{
	msgpack_unpacked_destroy(&m->unpacked);
	m->root = NULL;
}

bool
sfu_msg_peek_id(const uint8_t *data, size_t len, uint32_t *id)
{
	struct msg_cursor c = { data, len };
	const uint8_t *b = NULL;
	const uint8_t *k = NULL;
	uint64_t pairs = 0;
	uint64_t children = 0;
	uint64_t i = 0;
	size_t klen = 0;
	uint8_t t = 0;

	if (msg_take(&c, 1, &b) == -1) {
		return false;
	}
	t = *b;
	if ((t & 0xf0) == 0x80) {
		pairs = t & 0x0f;
	} else if (t == 0xde && msg_take(&c, 2, &k) == 0) {
		pairs = msg_be(k, 2);
	} else if (t == 0xdf && msg_take(&c, 4, &k) == 0) {
		pairs = msg_be(k, 4);
	} else {
		return false;
	}
	for (i = 0; i < pairs; i++) {
		if (msg_take(&c, 1, &b) == -1) {
			return false;
		}
		t = *b;
		if ((t & 0xe0) == 0xa0) {
			klen = t & 0x1f;
		} else if (t == 0xd9 && msg_take(&c, 1, &k) == 0) {
			klen = *k;
		} else {
			return false; /* not a short string key: give up */
		}
		if (msg_take(&c, klen, &k) == -1) {
			return false;
		}
		if (klen == 2 && memcmp(k, "id", 2) == 0) {
			if (c.left < 1) {
				return false;
			}
			t = c.p[0];
			if (t <= 0x7f) {
				*id = t;
				return true;
			}
			if (t >= 0xcc && t <= 0xce &&
			    c.left >= 1 + (1u << (t - 0xcc))) {
				*id = (uint32_t)msg_be(c.p + 1, 1u << (t - 0xcc));
				return true;
			}
			return false;
		}
		if (msg_item(&c, &children) == -1 || children != 0) {
			return false;
		}
	}
	return false;
}

/* --- typed field access --- */

const msgpack_object *
sfu_msg_map_get(const msgpack_object *map, const char *key)
{
	size_t klen = strlen(key);
	uint32_t i = 0;
	const msgpack_object_kv *kv = NULL;

	if (map == NULL || map->type != MSGPACK_OBJECT_MAP) {
		return NULL;
	}
	for (i = 0; i < map->via.map.size; i++) {
		kv = &map->via.map.ptr[i];
		if (kv->key.type == MSGPACK_OBJECT_STR &&
		    kv->key.via.str.size == klen &&
		    memcmp(kv->key.via.str.ptr, key, klen) == 0) {
			return &kv->val;
		}
	}
	return NULL;
}

bool
sfu_msg_str_eq(const msgpack_object *o, const char *s)
{
	size_t n = strlen(s);

	return o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == n && memcmp(o->via.str.ptr, s, n) == 0;
}

const char *
sfu_msg_path(char *buf, size_t size, const char *parent, const char *key)
{
	if (parent == NULL || parent[0] == '\0') {
		snprintf(buf, size, "%s", key);
	} else {
		snprintf(buf, size, "%s.%s", parent, key);
	}
	return buf;
}

const char *
sfu_msg_path_index(char *buf, size_t size, const char *parent, size_t index)
{
	snprintf(buf, size, "%s[%zu]", parent == NULL ? "" : parent, index);
	return buf;
}

/* Looks up the field; returns 1 found, 0 absent-and-optional, -1 error. */
static int
msg_field(const msgpack_object *map, const char *path, const char *key,
    int flags, const msgpack_object **out, struct sfu_error *err)
{
	char full[SFU_MSG_PATH_MAX];
	const msgpack_object *o = NULL;

	o = sfu_msg_map_get(map, key);
	if (o == NULL || o->type == MSGPACK_OBJECT_NIL) {
		if (flags & SFU_MSG_OPTIONAL) {
			return 0;
		}
		sfu_error_set(err, SFU_ERR_TYPE, "%s: missing",
		    sfu_msg_path(full, sizeof(full), path, key));
		return -1;
	}
	*out = o;
	return 1;
}

static int
msg_expected(const char *path, const char *key, const char *what,
    struct sfu_error *err)
{
	char full[SFU_MSG_PATH_MAX];

	sfu_error_set(err, SFU_ERR_TYPE, "%s: expected %s",
	    sfu_msg_path(full, sizeof(full), path, key), what);
	return -1;
}

bool
sfu_msg_utf8_valid(const uint8_t *p, size_t len)
{
	size_t i = 0;
	size_t n = 0;
	size_t k = 0;
	uint32_t cp = 0;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			n = 1;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			n = 2;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			n = 3;
			cp = p[i] & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n) {
			return false;
		}
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80) {
				return false;
			}
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff)) {
			return false;
		}
		i += n + 1;
	}
	return true;
}

int
sfu_msg_get_str(const msgpack_object *map, const char *path, const char *key,
    int flags, const char **out, size_t *len, struct sfu_error *err)
{
	const msgpack_object *o = NULL;
	int r = 0;

	r = msg_field(map, path, key, flags, &o, err);
	if (r != 1) {
		return r;
	}
	if (o->type != MSGPACK_OBJECT_STR) {
		return msg_expected(path, key, "string", err);
	}
	if (!sfu_msg_utf8_valid((const uint8_t *)o->via.str.ptr, o->via.str.size)) {
		return msg_expected(path, key, "UTF-8 string", err);
	}
	*out = o->via.str.ptr;
	if (len != NULL) {
		*len = o->via.str.size;
	}
	return 1;
}

int
sfu_msg_get_strbuf(const msgpack_object *map, const char *path,
    const char *key, int flags, char *buf, size_t size, struct sfu_error *err)
{
	char what[64];
	const char *s = NULL;
	size_t len = 0;
	int r = 0;

	r = sfu_msg_get_str(map, path, key, flags, &s, &len, err);
	if (r != 1) {
		return r;
	}
	if (len >= size || memchr(s, '\0', len) != NULL) {
		snprintf(what, sizeof(what), "string of at most %zu bytes",
		    size - 1);
		return msg_expected(path, key, what, err);
	}
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 1;
}

int
sfu_msg_get_bool(const msgpack_object *map, const char *path,
    const char *key, int flags, bool *out, struct sfu_error *err)
{
	const msgpack_object *o = NULL;
	int r = 0;

	r = msg_field(map, path, key, flags, &o, err);
	if (r != 1) {
		return r;
	}
	if (o->type != MSGPACK_OBJECT_BOOLEAN) {
		return msg_expected(path, key, "boolean", err);
	}
	*out = o->via.boolean;
	return 1;
}

int
sfu_msg_get_uint(const msgpack_object *map, const char *path,
    const char *key, int flags, uint64_t max, uint64_t *out,
    struct sfu_error *err)
{
	char what[64];
	const msgpack_object *o = NULL;
	int r = 0;

	r = msg_field(map, path, key, flags, &o, err);
	if (r != 1) {
		return r;
	}
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    o->via.u64 > max) {
		if (max == UINT8_MAX || max == UINT16_MAX ||
		    max == UINT32_MAX || max == UINT64_MAX) {
			snprintf(what, sizeof(what), "uint%d",
			    max == UINT8_MAX ? 8 : max == UINT16_MAX ? 16 :
			    max == UINT32_MAX ? 32 : 64);
		} else {
			snprintf(what, sizeof(what),
			    "integer from 0 to %" PRIu64, max);
		}
		return msg_expected(path, key, what, err);
	}
	*out = o->via.u64;
	return 1;
}

int
sfu_msg_get_int(const msgpack_object *map, const char *path, const char *key,
    int flags, int64_t min, int64_t max, int64_t *out, struct sfu_error *err)
{
	char what[80];
	const msgpack_object *o = NULL;
	int64_t v = 0;
	int r = 0;

	r = msg_field(map, path, key, flags, &o, err);
	if (r != 1) {
		return r;
	}
	if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    o->via.u64 <= (uint64_t)INT64_MAX) {
		v = (int64_t)o->via.u64;
	} else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		v = o->via.i64;
	} else {
		v = min;
		goto bad;
	}
	if (v < min || v > max) {
		goto bad;
	}
	*out = v;
	return 1;
bad:
	snprintf(what, sizeof(what), "integer from %" PRId64 " to %" PRId64,
	    min, max);
	return msg_expected(path, key, what, err);
}

int
sfu_msg_get_double(const msgpack_object *map, const char *path,
    const char *key, int flags, double *out, struct sfu_error *err)
{
	const msgpack_object *o = NULL;
	int r = 0;

	r = msg_field(map, path, key, flags, &o, err);
	if (r != 1) {
		return r;
	}
	switch (o->type) {
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		*out = o->via.f64;
		return 1;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		*out = (double)o->via.u64;
		return 1;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		*out = (double)o->via.i64;
		return 1;
	default:
		return msg_expected(path, key, "number", err);
	}
}

int
sfu_msg_get_map(const msgpack_object *map, const char *path, const char *key,
    int flags, const msgpack_object **out, struct sfu_error *err)
{
	const msgpack_object *o = NULL;
	int r = 0;

	r = msg_field(map, path, key, flags, &o, err);
	if (r != 1) {
		return r;
	}
	if (o->type != MSGPACK_OBJECT_MAP) {
		return msg_expected(path, key, "map", err);
	}
	*out = o;
	return 1;
}

int
sfu_msg_get_array(const msgpack_object *map, const char *path,
    const char *key, int flags, const msgpack_object **out,
    struct sfu_error *err)
{
	const msgpack_object *o = NULL;
	int r = 0;

	r = msg_field(map, path, key, flags, &o, err);
	if (r != 1) {
		return r;
	}
	if (o->type != MSGPACK_OBJECT_ARRAY) {
		return msg_expected(path, key, "array", err);
	}
	*out = o;
	return 1;
}

/* --- request envelope --- */

int
sfu_msg_parse_request(const msgpack_object *root, struct sfu_msg_request *req,
    struct sfu_error *err)
{
	uint64_t id = 0;

	memset(req, 0, sizeof(*req));
	if (sfu_msg_get_uint(root, NULL, "id", SFU_MSG_REQUIRED, UINT32_MAX,
	    &id, err) != 1) {
		return -1;
	}
	req->has_id = true;
	req->id = (uint32_t)id;
	if (sfu_msg_get_strbuf(root, NULL, "method", SFU_MSG_REQUIRED,
	    req->method, sizeof(req->method), err) != 1) {
		return -1;
	}
	if (req->method[0] == '\0') {
		sfu_error_set(err, SFU_ERR_TYPE, "method: empty");
		return -1;
	}
	switch (sfu_msg_get_strbuf(root, NULL, "handlerId", SFU_MSG_OPTIONAL,
	    req->handler_id, sizeof(req->handler_id), err)) {
	case -1:
		return -1;
	case 1:
		req->has_handler_id = true;
		break;
	default:
		break;
	}
	switch (sfu_msg_get_int(root, NULL, "worker", SFU_MSG_OPTIONAL, 0,
	    INT32_MAX, &req->worker, err)) {
	case -1:
		return -1;
	case 1:
		req->has_worker = true;
		break;
	default:
		break;
	}
	if (sfu_msg_get_map(root, NULL, "data", SFU_MSG_OPTIONAL, &req->data,
	    err) == -1) {
		return -1;
	}
	return 0;
}

/* --- building --- */

void
sfu_msg_builder_init(struct sfu_msg_builder *b)
{
	msgpack_sbuffer_init(&b->sbuf);
	msgpack_packer_init(&b->pk, &b->sbuf, msgpack_sbuffer_write);
}

void
sfu_msg_builder_release(struct sfu_msg_builder *b)
{
	msgpack_sbuffer_destroy(&b->sbuf);
	msgpack_sbuffer_init(&b->sbuf);
}

void
sfu_msg_builder_reset(struct sfu_msg_builder *b)
{
	/* A one-off huge message should not pin its memory forever. */
	if (b->sbuf.alloc > 1024 * 1024) {
		sfu_msg_builder_release(b);
	}
	b->sbuf.size = 0;
}

void
sfu_msg_pack_strn(msgpack_packer *pk, const char *s, size_t len)
{
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

void
sfu_msg_pack_str(msgpack_packer *pk, const char *s)
{
	sfu_msg_pack_strn(pk, s, strlen(s));
}

void
sfu_msg_pack_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
	sfu_msg_pack_str(pk, key);
	sfu_msg_pack_str(pk, val);
}

void
sfu_msg_pack_kv_uint(msgpack_packer *pk, const char *key, uint64_t val)
{
	sfu_msg_pack_str(pk, key);
	msgpack_pack_uint64(pk, val);
}

void
sfu_msg_pack_kv_int(msgpack_packer *pk, const char *key, int64_t val)
{
	sfu_msg_pack_str(pk, key);
	msgpack_pack_int64(pk, val);
}

void
sfu_msg_pack_kv_bool(msgpack_packer *pk, const char *key, bool val)
{
	sfu_msg_pack_str(pk, key);
	if (val) {
		msgpack_pack_true(pk);
	} else {
		msgpack_pack_false(pk);
	}
}

void
sfu_msg_pack_kv_double(msgpack_packer *pk, const char *key, double val)
{
	sfu_msg_pack_str(pk, key);
	msgpack_pack_double(pk, val);
}

msgpack_packer *
sfu_msg_begin_response(struct sfu_msg_builder *b, uint32_t id, bool has_data)
{
	sfu_msg_builder_reset(b);
	msgpack_pack_map(&b->pk, has_data ? 3 : 2);
	sfu_msg_pack_kv_uint(&b->pk, "id", id);
	sfu_msg_pack_kv_bool(&b->pk, "accepted", true);
	if (has_data) {
		sfu_msg_pack_str(&b->pk, "data");
	}
	return &b->pk;
}

void
sfu_msg_build_error(struct sfu_msg_builder *b, uint32_t id,
    enum sfu_error_kind kind, const char *reason)
{
	sfu_msg_builder_reset(b);
	msgpack_pack_map(&b->pk, 3);
	sfu_msg_pack_kv_uint(&b->pk, "id", id);
	sfu_msg_pack_kv_str(&b->pk, "error", sfu_error_kind_name(kind));
	sfu_msg_pack_kv_str(&b->pk, "reason", reason);
}

msgpack_packer *
sfu_msg_begin_notification(struct sfu_msg_builder *b, const char *target_id,
    const char *event, bool has_data)
{
	sfu_msg_builder_reset(b);
	msgpack_pack_map(&b->pk, has_data ? 3 : 2);
	sfu_msg_pack_kv_str(&b->pk, "targetId", target_id);
	sfu_msg_pack_kv_str(&b->pk, "event", event);
	if (has_data) {
		sfu_msg_pack_str(&b->pk, "data");
	}
	return &b->pk;
}

msgpack_packer *
sfu_msg_begin_request(struct sfu_msg_builder *b, uint32_t id,
    const char *method, const char *handler_id, bool has_data)
{
	sfu_msg_builder_reset(b);
	msgpack_pack_map(&b->pk,
	    2 + (handler_id != NULL ? 1 : 0) + (has_data ? 1 : 0));
	sfu_msg_pack_kv_uint(&b->pk, "id", id);
	sfu_msg_pack_kv_str(&b->pk, "method", method);
	if (handler_id != NULL) {
		sfu_msg_pack_kv_str(&b->pk, "handlerId", handler_id);
	}
	if (has_data) {
		sfu_msg_pack_str(&b->pk, "data");
	}
	return &b->pk;
}
