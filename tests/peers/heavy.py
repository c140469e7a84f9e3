#!/usr/bin/python3
"""heavy.py - the clients of heavy.bats, the heavy tier (make test-heavy).

    heavy.py http-hold PORT N PATH BODY
        opens N connections to 127.0.0.1:PORT, sends "GET PATH" on each
        and checks every answer is "HTTP/1.1 200 OK" with exactly BODY;
        keeps them all open and prints "ready OK BAD"; at a line (or end
        of file) on stdin closes them all and prints "closed N"
    heavy.py ws-big URL
        Autobahn section 9's largest sizes against an echo route: text and
        binary messages of 1, 4 and 16 MiB, sent in frames of 64 KiB and
        of 4 KiB (split anywhere, inside UTF-8 sequences too), without and
        with permessage-deflate; one line per message: "KIND SIZE FRAME
        DEFLATE ok" when the echo's sha256 is the message's
    heavy.py ws-many URL N SIZE [deflate]
        N round trips of a SIZE-byte binary message (its content changing
        at each), one at a time, each checked: "N echoed"
    heavy.py ws-over URL SIZE [deflate]
        sends one binary message of SIZE bytes (zeros: with deflate, a few
        KiB on the wire); prints "echoed SIZE ok" if it comes back, then
        closes; last line the close code: "closed CODE"

The WebSocket client is a raw one (sockets, zlib), so that frame sizes,
split points and compression are ours to choose.  Every wait is bounded
(BOUND seconds); exit status 1 on any mismatch.
"""
import asyncio
import base64
import hashlib
import os
import random
import resource
import struct
import sys
import urllib.parse
import zlib

BOUND = 120.0
MiB = 1 << 20


def out(*args):
    print(*args, flush=True)


# ---- HTTP: many connections held at once -----------------------------------

async def http_one(sem, port, req, want):
    async with sem:
        r, w = await asyncio.open_connection('127.0.0.1', port)
        w.write(req)
        head = await r.readuntil(b'\r\n\r\n')
        lines = head.split(b'\r\n')
        length = -1
        for line in lines[1:]:
            name, _, value = line.partition(b':')
            if name.strip().lower() == b'content-length':
                length = int(value)
        body = await r.readexactly(length) if length >= 0 else b''
        return w, lines[0] == b'HTTP/1.1 200 OK' and body == want


async def http_hold(port, n, path, body):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    req = b'GET ' + path.encode() + b' HTTP/1.1\r\nHost: x\r\n\r\n'
    sem = asyncio.Semaphore(500)
    res = await asyncio.wait_for(asyncio.gather(
        *[http_one(sem, port, req, body.encode()) for _ in range(n)]),
        BOUND)
    good = sum(1 for _, ok in res if ok)
    out('ready', good, n - good)
    await asyncio.get_running_loop().run_in_executor(None,
                                                     sys.stdin.readline)
    for w, _ in res:
        w.close()
    for w, _ in res:
        await w.wait_closed()
    out('closed', len(res))
    return good == n


# ---- WebSocket: a raw client -----------------------------------------------

def mask(data, key):
    """XOR with the 4-byte key, as one big integer (fast in CPython)."""
    n = len(data)
    if n == 0:
        return b''
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, 'little') ^
            int.from_bytes(k, 'little')).to_bytes(n, 'little')


class Closed(Exception):
    def __init__(self, code):
        super().__init__('closed %s' % code)
        self.code = code


class WS:
    @classmethod
    async def connect(cls, url, deflate):
        self = cls()
        u = urllib.parse.urlsplit(url)
        self.r, self.w = await asyncio.open_connection(
            u.hostname, u.port, limit=1 << 16)
        key = base64.b64encode(os.urandom(16))
        head = (b'GET ' + (u.path or '/').encode() + b' HTTP/1.1\r\n'
                b'Host: ' + u.netloc.encode() + b'\r\n'
                b'Upgrade: websocket\r\nConnection: Upgrade\r\n'
                b'Sec-WebSocket-Version: 13\r\n'
                b'Sec-WebSocket-Key: ' + key + b'\r\n')
        if deflate:
            head += b'Sec-WebSocket-Extensions: permessage-deflate\r\n'
        self.w.write(head + b'\r\n')
        resp = await asyncio.wait_for(self.r.readuntil(b'\r\n\r\n'), BOUND)
        lines = resp.decode('latin-1').split('\r\n')
        if not lines[0].startswith('HTTP/1.1 101'):
            raise RuntimeError('handshake: ' + lines[0])
        ext = ''
        for line in lines[1:]:
            name, _, value = line.partition(':')
            if name.strip().lower() == 'sec-websocket-extensions':
                ext = value.strip()
        self.deflate = ext.startswith('permessage-deflate')
        if deflate and not self.deflate:
            raise RuntimeError('permessage-deflate refused')
        # The server may ask for a smaller window or no context takeover
        # on our side; we offered nothing else, so its own side is ours
        # to follow as it goes (one decompressor holds its context).
        wbits = 15
        self.reset = False
        for p in ext.split(';')[1:]:
            name, _, value = p.strip().partition('=')
            if name == 'client_max_window_bits' and value:
                wbits = int(value)
            if name == 'client_no_context_takeover':
                self.reset = True
        self.wbits = max(wbits, 9)
        self.comp = zlib.compressobj(6, zlib.DEFLATED, -self.wbits)
        self.decomp = zlib.decompressobj(-15)
        return self

    def frame(self, fin, opcode, rsv1, payload):
        b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
        n = len(payload)
        if n < 126:
            head = struct.pack('!BB', b0, 0x80 | n)
        elif n < 65536:
            head = struct.pack('!BBH', b0, 0x80 | 126, n)
        else:
            head = struct.pack('!BBQ', b0, 0x80 | 127, n)
        key = os.urandom(4)
        self.w.write(head + key + mask(payload, key))

    async def send(self, opcode, data, frame_size, compress=False):
        """One message in frames of at most frame_size bytes (split at
        byte offsets, whatever the content)."""
        if compress:
            data = self.comp.compress(data) + \
                self.comp.flush(zlib.Z_SYNC_FLUSH)
            data = data[:-4]          # RFC 7692: drop 00 00 ff ff
            if self.reset:
                self.comp = zlib.compressobj(6, zlib.DEFLATED, -self.wbits)
        off, first = 0, True
        while True:
            piece = data[off:off + frame_size]
            off += len(piece)
            fin = off >= len(data)
            self.frame(fin, opcode if first else 0, compress and first,
                       piece)
            first = False
            if self.w.transport.get_write_buffer_size() > 4 * MiB:
                await self.w.drain()
            if fin:
                break
        await self.w.drain()

    async def recv_frame(self):
        b0, b1 = await self.r.readexactly(2)
        n = b1 & 0x7f
        if n == 126:
            n, = struct.unpack('!H', await self.r.readexactly(2))
        elif n == 127:
            n, = struct.unpack('!Q', await self.r.readexactly(8))
        if b1 & 0x80:
            raise RuntimeError('a masked frame from the server')
        return b0, await self.r.readexactly(n)

    async def recv(self):
        """(opcode, payload) of the next message; pings answered.  Raises
        Closed(code) at a close frame (answered), or 1006 at EOF."""
        parts, opcode, compressed = [], None, False
        while True:
            try:
                b0, payload = await asyncio.wait_for(self.recv_frame(),
                                                     BOUND)
            except (asyncio.IncompleteReadError, ConnectionError):
                raise Closed(1006)
            op = b0 & 0x0f
            if op == 8:
                code = struct.unpack('!H', payload[:2])[0] \
                    if len(payload) >= 2 else 1005
                try:
                    self.frame(True, 8, False, payload[:2])
                    await self.w.drain()
                except ConnectionError:
                    pass
                raise Closed(code)
            if op == 9:
                self.frame(True, 10, False, payload)
                continue
            if op == 10:
                continue
            if op != 0:
                opcode, compressed = op, bool(b0 & 0x40)
            parts.append(payload)
            if b0 & 0x80:
                break
        data = b''.join(parts)
        if compressed:
            data = self.decomp.decompress(data + b'\x00\x00\xff\xff')
        return opcode, data

    async def close(self):
        self.frame(True, 8, False, struct.pack('!H', 1000))
        await self.w.drain()
        try:
            while True:
                await self.recv()
        except Closed as c:
            code = c.code
        self.w.close()
        return code


def text_of(size, seed):
    """size bytes of valid UTF-8 mixing 1-, 2-, 3- and 4-byte characters,
    so that fixed-size frames split sequences."""
    rnd = random.Random(seed)
    alphabet = ['a', 'Z', ' ', 'é', 'ß', '€', '中', '😀']
    s = ''.join(rnd.choice(alphabet) for _ in range(size // 2)).encode()
    while len(s) < size:
        s += s[:size - len(s)]
    s = s[:size]
    while True:                       # do not end inside a sequence
        try:
            s.decode()
            return s
        except UnicodeDecodeError as e:
            s = s[:e.start] + b'a' * (size - e.start)


def binary_of(size, seed):
    # Half random, half repeated: something for deflate to do, and
    # something it cannot shrink.
    rnd = random.Random(seed)
    half = rnd.randbytes(size // 2)
    rest = bytes(range(256)) * ((size - len(half)) // 256 + 1)
    return (half + rest)[:size]


async def ws_big(url):
    good = True
    for deflate in (False, True):
        ws = await WS.connect(url, deflate)
        for size in (1 * MiB, 4 * MiB, 16 * MiB):
            for kind, opcode in (('text', 1), ('binary', 2)):
                data = text_of(size, size) if kind == 'text' else \
                    binary_of(size, size)
                for frame in (64 * 1024, 4 * 1024):
                    # Read while we write: the echo may start early.
                    echoed = asyncio.ensure_future(ws.recv())
                    await ws.send(opcode, data, frame, deflate)
                    op, echo = await echoed
                    ok = op == opcode and hashlib.sha256(echo).digest() == \
                        hashlib.sha256(data).digest()
                    good = good and ok
                    out(kind, '%dMiB' % (size // MiB),
                        'frames=%dKiB' % (frame // 1024),
                        'deflate' if deflate else 'plain',
                        'ok' if ok else 'MISMATCH (op %d, %d bytes)' %
                        (op, len(echo)))
        out('close', await ws.close())
    return good


async def ws_many(url, n, size, deflate):
    ws = await WS.connect(url, deflate)
    rnd = random.Random(n)
    base = rnd.randbytes(size)
    done = 0
    for i in range(n):
        data = struct.pack('!I', i) + base[4:]
        await ws.send(2, data, size, deflate)
        op, echo = await ws.recv()
        if op != 2 or echo != data:
            out('message %d differs' % i)
            break
        done += 1
    out(done, 'echoed')
    await ws.close()
    return done == n


async def ws_over(url, size, deflate):
    ws = await WS.connect(url, deflate)
    data = bytes(size)

    async def sender():
        try:
            await ws.send(2, data, 64 * 1024, deflate)
        except ConnectionError:
            pass                      # the server stopped reading: fine
    task = asyncio.ensure_future(sender())
    try:
        op, echo = await ws.recv()
        out('echoed', len(echo), 'ok' if echo == data else 'MISMATCH')
        await task
        out('closed', await ws.close())
    except Closed as c:
        out('closed', c.code)
    task.cancel()
    ws.w.close()
    return True


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ''
    if cmd == 'http-hold':
        coro = http_hold(int(argv[2]), int(argv[3]), argv[4], argv[5])
    elif cmd == 'ws-big':
        coro = ws_big(argv[2])
    elif cmd == 'ws-many':
        coro = ws_many(argv[2], int(argv[3]), int(argv[4]),
                       argv[5:] == ['deflate'])
    elif cmd == 'ws-over':
        coro = ws_over(argv[2], int(argv[3]), argv[4:] == ['deflate'])
    else:
        sys.exit(__doc__)
    return 0 if asyncio.run(coro) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
