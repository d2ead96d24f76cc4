# SPDX-License-Identifier: MIT
#
# Shared helpers for sfud's integration tests (t/integration/*.t):
#
# - framing (DESIGN §3): 4-byte big-endian length + one MessagePack map,
#   with Debian's python3-msgpack;
# - spawn_worker(): starts $SFUD_BUILDDIR/src/worker/sfud-worker exactly as
#   the master does (two socketpairs, the child's ends moved above fd 4 with
#   F_DUPFD, then dup2'd onto fd 3 = requests in and fd 4 = responses and
#   notifications out, every other fd but 0-2 closed, exec), with its
#   stdout/stderr captured through a pipe;
# - free_port() and tempdir() for tests that write daemon configs.
#
# Nothing here may hang a test: every wait has a deadline. A receive that
# times out raises Timeout (an AssertionError: tap.py reports it as a failed
# test); wait_exit() returns None on timeout. Every process started here is
# killed and reaped (by pid) when the test ends, even on an exception.
import atexit
import collections
import contextlib
import fcntl
import os
import re
import select
import shutil
import signal
import socket
import struct
import sys
import tempfile
import time

import msgpack

import tap

FRAME_HEADER_LEN = 4
FRAME_MAX_LEN = 4 * 1024 * 1024         # largest accepted message
FRAME_SKIP_MAX_LEN = 64 * 1024 * 1024   # above this framing is lost

DEFAULT_TIMEOUT = 5.0


class Timeout(AssertionError):
    """A deadline passed while waiting for the process under test."""


class ChannelClosed(AssertionError):
    """The other side closed the channel while we waited for a message."""


# --- paths ---

def srcdir():
    """The source tree root (the parent of t/)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))


def builddir():
    """$SFUD_BUILDDIR (set by make check), else the source tree root."""
    return os.environ.get("SFUD_BUILDDIR") or srcdir()


def worker_path():
    return os.path.join(builddir(), "src", "worker", "sfud-worker")


def fake_worker_path():
    """t/lib/fake_worker.py: a test double that speaks the worker channel
    and keeps a toy entity tree (routers, transports, ...), for master
    tests: Master(dir, worker_bin=sfu.fake_worker_path())."""
    return os.path.join(srcdir(), "t", "lib", "fake_worker.py")


# --- MessagePack and framing ---

def pack(obj):
    """obj as MessagePack (str as str, bytes as bin)."""
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data):
    """One MessagePack object; strict: invalid UTF-8 in a str raises."""
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def frame(payload):
    """payload (bytes) with its 4-byte big-endian length in front."""
    return struct.pack(">I", len(payload)) + payload


def encode(obj):
    """A whole frame holding obj packed as MessagePack."""
    return frame(pack(obj))


def request_msg(method, data=None, handler_id=None, id=0):
    msg = {"id": id, "method": method}
    if handler_id is not None:
        msg["handlerId"] = handler_id
    if data is not None:
        msg["data"] = data
    return msg


class FrameDecoder:
    """Incremental decoder: feed() bytes, then take whole payloads."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data

    def frames(self):
        out = []
        while len(self.buf) >= FRAME_HEADER_LEN:
            (n,) = struct.unpack(">I", self.buf[:FRAME_HEADER_LEN])
            if len(self.buf) < FRAME_HEADER_LEN + n:
                break
            out.append(bytes(self.buf[FRAME_HEADER_LEN:FRAME_HEADER_LEN + n]))
            del self.buf[:FRAME_HEADER_LEN + n]
        return out


def is_response(msg, id=None):
    return (isinstance(msg, dict) and "id" in msg and "targetId" not in msg
            and (id is None or msg["id"] == id))


def is_notification(msg):
    return isinstance(msg, dict) and "targetId" in msg and "event" in msg


# --- processes ---

_live = {}      # pid -> object with cleanup(): everything still to reap


def _cleanup_all():
    for proc in list(_live.values()):
        try:
            proc.cleanup()
        except Exception as e:     # keep cleaning the others
            sys.stderr.write("sfu.py: cleanup of %d failed: %s\n" %
                             (proc.pid, e))


atexit.register(_cleanup_all)


def _on_sigterm(signo, frame_):
    # make check interrupted: run finally blocks and atexit, kill children.
    raise SystemExit(128 + signo)


if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _on_sigterm)


def _set_nonblocking(fd):
    fl = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, fl | os.O_NONBLOCK)


def _exec_child(path, argv, env, fd_in, fd_out, fd_log, fd_null):
    """Runs in the forked child: never returns."""
    try:
        # Any source fd may itself be 0-4: move them all above 4 first
        # (libuv's uv__process_child_init does the same), then dup2.
        hi = [fcntl.fcntl(fd, fcntl.F_DUPFD, 5)
              for fd in (fd_null, fd_log, fd_in, fd_out)]
        os.dup2(hi[0], 0)
        os.dup2(hi[1], 1)
        os.dup2(hi[1], 2)
        os.dup2(hi[2], 3)   # the worker reads requests here
        os.dup2(hi[3], 4)   # and writes responses and notifications here
        os.closerange(5, os.sysconf("SC_OPEN_MAX"))
        # Python ignores these; exec keeps ignored signals ignored.
        for signo in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(signo, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        os.execve(path, argv, env)
    except BaseException as e:
        try:
            os.write(2, ("sfu.py: cannot exec %s: %s\n" % (path, e)).encode())
        except BaseException:
            pass
    os._exit(127)


def spawn_worker(args, env=None, path=None):
    """Starts sfud-worker with argv args (a list of str). env: the whole
    environment (default: ours). Returns a Worker; nothing is read yet (the
    first message should be the "running" notification)."""
    path = path or worker_path()
    if not os.access(path, os.X_OK):
        raise RuntimeError("%s is not built (SFUD_BUILDDIR=%s)" %
                           (path, builddir()))
    argv = [path] + [str(a) for a in args]
    envp = dict(os.environ if env is None else env)

    req_parent, req_child = socket.socketpair(socket.AF_UNIX,
                                              socket.SOCK_STREAM)
    resp_parent, resp_child = socket.socketpair(socket.AF_UNIX,
                                                socket.SOCK_STREAM)
    log_r, log_w = os.pipe()
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _exec_child(path, argv, envp, req_child.fileno(),
                    resp_child.fileno(), log_w, null)
    req_child.close()
    resp_child.close()
    os.close(log_w)
    os.close(null)
    return Worker(pid, argv, req_parent, resp_parent, log_r)


class Worker:
    """A running sfud-worker and our ends of its channel."""

    def __init__(self, pid, argv, req, resp, log_fd):
        self.pid = pid
        self.argv = argv
        self.req = req          # socket: we write requests (its fd 3)
        self.resp = resp        # socket: we read its fd 4
        self.returncode = None  # exit code, or -signal
        self.decode_errors = []  # (payload, error) of undecodable messages
        self._log_fd = log_fd
        self._log = bytearray()
        self._rx = FrameDecoder()
        self._msgs = collections.deque()
        self._eof = False
        self._next_id = 1
        self._failed_at_start = tap.failed()
        self.req.setblocking(False)
        self.resp.setblocking(False)
        _set_nonblocking(self._log_fd)
        _live[pid] = self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def __repr__(self):
        return "<Worker pid=%d>" % self.pid

    # --- the I/O pump: the one place that waits ---

    def _read_resp(self):
        try:
            data = self.resp.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionError:
            data = b""
        if not data:
            self._eof = True
            return
        self._rx.feed(data)
        for payload in self._rx.frames():
            try:
                msg = unpack(payload)
            except Exception as e:
                self.decode_errors.append((payload, repr(e)))
                try:
                    msg = msgpack.unpackb(payload, raw=False,
                                          strict_map_key=False,
                                          unicode_errors="surrogateescape")
                except Exception:
                    msg = {"__undecodable__": payload}
            self._msgs.append(msg)

    def _read_log(self):
        while self._log_fd is not None:
            try:
                data = os.read(self._log_fd, 1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                os.close(self._log_fd)
                self._log_fd = None
                return
            self._log += data

    def _pump(self, timeout, until=None, out=b""):
        """Moves bytes both ways (and drains the worker's log, so it never
        blocks on a full pipe) until out is sent and until() is true, or
        timeout seconds passed. Returns whether the goal was reached."""
        deadline = time.monotonic() + timeout
        out = memoryview(out)
        while True:
            if not out and (until is None or until()):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            rl = []
            if not self._eof:
                rl.append(self.resp)
            if self._log_fd is not None:
                rl.append(self._log_fd)
            wl = [self.req] if out and self.req is not None else []
            if out and self.req is None:
                raise ChannelClosed("request channel already closed")
            if not rl and not wl:
                time.sleep(min(left, 0.01))
                continue
            r, w, _ = select.select(rl, wl, [], min(left, 0.05))
            if self.resp in r:
                self._read_resp()
            if self._log_fd is not None and self._log_fd in r:
                self._read_log()
            if w:
                try:
                    n = self.req.send(out[:1 << 18])
                    out = out[n:]
                except (BlockingIOError, InterruptedError):
                    pass
                except (BrokenPipeError, ConnectionResetError) as e:
                    raise ChannelClosed("worker %d stopped reading: %s" %
                                        (self.pid, e))

    # --- sending ---

    def send_raw(self, data, timeout=10):
        """Writes bytes to the worker's fd 3 (all of them, or Timeout)."""
        if not self._pump(timeout, out=bytes(data)):
            raise Timeout("worker %d: could not write %d bytes in %gs" %
                          (self.pid, len(data), timeout))

    def send(self, obj, timeout=10):
        """Frames and sends one message (any MessagePack-able object)."""
        self.send_raw(encode(obj), timeout)

    def new_id(self):
        id = self._next_id
        self._next_id = (self._next_id + 1) & 0xffffffff
        return id

    def send_request(self, method, data=None, handler_id=None, id=None):
        """Sends a request without waiting. Returns its id."""
        if id is None:
            id = self.new_id()
        self.send(request_msg(method, data, handler_id, id))
        return id

    # --- receiving ---

    def recv(self, timeout=DEFAULT_TIMEOUT):
        """The next message (response or notification), in arrival order."""
        if not self._pump(timeout, until=lambda: self._msgs or self._eof):
            raise Timeout("worker %d: no message within %gs" %
                          (self.pid, timeout))
        if self._msgs:
            return self._msgs.popleft()
        raise ChannelClosed("worker %d closed its channel (fd 4 EOF)" %
                            self.pid)

    def wait_response(self, id, timeout=DEFAULT_TIMEOUT, what=None):
        """The response with this id; other messages stay queued for
        recv(), in order."""
        def found():
            return any(is_response(m, id) for m in self._msgs) or self._eof
        if not self._pump(timeout, until=found):
            raise Timeout("worker %d: no response to %s within %gs" %
                          (self.pid, what or "id %d" % id, timeout))
        for m in self._msgs:
            if is_response(m, id):
                self._msgs.remove(m)
                return m
        raise ChannelClosed("worker %d closed its channel before answering "
                            "%s" % (self.pid, what or "id %d" % id))

    def request(self, method, data=None, handler_id=None,
                timeout=DEFAULT_TIMEOUT, id=None):
        """Sends a request and returns its response (a dict)."""
        id = self.send_request(method, data, handler_id, id)
        return self.wait_response(id, timeout, "%s (id %d)" % (method, id))

    def expect_silence(self, duration=0.3):
        """Listens for duration seconds; returns (and unqueues) whatever
        arrived, queued messages included. [] means silence."""
        self._pump(duration, until=lambda: False)
        got = list(self._msgs)
        self._msgs.clear()
        return got

    def pending(self):
        """Messages received but not yet taken."""
        return list(self._msgs)

    def read_eof(self, timeout=DEFAULT_TIMEOUT):
        """Waits for the worker to close fd 4. Messages before the EOF stay
        queued. Returns True on EOF, False on timeout."""
        return self._pump(timeout, until=lambda: self._eof)

    @property
    def eof(self):
        return self._eof

    # --- the worker's log (its stdout and stderr) ---

    def log(self):
        """Everything the worker wrote to stdout/stderr so far."""
        self._read_log()
        return self._log.decode("utf-8", "replace")

    stderr = log

    def wait_log(self, regex, timeout=DEFAULT_TIMEOUT):
        """Waits for a log line matching regex; returns the match or None."""
        rx = re.compile(regex)
        if self._pump(timeout, until=lambda: rx.search(
                self._log.decode("utf-8", "replace"))):
            return rx.search(self._log.decode("utf-8", "replace"))
        return None

    # --- channel and process ---

    def close_channel(self):
        """Closes our end of the request socket: the worker sees EOF on
        fd 3."""
        if self.req is not None:
            self.req.close()
            self.req = None

    def close_output(self):
        """Closes our end of the response socket (the worker's fd 4)."""
        if self.resp is not None:
            self.resp.close()
            self.resp = None
            self._eof = True

    def alive(self):
        return self._reap(os.WNOHANG) is None

    def _reap(self, flags):
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:
                pid, status = self.pid, 255 << 8
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                _live.pop(self.pid, None)
                # The log pipe closes with the worker: take the rest.
                deadline = time.monotonic() + 1.0
                while self._log_fd is not None and \
                        time.monotonic() < deadline:
                    select.select([self._log_fd], [], [], 0.05)
                    self._read_log()
        return self.returncode

    def wait_exit(self, timeout=DEFAULT_TIMEOUT):
        """Waits for the worker to exit. Returns its exit code (a signal as
        its negative number), or None if it still runs after timeout."""
        deadline = time.monotonic() + timeout
        while self._reap(os.WNOHANG) is None:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._pump(min(left, 0.02), until=lambda: False)
        return self.returncode

    def send_signal(self, signo):
        if self.returncode is None:
            os.kill(self.pid, signo)

    def kill(self, signo=signal.SIGKILL):
        """Sends signo (SIGKILL by default) if the worker still runs."""
        if self.returncode is None:
            try:
                os.kill(self.pid, signo)
            except ProcessLookupError:
                pass

    def cleanup(self):
        """Kills (if needed) and reaps the worker, closes our fds. On a
        test failure during its life, shows the end of its log."""
        if self.returncode is None:
            self.kill()
            self.wait_exit(5)
            if self.returncode is None:
                self._reap(0)
        if tap.failed() > self._failed_at_start and self._log:
            lines = self.log().splitlines()
            tap.diag("worker %d log (last %d lines):" %
                     (self.pid, min(len(lines), 40)))
            for line in lines[-40:]:
                tap.diag("  " + line)
            self._failed_at_start = tap.failed()
        self.close_channel()
        self.close_output()
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None
        _live.pop(self.pid, None)


# --- ports and files ---

def free_port(proto="tcp"):
    """A loopback port free at the time of the call for proto "tcp",
    "udp" or "both"."""
    for _ in range(100):
        kinds = {"tcp": [socket.SOCK_STREAM], "udp": [socket.SOCK_DGRAM],
                 "both": [socket.SOCK_STREAM, socket.SOCK_DGRAM]}[proto]
        socks = []
        try:
            first = socket.socket(socket.AF_INET, kinds[0])
            socks.append(first)
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            for kind in kinds[1:]:
                s = socket.socket(socket.AF_INET, kind)
                socks.append(s)
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free %s port found" % proto)


@contextlib.contextmanager
def tempdir(prefix="sfud-t-"):
    """A fresh directory, removed afterwards (kept, and named in the log,
    when SFUD_KEEP_TMP is set). Short, so unix socket paths fit."""
    base = tempfile.gettempdir()
    if len(base) > 60:
        base = "/tmp"
    path = tempfile.mkdtemp(prefix=prefix, dir=base)
    try:
        yield path
    finally:
        if os.environ.get("SFUD_KEEP_TMP"):
            tap.diag("kept %s" % path)
        else:
            shutil.rmtree(path, ignore_errors=True)


# --- the master (sfud) and its admin socket ---
#
#   with sfu.tempdir() as tmp:
#       m = sfu.Master(tmp, workers=2)      # writes tmp/sfud.conf
#       try:
#           m.start()                        # waits for the admin socket
#           ws = m.wait_ready(2)             # master.workers, all running
#           c = m.client()                   # an AdminClient
#           r = c.call("worker.dump", worker=0)
#       finally:
#           m.stop()                         # TERM, deadline, KILL
#       m.check_aftermath()                  # 3 tests: socket, pid, workers
#
# Worker pids are learned from every master.workers answer, every
# worker.spawned/worker.died event read through a client and the "worker
# N pid P started" lines of the error log; stop() kills whichever of them
# still runs, so no test leaves a worker behind even when it fails.

def sfud_path():
    return os.path.join(builddir(), "src", "master", "sfud")


def proc_stat(pid):
    """(state, starttime) of pid from /proc, or None if there is none."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    rest = data[data.rfind(")") + 2:].split()
    try:
        return rest[0], int(rest[19])
    except (IndexError, ValueError):
        return None


def pid_alive(pid, starttime=None):
    """Whether pid runs (zombies count as gone); with starttime, whether
    it is still that same process."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X", "x"):
        return False
    return starttime is None or st[1] == starttime


def wait_pids_gone(pids, timeout=5.0):
    """Polls until none of pids (a dict pid -> starttime, or a list) runs.
    Returns those still running at the deadline (sorted)."""
    if not isinstance(pids, dict):
        pids = {p: None for p in pids}
    deadline = time.monotonic() + timeout
    while True:
        left = sorted(p for p, t in pids.items() if pid_alive(p, t))
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.02)


def fd_targets(pid):
    """{fd number: readlink target} of pid's open fds."""
    out = {}
    d = "/proc/%d/fd" % pid
    for name in os.listdir(d):
        try:
            out[int(name)] = os.readlink(os.path.join(d, name))
        except (FileNotFoundError, ValueError):
            pass
    return out


class AdminClient:
    """One connection to the master's admin socket. Every wait has a
    deadline: Timeout (an AssertionError) when it passes, ChannelClosed
    when the master closed the connection first."""

    def __init__(self, path, timeout=DEFAULT_TIMEOUT, master=None):
        self.path = path
        self.master = master        # told about worker pids seen here
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except BaseException:
            self.sock.close()
            raise
        self.sock.setblocking(False)
        self._rx = FrameDecoder()
        self._msgs = collections.deque()
        self._eof = False
        self._next_id = 1
        self.decode_errors = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
            self._eof = True

    def fileno(self):
        return self.sock.fileno() if self.sock is not None else -1

    def _read(self):
        try:
            data = self.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionError:
            data = b""
        if not data:
            self._eof = True
            return
        self._rx.feed(data)
        for payload in self._rx.frames():
            try:
                msg = unpack(payload)
            except Exception as e:
                self.decode_errors.append((payload, repr(e)))
                msg = {"__undecodable__": payload}
            self._learn(msg)
            self._msgs.append(msg)

    def _learn(self, msg):
        if self.master is None or not is_notification(msg):
            return
        if msg.get("event") in ("worker.spawned", "worker.died"):
            d = msg.get("data")
            if isinstance(d, dict) and isinstance(d.get("pid"), int):
                self.master.learn_pid(d["pid"])

    def _pump(self, timeout, until=None, out=b""):
        deadline = time.monotonic() + timeout
        out = memoryview(out)
        while True:
            if not out and (until is None or until()):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self.sock is None:
                if out:
                    raise ChannelClosed("client already closed")
                time.sleep(min(left, 0.01))
                continue
            rl = [] if self._eof else [self.sock]
            wl = [self.sock] if out else []
            if not rl and not wl:
                time.sleep(min(left, 0.01))
                continue
            r, w, _ = select.select(rl, wl, [], min(left, 0.05))
            if r:
                self._read()
            if w and out:
                try:
                    n = self.sock.send(out[:1 << 18])
                    out = out[n:]
                except (BlockingIOError, InterruptedError):
                    pass
                except (BrokenPipeError, ConnectionResetError) as e:
                    raise ChannelClosed("master closed the connection: %s"
                                        % e)

    # --- sending ---

    def send_raw(self, data, timeout=10):
        if not self._pump(timeout, out=bytes(data)):
            raise Timeout("admin client: could not write %d bytes in %gs" %
                          (len(data), timeout))

    def send(self, obj, timeout=10):
        self.send_raw(encode(obj), timeout)

    def new_id(self):
        id = self._next_id
        self._next_id = (self._next_id + 1) & 0xffffffff
        return id

    @staticmethod
    def request(method, data=None, worker=None, handler_id=None, id=0):
        msg = request_msg(method, data, handler_id, id)
        if worker is not None:
            msg["worker"] = worker
        return msg

    def send_request(self, method, data=None, worker=None, handler_id=None,
                     id=None):
        """Sends a request without waiting; returns its id."""
        if id is None:
            id = self.new_id()
        self.send(self.request(method, data, worker, handler_id, id))
        return id

    # --- receiving ---

    def recv(self, timeout=DEFAULT_TIMEOUT):
        """The next message, in arrival order."""
        if not self._pump(timeout, until=lambda: self._msgs or self._eof):
            raise Timeout("admin client: no message within %gs" % timeout)
        if self._msgs:
            return self._msgs.popleft()
        raise ChannelClosed("master closed the admin connection")

    def wait_response(self, id, timeout=DEFAULT_TIMEOUT, what=None):
        """The response with this id; other messages stay queued."""
        def found():
            return any(is_response(m, id) for m in self._msgs) or self._eof
        if not self._pump(timeout, until=found):
            raise Timeout("admin client: no response to %s within %gs" %
                          (what or "id %d" % id, timeout))
        for m in self._msgs:
            if is_response(m, id):
                self._msgs.remove(m)
                return m
        raise ChannelClosed("master closed the admin connection before "
                            "answering %s" % (what or "id %d" % id))

    def call(self, method, data=None, worker=None, handler_id=None,
             timeout=DEFAULT_TIMEOUT, id=None):
        """Sends a request and returns its response (a dict)."""
        id = self.send_request(method, data, worker, handler_id, id)
        return self.wait_response(id, timeout, "%s (id %d)" % (method, id))

    def next_notification(self, timeout=DEFAULT_TIMEOUT, event=None):
        """The first queued or arriving notification (with this event, if
        given); responses and other notifications stay queued."""
        def match(m):
            return is_notification(m) and (event is None or
                                           m.get("event") == event)

        def found():
            return any(match(m) for m in self._msgs) or self._eof
        if not self._pump(timeout, until=found):
            raise Timeout("admin client: no %s notification within %gs" %
                          (event or "", timeout))
        for m in self._msgs:
            if match(m):
                self._msgs.remove(m)
                return m
        raise ChannelClosed("master closed the admin connection while "
                            "waiting for a notification")

    def expect_silence(self, duration=0.3):
        """Listens for duration seconds; returns (and unqueues) whatever
        arrived. [] means silence."""
        self._pump(duration, until=lambda: False)
        got = list(self._msgs)
        self._msgs.clear()
        return got

    def pending(self):
        return list(self._msgs)

    def wait_closed(self, timeout=DEFAULT_TIMEOUT):
        """Waits for the master to close the connection (reading, and
        queueing, whatever comes first). True on EOF, False on timeout."""
        return self._pump(timeout, until=lambda: self._eof)

    @property
    def eof(self):
        return self._eof


class Master:
    """A real sfud started from a config written into dir."""

    LOG_STARTED_RE = re.compile(r"worker (\d+) pid (\d+) started")

    def __init__(self, dir, workers=1, worker_bin=None, env=None,
                 log_level="info", main="", admin="", worker="",
                 daemon=False, name="sfud"):
        self.dir = dir
        self.name = name
        self.conf_path = os.path.join(dir, name + ".conf")
        self.pid_path = os.path.join(dir, name + ".pid")
        self.sock_path = os.path.join(dir, name + ".sock")
        self.log_path = os.path.join(dir, name + ".log")
        self.stdout_path = os.path.join(dir, name + ".stdout")
        self.stderr_path = os.path.join(dir, name + ".stderr")
        self.worker_bin = worker_bin or worker_path()
        self.env = env
        self.proc = None            # subprocess.Popen (daemon off)
        self.daemon_pid = None      # a daemon is not our child
        self.returncode = None
        self.worker_pids = {}       # pid -> starttime (None: unknown)
        self.stragglers = None      # workers stop() had to kill
        self._ctl = None
        self._failed_at_start = tap.failed()
        self.write_conf(workers=workers, log_level=log_level, main=main,
                        admin=admin, worker=worker, daemon=daemon)

    def __repr__(self):
        return "<Master pid=%s>" % (self.pid,)

    @property
    def pid(self):
        if self.proc is not None:
            return self.proc.pid
        return self.daemon_pid

    # --- config ---

    def conf_text(self, workers=1, log_level="info", main="", admin="",
                  worker="", daemon=False):
        return ("# written by %s\n"
                "daemon %s;\n"
                "pid %s;\n"
                "error_log %s %s;\n"
                "worker_processes %s;\n"
                "%s\n"
                "admin {\n"
                "    listen %s;\n"
                "%s\n"
                "}\n"
                "worker {\n"
                "%s\n"
                "}\n") % (os.path.basename(sys.argv[0]),
                          "on" if daemon else "off", self.pid_path,
                          self.log_path, log_level, workers, main,
                          self.sock_path, admin, worker)

    def write_conf(self, text=None, **kw):
        """Writes the config (text as is, or conf_text(**kw)) atomically,
        so a reload never reads half a file. Returns the text."""
        if text is None:
            text = self.conf_text(**kw)
        tmp = self.conf_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.rename(tmp, self.conf_path)
        return text

    def environ(self):
        env = dict(os.environ if self.env is None else self.env)
        env["SFUD_WORKER_BIN"] = self.worker_bin
        return env

    # --- starting ---

    def start(self, wait=True, timeout=10):
        """Runs sfud -c CONF (daemon off), waits for the admin socket to
        accept connections. Raises Timeout (with the log) if it does
        not."""
        import subprocess
        path = sfud_path()
        if not os.access(path, os.X_OK):
            raise RuntimeError("%s is not built (SFUD_BUILDDIR=%s)" %
                               (path, builddir()))
        sys.stdout.flush()
        with open(self.stdout_path, "ab") as out, \
                open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen([path, "-c", self.conf_path],
                                         env=self.environ(),
                                         stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=err,
                                         close_fds=True)
        self.returncode = None
        _live[self.proc.pid] = self
        if wait:
            self.wait_socket(timeout)
        return self

    def start_daemon(self, timeout=15):
        """Runs sfud -c CONF for a config with "daemon on": returns the
        CompletedProcess of the starting process; learns the daemon's pid
        from the pid file."""
        r = self.run_sfud(["-c", self.conf_path], timeout)
        pid = self.read_pid_file()
        if pid is not None and pid_alive(pid):
            self.daemon_pid = pid
            _live[pid] = self
        return r

    def run_sfud(self, args, timeout=15):
        """Runs sfud with args (e.g. ["-s", "stop", "-c", conf]) to the
        end; returns the CompletedProcess (text stdout and stderr). The
        process gets killed past the timeout (TimeoutExpired raised)."""
        import subprocess
        sys.stdout.flush()
        return subprocess.run([sfud_path()] + list(args), env=self.environ(),
                              stdin=subprocess.DEVNULL,
                              capture_output=True, text=True,
                              timeout=timeout)

    def read_pid_file(self):
        try:
            with open(self.pid_path) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def alive(self):
        if self.proc is not None:
            if self.returncode is None:
                self.returncode = self.proc.poll()
            return self.returncode is None
        if self.daemon_pid is not None:
            return pid_alive(self.daemon_pid)
        return False

    def wait_socket(self, timeout=10):
        """Polls until a connect() to the admin socket succeeds."""
        deadline = time.monotonic() + timeout
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.settimeout(1)
                s.connect(self.sock_path)
                return True
            except OSError:
                pass
            finally:
                s.close()
            if not self.alive():
                raise ChannelClosed("sfud exited (%s) before its admin "
                                    "socket accepted a connection; log:\n%s"
                                    % (self.returncode,
                                       self.tail_all(30)))
            if time.monotonic() >= deadline:
                raise Timeout("sfud: admin socket %s not ready within %gs; "
                              "log:\n%s" % (self.sock_path, timeout,
                                            self.tail_all(30)))
            time.sleep(0.02)

    # --- talking ---

    def client(self, timeout=DEFAULT_TIMEOUT):
        """A new admin connection."""
        return AdminClient(self.sock_path, timeout, master=self)

    @property
    def ctl(self):
        """The helper's own long-lived connection."""
        if self._ctl is None or self._ctl.eof:
            if self._ctl is not None:
                self._ctl.close()
            self._ctl = self.client()
        return self._ctl

    def close_ctl(self):
        if self._ctl is not None:
            self._ctl.close()
            self._ctl = None

    def call(self, method, data=None, worker=None, handler_id=None,
             timeout=DEFAULT_TIMEOUT):
        return self.ctl.call(method, data, worker, handler_id, timeout)

    def status(self):
        r = self.call("master.status")
        return r.get("data") if r.get("accepted") else None

    def learn_pid(self, pid):
        if isinstance(pid, int) and pid > 0 and pid not in self.worker_pids:
            st = proc_stat(pid)
            self.worker_pids[pid] = st[1] if st else None

    def workers(self):
        """master.workers' list (learning every pid in it)."""
        r = self.call("master.workers")
        ws = (r.get("data") or {}).get("workers")
        if not isinstance(ws, list):
            raise AssertionError("master.workers: bad answer %r" % (r,))
        for w in ws:
            self.learn_pid(w.get("pid"))
        return ws

    def wait_workers(self, cond, timeout=10, what="workers"):
        """Polls master.workers until cond(list) is true; returns the
        list, or raises Timeout."""
        deadline = time.monotonic() + timeout
        while True:
            ws = self.workers()
            if cond(ws):
                return ws
            if time.monotonic() >= deadline:
                raise Timeout("sfud: %s not reached within %gs; last "
                              "master.workers: %r" % (what, timeout, ws))
            time.sleep(0.05)

    def wait_ready(self, n, timeout=10, generation=None):
        """Waits until master.workers lists exactly n workers, all
        running (of generation, if given); returns them sorted by
        index."""
        def ready(ws):
            return len(ws) == n and all(
                w.get("state") == "running" and isinstance(w.get("pid"), int)
                and (generation is None or w.get("generation") == generation)
                for w in ws)
        ws = self.wait_workers(ready, timeout, "%d running workers" % n)
        return sorted(ws, key=lambda w: w.get("index"))

    # --- the error log ---

    def log(self):
        """The error log as text ("" if it does not exist)."""
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
        for mt in self.LOG_STARTED_RE.finditer(text):
            self.learn_pid(int(mt.group(2)))
        return text

    def log_size(self):
        """Where the log ends now: give it to wait_log(since=...)."""
        return len(self.log())

    def wait_log(self, regex, timeout=DEFAULT_TIMEOUT, since=0):
        """Waits for regex in the log (past offset since); returns the
        match or None."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        while True:
            mt = rx.search(self.log(), since)
            if mt or time.monotonic() >= deadline:
                return mt
            time.sleep(0.02)

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def tail_all(self, n=30):
        lines = self.log().splitlines()[-n:]
        err = self.stderr().splitlines()[-n:]
        return "\n".join(["--- %s" % self.log_path] + lines +
                         ["--- stderr"] + err)

    # --- signals and stopping ---

    def send_signal(self, signo):
        pid = self.pid
        if pid is not None and self.alive():
            os.kill(pid, signo)

    def wait_exit(self, timeout=DEFAULT_TIMEOUT):
        """Waits for the master to exit; returns its exit code (negative:
        the signal), None if it still runs (a daemon: 0 once gone, its
        code is not ours to know)."""
        import subprocess
        if self.proc is not None:
            if self.returncode is None:
                try:
                    self.returncode = self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    return None
            _live.pop(self.proc.pid, None)
            return self.returncode
        if self.daemon_pid is not None:
            if wait_pids_gone([self.daemon_pid], timeout):
                return None
            _live.pop(self.daemon_pid, None)
            return 0
        return self.returncode

    def stop(self, timeout=10, signo=signal.SIGTERM):
        """SIGTERM (or signo), waits up to timeout, then SIGKILL; kills
        every worker pid learned that still runs. Returns the exit code of
        the signalled master (None when it had to be killed or was not
        running)."""
        code = None
        try:
            self.log()          # learn pids from the "started" lines
            if self.alive():
                try:
                    self.send_signal(signo)
                except ProcessLookupError:
                    pass
                code = self.wait_exit(timeout)
                if code is None:
                    tap.diag("sfud pid %s still runs %gs after signal %d: "
                             "SIGKILL" % (self.pid, timeout, signo))
                    try:
                        os.kill(self.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    self.wait_exit(5)
            elif self.proc is not None:
                code = self.wait_exit(1)
        finally:
            self.close_ctl()
            self.log()
            # Workers exit on channel EOF: give them time, then kill and
            # remember the stragglers for check_aftermath().
            self.stragglers = self._kill_workers(grace=5.0)
            if tap.failed() > self._failed_at_start:
                tap.diag(self.tail_all(40))
                self._failed_at_start = tap.failed()
        return code

    def _kill_workers(self, grace=2.0):
        """Gives the learned workers grace seconds to exit, then SIGKILLs
        those left (reporting them); returns their pids."""
        left = wait_pids_gone(self.worker_pids, grace)
        for pid in left:
            tap.diag("worker pid %d still runs after the master: SIGKILL" %
                     pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return left

    def cleanup(self):
        if self.alive():
            self.stop(timeout=5)
        else:
            self.close_ctl()
            self._kill_workers(grace=0.5)
        if self.proc is not None:
            _live.pop(self.proc.pid, None)
        if self.daemon_pid is not None:
            _live.pop(self.daemon_pid, None)

    def live_workers(self, timeout=5.0):
        """The learned worker pids still running after waiting up to
        timeout for them to go."""
        self.log()
        return wait_pids_gone(self.worker_pids, timeout)

    def check_aftermath(self, name="sfud"):
        """Three tests: the admin socket and the pid file are gone, and no
        worker the master ever had still runs."""
        tap.ok(not os.path.exists(self.sock_path),
               "%s: admin socket removed" % name)
        tap.ok(not os.path.exists(self.pid_path),
               "%s: pid file removed" % name)
        left = set(self.stragglers or [])
        left.update(self.live_workers(0 if left else 5.0))
        tap.is_(sorted(left), [], "%s: no worker left (of %d seen)" %
                (name, len(self.worker_pids)))
        self._kill_workers(grace=0)


# --- RTP and RTCP on loopback UDP (media tests) ---
#
#   peer = sfu.UdpPeer()                    # bound to 127.0.0.1:<any>
#   peer.send(sfu.rtp_build(96, seq, ts, 1111, payload,
#                           exts={1: b"0"}), ("127.0.0.1", port))
#   peer.wait(lambda: len(peer.rtp) >= n, timeout=3)
#   for p in peer.rtp: p["seq"], p["exts"][1], p["payload"] ...
#   for c in peer.rtcp: [b["pt"] for b in c["packets"]]
#
# Every datagram is numbered in arrival order ("n"): an RTCP datagram
# with a higher n than an RTP one left the same sfud socket after it.
# Only the parts of RFC 3550/4585/8285 the tests need. RTCP is told from
# RTP on a muxed port by its second byte (RFC 5761 §4: 192..223).

RTP_EXT_ONE_BYTE = 0xBEDE
RTCP_SR, RTCP_RR, RTCP_SDES, RTCP_BYE = 200, 201, 202, 203
RTCP_RTPFB, RTCP_PSFB = 205, 206


def rtp_build(pt, seq, ts, ssrc, payload=b"", marker=False, exts=None):
    """An RTP packet (bytes). exts: {id: value bytes} sent as RFC 8285
    one-byte header extensions (ids 1..14, values of 1..16 bytes)."""
    b0 = 0x80
    block = b""
    if exts:
        body = b""
        for id, val in sorted(exts.items()):
            if not 1 <= id <= 14 or not 1 <= len(val) <= 16:
                raise ValueError("bad one-byte extension %r=%r" % (id, val))
            body += bytes([(id << 4) | (len(val) - 1)]) + bytes(val)
        body += b"\0" * (-len(body) % 4)
        block = struct.pack(">HH", RTP_EXT_ONE_BYTE, len(body) // 4) + body
        b0 |= 0x10
    b1 = (0x80 if marker else 0) | (pt & 0x7f)
    return struct.pack(">BBHII", b0, b1, seq & 0xffff, ts & 0xffffffff,
                       ssrc & 0xffffffff) + block + bytes(payload)


def is_rtcp(data):
    """Whether a datagram on a muxed port is RTCP (RFC 5761 §4)."""
    return len(data) >= 8 and (data[0] & 0xc0) == 0x80 and \
        192 <= data[1] <= 223


def rtp_parse(data):
    """A dict for an RTP packet: marker, pt, seq, ts, ssrc, csrcs, exts
    ({id: bytes}, one- and two-byte forms), header_len, payload (padding
    removed). Raises ValueError on a malformed packet."""
    data = bytes(data)
    if len(data) < 12 or (data[0] >> 6) != 2:
        raise ValueError("not RTP: %s" % data[:12].hex())
    b0, b1, seq, ts, ssrc = struct.unpack(">BBHII", data[:12])
    off = 12
    cc = b0 & 0x0f
    csrcs = list(struct.unpack(">%dI" % cc, data[off:off + 4 * cc]))
    off += 4 * cc
    exts = {}
    ext_profile = None
    if b0 & 0x10:
        if len(data) < off + 4:
            raise ValueError("truncated extension header")
        ext_profile, words = struct.unpack(">HH", data[off:off + 4])
        off += 4
        end = off + 4 * words
        if end > len(data):
            raise ValueError("extension block past the end")
        i = off
        if ext_profile == RTP_EXT_ONE_BYTE:
            while i < end:
                if data[i] == 0:
                    i += 1
                    continue
                id, ln = data[i] >> 4, (data[i] & 0x0f) + 1
                if id == 15:
                    break
                exts[id] = data[i + 1:i + 1 + ln]
                i += 1 + ln
        elif (ext_profile & 0xfff0) == 0x1000:
            while i + 1 < end:
                if data[i] == 0:
                    i += 1
                    continue
                id, ln = data[i], data[i + 1]
                exts[id] = data[i + 2:i + 2 + ln]
                i += 2 + ln
        off = end
    payload_end = len(data)
    if b0 & 0x20:
        payload_end -= data[-1]
    if payload_end < off:
        raise ValueError("padding past the header")
    return {"marker": bool(b1 & 0x80), "pt": b1 & 0x7f, "seq": seq,
            "ts": ts, "ssrc": ssrc, "csrcs": csrcs, "ext_profile":
            ext_profile, "exts": exts, "header_len": off,
            "payload": data[off:payload_end], "len": len(data)}


def _rtcp_report_blocks(data, off, count):
    blocks = []
    for _ in range(count):
        (ssrc, lost_word, hseq, jitter, lsr,
         dlsr) = struct.unpack(">IIIIII", data[off:off + 24])
        cum = lost_word & 0xffffff
        if cum & 0x800000:
            cum -= 0x1000000
        blocks.append({"ssrc": ssrc, "fraction_lost": lost_word >> 24,
                       "cumulative_lost": cum, "highest_seq": hseq,
                       "jitter": jitter, "lsr": lsr, "dlsr": dlsr})
        off += 24
    return blocks


def rtcp_parse(data):
    """The packets of a compound RTCP datagram, as dicts with pt, count
    (RC/SC/FMT), length and what the tests read: SR (ssrc, ntp, rtp_ts,
    packet_count, octet_count, reports), RR (ssrc, reports), SDES
    (chunks: [(ssrc, {item type: bytes})]), RTPFB/PSFB (sender_ssrc,
    media_ssrc, fci). Raises ValueError on a malformed datagram."""
    data = bytes(data)
    out = []
    off = 0
    while off < len(data):
        if len(data) - off < 4 or (data[off] >> 6) != 2:
            raise ValueError("bad RTCP header at %d: %s" %
                             (off, data[off:off + 4].hex()))
        count = data[off] & 0x1f
        pt = data[off + 1]
        (words,) = struct.unpack(">H", data[off + 2:off + 4])
        end = off + 4 * (words + 1)
        if end > len(data):
            raise ValueError("RTCP packet past the end")
        body = data[off + 4:end]
        p = {"pt": pt, "count": count, "length": words}
        if pt == RTCP_SR and len(body) >= 24:
            (p["ssrc"], ntp_hi, ntp_lo, p["rtp_ts"], p["packet_count"],
             p["octet_count"]) = struct.unpack(">IIIIII", body[:24])
            p["ntp"] = (ntp_hi << 32) | ntp_lo
            p["reports"] = _rtcp_report_blocks(body, 24, count)
        elif pt == RTCP_RR and len(body) >= 4:
            (p["ssrc"],) = struct.unpack(">I", body[:4])
            p["reports"] = _rtcp_report_blocks(body, 4, count)
        elif pt == RTCP_SDES:
            chunks = []
            i = 0
            for _ in range(count):
                if i + 4 > len(body):
                    break
                (ssrc,) = struct.unpack(">I", body[i:i + 4])
                i += 4
                items = {}
                while i < len(body) and body[i] != 0:
                    t, ln = body[i], body[i + 1]
                    items[t] = body[i + 2:i + 2 + ln]
                    i += 2 + ln
                i += 4 - (i % 4)        # the null item and padding
                chunks.append((ssrc, items))
            p["chunks"] = chunks
        elif pt in (RTCP_RTPFB, RTCP_PSFB) and len(body) >= 8:
            p["sender_ssrc"], p["media_ssrc"] = struct.unpack(">II",
                                                              body[:8])
            p["fci"] = body[8:]
        out.append(p)
        off = end
    return out


def rtcp_rr(ssrc, reports=()):
    """A receiver report: reports are dicts as rtcp_parse() gives (ssrc,
    fraction_lost, cumulative_lost, highest_seq, jitter, lsr, dlsr)."""
    body = struct.pack(">I", ssrc)
    for r in reports:
        body += struct.pack(">IIIIII", r["ssrc"],
                            (r.get("fraction_lost", 0) << 24) |
                            (r.get("cumulative_lost", 0) & 0xffffff),
                            r.get("highest_seq", 0), r.get("jitter", 0),
                            r.get("lsr", 0), r.get("dlsr", 0))
    return struct.pack(">BBH", 0x80 | len(reports), RTCP_RR,
                       len(body) // 4) + body


def rtcp_sr(ssrc, ntp, rtp_ts, packet_count, octet_count, reports=()):
    """A sender report (ntp: 64-bit NTP time, see ntp_now())."""
    body = struct.pack(">IIIIII", ssrc, ntp >> 32, ntp & 0xffffffff,
                       rtp_ts & 0xffffffff, packet_count, octet_count)
    for r in reports:
        body += struct.pack(">IIIIII", r["ssrc"],
                            (r.get("fraction_lost", 0) << 24) |
                            (r.get("cumulative_lost", 0) & 0xffffff),
                            r.get("highest_seq", 0), r.get("jitter", 0),
                            r.get("lsr", 0), r.get("dlsr", 0))
    return struct.pack(">BBH", 0x80 | len(reports), RTCP_SR,
                       len(body) // 4) + body


def ntp_now():
    """The wall clock as a 64-bit NTP timestamp (RFC 3550 §4)."""
    t = time.time() + 2208988800
    return (int(t) << 32) | int((t % 1) * (1 << 32))


def ntp_compact(ntp):
    """The middle 32 bits (LSR/DLSR units: 1/65536 s)."""
    return (ntp >> 16) & 0xffffffff


def rtcp_pli(sender_ssrc, media_ssrc):
    return struct.pack(">BBHII", 0x81, RTCP_PSFB, 2, sender_ssrc,
                       media_ssrc)


class UdpPeer:
    """A UDP socket on loopback standing for a remote media endpoint.
    Everything received is kept, in order, with its arrival time:
    self.rtp (parsed packets), self.rtcp ({"at", "from", "raw",
    "packets"}), self.bad (datagrams that parse as neither)."""

    def __init__(self, host="127.0.0.1", port=0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((host, port))
        self.sock.setblocking(False)
        self.addr = self.sock.getsockname()
        self.port = self.addr[1]
        self.rtp = []
        self.rtcp = []
        self.bad = []
        self.raw = []           # every datagram: (at, from, bytes)
        self.count = 0          # datagrams received; each gets "n"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, data, addr):
        self.sock.sendto(bytes(data), addr)

    def _drain(self):
        while self.sock is not None:
            try:
                data, frm = self.sock.recvfrom(1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            now = time.monotonic()
            self.count += 1
            self.raw.append((now, frm, data))
            try:
                if is_rtcp(data):
                    self.rtcp.append({"at": now, "n": self.count,
                                      "from": frm, "raw": data,
                                      "packets": rtcp_parse(data)})
                else:
                    p = rtp_parse(data)
                    p["at"] = now
                    p["n"] = self.count
                    p["from"] = frm
                    self.rtp.append(p)
            except (ValueError, struct.error, IndexError) as e:
                self.bad.append((now, frm, data, repr(e)))

    def poll(self):
        """Reads whatever is waiting, without blocking."""
        self._drain()

    def wait(self, cond, timeout=DEFAULT_TIMEOUT):
        """Reads until cond() is true or timeout seconds passed; returns
        whether cond() became true (never raises)."""
        deadline = time.monotonic() + timeout
        while True:
            self._drain()
            if cond():
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            select.select([self.sock], [], [], min(left, 0.05))

    def rtcp_packets(self, pt=None, since=None, after_n=None):
        """Every RTCP packet received (flattened; with this pt, arrived
        at or after the monotonic time since, after datagram number
        after_n), each with the "at" and "n" of its datagram added."""
        out = []
        for c in self.rtcp:
            if since is not None and c["at"] < since:
                continue
            if after_n is not None and c["n"] <= after_n:
                continue
            for p in c["packets"]:
                if pt is None or p["pt"] == pt:
                    q = dict(p)
                    q["at"] = c["at"]
                    q["n"] = c["n"]
                    out.append(q)
        return out


def wait_peers(peers, cond, timeout=DEFAULT_TIMEOUT):
    """Reads all peers until cond() is true or timeout seconds passed;
    returns whether it became true."""
    deadline = time.monotonic() + timeout
    while True:
        for p in peers:
            p.poll()
        if cond():
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        select.select([p.sock for p in peers if p.sock is not None], [], [],
                      min(left, 0.02))
