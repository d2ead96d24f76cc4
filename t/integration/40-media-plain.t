#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The media plane through PlainTransports (DESIGN §3, mediasoup v3 shapes),
# with a real sfud (1 worker, rtc_ports in a range of our own) driven over
# its admin socket, and real RTP/RTCP from and to Python UDP sockets on
# 127.0.0.1:
#
# - worker.createRouter: payload types, RTX with apt, header extensions;
#   an unsupported codec is an UnsupportedError naming it;
# - a comedia producer transport with a VP8 producer (ssrc 1111, MID
#   extension id 1, mid "0") and an opus producer (ssrc 2222); three
#   consumer transports (connected to Python receivers) consuming both:
#   each receiver gets every packet with the consumer's SSRC, payload type
#   and MID, the audio level remapped to the router's extension id (an
#   undeclared extension dropped), consecutive sequence numbers (across
#   the source's 16-bit wrap), timestamps moving as sent, the payload and
#   marker unchanged; plaintransport.tuple when comedia learns the sender,
#   whose address it then keeps (another source is dropped);
# - key frames: a consumer created mid-stream forwards nothing before a
#   key frame; consumer creation, consumer.requestKeyFrame and a PLI from
#   a consumer's remote each send a PLI to the producer's remote;
# - consumer.pause/resume and producer.pause/resume: nothing flows while
#   paused, consumer.producerpause/producerresume reach the consumers'
#   creators, and afterwards sequence numbers continue at last+1 and
#   timestamps keep increasing;
# - RTCP: SR + SDES (the producer's CNAME) to each receiver, with the
#   packet count and an extrapolated RTP time; RR for 1111 and 2222 to the
#   sender (last sequence number, LSR/DLSR of the sender's SR); an RR from
#   a receiver gives the consumer an RTT and keeps its score at 10; a loss
#   upstream shows as the same gap downstream and in the RR; CSRCs and
#   padding arrive as sent;
# - stats of producers, consumers and transports against what was sent and
#   received; router.canConsume; argument errors;
# - producer.close: consumer.producerclose to each consumer's creator, the
#   consumers are gone from the master and the transports;
# - SRTP (AES_CM_128_HMAC_SHA1_80, AEAD_AES_256_GCM, and A and B created
#   with different suites, A following B's on connect): clear RTP ->
#   producer -> consumer on SRTP transport A -> SRTP transport B (keys
#   swapped through transport.connect) -> producer -> consumer on a clear
#   transport -> Python: the payload survives encryption and decryption;
#   a consumer on an SRTP transport connected to Python sends packets as
#   long as the clear ones plus the auth tag, payload not in the clear;
#   SRTCP both ways gives the consumer on A an RTT;
# - worker.closeRouter; the worker never restarted; the usual aftermath.
import base64
import os
import random
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402

LOCAL = "127.0.0.1"
RTC_MIN, RTC_MAX = 42000, 42999
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
MID_ID = 1
# The audio producer sends the audio level as id 3: consumers get it as
# the router's id 10. Id 7 is no extension it declared: dropped.
LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
LEVEL_ID, LEVEL_ROUTER_ID, UNDECLARED_ID = 3, 10, 7
VIDEO_SSRC, AUDIO_SSRC, SRTP_SRC_SSRC = 1111, 2222, 3333
VIDEO_PT, AUDIO_PT = 96, 111
VIDEO_STEP, AUDIO_STEP = 3000, 960     # 30 fps at 90 kHz, 20 ms at 48 kHz
VIDEO_CNAME, AUDIO_CNAME = "py-video", "py-audio"
# The audio producer's mid is none a consumer gets, and rx2 consumes audio
# first (its video consumer gets mid "1"): MID rewriting shows.
AUDIO_MID = "a"
# Key frame requests towards a producer's remote: at most one per 500 ms
# and encoding (producer.c PRODUCER_KEY_FRAME_INTERVAL_US): wait longer.
KEY_FRAME_GAP = 0.65

MEDIA_CODECS = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000,
     "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]

rnd = random.Random(4040)


# --- small helpers ---

def data(r):
    d = r.get("data") if isinstance(r, dict) else None
    return d if isinstance(d, (dict, list)) else {}


def must(c, method, d=None, hid=None):
    """A setup call that has to succeed: its data (raises otherwise, which
    fails the file with the response in the log)."""
    r = c.call(method, d, handler_id=hid)
    if r.get("accepted") is not True:
        raise AssertionError("%s on %r failed: %r" % (method, hid, r))
    return data(r)


def notification(c, event, timeout=3.0):
    """The next notification with this event ({} if none came)."""
    try:
        return c.next_notification(timeout, event=event)
    except sfu.Timeout:
        return {}


def error_is(r, error, reason_re, name):
    """Two tests: the error kind and its reason."""
    tap.is_(r.get("error"), error, name + ": " + error)
    tap.like(r.get("reason"), reason_re, name + ": reason names it")


def listen(**kw):
    li = {"protocol": "udp", "ip": LOCAL}
    li.update(kw)
    return li


def plain(c, router_id, tid, comedia=False, **kw):
    d = {"transportId": tid, "listenInfo": listen(), "rtcpMux": True,
         "comedia": comedia}
    d.update(kw)
    return must(c, "router.createPlainTransport", d, router_id)


def serial_gt(a, b, bits=32):
    """a is after b in RFC 1982 arithmetic."""
    d = (a - b) % (1 << bits)
    return 0 < d < (1 << (bits - 1))


def cons_ssrc(cons):
    return cons["rtpParameters"]["encodings"][0]["ssrc"]


def short(b):
    return b.hex() if len(b) <= 24 else b[:24].hex() + "..."


# --- what we send ---

def vp8_key(rng):
    """The first packet of a VP8 key frame: payload descriptor S=1 PID=0,
    then the frame tag with P=0 and the start code 9d 01 2a at offset 3,
    320x240 (RFC 7741, RFC 6386 9.1; codecs.c codecs_vp8_is_keyframe)."""
    return bytes([0x10, 0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a,
                  0x40, 0x01, 0xf0, 0x00]) + rng.randbytes(24)


def vp8_key_cont(rng):
    """A later packet of the key frame (S=0)."""
    return bytes([0x00]) + rng.randbytes(30)


def vp8_delta(rng):
    """An interframe: S=1, frame tag with P=1."""
    return bytes([0x10, 0x31, 0x02, 0x00]) + rng.randbytes(16)


class Source:
    """One RTP stream the Python sender sends to the producer transport."""

    def __init__(self, name, pt, ssrc, mid, step, seq=None, ts=None,
                 exts=None):
        self.name, self.pt, self.ssrc, self.mid = name, pt, ssrc, mid
        self.step = step
        self.exts = exts        # () -> (extensions sent, expected out)
        self.seq = rnd.randrange(1 << 16) if seq is None else seq
        self.ts = rnd.randrange(1 << 32) if ts is None else ts
        self.sent = []          # every record, in order

    def packet(self, payload, marker=True, new_frame=True):
        if new_frame and self.sent:
            self.ts = (self.ts + self.step) & 0xffffffff
        wire, out = self.exts() if self.exts else ({}, {})
        wire[MID_ID] = self.mid.encode()
        rec = {"seq": self.seq, "ts": self.ts, "payload": payload,
               "marker": marker, "exts": out}
        pkt = sfu.rtp_build(self.pt, self.seq, self.ts, self.ssrc, payload,
                            marker, wire)
        self.seq = (self.seq + 1) & 0xffff
        self.sent.append(rec)
        return pkt, rec


def with_csrcs_padding(pkt, csrcs, pad):
    """pkt (no CSRCs, no padding) with csrcs after the fixed header and
    pad bytes of padding (RFC 3550 5.1: the last one counts them)."""
    b0 = pkt[0] | 0x20 | len(csrcs)
    return bytes([b0]) + pkt[1:12] + \
        struct.pack(">%dI" % len(csrcs), *csrcs) + pkt[12:] + \
        b"\0" * (pad - 1) + bytes([pad])


def audio_exts():
    level = bytes([0x80 | rnd.randrange(128)])
    return ({LEVEL_ID: level, UNDECLARED_ID: b"zz"},
            {LEVEL_ROUTER_ID: level})


class Sender:
    """The producer's remote: a UDP socket sending both sources."""

    def __init__(self, addr):
        self.peer = sfu.UdpPeer()
        self.addr = addr
        # Video wraps its sequence number and timestamp early on.
        self.video = Source("video", VIDEO_PT, VIDEO_SSRC, "0", VIDEO_STEP,
                            seq=65530, ts=(1 << 32) - 4 * VIDEO_STEP)
        self.audio = Source("audio", AUDIO_PT, AUDIO_SSRC, AUDIO_MID,
                            AUDIO_STEP, exts=audio_exts)
        self.last_send = 0.0

    def _send(self, pkt):
        self.peer.send(pkt, self.addr)
        self.last_send = time.monotonic()
        time.sleep(0.001)

    def frames(self, kinds, audio=0):
        """Sends video frames ("key": 2 packets, "delta": 1) interleaved
        with audio packets; returns (video records, audio records)."""
        vrecs, arecs = [], []
        order = [("v", k) for k in kinds]
        for i in range(audio):
            order.insert(min(len(order), 2 * i + 1), ("a", None))
        for what, kind in order:
            if what == "a":
                pkt, rec = self.audio.packet(rnd.randbytes(30))
                self._send(pkt)
                arecs.append(rec)
            elif kind == "key":
                pkt, rec = self.video.packet(vp8_key(rnd), marker=False)
                self._send(pkt)
                vrecs.append(rec)
                pkt, rec = self.video.packet(vp8_key_cont(rnd),
                                             marker=True, new_frame=False)
                self._send(pkt)
                vrecs.append(rec)
            else:
                pkt, rec = self.video.packet(vp8_delta(rnd))
                self._send(pkt)
                vrecs.append(rec)
        return vrecs, arecs

    def plis(self, since):
        return [p for p in self.peer.rtcp_packets(sfu.RTCP_PSFB, since)
                if p["count"] == 1]


# --- what consumers forward ---

class Track:
    """One consumer as its receiver sees it: the packets with the
    consumer's SSRC, checked phase by phase against what was sent."""

    def __init__(self, name, peer, cons):
        self.name, self.peer, self.cons = name, peer, cons
        self.ssrc = cons_ssrc(cons)
        self.pt = cons["rtpParameters"]["codecs"][0]["payloadType"]
        self.mid = cons["rtpParameters"]["mid"]
        self.seen = 0
        self.last = None        # (last packet received, its record)

    def all(self):
        return [p for p in self.peer.rtp if p["ssrc"] == self.ssrc]

    def new(self):
        return self.all()[self.seen:]

    def waiting_for(self, n):
        return lambda: len(self.new()) >= n

    def expect_none(self, what):
        got = self.new()
        self.seen += len(got)
        tap.is_(len(got), 0, "%s: nothing forwarded %s" % (self.name, what))

    def expect(self, sent, mode, what, lost=0):
        """sent: the records this consumer should have forwarded since
        the last check. mode "start": any base; "continue": no break (the
        sequence follows on and the timestamp moves as the source's did);
        "resync": after a pause (the sequence follows on, the timestamp
        moves forward). lost: packets the source skipped just before
        (the same gap shows). Five tests."""
        got = self.new()
        self.seen += len(got)
        n = "%s %s" % (self.name, what)
        tap.is_(len(got), len(sent), "%s: %d packets forwarded" %
                (n, len(sent)))
        k = min(len(got), len(sent))
        got, sent = got[:k], sent[:k]
        tap.is_([(p["pt"], p["exts"]) for p in got],
                [(self.pt, {**s["exts"], MID_ID: self.mid.encode()})
                 for s in sent],
                "%s: payload type %d, MID extension %r%s" %
                (n, self.pt, self.mid, ", audio level as id %d" %
                 LEVEL_ROUTER_ID if any(s["exts"] for s in sent) else ""))
        seqs = [p["seq"] for p in got]
        if self.last is None or not got:
            first = seqs[0] if got else 0
            how = "consecutive"
        else:
            first = (self.last[0]["seq"] + 1 + lost) & 0xffff
            how = ("continue at last+1 (%d), no gap" % first if not lost
                   else "continue at last+%d (%d): the source's gap" %
                   (1 + lost, first))
        tap.is_(seqs, [(first + i) & 0xffff for i in range(k)],
                "%s: sequence numbers %s" % (n, how))
        gd = [(got[i]["ts"] - got[i - 1]["ts"]) & 0xffffffff
              for i in range(1, k)]
        sd = [(sent[i]["ts"] - sent[i - 1]["ts"]) & 0xffffffff
              for i in range(1, k)]
        if self.last is not None and got:
            jump = (got[0]["ts"] - self.last[0]["ts"]) & 0xffffffff
            if mode == "continue":
                gd.insert(0, jump)
                sd.insert(0, (sent[0]["ts"] - self.last[1]["ts"]) &
                          0xffffffff)
            else:
                # Forward, by about the time that passed (generously).
                clock = self.cons["rtpParameters"]["codecs"][0]["clockRate"]
                gap = got[0]["at"] - self.last[0]["at"]
                fwd = serial_gt(got[0]["ts"], self.last[0]["ts"]) and \
                    jump <= (gap + 0.5) * clock
                gd.insert(0, fwd)
                sd.insert(0, True)
                if not fwd:
                    tap.diag("%s: timestamp went from %d to %d in %.3f s" %
                             (n, self.last[0]["ts"], got[0]["ts"], gap))
        tap.is_(gd, sd, "%s: timestamps %s" %
                (n, "advance by the deltas sent" if mode != "resync" else
                 "move forward (by at most the time elapsed + 0.5 s), "
                 "then advance by the deltas sent"))
        ok = [(p["payload"], p["marker"]) for p in got] == \
            [(s["payload"], s["marker"]) for s in sent]
        if not tap.ok(ok, "%s: payloads and marker bits as sent" % n):
            for p, s in zip(got, sent):
                if (p["payload"], p["marker"]) != (s["payload"],
                                                   s["marker"]):
                    tap.diag("  got %s m=%s, sent %s m=%s" %
                             (short(p["payload"]), p["marker"],
                              short(s["payload"]), s["marker"]))
                    break
        if got:
            self.last = (got[-1], sent[-1])


def wait_tracks(tracks_counts, timeout=3.0):
    """Waits until each (track, n) has n new packets."""
    peers = list({id(t.peer): t.peer for t, _ in tracks_counts}.values())
    return sfu.wait_peers(peers, lambda: all(len(t.new()) >= n for t, n in
                                             tracks_counts), timeout)


class Receiver:
    """A consumer transport connected to a Python socket, and the admin
    client that created it (and its consumers)."""

    def __init__(self, m, router_id, name):
        self.name = name
        self.client = m.client()
        self.peer = sfu.UdpPeer()
        self.tid = "t-" + name
        self.transport = plain(self.client, router_id, self.tid)
        self.port = self.transport["tuple"]["localPort"]
        self.connected = must(self.client, "transport.connect",
                              {"ip": LOCAL, "port": self.peer.port},
                              self.tid)
        self.tracks = {}

    def consume(self, kind, producer_id, caps):
        cons = must(self.client, "transport.consume",
                    {"consumerId": "c-%s-%s" % (self.name, kind),
                     "producerId": producer_id, "rtpCapabilities": caps},
                    self.tid)
        self.tracks[kind] = Track("%s %s" % (self.name, kind), self.peer,
                                  cons)
        self.tracks[kind].client = self.client
        return cons


# --- the tests ---

def check_caps(c):
    r = c.call("worker.createRouter", {"routerId": "r1",
                                       "mediaCodecs": MEDIA_CODECS})
    tap.is_((r.get("accepted"), data(r).get("routerId")), (True, "r1"),
            "worker.createRouter: accepted, routerId r1")
    caps = data(r).get("rtpCapabilities") or {}
    codecs = caps.get("codecs") or []
    tap.is_([(x.get("kind"), x.get("mimeType"), x.get("preferredPayloadType"),
              x.get("clockRate")) for x in codecs],
            [("audio", "audio/opus", 100, 48000),
             ("video", "video/VP8", 101, 90000),
             ("video", "video/rtx", 102, 90000)],
            "router caps: opus 100, VP8 101 and its RTX 102 (mediasoup's "
            "dynamic payload types, in order)")
    by = {x.get("mimeType"): x for x in codecs}
    tap.is_((by.get("video/rtx") or {}).get("parameters"), {"apt": 101},
            "router caps: rtx parameters {apt: 101} (the VP8 payload type)")
    tap.is_((by.get("audio/opus") or {}).get("channels"), 2,
            "router caps: opus has 2 channels")
    fb = [(f.get("type"), f.get("parameter") or "") for f in
          (by.get("video/VP8") or {}).get("rtcpFeedback") or []]
    tap.ok(("nack", "pli") in fb and ("ccm", "fir") in fb and
           ("nack", "") in fb, "router caps: VP8 has nack, nack pli, ccm fir "
           "feedback (%r)" % fb)
    exts = [(e.get("kind"), e.get("uri"), e.get("preferredId"),
             e.get("direction")) for e in caps.get("headerExtensions") or []]
    tap.ok(("audio", MID_URI, 1, "sendrecv") in exts and
           ("video", MID_URI, 1, "sendrecv") in exts,
           "router caps: MID header extension, id 1, audio and video")
    uris = set(e[1] for e in exts)
    want = {"urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
            "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
            "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
            "http://www.ietf.org/id/"
            "draft-holmer-rmcat-transport-wide-cc-extensions-01"}
    tap.is_(sorted(want - uris), [], "router caps: rid, abs-send-time, "
            "audio level and transport-cc extensions present")
    ids = {}
    for kind, uri, id, _ in exts:
        ids.setdefault((kind, id), set()).add(uri)
    tap.is_(sorted(k for k, v in ids.items() if len(v) > 1), [],
            "router caps: no two extensions share an id within a kind")

    r = c.call("worker.createRouter", {"routerId": "r-bad", "mediaCodecs": [
        MEDIA_CODECS[0], {"kind": "video", "mimeType": "video/FOO",
                          "clockRate": 90000}]})
    error_is(r, "UnsupportedError", r"video/FOO",
             "worker.createRouter with video/FOO")
    r = c.call("router.dump", handler_id="r-bad")
    tap.is_(r.get("error"), "NotFoundError",
            "the refused router does not exist")
    return caps


def producer_params(kind):
    if kind == "video":
        codec = {"mimeType": "video/VP8", "payloadType": VIDEO_PT,
                 "clockRate": 90000,
                 "rtcpFeedback": [{"type": "nack"},
                                  {"type": "nack", "parameter": "pli"},
                                  {"type": "ccm", "parameter": "fir"}]}
        return {"mid": "0", "codecs": [codec],
                "headerExtensions": [{"uri": MID_URI, "id": MID_ID}],
                "encodings": [{"ssrc": VIDEO_SSRC}],
                "rtcp": {"cname": VIDEO_CNAME, "reducedSize": True}}
    codec = {"mimeType": "audio/opus", "payloadType": AUDIO_PT,
             "clockRate": 48000, "channels": 2}
    return {"mid": AUDIO_MID, "codecs": [codec],
            "headerExtensions": [{"uri": MID_URI, "id": MID_ID},
                                 {"uri": LEVEL_URI, "id": LEVEL_ID}],
            "encodings": [{"ssrc": AUDIO_SSRC}],
            "rtcp": {"cname": AUDIO_CNAME, "reducedSize": True}}


def check_pli(snd, since, name, timeout=2.0):
    """One test: a PLI for ssrc 1111 reached the sender after since."""
    got = snd.peer.wait(lambda: any(p["media_ssrc"] == VIDEO_SSRC for p in
                                    snd.plis(since)), timeout)
    plis = snd.plis(since)
    ok = got and all(p["length"] == 2 for p in plis)
    if not tap.ok(ok, "%s: the producer's remote got a PLI (PSFB fmt 1) "
                  "for ssrc %d" % (name, VIDEO_SSRC)):
        tap.diag("RTCP since: %r" % [(p["pt"], p["count"]) for p in
                                     snd.peer.rtcp_packets(since=since)])
    return time.monotonic()


def key_frame_gap(last_request):
    left = last_request + KEY_FRAME_GAP - time.monotonic()
    if left > 0:
        time.sleep(left)


def check_media(m, c0, caps):
    tp = plain(c0, "r1", "t-send", comedia=True)
    port = tp["tuple"]["localPort"]
    tap.ok(RTC_MIN <= port <= RTC_MAX and
           tp["tuple"].get("localAddress") == LOCAL and
           "remotePort" not in tp["tuple"],
           "comedia transport: local port %d in rtc_ports, no remote yet" %
           port)
    pv = must(c0, "transport.produce", {"producerId": "p-video",
                                        "kind": "video", "rtpParameters":
                                        producer_params("video")}, "t-send")
    pa = must(c0, "transport.produce", {"producerId": "p-audio",
                                        "kind": "audio", "rtpParameters":
                                        producer_params("audio")}, "t-send")
    tap.is_((pv.get("kind"), pv.get("type"), pa.get("kind"),
             pa.get("type")), ("video", "simple", "audio", "simple"),
            "producers: video and audio, type simple")
    mapped = [e.get("mappedPayloadType") for e in
              (pv.get("rtpMapping") or {}).get("codecs") or []]
    tap.is_(mapped, [101], "video producer: pt 96 maps to the router's 101")

    recvs = [Receiver(m, "r1", "rx%d" % i) for i in (1, 2, 3)]
    for rx in recvs:
        for kind in (("audio", "video") if rx.name == "rx2" else
                     ("video", "audio")):
            rx.consume(kind, "p-" + kind, caps)
    last_kf = time.monotonic()
    cv = recvs[0].tracks["video"].cons
    tap.is_((cv.get("type"), cv.get("kind"), cv.get("producerId"),
             cv.get("paused"), cv.get("producerPaused")),
            ("simple", "video", "p-video", False, False),
            "transport.consume: a simple video consumer, not paused")
    tap.is_(cv.get("score"), {"score": 10, "producerScore": 0,
                              "producerScores": [0]},
            "transport.consume: score {score: 10, producerScore: 0, "
            "producerScores: [0]} (as mediasoup's fresh simple consumer)")
    tap.is_([rx.tracks[k].mid for rx in recvs for k in ("video", "audio")],
            ["0", "1", "1", "0", "0", "1"], "consumers get mids \"0\", "
            "\"1\" per transport, in the order they were created")
    ssrcs = [rx.tracks[k].ssrc for rx in recvs for k in ("video", "audio")]
    tap.ok(len(set(ssrcs)) == 6 and VIDEO_SSRC not in ssrcs and
           AUDIO_SSRC not in ssrcs, "consumer SSRCs: 6 distinct, none is "
           "the producer's")
    tap.is_(recvs[0].connected.get("tuple", {}).get("remotePort"),
            recvs[0].peer.port, "transport.connect answers the tuple with "
            "the remote port")
    vt = [rx.tracks["video"] for rx in recvs]
    at = [rx.tracks["audio"] for rx in recvs]

    # 1. The stream starts with a key frame.
    snd = Sender((LOCAL, port))
    v, a = snd.frames(["key", "delta", "delta", "delta", "delta", "delta"],
                      audio=10)
    n = notification(c0, "plaintransport.tuple", 3)
    tup = data(n).get("tuple") or {}
    tap.is_((n.get("targetId"), tup.get("localPort"), tup.get("remoteIp"),
             tup.get("remotePort"), tup.get("protocol")),
            ("t-send", port, LOCAL, snd.peer.port, "udp"),
            "plaintransport.tuple: comedia learnt the sender's address")
    wait_tracks([(t, len(v)) for t in vt] + [(t, len(a)) for t in at])
    for t in vt:
        t.expect(v, "start", "(start)")
    for t in at:
        t.expect(a, "start", "(start)")
    d = must(c0, "transport.dump", None, "t-send")
    tap.is_((d.get("tuple") or {}).get("remotePort"), snd.peer.port,
            "transport.dump: the comedia tuple")
    # An SR from the sender: later RRs carry its LSR and DLSR.
    sr_ntp = sfu.ntp_now()
    sr_at = time.monotonic()
    snd.peer.send(sfu.rtcp_sr(VIDEO_SSRC, sr_ntp, snd.video.ts,
                              len(snd.video.sent), 1000), snd.addr)

    # 2. Key frames: a consumer created mid-stream, requestKeyFrame, a PLI
    # from a consumer's remote.
    key_frame_gap(last_kf)
    rx4 = Receiver(m, "r1", "rx4")
    since = time.monotonic()
    rx4.consume("video", "p-video", caps)
    last_kf = check_pli(snd, since, "consumer created")
    v, a = snd.frames(["delta", "delta", "delta", "key", "delta", "delta"],
                      audio=4)
    t4 = rx4.tracks["video"]
    wait_tracks([(t, len(v)) for t in vt] + [(t, len(a)) for t in at] +
                [(t4, len(v) - 3)])
    for t in vt:
        t.expect(v, "continue", "(mid-stream)")
    for t in at:
        t.expect(a, "continue", "(mid-stream)")
    t4.expect(v[3:], "start", "(joined mid-stream: from the key frame on)")

    key_frame_gap(last_kf)
    since = time.monotonic()
    r = rx4.client.call("consumer.requestKeyFrame",
                        handler_id=t4.cons["id"])
    tap.is_(r.get("accepted"), True, "consumer.requestKeyFrame accepted")
    last_kf = check_pli(snd, since, "consumer.requestKeyFrame")

    key_frame_gap(last_kf)
    since = time.monotonic()
    rx2 = recvs[1]
    rx2.peer.send(sfu.rtcp_pli(0x5eed, rx2.tracks["video"].ssrc),
                  (LOCAL, rx2.port))
    last_kf = check_pli(snd, since, "PLI from a consumer's remote")

    # 3. consumer.pause / resume on rx1 (both consumers).
    rx1 = recvs[0]
    for k in ("video", "audio"):
        r = rx1.client.call("consumer.pause",
                            handler_id=rx1.tracks[k].cons["id"])
        tap.is_(r.get("accepted"), True, "consumer.pause (%s)" % k)
    v, a = snd.frames(["delta", "delta", "delta"], audio=4)
    others = [rx2, recvs[2]]
    wait_tracks([(rx.tracks["video"], len(v)) for rx in others] +
                [(rx.tracks["audio"], len(a)) for rx in others] +
                [(t4, len(v))])
    time.sleep(0.05)
    rx1.peer.poll()
    rx1.tracks["video"].expect_none("while the consumer is paused")
    rx1.tracks["audio"].expect_none("while the consumer is paused")
    for rx in others:
        rx.tracks["video"].expect(v, "continue", "(rx1 paused)")
        rx.tracks["audio"].expect(a, "continue", "(rx1 paused)")
    t4.expect(v, "continue", "(rx1 paused)")
    d = data(rx1.client.call("consumer.dump",
                             handler_id=rx1.tracks["video"].cons["id"]))
    tap.is_((d.get("paused"), d.get("producerPaused")), (True, False),
            "consumer.dump: paused")
    for k in ("video", "audio"):
        r = rx1.client.call("consumer.resume",
                            handler_id=rx1.tracks[k].cons["id"])
        tap.is_(r.get("accepted"), True, "consumer.resume (%s)" % k)
    last_kf = time.monotonic()
    v, a = snd.frames(["key", "delta", "delta"], audio=4)
    wait_tracks([(t, len(v)) for t in vt] + [(t, len(a)) for t in at] +
                [(t4, len(v))])
    rx1.tracks["video"].expect(v, "resync", "(consumer resumed)")
    rx1.tracks["audio"].expect(a, "resync", "(consumer resumed)")
    for rx in others:
        rx.tracks["video"].expect(v, "continue", "(rx1 resumed)")
        rx.tracks["audio"].expect(a, "continue", "(rx1 resumed)")
    t4.expect(v, "continue", "(rx1 resumed)")

    # 4. producer.pause / resume (video).
    everyone = recvs + [rx4]
    vt4 = vt + [t4]
    r = c0.call("producer.pause", handler_id="p-video")
    tap.is_(r.get("accepted"), True, "producer.pause accepted")
    for rx in everyone:
        n = notification(rx.client, "consumer.producerpause", 3)
        tap.is_(n.get("targetId"), rx.tracks["video"].cons["id"],
                "%s: consumer.producerpause for its video consumer" %
                rx.name)
    d = data(c0.call("producer.dump", handler_id="p-video"))
    tap.is_(d.get("paused"), True, "producer.dump: paused")
    v, a = snd.frames(["delta", "delta", "delta"], audio=4)
    wait_tracks([(t, len(a)) for t in at])
    time.sleep(0.05)
    for rx in everyone:
        rx.peer.poll()
    for t in vt4:
        t.expect_none("while the producer is paused")
    for t in at:
        t.expect(a, "continue", "(video producer paused)")
    key_frame_gap(last_kf)
    since = time.monotonic()
    r = c0.call("producer.resume", handler_id="p-video")
    tap.is_(r.get("accepted"), True, "producer.resume accepted")
    for rx in everyone:
        n = notification(rx.client, "consumer.producerresume", 3)
        tap.is_(n.get("targetId"), rx.tracks["video"].cons["id"],
                "%s: consumer.producerresume for its video consumer" %
                rx.name)
    last_kf = check_pli(snd, since, "producer.resume")
    v, a = snd.frames(["key", "delta", "delta"], audio=4)
    wait_tracks([(t, len(v)) for t in vt4] + [(t, len(a)) for t in at])
    for t in vt4:
        t.expect(v, "resync", "(producer resumed)")
    for t in at:
        t.expect(a, "continue", "(producer resumed)")

    # 5. RTCP. An SR is fresh when it left the receiver's socket after the
    # consumer's last RTP packet (same socket, so arrival order tells);
    # the sender waits for an RR that has seen its last packets.
    def fresh_sr(t):
        return [p for p in t.peer.rtcp_packets(sfu.RTCP_SR,
                                               after_n=t.all()[-1]["n"])
                if p["ssrc"] == t.ssrc]

    def final_rr():
        want = {VIDEO_SSRC: (snd.video.seq - 1) & 0xffff,
                AUDIO_SSRC: (snd.audio.seq - 1) & 0xffff}
        return [p for p in snd.peer.rtcp_packets(sfu.RTCP_RR)
                if {b["ssrc"]: b["highest_seq"] & 0xffff
                    for b in p["reports"]} == want]
    peers = [rx.peer for rx in everyone] + [snd.peer]
    got = sfu.wait_peers(peers, lambda: all(fresh_sr(t) for t in vt4 + at),
                         3.5)
    tap.ok(got, "RTCP: each receiver got an SR for each consumer within "
           "3.5 s of the last packet")
    bad = []
    for t in vt4 + at:
        srs = fresh_sr(t)
        if not srs:
            bad.append((t.name, "no SR"))
        elif srs[-1]["packet_count"] != len(t.all()):
            bad.append((t.name, "SR packet count %d, received %d" %
                        (srs[-1]["packet_count"], len(t.all()))))
    tap.is_(bad, [], "RTCP SR to each receiver: the consumer's SSRC, packet "
            "count = packets forwarded")
    bad = []
    for t in vt4 + at:
        srs = fresh_sr(t)
        if not srs:
            continue
        sr, lastp = srs[-1], t.all()[-1]
        clock = t.cons["rtpParameters"]["codecs"][0]["clockRate"]
        wall = ((sr["ntp"] >> 32) - 2208988800) + \
            (sr["ntp"] & 0xffffffff) / 2.0 ** 32
        ahead = ((sr["rtp_ts"] - lastp["ts"]) & 0xffffffff) / clock
        if abs(wall - time.time()) > 10 or ahead > sr["at"] - lastp["at"] + \
                0.25 or (ahead > 2 ** 31 / clock):
            bad.append((t.name, wall - time.time(), ahead,
                        sr["at"] - lastp["at"]))
    tap.is_(bad, [], "RTCP SR: NTP time is now, RTP time extrapolated from "
            "the last packet (not behind it, not past the time elapsed)")
    bad = []
    for t in vt4 + at:
        cname = (VIDEO_CNAME if t in vt4 else AUDIO_CNAME).encode()
        n_sr = [p["n"] for p in fresh_sr(t)][-1:]
        sdes = [ch for c in t.peer.rtcp if [c["n"]] == n_sr
                for p in c["packets"] if p["pt"] == sfu.RTCP_SDES
                for ch in p["chunks"]]
        if (t.ssrc, cname) not in [(ssrc, items.get(1))
                                   for ssrc, items in sdes]:
            bad.append((t.name, sdes))
    tap.is_(bad, [], "RTCP SR compounds carry an SDES with the consumer's "
            "SSRC and the producer's CNAME")
    got = snd.peer.wait(lambda: final_rr(), 2.5)
    rrs = snd.peer.rtcp_packets(sfu.RTCP_RR)
    if not tap.ok(got, "RTCP RR to the sender: report blocks for 1111 and "
                  "2222 with the last sequence numbers sent"):
        tap.diag("RRs: %r" % rrs[-2:])
    rr = final_rr()[-1] if got else {"reports": [], "at": 0}
    blocks = rr["reports"]
    tap.is_([(b["ssrc"], b["fraction_lost"], b["cumulative_lost"])
             for b in sorted(blocks, key=lambda b: b["ssrc"])],
            [(VIDEO_SSRC, 0, 0), (AUDIO_SSRC, 0, 0)],
            "RTCP RR to the sender: nothing lost")
    b = {x["ssrc"]: x for x in blocks}.get(VIDEO_SSRC, {})
    held = (rr["at"] - sr_at) * 65536
    tap.ok(b.get("lsr") == sfu.ntp_compact(sr_ntp) and
           abs(b.get("dlsr", -1e9) - held) < 0.2 * 65536,
           "RTCP RR to the sender: LSR of our SR for 1111, DLSR the time "
           "it was held (%r/%r, %r/%.0f)" % (b.get("lsr"),
                                              sfu.ntp_compact(sr_ntp),
                                              b.get("dlsr"), held))
    tap.ok(rr.get("ssrc") and rr.get("ssrc") not in (VIDEO_SSRC,
                                                      AUDIO_SSRC) and
           all(p["sender_ssrc"] == rr.get("ssrc") for p in snd.plis(0)),
           "RTCP to the sender: RRs and PLIs come from one transport SSRC "
           "of its own")
    n = notification(c0, "producer.score", 1)
    tap.ok(n.get("targetId") in ("p-video", "p-audio") and
           isinstance(data(n), list) and data(n) and
           all(s.get("score", 0) > 0 for s in data(n)),
           "producer.score notification with a score > 0 (%r)" % (data(n),))

    # An RR from rx1 for its video consumer, LSR/DLSR from its last SR.
    t1 = rx1.tracks["video"]
    sr = fresh_sr(t1)[-1]
    lsr = (sr["ntp"] >> 16) & 0xffffffff
    dlsr = max(0, int((time.monotonic() - sr["at"]) * 65536) - 1)
    rr = sfu.rtcp_rr(0x7e57, [{"ssrc": t1.ssrc, "fraction_lost": 0,
                               "cumulative_lost": 0,
                               "highest_seq": t1.last[0]["seq"],
                               "jitter": 0, "lsr": lsr, "dlsr": dlsr}])
    rx1.peer.send(rr, (LOCAL, rx1.port))
    deadline = time.monotonic() + 2
    while True:
        st = data(rx1.client.call("consumer.getStats",
                                  handler_id=t1.cons["id"]))
        st = st[0] if isinstance(st, list) and st else {}
        if "roundTripTime" in st or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    rtt = st.get("roundTripTime")
    tap.ok(isinstance(rtt, (int, float)) and 0 <= rtt < 500,
           "consumer.getStats after an RR: roundTripTime %r ms" % (rtt,))
    tap.is_((st.get("packetsLost"), st.get("fractionLost"), st.get("score")),
            (0, 0, 10), "consumer.getStats: packetsLost 0, fractionLost 0 "
            "and score 10 after a loss-free RR")

    # A packet lost upstream: the gap shows downstream (receivers can
    # tell), and in the RR to the sender.
    snd.audio.seq = (snd.audio.seq + 1) & 0xffff
    since = time.monotonic()
    v, a = snd.frames([], audio=3)
    wait_tracks([(t, len(a)) for t in at])
    for t in at:
        t.expect(a, "continue", "(after a loss upstream)", lost=1)
    got = snd.peer.wait(lambda: final_rr(), 2.5)
    b = {x["ssrc"]: x for x in (final_rr()[-1]["reports"] if got
                                else [])}.get(AUDIO_SSRC, {})
    # The interval with the loss may end before the last packet: any RR
    # since may carry the fraction.
    fractions = [x["fraction_lost"] for p in
                 snd.peer.rtcp_packets(sfu.RTCP_RR, since)
                 for x in p["reports"] if x["ssrc"] == AUDIO_SSRC]
    tap.is_((got, b.get("cumulative_lost"), max(fractions or [0]) > 0),
            (True, 1, True), "RTCP RR to the sender after the loss: 2222 "
            "cumulative lost 1, fraction lost > 0")

    # CSRCs and padding arrive as sent: a consumer writes its own header
    # and sends the payload and padding from the producer's packet.
    csrcs = [0x01020304, 0x0a0b0c0d]
    recs = []
    for pad in (1, 4, 9):
        pkt, rec = snd.audio.packet(rnd.randbytes(30))
        snd._send(with_csrcs_padding(pkt, csrcs, pad))
        recs.append((rec, pad))
    wait_tracks([(t, len(recs)) for t in at])
    for t in at:
        got = t.new()[:len(recs)]
        t.expect([r for r, _ in recs], "continue", "(CSRCs, padding)")
        tap.is_([(p["csrcs"], p["len"] - p["header_len"] -
                  len(p["payload"])) for p in got],
                [(csrcs, pad) for _, pad in recs],
                "%s: the CSRCs and 1, 4 and 9 bytes of padding as sent" %
                t.name)

    # 6. Stats.
    for src, pid, lost in ((snd.video, "p-video", 0),
                           (snd.audio, "p-audio", 1)):
        st = data(c0.call("producer.getStats", handler_id=pid))
        st = st[0] if isinstance(st, list) and len(st) == 1 else {}
        tap.is_((st.get("type"), st.get("ssrc"), st.get("packetCount"),
                 st.get("packetsLost")),
                ("inbound-rtp", src.ssrc, len(src.sent), lost),
                "producer.getStats (%s): packetCount = %d packets sent, "
                "packetsLost %d" % (src.name, len(src.sent), lost))
    bad = []
    for t in vt4 + at:
        st = data(t.client.call("consumer.getStats",
                                handler_id=t.cons["id"]))
        st = st[0] if isinstance(st, list) and st else {}
        if (st.get("type"), st.get("ssrc"), st.get("packetCount")) != \
                ("outbound-rtp", t.ssrc, len(t.all())):
            bad.append((t.name, st.get("ssrc"), st.get("packetCount"),
                        len(t.all())))
    tap.is_(bad, [], "consumer.getStats: packetCount = packets received, "
            "for all 7 consumers")
    st = data(c0.call("transport.getStats", handler_id="t-send"))
    st = st[0] if isinstance(st, list) and st else {}
    total = len(snd.video.sent) + len(snd.audio.sent)
    tap.ok(st.get("type") == "plain-rtp-transport" and
           st.get("bytesReceived", 0) > 0 and
           st.get("rtpBytesReceived", 0) > 0 and
           st.get("bytesSent", 0) > 0,
           "transport.getStats (producer side): bytesReceived, "
           "rtpBytesReceived, bytesSent (RTCP) > 0")
    tap.is_((st.get("rtpPacketsReceived"), st.get("rtpPacketsUnknownSsrc"),
             st.get("invalidPackets")), (total, 0, 0),
            "transport.getStats (producer side): rtpPacketsReceived = %d "
            "sent, none unknown or invalid" % total)
    bad = []
    for rx in everyone:
        st = data(rx.client.call("transport.getStats", handler_id=rx.tid))
        st = st[0] if isinstance(st, list) and st else {}
        n = sum(len(t.all()) for t in rx.tracks.values())
        if not (st.get("bytesSent", 0) > 0 and
                st.get("rtpBytesSent", 0) > 0 and
                st.get("rtpPacketsSent") == n and
                st.get("bytesReceived", -1) >= 0):
            bad.append((rx.name, st.get("bytesSent"),
                        st.get("rtpPacketsSent"), n))
    tap.is_(bad, [], "transport.getStats (consumer side): bytesSent > 0, "
            "rtpPacketsSent = packets received")
    tap.is_([(rx.name, len(rx.peer.bad)) for rx in everyone if rx.peer.bad],
            [], "receivers: every datagram parsed as RTP or RTCP")
    stray = sorted(set((rx.name, p["ssrc"]) for rx in everyone
                       for p in rx.peer.rtp
                       if p["ssrc"] not in [t.ssrc for t in
                                            rx.tracks.values()]))
    tap.is_(stray, [], "receivers: no RTP with an SSRC other than their "
            "consumers'")

    # A second source on the learnt comedia transport is dropped.
    with sfu.UdpPeer() as intruder:
        bogus = sfu.rtp_build(AUDIO_PT, snd.audio.seq, snd.audio.ts + 960,
                              AUDIO_SSRC, b"intruder" * 4, True,
                              {MID_ID: b"1"})
        intruder.send(bogus, (LOCAL, port))
        time.sleep(0.02)
        v, a = snd.frames([], audio=1)
        wait_tracks([(t, 1) for t in at])
        got = [p for t in at for p in t.new()
               if p["payload"] == b"intruder" * 4]
        tap.is_(got, [], "comedia: a packet from another address is not "
                "forwarded")
        for t in at:
            t.seen = len(t.all())

    # 7. canConsume.
    r = c0.call("router.canConsume", {"producerId": "p-video",
                                      "rtpCapabilities": caps},
                handler_id="r1")
    tap.is_(data(r).get("canConsume"), True,
            "router.canConsume: video with the router's caps: true")
    no_vp8 = {"codecs": [x for x in caps["codecs"]
                         if x["mimeType"] == "audio/opus"],
              "headerExtensions": caps["headerExtensions"]}
    r = c0.call("router.canConsume", {"producerId": "p-video",
                                      "rtpCapabilities": no_vp8},
                handler_id="r1")
    tap.is_(data(r).get("canConsume"), False,
            "router.canConsume: video with caps without VP8: false")
    r = c0.call("router.canConsume", {"producerId": "p-audio",
                                      "rtpCapabilities": no_vp8},
                handler_id="r1")
    tap.is_(data(r).get("canConsume"), True,
            "router.canConsume: audio with caps without VP8: true")
    r = rx1.client.call("transport.consume",
                        {"consumerId": "c-novp8", "producerId": "p-video",
                         "rtpCapabilities": no_vp8}, handler_id=rx1.tid)
    tap.is_(r.get("error"), "UnsupportedError", "transport.consume video "
            "with caps without VP8: UnsupportedError")

    # 8. Bad arguments.
    check_bad_args(c0, rx1, caps, port)

    # 9. producer.close.
    r = c0.call("producer.close", handler_id="p-video")
    tap.is_(r.get("accepted"), True, "producer.close (video) accepted")
    for rx in everyone:
        n = notification(rx.client, "consumer.producerclose", 3)
        tap.is_(n.get("targetId"), rx.tracks["video"].cons["id"],
                "%s: consumer.producerclose for its video consumer" %
                rx.name)
    bad = []
    for rx in everyone:
        r = rx.client.call("consumer.dump",
                           handler_id=rx.tracks["video"].cons["id"])
        if r.get("error") != "NotFoundError":
            bad.append((rx.name, r))
    tap.is_(bad, [], "consumer.dump of the closed consumers: NotFoundError "
            "from the master")
    got = [(rx.name, sorted(data(rx.client.call(
        "transport.dump", handler_id=rx.tid)).get("consumerIds") or []))
        for rx in everyone]
    tap.is_(got, [(rx.name, [rx.tracks["audio"].cons["id"]]
                   if "audio" in rx.tracks else []) for rx in everyone],
            "transport.dump: consumerIds keeps only the audio consumers")
    d = data(c0.call("router.dump", handler_id="r1"))
    tap.is_(sorted(d.get("producerIds") or []), ["p-audio"],
            "router.dump: producerIds without p-video")
    r = c0.call("producer.close", handler_id="p-audio")
    tap.is_(r.get("accepted"), True, "producer.close (audio) accepted")
    for rx in recvs:
        notification(rx.client, "consumer.producerclose", 3)
    got = [(rx.name, data(rx.client.call("transport.dump",
                                         handler_id=rx.tid)).get(
                                             "consumerIds"))
           for rx in everyone]
    tap.is_(got, [(rx.name, []) for rx in everyone],
            "transport.dump: consumerIds empty once both producers closed")
    d = data(c0.call("transport.dump", handler_id="t-send"))
    tap.is_((d.get("producerIds"), d.get("rtpListener")),
            ([], {"ssrcTable": {}}), "producer transport: no producers, "
            "empty SSRC table")

    for rx in everyone:
        rx.client.close()
        rx.peer.close()
    snd.peer.close()


def check_bad_args(c0, rx1, caps, used_port):
    good = producer_params("video")
    r = c0.call("transport.produce", {"producerId": "p-bad", "kind": "video"},
                handler_id="t-send")
    error_is(r, "TypeError", r"data\.rtpParameters",
             "transport.produce without rtpParameters")
    r = c0.call("transport.produce", {"producerId": "p-bad", "kind": "foo",
                                      "rtpParameters": good},
                handler_id="t-send")
    error_is(r, "TypeError", r"data\.kind", "transport.produce kind \"foo\"")
    r = c0.call("transport.produce", {"producerId": "p-bad", "kind": "video",
                                      "rtpParameters": good},
                handler_id="t-send")
    error_is(r, "TypeError", r"1111", "transport.produce with ssrc 1111 "
             "already used")
    r = rx1.client.call("transport.consume",
                        {"consumerId": "c-bad", "producerId": "no-such",
                         "rtpCapabilities": caps}, handler_id=rx1.tid)
    error_is(r, "NotFoundError", r"no-such",
             "transport.consume of an unknown producerId")
    r = rx1.client.call("transport.connect", {"ip": LOCAL, "port": 9},
                        handler_id=rx1.tid)
    tap.is_(r.get("error"), "InvalidStateError",
            "transport.connect twice: InvalidStateError")
    plain(c0, "r1", "t-scratch")
    r = c0.call("transport.connect", {"port": 5004},
                handler_id="t-scratch")
    error_is(r, "TypeError", r"data\.ip",
             "transport.connect without ip (not comedia)")
    r = c0.call("transport.connect", {"ip": "not-an-ip", "port": 5004},
                handler_id="t-scratch")
    tap.is_(r.get("error"), "TypeError", "transport.connect with ip "
            "\"not-an-ip\": TypeError")
    r = c0.call("router.createPlainTransport",
                {"transportId": "t-busy", "listenInfo":
                 listen(port=used_port), "rtcpMux": True},
                handler_id="r1")
    tap.ok(r.get("error") is not None and
           str(used_port) in (r.get("reason") or ""),
           "createPlainTransport on the port of another transport: %s "
           "naming port %d (%r)" % (r.get("error"), used_port,
                                    r.get("reason")))
    with sfu.UdpPeer() as busy:
        r = c0.call("router.createPlainTransport",
                    {"transportId": "t-busy", "listenInfo":
                     listen(port=busy.port), "rtcpMux": True},
                    handler_id="r1")
        tap.ok(r.get("error") is not None and
               str(busy.port) in (r.get("reason") or ""),
               "createPlainTransport on a port held by another process: "
               "%s naming port %d (%r)" % (r.get("error"), busy.port,
                                           r.get("reason")))
    r = c0.call("router.createPlainTransport",
                {"transportId": "t-busy", "listenInfo": listen(),
                 "enableSctp": True}, handler_id="r1")
    tap.is_(r.get("error"), "UnsupportedError",
            "createPlainTransport with enableSctp: UnsupportedError")
    r = c0.call("transport.dump", handler_id="t-busy")
    tap.is_(r.get("error"), "NotFoundError", "no refused transport exists")
    r = c0.call("router.closeTransport", {"transportId": "t-scratch"},
                handler_id="r1")
    tap.is_(r.get("accepted"), True, "router.closeTransport accepted")


KEY_LEN = {"AES_CM_128_HMAC_SHA1_80": 30, "AEAD_AES_256_GCM": 44}
TAG_LEN = {"AES_CM_128_HMAC_SHA1_80": 10, "AEAD_AES_256_GCM": 16}
# (name, A's suite, B's suite, with a tap). In the mixed loop A follows
# B's suite on connect (mediasoup: the local suite follows the remote's)
# and answers a new key.
SRTP_LOOPS = [
    ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_80",
     "AES_CM_128_HMAC_SHA1_80", True),
    ("AEAD_AES_256_GCM", "AEAD_AES_256_GCM", "AEAD_AES_256_GCM", True),
    ("mixed", "AES_CM_128_HMAC_SHA1_80", "AEAD_AES_256_GCM", False),
]


def srtp_key(params):
    try:
        return base64.b64decode(params["keyBase64"], validate=True)
    except (KeyError, TypeError, ValueError):
        return b""


def check_srtp(c0, caps):
    tp = plain(c0, "r1", "t-ssrc", comedia=True)
    must(c0, "transport.produce", {
        "producerId": "p-ssrc", "kind": "audio", "rtpParameters": {
            "mid": "0", "codecs": producer_params("audio")["codecs"],
            "headerExtensions": [{"uri": MID_URI, "id": MID_ID}],
            "encodings": [{"ssrc": SRTP_SRC_SSRC}],
            "rtcp": {"cname": "py-srtp"}}}, "t-ssrc")
    loops = []
    for name, suite_a, suite_b, with_tap in SRTP_LOOPS:
        s = {"AES_CM_128_HMAC_SHA1_80": "aes", "AEAD_AES_256_GCM": "gcm",
             "mixed": "mix"}[name]
        a = plain(c0, "r1", "t-a-" + s, enableSrtp=True,
                  srtpCryptoSuite=suite_a)
        b = plain(c0, "r1", "t-b-" + s, enableSrtp=True,
                  srtpCryptoSuite=suite_b)
        pa, pb = a.get("srtpParameters") or {}, b.get("srtpParameters") or {}
        tap.is_([(pa.get("cryptoSuite"), len(srtp_key(pa))),
                 (pb.get("cryptoSuite"), len(srtp_key(pb)))],
                [(suite_a, KEY_LEN[suite_a]), (suite_b, KEY_LEN[suite_b])],
                "%s: createPlainTransport gives srtpParameters with the "
                "suite asked and a key of its length" % name)
        tap.ok(srtp_key(pa) != srtp_key(pb), "%s: each transport has its "
               "own key" % name)
        r = c0.call("transport.connect", {
            "ip": LOCAL, "port": b["tuple"]["localPort"],
            "srtpParameters": pb}, handler_id="t-a-" + s)
        pa2 = data(r).get("srtpParameters") or {}
        if suite_a == suite_b:
            tap.is_(pa2, pa, "%s: A connects to B with B's key; answers "
                    "its own, unchanged" % name)
        else:
            tap.ok(pa2.get("cryptoSuite") == suite_b and
                   len(srtp_key(pa2)) == KEY_LEN[suite_b] and
                   srtp_key(pa2) not in (srtp_key(pa), srtp_key(pb)),
                   "%s: A connects with B's %s key; answers a new key of "
                   "that suite (%r)" % (name, suite_b, pa2))
            d = data(c0.call("transport.dump", handler_id="t-a-" + s))
            tap.is_(d.get("srtpParameters"), pa2,
                    "%s: transport.dump shows A's new srtpParameters" % name)
        r = c0.call("transport.connect", {
            "ip": LOCAL, "port": a["tuple"]["localPort"],
            "srtpParameters": pa2}, handler_id="t-b-" + s)
        tap.is_(r.get("accepted"), True, "%s: B connects to A with A's "
                "key" % name)
        ca = must(c0, "transport.consume", {
            "consumerId": "c-a-" + s, "producerId": "p-ssrc",
            "rtpCapabilities": caps}, "t-a-" + s)
        rp = ca["rtpParameters"]
        must(c0, "transport.produce", {
            "producerId": "p-b-" + s, "kind": "audio", "rtpParameters": {
                "mid": rp["mid"], "codecs": rp["codecs"],
                "headerExtensions": rp["headerExtensions"],
                "encodings": [{"ssrc": cons_ssrc(ca)}],
                "rtcp": rp.get("rtcp", {})}}, "t-b-" + s)
        rc = sfu.UdpPeer()
        plain(c0, "r1", "t-c-" + s)
        must(c0, "transport.connect", {"ip": LOCAL, "port": rc.port},
             "t-c-" + s)
        cc = must(c0, "transport.consume", {
            "consumerId": "c-c-" + s, "producerId": "p-b-" + s,
            "rtpCapabilities": caps}, "t-c-" + s)
        tapt = None
        if with_tap:
            # The same kind of consumer on an SRTP transport towards us.
            ra = sfu.UdpPeer()
            plain(c0, "r1", "t-tap-" + s, enableSrtp=True,
                  srtpCryptoSuite=suite_a)
            must(c0, "transport.connect", {
                "ip": LOCAL, "port": ra.port, "srtpParameters": {
                    "cryptoSuite": suite_a, "keyBase64": base64.b64encode(
                        os.urandom(KEY_LEN[suite_a])).decode()}},
                "t-tap-" + s)
            ct = must(c0, "transport.consume", {
                "consumerId": "c-tap-" + s, "producerId": "p-ssrc",
                "rtpCapabilities": caps}, "t-tap-" + s)
            tapt = Track(name + " tap", ra, ct)
        loops.append((name, s, TAG_LEN[suite_a], Track(name + " loop", rc,
                                                       cc), tapt))

    src = Source("srtp", AUDIO_PT, SRTP_SRC_SSRC, "0", AUDIO_STEP)
    snd = sfu.UdpPeer()
    sent = []
    for i in range(12):
        pkt, rec = src.packet(rnd.randbytes(40 + i))
        snd.send(pkt, (LOCAL, tp["tuple"]["localPort"]))
        sent.append(rec)
        time.sleep(0.002)
    wait_tracks([(lp[3], len(sent)) for lp in loops] +
                [(lp[4], len(sent)) for lp in loops if lp[4]], 4)
    for suite, s, tag_len, loop, tapt in loops:
        loop.expect(sent, "start", "(clear -> SRTP -> SRTP -> clear)")
        if tapt is None:
            continue
        got = tapt.new()
        tap.is_(len(got), len(sent), "%s tap: %d SRTP packets" %
                (suite, len(sent)))
        sizes = [(len(p["payload"]) - len(r["payload"]), p["pt"])
                 for p, r in zip(got, sent)]
        tap.is_(sizes, [(tag_len, tapt.pt)] * len(got),
                "%s tap: clear header, payload longer by the %d-byte tag" %
                (suite, tag_len))
        same = [i for i, (p, r) in enumerate(zip(got, sent))
                if p["payload"][:len(r["payload"])] == r["payload"]]
        tap.is_(same, [], "%s tap: no payload in the clear" % suite)

    # SRTCP both ways: A's SR reaches B (decrypted), B's RR with that LSR
    # reaches A (decrypted): the consumer on A has an RTT.
    deadline = time.monotonic() + 4
    rtts = {}
    while time.monotonic() < deadline and len(rtts) < len(loops):
        for suite, s, _, _, _ in loops:
            st = data(c0.call("consumer.getStats", handler_id="c-a-" + s))
            st = st[0] if isinstance(st, list) and st else {}
            if "roundTripTime" in st:
                rtts[suite] = st["roundTripTime"]
        time.sleep(0.1)
    tap.is_(sorted(rtts), sorted(lp[0] for lp in loops),
            "SRTCP: the consumers on A got an RTT from B's RRs (%r)" % rtts)
    bad = []
    for suite, s, _, _, _ in loops:
        for t in ("t-a-", "t-b-"):
            st = data(c0.call("transport.getStats", handler_id=t + s))
            st = st[0] if isinstance(st, list) and st else {}
            if st.get("invalidPackets") != 0 or \
                    st.get("rtcpPacketsReceived", 0) == 0:
                bad.append((t + s, st.get("invalidPackets"),
                            st.get("rtcpPacketsReceived")))
        st = data(c0.call("transport.getStats", handler_id="t-b-" + s))
        st = st[0] if isinstance(st, list) and st else {}
        if st.get("rtpPacketsReceived") != len(sent):
            bad.append(("t-b-" + s, "rtpPacketsReceived",
                        st.get("rtpPacketsReceived")))
    tap.is_(bad, [], "SRTP transports: no invalid packets, RTCP received, "
            "B got every RTP packet")
    for lp in loops:
        lp[3].peer.close()
        if lp[4]:
            lp[4].peer.close()
    snd.close()


def check_close_router(c0):
    d = data(c0.call("router.dump", handler_id="r1"))
    tap.ok("t-send" in (d.get("transportIds") or []) and
           len(d.get("transportIds") or []) == 17,
           "router.dump: 17 transports (%d)" %
           len(d.get("transportIds") or []))
    r = c0.call("worker.closeRouter", {"routerId": "r1"}, worker=0)
    tap.is_(r.get("accepted"), True, "worker.closeRouter accepted")
    r = c0.call("router.dump", handler_id="r1")
    tap.is_(r.get("error"), "NotFoundError", "router.dump after close: "
            "NotFoundError")
    r = c0.call("transport.dump", handler_id="t-send")
    tap.is_(r.get("error"), "NotFoundError", "its transports are gone too")
    d = data(c0.call("worker.dump", worker=0))
    tap.is_((d.get("routerIds"),
             (d.get("channelMessageHandlers") or {}).get(
                 "channelRequestHandlers")), ([], []),
            "worker.dump: no router, no handler left")


def main():
    if PLAN:
        tap.plan(PLAN)
    with sfu.tempdir() as tmp:
        m = sfu.Master(tmp, workers=1,
                       worker="    rtc_ports %d-%d;" % (RTC_MIN, RTC_MAX))
        try:
            m.start()
            ws = m.wait_ready(1)
            c0 = m.client()
            caps = check_caps(c0)
            check_media(m, c0, caps)
            check_srtp(c0, caps)
            check_close_router(c0)
            w = m.workers()[0]
            tap.is_((w.get("pid"), w.get("restarts"), w.get("state")),
                    (ws[0]["pid"], 0, "running"),
                    "the worker never died or restarted")
            c0.close()
        finally:
            code = m.stop()
        tap.is_(code, 0, "TERM: exit 0")
        m.check_aftermath()
    if not PLAN:
        tap.done_testing()


PLAN = 355
main()
