// SPDX-License-Identifier: MIT
//
// A tiny TAP producer (the same output as t/lib/tap.py):
//
//   const tap = require('./lib/tap');
//   tap.ok(cond, 'name');  tap.is(got, want, 'name');
//   tap.diag('comment');   tap.skipAll('reason');   // exits 0
//   tap.done();            // prints the plan, returns the exit code
//
// Everything goes to stdout, diagnostics as "# " lines.
'use strict';

let count = 0;
let failed = 0;
let planned = false;

function out(line) {
	process.stdout.write(line + '\n');
}

function clean(name) {
	return String(name).replace(/\\/g, '\\\\').replace(/#/g, '\\#')
	    .split('\n').join(' ');
}

function diag(msg) {
	for (const line of String(msg).split('\n'))
		out('# ' + line);
}

function ok(cond, name) {
	count++;
	if (!cond)
		failed++;
	out(`${cond ? 'ok' : 'not ok'} ${count} - ${clean(name)}`);
	return !!cond;
}

function is(got, want, name) {
	const g = JSON.stringify(got);
	const w = JSON.stringify(want);
	const r = ok(g === w, name);
	if (!r) {
		diag(`     got: ${g}`);
		diag(`expected: ${w}`);
	}
	return r;
}

function skipAll(reason) {
	planned = true;
	out(`1..0 # SKIP ${clean(reason)}`);
	process.exit(0);
}

// Prints the plan; returns the exit code (1 if anything failed or nothing
// ran).
function done() {
	if (!planned) {
		planned = true;
		out(`1..${count}`);
	}
	return failed > 0 || count === 0 ? 1 : 0;
}

module.exports = {
	ok, is, diag, skipAll, done,
	failed: () => failed,
	count: () => count,
};
