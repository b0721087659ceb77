#!/bin/sh
# iSCSI CHAP on the lab, end to end: a real target (Debian's tgtd, in lab1's
# network namespace, on lab1's address, port 3260) that admits only the CHAP user
# vfi-user, and a storage domain of type iscsi-direct whose chap secret is
# sealed in the configuration.  A wrongly sealed secret cannot log in: apply
# fails on each host and says so; the right one, sealed, is planned as
# "(sealed value changed)", applied as a private libvirt secret, and every
# lab host's pool logs in and lists the LUN; neither secret appears in any
# output, saved plan, JSON or the state; sealing the same secret again is no
# change; destroy removes the pools and their secrets.  Objects are named
# vfi-*, project vfi-chap.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

command -v tgtd >/dev/null 2>&1 ||
	{ echo "Bail out! tgtd is missing: make deps (Debian's tgt)"; exit 1; }
lab_up_for_test
lab_config

T_IQN=iqn.2026-11.dev.virtform.test:vfi-target
I_IQN=iqn.2026-11.dev.virtform.test:vfi-lab
GOOD='vfi-Chap-S3cret-8842'
BAD='vfi-Chap-Wrong-1234'

# the target: tgtd in lab1's network namespace and a private mount namespace
# (its control socket in a tmpfs /run of its own); one 32 MiB LUN; CHAP only
truncate -s 32M "$TMP/lun1.img"
ip netns exec "$(lab_ns 1)" unshare --mount --propagation private sh -c '
	mount -t tmpfs -o mode=0755 vfi-tgt /run && mkdir /run/tgtd || exit 1
	tgtd -f --iscsi portal="$4":3260 >"$1/tgtd.log" 2>&1 </dev/null &
	echo $! >"$1/tgtd.pid"
	i=0
	while [ ! -S /run/tgtd/socket.0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	tgtadm --lld iscsi --op new --mode target --tid 1 -T "$2" &&
	tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$1/lun1.img" &&
	tgtadm --lld iscsi --op new --mode account --user vfi-user --password "$3" &&
	tgtadm --lld iscsi --op bind --mode account --tid 1 --user vfi-user &&
	tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL' sh "$TMP" "$T_IQN" "$GOOD" "$(lab_addr 1)" \
	>"$TMP/tgt-setup.log" 2>&1 ||
	{ cat "$TMP/tgt-setup.log" "$TMP/tgtd.log"; echo "Bail out! the iSCSI target did not start"; exit 1; }
# tgtd ignores SIGTERM while it serves a target: the test ends it for good
at_exit '[ ! -s "$TMP/tgtd.pid" ] || kill -9 "$(cat "$TMP/tgtd.pid")" 2>/dev/null'
at_exit 'run_vf destroy "$CONF" --auto-approve --state-dir "$STATE" --secret-key "$KEY" >/dev/null 2>&1; for i in 1 2 3; do lab_virsh $i pool-destroy vfi-san >/dev/null 2>&1; lab_virsh $i pool-undefine vfi-san >/dev/null 2>&1; done'

seal_keys

write_conf() {   # write_conf SEALED
	cat >"$CONF/main.yaml" <<EOF
version: 1
project: vfi-chap
clusters: [{name: lab}]
storage_domains:
  - name: vfi-san
    type: iscsi-direct
    portal: "$(lab_addr 1):3260"
    target: "$T_IQN"
    initiator: "$I_IQN"
    chap:
      username: vfi-user
      secret: {sealed: "$1"}
EOF
}
# no_secret_in FILE...: neither clear secret in any of them
no_secret_in() {
	for _f in "$@"; do
		if grep -r -q -e "$GOOD" -e "$BAD" "$_f"; then echo "a clear secret in $_f"; return 1; fi
	done
}
pool_state() {   # pool_state I: the pool's State on lab host I
	lab_virsh "$1" pool-info vfi-san 2>/dev/null | sed -n 's/^State: *//p'
}

write_conf "$(seal "$BAD")"

test_expect 'a wrongly sealed CHAP secret cannot log in: apply fails on each host and says why' '
	vf apply "$CONF" --auto-approve --secret-key "$KEY" && expect_rc 1 &&
	printf "%s\n%s\n" "$out" "$err" >"$TMP/bad-apply.txt" &&
	expect_contains "$out" "storage.vfi-san@lab1: FAILED" &&
	expect_contains "$out" "storage.vfi-san@lab2: FAILED" &&
	grep -q -i "auth" "$TMP/bad-apply.txt" &&
	[ "$(pool_state 2)" = inactive ] &&
	no_secret_in "$TMP/bad-apply.txt" "$STATE"'

write_conf "$(seal "$GOOD")"

test_expect 'the right secret, sealed: the plan says (sealed value changed), never the value' '
	vf plan "$CONF" --secret-key "$KEY" -out "$TMP/good.vfplan" && expect_rc 0 &&
	expect_contains "$out" "chap.secret: (sealed value changed)" &&
	printf "%s\n%s\n" "$out" "$err" >"$TMP/good-plan.txt" &&
	vf plan "$CONF" --secret-key "$KEY" --json && expect_rc 0 &&
	printf "%s\n" "$out" >"$TMP/good-plan.json" &&
	no_secret_in "$TMP/good-plan.txt" "$TMP/good-plan.json" "$TMP/good.vfplan"'

test_expect 'apply keeps it as a private libvirt secret; every host'"'"'s pool logs in and lists the LUN' '
	VIRTFORM_SECRET_KEY="$(cat "$KEY")" run_vf apply "$TMP/good.vfplan" && expect_rc 0 &&
	expect_contains "$out" "Apply complete:" &&
	printf "%s\n%s\n" "$out" "$err" >"$TMP/good-apply.txt" &&
	for i in 1 2 3; do
		[ "$(pool_state $i)" = running ] || { echo "lab$i: pool $(pool_state $i)"; return 1; }
		lab_virsh $i vol-list vfi-san | grep -q "unit:0:0:1" || { echo "lab$i: no LUN"; return 1; }
	done &&
	uuid=$(lab_virsh 2 secret-list | awk "/iscsi virtform\\/vfi-chap\\/vfi-san/ { print \$1 }") &&
	[ -n "$uuid" ] &&
	lab_virsh 2 secret-dumpxml "$uuid" | grep -q "private=.yes." &&
	! lab_virsh 2 secret-get-value "$uuid" >/dev/null 2>&1 &&
	lab_virsh 2 pool-dumpxml vfi-san | grep -q "<auth type=.chap. username=.vfi-user.>" &&
	no_secret_in "$TMP/good-apply.txt" "$STATE"'

test_expect 'a second plan is a no-op; the same secret sealed again is no change' '
	vf plan "$CONF" --secret-key "$KEY" --detailed-exitcode && expect_rc 0 &&
	write_conf "$(seal "$GOOD")" &&
	vf plan "$CONF" --secret-key "$KEY" --detailed-exitcode && expect_rc 0 &&
	expect_not_contains "$out" "sealed value changed"'

test_expect 'destroy removes the pools and their secrets; the LUN is left alone' '
	vf destroy "$CONF" --auto-approve --secret-key "$KEY" && expect_rc 0 &&
	for i in 1 2 3; do
		! lab_virsh $i pool-info vfi-san >/dev/null 2>&1 || { echo "lab$i: pool left"; return 1; }
		! lab_virsh $i secret-list | grep -q "virtform/vfi-chap/" || { echo "lab$i: secret left"; return 1; }
	done &&
	[ "$(stat -c %s "$TMP/lun1.img")" -eq 33554432 ] &&
	no_secret_in "$STATE"'

test_done
