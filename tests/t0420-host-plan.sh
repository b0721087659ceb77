#!/bin/sh
# `virtform host plan --host NAME [CONFIG]`: the links this machine should
# have as host NAME of the config, against the links it has.  Runs in
# private network namespaces (unshare -n, needs root) with a veth pair
# uplink0/uplink0p as the uplink and a veth pair other0/other1 the config
# does not mention; nothing is changed (plan only).
. "$(dirname "$0")/lib.sh"

cat >"$TMP/c.yaml" <<'YAML'
version: 1
clusters: [{name: c1}, {name: c2}]
hosts:
  - {name: hyper1, cluster: c1, uri: 'test:///default'}
  - {name: hyper2, cluster: c2, uri: 'test:///default'}
networks:
  - {name: prod, mode: bridge, vlan: 100, uplink: uplink0}
  - {name: plain, mode: bridge, uplink: uplink0}
  - {name: far, mode: bridge, vlan: 7, uplink: eth9, clusters: [c2]}
YAML

# in_netns SCRIPT: run SCRIPT in a new network namespace with the links above.
in_netns() {
	unshare -n sh -c '
		set -e
		ip link set lo up
		ip link add uplink0 type veth peer name uplink0p
		ip link add other0 mtu 1400 type veth peer name other1
		'"$1"
}

plan() { echo "\"\$VIRTFORM\" host plan --state-file \"$TMP/none.json\" $*"; }

test_expect 'host plan: the vlan, both bridges, then the ports enslaved' '
	out=$(in_netns "$(plan --host hyper1 "$TMP/c.yaml")") &&
	echo "$out" &&
	[ "$(echo "$out" | sed -n 1p)" = "+   create  link.uplink0.100@hyper1: vlan, base uplink0, id 100 (network prod)" ] &&
	[ "$(echo "$out" | sed -n 2p)" = "+   create  link.br-prod@hyper1: bridge (network prod)" ] &&
	[ "$(echo "$out" | sed -n 3p)" = "+   create  link.br-plain@hyper1: bridge (network plain)" ] &&
	[ "$(echo "$out" | sed -n 4p)" = "~   update  link.uplink0@hyper1: master (none) -> br-plain (network plain: port of br-plain)" ] &&
	[ "$(echo "$out" | sed -n 5p)" = "~   update  link.uplink0.100@hyper1: master (none) -> br-prod (network prod: port of br-prod)" ] &&
	expect_contains "$out" "Plan: 3 to create, 2 to update, 0 to replace, 0 to destroy." &&
	expect_contains "$out" "Not managed (left as they are): lo uplink0p other1 other0"'

test_expect 'links the config does not mention are not in the plan' '
	out=$(in_netns "$(plan --host hyper1 "$TMP/c.yaml")") &&
	! echo "$out" | grep "^[-+~]" | grep -q "other\|uplink0p\|link\.lo@"'

test_expect 'host plan changes nothing' '
	out=$(in_netns "$(plan --host hyper1 "$TMP/c.yaml") >/dev/null; ip -o link show") &&
	echo "$out" && ! echo "$out" | grep -q "br-\|uplink0\.100"'

test_expect 'host plan --json and --detailed-exitcode' '
	in_netns "$(plan --host hyper1 --json "$TMP/c.yaml")" >"$TMP/p.json" &&
	python3 - "$TMP/p.json" <<PY &&
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["host"] == "hyper1", doc
got = [(c["action"], c["address"]) for c in doc["changes"]]
assert got == [("create", "link.uplink0.100@hyper1"), ("create", "link.br-prod@hyper1"),
               ("create", "link.br-plain@hyper1"), ("update", "link.uplink0@hyper1"),
               ("update", "link.uplink0.100@hyper1")], got
assert doc["changes"][3]["fields"] == [{"field": "master", "before": "(none)", "after": "br-plain"}]
assert "other0" in doc["unmanaged"], doc
PY
	in_netns "$(plan --host hyper1 --detailed-exitcode "$TMP/c.yaml") >/dev/null"; [ $? -eq 2 ]'

test_expect 'existing bridges of the right kind are adopted, not created again' '
	out=$(in_netns "
		ip link add br-prod type bridge; ip link add br-plain type bridge
		ip link set uplink0 master br-plain
		ip link set br-prod up; ip link set br-plain up
		$(plan --host hyper1 "$TMP/c.yaml" --detailed-exitcode)" 2>&1); rc=$?; echo "$out" &&
	[ $rc -eq 2 ] && expect_contains "$out" "create  link.uplink0.100@hyper1" &&
	! echo "$out" | grep -q "br-prod@hyper1: bridge\|br-plain@hyper1\|update  link.uplink0@"'

test_expect 'a converged host: No changes, exit 0 with --detailed-exitcode' '
	grep -v "name: prod\|name: far" "$TMP/c.yaml" >"$TMP/plain.yaml" &&
	out=$(in_netns "
		ip link add br-plain type bridge; ip link set uplink0 master br-plain
		ip link set br-plain up
		$(plan --host hyper1 "$TMP/plain.yaml" --detailed-exitcode)"); rc=$?; echo "$out" &&
	[ $rc -eq 0 ] &&
	expect_contains "$out" "No changes. Host hyper1'"'"'s links match the configuration."'

test_expect 'a link virtform created and the config dropped is deleted (state file)' '
	echo "{\"links\": [{\"name\": \"br-old\", \"owner\": \"network old\"}]}" >"$TMP/owned.json" &&
	out=$(in_netns "ip link add br-old type bridge
		\"\$VIRTFORM\" host plan --state-file \"$TMP/owned.json\" --host hyper1 \"$TMP/c.yaml\"") &&
	echo "$out" &&
	expect_contains "$out" "-   destroy link.br-old@hyper1 (no longer in the configuration (was network old))"'

test_expect 'a missing uplink is an error at its network' '
	out=$(in_netns "$(plan --host hyper2 "$TMP/c.yaml")" 2>&1); rc=$?; echo "$out" &&
	[ $rc -eq 1 ] &&
	expect_contains "$out" "c.yaml:9:5: error: uplink '"'"'eth9'"'"' does not exist on host hyper2"'

test_expect 'an MTU above the uplink'"'"'s is an error' '
	sed "s/uplink: uplink0}/uplink: uplink0, mtu: 9000}/" "$TMP/c.yaml" >"$TMP/mtu.yaml" &&
	out=$(in_netns "$(plan --host hyper1 "$TMP/mtu.yaml")" 2>&1); rc=$?; echo "$out" &&
	[ $rc -eq 1 ] &&
	expect_contains "$out" "error: vlan '"'"'uplink0.100'"'"': mtu 9000 is above uplink uplink0'"'"'s 1500" &&
	expect_contains "$out" "error: bridge '"'"'br-plain'"'"': mtu 9000 is above uplink uplink0'"'"'s 1500; raise the uplink'"'"'s mtu"'

test_expect 'host plan without --host, with an unknown host, with a bad state file' '
	run_vf host plan "$TMP/c.yaml" && expect_rc 1 && expect_contains "$err" "--host NAME is required" &&
	run_vf host plan --host hyper3 "$TMP/c.yaml" && expect_rc 1 &&
	expect_contains "$err" "no host '"'"'hyper3'"'"' in $TMP/c.yaml; did you mean '"'"'hyper1'"'"'?" &&
	echo "{" >"$TMP/bad.json" &&
	run_vf host plan --host hyper1 --state-file "$TMP/bad.json" "$TMP/c.yaml" && expect_rc 1 &&
	expect_contains "$err" "cannot read host network state"'

test_done
