#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The config-declared WebRtcServer (DESIGN §5, §6; docs/operations.md
# "WebRTC server"), driven through the real sfud with the FAKE worker
# (t/lib/fake_worker.py), which binds the ports it is given for real:
#
# - no webrtc_server block: no worker.createWebRtcServer is sent, and
#   master.workers shows webRtcServerId and webRtcServerError nil;
# - a port + index above 65535 is an error for that worker only, no request;
# - with the block, each worker gets worker.createWebRtcServer with id
#   "webrtc-server-<index>-g<generation>" and every listen's port + index
#   (announcedAddress passed on), shown in master.workers;
# - webRtcServer.dump with that handlerId reaches the right worker; a
#   client cannot create another entity with that id;
# - a client's worker.closeWebRtcServer makes webRtcServerId nil;
# - kill -9 of a worker: worker.died lists the server in lostEntityIds,
#   the respawned worker gets the same id again;
# - a worker whose port is taken keeps running, master.workers shows the
#   worker's reason, the log names the worker; no retry until its respawn,
#   which succeeds once the port is free; sfuctl workers' WEBRTC_SERVER
#   column shows the ids, and "failed";
# - a reload that starts a new generation: an old worker that drains (it
#   has a router) closes its server first, then the new worker creates
#   its own on the same ports (the fake binds for real, so the other order
#   would fail); the old worker keeps its router.
import errno
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402

MAIN = "worker_drain_timeout 60s;\nworker_shutdown_timeout 2s;"
LOOP = "127.0.0.1"


def data(r):
    d = r.get("data") if isinstance(r, dict) else None
    return d if isinstance(d, dict) else {}


def by_index(ws):
    return {w.get("index"): w for w in ws}


def bindable(port, proto):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if proto == "udp"
                      else socket.SOCK_STREAM)
    try:
        if proto == "tcp":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((LOOP, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_base(n):
    """A port P with P .. P+n-1 free for UDP and TCP on loopback."""
    for _ in range(200):
        p = sfu.free_port("both")
        if p + n <= 65535 and all(bindable(p + i, proto) for i in range(n)
                                  for proto in ("udp", "tcp")):
            return p
    raise RuntimeError("no %d consecutive free ports" % n)


def udp_in_use(port):
    """Whether binding UDP port on loopback fails with EADDRINUSE."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((LOOP, port))
        return False
    except OSError as e:
        return e.errno == errno.EADDRINUSE
    finally:
        s.close()


def webrtc_block(base, announced):
    return ("webrtc_server {\n"
            "    listen udp %s %d announced %s;\n"
            "    listen tcp %s %d;\n"
            "}\n") % (LOOP, base, announced, LOOP, base)


def expected_create(sid, base, index, announced):
    return {"webRtcServerId": sid,
            "listenInfos": [{"protocol": "udp", "ip": LOOP,
                             "announcedAddress": announced,
                             "port": base + index},
                            {"protocol": "tcp", "ip": LOOP,
                             "port": base + index}]}


def server_fields(ws):
    return {w.get("index"): (w.get("webRtcServerId"),
                             w.get("webRtcServerError")) for w in ws}


def fake_dump(m, index=None, handler_id=None):
    return data(m.call("worker.dump", worker=index, handler_id=handler_id))


def wait_servers(m, n, generation, name):
    """master.workers once n workers of generation all have a server."""
    try:
        return m.wait_workers(lambda ws: len(ws) == n and all(
            w.get("state") == "running" and
            w.get("generation") == generation and
            w.get("webRtcServerId") for w in ws), 10, name)
    except AssertionError as e:
        tap.diag(str(e))
        return m.workers()


def sfuctl_workers(m):
    """sfuctl workers' rows (split), after checking its header."""
    r = subprocess.run([os.path.join(sfu.builddir(), "src", "ctl",
                                     "sfuctl"), "-s", m.sock_path,
                        "workers"], capture_output=True, text=True,
                       timeout=20)
    lines = r.stdout.splitlines()
    tap.is_((r.returncode, lines[0].split() if lines else None),
            (0, ["INDEX", "PID", "STATE", "GEN", "RESTARTS", "ROUTERS",
                 "UPTIME", "WEBRTC_SERVER"]), "sfuctl workers: header")
    return [ln.split() for ln in lines[1:]]


def part_without_block(tmp):
    """Without webrtc_server, and with a port that overflows."""
    m = sfu.Master(tmp, workers=2, worker_bin=sfu.fake_worker_path(),
                   main=MAIN, name="plain")
    code = None
    try:
        m.start()
        ws = m.wait_ready(2)
        time.sleep(0.3)
        tap.is_(server_fields(m.workers()), {0: (None, None),
                                             1: (None, None)},
                "no block: webRtcServerId and webRtcServerError are nil")
        tap.is_([fake_dump(m, i).get("webRtcServerRequests") for i in (0, 1)],
                [[], []], "no block: no worker got worker.createWebRtcServer")
        tap.is_([w.get("entities") for w in ws], [0, 0],
                "no block: no entity")
        code = m.stop()
    finally:
        if code is None:
            code = m.stop()
    tap.is_(code, 0, "no block: exit 0")

    m = sfu.Master(tmp, workers=2, worker_bin=sfu.fake_worker_path(),
                   main=MAIN + "\nwebrtc_server { listen udp %s 65535; }" %
                   LOOP, name="overflow")
    code = None
    try:
        m.start()
        m.wait_ready(2)
        try:
            m.wait_workers(lambda ws: len(ws) == 2 and
                           by_index(ws)[1].get("webRtcServerError"), 5,
                           "worker 1's error")
        except AssertionError as e:
            tap.diag(str(e))
        w1 = by_index(m.workers()).get(1) or {}
        tap.is_((w1.get("state"), w1.get("webRtcServerId"),
                 w1.get("webRtcServerError")),
                ("running", None, "webrtc_server: udp port 65535 + worker "
                 "index 1 is above 65535"),
                "port 65535 + index 1: worker 1 runs, with the error")
        tap.is_(fake_dump(m, 1).get("webRtcServerRequests"), [],
                "port 65535 + index 1: nothing sent to worker 1")
        tap.is_([x.get("port") for r in
                 fake_dump(m, 0).get("webRtcServerRequests") or []
                 for x in r.get("listenInfos") or []], [65535],
                "port 65535 + index 0: worker 0 was asked for 65535")
        tap.ok(m.wait_log(r"worker 1 pid \d+: cannot create webrtc server "
                          r"webrtc-server-1-g0: webrtc_server: udp port "
                          r"65535 \+ worker index 1 is above 65535", 2),
               "port 65535 + index 1: logged for worker 1")
        code = m.stop()
    finally:
        if code is None:
            code = m.stop()
    tap.is_(code, 0, "overflow: exit 0")


def main():
    tap.plan(55)
    with sfu.tempdir() as tmp:
        part_without_block(tmp)

        base = free_base(3)
        ann = "203.0.113.10"
        m = sfu.Master(tmp, workers=2, worker_bin=sfu.fake_worker_path(),
                       main=MAIN + "\n" + webrtc_block(base, ann))
        code = None
        held = None
        try:
            m.start()
            m.wait_ready(2)
            ws = wait_servers(m, 2, 0, "2 workers with a server")
            pid = {w["index"]: w["pid"] for w in ws}
            ids = ["webrtc-server-0-g0", "webrtc-server-1-g0"]
            s = m.client()
            s.call("master.subscribe", {"events": ["*"]})

            # --- creation ---
            tap.is_(server_fields(ws), {0: (ids[0], None), 1: (ids[1], None)},
                    "master.workers: webRtcServerId per worker, no error")
            tap.is_([(w.get("entities"), w.get("routers")) for w in
                     sorted(ws, key=lambda w: w["index"])], [(1, 0), (1, 0)],
                    "master.workers: the server is an entity, not a router")
            for i in (0, 1):
                tap.is_(fake_dump(m, i).get("webRtcServerRequests"),
                        [expected_create(ids[i], base, i, ann)],
                        "worker %d got one create: port %d + %d, both "
                        "listens, announcedAddress" % (i, base, i))
            tap.ok(udp_in_use(base) and udp_in_use(base + 1) and
                   not udp_in_use(base + 2),
                   "ports %d and %d are bound, %d is not" %
                   (base, base + 1, base + 2))
            tap.ok(m.wait_log(r"worker 0 pid %d: webrtc server %s created" %
                              (pid[0], ids[0]), 1),
                   "log: worker 0's server created")

            # --- routing ---
            for i in (0, 1):
                d = data(s.call("webRtcServer.dump", handler_id=ids[i]))
                tap.is_((d.get("id"), d.get("workerPid"),
                         [x.get("port") for x in d.get("listenInfos") or []]),
                        (ids[i], pid[i], [base + i, base + i]),
                        "webRtcServer.dump %s reaches worker %d" % (ids[i], i))
            r = s.call("worker.createWebRtcServer",
                       {"webRtcServerId": ids[0], "listenInfos": []},
                       worker=1)
            tap.is_((r.get("error"), r.get("reason")),
                    ("TypeError", "data.webRtcServerId: an entity with id "
                     "'%s' already exists" % ids[0]),
                    "a client cannot create another entity with that id")

            # --- closed by a client, then kill -9: recreated ---
            r = s.call("worker.closeWebRtcServer",
                       {"webRtcServerId": ids[1]}, worker=1)
            tap.is_(r.get("accepted"), True, "client's closeWebRtcServer on "
                    "worker 1: accepted")
            tap.is_(server_fields(m.workers())[1], (None, None),
                    "after the client's close: webRtcServerId nil")
            tap.ok(not udp_in_use(base + 1), "... and its port is free")
            s.expect_silence(0.1)
            os.kill(pid[1], signal.SIGKILL)
            dd = data(s.next_notification(5, event="worker.died"))
            tap.is_((dd.get("index"), dd.get("lostEntityIds")), (1, []),
                    "kill worker 1 (server closed): nothing lost")
            ws = wait_servers(m, 2, 0, "worker 1 respawned with a server")
            w1 = by_index(ws).get(1) or {}
            tap.ok(w1.get("pid") not in (None, pid[1]) and
                   w1.get("restarts") == 1, "worker 1 respawned")
            tap.is_((w1.get("webRtcServerId"), w1.get("webRtcServerError")),
                    (ids[1], None), "respawned worker 1: same server id")
            pid[1] = w1.get("pid")
            tap.is_(fake_dump(m, 1).get("webRtcServerRequests"),
                    [expected_create(ids[1], base, 1, ann)],
                    "respawned worker 1 got the same create")
            d = data(s.call("webRtcServer.dump", handler_id=ids[1]))
            tap.is_(d.get("workerPid"), pid[1],
                    "webRtcServer.dump reaches the new worker 1")
            s.expect_silence(0.1)
            os.kill(pid[1], signal.SIGKILL)
            dd = data(s.next_notification(5, event="worker.died"))
            tap.is_((dd.get("index"), dd.get("lostEntityIds")),
                    (1, [ids[1]]), "kill worker 1 again: worker.died lists "
                    "its server in lostEntityIds")
            r = s.call("webRtcServer.dump", handler_id=ids[1])
            tap.ok(r.get("error") == "NotFoundError" or
                   data(r).get("workerPid") not in (None, pid[1]),
                   "the dead worker's server is forgotten (%r)" % (r,))
            ws = wait_servers(m, 2, 0, "worker 1 back with a server")
            pid[1] = by_index(ws)[1].get("pid")
            tap.is_(server_fields(ws), {0: (ids[0], None), 1: (ids[1], None)},
                    "after the second respawn: both servers again")

            # --- failure: worker 2's port is taken ---
            held = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            held.bind((LOOP, base + 2))
            since = m.log_size()
            m.write_conf(workers=3, main=MAIN + "\n" +
                         webrtc_block(base, ann))
            r = m.call("master.reload")
            tap.is_(data(r), {"generation": 0, "workers": 3},
                    "reload to 3 workers: same generation")
            try:
                m.wait_workers(lambda ws: len(ws) == 3 and
                               by_index(ws)[2].get("webRtcServerError"), 10,
                               "worker 2's error")
            except AssertionError as e:
                tap.diag(str(e))
            w2 = by_index(m.workers()).get(2) or {}
            tap.is_((w2.get("state"), w2.get("webRtcServerId")),
                    ("running", None), "port taken: worker 2 runs without "
                    "a server")
            tap.like(w2.get("webRtcServerError") or "",
                     r"^port %d in use on %s \(udp " % (base + 2, LOOP),
                     "port taken: webRtcServerError is the worker's reason")
            tap.ok(m.wait_log(r"worker 2 pid %d: cannot create webrtc server "
                              r"webrtc-server-2-g0: port %d in use" %
                              (w2.get("pid") or 0, base + 2), 2, since),
                   "port taken: the error log names worker 2 and the reason")
            tap.ok(sfu.pid_alive(w2.get("pid")), "port taken: worker 2's "
                   "process is alive")
            time.sleep(0.5)
            tap.is_(len(fake_dump(m, 2).get("webRtcServerRequests") or []),
                    1, "port taken: no retry while the worker lives")
            tap.is_(server_fields(m.workers())[0], (ids[0], None),
                    "port taken: worker 0 unaffected")
            rows = sfuctl_workers(m)
            tap.is_([(r[0], r[-1]) for r in rows],
                    [("0", ids[0]), ("1", ids[1]), ("2", "failed")],
                    "sfuctl workers: WEBRTC_SERVER column (id, or failed)")
            held.close()
            held = None
            os.kill(w2["pid"], signal.SIGKILL)
            try:
                ws = m.wait_workers(lambda ws: len(ws) == 3 and
                                    by_index(ws)[2].get("webRtcServerId"),
                                    10, "worker 2 with a server")
            except AssertionError as e:
                tap.diag(str(e))
                ws = m.workers()
            w2 = by_index(ws).get(2) or {}
            tap.is_((w2.get("webRtcServerId"), w2.get("webRtcServerError")),
                    ("webrtc-server-2-g0", None),
                    "port free again: the respawned worker 2 has its server, "
                    "the error is cleared")

            # --- a new generation takes the ports over ---
            rid = data(s.call("worker.createRouter", worker=0)).get(
                "routerId")
            tap.ok(isinstance(rid, str), "a router on worker 0 (so it "
                   "drains)")
            old0 = pid[0]
            since = m.log_size()
            ann2 = "203.0.113.20"
            m.write_conf(workers=2, main=MAIN + "\n" +
                         webrtc_block(base, ann2))
            r = m.call("master.reload")
            tap.is_(data(r), {"generation": 1, "workers": 2},
                    "reload with a new announced address: generation 1")
            gen1 = ["webrtc-server-0-g1", "webrtc-server-1-g1"]
            try:
                ws = m.wait_workers(lambda ws: sorted(
                    w.get("webRtcServerId") or "" for w in ws
                    if w.get("generation") == 1) == gen1, 10,
                    "generation 1 with servers")
            except AssertionError as e:
                tap.diag(str(e))
                ws = m.workers()
            new = {w["index"]: w for w in ws if w.get("generation") == 1}
            old = [w for w in ws if w.get("generation") == 0]
            tap.is_(server_fields(new.values()),
                    {0: (gen1[0], None), 1: (gen1[1], None)},
                    "generation 1: both servers created, no error")
            tap.is_([(w.get("index"), w.get("pid"), w.get("state"),
                      w.get("routerIds"), w.get("webRtcServerId"))
                     for w in old],
                    [(0, old0, "draining", [rid], None)],
                    "generation 0: only worker 0 left, draining with its "
                    "router, no server")
            d = fake_dump(m, handler_id=rid)
            tap.is_((d.get("pid"), d.get("webRtcServerIds"),
                     d.get("routerIds")), (old0, [], [rid]),
                    "the old worker 0 closed its server, kept its router")
            for i in (0, 1):
                tap.is_(fake_dump(m, i).get("webRtcServerRequests"),
                        [expected_create(gen1[i], base, i, ann2)],
                        "new worker %d: created on port %d + %d with the "
                        "new address at the first try" % (i, base, i))
            tap.ok(m.wait_log(r"worker 0 pid %d \(generation 0\): closing "
                              r"webrtc server %s to hand its ports over to "
                              r"worker 0 \(generation 1\)" % (old0, ids[0]),
                              1, since),
                   "log: the old server closed for the hand-over")
            r = s.call("webRtcServer.dump", handler_id=ids[0])
            tap.is_(r.get("error"), "NotFoundError", "the old server's id "
                    "is forgotten")
            d = data(s.call("webRtcServer.dump", handler_id=gen1[0]))
            tap.is_(d.get("workerPid"), new[0].get("pid"),
                    "webRtcServer.dump %s reaches the new worker 0" % gen1[0])
            r = s.call("router.close", handler_id=rid)
            tap.is_(sfu.wait_pids_gone([old0], 5), [],
                    "the old worker 0 exits once its router is closed")
            tap.is_(server_fields(m.workers()),
                    {0: (gen1[0], None), 1: (gen1[1], None)},
                    "the new servers stay")
            s.close()
            code = m.stop()
        finally:
            if held is not None:
                held.close()
            if code is None:
                code = m.stop()
        tap.is_(code, 0, "exit 0")
        m.check_aftermath()


main()
