#!/usr/bin/env bats
# serve-exec.bats - whirl-serve's programs as routes: exec: and cgi:.
# CGI variables exact (httpoxy included), captures as $1.. and
# CAPTURE_name, the body in, output streamed before the program ends,
# failures before and after output, --exec-timeout and clients that
# leave (the process group gone: checked in /proc), the CGI head (Status,
# Location, Content-Type, injection, 64 KiB), stderr in the log, the fds
# a program gets, and a program that floods a client that does not read.
#
# Every server listens on port 0 and prints its port (--print-port).
# Responses are compared whole, headers included, with the Date line
# (which changes every second) removed.  Programs that must wait for the
# test wait for a file it creates, with a bound; nothing sleeps to let
# something happen.

load helpers

V=0.1.0

PAGE502='<html><title>502: Bad Gateway</title><body>502: Bad Gateway</body></html>'
PAGE504='<html><title>504: Gateway Timeout</title><body>504: Gateway Timeout</body></html>'

setup() {
	D=$BATS_TEST_TMPDIR
}

# The server stops on SIGTERM, exits 0, and its log holds no sanitizer
# report (the sanitizer tier checks for leaks at exit).
teardown() {
	if [ -n "${SRV_PID-}" ] && kill -0 "$SRV_PID" 2>/dev/null; then
		kill -TERM "$SRV_PID"
		wait_pid "$SRV_PID" 20 >/dev/null
		[ "$WAIT_STATUS" = 0 ] || echo "# the server exited $WAIT_STATUS" >&2
	fi
	stop_started || true
	! grep -E 'Sanitizer|runtime error:' "$D"/*.err >&2 && [ "${WAIT_STATUS-0}" = 0 ]
}

# serve ARGS...: whirl-serve on a free port, quiet; SRV_PORT, $B the URL.
serve() {
	start_server srv whirl-serve -q --print-port -p 0 "$@"
	B=http://127.0.0.1:$SRV_PORT
}

# get ARGS...: curl's whole response, CRs and the Date line dropped.
get() {
	curl -sS -i "$@" | tr -d '\r' | grep -v '^Date: '
}

# The server's log (its stderr), and a line of it from a route's
# program: "[W yymmdd hh:mm:ss webexec:N] PATTERN: TEXT".
server_log() {
	cat "$D/srv.err"
}
prog_line() {
	printf '^\\[W [0-9]{6} [0-9:]{8} webexec:[0-9]+\\] %s$' "$1"
}

# no_zombies: no child of the server is left unreaped.
no_zombies() {
	run ps -o stat= --ppid "$SRV_PID"
	refute_output --partial Z
}

# A CGI program that prints its request's variables, sorted.
env_cgi() {
	cat >"$D/env.cgi" <<'SH'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
env | grep -E '^(AUTH_TYPE|CONTENT_(LENGTH|TYPE)|GATEWAY_INTERFACE|HTTPS|PATH_INFO|QUERY_STRING|REMOTE_(ADDR|PORT|USER)|REQUEST_(METHOD|URI)|SCRIPT_NAME|SERVER_[A-Z]+|HTTP_[A-Z0-9_]*|CAPTURE_[A-Za-z0-9_]*)=' |
    LC_ALL=C sort
SH
	chmod +x "$D/env.cgi"
}

@test "cgi: RFC 3875 variables, exact; Proxy: never becomes HTTP_PROXY" {
	env_cgi
	# Our own HTTP_PROXY and CONTENT_TYPE must not reach the program.
	start_server srv env HTTP_PROXY=http://ours:3128 CONTENT_TYPE=ours \
	    whirl-serve -q --print-port -p 0 "/cgi/env(/.*)?=cgi:$D/env.cgi"
	B=http://127.0.0.1:$SRV_PORT
	run curl -sS -w '%{local_port}' -A test/1 -H 'Accept:' \
	    -H 'X-Foo: bar' -H 'X-Foo: baz' -H 'Proxy: http://evil:1' \
	    -H 'X_Foo: underscore' -H 'Content-Type: text/x-test' \
	    --data-binary hello "$B/cgi/env/a%20b/c?x=1&y=%20"
	assert_success
	port=${output##*$'\n'}
	assert_output "CONTENT_LENGTH=5
CONTENT_TYPE=text/x-test
GATEWAY_INTERFACE=CGI/1.1
HTTP_HOST=127.0.0.1:$SRV_PORT
HTTP_USER_AGENT=test/1
HTTP_X_FOO=bar, baz
PATH_INFO=/a b/c
QUERY_STRING=x=1&y=%20
REMOTE_ADDR=127.0.0.1
REMOTE_PORT=$port
REQUEST_METHOD=POST
REQUEST_URI=/cgi/env/a%20b/c?x=1&y=%20
SCRIPT_NAME=/cgi/env
SERVER_NAME=127.0.0.1
SERVER_PORT=$SRV_PORT
SERVER_PROTOCOL=HTTP/1.1
SERVER_SOFTWARE=whirl/$V
$port"
	# No body, no group 1: no CONTENT_*, the whole path is SCRIPT_NAME.
	run curl -sS -0 -w '%{local_port}' -A '' -H 'Accept:' \
	    -H 'Host: example.com:8080' "$B/cgi/env"
	assert_success
	port=${output##*$'\n'}
	assert_output "GATEWAY_INTERFACE=CGI/1.1
HTTP_HOST=example.com:8080
PATH_INFO=
QUERY_STRING=
REMOTE_ADDR=127.0.0.1
REMOTE_PORT=$port
REQUEST_METHOD=GET
REQUEST_URI=/cgi/env
SCRIPT_NAME=/cgi/env
SERVER_NAME=example.com
SERVER_PORT=$SRV_PORT
SERVER_PROTOCOL=HTTP/1.0
SERVER_SOFTWARE=whirl/$V
$port"
}

@test "cgi: HTTPS=on over TLS; --xheaders makes REMOTE_ADDR the proxy's client" {
	env_cgi
	"$WHIRL_ROOT/scripts/gen-test-certs" "$D/certs"
	serve --tls-cert "$D/certs/server.pem" --tls-key "$D/certs/server.key" \
	    "/e=cgi:$D/env.cgi"
	run curl -sS --cacert "$D/certs/ca.pem" \
	    --resolve "localhost:$SRV_PORT:127.0.0.1" "https://localhost:$SRV_PORT/e"
	assert_success
	assert_line 'HTTPS=on'
	assert_line 'SERVER_NAME=localhost'
	stop_started
	serve --xheaders "/e=cgi:$D/env.cgi"
	run curl -sS -H 'X-Real-Ip: 10.1.2.3' "$B/e"
	assert_line 'REMOTE_ADDR=10.1.2.3'
	refute_line --partial 'HTTPS'
}

@test "exec: captures as \$1.. and CAPTURE_name, the body on stdin, text/plain streamed" {
	serve '/x/(?P<name>[^/]+)/(\d+)?=exec:printf "%s|%s|%s|%s\n" "$1" "$2" "$CAPTURE_name" "$#"; cat' \
	    '/ignore=exec:echo not reading'
	run get --data-binary 'body in' "$B/x/a%2Fb%20c/"
	assert_output "HTTP/1.1 200 OK
Content-Type: text/plain; charset=utf-8
Server: whirl/$V
Transfer-Encoding: chunked

a/b c||a/b c|2
body in"
	# A MiB through the program and back, byte for byte.
	head -c 1048576 /dev/urandom >"$D/big"
	curl -sS --data-binary @"$D/big" -o "$D/back" "$B/x/big/1"
	printf 'big|1|big|2\n' | cat - "$D/big" | cmp - "$D/back"
	# A program that never reads its stdin still has its say.
	run curl -sS --data-binary @"$D/big" "$B/ignore"
	assert_output 'not reading'
	no_zombies
}

@test "exec: the first output arrives while the program still runs" {
	serve "/stream=exec:echo first; i=0; while [ ! -e $D/go ] && [ \$i -lt 1000 ]; do sleep 0.01; i=\$((i+1)); done; echo second"
	start_bg curl curl -sS -N "$B/stream"
	wait_for_line "$D/curl.out" '^first$'
	# The program cannot have printed more: it waits for us.
	run cat "$D/curl.out"
	assert_output first
	touch "$D/go"
	wait_pid "$BG_PID" 10
	[ "$WAIT_STATUS" = 0 ]
	run cat "$D/curl.out"
	assert_output 'first
second'
}

@test "exit 0 with no output: 200, empty; HEAD runs the program, sends no body" {
	serve "/none=exec:touch $D/none" "/head=exec:touch $D/head; echo body"
	run get "$B/none"
	assert_output "HTTP/1.1 200 OK
Content-Type: text/plain; charset=utf-8
Server: whirl/$V
Content-Length: 0"
	[ -e "$D/none" ]
	run get -I "$B/head"
	assert_output "HTTP/1.1 200 OK
Content-Type: text/plain; charset=utf-8
Server: whirl/$V
Transfer-Encoding: chunked"
	[ -e "$D/head" ]
}

@test "a failure before output: 502 with Tornado's page, stderr and status in the log" {
	serve '/fail=exec:printf "to the log\nand on\r\nlast" >&2; exit 3' \
	    '/sig=exec:kill -KILL $$' '/cgi=cgi:printf "Status: 200\n\n"; exit 1'
	run get "$B/fail"
	assert_output "HTTP/1.1 502 Bad Gateway
Content-Type: text/html; charset=UTF-8
Server: whirl/$V
Content-Length: 73

$PAGE502"
	run get "$B/sig"
	assert_line -n 0 'HTTP/1.1 502 Bad Gateway'
	assert_line "$PAGE502"
	# A CGI head is not output: a failure after it is still a 502.
	run get "$B/cgi"
	assert_line -n 0 'HTTP/1.1 502 Bad Gateway'
	run server_log
	assert_line --regexp "$(prog_line '/fail: to the log')"
	assert_line --regexp "$(prog_line '/fail: and on')"
	assert_line --regexp "$(prog_line '/fail: last')"
	assert_line --regexp "$(prog_line '/fail: exit status 3')"
	assert_line --regexp "$(prog_line '/sig: killed by signal 9')"
	assert_line --regexp "$(prog_line '/cgi: exit status 1')"
	no_zombies
}

@test "a failure after output: the body never ends, curl says 18" {
	serve '/late=exec:echo partial; exit 1' \
	    '/cgi=cgi:printf "X-A: 1\n\nsome"; kill -TERM $$'
	run curl -sS -o "$D/late" "$B/late"
	assert_failure 18
	assert_output 'curl: (18) transfer closed with outstanding read data remaining'
	run cat "$D/late"
	assert_output partial
	run curl -sS -o "$D/cgi" "$B/cgi"
	assert_failure 18
	assert_output 'curl: (18) transfer closed with outstanding read data remaining'
	run cat "$D/cgi"
	assert_output some
}

@test "--exec-timeout: 504 and the whole group killed; after output, a cut-short body" {
	serve --exec-timeout 1 \
	    "/slow=exec:sleep 30 & echo \$! >$D/pids; echo \$\$ >>$D/pids; wait" \
	    '/started=exec:echo started; exec sleep 30'
	run get "$B/slow"
	assert_output "HTTP/1.1 504 Gateway Timeout
Content-Type: text/html; charset=UTF-8
Server: whirl/$V
Content-Length: 81

$PAGE504"
	run wc -l <"$D/pids"
	assert_output 2
	for pid in $(cat "$D/pids"); do
		gone "$pid"
	done
	run curl -sS -o "$D/started" "$B/started"
	assert_failure 18
	assert_output 'curl: (18) transfer closed with outstanding read data remaining'
	run cat "$D/started"
	assert_output started
	run server_log
	assert_line --regexp "$(prog_line '/slow: still running after 1000 ms: stopped')"
	no_zombies
}

@test "a client that leaves mid-stream: the program's process group is killed" {
	serve "/k=exec:sleep 30 & echo \$! >$D/pids; echo \$\$ >>$D/pids; echo ready; wait" \
	    '/t=exec:echo still here'
	start_bg curl curl -sS -N "$B/k"
	wait_for_line "$D/curl.out" '^ready$'
	run wc -l <"$D/pids"
	assert_output 2
	stop_pid "$BG_PID"
	for pid in $(cat "$D/pids"); do
		gone "$pid"
	done
	run curl -sS "$B/t"
	assert_output 'still here'
	no_zombies
}

@test "cgi: Status, Location and Content-Type honoured, other fields passed" {
	serve '/st=cgi:printf "Status: 404 Not Found\r\nContent-Type: application/json\r\nX-Extra: 1\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 99\r\n\r\n{\"a\":1}"' \
	    '/loc=cgi:printf "Location: /there\n\n"' \
	    '/moved=cgi:printf "Status: 301\nLocation: /else\n\n"' \
	    '/plain=cgi:printf "\nno type"'
	run get "$B/st"
	assert_output "HTTP/1.1 404 Not Found
Content-Type: application/json
X-Extra: 1
Set-Cookie: a=1
Set-Cookie: b=2
Server: whirl/$V
Transfer-Encoding: chunked

{\"a\":1}"
	run get "$B/loc"
	assert_output "HTTP/1.1 302 Found
Content-Type: text/plain; charset=utf-8
Location: /there
Server: whirl/$V
Content-Length: 0"
	run get "$B/moved"
	assert_line -n 0 'HTTP/1.1 301 Moved Permanently'
	assert_line 'Location: /else'
	run get "$B/plain"
	assert_output "HTTP/1.1 200 OK
Content-Type: text/plain; charset=utf-8
Server: whirl/$V
Transfer-Encoding: chunked

no type"
}

@test "cgi: a bare CR, a bad name or a head past 64 KiB is a 502, never sent" {
	serve '/cr=cgi:printf "X-A: a\rInjected: 1\n\nbody"' \
	    '/name=cgi:printf "X A: b\n\nbody"' \
	    '/long=cgi:printf "X-Long: "; head -c 70000 /dev/zero | tr "\0" a; printf "\n\nbody"' \
	    '/fits=cgi:printf "X-Long: "; head -c 60000 /dev/zero | tr "\0" a; printf "\n\nbody"'
	for path in cr name long; do
		run get "$B/$path"
		assert_output "HTTP/1.1 502 Bad Gateway
Content-Type: text/html; charset=UTF-8
Server: whirl/$V
Content-Length: 73

$PAGE502"
	done
	run curl -sS -D "$D/head" "$B/fits"
	assert_output body
	run awk '/^X-Long: a+\r$/ { print length($2) }' "$D/head"
	assert_output 60001
	run server_log
	assert_line --regexp "$(prog_line '/cr: bad CGI head: CR or NUL in the value of X-A')"
	assert_line --regexp "$(prog_line "/name: bad CGI head: not a header line: 'X A: b'")"
	assert_line --regexp "$(prog_line '/long: no end of the CGI head within 65536 bytes')"
	no_zombies
}

@test "a program has fds 0, 1 and 2 only: no socket of the server" {
	serve '/fd=exec:ls -l /proc/$$/fd | sed -n "s/.* \([0-9]*\) -> \([a-z]*\).*/\1 \2/p"; true'
	# A second connection open meanwhile: its socket is not passed on.
	exec 5<>"/dev/tcp/127.0.0.1/$SRV_PORT"
	run curl -sS "$B/fd"
	exec 5>&-
	assert_output '0 pipe
1 pipe
2 pipe'
}

@test "a program flooding a client that does not read is held back, not buffered" {
	serve "/flood=exec:echo \$\$ >$D/pid; exec cat /dev/zero"
	rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SRV_PID/status")
	# A client that sends its request and reads nothing.
	start_bg client /usr/bin/python3 -c '
import signal, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /flood HTTP/1.1\r\nHost: x\r\n\r\n")
signal.pause()
' "$SRV_PORT"
	client=$BG_PID
	wait_for_line "$D/pid" '^[0-9]+$'
	pid=$(cat "$D/pid")
	# The program ends up blocked writing its pipe: we stopped reading.
	end=$((SECONDS + 10 * ${WHIRL_SLOW:-1}))
	until [[ $(cat "/proc/$pid/wchan" 2>/dev/null) = *pipe_write ]]; do
		((SECONDS < end)) || { echo "# not blocked: $(cat /proc/$pid/wchan)"; false; }
		sleep 0.02
	done
	written=$(awk '/^wchar:/ { print $2 }' "/proc/$pid/io")
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$SRV_PID/status")
	echo "# written $written bytes, server RSS $rss0 -> $rss kB" >&3
	[ "$written" -lt $((16 * 1024 * 1024)) ]
	! rss_measurable || [ $((rss - rss0)) -lt $((16 * 1024)) ]
	stop_pid "$client"
	gone "$pid"
}

@test "route errors: exec and cgi need a COMMAND; exit 2" {
	run whirl-serve '/x=exec'
	assert_failure 2
	assert_output "whirl-serve: route '/x=exec': exec: needs a COMMAND"
	run whirl-serve '/x=cgi:'
	assert_failure 2
	assert_output "whirl-serve: route '/x=cgi:': cgi: needs a COMMAND"
}
