# SPDX-License-Identifier: MIT
#
# What t/e2e/20-webrtc-wrtc.t and 21-webrtc-browser.t share: run one of the
# Node tests here (its TAP goes straight to our stdout), or skip when its
# peers are not installed.
#
# As root, where unshare(1) can, the test runs in namespaces of its own:
# a network namespace with only loopback up (every packet of the test,
# the peers' ICE checks included, stays on 127.0.0.0/8; libwebrtc would
# otherwise also try the machine's other addresses) and a PID namespace
# (--kill-child: when the test ends or is killed, sfud, its worker and
# Chromium go with it). Otherwise it runs as is, with a note.
#
# The Node test has its own overall timeout; this wrapper kills the whole
# run (by the pid of the process it started) HARD_TIMEOUT seconds after
# the start, as a last resort.
import fcntl
import os
import shutil
import socket
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HARD_TIMEOUT = 150
MIN_NODE = 20
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1


def skip_all(reason):
    print("1..0 # SKIP %s" % reason.replace("#", "\\#"))
    sys.stdout.flush()
    sys.exit(0)


def loopback_up():
    """Brings lo up in a fresh network namespace (ioctl: no iproute2)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x",
                              fcntl.ioctl(s, SIOCGIFFLAGS, ifr))[1]
        fcntl.ioctl(s, SIOCSIFFLAGS,
                    struct.pack("16sH22x", b"lo", flags | IFF_UP))
    finally:
        s.close()


UNSHARE = ["--net", "--pid", "--mount-proc", "--fork", "--kill-child"]


def can_isolate():
    if os.environ.get("SFUD_E2E_NO_NETNS") == "1":
        return False
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    try:
        r = subprocess.run(["unshare"] + UNSHARE + ["true"],
                           stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return r.returncode == 0


def inside(argv):
    """In the new namespaces: lo up, then become the Node test."""
    loopback_up()
    os.execv(argv[0], argv)


def main(script, needs_chromium=False):
    if len(sys.argv) > 2 and sys.argv[1] == "--inside":
        inside(sys.argv[2:])
    node = shutil.which("node")
    if node is None:
        skip_all("node not installed (scripts/e2e installs nodejs)")
    try:
        major = int(subprocess.run(
            [node, "-p", "process.versions.node.split('.')[0]"],
            stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=30).stdout.strip())
    except (OSError, ValueError, subprocess.TimeoutExpired):
        major = 0
    if major < MIN_NODE:
        skip_all("node %s is too old (>= %d needed by playwright-core and "
                 "mediasoup-client)" % (major or "?", MIN_NODE))
    mods = os.path.join(HERE, "node_modules")
    for m in ("@roamhq/wrtc", "mediasoup-client", "@msgpack/msgpack",
              "playwright-core", "esbuild"):
        if not os.path.isdir(os.path.join(mods, m)):
            skip_all("%s not installed (scripts/e2e runs npm ci in "
                     "t/e2e/webrtc)" % m)
    chromium = os.environ.get("SFUD_E2E_CHROMIUM", "/usr/bin/chromium")
    if needs_chromium and not os.access(chromium, os.X_OK):
        skip_all("%s not installed (scripts/e2e installs chromium)" %
                 chromium)
    argv = [node, os.path.join(HERE, script)]
    if can_isolate():
        argv = (["unshare"] + UNSHARE + [sys.executable,
                os.path.abspath(sys.argv[0]), "--inside"] + argv)
    else:
        print("# not in a network namespace of its own (that needs root, "
              "unshare(1), and SFUD_E2E_NO_NETNS unset): the peers may "
              "also use this machine's other addresses")
    sys.stdout.flush()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, cwd=HERE)
    try:
        rc = p.wait(HARD_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        print("not ok 999 - %s killed after %d s" % (script, HARD_TIMEOUT))
        rc = 1
    except KeyboardInterrupt:
        p.kill()
        p.wait()
        raise
    sys.exit(rc if rc >= 0 else 128 - rc)
