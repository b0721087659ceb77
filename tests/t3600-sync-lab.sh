#!/bin/sh
# virtform sync on the lab (docs/gitops.md): a bare repository made by the
# test, synced to a lab host — a VM appears, a second sync of the same
# commit is a no-op, a new commit changes its memory, `virtform log` lists
# every sync, and destroy --git removes what the test made.  Every object
# is named vfg-* in project vfg.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/git-lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
at_exit 'lab_undefine 1 vfg-web'

git_fixture vfg lab
lab_example_hosts "$W/lab"
write_vms() {   # write_vms MEMORY
	cat >"$W/lab/vms.yaml" <<EOF
version: 1
project: vfg
clusters: [{name: lab}]
vms:
  - {name: vfg-web, host: lab1, cpus: 1, memory: $1, state: stopped, shutdown_timeout: 1}
EOF
}
commit() {
	git -C "$W" add -A && git -C "$W" commit -q -m "$1" && git -C "$W" push -q "$R" main 2>/dev/null
}
write_vms 128MiB && commit "vfg-web with 128 MiB"
C1=$(git -C "$W" rev-parse HEAD)
sync() { run_vf sync "$R" --path lab --state-dir "$S" --auto-approve; }

test_expect 'sync creates the VM of the commit on the lab host' '
	sync && expect_rc 0 &&
	expect_contains "$(echo "$out" | head -n 1)" "commit $C1 vfg-web with 128 MiB" &&
	expect_contains "$out" "Apply complete: 1 created" &&
	lab_virsh 1 dominfo vfg-web | grep -q "^Max memory: *131072 KiB"'

test_expect 'a second sync of the same commit is a no-op' '
	sync && expect_rc 0 &&
	expect_contains "$(echo "$out" | head -n 1)" "commit $C1" &&
	expect_contains "$out" "No changes" &&
	expect_not_contains "$out" "Apply complete"'

test_expect 'a new commit changes the memory' '
	write_vms 192MiB && commit "vfg-web to 192 MiB" &&
	C2=$(git -C "$W" rev-parse HEAD) &&
	sync && expect_rc 0 &&
	expect_contains "$(echo "$out" | head -n 1)" "commit $C2 vfg-web to 192 MiB" &&
	expect_contains "$out" "memory: 128 MiB -> 192 MiB" &&
	expect_contains "$out" "Apply complete: 0 created, 1 updated" &&
	lab_virsh 1 dominfo vfg-web | grep -q "^Max memory: *196608 KiB"'

test_expect 'log lists the three syncs, newest first' '
	run_vf log --state-dir "$S" && expect_rc 0 &&
	[ "$(echo "$out" | wc -l)" -eq 3 ] &&
	expect_contains "$(echo "$out" | sed -n 1p)" "applied    vfg-web to 192 MiB" &&
	expect_contains "$(echo "$out" | sed -n 2p)" "unchanged  vfg-web with 128 MiB" &&
	expect_contains "$(echo "$out" | sed -n 3p)" "applied    vfg-web with 128 MiB"'

test_expect 'destroy --git removes what the test made' '
	run_vf destroy --git "$R" --path lab --state-dir "$S" --auto-approve && expect_rc 0 &&
	expect_contains "$out" "1 destroyed" &&
	! lab_virsh 1 dominfo vfg-web >/dev/null 2>&1'

test_done
