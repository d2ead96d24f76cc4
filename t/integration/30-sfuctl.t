#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# sfuctl against a real sfud with two workers: the status and workers
# tables and their --json forms, the socket found through -s, -c CONFIG and
# $SFUD_SOCKET, call (worker.dump, worker.ping, JSON-DATA in, error
# responses out as "ERRORNAME: reason" with exit 1, bad JSON as a usage
# error with exit 2), watch (a worker killed with SIGKILL shows up as
# worker.died then worker.spawned; event filters; SIGINT and the daemon's
# exit end it with status 0), reload, stop (the daemon exits 0), and a
# missing socket (exit 2 naming the path). A small fake admin server in
# this file then checks what only a scripted peer can show: the exact
# request sfuctl sends, MessagePack -> JSON conversion of every type,
# notifications and stale responses skipped by call, a response timeout,
# and a frame over the 4 MiB limit.
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402

RUN_TIMEOUT = 20        # seconds for any one sfuctl run
STATUS_KEYS = ["version", "pid", "state", "uptimeMs", "startedAt",
               "configPath", "generation", "reloads", "workers",
               "adminClients", "invalidMessages", "droppedClients",
               "pendingRequests"]
WORKER_KEYS = ["index", "pid", "state", "generation", "restarts",
               "startedAt", "routers", "routerIds", "entities",
               "webRtcServerId", "webRtcServerError"]


def sfuctl_path():
    return os.path.join(sfu.builddir(), "src", "ctl", "sfuctl")


def ctl_env(extra=None):
    env = dict(os.environ)
    env.pop("SFUD_SOCKET", None)
    env.pop("POSIXLY_CORRECT", None)
    env.update(extra or {})
    return env


def run(args, env=None):
    """Runs sfuctl to the end: (exit code, stdout, stderr)."""
    sys.stdout.flush()
    try:
        r = subprocess.run([sfuctl_path()] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=RUN_TIMEOUT,
                           env=ctl_env(env))
    except subprocess.TimeoutExpired as e:
        tap.diag("sfuctl %s: still running after %ds" %
                 (" ".join(args), RUN_TIMEOUT))
        return None, e.stdout or "", e.stderr or ""
    return r.returncode, r.stdout, r.stderr


def run_json(args, name):
    """Runs sfuctl expecting exit 0 and JSON on stdout; returns it."""
    code, out, err = run(args)
    tap.is_(code, 0, name + ": exit 0")
    try:
        return json.loads(out)
    except ValueError as e:
        tap.diag("%s: stdout is not JSON (%s): %r; stderr %r" %
                 (name, e, out, err))
        return None


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


class Watch:
    """sfuctl watch running in the background; lines read with deadlines."""

    def __init__(self, args):
        sys.stdout.flush()
        self.proc = subprocess.Popen([sfuctl_path()] + list(args),
                                     stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=ctl_env())
        self.buf = b""
        self.lines = []         # every line read so far, parsed or raw
        self.stderr = ""

    def _read(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return False
        data = os.read(self.proc.stdout.fileno(), 65536)
        if not data:
            return None
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            text = line.decode("utf-8", "replace")
            try:
                self.lines.append(json.loads(text))
            except ValueError:
                self.lines.append(text)
        return True

    def wait_for(self, pred, timeout=10):
        """The first line read from now on (or already read and not yet
        taken) for which pred is true; None at the deadline or EOF."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.lines):
                if pred(m):
                    del self.lines[:i + 1]
                    return m
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if self._read(min(left, 0.1)) is None:
                # EOF: look once more at what came with it.
                for i, m in enumerate(self.lines):
                    if pred(m):
                        del self.lines[:i + 1]
                        return m
                return None

    def drain(self, timeout=0.3):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._read(0.05) is None:
                break
        out = self.lines
        self.lines = []
        return out

    def finish(self, timeout=10):
        """Waits for the exit (reading everything); returns the code, or
        None after killing it at the deadline."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            code = None
        else:
            code = self.proc.returncode
        rest = self.proc.stdout.read()
        if rest:
            self.buf += rest + b"\n"
            self._read(0)
        self.stderr = self.proc.stderr.read().decode("utf-8", "replace")
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def event_is(name, **data):
    def pred(m):
        if not isinstance(m, dict) or m.get("event") != name:
            return False
        d = m.get("data") or {}
        return all(d.get(k) == v for k, v in data.items())
    return pred


# --- without a daemon ---

def check_without_daemon(tmp):
    code, out, err = run(["-h"])
    tap.is_(code, 0, "-h: exit 0")
    tap.like(out, r"^usage: sfuctl ", "-h: usage on stdout")
    for cmd in ("status", "workers", "reload", "stop", "quit", "call",
                "watch"):
        tap.like(out, r"\n  %s\b" % cmd, "-h: lists %s" % cmd)

    code, out, err = run([])
    tap.is_(code, 2, "no command: exit 2")
    tap.like(err, r"no command", "no command: says so")

    code, out, err = run(["frobnicate"])
    tap.is_(code, 2, "unknown command: exit 2")
    tap.like(err, r'unknown command "frobnicate"', "unknown command: named")

    code, out, err = run(["status", "--worker", "0"])
    tap.is_(code, 2, "--worker without call: exit 2")

    code, out, err = run(["-t", "soon", "status"])
    tap.is_(code, 2, "-t soon: exit 2")

    missing = os.path.join(tmp, "no-such-dir", "sfud.sock")
    code, out, err = run(["-s", missing, "status"])
    tap.is_(code, 2, "-s missing socket: exit 2")
    tap.ok(missing in err, "-s missing socket: the path is named")
    tap.like(err, r"No such file or directory",
             "-s missing socket: strerror")
    tap.is_(out, "", "-s missing socket: nothing on stdout")

    # Bad JSON-DATA is a usage error before any connection is tried.
    code, out, err = run(["-s", missing, "call", "worker.dump", "--worker",
                          "0", "{nope"])
    tap.is_(code, 2, "call bad JSON, no daemon: exit 2")
    tap.like(err, r"JSON-DATA", "call bad JSON, no daemon: names JSON-DATA")


# --- against sfud ---

def check_status(m):
    code, out, err = run(["-s", m.sock_path, "status"])
    tap.is_(code, 0, "status: exit 0")
    rows = dict(re.findall(r"^(\S+(?: \S+)?)\s{2,}(.*)$", out, re.M))
    tap.is_(rows.get("pid"), str(m.pid), "status: pid row")
    tap.is_(rows.get("state"), "running", "status: state row")
    tap.is_(rows.get("config"), m.conf_path, "status: config row")
    tap.like(rows.get("workers", ""), r"^2 running, 0 starting, 0 draining "
             r"\(2 configured, 2 total\)$", "status: workers row")
    tap.like(rows.get("started", ""),
             r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$",
             "status: started row is an ISO 8601 time")
    tap.like(rows.get("uptime", ""), r"^\d+[smhd]", "status: uptime row")

    d = run_json(["-s", m.sock_path, "--json", "status"], "status --json")
    d = d if isinstance(d, dict) else {}
    tap.is_(sorted(d), sorted(STATUS_KEYS), "status --json: every field")
    tap.is_(d.get("pid"), m.pid, "status --json: pid")
    tap.is_(d.get("state"), "running", "status --json: state")
    tap.is_(d.get("configPath"), m.conf_path, "status --json: configPath")
    w = d.get("workers") if isinstance(d.get("workers"), dict) else {}
    tap.is_((w.get("configured"), w.get("running"), w.get("total")),
            (2, 2, 2), "status --json: workers configured/running/total")
    tap.ok(is_uint(d.get("uptimeMs")) and is_uint(d.get("startedAt")),
           "status --json: uptimeMs and startedAt are integers")

    # Options after the command work too.
    d = run_json(["status", "-s", m.sock_path, "--json"],
                 "status with options after it")
    tap.is_((d or {}).get("pid"), m.pid, "status with options after it: pid")

    # The socket from the config file, and from $SFUD_SOCKET.
    d = run_json(["-c", m.conf_path, "--json", "status"], "-c CONFIG status")
    tap.is_((d or {}).get("pid"), m.pid, "-c CONFIG: found the socket")
    code, out, err = run(["--json", "status"], {"SFUD_SOCKET": m.sock_path})
    tap.is_(code, 0, "$SFUD_SOCKET status: exit 0")
    tap.like(out, r'"pid": %d\b' % m.pid, "$SFUD_SOCKET: found the socket")
    code, out, err = run(["-s", m.sock_path, "-c", m.conf_path, "status"])
    tap.is_(code, 2, "-s with -c: usage error")


def check_workers(m, ws, name="workers"):
    code, out, err = run(["-s", m.sock_path, "workers"])
    tap.is_(code, 0, name + ": exit 0")
    lines = out.splitlines()
    tap.is_(lines[0].split() if lines else None,
            ["INDEX", "PID", "STATE", "GEN", "RESTARTS", "ROUTERS",
             "UPTIME", "WEBRTC_SERVER"], name + ": header")
    rows = [ln.split() for ln in lines[1:]]
    tap.is_([r[:6] for r in rows],
            [[str(w["index"]), str(w["pid"]), "running",
              str(w["generation"]), str(w["restarts"]), "0"] for w in ws],
            name + ": one row per worker")
    tap.ok(all(len(r) == 8 and re.match(r"^\d+[smhd]", r[6]) and
               r[7] == "-" for r in rows),
           name + ": an uptime per row, no WebRTC server")

    d = run_json(["-s", m.sock_path, "workers", "--json"], name + " --json")
    tap.ok(isinstance(d, list) and len(d) == 2 and
           all(sorted(w) == sorted(WORKER_KEYS) for w in d),
           name + " --json: a list of 2 workers with every field")
    tap.is_([(w.get("index"), w.get("pid"), w.get("state")) for w in d or []],
            [(w["index"], w["pid"], "running") for w in ws],
            name + " --json: index, pid, state")
    return d


def check_call(m, ws):
    s = ["-s", m.sock_path]
    d = run_json(s + ["call", "worker.dump", "--worker", "0"],
                 "call worker.dump --worker 0")
    tap.is_((d or {}).get("pid"), ws[0]["pid"],
            "call worker.dump --worker 0: pid of worker 0")
    d = run_json(s + ["call", "--worker", "1", "worker.dump"],
                 "call worker.dump --worker 1 (option first)")
    tap.is_((d or {}).get("pid"), ws[1]["pid"],
            "call worker.dump --worker 1: pid of worker 1")

    code, out, err = run(s + ["call", "worker.ping", "--worker", "1"])
    tap.is_(code, 0, "call worker.ping --worker 1: exit 0")
    tap.is_(out, "{}\n", "call worker.ping: {} for no data")
    tap.is_(err, "", "call worker.ping: nothing on stderr")

    # JSON-DATA reaches the worker as a MessagePack map.
    code, out, err = run(s + ["call", "worker.updateSettings", "--worker",
                              "1", '{"logLevel": "debug", '
                              '"logTags": ["info", "ice"]}'])
    tap.is_(code, 0, "call worker.updateSettings with JSON-DATA: exit 0")
    d = run_json(s + ["call", "worker.dump", "--worker", "1"],
                 "worker.dump after updateSettings")
    st = (d or {}).get("settings") or {}
    tap.is_((st.get("logLevel"), st.get("logTags")),
            ("debug", ["info", "ice"]),
            "call with JSON-DATA: the worker got the settings")

    code, out, err = run(s + ["call", "worker.updateSettings", "--worker",
                              "1", '{"logLevel": "loud"}'])
    tap.is_(code, 1, "call with bad settings: exit 1")
    tap.like(err, r"^TypeError: data\.logLevel: ", "bad settings: TypeError")

    code, out, err = run(s + ["call", "worker.dump", "--worker", "0",
                              '{"a": '])
    tap.is_(code, 2, "call with bad JSON: exit 2")
    tap.like(err, r"JSON-DATA", "call with bad JSON: names JSON-DATA")
    code, out, err = run(s + ["call", "worker.dump", "--worker", "0",
                              "[1, 2]"])
    tap.is_(code, 2, "call with a JSON array: exit 2")
    tap.like(err, r"expected a JSON object",
             "call with a JSON array: says an object is needed")

    code, out, err = run(s + ["call", "nosuch.method", "--worker", "0"])
    tap.is_(code, 1, "call unknown method: exit 1")
    tap.like(err, r"^Error: unknown method 'nosuch\.method'\n$",
             "call unknown method: Error: on stderr")
    tap.is_(out, "", "call unknown method: nothing on stdout")
    code, out, err = run(s + ["call", "master.nosuch"])
    tap.is_(code, 1, "call unknown master method: exit 1")
    tap.like(err, r"^Error: ", "call unknown master method: Error:")

    code, out, err = run(s + ["call", "worker.createRouter",
                              '{"mediaCodecs": [{"kind": "video", '
                              '"mimeType": "video/FOO", '
                              '"clockRate": 90000}]}'])
    tap.is_(code, 1, "call worker.createRouter: exit 1")
    tap.like(err, r"^UnsupportedError: ",
             "call worker.createRouter: UnsupportedError")

    code, out, err = run(s + ["call", "worker.dump", "--worker", "7"])
    tap.is_(code, 1, "call --worker 7: exit 1")
    tap.like(err, r"^NotFoundError: ", "call --worker 7: NotFoundError")
    code, out, err = run(s + ["call", "router.dump", "--handler", "r-none"])
    tap.is_(code, 1, "call --handler unknown: exit 1")
    tap.like(err, r"^NotFoundError: .*r-none",
             "call --handler unknown: NotFoundError naming it")


def watch(m, events):
    """sfuctl watch [EVENT...] on m's socket, in the background."""
    return Watch(["-s", m.sock_path, "watch"] + list(events))


def sync_watches(m, watches, name):
    """Reloads (through sfuctl) until each watch printed master.reloaded:
    then every subscription is in place. Returns the first reload's
    result."""
    first = None
    pending = list(watches)
    deadline = time.monotonic() + 10
    while pending and time.monotonic() < deadline:
        r = run(["-s", m.sock_path, "reload"])
        if first is None:
            first = r
        for w in list(pending):
            if w.wait_for(event_is("master.reloaded"), 0.5) is not None:
                pending.remove(w)
    tap.ok(not pending, name + ": watches subscribed (master.reloaded seen)")
    return first


def check_watch_and_reload(m, ws):
    w_all = watch(m, [])
    w_some = watch(m, ["master.reloaded", "worker.died"])
    try:
        code, out, err = sync_watches(m, [w_all, w_some], "watch") or \
            (None, "", "")
        tap.is_((code, out), (0, "ok\n"), "reload: ok")

        victim = ws[0]
        os.kill(victim["pid"], signal.SIGKILL)
        died = w_all.wait_for(event_is("worker.died", index=0,
                                       pid=victim["pid"]))
        tap.ok(died is not None, "watch *: worker.died for the killed "
               "worker")
        if died is not None:
            tap.is_(sorted(died), ["data", "event", "targetId"],
                    "watch *: a line has targetId, event, data")
            tap.is_(died["targetId"], "master", "watch *: targetId master")
            tap.is_(died["data"].get("signal"), 9,
                    "watch *: worker.died says signal 9")
        spawned = w_all.wait_for(event_is("worker.spawned", index=0))
        tap.ok(spawned is not None and
               spawned["data"].get("pid") != victim["pid"],
               "watch *: then worker.spawned with a new pid")
        if spawned is not None:
            m.learn_pid(spawned["data"].get("pid"))

        tap.ok(w_some.wait_for(event_is("worker.died", index=0)) is not
               None, "watch with events: worker.died")
        new_ws = m.wait_ready(2, timeout=15)

        w_all.proc.send_signal(signal.SIGINT)
        tap.is_(w_all.finish(), 0, "watch *: SIGINT ends it with exit 0")
        tap.is_(w_all.stderr, "", "watch *: nothing on stderr")
        w_some.proc.send_signal(signal.SIGTERM)
        tap.is_(w_some.finish(), 0, "watch with events: SIGTERM, exit 0")
        tap.is_([x.get("event") if isinstance(x, dict) else x
                 for x in w_some.lines
                 if not (isinstance(x, dict) and
                         x.get("event") == "master.reloaded")], [],
                "watch with events: no other event (no worker.spawned)")
        return new_ws
    finally:
        w_all.kill()
        w_some.kill()


def check_sfud():
    with sfu.tempdir() as tmp:
        check_without_daemon(tmp)
        m = sfu.Master(tmp, workers=2)
        w_end = None
        try:
            m.start()
            ws = m.wait_ready(2)
            check_status(m)
            check_workers(m, ws)
            check_call(m, ws)
            ws = check_watch_and_reload(m, ws)
            d = check_workers(m, ws, "workers after a respawn")
            tap.is_([x.get("restarts") for x in d or []], [1, 0],
                    "workers after a respawn: restarts of worker 0 is 1")

            # A watch ends (exit 0) when sfud closes the connection.
            w_end = watch(m, ["*"])
            sync_watches(m, [w_end], "watch before stop")
            code, out, err = run(["-s", m.sock_path, "stop"])
            tap.is_((code, out, err), (0, "ok\n", ""), "stop: ok")
            tap.is_(m.wait_exit(15), 0, "stop: sfud exits 0")
            tap.is_(w_end.finish(), 0, "watch: exit 0 when sfud goes away")
            tap.like(w_end.stderr, r"connection closed by sfud",
                     "watch: says the connection closed")

            code, out, err = run(["-s", m.sock_path, "status"])
            tap.is_(code, 2, "status after stop: exit 2")
            tap.ok(m.sock_path in err, "status after stop: names the socket")
        finally:
            if w_end is not None:
                w_end.kill()
            m.stop()
        m.check_aftermath()


# --- against a scripted admin server ---

class FakeServer:
    """A Unix socket answering each connection from script(conn, req):
    runs in a thread; every socket operation has a timeout."""

    def __init__(self, path, script):
        self.path = path
        self.script = script
        self.requests = []
        self.errors = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _recv_exact(self, conn, n):
        buf = b""
        while len(buf) < n:
            data = conn.recv(n - len(buf))
            if not data:
                raise EOFError("client closed")
            buf += data
        return buf

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(10)
            try:
                (n,) = struct.unpack(">I", self._recv_exact(conn, 4))
                req = sfu.unpack(self._recv_exact(conn, n))
                self.requests.append(req)
                self.script(conn, req)
                # Hold the connection until the client is done with it.
                conn.settimeout(3)
                while conn.recv(4096):
                    pass
            except Exception as e:      # reported by the test, never lost
                self.errors.append(repr(e))
            finally:
                conn.close()

    def close(self):
        self.stopping = True
        self.thread.join(5)
        self.sock.close()


TYPES = {
    "str": "caf\u00e9 \"q\" \\ \n\t\u0001",
    "neg": -5,
    "int64min": -(1 << 63),
    "u64": (1 << 63) - 1,
    "big": 1 << 63,
    "float": 1.5,
    "t": True,
    "f": False,
    "nil": None,
    "arr": [1, "two", [3], {}],
    "bin": b"\x00\x01\xfe\xff",
    "bin5": b"hello",
    "empty": b"",
}


def fake_script(conn, req):
    method = req.get("method")
    rid = req.get("id")
    if method == "echo":
        conn.sendall(sfu.encode({"id": rid, "accepted": True,
                                 "data": {"request": req}}))
    elif method == "types":
        data = dict(TYPES)
        data[1] = "one key"
        data[None] = "nil key"
        conn.sendall(sfu.encode({"id": rid, "accepted": True,
                                 "data": data}))
    elif method == "noisy":
        # A notification and a stale response before the real one.
        conn.sendall(sfu.encode({"targetId": "x", "event": "e",
                                 "data": {"n": 1}}) +
                     sfu.encode({"id": rid + 100, "accepted": True,
                                 "data": {"stale": True}}) +
                     sfu.encode({"id": rid, "accepted": True,
                                 "data": {"fresh": True}}))
    elif method == "big":
        # 3 MiB in one frame, sent in pieces: the client's buffer grows.
        msg = sfu.encode({"id": rid, "accepted": True,
                          "data": {"s": "x" * (3 << 20)}})
        for i in range(0, len(msg), 100000):
            conn.sendall(msg[i:i + 100000])
            time.sleep(0.001)
    elif method == "reject":
        conn.sendall(sfu.encode({"id": rid, "error": "FutureError",
                                 "reason": "from a newer sfud"}))
    elif method == "huge":
        conn.sendall(struct.pack(">I", 5 * 1024 * 1024) + b"\x80" * 1024)
    elif method == "master.subscribe":
        conn.sendall(sfu.encode({"id": rid, "accepted": True}))
        conn.sendall(sfu.encode({"targetId": "t1", "event": "bin",
                                 "data": {"b": b"\xff"}}) +
                     sfu.encode({"targetId": "t2", "event": "nodata"}))
        time.sleep(0.2)
        # Then the connection closes: watch ends with exit 0.
        conn.shutdown(socket.SHUT_RDWR)
    # "silent": no answer at all.


def check_fake_server():
    with sfu.tempdir() as tmp:
        path = os.path.join(tmp, "fake.sock")
        srv = FakeServer(path, fake_script)
        try:
            s = ["-s", path]
            d = run_json(s + ["call", "echo", "--worker", "3", "--handler",
                              "h-1", '{"s": "\u00e9\\n", "n": -42, '
                              '"r": -0.25, "a": [true, false, null], '
                              '"o": {"big": 9007199254740993}}'],
                         "fake: call echo")
            req = (d or {}).get("request") or {}
            tap.is_(req, {"id": 1, "method": "echo", "handlerId": "h-1",
                          "worker": 3,
                          "data": {"s": "\u00e9\n", "n": -42, "r": -0.25,
                                   "a": [True, False, None],
                                   "o": {"big": 9007199254740993}}},
                    "fake: the request as sent (JSON-DATA as MessagePack)")
            raw = srv.requests[-1] if srv.requests else {}
            tap.ok(isinstance(raw.get("data", {}).get("r"), float) and
                   isinstance(raw.get("data", {}).get("n"), int),
                   "fake: reals stay floats, integers stay integers")
            run_json(s + ["call", "echo"], "fake: call without data")
            raw = srv.requests[-1] if srv.requests else {}
            tap.is_(sorted(raw), ["id", "method"],
                    "fake: no data, worker or handlerId unless given")

            d = run_json(s + ["call", "types"], "fake: call types")
            d = d or {}
            tap.is_(d.get("str"), TYPES["str"], "fake: str escaped and back")
            tap.is_((d.get("neg"), d.get("int64min"), d.get("u64")),
                    (-5, -(1 << 63), (1 << 63) - 1), "fake: integers")
            tap.ok(isinstance(d.get("big"), float) and
                   d.get("big") == float(1 << 63),
                   "fake: uint64 over int64 becomes a real")
            tap.is_((d.get("float"), d.get("t"), d.get("f"), d.get("nil")),
                    (1.5, True, False, None), "fake: float, bool, nil")
            tap.is_(d.get("arr"), [1, "two", [3], {}], "fake: arrays")
            tap.is_((d.get("bin"), d.get("bin5"), d.get("empty")),
                    ("AAH+/w==", "aGVsbG8=", ""), "fake: bin as base64")
            tap.is_((d.get("1"), d.get("null")), ("one key", "nil key"),
                    "fake: non-string keys stringified")

            d = run_json(s + ["call", "noisy"], "fake: call noisy")
            tap.is_(d, {"fresh": True},
                    "fake: notification and stale response skipped")

            # One argument holds at most 128 KiB (MAX_ARG_STRLEN).
            d = run_json(s + ["call", "big", '{"pad": "%s"}' %
                              ("y" * 100000)], "fake: call big")
            tap.is_(len((d or {}).get("s", "")), 3 << 20,
                    "fake: a 3 MiB response read whole")
            raw = srv.requests[-1] if srv.requests else {}
            tap.is_(len(raw.get("data", {}).get("pad", "")), 100000,
                    "fake: a 100 kB request sent whole")

            code, out, err = run(s + ["call", "reject"])
            tap.is_((code, out, err), (1, "", "FutureError: from a newer "
                                       "sfud\n"),
                    "fake: an unknown error name printed as sent, exit 1")

            t0 = time.monotonic()
            code, out, err = run(s + ["-t", "300", "call", "silent"])
            took = time.monotonic() - t0
            tap.is_(code, 2, "fake: no response: exit 2")
            tap.like(err, r"no response to silent within 300 ms",
                     "fake: no response: says so")
            tap.ok(took < 5, "fake: -t 300 is honoured (%.1fs)" % took)

            code, out, err = run(s + ["call", "huge"])
            tap.is_(code, 2, "fake: frame over 4 MiB: exit 2")
            tap.like(err, r"over the 4194304-byte limit",
                     "fake: frame over 4 MiB: refused")

            sys.stdout.flush()
            p = subprocess.run([sfuctl_path()] + s + ["watch"],
                               stdin=subprocess.DEVNULL,
                               capture_output=True, text=True,
                               timeout=RUN_TIMEOUT, env=ctl_env())
            tap.is_(p.returncode, 0, "fake: watch ends with exit 0 on EOF")
            tap.is_(p.stdout.splitlines(),
                    ['{"targetId":"t1","event":"bin","data":{"b":"/w=="}}',
                     '{"targetId":"t2","event":"nodata","data":null}'],
                    "fake: watch lines, data null when absent")
            sub = [r for r in srv.requests
                   if r.get("method") == "master.subscribe"]
            tap.is_(sub[-1].get("data") if sub else None,
                    {"events": ["*"]}, "fake: watch subscribes to *")
            tap.is_(srv.errors, [], "fake: server saw no error")
        finally:
            srv.close()


def main():
    for path in (sfuctl_path(), sfu.sfud_path(), sfu.worker_path()):
        if not os.access(path, os.X_OK):
            tap.ok(False, "%s is built" % path)
            tap.done_testing()
            return
    check_sfud()
    check_fake_server()
    tap.done_testing()


main()
