#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# What SRTP costs per consumer: 1 producer -> N consumers on one sfud
# worker, with the consumers on
#   (a) PlainTransports without SRTP,
#   (b) PlainTransports with SRTP (enableSrtp, --suite),
#   (c) WebRtcTransports (ICE-lite, DTLS, SRTP from the DTLS keys),
# at the same input rates, in the same run. Reports output packets/s, loss
# and worker CPU microseconds per forwarded packet for each, and the
# ratios (b)/(a) and (c)/(a). Results: docs/benchmarks.md, "WebRTC
# consumers (SRTP)".
#
#   bench/webrtc_fanout_bench.py [BUILDDIR] [--receiver PATH] [--ns 10,100]
#       [--out 50000,100000,400000] [--duration 2] [--repeat 3]
#       [--size 1000] [--suite AES_CM_128_HMAC_SHA1_80]
#       [--modes plain,srtp,webrtc] [--perf DIR] [--debug-log] [--keep-tmp]
#
# BUILDDIR (default $SFUD_BUILDDIR) holds built src/master/sfud,
# src/worker/sfud-worker and bench/{rtp_sender,rtp_receiver}; the WebRTC
# peers are bench/webrtc_receiver (--receiver, default
# BUILDDIR/bench/webrtc_receiver). Nothing is built here.
#
# Set-up and measurement reuse bench/fanout_bench.py (imported): the same
# sfud start-up, the same CPU pinning (load on one CPU, the worker alone on
# the other, reniced), the same sender (rtp_sender: Opus-like RTP, fixed
# rate, --size bytes of payload), the same figures (worker utime+stime
# from just before the sender starts until the worker has emptied its
# socket and gone idle, divided by the packets forwarded; loss split into
# in-drops / inside / rx-drops; a point passes with < 1% loss and at most
# 0.1 s of input left queued when the sender stopped; a point during
# which other processes took more than 20% of the worker's CPU is measured
# again, up to 4 times). The default rates: 50k output packets/s, which
# every mode keeps up with (cost at partial load), 100k, and 400k, which
# saturates the worker in every mode (cost flat out; its out/s is the
# mode's capacity).
#
# Each mode has its own router on the one worker, with its own comedia
# PlainTransport producer (plain RTP in: only the consumers' side
# differs) and its own N consumer transports; the sender feeds one
# router at a time, so the idle routers cost nothing. (a) and (b) send to
# bench/rtp_receiver (started for each point; it counts RTP by its clear
# header, so SRTP needs no key there). (c) sends to bench/webrtc_receiver,
# one long-lived process acting as N WebRTC peers (ICE checks, DTLS
# client, SRTP; it decrypts the first packets of each peer to check them,
# then only counts; see its header), asked for its counters before and
# after each point. At each output rate of --out the modes run in turn,
# --repeat times (a b c a b c ...), so that they share the machine's
# background load; the summary gives the median per mode and the ratios
# of the medians, with the range of the per-round ratios.
#
# Every process started here is stopped by pid on exit (fanout_bench's
# registry).
import argparse
import base64
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fanout_bench as fb      # noqa: E402

# Ports of our own, so that a fanout_bench.py run elsewhere on the machine
# cannot take them (fanout_bench's functions read these globals at call
# time), and below the kernel's ephemeral range (32768-60999 by default),
# where udp_fanout's and other sockets get theirs. The rtp_receiver takes
# RX_BASE.., the WebRTC peers WRX_BASE.., sfud's transports
# RTC_MIN..RTC_MAX; the sender sends from SENDER_PORT.
fb.RX_BASE = 14000
WRX_BASE = 15000
fb.RTC_MIN, fb.RTC_MAX = 16000, 17999
fb.SENDER_PORT = 18001
OUT_DEFAULT = "50000,100000,400000"
SUITE_KEY_LEN = {"AES_CM_128_HMAC_SHA1_80": 30,
                 "AES_CM_128_HMAC_SHA1_32": 30,
                 "AEAD_AES_128_GCM": 28,
                 "AEAD_AES_256_GCM": 44}
# sfud's suite name -> OpenSSL's use_srtp profile (for the DTLS offer).
SUITE_PROFILE = {"AES_CM_128_HMAC_SHA1_80": "SRTP_AES128_CM_SHA1_80",
                 "AES_CM_128_HMAC_SHA1_32": "SRTP_AES128_CM_SHA1_32",
                 "AEAD_AES_128_GCM": "SRTP_AEAD_AES_128_GCM",
                 "AEAD_AES_256_GCM": "SRTP_AEAD_AES_256_GCM"}
MODE_LABEL = {"plain": "(a) plain", "srtp": "(b) plain+SRTP",
              "webrtc": "(c) WebRTC"}

log = fb.log


class LineReader:
    """Lines from a child's stdout pipe (binary), read with os.read so
    that select() sees everything not yet handed out."""

    def __init__(self, p):
        self.p = p
        self.fd = p.stdout.fileno()
        self.buf = b""
        self.lines = []

    def _fill(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            raise RuntimeError("%s exited (code %s)" % (
                self.p.args[0], self.p.poll()))
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lines.append(line.decode())

    def next(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not self.lines:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("%s: no output for %g s" % (
                    self.p.args[0], timeout))
            self._fill(min(left, 0.2))
        return self.lines.pop(0)


class WebrtcReceiver:
    """bench/webrtc_receiver: N WebRTC peers, asked for counters."""

    def __init__(self, path, count, profile, tmp, debug=False):
        argv = [path, "-p", profile]
        if debug:
            argv.append("-D")
        argv += [str(WRX_BASE), str(count)]
        self.stderr_path = os.path.join(tmp, "webrtc_receiver.stderr")
        # fb.start() gives the child no stdin; this one reads commands.
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=open(self.stderr_path, "w"))
        fb._procs[self.p.pid] = self.p
        fb.set_nice(self.p.pid, fb.NICE_RX)
        self.out = LineReader(self.p)
        line = self.out.next()
        m = re.match(r"fingerprint sha-256 ([0-9A-F:]+)$", line)
        if not m:
            raise RuntimeError("webrtc_receiver: %r" % line)
        self.fingerprint = m.group(1)
        self.pid = self.p.pid
        self.ready = {}          # peer -> SRTP suite
        self.failed = {}         # peer -> reason

    def ports(self, n):
        return range(WRX_BASE, WRX_BASE + n)

    def add_peer(self, i, ufrag, password, ip, port, fingerprint):
        self.p.stdin.write(("%d %s %s %s %d %s\n" % (
            i, ufrag, password, ip, port, fingerprint)).encode())
        self.p.stdin.flush()

    def wait_ready(self, peers, timeout=30.0):
        """Waits for "ready i" from every peer of peers; returns the
        peers that failed or did not answer."""
        deadline = time.monotonic() + timeout
        want = set(peers) - set(self.ready)
        while want and time.monotonic() < deadline:
            try:
                line = self.out.next(max(0.1, deadline - time.monotonic()))
            except RuntimeError:
                break
            w = line.split(None, 2)
            if w[0] == "ready":
                self.ready[int(w[1])] = w[2]
                want.discard(int(w[1]))
            elif w[0] == "failed":
                self.failed[int(w[1])] = w[2] if len(w) > 2 else ""
                want.discard(int(w[1]))
        return sorted(want | (set(peers) & set(self.failed)))

    def stats(self):
        """Totals so far: (summary dict, {port: per-port dict})."""
        self.p.stdin.write(b"stats\n")
        self.p.stdin.flush()
        ports = {}
        while True:
            line = self.out.next()
            if line.startswith("port="):
                d = fb.kv(line)
                ports[int(d["port"])] = d
            elif line.startswith("ports="):
                return fb.kv(line), ports
            # "ready"/"failed" lines may come late: keep them.
            elif line.startswith("ready "):
                self.ready[int(line.split()[1])] = line.split()[2]
            elif line.startswith("failed "):
                self.failed[int(line.split()[1])] = line

    def stop(self):
        out = fb.stop(self.p)
        return out.decode() if isinstance(out, bytes) else out


class Mode:
    """One router of the worker: a producer and its consumers of one
    kind ("plain", "srtp" or "webrtc")."""

    def __init__(self, sfud, kind, suite):
        self.sfud = sfud
        self.kind = kind
        self.suite = suite
        self.name = MODE_LABEL[kind]
        self.router = "wb-%s" % kind
        self.pid = sfud.pid
        self.consumers = 0
        a = sfud.admin
        r = a.call("worker.createRouter", {
            "routerId": self.router,
            "mediaCodecs": [{"kind": "audio", "mimeType": "audio/opus",
                             "clockRate": 48000, "channels": 2}]})
        self.caps = r["rtpCapabilities"]
        tid = "%s-in" % self.router
        t = a.call("router.createPlainTransport", {
            "transportId": tid, "listenInfo": {"ip": "127.0.0.1"},
            "rtcpMux": True, "comedia": True}, handler_id=self.router)
        self.port = t["tuple"]["localPort"]
        self.producer = "%s-producer" % self.router
        a.call("transport.produce", {
            "producerId": self.producer, "kind": "audio",
            "rtpParameters": {
                "codecs": [{"mimeType": "audio/opus",
                            "payloadType": fb.PT, "clockRate": 48000,
                            "channels": 2, "parameters": {},
                            "rtcpFeedback": []}],
                "headerExtensions": [],
                "encodings": [{"ssrc": fb.SSRC}],
                "rtcp": {"cname": "bench", "reducedSize": True}}},
            handler_id=tid)

    def rx_ports(self, n):
        base = WRX_BASE if self.kind == "webrtc" else fb.RX_BASE
        return range(base, base + n)

    def add_consumers(self, n, wrx=None):
        a = self.sfud.admin
        first = self.consumers
        t0 = time.monotonic()
        while self.consumers < n:
            i = self.consumers
            tid = "%s-out-%d" % (self.router, i)
            if self.kind == "webrtc":
                t = a.call("router.createWebRtcTransport", {
                    "transportId": tid,
                    "listenInfos": [{"protocol": "udp",
                                     "ip": "127.0.0.1"}]},
                    handler_id=self.router)
                ice = t["iceParameters"]
                cand = [c for c in t["iceCandidates"]
                        if c["protocol"] == "udp"][0]
                fp = [f["value"] for f in t["dtlsParameters"]["fingerprints"]
                      if f["algorithm"] == "sha-256"][0]
                # Before the peer's first check: sfud starts DTLS as soon
                # as both connect() and ICE happened.
                a.call("transport.connect", {"dtlsParameters": {
                    "role": "client",
                    "fingerprints": [{"algorithm": "sha-256",
                                      "value": wrx.fingerprint}]}},
                    handler_id=tid)
                a.call("transport.consume", {
                    "consumerId": "%s-consumer-%d" % (self.router, i),
                    "producerId": self.producer,
                    "rtpCapabilities": self.caps}, handler_id=tid)
                wrx.add_peer(i, ice["usernameFragment"], ice["password"],
                             cand["ip"], cand["port"], fp)
            else:
                create = {"transportId": tid,
                          "listenInfo": {"ip": "127.0.0.1"},
                          "rtcpMux": True, "comedia": False}
                connect = {"ip": "127.0.0.1", "port": fb.RX_BASE + i}
                if self.kind == "srtp":
                    create["enableSrtp"] = True
                    create["srtpCryptoSuite"] = self.suite
                    # The key sfud would decrypt our RTCP with (we send
                    # none); sfud encrypts with its own.
                    key = os.urandom(SUITE_KEY_LEN[self.suite])
                    connect["srtpParameters"] = {
                        "cryptoSuite": self.suite,
                        "keyBase64": base64.b64encode(key).decode()}
                a.call("router.createPlainTransport", create,
                       handler_id=self.router)
                a.call("transport.connect", connect, handler_id=tid)
                a.call("transport.consume", {
                    "consumerId": "%s-consumer-%d" % (self.router, i),
                    "producerId": self.producer,
                    "rtpCapabilities": self.caps}, handler_id=tid)
            self.consumers += 1
        if self.kind == "webrtc" and n > first:
            bad = wrx.wait_ready(range(first, n))
            if bad:
                for i in bad[:5]:
                    tid = "%s-out-%d" % (self.router, i)
                    d = a.call("transport.dump", handler_id=tid)
                    log("  peer %d: %s; sfud: iceState %s, dtlsState %s, "
                        "selected tuple %s" % (
                            i, wrx.failed.get(i, "no answer"),
                            d.get("iceState"), d.get("dtlsState"),
                            d.get("iceSelectedTuple")))
                raise RuntimeError("%d of %d WebRTC peers did not connect "
                                   "(sfud log: --debug-log --keep-tmp)" %
                                   (len(bad), n - first))
            suites = sorted(set(wrx.ready[i] for i in range(first, n)))
            log("  %d WebRTC peers set up and connected (transport "
                "created, ICE, DTLS) in %.2f s, SRTP %s" % (
                    n - first, time.monotonic() - t0, ",".join(suites)))


class Runner:
    def __init__(self, args, fwd_cpu):
        self.args = args
        self.fwd_cpu = fwd_cpu
        # fb.Bench gives rtp_receiver and rtp_sender runs.
        self.bench = fb.Bench(args)
        self.bench.fwd_cpu = fwd_cpu
        self.wrx = None

    def measure(self, mode, n, rate):
        """measure_once(), again (at most fb.NOISY_RETRIES times in all)
        while other processes took more than fb.NOISY_PCT of the
        worker's CPU, as fanout_bench does."""
        for _ in range(fb.NOISY_RETRIES):
            r = self.measure_once(mode, n, rate)
            if r["other_pct"] <= fb.NOISY_PCT:
                break
            log("    (others took %.0f%% of its CPU: again)" %
                r["other_pct"])
        return r

    def measure_once(self, mode, n, rate, perf_out=None):
        """One point: as fanout_bench.Bench.measure(), with either
        receiver; returns the same figures. With perf_out, the worker
        runs under perf record meanwhile."""
        b = self.bench
        d = self.args.duration
        rx_ports = mode.rx_ports(n)
        rx = None
        if mode.kind == "webrtc":
            c0, p0 = self.wrx.stats()
            rx_pid = self.wrx.pid
        else:
            rx = b.receiver(n)
            rx_pid = rx.pid
        in_drops0 = fb.udp_drops([mode.port])
        rx_drops0 = fb.udp_drops(rx_ports)
        rxt0 = fb.cpu_ticks(rx_pid)
        t0, ns0 = fb.cpu_ticks(mode.pid), fb.cpu_ns(mode.pid)
        busy0, steal0 = fb.cpu_stat(self.fwd_cpu)
        w0 = time.monotonic()
        perf = None
        if perf_out:
            perf = fb.start(["perf", "record", "-q", "-e", "cpu-clock",
                             "-F", "4000", "-g", "-o", perf_out, "-p",
                             str(mode.pid)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        # fb.Bench keeps the sequence numbers running per destination
        # port, i.e. per producer.
        s = b.sender(mode.port, rate, d)
        snd = b.sender_done(s, d, mode.port)
        if perf:
            fb.stop(perf, signal.SIGINT, timeout=30)
        backlog = fb.wait_drained([mode.port])
        fb.wait_idle(mode.pid)
        t1, ns1 = fb.cpu_ticks(mode.pid), fb.cpu_ns(mode.pid)
        busy1, steal1 = fb.cpu_stat(self.fwd_cpu)
        wall = time.monotonic() - w0
        fb.wait_drained(rx_ports)
        rxt1 = fb.cpu_ticks(rx_pid)
        in_drops = fb.udp_drops([mode.port]) - in_drops0
        rx_drops = fb.udp_drops(rx_ports) - rx_drops0
        if rx is None:
            c1, p1 = self.wrx.stats()
            got = c1["packets"] - c0["packets"]
            per_port = [p1[pt]["packets"] - p0.get(pt, {"packets": 0})
                        ["packets"] for pt in rx_ports]
            verify_failed = c1["verify_failed"]
        else:
            r = fb.kv(fb.stop(rx))
            got = r["packets"]
            per_port = [r["min_port_packets"], r["max_port_packets"]]
            verify_failed = 0
        sent = snd["sent"]
        expected = sent * n
        fwd_pkts = got + rx_drops
        cpu_us = (t1 - t0) * 1e6 / fb.CLK_TCK
        res = {
            "mode": mode.kind, "n": n, "rate": rate, "sent": sent,
            "in_pps": snd["pps"], "received": got,
            "out_pps": got / (snd["seconds"] + backlog),
            "backlog_s": backlog,
            "loss_total": 100.0 * (expected - got) / expected,
            "loss_fwd": 100.0 * max(0.0, expected - fwd_pkts) / expected,
            "in_drops": in_drops, "rx_drops": rx_drops,
            "inside": max(0.0, expected - fwd_pkts - in_drops * n),
            "cpu_us": cpu_us,
            "us_per_pkt": cpu_us / fwd_pkts if fwd_pkts else float("nan"),
            "us_per_pkt_ns": (ns1 - ns0) / 1e3 / fwd_pkts if fwd_pkts
            else float("nan"),
            "cpu_pct": 100.0 * cpu_us / 1e6 / wall,
            "other_pct": 100.0 * max(0, (busy1 - busy0) - (t1 - t0)) /
            fb.CLK_TCK / wall,
            "rx_cpu_pct": 100.0 * (rxt1 - rxt0) / fb.CLK_TCK / wall,
            "min_port": min(per_port), "max_port": max(per_port),
            "verify_failed": verify_failed,
        }
        log("  %-15s N=%-3d in=%6.0f/s out=%7.0f/s loss=%5.2f%% "
            "(in-drops %d, inside %d, rx-drops %d) cpu=%5.1f%% "
            "%.3f us/pkt (schedstat %.3f); per consumer %d-%d; backlog "
            "%.2fs; others on its CPU %.0f%%; receiver cpu %.0f%%" % (
                mode.name, n, res["in_pps"], res["out_pps"],
                res["loss_total"], in_drops, res["inside"], rx_drops,
                res["cpu_pct"], res["us_per_pkt"], res["us_per_pkt_ns"],
                res["min_port"], res["max_port"], backlog,
                res["other_pct"], res["rx_cpu_pct"]))
        return res


def profile(runner, modes, n, rate, outdir):
    """One point per mode under perf record (cpu-clock: VMs often lack
    hardware counters); prints the busiest shared objects and symbols."""
    os.makedirs(outdir, exist_ok=True)
    for m in modes:
        out = os.path.join(outdir, "perf.%s.N%d.data" % (m.kind, n))
        log("\nperf: %s, N=%d, input %d/s -> %s" % (m.name, n, rate, out))
        runner.measure_once(m, n, rate, perf_out=out)
        for sort, lines in (("dso", 6), ("sym", 25)):
            r = subprocess.run(["perf", "report", "-i", out, "--stdio",
                                "--no-children", "--sort", sort],
                               capture_output=True, text=True)
            rows = [x for x in r.stdout.splitlines()
                    if re.match(r"\s+[0-9.]+%", x)]
            for x in rows[:lines]:
                log("  " + x.strip())


def median(xs):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = len(xs)
    return xs[k // 2] if k % 2 else (xs[k // 2 - 1] + xs[k // 2]) / 2


def enable_debug_log(sfud, tmp):
    """Worker at debug level with the ice and dtls tags, into the
    master's log (its error_log level filters the worker's lines too)."""
    conf = os.path.join(tmp, "sfud.conf")
    with open(conf) as f:
        text = f.read()
    text = text.replace("sfud.log warn;", "sfud.log debug;")
    text = text.replace("log_level warn;",
                        "log_level debug;\n    log_tags ice dtls;")
    with open(conf, "w") as f:
        f.write(text)
    sfud.admin.call("master.reload")
    log("sfud log at debug (tags ice dtls): %s" %
        os.path.join(tmp, "sfud.log"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("builddir", nargs="?",
                    default=os.environ.get("SFUD_BUILDDIR"))
    ap.add_argument("--receiver", help="bench/webrtc_receiver binary "
                    "(default BUILDDIR/bench/webrtc_receiver)")
    ap.add_argument("--ns", default="10,100")
    ap.add_argument("--out", default=OUT_DEFAULT,
                    help="output packets/s to run at (input = out / N)")
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds of the modes at each rate")
    ap.add_argument("--size", type=int, default=1000,
                    help="RTP payload bytes")
    ap.add_argument("--suite", default="AES_CM_128_HMAC_SHA1_80",
                    choices=sorted(SUITE_KEY_LEN),
                    help="SRTP suite of (b), and the only profile the "
                    "WebRTC peers offer for (c)")
    ap.add_argument("--modes", default="plain,srtp,webrtc")
    ap.add_argument("--perf", metavar="DIR",
                    help="then profile the worker (perf record -g, "
                    "cpu-clock) for one point per mode at the last N and "
                    "the first --out rate, into DIR/perf.*.data")
    ap.add_argument("--debug-log", action="store_true",
                    help="sfud worker log at debug with tags ice, dtls")
    ap.add_argument("--keep-tmp", action="store_true",
                    help="keep sfud's temp dir (config, log)")
    args = ap.parse_args()
    if not args.builddir:
        ap.error("BUILDDIR or $SFUD_BUILDDIR is required")
    args.builddir = os.path.abspath(args.builddir)
    if args.receiver is None:
        args.receiver = os.path.join(args.builddir, "bench",
                                     "webrtc_receiver")
    ns = [int(x) for x in args.ns.split(",")]
    outs = [int(x) for x in args.out.split(",")]
    kinds = args.modes.split(",")
    for k in kinds:
        if k not in MODE_LABEL:
            ap.error("--modes: unknown mode %r" % k)

    cpus = sorted(os.sched_getaffinity(0))
    load_cpu = cpus[0]
    fwd_cpu = cpus[1] if len(cpus) > 1 else cpus[0]
    os.sched_setaffinity(0, {load_cpu})
    log("webrtc_fanout_bench: %s" % " ".join(sys.argv))
    log("load average at start: %s" % open("/proc/loadavg").read().strip())
    log("load (driver, master, sender, receivers) on CPU %d; sfud worker "
        "on CPU %d; payload %d bytes; %g s per point; %d rounds; SRTP "
        "suite %s" % (load_cpu, fwd_cpu, args.size, args.duration,
                      args.repeat, args.suite))

    tmp = tempfile.mkdtemp(prefix="webrtc_fanout_bench.")
    sfud = None
    wrx = None
    results = []
    try:
        sfud = fb.Sfud(args.builddir, tmp)
        os.sched_setaffinity(sfud.pid, {fwd_cpu})
        fb.set_nice(sfud.pid, fb.NICE_FWD)
        if args.debug_log:
            enable_debug_log(sfud, tmp)
        runner = Runner(args, fwd_cpu)
        if "webrtc" in kinds:
            wrx = WebrtcReceiver(args.receiver, max(ns),
                                 SUITE_PROFILE[args.suite], tmp,
                                 debug=args.debug_log)
            runner.wrx = wrx
            log("webrtc_receiver pid %d, fingerprint %s..." % (
                wrx.pid, wrx.fingerprint[:23]))
        modes = [Mode(sfud, k, args.suite) for k in kinds]
        log("sfud worker pid %d: VmRSS %d KiB with %d routers+producers" %
            (sfud.pid, fb.rss_kib(sfud.pid), len(modes)))

        for n in ns:
            rss0 = fb.rss_kib(sfud.pid)
            log("\nN=%d" % n)
            for m in modes:
                r0 = fb.rss_kib(sfud.pid)
                m.add_consumers(n, wrx)
                log("  %s: %d consumers, worker VmRSS +%d KiB" % (
                    m.name, n, fb.rss_kib(sfud.pid) - r0))
            log("  worker VmRSS %d -> %d KiB" % (rss0,
                                                 fb.rss_kib(sfud.pid)))
            for out in outs:
                rate = max(1, int(round(out / n)))
                log(" output %d/s (input %d/s)" % (rate * n, rate))
                for rnd in range(args.repeat):
                    for m in modes:
                        r = runner.measure(m, n, rate)
                        r["round"] = rnd
                        results.append(r)

        if args.perf:
            profile(runner, modes, ns[-1], max(1, int(round(outs[0] /
                                                            ns[-1]))),
                    args.perf)

        if wrx is not None:
            c, _ = wrx.stats()
            log("\nwebrtc_receiver: %d peers ready, %d SRTP packets "
                "decrypted and valid, %d failed; %d consent checks sent, "
                "%d answered, %d error responses" % (
                    c["ready"], c["verified"], c["verify_failed"],
                    c["checks_sent"], c["checks_ok"], c["check_errors"]))

        log("\n=== summary: worker CPU per forwarded packet, median of %d "
            "rounds (payload %d bytes, %g s per point, SRTP %s) ===" % (
                args.repeat, args.size, args.duration, args.suite))
        log("command: %s" % " ".join(sys.argv))
        log("kept: rounds with < %g%% loss and <= %g s backlog; ratios: "
            "of the medians [range of the per-round ratios]" % (
                fb.LOSS_LIMIT, fb.BACKLOG_LIMIT_S))
        log("%4s %8s %-15s %9s %7s %5s %8s %6s %-18s %s" % (
            "N", "out/s", "mode", "out/s", "loss%", "kept", "us/pkt",
            "cpu%", "ratio to (a)", "(c) to (b)"))

        def ratio(rs, base):
            """Ratio of the medians [range of the per-round ratios]."""
            if not rs or not base:
                return ""
            per = [r["us_per_pkt"] / b["us_per_pkt"]
                   for r in rs for b in base if b["round"] == r["round"]]
            return "%.2f [%.2f-%.2f]" % (
                median([r["us_per_pkt"] for r in rs]) /
                median([b["us_per_pkt"] for b in base]), min(per),
                max(per))
        for n in ns:
            for out in outs:
                rate = max(1, int(round(out / n)))
                pts = {k: [r for r in results if r["n"] == n and
                           r["rate"] == rate and r["mode"] == k]
                       for k in kinds}
                for k in kinds:
                    rs = pts[k]
                    kept = sum(1 for r in rs if fb.kept_up(r))
                    log("%4d %8d %-15s %9.0f %7.3f %2d/%-2d %8.3f %6.1f "
                        "%-18s %s" % (
                            n, rate * n, MODE_LABEL[k],
                            median([r["out_pps"] for r in rs]),
                            median([r["loss_total"] for r in rs]), kept,
                            len(rs), median([r["us_per_pkt"] for r in rs]),
                            median([r["cpu_pct"] for r in rs]),
                            ratio(rs, pts.get("plain"))
                            if k != "plain" else "",
                            ratio(rs, pts.get("srtp"))
                            if k == "webrtc" else ""))
        log("load average at end: %s" %
            open("/proc/loadavg").read().strip())
    finally:
        if wrx is not None:
            out = wrx.stop()
            last = [x for x in out.splitlines() if x.startswith("ports=")]
            if last:
                log("webrtc_receiver at exit: %s" % last[-1])
        if sfud is not None:
            sfud.stop()
        fb.stop_all()
        if args.keep_tmp or args.debug_log:
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, fb._on_signal)
    main()
