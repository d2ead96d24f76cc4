/*
 * SPDX-License-Identifier: MIT
 *
 * MessagePack helpers: decoding one message into an object tree, reading a
 * request's envelope, typed access to map fields with errors that name the
 * field path ("data.listenInfo.port: expected uint16"), and a builder for
 * requests, responses and notifications. The daemon speaks no JSON.
 */
#ifndef SFU_COMMON_MSG_H
#define SFU_COMMON_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/error.h"

#define SFU_MSG_METHOD_MAX	64	/* bytes, NUL included */
#define SFU_MSG_ID_MAX		128	/* handlerId / targetId, NUL included */
#define SFU_MSG_PATH_MAX	128	/* field path in error messages */
/* Nesting bound: msgpack-c recurses; deeper input is rejected first. */
#define SFU_MSG_MAX_DEPTH	32
/*
 * Items (scalars, keys, values, containers) in one message: msgpack-c
 * spends ~24 bytes of tree per item, so this bounds one message's tree at
 * about 6 MiB however its 4 MiB are filled. Real requests use hundreds.
 */
#define SFU_MSG_MAX_ITEMS	(256u * 1024)

/* --- decoding --- */

struct sfu_msg {
	msgpack_unpacked	 unpacked;	/* owned: zone of the tree */
	const msgpack_object	*root;		/* borrowed from unpacked: a map */
};

/*
 * Decodes exactly one MessagePack map from data. Returns 0, or -1 with err
 * (SFU_ERR_TYPE: "invalid MessagePack", "trailing bytes after message",
 * "message is not a map", "message nested too deep"). Call
 * sfu_msg_release() in both cases. Strings in the tree point into data
 * (msgpack-c does not copy them): data must outlive the tree.
 */
int	sfu_msg_decode(struct sfu_msg *m, const uint8_t *data, size_t len,
	    struct sfu_error *err);
void	sfu_msg_release(struct sfu_msg *m);

/*
 * The envelope of a request (DESIGN §3). Strings are copied, NUL
 * terminated; data points into the sfu_msg it was parsed from.
 */
struct sfu_msg_request {
	bool			 has_id;
	uint32_t		 id;
	char			 method[SFU_MSG_METHOD_MAX];
	bool			 has_handler_id;
	char			 handler_id[SFU_MSG_ID_MAX];
	bool			 has_worker;
	int64_t			 worker;
	const msgpack_object	*data;	/* borrowed, a map or NULL */
};

/*
 * Reads id, method, handlerId, worker and data from root. On error returns
 * -1 with an SFU_ERR_TYPE err naming the field; has_id tells whether the id
 * could still be read (to address the error response).
 */
int	sfu_msg_parse_request(const msgpack_object *root,
	    struct sfu_msg_request *req, struct sfu_error *err);

/*
 * Best effort: finds a top-level "id" uint32 in the first len bytes of a
 * (possibly truncated) map, skipping scalar and string values before it.
 */
bool	sfu_msg_peek_id(const uint8_t *data, size_t len, uint32_t *id);

/* --- typed field access --- */

#define SFU_MSG_REQUIRED	0
#define SFU_MSG_OPTIONAL	1

/* The value under a string key in map, or NULL (also when map is no map). */
const msgpack_object *sfu_msg_map_get(const msgpack_object *map,
	    const char *key);

/*
 * Each getter looks up key in map and checks its type. Returns 1 when the
 * value is there and valid (stored in *out), 0 when absent and flags is
 * SFU_MSG_OPTIONAL (*out untouched), -1 otherwise with err set to
 * "<path>.<key>: expected <type>" or "<path>.<key>: missing" (kind
 * SFU_ERR_TYPE). path may be NULL or "" for top-level fields. A nil value
 * counts as absent. Strings must be valid UTF-8 ("expected UTF-8
 * string" otherwise).
 */
int	sfu_msg_get_str(const msgpack_object *map, const char *path,
	    const char *key, int flags, const char **out, size_t *len,
	    struct sfu_error *err);
/* Like get_str, copied into buf (NUL terminated); too long is an error. */
int	sfu_msg_get_strbuf(const msgpack_object *map, const char *path,
	    const char *key, int flags, char *buf, size_t size,
	    struct sfu_error *err);
int	sfu_msg_get_bool(const msgpack_object *map, const char *path,
	    const char *key, int flags, bool *out, struct sfu_error *err);
/* An unsigned integer <= max; the error names uint8/16/32/64 for those maxima. */
int	sfu_msg_get_uint(const msgpack_object *map, const char *path,
	    const char *key, int flags, uint64_t max, uint64_t *out,
	    struct sfu_error *err);
int	sfu_msg_get_int(const msgpack_object *map, const char *path,
	    const char *key, int flags, int64_t min, int64_t max, int64_t *out,
	    struct sfu_error *err);
/* A number (integer or float). */
int	sfu_msg_get_double(const msgpack_object *map, const char *path,
	    const char *key, int flags, double *out, struct sfu_error *err);
int	sfu_msg_get_map(const msgpack_object *map, const char *path,
	    const char *key, int flags, const msgpack_object **out,
	    struct sfu_error *err);
int	sfu_msg_get_array(const msgpack_object *map, const char *path,
	    const char *key, int flags, const msgpack_object **out,
	    struct sfu_error *err);

/* "<parent>.<key>" (or "<key>") into buf, truncated to fit. */
const char *sfu_msg_path(char *buf, size_t size, const char *parent,
	    const char *key);
/* "<parent>[<index>]" into buf. */
const char *sfu_msg_path_index(char *buf, size_t size, const char *parent,
	    size_t index);
/* RFC 3629: well-formed UTF-8 (no overlongs, no surrogates). */
bool	sfu_msg_utf8_valid(const uint8_t *p, size_t len);
/* True when o is a string equal to s. */
bool	sfu_msg_str_eq(const msgpack_object *o, const char *s);

/* --- building --- */

struct sfu_msg_builder {
	msgpack_sbuffer	 sbuf;	/* owned */
	msgpack_packer	 pk;
};

void	sfu_msg_builder_init(struct sfu_msg_builder *b);
void	sfu_msg_builder_release(struct sfu_msg_builder *b);
/* Empties the buffer for the next message (keeps the memory). */
void	sfu_msg_builder_reset(struct sfu_msg_builder *b);

/*
 * Each begin_* resets b and writes the envelope. With has_data the last
 * key written is "data": the caller packs exactly one value (usually a map)
 * next. The message is then b->sbuf.data / b->sbuf.size.
 */
msgpack_packer *sfu_msg_begin_response(struct sfu_msg_builder *b, uint32_t id,
	    bool has_data);
void	sfu_msg_build_error(struct sfu_msg_builder *b, uint32_t id,
	    enum sfu_error_kind kind, const char *reason);
msgpack_packer *sfu_msg_begin_notification(struct sfu_msg_builder *b,
	    const char *target_id, const char *event, bool has_data);
msgpack_packer *sfu_msg_begin_request(struct sfu_msg_builder *b, uint32_t id,
	    const char *method, const char *handler_id, bool has_data);

void	sfu_msg_pack_str(msgpack_packer *pk, const char *s);
void	sfu_msg_pack_strn(msgpack_packer *pk, const char *s, size_t len);
void	sfu_msg_pack_kv_str(msgpack_packer *pk, const char *key,
	    const char *val);
void	sfu_msg_pack_kv_uint(msgpack_packer *pk, const char *key,
	    uint64_t val);
void	sfu_msg_pack_kv_int(msgpack_packer *pk, const char *key, int64_t val);
void	sfu_msg_pack_kv_bool(msgpack_packer *pk, const char *key, bool val);
void	sfu_msg_pack_kv_double(msgpack_packer *pk, const char *key,
	    double val);

#endif
