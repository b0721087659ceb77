#!/bin/sh
# `virtform host apply --host NAME [CONFIG]`: converge this machine's links,
# verify, roll back on failure, record ownership.  Runs in one private
# network namespace (unshare -n, needs root) with a veth pair
# uplink0/uplink0p as the uplink and a veth pair other0/other1 the config
# does not mention; each step is one apply (or plan) in that namespace.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns-lib.sh"

cat >"$TMP/c.yaml" <<'YAML'
version: 1
clusters: [{name: c1}]
hosts:
  - {name: hyper1, cluster: c1, uri: 'test:///default'}
networks:
  - {name: plain, mode: bridge, uplink: uplink0, mtu: 1400}
YAML
sed 's/mtu: 1400/mtu: 1300/' "$TMP/c.yaml" >"$TMP/mtu.yaml"
grep -v "name: plain" "$TMP/c.yaml" >"$TMP/none.yaml"
# A VLAN on a bridge both created by this apply: the bridge is created
# first, then the VLAN fails on a kernel without 802.1Q.
cat >"$TMP/vlan.yaml" <<'YAML'
version: 1
clusters: [{name: c1}]
hosts:
  - name: hyper1
    cluster: c1
    uri: 'test:///default'
    interfaces:
      - {name: br-test, type: bridge}
      - {name: br-test.5, type: vlan, base: br-test, id: 5}
networks:
  - {name: plain, mode: bridge, uplink: uplink0, mtu: 1300}
YAML
# Settings changed, a bridge created, then the kernel refuses to enslave
# lo: every change is undone.
cat >"$TMP/lo.yaml" <<'YAML'
version: 1
clusters: [{name: c1}]
hosts:
  - name: hyper1
    cluster: c1
    uri: 'test:///default'
    interfaces:
      - {name: uplink0, type: ethernet, mtu: 1200}
networks:
  - {name: plain, mode: bridge, uplink: uplink0, mtu: 1200}
  - {name: bad, mode: bridge, uplink: lo}
YAML

S="$TMP/state/hostnet.json"
cat >"$TMP/script" <<SH
set -u
ip link set lo up
ip link add uplink0 type veth peer name uplink0p
ip link add other0 mtu 1400 type veth peer name other1
ip link set other0 up
apply() { "\$VIRTFORM" host apply --auto-approve --host hyper1 --state-file "$S" "\$@"; }
plan() { "\$VIRTFORM" host plan --detailed-exitcode --host hyper1 --state-file "$S" "\$@"; }
step() { echo "=== \$1"; }

step refuse;   "\$VIRTFORM" host apply --host hyper1 --state-file "$S" "$TMP/c.yaml" </dev/null; echo "rc=\$?"
step links0;   ip -j link
step apply1;   apply "$TMP/c.yaml"; echo "rc=\$?"; cp -p "$S" "$TMP/s1.json"
step links1;   ip -j link
step plan1;    plan "$TMP/c.yaml"; echo "rc=\$?"
step apply2;   apply "$TMP/mtu.yaml"; echo "rc=\$?"
step links2;   ip -j link
step fail;     apply "$TMP/vlan.yaml" 2>&1; echo "rc=\$?"
step links3;   ip -j link
step fail2;    apply "$TMP/lo.yaml" 2>&1; echo "rc=\$?"
step links3b;  ip -j link
step plan3;    plan "$TMP/mtu.yaml"; echo "rc=\$?"
step apply4;   apply "$TMP/none.yaml"; echo "rc=\$?"
step links4;   ip -j link
step plan4;    plan "$TMP/none.yaml"; echo "rc=\$?"
step end
SH

unshare -n sh "$TMP/script" >"$TMP/log" 2>&1
cat "$TMP/log"

# section NAME: the output of step NAME
section() { sed -n "/^=== $1\$/,/^=== /p" "$TMP/log" | sed '1d;$d'; }

# link STEP NAME FIELD: as netns-lib.sh's link NAME FIELD, from the
# `ip -j link` of step STEP (links*)
link() { section "$1" | link_field "$2" "$3"; }

test_expect 'host apply without a terminal refuses unless --auto-approve' '
	out=$(section refuse) && echo "$out" &&
	expect_contains "$out" "no terminal to confirm on" && expect_contains "$out" "rc=1" &&
	[ "$(link links0 br-plain ifname)" = absent ]'

test_expect 'apply creates the bridge, brings it up and enslaves the uplink' '
	out=$(section apply1) && echo "$out" && expect_contains "$out" "rc=0" &&
	expect_contains "$out" "Host apply complete: 1 created, 1 updated, 0 deleted." &&
	[ "$(link links1 br-plain up)" = up ] &&
	[ "$(link links1 br-plain mtu)" = 1400 ] &&
	[ "$(link links1 uplink0 master)" = br-plain ]'

test_expect 'the state file records the bridge, mode 0600' '
	[ "$(stat -c %a "$TMP/s1.json")" = 600 ] && [ "$(stat -c %a "$S")" = 600 ] &&
	json_check "$TMP/s1.json" "doc == {\"links\": [{\"name\": \"br-plain\", \"owner\": \"network plain\"}]}"'

test_expect 'a second plan is a no-op (exit 0 with --detailed-exitcode)' '
	out=$(section plan1) && echo "$out" && expect_contains "$out" "rc=0" &&
	expect_contains "$out" "No changes."'

test_expect 'an MTU change is applied in place (same ifindex)' '
	out=$(section apply2) && echo "$out" && expect_contains "$out" "rc=0" &&
	expect_contains "$out" "Host apply complete: 0 created, 1 updated, 0 deleted." &&
	[ "$(link links2 br-plain mtu)" = 1300 ] &&
	[ "$(link links2 br-plain ifindex)" = "$(link links1 br-plain ifindex)" ] &&
	[ "$(link links2 uplink0 master)" = br-plain ]'

test_expect 'a failing change rolls back completely' '
	out=$(section fail) && echo "$out" && expect_contains "$out" "rc=1" &&
	expect_contains "$out" "link.br-test@hyper1: created" &&
	expect_contains "$out" "kernel lacks 802.1Q VLAN support (module 8021q)" &&
	expect_contains "$out" "rolled back: creating link.br-test.5@hyper1 failed; 1 change undone, the links are as they were before." &&
	[ "$(link links3 br-test ifname)" = absent ] &&
	[ "$(link links3 br-test.5 ifname)" = absent ] &&
	[ "$(link links3 uplink0 master)" = br-plain ] &&
	[ "$(link links3 uplink0 mtu)" = "$(link links2 uplink0 mtu)" ] &&
	[ "$(link links3 br-plain mtu)" = 1300 ] &&
	[ "$(link links3 br-plain ifindex)" = "$(link links1 br-plain ifindex)" ] &&
	out=$(section plan3) && echo "$out" && expect_contains "$out" "rc=0"'

test_expect 'a kernel refusal after settings changed rolls them back too' '
	out=$(section fail2) && echo "$out" && expect_contains "$out" "rc=1" &&
	expect_contains "$out" "link.br-bad@hyper1: created" &&
	expect_contains "$out" "link.uplink0@hyper1: updated" &&
	expect_contains "$out" "rolled back: updating link.lo@hyper1 failed;" &&
	expect_contains "$out" "the links are as they were before." &&
	[ "$(link links3b br-bad ifname)" = absent ] &&
	[ "$(link links3b uplink0 mtu)" = "$(link links3 uplink0 mtu)" ] &&
	[ "$(link links3b uplink0 master)" = br-plain ] &&
	[ "$(link links3b br-plain mtu)" = 1300 ] &&
	[ "$(link links3b lo master)" = - ]'

test_expect 'removing the network deletes what virtform created, not other0' '
	out=$(section apply4) && echo "$out" && expect_contains "$out" "rc=0" &&
	expect_contains "$out" "destroy link.br-plain@hyper1" &&
	expect_contains "$out" "Host apply complete: 0 created, 0 updated, 1 deleted." &&
	[ "$(link links4 br-plain ifname)" = absent ] &&
	[ "$(link links4 uplink0 master)" = - ] &&
	[ "$(link links4 other0 mtu)" = 1400 ] && [ "$(link links4 other0 up)" = up ] &&
	[ "$(link links4 other0 ifindex)" = "$(link links0 other0 ifindex)" ] &&
	json_check "$S" "doc == {\"links\": []}" &&
	out=$(section plan4) && echo "$out" && expect_contains "$out" "rc=0"'

test_done
