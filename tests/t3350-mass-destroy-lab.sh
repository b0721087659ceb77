#!/bin/sh
# The mass-deletion guard on the lab (docs/plan-apply.md): eight tiny VMs
# applied, then the configuration emptied (a bad merge).  plan, plan
# --json, apply, drift --fix, a saved plan, sync and the post-receive
# sync of a push all refuse with the count, the limit and the likely cause,
# exit 1, and nothing is destroyed.  --max-destroy raises the limit,
# --allow-mass-destroy lets it go (given to apply FILE itself: a saved plan
# carries no allowance), destroy is exempt but lists what goes.  VMs are
# stopped definitions without disks, named vfmd-* in project vfmd; the test
# removes what it made.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/git-lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test

N=8
host_of() { echo $(( ($1 - 1) % 3 + 1 )); }   # host_of K: the lab host of vfmd-K
at_exit 'k=1; while [ $k -le '"$N"' ]; do lab_undefine $(host_of $k) vfmd-$k; k=$((k + 1)); done'

git_fixture vfmd lab
C="$W/lab"
lab_example_hosts "$C"
write_vms() {   # write_vms COUNT: vfmd-1..COUNT
	{
		printf 'version: 1\nproject: vfmd\nclusters: [{name: lab}]\nvms:\n'
		[ "$1" -gt 0 ] || printf '  []\n'
		k=1
		while [ "$k" -le "$1" ]; do
			printf '  - {name: vfmd-%d, host: lab%d, cpus: 1, memory: 64MiB, state: stopped, shutdown_timeout: 1}\n' \
				"$k" "$(host_of "$k")"
			k=$((k + 1))
		done
	} >"$C/vms.yaml"
}
commit() { git -C "$W" add -A && git -C "$W" commit -q --no-verify --allow-empty -m "$1"; }
# present: how many of vfmd-1..N are defined on the lab
present() {
	_n=0; k=1
	while [ $k -le $N ]; do
		lab_virsh "$(host_of $k)" dominfo vfmd-$k >/dev/null 2>&1 && _n=$((_n + 1))
		k=$((k + 1))
	done
	echo $_n
}
refused() {   # refused COUNT LIMIT: the refusal on stderr, exit 1
	expect_rc 1 &&
	expect_contains "$err" "error: refusing a mass deletion: the plan destroys $1 VMs and 0 volumes ($1 objects that hold data), more than the limit of $2" &&
	expect_contains "$err" "nothing was changed" &&
	expect_contains "$err" "hint: check the configuration"
}

write_vms $N
test_expect "apply makes $N tiny VMs" '
	run_vf apply "$C" --state-dir "$S" --auto-approve && expect_rc 0 &&
	expect_contains "$out" "Apply complete: $N created" && [ "$(present)" = $N ]'

write_vms 0
test_expect 'plan of an emptied configuration: shown, then refused with the cause' '
	run_vf plan "$C" --state-dir "$S" && refused $N 3 &&
	expect_contains "$out" "-   destroy vm.vfmd-1 on lab1" &&
	expect_contains "$err" "the default: the larger of 3 and 10% of the $N VMs and volumes managed" &&
	expect_contains "$err" "the configuration defines 0 VMs and 0 volumes, virtform manages $N VMs and 0 volumes" &&
	expect_contains "$err" "an empty or missing configuration" &&
	[ "$(present)" = $N ]'

test_expect 'plan --json carries the refusal (valid against the schema)' '
	run_vf plan "$C" --state-dir "$S" --json && expect_rc 1 &&
	printf "%s\n" "$out" >"$TMP/plan.json" &&
	/usr/bin/python3 -c "
import json, sys, jsonschema
schema, doc = (json.load(open(p)) for p in sys.argv[1:3])
jsonschema.validate(doc, schema)
g = doc[\"guard\"]
assert g[\"refused\"] and g[\"limit\"] == 3 and g[\"destroys\"][\"vms\"] == $N, g
assert \"the plan destroys $N VMs\" in g[\"message\"], g
" "$TOP/schemas/plan.schema.json" "$TMP/plan.json"'

test_expect 'apply refuses it: nothing destroyed' '
	run_vf apply "$C" --state-dir "$S" --auto-approve && refused $N 3 &&
	expect_not_contains "$out" "Apply complete" && [ "$(present)" = $N ]'

test_expect 'drift --fix refuses it: nothing destroyed' '
	run_vf drift "$C" --state-dir "$S" --fix && refused $N 3 &&
	[ "$(present)" = $N ]'

test_expect 'a saved plan made with --allow-mass-destroy is refused by apply FILE without it' '
	run_vf plan "$C" --state-dir "$S" --allow-mass-destroy -out "$TMP/all.vfplan" &&
	expect_rc 0 && expect_contains "$out" "allowed by --allow-mass-destroy" &&
	run_vf apply "$TMP/all.vfplan" && refused $N 3 &&
	expect_not_contains "$out" "Apply complete" && [ "$(present)" = $N ]'

test_expect 'plan -out of a refused plan saves nothing' '
	run_vf plan "$C" --state-dir "$S" -out "$TMP/no.vfplan" && refused $N 3 &&
	[ ! -e "$TMP/no.vfplan" ]'

commit "a bad merge: every VM gone" && git -C "$W" push -q "$R" main 2>/dev/null
test_expect 'sync of a commit that empties the configuration refuses it' '
	run_vf sync "$R" --path lab --state-dir "$S" --auto-approve && refused $N 3 &&
	expect_not_contains "$out" "Apply complete" && [ "$(present)" = $N ]'

test_expect 'the log records the refused sync' '
	run_vf log --state-dir "$S" && expect_rc 0 &&
	expect_contains "$out" "refused" && expect_contains "$out" "a bad merge: every VM gone"'

test_expect 'the post-receive sync of a push refuses it too (hooks install --max-destroy)' '
	run_vf hooks install --server "$R" --state-dir "$S" --path lab --auto-approve \
		--max-destroy 7 && expect_rc 0 &&
	grep -q -- "--max-destroy. .7." "$R/hooks/post-receive" &&
	commit "the bad merge again" && push "$R" main && expect_rc 0 &&
	expect_contains "$err" "remote: virtform sync: error: refusing a mass deletion: the plan destroys $N VMs and 0 volumes ($N objects that hold data), more than the limit of 7 (--max-destroy)" &&
	expect_contains "$err" "FAILED" && [ "$(present)" = $N ]'

write_vms 4
test_expect '--max-destroy raises the limit: 4 removed of 8' '
	run_vf apply "$C" --state-dir "$S" --auto-approve && refused 4 3 &&
	[ "$(present)" = $N ] &&
	run_vf apply "$C" --state-dir "$S" --auto-approve --max-destroy 3 && refused 4 3 &&
	expect_contains "$err" "limit of 3 (--max-destroy)" &&
	run_vf apply "$C" --state-dir "$S" --auto-approve --max-destroy 4 && expect_rc 0 &&
	expect_contains "$out" "Apply complete: 0 created, 0 updated, 0 replaced, 4 destroyed" &&
	[ "$(present)" = 4 ]'

write_vms 0
test_expect '--allow-mass-destroy given to apply FILE lets the saved plan go' '
	run_vf plan "$C" --state-dir "$S" -out "$TMP/rest.vfplan" --allow-mass-destroy && expect_rc 0 &&
	run_vf apply "$TMP/rest.vfplan" && refused 4 3 && [ "$(present)" = 4 ] &&
	run_vf apply "$TMP/rest.vfplan" --allow-mass-destroy && expect_rc 0 &&
	expect_contains "$out" "4 destroyed" && [ "$(present)" = 0 ]'

write_vms 5
test_expect 'destroy is exempt: it lists what goes and destroys it' '
	run_vf apply "$C" --state-dir "$S" --auto-approve && expect_rc 0 &&
	[ "$(present)" = 5 ] &&
	run_vf destroy "$C" --state-dir "$S" --auto-approve --max-destroy 1 && expect_rc 1 &&
	expect_contains "$err" "--max-destroy does not apply to destroy" && [ "$(present)" = 5 ] &&
	run_vf destroy "$C" --state-dir "$S" --auto-approve && expect_rc 0 &&
	expect_contains "$out" "-   destroy vm.vfmd-5 on lab2" &&
	expect_contains "$out" "Destroy complete: 0 created, 0 updated, 0 replaced, 5 destroyed" &&
	[ "$(present)" = 0 ]'

test_done
