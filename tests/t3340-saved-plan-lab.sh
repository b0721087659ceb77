#!/bin/sh
# Saved plans on the lab: plan -out then apply FILE does exactly the plan;
# a VM changed with virsh behind virtform's back makes the saved plan
# stale (named, with the field, nothing changed); a domain nothing refers
# to, defined after the plan, does not; a saved plan applied once is
# stale the second time (the state serial moved); a destroy plan saved
# with plan --destroy -out destroys through apply FILE.  VMs are small and
# stopped, so nothing waits for a guest.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
lab_config

# write_conf WEB_MEMORY: the test's configuration.
write_conf() {
	cat >"$CONF/main.yaml" <<EOF
version: 1
project: vfs
clusters: [{name: lab}]
vms:
  - {name: vfs-web, host: lab1, cpus: 1, memory: ${1:-64MiB}, state: stopped, shutdown_timeout: 2}
  - {name: vfs-db, host: lab2, cpus: 1, memory: 64MiB, state: stopped, shutdown_timeout: 2}
EOF
}

# Whatever happens, leave nothing of ours on the lab.
at_exit 'lab_undefine 1 vfs-other; write_conf; "$VIRTFORM" destroy "$CONF" --auto-approve --state-dir "$STATE" >/dev/null 2>&1'

dominfo_field() { lab_virsh "$1" dominfo "$2" | sed -n "s/^$3: *//p"; }

write_conf

test_expect 'plan -out saves the plan of two creates' '
	vf plan "$CONF" -out "$TMP/p1.vfplan" && expect_rc 0 &&
	expect_contains "$out" "+   create  vm.vfs-web on lab1" &&
	expect_contains "$out" "+   create  vm.vfs-db on lab2" &&
	expect_contains "$out" "Saved the plan to $TMP/p1.vfplan" &&
	! lab_virsh 1 dominfo vfs-web >/dev/null 2>&1'

test_expect 'apply FILE carries out exactly the saved plan, without asking' '
	vf apply "$TMP/p1.vfplan" </dev/null && expect_rc 0 &&
	expect_contains "$out" "Applying the saved plan $TMP/p1.vfplan" &&
	expect_contains "$out" "Apply complete: 2 created, 0 updated, 0 replaced, 0 destroyed." &&
	[ "$(dominfo_field 1 vfs-web "Max memory")" = "65536 KiB" ] &&
	[ "$(dominfo_field 1 vfs-web State)" = "shut off" ] &&
	[ "$(dominfo_field 2 vfs-db "CPU(s)")" = 1 ] &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0'

test_expect 'the same saved plan a second time is stale: another apply ran' '
	vf apply "$TMP/p1.vfplan" && expect_rc 1 &&
	expect_contains "$err" "error: the saved plan $TMP/p1.vfplan is stale: another apply ran since the plan was made" &&
	expect_contains "$err" "run '\''virtform plan $CONF -out $TMP/p1.vfplan'\'' again" &&
	expect_not_contains "$out" "Apply complete"'

test_expect 'a saved plan of no changes applies as nothing to do' '
	vf plan "$CONF" -out "$TMP/p0.vfplan" && expect_rc 0 &&
	expect_contains "$out" "No changes." &&
	vf apply "$TMP/p0.vfplan" && expect_rc 0 && expect_contains "$out" "No changes."'

write_conf 96MiB

test_expect 'plan -out with a change: the memory update is saved and shown' '
	vf plan "$CONF" -out "$TMP/p2.vfplan" && expect_rc 0 &&
	expect_contains "$out" "~   update  vm.vfs-web on lab1" &&
	expect_contains "$out" "memory: 64 MiB -> 96 MiB" &&
	run_vf show "$TMP/p2.vfplan" && expect_rc 0 &&
	expect_contains "$out" "memory: 64 MiB -> 96 MiB"'

test_expect 'a VM changed with virsh since the plan makes it stale, naming the field; nothing changes' '
	lab_virsh 1 setmaxmem vfs-web 80M --config &&
	lab_virsh 1 setmem vfs-web 80M --config &&
	lab_virsh 2 autostart vfs-db >/dev/null &&
	vf apply "$TMP/p2.vfplan" && expect_rc 1 &&
	expect_contains "$err" "error: the saved plan $TMP/p2.vfplan is stale: vm.vfs-web on lab1: memory 64 MiB -> 80 MiB changed since the plan was made" &&
	expect_contains "$err" "stale: vm.vfs-db on lab2 changed since the plan was made (a plan made now would update it: autostart: yes -> no)" &&
	expect_not_contains "$out" "Apply complete" &&
	[ "$(dominfo_field 1 vfs-web "Max memory")" = "81920 KiB" ] &&
	[ "$(dominfo_field 2 vfs-db Autostart)" = enable ]'

test_expect 'a domain nothing refers to, defined after plan -out, does not make it stale' '
	vf plan "$CONF" -out "$TMP/p3.vfplan" && expect_rc 0 &&
	expect_contains "$out" "memory: 80 MiB -> 96 MiB" &&
	expect_contains "$out" "autostart: yes -> no" &&
	lab_define 1 vfs-other &&
	vf apply "$TMP/p3.vfplan" && expect_rc 0 &&
	expect_contains "$out" "Apply complete: 0 created, 2 updated" &&
	expect_not_contains "$err" "vfs-other" &&
	[ "$(dominfo_field 1 vfs-web "Max memory")" = "98304 KiB" ] &&
	[ "$(dominfo_field 2 vfs-db Autostart)" = disable ] &&
	lab_virsh 1 dominfo vfs-other >/dev/null'

test_expect 'apply FILE with --state-dir of another state is stale, naming both directories' '
	vf plan "$CONF" -out "$TMP/p4.vfplan" && expect_rc 0 &&
	run_vf apply "$TMP/p4.vfplan" --state-dir "$TMP/other-state" && expect_rc 1 &&
	expect_contains "$err" "another apply ran since the plan was made" &&
	expect_contains "$err" "the plan was made with the state in '\''$STATE'\''" &&
	lab_virsh 1 dominfo vfs-web >/dev/null'

test_expect 'plan --destroy -out then apply FILE destroys what virtform manages, and only that' '
	vf plan "$CONF" --destroy -out "$TMP/pd.vfplan" && expect_rc 0 &&
	expect_contains "$out" "-   destroy vm.vfs-web on lab1" &&
	run_vf show "$TMP/pd.vfplan" && expect_contains "$out" "Options: --destroy" &&
	vf apply "$TMP/pd.vfplan" && expect_rc 0 &&
	expect_contains "$out" "Destroy complete: 0 created, 0 updated, 0 replaced, 2 destroyed." &&
	! lab_virsh 1 dominfo vfs-web >/dev/null 2>&1 &&
	! lab_virsh 2 dominfo vfs-db >/dev/null 2>&1 &&
	lab_virsh 1 dominfo vfs-other >/dev/null'

test_done
