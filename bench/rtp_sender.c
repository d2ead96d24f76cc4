/*
 * SPDX-License-Identifier: MIT
 *
 * RTP load sender for the fan-out benchmark (bench/fanout_bench.py): sends
 * audio RTP packets (RFC 3550 header: version 2, payload type, sequence
 * number +1 per packet, timestamp +960 per packet, i.e. one 20 ms Opus
 * frame at 48 kHz per packet, fixed SSRC) of a fixed size to one host:port
 * at a fixed packet rate, for a fixed time. The rate is kept by a token
 * bucket refilled from the monotonic clock; packets leave in sendmmsg(2)
 * batches of at most -b. Rate 0 sends as fast as the socket takes them
 * (the overload case). Audio is used on purpose: the SFU gates no audio
 * packet on a key frame, so every packet is forwardable.
 *
 *   rtp_sender [-r PPS] [-d SECONDS] [-s PAYLOAD_LEN] [-p PT] [-S SSRC]
 *              [-q FIRST_SEQ] [-b BATCH] [-l LOCAL_PORT] HOST PORT
 *
 * -l binds the source port (SO_REUSEADDR), so that successive runs look
 * like the same peer to a comedia PlainTransport, which locks onto the
 * first source it sees. Prints one line:
 *
 *   sent=N seconds=T pps=R seq_next=Q errors=E
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
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SENDER_MAX_BATCH 256
#define SENDER_MAX_PAYLOAD 1400
#define SENDER_RTP_HEADER_LEN 12
#define SENDER_TS_STEP 960 /* 20 ms at 48 kHz */

static volatile sig_atomic_t sender_stop;

static void
sender_on_signal(int signo)
{
	(void)signo;
	sender_stop = 1;
}

static uint64_t
sender_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
sender_usage(void)
{
	fprintf(stderr, "usage: rtp_sender [-r PPS (0: as fast as "
	                "possible)] [-d SECONDS] [-s PAYLOAD_LEN]\n"
	                "                  [-p PT] [-S SSRC] [-q FIRST_SEQ] "
	                "[-b BATCH] [-l LOCAL_PORT] HOST PORT\n");
	exit(2);
}

static unsigned long
sender_num(const char *s, unsigned long max)
{
	char *end = NULL;
	unsigned long v = 0;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno != 0 || end == s || *end != '\0' || v > max) {
		fprintf(stderr, "rtp_sender: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static uint8_t pkts[SENDER_MAX_BATCH]
	                   [SENDER_RTP_HEADER_LEN + SENDER_MAX_PAYLOAD];
	struct mmsghdr mm[SENDER_MAX_BATCH];
	struct iovec iov[SENDER_MAX_BATCH];
	struct sockaddr_in to;
	struct sockaddr_in local;
	struct sigaction sa;
	struct timespec nap;
	unsigned long rate = 1000;
	double duration_s = 2.0;
	unsigned long payload_len = 1000;
	unsigned long pt = 111;
	unsigned long ssrc = 0x11223344;
	unsigned long batch = 32;
	unsigned long local_port = 0;
	uint16_t seq = 0;
	uint32_t ts = 0;
	uint64_t start = 0;
	uint64_t end = 0;
	uint64_t now = 0;
	uint64_t sent = 0;
	uint64_t allowed = 0;
	uint64_t errors = 0;
	unsigned int n = 0;
	unsigned int i = 0;
	size_t len = 0;
	int one = 1;
	int opt = 0;
	int fd = -1;
	int r = 0;

	while ((opt = getopt(argc, argv, "r:d:s:p:S:q:b:l:")) != -1) {
		switch (opt) {
		case 'r':
			rate = sender_num(optarg, 100000000);
			break;
		case 'd':
			duration_s = atof(optarg);
			break;
		case 's':
			payload_len = sender_num(optarg, SENDER_MAX_PAYLOAD);
			break;
		case 'p':
			pt = sender_num(optarg, 127);
			break;
		case 'S':
			ssrc = sender_num(optarg, UINT32_MAX);
			break;
		case 'q':
			seq = (uint16_t)sender_num(optarg, UINT16_MAX);
			break;
		case 'b':
			batch = sender_num(optarg, SENDER_MAX_BATCH);
			break;
		case 'l':
			local_port = sender_num(optarg, UINT16_MAX);
			break;
		default:
			sender_usage();
		}
	}
	if (argc - optind != 2 || batch == 0 || duration_s <= 0) {
		sender_usage();
	}
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)sender_num(argv[optind + 1], 65535));
	if (inet_pton(AF_INET, argv[optind], &to.sin_addr) != 1) {
		fprintf(stderr, "rtp_sender: bad IPv4 address '%s'\n",
		    argv[optind]);
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sender_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		perror("rtp_sender: socket");
		return 1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (local_port != 0) {
		memset(&local, 0, sizeof(local));
		local.sin_family = AF_INET;
		local.sin_port = htons((uint16_t)local_port);
		local.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		r = bind(fd, (struct sockaddr *)&local, sizeof(local));
		if (r == -1) {
			perror("rtp_sender: bind");
			return 1;
		}
	}
	r = connect(fd, (struct sockaddr *)&to, sizeof(to));
	if (r == -1) {
		perror("rtp_sender: connect");
		return 1;
	}

	len = SENDER_RTP_HEADER_LEN + payload_len;
	for (i = 0; i < SENDER_MAX_BATCH; i++) {
		memset(pkts[i], 0xa5, sizeof(pkts[i]));
		pkts[i][0] = 0x80; /* V=2, no padding, no extension, CC=0 */
		pkts[i][1] = (uint8_t)pt; /* marker 0 */
		pkts[i][8] = (uint8_t)(ssrc >> 24);
		pkts[i][9] = (uint8_t)(ssrc >> 16);
		pkts[i][10] = (uint8_t)(ssrc >> 8);
		pkts[i][11] = (uint8_t)ssrc;
		/* Opus TOC: config 31 (CELT FB 20 ms), stereo, one frame. */
		pkts[i][12] = 0xfc;
		iov[i].iov_base = pkts[i];
		iov[i].iov_len = len;
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	ts = (uint32_t)seq * SENDER_TS_STEP;

	start = sender_now_ns();
	end = start + (uint64_t)(duration_s * 1e9);
	while (!sender_stop) {
		now = sender_now_ns();
		if (now >= end) {
			break;
		}
		if (rate == 0) {
			n = (unsigned int)batch;
		} else {
			allowed = (now - start) * rate / 1000000000u;
			if (allowed <= sent) {
				/* Sleep about one batch worth, at most 1 ms. */
				nap.tv_sec = 0;
				nap.tv_nsec = (long)(1000000000u / rate);
				if (nap.tv_nsec > 1000000) {
					nap.tv_nsec = 1000000;
				}
				nanosleep(&nap, NULL);
				continue;
			}
			n = allowed - sent > batch
			        ? (unsigned int)batch
			        : (unsigned int)(allowed - sent);
		}
		for (i = 0; i < n; i++) {
			pkts[i][2] = (uint8_t)((uint16_t)(seq + i) >> 8);
			pkts[i][3] = (uint8_t)(seq + i);
			pkts[i][4] = (uint8_t)((ts + i * SENDER_TS_STEP) >> 24);
			pkts[i][5] = (uint8_t)((ts + i * SENDER_TS_STEP) >> 16);
			pkts[i][6] = (uint8_t)((ts + i * SENDER_TS_STEP) >> 8);
			pkts[i][7] = (uint8_t)(ts + i * SENDER_TS_STEP);
		}
		r = sendmmsg(fd, mm, n, 0);
		if (r < 0) {
			if (errno != EINTR && errno != EAGAIN &&
			    errno != ENOBUFS && errno != ECONNREFUSED) {
				perror("rtp_sender: sendmmsg");
				return 1;
			}
			errors++;
			continue;
		}
		seq = (uint16_t)(seq + (unsigned int)r);
		ts += (uint32_t)r * SENDER_TS_STEP;
		sent += (uint64_t)r;
	}
	now = sender_now_ns();
	printf("sent=%llu seconds=%.3f pps=%.0f seq_next=%u errors=%llu\n",
	    (unsigned long long)sent, (double)(now - start) / 1e9,
	    (double)sent * 1e9 / (double)(now - start), (unsigned int)seq,
	    (unsigned long long)errors);
	close(fd);
	return 0;
}
