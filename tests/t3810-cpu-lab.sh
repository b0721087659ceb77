#!/bin/sh
# The cluster CPU model's provider side against the lab's QEMU libvirtds:
# tests/unit/test-cpu.c's lab part (VF_CPU_LAB_URIS) reads every host's
# host-model CPU, takes their migratable baseline (every host runs it),
# checks named models on every host, refuses a baseline across vendors
# and finds a lowering with the host's CPU map.  Each named model's
# verdict on lab1 is what `virsh hypervisor-cpu-compare --error` says
# there, missing features included; the host-model is virsh's.  Nothing
# here depends on the lab machine's CPU.  Needs root and /dev/kvm.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

: "${VF_BUILD:=$TOP/build}"
lab_up_for_test

test_expect 'test-cpu against the lab hosts' '
	VF_CPU_LAB_URIS="$(lab_uri 1) $(lab_uri 2) $(lab_uri 3)" \
		"$VF_BUILD/tests/test-cpu" >"$TMP/tap" 2>&1
	st=$?
	grep -v "^ok " "$TMP/tap"
	[ "$st" -eq 0 ] && grep -q "^ok .* - lab host: no error" "$TMP/tap"'

# virsh_verdict MODEL: "compatible" or "missing features: A, B" (sorted),
# as virsh compares MODEL with lab1.
virsh_verdict() {
	printf "<cpu mode='custom' match='exact'><model fallback='forbid'>%s</model></cpu>\n" \
		"$1" >"$TMP/model.xml"
	if lab_virsh 1 hypervisor-cpu-compare --error "$TMP/model.xml" >/dev/null 2>"$TMP/err"; then
		echo compatible
	else
		sed -n 's/.*required features: //p' "$TMP/err" | tr -d ' ' | tr , '\n' |
			LC_ALL=C sort | paste -sd, - | sed 's/,/, /g; s/^/missing features: /'
	fi
}

test_expect 'each verdict is what virsh says on lab1' '
	grep "^# verdict " "$TMP/tap" >"$TMP/verdicts" && [ -s "$TMP/verdicts" ] &&
	while IFS= read -r line; do
		model=${line#\# verdict }
		model=${model%%:*}
		want="# verdict $model: $(virsh_verdict "$model")"
		[ "$line" = "$want" ] || { echo "test-cpu: $line"; echo "virsh:    $want"; exit 1; }
	done <"$TMP/verdicts"'

test_expect 'the host-model is the one virsh reports' '
	lab_virsh 1 domcapabilities >"$TMP/domcaps" &&
	model=$(/usr/bin/python3 -c "
import sys, xml.etree.ElementTree as ET
print(ET.parse(sys.argv[1]).find(\"cpu/mode[@name=\x27host-model\x27]/model\").text)
" "$TMP/domcaps") &&
	grep -qx "# host-model $model" "$TMP/tap"'

test_done
