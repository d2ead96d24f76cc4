#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# The worker's DTLS certificate (settings dtlsCertificateFile and
# dtlsPrivateKeyFile, from the config's dtls_certificate and
# dtls_private_key): a WebRtcTransport announces the fingerprints of the
# certificate given (checked against the openssl CLI's), a generated one
# differs per worker, and a key that does not match the certificate, or a
# missing file, makes the worker exit with the settings error (2) and a
# log line naming the files.
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
import tap  # noqa: E402
import sfu  # noqa: E402

EXIT_SETTINGS = 2


def make_cert(dir, name):
    key = os.path.join(dir, name + "-key.pem")
    cert = os.path.join(dir, name + "-cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=" + name],
                   check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return cert, key


def openssl_fingerprint(cert, algo):
    out = subprocess.run(["openssl", "x509", "-in", cert, "-noout",
                          "-fingerprint", "-" + algo.replace("-", "")],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1]


def fingerprints(args):
    """The fingerprints a WebRtcTransport of a worker started with args
    announces, as {algorithm: value}."""
    with sfu.spawn_worker(args) as w:
        w.recv()    # running
        w.request("worker.createRouter", {"routerId": "r", "mediaCodecs": []})
        r = w.request("router.createWebRtcTransport",
                      {"transportId": "t",
                       "listenInfos": [{"protocol": "udp",
                                        "ip": "127.0.0.1"}]},
                      handler_id="r")
        d = r.get("data") or {}
        fps = (d.get("dtlsParameters") or {}).get("fingerprints") or []
        return {f.get("algorithm"): f.get("value") for f in fps}


def main():
    if shutil.which("openssl") is None:
        tap.skip_all("no openssl CLI")
        return
    tap.plan(10)
    with sfu.tempdir() as dir:
        cert, key = make_cert(dir, "a")
        _, other_key = make_cert(dir, "b")

        got = fingerprints(["--dtlsCertificateFile=" + cert,
                            "--dtlsPrivateKeyFile=" + key])
        tap.is_(sorted(got), ["sha-1", "sha-224", "sha-256", "sha-384",
                              "sha-512"], "five fingerprint algorithms")
        for algo in ("sha-1", "sha-256", "sha-512"):
            tap.is_(got.get(algo), openssl_fingerprint(cert, algo),
                    "%s fingerprint of the configured certificate" % algo)

        gen1 = fingerprints([])
        gen2 = fingerprints([])
        tap.ok(gen1.get("sha-256") and gen1 != got,
               "without a certificate the worker generates one")
        tap.isnt(gen1.get("sha-256"), gen2.get("sha-256"),
                 "each worker generates its own certificate")

        for name, args, why in [
                ("a key that does not match",
                 ["--dtlsCertificateFile=" + cert,
                  "--dtlsPrivateKeyFile=" + other_key],
                 r"DTLS certificate: .*does not match certificate"),
                ("a missing certificate file",
                 ["--dtlsCertificateFile=" + cert + ".gone",
                  "--dtlsPrivateKeyFile=" + key],
                 r"dtlsCertificateFile: cannot read .*\.gone")]:
            w = sfu.spawn_worker(args)
            try:
                code = w.wait_exit()
                tap.is_(code, EXIT_SETTINGS,
                        "%s: the worker exits %d" % (name, EXIT_SETTINGS))
                tap.like(w.log(), why,
                         "%s: the log says why" % name)
            finally:
                w.cleanup()


main()
