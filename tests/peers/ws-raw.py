#!/usr/bin/python3
"""ws-raw.py - a WebSocket server that misbehaves on purpose, for whirl-ws's
exit statuses.  Listens on 127.0.0.1 port 0, prints the port alone on
stderr, serves until killed.  After a correct handshake, by path:

    /mute   reads and drops everything: never answers a close
    /drop   closes the TCP connection at once, no close frame (1006)
"""
import asyncio
import base64
import hashlib
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


async def handle(reader, writer):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    path = lines[0].split(" ")[1]
    key = ""
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\n"
                 b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    await writer.drain()
    if path == "/drop":
        writer.transport.abort()
        return
    while await reader.read(65536):
        pass
    writer.close()


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], file=sys.stderr, flush=True)
    await server.serve_forever()


asyncio.run(main())
