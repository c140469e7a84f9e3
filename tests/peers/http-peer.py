#!/usr/bin/python3
"""http-peer.py - an HTTP/1.1 server that answers whatever a test asks
for, byte for byte, for whirl-fetch's tests.  Listens on 127.0.0.1 port 0,
prints the port alone on stderr, serves until killed; keep-alive unless
the answer says otherwise.  By path (query arguments in brackets):

    /echo [sort=1]      200, text: the request line, the fields as
                        received (or sorted), a blank line, the body
    /status/N [body=]   status N with body "status N\\n" (none for 1xx,
                        204, 304)
    /headers [NAME=V]   200 with each argument as a response field
    /setcookie [c=]     200 with one Set-Cookie per c
    /redirect [to= code=] a redirect (302 by default) to `to`
    /delay [secs= body=] wait, then 200 with body
    /drip [n= secs=]    Content-Length n, then a byte every secs
    /close              close without answering (empty reply)
    /partial            Content-Length 100, 10 bytes, close
    /partial-chunked    chunked: one chunk, then close
    /reset              reset the connection (RST)
    /continue           100 Continue, then 200 "continued\\n"
    /304cl              304 with Content-Length: 5 and no body
    /chunked            chunked body "hello, chunked world\\n", a trailer
    /eof                200, no length: the body ends at the close
    /garbage            not HTTP at all
    /gzip, /deflate, /rawdeflate  "compressed hello\\n" so encoded
    /badgzip            Content-Encoding: gzip on bytes that are not
    /bytes [n=]         n bytes of "0123456789" repeated

With --full-backlog it serves nothing: it listens with a backlog of 0
that it fills itself, so that a connect to its port is never answered
(for connect timeouts).
"""
import asyncio
import gzip
import socket
import struct
import sys
import urllib.parse
import zlib

HELLO = b"compressed hello\n"


def reply(status, body=b"", fields=(), reason=None):
    reason = reason or {200: "OK", 100: "Continue", 204: "No Content",
                        301: "Moved Permanently", 302: "Found",
                        303: "See Other", 304: "Not Modified",
                        307: "Temporary Redirect",
                        308: "Permanent Redirect", 400: "Bad Request",
                        401: "Unauthorized", 403: "Forbidden",
                        404: "Not Found", 500: "Internal Server Error",
                        503: "Service Unavailable"}.get(status, "Status")
    head = "HTTP/1.1 %d %s\r\n" % (status, reason)
    for name, value in fields:
        head += "%s: %s\r\n" % (name, value)
    if status >= 200 and status not in (204, 304):
        head += "Content-Length: %d\r\n" % len(body)
    return head.encode("latin-1") + b"\r\n" + body


async def read_request(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")[:-2]
    fields = [tuple(x.strip() for x in line.split(":", 1))
              for line in lines[1:]]
    length, body = 0, b""
    for name, value in fields:
        if name.lower() == "content-length":
            length = int(value)
        if name.lower() == "transfer-encoding" and "chunked" in value:
            while True:
                size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                if size == 0:
                    await reader.readuntil(b"\r\n")
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
    if length:
        body = await reader.readexactly(length)
    return lines[0], fields, body


async def answer(line, fields, body, writer):
    """Write the answer; return False when the connection must close."""
    method, target = line.split(" ")[0], line.split(" ")[1]
    url = urllib.parse.urlsplit(target)
    path = url.path
    q = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
    args = dict(q)
    w = writer.write
    if method == "HEAD":
        def w(data):
            writer.write(data.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
    if path == "/echo":
        shown = sorted(fields) if args.get("sort") else fields
        text = line + "\n" + "".join("%s: %s\n" % f for f in shown)
        w(reply(200, text.encode("latin-1") + b"\n" + body,
                [("Content-Type", "text/plain")]))
    elif path.startswith("/status/"):
        code = int(path[8:])
        text = args.get("body", "status %d\n" % code).encode()
        w(reply(code, b"" if code in (204, 304) else text))
    elif path == "/headers":
        w(reply(200, b"headers\n", q))
    elif path == "/setcookie":
        w(reply(200, b"cookies\n",
                [("Set-Cookie", v) for n, v in q if n == "c"]))
    elif path == "/redirect":
        code = int(args.get("code", "302"))
        w(reply(code, b"redirecting\n", [("Location", args["to"])]))
    elif path == "/delay":
        await asyncio.sleep(float(args.get("secs", "1")))
        w(reply(200, args.get("body", "late\n").encode()))
    elif path == "/drip":
        n, secs = int(args.get("n", "5")), float(args.get("secs", "1"))
        w(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % n)
        for _ in range(n):
            await writer.drain()
            await asyncio.sleep(secs)
            w(b"x")
    elif path == "/close":
        return False
    elif path == "/partial":
        w(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
        return False
    elif path == "/partial-chunked":
        w(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
          b"5\r\nhello\r\n")
        return False
    elif path == "/reset":
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
        return False
    elif path == "/continue":
        w(b"HTTP/1.1 100 Continue\r\n\r\n")
        w(reply(200, b"continued\n"))
    elif path == "/304cl":
        w(b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n"
          b"ETag: \"x\"\r\n\r\n")
    elif path == "/chunked":
        w(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
          b"Trailer: X-Sum\r\n\r\n7\r\nhello, \r\n8\r\nchunked \r\n"
          b"6\r\nworld\n\r\n0\r\nX-Sum: 21\r\n\r\n")
    elif path == "/eof":
        w(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
          b"until the end\n")
        return False
    elif path == "/garbage":
        w(b"this is not HTTP\r\n\r\n")
        return False
    elif path in ("/gzip", "/deflate", "/rawdeflate", "/badgzip"):
        if path == "/gzip":
            data, enc = gzip.compress(HELLO), "gzip"
        elif path == "/deflate":
            data, enc = zlib.compress(HELLO), "deflate"
        elif path == "/rawdeflate":
            c = zlib.compressobj(wbits=-15)
            data, enc = c.compress(HELLO) + c.flush(), "deflate"
        else:
            data, enc = b"not gzip at all, sorry\n", "gzip"
        w(reply(200, data, [("Content-Encoding", enc)]))
    elif path == "/bytes":
        n = int(args.get("n", "10"))
        w(reply(200, (b"0123456789" * (n // 10 + 1))[:n]))
    else:
        w(reply(404, b"no such path\n"))
    return True


async def handle(reader, writer):
    try:
        while True:
            try:
                line, fields, body = await read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            keep = await answer(line, fields, body, writer)
            await writer.drain()
            if not keep or any(n.lower() == "connection" and
                               v.lower() == "close" for n, v in fields):
                break
    except ConnectionError:
        pass
    writer.close()


def full_backlog():
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    held = []
    for _ in range(3):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        held.append(c)
    import time
    time.sleep(0.2)
    print(port, file=sys.stderr, flush=True)
    time.sleep(3600)


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


if "--full-backlog" in sys.argv:
    full_backlog()
else:
    asyncio.run(main())
