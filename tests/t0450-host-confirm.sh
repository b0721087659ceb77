#!/bin/sh
# `virtform host apply --confirm-timeout SECONDS` and `virtform host
# confirm --token T`: a change kept only when confirmed in time, rolled
# back by a detached watcher otherwise; another apply refused meanwhile;
# the lock against a concurrent confirm.  Runs in a private network
# namespace (ip netns, needs root) with a veth pair uplink0/uplink0p;
# the namespace and every process started are gone at exit.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/netns-lib.sh"

netns_setup
D=$TMP/st
S=$D/hostnet.json
P=$D/hostnet-pending.json

cat >"$TMP/c.yaml" <<'YAML'
version: 1
clusters: [{name: c1}]
hosts:
  - {name: hyper1, cluster: c1, uri: 'test:///default'}
networks:
  - {name: plain, mode: bridge, uplink: uplink0, mtu: 1400}
YAML
sed 's/mtu: 1400/mtu: 1300/' "$TMP/c.yaml" >"$TMP/mtu.yaml"

apply() { vf host apply --host hyper1 --auto-approve --state-file "$S" "$@"; }
# running PID: the process exists and is not a zombie
running() { st=$(ps -o stat= -p "$1" 2>/dev/null); [ -n "$st" ] && [ "${st#Z}" = "$st" ]; }
# wait_until SECONDS CMD...: poll CMD every 0.1 s; its status at the end
wait_until() {
	_end=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
	while ! "$@"; do
		[ $(( $(date +%s%N) / 1000000 )) -ge "$_end" ] && return 1
		sleep 0.1
	done
}
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

test_expect '--confirm-timeout takes 1..3600 whole seconds' '
	for t in 0 3601 abc 2.5 -1; do
		run_vf host apply --host hyper1 --auto-approve --confirm-timeout $t --state-file "$S" "$TMP/c.yaml"
		expect_rc 1 && expect_contains "$err" "--confirm-timeout '"'"'$t'"'"' is not a whole number of seconds in 1..3600" || exit 1
	done
	[ ! -e "$S" ]'

# 1. a pending change, then confirmed in time
t0=$(now_ms)
out=$(apply --confirm-timeout 3 --json "$TMP/c.yaml" 2>"$TMP/e1")
rc1=$?
t1=$(now_ms)
echo "$out" >"$TMP/a1.json"
pid1=$(jget "$P" pid 2>/dev/null)
token1=$(jget "$P" token 2>/dev/null)

test_expect 'apply --confirm-timeout --json under $(...) returns at once, status pending' '
	cat "$TMP/a1.json" "$TMP/e1"; [ $rc1 -eq 0 ] && [ $((t1 - t0)) -lt 2000 ] &&
	json_check "$TMP/a1.json" "doc[\"status\"] == \"pending\" and len(doc[\"confirm\"][\"token\"]) == 32 and int(doc[\"confirm\"][\"token\"], 16) >= 0 and doc[\"confirm\"][\"timeout\"] == 3 and ($t0 + 999) // 1000 + 3 <= doc[\"confirm\"][\"deadline\"] <= ($t1 + 999) // 1000 + 3 and [c[\"outcome\"] for c in doc[\"changes\"]] == [\"done\", \"done\"]" &&
	grep -q "run '"'"'virtform host confirm --token $token1'"'"' within 3 s" "$TMP/e1"'

test_expect 'the pending file (0600) can roll back alone; the watcher runs detached' '
	[ "$(stat -c %a "$P")" = 600 ] &&
	json_check "$P" "doc[\"status\"] == \"pending\" and doc[\"token\"] == \"$token1\" and doc[\"spec\"][\"host\"] == \"hyper1\" and doc[\"previous_records\"] == {\"links\": []} and [s[\"name\"] for s in doc[\"snapshot\"]] == [\"br-plain\", \"uplink0\"] and [t[\"type\"] for t in doc[\"steps\"]] == [\"created\", \"master\", \"mtu\"] or [t[\"type\"] for t in doc[\"steps\"]] == [\"created\", \"master\"]" &&
	running "$pid1" && [ "$(ps -o sid= -p "$pid1" | tr -d " ")" = "$pid1" ] &&
	[ "$(ls /proc/$pid1/fd | sort | tr "\n" " ")" = "0 1 2 " ] &&
	for fd in 0 1 2; do [ "$(readlink /proc/$pid1/fd/$fd)" = /dev/null ] || exit 1; done &&
	[ "$(link br-plain mtu)" = 1400 ] && [ "$(link uplink0 master)" = br-plain ] &&
	json_check "$S" "doc == {\"links\": [{\"name\": \"br-plain\", \"owner\": \"network plain\"}]}"'

test_expect 'another apply is refused while the change waits (also --last-confirmed, --json)' '
	run_vf host apply --host hyper1 --auto-approve --state-file "$S" "$TMP/mtu.yaml" && expect_rc 1 &&
	expect_contains "$err" "host hyper1: a change applied at " &&
	expect_contains "$err" "waits for confirmation until " &&
	expect_contains "$err" "(token $token1); confirm it with '"'"'virtform host confirm --token $token1'"'"' or wait for its rollback" &&
	vf host apply --last-confirmed --json --state-file "$S" >"$TMP/r.json" 2>/dev/null; rc=$?
	[ $rc -eq 1 ] && json_check "$TMP/r.json" "doc[\"status\"] == \"error\" and \"waits for confirmation\" in doc[\"error\"]" &&
	[ "$(link br-plain mtu)" = 1400 ]'

test_expect 'confirm with another token is refused; nothing changes' '
	run_vf host confirm --token 00000000000000000000000000000000 --state-file "$S" && expect_rc 1 &&
	expect_contains "$err" "token '"'"'00000000000000000000000000000000'"'"' is not the token of the change that waits for confirmation" &&
	[ -e "$P" ] && running "$pid1"'

test_expect 'confirm in time keeps the change: confirmed spec written, pending gone, watcher ends' '
	vf host confirm --token "$token1" --json --state-file "$S" >"$TMP/c1.json"; rc=$?
	cat "$TMP/c1.json"; [ $rc -eq 0 ] &&
	json_check "$TMP/c1.json" "doc == {\"host\": \"hyper1\", \"status\": \"confirmed\"}" &&
	[ ! -e "$P" ] && [ "$(stat -c %a "$D/hostnet-confirmed.json")" = 600 ] &&
	json_check "$D/hostnet-confirmed.json" "doc[\"host\"] == \"hyper1\" and [l[\"name\"] for l in doc[\"links\"]] == [\"uplink0\", \"br-plain\"]" &&
	wait_until 1 eval "! running $pid1"'

test_expect 'after the deadline the confirmed change is still there' '
	sleep 3; [ "$(link br-plain mtu)" = 1400 ] && [ "$(link uplink0 master)" = br-plain ]'

test_expect 'confirm when nothing waits: error' '
	run_vf host confirm --token "$token1" --state-file "$S" && expect_rc 1 &&
	expect_contains "$err" "nothing waits for confirmation on this host"'

# 2. no confirmation: the watcher rolls back by itself at the deadline
t0=$(now_ms)
apply --confirm-timeout 2 --json "$TMP/mtu.yaml" >"$TMP/a2.json" 2>"$TMP/e2"
rc2=$?
pid2=$(jget "$P" pid 2>/dev/null)
token2=$(jget "$P" token 2>/dev/null)
deadline2=$(jget "$P" deadline 2>/dev/null)
mtu_applied=$(link br-plain mtu)
rolled_back() { json_check "$P" "doc[\"status\"] == \"rolled-back\"" >/dev/null 2>&1; }
wait_until 8 rolled_back
t1=$(now_ms)

test_expect 'without confirmation the change is rolled back by itself within deadline + 2 s' '
	cat "$TMP/a2.json" "$TMP/e2" "$P"; [ $rc2 -eq 0 ] && [ "$mtu_applied" = 1300 ] &&
	[ $t1 -le $((deadline2 * 1000 + 2000)) ] && [ $t1 -ge $((t0 + 1900)) ] &&
	json_check "$P" "doc[\"status\"] == \"rolled-back\" and doc[\"rollback\"] == \"complete\" and doc[\"rolled_back_at\"] >= doc[\"deadline\"]" &&
	[ "$(link br-plain mtu)" = 1400 ] && [ "$(link uplink0 master)" = br-plain ] &&
	json_check "$S" "doc == {\"links\": [{\"name\": \"br-plain\", \"owner\": \"network plain\"}]}"'

test_expect 'the watcher is gone right after its deadline' '
	wait_until 1 eval "! running $pid2"'

test_expect 'confirm after the rollback fails and says so' '
	run_vf host confirm --token "$token2" --state-file "$S" && expect_rc 1 &&
	expect_contains "$err" "the change was rolled back at " &&
	expect_contains "$err" ": no confirmation came within 2 s (rollback complete)"'

# 3. the watcher killed: the next apply rolls the expired change back first
apply --confirm-timeout 1 "$TMP/mtu.yaml" >/dev/null 2>&1
pid3=$(jget "$P" pid 2>/dev/null)
kill -9 "$pid3" 2>/dev/null
sleep 2

test_expect 'an expired change whose watcher died is rolled back by the next apply' '
	json_check "$P" "doc[\"status\"] == \"pending\"" && [ "$(link br-plain mtu)" = 1300 ] &&
	ip netns exec "$NS" "$VIRTFORM" host apply --host hyper1 --auto-approve --state-file "$S" "$TMP/c.yaml" >"$TMP/o3" 2>"$TMP/e3"; rc=$?
	cat "$TMP/o3" "$TMP/e3"; [ $rc -eq 0 ] &&
	grep -q "virtform host apply: the unconfirmed change applied at .* was rolled back first: complete" "$TMP/e3" &&
	json_check "$P" "doc[\"status\"] == \"rolled-back\" and doc[\"rollback\"] == \"complete\"" &&
	[ "$(link br-plain mtu)" = 1400 ]'

# 3b. another network namespace never rolls back a change made here
apply --confirm-timeout 1 "$TMP/mtu.yaml" >/dev/null 2>&1
token5=$(jget "$P" token 2>/dev/null)
sleep 0.3
kill -9 "$(jget "$P" pid)" 2>/dev/null
sleep 2

test_expect 'a command run in another network namespace does not roll back this one'"'"'s change' '
	unshare -n "$VIRTFORM" host confirm --token "$token5" --state-file "$S" >"$TMP/o5" 2>"$TMP/e5"; rc=$?
	cat "$TMP/o5" "$TMP/e5"; [ $rc -eq 1 ] &&
	grep -q "the confirmation came after the deadline, and the rollback failed: not done: the change was made in network namespace net:" "$TMP/e5" &&
	json_check "$P" "doc[\"status\"] == \"pending\"" && [ "$(link br-plain mtu)" = 1300 ] &&
	vf host confirm --token "$token5" --state-file "$S" >"$TMP/o6" 2>"$TMP/e6"; rc=$?
	cat "$TMP/e6"; [ $rc -eq 1 ] && grep -q "no confirmation came within 1 s (rollback complete)" "$TMP/e6" &&
	[ "$(link br-plain mtu)" = 1400 ]'

# 4. a confirm holding the lock at the deadline: the watcher waits for it
apply --confirm-timeout 1 "$TMP/mtu.yaml" >/dev/null 2>&1
pid4=$(jget "$P" pid 2>/dev/null)
flock "$D/hostnet.lock" sleep 3 &
lockpid=$!
at_exit "kill $lockpid 2>/dev/null"
sleep 2
held_mtu=$(link br-plain mtu)
held_status=$(jget "$P" status)
wait "$lockpid"
wait_until 2 rolled_back

test_expect 'the watcher takes the lock before it rolls back' '
	echo "held: $held_mtu $held_status"; [ "$held_mtu" = 1300 ] && [ "$held_status" = pending ] &&
	json_check "$P" "doc[\"status\"] == \"rolled-back\"" && [ "$(link br-plain mtu)" = 1400 ] &&
	wait_until 1 eval "! running $pid4"'

# 5. an unconfirmed deletion: the rollback makes the bridge again with its
# own MTU, though its port (uplink0, MTU 1500) would lower it as it joins
grep -v "name: plain" "$TMP/c.yaml" >"$TMP/none.yaml"
ip -n "$NS" link set uplink0 mtu 1500
mtu_before=$(link br-plain mtu)
apply --confirm-timeout 1 "$TMP/none.yaml" >"$TMP/o7" 2>&1
gone=$(link br-plain ifname)
wait_until 4 rolled_back

test_expect 'a deleted bridge comes back with its ports and its own MTU' '
	cat "$TMP/o7"; echo "before: $mtu_before, during: $gone"; [ "$mtu_before" = 1400 ] &&
	[ "$gone" = absent ] && json_check "$P" "doc[\"status\"] == \"rolled-back\" and doc[\"rollback\"] == \"complete\"" &&
	[ "$(link br-plain mtu)" = 1400 ] && [ "$(link uplink0 master)" = br-plain ] &&
	[ "$(link uplink0 mtu)" = 1500 ]'

test_expect 'nothing is left running in the namespace' '
	[ -z "$(ip netns pids "$NS")" ]'

test_done
