# check_suite.mk - a small test suite that make drives, for tests/check.sh:
# each recipe line is a process that /bin/sh forks and execs, like the
# `make check` of another project.  Only check_leaky leaks.
P ?= ./check_leaky
PY ?= python3
all:
	PYTHONMALLOC=malloc $(PY) -c 'import json; print(json.dumps({"a": [1, 2]}))'
	sqlite3 :memory: 'create table t(x); insert into t values (1), (2); select sum(x) from t;'
	git --version
	$(P) leak
	$(P) leak2
