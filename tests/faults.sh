#!/bin/bash
# faults.sh - faults in the traced program and around it: the shim must
# never be why a program that runs untraced fails, and the traces it
# leaves must be readable and say what happened.
#
#   memory    `ulimit -v`: Debian binaries at 12-19 MB (the shim steps
#             aside: same output and status as untraced), a program that
#             runs out of memory with tracing on (NULL and ENOMEM, never a
#             crash), and one with too little room for the shim
#   disk      a 1 MiB tmpfs (skipped if mount is not permitted): the ring
#             file cannot grow (no SIGBUS), the trace stops cleanly
#             (ENOSPC in the trace, in `info` and once on stderr), exact
#             event counts (written + lost), no ring file left; and
#             `ulimit -f`, and a limit the program lowers (no SIGXFSZ)
#   children  a child in a vanished directory and one that dropped its
#             privileges cannot write their traces: one warning each, the
#             run goes on
#   load      200 threads at once, a fork loop, a program that execs
#             itself: exact counts in every trace
#   populate  madvise(MADV_POPULATE_WRITE) refused (a seccomp filter): as
#             on a kernel before 5.14 (EINVAL: the shim writes a byte a
#             page of its tables instead, and asks once) and with no
#             memory to populate with (ENOMEM: left to fault), 200,000
#             blocks give the counts and leaks of an unfiltered run, and
#             4,096 stacks the same trace (the ring file's stack entries,
#             populated ahead of their writes)
#   zeroing   large callocs and moving reallocs over freed blocks full of
#             garbage, their pages partly unmapped (the shim zeroes and
#             copies a large block by its mapped pages): zeros and the
#             kept bytes, traced as untraced, and no MADV_DONTNEED to
#             zero them; one pagemap descriptor a process, and right
#             after the program closed it, put /dev/zero under its number,
#             or forked
#   paths     -o /dev/null, /, a FIFO, a directory, a symbolic link, a
#             file that is not a trace, a ring file that is not heapsnap's:
#             refused, nothing touched; output=/ never writes into /;
#             FIFOs named like traces or ring files never block a reader,
#             nor are they reported as traces
#
# A signal handler that allocates is tests/integration.sh's sig-alloc.
#
#   bash tests/faults.sh        (make check runs it)
#
# Ends with exactly one line "faults: N passed, M failed"; exits 1 if M > 0.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HS=${HEAPSNAP_CLI:-$ROOT/build/bin/heapsnap}
LIB=${HEAPSNAP_LIB:-$ROOT/build/lib/libheapsnap.so}
FP=$ROOT/build/tests/faults
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3 || echo python3); fi

SUITE=faults
. "$(dirname "$0")/harness.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-faults.XXXXXX") || exit 1
MOUNTED=
cleanup() {
	[ -n "$MOUNTED" ] && umount "$MOUNTED" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
ulimit -c 0
cd "$T" || exit 1

# jq-like checks: js FILE.json EXPR -> prints the Python value of EXPR (j is the JSON)
js() {
	"$PY" -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# expect NAME GOT WANT
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', want '$3'"; fi
}

# info_json TRACE: heapsnap info --format json TRACE > TRACE.json; status
info_json() {
	timeout 60 "$HS" info --format json "$1" >"$1.json" 2>"$1.ierr"
}

# ---- memory: ulimit -v ---------------------------------------------------------

# Debian binaries at address-space limits where they run untraced: the
# shim cannot have its memory and steps aside, so output and status are
# the untraced run's (they crashed in jemalloc before).
mem_binaries() {
	local bad=0 runs=0 lim p
	for lim in 12000 14000 16000 19000; do
		for p in "sort /etc/passwd" "cat /etc/passwd" "ls /" "gzip -c /etc/passwd" "/bin/true"; do
			runs=$((runs + 1))
			# shellcheck disable=SC2086
			(ulimit -v $lim; exec $p) >plain.out 2>/dev/null
			local want=$?
			# shellcheck disable=SC2086
			(ulimit -v $lim; exec env LD_PRELOAD="$LIB" HEAPSNAP_OPTIONS=output=$T/mem.%p.hst $p) \
				>traced.out 2>traced.err
			local got=$?
			if [ "$got" != "$want" ] || ! cmp -s plain.out traced.out; then
				bad=$((bad + 1))
				echo "     ulimit -v $lim $p: status $got (untraced $want); $(head -c 200 traced.err)"
			fi
		done
	done
	if [ "$bad" -eq 0 ]; then ok "ulimit-v-binaries ($runs runs, same output and status)"; else fail ulimit-v-binaries "$bad of $runs runs differ"; fi
	rm -f mem.*.hst*
}

# Out of memory with tracing on: every allocation function fails as
# glibc's does, threads start and allocate while memory is short, the
# trace is complete.
mem_exhausted() {
	(ulimit -v 600000; exec "$FP/oom") >plain.out 2>&1
	expect ulimit-v-untraced "$? $(tail -n 1 plain.out)" "0 ok"
	(ulimit -v 600000; exec env LD_PRELOAD="$LIB" HEAPSNAP_OPTIONS=output=$T/oom.hst "$FP/oom") >oom.out 2>oom.err
	expect ulimit-v-traced "$? $(tail -n 1 oom.out)" "0 ok"
	if grep -q "FAILED" oom.out; then fail ulimit-v-traced-answers "$(grep FAILED oom.out | head -3)"; fi
	if info_json oom.hst; then
		# Every event is in the trace, however late the collector runs
		# (the shim's reserve, arena_map.h): each of the program's
		# blocks=N 1 MiB mallocs, the threads', none dropped.  (Without
		# the reserve, a collector that first ran after the program had
		# taken the room lost them: 2 mallocs of 530 in 7 of 20 runs
		# under load.)
		local blocks
		blocks=$(sed -n 's/^blocks=//p' oom.out)
		expect ulimit-v-trace "$(js oom.hst.json 'j["truncated"], j["end"]["status"], j["dropped_events"], j["events"]["malloc"] > '"${blocks:-0}"' > 1')" "(False, 0, 0, True)"
		expect ulimit-v-no-warning "$(wc -l <oom.err)" 0
	else
		fail ulimit-v-trace "info failed: $(head -c 200 oom.hst.ierr)"
	fi
	# Too little room for the shim: one warning, no trace, the untraced result.
	(ulimit -v 100000; exec env LD_PRELOAD="$LIB" HEAPSNAP_OPTIONS=output=$T/small.hst "$FP/oom") >small.out 2>small.err
	expect ulimit-v-steps-aside "$? $(tail -n 1 small.out) $(grep -c 'tracing is off' small.err) $(ls small.hst* 2>/dev/null | wc -l)" "0 ok 1 0"
}

# ---- disk: a full file system ----------------------------------------------------

disk_full() {
	mkdir -p full
	if ! mount -t tmpfs -o size=1m tmpfs "$T/full" 2>/dev/null; then
		skip disk-full "mount -t tmpfs is not permitted here"
		return
	fi
	MOUNTED=$T/full
	# The baseline: the same program with no iterations, on a roomy disk.
	"$HS" run -q -o base4.hst -- "$FP/churn" 4 0 >/dev/null 2>&1
	"$HS" run -q -o base8.hst -- "$FP/churn" 8 0 >/dev/null 2>&1
	info_json base4.hst && info_json base8.hst || { fail disk-full "baseline traces unreadable"; return; }
	local b4 b8
	b4=$(js base4.hst.json 'j["total_events"]')
	b8=$(js base8.hst.json 'j["total_events"]')

	# Rings that cannot grow in the file (8 threads' rings are more than
	# 1 MiB): memory instead, never SIGBUS; the small trace is complete.
	"$HS" run -q -o "$T/full/small.hst" -- "$FP/churn" 8 20000 >small.out 2>small.err
	expect enospc-rings-status "$? $(cat small.out)" "0 done 8 20000"
	if info_json full/small.hst; then
		expect enospc-rings-trace "$(js full/small.hst.json 'j["truncated"], j["total_events"]')" "(False, $((b8 + 8 * 20000 * 2)))"
	else
		fail enospc-rings-trace "$(head -c 200 full/small.hst.ierr)"
	fi
	grep -q "cannot grow" small.err && ok enospc-rings-warned || fail enospc-rings-warned "no warning: $(head -c 200 small.err)"
	rm -f full/*

	# A trace that fills the disk: the program goes on to its own end; the
	# trace stops with a STOPPED record; written + lost = every event.
	"$HS" run -q -o "$T/full/big.hst" -- "$FP/churn" 4 300000 >big.out 2>big.err
	expect enospc-status "$? $(cat big.out)" "0 done 4 300000"
	expect enospc-one-warning "$(grep -c 'file system is full (ENOSPC)' big.err)" 1
	expect enospc-no-rings "$(ls full | grep -c rings)" 0
	if info_json full/big.hst; then
		expect enospc-info "$(js full/big.hst.json '(j["truncated"], "ENOSPC" in j["truncation"], j["lost_events"] > 0)')" "(True, True, True)"
		expect enospc-counts "$(js full/big.hst.json 'j["total_events"] + j["lost_events"]')" $((b4 + 4 * 300000 * 2))
		"$HS" info full/big.hst >big.info 2>&1
		grep -q "TRUNCATED: the trace stopped at .*ENOSPC" big.info && ok enospc-info-text ||
			fail enospc-info-text "$(grep status big.info)"
	else
		fail enospc-info "$(head -c 200 full/big.hst.ierr)"
	fi
	rm -f full/*
	umount "$T/full" && MOUNTED=

	# ulimit -f: writing past it would kill the program (SIGXFSZ).
	(ulimit -f 200; exec "$HS" run -q -o fsize.hst -- "$FP/churn" 2 100000) >fsize.out 2>fsize.err
	expect ulimit-f-status "$? $(cat fsize.out)" "0 done 2 100000"
	if info_json fsize.hst; then
		expect ulimit-f-info "$(js fsize.hst.json '(j["truncated"], "EFBIG" in j["truncation"])')" "(True, True)"
	else
		fail ulimit-f-info "$(head -c 200 fsize.hst.ierr)"
	fi
	# The program lowers its own limit below the trace's size: the
	# collector's write fails (SIGXFSZ is blocked there), and the exiting
	# thread does not write the END past it (which killed the program).
	"$HS" run -q -o fsdrop.hst -- "$FP/fsizedrop" 8192 >fsdrop.out 2>fsdrop.err
	expect ulimit-f-lowered "$? $(cat fsdrop.out) $(grep -c EFBIG fsdrop.err)" "0 done 1"
}

# ---- children that cannot write their trace ---------------------------------------

children() {
	# A program started in a directory that no longer exists (bash execs
	# echo there): the default trace name is relative, so echo cannot
	# write its trace and says so once; bash's trace ends with its exec.
	mkdir cwd && cd cwd || return
	env -u HEAPSNAP_OPTIONS LD_PRELOAD="$LIB" bash -c 'mkdir gone; cd gone; rm -rf "$PWD"; exec /bin/echo child-ran' \
		>../gone.out 2>../gone.err
	local rc=$?
	cd "$T" || return
	expect vanished-cwd-status "$rc $(cat gone.out)" "0 child-ran"
	expect vanished-cwd-one-warning "$(grep -c 'no such directory; tracing is off' gone.err) $(wc -l <gone.err)" "1 1"
	local f reasons=""
	for f in cwd/heapsnap.bash.*.hst; do
		info_json "$f" && reasons="$reasons $(js "$f.json" 'j["end"]["reason"]')"
	done
	case $reasons in *exec*) ok vanished-cwd-parent-trace ;; *) fail vanished-cwd-parent-trace "bash traces end: $reasons" ;; esac
	# A forked child that cannot trace, and forks again: it hung in its
	# second fork (the stack table's lock, taken before the first fork,
	# was never released in a child that could not create its trace).
	mkdir cwd2 && cd cwd2 || return
	timeout -k 5 30 env -u HEAPSNAP_OPTIONS LD_PRELOAD="$LIB" \
		bash -c 'mkdir gone; cd gone; rm -rf "$PWD"; (/bin/true; /bin/true; echo sub-done); echo done' >../fork2.out 2>/dev/null
	rc=$?
	cd "$T" || return
	expect vanished-cwd-fork-again "$rc $(tr '\n' ' ' <fork2.out)" "0 sub-done done "

	# A child that dropped its privileges cannot write beside the root-owned
	# trace (as man does): one warning, the run goes on.
	if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
		skip dropped-privileges "needs root and setpriv"
		return
	fi
	# The child, as user 65534, loads the shim: from a tree it cannot
	# reach, the loader drops the shim and no warning comes.
	local far
	far=$(unreachable_as 65534 "$LIB")
	if [ -n "$far" ]; then
		skip dropped-privileges "user 65534 cannot read $far (a directory on its path is not searchable: a tree inside a private directory)"
		return
	fi
	mkdir priv && chmod 755 priv
	"$HS" run -q -o priv/p.hst -- setpriv --reuid=65534 --regid=65534 --clear-groups /bin/echo dropped >priv.out 2>priv.err
	expect dropped-privileges-status "$? $(cat priv.out)" "0 dropped"
	expect dropped-privileges-one-warning "$(grep -c 'permission denied; tracing is off' priv.err)" 1
	info_json priv/p.hst && expect dropped-privileges-parent-trace "$(js priv/p.hst.json 'j["end"]["reason"]')" exec ||
		fail dropped-privileges-parent-trace "$(head -c 200 priv/p.hst.ierr)"
}

# ---- load: threads, fork, exec ------------------------------------------------------

load() {
	"$HS" run -q -o t0.hst -- "$FP/churn" 200 0 >t0.out 2>&1
	"$HS" run -q -o t1.hst -- "$FP/churn" 200 1000 >t1.out 2>&1
	expect threads-200-status "$? $(cat t1.out)" "0 done 200 1000"
	if info_json t0.hst && info_json t1.hst; then
		expect threads-200-counts \
			"$("$PY" -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); print(b["events"]["malloc"]-a["events"]["malloc"], b["events"]["free"]-a["events"]["free"], b["truncated"], b["dropped_events"])' t0.hst.json t1.hst.json)" \
			"200000 200000 False 0"
	else
		fail threads-200-counts "info failed"
	fi

	mkdir fork
	"$HS" run -q -o fork/f.hst -- "$FP/forkloop" 50 >fork.out 2>fork.err
	expect fork-loop-status "$? $(cat fork.out)" "0 children=50"
	local n=0 bad=0 f
	for f in fork/f.hst.*; do
		case $f in *.rings | *.json | *.ierr) continue ;; esac
		n=$((n + 1))
		# 10 mallocs, 5 frees of them (the other frees at exit are of
		# blocks the child inherited, or of NULL), 5 blocks left
		if ! info_json "$f" || [ "$(js "$f.json" '(j["truncated"], j["events"]["malloc"], j["events"]["free"] - j["unknown_frees"], j["end"]["reason"])')" != "(False, 10, 5, 'exit')" ]; then
			bad=$((bad + 1))
		fi
	done
	expect fork-loop-traces "$n $bad $(ls fork | grep -c rings)" "50 0 0"

	# A forked child's exit scan reads what its parent's reads, not the
	# parent's ring file segments it still maps (a megabyte of stack
	# table: 1.39 MB read against the parent's 0.34 MB, before).
	mkdir subsh
	"$HS" run -q -o subsh/b.hst -- bash -c '(exit 0); echo $?' >subsh.out 2>&1
	local child
	child=$(ls subsh/b.hst.* 2>/dev/null | grep -v '\.rings$' | head -n 1)
	if [ -n "$child" ] && info_json subsh/b.hst && info_json "$child"; then
		expect fork-child-scan-no-parent-rings "$("$PY" -c 'import json,sys; p=json.load(open(sys.argv[1]))["scan"]; c=json.load(open(sys.argv[2]))["scan"]; print(p["reason"], c["reason"], c["bytes"] < p["bytes"] + 65536)' subsh/b.hst.json "$child.json")" "exit exit True"
	else
		fail fork-child-scan-no-parent-rings "no child trace: $(ls subsh) $(cat subsh.out)"
	fi

	mkdir exec
	"$HS" run -q -o exec/s.hst -- "$FP/selfexec" 5 >exec.out 2>exec.err
	expect self-exec-status "$? $(cat exec.out)" "0 bottom"
	local got=""
	for f in exec/s.hst exec/s.hst.*; do
		case $f in *.rings | *.json | *.ierr) continue ;; esac
		info_json "$f" && got="$got $(js "$f.json" 'j["end"]["reason"] + ":" + str(j["events"]["malloc"])')"
	done
	expect self-exec-traces "$(echo $got | tr ' ' '\n' | sort | uniq -c | tr -s ' ' | tr '\n' ';')" " 5 exec:3; 1 exit:1;"
}

# ---- populate: the heap map's tables when they cannot be populated -------------

populate() {
	"$HS" run -q -o pop.hst -- "$FP/manylive" 200000 >pop.out 2>&1
	expect populate-plain "$? $(cat pop.out)" "0 live 133333"
	info_json pop.hst && "$HS" leaks --kinds all --format json pop.hst >pop.leaks 2>&1
	local want got e
	want=$(js pop.hst.json '(j["truncated"], j["dropped_events"], j["events"]["malloc"], j["events"]["free"] - j["unknown_frees"])')
	# and stdout's buffer, freed at exit (__libc_freeres)
	expect populate-plain-counts "$want" "(False, 0, 200001, 66668)"
	for e in EINVAL ENOMEM; do
		"$FP/nopopulate" $e true
		if [ $? -eq 3 ]; then
			skip "populate-$e" "no seccomp filter here"
			continue
		fi
		strace -f -qq -e trace=madvise -e signal=none -o pop-$e.strace \
			"$FP/nopopulate" $e "$HS" run -q -o pop-$e.hst -- "$FP/manylive" 200000 >pop-$e.out 2>&1
		expect "populate-$e" "$? $(cat pop-$e.out)" "0 live 133333"
		if info_json pop-$e.hst && "$HS" leaks --kinds all --format json pop-$e.hst >pop-$e.leaks 2>&1; then
			got=$(js pop-$e.hst.json '(j["truncated"], j["dropped_events"], j["events"]["malloc"], j["events"]["free"] - j["unknown_frees"])')
			expect "populate-$e-counts" "$got" "$want"
			expect "populate-$e-leaks" "$(js pop-$e.leaks 'j["summary"]')" "$(js pop.leaks 'j["summary"]')"
		else
			fail "populate-$e-counts" "info or leaks failed: $(head -c 200 pop-$e.hst.ierr pop-$e.leaks)"
		fi
	done
	# EINVAL: the shim asks once (the launcher's own probe is the other call)
	[ -f pop-EINVAL.strace ] && expect populate-EINVAL-asked-once "$(grep -c MADV_POPULATE_WRITE pop-EINVAL.strace)" 2
	# The ring file's stack entries, populated 64 KiB ahead of the
	# entries (stack.c entry_alloc): 4,096 stacks, 1.6 MB of entries over
	# two segments, the same trace whether the kernel populates, refuses
	# (EINVAL: a byte written a page) or has no memory (ENOMEM).
	strace -f -qq -e trace=madvise -e signal=none -o popst.strace "$HS" run -q -o popst.hst -- "$FP/manystacks" 4096 >popst.out 2>&1
	expect populate-stacks "$? $(cat popst.out)" "0 stacks ok live 2048"
	local q='(j["truncated"], j["dropped_events"], j["stacks"], j["events"]["malloc"], j["events"]["free"] - j["unknown_frees"])'
	info_json popst.hst && want=$(js popst.hst.json "$q")
	# the blocks and, freed at exit, stdout's buffer (__libc_freeres)
	expect populate-stacks-counts "$want" "(False, 0, 4097, 4097, 2049)"
	# the calls ahead of the entries: 64 KiB and a page of slack each
	got=$(grep -c '69632, MADV_POPULATE_WRITE) = 0' popst.strace)
	[ "$got" -ge 20 ] && ok populate-stacks-ahead || fail populate-stacks-ahead "$got calls of 68 KiB, not 20 or more"
	for e in EINVAL ENOMEM; do
		"$FP/nopopulate" $e true
		[ $? -eq 3 ] && continue # said above
		"$FP/nopopulate" $e "$HS" run -q -o popst-$e.hst -- "$FP/manystacks" 4096 >popst-$e.out 2>&1
		expect "populate-stacks-$e" "$? $(cat popst-$e.out)" "0 stacks ok live 2048"
		info_json popst-$e.hst && expect "populate-stacks-$e-counts" "$(js popst-$e.hst.json "$q")" "$want"
	done
}

# ---- zeroing: large callocs and reallocs by their mapped pages --------------------

zeroing() {
	"$FP/zeroing" >zero-plain.out 2>&1
	expect zeroing-untraced "$? $(cat zero-plain.out)" "0 ok 360"
	"$HS" run -q -o zero.hst -- "$FP/zeroing" >zero.out 2>&1
	expect zeroing-traced "$? $(cat zero.out)" "0 ok 360"
	strace -f -qq -y -e trace=openat,pread64,madvise -e signal=none -o zero.strace \
		"$HS" run -q -o zero-st.hst -- "$FP/zeroing" >/dev/null 2>&1
	# Each of the 360 callocs reads pagemap (and each realloc that moves),
	# through one descriptor opened once (and one of the exit scan's own,
	# scan.c); jemalloc zeroed the recycled ones with MADV_DONTNEED (251
	# calls in all at 287c43f, 48 since: the private arena's and the
	# decay's).
	local opens reads dontneed
	opens=$(grep -c 'openat(.*pagemap' zero.strace)
	reads=$(grep -c 'pread64(.*pagemap' zero.strace)
	dontneed=$(grep -c MADV_DONTNEED zero.strace)
	expect zeroing-by-pagemap "$((opens <= 2 && reads >= 360 && dontneed < 150)) (opens $opens, reads $reads, MADV_DONTNEED $dontneed)" "1 (opens $opens, reads $reads, MADV_DONTNEED $dontneed)"
	# The descriptor kept, after the program closed it, replaced it with
	# /dev/zero (a pagemap saying "nothing mapped"), or forked (the kept
	# one reads the parent's pages).
	local mode
	for mode in closeall replace fork; do
		"$HS" run -q -o zero-$mode.hst -- "$FP/pagemapfd" $mode >zero-$mode.out 2>&1
		expect zeroing-pagemap-$mode "$? $(grep -v WARNING zero-$mode.out)" "0 ok 200"
	done
	rm -f zero*.hst*
}

# ---- paths: what -o and output= may name ----------------------------------------------

paths() {
	echo "keep me" >notes.txt
	ln -s notes.txt link.hst
	mkfifo fifo.hst
	mkdir adir
	printf 'foreign' >t.hst.rings
	local name path
	for name in /dev/null / fifo.hst adir notes.txt link.hst t.hst; do
		"$HS" run -q -o "$name" -- /bin/true >o.out 2>o.err
		expect "run-o-refused $name" "$? $(wc -l <o.err)" "2 1"
	done
	expect run-o-untouched "$(cat notes.txt) $(cat t.hst.rings) $(readlink link.hst)" "keep me foreign notes.txt"
	expect run-o-no-strays "$(ls /dev/null.* /.[0-9]* fifo.hst.* adir.* 2>/dev/null | wc -l)" 0
	# The shim, given such names directly: tracing off with one line, no file anywhere.
	for path in /dev/null /; do
		env LD_PRELOAD="$LIB" HEAPSNAP_OPTIONS="output=$path" /bin/true 2>shim.err
		expect "shim-output-refused $path" "$? $(grep -c 'tracing is off' shim.err)" "0 1"
	done
	expect shim-output-no-strays "$(ls /dev/null.* /.[0-9]* 2>/dev/null | wc -l)" 0
	# A trace name whose ring file name is taken: the next name, and the
	# foreign file stays.
	env LD_PRELOAD="$LIB" HEAPSNAP_OPTIONS="output=$T/t.hst" /bin/true
	expect foreign-rings-kept "$(cat t.hst.rings) $(ls t.hst.[0-9]* | wc -l)" "foreign 1"
	# A FIFO named like a later trace is not reported as one.
	mkfifo "out.hst.1$$"
	"$HS" run -o out.hst -- /bin/true 2>report.err
	expect run-reports-regular-only "$(grep -c 'trace written to' report.err) $(grep -c "out.hst.1$$" report.err)" "1 0"

	# Readers: a FIFO among the traces of a directory, and at TRACE.rings.
	mkdir dir
	"$HS" run -q -o dir/a.hst -- /bin/true
	mkfifo dir/b.hst
	timeout 10 "$HS" info dir >dir.out 2>&1
	expect fifo-in-dir "$? $(grep -c '^trace:' dir.out)" "0 1"
	head -c $(($(stat -c %s dir/a.hst) - 20)) dir/a.hst >cut.hst # its last chunk torn
	mkfifo cut.hst.rings
	timeout 10 "$HS" info cut.hst >cut.out 2>&1
	expect fifo-rings "$? $(grep -c TRUNCATED cut.out) $(test -p cut.hst.rings && echo kept)" "0 1 kept"
	timeout 10 "$HS" info fifo.hst >fifo.out 2>&1
	expect fifo-trace "$? $(grep -c 'not a regular file' fifo.out)" "2 1"
}

# ---- damaged traces: answered at once, in little memory -------------------------

# The damaged traces of tests/fuzz/regress/reader (tests/fuzz/make-damaged.py:
# ids near 2^31, a scan announcing 2^40 blocks, stacks that share their
# frames, misaligned and oversized ring files): every analysis (info,
# leaks, cycles; top at the exit, at the peak and by retained size; diff,
# retainers, report), each given the files afresh (a read merges a ring
# file left behind), reads each or refuses it with one line and status 2,
# under a 200 MB address-space limit and well within the timeout (hung
# for minutes, or grew to many GB, before; retainers crashed on a root
# edge from a root the scan never described).
damaged() {
	local f name cmd bad=0 n=0
	for f in "$ROOT"/tests/fuzz/regress/reader/*; do
		name=$(basename "$f")
		rm -f "$T/dmg.orig" "$T/dmg.orig.rings"
		"$PY" - "$f" "$T/dmg.orig" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
n = struct.unpack('<I', d[:4])[0]
open(sys.argv[2], 'wb').write(d[4:4 + n])
if d[4 + n:]:
    open(sys.argv[2] + '.rings', 'wb').write(d[4 + n:])
PY
		for cmd in info leaks cycles top "top --snapshot peak" "top --retained" "diff --from start --to exit" \
			"retainers --site *" "report -o $T/dmg.html"; do
			n=$((n + 1))
			rm -f "$T/dmg.hst.rings"
			cp "$T/dmg.orig" "$T/dmg.hst"
			[ -f "$T/dmg.orig.rings" ] && cp "$T/dmg.orig.rings" "$T/dmg.hst.rings"
			read -ra args <<<"$cmd"
			(ulimit -v 200000; exec timeout -k 2 10 "$HS" "${args[0]}" "$T/dmg.hst" "${args[@]:1}") >dmg.out 2>dmg.err
			local rc=$?
			if { [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; } || [ "$(wc -l <dmg.err)" -gt 1 ] ||
				{ [ "$rc" -eq 2 ] && [ "$(wc -l <dmg.err)" -ne 1 ]; }; then
				bad=$((bad + 1))
				echo "     $cmd $name: status $rc, $(wc -l <dmg.err) lines: $(head -c 200 dmg.err)"
			fi
		done
		rm -f "$T/dmg.hst" "$T/dmg.hst.rings" "$T/dmg.orig" "$T/dmg.orig.rings" "$T/dmg.html"
	done
	if [ "$bad" -eq 0 ]; then ok "damaged-traces ($n runs: read, or one line and status 2)"; else fail damaged-traces "$bad of $n runs"; fi
}

# ---- ring files left behind (item 10) ------------------------------------------------

# A killed process leaves TRACE.rings: the next read merges it into the
# trace and removes it; later reads find the same events in the trace
# alone.  A live process's ring file (its shim holds a lock on it) is read,
# not merged, and stays.  A stale one beside a complete trace goes; a file
# there that is not heapsnap's, never.
leftover_rings() {
	mkdir rings && cd rings || return
	"$HS" run -q -o k.hst -- "$ROOT/build/tests/progs/crash" kill 500 >/dev/null 2>&1
	local before first second
	before=$(ls k.hst.rings 2>/dev/null | wc -l)
	info_json k.hst && first=$(js k.hst.json '(j["truncated"], j["total_events"], j["recovered_events"])')
	info_json k.hst && second=$(js k.hst.json '(j["truncated"], j["total_events"], j["recovered_events"])')
	expect rings-merged "$before $(ls k.hst.rings 2>/dev/null | wc -l) ${first:-?}" "1 0 ${second:-!}"
	case $first in "(True, "*) ok rings-merged-truncated ;; *) fail rings-merged-truncated "$first" ;; esac
	# the same counts through leaks and top (each a reader of its own)
	"$HS" leaks k.hst >/dev/null 2>&1 && "$HS" top k.hst >/dev/null 2>&1
	expect rings-merged-readers "$? $(ls | grep -c rings)" "0 0"

	# live: a traced program that sleeps; its trace read meanwhile
	env LD_PRELOAD="$LIB" HEAPSNAP_OPTIONS="output=$T/rings/alive.hst" sleep 5 &
	local pid=$!
	sleep 1
	"$HS" info alive.hst >/dev/null 2>&1
	expect rings-live-kept "$(ls alive.hst.rings 2>/dev/null | wc -l)" 1
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null

	# stale beside a complete trace: removed; a foreign file: kept
	"$HS" run -q -o done.hst -- /bin/true
	"$PY" - done.hst <<'PY'
import struct, sys
h = open(sys.argv[1], 'rb').read(64)
nonce = h[24:32]
page = bytearray(4096)
page[0:8] = b'HSRINGS1'
page[8:12] = struct.pack('<I', 1)
page[16:24] = nonce
open(sys.argv[1] + '.rings', 'wb').write(bytes(page))
PY
	"$HS" info done.hst >/dev/null 2>&1
	expect rings-stale-removed "$(ls done.hst.rings 2>/dev/null | wc -l)" 0
	"$HS" run -q -o own.hst -- /bin/true
	echo "not heapsnap's" >own.hst.rings
	"$HS" info own.hst >/dev/null 2>&1
	expect rings-foreign-kept "$(cat own.hst.rings)" "not heapsnap's"
	cd "$T" || return
}

leftover_rings
damaged
mem_binaries
mem_exhausted
disk_full
children
load
populate
zeroing
paths
finish
