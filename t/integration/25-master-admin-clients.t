#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The admin socket under misbehaving and numerous clients (DESIGN §3, §4):
# garbage with a readable id gets a TypeError, without one it is counted
# and ignored, a peer that does not speak the framing (an HTTP request) is
# disconnected, an oversize frame is answered and skipped; a slow client
# that never reads is dropped (logged, counted) while another client keeps
# working; a client that leaves with requests in flight disturbs no one;
# 200 concurrent clients all get their own answers; the socket mode comes
# from the config; max_clients is enforced.
import os
import re
import signal
import stat
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402


def invalid_count(m):
    return (m.status() or {}).get("invalidMessages")


def wait_status(m, key, want, timeout=3):
    """Polls master.status until status[key] == want; returns the last
    value seen."""
    deadline = time.monotonic() + timeout
    while True:
        v = (m.status() or {}).get(key)
        if v == want or time.monotonic() >= deadline:
            return v
        time.sleep(0.02)


def check_mode(m):
    st = os.lstat(m.sock_path)
    tap.ok(stat.S_ISSOCK(st.st_mode), "the admin path is a socket")
    tap.is_(oct(st.st_mode & 0o7777), oct(0o660), "socket mode 0660 as "
            "configured")


def check_garbage(m):
    before = invalid_count(m)
    tap.is_(before, 0, "garbage: no invalid message yet")
    c1 = m.client()

    # Not MessagePack after a readable id: TypeError for that id.
    c1.send_raw(sfu.frame(b"\x83\xa2id\x07\xa6method\xc1\xc1\xc1"))
    r = c1.recv(3)
    tap.is_((r.get("id"), r.get("error")), (7, "TypeError"),
            "not msgpack, readable id 7: TypeError for id 7")
    tap.ok(isinstance(r.get("reason"), str) and r.get("reason"),
           "... with a reason (%r)" % r.get("reason"))

    # Unreadable: no answer, the connection still works.
    c1.send_raw(sfu.frame(b"\xc1\xc1\xc1\xc1\xc1"))
    tap.is_(c1.expect_silence(0.3), [], "unreadable bytes: no answer")
    c1.send_raw(sfu.frame(sfu.pack([1, 2, 3])))
    tap.is_(c1.expect_silence(0.3), [], "an array, not a map: no answer")
    r = c1.call("master.status")
    tap.is_(r.get("accepted"), True, "the connection still works after "
            "garbage")

    # A map without a method: TypeError for its id.
    c1.send({"id": 9})
    r = c1.recv(3)
    tap.is_((r.get("id"), r.get("error")), (9, "TypeError"),
            "a request without method: TypeError")
    tap.like(r.get("reason"), r"method", "... naming method")

    # An oversize frame (5 MiB > 4 MiB) with a readable id: answered,
    # skipped, the connection goes on.
    big = b"\x82\xa2id\xcd\x01\x00" + b"\xc0" * (5 * 1024 * 1024)
    c1.send_raw(sfu.frame(big), timeout=20)
    r = c1.recv(5)
    tap.is_((r.get("id"), r.get("error")), (256, "TypeError"),
            "oversize frame: TypeError for its id")
    tap.like(r.get("reason"), r"exceeds the limit", "... saying why")
    r = c1.call("master.status", timeout=5)
    tap.is_(r.get("accepted"), True, "oversize frame: the connection goes "
            "on")

    # A peer that does not speak the framing: closed, no answer.
    c2 = m.client()
    c2.send_raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    tap.ok(c2.wait_closed(3), "HTTP request: the connection is closed")
    tap.is_(c2.pending(), [], "HTTP request: no answer")
    c2.close()

    tap.is_(invalid_count(m), before + 6,
            "master.status invalidMessages grew by 6")
    tap.ok(m.wait_log(r"sent an invalid request \[id:7 ", 1) and
           m.wait_log(r"framing lost", 1),
           "log: the invalid request and the lost framing")
    tap.is_(c1.call("master.status").get("accepted"), True,
            "the first client is still fine")
    c1.close()


def check_slow_client(m):
    good = m.client()
    slow = m.client()
    r = slow.call("master.subscribe", {"events": ["*"]})
    tap.is_(r.get("accepted"), True, "slow client subscribed to *")
    dropped_before = (m.status() or {}).get("droppedClients")
    n = 3000
    blob = b"".join(sfu.encode(sfu.AdminClient.request("master.status",
                                                       id=i))
                    for i in range(n))
    # The slow client writes and never reads; once it is dropped, the
    # master stops reading it too, so its writes may stall or fail.
    view = memoryview(blob)
    deadline = time.monotonic() + 5
    while view and time.monotonic() < deadline:
        try:
            sent = slow.sock.send(view[:65536])
            view = view[sent:]
        except BlockingIOError:
            time.sleep(0.005)
        except (BrokenPipeError, ConnectionResetError):
            break
    r = good.call("master.status")
    tap.is_(r.get("accepted"), True, "another client works meanwhile")
    mt = m.wait_log(r"admin client \d+ dropped: output limit of 4096 bytes",
                    5)
    tap.ok(mt, "log: the slow client was dropped at the 4k output limit")
    st = m.status() or {}
    tap.ok(isinstance(st.get("droppedClients"), int) and
           st["droppedClients"] >= dropped_before + 1,
           "master.status droppedClients grew (%s)" %
           st.get("droppedClients"))
    # Now it reads: what was sent before the drop, then EOF.
    tap.ok(slow.wait_closed(5), "the slow client's connection was closed")
    got = [x for x in slow.pending() if sfu.is_response(x)]
    tap.ok(len(got) < n, "the slow client lost answers (%d of %d came)" %
           (len(got), n))
    slow.close()
    for i in range(3):
        r = good.call("worker.ping", worker=0)
    tap.is_(r.get("accepted"), True, "the other client still works after "
            "the drop")
    good.close()


def check_disconnect_in_flight(m, w0):
    since = m.log_size()
    y = m.client()
    os.kill(w0, signal.SIGSTOP)
    try:
        x = m.client()
        for i in range(50):
            x.send_request("worker.ping", worker=0, id=i)
        # (pings: small answers, all 50 fit in client_output_limit 4k
        # even when they come out in one burst)
        yids = [y.send_request("worker.ping", worker=0, id=i)
                for i in range(50)]
        pend = wait_status(m, "pendingRequests", 100, 3)
        tap.is_(pend, 100, "100 requests pending at the stopped worker")
        x.close()
        n_clients = wait_status(m, "adminClients", 2, 3)  # m.ctl and y
        tap.is_(n_clients, 2, "the client with requests in flight is gone")
    finally:
        os.kill(w0, signal.SIGCONT)
    rs = [y.wait_response(id, 5) for id in yids]
    tap.is_(rs, [{"id": id, "accepted": True} for id in yids],
            "the other client gets all its answers")
    tap.is_((y.call("worker.dump", worker=0).get("data") or {}).get("pid"),
            w0, "the other client still talks to the same worker")
    tap.is_(y.expect_silence(0.2), [], "... and nothing else")
    tap.is_(wait_status(m, "pendingRequests", 0, 3), 0,
            "the orphaned requests are answered and forgotten")
    tap.unlike(m.log()[since:], r"(?m)^\S+ error ",
               "no error in the log meanwhile")
    y.close()


def check_many_clients(m, w0):
    base = wait_status(m, "adminClients", 1, 3)     # m.ctl
    clients = [m.client() for _ in range(200)]
    for k, c in enumerate(clients):
        c.send(sfu.AdminClient.request("master.status", id=3 * k))
        c.send(sfu.AdminClient.request("worker.ping", worker=0,
                                       id=3 * k + 1))
        c.send(sfu.AdminClient.request("worker.dump", worker=0,
                                       id=3 * k + 2))
    good = 0
    bad = []
    for k, c in enumerate(clients):
        r0 = c.wait_response(3 * k, 10)
        r1 = c.wait_response(3 * k + 1, 10)
        r2 = c.wait_response(3 * k + 2, 10)
        if (r0.get("accepted") is True and
                (r0.get("data") or {}).get("pid") == m.pid and
                r1 == {"id": 3 * k + 1, "accepted": True} and
                (r2.get("data") or {}).get("pid") == w0):
            good += 1
        elif len(bad) < 3:
            bad.append((k, r0.get("error"), r1, r2.get("error")))
    tap.is_(good, 200, "200 concurrent clients: all 600 answers right")
    tap.is_(bad, [], "200 concurrent clients: no wrong answer")
    tap.is_((m.status() or {}).get("adminClients"), base + 200,
            "master.status counts 200 more clients")
    for c in clients:
        c.close()
    tap.is_(wait_status(m, "adminClients", base, 3), base,
            "and forgets them when they leave")


def check_max_clients(tmp):
    m = sfu.Master(tmp, workers=1, name="max5", admin="    max_clients 5;")
    try:
        m.start()
        m.wait_ready(1)
        tap.is_(wait_status(m, "adminClients", 1, 3), 1,
                "max_clients: one client (the test's) to start with")
        cs = [m.client() for _ in range(4)]
        oks = [c.call("master.status").get("accepted") for c in cs]
        tap.is_(oks, [True] * 4, "max_clients 5: clients 2-5 served")
        sixth = m.client()
        try:
            sixth.send_request("master.status", id=66)
        except AssertionError:
            pass
        tap.ok(sixth.wait_closed(3), "max_clients 5: the 6th connection "
               "is closed")
        tap.is_([x for x in sixth.pending() if sfu.is_response(x)], [],
                "max_clients 5: the 6th gets no answer")
        sixth.close()
        tap.ok(m.wait_log(r"max_clients 5 reached", 1),
               "max_clients: log says the client was refused")
        tap.is_((m.status() or {}).get("adminClients"), 5,
                "max_clients: still 5 clients")
        cs[0].close()
        tap.is_(wait_status(m, "adminClients", 4, 3), 4,
                "max_clients: one leaves")
        with m.client() as again:
            tap.is_(again.call("master.status").get("accepted"), True,
                    "max_clients: then a new client is served")
        for c in cs[1:]:
            c.close()
    finally:
        code = m.stop()
    tap.is_(code, 0, "max_clients: TERM -> exit 0")
    m.check_aftermath("max_clients")


def main():
    tap.plan(53)
    with sfu.tempdir() as tmp:
        m = sfu.Master(tmp, workers=1,
                       admin="    mode 0660;\n    client_output_limit 4k;")
        try:
            m.start()
            ws = m.wait_ready(1)
            check_mode(m)
            check_garbage(m)
            check_slow_client(m)
            check_disconnect_in_flight(m, ws[0]["pid"])
            check_many_clients(m, ws[0]["pid"])
            tap.is_(m.workers()[0].get("pid"), ws[0]["pid"],
                    "the worker survived it all")
        finally:
            code = m.stop()
        tap.is_(code, 0, "TERM: exit 0")
        m.check_aftermath()
        check_max_clients(tmp)


main()
