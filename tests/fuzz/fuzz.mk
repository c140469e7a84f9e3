# tests/fuzz/fuzz.mk - libFuzzer targets (included by the Makefile).
#
#   make fuzz                  build every target, run each FUZZ_SECONDS
#   make fuzz FUZZ_SECONDS=300 FUZZ_TARGETS="fuzz_server fuzz_ws"
#   make fuzz-build            only build them (build-fuzz/fuzz_*)
#   make fuzz-replay           run every corpus file once through each
#                              target (no fuzzing: a regression check)
#   make fuzz-clean            remove build-fuzz/ (make clean does too)
#
# The library is compiled again with clang, libFuzzer's coverage and
# ASan+UBSan into its own tree (build-fuzz/), never mixed with build/.
# Each run copies tests/fuzz/corpus/<target> to build-fuzz/work/<target>
# and fuzzes there, so the repository's seeds stay few; a crash is written
# as build-fuzz/crash-<target>-<sha1> (libFuzzer's artifact) and the run
# fails.

FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_NICE    ?= nice -n 19
FUZZ_ARGS    ?=
FUZZ_SAN      = -fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer
FUZZ_CFLAGS   = $(STD) -O1 -g $(FUZZ_SAN) -Ilib -I$(LLHTTP_INC) \
		-DWHIRL_VERSION='"$(VERSION)"' $(PKG_CFLAGS) -MMD -MP
# clang warns about other things than gcc: the library's objects show
# them but do not fail on them here (the default build is the judge).
FUZZ_WARN     = -Wall -Wextra -Wno-missing-field-initializers

FUZZ_SRCS     = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES    = $(FUZZ_SRCS:tests/fuzz/%.c=%)
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_BINS     = $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%)
FUZZ_LIB_OBJS = $(LIB_SRCS:lib/%.c=$(FUZZ_BUILD)/lib/%.o) \
		$(LLHTTP_SRCS:%.c=$(FUZZ_BUILD)/llhttp/%.o)

.PHONY: fuzz fuzz-build fuzz-replay fuzz-clean

fuzz-build: $(FUZZ_BINS)

$(FUZZ_BUILD)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_WARN) \
	    -c -o $@ $<

$(FUZZ_BUILD)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -w -c -o $@ $<

$(FUZZ_BUILD)/libwhirl-fuzz.a: $(FUZZ_LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%.o: tests/fuzz/fuzz_%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_WARN) \
	    -Werror -Itests/fuzz -c -o $@ $<

$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/fuzz_%.o $(FUZZ_BUILD)/libwhirl-fuzz.a
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lpthread

# One target after another (2 cores are shared): copy its seeds to a
# scratch corpus, fuzz for FUZZ_SECONDS, print libFuzzer's final figures.
fuzz: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    w=$(FUZZ_BUILD)/work/$$t; rm -rf $$w; mkdir -p $$w; \
	    cp tests/fuzz/corpus/$$t/* $$w/ 2>/dev/null || true; \
	    d=; [ ! -f tests/fuzz/$$t.dict ] || d=-dict=tests/fuzz/$$t.dict; \
	    echo "=== $$t: $(FUZZ_SECONDS) s"; \
	    $(FUZZ_NICE) $(FUZZ_BUILD)/$$t $$w $$d \
	        -max_total_time=$(FUZZ_SECONDS) -timeout=20 \
	        -rss_limit_mb=2048 -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- $(FUZZ_ARGS) \
	        2>$(FUZZ_BUILD)/$$t.log || { tail -n 60 $(FUZZ_BUILD)/$$t.log; \
	        echo "=== $$t: FAILED (log: $(FUZZ_BUILD)/$$t.log)"; exit 1; }; \
	    awk -v t=$$t '/^#[0-9]+[ \t]+DONE/ { cov = $$4; ft = $$6 } \
	        /^Done [0-9]+ runs in/ { runs = $$2; secs = $$5 } \
	        END { printf "=== %s: %s runs in %s s, cov %s, ft %s\n", \
	        t, runs, secs, cov, ft }' $(FUZZ_BUILD)/$$t.log; \
	done

# Every seed and regression input once through its target.
fuzz-replay: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    $(FUZZ_BUILD)/$$t -runs=0 tests/fuzz/corpus/$$t \
	        >$(FUZZ_BUILD)/$$t-replay.log 2>&1 || { \
	        tail -n 40 $(FUZZ_BUILD)/$$t-replay.log; \
	        echo "=== $$t: replay FAILED"; exit 1; }; \
	    echo "=== $$t: $$(ls tests/fuzz/corpus/$$t | wc -l) inputs ok"; \
	done

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

clean: fuzz-clean

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%.d)
