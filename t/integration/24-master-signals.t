#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The master's signals and life cycle (DESIGN §5): USR1 reopens the
# error_log (logrotate); TERM and INT stop fast, QUIT stops gracefully
# once the workers are empty, each with exit 0 and nothing left behind;
# daemon mode (`daemon on;`) returns only when the master is up, writes
# the daemon's own pid, obeys `sfud -s reload|stop`, and a second sfud on
# the same pid file refuses to start; a master killed with SIGKILL leaves
# no workers (they exit on channel EOF) and its stale socket is replaced
# by the next start.
import os
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402


def check_usr1(tmp):
    m = sfu.Master(tmp, workers=1, name="usr1", log_level="debug")
    try:
        m.start()
        ws = m.wait_ready(1)
        rotated = m.log_path + ".1"
        os.rename(m.log_path, rotated)
        m.send_signal(signal.SIGUSR1)
        mt = m.wait_log(r"log reopened", 3)
        tap.ok(mt, "USR1: a fresh log at the original path says "
               "\"log reopened\"")
        st = os.stat(m.log_path)
        tap.ok(stat.S_ISREG(st.st_mode) and st.st_ino !=
               os.stat(rotated).st_ino, "USR1: a new file, not the old one")

        # The master's own lines and the workers' go to the new file.
        c = m.client()
        c.call("worker.updateSettings", {"logLevel": "debug"}, worker=0)
        c.call("worker.ping", worker=0)
        mc = m.wait_log(r"admin client (\d+) connected", 2)
        tap.ok(mc, "USR1: a master line after the reopen is in the new "
               "file")
        mw = m.wait_log(r"worker 0 pid %d: .*method:worker\.ping" %
                        ws[0]["pid"], 2)
        tap.ok(mw, "USR1: a worker line after the reopen is in the new "
               "file")
        with open(rotated, errors="replace") as f:
            old = f.read()
        tap.ok("started" in old and "log reopened" not in old and
               (mc is None or "admin client %s connected" % mc.group(1)
                not in old) and "worker.ping" not in old,
               "USR1: the rotated file got nothing after the reopen")
        c.close()
    finally:
        code = m.stop()
    tap.is_(code, 0, "USR1: TERM -> exit 0")
    m.check_aftermath("USR1")


def check_stop_signal(tmp, signo, name, graceful=False):
    m = sfu.Master(tmp, workers=2, name=name)
    try:
        m.start()
        ws = m.wait_ready(2)
        t0 = time.monotonic()
        m.send_signal(signo)
        code = m.wait_exit(8)
        took = time.monotonic() - t0
    finally:
        m.stop()
    tap.is_(code, 0, "%s: exit 0" % name)
    tap.ok(code is not None and took < 3.0, "%s: exits promptly (%.2fs)" %
           (name, took))
    if graceful:
        tap.ok(m.wait_log(r"graceful shutdown", 0), "%s: log says graceful "
               "shutdown" % name)
        tap.ok(all(m.wait_log(r"worker %d pid %d drained" %
                              (w["index"], w["pid"]), 0) for w in ws),
               "%s: each worker drained" % name)
    else:
        tap.ok(m.wait_log(r"fast shutdown", 0), "%s: log says fast "
               "shutdown" % name)
        tap.ok(all(m.wait_log(r"worker %d pid %d exited with code 0" %
                              (w["index"], w["pid"]), 0) for w in ws),
               "%s: each worker exited with code 0 (closed, not killed)" %
               name)
    tap.like(m.log().rstrip("\n").rsplit("\n", 1)[-1], r"master: exiting$",
             "%s: the master's last log line says it is exiting" % name)
    m.check_aftermath(name)


def check_daemon(tmp):
    m = sfu.Master(tmp, workers=1, name="daemon", daemon=True)
    try:
        p = subprocess.Popen([sfu.sfud_path(), "-c", m.conf_path],
                             env=m.environ(), stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            out, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        up = os.path.exists(m.sock_path)   # right after it returned
        pid = m.read_pid_file()
        if pid is not None and sfu.pid_alive(pid):
            m.daemon_pid = pid
            sfu._live[pid] = m
        tap.is_(p.returncode, 0, "daemon: sfud -c returns 0")
        tap.ok(up, "daemon: the socket exists as soon as it returned")
        tap.ok(pid is not None and pid != p.pid and sfu.pid_alive(pid),
               "daemon: the pid file holds the daemon's pid (%s), not the "
               "parent's (%d)" % (pid, p.pid))
        tap.is_(err, "", "daemon: nothing on stderr")
        st = m.status() or {}
        tap.is_(st.get("pid"), pid, "daemon: master.status pid matches the "
                "pid file")
        ws = m.wait_ready(1)
        tap.ok(sfu.pid_alive(ws[0]["pid"]), "daemon: its worker runs")

        # -s reload
        r = m.run_sfud(["-s", "reload", "-c", m.conf_path])
        tap.is_(r.returncode, 0, "daemon: sfud -s reload returns 0")
        try:
            m.wait_workers(lambda _: (m.status() or {}).get("reloads") == 1,
                           3, "reloads == 1")
            reloaded = True
        except AssertionError:
            reloaded = False
        tap.ok(reloaded, "daemon: -s reload reloaded it (reloads 1)")

        # a second sfud with the same pid file
        r = m.run_sfud(["-c", m.conf_path])
        tap.is_(r.returncode, 1, "second sfud: exits 1")
        tap.like(r.stderr, r"another sfud \(pid %d\) is running" % pid,
                 "second sfud: says another sfud is running")
        tap.is_(m.read_pid_file(), pid, "second sfud: the pid file is "
                "untouched")
        tap.is_((m.status() or {}).get("pid"), pid,
                "second sfud: the first still answers on its socket")

        # -s stop
        r = m.run_sfud(["-s", "stop", "-c", m.conf_path])
        tap.is_(r.returncode, 0, "daemon: sfud -s stop returns 0")
        tap.is_(sfu.wait_pids_gone([pid], 5), [], "daemon: it exited")
        r = m.run_sfud(["-s", "stop", "-c", m.conf_path])
        tap.is_(r.returncode, 1, "daemon: -s stop with nothing running "
                "fails (exit 1)")
    finally:
        m.stop()
    m.check_aftermath("daemon")


def check_sigkill(tmp):
    m = sfu.Master(tmp, workers=2, name="kill9")
    try:
        m.start()
        ws = m.wait_ready(2)
        m.close_ctl()
        os.kill(m.pid, signal.SIGKILL)
        code = m.wait_exit(5)
        tap.is_(code, -signal.SIGKILL, "SIGKILL: the master died")
        t0 = time.monotonic()
        left = sfu.wait_pids_gone([w["pid"] for w in ws], 5)
        tap.is_(left, [], "SIGKILL: the workers exit on channel EOF "
                "(%.2fs)" % (time.monotonic() - t0))
        tap.ok(stat.S_ISSOCK(os.lstat(m.sock_path).st_mode),
               "SIGKILL: a stale socket file is left")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(m.sock_path)
            refused = False
        except ConnectionRefusedError:
            refused = True
        finally:
            s.close()
        tap.ok(refused, "SIGKILL: nobody listens on it")

        # the next start replaces the stale socket
        m.start()
        ws2 = m.wait_ready(2)
        tap.ok(m.wait_log(r"removing stale admin socket", 1),
               "restart: log says the stale socket was removed")
        tap.is_((m.status() or {}).get("pid"), m.pid,
                "restart: the new master answers on the socket")
        tap.ok(not set(w["pid"] for w in ws2) & set(w["pid"] for w in ws),
               "restart: new workers")
    finally:
        code = m.stop()
    tap.is_(code, 0, "restart: TERM -> exit 0")
    m.check_aftermath("restart")


def main():
    tap.plan(62)
    with sfu.tempdir() as tmp:
        check_usr1(tmp)
        check_stop_signal(tmp, signal.SIGTERM, "TERM")
        check_stop_signal(tmp, signal.SIGINT, "INT")
        check_stop_signal(tmp, signal.SIGQUIT, "QUIT", graceful=True)
        check_daemon(tmp)
        check_sigkill(tmp)


main()
