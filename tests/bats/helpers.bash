# helpers.bash - shared by every bats suite: assertions, the tools on PATH,
# background servers on port 0, and stopping exactly what we started.
#
#   load helpers
#   start_server srv whirl-socket --print-port -s 0   # sets SRV_PID, SRV_PORT
#   ... ; stop_started                                  # in teardown
#
# Every background process is started with fds 3 and 4 closed (bats waits
# for whoever holds them) and stdin from /dev/null, and is stopped by PID.
#
# WHIRL_SLOW (default 1) multiplies every bound here: tests/run --valgrind
# sets 10, the tools running 20-50 times slower.  The waits end on their
# event, so a longer bound costs nothing when a test passes.

bats_load_library bats-support
bats_load_library bats-assert

WHIRL_ROOT=${WHIRL_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
WHIRL_BIN=${WHIRL_BIN:-$WHIRL_ROOT/build}
PATH="$WHIRL_BIN:$PATH"
export WHIRL_ROOT WHIRL_BIN PATH

# under_valgrind: the tools run under valgrind (tests/run --valgrind).  A
# test that needs the bare process (its fds, RSS or speed) skips:
#   under_valgrind && skip "under valgrind: REASON"
under_valgrind() {
	[ "${WHIRL_TIER-}" = valgrind ]
}

# rss_measurable: a process's RSS tells what it keeps.  Not under ASan,
# whose quarantine keeps freed memory resident, nor under valgrind.
rss_measurable() {
	[ "${WHIRL_TIER-}" != sanitize ] && ! under_valgrind
}

# gone PID: the process has left /proc (or is a zombie waiting for its
# reaper) within ten seconds.
gone() {
	local end=$((SECONDS + 10 * ${WHIRL_SLOW:-1})) st
	while st=$(ps -o stat= -p "$1") && [ "${st#Z}" = "$st" ]; do
		((SECONDS < end)) || { echo "# $1 still runs: $st" >&2; return 1; }
		sleep 0.02
	done
}

# valgrind_wrap PROGRAM: under valgrind, a program a suite built itself
# runs under it too, as the tools do: PROGRAM becomes a wrapper of the
# same name around PROGRAM.real (tests/valgrind/tool; its logs are
# scanned with the tools').  Otherwise nothing changes.
valgrind_wrap() {
	under_valgrind || return 0
	mv "$1" "$1.real" || return 1
	printf '#!/bin/sh\nexec %q %q %q "$0" "$@"\n' \
	    "$WHIRL_ROOT/tests/valgrind/tool" "$1.real" "$WHIRL_VG_LOGS" >"$1"
	chmod +x "$1"
}

# The directory for logs of this test (or of setup_file).
_tmpdir() {
	echo "${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}"
}

_pidfile() {
	echo "$(_tmpdir)/started.pids"
}

# start_bg NAME CMD...: run CMD in the background; stdout to NAME.out and
# stderr to NAME.err in the test's directory.  Sets BG_PID.
start_bg() {
	local name=$1 dir
	shift
	dir=$(_tmpdir)
	"$@" </dev/null >"$dir/$name.out" 2>"$dir/$name.err" 3>&- 4>&- &
	BG_PID=$!
	echo "$BG_PID" >>"$(_pidfile)"
}

# wait_for_line FILE REGEX [SECONDS]: until a line of FILE matches (grep -E).
wait_for_line() {
	local file=$1 re=$2 secs=${3:-10} end
	end=$((SECONDS + secs * ${WHIRL_SLOW:-1}))
	until grep -qE -- "$re" "$file" 2>/dev/null; do
		if ((SECONDS >= end)); then
			echo "# no line matching /$re/ in $file within ${secs}s:" >&2
			sed 's/^/#   /' "$file" >&2 2>/dev/null
			return 1
		fi
		sleep 0.02
	done
}

# start_server NAME CMD...: CMD prints its port alone on a line of stderr
# (whirl-socket --print-port, whirl-serve --print-port).  Sets NAME_PID and
# NAME_PORT (NAME upper-cased) and exports them.
start_server() {
	local name=$1 var port err
	shift
	start_bg "$name" "$@"
	var=$(echo "$name" | tr '[:lower:]-' '[:upper:]_')
	err="$(_tmpdir)/$name.err"
	if ! wait_for_line "$err" '^[0-9]+$' 10; then
		kill "$BG_PID" 2>/dev/null
		return 1
	fi
	port=$(grep -m1 -E '^[0-9]+$' "$err")
	printf -v "${var}_PID" %s "$BG_PID"
	printf -v "${var}_PORT" %s "$port"
	export "${var}_PID" "${var}_PORT"
}

# wait_for_port PORT [HOST] [SECONDS]: a TCP listener accepts.
wait_for_port() {
	local port=$1 host=${2:-127.0.0.1} secs=${3:-10} end
	end=$((SECONDS + secs * ${WHIRL_SLOW:-1}))
	until (: <>"/dev/tcp/$host/$port") 2>/dev/null; do
		((SECONDS >= end)) && return 1
		sleep 0.02
	done
}

# wait_pid PID [SECONDS]: wait for our child to exit; sets WAIT_STATUS and
# prints its status ("timeout" and status 1 if it did not exit).  Call it
# in the test's own shell, never inside $(...): a subshell cannot wait for
# the test's children (bash then answers -1).
wait_pid() {
	local pid=$1 secs=${2:-10} end
	end=$((SECONDS + secs * ${WHIRL_SLOW:-1}))
	WAIT_STATUS=
	while kill -0 "$pid" 2>/dev/null; do
		if ((SECONDS >= end)); then
			echo timeout
			return 1
		fi
		# A zombie still answers kill -0; wait reaps it below.
		[ "$(ps -o stat= -p "$pid" 2>/dev/null)" = Z ] && break
		sleep 0.02
	done
	# "|| ..." keeps bats' errexit from ending the test on a non-zero
	# status, which is what the caller wants to look at.
	wait "$pid" 2>/dev/null && WAIT_STATUS=0 || WAIT_STATUS=$?
	echo "$WAIT_STATUS"
	return 0
}

# stop_pid PID: TERM, a bounded wait, then KILL.  Only PIDs we started.
stop_pid() {
	local pid=$1 i
	kill "$pid" 2>/dev/null || return 0
	for i in $(seq $((100 * ${WHIRL_SLOW:-1}))); do
		kill -0 "$pid" 2>/dev/null || break
		[ "$(ps -o stat= -p "$pid" 2>/dev/null)" = Z ] && break
		sleep 0.02
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	return 0
}

# stop_started: stop every process start_bg started in this test (or file).
stop_started() {
	local f pid
	f=$(_pidfile)
	[ -f "$f" ] || return 0
	while read -r pid; do
		stop_pid "$pid"
	done <"$f"
	rm -f "$f"
}

# free_port: a port nobody listens on right now (bound, then released).
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
