/*
 * SPDX-License-Identifier: MIT
 *
 * The master's configuration: the directive table that gives meaning to
 * the tree from common/conf.c, defaults, validation (every error as
 * "file:line: message"), and the diff a reload applies.
 *
 * Relative paths are made absolute against the config file's directory.
 */
#ifndef SFU_MASTER_MASTER_CONF_H
#define SFU_MASTER_MASTER_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "common/log.h"

#define SFU_MASTER_CONF_MAX_WORKERS	256
#define SFU_MASTER_CONF_MAX_LISTEN	8

enum sfu_listen_protocol {
	SFU_LISTEN_UDP,
	SFU_LISTEN_TCP,
};

/* One "listen udp|tcp IP PORT [announced ADDR];" of webrtc_server. */
struct sfu_master_conf_listen {
	enum sfu_listen_protocol protocol;
	char		*ip;		/* owned */
	uint16_t	 port;		/* + worker index per worker */
	char		*announced;	/* owned, NULL when absent */
};

struct sfu_master_conf {
	char		*path;		/* owned: absolute path of the file */

	/* top level */
	bool		 daemon;		/* daemon on|off; default on */
	char		*pid_path;		/* owned; pid PATH; default
						   SFU_RUNSTATEDIR/sfud.pid */
	char		*error_log;		/* owned; "stderr" or a path */
	enum sfu_log_level error_log_level;	/* default info */
	char		*user;			/* owned, NULL: keep */
	char		*group;			/* owned, NULL: user's group */
	unsigned	 worker_processes;	/* 0 with "auto" */
	bool		 worker_processes_auto;	/* "auto": number of cores;
						   the default */
	bool		 worker_cpu_affinity;	/* auto|off; default off */
	uint64_t	 worker_rlimit_nofile;	/* 0: leave as is */
	char		*worker_binary;		/* owned, NULL: default */
	uint64_t	 worker_start_timeout_ms; /* worker_start_timeout; 10 s */
	uint64_t	 worker_ping_interval_ms; /* worker_ping_interval; 5 s */
	uint64_t	 worker_ping_timeout_ms;  /* worker_ping_timeout; 10 s */
	uint64_t	 drain_timeout_ms;	/* worker_drain_timeout; 300 s */
	uint64_t	 shutdown_timeout_ms;	/* worker_shutdown_timeout; 5 s */

	/* admin { } */
	char		*admin_listen;		/* owned: socket path; default
						   SFU_RUNSTATEDIR/sfud.sock */
	mode_t		 admin_mode;		/* default 0600 */
	unsigned	 admin_max_clients;	/* max_clients; default 1024 */
	uint64_t	 admin_max_output;	/* client_output_limit bytes;
						   default 16 MiB */

	/* worker { } */
	enum sfu_log_level log_level;		/* default warn */
	uint32_t	 log_tags;		/* enum sfu_log_tag bits */
	uint16_t	 rtc_min_port;		/* rtc_ports MIN-MAX; default
						   10000-59999 */
	uint16_t	 rtc_max_port;
	char		*dtls_certificate;	/* owned, NULL: generated */
	char		*dtls_private_key;	/* owned, NULL: generated */

	/* webrtc_server { } (optional) */
	struct sfu_master_conf_listen webrtc_listen[SFU_MASTER_CONF_MAX_LISTEN];
	unsigned	 webrtc_nlisten;
};

/*
 * Parses and validates path. Returns a complete config or NULL with err
 * ("file:line: message", or "path: strerror" when the file cannot be read).
 */
struct sfu_master_conf *sfu_master_conf_load(const char *path,
	    struct sfu_error *err);
/* NULL-safe. */
void	sfu_master_conf_free(struct sfu_master_conf *conf);

/* What a reload from old to new must do. */
struct sfu_master_conf_diff {
	bool	log_changed;		/* level or tags: worker.updateSettings */
	bool	workers_changed;	/* worker_processes: grow or drain */
	bool	respawn_needed;		/* ports, certificate, binary,
					   webrtc_server: new generation */
	bool	admin_changed;		/* listen path or mode: not applied
					   live, logged */
	bool	error_log_changed;	/* path or level: reopen */
};
void	sfu_master_conf_diff(const struct sfu_master_conf *old,
	    const struct sfu_master_conf *new_conf,
	    struct sfu_master_conf_diff *diff);

/*
 * The argv for a worker with this config (mediasoup option names, see
 * worker.h); argv[0] is binary (NULL: conf->worker_binary, else
 * SFU_LIBEXECDIR/sfud-worker). Returns a NULL-terminated array of owned
 * strings; free with sfu_master_conf_free_argv().
 */
char	**sfu_master_conf_worker_argv(const struct sfu_master_conf *conf,
	    const char *binary);
void	sfu_master_conf_free_argv(char **argv);

/* Number of workers to run (resolves "auto"). */
unsigned sfu_master_conf_worker_count(const struct sfu_master_conf *conf);

#endif
