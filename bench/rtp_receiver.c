/*
 * SPDX-License-Identifier: MIT
 *
 * RTP sink for the fan-out benchmark (bench/fanout_bench.py): binds K UDP
 * ports on 127.0.0.1 (BASE_PORT, BASE_PORT+1, ...), waits on them with
 * epoll and drains each ready socket with recvmmsg(2). Only the first
 * bytes of each datagram are copied (the RTP header; MSG_TRUNC gives the
 * real length), so that the sink stays cheap next to the process under
 * test. Per port it counts RTP packets and bytes, and sequence gaps
 * (RFC 3550 extended sequence numbers: lost = expected - received, where
 * expected runs from the first to the highest sequence number seen, per
 * SSRC change). RTCP (second byte 192..223, RFC 5761) and non-RTP
 * datagrams are counted apart and otherwise ignored.
 *
 *   rtp_receiver [-d SECONDS] [-v] BASE_PORT COUNT
 *
 * Prints "ready" once every port is bound, then runs until SIGTERM/SIGINT
 * or -d seconds, and prints one summary line (and with -v one line per
 * port):
 *
 *   ports=K packets=P bytes=B rtcp=R other=O lost=L gaps=G loss_pct=X
 *   active_s=T pps=Q min_port_packets=A max_port_packets=Z
 *
 * active_s runs from the first to the last RTP packet received.
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
#include <time.h>
#include <unistd.h>

#define RECEIVER_BATCH 64
#define RECEIVER_COPY_LEN 64 /* bytes of each datagram we look at */
#define RECEIVER_MAX_PORTS 4096
#define RECEIVER_SOCKBUF_LEN (4 * 1024 * 1024)

struct receiver_port {
	int fd;
	uint16_t port;
	bool started; /* a first RTP packet was seen */
	uint32_t ssrc;
	uint16_t max_seq;     /* highest sequence number seen */
	uint32_t cycles;      /* sequence number wrap-arounds, << 16 */
	uint32_t base_seq;    /* first extended sequence number */
	uint64_t received;    /* RTP packets since the first one */
	uint64_t lost_before; /* lost in earlier SSRC segments */
	uint64_t gaps;        /* jumps forward by more than one */
	uint64_t packets;
	uint64_t bytes;
	uint64_t rtcp;
	uint64_t other;
};

static volatile sig_atomic_t receiver_stop;

static void
receiver_on_signal(int signo)
{
	(void)signo;
	receiver_stop = 1;
}

static uint64_t
receiver_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
receiver_port_lost(const struct receiver_port *p)
{
	uint64_t expected = 0;
	uint64_t lost = p->lost_before;

	if (p->started) {
		expected = (uint64_t)(p->cycles + p->max_seq) - p->base_seq + 1;
		if (expected > p->received) {
			lost += expected - p->received;
		}
	}
	return lost;
}

static void
receiver_on_rtp(struct receiver_port *p, const uint8_t *d)
{
	uint16_t seq = (uint16_t)(d[2] << 8 | d[3]);
	uint32_t ssrc = (uint32_t)d[8] << 24 | (uint32_t)d[9] << 16 |
	                (uint32_t)d[10] << 8 | d[11];
	uint16_t delta = 0;

	if (p->started && ssrc != p->ssrc) {
		/* A new stream on this port: close the old segment. */
		p->lost_before = receiver_port_lost(p);
		p->started = false;
	}
	if (!p->started) {
		p->started = true;
		p->ssrc = ssrc;
		p->max_seq = seq;
		p->cycles = 0;
		p->base_seq = seq;
		p->received = 1;
		return;
	}
	p->received++;
	delta = (uint16_t)(seq - p->max_seq);
	if (delta == 0 || delta >= 0x8000) {
		/* Duplicate or late: counted as received, no new maximum. */
		return;
	}
	if (delta > 1) {
		p->gaps++;
	}
	if (seq < p->max_seq) {
		p->cycles += 1u << 16;
	}
	p->max_seq = seq;
}

static void
receiver_usage(void)
{
	fprintf(stderr, "usage: rtp_receiver [-d SECONDS] [-v] BASE_PORT "
	                "COUNT\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static uint8_t bufs[RECEIVER_BATCH][RECEIVER_COPY_LEN];
	static struct epoll_event evs[256];
	struct mmsghdr mm[RECEIVER_BATCH];
	struct iovec iov[RECEIVER_BATCH];
	struct receiver_port *ports = NULL;
	struct receiver_port *p = NULL;
	struct sockaddr_in sin;
	struct epoll_event ev;
	struct sigaction sa;
	double duration_s = 0;
	uint64_t deadline = 0;
	uint64_t first_ns = 0;
	uint64_t last_ns = 0;
	uint64_t packets = 0;
	uint64_t bytes = 0;
	uint64_t rtcp = 0;
	uint64_t other = 0;
	uint64_t lost = 0;
	uint64_t gaps = 0;
	uint64_t minp = UINT64_MAX;
	uint64_t maxp = 0;
	unsigned long base = 0;
	unsigned long count = 0;
	unsigned int i = 0;
	bool verbose = false;
	double active = 0;
	int sockbuf = RECEIVER_SOCKBUF_LEN;
	int timeout_ms = 0;
	int ep = -1;
	int opt = 0;
	int n = 0;
	int k = 0;
	int r = 0;
	int j = 0;

	while ((opt = getopt(argc, argv, "d:v")) != -1) {
		switch (opt) {
		case 'd':
			duration_s = atof(optarg);
			break;
		case 'v':
			verbose = true;
			break;
		default:
			receiver_usage();
		}
	}
	if (argc - optind != 2) {
		receiver_usage();
	}
	base = strtoul(argv[optind], NULL, 10);
	count = strtoul(argv[optind + 1], NULL, 10);
	if (base == 0 || count == 0 || count > RECEIVER_MAX_PORTS ||
	    base + count - 1 > 65535) {
		receiver_usage();
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = receiver_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep == -1) {
		perror("rtp_receiver: epoll_create1");
		return 1;
	}
	ports = calloc(count, sizeof(*ports));
	if (ports == NULL) {
		perror("rtp_receiver: calloc");
		return 1;
	}
	for (i = 0; i < count; i++) {
		p = &ports[i];
		p->port = (uint16_t)(base + i);
		p->fd = socket(
		    AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (p->fd == -1) {
			perror("rtp_receiver: socket");
			return 1;
		}

		/* Force past rmem_max when we may (root), like sfud does. */
		r = setsockopt(p->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sockbuf,
		    sizeof(sockbuf));
		if (r == -1) {
			(void)setsockopt(p->fd, SOL_SOCKET, SO_RCVBUF, &sockbuf,
			    sizeof(sockbuf));
		}
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(p->port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		r = bind(p->fd, (struct sockaddr *)&sin, sizeof(sin));
		if (r == -1) {
			fprintf(stderr,
			    "rtp_receiver: bind(127.0.0.1:%u) "
			    "failed: %s\n",
			    p->port, strerror(errno));
			return 1;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = p;
		r = epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
		if (r == -1) {
			perror("rtp_receiver: epoll_ctl");
			return 1;
		}
	}
	for (i = 0; i < RECEIVER_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = RECEIVER_COPY_LEN;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	printf("ready\n");
	fflush(stdout);

	if (duration_s > 0) {
		deadline = receiver_now_ns() + (uint64_t)(duration_s * 1e9);
	}
	while (!receiver_stop) {
		timeout_ms = 100;
		if (deadline != 0) {
			uint64_t now = receiver_now_ns();

			if (now >= deadline) {
				break;
			}
			if ((deadline - now) / 1000000u < 100) {
				timeout_ms =
				    (int)((deadline - now) / 1000000u) + 1;
			}
		}
		n = epoll_wait(ep, evs, 256, timeout_ms);
		if (n == -1) {
			if (errno == EINTR) {
				continue;
			}
			perror("rtp_receiver: epoll_wait");
			return 1;
		}
		for (k = 0; k < n; k++) {
			p = evs[k].data.ptr;

			/* One batch per socket per round, as sfud does. */
			r = recvmmsg(
			    p->fd, mm, RECEIVER_BATCH, MSG_TRUNC, NULL);
			if (r <= 0) {
				continue;
			}
			last_ns = receiver_now_ns();
			for (j = 0; j < r; j++) {
				const uint8_t *d = bufs[j];
				unsigned int len = mm[j].msg_len;

				if (len < 12 || (d[0] & 0xc0) != 0x80) {
					p->other++;
				} else if (d[1] >= 192 && d[1] <= 223) {
					p->rtcp++;
				} else {
					if (first_ns == 0) {
						first_ns = last_ns;
					}
					p->packets++;
					p->bytes += len;
					receiver_on_rtp(p, d);
				}
			}
		}
	}

	for (i = 0; i < count; i++) {
		p = &ports[i];
		packets += p->packets;
		bytes += p->bytes;
		rtcp += p->rtcp;
		other += p->other;
		gaps += p->gaps;
		lost += receiver_port_lost(p);
		if (p->packets < minp) {
			minp = p->packets;
		}
		if (p->packets > maxp) {
			maxp = p->packets;
		}
		if (verbose) {
			printf("port=%u packets=%llu lost=%llu gaps=%llu "
			       "rtcp=%llu\n",
			    p->port, (unsigned long long)p->packets,
			    (unsigned long long)receiver_port_lost(p),
			    (unsigned long long)p->gaps,
			    (unsigned long long)p->rtcp);
		}
		close(p->fd);
	}
	active = first_ns != 0 ? (double)(last_ns - first_ns) / 1e9 : 0;
	printf("ports=%lu packets=%llu bytes=%llu rtcp=%llu other=%llu "
	       "lost=%llu gaps=%llu loss_pct=%.3f active_s=%.3f pps=%.0f "
	       "min_port_packets=%llu max_port_packets=%llu\n",
	    count, (unsigned long long)packets, (unsigned long long)bytes,
	    (unsigned long long)rtcp, (unsigned long long)other,
	    (unsigned long long)lost, (unsigned long long)gaps,
	    packets + lost > 0 ? 100.0 * (double)lost / (double)(packets + lost)
	                       : 0.0,
	    active, active > 0 ? (double)packets / active : 0.0,
	    (unsigned long long)minp, (unsigned long long)maxp);
	free(ports);
	close(ep);
	return 0;
}
