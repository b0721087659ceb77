#!/bin/sh
# `virtform host apply --last-confirmed` (what the boot unit runs) and
# contrib/systemd/virtform-hostnet.service.  In a private network namespace
# (ip netns, needs root) with a veth pair uplink0/uplink0p: nothing
# confirmed yet is a note and exit 0; after a confirmed apply, links deleted
# behind virtform's back come back; it is refused while a change waits for
# confirmation.  The unit passes `systemd-analyze verify`, and its
# ExecStart line, run as written (binary path aside) in a private network
# and mount namespace with a tmpfs on /var/lib, restores the links.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns-lib.sh"

UNIT=$TOP/contrib/systemd/virtform-hostnet.service
netns_setup
D=$TMP/st
S=$D/hostnet.json

cat >"$TMP/c.yaml" <<'YAML'
version: 1
clusters: [{name: c1}]
hosts:
  - {name: hyper1, cluster: c1, uri: 'test:///default'}
networks:
  - {name: plain, mode: bridge, uplink: uplink0, mtu: 1400}
  - {name: second, mode: bridge, uplink: uplink0p}
YAML
sed 's/mtu: 1400/mtu: 1300/' "$TMP/c.yaml" >"$TMP/mtu.yaml"

test_expect '--last-confirmed with nothing confirmed: a note, exit 0, nothing changed' '
	vf host apply --last-confirmed --state-file "$S" >"$TMP/o1" 2>"$TMP/e1"; rc=$?
	cat "$TMP/o1" "$TMP/e1"; [ $rc -eq 0 ] &&
	[ "$(cat "$TMP/o1")" = "No confirmed host network state in $D: nothing to apply." ] &&
	vf host apply --last-confirmed --json --state-file "$S" >"$TMP/j1" 2>/dev/null &&
	json_check "$TMP/j1" "doc[\"status\"] == \"unchanged\" and doc[\"changes\"] == [] and doc[\"host\"] is None" &&
	[ "$(link br-plain ifname)" = absent ]'

test_expect '--last-confirmed takes no --host or CONFIG' '
	run_vf host apply --last-confirmed --host hyper1 --state-file "$S" && expect_rc 1 &&
	expect_contains "$err" "--last-confirmed takes the host and its links from the last confirmed spec: leave out --host and CONFIG"'

test_expect 'a confirmed apply, then links deleted behind virtform'"'"'s back come back' '
	vf host apply --host hyper1 --auto-approve --state-file "$S" "$TMP/c.yaml" >/dev/null &&
	ip -n "$NS" link del br-plain && ip -n "$NS" link del br-second &&
	[ "$(link uplink0 master)" = - ] &&
	vf host apply --last-confirmed --state-file "$S" </dev/null >"$TMP/o2" 2>&1; rc=$?
	cat "$TMP/o2"; [ $rc -eq 0 ] &&
	grep -q "Host apply complete: 2 created, 2 updated, 0 deleted." "$TMP/o2" &&
	[ "$(link br-plain up)" = up ] && [ "$(link br-plain mtu)" = 1400 ] &&
	[ "$(link uplink0 master)" = br-plain ] && [ "$(link uplink0p master)" = br-second ] &&
	vf host apply --last-confirmed --json --state-file "$S" >"$TMP/j2" 2>/dev/null &&
	json_check "$TMP/j2" "doc[\"status\"] == \"unchanged\" and doc[\"host\"] == \"hyper1\""'

test_expect 'an unconfirmed change is not what --last-confirmed restores, and refuses it meanwhile' '
	vf host apply --host hyper1 --auto-approve --confirm-timeout 60 --state-file "$S" "$TMP/mtu.yaml" >/dev/null 2>&1 &&
	[ "$(link br-plain mtu)" = 1300 ] &&
	vf host apply --last-confirmed --state-file "$S" >"$TMP/o3" 2>"$TMP/e3"; rc=$?
	cat "$TMP/e3"; [ $rc -eq 1 ] && grep -q "waits for confirmation until" "$TMP/e3" &&
	json_check "$D/hostnet-confirmed.json" "[l[\"mtu\"] for l in doc[\"links\"] if l[\"name\"] == \"br-plain\"] == [1400]" &&
	token=$(jget "$D/hostnet-pending.json" token) &&
	vf host confirm --token "$token" --state-file "$S" >/dev/null &&
	json_check "$D/hostnet-confirmed.json" "[l[\"mtu\"] for l in doc[\"links\"] if l[\"name\"] == \"br-plain\"] == [1300]"'

test_expect 'the unit: oneshot, RemainAfterExit, runs host apply --last-confirmed, ordered for boot' '
	grep -qx "Type=oneshot" "$UNIT" && grep -qx "RemainAfterExit=yes" "$UNIT" &&
	grep -qx "ExecStart=/usr/local/bin/virtform host apply --last-confirmed" "$UNIT" &&
	grep -q "^Before=.*network-online.target" "$UNIT" && grep -q "^Before=.*libvirtd.service" "$UNIT" &&
	grep -q "^After=.*network-pre.target" "$UNIT" && grep -q "^After=.*systemd-modules-load.service" "$UNIT" &&
	grep -qx "DefaultDependencies=no" "$UNIT" && grep -qx "Conflicts=shutdown.target" "$UNIT"'

test_expect 'systemd-analyze verify accepts the unit (and refuses a broken copy)' '
	mkdir -p "$TMP/unit" &&
	sed "s|/usr/local/bin/virtform|$VIRTFORM|" "$UNIT" >"$TMP/unit/virtform-hostnet.service" &&
	(cd "$TMP/unit" && systemd-analyze verify ./virtform-hostnet.service) >"$TMP/v.out" 2>&1; rc=$?
	cat "$TMP/v.out"; [ $rc -eq 0 ] && [ ! -s "$TMP/v.out" ] &&
	sed "s|/usr/local/bin/virtform|$TMP/no-such-virtform|" "$UNIT" >"$TMP/unit/virtform-hostnet.service" &&
	! (cd "$TMP/unit" && systemd-analyze verify ./virtform-hostnet.service) >/dev/null 2>&1'

# The ExecStart line exactly (its binary: the one under test), with the
# default state directory /var/lib/virtform on a private tmpfs.
root_before=$(ls -la --time-style=+%s.%N /var/lib/virtform 2>&1)
exec_start=$(sed -n "s|^ExecStart=/usr/local/bin/virtform ||p" "$UNIT")
ip -n "$NS" link del br-plain
ip -n "$NS" link del br-second
cat >"$TMP/boot.sh" <<SH
set -e
mount -t tmpfs -o mode=0755 tmpfs /var/lib
mkdir -m 0700 /var/lib/virtform
cp "$D/hostnet-confirmed.json" "$D/hostnet.json" /var/lib/virtform/
"$VIRTFORM" $exec_start </dev/null
echo "rc=\$?"
ls /var/lib/virtform
SH

test_expect 'the ExecStart line restores the links at boot (private netns and /var/lib)' '
	[ "$exec_start" = "host apply --last-confirmed" ] &&
	ip netns exec "$NS" unshare -m --propagation private sh "$TMP/boot.sh" >"$TMP/o4" 2>&1; rc=$?
	cat "$TMP/o4"; [ $rc -eq 0 ] && grep -qx "rc=0" "$TMP/o4" &&
	grep -q "Host apply complete: 2 created, 2 updated, 0 deleted." "$TMP/o4" &&
	[ "$(link br-plain mtu)" = 1300 ] && [ "$(link uplink0 master)" = br-plain ] &&
	[ "$(link br-second up)" = up ] &&
	grep -qx "hostnet.lock" "$TMP/o4" && [ "$(ls -la --time-style=+%s.%N /var/lib/virtform 2>&1)" = "$root_before" ]'

test_expect 'nothing is left running in the namespace' '
	[ -z "$(ip netns pids "$NS")" ]'

test_done
