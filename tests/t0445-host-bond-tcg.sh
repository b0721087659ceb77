#!/bin/sh
# Bonds with options through `virtform host apply`, on Debian's kernel
# booted under qemu TCG (tests/tcg/run-in-vm: this machine's kernel has no
# bonding).  In the VM, two dummy links are the ports: a bond is created
# with its mode and options (read back by `host show`), a second plan is a
# no-op, a changed miimon is an in-place update (same ifindex), a mode
# change replaces the bond with 802.3ad options, and an unconfirmed change
# of options (--confirm-timeout) is rolled back by the watcher.  Not
# skipped: the kernel, busybox-static and qemu come from contrib/deps.sh.
. "$(dirname "$0")/lib.sh"

cd "$TOP" || exit 1

bond_config() {   # bond_config MODE OPTIONS
	cat <<YAML
version: 1
clusters: [{name: c1}]
hosts:
  - name: h1
    cluster: c1
    uri: 'test:///default'
    interfaces:
      - {name: bond0, type: bond, mode: $1, ports: [d0, d1], options: {$2}}
YAML
}
bond_config active-backup "miimon: 100, updelay: 200, primary: d1" >"$TMP/b1.yaml"
bond_config active-backup "miimon: 50, updelay: 200, primary: d1" >"$TMP/b2.yaml"
bond_config 802.3ad "miimon: 100, lacp_rate: fast, xmit_hash_policy: layer3+4" >"$TMP/b3.yaml"
bond_config 802.3ad "miimon: 300, lacp_rate: slow, xmit_hash_policy: layer3+4" >"$TMP/b4.yaml"

S=$TMP/st/hostnet.json
cat >"$TMP/script" <<SH
set -u
V=$VIRTFORM
ip link add d0 type dummy
ip link add d1 type dummy
apply() { "\$V" host apply --auto-approve --host h1 --state-file $S "\$@" 2>&1; echo "rc=\$?"; }
plan() { "\$V" host plan --host h1 --state-file $S "\$@" 2>&1; echo "rc=\$?"; }
step() { echo "=== \$1"; }
step apply1; apply $TMP/b1.yaml
step show1;  "\$V" host show --json
step plan1;  plan --detailed-exitcode $TMP/b1.yaml
step plan2;  plan --json $TMP/b2.yaml
step apply2; apply $TMP/b2.yaml
step show2;  "\$V" host show --json
step apply3; apply $TMP/b3.yaml
step show3;  "\$V" host show --json
step plan3;  plan --detailed-exitcode $TMP/b3.yaml
step apply4; apply --confirm-timeout 2 $TMP/b4.yaml
step show4;  "\$V" host show --json
sleep 4
step show5;  "\$V" host show --json
step pending; cat $TMP/st/hostnet-pending.json
step end
SH

tests/tcg/run-in-vm --timeout 240 --file "$VIRTFORM" --file "$TMP/script" \
	--file "$TMP/b1.yaml" --file "$TMP/b2.yaml" --file "$TMP/b3.yaml" --file "$TMP/b4.yaml" \
	/bin/sh "$TMP/script" >"$TMP/log" 2>&1
vmrc=$?

section() { sed -n "/^=== $1\$/,/^=== /p" "$TMP/log" | sed '1d;$d'; }
# bond SECTION FIELD: the bond's field in a `host show --json` section
# (ifindex, up, mode, ports, options.NAME)
bond() {
	section "$1" | python3 -c '
import json, sys
links = {l["name"]: l for l in json.load(sys.stdin)["links"]}
b = links.get("bond0")
f = sys.argv[1]
if b is None: print("absent")
elif f == "ifindex": print(b["ifindex"])
elif f == "up": print("up" if b["up"] else "down")
elif f == "mode": print(b["bond"]["mode"])
elif f == "ports": print(",".join(b["bond"]["ports"]))
elif f.startswith("options."): print(b["bond"]["options"].get(f[8:], "(none)"))' "$2"
}

test_expect 'the VM ran the script' '
	cat "$TMP/log"; [ "$vmrc" -eq 0 ] && grep -q "^=== end" "$TMP/log"'

test_expect 'apply creates the bond with its mode, options and ports' '
	out=$(section apply1) && echo "$out" && expect_contains "$out" "rc=0" &&
	expect_contains "$out" "+   create  link.bond0@h1: bond, mode active-backup, options.miimon 100, options.updelay 200, options.primary d1 (interface bond0)" &&
	[ "$(bond show1 mode)" = active-backup ] && [ "$(bond show1 up)" = up ] &&
	[ "$(bond show1 ports)" = d0,d1 ] &&
	[ "$(bond show1 options.miimon)" = 100 ] && [ "$(bond show1 options.updelay)" = 200 ] &&
	[ "$(bond show1 options.primary)" = d1 ]'

test_expect 'a second plan is a no-op' '
	out=$(section plan1) && echo "$out" && expect_contains "$out" "rc=0" &&
	expect_contains "$out" "No changes."'

test_expect 'a changed miimon is an update of that option' '
	section plan2 | sed "/^rc=/d" >"$TMP/p2.json" && cat "$TMP/p2.json" &&
	python3 - "$TMP/p2.json" <<PY
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["status"] == "planned", doc
assert [(c["action"], c["name"]) for c in doc["changes"]] == [("update", "bond0")], doc
assert doc["changes"][0]["fields"] == [{"field": "options.miimon", "before": "100", "after": "50"}], doc
PY'

test_expect 'the update keeps the bond (same ifindex) and its delays' '
	out=$(section apply2) && echo "$out" && expect_contains "$out" "rc=0" &&
	[ "$(bond show2 ifindex)" = "$(bond show1 ifindex)" ] &&
	[ "$(bond show2 options.miimon)" = 50 ] && [ "$(bond show2 options.updelay)" = 200 ]'

test_expect 'a mode change replaces the bond, 802.3ad options and ports included' '
	out=$(section apply3) && echo "$out" && expect_contains "$out" "rc=0" &&
	expect_contains "$out" "-/+ replace link.bond0@h1" &&
	[ "$(bond show3 mode)" = 802.3ad ] && [ "$(bond show3 ports)" = d0,d1 ] &&
	[ "$(bond show3 options.lacp_rate)" = fast ] &&
	[ "$(bond show3 options.xmit_hash_policy)" = layer3+4 ] &&
	[ "$(bond show3 options.primary)" = "(none)" ] &&
	out=$(section plan3) && echo "$out" && expect_contains "$out" "rc=0"'

test_expect 'unconfirmed option changes (lacp_rate on an up bond) are rolled back by the watcher' '
	out=$(section apply4) && echo "$out" && expect_contains "$out" "rc=0" &&
	[ "$(bond show4 options.miimon)" = 300 ] && [ "$(bond show4 options.lacp_rate)" = slow ] &&
	[ "$(bond show5 options.miimon)" = 100 ] && [ "$(bond show5 options.lacp_rate)" = fast ] &&
	[ "$(bond show5 up)" = up ] && [ "$(bond show5 ifindex)" = "$(bond show3 ifindex)" ] &&
	section pending | python3 -c "
import json, sys
doc = json.load(sys.stdin)
assert doc[\"status\"] == \"rolled-back\" and doc[\"rollback\"] == \"complete\", doc"'

test_done
