#!/bin/sh
# Two applies at once on one state (the lab): the state's flock lets one
# run; the other fails after its --lock-timeout naming the holder, or,
# given time enough, waits and then finds nothing left to do.  A holder
# killed with kill -9 frees the lock at once — the kernel drops a dead
# process's flock; nothing guesses at stale locks — and the next apply
# finishes what it was doing (its journal, the file beside state.json,
# says so; that apply folds it into state.json and removes it).
#
# No timing decides a result: the VM's guest never boots, so a stop waits
# its whole shutdown_timeout (8 s) before forcing it off, far longer than
# the 1 s lock timeout it is raced against.  (t3300 covers an apply
# holding the lock at its confirmation prompt.)
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
lab_config

cat >"$CONF/hosts.yaml" <<EOF
hosts:
  - {name: lab1, cluster: lab, uri: "$(lab_uri 1)", insecure_transport: true}
EOF

write_conf() {   # write_conf running|stopped
	cat >"$CONF/main.yaml" <<EOF
version: 1
project: vfc-conc
clusters: [{name: lab}]
vms:
  - name: vfc-c1
    host: lab1
    cpus: 1
    memory: 64MiB
    shutdown_timeout: 8
    state: $1
EOF
}

at_exit 'write_conf stopped; "$VIRTFORM" destroy "$CONF" --auto-approve --state-dir "$STATE" >/dev/null 2>&1; lab_undefine 1 vfc-c1'
lab_undefine 1 vfc-c1

# race NAME...: start one apply per NAME at once, in the background; each
# one's output in $TMP/NAME.out, its pid in $TMP/NAME.pid, its exit status
# in $TMP/NAME.rc once it ends.  ARGS are in $RACE_ARGS.
race() {
	for _n in "$@"; do
		( "$VIRTFORM" apply "$CONF" --auto-approve --state-dir "$STATE" $RACE_ARGS \
			>"$TMP/$_n.out" 2>&1 &
		  echo $! >"$TMP/$_n.pid"; wait $!; echo $? >"$TMP/$_n.rc" ) &
	done
	wait
}
show() { for _n in "$@"; do echo "--- $_n: exit $(cat "$TMP/$_n.rc")"; cat "$TMP/$_n.out"; done; }

domstate() { lab_virsh 1 domstate vfc-c1; }

test_expect 'setup: the VM runs' '
	write_conf running &&
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	[ "$(domstate)" = running ]'

test_expect 'two applies at once: one runs, the other fails after its --lock-timeout naming it' '
	write_conf stopped &&
	RACE_ARGS="--lock-timeout 1" race one two &&
	if [ "$(cat "$TMP/one.rc")" = 0 ]; then win=one lose=two; else win=two lose=one; fi &&
	[ "$(cat "$TMP/$win.rc")" = 0 ] && [ "$(cat "$TMP/$lose.rc")" = 1 ] &&
	grep -q "Apply complete: .*, 0 started, 1 stopped" "$TMP/$win.out" &&
	grep -q "is locked by pid $(cat "$TMP/$win.pid") (virtform apply) since " "$TMP/$lose.out" &&
	grep -q -- "--lock-timeout" "$TMP/$lose.out" &&
	! grep -q "Apply complete" "$TMP/$lose.out" &&
	[ "$(domstate)" = "shut off" ] || { show one two; exit 1; }'

test_expect 'given time enough, the second waits for the first, then finds nothing to do' '
	write_conf running &&
	RACE_ARGS="--lock-timeout 120" race one two &&
	if grep -q "Apply complete" "$TMP/one.out"; then win=one wait=two; else win=two wait=one; fi &&
	[ "$(cat "$TMP/one.rc")" = 0 ] && [ "$(cat "$TMP/two.rc")" = 0 ] &&
	grep -q "Apply complete: .*, 1 started, 0 stopped" "$TMP/$win.out" &&
	grep -q "No changes. Infrastructure matches the configuration." "$TMP/$wait.out" &&
	! grep -q "Apply complete" "$TMP/$wait.out" &&
	[ "$(domstate)" = running ] || { show one two; exit 1; }'

# stop_begun: the journal (the file beside state.json) has the record of
# the stop of vm.vfc-c1 beginning, and none of its end.
stop_begun() {
	/usr/bin/python3 - "$STATE/journal" <<'PY'
import json, sys
try:
    lines = open(sys.argv[1]).read().split("\n")[:-1]
except FileNotFoundError:
    sys.exit(1)
begun = False
for line in lines:
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("address") == "vm.vfc-c1":
        begun = r.get("event") == "begin" and r.get("action") == "stop"
sys.exit(0 if begun else 1)
PY
}

test_expect 'a holder killed with kill -9 frees the lock at once; the next apply finishes its stop' '
	write_conf stopped &&
	"$VIRTFORM" apply "$CONF" --auto-approve --state-dir "$STATE" >"$TMP/holder.out" 2>&1 &
	pid=$!
	# the journal says the stop has begun: the holder is inside it
	for i in $(seq 300); do
		stop_begun && break
		sleep 0.1
	done
	stop_begun &&
	grep -q "^pid $pid (virtform apply) since " "$STATE/lock" || { cat "$TMP/holder.out"; exit 1; }
	kill -9 $pid; wait $pid; rc=$?
	[ "$rc" -eq 137 ] || { echo "the holder exited $rc, not by SIGKILL"; exit 1; }
	vf apply "$CONF" --auto-approve --lock-timeout 0 && expect_rc 0 &&
	expect_contains "$out" "an earlier apply was interrupted (since " &&
	expect_contains "$out" "during stop of vm.vfc-c1" &&
	expect_contains "$out" "0 started, 1 stopped" &&
	[ "$(domstate)" = "shut off" ] &&
	! grep -q "\"pending" "$STATE/state.json" && [ ! -e "$STATE/journal" ] &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0'

test_expect 'destroy leaves no vfc-c1' '
	vf destroy "$CONF" --auto-approve && expect_rc 0 &&
	! lab_virsh 1 dominfo vfc-c1 >/dev/null 2>&1'

test_done
