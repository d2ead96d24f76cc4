#!/usr/bin/env node
// SPDX-License-Identifier: MIT
//
// libwebrtc peers (@roamhq/wrtc, in Node) through a real sfud over
// WebRtcTransports. The SDP is written by the unmodified mediasoup-client
// (handler Chrome111) running on wrtc's RTCPeerConnection: what a browser
// app would send.
//
// A publisher sends a synthetic video track (320x240 I420 frames at 30 fps,
// each showing its number as black and white stripes, see lib/media.js)
// and a 440 Hz tone through one WebRtcTransport; a subscriber consumes
// both through another. Three runs, each with fresh transports:
//
//   udp     listenInfos [udp 127.0.0.1]
//   tcp     listenInfos [tcp 127.0.0.1], enableUdp false, enableTcp true
//   server  worker.createWebRtcServer (udp and tcp on one port), then both
//           transports with webRtcServerId: they share its port
//
// Asserted per run: sfud's transport parameters (ICE lite, controlled,
// candidates of the asked protocol on 127.0.0.1, a DTLS fingerprint), that
// sfud reported iceState connected/completed and dtlsState connected for
// both transports, that the subscriber's libwebrtc decoded video frames
// (inbound-rtp framesDecoded) and got audio packets, that the frames it
// decoded are the ones sent (their stripe numbers read back, in
// increasing order), and that the audio it decoded is the tone, not
// silence.
//
// TAP on stdout; exit status 1 if anything failed. sfud's config and log
// go to a temp dir that is kept (and named) on failure or with
// SFUD_KEEP_TMP=1; sfud's log is printed on failure. SFUD_E2E_DEBUG=1:
// sfud's worker logs at debug with tags ice dtls rtp rtcp srtp, and
// mediasoup-client's debug log goes to stderr.
'use strict';

const fs = require('fs');
const net = require('net');
const dgram = require('dgram');
const os = require('os');
const path = require('path');

const DEBUG = process.env.SFUD_E2E_DEBUG === '1';
if (DEBUG && !process.env.DEBUG)
	process.env.DEBUG = 'mediasoup-client*';

const tap = require('./lib/tap');
const { Sfud, sleep } = require('./lib/sfud');

const OVERALL_TIMEOUT =
    1000 * (Number(process.env.SFUD_E2E_TIMEOUT) || 90);
const MEDIA_TIMEOUT = 20000;		// per run, for the thresholds below
const MIN_FRAMES = 60;			// decoded video frames (2 s)
const MIN_AUDIO_PACKETS = 100;		// 2 s of 20 ms packets
const MIN_AUDIO_RMS = 1000;		// the tone's RMS is 5657
const HANDLER = 'Chrome111';
const RTC_PORTS = '44000-44499';

const MEDIA_CODECS = [
	{ kind: 'audio', mimeType: 'audio/opus', clockRate: 48000,
	    channels: 2 },
	{ kind: 'video', mimeType: 'video/VP8', clockRate: 90000 },
];

let wrtc;
let Device;
let media;

function loadPeers() {
	wrtc = require('@roamhq/wrtc');
	// mediasoup-client's handlers use the browser's globals.
	for (const k of ['RTCPeerConnection', 'RTCSessionDescription',
	    'RTCIceCandidate', 'MediaStream', 'MediaStreamTrack',
	    'RTCRtpSender', 'RTCRtpReceiver', 'RTCRtpTransceiver'])
		globalThis[k] = wrtc[k];
	({ Device } = require('mediasoup-client'));
	media = require('./lib/media');
}

function tmpDir() {
	// The admin socket path must fit in sun_path.
	let base = os.tmpdir();
	if (base.length > 60)
		base = '/tmp';
	return fs.mkdtempSync(path.join(base, 'sfud-e2e-wrtc-'));
}

// A port free for both UDP and TCP on 127.0.0.1, outside RTC_PORTS.
async function freePort() {
	for (let i = 0; i < 50; i++) {
		const srv = net.createServer();
		await new Promise((res, rej) => {
			srv.once('error', rej);
			srv.listen(0, '127.0.0.1', res);
		});
		const port = srv.address().port;
		const u = dgram.createSocket('udp4');
		const ok = await new Promise((res) => {
			u.once('error', () => res(false));
			u.bind(port, '127.0.0.1', () => res(true));
		});
		if (ok)
			await new Promise((res) => u.close(res));
		await new Promise((res) => srv.close(res));
		const [lo, hi] = RTC_PORTS.split('-').map(Number);
		if (ok && (port < lo || port > hi))
			return port;
	}
	throw new Error('no port free for both UDP and TCP');
}

function withTimeout(p, ms, what) {
	let timer;
	return Promise.race([
		p,
		new Promise((res, rej) => {
			timer = setTimeout(() => rej(new Error(
			    `${what}: no result within ${ms} ms`)), ms);
		}),
	]).finally(() => clearTimeout(timer));
}

// sfud's notifications about one entity, by event name (the last dotted
// part: "webrtctransport.icestatechange" -> "icestatechange").
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

function lastState(events, name, key) {
	const list = events[name] || [];
	return list.length ? list[list.length - 1][key] : undefined;
}

async function waitStates(admin, id, timeout) {
	const deadline = Date.now() + timeout;
	for (;;) {
		const ev = eventsFor(admin, id);
		const ice = lastState(ev, 'icestatechange', 'iceState');
		const dtls = lastState(ev, 'dtlsstatechange', 'dtlsState');
		if ((ice === 'connected' || ice === 'completed') &&
		    dtls === 'connected')
			return ev;
		if (Date.now() >= deadline)
			return ev;
		await sleep(100);
	}
}

function transportData(variant, serverId) {
	if (variant === 'server')
		return { webRtcServerId: serverId, enableUdp: true,
		    enableTcp: true, preferUdp: true, preferTcp: false };
	const protocol = variant === 'tcp' ? 'tcp' : 'udp';
	return {
		listenInfos: [{ protocol, ip: '127.0.0.1' }],
		enableUdp: protocol === 'udp',
		enableTcp: protocol === 'tcp',
		preferUdp: protocol === 'udp',
		preferTcp: protocol === 'tcp',
	};
}

// Checks sfud's createWebRtcTransport answer; returns its candidates'
// ports.
function checkTransport(label, who, t, variant) {
	const protos = variant === 'tcp' ? ['tcp'] :
	    variant === 'server' ? ['udp', 'tcp'] : ['udp'];
	tap.ok(typeof t.id === 'string' && t.id.length > 0 &&
	    t.iceParameters && t.iceParameters.iceLite === true &&
	    typeof t.iceParameters.usernameFragment === 'string' &&
	    typeof t.iceParameters.password === 'string' &&
	    t.iceRole === 'controlled',
	    `${label}: ${who} transport is ICE lite, controlled, with ` +
	    `ufrag and password (iceRole ${t.iceRole}, iceLite ` +
	    `${t.iceParameters && t.iceParameters.iceLite})`);
	const cands = Array.isArray(t.iceCandidates) ? t.iceCandidates : [];
	const got = [...new Set(cands.map((c) => c.protocol))].sort();
	tap.ok(cands.length > 0 &&
	    JSON.stringify(got) === JSON.stringify([...protos].sort()) &&
	    cands.every((c) => (c.address || c.ip) === '127.0.0.1' &&
	    c.type === 'host' && Number.isInteger(c.port) && c.port > 0 &&
	    (c.protocol !== 'tcp' || c.tcpType === 'passive')),
	    `${label}: ${who} transport's candidates are host ` +
	    `${protos.join('+')} on 127.0.0.1 (${JSON.stringify(cands)})`);
	const fps = (t.dtlsParameters && t.dtlsParameters.fingerprints) || [];
	tap.ok(fps.some((f) => f.algorithm === 'sha-256' &&
	    /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/i.test(f.value)),
	    `${label}: ${who} transport has a sha-256 DTLS fingerprint`);
	return cands.map((c) => c.port);
}

// The transport's inbound-rtp stats of each consumer (by its SSRC: a
// receive transport also has mediasoup-client's RTP probation stream,
// SSRC 1234, which gets no packets here) and its selected candidate pair.
async function statsOf(transport, consumers = {}) {
	const report = await transport.getStats();
	const out = { video: null, audio: null, pair: null, outVideo: null };
	const kindOf = {};
	for (const [kind, c] of Object.entries(consumers))
		kindOf[c.rtpParameters.encodings[0].ssrc] = kind;
	report.forEach((s) => {
		if (s.type === 'inbound-rtp' && kindOf[s.ssrc])
			out[kindOf[s.ssrc]] = s;
		if (s.type === 'outbound-rtp' &&
		    (s.kind || s.mediaType) === 'video')
			out.outVideo = s;
		if (s.type === 'candidate-pair' && s.nominated &&
		    s.state === 'succeeded')
			out.pair = s;
	});
	return out;
}

// What sfud and the publisher's libwebrtc say about the run's streams.
async function diagStats(admin, label, sendId, recvId, producers, consumers,
    send) {
	const ask = async (what, method, id) => {
		try {
			const d = await admin.request(method, null,
			    { handlerId: id });
			tap.diag(`${label} ${what}: ${JSON.stringify(d)}`);
		} catch (e) {
			tap.diag(`${label} ${what}: ${e.message}`);
		}
	};
	await ask('send transport stats', 'transport.getStats', sendId);
	await ask('recv transport stats', 'transport.getStats', recvId);
	for (const kind of ['video', 'audio']) {
		if (producers[kind])
			await ask(`${kind} producer stats`, 'producer.getStats',
			    producers[kind].id);
		if (consumers[kind])
			await ask(`${kind} consumer stats`, 'consumer.getStats',
			    consumers[kind].id);
	}
	const report = await send.getStats();
	report.forEach((s) => {
		if (s.type === 'outbound-rtp')
			tap.diag(`${label} publisher outbound-rtp ` +
			    `${s.kind || s.mediaType}: packetsSent ` +
			    `${s.packetsSent}, framesEncoded ` +
			    `${s.framesEncoded}, keyFramesEncoded ` +
			    `${s.keyFramesEncoded}, pliCount ${s.pliCount}, ` +
			    `firCount ${s.firCount}, nackCount ${s.nackCount}`);
	});
}

async function run(sfud, admin, routerId, caps, variant) {
	const label = variant;
	const cleanup = [];
	const failedBefore = tap.failed();
	tap.diag(`${label}: setting up`);
	try {
		let serverId;
		let serverPort;
		if (variant === 'server') {
			serverPort = await freePort();
			serverId = `webrtc-server-${process.pid}`;
			await admin.request('worker.createWebRtcServer', {
				webRtcServerId: serverId,
				listenInfos: [
					{ protocol: 'udp', ip: '127.0.0.1',
					    port: serverPort },
					{ protocol: 'tcp', ip: '127.0.0.1',
					    port: serverPort },
				],
			}, { worker: 0 });
			cleanup.push(() => admin.request('webRtcServer.close',
			    null, { handlerId: serverId }));
			tap.ok(true, `${label}: worker.createWebRtcServer on ` +
			    `udp and tcp port ${serverPort}`);
		}

		// The publisher: its own Device and send transport.
		const pub = new Device({ handlerName: HANDLER });
		await pub.load({ routerRtpCapabilities: caps });
		const st = await admin.request('router.createWebRtcTransport',
		    transportData(variant, serverId), { handlerId: routerId });
		cleanup.push(() => admin.request('transport.close', null,
		    { handlerId: st.id }));
		const sendPorts = checkTransport(label, 'send', st, variant);
		const send = pub.createSendTransport({
			id: st.id,
			iceParameters: st.iceParameters,
			iceCandidates: st.iceCandidates,
			dtlsParameters: st.dtlsParameters,
		});
		cleanup.push(() => send.close());
		send.on('connect', ({ dtlsParameters }, cb, eb) => {
			admin.request('transport.connect', { dtlsParameters },
			    { handlerId: st.id }).then(() => cb(), eb);
		});
		send.on('produce', ({ kind, rtpParameters }, cb, eb) => {
			admin.request('transport.produce',
			    { kind, rtpParameters, paused: false },
			    { handlerId: st.id })
			    .then((d) => cb({ id: d.id }), eb);
		});

		const vgen = new media.VideoGenerator();
		const agen = new media.AudioGenerator();
		cleanup.push(() => {
			vgen.stop();
			agen.stop();
		});
		vgen.start();
		agen.start();
		const producers = {};
		producers.video = await withTimeout(send.produce(
		    { track: vgen.track }), 15000, 'produce video');
		producers.audio = await withTimeout(send.produce(
		    { track: agen.track }), 15000, 'produce audio');
		tap.ok(producers.video.id && producers.audio.id,
		    `${label}: transport.produce accepted video and audio ` +
		    `(${producers.video.id}, ${producers.audio.id})`);

		// The subscriber: another Device and a receive transport.
		const sub = new Device({ handlerName: HANDLER });
		await sub.load({ routerRtpCapabilities: caps });
		const rt = await admin.request('router.createWebRtcTransport',
		    transportData(variant, serverId), { handlerId: routerId });
		cleanup.push(() => admin.request('transport.close', null,
		    { handlerId: rt.id }));
		const recvPorts = checkTransport(label, 'recv', rt, variant);
		if (variant === 'server')
			tap.ok([...sendPorts, ...recvPorts].every(
			    (p) => p === serverPort),
			    `${label}: both transports' candidates use the ` +
			    `WebRtcServer's port ${serverPort} (send ` +
			    `${sendPorts}, recv ${recvPorts})`);
		const recv = sub.createRecvTransport({
			id: rt.id,
			iceParameters: rt.iceParameters,
			iceCandidates: rt.iceCandidates,
			dtlsParameters: rt.dtlsParameters,
		});
		cleanup.push(() => recv.close());
		recv.on('connect', ({ dtlsParameters }, cb, eb) => {
			admin.request('transport.connect', { dtlsParameters },
			    { handlerId: rt.id }).then(() => cb(), eb);
		});

		const checks = {};
		const consumers = {};
		for (const kind of ['video', 'audio']) {
			const c = await admin.request('transport.consume', {
				producerId: producers[kind].id,
				rtpCapabilities: sub.rtpCapabilities,
				paused: true,
			}, { handlerId: rt.id });
			tap.ok(c.kind === kind && c.paused === true &&
			    c.rtpParameters && c.rtpParameters.codecs &&
			    c.rtpParameters.codecs[0].mimeType ===
			    (kind === 'video' ? 'video/VP8' : 'audio/opus'),
			    `${label}: transport.consume ${kind}: paused, ` +
			    `${c.rtpParameters && c.rtpParameters.codecs &&
			    c.rtpParameters.codecs[0].mimeType}`);
			consumers[kind] = await withTimeout(recv.consume({
				id: c.id,
				producerId: c.producerId,
				kind: c.kind,
				rtpParameters: c.rtpParameters,
			}), 15000, `consume ${kind}`);
			checks[kind] = kind === 'video' ?
			    new media.VideoCheck(consumers[kind].track) :
			    new media.AudioCheck(consumers[kind].track);
			cleanup.push(() => checks[kind].stop());
			checks[kind].resumedAt = Date.now();
			await admin.request('consumer.resume', null,
			    { handlerId: c.id });
		}

		// Until the thresholds are reached, or MEDIA_TIMEOUT.
		const deadline = Date.now() + MEDIA_TIMEOUT;
		let s = await statsOf(recv, consumers);
		while (Date.now() < deadline) {
			if (s.video && s.video.framesDecoded >= MIN_FRAMES &&
			    s.audio &&
			    s.audio.packetsReceived >= MIN_AUDIO_PACKETS &&
			    checks.video.inOrder >= MIN_FRAMES &&
			    checks.audio.chunks > 100)
				break;
			await sleep(250);
			s = await statsOf(recv, consumers);
		}
		const ps = await statsOf(send);
		const evSend = await waitStates(admin, st.id, 3000);
		const evRecv = await waitStates(admin, rt.id, 1000);

		for (const [who, id, ev] of [['send', st.id, evSend],
		    ['recv', rt.id, evRecv]]) {
			const ice = (ev.icestatechange || []).map(
			    (d) => d.iceState);
			const dtls = (ev.dtlsstatechange || []).map(
			    (d) => d.dtlsState);
			tap.ok(ice.some((x) => x === 'connected' ||
			    x === 'completed'),
			    `${label}: sfud reported the ${who} transport's ` +
			    `iceState connected or completed (${ice})`);
			tap.ok(dtls.includes('connected'),
			    `${label}: sfud reported the ${who} transport's ` +
			    `dtlsState connected (${dtls})`);
			const tuples = ev.iceselectedtuplechange || [];
			const tuple = tuples.length ?
			    tuples[tuples.length - 1].iceSelectedTuple : null;
			const want = variant === 'tcp' ? 'tcp' : 'udp';
			tap.ok(tuple && tuple.protocol === want,
			    `${label}: sfud reported the ${who} transport's ` +
			    `selected tuple, ${want} ` +
			    `(${JSON.stringify(tuple)})`);
			if (DEBUG) {
				const d = await admin.request('transport.dump',
				    null, { handlerId: id });
				tap.diag(`${label} ${who} dump: ` +
				    JSON.stringify(d));
			}
		}
		if (ps.pair)
			tap.diag(`${label}: publisher's candidate pair: ` +
			    `${ps.pair.bytesSent} bytes sent`);

		const v = s.video || {};
		const a = s.audio || {};
		tap.ok(v.framesDecoded >= MIN_FRAMES,
		    `${label}: subscriber decoded ${v.framesDecoded} video ` +
		    `frames (>= ${MIN_FRAMES}; ${vgen.sent} sent, ` +
		    `${v.packetsReceived} packets, ${v.packetsLost} lost)`);
		tap.ok(a.packetsReceived >= MIN_AUDIO_PACKETS,
		    `${label}: subscriber received ${a.packetsReceived} ` +
		    `audio packets (>= ${MIN_AUDIO_PACKETS}, ` +
		    `${a.packetsLost} lost)`);
		const vc = checks.video;
		tap.ok(vc.inOrder >= MIN_FRAMES && vc.last < vgen.sent,
		    `${label}: ${vc.inOrder} of ${vc.frames} decoded frames ` +
		    `show frame numbers sent, in increasing order (sizes ` +
		    `${[...vc.sizes]}; last ${vc.last} of ${vgen.sent} sent; ` +
		    `first read ${vc.numbers.slice(0, 8)})`);
		if (vc.firstAt)
			tap.diag(`${label}: first frame decoded ` +
			    `${vc.firstAt - vc.resumedAt} ms after ` +
			    `consumer.resume (frame ${vc.numbers[0]}, sent ` +
			    `${vgen.sent} in all); the publisher got ` +
			    `${ps.outVideo ? ps.outVideo.pliCount : '?'} PLI, ` +
			    `the subscriber sent ` +
			    `${v.pliCount === undefined ? '?' : v.pliCount}`);
		const rms = checks.audio.rms();
		tap.ok(rms >= MIN_AUDIO_RMS,
		    `${label}: decoded audio is the tone, RMS ` +
		    `${rms.toFixed(0)} (>= ${MIN_AUDIO_RMS}) over ` +
		    `${checks.audio.chunks} chunks`);
		if (DEBUG || tap.failed() > failedBefore)
			await diagStats(admin, label, st.id, rt.id, producers,
			    consumers, send);
	} finally {
		for (const f of cleanup.reverse()) {
			try {
				await f();
			} catch (e) {
				tap.diag(`${label}: cleanup: ${e.message}`);
			}
		}
	}
}

async function main() {
	const dir = tmpDir();
	tap.diag(`logs in ${dir}`);
	let sfud = null;
	let admin = null;
	let ok = false;
	const started = Date.now();
	const timer = setTimeout(() => {
		tap.ok(false, `overall timeout of ${OVERALL_TIMEOUT / 1000} s`);
		if (sfud) {
			tap.diag(sfud.tail(80));
			sfud.killNow();
		}
		tap.diag(`kept ${dir}`);
		tap.done();
		process.exit(1);
	}, OVERALL_TIMEOUT);
	process.on('exit', () => {
		if (sfud)
			sfud.killNow();
	});
	try {
		loadPeers();
		sfud = new Sfud({
			dir, rtcPorts: RTC_PORTS,
			logLevel: DEBUG ? 'debug' : 'info',
			workerConf: DEBUG ? '    log_level debug;\n' +
			    '    log_tags ice dtls rtp rtcp srtp;\n' : '',
		});
		await sfud.start();
		admin = await sfud.connect();
		const r = await admin.request('worker.createRouter',
		    { mediaCodecs: MEDIA_CODECS });
		for (const variant of ['udp', 'tcp', 'server']) {
			try {
				await run(sfud, admin, r.routerId,
				    r.rtpCapabilities, variant);
			} catch (e) {
				tap.ok(false, `${variant}: ${e.message || e}`);
				tap.diag(e.stack || String(e));
			}
		}
		await admin.request('router.close', null,
		    { handlerId: r.routerId });
		ok = true;
	} catch (e) {
		tap.ok(false, `died: ${e.message || e}`);
		tap.diag(e.stack || String(e));
	} finally {
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
		tap.diag(`kept ${dir} (sfud.conf, sfud.log)`);
	} else if (process.env.SFUD_KEEP_TMP) {
		tap.diag(`kept ${dir} (sfud.conf, sfud.log)`);
	} else {
		fs.rmSync(dir, { recursive: true, force: true });
	}
	process.exit(tap.done());
}

main();
