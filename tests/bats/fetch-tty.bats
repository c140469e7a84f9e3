#!/usr/bin/env bats
# fetch-tty.bats - whirl-fetch on a terminal, driven under tmux: wget's
# progress bar on stderr (one line per transfer with -Z; none when piped,
# with -s or --no-progress-meter), coloured heads and indented JSON on
# stdout (none with --pretty=none, no colour with NO_COLOR, the raw body
# through a pipe).  The server is tests/peers/fetch-tornado.py (/drip
# sends a body slowly, /json a JSON document).
#
# tmux.bash starts and reads the terminal.

load helpers
load tmux
bats_require_minimum_version 1.5.0

setup_file() {
	start_server tornado /usr/bin/python3 \
	    "$WHIRL_ROOT/tests/peers/fetch-tornado.py"
	export T=http://127.0.0.1:$TORNADO_PORT
}

teardown_file() {
	stop_started
}

teardown() {
	tmux_stop
}

@test "a progress bar on a terminal while a file is written, as wget draws it" {
	no_tmux && skip "no tmux in the sanitizer tier"
	tmux_start "whirl-fetch -o drip.out '$T/drip?n=100000&ms=80'"
	# While it runs: the name, the percentage, the bar, the size, the
	# rate and the time left.
	tmux_wait '^drip\.out +[0-9]{1,2}%\[=*> *\] +[0-9.]+K +[0-9.]+KB/s +eta [0-9]+s$'
	run tmux_exit
	assert_output 0
	run tmux_screen
	assert_line --regexp '^drip\.out +100%\[=+>\]  97\.66K +[0-9.]+KB/s  in [0-9.]+s$'
	# Only the last state stays: one line.
	assert_equal "$(tmux_screen | grep -c .)" 1
	assert_equal "$(wc -c <"$BATS_TEST_TMPDIR/drip.out")" 100000
}

@test "-Z: one progress line for each transfer, unknown sizes too" {
	no_tmux && skip "no tmux in the sanitizer tier"
	tmux_start "whirl-fetch -Z -o one '$T/drip?n=40000&ms=60' -o two '$T/nolength?n=60000&ms=60' -o quick '$T/json'"
	tmux_wait '^two +\[ *<=> *\] '
	run tmux_exit
	assert_output 0
	run tmux_screen
	assert_line --regexp '^one +100%\[=+>\]  39\.06K +[0-9.]+KB/s  in [0-9.]+s$'
	assert_line --regexp '^two +100%\[=+>\]  58\.59K +[0-9.]+KB/s  in [0-9.]+s$'
	# A transfer done in a moment draws nothing.
	refute_line --partial quick
	assert_equal "$(tmux_screen | grep -c .)" 2
}

@test "no progress bar through a pipe, with -s or --no-progress-meter" {
	no_tmux && skip "no tmux in the sanitizer tier"
	local u="$T/drip?n=20000&ms=60"
	tmux_start "whirl-fetch '$u' | wc -c; whirl-fetch -s -o a '$u'; whirl-fetch --no-progress-meter -o b '$u'; whirl-fetch -o c '$u' 2>err; echo done"
	tmux_wait '^done$'
	run tmux_screen
	assert_output "20000
done"
	[ ! -s "$BATS_TEST_TMPDIR/err" ]
	[ "$(cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" \
	    "$BATS_TEST_TMPDIR/c" | wc -c)" = 60000 ]
}

@test "on a terminal: coloured heads and indented JSON, as HTTPie shows them" {
	no_tmux && skip "no tmux in the sanitizer tier"
	unset NO_COLOR
	tmux_start "env -u NO_COLOR whirl-fetch -i '$T/json'"
	run tmux_exit
	assert_output 0
	run tmux_screen
	assert_line --index 0 'HTTP/1.1 200 OK'
	assert_line 'Content-Type: application/json; charset=utf-8'
	assert_line --index 6 '{'
	assert_line '    "name": "whirl",'
	assert_line '    "list": ['
	assert_line '        -2.5e3,'
	assert_line '        "a": "b \"q\""'
	assert_line '    "empty": {},'
	assert_line '    "none": []'
	assert_line --index 20 '}'
	# The colours: the status in green, field names in cyan, keys in
	# blue, strings in yellow, numbers in cyan, literals in magenta.
	run tmux_screen -e
	assert_line --partial $'\e[32m200 OK'
	assert_line --partial $'\e[36mContent-Type\e[39m: application/json'
	assert_line $'    \e[34m"name"\e[39m: \e[33m"whirl"\e[39m,'
	assert_line $'        \e[36m-2.5e3\e[39m,'
	assert_line $'        \e[35mtrue\e[39m,'
}

@test "--pretty=none, NO_COLOR, a pipe, and a body that is not JSON" {
	no_tmux && skip "no tmux in the sanitizer tier"
	tmux_start "whirl-fetch --pretty=none '$T/json'; echo; whirl-fetch '$T/json' | cat; echo; NO_COLOR=1 whirl-fetch -i '$T/json'; whirl-fetch '$T/json?bad=1'; echo; echo done"
	tmux_wait '^done$'
	run tmux_screen -e
	local raw='{"name":"whirl","list":[1,-2.5e3,true,false,null],"nested":{"a":"b \"q\""},"empty":{},"none":[]}'
	assert_line --index 0 "$raw"
	assert_line --index 1 "$raw"
	# NO_COLOR: indented, not a colour anywhere.
	assert_line --index 2 'HTTP/1.1 200 OK'
	assert_line '    "name": "whirl",'
	refute_output --partial $'\e['
	assert_line --index -2 '{"not": json'
}

# Without a terminal: an explicit --pretty formats a pipe too.
@test "--pretty=all or format through a pipe, when asked for" {
	run whirl-fetch --pretty=format "$T/json"
	assert_success
	assert_line --index 0 '{'
	assert_line --index 1 '    "name": "whirl",'
	assert_equal "${#lines[@]}" 15
	run whirl-fetch --pretty=all "$T/json"
	assert_line --index 1 $'    \e[34m"name"\e[0m: \e[33m"whirl"\e[0m,'
	run whirl-fetch --pretty=colors -i "$T/json?bad=1"
	assert_line --index 0 $'\e[34mHTTP/1.1\e[0m \e[1m\e[32m200 OK\e[0m'
	assert_line --index -1 '{"not": json'
	run whirl-fetch "$T/json"
	assert_output '{"name":"whirl","list":[1,-2.5e3,true,false,null],"nested":{"a":"b \"q\""},"empty":{},"none":[]}'
	run whirl-fetch --pretty=sometimes "$T/json"
	assert_failure 2
}
