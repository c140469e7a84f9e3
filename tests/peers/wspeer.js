// wspeer.js - WebSocket peers on node's ws (Debian's node-ws) for
// interop.bats; run with NODE_PATH=/usr/share/nodejs.
//
//   node wspeer.js client URL
//       the interop exchange against an echo server without prefix: text,
//       binary, fragmented, 1 MiB and compressed messages, then a close
//       with 4000 "bye"; one line each, as wspeer.py prints them
//   node wspeer.js server
//       an echo server on 127.0.0.1, port 0 printed alone on stderr; "?ext"
//       answers the Sec-WebSocket-Extensions it sent, "close-me" gets a
//       close with 4001 "as asked"
//
// Every wait is bounded (BOUND_MS).
'use strict';

const crypto = require('crypto');
const WebSocket = require('ws');

const BOUND_MS = 20000;

function out(line) {
	process.stdout.write(line + '\n');
}

function client(url) {
	const ws = new WebSocket(url, { perMessageDeflate: true,
		maxPayload: 1 << 24 });
	const queue = [];
	let waiter = null;

	ws.on('message', (data, isBinary) => {
		const m = { data, isBinary };

		if (waiter !== null) {
			const w = waiter;

			waiter = null;
			w(m);
		} else {
			queue.push(m);
		}
	});
	const next = () => new Promise((resolve) => {
		if (queue.length > 0)
			resolve(queue.shift());
		else
			waiter = resolve;
	});
	ws.on('open', async () => {
		let m;

		out('extensions: ' + ws.extensions);
		ws.send('Hello, world');
		m = await next();
		out('text: ' + m.data.toString());
		const bin = Buffer.from([...Array(256).keys()]);
		ws.send(bin);
		m = await next();
		out('binary: ' + (m.isBinary && bin.equals(m.data) ? 'ok' :
		    'WRONG'));
		ws.send('frag', { fin: false });
		ws.send('men', { fin: false });
		ws.send('ted', { fin: true });
		m = await next();
		out('fragmented: ' + m.data.toString());
		const big = crypto.randomBytes(1 << 20);
		ws.send(big);
		m = await next();
		out('1 MiB: ' + (big.equals(m.data) ? 'ok' : 'WRONG'));
		const text = 'compress me '.repeat(10000);
		ws.send(text);
		m = await next();
		out('compressed: ' + (m.data.toString() === text ? 'ok' :
		    'WRONG'));
		ws.close(4000, 'bye');
	});
	ws.on('close', (code) => {
		out('closed ' + code);
		process.exit(0);
	});
	ws.on('error', (e) => {
		out('error: ' + e.message);
		process.exit(1);
	});
}

function server() {
	const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0,
		perMessageDeflate: true, maxPayload: 1 << 24 });

	wss.on('headers', (headers, req) => {
		const ext = headers.find((h) =>
		    /^Sec-WebSocket-Extensions:/i.test(h));

		req.extensions = ext ? ext.replace(/^[^:]*:\s*/, '') : '';
	});
	wss.on('listening', () => {
		process.stderr.write(wss.address().port + '\n');
	});
	wss.on('connection', (ws, req) => {
		ws.on('message', (data, isBinary) => {
			const text = isBinary ? null : data.toString();

			if (text === '?ext')
				ws.send(req.extensions);
			else if (text === 'close-me')
				ws.close(4001, 'as asked');
			else
				ws.send(data, { binary: isBinary });
		});
	});
}

const [cmd, arg] = process.argv.slice(2);

if (cmd === 'client') {
	setTimeout(() => {
		out('timed out');
		process.exit(1);
	}, BOUND_MS).unref();
	client(arg);
} else if (cmd === 'server') {
	server();
} else {
	process.stderr.write('wspeer.js: unknown command ' + cmd + '\n');
	process.exit(2);
}
