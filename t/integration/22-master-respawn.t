#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The master keeps its pool alive (DESIGN §4, §5): a worker killed with
# SIGKILL is announced (worker.died, then worker.spawned with a new pid for
# the same index) and counted in master.workers' restarts; a request in
# flight to a dying worker fails at once with an Error naming the death; a
# crash loop backs off with growing delays while the master keeps
# answering; a worker that rejects its settings (exit 2) waits a long
# backoff; a hung worker (SIGSTOP) is found by the liveness ping and
# replaced; a worker that never says "running" is killed at
# worker_start_timeout and retried.
import os
import re
import signal
import sys
import time
from datetime import datetime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402


def script(tmp, name, body):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + body + "\n")
    os.chmod(path, 0o755)
    return path


def log_time(line):
    """The wall time of a log line ("2026-11-22T10:45:23.123Z ..."), s."""
    stamp = line.split(" ", 1)[0]
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def started_times(m, index=0):
    return [(log_time(ln), int(mt.group(1)))
            for ln in m.log().splitlines()
            for mt in [re.search(r"worker %d pid (\d+) started" % index, ln)]
            if mt]


def by_index(ws):
    return {w["index"]: w for w in ws}


def check_kill_and_inflight(tmp):
    m = sfu.Master(tmp, workers=2, name="kill")
    try:
        m.start()
        ws = by_index(m.wait_ready(2))
        sub = m.client()
        r = sub.call("master.subscribe", {"events": ["*"]})
        tap.is_(r.get("accepted"), True, "master.subscribe [*] accepted")

        # SIGKILL worker 0: died, then spawned, same index, new pid.
        old = ws[0]["pid"]
        os.kill(old, signal.SIGKILL)
        died = sub.next_notification(5, event="worker.died")
        d = died.get("data") or {}
        tap.is_(died.get("targetId"), "master", "worker.died: targetId "
                "master")
        tap.is_((d.get("index"), d.get("pid"), d.get("signal"),
                 d.get("exitCode"), d.get("lostEntityIds")),
                (0, old, 9, None, []),
                "worker.died: index 0, its pid, signal 9, no exit code, "
                "lostEntityIds []")
        tap.like(d.get("reason"), r"signal 9", "worker.died: reason names "
                 "the signal")
        sp = sub.next_notification(5, event="worker.spawned")
        s = sp.get("data") or {}
        tap.ok(s.get("index") == 0 and isinstance(s.get("pid"), int) and
               s.get("pid") != old and s.get("restarts") == 1,
               "worker.spawned: index 0, a new pid, restarts 1 (%r)" % (s,))
        ws2 = by_index(m.wait_ready(2))
        tap.is_((ws2[0]["pid"], ws2[0]["restarts"], ws2[0]["state"]),
                (s.get("pid"), 1, "running"),
                "master.workers: worker 0 has the new pid, restarts 1")
        tap.is_((ws2[1]["pid"], ws2[1]["restarts"]), (ws[1]["pid"], 0),
                "master.workers: worker 1 untouched")
        tap.ok(not sfu.pid_alive(old), "the killed pid is gone")
        tap.ok(m.wait_log(r"worker 0 pid %d exited on signal 9" % old, 2),
               "log: worker 0 pid %d exited on signal 9" % old)
        r = m.call("worker.dump", worker=0)
        tap.is_((r.get("data") or {}).get("pid"), s.get("pid"),
                "the new worker 0 answers requests")

        # A request in flight to a worker that dies: SIGSTOP it so it
        # cannot answer, send, then SIGKILL it.
        c = m.client()
        victim = ws2[1]["pid"]
        os.kill(victim, signal.SIGSTOP)
        try:
            ids = [c.send_request("worker.ping", worker=1) for _ in range(3)]
            c.expect_silence(0.2)
            st = m.status() or {}
            tap.ok(st.get("pendingRequests", 0) >= 3,
                   "3 requests pending at the stopped worker (%s)" %
                   st.get("pendingRequests"))
        finally:
            os.kill(victim, signal.SIGKILL)
        t0 = time.monotonic()
        rs = [c.wait_response(id, 3) for id in ids]
        took = time.monotonic() - t0
        tap.is_([r.get("error") for r in rs], ["Error"] * 3,
                "in-flight requests fail with Error when the worker dies")
        tap.like(rs[0].get("reason"), r"worker 1\b.*signal 9",
                 "the reason names the worker and its death")
        tap.ok(took < 2.0, "the errors came at once (%.2fs)" % took)
        tap.is_(c.expect_silence(0.2), [], "nothing else for that client")
        died = sub.next_notification(5, event="worker.died")
        tap.is_((died.get("data") or {}).get("pid"), victim,
                "worker.died for the stopped-then-killed worker")
        ws3 = by_index(m.wait_ready(2))
        tap.is_(ws3[1]["restarts"], 1, "worker 1 respawned (restarts 1)")
        tap.is_((m.status() or {}).get("pendingRequests"), 0,
                "no request left pending")
        c.close()
        sub.close()
    finally:
        code = m.stop()
    tap.is_(code, 0, "kill: TERM -> exit 0")
    m.check_aftermath("kill")


def check_crash_loop(tmp):
    crash = script(tmp, "crash.sh", "exit 1")
    m = sfu.Master(tmp, workers=1, worker_bin=crash, name="loop",
                   main="worker_shutdown_timeout 300ms;")
    answers = []
    try:
        m.start()
        t_end = time.monotonic() + 3.4
        while time.monotonic() < t_end:
            st = m.status() or {}
            answers.append(st.get("state"))
            time.sleep(0.25)
        starts = started_times(m)
        tap.ok(len(starts) >= 5, "crash loop: %d starts in 3.4 s (>= 5)" %
               len(starts))
        tap.ok(len(starts) <= 9, "crash loop: no more than 9 starts in "
               "3.4 s: it backs off (%d)" % len(starts))
        gaps = [round(b[0] - a[0], 3) for a, b in zip(starts, starts[1:])]
        tap.diag("gaps between starts: %r" % gaps)
        tap.ok(len(gaps) >= 4 and all(b > a for a, b in zip(gaps, gaps[1:])),
               "crash loop: each delay between starts is longer than the "
               "one before (%r)" % gaps)
        tap.ok(len(gaps) >= 4 and gaps[-1] > 2 * gaps[1],
               "crash loop: the delays grow (exponentially), not by "
               "jitter (%r)" % gaps)
        delays = [int(x) for x in re.findall(
            r"worker 0 keeps dying; respawning in (\d+) ms", m.log())]
        tap.ok(len(delays) >= 3 and
               all(b > a for a, b in zip(delays, delays[1:])),
               "log: announced delays grow (%r)" % delays)
        tap.ok(len(answers) >= 10 and
               all(a == "running" for a in answers),
               "master.status answered 'running' all along (%d answers)" %
               len(answers))
        ws = m.workers()
        tap.ok(len(ws) == 1 and ws[0].get("restarts", 0) >= 4 and
               ws[0].get("state") in ("respawning", "starting"),
               "master.workers: worker 0 respawning, restarts >= 4 (%r)" %
               (ws,))
        tap.ok(m.alive(), "the master is still up")
    finally:
        code = m.stop()
    tap.is_(code, 0, "crash loop: TERM -> exit 0")
    m.check_aftermath("crash loop")


def check_exit2(tmp):
    rejects = script(tmp, "rejects.sh", "exit 2")
    m = sfu.Master(tmp, workers=1, worker_bin=rejects, name="exit2",
                   main="worker_shutdown_timeout 300ms;")
    try:
        m.start()
        mt = m.wait_log(r"worker 0 rejected its settings; respawning in "
                        r"(\d+) ms", 3)
        tap.ok(mt, "exit 2: log says the worker rejected its settings")
        t0 = time.monotonic()
        time.sleep(2.0)
        starts = started_times(m)
        tap.is_(len(starts), 1, "exit 2: no second start within 2 s")
        tap.ok(mt and int(mt.group(1)) >= 10000,
               "exit 2: the announced backoff is long (%s ms)" %
               (mt.group(1) if mt else None))
        st = m.status() or {}
        tap.is_(st.get("state"), "running", "exit 2: the master answers")
        ws = m.workers()
        tap.ok(len(ws) == 1 and ws[0].get("state") == "respawning" and
               ws[0].get("pid") is None and ws[0].get("restarts") == 1,
               "exit 2: worker 0 waits to respawn, no pid (%r)" % (ws,))
        tap.diag("waited %.1fs" % (time.monotonic() - t0))
    finally:
        code = m.stop()
    tap.is_(code, 0, "exit 2: TERM -> exit 0")
    m.check_aftermath("exit 2")


def check_hung(tmp):
    m = sfu.Master(tmp, workers=1, name="hung",
                   main="worker_ping_interval 200ms;\n"
                        "worker_ping_timeout 1s;")
    try:
        m.start()
        ws = m.wait_ready(1)
        sub = m.client()
        sub.call("master.subscribe", {"events": ["worker.died",
                                                 "worker.spawned"]})
        # Pings go out and come back: nothing happens to a live worker.
        time.sleep(0.6)
        tap.is_(m.workers()[0].get("pid"), ws[0]["pid"],
                "a worker that answers its pings is left alone")
        old = ws[0]["pid"]
        t0 = time.monotonic()
        os.kill(old, signal.SIGSTOP)
        mt = m.wait_log(r"worker 0 pid %d has not answered a ping for "
                        r"(\d+) ms, killing it" % old, 5)
        took = time.monotonic() - t0
        tap.ok(mt, "hung worker: log says it did not answer a ping")
        tap.ok(mt and 1000 <= int(mt.group(1)) < 3000 and took < 3.5,
               "hung worker: found after about worker_ping_timeout "
               "(%s ms, %.2fs)" % (mt.group(1) if mt else None, took))
        died = sub.next_notification(3, event="worker.died")
        tap.is_(((died.get("data") or {}).get("pid"),
                 (died.get("data") or {}).get("signal")), (old, 9),
                "hung worker: worker.died, signal 9")
        ws2 = m.wait_ready(1)
        tap.ok(ws2[0]["pid"] != old and ws2[0]["restarts"] == 1,
               "hung worker: replaced by a running worker with a new pid")
        tap.is_(sfu.wait_pids_gone([old], 3), [], "hung worker: gone")
        r = m.call("worker.ping", worker=0)
        tap.is_(r.get("accepted"), True, "the new worker answers")
        sub.close()
    finally:
        try:
            os.kill(ws[0]["pid"], signal.SIGCONT)
        except (ProcessLookupError, NameError, UnboundLocalError):
            pass
        code = m.stop()
    tap.is_(code, 0, "hung: TERM -> exit 0")
    m.check_aftermath("hung")


def check_start_timeout(tmp):
    mute = script(tmp, "mute.sh", "exec sleep 100")
    m = sfu.Master(tmp, workers=1, worker_bin=mute, name="mute",
                   main="worker_start_timeout 500ms;\n"
                        "worker_shutdown_timeout 300ms;")
    try:
        m.start()
        t0 = time.monotonic()
        mt = m.wait_log(r"worker 0 pid (\d+) did not start within 500 ms, "
                        r"killing it", 3)
        took = time.monotonic() - t0
        tap.ok(mt, "start timeout: log says the worker did not start")
        tap.ok(0.3 <= took < 2.0, "start timeout: after about 500 ms "
               "(%.2fs)" % took)
        first = int(mt.group(1)) if mt else -1
        tap.ok(m.wait_log(r"worker 0 pid %d exited on signal 9" % first, 2),
               "start timeout: that pid was killed")
        mt2 = m.wait_log(r"worker 0 pid (?!%d\b)(\d+) started" % first, 2)
        tap.ok(mt2, "start timeout: retried with a new process")
        mt3 = m.wait_log(r"(?s)did not start within.*did not start within",
                         3)
        tap.ok(mt3, "start timeout: the retry is timed out too")
        tap.is_(sfu.wait_pids_gone([first], 2), [],
                "start timeout: the killed process is gone")
        st = m.status() or {}
        tap.is_((st.get("workers") or {}).get("running"), 0,
                "start timeout: no worker counts as running")
    finally:
        code = m.stop()
    tap.is_(code, 0, "start timeout: TERM -> exit 0")
    m.check_aftermath("start timeout")


def main():
    tap.plan(65)
    with sfu.tempdir() as tmp:
        check_kill_and_inflight(tmp)
        check_crash_loop(tmp)
        check_exit2(tmp)
        check_hung(tmp)
        check_start_timeout(tmp)


main()
