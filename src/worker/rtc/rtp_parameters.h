/*
 * SPDX-License-Identifier: MIT
 *
 * mediasoup's RTP data model in C: RtpCapabilities, RtpParameters and
 * their parts, with fixed-size storage (no allocation; limits below), read
 * from MessagePack with errors naming the field path
 * ("rtpParameters.encodings[1].ssrc: expected uint32") and written back in
 * mediasoup's exact JSON shapes (camelCase keys).
 */
#ifndef SFU_WORKER_RTP_PARAMETERS_H
#define SFU_WORKER_RTP_PARAMETERS_H

#include <stdbool.h>
#include <stdint.h>

#include <msgpack.h>

#include "common/error.h"

#define SFU_RTP_MAX_CODECS		32
#define SFU_RTP_MAX_HEADER_EXTENSIONS	16
#define SFU_RTP_MAX_ENCODINGS		8
#define SFU_RTP_MAX_PARAMS		16	/* codec parameters (fmtp) */
#define SFU_RTP_MAX_FEEDBACK		8	/* rtcpFeedback entries */
#define SFU_RTP_MIME_LEN		48	/* "video/H264" ... */
#define SFU_RTP_PARAM_KEY_LEN		48
#define SFU_RTP_PARAM_STR_LEN		128
#define SFU_RTP_FB_LEN			32
#define SFU_RTP_URI_LEN			128
#define SFU_RTP_RID_LEN			32
#define SFU_RTP_MID_LEN			32
#define SFU_RTP_CNAME_LEN		128
#define SFU_RTP_SCALABILITY_LEN		16

enum sfu_media_kind {
	SFU_MEDIA_AUDIO,
	SFU_MEDIA_VIDEO,
};

/* One codec parameter (an SDP fmtp entry): number or string. */
struct sfu_rtp_param {
	char		 key[SFU_RTP_PARAM_KEY_LEN];
	bool		 is_string;
	double		 num;		/* when !is_string; integers exact */
	char		 str[SFU_RTP_PARAM_STR_LEN];	/* when is_string */
};

struct sfu_rtp_params {
	struct sfu_rtp_param	 items[SFU_RTP_MAX_PARAMS];
	unsigned		 count;
};

struct sfu_rtcp_feedback {
	char	type[SFU_RTP_FB_LEN];		/* "nack", "ccm", "goog-remb" */
	char	parameter[SFU_RTP_FB_LEN];	/* "", "pli", "fir" */
};

/* RtpCodecCapability. */
struct sfu_rtp_codec_capability {
	enum sfu_media_kind	 kind;
	char			 mime_type[SFU_RTP_MIME_LEN];
	bool			 has_preferred_payload_type;
	uint8_t			 preferred_payload_type;
	uint32_t		 clock_rate;
	uint8_t			 channels;	/* 0: absent (video) */
	struct sfu_rtp_params	 parameters;
	struct sfu_rtcp_feedback rtcp_feedback[SFU_RTP_MAX_FEEDBACK];
	unsigned		 rtcp_feedback_count;
};

enum sfu_rtp_direction {
	SFU_RTP_DIR_SENDRECV,
	SFU_RTP_DIR_SENDONLY,
	SFU_RTP_DIR_RECVONLY,
	SFU_RTP_DIR_INACTIVE,
};

/* RtpHeaderExtension (capability). */
struct sfu_rtp_header_extension_capability {
	bool			 has_kind;	/* absent: both kinds */
	enum sfu_media_kind	 kind;
	char			 uri[SFU_RTP_URI_LEN];
	uint8_t			 preferred_id;
	bool			 preferred_encrypt;
	enum sfu_rtp_direction	 direction;
};

struct sfu_rtp_capabilities {
	struct sfu_rtp_codec_capability codecs[SFU_RTP_MAX_CODECS];
	unsigned		 codec_count;
	struct sfu_rtp_header_extension_capability
				 header_extensions[SFU_RTP_MAX_HEADER_EXTENSIONS];
	unsigned		 header_extension_count;
};

/* RtpCodecParameters. */
struct sfu_rtp_codec {
	char			 mime_type[SFU_RTP_MIME_LEN];
	uint8_t			 payload_type;
	uint32_t		 clock_rate;
	uint8_t			 channels;	/* 0: absent */
	struct sfu_rtp_params	 parameters;
	struct sfu_rtcp_feedback rtcp_feedback[SFU_RTP_MAX_FEEDBACK];
	unsigned		 rtcp_feedback_count;
};

/* RtpHeaderExtensionParameters. */
struct sfu_rtp_header_extension {
	char			 uri[SFU_RTP_URI_LEN];
	uint8_t			 id;		/* 1..14 one-byte, ..255 two */
	bool			 encrypt;
	struct sfu_rtp_params	 parameters;
};

/* RtpEncodingParameters. */
struct sfu_rtp_encoding {
	bool		 has_ssrc;
	uint32_t	 ssrc;
	char		 rid[SFU_RTP_RID_LEN];		/* "" when absent */
	bool		 has_codec_payload_type;
	uint8_t		 codec_payload_type;
	bool		 has_rtx;
	uint32_t	 rtx_ssrc;
	bool		 dtx;
	char		 scalability_mode[SFU_RTP_SCALABILITY_LEN]; /* "" */
	double		 scale_resolution_down_by;	/* 0: absent */
	uint32_t	 max_bitrate;			/* 0: absent */
};

struct sfu_rtcp_parameters {
	char	cname[SFU_RTP_CNAME_LEN];	/* "" when absent */
	bool	reduced_size;			/* default true */
	bool	has_mux;			/* mux given (packed only then) */
	bool	mux;				/* default true */
};

struct sfu_rtp_parameters {
	char				mid[SFU_RTP_MID_LEN];	/* "" */
	struct sfu_rtp_codec		codecs[SFU_RTP_MAX_CODECS];
	unsigned			codec_count;
	struct sfu_rtp_header_extension
				header_extensions[SFU_RTP_MAX_HEADER_EXTENSIONS];
	unsigned			header_extension_count;
	struct sfu_rtp_encoding		encodings[SFU_RTP_MAX_ENCODINGS];
	unsigned			encoding_count;
	struct sfu_rtcp_parameters	rtcp;
};

/*
 * Readers: o is the value (a map); path names it in errors (e.g.
 * "data.rtpParameters"). They check types, ranges and the rules mediasoup's
 * validateRtp*() enforce (mimeType "kind/name", clockRate present, channels
 * only for audio, header extension ids, unique payload types...), fill out
 * completely, and return 0, or -1 with err (SFU_ERR_TYPE) naming the field.
 * Defaults as mediasoup's: channels 1 for audio (dropped for video), empty
 * parameters and feedback, reducedSize and mux true. Payload types are
 * 0..127, header extension ids 1..255. RtpParameters also get the checks
 * mediasoup's worker makes: codecs not empty, unique payload types, every
 * RTX codec with an integer apt naming a non-RTX codec of the list, at
 * least one media codec, encodings' codecPayloadType naming one, no SVC
 * spatial layers with simulcast. More entries than the SFU_RTP_MAX_*
 * limits and strings longer than their fields are refused, not cut.
 */
int	sfu_rtp_capabilities_read(const msgpack_object *o, const char *path,
	    struct sfu_rtp_capabilities *out, struct sfu_error *err);
int	sfu_rtp_parameters_read(const msgpack_object *o, const char *path,
	    struct sfu_rtp_parameters *out, struct sfu_error *err);
/* One RtpCodecCapability as given in worker.createRouter mediaCodecs. */
int	sfu_rtp_codec_capability_read(const msgpack_object *o,
	    const char *path, struct sfu_rtp_codec_capability *out,
	    struct sfu_error *err);

/* Writers: mediasoup's shapes; optional fields only when present. */
void	sfu_rtp_capabilities_pack(const struct sfu_rtp_capabilities *c,
	    msgpack_packer *pk);
void	sfu_rtp_parameters_pack(const struct sfu_rtp_parameters *p,
	    msgpack_packer *pk);

/* Helpers. */
const char *sfu_media_kind_name(enum sfu_media_kind kind);
/* "audio/opus" -> kind; false when the prefix is neither. */
bool	sfu_rtp_mime_kind(const char *mime_type, enum sfu_media_kind *kind);
/* Case-insensitive mimeType comparison, as mediasoup does. */
bool	sfu_rtp_mime_eq(const char *a, const char *b);
/* The parameter named key, or NULL. */
const struct sfu_rtp_param *sfu_rtp_params_get(const struct sfu_rtp_params *p,
	    const char *key);
/* Sets (adds or replaces) a numeric or string parameter; -1 when full. */
int	sfu_rtp_params_set_num(struct sfu_rtp_params *p, const char *key,
	    double num);
int	sfu_rtp_params_set_str(struct sfu_rtp_params *p, const char *key,
	    const char *str);
/* True for RTX codecs ("audio/rtx", "video/rtx"). */
bool	sfu_rtp_codec_is_rtx(const char *mime_type);
/*
 * True for a media codec, false for the "feature" codecs mediasoup's
 * worker does not count as media: rtx, red, ulpfec, flexfec-03,
 * x-ulpfecuc, CN and telephone-event.
 */
bool	sfu_rtp_codec_is_media(const char *mime_type);
/*
 * mediasoup's scalabilityModes parse(): "L3T3", "S2T1_KEY"... ([LS], 1-99
 * spatial, T, 1-99 temporal, optional "_KEY"; anything may follow). An
 * empty or unmatched mode gives 1 spatial and 1 temporal layer.
 */
void	sfu_rtp_scalability_mode_parse(const char *mode, unsigned *spatial,
	    unsigned *temporal, bool *ksvc);

#endif
