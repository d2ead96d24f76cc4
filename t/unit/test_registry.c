/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for worker/channel/registry: the handlerId -> handler table.
 * Adding, finding and removing ids, the refusals (duplicate, empty, too
 * long), growth to many entries, and dumping the ids as an array.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
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
#include "worker/channel/registry.h"

/* --- helpers --- */

/* Two distinct handlers, never called: the registry only stores them. */
static void
handler_a(void *ctx, struct sfu_channel_request *req)
{
	(void)ctx;
	(void)req;
}

static void
handler_b(void *ctx, struct sfu_channel_request *req)
{
	(void)ctx;
	(void)req;
}

static int
setup_registry(void **state)
{
	*state = sfu_registry_new();
	return *state == NULL ? -1 : 0;
}

static int
teardown_registry(void **state)
{
	sfu_registry_free(*state);
	return 0;
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

/* Looks id up and checks it maps to handler and ctx. */
static void
expect_entry(
    struct sfu_registry *reg, const char *id, sfu_method_cb handler, void *ctx)
{
	sfu_method_cb h = NULL;
	void *c = NULL;

	assert_true(sfu_registry_lookup(reg, id, &h, &c));
	assert_true(h == handler);
	assert_ptr_equal(c, ctx);
}

/* --- tests --- */

/* Proves a new registry is empty and finds nothing, and free(NULL) is
 * safe. */
static void
test_registry_new_is_empty(void **state)
{
	struct sfu_registry *reg = *state;
	sfu_method_cb h = NULL;
	void *c = NULL;

	assert_int_equal(sfu_registry_count(reg), 0);
	assert_false(sfu_registry_lookup(reg, "x", &h, &c));
	assert_false(sfu_registry_lookup(reg, "", &h, &c));
	assert_int_equal(sfu_registry_remove(reg, "x"), -1);
	sfu_registry_free(NULL);
}

/* Proves add, lookup and remove work on a few ids, each keeping its own
 * handler and ctx, and a removed id is gone while others stay. */
static void
test_registry_add_lookup_remove(void **state)
{
	struct sfu_registry *reg = *state;
	struct sfu_error err;
	sfu_method_cb h = NULL;
	void *c = NULL;
	int ctx1 = 1;
	int ctx2 = 2;

	sfu_error_clear(&err);
	assert_int_equal(
	    sfu_registry_add(reg, "router-1", handler_a, &ctx1, &err), 0);
	assert_int_equal(err.kind, SFU_ERR_NONE);
	assert_int_equal(
	    sfu_registry_add(reg, "transport-1", handler_b, &ctx2, &err), 0);
	assert_int_equal(sfu_registry_add(reg, "n", handler_b, NULL, NULL), 0);
	assert_int_equal(sfu_registry_count(reg), 3);
	expect_entry(reg, "router-1", handler_a, &ctx1);
	expect_entry(reg, "transport-1", handler_b, &ctx2);
	expect_entry(reg, "n", handler_b, NULL);
	assert_false(sfu_registry_lookup(reg, "router-", &h, &c));
	assert_false(sfu_registry_lookup(reg, "router-12", &h, &c));
	assert_false(sfu_registry_lookup(reg, "ROUTER-1", &h, &c));

	assert_int_equal(sfu_registry_remove(reg, "router-1"), 0);
	assert_int_equal(sfu_registry_count(reg), 2);
	assert_false(sfu_registry_lookup(reg, "router-1", &h, &c));
	assert_int_equal(sfu_registry_remove(reg, "router-1"), -1);
	expect_entry(reg, "transport-1", handler_b, &ctx2);
	assert_int_equal(sfu_registry_remove(reg, "transport-1"), 0);
	assert_int_equal(sfu_registry_remove(reg, "n"), 0);
	assert_int_equal(sfu_registry_count(reg), 0);
}

/* Proves the id is copied: changing the caller's buffer after add does not
 * change what is registered. */
static void
test_registry_copies_id(void **state)
{
	struct sfu_registry *reg = *state;
	sfu_method_cb h = NULL;
	void *c = NULL;
	char buf[16];

	strcpy(buf, "producer-7");
	assert_int_equal(sfu_registry_add(reg, buf, handler_a, buf, NULL), 0);
	strcpy(buf, "xxxxxxxxxx");
	expect_entry(reg, "producer-7", handler_a, buf);
	assert_false(sfu_registry_lookup(reg, "xxxxxxxxxx", &h, &c));
	assert_int_equal(sfu_registry_remove(reg, "producer-7"), 0);
}

/* Proves a taken id is refused with a TypeError naming it, and the first
 * registration is kept untouched. */
static void
test_registry_refuses_duplicate(void **state)
{
	struct sfu_registry *reg = *state;
	struct sfu_error err;
	int ctx1 = 1;
	int ctx2 = 2;

	assert_int_equal(
	    sfu_registry_add(reg, "dup", handler_a, &ctx1, NULL), 0);
	sfu_error_clear(&err);
	assert_int_equal(
	    sfu_registry_add(reg, "dup", handler_b, &ctx2, &err), -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(
	    err.reason, "an entity with id 'dup' already exists");
	assert_int_equal(
	    sfu_registry_add(reg, "dup", handler_b, &ctx2, NULL), -1);
	assert_int_equal(sfu_registry_count(reg), 1);
	expect_entry(reg, "dup", handler_a, &ctx1);
	assert_int_equal(sfu_registry_remove(reg, "dup"), 0);
}

/* Proves empty ids and ids of SFU_MSG_ID_MAX bytes or more are refused
 * with a TypeError, while SFU_MSG_ID_MAX - 1 bytes are accepted. */
static void
test_registry_refuses_empty_and_too_long(void **state)
{
	struct sfu_registry *reg = *state;
	struct sfu_error err;
	char *max_ok = repeat_char('i', SFU_MSG_ID_MAX - 1);
	char *too_long = repeat_char('i', SFU_MSG_ID_MAX);
	char *way_too_long = repeat_char('j', 10000);

	sfu_error_clear(&err);
	assert_int_equal(sfu_registry_add(reg, "", handler_a, NULL, &err), -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(err.reason, "id is empty");

	sfu_error_clear(&err);
	assert_int_equal(
	    sfu_registry_add(reg, too_long, handler_a, NULL, &err), -1);
	assert_int_equal(err.kind, SFU_ERR_TYPE);
	assert_string_equal(err.reason, "id is longer than 127 bytes");
	assert_int_equal(
	    sfu_registry_add(reg, way_too_long, handler_a, NULL, &err), -1);
	assert_int_equal(sfu_registry_add(reg, "", handler_a, NULL, NULL), -1);
	assert_int_equal(sfu_registry_count(reg), 0);

	assert_int_equal(
	    sfu_registry_add(reg, max_ok, handler_b, NULL, &err), 0);
	expect_entry(reg, max_ok, handler_b, NULL);
	assert_int_equal(sfu_registry_remove(reg, max_ok), 0);
	free(max_ok);
	free(too_long);
	free(way_too_long);
}

#define MANY 10000

/* Proves 10000 entries (forcing many growths) are all found with their own
 * ctx, removing every other one leaves exactly the rest, and the removed
 * ones can be added again. */
static void
test_registry_many_entries(void **state)
{
	struct sfu_registry *reg = *state;
	static int ctxs[MANY];
	sfu_method_cb h = NULL;
	void *c = NULL;
	char id[32];
	int i = 0;

	for (i = 0; i < MANY; i++) {
		snprintf(id, sizeof(id), "entity-%d", i);
		assert_int_equal(
		    sfu_registry_add(
		        reg, id, i % 2 ? handler_a : handler_b, &ctxs[i], NULL),
		    0);
		assert_int_equal(sfu_registry_count(reg), (size_t)i + 1);
	}
	for (i = 0; i < MANY; i++) {
		snprintf(id, sizeof(id), "entity-%d", i);
		expect_entry(reg, id, i % 2 ? handler_a : handler_b, &ctxs[i]);
	}
	for (i = 0; i < MANY; i += 2) {
		snprintf(id, sizeof(id), "entity-%d", i);
		assert_int_equal(sfu_registry_remove(reg, id), 0);
	}
	assert_int_equal(sfu_registry_count(reg), MANY / 2);
	for (i = 0; i < MANY; i++) {
		snprintf(id, sizeof(id), "entity-%d", i);
		if (i % 2 == 0) {
			assert_false(sfu_registry_lookup(reg, id, &h, &c));
		} else {
			expect_entry(reg, id, handler_a, &ctxs[i]);
		}
	}
	for (i = 0; i < MANY; i += 2) {
		snprintf(id, sizeof(id), "entity-%d", i);
		assert_int_equal(sfu_registry_add(reg, id, handler_a,
		                     &ctxs[MANY - 1 - i], NULL),
		    0);
	}
	assert_int_equal(sfu_registry_count(reg), MANY);
	for (i = 0; i < MANY; i++) {
		snprintf(id, sizeof(id), "entity-%d", i);
		expect_entry(
		    reg, id, handler_a, i % 2 ? &ctxs[i] : &ctxs[MANY - 1 - i]);
		assert_int_equal(sfu_registry_remove(reg, id), 0);
	}
	assert_int_equal(sfu_registry_count(reg), 0);
}

/* Proves an id removed can be registered again with another handler. */
static void
test_registry_remove_then_readd(void **state)
{
	struct sfu_registry *reg = *state;
	struct sfu_error err;
	int ctx1 = 1;
	int ctx2 = 2;

	assert_int_equal(
	    sfu_registry_add(reg, "c-1", handler_a, &ctx1, &err), 0);
	assert_int_equal(sfu_registry_remove(reg, "c-1"), 0);
	assert_int_equal(
	    sfu_registry_add(reg, "c-1", handler_b, &ctx2, &err), 0);
	expect_entry(reg, "c-1", handler_b, &ctx2);
	assert_int_equal(sfu_registry_count(reg), 1);
	assert_int_equal(sfu_registry_remove(reg, "c-1"), 0);
}

/* Packs the registry's ids and checks they are exactly want[0..n). */
static void
expect_dump(struct sfu_registry *reg, char (*want)[32], size_t n)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	msgpack_unpacked up;
	const msgpack_object *a = NULL;
	bool *seen = NULL;
	size_t off = 0;
	size_t i = 0;
	size_t j = 0;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	sfu_registry_dump_ids(reg, &pk);
	msgpack_unpacked_init(&up);
	assert_int_equal(msgpack_unpack_next(&up, sb.data, sb.size, &off),
	    MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, sb.size);
	a = &up.data;
	assert_int_equal(a->type, MSGPACK_OBJECT_ARRAY);
	assert_int_equal(a->via.array.size, n);
	seen = calloc(n + 1, sizeof(*seen));
	assert_non_null(seen);
	for (i = 0; i < n; i++) {
		for (j = 0; j < n; j++) {
			if (sfu_msg_str_eq(&a->via.array.ptr[i], want[j])) {
				break;
			}
		}
		assert_true(j < n);
		assert_false(seen[j]);
		seen[j] = true;
	}
	free(seen);
	msgpack_unpacked_destroy(&up);
	msgpack_sbuffer_destroy(&sb);
}

/* Proves dump_ids packs an empty array for an empty registry and every id
 * exactly once otherwise, also after growth and removals. */
static void
test_registry_dump_ids(void **state)
{
	struct sfu_registry *reg = *state;
	static char ids[100][32];
	char id[32];
	size_t n = 0;
	int i = 0;

	expect_dump(reg, ids, 0);
	for (i = 0; i < 100; i++) {
		snprintf(ids[i], sizeof(ids[i]), "id-%d", i);
		assert_int_equal(
		    sfu_registry_add(reg, ids[i], handler_a, NULL, NULL), 0);
	}
	expect_dump(reg, ids, 100);
	for (i = 0; i < 100; i++) {
		if (i % 3 == 0) {
			assert_int_equal(sfu_registry_remove(reg, ids[i]), 0);
		} else {
			memcpy(id, ids[i], sizeof(id));
			memcpy(ids[n++], id, sizeof(id));
		}
	}
	expect_dump(reg, ids, n);
	for (i = 0; i < (int)n; i++) {
		assert_int_equal(sfu_registry_remove(reg, ids[i]), 0);
	}
	expect_dump(reg, ids, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_registry_new_is_empty, setup_registry, teardown_registry),
	    cmocka_unit_test_setup_teardown(test_registry_add_lookup_remove,
	        setup_registry, teardown_registry),
	    cmocka_unit_test_setup_teardown(
	        test_registry_copies_id, setup_registry, teardown_registry),
	    cmocka_unit_test_setup_teardown(test_registry_refuses_duplicate,
	        setup_registry, teardown_registry),
	    cmocka_unit_test_setup_teardown(
	        test_registry_refuses_empty_and_too_long, setup_registry,
	        teardown_registry),
	    cmocka_unit_test_setup_teardown(
	        test_registry_many_entries, setup_registry, teardown_registry),
	    cmocka_unit_test_setup_teardown(test_registry_remove_then_readd,
	        setup_registry, teardown_registry),
	    cmocka_unit_test_setup_teardown(
	        test_registry_dump_ids, setup_registry, teardown_registry),
	};

	return cmocka_run_group_tests_name("registry", tests, NULL, NULL);
}
