#!/usr/bin/env bats
# socket.bats - whirl-socket: the 25 scenarios of socket.md section 13 (by
# number), then the additions of issue 3, TLS (issue 4) against openssl
# s_server and s_client and itself, the man page and the completion.
#
# Every server listens on port 0 and prints its port (--print-port); peers
# are peer.py (written below), the test's own client or server in Python.
# Waits are bounded and wait for events; the few fixed waits are the
# scenarios' "nothing arrives within" checks.

load helpers

USAGE='Usage: whirl-socket [-bclqrvw] [-B local ip] [-p prog] {{-s|host} port | [-s] /path}'

setup_file() {
	export PEERPY=$BATS_FILE_TMPDIR/peer.py
	cat >"$PEERPY" <<'PEER'
# peer.py - the test's own client or server for socket.bats.
#   peer.py [-6] listen ACTION...      prints its port alone on stderr
#   peer.py [-6] connect PORT ACTION...
#   peer.py unix PATH ACTION...
#   peer.py fullbacklog                a listener whose queue is full
# Actions print what they saw on stdout, one line each.
import hashlib, os, select, socket, struct, sys, threading, time

BOUND = 10.0

def esc(text):
    return text.encode('latin1').decode('unicode_escape').encode('latin1')

def read_until(s, secs, want=None):
    """Bytes until EOF, `want` bytes, or secs; and how it ended."""
    data, end = b'', time.monotonic() + secs
    while want is None or len(data) < want:
        left = end - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return data, 'timeout'
        try:
            chunk = s.recv(1 << 16)
        except ConnectionResetError:
            return data, 'reset'
        if not chunk:
            return data, 'eof'
        data += chunk
    return data, 'count'

def act(s, a):
    name, _, arg = a.partition(':')
    if name == 'send':
        s.sendall(esc(arg))
    elif name == 'sendfile':
        with open(arg, 'rb') as f:
            s.sendall(f.read())
    elif name == 'recvn':
        data, how = read_until(s, BOUND, int(arg))
        print('got %r' % data)
    elif name == 'line':
        data = b''
        while not data.endswith(b'\n'):
            chunk, how = read_until(s, BOUND, 1)
            if not chunk:
                break
            data += chunk
        print('line %r' % data)
    elif name == 'read':
        data, how = read_until(s, float(arg))
        print('read %r %s' % (data, how))
    elif name == 'readsum':
        h, n = hashlib.sha256(), 0
        while True:
            data, how = read_until(s, BOUND, 1)
            if how != 'count':
                break
            h.update(data); n += len(data)
        print('sum %d %s %s' % (n, h.hexdigest(), how))
    elif name == 'shut':
        s.shutdown(socket.SHUT_WR)
    elif name == 'rst':
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
    elif name == 'close':
        s.close()
    elif name == 'sleep':
        time.sleep(float(arg))
    elif name == 'touch':
        open(arg, 'w').close()
    elif name == 'waitfile':
        end = time.monotonic() + BOUND
        while not os.path.exists(arg) and time.monotonic() < end:
            time.sleep(0.01)
    elif name == 'flood':
        def pour(n=int(arg)):
            try:
                s.sendall(b'x' * n)
            except OSError:
                pass
        threading.Thread(target=pour, daemon=True).start()
    else:
        sys.exit('peer.py: unknown action ' + a)
    sys.stdout.flush()

def fullbacklog():
    """Listen with backlog 0 and fill the queue: a SYN then goes unanswered."""
    ls = socket.socket()
    ls.bind(('127.0.0.1', 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    held = []
    for _ in range(2):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(('127.0.0.1', port))
        held.append(c)
    time.sleep(0.2)
    print(port, file=sys.stderr, flush=True)
    time.sleep(30)

def main(args):
    fam, host = socket.AF_INET, '127.0.0.1'
    if args[0] == '-6':
        fam, host, args = socket.AF_INET6, '::1', args[1:]
    mode = args.pop(0)
    if mode == 'fullbacklog':
        return fullbacklog()
    if mode == 'listen':
        ls = socket.socket(fam)
        ls.bind((host, 0))
        ls.listen(8)
        print(ls.getsockname()[1], file=sys.stderr, flush=True)
        ls.settimeout(BOUND * 2)
        s, _ = ls.accept()
        ls.close()
    elif mode == 'unix':
        s = socket.socket(socket.AF_UNIX)
        s.connect(args.pop(0))
    else:
        s = socket.create_connection((host, int(args.pop(0))), timeout=BOUND)
    s.settimeout(None)
    for a in args:
        act(s, a)

if __name__ == '__main__':
    main(sys.argv[1:])
PEER
	head -c 262144 /dev/urandom >"$BATS_FILE_TMPDIR/data"
	export CERTS=$BATS_FILE_TMPDIR/certs
	"$WHIRL_ROOT/scripts/gen-test-certs" "$CERTS"
}

setup() {
	D=$BATS_TEST_TMPDIR
	printf 'go\n' >"$D/go.in"
}

teardown() {
	stop_started
}

peer() {
	/usr/bin/python3 "$PEERPY" "$@"
}

# ws ARGS...: whirl-socket in the foreground, bounded; stdout in $D/out,
# stderr in $D/err, exit status in $status.  Give it stdin explicitly.
ws() {
	status=0
	timeout -k 1 $((20 * ${WHIRL_SLOW:-1})) whirl-socket "$@" >"$D/out" \
	    2>"$D/err" 3>&- 4>&- || status=$?
}

# expect FILE TEXT: FILE holds exactly TEXT (printf %b escapes).
expect() {
	diff -u <(printf '%b' "$2") "$1"
}

# expect_lines FILE LINE...: FILE holds exactly these lines (none: empty).
expect_lines() {
	local file=$1
	shift
	if [ $# -eq 0 ]; then
		diff -u /dev/null "$file"
	else
		diff -u <(printf '%s\n' "$@") "$file"
	fi
}

# svc PORT: " (name)" if the services database names PORT, as -v shows.
svc() {
	local n
	n=$(getent services "$1/tcp" | awk '{ print $1 }')
	[ -z "$n" ] || printf ' (%s)' "$n"
}

# serve NAME ARGS...: a whirl-socket server on 127.0.0.1 (NAME_PORT/_PID).
serve() {
	local name=$1
	shift
	start_server "$name" whirl-socket --print-port -B 127.0.0.1 "$@"
}

# serve_from FILE NAME ARGS...: the same with stdin from FILE.
serve_from() {
	local in=$1 name=$2
	shift 2
	start_server "$name" sh -c 'in=$1; shift; exec whirl-socket "$@" <"$in"' \
	    sh "$in" --print-port -B 127.0.0.1 "$@"
}

# listen_peer ACTION...: peer.py as a server (PEER_PORT, PEER_PID); its
# report goes to $D/peer.out.
listen_peer() {
	start_server peer /usr/bin/python3 "$PEERPY" listen "$@"
}

# reap PID [SECONDS]: wait_pid in this shell, its answer in $reaped.
# (Inside $(...) bash's wait may not know the child, and says -1.)
reap() {
	wait_pid "$@" >"$D/.reaped" || true
	reaped=$(cat "$D/.reaped")
}

# peer_done: the peer finished well.
peer_done() {
	reap "$PEER_PID" 20
	[ "$reaped" = 0 ]
}

# wait_file FILE: until FILE exists.
wait_file() {
	local end=$((SECONDS + 10 * ${WHIRL_SLOW:-1}))
	until [ -e "$1" ]; do
		((SECONDS < end)) || return 1
		sleep 0.02
	done
}

# wait_for_count FILE REGEX N: until N lines of FILE match.
wait_for_count() {
	local end=$((SECONDS + 10 * ${WHIRL_SLOW:-1}))
	until [ "$(grep -cE -- "$2" "$1" 2>/dev/null)" -ge "$3" ]; do
		((SECONDS < end)) || return 1
		sleep 0.02
	done
}

# --- socket.md section 13 --------------------------------------------------

@test "1 usage: bad operands and options print the usage line, exit 15" {
	ws </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/out"
	expect_lines "$D/err" "$USAGE"
	ws -s 1 2 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "$USAGE"
	ws 127.0.0.1 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "$USAGE"
	ws -x 127.0.0.1 9 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/out"
	expect_lines "$D/err" "whirl-socket: invalid option -- 'x'" "$USAGE"
	ws -s -p </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" \
	    "whirl-socket: option requires an argument -- 'p'" "$USAGE"
}

@test "1 usage: -W, -? and a negative port are usage errors too" {
	ws -W -s 1 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "$USAGE"
	ws '-?' </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "$USAGE"
	ws -s -5 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "whirl-socket: invalid option -- '5'" "$USAGE"
	ws --bogus 127.0.0.1 9 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "whirl-socket: unrecognized option '--bogus'" \
	    "$USAGE"
}

@test "1 usage: messages carry the name the program was called by" {
	ln -s "$WHIRL_BIN/whirl-socket" "$D/socket"
	status=0
	PATH="$D:$PATH" socket -x 127.0.0.1 9 </dev/null >"$D/out" \
	    2>"$D/err" || status=$?
	[ "$status" = 15 ]
	expect_lines "$D/err" "socket: invalid option -- 'x'" \
	    'Usage: socket [-bclqrvw] [-B local ip] [-p prog] {{-s|host} port | [-s] /path}'
	status=0
	"$D/socket" 127.0.0.1 nosuchservice </dev/null >"$D/out" 2>"$D/err" ||
		status=$?
	[ "$status" = 5 ]
	expect_lines "$D/err" "socket: unknown service"
}

@test "2 senseless: -r -w, -l, -b without -s exit 15" {
	ws -r -w -s 0 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/out"
	expect_lines "$D/err" "It does not make sense to set -r and -w."
	ws -l 127.0.0.1 9 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "It does not make sense to set -l and not -s."
	ws -b 127.0.0.1 9 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "It does not make sense to set -b and not -s."
}

@test "2 senseless: -f without -s warns and runs the client" {
	listen_peer line send:'srv\n' shut read:10
	ws -f 127.0.0.1 "$PEER_PORT" < <(printf 'cli\n')
	[ "$status" = 0 ]
	expect "$D/out" 'srv\n'
	expect_lines "$D/err" "It does not make sense to set -f and not -s."
	peer_done
	expect_lines "$D/peer.out" "line b'cli\\n'" "read b'' eof"
}

@test "3 unknown-service: exit 5" {
	ws -s nosuchservice </dev/null
	[ "$status" = 5 ]
	expect_lines "$D/err" "whirl-socket: unknown service"
	ws 127.0.0.1 nosuchservice </dev/null
	[ "$status" = 5 ]
	expect_lines "$D/err" "whirl-socket: unknown service"
}

@test "4 unknown-host: exit 13" {
	ws nosuchhost.invalid 80 </dev/null
	[ "$status" = 13 ]
	expect_lines "$D/out"
	expect_lines "$D/err" "whirl-socket: unknown host nosuchhost.invalid"
}

@test "5 refused: exit 111, the errno" {
	ws 127.0.0.1 "$(free_port)" </dev/null
	[ "$status" = 111 ]
	expect_lines "$D/err" "whirl-socket: client socket: Connection refused"
}

@test "6 in-use: exit 1, only the error even with -v" {
	listen_peer
	ws -sv -B 127.0.0.1 "$PEER_PORT" </dev/null
	[ "$status" = 1 ]
	expect_lines "$D/out"
	expect_lines "$D/err" \
	    "whirl-socket: server socket: Address already in use"
}

@test "7 greeting-loop: -wslqvp answers three clients in turn" {
	serve srv -wslqvp "echo Hello from socket 2013!" 0
	for i in 1 2 3; do
		peer connect "$SRV_PORT" read:10 >"$D/c$i.out"
		expect_lines "$D/c$i.out" \
		    "read b'Hello from socket 2013!\\n' eof"
	done
	wait_for_count "$D/srv.err" '^connection closed$' 3
	kill -0 "$SRV_PID"
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "connection closed" \
	    "inet: connection from localhost" "connection closed" \
	    "inet: connection from localhost" "connection closed"
}

@test "8 greeting-http: the original's HTTP/0.9 answer" {
	serve srv -wslqp "echo Hello from socket 2013!" 0
	peer connect "$SRV_PORT" send:'GET / HTTP/1.0\r\nHost: x\r\n\r\n' \
	    read:10 >"$D/c.out"
	grep -qE "^read b'Hello from socket 2013!\\\\n' (eof|reset)\$" "$D/c.out"
	status=0
	curl -s --http0.9 "http://127.0.0.1:$SRV_PORT/" >"$D/curl.out" ||
		status=$?
	[ "$status" = 0 ] || [ "$status" = 56 ]
	expect "$D/curl.out" 'Hello from socket 2013!\n'
	status=0
	curl -s "http://127.0.0.1:$SRV_PORT/" >"$D/curl.out" || status=$?
	[ "$status" = 1 ]
	expect_lines "$D/curl.out"
	kill -0 "$SRV_PID"
	expect_lines "$D/srv.err" "$SRV_PORT"
}

@test "9 client-basic: end of input sends nothing, no half-close" {
	listen_peer send:'hello\n' read:0.5
	ws -v 127.0.0.1 "$PEER_PORT" < <(printf 'hi\n')
	[ "$status" = 0 ]
	expect "$D/out" 'hello\n'
	expect_lines "$D/err" \
	    "inet: connected to 127.0.0.1 port $PEER_PORT$(svc "$PEER_PORT")" \
	    "end of input on stdin" "connection closed by peer"
	peer_done
	expect_lines "$D/peer.out" "read b'hi\\n' timeout"
}

@test "10 client-quit: -q closes at the end of input" {
	listen_peer read:10
	ws -qv 127.0.0.1 "$PEER_PORT" < <(printf 'hi\n')
	[ "$status" = 0 ]
	expect_lines "$D/out"
	expect_lines "$D/err" \
	    "inet: connected to 127.0.0.1 port $PEER_PORT$(svc "$PEER_PORT")" \
	    "connection closed"
	peer_done
	expect_lines "$D/peer.out" "read b'hi\\n' eof"
}

@test "11 client-readonly: -r never reads stdin" {
	listen_peer send:'fromserver\n' read:0.5
	ws -r 127.0.0.1 "$PEER_PORT" < <(printf 'fromstdin\n')
	[ "$status" = 0 ]
	expect "$D/out" 'fromserver\n'
	expect_lines "$D/err"
	peer_done
	expect_lines "$D/peer.out" "read b'' timeout"
}

@test "12 client-writeonly: -w never reads the socket (reset at close)" {
	listen_peer send:'fromserver\n' touch:"$D/sent" read:10
	ws -wq 127.0.0.1 "$PEER_PORT" < <(wait_file "$D/sent"
		printf 'fromstdin\n')
	[ "$status" = 0 ]
	expect_lines "$D/out"
	expect_lines "$D/err"
	peer_done
	expect_lines "$D/peer.out" "read b'fromstdin\\n' reset"
}

@test "13 crlf: -c adds CR before LF out, drops every CR in" {
	listen_peer recvn:9 send:'x\r\ny\rz\n' shut read:10
	ws -c 127.0.0.1 "$PEER_PORT" < <(printf 'a\nb\rc\r\n')
	[ "$status" = 0 ]
	expect "$D/out" 'x\nyz\n'
	peer_done
	expect_lines "$D/peer.out" "got b'a\\r\\nb\\rc\\r\\r\\n'" "read b'' eof"
}

@test "14 server-stdio: a server copies stdin and stdout" {
	printf 'greet\n' >"$D/in"
	serve_from "$D/in" srv -sv 0
	peer connect "$SRV_PORT" recvn:6 send:'one\n' shut read:10 >"$D/c.out"
	expect_lines "$D/c.out" "got b'greet\\n'" "read b'' eof"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	expect "$D/srv.out" 'one\n'
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "end of input on stdin" \
	    "connection closed by peer"
}

@test "15 prog-shell: -p runs sh -c, stdout and stderr to the peer" {
	serve srv -sqp 'read l; echo "got $l"; echo "err $l" >&2; echo "sh=$0"' 0
	peer connect "$SRV_PORT" send:'abc\n' read:10 >"$D/c.out"
	expect_lines "$D/c.out" "read b'got abc\\nerr abc\\nsh=sh\\n' eof"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	expect_lines "$D/srv.out"
	expect_lines "$D/srv.err" "$SRV_PORT"
}

@test "16 prog-stays-open: without -q the connection outlives the program" {
	serve srv -svp 'echo hi' 0
	peer connect "$SRV_PORT" read:0.5 >"$D/c.out"
	expect_lines "$D/c.out" "read b'hi\\n' timeout"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "end of input on stdin" \
	    "connection closed by peer"
}

@test "17 client-prog: a client with -p" {
	listen_peer send:'question\n' read:10
	ws -qvp 'read l; echo "answer to $l"' 127.0.0.1 "$PEER_PORT" </dev/null
	[ "$status" = 0 ]
	expect_lines "$D/out"
	expect_lines "$D/err" \
	    "inet: connected to 127.0.0.1 port $PEER_PORT$(svc "$PEER_PORT")" \
	    "connection closed"
	peer_done
	expect_lines "$D/peer.out" "read b'answer to question\\n' eof"
}

@test "18 fork-concurrent: with -f the second client is answered first" {
	serve srv -sflqp 'read l; echo "done $l"' 0
	/usr/bin/python3 - "$SRV_PORT" >"$D/order" <<'PY'
import os, socket, sys
sys.path.insert(0, os.path.dirname(os.environ['PEERPY']))
from peer import read_until
port = int(sys.argv[1])
a = socket.create_connection(('127.0.0.1', port))
b = socket.create_connection(('127.0.0.1', port))
b.sendall(b'b\n')
print('b', read_until(b, 10))
a.sendall(b'a\n')
print('a', read_until(a, 10))
PY
	expect_lines "$D/order" "b (b'done b\\n', 'eof')" "a (b'done a\\n', 'eof')"
	kill -0 "$SRV_PID"
	expect_lines "$D/srv.err" "$SRV_PORT"
}

@test "19 loop-serial: without -f the second client waits for the first" {
	serve srv -slqp 'read l; echo "done $l"' 0
	/usr/bin/python3 - "$SRV_PORT" >"$D/order" <<'PY'
import os, socket, sys
sys.path.insert(0, os.path.dirname(os.environ['PEERPY']))
from peer import read_until
port = int(sys.argv[1])
a = socket.create_connection(('127.0.0.1', port))
b = socket.create_connection(('127.0.0.1', port))
b.sendall(b'b\n')
print('b', read_until(b, 0.5))
a.sendall(b'a\n')
print('a', read_until(a, 10))
print('b', read_until(b, 10))
PY
	expect_lines "$D/order" "b (b'', 'timeout')" "a (b'done a\\n', 'eof')" \
	    "b (b'done b\\n', 'eof')"
	kill -0 "$SRV_PID"
	expect_lines "$D/srv.err" "$SRV_PORT"
}

@test "18 fork: -f without -l, the parent exits while its child serves" {
	serve srv -sfqp 'read l; echo "done $l"' 0
	start_bg cli peer connect "$SRV_PORT" waitfile:"$D/go" send:'x\n' read:10
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	touch "$D/go"
	reap "$BG_PID"
	[ "$reaped" = 0 ]
	expect_lines "$D/cli.out" "read b'done x\\n' eof"
	expect_lines "$D/srv.err" "$SRV_PORT"
}

@test "20 background: -b returns 0 at once, the child serves from /" {
	status=0
	timeout 10 whirl-socket -b --print-port -B 127.0.0.1 -sqp pwd 0 \
	    </dev/null >"$D/bg.out" 2>"$D/bg.err" 3>&- 4>&- || status=$?
	[ "$status" = 0 ]
	wait_for_line "$D/bg.err" '^[0-9]+$'
	port=$(head -1 "$D/bg.err")
	peer connect "$port" read:10 >"$D/c.out"
	expect_lines "$D/c.out" "read b'/\\n' eof"
	end=$((SECONDS + 10 * ${WHIRL_SLOW:-1}))
	while (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
		((SECONDS < end))
		sleep 0.02
	done
	expect_lines "$D/bg.out"
	expect_lines "$D/bg.err" "$port"
}

@test "21 signals: TERM, HUP, INT, USR2 print and exit 256 - signo" {
	for case in TERM:241:'Termination signal' HUP:255:'Hangup signal' \
	    INT:254:Interrupt USR2:244:'User signal 2'; do
		IFS=: read -r sig code text <<<"$case"
		serve srv -s 0
		kill -"$sig" "$SRV_PID"
		reap "$SRV_PID"
		[ "$reaped" = "$code" ]
		expect "$D/srv.err" "$SRV_PORT\n\n$text occured, exiting\n"
	done
}

@test "21 signals: USR1 exits 246 silently; QUIT is not caught" {
	serve srv -s 0
	kill -USR1 "$SRV_PID"
	reap "$SRV_PID"
	[ "$reaped" = 246 ]
	expect_lines "$D/srv.err" "$SRV_PORT"
}

@test "22 verbose-names: service names for ports, canonical host names" {
	read -r name num < <(/usr/bin/python3 - <<'PY'
import socket
for line in open('/etc/services'):
    f = line.split('#')[0].split()
    if len(f) < 2 or not f[1].endswith('/tcp'):
        continue
    port = int(f[1].split('/')[0])
    if port < 1024 or socket.getservbyport(port, 'tcp') != f[0]:
        continue
    s = socket.socket()
    try:
        s.bind(('127.0.0.1', port))
    except OSError:
        continue
    finally:
        s.close()
    print(f[0], port)
    break
PY
	)
	[ -n "$name" ]
	serve srv -slqvp 'read l; echo x' "$name"
	[ "$SRV_PORT" = "$num" ]
	ws -v 127.0.0.1 "$num" <"$D/go.in"
	[ "$status" = 0 ]
	expect "$D/out" 'x\n'
	expect_lines "$D/err" "inet: connected to 127.0.0.1 port $num ($name)" \
	    "end of input on stdin" "connection closed by peer"
	ws -v localhost "$name" <"$D/go.in"
	[ "$status" = 0 ]
	expect "$D/out" 'x\n'
	expect_lines "$D/err" "inet: connected to localhost port $num ($name)" \
	    "end of input on stdin" "connection closed by peer"
	wait_for_count "$D/srv.err" '^connection closed$' 2
	expect_lines "$D/srv.err" "$num" \
	    "inet: listening on port $num ($name)" \
	    "inet: connection from localhost" "connection closed" \
	    "inet: connection from localhost" "connection closed"
}

@test "23 bind-address: -B listens on one address, the default on all" {
	serve srv -slqp 'echo ok' 0
	ss -Hltn "sport = :$SRV_PORT" | grep -q " 127.0.0.1:$SRV_PORT "
	ws -B 127.0.0.1 127.0.0.1 "$SRV_PORT" </dev/null
	[ "$status" = 0 ]
	expect "$D/out" 'ok\n'
	start_server srv2 whirl-socket --print-port -slqp 'echo ok' 0
	ss -Hltn "sport = :$SRV2_PORT" | grep -q " 0.0.0.0:$SRV2_PORT "
	ws 127.0.0.1 "$SRV2_PORT" </dev/null
	[ "$status" = 0 ]
	expect "$D/out" 'ok\n'
}

@test "24 unix-socket: a path operand is a unix-domain socket" {
	cd "$D"
	start_bg usrv whirl-socket -sqvp 'read l; echo unixhello' ./us.sock
	pid=$BG_PID
	wait_for_line "$D/usrv.err" '^unix: bound to'
	[ -S us.sock ]
	ws -v ./us.sock <"$D/go.in"
	[ "$status" = 0 ]
	expect "$D/out" 'unixhello\n'
	expect_lines "$D/err" "unix: connected to ./us.sock" \
	    "end of input on stdin" "connection closed by peer"
	reap "$pid"
	[ "$reaped" = 0 ]
	expect_lines "$D/usrv.err" "unix: bound to ./us.sock" \
	    "unix: connection from ./us.sock" "connection closed"
	[ ! -e us.sock ]
	ws ./missing.sock </dev/null
	[ "$status" = 2 ]
	expect_lines "$D/err" \
	    "whirl-socket: client socket: No such file or directory"
}

@test "25 binary: 256 KiB of random bytes, both directions" {
	data=$BATS_FILE_TMPDIR/data
	serve srv -s 0
	ws -q 127.0.0.1 "$SRV_PORT" <"$data"
	[ "$status" = 0 ]
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	cmp "$data" "$D/srv.out"
	serve_from "$data" srv2 -sq 0
	ws 127.0.0.1 "$SRV2_PORT" </dev/null
	[ "$status" = 0 ]
	reap "$SRV2_PID"
	[ "$reaped" = 0 ]
	cmp "$data" "$D/out"
}

# --- issue 3: fixed quirks ---------------------------------------------------

@test "fixed 1: -pCMD attached, and options after the operands" {
	serve srv -sq '-pecho attached' 0
	peer connect "$SRV_PORT" read:10 >"$D/c.out"
	expect_lines "$D/c.out" "read b'attached\\n' eof"
	start_server srv2 whirl-socket -s 0 -B 127.0.0.1 --print-port -qp 'echo late'
	peer connect "$SRV2_PORT" read:10 >"$D/c.out"
	expect_lines "$D/c.out" "read b'late\\n' eof"
}

@test "fixed 3: SO_REUSEADDR, a restart on the port in TIME_WAIT works" {
	serve srv -sqp 'echo one' 0
	peer connect "$SRV_PORT" read:10 >"$D/c.out"
	expect_lines "$D/c.out" "read b'one\\n' eof"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	[ -n "$(ss -Htn state time-wait "sport = :$SRV_PORT")" ]
	port=$SRV_PORT
	serve srv2 -sqp 'echo two' "$port"
	[ "$SRV2_PORT" = "$port" ]
	peer connect "$port" read:10 >"$D/c.out"
	expect_lines "$D/c.out" "read b'two\\n' eof"
}

@test "fixed 5: SIGPIPE ignored, a loop server outlives a program that left" {
	serve srv -slvp 'exit 0' 0
	for i in 1 2; do
		start_bg "c$i" peer connect "$SRV_PORT" waitfile:"$D/go$i" \
		    send:'data\n' read:10
		wait_for_count "$D/srv.err" '^end of input on stdin$' "$i"
		touch "$D/go$i"
		reap "$BG_PID"
		[ "$reaped" = 0 ]
		expect_lines "$D/c$i.out" "read b'' eof"
		wait_for_count "$D/srv.err" 'error writing to stdout$' "$i"
	done
	kill -0 "$SRV_PID"
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "end of input on stdin" \
	    "whirl-socket: write: Broken pipe" \
	    "whirl-socket: error writing to stdout" \
	    "inet: connection from localhost" "end of input on stdin" \
	    "whirl-socket: write: Broken pipe" \
	    "whirl-socket: error writing to stdout"
}

# closed_input_prog: a -p program that closes its stdin, says so in
# $D/closed, and prints only once the server has seen a write into it fail.
closed_input_prog() {
	printf '%s' "exec 0<&-; touch '$D/closed'; i=0
	until grep -qx 'the program closed its input' '$D/srv.err' ||
	    [ \$i -ge $((500 * ${WHIRL_SLOW:-1})) ]; do
		sleep 0.02; i=\$((i + 1))
	done
	echo fine"
}

@test "a program that closes its input still has its output delivered" {
	serve srv -sqvp "$(closed_input_prog)" 0
	peer connect "$SRV_PORT" waitfile:"$D/closed" send:'data\n' \
	    read:10 >"$D/c.out"
	expect_lines "$D/c.out" "read b'fine\\n' eof"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "the program closed its input" \
	    "connection closed"
}

@test "fixed 7: a port outside 0-65535 is an unknown service, exit 5" {
	ws -s 65536 </dev/null
	[ "$status" = 5 ]
	expect_lines "$D/err" "whirl-socket: unknown service"
	ws 127.0.0.1 99999999999999999999 </dev/null
	[ "$status" = 5 ]
	expect_lines "$D/err" "whirl-socket: unknown service"
}

# --- issue 3: kept quirks ----------------------------------------------------

@test "kept 8: with -l, stdin that ended is not read again" {
	printf 'greet\n' >"$D/in"
	serve_from "$D/in" srv -sl 0
	peer connect "$SRV_PORT" recvn:6 >"$D/c.out"
	expect_lines "$D/c.out" "got b'greet\\n'"
	peer connect "$SRV_PORT" read:0.3 >"$D/c.out"
	expect_lines "$D/c.out" "read b'' timeout"
	kill -0 "$SRV_PID"
}

# --- issue 3: additions ------------------------------------------------------

@test "version: -version first only, --version; --help to stdout" {
	version=$(sed -n 's/^VERSION *= *//p' "$WHIRL_ROOT/Makefile")
	ws -version </dev/null
	[ "$status" = 0 ]
	expect "$D/out" "whirl-socket $version\n"
	expect_lines "$D/err"
	ws --version </dev/null
	[ "$status" = 0 ]
	expect "$D/out" "whirl-socket $version\n"
	ws -v -version </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "whirl-socket: invalid option -- 'e'" "$USAGE"
	ws --help </dev/null
	[ "$status" = 0 ]
	expect_lines "$D/err"
	[ "$(head -1 "$D/out")" = "$USAGE" ]
}

@test "--help's usage lines match the man page SYNOPSIS" {
	man=$WHIRL_ROOT/man/whirl-socket.1
	mandoc -Tascii -O width=200 "$man" | sed 's/.\x08//g' |
	    awk '/^SYNOPSIS/ { f = 1; next } /^[A-Z]/ { f = 0 } f && NF' |
	    sed 's/^ *//' | head -2 >"$D/synopsis"
	whirl-socket --help | head -2 | sed -e 's/^Usage: //' -e 's/^ *//' \
	    >"$D/usage"
	diff -u "$D/synopsis" "$D/usage"
	for opt in $(whirl-socket --help | grep -oE -- '--[a-z0-9-]+' | sort -u); do
		mandoc -Tascii "$man" | sed 's/.\x08//g' | grep -qF -- "$opt"
	done
	mandoc -Tlint -W warning "$man"
}

@test "senseless: the long options' combinations" {
	ws -4 -6 127.0.0.1 9 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "It does not make sense to set -4 and -6."
	ws --http 127.0.0.1 9 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "It does not make sense to set --http and not -s."
	ws --print-port 127.0.0.1 9 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" \
	    "It does not make sense to set --print-port and not -s."
	ws -q --half-close 127.0.0.1 9 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "It does not make sense to set -q and --half-close."
	ws --timeout 0 127.0.0.1 9 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "whirl-socket: invalid timeout: 0" "$USAGE"
}

@test "IPv6: -6 listens and connects on ::1; literals need it" {
	start_server srv whirl-socket --print-port -6 -B ::1 -sqvp 'echo v6' 0
	ss -Hltn "sport = :$SRV_PORT" | grep -qF " [::1]:$SRV_PORT "
	ws -6 -v ::1 "$SRV_PORT" </dev/null
	[ "$status" = 0 ]
	expect "$D/out" 'v6\n'
	expect_lines "$D/err" \
	    "inet6: connected to ::1 port $SRV_PORT$(svc "$SRV_PORT")" \
	    "end of input on stdin" "connection closed by peer"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	expect_lines "$D/srv.err" "$SRV_PORT" "inet6: listening on port 0" \
	    "inet6: connection from ::1" "connection closed"
	ws ::1 9 </dev/null
	[ "$status" = 13 ]
	expect_lines "$D/err" "whirl-socket: unknown host ::1"
	ws -6 127.0.0.1 9 </dev/null
	[ "$status" = 13 ]
}

@test "--http: curl gets a clean 200 with the exact body" {
	serve srv --http -wslqvp 'echo Hello from socket 2013!' 0
	curl -sS -D "$D/head" -o "$D/body" "http://127.0.0.1:$SRV_PORT/"
	expect "$D/head" 'HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n'
	expect "$D/body" 'Hello from socket 2013!\n'
	curl -sS -o "$D/body" -d 'a=b' "http://127.0.0.1:$SRV_PORT/post"
	expect "$D/body" 'Hello from socket 2013!\n'
	wait_for_count "$D/srv.err" '^connection closed$' 2
	kill -0 "$SRV_PID"
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "connection closed" \
	    "inet: connection from localhost" "connection closed"
}

@test "--http: a raw client gets the answer and a FIN, not a reset" {
	serve srv --http -wslqp 'echo hi' 0
	peer connect "$SRV_PORT" send:'GET / HTTP/1.0\r\nHost: x\r\n\r\n' \
	    read:10 >"$D/c.out"
	expect_lines "$D/c.out" "read b'HTTP/1.0 200 OK\\r\\nContent-Type: text/plain; charset=utf-8\\r\\nConnection: close\\r\\n\\r\\nhi\\n' eof"
	peer connect "$SRV_PORT" send:'GET /\n\n' read:10 >"$D/c.out"
	grep -q "hi\\\\n' eof\$" "$D/c.out"
	head -c 9000 /dev/zero | tr '\0' a >"$D/long"
	peer connect "$SRV_PORT" sendfile:"$D/long" read:10 >"$D/c.out"
	expect_lines "$D/c.out" "read b'HTTP/1.0 431 Request Header Fields Too Large\\r\\nConnection: close\\r\\n\\r\\n' eof"
	kill -0 "$SRV_PID"
	expect_lines "$D/srv.err" "$SRV_PORT"
}

@test "--http: without -w the request body goes to the program" {
	serve srv --http -slqp 'head -c 3; echo' 0
	curl -sS -o "$D/body" -d 'x=1' "http://127.0.0.1:$SRV_PORT/"
	expect "$D/body" 'x=1\n'
}

@test "--half-close: end of input shuts down the sending side" {
	listen_peer read:10 send:'resp\n'
	ws --half-close -v 127.0.0.1 "$PEER_PORT" < <(printf 'req\n')
	[ "$status" = 0 ]
	expect "$D/out" 'resp\n'
	expect_lines "$D/err" \
	    "inet: connected to 127.0.0.1 port $PEER_PORT$(svc "$PEER_PORT")" \
	    "end of input on stdin" "connection closed by peer"
	peer_done
	expect_lines "$D/peer.out" "read b'req\\n' eof"
}

@test "--print-port: the bound port, alone, before the -v lines" {
	serve srv -sv 0
	[[ $SRV_PORT =~ ^[0-9]+$ ]]
	[ "$SRV_PORT" != 0 ]
	wait_for_line "$D/srv.err" '^inet: listening'
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0"
	ss -Hltn "sport = :$SRV_PORT" | grep -q " 127.0.0.1:$SRV_PORT "
}

@test "--timeout: a connect that gets no answer exits 110" {
	start_server fb /usr/bin/python3 "$PEERPY" fullbacklog
	ws --timeout 0.3 127.0.0.1 "$FB_PORT" </dev/null
	[ "$status" = 110 ]
	expect_lines "$D/out"
	expect_lines "$D/err" "whirl-socket: client socket: Connection timed out"
}

@test "--timeout: an idle connection exits 110" {
	listen_peer read:10
	ws --timeout 0.3 -r 127.0.0.1 "$PEER_PORT" </dev/null
	[ "$status" = 110 ]
	expect_lines "$D/err" "whirl-socket: client socket: Connection timed out"
	peer_done
	expect_lines "$D/peer.out" "read b'' eof"
}

@test "--timeout: a server drops an idle client and goes on (-l)" {
	serve srv --timeout 0.3 -slv 0
	peer connect "$SRV_PORT" read:10 >"$D/c.out"
	expect_lines "$D/c.out" "read b'' eof"
	wait_for_line "$D/srv.err" 'timed out$'
	kill -0 "$SRV_PID"
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "end of input on stdin" \
	    "whirl-socket: client socket: Connection timed out"
}

@test "fd 0 closed at start: stdin is /dev/null, not the socket" {
	under_valgrind && skip "under valgrind: its log takes the lowest free descriptor, 0"
	listen_peer waitfile:"$D/go" send:'x\n' close
	start_bg cli sh -c 'exec whirl-socket -v 127.0.0.1 "$1" <&-' sh \
	    "$PEER_PORT"
	wait_for_line "$D/cli.err" '^end of input on stdin$'
	touch "$D/go"
	reap "$BG_PID"
	[ "$reaped" = 0 ]
	expect "$D/cli.out" 'x\n'
	expect_lines "$D/cli.err" \
	    "inet: connected to 127.0.0.1 port $PEER_PORT$(svc "$PEER_PORT")" \
	    "end of input on stdin" "connection closed by peer"
	peer_done
}

@test "reset: a peer that resets mid-stream is a read error, exit 0" {
	listen_peer recvn:2 send:'data\n' rst
	ws 127.0.0.1 "$PEER_PORT" < <(printf 'x\n')
	[ "$status" = 0 ]
	expect "$D/out" 'data\n'
	expect_lines "$D/err" "whirl-socket: read: Connection reset by peer"
	peer_done
}

@test "reset: a server flooding a client that resets ends cleanly" {
	head -c 8388608 /dev/zero >"$D/zeros"
	serve_from "$D/zeros" srv -s 0
	peer connect "$SRV_PORT" recvn:65536 rst >"$D/c.out"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	expect_lines "$D/srv.out"
	grep -qxE "$SRV_PORT" <(head -1 "$D/srv.err")
	tail -n +2 "$D/srv.err" >"$D/msgs"
	grep -qxE 'whirl-socket: read: Connection reset by peer|whirl-socket: write: (Connection reset by peer|Broken pipe)' "$D/msgs"
}

@test "-p: a program that exits at once closes the connection with -q" {
	serve srv -sqvp 'exit 0' 0
	peer connect "$SRV_PORT" read:10 >"$D/c.out"
	expect_lines "$D/c.out" "read b'' eof"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "connection closed"
}

@test "-p: a program that never reads does not stall the server" {
	serve srv -sqvp 'echo greeting; exec >&- 2>&-; sleep 2' 0
	peer connect "$SRV_PORT" line flood:4194304 read:10 >"$D/c.out"
	head -1 "$D/c.out" | grep -qx "line b'greeting\\\\n'"
	tail -1 "$D/c.out" | grep -qE "^read b'' (eof|reset)\$"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "connection closed"
}

@test "flood: 100 MiB each way, content checked with sha256sum" {
	mib=100
	[ "${WHIRL_TIER-}" = sanitize ] && mib=16
	under_valgrind && mib=4
	head -c "$((mib << 20))" /dev/urandom >"$D/big"
	want=$(sha256sum <"$D/big")
	serve srv -s 0
	ws -q 127.0.0.1 "$SRV_PORT" <"$D/big"
	[ "$status" = 0 ]
	reap "$SRV_PID" 60
	[ "$reaped" = 0 ]
	[ "$(sha256sum <"$D/srv.out")" = "$want" ]
	rm -f "$D/srv.out"
	serve_from "$D/big" srv2 -sq 0
	ws 127.0.0.1 "$SRV2_PORT" </dev/null
	[ "$status" = 0 ]
	[ "$(sha256sum <"$D/out")" = "$want" ]
	reap "$SRV2_PID" 60
	[ "$reaped" = 0 ]
	rm -f "$D/big" "$D/out"
}

# --- issue 4: TLS ------------------------------------------------------------
#
# Certificates come from scripts/gen-test-certs (setup_file).  The real
# peers are openssl s_server (one connection, -naccept 1) and s_client.
# Both take stdin: s_server -quiet spins at the end of its input, so it
# reads a fifo it holds open itself; s_client -quiet goes on reading the
# connection after its input ends, so a file does.

# tls_serve NAME CERT ARGS...: a whirl-socket --tls server (serve) with the
# certificate CERT.pem and its key.
tls_serve() {
	local name=$1 cert=$2
	shift 2
	serve "$name" --tls --tls-cert "$CERTS/$cert.pem" \
	    --tls-key "$CERTS/$cert.key" "$@"
}

# tls_ws ARGS...: ws as a --tls client that trusts the test CA.
tls_ws() {
	ws --tls --cacert "$CERTS/ca.pem" "$@"
}

# listening PORT PID: until a listener is on 127.0.0.1:PORT (told by ss,
# not by a probe connection, which would be s_server's only one); fails
# if PID exits first.
listening() {
	local end=$((SECONDS + 10 * ${WHIRL_SLOW:-1}))
	until [ -n "$(ss -Hltn "sport = :$1")" ]; do
		kill -0 "$2" 2>/dev/null || return 1
		[[ $(ps -o stat= -p "$2") != Z* ]] || return 1
		((SECONDS < end)) || return 1
		sleep 0.02
	done
}

# s_server CERT ARGS...: openssl s_server for one connection on a free
# port (SS_PORT, SS_PID), stdin from the fifo $D/ss.in, what it received
# in $D/ss.out.  s_server cannot listen on port 0: a port that was taken
# between free_port and its bind is tried again with another.
s_server() {
	local cert=$1 try
	shift
	mkfifo "$D/ss.in"
	for try in 1 2 3 4 5; do
		SS_PORT=$(free_port)
		start_bg ss sh -c 'f=$1; shift; exec openssl "$@" <>"$f"' sh \
		    "$D/ss.in" s_server -accept "127.0.0.1:$SS_PORT" \
		    -cert "$CERTS/$cert.pem" -key "$CERTS/$cert.key" \
		    -naccept 1 -quiet "$@"
		SS_PID=$BG_PID
		listening "$SS_PORT" "$SS_PID" && return 0
		stop_pid "$SS_PID"
	done
	return 1
}

# s_client PORT ARGS...: openssl s_client verifying our server against the
# test CA and 127.0.0.1, stdin from $D/sc.in; $D/sc.out, $D/sc.err and
# $status as ws.
s_client() {
	local port=$1
	shift
	status=0
	timeout -k 1 20 openssl s_client -connect "127.0.0.1:$port" \
	    -CAfile "$CERTS/ca.pem" -verify_ip 127.0.0.1 \
	    -verify_return_error -quiet "$@" <"$D/sc.in" >"$D/sc.out" \
	    2>"$D/sc.err" 3>&- 4>&- || status=$?
}

@test "tls: a client of openssl s_server, both directions, close_notify" {
	s_server server
	printf 'from-server\n' >"$D/ss.in"
	tls_ws -qv 127.0.0.1 "$SS_PORT" < <(printf 'from-client\n'
		wait_for_line "$D/out" '^from-server$')
	[ "$status" = 0 ]
	expect "$D/out" 'from-server\n'
	expect_lines "$D/err" \
	    "inet: connected to 127.0.0.1 port $SS_PORT$(svc "$SS_PORT")" \
	    "connection closed"
	reap "$SS_PID"
	[ "$reaped" = 0 ]
	expect "$D/ss.out" 'from-client\n'
	# No "unexpected eof while reading": we said close_notify.
	expect_lines "$D/ss.err"
}

@test "tls: a client certificate for openssl s_server -Verify" {
	s_server server -Verify 1 -CAfile "$CERTS/ca.pem"
	printf 'from-server\n' >"$D/ss.in"
	tls_ws --tls-cert "$CERTS/client.pem" --tls-key "$CERTS/client.key" \
	    -q localhost "$SS_PORT" < <(printf 'from-client\n'
		wait_for_line "$D/out" '^from-server$')
	[ "$status" = 0 ]
	expect "$D/out" 'from-server\n'
	expect_lines "$D/err"
	reap "$SS_PID"
	[ "$reaped" = 0 ]
	expect "$D/ss.out" 'from-client\n'
	expect_lines "$D/ss.err" "depth=1 CN = whirl test CA" "verify return:1" \
	    "depth=0 CN = whirl test client" "verify return:1"
}

@test "tls: without the certificate s_server -Verify asks for, exit 71" {
	s_server server -Verify 1 -CAfile "$CERTS/ca.pem"
	# -r: we send nothing, so the server's close is a FIN, not a reset.
	tls_ws -r 127.0.0.1 "$SS_PORT" </dev/null
	[ "$status" = 71 ]
	expect_lines "$D/out"
	expect_lines "$D/err" \
	    "whirl-socket: tls: tlsv13 alert certificate required"
	reap "$SS_PID"
	[ "$reaped" = 0 ]
	grep -q ':peer did not return a certificate:' "$D/ss.err"
}

@test "tls: a server for openssl s_client, -p over TLS" {
	tls_serve srv server -sqvp 'echo greeting; read l; echo "got $l"' 0
	printf 'from-client\n' >"$D/sc.in"
	s_client "$SRV_PORT"
	[ "$status" = 0 ]
	expect "$D/sc.out" 'greeting\ngot from-client\n'
	grep -qx 'depth=0 CN = localhost' "$D/sc.err"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	expect_lines "$D/srv.out"
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "connection closed"
}

@test "tls: a program that closes its input still has its output delivered" {
	tls_serve srv server -sqvp "$(closed_input_prog)" 0
	mkfifo "$D/sc.in"
	start_bg feed sh -c 'exec 3>"$2"; until [ -e "$1" ]; do sleep 0.02
	    done; printf "data\n" >&3' sh "$D/closed" "$D/sc.in"
	s_client "$SRV_PORT"
	[ "$status" = 0 ]
	expect "$D/sc.out" 'fine\n'
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "the program closed its input" \
	    "connection closed"
}

@test "tls: a server for openssl s_client, stdio and --half-close" {
	printf 'from-client\n' >"$D/sc.in"
	serve_from <(printf 'greet\n'; wait_for_line "$D/srv.out" \
	    '^from-client$' 20) srv --tls --tls-cert "$CERTS/server.pem" \
	    --tls-key "$CERTS/server.key" --half-close -sv 0
	s_client "$SRV_PORT"
	[ "$status" = 0 ]
	expect "$D/sc.out" 'greet\n'
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	expect "$D/srv.out" 'from-client\n'
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "end of input on stdin" \
	    "connection closed by peer"
}

@test "tls: against itself: -p greeting, by name and by address, -f" {
	tls_serve srv server -sflqvp 'echo greeting; read l; echo "got $l"' 0
	tls_ws -v localhost "$SRV_PORT" < <(printf 'hello\n')
	[ "$status" = 0 ]
	expect "$D/out" 'greeting\ngot hello\n'
	expect_lines "$D/err" \
	    "inet: connected to localhost port $SRV_PORT$(svc "$SRV_PORT")" \
	    "end of input on stdin" "connection closed by peer"
	tls_ws 127.0.0.1 "$SRV_PORT" < <(printf 'again\n')
	[ "$status" = 0 ]
	expect "$D/out" 'greeting\ngot again\n'
	expect_lines "$D/err"
	wait_for_count "$D/srv.err" '^connection closed$' 2
	kill -0 "$SRV_PID"
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "connection closed" \
	    "inet: connection from localhost" "connection closed"
}

@test "tls: against itself over IPv6, ::1 checked as an address" {
	start_server srv whirl-socket --print-port -6 -B ::1 --tls \
	    --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key" \
	    -sqp 'echo v6' 0
	tls_ws -6 ::1 "$SRV_PORT" </dev/null
	[ "$status" = 0 ]
	expect "$D/out" 'v6\n'
	expect_lines "$D/err"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
}

@test "tls: 256 KiB of random bytes both ways, and --http for curl" {
	data=$BATS_FILE_TMPDIR/data
	tls_serve srv server -sv 0
	tls_ws -qv 127.0.0.1 "$SRV_PORT" <"$data"
	[ "$status" = 0 ]
	expect_lines "$D/err" \
	    "inet: connected to 127.0.0.1 port $SRV_PORT$(svc "$SRV_PORT")" \
	    "connection closed"
	reap "$SRV_PID"
	[ "$reaped" = 0 ]
	cmp "$data" "$D/srv.out"
	# -q closed with close_notify, after the session tickets were read:
	# an end, not a reset that loses the tail.
	expect_lines "$D/srv.err" "$SRV_PORT" "inet: listening on port 0" \
	    "inet: connection from localhost" "end of input on stdin" \
	    "connection closed by peer"
	serve_from "$data" srv2 --tls --tls-cert "$CERTS/server.pem" \
	    --tls-key "$CERTS/server.key" -sq 0
	tls_ws 127.0.0.1 "$SRV2_PORT" </dev/null
	[ "$status" = 0 ]
	expect_lines "$D/err"
	reap "$SRV2_PID"
	[ "$reaped" = 0 ]
	expect_lines "$D/srv2.err" "$SRV2_PORT"
	cmp "$data" "$D/out"
	tls_serve srv3 server --http -wsqp 'echo Hello over TLS' 0
	curl -sS --cacert "$CERTS/ca.pem" -D "$D/head" -o "$D/body" \
	    "https://localhost:$SRV3_PORT/"
	expect "$D/head" 'HTTP/1.0 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n'
	expect "$D/body" 'Hello over TLS\n'
	reap "$SRV3_PID"
	[ "$reaped" = 0 ]
}

@test "tls: flood: 32 MiB each way, content checked with sha256sum" {
	mib=32
	[ "${WHIRL_TIER-}" = sanitize ] && mib=8
	under_valgrind && mib=2
	head -c "$((mib << 20))" /dev/urandom >"$D/big"
	want=$(sha256sum <"$D/big")
	tls_serve srv server -s 0
	tls_ws -q 127.0.0.1 "$SRV_PORT" <"$D/big"
	[ "$status" = 0 ]
	reap "$SRV_PID" 60
	[ "$reaped" = 0 ]
	[ "$(sha256sum <"$D/srv.out")" = "$want" ]
	expect_lines "$D/srv.err" "$SRV_PORT"
	rm -f "$D/srv.out"
	serve_from "$D/big" srv2 --tls --tls-cert "$CERTS/server.pem" \
	    --tls-key "$CERTS/server.key" -sq 0
	tls_ws 127.0.0.1 "$SRV2_PORT" </dev/null
	[ "$status" = 0 ]
	[ "$(sha256sum <"$D/out")" = "$want" ]
	reap "$SRV2_PID" 60
	[ "$reaped" = 0 ]
	expect_lines "$D/srv2.err" "$SRV2_PORT"
	rm -f "$D/big" "$D/out"
}

@test "tls: wrong CA: exit 71, OpenSSL's reason; the program never runs" {
	tls_serve srv wrongca-server -sqp "touch '$D/ran'" 0
	tls_ws 127.0.0.1 "$SRV_PORT" </dev/null
	[ "$status" = 71 ]
	expect_lines "$D/out"
	expect_lines "$D/err" "whirl-socket: tls: certificate verify failed: unable to get local issuer certificate"
	reap "$SRV_PID"
	[ "$reaped" = 71 ]
	expect_lines "$D/srv.err" "$SRV_PORT" \
	    "whirl-socket: tls: tlsv1 alert unknown ca"
	[ ! -e "$D/ran" ]
}

@test "tls: the host operand is checked, a name as a name, an IP as an IP" {
	tls_serve srv otherhost -slqp 'echo never' 0
	tls_ws localhost "$SRV_PORT" </dev/null
	[ "$status" = 71 ]
	expect_lines "$D/out"
	expect_lines "$D/err" \
	    "whirl-socket: tls: certificate verify failed: hostname mismatch"
	tls_ws 127.0.0.1 "$SRV_PORT" </dev/null
	[ "$status" = 71 ]
	expect_lines "$D/out"
	expect_lines "$D/err" \
	    "whirl-socket: tls: certificate verify failed: IP address mismatch"
	wait_for_count "$D/srv.err" 'alert' 2
	kill -0 "$SRV_PID"
	expect_lines "$D/srv.err" "$SRV_PORT" \
	    "whirl-socket: tls: sslv3 alert bad certificate" \
	    "whirl-socket: tls: sslv3 alert bad certificate"
}

@test "tls: an expired certificate: exit 71" {
	tls_serve srv expired -sqp 'echo never' 0
	tls_ws localhost "$SRV_PORT" </dev/null
	[ "$status" = 71 ]
	expect_lines "$D/out"
	expect_lines "$D/err" \
	    "whirl-socket: tls: certificate verify failed: certificate has expired"
	reap "$SRV_PID"
	[ "$reaped" = 71 ]
	expect_lines "$D/srv.err" "$SRV_PORT" \
	    "whirl-socket: tls: sslv3 alert certificate expired"
}

@test "tls: --insecure takes a wrong CA, another name, an expired one" {
	for cert in wrongca-server otherhost expired; do
		tls_serve srv "$cert" -sqp "echo $cert" 0
		ws --tls --insecure localhost "$SRV_PORT" </dev/null
		[ "$status" = 0 ]
		expect "$D/out" "$cert\n"
		expect_lines "$D/err"
		reap "$SRV_PID"
		[ "$reaped" = 0 ]
	done
}

@test "tls: a plaintext server: exit 71, wrong version number" {
	# Five bytes, a record header's worth: nothing is left unread, so
	# our close is a FIN, not a reset.
	listen_peer send:'hello' read:10
	ws --tls 127.0.0.1 "$PEER_PORT" </dev/null
	[ "$status" = 71 ]
	expect_lines "$D/out"
	expect_lines "$D/err" "whirl-socket: tls: wrong version number"
	peer_done
	# The ClientHello, then our FIN.
	grep -qE "^read b['\"]\\\\x16\\\\x03\\\\x01.*['\"] eof\$" "$D/peer.out"
}

@test "tls: a plaintext client: the server says why and exits 71" {
	tls_serve srv server -sqp "touch '$D/ran'" 0
	peer connect "$SRV_PORT" send:'GET /' read:10 >"$D/c.out"
	expect_lines "$D/c.out" "read b'' eof"
	reap "$SRV_PID"
	[ "$reaped" = 71 ]
	expect_lines "$D/srv.err" "$SRV_PORT" "whirl-socket: tls: http request"
	[ ! -e "$D/ran" ]
}

@test "tls: --cacert on a server requires client certificates" {
	tls_serve srv server --cacert "$CERTS/ca.pem" -slqp \
	    'read l; echo "got $l"' 0
	tls_ws --tls-cert "$CERTS/client.pem" --tls-key "$CERTS/client.key" \
	    127.0.0.1 "$SRV_PORT" < <(printf 'mine\n')
	[ "$status" = 0 ]
	expect "$D/out" 'got mine\n'
	expect_lines "$D/err"
	tls_ws -r 127.0.0.1 "$SRV_PORT" </dev/null
	[ "$status" = 71 ]
	expect_lines "$D/out"
	expect_lines "$D/err" \
	    "whirl-socket: tls: tlsv13 alert certificate required"
	printf 'theirs\n' >"$D/sc.in"
	s_client "$SRV_PORT" -cert "$CERTS/client.pem" \
	    -key "$CERTS/client.key"
	[ "$status" = 0 ]
	expect "$D/sc.out" 'got theirs\n'
	wait_for_count "$D/srv.err" 'certificate$' 1
	kill -0 "$SRV_PID"
	expect_lines "$D/srv.err" "$SRV_PORT" \
	    "whirl-socket: tls: peer did not return a certificate"
}

@test "tls: --timeout covers the handshake: a silent peer, exit 110" {
	listen_peer read:10
	ws --tls --timeout 0.3 127.0.0.1 "$PEER_PORT" </dev/null
	[ "$status" = 110 ]
	expect_lines "$D/err" "whirl-socket: client socket: Connection timed out"
	peer_done
	# The ClientHello, then our FIN.
	grep -qE "^read b['\"]\\\\x16\\\\x03\\\\x01.*['\"] eof\$" "$D/peer.out"
}

@test "tls: usage: a server needs --tls-cert and --tls-key, exit 15" {
	ws --tls -s 0 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/out"
	expect_lines "$D/err" \
	    "whirl-socket: -s --tls needs --tls-cert and --tls-key" "$USAGE"
	ws --tls --tls-cert "$CERTS/server.pem" -s 0 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" \
	    "whirl-socket: -s --tls needs --tls-cert and --tls-key" "$USAGE"
	ws --tls --tls-key "$CERTS/client.key" 127.0.0.1 9 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" \
	    "whirl-socket: --tls-cert and --tls-key go together" "$USAGE"
}

@test "tls: senseless: TLS options without --tls, --insecure with -s" {
	for opt in "--cacert x" --insecure "--tls-cert x" "--tls-key x"; do
		# shellcheck disable=SC2086
		ws $opt 127.0.0.1 9 </dev/null
		[ "$status" = 15 ]
		expect_lines "$D/err" \
		    "It does not make sense to set ${opt% x} and not --tls."
	done
	ws --tls --insecure --tls-cert x --tls-key y -s 0 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" "It does not make sense to set --insecure and -s."
	ws --tls --insecure --cacert x 127.0.0.1 9 </dev/null
	[ "$status" = 15 ]
	expect_lines "$D/err" \
	    "It does not make sense to set --insecure and --cacert."
}

@test "tls: files that do not load: the errno, or 71" {
	ws --tls --tls-cert "$D/none.pem" --tls-key "$CERTS/server.key" \
	    -s 0 </dev/null
	[ "$status" = 2 ]
	expect_lines "$D/err" "whirl-socket: tls: cannot load certificate $D/none.pem: No such file or directory"
	ws --tls --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/client.key" \
	    -s 0 </dev/null
	[ "$status" = 71 ]
	expect_lines "$D/err" "whirl-socket: tls: key $CERTS/client.key does not match certificate $CERTS/server.pem"
	ws --tls --cacert "$CERTS/server.key" 127.0.0.1 9 </dev/null
	[ "$status" = 71 ]
	expect_lines "$D/err" "whirl-socket: tls: cannot load CA file $CERTS/server.key: no certificate or crl found"
}

@test "bash completion: options, long options, services" {
	source "$WHIRL_ROOT/scripts/bash-completion/whirl-socket"
	complete -p whirl-socket | grep -q -- '-F _whirl_socket'
	COMP_WORDS=(whirl-socket --h)
	COMP_CWORD=1
	_whirl_socket
	[ "${COMPREPLY[*]}" = "--half-close --help --http" ]
	COMP_WORDS=(whirl-socket -s ssh)
	COMP_CWORD=2
	_whirl_socket
	[ "${COMPREPLY[*]}" = "ssh" ]
	COMP_WORDS=(whirl-socket -wslqvp whirl-sock)
	COMP_CWORD=2
	_whirl_socket
	[[ " ${COMPREPLY[*]} " == *" whirl-socket "* ]]
	COMP_WORDS=(whirl-socket -v)
	COMP_CWORD=1
	_whirl_socket
	[[ " ${COMPREPLY[*]} " == *" -version "* ]]
}

@test "bash completion: the TLS options and their files" {
	source "$WHIRL_ROOT/scripts/bash-completion/whirl-socket"
	COMP_WORDS=(whirl-socket --tl)
	COMP_CWORD=1
	_whirl_socket
	[ "${COMPREPLY[*]}" = "--tls --tls-cert --tls-key" ]
	COMP_WORDS=(whirl-socket --in)
	_whirl_socket
	[ "${COMPREPLY[*]}" = "--insecure" ]
	touch "$D/ca.pem" "$D/cert.pem"
	for opt in --cacert --tls-cert --tls-key; do
		COMP_WORDS=(whirl-socket --tls "$opt" "$D/ca")
		COMP_CWORD=3
		_whirl_socket
		[ "${COMPREPLY[*]}" = "$D/ca.pem" ]
	done
	# A file argument is no operand: the next word is a host.
	COMP_WORDS=(whirl-socket --tls --cacert ca.pem localhos)
	COMP_CWORD=4
	_whirl_socket
	[[ " ${COMPREPLY[*]} " == *" localhost "* ]]
	COMP_WORDS=(whirl-socket --tls --cacert ca.pem localhost ssh)
	COMP_CWORD=5
	_whirl_socket
	[ "${COMPREPLY[*]}" = "ssh" ]
}
