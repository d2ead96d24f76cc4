/*
 * SPDX-License-Identifier: MIT
 *
 * One worker: its event loop, settings, log configuration, channel,
 * registry and notifier, and the worker.* methods. sfu_worker_run() owns
 * all of it for the length of the run, so workers embedded as threads of
 * one process share nothing but the process-wide library initialisation
 * done once under pthread_once.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#define SFU_LOG_MODULE "worker"
#include "common/clock.h"
#include "common/handle/async_handle.h"
#include "common/handle/signal_handle.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/msg.h"
#include "worker/channel/channel.h"
#include "worker/channel/channel_request.h"
#include "worker/channel/notifier.h"
#include "worker/channel/registry.h"
#include "common/strmap.h"
#include "worker/rtc/dtls_transport.h"
#include "worker/rtc/router.h"
#include "worker/rtc/rtc_ctx.h"
#include "worker/rtc/webrtc_server.h"
#include "worker/settings.h"
#include "worker/worker.h"

/* How long a closing worker waits for its last messages to be read. */
#define WORKER_FLUSH_TIMEOUT_MS 2000

struct sfu_worker {
	struct event_base	*base;		/* owned */
	struct sfu_log		 log;
	struct sfu_log		*prev_log;	/* borrowed: restored at exit */
	struct sfu_settings	 settings;
	const struct sfu_worker_channel_ops *ops; /* borrowed, NULL: fds */
	struct sfu_channel	*channel;	/* owned */
	struct sfu_registry	*registry;	/* owned */
	struct sfu_notifier	*notifier;	/* owned */
	struct sfu_signal_handle *sigint;	/* owned, NULL when embedded */
	struct sfu_signal_handle *sigterm;	/* owned, NULL when embedded */
	struct sfu_rtc_ctx	*rtc;		/* owned: shared by rtc objects */
	struct sfu_strmap	*routers;	/* id -> router, owned */
	struct sfu_strmap	*webrtc_servers; /* id -> server, owned */
	struct sfu_dtls_ctx	*dtls;		/* owned: certificate */
	char			 pid[16];	/* our pid as text: targetId */
	uint64_t		 started_ms;	/* monotonic */
	int			 exit_code;
	bool			 closing;
};

/*
 * Methods of mediasoup's catalogue (and sfud's additions, DESIGN §3) that
 * later work builds. Until then they answer UnsupportedError instead of
 * "unknown method", so clients can tell "not yet" from "never".
 */
static const char *const worker_unbuilt_methods[] = {
	"router.createPipeTransport",
	"router.createDirectTransport", "router.createActiveSpeakerObserver",
	"router.createAudioLevelObserver", "router.closeRtpObserver",
	"transport.produceData",
	"transport.consumeData", "transport.closeDataProducer",
	"transport.closeDataConsumer",
	"dataProducer.dump", "dataProducer.getStats", "dataProducer.pause",
	"dataProducer.resume", "dataProducer.close",
	"dataConsumer.dump", "dataConsumer.getStats", "dataConsumer.pause",
	"dataConsumer.resume", "dataConsumer.close",
	"dataConsumer.getBufferedAmount",
	"dataConsumer.setBufferedAmountLowThreshold", "dataConsumer.send",
	"dataConsumer.setSubchannels",
	"rtpObserver.pause", "rtpObserver.resume", "rtpObserver.addProducer",
	"rtpObserver.removeProducer", "rtpObserver.close",
	NULL,
};

static void	worker_close_routers(struct sfu_worker *w);
static void	worker_close_webrtc_servers(struct sfu_worker *w);

static bool
worker_method_unbuilt(const char *method)
{
	size_t i = 0;

	for (i = 0; worker_unbuilt_methods[i] != NULL; i++) {
		if (strcmp(worker_unbuilt_methods[i], method) == 0) {
			return true;
		}
	}
	return false;
}

static void
worker_close(struct sfu_worker *w, int exit_code)
{
	if (w->closing) {
		return;
	}
	w->closing = true;
	w->exit_code = exit_code;
	SFU_LOG_DEBUG("closing [pid:%s exit:%d]", w->pid, exit_code);

	/*
	 * Routers close their transports, producers and consumers; then
	 * the WebRtcServers, which those transports used.
	 */
	worker_close_routers(w);
	worker_close_webrtc_servers(w);
	sfu_channel_shutdown(w->channel, WORKER_FLUSH_TIMEOUT_MS);
}

/* --- routers --- */

static void
worker_pack_key(void *arg, const char *key, void *value)
{
	(void)value;
	sfu_msg_pack_str(arg, key);
}

static void
worker_close_routers(struct sfu_worker *w)
{
	void **all = NULL;
	size_t n = 0;
	size_t i = 0;

	if (w->routers == NULL) {
		return;
	}
	all = sfu_strmap_values(w->routers, &n);
	for (i = 0; i < n; i++) {
		sfu_strmap_remove(w->routers, sfu_router_id(all[i]));
		sfu_router_free(all[i]);
	}
	free(all);
}

static void
worker_method_create_router(void *ctx, struct sfu_channel_request *req)
{
	struct sfu_worker *w = ctx;
	struct sfu_router *r = NULL;
	struct sfu_error err = { 0 };
	msgpack_packer *pk = NULL;

	if (req->env.data == NULL) {
		sfu_channel_request_error(req, SFU_ERR_TYPE, "data: missing");
		return;
	}
	r = sfu_router_new(w->rtc, req->env.data, &err);
	if (r == NULL) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	SFU_ASSERT(sfu_strmap_add(w->routers, sfu_router_id(r), r) == 0);
	pk = sfu_channel_request_begin_data(req);
	sfu_router_pack_created(r, pk);
	sfu_channel_request_accept_data(req);
}

static void
worker_method_close_router(void *ctx, struct sfu_channel_request *req)
{
	struct sfu_worker *w = ctx;
	struct sfu_router *r = NULL;
	struct sfu_error err = { 0 };
	char id[SFU_MSG_ID_MAX];

	if (sfu_msg_get_strbuf(req->env.data, "data", "routerId",
	    SFU_MSG_REQUIRED, id, sizeof(id), &err) != 1) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	r = sfu_strmap_remove(w->routers, id);
	if (r == NULL) {
		sfu_channel_request_error(req, SFU_ERR_NOT_FOUND,
		    "data.routerId: no router '%s'", id);
		return;
	}
	sfu_router_free(r);
	sfu_channel_request_accept(req);
}

/* router.close arrives at the router; the router asks us. */
static void
worker_on_router_close(void *owner, struct sfu_router *r,
    struct sfu_channel_request *req)
{
	struct sfu_worker *w = owner;

	sfu_strmap_remove(w->routers, sfu_router_id(r));
	sfu_router_free(r);
	sfu_channel_request_accept(req);
}

/* --- WebRtcServers --- */

static void
worker_close_webrtc_servers(struct sfu_worker *w)
{
	void **all = NULL;
	size_t n = 0;
	size_t i = 0;

	if (w->webrtc_servers == NULL) {
		return;
	}
	all = sfu_strmap_values(w->webrtc_servers, &n);
	for (i = 0; i < n; i++) {
		sfu_strmap_remove(w->webrtc_servers,
		    sfu_webrtc_server_id(all[i]));
		sfu_webrtc_server_free(all[i]);
	}
	free(all);
}

static void
worker_method_create_webrtc_server(void *ctx, struct sfu_channel_request *req)
{
	struct sfu_worker *w = ctx;
	struct sfu_webrtc_server *s = NULL;
	struct sfu_error err = { 0 };
	msgpack_packer *pk = NULL;

	if (req->env.data == NULL) {
		sfu_channel_request_error(req, SFU_ERR_TYPE, "data: missing");
		return;
	}
	s = sfu_webrtc_server_new(w->rtc, req->env.data, &err);
	if (s == NULL) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	SFU_ASSERT(sfu_strmap_add(w->webrtc_servers, sfu_webrtc_server_id(s),
	    s) == 0);
	pk = sfu_channel_request_begin_data(req);
	sfu_webrtc_server_pack_dump(s, pk);
	sfu_channel_request_accept_data(req);
}

static void
worker_method_close_webrtc_server(void *ctx, struct sfu_channel_request *req)
{
	struct sfu_worker *w = ctx;
	struct sfu_webrtc_server *s = NULL;
	struct sfu_error err = { 0 };
	char id[SFU_MSG_ID_MAX];

	if (sfu_msg_get_strbuf(req->env.data, "data", "webRtcServerId",
	    SFU_MSG_REQUIRED, id, sizeof(id), &err) != 1) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	s = sfu_strmap_remove(w->webrtc_servers, id);
	if (s == NULL) {
		sfu_channel_request_error(req, SFU_ERR_NOT_FOUND,
		    "data.webRtcServerId: no WebRtcServer '%s'", id);
		return;
	}
	sfu_webrtc_server_free(s);
	sfu_channel_request_accept(req);
}

/* webRtcServer.close arrives at the server; the server asks us. */
static void
worker_on_webrtc_server_close(void *owner, struct sfu_webrtc_server *s,
    struct sfu_channel_request *req)
{
	struct sfu_worker *w = owner;

	sfu_strmap_remove(w->webrtc_servers, sfu_webrtc_server_id(s));
	sfu_channel_request_accept(req);
	sfu_webrtc_server_free(s);
}

/* --- worker.* methods --- */

static void
worker_method_dump(void *ctx, struct sfu_channel_request *req)
{
	struct sfu_worker *w = ctx;
	msgpack_packer *pk = NULL;

	pk = sfu_channel_request_begin_data(req);
	msgpack_pack_map(pk, 7);
	sfu_msg_pack_kv_uint(pk, "pid", (uint64_t)getpid());
	sfu_msg_pack_str(pk, "webRtcServerIds");
	msgpack_pack_array(pk, sfu_strmap_count(w->webrtc_servers));
	sfu_strmap_foreach(w->webrtc_servers, worker_pack_key, pk);
	sfu_msg_pack_str(pk, "routerIds");
	msgpack_pack_array(pk, sfu_strmap_count(w->routers));
	sfu_strmap_foreach(w->routers, worker_pack_key, pk);
	sfu_msg_pack_str(pk, "channelMessageHandlers");
	msgpack_pack_map(pk, 2);
	sfu_msg_pack_str(pk, "channelRequestHandlers");
	sfu_registry_dump_ids(w->registry, pk);
	sfu_msg_pack_str(pk, "channelNotificationHandlers");
	msgpack_pack_array(pk, 0);
	sfu_msg_pack_str(pk, "settings");
	sfu_settings_dump(&w->settings, pk);
	sfu_msg_pack_str(pk, "channel");
	sfu_channel_dump(w->channel, pk);
	sfu_msg_pack_kv_uint(pk, "uptimeMs",
	    sfu_clock_mono_ms() - w->started_ms);
	sfu_channel_request_accept_data(req);
}

static uint64_t
worker_timeval_ms(const struct timeval *tv)
{
	return (uint64_t)tv->tv_sec * 1000u + (uint64_t)tv->tv_usec / 1000u;
}

static void
worker_method_get_resource_usage(void *ctx, struct sfu_channel_request *req)
{
	struct rusage ru;
	msgpack_packer *pk = NULL;
	int e = 0;

	(void)ctx;
	if (getrusage(RUSAGE_SELF, &ru) == -1) {
		e = errno;
		sfu_channel_request_error(req, SFU_ERR_ERROR,
		    "getrusage() failed: %s", strerror(e));
		return;
	}

	/* mediasoup's names; times in milliseconds, sizes in KiB. */
	pk = sfu_channel_request_begin_data(req);
	msgpack_pack_map(pk, 16);
	sfu_msg_pack_kv_uint(pk, "ru_utime", worker_timeval_ms(&ru.ru_utime));
	sfu_msg_pack_kv_uint(pk, "ru_stime", worker_timeval_ms(&ru.ru_stime));
	sfu_msg_pack_kv_uint(pk, "ru_maxrss", (uint64_t)ru.ru_maxrss);
	sfu_msg_pack_kv_uint(pk, "ru_ixrss", (uint64_t)ru.ru_ixrss);
	sfu_msg_pack_kv_uint(pk, "ru_idrss", (uint64_t)ru.ru_idrss);
	sfu_msg_pack_kv_uint(pk, "ru_isrss", (uint64_t)ru.ru_isrss);
	sfu_msg_pack_kv_uint(pk, "ru_minflt", (uint64_t)ru.ru_minflt);
	sfu_msg_pack_kv_uint(pk, "ru_majflt", (uint64_t)ru.ru_majflt);
	sfu_msg_pack_kv_uint(pk, "ru_nswap", (uint64_t)ru.ru_nswap);
	sfu_msg_pack_kv_uint(pk, "ru_inblock", (uint64_t)ru.ru_inblock);
	sfu_msg_pack_kv_uint(pk, "ru_oublock", (uint64_t)ru.ru_oublock);
	sfu_msg_pack_kv_uint(pk, "ru_msgsnd", (uint64_t)ru.ru_msgsnd);
	sfu_msg_pack_kv_uint(pk, "ru_msgrcv", (uint64_t)ru.ru_msgrcv);
	sfu_msg_pack_kv_uint(pk, "ru_nsignals", (uint64_t)ru.ru_nsignals);
	sfu_msg_pack_kv_uint(pk, "ru_nvcsw", (uint64_t)ru.ru_nvcsw);
	sfu_msg_pack_kv_uint(pk, "ru_nivcsw", (uint64_t)ru.ru_nivcsw);
	sfu_channel_request_accept_data(req);
}

static void
worker_method_update_settings(void *ctx, struct sfu_channel_request *req)
{
	struct sfu_worker *w = ctx;
	struct sfu_error err = { 0 };

	if (req->env.data == NULL) {
		sfu_channel_request_error(req, SFU_ERR_TYPE, "data: missing");
		return;
	}
	if (sfu_settings_update(&w->settings, req->env.data, &err) == -1) {
		sfu_channel_request_error_from(req, &err);
		return;
	}
	w->log.level = w->settings.log_level;
	w->log.tags = w->settings.log_tags;
	SFU_LOG_DEBUG("settings updated [logLevel:%s]",
	    sfu_log_level_name(w->log.level));
	sfu_channel_request_accept(req);
}

static void
worker_method_ping(void *ctx, struct sfu_channel_request *req)
{
	(void)ctx;
	sfu_channel_request_accept(req);
}

static void
worker_method_close(void *ctx, struct sfu_channel_request *req)
{
	struct sfu_worker *w = ctx;

	sfu_channel_request_accept(req);
	worker_close(w, SFU_WORKER_EXIT_OK);
}

static const struct sfu_method worker_methods[] = {
	{ "worker.dump", worker_method_dump },
	{ "worker.getResourceUsage", worker_method_get_resource_usage },
	{ "worker.updateSettings", worker_method_update_settings },
	{ "worker.ping", worker_method_ping },
	{ "worker.close", worker_method_close },
	{ "worker.createRouter", worker_method_create_router },
	{ "worker.closeRouter", worker_method_close_router },
	{ "worker.createWebRtcServer", worker_method_create_webrtc_server },
	{ "worker.closeWebRtcServer", worker_method_close_webrtc_server },
	{ NULL, NULL },
};

/* --- channel listener --- */

static void
worker_on_channel_request(void *ctx, struct sfu_channel *ch,
    struct sfu_channel_request *req)
{
	struct sfu_worker *w = ctx;
	sfu_method_cb handler = NULL;
	void *hctx = NULL;

	(void)ch;
	if (w->closing) {
		sfu_channel_request_error(req, SFU_ERR_INVALID_STATE,
		    "worker is closing");
		return;
	}
	if (strncmp(req->env.method, "worker.", 7) == 0) {
		if (sfu_method_dispatch(worker_methods, w, req)) {
			return;
		}
	} else if (req->env.has_handler_id &&
	    sfu_registry_lookup(w->registry, req->env.handler_id, &handler,
	    &hctx)) {
		handler(hctx, req);
		return;
	}
	if (worker_method_unbuilt(req->env.method)) {
		sfu_channel_request_error(req, SFU_ERR_UNSUPPORTED,
		    "%s is not implemented yet", req->env.method);
		return;
	}
	sfu_channel_request_error(req, SFU_ERR_ERROR, "unknown method '%s'",
	    req->env.method);
}

static void
worker_on_channel_closed(void *ctx, struct sfu_channel *ch)
{
	struct sfu_worker *w = ctx;

	(void)ch;
	if (!w->closing) {
		SFU_LOG_INFO("channel closed by the other side, closing");
	}
	worker_close(w, SFU_WORKER_EXIT_OK);
}

static void
worker_on_channel_flushed(void *ctx, struct sfu_channel *ch)
{
	struct sfu_worker *w = ctx;

	(void)ch;
	event_base_loopbreak(w->base);
}

static const struct sfu_channel_listener worker_channel_listener = {
	.on_request = worker_on_channel_request,
	.on_closed = worker_on_channel_closed,
	.on_flushed = worker_on_channel_flushed,
};

/* --- signals (fd mode only) --- */

static void
worker_on_signal(void *ctx, struct sfu_signal_handle *h, int signo)
{
	struct sfu_worker *w = ctx;

	(void)h;
	SFU_LOG_INFO("signal %s received, closing", strsignal(signo));
	worker_close(w, SFU_WORKER_EXIT_OK);
}

static void
worker_ignore_signals(void)
{
	static const int ignored[] = { SIGPIPE, SIGHUP, SIGQUIT, SIGUSR1,
		SIGUSR2, SIGALRM, SIGTSTP, SIGTTIN, SIGTTOU };
	struct sigaction sa;
	sigset_t set;
	size_t i = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++) {
		sigaction(ignored[i], &sa, NULL);
	}

	/* A mask inherited from the spawner must not hide INT/TERM. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* --- run --- */

static void
worker_log_to_host(void *ctx, enum sfu_log_level level, const char *line)
{
	const struct sfu_worker *w = ctx;

	w->ops->log(w->ops->ctx, (int)level, line);
}

static void
worker_free(struct sfu_worker *w)
{
	sfu_signal_handle_free(w->sigint);
	sfu_signal_handle_free(w->sigterm);
	worker_close_routers(w);
	worker_close_webrtc_servers(w);
	sfu_strmap_free(w->routers);
	sfu_strmap_free(w->webrtc_servers);
	sfu_dtls_ctx_free(w->dtls);
	free(w->rtc);
	sfu_notifier_free(w->notifier);
	sfu_channel_free(w->channel);
	sfu_registry_free(w->registry);
	if (w->base != NULL) {
		event_base_free(w->base);
	}
	sfu_settings_release(&w->settings);
	sfu_log_set_current(w->prev_log);
	free(w);
}

int
sfu_worker_run(int argc, char *const argv[],
    const struct sfu_worker_channel_ops *ops)
{
	struct sfu_worker *w = NULL;
	struct sfu_error err = { 0 };
	int code = SFU_WORKER_EXIT_FAILURE;

	w = sfu_xcalloc(1, sizeof(*w));
	w->ops = ops;
	w->started_ms = sfu_clock_mono_ms();
	snprintf(w->pid, sizeof(w->pid), "%ld", (long)getpid());
	sfu_log_init(&w->log);
	if (ops != NULL && ops->log != NULL) {
		w->log.sink = worker_log_to_host;
		w->log.sink_ctx = w;
	}
	w->prev_log = sfu_log_set_current(&w->log);
	sfu_settings_init(&w->settings);
	if (sfu_settings_parse_argv(&w->settings, argc, argv, &err) == -1) {
		SFU_LOG_ERROR("bad settings: %s", err.reason);
		code = SFU_WORKER_EXIT_SETTINGS;
		goto out;
	}
	w->log.level = w->settings.log_level;
	w->log.tags = w->settings.log_tags;

	/* Process-wide, once: libevent's locking for cross-thread wakes. */
	if (sfu_async_handle_global_init() == -1) {
		SFU_LOG_ERROR("cannot enable libevent thread support");
		goto out;
	}
	w->base = event_base_new();
	if (w->base == NULL) {
		SFU_LOG_ERROR("event_base_new() failed");
		goto out;
	}
	if (ops == NULL) {
		worker_ignore_signals();
		w->channel = sfu_channel_new_fd(w->base,
		    SFU_WORKER_CHANNEL_IN_FD, SFU_WORKER_CHANNEL_OUT_FD,
		    &worker_channel_listener, w, &err);
	} else {
		w->channel = sfu_channel_new_embedded(w->base, ops,
		    &worker_channel_listener, w, &err);
	}
	if (w->channel == NULL) {
		SFU_LOG_ERROR("cannot open the channel: %s", err.reason);
		goto out;
	}
	if (ops == NULL) {
		w->sigint = sfu_signal_handle_new(w->base, SIGINT,
		    worker_on_signal, w, &err);
		w->sigterm = sfu_signal_handle_new(w->base, SIGTERM,
		    worker_on_signal, w, &err);
		if (w->sigint == NULL || w->sigterm == NULL) {
			SFU_LOG_ERROR("%s", err.reason);
			goto out;
		}
	}
	w->registry = sfu_registry_new();
	w->notifier = sfu_notifier_new(w->channel);
	w->routers = sfu_strmap_new();
	w->webrtc_servers = sfu_strmap_new();
	/* The certificate every DTLS handshake of this worker shows. */
	w->dtls = sfu_dtls_ctx_new(w->settings.dtls_certificate_file,
	    w->settings.dtls_private_key_file, &err);
	if (w->dtls == NULL) {
		SFU_LOG_ERROR("DTLS certificate: %s", err.reason);
		code = SFU_WORKER_EXIT_SETTINGS;
		goto out;
	}
	w->rtc = sfu_xcalloc(1, sizeof(*w->rtc));
	w->rtc->base = w->base;
	w->rtc->registry = w->registry;
	w->rtc->notifier = w->notifier;
	w->rtc->settings = &w->settings;
	w->rtc->close_router = worker_on_router_close;
	w->rtc->close_webrtc_server = worker_on_webrtc_server_close;
	w->rtc->dtls = w->dtls;
	w->rtc->webrtc_servers = w->webrtc_servers;
	w->rtc->owner = w;
	sfu_channel_start(w->channel);
	sfu_notifier_emit(w->notifier, w->pid, "running");
	SFU_LOG_DEBUG("running [pid:%s]", w->pid);

	/*
	 * In embedded mode the loop may have no pending event at all (the
	 * wake-up is activated from another thread): do not exit on empty.
	 */
	if (event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY) == -1) {
		SFU_LOG_ERROR("event loop failed");
		goto out;
	}
	code = w->closing ? w->exit_code : SFU_WORKER_EXIT_FAILURE;
out:
	worker_free(w);
	return code;
}
