#!/bin/sh
# `virtform drift` against the lab: after an apply, no drift (exit 0); a
# VM's memory changed with virsh behind virtform's back is drift (exit 2)
# that names the field and says "changed outside virtform", in text and in
# JSON (schemas/drift.schema.json); the notify command receives the report;
# a VM started behind virtform's back is reported with its state; --fix
# converges (exit 0) and drift is 0 again; a VM deleted with virsh is
# "missing: deleted outside virtform"; a network changed with virsh is
# "changed outside virtform" (the spec hash of its state record), one whose
# configuration changed is "not applied yet".  Objects are named vfd-*, project
# vfd-drift; the test destroys what it made.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

PY=/usr/bin/python3
SCHEMA=$TOP/schemas/drift.schema.json

lab_up_for_test
lab_config
at_exit 'run_vf destroy "$CONF" --auto-approve --state-dir "$STATE" >/dev/null 2>&1; for i in 1 2 3; do lab_virsh $i destroy vfd-web >/dev/null 2>&1; lab_virsh $i undefine vfd-web --nvram >/dev/null 2>&1; lab_virsh $i destroy vfd-db >/dev/null 2>&1; lab_virsh $i undefine vfd-db --nvram >/dev/null 2>&1; lab_virsh $i net-destroy vfd-net >/dev/null 2>&1; lab_virsh $i net-undefine vfd-net >/dev/null 2>&1; done'

cat >"$CONF/main.yaml" <<'YAML'
version: 1
project: vfd-drift
clusters: [{name: lab}]
networks:
  - {name: vfd-net, mode: isolated, ipv4: {address: 172.30.82.1/24, dhcp: {start: 172.30.82.100, end: 172.30.82.200}}}
vms:
  - {name: vfd-web, host: lab1, cpus: 1, memory: 128MiB, state: stopped, shutdown_timeout: 1}
  - {name: vfd-db, host: lab2, cpus: 1, memory: 128MiB, state: stopped, shutdown_timeout: 1}
YAML

schema_ok() {
	"$PY" - "$SCHEMA" "$1" <<-'PYEOF'
	import json, sys, jsonschema
	jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))
	PYEOF
}
json_true() {
	"$PY" -c 'import json, sys; doc = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" ||
		{ echo "not true: $2"; cat "$1"; return 1; }
}
dominfo_field() {   # dominfo_field I NAME FIELD
	lab_virsh "$1" dominfo "$2" | sed -n "s/^$3: *//p"
}

test_expect 'apply the VMs, then drift finds none (exit 0)' '
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	vf drift "$CONF" && expect_rc 0 &&
	expect_contains "$out" "No drift: the 3 hosts checked match the configuration (project vfd-drift)."'

test_expect 'memory changed with virsh: exit 2, the field, "changed outside virtform"' '
	lab_virsh 1 setmaxmem vfd-web 262144 --config >/dev/null &&
	lab_virsh 1 setmem vfd-web 262144 --config >/dev/null &&
	vf drift "$CONF" && expect_rc 2 &&
	expect_contains "$out" "~ vm.vfd-web on lab1: changed outside virtform: memory 256 MiB (configured 128 MiB)" &&
	expect_contains "$out" "Drift: 1 resource of project vfd-drift differs from the configuration (1 changed outside virtform)." &&
	expect_not_contains "$out" "vfd-db"'

test_expect '--json: the cause, the field before and after, the counts; the schema holds' '
	vf drift "$CONF" --json && expect_rc 2 &&
	printf "%s\n" "$out" >"$TMP/d.json" && schema_ok "$TMP/d.json" &&
	json_true "$TMP/d.json" "[(r[\"address\"], r[\"cause\"], r[\"host\"]) for r in doc[\"resources\"]] == [(\"vm.vfd-web\", \"changed_outside\", \"lab1\")]" &&
	json_true "$TMP/d.json" "{\"path\": \"memory\", \"before\": 268435456, \"after\": 134217728} in doc[\"resources\"][0][\"fields\"]" &&
	json_true "$TMP/d.json" "doc[\"counts\"][\"changed_outside\"] == 1 and doc[\"counts\"][\"hosts_checked\"] == 3"'

test_expect 'a VM started behind virtform'"'"'s back is reported with its state' '
	lab_virsh 2 start vfd-db >/dev/null &&
	vf drift "$CONF" && expect_rc 2 &&
	expect_contains "$out" "< vm.vfd-db on lab2: running (configured stopped)" &&
	expect_contains "$out" "(1 changed outside virtform, 1 state differs)"'

test_expect '--notify-command receives the JSON report, with the count in its environment' '
	vf drift "$CONF" --notify-command "cat >\"$TMP/n.json\"; echo count=\$VIRTFORM_DRIFT_COUNT >\"$TMP/n.env\"" &&
	expect_rc 2 && schema_ok "$TMP/n.json" &&
	[ "$(cat "$TMP/n.env")" = count=2 ] &&
	json_true "$TMP/n.json" "sorted(r[\"address\"] for r in doc[\"resources\"]) == [\"vm.vfd-db\", \"vm.vfd-web\"]"'

test_expect 'drift --fix converges: the apply output, exit 0, memory and state restored, notify still told' '
	vf drift "$CONF" --fix --notify-command "cat >\"$TMP/f.json\"" && expect_rc 0 &&
	expect_contains "$out" "changed outside virtform: memory 256 MiB (configured 128 MiB)" &&
	expect_contains "$out" "Apply complete:" &&
	expect_contains "$out" "Drift fixed: the hosts match the configuration again." &&
	[ "$(dominfo_field 1 vfd-web "Used memory")" = "131072 KiB" ] &&
	[ "$(dominfo_field 2 vfd-db State)" = "shut off" ] &&
	json_true "$TMP/f.json" "doc[\"fix\"][\"converged\"] and doc[\"fix\"][\"remaining\"] == []"'

test_expect 'after --fix, drift is 0 again; --fix with nothing to do is exit 0 and applies nothing' '
	vf drift "$CONF" && expect_rc 0 &&
	vf drift "$CONF" --fix && expect_rc 0 && expect_not_contains "$out" "Apply complete"'

test_expect 'a network changed with virsh is "changed outside virtform" (its state record); the configuration moved on is "not applied yet"' '
	grep -q "\"spec\": \"[0-9a-f]\{16\}\"" "$STATE/state.json" &&
	lab_virsh 1 net-dumpxml vfd-net --inactive | sed "s/172.30.82.200/172.30.82.150/" >"$TMP/net.xml" &&
	lab_virsh 1 net-define "$TMP/net.xml" >/dev/null &&
	lab_virsh 1 net-destroy vfd-net >/dev/null && lab_virsh 1 net-start vfd-net >/dev/null &&
	vf drift "$CONF" && expect_rc 2 &&
	expect_contains "$out" "~ network.vfd-net@lab1: changed outside virtform: dhcp 172.30.82.100-172.30.82.150 (configured 172.30.82.100-172.30.82.200)" &&
	expect_contains "$out" "(1 changed outside virtform)" &&
	vf plan "$CONF" && expect_contains "$out" "network.vfd-net@lab1 (changed outside virtform)" &&
	cp "$CONF/main.yaml" "$TMP/main.yaml.orig" &&
	sed -i "s/end: 172.30.82.200/end: 172.30.82.180/" "$CONF/main.yaml" &&
	vf drift "$CONF" && expect_rc 2 &&
	expect_contains "$out" "~ network.vfd-net@lab1: not applied yet: dhcp 172.30.82.100-172.30.82.150 (configured 172.30.82.100-172.30.82.180)" &&
	expect_contains "$out" "network.vfd-net@lab2: not applied yet" &&
	cp "$TMP/main.yaml.orig" "$CONF/main.yaml" &&
	vf drift "$CONF" --fix && expect_rc 0 &&
	lab_virsh 1 net-dumpxml vfd-net | grep -q "172.30.82.200" &&
	vf drift "$CONF" && expect_rc 0'

test_expect 'a VM undefined with virsh: "missing: deleted outside virtform"; --fix --json makes it again' '
	lab_virsh 2 undefine vfd-db --nvram >/dev/null &&
	vf drift "$CONF" && expect_rc 2 &&
	expect_contains "$out" "+ vm.vfd-db on lab2: missing: deleted outside virtform" &&
	vf drift "$CONF" --fix --json && expect_rc 0 &&
	printf "%s\n" "$out" >"$TMP/fj.json" && schema_ok "$TMP/fj.json" &&
	json_true "$TMP/fj.json" "doc[\"resources\"][0][\"cause\"] == \"missing\" and doc[\"fix\"][\"converged\"]" &&
	expect_contains "$err" "Apply complete:" &&
	lab_virsh 2 dominfo vfd-db >/dev/null'

test_expect 'destroy removes what the test made; drift then reports the VMs as not created' '
	vf destroy "$CONF" --auto-approve && expect_rc 0 &&
	! lab_virsh 1 dominfo vfd-web >/dev/null 2>&1 && ! lab_virsh 2 dominfo vfd-db >/dev/null 2>&1 &&
	vf drift "$CONF" && expect_rc 2 &&
	expect_contains "$out" "+ vm.vfd-web on lab1: not created yet"'

test_done
