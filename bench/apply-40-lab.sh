#!/bin/sh
# Benchmark: `virtform apply` of N running VMs (default 40; 64 MiB, 1
# vCPU, no disk, no NIC) across 2 lab hosts, against a raw parallel
# define + start of the same domains in the same run: build/bench/raw-apply
# (bench/raw-apply.c) defines and starts the domain XML virtform wrote
# (dumped with `virsh dumpxml --inactive` after a first apply, <uuid>
# dropped), with virtform's parallelism (10 threads, one connection per
# host).  The bar (issue 4): apply <= 1.2x the raw define + start.
#
# Each round: virtform apply (timed), virtform destroy; raw-apply up
# (timed), raw-apply down.  Domains are named vfp-aNN, project vfp-apply.
# A benchmark prints figures; it is not a pass/fail test.
#
#   bench/apply-40-lab.sh [-n VMS] [-r RUNS] [--hosts N] [--lab-up]
#
# Safe to interrupt: everything is destroyed on exit (virtform destroy
# finds raw-defined domains too: they carry the same marker).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
perf_usage="usage: $0 [-n VMS] [-r RUNS] [--hosts N] [--lab-up]"
. "$top/bench/perf-lib.sh"
perf_lab_init vfp-apply 40 5 2 -- "$@"
state=$dir/state

destroy_all() {
	[ ! -s "$dir/list" ] || "$raw_apply" down "$dir/list" >>"$dir/down.log" 2>&1 || :
	"$vf" destroy "$conf" --auto-approve --state-dir "$state" >"$dir/destroy.log" 2>&1
}

cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	if [ "$configured" = 1 ]; then
		echo "cleaning up"
		destroy_all || { tail -n 20 "$dir/destroy.log"; rc=1; }
		perf_check_left vfp-a || rc=1
	fi
	rm -rf "$dir"
	exit "$rc"
}
perf_lab_setup vfp-apply vfp-a%02d running

echo "apply: $n running VMs on $hosts lab hosts ($(nproc) cores, $runs runs each, interleaved)"
# A first apply (not counted) gives the XML virtform defines, and where
# each domain goes.
"$vf" apply "$conf" --auto-approve --state-dir "$state" >"$dir/apply.log" 2>&1 ||
	{ tail -n 20 "$dir/apply.log"; exit 1; }
: >"$dir/list"
h=0
for uri in $lab_uris; do
	h=$((h + 1))
	for name in $(virsh -q -c "$uri" list --all --name | grep '^vfp-a' | sort); do
		virsh -q -c "$uri" dumpxml --inactive "$name" | grep -v '<uuid>' >"$dir/$name.xml"
		echo "$uri $name $dir/$name.xml" >>"$dir/list"
	done
done
sort -k 2 "$dir/list" >"$dir/list.sorted" && mv "$dir/list.sorted" "$dir/list"
[ "$(wc -l <"$dir/list")" -eq "$n" ] || { echo "bench: expected $n domains after apply" >&2; exit 1; }
destroy_all || { tail -n 20 "$dir/destroy.log"; exit 1; }

i=0
while [ "$i" -lt "$runs" ]; do
	perf_run "$dir/apply.t" "$vf" apply "$conf" --auto-approve --state-dir "$state" ||
		{ tail -n 20 "$dir/out.last" >&2; exit 1; }
	destroy_all || { tail -n 20 "$dir/destroy.log"; exit 1; }
	perf_run "$dir/raw.t" "$raw_apply" up "$dir/list" || { cat "$dir/out.last" >&2; exit 1; }
	destroy_all || { tail -n 20 "$dir/destroy.log"; exit 1; }
	i=$((i + 1))
done
perf_compare "virtform apply" "$dir/apply.t" "raw define+start" "$dir/raw.t" \
	"ratio apply / raw (pairwise)" 1.2
