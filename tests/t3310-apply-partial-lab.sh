#!/bin/sh
# A partial failure on the lab: a storage domain that cannot be built
# fails, what depends on it is not attempted, everything else is applied;
# the run exits 1 listing each failure; the half-made pool is still
# virtform's (no orphan blocking the next plan), and fixing the config
# converges.  Then destroy leaves nothing behind, and --target applies one
# VM with only what it depends on.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test

lab_config

write_conf() {   # write_conf BAD_PATH
	cat >"$CONF/main.yaml" <<EOF
version: 1
project: vftest-partial
clusters: [{name: lab}]
storage_domains:
  - {name: vfb-good, type: dir, path: /var/lib/libvirt/virtform/vfb-good}
  - {name: vfb-bad, type: dir, path: $1}
vms:
  - name: vfb-ok
    host: lab1
    cpus: 1
    memory: 64MiB
    shutdown_timeout: 1
    disks: [{name: root, size: 64MiB, storage: vfb-good}]
  - name: vfb-broken
    host: lab1
    cpus: 1
    memory: 64MiB
    shutdown_timeout: 1
    disks: [{name: root, size: 64MiB, storage: vfb-bad}]
EOF
}

at_exit '"$VIRTFORM" destroy "$CONF" --auto-approve --state-dir "$STATE" >/dev/null 2>&1'

# /proc refuses mkdir: the pool defines, but its build fails.
write_conf /proc/vfb-bad

test_expect 'a failed action stops only what depends on it; the rest is applied' '
	vf apply "$CONF" --auto-approve && expect_rc 1 &&
	expect_contains "$out" "storage.vfb-bad@lab1: FAILED after" &&
	expect_contains "$out" "volume.vfb-broken-root@lab1: not attempted: it depends on storage.vfb-bad@lab1, which failed" &&
	expect_contains "$out" "vm.vfb-broken: not attempted: it depends on" &&
	expect_contains "$out" "vm.vfb-ok on lab1: created in" &&
	expect_contains "$out" "Apply failed: 5 created" &&
	expect_contains "$out" "3 failed, 2 not attempted." &&
	printf "%s\n" "$out" | sed -n "/^Failed:/,\$p" | grep -c "^  " | grep -qx 5 &&
	[ "$(lab_virsh 1 dominfo vfb-ok | sed -n "s/^State: *//p")" = running ] &&
	! lab_virsh 1 dominfo vfb-broken >/dev/null 2>&1'

test_expect 'the half-made pool is still managed: the next plan converges it, no clash' '
	vf plan "$CONF" && expect_rc 0 &&
	expect_not_contains "$err" "does not manage" &&
	expect_contains "$out" "storage.vfb-bad@lab1" &&
	expect_contains "$out" "+   create  vm.vfb-broken on lab1"'

test_expect 'fixing the config converges: the pool is replaced, the rest created' '
	write_conf /var/lib/libvirt/virtform/vfb-bad &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "-/+ replace storage.vfb-bad@lab1: path: /proc/vfb-bad -> /var/lib/libvirt/virtform/vfb-bad cannot change in place" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(lab_virsh 1 dominfo vfb-broken | sed -n "s/^State: *//p")" = running ] &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0'

test_expect 'destroy removes all of it' '
	vf destroy "$CONF" --auto-approve && expect_rc 0 &&
	for i in 1 2 3; do
		! lab_virsh $i list --all --name | grep -q "^vfb-" || exit 1
		! lab_virsh $i pool-list --all --name | grep -q "^vfb-" || exit 1
	done &&
	[ "$(grep -c "\"address\"" "$STATE/state.json")" = 0 ]'

test_expect 'apply --target vm.vfb-ok makes only that VM and what it needs' '
	vf plan "$CONF" --target vm.vfb-ok && expect_rc 0 &&
	expect_contains "$out" "Plan: 3 to create, 0 to update, 0 to replace, 0 to destroy." &&
	vf apply "$CONF" --target vm.vfb-ok --auto-approve && expect_rc 0 &&
	lab_virsh 1 dominfo vfb-ok >/dev/null &&
	lab_virsh 1 pool-info vfb-good >/dev/null &&
	! lab_virsh 1 dominfo vfb-broken >/dev/null 2>&1 &&
	! lab_virsh 1 pool-info vfb-bad >/dev/null 2>&1 &&
	! lab_virsh 2 pool-info vfb-good >/dev/null 2>&1 &&
	vf destroy "$CONF" --auto-approve && expect_rc 0 &&
	! lab_virsh 1 dominfo vfb-ok >/dev/null 2>&1'

test_done
