#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Reload (DESIGN §5) by SIGHUP and by master.reload: more workers are
# spawned and the others keep their pids; fewer workers drain the surplus
# (no routers: they exit at once) while worker 0 keeps its pid; a bad
# config is logged with file:line and changes nothing; a log level change
# reaches the running workers live; an rtc_ports change starts a new
# generation and drains the old one; subscribers see master.reloaded.
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402

MAIN = "worker_drain_timeout 5s;\nworker_shutdown_timeout 2s;"


def pids(ws):
    return {w["index"]: w["pid"] for w in ws}


def reloaded(sub, name):
    """The next master.reloaded event's data (or {} after 5 s)."""
    try:
        n = sub.next_notification(5, event="master.reloaded")
    except AssertionError as e:
        tap.diag("%s: %s" % (name, e))
        return {}
    tap.is_(n.get("targetId"), "master", name + ": master.reloaded from "
            "target master")
    return n.get("data") or {}


def main():
    tap.plan(46)
    with sfu.tempdir() as tmp:
        m = sfu.Master(tmp, workers=2, main=MAIN)
        try:
            m.start()
            ws = m.wait_ready(2)
            p0 = pids(ws)
            sub = m.client()
            sub.call("master.subscribe", {"events": ["*"]})

            # 2 -> 3 by SIGHUP
            m.write_conf(workers=3, main=MAIN)
            m.send_signal(signal.SIGHUP)
            d = reloaded(sub, "2->3")
            tap.is_(d, {"generation": 0, "workers": 3,
                        "newGeneration": False}, "2->3: event data")
            ws = m.wait_ready(3)
            p1 = pids(ws)
            tap.is_((p1[0], p1[1]), (p0[0], p0[1]),
                    "2->3: workers 0 and 1 keep their pids")
            tap.ok(p1[2] not in p0.values() and sfu.pid_alive(p1[2]),
                   "2->3: a third worker with a new pid")
            sp = sub.next_notification(3, event="worker.spawned")
            tap.is_(((sp.get("data") or {}).get("index"),
                     (sp.get("data") or {}).get("pid")), (2, p1[2]),
                    "2->3: worker.spawned for worker 2")
            st = m.status() or {}
            tap.is_((st.get("reloads"), st.get("generation"),
                     (st.get("workers") or {}).get("configured")),
                    (1, 0, 3), "2->3: status reloads 1, generation 0, 3 "
                    "configured")
            tap.ok(m.wait_log(r"SIGHUP: reloading", 1), "2->3: log says "
                   "SIGHUP: reloading")

            # 3 -> 1 by SIGHUP: 1 and 2 drain and exit, 0 stays
            m.write_conf(workers=1, main=MAIN)
            m.send_signal(signal.SIGHUP)
            d = reloaded(sub, "3->1")
            tap.is_(d.get("workers"), 1, "3->1: event says 1 worker")
            t0 = time.monotonic()
            ws = m.wait_workers(lambda ws: len(ws) == 1, 5, "1 worker")
            took = time.monotonic() - t0
            tap.is_((ws[0].get("index"), ws[0].get("pid"),
                     ws[0].get("state")), (0, p0[0], "running"),
                    "3->1: worker 0 keeps its pid and runs")
            tap.ok(took < 3, "3->1: the empty workers left promptly "
                   "(%.2fs)" % took)
            tap.is_(sfu.wait_pids_gone([p1[1], p1[2]], 3), [],
                    "3->1: workers 1 and 2 exited")
            tap.ok(m.wait_log(r"worker 1 pid %d draining" % p1[1], 1) and
                   m.wait_log(r"worker 2 pid %d drained" % p1[2], 1),
                   "3->1: log says they drained")
            tap.ok(m.wait_log(r"worker 1 pid %d exited with code 0" %
                              p1[1], 2),
                   "3->1: worker 1 exited with code 0 (closed, not killed)")
            time.sleep(0.5)
            tap.is_(len(m.workers()), 1, "3->1: and they are not respawned")
            evs = [n.get("event") for n in sub.expect_silence(0.1)]
            tap.ok("worker.died" not in evs and "worker.spawned" not in evs,
                   "3->1: no worker.died/spawned for drained workers (%r)" %
                   evs)

            # a bad config on SIGHUP: logged with file:line, nothing changes
            text = m.conf_text(workers=4, main=MAIN) + \
                "worker_processes_typo 4;\n"
            bad_line = text.count("\n")
            m.write_conf(text)
            since = m.log_size()
            m.send_signal(signal.SIGHUP)
            mt = m.wait_log(r"reload failed, configuration kept: %s:%d: "
                            r"unknown directive \"worker_processes_typo\"" %
                            (re.escape(m.conf_path), bad_line), 3,
                            since=since)
            tap.ok(mt, "bad config: the log names file:line and the error")
            st = m.status() or {}
            tap.is_((st.get("reloads"), (st.get("workers") or {})
                     .get("configured")), (2, 1),
                    "bad config: reloads unchanged, still 1 worker")
            ws = m.workers()
            tap.is_(pids(ws), {0: p0[0]}, "bad config: same worker, same "
                    "pid")
            evs = [n.get("event") for n in sub.expect_silence(0.3)]
            tap.is_(evs, [], "bad config: no master.reloaded, no event")

            # ... and through master.reload
            r = m.call("master.reload")
            tap.is_(r.get("error"), "Error",
                    "master.reload with a bad config: Error")
            tap.like(r.get("reason"), r"%s:%d: unknown directive" %
                     (re.escape(m.conf_path), bad_line),
                     "master.reload with a bad config: reason has "
                     "file:line")
            tap.is_((m.status() or {}).get("reloads"), 2,
                    "master.reload failed: reloads unchanged")
            tap.is_(pids(m.workers()), {0: p0[0]},
                    "master.reload failed: same worker")

            # log level and tags apply live (master.reload)
            m.write_conf(workers=1, main=MAIN,
                         worker="    log_level debug;\n"
                                "    log_tags info ice;")
            r = m.call("master.reload")
            tap.is_(r.get("data"), {"generation": 0, "workers": 1},
                    "log level: master.reload answers {generation, "
                    "workers}")
            tap.is_(r.get("accepted"), True, "log level: accepted")
            d = reloaded(sub, "log level")
            tap.is_(d.get("newGeneration"), False,
                    "log level: not a new generation")

            def level(want):
                def cond(_):
                    dd = m.call("worker.dump", worker=0).get("data") or {}
                    return (dd.get("settings") or {}).get("logLevel") == want
                return cond
            try:
                m.wait_workers(level("debug"), 3, "logLevel debug")
                ok_level = True
            except AssertionError:
                ok_level = False
            dump = m.call("worker.dump", worker=0).get("data") or {}
            tap.ok(ok_level, "log level: worker 0 now at debug")
            tap.is_(sorted((dump.get("settings") or {}).get("logTags") or
                           []), ["ice", "info"], "log level: tags too")
            tap.is_(dump.get("pid"), p0[0], "log level: same worker pid")
            tap.ok(m.wait_log(r"reloaded \[generation:0 workers:1 "
                              r"log-settings\]", 1),
                   "log level: log says reloaded with log-settings")

            # rtc_ports: a new generation, the old one drained
            m.write_conf(workers=1, main=MAIN,
                         worker="    log_level debug;\n"
                                "    log_tags info ice;\n"
                                "    rtc_ports 41000-41999;")
            r = m.call("master.reload")
            tap.is_(r.get("data"), {"generation": 1, "workers": 1},
                    "rtc_ports: master.reload answers generation 1")
            d = reloaded(sub, "rtc_ports")
            tap.is_(d, {"generation": 1, "workers": 1,
                        "newGeneration": True},
                    "rtc_ports: event says new generation")
            t0 = time.monotonic()
            ws = m.wait_ready(1, generation=1)
            took = time.monotonic() - t0
            tap.ok(ws[0]["pid"] != p0[0] and ws[0]["index"] == 0,
                   "rtc_ports: worker 0 of generation 1 has a new pid")
            tap.ok(took < 3, "rtc_ports: the old generation left "
                   "promptly (%.2fs)" % took)
            tap.is_(sfu.wait_pids_gone([p0[0]], 3), [],
                    "rtc_ports: the old worker exited")
            dump = m.call("worker.dump", worker=0).get("data") or {}
            s = dump.get("settings") or {}
            tap.is_((dump.get("pid"), s.get("rtcMinPort"),
                     s.get("rtcMaxPort"), s.get("logLevel")),
                    (ws[0]["pid"], 41000, 41999, "debug"),
                    "rtc_ports: the new worker runs with the new ports")
            sp = sub.next_notification(3, event="worker.spawned")
            tap.is_(((sp.get("data") or {}).get("generation"),
                     (sp.get("data") or {}).get("pid")), (1, ws[0]["pid"]),
                    "rtc_ports: worker.spawned for generation 1")
            st = m.status() or {}
            tap.is_((st.get("generation"), st.get("reloads")), (1, 4),
                    "rtc_ports: status generation 1, reloads 4")
            tap.ok(m.wait_log(r"worker 0 pid %d drained" % p0[0], 1),
                   "rtc_ports: log says the old worker drained")
            sub.close()
        finally:
            code = m.stop()
        tap.is_(code, 0, "TERM: exit 0")
        m.check_aftermath()


main()
