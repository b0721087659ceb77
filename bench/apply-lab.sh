#!/bin/sh
# Benchmark: apply N running VMs (default 30, each with a 64 MiB qcow2
# disk and a NIC) spread over the lab's 3 hosts, at --parallelism 1 and at
# the default 10; then a no-op plan; then destroy.  Prints wall times.  A
# benchmark prints figures; it is not a pass/fail test.  Brings the lab up
# if needed (and takes it down again if it did).
#
#   bench/apply-lab.sh [N]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
vf=${VIRTFORM:-$top/virtform}
lab=$top/contrib/lab/lab
n=${1:-30}
dir=$(mktemp -d "${TMPDIR:-/tmp}/vf-bench-apply.XXXXXX")
lab_was_up=1
"$lab" status >/dev/null 2>&1 || lab_was_up=0
cleanup() {
	"$vf" destroy "$dir/conf" --auto-approve --state-dir "$dir/state" >/dev/null 2>&1 || :
	[ "$lab_was_up" = 1 ] || "$lab" down >/dev/null 2>&1 || :
	rm -rf "$dir"
}
trap cleanup EXIT
"$lab" up >/dev/null
"$lab" status >/dev/null

mkdir "$dir/conf"
cp "$top/examples/lab/hosts.yaml" "$dir/conf/"
awk -v n="$n" 'BEGIN {
	print "version: 1"
	print "project: vfbench"
	print "clusters: [{name: lab}]"
	print "networks: [{name: vfbench-net, mode: isolated}]"
	print "storage_domains: [{name: vfbench-data, type: dir, path: /var/lib/libvirt/virtform/vfbench}]"
	print "vms:"
	for (i = 1; i <= n; i++)
		printf "  - {name: vfbench%d, cpus: 1, memory: 64MiB, graphics: none, shutdown_timeout: 1, disks: [{name: root, size: 64MiB, storage: vfbench-data}], nics: [{network: vfbench-net}]}\n", i
}' >"$dir/conf/main.yaml"

t() {   # t LABEL COMMAND...: print the wall time of COMMAND
	label=$1
	shift
	start=$(date +%s.%N)
	"$@" >"$dir/out" 2>&1 || { cat "$dir/out"; exit 1; }
	awk -v l="$label" -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%-40s %6.2f s\n", l, b - a }'
}

echo "$n VMs on 3 lab hosts ($(nproc) cores)"
t "apply, --parallelism 1" "$vf" apply "$dir/conf" --auto-approve --parallelism 1 --state-dir "$dir/state"
t "no-op plan" "$vf" plan "$dir/conf" --detailed-exitcode --state-dir "$dir/state"
t "destroy, --parallelism 1" "$vf" destroy "$dir/conf" --auto-approve --parallelism 1 --state-dir "$dir/state"
t "apply, --parallelism 10 (default)" "$vf" apply "$dir/conf" --auto-approve --state-dir "$dir/state"
t "destroy, --parallelism 10" "$vf" destroy "$dir/conf" --auto-approve --state-dir "$dir/state"
