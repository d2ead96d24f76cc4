#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
#
# Headless Chromium (Debian's, driven by playwright-core) with the
# unmodified mediasoup-client bundled by esbuild: produces its fake camera
# and microphone through sfud's WebRtcTransports and consumes them back.
# The test is t/e2e/webrtc/browser-test.js; this wrapper runs it in its own
# network and PID namespaces when it can (see t/e2e/webrtc/wrap.py), or
# skips when node, its npm packages or chromium are missing.
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "webrtc"))
import wrap  # noqa: E402

wrap.main("browser-test.js", needs_chromium=True)
