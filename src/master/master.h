/*
 * SPDX-License-Identifier: MIT
 *
 * struct sfu_master: the master process's state (live config, worker
 * pool, admin socket, relay tables, signals) and the functions its modules
 * (master.c, pool.c, relay.c, master_methods.c, signals.c) call on each
 * other. Only main.c and those modules include this header.
 */
#ifndef SFU_MASTER_MASTER_H
#define SFU_MASTER_MASTER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include <event2/event.h>
#include <msgpack.h>

#include "common/error.h"
#include "common/log.h"
#include "common/msg.h"

struct sfu_admin;
struct sfu_admin_client;
struct sfu_master_conf;
struct sfu_relay;
struct sfu_signal_handle;
struct sfu_strmap;
struct sfu_timer_handle;
struct sfu_worker_link;

/* The config's webrtc_server on a slot's worker (pool.c). */
enum sfu_slot_webrtc {
	SFU_SLOT_WEBRTC_NONE,		/* none, or none wanted */
	SFU_SLOT_WEBRTC_WAITING,	/* wanted; an older generation's
					   server still holds its ports */
	SFU_SLOT_WEBRTC_CREATING,	/* worker.createWebRtcServer sent */
	SFU_SLOT_WEBRTC_CREATED,
	SFU_SLOT_WEBRTC_CLOSING,	/* closed to hand its ports over */
};
#define SFU_SLOT_WEBRTC_MAX_PORTS 8	/* SFU_MASTER_CONF_MAX_LISTEN */

enum sfu_slot_state {
	SFU_SLOT_STARTING,	/* spawned, no "running" yet */
	SFU_SLOT_RUNNING,
	SFU_SLOT_DRAINING,	/* no new routers; closes when empty */
	SFU_SLOT_STOPPING,	/* asked to close; waiting for its exit */
	SFU_SLOT_BACKOFF,	/* died; respawn timer armed */
};

/* One worker process (or the wait for its respawn). */
struct sfu_slot {
	struct sfu_master	*master;	/* borrowed: our owner */
	unsigned		 index;		/* "worker N" */
	unsigned		 generation;
	enum sfu_slot_state	 state;
	pid_t			 pid;		/* -1 when none */
	unsigned		 restarts;	/* respawns of this slot */
	unsigned		 failures;	/* consecutive early deaths */
	uint64_t		 started_wall_ms;
	uint64_t		 started_mono_ms;
	struct sfu_worker_link	*link;		/* owned, NULL when none */
	struct sfu_timer_handle	*timer;		/* owned: start/backoff/stop */
	struct sfu_timer_handle	*link_timer;	/* owned: broken channel */
	pid_t			 link_broken_pid;
	unsigned		 routers;	/* kept by relay.c */
	unsigned		 routers_creating; /* createRouter in flight */
	unsigned		 entities;	/* kept by relay.c */
	bool			 ping_outstanding;
	uint64_t		 ping_sent_ms;	/* monotonic */
	bool			 retire;	/* do not respawn on exit */
	uint64_t		 drain_deadline_ms; /* monotonic, 0: none */
	int			 last_status;	/* waitpid status, -1: none */
	enum sfu_slot_webrtc	 webrtc_state;
	char			 webrtc_id[SFU_MSG_ID_MAX]; /* "": none */
	char			 webrtc_error[SFU_ERROR_REASON_LEN]; /* "":
						   none; the last attempt's */
	unsigned		 webrtc_nports;	/* in webrtc_ports */
	struct {
		bool		 tcp;
		uint16_t	 port;
	}			 webrtc_ports[SFU_SLOT_WEBRTC_MAX_PORTS];
	TAILQ_ENTRY(sfu_slot)	 entry;
};
TAILQ_HEAD(sfu_slot_list, sfu_slot);

enum sfu_master_state {
	SFU_MASTER_RUNNING,
	SFU_MASTER_QUITTING,	/* graceful: draining every worker */
	SFU_MASTER_STOPPING,	/* fast: workers told to close */
};

/* Per admin client: what it subscribed to. */
struct sfu_master_client {
	bool		 all_events;
	char		**names;	/* owned: event names or targetIds */
	size_t		 nnames;
	TAILQ_ENTRY(sfu_master_client) entry;
};
TAILQ_HEAD(sfu_master_client_list, sfu_master_client);

struct sfu_master {
	struct event_base	*base;		/* owned */
	struct sfu_log		 log;
	int			 log_fd;	/* owned, -1: stderr */
	char			*conf_path;	/* owned: as given with -c */
	struct sfu_master_conf	*conf;		/* owned: the live config */
	char			*worker_binary;	/* owned: resolved path */
	struct sfu_admin	*admin;		/* owned */
	struct sfu_relay	*relay;		/* owned */
	struct sfu_slot_list	 slots;		/* owned */
	struct sfu_master_client_list clients;	/* owned: per admin client */
	unsigned		 generation;
	enum sfu_master_state	 state;
	uint64_t		 started_wall_ms;
	uint64_t		 started_mono_ms;
	unsigned		 reloads;
	struct sfu_timer_handle	*ping_timer;	/* owned */
	struct sfu_timer_handle	*stop_timer;	/* owned: kill stragglers */
	struct sfu_timer_handle	*later_timer;	/* owned: deferred stop */
	struct sfu_signal_handle *signals[6];	/* owned */
	int			 ready_fd;	/* owned: daemon readiness pipe */
	bool			 pid_file_written;
	struct sfu_msg_builder	 builder;	/* for messages we make */
	int			 exit_code;
};

/* --- master.c --- */
struct sfu_master *sfu_master_new(const char *conf_path,
	    struct sfu_master_conf *conf, struct sfu_error *err);
/*
 * Checks the worker binary, watches signals, writes the pid file, binds
 * the admin socket: everything that may need privileges.
 */
int	sfu_master_open(struct sfu_master *m, struct sfu_error *err);
/* Spawns the workers and starts the liveness timer (after any drop). */
void	sfu_master_start_workers(struct sfu_master *m);
/* Runs the loop until stopped; returns the exit code. */
int	sfu_master_run(struct sfu_master *m);
void	sfu_master_free(struct sfu_master *m);
/* HUP / master.reload: returns 0, or -1 with err (config kept). */
int	sfu_master_reload(struct sfu_master *m, struct sfu_error *err);
void	sfu_master_stop(struct sfu_master *m);	/* TERM, INT */
void	sfu_master_quit(struct sfu_master *m);	/* QUIT */
void	sfu_master_reopen_logs(struct sfu_master *m);	/* USR1 */
/* Sends an event to subscribers (and to extra, if not NULL). */
void	sfu_master_publish(struct sfu_master *m, const char *target_id,
	    const char *event, const uint8_t *raw, size_t len,
	    struct sfu_admin_client *extra);
/* Opens (or reopens) the error log; returns 0 or -1 with err. */
int	sfu_master_open_log(struct sfu_master *m, struct sfu_error *err);

/* --- signals.c --- */
int	sfu_master_signals_init(struct sfu_master *m, struct sfu_error *err);
void	sfu_master_signals_free(struct sfu_master *m);

/* --- pool.c --- */
/* Spawns workers up to the config's count for the current generation. */
void	sfu_pool_fill(struct sfu_master *m);
void	sfu_pool_reap(struct sfu_master *m);	/* SIGCHLD */
struct sfu_slot *sfu_pool_find_index(struct sfu_master *m, unsigned index);
struct sfu_slot *sfu_pool_find_pid(struct sfu_master *m, pid_t pid);
/* The running worker with the fewest routers, or NULL. */
struct sfu_slot *sfu_pool_least_loaded(struct sfu_master *m);
/* A worker said "running". */
void	sfu_pool_on_running(struct sfu_slot *s);
/* Drain: no new routers, close when empty or at the deadline. */
void	sfu_pool_drain(struct sfu_slot *s, uint64_t timeout_ms);
/* Asks a worker to close (worker.close, then SIGKILL on a timer). */
void	sfu_pool_stop_slot(struct sfu_slot *s);
/* Called when a draining slot may have become empty. */
void	sfu_pool_check_drained(struct sfu_slot *s);
/* Liveness tick: pings, kills workers that stopped answering. */
void	sfu_pool_tick(struct sfu_master *m);
unsigned sfu_pool_count(struct sfu_master *m, int state);	/* -1: all */
/*
 * The id of the config's WebRtcServer on s's worker, NULL when it has
 * none (not configured, not created yet, failed, or closed by a client).
 */
const char *sfu_pool_webrtc_server_id(const struct sfu_slot *s);
/* Why the last attempt to create it failed, NULL when it did not. */
const char *sfu_pool_webrtc_server_error(const struct sfu_slot *s);
const char *sfu_pool_state_name(enum sfu_slot_state state);

/* --- master_methods.c --- */
void	sfu_master_handle_method(struct sfu_master *m,
	    struct sfu_admin_client *c, const struct sfu_msg_request *req);

#endif
