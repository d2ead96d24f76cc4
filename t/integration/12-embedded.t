#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Embedded mode (DESIGN §1): t/embedded_host runs two workers as threads of
# one process through libsfuworker's callback channel, then a third with bad
# argv, and checks them itself, printing TAP. This file runs it with a
# deadline, passes each of its results through as a test of its own
# (renumbered), and checks that it ran every check and exited 0.
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import tap  # noqa: E402

HOST_CHECKS = 33    # HOST_PLAN in t/embedded_host.c
TIMEOUT_S = 60

TEST_RE = re.compile(r"^(not )?ok\b\s*\d*\s*(?:- )?(.*)$")
PLAN_RE = re.compile(r"^1\.\.(\d+)")

builddir = os.environ.get("SFUD_BUILDDIR") or \
    os.path.normpath(os.path.join(HERE, "..", ".."))
prog = os.path.join(builddir, "t", "embedded_host")

tap.plan(HOST_CHECKS + 3)
if not os.access(prog, os.X_OK):
    tap.ok(False, "%s is built" % prog)
    sys.exit(1)

proc = subprocess.Popen([prog], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
try:
    out, _ = proc.communicate(timeout=TIMEOUT_S)
    status = proc.returncode
except subprocess.TimeoutExpired:
    proc.kill()
    out, _ = proc.communicate()
    status = None
    tap.diag("embedded_host still running after %d s: killed" % TIMEOUT_S)

host_plan = None
passed = 0
failed = 0
for line in out.decode("utf-8", "replace").splitlines():
    m = TEST_RE.match(line)
    if m:
        if tap.ok(m.group(1) is None, m.group(2)):
            passed += 1
        else:
            failed += 1
        continue
    m = PLAN_RE.match(line)
    if m and host_plan is None:
        host_plan = int(m.group(1))
        continue
    # Comments, "Bail out!", sanitizer reports: keep them in the log.
    tap.diag(line[2:] if line.startswith("# ") else line)

tap.is_(status, 0, "embedded_host exited 0")
tap.is_(host_plan, HOST_CHECKS, "embedded_host planned %d checks"
        % HOST_CHECKS)
if not tap.ok(passed == HOST_CHECKS and failed == 0,
              "all %d checks ran and passed" % HOST_CHECKS):
    tap.diag("passed %d, failed %d" % (passed, failed))
