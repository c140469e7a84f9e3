#!/usr/bin/env bats
# serve-prod.bats - whirl-serve in production: HTTPS, worker processes,
# graceful stops and the signals, the routes file and its reload, the
# access log's reopening, and --xheaders behind a real nginx that balances
# two instances.  Clients are curl and nginx (Debian packages); every
# server is started here on 127.0.0.1 and stopped by PID.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	export CERTS=$BATS_FILE_TMPDIR/certs
	"$WHIRL_ROOT/scripts/gen-test-certs" "$CERTS"
}

setup() {
	GATE=$BATS_TEST_TMPDIR/gate
}

teardown() {
	stop_started
}

serve() {
	start_server srv whirl-serve --print-port -p 0 "$@"
	U=http://127.0.0.1:$SRV_PORT
	ERR=$BATS_TEST_TMPDIR/srv.err
}

# The worker pids of supervisor $1, sorted, one per line.
workers_of() {
	pgrep -P "$1" | sort
}

# wait_until SECONDS CMD...: until CMD succeeds.
wait_until() {
	local secs=$1 end
	shift
	end=$((SECONDS + secs * ${WHIRL_SLOW:-1}))
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.05
	done
}

@test "https: curl with the test CA; the start line says https; a wrong name is refused" {
	serve -q --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key" \
	    '/=text:over TLS\n'
	grep -qx "whirl-serve: listening on https://127.0.0.1:$SRV_PORT/" "$ERR"
	run curl -sS --cacert "$CERTS/ca.pem" "https://localhost:$SRV_PORT/"
	assert_success
	assert_output "over TLS"
	# The certificate names localhost and 127.0.0.1, not this.
	run curl -sS --cacert "$CERTS/ca.pem" \
	    --resolve "wrong.example:$SRV_PORT:127.0.0.1" \
	    "https://wrong.example:$SRV_PORT/"
	assert_failure 60
	# The server goes on serving.
	run curl -sS --cacert "$CERTS/ca.pem" "https://localhost:$SRV_PORT/"
	assert_output "over TLS"
}

@test "https: WebSockets over TLS (wss) with whirl-ws" {
	serve -q --tls-cert "$CERTS/server.pem" --tls-key "$CERTS/server.key"
	run whirl-ws --cacert "$CERTS/ca.pem" \
	    "wss://localhost:$SRV_PORT/websocket" <<<"over wss"
	assert_success
	assert_output "You said: over wss"
}

@test "https: bad TLS options" {
	run whirl-serve -p 0 --tls-cert "$CERTS/server.pem"
	assert_failure 2
	assert_line --index 0 "whirl-serve: --tls-cert and --tls-key go together"
	run whirl-serve -p 0 --tls-cert "$CERTS/nonesuch.pem" \
	    --tls-key "$CERTS/server.key"
	assert_failure 1
	assert_output --partial "whirl-serve: tls: cannot load certificate $CERTS/nonesuch.pem"
	# A key that is not the certificate's.
	run whirl-serve -p 0 --tls-cert "$CERTS/server.pem" \
	    --tls-key "$CERTS/otherhost.key"
	assert_failure 1
	assert_output --partial "whirl-serve: tls:"
}

@test "--processes 2: answers come from both workers; a killed worker is replaced on the port" {
	serve -q --processes 2 '/pid=exec:echo $PPID'
	wait_until 5 eval '[ "$(workers_of "$SRV_PID" | wc -l)" -eq 2 ]'
	[ "$(grep -c "listening on" "$ERR")" -eq 1 ]
	grep -qx "whirl-serve: 2 worker processes" "$ERR"
	before=$(workers_of "$SRV_PID")
	# A new connection each time: SO_REUSEPORT spreads them by their
	# source port, so 40 all landing on one worker is 2^-39.
	seen=$(curl -s -H 'Connection: close' "$U/pid?[1-40]" | sort -u)
	assert_equal "$seen" "$before"

	victim=$(head -n 1 <<<"$before")
	kill -9 "$victim"
	wait_for_line "$ERR" "worker [01] \(pid $victim\) killed by signal 9; starting another"
	wait_until 5 eval '[ "$(workers_of "$SRV_PID" | wc -l)" -eq 2 ] &&
	    ! workers_of "$SRV_PID" | grep -qx "$victim"'
	after=$(workers_of "$SRV_PID")
	seen=$(curl -s -H 'Connection: close' "$U/pid?[1-40]" | sort -u)
	assert_equal "$seen" "$after"
	kill -TERM "$SRV_PID"
	wait_pid "$SRV_PID"
	assert_equal "$WAIT_STATUS" 0
	# The workers went with it.
	for p in $after; do
		! kill -0 "$p" 2>/dev/null
	done
}

@test "--processes: a bad count is a usage error" {
	run whirl-serve -p 0 --processes -1
	assert_failure 2
	assert_line --index 0 "whirl-serve: bad --processes '-1' (0 to 256)"
}

# A request that streams "begin", then waits for $GATE before "end".
slow_route() {
	echo "/slow=exec:echo begin; while [ ! -e '$GATE' ]; do sleep 0.05; done; echo end"
}

@test "graceful stop: a slow request finishes with its whole body; new connections are refused; exit 0" {
	serve -q "$(slow_route)"
	out=$BATS_TEST_TMPDIR/curl.out        # start_bg's stdout
	start_bg curl curl -sSN "$U/slow"
	curl_pid=$BG_PID
	wait_for_line "$out" '^begin$'
	kill -TERM "$SRV_PID"
	# The listeners are closed: refused, not left waiting in a backlog.
	wait_until 5 eval '! (: <>/dev/tcp/127.0.0.1/$SRV_PORT) 2>/dev/null'
	run curl -sS "$U/slow"
	assert_failure 7
	kill -0 "$SRV_PID"
	touch "$GATE"
	wait_pid "$curl_pid"
	assert_equal "$WAIT_STATUS" 0
	assert_equal "$(cat "$out")" "$(printf 'begin\nend')"
	wait_pid "$SRV_PID"
	assert_equal "$WAIT_STATUS" 0
}

@test "graceful stop: a second signal stops at once with status 1" {
	serve -q "$(slow_route)"
	out=$BATS_TEST_TMPDIR/curl.out        # start_bg's stdout
	start_bg curl curl -sSN "$U/slow"
	curl_pid=$BG_PID
	wait_for_line "$out" '^begin$'
	kill -TERM "$SRV_PID"
	sleep 0.2
	kill -0 "$SRV_PID"
	kill -INT "$SRV_PID"
	wait_pid "$SRV_PID"
	assert_equal "$WAIT_STATUS" 1
	# The client saw the response cut short (chunked, no last chunk).
	wait_pid "$curl_pid"
	assert_equal "$WAIT_STATUS" 18
	assert_equal "$(cat "$out")" begin
}

@test "graceful stop: --shutdown-timeout cuts a request off and exits 0" {
	serve -q --shutdown-timeout 0.3 "$(slow_route)"
	out=$BATS_TEST_TMPDIR/curl.out        # start_bg's stdout
	start_bg curl curl -sSN "$U/slow"
	curl_pid=$BG_PID
	wait_for_line "$out" '^begin$'
	kill -TERM "$SRV_PID"
	wait_pid "$SRV_PID"
	assert_equal "$WAIT_STATUS" 0
	wait_pid "$curl_pid"
	assert_equal "$WAIT_STATUS" 18
}

@test "graceful stop with --processes: every worker finishes its request" {
	serve -q --processes 2 "$(slow_route)"
	wait_until 5 eval '[ "$(workers_of "$SRV_PID" | wc -l)" -eq 2 ]'
	pids=()
	for i in 1 2 3 4; do
		start_bg "curl$i" curl -sSN -H 'Connection: close' "$U/slow"
		pids+=("$BG_PID")
		wait_for_line "$BATS_TEST_TMPDIR/curl$i.out" '^begin$'
	done
	kill -TERM "$SRV_PID"
	sleep 0.2
	touch "$GATE"
	for i in 1 2 3 4; do
		wait_pid "${pids[i - 1]}"
		assert_equal "$WAIT_STATUS" 0
		assert_equal "$(cat "$BATS_TEST_TMPDIR/curl$i.out")" \
		    "$(printf 'begin\nend')"
	done
	wait_pid "$SRV_PID"
	assert_equal "$WAIT_STATUS" 0
}

@test "--processes: a ^C to the terminal's whole process group is one graceful stop" {
	# setsid: a group of its own, as a shell's foreground job has.
	start_server srv setsid whirl-serve --print-port -p 0 -q \
	    --processes 2 "$(slow_route)"
	U=http://127.0.0.1:$SRV_PORT
	[ "$(ps -o pgid= -p "$SRV_PID" | tr -d ' ')" = "$SRV_PID" ]
	wait_until 5 eval '[ "$(workers_of "$SRV_PID" | wc -l)" -eq 2 ]'
	out=$BATS_TEST_TMPDIR/curl.out        # start_bg's stdout
	start_bg curl curl -sSN "$U/slow"
	curl_pid=$BG_PID
	wait_for_line "$out" '^begin$'
	kill -INT -- "-$SRV_PID"
	sleep 0.3
	touch "$GATE"
	wait_pid "$curl_pid"
	assert_equal "$WAIT_STATUS" 0
	assert_equal "$(cat "$out")" "$(printf 'begin\nend')"
	wait_pid "$SRV_PID"
	assert_equal "$WAIT_STATUS" 0
}

@test "--routes: comments, blank lines and leading blanks skipped, trailing blanks kept" {
	f=$BATS_TEST_TMPDIR/routes
	printf '%s\n' '# the greeting' '' '   ' \
	    '	  /=text:hello  ' '  # indented comment' \
	    'POST /form=status:201:saved' >"$f"
	serve -q --routes "$f" '/first=text:from the command line'
	run curl -s "$U/"
	assert_output "hello  "
	run curl -s -o /dev/null -w '%{http_code}' -X POST "$U/form"
	assert_output 201
	run curl -s "$U/first"
	assert_output "from the command line"
	# No default demo once a routes file is given.
	run curl -s -o /dev/null -w '%{http_code}' "$U/websocket"
	assert_output 404
}

@test "--routes: a bad route names its line and exits 2; a missing file too" {
	f=$BATS_TEST_TMPDIR/routes
	printf '%s\n' '/a=text:A' '# fine so far' '/c=nope:x' >"$f"
	run whirl-serve -p 0 --routes "$f"
	assert_failure 2
	assert_output --regexp "^whirl-serve: $f:3: route '/c=nope:x': unknown kind 'nope' \(kinds: text, [a-z, -]+\)\$"
	run whirl-serve -p 0 --routes "$BATS_TEST_TMPDIR/nonesuch"
	assert_failure 2
	assert_output "whirl-serve: $BATS_TEST_TMPDIR/nonesuch: No such file or directory"
}

@test "SIGHUP rereads --routes; a bad file keeps the old routes and says why" {
	f=$BATS_TEST_TMPDIR/routes
	printf '%s\n' '/a=text:one' >"$f"
	serve -q --routes "$f"
	run curl -s "$U/a"
	assert_output one

	printf '%s\n' '/a=text:two' '/b=text:new' >"$f"
	kill -HUP "$SRV_PID"
	wait_for_line "$ERR" "SIGHUP: routes reloaded from $f"
	run curl -s "$U/a" "$U/b"
	assert_output twonew

	printf '%s\n' '/a=text:three' '/b=nope:x' >"$f"
	kill -HUP "$SRV_PID"
	wait_for_line "$ERR" "SIGHUP: keeping the old routes: $f:2: route '/b=nope:x'"
	run curl -s "$U/a"
	assert_output two

	rm "$f"
	kill -HUP "$SRV_PID"
	wait_for_line "$ERR" "SIGHUP: keeping the old routes: $f: No such file or directory"
	run curl -s "$U/a"
	assert_output two
}

@test "SIGHUP: a request in flight finishes on the old routes" {
	f=$BATS_TEST_TMPDIR/routes
	slow_route >"$f"
	serve -q --routes "$f"
	out=$BATS_TEST_TMPDIR/curl.out        # start_bg's stdout
	start_bg curl curl -sSN "$U/slow"
	curl_pid=$BG_PID
	wait_for_line "$out" '^begin$'
	printf '%s\n' '/slow=text:replaced' >"$f"
	kill -HUP "$SRV_PID"
	wait_for_line "$ERR" "SIGHUP: routes reloaded"
	run curl -s "$U/slow"
	assert_output replaced
	touch "$GATE"
	wait_pid "$curl_pid"
	assert_equal "$WAIT_STATUS" 0
	assert_equal "$(cat "$out")" "$(printf 'begin\nend')"
}

@test "SIGUSR1 reopens --access-log after it was moved away" {
	log=$BATS_TEST_TMPDIR/access.log
	serve --access-log "$log" '/=text:hi'
	curl -s "$U/?before" >/dev/null
	wait_for_line "$log" 'GET /\?before'
	mv "$log" "$log.1"
	kill -USR1 "$SRV_PID"
	wait_until 5 test -e "$log"
	curl -s "$U/?after" >/dev/null
	wait_for_line "$log" 'GET /\?after'
	run grep -c 'GET /?before' "$log"
	assert_output 0
	run grep -c 'GET /?after' "$log.1"
	assert_output 0
}

@test "--xheaders: the client's address from X-Real-Ip or X-Forwarded-For; nonsense ignored" {
	log=$BATS_TEST_TMPDIR/access.log
	serve --access-log "$log" --log-format json --xheaders '/=text:hi'
	curl -s -H 'X-Forwarded-For: 10.1.1.1, 203.0.113.7' "$U/?1" >/dev/null
	curl -s -H 'X-Real-Ip: 2001:db8::5' "$U/?2" >/dev/null
	curl -s -H 'X-Real-Ip: not-an-ip' "$U/?3" >/dev/null
	curl -s --interface 127.0.0.2 "$U/?4" >/dev/null
	wait_for_line "$log" '"uri":"/\?4"'
	run grep -o '"remote_ip":"[^"]*","method":"GET","uri":"/?[0-9]"' "$log"
	assert_output "$(printf '%s\n' \
	    '"remote_ip":"203.0.113.7","method":"GET","uri":"/?1"' \
	    '"remote_ip":"2001:db8::5","method":"GET","uri":"/?2"' \
	    '"remote_ip":"127.0.0.1","method":"GET","uri":"/?3"' \
	    '"remote_ip":"127.0.0.2","method":"GET","uri":"/?4"')"
}

@test "without --xheaders the headers are not trusted" {
	log=$BATS_TEST_TMPDIR/access.log
	serve --access-log "$log" --log-format json '/=text:hi'
	curl -s -H 'X-Forwarded-For: 203.0.113.7' -H 'X-Real-Ip: 10.9.9.9' \
	    "$U/?1" >/dev/null
	wait_for_line "$log" '"uri":"/\?1"'
	grep -q '"remote_ip":"127.0.0.1"' "$log"
}

@test "behind nginx: two instances with --xheaders, balanced, logging the client's address" {
	d=$BATS_TEST_TMPDIR
	mkdir -p "$d/ngx/tmp"
	start_server one whirl-serve --print-port -p 0 --xheaders \
	    --access-log "$d/one.log" --log-format json '/=text:one\n' \
	    '/env=cgi:echo Content-Type: text/plain; echo; echo $REMOTE_ADDR $HTTPS'
	start_server two whirl-serve --print-port -p 0 --xheaders \
	    --access-log "$d/two.log" --log-format json '/=text:two\n' \
	    '/env=cgi:echo Content-Type: text/plain; echo; echo $REMOTE_ADDR $HTTPS'
	ngx_port=$(free_port)
	cat >"$d/ngx/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $d/ngx/nginx.pid;
error_log $d/ngx/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $d/ngx/tmp/body;
	proxy_temp_path $d/ngx/tmp/proxy;
	fastcgi_temp_path $d/ngx/tmp/fastcgi;
	uwsgi_temp_path $d/ngx/tmp/uwsgi;
	scgi_temp_path $d/ngx/tmp/scgi;
	upstream whirl {
		server 127.0.0.1:$ONE_PORT;
		server 127.0.0.1:$TWO_PORT;
		keepalive 8;
	}
	server {
		listen 127.0.0.1:$ngx_port;
		location / {
			proxy_pass http://whirl;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
			proxy_set_header Host \$host;
			proxy_set_header X-Real-Ip \$remote_addr;
			proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
			proxy_set_header X-Forwarded-Proto https;
		}
	}
}
EOF
	start_bg nginx "$(command -v nginx || echo /usr/sbin/nginx)" \
	    -e "$d/ngx/error.log" -c "$d/ngx/nginx.conf" -p "$d/ngx"
	wait_for_port "$ngx_port" || { cat "$d/ngx/error.log" >&2; false; }
	# Round robin: ten requests, five to each; from 127.0.0.2.
	run curl -s --interface 127.0.0.2 "http://127.0.0.1:$ngx_port/?[1-10]"
	assert_success
	[ "$(grep -c '^one$' <<<"$output")" -eq 5 ]
	[ "$(grep -c '^two$' <<<"$output")" -eq 5 ]
	wait_until 5 eval '[ "$(cat "$d/one.log" "$d/two.log" | wc -l)" -eq 10 ]'
	run grep -ho '"remote_ip":"[^"]*"' "$d/one.log" "$d/two.log"
	assert_output "$(printf '"remote_ip":"127.0.0.2"\n%.0s' {1..10})"
	# CGI sees it too, and the scheme the proxy reported.
	run curl -s --interface 127.0.0.2 "http://127.0.0.1:$ngx_port/env"
	assert_output "127.0.0.2 on"
}
