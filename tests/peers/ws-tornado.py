#!/usr/bin/python3
"""ws-tornado.py - a Tornado WebSocket server for whirl-ws's tests.

    ws-tornado.py [--tls CERTDIR]

Listens on 127.0.0.1 port 0, prints the port alone on stderr, serves until
killed.  With --tls it serves wss with CERTDIR/server.pem (from
scripts/gen-test-certs) and asks for an optional client certificate from
CERTDIR/ca.pem.  Routes (query arguments in brackets):

    /echo                  each message back, text as text, binary as binary
    /push [n, text]        n messages "text1".."textN" at once, then waits
    /tick [ms]             "tick 1", "tick 2", ... every ms milliseconds
    /after [ms, text]      one message after ms milliseconds
    /close [code, reason]  closes at once with code ("none": no status)
                           and reason
    /slow [ms]             the handshake answered after ms, then /echo
    /headers               the handshake's headers, one JSON object
    /json                  one JSON object
    /pong                  "pong: DATA" for each pong received
    /ping [data]           pings with data on open, then echoes
    /whoami                the client certificate's CN, or "none"
    /reject                403, no WebSocket
"""
import asyncio
import json
import ssl
import sys

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web
import tornado.websocket


class Base(tornado.websocket.WebSocketHandler):
    def check_origin(self, origin):
        return True

    def get_compression_options(self):
        return {}

    def select_subprotocol(self, subprotocols):
        return subprotocols[0] if subprotocols else None

    def arg(self, name, default):
        return self.get_argument(name, default)


class Echo(Base):
    def on_message(self, message):
        self.write_message(message, binary=isinstance(message, bytes))


class Push(Base):
    def open(self):
        text = self.arg("text", "message")
        for i in range(int(self.arg("n", "3"))):
            self.write_message("%s%d" % (text, i + 1))


class Tick(Base):
    def open(self):
        self.n = 0
        ms = int(self.arg("ms", "100"))
        self.timer = tornado.ioloop.PeriodicCallback(self.tick, ms)
        self.timer.start()

    def tick(self):
        self.n += 1
        self.write_message("tick %d" % self.n)

    def on_message(self, message):
        if isinstance(message, bytes):
            message = "bytes " + message.hex()
        self.write_message("got " + message)

    def on_close(self):
        self.timer.stop()


class After(Base):
    def open(self):
        # A timer, not a sleep in open(): Tornado reads no frame (not even
        # a ping) until open() returns.
        tornado.ioloop.IOLoop.current().call_later(
            int(self.arg("ms", "300")) / 1000, self.later)

    def later(self):
        if self.ws_connection is not None:
            self.write_message(self.arg("text", "done"))


class Close(Base):
    def open(self):
        code = self.arg("code", "1000")
        if code == "none":
            self.close()            # a close frame without a status: 1005
        else:
            self.close(int(code), self.arg("reason", ""))


class Slow(Echo):
    async def get(self, *args, **kwargs):
        await asyncio.sleep(int(self.get_argument("ms", "300")) / 1000)
        await super().get(*args, **kwargs)


class Headers(Base):
    def open(self):
        self.write_message(json.dumps(dict(self.request.headers.get_all())))


class Json(Base):
    def open(self):
        self.write_message('{"name":"whirl","tags":["a","b"],"n":1,'
                           '"ok":true,"none":null,"empty":{}}')


class Pong(Base):
    def on_pong(self, data):
        self.write_message("pong: " + data.decode())


class Ping(Echo):
    def open(self):
        self.ping(self.arg("data", "hello").encode())


class Whoami(Base):
    async def get(self, *args, **kwargs):
        # Asked before the upgrade: the WebSocket takes the stream.
        cert = self.request.get_ssl_certificate()
        self.name = "none"
        for rdn in (cert or {}).get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    self.name = value
        await super().get(*args, **kwargs)

    def open(self):
        self.write_message(self.name)


class Reject(tornado.web.RequestHandler):
    def get(self):
        self.set_status(403)
        self.finish("forbidden\n")


def main():
    ssl_ctx = None
    if len(sys.argv) == 3 and sys.argv[1] == "--tls":
        d = sys.argv[2]
        ssl_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ssl_ctx.load_cert_chain(d + "/server.pem", d + "/server.key")
        ssl_ctx.load_verify_locations(d + "/ca.pem")
        ssl_ctx.verify_mode = ssl.CERT_OPTIONAL
    app = tornado.web.Application([
        (r"/echo", Echo), (r"/push", Push), (r"/tick", Tick),
        (r"/after", After), (r"/close", Close), (r"/slow", Slow),
        (r"/headers", Headers), (r"/json", Json), (r"/pong", Pong),
        (r"/ping", Ping), (r"/whoami", Whoami), (r"/reject", Reject),
    ])
    server = tornado.httpserver.HTTPServer(app, ssl_options=ssl_ctx)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    print(sockets[0].getsockname()[1], file=sys.stderr, flush=True)
    tornado.ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
