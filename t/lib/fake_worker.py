#!/usr/bin/python3
# SPDX-License-Identifier: MIT
#
# A fake sfud-worker for the master's tests (t/integration/26-*.t): it
# speaks the real worker channel (docs/protocol.md, "Worker channel":
# 4-byte big-endian length + one MessagePack map; requests in on fd 3,
# responses and notifications out on fd 4, "running" first) and keeps a
# toy entity tree, so that the master's routing by handlerId, least-loaded
# placement, id assignment and entity bookkeeping can be tested before
# the real worker has routers. Start it through the real master with
# SFUD_WORKER_BIN pointing here; its arguments (--logLevel=...) are
# ignored.
#
# Methods:
#   worker.ping, worker.updateSettings     accepted
#   worker.close                           accepted, then exit 0
#   worker.dump                            {pid, fake, routerIds, entityIds,
#                                           webRtcServerIds,
#                                           webRtcServerRequests, requests,
#                                           lastRequest}
#   worker.createRouter {routerId}         data {rtpCapabilities: {}}: the
#                                          id is NOT echoed (the master
#                                          must add the one it chose)
#   worker.closeRouter {routerId}
#   router.createPlainTransport,
#   router.createWebRtcTransport {transportId}  (handlerId: a router)
#                                          data {id: transportId}
#   router.closeTransport {transportId}
#   transport.produce {producerId}         (handlerId: a transport)
#   transport.consume {consumerId}         (handlerId: a transport)
#   transport.closeProducer {producerId}, transport.closeConsumer
#       {consumerId}
#   <kind>.dump, <kind>.close              (handlerId: an entity of that
#                                          kind: router, transport,
#                                          producer, consumer); dump data
#                                          {id, kind, parentId, childIds,
#                                          transportIds (routers),
#                                          workerPid}
#   worker.createWebRtcServer {webRtcServerId, listenInfos: [{protocol
#       "udp"|"tcp", ip, port, announcedAddress?}]}
#                                          binds every listenInfo for
#                                          real (TCP: SO_REUSEADDR and
#                                          listen), as the real worker
#                                          does; a port that cannot be
#                                          bound is an Error "port P in use
#                                          on IP (...)" and nothing stays
#                                          bound. Every create's data is
#                                          recorded (worker.dump's
#                                          webRtcServerRequests), failed
#                                          ones too. data {webRtcServerId}
#   worker.closeWebRtcServer {webRtcServerId}  closes its sockets
#   webRtcServer.dump, webRtcServer.close  (handlerId: a server); dump
#                                          data {id, kind, listenInfos,
#                                          workerPid}
#   fake.emit {targetId, event, data?}     writes that notification, THEN
#                                          answers (so the master has
#                                          seen it when the client gets
#                                          the answer)
#   fake.hang                              stops reading and answering
#                                          (exits on EOF of fd 3 or a
#                                          signal)
# Any request whose data has fakeDelayMs (up to 10000) is answered that
# late (the fake sleeps: it reads nothing meanwhile).
# Unknown handlerId: NotFoundError; missing or bad data fields: TypeError;
# any other method: Error "unknown method".
#
# It exits 0 on EOF of fd 3, SIGTERM or SIGINT, and on a broken fd 4.
import os
import select
import signal
import socket
import struct
import sys
import time

import msgpack

REQ_FD = 3
RESP_FD = 4
FRAME_MAX = 4 * 1024 * 1024

PID = os.getpid()

# id -> {"kind": str, "parent": str or None}; insertion ordered.
entities = {}
requests = 0
last_request = None
# WebRtcServers: id -> {"listenInfos": [...], "socks": [socket, ...]}
servers = {}
# the data of every worker.createWebRtcServer, in arrival order
server_requests = []


def log(msg):
    try:
        sys.stderr.write("fake-worker[%d]: %s\n" % (PID, msg))
        sys.stderr.flush()
    except Exception:
        pass


def bye(code=0):
    try:
        sys.stderr.flush()
    except Exception:
        pass
    os._exit(code)


def on_signal(signo, frame_):
    log("signal %d: exiting" % signo)
    bye(0)


def write_msg(obj):
    data = msgpack.packb(obj, use_bin_type=True)
    buf = memoryview(struct.pack(">I", len(data)) + data)
    while buf:
        try:
            n = os.write(RESP_FD, buf)
        except InterruptedError:
            continue
        except OSError as e:    # EPIPE: the master is gone
            log("write failed: %s: exiting" % e)
            bye(0)
        buf = buf[n:]


def read_exact(n):
    """n bytes from fd 3, or None on EOF."""
    out = bytearray()
    while len(out) < n:
        try:
            chunk = os.read(REQ_FD, n - len(out))
        except InterruptedError:
            continue
        except OSError as e:
            log("read failed: %s" % e)
            return None
        if not chunk:
            return None
        out += chunk
    return bytes(out)


def read_msg():
    """The next request (a dict), None on EOF; exits on a bad frame."""
    head = read_exact(4)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    if n > FRAME_MAX:
        log("frame of %d bytes: framing lost, exiting" % n)
        bye(0)
    payload = read_exact(n)
    if payload is None:
        return None
    try:
        msg = msgpack.unpackb(payload, raw=False, strict_map_key=False)
    except Exception as e:
        log("undecodable request (%s): ignored" % e)
        return {}
    return msg if isinstance(msg, dict) else {}


class Fail(Exception):
    def __init__(self, kind, reason):
        Exception.__init__(self, reason)
        self.kind = kind
        self.reason = reason


def data_str(data, key, required=True):
    v = data.get(key) if isinstance(data, dict) else None
    if v is None:
        if required:
            raise Fail("TypeError", "data.%s: missing" % key)
        return None
    if not isinstance(v, str) or not v:
        raise Fail("TypeError", "data.%s: expected non-empty string" % key)
    return v


def entity_of(handler_id, kind):
    if not isinstance(handler_id, str) or handler_id not in entities:
        raise Fail("NotFoundError", "fake worker: no entity '%s'" %
                   (handler_id,))
    if entities[handler_id]["kind"] != kind:
        raise Fail("NotFoundError", "fake worker: '%s' is a %s, not a %s" %
                   (handler_id, entities[handler_id]["kind"], kind))
    return handler_id


def children(eid):
    return [k for k, v in entities.items() if v["parent"] == eid]


def create(kind, eid, parent):
    if eid in entities:
        raise Fail("Error", "fake worker: entity '%s' already exists" % eid)
    entities[eid] = {"kind": kind, "parent": parent}


def destroy(eid, kind=None):
    if eid not in entities or (kind and entities[eid]["kind"] != kind):
        raise Fail("NotFoundError", "fake worker: no %s '%s'" %
                   (kind or "entity", eid))
    for c in children(eid):
        destroy(c)
    del entities[eid]
    for sock in servers.pop(eid, {}).get("socks", []):
        sock.close()


def create_webrtc_server(data):
    server_requests.append(data)
    sid = data_str(data, "webRtcServerId")
    infos = data.get("listenInfos")
    if not isinstance(infos, list) or not infos:
        raise Fail("TypeError", "data.listenInfos: expected a non-empty "
                   "array")
    if sid in entities:
        raise Fail("Error", "fake worker: entity '%s' already exists" % sid)
    socks = []
    try:
        for i, li in enumerate(infos):
            if not isinstance(li, dict):
                raise Fail("TypeError", "data.listenInfos[%d]: expected a "
                           "map" % i)
            proto = li.get("protocol")
            ip = li.get("ip")
            port = li.get("port")
            if proto not in ("udp", "tcp") or not isinstance(ip, str) or \
                    not isinstance(port, int) or not 0 <= port <= 65535:
                raise Fail("TypeError", "data.listenInfos[%d]: bad "
                           "protocol, ip or port (%r)" % (i, li))
            fam = socket.AF_INET6 if ":" in ip else socket.AF_INET
            sock = socket.socket(fam, socket.SOCK_DGRAM if proto == "udp"
                                 else socket.SOCK_STREAM)
            socks.append(sock)
            if proto == "tcp":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((ip, port))
                if proto == "tcp":
                    sock.listen(16)
            except OSError as e:
                raise Fail("Error", "port %d in use on %s (%s %s)" %
                           (port, ip, proto, e.strerror))
    except Fail:
        for sock in socks:
            sock.close()
        raise
    create("webRtcServer", sid, None)
    servers[sid] = {"listenInfos": infos, "socks": socks}
    return {"webRtcServerId": sid}


def dump_entity(eid):
    e = entities[eid]
    d = {"id": eid, "kind": e["kind"], "parentId": e["parent"],
         "childIds": children(eid), "workerPid": PID}
    if e["kind"] == "router":
        d["transportIds"] = [c for c in children(eid)
                             if entities[c]["kind"] == "transport"]
    if e["kind"] == "webRtcServer":
        d["listenInfos"] = servers[eid]["listenInfos"]
    return d


def hang():
    """Stops answering; exits when fd 3 reaches EOF (peeked, so pending
    requests stay unread) or on a signal."""
    log("hanging")
    sock = socket.socket(fileno=os.dup(REQ_FD))
    while True:
        r, _, _ = select.select([sock], [], [], 0.5)
        if r:
            try:
                if sock.recv(1, socket.MSG_PEEK) == b"":
                    log("EOF while hanging: exiting")
                    bye(0)
            except OSError:
                bye(0)
            time.sleep(0.1)     # data waiting: leave it there


CREATES = {
    # method: (kind, id field, parent kind)
    "worker.createRouter": ("router", "routerId", None),
    "router.createPlainTransport": ("transport", "transportId", "router"),
    "router.createWebRtcTransport": ("transport", "transportId", "router"),
    "transport.produce": ("producer", "producerId", "transport"),
    "transport.consume": ("consumer", "consumerId", "transport"),
}

CLOSES = {
    # method: (kind, id field)
    "worker.closeRouter": ("router", "routerId"),
    "router.closeTransport": ("transport", "transportId"),
    "transport.closeProducer": ("producer", "producerId"),
    "transport.closeConsumer": ("consumer", "consumerId"),
}

KINDS = ("router", "transport", "producer", "consumer", "webRtcServer")


def handle(method, handler_id, data):
    """Returns the response data (None: no data) or raises Fail."""
    if method in ("worker.ping", "worker.updateSettings"):
        return None
    if method == "worker.dump":
        return {"pid": PID, "fake": True,
                "routerIds": [k for k, v in entities.items()
                              if v["kind"] == "router"],
                "entityIds": list(entities),
                "webRtcServerIds": list(servers),
                "webRtcServerRequests": server_requests,
                "requests": requests, "lastRequest": last_request}
    if method == "fake.emit":
        target = data_str(data, "targetId")
        event = data_str(data, "event")
        n = {"targetId": target, "event": event}
        if isinstance(data, dict) and data.get("data") is not None:
            n["data"] = data["data"]
        write_msg(n)
        if event in ("routerclose", "transportclose", "producerclose",
                     "dataproducerclose") and target in entities:
            destroy(target)
        return None
    if method == "worker.createWebRtcServer":
        return create_webrtc_server(data if isinstance(data, dict) else {})
    if method == "worker.closeWebRtcServer":
        destroy(data_str(data, "webRtcServerId"), "webRtcServer")
        return None
    if method in CREATES:
        kind, field, parent_kind = CREATES[method]
        parent = None
        if parent_kind is not None:
            parent = entity_of(handler_id, parent_kind)
        eid = data_str(data, field)
        create(kind, eid, parent)
        if kind == "router":
            return {"rtpCapabilities": {}}
        if kind == "transport":
            return {"id": eid}
        return {"id": eid, "kind": "audio", "type": "simple"}
    if method in CLOSES:
        kind, field = CLOSES[method]
        if CLOSES[method][0] != "router":
            entity_of(handler_id, {"transport": "router",
                                   "producer": "transport",
                                   "consumer": "transport"}[kind])
        destroy(data_str(data, field), kind)
        return None
    kind, _, verb = method.partition(".")
    if kind in KINDS and verb == "dump":
        return dump_entity(entity_of(handler_id, kind))
    if kind in KINDS and verb == "close":
        destroy(entity_of(handler_id, kind))
        return None
    raise Fail("Error", "unknown method '%s'" % method)


def main():
    global requests, last_request
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    log("started (argv %s)" % " ".join(sys.argv[1:]))
    write_msg({"targetId": str(PID), "event": "running"})
    while True:
        msg = read_msg()
        if msg is None:
            log("EOF on fd 3: exiting")
            bye(0)
        rid = msg.get("id")
        method = msg.get("method")
        if not isinstance(rid, int) or not isinstance(method, str):
            log("request without id or method: ignored (%r)" % (msg,))
            continue
        requests += 1
        if method != "worker.ping":
            last_request = msg
            log("request %d %s handlerId=%s data=%r" %
                (rid, method, msg.get("handlerId"), msg.get("data")))
        if method == "fake.hang":
            hang()
        if method == "worker.close":
            write_msg({"id": rid, "accepted": True})
            log("closed: exiting")
            bye(0)
        delay = (msg.get("data") or {}).get("fakeDelayMs") \
            if isinstance(msg.get("data"), dict) else None
        if isinstance(delay, (int, float)) and 0 < delay <= 10000:
            time.sleep(delay / 1000.0)
        try:
            out = handle(method, msg.get("handlerId"), msg.get("data"))
        except Fail as f:
            write_msg({"id": rid, "error": f.kind, "reason": f.reason})
            continue
        resp = {"id": rid, "accepted": True}
        if out is not None:
            resp["data"] = out
        write_msg(resp)


if __name__ == "__main__":
    main()
