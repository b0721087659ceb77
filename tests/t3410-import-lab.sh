#!/bin/sh
# virtform import on the lab: a network, a pool and a domain with its disk
# made with virsh are adopted without being changed; the import shows how
# they differ from the config; the next plan has no clash and shows the
# remaining differences; apply converges; errors are clear.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
lab_config
NS=https://virtform.dev/xmlns/virtform/1
POOLDIR=/var/lib/libvirt/virtform/vfi-pool

cleanup() {
	"$VIRTFORM" destroy "$CONF" --auto-approve --state-dir "$STATE" >/dev/null 2>&1
	lab_undefine 1 vfi-web
	lab_undefine 1 vfi-other
	lab_virsh 1 vol-delete vfi-web-root --pool vfi-pool >/dev/null 2>&1
	for i in 1 2 3; do
		lab_virsh $i net-destroy vfi-net >/dev/null 2>&1
		lab_virsh $i net-undefine vfi-net >/dev/null 2>&1
		lab_virsh $i pool-destroy vfi-pool >/dev/null 2>&1
		lab_virsh $i pool-undefine vfi-pool >/dev/null 2>&1
	done
	# the pool's directory, as lab1 sees /var/lib/libvirt
	rm -rf "$LAB_DIR/lab1/lib/virtform/vfi-pool"
	return 0
}
at_exit cleanup
cleanup

# What an operator made by hand on lab1, before virtform.
cat >"$TMP/net.xml" <<'XML'
<network><name>vfi-net</name><bridge name='vfi-br0'/>
  <ip address='172.30.81.1' prefix='24'/></network>
XML
cat >"$TMP/web.xml" <<XML
<domain type='kvm'>
  <name>vfi-web</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/>
      <source pool='vfi-pool' volume='vfi-web-root'/><target dev='vda' bus='virtio'/></disk>
    <interface type='network'><mac address='52:54:00:81:00:01'/><source network='vfi-net'/>
      <model type='virtio'/></interface>
  </devices>
</domain>
XML
test_expect 'set up by hand: a network, a pool, a volume and a running domain' '
	lab_virsh 1 net-define "$TMP/net.xml" >/dev/null && lab_virsh 1 net-start vfi-net >/dev/null &&
	lab_virsh 1 pool-define-as vfi-pool dir --target $POOLDIR >/dev/null &&
	lab_virsh 1 pool-build vfi-pool >/dev/null && lab_virsh 1 pool-start vfi-pool >/dev/null &&
	lab_virsh 1 vol-create-as vfi-pool vfi-web-root 64M --format qcow2 >/dev/null &&
	lab_virsh 1 define "$TMP/web.xml" >/dev/null && lab_virsh 1 start vfi-web >/dev/null'
ID=$(lab_virsh 1 domid vfi-web | tr -d " ")
NETUUID=$(lab_virsh 1 net-uuid vfi-net)

# one lab host is enough: the config names only lab1
rm -f "$CONF/hosts.yaml"
cat >"$CONF/main.yaml" <<'EOF'
version: 1
project: vfi
clusters: [{name: vfi}]
hosts:
  - {name: lab1, cluster: vfi, uri: "@URI1@", insecure_transport: true, address: "@ADDR1@"}
networks:
  - {name: vfi-net, mode: isolated, bridge: vfi-br0, ipv4: {address: 172.30.81.1/24}}
storage_domains:
  - {name: vfi-pool, type: dir, path: /var/lib/libvirt/virtform/vfi-pool}
vms:
  - name: vfi-web
    host: lab1
    cpus: 1
    memory: 128MiB
    shutdown_timeout: 1
    disks: [{name: root, size: 64MiB, storage: vfi-pool}]
    nics: [{network: vfi-net, mac: "52:54:00:81:00:01"}]
EOF
sed -i "s|@URI1@|$(lab_uri 1)|; s|@ADDR1@|$(lab_addr 1)|" "$CONF/main.yaml"

test_expect 'plan refuses the unmanaged objects and suggests import' '
	vf plan "$CONF" && expect_rc 1 &&
	expect_contains "$err" "vm.vfi-web: a domain named '\''vfi-web'\'' already exists on host '\''lab1'\''" &&
	expect_contains "$err" "adopt it with '\''virtform import vm.vfi-web'\''" &&
	expect_contains "$err" "adopt it with '\''virtform import network.vfi-net@lab1'\''"'

test_expect 'import of the network records it in the state and changes nothing' '
	vf import network.vfi-net@lab1 "$CONF" && expect_rc 0 &&
	expect_contains "$out" "Imported network.vfi-net@lab1 on lab1" &&
	grep -q "\"network.vfi-net@lab1\"" "$STATE/state.json" &&
	[ "$(lab_virsh 1 net-uuid vfi-net)" = "$NETUUID" ]'

test_expect 'import of the pool' '
	vf import storage.vfi-pool@lab1 "$CONF" && expect_rc 0 &&
	grep -q "\"storage.vfi-pool@lab1\"" "$STATE/state.json"'

test_expect 'import of the VM shows how it differs and marks it, changing nothing else' '
	vf import vm.vfi-web "$CONF" && expect_rc 0 &&
	expect_contains "$out" "How vm.vfi-web differs from the configuration:" &&
	expect_contains "$out" "memory: 64 MiB -> 128 MiB" &&
	expect_contains "$out" "Imported vm.vfi-web on lab1 with 1 disk volume" &&
	expect_contains "$out" "virtform plan" &&
	[ "$(lab_virsh 1 domid vfi-web | tr -d " ")" = "$ID" ] &&
	lab_virsh 1 dominfo vfi-web | grep -q "^Max memory: *65536 KiB" &&
	lab_virsh 1 metadata vfi-web "$NS" >"$TMP/marker" &&
	grep -q "project=\"vfi\"" "$TMP/marker" &&
	grep -q "name=\"vfi-web-root\"" "$TMP/marker" &&
	lab_virsh 1 metadata vfi-web "$NS" --config | grep -q "project=\"vfi\"" &&
	grep -q "\"volume.vfi-web-root@lab1\"" "$STATE/state.json"'

test_expect 'importing it again says it is managed already' '
	vf import vm.vfi-web "$CONF" && expect_rc 0 &&
	expect_contains "$out" "vm.vfi-web is managed by virtform already (project vfi)"'

test_expect 'the next plan has no clash and shows the remaining differences' '
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "~   update  vm.vfi-web on lab1" &&
	expect_contains "$out" "memory: 64 MiB -> 128 MiB" &&
	expect_not_contains "$out" "+   create" &&
	expect_not_contains "$out" "-/+ replace"'

test_expect 'apply makes them; then nothing is left to change' '
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	lab_virsh 1 dumpxml --inactive vfi-web | grep -q "<currentMemory unit=.KiB.>131072<" &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0'

test_expect 'import errors are clear: not in the config, not on the host, bad address' '
	lab_define 1 vfi-other &&
	vf import vm.vfi-other "$CONF" && expect_rc 1 &&
	expect_contains "$err" "vm.vfi-other is not in the configuration" &&
	vf import network.vfi-net@lab9 "$CONF" && expect_rc 1 &&
	vf import vm. "$CONF" && expect_rc 1 &&
	expect_contains "$err" "is not an address virtform can import" &&
	sed -i "s/name: vfi-web$/name: vfi-gone/" "$CONF/main.yaml" &&
	vf import vm.vfi-gone "$CONF" && expect_rc 1 &&
	expect_contains "$err" "no vm named '\''vfi-gone'\'' exists" &&
	expect_contains "$err" "virtform apply" &&
	sed -i "s/name: vfi-gone$/name: vfi-web/" "$CONF/main.yaml"'

test_done
