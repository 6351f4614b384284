#!/bin/bash
# man.sh - mandoc's lint of every manual page, warnings included.
# Ends with "man: N passed, M failed"; exits 1 if M > 0.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SUITE=man
. "$ROOT/tests/harness.sh"
for page in "$ROOT"/man/*.[0-9]; do
	if out=$(mandoc -Tlint -W warning "$page" 2>&1); then
		ok "$(basename "$page")"
	else
		fail "$(basename "$page")" "$out"
	fi
done
finish
