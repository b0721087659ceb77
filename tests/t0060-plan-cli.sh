#!/bin/sh
# plan / apply / destroy on the command line, where they stop before any
# host is contacted: options, a bad configuration, the state directory
# (unwritable, another project's, corrupt, locked).  Every case fails
# before the hosts are read; even so the configuration's one host is
# libvirt's in-process test driver, so a slip could never reach a real host.
. "$(dirname "$0")/lib.sh"

QS="$TMP/qs"
quickstart_config "$QS"

for c in plan apply destroy; do
	test_expect "virtform $c --help documents its options and exit status" '
		run_vf '"$c"' --help && expect_rc 0 &&
		expect_contains "$out" "usage: virtform '"$c"'" &&
		expect_contains "$out" "--target ADDR" &&
		expect_contains "$out" "--state-dir DIR" &&
		expect_contains "$out" "Exit status"'
done

test_expect 'virtform help lists plan, apply and destroy' '
	run_vf help && expect_contains "$out" "  plan " &&
	expect_contains "$out" "  apply " && expect_contains "$out" "  destroy "'

test_expect 'a mistyped option gets the nearest' '
	run_vf apply --auto-aprove "$QS" && expect_rc 1 &&
	expect_contains "$err" "did you mean '\''--auto-approve'\''?" &&
	run_vf plan --detailed-exit-code "$QS" && expect_rc 1 &&
	expect_contains "$err" "did you mean '\''--detailed-exitcode'\''?"'

test_expect 'bad values of --parallelism, --timeout and --lock-timeout are refused' '
	run_vf apply --parallelism 0 "$QS" && expect_rc 1 &&
	expect_contains "$err" "--parallelism: '\''0'\'' is not a number from 1 to 256" &&
	run_vf apply --parallelism many "$QS" && expect_rc 1 &&
	run_vf plan --timeout -1 "$QS" && expect_rc 1 &&
	expect_contains "$err" "--timeout" &&
	run_vf plan --lock-timeout soon "$QS" && expect_rc 1 &&
	expect_contains "$err" "--lock-timeout"'

test_expect 'plan apply destroy do not take --json or --auto-approve where it makes no sense' '
	run_vf plan --auto-approve "$QS" && expect_rc 1 &&
	run_vf destroy --json "$QS" && expect_rc 1'

test_expect 'a bad --max-destroy is refused; destroy takes no guard option' '
	run_vf plan --max-destroy many "$QS" && expect_rc 1 &&
	expect_contains "$err" "--max-destroy: '\''many'\'' is not a number from 0 to 1000000" &&
	run_vf apply --max-destroy=-1 "$QS" && expect_rc 1 &&
	expect_contains "$err" "--max-destroy: '\''-1'\''" &&
	run_vf destroy --allow-mass-destroy "$QS" && expect_rc 1 &&
	expect_contains "$err" "--allow-mass-destroy does not apply to destroy" &&
	run_vf destroy --max-destroy 5 "$QS" && expect_rc 1 &&
	expect_contains "$err" "--max-destroy does not apply to destroy" &&
	[ ! -e "$QS/.virtform" ]'

test_expect 'plan, apply, sync and drift document the guard options' '
	for c in plan apply sync drift; do
		run_vf $c --help && expect_contains "$out" "--max-destroy N" &&
		expect_contains "$out" "--allow-mass-destroy" || exit 1
	done'

test_expect 'a bad configuration fails before anything: errors, exit 1, no state directory' '
	mkdir "$TMP/bad" &&
	printf "version: 1\nclusters: [{name: c}]\nvms:\n  - {name: x, cpus: 1, memory: 2G}\n" >"$TMP/bad/c.yaml" &&
	run_vf plan "$TMP/bad" && expect_rc 1 &&
	expect_contains "$err" "c.yaml:4:32: error: vm '\''x'\'': memory '\''2G'\'' needs a binary unit" &&
	run_vf apply "$TMP/bad" --auto-approve && expect_rc 1 &&
	[ ! -e "$TMP/bad/.virtform" ]'

test_expect 'a state directory that cannot be made is a clear error' '
	run_vf plan "$QS" --state-dir /proc/virtform-no/such && expect_rc 1 &&
	expect_contains "$err" "cannot create the state directory '\''/proc/virtform-no/such'\''" &&
	expect_contains "$err" "--state-dir"'

test_expect 'VIRTFORM_STATE_DIR is honoured' '
	VIRTFORM_STATE_DIR=/proc/virtform-env run_vf plan "$QS" && expect_rc 1 &&
	expect_contains "$err" "/proc/virtform-env"'

test_expect 'the state of another project is refused' '
	mkdir -m 700 "$TMP/other" &&
	printf "{\"format_version\": 1, \"project\": \"other\", \"serial\": 3, \"resources\": []}\n" \
		>"$TMP/other/state.json" &&
	run_vf plan "$QS" --state-dir "$TMP/other" && expect_rc 1 &&
	expect_contains "$err" "belongs to project '\''other'\''" &&
	expect_contains "$err" "this configuration is project '\''local'\''"'

test_expect 'a corrupt state is an error with its position, not a guess' '
	mkdir -m 700 "$TMP/corrupt" &&
	printf "{\"format_version\": 1,\n \"resources\": [\n" >"$TMP/corrupt/state.json" &&
	run_vf plan "$QS" --state-dir "$TMP/corrupt" && expect_rc 1 &&
	expect_contains "$err" "$TMP/corrupt/state.json:3:" &&
	expect_contains "$err" "cannot read the state"'

test_expect 'a state of an unknown format version is refused' '
	mkdir -m 700 "$TMP/future" &&
	printf "{\"format_version\": 9, \"resources\": []}\n" >"$TMP/future/state.json" &&
	run_vf plan "$QS" --state-dir "$TMP/future" && expect_rc 1 &&
	expect_contains "$err" "unsupported state format"'

test_expect 'a locked state fails at once, and --lock-timeout waits that long' '
	mkdir -m 700 "$TMP/locked" &&
	flock "$TMP/locked/lock" sleep 30 &
	holder=$!
	sleep 0.5
	run_vf plan "$QS" --state-dir "$TMP/locked"; rc1=$rc; err1=$err
	t0=$(date +%s.%N)
	run_vf plan "$QS" --state-dir "$TMP/locked" --lock-timeout 1.5; rc2=$rc
	t=$(awk -v a="$t0" -v b="$(date +%s.%N)" "BEGIN { print b - a }")
	kill $holder; wait $holder 2>/dev/null
	[ "$rc1" -eq 1 ] && expect_contains "$err1" "is locked by" &&
	expect_contains "$err1" "--lock-timeout" &&
	[ "$rc2" -eq 1 ] && awk -v t="$t" "BEGIN { exit !(t >= 1.4) }" || { echo "rc2=$rc2 t=$t"; exit 1; }'

# The in-process test driver as the host: the whole plan path without a
# daemon (the lab tests do it for real).
test_expect 'plan against the test driver: the create, exit 2, valid JSON' '
	run_vf plan "$QS" --state-dir "$TMP/st" --detailed-exitcode && expect_rc 2 &&
	expect_contains "$out" "+   create  vm.v on fake" &&
	expect_contains "$out" "graphics.listen: 127.0.0.1" &&
	expect_contains "$out" "Plan: 1 to create, 0 to update, 0 to replace, 0 to destroy." &&
	run_vf plan "$QS" --state-dir "$TMP/st" --json && expect_rc 0 &&
	printf "%s\n" "$out" >"$TMP/plan.json" &&
	/usr/bin/python3 -c "
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))
" "$TOP/schemas/plan.schema.json" "$TMP/plan.json"'

test_expect 'colour only on a terminal, and never with NO_COLOR' '
	run_vf plan "$QS" --state-dir "$TMP/st" && expect_not_contains "$out" "$(printf "\033")" &&
	script -qec "\"$VIRTFORM\" plan \"$QS\" --state-dir \"$TMP/st\"" /dev/null >"$TMP/tty.out" &&
	grep -q "$(printf "\033")\[32m+" "$TMP/tty.out" &&
	NO_COLOR=1 script -qec "\"$VIRTFORM\" plan \"$QS\" --state-dir \"$TMP/st\"" /dev/null >"$TMP/nc.out" &&
	! grep -q "$(printf "\033")" "$TMP/nc.out" && grep -q "create  vm.v on fake" "$TMP/nc.out"'

# A value with terminal escapes reaches the plan as text, never as bytes
# a terminal (or a CI log viewer) acts on; --json carries it encoded (C0
# as \u00XX, as JSON wants; C1 is valid JSON text and passes).
mkdir "$TMP/esc"
cat >"$TMP/esc/virtform.yaml" <<'EOF'
version: 1
clusters: [{name: local}]
hosts: [{name: fake, uri: "test:///default"}]
vms: [{name: v, cpus: 1, memory: 64MiB, description: "red \e[31m bell \a csi \u009b end"}]
EOF
test_expect 'control characters in values are escaped in the plan' '
	"$VIRTFORM" plan "$TMP/esc" --state-dir "$TMP/esc-st" >"$TMP/esc.out" 2>&1; rc=$?
	cat "$TMP/esc.out"
	[ "$rc" -eq 0 ] &&
	! grep -qP "[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]" "$TMP/esc.out" &&
	grep -qF "description: red \x1b[31m bell \x07 csi \u009b end" "$TMP/esc.out" &&
	"$VIRTFORM" plan "$TMP/esc" --state-dir "$TMP/esc-st" --json >"$TMP/esc.json" &&
	! grep -qP "[\x00-\x09\x0b-\x1f\x7f]" "$TMP/esc.json" &&
	grep -qiF "red \u001b[31m bell \u0007" "$TMP/esc.json"'

test_done
