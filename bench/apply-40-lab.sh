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
n=40
runs=5
hosts=2
lab_up_opt=
while [ $# -gt 0 ]; do
	case $1 in
	-n) n=$2; shift 2 ;;
	-r) runs=$2; shift 2 ;;
	--hosts) hosts=$2; shift 2 ;;
	--lab-up) lab_up_opt=--lab-up; shift ;;
	*) echo "usage: $0 [-n VMS] [-r RUNS] [--hosts N] [--lab-up]" >&2; exit 2 ;;
	esac
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/vfp-apply.XXXXXX")
. "$top/bench/perf-lib.sh"
state=$dir/state
conf=$dir/conf.yaml
configured=0

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
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

perf_tools
perf_lab_hosts "$hosts" $lab_up_opt
echo "$lab_uris" | awk -v n="$n" 'BEGIN {
	print "version: 1"
	print "project: vfp-apply"
	print "clusters: [{name: vfp-apply}]"
	print "hosts:"
}
{ printf "  - {name: lab%d, cluster: vfp-apply, uri: \"%s\"}\n", NR, $1 }
END {
	print "vms:"
	for (i = 1; i <= n; i++)
		printf "  - {name: vfp-a%02d, cpus: 1, memory: 64MiB, graphics: none, state: running, shutdown_timeout: 1}\n", i
}' >"$conf"
"$vf" validate "$conf" >/dev/null
configured=1

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
perf_header
perf_row "virtform apply, wall" s "$dir/apply.t" 1
perf_row "raw define+start, wall" s "$dir/raw.t" 1
perf_ratios "$dir/apply.t" "$dir/raw.t" 1 |
	awk '{ printf "  %-34s %9.2f %9.2f %9.2f  (bar: <= 1.2)\n", "ratio apply / raw (pairwise)", $1, $2, $3 }'
awk '{ print $2 + $3 }' "$dir/apply.t" >"$dir/apply.cpu"
awk '{ print $2 + $3 }' "$dir/raw.t" >"$dir/raw.cpu"
perf_row "virtform apply, CPU (user+sys)" s "$dir/apply.cpu" 1
perf_row "raw define+start, CPU (user+sys)" s "$dir/raw.cpu" 1
