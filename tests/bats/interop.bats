#!/usr/bin/env bats
# interop.bats - whirl's WebSocket roles against other implementations,
# one exchange per peer: Tornado's websocket_connect, python3-websockets'
# and node ws's clients against whirl-serve's ws-echo, and whirl's client
# role against a Tornado, a python websockets and a node ws echo server.
# Each exchange is text, binary, fragmented, 1 MiB and compressed
# messages (permessage-deflate agreed) and a close with its code.
#
# The peers are tests/peers/wspeer.py (Debian's /usr/bin/python3 with
# python3-tornado and python3-websockets), tests/peers/wspeer.js (node
# with Debian's node-ws, NODE_PATH=/usr/share/nodejs) and
# tests/peers/ws-client.c, whirl's client role as a small program that
# setup_file compiles against $WHIRL_BIN/libwhirl.a (it is not part of
# the Makefile build).  Every server listens on port 0 and prints it.

load helpers

setup_file() {
	export PEERS=$WHIRL_ROOT/tests/peers
	export WS_CLIENT=$BATS_FILE_TMPDIR/ws-client
	# shellcheck disable=SC2046
	cc -std=c11 -D_GNU_SOURCE -O1 -I"$WHIRL_ROOT/lib" -o "$WS_CLIENT" \
	    "$PEERS/ws-client.c" "$WHIRL_BIN/libwhirl.a" \
	    $(pkg-config --libs libevent libevent_openssl openssl libpcre2-8 \
	    zlib) -lpthread
	valgrind_wrap "$WS_CLIENT"
	start_server whirl whirl-serve --print-port -p 0 -q '/echo=ws-echo'
	export ECHO_URL=ws://127.0.0.1:$WHIRL_PORT/echo
}

teardown_file() {
	stop_started
}

teardown() {
	stop_started
}

need_python() {
	/usr/bin/python3 -c "import $1" 2>/dev/null ||
		skip "python3-$1 is not installed"
}

need_node() {
	NODE_PATH=/usr/share/nodejs node -e "require('ws')" 2>/dev/null ||
		skip 'nodejs and node-ws are not installed'
}

# The five messages every peer exchanges.
EXCHANGE='text: Hello, world
binary: ok
fragmented: fragmented
1 MiB: ok
compressed: ok'

@test "Tornado's websocket_connect against whirl-serve" {
	need_python tornado
	run /usr/bin/python3 "$PEERS/wspeer.py" client-tornado "$ECHO_URL"
	assert_success
	assert_output "extensions: permessage-deflate
$EXCHANGE
closed 4000 "
}

@test "python websockets' client against whirl-serve" {
	need_python websockets
	run /usr/bin/python3 "$PEERS/wspeer.py" client-websockets "$ECHO_URL"
	assert_success
	assert_output "extensions: permessage-deflate
$EXCHANGE
closed 4000 "
}

@test "node ws's client against whirl-serve" {
	need_node
	run env NODE_PATH=/usr/share/nodejs node "$PEERS/wspeer.js" client "$ECHO_URL"
	assert_success
	assert_output "extensions: permessage-deflate
$EXCHANGE
closed 4000"
}

@test "whirl's client against a Tornado WebSocket server" {
	need_python tornado
	start_server peer /usr/bin/python3 "$PEERS/wspeer.py" server-tornado
	run "$WS_CLIENT" "ws://127.0.0.1:$PEER_PORT/echo"
	assert_success
	assert_output "extensions: permessage-deflate
$EXCHANGE
closed 4000 
closed 4001 as asked"
}

@test "whirl's client against a python websockets server" {
	need_python websockets
	start_server peer /usr/bin/python3 "$PEERS/wspeer.py" server-websockets
	run "$WS_CLIENT" "ws://127.0.0.1:$PEER_PORT/echo"
	assert_success
	# websockets asks for 12-bit windows: both sides honour them.
	assert_output "extensions: permessage-deflate; server_max_window_bits=12; client_max_window_bits=12
$EXCHANGE
closed 4000 bye
closed 4001 as asked"
}

@test "whirl's client against a node ws server" {
	need_node
	start_server peer env NODE_PATH=/usr/share/nodejs node "$PEERS/wspeer.js" server
	run "$WS_CLIENT" "ws://127.0.0.1:$PEER_PORT/echo"
	assert_success
	assert_output "extensions: permessage-deflate
$EXCHANGE
closed 4000 bye
closed 4001 as asked"
}
