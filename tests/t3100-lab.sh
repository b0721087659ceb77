#!/bin/sh
# The lab itself (contrib/lab/lab): up starts isolated libvirtd hosts that
# answer on their own addresses and run kvm guests; up is idempotent and
# repairs a stale lab; stop-host/start-host and freeze/thaw do what the
# hosts tests rely on; each host has an sshd that takes the lab's key and
# an uplink (veth) uplink0; down leaves no namespace, link, process, mount
# or directory behind.  Needs root and /dev/kvm, like the lab.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
# This test ends with `lab down`; if the lab was up before, put it back as
# it was (its size too).  It tests the default lab of three hosts.
[ "$lab_was_up" = 1 ] && at_exit '"$LAB" up "$lab_was_size" >/dev/null 2>&1'
"$LAB" up 3 >/dev/null 2>&1 || lab_bail
# This lab's range and names (lab 1's by default: 169.254.78, vflab1-labI).
RE=$(printf %s "$LAB_SUBNET" | sed 's/\./\\./g')   # the range as a regex
A1=$(lab_addr 1) NS1=$(lab_ns 1) NS2=$(lab_ns 2) NS3=$(lab_ns 3)

test_expect 'lab up starts three hosts that answer' '
	"$LAB" status >"$TMP/status" &&
	ip route show type unreachable "$LAB_SUBNET.0/24" | grep -q "metric 4242" &&
	cat "$TMP/status" &&
	[ "$(grep -c " answers " "$TMP/status")" -eq 3 ]'

test_expect 'each host has its own address, URI and host name' '
	for i in 1 2 3; do
		grep -q "^lab$i  *$RE\.1$i  *qemu+tcp://$RE\.1$i/system  *answers" "$TMP/status" ||
			{ echo "no status line for lab$i"; exit 1; }
		h=$(lab_virsh $i hostname) && [ "$h" = "lab$i" ] ||
			{ echo "lab$i says its host name is \"$h\""; exit 1; }
	done'

lab_ssh() {   # lab_ssh I COMMAND...: through the lab's ssh config, bounded
	_i=$1
	shift
	timeout -k 1 20 ssh -F "$LAB_DIR/ssh/config" "lab$_i" "$@" </dev/null
}

test_expect 'status shows the sshd of every host answering' '
	[ "$(grep -c "answers (pid [0-9]*)  *answers (pid [0-9]*)\$" "$TMP/status")" -eq 3 ]'

test_expect 'ssh to each host with the lab key runs commands there as root' '
	for i in 1 2 3; do
		h=$(lab_ssh $i hostname) && [ "$h" = "lab$i" ] ||
			{ echo "ssh lab$i hostname said \"$h\""; exit 1; }
		u=$(lab_ssh $i id -un) && [ "$u" = root ] ||
			{ echo "ssh lab$i id -un said \"$u\""; exit 1; }
	done'

test_expect 'an ssh session sees its own host: its libvirtd, its links' '
	h=$(lab_ssh 2 virsh -q -c qemu:///system hostname) && [ "$h" = lab2 ] &&
	lab_ssh 2 ip -br addr show eth0 | grep -q "$RE\.12/24" &&
	lab_ssh 2 ip -br link show uplink0 | grep -q "^uplink0@"'

test_expect 'the ssh config and keys are where the docs say, keys private' '
	[ "$(stat -c %a "$LAB_DIR/ssh/id_ed25519")" = 600 ] &&
	[ "$(stat -c %a "$LAB_DIR/lab1/ssh/ssh_host_ed25519_key")" = 600 ] &&
	grep -q "^Host lab3\$" "$LAB_DIR/ssh/config" &&
	grep -q "^lab1,$RE\.11 ssh-ed25519 " "$LAB_DIR/ssh/known_hosts"'

test_expect 'sshd takes no other key and checks the host key' '
	ssh-keygen -q -t ed25519 -N "" -f "$TMP/otherkey" &&
	! timeout 20 ssh -F /dev/null -i "$TMP/otherkey" -o IdentitiesOnly=yes -o BatchMode=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		root@$A1 true </dev/null 2>"$TMP/e" &&
	grep -q "Permission denied" "$TMP/e" &&
	cut -d" " -f1,2 "$LAB_DIR/lab2/ssh/ssh_host_ed25519_key.pub" | sed "s/^/lab1,$A1 /" >"$TMP/wrong_known" &&
	! timeout 20 ssh -F "$LAB_DIR/ssh/config" -o UserKnownHostsFile="$TMP/wrong_known" \
		lab1 true </dev/null 2>"$TMP/e" &&
	grep -qi "host key verification failed\|HOST IDENTIFICATION HAS CHANGED" "$TMP/e"'

test_expect 'each host has an uplink: uplink0 up, MTU 1500, veth to vflabK-upI outside' '
	for i in 1 2 3; do
		ip -n "$(lab_ns $i)" -o link show uplink0 >"$TMP/up" || exit 1
		grep -q "state UP" "$TMP/up" && grep -q "mtu 1500 " "$TMP/up" ||
			{ cat "$TMP/up"; exit 1; }
		ip -o -d link show "${LAB_PREFIX}up$i" >"$TMP/peer" || exit 1
		grep -q "state UP" "$TMP/peer" && grep -q "link-netns $(lab_ns $i)" "$TMP/peer" &&
			grep -q " veth " "$TMP/peer" && ! grep -q " master " "$TMP/peer" ||
			{ cat "$TMP/peer"; exit 1; }
	done'

test_expect 'hosts live in namespaces vflabK-lab1..3 behind bridge vflabK' '
	ip netns list | grep -q "^$NS1" && ip netns list | grep -q "^$NS3" &&
	ip -br addr show "$LAB_BRIDGE" | grep -q "$RE\.1/24" &&
	ip -n "$NS2" -br addr show eth0 | grep -q "$RE\.12/24"'

test_expect 'lab host state is private: /var/lib/libvirt is not shared' '
	lab_define 1 vftest-private &&
	lab_virsh 1 list --all --name | grep -qx vftest-private &&
	! lab_virsh 2 list --all --name | grep -qx vftest-private &&
	! ls /etc/libvirt/qemu/vftest-private.xml 2>/dev/null &&
	lab_virsh 1 undefine vftest-private >/dev/null'

# pidfiles have no final newline: awk adds one per file
pids_of() { awk 1 "$LAB_DIR"/lab*/libvirtd.pid "$LAB_DIR"/lab*/virtlogd.pid "$LAB_DIR"/lab*/sshd.pid 2>/dev/null | sort | tr "\n" " "; }

test_expect 'lab up twice is fine and restarts nothing' '
	before=$(pids_of) &&
	"$LAB" up >"$TMP/up2" 2>&1 &&
	grep -q "already up" "$TMP/up2" &&
	[ "$(pids_of)" = "$before" ]'

test_expect 'a kvm domain starts on a lab host, inside its namespace' '
	lab_define 1 vftest-kvm start &&
	lab_virsh 1 list --name | grep -qx vftest-kvm &&
	pid=$(cat "$LAB_DIR/lab1/run/qemu/vftest-kvm.pid") &&
	[ "$(stat -L -c %i /proc/$pid/ns/net)" = "$(stat -L -c %i /run/netns/$NS1)" ] &&
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

test_expect 'stop-host and start-host leave sshd running and answering' '
	lab_ssh 1 true && lab_ssh 2 true &&
	lab_ssh 1 virsh -q -c qemu:///system list --name | grep -qx vftest-kvm'

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
# An ssh session still running a command: down ends it too.
timeout -k 1 120 ssh -F "$LAB_DIR/ssh/config" lab3 "sleep 100" </dev/null >/dev/null 2>&1 &
ssh_client=$!
running() { _s=$(ps -o stat= -p "$1" 2>/dev/null) && [ -n "$_s" ] && [ "${_s#Z}" = "$_s" ]; }   # not a zombie
sleep 1
lab_pids=$(awk 1 "$LAB_DIR"/lab*/libvirtd.pid "$LAB_DIR"/lab*/virtlogd.pid "$LAB_DIR"/lab*/run/qemu/*.pid \
	"$LAB_DIR"/lab*/run/network/*.pid "$LAB_DIR"/lab*/sshd.pid 2>/dev/null | tr "\n" " ")
session_pids=$(ip netns pids "$NS3" 2>/dev/null | while read -r p; do
	case "$(cat /proc/$p/comm 2>/dev/null)" in sshd | sleep) echo "$p" ;; esac
done | tr "\n" " ")

test_expect 'lab down succeeds with guests and a DHCP server running' '
	echo "lab processes: $lab_pids" &&
	echo "ssh session pids: $session_pids" &&
	[ "$(echo $lab_pids | wc -w)" -ge 11 ] &&
	[ "$(echo $session_pids | wc -w)" -ge 3 ] &&
	ls "$LAB_DIR"/lab1/run/network/vftest-dhcp.pid &&
	"$LAB" down'

test_expect 'after down: no lab process, no sshd, no ssh session' '
	for p in $lab_pids $session_pids; do
		[ -e /proc/$p ] && { echo "pid $p is still there:"; ps -o pid,stat,args -p $p; exit 1; }
	done
	! ps -eo args | grep -q "^[l]ibvirtd .*$LAB_DIR\|^[v]irtlogd .*$LAB_DIR\|^[s]shd.*$LAB_DIR" &&
	for _ in $(seq 50); do running $ssh_client || break; sleep 0.1; done &&
	! running $ssh_client'

test_expect 'after down: no namespace, veth (uplinks too) or bridge' '
	! ip netns list | grep -q "^$LAB_PREFIX" &&
	! ip -o link show | grep -q ": $LAB_PREFIX\|: $LAB_BRIDGE:" &&
	! ip -o link show | grep -q "vfup\|uplink0" &&
	! [ -e "/run/netns/$NS1" ]'

test_expect 'after down: no mount and no directory' '
	! findmnt -rn -o TARGET,SOURCE | grep -q "$LAB_DIR\|$LAB_PREFIX" &&
	! [ -e "$LAB_DIR" ]'

test_expect 'after down: no address in the lab range on this machine' '
	! ip -o addr show | grep -q "$RE\."'

# Lab addresses never leave this machine, lab up or down: the unreachable
# route stays (only `lab clean` removes it), so a command aimed at the lab
# fails at once.  The connect is made only while that route is there.
test_expect 'after down: the unreachable route for the lab range stays' '
	ip route show type unreachable "$LAB_SUBNET.0/24" | grep -q "metric 4242"'

test_expect 'after down: virtform hosts fails at once with no route to host' '
	ip route show type unreachable "$LAB_SUBNET.0/24" | grep -q . &&
	lab_example "$TMP/example" &&
	run_vf hosts "$TMP/example" --timeout 30 && expect_rc 1 &&
	printf "%s\n" "$out" | grep -c "No route to host" | grep -qx 3 || { echo "$out"; exit 1; }'

test_expect 'lab down again is fine' '"$LAB" down'

test_expect 'status without a lab says so and fails' '
	! "$LAB" status >"$TMP/st" && grep -q "no lab" "$TMP/st"'

test_expect 'lab clean removes the unreachable route, and only it' '
	"$LAB" clean >"$TMP/clean" &&
	grep -q "no route for $RE\.0/24 is left" "$TMP/clean" &&
	! ip route show | grep -q "$RE\."'

test_done
