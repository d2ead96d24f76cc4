/*
 * SPDX-License-Identifier: MIT
 *
 * Unit tests for master/spawn: real fork and exec of small /bin/sh
 * "workers" that report what they got (argv, the channel on fds 3 and 4,
 * stdout/stderr into the log pipe, /dev/null on stdin, no other fd, an
 * empty signal mask, default dispositions, CPU affinity, RLIMIT_NOFILE),
 * exec failure reporting, and the fd moves when the sources sit on 0..4.
 * Every wait is bounded: a child that does not finish is killed and the
 * test fails.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "common/error.h"
#include "master/spawn.h"
#include "helpers.h"

#define TEST_TIMEOUT_MS 10000

/* --- helpers --- */

struct tmpdir {
	char path[PATH_MAX];        /* the mkdtemp() directory */
	char script[PATH_MAX + 16]; /* worker.sh inside it */
};

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
setup_tmpdir(void **state)
{
	struct tmpdir *t = NULL;

	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		return -1;
	}
	if (helpers_mkdtemp(t->path, sizeof(t->path), "test_spawn") == -1) {
		free(t);
		return -1;
	}
	snprintf(t->script, sizeof(t->script), "%s/worker.sh", t->path);
	*state = t;
	return 0;
}

static int
teardown_tmpdir(void **state)
{
	struct tmpdir *t = *state;

	if (t == NULL) {
		return 0;
	}
	(void)helpers_rmtree(t->path);
	free(t);
	*state = NULL;
	return 0;
}

/* Writes an executable script. */
static void
write_script(const char *path, const char *text)
{
	FILE *f = NULL;

	f = fopen(path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
}

/* Writes all of s to a blocking fd. */
static void
write_str(int fd, const char *s)
{
	size_t len = strlen(s);
	ssize_t n = 0;

	while (len > 0) {
		n = write(fd, s, len);
		if (n == -1 && errno == EINTR) {
			continue;
		}
		assert_true(n > 0);
		s += n;
		len -= (size_t)n;
	}
}

/*
 * Reads fd until EOF into buf (NUL terminated), failing the test past the
 * deadline instead of hanging.
 */
static void
read_to_eof(int fd, char *buf, size_t cap)
{
	struct pollfd pfd;
	int64_t deadline = now_ms() + TEST_TIMEOUT_MS;
	size_t len = 0;
	ssize_t n = 0;
	int r = 0;

	for (;;) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = poll(&pfd, 1, 100);
		if (r == -1 && errno == EINTR) {
			continue;
		}
		assert_true(r >= 0);
		if (r == 0) {
			assert_true(now_ms() < deadline);
			continue;
		}
		assert_true(len < cap - 1);
		n = read(fd, buf + len, cap - 1 - len);
		if (n == -1 && errno == EINTR) {
			continue;
		}
		assert_true(n >= 0);
		if (n == 0) {
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
}

/*
 * Waits for pid with a deadline (SIGKILL past it) and returns its wait
 * status; a child that had to be killed fails the test.
 */
static int
reap(pid_t pid)
{
	int64_t deadline = now_ms() + TEST_TIMEOUT_MS;
	int status = 0;
	pid_t w = 0;
	bool killed = false;

	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid) {
			break;
		}
		assert_true(w == 0 || (w == -1 && errno == EINTR));
		if (now_ms() >= deadline && !killed) {
			kill(pid, SIGKILL);
			killed = true;
		}
		usleep(1000);
	}
	assert_false(killed);
	return status;
}

static void
close_spawned(struct sfu_spawned *s)
{
	if (s->req_fd >= 0) {
		close(s->req_fd);
		s->req_fd = -1;
	}
	if (s->resp_fd >= 0) {
		close(s->resp_fd);
		s->resp_fd = -1;
	}
	if (s->log_fd >= 0) {
		close(s->log_fd);
		s->log_fd = -1;
	}
}

/*
 * Runs binary with argv as a worker, expecting exit 0; returns its output
 * (stdout+stderr).
 */
static void
run_worker(const char *binary, char *const *argv,
    const struct sfu_spawn_options *base_opts, char *out, size_t cap)
{
	struct sfu_spawn_options opts;
	struct sfu_spawned s;
	struct sfu_error err = {0};
	int status = 0;

	memset(&opts, 0, sizeof(opts));
	if (base_opts != NULL) {
		opts = *base_opts;
	} else {
		opts.cpu = -1;
	}
	opts.binary = binary;
	opts.argv = argv;
	assert_int_equal(sfu_spawn_worker(&opts, &s, &err), 0);
	assert_true(s.pid > 0);
	read_to_eof(s.log_fd, out, cap);
	close_spawned(&s);
	status = reap(s.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Runs "/bin/sh -c script" as a worker; returns its output. */
static void
run_sh(const char *script, const struct sfu_spawn_options *base_opts, char *out,
    size_t cap)
{
	char *const argv[] = {"sh", "-c", (char *)script, NULL};

	run_worker("/bin/sh", argv, base_opts, out, cap);
}

/* valgrind preloads its vgpreload_*.so into the program it runs. */
static bool
under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p != NULL && strstr(p, "vgpreload") != NULL;
}

static int
count_open_fds(void)
{
	DIR *d = NULL;
	struct dirent *e = NULL;
	int n = 0;

	d = opendir("/proc/self/fd");
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.') {
			n++;
		}
	}
	closedir(d);
	return n - 1; /* the directory's own fd */
}

/* Identity of the file behind an fd. */
static void
fd_ino(int fd, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		*dev = 0;
		*ino = 0;
		return;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
}

static bool
fd_is(int fd, dev_t dev, ino_t ino)
{
	dev_t d = 0;
	ino_t i = 0;

	fd_ino(fd, &d, &i);
	return d == dev && i == ino;
}

/* --- tests --- */

/* The binary runs with our argv; fd 3 reads requests, fd 4 answers. */
static void
test_spawn_runs_worker_with_channel_on_3_and_4(void **state)
{
	struct tmpdir *t = *state;
	char *const argv[] = {t->script, "alpha", "beta", NULL};
	struct sfu_spawn_options opts = {0};
	struct sfu_spawned s;
	struct sfu_error err = {0};
	char out[256];
	char log[256];
	int status = 0;

	write_script(t->script, "#!/bin/sh\n"
	                        "echo \"args: $1 $2\" >&2\n"
	                        "echo \"to stdout\"\n"
	                        "read x <&3\n"
	                        "echo \"got $x\" >&4\n");
	opts.binary = t->script;
	opts.argv = argv;
	opts.cpu = -1;
	assert_int_equal(sfu_spawn_worker(&opts, &s, &err), 0);
	assert_true(s.pid > 0);
	assert_true(s.req_fd >= 0 && s.resp_fd >= 0 && s.log_fd >= 0);

	/* Returned fds are close-on-exec and left blocking. */
	assert_true(fcntl(s.req_fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(s.resp_fd, F_GETFD) & FD_CLOEXEC);
	assert_true(fcntl(s.log_fd, F_GETFD) & FD_CLOEXEC);
	assert_false(fcntl(s.resp_fd, F_GETFL) & O_NONBLOCK);

	write_str(s.req_fd, "ping\n");
	read_to_eof(s.resp_fd, out, sizeof(out));
	assert_string_equal(out, "got ping\n");
	read_to_eof(s.log_fd, log, sizeof(log));
	assert_string_equal(log, "args: alpha beta\nto stdout\n");
	close_spawned(&s);
	status = reap(s.pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Only 0..4 reach the worker, even fds the master opened without CLOEXEC. */
static void
test_spawn_passes_only_fds_0_to_4(void **state)
{
	char out[1024];
	int leak_cloexec = -1;
	int leak_plain = -1;

	(void)state;
	leak_cloexec = open("/dev/null", O_RDONLY | O_CLOEXEC);
	leak_plain = open("/dev/null", O_RDONLY);
	assert_true(leak_cloexec >= 0 && leak_plain >= 0);

	/*
	 * ls runs as the shell's child, so it lists the shell's fds only;
	 * not in a pipeline, whose fds the shell may still hold.
	 */
	run_sh("ls /proc/$$/fd;"
	       "readlink /proc/$$/fd/0;"
	       "readlink /proc/$$/fd/1 /proc/$$/fd/2 | uniq | wc -l;"
	       "readlink /proc/$$/fd/3 | cut -c1-7;"
	       "readlink /proc/$$/fd/4 | cut -c1-7",
	    NULL, out, sizeof(out));
	assert_string_equal(out, "0\n1\n2\n3\n4\n"
	                         "/dev/null\n"
	                         "1\n"
	                         "socket:\n"
	                         "socket:\n");
	close(leak_cloexec);
	close(leak_plain);
}

/* Signals blocked or ignored by the master are neither in the worker. */
static void
test_spawn_resets_signal_mask_and_dispositions(void **state)
{
	char *const argv[] = {
	    "grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status", NULL};
	struct sigaction ign;
	struct sigaction old_int;
	sigset_t block;
	sigset_t old_mask;
	char out[256];
	unsigned long long blk = 0;
	unsigned long long ign_bits = 0;

	(void)state;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &block, &old_mask), 0);
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	assert_int_equal(sigaction(SIGINT, &ign, &old_int), 0);

	/* grep itself, not a shell: dash may reset its own mask. */
	run_worker("/bin/grep", argv, NULL, out, sizeof(out));

	sigaction(SIGINT, &old_int, NULL);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	assert_int_equal(
	    sscanf(out, "SigBlk:\t%llx\nSigIgn:\t%llx", &blk, &ign_bits), 2);
	assert_true(blk == 0);

	/*
	 * Signals 32 and 33 are glibc's own (SIGCANCEL, SIGSETXID): its
	 * sigaction() refuses them, so whatever the caller inherited there
	 * stays; every signal a program can handle must be at its default.
	 */
	assert_true((ign_bits & ~(3ULL << 31)) == 0);
}

/* A missing binary: -1, the path and strerror in err, no child left. */
static void
test_spawn_reports_exec_failure(void **state)
{
	struct tmpdir *t = *state;
	char missing[PATH_MAX + 16];
	char *const argv[] = {missing, NULL};
	struct sfu_spawn_options opts = {0};
	struct sfu_spawned s;
	struct sfu_error err = {0};
	int fds_before = 0;
	pid_t w = 0;

	snprintf(missing, sizeof(missing), "%s/no-such-worker", t->path);
	opts.binary = missing;
	opts.argv = argv;
	opts.cpu = -1;
	fds_before = count_open_fds();
	assert_int_equal(sfu_spawn_worker(&opts, &s, &err), -1);
	assert_int_equal(err.kind, SFU_ERR_ERROR);
	assert_non_null(strstr(err.reason, "execve("));
	assert_non_null(strstr(err.reason, missing));
	assert_non_null(strstr(err.reason, "No such file"));
	assert_int_equal(s.pid, -1);
	assert_int_equal(s.req_fd, -1);
	assert_int_equal(s.resp_fd, -1);
	assert_int_equal(s.log_fd, -1);

	/* Reaped already: no zombie, and no fd left open. */
	w = waitpid(-1, NULL, WNOHANG);
	assert_int_equal(w, -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(count_open_fds(), fds_before);
}

/* A script without execute permission fails the same way (EACCES). */
static void
test_spawn_reports_exec_permission_denied(void **state)
{
	struct tmpdir *t = *state;
	char *const argv[] = {t->script, NULL};
	struct sfu_spawn_options opts = {0};
	struct sfu_spawned s;
	struct sfu_error err = {0};

	write_script(t->script, "#!/bin/sh\nexit 0\n");
	assert_int_equal(chmod(t->script, 0644), 0);
	opts.binary = t->script;
	opts.argv = argv;
	opts.cpu = -1;
	assert_int_equal(sfu_spawn_worker(&opts, &s, &err), -1);
	assert_non_null(strstr(err.reason, t->script));
	assert_non_null(strstr(err.reason, strerror(EACCES)));
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

/*
 * With the master's 0, 3 and 4 closed, the socketpairs themselves get
 * those numbers; the worker still finds requests on 3, answers on 4 and
 * /dev/null on 0.
 */
static void
test_spawn_handles_sources_on_low_fds(void **state)
{
	struct tmpdir *t = *state;
	char *const argv[] = {t->script, NULL};
	static const int low[3] = {0, 3, 4};
	int saved[3] = {-1, -1, -1};
	struct sfu_spawn_options opts = {0};
	struct sfu_spawned s;
	struct sfu_error err = {0};
	char out[256];
	char log[256];
	int status = 0;
	int r = 0;
	int i = 0;

	write_script(t->script, "#!/bin/sh\n"
	                        "readlink /proc/$$/fd/0\n"
	                        "read x <&3\n"
	                        "echo \"got $x\" >&4\n");
	for (i = 0; i < 3; i++) {
		saved[i] = fcntl(low[i], F_DUPFD_CLOEXEC, 10);
		if (saved[i] >= 0) {
			close(low[i]);
		}
	}
	opts.binary = t->script;
	opts.argv = argv;
	opts.cpu = -1;
	r = sfu_spawn_worker(&opts, &s, &err);
	if (r == 0) {
		/* The master's own ends took the freed numbers. */
		assert_int_equal(s.req_fd, 0);
		assert_int_equal(s.resp_fd, 4);
		write_str(s.req_fd, "pong\n");
		read_to_eof(s.resp_fd, out, sizeof(out));
		read_to_eof(s.log_fd, log, sizeof(log));
		close_spawned(&s);
		status = reap(s.pid);
	}
	for (i = 0; i < 3; i++) {
		if (saved[i] >= 0) {
			dup2(saved[i], low[i]);
			close(saved[i]);
		}
	}
	assert_int_equal(r, 0);
	assert_string_equal(out, "got pong\n");
	assert_string_equal(log, "/dev/null\n");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * The worst placement: req on 4, resp on 1 and log on 3 (each source on
 * another's target). Checked in a forked child, which reports by exit
 * code: 0 ok, 1 setup failed, 2 the call failed, 3 wrong placement.
 */
static void
test_spawn_place_channel_fds_rotates_sources(void **state)
{
	int a[2] = {-1, -1};
	int b[2] = {-1, -1};
	int p[2] = {-1, -1};
	dev_t dev[3];
	ino_t ino[3];
	pid_t pid = -1;
	int status = 0;
	int hi[3];

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) == -1 ||
		    socketpair(AF_UNIX, SOCK_STREAM, 0, b) == -1 ||
		    pipe(p) == -1) {
			_exit(1);
		}
		fd_ino(a[0], &dev[0], &ino[0]);
		fd_ino(b[0], &dev[1], &ino[1]);
		fd_ino(p[1], &dev[2], &ino[2]);
		hi[0] = fcntl(a[0], F_DUPFD, 20);
		hi[1] = fcntl(b[0], F_DUPFD, 20);
		hi[2] = fcntl(p[1], F_DUPFD, 20);
		if (dup2(hi[0], 4) == -1 || dup2(hi[1], 1) == -1 ||
		    dup2(hi[2], 3) == -1) {
			_exit(1);
		}
		close(hi[0]);
		close(hi[1]);
		close(hi[2]);
		if (sfu_spawn_place_channel_fds(4, 1, 3) == -1) {
			_exit(2);
		}
		if (!fd_is(3, dev[0], ino[0]) || !fd_is(4, dev[1], ino[1]) ||
		    !fd_is(1, dev[2], ino[2]) || !fd_is(2, dev[2], ino[2])) {
			_exit(3);
		}

		/* Placed fds survive exec; the temporaries are gone. */
		if ((fcntl(3, F_GETFD) & FD_CLOEXEC) ||
		    (fcntl(4, F_GETFD) & FD_CLOEXEC) ||
		    (fcntl(1, F_GETFD) & FD_CLOEXEC)) {
			_exit(3);
		}
		_exit(0);
	}
	status = reap(pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A bad argument is refused with EBADF before anything is moved. */
static void
test_spawn_place_channel_fds_rejects_negative_fd(void **state)
{
	(void)state;
	errno = 0;
	assert_int_equal(sfu_spawn_place_channel_fds(-1, 4, -1), -1);
	assert_int_equal(errno, EBADF);
}

/* cpu pins the worker; rlimit_nofile sets its RLIMIT_NOFILE. */
static void
test_spawn_applies_affinity_and_nofile_limit(void **state)
{
	struct sfu_spawn_options opts = {0};
	char expect[128];
	char out[256];
	cpu_set_t set;
	int cpu = -1;
	int i = 0;

	(void)state;
	CPU_ZERO(&set);
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	for (i = CPU_SETSIZE - 1; i >= 0; i--) {
		if (CPU_ISSET(i, &set)) {
			cpu = i;
			break;
		}
	}
	assert_true(cpu >= 0);
	opts.cpu = cpu;
	opts.rlimit_nofile = 256;
	run_sh("grep '^Cpus_allowed_list' /proc/$$/status; ulimit -n", &opts,
	    out, sizeof(out));

	/*
	 * Under valgrind the child runs on valgrind's CPU until exec, and
	 * valgrind only pretends to apply RLIMIT_NOFILE (it keeps the real
	 * limit for its own fds): the worker then sees the old limit.
	 */
	snprintf(expect, sizeof(expect), "Cpus_allowed_list:\t%d\n256\n", cpu);
	if (under_valgrind()) {
		*strchr(expect, '\n') = '\0';
		assert_memory_equal(out, expect, strlen(expect));
	} else {
		assert_string_equal(out, expect);
	}
}

/* A cpu the kernel refuses fails the spawn, naming the call. */
static void
test_spawn_reports_affinity_failure(void **state)
{
	char *const argv[] = {"sh", "-c", "exit 0", NULL};
	struct sfu_spawn_options opts = {0};
	struct sfu_spawned s;
	struct sfu_error err = {0};
	cpu_set_t set;
	int cpu = -1;
	int i = 0;

	(void)state;
	CPU_ZERO(&set);
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	for (i = CPU_SETSIZE - 1; i >= 0; i--) {
		if (!CPU_ISSET(i, &set)) {
			cpu = i;
			break;
		}
	}
	assert_true(cpu >= 0);
	opts.binary = "/bin/sh";
	opts.argv = argv;
	opts.cpu = cpu;
	assert_int_equal(sfu_spawn_worker(&opts, &s, &err), -1);
	assert_non_null(strstr(err.reason, "sched_setaffinity"));
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_spawn_runs_worker_with_channel_on_3_and_4, setup_tmpdir,
	        teardown_tmpdir),
	    cmocka_unit_test(test_spawn_passes_only_fds_0_to_4),
	    cmocka_unit_test(test_spawn_resets_signal_mask_and_dispositions),
	    cmocka_unit_test_setup_teardown(
	        test_spawn_reports_exec_failure, setup_tmpdir, teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_spawn_reports_exec_permission_denied, setup_tmpdir,
	        teardown_tmpdir),
	    cmocka_unit_test_setup_teardown(
	        test_spawn_handles_sources_on_low_fds, setup_tmpdir,
	        teardown_tmpdir),
	    cmocka_unit_test(test_spawn_place_channel_fds_rotates_sources),
	    cmocka_unit_test(test_spawn_place_channel_fds_rejects_negative_fd),
	    cmocka_unit_test(test_spawn_applies_affinity_and_nofile_limit),
	    cmocka_unit_test(test_spawn_reports_affinity_failure),
	};

	return cmocka_run_group_tests_name("spawn", tests, NULL, NULL);
}
