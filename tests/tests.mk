# Tests: check-based unit suites (tests/check_*.c, one runner), programs run
# under the shim (tests/progs/*.c, *.cc), the leak scenarios
# (tests/leaks/*.c, *.cc), the programs of the attach tests
# (tests/attach/*.c), and the shell suites that run them.

TEST_B := $(B)/tests
CHECK_SRC := $(wildcard tests/check_*.c) tests/tracebuild.c tests/trace_fixture.c
CHECK_OBJ := $(CHECK_SRC:%.c=$(B)/obj/%.o)
CHECK_BIN := $(TEST_B)/check_all
# Shim modules that unit tests link as plain objects (never preloaded).
CHECK_SHIM_OBJ := $(B)/obj/src/shim/options.o $(B)/obj/src/shim/log.o $(B)/obj/src/shim/heapmap.o $(B)/obj/src/shim/clock.o \
	$(B)/obj/src/trace/writer.o $(B)/obj/src/shim/nestpool.o $(B)/obj/src/shim/arena_map.o \
	$(B)/obj/src/shim/dynsym.o $(B)/obj/src/shim/ringfile.o $(B)/obj/src/shim/recent.o

# In a plain build they are the shim's own objects (the shim is built with
# the analyzer's flags there): the very code the shim runs, not compiled a
# second time.  Where the flags differ (the sanitizer build) they are
# compiled again with the analyzer's, so that ASan and UBSan check these
# modules in the unit tests, as they never can in the shim.
ifeq ($(strip $(CFLAGS)),$(strip $(SHIM_CFLAGS)))
CHECK_SHIM_OBJ := $(patsubst $(B)/obj/%,$(B)/obj/shim/%,$(CHECK_SHIM_OBJ))
endif

# dl_helper.c is not a program: it becomes libdl_helper.so, which dlopen.c
# loads; likewise libstacks.c, built twice, for stacks.c, and
# libforeign.c, which integration.sh's Python script loads with ctypes.
PROG_LIB_C := tests/progs/dl_helper.c tests/progs/libstacks.c tests/progs/libforeign.c
PROG_C := $(filter-out $(PROG_LIB_C),$(wildcard tests/progs/*.c))
PROG_CC := $(wildcard tests/progs/*.cc)
PROG_BIN := $(PROG_C:tests/progs/%.c=$(TEST_B)/progs/%) $(PROG_CC:tests/progs/%.cc=$(TEST_B)/progs/%) \
	$(TEST_B)/progs/libdl_helper.so $(TEST_B)/progs/libstacks_a.so $(TEST_B)/progs/libstacks_b.so \
	$(TEST_B)/progs/libforeign.so

# Passing assertions record no mark point (tests/check_quiet.h says why).
$(CHECK_OBJ): ALL_CFLAGS += -include tests/check_quiet.h
# CHECK_OPT: the optimization of the unit tests' own code and of the
# command's front end (tools/), last on the line: the sanitizer build
# compiles them at -O0 (SAN_MAKE), a third of -O1's time under ASan, and
# what they call, the library, stays at -O1.  But check_nestpool.c: its
# churn fills every byte it gets, three times slower at -O0.
$(filter-out $(B)/obj/tests/check_nestpool.o,$(CHECK_OBJ)) $(TOOL_OBJ): ALL_CFLAGS += $(CHECK_OPT)

# check_pprof.c decodes profiles with the code generated from profile.proto.
$(B)/obj/tests/check_pprof.o: ALL_CFLAGS += -I$(B)/gen
$(B)/obj/tests/check_pprof.o: $(B)/gen/profile.pb-c.h

$(CHECK_BIN): $(CHECK_OBJ) $(CHECK_SHIM_OBJ) $(ANALYZE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs check) $(LIB_LDLIBS) -lpthread -ldl

# Test programs: -O0 and frame pointers keep call sites where the source says.
$(TEST_B)/progs/%: tests/progs/%.c include/heapsnap.h
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -fno-omit-frame-pointer -Iinclude -Wall -o $@ $< -pthread -ldl

$(TEST_B)/progs/%: tests/progs/%.cc include/heapsnap.h
	@mkdir -p $(dir $@)
	g++ -O0 -g -fno-omit-frame-pointer -Iinclude -Wall -o $@ $< -pthread

# The stack capture tests (stacks*, libstacks_*): optimized and without
# frame pointers, as distributions build, so that unwinding follows CFI.
$(TEST_B)/progs/stacks: tests/progs/stacks.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -fomit-frame-pointer -Wall -o $@ $< -pthread -ldl

$(TEST_B)/progs/stacks_cxx: tests/progs/stacks_cxx.cc
	@mkdir -p $(dir $@)
	g++ -O2 -g -fomit-frame-pointer -Wall -o $@ $<

$(TEST_B)/progs/libstacks_a.so: tests/progs/libstacks.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -fomit-frame-pointer -shared -fPIC -DSTACKS_PAD=16 -o $@ $<

$(TEST_B)/progs/libstacks_b.so: tests/progs/libstacks.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -fomit-frame-pointer -shared -fPIC -DSTACKS_PAD=88 -o $@ $<

$(TEST_B)/progs/libforeign.so: tests/progs/libforeign.c
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -shared -fPIC -o $@ $< -pthread

$(TEST_B)/progs/libdl_helper.so: tests/progs/dl_helper.c
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -shared -fPIC -o $@ $<

# tests/python.sh's reader of scan edges (it builds its C extension itself).
$(TEST_B)/python_edges: tests/python/edges.c $(ANALYZE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ANALYZE_LIB) -lzstd -lm

# Everything tests/integration.sh runs, without the unit tests.
.PHONY: progs
progs: all $(PROG_BIN)

# Leak scenarios (tests/leaks.sh): each tests/leaks/NAME.c or NAME.cc is a
# program, build/tests/leaks/NAME; each tests/leaks/libNAME.c is a shared
# library, build/tests/leaks/libNAME.so, that a scenario dlopens from
# beside itself.  -O0, -g and frame pointers: the allocation sites must be
# the lines the sources mark, and pointers stay where the source puts them.
LEAK_B := $(TEST_B)/leaks
LEAK_LIB_C := $(wildcard tests/leaks/lib*.c)
LEAK_C := $(filter-out $(LEAK_LIB_C),$(wildcard tests/leaks/*.c))
LEAK_CC := $(wildcard tests/leaks/*.cc)
LEAK_BIN := $(LEAK_C:tests/leaks/%.c=$(LEAK_B)/%) $(LEAK_CC:tests/leaks/%.cc=$(LEAK_B)/%) \
	$(LEAK_LIB_C:tests/leaks/%.c=$(LEAK_B)/%.so)

$(LEAK_B)/lib%.so: tests/leaks/lib%.c
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -fno-omit-frame-pointer -Wall -shared -fPIC -o $@ $<

$(LEAK_B)/%: tests/leaks/%.c tests/leaks/leak.h include/heapsnap.h
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -fno-omit-frame-pointer -Iinclude -Wall -o $@ $< -pthread -ldl

$(LEAK_B)/%: tests/leaks/%.cc tests/leaks/leak.h include/heapsnap.h
	@mkdir -p $(dir $@)
	g++ -O0 -g -fno-omit-frame-pointer -Iinclude -Wall -o $@ $< -pthread -ldl

# Everything tests/leaks.sh runs.
.PHONY: leak-progs
leak-progs: all $(LEAK_BIN)

# Programs of tests/retain.sh (retainer paths, retained sizes, scans at
# snapshots): tests/retain/NAME.c is build/tests/retain/NAME; -O0, -g and
# frame pointers, as the leak scenarios.
RETAIN_C := $(wildcard tests/retain/*.c)
RETAIN_BIN := $(RETAIN_C:tests/retain/%.c=$(TEST_B)/retain/%)

$(TEST_B)/retain/%: tests/retain/%.c include/heapsnap.h
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -fno-omit-frame-pointer -Iinclude -Wall -o $@ $< -pthread -ldl

.PHONY: retain-progs
retain-progs: all $(RETAIN_BIN)

# speedscope, for tests/pprof.sh: from the npm registry at the versions
# tests/speedscope/package-lock.json pins (npm ci checks their hashes),
# into the build tree.  The touch: npm keeps the package's own dates.
SPEEDSCOPE := $(B)/npm/node_modules/speedscope/dist/release/index.html
$(SPEEDSCOPE): tests/speedscope/package.json tests/speedscope/package-lock.json
	@mkdir -p $(B)/npm
	cp tests/speedscope/package.json tests/speedscope/package-lock.json $(B)/npm/
	cd $(B)/npm && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@
speedscope: $(SPEEDSCOPE)
.PHONY: speedscope

# Programs of tests/attach.sh: the server, a tracer, and two processes
# heapsnap attach must refuse (statically linked; no glibc).
ATTACH_TB := $(TEST_B)/attach
ATTACH_TEST_BIN := $(ATTACH_TB)/server $(ATTACH_TB)/sleeper $(ATTACH_TB)/tracer $(ATTACH_TB)/static_sleeper \
	$(ATTACH_TB)/nolibc $(ATTACH_TB)/cxx_loop $(ATTACH_TB)/libplugin_a.so $(ATTACH_TB)/libplugin_b.so

# The server finds libplugin_b.so through its RUNPATH ($ORIGIN): a bare name
# that dlopen must resolve from the caller's RUNPATH while it is wrapped.
$(ATTACH_TB)/server: tests/attach/server.c
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -fno-omit-frame-pointer -Wall -o $@ $< -pthread -ldl -Wl,--enable-new-dtags,-rpath,'$$ORIGIN'

$(ATTACH_TB)/libplugin_%.so: tests/attach/plugin.c
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -fno-omit-frame-pointer -Wall -shared -fPIC -o $@ $<

$(ATTACH_TB)/%: tests/attach/%.cc
	@mkdir -p $(dir $@)
	g++ -O0 -g -fno-omit-frame-pointer -Wall -o $@ $< -pthread

$(ATTACH_TB)/static_sleeper: tests/attach/sleeper.c
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -static -o $@ $<

$(ATTACH_TB)/nolibc: tests/attach/nolibc.c
	@mkdir -p $(dir $@)
	$(CC) -O0 -nostdlib -fno-stack-protector -pie -Wl,-dynamic-linker,/lib64/ld-linux-x86-64.so.2 -o $@ $<

$(ATTACH_TB)/%: tests/attach/%.c
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -fno-omit-frame-pointer -Wall -o $@ $< -pthread -ldl

# Everything tests/attach.sh runs.
.PHONY: attach-progs
attach-progs: all $(ATTACH_TEST_BIN)

# Programs of the fault suite (tests/faults.sh): tests/faults/NAME.c is
# build/tests/faults/NAME.
FAULT_C := $(wildcard tests/faults/*.c)
FAULT_BIN := $(FAULT_C:tests/faults/%.c=$(TEST_B)/faults/%)

$(TEST_B)/faults/%: tests/faults/%.c
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -Wall -o $@ $< -pthread

# The second pass, built in a directory of its own: the analyzer (command
# and unit runner) under AddressSanitizer and UndefinedBehaviorSanitizer,
# and everything, the shim too, as `make HS_DEBUG=1` builds it, with every
# precondition an assertion (the shim without sanitizers: it runs inside
# the traced programs).
SAN_B := $(B)/san
# -fno-var-tracking: the same code (objdump -d), without the locations of
# local variables in its debug information (a debugger's business; a
# sanitizer's report names file and line): half of the compile time of an
# analyzer module under ASan.
SAN_CFLAGS := -O1 -g -fno-var-tracking -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
# The sanitizer runtimes linked in statically: LeakSanitizer's check at
# each exit scans the writable data of every module, and libubsan's and
# libasan's own (11 MB never touched) cost 1,500 page faults and 8 ms each
# time a sanitized heapsnap exits (21 -> 13 ms for --version).
SAN_LDFLAGS := -static-libasan -static-libubsan
SAN_MAKE = $(MAKE) -s B=$(SAN_B) HS_DEBUG=1 CFLAGS="$(SAN_CFLAGS)" SHIM_CFLAGS="-O1 -g" CHECK_OPT=-O0 \
	LDFLAGS="$(SAN_LDFLAGS)"

# The analyzer library's second front end: built from the public header
# and the library alone (no -Isrc, no tools/ object).
$(TEST_B)/example_api: tests/example_api.c include/heapsnap-analyze.h $(ANALYZE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -std=gnu11 -Wall -Wextra -Iinclude -o $@ $< $(ANALYZE_LIB) $(LIB_LDLIBS)

# make check: every suite, side by side (CHECK_JOBS at a time, twice as
# many as there are cores whatever -j make was given: several suites spend
# seconds waiting, on a traced program's sleep, a browser, a process to
# attach to, and a core left idle meanwhile is wall time lost; the work
# is the same), each one's output held back and printed
# whole when it ends (tests/suite.sh), then a line per suite and the grand
# total (tests/summary.sh).  The logs stay in build/check/NAME.log.
#
# To add a suite NAME: add NAME to CHECK_SUITES (they start in that order,
# so longest first keeps both cores busy to the end; the attach suites,
# which mostly wait for the processes they attach to (8-9 CPU-s in 20-25 s
# of wall time), start among the first, their waits beside the others'
# work (started 16th, attach was the last suite to end) and write
#
#   suite-NAME: check-build      (or what it needs)
#   	@$(SUITE) NAME "what it tests" CMD...
#
# CMD ends with the suite's totals line "NAME: N passed, M failed" and
# exits non-zero on a failure.  A recipe that runs make begins with "+"
# (make's jobserver is passed only to those).  Checks too long for make
# check (minutes) go in check-long.
CHECK_SUITES := python leaks san-integration attach check integration san-attach report pprof san-leaks san-pprof \
	corpus fuzz san-check retain faults san-unit san-cli readme cli unit api hooksafe san-hooksafe man
CHECK_LOG := $(B)/check
CHECK_JOBS ?= $(shell echo $$(( $$(nproc) * 2 )))
SUITE := bash tests/suite.sh $(CHECK_LOG)
# What the suites run, built once before any of them starts.
CHECK_BUILD := all $(TEST_B)/example_api $(CHECK_BIN) $(PROG_BIN) $(LEAK_BIN) $(ATTACH_TEST_BIN) \
	$(TEST_B)/python_edges $(FAULT_BIN) $(RETAIN_BIN)

.PHONY: check-suites check-build check-san-build check-fuzz-build check-ready $(CHECK_SUITES:%=suite-%)

check: deps
	@rm -rf $(CHECK_LOG) && mkdir -p $(CHECK_LOG)
	+@start=$$(date +%s); MAKEFLAGS='$(filter-out -j% --jobserver-auth=% --jobserver-fds=%,$(MAKEFLAGS))' \
		$(MAKE) -s --no-print-directory -k -j$(CHECK_JOBS) check-suites; \
		bash tests/summary.sh $(CHECK_LOG) $$start $(CHECK_SUITES)

check-suites: $(CHECK_SUITES:%=suite-%)

check-build: $(CHECK_BUILD)

# Every suite but python waits for all three builds at once.  With each
# suite waiting on its own build instead, GNU make 4.3 (-j) started
# san-integration, the first suite in the list to wait on the sanitizer
# build while it ran, only after it had started every other suite: it ran
# alone at the end, 23 s of one core idle.  Waiting on one common target,
# the suites start in the order of CHECK_SUITES once it is made.
check-ready: check-build check-san-build check-fuzz-build

# The fuzz targets at -O0, in build/fuzz-check (tests/fuzz/fuzz.mk).
FUZZ_CHECK_B := $(B)/fuzz-check
check-fuzz-build:
	+@$(MAKE) -s fuzz-build FUZZ_CHECK=1

# The sanitizer pass (SAN_B, above): each suite of tests/sanitize.sh as a
# suite of its own, and the hook safety of its shim.
check-san-build:
	+@$(SAN_MAKE) $(SAN_B)/bin/heapsnap $(SAN_B)/lib/libheapsnap.so $(SAN_B)/lib/libheapsnap-attach.so \
		$(SAN_B)/tests/check_all

suite-san-hooksafe: check-ready
	+@$(SUITE) san-hooksafe "hook safety of the HS_DEBUG=1 build" $(SAN_MAKE) check-hooksafe

SAN_SUITES := unit integration leaks cli check attach pprof
$(SAN_SUITES:%=suite-san-%): suite-san-%: check-ready
	@$(SUITE) san-$* "$* under sanitizers and assertions (the analyzer under ASan and UBSan, HS_DEBUG=1)" \
		bash tests/sanitize.sh $(SAN_B) $*

# python.sh runs the command, the shims and python_edges only: it starts
# before the other suites' programs are built (it is the longest suite).
suite-python: all $(TEST_B)/python_edges
	@$(SUITE) python "Python programs" bash tests/python.sh

suite-leaks: check-ready
	@$(SUITE) leaks "leak tests" bash tests/leaks.sh

suite-check: check-ready
	@$(SUITE) check "check command tests" bash tests/check.sh

suite-integration: check-ready
	@$(SUITE) integration "integration tests" bash tests/integration.sh

suite-unit: check-ready
	@$(SUITE) unit "unit tests" env CK_FORK=yes $(CHECK_BIN)

suite-fuzz: check-ready
	@$(SUITE) fuzz "fuzz targets (seeds, regression inputs, a few seconds each)" \
		bash tests/fuzz/run.sh $(FUZZ_CHECK_B) check $(FUZZ_TIMEOUT) $(FUZZ_MALLOC_MB) $(FUZZ_TARGETS)

suite-retain: check-ready
	@$(SUITE) retain "retainers and scans at snapshots" bash tests/retain.sh

suite-pprof: check-ready
	@$(SUITE) pprof "pprof profiles (protoc, go tool pprof)" bash tests/pprof.sh

suite-report: check-ready
	@$(SUITE) report "report tests (headless chromium)" bash tests/report.sh

suite-attach: check-ready
	@$(SUITE) attach "attach tests" bash tests/attach.sh

suite-faults: check-ready
	@$(SUITE) faults "fault tests" bash tests/faults.sh

suite-readme: check-ready
	@$(SUITE) readme "README.md, every command of it" bash tests/readme.sh

suite-cli: check-ready
	@$(SUITE) cli "the command line (options, help, usage errors)" bash tests/cli.sh

suite-api: check-ready
	@$(SUITE) api "the analyzer library's own front end" bash tests/api.sh

suite-hooksafe: check-ready
	+@$(SUITE) hooksafe "hook safety" $(MAKE) -s check-hooksafe

suite-man: check-ready
	@$(SUITE) man "man pages" bash tests/man.sh

suite-corpus: check-ready
	@$(SUITE) corpus "real programs (the fast corpus; make check-long runs all of it, with Valgrind)" \
		bash tests/corpus.sh

# Every program of the corpus, and Valgrind's leak verdicts against
# heapsnap's (tests/corpus.sh; the README's table is its --table output).
check-long: corpus-deps all
	@echo "== real programs (the whole corpus, with Valgrind)"
	@bash tests/corpus.sh --long --valgrind $(if $(CORPUS_TABLE),--table $(CORPUS_TABLE))
