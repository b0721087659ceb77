#!/bin/sh
# The performance bar of issue 4, all three figures (make bench-perf):
#
#   noop   no-op plan of 1,000 managed VMs on 4 lab hosts vs the raw floor
#          (bench/plan-noop-lab.sh; bar: <= 1.5x)
#   apply  apply of 40 running VMs on 2 lab hosts vs raw define + start
#          (bench/apply-40-lab.sh; bar: <= 1.2x)
#   rss    peak RSS of plan at 10,000 VMs (bench/plan-rss.sh; bar: < 64 MiB)
#
#   bench/perf.sh [noop|apply|rss]... [--lab-up]
#
# Each script sets up what it measures, prints min / median / max over
# interleaved runs, and cleans up (also when interrupted).  Options of
# each are in its header; docs/performance.md has the figures.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
what=
opt=
for a in "$@"; do
	case $a in
	noop | apply | rss) what="$what $a" ;;
	--lab-up) opt=--lab-up ;;
	*) echo "usage: $0 [noop|apply|rss]... [--lab-up]" >&2; exit 2 ;;
	esac
done
[ -n "$what" ] || what="noop apply rss"
failed=
for w in $what; do
	rc=0
	case $w in
	noop) "$top/bench/plan-noop-lab.sh" $opt || rc=$? ;;
	apply) "$top/bench/apply-40-lab.sh" $opt || rc=$? ;;
	rss) "$top/bench/plan-rss.sh" || rc=$? ;;
	esac
	# an interrupt stops everything; a failed benchmark only itself
	[ "$rc" -lt 128 ] || exit "$rc"
	[ "$rc" -eq 0 ] || failed="$failed $w"
	echo
done
if [ -n "$failed" ]; then
	echo "bench: failed:$failed" >&2
	exit 1
fi
