/*
 * SPDX-License-Identifier: MIT
 *
 * The master's signals (DESIGN §5), as libevent signal events: HUP
 * reload, TERM/INT fast stop, QUIT graceful stop, USR1 reopen logs, CHLD
 * reap. Callbacks run in the loop, so they may reload, log and allocate.
 */
#include "config.h"

#include <signal.h>
#include <string.h>

#define SFU_LOG_MODULE "signals"
#include "common/handle/signal_handle.h"
#include "common/log.h"
#include "master/master.h"

static void
signals_on_signal(void *ctx, struct sfu_signal_handle *h, int signo)
{
	struct sfu_master *m = ctx;
	struct sfu_error err = { 0 };

	(void)h;
	switch (signo) {
	case SIGHUP:
		SFU_LOG_INFO("SIGHUP: reloading %s", m->conf_path);
		sfu_master_reload(m, &err);
		break;
	case SIGTERM:
	case SIGINT:
		SFU_LOG_INFO("%s: fast shutdown", strsignal(signo));
		sfu_master_stop(m);
		break;
	case SIGQUIT:
		SFU_LOG_INFO("SIGQUIT: graceful shutdown");
		sfu_master_quit(m);
		break;
	case SIGUSR1:
		sfu_master_reopen_logs(m);
		break;
	case SIGCHLD:
		sfu_pool_reap(m);
		break;
	default:
		break;
	}
}

int
sfu_master_signals_init(struct sfu_master *m, struct sfu_error *err)
{
	static const int signos[] = { SIGHUP, SIGTERM, SIGINT, SIGQUIT,
		SIGUSR1, SIGCHLD };
	struct sigaction sa;
	size_t i = 0;

	/* The only raw disposition: writes to gone peers return EPIPE. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);

	for (i = 0; i < sizeof(signos) / sizeof(signos[0]); i++) {
		m->signals[i] = sfu_signal_handle_new(m->base, signos[i],
		    signals_on_signal, m, err);
		if (m->signals[i] == NULL) {
			return -1;
		}
	}
	return 0;
}

void
sfu_master_signals_free(struct sfu_master *m)
{
	size_t i = 0;

	for (i = 0; i < sizeof(m->signals) / sizeof(m->signals[0]); i++) {
		sfu_signal_handle_free(m->signals[i]);
		m->signals[i] = NULL;
	}
}
