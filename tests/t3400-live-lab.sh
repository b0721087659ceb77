#!/bin/sh
# Change without disruption, on the lab: memory down and up within
# max_memory and more vCPUs live (the domain keeps its id), a change beyond
# the maximum written for the next restart, a disk grown under a running
# VM, NICs plugged, moved and unplugged live, a DHCP range changed without
# restarting the network, a replacement of an in-use network refused
# without --allow-replace, and restart_policy: allow restarting a VM.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
lab_config

# write_conf: the config from the variables below.
MEM=128MiB MAXMEM=256MiB CPUS=1 DISK=64MiB NICS="[{network: vfl-net}]"
DHCP_END=172.30.79.200 NET2_MODE=isolated R_CPUS=2
write_conf() {
	cat >"$CONF/main.yaml" <<EOF
version: 1
project: vfl
clusters: [{name: lab}]
networks:
  - name: vfl-net
    mode: nat
    ipv4: {address: 172.30.79.1/24, dhcp: {start: 172.30.79.100, end: $DHCP_END}}
  - name: vfl-net2
    mode: $NET2_MODE
    ipv4: {address: 172.30.80.1/24}
storage_domains:
  - {name: vfl-data, type: dir, path: /var/lib/libvirt/virtform/vfl-data}
vms:
  - name: vfl-a
    host: lab1
    cpus: $CPUS
    max_cpus: 4
    memory: $MEM
    max_memory: $MAXMEM
    shutdown_timeout: 1
    disks: [{name: root, size: $DISK, storage: vfl-data}]
    nics: $NICS
  - name: vfl-r
    host: lab2
    cpus: $R_CPUS
    memory: 128MiB
    restart_policy: allow
    shutdown_timeout: 1
EOF
}
at_exit '"$VIRTFORM" destroy "$CONF" --auto-approve --allow-replace --state-dir "$STATE" >/dev/null 2>&1'

domid() { lab_virsh "$1" domid "$2" | tr -d " "; }
live_xml() { lab_virsh "$1" dumpxml "$2"; }
config_xml() { lab_virsh "$1" dumpxml --inactive "$2"; }
# kib XML ELEMENT: the value of <ELEMENT unit='KiB'>N</ELEMENT>
kib() { printf "%s\n" "$1" | sed -n "s/^ *<$2 unit='KiB'>\([0-9]*\)<.*/\1/p"; }

write_conf
test_expect 'apply creates the VMs with room to grow' '
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	x=$(config_xml 1 vfl-a) &&
	[ "$(kib "$x" memory)" = 262144 ] && [ "$(kib "$x" currentMemory)" = 131072 ] &&
	expect_contains "$x" "<vcpu placement='"'"'static'"'"' current='"'"'1'"'"'>4</vcpu>" &&
	x=$(config_xml 2 vfl-r) &&
	expect_contains "$x" "<vcpu placement='"'"'static'"'"' current='"'"'2'"'"'>4</vcpu>"'
ID=$(domid 1 vfl-a)

test_expect 'a memory decrease within max_memory is planned live and applied live' '
	MEM=96MiB write_conf &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "~   update  vm.vfl-a on lab1" &&
	expect_not_contains "$out" "next restart" &&
	expect_contains "$out" "memory: 128 MiB -> 96 MiB" &&
	vf plan "$CONF" --json && expect_rc 0 &&
	printf "%s\n" "$out" | /usr/bin/python3 -c "
import json, sys
c = [c for c in json.load(sys.stdin)[\"changes\"] if c[\"address\"] == \"vm.vfl-a\"][0]
assert c[\"live\"] and not c[\"requires_restart\"] and not c[\"restart\"], c" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(domid 1 vfl-a)" = "$ID" ] &&
	[ "$(kib "$(config_xml 1 vfl-a)" currentMemory)" = 98304 ] &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0'

test_expect 'a memory increase within max_memory is applied live' '
	MEM=200MiB write_conf &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	expect_contains "$out" "vm.vfl-a on lab1: updated" &&
	[ "$(domid 1 vfl-a)" = "$ID" ] &&
	[ "$(kib "$(config_xml 1 vfl-a)" currentMemory)" = 204800 ] &&
	[ "$(kib "$(live_xml 1 vfl-a)" memory)" = 262144 ]'

test_expect 'more vCPUs within max_cpus are hot-plugged' '
	MEM=200MiB CPUS=3 write_conf &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "cpus: 1 -> 3" && expect_not_contains "$out" "restart" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(domid 1 vfl-a)" = "$ID" ] &&
	expect_contains "$(live_xml 1 vfl-a)" "current='"'"'3'"'"'>4</vcpu>"'

test_expect 'memory beyond max_memory is planned and written for the next restart' '
	MEM=300MiB MAXMEM=512MiB CPUS=3 write_conf &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "~   update  vm.vfl-a on lab1 (takes effect at next restart)" &&
	expect_contains "$out" "max_memory: 256 MiB -> 512 MiB (at next restart)" &&
	vf plan "$CONF" --json &&
	printf "%s\n" "$out" | /usr/bin/python3 -c "
import json, sys
c = [c for c in json.load(sys.stdin)[\"changes\"] if c[\"address\"] == \"vm.vfl-a\"][0]
assert c[\"requires_restart\"] and not c[\"live\"] and not c[\"restart\"], c" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(domid 1 vfl-a)" = "$ID" ] &&
	[ "$(kib "$(config_xml 1 vfl-a)" memory)" = 524288 ] &&
	[ "$(kib "$(live_xml 1 vfl-a)" memory)" = 262144 ] &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0 &&
	expect_contains "$out" "warning: vm.vfl-a on lab1 runs without changes written to its definition, which wait for its restart: max_memory, memory"'
MEM=300MiB MAXMEM=512MiB CPUS=3

test_expect 'fewer vCPUs wait for the next restart (the guest must cooperate to unplug)' '
	CPUS=2 write_conf &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "cpus: 3 -> 2 (at next restart)" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(domid 1 vfl-a)" = "$ID" ] &&
	expect_contains "$(config_xml 1 vfl-a)" "current='"'"'2'"'"'>4</vcpu>" &&
	expect_contains "$(live_xml 1 vfl-a)" "current='"'"'3'"'"'>4</vcpu>" &&
	vf plan "$CONF" && expect_contains "$out" "wait for its restart: max_memory, memory, cpus"'
CPUS=2

test_expect 'a disk grows under the running VM: volume and block device' '
	DISK=128MiB write_conf &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "~   update  volume.vfl-a-root@lab1" &&
	expect_contains "$out" "capacity: 64 MiB -> 128 MiB" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(lab_virsh 1 vol-info vfl-a-root --pool vfl-data --bytes | sed -n "s/^Capacity: *//p")" = "134217728 bytes" ] &&
	[ "$(lab_virsh 1 domblkinfo vfl-a vda | sed -n "s/^Capacity: *//p")" = 134217728 ] &&
	[ "$(domid 1 vfl-a)" = "$ID" ]'
DISK=128MiB

test_expect 'shrinking the disk is refused and changes nothing' '
	DISK=64MiB write_conf &&
	vf plan "$CONF" && expect_rc 1 &&
	expect_contains "$err" "shrinking a volume from 128 MiB to 64 MiB would lose data" &&
	vf apply "$CONF" --auto-approve && expect_rc 1 &&
	[ "$(lab_virsh 1 vol-info vfl-a-root --pool vfl-data --bytes | sed -n "s/^Capacity: *//p")" = "134217728 bytes" ]'

test_expect 'a NIC added to the running VM is hot-plugged onto its network' '
	NICS="[{network: vfl-net}, {network: vfl-net2, mac: \"52:54:00:79:00:02\"}]" write_conf &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "nic[1].network: (none) -> vfl-net2" &&
	expect_not_contains "$out" "next restart" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(domid 1 vfl-a)" = "$ID" ] &&
	lab_virsh 1 domiflist vfl-a | grep -q "network  *vfl-net2  *virtio  *52:54:00:79:00:02" &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0'

test_expect 'a NIC moved to another network is moved live' '
	NICS="[{network: vfl-net2}, {network: vfl-net2, mac: \"52:54:00:79:00:02\"}]" write_conf &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "nic[0].network: vfl-net -> vfl-net2" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(domid 1 vfl-a)" = "$ID" ] &&
	[ "$(lab_virsh 1 domiflist vfl-a | grep -c "network  *vfl-net2 ")" = 2 ]'

test_expect 'a NIC removed is unplugged: gone from the definition, the VM keeps running' '
	NICS="[{network: vfl-net2}]" write_conf &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "nic[1].network: vfl-net2 -> (none)" &&
	expect_not_contains "$out" "next restart" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(domid 1 vfl-a)" = "$ID" ] &&
	! config_xml 1 vfl-a | grep -q "52:54:00:79:00:02" &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0'
NICS="[{network: vfl-net2}]"

# The network's bridge, its ifindex in lab1's namespace.
net_bridge() { lab_virsh 1 net-info vfl-net | sed -n "s/^Bridge: *//p"; }
ifindex() { ip netns exec $(lab_ns 1) cat "/sys/class/net/$1/ifindex"; }

test_expect 'a new DHCP range is applied to the running network without restarting it' '
	br=$(net_bridge) && [ -n "$br" ] && before=$(ifindex "$br") &&
	DHCP_END=172.30.79.220 write_conf &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "~   update  network.vfl-net@lab1" &&
	expect_contains "$out" "dhcp: 172.30.79.100-172.30.79.200 -> 172.30.79.100-172.30.79.220" &&
	expect_not_contains "$out" "next restart" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	lab_virsh 1 net-dumpxml vfl-net | grep -q "end=.172.30.79.220." &&
	lab_virsh 1 net-dumpxml vfl-net --inactive | grep -q "end=.172.30.79.220." &&
	! lab_virsh 1 net-dumpxml vfl-net | grep -q "end=.172.30.79.200." &&
	[ "$(ifindex "$br")" = "$before" ] &&
	lab_virsh 1 net-info vfl-net | grep -q "^Active: *yes" &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0'
DHCP_END=172.30.79.220

test_expect 'replacing a network a running VM uses is refused without --allow-replace' '
	NET2_MODE=nat write_conf &&
	vf plan "$CONF" && expect_rc 1 &&
	expect_contains "$err" "network.vfl-net2@lab1: mode: isolated -> nat cannot change in place, and replacing it would cut off the running VM vm.vfl-a" &&
	expect_contains "$err" "--allow-replace" &&
	vf apply "$CONF" --auto-approve && expect_rc 1 &&
	! lab_virsh 1 net-dumpxml vfl-net2 | grep -q "<forward"'

test_expect 'with --allow-replace the plan shows the replacement with its reason' '
	NET2_MODE=nat write_conf &&
	vf plan "$CONF" --allow-replace && expect_rc 0 &&
	expect_contains "$out" "-/+ replace network.vfl-net2@lab1: mode: isolated -> nat cannot change in place" &&
	expect_contains "$out" "takes it away from the running VM vm.vfl-a" &&
	expect_contains "$out" "-/+ replace network.vfl-net2@lab2: mode: isolated -> nat" &&
	vf apply "$CONF" --auto-approve --allow-replace && expect_rc 0 &&
	expect_contains "$out" "3 replaced" &&
	lab_virsh 1 net-dumpxml vfl-net2 | grep -q "<forward mode=.nat." &&
	[ "$(domid 1 vfl-a)" = "$ID" ] &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0'

NET2_MODE=nat

test_expect 'restart_policy: allow restarts the VM for a change only a restart brings' '
	RID=$(domid 2 vfl-r) &&
	R_CPUS=1 write_conf &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "~   update  vm.vfl-r on lab2 (restarts the VM: restart_policy: allow)" &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(lab_virsh 2 domstate vfl-r)" = running ] &&
	[ "$(domid 2 vfl-r)" != "$RID" ] &&
	expect_contains "$(live_xml 2 vfl-r)" "current='"'"'1'"'"'>4</vcpu>" &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0 &&
	expect_not_contains "$out" "vm.vfl-r on lab2 runs without"'

test_expect 'a restart ends the wait: the plan no longer notes it' '
	vf plan "$CONF" && expect_contains "$out" "vm.vfl-a on lab1 runs without changes" &&
	lab_virsh 1 destroy vfl-a >/dev/null && lab_virsh 1 start vfl-a >/dev/null &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0 &&
	expect_not_contains "$out" "runs without changes" &&
	[ "$(kib "$(live_xml 1 vfl-a)" memory)" = 524288 ]'

test_done
