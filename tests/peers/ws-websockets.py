#!/usr/bin/python3
"""ws-websockets.py - the python websockets library as a peer for whirl-ws.

    ws-websockets.py server          echo server (permessage-deflate on):
                                     127.0.0.1 port 0, the port alone on
                                     stderr; /extensions answers with the
                                     extensions agreed
    ws-websockets.py client URL MSG...
                                     prints the first message received,
                                     then sends each MSG, closes with 1000
                                     and prints "closed CODE REASON"
"""
import asyncio
import sys

import websockets


async def echo(ws, path):
    if path == "/extensions":
        await ws.send(ws.response_headers.get("Sec-WebSocket-Extensions",
                                              "none"))
    async for message in ws:
        await ws.send(message)


async def server():
    async with websockets.serve(echo, "127.0.0.1", 0) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        print(port, file=sys.stderr, flush=True)
        await asyncio.Future()


async def client(url, messages):
    async with websockets.connect(url) as ws:
        print(await ws.recv(), flush=True)
        for m in messages:
            await ws.send(m)
        await ws.close(1000)
        print("closed", ws.close_code, ws.close_reason, flush=True)


if sys.argv[1] == "server":
    asyncio.run(server())
else:
    asyncio.run(client(sys.argv[2], sys.argv[3:]))
