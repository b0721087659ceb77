#!/bin/sh
# Benchmark: peak RSS (and wall time) of `virtform plan` at 10,000 VMs.
# The bar (issue 4): < 64 MiB.
#
# A plan of N new VMs (default 10,000) over 4 hosts on libvirt's test
# driver (test:///default: no lab needed), in two shapes:
#
#   full  the VMs of bench/load-10k.sh: two disks (one cloned from an
#         image), a NIC, VNC; 20 networks, 10 storage domains — 30,000+
#         resources to create
#   bare  1 vCPU, 64 MiB, no disk, no NIC
#
# With --lab, also a no-op plan of N managed VMs on the lab's hosts (4,
# or --hosts N) (bench/plan-noop-lab.sh -n N: defines them with virtform
# apply — a few minutes for 10,000 — measures, destroys them).
# A benchmark prints figures; it is not a pass/fail test.
#
#   bench/plan-rss.sh [-n VMS] [-r RUNS] [--lab] [--hosts N] [--lab-up]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
perf_usage="usage: $0 [-n VMS] [-r RUNS] [--lab] [--hosts N] [--lab-up]"
. "$top/bench/perf-lib.sh"
perf_lab_init vfp-rss 10000 5 4 --lab=with_lab -- "$@"
trap 'rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM HUP
vf=${VIRTFORM:-$top/virtform}
[ -x "$vf" ] || { echo "bench: no virtform at $vf (run make)" >&2; exit 1; }

# gen SHAPE: the config of a plan of $n new VMs over 4 test-driver hosts
gen() {
	awk -v n="$n" -v shape="$1" "$perf_fleet_awk"'BEGIN {
		print "version: 1"
		print "project: vfp-rss"
		print "clusters:"
		print "  - {name: prod, scheduling: evenly_distributed}"
		print "hosts:"
		for (h = 1; h <= 4; h++)
			printf "  - {name: hyper%d, cluster: prod, uri: \"test:///default\"}\n", h
		if (shape == "full")
			fleet_fabric()
		print "vms:"
		for (v = 0; v < n; v++) {
			if (shape == "bare") {
				printf "  - {name: vfp-r%05d, cpus: 1, memory: 64MiB, state: stopped}\n", v
				continue
			}
			printf "  - name: vfp-r%05d\n", v
			fleet_vm(v, "data1")
		}
	}' >"$dir/$1.yaml"
}

echo "plan of $n new VMs over 4 test:///default hosts ($(nproc) cores, $runs runs)"
perf_header
for shape in full bare; do
	gen "$shape"
	"$vf" plan "$dir/$shape.yaml" --state-dir "$dir/state-$shape" >"$dir/plan.out" 2>&1 ||
		{ tail -n 20 "$dir/plan.out" >&2; exit 1; }
	summary=$(tail -n 1 "$dir/plan.out")
	i=0
	while [ "$i" -lt "$runs" ]; do
		perf_run "$dir/$shape.t" "$vf" plan "$dir/$shape.yaml" --state-dir "$dir/state-$shape" ||
			{ tail -n 20 "$dir/out.last" >&2; exit 1; }
		i=$((i + 1))
	done
	echo "  $shape: $(wc -c <"$dir/$shape.yaml" | awk '{ printf "%.1f MiB of YAML", $1 / 1048576 }'); $summary"
	perf_row "virtform plan ($shape), peak RSS" "MiB (bar: < 64)" "$dir/$shape.t" 4 0.0009765625
	perf_row "virtform plan ($shape), wall" s "$dir/$shape.t" 1
done

if [ "$with_lab" = 1 ]; then
	echo
	"$top/bench/plan-noop-lab.sh" -n "$n" -r "$runs" --hosts "$hosts" $lab_up_opt
fi
