#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# sfud-worker's channel on fds 3/4, driven as the master drives it: the
# "running" notification, every worker.* method, errors for unsupported and
# unknown methods, ids, pipelining, and how the worker ends (worker.close,
# INT, TERM, fd 3 EOF, bad argv) or does not (HUP, USR1, ...).
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

RU_KEYS = ["ru_utime", "ru_stime", "ru_maxrss", "ru_ixrss", "ru_idrss",
           "ru_isrss", "ru_minflt", "ru_majflt", "ru_nswap", "ru_inblock",
           "ru_oublock", "ru_msgsnd", "ru_msgrcv", "ru_nsignals", "ru_nvcsw",
           "ru_nivcsw"]


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def accepted(resp, id, name):
    """resp is {id, accepted: true[, data]}."""
    tap.is_(resp.get("id"), id, name + ": id")
    return tap.is_(resp.get("accepted"), True, name + ": accepted") and \
        tap.ok("error" not in resp, name + ": no error")


def rejected(resp, id, error, reason_re, name):
    """resp is {id, error, reason} with error and reason as expected."""
    tap.is_(resp.get("id"), id, name + ": id")
    tap.is_(resp.get("error"), error, name + ": " + error)
    tap.ok("accepted" not in resp, name + ": not accepted")
    return tap.like(resp.get("reason"), reason_re, name + ": reason")


def start(args):
    """A worker whose "running" notification has been read."""
    w = sfu.spawn_worker(args)
    msg = w.recv()
    if not sfu.is_notification(msg) or msg.get("event") != "running":
        tap.diag("expected the running notification, got %r" % (msg,))
    return w


def check_running_and_methods():
    args = ["--logLevel=debug", "--logTags=info,ice", "--rtcMinPort=40000",
            "--rtcMaxPort=40100"]
    with sfu.spawn_worker(args) as w:
        # The first message out: {targetId: "<pid>", event: "running"}.
        msg = w.recv()
        tap.is_(msg, {"targetId": str(w.pid), "event": "running"},
                "first message is the running notification, targetId = pid")

        # worker.ping
        resp = w.request("worker.ping", id=1)
        tap.is_(resp, {"id": 1, "accepted": True}, "worker.ping accepted")

        # worker.dump
        resp = w.request("worker.dump", id=2)
        accepted(resp, 2, "worker.dump")
        d = resp.get("data") or {}
        tap.is_(d.get("pid"), w.pid, "dump: pid is the worker's")
        tap.is_(d.get("routerIds"), [], "dump: routerIds empty")
        tap.is_(d.get("webRtcServerIds"), [], "dump: webRtcServerIds empty")
        s = d.get("settings") or {}
        tap.is_(s.get("logLevel"), "debug", "dump: settings.logLevel")
        tap.is_(sorted(s.get("logTags") or []), ["ice", "info"],
                "dump: settings.logTags")
        tap.is_(s.get("rtcMinPort"), 40000, "dump: settings.rtcMinPort")
        tap.is_(s.get("rtcMaxPort"), 40100, "dump: settings.rtcMaxPort")
        tap.is_(s.get("dtlsCertificateFile"), None,
                "dump: no dtlsCertificateFile")
        cmh = d.get("channelMessageHandlers") or {}
        tap.is_(cmh.get("channelRequestHandlers"), [],
                "dump: no channel request handlers")
        tap.is_(cmh.get("channelNotificationHandlers"), [],
                "dump: no channel notification handlers")
        ch = d.get("channel") or {}
        tap.is_(ch.get("transport"), "fd", "dump: channel transport is fd")
        tap.ok(is_uint(ch.get("requests")) and ch.get("requests") >= 2,
               "dump: channel.requests counts ping and dump")
        tap.ok(is_uint(d.get("uptimeMs")), "dump: uptimeMs")

        # With logLevel debug, requests are logged.
        tap.ok(w.wait_log(r"request \[id:2 method:worker\.dump", 2),
               "debug log shows the dump request")

        # worker.getResourceUsage
        resp = w.request("worker.getResourceUsage", id=3)
        accepted(resp, 3, "worker.getResourceUsage")
        ru = resp.get("data") or {}
        tap.is_(sorted(ru.keys()), sorted(RU_KEYS),
                "getResourceUsage: the 16 ru_* keys")
        bad = [k for k in RU_KEYS if not is_uint(ru.get(k))]
        tap.is_(bad, [], "getResourceUsage: all non-negative integers")
        tap.ok(is_uint(ru.get("ru_maxrss")) and ru["ru_maxrss"] > 0,
               "getResourceUsage: ru_maxrss > 0")

        # worker.updateSettings
        resp = w.request("worker.updateSettings",
                         {"logLevel": "warn", "logTags": ["rtp", "dtls"]},
                         id=4)
        accepted(resp, 4, "updateSettings logLevel warn, logTags rtp,dtls")
        s = (w.request("worker.dump").get("data") or {}).get("settings", {})
        tap.is_(s.get("logLevel"), "warn", "dump shows the new logLevel")
        tap.is_(sorted(s.get("logTags") or []), ["dtls", "rtp"],
                "dump shows the new logTags")
        tap.is_(s.get("rtcMinPort"), 40000, "updateSettings kept rtcMinPort")
        w.request("worker.ping", id=777001)
        tap.unlike(w.log(), r"request \[id:777001 ",
                   "after logLevel warn, requests are no longer logged")

        # Bad settings: TypeError naming the field, nothing changes.
        bad_updates = [
            ({"logLevel": "bogus"}, r"data\.logLevel", "unknown level"),
            ({"logLevel": 3}, r"data\.logLevel", "level not a string"),
            ({"logTags": ["info", "nope"]}, r"data\.logTags\[1\]",
             "unknown tag"),
            ({"logTags": [5]}, r"data\.logTags\[0\]", "tag not a string"),
            ({"logTags": "info"}, r"data\.logTags", "tags not an array"),
            ({"logLevel": "debug", "logTags": ["info", "bogus"]},
             r"data\.logTags\[1\]", "good level with a bad tag"),
        ]
        for i, (data, reason_re, what) in enumerate(bad_updates):
            resp = w.request("worker.updateSettings", data, id=100 + i)
            rejected(resp, 100 + i, "TypeError", reason_re,
                     "updateSettings, " + what)
        s = (w.request("worker.dump").get("data") or {}).get("settings", {})
        tap.is_((s.get("logLevel"), sorted(s.get("logTags") or [])),
                ("warn", ["dtls", "rtp"]),
                "rejected updateSettings changed nothing (all-or-nothing)")

        resp = w.request("worker.updateSettings", {"logTags": []}, id=120)
        accepted(resp, 120, "updateSettings with an empty logTags")
        s = (w.request("worker.dump").get("data") or {}).get("settings", {})
        tap.is_((s.get("logLevel"), s.get("logTags")), ("warn", []),
                "empty logTags clears the tags, level untouched")

        # Methods of mediasoup's catalogue not built yet.
        for i, (method, data, hid) in enumerate([
                ("router.createPipeTransport", {}, "r1"),
                ("router.createDirectTransport", None, "r1"),
                ("transport.produceData", None, "t1")]):
            resp = w.request(method, data, hid, id=200 + i)
            rejected(resp, 200 + i, "UnsupportedError", method.replace(
                ".", r"\."), method + " is UnsupportedError")

        # Unknown methods.
        for i, (method, hid) in enumerate([("worker.bogus", None),
                                           ("bogus", None),
                                           ("router.bogus", "r1"),
                                           ("bogus.method", None)]):
            resp = w.request(method, None, hid, id=300 + i)
            rejected(resp, 300 + i, "Error", "unknown method",
                     "unknown method %s%s" % (
                         method, " (handlerId)" if hid else ""))
        tap.ok(w.alive(), "worker still runs after all of the above")


def check_ids_and_pipelining():
    with start([]) as w:
        # Responses carry the request's id, whatever its encoding.
        ids = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**31, 4294967295]
        got = [w.request("worker.ping", id=i).get("id") for i in ids]
        tap.is_(got, ids, "responses carry the request's id (0 .. 2^32-1)")

        # id 5 as uint32 (0xce) and as uint8 (0xcc): non-minimal encodings.
        body = b"\xa6method\xabworker.ping"
        w.send_raw(sfu.frame(b"\x82\xa2id\xce\x00\x00\x00\x05" + body))
        w.send_raw(sfu.frame(b"\x82\xa2id\xcc\x06" + body))
        tap.is_([w.recv().get("id"), w.recv().get("id")], [5, 6],
                "non-minimal id encodings answered with the same id")

        # Many requests in one write, answered in order.
        methods = ["worker.ping", "worker.dump", "router.createPipeTransport",
                   "worker.bogus", "worker.getResourceUsage"]
        expect = [("accepted", True), ("accepted", True),
                  ("error", "UnsupportedError"), ("error", "Error"),
                  ("accepted", True)]
        blob = b""
        order = []
        for n in range(150):
            id = 5000 + (n * 7919) % 1000   # distinct, not increasing
            order.append((id, n % len(methods)))
            blob += sfu.encode(sfu.request_msg(methods[n % len(methods)],
                                               id=id))
        w.send_raw(blob)
        resps = [w.recv() for _ in order]
        tap.is_([r.get("id") for r in resps], [id for id, _ in order],
                "150 pipelined requests answered in order")
        wrong = [(r.get("id"), methods[k]) for r, (_, k) in zip(resps, order)
                 if r.get(expect[k][0]) != expect[k][1]]
        tap.is_(wrong, [], "each pipelined request got its own answer")
        tap.is_(w.expect_silence(0.2), [], "no extra messages")

        # worker.close: accepted, then fd 4 EOF and exit 0.
        resp = w.request("worker.close", id=9)
        tap.is_(resp, {"id": 9, "accepted": True}, "worker.close accepted")
        tap.ok(w.read_eof(5), "worker.close: fd 4 reaches EOF")
        tap.is_(w.pending(), [], "nothing sent after the close response")
        tap.is_(w.wait_exit(5), 0, "worker.close: exit 0")


def check_endings():
    for signo in (signal.SIGTERM, signal.SIGINT):
        name = signal.Signals(signo).name
        with start(["--logLevel=info"]) as w:
            tap.is_(w.request("worker.ping").get("accepted"), True,
                    name + ": worker answers before the signal")
            w.send_signal(signo)
            tap.is_(w.wait_exit(5), 0, name + ": exit 0")
            tap.ok(w.read_eof(2), name + ": fd 4 EOF")
            tap.like(w.log(), r"signal .* received, closing",
                     name + ": logged")

    with start([]) as w:
        w.close_channel()
        tap.is_(w.wait_exit(5), 0, "EOF on fd 3: exit 0")
        tap.ok(w.read_eof(2), "EOF on fd 3: fd 4 EOF")

    # A request in flight when fd 3 closes is still answered.
    with start([]) as w:
        w.send_request("worker.ping", id=42)
        w.req.shutdown(socket.SHUT_WR)
        try:
            resp = w.recv(5)
        except AssertionError as e:
            resp = repr(e)
        tap.is_(resp, {"id": 42, "accepted": True},
                "request written just before EOF on fd 3 is answered")
        tap.is_(w.wait_exit(5), 0, "then exit 0")

    # Signals other than INT/TERM are ignored.
    with start([]) as w:
        for signo in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2,
                      signal.SIGQUIT, signal.SIGPIPE):
            w.send_signal(signo)
            time.sleep(0.05)
        try:
            resp = w.request("worker.ping", id=43, timeout=3)
        except AssertionError as e:
            resp = repr(e)
        tap.is_(resp, {"id": 43, "accepted": True},
                "HUP, USR1, USR2, QUIT, PIPE ignored: ping still answered")
        tap.is_(w.wait_exit(0.1), None, "and the worker still runs")


def check_bad_argv():
    cases = [
        (["--logLevel=bogus"], r"--logLevel"),
        (["--logTags=info,bogus"], r"--logTags.*bogus"),
        (["--rtcMinPort=0"], r"--rtcMinPort"),
        (["--rtcMaxPort=65536"], r"--rtcMaxPort"),
        (["--rtcMinPort=50000", "--rtcMaxPort=40000"], r"--rtcMinPort"),
        (["--foo=1"], r"--foo"),
        (["logLevel=debug"], r"logLevel=debug"),
        (["--dtlsCertificateFile=/nonexistent"], r"--dtlsCertificateFile"),
    ]
    for args, opt_re in cases:
        with sfu.spawn_worker(args) as w:
            code = w.wait_exit(5)
            tap.is_(code, 2, "%s: exit 2" % " ".join(args))
            tap.like(w.log(), opt_re, "%s: option named on stderr" %
                     " ".join(args))
            tap.ok(w.read_eof(1) and w.pending() == [],
                   "%s: nothing sent on fd 4" % " ".join(args))

    # Started by hand, without fds 3/4: refuses with exit 2.
    r = subprocess.run([sfu.worker_path()], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       close_fds=True, timeout=10)
    tap.is_(r.returncode, 2, "without fds 3/4: exit 2")
    tap.like(r.stderr.decode("utf-8", "replace"), r"fds 3 and 4",
             "without fds 3/4: says why")


tap.plan(139)
check_running_and_methods()
check_ids_and_pipelining()
check_endings()
check_bad_argv()
