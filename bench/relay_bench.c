/*
 * SPDX-License-Identifier: MIT
 *
 * Relay benchmark: request throughput and latency (p50/p99) of worker.ping
 * client -> master -> worker -> back, against the same requests on a
 * direct worker channel (sfud-worker spawned here on fds 3/4), at 1 and 64
 * requests in flight; and respawn time (SIGKILL of a worker -> its
 * replacement answering a ping). Both paths are measured in the same run,
 * so the ratio is what to compare across machines.
 *
 *   relay_bench BUILDDIR [REQUESTS]
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/msg.h"
#include "master/spawn.h"

struct conn {
	int	 wfd;		/* requests out */
	int	 rfd;		/* responses in */
	uint8_t	*buf;		/* input buffer */
	size_t	 len;
	size_t	 cap;
	uint8_t	*msg;		/* the last message's bytes */
};

static void
die(const char *what)
{
	fprintf(stderr, "relay_bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
send_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	ssize_t w = 0;

	while (n > 0) {
		w = write(fd, b, n);
		if (w < 0) {
			if (errno == EINTR) {
				continue;
			}
			die("write");
		}
		b += w;
		n -= (size_t)w;
	}
}

static void
send_request(struct conn *c, struct sfu_msg_builder *b, uint32_t id,
    const char *method, int worker)
{
	msgpack_packer *pk = NULL;
	uint8_t hdr[4];
	size_t n = 0;

	sfu_msg_builder_reset(b);
	pk = &b->pk;
	msgpack_pack_map(pk, worker >= 0 ? 3 : 2);
	sfu_msg_pack_kv_uint(pk, "id", id);
	sfu_msg_pack_kv_str(pk, "method", method);
	if (worker >= 0) {
		sfu_msg_pack_kv_int(pk, "worker", worker);
	}
	n = b->sbuf.size;
	hdr[0] = (uint8_t)(n >> 24);
	hdr[1] = (uint8_t)(n >> 16);
	hdr[2] = (uint8_t)(n >> 8);
	hdr[3] = (uint8_t)n;
	send_all(c->wfd, hdr, 4);
	send_all(c->wfd, b->sbuf.data, n);
}

/* Next message; returns its "id" or -1 for a notification. */
static int64_t
recv_message(struct conn *c, int timeout_ms, struct sfu_msg *out)
{
	struct pollfd pfd;
	uint64_t id = 0;
	uint32_t n = 0;
	ssize_t r = 0;

	for (;;) {
		if (c->len >= 4) {
			n = (uint32_t)c->buf[0] << 24 | (uint32_t)c->buf[1] << 16 |
			    (uint32_t)c->buf[2] << 8 | c->buf[3];
			if (c->len >= 4 + (size_t)n) {
				/* The tree points into the bytes: copy them. */
				c->msg = realloc(c->msg, n);
				memcpy(c->msg, c->buf + 4, n);
				memmove(c->buf, c->buf + 4 + n,
				    c->len - 4 - n);
				c->len -= 4 + n;
				if (sfu_msg_decode(out, c->msg, n, NULL) == -1) {
					fprintf(stderr, "bad message\n");
					exit(1);
				}
				if (sfu_msg_get_uint(out->root, NULL, "id", 0,
				    UINT32_MAX, &id, NULL) != 1) {
					return -1;
				}
				return (int64_t)id;
			}
		}
		if (c->cap - c->len < 65536) {
			c->cap = c->cap * 2 + 65536;
			c->buf = realloc(c->buf, c->cap);
		}
		pfd.fd = c->rfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, timeout_ms) <= 0) {
			fprintf(stderr, "relay_bench: timeout\n");
			exit(1);
		}
		r = read(c->rfd, c->buf + c->len, c->cap - c->len);
		if (r <= 0) {
			fprintf(stderr, "relay_bench: connection closed\n");
			exit(1);
		}
		c->len += (size_t)r;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct result {
	double	 rps;
	uint64_t p50_us;
	uint64_t p99_us;
};

/* total pings with `inflight` outstanding at any time. */
static struct result
run_pings(struct conn *c, int worker, unsigned total, unsigned inflight)
{
	struct sfu_msg_builder b;
	struct sfu_msg m;
	struct result res;
	uint64_t *sent = calloc(total, sizeof(uint64_t));
	uint64_t *lat = calloc(total, sizeof(uint64_t));
	uint64_t t0 = 0;
	uint64_t t1 = 0;
	unsigned next = 0;
	unsigned done = 0;
	int64_t id = 0;

	sfu_msg_builder_init(&b);
	t0 = sfu_clock_mono_us();
	while (next < inflight && next < total) {
		sent[next] = sfu_clock_mono_us();
		send_request(c, &b, next, "worker.ping", worker);
		next++;
	}
	while (done < total) {
		id = recv_message(c, 10000, &m);
		if (id >= 0 && sfu_msg_map_get(m.root, "accepted") == NULL) {
			msgpack_object_print(stderr, *m.root);
			fprintf(stderr, "\nrelay_bench: error response\n");
			exit(1);
		}
		sfu_msg_release(&m);
		if (id < 0) {
			continue;
		}
		lat[done++] = sfu_clock_mono_us() - sent[id];
		if (next < total) {
			sent[next] = sfu_clock_mono_us();
			send_request(c, &b, next, "worker.ping", worker);
			next++;
		}
	}
	t1 = sfu_clock_mono_us();
	qsort(lat, total, sizeof(uint64_t), cmp_u64);
	res.rps = (double)total * 1e6 / (double)(t1 - t0);
	res.p50_us = lat[total / 2];
	res.p99_us = lat[(size_t)total * 99 / 100];
	free(sent);
	free(lat);
	sfu_msg_builder_release(&b);
	return res;
}

static struct conn
connect_admin(const char *path)
{
	struct sockaddr_un sa;
	struct conn c;
	int fd = -1;
	int i = 0;

	memset(&c, 0, sizeof(c));
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (i = 0; i < 200; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			c.wfd = c.rfd = fd;
			return c;
		}
		close(fd);
		usleep(20000);
	}
	die("connect(admin socket)");
	return c;
}

static int64_t
worker_pid(struct conn *c, unsigned index)
{
	struct sfu_msg_builder b;
	struct sfu_msg m;
	const msgpack_object *data = NULL;
	const msgpack_object *ws = NULL;
	const msgpack_object *w = NULL;
	uint64_t idx = 0;
	int64_t pid = -1;
	uint32_t i = 0;
	int64_t id = 0;

	sfu_msg_builder_init(&b);
	send_request(c, &b, 900000, "master.workers", -1);
	do {
		id = recv_message(c, 10000, &m);
		if (id != 900000) {
			sfu_msg_release(&m);
		}
	} while (id != 900000);
	if (sfu_msg_get_map(m.root, NULL, "data", 0, &data, NULL) == 1 &&
	    sfu_msg_get_array(data, NULL, "workers", 0, &ws, NULL) == 1) {
		for (i = 0; i < ws->via.array.size; i++) {
			w = &ws->via.array.ptr[i];
			if (sfu_msg_get_uint(w, NULL, "index", 0, UINT32_MAX,
			    &idx, NULL) == 1 && idx == index &&
			    sfu_msg_str_eq(sfu_msg_map_get(w, "state"),
			    "running")) {
				sfu_msg_get_int(w, NULL, "pid", 0, 0,
				    INT32_MAX, &pid, NULL);
			}
		}
	}
	sfu_msg_release(&m);
	sfu_msg_builder_release(&b);
	return pid;
}

int
main(int argc, char *argv[])
{
	char dir[] = "/tmp/relay_bench.XXXXXX";
	char conf[512], sock[512], pidf[512], worker_bin[512], sfud[512];
	char *wargv[3] = { NULL, "--logLevel=warn", NULL };
	struct sfu_spawn_options so;
	struct sfu_spawned sp;
	struct sfu_error err = { 0 };
	struct conn direct;
	struct conn admin;
	struct sfu_msg m;
	struct result rd1, rd64, rr1, rr64;
	unsigned total = 20000;
	uint64_t t0 = 0;
	uint64_t respawn_us[5];
	int64_t pid = 0;
	int64_t newpid = 0;
	pid_t master = 0;
	FILE *f = NULL;
	int i = 0;
	int rounds = 5;

	if (argc < 2) {
		fprintf(stderr, "usage: relay_bench BUILDDIR [REQUESTS]\n");
		return 2;
	}
	if (argc > 2) {
		total = (unsigned)strtoul(argv[2], NULL, 10);
	}
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(dir) == NULL) {
		die("mkdtemp");
	}
	snprintf(worker_bin, sizeof(worker_bin), "%s/src/worker/sfud-worker",
	    argv[1]);
	snprintf(sfud, sizeof(sfud), "%s/src/master/sfud", argv[1]);
	snprintf(conf, sizeof(conf), "%s/sfud.conf", dir);
	snprintf(sock, sizeof(sock), "%s/sfud.sock", dir);
	snprintf(pidf, sizeof(pidf), "%s/sfud.pid", dir);

	/* Direct channel: one worker on fds 3/4, as the master spawns it. */
	wargv[0] = worker_bin;
	memset(&so, 0, sizeof(so));
	so.binary = worker_bin;
	so.argv = wargv;
	so.cpu = -1;
	if (sfu_spawn_worker(&so, &sp, &err) == -1) {
		fprintf(stderr, "relay_bench: %s\n", err.reason);
		return 1;
	}
	memset(&direct, 0, sizeof(direct));
	direct.wfd = sp.req_fd;
	direct.rfd = sp.resp_fd;
	recv_message(&direct, 5000, &m); /* running */
	sfu_msg_release(&m);
	run_pings(&direct, -1, total / 10, 1); /* warm-up */
	rd1 = run_pings(&direct, -1, total, 1);
	rd64 = run_pings(&direct, -1, total, 64);
	close(sp.req_fd);
	close(sp.resp_fd);
	close(sp.log_fd);
	waitpid(sp.pid, NULL, 0);

	/* Through the master. */
	f = fopen(conf, "w");
	fprintf(f, "daemon off;\npid %s;\nerror_log %s/sfud.log warn;\n"
	    "worker_processes 1;\nadmin { listen %s; }\n", pidf, dir, sock);
	fclose(f);
	master = fork();
	if (master == 0) {
		setenv("SFUD_WORKER_BIN", worker_bin, 1);
		execl(sfud, sfud, "-c", conf, (char *)NULL);
		_exit(127);
	}
	admin = connect_admin(sock);
	while (worker_pid(&admin, 0) < 0) {
		usleep(10000);
	}
	run_pings(&admin, 0, total / 10, 1);
	rr1 = run_pings(&admin, 0, total, 1);
	rr64 = run_pings(&admin, 0, total, 64);

	/* Respawn: SIGKILL -> the new worker answers a ping. */
	for (i = 0; i < rounds; i++) {
		pid = worker_pid(&admin, 0);
		t0 = sfu_clock_mono_us();
		kill((pid_t)pid, SIGKILL);
		for (;;) {
			newpid = worker_pid(&admin, 0);
			if (newpid > 0 && newpid != pid) {
				run_pings(&admin, 0, 1, 1);
				break;
			}
			usleep(200);
		}
		respawn_us[i] = sfu_clock_mono_us() - t0;
		usleep(200000);
	}
	kill(master, SIGTERM);
	waitpid(master, NULL, 0);

	printf("requests per run: %u (worker.ping)\n", total);
	printf("%-28s %12s %10s %10s\n", "path", "req/s", "p50 us", "p99 us");
	printf("%-28s %12.0f %10llu %10llu\n", "direct channel, 1 in flight",
	    rd1.rps, (unsigned long long)rd1.p50_us,
	    (unsigned long long)rd1.p99_us);
	printf("%-28s %12.0f %10llu %10llu\n", "via master, 1 in flight",
	    rr1.rps, (unsigned long long)rr1.p50_us,
	    (unsigned long long)rr1.p99_us);
	printf("%-28s %12.0f %10llu %10llu\n", "direct channel, 64 in flight",
	    rd64.rps, (unsigned long long)rd64.p50_us,
	    (unsigned long long)rd64.p99_us);
	printf("%-28s %12.0f %10llu %10llu\n", "via master, 64 in flight",
	    rr64.rps, (unsigned long long)rr64.p50_us,
	    (unsigned long long)rr64.p99_us);
	printf("relay/direct throughput ratio: %.2f (1 in flight), %.2f (64 "
	    "in flight)\n", rr1.rps / rd1.rps, rr64.rps / rd64.rps);
	/*
	 * Kills 200 ms apart: from the second on, the crash-loop backoff
	 * (100 ms, doubling) is part of what is measured, on purpose.
	 */
	printf("respawn (SIGKILL -> new worker answers), kills 200 ms apart:");
	for (i = 0; i < rounds; i++) {
		printf(" %.1f", (double)respawn_us[i] / 1000.0);
	}
	printf(" ms\n");
	free(direct.buf);
	free(direct.msg);
	free(admin.buf);
	free(admin.msg);
	return 0;
}
