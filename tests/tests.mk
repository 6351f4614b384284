# Tests: check-based unit suites (tests/check_*.c, one runner), programs run
# under the shim (tests/progs/*.c, *.cc) and the integration script.

TEST_B := $(B)/tests
CHECK_SRC := $(wildcard tests/check_*.c)
CHECK_OBJ := $(CHECK_SRC:%.c=$(B)/obj/%.o)
CHECK_BIN := $(TEST_B)/check_all
# Shim modules that unit tests link as plain objects (never preloaded).
CHECK_SHIM_OBJ := $(B)/obj/src/shim/options.o $(B)/obj/src/shim/log.o $(B)/obj/src/shim/heapmap.o \
	$(B)/obj/src/trace/writer.o

# dl_helper.c is not a program: it becomes libdl_helper.so, which dlopen.c loads.
PROG_LIB_C := tests/progs/dl_helper.c
PROG_C := $(filter-out $(PROG_LIB_C),$(wildcard tests/progs/*.c))
PROG_CC := $(wildcard tests/progs/*.cc)
PROG_BIN := $(PROG_C:tests/progs/%.c=$(TEST_B)/progs/%) $(PROG_CC:tests/progs/%.cc=$(TEST_B)/progs/%) \
	$(TEST_B)/progs/libdl_helper.so

$(CHECK_BIN): $(CHECK_OBJ) $(CHECK_SHIM_OBJ) $(ANALYZE_LIB)
	@mkdir -p $(dir $@)
	$(CC) -o $@ $^ $(shell pkg-config --libs check) -ldw -lelf -lzstd -lm -lpthread -lstdc++

# Test programs: -O0 and frame pointers keep call sites where the source says.
$(TEST_B)/progs/%: tests/progs/%.c include/heapsnap.h
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -fno-omit-frame-pointer -Iinclude -Wall -o $@ $< -pthread -ldl

$(TEST_B)/progs/%: tests/progs/%.cc include/heapsnap.h
	@mkdir -p $(dir $@)
	g++ -O0 -g -fno-omit-frame-pointer -Iinclude -Wall -o $@ $< -pthread

$(TEST_B)/progs/libdl_helper.so: tests/progs/dl_helper.c
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -shared -fPIC -o $@ $<

# Everything tests/integration.sh runs, without the unit tests.
.PHONY: progs
progs: all $(PROG_BIN)

check: deps all $(CHECK_BIN) $(PROG_BIN)
	@echo "== unit tests"
	@CK_FORK=yes $(CHECK_BIN)
	@echo "== integration tests"
	@bash tests/integration.sh
	@echo "== man pages"
	@mandoc -Tlint -W warning man/heapsnap.1 man/heapsnap.3 man/heapsnap-trace.5
	@echo "check: all suites passed"
