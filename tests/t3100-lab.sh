#!/bin/sh
# The lab itself (contrib/lab/lab): up starts isolated libvirtd hosts that
# answer on their own addresses and run kvm guests; up is idempotent and
# repairs a stale lab; stop-host/start-host and freeze/thaw do what the
# hosts tests rely on; down leaves no namespace, link, process, mount or
# directory behind.  Needs root and /dev/kvm, like the lab.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
# This test ends with `lab down`; if the lab was up before, put it back as
# it was (its size too).  It tests the default lab of three hosts.
[ "$lab_was_up" = 1 ] && at_exit '"$LAB" up "$lab_was_size" >/dev/null 2>&1'
"$LAB" up 3 >/dev/null 2>&1 || lab_bail

test_expect 'lab up starts three hosts that answer' '
	"$LAB" status >"$TMP/status" &&
	cat "$TMP/status" &&
	[ "$(grep -c " answers " "$TMP/status")" -eq 3 ]'

test_expect 'each host has its own address, URI and host name' '
	for i in 1 2 3; do
		grep -q "^lab$i  *169\.254\.77\.1$i  *qemu+tcp://169\.254\.77\.1$i/system  *answers" "$TMP/status" ||
			{ echo "no status line for lab$i"; exit 1; }
		h=$(lab_virsh $i hostname) && [ "$h" = "lab$i" ] ||
			{ echo "lab$i says its host name is \"$h\""; exit 1; }
	done'

test_expect 'hosts live in namespaces vflab-lab1..3 behind bridge vflab0' '
	ip netns list | grep -q "^vflab-lab1" && ip netns list | grep -q "^vflab-lab3" &&
	ip -br addr show vflab0 | grep -q "169\.254\.77\.1/24" &&
	ip -n vflab-lab2 -br addr show eth0 | grep -q "169\.254\.77\.12/24"'

test_expect 'lab host state is private: /var/lib/libvirt is not shared' '
	lab_define 1 vftest-private &&
	lab_virsh 1 list --all --name | grep -qx vftest-private &&
	! lab_virsh 2 list --all --name | grep -qx vftest-private &&
	! ls /etc/libvirt/qemu/vftest-private.xml 2>/dev/null &&
	lab_virsh 1 undefine vftest-private >/dev/null'

# pidfiles have no final newline: awk adds one per file
pids_of() { awk 1 "$LAB_DIR"/lab*/libvirtd.pid "$LAB_DIR"/lab*/virtlogd.pid 2>/dev/null | sort | tr "\n" " "; }

test_expect 'lab up twice is fine and restarts nothing' '
	before=$(pids_of) &&
	"$LAB" up >"$TMP/up2" 2>&1 &&
	grep -q "already up" "$TMP/up2" &&
	[ "$(pids_of)" = "$before" ]'

test_expect 'a kvm domain starts on a lab host, inside its namespace' '
	lab_define 1 vftest-kvm start &&
	lab_virsh 1 list --name | grep -qx vftest-kvm &&
	pid=$(cat "$LAB_DIR/lab1/run/qemu/vftest-kvm.pid") &&
	[ "$(stat -L -c %i /proc/$pid/ns/net)" = "$(stat -L -c %i /run/netns/vflab-lab1)" ] &&
	tr "\0" " " </proc/$pid/cmdline | grep -q -- "-accel kvm\|accel=kvm"'

test_expect 'stop-host makes a host refuse connections; start-host brings it back' '
	"$LAB" stop-host lab2 &&
	! "$LAB" status >"$TMP/st" &&
	grep -q "^lab2 .* stopped" "$TMP/st" &&
	! lab_virsh 2 version >/dev/null 2>&1 &&
	"$LAB" start-host lab2 &&
	lab_virsh 2 version >/dev/null'

test_expect 'start-host keeps the guests the host was running' '
	"$LAB" stop-host lab1 && "$LAB" start-host lab1 &&
	lab_virsh 1 list --name | grep -qx vftest-kvm'

test_expect 'freeze makes a host hang; thaw makes it answer' '
	"$LAB" freeze lab3 &&
	! "$LAB" status >"$TMP/st" &&
	grep -q "^lab3 .* frozen" "$TMP/st" &&
	! timeout 3 virsh -q -c "$(lab_uri 3)" version >/dev/null 2>&1 &&
	"$LAB" thaw lab3 &&
	lab_virsh 3 version >/dev/null'

test_expect 'lab up repairs a stale lab' '
	"$LAB" stop-host lab3 &&
	"$LAB" up >"$TMP/up3" 2>&1 &&
	grep -q "taking it down first" "$TMP/up3" &&
	"$LAB" status'

test_expect 'an unknown host name is refused' '
	! "$LAB" freeze lab9 2>"$TMP/e" && grep -q "not part of the running lab" "$TMP/e" &&
	! "$LAB" freeze nosuch 2>"$TMP/e" && grep -q "no such lab host" "$TMP/e"'

# Everything the lab started, recorded before it goes down: daemons, a
# guest, and the DHCP server (dnsmasq) of a libvirt network, which outlive
# libvirtd unless the lab stops them too.
lab_define 2 vftest-down start
cat >"$TMP/net.xml" <<XML
<network><name>vftest-dhcp</name><bridge name='vftestbr0'/>
  <ip address='172.30.99.1' prefix='24'><dhcp><range start='172.30.99.10' end='172.30.99.20'/></dhcp></ip>
</network>
XML
lab_virsh 1 net-create "$TMP/net.xml" >/dev/null
lab_pids=$(awk 1 "$LAB_DIR"/lab*/libvirtd.pid "$LAB_DIR"/lab*/virtlogd.pid "$LAB_DIR"/lab*/run/qemu/*.pid \
	"$LAB_DIR"/lab*/run/network/*.pid 2>/dev/null | tr "\n" " ")

test_expect 'lab down succeeds with guests and a DHCP server running' '
	echo "lab processes: $lab_pids" &&
	[ "$(echo $lab_pids | wc -w)" -ge 8 ] &&
	ls "$LAB_DIR"/lab1/run/network/vftest-dhcp.pid &&
	"$LAB" down'

test_expect 'after down: no lab process' '
	for p in $lab_pids; do
		[ -e /proc/$p ] && { echo "pid $p is still there:"; ps -o pid,stat,args -p $p; exit 1; }
	done
	! ps -eo args | grep -q "^[l]ibvirtd .*virtform-lab\|^[v]irtlogd .*virtform-lab"'

test_expect 'after down: no namespace, veth or bridge' '
	! ip netns list | grep -q "^vflab-" &&
	! ip -o link show | grep -q "vflab" &&
	! [ -e /run/netns/vflab-lab1 ]'

test_expect 'after down: no mount and no directory' '
	! findmnt -rn -o TARGET,SOURCE | grep -q "virtform-lab\|vflab" &&
	! [ -e "$LAB_DIR" ]'

test_expect 'after down: no address in 169.254.77.0/24 on this machine' '
	! ip -o addr show | grep -q "169\.254\.77\."'

test_expect 'lab down again is fine' '"$LAB" down'

test_expect 'status without a lab says so and fails' '
	! "$LAB" status >"$TMP/st" && grep -q "no lab" "$TMP/st"'

test_done
