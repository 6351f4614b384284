#!/bin/bash
# many.sh - a shell job of many short processes (bench/many.sh): each
# round a command substitution whose pipeline forks a subshell and execs
# tr, about 4 traced process images a round.
#
#   bash many.sh [ROUNDS]      (default 450: about 1,800 traces)
n=0
for i in $(seq 1 "${1:-450}"); do
	a=$(echo "$i" | tr 0-9 a-j)
	n=$((n + ${#a}))
done
echo "$n"
