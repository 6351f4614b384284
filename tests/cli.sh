#!/bin/bash
# cli.sh - the command line's conventions (tools/cli.c), for every command
# that `heapsnap --help` lists, so that a command added later is held to
# them too:
#   - `heapsnap CMD -h`, `heapsnap CMD --help` and `heapsnap help CMD`
#     print the same usage on standard output and exit 0;
#   - every option the help lists is accepted as --opt=VALUE as well as
#     --opt VALUE, and means the same (the outputs are compared);
#   - an unknown option, an option without its value, a value given to an
#     option that takes none: one line "heapsnap: CMD: ... (see heapsnap
#     CMD --help)" on standard error and exit status 1.
#
#   bash tests/cli.sh        (make check runs it)
#
# Ends with exactly one line "cli: N passed, M failed"; exits 1 if M > 0.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
HS=${HEAPSNAP_CLI:-$ROOT/build/bin/heapsnap}
PROGS=$ROOT/build/tests/progs

SUITE=cli
. "$(dirname "$0")/harness.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-cli.XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 1

# The commands, from the top-level help: "  NAME   what it does".
"$HS" --help >top.out 2>top.err
rc=$?
mapfile -t CMDS < <(sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p' top.out | grep -vx help)
want="run attach check info leaks cycles top diff report"
missing=""
for c in $want; do
	printf '%s\n' "${CMDS[@]}" | grep -qx "$c" || missing="$missing $c"
done
if [ "$rc" -eq 0 ] && [ ! -s top.err ] && [ -z "$missing" ]; then ok top-help; else
	fail top-help "exit $rc, commands missing:$missing; $(head -c 300 top.out top.err)"
fi
"$HS" help >help.out 2>&1
if cmp -s top.out help.out; then ok help-is-help; else fail help-is-help "heapsnap help differs from --help"; fi
"$HS" >none.out 2>none.err
rc=$?
if [ "$rc" -eq 1 ] && [ ! -s none.out ] && cmp -s top.out none.err; then ok no-command; else
	fail no-command "exit $rc, want 1 and the usage on stderr"
fi

# one_error NAME WANT ARGS...: heapsnap ARGS exits 1 with exactly the line
# WANT on stderr and nothing on stdout.
one_error() {
	local name=$1 want=$2 rc
	shift 2
	"$HS" "$@" >err.out 2>err.err
	rc=$?
	if [ "$rc" -ne 1 ]; then
		fail "$name" "heapsnap $*: exit $rc, want 1 ($(head -c 200 err.err))"
	elif [ "$(cat err.err)" != "$want" ]; then
		fail "$name" "heapsnap $*: stderr '$(head -c 300 err.err | tr '\n' '|')', want '$want'"
	elif [ -s err.out ]; then
		fail "$name" "heapsnap $*: wrote to stdout: $(head -c 200 err.out)"
	else
		ok "$name"
	fi
}

for c in "${CMDS[@]}"; do
	# help, three ways, identical
	"$HS" "$c" --help >"$c.help" 2>"$c.help.err"
	r1=$?
	"$HS" "$c" -h >"$c.h" 2>&1
	r2=$?
	"$HS" help "$c" >"$c.helpcmd" 2>&1
	r3=$?
	if [ "$r1$r2$r3" != 000 ]; then
		fail "help-$c" "exits $r1 $r2 $r3, want 0 0 0: $(head -c 200 "$c.help.err")"
	elif ! head -n 1 "$c.help" | grep -q "^usage: heapsnap $c "; then
		fail "help-$c" "first line '$(head -n 1 "$c.help")', want 'usage: heapsnap $c ...'"
	elif [ -s "$c.help.err" ] || ! cmp -s "$c.help" "$c.h" || ! cmp -s "$c.help" "$c.helpcmd"; then
		fail "help-$c" "--help, -h and help $c differ, or stderr written"
	elif ! grep -q -- '-h, --help' "$c.help"; then
		fail "help-$c" "the help does not list -h, --help"
	else
		ok "help-$c"
	fi
	# the same error line for every kind of mistake
	hint="(see heapsnap $c --help)"
	one_error "unknown-$c" "heapsnap: $c: unknown option '--no-such-option' $hint" "$c" --no-such-option -- true
	one_error "unknown-short-$c" "heapsnap: $c: unknown option '-Z' $hint" "$c" -Z -- true
	# every option of the help: without its value, or a value it does not take
	while read -r opt arg; do
		name=${opt#--}
		if [ -n "$arg" ]; then
			one_error "no-value-$c-$name" "heapsnap: $c: option '$opt' needs a value $hint" "$c" "$opt"
		else
			one_error "flag-value-$c-$name" "heapsnap: $c: option '$opt' takes no value $hint" "$c" "$opt=1" -- true
		fi
	done < <(sed -n 's/^  \(-., \)\{0,1\} *\(--[a-z][a-z-]*\)\( [A-Z][A-Za-z.]*\)\{0,1\}\( .*\)\{0,1\}$/\2\3/p' "$c.help" |
		grep -vx -- --help)
done
one_error help-unknown "heapsnap: unknown command 'frobnicate' (see heapsnap --help)" help frobnicate
one_error unknown-command "heapsnap: unknown command 'frobnicate' (see heapsnap --help)" frobnicate

# ---- --opt=VALUE is --opt VALUE ----------------------------------------------

# same NAME ARGS1 :: ARGS2: both exit alike and print the same (after
# $FILTER, a sed script, if set).
same() {
	local name=$1 a=() b=()
	shift
	while [ "$1" != "::" ]; do a+=("$1"); shift; done
	shift
	b=("$@")
	"$HS" "${a[@]}" 2>a.err | sed -E "${FILTER:-}" >a.out
	local ra=${PIPESTATUS[0]}
	"$HS" "${b[@]}" 2>b.err | sed -E "${FILTER:-}" >b.out
	local rb=${PIPESTATUS[0]}
	if [ "$ra" -ne "$rb" ]; then
		fail "$name" "exit $ra vs $rb: $(head -c 200 a.err) | $(head -c 200 b.err)"
	elif ! cmp -s a.out b.out; then
		fail "$name" "outputs differ: $(diff a.out b.out | head -c 300)"
	elif [ ! -s a.out ]; then
		fail "$name" "no output (exit $ra: $(head -c 200 a.err))"
	else
		ok "$name"
	fi
}

"$HS" run -q --snapshot-signal USR2 -o snaps.hst -- "$PROGS/snapshots" >/dev/null 2>run.err || fail trace "run: $(head -c 200 run.err)"
"$HS" run -q --allocator=system --output=leaky.hst -- "$PROGS/check_leaky" leak >/dev/null 2>run.err
if [ -s leaky.hst ]; then ok run-output-equals; else fail run-output-equals "--output=leaky.hst wrote no trace: $(cat run.err)"; fi
same info-format info --format json snaps.hst :: info --format=json snaps.hst
same info-after info snaps.hst --format json :: info --format json snaps.hst
same leaks-format leaks --format json --kinds all leaky.hst :: leaks --format=json --kinds=all leaky.hst
same leaks-suppressions leaks --suppressions /dev/null leaky.hst :: leaks leaky.hst --suppressions=/dev/null
same cycles-format cycles --format dot leaky.hst :: cycles --format=dot leaky.hst
same top-options top --snapshot s2 --by function --limit 2 --format json snaps.hst :: \
	top --snapshot=s2 --by=function --limit=2 --format=json snaps.hst
same top-include top --include '*snapshots.c' --exclude '*.h' snaps.hst :: top snaps.hst --include='*snapshots.c' --exclude='*.h'
same diff-from-to diff --from s0 --to s3 --by file snaps.hst :: diff snaps.hst --from=s0 --to=s3 --by=file
# the pids and the trace directory differ from run to run
FILTER='s/"(pid|ppid|trace|address)": ("[^"]*"|[0-9]+)//g' same check-options check --fail-on definite --error-exitcode 9 --format json -- "$PROGS/check_leaky" leak :: \
	check --fail-on=definite --error-exitcode=9 --format=json -- "$PROGS/check_leaky" leak
one_error attach-duration-equals "heapsnap: attach: --duration takes seconds > 0, not 'x' (see heapsnap attach --help)" \
	attach --duration=x 1
"$HS" report --output=page.html --from=s0 --to=s3 snaps.hst >report.out 2>report.err
if [ $? -eq 0 ] && grep -q '<html' page.html; then ok report-output-equals; else
	fail report-output-equals "$(head -c 200 report.err)"
fi
# the program's own options are its own
"$HS" run -q -o prog.hst -- /bin/echo --format=x -h >prog.out 2>prog.err
if [ "$(cat prog.out)" = "--format=x -h" ]; then ok run-program-options; else
	fail run-program-options "got '$(cat prog.out)', $(head -c 200 prog.err)"
fi
"$HS" run -q -o prog2.hst /bin/sh -c 'echo "$*"' sh --help -o x >prog.out 2>prog.err
if [ "$(cat prog.out)" = "--help -o x" ]; then ok run-program-options-no-dashes; else
	fail run-program-options-no-dashes "got '$(cat prog.out)', $(head -c 200 prog.err)"
fi

finish
