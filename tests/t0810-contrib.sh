#!/bin/sh
# contrib/systemd/virtform-drift.{service,timer},
# contrib/systemd/virtform-sync.{service,timer} and contrib/ci/*: the units
# pass `systemd-analyze verify` (a broken copy does not), the timer fires
# every 15 minutes and catches up (Persistent=true), drift's exit 2 is a
# success for the service, and its ExecStart line, expanded as systemd
# does, runs (against libvirt's in-process test driver).  The CI files
# parse as YAML, have the jobs docs/drift.md promises, and every virtform
# command line in them (and the cron line of docs/drift.md) names a
# command and options that virtform accepts: each option appears in that
# command's --help.  The sync service's ExecStart line syncs a repository
# made here (git CLI, test scaffolding) and records an unchanged commit
# once, however often it runs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/git-lib.sh"

PY=/usr/bin/python3
SVC=$TOP/contrib/systemd/virtform-drift.service
TIMER=$TOP/contrib/systemd/virtform-drift.timer
GITLAB=$TOP/contrib/ci/gitlab-ci.yml
GITHUB=$TOP/contrib/ci/github-actions.yml

# unit_value FILE KEY: the value of KEY= (last one wins, as in systemd)
unit_value() { sed -n "s/^$2=//p" "$1" | tail -n 1; }

test_expect 'systemd-analyze verify accepts the service and the timer (and refuses a broken copy)' '
	mkdir -p "$TMP/unit" &&
	sed "s|/usr/local/bin/virtform|$VIRTFORM|" "$SVC" >"$TMP/unit/virtform-drift.service" &&
	cp "$TIMER" "$TMP/unit/" &&
	(cd "$TMP/unit" && systemd-analyze verify ./virtform-drift.service ./virtform-drift.timer) >"$TMP/v.out" 2>&1; rc=$?
	cat "$TMP/v.out"; [ $rc -eq 0 ] && [ ! -s "$TMP/v.out" ] &&
	sed "s|/usr/local/bin/virtform|$TMP/no-such-virtform|" "$SVC" >"$TMP/unit/virtform-drift.service" &&
	! (cd "$TMP/unit" && systemd-analyze verify ./virtform-drift.service ./virtform-drift.timer) >/dev/null 2>&1 &&
	sed "s|^OnCalendar=.*|OnCalendar=every quarter|" "$TIMER" >"$TMP/unit/virtform-drift.timer" &&
	sed "s|/usr/local/bin/virtform|$VIRTFORM|" "$SVC" >"$TMP/unit/virtform-drift.service" &&
	! (cd "$TMP/unit" && systemd-analyze verify ./virtform-drift.timer) >/dev/null 2>&1'

test_expect 'the timer: every 15 minutes, Persistent, a small randomized delay' '
	[ "$(unit_value "$TIMER" Persistent)" = true ] &&
	d=$(unit_value "$TIMER" RandomizedDelaySec) && [ -n "$d" ] && [ "$d" -le 300 ] &&
	cal=$(unit_value "$TIMER" OnCalendar) &&
	systemd-analyze calendar --iterations 3 "$cal" >"$TMP/cal" 2>&1 && cat "$TMP/cal" &&
	"$PY" - "$TMP/cal" <<-PYEOF
	import re, sys, datetime
	times = [datetime.datetime.strptime(m, "%Y-%m-%d %H:%M:%S") for m in
	         re.findall(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", open(sys.argv[1]).read())]
	# the first line is the next elapse in local time, then its UTC, then the iterations
	times = sorted(set(times))
	gaps = {(b - a).total_seconds() for a, b in zip(times, times[1:])}
	assert 900.0 in gaps and all(g % 900 == 0 or g < 86400 for g in gaps), gaps
	assert all(t.minute % 15 == 0 and t.second == 0 for t in times), times
	PYEOF
	'

test_expect 'the service: oneshot, drift (exit 2) is a success, settings from /etc/default/virtform-drift' '
	[ "$(unit_value "$SVC" Type)" = oneshot ] &&
	[ "$(unit_value "$SVC" SuccessExitStatus)" = 2 ] &&
	[ "$(unit_value "$SVC" EnvironmentFile)" = "-/etc/default/virtform-drift" ] &&
	exec_start=$(unit_value "$SVC" ExecStart) &&
	expect_contains "$exec_start" "/usr/local/bin/virtform drift \${VIRTFORM_CONFIG}" &&
	expect_contains "$exec_start" "--notify-command \${VIRTFORM_NOTIFY}" &&
	[ "$(grep -c "^Environment=VIRTFORM_CONFIG=/etc/virtform$" "$SVC")" = 1 ]'

# The ExecStart line as systemd expands it: ${X} one word (maybe empty),
# $X split at whitespace.
mkdir "$TMP/conf"
cat >"$TMP/conf/virtform.yaml" <<'YAML'
version: 1
project: vfd-unit
clusters: [{name: local}]
hosts: [{name: fake, uri: "test:///default"}]
vms: [{name: v, cpus: 1, memory: 64MiB}]
YAML
# run_unit UNIT NAME=VALUE...: UNIT's ExecStart line with those settings,
# expanded as systemd does; sets rc, out, err
run_unit() {
	exec_start=$(unit_value "$1" ExecStart | sed "s|^/usr/local/bin/virtform ||")
	shift
	env "$@" "$PY" - "$exec_start" "$VIRTFORM" >"$TMP/.out" 2>"$TMP/.err" <<-'PYEOF'
	import os, re, subprocess, sys
	words = []
	for w in sys.argv[1].split():
	    m = re.fullmatch(r"\$\{(\w+)\}", w)
	    if m:
	        words.append(os.environ.get(m.group(1), ""))
	    elif w.startswith("$"):
	        words.extend(os.environ.get(w[1:], "").split())
	    else:
	        words.append(w)
	sys.exit(subprocess.call([sys.argv[2]] + words))
	PYEOF
	rc=$?; out=$(cat "$TMP/.out"); err=$(cat "$TMP/.err")
}
run_exec_start() {   # run_exec_start NOTIFY: the drift service's line
	run_unit "$SVC" VIRTFORM_CONFIG="$TMP/conf" \
		VIRTFORM_DRIFT_FLAGS="--lock-timeout=600 --state-dir=$TMP/state" VIRTFORM_NOTIFY="$1"
}

test_expect 'the ExecStart line runs: drift found (exit 2), the notify command gets the JSON' '
	run_exec_start "cat >$TMP/notified.json" && expect_rc 2 &&
	expect_contains "$out" "+ vm.v on fake: not created yet" &&
	"$PY" -c "import json, sys; d = json.load(open(sys.argv[1])); assert d[\"project\"] == \"vfd-unit\" and d[\"drift\"]" "$TMP/notified.json"'

test_expect 'the ExecStart line with the default (empty) notify command runs none' '
	run_exec_start "" && expect_rc 2 && [ -z "$err" ]'

SYNC_SVC=$TOP/contrib/systemd/virtform-sync.service
SYNC_TIMER=$TOP/contrib/systemd/virtform-sync.timer

test_expect 'the sync units pass systemd-analyze verify; 1 minute after boot, then 5 after each run' '
	sed "s|/usr/local/bin/virtform|$VIRTFORM|" "$SYNC_SVC" >"$TMP/unit/virtform-sync.service" &&
	cp "$SYNC_TIMER" "$TMP/unit/" &&
	(cd "$TMP/unit" && systemd-analyze verify ./virtform-sync.service ./virtform-sync.timer) >"$TMP/v.out" 2>&1; rc=$?
	cat "$TMP/v.out"; [ $rc -eq 0 ] && [ ! -s "$TMP/v.out" ] &&
	[ "$(unit_value "$SYNC_TIMER" OnBootSec)" = 1min ] &&
	[ "$(unit_value "$SYNC_TIMER" OnUnitInactiveSec)" = 5min ] &&
	[ "$(unit_value "$SYNC_SVC" Type)" = oneshot ] &&
	[ "$(unit_value "$SYNC_SVC" EnvironmentFile)" = /etc/default/virtform-sync ] &&
	expect_contains "$(unit_value "$SYNC_SVC" ExecStart)" "/usr/local/bin/virtform sync \${VIRTFORM_REPO} --auto-approve \$VIRTFORM_SYNC_FLAGS"'

# a repository whose configuration has nothing to create: every sync of
# one commit is "unchanged" (the test driver forgets between processes)
git_fixture sync infra
printf 'version: 1\nclusters: [{name: local}]\nhosts: [{name: fake, uri: "test:///default"}]\n' \
	>"$W/infra/hosts.yaml"
git -C "$W" add -A && git -C "$W" commit -q -m "hosts only" && git -C "$W" push -q "$R" main
run_sync_exec_start() {   # the sync service's line, on $R
	run_unit "$SYNC_SVC" VIRTFORM_REPO="$R" VIRTFORM_STATE_DIR="$TMP/sync-state" \
		VIRTFORM_SYNC_FLAGS="--path infra --lock-timeout=60"
}

test_expect 'the sync ExecStart line runs; an unchanged commit is recorded once, a new one again' '
	run_sync_exec_start && expect_rc 0 &&
	expect_contains "$out" "commit $(git -C "$W" rev-parse HEAD) hosts only" &&
	run_sync_exec_start && expect_rc 0 && run_sync_exec_start && expect_rc 0 &&
	[ "$(wc -l <"$TMP/sync-state/git-log.jsonl")" -eq 1 ] &&
	echo "# a comment" >>"$W/infra/hosts.yaml" &&
	git -C "$W" commit -q -am "a comment" && git -C "$W" push -q "$R" main &&
	run_sync_exec_start && expect_rc 0 && run_sync_exec_start && expect_rc 0 &&
	[ "$(wc -l <"$TMP/sync-state/git-log.jsonl")" -eq 2 ] &&
	run_vf log --state-dir "$TMP/sync-state" && expect_rc 0 &&
	expect_contains "$(echo "$out" | head -n 1)" "unchanged  a comment" &&
	expect_contains "$(echo "$out" | tail -n 1)" "unchanged  hosts only"'

test_expect 'the CI files parse as YAML and have the validate, plan, apply and drift jobs' '
	"$PY" - "$GITLAB" "$GITHUB" <<-PYEOF
	import sys, yaml
	gl = yaml.safe_load(open(sys.argv[1]))
	for job in ("validate", "plan", "apply", "drift"):
	    assert job in gl, job
	    assert any("virtform" in line for line in gl[job]["script"]), job
	assert "merge_request_event" in str(gl["plan"]["rules"])
	assert set(gl["plan"]["artifacts"]["paths"]) >= {"plan.vfplan", "plan.json", "plan-summary.json"}
	assert "CI_DEFAULT_BRANCH" in str(gl["apply"]["rules"]) and gl["apply"]["needs"] == ["plan"]
	assert "schedule" in str(gl["drift"]["rules"])
	gh = yaml.safe_load(open(sys.argv[2]))
	on = gh.get("on", gh.get(True))       # YAML 1.1 reads the key on: as true
	assert {"pull_request", "push", "schedule"} <= set(on), on
	assert on["schedule"][0]["cron"] == "*/15 * * * *"
	jobs = gh["jobs"]
	assert set(jobs) >= {"plan", "apply", "drift"}
	assert "refs/heads/main" in jobs["apply"]["if"] and jobs["apply"]["needs"] == "plan"
	assert "schedule" in jobs["drift"]["if"]
	paths = [s["with"]["path"] for s in jobs["plan"]["steps"] if "upload-artifact" in s.get("uses", "")]
	assert paths and all(p in paths[0] for p in ("plan.vfplan", "plan.json", "plan-summary.json"))
	PYEOF
	'

# Every "virtform CMD ..." in the CI scripts and the cron line of
# docs/drift.md: CMD, then each option it uses, checked against
# `virtform CMD --help`.
"$PY" - "$GITLAB" "$GITHUB" "$TOP/docs/drift.md" >"$TMP/cmdlines" <<'PYEOF'
import re, shlex, sys, yaml
def strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from strings(v)
    elif isinstance(x, list):
        for v in x:
            yield from strings(v)
texts = []
for f in sys.argv[1:3]:
    texts.extend(strings(yaml.safe_load(open(f))))
# the cron line(s) of the docs: "*/15 * * * * root virtform drift ..."
texts.extend(l for l in open(sys.argv[3]) if re.match(r"^\*/15 ", l))
for t in texts:
    for line in t.splitlines():
        for m in re.finditer(r"(?:^|[;&|({]\s*|\s)virtform\s+([a-z]+)([^|;&>]*)", line):
            words = shlex.split(m.group(2), posix=True) if m.group(2).strip() else []
            opts = [w.split("=")[0] for w in words if w.startswith("-")]
            print(m.group(1), *opts)
PYEOF
n_lines=$(wc -l <"$TMP/cmdlines")
test_expect "the CI files and the docs' cron line use virtform commands ($n_lines lines found)" '
	cat "$TMP/cmdlines" &&
	grep -q "^validate" "$TMP/cmdlines" && grep -q "^plan .*-out" "$TMP/cmdlines" &&
	grep -q "^apply" "$TMP/cmdlines" && grep -q "^show .*--json" "$TMP/cmdlines" &&
	[ "$(grep -c "^drift" "$TMP/cmdlines")" -ge 3 ]'

while read -r cmd opts; do
	test_expect "virtform $cmd $opts: the command and each option exist" '
		run_vf '"$cmd"' --help && expect_rc 0 &&
		for o in '"$opts"'; do
			case "$o" in
			-out) expect_contains "$out" "-out FILE" || exit 1 ;;
			*) printf "%s\n" "$out" | grep -Eq -- "(^|[ ,])$o([ =,]|\$)" ||
				{ echo "virtform '"$cmd"' --help has no $o"; exit 1; } ;;
			esac
		done'
done <"$TMP/cmdlines"

test_expect 'a made-up option would be caught by the same check' '
	run_vf drift --help && ! printf "%s\n" "$out" | grep -Eq -- "(^|[ ,])--fixx([ =,]|\$)"'

test_done
