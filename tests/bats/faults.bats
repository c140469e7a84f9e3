#!/usr/bin/env bats
# faults.bats - broken peers and a hostile environment: names that do not
# resolve (in a network namespace of our own, so nothing leaves the
# machine), the wrong protocol on a port, a TLS handshake that stalls, and
# tools started with their standard descriptors closed.  Each case checks
# the documented status or the clean close, then that service goes on.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	export CERTS=$BATS_FILE_TMPDIR/certs
	"$WHIRL_ROOT/scripts/gen-test-certs" "$CERTS"
}

teardown() {
	stop_started
}

# In a new network namespace only a downed loopback exists: the resolver
# cannot be reached and a lookup fails at once.
no_network() {
	unshare -rn "$@"
}

@test "an unresolvable name: each client tool says so with its documented status" {
	unshare -rn true || skip "no network namespaces here"
	# Status and stderr in one assertion: a sanitizer's abort shows why.
	run --separate-stderr no_network whirl-fetch http://nonexistent.invalid/
	assert_equal "$status $stderr" \
	    "6 whirl-fetch: (6) Could not resolve host: nonexistent.invalid"
	run --separate-stderr no_network whirl-ws ws://nonexistent.invalid/
	assert_equal "$status $stderr" \
	    "3 whirl-ws: unknown host nonexistent.invalid"
	run --separate-stderr no_network whirl-socket nonexistent.invalid 80
	assert_equal "$status $stderr" \
	    "13 whirl-socket: unknown host nonexistent.invalid"
}

@test "https port: plain HTTP gets a 400, a FIN and a lingering close; a stalled handshake closes at --head-timeout; service goes on" {
	start_server srv whirl-serve -q --print-port -p 0 --head-timeout 1 \
	    --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key" \
	    '/=text:fine\n'
	run /usr/bin/python3 - "$SRV_PORT" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])

def closed(s):
    try:
        return s.recv(100) == b""
    except ConnectionResetError:
        return True

s = socket.create_connection(("127.0.0.1", port))
s.settimeout(10)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
got = b""
while True:
    part = s.recv(4096)   # a reset raises: the answer must end in a FIN
    if not part:
        break
    got += part
sys.stdout.write(got.decode() + "\n")
# The rest of a request that comes after the answer is read and dropped
# (a lingering close), not answered with a reset.
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(10)
s.sendall(b"GET / HTTP/1.1\r\n")
while s.recv(4096):
    pass
s.sendall(b"Host: x\r\n")
time.sleep(0.1)
try:
    s.sendall(b"\r\n")   # after a reset: EPIPE or ECONNRESET
    time.sleep(0.1)
    print("late bytes", "dropped" if s.recv(100) == b"" else "answered")
except OSError as e:
    print("late bytes reset:", e)
for what, data in (("silent", b""), ("half a hello", b"\x16\x03\x01\x00\x50\x01")):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(10)
    s.sendall(data)
    t = time.monotonic()
    ok = closed(s)
    took = time.monotonic() - t
    print(what, "closed" if ok and 0.5 < took < 5 else "not closed in time (%.1f s)" % took)
EOF
	assert_success
	page='<html><title>400: Bad Request</title><body>400: Bad Request: plain HTTP was sent to an HTTPS port</body></html>'
	printf -v head '%s\r\n' 'HTTP/1.1 400 Bad Request' \
	    'Server: whirl/0.1.0' 'Content-Type: text/html; charset=UTF-8' \
	    "Content-Length: ${#page}" 'Connection: close' ''
	assert_output "$head$page
late bytes dropped
silent closed
half a hello closed"
	run curl -sS --cacert "$CERTS/ca.pem" "https://localhost:$SRV_PORT/"
	assert_output fine
}

@test "plain port: a TLS client gets a clean failure, and service goes on" {
	start_server srv whirl-serve -q --print-port -p 0 '/=text:fine\n'
	run curl -sS --cacert "$CERTS/ca.pem" "https://localhost:$SRV_PORT/"
	assert_failure 35
	run whirl-fetch -sS --cacert "$CERTS/ca.pem" "https://localhost:$SRV_PORT/"
	assert_failure 35
	run curl -sS "http://127.0.0.1:$SRV_PORT/"
	assert_output fine
}

# The fds a process has open on 0, 1 and 2, as "0:/dev/null ...".
std_fds_of() {
	local fd out=
	for fd in 0 1 2; do
		out+="$fd:$(readlink "/proc/$1/fd/$fd") "
	done
	echo "${out% }"
}

@test "whirl-serve with fds 0, 1 and 2 closed: /dev/null on them, no socket there" {
	under_valgrind && skip "under valgrind: its log takes the lowest free descriptor, 0"
	port=$(free_port)
	log=$BATS_TEST_TMPDIR/access.log
	whirl-serve -p "$port" --access-log "$log" '/=text:fine\n' \
	    <&- >&- 2>&- 3>&- 4>&- &
	pid=$!
	echo "$pid" >>"$BATS_TEST_TMPDIR/started.pids"
	wait_for_port "$port"
	run curl -sS "http://127.0.0.1:$port/"
	assert_output fine
	assert_equal "$(std_fds_of "$pid")" "0:/dev/null 1:/dev/null 2:/dev/null"
	wait_for_line "$log" 'GET /'
}

@test "client tools with fds 0, 1 and 2 closed still run and exit as documented" {
	under_valgrind && skip "under valgrind: its log takes the lowest free descriptor, 0"
	# --idle-timeout 1: whirl-socket reads until the server closes.
	start_server srv whirl-serve -q --print-port -p 0 --idle-timeout 1 \
	    '/=text:fine\n' '/ws=ws-echo'
	out=$BATS_TEST_TMPDIR/out
	# -o takes the body; stdout and stderr are /dev/null.
	whirl-fetch -o "$out" "http://127.0.0.1:$SRV_PORT/" <&- >&- 2>&-
	assert_equal "$?" 0
	assert_equal "$(cat "$out")" fine
	# Nothing to send: whirl-ws closes normally and exits 0.
	whirl-ws "ws://127.0.0.1:$SRV_PORT/ws" <&- >&- 2>&-
	assert_equal "$?" 0
	# whirl-socket: stdin closed reads as empty, the connection ends.
	whirl-socket 127.0.0.1 "$SRV_PORT" <&- >&- 2>&-
	assert_equal "$?" 0
}

@test "out of descriptors: no spinning, a warning at most once a second, then service again" {
	err=$BATS_TEST_TMPDIR/srv.err
	# whirl-serve raises its soft limit to the hard one: set both.
	(ulimit -n 40 && exec whirl-serve --print-port -p 0 '/=text:fine\n') \
	    </dev/null 2>"$err" 3>&- 4>&- &
	pid=$!
	echo "$pid" >>"$BATS_TEST_TMPDIR/started.pids"
	wait_for_line "$err" '^[0-9]+$'
	port=$(head -n 1 "$err")
	run /usr/bin/python3 - "$port" "$pid" <<'PY'
import socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])

def cpu_ticks():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])

held = [socket.create_connection(("127.0.0.1", port)) for _ in range(60)]
t0 = cpu_ticks()
time.sleep(2.5)
# A server spinning on EMFILE would burn about 250 ticks here.
print("quiet" if cpu_ticks() - t0 <= 25 else "spinning")
for s in held:
    s.close()
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(10)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.split(b"\r\n\r\n", 1)[1].decode().strip())
PY
	assert_success
	assert_output "$(printf 'quiet\nfine')"
	n=$(grep -c "accept 127.0.0.1 port $port: Too many open files" "$err")
	[ "$n" -ge 1 ] && [ "$n" -le 4 ]
}

@test "a client that stops reading a large response: memory stays bounded, others are served" {
	big=$BATS_TEST_TMPDIR/big.bin
	truncate -s 256M "$big"
	start_server srv whirl-serve -q --print-port -p 0 "/big=file:$big" \
	    '/=text:fine\n'
	run /usr/bin/python3 - "$SRV_PORT" "$SRV_PID" <<'PY'
import socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])

def rss_kib():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])

before = rss_kib()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(("127.0.0.1", port))
s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
time.sleep(1.5)              # the server fills what the kernel takes
peak = max(rss_kib() for _ in range(10) if time.sleep(0.05) is None)
# 256 MiB held would be obvious; a few socket buffers are not.
grew = peak - before
print("bounded" if grew < 16 * 1024 else "grew by %d KiB" % grew)
c = socket.create_connection(("127.0.0.1", port))
c.settimeout(10)
c.sendall(b"GET / HTTP/1.0\r\n\r\n")
data = b""
while True:
    chunk = c.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.split(b"\r\n\r\n", 1)[1].decode().strip())
s.close()
PY
	assert_success
	assert_output "$(printf 'bounded\nfine')"
}

@test "whirl-fetch -o on a full 1 MiB tmpfs: status 23, the partial file removed, the space given back" {
	unshare -rm true || skip "no mount namespaces here"
	head -c 3000000 /dev/urandom >"$BATS_TEST_TMPDIR/big"
	start_server srv whirl-serve -q --print-port -p 0 \
	    "/big=file:$BATS_TEST_TMPDIR/big"
	mnt=$BATS_TEST_TMPDIR/small
	mkdir "$mnt"
	run --separate-stderr unshare -rm sh -c '
		mount -t tmpfs -o size=1m none "$1" || exit 99
		whirl-fetch -sS -o "$1/out" "$2"
		echo "status $?"
		ls -A "$1"
		df -k "$1" | awk "NR == 2 { print \$3 }"' sh "$mnt" \
	    "http://127.0.0.1:$SRV_PORT/big"
	assert_success
	assert_output "$(printf 'status 23\n0')"
	assert_equal "$stderr" "whirl-fetch: (23) Failure writing output to destination"
}

#
# Broken clients (tests/peers/faultpeer.py): resets, half-closes, and
# readers that stop.  Each python snippet measures the server's
# descriptors with no connection open first, and waits for the same
# count after the fault; every wait is on an event, with a bound.
#

# fpy ARGS... <<'PY': a python snippet that can import faultpeer.
fpy() {
	PYTHONDONTWRITEBYTECODE=1 PYTHONPATH=$WHIRL_ROOT/tests/peers \
	    /usr/bin/python3 - "$@"
}

# rss_bound: how far (KiB) the server's RSS may grow while a client does
# not read: a few socket buffers and queues, far less than the data sent.
# 0 (not checked) where RSS is no measure (rss_measurable).
rss_bound() {
	if rss_measurable; then echo 8192; else echo 0; fi
}

# stop_clean: TERM the server; it exits 0, and no log of the test holds
# a sanitizer report (the sanitize tier checks for leaks at exit).
stop_clean() {
	kill -TERM "$SRV_PID"
	wait_pid "$SRV_PID" 20 >/dev/null || true
	! grep -E 'Sanitizer|runtime error:' "$BATS_TEST_TMPDIR"/*.err >&2
	assert_equal "$WAIT_STATUS" 0
}

@test "clients that reset mid-head, mid-body and mid-response: descriptors back to baseline, service goes on" {
	big=$BATS_TEST_TMPDIR/big.bin
	truncate -s 64M "$big"
	ran=$BATS_TEST_TMPDIR/ran
	start_server srv whirl-serve -q --print-port -p 0 "/big=file:$big" \
	    '/=text:fine\n' "POST /cat=exec:echo >>$ran; cat"
	run fpy "$SRV_PORT" "$SRV_PID" "$ran" <<'PY'
import os, sys, faultpeer as f
port, pid, ran = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
# Warm up each route kind: the first program may leave the loop a
# descriptor it keeps (the SIGCHLD watch).
s = f.conn(port)
s.sendall(b"POST /cat HTTP/1.0\r\nContent-Length: 2\r\n\r\nok")
print("warm-up:", f.read_all(s)[0].split(b"\r\n\r\n", 1)[1].decode())
s.close()
os.unlink(ran)
base = f.idle_fds(pid, port)

s = f.conn(port)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Half: ab")
f.server_read_all(s)
f.reset(s)
f.wait_fds(pid, base)
print("head: back to", base)

s = f.conn(port)
s.sendall(b"POST /cat HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
          + b"y" * 50000)
f.server_read_all(s)
f.reset(s)
f.wait_fds(pid, base)
print("body: back to", base, "program run:", os.path.exists(ran))

s = f.conn(port, rcvbuf=4096)
s.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(4096)
f.until(lambda: f.server_unsent(s) > 0, "the server to have more queued")
f.reset(s)
f.wait_fds(pid, base)
print("response: back to", base)
print(f.get(port, "/")[1].decode(), end="")
PY
	assert_success
	base=$(sed -n 's/^head: back to //p' <<<"$output")
	assert_output "warm-up: ok
head: back to $base
body: back to $base program run: False
response: back to $base
fine"
	stop_clean
}

@test "a client that half-closes after its request: a short answer arrives whole, an exec program is stopped" {
	pidf=$BATS_TEST_TMPDIR/hold.pid
	start_server srv whirl-serve -q --print-port -p 0 '/=text:fine\n' \
	    "/hold=exec:echo \$\$ >$pidf; exec sleep 300"
	run fpy "$SRV_PORT" "$SRV_PID" "$pidf" <<'PY'
import socket, sys, faultpeer as f
port, pid, pidf = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = f.idle_fds(pid, port)
# As Tornado and nginx do, the server takes the client's FIN for its
# leaving: what is answered at once is sent (and then the connection
# closes), a program still running is stopped.
s = f.conn(port)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
s.shutdown(socket.SHUT_WR)
data, how = f.read_all(s)
print(data.split(b"\r\n\r\n", 1)[1].decode(), how, end=" ")
print(b"Content-Length: 5\r\n" in data)
s.close()
s = f.conn(port)
s.sendall(b"GET /hold HTTP/1.1\r\nHost: x\r\n\r\n")
child = f.read_pid(pidf)
s.shutdown(socket.SHUT_WR)
print(f.read_all(s))
f.gone(child)
print("program gone")
s.close()
f.wait_fds(pid, base)
print(f.get(port, "/")[1].decode(), end="")
PY
	assert_success
	assert_output "fine
 eof True
(b'', 'eof')
program gone
fine"
	run ps -o stat= --ppid "$SRV_PID"
	refute_output --partial Z
	stop_clean
}

@test "ws-exec flooding a client that stops reading: held back, memory bounded; its reset stops the program" {
	pidf=$BATS_TEST_TMPDIR/flood.pid
	start_server srv whirl-serve -q --print-port -p 0 '/=text:fine\n' \
	    "/flood=ws-exec:echo \$\$ >$pidf; exec yes flood-line" \
	    '/echo=ws-echo'
	run fpy "$SRV_PORT" "$SRV_PID" "$pidf" "$(rss_bound)" <<'PY'
import sys, faultpeer as f
port, pid, pidf = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = f.idle_fds(pid, port)
rss = f.Growth(pid, int(sys.argv[4]))
w = f.Ws(port, "/flood", rcvbuf=4096)
print(w.status, w.recv())
child = f.read_pid(pidf)
# The program's output is not read either: it blocks, having written
# only what the pipe, the server's bounds and the socket buffers hold.
f.blocked(child)
print(rss.verdict(), f.wchar(child) < 16 << 20)
e = f.Ws(port, "/echo")
e.send("still here")
print(e.recv())
e.send(b"\x03\xe8", 8)
print(e.recv())
e.s.close()
f.reset(w.s)
f.gone(child)
f.wait_fds(pid, base)
print("program gone, descriptors back")
PY
	assert_success
	assert_output "101 (1, b'flood-line')
bounded True
(1, b'still here')
(8, b'\\x03\\xe8')
program gone, descriptors back"
	run ps -o stat= --ppid "$SRV_PID"
	refute_output --partial Z
	stop_clean
}

@test "ws-echo and ws-broadcast: a client that stops reading is closed with 1008, memory bounded" {
	start_server srv whirl-serve -q --print-port -p 0 --ws-max-message 64K \
	    --ws-max-queue 256K '/echo=ws-echo' '/room=ws-broadcast'
	run fpy "$SRV_PORT" "$SRV_PID" "$(rss_bound)" <<'PY'
import sys, faultpeer as f
port, pid, bound = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
base = f.idle_fds(pid, port)
wmem = int(open("/proc/sys/net/ipv4/tcp_wmem").read().split()[2])
rmem = int(open("/proc/sys/net/ipv4/tcp_rmem").read().split()[2])
msg = b"x" * 65536
# Twice what the socket buffers on the way back could hold (the server's
# send buffer, the client's receive buffer, whatever size the stack
# gives them), plus the server's limit (for ws-echo --ws-max-message and
# 1 MiB, for ws-broadcast --ws-max-queue), and twice the RSS bound: a
# server that kept it all would show.
n = max(2 * (wmem + rmem + (1 << 20)) // 65536 + 16, 2 * bound // 64)

# ws-echo: the client sends without reading its echoes.
rss = f.Growth(pid, bound)
w = f.Ws(port, "/echo", rcvbuf=4096)
for _ in range(n):
    w.send(msg, 2)
    rss.sample()
got, code = w.close_code()
print("echo:", code, 0 < got < n, rss.verdict())
w.s.close()

# ws-broadcast: a reader stops, another client sends.
rss = f.Growth(pid, bound)
slow = f.Ws(port, "/room", rcvbuf=4096)
talker = f.Ws(port, "/room")
for _ in range(n):
    talker.send(msg, 2)
    talker.recv()           # its own copy: the room has taken it
    rss.sample()
got, code = slow.close_code()
print("room:", code, 0 < got < n, rss.verdict())
talker.send("still here")
print(talker.recv())
slow.s.close()
talker.s.close()
f.wait_fds(pid, base)
print("descriptors back")
PY
	assert_success
	assert_output "echo: 1008 True bounded
room: 1008 True bounded
(1, b'still here')
descriptors back"
	stop_clean
}

@test "ws-exec: a program killed by SIGSEGV: its output, then 1000; reaped" {
	pidf=$BATS_TEST_TMPDIR/segv.pid
	start_server srv whirl-serve -q --print-port -p 0 \
	    "/segv=ws-exec:echo \$\$ >$pidf; echo before; kill -SEGV \$\$"
	run fpy "$SRV_PORT" "$SRV_PID" "$pidf" <<'PY'
import sys, faultpeer as f
port, pid, pidf = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = f.idle_fds(pid, port)
w = f.Ws(port, "/segv")
print(w.recv())
print(w.close_code())
f.gone(f.read_pid(pidf))
w.s.close()
f.wait_fds(pid, base)
print("reaped, descriptors back")
PY
	assert_success
	assert_output "(1, b'before')
(0, 1000)
reaped, descriptors back"
	stop_clean
}

@test "ws-exec: a program that never exits: the client's reset kills its group, no zombie" {
	pids=$BATS_TEST_TMPDIR/pids
	start_server srv whirl-serve -q --print-port -p 0 \
	    "/never=ws-exec:echo \$\$ >$pids.sh; sleep 300 & echo \$! >$pids.sleep; echo ready; wait"
	run fpy "$SRV_PORT" "$SRV_PID" "$pids" <<'PY'
import sys, faultpeer as f
port, pid, pids = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = f.idle_fds(pid, port)
w = f.Ws(port, "/never")
print(w.recv())
sh, sleeper = f.read_pid(pids + ".sh"), f.read_pid(pids + ".sleep")
f.reset(w.s)
f.gone(sh)                  # the server's child: reaped, not a zombie

def not_running(p):
    try:
        with open("/proc/%d/stat" % p) as st:
            return st.read().rsplit(")", 1)[1].split()[0] in "ZX"
    except FileNotFoundError:
        return True

f.until(lambda: not_running(sleeper), "the background sleep to die")
f.wait_fds(pid, base)
print("group gone, descriptors back")
PY
	assert_success
	assert_output "(1, b'ready')
group gone, descriptors back"
	run ps -o stat= --ppid "$SRV_PID"
	assert_output ''
	stop_clean
}

@test "ws-exec: a program that closes its stdout and stays: open until the client closes, then stopped" {
	pidf=$BATS_TEST_TMPDIR/stay.pid
	start_server srv whirl-serve -q --print-port -p 0 \
	    "/stay=ws-exec:echo \$\$ >$pidf; echo bye; exec 1>&-; exec sleep 300"
	run fpy "$SRV_PORT" "$SRV_PID" "$pidf" <<'PY'
import sys, faultpeer as f
port, pid, pidf = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
base = f.idle_fds(pid, port)
w = f.Ws(port, "/stay")
print(w.recv())
child = f.read_pid(pidf)
# The close waits for the program's exit: the connection is still
# served (a ping is answered), the program still there.
f.blocked(child)
w.send(b"still?", 9)
print(w.recv())
w.send(b"\x03\xe8", 8)
print(w.recv())
f.gone(child)
w.s.close()
f.wait_fds(pid, base)
print("program gone, descriptors back")
PY
	assert_success
	assert_output "(1, b'bye')
(10, b'still?')
(8, b'\\x03\\xe8')
program gone, descriptors back"
	stop_clean
}

@test "exec: a program that closes its stdout and stays: the answer ends at --exec-timeout" {
	start_server srv whirl-serve -q --print-port -p 0 --exec-timeout 1 \
	    '/out=exec:echo partial; exec 1>&-; exec sleep 300' \
	    '/none=exec:exec 1>&-; exec sleep 300'
	# Output had started: a cut-short body (curl 18), after the timeout.
	run --separate-stderr curl -sS -w '%{http_code} %{time_total}' \
	    "http://127.0.0.1:$SRV_PORT/out"
	assert_equal "$status" 18
	[[ $output =~ ^partial$'\n'200\ ([0-9.]+)$ ]]
	awk -v t="${BASH_REMATCH[1]}" 'BEGIN { exit !(t >= 0.9) }'
	# No output: 504, as for any program past the timeout.
	run curl -sS -w ' %{http_code}' "http://127.0.0.1:$SRV_PORT/none"
	assert_output '<html><title>504: Gateway Timeout</title><body>504: Gateway Timeout</body></html> 504'
	# Both programs killed and reaped: the server has no child left.
	end=$((SECONDS + 10 * ${WHIRL_SLOW:-1}))
	while [ -n "$(ps -o stat= --ppid "$SRV_PID")" ]; do
		((SECONDS < end)) || { ps -o pid,stat,cmd --ppid "$SRV_PID" >&2; false; }
		sleep 0.02
	done
	stop_clean
}

@test "DNS: a resolver on a closed loopback port; --resolve to a closed port" {
	unshare -rnm true || skip "no network and mount namespaces here"
	conf=$BATS_TEST_TMPDIR/resolv.conf
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$conf"
	# A network namespace of our own, its loopback up: nothing listens on
	# port 53 there, every query is refused at once.
	run --separate-stderr unshare -rnm sh -c '
		ip link set lo up && mount --bind "$1" /etc/resolv.conf || exit 99
		whirl-fetch http://whirl.example/; echo "fetch $?"
		whirl-fetch -sS -x http://proxy.whirl.example:8080 http://127.0.0.1/
		echo "fetch -x $?"
		whirl-ws ws://whirl.example/; echo "ws $?"
		whirl-socket whirl.example 80 </dev/null; echo "socket $?"
		whirl-socket --tls whirl.example 443 </dev/null; echo "socket --tls $?"
	' sh "$conf"
	assert_success
	assert_output "fetch 6
fetch -x 5
ws 3
socket 13
socket --tls 13"
	assert_equal "$stderr" "whirl-fetch: (6) Could not resolve host: whirl.example
whirl-fetch: (5) Could not resolve proxy: proxy.whirl.example
whirl-ws: unknown host whirl.example
whirl-socket: unknown host whirl.example
whirl-socket: unknown host whirl.example"
	port=$(free_port)
	run --separate-stderr whirl-fetch --resolve "whirl.example:$port:127.0.0.1" \
	    "http://whirl.example:$port/"
	assert_equal "$status" 7
	assert_regex "$stderr" "^whirl-fetch: \\(7\\) Failed to connect to whirl.example port $port after [0-9]+ ms: Connection refused\$"
}
