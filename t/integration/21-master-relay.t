#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The master's spawn and relay (DESIGN §1, §3, §4) through its real admin
# socket: each worker gets fds 0 (/dev/null), 1 and 2 (one pipe the master
# reads), 3 and 4 (sockets) and nothing else of the master's; requests go
# to the worker named by `worker`; ids are mapped back per connection
# (0 and 2^32-1 included, many in flight, across connections); routing
# errors (no `worker`, unknown index, unknown handlerId) and a worker's own
# error pass through as the protocol says; master.status and
# master.workers report the pool; worker log lines reach the master's
# error_log prefixed "worker N pid P:".
import os
import random
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402

NWORKERS = 2


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def error_is(resp, id, error, reason_re, name):
    tap.is_(resp.get("id"), id, name + ": id")
    tap.is_(resp.get("error"), error, name + ": " + error)
    tap.like(resp.get("reason"), reason_re, name + ": reason")


def check_fds(m, ws):
    """fds 0-4 of each worker, and no other fd of the master's."""
    master_fds = sfu.fd_targets(m.pid)
    # What only the master should hold: its sockets, pipes and files.
    # (anon_inode:[eventpoll] and the like name no particular object.)
    master_objs = set(t for t in master_fds.values()
                      if not t.startswith("anon_inode:") and
                      t != "/dev/null")
    for w in ws:
        pid = w["pid"]
        fds = sfu.fd_targets(pid)
        low = sorted(fd for fd in fds if fd <= 4)
        tap.is_(low, [0, 1, 2, 3, 4],
                "worker %d: fds 0-4 are open, and only they below 5" %
                w["index"])
        tap.is_(fds.get(0), "/dev/null", "worker %d: fd 0 is /dev/null" %
                w["index"])
        tap.ok(re.match(r"pipe:\[\d+\]$", fds.get(1, "")) and
               fds.get(1) == fds.get(2),
               "worker %d: fds 1 and 2 are one pipe (%s, %s)" %
               (w["index"], fds.get(1), fds.get(2)))
        tap.ok(fds.get(1) in master_fds.values(),
               "worker %d: the master holds the other end of its log pipe"
               % w["index"])
        tap.ok(re.match(r"socket:\[\d+\]$", fds.get(3, "")) and
               re.match(r"socket:\[\d+\]$", fds.get(4, "")) and
               fds.get(3) != fds.get(4),
               "worker %d: fds 3 and 4 are two sockets (%s, %s)" %
               (w["index"], fds.get(3), fds.get(4)))
        leaked = sorted("%d -> %s" % (fd, t) for fd, t in fds.items()
                        if fd > 4 and t in master_objs)
        tap.is_(leaked, [], "worker %d: no fd of the master's leaked" %
                w["index"])
    # Each worker's sockets are its own: no two workers share one.
    socks = [sfu.fd_targets(w["pid"]).get(fd) for w in ws for fd in (3, 4)]
    tap.is_(len(set(socks)), len(socks), "workers share no channel socket")


def check_named_worker(c, ws):
    for w in ws:
        r = c.call("worker.dump", worker=w["index"])
        tap.is_((r.get("data") or {}).get("pid"), w["pid"],
                "worker: %d -> worker.dump answered by pid %d" %
                (w["index"], w["pid"]))


def check_ids(m, ws):
    pid_of = {w["index"]: w["pid"] for w in ws}

    # Edge ids on one connection, each routed to a known worker.
    c = m.client()
    ids = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31,
           2 ** 32 - 2, 2 ** 32 - 1]
    for i, id in enumerate(ids):
        c.send_request("worker.dump", worker=i % NWORKERS, id=id)
    got = {}
    for i, id in enumerate(ids):
        r = c.wait_response(id)
        got[id] = (r.get("accepted"), (r.get("data") or {}).get("pid"))
    want = {id: (True, pid_of[i % NWORKERS]) for i, id in enumerate(ids)}
    tap.is_(got, want, "edge ids (0 .. 2^32-1) answered with their own id "
            "by the worker they named")
    tap.is_(c.expect_silence(0.2), [], "edge ids: nothing else arrived")

    # 500 in flight on one connection, in one write.
    rnd = random.Random(2128)
    ids = rnd.sample(range(2 ** 32), 500)
    blob = b"".join(sfu.encode(sfu.AdminClient.request(
        "worker.dump" if k % 3 == 0 else "worker.ping",
        worker=k % NWORKERS, id=id)) for k, id in enumerate(ids))
    c.send_raw(blob)
    seen = []
    bad = []
    for k, id in enumerate(ids):
        r = c.wait_response(id, timeout=10)
        seen.append(r.get("id"))
        if r.get("accepted") is not True:
            bad.append(r)
        elif k % 3 == 0 and (r.get("data") or {}).get("pid") != \
                pid_of[k % NWORKERS]:
            bad.append(r)
    tap.is_(sorted(seen), sorted(ids), "500 pipelined requests: each "
            "answered once with its own id")
    tap.is_(bad[:3], [], "500 pipelined requests: all accepted, dumps from "
            "the worker named")
    tap.is_(c.expect_silence(0.2), [], "500 pipelined: no extra message")
    c.close()

    # 10 connections using the same ids at the same time: each gets its
    # own answers (worker.dump of the worker that connection named).
    clients = [m.client() for _ in range(10)]
    ids = list(range(0, 60)) + [2 ** 32 - 1]
    for n, cl in enumerate(clients):
        blob = b"".join(sfu.encode(sfu.AdminClient.request(
            "worker.dump", worker=(n + id) % NWORKERS, id=id)) for id in ids)
        cl.send_raw(blob)
    wrong = []
    count = 0
    for n, cl in enumerate(clients):
        for id in ids:
            r = cl.wait_response(id, timeout=10)
            count += 1
            pid = (r.get("data") or {}).get("pid")
            if pid != pid_of[(n + id) % NWORKERS]:
                wrong.append((n, id, r.get("error"), pid))
    tap.is_(count, 10 * len(ids), "10 connections x %d requests answered" %
            len(ids))
    tap.is_(wrong[:3], [], "10 connections: each answer went to its own "
            "connection and id")
    extra = [cl.expect_silence(0.05) for cl in clients]
    tap.is_([e for e in extra if e], [], "10 connections: nothing extra")
    for cl in clients:
        cl.close()


def check_errors(c):
    r = c.call("worker.ping", id=41)
    error_is(r, 41, "TypeError", r"\bworker\b",
             "worker-level method without worker")
    r = c.call("worker.dump", worker=NWORKERS, id=42)
    error_is(r, 42, "NotFoundError", r"worker",
             "worker: %d (no such worker)" % NWORKERS)
    r = c.call("worker.dump", worker=1000, id=43)
    tap.is_(r.get("error"), "NotFoundError", "worker: 1000 -> NotFoundError")
    r = c.call("router.dump", handler_id="no-such-router", id=44)
    error_is(r, 44, "NotFoundError", r"no-such-router",
             "handlerId of an unknown entity")
    foo = {"mediaCodecs": [{"kind": "video", "mimeType": "video/FOO",
                            "clockRate": 90000}]}
    r = c.call("worker.createRouter", foo, id=45)
    error_is(r, 45, "UnsupportedError", r"video/FOO",
             "worker.createRouter (least loaded) passes the worker's "
             "UnsupportedError through")
    r = c.call("worker.createRouter", foo, worker=1, id=46)
    tap.is_(r.get("error"), "UnsupportedError",
            "worker.createRouter on worker 1: UnsupportedError")
    tap.is_(c.call("router.dump", handler_id=r"\0x").get("error"),
            "NotFoundError", "odd handlerId: NotFoundError")
    r = c.call("worker.noSuchMethod", worker=0, id=47)
    error_is(r, 47, "Error", r"worker\.noSuchMethod",
             "unknown worker method: the worker's Error passes through")
    r = c.call("master.noSuchMethod", id=48)
    error_is(r, 48, "Error", r"master\.noSuchMethod",
             "unknown master method: Error from the master")


def check_status(m, ws, nclients):
    st = m.status() or {}
    tap.ok(isinstance(st.get("version"), str) and st.get("version"),
           "status: version")
    tap.is_(st.get("pid"), m.pid, "status: pid is the master's")
    tap.is_(st.get("state"), "running", "status: state running")
    tap.ok(is_uint(st.get("uptimeMs")), "status: uptimeMs")
    import time
    tap.ok(is_uint(st.get("startedAt")) and
           abs(st["startedAt"] - time.time() * 1000) < 120000,
           "status: startedAt is a wall-clock ms time near now")
    tap.is_(st.get("configPath"), m.conf_path, "status: configPath")
    tap.is_(st.get("generation"), 0, "status: generation 0")
    tap.is_(st.get("reloads"), 0, "status: reloads 0")
    tap.is_(st.get("workers"), {"configured": NWORKERS, "running": NWORKERS,
                                "starting": 0, "draining": 0,
                                "total": NWORKERS}, "status: workers")
    tap.is_(st.get("adminClients"), nclients, "status: adminClients")
    tap.is_(st.get("invalidMessages"), 0, "status: invalidMessages 0")
    tap.is_(st.get("droppedClients"), 0, "status: droppedClients 0")
    tap.is_(st.get("pendingRequests"), 0, "status: pendingRequests 0")

    ws2 = sorted(m.workers(), key=lambda w: w.get("index"))
    tap.is_([w.get("index") for w in ws2], list(range(NWORKERS)),
            "workers: indexes 0..%d" % (NWORKERS - 1))
    for w in ws2:
        keys = sorted(w.keys())
        tap.is_(keys, sorted(["index", "pid", "state", "generation",
                              "restarts", "startedAt", "routers",
                              "routerIds", "entities", "webRtcServerId",
                              "webRtcServerError"]),
                "workers[%d]: fields" % w["index"])
        tap.is_((w.get("state"), w.get("generation"), w.get("restarts"),
                 w.get("routers"), w.get("routerIds"), w.get("entities")),
                ("running", 0, 0, 0, [], 0),
                "workers[%d]: running, generation 0, no restarts, empty" %
                w["index"])
        tap.ok(sfu.pid_alive(w.get("pid")) and w.get("pid") != m.pid,
               "workers[%d]: pid %s is a live process" %
               (w["index"], w.get("pid")))
    tap.is_([w["pid"] for w in ws2], [w["pid"] for w in ws],
            "workers: same pids as at start")


def check_worker_log(m, c, ws):
    w1 = ws[1]
    r = c.call("worker.updateSettings", {"logLevel": "debug"}, worker=1)
    tap.is_(r.get("accepted"), True, "worker.updateSettings relayed to "
            "worker 1")
    d1 = (c.call("worker.dump", worker=1).get("data") or {})
    d0 = (c.call("worker.dump", worker=0).get("data") or {})
    tap.is_((d1.get("settings") or {}).get("logLevel"), "debug",
            "worker 1 now logs at debug")
    tap.is_((d0.get("settings") or {}).get("logLevel"), "warn",
            "worker 0 still at warn")
    since = m.log_size()
    c.call("worker.getResourceUsage", worker=1)
    mt = m.wait_log(r"(?m)^\S+ debug +.*worker 1 pid %d: \S+ debug +.*"
                    r"request \[id:\d+ method:worker\.getResourceUsage" %
                    w1["pid"], timeout=5, since=since)
    tap.ok(mt, "worker 1's debug line reached the error_log as "
           "\"worker 1 pid %d: <its line>\"" % w1["pid"])
    # Every prefixed line names a worker by its own index and pid.
    pid_of = {w["index"]: w["pid"] for w in ws}
    pairs = set((int(a), int(b)) for a, b in
                re.findall(r"worker (\d+) pid (\d+): ", m.log()))
    tap.ok(pairs and all(pid_of.get(i) == p for i, p in pairs),
           "each \"worker N pid P:\" prefix pairs a worker's index with its "
           "pid (%r)" % sorted(pairs))


def main():
    tap.plan(74)
    with sfu.tempdir() as tmp:
        m = sfu.Master(tmp, workers=NWORKERS, log_level="debug")
        try:
            m.start()
            ws = m.wait_ready(NWORKERS)
            check_fds(m, ws)
            c = m.client()
            check_named_worker(c, ws)
            check_ids(m, ws)
            check_errors(c)
            check_status(m, ws, 2)  # m.ctl and c
            check_worker_log(m, c, ws)
            c.close()
        finally:
            code = m.stop()
        tap.is_(code, 0, "TERM: exit 0")
        m.check_aftermath()


main()
