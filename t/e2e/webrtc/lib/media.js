// SPDX-License-Identifier: MIT
//
// Synthetic media for @roamhq/wrtc peers, and checks of what comes out.
//
// Video: 320x240 I420 frames at 30 fps. Frame n shows n (mod 2^BITS) as
// BITS vertical stripes, most significant first, each black (0) or white
// (1): a VP8 encoder at any bitrate keeps that, and a receiver reads the
// number back from the centre of each stripe (at any resolution, should
// the sender scale down). VideoCheck counts the frames a sink decoded and
// how many of them carry a number that was sent, in increasing order.
//
// Audio: a 440 Hz sine at 48 kHz, mono, fed in 10 ms chunks. AudioCheck
// measures the RMS of what a sink receives.
'use strict';

const wrtc = require('@roamhq/wrtc');

const { RTCVideoSource, RTCAudioSource, RTCVideoSink, RTCAudioSink } =
    wrtc.nonstandard;

const WIDTH = 320;
const HEIGHT = 240;
const FPS = 30;
const BITS = 10;
const BLACK = 16;
const WHITE = 235;
const RATE = 48000;
const TONE_HZ = 440;
const AMPLITUDE = 8000;

function stripeFrame(n) {
	const data = new Uint8ClampedArray(WIDTH * HEIGHT * 3 / 2);
	const sw = WIDTH / BITS;
	const row = new Uint8ClampedArray(WIDTH);
	for (let b = 0; b < BITS; b++) {
		const bit = (n >> (BITS - 1 - b)) & 1;
		row.fill(bit ? WHITE : BLACK, Math.round(b * sw),
		    Math.round((b + 1) * sw));
	}
	for (let y = 0; y < HEIGHT; y++)
		data.set(row, y * WIDTH);
	data.fill(128, WIDTH * HEIGHT);		// U and V: grey
	return { width: WIDTH, height: HEIGHT, data };
}

// The number shown in an I420 frame {width, height, data}, read along
// the middle row.
function readStripes(frame) {
	const { width, height, data } = frame;
	const y = Math.floor(height / 2);
	let n = 0;
	for (let b = 0; b < BITS; b++) {
		const x = Math.floor((b + 0.5) * width / BITS);
		n = (n << 1) | (data[y * width + x] >= 128 ? 1 : 0);
	}
	return n;
}

class VideoGenerator {
	constructor() {
		this.source = new RTCVideoSource();
		this.track = this.source.createTrack();
		this.sent = 0;
		this.timer = null;
	}

	start() {
		const t0 = Date.now();
		this.timer = setInterval(() => {
			// Catch up on late timers, but never burst.
			const due = Math.floor((Date.now() - t0) * FPS / 1000);
			if (this.sent <= due) {
				this.source.onFrame(stripeFrame(
				    this.sent % (1 << BITS)));
				this.sent++;
			}
		}, Math.floor(1000 / FPS / 2));
	}

	stop() {
		clearInterval(this.timer);
		this.timer = null;
		this.track.stop();
	}
}

class AudioGenerator {
	constructor() {
		this.source = new RTCAudioSource();
		this.track = this.source.createTrack();
		this.chunks = 0;
		this.timer = null;
	}

	start() {
		const t0 = Date.now();
		const per = RATE / 100;
		this.timer = setInterval(() => {
			const due = Math.floor((Date.now() - t0) / 10);
			let burst = 0;
			while (this.chunks <= due && burst++ < 5) {
				const samples = new Int16Array(per);
				const first = this.chunks * per;
				for (let i = 0; i < per; i++) {
					const w = 2 * Math.PI * TONE_HZ *
					    (first + i) / RATE;
					samples[i] = Math.round(AMPLITUDE *
					    Math.sin(w));
				}
				this.source.onData({ samples, sampleRate: RATE,
				    bitsPerSample: 16, channelCount: 1,
				    numberOfFrames: per });
				this.chunks++;
			}
		}, 5);
	}

	stop() {
		clearInterval(this.timer);
		this.timer = null;
		this.track.stop();
	}
}

class VideoCheck {
	constructor(track) {
		this.sink = new RTCVideoSink(track);
		this.frames = 0;	// frames the sink got
		this.inOrder = 0;	// of them, carrying a number > the last
		this.last = -1;
		this.sizes = new Set();
		this.numbers = [];	// the first few numbers read
		this.firstAt = 0;	// Date.now() of the first frame
		this.sink.onframe = ({ frame }) => this._frame(frame);
	}

	_frame(frame) {
		if (this.frames++ === 0)
			this.firstAt = Date.now();
		this.sizes.add(`${frame.width}x${frame.height}`);
		const n = readStripes(frame);
		if (this.numbers.length < 20)
			this.numbers.push(n);
		if (n > this.last) {
			this.inOrder++;
			this.last = n;
		}
	}

	stop() {
		this.sink.stop();
	}
}

class AudioCheck {
	constructor(track) {
		this.sink = new RTCAudioSink(track);
		this.chunks = 0;
		this.sumSquares = 0;
		this.samples = 0;
		this.sampleRate = 0;
		this.sink.ondata = (d) => this._data(d);
	}

	_data(d) {
		this.chunks++;
		this.sampleRate = d.sampleRate;
		// Skip the first half second: decoders start with silence.
		if (this.chunks <= 50)
			return;
		const s = d.samples;
		const ch = d.channelCount || 1;
		for (let i = 0; i < s.length; i += ch) {
			this.sumSquares += s[i] * s[i];
			this.samples++;
		}
	}

	rms() {
		if (!this.samples)
			return 0;
		return Math.sqrt(this.sumSquares / this.samples);
	}

	stop() {
		this.sink.stop();
	}
}

module.exports = {
	VideoGenerator, AudioGenerator, VideoCheck, AudioCheck,
	stripeFrame, readStripes,
	WIDTH, HEIGHT, FPS, BITS, AMPLITUDE,
};
