#!/bin/sh
# The host-link code (providers/hostnet/links.c, through the very binary
# tests/unit/test-hostnet.c builds) on a real kernel WITH 802.1Q VLAN and
# bonding: Debian's kernel booted under qemu TCG by tests/tcg/run-in-vm.
# This machine's kernel has neither, so there test-hostnet asserts the
# "kernel lacks ..." messages; here it must create, read back, enslave and
# delete the VLAN and the bond instead.  Not skipped.
. "$(dirname "$0")/lib.sh"

cd "$TOP" || exit 1
bin=${VF_BUILD:-$TOP/build}/tests/test-hostnet

test_expect 'test-hostnet is built' '[ -x "$bin" ] || { echo "missing $bin: run make unit"; exit 1; }'

tests/tcg/run-in-vm --timeout 180 "$bin" >"$TMP/out" 2>"$TMP/err"
rc=$?

test_expect 'test-hostnet passes in the VM' '
	cat "$TMP/out" "$TMP/err"; [ "$rc" -eq 0 ] && ! grep -q "^not ok" "$TMP/out" &&
	grep -q "^1\.\.[0-9]" "$TMP/out"'

test_expect 'in the VM, the VLAN was created, read back and put in a bridge' '
	grep -q "^# this kernel has 802.1Q VLAN support" "$TMP/out" &&
	grep -q "^ok [0-9]* - vfh0.100: id 100$" "$TMP/out" &&
	grep -q "^ok [0-9]* - vfh0.100: master vfhbr2$" "$TMP/out" &&
	grep -q "^ok [0-9]* - vlan on lo: exact message$" "$TMP/out"'

test_expect 'in the VM, the bond was created in its mode and took a port' '
	grep -q "^# this kernel has bonding support" "$TMP/out" &&
	grep -q "^ok [0-9]* - vfhbond0: mode active-backup$" "$TMP/out" &&
	grep -q "^ok [0-9]* - vfhbond0: ports \[vfh1\]$" "$TMP/out"'

test_done
