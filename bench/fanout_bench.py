#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# Fan-out benchmark: 1 producer -> N consumers on one sfud worker, against
# a minimal UDP forwarder (bench/udp_fanout) doing the same fan-out, in the
# same run. Results and how to read them: docs/benchmarks.md.
#
#   bench/fanout_bench.py BUILDDIR [--ns 1,10,100,500] [--duration 2]
#                         [--size 1000] [--rss-seconds 60] [--perf DIR]
#                         [--overload-seconds 5] [--quick]
#
# BUILDDIR holds built src/master/sfud, src/worker/sfud-worker and
# bench/{rtp_sender,rtp_receiver,udp_fanout}; nothing is built here.
#
# What it does, everything on 127.0.0.1:
# - pins itself (and so the sender, the receiver and the master) to one
#   CPU and the forwarder under test (sfud's worker, or udp_fanout) to the
#   other, when there are two or more, and renices the forwarder to -20
#   and the receiver to -10 (root only; other jobs on a shared machine
#   should not preempt them);
# - starts sfud with one worker from a config in a temp dir, creates a
#   router with Opus, a comedia PlainTransport with an Opus producer (fixed
#   SSRC), and for each N of --ns adds PlainTransports + consumers up to N,
#   each connected to one port of bench/rtp_receiver;
# - for each N, starts bench/udp_fanout with N sockets beside sfud and
#   sweeps input rates chosen so that the output rate (input x N) steps
#   through OUT_TARGETS, measuring sfud and udp_fanout in turn at each
#   rate (interleaved, so that both see the same load from the rest of a
#   shared machine); each point runs rtp_sender for --duration seconds,
#   and is measured again (up to 4 times) while other processes took more
#   than 20% of the forwarder's CPU. A point passes when the forwarder lost
#   < 1% and had at most 0.1 s of input left in its socket when the sender
#   stopped (so it kept up, rather than hid a deficit in its socket
#   buffer); a forwarder's sweep stops at the first rate that fails three
#   tries in a row;
# - then runs udp_fanout -m sendto once at the highest rate both passed;
# - at the first N >= 10 runs rtp_sender at 100k output packets/s for
#   --rss-seconds and samples the worker's VmRSS every 5 s; at N = 100 (or
#   the largest N <= 100) and at the largest N runs an overload
#   (rtp_sender unthrottled for 5 s) and samples the worker's CPU every
#   100 ms after it stops, until it has been idle for 1 s (at most 10 s);
# - with --perf DIR, profiles one point of each forwarder at N = 100 with
#   perf record (cpu-clock: VMs often lack hardware counters);
# - prints one line per point and a summary.
#
# Figures: forwarder CPU is utime+stime from /proc/PID/stat (clock
# ticks), from just before the sender starts until the forwarder has
# emptied its input socket and gone idle; /proc/PID/schedstat (ns on CPU)
# gives the same figure as a cross-check and drives the 100 ms samples of
# the overload check. Kernel drops are read per socket from /proc/net/udp,
# so that loss in the forwarder (its input socket overflowing: "in-drops";
# or its own drops: "inside") is told apart from loss in the receiver
# (its sockets overflowing: "rx-drops", a limit of the bench, not of the
# forwarder). "Forwarded" = received + rx-drops. Before the receiver
# stops, its sockets are drained (a datagram still queued at close is
# lost without any counter). "others on its CPU" is the time other
# processes took on the forwarder's CPU during the point (/proc/stat).
#
# Every process started here is stopped by pid (SIGTERM, then SIGKILL) on
# exit, including on errors and SIGINT/SIGTERM.
import argparse
import atexit
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

import msgpack

# Ports: the receiver takes RX_BASE.., sfud's transports RTC_PORTS, the
# baseline listens on FANOUT_PORT, the sender always sends from
# SENDER_PORT (the comedia producer transport locks onto it).
RX_BASE = 24000
RTC_MIN, RTC_MAX = 26000, 27999
FANOUT_PORT = 28000
SENDER_PORT = 28001

SSRC = 0x11223344
PT = 111
OUT_TARGETS = [50000, 100000, 200000, 300000, 400000, 450000, 500000,
               550000, 600000, 700000, 800000, 1000000, 1300000]
LOSS_LIMIT = 1.0       # percent
TRIES = 3               # tries of a rate before calling it too high
BACKLOG_LIMIT_S = 0.1   # input still queued after the sender stopped
# A point during which other processes took more than NOISY_PCT of the
# forwarder's CPU is measured again, up to NOISY_RETRIES times in all.
NOISY_PCT = 20.0
NOISY_RETRIES = 4
# Scheduling priority (nice) of the forwarder under test and of the
# receiver: other jobs on a shared machine should not preempt them.
NICE_FWD = -20
NICE_RX = -10
CLK_TCK = os.sysconf("SC_CLK_TCK")

_procs = {}             # pid -> Popen: everything still to stop


def log(*a):
    print(*a, flush=True)


# --- processes ---

def start(argv, cpu=None, nice=None, **kw):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, **kw)
    _procs[p.pid] = p
    if cpu is not None:
        os.sched_setaffinity(p.pid, {cpu})
    if nice is not None:
        set_nice(p.pid, nice)
    return p


def set_nice(pid, nice):
    try:
        os.setpriority(os.PRIO_PROCESS, pid, nice)
    except OSError as e:       # not root: say so, run anyway
        log("  (cannot renice %d to %d: %s)" % (pid, nice, e))


def stop(p, sig=signal.SIGTERM, timeout=5.0):
    """Signals p by pid, waits, SIGKILLs past timeout; returns stdout."""
    if p is None:
        return ""
    out = ""
    if p.poll() is None:
        try:
            os.kill(p.pid, sig)
        except ProcessLookupError:
            pass
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
    _procs.pop(p.pid, None)
    return out or ""


def stop_all():
    for p in list(_procs.values()):
        try:
            stop(p, timeout=3.0)
        except Exception as e:
            sys.stderr.write("fanout_bench: stopping %d: %s\n" % (p.pid, e))


atexit.register(stop_all)


def _on_signal(signo, frame):
    raise SystemExit(128 + signo)


signal.signal(signal.SIGTERM, _on_signal)


def wait_line(p, pattern, timeout=10.0):
    """Reads p's stdout (a pipe, text mode) until a line matches."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([p.stdout], [], [], 0.1)
        if r:
            line = p.stdout.readline()
            if not line:
                break
            if rx.search(line):
                return line
    raise RuntimeError("%s: no line matching %r" % (p.args[0], pattern))


def kv(line):
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line)}


# --- /proc ---

def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])     # utime + stime


def cpu_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_stat(cpu):
    """(busy, steal) ticks of one CPU from /proc/stat."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu%d " % cpu):
                v = [int(x) for x in line.split()[1:]]
                # user nice system idle iowait irq softirq steal ...
                return v[0] + v[1] + v[2] + v[5] + v[6], v[7]
    return 0, 0


def wait_idle(pid, limit_s=10.0, idle_pct=5.0):
    """Waits until pid used < idle_pct of a CPU over 100 ms (it has
    drained its input); returns the seconds waited."""
    t0 = time.monotonic()
    prev = cpu_ns(pid)
    while True:
        time.sleep(0.1)
        now = cpu_ns(pid)
        if (now - prev) / 1e6 < idle_pct or \
                time.monotonic() - t0 > limit_s:
            return time.monotonic() - t0
        prev = now


def udp_queued(ports):
    """Bytes waiting in the receive queues of the sockets bound to ports."""
    ports = set(ports)
    total = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            col = line.split()
            if int(col[1].split(":")[1], 16) in ports:
                total += int(col[4].split(":")[1], 16)
    return total


def wait_drained(ports, limit_s=10.0):
    """Waits until nothing is queued on ports: a datagram still queued
    when its socket closes is lost without a counter (UDP counts
    InDatagrams when they are read)."""
    t0 = time.monotonic()
    while udp_queued(ports) and time.monotonic() - t0 < limit_s:
        time.sleep(0.02)
    return time.monotonic() - t0


def udp_drops(ports):
    """Sum of the drop counters of the 127.0.0.1 sockets bound to ports."""
    ports = set(ports)
    total = 0
    with open("/proc/net/udp") as f:
        next(f)
        for line in f:
            col = line.split()
            port = int(col[1].split(":")[1], 16)
            if port in ports:
                total += int(col[-1])
    return total


# --- admin socket ---

class Admin:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(20)
        self.s.connect(path)
        self.id = 0
        self.buf = b""

    def call(self, method, data=None, handler_id=None, worker=None):
        self.id += 1
        msg = {"id": self.id, "method": method}
        if handler_id is not None:
            msg["handlerId"] = handler_id
        if worker is not None:
            msg["worker"] = worker
        if data is not None:
            msg["data"] = data
        b = msgpack.packb(msg, use_bin_type=True)
        self.s.sendall(struct.pack(">I", len(b)) + b)
        while True:
            while len(self.buf) < 4 or \
                    len(self.buf) < 4 + struct.unpack(">I", self.buf[:4])[0]:
                chunk = self.s.recv(1 << 16)
                if not chunk:
                    raise RuntimeError("sfud closed the admin connection")
                self.buf += chunk
            n = struct.unpack(">I", self.buf[:4])[0]
            m = msgpack.unpackb(self.buf[4:4 + n], raw=False,
                                strict_map_key=False)
            self.buf = self.buf[4 + n:]
            if m.get("id") == self.id and "targetId" not in m:
                if not m.get("accepted"):
                    raise RuntimeError("%s: %s: %s" % (
                        method, m.get("error"), m.get("reason")))
                return m.get("data") or {}


# --- the forwarders under test ---

class Sfud:
    name = "sfud"

    def __init__(self, builddir, tmp):
        self.tmp = tmp
        self.sock = os.path.join(tmp, "sfud.sock")
        conf = os.path.join(tmp, "sfud.conf")
        with open(conf, "w") as f:
            f.write("daemon off;\n"
                    "pid %s/sfud.pid;\n"
                    "error_log %s/sfud.log warn;\n"
                    "worker_processes 1;\n"
                    "admin {\n    listen %s;\n}\n"
                    "worker {\n    log_level warn;\n"
                    "    rtc_ports %d-%d;\n}\n"
                    % (tmp, tmp, self.sock, RTC_MIN, RTC_MAX))
        env = dict(os.environ)
        env["SFUD_WORKER_BIN"] = os.path.join(builddir, "src", "worker",
                                              "sfud-worker")
        self.master = start([os.path.join(builddir, "src", "master", "sfud"),
                             "-c", conf], env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=open(os.path.join(tmp, "sfud.stderr"),
                                        "w"))
        deadline = time.monotonic() + 10
        while True:
            try:
                self.admin = Admin(self.sock)
                break
            except OSError:
                if time.monotonic() > deadline or \
                        self.master.poll() is not None:
                    raise RuntimeError("sfud did not start: see %s" % tmp)
                time.sleep(0.05)
        while True:
            ws = self.admin.call("master.workers")["workers"]
            if ws and ws[0].get("state") == "running":
                self.pid = ws[0]["pid"]
                break
            if time.monotonic() > deadline:
                raise RuntimeError("sfud worker not running: %r" % ws)
            time.sleep(0.05)
        self.consumers = 0

    def setup_producer(self):
        a = self.admin
        r = a.call("worker.createRouter", {
            "routerId": "bench-router",
            "mediaCodecs": [{"kind": "audio", "mimeType": "audio/opus",
                             "clockRate": 48000, "channels": 2}]})
        self.caps = r["rtpCapabilities"]
        t = a.call("router.createPlainTransport", {
            "transportId": "bench-in", "listenInfo": {"ip": "127.0.0.1"},
            "rtcpMux": True, "comedia": True}, handler_id="bench-router")
        self.port = t["tuple"]["localPort"]
        a.call("transport.produce", {
            "producerId": "bench-producer", "kind": "audio",
            "rtpParameters": {
                "codecs": [{"mimeType": "audio/opus", "payloadType": PT,
                            "clockRate": 48000, "channels": 2,
                            "parameters": {}, "rtcpFeedback": []}],
                "headerExtensions": [],
                "encodings": [{"ssrc": SSRC}],
                "rtcp": {"cname": "bench", "reducedSize": True}}},
            handler_id="bench-in")

    def add_consumers(self, n):
        a = self.admin
        while self.consumers < n:
            i = self.consumers
            tid = "bench-out-%d" % i
            a.call("router.createPlainTransport", {
                "transportId": tid, "listenInfo": {"ip": "127.0.0.1"},
                "rtcpMux": True, "comedia": False},
                handler_id="bench-router")
            a.call("transport.connect", {"ip": "127.0.0.1",
                                         "port": RX_BASE + i},
                   handler_id=tid)
            a.call("transport.consume", {
                "consumerId": "bench-consumer-%d" % i,
                "producerId": "bench-producer",
                "rtpCapabilities": self.caps}, handler_id=tid)
            self.consumers += 1

    def stop(self):
        try:
            self.admin.call("master.stop")
        except Exception:
            pass
        stop(self.master, signal.SIGTERM, timeout=10)
        # The master stops its worker; make sure, by pid.
        deadline = time.monotonic() + 5
        while os.path.exists("/proc/%d" % self.pid):
            if time.monotonic() > deadline:
                try:
                    os.kill(self.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                break
            time.sleep(0.05)


class Fanout:
    def __init__(self, builddir, n, cpu, mode="mmsg"):
        self.name = "udp_fanout" if mode == "mmsg" else "udp_fanout/sendto"
        self.port = FANOUT_PORT
        self.p = start([os.path.join(builddir, "bench", "udp_fanout"),
                        "-m", mode, str(FANOUT_PORT), str(n), "127.0.0.1",
                        str(RX_BASE)], cpu=cpu, nice=NICE_FWD,
                       stdout=subprocess.PIPE,
                       text=True)
        self.ready = wait_line(self.p, "^ready").strip()
        self.pid = self.p.pid

    def stop(self):
        return stop(self.p)


# --- one measurement ---

class Bench:
    def __init__(self, args):
        self.args = args
        self.b = args.builddir
        # The next RTP sequence number per destination port: each
        # forwarder's stream goes on where it stopped, so that sfud's
        # producer never sees a jump (RFC 3550 A.1 discards the first
        # packet after one over 3000) because the baseline ran between.
        self.seq = {}
        self.results = []

    def receiver(self, n, seconds=None):
        argv = [os.path.join(self.b, "bench", "rtp_receiver")]
        if seconds:
            argv += ["-d", str(seconds)]
        p = start(argv + [str(RX_BASE), str(n)], nice=NICE_RX,
                  stdout=subprocess.PIPE, text=True)
        wait_line(p, "^ready")
        return p

    def sender(self, port, rate, seconds):
        argv = [os.path.join(self.b, "bench", "rtp_sender"),
                "-r", str(rate), "-d", str(seconds),
                "-s", str(self.args.size), "-p", str(PT), "-S", str(SSRC),
                "-q", str(self.seq.get(port, 0)), "-l", str(SENDER_PORT),
                "127.0.0.1", str(port)]
        p = start(argv, stdout=subprocess.PIPE, text=True)
        return p

    def sender_done(self, p, seconds, port):
        try:
            out, _ = p.communicate(timeout=seconds + 10)
        finally:
            stop(p)
        r = kv(out)
        self.seq[port] = int(r["seq_next"])
        return r

    def measure(self, fwd, n, rate, perf_out=None):
        d = self.args.duration
        rx_ports = range(RX_BASE, RX_BASE + n)
        rx = self.receiver(n)
        in_drops0 = udp_drops([fwd.port])
        rx_drops0 = udp_drops(rx_ports)
        rss0 = rss_kib(fwd.pid)
        t0, ns0 = cpu_ticks(fwd.pid), cpu_ns(fwd.pid)
        busy0, steal0 = cpu_stat(self.fwd_cpu)
        w0 = time.monotonic()
        perf = None
        if perf_out:
            perf = start(["perf", "record", "-q", "-e", "cpu-clock", "-F",
                          "4000", "-g", "-o", perf_out, "-p", str(fwd.pid)],
                         stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        s = self.sender(fwd.port, rate, d)
        snd = self.sender_done(s, d, fwd.port)
        if perf:
            stop(perf, signal.SIGINT, timeout=30)
        # The forwarder's backlog is part of the point: wait for it.
        backlog = wait_drained([fwd.port])
        drain = backlog + wait_idle(fwd.pid)
        t1, ns1 = cpu_ticks(fwd.pid), cpu_ns(fwd.pid)
        busy1, steal1 = cpu_stat(self.fwd_cpu)
        wall = time.monotonic() - w0
        wait_drained(rx_ports)
        rss1 = rss_kib(fwd.pid)
        in_drops = udp_drops([fwd.port]) - in_drops0
        rx_drops = udp_drops(rx_ports) - rx_drops0
        r = kv(stop(rx))
        sent = snd["sent"]
        expected = sent * n
        got = r["packets"]
        fwd_pkts = got + rx_drops
        cpu_us = (t1 - t0) * 1e6 / CLK_TCK
        res = {
            "fwd": fwd.name, "n": n, "rate": rate, "sent": sent,
            "in_pps": snd["pps"], "received": got,
            # Packets out over the time it took to forward them: the
            # sending time plus the time the forwarder needed to empty
            # its input socket afterwards (a backlog means it fell behind).
            "out_pps": got / (snd["seconds"] + backlog),
            "backlog_s": backlog,
            "loss_total": 100.0 * (expected - got) / expected,
            # Loss the forwarder is to blame for: what never reached the
            # receiver's sockets.
            "loss_fwd": 100.0 * max(0.0, expected - fwd_pkts) / expected,
            "in_drops": in_drops, "rx_drops": rx_drops,
            # Neither socket dropped them: the forwarder did.
            "inside": max(0.0, expected - fwd_pkts - in_drops * n),
            "gaps_lost": r["lost"],
            "cpu_us": cpu_us,
            "us_per_pkt": cpu_us / fwd_pkts if fwd_pkts else float("nan"),
            # The same from schedstat (ns on CPU), as a cross-check.
            "us_per_pkt_ns": (ns1 - ns0) / 1e3 / fwd_pkts if fwd_pkts
            else float("nan"),
            "cpu_pct": 100.0 * cpu_us / 1e6 / wall,
            # Time others took on the forwarder's CPU (shared machine).
            "other_pct": 100.0 * max(0, (busy1 - busy0) - (t1 - t0)) /
            CLK_TCK / wall,
            "steal_pct": 100.0 * (steal1 - steal0) / CLK_TCK / wall,
            "drain_s": drain,
            "rss0": rss0, "rss1": rss1,
        }
        self.results.append(res)
        log("  %-18s N=%-3d in=%7.0f/s out=%8.0f/s loss=%5.2f%% "
            "(fwd %5.2f%%: in-drops %d, inside %d; rx-drops %d) "
            "cpu=%5.1f%% %.3f us/pkt (schedstat %.3f) rss=%d KiB; "
            "backlog %.2fs, others on its CPU %.0f%%, steal %.0f%%" % (
                res["fwd"], n, res["in_pps"], res["out_pps"],
                res["loss_total"], res["loss_fwd"], in_drops,
                res["inside"], rx_drops, res["cpu_pct"],
                res["us_per_pkt"], res["us_per_pkt_ns"], rss1,
                backlog, res["other_pct"], res["steal_pct"]))
        return res

    def measure_quiet(self, fwd, n, rate):
        """measure(), again (at most NOISY_RETRIES times) while other
        processes took more than NOISY_PCT of the forwarder's CPU."""
        for _ in range(NOISY_RETRIES):
            r = self.measure(fwd, n, rate)
            if r["other_pct"] <= NOISY_PCT:
                break
            log("    (others took %.0f%% of its CPU: again)" %
                r["other_pct"])
        return r

    def sweep(self, fwds, n, rates):
        """Interleaved sweeps: at each rate, each forwarder of fwds in
        turn (so that they see the same load from the rest of the
        machine), each until a rate fails TRIES times in a row; returns
        one list of results per forwarder (the last try of each rate)."""
        out = {f: [] for f in fwds}
        live = list(fwds)
        for rate in rates:
            for fwd in list(live):
                for _ in range(TRIES):
                    r = self.measure_quiet(fwd, n, rate)
                    if kept_up(r):
                        break
                out[fwd].append(r)
                if not kept_up(r):
                    live.remove(fwd)
            if not live:
                break
        return [out[f] for f in fwds]

    # --- the long checks ---

    def rss_run(self, fwd, n, rate, seconds):
        log("\nRSS over %ds: %s, N=%d, input %d/s (output %d/s)" % (
            seconds, fwd.name, n, rate, rate * n))
        rx = self.receiver(n)
        rx_drops0 = udp_drops(range(RX_BASE, RX_BASE + n))
        in_drops0 = udp_drops([fwd.port])
        t0 = cpu_ticks(fwd.pid)
        samples = [(0.0, rss_kib(fwd.pid))]
        s = self.sender(fwd.port, rate, seconds)
        start_t = time.monotonic()
        step = 5.0
        next_t = step
        while s.poll() is None:
            el = time.monotonic() - start_t
            if el >= next_t:
                samples.append((el, rss_kib(fwd.pid)))
                next_t += step
            time.sleep(0.05)
        snd = self.sender_done(s, seconds, fwd.port)
        samples.append((time.monotonic() - start_t, rss_kib(fwd.pid)))
        wait_drained([fwd.port])
        wait_idle(fwd.pid)
        t1 = cpu_ticks(fwd.pid)
        wait_drained(range(RX_BASE, RX_BASE + n))
        rx_drops = udp_drops(range(RX_BASE, RX_BASE + n)) - rx_drops0
        in_drops = udp_drops([fwd.port]) - in_drops0
        r = kv(stop(rx))
        fwd_pkts = r["packets"] + rx_drops
        log("  sent %d, received %d (%.3f%% loss: in-drops %d, rx-drops "
            "%d), %.3f us/pkt" % (
                snd["sent"], r["packets"],
                100.0 * (snd["sent"] * n - r["packets"]) / (snd["sent"] * n),
                in_drops, rx_drops, (t1 - t0) * 1e6 / CLK_TCK / fwd_pkts))
        log("  VmRSS KiB: " + " ".join("%.0fs:%d" % x for x in samples))
        return samples

    def overload(self, fwd, n, seconds=5.0):
        log("\nOverload: %s, N=%d, sender unthrottled for %gs" % (
            fwd.name, n, seconds))
        rx = self.receiver(n)
        time.sleep(0.5)
        rss_before = rss_kib(fwd.pid)
        idle0 = cpu_ns(fwd.pid)
        time.sleep(0.5)
        idle_pct = (cpu_ns(fwd.pid) - idle0) / 0.5e9 * 100
        in_drops0 = udp_drops([fwd.port])
        c0 = cpu_ns(fwd.pid)
        s = self.sender(fwd.port, 0, seconds)
        rss_peak = 0
        while s.poll() is None:
            rss_peak = max(rss_peak, rss_kib(fwd.pid))
            time.sleep(0.05)
        t_stop = time.monotonic()
        c1 = cpu_ns(fwd.pid)
        snd = self.sender_done(s, seconds, fwd.port)
        samples = []
        prev_t, prev_c = t_stop, c1
        # Until idle for a whole second, or 10 s.
        while time.monotonic() - t_stop < 10.0 and not (
                len(samples) >= 10 and
                all(p < 5.0 for _, p in samples[-10:])):
            time.sleep(0.1)
            now, c = time.monotonic(), cpu_ns(fwd.pid)
            samples.append((now - t_stop, 100.0 * (c - prev_c) /
                            ((now - prev_t) * 1e9)))
            rss_peak = max(rss_peak, rss_kib(fwd.pid))
            prev_t, prev_c = now, c
        rss_after = rss_kib(fwd.pid)
        in_drops = udp_drops([fwd.port]) - in_drops0
        wait_drained([fwd.port])
        wait_idle(fwd.pid)
        wait_drained(range(RX_BASE, RX_BASE + n))
        r = kv(stop(rx))
        idle_at = None
        for i, (t, pct) in enumerate(samples):
            if all(p < 5.0 for _, p in samples[i:]):
                idle_at = samples[i - 1][0] if i else 0.0
                break
        log("  idle before: %.1f%% CPU; during: %.0f%% CPU; sent %d "
            "(%.0f/s), dropped at the worker's input socket %d, "
            "received %d (%.0f/s out)" % (
                idle_pct, 100.0 * (c1 - c0) / (seconds * 1e9), snd["sent"],
                snd["pps"], in_drops, r["packets"],
                r["packets"] / seconds))
        log("  CPU% per 100 ms after stop: " +
            " ".join("%.0f" % p for _, p in samples))
        log("  back to idle (< 5%% CPU for good) %s after the load stopped"
            % ("not within 10 s" if idle_at is None else
               "%.0f ms" % (idle_at * 1000)))
        log("  VmRSS KiB: before %d, peak %d, 1 s after idle %d" % (
            rss_before, rss_peak, rss_after))
        return idle_at, rss_before, rss_peak, rss_after


def profile(bench, args, sfud, n, cpu):
    """One point per forwarder under perf record; prints where the time
    goes (perf report, by DSO and by symbol)."""
    os.makedirs(args.perf, exist_ok=True)
    rate = max(1, 300000 // n)
    fo = Fanout(args.builddir, n, cpu)
    for fwd in (sfud, fo):
        out = os.path.join(args.perf, "perf.%s.data" %
                           fwd.name.replace("/", "_"))
        log("\nperf: %s, N=%d, input %d/s -> %s" % (fwd.name, n, rate, out))
        bench.measure(fwd, n, rate, perf_out=out)
        for sort, lines in (("dso", 6), ("sym", 40)):
            r = subprocess.run(["perf", "report", "-i", out, "--stdio",
                                "--no-children", "--sort", sort],
                               capture_output=True, text=True)
            rows = [x for x in r.stdout.splitlines()
                    if x.strip() and not x.startswith("#")
                    and re.match(r"\s+[0-9.]+%", x)]
            for x in rows[:lines]:
                log("  " + x.strip())
    fo.stop()


def kept_up(r):
    """A point passes with < LOSS_LIMIT loss caused by the forwarder and
    at most BACKLOG_LIMIT_S of input left in its socket at the end."""
    return r["loss_fwd"] < LOSS_LIMIT and r["backlog_s"] <= BACKLOG_LIMIT_S


def rates_for(n, targets):
    out = []
    for t in targets:
        r = max(1, int(round(t / n)))
        if r not in out:
            out.append(r)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("builddir")
    ap.add_argument("--ns", default="1,10,100,500")
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--size", type=int, default=1000,
                    help="RTP payload bytes")
    ap.add_argument("--rss-seconds", type=int, default=60)
    ap.add_argument("--overload-seconds", type=float, default=5.0)
    ap.add_argument("--perf", metavar="DIR",
                    help="also profile both forwarders (perf record -g, "
                    "cpu-clock) at N=100 (or the largest N), 300k "
                    "packets/s out, into DIR/perf.*.data")
    ap.add_argument("--quick", action="store_true",
                    help="1 s points, 10 s RSS run")
    args = ap.parse_args()
    if args.quick:
        args.duration = 1.0
        args.rss_seconds = 10
    args.builddir = os.path.abspath(args.builddir)
    ns = [int(x) for x in args.ns.split(",")]

    cpus = sorted(os.sched_getaffinity(0))
    load_cpu = cpus[0]
    fwd_cpu = cpus[1] if len(cpus) > 1 else cpus[0]
    os.sched_setaffinity(0, {load_cpu})
    log("fanout_bench: %s" % " ".join(sys.argv))
    log("load average at start: %s" % open("/proc/loadavg").read().strip())
    log("load (driver, master, sender, receiver) on CPU %d; forwarder "
        "under test on CPU %d; payload %d bytes; %g s per point; "
        "clock ticks %d/s" % (load_cpu, fwd_cpu, args.size, args.duration,
                              CLK_TCK))

    tmp = tempfile.mkdtemp(prefix="fanout_bench.")
    bench = Bench(args)
    bench.fwd_cpu = fwd_cpu
    sfud = None
    summary = []
    rss_samples = None
    over = {}               # N -> overload figures
    try:
        sfud = Sfud(args.builddir, tmp)
        os.sched_setaffinity(sfud.pid, {fwd_cpu})
        set_nice(sfud.pid, NICE_FWD)
        rss_start = rss_kib(sfud.pid)
        sfud.setup_producer()
        rss_producer = rss_kib(sfud.pid)
        log("sfud worker pid %d: VmRSS %d KiB at start, %d KiB with "
            "router+producer" % (sfud.pid, rss_start, rss_producer))

        rss_n = {}
        for n in ns:
            sfud.add_consumers(n)
            rss_n[n] = rss_kib(sfud.pid)
            log("\nN=%d: worker VmRSS %d KiB after creating the consumers "
                "(%.1f KiB per consumer over router+producer)" % (
                    n, rss_n[n], (rss_n[n] - rss_producer) / n))
            rates = rates_for(n, OUT_TARGETS)
            fo = Fanout(args.builddir, n, fwd_cpu)
            log("  baseline: %s" % fo.ready)
            s_res, b_res = bench.sweep([sfud, fo], n, rates)
            fo.stop()

            # The reference syscall pattern, at the highest common rate.
            common = [r for r in s_res if kept_up(r) and
                      any(b["rate"] == r["rate"] and kept_up(b)
                          for b in b_res)]
            ref = common[-1]["rate"] if common else rates[0]
            fs = Fanout(args.builddir, n, fwd_cpu, mode="sendto")
            st = bench.measure(fs, n, ref)
            fs.stop()
            summary.append((n, s_res, b_res, st, ref,
                            rss_kib(sfud.pid), rss_n[n]))

            if args.perf and n == max([x for x in ns if x <= 100] or ns):
                profile(bench, args, sfud, n, fwd_cpu)

            if n >= 10 and rss_samples is None and args.rss_seconds > 0:
                rate = max(1, 100000 // n)   # 100k packets/s out
                rss_samples = bench.rss_run(sfud, n, rate, args.rss_seconds)
            if args.overload_seconds > 0 and (
                    n == max([x for x in ns if x <= 100] or [ns[0]]) or
                    n == max(ns)):
                over[n] = bench.overload(sfud, n, args.overload_seconds)

        log("\n=== summary (payload %d bytes, %g s per point, loss limit "
            "%g%%) ===" % (args.size, args.duration, LOSS_LIMIT))
        log("max out/s: highest output rate that kept up; us/pkt@ref and "
            "ratio: at the highest input\nrate both kept up with; "
            "median: of the ratios at every rate both kept up with;\n"
            "loaded: mean us/pkt of each forwarder's points at >= 90% "
            "CPU (mean CPU given),\nand their ratio")
        log("%4s %-20s %10s %10s %10s %6s %6s %13s %6s %8s %8s" % (
            "N", "forwarder", "max out/s", "us/pkt@ref", "ref out/s",
            "ratio", "median", "loaded us/pkt", "ratio", "RSS KiB",
            "KiB/cons"))
        for n, s_res, b_res, st, ref, rss_after, rss_c in summary:
            def loaded(res):
                """Mean us/pkt of the points at >= 90% CPU (else the
                busiest point): the forwarder ran flat out, so wakeups and
                idle time do not dilute the per-packet cost."""
                hot = [r for r in res if r["cpu_pct"] >= 90.0] or \
                    [max(res, key=lambda r: r["cpu_pct"])]
                return (sum(r["us_per_pkt"] for r in hot) / len(hot),
                        sum(r["cpu_pct"] for r in hot) / len(hot))

            def median(xs):
                xs = sorted(xs)
                return xs[len(xs) // 2] if xs else float("nan")
            ratios = []
            for r in s_res:
                b = [x for x in b_res if x["rate"] == r["rate"]]
                if kept_up(r) and b and kept_up(b[-1]):
                    ratios.append(r["us_per_pkt"] / b[-1]["us_per_pkt"])
            (sl, sc), (bl, bc) = loaded(s_res), loaded(b_res)
            def best(res):
                ok = [r for r in res if kept_up(r)]
                return max([r["out_pps"] for r in ok] or [0])

            def at(res, rate):
                x = [r for r in res if r["rate"] == rate]
                return x[-1] if x else None
            s_ref, b_ref = at(s_res, ref), at(b_res, ref)
            ratio = s_ref["us_per_pkt"] / b_ref["us_per_pkt"] \
                if s_ref and b_ref else float("nan")
            log("%4d %-20s %10.0f %10.3f %10.0f %6.2f %6.2f %6.3f (%3.0f%%) "
                "%6.2f %8d %8.1f" % (
                    n, "sfud", best(s_res),
                    s_ref["us_per_pkt"] if s_ref else float("nan"),
                    s_ref["out_pps"] if s_ref else 0, ratio,
                    median(ratios), sl, sc, sl / bl, rss_after,
                    (rss_c - rss_producer) / n))
            log("%4d %-20s %10.0f %10.3f %10.0f %6s %6s %6.3f (%3.0f%%) "
                "%6s" % (
                    n, "udp_fanout (mmsg)", best(b_res),
                    b_ref["us_per_pkt"] if b_ref else float("nan"),
                    b_ref["out_pps"] if b_ref else 0, "1.00", "1.00",
                    bl, bc, "1.00"))
            log("%4d %-20s %10s %10.3f %10.0f %6.2f" % (
                n, "udp_fanout (sendto)", "-", st["us_per_pkt"],
                st["out_pps"], st["us_per_pkt"] / b_ref["us_per_pkt"]
                if b_ref else float("nan")))
        log("load average at end: %s" %
            open("/proc/loadavg").read().strip())
        if rss_samples:
            log("RSS flatness: " + " ".join("%.0fs:%d KiB" % x
                                            for x in rss_samples))
        for n, (idle_at, b, peak, a) in sorted(over.items()):
            log("overload at N=%d: idle %s after the load stopped; VmRSS "
                "before %d, peak %d, after %d KiB" % (
                    n, "not within 10 s" if idle_at is None else
                    "%.0f ms" % (idle_at * 1000), b, peak, a))
    finally:
        if sfud is not None:
            sfud.stop()
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
