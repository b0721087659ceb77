#!/bin/sh
# Benchmark: a no-op `virtform plan` of N managed VMs (default 1,000)
# spread over the lab's 4 hosts, against the raw floor measured in the
# same run: build/bench/floor (bench/floor.c) opens each host, lists its
# domains and reads each one's XML once — one thread per host, hosts in
# parallel, nothing else.  The bar (issue 4): plan <= 1.5x the floor.
#
# The VMs (64 MiB, 1 vCPU, no disk, stopped) are defined by `virtform
# apply` itself (its time is printed too), measured, then removed with
# `virtform destroy`.  Domains are named vfp-nNNNNN, project vfp-noop.
# A benchmark prints figures; it is not a pass/fail test.
#
#   bench/plan-noop-lab.sh [-n VMS] [-r RUNS] [--hosts N] [--lab-up] [--keep]
#
#   -n VMS      VMs to define (default 1000; 10000 gives the no-op plan's
#               peak RSS at 10,000 managed VMs, in a few minutes)
#   -r RUNS     runs of each command, interleaved (default 7)
#   --hosts N   lab hosts to spread over (default 4)
#   --lab-up    bring the lab up with N hosts even when a lab of another
#               size is up (that takes it down first: nobody else may use it)
#   --keep      leave the VMs defined (the next run reuses them)
#
# Safe to interrupt: the VMs are destroyed on exit (unless --keep), and a
# later run adopts any left behind (they carry the vfp-noop marker).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
perf_usage="usage: $0 [-n VMS] [-r RUNS] [--hosts N] [--lab-up] [--keep]"
. "$top/bench/perf-lib.sh"
perf_lab_init vfp-noop 1000 7 4 --keep=keep -- "$@"
# The state lives outside $dir so --keep can reuse it; losing it loses
# nothing (the domains carry their marker).
state=${TMPDIR:-/tmp}/vfp-noop.state

cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	if [ "$configured" = 1 ] && [ "$keep" = 0 ]; then
		echo "cleaning up: virtform destroy of the vfp-noop VMs"
		t0=$(date +%s%N)
		"$vf" destroy "$conf" --auto-approve --state-dir "$state" >"$dir/destroy.log" 2>&1 ||
			{ tail -n 20 "$dir/destroy.log"; rc=1; }
		awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { printf "  destroy: %.2f s\n", (b - a) / 1e9 }'
		perf_check_left vfp-n || rc=1
		rm -rf "$state"
	fi
	rm -rf "$dir"
	exit "$rc"
}
perf_lab_setup vfp-noop vfp-n%05d stopped

echo "no-op plan: $n managed VMs on $hosts lab hosts ($(nproc) cores, $runs runs each, interleaved)"
t0=$(date +%s%N)
"$vf" apply "$conf" --auto-approve --state-dir "$state" >"$dir/apply.log" 2>&1 ||
	{ tail -n 20 "$dir/apply.log"; exit 1; }
awk -v a="$t0" -v b="$(date +%s%N)" -v n="$n" 'BEGIN {
	printf "  setup: virtform apply of %d stopped VMs: %.2f s\n", n, (b - a) / 1e9 }'
grep '^Apply\|^No changes' "$dir/apply.log" | sed 's/^/    /'
if ! "$vf" plan "$conf" --detailed-exitcode --state-dir "$state" >"$dir/plan.log" 2>&1; then
	echo "bench: the plan after apply is not empty:" >&2
	tail -n 20 "$dir/plan.log" >&2
	exit 1
fi

# one warm-up of each, not counted
"$vf" plan "$conf" --state-dir "$state" >/dev/null 2>&1
# shellcheck disable=SC2086
"$floor" -q $lab_uris >/dev/null 2>&1
i=0
while [ "$i" -lt "$runs" ]; do
	perf_run "$dir/plan.t" "$vf" plan "$conf" --detailed-exitcode --state-dir "$state" ||
		{ cat "$dir/out.last" >&2; exit 1; }
	# shellcheck disable=SC2086
	perf_run "$dir/floor.t" "$floor" -q $lab_uris || { cat "$dir/out.last" >&2; exit 1; }
	i=$((i + 1))
done
grep '^total' "$dir/out.last" | sed 's/^total: /  floor reads: /'
perf_compare "virtform plan" "$dir/plan.t" "floor" "$dir/floor.t" \
	"ratio plan / floor (pairwise)" 1.5
perf_row "virtform plan, peak RSS" MiB "$dir/plan.t" 4 0.0009765625
perf_row "floor, peak RSS" MiB "$dir/floor.t" 4 0.0009765625
