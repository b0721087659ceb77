#!/bin/sh
# Saved plans without the lab: plan -out writes a 0600 file valid against
# schemas/saved-plan.schema.json; show prints what plan printed (text and
# JSON); apply FILE refuses a changed configuration, options that would
# change the plan, a damaged file, a newer format; show explains a
# missing or wrong file.  The file holds the plan as plan --json printed
# it and is read one change at a time, so a JSON tool may reformat it.
# The one host is libvirt's in-process test driver (test:///default),
# whose state lives and dies with each process: convergence through a
# saved plan is the lab test's job (t3340).
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
cd "$TMP" || exit 1
mkdir qs
cat >qs/virtform.yaml <<EOF
version: 1
project: vfs
clusters: [{name: local}]
hosts: [{name: fake, uri: "test:///default"}]
vms:
  - {name: vfs-a, cpus: 1, memory: 64MiB, state: stopped}
  - {name: vfs-b, cpus: 2, memory: 1GiB, state: stopped}
EOF

# validate FILE: the saved plan against its schema, its "plan" against
# the plan schema.
validate() {
	"$PY" - "$TOP/schemas/saved-plan.schema.json" "$TOP/schemas/plan.schema.json" "$1" <<'PYEND'
import json, sys, jsonschema
saved_schema, plan_schema, doc = (json.load(open(p)) for p in sys.argv[1:4])
jsonschema.Draft7Validator.check_schema(saved_schema)
jsonschema.validate(doc, saved_schema)
jsonschema.validate(doc["plan"], plan_schema)
PYEND
}

test_expect 'plan -out FILE prints the plan, saves it 0600 and says how to apply it' '
	run_vf plan qs -out p.vfplan && expect_rc 0 &&
	expect_contains "$out" "+   create  vm.vfs-b on fake" &&
	expect_contains "$out" "Plan: 2 to create" &&
	expect_contains "$out" "Saved the plan to p.vfplan: apply it with '\''virtform apply p.vfplan'\''." &&
	[ "$(stat -c %a p.vfplan)" = 600 ] &&
	[ -z "$(ls -A . | grep "\.tmp\.")" ]'

test_expect 'the saved plan is valid against schemas/saved-plan.schema.json' '
	validate p.vfplan'

test_expect '--out FILE and -out=FILE work too, and --detailed-exitcode still says 2' '
	run_vf plan qs --out=p2.vfplan --detailed-exitcode && expect_rc 2 && [ -s p2.vfplan ] &&
	run_vf plan qs -out=p3.vfplan && expect_rc 0 && [ -s p3.vfplan ] &&
	run_vf plan qs --out p4.vfplan && expect_rc 0 && [ -s p4.vfplan ]'

test_expect 'show prints the same plan as plan did, after a header' '
	run_vf plan qs && expect_rc 0 && printf "%s\n" "$out" >plan.txt &&
	run_vf show p.vfplan && expect_rc 0 &&
	expect_contains "$out" "Saved plan p.vfplan, made " &&
	expect_contains "$out" "Configuration: qs (project vfs)" &&
	printf "%s\n" "$out" | sed "1,/^\$/d" >show.txt &&
	diff -u plan.txt show.txt &&
	expect_contains "$(cat show.txt)" "memory: 1 GiB"'

test_expect 'show --json prints what plan --json printed' '
	run_vf plan qs --json && expect_rc 0 && printf "%s\n" "$out" >plan.json &&
	run_vf show p.vfplan --json && expect_rc 0 && printf "%s\n" "$out" >show.json &&
	diff -u plan.json show.json'

test_expect 'the saved file holds the plan as plan --json printed it, and its display hints one change a line' '
	"$PY" - p.vfplan plan.json <<'\''PYEND'\''
import json, sys
saved, plan = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert saved["plan"] == plan, "the saved plan differs from plan --json"
lines = [l for l in open(sys.argv[1]) if l.startswith("      {\"fields\":")]
assert len(lines) == len(plan["changes"]) == 2, lines
PYEND'

test_expect 'a saved plan reformatted by a JSON tool (keys sorted, one line) shows the same plan' '
	"$PY" -c "
import json, sys
json.dump(json.load(open(sys.argv[1])), open(sys.argv[2], \"w\"), sort_keys=True)" p.vfplan sorted.vfplan &&
	run_vf show sorted.vfplan && expect_rc 0 && printf "%s\n" "$out" | sed "1,/^\$/d" >sorted.txt &&
	diff -u plan.txt sorted.txt &&
	run_vf show sorted.vfplan --json && expect_rc 0 && printf "%s\n" "$out" >sorted.json &&
	"$PY" -c "
import json, sys
assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))" plan.json sorted.json'

test_expect 'plan --json -out keeps stdout one JSON document' '
	run_vf plan qs --json -out pj.vfplan && expect_rc 0 &&
	printf "%s\n" "$out" | "$PY" -c "import json, sys; json.load(sys.stdin)" &&
	expect_contains "$err" "Saved the plan to pj.vfplan"'

test_expect 'a plan of nothing to do is saved too' '
	mkdir empty &&
	printf "version: 1\nproject: vfs-empty\nclusters: [{name: local}]\nhosts: [{name: fake, uri: \"test:///default\"}]\n" >empty/v.yaml &&
	run_vf plan empty -out e.vfplan && expect_rc 0 &&
	expect_contains "$out" "No changes." && validate e.vfplan &&
	run_vf show e.vfplan && expect_contains "$out" "No changes." &&
	run_vf apply e.vfplan && expect_rc 0 && expect_contains "$out" "No changes."'

test_expect 'plan --destroy -out records the destroy, and show says so' '
	run_vf plan qs --destroy -out d.vfplan && expect_rc 0 && validate d.vfplan &&
	run_vf show d.vfplan && expect_contains "$out" "Options: --destroy" &&
	"$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"options\"][\"destroy\"] is True" d.vfplan'

test_expect 'apply FILE refuses a configuration changed since, naming the file' '
	cp -r qs qs2 && run_vf plan qs2 -out c.vfplan && expect_rc 0 &&
	sed -i "s/memory: 64MiB/memory: 96MiB/" qs2/virtform.yaml &&
	run_vf apply c.vfplan && expect_rc 1 &&
	expect_contains "$err" "error: the saved plan c.vfplan is stale: the configuration file '\''qs2/virtform.yaml'\'' changed since the plan was made" &&
	expect_contains "$err" "run '\''virtform plan qs2 -out c.vfplan'\'' again and review it" &&
	expect_not_contains "$out" "Apply complete"'

test_expect 'a file added to or removed from the configuration directory is named' '
	cp -r qs qs3 && run_vf plan qs3 -out f.vfplan && expect_rc 0 &&
	printf "vms: [{name: vfs-c, cpus: 1, memory: 64MiB, state: stopped}]\n" >qs3/more.yaml &&
	run_vf apply f.vfplan && expect_rc 1 &&
	expect_contains "$err" "'\''qs3/more.yaml'\'' was added since the plan was made" &&
	rm qs3/more.yaml && run_vf plan qs3 -out f.vfplan && expect_rc 0 &&
	mv qs3/virtform.yaml qs3/renamed.yaml &&
	run_vf apply f.vfplan && expect_rc 1 &&
	expect_contains "$err" "'\''qs3/renamed.yaml'\'' was added" &&
	expect_contains "$err" "'\''qs3/virtform.yaml'\'' is no longer part of the configuration"'

test_expect 'apply FILE runs only the plan that was saved: an edited plan is refused' '
	"$PY" -c "
import json, sys
d = json.load(open(sys.argv[1]))
for f in d[\"plan\"][\"changes\"][0][\"fields\"]:
    if f[\"path\"] == \"memory\": f[\"after\"] = 2 * f[\"after\"]
json.dump(d, open(sys.argv[2], \"w\"))" p.vfplan edited.vfplan &&
	run_vf apply edited.vfplan && expect_rc 1 &&
	expect_contains "$err" "stale: vm.vfs-a: the create planned now differs from the saved one" &&
	expect_not_contains "$out" "Apply complete"'

test_expect 'apply FILE carries the saved plan out without asking' '
	run_vf apply p.vfplan </dev/null && expect_rc 0 &&
	expect_contains "$out" "Applying the saved plan p.vfplan (made " &&
	expect_contains "$out" "vm.vfs-b on fake: created" &&
	expect_contains "$out" "Apply complete: 2 created, 0 updated, 0 replaced, 0 destroyed."'

test_expect 'options that shape the plan are refused with a saved plan' '
	run_vf apply p.vfplan --target vm.vfs-a && expect_rc 1 &&
	expect_contains "$err" "--target cannot be given with the saved plan '\''p.vfplan'\''" &&
	expect_contains "$err" "a saved plan carries its own options" &&
	run_vf apply p.vfplan --allow-replace && expect_rc 1 &&
	expect_contains "$err" "--allow-replace cannot be given" &&
	run_vf apply p.vfplan --skip-unreachable && expect_rc 1 &&
	run_vf destroy p.vfplan && expect_rc 1 &&
	expect_contains "$err" "is a saved plan: carry it out with '\''virtform apply p.vfplan'\''"'

test_expect 'a damaged saved plan is a clear error, nothing runs' '
	head -c 300 p.vfplan >trunc.vfplan &&
	run_vf apply trunc.vfplan && expect_rc 1 &&
	printf "%s\n" "$err" | grep -Eq "trunc.vfplan:[0-9]+:[0-9]+: the saved plan is not valid JSON" &&
	run_vf show trunc.vfplan && expect_rc 1 &&
	"$PY" -c "
import json, sys
d = json.load(open(sys.argv[1])); del d[\"observed\"]
json.dump(d, open(sys.argv[2], \"w\"))" p.vfplan noobs.vfplan &&
	run_vf apply noobs.vfplan && expect_rc 1 &&
	expect_contains "$err" "the saved plan is damaged: observed is missing" &&
	"$PY" -c "
import json, sys
d = json.load(open(sys.argv[1])); del d[\"plan\"][\"changes\"][1][\"action\"]
json.dump(d, open(sys.argv[2], \"w\"))" p.vfplan noaction.vfplan &&
	run_vf show noaction.vfplan && expect_rc 1 &&
	expect_contains "$err" "the saved plan is damaged: change 1 is incomplete" &&
	run_vf apply noaction.vfplan && expect_rc 1 &&
	expect_contains "$err" "change 1 is incomplete" && expect_not_contains "$out" "Apply"'

test_expect 'a newer format_version is refused by name' '
	"$PY" -c "
import json, sys
d = json.load(open(sys.argv[1])); d[\"format_version\"] = 2; d[\"virtform_version\"] = \"9.0.0\"
json.dump(d, open(sys.argv[2], \"w\"))" p.vfplan future.vfplan &&
	run_vf apply future.vfplan && expect_rc 1 &&
	expect_contains "$err" "has format version 2, and this virtform reads version 1" &&
	expect_contains "$err" "9.0.0" &&
	run_vf show future.vfplan && expect_rc 1 &&
	expect_contains "$err" "format version 2"'

test_expect 'show: a missing file, a configuration, no argument' '
	run_vf show nothing.vfplan && expect_rc 1 &&
	expect_contains "$err" "cannot read the saved plan '\''nothing.vfplan'\'': No such file" &&
	run_vf show qs/virtform.yaml && expect_rc 1 &&
	expect_contains "$err" "'\''qs/virtform.yaml'\'' is not a saved plan" &&
	run_vf show && expect_rc 1 && expect_contains "$err" "which saved plan?"'

test_expect 'a saved plan may not be named like a configuration file' '
	run_vf plan qs -out plan.yaml && expect_rc 1 &&
	expect_contains "$err" "a saved plan is JSON" && [ ! -e plan.yaml ]'

test_expect 'apply FILE in another directory than plan ran in is refused clearly' '
	mkdir elsewhere && cp p.vfplan elsewhere/ && (cd elsewhere && "$VIRTFORM" apply p.vfplan) >o.txt 2>e.txt; r=$?;
	[ $r -eq 1 ] && grep -q "relative to the directory plan ran in" e.txt'

test_expect 'help lists show, and plan/apply/destroy document the new options' '
	run_vf help && expect_contains "$out" "  show " &&
	run_vf show --help && expect_rc 0 && expect_contains "$out" "usage: virtform show FILE" &&
	run_vf plan --help && expect_contains "$out" "-out FILE" &&
	expect_contains "$out" "--allow-replace" &&
	run_vf apply --help && expect_contains "$out" "apply FILE" &&
	expect_contains "$out" "--allow-replace" &&
	run_vf destroy --help && expect_contains "$out" "--allow-replace"'

test_done
