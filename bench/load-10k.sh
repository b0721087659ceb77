#!/bin/sh
# Benchmark: load and check a generated configuration of N VMs (default
# 10,000) spread over 50 hosts, 20 networks and 10 storage domains, with
# `virtform validate`.  Prints wall time and peak RSS per run and the median;
# the target on a 2-core machine is < 200 ms and < 64 MiB.  A benchmark
# prints figures; it is not a pass/fail test.
#
#   bench/load-10k.sh [N] [RUNS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
vf=${VIRTFORM:-$top/virtform}
n=${1:-10000}
runs=${2:-7}
dir=$(mktemp -d "${TMPDIR:-/tmp}/vf-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT

. "$top/bench/perf-lib.sh"

awk -v n="$n" "$perf_fleet_awk"'BEGIN {
	print "version: 1"
	print "clusters:"
	print "  - {name: prod, scheduling: evenly_distributed}"
	print "hosts:"
	for (h = 1; h <= 50; h++)
		printf "  - {name: hyper%d, cluster: prod, uri: \"qemu+ssh://root@hyper%d.example.com/system\", labels: {rack: r%d}}\n", h, h, h % 5
	fleet_fabric()
	print "vms:"
	for (v = 0; v < n; v++) {
		printf "  - name: vm%05d\n", v
		printf "    cluster: prod\n"
		printf "    host: hyper%d\n", v % 50 + 1
		fleet_vm(v, "data" (v % 10 + 1))
	}
}' > "$dir/config.yaml"

size=$(wc -c < "$dir/config.yaml")
echo "config: $n vms, $(wc -l < "$dir/config.yaml") lines, $((size / 1024)) KiB"
"$vf" validate "$dir/config.yaml"

i=0
: > "$dir/times"
while [ $i -lt "$runs" ]; do
	/usr/bin/time -f '%e %M' -o "$dir/t" "$vf" validate "$dir/config.yaml" > /dev/null
	read -r secs kib < "$dir/t"
	echo "run $((i + 1)): $(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1000 }') ms, $((kib / 1024)) MiB peak RSS"
	echo "$secs $kib" >> "$dir/times"
	i=$((i + 1))
done
sort -n "$dir/times" | awk -v runs="$runs" '
	{ t[NR] = $1; if ($2 > m) m = $2 }
	END {
		med = t[int((runs + 1) / 2)] * 1000
		printf "median: %.0f ms (target < 200 ms); peak RSS: %.1f MiB (target < 64 MiB)\n", med, m / 1024
	}'
