/*
 * SPDX-License-Identifier: MIT
 *
 * What every rtc object of one worker shares: the loop, the registry
 * (handlerId -> handler), the notifier, the settings, and per-worker
 * scratch space for the packet path. Owned by the worker; rtc objects
 * borrow it. Nothing here is global, so embedded workers stay apart.
 */
#ifndef SFU_WORKER_RTC_CTX_H
#define SFU_WORKER_RTC_CTX_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "worker/rtc/rtp_parameters.h"

struct sfu_channel_request;
struct sfu_dtls_ctx;
struct sfu_notifier;
struct sfu_registry;
struct sfu_router;
struct sfu_settings;
struct sfu_strmap;
struct sfu_webrtc_server;

/* Room for one packet plus the SRTP trailer and a rewritten MID. */
#define SFU_RTC_PACKET_BUF	2048

struct sfu_rtc_ctx {
	struct event_base	*base;		/* borrowed */
	struct sfu_registry	*registry;	/* borrowed */
	struct sfu_notifier	*notifier;	/* borrowed */
	const struct sfu_settings *settings;	/* borrowed */
	struct sfu_dtls_ctx	*dtls;		/* borrowed: certificate */
	struct sfu_strmap	*webrtc_servers; /* borrowed: id -> server */
	uint8_t			 scratch[SFU_RTC_PACKET_BUF]; /* per packet */

	/* router.close: the worker owns routers, so it frees and answers. */
	void			(*close_router)(void *owner,
				    struct sfu_router *r,
				    struct sfu_channel_request *req);
	/* webRtcServer.close: likewise. */
	void			(*close_webrtc_server)(void *owner,
				    struct sfu_webrtc_server *s,
				    struct sfu_channel_request *req);
	void			*owner;		/* borrowed: the worker */

	/*
	 * transport.consume's scratch: the remote's capabilities and the new
	 * consumer's parameters while they are computed (the consumer keeps
	 * a compact copy), so that no call allocates their fixed-size
	 * arrays (about 280 KiB; pages only touched by the first call).
	 */
	struct sfu_rtp_capabilities consume_caps;
	struct sfu_rtp_parameters consume_params;
};

#endif
