#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Malformed input on sfud-worker's fd 3 never kills the worker and never
# puts it out of step: bad MessagePack, non-map messages, bad envelopes,
# trailing bytes, truncation, frames split or coalesced, oversize frames,
# empty frames. Each is answered with a TypeError when its id can be read
# and ignored otherwise, and the worker keeps answering; worker.dump counts
# them. Only a frame length above 64 MiB (framing lost) ends the worker,
# cleanly.
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402

MiB = 1024 * 1024
_ping_id = [900000]


def ping_frame():
    _ping_id[0] += 1
    return _ping_id[0], sfu.encode(sfu.request_msg("worker.ping",
                                                   id=_ping_id[0]))


def next_msg(w, timeout=5):
    """The next message, or a string saying why there is none (so a
    missing answer fails the test at hand rather than the whole file)."""
    try:
        return w.recv(timeout)
    except AssertionError as e:
        return "no message: %s" % e


def no_reply_then_ping(w, raw, name):
    """Sends raw and a ping in one write: the first message back must be
    the ping's response (raw got no answer, and the worker is in step)."""
    id, ping = ping_frame()
    w.send_raw(raw + ping)
    tap.is_(next_msg(w), {"id": id, "accepted": True},
            name + ": no response, next ping answered")


def type_error_then_ping(w, raw, id, reason_re, name):
    """raw (with id readable) gets TypeError naming the problem, then a
    ping sent in the same write is answered."""
    pid, ping = ping_frame()
    w.send_raw(raw + ping)
    resp = next_msg(w)
    tap.is_((resp.get("id"), resp.get("error")) if isinstance(resp, dict)
            else resp, (id, "TypeError"), name + ": TypeError with its id")
    tap.like(resp.get("reason") if isinstance(resp, dict) else None,
             reason_re, name + ": reason")
    tap.is_(next_msg(w), {"id": pid, "accepted": True},
            name + ": next ping answered")


def channel_counters(w):
    return (w.request("worker.dump").get("data") or {}).get("channel") or {}


def padded_ping(id, total):
    """A worker.ping request of exactly total bytes (a bin pad in data)."""
    base = {"id": id, "method": "worker.ping", "data": {"pad": b""}}
    guess = total - 100
    overhead = len(sfu.pack(dict(base, data={"pad": b"x" * guess}))) - guess
    msg = sfu.pack(dict(base, data={"pad": b"x" * (total - overhead)}))
    assert len(msg) == total, (len(msg), total)
    return msg


def main():
    with sfu.spawn_worker([]) as w:
        msg = next_msg(w)
        tap.is_(msg, {"targetId": str(w.pid), "event": "running"},
                "running notification")
        before = channel_counters(w)
        invalid = 0     # malformed messages sent
        oversize = 0    # oversize frames sent

        # Not MessagePack at all (0xc1 is never used), no id.
        no_reply_then_ping(w, sfu.frame(b"\xc1\xc1\xc1"), "garbage bytes")
        tap.ok(w.wait_log(r"dropped invalid message without readable id",
                          2), "garbage bytes: logged as dropped")
        invalid += 1

        # Valid MessagePack, but not a map.
        for what, obj in [("array", [1, 2, 3]), ("int", 42),
                          ("string", "id"),
                          ("array holding a request",
                           [sfu.request_msg("worker.ping", id=7)])]:
            no_reply_then_ping(w, sfu.encode(obj), "top level " + what)
            invalid += 1

        # Maps without a usable id: nothing can be answered.
        for what, idv in [("missing", ...), ("a string", "7"), ("-1", -1),
                          ("2^32", 2**32), ("a float", 7.0), ("nil", None),
                          ("true", True), ("a map", {"id": 7})]:
            m = {"method": "worker.ping"}
            if idv is not ...:
                m = {"id": idv, "method": "worker.ping"}
            no_reply_then_ping(w, sfu.encode(m), "id " + what)
            invalid += 1

        # Bad envelope fields: TypeError naming the field, with the id.
        for id, what, m, reason_re in [
                (11, "method missing", {"id": 11}, r"^method"),
                (12, "method not a string", {"id": 12, "method": 5},
                 r"^method"),
                (13, "method empty", {"id": 13, "method": ""}, r"^method"),
                (14, "handlerId not a string",
                 {"id": 14, "method": "router.dump", "handlerId": 7},
                 r"^handlerId"),
                (15, "data not a map (array)",
                 {"id": 15, "method": "worker.updateSettings", "data": [1]},
                 r"^data"),
                (16, "data not a map (string)",
                 {"id": 16, "method": "worker.ping", "data": "x"},
                 r"^data"),
                (17, "method after data, data not a map",
                 {"data": 3, "method": "worker.ping", "id": 17}, r"^data")]:
            type_error_then_ping(w, sfu.encode(m), id, reason_re, what)
            invalid += 1

        # Over-long method and handlerId: answered with an error, alive.
        for id, what, m in [
                (18, "a 200-byte method",
                 {"id": 18, "method": "worker." + "x" * 193}),
                (19, "a 300-byte handlerId",
                 {"id": 19, "method": "router.dump", "handlerId": "h" * 300})]:
            pid, ping = ping_frame()
            w.send_raw(sfu.encode(m) + ping)
            resp = next_msg(w)
            tap.ok(isinstance(resp, dict) and resp.get("id") == id and
                   isinstance(resp.get("error"), str) and
                   "accepted" not in resp, what + ": answered with an error")
            tap.is_(next_msg(w), {"id": pid, "accepted": True},
                    what + ": next ping answered")

        # A method that is not UTF-8: answered, and the answer is still
        # valid MessagePack with UTF-8 strings (clients decode strictly).
        raw = b"\x82\xa2id\x14\xa6method\xa4\xff\xfe\xc0\xc1"
        pid, ping = ping_frame()
        w.send_raw(sfu.frame(raw) + ping)
        resp = next_msg(w)
        tap.ok(isinstance(resp, dict) and resp.get("id") == 20 and
               "error" in resp, "method not UTF-8: answered with an error")
        tap.is_(w.decode_errors, [],
                "method not UTF-8: the answer decodes as strict UTF-8")
        tap.is_(next_msg(w), {"id": pid, "accepted": True},
                "method not UTF-8: next ping answered")
        del w.decode_errors[:]

        # Trailing bytes after the map; a truncated map with a readable id.
        ping21 = sfu.pack(sfu.request_msg("worker.ping", id=21))
        type_error_then_ping(w, sfu.frame(ping21 + b"\x00"), 21,
                             r"trailing", "trailing byte after the map")
        ping22 = sfu.pack(sfu.request_msg("worker.ping", {"a": "b" * 20},
                                          id=22))
        type_error_then_ping(w, sfu.frame(ping22[:-7]), 22, r"MessagePack",
                             "truncated map")
        invalid += 2

        # Nesting far deeper than the parser allows; declared sizes far
        # larger than the message.
        deep = (b"\x83\xa2id\x17\xa6method\xabworker.ping\xa4data\x81\xa1x" +
                b"\x91" * 100000 + b"\xc0")
        type_error_then_ping(w, sfu.frame(deep), 23, r"deep|MessagePack",
                             "100000 nested arrays")
        type_error_then_ping(w, sfu.frame(b"\xdf\xff\xff\xff\xff\xa2id\x18"),
                             24, r"MessagePack", "map32 of 2^32-1 pairs")
        type_error_then_ping(
            w, sfu.frame(b"\x82\xa2id\x19\xa6method\xdd\xff\xff\xff\xff"), 25,
            r"MessagePack", "array32 of 2^32-1 items")
        type_error_then_ping(
            w, sfu.frame(b"\x82\xa2id\x1a\xa6method\xdb\xff\xff\xff\xff"), 26,
            r"MessagePack", "str32 of 2^32-1 bytes")
        invalid += 4

        # A zero-length frame.
        no_reply_then_ping(w, b"\x00\x00\x00\x00", "zero-length frame")
        invalid += 1

        # One frame split across many writes, with pauses.
        f = sfu.encode(sfu.request_msg("worker.ping", id=27))
        for i in range(len(f) - 1):
            w.send_raw(f[i:i + 1])
            time.sleep(0.005)
        tap.is_(w.expect_silence(0.2), [],
                "split frame: nothing answered before its last byte")
        w.send_raw(f[-1:])
        tap.is_(next_msg(w), {"id": 27, "accepted": True},
                "split frame: answered once complete")

        # 200 frames in one write (with empty frames among them).
        blob = b""
        ids = []
        for n in range(200):
            ids.append(3000 + n)
            blob += sfu.encode(sfu.request_msg("worker.ping", id=3000 + n))
            if n % 50 == 49:
                blob += b"\x00\x00\x00\x00"
                invalid += 1
        w.send_raw(blob)
        got = [next_msg(w) for _ in ids]
        tap.is_([m.get("id") if isinstance(m, dict) else m for m in got], ids,
                "200 coalesced frames all answered, in order")
        tap.ok(all(isinstance(m, dict) and m.get("accepted") is True
                   for m in got), "200 coalesced frames all accepted")

        # The size limit: exactly 4 MiB is a message, one byte more is not.
        pid, ping = ping_frame()
        w.send_raw(sfu.frame(padded_ping(28, 4 * MiB)) + ping)
        tap.is_(next_msg(w, 10), {"id": 28, "accepted": True},
                "a message of exactly 4 MiB is accepted")
        tap.is_(next_msg(w), {"id": pid, "accepted": True},
                "4 MiB message: next ping answered")
        type_error_then_ping(w, sfu.frame(padded_ping(29, 4 * MiB + 1)), 29,
                             r"4194305.*limit.*4194304",
                             "4 MiB + 1 (oversize)")
        oversize += 1

        # 5 MiB starting with a readable id; 5 MiB of zeros (no id).
        type_error_then_ping(w, sfu.frame(padded_ping(30, 5 * MiB)), 30,
                             r"limit", "5 MiB frame with an id")
        no_reply_then_ping(w, sfu.frame(b"\x00" * (5 * MiB)),
                           "5 MiB frame without an id")
        oversize += 2

        # 5 MiB arriving slowly: header alone, then 10 bytes, then the rest.
        f = sfu.frame(padded_ping(31, 5 * MiB))
        pid, ping = ping_frame()
        w.send_raw(f[:4])
        time.sleep(0.05)
        w.send_raw(f[4:14])
        tap.is_(w.expect_silence(0.1), [],
                "slow oversize frame: nothing before its first 64 bytes")
        w.send_raw(f[14:] + ping)
        resp = next_msg(w, 10)
        tap.is_((resp.get("id"), resp.get("error")) if isinstance(resp, dict)
                else resp, (31, "TypeError"),
                "slow oversize frame: TypeError with its id")
        tap.is_(next_msg(w), {"id": pid, "accepted": True},
                "slow oversize frame: the worker stays in step")
        oversize += 1

        # The counters saw all of it.
        after = channel_counters(w)
        tap.diag("channel counters before %r after %r" % (before, after))
        grew = after.get("invalidMessages", 0) - before.get(
            "invalidMessages", 0)
        tap.ok(grew >= invalid, "channel.invalidMessages grew by >= %d "
               "(by %d)" % (invalid, grew))
        tap.is_(after.get("oversizeMessages", 0) -
                before.get("oversizeMessages", 0), oversize,
                "channel.oversizeMessages grew by %d" % oversize)
        tap.ok(w.alive(), "the worker survived all of it")

        # A frame of exactly 64 MiB is still skipped, in step.
        pid, ping = ping_frame()
        w.send_raw(struct.pack(">I", 64 * MiB) + b"\x00" * (64 * MiB) + ping,
                   timeout=20)
        tap.is_(next_msg(w, 10), {"id": pid, "accepted": True},
                "64 MiB frame skipped, next ping answered")

        # Above 64 MiB framing is lost: the worker closes by itself.
        pid, ping = ping_frame()
        w.send_raw(struct.pack(">I", 100 * MiB) + ping)
        tap.is_(w.wait_exit(5), 0, "100 MiB frame header: the worker exits 0")
        tap.ok(w.read_eof(2), "100 MiB frame header: fd 4 EOF")
        tap.is_(w.pending(), [], "100 MiB frame header: nothing answered")
        tap.like(w.log(), r"framing lost", "100 MiB frame header: logged")

    # The boundary of framing lost: 64 MiB + 1.
    with sfu.spawn_worker([]) as w:
        next_msg(w)
        w.send_raw(struct.pack(">I", 64 * MiB + 1))
        tap.is_(w.wait_exit(5), 0, "64 MiB + 1 frame header: exit 0")


tap.plan(87)
main()
