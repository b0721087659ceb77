#!/bin/sh
# plan / apply / destroy against the lab's three libvirtds: create from
# nothing (checked through virsh: host, memory, vCPUs, disks, NICs, marker,
# an EFI VM whose NVRAM goes with it, a NAT network),
# a no-op plan, drift planned back, removal, protection, an unmanaged clash
# left untouched, an image uploaded and cloned, the state lock, an
# unreachable host, and a destroy that leaves every unmanaged object.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
at_exit '"$LAB" start-host lab2 >/dev/null 2>&1'
at_exit 'for i in 1 2 3; do lab_undefine $i vftest-unmanaged; lab_undefine $i vft-clash; done'

lab_config
NS=https://virtform.dev/xmlns/virtform/1

# A small qcow2 image to upload (the guest never boots it).
qemu-img create -q -f qcow2 "$TMP/tiny.qcow2" 64M

# write_vms EXTRA: the test's config; EXTRA is appended to the vms list.
# the image lives in $TMP, outside the configuration: the operator allows it
export VIRTFORM_IMAGE_PATH="$TMP"

write_conf() {
	cat >"$CONF/main.yaml" <<EOF
version: 1
project: vftest
clusters: [{name: lab}]
networks:
  - name: vft-net
    mode: nat
    ipv4: {address: 172.30.78.1/24, dhcp: {start: 172.30.78.100, end: 172.30.78.200}}
storage_domains:
  - {name: vft-data, type: dir, path: /var/lib/libvirt/virtform/vft-data}
images:
  - {name: vft-tiny, file: $TMP/tiny.qcow2, storage: vft-data, format: qcow2}
vms:
  - name: vft-web1
    host: lab1
    cpus: 1
    memory: 128MiB
    shutdown_timeout: 1
    disks: [{name: root, size: 1GiB, storage: vft-data}]
    nics: [{network: vft-net}]
  - name: vft-web2
    host: lab2
    cpus: 2
    memory: 192MiB
    shutdown_timeout: 1
    disks:
      - {name: root, storage: vft-data, image: vft-tiny}
      - {name: data, size: 512MiB, storage: vft-data, format: raw}
    nics: [{network: vft-net, mac: "52:54:00:77:00:02"}]
  - name: vft-db
    host: lab3
    cpus: 1
    memory: 128MiB
    state: stopped
    firmware: efi
    shutdown_timeout: 1
    protect: ${PROTECT_DB:-false}
    disks: [{name: root, size: 1GiB, storage: vft-data, keep: true}]
${EXTRA:-}
EOF
}

# Whatever happens, leave nothing of ours on the lab (a failed test must
# not break the next run): unprotect, then destroy.
at_exit 'PROTECT_DB=false; EXTRA=; write_conf; "$VIRTFORM" destroy "$CONF" --auto-approve --state-dir "$STATE" >/dev/null 2>&1'

write_conf

test_expect 'plan on empty hosts lists every create and exits 2 with --detailed-exitcode' '
	vf plan "$CONF" --detailed-exitcode && expect_rc 2 &&
	expect_contains "$out" "+   create  vm.vft-web1 on lab1" &&
	expect_contains "$out" "memory: 128 MiB" &&
	expect_contains "$out" "+   create  volume.vft-tiny@lab2" &&
	expect_contains "$out" "+   create  storage.vft-data@lab3" &&
	expect_contains "$out" "Plan: 14 to create, 0 to update, 0 to replace, 0 to destroy."'

# qemu+tcp (examples/lab/hosts.yaml: insecure_transport: true): a warning
# naming each host, once per host per run, on stderr.
insecure_warning() {   # insecure_warning HOST
	printf "%s\n" "$err" | grep -c "warning: host .$1. is reached over plain TCP (insecure_transport: true): CHAP secrets, cloud-init seeds and graphics passwords cross the network in clear text"
}
test_expect 'plan and apply warn once per lab host that it is reached in clear text' '
	vf plan "$CONF" && expect_rc 0 &&
	[ "$(insecure_warning lab1)" = 1 ] && [ "$(insecure_warning lab2)" = 1 ] &&
	[ "$(insecure_warning lab3)" = 1 ] && expect_not_contains "$out" "plain TCP" &&
	vf apply "$CONF" </dev/null && expect_rc 1 && [ "$(insecure_warning lab2)" = 1 ]'

test_expect 'plan --json is valid against schemas/plan.schema.json' '
	vf plan "$CONF" --json && expect_rc 0 &&
	printf "%s\n" "$out" >"$TMP/plan.json" &&
	/usr/bin/python3 -c "
import json, sys, jsonschema
schema = json.load(open(sys.argv[1])); doc = json.load(open(sys.argv[2]))
jsonschema.validate(doc, schema)
assert doc[\"summary\"][\"create\"] == 14, doc[\"summary\"]
web1 = [c for c in doc[\"changes\"] if c[\"address\"] == \"vm.vft-web1\"][0]
assert web1[\"host\"] == \"lab1\" and web1[\"action\"] == \"create\"
assert \"volume.vft-web1-root@lab1\" in web1[\"depends_on\"], web1[\"depends_on\"]
mem = [f for f in web1[\"fields\"] if f[\"path\"] == \"memory\"][0]
assert mem[\"before\"] is None and mem[\"after\"] == 128 << 20, mem
" "$TOP/schemas/plan.schema.json" "$TMP/plan.json"'

test_expect 'apply without a terminal refuses unless --auto-approve, and changes nothing' '
	vf apply "$CONF" </dev/null && expect_rc 1 &&
	expect_contains "$err" "give --auto-approve" &&
	! lab_virsh 1 dominfo vft-web1 >/dev/null 2>&1'

test_expect 'apply creates everything from nothing' '
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	expect_contains "$out" "Apply complete: 14 created, 0 updated, 0 replaced, 0 destroyed." &&
	expect_contains "$out" "vm.vft-web1 on lab1: created in"'

# dominfo_field I NAME FIELD
dominfo_field() { lab_virsh "$1" dominfo "$2" | sed -n "s/^$3: *//p"; }

test_expect 'each VM runs on its host with its memory and vCPUs' '
	[ "$(dominfo_field 1 vft-web1 State)" = running ] &&
	[ "$(dominfo_field 1 vft-web1 "Max memory")" = "131072 KiB" ] &&
	[ "$(dominfo_field 1 vft-web1 "CPU(s)")" = 1 ] &&
	[ "$(dominfo_field 2 vft-web2 State)" = running ] &&
	[ "$(dominfo_field 2 vft-web2 "Max memory")" = "196608 KiB" ] &&
	[ "$(dominfo_field 2 vft-web2 "CPU(s)")" = 2 ] &&
	[ "$(dominfo_field 3 vft-db State)" = "shut off" ] &&
	! lab_virsh 2 dominfo vft-web1 >/dev/null 2>&1 &&
	! lab_virsh 1 dominfo vft-web2 >/dev/null 2>&1'

test_expect 'disks are the planned volumes; the clone is backed by the uploaded image' '
	lab_virsh 2 domblklist vft-web2 --details >"$TMP/blk" &&
	grep -q "disk  *vda  *vft-data/vft-web2-root\|vda.*vft-web2-root" "$TMP/blk" &&
	grep -q "vdb.*vft-web2-data" "$TMP/blk" &&
	lab_virsh 2 vol-dumpxml vft-web2-root --pool vft-data >"$TMP/vol.xml" &&
	grep -q "<backingStore>" "$TMP/vol.xml" &&
	grep -q "vft-tiny" "$TMP/vol.xml" &&
	[ "$(lab_virsh 2 vol-info vft-web2-data --pool vft-data --bytes | sed -n "s/^Capacity: *//p")" = "536870912 bytes" ] &&
	[ "$(lab_virsh 2 vol-info vft-tiny --pool vft-data --bytes | sed -n "s/^Capacity: *//p")" = "67108864 bytes" ]'

test_expect 'NICs carry their network and MAC; the marker names project and spec' '
	lab_virsh 2 domiflist vft-web2 | grep -q "network  *vft-net  *virtio  *52:54:00:77:00:02" &&
	lab_virsh 1 domiflist vft-web1 | grep -q "network  *vft-net  *virtio  *52:54:00:" &&
	lab_virsh 1 metadata vft-web1 "$NS" >"$TMP/marker" &&
	grep -q "project=\"vftest\"" "$TMP/marker" &&
	grep -q "spec=\"[0-9a-f]\{16\}\"" "$TMP/marker" &&
	grep -q "name=\"vft-web1-root\"" "$TMP/marker"'

test_expect 'networks and pools are active and autostarted on every host' '
	for i in 1 2 3; do
		lab_virsh $i net-info vft-net | grep -q "^Active: *yes" &&
		lab_virsh $i net-info vft-net | grep -q "^Autostart: *yes" &&
		lab_virsh $i pool-info vft-data | grep -q "^State: *running" &&
		lab_virsh $i pool-info vft-data | grep -q "^Autostart: *yes" || exit 1
	done'

test_expect 'graphics listen on 127.0.0.1 only' '
	lab_virsh 1 dumpxml vft-web1 >"$TMP/web1.xml" &&
	grep -q "<listen type=.address. address=.127.0.0.1./>" "$TMP/web1.xml" &&
	! grep -q "0.0.0.0" "$TMP/web1.xml"'

test_expect 'after apply, plan --detailed-exitcode exits 0' '
	vf plan "$CONF" --detailed-exitcode && expect_rc 0 &&
	expect_contains "$out" "No changes. Infrastructure matches the configuration."'

test_expect 'the state is mode 0600 and records networks, pools and volumes' '
	[ "$(stat -c %a "$STATE/state.json")" = 600 ] &&
	grep -q "\"network.vft-net@lab2\"" "$STATE/state.json" &&
	grep -q "\"storage.vft-data@lab3\"" "$STATE/state.json" &&
	grep -q "\"volume.vft-tiny@lab2\"" "$STATE/state.json"'

# (max_memory is not in the config: the larger maximum set with virsh is
# kept, room to grow; the memory itself is restored)
test_expect 'a field changed with virsh is planned back, and apply restores it' '
	lab_virsh 3 setmaxmem vft-db 196608 --config >/dev/null &&
	lab_virsh 3 setmem vft-db 196608 --config >/dev/null &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 2 &&
	expect_contains "$out" "~   update  vm.vft-db on lab3 (changed outside virtform)" &&
	expect_contains "$out" "memory: 192 MiB -> 128 MiB" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(dominfo_field 3 vft-db "Used memory")" = "131072 KiB" ] &&
	[ "$(dominfo_field 3 vft-db "Max memory")" = "196608 KiB" ] &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0'

test_expect 'a stopped VM that should run is started; one that should not is stopped' '
	lab_virsh 1 destroy vft-web1 >/dev/null &&
	lab_virsh 3 start vft-db >/dev/null &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" ">   start   vm.vft-web1 on lab1" &&
	expect_contains "$out" "<   stop    vm.vft-db on lab3" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(dominfo_field 1 vft-web1 State)" = running ] &&
	[ "$(dominfo_field 3 vft-db State)" = "shut off" ]'

test_expect 'an unmanaged domain with a clashing name fails the plan and stays untouched' '
	lab_define 1 vft-clash start &&
	EXTRA="  - {name: vft-clash, host: lab1, cpus: 1, memory: 128MiB}" write_conf &&
	vf plan "$CONF" && expect_rc 1 &&
	expect_contains "$err" "vm.vft-clash: a domain named '\''vft-clash'\'' already exists on host '\''lab1'\'' and virtform does not manage it" &&
	expect_contains "$err" "virtform import vm.vft-clash" &&
	vf apply "$CONF" --auto-approve && expect_rc 1 &&
	[ "$(dominfo_field 1 vft-clash State)" = running ] &&
	[ "$(dominfo_field 1 vft-clash "Max memory")" = "65536 KiB" ]'

test_expect 'a VM removed from the config is destroyed with its volume' '
	write_conf &&
	sed -i "/name: vft-web1$/,/nics: \[{network: vft-net}\]$/d" "$CONF/main.yaml" &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "-   destroy vm.vft-web1 on lab1" &&
	expect_contains "$out" "-   destroy volume.vft-web1-root@lab1" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	! lab_virsh 1 dominfo vft-web1 >/dev/null 2>&1 &&
	! lab_virsh 1 vol-info vft-web1-root --pool vft-data >/dev/null 2>&1 &&
	[ "$(dominfo_field 1 vft-clash State)" = running ]'

test_expect 'a protected VM is not destroyed: removing it fails the plan' '
	write_conf && PROTECT_DB=true write_conf &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	sed -i "/name: vft-db$/,/keep: true}\]$/d" "$CONF/main.yaml" &&
	vf plan "$CONF" && expect_rc 1 &&
	expect_contains "$err" "vm.vft-db was removed from the configuration but is protected" &&
	vf apply "$CONF" --auto-approve && expect_rc 1 &&
	lab_virsh 3 dominfo vft-db >/dev/null'

# An apply waiting at its "Apply these changes?" prompt (on a pseudo
# terminal from script(1)) holds the lock: deterministic, no timing.
test_expect 'a second apply fails on the lock, naming the holder; --lock-timeout waits' '
	PROTECT_DB=true write_conf &&
	sed -i "s/^    memory: 192MiB$/    memory: 160MiB/" "$CONF/main.yaml" &&
	mkfifo "$TMP/answer" || exit 1
	( script -qec "\"$VIRTFORM\" apply \"$CONF\" --state-dir \"$STATE\"" /dev/null \
		<"$TMP/answer" >"$TMP/first.out" 2>&1; echo $? >"$TMP/first.rc" ) &
	exec 7>"$TMP/answer" &&
	for i in $(seq 100); do
		grep -q "Apply these changes? (yes/no)" "$TMP/first.out" 2>/dev/null && break
		sleep 0.1
	done &&
	grep -q "Apply these changes? (yes/no)" "$TMP/first.out" &&
	vf apply "$CONF" --auto-approve && expect_rc 1 &&
	expect_contains "$err" "is locked by pid" &&
	expect_contains "$err" "(virtform apply) since" || exit 1
	( "$VIRTFORM" apply "$CONF" --auto-approve --state-dir "$STATE" --lock-timeout 60 \
		>"$TMP/third.out" 2>&1; echo $? >"$TMP/third.rc" ) &
	sleep 1
	echo no >&7 && exec 7>&- &&
	wait &&
	grep -q "Apply cancelled; nothing was changed." "$TMP/first.out" &&
	[ "$(cat "$TMP/first.rc")" = 1 ] &&
	[ "$(cat "$TMP/third.rc")" = 0 ] &&
	grep -q "Apply complete: 0 created, 1 updated" "$TMP/third.out" &&
	lab_virsh 2 dumpxml vft-web2 --inactive | grep -q "<currentMemory unit=.KiB.>163840</currentMemory>" &&
	[ "$(dominfo_field 2 vft-web2 "Max memory")" = "196608 KiB" ] || {
		echo "first:"; cat "$TMP/first.out"; echo "third:"; cat "$TMP/third.out"; exit 1; }'

test_expect 'a stopped host fails the plan in bounded time; --skip-unreachable plans the rest' '
	"$LAB" stop-host lab2 >/dev/null &&
	t0=$(now) &&
	vf plan "$CONF" --timeout 5 && expect_rc 1 &&
	expect_contains "$err" "host '\''lab2'\'' is unreachable" &&
	less_than "$(elapsed "$t0")" 15 &&
	vf plan "$CONF" --timeout 5 --skip-unreachable && expect_rc 0 &&
	expect_contains "$out" "WARNING: host lab2" &&
	expect_not_contains "$out" "@lab2" &&
	"$LAB" start-host lab2 >/dev/null'

test_expect 'a lost state directory loses no VM: they are found again by their marker' '
	mv "$STATE" "$TMP/state.saved" &&
	vf plan "$CONF" && expect_rc 1 &&
	expect_not_contains "$err" "vm.vft-" &&
	expect_not_contains "$out" "vm.vft-" &&
	expect_contains "$err" "network.vft-net@lab1: a network named '\''vft-net'\'' already exists" &&
	expect_contains "$err" "virtform import network.vft-net@lab1"; st=$?
	rm -rf "$STATE" && mv "$TMP/state.saved" "$STATE" && [ "$st" -eq 0 ]'

test_expect 'destroy is refused while a VM is protected' '
	vf destroy "$CONF" --auto-approve && expect_rc 1 &&
	expect_contains "$err" "vm.vft-db is protected" &&
	lab_virsh 3 dominfo vft-db >/dev/null'

test_expect 'destroy leaves nothing managed behind and every unmanaged domain in place' '
	lab_define 2 vftest-unmanaged &&
	write_conf &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ -f "$LAB_DIR/lab3/lib/qemu/nvram/vft-db_VARS.fd" ] &&
	vf destroy "$CONF" --auto-approve && expect_rc 0 &&
	expect_contains "$out" "Destroy complete:" &&
	expect_contains "$out" "volume.vft-db-root@lab3 stays on its host: its disk says keep: true" &&
	[ -f "$LAB_DIR/lab3/lib/virtform/vft-data/vft-db-root" ] &&
	[ ! -e "$LAB_DIR/lab1/lib/virtform/vft-data/vft-web1-root" ] &&
	for i in 1 2 3; do
		! lab_virsh $i list --all --name | grep -v "^vft-clash$" | grep -q "^vft-" ||
			{ lab_virsh $i list --all; exit 1; }
		! lab_virsh $i net-list --all --name | grep -q "^vft-net$" || exit 1
		! lab_virsh $i pool-list --all --name | grep -q "^vft-data$" || exit 1
	done &&
	lab_virsh 1 dominfo vft-clash >/dev/null &&
	lab_virsh 2 dominfo vftest-unmanaged >/dev/null &&
	[ ! -e "$LAB_DIR/lab3/lib/qemu/nvram/vft-db_VARS.fd" ] &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 2 &&
	expect_not_contains "$out" "-   destroy"'

test_done
