#!/bin/sh
# A bridge-mode network on the lab: libvirt networks of forward mode
# bridge on every host, attached to a host bridge (made here by the test
# itself with ip(8) inside each lab host's namespace — the host-networking
# issue makes them with libnl later); a VM's NIC lands on that bridge; a
# second plan is a no-op; destroy leaves the host bridges alone.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test

lab_config
cat >"$CONF/main.yaml" <<EOF
version: 1
project: vftest-bridge
clusters: [{name: lab}]
networks: [{name: vfb-br, mode: bridge, bridge: vfbr0}]
vms:
  - {name: vfb-onbr, host: lab1, cpus: 1, memory: 64MiB, graphics: none,
     shutdown_timeout: 1, nics: [{network: vfb-br, mac: "52:54:00:77:01:01"}]}
EOF

at_exit '"$VIRTFORM" destroy "$CONF" --auto-approve --state-dir "$STATE" >/dev/null 2>&1;
	for i in 1 2 3; do ip netns exec $(lab_ns $i) ip link del vfbr0 2>/dev/null; done'
for i in 1 2 3; do
	ip netns exec "$(lab_ns $i)" ip link add vfbr0 type bridge &&
	ip netns exec "$(lab_ns $i)" ip link set vfbr0 up || lab_bail
done

test_expect 'apply makes a bridge-mode network on every host and the VM on it' '
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	expect_contains "$out" "Apply complete: 4 created" &&
	for i in 1 2 3; do
		lab_virsh $i net-dumpxml vfb-br | grep -q "<forward mode=.bridge./>" &&
		lab_virsh $i net-dumpxml vfb-br | grep -q "<bridge name=.vfbr0./>" || exit 1
	done'

test_expect 'the VM NIC is a port of the host bridge' '
	ip netns exec $(lab_ns 1) ip -o link show master vfbr0 >"$TMP/ports" &&
	grep -q "link/ether fe:54:00:77:01:01" "$TMP/ports" || { cat "$TMP/ports"; exit 1; }'

test_expect 'a second plan is a no-op' '
	vf plan "$CONF" --detailed-exitcode && expect_rc 0'

test_expect 'destroy removes the networks and leaves the host bridges alone' '
	vf destroy "$CONF" --auto-approve && expect_rc 0 &&
	for i in 1 2 3; do
		! lab_virsh $i net-info vfb-br >/dev/null 2>&1 &&
		ip netns exec $(lab_ns $i) ip link show vfbr0 >/dev/null || exit 1
	done'

test_done
