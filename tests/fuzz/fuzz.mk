# fuzz.mk - the libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang
# under ASan and UBSan in build/fuzz, with the analyzer library built there
# too, with coverage.
#
#   make fuzz FUZZ_SECONDS=600     each target for that long (default 60),
#                                  from tests/fuzz/corpus/TARGET, growing
#                                  a working corpus in build/fuzz/corpus;
#                                  a crash, a hang (FUZZ_TIMEOUT seconds on
#                                  one input) or an allocation past
#                                  FUZZ_MALLOC_MB stops it and is saved in
#                                  build/fuzz/findings
#   make fuzz-check                (make check) every seed and regression
#                                  input once, then each target briefly
#
# Every finding becomes a regression input: tests/fuzz/regress/TARGET/NAME,
# run by fuzz-check ever after.

FUZZ_TARGETS := reader info leaks stats diff retain check report
# make check (FUZZ_CHECK=1) builds them in a directory of its own at -O0:
# a third of -O1's compile time, for inputs run once and a second of
# fuzzing; make fuzz's long runs want the faster code.
FUZZ_B := $(B)/$(if $(FUZZ_CHECK),fuzz-check,fuzz)
FUZZ_OPT := $(if $(FUZZ_CHECK),-O0,-O1)
FUZZ_CC := clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS := $(FUZZ_OPT) -g -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 10
FUZZ_MALLOC_MB ?= 512
FUZZ_BIN := $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)
FUZZ_COMMON := tests/fuzz/fuzz_common.c tests/fuzz/fuzz.h

.PHONY: fuzz fuzz-build fuzz-check

$(FUZZ_B)/lib/libheapsnap-analyze.a: FORCE_FUZZ_LIB
	@$(MAKE) -s B=$(FUZZ_B) CC=$(FUZZ_CC) CFLAGS="$(FUZZ_CFLAGS)" $@

.PHONY: FORCE_FUZZ_LIB
FORCE_FUZZ_LIB:

# What every target links: compiled once, not once per target.
$(FUZZ_B)/fuzz_common.o: $(FUZZ_COMMON)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(BASE_CFLAGS) -Itests/fuzz $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_B)/fuzz_common.o $(FUZZ_B)/lib/libheapsnap-analyze.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(BASE_CFLAGS) -Itests/fuzz $(FUZZ_OPT) -g -fno-omit-frame-pointer $(FUZZ_SAN) -fsanitize=fuzzer \
		-o $@ $< $(FUZZ_B)/fuzz_common.o $(FUZZ_B)/lib/libheapsnap-analyze.a $(LIB_LDLIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@bash tests/fuzz/run.sh $(FUZZ_B) $(FUZZ_SECONDS) $(FUZZ_TIMEOUT) $(FUZZ_MALLOC_MB) $(FUZZ_TARGETS)

fuzz-check: fuzz-build
	@bash tests/fuzz/run.sh $(FUZZ_B) check $(FUZZ_TIMEOUT) $(FUZZ_MALLOC_MB) $(FUZZ_TARGETS)
