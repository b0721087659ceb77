#!/bin/sh
# `virtform drift` without the lab: the hosts are libvirt's in-process test
# driver (test:///default, or test://FILE with a domain carrying a
# virtform marker), so nothing real is ever contacted.  Exit codes (0 no
# drift, 2 drift, 1 error), the causes (not created, deleted outside
# virtform, not applied yet, state), --json against
# schemas/drift.schema.json, --notify-command (the JSON on stdin, only on
# drift, its failure a warning), and the errors.  "changed outside
# virtform" needs a domain virtform wrote: tests/t3700-drift-lab.sh.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
# test://FILE reads a file on this machine: allowed for virtform's own
# tests only (reconcile/transport.h)
export VIRTFORM_TEST_DRIVER_FILES=1
SCHEMA=$TOP/schemas/drift.schema.json

conf() {   # conf FILE URI [VMS]
	printf 'version: 1\nproject: vfd-cli\nclusters: [{name: local}]\nhosts: [{name: fake, uri: "%s"}]\n%s\n' \
		"$2" "${3:-}" >"$1"
}
conf "$TMP/empty.yaml" "test:///default"
conf "$TMP/one.yaml" "test:///default" "vms: [{name: v, cpus: 1, memory: 64MiB}]"

# A host whose domain v virtform made (its marker) with a configuration
# that has changed since (spec hash not the one virtform would write now),
# and that is shut off.
cat >"$TMP/node.xml" <<'XML'
<node>
  <domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
    <name>v</name>
    <memory unit='MiB'>128</memory>
    <currentMemory unit='MiB'>128</currentMemory>
    <vcpu>1</vcpu>
    <os><type arch='x86_64'>hvm</type></os>
    <metadata>
      <vf:resource xmlns:vf='https://virtform.dev/xmlns/virtform/1' project='vfd-cli' address='vm.v' spec='0000000000000000'/>
    </metadata>
    <test:runstate>5</test:runstate>
  </domain>
</node>
XML
conf "$TMP/file.yaml" "test://$TMP/node.xml" "vms: [{name: v, cpus: 1, memory: 64MiB}]"

schema_ok() {   # schema_ok FILE: the document passes drift.schema.json
	"$PY" - "$SCHEMA" "$1" <<-'PYEOF'
	import json, sys, jsonschema
	s = json.load(open(sys.argv[1]))
	jsonschema.Draft7Validator.check_schema(s)
	jsonschema.validate(json.load(open(sys.argv[2])), s)
	PYEOF
}
json_true() {   # json_true FILE EXPR: EXPR (python, doc = the document) holds
	"$PY" -c 'import json, sys; doc = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" ||
		{ echo "not true: $2"; cat "$1"; return 1; }
}

test_expect 'drift --help documents the options and the exit status; help lists drift' '
	run_vf drift --help && expect_rc 0 &&
	for o in --json --fix "--notify-command CMD" "--state-dir DIR" "--timeout SECONDS" \
		--skip-unreachable "--lock-timeout" "Exit status: 0 no drift"; do
		expect_contains "$out" "$o" || exit 1
	done &&
	run_vf help && expect_contains "$out" "  drift "'

test_expect 'no drift: exit 0, one line saying so' '
	run_vf drift "$TMP/empty.yaml" --state-dir "$TMP/s0" && expect_rc 0 &&
	[ "$out" = "No drift: the 1 host checked matches the configuration (project vfd-cli)." ] &&
	[ -z "$err" ]'

test_expect 'a VM never made: exit 2, "not created yet", a summary line' '
	run_vf drift "$TMP/one.yaml" --state-dir "$TMP/s1" && expect_rc 2 &&
	expect_contains "$out" "+ vm.v on fake: not created yet" &&
	expect_contains "$out" "Drift: 1 resource of project vfd-cli differs from the configuration (1 not created yet)."'

test_expect 'a VM the state says virtform made, gone: "missing: deleted outside virtform"' '
	mkdir -m 700 "$TMP/s2" &&
	printf "{\"format_version\": 1, \"project\": \"vfd-cli\", \"serial\": 3, \"resources\": [{\"address\": \"vm.v\", \"kind\": \"vm\", \"name\": \"v\", \"host\": \"fake\"}]}\n" >"$TMP/s2/state.json" &&
	run_vf drift "$TMP/one.yaml" --state-dir "$TMP/s2" && expect_rc 2 &&
	expect_contains "$out" "+ vm.v on fake: missing: deleted outside virtform" &&
	expect_contains "$out" "(1 deleted outside virtform)" &&
	run_vf drift "$TMP/one.yaml" --state-dir "$TMP/s2" --json && expect_rc 2 &&
	printf "%s\n" "$out" >"$TMP/s2.json" && schema_ok "$TMP/s2.json" &&
	json_true "$TMP/s2.json" "doc[\"resources\"][0][\"cause\"] == \"missing\" and doc[\"counts\"][\"missing\"] == 1"'

test_expect 'a managed VM that differs while the config changed, and is stopped: "not applied yet", fields, state' '
	run_vf drift "$TMP/file.yaml" --state-dir "$TMP/s3" && expect_rc 2 &&
	expect_contains "$out" "~ vm.v on fake: not applied yet: memory 128 MiB (configured 64 MiB)" &&
	expect_contains "$out" "; stopped (configured running)" &&
	expect_not_contains "$out" "changed outside virtform" &&
	[ "$(printf "%s\n" "$out" | grep -c "vm.v")" = 1 ]'

test_expect '--json: one document that passes schemas/drift.schema.json, with causes, fields and counts' '
	run_vf drift "$TMP/file.yaml" --state-dir "$TMP/s3" --json && expect_rc 2 && [ -z "$err" ] &&
	printf "%s\n" "$out" >"$TMP/d.json" && schema_ok "$TMP/d.json" &&
	json_true "$TMP/d.json" "doc[\"drift\"] and doc[\"project\"] == \"vfd-cli\" and doc[\"fix\"] is None" &&
	json_true "$TMP/d.json" "[r[\"address\"] for r in doc[\"resources\"]] == [\"vm.v\"]" &&
	json_true "$TMP/d.json" "doc[\"resources\"][0][\"cause\"] == \"not_applied\" and doc[\"resources\"][0][\"action\"] == \"update\"" &&
	json_true "$TMP/d.json" "{\"path\": \"memory\", \"before\": 134217728, \"after\": 67108864} in doc[\"resources\"][0][\"fields\"]" &&
	json_true "$TMP/d.json" "doc[\"resources\"][0][\"state\"] == {\"before\": \"stopped\", \"after\": \"running\"}" &&
	json_true "$TMP/d.json" "doc[\"counts\"][\"resources\"] == 1 and doc[\"counts\"][\"not_applied\"] == 1 and doc[\"counts\"][\"hosts_checked\"] == 1" &&
	run_vf drift "$TMP/empty.yaml" --state-dir "$TMP/s0" --json && expect_rc 0 &&
	printf "%s\n" "$out" >"$TMP/e.json" && schema_ok "$TMP/e.json" &&
	json_true "$TMP/e.json" "doc[\"drift\"] is False and doc[\"resources\"] == []"'

test_expect 'the schema refuses a document with an unknown cause (it checks something)' '
	sed "s/\"not_applied\"/\"weird\"/" "$TMP/d.json" >"$TMP/bad.json" && ! schema_ok "$TMP/bad.json" 2>/dev/null'

test_expect '--notify-command: on drift, the JSON on stdin, VIRTFORM_DRIFT_COUNT set, output to stderr' '
	run_vf drift "$TMP/file.yaml" --state-dir "$TMP/s3" \
		--notify-command "cat >\"$TMP/n.json\"; echo notified count=\$VIRTFORM_DRIFT_COUNT project=\$VIRTFORM_DRIFT_PROJECT" &&
	expect_rc 2 && expect_contains "$err" "notified count=1 project=vfd-cli" &&
	expect_not_contains "$out" "notified" &&
	schema_ok "$TMP/n.json" && json_true "$TMP/n.json" "doc[\"resources\"][0][\"address\"] == \"vm.v\""'

test_expect '--notify-command: the secret variables are not in its environment, nor in virtform'"'"'s' '
	env VIRTFORM_SECRET_KEY="virtform-sealed-v1 secret vfk-not-a-real-key-2291" \
		VIRTFORM_GIT_PASSWORD=vfk-t0ken-8831 "$VIRTFORM" drift "$TMP/file.yaml" \
		--state-dir "$TMP/s7" --notify-command "env >\"$TMP/env.txt\";
			tr \"\\\\0\" \"\\\\n\" </proc/\$PPID/environ >\"$TMP/parent-env.txt\"" \
		>"$TMP/.out" 2>"$TMP/.err"
	rc=$? && expect_rc 2 && grep -q "^VIRTFORM_DRIFT_COUNT=1" "$TMP/env.txt" &&
	grep -q "^PATH=" "$TMP/parent-env.txt" &&
	! grep -e VIRTFORM_SECRET_KEY -e VIRTFORM_GIT_PASSWORD -e vfk- "$TMP/env.txt" &&
	! grep -e vfk- "$TMP/parent-env.txt"'

test_expect '--notify-command: never without drift' '
	run_vf drift "$TMP/empty.yaml" --state-dir "$TMP/s0" --notify-command "touch \"$TMP/ran\"" &&
	expect_rc 0 && [ ! -e "$TMP/ran" ]'

test_expect '--notify-command: a failing command is a warning, the exit status stays 2' '
	run_vf drift "$TMP/one.yaml" --state-dir "$TMP/s1" --notify-command "exit 7" && expect_rc 2 &&
	expect_contains "$err" "warning: the notify command exited with status 7" &&
	run_vf drift "$TMP/one.yaml" --state-dir "$TMP/s1" --notify-command "kill -TERM \$\$" && expect_rc 2 &&
	expect_contains "$err" "warning: the notify command was killed by signal 15" &&
	run_vf drift "$TMP/one.yaml" --state-dir "$TMP/s1" --notify-command "true" && expect_rc 2 &&
	expect_not_contains "$err" "warning"'

# 600 VMs not created: a report larger than a pipe holds, so the write
# meets a closed pipe whichever process runs first.
{ echo "vms:"; i=0; while [ $i -lt 600 ]; do echo "  - {name: vfd-many-$i, cpus: 1, memory: 64MiB}"; i=$((i + 1)); done; } >"$TMP/many-vms"
conf "$TMP/many.yaml" "test:///default" "$(cat "$TMP/many-vms")"
test_expect '--notify-command: a command that never reads its stdin does not kill drift' '
	run_vf drift "$TMP/many.yaml" --state-dir "$TMP/s6" --json --notify-command "exec </dev/null; exit 0" &&
	expect_rc 2 && expect_not_contains "$err" "warning" &&
	printf "%s\n" "$out" >"$TMP/many.json" && [ "$(wc -c <"$TMP/many.json")" -gt 100000 ] &&
	json_true "$TMP/many.json" "doc[\"counts\"][\"not_created\"] == 600"'

test_expect '--notify-command with --json: stdout stays one JSON document' '
	run_vf drift "$TMP/file.yaml" --state-dir "$TMP/s3" --json --notify-command "cat; echo extra" &&
	expect_rc 2 && printf "%s\n" "$out" >"$TMP/j.json" && schema_ok "$TMP/j.json" &&
	expect_contains "$err" "extra"'

test_expect 'errors: bad config, unknown option, two CONFIGs, bad timeout, unreachable host: exit 1, no notify' '
	printf "version: 1\nclusters: [{name: c}]\nvms:\n  - {name: x, cpus: 1, memory: 2G}\n" >"$TMP/bad.yaml" &&
	run_vf drift "$TMP/bad.yaml" --notify-command "touch \"$TMP/ran\"" && expect_rc 1 &&
	expect_contains "$err" "bad.yaml:4:32: error:" &&
	run_vf drift --fx "$TMP/one.yaml" && expect_rc 1 &&
	expect_contains "$err" "did you mean '\''--fix'\''?" &&
	run_vf drift "$TMP/one.yaml" "$TMP/empty.yaml" && expect_rc 1 &&
	run_vf drift "$TMP/one.yaml" --timeout soon && expect_rc 1 &&
	conf "$TMP/gone.yaml" "test://$TMP/no-such-node.xml" &&
	run_vf drift "$TMP/gone.yaml" --state-dir "$TMP/s4" --notify-command "touch \"$TMP/ran\"" &&
	expect_rc 1 && expect_contains "$err" "host '\''fake'\'' is unreachable" &&
	[ ! -e "$TMP/ran" ]'

test_expect '--skip-unreachable: the host is named as skipped, in text and JSON' '
	run_vf drift "$TMP/gone.yaml" --state-dir "$TMP/s4" --skip-unreachable && expect_rc 0 &&
	expect_contains "$out" "WARNING: host fake: " && expect_contains "$out" "not checked" &&
	expect_contains "$out" "No drift: the 0 hosts checked match the configuration (project vfd-cli); 1 skipped." &&
	run_vf drift "$TMP/gone.yaml" --state-dir "$TMP/s4" --skip-unreachable --json && expect_rc 0 &&
	printf "%s\n" "$out" >"$TMP/k.json" && schema_ok "$TMP/k.json" &&
	json_true "$TMP/k.json" "doc[\"skipped_hosts\"][0][\"host\"] == \"fake\" and doc[\"counts\"][\"hosts_skipped\"] == 1"'

test_expect 'a locked state: exit 1 naming the lock' '
	mkdir -m 700 "$TMP/s5" &&
	( exec 9>"$TMP/s5/lock"; flock 9; echo held >"$TMP/held"; exec sleep 30 ) &
	holder=$!
	while [ ! -e "$TMP/held" ]; do sleep 0.05; done
	run_vf drift "$TMP/one.yaml" --state-dir "$TMP/s5"; r=$rc
	kill $holder 2>/dev/null; wait $holder 2>/dev/null
	rc=$r; expect_rc 1 && expect_contains "$err" "lock"'

test_done
