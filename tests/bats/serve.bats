#!/usr/bin/env bats
# serve.bats - whirl-serve: the demo, every route kind and option, the
# route grammar rule by rule, static files (304, 206, 416, gzip, listing,
# traversal), bad input, slowloris, 1,000 concurrent clients, signals,
# Tornado's and Python's HTTP clients as peers, and the WebSocket routes
# (ws-echo, ws-exec, ws-broadcast; handshakes, Origin, 1001 on SIGTERM)
# with tests/peers/wspeer.py (python3-websockets) as the client.
#
# Every server listens on port 0 and prints its port (--print-port).
# Responses are compared whole, headers included, with the Date line
# (which changes every second) removed.

load helpers

V=0.1.0

setup_file() {
	export PEER=$BATS_FILE_TMPDIR/peer.py
	cat >"$PEER" <<'PEER'
# peer.py - raw HTTP exchanges for serve.bats.
#   peer.py raw PORT DATA...     send each DATA (Python escapes) in turn;
#                                print what came back and how it ended
#   peer.py drip PORT DATA SECS  send DATA a byte every SECS; print whether
#                                the server closed before the last byte
#   peer.py many PORT N          N connections at once, then a request on
#                                each; print how many got "Hello, world"
#   peer.py tornado URL          fetch with tornado.httpclient
#   peer.py httpclient PORT      three requests on one http.client
#                                connection
import asyncio, socket, sys, time

BOUND = 10.0

def esc(text):
    return text.encode('latin1').decode('unicode_escape').encode('latin1')

def read_all(s):
    data, end = b'', time.monotonic() + BOUND
    s.settimeout(BOUND)
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data, 'reset'
        except socket.timeout:
            return data, 'timeout'
        if not chunk:
            return data, 'eof'
        data += chunk
    return data, 'timeout'

def raw(port, parts):
    s = socket.create_connection(('127.0.0.1', int(port)), timeout=BOUND)
    for p in parts:
        s.sendall(esc(p))
        time.sleep(0.05)
    data, how = read_all(s)
    text = data.decode('latin1').replace('\r\n', '\n')
    sys.stdout.write(text)
    print('%s[%s]' % ('' if text.endswith('\n') or not text else '\n', how))

def drip(port, data, secs):
    s = socket.create_connection(('127.0.0.1', int(port)), timeout=BOUND)
    data = esc(data)
    for i in range(len(data)):
        try:
            s.sendall(data[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            print('closed after %s' % ('part' if i < len(data) else 'all'))
            return
        s.settimeout(float(secs))
        try:
            got = s.recv(65536)
            if got == b'' or got.startswith(b'HTTP/'):
                print('closed after part')
                return
        except socket.timeout:
            pass
        except ConnectionResetError:
            print('closed after part')
            return
    print('closed after all')

async def many(port, n):
    conns = await asyncio.gather(*[asyncio.open_connection('127.0.0.1',
        int(port)) for _ in range(n)])
    for r, w in conns:
        w.write(b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    bodies = await asyncio.gather(*[r.read() for r, w in conns])
    for r, w in conns:
        w.close()
    print(sum(1 for b in bodies if b.endswith(b'\r\n\r\nHello, world')))

def tornado_fetch(url):
    from tornado.httpclient import HTTPClient, HTTPClientError
    c = HTTPClient()
    r = c.fetch(url)
    print(r.code, r.headers['Content-Type'], r.body.decode())
    r = c.fetch(url, method='HEAD')
    print(r.code, r.headers['Content-Length'], repr(r.body))
    try:
        c.fetch(url + 'nope')
    except HTTPClientError as e:
        print(e.code, e.response.body.decode())
    r = c.fetch(url + 'post', method='POST', body='a=1')
    print(r.code, r.body.decode())
    c.close()

def httpclient(port):
    import http.client
    c = http.client.HTTPConnection('127.0.0.1', int(port), timeout=BOUND)
    for method, path, body in (('GET', '/', None), ('HEAD', '/', None),
                               ('POST', '/post', 'x' * 5000)):
        c.request(method, path, body=body)
        r = c.getresponse()
        print(r.status, r.reason, r.getheader('Content-Length'),
              repr(r.read()), r.getheader('Connection'))
    print('one connection:', c.sock is not None)
    c.close()

cmd = sys.argv[1]
if cmd == 'raw':
    raw(sys.argv[2], sys.argv[3:])
elif cmd == 'drip':
    drip(sys.argv[2], sys.argv[3], sys.argv[4])
elif cmd == 'many':
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(asyncio.run(asyncio.wait_for(many(sys.argv[2], int(sys.argv[3])),
                                       60)) or '', end='')
elif cmd == 'tornado':
    tornado_fetch(sys.argv[2])
elif cmd == 'httpclient':
    httpclient(sys.argv[2])
PEER
	# A site: files with fixed times, a tree, links in and out, dotfiles.
	export SITE=$BATS_FILE_TMPDIR/site
	mkdir -p "$SITE/pub/sub" "$SITE/pub/.git" "$SITE/pub/empty"
	printf 'secret outside\n' >"$SITE/secret.txt"
	printf '<h1>home</h1>\n' >"$SITE/pub/index.html"
	printf 'body { color: red }\n' >"$SITE/pub/style.css"
	printf 'inner\n' >"$SITE/pub/sub/a.txt"
	printf 'dot\n' >"$SITE/pub/.env"
	printf '[core]\n' >"$SITE/pub/.git/config"
	printf 'odd\n' >"$SITE/pub/<b>&amp;.txt"
	printf 'back\n' >"$SITE/pub/a\\b"
	seq 1 3000 >"$SITE/pub/big.txt"
	head -c 2000000 /dev/zero | tr '\0' 'x' >"$SITE/pub/huge.txt"
	printf '0123456789' >"$SITE/pub/digits.txt"
	ln -s ../secret.txt "$SITE/pub/out"
	ln -s /etc/passwd "$SITE/pub/passwd"
	ln -s sub/a.txt "$SITE/pub/in"
	find "$SITE" -exec touch -h -d '2026-01-02 03:04:05 UTC' {} +
}

teardown() {
	restart
}

# serve ARGS...: whirl-serve on a free port; SRV_PORT, $B the base URL.
serve() {
	start_server srv whirl-serve --print-port -p 0 "$@"
	B=http://127.0.0.1:$SRV_PORT
}

# wspeer ARGS...: the WebSocket client of tests/peers/wspeer.py.
wspeer() {
	/usr/bin/python3 "$WHIRL_ROOT/tests/peers/wspeer.py" "$@"
}

# get ARGS...: curl's whole response, CRs and the Date line dropped.
get() {
	curl -sS -i "$@" | tr -d '\r' | grep -v '^Date: '
}

# reap PID: wait_pid in this shell (inside $(...) bash's wait does not
# know the child); its answer in $reaped.
reap() {
	wait_pid "$@" >"$BATS_TEST_TMPDIR/.reaped" || true
	reaped=$(cat "$BATS_TEST_TMPDIR/.reaped")
}

# restart: stop what runs, for a second server in the same test.
restart() {
	stop_started || true
}

# The ETag of a file of the site (mtime in ns, size; hex).
etag() {
	printf '"%x-%x"' "$(($(stat -c %Y "$1") * 1000000000))" "$(stat -c %s "$1")"
}

LM='Last-Modified: Fri, 02 Jan 2026 03:04:05 GMT'

#
# The demo and the start line
#

@test "no route: the Tornado demo says Hello, world" {
	serve
	run get "$B/"
	assert_output "HTTP/1.1 200 OK
Content-Type: text/plain; charset=utf-8
Server: whirl/$V
Content-Length: 12

Hello, world"
	run get -I "$B/"
	assert_output "HTTP/1.1 200 OK
Content-Type: text/plain; charset=utf-8
Server: whirl/$V
Content-Length: 12"
}

@test "demo: /demo opens ws://HOST/websocket, Tornado's EchoWebSocket" {
	serve
	run curl -sS "$B/demo"
	assert_line --partial '<title>whirl demo</title>'
	assert_line 'var ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") +'
	assert_line '    location.host + "/websocket");'
	assert_line '	ws.send("Hello, world");'
	run wspeer talk "ws://127.0.0.1:$SRV_PORT/websocket" 'Hello, world' b:00ff
	assert_output 'You said: Hello, world
b:596f7520736169643a2000ff
closed 1000 '
	wait_for_line "$BATS_TEST_TMPDIR/srv.err" ' 101 GET /websocket '
	run grep -E '^\[I .* 101 GET /websocket \(127\.0\.0\.1\) [0-9.]+ms$' "$BATS_TEST_TMPDIR/srv.err"
	assert_success
	# Not an upgrade: Tornado's answer.
	run get "$B/websocket"
	assert_output "HTTP/1.1 400 Bad Request
Content-Type: text/plain; charset=utf-8
Server: whirl/$V
Content-Length: 34

Can \"Upgrade\" only to \"WebSocket\"."
	run get -X POST "$B/"
	assert_output "HTTP/1.1 405 Method Not Allowed
Content-Type: text/html; charset=UTF-8
Allow: GET, HEAD
Server: whirl/$V
Content-Length: 87

<html><title>405: Method Not Allowed</title><body>405: Method Not Allowed</body></html>"
}

@test "start line: port 0 prints the real port, after --print-port's" {
	serve
	run cat "$BATS_TEST_TMPDIR/srv.err"
	assert_line -n 0 "$SRV_PORT"
	assert_line -n 1 "whirl-serve: listening on http://127.0.0.1:$SRV_PORT/"
}

@test "start line: ::1 is bracketed, and served" {
	serve -a ::1
	wait_for_line "$BATS_TEST_TMPDIR/srv.err" 'listening'
	run sed -n 2p "$BATS_TEST_TMPDIR/srv.err"
	assert_output "whirl-serve: listening on http://[::1]:$SRV_PORT/"
	run curl -sS -g "http://[::1]:$SRV_PORT/"
	assert_output 'Hello, world'
}

@test "start line: printed even with -q, and without --print-port" {
	port=$(free_port)
	start_bg srv whirl-serve -q -p "$port"
	wait_for_line "$BATS_TEST_TMPDIR/srv.err" 'listening'
	run curl -sS "http://127.0.0.1:$port/"
	assert_output 'Hello, world'
	run cat "$BATS_TEST_TMPDIR/srv.err"
	assert_output "whirl-serve: listening on http://127.0.0.1:$port/"
}

@test "a port in use: exit 1 and the reason" {
	serve
	run whirl-serve -p "$SRV_PORT"
	assert_failure 1
	assert_output "whirl-serve: bind 127.0.0.1 port $SRV_PORT: Address already in use"
}

@test "SIGTERM and SIGINT: exit 0" {
	serve
	kill -TERM "$SRV_PID"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	serve
	kill -INT "$SRV_PID"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
}

@test "SIGTERM: a download in flight finishes, new connections are refused" {
	serve "/(.*)=dir:$SITE/pub"
	curl -sS --limit-rate 2M -o "$BATS_TEST_TMPDIR/huge" "$B/huge.txt" &
	curl_pid=$!
	# Wait until the download is under way.
	for _ in $(seq 200); do
		[ -s "$BATS_TEST_TMPDIR/huge" ] && break
		sleep 0.02
	done
	kill -TERM "$SRV_PID"
	wait "$curl_pid"
	cmp "$BATS_TEST_TMPDIR/huge" "$SITE/pub/huge.txt"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	run curl -sS "$B/"
	assert_failure 7
}

#
# Usage
#

@test "--version and --help" {
	run whirl-serve --version
	assert_success
	assert_output "whirl-serve $V"
	run whirl-serve --help
	assert_success
	assert_line -n 0 'Usage: whirl-serve [-qv] [-a address] [-H '"'"'Name: value'"'"'] [-p port] [options] [ROUTE ...]'
	assert_line '      --head-timeout SECS    a request head must arrive within (10)'
}

@test "usage errors: exit 2 with the reason" {
	run whirl-serve -p 70000
	assert_failure 2
	assert_line -n 0 "whirl-serve: bad port '70000' (0 to 65535)"
	run whirl-serve --nope
	assert_failure 2
	assert_line -n 0 "whirl-serve: unrecognized option '--nope'"
	run whirl-serve --log-format xml
	assert_failure 2
	assert_line -n 0 "whirl-serve: bad --log-format 'xml' (tornado, combined or json)"
	run whirl-serve --head-timeout 0
	assert_failure 2
	assert_line -n 0 "whirl-serve: bad --head-timeout '0' (seconds, more than 0)"
	run whirl-serve --max-body-size 1X
	assert_failure 2
	assert_line -n 0 "whirl-serve: bad --max-body-size '1X' (bytes, K, M or G)"
	run whirl-serve -H 'NoColon'
	assert_failure 2
	assert_line -n 0 "whirl-serve: bad -H 'NoColon': no ':' (Name: value)"
	run whirl-serve -H $'X-A: 1\nX-B: 2'
	assert_failure 2
	assert_line -n 0 "whirl-serve: bad -H 'X-A: 1"
	assert_line -n 1 "X-B: 2': CR, LF or NUL in the value of header X-A"
	run whirl-serve -H 'Content-Length: 3'
	assert_failure 2
	assert_line -n 0 "whirl-serve: bad -H 'Content-Length: 3': Content-Length is the server's to send"
	run whirl-serve -q --access-log /dev/null
	assert_failure 2
	assert_line -n 0 'whirl-serve: cannot use -q with --access-log'
}

@test "route errors: exit 2, the route shown" {
	run whirl-serve '/x=run:ls'
	assert_failure 2
	assert_output "whirl-serve: route '/x=run:ls': unknown kind 'run' (kinds: text, file, dir, status, redirect, exec, cgi, ws-echo, ws-exec, ws-broadcast)"
	run whirl-serve '/x'
	assert_failure 2
	assert_output "whirl-serve: route '/x': no =KIND (text, file, dir, status, redirect, exec, cgi, ws-echo, ws-exec, ws-broadcast)"
	run whirl-serve '/x=ws-exec'
	assert_failure 2
	assert_output "whirl-serve: route '/x=ws-exec': ws-exec: needs a COMMAND"
	run whirl-serve '/x=ws-broadcast:lobby'
	assert_failure 2
	assert_output "whirl-serve: route '/x=ws-broadcast:lobby': ws-broadcast: takes no argument"
	run whirl-serve "/x=ws-echo:$(printf '\377')"
	assert_failure 2
	assert_output "whirl-serve: route '/x=ws-echo:$(printf '\377')': ws-echo: PREFIX is not UTF-8"
	run whirl-serve '/s=dir:.'
	assert_failure 2
	assert_output "whirl-serve: route '/s=dir:.': dir: needs a group (the path under the directory) or a pattern ending in /"
	run whirl-serve '/s/=dir:/nonexistent'
	assert_failure 2
	assert_output "whirl-serve: route '/s/=dir:/nonexistent': dir:/nonexistent: No such file or directory"
	run whirl-serve '/(x=text:a'
	assert_failure 2
	assert_output "whirl-serve: route '/(x=text:a': bad pattern '/(x': missing closing parenthesis at 3"
	run whirl-serve 'get /x=text:a'
	assert_failure 2
	assert_output "whirl-serve: route 'get /x=text:a': METHODS are upper-case names separated by commas (GET,POST)"
	run whirl-serve '/x=status:99'
	assert_failure 2
	assert_output "whirl-serve: route '/x=status:99': status: needs a CODE from 200 to 599"
	run whirl-serve '/x=redirect:200:/y'
	assert_failure 2
	assert_output "whirl-serve: route '/x=redirect:200:/y': redirect: CODE is 301, 302, 303, 307 or 308"
	run whirl-serve '/x/(a)=redirect:/{3}'
	assert_failure 2
	assert_output "whirl-serve: route '/x/(a)=redirect:/{3}': bad placeholder in '/{3}' (use {0}, {1}.. or {name} of a group, {{ and }} for braces)"
	run whirl-serve '=text:x'
	assert_failure 2
	assert_output "whirl-serve: route '=text:x': empty pattern"
	# A space ends METHODS: a pattern with one needs METHODS first.
	run whirl-serve '/a b=text:x'
	assert_failure 2
	assert_output "whirl-serve: route '/a b=text:x': METHODS are upper-case names separated by commas (GET,POST)"
}

#
# The grammar and text:
#

@test "text: escapes \\n \\t \\\\, nothing appended" {
	serve '/t=text:a\nb\tc\\d\x' '/empty=text:' '/bare=text'
	run sh -c "curl -sS '$B/t' | od -An -c"
	assert_output '   a  \n   b  \t   c   \   d   \   x'
	run get "$B/empty"
	assert_output "HTTP/1.1 200 OK
Content-Type: text/plain; charset=utf-8
Server: whirl/$V
Content-Length: 0"
	run curl -sS -w '%{http_code} %{size_download}' "$B/bare"
	assert_output '200 0'
}

@test "text: --content-type" {
	serve --content-type 'application/json' '/j=text:{"a":1}'
	run get "$B/j"
	assert_output "HTTP/1.1 200 OK
Content-Type: application/json
Server: whirl/$V
Content-Length: 7

{\"a\":1}"
}

@test "grammar: split at the first = followed by a kind and : or the end" {
	serve '/a=b=text:c=d' '/file=x=text:two' '/q=text=text:three'
	run curl -sS "$B/a=b"
	assert_output 'c=d'
	run curl -sS "$B/file=x"
	assert_output 'two'
	run curl -sS "$B/q=text"
	assert_output 'three'
}

@test "grammar: patterns are PCRE anchored at both ends, first match wins" {
	serve '/user/(\d+)=text:user' '/user/.*=text:other' '/=text:root'
	run curl -sS "$B/user/42"
	assert_output 'user'
	run curl -sS "$B/user/x42"
	assert_output 'other'
	run curl -sS -w ' %{http_code}' "$B/user"
	assert_output '<html><title>404: Not Found</title><body>404: Not Found</body></html> 404'
	run curl -sS -w ' %{http_code}' "$B/x/"
	assert_output '<html><title>404: Not Found</title><body>404: Not Found</body></html> 404'
}

@test "grammar: matched against the path as sent, without the query" {
	serve '/a%20b=text:encoded' 'GET /a b=text:never'
	run curl -sS "$B/a%20b?x=1"
	assert_output 'encoded'
}

@test "grammar: METHODS, GET implies HEAD, others get 405 with Allow" {
	serve 'GET,POST /m=text:gp' 'PUT /m=text:put' 'DELETE /d=text:del'
	run curl -sS -X POST "$B/m"
	assert_output 'gp'
	run curl -sS -X PUT "$B/m"
	assert_output 'put'
	run get -I "$B/m"
	assert_line -n 0 'HTTP/1.1 200 OK'
	run get -X PATCH "$B/m"
	assert_output "HTTP/1.1 405 Method Not Allowed
Content-Type: text/html; charset=UTF-8
Allow: GET, HEAD, POST, PUT
Server: whirl/$V
Content-Length: 87

<html><title>405: Method Not Allowed</title><body>405: Method Not Allowed</body></html>"
	run get "$B/d"
	assert_line 'Allow: DELETE'
}

#
# status: and redirect:
#

@test "status: CODE alone is Tornado's page; CODE:BODY is the body" {
	serve '/t=status:418' '/c=status:201:made\n' '/n=status:204'
	run get "$B/t"
	assert_output "HTTP/1.1 418 I'm a Teapot
Content-Type: text/html; charset=UTF-8
Server: whirl/$V
Content-Length: 75

<html><title>418: I'm a Teapot</title><body>418: I'm a Teapot</body></html>"
	run get "$B/c"
	assert_output "HTTP/1.1 201 Created
Content-Type: text/plain; charset=utf-8
Server: whirl/$V
Content-Length: 5

made"
	run get "$B/n"
	assert_output "HTTP/1.1 204 No Content
Content-Type: text/html; charset=UTF-8
Server: whirl/$V"
}

@test "redirect: 301 by default, CODE, {0} {1} {name}, the query kept" {
	serve '/old/(\w+)/(?P<n>\d+)=redirect:/new/{n}/{1}?from={0}' \
	    '/t=redirect:307:http://example.com/' '/b=redirect:/{{x}}'
	run get "$B/old/abc/12?q=1"
	assert_output "HTTP/1.1 301 Moved Permanently
Content-Type: text/html; charset=UTF-8
Location: /new/12/abc?from=/old/abc/12&q=1
Server: whirl/$V
Content-Length: 0"
	run get "$B/t"
	assert_line -n 0 'HTTP/1.1 307 Temporary Redirect'
	assert_line 'Location: http://example.com/'
	run get "$B/b"
	assert_line 'Location: /{x}'
}

#
# file: and dir:
#

@test "file: the file, its type, ETag and Last-Modified; 404 when gone" {
	serve "/f=file:$SITE/pub/style.css" "/g=file:$SITE/nothing"
	run get "$B/f"
	assert_output "HTTP/1.1 200 OK
Content-Type: text/css; charset=utf-8
ETag: $(etag "$SITE/pub/style.css")
$LM
Accept-Ranges: bytes
Server: whirl/$V
Content-Length: 20

body { color: red }"
	run curl -sS -o /dev/null -w '%{http_code}' "$B/g"
	assert_output 404
}

@test "304: If-None-Match, then If-Modified-Since" {
	serve "/f=file:$SITE/pub/style.css"
	tag=$(etag "$SITE/pub/style.css")
	run get -H "If-None-Match: W/\"x\", $tag" "$B/f"
	assert_output "HTTP/1.1 304 Not Modified
ETag: $tag
$LM
Accept-Ranges: bytes
Server: whirl/$V"
	run curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' "$B/f"
	assert_output 200
	run curl -sS -o /dev/null -w '%{http_code}' -H 'If-Modified-Since: Fri, 02 Jan 2026 03:04:05 GMT' "$B/f"
	assert_output 304
	run curl -sS -o /dev/null -w '%{http_code}' -H 'If-Modified-Since: Fri, 02 Jan 2026 03:04:04 GMT' "$B/f"
	assert_output 200
	# If-None-Match wins over If-Modified-Since.
	run curl -sS -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' -H 'If-Modified-Since: Fri, 02 Jan 2026 03:04:05 GMT' "$B/f"
	assert_output 200
}

@test "206 and 416: one byte range, If-Range" {
	serve "/(.*)=dir:$SITE/pub"
	run get -H 'Range: bytes=2-4' "$B/digits.txt"
	assert_output "HTTP/1.1 206 Partial Content
Content-Type: text/plain; charset=utf-8
ETag: $(etag "$SITE/pub/digits.txt")
$LM
Accept-Ranges: bytes
Content-Range: bytes 2-4/10
Server: whirl/$V
Content-Length: 3

234"
	run curl -sS -H 'Range: bytes=-3' "$B/digits.txt"
	assert_output '789'
	run curl -sS -H 'Range: bytes=8-' "$B/digits.txt"
	assert_output '89'
	run get -H 'Range: bytes=10-' "$B/digits.txt"
	assert_line -n 0 'HTTP/1.1 416 Range Not Satisfiable'
	assert_line 'Content-Range: bytes */10'
	assert_line '<html><title>416: Range Not Satisfiable</title><body>416: Range Not Satisfiable</body></html>'
	# Several ranges: the whole file, as Tornado does.
	run curl -sS -w ' %{http_code}' -H 'Range: bytes=0-1,4-5' "$B/digits.txt"
	assert_output '0123456789 200'
	run curl -sS -w ' %{http_code}' -H 'Range: bytes=0-1' -H 'If-Range: "old"' "$B/digits.txt"
	assert_output '0123456789 200'
	run curl -sS -w ' %{http_code}' -H 'Range: bytes=0-1' -H "If-Range: $(etag "$SITE/pub/digits.txt")" "$B/digits.txt"
	assert_output '01 206'
	# Large files go out in pieces, whole and in ranges.
	run sh -c "curl -sS -H 'Range: bytes=1000000-1000009' '$B/huge.txt'"
	assert_output 'xxxxxxxxxx'
	curl -sS -o "$BATS_TEST_TMPDIR/huge" "$B/huge.txt"
	cmp "$BATS_TEST_TMPDIR/huge" "$SITE/pub/huge.txt"
}

@test "dir: index.html, a directory without its slash redirected, group 1 or named" {
	serve "/s/(.*)=dir:$SITE/pub" "/n/(?P<p>.*)=dir:$SITE/pub" "/t/=dir:$SITE/pub"
	run get "$B/s/"
	assert_output "HTTP/1.1 200 OK
Content-Type: text/html; charset=utf-8
ETag: $(etag "$SITE/pub/index.html")
$LM
Accept-Ranges: bytes
Server: whirl/$V
Content-Length: 14

<h1>home</h1>"
	run get "$B/s/sub?x=1"
	assert_output "HTTP/1.1 301 Moved Permanently
Content-Type: text/html; charset=UTF-8
Location: /s/sub/?x=1
Server: whirl/$V
Content-Length: 0"
	run curl -sS "$B/n/sub/a.txt"
	assert_output 'inner'
	run curl -sS "$B/t/sub/a.txt"
	assert_output 'inner'
	run curl -sS "$B/t/"
	assert_output '<h1>home</h1>'
	# No index.html and no --listing: 403.
	run curl -sS -w ' %{http_code}' "$B/s/sub/"
	assert_output '<html><title>403: Forbidden</title><body>403: Forbidden</body></html> 403'
}

@test "dir: --listing, names escaped in the link and the text" {
	serve --listing "/(.*)=dir:$SITE/pub"
	run curl -sS "$B/sub/"
	assert_output '<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>Index of /sub/</title>
</head>
<body>
<h1>Index of /sub/</h1>
<ul>
<li><a href="../">../</a></li>
<li><a href="a.txt">a.txt</a></li>
</ul>
</body>
</html>'
	rm "$SITE/pub/index.html"
	run curl -sS "$B/"
	printf '<h1>home</h1>\n' >"$SITE/pub/index.html"
	touch -d '2026-01-02 03:04:05 UTC' "$SITE/pub/index.html" "$SITE/pub"
	assert_line '<li><a href="%3Cb%3E%26amp%3B.txt">&lt;b&gt;&amp;amp;.txt</a></li>'
	assert_line '<li><a href="a%5Cb">a\b</a></li>'
	assert_line '<li><a href="sub/">sub/</a></li>'
	refute_line --partial '.env'
	refute_line --partial '.git'
	refute_line --partial '../'
}

@test "dir: dotfiles refused unless --dotfiles" {
	serve "/(.*)=dir:$SITE/pub"
	run curl -sS -w ' %{http_code}' "$B/.env"
	assert_output '<html><title>404: Not Found</title><body>404: Not Found</body></html> 404'
	run curl -sS -o /dev/null -w '%{http_code}' "$B/.git/config"
	assert_output 404
	restart
	serve --dotfiles "/(.*)=dir:$SITE/pub"
	run curl -sS "$B/.env"
	assert_output 'dot'
	run curl -sS "$B/.git/config"
	assert_output '[core]'
}

@test "traversal: not one byte from outside the root" {
	under_valgrind && skip "under valgrind: no openat2 (valgrind 3.19), and lib/static.c's fallback follows no link at all"
	serve --dotfiles "/s/(.*)=dir:$SITE/pub"
	for path in '/s/../secret.txt' '/s/..%2fsecret.txt' '/s/%2e%2e/secret.txt' \
	    '/s/%2E%2E%2Fsecret.txt' '/s/%252e%252e/secret.txt' \
	    '/s/..%5csecret.txt' '/s/..\secret.txt' '/s/out' '/s/passwd' \
	    '/s//etc/passwd' '/s/%2fetc%2fpasswd' '/s/sub/../../secret.txt' \
	    '/s/%00' '/s/index.html%00.txt' '/s/sub/%2e%2e/%2e%2e/secret.txt'; do
		run curl -sS --path-as-is -w ' %{http_code}' "$B$path"
		refute_output --partial 'secret outside'
		refute_output --partial 'root:'
		[[ $output == *' 403' || $output == *' 404' ]] ||
			{ echo "$path: $output"; false; }
	done
	run curl -sS --path-as-is -w ' %{http_code}' "$B/s/..%2fsecret.txt"
	assert_output '<html><title>403: Forbidden</title><body>403: Forbidden</body></html> 403'
	run curl -sS -w ' %{http_code}' "$B/s/out"
	assert_output '<html><title>403: Forbidden</title><body>403: Forbidden</body></html> 403'
	run curl -sS "$B/s/in"
	assert_output 'inner'
	run curl -sS "$B/s/a%5Cb"
	assert_output 'back'
	# Absolute-form targets carry only their path.
	run /usr/bin/python3 "$PEER" raw "$SRV_PORT" \
	    'GET http://x/s/../secret.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	assert_line -n 0 'HTTP/1.1 403 Forbidden'
	refute_output --partial 'secret outside'
	run /usr/bin/python3 "$PEER" raw "$SRV_PORT" \
	    'GET http://x/s/sub/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	assert_line 'inner'
}

#
# Options
#

@test "--gzip: text types compressed when accepted, Vary always" {
	serve --gzip "/(.*)=dir:$SITE/pub" '/t=text:short'
	run get --compressed "$B/big.txt"
	assert_line -n 0 'HTTP/1.1 200 OK'
	assert_line 'Content-Encoding: gzip'
	assert_line 'Vary: Accept-Encoding'
	assert_line "ETag: W/$(etag "$SITE/pub/big.txt")"
	curl -sS --compressed -o "$BATS_TEST_TMPDIR/big" "$B/big.txt"
	cmp "$BATS_TEST_TMPDIR/big" "$SITE/pub/big.txt"
	run sh -c "curl -sS -H 'Accept-Encoding: gzip' '$B/big.txt' | gzip -dc | cmp - '$SITE/pub/big.txt' && echo same"
	assert_output same
	run get "$B/big.txt"
	refute_line 'Content-Encoding: gzip'
	assert_line 'Vary: Accept-Encoding'
	assert_line 'Content-Length: 13893'
	# Large files stream through gzip, chunked.
	run get --compressed -o /dev/null -D - "$B/huge.txt"
	assert_line 'Transfer-Encoding: chunked'
	curl -sS --compressed -o "$BATS_TEST_TMPDIR/huge" "$B/huge.txt"
	cmp "$BATS_TEST_TMPDIR/huge" "$SITE/pub/huge.txt"
	# Short bodies are not worth it.
	run get --compressed "$B/t"
	refute_line 'Content-Encoding: gzip'
}

@test "-H: on every response; Server replaces the server's name" {
	serve -H 'X-A: 1' -H 'X-B:two words' -H 'Server: mine/1' '/t=text:t'
	run get "$B/t"
	assert_output "HTTP/1.1 200 OK
Content-Type: text/plain; charset=utf-8
X-A: 1
X-B: two words
Server: mine/1
Content-Length: 1

t"
	run get "$B/nope"
	assert_line 'X-A: 1'
	assert_line 'X-B: two words'
}

@test "--cors: the header, and preflights answered" {
	serve --cors 'https://a.example' 'GET,POST /api=text:{}'
	run get "$B/api"
	assert_line 'Access-Control-Allow-Origin: https://a.example'
	run get -X OPTIONS -H 'Origin: https://a.example' \
	    -H 'Access-Control-Request-Method: POST' \
	    -H 'Access-Control-Request-Headers: content-type' "$B/api"
	assert_output "HTTP/1.1 204 No Content
Access-Control-Allow-Methods: GET, HEAD, POST
Access-Control-Allow-Headers: content-type
Access-Control-Max-Age: 86400
Access-Control-Allow-Origin: https://a.example
Server: whirl/$V"
}

@test "access log: Tornado's line at I, W and E; -q silences it" {
	serve '/e=status:503' '/=text:x'
	curl -sS -o /dev/null "$B/?a=1"
	curl -sS -o /dev/null "$B/nope"
	curl -sS -o /dev/null "$B/e"
	wait_for_line "$BATS_TEST_TMPDIR/srv.err" ' 503 GET /e '
	run grep '^\[' "$BATS_TEST_TMPDIR/srv.err"
	assert_line -n 0 --regexp '^\[I [0-9]{6} [0-9]{2}:[0-9]{2}:[0-9]{2} web:2239\] 200 GET /\?a=1 \(127\.0\.0\.1\) [0-9]+\.[0-9]{2}ms$'
	assert_line -n 1 --regexp '^\[W [0-9]{6} [0-9:]{8} web:2239\] 404 GET /nope \(127\.0\.0\.1\) [0-9]+\.[0-9]{2}ms$'
	assert_line -n 2 --regexp '^\[E [0-9]{6} [0-9:]{8} web:2239\] 503 GET /e \(127\.0\.0\.1\) [0-9]+\.[0-9]{2}ms$'
	restart
	serve -q
	curl -sS -o /dev/null "$B/"
	curl -sS -o /dev/null "$B/nope"
	run cat "$BATS_TEST_TMPDIR/srv.err"
	assert_output "$SRV_PORT
whirl-serve: listening on http://127.0.0.1:$SRV_PORT/"
}

@test "--access-log FILE and --log-format combined and json" {
	log=$BATS_TEST_TMPDIR/access.log
	serve --access-log "$log" --log-format combined
	curl -sS -o /dev/null -A 'ua "x"' -e 'http://ref/' "$B/?q=1"
	wait_for_line "$log" 'GET'
	run cat "$log"
	assert_output --regexp '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} [+-][0-9]{4}\] "GET /\?q=1 HTTP/1\.1" 200 12 "http://ref/" "ua \\x22x\\x22"$'
	run grep -c web: "$BATS_TEST_TMPDIR/srv.err"
	assert_output 0
	restart
	serve --access-log "$log" --log-format json
	curl -sS -o /dev/null -I "$B/nope"
	wait_for_line "$log" 'HEAD'
	run tail -n 1 "$log"
	assert_output --regexp '^\{"time":"[0-9-]{10}T[0-9:]{8}[+-][0-9]{2}:[0-9]{2}","remote_ip":"127\.0\.0\.1","method":"HEAD","uri":"/nope","version":"HTTP/1\.1","status":404,"bytes":0,"duration_ms":[0-9]+\.[0-9]{2},"referer":null,"user_agent":"curl/[^"]*"\}$'
	run whirl-serve --access-log /nonexistent/dir/log
	assert_failure 1
	assert_output --partial 'whirl-serve: open /nonexistent/dir/log: No such file or directory'
}

@test "-v: debug lines" {
	serve -v '/x=text:x'
	curl -sS -o /dev/null "$B/x"
	wait_for_line "$BATS_TEST_TMPDIR/srv.err" "^\[D .*GET /x: route '/x'"
}

#
# Bad input and limits
#

# bad REQUEST STATUS: the request gets STATUS and a close; a new
# connection is then served.
bad() {
	run /usr/bin/python3 "$PEER" raw "$SRV_PORT" "$1"
	assert_line -n 0 "$2"
	assert_line '[eof]'
	run curl -sS "$B/"
	assert_output 'Hello, world'
}

@test "bad input: each malformed request gets 400 and a close" {
	serve
	bad 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n' 'HTTP/1.1 400 Bad Request'
	bad 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab' 'HTTP/1.1 400 Bad Request'
	bad 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n' 'HTTP/1.1 400 Bad Request'
	bad 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' 'HTTP/1.1 400 Bad Request'
	bad 'GET / HTTP/1.1\r\nHost : x\r\n\r\n' 'HTTP/1.1 400 Bad Request'
	bad 'GET / HTTP/9.9 extra\r\n\r\n' 'HTTP/1.1 400 Bad Request'
	bad 'GE T / HTTP/1.1\r\n\r\n' 'HTTP/1.1 400 Bad Request'
	bad 'GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n' 'HTTP/1.1 400 Bad Request'
	# RFC 9112 3.2: an HTTP/1.1 request has one Host, no more, no less
	bad 'GET / HTTP/1.1\r\n\r\n' 'HTTP/1.1 400 Bad Request'
	bad 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n' 'HTTP/1.1 400 Bad Request'
	bad 'GET / HTTP/1.0\r\nHost: a\r\nhost: a\r\n\r\n' 'HTTP/1.1 400 Bad Request'
	run /usr/bin/python3 "$PEER" raw "$SRV_PORT" 'GET / HTTP/1.0\r\n\r\n'
	assert_line -n 0 'HTTP/1.1 200 OK'
	assert_line -n 6 'Hello, world'
	assert_line -n 7 '[eof]'
	run /usr/bin/python3 "$PEER" raw "$SRV_PORT" 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
	assert_output "HTTP/1.1 400 Bad Request
Content-Type: text/html; charset=UTF-8
Date: ${lines[2]#Date: }
Server: whirl/$V
Connection: close
Content-Length: 73

<html><title>400: Bad Request</title><body>400: Bad Request</body></html>
[eof]"
}

@test "limits: 414, 431, 413, each with its option" {
	serve --max-request-line 1K --max-header-size 2K --max-header-fields 10 \
	    --max-body-size 100 'POST /p=text:ok' '/=text:Hello, world'
	bad "GET /$(printf 'a%.0s' $(seq 1100)) HTTP/1.1\r\n\r\n" 'HTTP/1.1 414 URI Too Long'
	bad "GET / HTTP/1.1\r\nX: $(printf 'a%.0s' $(seq 2100))\r\n\r\n" 'HTTP/1.1 431 Request Header Fields Too Large'
	bad "GET / HTTP/1.1\r\n$(for i in $(seq 11); do printf 'X%d: 1\\r\\n' "$i"; done)\r\n" 'HTTP/1.1 431 Request Header Fields Too Large'
	bad "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n" 'HTTP/1.1 413 Content Too Large'
	run curl -sS -d "$(printf 'b%.0s' $(seq 100))" "$B/p"
	assert_output ok
}

@test "keep-alive and pipelining: answers in order on one connection" {
	serve '/a=text:A' '/b=text:B'
	run /usr/bin/python3 "$PEER" raw "$SRV_PORT" \
	    'GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
	run grep -oE '^[AB]|HTTP/1.1 200 OK|\[eof\]' <<<"$output"
	assert_output 'HTTP/1.1 200 OK
A
HTTP/1.1 200 OK
B
HTTP/1.1 200 OK
A
[eof]'
}

@test "slowloris: a head dripping in is cut off at --head-timeout" {
	serve --head-timeout 0.5
	run /usr/bin/python3 "$PEER" drip "$SRV_PORT" \
	    'GET / HTTP/1.1\r\nHost: x\r\nX-1: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nX-2: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n\r\n' 0.1
	assert_output 'closed after part'
	run curl -sS "$B/"
	assert_output 'Hello, world'
}

@test "1,000 concurrent connections, each doing a request, all succeed" {
	serve -q
	run /usr/bin/python3 "$PEER" many "$SRV_PORT" 1000
	assert_output 1000
	run curl -sS "$B/"
	assert_output 'Hello, world'
}

#
# WebSocket routes
#

# A valid Sec-WebSocket-Key (RFC 6455's example).
KEY=dGhlIHNhbXBsZSBub25jZQ==

@test "ws-echo: PREFIX with escapes, text and binary; deflate unless --ws-no-deflate" {
	serve '/e=ws-echo:\t> ' '/plain=ws-echo'
	run wspeer talk "ws://127.0.0.1:$SRV_PORT/e" 'a b' b:01 ''
	assert_output "	> a b
b:093e2001
	> 
closed 1000 "
	long=$(printf 'compress me %.0s' $(seq 300))
	run wspeer talk "ws://127.0.0.1:$SRV_PORT/plain" "$long"
	assert_output "$long
closed 1000 "
	run wspeer handshake "ws://127.0.0.1:$SRV_PORT/plain"
	assert_output '101 permessage-deflate'
	run wspeer handshake "ws://127.0.0.1:$SRV_PORT/plain" --no-deflate
	assert_output '101 -'
	restart
	serve --ws-no-deflate '/plain=ws-echo'
	run wspeer handshake "ws://127.0.0.1:$SRV_PORT/plain"
	assert_output '101 -'
	run wspeer talk "ws://127.0.0.1:$SRV_PORT/plain" "$long"
	assert_output "$long
closed 1000 "
}

@test "ws-exec: a sh script reads lines and answers; its exit closes with 1000" {
	cat >"$BATS_TEST_TMPDIR/answer.sh" <<'SH'
while read -r line; do
	echo "you sent: $line"
	[ "$line" = bye ] && { echo 'see you'; exit 0; }
done
SH
	serve "/chat=ws-exec:sh $BATS_TEST_TMPDIR/answer.sh"
	run wspeer talk "ws://127.0.0.1:$SRV_PORT/chat" --wait-close hello 'é ü' bye
	assert_output 'you sent: hello
you sent: é ü
you sent: bye
see you
closed 1000 '
}

@test "ws-exec: \$1.. and CGI variables; a line not UTF-8 goes binary; binary in is 1003" {
	serve '/run/(\w+)/(\w+)=ws-exec:echo "$1-$2 $QUERY_STRING $REMOTE_ADDR"; printf "\377\r\n"; printf last' \
	    '/cat=ws-exec:cat'
	run wspeer talk "ws://127.0.0.1:$SRV_PORT/run/ab/cd?x=1&y=2" --wait-close
	assert_output 'ab-cd x=1&y=2 127.0.0.1
b:ff
last
closed 1000 '
	run wspeer talk "ws://127.0.0.1:$SRV_PORT/cat" one b:00
	assert_output 'one
closed 1003 text messages only'
}

@test "ws-exec: the client leaving kills the program's process group" {
	pids=$BATS_TEST_TMPDIR/pids
	serve "/k=ws-exec:sleep 300 & echo \$! >$pids; echo \$\$ >>$pids; echo ready; wait"
	run wspeer first "ws://127.0.0.1:$SRV_PORT/k"
	assert_output 'ready
closed 1000 '
	run wc -l <"$pids"
	assert_output 2
	for pid in $(cat "$pids"); do
		gone "$pid"
	done
}

@test "ws-broadcast: three clients get every message in order; a slow one is closed with 1008" {
	serve --ws-max-queue 256K '/room=ws-broadcast'
	# Enough to fill the slow client's socket buffers, then the queue.
	wmem=$(awk '{ print $3 }' /proc/sys/net/ipv4/tcp_wmem)
	n=$(((wmem + 2 * 262144) / 65536 + 16))
	run wspeer room "ws://127.0.0.1:$SRV_PORT/room" "$n" 65536
	assert_output "client 1: $n of $n, in order
client 2: $n of $n, in order
client 3: $n of $n, in order
slow client: close 1008"
	run wspeer talk "ws://127.0.0.1:$SRV_PORT/room" 'still here'
	assert_output 'still here
closed 1000 '
}

@test "Origin: Tornado's check_origin; --ws-origin allows more, '*' any" {
	serve --ws-origin https://app.example
	run wspeer handshake "ws://127.0.0.1:$SRV_PORT/websocket" - \
	    "http://127.0.0.1:$SRV_PORT" https://app.example \
	    https://evil.example "http://127.0.0.1:$((SRV_PORT + 1))"
	assert_output '101 permessage-deflate
101 permessage-deflate
101 permessage-deflate
refused 403
refused 403'
	run get -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
	    -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $KEY" \
	    -H 'Origin: https://evil.example' "$B/websocket"
	assert_output "HTTP/1.1 403 Forbidden
Content-Type: text/plain; charset=utf-8
Server: whirl/$V
Content-Length: 35

Cross origin websockets not allowed"
	restart
	serve --ws-origin '*'
	run wspeer handshake "ws://127.0.0.1:$SRV_PORT/websocket" https://evil.example
	assert_output '101 permessage-deflate'
}

@test "handshakes: 426 names version 13, 400 for a bad or missing key, GET only" {
	serve
	up=(-H 'Connection: Upgrade' -H 'Upgrade: websocket')
	run get "${up[@]}" -H 'Sec-WebSocket-Version: 8' -H "Sec-WebSocket-Key: $KEY" "$B/websocket"
	assert_output "HTTP/1.1 426 Upgrade Required
Content-Type: text/html; charset=UTF-8
Sec-WebSocket-Version: 13
Server: whirl/$V
Content-Length: 83

<html><title>426: Upgrade Required</title><body>426: Upgrade Required</body></html>"
	bad_key="HTTP/1.1 400 Bad Request
Content-Type: text/plain; charset=utf-8
Server: whirl/$V
Content-Length: 33

Missing/Invalid WebSocket headers"
	run get "${up[@]}" -H 'Sec-WebSocket-Version: 13' "$B/websocket"
	assert_output "$bad_key"
	run get "${up[@]}" -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: c2hvcnQ=' "$B/websocket"
	assert_output "$bad_key"
	run get -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $KEY" "$B/websocket"
	assert_output "HTTP/1.1 400 Bad Request
Content-Type: text/plain; charset=utf-8
Server: whirl/$V
Content-Length: 31

\"Connection\" must be \"Upgrade\"."
	run get -X POST "${up[@]}" -H 'Sec-WebSocket-Version: 13' -H "Sec-WebSocket-Key: $KEY" "$B/websocket"
	assert_line -n 0 'HTTP/1.1 405 Method Not Allowed'
	assert_line 'Allow: GET, HEAD'
	wait_for_line "$BATS_TEST_TMPDIR/srv.err" ' 405 POST /websocket '
	run grep -oE '\] [0-9]{3} [A-Z]+ /websocket' "$BATS_TEST_TMPDIR/srv.err"
	assert_output '] 426 GET /websocket
] 400 GET /websocket
] 400 GET /websocket
] 400 GET /websocket
] 405 POST /websocket'
}

@test "--ws-max-message: a larger message is closed with 1009" {
	serve --ws-max-message 1K '/e=ws-echo'
	a=$(printf 'a%.0s' $(seq 1024))
	run wspeer talk "ws://127.0.0.1:$SRV_PORT/e" "$a" "${a}b"
	assert_output "$a
closed 1009 "
	run whirl-serve --ws-max-message 0
	assert_failure 2
	assert_line -n 0 "whirl-serve: bad --ws-max-message '0' (bytes, K, M or G)"
}

@test "SIGTERM: WebSockets get 1001, ws-exec programs end, exit 0" {
	serve '/websocket=ws-echo:You said: ' '/cat=ws-exec:cat'
	start_bg echo /usr/bin/python3 "$WHIRL_ROOT/tests/peers/wspeer.py" hold "ws://127.0.0.1:$SRV_PORT/websocket"
	echo_pid=$BG_PID
	start_bg cat /usr/bin/python3 "$WHIRL_ROOT/tests/peers/wspeer.py" hold "ws://127.0.0.1:$SRV_PORT/cat"
	cat_pid=$BG_PID
	wait_for_line "$BATS_TEST_TMPDIR/echo.out" '^open$'
	wait_for_line "$BATS_TEST_TMPDIR/cat.out" '^open$'
	kill -TERM "$SRV_PID"
	reap "$echo_pid"
	[ "$reaped" = 0 ]
	reap "$cat_pid"
	[ "$reaped" = 0 ]
	run cat "$BATS_TEST_TMPDIR/echo.out"
	assert_output 'You said: hi
open
closed 1001 server shutting down'
	run cat "$BATS_TEST_TMPDIR/cat.out"
	assert_output 'hi
open
closed 1001 server shutting down'
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
}

#
# Peers
#

@test "interop: tornado.httpclient" {
	/usr/bin/python3 -c 'import tornado' 2>/dev/null || skip 'python3-tornado is not installed'
	serve 'GET /=text:Hello, world' 'POST /post=text:posted'
	run /usr/bin/python3 "$PEER" tornado "$B/"
	assert_output "200 text/plain; charset=utf-8 Hello, world
200 12 b''
404 <html><title>404: Not Found</title><body>404: Not Found</body></html>
200 posted"
}

@test "interop: http.client keeps one connection for three requests" {
	serve 'GET /=text:Hello, world' 'POST /post=text:posted'
	run /usr/bin/python3 "$PEER" httpclient "$SRV_PORT"
	assert_output "200 OK 12 b'Hello, world' None
200 OK 12 b'' None
200 OK 6 b'posted' None
one connection: True"
}

#
# The man page and the completion
#

@test "man page: every option --help lists is described" {
	man=$WHIRL_ROOT/man/whirl-serve.1
	for opt in $(whirl-serve --help | grep -oE -- '--[a-z-]+' | sort -u); do
		grep -q -- "^\.It .*Fl -${opt#--}\>" "$man" ||
			{ echo "missing $opt"; false; }
	done
}

@test "bash completion: options, --log-format values, route kinds, paths" {
	comp=$WHIRL_ROOT/scripts/bash-completion/whirl-serve
	cd "$SITE"
	complete_words() {
		bash -c 'source "$1"; shift; COMP_WORDS=("$@");
		    COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _whirl_serve;
		    echo "${COMPREPLY[*]}"' _ "$comp" "$@"
	}
	run complete_words whirl-serve --log-format ''
	assert_output 'tornado combined json'
	run complete_words whirl-serve --do
	assert_output '--dotfiles'
	# Split at '=' and ':' (bash's default COMP_WORDBREAKS) or whole.
	run complete_words whirl-serve /s/ = di
	assert_output 'dir'
	run complete_words whirl-serve /s/ = dir : pu
	assert_output 'pub'
	run complete_words whirl-serve '/s/=dir:pu'
	assert_output '/s/=dir:pub'
	run complete_words whirl-serve '/x=te'
	assert_output '/x=text:'
	run complete_words whirl-serve /ws = ws-
	assert_output 'ws-echo ws-exec ws-broadcast'
	run complete_words whirl-serve '/x=ws-b'
	assert_output '/x=ws-broadcast'
	run complete_words whirl-serve --ws
	assert_output '--ws-max-message --ws-max-queue --ws-no-deflate --ws-origin'
}
