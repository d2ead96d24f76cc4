# SPDX-License-Identifier: MIT
#
# The client side of STUN (RFC 5389) as an ICE controlling agent uses it
# (RFC 8445 §7.1), for sfud's WebRtcTransport tests
# (t/integration/42-webrtc-transport.t), written from the RFCs with the
# standard library only (hmac, hashlib, zlib, struct):
#
#   req = stun.binding_request(ufrag="srvufrag:cli", password=pwd,
#                              priority=..., controlling=..., use_candidate=1)
#   sock.sendto(req.data, addr)             # req.txid: the transaction id
#   msg = stun.parse(reply)                 # raises stun.Malformed
#   msg.cls == stun.SUCCESS, msg.integrity_ok(pwd), msg.fingerprint_ok
#   msg.xor_mapped_address() -> ("127.0.0.1", 50000)
#   msg.error_code() -> (401, "Unauthorized")
#
# binding_request() lets a test leave out, add, or corrupt any attribute
# (to provoke each error response), so it checks nothing itself. parse()
# only checks framing; integrity and fingerprint are reported, not
# enforced, so a test can assert on them.
#
# Also RFC 4571 framing (2-byte big-endian length) for ICE over TCP, and
# blocking helpers with deadlines (UDP and TCP) that wait for the
# response to one transaction.
import hashlib
import hmac
import os
import select
import socket
import struct
import time
import zlib

MAGIC_COOKIE = 0x2112A442
HEADER_LEN = 20
FINGERPRINT_XOR = 0x5354554E

# Classes (RFC 5389 §6).
REQUEST, INDICATION, SUCCESS, ERROR = 0, 1, 2, 3
CLASS_NAMES = {REQUEST: "request", INDICATION: "indication",
               SUCCESS: "success", ERROR: "error"}
METHOD_BINDING = 0x001

# Attributes (RFC 5389 §18.2, RFC 8445 §16.1).
MAPPED_ADDRESS = 0x0001
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
UNKNOWN_ATTRIBUTES = 0x000A
XOR_MAPPED_ADDRESS = 0x0020
PRIORITY = 0x0024
USE_CANDIDATE = 0x0025
SOFTWARE = 0x8022
FINGERPRINT = 0x8028
ICE_CONTROLLED = 0x8029
ICE_CONTROLLING = 0x802A

FAMILY_IPV4, FAMILY_IPV6 = 0x01, 0x02


class Malformed(ValueError):
    """Bytes that are not a well-formed STUN message."""


# --- building ---

def message_type(cls, method):
    """The 14-bit type: M11..M7 C1 M6..M4 C0 M3..M0 (RFC 5389 §6)."""
    return ((method & 0x000F) | ((method & 0x0070) << 1) |
            ((method & 0x0F80) << 2) | ((cls & 1) << 4) | ((cls & 2) << 7))


def _pad(b):
    return b + b"\0" * (-len(b) % 4)


def attr(type_, value):
    """One attribute, padded to 4 bytes (the length field unpadded)."""
    return struct.pack(">HH", type_, len(value)) + _pad(value)


def _header(type_, body_len, txid):
    return struct.pack(">HHI", type_, body_len, MAGIC_COOKIE) + txid


def fingerprint_value(msg_before):
    """The FINGERPRINT value for msg_before, whose header length already
    counts the FINGERPRINT attribute (RFC 5389 §15.5)."""
    return (zlib.crc32(msg_before) & 0xFFFFFFFF) ^ FINGERPRINT_XOR


def integrity_value(msg_before, key):
    """HMAC-SHA1 over msg_before, whose header length already counts the
    MESSAGE-INTEGRITY attribute (RFC 5389 §15.4)."""
    return hmac.new(key, msg_before, hashlib.sha1).digest()


def _key(password):
    return password.encode() if isinstance(password, str) else password


def build(cls, method, attrs, txid=None, key=None, fingerprint=True,
          bad_integrity=False, bad_fingerprint=False):
    """A message with attrs ([(type, value bytes)], in order), then
    MESSAGE-INTEGRITY with key (when key is not None) and FINGERPRINT
    (when fingerprint). bad_*: flip a bit of that value. Returns
    (bytes, txid)."""
    txid = txid if txid is not None else os.urandom(12)
    if len(txid) != 12:
        raise ValueError("a transaction id has 12 bytes")
    type_ = message_type(cls, method)
    body = b"".join(attr(t, v) for t, v in attrs)
    if key is not None:
        before = _header(type_, len(body) + 24, txid) + body
        mac = bytearray(integrity_value(before, _key(key)))
        if bad_integrity:
            mac[0] ^= 1
        body += attr(MESSAGE_INTEGRITY, bytes(mac))
    if fingerprint:
        before = _header(type_, len(body) + 8, txid) + body
        crc = fingerprint_value(before)
        if bad_fingerprint:
            crc ^= 1
        body += attr(FINGERPRINT, struct.pack(">I", crc))
    return _header(type_, len(body), txid) + body, txid


class Request:
    def __init__(self, data, txid):
        self.data = data
        self.txid = txid


def binding_request(username=None, password=None, priority=0x6E7F00FF,
                    controlling=None, controlled=None, use_candidate=False,
                    extra=(), txid=None, integrity=True, fingerprint=True,
                    bad_integrity=False, bad_fingerprint=False):
    """An ICE connectivity check: USERNAME, PRIORITY, ICE-CONTROLLING /
    ICE-CONTROLLED (tie-breakers, when not None), USE-CANDIDATE, extra
    attributes, MESSAGE-INTEGRITY (with password, when integrity and
    password is not None), FINGERPRINT. Leave any out with None/False."""
    attrs = []
    if username is not None:
        attrs.append((USERNAME, username.encode()
                      if isinstance(username, str) else username))
    if priority is not None:
        attrs.append((PRIORITY, struct.pack(">I", priority)))
    if controlling is not None:
        attrs.append((ICE_CONTROLLING, struct.pack(">Q", controlling)))
    if controlled is not None:
        attrs.append((ICE_CONTROLLED, struct.pack(">Q", controlled)))
    if use_candidate:
        attrs.append((USE_CANDIDATE, b""))
    attrs.extend(extra)
    key = password if integrity and password is not None else None
    data, txid = build(REQUEST, METHOD_BINDING, attrs, txid, key,
                       fingerprint, bad_integrity, bad_fingerprint)
    return Request(data, txid)


# --- parsing ---

class Message:
    """A parsed message: cls, method, txid, attrs [(type, value,
    offset)], raw; fingerprint_ok (None: no FINGERPRINT)."""

    def __init__(self, raw):
        self.raw = raw
        self.cls = None
        self.method = None
        self.txid = None
        self.attrs = []
        self.fingerprint_ok = None

    def get(self, type_):
        """The value of the first attribute of this type, or None."""
        for t, v, _ in self.attrs:
            if t == type_:
                return v
        return None

    def types(self):
        return [t for t, _, _ in self.attrs]

    def integrity_ok(self, password):
        """Whether MESSAGE-INTEGRITY verifies with password (False
        without the attribute)."""
        for t, v, off in self.attrs:
            if t == MESSAGE_INTEGRITY:
                hdr = bytearray(self.raw[:HEADER_LEN])
                struct.pack_into(">H", hdr, 2, off + 24 - HEADER_LEN)
                want = integrity_value(bytes(hdr) +
                                       self.raw[HEADER_LEN:off],
                                       _key(password))
                return hmac.compare_digest(want, v)
        return False

    def xor_mapped_address(self):
        """(ip, port) of XOR-MAPPED-ADDRESS, or None."""
        v = self.get(XOR_MAPPED_ADDRESS)
        if v is None or len(v) < 4:
            return None
        port = struct.unpack(">H", v[2:4])[0] ^ (MAGIC_COOKIE >> 16)
        mask = struct.pack(">I", MAGIC_COOKIE) + self.txid
        if v[1] == FAMILY_IPV4 and len(v) == 8:
            ip = bytes(a ^ b for a, b in zip(v[4:8], mask))
            return (socket.inet_ntop(socket.AF_INET, ip), port)
        if v[1] == FAMILY_IPV6 and len(v) == 20:
            ip = bytes(a ^ b for a, b in zip(v[4:20], mask))
            return (socket.inet_ntop(socket.AF_INET6, ip), port)
        return None

    def error_code(self):
        """(code, reason) of ERROR-CODE, or None."""
        v = self.get(ERROR_CODE)
        if v is None or len(v) < 4:
            return None
        return ((v[2] & 7) * 100 + v[3],
                v[4:].decode("utf-8", "replace"))

    def unknown_attributes(self):
        """The types listed by UNKNOWN-ATTRIBUTES, or None."""
        v = self.get(UNKNOWN_ATTRIBUTES)
        if v is None:
            return None
        return [struct.unpack(">H", v[i:i + 2])[0]
                for i in range(0, len(v) - 1, 2)]

    def __repr__(self):
        return "<STUN %s method 0x%03x attrs %s>" % (
            CLASS_NAMES.get(self.cls), self.method or 0,
            ["0x%04x" % t for t in self.types()])


def is_stun(data):
    """The RFC 5389 §7.3 / RFC 7983 test: first two bits zero, the magic
    cookie, a length that matches."""
    return (len(data) >= HEADER_LEN and data[0] & 0xC0 == 0 and
            struct.unpack(">I", data[4:8])[0] == MAGIC_COOKIE and
            struct.unpack(">H", data[2:4])[0] == len(data) - HEADER_LEN)


def parse(data):
    """A Message; raises Malformed for bad framing."""
    data = bytes(data)
    if not is_stun(data):
        raise Malformed("not a STUN message: %s" % data[:24].hex())
    type_, length = struct.unpack(">HH", data[:4])
    if length % 4:
        raise Malformed("length %d not a multiple of 4" % length)
    m = Message(data)
    m.cls = ((type_ >> 7) & 2) | ((type_ >> 4) & 1)
    m.method = (type_ & 0x000F) | ((type_ >> 1) & 0x0070) | \
        ((type_ >> 2) & 0x0F80)
    m.txid = data[8:20]
    off = HEADER_LEN
    while off < len(data):
        if len(data) - off < 4:
            raise Malformed("truncated attribute header at %d" % off)
        t, n = struct.unpack(">HH", data[off:off + 4])
        end = off + 4 + n + (-n % 4)
        if end > len(data):
            raise Malformed("attribute 0x%04x overruns the message" % t)
        if m.fingerprint_ok is not None:
            raise Malformed("attribute 0x%04x after FINGERPRINT" % t)
        v = data[off + 4:off + 4 + n]
        m.attrs.append((t, v, off))
        if t == FINGERPRINT:
            m.fingerprint_ok = (len(v) == 4 and
                                struct.unpack(">I", v)[0] ==
                                fingerprint_value(data[:off]))
        off = end
    return m


# --- RFC 4571 framing ---

def frame(data):
    """data with its 2-byte big-endian length in front (RFC 4571 §2)."""
    if len(data) > 0xFFFF:
        raise ValueError("RFC 4571 frames carry at most 65535 bytes")
    return struct.pack(">H", len(data)) + data


class FrameReader:
    """Incremental RFC 4571 decoder."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data

    def frames(self):
        out = []
        while len(self.buf) >= 2:
            (n,) = struct.unpack(">H", self.buf[:2])
            if len(self.buf) < 2 + n:
                break
            out.append(bytes(self.buf[2:2 + n]))
            del self.buf[:2 + n]
        return out


# --- waiting for answers ---

def udp_transact(sock, req, addr, timeout=2.0, retries=0):
    """Sends req (a Request) from sock to addr and waits for a STUN
    message with its transaction id. Returns (Message, from) or
    (None, None) on timeout (after retries + 1 sends spread over it).
    Other datagrams arriving meanwhile are dropped."""
    attempts = retries + 1
    per = timeout / attempts
    for _ in range(attempts):
        sock.sendto(req.data, addr)
        deadline = time.monotonic() + per
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select([sock], [], [], left)
            if not r:
                continue
            try:
                data, frm = sock.recvfrom(1 << 16)
            except (BlockingIOError, InterruptedError):
                continue
            if not is_stun(data):
                continue
            try:
                m = parse(data)
            except Malformed:
                continue
            if m.txid == req.txid:
                return m, frm
    return None, None


def udp_silence(sock, duration):
    """Reads sock for duration seconds; returns the datagrams received
    (data, from)."""
    got = []
    deadline = time.monotonic() + duration
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return got
        r, _, _ = select.select([sock], [], [], left)
        if r:
            try:
                got.append(sock.recvfrom(1 << 16))
            except (BlockingIOError, InterruptedError):
                pass


class TcpPeer:
    """A TCP connection to an ICE-TCP (passive) candidate, RFC 4571
    framed both ways."""

    def __init__(self, addr, timeout=2.0):
        self.sock = socket.create_connection(addr, timeout=timeout)
        self.sock.setblocking(False)
        self.local = self.sock.getsockname()
        self.reader = FrameReader()
        self.frames = []
        self.eof = False

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, data):
        self.sock.setblocking(True)
        try:
            self.sock.sendall(frame(data))
        finally:
            self.sock.setblocking(False)

    def send_raw(self, data):
        self.sock.setblocking(True)
        try:
            self.sock.sendall(data)
        finally:
            self.sock.setblocking(False)

    def _read(self, timeout):
        if self.sock is None or self.eof:
            return
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return
        try:
            data = self.sock.recv(1 << 16)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionError:
            data = b""
        if not data:
            self.eof = True
            return
        self.reader.feed(data)
        self.frames.extend(self.reader.frames())

    def transact(self, req, timeout=2.0):
        """Sends req framed; returns the STUN Message answering it, or
        None on timeout or EOF."""
        self.send(req.data)
        return self.wait_txid(req.txid, timeout)

    def wait_txid(self, txid, timeout=2.0):
        """The STUN message with this transaction id among the frames
        received (waiting up to timeout), or None; it is unqueued."""
        deadline = time.monotonic() + timeout
        while True:
            for i, f in enumerate(self.frames):
                if is_stun(f):
                    try:
                        m = parse(f)
                    except Malformed:
                        continue
                    if m.txid == txid:
                        del self.frames[i]
                        return m
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                return None
            self._read(min(left, 0.05))

    def wait_eof(self, timeout=2.0):
        deadline = time.monotonic() + timeout
        while not self.eof:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._read(min(left, 0.05))
        return True
