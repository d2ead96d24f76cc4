/*
 * SPDX-License-Identifier: MIT
 *
 * sock_util: numeric addresses and the bind walk over a port range, shared
 * by udp_handle and tcp_server_handle.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/fd.h"
#include "common/handle/sock_util.h"

int
sfu_sock_util_parse_ip(const char *ip, struct sockaddr_storage *ss,
    socklen_t *sslen, struct sfu_error *err)
{
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	int r = 0;

	/* AI_NUMERICHOST: getaddrinfo never does a lookup, so never blocks. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	r = getaddrinfo(ip, NULL, &hints, &res);
	if (r != 0 || res == NULL || (size_t)res->ai_addrlen > sizeof(*ss)) {
		sfu_error_set(err, SFU_ERR_TYPE, "invalid IP address '%s'", ip);
		if (res != NULL) {
			freeaddrinfo(res);
		}
		return -1;
	}
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

uint16_t
sfu_sock_util_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		return ntohs(
		    ((const struct sockaddr_in *)(const void *)sa)->sin_port);
	}
	if (sa->sa_family == AF_INET6) {
		return ntohs(
		    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	}
	return 0;
}

void
sfu_sock_util_set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET) {
		((struct sockaddr_in *)(void *)ss)->sin_port = htons(port);
	} else if (ss->ss_family == AF_INET6) {
		((struct sockaddr_in6 *)(void *)ss)->sin6_port = htons(port);
	}
}

bool
sfu_sock_util_addr_equal(const struct sockaddr *a, const struct sockaddr *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)(const void *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)(const void *)b;
	const struct sockaddr_in6 *a6 =
	    (const struct sockaddr_in6 *)(const void *)a;
	const struct sockaddr_in6 *b6 =
	    (const struct sockaddr_in6 *)(const void *)b;

	if (a->sa_family != b->sa_family) {
		return false;
	}
	if (a->sa_family == AF_INET) {
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	}
	if (a->sa_family == AF_INET6) {
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	}
	return false;
}

const char *
sfu_sock_util_ip_str(const struct sockaddr *sa, char *buf, size_t size)
{
	const struct sockaddr_in *sin = NULL;
	const struct sockaddr_in6 *sin6 = NULL;

	if (size > 0) {
		buf[0] = '\0';
	}
	if (sa != NULL && sa->sa_family == AF_INET) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)size);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, (socklen_t)size);
	}
	return buf;
}

const char *
sfu_sock_util_addr_str(const struct sockaddr *sa, char *buf, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "";

	if (sa == NULL) {
		snprintf(buf, size, "?");
	} else if (sa->sa_family == AF_INET) {
		snprintf(buf, size, "%s:%u",
		    sfu_sock_util_ip_str(sa, ip, sizeof(ip)),
		    sfu_sock_util_port(sa));
	} else if (sa->sa_family == AF_INET6) {
		snprintf(buf, size, "[%s]:%u",
		    sfu_sock_util_ip_str(sa, ip, sizeof(ip)),
		    sfu_sock_util_port(sa));
	} else {
		snprintf(buf, size, "family %d", (int)sa->sa_family);
	}
	return buf;
}

static uint32_t
sock_util_random(void)
{
	uint32_t r = 0;
	ssize_t n = 0;

	n = getrandom(&r, sizeof(r), GRND_NONBLOCK);
	if (n != (ssize_t)sizeof(r)) {
		r = (uint32_t)sfu_clock_mono_us() ^ (uint32_t)getpid();
	}
	return r;
}

/* A fresh socket for family with the options every bind attempt needs. */
static int
sock_util_open(int family, int type, const char *ip, struct sfu_error *err)
{
	int on = 1;
	int fd = -1;
	int r = 0;
	int e = 0;

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "socket(%s) failed: %s", ip,
		    strerror(e));
		goto fail;
	}
	if (family == AF_INET6) {
		r = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
		if (r == -1) {
			e = errno;
			sfu_error_set(err, SFU_ERR_ERROR,
			    "setsockopt(%s, IPV6_V6ONLY) failed: %s", ip,
			    strerror(e));
			goto fail;
		}
	}

	/*
	 * A listener restarted while connections of its previous life sit in
	 * TIME_WAIT must still bind its port.
	 */
	if (type == SOCK_STREAM) {
		r = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
		if (r == -1) {
			e = errno;
			sfu_error_set(err, SFU_ERR_ERROR,
			    "setsockopt(%s, SO_REUSEADDR) failed: %s", ip,
			    strerror(e));
			goto fail;
		}
	}
	return fd;
fail:
	sfu_fd_close(&fd);
	return -1;
}

/*
 * Binds *fd to ss (and listens, for streams). Returns 0, or the errno of
 * the failing call with *what naming it. A stream socket that bound but
 * could not listen is replaced by a fresh unbound one (it cannot bind
 * again); if that fails, *fd is -1 and err is set.
 */
static int
sock_util_try(int *fd, int type, const struct sockaddr_storage *ss,
    socklen_t sslen, int backlog, const char *ip, const char **what,
    struct sfu_error *err)
{
	int r = 0;
	int e = 0;

	*what = "bind";
	r = bind(*fd, (const struct sockaddr *)ss, sslen);
	if (r == -1) {
		return errno;
	}
	if (type != SOCK_STREAM) {
		return 0;
	}
	*what = "listen";
	r = listen(*fd, backlog);
	if (r == 0) {
		return 0;
	}
	e = errno;
	sfu_fd_close(fd);
	*fd = sock_util_open(ss->ss_family, type, ip, err);
	return e;
}

int
sfu_sock_util_bind(const char *ip, int type, uint16_t port, uint16_t min_port,
    uint16_t max_port, int backlog, int *fd_out, uint16_t *port_out,
    struct sfu_error *err)
{
	struct sockaddr_storage ss;
	const char *proto = type == SOCK_STREAM ? "tcp" : "udp";
	const char *what = "bind";
	socklen_t sslen = 0;
	uint32_t count = 0;
	uint32_t offset = 0;
	uint32_t i = 0;
	uint16_t p = 0;
	int fd = -1;
	int r = 0;
	int e = 0;

	r = sfu_sock_util_parse_ip(ip, &ss, &sslen, err);
	if (r == -1) {
		goto fail;
	}
	if (port == 0 &&
	    (min_port > max_port || (min_port == 0 && max_port != 0))) {
		sfu_error_set(err, SFU_ERR_TYPE, "invalid port range [%u, %u]",
		    min_port, max_port);
		goto fail;
	}
	fd = sock_util_open(ss.ss_family, type, ip, err);
	if (fd == -1) {
		goto fail;
	}
	if (port != 0 || max_port == 0) {
		sfu_sock_util_set_port(&ss, port);
		e = sock_util_try(
		    &fd, type, &ss, sslen, backlog, ip, &what, err);
		if (e == EADDRINUSE && port != 0) {
			sfu_error_set(err, SFU_ERR_ERROR,
			    "port %u in use on %s", port, ip);
			goto fail;
		}
		if (e != 0) {
			sfu_error_set(err, SFU_ERR_ERROR,
			    "%s(%s port %u) failed: %s", what, ip, port,
			    strerror(e));
			goto fail;
		}
	} else {
		count = (uint32_t)max_port - min_port + 1;
		offset = sock_util_random() % count;
		for (i = 0; i < count; i++) {
			p = (uint16_t)(min_port + (offset + i) % count);
			sfu_sock_util_set_port(&ss, p);
			e = sock_util_try(
			    &fd, type, &ss, sslen, backlog, ip, &what, err);
			if (e == 0) {
				break;
			}
			if (fd == -1) {
				goto fail; /* no fresh socket: err is set */
			}
			if (e != EADDRINUSE) {
				sfu_error_set(err, SFU_ERR_ERROR,
				    "%s(%s port %u) failed: %s", what, ip, p,
				    strerror(e));
				goto fail;
			}
		}
		if (i == count) {
			sfu_error_set(err, SFU_ERR_ERROR,
			    "no free %s port in [%u, %u] on %s", proto,
			    min_port, max_port, ip);
			goto fail;
		}
	}
	sslen = sizeof(ss);
	r = getsockname(fd, (struct sockaddr *)&ss, &sslen);
	if (r == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "getsockname(%s) failed: %s",
		    ip, strerror(e));
		goto fail;
	}
	if (port_out != NULL) {
		*port_out = sfu_sock_util_port((struct sockaddr *)&ss);
	}
	*fd_out = fd;
	return 0;
fail:
	sfu_fd_close(&fd);
	return -1;
}
