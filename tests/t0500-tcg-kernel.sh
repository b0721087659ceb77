#!/bin/sh
# The TCG harness (tests/tcg/run-in-vm, docs/tcg.md): boot Debian's kernel
# under qemu TCG with a busybox initramfs and run a program there.  Its smoke
# test, tests/tcg/vlan-demo.c, makes a bond and an 802.1Q VLAN on it with
# libnl-route-3, which this machine's own kernel cannot.  Not skipped: the
# kernel, busybox-static and qemu come from contrib/deps.sh.
. "$(dirname "$0")/lib.sh"

cd "$TOP" || exit 1
bdir=${VF_BUILD:-$TOP/build}/tcg
demo=$bdir/vlan-demo
mkdir -p "$bdir"

test_expect 'vlan-demo builds against libnl-route-3' '
	${CC:-cc} -std=gnu11 -Wall -Wextra -O2 -g $(pkg-config --cflags libnl-route-3.0) \
		-o "$demo" tests/tcg/vlan-demo.c $(pkg-config --libs libnl-route-3.0)'

start=$(date +%s.%N)
VF_TCG_TIME=$TMP/qemu-time tests/tcg/run-in-vm --timeout 120 "$demo" >"$TMP/out" 2>"$TMP/err"
rc=$?
end=$(date +%s.%N)
out=$(cat "$TMP/out"); err=$(cat "$TMP/err")

test_expect 'vlan-demo runs in the VM and exits 0' 'expect_rc 0'
for line in \
	'ok 1 - bond0 created (kernel kind bond)' \
	'ok 2 - bond0 mode is active-backup' \
	'ok 3 - bond0.100 is a vlan with id 100 on bond0' \
	'ok 4 - bond0 and bond0.100 are administratively up' \
	'ok 5 - bond0.100 and bond0 deleted' \
	'1..5'
do
	test_expect "in the VM: $line" 'expect_contains "$out" "$line"'
done
test_expect 'no "not ok" in the VM' 'expect_not_contains "$out" "not ok"'

# A program's exit status and stderr come back; a missing module shows.
test_expect 'exit status and stderr of the program come back' '
	tests/tcg/run-in-vm /bin/sh -c "echo to-out; echo to-err >&2; exit 7" >"$TMP/o2" 2>"$TMP/e2"
	rc=$?; out=$(cat "$TMP/o2"); err=$(cat "$TMP/e2")
	expect_rc 7 && [ "$out" = to-out ] && [ "$err" = to-err ] ||
		{ echo "stdout: $out"; echo "stderr: $err"; false; }'
test_expect 'without --modules the kernel has no 802.1Q (control)' '
	tests/tcg/run-in-vm --modules "" "$demo" >"$TMP/o3" 2>&1
	rc=$?; out=$(cat "$TMP/o3"); err=""
	expect_rc 1 && expect_contains "$out" "not ok 3 - bond0.100"'

diag "$(awk -v s="$start" -v e="$end" -v q="$(cat "$TMP/qemu-time" 2>/dev/null || echo '?')" \
	'BEGIN { printf "TCG boot + vlan-demo: %s s in qemu, %.1f s with the image build", q, e - s }')"
test_done
