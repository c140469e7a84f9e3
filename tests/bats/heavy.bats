#!/usr/bin/env bats
# heavy.bats - the heavy tier (make test-heavy, WHIRL_HEAVY=1; every test
# is skipped otherwise): 10,000 HTTP connections open at once, 10,000 idle
# WebSockets, Autobahn section 9's largest messages, and a 1 GiB download.
# The clients run in processes of their own (tests/peers/heavy.py, and
# scripts/wsload.c compiled here); servers are stopped by PID.  The limit
# of descriptors here is 20,000: the clients raise their soft limit to the
# hard one, and whirl-serve does the same.  About two minutes in all.

load helpers
bats_require_minimum_version 1.5.0

HEAVY=$BATS_TEST_DIRNAME/../peers/heavy.py

setup_file() {
	[ "${WHIRL_HEAVY-}" = 1 ] || return 0
	cc -O2 -o "$BATS_FILE_TMPDIR/wsload" "$WHIRL_ROOT/scripts/wsload.c"
}

setup() {
	[ "${WHIRL_HEAVY-}" = 1 ] || skip "the heavy tier (WHIRL_HEAVY=1, make test-heavy)"
	[ "$(ulimit -Hn)" -ge 10100 ] || skip "a hard limit of $(ulimit -Hn) descriptors (10,100 needed)"
}

teardown() {
	[ -n "${HOLD_FD-}" ] && exec {HOLD_FD}>&-
	stop_started
}

fds() {
	ls "/proc/$1/fd" | wc -l
}

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# hold NAME CMD...: CMD in the background with a FIFO on its stdin, kept
# open on HOLD_FD; "release" sends it a line and closes it.  Output to
# NAME.out.  Sets BG_PID.
hold() {
	local name=$1 fifo=$BATS_TEST_TMPDIR/$1.fifo
	shift
	mkfifo "$fifo"
	"$@" <"$fifo" >"$BATS_TEST_TMPDIR/$name.out" \
	    2>"$BATS_TEST_TMPDIR/$name.err" 3>&- 4>&- &
	BG_PID=$!
	echo "$BG_PID" >>"$BATS_TEST_TMPDIR/started.pids"
	exec {HOLD_FD}>"$fifo"
}

release() {
	echo >&"$HOLD_FD"
	exec {HOLD_FD}>&-
	HOLD_FD=
}

# until_fds PID N SECS: until the process has N descriptors open.
until_fds() {
	local end=$((SECONDS + $3))
	until [ "$(fds "$1")" -eq "$2" ]; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

@test "10,000 HTTP connections open at once, each answered exactly; then a new one; then the descriptors back" {
	start_server srv whirl-serve -q --print-port -p 0 --idle-timeout 300
	run whirl-fetch -s "http://127.0.0.1:$SRV_PORT/"
	assert_output 'Hello, world'
	base=$(fds "$SRV_PID")
	hold cl /usr/bin/python3 "$HEAVY" http-hold "$SRV_PORT" 10000 / 'Hello, world'
	cl=$BG_PID
	wait_for_line "$BATS_TEST_TMPDIR/cl.out" '^ready' 120
	assert_equal "$(cat "$BATS_TEST_TMPDIR/cl.out")" 'ready 10000 0'
	# All 10,000 are open in the server at this moment.
	held=$(fds "$SRV_PID")
	echo "# server descriptors: $base, then $held with the 10,000 held" >&3
	[ "$held" -ge $((base + 10000)) ]
	run whirl-fetch -s "http://127.0.0.1:$SRV_PORT/"
	assert_output 'Hello, world'
	release
	wait_for_line "$BATS_TEST_TMPDIR/cl.out" '^closed' 60
	wait_pid "$cl" 60 >/dev/null
	assert_equal "$WAIT_STATUS" 0
	assert_equal "$(tail -n 1 "$BATS_TEST_TMPDIR/cl.out")" 'closed 10000'
	until_fds "$SRV_PID" "$base" 30 ||
	    fail "the server holds $(fds "$SRV_PID") descriptors, not $base"
}

@test "10,000 idle WebSockets: under 2 KiB each, and a new connection still echoes" {
	start_server srv whirl-serve -q --print-port -p 0 --idle-timeout 300 \
	    '/echo=ws-echo'
	wsload=$BATS_FILE_TMPDIR/wsload
	# One echo first, so that the first connection's allocations are in
	# the baseline.
	run "$wsload" -p "$SRV_PORT" -P /echo -c 1 -s 32 -d 0.2 -w 0
	assert_success
	base=$(fds "$SRV_PID")
	before=$(rss_kib "$SRV_PID")
	hold gen "$wsload" -p "$SRV_PORT" -P /echo -i 10000
	gen=$BG_PID
	wait_for_line "$BATS_TEST_TMPDIR/gen.out" '^open' 120
	assert_equal "$(cat "$BATS_TEST_TMPDIR/gen.out")" 'open 10000'
	after=$(rss_kib "$SRV_PID")
	held=$(fds "$SRV_PID")
	per=$(((after - before) * 1024 / 10000))
	echo "# RSS $before KiB, then $after KiB with 10,000 idle: $per B each; descriptors $base, then $held" >&3
	[ "$held" -ge $((base + 10000)) ]
	[ "$per" -lt 2048 ]
	release
	wait_pid "$gen" 60 >/dev/null
	assert_equal "$WAIT_STATUS" 0
	assert_equal "$(cat "$BATS_TEST_TMPDIR/gen.out")" 'open 10000
echo ok'
	until_fds "$SRV_PID" "$base" 30 ||
	    fail "the server holds $(fds "$SRV_PID") descriptors, not $base"
}

@test "Autobahn 9 sizes: 1, 4 and 16 MiB text and binary in 64 KiB and 4 KiB frames, plain and deflated, echoed exactly" {
	start_server srv whirl-serve -q --print-port -p 0 '/echo=ws-echo'
	run --separate-stderr timeout 180 /usr/bin/python3 "$HEAVY" ws-big "ws://127.0.0.1:$SRV_PORT/echo"
	assert_success
	expected=
	for mode in plain deflate; do
		for size in 1 4 16; do
			for kind in text binary; do
				for frame in 64 4; do
					expected+="$kind ${size}MiB frames=${frame}KiB $mode ok"$'\n'
				done
			done
		done
		expected+='close 1000'$'\n'
	done
	assert_output "${expected%$'\n'}"
	echo "# server peak RSS: $(awk '/^VmHWM:/ { print $2, $3 }' "/proc/$SRV_PID/status")" >&3
}

@test "Autobahn 9: 10,000 round trips of 1 KiB, plain and deflated, each checked" {
	start_server srv whirl-serve -q --print-port -p 0 '/echo=ws-echo'
	run --separate-stderr timeout 120 /usr/bin/python3 "$HEAVY" ws-many "ws://127.0.0.1:$SRV_PORT/echo" 10000 1024
	assert_success
	assert_output '10000 echoed'
	run --separate-stderr timeout 120 /usr/bin/python3 "$HEAVY" ws-many "ws://127.0.0.1:$SRV_PORT/echo" 10000 1024 deflate
	assert_success
	assert_output '10000 echoed'
}

@test "--ws-max-message's default: 16 MiB is echoed, one byte more is 1009, deflated too (a bomb stops there)" {
	start_server srv whirl-serve -q --print-port -p 0 '/echo=ws-echo'
	url=ws://127.0.0.1:$SRV_PORT/echo
	run --separate-stderr timeout 60 /usr/bin/python3 "$HEAVY" ws-over "$url" 16777216
	assert_output 'echoed 16777216 ok
closed 1000'
	run --separate-stderr timeout 60 /usr/bin/python3 "$HEAVY" ws-over "$url" 16777217
	assert_output 'closed 1009'
	# 16 MiB of zeros deflate to about 16 KiB on the wire.
	run --separate-stderr timeout 60 /usr/bin/python3 "$HEAVY" ws-over "$url" 16777216 deflate
	assert_output 'echoed 16777216 ok
closed 1000'
	run --separate-stderr timeout 60 /usr/bin/python3 "$HEAVY" ws-over "$url" 16777217 deflate
	assert_output 'closed 1009'
	# Still serving.
	run --separate-stderr timeout 60 /usr/bin/python3 "$HEAVY" ws-many "$url" 1 16
	assert_output '1 echoed'
}

@test "whirl-fetch downloads a 1 GiB file: sha256 equal, peak RSS within 2 MiB of a 1 KiB download's" {
	www=$BATS_TEST_TMPDIR/www
	mkdir "$www"
	truncate -s 1G "$www/big"
	head -c 1024 /dev/urandom >"$www/small"
	start_server srv whirl-serve -q --print-port -p 0 "/files/=dir:$www"
	t=$BATS_TEST_TMPDIR/time
	/usr/bin/time -f %M -o "$t.small" whirl-fetch -s -o "$BATS_TEST_TMPDIR/small" \
	    "http://127.0.0.1:$SRV_PORT/files/small"
	cmp "$www/small" "$BATS_TEST_TMPDIR/small"
	timeout 120 /usr/bin/time -f %M -o "$t.big" whirl-fetch -s \
	    -o "$BATS_TEST_TMPDIR/big" "http://127.0.0.1:$SRV_PORT/files/big"
	assert_equal "$(stat -c %s "$BATS_TEST_TMPDIR/big")" 1073741824
	read -r want _ < <(sha256sum "$www/big")
	read -r got _ < <(sha256sum "$BATS_TEST_TMPDIR/big")
	rm -f "$BATS_TEST_TMPDIR/big"
	assert_equal "$got" "$want"
	small=$(cat "$t.small") big=$(cat "$t.big")
	echo "# whirl-fetch peak RSS: $small KiB for 1 KiB, $big KiB for 1 GiB" >&3
	# The body streams through the stream's buffer to the file: what the
	# 1 GiB costs beyond a tiny download is a buffer, not the file.
	[ "$big" -lt $((small + 2048)) ]
}
