#!/usr/bin/env bats
# fetch-parallel.bats - whirl-fetch's URL globs and parallel transfers:
# the URL lists curl makes of the same patterns, #N output names, -Z
# against nginx (every body right, the concurrency seen in nginx's log as
# the number of connections used) and tests/peers/fetch-tornado.py (the
# requests it saw waiting at once), exit statuses with -Z, --fail-early,
# and ws:// URLs.

load helpers
bats_require_minimum_version 1.5.0

setup_file() {
	local d=$BATS_FILE_TMPDIR i
	export WWW=$d/www NGX=$d/nginx
	mkdir -p "$WWW" "$NGX/tmp"
	for i in $(seq 1 100); do
		printf 'file %d\n' "$i" >"$WWW/f$i.txt"
	done
	printf 'Hello from nginx\n' >"$WWW/hello.txt"
	start_server tornado /usr/bin/python3 \
	    "$WHIRL_ROOT/tests/peers/fetch-tornado.py"
	export HTTP=$(free_port)
	cat >"$NGX/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log;
events { worker_connections 512; }
http {
	log_format conn '\$connection \$uri';
	access_log $NGX/access.log conn;
	client_body_temp_path $NGX/tmp/body;
	proxy_temp_path $NGX/tmp/proxy;
	fastcgi_temp_path $NGX/tmp/fastcgi;
	uwsgi_temp_path $NGX/tmp/uwsgi;
	scgi_temp_path $NGX/tmp/scgi;
	keepalive_requests 100000;
	types { text/plain txt; }
	root $WWW;
	server { listen 127.0.0.1:$HTTP; }
}
EOF
	start_bg nginx "$(command -v nginx || echo /usr/sbin/nginx)" \
	    -e "$NGX/error.log" -c "$NGX/nginx.conf" -p "$NGX"
	wait_for_port "$HTTP" || { cat "$NGX/error.log" >&2; return 1; }
	export H=http://127.0.0.1:$HTTP T=http://127.0.0.1:$TORNADO_PORT
}

teardown_file() {
	stop_started
}

fetch() {
	run --separate-stderr whirl-fetch "$@"
}

# The connections nginx served since the log was last emptied.
connections() {
	awk '{ print $1 }' "$NGX/access.log" | sort -u | wc -l
}

@test "-Z: 100 URLs of a glob from nginx, each body in its own #1 file" {
	mkdir "$BATS_TEST_TMPDIR/out" && cd "$BATS_TEST_TMPDIR/out"
	: >"$NGX/access.log"
	fetch -Z -o 'out_#1.txt' "$H/f[1-100].txt"
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
	for i in $(seq 1 100); do
		cmp "out_$i.txt" "$WWW/f$i.txt"
	done
	assert_equal "$(ls | wc -l)" 100
	assert_equal "$(wc -l <"$NGX/access.log")" 100
	# 50 at once (the default --parallel-max), each on its own
	# keep-alive connection, which then serves the next ones.
	assert_equal "$(connections)" 50
	: >"$NGX/access.log"
	fetch -Z --parallel-max 7 -o /dev/null "$H/f[1-100].txt"
	assert_success
	assert_equal "$(connections)" 7
	# One after another, one connection does it all.
	: >"$NGX/access.log"
	fetch -o /dev/null "$H/f[1-100].txt"
	assert_equal "$(connections)" 1
}

@test "-Z: the server sees --parallel-max requests waiting at once" {
	fetch -Z --parallel-max 4 "$T/concurrent?ms=500&n=[1-12]"
	assert_success
	assert_equal "${#lines[@]}" 12
	fetch "$T/concurrent/max"
	assert_output 4
	fetch "$T/concurrent?ms=50&n=[1-3]"
	fetch "$T/concurrent/max"
	assert_output 1
}

@test "globs: the same URLs as curl's, in the same order" {
	local pats=(
		"$H/f{1,2,3}.txt"
		"$H/{a,b}/[1-2]"
		"$H/[001-003]"
		"$H/[0009-11]"
		"$H/[01-1]"
		"$H/[a-c]x[1-10:4]"
		"$H/[A-E:2]"
		"$H/{one,,three}"
		"$H/[1-2]{x,y}[a-b]"
		"$H/\\{a\\}\\[1\\]"
		"$H/{a\\,b,c}"
		"$H/[]"
		"$H/[9-11]?q={x,y}"
		"http://[::1]:1/{a,b}"
	)
	local p
	for p in "${pats[@]}"; do
		run whirl-fetch -s -o /dev/null -w '%{url_effective}\n' "$p"
		[ "$output" = "$(curl -s -o /dev/null \
		    -w '%{url_effective}\n' "$p")" ] ||
		    { echo "differs: $p: $output"; false; }
	done
	# Several URLs, -g, and -Z (whose order is the finishing order).
	run whirl-fetch -s -o /dev/null -w '%{url_effective} %{urlnum}\n' \
	    "$H/[1-2]" -g "$H/[3-4]" "$H/{x,y}"
	assert_output "$(curl -s -o /dev/null \
	    -w '%{url_effective} %{urlnum}\n' "$H/[1-2]" -g "$H/[3-4]" \
	    "$H/{x,y}")"
	run whirl-fetch -s -Z -w '%{url_effective} %{urlnum}\n' \
	    -o /dev/null "$H/f[1-30].txt" -o /dev/null "$H/{x,y}"
	[ "$(sort <<<"$output")" = "$(curl -s -Z \
	    -w '%{url_effective} %{urlnum}\n' -o /dev/null "$H/f[1-30].txt" \
	    -o /dev/null "$H/{x,y}" | sort)" ]
	assert_equal "${#lines[@]}" 32
}

@test "globs: a malformed one is exit 3 before anything is fetched" {
	: >"$NGX/access.log"
	fetch "$H/hello.txt" "$H/[5-1]"
	assert_failure 3
	assert_output ""
	# The caret under the ']' where the range went wrong.
	assert_equal "${stderr_lines[0]}" \
	    "whirl-fetch: (3) bad range in URL position $((${#H} + 6)):"
	assert_equal "${stderr_lines[1]}" "$H/[5-1]"
	assert_equal "${stderr_lines[2]}" "$(printf '%*s^' $((${#H} + 5)) '')"
	[ ! -s "$NGX/access.log" ]
	local bad
	for bad in '[1-3:0]' '{a,b' '{a,{b}}' 'x]' '{}' '[1-]' '[a-9]'; do
		fetch -s "$H/$bad"
		assert_failure 3
		assert_equal "$stderr" ""
		run curl -s "$H/$bad"
		assert_failure 3
	done
	fetch "$H/{a,{b}}"
	assert_equal "${stderr_lines[0]}" \
	    "whirl-fetch: (3) nested brace in URL position $((${#H} + 5)):"
	# -g: no globs at all.
	fetch -g -w ' %{url_effective}' "$H/[5-1]"
	assert_success
	assert_output --regexp "404 Not Found.* $H/\[5-1\]\$"
}

@test "-o #N names and -O for every URL of a glob, as curl names them" {
	cd "$BATS_TEST_TMPDIR"
	mkdir w c
	(cd w && whirl-fetch -s -w '%{filename_effective}\n' \
	    -o 'x_#2_#1_#3.txt' "$H/f{1,2}[0-1].txt" -O "$H/f[7-8].txt" \
	    >../w.names)
	(cd c && curl -s -w '%{filename_effective}\n' \
	    -o 'x_#2_#1_#3.txt' "$H/f{1,2}[0-1].txt" -O "$H/f[7-8].txt" \
	    >../c.names)
	cmp w.names c.names
	assert_equal "$(cat w.names)" "x_0_1_#3.txt
x_1_1_#3.txt
x_0_2_#3.txt
x_1_2_#3.txt
f7.txt
f8.txt"
	diff -r w c
	assert_equal "$(cat w/x_1_2_#3.txt)" "file 21"
	# --remote-name-all: -O for the URLs without an -o.
	mkdir all && cd all
	fetch --remote-name-all -o first "$H/f1.txt" "$H/f{2,3}.txt"
	assert_success
	assert_equal "$(ls | tr '\n' ' ')" "f2.txt f3.txt first "
}

@test "-Z: -w at the end of each transfer, as curl -Z prints it" {
	local args=(-w '%{http_code} %{size_download} %{url_effective}\n'
	    -o /dev/null "$H/f[1-20].txt" -o /dev/null "$H/missing"
	    -o /dev/null "$T/concurrent?ms=500")
	fetch -Z -s "${args[@]}"
	assert_success
	assert_equal "${#lines[@]}" 22
	[ "$(sort <<<"$output")" = "$(curl -Z -s "${args[@]}" | sort)" ]
	# The slow one ends last.
	assert_equal "${lines[21]}" "200 3 $T/concurrent?ms=500"
}

@test "exit status: the last transfer decides; with -Z the last to fail" {
	local refused=http://127.0.0.1:$(free_port)/
	fetch -s "$refused" "$H/hello.txt"
	assert_success
	fetch -s "$H/hello.txt" "$refused"
	assert_failure 7
	fetch -s -Z "$refused" "$H/hello.txt"
	assert_failure 7
	fetch -s -Z "$T/concurrent?ms=200" "$refused" "$H/hello.txt"
	assert_failure 7
	# Both fail: the one that ends last decides, as with curl.
	fetch -s -Z -f "$T/concurrent?ms=200&status=503" "$refused"
	assert_failure 22
	fetch -s -Z -f "$refused" "$T/concurrent?ms=200&status=503"
	assert_failure 22
	run curl -s -Z -f "$refused" "$T/concurrent?ms=200&status=503"
	assert_failure 22
	fetch -s -Z -f "$T/concurrent?ms=200&status=200" "$refused"
	assert_failure 7
}

@test "--fail-early with -Z stops the rest and removes their partial files" {
	mkdir "$BATS_TEST_TMPDIR/out" && cd "$BATS_TEST_TMPDIR/out"
	# The 500 comes while the slow body is being written; the third
	# transfer has not begun.
	fetch -Z --parallel-max 2 --fail-early -f \
	    -o slow "$T/drip?n=100000&ms=100" \
	    -o bad "$T/concurrent?ms=300&status=500" -o later "$H/hello.txt"
	assert_failure 22
	assert_equal "$stderr" \
	    "whirl-fetch: (22) The requested URL returned error: 500"
	[ -z "$(ls -A)" ]
	# Without it, the others go on.
	fetch -Z -f -o slow "$T/drip?n=1000&ms=10" \
	    -o bad "$T/concurrent?ms=10&status=500"
	assert_failure 22
	assert_equal "$(ls -A)" "slow"
	assert_equal "$(wc -c <slow)" 1000
}

@test "-Z: a signal removes every partial file" {
	mkdir "$BATS_TEST_TMPDIR/out" && cd "$BATS_TEST_TMPDIR/out"
	start_bg killed whirl-fetch -Z -o "$PWD/d#1" \
	    "$T/drip?n=100000&ms=100&x=[1-3]"
	for _ in $(seq 250); do
		[ "$(compgen -G 'd?.whirl-*' | wc -l)" = 3 ] && break
		sleep 0.02
	done
	assert_equal "$(compgen -G 'd?.whirl-*' | wc -l)" 3
	kill -TERM "$BG_PID"
	wait_pid "$BG_PID" >/dev/null || true
	assert_equal "$WAIT_STATUS" 143
	[ -z "$(ls -A)" ]
}

@test "ws:// and wss:// URLs point to whirl-ws, exit 1" {
	fetch ws://127.0.0.1:1/echo
	assert_failure 1
	assert_output ""
	assert_equal "$stderr" \
	    "whirl-fetch: (1) WebSocket URL: use whirl-ws ws://127.0.0.1:1/echo"
	fetch -s WSS://h/x
	assert_failure 1
	assert_equal "$stderr" ""
	# The other URLs are fetched all the same.
	fetch "wss://h/{a,b}" "$H/hello.txt"
	assert_success
	assert_output "Hello from nginx"
	assert_equal "${#stderr_lines[@]}" 2
	assert_equal "${stderr_lines[1]}" \
	    "whirl-fetch: (1) WebSocket URL: use whirl-ws wss://h/b"
}
