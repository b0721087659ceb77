#!/bin/sh
# Host networking end to end on the lab, over SSH: `virtform apply` asks
# every lab host (`virtform host ...` there, through the lab's sshd) to
# make the bridges of two bridge-mode networks on their uplinks, then the
# libvirt networks and VMs on them; a second plan is a no-op; an MTU change
# is made in place; a change that fails on the hosts is rolled back
# completely and nothing that depended on it is attempted; a change that
# cuts a host's management link off is not confirmed and the host rolls it
# back by itself; removing a network removes its links after its VMs; and
# links virtform does not own are never touched.
#
# The lab hosts' kernel is this machine's (no 802.1Q): the networks are
# untagged, on uplink0 (the lab's) and vfh-up1 (a veth pair this test makes
# in each host).  VLAN and bond creation are tested under TCG (t0410).
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test

# The binary under test, where every lab host can run it (lab hosts share
# this machine's files but for a few bind mounts).
cp "$VIRTFORM" "$TMP/virtform" || lab_bail
# the operator's ssh_config, from the environment (never from the YAML)
export VIRTFORM_SSH_CONFIG="$LAB_DIR/ssh/config"
VF_REMOTE="$TMP/virtform"

lab_config
hosts_yaml() {   # the lab hosts, each reached over the lab's ssh config ($VIRTFORM_SSH_CONFIG)
	echo "hosts:"
	for i in 1 2 3; do
		cat <<EOF
  - name: lab$i
    cluster: lab
    uri: qemu+tcp://$(lab_addr $i)/system
    insecure_transport: true
    address: $(lab_addr $i)
    ssh: {host: lab$i, virtform: $VF_REMOTE}
EOF
	done
}
hosts_yaml >"$CONF/hosts.yaml"

# main_yaml MTU_A [EXTRA_NETWORK_LINES [EXTRA_VM_LINES]]: two networks, a
# VM on each
main_yaml() {
	cat >"$CONF/main.yaml" <<EOF
version: 1
project: vftest-hostnet
clusters: [{name: lab}]
networks:
  - {name: vfh-a, mode: bridge, uplink: uplink0, mtu: $1}
  - {name: vfh-b, mode: bridge, uplink: vfh-up1}
${2:-}
vms:
  - {name: vfh-vm1, host: lab1, cpus: 1, memory: 64MiB, graphics: none,
     shutdown_timeout: 1, nics: [{network: vfh-a, mac: "52:54:00:77:05:01"}]}
  - {name: vfh-vm2, host: lab2, cpus: 1, memory: 64MiB, graphics: none,
     shutdown_timeout: 1, nics: [{network: vfh-b, mac: "52:54:00:77:05:02"}]}
${3:-}
EOF
}

nsip() { _h=$1; shift; ip -n "$(lab_ns $_h)" "$@"; }
# link_field HOST LINK FIELD: mtu, master or ifindex of a link, via ip -j
link_field() {
	nsip "$1" -j link show "$2" 2>/dev/null |
		/usr/bin/python3 -c 'import json,sys; l=json.load(sys.stdin)[0]; print(l.get(sys.argv[1], "-"))' "$3"
}

at_exit '"$VIRTFORM" destroy "$CONF" --auto-approve --state-dir "$STATE" --confirm-timeout 0 >/dev/null 2>&1;
	for i in 1 2 3; do
		ip -n $(lab_ns $i) link del vfh-up1 2>/dev/null
		ip -n $(lab_ns $i) link del vfh-foreign 2>/dev/null
		ip -n $(lab_ns $i) link set eth0 nomaster 2>/dev/null
		ip -n $(lab_ns $i) link set uplink0 nomaster 2>/dev/null
		for b in br-vfh-a br-vfh-b br-vfh-cut br-vfh-bad; do ip -n $(lab_ns $i) link del $b 2>/dev/null; done
		rm -f '"$LAB_DIR"'/lab$i/virtform/hostnet*.json
	done'
# A second uplink in every host, and a bridge of the administrator's own
# with a port, which virtform must never touch.
for i in 1 2 3; do
	nsip $i link add vfh-up1 type veth peer name vfh-up1p &&
	nsip $i link set vfh-up1 up && nsip $i link set vfh-up1p up &&
	nsip $i link add vfh-foreign mtu 1450 type bridge &&
	nsip $i link set vfh-up1p master vfh-foreign || lab_bail
done
foreign_before=$(for i in 1 2 3; do nsip $i -o link show vfh-foreign; nsip $i -o link show vfh-up1p; done |
	sed 's/state [A-Z]*//; s/qlen [0-9]*//')

main_yaml 1500

test_expect 'a host that cannot run virtform is a clear plan error naming it' '
	sed "s|virtform: $VF_REMOTE}|virtform: /nonexistent/virtform}|" "$CONF/hosts.yaml" >"$TMP/bad-hosts.yaml" &&
	mkdir -p "$TMP/badconf" && cp "$CONF/main.yaml" "$TMP/badconf/" &&
	cp "$TMP/bad-hosts.yaml" "$TMP/badconf/hosts.yaml" &&
	run_vf plan "$TMP/badconf" --state-dir "$TMP/badstate" && expect_rc 1 &&
	expect_contains "$err" "host lab1: cannot run virtform on lab1" &&
	expect_contains "$err" "ssh: {virtform: PATH}"'

test_expect 'plan shows the links of every host (over SSH) before the networks and VMs' '
	vf plan "$CONF" && expect_rc 0 &&
	for i in 1 2 3; do
		expect_contains "$out" "+   create  link.br-vfh-a@lab$i: bridge" &&
		expect_contains "$out" "~   update  link.uplink0@lab$i: master (none) -> br-vfh-a" &&
		expect_contains "$out" "~   update  link.vfh-up1@lab$i: master (none) -> br-vfh-b" || exit 1
	done &&
	expect_contains "$out" "Plan: 14 to create, 6 to update" &&
	first_link=$(printf "%s\n" "$out" | grep -n "link.br-vfh-a@lab1" | cut -d: -f1) &&
	first_net=$(printf "%s\n" "$out" | grep -n "network.vfh-a@lab1" | cut -d: -f1) &&
	[ "$first_link" -lt "$first_net" ]'

test_expect 'plan --json carries them under host_network' '
	vf plan "$CONF" --json && expect_rc 0 &&
	printf "%s" "$out" | /usr/bin/python3 -c "
import json, sys
d = json.load(sys.stdin)
hn = d[\"host_network\"]
assert hn[\"summary\"] == {\"create\": 6, \"update\": 6, \"replace\": 0, \"delete\": 0}, hn[\"summary\"]
a = [c[\"address\"] for c in hn[\"changes\"]]
assert \"link.br-vfh-b@lab3\" in a, a
"'

test_expect 'apply makes the bridges on every host over SSH, confirmed, then the networks and VMs' '
	vf apply "$CONF" --auto-approve --confirm-timeout 20 && expect_rc 0 &&
	expect_contains "$out" "link.br-vfh-a@lab2: created" &&
	expect_contains "$out" "Apply complete: 14 created, 6 updated" &&
	for i in 1 2 3; do
		[ "$(link_field $i uplink0 master)" = br-vfh-a ] &&
		[ "$(link_field $i vfh-up1 master)" = br-vfh-b ] &&
		[ "$(link_field $i br-vfh-a mtu)" = 1500 ] &&
		nsip $i -o link show br-vfh-a | grep -q "state UP" &&
		lab_virsh $i net-dumpxml vfh-a | grep -q "<bridge name=.br-vfh-a./>" || exit 1
	done &&
	! ls '"$LAB_DIR"'/lab1/virtform/hostnet-pending.json 2>/dev/null &&
	grep -q br-vfh-a '"$LAB_DIR"'/lab1/virtform/hostnet.json &&
	grep -q br-vfh-b '"$LAB_DIR"'/lab1/virtform/hostnet-confirmed.json'

test_expect 'the VMs NICs are ports of the bridges virtform made (virsh and netlink)' '
	lab_virsh 1 domiflist vfh-vm1 | grep -q "vfh-a" &&
	nsip 1 -o link show master br-vfh-a | grep -q "link/ether fe:54:00:77:05:01" &&
	lab_virsh 2 domiflist vfh-vm2 | grep -q "vfh-b" &&
	nsip 2 -o link show master br-vfh-b | grep -q "link/ether fe:54:00:77:05:02"'

test_expect 'a second plan is a no-op' '
	vf plan "$CONF" --detailed-exitcode && expect_rc 0 &&
	expect_contains "$out" "No changes."'

ifindex_a=$(link_field 1 br-vfh-a ifindex)
main_yaml 1400
test_expect 'a saved plan keeps the link changes (plan -out, show)' '
	vf plan "$CONF" -out "$TMP/mtu.plan" && expect_rc 0 &&
	expect_contains "$out" "~   update  link.br-vfh-a@lab1: mtu 1500 -> 1400" &&
	run_vf show "$TMP/mtu.plan" && expect_rc 0 &&
	expect_contains "$out" "~   update  link.br-vfh-a@lab3: mtu 1500 -> 1400"'

test_expect 'a saved plan is stale when a host plans another link change now' '
	nsip 2 link set br-vfh-a mtu 1450 &&
	vf apply "$TMP/mtu.plan" && expect_rc 1 &&
	expect_contains "$err" "link.br-vfh-a@lab2: the host planned update: mtu 1500 -> 1400 then, and plans update: mtu 1450 -> 1400 now" &&
	[ "$(link_field 1 br-vfh-a mtu)" = 1500 ]'

test_expect 'an MTU change is made in place (a saved plan, applied)' '
	vf plan "$CONF" -out "$TMP/mtu.plan" && expect_rc 0 &&
	vf apply "$TMP/mtu.plan" --confirm-timeout 20 && expect_rc 0 &&
	expect_contains "$out" "link.br-vfh-a@lab2: updated" &&
	for i in 1 2 3; do
		[ "$(link_field $i br-vfh-a mtu)" = 1400 ] || exit 1
	done &&
	[ "$(link_field 1 br-vfh-a ifindex)" = "$ifindex_a" ] &&
	nsip 1 -o link show master br-vfh-a | grep -q "link/ether fe:54:00:77:05:01"'

# A change that fails on the hosts: lo cannot be a bridge port (the kernel
# refuses at enslaving, after the new bridge is made and the MTU set).
main_yaml 1300 "  - {name: vfh-bad, mode: bridge, uplink: lo}" \
	"  - {name: vfh-vm3, host: lab1, cpus: 1, memory: 64MiB, graphics: none,
     shutdown_timeout: 1, nics: [{network: vfh-a, mac: \"52:54:00:77:05:03\"}]}"
test_expect 'a change that fails is rolled back completely on every host; nothing after it runs' '
	vf apply "$CONF" --auto-approve --confirm-timeout 20 && expect_rc 1 &&
	expect_contains "$out" "rolled back" &&
	expect_contains "$out" "vm.vfh-vm3: not attempted" &&
	for i in 1 2 3; do
		[ "$(link_field $i br-vfh-a mtu)" = 1400 ] &&
		! nsip $i link show br-vfh-bad >/dev/null 2>&1 &&
		! lab_virsh $i net-info vfh-bad >/dev/null 2>&1 || exit 1
	done &&
	! lab_virsh 1 dominfo vfh-vm3 >/dev/null 2>&1 &&
	[ "$(link_field 1 br-vfh-a ifindex)" = "$ifindex_a" ]'

test_expect 'a failed host apply leaves nothing pending and the plan shows the change again' '
	! ls '"$LAB_DIR"'/lab*/virtform/hostnet-pending.json 2>/dev/null &&
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "link.br-vfh-bad@lab1"'

# A change that cuts lab1 off: its management link eth0 as the port of a
# bridge with spanning tree on, which forwards nothing from a new port for
# twice its forward delay (30 s).  The host applies and verifies it, but
# virtform cannot reconnect to confirm, so lab1 rolls it back by itself at
# the end of the timeout.
main_yaml 1400 "  - {name: vfh-cut, mode: bridge, uplink: eth0}"
cp "$CONF/hosts.yaml" "$TMP/hosts.yaml.orig"
/usr/bin/python3 - "$CONF/hosts.yaml" <<'PYEND'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("  - name: lab1\n", "  - name: lab1\n    interfaces: [{name: br-vfh-cut, type: bridge, stp: true}]\n", 1)
open(p, "w").write(s)
PYEND
test_expect 'a change that cuts the management link off is not confirmed and reverts by itself' '
	t0=$(now)
	vf apply "$CONF" --auto-approve --target link.br-vfh-cut@lab1 --confirm-timeout 4 &&
	expect_rc 1 &&
	expect_contains "$out" "not confirmed" &&
	[ "$(link_field 1 eth0 master)" = "-" ] &&
	! nsip 1 link show br-vfh-cut >/dev/null 2>&1 &&
	ssh -F '"$LAB_DIR"'/ssh/config -o ConnectTimeout=5 lab1 true &&
	echo "reverted within $(elapsed "$t0") s"'

test_expect 'the host is reachable again and plans the change anew' '
	vf plan "$CONF" --target link.br-vfh-cut@lab1 && expect_rc 0 &&
	expect_contains "$out" "+   create  link.br-vfh-cut@lab1"'

cp "$TMP/hosts.yaml.orig" "$CONF/hosts.yaml"
main_yaml 1400
# vfh-b goes, and vfh-vm2 with it
sed -i "/vfh-b,/d; /vfh-vm2/,+1d" "$CONF/main.yaml"
test_expect 'removing a network removes its links after its VMs and libvirt networks' '
	vf apply "$CONF" --auto-approve --confirm-timeout 20 && expect_rc 0 &&
	vm_line=$(printf "%s\n" "$out" | grep -n "vm.vfh-vm2 on lab2: destroyed" | cut -d: -f1) &&
	link_line=$(printf "%s\n" "$out" | grep -n "link.br-vfh-b@lab2: destroyed" | cut -d: -f1) &&
	[ "$vm_line" -lt "$link_line" ] &&
	for i in 1 2 3; do
		! nsip $i link show br-vfh-b >/dev/null 2>&1 &&
		[ "$(link_field $i vfh-up1 master)" = "-" ] &&
		[ "$(link_field $i uplink0 master)" = br-vfh-a ] || exit 1
	done'

test_expect 'destroy removes every link virtform made and releases the uplinks' '
	vf destroy "$CONF" --auto-approve --confirm-timeout 20 && expect_rc 0 &&
	for i in 1 2 3; do
		! nsip $i link show br-vfh-a >/dev/null 2>&1 &&
		[ "$(link_field $i uplink0 master)" = "-" ] &&
		nsip $i link show uplink0 >/dev/null || exit 1
	done'

test_expect 'the links virtform does not own were never touched' '
	now_links=$(for i in 1 2 3; do nsip $i -o link show vfh-foreign; nsip $i -o link show vfh-up1p; done |
		sed "s/state [A-Z]*//; s/qlen [0-9]*//") &&
	[ "$now_links" = "$foreign_before" ] || { echo "before: $foreign_before"; echo "now: $now_links"; exit 1; }'

test_expect 'no watcher is left running on any host' '
	for f in '"$LAB_DIR"'/lab*/virtform/hostnet-pending.json; do
		[ -f "$f" ] || continue
		p=$(sed -n "s/.*\"pid\": *\([0-9][0-9]*\).*/\1/p" "$f" | head -n 1)
		# a zombie has ended (PID 1 here reaps late)
		[ -z "$p" ] || [ ! -e /proc/$p ] || [ "$(sed "s/.*) //" /proc/$p/stat | cut -d" " -f1)" = Z ] ||
			{ echo "watcher $p still runs"; exit 1; }
	done'

test_done
