#!/usr/bin/env bats
# library.bats - libwhirl as its users get it: `make install` into a
# staging directory, then the hello-world program that opens whirl(3),
# compiled with pkg-config against the installed headers and run.

load helpers

setup_file() {
	export STAGE="$BATS_FILE_TMPDIR/stage"
	make -C "$WHIRL_ROOT" -s install DESTDIR="$STAGE" PREFIX=/usr/local \
	    BUILD="$WHIRL_BIN" >"$BATS_FILE_TMPDIR/install.log" 2>&1 3>&- 4>&- ||
	    { cat "$BATS_FILE_TMPDIR/install.log"; return 1; }
}

# The program between the hello-world markers of man/whirl.3, unescaped.
extract_hello() {
	sed -n '/hello-world begin/,/hello-world end/p' "$WHIRL_ROOT/man/whirl.3" |
	    sed -e '/^\.\\"/d' -e '/^\.Bd/d' -e '/^\.Ed/d' -e 's/\\e/\\/g'
}

@test "install: tools, libraries, headers, pkg-config file, man pages" {
	[ -x "$STAGE/usr/local/bin/whirl-socket" ]
	[ -x "$STAGE/usr/local/bin/whirl-serve" ]
	[ -f "$STAGE/usr/local/lib/libwhirl.a" ]
	[ -f "$STAGE/usr/local/lib/libwhirl.so.0" ]
	[ -L "$STAGE/usr/local/lib/libwhirl.so" ]
	[ -f "$STAGE/usr/local/include/whirl/whirl.h" ]
	[ ! -e "$STAGE/usr/local/include/whirl/internal.h" ]
	[ -f "$STAGE/usr/local/share/man/man3/whirl.3" ]
	[ -f "$STAGE/usr/local/share/man/man1/whirl-socket.1" ]
	run grep -x 'Cflags: -I${includedir}' "$STAGE/usr/local/lib/pkgconfig/whirl.pc"
	assert_success
}

@test "whirl(3)'s hello world compiles against the installed headers and answers" {
	local pc="$STAGE/usr/local/lib/pkgconfig" flags
	extract_hello >"$BATS_TEST_TMPDIR/hello.c"
	run grep -c 'whirl_response_send' "$BATS_TEST_TMPDIR/hello.c"
	assert_output 1
	flags=$(PKG_CONFIG_PATH="$pc" PKG_CONFIG_SYSROOT_DIR="$STAGE" \
	    pkg-config --cflags --libs whirl)
	run cc -std=c11 -Wall -Wextra -Werror -o "$BATS_TEST_TMPDIR/hello" \
	    "$BATS_TEST_TMPDIR/hello.c" $flags
	assert_success
	LD_LIBRARY_PATH="$STAGE/usr/local/lib" start_server hello \
	    "$BATS_TEST_TMPDIR/hello" 0
	run curl -s "http://127.0.0.1:$HELLO_PORT/"
	assert_success
	assert_output "Hello, world"
	stop_started
}

@test "uninstall removes what install put there" {
	local stage2="$BATS_TEST_TMPDIR/stage2"
	make -C "$WHIRL_ROOT" -s install DESTDIR="$stage2" PREFIX=/usr \
	    BUILD="$WHIRL_BIN" >/dev/null 2>&1 3>&- 4>&-
	make -C "$WHIRL_ROOT" -s uninstall DESTDIR="$stage2" PREFIX=/usr \
	    BUILD="$WHIRL_BIN" >/dev/null 2>&1 3>&- 4>&-
	run find "$stage2" -type f
	assert_output ""
}
