#!/usr/bin/env bats
# ws-tty.bats - whirl-ws's interactive mode, driven under tmux: the typed
# line survives messages arriving, history across runs, every slash
# command, colours, Ctrl-D and Ctrl-C.  The peer is tests/peers/
# ws-tornado.py.
#
# tmux.bash starts and reads the terminal.

load helpers
load tmux

PEERS=$BATS_TEST_DIRNAME/../peers

setup_file() {
	no_tmux && return 0
	start_server tornado /usr/bin/python3 "$PEERS/ws-tornado.py"
	export T=ws://127.0.0.1:$TORNADO_PORT
}

teardown_file() {
	stop_started
}

setup() {
	no_tmux && skip "no tmux in the sanitizer tier"
	# History goes to this test's own ~/.whirl_ws_history.
	export HOME=$BATS_TEST_TMPDIR
	unset NO_COLOR
}

teardown() {
	tmux_stop
	stop_started
}

# tmux_wait_last REGEX: until the last non-empty line matches.
tmux_wait_last() {
	tmux_until last_line "$1"
}

# The prompt comes before the handshake ends (lines typed meanwhile are
# queued); commands that need the connection wait for it to be up.
tmux_wait_connected() {
	tmux_wait '^> ?$'
	tmux_wait '^Connected to '
}

# tmux_line TEXT: type TEXT and Enter, once the prompt is back.
tmux_line() {
	tmux_type "$1"
	tmux_keys Enter
}

# The last non-empty line of the screen.
last_line() {
	tmux_screen | grep -v '^$' | tail -1
}

@test "typing while messages arrive leaves the typed line intact" {
	tmux_start "whirl-ws '$T/tick?ms=100'"
	tmux_wait '^> ?$'
	tmux_type 'half typed'
	tmux_wait '^> half typed$'
	tmux_wait '^< tick 5$'
	run last_line
	assert_output '> half typed'
	assert_equal "$(tmux_fmt '#{cursor_x}')" 12
	# Move the cursor into the line: it stays there too.
	tmux_keys Left Left Left Left Left Left
	tmux_wait '^< tick 8$'
	assert_equal "$(tmux_fmt '#{cursor_x}')" 6
	tmux_type 'ly'
	tmux_keys End
	tmux_type ' line'
	tmux_keys Enter
	tmux_wait '^< got halfly typed line$'
	run tmux_screen
	assert_line '> halfly typed line'
}

@test "history is kept across runs and recalled with the up arrow" {
	tmux_start "whirl-ws '$T/echo'"
	tmux_wait '^> ?$'
	tmux_line 'first line'
	tmux_wait '^< first line$'
	tmux_line 'second line'
	tmux_wait '^< second line$'
	tmux_keys C-d
	run tmux_exit
	assert_output 0
	tmux_stop
	assert_equal "$(cat "$HOME/.whirl_ws_history")" $'first line\nsecond line'
	assert_equal "$(stat -c %a "$HOME/.whirl_ws_history")" 600
	tmux_start "whirl-ws '$T/echo'"
	tmux_wait '^> ?$'
	tmux_keys Up
	tmux_wait '^> second line *$'
	tmux_keys Up
	tmux_wait '^> first line *$'
	tmux_keys Enter
	tmux_wait '^< first line$'
}

@test "--no-history neither reads nor writes the history" {
	printf 'old line\n' >"$HOME/.whirl_ws_history"
	tmux_start "whirl-ws --no-history '$T/echo'"
	tmux_wait '^> ?$'
	tmux_keys Up
	tmux_line 'new line'
	tmux_wait '^< new line$'
	tmux_keys C-d
	run tmux_exit
	assert_output 0
	assert_equal "$(cat "$HOME/.whirl_ws_history")" 'old line'
}

@test "/ping prints the round-trip time when the pong arrives" {
	tmux_start "whirl-ws '$T/echo'"
	tmux_wait_connected
	tmux_line '/ping hello'
	tmux_wait '^< pong "hello" \([0-9]+\.[0-9]{3} ms\)$'
	tmux_line '/ping'
	tmux_wait '^< pong "" \([0-9]+\.[0-9]{3} ms\)$'
}

@test "--ping-interval with -P shows the pongs above the prompt" {
	tmux_start "whirl-ws -P --ping-interval 0.05 '$T/echo'"
	tmux_wait '^> ?$'
	tmux_type 'kept'
	tmux_wait '^< pong ""$'
	tmux_wait '^> kept$'
}

@test "lines typed before the handshake completes are sent once it does" {
	tmux_start "whirl-ws '$T/slow?ms=500'"
	tmux_wait '^> ?$'
	tmux_line 'typed early'
	tmux_wait '^Connected to '
	tmux_wait '^< typed early$'
	# Typed, then connected, then echoed.
	local typed conn echo
	typed=$(tmux_screen | grep -n '^> typed early' | cut -d: -f1)
	conn=$(tmux_screen | grep -n '^Connected to ' | cut -d: -f1)
	echo=$(tmux_screen | grep -n '^< typed early$' | cut -d: -f1)
	((typed < conn && conn < echo))
}

@test "/pong sends a pong the server sees" {
	tmux_start "whirl-ws '$T/pong'"
	tmux_wait_connected
	tmux_line '/pong zz'
	tmux_wait '^< pong: zz$'
}

@test "/binary sends bytes; binary messages show as hex" {
	tmux_start "whirl-ws '$T/echo'"
	tmux_wait '^> ?$'
	tmux_line '/binary 68 69 00ff'
	tmux_wait '^< \(binary, 4 bytes\) 68 69 00 ff$'
	tmux_line '/binary 6'
	tmux_wait '^usage: /binary HEX'
}

@test "/send @FILE sends a file: text when UTF-8, binary else" {
	printf 'from a file' >"$BATS_TEST_TMPDIR/text"
	printf '\xff\x01' >"$BATS_TEST_TMPDIR/bin"
	tmux_start "whirl-ws '$T/echo'"
	tmux_wait '^> ?$'
	tmux_line "/send @$BATS_TEST_TMPDIR/text"
	tmux_wait '^< from a file$'
	assert_equal "$(tmux_screen | grep -c '^sent .*/text: 11 bytes as text$')" 1
	tmux_line "/send @$BATS_TEST_TMPDIR/bin"
	tmux_wait '^< \(binary, 2 bytes\) ff 01$'
	tmux_line "/send @$BATS_TEST_TMPDIR/missing"
	tmux_wait '/missing: No such file or directory$'
}

@test "//text sends /text; an unknown command is refused" {
	tmux_start "whirl-ws '$T/echo'"
	tmux_wait '^> ?$'
	tmux_line '//slash'
	tmux_wait '^< /slash$'
	tmux_line '/bogus'
	tmux_wait '^unknown command /bogus \(/help lists them; //TEXT sends /TEXT\)$'
}

@test "/help lists the commands" {
	tmux_start "whirl-ws '$T/echo'"
	tmux_wait '^> ?$'
	tmux_line '/help'
	tmux_wait '^Ctrl-D'
	run tmux_screen
	local c
	for c in binary close help ping pong quit send; do
		assert_line --regexp "^/$c( |$)"
	done
	assert_line --regexp '^//TEXT +send /TEXT$'
	# The prompt comes back once, under the list.
	[[ $(last_line) =~ ^\>\ ?$ ]]
}

@test "/close CODE REASON closes with them and exits 0 when answered" {
	tmux_start "whirl-ws '$T/echo'"
	tmux_wait_connected
	tmux_line '/close 4000 see you'
	tmux_wait '^Disconnected \(code: 4000, reason: ""\)$'
	run tmux_exit
	assert_output 0
}

@test "/quit and Ctrl-D close with 1000 and exit 0" {
	tmux_start "whirl-ws '$T/echo'"
	tmux_wait_connected
	tmux_line '/quit'
	tmux_wait '^Disconnected \(code: 1000, reason: ""\)$'
	run tmux_exit
	assert_output 0
	tmux_stop
	tmux_start "whirl-ws '$T/echo'"
	tmux_wait_connected
	tmux_keys C-d
	tmux_wait '^Disconnected \(code: 1000, reason: ""\)$'
	run tmux_exit
	assert_output 0
}

@test "Ctrl-C exits 130 and wipes the half-typed line" {
	tmux_start "whirl-ws '$T/echo'"
	tmux_wait '^> ?$'
	tmux_type 'never sent'
	tmux_wait '^> never sent$'
	tmux_keys C-c
	run tmux_exit
	assert_output 130
	run tmux_screen
	refute_line --partial 'never sent'
}

@test "Ctrl-Z and fg: the terminal is given back, then taken again" {
	under_valgrind && skip "valgrind 3.19 never stops its guest on SIGTSTP: even valgrind sleep 30 runs on through Ctrl-Z"
	tmux_start "PS1='$ ' bash --norc --noprofile -i"
	tmux_wait '^\$ ?$'
	tmux_line "whirl-ws '$T/echo'"
	tmux_wait_connected
	tmux_type 'abc'
	tmux_wait '^> abc$'
	tmux_keys C-z
	tmux_wait 'Stopped +whirl-ws'
	tmux_line fg
	# The line is drawn again under the shell's lines...
	tmux_wait_last '^> abc$'
	# ...and edited by readline, not by the terminal: the arrows move
	# the cursor instead of being echoed as ^[[D.
	tmux_type 'def'
	tmux_keys Left Left
	tmux_type 'X'
	tmux_wait_last '^> abcdXef$'
	tmux_keys Enter
	tmux_wait '^< abcdXef$'
	tmux_keys C-d
	tmux_wait '^Disconnected \(code: 1000, reason: ""\)$'
	tmux_wait_last '^\$ ?$'
	run tmux_screen
	refute_output --partial '^['
}

@test "the server's close shows Disconnected and sets the status" {
	tmux_start "whirl-ws '$T/close?code=1011&reason=oops'"
	tmux_wait '^Disconnected \(code: 1011, reason: "oops"\)$'
	run tmux_exit
	assert_output 5
}

@test "colours on a terminal; none with --no-color or NO_COLOR" {
	tmux_start "whirl-ws '$T/echo'"
	tmux_wait '^> ?$'
	tmux_line 'hue'
	tmux_wait '^< hue$'
	run tmux_screen -e
	assert_line --partial $'\e[34m<'
	tmux_stop
	tmux_start "whirl-ws --no-color '$T/echo'"
	tmux_wait '^> ?$'
	tmux_line 'hue'
	tmux_wait '^< hue$'
	run tmux_screen -e
	refute_output --partial $'\e['
	tmux_stop
	tmux_start "NO_COLOR=1 whirl-ws '$T/echo'"
	tmux_wait '^> ?$'
	tmux_line 'hue'
	tmux_wait '^< hue$'
	run tmux_screen -e
	refute_output --partial $'\e['
}

@test "--json indents JSON; --timestamps prefixes the time; -s shows the subprotocol" {
	tmux_start "whirl-ws --json --timestamps -s chat '$T/json'"
	tmux_wait '^Connected to .* \(subprotocol chat\)'
	tmux_wait '^  }$'
	run tmux_screen
	assert_line --regexp '^[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{3} < \{$'
	# pretty.h's four spaces a level, under tty_text's two.
	assert_line '      "name": "whirl",'
	assert_line '      "tags": ['
	assert_line '          "a",'
	assert_line '      "empty": {}'
}

@test "-1 and --until work interactively too" {
	tmux_start "whirl-ws --until 'tick 3' '$T/tick?ms=50'"
	tmux_wait '^< tick 3$'
	run tmux_exit
	assert_output 0
	run tmux_screen
	refute_line '< tick 4'
}

@test "interactive -l: a pipe-mode client's messages appear above the prompt" {
	tmux_start "whirl-ws --print-port -l 127.0.0.1:0 2>$BATS_TEST_TMPDIR/port"
	tmux_wait '^Listening on ws://127.0.0.1:[0-9]+/ \(one client\)$'
	local port
	port=$(head -1 "$BATS_TEST_TMPDIR/port")
	tmux_type 'typed'
	start_bg cli whirl-ws -w 10 --until '^typed answer$' -x 'from the client' \
	    "ws://127.0.0.1:$port/"
	tmux_wait '^< from the client$'
	tmux_wait '^Client connected from 127.0.0.1 port [0-9]+'
	tmux_wait '^> typed$'
	tmux_line ' answer'
	wait_for_line "$BATS_TEST_TMPDIR/cli.out" '^typed answer$'
	tmux_wait '^Disconnected \(code: 1000, reason: ""\)$'
	run tmux_exit
	assert_output 0
}
