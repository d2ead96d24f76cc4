#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# libwebrtc in Node (@roamhq/wrtc) with the unmodified mediasoup-client
# through sfud's WebRtcTransports: UDP, TCP, and through a WebRtcServer.
# The test is t/e2e/webrtc/wrtc-test.js; this wrapper runs it in its own
# network and PID namespaces when it can (see t/e2e/webrtc/wrap.py), or
# skips when node or its npm packages are missing.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "webrtc"))
import wrap  # noqa: E402

wrap.main("wrtc-test.js")
