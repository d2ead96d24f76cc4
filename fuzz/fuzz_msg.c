/*
 * SPDX-License-Identifier: MIT
 *
 * libFuzzer target for common/msg: the input is one frame payload. It runs
 * sfu_msg_peek_id, sfu_msg_decode and sfu_msg_parse_request on it (peek
 * and parse must agree on the id), the typed getters on a few "data"
 * fields, and re-encodes what it read with the builders: an error response
 * for a refused message, and for a request the same request (which must
 * parse back to the same envelope), a response carrying the whole message
 * and a notification. Invariants are checked with __builtin_trap(); ASan
 * sees any overread (libFuzzer's buffer is exactly size bytes), LSan any
 * leak.
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <msgpack.h>

#include "common/error.h"
#include "common/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A getter result must be -1, 0 or 1, and an error must name the field. */
static void
fuzz_msg_check(int r, const struct sfu_error *err, const char *path)
{
	if (r < -1 || r > 1) {
		__builtin_trap();
	}
	if (r == -1 && (err->kind != SFU_ERR_TYPE ||
	                   strncmp(err->reason, path, strlen(path)) != 0 ||
	                   err->reason[strlen(path)] != '.')) {
		__builtin_trap();
	}
}

/* Runs the typed getters on a few fields mediasoup requests carry. */
static void
fuzz_msg_getters(const msgpack_object *data)
{
	struct sfu_error err;
	const msgpack_object *li = NULL;
	const msgpack_object *arr = NULL;
	const char *s = NULL;
	char buf[16];
	char path[SFU_MSG_PATH_MAX];
	size_t len = 0;
	uint64_t u = 0;
	int64_t i = 0;
	double d = 0;
	bool b = false;
	uint32_t k = 0;
	int r = 0;

	r = sfu_msg_get_str(
	    data, "data", "transportId", SFU_MSG_OPTIONAL, &s, &len, &err);
	fuzz_msg_check(r, &err, "data");
	if (r == 1 && len > 0 && s == NULL) {
		__builtin_trap();
	}
	r = sfu_msg_get_strbuf(
	    data, "data", "logLevel", SFU_MSG_REQUIRED, buf, sizeof(buf), &err);
	fuzz_msg_check(r, &err, "data");
	if (r == 1 && strlen(buf) >= sizeof(buf)) {
		__builtin_trap();
	}
	r = sfu_msg_get_bool(
	    data, "data", "enableUdp", SFU_MSG_OPTIONAL, &b, &err);
	fuzz_msg_check(r, &err, "data");
	r = sfu_msg_get_uint(
	    data, "data", "ssrc", SFU_MSG_OPTIONAL, UINT32_MAX, &u, &err);
	fuzz_msg_check(r, &err, "data");
	if (r == 1 && u > UINT32_MAX) {
		__builtin_trap();
	}
	r = sfu_msg_get_int(
	    data, "data", "spatialLayer", SFU_MSG_OPTIONAL, -1, 31, &i, &err);
	fuzz_msg_check(r, &err, "data");
	if (r == 1 && (i < -1 || i > 31)) {
		__builtin_trap();
	}
	r = sfu_msg_get_double(
	    data, "data", "priority", SFU_MSG_OPTIONAL, &d, &err);
	fuzz_msg_check(r, &err, "data");
	r = sfu_msg_get_map(
	    data, "data", "listenInfo", SFU_MSG_OPTIONAL, &li, &err);
	fuzz_msg_check(r, &err, "data");
	if (r == 1) {
		r = sfu_msg_get_uint(li, "data.listenInfo", "port",
		    SFU_MSG_REQUIRED, UINT16_MAX, &u, &err);
		fuzz_msg_check(r, &err, "data.listenInfo");
		if (r == 1 && u > UINT16_MAX) {
			__builtin_trap();
		}
	}
	r = sfu_msg_get_array(
	    data, "data", "logTags", SFU_MSG_OPTIONAL, &arr, &err);
	fuzz_msg_check(r, &err, "data");
	if (r == 1) {
		for (k = 0; k < arr->via.array.size && k < 64; k++) {
			sfu_msg_path_index(
			    path, sizeof(path), "data.logTags", k);
			(void)sfu_msg_str_eq(&arr->via.array.ptr[k], "ice");
		}
	}
}

/* Decodes what b built; it must be a map. Returns the decode result. */
static int
fuzz_msg_redecode(
    struct sfu_msg_builder *b, struct sfu_msg *m, struct sfu_error *err)
{
	sfu_error_clear(err);
	return sfu_msg_decode(
	    m, (const uint8_t *)b->sbuf.data, b->sbuf.size, err);
}

/* The message was refused: an error response carrying the reason must
 * decode back to the same reason. */
static void
fuzz_msg_error_reply(
    struct sfu_msg_builder *b, uint32_t id, const struct sfu_error *why)
{
	struct sfu_msg m;
	struct sfu_error err;
	const char *s = NULL;
	size_t len = 0;

	sfu_msg_build_error(b, id, why->kind, why->reason);
	if (fuzz_msg_redecode(b, &m, &err) != 0 ||
	    sfu_msg_get_str(m.root, NULL, "reason", SFU_MSG_REQUIRED, &s, &len,
	        &err) != 1 ||
	    len != strlen(why->reason) || memcmp(s, why->reason, len) != 0) {
		__builtin_trap();
	}
	sfu_msg_release(&m);
}

/* The message is a request: re-encode it and parse it back. */
static void
fuzz_msg_reencode(struct sfu_msg_builder *b, const struct sfu_msg *orig,
    const struct sfu_msg_request *req)
{
	struct sfu_msg m;
	struct sfu_msg_request req2;
	struct sfu_error err;
	msgpack_packer *pk = NULL;

	pk = sfu_msg_begin_request(b, req->id, req->method,
	    req->has_handler_id ? req->handler_id : NULL, req->data != NULL);
	if (req->data != NULL) {
		msgpack_pack_object(pk, *req->data);
	}
	if (fuzz_msg_redecode(b, &m, &err) != 0 ||
	    sfu_msg_parse_request(m.root, &req2, &err) != 0 ||
	    req2.id != req->id || strcmp(req2.method, req->method) != 0 ||
	    req2.has_handler_id != req->has_handler_id ||
	    strcmp(req2.handler_id, req->handler_id) != 0 || req2.has_worker ||
	    (req2.data == NULL) != (req->data == NULL)) {
		__builtin_trap();
	}
	sfu_msg_release(&m);

	/* The whole message as response data: one level deeper, so only
	 * "nested too deep" may refuse it. */
	pk = sfu_msg_begin_response(b, req->id, true);
	msgpack_pack_object(pk, *orig->root);
	if (fuzz_msg_redecode(b, &m, &err) != 0 &&
	    strcmp(err.reason, "message nested too deep") != 0) {
		__builtin_trap();
	}
	sfu_msg_release(&m);

	sfu_msg_begin_notification(
	    b, req->has_handler_id ? req->handler_id : "", req->method, false);
	if (fuzz_msg_redecode(b, &m, &err) != 0 ||
	    !sfu_msg_str_eq(sfu_msg_map_get(m.root, "event"), req->method)) {
		__builtin_trap();
	}
	sfu_msg_release(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sfu_msg_builder b;
	struct sfu_msg m;
	struct sfu_msg_request req;
	struct sfu_error err;
	uint32_t peek_id = 0;
	bool peeked = false;

	peeked = sfu_msg_peek_id(data, size, &peek_id);
	sfu_msg_builder_init(&b);
	sfu_error_clear(&err);
	if (sfu_msg_decode(&m, data, size, &err) != 0) {
		if (err.kind != SFU_ERR_TYPE || m.root != NULL) {
			__builtin_trap();
		}
		fuzz_msg_error_reply(&b, peeked ? peek_id : 0, &err);
		goto out;
	}
	if (m.root == NULL || m.root->type != MSGPACK_OBJECT_MAP) {
		__builtin_trap();
	}
	if (sfu_msg_parse_request(m.root, &req, &err) != 0) {
		if (err.kind != SFU_ERR_TYPE || err.reason[0] == '\0' ||
		    (req.has_id && peeked && req.id != peek_id)) {
			__builtin_trap();
		}
		fuzz_msg_error_reply(&b, req.has_id ? req.id : 0, &err);
		goto out;
	}
	if (!req.has_id || req.method[0] == '\0' ||
	    (peeked && req.id != peek_id)) {
		__builtin_trap();
	}
	fuzz_msg_getters(req.data);
	fuzz_msg_reencode(&b, &m, &req);
out:
	sfu_msg_release(&m);
	sfu_msg_builder_release(&b);
	return 0;
}
