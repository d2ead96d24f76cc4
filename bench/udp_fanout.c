/*
 * SPDX-License-Identifier: MIT
 *
 * The baseline of the fan-out benchmark (bench/fanout_bench.py): the least
 * a single-threaded forwarder can do to copy one UDP input to N outputs.
 * It reads 127.0.0.1:LISTEN_PORT with epoll + recvmmsg(2) (64 datagrams a
 * batch, as sfud's udp_handle does) and sends every datagram of the batch,
 * unchanged, to each of N destinations HOST:DEST_BASE+i. No RTP parsing,
 * no rewriting, no copies, no per-stream state.
 *
 * Socket layout, chosen to match sfud's: sfud sends each consumer's
 * packets from that consumer's own PlainTransport socket, so the baseline
 * opens N sending sockets, socket i sending to destination i only.
 *
 * -m mmsg (the default, the baseline proper): socket i is connected to
 *   destination i; per received batch, one sendmmsg(2) of the whole batch
 *   per socket.
 * -m sendto (for reference): unconnected sockets and one sendto(2) with
 *   the destination address per datagram per socket, which is the
 *   syscall pattern sfud's PlainTransports had before they batched
 *   their sends (docs/benchmarks.md).
 *
 *   udp_fanout [-m mmsg|sendto] LISTEN_PORT N DEST_HOST DEST_BASE_PORT
 *
 * Prints "ready" when bound; on SIGTERM/SIGINT prints
 *
 *   mode=mmsg received=R sent=S send_errors=E
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define FANOUT_BATCH 64
#define FANOUT_SLOT 1500
#define FANOUT_MAX_DESTS 4096
#define FANOUT_SOCKBUF_LEN (4 * 1024 * 1024)

static volatile sig_atomic_t fanout_stop;

static void
fanout_on_signal(int signo)
{
	(void)signo;
	fanout_stop = 1;
}

static void
fanout_sockbufs(int fd)
{
	int len = FANOUT_SOCKBUF_LEN;
	int r = 0;

	/* The same buffer sizes sfud asks for (udp_handle.c). */
	r = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &len, sizeof(len));
	if (r == -1) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &len, sizeof(len));
	}
	r = setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &len, sizeof(len));
	if (r == -1) {
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &len, sizeof(len));
	}
}

static void
fanout_usage(void)
{
	fprintf(stderr, "usage: udp_fanout [-m mmsg|sendto] LISTEN_PORT N "
	                "DEST_HOST DEST_BASE_PORT\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static uint8_t bufs[FANOUT_BATCH][FANOUT_SLOT];
	struct mmsghdr rm[FANOUT_BATCH];
	struct mmsghdr sm[FANOUT_BATCH];
	struct iovec riov[FANOUT_BATCH];
	struct iovec siov[FANOUT_BATCH];
	struct epoll_event ev;
	struct sockaddr_in sin;
	struct sockaddr_in *dest = NULL;
	struct sigaction sa;
	unsigned long listen_port = 0;
	unsigned long ndest = 0;
	unsigned long dest_base = 0;
	uint64_t received = 0;
	uint64_t sent = 0;
	uint64_t send_errors = 0;
	bool use_sendto = false;
	unsigned int i = 0;
	unsigned int d = 0;
	int *out = NULL;
	int in = -1;
	int ep = -1;
	int opt = 0;
	int got = 0;
	int done = 0;
	int r = 0;
	int n = 0;

	while ((opt = getopt(argc, argv, "m:")) != -1) {
		switch (opt) {
		case 'm':
			if (strcmp(optarg, "sendto") == 0) {
				use_sendto = true;
			} else if (strcmp(optarg, "mmsg") == 0) {
				use_sendto = false;
			} else {
				fanout_usage();
			}
			break;
		default:
			fanout_usage();
		}
	}
	if (argc - optind != 4) {
		fanout_usage();
	}
	listen_port = strtoul(argv[optind], NULL, 10);
	ndest = strtoul(argv[optind + 1], NULL, 10);
	dest_base = strtoul(argv[optind + 3], NULL, 10);
	if (listen_port == 0 || listen_port > 65535 || ndest == 0 ||
	    ndest > FANOUT_MAX_DESTS || dest_base == 0 ||
	    dest_base + ndest - 1 > 65535) {
		fanout_usage();
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fanout_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	in = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (in == -1) {
		perror("udp_fanout: socket");
		return 1;
	}
	fanout_sockbufs(in);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)listen_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r = bind(in, (struct sockaddr *)&sin, sizeof(sin));
	if (r == -1) {
		perror("udp_fanout: bind");
		return 1;
	}
	out = calloc(ndest, sizeof(*out));
	dest = calloc(ndest, sizeof(*dest));
	if (out == NULL || dest == NULL) {
		perror("udp_fanout: calloc");
		return 1;
	}
	for (d = 0; d < ndest; d++) {
		out[d] = socket(
		    AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (out[d] == -1) {
			perror("udp_fanout: socket");
			return 1;
		}
		fanout_sockbufs(out[d]);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)(dest_base + d));
		if (inet_pton(AF_INET, argv[optind + 2], &sin.sin_addr) != 1) {
			fprintf(stderr, "udp_fanout: bad IPv4 address '%s'\n",
			    argv[optind + 2]);
			return 2;
		}
		dest[d] = sin;
		if (use_sendto) {
			/* Bound like a transport socket, never connected. */
			sin.sin_port = 0;
			r = bind(out[d], (struct sockaddr *)&sin, sizeof(sin));
		} else {
			r = connect(
			    out[d], (struct sockaddr *)&sin, sizeof(sin));
		}
		if (r == -1) {
			perror("udp_fanout: bind/connect");
			return 1;
		}
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep == -1) {
		perror("udp_fanout: epoll_create1");
		return 1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	r = epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev);
	if (r == -1) {
		perror("udp_fanout: epoll_ctl");
		return 1;
	}
	for (i = 0; i < FANOUT_BATCH; i++) {
		riov[i].iov_base = bufs[i];
		riov[i].iov_len = FANOUT_SLOT;
		memset(&rm[i], 0, sizeof(rm[i]));
		rm[i].msg_hdr.msg_iov = &riov[i];
		rm[i].msg_hdr.msg_iovlen = 1;
		siov[i].iov_base = bufs[i];
		memset(&sm[i], 0, sizeof(sm[i]));
		sm[i].msg_hdr.msg_iov = &siov[i];
		sm[i].msg_hdr.msg_iovlen = 1;
	}
	printf("ready mode=%s sockets=%lu (one %s socket per destination, "
	       "%s)\n",
	    use_sendto ? "sendto" : "mmsg", ndest,
	    use_sendto ? "unconnected" : "connected",
	    use_sendto ? "one sendto() per datagram per socket"
	               : "one sendmmsg() per batch per socket");
	fflush(stdout);

	while (!fanout_stop) {
		n = epoll_wait(ep, &ev, 1, 200);
		if (n <= 0) {
			continue;
		}

		/* Drain at most one batch per wakeup, as sfud does. */
		got = recvmmsg(in, rm, FANOUT_BATCH, MSG_DONTWAIT, NULL);
		if (got <= 0) {
			continue;
		}
		received += (uint64_t)got;
		for (i = 0; i < (unsigned int)got; i++) {
			siov[i].iov_len = rm[i].msg_len;
		}
		for (d = 0; d < ndest; d++) {
			if (use_sendto) {
				for (i = 0; i < (unsigned int)got; i++) {
					r = (int)sendto(out[d], bufs[i],
					    rm[i].msg_len, 0,
					    (struct sockaddr *)&dest[d],
					    sizeof(dest[d]));
					if (r < 0) {
						send_errors++;
					} else {
						sent++;
					}
				}
				continue;
			}
			done = 0;
			while (done < got) {
				r = sendmmsg(out[d], sm + done,
				    (unsigned int)(got - done), 0);
				if (r <= 0) {
					/* EAGAIN, ECONNREFUSED: drop. */
					send_errors += (uint64_t)(got - done);
					break;
				}
				sent += (uint64_t)r;
				done += r;
			}
		}
	}
	printf("mode=%s received=%llu sent=%llu send_errors=%llu\n",
	    use_sendto ? "sendto" : "mmsg", (unsigned long long)received,
	    (unsigned long long)sent, (unsigned long long)send_errors);
	for (d = 0; d < ndest; d++) {
		close(out[d]);
	}
	free(out);
	free(dest);
	close(in);
	close(ep);
	return 0;
}
