#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The master's entity table (DESIGN §4, docs/protocol.md "Routing" and
# "Entity table"), driven through the real sfud with a FAKE worker
# (t/lib/fake_worker.py: the real channel protocol, a toy entity tree),
# because the real worker has no routers yet:
#
# - ids: worker.createRouter without routerId gets a UUID v4 chosen by the
#   master, passed to the worker and echoed to the client; an id in use is
#   a TypeError naming data.routerId (also when the first create is still
#   pending); a fresh explicit id is kept;
# - placement: worker.createRouter goes to the running worker with the
#   fewest routers (first in pool order on a tie);
# - routing by handlerId reaches the owner (router.dump's workerPid), for
#   transports, producers and consumers too; unknown ids: NotFoundError;
# - notifications reach the creating client and subscribers, not others;
# - forgetting: worker.closeRouter {routerId}, router.close, and the
#   closing events (producerclose, transportclose, routerclose) forget the
#   entity and everything below it;
# - kill -9 of a worker: pending requests fail with Error, worker.died
#   lists exactly its entities in lostEntityIds, they are forgotten;
# - reload 2 -> 1 with a router on worker 1: it drains (still answers by
#   handlerId, gets no new routers) and exits once its router is closed;
# - SIGQUIT with a router alive: the master waits ("quitting") until the
#   router is closed, then exits 0.
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402

MAIN = "worker_drain_timeout 60s;\nworker_shutdown_timeout 2s;"
UUID4_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-" \
    r"[0-9a-f]{12}$"


def by_index(ws):
    return {w.get("index"): w for w in ws}


def load(m):
    """{index: (routers, sorted routerIds, entities)} from master.workers."""
    return {w.get("index"): (w.get("routers"), sorted(w.get("routerIds") or
                                                      []), w.get("entities"))
            for w in m.workers()}


def data(r):
    d = r.get("data") if isinstance(r, dict) else None
    return d if isinstance(d, dict) else {}


def not_found(c, method, hid, name):
    """Two tests: method on handlerId hid answers NotFoundError from the
    master ("handlerId: no entity 'hid'")."""
    r = c.call(method, handler_id=hid)
    tap.is_(r.get("error"), "NotFoundError", name + ": NotFoundError")
    tap.is_(r.get("reason"), "handlerId: no entity '%s'" % hid,
            name + ": reason is the master's \"no entity\"")


def owner_pid(c, method, hid):
    """workerPid of the fake's dump of hid (None if it failed)."""
    return data(c.call(method, handler_id=hid)).get("workerPid")


def emit(c, target, event, payload=None, **route):
    d = {"targetId": target, "event": event}
    if payload is not None:
        d["data"] = payload
    return c.call("fake.emit", d, **route)


def notifications(msgs, target=None):
    return [n for n in msgs if sfu.is_notification(n) and
            (target is None or n.get("targetId") == target)]


def close_router(m, c, rid, name, owner_index):
    """worker.closeRouter {routerId} with no worker index: the master
    knows the owner from the entity table. One test. Falls back (no test)
    to the documented worker index, then to router.close by handlerId,
    so that later checks still run when the first way fails."""
    r = c.call("worker.closeRouter", {"routerId": rid})
    if tap.is_(r.get("accepted"), True, "%s: worker.closeRouter {routerId} "
               "without worker index is routed to the router's owner" %
               name):
        return
    tap.diag("  answer: %r" % (r,))
    r = c.call("worker.closeRouter", {"routerId": rid}, worker=owner_index)
    tap.diag("  fallback worker.closeRouter worker=%d: %r" %
             (owner_index, r))
    if not r.get("accepted"):
        r = c.call("router.close", handler_id=rid)
        tap.diag("  fallback router.close handlerId=%s: %r" % (rid, r))


def main():
    tap.plan(109)
    with sfu.tempdir() as tmp:
        m = sfu.Master(tmp, workers=2, worker_bin=sfu.fake_worker_path(),
                       main=MAIN)
        code = None
        try:
            m.start()
            ws = m.wait_ready(2)
            pid = {w["index"]: w["pid"] for w in ws}
            a = m.client()      # creates the entities
            b = m.client()      # another client, not subscribed
            s = m.client()      # subscribed to everything
            s.call("master.subscribe", {"events": ["*"]})
            d = data(m.call("worker.dump", worker=0))
            tap.ok(d.get("fake") is True and d.get("pid") == pid[0],
                   "setup: the master runs the fake worker (%r)" % (d,))

            # --- ids chosen by the master ---
            r = a.call("worker.createRouter")
            r1 = data(r).get("routerId")
            tap.is_(r.get("accepted"), True, "no routerId: accepted")
            tap.like(r1, UUID4_RE, "no routerId: the response carries a "
                     "UUID v4 routerId")
            tap.is_(data(r), {"rtpCapabilities": {}, "routerId": r1},
                    "no routerId: the worker's data is kept, the id added")
            tap.is_(load(m), {0: (1, [r1], 1), 1: (0, [], 0)},
                    "no routerId: master.workers shows routers 1 and the "
                    "id on worker 0 (first on a tie)")
            d = data(a.call("router.dump", handler_id=r1))
            tap.is_((d.get("id"), d.get("workerPid")), (r1, pid[0]),
                    "router.dump by handlerId reaches worker 0")
            tap.is_(data(m.call("worker.dump", worker=0)).get("routerIds"),
                    [r1], "the worker got the id the master chose")

            # --- least-loaded placement ---
            r2 = data(a.call("worker.createRouter", {})).get("routerId")
            r3 = data(a.call("worker.createRouter",
                             {"routerId": None})).get("routerId")
            r4 = data(a.call("worker.createRouter", {})).get("routerId")
            tap.ok(all(isinstance(x, str) and re.match(UUID4_RE, x)
                       for x in (r2, r3, r4)) and
                   len({r1, r2, r3, r4}) == 4,
                   "data {} and routerId nil: four distinct UUIDs")
            placed = [owner_pid(a, "router.dump", x) for x in (r2, r3, r4)]
            tap.is_(placed, [pid[1], pid[0], pid[1]],
                    "least-loaded: routers 2-4 went to workers 1, 0, 1")
            tap.is_(load(m), {0: (2, sorted([r1, r3]), 2),
                              1: (2, sorted([r2, r4]), 2)},
                    "least-loaded: 2 routers per worker in master.workers")
            tap.is_(sorted(data(m.call("worker.dump", worker=1))
                           .get("routerIds") or []), sorted([r2, r4]),
                    "least-loaded: worker 1 itself has the same 2 routers")

            # --- explicit ids ---
            r = a.call("worker.createRouter", {"routerId": r1})
            tap.is_(r.get("error"), "TypeError", "routerId in use: TypeError")
            tap.is_(r.get("reason"), "data.routerId: an entity with id "
                    "'%s' already exists" % r1,
                    "routerId in use: the reason names data.routerId")
            r = a.call("worker.createRouter", {"routerId": 42})
            tap.ok(r.get("error") == "TypeError" and
                   str(r.get("reason")).startswith("data.routerId:"),
                   "routerId 42: TypeError naming data.routerId (%r)" % (r,))
            tap.is_(load(m)[0][0] + load(m)[1][0], 4,
                    "refused creates changed nothing")
            r = a.call("worker.createRouter", {"routerId": "explicit-1"})
            tap.is_((r.get("accepted"), data(r).get("routerId")),
                    (True, "explicit-1"),
                    "fresh explicit routerId: accepted with that id")
            tap.is_(owner_pid(a, "router.dump", "explicit-1"), pid[0],
                    "fresh explicit routerId: on worker 0 (tie)")

            # the same new id twice at once, on two workers: worker 0
            # answers the first create 500 ms late, the second is sent
            # while it is pending
            i0 = a.send_request("worker.createRouter",
                                {"routerId": "race", "fakeDelayMs": 500},
                                worker=0)
            time.sleep(0.1)
            i1 = b.send_request("worker.createRouter", {"routerId": "race"},
                                worker=1)
            got = [a.wait_response(i0), b.wait_response(i1)]
            tap.is_(sorted(str(x.get("accepted") or x.get("error"))
                           for x in got), ["True", "TypeError"],
                    "the same routerId created twice at once (workers 0 "
                    "and 1): one accepted, one TypeError")
            race_on = [i for i in (0, 1) if "race" in
                       (data(m.call("worker.dump", worker=i))
                        .get("routerIds") or [])]
            tap.is_(len(race_on), 1, "... and only one worker has it "
                    "(workers holding it: %r)" % (race_on,))
            for i in race_on:       # back to a known layout
                m.call("worker.closeRouter", {"routerId": "race"}, worker=i)
            tap.is_(load(m), {0: (3, sorted([r1, r3, "explicit-1"]), 3),
                              1: (2, sorted([r2, r4]), 2)},
                    "layout after the race is cleaned up")

            # --- transports, routed through their router ---
            r = a.call("router.createPlainTransport",
                       {"listenIp": "127.0.0.1"}, handler_id=r2)
            t1 = data(r).get("transportId")
            tap.like(t1, UUID4_RE, "createPlainTransport via handlerId: a "
                     "UUID v4 transportId")
            tap.is_(data(r).get("id"), t1, "createPlainTransport: the "
                    "worker got the master's transportId")
            d = data(a.call("transport.dump", handler_id=t1))
            tap.is_((d.get("workerPid"), d.get("parentId")), (pid[1], r2),
                    "transport.dump by handlerId reaches worker 1, under "
                    "its router")
            tap.is_(load(m)[1], (2, sorted([r2, r4]), 3),
                    "worker 1: still 2 routers, 3 entities")
            r = a.call("router.createPlainTransport", {},
                       handler_id="no-such-router")
            tap.is_((r.get("error"), r.get("reason")),
                    ("NotFoundError", "handlerId: no entity 'no-such-router'"),
                    "createPlainTransport on an unknown router: "
                    "NotFoundError")
            r = a.call("router.createPlainTransport", {"transportId": r1},
                       handler_id=r2)
            tap.is_((r.get("error"), r.get("reason")),
                    ("TypeError", "data.transportId: an entity with id "
                     "'%s' already exists" % r1),
                    "transportId equal to a router id: TypeError")

            # --- notifications ---
            s.expect_silence(0.1)
            r = emit(b, t1, "tuple", {"localPort": 40000}, handler_id=t1)
            tap.is_(r.get("accepted"), True, "fake.emit routed by handlerId")
            n = a.next_notification(3, event="tuple")
            tap.is_((n.get("targetId"), n.get("data")),
                    (t1, {"localPort": 40000}),
                    "the creating client gets its transport's event")
            n = s.next_notification(3, event="tuple")
            tap.is_(n.get("targetId"), t1, "a \"*\" subscriber gets it")
            tap.is_(notifications(b.expect_silence(0.3)), [],
                    "another client (which sent fake.emit) does not")
            b.call("master.subscribe", {"events": [t1]})
            emit(b, t1, "tuple", {"localPort": 40001}, handler_id=t1)
            n = b.next_notification(3, event="tuple")
            tap.is_((n.get("targetId"), n.get("data")),
                    (t1, {"localPort": 40001}),
                    "after subscribing to the targetId it does")
            b.call("master.unsubscribe")
            a.expect_silence(0.1)
            s.expect_silence(0.1)
            emit(b, "not-an-entity", "tuple", worker=1)
            tap.is_([n.get("event") for n in
                     notifications(s.expect_silence(0.3), "not-an-entity")],
                    ["tuple"], "an event for an unknown target reaches "
                    "\"*\" subscribers")
            tap.is_(notifications(a.expect_silence(0.1)), [],
                    "... and not the client that created other entities")

            # --- consumers: producerclose forgets the consumer only ---
            p1 = data(a.call("transport.produce", {"kind": "audio"},
                             handler_id=t1)).get("producerId")
            c1 = data(a.call("transport.consume", {"producerId": p1},
                             handler_id=t1)).get("consumerId")
            tap.ok(re.match(UUID4_RE, str(p1)) and
                   re.match(UUID4_RE, str(c1)),
                   "produce and consume via handlerId: UUID ids")
            tap.is_(load(m)[1][2], 5, "worker 1: 5 entities")
            emit(b, c1, "score", {"score": 10}, handler_id=c1)
            tap.is_(owner_pid(a, "consumer.dump", c1), pid[1],
                    "a non-closing event (score) forgets nothing")
            emit(b, c1, "producerclose", handler_id=c1)
            n = a.next_notification(3, event="producerclose")
            tap.is_(n.get("targetId"), c1, "the owner gets producerclose")
            not_found(a, "consumer.dump", c1, "after producerclose")
            tap.is_(owner_pid(a, "producer.dump", p1), pid[1],
                    "after producerclose: the producer is still known")
            tap.is_(load(m)[1][2], 4, "after producerclose: 4 entities")

            # --- transportclose, with a creator that left ---
            dcl = m.client()
            t2 = data(dcl.call("router.createPlainTransport", {},
                               handler_id=r4)).get("transportId")
            c2 = data(dcl.call("transport.consume", {"producerId": p1},
                               handler_id=t2)).get("consumerId")
            dcl.close()
            time.sleep(0.1)
            tap.is_(owner_pid(a, "transport.dump", t2), pid[1],
                    "a client's entities stay after it disconnected")
            s.expect_silence(0.1)
            emit(b, t2, "transportclose", handler_id=t2)
            n = s.next_notification(3, event="transportclose")
            tap.is_(n.get("targetId"), t2, "subscriber gets transportclose")
            not_found(a, "transport.dump", t2, "after transportclose")
            not_found(a, "consumer.dump", c2, "after transportclose, its "
                      "consumer")
            tap.is_(load(m)[1], (2, sorted([r2, r4]), 4),
                    "after transportclose: worker 1 back to 4 entities")

            # --- routerclose event ---
            emit(b, r3, "routerclose", handler_id=r3)
            not_found(a, "router.dump", r3, "after routerclose")
            tap.is_(load(m)[0], (2, sorted([r1, "explicit-1"]), 2),
                    "after routerclose: worker 0 has 2 routers")

            # --- worker.closeRouter and router.close ---
            r = a.call("worker.closeRouter", {}, worker=1)
            tap.is_((r.get("error"), r.get("reason")),
                    ("TypeError", "data.routerId: missing"),
                    "worker.closeRouter without routerId: TypeError")
            close_router(m, a, r2, "closeRouter", 1)
            not_found(a, "router.dump", r2, "after closeRouter")
            not_found(a, "transport.dump", t1, "after closeRouter, its "
                      "transport")
            not_found(a, "producer.dump", p1, "after closeRouter, its "
                      "producer")
            tap.is_(load(m)[1], (1, [r4], 1),
                    "after closeRouter: worker 1 has routers 1 [r4]")
            tap.is_(data(m.call("worker.dump", worker=1)).get("entityIds"),
                    [r4], "after closeRouter: the fake agrees")
            r = a.call("worker.closeRouter", {"routerId": "explicit-1"},
                       worker=0)
            tap.is_(r.get("accepted"), True, "worker.closeRouter with the "
                    "owner's worker index: accepted")
            not_found(a, "router.dump", "explicit-1", "after closeRouter "
                      "with worker index")
            r = a.call("router.close", handler_id=r4)
            tap.is_(r.get("accepted"), True, "router.close by handlerId: "
                    "accepted")
            not_found(a, "router.dump", r4, "after router.close")
            tap.is_(load(m), {0: (1, [r1], 1), 1: (0, [], 0)},
                    "layout: worker 0 has r1, worker 1 nothing")

            # --- kill -9 of a worker with entities ---
            r5 = data(a.call("worker.createRouter")).get("routerId")
            t3 = data(a.call("router.createPlainTransport", {},
                             handler_id=r5)).get("transportId")
            tap.is_(owner_pid(a, "router.dump", r5), pid[1],
                    "kill: r5 on worker 1")
            s.expect_silence(0.1)
            ih = a.send_request("fake.hang", worker=1)
            idump = a.send_request("router.dump", handler_id=r5)
            time.sleep(0.3)     # both relayed
            os.kill(pid[1], signal.SIGKILL)
            died = s.next_notification(5, event="worker.died")
            dd = data(died)
            tap.is_((dd.get("index"), dd.get("pid"), dd.get("signal"),
                     dd.get("exitCode")), (1, pid[1], 9, None),
                    "kill: worker.died for worker 1, signal 9")
            tap.is_(sorted(dd.get("lostEntityIds") or []), sorted([r5, t3]),
                    "kill: lostEntityIds is exactly r5 and its transport")
            for i, what in ((ih, "fake.hang"), (idump, "router.dump")):
                r = a.wait_response(i, 3, what)
                tap.is_((r.get("error"), r.get("reason")),
                        ("Error", "worker 1 exited on signal 9 (Killed)"),
                        "kill: pending %s fails with Error naming the "
                        "death" % what)
            not_found(a, "router.dump", r5, "after kill")
            not_found(a, "transport.dump", t3, "after kill, its transport")
            ws = m.wait_ready(2)
            pid1b = ws[1]["pid"]
            tap.ok(pid1b != pid[1] and ws[0]["pid"] == pid[0],
                   "kill: worker 1 respawned, worker 0 untouched")
            tap.is_(load(m), {0: (1, [r1], 1), 1: (0, [], 0)},
                    "kill: only worker 0's r1 is left in the table")

            # --- reload 2 -> 1 while worker 1 has a router: it drains ---
            r6 = data(a.call("worker.createRouter")).get("routerId")
            tap.is_(owner_pid(a, "router.dump", r6), pid1b,
                    "drain: r6 on the new worker 1")
            s.expect_silence(0.1)
            m.write_conf(workers=1, main=MAIN)
            r = m.call("master.reload")
            tap.is_(r.get("data"), {"generation": 0, "workers": 1},
                    "drain: master.reload to 1 worker")
            time.sleep(0.5)
            w1 = by_index(m.workers()).get(1) or {}
            tap.is_((w1.get("state"), w1.get("pid"), w1.get("routers"),
                     w1.get("routerIds")), ("draining", pid1b, 1, [r6]),
                    "drain: worker 1 stays, draining, with its router")
            tap.ok(sfu.pid_alive(pid1b), "drain: its process runs")
            tap.is_(((m.status() or {}).get("workers") or {}).get(
                "draining"), 1, "drain: master.status counts 1 draining")
            tap.is_(owner_pid(a, "router.dump", r6), pid1b,
                    "drain: router.dump by handlerId still reaches it")
            t6 = data(a.call("router.createPlainTransport", {},
                             handler_id=r6)).get("transportId")
            tap.is_(owner_pid(a, "transport.dump", t6), pid1b,
                    "drain: a transport on its router is still created")
            new = [data(a.call("worker.createRouter")).get("routerId")
                   for _ in range(2)]
            tap.is_([owner_pid(a, "router.dump", x) for x in new],
                    [pid[0], pid[0]],
                    "drain: new routers go to worker 0 only (though it "
                    "has more)")
            r = a.call("worker.createRouter", worker=1)
            tap.is_((r.get("error"), r.get("reason")),
                    ("NotFoundError", "worker: no worker 1"),
                    "drain: createRouter with worker 1: NotFoundError")
            close_router(m, a, r6, "drain", 1)
            left = sfu.wait_pids_gone([pid1b], 5)
            tap.is_(left, [], "drain: worker 1 exited after its last "
                    "router closed")
            try:
                ws = m.wait_workers(lambda ws: len(ws) == 1, 3, "1 worker")
            except AssertionError as e:
                tap.diag(str(e))
            tap.is_([(w.get("index"), w.get("pid"), w.get("state"))
                     for w in m.workers()], [(0, pid[0], "running")],
                    "drain: master.workers lists worker 0 only")
            tap.ok(m.wait_log(r"worker 1 pid %d drained" % pid1b, 1) and
                   m.wait_log(r"worker 1 pid %d exited with code 0" % pid1b,
                              1), "drain: log says drained, exit code 0")
            not_found(a, "transport.dump", t6, "drain: after the close, "
                      "its transport")
            evs = [n.get("event") for n in
                   notifications(s.expect_silence(0.3), "master")]
            tap.ok("worker.died" not in evs,
                   "drain: no worker.died for it (%r)" % (evs,))

            # --- SIGQUIT with a router alive ---
            for x in new:
                a.call("worker.closeRouter", {"routerId": x}, worker=0)
            tap.is_(load(m), {0: (1, [r1], 1)}, "quit: worker 0 has r1")
            m.send_signal(signal.SIGQUIT)
            deadline = time.monotonic() + 3
            st = {}
            while time.monotonic() < deadline:
                st = m.status() or {}
                if st.get("state") == "quitting":
                    break
                time.sleep(0.05)
            tap.is_(st.get("state"), "quitting", "quit: master.status says "
                    "quitting")
            w0 = by_index(m.workers()).get(0) or {}
            tap.is_((w0.get("state"), w0.get("routers")), ("draining", 1),
                    "quit: worker 0 draining with 1 router")
            r = a.call("worker.createRouter")
            tap.is_((r.get("error"), r.get("reason")),
                    ("InvalidStateError",
                     "master is shutting down: no new routers"),
                    "quit: no new routers (InvalidStateError)")
            tap.is_(owner_pid(a, "router.dump", r1), pid[0],
                    "quit: r1 still answers by handlerId")
            time.sleep(1.0)
            tap.ok(m.alive() and sfu.pid_alive(pid[0]),
                   "quit: master and worker 0 still up after 1 s")
            tap.is_((m.status() or {}).get("state"), "quitting",
                    "quit: and still answering on the socket")
            r = a.call("router.close", handler_id=r1)
            tap.is_(r.get("accepted"), True, "quit: router.close r1")
            code = m.wait_exit(5)
            tap.is_(code, 0, "quit: the master exits 0 once the last "
                    "router is closed")
            tap.ok(m.wait_log(r"worker 0 pid %d drained" % pid[0], 0),
                   "quit: log says worker 0 drained")
            for c in (a, b, s):
                c.close()
        finally:
            stopped = m.stop()
        if code is None:
            code = stopped
        tap.is_(code, 0, "exit 0")
        m.check_aftermath()


main()
