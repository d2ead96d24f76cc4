// SPDX-License-Identifier: MIT
//
// The page side of browser-test.js, bundled with the unmodified
// mediasoup-client by esbuild. The harness exposes
//
//   window.sfudRequest(method, handlerId, data) -> {ok, data} | {ok, error}
//
// (page.exposeFunction: the harness relays it to sfud's admin socket) and
// calls, in order:
//
//   window.sfudTest.setup({routerRtpCapabilities, routerId,
//                          transportData})
//        loads a Device (the handler mediasoup-client detects for this
//        browser), opens the fake camera and microphone, creates a send
//        and a receive WebRtcTransport in sfud, produces both tracks,
//        consumes both back (paused, then resumed) and shows the received
//        video in <video id="remote">; returns the ids;
//   window.sfudTest.stats()    the receivers' inbound-rtp stats and the
//        state of <video id="remote">;
//   window.sfudTest.picture()  luminance statistics of the received
//        video's current frame;
//   window.sfudTest.close()   closes all that, ready for another setup().
'use strict';

const { Device } = require('mediasoup-client');

let state = newState();

function newState() {
	return {
		device: null,
		stream: null,
		send: null,
		recv: null,
		producers: {},
		consumers: {},
	};
}

function log(msg) {
	const line = `[page] ${msg}`;
	console.log(line);
	const el = document.getElementById('log');
	if (el)
		el.textContent += line + '\n';
}

async function sfud(method, handlerId, data) {
	const r = await window.sfudRequest(method, handlerId, data);
	if (!r || !r.ok)
		throw new Error(`${method}: ${r ? r.error : 'no answer'}`);
	return r.data;
}

function wire(transport) {
	transport.on('connect', ({ dtlsParameters }, cb, eb) => {
		log(`${transport.direction} transport: connect`);
		sfud('transport.connect', transport.id, { dtlsParameters })
		    .then(() => cb(), eb);
	});
	transport.on('connectionstatechange', (s) => {
		log(`${transport.direction} transport: ${s}`);
	});
}

async function createTransport(direction, routerId, transportData) {
	const t = await sfud('router.createWebRtcTransport', routerId,
	    transportData);
	const opts = {
		id: t.id,
		iceParameters: t.iceParameters,
		iceCandidates: t.iceCandidates,
		dtlsParameters: t.dtlsParameters,
	};
	const transport = direction === 'send' ?
	    state.device.createSendTransport(opts) :
	    state.device.createRecvTransport(opts);
	wire(transport);
	return { transport, info: t };
}

async function setup({ routerRtpCapabilities, routerId, transportData }) {
	state.device = new Device();
	log(`handler ${state.device.handlerName}`);
	await state.device.load({ routerRtpCapabilities });

	state.stream = await navigator.mediaDevices.getUserMedia({
		video: { width: 320, height: 240, frameRate: 30 },
		audio: true,
	});
	const local = document.getElementById('local');
	local.srcObject = state.stream;

	const s = await createTransport('send', routerId, transportData);
	state.send = s.transport;
	state.send.on('produce', ({ kind, rtpParameters }, cb, eb) => {
		log(`produce ${kind}`);
		sfud('transport.produce', state.send.id,
		    { kind, rtpParameters, paused: false })
		    .then((d) => cb({ id: d.id }), eb);
	});
	for (const track of state.stream.getTracks()) {
		state.producers[track.kind] = await state.send.produce(
		    { track });
	}

	const r = await createTransport('recv', routerId, transportData);
	state.recv = r.transport;
	const consumed = {};
	for (const kind of ['video', 'audio']) {
		const c = await sfud('transport.consume', state.recv.id, {
			producerId: state.producers[kind].id,
			rtpCapabilities: state.device.rtpCapabilities,
			paused: true,
		});
		state.consumers[kind] = await state.recv.consume({
			id: c.id,
			producerId: c.producerId,
			kind: c.kind,
			rtpParameters: c.rtpParameters,
		});
		consumed[kind] = { id: c.id, paused: c.paused,
		    mimeType: c.rtpParameters.codecs[0].mimeType };
		await sfud('consumer.resume', c.id);
		log(`consuming ${kind} (${consumed[kind].mimeType})`);
	}
	const remote = document.getElementById('remote');
	remote.srcObject = new MediaStream([state.consumers.video.track]);
	await remote.play().catch((e) => log(`play: ${e.message}`));
	// Chromium decodes received audio only for a sink that plays it.
	const audio = document.getElementById('remote-audio');
	audio.srcObject = new MediaStream([state.consumers.audio.track]);
	await audio.play().catch((e) => log(`play audio: ${e.message}`));

	return {
		handlerName: state.device.handlerName,
		sendTransport: s.info,
		recvTransport: r.info,
		producers: {
			video: state.producers.video.id,
			audio: state.producers.audio.id,
		},
		consumers: consumed,
	};
}

async function stats() {
	const out = { video: null, audio: null, element: null };
	for (const kind of ['video', 'audio']) {
		const c = state.consumers[kind];
		if (!c)
			continue;
		const ssrc = c.rtpParameters.encodings[0].ssrc;
		const report = await c.getStats();
		report.forEach((s) => {
			if (s.type === 'inbound-rtp' && s.ssrc === ssrc)
				out[kind] = {
					packetsReceived: s.packetsReceived,
					packetsLost: s.packetsLost,
					bytesReceived: s.bytesReceived,
					framesDecoded: s.framesDecoded,
					frameWidth: s.frameWidth,
					frameHeight: s.frameHeight,
					keyFramesDecoded: s.keyFramesDecoded,
					totalSamplesReceived:
					    s.totalSamplesReceived,
					concealedSamples: s.concealedSamples,
					totalAudioEnergy: s.totalAudioEnergy,
					pliCount: s.pliCount,
					nackCount: s.nackCount,
				};
		});
	}
	const v = document.getElementById('remote');
	out.element = { videoWidth: v.videoWidth, videoHeight: v.videoHeight,
	    currentTime: v.currentTime, readyState: v.readyState,
	    paused: v.paused };
	return out;
}

// The luma of a <video>'s current frame, scaled to w x h.
function luma(video, w, h) {
	const canvas = document.createElement('canvas');
	canvas.width = w;
	canvas.height = h;
	const ctx = canvas.getContext('2d', { willReadFrequently: true });
	ctx.drawImage(video, 0, 0, w, h);
	const px = ctx.getImageData(0, 0, w, h).data;
	const y = new Float32Array(w * h);
	for (let i = 0, j = 0; i < px.length; i += 4, j++)
		y[j] = 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
	return y;
}

// The received frame: mean and standard deviation of its luma, how many
// of 16 luma buckets its pixels fall in, and the mean absolute luma
// difference to the local camera's current frame (the same picture, a
// few frames apart: its clock digits and moving pie differ).
function picture() {
	const remote = document.getElementById('remote');
	const local = document.getElementById('local');
	const w = remote.videoWidth;
	const h = remote.videoHeight;
	if (!w || !h)
		return null;
	const r = luma(remote, w, h);
	const l = luma(local, w, h);
	let sum = 0;
	let sq = 0;
	let diff = 0;
	const buckets = new Array(16).fill(0);
	const n = w * h;
	for (let i = 0; i < n; i++) {
		sum += r[i];
		sq += r[i] * r[i];
		diff += Math.abs(r[i] - l[i]);
		buckets[Math.min(15, Math.floor(r[i] / 16))]++;
	}
	const mean = sum / n;
	return {
		width: w, height: h,
		mean: Math.round(mean * 10) / 10,
		stddev: Math.round(Math.sqrt(Math.max(0,
		    sq / n - mean * mean)) * 10) / 10,
		levels: buckets.filter((b) => b > n / 1000).length,
		diffToLocal: Math.round(diff / n * 10) / 10,
	};
}

function close() {
	for (const c of Object.values(state.consumers))
		c.close();
	for (const p of Object.values(state.producers))
		p.close();
	if (state.send)
		state.send.close();
	if (state.recv)
		state.recv.close();
	if (state.stream)
		state.stream.getTracks().forEach((t) => t.stop());
	for (const id of ['local', 'remote', 'remote-audio'])
		document.getElementById(id).srcObject = null;
	state = newState();
	log('closed');
}

window.sfudTest = { setup, stats, picture, close };
log('bundle loaded');
