// cdp-eval.js - load a page in headless Chromium and read a value from it
// over the DevTools protocol, for browser.bats.  Node's standard library
// only.
//
//   node cdp-eval.js URL EXPR [TIMEOUT_MS]
//
// Starts /usr/bin/chromium (or $CHROMIUM) headless with a fresh profile
// and --remote-debugging-pipe: commands go to its fd 3 and replies come
// from its fd 4, one NUL-terminated JSON message each, so no port is
// needed.  Opens URL, evaluates EXPR every 50 ms until it is truthy (or
// TIMEOUT_MS, default 10000, passed), prints the last value and asks the
// browser to close; SIGKILL by PID if it has not exited 5 s later.  The
// profile is removed once Chromium is gone.  Exit 0 when EXPR became
// truthy, 1 otherwise.  Chromium's PID goes to stderr ("chromium pid N"),
// its own chatter to $CHROMIUM_LOG (default /dev/null).
'use strict';

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [url, expr, timeoutArg] = process.argv.slice(2);
const timeoutMs = Number(timeoutArg || 10000);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'whirl-chromium-'));
const log = fs.openSync(process.env.CHROMIUM_LOG || '/dev/null', 'a');
const chromium = spawn(process.env.CHROMIUM || '/usr/bin/chromium', [
	'--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
	'--no-first-run', '--disable-background-networking',
	'--disable-component-update', '--disable-sync',
	'--user-data-dir=' + profile, '--remote-debugging-pipe', 'about:blank'
], { stdio: ['ignore', log, log, 'pipe', 'pipe'] });
let status = 1;
let lastId = 0;
let input = '';
const waiting = new Map();

process.stderr.write('chromium pid ' + chromium.pid + '\n');

chromium.stdio[4].on('data', (chunk) => {
	let nul;

	input += chunk;
	while ((nul = input.indexOf('\0')) >= 0) {
		const msg = JSON.parse(input.slice(0, nul));

		input = input.slice(nul + 1);
		if (waiting.has(msg.id)) {
			waiting.get(msg.id)(msg);
			waiting.delete(msg.id);
		}
	}
});

// One command; its result, or a rejection with the protocol's error.
function command(method, params, sessionId) {
	return new Promise((resolve, reject) => {
		const id = ++lastId;

		waiting.set(id, (msg) => msg.error ?
		    reject(new Error(method + ': ' + msg.error.message)) :
		    resolve(msg.result));
		chromium.stdio[3].write(JSON.stringify({ id, method,
		    params: params || {}, sessionId }) + '\0');
	});
}

function sleep(ms) {
	return new Promise((resolve) => setTimeout(resolve, ms));
}

async function run() {
	const { targetId } = await command('Target.createTarget', { url });
	const { sessionId } = await command('Target.attachToTarget',
	    { targetId, flatten: true });
	const deadline = Date.now() + timeoutMs;
	let value;

	for (;;) {
		const r = await command('Runtime.evaluate',
		    { expression: expr, returnByValue: true }, sessionId);

		value = r.result.value;
		if (value) {
			status = 0;
			break;
		}
		if (Date.now() > deadline)
			break;
		await sleep(50);
	}
	process.stdout.write((value === undefined ? '' : String(value)) + '\n');
}

function stop() {
	command('Browser.close').catch(() => {});
	setTimeout(() => chromium.kill('SIGKILL'), 5000).unref();
}

chromium.on('exit', () => {
	try {
		fs.rmSync(profile, { recursive: true, force: true,
		    maxRetries: 5 });
	} catch (e) {
		process.stderr.write('cdp-eval: ' + e.message + '\n');
	}
	process.exit(status);
});
setTimeout(() => {
	process.stderr.write('cdp-eval: no answer from Chromium\n');
	stop();
}, timeoutMs + 20000).unref();
run().catch((e) => process.stderr.write('cdp-eval: ' + e.message + '\n'))
    .finally(stop);
