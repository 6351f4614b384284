#!/bin/bash
# corpus.sh - real Debian programs of every kind under the shim: each run
# untraced and traced (`heapsnap run`) on identical inputs, with the same
# standard output, the same output files and the same exit status, and
# every trace it wrote read back whole (complete, not truncated, events).
# With --valgrind, the programs marked for it also run under Valgrind's
# memcheck: where it finds no definite leak, heapsnap must find none.
#
#   bash tests/corpus.sh                 the fast set (make check)
#   bash tests/corpus.sh --long          every program (make check-long)
#   bash tests/corpus.sh --long --valgrind --table FILE
#                                        also the leak verdicts, and the
#                                        README's table (markdown) in FILE
#
# A program that is not installed is a SKIP (check-long installs them,
# CORPUS_PACKAGES in tests/tests.mk).  Ends with exactly one line
# "corpus: N passed, M failed"; exits 1 if M > 0.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HS=${HEAPSNAP_CLI:-$ROOT/build/bin/heapsnap}
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=$(command -v python3 || echo python3); fi
LONG=0 VG=0 TABLE=
while [ $# -gt 0 ]; do
	case $1 in
	--long) LONG=1 ;;
	--valgrind) VG=1 ;;
	--table) TABLE=$2; shift ;;
	*) echo "usage: corpus.sh [--long] [--valgrind] [--table FILE]" >&2; exit 1 ;;
	esac
	shift
done

SUITE=corpus
. "$(dirname "$0")/harness.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-corpus.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
ulimit -c 0
# Everything that could make two runs differ, fixed: the locale, the time
# zone, git's and make's idea of who and when, a home of our own.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin # Debian's programs, not a pyenv shim's
export LC_ALL=C.UTF-8 TZ=UTC HOME=$T/home MANWIDTH=80 MAN_DISABLE_SECCOMP=0 PAGER=cat
export GIT_AUTHOR_NAME=a GIT_AUTHOR_EMAIL=a@b GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@b \
	GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' GIT_COMMITTER_DATE='2020-01-01T00:00:00Z' GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
unset HEAPSNAP_OPTIONS

# ---- the inputs every program finds in its working directory ---------------

make_inputs() {
	seq 1 20000 | sed 's/$/ the quick brown fox/' >text.txt
	cp /etc/services services.txt 2>/dev/null || seq 1 3000 >services.txt
	printf 'int f(int x) { return x * 3; }\n' >f.c
	printf '#include <stdio.h>\nint f(int);\nint main(void) { printf("%%d\\n", f(14)); return 0; }\n' >main.c
	printf '#include <map>\n#include <string>\n#include <iostream>\nint main() { std::map<std::string, int> m; for (int i = 0; i < 1000; i++) m[std::to_string(i)] = i; std::cout << m.size() << "\\n"; }\n' >m.cc
	printf 'all: prog\nprog: main.o f.o\n\t$(CC) -o $@ main.o f.o\n%%.o: %%.c\n\t$(CC) -O2 -c $< -o $@\n' >Makefile
	printf '[%s]\n' "$(seq -s, 1 200 | sed 's/\([0-9]*\)/{"a":\1,"b":"n\1"}/g')" >data.json
	printf 'scale=300\n4*a(1)\n' >pi.bc
	printf 'a\nb\nc\n' >a.txt
	printf 'a\nB\nc\nd\n' >b.txt
	printf ',s/fox/cat/g\nw out.ed\nq\n' >script.ed
	printf 'set l {}\nfor {set i 0} {$i < 20000} {incr i} {lappend l [expr {$i * $i}]}\nputs [llength $l]\nputs [lindex $l end]\n' >t.tcl
	printf 'cmake_minimum_required(VERSION 3.13)\nproject(p C)\nadd_executable(prog main.c f.c)\n' >CMakeLists.txt
	mkdir -p tree/sub && cp main.c f.c tree/ && cp a.txt b.txt tree/sub/
	git init -q repo && git -C repo config commit.gpgsign false &&
		for i in 1 2 3; do echo "line $i" >>repo/file && git -C repo add file && git -C repo commit -qm "commit $i"; done
	cp "$T/key" "$T/key.pub" . 2>/dev/null
	mkdir -m 700 gnupg
}
# one key for every run (a new one would have a new fingerprint)
ssh-keygen -q -t ed25519 -N '' -C corpus -f "$T/key" >/dev/null 2>&1 </dev/null

# ---- the corpus ---------------------------------------------------------------
# NAME|KIND|SET|VALGRIND|NEEDS|OUTFILES|STDIN|COMMAND
# SET: fast (make check) or long; VALGRIND: vg if its leak verdict is
# compared; NEEDS: the binary that must exist; OUTFILES: files the command
# writes, compared too (space-separated); STDIN: a file, or -.
CORPUS='
python3|interpreter|fast|vg|python3|-|-|python3 -c "import json, collections; d = collections.Counter(str(i % 97) for i in range(50000)); print(json.dumps(sorted(d.items())[:5]))"
perl|interpreter|fast|vg|perl|-|-|perl -e "my %h; \$h{\$_} = \$_ * 2 for 1 .. 20000; my @k = sort { \$a <=> \$b } keys %h; print scalar(@k), qq( \$k[-1]\n)"
bash|shell|fast|-|bash|-|-|bash -c "a=(); for i in \$(seq 1 3000); do a+=(\$i); done; echo \${#a[@]} \${a[2999]}"
awk|interpreter|fast|vg|awk|-|-|awk "{ n += length(\$0); w[\$2]++ } END { print n, NR, length(w) }" services.txt
sed|text|fast|vg|sed|-|-|sed -n "s/^\([0-9]*\)5 the/\1/p" text.txt
grep|text|fast|vg|grep|-|-|grep -c -E "^[0-9]*7 the (quick|slow)" text.txt
sort|text|fast|vg|sort|-|-|sort -r -k1,1n text.txt
gzip|compressor|fast|vg|gzip|-|-|gzip -9 -n -c text.txt
bzip2|compressor|fast|vg|bzip2|-|-|bzip2 -9 -c text.txt
xz|compressor|fast|vg|xz|-|-|xz -6 -T1 -c text.txt
zstd|compressor|fast|vg|zstd|-|-|zstd -q -19 -c text.txt
sqlite3|database|fast|vg|sqlite3|-|-|sqlite3 :memory: "create table t(x, y); with recursive c(i) as (select 1 union all select i + 1 from c where i < 20000) insert into t select i, i % 13 from c; create index ty on t(y); select y, count(*), sum(x) from t group by y;"
git|VCS|fast|vg|git|-|-|git -C repo log --stat --format=%H%n%s
gcc|compiler|fast|-|gcc|f.o|-|gcc -O2 -c f.c -o f.o
make|build tool|fast|-|make|prog|-|make -j2 CC=gcc
openssl|crypto|fast|vg|openssl|-|-|openssl enc -aes-256-cbc -pbkdf2 -k secret -S 0011223344556677 -in text.txt
sha256sum|crypto|fast|vg|sha256sum|-|-|sha256sum text.txt services.txt
tar|archiver|fast|vg|tar|-|-|tar -cf - --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner tree
diff|text|fast|vg|diff|-|-|diff -u --label a --label b a.txt b.txt
jq|interpreter|fast|vg|jq|-|-|jq -c "[.[] | select(.a % 7 == 0) | .b]" data.json
bc|interpreter|fast|vg|bc|-|pi.bc|bc -l
g++|compiler|long|-|g++|m|-|g++ -O1 -o m m.cc
clang|compiler|long|-|clang|f.o|-|clang -O2 -c f.c -o f.o
node|interpreter|long|-|node|-|-|node -e "const m = new Map(); for (let i = 0; i < 100000; i++) m.set(String(i), i); console.log(m.size)"
tclsh|interpreter|long|vg|tclsh|-|-|tclsh t.tcl
cmake|build tool|long|-|cmake|-|-|cmake -S . -B cb -G Ninja -DCMAKE_C_COMPILER=gcc
ninja|build tool|long|-|ninja|-|-|bash -c "cmake -S . -B nb -G Ninja -DCMAKE_C_COMPILER=gcc >/dev/null && ninja -C nb >/dev/null && ./nb/prog"
git-clone|VCS|long|-|git|-|-|bash -c "git clone -q repo c2 && git -C c2 gc -q && git -C c2 log --format=%H"
vim|editor|long|-|vim|out.vim|-|vim -es -u NONE -i NONE -c "%s/fox/cat/g" -c "w! out.vim" -c "q!" text.txt
ed|editor|long|vg|ed|out.ed|script.ed|ed -s text.txt
lz4|compressor|long|vg|lz4|-|-|lz4 -9 -c text.txt
gpg|crypto|long|-|gpg|-|-|gpg --homedir gnupg --batch --quiet --print-md SHA256 text.txt
ssh-keygen|crypto|long|vg|ssh-keygen|-|-|ssh-keygen -l -E sha256 -f key.pub
file|tool|long|vg|file|-|-|file -b /bin/ls /etc/services text.txt
man|documentation|long|-|man|-|-|man -P cat ls
readelf|tool|long|vg|readelf|-|-|readelf -S -W /bin/ls
gdb|debugger|long|-|gdb|-|-|gdb -q -nx --batch -ex "print 6 * 7" -ex "info functions ^main$" /bin/true
xargs|tool|long|-|xargs|-|-|bash -c "seq 1 40 | xargs -P2 -n5 echo | sort"
curl|network|long|-|curl|-|-|curl --version
find|tool|long|vg|find|-|-|find tree -type f -name "*.c"
'

# ---- running one ------------------------------------------------------------------

# A short sha256 of each file named ("missing:NAME" for one that is not there)
digest() {
	local f
	for f in "$@"; do
		[ "$f" = - ] && continue
		if [ -f "$f" ]; then sha256sum <"$f" | cut -c1-16; else echo "missing:$f"; fi
	done
}

now() { date +%s.%N; }

# run_one NAME KIND VALGRIND NEEDS OUTFILES STDIN CMD: one entry of the
# corpus, untraced then traced, compared; a row for the table.
rows=()
run_one() {
	local name=$1 kind=$2 vgok=$3 needs=$4 outfiles=$5 stdin=$6 cmd=$7
	if ! command -v "$needs" >/dev/null 2>&1; then
		skip "$name" "$needs is not installed"
		return
	fi
	# Both runs in the same directory, made afresh for each: programs that
	# print where they work (cmake) print the same.
	local w=$T/w/$name run=$T/w/$name/run
	mkdir -p "$w/traces" "$run"
	(cd "$run" && make_inputs >/dev/null 2>&1)
	local in=/dev/null
	[ "$stdin" != - ] && in=$stdin
	local t0 t1 t2 rc_plain rc_traced dp dt
	t0=$(now)
	(cd "$run" && eval "timeout -k 5 120 $cmd" <"$in" >"$w/out.plain" 2>"$w/err.plain")
	rc_plain=$?
	t1=$(now)
	# shellcheck disable=SC2086
	[ "$outfiles" != - ] && dp=$(cd "$run" && digest $outfiles | tr '\n' ' ')
	rm -rf "$run" && mkdir -p "$run"
	(cd "$run" && make_inputs >/dev/null 2>&1)
	local t1b
	t1b=$(now)
	(cd "$run" && eval "timeout -k 5 120 \"$HS\" run -q -o \"$w/traces/t.hst\" -- $cmd" <"$in" \
		>"$w/out.traced" 2>"$w/err.traced")
	rc_traced=$?
	t2=$(now)
	local same_out=yes same_rc=yes why=""
	if ! cmp -s "$w/out.plain" "$w/out.traced"; then
		same_out=no
		why="stdout differs ($(wc -c <"$w/out.plain") vs $(wc -c <"$w/out.traced") bytes)"
	fi
	if [ "$outfiles" != - ]; then
		# shellcheck disable=SC2086
		dt=$(cd "$run" && digest $outfiles | tr '\n' ' ')
		if [ "$dp" != "$dt" ]; then
			same_out=no
			why="$why output files differ: $dp / $dt"
		fi
	fi
	[ "$rc_plain" -ne "$rc_traced" ] && same_rc=no && why="$why status $rc_traced, untraced $rc_plain"
	# every trace the run wrote, read back
	local ntr bytes bad
	ntr=$(find "$w/traces" -name 't.hst*' ! -name '*.rings' | wc -l)
	bytes=$(find "$w/traces" -name 't.hst*' ! -name '*.rings' -printf '%s\n' | awk '{s += $1} END {print s + 0}')
	bad=$("$HS" info --format json "$w/traces" 2>"$w/info.err" | "$PY" -c '
import json, sys
try:
    j = json.load(sys.stdin)
except Exception:
    print("unreadable"); sys.exit()
tr = j["traces"] if "traces" in j else [j]
bad = [t["trace"].rsplit("/", 1)[-1] + ": " + t.get("truncation", "") for t in tr if t["truncated"]]
if not any(t["total_events"] > 0 for t in tr):
    bad.append("no events")
print("; ".join(bad))' 2>&1)
	[ -s "$w/info.err" ] && bad="$bad $(head -c 200 "$w/info.err")"
	[ -n "$bad" ] && why="$why traces: $bad"
	local ratio
	ratio=$(awk -v a="$t0" -v b="$t1" -v c="$t1b" -v d="$t2" 'BEGIN { p = b - a; t = d - c; if (p < 0.001) p = 0.001; printf "%.1f", t / p }')
	# Valgrind's leak verdict, and heapsnap's
	local vgv="-"
	if [ "$VG" = 1 ] && [ "$vgok" = vg ] && command -v valgrind >/dev/null; then
		mkdir -p "$w/vg"
		(cd "$w/vg" && make_inputs >/dev/null 2>&1 && eval "timeout -k 5 300 valgrind --leak-check=full --log-file=\"$w/vg.log\" $cmd" \
			<"$in" >/dev/null 2>&1)
		local vgdef hsdef
		vgdef=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$w/vg.log" | tr -d , | head -1)
		grep -q "All heap blocks were freed\|no leaks are possible" "$w/vg.log" && vgdef=${vgdef:-0}
		hsdef=$("$HS" leaks --format json "$w/traces/t.hst" 2>/dev/null |
			"$PY" -c 'import json, sys; print(json.load(sys.stdin)["summary"]["definite"]["bytes"])' 2>/dev/null)
		if [ -z "$vgdef" ] || [ -z "$hsdef" ]; then
			vgv="no verdict"
			why="$why valgrind or leaks gave no verdict (valgrind: ${vgdef:-?}, heapsnap: ${hsdef:-?})"
		elif [ "$vgdef" = 0 ] && [ "$hsdef" != 0 ]; then
			vgv="no: heapsnap $hsdef B definite, Valgrind 0"
			why="$why definite leaks: heapsnap $hsdef B where Valgrind has none"
		elif [ "$vgdef" = 0 ]; then
			vgv="yes: 0 definite"
		elif [ "$vgdef" = "$hsdef" ]; then
			vgv="yes: $vgdef B definite in both"
		else
			vgv="Valgrind $vgdef B, heapsnap $hsdef B definite"
		fi
	fi
	if [ -z "$why" ]; then
		ok "$name ($kind): same output and status ($rc_plain), $ntr trace(s) read back, ${ratio}x"
	else
		fail "$name" "$why"
	fi
	rows+=("| $name | $kind | $same_out | $same_rc | ${ratio}x | $bytes ($ntr) | $vgv |")
	rm -rf "$w"
}

while IFS='|' read -r name kind set vgok needs outfiles stdin cmd; do
	[ -z "$name" ] && continue
	[ "$set" = long ] && [ "$LONG" = 0 ] && continue
	run_one "$name" "$kind" "$vgok" "$needs" "$outfiles" "$stdin" "$cmd"
done <<<"$CORPUS"

if [ -n "$TABLE" ]; then
	{
		echo "| program | kind | output same | status same | wall ratio | trace bytes (traces) | Valgrind agreement |"
		echo "| --- | --- | --- | --- | --- | --- | --- |"
		printf '%s\n' "${rows[@]}"
	} >"$TABLE"
fi
finish
