# whirl - a small non-blocking networking library and four tools on it.
#
#   make            build build/libwhirl.a, build/libwhirl.so.0 and the tools
#   make run        the main job (see README)
#   make test       unit tests, bats suites, man-page lint (tests/run)
#   make sanitize   the same code and the protocol suites under ASan+UBSan
#   make test-heavy 10,000 connections, 16 MiB messages, 1 GiB downloads
#   make valgrind   the suites with every tool under valgrind (heavy, not CI)
#   make install    PREFIX=/usr/local DESTDIR= (tools, library, headers, man)
#
# The first `make test` or `make run` on a new machine installs the Debian
# packages it needs (scripts/install-deps, once: build/.deps-stamp).

VERSION   = 0.1.0
SOVERSION = 0

PREFIX  ?= /usr/local
SOCKET_LINK ?= no
BINDIR   = $(PREFIX)/bin
LIBDIR   = $(PREFIX)/lib
INCDIR   = $(PREFIX)/include
MANDIR   = $(PREFIX)/share/man
PCDIR    = $(LIBDIR)/pkgconfig
COMPDIR  = $(PREFIX)/share/bash-completion/completions

BUILD   ?= build
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes \
	   -Wshadow -Wpointer-arith -Wno-missing-field-initializers
STD      = -std=c11 -D_GNU_SOURCE
PKGS     = libevent libevent_openssl openssl libpcre2-8 zlib
# Lazy (=): pkg-config only runs once the packages are there.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
RL_LIBS    = $(shell pkg-config --libs readline 2>/dev/null || echo -lreadline)

# llhttp is compiled from the installed node-llhttp package, never copied.
LLHTTP_DIR ?= /usr/share/llhttp
LLHTTP_INC ?= /usr/share/include/llhttp

ALL_CFLAGS = $(STD) $(CFLAGS) $(SAN) -fPIC -Ilib -I$(LLHTTP_INC) \
	     -DWHIRL_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -MMD -MP
LDLIBS     = $(SAN) $(PKG_LIBS) -lpthread

LIB_SRCS   = $(wildcard lib/*.c)
LIB_OBJS   = $(LIB_SRCS:lib/%.c=$(BUILD)/lib/%.o)
LLHTTP_SRCS = api.c http.c llhttp.c
LLHTTP_OBJS = $(LLHTTP_SRCS:%.c=$(BUILD)/llhttp/%.o)
TOOLS      = $(patsubst cmd/%.c,$(BUILD)/%,$(wildcard cmd/*.c))
UNIT_SRCS  = $(wildcard tests/unit/test_*.c)
UNITS      = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HEADERS    = $(filter-out lib/internal.h,$(wildcard lib/*.h))
MANPAGES   = $(wildcard man/*.1 man/*.3)

STAMP      = build/.deps-stamp

.SECONDARY:

.PHONY: all lib tools units test sanitize test-heavy valgrind run install uninstall \
	clean deps format

all: lib tools units

lib: $(BUILD)/libwhirl.a $(BUILD)/libwhirl.so.$(SOVERSION)
tools: $(TOOLS)
units: $(UNITS)

$(BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(WARN) -c -o $@ $<

# llhttp's generated C is not warning-clean: its own flags, no -Werror.
$(BUILD)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -w -c -o $@ $<

$(BUILD)/libwhirl.a: $(LIB_OBJS) $(LLHTTP_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/libwhirl.so.$(SOVERSION): $(LIB_OBJS) $(LLHTTP_OBJS)
	$(CC) -shared -Wl,-soname,libwhirl.so.$(SOVERSION) -o $@ $^ $(LDLIBS)
	ln -sf libwhirl.so.$(SOVERSION) $(BUILD)/libwhirl.so

$(BUILD)/cmd/%.o: cmd/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(WARN) -c -o $@ $<

$(BUILD)/whirl-ws: $(BUILD)/cmd/whirl-ws.o $(BUILD)/libwhirl.a
	$(CC) -o $@ $^ $(LDLIBS) $(RL_LIBS)

$(BUILD)/%: $(BUILD)/cmd/%.o $(BUILD)/libwhirl.a
	$(CC) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(WARN) -Itests/unit -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libwhirl.a
	$(CC) -o $@ $^ $(LDLIBS)

# Installs the missing Debian packages once per build tree.  Under -j2 the
# stamp is one target, so make runs it once.
$(STAMP): scripts/install-deps
	@mkdir -p $(@D)
	scripts/install-deps
	@touch $@

deps: $(STAMP)

# Recursive makes, so that pkg-config is asked after the packages are in.
test: $(STAMP)
	$(MAKE) all
	tests/run $(BUILD)

sanitize: $(STAMP)
	$(MAKE) BUILD=build-san CFLAGS='-O1 -g' \
	    SAN='-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer' all
	tests/run --sanitize build-san

test-heavy: $(STAMP)
	$(MAKE) all
	tests/run --heavy $(BUILD)

# Heavy tier, not CI: every suite but library.bats with every unit binary
# and tool under valgrind; a log with an error fails (tests/valgrind).
valgrind: $(STAMP)
	$(MAKE) all
	tests/run --valgrind $(BUILD)

run: $(STAMP)
	$(MAKE) all
	scripts/run

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PCDIR) \
	    $(DESTDIR)$(INCDIR)/whirl $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 0755 $(TOOLS) $(DESTDIR)$(BINDIR)
	install -m 0644 $(BUILD)/libwhirl.a $(DESTDIR)$(LIBDIR)
	install -m 0755 $(BUILD)/libwhirl.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)
	ln -sf libwhirl.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libwhirl.so
	install -m 0644 $(HEADERS) $(DESTDIR)$(INCDIR)/whirl
	for m in $(MANPAGES); do \
	    s=$${m##*.}; install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$$s; done
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@PKGS@|$(PKGS)|' whirl.pc.in > $(DESTDIR)$(PCDIR)/whirl.pc
	mkdir -p $(DESTDIR)$(COMPDIR)
	for c in scripts/bash-completion/*; do \
	    [ -f "$$c" ] && install -m 0644 $$c $(DESTDIR)$(COMPDIR); done; true
	# SOCKET_LINK=yes: also `socket` (command, completion, page),
	# unless one exists.
	if [ "$(SOCKET_LINK)" = yes ] && [ ! -e $(DESTDIR)$(BINDIR)/socket ] && \
	    [ ! -L $(DESTDIR)$(BINDIR)/socket ]; then \
	    ln -s whirl-socket $(DESTDIR)$(BINDIR)/socket; \
	    ln -sf whirl-socket $(DESTDIR)$(COMPDIR)/socket; \
	    [ -e $(DESTDIR)$(MANDIR)/man1/socket.1 ] || \
	    ln -s whirl-socket.1 $(DESTDIR)$(MANDIR)/man1/socket.1; fi

uninstall:
	for t in $(notdir $(TOOLS)); do rm -f $(DESTDIR)$(BINDIR)/$$t; done
	rm -f $(DESTDIR)$(LIBDIR)/libwhirl.a $(DESTDIR)$(LIBDIR)/libwhirl.so \
	    $(DESTDIR)$(LIBDIR)/libwhirl.so.$(SOVERSION) $(DESTDIR)$(PCDIR)/whirl.pc
	rm -rf $(DESTDIR)$(INCDIR)/whirl
	for c in scripts/bash-completion/*; do \
	    rm -f $(DESTDIR)$(COMPDIR)/$${c##*/}; done
	[ "$$(readlink $(DESTDIR)$(BINDIR)/socket 2>/dev/null)" != whirl-socket ] || \
	    rm -f $(DESTDIR)$(BINDIR)/socket $(DESTDIR)$(COMPDIR)/socket \
	    $(DESTDIR)$(MANDIR)/man1/socket.1
	for m in $(notdir $(MANPAGES)); do \
	    s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$$m; done

clean:
	rm -rf build build-san

format:
	clang-format -i lib/*.c lib/*.h cmd/*.c tests/unit/*.c tests/unit/*.h

-include $(LIB_OBJS:.o=.d) $(TOOLS:$(BUILD)/%=$(BUILD)/cmd/%.d) $(UNITS:=.d)

include tests/fuzz/fuzz.mk
