# heapsnap - LD_PRELOAD allocation tracer and leak detector.
#
#   make            build/bin/heapsnap and build/lib/libheapsnap.so
#   make check      install missing Debian packages, build, run every test
#   make demo       install, build, trace the bundled leaky program, report
#   make bench      benchmarks against the untraced program, heaptrack and LeakSanitizer
#   make bench-verify  the benchmarks' workloads with stack_verify=1: 0 mismatches
#   make install PREFIX=/usr/local
#   make HS_DEBUG=1 the same with preconditions checked (util/assert.h), in build/debug

PREFIX ?= /usr/local
CC ?= cc
OPT ?= -O2
CFLAGS ?= $(OPT) -g
# The shim's own flags: the analyzer may be built with sanitizers, the shim
# (preloaded into other programs) never.
SHIM_CFLAGS ?= $(CFLAGS)
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Werror=implicit-function-declaration
BASE_CFLAGS := -std=gnu11 -fPIC $(WARN) -Isrc -Iinclude $(if $(HS_DEBUG),-DHS_DEBUG)
ALL_CFLAGS := $(BASE_CFLAGS) $(CFLAGS)
B := $(if $(HS_DEBUG),build/debug,build)

DEB_PACKAGES := gcc g++ make pkg-config libunwind-dev libjemalloc-dev check libdw-dev \
	libzstd-dev zstd mandoc valgrind python3 python3-dev python3-objgraph sqlite3 git time curl chromium firefox-esr \
	clang libclang-rt-14-dev libxml2-utils python3-jsonschema libprotobuf-c-dev protobuf-c-compiler zlib1g-dev \
	protobuf-compiler golang-go strace bzip2 xz-utils openssl jq bc diffutils
# The long corpus's programs (make check-long, tests/corpus.sh --long).
CORPUS_PACKAGES := nodejs tcl cmake ninja-build vim ed lz4 gnupg openssh-client file man-db binutils gdb findutils

UTIL_SRC := src/util/crc32c.c src/util/fmt.c
LIBUTIL_SRC := $(UTIL_SRC) src/util/json.c src/util/hashmap.c src/util/alloc.c
# The attach shim (libheapsnap-attach.so) is the same sources built with
# HS_ATTACH, its own backing allocator (no jemalloc: dlopen could not fit its
# static TLS) and the attach modules; the preloaded shim has neither.
ATTACH_ONLY_SRC := $(wildcard src/shim/attach*.c) src/shim/backing_attach.c
PRELOAD_ONLY_SRC := src/shim/backing.c src/shim/nestpool.c
SHIM_SRC := $(filter-out $(ATTACH_ONLY_SRC),$(wildcard src/shim/*.c)) src/trace/writer.c src/trace/encode.c \
	src/util/hashmap.c
ATTACH_SRC := $(filter-out $(PRELOAD_ONLY_SRC),$(wildcard src/shim/*.c)) src/trace/writer.c src/trace/encode.c \
	src/util/hashmap.c
TRACE_SRC := src/trace/reader.c src/trace/recover.c src/trace/encode.c
ANALYZE_SRC := $(wildcard src/analyze/*.c)
TOOL_SRC := $(wildcard tools/*.c)

SHIM_OBJ := $(SHIM_SRC:%.c=$(B)/obj/shim/%.o) $(UTIL_SRC:%.c=$(B)/obj/shim/%.o)
ATTACH_OBJ := $(ATTACH_SRC:%.c=$(B)/obj/attach/%.o) $(UTIL_SRC:%.c=$(B)/obj/attach/%.o)
# The report page (tools/report/), built into the library by .incbin.
REPORT_ASSETS := $(wildcard tools/report/*.html tools/report/*.css tools/report/*.js)
LIB_OBJ := $(TRACE_SRC:%.c=$(B)/obj/%.o) $(ANALYZE_SRC:%.c=$(B)/obj/%.o) $(LIBUTIL_SRC:%.c=$(B)/obj/%.o) \
	$(B)/obj/src/analyze/report_assets.o
TOOL_OBJ := $(TOOL_SRC:%.c=$(B)/obj/%.o)
# pprof's profile.proto, compiled by protoc-c into the library (pprof.c).
PROTO_GEN := $(B)/gen/profile.pb-c.c $(B)/gen/profile.pb-c.h
LIB_OBJ += $(B)/obj/gen/profile.pb-c.o
# What a program linked with the analyzer library links too.
LIB_LDLIBS := -ldw -lelf -lzstd -lprotobuf-c -lz -lm -lstdc++

SHIM := $(B)/lib/libheapsnap.so
ATTACH_SHIM := $(B)/lib/libheapsnap-attach.so
ANALYZE_LIB := $(B)/lib/libheapsnap-analyze.a
CLI := $(B)/bin/heapsnap

.PHONY: all deps check demo bench install clean check-hooksafe lint-man check-long corpus-deps

all: $(SHIM) $(ATTACH_SHIM) $(CLI)

# The shim: hidden visibility, initial-exec TLS, exports from the map file;
# a section per function, for check-hooksafe.
SHIM_OBJ_FLAGS = $(BASE_CFLAGS) $(SHIM_CFLAGS) -fvisibility=hidden -ftls-model=initial-exec -fno-plt -ffunction-sections
$(B)/obj/shim/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_OBJ_FLAGS) -MMD -MP -c $< -o $@

$(B)/obj/attach/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_OBJ_FLAGS) -DHS_ATTACH -MMD -MP -c $< -o $@

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# SARIF's tool.driver.informationUri: the home of this copy of heapsnap
# (make HOMEPAGE=https://...), by default its installed manual page.
HOMEPAGE ?= file://$(PREFIX)/share/man/man1/heapsnap.1
$(B)/obj/src/analyze/render_sarif.o: ALL_CFLAGS += -DHS_HOMEPAGE='"$(HOMEPAGE)"'

$(PROTO_GEN) &: src/analyze/profile.proto
	@mkdir -p $(B)/gen
	protoc-c --proto_path=src/analyze --c_out=$(B)/gen profile.proto

# Generated code: its own warnings are protoc-c's, not ours.
$(B)/obj/gen/profile.pb-c.o: $(B)/gen/profile.pb-c.c $(B)/gen/profile.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -w -I$(B)/gen -c $< -o $@

$(B)/obj/src/analyze/pprof.o: ALL_CFLAGS += -I$(B)/gen
$(B)/obj/src/analyze/pprof.o: $(B)/gen/profile.pb-c.h

$(B)/obj/src/analyze/report_assets.o: src/analyze/report_assets.S $(REPORT_ASSETS)
	@mkdir -p $(dir $@)
	$(CC) -Wa,-I. -c $< -o $@

# jemalloc is linked in statically, its public names renamed (hsje_*) so
# they neither clash with our hooks nor load libstdc++ (whose start-up
# allocates) into every traced C program.
JEMALLOC_PIC ?= $(firstword $(wildcard /usr/lib/$(shell gcc -print-multiarch)/libjemalloc_pic.a /usr/lib/libjemalloc_pic.a))
# Its constructor (malloc_init, in .init_array) goes too: jemalloc starts
# lazily on the shim's first call, after the shim has configured it, and
# not at all in a process where the shim steps aside for want of memory.
$(B)/obj/shim/jemalloc_hs.a: $(JEMALLOC_PIC) src/shim/jemalloc.syms Makefile
	@mkdir -p $(dir $@)
	objcopy --redefine-syms=src/shim/jemalloc.syms --remove-section=.init_array $(JEMALLOC_PIC) $@

# What the shims link.  zstd goes in statically (Debian's libzstd.a is
# position-independent; its names stay hidden behind the version script):
# every traced process image then loads one library fewer (an open, four
# mappings, its relocations).  libunwind cannot: Debian's libunwind.a is
# not position-independent (R_X86_64_32 in Lglobal.o, Linit.o, Ltrace.o),
# so it and its liblzma stay shared.
ZSTD_STATIC ?= $(firstword $(wildcard /usr/lib/$(shell gcc -print-multiarch)/libzstd.a /usr/lib/libzstd.a))
SHIM_LDLIBS = -lunwind $(if $(ZSTD_STATIC),$(ZSTD_STATIC),-lzstd) -lpthread -ldl -lm

$(SHIM): $(SHIM_OBJ) $(B)/obj/shim/jemalloc_hs.a src/shim/libheapsnap.map
	@mkdir -p $(dir $@)
	$(CC) $(SHIM_CFLAGS) $(LDFLAGS) -shared -o $@ $(SHIM_OBJ) $(B)/obj/shim/jemalloc_hs.a \
		-Wl,--version-script=src/shim/libheapsnap.map -Wl,-z,now -Wl,-z,nodelete \
		$(SHIM_LDLIBS)

# Loaded into running processes by dlopen and never unloaded (attach.c).
$(ATTACH_SHIM): $(ATTACH_OBJ) src/shim/libheapsnap-attach.map
	@mkdir -p $(dir $@)
	$(CC) -shared -o $@ $(ATTACH_OBJ) \
		-Wl,--version-script=src/shim/libheapsnap-attach.map -Wl,-z,now -Wl,-z,nodelete \
		$(SHIM_LDLIBS)

$(ANALYZE_LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(CLI): $(TOOL_OBJ) $(ANALYZE_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(TOOL_OBJ) $(ANALYZE_LIB) $(LIB_LDLIBS)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
# A header that was removed must not stop the build: dependency files
# written by an older tree still name it (-MP does this for new ones).
%.h: ;

# Install the Debian packages the build and the tests need, if missing
# (one dpkg-query for them all, not one a package).
deps:
	@missing=$$(dpkg-query -W -f='$${Package} $${Status}\n' $(DEB_PACKAGES) 2>/dev/null | \
		awk -v want="$(DEB_PACKAGES)" '/ install ok installed$$/ { have[$$1] = 1 } \
			END { n = split(want, w, " "); for (i = 1; i <= n; i++) if (!have[w[i]]) printf " %s", w[i] }'); \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

corpus-deps:
	@$(MAKE) -s deps DEB_PACKAGES="$(DEB_PACKAGES) $(CORPUS_PACKAGES)"

include tests/tests.mk
include tests/fuzz/fuzz.mk

# Code a hook can reach neither allocates from the traced heap, nor takes a
# lock held across a call out, nor calls what is not async-signal-safe:
# poisoned names at compile time (util/hooksafe.h), then the shim's objects
# function by function against src/shim/hooksafe.allow (tests/hooksafe.py).
check-hooksafe: $(SHIM_OBJ) $(ATTACH_OBJ)
	@python3 tests/hooksafe.py src/shim/hooksafe.allow src $(SHIM_OBJ)
	@python3 tests/hooksafe.py src/shim/hooksafe.allow src $(ATTACH_OBJ)

demo: deps all
	@bash tests/demo.sh

bench: deps all $(ANALYZE_LIB)
	@bash bench/run.sh
	@bash bench/scale.sh
	@bash bench/retain.sh
	@bash bench/attach.sh
	@bash bench/python.sh
	@bash bench/many.sh

.PHONY: bench-verify
bench-verify: deps all
	@bash bench/verify.sh

install: all $(ANALYZE_LIB)
	install -d $(PREFIX)/bin $(PREFIX)/lib $(PREFIX)/include $(PREFIX)/share/man/man1 \
		$(PREFIX)/share/man/man3 $(PREFIX)/share/man/man5
	install -m 755 $(CLI) $(PREFIX)/bin/heapsnap
	install -m 755 $(SHIM) $(PREFIX)/lib/libheapsnap.so
	install -m 755 $(ATTACH_SHIM) $(PREFIX)/lib/libheapsnap-attach.so
	install -m 644 include/heapsnap.h $(PREFIX)/include/heapsnap.h
	install -m 644 $(ANALYZE_LIB) $(PREFIX)/lib/libheapsnap-analyze.a
	install -m 644 include/heapsnap-analyze.h $(PREFIX)/include/heapsnap-analyze.h
	install -m 644 man/heapsnap.1 $(PREFIX)/share/man/man1/
	install -m 644 man/heapsnap.3 $(PREFIX)/share/man/man3/
	install -m 644 man/heapsnap-trace.5 $(PREFIX)/share/man/man5/

clean:
	rm -rf $(B)/obj $(B)/gen $(B)/lib $(B)/bin $(B)/tests $(B)/san $(B)/debug
