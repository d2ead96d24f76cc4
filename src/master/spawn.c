/*
 * SPDX-License-Identifier: MIT
 *
 * Worker process creation: fds, fork, the child's preparation and exec.
 * Everything the child needs is computed before fork(), so that between
 * fork() and exec() the child makes only async-signal-safe system calls
 * (no malloc, no stdio, no locks: the master may be multi-threaded under a
 * sanitizer runtime, and a lock held by another thread at fork() would
 * never be released in the child). The caller owns the returned fds.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "common/fd.h"
#include "master/spawn.h"

/* The lowest fd that is neither stdio nor a channel fd in the child. */
#define SPAWN_FIRST_FREE_FD 5

/* What failed in the child, reported with errno on the error pipe. */
enum spawn_step {
	SPAWN_STEP_FDS = 1,
	SPAWN_STEP_AFFINITY,
	SPAWN_STEP_RLIMIT,
	SPAWN_STEP_EXEC,
};

/* Everything the child uses, prepared by the parent before fork(). */
struct spawn_child {
	const char *binary; /* borrowed from the options */
	char *const *argv;  /* borrowed from the options */
	int req_fd;         /* becomes fd 3 */
	int resp_fd;        /* becomes fd 4 */
	int log_fd;         /* becomes fds 1 and 2 */
	int null_fd;        /* becomes fd 0 */
	int err_fd;         /* exec-error pipe, write end */
	bool has_cpu;
	cpu_set_t cpus;
	bool has_rlimit;
	struct rlimit rlimit;
	int max_fd; /* bound of the fallback close loop */
};

int
sfu_spawn_place_channel_fds(int req_fd, int resp_fd, int log_fd)
{
	/* Source index -> target fd: req -> 3, resp -> 4, log -> 1 and 2. */
	static const struct {
		int src;
		int dst;
	} moves[4] = {{0, 3}, {1, 4}, {2, 1}, {2, 2}};
	int src[3] = {req_fd, resp_fd, log_fd};
	int tmp[3] = {-1, -1, -1};
	int fd = -1;
	int r = -1;
	int e = 0;
	int i = 0;

	if (req_fd < 0 || resp_fd < 0) {
		errno = EBADF;
		return -1;
	}

	/*
	 * Any source may sit on 0..4, even on another source's target (req
	 * on 4, resp on 3): copy every source above 4 first, so that no
	 * dup2() below overwrites a source not yet placed (libuv's
	 * uv__process_child_init).
	 */
	for (i = 0; i < 3; i++) {
		if (src[i] < 0) {
			continue;
		}
		tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, SPAWN_FIRST_FREE_FD);
		if (tmp[i] == -1) {
			goto out;
		}
	}

	/* dup2() clears FD_CLOEXEC on the new fd: these survive exec. */
	for (i = 0; i < 4; i++) {
		if (tmp[moves[i].src] < 0) {
			continue;
		}
		fd = dup2(tmp[moves[i].src], moves[i].dst);
		if (fd == -1) {
			goto out;
		}
	}
	r = 0;
out:
	e = errno;
	for (i = 0; i < 3; i++) {
		if (tmp[i] >= 0) {
			close(tmp[i]);
		}
	}
	errno = e;
	return r;
}

/*
 * Closes every fd >= SPAWN_FIRST_FREE_FD except keep. close_range(2)
 * (Linux 5.9) when the kernel has it, else one close() per possible fd.
 */
static void
spawn_close_others(int keep, int max_fd)
{
	int fd = 0;
	long r = -1;

#ifdef SYS_close_range
	r = 0;
	if (keep > SPAWN_FIRST_FREE_FD) {
		r = syscall(SYS_close_range, (unsigned)SPAWN_FIRST_FREE_FD,
		    (unsigned)keep - 1, 0u);
	}
	if (r == 0) {
		r = syscall(SYS_close_range, (unsigned)keep + 1, ~0u, 0u);
	}
	if (r == 0) {
		return;
	}
#endif
	(void)r;
	for (fd = SPAWN_FIRST_FREE_FD; fd < max_fd; fd++) {
		if (fd != keep) {
			close(fd);
		}
	}
}

/* Reports step and errno to the parent and exits. Never returns. */
static void
spawn_child_fail(int err_fd, enum spawn_step step)
{
	int msg[2];
	ssize_t n = 0;

	msg[0] = (int)step;
	msg[1] = errno;
	do {
		n = write(err_fd, msg, sizeof(msg));
	} while (n == -1 && errno == EINTR);
	_exit(127);
}

/*
 * The child between fork() and exec(): async-signal-safe calls only.
 * Signals are all blocked on entry (the parent blocked them around fork()).
 */
static void
spawn_child(struct spawn_child *c)
{
	struct sigaction sa;
	sigset_t empty;
	int sig = 0;
	int fd = -1;
	int r = 0;

	/*
	 * Default dispositions first, then the empty mask: a signal pending
	 * from now on must not run one of the master's handlers here. The
	 * master ignores SIGPIPE and may ignore or block more; the worker
	 * starts clean. sigaction() fails for SIGKILL/SIGSTOP and for the C
	 * library's reserved real-time signals: that is expected.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP) {
			continue;
		}
		(void)sigaction(sig, &sa, NULL);
	}
	sigemptyset(&empty);
	(void)sigprocmask(SIG_SETMASK, &empty, NULL);

	/*
	 * The error pipe and /dev/null may themselves sit on 0..4 (a
	 * master started with fds closed): move them out of the way of the
	 * dup2() calls first. A failure here still reaches the old err_fd.
	 */
	fd = fcntl(c->err_fd, F_DUPFD_CLOEXEC, SPAWN_FIRST_FREE_FD);
	if (fd == -1) {
		spawn_child_fail(c->err_fd, SPAWN_STEP_FDS);
	}
	c->err_fd = fd;
	fd = fcntl(c->null_fd, F_DUPFD_CLOEXEC, SPAWN_FIRST_FREE_FD);
	if (fd == -1) {
		spawn_child_fail(c->err_fd, SPAWN_STEP_FDS);
	}
	c->null_fd = fd;

	r = sfu_spawn_place_channel_fds(c->req_fd, c->resp_fd, c->log_fd);
	if (r == -1) {
		spawn_child_fail(c->err_fd, SPAWN_STEP_FDS);
	}
	r = dup2(c->null_fd, 0);
	if (r == -1) {
		spawn_child_fail(c->err_fd, SPAWN_STEP_FDS);
	}

	/*
	 * Nothing but 0..4 may reach the worker, even an fd some library
	 * opened without O_CLOEXEC. The error pipe stays open: it is
	 * close-on-exec, so exec itself closes it and the parent sees EOF.
	 */
	spawn_close_others(c->err_fd, c->max_fd);

	if (c->has_cpu) {
		r = sched_setaffinity(0, sizeof(c->cpus), &c->cpus);
		if (r == -1) {
			spawn_child_fail(c->err_fd, SPAWN_STEP_AFFINITY);
		}
	}
	if (c->has_rlimit) {
		r = setrlimit(RLIMIT_NOFILE, &c->rlimit);
		if (r == -1) {
			spawn_child_fail(c->err_fd, SPAWN_STEP_RLIMIT);
		}
	}

	/* execv(): the worker inherits the master's environment. */
	execv(c->binary, c->argv);
	spawn_child_fail(c->err_fd, SPAWN_STEP_EXEC);
}

/* Fills the parts of c computed from opts; -1 with err on bad options. */
static int
spawn_prepare(const struct sfu_spawn_options *opts, struct spawn_child *c,
    struct sfu_error *err)
{
	struct rlimit rl;
	long open_max = 0;
	int r = 0;

	memset(c, 0, sizeof(*c));
	c->binary = opts->binary;
	c->argv = opts->argv;
	c->req_fd = -1;
	c->resp_fd = -1;
	c->log_fd = -1;
	c->null_fd = -1;
	c->err_fd = -1;
	if (opts->binary == NULL || opts->argv == NULL ||
	    opts->argv[0] == NULL) {
		sfu_error_set(err, SFU_ERR_TYPE,
		    "spawn: binary and argv[0] are required");
		return -1;
	}
	if (opts->cpu >= 0) {
		if (opts->cpu >= CPU_SETSIZE) {
			sfu_error_set(err, SFU_ERR_TYPE,
			    "spawn: cpu %d out of range (max %d)", opts->cpu,
			    CPU_SETSIZE - 1);
			return -1;
		}
		c->has_cpu = true;
		CPU_ZERO(&c->cpus);
		CPU_SET(opts->cpu, &c->cpus);
	}

	memset(&rl, 0, sizeof(rl));
	r = getrlimit(RLIMIT_NOFILE, &rl);
	if (r == -1) {
		rl.rlim_cur = 0;
		rl.rlim_max = RLIM_INFINITY;
	}
	if (opts->rlimit_nofile > 0) {
		/* Raising the hard limit needs privilege; lowering does not. */
		c->has_rlimit = true;
		c->rlimit.rlim_cur = (rlim_t)opts->rlimit_nofile;
		c->rlimit.rlim_max = rl.rlim_max;
		if (rl.rlim_max != RLIM_INFINITY &&
		    c->rlimit.rlim_cur > rl.rlim_max) {
			c->rlimit.rlim_max = c->rlimit.rlim_cur;
		}
	}

	/* Bound of the fallback close loop: any fd we may hold is below. */
	open_max = sysconf(_SC_OPEN_MAX);
	if (rl.rlim_cur != RLIM_INFINITY && (long)rl.rlim_cur > open_max) {
		open_max = (long)rl.rlim_cur;
	}
	if (open_max <= 0 || open_max > INT_MAX) {
		open_max = 1024 * 1024;
	}
	c->max_fd = (int)open_max;
	return 0;
}

static void
spawn_format_child_error(const struct sfu_spawn_options *opts, int step, int e,
    struct sfu_error *err)
{
	switch (step) {
	case SPAWN_STEP_FDS:
		sfu_error_set(err, SFU_ERR_ERROR,
		    "moving the worker's fds onto 0-4 failed: %s", strerror(e));
		break;
	case SPAWN_STEP_AFFINITY:
		sfu_error_set(err, SFU_ERR_ERROR,
		    "sched_setaffinity(cpu %d) failed: %s", opts->cpu,
		    strerror(e));
		break;
	case SPAWN_STEP_RLIMIT:
		sfu_error_set(err, SFU_ERR_ERROR,
		    "setrlimit(RLIMIT_NOFILE, %llu) failed: %s",
		    (unsigned long long)opts->rlimit_nofile, strerror(e));
		break;
	case SPAWN_STEP_EXEC:
	default:
		sfu_error_set(err, SFU_ERR_ERROR, "execve(%s) failed: %s",
		    opts->binary, strerror(e));
		break;
	}
}

int
sfu_spawn_worker(const struct sfu_spawn_options *opts, struct sfu_spawned *out,
    struct sfu_error *err)
{
	struct spawn_child c;
	sigset_t all;
	sigset_t old;
	int req[2] = {-1, -1};
	int resp[2] = {-1, -1};
	int logp[2] = {-1, -1};
	int errp[2] = {-1, -1};
	int null_fd = -1;
	int msg[2] = {0, 0};
	pid_t pid = -1;
	pid_t w = -1;
	ssize_t n = 0;
	int e = 0;
	int r = 0;
	int ret = -1;

	out->pid = -1;
	out->req_fd = -1;
	out->resp_fd = -1;
	out->log_fd = -1;
	if (spawn_prepare(opts, &c, err) == -1) {
		return -1;
	}

	/* [0] stays with the master, [1] goes to the worker. */
	r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, req);
	if (r == 0) {
		r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, resp);
	}
	if (r == -1) {
		e = errno;
		sfu_error_set(
		    err, SFU_ERR_ERROR, "socketpair() failed: %s", strerror(e));
		goto out;
	}

	/* logp[0]: the master reads; logp[1]: the worker's stdout+stderr. */
	r = pipe2(logp, O_CLOEXEC);
	if (r == 0) {
		r = pipe2(errp, O_CLOEXEC);
	}
	if (r == -1) {
		e = errno;
		sfu_error_set(
		    err, SFU_ERR_ERROR, "pipe2() failed: %s", strerror(e));
		goto out;
	}
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (null_fd == -1) {
		e = errno;
		sfu_error_set(err, SFU_ERR_ERROR, "open(/dev/null) failed: %s",
		    strerror(e));
		goto out;
	}
	c.req_fd = req[1];
	c.resp_fd = resp[1];
	c.log_fd = logp[1];
	c.null_fd = null_fd;
	c.err_fd = errp[1];

	/*
	 * Block every signal across fork(), so no handler of the master's
	 * runs in the child before it has reset the dispositions.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (pid == 0) {
		spawn_child(&c);
		_exit(127); /* not reached */
	}
	e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid == -1) {
		sfu_error_set(
		    err, SFU_ERR_ERROR, "fork() failed: %s", strerror(e));
		goto out;
	}

	/* The child's ends: ours to close now. */
	sfu_fd_close(&req[1]);
	sfu_fd_close(&resp[1]);
	sfu_fd_close(&logp[1]);
	sfu_fd_close(&errp[1]);
	sfu_fd_close(&null_fd);

	/* EOF: exec closed the pipe (it succeeded). Else step + errno. */
	do {
		n = read(errp[0], msg, sizeof(msg));
	} while (n == -1 && errno == EINTR);
	if (n != 0) {
		if (n == (ssize_t)sizeof(msg)) {
			spawn_format_child_error(opts, msg[0], msg[1], err);
		} else {
			e = n == -1 ? errno : EPROTO;
			sfu_error_set(err, SFU_ERR_ERROR,
			    "reading the exec status of %s failed: %s",
			    opts->binary, strerror(e));
		}

		/* It has exited or is about to: reap it, leave no zombie. */
		do {
			w = waitpid(pid, NULL, 0);
		} while (w == -1 && errno == EINTR);
		goto out;
	}

	out->pid = pid;
	out->req_fd = req[0];
	out->resp_fd = resp[0];
	out->log_fd = logp[0];
	req[0] = -1;
	resp[0] = -1;
	logp[0] = -1;
	ret = 0;
out:
	sfu_fd_close(&req[0]);
	sfu_fd_close(&req[1]);
	sfu_fd_close(&resp[0]);
	sfu_fd_close(&resp[1]);
	sfu_fd_close(&logp[0]);
	sfu_fd_close(&logp[1]);
	sfu_fd_close(&errp[0]);
	sfu_fd_close(&errp[1]);
	sfu_fd_close(&null_fd);
	return ret;
}
