#!/bin/sh
# `virtform hosts` against the lab: every row agrees with what virsh says
# about that host (CPUs, memory, versions, domains), --json says the same,
# a stopped host is reported with its error and exit 1, and a frozen host
# costs the --timeout, not a hang.  Needs root and /dev/kvm, like the lab.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
at_exit '"$LAB" thaw lab3 >/dev/null 2>&1; "$LAB" start-host lab2 >/dev/null 2>&1'
at_exit 'lab_undefine 2 vftest-run; lab_undefine 2 vftest-off'

# The lab example: its hosts are lab1..lab3 in cluster lab, at the lab URIs
# (this lab's: the example names lab 0's addresses).
CONF="$TMP/example"
lab_example "$CONF" || lab_bail

row() { printf '%s\n' "$out" | awk -v h="$1" '$1 == h'; }

# json_get HOST KEY: one field of one host from $out (a --json document).
json_get() {
	printf '%s\n' "$out" | /usr/bin/python3 -c '
import json, sys
doc = json.load(sys.stdin)
host = [h for h in doc["hosts"] if h["name"] == sys.argv[1]][0]
v = host.get(sys.argv[2])
print("null" if v is None else str(v).lower() if isinstance(v, bool) else v)
' "$1" "$2"
}

# What virsh says about host I.
virsh_cpus() { lab_virsh "$1" nodeinfo | awk -F: '/^CPU\(s\)/ { gsub(/ /, "", $2); print $2 }'; }
virsh_mem_kib() { lab_virsh "$1" nodeinfo | awk -F: '/^Memory size/ { print $2 + 0 }'; }
virsh_daemon() { lab_virsh "$1" version --daemon | sed -n 's/^Running against daemon: //p'; }
virsh_hv() { lab_virsh "$1" version | sed -n 's/^Running hypervisor: //p'; }
virsh_count() { lab_virsh "$1" list --name "$2" | grep -c .; }   # $2: --all or --state-running
gib() { awk -v k="$1" 'BEGIN { printf "%.1f GiB\n", k / 1048576 }'; }

test_expect 'hosts shows every lab host reachable' '
	run_vf hosts "$CONF" && expect_rc 0 &&
	printf "%s\n" "$out" | head -1 | grep -q "^HOST  *CLUSTER  *URI  *REACHABLE  *LIBVIRT  *HYPERVISOR  *CPU-MODEL  *CORES  *MEMORY  *DOMAINS$" &&
	for i in 1 2 3; do
		row lab$i | grep -q "^lab$i  *lab  *$(lab_uri $i)  *yes " || { echo "row lab$i: $(row lab$i)"; exit 1; }
	done'

test_expect 'each row agrees with virsh nodeinfo, version and list' '
	run_vf hosts "$CONF" && expect_rc 0 &&
	for i in 1 2 3; do
		r=$(row lab$i)
		set -- $r
		want_mem=$(gib "$(virsh_mem_kib $i)")
		want_dom="$(virsh_count $i --state-running)/$(virsh_count $i --all)"
		[ "$5" = "$(virsh_daemon $i)" ] || { echo "lab$i libvirt: $5 vs $(virsh_daemon $i)"; exit 1; }
		[ "$6 $7" = "$(virsh_hv $i)" ] || { echo "lab$i hypervisor: $6 $7 vs $(virsh_hv $i)"; exit 1; }
		[ "$9" = "$(virsh_cpus $i)" ] || { echo "lab$i cores: $9 vs $(virsh_cpus $i)"; exit 1; }
		[ "${10} ${11%%/*}" = "$want_mem" ] || { echo "lab$i memory: ${10} ${11} vs $want_mem"; exit 1; }
		[ "${13}" = "$want_dom" ] || { echo "lab$i domains: ${13} vs $want_dom"; exit 1; }
	done'

test_expect 'the domain counts follow domains defined and started' '
	run_vf hosts "$CONF" && before=$(row lab2 | awk "{print \$NF}") &&
	run0=${before%/*} all0=${before#*/} &&
	lab_define 2 vftest-run start && lab_define 2 vftest-off &&
	run_vf hosts "$CONF" && expect_rc 0 &&
	after=$(row lab2 | awk "{print \$NF}") &&
	echo "lab2 domains: $before -> $after" &&
	[ "$after" = "$((run0 + 1))/$((all0 + 2))" ] &&
	[ "$after" = "$(virsh_count 2 --state-running)/$(virsh_count 2 --all)" ]'

# same HOST KEY WANT: the --json field equals what virsh says, or say which.
same() {
	_got=$(json_get "$1" "$2")
	[ "$_got" = "$3" ] && return 0
	echo "$1 $2: virtform says '$_got', virsh says '$3'"
	return 1
}

test_expect '--json parses and says the same as virsh' '
	run_vf hosts "$CONF" --json && expect_rc 0 &&
	for i in 1 2 3; do
		same lab$i reachable true &&
		same lab$i error null &&
		same lab$i cluster lab &&
		same lab$i uri "$(lab_uri $i)" &&
		same lab$i hostname lab$i &&
		same lab$i cpus "$(virsh_cpus $i)" &&
		same lab$i memory_total_bytes "$(($(virsh_mem_kib $i) * 1024))" &&
		same lab$i libvirt_version "$(virsh_daemon $i)" &&
		[ "$(json_get lab$i hypervisor) $(json_get lab$i hypervisor_version)" = "$(virsh_hv $i)" ] &&
		same lab$i domains_total "$(virsh_count $i --all)" &&
		same lab$i domains_running "$(virsh_count $i --state-running)" ||
			{ echo "lab$i differs:"; printf "%s\n" "$out"; exit 1; }
	done'

test_expect 'the CPU model and arch come from the capabilities XML' '
	run_vf hosts "$CONF" --json &&
	lab_virsh 1 capabilities >"$TMP/caps.xml" &&
	want=$(/usr/bin/python3 -c "
import sys, xml.etree.ElementTree as ET
cpu = ET.parse(sys.argv[1]).getroot().find(\"host/cpu\")
print(cpu.findtext(\"model\") or \"null\", cpu.findtext(\"arch\"))" "$TMP/caps.xml") &&
	[ "$(json_get lab1 cpu_model) $(json_get lab1 arch)" = "$want" ]'

test_expect 'a stopped host: its row shows the error, exit 1' '
	"$LAB" stop-host lab2 >/dev/null &&
	t0=$(now) && run_vf hosts "$CONF" --timeout 10 && t=$(elapsed $t0) &&
	"$LAB" start-host lab2 >/dev/null &&
	expect_rc 1 &&
	row lab2 | grep -q "^lab2  *lab  *$(lab_uri 2)  *no " &&
	printf "%s\n" "$out" | grep -A1 "^lab2 " | grep "^  error: cannot connect: .*Connection refused" | grep -qF "$(lab_addr 2)" &&
	row lab1 | grep -q " yes " && row lab3 | grep -q " yes " &&
	expect_contains "$err" "1 of 3 hosts unreachable" &&
	echo "took $t s" && less_than "$t" 10'

test_expect 'a stopped host in --json: reachable false with the error' '
	"$LAB" stop-host lab2 >/dev/null &&
	run_vf hosts "$CONF" --json &&
	"$LAB" start-host lab2 >/dev/null &&
	expect_rc 1 &&
	[ "$(json_get lab2 reachable)" = false ] &&
	[ "$(json_get lab2 timed_out)" = false ] &&
	json_get lab2 error | grep -q "Connection refused" &&
	[ "$(json_get lab1 reachable)" = true ]'

test_expect 'a frozen host times out after --timeout; the others are fine' '
	"$LAB" freeze lab3 >/dev/null &&
	t0=$(now) && run_vf hosts "$CONF" --timeout 2 && t=$(elapsed $t0) &&
	echo "took $t s" &&
	expect_rc 1 &&
	row lab3 | grep -q "^lab3 .* no " &&
	printf "%s\n" "$out" | grep -A1 "^lab3 " | grep -qx "  error: timed out after 2 s" &&
	row lab1 | grep -q " yes " && row lab2 | grep -q " yes " &&
	less_than "$t" 5'

test_expect 'a frozen host in --json: timed_out true' '
	run_vf hosts "$CONF" --timeout 1.5 --json &&
	expect_rc 1 &&
	[ "$(json_get lab3 timed_out)" = true ] &&
	[ "$(json_get lab3 error)" = "timed out after 1.5 s" ] &&
	[ "$(json_get lab2 reachable)" = true ]'

test_expect 'thawed, the host answers again' '
	"$LAB" thaw lab3 >/dev/null &&
	run_vf hosts "$CONF" && expect_rc 0 && row lab3 | grep -q " yes "'

test_expect 'hosts examples/lab shows the three lab hosts' '
	run_vf hosts "$CONF" && expect_rc 0 &&
	for i in 1 2 3; do row lab$i | grep -q " yes " || exit 1; done'

test_expect 'an invalid config: diagnostics, exit 1, no host contacted' '
	printf "version: 1\nhosts:\n  - name: lab1\n    uri: [\n" >"$TMP/bad.yaml" &&
	run_vf hosts "$TMP/bad.yaml" && expect_rc 1 &&
	expect_contains "$err" "bad.yaml:" && [ -z "$out" ]'

test_done
