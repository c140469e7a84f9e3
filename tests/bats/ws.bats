#!/usr/bin/env bats
# ws.bats - whirl-ws in pipe mode: lines in, messages out, every option and
# every exit status, against real servers: Tornado (tests/peers/
# ws-tornado.py, plain and wss), python websockets (ws-websockets.py),
# node ws (ws-node.js), whirl-serve's WebSocket routes, a server that
# misbehaves on purpose (ws-raw.py), and whirl-ws -l itself.  The
# interactive mode is tested under tmux in ws-tty.bats.
#
# Servers start once per file on port 0 and print their port; every wait
# is for an event (a line, an exit) with a generous bound.

load helpers

bats_require_minimum_version 1.5.0

PEERS=$BATS_TEST_DIRNAME/../peers

setup_file() {
	export CERTS=$BATS_FILE_TMPDIR/certs
	"$WHIRL_ROOT/scripts/gen-test-certs" "$CERTS"
	start_server tornado /usr/bin/python3 "$PEERS/ws-tornado.py"
	start_server tornados /usr/bin/python3 "$PEERS/ws-tornado.py" \
	    --tls "$CERTS"
	start_server raw /usr/bin/python3 "$PEERS/ws-raw.py"
	start_server pyws /usr/bin/python3 "$PEERS/ws-websockets.py" server
	start_server node env NODE_PATH=/usr/share/nodejs node \
	    "$PEERS/ws-node.js"
	start_server serve whirl-serve --print-port -p 0 -q '/echo=ws-echo' \
	    '/said=ws-echo:you said: ' '/cat=ws-exec:cat' '/hello=text:hi'
	export T=ws://127.0.0.1:$TORNADO_PORT
	export TS=wss://localhost:$TORNADOS_PORT
}

teardown_file() {
	stop_started
}

teardown() {
	stop_started
}

# listen NAME TEXT ARGS...: whirl-ws -l on 127.0.0.1 port 0 in the
# background with TEXT (lines) on its stdin; sets NAME_PORT and NAME_PID.
listen() {
	local name=$1 input=$BATS_TEST_TMPDIR/$1.in
	printf '%s' "$2" >"$input"
	shift 2
	start_server "$name" sh -c 'in=$1; shift; exec whirl-ws --print-port \
	    -l "${LISTEN:-127.0.0.1:0}" "$@" <"$in"' sh "$input" "$@"
}

# reap PID: wait for our child in this shell (bash cannot wait for it
# from inside run or $(...)); its status, or "timeout", in $reaped.
reap() {
	wait_pid "$@" >"$BATS_TEST_TMPDIR/.reaped" || true
	reaped=$(cat "$BATS_TEST_TMPDIR/.reaped")
}

# ---- pipe mode ------------------------------------------------------------

@test "each stdin line is a text message, each message a stdout line" {
	run whirl-ws "$T/echo" < <(printf 'hello\nworld\n')
	assert_success
	assert_output $'hello\nworld'
}

@test "a CR before LF is stripped; an empty line is an empty message; a last line without LF is sent" {
	printf 'a\r\n\nb\r\nlast' | whirl-ws "$T/echo" >"$BATS_TEST_TMPDIR/out"
	printf 'a\n\nb\nlast\n' | cmp - "$BATS_TEST_TMPDIR/out"
}

@test "lines written before the handshake completes are queued, not dropped" {
	run whirl-ws "$T/slow?ms=400" < <(printf 'early 1\nearly 2\n')
	assert_success
	assert_output $'early 1\nearly 2'
}

@test "nothing but payloads on stdout; a message with newlines stays whole" {
	run --separate-stderr whirl-ws "$T/headers" </dev/null
	assert_success
	assert_equal "${#lines[@]}" 1
	[[ $output == '{"Host": "127.0.0.1:'* ]]
	assert_equal "$stderr" ""
}

@test "-x sends each message in order and does not read stdin" {
	run whirl-ws -x one -x 'two words' "$T/echo" < <(echo three)
	assert_success
	assert_output $'one\ntwo words'
}

@test "-c URL, a URL without ws://, and http:// read as ws://" {
	run whirl-ws -c "$T/echo" -x a
	assert_output a
	run whirl-ws -x b "127.0.0.1:$TORNADO_PORT/echo"
	assert_output b
	run whirl-ws -x c "http://127.0.0.1:$TORNADO_PORT/echo"
	assert_output c
}

@test "stdin lines that are not UTF-8 or too long: exit 1 with the line number" {
	run --separate-stderr whirl-ws "$T/echo" < <(printf 'ok\n\xff\xfe\n')
	assert_equal "$status" 1
	assert_equal "$stderr" "whirl-ws: line 2 is not UTF-8 (use -b)"
	run --separate-stderr bash -c '{ echo short; head -c 16777219 /dev/zero |
	    tr "\0" a; } | whirl-ws "$1"' _ "$T/echo"
	assert_equal "$status" 1
	assert_equal "$stderr" "whirl-ws: line 2 is longer than 16777216 bytes"
}

@test "-b sends lines as binary; binary messages print as their bytes" {
	printf 'hi\n\xff\x00\xfe\n' | whirl-ws -b "$T/echo" \
	    >"$BATS_TEST_TMPDIR/out"
	printf 'hi\n\xff\x00\xfe\n' | cmp - "$BATS_TEST_TMPDIR/out"
}

@test "--base64 prints binary messages as base64 lines, text as it is" {
	run whirl-ws -b --base64 "$T/echo" < <(printf 'hi\n\xff\x00\xfe\n')
	assert_success
	assert_output $'aGk=\n/wD+'
	run whirl-ws --base64 -x text "$T/echo"
	assert_output text
}

@test "--timestamps prefixes each message with the local time" {
	run whirl-ws --timestamps -x 'a b' "$T/echo"
	assert_success
	assert_output --regexp '^[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{3} a b$'
}

@test "--json does not touch pipe output" {
	run whirl-ws --json -1 "$T/json" </dev/null
	assert_success
	assert_output '{"name":"whirl","tags":["a","b"],"n":1,"ok":true,"none":null,"empty":{}}'
}

@test "-H, -o, --auth and -s reach the handshake; the server picks a subprotocol" {
	run whirl-ws -H 'X-One: 1' -H 'X-Two: two words' -o http://origin.test \
	    --auth 'user:pa:ss' -s chat -s superchat -1 "$T/headers" </dev/null
	assert_success
	run /usr/bin/python3 -c 'import json, sys
h = json.loads(sys.argv[1])
for k in ("X-One", "X-Two", "Origin", "Authorization", "Sec-Websocket-Protocol"):
    print(k + "=" + h.get(k, "-"))' "$output"
	assert_output "X-One=1
X-Two=two words
Origin=http://origin.test
Authorization=Basic dXNlcjpwYTpzcw==
Sec-Websocket-Protocol=chat, superchat"
}

@test "| head -1 ends quietly with status 0 after closing 1000" {
	run bash -c 'set -o pipefail
	    whirl-ws "$1" </dev/null 2>"$2" | head -1' _ \
	    "$T/push?n=20000&text=$(printf 'x%.0s' {1..100})" \
	    "$BATS_TEST_TMPDIR/err"
	assert_success
	assert_output "$(printf 'x%.0s' {1..100})1"
	assert_equal "$(cat "$BATS_TEST_TMPDIR/err")" ""
}

@test "an error writing stdout: status 1" {
	run --separate-stderr bash -c 'whirl-ws -x hi "$1" >/dev/full' _ "$T/echo"
	assert_equal "$status" 1
	assert_equal "$stderr" "whirl-ws: stdout: No space left on device"
}

# ---- exit statuses ------------------------------------------------------

@test "status 0: the server answered our close, or closed with 1000, 1001 or 1005" {
	run whirl-ws -x x "$T/echo"
	assert_success
	for code in 1000 1001 none; do
		run --separate-stderr whirl-ws "$T/close?code=$code" </dev/null
		assert_success
		assert_equal "$stderr" ""
	done
}

@test "status 5 and 'close CODE \"REASON\"' when the server closes with another code" {
	run --separate-stderr whirl-ws "$T/close?code=1011&reason=it%20broke" \
	    </dev/null
	assert_equal "$status" 5
	assert_equal "$stderr" 'whirl-ws: close 1011 "it broke"'
	run --separate-stderr whirl-ws "$T/close?code=4321" </dev/null
	assert_equal "$status" 5
	assert_equal "$stderr" 'whirl-ws: close 4321 ""'
}

@test "status 5 when the connection drops without a close frame (1006)" {
	run --separate-stderr whirl-ws -x hi "ws://127.0.0.1:$RAW_PORT/drop"
	assert_equal "$status" 5
	[[ $stderr == 'whirl-ws: close 1006 "'* ]]
}

@test "status 6 when the server never answers our close within --wait" {
	run --separate-stderr whirl-ws -w 0.3 -x hi \
	    "ws://127.0.0.1:$RAW_PORT/mute"
	assert_equal "$status" 6
	assert_equal "$stderr" "whirl-ws: no close from the server within 0.3 s"
}

@test "status 3: connection refused, unknown host, connect timeout" {
	local port
	port=$(free_port)
	run --separate-stderr whirl-ws -x hi "ws://127.0.0.1:$port/"
	assert_equal "$status" 3
	assert_equal "$stderr" \
	    "whirl-ws: connect 127.0.0.1 port $port: Connection refused"
	run --separate-stderr whirl-ws -x hi ws://nonexistent.invalid/
	assert_equal "$status" 3
	assert_equal "$stderr" "whirl-ws: unknown host nonexistent.invalid"
	# A TCP server that never answers the handshake.
	start_server mute whirl-socket --print-port -s 0
	run --separate-stderr whirl-ws --connect-timeout 0.3 -x hi \
	    "ws://127.0.0.1:$MUTE_PORT/"
	assert_equal "$status" 3
	assert_equal "$stderr" "whirl-ws: WebSocket handshake timed out"
}

@test "status 4 and the status line when the handshake is refused" {
	run --separate-stderr whirl-ws -x hi "$T/reject"
	assert_equal "$status" 4
	assert_equal "$stderr" "whirl-ws: HTTP/1.1 403 Forbidden"
	run --separate-stderr whirl-ws -x hi "ws://127.0.0.1:$SERVE_PORT/hello"
	assert_equal "$status" 4
	assert_equal "$stderr" "whirl-ws: HTTP/1.1 200 OK"
}

@test "status 2 for usage errors" {
	local bad
	for bad in --bogus '' 'ftp://x/' '-w 0' '-w x' '--close-code 1005' \
	    '--close-code 999' '--until (' '-l 0 ws://x/' '-l 70000' \
	    '--print-port ws://x/' '--key k ws://x/' '-H nocolon ws://x/' \
	    '--auth nopass ws://x/' '-s bad,token ws://x/' 'ws://a/ ws://b/'; do
		run --separate-stderr whirl-ws $bad
		assert_equal "$status" 2
		[[ $stderr == *"Try 'whirl-ws --help' for more."* ]]
	done
	run --separate-stderr whirl-ws -H $'X-A: a\x01' ws://x/
	assert_equal "$status" 2
	assert_equal "${stderr_lines[0]}" \
	    "whirl-ws: bad -H '"$'X-A: a\x01'"': control character in the value of header X-A"
}

@test "status 130 on SIGINT, after sending a close frame" {
	listen srv $'welcome\n' -1 -w 10
	start_bg cli whirl-ws -w 10 --until never "ws://127.0.0.1:$SRV_PORT/"
	wait_for_line "$BATS_TEST_TMPDIR/cli.out" '^welcome$'
	kill -INT "$BG_PID"
	reap "$BG_PID"
	assert_equal "$reaped" 130
	# The server saw our close (1000) before its -1 was met: 7, not 5.
	reap "$SRV_PID"
	assert_equal "$reaped" 7
}

# ---- --until, -1 and --wait ---------------------------------------------

@test "--until: exit 0 at the first match, after printing the messages before it" {
	run whirl-ws --until 'e3$' "$T/push?n=5" </dev/null
	assert_success
	assert_output $'message1\nmessage2\nmessage3'
}

@test "--until in a bash test: wait for a message that comes later" {
	if whirl-ws -w 5 --until '^done$' "$T/after?ms=200" </dev/null \
	    >"$BATS_TEST_TMPDIR/out"; then
		result=ok
	fi
	assert_equal "${result-}" ok
	assert_equal "$(cat "$BATS_TEST_TMPDIR/out")" done
}

@test "--until: status 6 when nothing matches within --wait, 7 when the server closes first" {
	run --separate-stderr whirl-ws -w 0.3 --until never -x hi "$T/echo"
	assert_equal "$status" 6
	assert_equal "$output" hi
	assert_equal "$stderr" "whirl-ws: no message matched --until within 0.3 s"
	run --separate-stderr whirl-ws --until never "$T/close?code=1000&reason=bye" \
	    </dev/null
	assert_equal "$status" 7
	assert_equal "$stderr" \
	    'whirl-ws: closed before --until matched (close 1000 "bye")'
}

@test "-1: the first message only; status 6 without one within --wait" {
	run whirl-ws -1 "$T/push?n=3" </dev/null
	assert_success
	assert_output message1
	run --separate-stderr whirl-ws -1 -w 0.3 "$T/echo" </dev/null
	assert_equal "$status" 6
	assert_equal "$stderr" "whirl-ws: no message within 0.3 s (-1)"
}

@test "-w -1 waits without bound" {
	run whirl-ws -w -1 --until '^done$' "$T/after?ms=300" </dev/null
	assert_success
	assert_output done
}

# ---- pings, compression, close codes --------------------------------------

@test "--ping-interval pings the server; -P shows the pongs on stderr" {
	local iv=0.05 ms=400
	# A pong late by one interval is a peer gone: valgrind needs more.
	under_valgrind && iv=0.25 ms=1500
	run --separate-stderr whirl-ws --ping-interval "$iv" -P --until done \
	    "$T/after?ms=$ms" </dev/null
	assert_success
	assert_output done
	[[ ${stderr%%$'\n'*} == 'whirl-ws: pong ""' ]]
	(($(grep -c . <<<"$stderr") >= 3))
}

@test "-P shows the server's pings on stderr" {
	run --separate-stderr whirl-ws -P --until x -x x "$T/ping?data=knock"
	assert_success
	assert_output x
	assert_equal "$stderr" 'whirl-ws: ping "knock"'
}

@test "--compress: permessage-deflate agreed with node ws, python websockets and Tornado" {
	local big
	big=$(head -c 100000 /dev/zero | tr '\0' w)
	run whirl-ws --compress --until '^x' "ws://127.0.0.1:$NODE_PORT/extensions" \
	    < <(echo "x$big")
	assert_success
	assert_equal "${lines[0]}" permessage-deflate
	assert_equal "${lines[1]}" "x$big"
	run whirl-ws --compress --until '^x' "ws://127.0.0.1:$PYWS_PORT/extensions" \
	    < <(echo "x$big")
	assert_success
	assert_equal "${lines[0]}" \
	    "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
	assert_equal "${lines[1]}" "x$big"
	run whirl-ws --compress -1 "$T/headers" </dev/null
	[[ $output == *'"Sec-Websocket-Extensions": "permessage-deflate; client_max_window_bits"'* ]]
	run whirl-ws --compress -x "$big" "$T/echo"
	assert_output "$big"
}

@test "without --compress no extension is offered" {
	run whirl-ws -1 "ws://127.0.0.1:$NODE_PORT/extensions" </dev/null
	assert_success
	assert_output none
}

@test "--close-code and --close-reason reach the peer (whirl-ws -l sees them)" {
	listen srv '' -w 10 --until never
	run whirl-ws --close-code 4001 --close-reason 'see you' -x hi \
	    "ws://127.0.0.1:$SRV_PORT/"
	assert_success
	reap "$SRV_PID"
	assert_equal "$reaped" 5
	run cat "$BATS_TEST_TMPDIR/srv.out"
	assert_output hi
	run grep -v '^[0-9]*$' "$BATS_TEST_TMPDIR/srv.err"
	assert_output "whirl-ws: listening on ws://127.0.0.1:$SRV_PORT/
whirl-ws: close 4001 \"see you\""
}

# ---- wss ----------------------------------------------------------------

@test "wss with --cacert (by name and by address)" {
	run whirl-ws --cacert "$CERTS/ca.pem" -x secure "$TS/echo"
	assert_success
	assert_output secure
	run whirl-ws --cacert "$CERTS/ca.pem" -x secure \
	    "wss://127.0.0.1:$TORNADOS_PORT/echo"
	assert_output secure
}

@test "wss refused with a wrong CA or none, status 3; -k and -n skip the check" {
	run --separate-stderr whirl-ws --cacert "$CERTS/wrongca.pem" -x x "$TS/echo"
	assert_equal "$status" 3
	[[ $stderr == "whirl-ws: tls: certificate verify failed: "* ]]
	run --separate-stderr whirl-ws -x x "$TS/echo"
	assert_equal "$status" 3
	[[ $stderr == "whirl-ws: tls: certificate verify failed: "* ]]
	run whirl-ws -k -x x "$TS/echo"
	assert_success
	assert_output x
	run whirl-ws -n -x y "$TS/echo"
	assert_output y
	run --separate-stderr whirl-ws --cacert "$CERTS/missing.pem" -x x "$TS/echo"
	assert_equal "$status" 3
	[[ $stderr == "whirl-ws: tls: cannot load CA file $CERTS/missing.pem"* ]]
}

@test "--cert and --key present a client certificate" {
	run whirl-ws --cacert "$CERTS/ca.pem" --cert "$CERTS/client.pem" \
	    --key "$CERTS/client.key" -1 "$TS/whoami" </dev/null
	assert_success
	assert_output "whirl test client"
	run whirl-ws --cacert "$CERTS/ca.pem" -1 "$TS/whoami" </dev/null
	assert_output none
}

# ---- -l -----------------------------------------------------------------

@test "-l with another whirl-ws: messages both ways, both exit 0" {
	listen srv $'from server\n' -1 -w 10
	run whirl-ws -w 10 --until 'from server' -x 'from client' \
	    "ws://127.0.0.1:$SRV_PORT/"
	assert_success
	assert_output 'from server'
	reap "$SRV_PID"
	assert_equal "$reaped" 0
	assert_equal "$(cat "$BATS_TEST_TMPDIR/srv.out")" 'from client'
}

@test "-l with a python websockets client" {
	listen srv $'hello python\n' -1 -w 10
	run /usr/bin/python3 "$PEERS/ws-websockets.py" client \
	    "ws://127.0.0.1:$SRV_PORT/any/path" 'hello whirl'
	assert_success
	assert_output $'hello python\nclosed 1000 '
	reap "$SRV_PID"
	assert_equal "$reaped" 0
	assert_equal "$(cat "$BATS_TEST_TMPDIR/srv.out")" 'hello whirl'
}

@test "-l takes one client: others are refused; plain HTTP gets 400" {
	listen srv '' -w 10 --until never
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SRV_PORT/"
	assert_output 400
	start_bg first whirl-ws -w 10 --until never -x first \
	    "ws://127.0.0.1:$SRV_PORT/"
	wait_for_line "$BATS_TEST_TMPDIR/srv.out" '^first$'
	run --separate-stderr whirl-ws -x second "ws://127.0.0.1:$SRV_PORT/"
	assert_equal "$status" 3
	assert_equal "$stderr" \
	    "whirl-ws: connect 127.0.0.1 port $SRV_PORT: Connection refused"
}

@test "-l with --cert and --key serves wss" {
	listen srv $'secret\n' --cert "$CERTS/server.pem" \
	    --key "$CERTS/server.key"
	run whirl-ws --cacert "$CERTS/ca.pem" -1 "wss://localhost:$SRV_PORT/" \
	    </dev/null
	assert_success
	assert_output secret
	run grep -c 'listening on wss://127.0.0.1:' "$BATS_TEST_TMPDIR/srv.err"
	assert_output 1
}

@test "-l on IPv6 ([::1]:0)" {
	LISTEN='[::1]:0' listen srv $'six\n'
	run whirl-ws -1 "ws://[::1]:$SRV_PORT/" </dev/null
	assert_success
	assert_output six
}

# ---- peers --------------------------------------------------------------

@test "whirl-serve's routes: ws-echo, ws-echo with a prefix, ws-exec" {
	run whirl-ws "ws://127.0.0.1:$SERVE_PORT/echo" < <(printf 'a\nb\n')
	assert_success
	assert_output $'a\nb'
	run whirl-ws "ws://127.0.0.1:$SERVE_PORT/said" < <(printf 'a\n')
	assert_output 'you said: a'
	run whirl-ws --until two "ws://127.0.0.1:$SERVE_PORT/cat" \
	    < <(printf 'one\ntwo\n')
	assert_success
	assert_output $'one\ntwo'
}

@test "python websockets and node ws echo lines" {
	run whirl-ws --until '^2$' "ws://127.0.0.1:$PYWS_PORT/" < <(printf '1\n2\n')
	assert_success
	assert_output $'1\n2'
	run whirl-ws "ws://127.0.0.1:$NODE_PORT/" < <(printf '1\n2\n')
	assert_success
	assert_output $'1\n2'
}

# ---- documentation ------------------------------------------------------

@test "--help's usage is the man page's SYNOPSIS; --version" {
	local usage synopsis
	usage=$(whirl-ws --help | sed -n '1,3p' | sed 's/^Usage: //' |
	    tr -s ' \n' ' ')
	# (mandoc's bold is "c\bc": the sed takes the overstrikes out.)
	synopsis=$(mandoc -Tascii -O width=300 "$WHIRL_ROOT/man/whirl-ws.1" |
	    sed 's/.\x08//g' | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' |
	    sed '1d;$d' | tr -s ' \n' ' ')
	assert_equal " ${usage% }" "${synopsis% whirl-ws --help | --version }"
	run whirl-ws --version
	assert_output 'whirl-ws 0.1.0'
}

@test "every long option is in the man page and in the bash completion" {
	local opt
	for opt in $(whirl-ws --help | grep -oE -- '--[a-z0-9-]+' | sort -u); do
		grep -qF -- "Fl -${opt#--}" "$WHIRL_ROOT/man/whirl-ws.1" ||
		    fail "$opt is not in whirl-ws.1"
		grep -qF -- "$opt" "$WHIRL_ROOT/scripts/bash-completion/whirl-ws" ||
		    fail "$opt is not completed"
	done
}

@test "bash completion: options, files after --cacert, ws:// and hosts" {
	run bash -c 'source "$1/scripts/bash-completion/whirl-ws"
	    c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _whirl_ws
		echo "[${COMPREPLY[*]}]"; }
	    cd "$2" && touch ca.pem
	    c whirl-ws --no; c whirl-ws -; c whirl-ws --cacert c
	    c whirl-ws w; c whirl-ws ws://localh; c whirl-ws -x ""' \
	    _ "$WHIRL_ROOT" "$BATS_TEST_TMPDIR"
	assert_success
	assert_output "[--no-check --no-color --no-history]
[-1 -b -c -H -h -k -l -n -o -P -s -w -x]
[ca.pem]
[ws:// wss://]
[ws://localhost]
[]"
}
