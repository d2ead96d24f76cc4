#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# A long audio stream through one consumer: more than 32768 packets, so
# 16-bit sequence arithmetic on the consumer's side is exercised past the
# half-way point of the sequence space (a bug once dropped the second half
# of every 65536 packets). Every packet sent must arrive, with consecutive
# output sequence numbers. Sent in bursts that the receiver drains in
# between, so socket buffers never overflow.
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402

LOCAL = "127.0.0.1"
SSRC, PT, STEP = 4444, 111, 960
TOTAL, BURST = 40000, 400


def must(c, method, d=None, hid=None):
    r = c.call(method, d, handler_id=hid)
    if r.get("accepted") is not True:
        raise AssertionError("%s on %r failed: %r" % (method, hid, r))
    return r.get("data") or {}


def main():
    tap.plan(6)
    with sfu.tempdir() as tmp:
        m = sfu.Master(tmp, workers=1, worker="    rtc_ports 44000-44099;")
        try:
            m.start()
            m.wait_ready(1)
            c = m.client()
            caps = must(c, "worker.createRouter", {
                "mediaCodecs": [{"kind": "audio", "mimeType": "audio/opus",
                                 "clockRate": 48000, "channels": 2}]})
            rid = caps["routerId"]
            li = {"protocol": "udp", "ip": LOCAL}
            tp = must(c, "router.createPlainTransport",
                      {"listenInfo": li, "comedia": True}, rid)
            tc = must(c, "router.createPlainTransport",
                      {"listenInfo": li, "comedia": False}, rid)
            with sfu.UdpPeer() as tx, sfu.UdpPeer() as rx:
                must(c, "transport.connect", {"ip": LOCAL, "port": rx.port},
                     tc["transportId"])
                p = must(c, "transport.produce", {
                    "kind": "audio", "rtpParameters": {
                        "codecs": [{"mimeType": "audio/opus",
                                    "payloadType": PT, "clockRate": 48000,
                                    "channels": 2}],
                        "encodings": [{"ssrc": SSRC}]}},
                    tp["transportId"])
                cons = must(c, "transport.consume", {
                    "producerId": p["producerId"],
                    "rtpCapabilities": caps["rtpCapabilities"]},
                    tc["transportId"])
                out_ssrc = cons["rtpParameters"]["encodings"][0]["ssrc"]
                dst = (LOCAL, tp["tuple"]["localPort"])
                seq0 = 30000         # crosses 32768 and wraps at 65536
                sent = 0
                t0 = time.monotonic()
                while sent < TOTAL:
                    for i in range(BURST):
                        n = sent + i
                        tx.send(sfu.rtp_build(PT, (seq0 + n) & 0xffff,
                                              n * STEP, SSRC,
                                              payload=b"\x55" * 40), dst)
                    sent += BURST
                    want = sent
                    rx.wait(lambda: len(rx.rtp) >= want, timeout=5)
                    if len(rx.rtp) < want:
                        break
                got = [x for x in rx.rtp if x.get("ssrc") == out_ssrc]
                tap.diag("%d packets in %.1f s" % (sent,
                                                  time.monotonic() - t0))
                tap.is_(sent, TOTAL, "all bursts were sent")
                tap.is_(len(got), TOTAL, "every packet arrived (%d)" % TOTAL)
                seqs = [x["seq"] for x in got]
                gaps = sum(1 for a, b in zip(seqs, seqs[1:])
                           if (b - a) & 0xffff != 1)
                tap.is_(gaps, 0, "output sequence numbers are consecutive")
                tss = [x["ts"] for x in got]
                bad = sum(1 for a, b in zip(tss, tss[1:])
                          if (b - a) & 0xffffffff != STEP)
                tap.is_(bad, 0, "output timestamps advance by %d" % STEP)
                st = must(c, "consumer.getStats", None,
                          cons["consumerId"])
                tap.is_(st[0].get("packetCount") if st else None, TOTAL,
                        "consumer.getStats packetCount")
            c.close()
        finally:
            code = m.stop()
        tap.is_(code, 0, "TERM: exit 0")


main()
