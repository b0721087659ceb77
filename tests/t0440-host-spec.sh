#!/bin/sh
# `virtform host plan|apply --spec FILE|-`: the desired links from a host
# spec (what the controller sends over SSH), `--no-delete`, and the --json
# documents of plan and apply, errors included.  Runs in a private network
# namespace (ip netns, needs root) with veth pairs uplink0/uplink0p and
# other0/other1; removed at exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns-lib.sh"

netns_setup
ip -n "$NS" link add other0 type veth peer name other1
S=$TMP/st/hostnet.json

spec() {   # spec BRIDGES...: a spec with those bridges, uplink0 a port of the first
	python3 - "$@" <<'PY'
import json, sys
links = []
for i, br in enumerate(sys.argv[1:]):
    links.append({"name": br, "kind": "bridge", "mtu": 1400, "master": None, "vlan_base": None,
                  "vlan_id": 0, "bond_mode": None, "bond_options": {}, "ports": [], "stp": None,
                  "absent": False, "owner": "network n%d" % i, "master_owner": None,
                  "pos": {"file": "ctl.yaml", "line": 10 + i, "col": 5}})
if len(sys.argv) > 1:
    links.append({"name": "uplink0", "kind": "port", "master": sys.argv[1], "owner": "network n0",
                  "master_owner": "network n0", "pos": {"file": "ctl.yaml", "line": 10, "col": 5}})
print(json.dumps({"format": "virtform-host-spec", "version": 1, "host": "hyper1", "links": links}))
PY
}
spec br-a br-b >"$TMP/ab.json"
spec br-a >"$TMP/a.json"

test_expect 'plan --spec FILE: the spec'"'"'s links, its host' '
	run_vf host plan --spec "$TMP/ab.json" --state-file "$S" &&
	vf host plan --spec "$TMP/ab.json" --state-file "$S" >"$TMP/out" 2>&1; rc=$?; out=$(cat "$TMP/out"); echo "$out" &&
	[ $rc -eq 0 ] &&
	expect_contains "$out" "+   create  link.br-a@hyper1: bridge, mtu 1400 (network n0)" &&
	expect_contains "$out" "+   create  link.br-b@hyper1: bridge, mtu 1400 (network n1)" &&
	expect_contains "$out" "~   update  link.uplink0@hyper1: master (none) -> br-a"'

test_expect 'plan --spec - reads stdin; --json has status planned' '
	vf host plan --spec - --json --state-file "$S" <"$TMP/ab.json" >"$TMP/p.json" &&
	json_check "$TMP/p.json" "doc[\"status\"] == \"planned\" and doc[\"host\"] == \"hyper1\" and [c[\"address\"] for c in doc[\"changes\"]] == [\"link.br-a@hyper1\", \"link.br-b@hyper1\", \"link.uplink0@hyper1\"] and \"other0\" in doc[\"unmanaged\"]"'

test_expect 'plan --spec with another --host: error; --json prints the error document' '
	vf host plan --spec "$TMP/ab.json" --host hyper2 --json --state-file "$S" >"$TMP/e.json" 2>"$TMP/e.err"; rc=$?
	cat "$TMP/e.json" "$TMP/e.err"; [ $rc -eq 1 ] &&
	json_check "$TMP/e.json" "doc == {\"host\": \"hyper2\", \"status\": \"error\", \"error\": \"--host hyper2 does not match the host spec'"'"'s host '"'"'hyper1'"'"' (the host spec '"'"'$TMP/ab.json'"'"'); give the spec of this host, or leave --host out\"}" &&
	grep -q "virtform host plan: error: --host hyper2 does not match" "$TMP/e.err"'

test_expect 'a bad spec on stdin: the error names the link and field' '
	echo "{\"format\": \"virtform-host-spec\", \"version\": 1, \"host\": \"hyper1\", \"links\": [{\"name\": \"br0\", \"kind\": \"bridge\", \"owner\": \"x\", \"mtu\": 20}]}" |
		vf host plan --spec - --json --state-file "$S" >"$TMP/b.json" 2>/dev/null; rc=$?
	cat "$TMP/b.json"; [ $rc -eq 1 ] &&
	json_check "$TMP/b.json" "doc[\"status\"] == \"error\" and doc[\"host\"] is None and doc[\"error\"] == \"host spec: links[0] ('"'"'br0'"'"'): \\\"mtu\\\" 20 is outside 68..65535 (or 0: leave as it is) (the host spec on stdin)\""'

test_expect 'plan-time errors carry the controller'"'"'s positions; JSON error lists them all' '
	python3 -c "
import json
d = json.load(open(\"$TMP/a.json\"))
d[\"links\"].append({\"name\": \"eth9.5\", \"kind\": \"vlan\", \"vlan_base\": \"eth9\", \"vlan_id\": 5, \"owner\": \"network far\", \"pos\": {\"file\": \"ctl.yaml\", \"line\": 20, \"col\": 3}})
d[\"links\"].append({\"name\": \"nic7\", \"kind\": \"ethernet\", \"mtu\": 9000, \"owner\": \"interface nic7\", \"pos\": {\"file\": \"ctl.yaml\", \"line\": 21, \"col\": 3}})
print(json.dumps(d))" >"$TMP/bad.json" &&
	vf host plan --spec "$TMP/bad.json" --json --state-file "$S" >"$TMP/pe.json" 2>/dev/null; rc=$?
	cat "$TMP/pe.json"; [ $rc -eq 1 ] &&
	json_check "$TMP/pe.json" "doc[\"error\"].split(\"\\n\") == [\"ctl.yaml:20:3: error: uplink '"'"'eth9'"'"' does not exist on host hyper1; name an existing NIC or bond, or declare it under hosts[].interfaces\", \"ctl.yaml:21:3: error: interface '"'"'nic7'"'"' does not exist on host hyper1; virtform cannot create a NIC; check the name ('"'"'virtform host show'"'"')\"] and doc[\"host\"] == \"hyper1\""'

test_expect 'apply --spec --json: progress on stderr, one document on stdout, outcomes done' '
	vf host apply --spec "$TMP/ab.json" --auto-approve --json --state-file "$S" >"$TMP/a1.json" 2>"$TMP/a1.err"; rc=$?
	cat "$TMP/a1.json" "$TMP/a1.err"; [ $rc -eq 0 ] &&
	json_check "$TMP/a1.json" "doc[\"status\"] == \"applied\" and doc[\"error\"] is None and doc[\"rollback\"] is None and doc[\"confirm\"] is None and [c[\"outcome\"] for c in doc[\"changes\"]] == [\"done\"] * 3 and doc[\"changes\"][0][\"fields\"] == [{\"field\": \"mtu\", \"before\": None, \"after\": \"1400\"}]" &&
	grep -q "Host apply complete: 2 created, 1 updated, 0 deleted." "$TMP/a1.err" &&
	[ "$(link br-a up)" = up ] && [ "$(link br-b mtu)" = 1400 ] && [ "$(link uplink0 master)" = br-a ] &&
	json_check "$S" "doc == {\"links\": [{\"name\": \"br-a\", \"owner\": \"network n0\"}, {\"name\": \"br-b\", \"owner\": \"network n1\"}]}" &&
	[ "$(stat -c %a "$TMP/st/hostnet-confirmed.json")" = 600 ] &&
	json_check "$TMP/st/hostnet-confirmed.json" "doc[\"host\"] == \"hyper1\" and [l[\"name\"] for l in doc[\"links\"]] == [\"br-a\", \"br-b\", \"uplink0\"]"'

test_expect 'apply again: status unchanged, no changes, exit 0' '
	vf host apply --spec "$TMP/ab.json" --auto-approve --json --state-file "$S" >"$TMP/a2.json" 2>/dev/null &&
	json_check "$TMP/a2.json" "doc[\"status\"] == \"unchanged\" and doc[\"changes\"] == [] and doc[\"confirm\"] is None"'

test_expect '--no-delete leaves the dropped bridge, and keeps its record for the next call' '
	vf host plan --spec "$TMP/a.json" --no-delete --detailed-exitcode --state-file "$S"; rc=$?
	[ $rc -eq 0 ] &&
	vf host apply --spec "$TMP/a.json" --no-delete --auto-approve --json --state-file "$S" >"$TMP/n.json" 2>/dev/null &&
	cat "$TMP/n.json" && json_check "$TMP/n.json" "doc[\"status\"] == \"unchanged\"" &&
	[ "$(link br-b ifname)" = br-b ] &&
	json_check "$S" "[l[\"name\"] for l in doc[\"links\"]] == [\"br-a\", \"br-b\"]" &&
	vf host apply --spec "$TMP/a.json" --auto-approve --json --state-file "$S" >"$TMP/d.json" 2>/dev/null &&
	cat "$TMP/d.json" &&
	json_check "$TMP/d.json" "doc[\"status\"] == \"applied\" and [(c[\"action\"], c[\"name\"], c[\"outcome\"]) for c in doc[\"changes\"]] == [(\"delete\", \"br-b\", \"done\")]" &&
	[ "$(link br-b ifname)" = absent ] && [ "$(link br-a ifname)" = br-a ] &&
	json_check "$S" "[l[\"name\"] for l in doc[\"links\"]] == [\"br-a\"]"'

test_expect 'a failed apply --json: rolled-back, outcomes done -> rolled-back, failed, not-run' '
	python3 -c "
import json
d = json.load(open(\"$TMP/a.json\"))
d[\"links\"][0][\"mtu\"] = 1300
d[\"links\"].append({\"name\": \"br-t\", \"kind\": \"bridge\", \"owner\": \"interface br-t\"})
d[\"links\"].append({\"name\": \"br-t.5\", \"kind\": \"vlan\", \"vlan_base\": \"br-t\", \"vlan_id\": 5, \"owner\": \"interface br-t.5\"})
d[\"links\"].append({\"name\": \"br-z\", \"kind\": \"bridge\", \"owner\": \"interface br-z\"})
print(json.dumps(d))" >"$TMP/vlan.json" &&
	vf host apply --spec "$TMP/vlan.json" --auto-approve --json --state-file "$S" >"$TMP/f.json" 2>"$TMP/f.err"; rc=$?
	cat "$TMP/f.json" "$TMP/f.err"; [ $rc -eq 1 ] &&
	json_check "$TMP/f.json" "doc[\"status\"] == \"rolled-back\" and doc[\"rollback\"] == \"complete\" and doc[\"error\"].startswith(\"vlan '"'"'br-t.5'"'"': kernel lacks 802.1Q VLAN support (module 8021q)\") and [(c[\"name\"], c[\"outcome\"]) for c in doc[\"changes\"]] == [(\"br-t\", \"rolled-back\"), (\"br-t.5\", \"failed\"), (\"br-z\", \"not-run\"), (\"br-a\", \"not-run\")]" &&
	[ "$(link br-t ifname)" = absent ] && [ "$(link br-a mtu)" = 1400 ] &&
	json_check "$S" "[l[\"name\"] for l in doc[\"links\"]] == [\"br-a\"]" &&
	json_check "$TMP/st/hostnet-confirmed.json" "[l[\"name\"] for l in doc[\"links\"]] == [\"br-a\", \"uplink0\"]"'

test_expect 'apply --json refused without a terminal: status error, nothing changed' '
	vf host apply --spec "$TMP/ab.json" --json --state-file "$S" </dev/null >"$TMP/r.json" 2>/dev/null; rc=$?
	cat "$TMP/r.json"; [ $rc -eq 1 ] &&
	json_check "$TMP/r.json" "doc[\"status\"] == \"error\" and doc[\"error\"].startswith(\"no terminal to confirm on\") and all(c[\"outcome\"] == \"not-run\" for c in doc[\"changes\"]) and len(doc[\"changes\"]) == 1" &&
	[ "$(link br-b ifname)" = absent ]'

test_expect 'spec and CONFIG together, --last-confirmed with --spec: errors' '
	run_vf host apply --spec "$TMP/ab.json" "$TMP/ab.json" --state-file "$S" && expect_rc 1 &&
	expect_contains "$err" "unexpected argument" &&
	run_vf host apply --spec "$TMP/ab.json" --last-confirmed --json --state-file "$S" && expect_rc 1 &&
	expect_contains "$out" "\"status\": \"error\"" &&
	expect_contains "$err" "--spec and --last-confirmed exclude each other"'

test_expect 'other0 was never touched' '
	[ "$(link other0 master)" = - ] && [ "$(link other0 mtu)" = 1500 ]'

test_done
