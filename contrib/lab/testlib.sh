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
LAB_DIR=${VIRTFORM_LAB_DIR:-/run/virtform-lab}

lab_uri() { printf 'qemu+tcp://169.254.77.%d/system\n' $((10 + $1)); }

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
	# lab's bridge, 169.254.77.x would leave through the default route.
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
	mkdir -p "$CONF" && cp "$TOP/examples/lab/hosts.yaml" "$CONF/"
}
vf() { run_vf "$@" --state-dir "$STATE"; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f\n", b - a }'; }
# less_than X Y: is X < Y (decimals)?
less_than() { awk -v x="$1" -v y="$2" 'BEGIN { exit !(x < y) }'; }
