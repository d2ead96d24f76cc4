/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for common/msg: decoding one MessagePack map (and refusing
 * everything else without allocating for claimed sizes), the request
 * envelope and its field-naming errors, sfu_msg_peek_id on whole and
 * truncated input, every typed getter with its exact error text, the path
 * helpers, and the builders decoded back field by field.
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <msgpack.h>

#include "common/error.h"
#include "common/msg.h"
#include "helpers.h"

/* --- helpers --- */

static int
decode_sbuf(struct sfu_msg *m, const msgpack_sbuffer *sb, struct sfu_error *err)
{
	return sfu_msg_decode(m, (const uint8_t *)sb->data, sb->size, err);
}

/* Decoding data must fail with exactly reason. */
static void
expect_decode_error(const void *data, size_t len, const char *reason)
{
	struct sfu_msg m;
	struct sfu_error err;

	sfu_error_clear(&err);
	assert_int_equal(sfu_msg_decode(&m, data, len, &err), -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(err.reason, reason);
	assert_null(m.root);
	sfu_msg_release(&m);
}

/* sb must decode and fail to parse as a request with exactly reason;
 * has_id/id are what the envelope could still read. Destroys sb. */
static void
expect_request_error(
    msgpack_sbuffer *sb, const char *reason, bool has_id, uint32_t id)
{
	struct sfu_msg m;
	struct sfu_msg_request req;
	struct sfu_error err;

	sfu_error_clear(&err);
	assert_int_equal(decode_sbuf(&m, sb, &err), 0);
	assert_int_equal(sfu_msg_parse_request(m.root, &req, &err), -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(err.reason, reason);
	assert_int_equal(req.has_id, has_id);
	if (has_id) {
		assert_int_equal(req.id, id);
	}
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(sb);
}

static char *
repeat_char(char c, size_t n)
{
	char *s = NULL;

	s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* --- decoding --- */

/* Proves a valid request map decodes and root is that map. */
static void
test_msg_decode_valid_map(void **state)
{
	msgpack_sbuffer sb;
	struct sfu_msg m;
	struct sfu_error err;
	const msgpack_object *data = NULL;

	(void)state;
	helpers_pack_sbuf(&sb, "{s:u, s:s, s:{s:[u,u]}}", "id", 1u, "method",
	    "worker.dump", "data", "a", 1u, 2u);
	sfu_error_clear(&err);
	assert_int_equal(decode_sbuf(&m, &sb, &err), 0);
	assert_int_equal(err.kind, SFU_ERR_NONE);
	assert_non_null(m.root);
	assert_int_equal(m.root->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(m.root->via.map.size, 3);
	assert_true(
	    sfu_msg_str_eq(sfu_msg_map_get(m.root, "method"), "worker.dump"));
	data = sfu_msg_map_get(m.root, "data");
	assert_non_null(data);
	assert_int_equal(sfu_msg_map_get(data, "a")->via.array.size, 2);
	sfu_msg_release(&m);
	assert_null(m.root);
	msgpack_sbuffer_destroy(&sb);
}

/* Proves a map holding every MessagePack type and every length width
 * (str8/16/32, bin, ext, fixext, array16/32, map16/32) decodes. */
static void
test_msg_decode_all_types(void **state)
{
	static const uint8_t ext8[] = {0xc7, 0x03, 0x01, 'a', 'b', 'c'};
	static const uint8_t ext16[] = {0xc8, 0x00, 0x01, 0x02, 'z'};
	static const uint8_t ext32[] = {
	    0xc9, 0x00, 0x00, 0x00, 0x01, 0x05, 'q'};
	static const uint8_t fixext[] = {0x95, 0xd4, 1, 0, 0xd5, 1, 0, 0, 0xd6,
	    1, 0, 0, 0, 0, 0xd7, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xd8, 1, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t str16[] = {0xda, 0x00, 0x02, 'h', 'i'};
	static const uint8_t str32[] = {0xdb, 0x00, 0x00, 0x00, 0x02, 'h', 'i'};
	static const uint8_t bin16[] = {0xc5, 0x00, 0x01, 0xff};
	static const uint8_t bin32[] = {0xc6, 0x00, 0x00, 0x00, 0x01, 0xff};
	static const uint8_t arr16[] = {0xdc, 0x00, 0x02, 0x01, 0x02};
	static const uint8_t arr32[] = {0xdd, 0x00, 0x00, 0x00, 0x01, 0xc0};
	static const uint8_t map16[] = {0xde, 0x00, 0x01, 0xa1, 'k', 0xc3};
	static const uint8_t map32[] = {
	    0xdf, 0x00, 0x00, 0x00, 0x01, 0xa1, 'k', 0xc2};
	static const uint8_t top_map32[] = {
	    0xdf, 0x00, 0x00, 0x00, 0x01, 0xa2, 'i', 'd', 0x05};
	char *s40 = repeat_char('e', 40);
	char *s300 = repeat_char('s', 300);
	msgpack_sbuffer sb;
	struct sfu_msg m;
	struct sfu_error err;
	const msgpack_object *o = NULL;

	(void)state;
	helpers_pack_sbuf(&sb,
	    "{s:n, s:t, s:f, s:u, s:U, s:U, s:U, s:I, s:I, s:I, s:I, s:I,"
	    " s:F, s:d, s:s, s:s, s:x, s:r, s:r, s:r, s:r, s:r, s:r,"
	    " s:r, s:r, s:r, s:r, s:r, s:r}",
	    "nil", "t", "f", "fix", 5u, "u8", (uint64_t)200, "u16",
	    (uint64_t)60000, "u64", UINT64_MAX, "nfix", (int64_t)-3, "i8",
	    (int64_t)-100, "i16", (int64_t)-30000, "i32", (int64_t)-2000000,
	    "i64", INT64_MIN, "f32", 2.5, "f64", 1.25, "str8", s40, "s300",
	    s300, "bin", "\x01\x02", (size_t)2, "ext8", ext8, sizeof(ext8),
	    "ext16", ext16, sizeof(ext16), "ext32", ext32, sizeof(ext32),
	    "fixext", fixext, sizeof(fixext), "str16", str16, sizeof(str16),
	    "str32", str32, sizeof(str32), "bin16", bin16, sizeof(bin16),
	    "bin32", bin32, sizeof(bin32), "arr16", arr16, sizeof(arr16),
	    "arr32", arr32, sizeof(arr32), "map16", map16, sizeof(map16),
	    "map32", map32, sizeof(map32));
	sfu_error_clear(&err);
	assert_int_equal(decode_sbuf(&m, &sb, &err), 0);
	assert_int_equal(m.root->via.map.size, 29);
	o = sfu_msg_map_get(m.root, "fixext");
	assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(o->via.array.size, 5);
	o = sfu_msg_map_get(m.root, "s300");
	assert_int_equal(o->via.str.size, 300);
	assert_true(sfu_msg_str_eq(sfu_msg_map_get(m.root, "str32"), "hi"));
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);
	free(s40);
	free(s300);

	assert_int_equal(
	    sfu_msg_decode(&m, top_map32, sizeof(top_map32), &err), 0);
	assert_int_equal(sfu_msg_map_get(m.root, "id")->via.u64, 5);
	sfu_msg_release(&m);
}

/* Proves bytes that are not MessagePack (reserved 0xc1, truncation,
 * empty input) are refused as "invalid MessagePack". */
static void
test_msg_decode_rejects_invalid_bytes(void **state)
{
	static const uint8_t reserved[] = {0xc1};
	static const uint8_t reserved_in_map[] = {0x81, 0xa1, 'a', 0xc1};
	static const uint8_t truncated_map[] = {0x82, 0xa2, 'i', 'd', 0x01};
	static const uint8_t truncated_str[] = {0x81, 0xa1, 'a', 0xa5, 'x'};
	static const uint8_t truncated_u32[] = {0x81, 0xa1, 'a', 0xce, 0x00};
	static const uint8_t truncated_str8[] = {0x81, 0xa1, 'a', 0xd9};
	static const uint8_t truncated_hdr[] = {0xde, 0x00};

	(void)state;
	expect_decode_error(reserved, sizeof(reserved), "invalid MessagePack");
	expect_decode_error(
	    reserved_in_map, sizeof(reserved_in_map), "invalid MessagePack");
	expect_decode_error(
	    truncated_map, sizeof(truncated_map), "invalid MessagePack");
	expect_decode_error(
	    truncated_str, sizeof(truncated_str), "invalid MessagePack");
	expect_decode_error(
	    truncated_u32, sizeof(truncated_u32), "invalid MessagePack");
	expect_decode_error(
	    truncated_str8, sizeof(truncated_str8), "invalid MessagePack");
	expect_decode_error(
	    truncated_hdr, sizeof(truncated_hdr), "invalid MessagePack");
	expect_decode_error("", 0, "invalid MessagePack");
}

/* Proves bytes after one complete map are refused. */
static void
test_msg_decode_rejects_trailing_bytes(void **state)
{
	static const uint8_t one_extra[] = {0x80, 0x00};
	static const uint8_t two_maps[] = {0x81, 0xa1, 'a', 0x01, 0x80};

	(void)state;
	expect_decode_error(
	    one_extra, sizeof(one_extra), "trailing bytes after message");
	expect_decode_error(
	    two_maps, sizeof(two_maps), "trailing bytes after message");
}

/* Proves a top level that is not a map (array, ints, string, nil, bool,
 * float, bin) is refused as "message is not a map". */
static void
test_msg_decode_rejects_non_map(void **state)
{
	static const uint8_t array[] = {0x92, 0x01, 0x02};
	static const uint8_t fixint[] = {0x05};
	static const uint8_t uint32[] = {0xce, 1, 2, 3, 4};
	static const uint8_t negint[] = {0xff};
	static const uint8_t str[] = {0xa3, 'a', 'b', 'c'};
	static const uint8_t nil[] = {0xc0};
	static const uint8_t boolean[] = {0xc3};
	static const uint8_t f64[] = {0xcb, 0, 0, 0, 0, 0, 0, 0, 0};
	static const uint8_t bin[] = {0xc4, 0x01, 0x00};

	(void)state;
	expect_decode_error(array, sizeof(array), "message is not a map");
	expect_decode_error(fixint, sizeof(fixint), "message is not a map");
	expect_decode_error(uint32, sizeof(uint32), "message is not a map");
	expect_decode_error(negint, sizeof(negint), "message is not a map");
	expect_decode_error(str, sizeof(str), "message is not a map");
	expect_decode_error(nil, sizeof(nil), "message is not a map");
	expect_decode_error(boolean, sizeof(boolean), "message is not a map");
	expect_decode_error(f64, sizeof(f64), "message is not a map");
	expect_decode_error(bin, sizeof(bin), "message is not a map");
}

/* Proves headers claiming ~4 billion elements or bytes are refused as
 * invalid before msgpack-c would allocate for them (under ASan such an
 * allocation would abort the test). */
static void
test_msg_decode_refuses_huge_counts(void **state)
{
	static const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t map16[] = {0xde, 0xff, 0xff, 0xa1, 'a', 0x01};
	static const uint8_t str32[] = {
	    0x81, 0xa1, 'a', 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'};
	static const uint8_t bin32[] = {
	    0x81, 0xa1, 'a', 0xc6, 0xff, 0xff, 0xff, 0xff, 'x'};
	static const uint8_t ext32[] = {
	    0x81, 0xa1, 'a', 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 'x'};
	static const uint8_t nested[] = {
	    0x81, 0xa1, 'a', 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02};
	static const uint8_t map_in_map[] = {
	    0x81, 0xa1, 'a', 0xdf, 0x80, 0x00, 0x00, 0x00};

	(void)state;
	expect_decode_error(arr32, sizeof(arr32), "invalid MessagePack");
	expect_decode_error(map32, sizeof(map32), "invalid MessagePack");
	expect_decode_error(map16, sizeof(map16), "invalid MessagePack");
	expect_decode_error(str32, sizeof(str32), "invalid MessagePack");
	expect_decode_error(bin32, sizeof(bin32), "invalid MessagePack");
	expect_decode_error(ext32, sizeof(ext32), "invalid MessagePack");
	expect_decode_error(nested, sizeof(nested), "invalid MessagePack");
	expect_decode_error(
	    map_in_map, sizeof(map_in_map), "invalid MessagePack");
}

/* Builds a map whose value is nested so that depth containers are open at
 * the innermost (empty) array, the map included. */
static uint8_t *
nested_new(size_t depth, size_t *len)
{
	uint8_t *p = NULL;
	size_t i = 0;

	*len = 3 + (depth - 2) + 1;
	p = malloc(*len);
	assert_non_null(p);
	p[0] = 0x81;
	p[1] = 0xa1;
	p[2] = 'a';
	for (i = 0; i < depth - 2; i++) {
		p[3 + i] = 0x91;
	}
	p[*len - 1] = 0x90;
	return p;
}

/* Proves nesting up to SFU_MSG_MAX_DEPTH containers decodes, one more is
 * refused as "message nested too deep", and very deep input (100000
 * levels) is refused without crashing. */
static void
test_msg_decode_depth_limit(void **state)
{
	struct sfu_msg m;
	struct sfu_error err;
	uint8_t *p = NULL;
	size_t len = 0;

	(void)state;
	p = nested_new(SFU_MSG_MAX_DEPTH, &len);
	sfu_error_clear(&err);
	assert_int_equal(sfu_msg_decode(&m, p, len, &err), 0);
	sfu_msg_release(&m);
	free(p);

	p = nested_new(SFU_MSG_MAX_DEPTH + 1, &len);
	expect_decode_error(p, len, "message nested too deep");
	free(p);

	p = nested_new(100000, &len);
	expect_decode_error(p, len, "message nested too deep");
	free(p);
}

/* Proves a decode error with a NULL err is still -1 and releasable. */
static void
test_msg_decode_null_err(void **state)
{
	static const uint8_t bad[] = {0xc1};
	static const uint8_t ok[] = {0x80};
	struct sfu_msg m;

	(void)state;
	assert_int_equal(sfu_msg_decode(&m, bad, sizeof(bad), NULL), -1);
	sfu_msg_release(&m);
	assert_int_equal(sfu_msg_decode(&m, ok, sizeof(ok), NULL), 0);
	assert_int_equal(m.root->via.map.size, 0);
	sfu_msg_release(&m);
}

/* --- request envelope --- */

/* Proves the smallest request parses: id and method, nothing else. */
static void
test_msg_parse_request_minimal(void **state)
{
	msgpack_sbuffer sb;
	struct sfu_msg m;
	struct sfu_msg_request req;
	struct sfu_error err;

	(void)state;
	helpers_pack_sbuf(&sb, "{s:u, s:s}", "id", 1u, "method", "worker.dump");
	assert_int_equal(decode_sbuf(&m, &sb, &err), 0);
	memset(&req, 0xa5, sizeof(req));
	assert_int_equal(sfu_msg_parse_request(m.root, &req, &err), 0);
	assert_true(req.has_id);
	assert_int_equal(req.id, 1);
	assert_string_equal(req.method, "worker.dump");
	assert_false(req.has_handler_id);
	assert_false(req.has_worker);
	assert_null(req.data);
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);
}

/* Proves every envelope field is read: max uint32 id, handlerId, worker
 * and data pointing at the map inside the message; nil optional fields
 * count as absent. */
static void
test_msg_parse_request_full(void **state)
{
	msgpack_sbuffer sb;
	struct sfu_msg m;
	struct sfu_msg_request req;
	struct sfu_error err;

	(void)state;
	helpers_pack_sbuf(&sb, "{s:U, s:s, s:s, s:i, s:{s:s}}", "id",
	    (uint64_t)UINT32_MAX, "method", "router.dump", "handlerId", "r-1",
	    "worker", 3, "data", "k", "v");
	assert_int_equal(decode_sbuf(&m, &sb, &err), 0);
	assert_int_equal(sfu_msg_parse_request(m.root, &req, &err), 0);
	assert_true(req.has_id);
	assert_int_equal(req.id, UINT32_MAX);
	assert_string_equal(req.method, "router.dump");
	assert_true(req.has_handler_id);
	assert_string_equal(req.handler_id, "r-1");
	assert_true(req.has_worker);
	assert_int_equal(req.worker, 3);
	assert_ptr_equal(req.data, sfu_msg_map_get(m.root, "data"));
	assert_true(sfu_msg_str_eq(sfu_msg_map_get(req.data, "k"), "v"));
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);

	helpers_pack_sbuf(&sb, "{s:u, s:s, s:n, s:n, s:n}", "id", 0u, "method",
	    "m", "handlerId", "worker", "data");
	assert_int_equal(decode_sbuf(&m, &sb, &err), 0);
	assert_int_equal(sfu_msg_parse_request(m.root, &req, &err), 0);
	assert_int_equal(req.id, 0);
	assert_false(req.has_handler_id);
	assert_false(req.has_worker);
	assert_null(req.data);
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);
}

/* Proves a missing or unreadable id is reported as "id: ..." with has_id
 * false: absent, nil, string, negative, over uint32, float, bool. */
static void
test_msg_parse_request_id_errors(void **state)
{
	msgpack_sbuffer sb;

	(void)state;
	helpers_pack_sbuf(&sb, "{s:s}", "method", "m");
	expect_request_error(&sb, "id: missing", false, 0);
	helpers_pack_sbuf(&sb, "{s:n, s:s}", "id", "method", "m");
	expect_request_error(&sb, "id: missing", false, 0);
	helpers_pack_sbuf(&sb, "{s:s, s:s}", "id", "1", "method", "m");
	expect_request_error(&sb, "id: expected uint32", false, 0);
	helpers_pack_sbuf(&sb, "{s:i, s:s}", "id", -1, "method", "m");
	expect_request_error(&sb, "id: expected uint32", false, 0);
	helpers_pack_sbuf(
	    &sb, "{s:U, s:s}", "id", (uint64_t)UINT32_MAX + 1, "method", "m");
	expect_request_error(&sb, "id: expected uint32", false, 0);
	helpers_pack_sbuf(&sb, "{s:d, s:s}", "id", 1.0, "method", "m");
	expect_request_error(&sb, "id: expected uint32", false, 0);
	helpers_pack_sbuf(&sb, "{s:t, s:s}", "id", "method", "m");
	expect_request_error(&sb, "id: expected uint32", false, 0);
	helpers_pack_sbuf(&sb, "{}");
	expect_request_error(&sb, "id: missing", false, 0);
}

/* Proves method errors (missing, nil, empty, too long, not a string,
 * embedded NUL) name "method" and keep the id readable; 63 bytes fit. */
static void
test_msg_parse_request_method_errors(void **state)
{
	char *m63 = repeat_char('m', SFU_MSG_METHOD_MAX - 1);
	char *m64 = repeat_char('m', SFU_MSG_METHOD_MAX);
	msgpack_sbuffer sb;
	struct sfu_msg m;
	struct sfu_msg_request req;
	struct sfu_error err;

	(void)state;
	helpers_pack_sbuf(&sb, "{s:u}", "id", 7u);
	expect_request_error(&sb, "method: missing", true, 7);
	helpers_pack_sbuf(&sb, "{s:u, s:n}", "id", 7u, "method");
	expect_request_error(&sb, "method: missing", true, 7);
	helpers_pack_sbuf(&sb, "{s:u, s:s}", "id", 8u, "method", "");
	expect_request_error(&sb, "method: empty", true, 8);
	helpers_pack_sbuf(&sb, "{s:u, s:s}", "id", 9u, "method", m64);
	expect_request_error(
	    &sb, "method: expected string of at most 63 bytes", true, 9);
	helpers_pack_sbuf(&sb, "{s:u, s:u}", "id", 10u, "method", 5u);
	expect_request_error(&sb, "method: expected string", true, 10);
	helpers_pack_sbuf(&sb, "{s:u, s:[s]}", "id", 11u, "method", "x");
	expect_request_error(&sb, "method: expected string", true, 11);
	helpers_pack_sbuf(
	    &sb, "{s:u, s:x}", "id", 12u, "method", "abc", (size_t)3);
	expect_request_error(&sb, "method: expected string", true, 12);
	helpers_pack_sbuf(
	    &sb, "{s:u, s:S}", "id", 13u, "method", "a\0b", (size_t)3);
	expect_request_error(
	    &sb, "method: expected string of at most 63 bytes", true, 13);

	helpers_pack_sbuf(&sb, "{s:u, s:s}", "id", 14u, "method", m63);
	assert_int_equal(decode_sbuf(&m, &sb, &err), 0);
	assert_int_equal(sfu_msg_parse_request(m.root, &req, &err), 0);
	assert_string_equal(req.method, m63);
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);
	free(m63);
	free(m64);
}

/* Proves handlerId errors (wrong type, too long) name "handlerId" and keep
 * the id; 127 bytes fit. */
static void
test_msg_parse_request_handler_id_errors(void **state)
{
	char *h127 = repeat_char('h', SFU_MSG_ID_MAX - 1);
	char *h128 = repeat_char('h', SFU_MSG_ID_MAX);
	msgpack_sbuffer sb;
	struct sfu_msg m;
	struct sfu_msg_request req;
	struct sfu_error err;

	(void)state;
	helpers_pack_sbuf(
	    &sb, "{s:u, s:s, s:u}", "id", 20u, "method", "m", "handlerId", 5u);
	expect_request_error(&sb, "handlerId: expected string", true, 20);
	helpers_pack_sbuf(
	    &sb, "{s:u, s:s, s:{}}", "id", 21u, "method", "m", "handlerId");
	expect_request_error(&sb, "handlerId: expected string", true, 21);
	helpers_pack_sbuf(&sb, "{s:u, s:s, s:s}", "id", 22u, "method", "m",
	    "handlerId", h128);
	expect_request_error(
	    &sb, "handlerId: expected string of at most 127 bytes", true, 22);

	helpers_pack_sbuf(&sb, "{s:u, s:s, s:s}", "id", 23u, "method", "m",
	    "handlerId", h127);
	assert_int_equal(decode_sbuf(&m, &sb, &err), 0);
	assert_int_equal(sfu_msg_parse_request(m.root, &req, &err), 0);
	assert_true(req.has_handler_id);
	assert_string_equal(req.handler_id, h127);
	sfu_msg_release(&m);
	msgpack_sbuffer_destroy(&sb);
	free(h127);
	free(h128);
}

/* Proves worker must be an integer from 0 to INT32_MAX, and data a map;
 * the errors name the field and keep the id. */
static void
test_msg_parse_request_worker_and_data_errors(void **state)
{
	msgpack_sbuffer sb;

	(void)state;
	helpers_pack_sbuf(
	    &sb, "{s:u, s:s, s:i}", "id", 30u, "method", "m", "worker", -1);
	expect_request_error(&sb,
	    "worker: expected integer from 0 to "
	    "2147483647",
	    true, 30);
	helpers_pack_sbuf(&sb, "{s:u, s:s, s:U}", "id", 31u, "method", "m",
	    "worker", (uint64_t)INT32_MAX + 1);
	expect_request_error(&sb,
	    "worker: expected integer from 0 to "
	    "2147483647",
	    true, 31);
	helpers_pack_sbuf(
	    &sb, "{s:u, s:s, s:s}", "id", 32u, "method", "m", "worker", "1");
	expect_request_error(&sb,
	    "worker: expected integer from 0 to "
	    "2147483647",
	    true, 32);
	helpers_pack_sbuf(
	    &sb, "{s:u, s:s, s:[]}", "id", 33u, "method", "m", "data");
	expect_request_error(&sb, "data: expected map", true, 33);
	helpers_pack_sbuf(
	    &sb, "{s:u, s:s, s:s}", "id", 34u, "method", "m", "data", "x");
	expect_request_error(&sb, "data: expected map", true, 34);
	helpers_pack_sbuf(
	    &sb, "{s:u, s:s, s:u}", "id", 35u, "method", "m", "data", 1u);
	expect_request_error(&sb, "data: expected map", true, 35);
}

/* --- peek_id --- */

/* Packs {"method":..., "handlerId":..., "id": id, "data": {...}} and sets
 * *end to the offset just past the id's value. */
static void
peek_msg(msgpack_sbuffer *sb, uint32_t id, bool id_first, size_t *end)
{
	msgpack_packer pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	if (id_first) {
		helpers_pack(&pk, "s", "id");
		msgpack_pack_uint32(&pk, id);
		*end = sb->size;
	}
	helpers_pack(&pk, "s", "method");
	helpers_pack(&pk, "s", "worker.createRouter");
	helpers_pack(&pk, "s", "handlerId");
	helpers_pack(&pk, "s", "0123456789abcdef0123456789abcdef012345678");
	if (!id_first) {
		helpers_pack(&pk, "s", "id");
		msgpack_pack_uint32(&pk, id);
		*end = sb->size;
	}
	helpers_pack(&pk, "s", "data");
	helpers_pack(&pk, "{s:[u,u,u]}", "x", 1u, 2u, 3u);
}

/* Proves peek_id reads fixint, uint8, uint16 and uint32 ids, first or
 * after other keys (including a str8 value), from a whole message. */
static void
test_msg_peek_id_full(void **state)
{
	static const uint32_t ids[] = {0, 5, 127, 128, 200, 255, 256, 0x1234,
	    65535, 65536, 0xdeadbeef, UINT32_MAX};
	msgpack_sbuffer sb;
	uint32_t id = 0;
	size_t end = 0;
	size_t i = 0;
	int first = 0;

	(void)state;
	for (first = 0; first < 2; first++) {
		for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			peek_msg(&sb, ids[i], first == 1, &end);
			id = 0x5a5a5a5a;
			assert_true(sfu_msg_peek_id(
			    (const uint8_t *)sb.data, sb.size, &id));
			assert_int_equal(id, ids[i]);
			msgpack_sbuffer_destroy(&sb);
		}
	}
}

/* Proves peek_id on every truncation of a message finds the id exactly
 * when the id's value is complete, and never reads past len (ASan). */
static void
test_msg_peek_id_truncated(void **state)
{
	static const uint32_t ids[] = {9, 200, 0x1234, 0xdeadbeef};
	msgpack_sbuffer sb;
	uint8_t *copy = NULL;
	uint32_t id = 0;
	size_t end = 0;
	size_t len = 0;
	size_t i = 0;
	int first = 0;

	(void)state;
	for (first = 0; first < 2; first++) {
		for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			peek_msg(&sb, ids[i], first == 1, &end);
			for (len = 0; len <= sb.size; len++) {
				/* an exact-size copy so ASan sees overreads */
				copy = malloc(len == 0 ? 1 : len);
				assert_non_null(copy);
				memcpy(copy, sb.data, len);
				id = 0;
				assert_int_equal(
				    sfu_msg_peek_id(copy, len, &id),
				    len >= end);
				if (len >= end) {
					assert_int_equal(id, ids[i]);
				}
				free(copy);
			}
			msgpack_sbuffer_destroy(&sb);
		}
	}
}

/* Proves peek_id skips scalar values of every kind before the id, and
 * reads a map16/map32 top level and str8 keys. */
static void
test_msg_peek_id_after_scalars(void **state)
{
	static const uint8_t map16[] = {0xde, 0x00, 0x01, 0xa2, 'i', 'd', 0x2a};
	static const uint8_t map32[] = {
	    0xdf, 0x00, 0x00, 0x00, 0x01, 0xd9, 0x02, 'i', 'd', 0xcc, 0x99};
	char *key40 = repeat_char('k', 40);
	msgpack_sbuffer sb;
	uint32_t id = 0;

	(void)state;
	helpers_pack_sbuf(&sb,
	    "{s:d, s:t, s:n, s:i, s:I, s:x, s:F, s:u, s:s, s:u}", "a", 1.5, "b",
	    "c", "d", -5, "e", INT64_MIN, "f", "\0\1", (size_t)2, "g", 0.5,
	    key40, 1u, "h", key40, "id", 9u);
	assert_true(sfu_msg_peek_id((const uint8_t *)sb.data, sb.size, &id));
	assert_int_equal(id, 9);
	msgpack_sbuffer_destroy(&sb);
	free(key40);

	assert_true(sfu_msg_peek_id(map16, sizeof(map16), &id));
	assert_int_equal(id, 42);
	assert_true(sfu_msg_peek_id(map32, sizeof(map32), &id));
	assert_int_equal(id, 0x99);
}

/* Proves peek_id returns false for non-maps, empty input, a missing id,
 * an id of the wrong type, or a container value before the id. */
static void
test_msg_peek_id_refuses(void **state)
{
	static const uint8_t array[] = {0x91, 0x01};
	static const uint8_t fixint[] = {0x01};
	static const uint8_t str[] = {0xa2, 'i', 'd'};
	static const uint8_t nil[] = {0xc0};
	static const uint8_t empty_map[] = {0x80};
	static const uint8_t int_key[] = {
	    0x82, 0x01, 0x02, 0xa2, 'i', 'd', 0x03};
	msgpack_sbuffer sb;
	uint32_t id = 77;

	(void)state;
	assert_false(sfu_msg_peek_id(array, sizeof(array), &id));
	assert_false(sfu_msg_peek_id(fixint, sizeof(fixint), &id));
	assert_false(sfu_msg_peek_id(str, sizeof(str), &id));
	assert_false(sfu_msg_peek_id(nil, sizeof(nil), &id));
	assert_false(sfu_msg_peek_id(empty_map, sizeof(empty_map), &id));
	assert_false(sfu_msg_peek_id(int_key, sizeof(int_key), &id));
	assert_false(sfu_msg_peek_id(array, 0, &id));
	assert_int_equal(id, 77);

	helpers_pack_sbuf(&sb, "{s:s}", "method", "m");
	assert_false(sfu_msg_peek_id((const uint8_t *)sb.data, sb.size, &id));
	msgpack_sbuffer_destroy(&sb);
	helpers_pack_sbuf(&sb, "{s:s}", "id", "5");
	assert_false(sfu_msg_peek_id((const uint8_t *)sb.data, sb.size, &id));
	msgpack_sbuffer_destroy(&sb);
	helpers_pack_sbuf(&sb, "{s:i}", "id", -5);
	assert_false(sfu_msg_peek_id((const uint8_t *)sb.data, sb.size, &id));
	msgpack_sbuffer_destroy(&sb);
	helpers_pack_sbuf(&sb, "{s:d}", "id", 5.0);
	assert_false(sfu_msg_peek_id((const uint8_t *)sb.data, sb.size, &id));
	msgpack_sbuffer_destroy(&sb);
	helpers_pack_sbuf(&sb, "{s:{s:u}, s:u}", "data", "id", 1u, "id", 2u);
	assert_false(sfu_msg_peek_id((const uint8_t *)sb.data, sb.size, &id));
	msgpack_sbuffer_destroy(&sb);
	helpers_pack_sbuf(&sb, "{s:[u], s:u}", "data", 1u, "id", 2u);
	assert_false(sfu_msg_peek_id((const uint8_t *)sb.data, sb.size, &id));
	msgpack_sbuffer_destroy(&sb);
	assert_int_equal(id, 77);
}

/* Proves peek_id reads the id from the first 64 bytes of a request too
 * big to decode, the way an oversize frame is answered. */
static void
test_msg_peek_id_in_oversize_prefix(void **state)
{
	msgpack_sbuffer sb;
	uint8_t *blob = NULL;
	uint32_t id = 0;

	(void)state;
	blob = calloc(1, 100000);
	assert_non_null(blob);
	helpers_pack_sbuf(&sb, "{s:s, s:U, s:{s:x}}", "method",
	    "transport.produce", "id", (uint64_t)123456, "data", "blob", blob,
	    (size_t)100000);
	assert_true(sfu_msg_peek_id((const uint8_t *)sb.data, 64, &id));
	assert_int_equal(id, 123456);
	msgpack_sbuffer_destroy(&sb);
	free(blob);
}

/* --- typed getters --- */

struct getters {
	msgpack_sbuffer sb;
	struct sfu_msg m;
	char *long_str; /* owned: 200 bytes */
};

static int
setup_getters(void **state)
{
	struct getters *g = NULL;
	struct sfu_error err;

	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		return -1;
	}
	g->long_str = malloc(201);
	if (g->long_str == NULL) {
		free(g);
		return -1;
	}
	memset(g->long_str, 'L', 200);
	g->long_str[200] = '\0';
	helpers_pack_sbuf(&g->sb,
	    "{s:s, s:s, s:S, s:t, s:f, s:u, s:u, s:u, s:u, s:U, s:U, s:U,"
	    " s:i, s:I, s:I, s:d, s:F, s:{s:s, s:u}, s:[u,u], s:n, s:s}",
	    "str", "hello", "empty", "", "nul", "a\0b", (size_t)3, "yes", "no",
	    "u8", 255u, "u8over", 256u, "u16", 65535u, "port", 65536u, "u32",
	    (uint64_t)UINT32_MAX, "u32over", (uint64_t)UINT32_MAX + 1, "u64",
	    UINT64_MAX, "neg", -5, "i64min", INT64_MIN, "i64max", INT64_MAX,
	    "f64", 1.5, "f32", 2.5, "listenInfo", "ip", "0.0.0.0", "port",
	    70000u, "arr", 1u, 2u, "nil", "long", g->long_str);
	if (decode_sbuf(&g->m, &g->sb, &err) != 0) {
		return -1;
	}
	*state = g;
	return 0;
}

static int
teardown_getters(void **state)
{
	struct getters *g = *state;

	sfu_msg_release(&g->m);
	msgpack_sbuffer_destroy(&g->sb);
	free(g->long_str);
	free(g);
	return 0;
}

/* Proves map_get finds string keys only, exactly, and tolerates a NULL
 * or non-map container. */
static void
test_msg_map_get(void **state)
{
	static const uint8_t int_keys[] = {
	    0x82, 0x01, 0xa1, 'x', 0xa1, 'k', 0xa1, 'y'};
	struct getters *g = *state;
	struct sfu_msg m;
	struct sfu_error err;
	const msgpack_object *o = NULL;

	assert_non_null(sfu_msg_map_get(g->m.root, "str"));
	assert_null(sfu_msg_map_get(g->m.root, "st"));
	assert_null(sfu_msg_map_get(g->m.root, "strx"));
	assert_null(sfu_msg_map_get(g->m.root, ""));
	assert_null(sfu_msg_map_get(NULL, "str"));
	o = sfu_msg_map_get(g->m.root, "arr");
	assert_null(sfu_msg_map_get(o, "str"));
	assert_int_equal(
	    sfu_msg_map_get(g->m.root, "nil")->type, MSGPACK_OBJECT_NIL);

	assert_int_equal(
	    sfu_msg_decode(&m, int_keys, sizeof(int_keys), &err), 0);
	assert_true(sfu_msg_str_eq(sfu_msg_map_get(m.root, "k"), "y"));
	assert_null(sfu_msg_map_get(m.root, "\x01"));
	sfu_msg_release(&m);
}

/* Proves get_str returns pointer and length, treats absent and nil as
 * missing or optional, leaves *out alone when optional-absent, and names
 * the field path in errors (also with a NULL or empty path). */
static void
test_msg_get_str(void **state)
{
	struct getters *g = *state;
	struct sfu_error err;
	const char *s = NULL;
	size_t len = 0;

	assert_int_equal(sfu_msg_get_str(g->m.root, "data", "str",
	                     SFU_MSG_REQUIRED, &s, &len, &err),
	    1);
	assert_int_equal(len, 5);
	assert_memory_equal(s, "hello", 5);
	assert_int_equal(sfu_msg_get_str(g->m.root, "data", "empty",
	                     SFU_MSG_REQUIRED, &s, NULL, &err),
	    1);
	assert_int_equal(sfu_msg_get_str(g->m.root, "data", "nul",
	                     SFU_MSG_REQUIRED, &s, &len, &err),
	    1);
	assert_int_equal(len, 3);

	s = "untouched";
	assert_int_equal(sfu_msg_get_str(g->m.root, "data", "absent",
	                     SFU_MSG_OPTIONAL, &s, &len, &err),
	    0);
	assert_string_equal(s, "untouched");
	assert_int_equal(sfu_msg_get_str(g->m.root, "data", "nil",
	                     SFU_MSG_OPTIONAL, &s, &len, &err),
	    0);
	assert_string_equal(s, "untouched");

	sfu_error_clear(&err);
	assert_int_equal(sfu_msg_get_str(g->m.root, "data", "absent",
	                     SFU_MSG_REQUIRED, &s, &len, &err),
	    -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(err.reason, "data.absent: missing");
	assert_int_equal(sfu_msg_get_str(g->m.root, "data", "nil",
	                     SFU_MSG_REQUIRED, &s, &len, &err),
	    -1);
	assert_string_equal(err.reason, "data.nil: missing");
	assert_int_equal(sfu_msg_get_str(g->m.root, "data", "u8",
	                     SFU_MSG_REQUIRED, &s, &len, &err),
	    -1);
	assert_string_equal(err.reason, "data.u8: expected string");
	assert_int_equal(sfu_msg_get_str(g->m.root, "data", "u8",
	                     SFU_MSG_OPTIONAL, &s, &len, &err),
	    -1);
	assert_string_equal(err.reason, "data.u8: expected string");
	assert_int_equal(sfu_msg_get_str(g->m.root, NULL, "arr",
	                     SFU_MSG_REQUIRED, &s, &len, &err),
	    -1);
	assert_string_equal(err.reason, "arr: expected string");
	assert_int_equal(sfu_msg_get_str(g->m.root, "", "yes", SFU_MSG_REQUIRED,
	                     &s, &len, &err),
	    -1);
	assert_string_equal(err.reason, "yes: expected string");
	assert_int_equal(sfu_msg_get_str(g->m.root, "data", "u8",
	                     SFU_MSG_REQUIRED, &s, &len, NULL),
	    -1);
	assert_string_equal(s, "untouched");
}

/* Proves get_strbuf copies and NUL-terminates a string that fits, and
 * refuses one of size bytes or with an embedded NUL. */
static void
test_msg_get_strbuf(void **state)
{
	struct getters *g = *state;
	struct sfu_error err;
	char buf[6];
	char big[256];

	memset(buf, 'x', sizeof(buf));
	assert_int_equal(sfu_msg_get_strbuf(g->m.root, "data", "str",
	                     SFU_MSG_REQUIRED, buf, sizeof(buf), &err),
	    1);
	assert_string_equal(buf, "hello");
	assert_int_equal(sfu_msg_get_strbuf(g->m.root, "data", "empty",
	                     SFU_MSG_REQUIRED, buf, sizeof(buf), &err),
	    1);
	assert_string_equal(buf, "");
	assert_int_equal(sfu_msg_get_strbuf(g->m.root, "data", "str",
	                     SFU_MSG_REQUIRED, buf, 5, &err),
	    -1);
	assert_string_equal(
	    err.reason, "data.str: expected string of at most 4 bytes");
	assert_int_equal(sfu_msg_get_strbuf(g->m.root, "data", "nul",
	                     SFU_MSG_REQUIRED, buf, sizeof(buf), &err),
	    -1);
	assert_string_equal(
	    err.reason, "data.nul: expected string of at most 5 bytes");
	assert_int_equal(sfu_msg_get_strbuf(g->m.root, "data", "long",
	                     SFU_MSG_REQUIRED, big, sizeof(big), &err),
	    1);
	assert_int_equal(strlen(big), 200);
	assert_int_equal(sfu_msg_get_strbuf(g->m.root, "data", "long",
	                     SFU_MSG_REQUIRED, big, 200, &err),
	    -1);
	assert_string_equal(
	    err.reason, "data.long: expected string of at most 199 bytes");
	assert_int_equal(sfu_msg_get_strbuf(g->m.root, "data", "yes",
	                     SFU_MSG_REQUIRED, buf, sizeof(buf), &err),
	    -1);
	assert_string_equal(err.reason, "data.yes: expected string");
	strcpy(buf, "keep");
	assert_int_equal(sfu_msg_get_strbuf(g->m.root, "data", "absent",
	                     SFU_MSG_OPTIONAL, buf, sizeof(buf), &err),
	    0);
	assert_string_equal(buf, "keep");
	assert_int_equal(sfu_msg_get_strbuf(g->m.root, "data", "absent",
	                     SFU_MSG_REQUIRED, buf, sizeof(buf), &err),
	    -1);
	assert_string_equal(err.reason, "data.absent: missing");
}

/* Proves get_bool reads true and false and refuses other types. */
static void
test_msg_get_bool(void **state)
{
	struct getters *g = *state;
	struct sfu_error err;
	bool b = false;

	assert_int_equal(sfu_msg_get_bool(g->m.root, "data", "yes",
	                     SFU_MSG_REQUIRED, &b, &err),
	    1);
	assert_true(b);
	assert_int_equal(sfu_msg_get_bool(g->m.root, "data", "no",
	                     SFU_MSG_REQUIRED, &b, &err),
	    1);
	assert_false(b);
	b = true;
	assert_int_equal(sfu_msg_get_bool(g->m.root, "data", "nil",
	                     SFU_MSG_OPTIONAL, &b, &err),
	    0);
	assert_true(b);
	assert_int_equal(sfu_msg_get_bool(g->m.root, "data", "u8",
	                     SFU_MSG_REQUIRED, &b, &err),
	    -1);
	assert_string_equal(err.reason, "data.u8: expected boolean");
	assert_int_equal(sfu_msg_get_bool(g->m.root, "data", "str",
	                     SFU_MSG_OPTIONAL, &b, &err),
	    -1);
	assert_string_equal(err.reason, "data.str: expected boolean");
	assert_int_equal(sfu_msg_get_bool(g->m.root, "data", "absent",
	                     SFU_MSG_REQUIRED, &b, &err),
	    -1);
	assert_string_equal(err.reason, "data.absent: missing");
}

/* Proves get_uint enforces max inclusively, names uint8/16/32/64 for those
 * maxima and a range otherwise, and refuses negatives, floats, strings;
 * the error reads exactly "data.listenInfo.port: expected uint16". */
static void
test_msg_get_uint(void **state)
{
	struct getters *g = *state;
	struct sfu_error err;
	const msgpack_object *li = NULL;
	uint64_t v = 0;

	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "u8",
	                     SFU_MSG_REQUIRED, UINT8_MAX, &v, &err),
	    1);
	assert_int_equal(v, 255);
	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "u8over",
	                     SFU_MSG_REQUIRED, UINT8_MAX, &v, &err),
	    -1);
	assert_string_equal(err.reason, "data.u8over: expected uint8");
	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "u16",
	                     SFU_MSG_REQUIRED, UINT16_MAX, &v, &err),
	    1);
	assert_int_equal(v, 65535);
	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "port",
	                     SFU_MSG_REQUIRED, UINT16_MAX, &v, &err),
	    -1);
	assert_string_equal(err.reason, "data.port: expected uint16");
	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "u32",
	                     SFU_MSG_REQUIRED, UINT32_MAX, &v, &err),
	    1);
	assert_int_equal(v, UINT32_MAX);
	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "u32over",
	                     SFU_MSG_REQUIRED, UINT32_MAX, &v, &err),
	    -1);
	assert_string_equal(err.reason, "data.u32over: expected uint32");
	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "u64",
	                     SFU_MSG_REQUIRED, UINT64_MAX, &v, &err),
	    1);
	assert_true(v == UINT64_MAX);
	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "neg",
	                     SFU_MSG_REQUIRED, UINT64_MAX, &v, &err),
	    -1);
	assert_string_equal(err.reason, "data.neg: expected uint64");
	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "f64",
	                     SFU_MSG_REQUIRED, UINT32_MAX, &v, &err),
	    -1);
	assert_string_equal(err.reason, "data.f64: expected uint32");
	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "str",
	                     SFU_MSG_OPTIONAL, UINT16_MAX, &v, &err),
	    -1);
	assert_string_equal(err.reason, "data.str: expected uint16");
	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "u8",
	                     SFU_MSG_REQUIRED, 100, &v, &err),
	    -1);
	assert_string_equal(err.reason, "data.u8: expected integer from 0 to "
	                                "100");
	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "u8",
	                     SFU_MSG_REQUIRED, 255, &v, &err),
	    1);
	v = 42;
	assert_int_equal(sfu_msg_get_uint(g->m.root, "data", "absent",
	                     SFU_MSG_OPTIONAL, UINT16_MAX, &v, &err),
	    0);
	assert_int_equal(v, 42);

	assert_int_equal(sfu_msg_get_map(g->m.root, "data", "listenInfo",
	                     SFU_MSG_REQUIRED, &li, &err),
	    1);
	assert_int_equal(sfu_msg_get_uint(li, "data.listenInfo", "port",
	                     SFU_MSG_REQUIRED, UINT16_MAX, &v, &err),
	    -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(
	    err.reason, "data.listenInfo.port: expected uint16");
}

/* Proves get_int accepts values in [min, max] of either sign and names the
 * range in errors, including a uint64 over INT64_MAX and non-integers. */
static void
test_msg_get_int(void **state)
{
	struct getters *g = *state;
	struct sfu_error err;
	int64_t v = 0;

	assert_int_equal(sfu_msg_get_int(g->m.root, "data", "neg",
	                     SFU_MSG_REQUIRED, -10, 10, &v, &err),
	    1);
	assert_int_equal(v, -5);
	assert_int_equal(sfu_msg_get_int(g->m.root, "data", "neg",
	                     SFU_MSG_REQUIRED, -5, -5, &v, &err),
	    1);
	assert_int_equal(sfu_msg_get_int(g->m.root, "data", "neg",
	                     SFU_MSG_REQUIRED, -4, 10, &v, &err),
	    -1);
	assert_string_equal(err.reason, "data.neg: expected integer from -4 "
	                                "to 10");
	assert_int_equal(sfu_msg_get_int(g->m.root, "data", "u8",
	                     SFU_MSG_REQUIRED, -10, 10, &v, &err),
	    -1);
	assert_string_equal(err.reason, "data.u8: expected integer from -10 "
	                                "to 10");
	assert_int_equal(sfu_msg_get_int(g->m.root, "data", "u8",
	                     SFU_MSG_REQUIRED, 0, 255, &v, &err),
	    1);
	assert_int_equal(v, 255);
	assert_int_equal(sfu_msg_get_int(g->m.root, "data", "i64min",
	                     SFU_MSG_REQUIRED, INT64_MIN, INT64_MAX, &v, &err),
	    1);
	assert_true(v == INT64_MIN);
	assert_int_equal(sfu_msg_get_int(g->m.root, "data", "i64max",
	                     SFU_MSG_REQUIRED, INT64_MIN, INT64_MAX, &v, &err),
	    1);
	assert_true(v == INT64_MAX);
	assert_int_equal(sfu_msg_get_int(g->m.root, "data", "u64",
	                     SFU_MSG_REQUIRED, INT64_MIN, INT64_MAX, &v, &err),
	    -1);
	assert_string_equal(err.reason,
	    "data.u64: expected integer from -9223372036854775808 to "
	    "9223372036854775807");
	assert_int_equal(sfu_msg_get_int(g->m.root, "data", "f64",
	                     SFU_MSG_REQUIRED, 0, 10, &v, &err),
	    -1);
	assert_string_equal(err.reason, "data.f64: expected integer from 0 "
	                                "to 10");
	assert_int_equal(sfu_msg_get_int(g->m.root, NULL, "str",
	                     SFU_MSG_REQUIRED, 0, 10, &v, &err),
	    -1);
	assert_string_equal(err.reason, "str: expected integer from 0 to 10");
	v = 3;
	assert_int_equal(sfu_msg_get_int(g->m.root, "data", "nil",
	                     SFU_MSG_OPTIONAL, 0, 10, &v, &err),
	    0);
	assert_int_equal(v, 3);
	assert_int_equal(sfu_msg_get_int(g->m.root, "data", "nil",
	                     SFU_MSG_REQUIRED, 0, 10, &v, &err),
	    -1);
	assert_string_equal(err.reason, "data.nil: missing");
}

/* Proves get_double reads float64, float32 and integers of both signs, and
 * refuses non-numbers. */
static void
test_msg_get_double(void **state)
{
	struct getters *g = *state;
	struct sfu_error err;
	double d = 0;

	assert_int_equal(sfu_msg_get_double(g->m.root, "data", "f64",
	                     SFU_MSG_REQUIRED, &d, &err),
	    1);
	assert_true(d == 1.5);
	assert_int_equal(sfu_msg_get_double(g->m.root, "data", "f32",
	                     SFU_MSG_REQUIRED, &d, &err),
	    1);
	assert_true(d == 2.5);
	assert_int_equal(sfu_msg_get_double(g->m.root, "data", "u16",
	                     SFU_MSG_REQUIRED, &d, &err),
	    1);
	assert_true(d == 65535.0);
	assert_int_equal(sfu_msg_get_double(g->m.root, "data", "neg",
	                     SFU_MSG_REQUIRED, &d, &err),
	    1);
	assert_true(d == -5.0);
	assert_int_equal(sfu_msg_get_double(g->m.root, "data", "str",
	                     SFU_MSG_REQUIRED, &d, &err),
	    -1);
	assert_string_equal(err.reason, "data.str: expected number");
	assert_int_equal(sfu_msg_get_double(g->m.root, "data", "yes",
	                     SFU_MSG_OPTIONAL, &d, &err),
	    -1);
	assert_string_equal(err.reason, "data.yes: expected number");
	d = 7.0;
	assert_int_equal(sfu_msg_get_double(g->m.root, "data", "absent",
	                     SFU_MSG_OPTIONAL, &d, &err),
	    0);
	assert_true(d == 7.0);
}

/* Proves get_map and get_array return the container and refuse the other
 * container type and scalars. */
static void
test_msg_get_map_and_array(void **state)
{
	struct getters *g = *state;
	struct sfu_error err;
	const msgpack_object *o = NULL;

	assert_int_equal(sfu_msg_get_map(g->m.root, "data", "listenInfo",
	                     SFU_MSG_REQUIRED, &o, &err),
	    1);
	assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
	assert_int_equal(sfu_msg_get_map(g->m.root, "data", "arr",
	                     SFU_MSG_REQUIRED, &o, &err),
	    -1);
	assert_string_equal(err.reason, "data.arr: expected map");
	assert_int_equal(sfu_msg_get_map(g->m.root, "data", "str",
	                     SFU_MSG_OPTIONAL, &o, &err),
	    -1);
	assert_string_equal(err.reason, "data.str: expected map");
	assert_int_equal(sfu_msg_get_array(g->m.root, "data", "arr",
	                     SFU_MSG_REQUIRED, &o, &err),
	    1);
	assert_int_equal(o->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(o->via.array.size, 2);
	assert_int_equal(sfu_msg_get_array(g->m.root, "data", "listenInfo",
	                     SFU_MSG_REQUIRED, &o, &err),
	    -1);
	assert_string_equal(err.reason, "data.listenInfo: expected array");
	assert_int_equal(sfu_msg_get_array(g->m.root, "data", "u8",
	                     SFU_MSG_REQUIRED, &o, &err),
	    -1);
	assert_string_equal(err.reason, "data.u8: expected array");
	o = NULL;
	assert_int_equal(sfu_msg_get_array(g->m.root, "data", "nil",
	                     SFU_MSG_OPTIONAL, &o, &err),
	    0);
	assert_null(o);
	assert_int_equal(sfu_msg_get_map(g->m.root, "data", "absent",
	                     SFU_MSG_REQUIRED, &o, &err),
	    -1);
	assert_string_equal(err.reason, "data.absent: missing");
	assert_int_equal(
	    sfu_msg_get_map(NULL, "data", "x", SFU_MSG_OPTIONAL, &o, &err), 0);
	assert_int_equal(
	    sfu_msg_get_map(NULL, "data", "x", SFU_MSG_REQUIRED, &o, &err), -1);
	assert_string_equal(err.reason, "data.x: missing");
}

/* Proves a field path longer than the error buffer is truncated, not
 * overflowed, and the reason stays NUL terminated. */
static void
test_msg_get_long_path_truncated(void **state)
{
	struct getters *g = *state;
	struct sfu_error err;
	char *path = repeat_char('p', 600);
	uint64_t v = 0;

	assert_int_equal(sfu_msg_get_uint(g->m.root, path, "str",
	                     SFU_MSG_REQUIRED, UINT16_MAX, &v, &err),
	    -1);
	assert_true(strlen(err.reason) < SFU_ERROR_REASON_LEN);
	assert_int_equal(strncmp(err.reason, "ppp", 3), 0);
	free(path);
}

/* Proves the path helpers build "parent.key", "key", "parent[i]" and
 * truncate to the buffer; str_eq compares exactly. */
static void
test_msg_path_helpers(void **state)
{
	struct getters *g = *state;
	char buf[SFU_MSG_PATH_MAX];
	char small[8];

	assert_string_equal(
	    sfu_msg_path(buf, sizeof(buf), "data", "port"), "data.port");
	assert_string_equal(
	    sfu_msg_path(buf, sizeof(buf), NULL, "port"), "port");
	assert_string_equal(sfu_msg_path(buf, sizeof(buf), "", "port"), "port");
	assert_string_equal(
	    sfu_msg_path(small, sizeof(small), "abcdef", "ghij"), "abcdef.");
	assert_string_equal(
	    sfu_msg_path_index(buf, sizeof(buf), "data.logTags", 1),
	    "data.logTags[1]");
	assert_string_equal(
	    sfu_msg_path_index(buf, sizeof(buf), NULL, 12), "[12]");
	assert_string_equal(
	    sfu_msg_path_index(small, sizeof(small), "abcdef", 123), "abcdef[");

	assert_true(sfu_msg_str_eq(sfu_msg_map_get(g->m.root, "str"), "hello"));
	assert_false(sfu_msg_str_eq(sfu_msg_map_get(g->m.root, "str"), "hell"));
	assert_false(
	    sfu_msg_str_eq(sfu_msg_map_get(g->m.root, "str"), "hello!"));
	assert_true(sfu_msg_str_eq(sfu_msg_map_get(g->m.root, "empty"), ""));
	assert_false(sfu_msg_str_eq(sfu_msg_map_get(g->m.root, "u8"), ""));
	assert_false(sfu_msg_str_eq(NULL, ""));
}

/* --- builders --- */

/* Proves begin_response without data is {id, accepted: true}. */
static void
test_msg_build_response_without_data(void **state)
{
	struct sfu_msg_builder b;
	struct sfu_msg m;
	struct sfu_error err;
	uint64_t id = 0;
	bool accepted = false;

	(void)state;
	sfu_msg_builder_init(&b);
	sfu_msg_begin_response(&b, 4242, false);
	assert_int_equal(
	    sfu_msg_decode(&m, (const uint8_t *)b.sbuf.data, b.sbuf.size, &err),
	    0);
	assert_int_equal(m.root->via.map.size, 2);
	assert_int_equal(sfu_msg_get_uint(m.root, NULL, "id", SFU_MSG_REQUIRED,
	                     UINT32_MAX, &id, &err),
	    1);
	assert_int_equal(id, 4242);
	assert_int_equal(sfu_msg_get_bool(m.root, NULL, "accepted",
	                     SFU_MSG_REQUIRED, &accepted, &err),
	    1);
	assert_true(accepted);
	assert_null(sfu_msg_map_get(m.root, "data"));
	sfu_msg_release(&m);
	sfu_msg_builder_release(&b);
}

/* Proves begin_response with data leaves "data" as the last key for the
 * caller's value, and every kv packer writes what it is given. */
static void
test_msg_build_response_with_data(void **state)
{
	struct sfu_msg_builder b;
	struct sfu_msg m;
	struct sfu_error err;
	msgpack_packer *pk = NULL;
	const msgpack_object *data = NULL;
	const char *s = NULL;
	size_t len = 0;
	uint64_t u = 0;
	int64_t i = 0;
	double d = 0;
	bool flag = true;

	(void)state;
	sfu_msg_builder_init(&b);
	pk = sfu_msg_begin_response(&b, UINT32_MAX, true);
	assert_non_null(pk);
	msgpack_pack_map(pk, 6);
	sfu_msg_pack_kv_str(pk, "s", "text");
	sfu_msg_pack_kv_uint(pk, "u", UINT64_MAX);
	sfu_msg_pack_kv_int(pk, "i", INT64_MIN);
	sfu_msg_pack_kv_bool(pk, "b", false);
	sfu_msg_pack_kv_double(pk, "d", -0.25);
	sfu_msg_pack_str(pk, "n");
	sfu_msg_pack_strn(pk, "a\0b", 3);
	assert_int_equal(
	    sfu_msg_decode(&m, (const uint8_t *)b.sbuf.data, b.sbuf.size, &err),
	    0);
	assert_int_equal(m.root->via.map.size, 3);
	assert_true(sfu_msg_str_eq(&m.root->via.map.ptr[2].key, "data"));
	assert_int_equal(sfu_msg_get_uint(m.root, NULL, "id", SFU_MSG_REQUIRED,
	                     UINT32_MAX, &u, &err),
	    1);
	assert_int_equal(u, UINT32_MAX);
	assert_int_equal(sfu_msg_get_map(m.root, NULL, "data", SFU_MSG_REQUIRED,
	                     &data, &err),
	    1);
	assert_int_equal(data->via.map.size, 6);
	assert_int_equal(sfu_msg_get_str(data, "data", "s", SFU_MSG_REQUIRED,
	                     &s, &len, &err),
	    1);
	assert_int_equal(len, 4);
	assert_memory_equal(s, "text", 4);
	assert_int_equal(sfu_msg_get_uint(data, "data", "u", SFU_MSG_REQUIRED,
	                     UINT64_MAX, &u, &err),
	    1);
	assert_true(u == UINT64_MAX);
	assert_int_equal(sfu_msg_get_int(data, "data", "i", SFU_MSG_REQUIRED,
	                     INT64_MIN, 0, &i, &err),
	    1);
	assert_true(i == INT64_MIN);
	assert_int_equal(
	    sfu_msg_get_bool(data, "data", "b", SFU_MSG_REQUIRED, &flag, &err),
	    1);
	assert_false(flag);
	assert_int_equal(
	    sfu_msg_get_double(data, "data", "d", SFU_MSG_REQUIRED, &d, &err),
	    1);
	assert_true(d == -0.25);
	assert_int_equal(sfu_msg_get_str(data, "data", "n", SFU_MSG_REQUIRED,
	                     &s, &len, &err),
	    1);
	assert_int_equal(len, 3);
	assert_memory_equal(s, "a\0b", 3);
	sfu_msg_release(&m);
	sfu_msg_builder_release(&b);
}

/* Proves build_error writes {id, error: <wire name>, reason} for every
 * error kind. */
static void
test_msg_build_error(void **state)
{
	static const struct {
		enum sfu_error_kind kind;
		const char *name;
	} kinds[] = {
	    {SFU_ERR_TYPE, "TypeError"},
	    {SFU_ERR_INVALID_STATE, "InvalidStateError"},
	    {SFU_ERR_NOT_FOUND, "NotFoundError"},
	    {SFU_ERR_UNSUPPORTED, "UnsupportedError"},
	    {SFU_ERR_ERROR, "Error"},
	};
	struct sfu_msg_builder b;
	struct sfu_msg m;
	struct sfu_error err;
	char reason[64];
	uint64_t id = 0;
	size_t i = 0;

	(void)state;
	sfu_msg_builder_init(&b);
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		sfu_msg_build_error(&b, (uint32_t)i + 100, kinds[i].kind,
		    "data.listenInfo.port: expected uint16");
		assert_int_equal(
		    sfu_msg_decode(
		        &m, (const uint8_t *)b.sbuf.data, b.sbuf.size, &err),
		    0);
		assert_int_equal(m.root->via.map.size, 3);
		assert_int_equal(sfu_msg_get_uint(m.root, NULL, "id",
		                     SFU_MSG_REQUIRED, UINT32_MAX, &id, &err),
		    1);
		assert_int_equal(id, i + 100);
		assert_true(sfu_msg_str_eq(
		    sfu_msg_map_get(m.root, "error"), kinds[i].name));
		assert_int_equal(
		    sfu_msg_get_strbuf(m.root, NULL, "reason", SFU_MSG_REQUIRED,
		        reason, sizeof(reason), &err),
		    1);
		assert_string_equal(
		    reason, "data.listenInfo.port: expected uint16");
		assert_null(sfu_msg_map_get(m.root, "accepted"));
		sfu_msg_release(&m);
	}
	sfu_msg_builder_release(&b);
}

/* Proves begin_notification writes targetId and event, with and without
 * data. */
static void
test_msg_build_notification(void **state)
{
	struct sfu_msg_builder b;
	struct sfu_msg m;
	struct sfu_error err;
	msgpack_packer *pk = NULL;
	const msgpack_object *data = NULL;

	(void)state;
	sfu_msg_builder_init(&b);
	sfu_msg_begin_notification(&b, "worker-0", "running", false);
	assert_int_equal(
	    sfu_msg_decode(&m, (const uint8_t *)b.sbuf.data, b.sbuf.size, &err),
	    0);
	assert_int_equal(m.root->via.map.size, 2);
	assert_true(
	    sfu_msg_str_eq(sfu_msg_map_get(m.root, "targetId"), "worker-0"));
	assert_true(
	    sfu_msg_str_eq(sfu_msg_map_get(m.root, "event"), "running"));
	sfu_msg_release(&m);

	pk = sfu_msg_begin_notification(&b, "t-1", "score", true);
	helpers_pack(pk, "[{s:u}]", "score", 10u);
	assert_int_equal(
	    sfu_msg_decode(&m, (const uint8_t *)b.sbuf.data, b.sbuf.size, &err),
	    0);
	assert_int_equal(m.root->via.map.size, 3);
	assert_true(sfu_msg_str_eq(sfu_msg_map_get(m.root, "targetId"), "t-1"));
	assert_true(sfu_msg_str_eq(sfu_msg_map_get(m.root, "event"), "score"));
	assert_int_equal(sfu_msg_get_array(m.root, NULL, "data",
	                     SFU_MSG_REQUIRED, &data, &err),
	    1);
	assert_int_equal(data->via.array.size, 1);
	sfu_msg_release(&m);
	sfu_msg_builder_release(&b);
}

/* Proves begin_request round-trips through sfu_msg_parse_request with and
 * without handlerId and data. */
static void
test_msg_build_request(void **state)
{
	struct sfu_msg_builder b;
	struct sfu_msg m;
	struct sfu_msg_request req;
	struct sfu_error err;
	msgpack_packer *pk = NULL;

	(void)state;
	sfu_msg_builder_init(&b);
	sfu_msg_begin_request(&b, 1, "worker.dump", NULL, false);
	assert_int_equal(
	    sfu_msg_decode(&m, (const uint8_t *)b.sbuf.data, b.sbuf.size, &err),
	    0);
	assert_int_equal(m.root->via.map.size, 2);
	assert_int_equal(sfu_msg_parse_request(m.root, &req, &err), 0);
	assert_int_equal(req.id, 1);
	assert_string_equal(req.method, "worker.dump");
	assert_false(req.has_handler_id);
	assert_null(req.data);
	sfu_msg_release(&m);

	pk = sfu_msg_begin_request(&b, 77, "transport.connect", "tr-9", true);
	helpers_pack(pk, "{s:{s:s}}", "dtlsParameters", "role", "client");
	assert_int_equal(
	    sfu_msg_decode(&m, (const uint8_t *)b.sbuf.data, b.sbuf.size, &err),
	    0);
	assert_int_equal(m.root->via.map.size, 4);
	assert_int_equal(sfu_msg_parse_request(m.root, &req, &err), 0);
	assert_int_equal(req.id, 77);
	assert_string_equal(req.method, "transport.connect");
	assert_true(req.has_handler_id);
	assert_string_equal(req.handler_id, "tr-9");
	assert_false(req.has_worker);
	assert_non_null(req.data);
	assert_true(sfu_msg_str_eq(
	    sfu_msg_map_get(
	        sfu_msg_map_get(req.data, "dtlsParameters"), "role"),
	    "client"));
	sfu_msg_release(&m);

	sfu_msg_begin_request(&b, 78, "router.dump", "r-1", false);
	assert_int_equal(
	    sfu_msg_decode(&m, (const uint8_t *)b.sbuf.data, b.sbuf.size, &err),
	    0);
	assert_int_equal(m.root->via.map.size, 3);
	assert_int_equal(sfu_msg_parse_request(m.root, &req, &err), 0);
	assert_string_equal(req.handler_id, "r-1");
	sfu_msg_release(&m);
	sfu_msg_builder_release(&b);
}

/* Proves each begin_* starts a fresh message even after a huge one (whose
 * memory reset gives back), and release twice is safe. */
static void
test_msg_builder_reset_after_huge(void **state)
{
	struct sfu_msg_builder b;
	struct sfu_msg m;
	struct sfu_error err;
	msgpack_packer *pk = NULL;
	char *big = repeat_char('B', 2 * 1024 * 1024);

	(void)state;
	sfu_msg_builder_init(&b);
	pk = sfu_msg_begin_response(&b, 1, true);
	helpers_pack(pk, "{s:s}", "big", big);
	assert_true(b.sbuf.size > 2 * 1024 * 1024);
	sfu_msg_begin_response(&b, 2, false);
	assert_true(b.sbuf.size < 64);
	assert_int_equal(
	    sfu_msg_decode(&m, (const uint8_t *)b.sbuf.data, b.sbuf.size, &err),
	    0);
	assert_int_equal(sfu_msg_map_get(m.root, "id")->via.u64, 2);
	sfu_msg_release(&m);
	sfu_msg_build_error(&b, 3, SFU_ERR_ERROR, "x");
	assert_int_equal(
	    sfu_msg_decode(&m, (const uint8_t *)b.sbuf.data, b.sbuf.size, &err),
	    0);
	assert_int_equal(sfu_msg_map_get(m.root, "id")->via.u64, 3);
	sfu_msg_release(&m);
	sfu_msg_builder_reset(&b);
	assert_int_equal(b.sbuf.size, 0);
	sfu_msg_builder_release(&b);
	sfu_msg_builder_release(&b);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_msg_decode_valid_map),
	    cmocka_unit_test(test_msg_decode_all_types),
	    cmocka_unit_test(test_msg_decode_rejects_invalid_bytes),
	    cmocka_unit_test(test_msg_decode_rejects_trailing_bytes),
	    cmocka_unit_test(test_msg_decode_rejects_non_map),
	    cmocka_unit_test(test_msg_decode_refuses_huge_counts),
	    cmocka_unit_test(test_msg_decode_depth_limit),
	    cmocka_unit_test(test_msg_decode_null_err),
	    cmocka_unit_test(test_msg_parse_request_minimal),
	    cmocka_unit_test(test_msg_parse_request_full),
	    cmocka_unit_test(test_msg_parse_request_id_errors),
	    cmocka_unit_test(test_msg_parse_request_method_errors),
	    cmocka_unit_test(test_msg_parse_request_handler_id_errors),
	    cmocka_unit_test(test_msg_parse_request_worker_and_data_errors),
	    cmocka_unit_test(test_msg_peek_id_full),
	    cmocka_unit_test(test_msg_peek_id_truncated),
	    cmocka_unit_test(test_msg_peek_id_after_scalars),
	    cmocka_unit_test(test_msg_peek_id_refuses),
	    cmocka_unit_test(test_msg_peek_id_in_oversize_prefix),
	    cmocka_unit_test_setup_teardown(
	        test_msg_map_get, setup_getters, teardown_getters),
	    cmocka_unit_test_setup_teardown(
	        test_msg_get_str, setup_getters, teardown_getters),
	    cmocka_unit_test_setup_teardown(
	        test_msg_get_strbuf, setup_getters, teardown_getters),
	    cmocka_unit_test_setup_teardown(
	        test_msg_get_bool, setup_getters, teardown_getters),
	    cmocka_unit_test_setup_teardown(
	        test_msg_get_uint, setup_getters, teardown_getters),
	    cmocka_unit_test_setup_teardown(
	        test_msg_get_int, setup_getters, teardown_getters),
	    cmocka_unit_test_setup_teardown(
	        test_msg_get_double, setup_getters, teardown_getters),
	    cmocka_unit_test_setup_teardown(
	        test_msg_get_map_and_array, setup_getters, teardown_getters),
	    cmocka_unit_test_setup_teardown(test_msg_get_long_path_truncated,
	        setup_getters, teardown_getters),
	    cmocka_unit_test_setup_teardown(
	        test_msg_path_helpers, setup_getters, teardown_getters),
	    cmocka_unit_test(test_msg_build_response_without_data),
	    cmocka_unit_test(test_msg_build_response_with_data),
	    cmocka_unit_test(test_msg_build_error),
	    cmocka_unit_test(test_msg_build_notification),
	    cmocka_unit_test(test_msg_build_request),
	    cmocka_unit_test(test_msg_builder_reset_after_huge),
	};

	return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}
