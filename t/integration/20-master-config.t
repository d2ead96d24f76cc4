#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# sfud's config file as the operator meets it (DESIGN §5, §6): `sfud -t -c`
# accepts a good config ("test is successful", exit 0) and rejects bad ones
# (unknown directive, bad values, a missing ";", an include of a missing
# file, an error inside an included file) with "file:line: message" on
# stderr and exit 1; `sfud -c` with a bad config does not start (exit 1,
# no socket, no pid file); a good config starts and master.status reports
# what it says.
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402


def run(args, timeout=10):
    return subprocess.run([sfu.sfud_path()] + args, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ,
                                   SFUD_WORKER_BIN=sfu.worker_path()))


def good_conf(tmp):
    """Every directive the master knows, with durations in ms and s."""
    return """# a complete config
daemon off;
pid %(tmp)s/sfud.pid;
error_log %(tmp)s/sfud.log info;
worker_processes 2;
worker_cpu_affinity off;
worker_rlimit_nofile 4096;
worker_start_timeout 500ms;
worker_ping_interval 250ms;
worker_ping_timeout 2s;
worker_drain_timeout 1m;
worker_shutdown_timeout 1500ms;
admin {
    listen %(tmp)s/sfud.sock;   # a comment after a directive
    mode 0660;
    max_clients 64;
    client_output_limit 64k;
}
worker {
    log_level warn;
    log_tags info ice dtls;
    rtc_ports 40000-40999;
}
webrtc_server {
    listen udp 127.0.0.1 44444 announced 203.0.113.10;
    listen tcp 127.0.0.1 44444;
}
""" % {"tmp": tmp}


def check_bad(tmp, name, text, line_re, msg_re, file_name="bad.conf",
              extra_files=None):
    """sfud -t -c on a bad config: exit 1, "FILE:LINE: msg" on stderr."""
    path = os.path.join(tmp, file_name)
    for fname, ftext in (extra_files or {}).items():
        with open(os.path.join(tmp, fname), "w") as f:
            f.write(ftext)
    with open(path, "w") as f:
        f.write(text)
    r = run(["-t", "-c", path])
    tap.is_(r.returncode, 1, "%s: sfud -t exits 1" % name)
    tap.like(r.stderr, line_re + r" " + msg_re,
             "%s: stderr names file:line and why" % name)
    tap.like(r.stderr, r"configuration file \S+ test failed",
             "%s: stderr says the test failed" % name)
    tap.unlike(r.stdout, r"test is successful",
               "%s: not reported successful" % name)


def main():
    tap.plan(45)
    with sfu.tempdir() as tmp:
        conf = os.path.join(tmp, "good.conf")
        with open(conf, "w") as f:
            f.write(good_conf(tmp))

        # -t on a good config
        r = run(["-t", "-c", conf])
        tap.is_(r.returncode, 0, "good config: sfud -t exits 0")
        tap.like(r.stdout, r"configuration file %s test is successful" %
                 re.escape(conf), "good config: test is successful")
        tap.like(r.stdout, r"syntax is ok", "good config: syntax is ok")
        tap.ok(not os.path.exists(os.path.join(tmp, "sfud.sock")) and
               not os.path.exists(os.path.join(tmp, "sfud.pid")),
               "good config: -t neither binds the socket nor writes the "
               "pid file")

        # bad configs: each error at a known file:line
        bad = os.path.join(tmp, "bad.conf")
        q = re.escape(bad)
        check_bad(tmp, "unknown directive",
                  "daemon off;\n\nworker_processes 1;\nfoo_bar 3;\n",
                  q + ":4:", r'unknown directive "foo_bar"')
        check_bad(tmp, "bad value",
                  "daemon off;\nworker_processes lots;\n",
                  q + ":2:", r'invalid value "lots" in "worker_processes"')
        check_bad(tmp, "bad duration",
                  "daemon off;\nworker_processes 1;\n"
                  "worker_ping_interval 5parsecs;\n",
                  q + ":3:", r'invalid value "5parsecs" in '
                  r'"worker_ping_interval"')
        check_bad(tmp, "bad mode in admin block",
                  "admin {\n    listen x.sock;\n    mode 0999;\n}\n",
                  q + ":3:", r'invalid value "0999" in "mode"')
        check_bad(tmp, "missing ;",
                  "daemon off;\nworker_processes 1\n",
                  q + ":2:", r'unexpected end of file, expecting ";"')
        missing = os.path.join(tmp, "missing.conf")
        check_bad(tmp, "include of a missing file",
                  "daemon off;\n# next line includes\ninclude %s;\n" %
                  missing, q + ":3:", r'include "%s": No such file' %
                  re.escape(missing))
        inc = os.path.join(tmp, "inc.conf")
        check_bad(tmp, "error inside an included file",
                  "daemon off;\ninclude %s;\nworker_processes 1;\n" % inc,
                  re.escape(inc) + ":2:", r'unknown directive "nonsense"',
                  extra_files={"inc.conf": "worker_processes 1;\n"
                                           "nonsense on;\n"})

        # -t on a config that does not exist
        r = run(["-t", "-c", os.path.join(tmp, "nope.conf")])
        tap.is_(r.returncode, 1, "missing config file: sfud -t exits 1")
        tap.like(r.stderr, r"nope\.conf: No such file",
                 "missing config file: stderr says so")

        # sfud (no -t) with a bad config does not start
        with open(bad, "w") as f:
            f.write(good_conf(tmp).replace("worker_processes 2;",
                                           "worker_processes 2;\nbogus 1;"))
        try:
            r = run(["-c", bad], timeout=10)
            rc, err = r.returncode, r.stderr
        except subprocess.TimeoutExpired:
            rc, err = "still running after 10 s", ""
        tap.is_(rc, 1, "sfud -c bad config: exits 1")
        tap.like(err, q + r":6: unknown directive \"bogus\"",
                 "sfud -c bad config: stderr names file:line")
        tap.ok(not os.path.exists(os.path.join(tmp, "sfud.sock")) and
               not os.path.exists(os.path.join(tmp, "sfud.pid")),
               "sfud -c bad config: no socket, no pid file")

        # the good config starts, and the master reports it
        m = sfu.Master(tmp)
        m.conf_path = conf
        try:
            m.start()
            ws = m.wait_ready(2)
            st = m.status() or {}
            tap.is_(st.get("configPath"), conf,
                    "good config: master.status configPath")
            tap.is_((st.get("workers") or {}).get("configured"), 2,
                    "good config: 2 workers configured")
            tap.is_(len(ws), 2, "good config: 2 workers running")
            mode = os.stat(m.sock_path).st_mode & 0o7777
            tap.is_(oct(mode), oct(0o660), "good config: socket mode 0660")
        finally:
            code = m.stop()
        tap.is_(code, 0, "good config: TERM -> exit 0")
        m.check_aftermath("good config")


main()
