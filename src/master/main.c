/*
 * SPDX-License-Identifier: MIT
 *
 * sfud: argv, -t (check the config), -s (signal the running master), the
 * daemon dance (double fork, setsid, readiness reported back to the
 * parent through a pipe), privilege drop, then sfu_master_run().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define SFU_LOG_MODULE "main"
#include "common/fd.h"
#include "common/log.h"
#include "master/master.h"
#include "master/master_conf.h"

#define MAIN_DEFAULT_CONF SFU_SYSCONFDIR "/sfud.conf"

static void
main_usage(FILE *f)
{
	fprintf(f,
	    "usage: sfud [-htvV] [-c file] [-s signal]\n"
	    "  -c file    configuration file (default " MAIN_DEFAULT_CONF ")\n"
	    "  -t         check the configuration and exit\n"
	    "  -s signal  send signal to the running master: reload, stop, "
	    "quit, reopen\n"
	    "  -v         print the version and exit\n"
	    "  -V         print the version and build settings and exit\n"
	    "  -h         this help\n");
}

static int
main_signal_master(const char *conf_path, const char *name)
{
	struct sfu_master_conf *conf = NULL;
	struct sfu_error err = { 0 };
	char buf[32];
	ssize_t n = 0;
	long pid = 0;
	int signo = 0;
	int fd = -1;
	int rc = 1;

	if (strcmp(name, "reload") == 0) {
		signo = SIGHUP;
	} else if (strcmp(name, "stop") == 0) {
		signo = SIGTERM;
	} else if (strcmp(name, "quit") == 0) {
		signo = SIGQUIT;
	} else if (strcmp(name, "reopen") == 0) {
		signo = SIGUSR1;
	} else {
		fprintf(stderr, "sfud: invalid signal \"%s\": use reload, "
		    "stop, quit or reopen\n", name);
		return 1;
	}
	conf = sfu_master_conf_load(conf_path, &err);
	if (conf == NULL) {
		fprintf(stderr, "sfud: %s\n", err.reason);
		return 1;
	}
	fd = open(conf->pid_path, O_RDONLY | O_CLOEXEC);
	if (fd == -1) {
		fprintf(stderr, "sfud: open(\"%s\") failed: %s (is sfud "
		    "running?)\n", conf->pid_path, strerror(errno));
		goto out;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	pid = strtol(buf, NULL, 10);
	if (pid <= 0) {
		fprintf(stderr, "sfud: invalid pid in \"%s\"\n",
		    conf->pid_path);
		goto out;
	}
	if (kill((pid_t)pid, signo) == -1) {
		fprintf(stderr, "sfud: kill(%ld, %s) failed: %s\n", pid,
		    strsignal(signo), strerror(errno));
		goto out;
	}
	rc = 0;
out:
	sfu_master_conf_free(conf);
	return rc;
}

/*
 * Returns in the daemon (with *ready_fd to report on); the original
 * process waits for that report and exits with it.
 */
static void
main_daemonize(int *ready_fd)
{
	char buf[512];
	ssize_t n = 0;
	size_t got = 0;
	pid_t pid = 0;
	int p[2] = { -1, -1 };

	if (pipe2(p, O_CLOEXEC) == -1) {
		fprintf(stderr, "sfud: pipe() failed: %s\n", strerror(errno));
		exit(1);
	}
	pid = fork();
	if (pid == -1) {
		fprintf(stderr, "sfud: fork() failed: %s\n", strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		while (got < sizeof(buf) - 1 &&
		    (n = read(p[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
			if (n < 0) {
				if (errno == EINTR) {
					continue;
				}
				break;
			}
			got += (size_t)n;
		}
		buf[got] = '\0';
		waitpid(pid, NULL, 0);

		/*
		 * _exit: the config and the rest belong to the daemon now;
		 * this process only reports.
		 */
		if (strncmp(buf, "ok", 2) == 0) {
			_exit(0);
		}
		fprintf(stderr, "sfud: %s\n", got > 0 ? buf :
		    "the master exited during start-up (see the error log)");
		fflush(stderr);
		_exit(1);
	}
	close(p[0]);
	if (setsid() == -1) {
		_exit(1);
	}
	pid = fork();
	if (pid == -1) {
		_exit(1);
	}
	if (pid > 0) {
		_exit(0);
	}
	if (chdir("/") == -1) {
		_exit(1);
	}
	*ready_fd = p[1];
}

static void
main_absolute_env(const char *name)
{
	char *abs = NULL;
	const char *v = getenv(name);

	if (v == NULL || v[0] == '\0' || v[0] == '/') {
		return;
	}
	abs = realpath(v, NULL);
	if (abs != NULL) {
		setenv(name, abs, 1);
		free(abs);
	}
}

static void
main_report(int *ready_fd, const char *msg)
{
	if (*ready_fd >= 0) {
		(void)!write(*ready_fd, msg, strlen(msg));
		sfu_fd_close(ready_fd);
	}
}

static int
main_detach_stdio(void)
{
	int fd = -1;

	fd = open("/dev/null", O_RDWR);
	if (fd == -1) {
		return -1;
	}
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO) {
		close(fd);
	}
	return 0;
}

static int
main_drop_privileges(const struct sfu_master_conf *conf,
    struct sfu_error *err)
{
	struct passwd *pw = NULL;
	struct group *gr = NULL;
	gid_t gid = 0;

	if (conf->user == NULL) {
		return 0;
	}
	if (geteuid() != 0) {
		SFU_LOG_WARN("\"user\" is ignored: not running as root");
		return 0;
	}
	pw = getpwnam(conf->user);
	if (pw == NULL) {
		sfu_error_set(err, SFU_ERR_ERROR, "user \"%s\" not found",
		    conf->user);
		return -1;
	}
	gid = pw->pw_gid;
	if (conf->group != NULL) {
		gr = getgrnam(conf->group);
		if (gr == NULL) {
			sfu_error_set(err, SFU_ERR_ERROR,
			    "group \"%s\" not found", conf->group);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (initgroups(pw->pw_name, gid) == -1 || setgid(gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		sfu_error_set(err, SFU_ERR_ERROR,
		    "cannot switch to user \"%s\": %s", conf->user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct sfu_master_conf *conf = NULL;
	struct sfu_master *m = NULL;
	struct sfu_error err = { 0 };
	const char *conf_path = MAIN_DEFAULT_CONF;
	const char *signal_name = NULL;
	char msg[SFU_ERROR_REASON_LEN + 8];
	bool test_only = false;
	int ready_fd = -1;
	int rc = 1;
	int ch = 0;

	while ((ch = getopt(argc, argv, "c:s:tvVh")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 's':
			signal_name = optarg;
			break;
		case 't':
			test_only = true;
			break;
		case 'v':
			printf("sfud version %s\n", PACKAGE_VERSION);
			return 0;
		case 'V':
			printf("sfud version %s\nworker binary: %s\n"
			    "default config: %s\n", PACKAGE_VERSION,
			    SFU_LIBEXECDIR "/sfud-worker", MAIN_DEFAULT_CONF);
			return 0;
		case 'h':
			main_usage(stdout);
			return 0;
		default:
			main_usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		main_usage(stderr);
		return 1;
	}
	if (signal_name != NULL) {
		return main_signal_master(conf_path, signal_name);
	}
	conf = sfu_master_conf_load(conf_path, &err);
	if (test_only) {
		if (conf == NULL) {
			fprintf(stderr, "sfud: %s\n", err.reason);
			fprintf(stderr, "sfud: configuration file %s test "
			    "failed\n", conf_path);
			return 1;
		}
		printf("sfud: the configuration file %s syntax is ok\n"
		    "sfud: configuration file %s test is successful\n",
		    conf->path, conf->path);
		sfu_master_conf_free(conf);
		return 0;
	}
	if (conf == NULL) {
		fprintf(stderr, "sfud: %s\n", err.reason);
		return 1;
	}
	if (conf->daemon) {
		/* The daemon runs in /: make the worker path absolute first. */
		main_absolute_env("SFUD_WORKER_BIN");
		main_daemonize(&ready_fd);
	}
	m = sfu_master_new(conf->path, conf, &err);
	if (m == NULL) {
		sfu_master_conf_free(conf);
		goto fail;
	}
	m->ready_fd = ready_fd;
	if (sfu_master_open(m, &err) == -1) {
		goto fail;
	}

	/* Before any worker exists, so that none keeps root. */
	if (main_drop_privileges(m->conf, &err) == -1) {
		goto fail;
	}
	sfu_master_start_workers(m);
	if (m->conf->daemon) {
		main_report(&m->ready_fd, "ok");
		if (m->log_fd < 0) {
			SFU_LOG_WARN("daemon with error_log stderr: further "
			    "log lines are lost");
		}
		main_detach_stdio();
	}
	rc = sfu_master_run(m);
	sfu_master_free(m);
	return rc;
fail:
	if (m != NULL) {
		SFU_LOG_ERROR("%s", err.reason);
		ready_fd = m->ready_fd;
		m->ready_fd = -1;
		sfu_master_free(m);
	} else {
		fprintf(stderr, "sfud: %s\n", err.reason);
	}
	snprintf(msg, sizeof(msg), "%s", err.reason);
	main_report(&ready_fd, msg);
	return 1;
}
