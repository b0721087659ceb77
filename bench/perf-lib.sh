# bench/perf-lib.sh — helpers shared by the performance benchmarks
# (bench/plan-noop-lab.sh, bench/apply-40-lab.sh, bench/plan-rss.sh,
# bench/load-10k.sh).
# Sourced, not run.  Needs $top (the repository) and $dir (a private
# temporary directory the caller removes).
#
#   perf_tools                  set $vf, $floor, $raw_apply (building the raw tools if needed)
#   perf_lab_hosts N [--lab-up] make sure lab1..labN answer; sets $lab_uris (one per line)
#   perf_run FILE CMD...        run CMD once; append "WALL USER SYS RSS_KIB EXIT" to FILE
#   perf_stats FILE COL         "MIN MEDIAN MAX" of column COL of FILE
#   perf_ratios A B COL         "MIN MEDIAN MAX" of A[i]/B[i], line by line
#   perf_row LABEL UNIT FILE COL [SCALE]   one table row: min, median, max
#   perf_compare A FILE_A B FILE_B RATIO BAR  the table of A against B (wall, ratio, CPU)
#   perf_lab_init NAME VMS RUNS HOSTS [--FLAG=VAR]... -- ARGS...
#                               defaults, options, $dir, $conf; configured=0
#   perf_lab_arg ARGS...        one of -n, -r, --hosts, --lab-up, a --FLAG; sets perf_shift
#   perf_lab_setup PROJECT NAME_FORMAT STATE  traps, tools, lab, $conf; configured=1
#   $perf_fleet_awk             awk functions: the fleet of load-10k.sh and plan-rss.sh
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

# perf_compare A FILE_A B FILE_B RATIO BAR: the table of command A's runs
# against B's (interleaved, perf_run): wall times, the pairwise ratio A / B
# against its bar (<= BAR), CPU times (user + system).
perf_compare() {
	perf_header
	perf_row "$1, wall" s "$2" 1
	perf_row "$3, wall" s "$4" 1
	perf_ratios "$2" "$4" 1 | awk -v l="$5" -v bar="$6" \
		'{ printf "  %-34s %9.2f %9.2f %9.2f  (bar: <= %s)\n", l, $1, $2, $3, bar }'
	awk '{ print $2 + $3 }' "$2" >"$2.cpu"
	awk '{ print $2 + $3 }' "$4" >"$4.cpu"
	perf_row "$1, CPU (user+sys)" s "$2.cpu" 1
	perf_row "$3, CPU (user+sys)" s "$4.cpu" 1
}

# perf_lab_arg ARGS...: the options the lab benchmarks share (-n VMS,
# -r RUNS, --hosts N, --lab-up), setting n, runs, hosts, lab_up_opt, and
# the caller's own flags ($perf_flags, perf_lab_init), setting their
# variable to 1; and perf_shift (how many words it took).  Anything else:
# $perf_usage, exit 2.
perf_lab_arg() {
	case $1 in
	-n) n=$2; perf_shift=2 ;;
	-r) runs=$2; perf_shift=2 ;;
	--hosts) hosts=$2; perf_shift=2 ;;
	--lab-up) lab_up_opt=--lab-up; perf_shift=1 ;;
	*)
		case " $perf_flags " in
		*" $1="*)
			_var=${perf_flags#*"$1="}
			eval "${_var%% *}=1"
			perf_shift=1 ;;
		*) echo "$perf_usage" >&2; exit 2 ;;
		esac ;;
	esac
}

# perf_lab_init NAME VMS RUNS HOSTS [--FLAG=VAR]... -- ARGS...: how every
# benchmark starts: the defaults n=VMS, runs=RUNS, hosts=HOSTS, lab_up_opt
# empty, each VAR 0 (--FLAG, a flag of the caller's own, sets it to 1);
# then its options ARGS (perf_lab_arg); $dir, a new private directory
# ${TMPDIR:-/tmp}/NAME.XXXXXX (the caller removes it); conf=$dir/conf.yaml;
# configured=0 (perf_lab_setup sets it).
perf_lab_init() {
	_name=$1
	n=$2
	runs=$3
	hosts=$4
	shift 4
	lab_up_opt=
	perf_flags=
	while [ "$1" != -- ]; do
		perf_flags="$perf_flags $1"
		eval "${1#*=}=0"
		shift
	done
	shift
	while [ $# -gt 0 ]; do
		perf_lab_arg "$@"
		shift "$perf_shift"
	done
	dir=$(mktemp -d "${TMPDIR:-/tmp}/$_name.XXXXXX")
	conf=$dir/conf.yaml
	configured=0
}

# The fleet of the CPU and memory benchmarks, as awk functions to prepend
# to a program: fleet_fabric() prints 20 networks, 10 storage domains and
# an image; fleet_vm(v, root) the body of VM v (after its name): CPUs and
# memory varying with v, two disks (root, cloned from the image, on
# storage root), a NIC, VNC, HA.
perf_fleet_awk='
function fleet_fabric(  i) {
	print "networks:"
	for (i = 1; i <= 20; i++)
		printf "  - {name: vlan%d, mode: bridge, vlan: %d, uplink: bond0, mtu: 9000}\n", i, 100 + i
	print "storage_domains:"
	for (i = 1; i <= 10; i++)
		printf "  - {name: data%d, type: dir, path: /var/lib/virtform/data%d}\n", i, i
	print "images:"
	print "  - {name: debian12, file: images/debian-12.qcow2, storage: data1}"
}
function fleet_vm(v, root) {
	printf "    cpus: %d\n", v % 4 + 1
	printf "    memory: %dMiB\n", 512 * (v % 8 + 1)
	printf "    state: running\n"
	printf "    autostart: true\n"
	printf "    graphics: vnc\n"
	printf "    disks:\n"
	printf "      - {name: root, size: 20GiB, storage: %s, image: debian12}\n", root
	printf "      - {name: data, size: 100GiB, storage: data%d}\n", v % 10 + 1
	printf "    nics:\n"
	printf "      - {network: vlan%d, mac: \"52:54:00:%02x:%02x:%02x\"}\n", v % 20 + 1, int(v / 65536) % 256, int(v / 256) % 256, v % 256
	printf "    ha: {enabled: true, priority: %s}\n", (v % 3 == 0) ? "high" : "low"
}
'

# perf_lab_setup PROJECT NAME_FORMAT STATE: what the lab benchmarks do
# first: the caller's cleanup() on exit (an interrupt exits 130), the
# tools, lab1..lab$hosts, the configuration $conf of $n VMs
# (perf_lab_config), validated; then configured=1 (cleanup has work).
perf_lab_setup() {
	trap cleanup EXIT
	trap 'exit 130' INT TERM HUP
	perf_tools
	# shellcheck disable=SC2086
	perf_lab_hosts "$hosts" $lab_up_opt
	perf_lab_config "$1" "$2" "$3" "$n" >"$conf"
	"$vf" validate "$conf" >/dev/null
	configured=1
}
