#!/bin/sh
# An apply on the lab whose state cannot be saved: the state directory is
# a small tmpfs with room for the lock, state.json and the journal but not
# for the new state.json.  The VM is made; apply exits 1 and says what is
# where; once there is room, plan folds the journal in and the state knows
# the VM.  Needs root (mount).
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
lab_config

cat >"$CONF/main.yaml" <<EOF
version: 1
project: vftest-full
clusters: [{name: lab}]
vms:
  - {name: vft-full1, host: lab1, cpus: 1, memory: 64MiB, shutdown_timeout: 1}
EOF

mkdir -m 700 "$STATE"
mount -t tmpfs -o size=12k,mode=0700 virtform-test "$STATE" || echo "Bail out! cannot mount a tmpfs"
# leave nothing on the lab, whatever happened
at_exit 'umount "$STATE" 2>/dev/null; "$VIRTFORM" destroy "$CONF" --auto-approve --state-dir "$TMP/cleanup" >/dev/null 2>&1; lab_undefine 1 vft-full1'

test_expect 'apply with a full state directory makes the VM, then exits 1 saying what is where' '
	vf apply "$CONF" --auto-approve
	expect_rc 1 &&
	expect_contains "$out" "vm.vft-full1 on lab1: created" &&
	expect_contains "$out" "Apply failed: 1 created" &&
	expect_contains "$out" "the state could not be saved" &&
	expect_contains "$err" "cannot write the state '\''$STATE/state.json'\'': No space left on device" &&
	expect_contains "$err" "What this run did is done on the hosts" &&
	expect_contains "$err" "recorded in the journal '\''$STATE/journal'\''" &&
	[ "$(lab_virsh 1 domstate vft-full1)" = running ] &&
	! grep -q vft-full1 "$STATE/state.json"'

test_expect 'with room again, plan reads the journal back: no changes, the state knows the VM' '
	mount -o remount,size=1m "$STATE" &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0 &&
	grep -q "\"address\": \"vm.vft-full1\"" "$STATE/state.json" &&
	[ ! -e "$STATE/journal" ]'

test_expect 'and destroy removes it' '
	vf destroy "$CONF" --auto-approve && expect_rc 0 &&
	! lab_virsh 1 dominfo vft-full1 >/dev/null 2>&1'

test_done
