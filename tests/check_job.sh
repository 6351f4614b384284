#!/bin/bash
# check_job.sh - a multi-process job made only of Debian binaries, for
# tests/check.sh: bash drives mktemp, git, wc, sqlite3, python3, cat and rm.
# Some of them leak a little at exit (git's config and commit paths,
# mktemp); check must attribute each leak to the executable Valgrind does.
set -e
d=$(mktemp -d)
cd "$d"
git init -q .
git config user.email ci@example.org
git config user.name ci
echo hi >f
git add f
git commit -qm one
git log --oneline | wc -l
sqlite3 db 'create table t(x); insert into t values (1), (2), (3); select count(*) from t;'
PYTHONMALLOC=malloc "${PY:-python3}" -c 'import json; print(len(json.dumps(list(range(100)))))'
if [ -f f ]; then bash -c 'exec cat f'; fi
cd /
rm -rf "$d"
