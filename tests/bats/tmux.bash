# tmux.bash - drive a tool on a terminal: one private tmux server per
# test (a fresh socket each start), 100x30, detached, kept after the
# command exits so its screen and exit status can be read.  Every wait
# polls the screen with a deadline, never a fixed sleep.  Loaded by the
# *-tty.bats suites after helpers.

# The sanitizer tier runs without tmux (DESIGN.md).
no_tmux() {
	[ "${WHIRL_TIER-}" = sanitize ]
}

# tmux_start CMD: CMD in this test's directory, with the tools on PATH.
tmux_start() {
	TMUX_SOCK=$(mktemp -u "$BATS_TEST_TMPDIR/tmux.XXXXXX")
	tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -s t -x 100 -y 30 \
	    -c "$BATS_TEST_TMPDIR" "PATH='$PATH' HOME='$HOME' $1" \; \
	    set-option -t t remain-on-exit on 3>&- 4>&-
}

tmux_stop() {
	[ -n "${TMUX_SOCK-}" ] || return 0
	tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
	TMUX_SOCK=
}

tmux_keys() { tmux -S "$TMUX_SOCK" send-keys -t t "$@"; }
tmux_type() { tmux -S "$TMUX_SOCK" send-keys -t t -l "$1"; }
tmux_fmt() { tmux -S "$TMUX_SOCK" display -p -t t "$1"; }

# The screen as text (with -e, with its colour sequences), without
# trailing blanks or the line tmux adds when the command ends.
tmux_screen() {
	tmux -S "$TMUX_SOCK" capture-pane -p -J -S - -t t "$@" |
	    sed 's/ *$//' | grep -v '^Pane is dead'
}

# tmux_until READER REGEX [SECONDS]: until a line READER prints matches
# (ERE); on timeout, the screen goes to the test's output.
tmux_until() {
	local end=$((SECONDS + ${3:-10} * ${WHIRL_SLOW:-1}))
	until "$1" | grep -qE -- "$2"; do
		if ((SECONDS >= end)); then
			echo "# no /$2/ from $1:" >&3
			tmux_screen | sed 's/^/#   /' >&3
			return 1
		fi
		sleep 0.05
	done
}

# tmux_wait REGEX [SECONDS]: until a line of the screen matches.
tmux_wait() {
	tmux_until tmux_screen "$@"
}

# tmux_exit: the command's exit status once it has exited.  Debian's tmux
# sometimes needs a SIGCHLD to reap the pane (testing-recipes.md).
tmux_exit() {
	local end=$((SECONDS + 15 * ${WHIRL_SLOW:-1})) st
	until st=$(tmux_fmt '#{pane_dead}:#{pane_dead_status}') &&
	    [[ $st =~ ^1:[0-9]+$ ]]; do
		if ((SECONDS >= end)); then
			echo "no exit: $st"
			return 1
		fi
		[ "$st" = 1: ] && kill -CHLD "$(tmux_fmt '#{pid}')"
		sleep 0.05
	done
	echo "${st#1:}"
}
