/*
 * SPDX-License-Identifier: MIT
 *
 * The ORTC logic mediasoup runs in Node, done in the worker: the supported
 * RTP capabilities, router capabilities from media codecs, producer RTP
 * parameters -> rtp mapping and consumable parameters, canConsume, and a
 * consumer's RTP parameters. Pure functions over rtp_parameters.h data; no
 * I/O.
 */
#ifndef SFU_WORKER_ORTC_H
#define SFU_WORKER_ORTC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "worker/rtc/rtp_parameters.h"

/* mediasoup's supportedRtpCapabilities (codecs and header extensions). */
const struct sfu_rtp_capabilities *sfu_ortc_supported_capabilities(void);

/*
 * worker.createRouter mediaCodecs -> the router's RtpCapabilities: each
 * media codec matched against the supported table (mimeType, clockRate,
 * channels; H264 profile-level-id/packetization-mode and VP9/H265/AV1
 * profile rules as mediasoup's isSameCodec/matchCodecs), payload types
 * kept when given and free, else assigned from the dynamic range 100-127
 * then 96-99; an RTX codec (apt=) added after each video codec; the
 * supported header extensions and the supported rtcpFeedback copied.
 * Given payload types are reserved before any is assigned, so an RTX
 * codec never takes one; a static one (PCMU 0, PCMA 8, G722 9, CN 13)
 * already taken falls back to a dynamic one.
 * Errors: SFU_ERR_UNSUPPORTED naming the codec that is not supported,
 * SFU_ERR_TYPE for duplicates or exhausted payload types.
 */
int	sfu_ortc_router_capabilities(const struct sfu_rtp_codec_capability *media,
	    unsigned count, struct sfu_rtp_capabilities *out,
	    struct sfu_error *err);

/* How a producer's payload types and SSRCs map onto the router's. */
struct sfu_rtp_mapping_codec {
	uint8_t	payload_type;		/* the producer's */
	uint8_t	mapped_payload_type;	/* the router's */
};

struct sfu_rtp_mapping_encoding {
	bool		has_ssrc;
	uint32_t	ssrc;		/* the producer's, when signalled */
	char		rid[SFU_RTP_RID_LEN];
	char		scalability_mode[SFU_RTP_SCALABILITY_LEN];
	uint32_t	mapped_ssrc;	/* what consumers' streams derive from */
};

struct sfu_rtp_mapping {
	struct sfu_rtp_mapping_codec	codecs[SFU_RTP_MAX_CODECS];
	unsigned			codec_count;
	struct sfu_rtp_mapping_encoding	encodings[SFU_RTP_MAX_ENCODINGS];
	unsigned			encoding_count;
};

/*
 * transport.produce: checks params against the router's capabilities and
 * computes the mapping (mediasoup's getProducerRtpParametersMapping).
 * mapped SSRCs are random and distinct. SFU_ERR_UNSUPPORTED when a codec
 * cannot be matched (the reason names it). Like mediasoup's Node layer,
 * the caller gives a producer without encodings one empty encoding
 * ({}) first; with none, the mapping has none.
 */
int	sfu_ortc_producer_mapping(const struct sfu_rtp_parameters *params,
	    const struct sfu_rtp_capabilities *router_caps,
	    struct sfu_rtp_mapping *out, struct sfu_error *err);

/*
 * The consumable RTP parameters of a producer (getConsumableRtpParameters):
 * router payload types, mapped SSRCs, the router's header extensions for
 * kind, rtcp from the producer. An H264 codec carries the profile-level-id
 * mediasoup's {modify: true} match writes into the producer's parameters.
 * SFU_ERR_TYPE when a codec is not of kind or is missing from mapping.
 */
int	sfu_ortc_consumable_parameters(enum sfu_media_kind kind,
	    const struct sfu_rtp_parameters *params,
	    const struct sfu_rtp_capabilities *router_caps,
	    const struct sfu_rtp_mapping *mapping,
	    struct sfu_rtp_parameters *out, struct sfu_error *err);

/* router.canConsume: true when some media codec matches (canConsume). */
bool	sfu_ortc_can_consume(const struct sfu_rtp_parameters *consumable,
	    const struct sfu_rtp_capabilities *caps);

/*
 * transport.consume: the consumer's RTP parameters (getConsumerRtpParameters
 * for a "simple" consumer): codecs the remote can receive (with their RTX),
 * header extensions it supports, one encoding with a fresh random ssrc (and
 * rtx ssrc when an RTX codec remains), rtcp cname from consumable. pipe
 * false. SFU_ERR_UNSUPPORTED when nothing matches.
 * As mediasoup: RTX ssrc = ssrc + 1; header extensions match on uri and id
 * (and kind when the remote gives one); goog-remb dropped when
 * transport-cc is negotiated, transport-cc when only abs-send-time is,
 * both otherwise; scalabilityMode from the consumable encodings
 * ("L<n>T<t>" for n > 1 simulcast encodings), maxBitrate their highest.
 */
int	sfu_ortc_consumer_parameters(const struct sfu_rtp_parameters *consumable,
	    const struct sfu_rtp_capabilities *remote_caps,
	    struct sfu_rtp_parameters *out, struct sfu_error *err);

#endif
