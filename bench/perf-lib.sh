# bench/perf-lib.sh — helpers shared by the performance benchmarks
# (bench/plan-noop-lab.sh, bench/apply-40-lab.sh, bench/plan-rss.sh).
# Sourced, not run.  Needs $top (the repository) and $dir (a private
# temporary directory the caller removes).
#
#   perf_tools                  set $vf, $floor, $raw_apply (building the raw tools if needed)
#   perf_lab_hosts N [--lab-up] make sure lab1..labN answer; sets $lab_uris (one per line)
#   perf_run FILE CMD...        run CMD once; append "WALL USER SYS RSS_KIB EXIT" to FILE
#   perf_stats FILE COL         "MIN MEDIAN MAX" of column COL of FILE
#   perf_ratios A B COL         "MIN MEDIAN MAX" of A[i]/B[i], line by line
#   perf_row LABEL UNIT FILE COL [SCALE]   one table row: min, median, max
#
# Timing: wall-clock from `date +%s%N` around the command; user, system
# and peak RSS (the largest single process, KiB) from GNU time
# (/usr/bin/time, Debian package `time`).  Runs of two commands are
# interleaved (A B A B ...) by the callers, and ratios are taken pair by
# pair, so a machine whose speed drifts (other jobs) skews both alike.

# The caller sets top and dir; the variables set here are the caller's.
# shellcheck shell=sh disable=SC2034,SC2154

lab=$top/contrib/lab/lab

perf_tools() {
	vf=${VIRTFORM:-$top/virtform}
	bin=${VF_BENCH_BIN:-$top/build/bench}
	if [ ! -x "$bin/floor" ] || [ ! -x "$bin/raw-apply" ]; then
		make -C "$top" -s bench-tools BUILD="${bin%/bench}" >/dev/null
	fi
	floor=$bin/floor
	raw_apply=$bin/raw-apply
	[ -x "$vf" ] || { echo "bench: no virtform at $vf (run make)" >&2; exit 1; }
	[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time is missing (apt-get install time)" >&2; exit 1; }
}

# perf_lab_hosts N [--lab-up]: lab1..labN must answer.  With no lab at
# all, bring one up with N hosts.  A lab of another size is left alone
# (`lab up N` would take it down first, under whoever is using it) unless
# it already has lab1..labN or --lab-up is given.
perf_lab_hosts() {
	_n=$1
	_have=0
	"$lab" status >"$dir/lab-status" 2>&1 || :
	_i=1
	while [ "$_i" -le "$_n" ]; do
		grep -q "^lab$_i .*answers" "$dir/lab-status" || break
		_have=$_i
		_i=$((_i + 1))
	done
	if [ "$_have" -lt "$_n" ]; then
		if grep -q '^lab[0-9]' "$dir/lab-status" && [ "${2:-}" != --lab-up ]; then
			echo "bench: the lab has not lab1..lab$_n answering:" >&2
			cat "$dir/lab-status" >&2
			echo "bench: 'contrib/lab/lab up $_n' would take that lab down first; do it" \
			     "when nobody else uses it (or pass --lab-up)" >&2
			exit 1
		fi
		"$lab" up "$_n" >"$dir/lab-up.log" 2>&1 || { cat "$dir/lab-up.log" >&2; exit 1; }
		"$lab" status >"$dir/lab-status" 2>&1 || { cat "$dir/lab-status" >&2; exit 1; }
	fi
	lab_uris=$(awk -v n="$_n" '$1 ~ /^lab[0-9]+$/ && substr($1, 4) + 0 <= n { print $3 }' \
		"$dir/lab-status")
}

perf_run() {
	_file=$1
	shift
	_t0=$(date +%s%N)
	_rc=0
	/usr/bin/time -f '%U %S %M' -o "$dir/time.last" "$@" >"$dir/out.last" 2>&1 || _rc=$?
	_t1=$(date +%s%N)
	# GNU time puts "Command exited with non-zero status N" first
	tail -n 1 "$dir/time.last" | awk -v a="$_t0" -v b="$_t1" -v rc="$_rc" \
		'{ printf "%.4f %s %s %s %s\n", (b - a) / 1e9, $1, $2, $3, rc }' >>"$_file"
	return "$_rc"
}

perf_stats() {
	awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '
		{ v[NR] = $1 }
		END {
			if (!NR) { print "- - -"; exit }
			med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			print v[1], med, v[NR]
		}'
}

perf_ratios() {
	paste -d ' ' "$1" "$2" | awk -v c="$3" '{ n = NF / 2; if ($(n + c) > 0) print $c / $(n + c) }' \
		>"$dir/ratios"
	perf_stats "$dir/ratios" 1
}

# perf_row LABEL UNIT FILE COL [SCALE]
perf_row() {
	perf_stats "$3" "$4" | awk -v l="$1" -v u="$2" -v s="${5:-1}" \
		'{ printf "  %-34s %9.3f %9.3f %9.3f  %s\n", l, $1 * s, $2 * s, $3 * s, u }'
}

perf_header() {
	printf '  %-34s %9s %9s %9s\n' "" min median max
}

# perf_check_left PREFIX: say whether any domain named PREFIX* is left on
# the lab hosts ($lab_uris, $hosts); 1 when some are.
perf_check_left() {
	_left=0
	for _uri in $lab_uris; do
		_c=$(virsh -q -c "$_uri" list --all --name 2>/dev/null | grep -c "^$1" || :)
		_left=$((_left + _c))
	done
	if [ "$_left" -ne 0 ]; then
		echo "  WARNING: $_left $1* domains remain on the lab" >&2
		return 1
	fi
	echo "  no $1* domain remains on lab1..lab$hosts"
}

# perf_lab_config PROJECT NAME_FORMAT STATE N: a config of N small VMs
# (1 vCPU, 64 MiB, no graphics, in STATE: running or stopped), named by
# NAME_FORMAT (printf, e.g. vfp-n%05d), spread over the lab hosts
# ($lab_uris), on stdout.
perf_lab_config() {
	echo "$lab_uris" | awk -v project="$1" -v fmt="$2" -v state="$3" -v n="$4" 'BEGIN {
		print "version: 1"
		print "project: " project
		print "clusters: [{name: " project "}]"
		print "hosts:"
	}
	{ printf "  - {name: lab%d, cluster: %s, uri: \"%s\", insecure_transport: true}\n", NR, project, $1 }
	END {
		print "vms:"
		for (i = 1; i <= n; i++)
			printf "  - {name: " fmt ", cpus: 1, memory: 64MiB, graphics: none, state: %s, shutdown_timeout: 1}\n", i, state
	}'
}
