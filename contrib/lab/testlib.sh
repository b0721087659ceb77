# contrib/lab/testlib.sh — helpers for the tests that run against the lab
# (tests/t3*-lab*.sh).  Sourced after tests/lib.sh, not run.
#
#   lab_up_for_test     bring the lab up (keeping the size of one that is up);
#                       take it down at exit if we brought it up
#   lab_virsh I ARGS    virsh against lab host I, bounded to 20 s
#   lab_define I NAME [start]   a tiny kvm domain (64 MiB, no disk)
#   lab_config          $CONF: a config directory with the lab's hosts.yaml;
#                       $STATE: its state directory (both in $TMP)
#   vf ARGS             run_vf ARGS --state-dir "$STATE"
#   now / elapsed T0    wall-clock seconds, for the timeout bounds only

LAB="$TOP/contrib/lab/lab"
# The tests run on lab 1 (VIRTFORM_LAB_INSTANCE; tests/with-lab brings it up
# once for `make check`), never on the lab of `make demo` (lab 0): that lab
# and the guests an operator runs there are not the tests' to touch.
VIRTFORM_LAB_INSTANCE=${VIRTFORM_LAB_INSTANCE:-1}
export VIRTFORM_LAB_INSTANCE
# LAB_DIR, LAB_SUBNET (169.254.78), LAB_PREFIX (vflab1-), LAB_BRIDGE: the
# lab script is the one place that maps an instance to its names.
eval "$("$LAB" env)"

lab_addr() { printf '%s.%d\n' "$LAB_SUBNET" $((10 + $1)); }
lab_uri() { printf 'qemu+tcp://%s/system\n' "$(lab_addr "$1")"; }
lab_ns() { printf '%slab%d\n' "$LAB_PREFIX" "$1"; }

# lab_example DIR: examples/lab's files in DIR, aimed at this lab's
# addresses (the example names lab 0's).
lab_example() {
	mkdir -p "$1" &&
	for _f in "$TOP"/examples/lab/*.yaml; do
		sed "s/169\.254\.77\./$LAB_SUBNET./g" "$_f" >"$1/${_f##*/}" || return 1
	done
}

# lab_example_hosts DIR: only its hosts.yaml.
lab_example_hosts() {
	mkdir -p "$1" && sed "s/169\.254\.77\./$LAB_SUBNET./g" "$TOP/examples/lab/hosts.yaml" >"$1/hosts.yaml"
}

lab_virsh() {
	_i=$1
	shift
	timeout -k 1 20 virsh -q -c "$(lab_uri "$_i")" "$@"
}

# Bring the lab up for this test.  If it was not up already, take it down
# when the test exits, so a test run leaves the machine as it found it.
lab_up_for_test() {
	lab_was_size=0
	if "$LAB" status >/dev/null 2>&1; then
		lab_was_up=1
		lab_was_size=$(lab_size)
	else
		lab_was_up=0
		at_exit '"$LAB" down >/dev/null 2>&1'
	fi
	# A lab that is up keeps its size: a plain `lab up` would make a
	# 4-host lab (the benchmarks') a 3-host one under whoever uses it.
	_lab_n=3
	[ "$lab_was_size" -gt 3 ] && _lab_n=$lab_was_size
	"$LAB" up "$_lab_n" >"$TMP/.lab-up.log" 2>&1 || { cat "$TMP/.lab-up.log" >&2; lab_bail; }
	# Only ever talk to lab addresses while the lab owns them: without the
	# lab's bridge, its addresses meet only the unreachable route that
	# `lab up` installs (or, without it, the default route).
	"$LAB" status >"$TMP/.lab-status.log" 2>&1 || { cat "$TMP/.lab-status.log" >&2; lab_bail; }
}

# lab_size: how many hosts the lab has (0 when it is not up).
lab_size() {
	if [ -f "$LAB_DIR/hosts" ]; then wc -l <"$LAB_DIR/hosts"; else echo 0; fi
}

lab_bail() {
	echo "Bail out! the lab did not come up; no lab test can run"
	exit 1
}

# lab_define I NAME [start]: define (and start) a domain of type kvm with
# no disk, enough to count and to run a qemu process.
lab_define() {
	cat >"$TMP/$2.xml" <<XML
<domain type='kvm'>
  <name>$2</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>
XML
	lab_virsh "$1" define "$TMP/$2.xml" >/dev/null || return 1
	if [ "${3:-}" = start ]; then
		lab_virsh "$1" start "$2" >/dev/null || return 1
	fi
}

# lab_undefine I NAME: stop and remove a domain, quietly.
lab_undefine() {
	lab_virsh "$1" destroy "$2" >/dev/null 2>&1
	lab_virsh "$1" undefine "$2" >/dev/null 2>&1
	return 0
}

lab_config() {
	CONF="$TMP/conf"
	STATE="$TMP/state"
	lab_example_hosts "$CONF"
}
vf() { run_vf "$@" --state-dir "$STATE"; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f\n", b - a }'; }
# less_than X Y: is X < Y (decimals)?
less_than() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x < y) }'; }
