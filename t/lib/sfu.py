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
