#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// Chromium (Debian's, headless, driven by playwright-core) through a real
// sfud over WebRtcTransports, with the unmodified mediasoup-client bundled
// into a local page by esbuild (page/app.js).
//
// The harness starts sfud, creates a router, serves page/index.html and
// the bundle from 127.0.0.1, and relays the page's admin requests to sfud
// (page.exposeFunction). The page loads a Device with the router's
// capabilities (the handler mediasoup-client picks for this Chromium),
// opens the fake camera and microphone, produces both on a send
// transport, consumes both back on a receive transport in the same page
// and shows the received video. Twice: over UDP, then over TCP (sfud's
// passive candidates, Chromium's ICE-TCP).
//
// Asserted per run: mediasoup-client's handler and sfud's answers; that
// sfud reported iceState connected/completed, dtlsState connected and a
// selected tuple of the run's protocol for both transports; that Chromium
// decoded the received video (inbound-rtp framesDecoded) at 320x240, got
// audio packets and played them (not silence, little concealment); that
// the <video> showing it plays and shows a picture (not a flat frame)
// that is the camera's (close to the local <video>'s frame). A screenshot
// of the page and one of the received <video> are saved to $SFUD_E2E_OUT
// (default $SFUD_BUILDDIR/t/e2e-out): browser-page-udp.png,
// browser-video-udp.png, and the same for tcp.
//
// TAP on stdout; exit status 1 if anything failed. sfud's config and log,
// and the page's console, go to a temp dir kept (and named) on failure or
// with SFUD_KEEP_TMP=1. SFUD_E2E_DEBUG=1: sfud's worker logs at debug.
'use strict';

const fs = require('fs');
const http = require('http');
const os = require('os');
const path = require('path');

const tap = require('./lib/tap');
const { Sfud, buildDir, sleep } = require('./lib/sfud');

const DEBUG = process.env.SFUD_E2E_DEBUG === '1';
const CHROMIUM = process.env.SFUD_E2E_CHROMIUM || '/usr/bin/chromium';
const OVERALL_TIMEOUT =
    1000 * (Number(process.env.SFUD_E2E_TIMEOUT) || 90);
const MEDIA_TIMEOUT = 25000;
const MIN_FRAMES = 60;
const MIN_AUDIO_PACKETS = 100;
// Mean |luma difference| between the received frame and the local one:
// about 0-3 here (a few frames apart), 13 seen on a loaded machine (the
// fake camera's clock and pie move between the two reads); a black or
// unrelated frame gives about 90. The best of PICTURE_SAMPLES reads
// counts.
const MAX_DIFF_TO_LOCAL = 30;
const PICTURE_SAMPLES = 10;
const RTC_PORTS = '44500-44999';

const MEDIA_CODECS = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000,
	    channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];

const CHROMIUM_ARGS = [
	'--headless=new',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-dev-shm-usage',
	'--use-fake-device-for-media-stream',
	'--use-fake-ui-for-media-stream',
	'--allow-loopback-in-peer-connection',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-default-apps',
	'--disable-sync',
	'--disable-extensions',
	'--disable-features=Translate,MediaRouter,OptimizationHints',
	'--no-first-run',
	'--no-default-browser-check',
	'--metrics-recording-only',
	'--password-store=basic',
	'--autoplay-policy=no-user-gesture-required',
	'--mute-audio',
];

function tmpDir() {
	let base = os.tmpdir();
	if (base.length > 60)
		base = '/tmp';
	return fs.mkdtempSync(path.join(base, 'sfud-e2e-browser-'));
}

function outDir() {
	const d = process.env.SFUD_E2E_OUT ||
	    path.join(buildDir(), 't', 'e2e-out');
	fs.mkdirSync(d, { recursive: true });
	return d;
}

async function bundle(dir) {
	const esbuild = require('esbuild');
	const out = path.join(dir, 'bundle.js');
	await esbuild.build({
		entryPoints: [path.join(__dirname, 'page', 'app.js')],
		bundle: true,
		outfile: out,
		format: 'iife',
		platform: 'browser',
		target: 'chrome100',
		logLevel: 'warning',
	});
	return out;
}

function serve(bundlePath) {
	const files = {
		'/': ['text/html', path.join(__dirname, 'page', 'index.html')],
		'/bundle.js': ['text/javascript', bundlePath],
	};
	const srv = http.createServer((req, res) => {
		const f = files[req.url.split('?')[0]];
		if (!f) {
			res.writeHead(req.url === '/favicon.ico' ? 204 : 404);
			res.end();
			return;
		}
		res.writeHead(200, { 'content-type': f[0],
		    'cache-control': 'no-store' });
		res.end(fs.readFileSync(f[1]));
	});
	return new Promise((resolve, reject) => {
		srv.once('error', reject);
		srv.listen(0, '127.0.0.1', () => resolve(srv));
	});
}

function eventsFor(admin, id) {
	const out = {};
	for (const n of admin.notifications) {
		if (n.targetId !== id)
			continue;
		const name = String(n.event).split('.').pop();
		(out[name] = out[name] || []).push(n.data || {});
	}
	return out;
}

async function waitStates(admin, id, timeout) {
	const deadline = Date.now() + timeout;
	for (;;) {
		const ev = eventsFor(admin, id);
		const ice = (ev.icestatechange || []).map((d) => d.iceState);
		const dtls = (ev.dtlsstatechange || []).map((d) => d.dtlsState);
		const tuples = ev.iceselectedtuplechange || [];
		const tuple = tuples.length ?
		    tuples[tuples.length - 1].iceSelectedTuple : null;
		if (ice.some((x) => x === 'connected' || x === 'completed') &&
		    dtls.includes('connected') && tuple)
			return { ice, dtls, tuple };
		if (Date.now() >= deadline)
			return { ice, dtls, tuple };
		await sleep(100);
	}
}

// One run in the page: setup() with transports of this protocol, then the
// checks, screenshots (browser-page-VARIANT.png, browser-video-VARIANT.png)
// and close().
async function runVariant(page, admin, router, variant, lines) {
	const label = variant;
	const failedBefore = tap.failed();
	tap.diag(`${label}: setting up`);
	const transportData = {
		listenInfos: [{ protocol: variant, ip: '127.0.0.1' }],
		enableUdp: variant === 'udp', enableTcp: variant === 'tcp',
		preferUdp: variant === 'udp', preferTcp: variant === 'tcp',
	};
	let setup;
	try {
		setup = await page.evaluate((arg) =>
		    window.sfudTest.setup(arg), {
			routerRtpCapabilities: router.rtpCapabilities,
			routerId: router.routerId,
			transportData,
		});
	} catch (e) {
		tap.diag('page console:\n' + lines.join('\n'));
		throw e;
	}
	try {
		await checkVariant(page, admin, label, variant, setup);
	} finally {
		if (tap.failed() > failedBefore)
			tap.diag('page console:\n' + lines.join('\n'));
		await page.evaluate(() => window.sfudTest.close());
		for (const t of [setup.sendTransport, setup.recvTransport])
			await admin.request('transport.close', null,
			    { handlerId: t.id });
	}
}

async function checkVariant(page, admin, label, variant, setup) {
	tap.is(setup.handlerName, 'Chrome111',
	    `${label}: mediasoup-client picked its Chrome111 handler`);
	const cands = [...setup.sendTransport.iceCandidates,
	    ...setup.recvTransport.iceCandidates];
	tap.ok(setup.sendTransport.iceParameters.iceLite === true &&
	    setup.recvTransport.iceParameters.iceLite === true &&
	    cands.length >= 2 && cands.every((c) => c.protocol === variant),
	    `${label}: sfud gave ICE-lite transports with ${variant} ` +
	    `candidates ${JSON.stringify(cands)}`);
	tap.is([setup.consumers.video.mimeType,
	    setup.consumers.audio.mimeType], ['video/VP8', 'audio/opus'],
	    `${label}: consumers of the fake camera and microphone: VP8 ` +
	    'and opus');

	const deadline = Date.now() + MEDIA_TIMEOUT;
	let s = await page.evaluate(() => window.sfudTest.stats());
	while (Date.now() < deadline) {
		if (s.video && s.video.framesDecoded >= MIN_FRAMES &&
		    s.audio && s.audio.packetsReceived >= MIN_AUDIO_PACKETS &&
		    s.element.currentTime > 1)
			break;
		await sleep(250);
		s = await page.evaluate(() => window.sfudTest.stats());
	}
	tap.diag(`${label}: received ${JSON.stringify(s)}`);

	for (const [who, t] of [['send', setup.sendTransport],
	    ['recv', setup.recvTransport]]) {
		const st = await waitStates(admin, t.id, 3000);
		tap.ok(st.ice.some((x) => x === 'connected' ||
		    x === 'completed'),
		    `${label}: sfud reported the ${who} transport's iceState ` +
		    `connected or completed (${st.ice})`);
		tap.ok(st.dtls.includes('connected'),
		    `${label}: sfud reported the ${who} transport's ` +
		    `dtlsState connected (${st.dtls})`);
		tap.ok(st.tuple && st.tuple.protocol === variant,
		    `${label}: sfud reported the ${who} transport's selected ` +
		    `tuple, ${variant} (${JSON.stringify(st.tuple)})`);
	}

	const v = s.video || {};
	const a = s.audio || {};
	tap.ok(v.framesDecoded >= MIN_FRAMES,
	    `${label}: chromium decoded ${v.framesDecoded} frames of the ` +
	    `video it got back through sfud (>= ${MIN_FRAMES}; ` +
	    `${v.packetsReceived} packets, ${v.packetsLost} lost)`);
	tap.ok(v.frameWidth === 320 && v.frameHeight === 240,
	    `${label}: decoded at ${v.frameWidth}x${v.frameHeight} (320x240)`);
	tap.ok(a.packetsReceived >= MIN_AUDIO_PACKETS,
	    `${label}: chromium received ${a.packetsReceived} audio ` +
	    `packets (>= ${MIN_AUDIO_PACKETS}; ${a.packetsLost} lost)`);
	tap.ok(a.totalSamplesReceived >= 48000 &&
	    a.concealedSamples <= a.totalSamplesReceived / 10 &&
	    a.totalAudioEnergy > 0.1,
	    `${label}: and played it: ${a.totalSamplesReceived} samples ` +
	    `(>= 1 s), ${a.concealedSamples} concealed (<= 10%), audio ` +
	    `energy ${a.totalAudioEnergy} (> 0.1: the fake microphone's ` +
	    'beeps)');
	tap.ok(s.element.videoWidth === 320 && s.element.currentTime > 1 &&
	    !s.element.paused,
	    `${label}: the <video> plays the received stream ` +
	    `(${s.element.videoWidth}x${s.element.videoHeight}, ` +
	    `t=${s.element.currentTime.toFixed(2)} s)`);
	let pic = null;
	for (let i = 0; i < PICTURE_SAMPLES; i++) {
		const p = await page.evaluate(() => window.sfudTest.picture());
		if (p && (pic === null || p.diffToLocal < pic.diffToLocal))
			pic = p;
		if (pic && pic.diffToLocal < 3)
			break;
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	tap.ok(pic && pic.stddev > 10 && pic.levels >= 3,
	    `${label}: the received frame is a picture, not a flat frame ` +
	    `(${JSON.stringify(pic)})`);
	tap.ok(pic && pic.diffToLocal < MAX_DIFF_TO_LOCAL,
	    `${label}: and it is the camera's: mean luma difference to the ` +
	    `local frame ${pic && pic.diffToLocal} (< ${MAX_DIFF_TO_LOCAL})`);

	const out = outDir();
	const pagePng = path.join(out, `browser-page-${variant}.png`);
	const videoPng = path.join(out, `browser-video-${variant}.png`);
	await page.screenshot({ path: pagePng });
	await page.locator('#remote').screenshot({ path: videoPng });
	const size = fs.existsSync(videoPng) ? fs.statSync(videoPng).size : 0;
	tap.ok(size > 1000, `${label}: screenshot of the received video: ` +
	    `${videoPng} (${size} bytes; whole page: ${pagePng})`);
}

async function main() {
	const dir = tmpDir();
	tap.diag(`logs in ${dir}`);
	const consoleLog = path.join(dir, 'page-console.log');
	let sfud = null;
	let admin = null;
	let browser = null;
	let srv = null;
	let ok = false;
	const started = Date.now();
	const killAll = () => {
		if (sfud)
			sfud.killNow();
		if (browser) {
			// playwright-core kills the browser process it
			// launched when this process exits.
			browser.close().catch(() => {});
		}
	};
	const timer = setTimeout(() => {
		tap.ok(false, `overall timeout of ${OVERALL_TIMEOUT / 1000} s`);
		if (sfud)
			tap.diag(sfud.tail(80));
		tap.diag(`kept ${dir}`);
		killAll();
		tap.done();
		process.exit(1);
	}, OVERALL_TIMEOUT);
	process.on('exit', () => {
		if (sfud)
			sfud.killNow();
	});

	try {
		const { chromium } = require('playwright-core');
		const bundlePath = await bundle(dir);
		tap.ok(fs.statSync(bundlePath).size > 10000,
		    `esbuild bundled mediasoup-client into the page ` +
		    `(${fs.statSync(bundlePath).size} bytes)`);
		srv = await serve(bundlePath);
		const url = `http://127.0.0.1:${srv.address().port}/`;

		sfud = new Sfud({
			dir, rtcPorts: RTC_PORTS,
			logLevel: DEBUG ? 'debug' : 'info',
			workerConf: DEBUG ? '    log_level debug;\n' +
			    '    log_tags ice dtls rtp rtcp srtp;\n' : '',
		});
		await sfud.start();
		admin = await sfud.connect();
		const router = await admin.request('worker.createRouter',
		    { mediaCodecs: MEDIA_CODECS });

		browser = await chromium.launch({
			executablePath: CHROMIUM,
			headless: true,
			args: CHROMIUM_ARGS,
			timeout: 30000,
		});
		tap.diag(`chromium ${browser.version()}`);
		const context = await browser.newContext({
			viewport: { width: 680, height: 420 },
		});
		const page = await context.newPage();
		const lines = [];
		page.on('console', (m) => {
			lines.push(`${m.type()}: ${m.text()}`);
			fs.appendFileSync(consoleLog,
			    `${m.type()}: ${m.text()}\n`);
		});
		page.on('pageerror', (e) => {
			lines.push(`pageerror: ${e.message}`);
			fs.appendFileSync(consoleLog,
			    `pageerror: ${e.stack || e.message}\n`);
		});
		await page.exposeFunction('sfudRequest',
		    async (method, handlerId, data) => {
			try {
				const d = await admin.request(method,
				    data === null ? undefined : data,
				    { handlerId: handlerId || undefined });
				return { ok: true, data: d };
			} catch (e) {
				return { ok: false, error: e.message };
			}
		});
		await page.goto(url, { timeout: 15000 });
		await page.waitForFunction(() => window.sfudTest, null,
		    { timeout: 10000 });

		for (const variant of ['udp', 'tcp']) {
			try {
				await runVariant(page, admin, router, variant,
				    lines);
			} catch (e) {
				tap.ok(false, `${variant}: ${e.message}`);
				tap.diag(e.stack || String(e));
			}
		}
		await admin.request('router.close', null,
		    { handlerId: router.routerId });
		ok = true;
	} catch (e) {
		tap.ok(false, `died: ${e.message}`);
		tap.diag(e.stack || String(e));
	} finally {
		if (browser) {
			try {
				await Promise.race([browser.close(),
				    sleep(10000)]);
			} catch (e) {
				tap.diag(`browser.close: ${e.message}`);
			}
			browser = null;
		}
		if (srv)
			srv.close();
		if (admin)
			admin.close();
		if (sfud && sfud.proc) {
			const exit = await sfud.stop();
			tap.ok(exit && exit.code === 0,
			    `sfud exited cleanly on SIGTERM ` +
			    `(${JSON.stringify(exit)})`);
			tap.is(sfud.crashLines(), [],
			    'sfud\'s worker did not crash (no sanitizer ' +
			    'report either)');
		}
		clearTimeout(timer);
	}
	tap.diag(`took ${((Date.now() - started) / 1000).toFixed(1)} s`);
	if (!ok || tap.failed()) {
		if (sfud)
			tap.diag(sfud.tail(80));
		tap.diag(`kept ${dir} (sfud.conf, sfud.log, page-console.log)`);
	} else if (process.env.SFUD_KEEP_TMP) {
		tap.diag(`kept ${dir} (sfud.conf, sfud.log, page-console.log)`);
	} else {
		fs.rmSync(dir, { recursive: true, force: true });
	}
	process.exit(tap.done());
}

main();
