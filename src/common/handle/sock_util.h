/*
 * SPDX-License-Identifier: MIT
 *
 * Socket helpers shared by the udp and tcp handles: parsing a numeric
 * address, reading and writing the port of a sockaddr, printing one, and
 * opening a socket bound to an exact port or to a free port of a range
 * (tried once each from a random offset). No libevent here.
 */
#ifndef SFU_COMMON_SOCK_UTIL_H
#define SFU_COMMON_SOCK_UTIL_H

#include <sys/types.h>
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

/* Enough for "[<INET6_ADDRSTRLEN>]:65535". */
#define SFU_SOCK_UTIL_ADDR_STR_LEN 64

/*
 * Parses ip, a numeric IPv4 or IPv6 address (never a name: nothing here
 * blocks), into ss with port 0. Returns 0, or -1 with err set (TypeError,
 * "invalid IP address 'x'").
 */
int sfu_sock_util_parse_ip(const char *ip, struct sockaddr_storage *ss,
    socklen_t *sslen, struct sfu_error *err);

/* The port of an AF_INET or AF_INET6 address, else 0. */
uint16_t sfu_sock_util_port(const struct sockaddr *sa);
/* Same family, address and port (AF_INET, AF_INET6); else false. */
bool sfu_sock_util_addr_equal(
    const struct sockaddr *a, const struct sockaddr *b);
/* Sets the port of an AF_INET or AF_INET6 address; others are left as is. */
void sfu_sock_util_set_port(struct sockaddr_storage *ss, uint16_t port);

/* The numeric address of an AF_INET or AF_INET6 sockaddr ("1.2.3.4",
 * "::1"), else "", into buf; returns buf. */
const char *sfu_sock_util_ip_str(
    const struct sockaddr *sa, char *buf, size_t size);
/* "1.2.3.4:5", "[::1]:5", "?" (NULL) or "family N" into buf; returns buf. */
const char *sfu_sock_util_addr_str(
    const struct sockaddr *sa, char *buf, size_t size);

/*
 * Opens a non-blocking, close-on-exec socket of type SOCK_DGRAM or
 * SOCK_STREAM for ip (a numeric IPv4 or IPv6 address; IPv6 sockets are
 * IPV6_V6ONLY) and binds it. With port != 0 binds exactly that port. With
 * port 0 tries each port of [min_port, max_port] once, starting at a random
 * offset (concurrent callers spread over the range instead of racing for
 * min_port), moving on when one is in use; min_port = max_port = 0 lets the
 * kernel choose. SOCK_STREAM sockets get SO_REUSEADDR and are listening
 * with backlog when this returns; a port that binds but cannot be listened
 * on (EADDRINUSE: another SO_REUSEADDR socket bound it first) counts as in
 * use. Returns 0 with the fd (owned by the caller) in *fd_out and the bound
 * port in *port_out (may be NULL), or -1 with err set: "port N in use on
 * IP", "no free udp port in [min, max] on IP" ("tcp" for streams), "invalid
 * port range [min, max]", or the failing call and its errno.
 */
int sfu_sock_util_bind(const char *ip, int type, uint16_t port,
    uint16_t min_port, uint16_t max_port, int backlog, int *fd_out,
    uint16_t *port_out, struct sfu_error *err);

#endif
