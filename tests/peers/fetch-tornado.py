#!/usr/bin/python3
"""fetch-tornado.py - a Tornado HTTP server for whirl-fetch's tests of
parallel transfers, forms, uploads, progress and pretty output.

Listens on 127.0.0.1 port 0, prints the port alone on stderr, serves until
killed.  Routes (query arguments in brackets):

    /form            a multipart/form-data (or urlencoded) body as Tornado
                     parses it: "field NAME=VALUE" and "file NAME FILENAME
                     TYPE LENGTH" lines, then each file's bytes
    /put/...         the method, the path, Content-Type, Content-Length or
                     Transfer-Encoding, then the body
    /drip [n ms]     Content-Length n (40000), n/20 bytes every ms (50)
    /nolength [n ms] the same without Content-Length (chunked)
    /json [bad]      a JSON document (application/json); bad=1: a body
                     that says it is JSON and is not
    /concurrent [ms status]
                     waits ms (100), then answers status (200) "ok"
    /concurrent/max  the most requests that were waiting at once; the
                     count starts again
"""
import asyncio
import sys

import tornado.httpserver
import tornado.ioloop
import tornado.netutil
import tornado.web

CONCURRENT = {"now": 0, "max": 0}


class Form(tornado.web.RequestHandler):
    def post(self):
        self.set_header("Content-Type", "text/plain")
        for name, values in sorted(self.request.body_arguments.items()):
            for v in values:
                self.write(b"field %s=%s\n" % (name.encode(), v))
        files = []
        for name, infos in sorted(self.request.files.items()):
            for f in infos:
                self.write("file %s %s %s %d\n" % (
                    name, f.filename, f.content_type, len(f.body)))
                files.append(f.body)
        for body in files:
            self.write(body)


class Put(tornado.web.RequestHandler):
    def put(self, rest):
        h = self.request.headers
        self.set_header("Content-Type", "text/plain")
        self.write("%s /put/%s\n" % (self.request.method, rest))
        for name in ("Content-Type", "Content-Length",
                     "Transfer-Encoding"):
            if name in h:
                self.write("%s: %s\n" % (name, h[name]))
        self.write(self.request.body)

    post = put


class Drip(tornado.web.RequestHandler):
    async def get(self, chunked=False):
        n = int(self.get_argument("n", "40000"))
        ms = int(self.get_argument("ms", "50"))
        if not chunked:
            self.set_header("Content-Length", str(n))
        step = max(1, n // 20)
        sent = 0
        while sent < n:
            k = min(step, n - sent)
            self.write(b"x" * k)
            sent += k
            await self.flush()
            if sent < n:
                await asyncio.sleep(ms / 1000.0)


class NoLength(Drip):
    async def get(self):
        await Drip.get(self, chunked=True)


class Json(tornado.web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "application/json; charset=utf-8")
        if self.get_argument("bad", None):
            self.write('{"not": json')
            return
        self.write('{"name":"whirl","list":[1,-2.5e3,true,false,null],'
                   '"nested":{"a":"b \\"q\\""},"empty":{},"none":[]}')


class Concurrent(tornado.web.RequestHandler):
    async def get(self):
        CONCURRENT["now"] += 1
        CONCURRENT["max"] = max(CONCURRENT["max"], CONCURRENT["now"])
        try:
            await asyncio.sleep(int(self.get_argument("ms", "100")) / 1e3)
        finally:
            CONCURRENT["now"] -= 1
        self.set_status(int(self.get_argument("status", "200")))
        self.write("ok\n")


class ConcurrentMax(tornado.web.RequestHandler):
    def get(self):
        self.write("%d\n" % CONCURRENT["max"])
        CONCURRENT["max"] = 0


def main():
    app = tornado.web.Application([
        (r"/form", Form),
        (r"/put/(.*)", Put),
        (r"/drip", Drip),
        (r"/nolength", NoLength),
        (r"/json", Json),
        (r"/concurrent", Concurrent),
        (r"/concurrent/max", ConcurrentMax),
    ])
    server = tornado.httpserver.HTTPServer(app, max_body_size=1 << 30)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server.add_sockets(sockets)
    print(sockets[0].getsockname()[1], file=sys.stderr, flush=True)
    tornado.ioloop.IOLoop.current().start()


if __name__ == "__main__":
    main()
