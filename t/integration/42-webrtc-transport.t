#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# WebRtcTransport and WebRtcServer (mediasoup v3 shapes) through a real
# sfud (1 worker, rtc_ports of our own) driven over its admin socket, with
# the remote side played by Python (STUN from t/lib/stun.py, written from
# RFC 5389/8445) and by `openssl s_client` as a real DTLS client:
#
# - router.createWebRtcTransport: the dump (ICE-lite parameters, host
#   candidates for udp and tcp with the announced address, priorities
#   following preferTcp, DTLS fingerprints sha-1..sha-512), listenIps,
#   portRange; enableSctp is an UnsupportedError, no protocol a TypeError;
# - ICE-lite over UDP: a check gets a success response with
#   XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY (verified with the transport's
#   password) and FINGERPRINT (verified); iceselectedtuplechange and
#   icestatechange "connected", then "completed" with USE-CANDIDATE; 401
#   for a wrong password or ufrag, 400 without FINGERPRINT, PRIORITY,
#   USERNAME or MESSAGE-INTEGRITY (or for another method), both without
#   MESSAGE-INTEGRITY; 487 with ICE-CONTROLLED, 420 with UNKNOWN-ATTRIBUTES
#   for an unknown comprehension-required attribute, both with it; a bad
#   FINGERPRINT is silently discarded, an unknown optional attribute
#   ignored; failed checks select nothing; a nomination from another tuple
#   moves the selection, a plain check does not;
# - transport.restartIce: new credentials; the old ones work until the
#   new ones are used, then get 401;
# - ICE over TCP (RFC 4571 framing, also coalesced and split): framed
#   responses, a "tcp" selected tuple with the announced address; closing
#   the connection hands the selection back to a UDP tuple;
# - consent: iceConsentTimeout 2 without checks -> "disconnected" after
#   about 2 s, a transport kept checked stays; a new check reconnects;
# - transport.connect: dtlsLocalRole from the remote role, argument
#   errors, a second connect is an InvalidStateError; DTLS waits for ICE;
# - DTLS with openssl s_client (through a Python UDP relay whose socket
#   passed ICE): dtlsstatechange connecting -> connected, s_client
#   negotiated SRTP_AES128_CM_SHA1_80 and saw the certificate the
#   fingerprint announces; with the exported keys, SRTP both ways
#   (Python's AES-CM + HMAC-SHA1 from `cryptography`) through a producer
#   and a consumer; RTP before DTLS, SRTP with a bad tag and SRTP from a
#   tuple ICE did not validate go nowhere; close_notify -> "closed"; a
#   wrong fingerprint -> "failed";
# - WebRtcServer: create and dump, two transports on one port, checks
#   answered with each transport's own password and selecting its tuples,
#   an unknown ufrag unanswered, TCP through the server, restartIce
#   retiring the old ufrag; a busy port is an error naming it; an unknown
#   webRtcServerId a NotFoundError; worker.closeWebRtcServer closes its
#   transports (transport.listenserverclose), its TCP connections and
#   ports;
# - transport.close and router.close with live TCP connections; the worker
#   never restarted; the usual aftermath.
import hashlib
import hmac
import os
import re
import select
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402
import stun  # noqa: E402

try:
    from cryptography.hazmat.primitives.ciphers import (  # noqa: E402
        Cipher, algorithms, modes)
    HAVE_AES = True
except ImportError:
    HAVE_AES = False

LOCAL = "127.0.0.1"
ANNOUNCED = "203.0.113.1"
LEGACY_ANNOUNCED = "198.51.100.7"
RTC_MIN, RTC_MAX = 45000, 45999
RANGE_MIN, RANGE_MAX = 46100, 46109
TIEBREAK = 0x1122334455667788
AUDIO_PT = 111
WEBRTC_SSRC, SRC_SSRC, FAIL_SSRC = 5555, 6666, 7777
MEDIA_CODECS = [
    {"kind": "audio", "mimeType": "audio/opus", "clockRate": 48000,
     "channels": 2},
]
SELECTED = "webrtctransport.iceselectedtuplechange"
ICESTATE = "webrtctransport.icestatechange"
DTLSSTATE = "webrtctransport.dtlsstatechange"
FP_LEN = [("sha-1", 20), ("sha-224", 28), ("sha-256", 32), ("sha-384", 48),
          ("sha-512", 64)]


# --- small helpers ---

def data(r):
    d = r.get("data") if isinstance(r, dict) else None
    return d if isinstance(d, (dict, list)) else {}


def stats(c, tid):
    d = data(c.call("transport.getStats", handler_id=tid))
    return d[0] if isinstance(d, list) and d else {}


def must(c, method, d=None, hid=None, worker=None):
    """A setup call that has to succeed: its data (raises otherwise)."""
    r = c.call(method, d, worker=worker, handler_id=hid)
    if r.get("accepted") is not True:
        raise AssertionError("%s on %r failed: %r" % (method, hid, r))
    return data(r)


def error_is(r, error, reason_re, name):
    """Two tests: the error kind and its reason."""
    tap.is_(r.get("error"), error, name + ": " + error)
    tap.like(r.get("reason"), reason_re, name + ": reason names it")


def skip(n, reason):
    """n skipped tests (tap.py has no skip for single tests)."""
    for _ in range(n):
        tap._count += 1
        tap._out("ok %d # SKIP %s" % (tap._count, reason))


def udp_sock():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((LOCAL, 0))
    return s


def bindable(port, kind):
    s = socket.socket(socket.AF_INET, kind)
    try:
        if kind == socket.SOCK_STREAM:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((LOCAL, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def events(c, n=0, settle=0.2, timeout=3.0):
    """Notifications as (event, data): waits for n of them (up to
    timeout), then settle seconds more for any extra one."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        try:
            m = c.next_notification(left)
        except sfu.Timeout:
            break
        got.append((m.get("event"), m.get("data")))
    return got + [(m.get("event"), m.get("data"))
                  for m in c.expect_silence(settle)
                  if sfu.is_notification(m)]


def collect(c, until, timeout):
    """Notifications as (event, data, targetId) until until(list) is true
    or timeout seconds passed."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or (got and until(got)):
            return got
        try:
            m = c.next_notification(left)
        except sfu.Timeout:
            return got
        got.append((m.get("event"), m.get("data"), m.get("targetId")))


def tuple_ev(local_addr, local_port, remote, proto="udp"):
    return (SELECTED, {"iceSelectedTuple": {
        "localAddress": local_addr, "localPort": local_port,
        "remoteIp": remote[0], "remotePort": remote[1], "protocol": proto}})


def state_ev(state):
    return (ICESTATE, {"iceState": state})


def cand(d, proto):
    for x in d.get("iceCandidates") or []:
        if x.get("protocol") == proto:
            return x
    return {}


def creds(d):
    p = d.get("iceParameters") or {}
    return p.get("usernameFragment"), p.get("password")


# --- STUN checks ---

def check(sock, port, ufrag, pwd, use=False, username=None, **kw):
    """One check from sock to port: (request, response or None, from)."""
    req = stun.binding_request(
        username=username if username is not None else "%s:py" % ufrag,
        password=pwd, controlling=kw.pop("controlling", TIEBREAK),
        use_candidate=use, **kw)
    m, frm = stun.udp_transact(sock, req, (LOCAL, port), 1.0)
    return req, m, frm


def problems(m, req, pwd, addr, frm=None, port=None):
    """What is wrong with m as the success response to req ([]: nothing):
    class, method, transaction, MESSAGE-INTEGRITY with pwd, FINGERPRINT,
    XOR-MAPPED-ADDRESS == addr, the last two attributes, the source."""
    if m is None:
        return ["no response"]
    p = []
    if m.cls != stun.SUCCESS:
        p.append("class %s %r" % (stun.CLASS_NAMES.get(m.cls),
                                   m.error_code()))
    if m.method != stun.METHOD_BINDING:
        p.append("method 0x%03x" % m.method)
    if m.txid != req.txid:
        p.append("transaction id")
    if not m.integrity_ok(pwd):
        p.append("MESSAGE-INTEGRITY does not verify")
    if m.fingerprint_ok is not True:
        p.append("FINGERPRINT missing or wrong")
    if m.xor_mapped_address() != tuple(addr):
        p.append("XOR-MAPPED-ADDRESS %r, not %r" % (m.xor_mapped_address(),
                                                    tuple(addr)))
    if m.types()[-2:] != [stun.MESSAGE_INTEGRITY, stun.FINGERPRINT]:
        p.append("attributes %r" % m)
    if port is not None and frm != (LOCAL, port):
        p.append("from %r, not port %d" % (frm, port))
    return p


def err_of(m, pwd=None):
    """(class, code, FINGERPRINT ok[, MESSAGE-INTEGRITY]) of a response;
    None if none came. With pwd, the last item is "none" without
    MESSAGE-INTEGRITY, "ok" when it verifies with pwd, else "bad"."""
    if m is None:
        return None
    ec = m.error_code()
    out = (stun.CLASS_NAMES.get(m.cls), ec[0] if ec else None,
           m.fingerprint_ok)
    if pwd is None:
        return out
    if stun.MESSAGE_INTEGRITY not in m.types():
        return out + ("none",)
    return out + ("ok" if m.integrity_ok(pwd) else "bad",)


# --- DTLS peer: openssl s_client behind a UDP relay ---

class Relay:
    """Two UDP sockets: front (s_client talks to it) and back (did ICE
    with sfud, so its tuple is valid). DTLS goes both ways; RTP and RTCP
    that sfud sends to back are kept in self.media instead."""

    def __init__(self, target):
        self.front = udp_sock()
        self.back = udp_sock()
        self.back.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.back_addr = self.back.getsockname()
        self.front_port = self.front.getsockname()[1]
        self.target = target
        self.client = None
        self.media = []
        self.lock = threading.Lock()
        self.done = False
        self.thread = None

    def start(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done:
            try:
                r, _, _ = select.select([self.front, self.back], [], [],
                                        0.05)
            except (OSError, ValueError):
                return
            for s in r:
                try:
                    d, frm = s.recvfrom(1 << 16)
                except OSError:
                    continue
                if s is self.front:
                    self.client = frm
                    self.back.sendto(d, self.target)
                elif 20 <= d[0] <= 63:
                    if self.client is not None:
                        self.front.sendto(d, self.client)
                elif 128 <= d[0] <= 191:
                    with self.lock:
                        self.media.append(d)

    def take_media(self):
        with self.lock:
            out, self.media = self.media, []
        return out

    def close(self):
        self.done = True
        if self.thread is not None:
            self.thread.join(2)
        self.front.close()
        self.back.close()


class SClient:
    """openssl s_client -dtls1_2 with our certificate, its output in a
    file; stdin kept open (closing it sends close_notify)."""

    def __init__(self, tmp, name, port, cert, key):
        self.out_path = os.path.join(tmp, name + ".out")
        with open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(
                ["openssl", "s_client", "-dtls1_2",
                 "-connect", "%s:%d" % (LOCAL, port),
                 "-use_srtp", "SRTP_AES128_CM_SHA1_80",
                 "-cert", cert, "-key", key,
                 "-keymatexport", "EXTRACTOR-dtls_srtp",
                 "-keymatexportlen", "60"],
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT)

    def output(self):
        try:
            with open(self.out_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_output(self, regex, timeout):
        deadline = time.monotonic() + timeout
        while True:
            mt = re.search(regex, self.output())
            if mt or time.monotonic() >= deadline or \
                    self.proc.poll() is not None:
                return mt or re.search(regex, self.output())
            time.sleep(0.05)

    def close_stdin(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass

    def finish(self, timeout=3):
        self.close_stdin()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def make_cert(tmp):
    """A self-signed P-256 certificate and key; returns (cert, key, the
    sha-256 fingerprint as DTLS parameters write it)."""
    cert, key = os.path.join(tmp, "c.pem"), os.path.join(tmp, "k.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=sfud-t42"],
                   check=True, capture_output=True, timeout=20)
    with open(cert) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return cert, key, fingerprint(der)


def fingerprint(der):
    return ":".join("%02X" % b for b in hashlib.sha256(der).digest())


# --- SRTP (RFC 3711) AES_CM_128_HMAC_SHA1_80 for RTP, enough for tests ---

def aes_cm(key, iv, n):
    enc = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return enc.update(b"\0" * n) + enc.finalize()


def srtp_kdf(master_key, master_salt, label, n):
    """RFC 3711 §4.3.1 with key_derivation_rate 0."""
    x = int.from_bytes(master_salt, "big") ^ (label << 48)
    return aes_cm(master_key, (x << 16).to_bytes(16, "big"), n)


def rtp_header_len(pkt):
    n = 12 + 4 * (pkt[0] & 0x0f)
    if pkt[0] & 0x10:
        n += 4 + 4 * struct.unpack(">H", pkt[n + 2:n + 4])[0]
    return n


class Srtp:
    TAG = 10

    def __init__(self, master_key, master_salt):
        self.k_e = srtp_kdf(master_key, master_salt, 0, 16)
        self.k_a = srtp_kdf(master_key, master_salt, 1, 20)
        self.k_s = srtp_kdf(master_key, master_salt, 2, 14)

    def _crypt(self, pkt, roc):
        hl = rtp_header_len(pkt)
        seq, = struct.unpack(">H", pkt[2:4])
        ssrc, = struct.unpack(">I", pkt[8:12])
        index = (roc << 16) | seq
        iv = (int.from_bytes(self.k_s, "big") << 16) ^ (ssrc << 64) ^ \
            (index << 16)
        ks = aes_cm(self.k_e, iv.to_bytes(16, "big"), len(pkt) - hl)
        return pkt[:hl] + bytes(a ^ b for a, b in zip(pkt[hl:], ks))

    def _tag(self, enc, roc):
        return hmac.new(self.k_a, enc + struct.pack(">I", roc),
                        hashlib.sha1).digest()[:self.TAG]

    def protect(self, pkt, roc=0):
        enc = self._crypt(pkt, roc)
        return enc + self._tag(enc, roc)

    def unprotect(self, pkt):
        """The clear packet, or None when the tag does not verify (ROC 0
        or 1: a consumer's random sequence number may wrap once)."""
        enc, tag = pkt[:-self.TAG], pkt[-self.TAG:]
        for roc in (0, 1):
            if hmac.compare_digest(self._tag(enc, roc), tag):
                return self._crypt(enc, roc)
        return None


# --- the parts ---

def check_stun_lib():
    """stun.py against the RFC 5769 vectors, so a failure later is sfud's."""
    req = bytes.fromhex(
        "000100582112a442b7e7a701bc34d686fa87dfae802200105354554e207465"
        "737420636c69656e74002400046e0001ff80290008932ff9b151263b360006"
        "00096576746a3a68367659202020000800149aeaa70cbfd8cb56781ef2b5b2"
        "d3f249c1b571a280280004e57a3bcf")
    resp = bytes.fromhex(
        "0101003c2112a442b7e7a701bc34d686fa87dfae8022000b74657374207665"
        "63746f7220002000080001a147e112a643000800142b91f599fd9e90c38c74"
        "89f92af9ba53f06be7d780280004c07d4c96")
    pwd = "VOkJxbRl1RmTxUk/WvJxBt"
    m, r = stun.parse(req), stun.parse(resp)
    tap.ok(m.integrity_ok(pwd) and m.fingerprint_ok and
           not m.integrity_ok(pwd + "x") and r.integrity_ok(pwd) and
           r.fingerprint_ok and r.xor_mapped_address() == ("192.0.2.1",
                                                           32853),
           "stun.py: RFC 5769 vectors verify (integrity, fingerprint, "
           "XOR-MAPPED-ADDRESS)")
    b = stun.binding_request("a:b", pwd, controlling=1, use_candidate=True)
    p = stun.parse(b.data)
    tap.ok(p.integrity_ok(pwd) and p.fingerprint_ok and
           p.get(stun.USE_CANDIDATE) == b"" and
           p.types() == [stun.USERNAME, stun.PRIORITY, stun.ICE_CONTROLLING,
                         stun.USE_CANDIDATE, stun.MESSAGE_INTEGRITY,
                         stun.FINGERPRINT],
           "stun.py: a built check verifies with its own parser")


def check_create(m, c0):
    caps = must(c0, "worker.createRouter", {"routerId": "r1",
                                            "mediaCodecs": MEDIA_CODECS},
                worker=0).get("rtpCapabilities")
    tap.ok(isinstance(caps, dict), "worker.createRouter r1")
    c1 = m.client()
    r = c1.call("router.createWebRtcTransport", {
        "transportId": "t1", "enableTcp": True,
        "listenInfos": [{"protocol": "udp", "ip": LOCAL},
                        {"protocol": "tcp", "ip": LOCAL,
                         "announcedAddress": ANNOUNCED}]},
        handler_id="r1")
    d = data(r)
    tap.is_((r.get("accepted"), d.get("id"), d.get("type"),
             d.get("iceRole")), (True, "t1", "webrtc", "controlled"),
            "createWebRtcTransport t1: accepted, type webrtc, iceRole "
            "controlled")
    ip = d.get("iceParameters") or {}
    uf, pw = ip.get("usernameFragment") or "", ip.get("password") or ""
    tap.ok(ip.get("iceLite") is True and len(uf) >= 4 and len(pw) >= 22 and
           re.match(r"^[A-Za-z0-9+/]+$", uf + pw),
           "iceParameters: iceLite, ufrag >= 4 and password >= 22 "
           "ice-chars (%r)" % ip)
    cs = d.get("iceCandidates") or []
    tap.is_([(x.get("foundation"), x.get("protocol"), x.get("ip"),
              x.get("address"), x.get("type"), x.get("tcpType"))
             for x in cs],
            [("udpcandidate", "udp", LOCAL, LOCAL, "host", None),
             ("tcpcandidate", "tcp", ANNOUNCED, ANNOUNCED, "host",
              "passive")],
            "iceCandidates: udp host on 127.0.0.1, tcp passive host with "
            "the announced address")
    ports = [x.get("port") for x in cs]
    prios = [x.get("priority") for x in cs]
    tap.ok(all(isinstance(p, int) and RTC_MIN <= p <= RTC_MAX
               for p in ports) and
           all(isinstance(p, int) and 0 < p < 1 << 31 for p in prios) and
           prios[0] > prios[1],
           "candidates: ports in rtc_ports (%r), priorities 32-bit, the "
           "first listenInfo's higher (%r)" % (ports, prios))
    tap.ok(not bindable(ports[0], socket.SOCK_DGRAM),
           "the udp candidate's port is bound")
    tap.is_((d.get("iceState"), d.get("dtlsState"),
             "iceSelectedTuple" in d), ("new", "new", False),
            "iceState new, dtlsState new, no iceSelectedTuple")
    dp = d.get("dtlsParameters") or {}
    fps = dp.get("fingerprints") or []
    tap.is_((dp.get("role"),
             [(f.get("algorithm"), len((f.get("value") or "").split(":")))
              for f in fps]), ("auto", FP_LEN),
            "dtlsParameters: role auto, fingerprints sha-1 .. sha-512 of "
            "their lengths")
    tap.ok(all(re.match(r"^[0-9A-F]{2}(:[0-9A-F]{2})+$", f.get("value", ""))
               for f in fps), "fingerprints: upper-case hex with colons")
    dd = data(c1.call("transport.dump", handler_id="t1"))
    tap.is_((dd.get("iceParameters"), dd.get("iceCandidates"),
             dd.get("dtlsParameters")), (ip, cs, dp),
            "transport.dump agrees with the create answer")

    r = c0.call("router.createWebRtcTransport", {
        "transportId": "t-sctp", "enableSctp": True,
        "listenInfos": [{"protocol": "udp", "ip": LOCAL}]}, handler_id="r1")
    tap.is_(r.get("error"), "UnsupportedError",
            "enableSctp: UnsupportedError")
    tap.is_(c0.call("transport.dump", handler_id="t-sctp").get("error"),
            "NotFoundError", "no transport t-sctp exists")
    r = c0.call("router.createWebRtcTransport", {
        "transportId": "t-none", "enableUdp": False, "enableTcp": False,
        "listenInfos": [{"protocol": "udp", "ip": LOCAL}]}, handler_id="r1")
    tap.is_(r.get("error"), "TypeError", "enableUdp and enableTcp false: "
            "TypeError")
    r = c0.call("router.createWebRtcTransport", {
        "transportId": "t-bad", "listenInfos": [{"protocol": "sctp",
                                                 "ip": LOCAL}]},
        handler_id="r1")
    error_is(r, "TypeError", r"data\.listenInfos\[0\]\.protocol",
             "listenInfos protocol \"sctp\"")
    d = must(c0, "router.createWebRtcTransport", {
        "transportId": "t-legacy", "enableUdp": True, "enableTcp": True,
        "listenIps": [{"ip": LOCAL, "announcedIp": LEGACY_ANNOUNCED}]}, "r1")
    tap.is_([(x.get("protocol"), x.get("address")) for x in
             d.get("iceCandidates") or []],
            [("udp", LEGACY_ANNOUNCED), ("tcp", LEGACY_ANNOUNCED)],
            "listenIps with announcedIp, enableUdp and enableTcp: a udp and "
            "a tcp candidate with that address")
    d = must(c0, "router.createWebRtcTransport", {
        "transportId": "t-range", "listenInfos": [
            {"protocol": "udp", "ip": LOCAL,
             "portRange": {"min": RANGE_MIN, "max": RANGE_MAX}}]}, "r1")
    p = cand(d, "udp").get("port")
    tap.ok(isinstance(p, int) and RANGE_MIN <= p <= RANGE_MAX,
           "portRange %d-%d: port %r" % (RANGE_MIN, RANGE_MAX, p))
    d = must(c0, "router.createWebRtcTransport", {
        "transportId": "t-pref", "enableTcp": True, "preferTcp": True,
        "listenInfos": [{"protocol": "udp", "ip": LOCAL},
                        {"protocol": "tcp", "ip": LOCAL}]}, "r1")
    pu, pt = cand(d, "udp").get("priority"), cand(d, "tcp").get("priority")
    tap.ok(isinstance(pu, int) and isinstance(pt, int) and pt > pu,
           "preferTcp: the tcp candidate has the higher priority (%r > %r)"
           % (pt, pu))
    return c1, caps


class Ice1:
    """State shared by the t1 parts."""

    def __init__(self, c1):
        self.c = c1
        d = data(c1.call("transport.dump", handler_id="t1"))
        self.ufrag, self.pwd = creds(d)
        self.port = cand(d, "udp").get("port")
        self.tport = cand(d, "tcp").get("port")
        self.a, self.b, self.x, self.y = (udp_sock() for _ in range(4))

    def close(self):
        for s in (self.a, self.b, self.x, self.y):
            s.close()


def check_ice_udp(t):
    a_addr, b_addr, y_addr = (s.getsockname() for s in (t.a, t.b, t.y))
    req, m, frm = check(t.a, t.port, t.ufrag, t.pwd)
    tap.is_(problems(m, req, t.pwd, a_addr, frm, t.port), [],
            "check from A: success from the candidate's port, "
            "XOR-MAPPED-ADDRESS = A, MESSAGE-INTEGRITY and FINGERPRINT "
            "verify")
    tap.is_(events(t.c, 2), [tuple_ev(LOCAL, t.port, a_addr),
                          state_ev("connected")],
            "check from A: iceselectedtuplechange to A, then icestatechange "
            "connected")
    req, m, frm = check(t.a, t.port, t.ufrag, t.pwd, use=True)
    tap.is_(problems(m, req, t.pwd, a_addr, frm, t.port), [],
            "check from A with USE-CANDIDATE: success")
    tap.is_(events(t.c, 1), [state_ev("completed")],
            "USE-CANDIDATE on the selected tuple: icestatechange completed "
            "only")

    # Failing checks from X: each its error, none creates a tuple. RFC
    # 5389 §10.1.2: 400 and 401 without MESSAGE-INTEGRITY, errors to an
    # authenticated request with it (the transport's password).
    wrong = t.pwd[::-1]
    cases = [
        ("wrong password", dict(), dict(pwd=wrong), 401, "none"),
        ("wrong ufrag", dict(), dict(ufrag="nosuchufrag"), 401, "none"),
        ("no FINGERPRINT", dict(fingerprint=False), {}, 400, "none"),
        ("no PRIORITY", dict(priority=None), {}, 400, "none"),
        ("no USERNAME", {}, {}, 400, "none"),
        ("no MESSAGE-INTEGRITY", dict(integrity=False), {}, 400, "none"),
        ("ICE-CONTROLLED", dict(controlling=None, controlled=TIEBREAK), {},
         487, "ok"),
    ]
    for name, kw, who, code, mi in cases:
        if name == "no USERNAME":
            req = stun.binding_request(username=None, password=t.pwd,
                                       controlling=TIEBREAK)
            m, _ = stun.udp_transact(t.x, req, (LOCAL, t.port), 1.0)
        else:
            _, m, _ = check(t.x, t.port, who.get("ufrag", t.ufrag),
                            who.get("pwd", t.pwd), **kw)
        tap.is_(err_of(m, t.pwd), ("error", code, True, mi),
                "check with %s: error response %d, FINGERPRINT, %s" %
                (name, code, "no MESSAGE-INTEGRITY" if mi == "none" else
                 "MESSAGE-INTEGRITY with the password"))
    _, m, _ = check(t.x, t.port, t.ufrag, t.pwd, bad_fingerprint=True)
    tap.is_(m, None, "check with a bad FINGERPRINT: not STUN, silently "
            "discarded (RFC 5389 7.3)")
    _, m, _ = check(t.x, t.port, t.ufrag, t.pwd,
                    extra=[(0x0030, b"\x01\x02\x03\x04")])
    tap.is_((err_of(m, t.pwd), m.unknown_attributes() if m else None),
            (("error", 420, True, "ok"), [0x0030]),
            "check with comprehension-required attribute 0x0030: 420, "
            "UNKNOWN-ATTRIBUTES [0x0030], MESSAGE-INTEGRITY")
    req, _ = stun.build(stun.REQUEST, 0x003, [
        (stun.USERNAME, ("%s:py" % t.ufrag).encode()),
        (stun.PRIORITY, struct.pack(">I", 1))], key=t.pwd)
    m, _ = stun.udp_transact(t.x, stun.Request(req, req[8:20]),
                             (LOCAL, t.port), 1.0)
    tap.is_(err_of(m), ("error", 400, True),
            "a request of method 0x003 (not Binding): 400")
    ind, _ = stun.build(stun.INDICATION, stun.METHOD_BINDING, [])
    t.x.sendto(ind, (LOCAL, t.port))
    tap.is_(stun.udp_silence(t.x, 0.3), [], "a Binding indication: no answer")
    st = stats(t.c, "t1")
    tap.is_((events(t.c, 0, 0.1), st.get("iceState"),
             (st.get("iceSelectedTuple") or {}).get("remotePort")),
            ([], "completed", a_addr[1]),
            "after the failed checks: no notification, still completed "
            "on A")
    req, m, frm = check(t.x, t.port, t.ufrag, t.pwd,
                        extra=[(0xC0DE, b"opt")])
    tap.is_(problems(m, req, t.pwd, t.x.getsockname(), frm, t.port), [],
            "an unknown comprehension-optional attribute (0xC0DE) is "
            "ignored: success")
    events(t.c, 0, 0.1)

    # Nomination moves the selection; a plain check does not.
    req, m, frm = check(t.b, t.port, t.ufrag, t.pwd, use=True)
    tap.is_((problems(m, req, t.pwd, b_addr, frm, t.port), events(t.c, 1)),
            ([], [tuple_ev(LOCAL, t.port, b_addr)]),
            "USE-CANDIDATE from B: success, selected tuple moves to B, "
            "state stays completed")
    req, m, frm = check(t.y, t.port, t.ufrag, t.pwd)
    tap.is_((problems(m, req, t.pwd, y_addr, frm, t.port), events(t.c)),
            ([], []), "a check without USE-CANDIDATE from Y: success, no "
            "selection change")
    st = stats(t.c, "t1")
    tap.is_((st.get("iceState"), st.get("iceSelectedTuple")),
            ("completed", tuple_ev(LOCAL, t.port, b_addr)[1][
                "iceSelectedTuple"]),
            "transport.getStats: completed, iceSelectedTuple B")


def check_restart_ice(t):
    d = data(t.c.call("transport.restartIce", handler_id="t1"))
    ip = d.get("iceParameters") or {}
    nu, np_ = ip.get("usernameFragment"), ip.get("password")
    tap.ok(isinstance(nu, str) and isinstance(np_, str) and nu != t.ufrag
           and np_ != t.pwd and ip.get("iceLite") is True,
           "transport.restartIce: new ufrag and password (%r)" % ip)
    dd = data(t.c.call("transport.dump", handler_id="t1"))
    tap.is_(dd.get("iceParameters"), ip,
            "transport.dump shows the new iceParameters")
    b_addr = t.b.getsockname()
    req, m, frm = check(t.b, t.port, t.ufrag, t.pwd)
    tap.is_(problems(m, req, t.pwd, b_addr, frm, t.port), [],
            "old credentials still answered (integrity with the old "
            "password) before the new ones are used")
    req, m, frm = check(t.b, t.port, nu, np_)
    tap.is_(problems(m, req, np_, b_addr, frm, t.port), [],
            "new credentials: success, integrity with the new password")
    _, m, _ = check(t.b, t.port, t.ufrag, t.pwd)
    tap.is_(err_of(m), ("error", 401, True),
            "old credentials after the new ones were used: 401")
    tap.is_(events(t.c, 0, 0.1), [], "restartIce: no state or tuple change")
    t.old_ufrag, t.old_pwd = t.ufrag, t.pwd
    t.ufrag, t.pwd = nu, np_


def check_ice_tcp(t):
    tp = stun.TcpPeer((LOCAL, t.tport))
    try:
        req = stun.binding_request("%s:py" % t.ufrag, t.pwd,
                                   controlling=TIEBREAK, use_candidate=True)
        m = tp.transact(req)
        tap.is_(problems(m, req, t.pwd, tp.local), [],
                "TCP: a framed check gets a framed success response "
                "(XOR-MAPPED-ADDRESS = our TCP address, integrity, "
                "fingerprint)")
        tap.is_(events(t.c, 1), [tuple_ev(ANNOUNCED, t.tport, tp.local,
                                       "tcp")],
                "TCP nomination: selected tuple protocol tcp, localAddress "
                "the announced one")
        r1 = stun.binding_request("%s:py" % t.ufrag, t.pwd,
                                  controlling=TIEBREAK)
        r2 = stun.binding_request("%s:py" % t.ufrag, t.pwd,
                                  controlling=TIEBREAK)
        tp.send_raw(stun.frame(r1.data) + stun.frame(r2.data))
        m1, m2 = tp.wait_txid(r1.txid), tp.wait_txid(r2.txid)
        tap.is_((problems(m1, r1, t.pwd, tp.local),
                 problems(m2, r2, t.pwd, tp.local)), ([], []),
                "TCP: two checks in one write: both answered")
        r3 = stun.binding_request("%s:py" % t.ufrag, t.pwd,
                                  controlling=TIEBREAK)
        f = stun.frame(r3.data)
        tp.send_raw(f[:1])
        time.sleep(0.05)
        tp.send_raw(f[1:30])
        time.sleep(0.05)
        tp.send_raw(f[30:])
        tap.is_(problems(tp.wait_txid(r3.txid), r3, t.pwd, tp.local), [],
                "TCP: a check split over three writes: answered")
        events(t.c, 0, 0.1)
    finally:
        tp.close()
    got = collect(t.c, lambda g: True, 2.0)
    sel = ((got[0][1] or {}).get("iceSelectedTuple") or {}) if got else {}
    remotes = [s.getsockname()[1] for s in (t.a, t.b, t.x, t.y)]
    tap.ok(len(got) == 1 and got[0][0] == SELECTED and
           sel.get("protocol") == "udp" and sel.get("localPort") == t.port
           and sel.get("remotePort") in remotes,
           "closing the selected TCP connection: the selection goes back "
           "to a validated UDP tuple (%r)" % (got,))
    tap.is_(stats(t.c, "t1").get("iceState"), "completed",
            "... and the state stays completed")


def check_consent(m):
    c2, c3 = m.client(), m.client()
    cl = {}
    for c, tid in ((c2, "t2"), (c3, "t3")):
        d = must(c, "router.createWebRtcTransport", {
            "transportId": tid, "iceConsentTimeout": 2,
            "listenInfos": [{"protocol": "udp", "ip": LOCAL}]}, "r1")
        cl[tid] = (c, udp_sock(), cand(d, "udp").get("port")) + creds(d)
    ok = []
    for tid in ("t2", "t3"):
        c, s, port, uf, pw = cl[tid]
        req, m_, frm = check(s, port, uf, pw, use=True)
        ok.append(problems(m_, req, pw, s.getsockname(), frm, port) == [] and
                  events(c, 2, 0.1) == [tuple_ev(LOCAL, port, s.getsockname()),
                                     state_ev("completed")])
    tap.is_(ok, [True, True], "iceConsentTimeout 2: t2 and t3 completed")
    t0 = time.monotonic()
    seen, kept_fail = [], []
    while time.monotonic() - t0 < 4.2:
        for ev in events(c2, 0, 0.25):
            seen.append((round(time.monotonic() - t0, 2), ev))
        c, s, port, uf, pw = cl["t3"]
        req, m_, frm = check(s, port, uf, pw)
        if problems(m_, req, pw, s.getsockname(), frm, port):
            kept_fail.append(m_)
    tap.is_([ev for _, ev in seen], [state_ev("disconnected")],
            "t2 without checks: icestatechange disconnected")
    tap.ok(len(seen) == 1 and 1.7 <= seen[0][0] <= 4.2,
           "... about 2 s after its last check (%r)" % (seen,))
    tap.is_((kept_fail, events(c3, 0, 0.05), stats(c3, "t3").get("iceState")),
            ([], [], "completed"),
            "t3, checked every 0.25 s: stays completed")
    st = stats(c2, "t2")
    tap.is_((st.get("iceState"), "iceSelectedTuple" in st),
            ("disconnected", False),
            "t2 getStats: disconnected, no iceSelectedTuple")
    c, s, port, uf, pw = cl["t2"]
    req, m_, frm = check(s, port, uf, pw)
    tap.is_((problems(m_, req, pw, s.getsockname(), frm, port),
             events(c, 2)),
            ([], [tuple_ev(LOCAL, port, s.getsockname()),
                  state_ev("connected")]),
            "a new check on t2: selected again, connected")
    for tid in cl:
        cl[tid][1].close()
    c2.close()
    c3.close()


def check_connect_args(c0):
    must(c0, "router.createWebRtcTransport", {
        "transportId": "t-conn", "listenInfos": [{"protocol": "udp",
                                                  "ip": LOCAL}]}, "r1")
    fp = [{"algorithm": "sha-256", "value": ":".join(["AB"] * 32)}]
    r = c0.call("transport.connect", {}, handler_id="t-conn")
    error_is(r, "TypeError", r"data\.dtlsParameters",
             "transport.connect without dtlsParameters")
    r = c0.call("transport.connect", {"dtlsParameters": {"role": "client"}},
                handler_id="t-conn")
    error_is(r, "TypeError", r"data\.dtlsParameters\.fingerprints",
             "transport.connect without fingerprints")
    r = c0.call("transport.connect", {"dtlsParameters": {
        "role": "client", "fingerprints": [{"algorithm": "md5",
                                            "value": "AB:CD"}]}},
        handler_id="t-conn")
    tap.is_(r.get("error"), "TypeError", "transport.connect with only an "
            "md5 fingerprint: TypeError")
    r = c0.call("transport.connect", {"dtlsParameters": {
        "role": "boss", "fingerprints": fp}}, handler_id="t-conn")
    error_is(r, "TypeError", r"data\.dtlsParameters\.role",
             "transport.connect with role \"boss\"")
    r = c0.call("transport.connect", {"dtlsParameters": {
        "role": "server", "fingerprints": fp}}, handler_id="t-conn")
    tap.is_(data(r), {"dtlsLocalRole": "client"},
            "transport.connect role server: dtlsLocalRole client")
    d = data(c0.call("transport.dump", handler_id="t-conn"))
    tap.is_(((d.get("dtlsParameters") or {}).get("role"),
             d.get("dtlsState")), ("client", "new"),
            "dump: dtlsParameters.role client, dtlsState still new (no ICE)")
    r = c0.call("transport.connect", {"dtlsParameters": {
        "role": "server", "fingerprints": fp}}, handler_id="t-conn")
    tap.is_(r.get("error"), "InvalidStateError",
            "transport.connect twice: InvalidStateError")
    must(c0, "router.createWebRtcTransport", {
        "transportId": "t-auto", "listenInfos": [{"protocol": "udp",
                                                  "ip": LOCAL}]}, "r1")
    r = c0.call("transport.connect", {"dtlsParameters": {
        "role": "auto", "fingerprints": fp}}, handler_id="t-auto")
    tap.is_(data(r), {"dtlsLocalRole": "client"},
            "transport.connect role auto: dtlsLocalRole client")


def audio_params(ssrc, cname):
    return {"mid": "0", "codecs": [{"mimeType": "audio/opus",
                                    "payloadType": AUDIO_PT,
                                    "clockRate": 48000, "channels": 2}],
            "headerExtensions": [], "encodings": [{"ssrc": ssrc}],
            "rtcp": {"cname": cname, "reducedSize": True}}


def consumer_ssrc(cons):
    return cons["rtpParameters"]["encodings"][0]["ssrc"]


def check_dtls(m, c0, caps, tmp):
    """t4: DTLS with s_client, SRTP both ways. 14 tests."""
    c4 = m.client()
    cert, key, fp = make_cert(tmp)
    d = must(c4, "router.createWebRtcTransport", {
        "transportId": "t4", "listenInfos": [{"protocol": "udp",
                                              "ip": LOCAL}]}, "r1")
    uf, pw = creds(d)
    port = cand(d, "udp").get("port")
    sfud_fp = {f.get("algorithm"): f.get("value") for f in
               (d.get("dtlsParameters") or {}).get("fingerprints") or []}
    must(c4, "transport.produce", {"producerId": "p-webrtc", "kind": "audio",
                                   "rtpParameters": audio_params(
                                       WEBRTC_SSRC, "py-webrtc")}, "t4")
    # Its consumer, on a plain transport towards a Python receiver.
    out = sfu.UdpPeer()
    must(c0, "router.createPlainTransport", {
        "transportId": "t-out", "listenInfo": {"protocol": "udp",
                                               "ip": LOCAL},
        "rtcpMux": True}, "r1")
    must(c0, "transport.connect", {"ip": LOCAL, "port": out.port}, "t-out")
    cons = must(c0, "transport.consume", {
        "consumerId": "c-out", "producerId": "p-webrtc",
        "rtpCapabilities": caps}, "t-out")
    out_ssrc = consumer_ssrc(cons)

    relay = Relay((LOCAL, port))
    sc = None
    try:
        req, m_, frm = check(relay.back, port, uf, pw, use=True)
        tap.is_((problems(m_, req, pw, relay.back_addr, frm, port),
                 events(c4, 2)),
                ([], [tuple_ev(LOCAL, port, relay.back_addr),
                      state_ev("completed")]),
                "t4: the relay's socket passed ICE (completed)")
        seq = 1000
        for i in range(3):
            relay.back.sendto(sfu.rtp_build(AUDIO_PT, seq + i, 4800 * i,
                                            WEBRTC_SSRC, b"clear%d" % i),
                              (LOCAL, port))
        seq += 3
        out.wait(lambda: out.rtp, 0.4)
        st = stats(c4, "t4")
        tap.is_((len(out.rtp), st.get("rtpPacketsReceived"),
                 st.get("dtlsState")), (0, 0, "new"),
                "RTP before DTLS (from the validated tuple): dropped, "
                "nothing reaches the consumer")
        relay.start()
        r = c4.call("transport.connect", {"dtlsParameters": {
            "role": "client", "fingerprints": [{"algorithm": "sha-256",
                                                "value": fp}]}},
            handler_id="t4")
        tap.is_(data(r), {"dtlsLocalRole": "server"},
                "transport.connect role client: dtlsLocalRole server")
        sc = SClient(tmp, "sclient-ok", relay.front_port, cert, key)
        got = collect(c4, lambda g: g[-1][0] == DTLSSTATE and
                      g[-1][1].get("dtlsState") in ("connected", "failed"),
                      10)
        tap.is_([(e, dd.get("dtlsState")) for e, dd, _ in got
                 if e == DTLSSTATE],
                [(DTLSSTATE, "connecting"), (DTLSSTATE, "connected")],
                "DTLS with s_client: dtlsstatechange connecting, then "
                "connected")
        st = stats(c4, "t4")
        dd = data(c4.call("transport.dump", handler_id="t4"))
        tap.is_((st.get("dtlsState"), dd.get("dtlsState"),
                 (dd.get("dtlsParameters") or {}).get("role")),
                ("connected", "connected", "server"),
                "getStats and dump: dtlsState connected, role server")
        km = sc.wait_output(r"Keying material: ([0-9A-F]{120})", 5)
        text = sc.output()
        tap.like(text, r"SRTP Extension negotiated, "
                 r"profile=SRTP_AES128_CM_SHA1_80",
                 "s_client: SRTP_AES128_CM_SHA1_80 negotiated")
        pem = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END "
                        r"CERTIFICATE-----", text, re.S)
        seen_fp = fingerprint(ssl.PEM_cert_to_DER_cert(pem.group(0))) \
            if pem else None
        tap.is_(seen_fp, sfud_fp.get("sha-256"),
                "s_client got the certificate whose sha-256 fingerprint "
                "dtlsParameters announce")
        if not HAVE_AES:
            skip(6, "no python3 cryptography")
        elif km is None:
            for _ in range(6):
                tap.ok(False, "s_client exported no keying material: no "
                       "SRTP check")
        else:
            check_srtp(c0, c4, caps, relay, port, out, out_ssrc, seq,
                       bytes.fromhex(km.group(1)))
        sc.close_stdin()
        got = collect(c4, lambda g: g[-1][0] == DTLSSTATE, 4)
        tap.is_([(e, dd.get("dtlsState")) for e, dd, _ in got
                 if e == DTLSSTATE], [(DTLSSTATE, "closed")],
                "s_client's close_notify: dtlsstatechange closed")
    finally:
        if sc is not None:
            sc.finish()
        relay.close()
        out.close()
    c4.close()


def check_srtp(c0, c4, caps, relay, port, out, out_ssrc, seq, km):
    """6 tests: SRTP in and out of t4 with the DTLS-exported keys."""
    tx = Srtp(km[0:16], km[32:46])      # client write key and salt
    rx = Srtp(km[16:32], km[46:60])     # server write key and salt
    sent = []
    for i in range(5):
        payload = os.urandom(20 + i)
        pkt = sfu.rtp_build(AUDIO_PT, seq, 960 * i, WEBRTC_SSRC, payload,
                            marker=(i == 0))
        relay.back.sendto(tx.protect(pkt), (LOCAL, port))
        sent.append(payload)
        seq += 1
    out.wait(lambda: len(out.rtp) >= 5, 3)
    st = stats(c4, "t4")
    tap.is_(([p["payload"] for p in out.rtp], [p["ssrc"] for p in out.rtp],
             st.get("rtpPacketsReceived")),
            (sent, [out_ssrc] * 5, 5),
            "SRTP with the exported client key: 5 packets decrypted, "
            "forwarded to the consumer intact")
    bad = bytearray(tx.protect(sfu.rtp_build(AUDIO_PT, seq, 99999,
                                             WEBRTC_SSRC, b"tampered")))
    bad[-1] ^= 0xff
    seq += 1
    relay.back.sendto(bytes(bad), (LOCAL, port))
    out.wait(lambda: len(out.rtp) > 5, 0.4)
    st2 = stats(c4, "t4")
    tap.is_((len(out.rtp), st2.get("rtpPacketsReceived"),
             st2.get("invalidPackets", 0) > st.get("invalidPackets", 0)),
            (5, 5, True), "SRTP with a bad auth tag: dropped, counted "
            "invalid")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.bind((LOCAL, 0))
        other.sendto(tx.protect(sfu.rtp_build(AUDIO_PT, seq, 123456,
                                              WEBRTC_SSRC, b"stranger")),
                     (LOCAL, port))
        seq += 1
        out.wait(lambda: len(out.rtp) > 5, 0.4)
    st3 = stats(c4, "t4")
    tap.is_((len(out.rtp), st3.get("rtpPacketsReceived"),
             st3.get("bytesReceived")),
            (5, 5, st2.get("bytesReceived")),
            "valid SRTP from a socket ICE never validated: dropped "
            "(nothing forwarded or counted)")

    # sfud -> us: clear RTP into a plain producer, consumed on t4.
    src = sfu.UdpPeer()
    try:
        pd = must(c0, "router.createPlainTransport", {
            "transportId": "t-src", "listenInfo": {"protocol": "udp",
                                                   "ip": LOCAL},
            "rtcpMux": True, "comedia": True}, "r1")
        must(c0, "transport.produce", {
            "producerId": "p-src", "kind": "audio",
            "rtpParameters": audio_params(SRC_SSRC, "py-src")}, "t-src")
        cons = must(c4, "transport.consume", {
            "consumerId": "c-t4", "producerId": "p-src",
            "rtpCapabilities": caps}, "t4")
        ssrc = consumer_ssrc(cons)
        relay.take_media()
        sent = []
        for i in range(5):
            payload = os.urandom(30 + i)
            src.send(sfu.rtp_build(AUDIO_PT, 7000 + i, 960 * i, SRC_SSRC,
                                   payload, marker=(i == 0)),
                     (LOCAL, pd["tuple"]["localPort"]))
            sent.append(payload)
        media, rtp = [], []
        deadline = time.monotonic() + 3
        while len(rtp) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
            for d in relay.take_media():
                media.append(d)
                if not sfu.is_rtcp(d):
                    rtp.append(d)
        clear = [rx.unprotect(d) for d in rtp]
        tap.ok(len(rtp) == 5 and all(c is not None for c in clear),
               "consumer on t4: 5 SRTP packets to the relay's tuple, auth "
               "tags verify with the exported server key (%d, %r)" %
               (len(rtp), [c is not None for c in clear]))
        parsed = [sfu.rtp_parse(c) for c in clear if c is not None]
        tap.is_([(p["ssrc"], p["payload"]) for p in parsed],
                [(ssrc, x) for x in sent],
                "... decrypted: the consumer's SSRC, payloads as sent")
        tap.ok(all(d[12:] != c[12:] for d, c in zip(rtp, clear)
                   if c is not None) and rtp != [],
               "... and the payload was not in the clear on the wire")
    finally:
        src.close()


def check_dtls_fail(m, tmp):
    """t5: connect before ICE, wrong fingerprint. 5 tests."""
    c5 = m.client()
    cert, key, fp = make_cert(tmp)
    d = must(c5, "router.createWebRtcTransport", {
        "transportId": "t5", "listenInfos": [{"protocol": "udp",
                                              "ip": LOCAL}]}, "r1")
    uf, pw = creds(d)
    port = cand(d, "udp").get("port")
    must(c5, "transport.produce", {"producerId": "p-t5", "kind": "audio",
                                   "rtpParameters": audio_params(
                                       FAIL_SSRC, "py-t5")}, "t5")
    wrong = ":".join("%02X" % (b ^ 0x5a) for b in bytes.fromhex(
        fp.replace(":", "")))
    r = c5.call("transport.connect", {"dtlsParameters": {
        "role": "client", "fingerprints": [{"algorithm": "sha-256",
                                            "value": wrong}]}},
        handler_id="t5")
    tap.is_((data(r), events(c5, 0, 0.3),
             data(c5.call("transport.dump", handler_id="t5")).get(
                 "dtlsState")), ({"dtlsLocalRole": "server"}, [], "new"),
            "t5 connected before ICE: no DTLS yet (dtlsState new)")
    relay = Relay((LOCAL, port))
    sc = None
    try:
        req, m_, frm = check(relay.back, port, uf, pw, use=True)
        relay.start()
        got = collect(c5, lambda g: g[-1][0] == DTLSSTATE, 3)
        tap.is_((problems(m_, req, pw, relay.back_addr, frm, port),
                 [(e, dd) for e, dd, _ in got]),
                ([], [tuple_ev(LOCAL, port, relay.back_addr),
                      state_ev("completed"),
                      (DTLSSTATE, {"dtlsState": "connecting"})]),
                "ICE completes, then DTLS starts: connecting")
        sc = SClient(tmp, "sclient-bad", relay.front_port, cert, key)
        got = collect(c5, lambda g: g[-1][0] == DTLSSTATE, 10)
        tap.is_([(e, dd.get("dtlsState")) for e, dd, _ in got],
                [(DTLSSTATE, "failed")],
                "s_client with a certificate not matching the fingerprint: "
                "dtlsstatechange failed")
        tap.is_(stats(c5, "t5").get("dtlsState"), "failed",
                "getStats: dtlsState failed")
        # s_client finishes its side before sfud checks the fingerprint:
        # whatever keys it exported must not let media in.
        km = sc.wait_output(r"Keying material: ([0-9A-F]{120})", 2)
        if km is not None and not HAVE_AES:
            skip(1, "no python3 cryptography")
        else:
            if km is not None:
                k = bytes.fromhex(km.group(1))
                tx = Srtp(k[0:16], k[32:46])
                for i in range(3):
                    relay.back.sendto(tx.protect(sfu.rtp_build(
                        AUDIO_PT, 500 + i, 960 * i, FAIL_SSRC, b"x" * 20)),
                        (LOCAL, port))
                time.sleep(0.3)
            tap.is_(stats(c5, "t5").get("rtpPacketsReceived"), 0,
                    "SRTP with the keys of the failed handshake: nothing "
                    "received (%s)" % ("keys exported" if km else
                                       "no keys exported"))
    finally:
        if sc is not None:
            sc.finish()
        relay.close()
    c5.close()


def server_port():
    for _ in range(50):
        p = sfu.free_port("both")
        if not RTC_MIN <= p <= RTC_MAX and not RANGE_MIN <= p <= RANGE_MAX:
            return p
    raise RuntimeError("no free port outside the rtc range")


def check_server(m, c0):
    """WebRtcServer ws1 with tw1 and tw2."""
    c6, c7, c8 = m.client(), m.client(), m.client()
    P = server_port()
    li = [{"protocol": "udp", "ip": LOCAL, "port": P},
          {"protocol": "tcp", "ip": LOCAL, "port": P}]
    r = c6.call("worker.createWebRtcServer", {"webRtcServerId": "ws1",
                                              "listenInfos": li}, worker=0)
    tap.is_(r.get("accepted"), True, "worker.createWebRtcServer ws1 on udp "
            "and tcp port %d" % P)

    def dump():
        return data(c6.call("webRtcServer.dump", handler_id="ws1"))
    d = dump()
    tap.is_((d.get("id"), d.get("udpSockets"), d.get("tcpServers"),
             d.get("webRtcTransportIds"), d.get("localIceUsernameFragments"),
             d.get("tupleCount"), d.get("tcpConnectionCount")),
            ("ws1", [{"ip": LOCAL, "port": P}], [{"ip": LOCAL, "port": P}],
             [], [], 0, 0), "webRtcServer.dump: empty server")
    tw = {}
    for c, tid in ((c7, "tw1"), (c8, "tw2")):
        d = must(c, "router.createWebRtcTransport", {
            "transportId": tid, "webRtcServerId": "ws1"}, "r1")
        tw[tid] = (c, d) + creds(d)
    tap.is_([([(x.get("protocol"), x.get("port"), x.get("address"))
               for x in tw[t][1].get("iceCandidates") or []],
              tw[t][1].get("webRtcServerId")) for t in ("tw1", "tw2")],
            [([("udp", P, LOCAL), ("tcp", P, LOCAL)], "ws1")] * 2,
            "tw1 and tw2 on ws1: udp and tcp candidates on port %d, "
            "webRtcServerId in the dump" % P)
    (c7, _, u1, p1), (c8, _, u2, p2) = tw["tw1"], tw["tw2"]
    d = dump()
    tap.is_((sorted(d.get("webRtcTransportIds") or []),
             sorted((x.get("localIceUsernameFragment"),
                     x.get("webRtcTransportId"))
                    for x in d.get("localIceUsernameFragments") or [])),
            (["tw1", "tw2"], sorted([(u1, "tw1"), (u2, "tw2")])),
            "webRtcServer.dump: both transports and their ufrags")
    sa, sb, sx = udp_sock(), udp_sock(), udp_sock()
    tp = None
    try:
        req, m_, frm = check(sa, P, u1, p1, use=True)
        tap.ok(problems(m_, req, p1, sa.getsockname(), frm, P) == [] and
               not m_.integrity_ok(p2),
               "check for tw1 on the shared port: integrity with tw1's "
               "password, not tw2's (%r)" %
               problems(m_, req, p1, sa.getsockname(), frm, P))
        req, m_, frm = check(sb, P, u2, p2, use=True)
        tap.ok(problems(m_, req, p2, sb.getsockname(), frm, P) == [] and
               not m_.integrity_ok(p1),
               "check for tw2 on the shared port: integrity with tw2's "
               "password, not tw1's (%r)" %
               problems(m_, req, p2, sb.getsockname(), frm, P))
        tap.is_(events(c7, 2), [tuple_ev(LOCAL, P, sa.getsockname()),
                                  state_ev("completed")],
                "tw1 selected A's tuple (completed)")
        tap.is_(events(c8, 2), [tuple_ev(LOCAL, P, sb.getsockname()),
                                  state_ev("completed")],
                "tw2 selected B's tuple (completed)")
        _, m_, _ = check(sx, P, u1, p2)
        tap.is_(err_of(m_), ("error", 401, True),
                "tw1's ufrag with tw2's password: 401")
        _, m_, _ = check(sx, P, "nosuchufrag", p1)
        tap.is_(m_, None, "an unknown ufrag: no answer")
        tap.is_(dump().get("tupleCount"), 2, "webRtcServer.dump: "
                "tupleCount 2")

        tp = stun.TcpPeer((LOCAL, P))
        req = stun.binding_request("%s:py" % u2, p2, controlling=TIEBREAK,
                                   use_candidate=True)
        m_ = tp.transact(req)
        tap.ok(problems(m_, req, p2, tp.local) == [] and
               not m_.integrity_ok(p1),
               "TCP to the server: a framed check for tw2 answered with "
               "tw2's password")
        tap.is_(events(c8, 1), [tuple_ev(LOCAL, P, tp.local, "tcp")],
                "tw2 selected the TCP tuple")
        d = dump()
        tap.is_((d.get("tcpConnectionCount"), d.get("tupleCount")), (1, 3),
                "webRtcServer.dump: tcpConnectionCount 1, tupleCount 3")

        ip = data(c7.call("transport.restartIce", handler_id="tw1")).get(
            "iceParameters") or {}
        nu, np_ = ip.get("usernameFragment"), ip.get("password")
        ufs = sorted(x.get("localIceUsernameFragment") for x in
                     dump().get("localIceUsernameFragments") or []
                     if x.get("webRtcTransportId") == "tw1")
        tap.is_(ufs, sorted([u1, nu]), "tw1 restartIce: the server knows "
                "the old and the new ufrag")
        req, m_, frm = check(sa, P, nu, np_)
        tap.is_(problems(m_, req, np_, sa.getsockname(), frm, P), [],
                "tw1's new credentials: success")
        ufs = [x.get("localIceUsernameFragment") for x in
               dump().get("localIceUsernameFragments") or []
               if x.get("webRtcTransportId") == "tw1"]
        _, m_, _ = check(sa, P, u1, p1)
        tap.is_((ufs, m_), ([nu], None), "once used, the old ufrag is "
                "retired: the server forgets it, old checks get no answer")

        # Errors around servers.
        r = c0.call("worker.createWebRtcServer", {
            "webRtcServerId": "ws2", "listenInfos": li[:1]}, worker=0)
        tap.ok(r.get("error") is not None and
               str(P) in (r.get("reason") or ""),
               "a second server on udp port %d: %s naming the port (%r)" %
               (P, r.get("error"), r.get("reason")))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as held:
            held.bind((LOCAL, 0))
            hp = held.getsockname()[1]
            r = c0.call("worker.createWebRtcServer", {
                "webRtcServerId": "ws2", "listenInfos": [
                    {"protocol": "udp", "ip": LOCAL, "port": hp}]},
                worker=0)
            tap.ok(r.get("error") is not None and
                   str(hp) in (r.get("reason") or ""),
                   "a server on a port another process holds: %s naming "
                   "port %d (%r)" % (r.get("error"), hp, r.get("reason")))
        tap.is_(c0.call("webRtcServer.dump", handler_id="ws2").get("error"),
                "NotFoundError", "no server ws2 exists")
        r = c0.call("router.createWebRtcTransport", {
            "transportId": "tw-x", "webRtcServerId": "no-such"},
            handler_id="r1")
        error_is(r, "NotFoundError", r"no-such",
                 "createWebRtcTransport with an unknown webRtcServerId")

        # Closing the server closes its transports.
        r = c6.call("worker.closeWebRtcServer", {"webRtcServerId": "ws1"},
                    worker=0)
        tap.is_(r.get("accepted"), True, "worker.closeWebRtcServer ws1")
        got = []
        for c in (c7, c8):
            n = collect(c, lambda g: any(e == "transport.listenserverclose"
                                         for e, _, _ in g), 3)
            got.append([t for e, _, t in n
                        if e == "transport.listenserverclose"])
        tap.is_(got, [["tw1"], ["tw2"]], "transport.listenserverclose to "
                "each transport's owner")
        tap.is_([c.call("transport.dump", handler_id=t).get("error")
                 for c, t in ((c7, "tw1"), (c8, "tw2"))],
                ["NotFoundError", "NotFoundError"],
                "transport.dump of tw1 and tw2: NotFoundError")
        tap.is_(c6.call("webRtcServer.dump", handler_id="ws1").get("error"),
                "NotFoundError", "webRtcServer.dump ws1: NotFoundError")
        tap.ok(tp.wait_eof(2), "the server's TCP connection was closed")
        tap.ok(bindable(P, socket.SOCK_DGRAM) and
               bindable(P, socket.SOCK_STREAM),
               "port %d is free again (udp and tcp)" % P)
    finally:
        if tp is not None:
            tp.close()
        for s in (sa, sb, sx):
            s.close()
    for c in (c6, c7, c8):
        c.close()


def check_close(m, c0, t):
    """transport.close and router.close with live TCP connections."""
    idle = stun.TcpPeer((LOCAL, t.tport))   # never sends a check
    used = stun.TcpPeer((LOCAL, t.tport))
    try:
        req = stun.binding_request("%s:py" % t.ufrag, t.pwd,
                                   controlling=TIEBREAK)
        tap.is_(problems(used.transact(req), req, t.pwd, used.local), [],
                "t1: a second TCP connection passes ICE")
        r = t.c.call("transport.close", handler_id="t1")
        tap.is_(r.get("accepted"), True, "transport.close t1 with two TCP "
                "connections open")
        tap.ok(idle.wait_eof(2) and used.wait_eof(2),
               "both TCP connections closed")
        tap.ok(bindable(t.port, socket.SOCK_DGRAM) and
               bindable(t.tport, socket.SOCK_STREAM),
               "t1's udp and tcp ports are free")
        tap.is_(t.c.call("transport.dump", handler_id="t1").get("error"),
                "NotFoundError", "transport.dump t1: NotFoundError")
    finally:
        idle.close()
        used.close()

    d = must(c0, "router.createWebRtcTransport", {
        "transportId": "t6", "enableTcp": True, "listenInfos": [
            {"protocol": "tcp", "ip": LOCAL}]}, "r1")
    uf, pw = creds(d)
    tport = cand(d, "tcp").get("port")
    conn = stun.TcpPeer((LOCAL, tport))
    try:
        req = stun.binding_request("%s:py" % uf, pw, controlling=TIEBREAK,
                                   use_candidate=True)
        tap.is_(problems(conn.transact(req), req, pw, conn.local), [],
                "t6 (tcp only): ICE over TCP")
        r = c0.call("router.close", handler_id="r1")
        tap.is_(r.get("accepted"), True, "router.close r1 with t6's TCP "
                "connection open")
        tap.ok(conn.wait_eof(2), "t6's TCP connection closed")
    finally:
        conn.close()
    tap.is_([c0.call("transport.dump", handler_id=x).get("error")
             for x in ("t4", "t6", "t-out")],
            ["NotFoundError"] * 3, "the router's transports are gone")
    d = data(c0.call("worker.dump", worker=0))
    tap.is_((d.get("routerIds"), d.get("webRtcServerIds")), ([], []),
            "worker.dump: no router, no WebRtcServer")


def main():
    if PLAN:
        tap.plan(PLAN)
    have_openssl = shutil.which("openssl") is not None
    with sfu.tempdir() as tmp:
        m = sfu.Master(tmp, workers=1,
                       worker="    rtc_ports %d-%d;" % (RTC_MIN, RTC_MAX))
        t = None
        try:
            check_stun_lib()
            m.start()
            ws = m.wait_ready(1)
            c0 = m.client()
            c1, caps = check_create(m, c0)
            t = Ice1(c1)
            check_ice_udp(t)
            check_restart_ice(t)
            check_ice_tcp(t)
            check_consent(m)
            check_connect_args(c0)
            if have_openssl:
                check_dtls(m, c0, caps, tmp)
                check_dtls_fail(m, tmp)
            else:
                skip(DTLS_TESTS, "no openssl command")
            check_server(m, c0)
            check_close(m, c0, t)
            w = m.workers()[0]
            tap.is_((w.get("pid"), w.get("restarts"), w.get("state")),
                    (ws[0]["pid"], 0, "running"),
                    "the worker never died or restarted")
            c0.close()
            c1.close()
        finally:
            if t is not None:
                t.close()
            code = m.stop()
        tap.is_(code, 0, "TERM: exit 0")
        m.check_aftermath()
    if not PLAN:
        tap.done_testing()


DTLS_TESTS = 14 + 5
PLAN = 131
main()
