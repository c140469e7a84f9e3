#!/usr/bin/env bats
# fetch-transfer.bats - whirl-fetch's retries (a flaky cgi: route of
# whirl-serve that fails twice, then succeeds; Retry-After; refused
# connections and timeouts), resumed downloads and ranges from nginx
# (against curl given the same options), multipart forms as Tornado
# (tests/peers/fetch-tornado.py) parses them and byte for byte as curl
# sends them (read back by a cgi: route), and uploads with -T.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	local d=$BATS_FILE_TMPDIR
	export WWW=$d/www NGX=$d/nginx FILES=$d/files
	mkdir -p "$WWW" "$NGX/tmp" "$FILES"
	head -c 100000 /dev/urandom >"$WWW/rand.bin"
	printf 'hello\n' >"$FILES/a.txt"
	printf 'x\1y' >"$FILES/b.bin"
	printf 'nul\0byte' >"$FILES/c.bin"
	# The flaky route: the first FAILS requests of a KEY answer STATUS
	# (with Retry-After when given), the next ones 200.
	cat >"$d/flaky.sh" <<'EOF'
f=$STATE/$1
n=$(($(cat "$f" 2>/dev/null || echo 0) + 1))
echo "$n" >"$f"
if [ "$n" -le "$2" ]; then
	printf 'Status: %s\n' "$3"
	[ -z "$4" ] || printf 'Retry-After: %s\n' "$4"
	printf 'Content-Type: text/plain\n\nfailure %d\n' "$n"
else
	printf 'Content-Type: text/plain\n\nsuccess after %d failures\n' "$2"
fi
EOF
	export STATE=$d/state
	mkdir -p "$STATE"
	start_server serve whirl-serve -q -p 0 --print-port \
	    "/flaky/([^/]+)/(\\d+)/(\\d+)/(\\d*)=cgi:sh $d/flaky.sh \"\$1\" \"\$2\" \"\$3\" \"\$4\"" \
	    "/body=cgi:printf 'Content-Type: text/plain\\n\\n%s %s\\n' \"\$CONTENT_TYPE\" \"\$CONTENT_LENGTH\"; cat"
	start_server tornado /usr/bin/python3 \
	    "$WHIRL_ROOT/tests/peers/fetch-tornado.py"
	start_server peer /usr/bin/python3 "$WHIRL_ROOT/tests/peers/http-peer.py"
	export HTTP=$(free_port)
	cat >"$NGX/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $NGX/tmp/body;
	proxy_temp_path $NGX/tmp/proxy;
	fastcgi_temp_path $NGX/tmp/fastcgi;
	uwsgi_temp_path $NGX/tmp/uwsgi;
	scgi_temp_path $NGX/tmp/scgi;
	root $WWW;
	server { listen 127.0.0.1:$HTTP; }
}
EOF
	start_bg nginx "$(command -v nginx || echo /usr/sbin/nginx)" \
	    -e "$NGX/error.log" -c "$NGX/nginx.conf" -p "$NGX"
	wait_for_port "$HTTP" || { cat "$NGX/error.log" >&2; return 1; }
	export H=http://127.0.0.1:$HTTP T=http://127.0.0.1:$TORNADO_PORT
	export P=http://127.0.0.1:$PEER_PORT W=http://127.0.0.1:$SERVE_PORT
}

teardown_file() {
	stop_started
}

fetch() {
	run --separate-stderr whirl-fetch "$@"
}

# A key of its own for each use of the flaky route.
key() {
	echo "t$BATS_TEST_NUMBER-$1"
}

# flaky KEY [FAILS [STATUS [RETRY_AFTER]]]: the flaky route's URL.
flaky() {
	echo "$W/flaky/$1/${2-2}/${3-503}/${4-}"
}

@test "--retry: a flaky route that fails twice, then succeeds" {
	local k=$(key a)
	fetch --retry 3 --retry-delay 0.1 -w '%{http_code} %{exitcode}\n' \
	    "$(flaky "$k")"
	assert_success
	# The failures' bodies are not written, -w only for the last try.
	assert_output "success after 2 failures
200 0"
	assert_equal "$stderr" "\
whirl-fetch: Problem: HTTP error. Will retry in 0.1 seconds. 3 retries left.
whirl-fetch: Problem: HTTP error. Will retry in 0.1 seconds. 2 retries left."
	assert_equal "$(cat "$STATE/$k")" 3
	# Too few retries: the last answer is the result (not an error
	# without -f), its body written.
	k=$(key b)
	fetch -s --retry 1 --retry-delay 0.1 -w '%{http_code}' \
	    "$(flaky "$k" 2 500)"
	assert_success
	assert_output "failure 2
500"
	assert_equal "$stderr" ""
	# With -f every failed try says so, and the status is 22.
	k=$(key c)
	fetch -f --retry 1 --retry-delay 0.1 "$(flaky "$k")"
	assert_failure 22
	assert_equal "$stderr" "\
whirl-fetch: (22) The requested URL returned error: 503
whirl-fetch: Problem: HTTP error. Will retry in 0.1 seconds. 1 retry left.
whirl-fetch: (22) The requested URL returned error: 503"
	# Only 408, 429, 500, 502, 503 and 504 are retried.
	k=$(key d)
	fetch --retry 3 --retry-delay 0.1 "$(flaky "$k" 2 404)"
	assert_success
	assert_output "failure 1"
	assert_equal "$stderr" ""
}

@test "--retry: curl's backoff, and Retry-After instead of it" {
	local k=$(key a)
	fetch --retry 2 "$(flaky "$k" 2 502)"
	assert_output "success after 2 failures"
	assert_equal "$stderr" "\
whirl-fetch: Problem: HTTP error. Will retry in 1 second. 2 retries left.
whirl-fetch: Problem: HTTP error. Will retry in 2 seconds. 1 retry left."
	k=$(key b)
	fetch --retry 2 --retry-delay 0.1 "$(flaky "$k" 1 429 1)"
	assert_output "success after 1 failures"
	assert_equal "$stderr" \
	    "whirl-fetch: Problem: HTTP error. Will retry in 1 second. 2 retries left."
	# A Retry-After past --retry-max-time: no retry at all.
	k=$(key c)
	fetch --retry 3 --retry-max-time 5 "$(flaky "$k" 2 503 60)"
	assert_success
	assert_output "failure 1"
	assert_equal "$stderr" "whirl-fetch: The Retry-After: time would make this command line exceed the maximum allowed time for retries."
}

@test "--retry: -o gets the last answer only; no temporary file stays" {
	cd "$BATS_TEST_TMPDIR"
	mkdir out && cd out
	fetch -s --retry 2 --retry-delay 0.1 -o got "$(flaky "$(key a)")"
	assert_success
	assert_equal "$(cat got)" "success after 2 failures"
	assert_equal "$(ls -A)" "got"
}

@test "--retry: refused connections with --retry-connrefused or --retry-all-errors, timeouts always" {
	local refused=http://127.0.0.1:$(free_port)/
	fetch --retry 2 --retry-delay 0.1 "$refused"
	assert_failure 7
	assert_equal "${#stderr_lines[@]}" 1
	fetch --retry 2 --retry-delay 0.1 --retry-connrefused "$refused"
	assert_failure 7
	assert_equal "${#stderr_lines[@]}" 5
	assert_equal "${stderr_lines[1]}" "whirl-fetch: Problem: connection refused. Will retry in 0.1 seconds. 2 retries left."
	assert_regex "${stderr_lines[4]}" '^whirl-fetch: \(7\) Failed to connect'
	fetch --retry 1 --retry-delay 0.1 --retry-all-errors "$P/close"
	assert_failure 52
	assert_equal "$stderr" "whirl-fetch: (52) Empty reply from server
whirl-fetch: Problem: retrying all errors. Will retry in 0.1 seconds. 1 retry left.
whirl-fetch: (52) Empty reply from server"
	fetch -s --retry 1 --retry-delay 0.1 -m 0.2 "$P/delay?secs=2"
	assert_failure 28
	fetch --retry 1 --retry-delay 0.1 -m 0.2 "$P/delay?secs=2"
	assert_equal "${stderr_lines[1]}" "whirl-fetch: Problem: timeout. Will retry in 0.1 seconds. 1 retry left."
	# -s keeps the warnings quiet too.
	fetch -sS --retry 1 --retry-delay 0.1 --retry-connrefused "$refused"
	assert_equal "${#stderr_lines[@]}" 2
}

@test "-C -: resume a partly written file, as curl does" {
	cd "$BATS_TEST_TMPDIR"
	local tool
	for tool in curl whirl-fetch; do
		mkdir "$tool" && cd "$tool"
		head -c 30000 "$WWW/rand.bin" >part
		cp "$WWW/rand.bin" whole
		head -c 200000 /dev/zero >longer
		{
			$tool -s -C - -o part -w '%{http_code} %{size_download} %{exitcode}\n' "$H/rand.bin"
			$tool -s -C - -o whole -w '%{http_code} %{exitcode}\n' "$H/rand.bin"
			$tool -s -C - -o longer -w '%{http_code} %{exitcode}\n' "$H/rand.bin"
			$tool -s -C - -o new -w '%{http_code} %{size_download}\n' "$H/rand.bin"
			$tool -s -C 99990 -w '\n%{http_code} %{size_download}\n' "$H/rand.bin" | tail -1
			$tool -s -C 5 -o fresh -w '%{http_code} %{size_download}\n' "$H/rand.bin"
			head -c 10 "$WWW/rand.bin" >noranges
			$tool -s -C - -o noranges -w '%{http_code} %{exitcode}\n' "$P/bytes?n=100" || :
			$tool -s -C - -w '%{http_code}\n' -o /dev/null "$H/rand.bin"
		} >log
		cmp part "$WWW/rand.bin"
		cmp whole "$WWW/rand.bin"
		cmp new "$WWW/rand.bin"
		[ "$(wc -c <longer)" = 200000 ]
		[ "$(wc -c <noranges)" = 10 ]
		[ "$(wc -c <fresh)" = 99995 ]
		cd ..
	done
	assert_equal "$(cat whirl-fetch/log)" "206 70000 0
416 0
416 0
200 100000
206 10
206 99995
200 33
200"
	cmp curl/log whirl-fetch/log
	cmp curl/fresh whirl-fetch/fresh
	fetch -C - -o whirl-fetch/noranges "$P/bytes?n=100"
	assert_failure 33
	assert_equal "$stderr" "whirl-fetch: (33) HTTP server doesn't seem to support byte ranges. Cannot resume."
	fetch -C x "$H/rand.bin"
	assert_failure 2
}

@test "-r: byte ranges, as curl asks for them" {
	local r
	for r in 0-9 -5 99990- 0-0 99999-200000; do
		run whirl-fetch -s -r "$r" -w '|%{http_code} %{size_download}' \
		    "$H/rand.bin"
		[ "$output" = "$(curl -s -r "$r" \
		    -w '|%{http_code} %{size_download}' "$H/rand.bin")" ] ||
		    { echo "differs: -r $r"; false; }
	done
	fetch -r 10-19 "$P/echo"
	assert_line "Range: bytes=10-19"
	fetch -r 'bytes=1-2' "$H/rand.bin"
	assert_failure 2
}

@test "-F: a multipart form, as Tornado reads it" {
	cd "$FILES"
	fetch -F 'name=va;lue' -F 'f=@a.txt' \
	    -F 'g=@b.bin;type=app/x;filename=q"w.bin' -F 'h=<a.txt' \
	    -F 'n"q=1' -F 'quoted="x;y"' --form-string 'lit=@notafile' \
	    "$T/form"
	assert_success
	assert_output "$(printf '%s\n' 'field h=hello' '' \
	    'field lit=@notafile' 'field n%22q=1' 'field name=va' \
	    'field quoted=x;y' 'file f a.txt text/plain 6' \
	    'file g q%22w.bin app/x 3' 'hello' && printf 'x\1y')"
	run bash -c 'printf "from stdin" | whirl-fetch -s -F "s=@-" \
	    -F "t=<$0" "$1"' "$FILES/a.txt" "$T/form"
	assert_output "field t=hello

file s - application/octet-stream 10
from stdin"
	# A file read as it is sent: a big one goes whole.
	fetch -F "big=@$WWW/rand.bin;type=application/octet-stream" \
	    -w '%{size_upload}' "$P/echo"
	assert_line --index -2 --regexp $'^--------------------------[0-9a-f]{16}--\r$'
	assert_line --index -1 --regexp '^100[0-9]{3}$'
}

@test "-F: the same bytes as curl's, the boundary aside" {
	cd "$FILES"
	local args=(-s -A t -F 'name=value' -F 'f=@a.txt' -F 'g=@c.bin'
	    -F 'h=<a.txt;type=text/x' -F 'e=')
	diff <(curl "${args[@]}" "$P/echo?sort=1" |
	    sed -E 's/-{24}[0-9a-f]{16}/BOUNDARY/g') \
	    <(whirl-fetch "${args[@]}" "$P/echo?sort=1" |
	    sed -E 's/-{24}[0-9a-f]{16}/BOUNDARY/g')
	# Read back by a cgi: route: its CONTENT_TYPE, CONTENT_LENGTH and
	# the body on its stdin.
	whirl-fetch "${args[@]}" "$W/body" >"$BATS_TEST_TMPDIR/body"
	local b
	b=$(head -1 "$BATS_TEST_TMPDIR/body" | sed -E \
	    's/^multipart\/form-data; boundary=(-{24}[0-9a-f]{16}) .*/\1/')
	[ "${#b}" = 40 ]
	{
		printf '%s\r\n' \
		    "--$b" 'Content-Disposition: form-data; name="name"' '' \
		    'value' "--$b" \
		    'Content-Disposition: form-data; name="f"; filename="a.txt"' \
		    'Content-Type: text/plain' '' $'hello\n' "--$b" \
		    'Content-Disposition: form-data; name="g"; filename="c.bin"' \
		    'Content-Type: application/octet-stream' ''
		printf 'nul\0byte\r\n'
		printf '%s\r\n' \
		    "--$b" 'Content-Disposition: form-data; name="h"' \
		    'Content-Type: text/x' '' $'hello\n' \
		    "--$b" 'Content-Disposition: form-data; name="e"' '' '' "--$b--"
	} >"$BATS_TEST_TMPDIR/want"
	cmp "$BATS_TEST_TMPDIR/body" <(printf '%s\n' "multipart/form-data; \
boundary=$b $(wc -c <"$BATS_TEST_TMPDIR/want")"; cat "$BATS_TEST_TMPDIR/want")
	fetch -F 'f=@/nonexistent' "$T/form"
	assert_failure 26
	assert_equal "$stderr" "whirl-fetch: (26) Failed to open/read local data from file /nonexistent: No such file or directory"
	fetch -F a=b -d c=d "$T/form"
	assert_failure 2
	fetch -F novalue "$T/form"
	assert_failure 2
}

@test "-T: PUT a file, stdin chunked, a trailing / takes the file's name" {
	cd "$FILES"
	fetch -T a.txt -w '%{size_upload} %{method}' "$T/put/"
	assert_success
	assert_output "PUT /put/a.txt
Content-Length: 6
hello
6 PUT"
	run bash -c 'printf "from stdin" | whirl-fetch -s -T - "$0"' "$T/put/x"
	assert_output "PUT /put/x
Transfer-Encoding: chunked
from stdin"
	fetch -X POST -T b.bin "$T/put/y"
	assert_output "$(printf 'POST /put/y\nContent-Length: 3\nx\1y')"
	# The same request as curl's, less curl's Expect: 100-continue.
	diff <(curl -s -A t -T a.txt "$P/echo?sort=1" | grep -v '^Expect:') \
	    <(whirl-fetch -s -A t -T a.txt "$P/echo?sort=1")
	fetch -T /nonexistent "$T/put/z"
	assert_failure 26
	fetch -T a.txt -d x "$T/put/z"
	assert_failure 2
}
