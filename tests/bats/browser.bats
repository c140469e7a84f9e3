#!/usr/bin/env bats
# browser.bats - a real browser on whirl-serve's demo: headless Chromium
# (Debian's chromium) loads /demo, whose script opens ws://HOST/websocket
# and sends "Hello, world"; the test reads the reply out of the page over
# the DevTools protocol (tests/peers/cdp-eval.js, node's standard library
# over --remote-debugging-pipe), polling with a bound: --dump-dom would not
# wait for the WebSocket.  Chromium gets a fresh profile each run and is
# stopped by its PID.

load helpers

setup() {
	command -v node >/dev/null || skip 'nodejs is not installed'
	[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || skip 'chromium is not installed'
}

teardown() {
	stop_started
}

@test "Chromium loads /demo and the page receives 'You said: Hello, world'" {
	start_server srv whirl-serve --print-port -p 0
	reply='document.getElementById("reply").textContent'
	run env CHROMIUM_LOG="$BATS_TEST_TMPDIR/chromium.log" \
	    node "$WHIRL_ROOT/tests/peers/cdp-eval.js" \
	    "http://127.0.0.1:$SRV_PORT/demo" \
	    "$reply.startsWith('You said') && $reply" 20000
	assert_success
	assert_line -n 0 --regexp '^chromium pid [0-9]+$'
	assert_line -n 1 'You said: Hello, world'
	# Chromium is gone, by its PID.
	pid=${lines[0]#chromium pid }
	run ps -o stat= -p "$pid"
	refute_output --regexp '^[^Z]'
	# The page and the handshake (with the page's Origin) in the log.
	run grep -oE '\] [0-9]{3} GET /[a-z]*' "$BATS_TEST_TMPDIR/srv.err"
	assert_line '] 200 GET /demo'
	assert_line '] 101 GET /websocket'
}
