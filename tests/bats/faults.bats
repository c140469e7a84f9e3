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
	run --separate-stderr no_network whirl-fetch http://nonexistent.invalid/
	assert_equal "$status" 6
	assert_equal "$stderr" "whirl-fetch: (6) Could not resolve host: nonexistent.invalid"
	run --separate-stderr no_network whirl-ws ws://nonexistent.invalid/
	assert_equal "$status" 3
	assert_equal "$stderr" "whirl-ws: unknown host nonexistent.invalid"
	run --separate-stderr no_network whirl-socket nonexistent.invalid 80
	assert_equal "$status" 13
	assert_equal "$stderr" "whirl-socket: unknown host nonexistent.invalid"
}

@test "https port: plain HTTP gets a 400 and a FIN, a stalled handshake closes at --head-timeout; service goes on" {
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
	start_server srv whirl-serve -q --print-port -p 0 '/=text:fine\n' \
	    '/ws=ws-echo'
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
