#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# ffmpeg (Debian's) through a real sfud over PlainTransports, twice: once
# in clear and once with SRTP (AES_CM_128_HMAC_SHA1_80) on both sides.
#
# A VP8 test pattern (320x240, 30 fps, a key frame every 30 frames) and an
# Opus tone are encoded once to files; in each run two ffmpeg processes
# send them in real time (-re -c copy) as RTP, or SRTP with a key the test
# makes and hands to sfud in transport.connect, into two comedia
# PlainTransports (one per producer: each sender has its own source
# tuple). Both producers are consumed on two more PlainTransports
# (rtcp-mux) connected to two receiving ffmpeg processes that read an SDP
# file built from each consumer's rtpParameters (with SRTP, plus the
# consumer transport's srtpParameters as a=crypto), decode, and write one
# framemd5 line per decoded frame.
#
# Asserted per run and kind: the sender ran to its end; sfud's producer
# transport got RTP with no invalid packet (SRTP failures count there) and
# no unknown SSRC; the consumer sent packets; the receiver decoded enough
# (>= 60 video frames, >= 2 s of audio), every decoded frame is bit for bit
# the frame a local decode of the sent file gives (audio: but the first
# and last, see below), and its log has no warning or error (lost packets,
# broken references, HMAC mismatches). In the clear run every video frame
# from the first on arrives; in the SRTP run the video consumer is resumed
# mid-GOP and must start at the next key frame, its skipped packets
# counted in packetsDiscarded.
#
# ffmpeg's RTP muxer sends its first RTCP SR before the first RTP packet
# and from a second socket (local port + 1): on a comedia transport with
# rtcp-mux the SR's source would be latched as the media tuple, so the
# producer transports here run without rtcp-mux (rtcpPort = the RTCP
# socket; ffmpeg's "rtcpport" URL option points at it).
#
# No ffmpeg (or no libvpx/libopus in it): "1..0 # SKIP". scripts/e2e
# installs it from Debian first. Logs (sfud's, each ffmpeg's, with its
# command line in a .cmd file) go to a temp dir that is kept, and named,
# when a test fails or SFUD_KEEP_TMP is set. SFUD_E2E_DEBUG=1 turns on the
# worker's debug log with tags rtp rtcp srtp.
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402

FFMPEG = shutil.which("ffmpeg")
SEND_SECONDS = 8            # each sender's input length (-t)
PROC_TIMEOUT = 30           # any one ffmpeg process, seconds
SUITE = "AES_CM_128_HMAC_SHA1_80"
VIDEO_PT, VIDEO_SSRC = 101, 1111
AUDIO_PT, AUDIO_SSRC = 100, 2222
MIN_VIDEO_FRAMES = 60       # of SEND_SECONDS * 30 sent
MIN_AUDIO_SECONDS = 2.0     # of SEND_SECONDS sent
LATE_JOIN_FRAME = 45        # the SRTP run's video consumer resumes then

MEDIA_CODECS = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000,
     "channels": 2},
    {"kind": "video", "mimeType": "video/VP8", "clockRate": 90000},
]

# Receiver log lines that mean lost, broken or undecryptable media: any
# line at warning level or above (ffmpeg logs lost packets, missing
# references and SRTP "HMAC mismatch" as warnings), and these words at any
# level.
BAD_LINE = re.compile(
    r"\[(warning|error|fatal|panic)\]|corrupt|Invalid data|"
    r"Missing reference|Discarding interframe|missed \d+ packets|"
    r"decrypt|HMAC|concealing|error while decoding|bad cseq|"
    r"out of order", re.IGNORECASE)
# What the second SIGINT that stops a receiver makes it say.
SHUTDOWN_LINE = re.compile(r"Immediate exit requested|Exiting normally")


def have_ffmpeg():
    if FFMPEG is None:
        return False
    try:
        r = subprocess.run([FFMPEG, "-hide_banner", "-encoders"],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=PROC_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return (r.returncode == 0 and re.search(r"\blibvpx\b", r.stdout)
            is not None and re.search(r"\blibopus\b", r.stdout) is not None)


def outdir():
    base = tempfile.gettempdir()
    if len(base) > 60:      # the admin socket path must fit sun_path
        base = "/tmp"
    return tempfile.mkdtemp(prefix="sfud-e2e-", dir=base)


def udp_ports_bound():
    """Local ports of every UDP socket on the machine (/proc/net/udp*)."""
    ports = set()
    for name in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    local = line.split()[1]
                    ports.add(int(local.rsplit(":", 1)[1], 16))
        except (OSError, StopIteration, IndexError, ValueError):
            pass
    return ports


def free_port_pair():
    """An even UDP port p with p + 1 free too (ffmpeg's SDP input binds
    RTP on p and RTCP on p + 1)."""
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.bind(("0.0.0.0", 0))
            p = s.getsockname()[1]
            if p % 2 or p >= 65534:
                continue
            s2.bind(("0.0.0.0", p + 1))
            return p
        except OSError:
            continue
        finally:
            s.close()
            s2.close()
    raise RuntimeError("no free pair of UDP ports")


class Procs:
    """The ffmpeg processes of the test: each gets a log file, a deadline
    and is killed (by pid) and reaped in kill_all()."""

    def __init__(self, dir):
        self.dir = dir
        self.procs = {}         # name -> (Popen, log path)

    def start(self, name, args):
        log = os.path.join(self.dir, name + ".log")
        with open(os.path.join(self.dir, name + ".cmd"), "w") as f:
            f.write(" ".join(args) + "\n")
        sys.stdout.flush()
        with open(log, "wb") as err:
            p = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=err,
                                 close_fds=True)
        self.procs[name] = (p, log)
        return p

    def wait(self, name, timeout):
        """Exit code, or None if it still runs after timeout."""
        p = self.procs[name][0]
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def interrupt(self, name, timeout=5):
        """Stops a receiver: SIGINT twice (ffmpeg's first one only ends
        its loop at the next packet, and none comes once the sender is
        done; the second one interrupts the blocking read), then SIGKILL
        if it is still there after timeout. Returns the exit code."""
        p = self.procs[name][0]
        for _ in range(2):
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
            if self.wait(name, 0.5) is not None:
                break
        code = self.wait(name, timeout)
        if code is None:
            tap.diag("%s (pid %d) ignored SIGINT for %gs: SIGKILL" %
                     (name, p.pid, timeout))
            self.kill(name)
            code = p.poll()
        return code

    def kill(self, name):
        p = self.procs[name][0]
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def kill_all(self):
        for name in list(self.procs):
            self.kill(name)

    def log(self, name):
        try:
            with open(self.procs[name][1], "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def diag_tail(self, name, n=25):
        lines = self.log(name).splitlines()
        tap.diag("--- %s (%s), last %d lines:" %
                 (name, self.procs[name][1], min(n, len(lines))))
        for line in lines[-n:]:
            tap.diag("  " + line)


# --- sfud calls ---

def call(c, method, data=None, handler_id=None, what=None):
    r = c.call(method, data, handler_id=handler_id, timeout=10)
    if not r.get("accepted"):
        raise AssertionError("%s refused: %s: %s" % (
            what or method, r.get("error"), r.get("reason")))
    return r.get("data") or {}


def stats(c, method, handler_id):
    r = c.call(method, handler_id=handler_id, timeout=10)
    d = r.get("data") if r.get("accepted") else None
    if isinstance(d, list) and d and isinstance(d[0], dict):
        return d[0]
    return {}


def plain_transport(c, router_id, rtcp_mux, comedia, srtp):
    data = {"listenInfo": {"protocol": "udp", "ip": "127.0.0.1"},
            "rtcpMux": rtcp_mux, "comedia": comedia}
    if srtp:
        data["enableSrtp"] = True
        data["srtpCryptoSuite"] = SUITE
    return call(c, "router.createPlainTransport", data, router_id)


def random_key():
    """A fresh AES_CM_128 master key + salt (16 + 14 bytes), base64."""
    return base64.b64encode(os.urandom(30)).decode("ascii")


# --- SDP and ffmpeg command lines ---

def consumer_sdp(kind, port, rtp_params, srtp_params):
    """An SDP for ffmpeg to receive a consumer: its first media codec
    (sfud sends no RTX here), its SSRC, rtcp-mux, and with SRTP the
    consumer transport's key as an RFC 4568 a=crypto line."""
    codec = [x for x in rtp_params["codecs"]
             if not x["mimeType"].lower().endswith("/rtx")][0]
    name = codec["mimeType"].split("/", 1)[1]
    rtpmap = "%s/%d" % (name, codec["clockRate"])
    if kind == "audio":
        rtpmap += "/%d" % codec.get("channels", 2)
    ssrc = rtp_params["encodings"][0]["ssrc"]
    lines = [
        "v=0",
        "o=- 0 0 IN IP4 127.0.0.1",
        "s=sfud %s consumer" % kind,
        "c=IN IP4 127.0.0.1",
        "t=0 0",
        "m=%s %d RTP/%s %d" % (kind, port, "SAVP" if srtp_params else "AVP",
                               codec["payloadType"]),
        "a=rtpmap:%d %s" % (codec["payloadType"], rtpmap),
        "a=ssrc:%d cname:sfud" % ssrc,
        "a=rtcp-mux",
        "a=recvonly",
    ]
    if srtp_params:
        lines.append("a=crypto:1 %s inline:%s" %
                     (srtp_params["cryptoSuite"], srtp_params["keyBase64"]))
    return "\r\n".join(lines) + "\r\n"


def encode_args(kind, path):
    """Encodes the test input once, before the runs: the senders then
    copy it in real time (-re -c copy), which keeps the 2-core machine
    free for sfud and the receivers, and gives a reference to compare
    the received frames with."""
    a = [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-loglevel",
         "level+info", "-f", "lavfi"]
    if kind == "video":
        a += ["-i", "testsrc=size=320x240:rate=30", "-t", str(SEND_SECONDS),
              "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8",
              "-b:v", "500k", "-g", "30", "-keyint_min", "30",
              "-auto-alt-ref", "0", "-error-resilient", "1"]
    else:
        a += ["-i", "sine=frequency=440:sample_rate=48000",
              "-t", str(SEND_SECONDS), "-c:a", "libopus", "-b:a", "64k",
              "-ac", "2"]
    return a + ["-y", path]


def decode_args(path, md5_path):
    return [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-loglevel",
            "level+info", "-i", path, "-map", "0", "-f", "framemd5", "-y",
            md5_path]


def sender_args(kind, path, port, rtcp_port, key, progress):
    a = [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-loglevel",
         "level+info", "-progress", progress, "-stats_period", "0.1",
         "-re", "-i", path, "-map", "0", "-c", "copy"]
    if kind == "video":
        a += ["-payload_type", str(VIDEO_PT), "-ssrc", str(VIDEO_SSRC)]
    else:
        a += ["-payload_type", str(AUDIO_PT), "-ssrc", str(AUDIO_SSRC)]
    query = "rtcpport=%d&pkt_size=1200" % rtcp_port
    if key is None:
        return a + ["-f", "rtp", "rtp://127.0.0.1:%d?%s" % (port, query)]
    return a + ["-f", "rtp", "-srtp_out_suite", SUITE,
                "-srtp_out_params", key,
                "srtp://127.0.0.1:%d?%s" % (port, query)]


def receiver_args(sdp_path, md5_path, srtp):
    return [FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-loglevel",
            "level+verbose", "-protocol_whitelist",
            "file,udp,rtp" + (",srtp" if srtp else ""),
            "-reorder_queue_size", "0", "-i", sdp_path, "-map", "0",
            "-flush_packets", "1", "-f", "framemd5", "-y", md5_path]


def read_framemd5(path):
    """(hashes, seconds) decoded: the MD5 of each frame of stream 0 in
    order, and their total duration in the stream's time base
    ("#tb 0: 1/48000")."""
    hashes = []
    ticks = 0
    tb = None
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("#tb 0:"):
                    num, den = line.split(":", 1)[1].strip().split("/")
                    tb = (int(num), int(den))
                    continue
                if line.startswith("#") or not line.strip():
                    continue
                cols = [x.strip() for x in line.split(",")]
                if cols[0] != "0" or len(cols) < 6:
                    continue
                hashes.append(cols[5])
                try:
                    ticks += int(cols[3])
                except ValueError:
                    pass
    except OSError:
        return [], 0.0
    secs = ticks * tb[0] / tb[1] if tb else 0.0
    return hashes, secs


def best_alignment(got, ref):
    """(n, k): at the offset k where most of got's frames equal ref's
    (got[i] == ref[i + k]), how many do. A stream forwarded intact
    decodes to a contiguous run of the reference: n == len(got), and
    got[0] is ref[k]."""
    best = (0, 0)
    for k in range(-len(got) + 1, len(ref)):
        n = 0
        for i in range(max(0, -k), min(len(got), len(ref) - k)):
            if got[i] == ref[i + k]:
                n += 1
        if n > best[0]:
            best = (n, k)
    return best


def read_key_frames(path):
    """Indexes of the key frames in a framecrc of a stream copy (the
    other frames carry "F=0x0")."""
    keys = []
    i = 0
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                if not line.startswith("0,"):
                    continue
                if "F=0x0" not in line:
                    keys.append(i)
                i += 1
    except OSError:
        pass
    return keys


def wait_progress(path, frames, timeout=PROC_TIMEOUT):
    """Waits until the sender writing "-progress path" has sent at least
    frames frames; returns the count it reported."""
    deadline = time.monotonic() + timeout
    n = 0
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                found = re.findall(r"^frame=(\d+)", f.read(), re.M)
            n = int(found[-1]) if found else 0
        except OSError:
            n = 0
        if n >= frames:
            return n
        time.sleep(0.02)
    raise AssertionError("%s: not %d frames sent within %gs (%d)" %
                         (path, frames, timeout, n))


def bad_lines(text):
    return [line for line in text.splitlines() if BAD_LINE.search(line)
            and not SHUTDOWN_LINE.search(line)]


def prepare(dir, procs):
    """Encodes the inputs and decodes them locally: {kind: (path,
    reference hashes, key frame indexes)}, or raises."""
    out = {}
    for kind, ext in (("video", "ivf"), ("audio", "ogg")):
        path = os.path.join(dir, "sent-%s.%s" % (kind, ext))
        md5 = os.path.join(dir, "sent-%s.framemd5" % kind)
        crc = os.path.join(dir, "sent-%s.framecrc" % kind)
        for name, args in (
                ("encode-" + kind, encode_args(kind, path)),
                ("decode-" + kind, decode_args(path, md5)),
                ("keys-" + kind, [FFMPEG, "-hide_banner", "-nostdin",
                                  "-i", path, "-map", "0", "-c", "copy",
                                  "-f", "framecrc", "-y", crc])):
            procs.start(name, args)
            code = procs.wait(name, PROC_TIMEOUT)
            if code != 0:
                procs.diag_tail(name)
                raise AssertionError("%s: ffmpeg exited with %r" %
                                     (name, code))
        out[kind] = (path, read_framemd5(md5)[0], read_key_frames(crc))
    return out


def run(c, router_id, caps, dir, procs, inputs, srtp):
    label = "srtp" if srtp else "clear"
    media = {}
    tap.diag("%s run: setting up" % label)
    for kind in ("video", "audio"):
        md = media[kind] = {}

        # The sender's side: comedia, RTP and RTCP on their own ports.
        pt = plain_transport(c, router_id, False, True, srtp)
        md["ptid"] = pt["id"]
        md["port"] = pt["tuple"]["localPort"]
        md["rtcp_port"] = pt["rtcpTuple"]["localPort"]
        md["send_key"] = None
        if srtp:
            md["send_key"] = random_key()
            call(c, "transport.connect",
                 {"srtpParameters": {"cryptoSuite": SUITE,
                                     "keyBase64": md["send_key"]}},
                 md["ptid"], "%s producer transport.connect" % kind)
        if kind == "video":
            codec = {"mimeType": "video/VP8", "payloadType": VIDEO_PT,
                     "clockRate": 90000}
            ssrc = VIDEO_SSRC
        else:
            codec = {"mimeType": "audio/opus", "payloadType": AUDIO_PT,
                     "clockRate": 48000, "channels": 2}
            ssrc = AUDIO_SSRC
        p = call(c, "transport.produce",
                 {"kind": kind, "rtpParameters": {
                     "codecs": [codec], "encodings": [{"ssrc": ssrc}],
                     "rtcp": {"cname": "ffmpeg-" + kind}}},
                 md["ptid"], "%s transport.produce" % kind)
        md["pid"] = p["id"]

        # The receiver's side: rtcp-mux, connected to ffmpeg's port.
        md["recv_port"] = free_port_pair()
        ct = plain_transport(c, router_id, True, False, srtp)
        md["ctid"] = ct["id"]
        conn = {"ip": "127.0.0.1", "port": md["recv_port"]}
        if srtp:
            conn["srtpParameters"] = {"cryptoSuite": SUITE,
                                      "keyBase64": random_key()}
        r = call(c, "transport.connect", conn, md["ctid"],
                 "%s consumer transport.connect" % kind)
        md["recv_srtp"] = r.get("srtpParameters") if srtp else None
        co = call(c, "transport.consume",
                  {"producerId": md["pid"], "rtpCapabilities": caps,
                   "paused": True},
                  md["ctid"], "%s transport.consume" % kind)
        md["cid"] = co["id"]
        md["rtp"] = co["rtpParameters"]
        md["sdp"] = os.path.join(dir, "%s-%s.sdp" % (label, kind))
        with open(md["sdp"], "w") as f:
            f.write(consumer_sdp(kind, md["recv_port"], md["rtp"],
                                 md["recv_srtp"]))
        md["md5"] = os.path.join(dir, "%s-%s.framemd5" % (label, kind))
        md["progress"] = os.path.join(dir, "%s-send-%s.progress" %
                                      (label, kind))

    tap.is_([media[k]["rtp"]["codecs"][0]["mimeType"]
             for k in ("video", "audio")], ["video/VP8", "audio/opus"],
            "%s: consumers get VP8 and opus" % label)
    if srtp:
        tap.ok(all(isinstance(media[k]["recv_srtp"], dict) and
                   media[k]["recv_srtp"].get("cryptoSuite") == SUITE
                   for k in media),
               "%s: consumer transports answer connect with their "
               "srtpParameters (%s)" % (label, SUITE))

    # Receivers first: they must be listening when the key frame comes.
    for kind, md in media.items():
        procs.start("%s-recv-%s" % (label, kind),
                    receiver_args(md["sdp"], md["md5"], srtp))
    deadline = time.monotonic() + 10
    want = {md["recv_port"] for md in media.values()}
    while not want <= udp_ports_bound() and time.monotonic() < deadline:
        time.sleep(0.05)
    tap.ok(want <= udp_ports_bound(),
           "%s: receivers listen on %s" % (label, sorted(want)))

    # Clear run: both consumers resumed before the senders start, so
    # every packet is forwarded. SRTP run: the video consumer is resumed
    # once the sender has sent LATE_JOIN_FRAME frames, mid-GOP: sfud must
    # hold it back until the next key frame (ffmpeg's sender ignores PLI;
    # its GOP is 30 frames).
    late = srtp
    call(c, "consumer.resume", None, media["audio"]["cid"])
    if not late:
        call(c, "consumer.resume", None, media["video"]["cid"])
    for kind, md in media.items():
        procs.start("%s-send-%s" % (label, kind),
                    sender_args(kind, inputs[kind][0], md["port"],
                                md["rtcp_port"], md["send_key"],
                                md["progress"]))
    joined = 0
    if late:
        joined = wait_progress(media["video"]["progress"], LATE_JOIN_FRAME)
        call(c, "consumer.resume", None, media["video"]["cid"])
    call(c, "consumer.requestKeyFrame", None, media["video"]["cid"])

    codes = {}
    for kind in media:
        name = "%s-send-%s" % (label, kind)
        codes[kind] = procs.wait(name, PROC_TIMEOUT)
    time.sleep(1.0)     # let the last packets reach the receivers

    st = {}
    for kind, md in media.items():
        st[kind] = {
            "ptransport": stats(c, "transport.getStats", md["ptid"]),
            "producer": stats(c, "producer.getStats", md["pid"]),
            "consumer": stats(c, "consumer.getStats", md["cid"]),
            "ctransport": stats(c, "transport.getStats", md["ctid"]),
        }
    for kind in media:
        procs.interrupt("%s-recv-%s" % (label, kind))

    failed_before = tap.failed()
    for kind, md in media.items():
        s = st[kind]
        tap.is_(codes[kind], 0, "%s %s: sender ffmpeg ran to the end" %
                (label, kind))
        tap.ok(s["ptransport"].get("rtpPacketsReceived", 0) > 0 and
               s["ptransport"].get("invalidPackets") == 0 and
               s["ptransport"].get("rtpPacketsUnknownSsrc") == 0,
               "%s %s: producer transport got RTP, no invalid packets, "
               "no unknown SSRC (received %s, invalid %s, unknown ssrc %s)"
               % (label, kind, s["ptransport"].get("rtpPacketsReceived"),
                  s["ptransport"].get("invalidPackets"),
                  s["ptransport"].get("rtpPacketsUnknownSsrc")))
        tap.ok(s["consumer"].get("packetCount", 0) > 0,
               "%s %s: consumer sent %s packets" %
               (label, kind, s["consumer"].get("packetCount")))
        got, secs = read_framemd5(md["md5"])
        ref = inputs[kind][1]
        log = procs.log("%s-recv-%s" % (label, kind))
        if kind == "video":
            tap.ok(len(got) >= MIN_VIDEO_FRAMES,
                   "%s video: receiver decoded %d frames (>= %d of %d sent)"
                   % (label, len(got), MIN_VIDEO_FRAMES, len(ref)))
            tap.like(log, r"Video: vp8\b.*320x240",
                     "%s video: receiver sees VP8 320x240" % label)
            # Every frame, bit for bit, from the first one forwarded on.
            same, first = best_alignment(got, ref)
            tap.ok(got and same == len(got),
                   "%s video: %d of %d decoded frames identical to a local "
                   "decode of what was sent" % (label, same, len(got)))
            keys = inputs[kind][2]
            if late:
                tap.ok(first in keys and first > 0,
                       "%s video: a consumer resumed after frame %d "
                       "starts at a later key frame (frame %d; key "
                       "frames: %s)" % (label, joined, first, keys))
                tap.ok(s["consumer"].get("packetsDiscarded", 0) > 0,
                       "%s video: the consumer discarded %s packets while "
                       "waiting for it" % (label,
                                           s["consumer"].get(
                                               "packetsDiscarded")))
            else:
                tap.is_(first, 0, "%s video: the first frame sent is the "
                        "first decoded" % label)
        else:
            tap.ok(secs >= MIN_AUDIO_SECONDS,
                   "%s audio: receiver decoded %.2f s of audio in %d "
                   "frames (>= %.1f s of %d s sent)" %
                   (label, secs, len(got), MIN_AUDIO_SECONDS,
                    SEND_SECONDS))
            tap.like(log, r"Audio: opus\b.*48000 Hz",
                     "%s audio: receiver sees opus 48 kHz" % label)
            # The first and last frames differ: the local decode trims
            # the Ogg file's pre-skip from the first and its end padding
            # from the last; RTP carries neither.
            same = best_alignment(got[1:-1], ref)[0]
            tap.ok(len(got) > 2 and same == len(got) - 2,
                   "%s audio: %d of %d decoded frames (all but the first "
                   "and last) identical to a local decode of what was "
                   "sent" % (label, same, max(len(got) - 2, 0)))
        bad = bad_lines(log)
        if not tap.is_(len(bad), 0, "%s %s: no decode or SRTP errors in "
                       "the receiver's log" % (label, kind)):
            for line in bad[:20]:
                tap.diag("  " + line)
    if tap.failed() > failed_before:
        for kind, md in media.items():
            tap.diag("%s %s stats: %r" % (label, kind, st[kind]))
            procs.diag_tail("%s-send-%s" % (label, kind))
            procs.diag_tail("%s-recv-%s" % (label, kind))

    # Tear down this run's transports (their producers and consumers go
    # with them).
    for md in media.values():
        for tid in (md["ctid"], md["ptid"]):
            call(c, "transport.close", None, tid)


def main():
    if not have_ffmpeg():
        tap.skip_all("ffmpeg not available")

    debug = os.environ.get("SFUD_E2E_DEBUG") == "1"
    worker = "    rtc_ports 43000-43999;\n"
    if debug:
        worker += "    log_level debug;\n    log_tags rtp rtcp srtp;\n"
    dir = outdir()
    tap.diag("logs in %s" % dir)
    procs = Procs(dir)
    m = sfu.Master(dir, workers=1, log_level="debug" if debug else "info",
                   worker=worker)
    started = time.monotonic()
    ok = False
    try:
        try:
            m.start()
            m.wait_ready(1)
            c = m.client(timeout=10)
            r = call(c, "worker.createRouter", {"mediaCodecs": MEDIA_CODECS})
            router_id = r["routerId"]
            caps = r["rtpCapabilities"]
            inputs = prepare(dir, procs)
            for srtp in (False, True):
                run(c, router_id, caps, dir, procs, inputs, srtp)
            call(c, "router.close", None, router_id)
            c.close()
        finally:
            procs.kill_all()
            m.stop()
        m.check_aftermath()
        ok = True
    finally:
        tap.diag("took %.1f s" % (time.monotonic() - started))
        if not ok or tap.failed() or os.environ.get("SFUD_KEEP_TMP"):
            tap.diag("kept %s (sfud.log, a .log per ffmpeg, the .sdp "
                     "and .framemd5 files)" % dir)
        else:
            shutil.rmtree(dir, ignore_errors=True)
    tap.done_testing()


main()
