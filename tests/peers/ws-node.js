// ws-node.js - Node's ws library as a peer for whirl-ws's tests.
//
//   NODE_PATH=/usr/share/nodejs node ws-node.js
//
// An echo server (permessage-deflate on) on 127.0.0.1 port 0 that prints
// the port alone on stderr; on /extensions it first sends the extensions
// agreed ("none" without).
'use strict';
const { WebSocketServer } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0,
  perMessageDeflate: { threshold: 0 } });
wss.on('listening', () => process.stderr.write(wss.address().port + '\n'));
wss.on('connection', (ws, req) => {
  if (req.url === '/extensions')
    ws.send(ws.extensions || 'none');
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
