/*
 * SPDX-License-Identifier: MIT
 *
 * signal_handle: a persistent libevent signal event.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "common/handle/signal_handle.h"
#include "common/mem.h"

struct sfu_signal_handle {
	struct event		*ev;	/* owned */
	int			 signo;
	sfu_signal_handle_cb	 cb;
	void			*ctx;	/* borrowed: the owner */
};

static void
signal_handle_on_signal(evutil_socket_t signo, short what, void *arg)
{
	struct sfu_signal_handle *h = arg;

	(void)what;
	h->cb(h->ctx, h, (int)signo);
}

struct sfu_signal_handle *
sfu_signal_handle_new(struct event_base *base, int signo,
    sfu_signal_handle_cb cb, void *ctx, struct sfu_error *err)
{
	struct sfu_signal_handle *h = NULL;

	h = sfu_xcalloc(1, sizeof(*h));
	h->signo = signo;
	h->cb = cb;
	h->ctx = ctx;
	h->ev = evsignal_new(base, signo, signal_handle_on_signal, h);
	if (h->ev == NULL || event_add(h->ev, NULL) == -1) {
		sfu_error_set(err, SFU_ERR_ERROR, "cannot watch signal %s",
		    strsignal(signo));
		goto fail;
	}
	return h;
fail:
	sfu_signal_handle_free(h);
	return NULL;
}

void
sfu_signal_handle_free(struct sfu_signal_handle *h)
{
	if (h == NULL) {
		return;
	}
	if (h->ev != NULL) {
		event_free(h->ev);
		h->ev = NULL;
	}
	free(h);
}
