#!/usr/bin/env bats
# fetch.bats - whirl-fetch: every option and exit status, against servers
# started here on 127.0.0.1: nginx (a config written at test time; HTTP,
# HTTPS with the test certificates, static files, gzip, redirects, a
# proxied upstream that nginx sends chunked), whirl-serve's routes,
# tests/peers/http-peer.py (any status, header, cookie, delay or broken
# answer), tests/peers/http-proxy.py (a forward proxy with CONNECT), and
# curl given the same options for a table of requests.

load helpers
bats_require_minimum_version 1.5.0

V=0.1.0

setup_file() {
	local d=$BATS_FILE_TMPDIR ports
	export CERTS=$d/certs WWW=$d/www NGX=$d/nginx
	"$WHIRL_ROOT/scripts/gen-test-certs" "$CERTS"
	mkdir -p "$WWW/sub" "$NGX/tmp"
	printf 'Hello from nginx\n' >"$WWW/hello.txt"
	printf 'in a directory\n' >"$WWW/sub/index.html"
	/usr/bin/python3 -c '
import sys
sys.stdout.write("".join("line %05d of a text that compresses well\n" % i
                         for i in range(4000)))' >"$WWW/big.txt"
	head -c 300000 /dev/urandom >"$WWW/rand.bin"

	start_server peer /usr/bin/python3 "$WHIRL_ROOT/tests/peers/http-peer.py"
	start_server proxy /usr/bin/python3 "$WHIRL_ROOT/tests/peers/http-proxy.py"
	start_server denyproxy /usr/bin/python3 \
	    "$WHIRL_ROOT/tests/peers/http-proxy.py" --deny-connect
	start_server serve whirl-serve -q --print-port -p 0 \
	    'GET /=text:Hello, world' '/gone=status:410:gone for good' \
	    '/to-root=redirect:/' "/file=file:$WWW/hello.txt" \
	    "/files/=dir:$WWW"

	# Six free ports at once for nginx's servers.
	ports=$(/usr/bin/python3 -c '
import socket
ss = [socket.socket() for _ in range(6)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))')
	read -r HTTP HTTPS WRONGCA EXPIRED OTHER CLIENT <<<"$ports"
	export HTTP HTTPS WRONGCA EXPIRED OTHER CLIENT
	export SOCK=$NGX/http.sock
	write_nginx_conf >"$NGX/nginx.conf"
	# Debian puts nginx in /usr/sbin, which a user's PATH may lack; -e
	# keeps it from trying /var/log/nginx before reading the config.
	start_bg nginx "$(command -v nginx || echo /usr/sbin/nginx)" \
	    -e "$NGX/error.log" -c "$NGX/nginx.conf" -p "$NGX"
	wait_for_port "$HTTP" && wait_for_port "$CLIENT" || {
		cat "$NGX/error.log" >&2
		return 1
	}
	export H=http://127.0.0.1:$HTTP P=http://127.0.0.1:$PEER_PORT
	export S=https://localhost:$HTTPS W=http://127.0.0.1:$SERVE_PORT
}

teardown_file() {
	stop_started
}

write_nginx_conf() {
	local ssl="ssl_certificate $CERTS/%s.pem; ssl_certificate_key $CERTS/%s.key;"
	cat <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $NGX/tmp/body;
	proxy_temp_path $NGX/tmp/proxy;
	fastcgi_temp_path $NGX/tmp/fastcgi;
	uwsgi_temp_path $NGX/tmp/uwsgi;
	scgi_temp_path $NGX/tmp/scgi;
	types { text/plain txt; text/html html; application/octet-stream bin; }
	default_type application/octet-stream;
	gzip on;
	gzip_types text/plain;
	gzip_min_length 1;
	root $WWW;
	server {
		listen 127.0.0.1:$HTTP;
		listen unix:$SOCK;
		location = /r301 { return 301 /hello.txt; }
		location = /r302 { return 302 http://localhost:$HTTP/hello.txt; }
		location = /loop { return 302 /loop; }
		location /up/ {
			proxy_pass http://127.0.0.1:$PEER_PORT/;
			proxy_http_version 1.1;
			proxy_buffering off;
		}
	}
	server { listen 127.0.0.1:$HTTPS ssl; $(printf "$ssl" server server) }
	server { listen 127.0.0.1:$WRONGCA ssl;
		$(printf "$ssl" wrongca-server wrongca-server) }
	server { listen 127.0.0.1:$EXPIRED ssl; $(printf "$ssl" expired expired) }
	server { listen 127.0.0.1:$OTHER ssl; $(printf "$ssl" otherhost otherhost) }
	server {
		listen 127.0.0.1:$CLIENT ssl;
		$(printf "$ssl" server server)
		ssl_client_certificate $CERTS/ca.pem;
		ssl_verify_client on;
		location / { return 200 "client \$ssl_client_s_dn\n"; }
	}
}
EOF
}

# fetch ARGS...: run whirl-fetch, stdout and stderr apart (bats' run keeps
# stderr in $stderr).
fetch() {
	run --separate-stderr whirl-fetch "$@"
}

@test "--help, --version and the man page's synopsis" {
	run whirl-fetch --version
	assert_success
	assert_output "whirl-fetch $V"
	run whirl-fetch --help
	assert_success
	assert_line --index 0 "Usage: whirl-fetch [options] URL ..."
	synopsis=$(mandoc -Tascii "$WHIRL_ROOT/man/whirl-fetch.1" |
	    sed 's/.\x08//g' | sed -n '/^SYNOPSIS/{n;p}' | sed 's/^ *//')
	[ "Usage: $synopsis" = "Usage: whirl-fetch [options] URL ..." ]
}

@test "every option --help names is in the man page" {
	page=$(mandoc -Tascii "$WHIRL_ROOT/man/whirl-fetch.1" | sed 's/.\x08//g')
	for opt in $(whirl-fetch --help | grep -oE -- '--[a-z_-]+' | sort -u); do
		grep -qF -- "$opt" <<<"$page" || { echo "missing $opt"; false; }
	done
}

@test "bash completion: options, methods, -w variables, files" {
	comp=$WHIRL_ROOT/scripts/bash-completion/whirl-fetch
	cd "$WWW"
	complete_words() {
		bash -c 'source "$1"; shift; COMP_WORDS=("$@");
		    COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _whirl_fetch;
		    echo "${COMPREPLY[*]}"' _ "$comp" "$@"
	}
	run complete_words whirl-fetch --comp
	assert_output '--compressed'
	run complete_words whirl-fetch --fail
	assert_output '--fail --fail-early --fail-with-body'
	run complete_words whirl-fetch -X P
	assert_output 'POST PUT PATCH'
	run complete_words whirl-fetch -w '%{time_s'
	assert_output '%{time_starttransfer}'
	run complete_words whirl-fetch -o hel
	assert_output 'hello.txt'
	run complete_words whirl-fetch -d @ra
	assert_output '@rand.bin'
	run complete_words whirl-fetch --print_body=f
	assert_output 'false'
	run complete_words whirl-fetch --retry-
	assert_output '--retry-all-errors --retry-connrefused --retry-delay --retry-max-time'
	run complete_words whirl-fetch --pretty ''
	assert_output 'all colors format none'
	run complete_words whirl-fetch -F 'up=@hel'
	assert_output 'up=@hello.txt'
	run complete_words whirl-fetch -F 'v=<ra'
	assert_output 'v=<rand.bin'
	run complete_words whirl-fetch -T hel
	assert_output 'hello.txt'
	run complete_words whirl-fetch -C ''
	assert_equal "$output" -
	run complete_words whirl-fetch -Z
	assert_output '-Z'
}

@test "usage errors exit 2" {
	fetch
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "whirl-fetch: no URL specified"
	fetch --no-such-option "$H/"
	assert_failure 2
	fetch --max-redirs x "$H/"
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "whirl-fetch: bad --max-redirs 'x'"
	fetch -I -d a=b "$H/"
	assert_failure 2
	fetch -f --fail-with-body "$H/"
	assert_failure 2
	fetch -H 'no colon' "$H/"
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "whirl-fetch: bad -H 'no colon': no ':' (Name: value)"
	fetch -H $'X-A: 1\r\nX-B: 2' "$H/"
	assert_failure 2
	assert_equal "${stderr_lines[0]}" "whirl-fetch: bad -H '"$'X-A: 1\r'
	fetch -m soon "$H/"
	assert_failure 2
}

@test "a static file from nginx, raw to stdout, quiet on success" {
	fetch "$H/hello.txt"
	assert_success
	assert_output "Hello from nginx"
	assert_equal "$stderr" ""
	whirl-fetch -s "$H/rand.bin" | cmp - "$WWW/rand.bin"
	# No scheme: http:// is meant.
	fetch "127.0.0.1:$HTTP/hello.txt"
	assert_output "Hello from nginx"
}

@test "-o FILE and -O write the body; -o - is stdout" {
	cd "$BATS_TEST_TMPDIR"
	fetch -o got.bin "$H/rand.bin"
	assert_success
	assert_output ""
	cmp got.bin "$WWW/rand.bin"
	fetch -O "$H/sub/index.html"
	assert_success
	assert_equal "$(cat index.html)" "in a directory"
	fetch -O "$H/"
	assert_failure 23
	assert_equal "$stderr" "whirl-fetch: (23) Remote file name has no length!"
	fetch -o - "$H/hello.txt"
	assert_output "Hello from nginx"
	# One -o per URL, in order; an empty body makes an empty file.
	fetch -o a -o b "$H/hello.txt" "$P/status/204"
	assert_success
	assert_equal "$(cat a)" "Hello from nginx"
	[ -f b ] && [ ! -s b ]
	[ -z "$(ls -a | grep whirl-)" ]
}

@test "-o leaves a complete file or none, never a partial one" {
	cd "$BATS_TEST_TMPDIR"
	echo old >keep
	fetch -o keep "$P/partial"
	assert_failure 18
	assert_equal "$(cat keep)" "old"
	fetch -o new "$P/partial"
	assert_failure 18
	[ ! -e new ]
	fetch -f -o new "$H/missing"
	assert_failure 22
	[ ! -e new ]
	fetch --fail-with-body -o new "$H/missing"
	assert_failure 22
	grep -q '404 Not Found' new
	# A 304 says the copy is good: it stays, and none is made.
	fetch -o keep "$P/304cl"
	assert_success
	assert_equal "$(cat keep)" "old"
	fetch -o none "$P/304cl"
	[ ! -e none ]
	fetch -o keep "$H/hello.txt"
	assert_success
	assert_equal "$(cat keep)" "Hello from nginx"
	[ -z "$(ls -a | grep whirl-)" ]
	# Killed in the middle: the partial copy goes too.
	start_bg killed whirl-fetch -o "$PWD/keep" "$P/drip?n=100&secs=0.05"
	for _ in $(seq 200); do
		compgen -G 'keep.whirl-*' >/dev/null && break
		sleep 0.02
	done
	compgen -G 'keep.whirl-*' >/dev/null
	kill -TERM "$BG_PID"
	wait_pid "$BG_PID" >/dev/null || true
	assert_equal "$WAIT_STATUS" 143
	assert_equal "$(cat keep)" "Hello from nginx"
	[ -z "$(ls -a | grep whirl-)" ]
}

@test "write errors: /dev/full and a closed pipe exit 23" {
	fetch -o /dev/full "$H/hello.txt"
	assert_failure 23
	assert_equal "$stderr" \
	    "whirl-fetch: (23) Failure writing output to destination"
	fetch -s -o /dev/full "$H/hello.txt"
	assert_failure 23
	assert_equal "$stderr" ""
	run bash -c 'whirl-fetch -sS "$0" 2>"$1" | head -c 10 >/dev/null;
	    echo "${PIPESTATUS[0]}"' "$H/rand.bin" "$BATS_TEST_TMPDIR/err"
	assert_output 23
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" \
	    "whirl-fetch: (23) Failure writing output to destination"
}

@test "-i, -I, -D FILE and -D - show response heads" {
	fetch -i "$P/status/200"
	assert_output "$(printf 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nstatus 200')"
	fetch -I "$P/echo"
	assert_success
	assert_equal "${lines[0]}" $'HTTP/1.1 200 OK\r'
	assert_equal "${lines[1]}" $'Content-Type: text/plain\r'
	assert_regex "${lines[2]}" $'^Content-Length: [0-9]+\r$'
	assert_equal "${lines[3]}" $'\r'
	assert_equal "${#lines[@]}" 4
	fetch -D "$BATS_TEST_TMPDIR/h" "$P/headers?X-One=1"
	assert_output "headers"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/h")" \
	    "$(printf 'HTTP/1.1 200 OK\r\nX-One: 1\r\nContent-Length: 8\r\n\r')"
	fetch -D - "$P/status/200"
	assert_output "$(printf 'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nstatus 200')"
}

@test "-v: request and response heads on stderr with > and <" {
	fetch -v -A test/1 "$P/status/200"
	assert_success
	assert_output "status 200"
	assert_equal "${stderr_lines[0]}" "*   Trying 127.0.0.1:$PEER_PORT..."
	assert_equal "${stderr_lines[1]}" \
	    "* Connected to 127.0.0.1 (127.0.0.1) port $PEER_PORT"
	assert_equal "${stderr_lines[2]}" $'> GET /status/200 HTTP/1.1\r'
	assert_equal "${stderr_lines[3]}" $'> Host: 127.0.0.1:'"$PEER_PORT"$'\r'
	assert_equal "${stderr_lines[4]}" $'> User-Agent: test/1\r'
	assert_equal "${stderr_lines[5]}" $'> Accept: */*\r'
	assert_equal "${stderr_lines[6]}" $'> \r'
	assert_equal "${stderr_lines[7]}" $'< HTTP/1.1 200 OK\r'
	assert_equal "${stderr_lines[8]}" $'< Content-Length: 11\r'
	assert_equal "${stderr_lines[9]}" $'< \r'
}

@test "--compressed decodes nginx's gzip; without it, nothing is decoded" {
	fetch --compressed -w '\n%{size_download} %{header{Content-Encoding}}' \
	    "$H/big.txt"
	assert_success
	assert_equal "${lines[4000]}" "$(curl -s --compressed -o /dev/null \
	    -w '%{size_download}' "$H/big.txt") gzip"
	whirl-fetch -s --compressed "$H/big.txt" | cmp - "$WWW/big.txt"
	whirl-fetch -s -H 'Accept-Encoding: gzip' "$H/big.txt" |
	    gzip -d | cmp - "$WWW/big.txt"
	# Without --compressed nothing is asked for, nothing decoded.
	whirl-fetch -s "$H/big.txt" | cmp - "$WWW/big.txt"
	for p in gzip deflate rawdeflate; do
		fetch --compressed "$P/$p"
		assert_output "compressed hello"
	done
	fetch --compressed "$P/badgzip"
	assert_failure 61
}

@test "chunked answers through nginx's proxy, and --raw keeps the chunks" {
	fetch -i "$H/up/chunked"
	assert_success
	assert_line $'Transfer-Encoding: chunked\r'
	assert_line "hello, chunked world"
	fetch "$H/up/eof"
	assert_output "until the end"
	whirl-fetch --raw "$H/up/eof" >"$BATS_TEST_TMPDIR/w"
	curl -s --raw "$H/up/eof" >"$BATS_TEST_TMPDIR/c"
	cmp "$BATS_TEST_TMPDIR/w" "$BATS_TEST_TMPDIR/c"
}

@test "redirects: -L, --max-redirs, loops, whirl-serve's and nginx's" {
	fetch "$H/r301"
	assert_success
	assert_output --partial "301 Moved Permanently"
	fetch -L -w '%{num_redirects} %{url_effective}' "$H/r301"
	assert_output "$(printf 'Hello from nginx\n1 %s/hello.txt' "$H")"
	fetch -L --max-redirs 0 "$H/r301"
	assert_failure 47
	assert_equal "$stderr" "whirl-fetch: (47) Maximum (0) redirects followed"
	fetch -L "$H/loop"
	assert_failure 47
	assert_equal "$stderr" "whirl-fetch: (47) Maximum (50) redirects followed"
	fetch -L -w ' %{url_effective}' "$W/to-root"
	assert_output "Hello, world $W/"
	fetch -L -w ' %{num_redirects}' "$H/r302"
	assert_output "Hello from nginx
 1"
}

@test "redirects: 303 and 302 turn POST into GET, 307 and 308 keep it" {
	for code in 301 302 303; do
		fetch -sL -A t -d x=1 "$P/redirect?to=/echo&code=$code"
		assert_line --index 0 "GET /echo HTTP/1.1"
		refute_line --partial "Content-Type"
	done
	for code in 307 308; do
		fetch -sL -A t -d x=1 "$P/redirect?to=/echo&code=$code"
		assert_line --index 0 "POST /echo HTTP/1.1"
		assert_line "Content-Length: 3"
		assert_line "x=1"
	done
}

@test "a redirect to another host drops Authorization and Cookie" {
	to="http://localhost:$PEER_PORT/echo"
	fetch -sL -u al:pw -H 'Cookie: c=1' -H 'X-Kept: yes' \
	    "$P/redirect?to=$to"
	assert_success
	assert_line --index 0 "GET /echo HTTP/1.1"
	assert_line "Host: localhost:$PEER_PORT"
	assert_line "X-Kept: yes"
	refute_line --partial "Authorization"
	refute_line --partial "Cookie"
	# The same host keeps them, and --location-trusted keeps them anywhere.
	fetch -sL -u al:pw -H 'Cookie: c=1' "$P/redirect?to=/echo"
	assert_line "Authorization: Basic YWw6cHc="
	assert_line "Cookie: c=1"
	fetch -s --location-trusted -u al:pw "$P/redirect?to=$to"
	assert_line "Authorization: Basic YWw6cHc="
}

@test "-f and --fail-with-body: exit 22" {
	fetch -f "$H/missing"
	assert_failure 22
	assert_output ""
	assert_equal "$stderr" \
	    "whirl-fetch: (22) The requested URL returned error: 404"
	fetch -sf "$H/missing"
	assert_failure 22
	assert_equal "$stderr" ""
	fetch -sSf "$W/gone"
	assert_failure 22
	assert_equal "$stderr" \
	    "whirl-fetch: (22) The requested URL returned error: 410"
	fetch -s --fail-with-body "$W/gone"
	assert_failure 22
	assert_output "gone for good"
	# Without -f an error status is a response: exit 0.
	fetch "$W/gone"
	assert_success
	assert_output "gone for good"
}

@test "exit statuses for failed connections and broken answers" {
	port=$(free_port)
	fetch "http://127.0.0.1:$port/"
	assert_failure 7
	assert_regex "$stderr" "^whirl-fetch: \\(7\\) Failed to connect to 127.0.0.1 port $port after [0-9]+ ms: Connection refused\$"
	fetch http://no-such-host.invalid/
	assert_failure 6
	assert_equal "$stderr" \
	    "whirl-fetch: (6) Could not resolve host: no-such-host.invalid"
	fetch 'http://bad host/'
	assert_failure 3
	fetch 'http://127.0.0.1:99999/'
	assert_failure 3
	fetch ftp://127.0.0.1/
	assert_failure 1
	assert_equal "$stderr" 'whirl-fetch: (1) Protocol "ftp" not supported'
	fetch "$P/close"
	assert_failure 52
	assert_equal "$stderr" "whirl-fetch: (52) Empty reply from server"
	fetch "$P/reset"
	assert_failure 56
	fetch "$P/partial"
	assert_failure 18
	assert_output "0123456789"
	assert_equal "$stderr" \
	    "whirl-fetch: (18) transfer closed with 90 bytes remaining to read"
	fetch "$P/partial-chunked"
	assert_failure 18
	fetch "$P/garbage"
	assert_failure 1
}

@test "timeouts: -m, --connect-timeout, all exit 28" {
	fetch -m 0.3 "$P/delay?secs=5"
	assert_failure 28
	assert_regex "$stderr" '^whirl-fetch: \(28\) Operation timed out after [0-9]+ milliseconds with 0 bytes received$'
	fetch -m 0.5 "$P/drip?n=100&secs=0.1"
	assert_failure 28
	assert_regex "$stderr" 'with [1-9] bytes received$'
	start_server blackhole /usr/bin/python3 \
	    "$WHIRL_ROOT/tests/peers/http-peer.py" --full-backlog
	fetch --connect-timeout 0.3 "http://127.0.0.1:$BLACKHOLE_PORT/"
	assert_failure 28
	assert_regex "$stderr" '^whirl-fetch: \(28\) Connection timed out after [0-9]+ milliseconds$'
	stop_started
	# A slow answer within the limits is fine.
	fetch -m 5 "$P/delay?secs=0.2&body=late"
	assert_success
	assert_output "late"
}

@test "TLS: verified by default, --cacert, -k, and the certificate's faults" {
	fetch "$S/hello.txt"
	assert_failure 60
	assert_equal "$stderr" "whirl-fetch: (60) SSL certificate problem: unable to get local issuer certificate"
	fetch --cacert "$CERTS/ca.pem" "$S/hello.txt"
	assert_success
	assert_output "Hello from nginx"
	fetch --cacert "$CERTS/ca.pem" "https://127.0.0.1:$HTTPS/hello.txt"
	assert_output "Hello from nginx"
	fetch -k "$S/hello.txt"
	assert_output "Hello from nginx"
	fetch --validate_cert=false "$S/hello.txt"
	assert_output "Hello from nginx"
	fetch --cacert "$CERTS/ca.pem" "https://localhost:$WRONGCA/"
	assert_failure 60
	fetch --cacert "$CERTS/ca.pem" "https://localhost:$EXPIRED/"
	assert_failure 60
	assert_equal "$stderr" \
	    "whirl-fetch: (60) SSL certificate problem: certificate has expired"
	fetch --cacert "$CERTS/ca.pem" "https://localhost:$OTHER/"
	assert_failure 60
	assert_equal "$stderr" "whirl-fetch: (60) SSL: no alternative certificate subject name matches target host name 'localhost'"
	fetch "https://127.0.0.1:$HTTP/"
	assert_failure 35
	fetch --cacert /nonexistent.pem "$S/"
	assert_failure 77
}

@test "TLS: --resolve for a name, and client certificates" {
	fetch --cacert "$CERTS/ca.pem" --resolve "other.example:$OTHER:127.0.0.1" \
	    "https://other.example:$OTHER/hello.txt"
	assert_success
	assert_output "Hello from nginx"
	fetch --cacert "$CERTS/ca.pem" --cert "$CERTS/client.pem" \
	    --key "$CERTS/client.key" "https://localhost:$CLIENT/"
	assert_output "client CN=whirl test client"
	fetch --cacert "$CERTS/ca.pem" "https://localhost:$CLIENT/"
	assert_output --partial "No required SSL certificate was sent"
	fetch --cacert "$CERTS/ca.pem" --cert /nonexistent.pem \
	    "https://localhost:$CLIENT/"
	assert_failure 58
}

@test "--resolve pins a name; -4; --unix-socket; IPv6" {
	fetch --resolve "www.example.test:$HTTP:127.0.0.1" \
	    "http://www.example.test:$HTTP/hello.txt"
	assert_output "Hello from nginx"
	fetch -w ' %{remote_ip}' --resolve "www.example.test:$PEER_PORT:127.0.0.1" \
	    "http://www.example.test:$PEER_PORT/echo"
	assert_line "Host: www.example.test:$PEER_PORT"
	assert_line --index -1 " 127.0.0.1"
	fetch -4 "http://localhost:$HTTP/hello.txt"
	assert_output "Hello from nginx"
	fetch --unix-socket "$SOCK" http://anything/hello.txt
	assert_output "Hello from nginx"
	fetch --unix-socket "$BATS_TEST_TMPDIR/none" http://x/
	assert_failure 7
	# An IPv6 literal, brackets in the URL and in Host.
	start_server serve6 whirl-serve -q --print-port -a ::1 -p 0 \
	    'GET /=text:Hello, world'
	fetch -w ' %{remote_ip}' "http://[::1]:$SERVE6_PORT/"
	assert_output "Hello, world ::1"
	fetch -v "http://[::1]:$SERVE6_PORT/"
	assert_equal "${stderr_lines[3]}" $'> Host: [::1]:'"$SERVE6_PORT"$'\r'
	stop_started
}

@test "proxies: -x, CONNECT, the environment, no_proxy, failures" {
	log=$BATS_FILE_TMPDIR/proxy.err
	fetch -x "127.0.0.1:$PROXY_PORT" "$H/hello.txt"
	assert_output "Hello from nginx"
	wait_for_line "$log" "^GET $H/hello.txt HTTP/1.1$"
	fetch -x "http://u:p@127.0.0.1:$PROXY_PORT" --cacert "$CERTS/ca.pem" \
	    "$S/hello.txt"
	assert_output "Hello from nginx"
	wait_for_line "$log" "^CONNECT localhost:$HTTPS HTTP/1.1$"
	wait_for_line "$log" "^auth: Basic dTpw$"
	http_proxy=http://127.0.0.1:$PROXY_PORT fetch "http://localhost:$HTTP/sub/"
	assert_output "in a directory"
	wait_for_line "$log" "^GET http://localhost:$HTTP/sub/ HTTP/1.1$"
	# no_proxy (and --noproxy) go direct: the proxy would refuse.
	https_proxy=http://127.0.0.1:$DENYPROXY_PORT no_proxy=localhost \
	    fetch --cacert "$CERTS/ca.pem" "$S/hello.txt"
	assert_output "Hello from nginx"
	fetch -x "127.0.0.1:$DENYPROXY_PORT" --noproxy '*' --cacert \
	    "$CERTS/ca.pem" "$S/hello.txt"
	assert_output "Hello from nginx"
	fetch -x "127.0.0.1:$DENYPROXY_PORT" --cacert "$CERTS/ca.pem" \
	    "$S/hello.txt"
	assert_failure 56
	assert_equal "$stderr" \
	    "whirl-fetch: (56) CONNECT tunnel failed, response 403"
	fetch --proxy_host=127.0.0.1 --proxy_port="$PROXY_PORT" "$W/"
	assert_output "Hello, world"
	wait_for_line "$log" "^GET $W/ HTTP/1.1$"
	fetch -x "127.0.0.1:$(free_port)" "$H/"
	assert_failure 7
	fetch -x no-such-proxy.invalid:3128 "$H/"
	assert_failure 5
	assert_equal "$stderr" \
	    "whirl-fetch: (5) Could not resolve proxy: no-such-proxy.invalid"
}

@test "request bodies: -d, @file, @-, --data-binary, --data-urlencode, -G, --json" {
	printf 'a=1\r\nb=2\n' >"$BATS_TEST_TMPDIR/form"
	fetch -A t -d @"$BATS_TEST_TMPDIR/form" -d c=3 "$P/echo"
	assert_line --index 0 "POST /echo HTTP/1.1"
	assert_line "Content-Type: application/x-www-form-urlencoded"
	assert_line "Content-Length: 10"
	assert_line --index -1 "a=1b=2&c=3"
	fetch -A t --data-binary @"$BATS_TEST_TMPDIR/form" "$P/echo"
	assert_line "Content-Length: 9"
	run bash -c 'printf "from stdin" | whirl-fetch -s --data-binary @- "$0"' \
	    "$P/echo"
	assert_line --index -1 "from stdin"
	fetch --data-raw @notafile "$P/echo"
	assert_line --index -1 "@notafile"
	# A file that cannot be read: a warning, and the body goes empty.
	fetch -A t -d @/nonexistent -H @"$BATS_TEST_TMPDIR" "$P/echo"
	assert_success
	assert_line "Content-Length: 0"
	assert_equal "$stderr" "whirl-fetch: Failed to open /nonexistent: No such file or directory
whirl-fetch: Failed to read $BATS_TEST_TMPDIR: Is a directory"
	fetch --data-urlencode 'q=a b&c' --data-urlencode '=x/y' "$P/echo"
	assert_line --index -1 "q=a+b%26c&x%2Fy"
	fetch -G -d a=1 --data-urlencode 'b=c d' "$P/echo"
	assert_line --index 0 "GET /echo?a=1&b=c+d HTTP/1.1"
	fetch -I -G -d a=1 "$P/echo"
	assert_success
	fetch --json '{"a":' --json '1}' "$P/echo"
	assert_line "Content-Type: application/json"
	assert_line "Accept: application/json"
	assert_line --index -1 '{"a":1}'
	fetch -X PUT -d x "$P/echo"
	assert_line --index 0 "PUT /echo HTTP/1.1"
	fetch -X DELETE "$P/echo"
	assert_line --index 0 "DELETE /echo HTTP/1.1"
}

@test "fields: -H adds, 'Name:' removes, 'Name;' sends empty; -A -e -u" {
	fetch -H 'X-A: 1' -H 'Accept:' -H 'X-Empty;' -A 'agent/2' \
	    -e http://from/ -u 'al:p w' "$P/echo"
	assert_line "X-A: 1"
	refute_line --partial "Accept"
	assert_line "X-Empty: "
	assert_line "User-Agent: agent/2"
	assert_line "Referer: http://from/"
	assert_line "Authorization: Basic YWw6cCB3"
	fetch -H 'User-Agent:' "$P/echo"
	refute_line --partial "User-Agent"
	fetch "$P/echo"
	assert_line "User-Agent: whirl-fetch/$V"
	printf 'X-File: 1\nX-Other: 2\n' >"$BATS_TEST_TMPDIR/hdrs"
	fetch -H @"$BATS_TEST_TMPDIR/hdrs" "$P/echo"
	assert_line "X-File: 1"
	assert_line "X-Other: 2"
	fetch -H 'Host: virtual.test' "$P/echo"
	assert_line "Host: virtual.test"
}

@test "cookies: -c writes a Netscape jar, -b reads it, -b sends literals" {
	jar=$BATS_TEST_TMPDIR/jar
	fetch -c "$jar" "$P/setcookie?c=a%3D1&c=b%3D2%3B%20Path%3D%2Fecho"
	assert_success
	run cat "$jar"
	assert_line --index 0 "# Netscape HTTP Cookie File"
	assert_line $'127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t1'
	assert_line $'127.0.0.1\tFALSE\t/echo\tFALSE\t0\tb\t2'
	fetch -b "$jar" "$P/echo"
	assert_line "Cookie: b=2; a=1"
	fetch -b "$jar" "$P/status/200"
	fetch -b 'x=y; z=1' "$P/echo"
	assert_line "Cookie: x=y; z=1"
	# Cookies set during a redirect chain go along (the jar in memory).
	fetch -L -b /nonexistent "$P/setcookie?c=s%3D1" "$P/echo"
	assert_line "Cookie: s=1"
	fetch -c - "$P/setcookie?c=t%3D2"
	assert_line $'127.0.0.1\tFALSE\t/\tFALSE\t0\tt\t2'
}

@test "-w: curl's variables, escapes, %{json} and @file" {
	fetch -o /dev/null -w '%{http_code} %{response_code} %{size_download} %{content_type} %{num_redirects} %{url_effective} %{method} %{scheme} %{http_version} %{exitcode}\n' "$P/echo"
	assert_output "200 200 $(curl -s -A "whirl-fetch/$V" "$P/echo" | wc -c) text/plain 0 $P/echo GET HTTP 1.1 0"
	fetch -w '%{http_code} %{errormsg} %{exitcode}' "$P/close"
	assert_output "000 Empty reply from server 52"
	fetch -o /dev/null -w '%{time_namelookup} %{time_connect} %{time_starttransfer} %{time_total}\t%%\\' "$P/echo"
	assert_regex "$output" '^[0-9]+\.[0-9]{6} [0-9]+\.[0-9]{6} [0-9]+\.[0-9]{6} [0-9]+\.[0-9]{6}	%\\$'
	fetch -o /dev/null -w '%{header{x-a}}|%{remote_ip} %{remote_port}' "$P/headers?X-A=b"
	assert_output "b|127.0.0.1 $PEER_PORT"
	fetch -o /dev/null -w '%{json}' "$P/status/201"
	/usr/bin/python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["http_code"] == 201 and j["exitcode"] == 0, j
assert j["url_effective"].endswith("/status/201") and j["errormsg"] is None, j
' "$output"
	printf 'code=%%{http_code}\\n' >"$BATS_TEST_TMPDIR/fmt"
	fetch -o /dev/null -w @"$BATS_TEST_TMPDIR/fmt" "$P/status/202"
	assert_output "code=202"
	fetch -o /dev/null -w '%{onerror}failed %{exitcode}' "$P/status/200" "$P/close"
	assert_output "failed 52"
	fetch -w '%{stderr}to stderr' "$P/status/204"
	assert_equal "$stderr" "to stderr"
	fetch -w '%{nosuch}' "$P/status/204"
	assert_equal "$stderr" "whirl-fetch: unknown --write-out variable: 'nosuch'"
}

@test "several URLs: one keep-alive connection; the last decides, unless --fail-early" {
	fetch -w '%{num_connects}\n' "$H/hello.txt" "$H/hello.txt" "$H/sub/"
	assert_output "Hello from nginx
1
Hello from nginx
0
in a directory
0"
	fetch "$P/close" "$H/hello.txt"
	assert_success
	assert_output "Hello from nginx"
	fetch "$H/hello.txt" "$P/close"
	assert_failure 52
	fetch --fail-early "$P/close" "$H/hello.txt"
	assert_failure 52
	assert_output ""
}

@test "1xx answers are skipped; 204 and 304 have no body; HEAD" {
	fetch -i "$P/continue"
	assert_output "$(printf 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\ncontinued')"
	fetch -w '%{http_code}' "$P/304cl" "$P/status/204"
	assert_success
	assert_output "304204"
	fetch -I "$H/rand.bin"
	assert_line $'Content-Length: 300000\r'
	fetch -X HEAD -w '%{size_download}' "$H/rand.bin"
	assert_output "0"
}

@test "Tornado's flags: --print_headers, --print_body=false, --follow_redirects" {
	fetch --print_headers --print_body=false "$P/headers?X-T=1"
	assert_output "X-T: 1
Content-Length: 8"
	fetch --follow_redirects=false "$W/to-root"
	assert_output ""
	fetch --follow_redirects "$W/to-root"
	assert_output "Hello, world"
	fetch --follow-redirects=true --print-body=true "$W/to-root"
	assert_output "Hello, world"
}

@test "whirl-serve's routes: text, status, redirect, file, dir" {
	fetch "$W/"
	assert_output "Hello, world"
	fetch -w '%{http_code}' "$W/gone"
	assert_output "gone for good410"
	fetch -w '%{http_code} %{redirect_url}' "$W/to-root"
	assert_output "301 $W/"
	fetch "$W/file"
	assert_output "Hello from nginx"
	fetch "$W/files/sub/index.html"
	assert_output "in a directory"
}

# The same request through curl and whirl-fetch: the same body bytes, the
# same -w '%{http_code} %{size_download}' and the same exit status.  The
# table goes to the TAP output as comments: the options, then whirl-fetch's
# status code, size and exit status (curl's are the same).
@test "the same as curl, request for request" {
	# Compatibility, not memory: the paths are all exercised above.
	[ "${WHIRL_TIER-}" != sanitize ] ||
		skip "the curl table is not in the sanitizer tier"
	local rows=(
		"$H/hello.txt"
		"$H/rand.bin"
		"--compressed $H/big.txt"
		"$H/big.txt"
		"-H Accept-Encoding:gzip $H/big.txt"
		"$H/missing"
		"-f $H/missing"
		"--fail-with-body $H/missing"
		"$H/r301"
		"-L $H/r301"
		"-L --max-redirs 0 $H/r301"
		"-L $H/loop"
		"-I $P/status/200"
		"$H/up/chunked"
		"$H/up/eof"
		"--raw $H/up/eof"
		"-i $P/status/200"
		"$P/status/204"
		"$P/304cl"
		"$P/continue"
		"$P/partial"
		"$P/partial-chunked"
		"$P/close"
		"$P/reset"
		"$P/garbage"
		"$P/eof"
		"--compressed $P/gzip"
		"--compressed $P/deflate"
		"--compressed $P/rawdeflate"
		"--compressed $P/badgzip"
		"-A t -d a=1 -d b=2 $P/echo?sort=1"
		"-A t --data-urlencode x=y_z $P/echo?sort=1"
		"-A t -G -d q=1 $P/echo?sort=1"
		"-A t --json {} $P/echo?sort=1"
		"-A t -X PUT --data-binary abc $P/echo?sort=1"
		"-A t -u a:b $P/echo?sort=1"
		"-A t -b k=v $P/echo?sort=1"
		"-A t -H X-A:1 -H Accept: $P/echo?sort=1"
		"-L -A t -d a=1 $P/redirect?to=/echo%3Fsort%3D1&code=307"
		"-L -A t -d a=1 $P/redirect?to=/echo%3Fsort%3D1&code=302"
		"-m 0.3 $P/delay?secs=3"
		"--cacert $CERTS/ca.pem $S/hello.txt"
		"$S/hello.txt"
		"-k $S/hello.txt"
		"--cacert $CERTS/ca.pem https://localhost:$EXPIRED/"
		"--cacert $CERTS/ca.pem https://localhost:$OTHER/"
		"https://127.0.0.1:$HTTP/"
		"-x 127.0.0.1:$PROXY_PORT $H/hello.txt"
		"-x 127.0.0.1:$PROXY_PORT --cacert $CERTS/ca.pem $S/hello.txt"
		"-x 127.0.0.1:$DENYPROXY_PORT --cacert $CERTS/ca.pem $S/hello.txt"
		"--resolve x.test:$HTTP:127.0.0.1 http://x.test:$HTTP/hello.txt"
		"--unix-socket $SOCK http://u/hello.txt"
		"http://no-such-host.invalid/"
		"http://127.0.0.1:1/"
		"-o /dev/full $H/hello.txt"
		"$W/gone"
		"-f $W/gone"
	)
	local row tool bad=0 d=$BATS_TEST_TMPDIR
	local -A w code
	for row in "${rows[@]}"; do
		for tool in curl whirl-fetch; do
			# The body by redirection, so that a partial one shows.
			# shellcheck disable=SC2086
			$tool -s -w '%{stderr}%{http_code} %{size_download}' \
			    $row >"$d/$tool.body" 2>"$d/$tool.w" &&
			    code[$tool]=0 || code[$tool]=$?
			read -r "w[$tool]" <"$d/$tool.w" || true
		done
		printf '# %-58s %s %s\n' "${row:0:58}" "${w[whirl-fetch]}" \
		    "${code[whirl-fetch]}" >&3
		if [ "${w[curl]}|${code[curl]}" != \
		    "${w[whirl-fetch]}|${code[whirl-fetch]}" ] ||
		    ! cmp -s "$d/curl.body" "$d/whirl-fetch.body"; then
			echo "differs: $row: curl ${w[curl]} ${code[curl]}," \
			    "whirl-fetch ${w[whirl-fetch]} ${code[whirl-fetch]}"
			bad=1
		fi
	done
	[ "$bad" = 0 ]
}
