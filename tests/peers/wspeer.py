# wspeer.py - WebSocket peers in Python for serve.bats and interop.bats
# (Debian's /usr/bin/python3 with python3-websockets and python3-tornado).
#
#   wspeer.py talk URL [--origin O] [--no-deflate] [--wait-close] MSG...
#       send each MSG ("b:HEX" is a binary one) and print the reply to it
#       (binary as "b:HEX"); then close with 1000, or with --wait-close
#       print what else comes until the server closes; last line
#       "closed CODE REASON"
#   wspeer.py handshake URL [--no-deflate] [ORIGIN...]
#       one handshake per ORIGIN ("-": no Origin header; none given: one
#       without): "101 EXTENSIONS" (the server's answer, "-" for none),
#       or "refused STATUS"
#   wspeer.py first URL
#       print the first message, then close with 1000 (and print that)
#   wspeer.py hold URL
#       say "hi", print the reply and "open", then wait for the server to
#       close: "closed CODE REASON"
#   wspeer.py room URL N SIZE
#       ws-broadcast: three clients read everything while a slow one (a
#       tiny receive buffer, reading nothing) falls behind; the first
#       client sends N binary messages of SIZE bytes, each after its own
#       copy came back.  Prints what each client got, then what the slow
#       one finds in its socket: its close frame's code.
#   wspeer.py client-websockets URL | client-tornado URL
#       the interop exchange against an echo server without prefix:
#       text, binary, fragmented, 1 MiB, compressed, then a close
#   wspeer.py server-websockets | server-tornado
#       an echo server on 127.0.0.1, port 0, printed alone on stderr;
#       "?ext" answers the extensions agreed, "close-me" gets a close with
#       4001 "as asked"
#
# Every wait is bounded (BOUND seconds).
import asyncio
import base64
import os
import socket
import struct
import sys

BOUND = 20.0


def out(*args):
    print(*args, flush=True)


def show(msg):
    return 'b:' + msg.hex() if isinstance(msg, bytes) else msg


def parse(arg):
    return bytes.fromhex(arg[2:]) if arg.startswith('b:') else arg


def options(argv):
    opts, rest = {'origin': None, 'deflate': True, 'wait': False}, []
    it = iter(argv)
    for a in it:
        if a == '--origin':
            opts['origin'] = next(it)
        elif a == '--no-deflate':
            opts['deflate'] = False
        elif a == '--wait-close':
            opts['wait'] = True
        else:
            rest.append(a)
    return opts, rest


def connect(url, opts=None, **kw):
    import websockets
    opts = opts or {'origin': None, 'deflate': True}
    return websockets.connect(url, origin=opts['origin'],
                              compression='deflate' if opts['deflate']
                              else None, max_size=2 ** 24,
                              ping_interval=None, open_timeout=BOUND,
                              close_timeout=BOUND, **kw)


async def talk(url, argv):
    import websockets
    opts, msgs = options(argv)
    async with connect(url, opts) as ws:
        try:
            for m in msgs:
                await ws.send(parse(m))
                out(show(await asyncio.wait_for(ws.recv(), BOUND)))
            while opts['wait']:
                out(show(await asyncio.wait_for(ws.recv(), BOUND)))
        except websockets.ConnectionClosed:
            pass
    out('closed', ws.close_code, ws.close_reason)


async def handshake(url, argv):
    import websockets
    opts, origins = options(argv)
    for origin in origins or ['-']:
        opts['origin'] = None if origin == '-' else origin
        try:
            async with connect(url, opts) as ws:
                out('101', ws.response_headers.get(
                    'Sec-WebSocket-Extensions', '-'))
        except websockets.InvalidStatusCode as e:
            out('refused', e.status_code)


async def first(url):
    async with connect(url) as ws:
        out(show(await asyncio.wait_for(ws.recv(), BOUND)))
    out('closed', ws.close_code, ws.close_reason)


async def hold(url):
    import websockets
    async with connect(url) as ws:
        await ws.send('hi')
        out(await asyncio.wait_for(ws.recv(), BOUND))
        out('open')
        try:
            while True:
                out(show(await asyncio.wait_for(ws.recv(), BOUND)))
        except websockets.ConnectionClosed:
            pass
    out('closed', ws.close_code, ws.close_reason)


def raw_handshake(host, port, path):
    """A client socket with a small receive buffer that never reads."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(BOUND)
    s.connect((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(('GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n'
               'Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n'
               'Sec-WebSocket-Version: 13\r\n\r\n' %
               (path, host, port, key)).encode())
    head = b''
    while b'\r\n\r\n' not in head:
        head += s.recv(1)
    assert head.startswith(b'HTTP/1.1 101 '), head
    return s


def close_code_in(s):
    """Read frames until the close frame; its code."""
    buf = b''
    s.settimeout(BOUND)

    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise EOFError
            buf += chunk
    while True:
        need(2)
        op, ln, hl = buf[0] & 15, buf[1] & 127, 2
        if ln == 126:
            need(4)
            ln, hl = struct.unpack('!H', buf[2:4])[0], 4
        elif ln == 127:
            need(10)
            ln, hl = struct.unpack('!Q', buf[2:10])[0], 10
        need(hl + ln)
        if op == 8:
            return struct.unpack('!H', buf[hl:hl + 2])[0]
        buf = buf[hl + ln:]


async def room(url, n, size):
    from urllib.parse import urlparse
    u = urlparse(url)
    slow = raw_handshake(u.hostname, u.port, u.path)
    clients = [await connect(url, {'origin': None, 'deflate': False})
               for _ in range(3)]
    got = [[] for _ in clients]

    async def reader(i, ws):
        while len(got[i]) < n:
            got[i].append(await asyncio.wait_for(ws.recv(), BOUND))

    readers = [asyncio.ensure_future(reader(i, ws))
               for i, ws in enumerate(clients[1:], 1)]
    sent = []
    for i in range(n):
        m = os.urandom(size)
        sent.append(m)
        await clients[0].send(m)
        got[0].append(await asyncio.wait_for(clients[0].recv(), BOUND))
    await asyncio.wait_for(asyncio.gather(*readers), BOUND)
    for i in range(3):
        out('client %d: %d of %d, %s' % (i + 1, len(got[i]), n,
            'in order' if got[i] == sent else 'WRONG'))
    for ws in clients:
        await ws.close()
    out('slow client: close', close_code_in(slow))


async def exchange_websockets(url):
    async with connect(url) as ws:
        out('extensions:', ', '.join(e.name for e in ws.extensions))
        await ws.send('Hello, world')
        out('text:', await ws.recv())
        await ws.send(bytes(range(256)))
        out('binary:', 'ok' if await ws.recv() == bytes(range(256))
            else 'WRONG')
        await ws.send(iter(['frag', 'men', 'ted']))
        out('fragmented:', await ws.recv())
        big = os.urandom(1 << 20)
        await ws.send(big)
        out('1 MiB:', 'ok' if await ws.recv() == big else 'WRONG')
        text = 'compress me ' * 10000
        await ws.send(text)
        out('compressed:', 'ok' if await ws.recv() == text else 'WRONG')
        await ws.close(4000, 'bye')
    out('closed', ws.close_code, ws.close_reason)


async def exchange_tornado(url):
    from tornado.websocket import websocket_connect
    ws = await websocket_connect(url, compression_options={},
                                 max_message_size=2 ** 24)
    out('extensions:', ws.headers.get('Sec-WebSocket-Extensions'))
    ws.write_message('Hello, world')
    out('text:', await ws.read_message())
    ws.write_message(bytes(range(256)), binary=True)
    out('binary:', 'ok' if await ws.read_message() == bytes(range(256))
        else 'WRONG')
    # Tornado has no API for fragments: its frame writer sends them.
    ws.protocol._write_frame(False, 0x1, b'frag')
    ws.protocol._write_frame(False, 0x0, b'men')
    ws.protocol._write_frame(True, 0x0, b'ted')
    out('fragmented:', await ws.read_message())
    big = os.urandom(1 << 20)
    ws.write_message(big, binary=True)
    out('1 MiB:', 'ok' if await ws.read_message() == big else 'WRONG')
    text = 'compress me ' * 10000
    ws.write_message(text)
    out('compressed:', 'ok' if await ws.read_message() == text else 'WRONG')
    ws.close(4000, 'bye')
    while await ws.read_message() is not None:
        pass
    out('closed', ws.close_code, ws.close_reason or '')


def print_port(port):
    sys.stderr.write('%d\n' % port)
    sys.stderr.flush()


async def server_websockets():
    import websockets

    async def echo(ws, path=None):
        async for m in ws:
            if m == '?ext':
                await ws.send(ws.response_headers.get(
                    'Sec-WebSocket-Extensions', ''))
            elif m == 'close-me':
                await ws.close(4001, 'as asked')
            else:
                await ws.send(m)
    srv = await websockets.serve(echo, '127.0.0.1', 0, max_size=2 ** 24,
                                 ping_interval=None)
    print_port(srv.sockets[0].getsockname()[1])
    await asyncio.Future()


def server_tornado():
    import tornado.httpserver
    import tornado.ioloop
    import tornado.netutil
    import tornado.web
    import tornado.websocket

    class Echo(tornado.websocket.WebSocketHandler):
        def get_compression_options(self):
            return {}

        def on_message(self, m):
            if m == '?ext':
                self.write_message(self._headers.get(
                    'Sec-WebSocket-Extensions', ''))
            elif m == 'close-me':
                self.close(4001, 'as asked')
            else:
                self.write_message(m, binary=isinstance(m, bytes))

    app = tornado.web.Application([(r'/.*', Echo)],
                                  websocket_max_message_size=2 ** 24)
    sockets = tornado.netutil.bind_sockets(0, '127.0.0.1')
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    print_port(sockets[0].getsockname()[1])
    tornado.ioloop.IOLoop.current().start()


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == 'talk':
        asyncio.run(talk(args[0], args[1:]))
    elif cmd == 'handshake':
        asyncio.run(handshake(args[0], args[1:]))
    elif cmd == 'first':
        asyncio.run(first(args[0]))
    elif cmd == 'hold':
        asyncio.run(hold(args[0]))
    elif cmd == 'room':
        asyncio.run(room(args[0], int(args[1]), int(args[2])))
    elif cmd == 'client-websockets':
        asyncio.run(exchange_websockets(args[0]))
    elif cmd == 'client-tornado':
        asyncio.run(exchange_tornado(args[0]))
    elif cmd == 'server-websockets':
        asyncio.run(server_websockets())
    elif cmd == 'server-tornado':
        server_tornado()
    else:
        sys.exit('wspeer.py: unknown command ' + cmd)


main()
