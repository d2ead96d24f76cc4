// SPDX-License-Identifier: MIT
//
// A real sfud for the WebRTC end-to-end tests, and a client for its admin
// socket (docs/protocol.md):
//
//   const { Sfud } = require('./lib/sfud');
//   const sfud = new Sfud({ dir, rtcPorts: '44000-44999' });
//   await sfud.start();              // writes sfud.conf, waits for the socket
//   const admin = await sfud.connect();
//   const { routerId, rtpCapabilities } =
//       await admin.request('worker.createRouter', { mediaCodecs });
//   admin.on('notification', (n) => ...);   // {targetId, event, data}
//   ...
//   admin.close();
//   await sfud.stop();               // SIGTERM, then SIGKILL; by pid
//   sfud.tail(60);                   // the end of sfud.log and stderr
//
// Framing: a 4-byte big-endian length, then one MessagePack map. Requests
// are {id, method, handlerId?, worker?, data?}; a response is {id,
// accepted, data?} or {id, error, reason}; anything with a targetId is a
// notification. request() resolves with the response's data (or {}), or
// rejects with an SfudError carrying .error and .reason. Nothing here
// waits without a deadline.
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');
const { EventEmitter } = require('events');
const msgpack = require('@msgpack/msgpack');

const FRAME_MAX = 4 * 1024 * 1024;
const DEFAULT_TIMEOUT = 10000;

class SfudError extends Error {
	constructor(method, error, reason) {
		super(`${method}: ${error}: ${reason}`);
		this.name = 'SfudError';
		this.error = error;
		this.reason = reason;
	}
}

function encodeFrame(obj) {
	const body = msgpack.encode(obj, { ignoreUndefined: true });
	const head = Buffer.alloc(4);
	head.writeUInt32BE(body.length, 0);
	return Buffer.concat([head, Buffer.from(body.buffer,
	    body.byteOffset, body.byteLength)]);
}

class AdminClient extends EventEmitter {
	constructor(sock) {
		super();
		this.sock = sock;
		this.buf = Buffer.alloc(0);
		this.nextId = 1;
		this.pending = new Map();	// id -> {resolve, reject, ...}
		this.notifications = [];	// every one received, in order
		this.closed = false;
		sock.on('data', (d) => this._onData(d));
		sock.on('close', () => this._onClose(
		    new Error('admin socket closed')));
		sock.on('error', (e) => this._onClose(e));
	}

	static connect(sockPath, timeout = DEFAULT_TIMEOUT) {
		return new Promise((resolve, reject) => {
			const sock = net.createConnection(sockPath);
			const timer = setTimeout(() => {
				sock.destroy();
				reject(new Error(
				    `connect ${sockPath}: timeout`));
			}, timeout);
			sock.once('connect', () => {
				clearTimeout(timer);
				sock.removeAllListeners('error');
				resolve(new AdminClient(sock));
			});
			sock.once('error', (e) => {
				clearTimeout(timer);
				reject(e);
			});
		});
	}

	_onData(d) {
		this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
		while (this.buf.length >= 4) {
			const n = this.buf.readUInt32BE(0);
			if (n > FRAME_MAX) {
				this._onClose(new Error(
				    `admin: frame of ${n} bytes`));
				this.sock.destroy();
				return;
			}
			if (this.buf.length < 4 + n)
				break;
			const body = this.buf.subarray(4, 4 + n);
			this.buf = this.buf.subarray(4 + n);
			let msg;
			try {
				msg = msgpack.decode(body);
			} catch (e) {
				this.emit('protocolError', e);
				continue;
			}
			this._onMessage(msg);
		}
	}

	_onMessage(msg) {
		if (msg === null || typeof msg !== 'object')
			return;
		if ('targetId' in msg) {
			this.notifications.push(msg);
			this.emit('notification', msg);
			return;
		}
		const p = this.pending.get(msg.id);
		if (!p)
			return;
		this.pending.delete(msg.id);
		clearTimeout(p.timer);
		p.resolve(msg);
	}

	_onClose(err) {
		if (this.closed)
			return;
		this.closed = true;
		for (const p of this.pending.values()) {
			clearTimeout(p.timer);
			p.reject(err);
		}
		this.pending.clear();
		this.emit('close', err);
	}

	// The whole response: {id, accepted, data} or {id, error, reason}.
	send(method, data, { handlerId, worker, timeout } = {}) {
		if (this.closed)
			return Promise.reject(new Error(
			    `${method}: admin socket closed`));
		const id = this.nextId;
		this.nextId = (this.nextId + 1) >>> 0 || 1;
		const msg = { id, method };
		if (handlerId !== undefined)
			msg.handlerId = handlerId;
		if (worker !== undefined)
			msg.worker = worker;
		if (data !== undefined && data !== null)
			msg.data = data;
		return new Promise((resolve, reject) => {
			const timer = setTimeout(() => {
				this.pending.delete(id);
				reject(new Error(
				    `${method}: no answer within ` +
				    `${timeout || DEFAULT_TIMEOUT} ms`));
			}, timeout || DEFAULT_TIMEOUT);
			this.pending.set(id, { resolve, reject, timer });
			this.sock.write(encodeFrame(msg));
		});
	}

	// The response's data; rejects with SfudError unless accepted.
	async request(method, data, opts = {}) {
		const r = await this.send(method, data, opts);
		if (!r.accepted)
			throw new SfudError(method, r.error, r.reason);
		return r.data || {};
	}

	// Resolves with the first notification (already received, or to
	// come) for which pred(msg) is true; rejects after timeout ms.
	waitNotification(pred, timeout = DEFAULT_TIMEOUT, what = 'event') {
		const seen = this.notifications.find(pred);
		if (seen)
			return Promise.resolve(seen);
		return new Promise((resolve, reject) => {
			const on = (msg) => {
				if (!pred(msg))
					return;
				clearTimeout(timer);
				this.removeListener('notification', on);
				resolve(msg);
			};
			const timer = setTimeout(() => {
				this.removeListener('notification', on);
				reject(new Error(
				    `no ${what} within ${timeout} ms`));
			}, timeout);
			this.on('notification', on);
		});
	}

	close() {
		this.closed = true;
		for (const p of this.pending.values())
			clearTimeout(p.timer);
		this.pending.clear();
		this.sock.destroy();
	}
}

function srcDir() {
	return path.resolve(__dirname, '..', '..', '..', '..');
}

function buildDir() {
	return process.env.SFUD_BUILDDIR || path.join(srcDir(), 'build');
}

function sleep(ms) {
	return new Promise((r) => setTimeout(r, ms));
}

function pidAlive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (e) {
		return e.code === 'EPERM';
	}
}

class Sfud {
	// dir: a fresh directory for sfud.conf, .log, .sock, .pid.
	// rtcPorts: "MIN-MAX" for the worker. logLevel: error_log's level;
	// workerConf: extra lines for the worker block.
	constructor({ dir, rtcPorts = '44000-44999', logLevel = 'info',
	    workerConf = '' }) {
		this.dir = dir;
		this.bin = path.join(buildDir(), 'src', 'master', 'sfud');
		this.workerBin = path.join(buildDir(), 'src', 'worker',
		    'sfud-worker');
		this.confPath = path.join(dir, 'sfud.conf');
		this.sockPath = path.join(dir, 'sfud.sock');
		this.pidPath = path.join(dir, 'sfud.pid');
		this.logPath = path.join(dir, 'sfud.log');
		this.stderrPath = path.join(dir, 'sfud.stderr');
		this.rtcPorts = rtcPorts;
		this.logLevel = logLevel;
		this.workerConf = workerConf;
		this.proc = null;
		this.exit = null;	// {code, signal} once it exited
		this.workerPids = new Set();
		this.stopped = false;	// stop() or killNow() done
	}

	confText() {
		return `# written by ${path.basename(process.argv[1])}
daemon off;
pid ${this.pidPath};
error_log ${this.logPath} ${this.logLevel};
worker_processes 1;
admin {
    listen ${this.sockPath};
}
worker {
    rtc_ports ${this.rtcPorts};
${this.workerConf}
}
`;
	}

	async start(timeout = 10000) {
		for (const f of [this.bin, this.workerBin])
			fs.accessSync(f, fs.constants.X_OK);
		fs.writeFileSync(this.confPath, this.confText());
		const err = fs.openSync(this.stderrPath, 'a');
		this.proc = spawn(this.bin, ['-c', this.confPath], {
			stdio: ['ignore', err, err],
			env: { ...process.env,
			    SFUD_WORKER_BIN: this.workerBin },
		});
		fs.closeSync(err);
		this.proc.on('exit', (code, signal) => {
			this.exit = { code, signal };
		});
		const deadline = Date.now() + timeout;
		for (;;) {
			try {
				const c = await AdminClient.connect(
				    this.sockPath, 1000);
				await this._waitWorker(c, deadline);
				c.close();
				return;
			} catch (e) {
				if (this.exit)
					throw new Error('sfud exited (' +
					    JSON.stringify(this.exit) +
					    ') before it was ready:\n' +
					    this.tail(30));
				if (Date.now() >= deadline)
					throw new Error('sfud not ready ' +
					    `within ${timeout} ms ` +
					    `(${e.message}):\n` +
					    this.tail(30));
			}
			await sleep(50);
		}
	}

	// Waits until master.workers shows one running worker.
	async _waitWorker(c, deadline) {
		for (;;) {
			const r = await c.request('master.workers');
			const ws = r.workers || [];
			for (const w of ws)
				if (Number.isInteger(w.pid))
					this.workerPids.add(w.pid);
			if (ws.length === 1 && ws[0].state === 'running')
				return;
			if (Date.now() >= deadline)
				throw new Error('no running worker: ' +
				    JSON.stringify(ws));
			await sleep(50);
		}
	}

	connect(timeout) {
		return AdminClient.connect(this.sockPath, timeout);
	}

	log() {
		try {
			return fs.readFileSync(this.logPath, 'utf8');
		} catch (e) {
			return '';
		}
	}

	stderr() {
		try {
			return fs.readFileSync(this.stderrPath, 'utf8');
		} catch (e) {
			return '';
		}
	}

	// Lines of the log and stderr that tell of a crash: a worker that
	// died or was respawned, a sanitizer's report.
	crashLines() {
		return (this.log() + '\n' + this.stderr()).split('\n').filter(
		    (l) => /exited on signal|respawn|Sanitizer|runtime error/
		    .test(l));
	}

	tail(n = 40) {
		const err = this.stderr();
		const last = (s) => s.split('\n').filter((l) => l !== '')
		    .slice(-n);
		return [`--- ${this.logPath}`, ...last(this.log()),
		    '--- stderr', ...last(err)].join('\n');
	}

	// SIGTERM, up to timeout ms, then SIGKILL; then the workers it
	// left. Returns {code, signal} of the master, or null.
	async stop(timeout = 5000) {
		if (!this.proc || this.stopped)
			return this.exit;
		for (const m of this.log().matchAll(
		    /worker \d+ pid (\d+) (?:started|running)/g))
			this.workerPids.add(Number(m[1]));
		if (!this.exit) {
			try {
				process.kill(this.proc.pid, 'SIGTERM');
			} catch (e) {
				// already gone
			}
			const deadline = Date.now() + timeout;
			while (!this.exit && Date.now() < deadline)
				await sleep(20);
			if (!this.exit) {
				try {
					process.kill(this.proc.pid, 'SIGKILL');
				} catch (e) {
					// already gone
				}
				const d2 = Date.now() + 2000;
				while (!this.exit && Date.now() < d2)
					await sleep(20);
			}
		}
		const d3 = Date.now() + 3000;
		for (const pid of this.workerPids) {
			while (pidAlive(pid) && Date.now() < d3)
				await sleep(20);
			if (pidAlive(pid)) {
				try {
					process.kill(pid, 'SIGKILL');
				} catch (e) {
					// already gone
				}
			}
		}
		this.stopped = true;
		return this.exit;
	}

	// Synchronous last resort (process 'exit' handler): SIGKILL the
	// master and the workers seen.
	killNow() {
		if (this.stopped)
			return;
		this.stopped = true;
		if (this.proc && !this.exit) {
			try {
				process.kill(this.proc.pid, 'SIGKILL');
			} catch (e) {
				// already gone
			}
		}
		for (const pid of this.workerPids) {
			try {
				process.kill(pid, 'SIGKILL');
			} catch (e) {
				// already gone
			}
		}
	}
}

module.exports = { AdminClient, Sfud, SfudError, buildDir, srcDir, sleep };
