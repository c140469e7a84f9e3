#!/usr/bin/env bats
# review.bats - the security defaults, checked from outside (issue 11's
# review list), where the feature suites leave a gap: static paths that
# would leave the root, dotfiles by any spelling, CR and LF that must never
# reach the wire (options, URLs, CGI heads, redirect captures), names
# reflected into HTML, Origin on every WebSocket kind, TLS 1.2 as the
# oldest version each side accepts, and certificate verification on by
# default in every client tool.
#
# Already covered elsewhere, and not repeated here: serve.bats ("traversal:
# not one byte from outside the root", "dir: dotfiles refused unless
# --dotfiles", "dir: --listing, names escaped", "Origin: Tornado's
# check_origin"), serve-exec.bats ("cgi: RFC 3875 variables, exact; Proxy:
# never becomes HTTP_PROXY", "cgi: a bare CR, a bad name or a head past 64
# KiB is a 502"), fetch.bats ("TLS: verified by default, --cacert, -k") and
# ws.bats ("wss refused with a wrong CA or none, status 3; -k and -n").

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	local d=$BATS_FILE_TMPDIR
	export CERTS=$d/certs
	"$WHIRL_ROOT/scripts/gen-test-certs" "$CERTS"
	# A self-signed certificate: no CA anywhere vouches for it.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/self.key" -out "$d/self.pem" -days 2 \
	    -subj /CN=localhost \
	    -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' 2>/dev/null
	# An OpenSSL configuration that allows TLS 1.0 and 1.1 (Debian's
	# does not): under it only whirl's own minimum can refuse them.
	export LEGACY=$d/legacy.cnf
	cat >"$LEGACY" <<'EOF'
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1
CipherString = DEFAULT:@SECLEVEL=0
EOF
	# A site: a secret beside the root, links out of it in several ways,
	# dotfiles, and names that mean something in HTML.
	export SITE=$d/site
	mkdir -p "$SITE/pub/sub" "$SITE/pub/.hid" "$SITE/pub/<i>\"&'"
	printf 'secret outside\n' >"$SITE/secret.txt"
	printf 'inner\n' >"$SITE/pub/sub/a.txt"
	printf 'dot\n' >"$SITE/pub/.env"
	printf 'hidden\n' >"$SITE/pub/.hid/f"
	printf 'x\n' >"$SITE/pub/<script>.txt"
	printf 'x\n' >"$SITE/pub/a&b\"c'.txt"
	printf 'x\n' >"$SITE/pub/<i>\"&'/in.txt"
	ln -s /etc "$SITE/pub/etcdir"
	ln -s .. "$SITE/pub/up"
	ln -s out "$SITE/pub/chain"
	ln -s ../secret.txt "$SITE/pub/out"
	ln -s sub "$SITE/pub/subln"
}

# The server a test started stops on SIGTERM with status 0, and no log of
# the test holds a sanitizer report (the sanitize tier checks for leaks at
# exit).
teardown() {
	local st=0
	if [ -n "${SRV_PID-}" ] && kill -0 "$SRV_PID" 2>/dev/null; then
		kill -TERM "$SRV_PID"
		wait_pid "$SRV_PID" 20 >/dev/null || true
		st=$WAIT_STATUS
	fi
	stop_started
	! grep -E 'Sanitizer|runtime error:' "$BATS_TEST_TMPDIR"/*.err >&2 &&
	    [ "$st" = 0 ]
}

# serve ARGS...: whirl-serve on port 0, quiet; SRV_PORT and $B.
serve() {
	start_server srv whirl-serve -q --print-port -p 0 "$@"
	B=http://127.0.0.1:$SRV_PORT
}

# code PATH: the status of GET $B/s/PATH, sent as it is; the body must
# hold no byte from outside the root.
code() {
	local body=$BATS_TEST_TMPDIR/body c
	c=$(curl -sS --path-as-is -o "$body" -w '%{http_code}' "$B/s/$1")
	if grep -qE 'secret outside|root:' "$body"; then
		echo "$1: LEAKED"
	else
		echo "$1 $c"
	fi
}

# fpy ARGS... <<'PY': a python snippet that can import faultpeer.
fpy() {
	PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$WHIRL_ROOT/tests/peers \
	    /usr/bin/python3 - "$@"
}

# capture: a server that prints each request head it gets (CAP_PORT;
# the heads in $BATS_TEST_TMPDIR/cap.out, one repr per line).
capture() {
	start_server cap /usr/bin/python3 "$WHIRL_ROOT/tests/peers/faultpeer.py"
}

# heads N: until the capture server has printed N heads; then print them.
heads() {
	local out=$BATS_TEST_TMPDIR/cap.out end=$((SECONDS + 10 * ${WHIRL_SLOW:-1}))
	until [ "$(wc -l <"$out")" -ge "$1" ]; do
		((SECONDS < end)) || break
		sleep 0.02
	done
	cat "$out"
}

@test "static: linked directories, link chains and mixed encodings stay inside the root" {
	under_valgrind && skip "under valgrind: no openat2 (valgrind 3.19), and lib/static.c's fallback follows no link at all"
	serve --listing "/s/(.*)=dir:$SITE/pub"
	run code sub/a.txt
	assert_output 'sub/a.txt 200'
	out=
	for p in etcdir/passwd etcdir/ up/secret.txt up/ chain out \
	    '.%2e/secret.txt' '%2e%2e%2fsecret.txt' 'sub/%2e./%2e./secret.txt' \
	    'sub%2f..%2f..%2fsecret.txt' 'subln/../../secret.txt' \
	    'subln/%2e%2e/%2e%2e/secret.txt' 'a%00b' 'sub/a.txt%00' \
	    'etcdir%00/passwd'; do
		out+="$(code "$p")"$'\n'
	done
	run echo -n "$out"
	assert_output "etcdir/passwd 403
etcdir/ 403
up/secret.txt 403
up/ 403
chain 403
out 403
.%2e/secret.txt 403
%2e%2e%2fsecret.txt 403
sub/%2e./%2e./secret.txt 403
sub%2f..%2f..%2fsecret.txt 403
subln/../../secret.txt 403
subln/%2e%2e/%2e%2e/secret.txt 403
a%00b 404
sub/a.txt%00 404
etcdir%00/passwd 404"
	run code subln/a.txt
	assert_output 'subln/a.txt 200'
}

@test "static: dotfiles refused by every spelling; listings leave them out" {
	serve --listing "/s/(.*)=dir:$SITE/pub"
	out=
	for p in .env %2eenv %2Eenv .hid/f %2ehid/f .hid/ sub/../.env \
	    'sub/%2e%2e/.env' 'sub%2f%2eenv'; do
		out+="$(code "$p")"$'\n'
	done
	run echo -n "$out"
	# A '..' is refused before the dotfile is looked at: 403, not 404.
	assert_output ".env 404
%2eenv 404
%2Eenv 404
.hid/f 404
%2ehid/f 404
.hid/ 404
sub/../.env 403
sub/%2e%2e/.env 403
sub%2f%2eenv 404"
	run curl -sS "$B/s/"
	refute_output --partial '.env'
	refute_output --partial '.hid'
}

@test "-H with CR or LF: each tool refuses it (exit 2), nothing is sent" {
	capture
	u=http://127.0.0.1:$CAP_PORT/
	why=': CR, LF or NUL in the value of header X-A'
	for v in $'a\r\nX-Inj: 1' $'a\nX-Inj: 1' $'a\rX-Inj: 1'; do
		# The message, whole; the usage lines follow it.
		run --separate-stderr whirl-fetch -sS -H "X-A: $v" "$u"
		assert_equal "$status ${stderr%%$'\n'Usage: *}" \
		    "2 whirl-fetch: bad -H 'X-A: $v'$why"
		run --separate-stderr whirl-ws -H "X-A: $v" -x hi "ws://127.0.0.1:$CAP_PORT/"
		assert_equal "$status ${stderr%%$'\n'Usage: *}" \
		    "2 whirl-ws: bad -H 'X-A: $v'$why"
		run --separate-stderr timeout 10 whirl-serve -p 0 -H "X-A: $v"
		assert_equal "$status ${stderr%%$'\n'Usage: *}" \
		    "2 whirl-serve: bad -H 'X-A: $v'$why"
	done
	run --separate-stderr timeout 10 whirl-serve -p 0 --cors $'http://a\r\nX-Inj: 1'
	assert_equal "$status" 2
	run --separate-stderr timeout 10 whirl-serve -p 0 --content-type $'text/plain\r\nX-Inj: 1'
	assert_equal "$status" 2
	run --separate-stderr timeout 10 whirl-serve -p 0 $'/r=redirect:/a\r\nX-Inj: 1'
	assert_equal "$status" 2
	# A control request: the capture server does print what it gets.
	run whirl-fetch -s -H 'X-A: fine' "$u"
	run heads 1
	assert_output "b'GET / HTTP/1.1\\r\\nHost: 127.0.0.1:$CAP_PORT\\r\\nUser-Agent: whirl-fetch/0.1.0\\r\\nAccept: */*\\r\\nX-A: fine\\r\\n\\r\\n'"
}

# whirl-fetch -A, -e, -b NAME=VALUE and whirl-ws -o are checked as -H
# is: a field that could not be sent is a usage error, never silently
# dropped.
@test "other fields from options: -A -e -b and -o with CR or LF refused (exit 2); -u, --auth and URLs encoded" {
	capture
	u=http://127.0.0.1:$CAP_PORT/
	inj=$'x\r\nX-Inj: 1'
	for of in -A:User-Agent: -e:Referer: -b:Cookie:a=; do
		IFS=: read -r opt field pre <<<"$of"
		run --separate-stderr whirl-fetch -s "$opt" "$pre$inj" "$u"
		assert_equal "$opt $status" "$opt 2"
		assert_equal "${stderr_lines[0]}" "whirl-fetch: bad $opt '$pre"$'x\r'
		assert_equal "${stderr_lines[1]}" "X-Inj: 1': CR, LF or NUL in the value of header $field"
	done
	run --separate-stderr whirl-fetch -s -A $'x\x01' "$u"
	assert_equal "-A $status" "-A 2"
	assert_equal "${stderr_lines[0]}" "whirl-fetch: bad -A '"$'x\x01'"': control character in the value of header User-Agent"
	run --separate-stderr whirl-ws -o "$inj" -x hi "ws://127.0.0.1:$CAP_PORT/"
	assert_equal "-o $status" "-o 2"
	assert_equal "${stderr_lines[0]}" "whirl-ws: bad -o 'x"$'\r'
	assert_equal "${stderr_lines[1]}" "X-Inj: 1': CR, LF or NUL in the value of header Origin"
	# Credentials go base64, a URL's %0d%0a stays encoded.
	run whirl-fetch -s -u "$inj:pw" "$u"
	run whirl-ws --auth "$inj:pw" -x hi "ws://127.0.0.1:$CAP_PORT/"
	run whirl-fetch -s "${u}a%0d%0aX-Inj:%201"
	# The heads exactly, but for the WebSocket key, which is random.
	heads 3 | sed -E 's#Key: [A-Za-z0-9+/]{22}==#Key: KEY#' \
	    >"$BATS_TEST_TMPDIR/heads"
	run cat "$BATS_TEST_TMPDIR/heads"
	auth='Authorization: Basic eA0KWC1Jbmo6IDE6cHc=\r\n'
	host="Host: 127.0.0.1:$CAP_PORT\\r\\n"
	fetch="User-Agent: whirl-fetch/0.1.0\\r\\nAccept: */*\\r\\n"
	assert_output "b'GET / HTTP/1.1\\r\\n$host$auth$fetch\\r\\n'
b'GET / HTTP/1.1\\r\\n${host}Upgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Key: KEY\\r\\nSec-WebSocket-Version: 13\\r\\n$auth\\r\\n'
b'GET /a%0d%0aX-Inj:%201 HTTP/1.1\\r\\n$host$fetch\\r\\n'"
}

# whirl-ws once sent "GET /a\r\nX-Inj: 1 HTTP/1.1" as its request line;
# whirl_ws_parse_url now refuses spaces and control characters.
@test "a URL with CR, LF or a space: whirl-fetch and whirl-ws refuse it, nothing is sent" {
	capture
	for bad in $'/a\r\nX-Inj: 1' $'/a\nX-Inj: 1' '/a b' $'/a\tb'; do
		run --separate-stderr whirl-fetch -sS "http://127.0.0.1:$CAP_PORT$bad"
		assert_equal "$status $stderr" \
		    "3 whirl-fetch: (3) URL using bad/illegal format or missing URL"
		run --separate-stderr whirl-ws -x hi "ws://127.0.0.1:$CAP_PORT$bad"
		assert_equal "$status ${stderr%%$'\n'Usage: *}" \
		    "2 whirl-ws: bad URL 'ws://127.0.0.1:$CAP_PORT$bad' (ws://HOST[:PORT]/PATH or wss://...)"
	done
	run whirl-fetch -s "http://127.0.0.1:$CAP_PORT/control"
	run heads 1
	assert_output "b'GET /control HTTP/1.1\\r\\nHost: 127.0.0.1:$CAP_PORT\\r\\nUser-Agent: whirl-fetch/0.1.0\\r\\nAccept: */*\\r\\n\\r\\n'"
}

@test "cgi: CR or NUL in Location, Status or any value, and folded lines: 502, nothing sent" {
	serve '/loc=cgi:printf "Location: /x\rX-Inj: 1\n\n"' \
	    '/nul=cgi:printf "X-A: a\0X-Inj: 1\n\nsent"' \
	    '/status=cgi:printf "Status: 200 OK\rX-Inj: 1\n\nsent"' \
	    '/fold=cgi:printf "X-A: a\n X-Inj: 1\n\nsent"' \
	    '/ct=cgi:printf "Content-Type: text/html\rX-Inj: 1\n\nsent"'
	for p in loc nul status fold ct; do
		run curl -sS -i "$B/$p"
		assert_line -n 0 $'HTTP/1.1 502 Bad Gateway\r'
		refute_output --partial 'X-Inj'
		refute_output --partial 'sent'
	done
	run grep -c 'bad CGI head' "$BATS_TEST_TMPDIR/srv.err"
	assert_output 5
}

@test "redirect: captures stay percent-encoded; raw CR, LF, NUL or controls are 400" {
	serve '/r/(.*)=redirect:/to/{1}' '/n/(?P<x>.*)=redirect:302:http://h/{x}{0}'
	run curl -sS -i "$B/r/a%0d%0aSet-Cookie:%20x=1?q=%0d%0aX-Inj:%201"
	assert_line -n 0 $'HTTP/1.1 301 Moved Permanently\r'
	assert_line $'Location: /to/a%0d%0aSet-Cookie:%20x=1?q=%0d%0aX-Inj:%201\r'
	refute_line --regexp '^(Set-Cookie|X-Inj)'
	run curl -sS -i "$B/n/a%0AX-Inj:%201"
	assert_line $'Location: http://h/a%0AX-Inj:%201/n/a%0AX-Inj:%201\r'
	refute_line --regexp '^X-Inj'
	run fpy "$SRV_PORT" <<'PY'
import sys, faultpeer as f
port = int(sys.argv[1])
for target in (b"/r/a\rX-Inj: 1", b"/r/a\nX-Inj: 1", b"/r/a\x00b",
               b"/r/a\x01b", b"/r/a\x7fb", b"/r/a?q=\rX-Inj: 1"):
    s = f.conn(port)
    s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    data, how = f.read_all(s)
    print(data.split(b"\r\n", 1)[0].decode(), b"X-Inj" in data, how)
PY
	assert_success
	assert_output "HTTP/1.1 400 Bad Request False eof
HTTP/1.1 400 Bad Request False eof
HTTP/1.1 400 Bad Request False eof
HTTP/1.1 400 Bad Request False eof
HTTP/1.1 400 Bad Request False eof
HTTP/1.1 400 Bad Request False eof"
}

@test "HTML: names in listings and titles escaped; error pages reflect no path" {
	serve --listing "/s/(.*)=dir:$SITE/pub"
	run curl -sS "$B/s/"
	assert_line '<li><a href="%3Ci%3E%22%26%27/">&lt;i&gt;&quot;&amp;&#39;/</a></li>'
	assert_line '<li><a href="%3Cscript%3E.txt">&lt;script&gt;.txt</a></li>'
	assert_line '<li><a href="a%26b%22c%27.txt">a&amp;b&quot;c&#39;.txt</a></li>'
	refute_output --partial '<script>'
	run curl -sS "$B/s/%3Ci%3E%22%26'/"
	assert_line "<title>Index of /s/&lt;i&gt;&quot;&amp;&#39;/</title>"
	assert_line "<h1>Index of /s/&lt;i&gt;&quot;&amp;&#39;/</h1>"
	assert_line '<li><a href="in.txt">in.txt</a></li>'
	refute_output --partial '<i>'
	nf='<html><title>404: Not Found</title><body>404: Not Found</body></html>'
	run curl -sS "$B/%3Cscript%3Ealert(1)%3C/script%3E"
	assert_output "$nf"
	run curl -sS "$B/s/%3Cscript%3Enope"
	assert_output "$nf"
	run curl -sS -X POST "$B/s/%3Cscript%3E"
	assert_output '<html><title>405: Method Not Allowed</title><body>405: Method Not Allowed</body></html>'
}

@test "Origin: every WebSocket kind refuses a foreign one with 403 (no program runs); --ws-origin allows it" {
	ran=$BATS_TEST_TMPDIR/ran
	serve '/e=ws-echo' "/x=ws-exec:echo >>$ran; echo hi" '/b=ws-broadcast'
	run fpy "$SRV_PORT" "$ran" <<'PY'
import sys, faultpeer as f
port, ran = int(sys.argv[1]), sys.argv[2]
# The refused first, then the allowed (each waits for the program's
# line): the program must have run for the allowed ones only.
origins = ("http://evil.example", "http://127.0.0.1:%d" % (port + 1), "null",
           None, "http://127.0.0.1:%d" % port)
for path in ("/e", "/x", "/b"):
    got = []
    for o in origins:
        w = f.Ws(port, path, origin=o)
        if w.status == 101 and path == "/x":
            w.recv()
        got.append(w.status)
        w.s.close()
    print(path, got)
print("runs:", len(open(ran).readlines()))
PY
	assert_success
	assert_output "/e [403, 403, 403, 101, 101]
/x [403, 403, 403, 101, 101]
/b [403, 403, 403, 101, 101]
runs: 2"
	stop_started
	serve --ws-origin http://app.example '/x=ws-exec:echo hi'
	run fpy "$SRV_PORT" <<'PY'
import sys, faultpeer as f
port = int(sys.argv[1])
print([f.Ws(port, "/x", origin=o).status for o in
       ("http://app.example", "http://APP.example", "http://app.example.evil",
        "https://app.example")])
PY
	assert_output '[101, 101, 403, 403]'
}

# s_server_www NAME CERT KEY ARGS...: openssl s_server -www on
# 127.0.0.1, port 0 (NAME_PORT), answering connections one at a time.
s_server_www() {
	local name=$1 cert=$2 key=$3 out var
	shift 3
	start_bg "$name" openssl s_server -accept 127.0.0.1:0 -cert "$cert" \
	    -key "$key" -www "$@"
	out=$BATS_TEST_TMPDIR/$name.out
	wait_for_line "$out" '^ACCEPT 127\.0\.0\.1:[0-9]+$'
	var=$(echo "$name" | tr '[:lower:]' '[:upper:]')_PORT
	printf -v "$var" %s "$(sed -n 's/^ACCEPT 127\.0\.0\.1://p' "$out")"
}

@test "TLS 1.2 minimum: whirl-serve and whirl-socket refuse TLS 1.0 and 1.1, even where OpenSSL allows them" {
	OPENSSL_CONF=$LEGACY serve --tls-cert "$CERTS/server.pem" \
	    --tls-key "$CERTS/server.key" '/=text:fine\n'
	OPENSSL_CONF=$LEGACY start_server sock whirl-socket --print-port --tls \
	    --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key" \
	    -lqs -p 'echo fine' 0
	for port in "$SRV_PORT" "$SOCK_PORT"; do
		for v in tls1 tls1_1 tls1_2 tls1_3; do
			run --separate-stderr env OPENSSL_CONF="$LEGACY" \
			    timeout 20 openssl s_client -connect "127.0.0.1:$port" \
			    -"$v" -CAfile "$CERTS/ca.pem" -verify_return_error \
			    -quiet <<<$'GET / HTTP/1.0\r\n\r'
			if [[ $v == tls1 || $v == tls1_1 ]]; then
				assert_equal "$port $v $status" "$port $v 1"
				assert_regex "$stderr" 'tlsv1 alert protocol version'
			else
				# The last line: whirl-serve's body, or whirl-socket's.
				assert_equal "$port $v $status ${output##*$'\n'}" \
				    "$port $v 0 fine"
			fi
		done
	done
}

@test "TLS 1.2 minimum: each client tool refuses a TLS 1.1 server, even where OpenSSL allows it" {
	OPENSSL_CONF=$LEGACY s_server_www old "$CERTS/server.pem" \
	    "$CERTS/server.key" -tls1_1
	# The control: OpenSSL itself, allowed TLS 1.1, gets through.
	run env OPENSSL_CONF="$LEGACY" timeout 10 openssl s_client -brief \
	    -connect "127.0.0.1:$OLD_PORT" -tls1_1 </dev/null
	assert_line 'Protocol version: TLSv1.1'
	export OPENSSL_CONF=$LEGACY
	run --separate-stderr whirl-fetch -sS --cacert "$CERTS/ca.pem" \
	    "https://localhost:$OLD_PORT/"
	assert_equal "$status" 35
	assert_equal "$stderr" 'whirl-fetch: (35) TLS connect error: tlsv1 alert protocol version'
	run --separate-stderr whirl-fetch -sS -k "https://localhost:$OLD_PORT/"
	assert_equal "$status" 35
	run --separate-stderr whirl-ws --cacert "$CERTS/ca.pem" -x hi \
	    "wss://localhost:$OLD_PORT/"
	assert_equal "$status" 3
	assert_equal "$stderr" 'whirl-ws: tls: tlsv1 alert protocol version'
	run --separate-stderr whirl-socket --tls --cacert "$CERTS/ca.pem" \
	    localhost "$OLD_PORT" </dev/null
	assert_equal "$status" 71
	assert_equal "$stderr" 'whirl-socket: tls: tlsv1 alert protocol version'
}

@test "certificates verified by default: a self-signed server is refused by each client tool; -k is the way off" {
	d=$BATS_FILE_TMPDIR
	s_server_www self "$d/self.pem" "$d/self.key"
	u=https://localhost:$SELF_PORT/
	run --separate-stderr whirl-fetch -sS "$u"
	assert_equal "$status" 60
	assert_equal "$stderr" 'whirl-fetch: (60) SSL certificate problem: self-signed certificate'
	run --separate-stderr whirl-fetch -sS -k "$u"
	assert_equal "$status" 0
	assert_line -n 0 --partial '<HTML><BODY BGCOLOR="#ffffff">'
	run --separate-stderr whirl-ws -x hi "wss://localhost:$SELF_PORT/"
	assert_equal "$status" 3
	assert_equal "$stderr" 'whirl-ws: tls: certificate verify failed: self-signed certificate'
	# -k gets through TLS; s_server's page is no WebSocket handshake.
	run --separate-stderr whirl-ws -k -x hi "wss://localhost:$SELF_PORT/"
	assert_equal "$status" 4
	assert_equal "$stderr" 'whirl-ws: HTTP/1.1 200 OK'
	run --separate-stderr whirl-socket --tls localhost "$SELF_PORT" </dev/null
	assert_equal "$status" 71
	assert_equal "$stderr" 'whirl-socket: tls: certificate verify failed: self-signed certificate'
	run --separate-stderr whirl-socket --tls --insecure localhost "$SELF_PORT" \
	    <<<$'GET / HTTP/1.0\r\n\r'
	assert_equal "$status" 0
	assert_line -n 0 --partial 'HTTP/1.0 200 ok'
}
