#!/usr/bin/python3
"""http-proxy.py - a forward HTTP proxy for whirl-fetch's tests.  Listens
on 127.0.0.1 port 0, prints the port alone on stderr, then one line per
request it serves: the request line, and "auth: VALUE" when it carried
Proxy-Authorization.

    CONNECT host:port          a tunnel (200 Connection established),
                               or 403 when started with --deny-connect
    GET http://host:port/p     relayed to the origin with "Connection:
                               close", the answer relayed back, then the
                               client's connection closed
"""
import asyncio
import sys

DENY = "--deny-connect" in sys.argv


def log(text):
    print(text, file=sys.stderr, flush=True)


async def pump(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    try:
        writer.close()
    except ConnectionError:
        pass


async def handle(reader, writer):
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")[:-2]
    method, target, version = lines[0].split(" ")
    log(lines[0])
    fields = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "proxy-authorization":
            log("auth: " + value.strip())
        elif name.lower() not in ("connection", "proxy-connection"):
            fields.append(line)
    if method == "CONNECT":
        if DENY:
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0"
                         b"\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        host, _, port = target.rpartition(":")
        up_r, up_w = await asyncio.open_connection(host.strip("[]"),
                                                   int(port))
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(pump(reader, up_w), pump(up_r, writer))
        return
    rest = target.split("://", 1)[1]
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.rpartition(":")
    body = b""
    for line in fields:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            body = await reader.readexactly(int(value))
    up_r, up_w = await asyncio.open_connection(host.strip("[]"), int(port))
    up_w.write(("%s /%s %s\r\n%s\r\nConnection: close\r\n\r\n" % (
        method, path, version, "\r\n".join(fields))).encode("latin-1") +
        body)
    await up_w.drain()
    await pump(up_r, writer)
    up_w.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    log(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


asyncio.run(main())
