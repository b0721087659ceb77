#!/bin/sh
# Crash safety on the lab: apply killed (SIGKILL, VIRTFORM_TEST_KILL) at
# each fault point — an image upload half-sent, a volume just created (the
# image, a clone), a domain just defined, a domain just started — leaves
# its intent journal in the state directory (state.json and the journal
# file beside it); the next plan says what was interrupted
# and completes it without a clash; the next apply converges; and nothing
# is duplicated, orphaned or half-made: each VM on exactly one of the four
# lab hosts, each volume once, the uploaded image byte for byte the file,
# no vfc- object but the config's, nothing pending.  Then an apply killed
# from outside (kill -9) during a large upload, and a re-apply that gets
# the lock at once and converges with the right content.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
lab_config

# Two of the lab's hosts in the config; all of them (lab up 4: four) are
# checked for duplicates and leftovers.
LAB_HOSTS=$(sed -n 's/^lab\([0-9][0-9]*\)$/\1/p' "$LAB_DIR/hosts")
cat >"$CONF/hosts.yaml" <<EOF
hosts:
  - {name: lab1, cluster: lab, uri: "$(lab_uri 1)", insecure_transport: true}
  - {name: lab2, cluster: lab, uri: "$(lab_uri 2)", insecure_transport: true}
EOF

# A small image of random bytes (so a partial upload differs from it).
head -c 3M /dev/urandom >"$TMP/small.raw"
# A large one for the external kill: random head and tail, zeros between.
head -c 1M /dev/urandom >"$TMP/big.raw"
truncate -s 511M "$TMP/big.raw"
head -c 1M /dev/urandom >>"$TMP/big.raw"

IMAGE=$TMP/small.raw
# the images live in $TMP, outside the configuration: the operator allows it
export VIRTFORM_IMAGE_PATH="$TMP"
# vfc-a is pinned (its objects have fixed addresses); vfc-b goes where the
# scheduler puts it, and stays there.
write_conf() {
	cat >"$CONF/main.yaml" <<EOF
version: 1
project: vfc
clusters: [{name: lab}]
networks:
  - name: vfc-net
    mode: isolated
    ipv4: {address: 172.30.233.1/24, dhcp: {start: 172.30.233.100, end: 172.30.233.200}}
storage_domains:
  - {name: vfc-data, type: dir, path: /var/lib/libvirt/virtform/vfc-data}
images:
  - {name: vfc-img, file: $IMAGE, storage: vfc-data, format: raw}
vms:
  - name: vfc-a
    host: lab1
    cpus: 1
    memory: 64MiB
    shutdown_timeout: 2
    disks: [{name: root, storage: vfc-data, image: vfc-img}]
    nics: [{network: vfc-net}]
  - name: vfc-b
    cpus: 1
    memory: 96MiB
    shutdown_timeout: 2
    disks: [{name: root, storage: vfc-data, image: vfc-img}]
    nics: [{network: vfc-net}]
EOF
}
write_conf

# Everything vfc- on the lab hosts, one "HOST KIND NAME" a line.
lab_objects() {
	for i in $LAB_HOSTS; do
		lab_virsh $i list --all --name | sed -n "s/^\(vfc-.*\)/lab$i domain \1/p"
		lab_virsh $i net-list --all --name | sed -n "s/^\(vfc-.*\)/lab$i network \1/p"
		for p in $(lab_virsh $i pool-list --all --name); do
			case $p in vfc-*) ;; *) continue ;; esac
			echo "lab$i pool $p"
			lab_virsh $i vol-list "$p" 2>/dev/null | awk -v h=lab$i -v p="$p" \
				'$1 ~ /^vfc-/ { print h " volume " p "/" $1 }'
		done
	done | sort
}

# Leave nothing vfc- behind: destroy (twice: a first one may meet a
# half-made object), then whatever is still there, by name.
cleanup() {
	IMAGE=$TMP/small.raw; write_conf
	"$VIRTFORM" destroy "$CONF" --auto-approve --state-dir "$STATE" >/dev/null 2>&1 ||
		"$VIRTFORM" destroy "$CONF" --auto-approve --state-dir "$STATE" >/dev/null 2>&1
	lab_objects | while read -r h kind name; do
		i=${h#lab}
		case $kind in
		domain) lab_undefine "$i" "$name" ;;
		network) lab_virsh "$i" net-destroy "$name"; lab_virsh "$i" net-undefine "$name" ;;
		volume) lab_virsh "$i" vol-delete "${name#*/}" --pool "${name%%/*}" ;;
		esac >/dev/null 2>&1
	done
	lab_objects | while read -r h kind name; do
		[ "$kind" = pool ] || continue
		lab_virsh "${h#lab}" pool-destroy "$name"; lab_virsh "${h#lab}" pool-undefine "$name"
	done >/dev/null 2>&1
	rm -rf "$STATE"
}
at_exit cleanup
cleanup

# The host vfc-b is on (from the lab, not from virtform).
host_of() {
	lab_objects | awk -v n="$1" '$2 == "domain" && $3 == n { print $1 }'
}

# converged IMAGE_FILE: the lab holds exactly what the config describes,
# once, the images carry the file's bytes, and nothing is pending.
converged() {
	ha=$(host_of vfc-a); hb=$(host_of vfc-b)
	[ "$ha" = lab1 ] || { echo "vfc-a is on '$ha', not exactly once on lab1"; lab_objects; return 1; }
	case $hb in lab1|lab2) ;; *) echo "vfc-b is on '$hb'"; lab_objects; return 1 ;; esac
	{
		for h in lab1 lab2; do
			echo "$h network vfc-net"
			echo "$h pool vfc-data"
		done
		echo "lab1 domain vfc-a"
		echo "lab1 volume vfc-data/vfc-a-root"
		echo "lab1 volume vfc-data/vfc-img"
		echo "$hb domain vfc-b"
		echo "$hb volume vfc-data/vfc-b-root"
		[ "$hb" = lab1 ] || echo "$hb volume vfc-data/vfc-img"
	} | sort >"$TMP/want"
	lab_objects >"$TMP/have"
	diff -u "$TMP/want" "$TMP/have" || { echo "the lab differs from the config (- missing, + extra)"; return 1; }
	for h in $(printf '%s\n' lab1 "$hb" | sort -u); do
		lab_virsh "${h#lab}" vol-download vfc-img --pool vfc-data "$TMP/got.img" &&
		cmp "$1" "$TMP/got.img" ||
			{ echo "vfc-img on $h is not the bytes of $1"; return 1; }
		rm -f "$TMP/got.img"
	done
	[ "$(lab_virsh "${hb#lab}" domstate vfc-b)" = running ] &&
	[ "$(lab_virsh 1 domstate vfc-a)" = running ] ||
		{ echo "a VM is not running"; return 1; }
	! grep -q '"pending' "$STATE/state.json" ||
		{ echo "state.json still has a pending entry:"; cat "$STATE/state.json"; return 1; }
	[ ! -e "$STATE/journal" ] ||
		{ echo "the journal is still there:"; cat "$STATE/journal"; return 1; }
}

# state_view ADDRESS: what the next run finds for ADDRESS in the state
# directory as a kill left it — state.json, with the records of the
# journal beside it that name its serial replayed on top (a last line
# without its newline was cut short: ignored) — one line: "ACTION SINCE"
# when an action on it is pending, "recorded" when it is not, "absent".
state_view() {
	/usr/bin/python3 - "$STATE" "$1" <<'PY'
import json, os, sys
d, addr = sys.argv[1], sys.argv[2]
try:
    state = json.load(open(os.path.join(d, "state.json")))
except FileNotFoundError:
    state = {}
records = {r["address"]: r for r in state.get("resources", [])}
try:
    lines = open(os.path.join(d, "journal")).read().split("\n")[:-1]
except FileNotFoundError:
    lines = []
for line in lines:
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("serial") != state.get("serial", 0):
        continue
    if r["event"] == "end" and r["entry"] is None:
        records.pop(r["address"], None)
        continue
    e = dict(r["entry"], address=r["address"])
    if r["event"] == "begin":
        e["pending"], e["pending_since"] = r["action"], r.get("since", "")
    records[r["address"]] = e
e = records.get(addr)
if e is None:
    print("absent")
elif e.get("pending"):
    print(e["pending"], e.get("pending_since", ""))
else:
    print("recorded")
PY
}

# pending_in_state ADDRESS ACTION: the journal says ACTION on ADDRESS
# began (since a UTC time) and never ended.
pending_in_state() {
	_view=$(state_view "$1")
	case $_view in
	"$2 "*Z) ;;
	*) echo "$1: '$_view', not pending $2 since a time"; cat "$STATE/state.json" "$STATE/journal"; return 1 ;;
	esac
}

# crash POINT ADDRESS: fresh state, apply killed at POINT of ADDRESS; the
# journal names the action cut short; the next plan says so and completes
# it (no clash); apply converges; plan is then empty.
crash() {
	_point=$1 _addr=$2
	cleanup
	VIRTFORM_TEST_KILL="$_point:$_addr" "$VIRTFORM" apply "$CONF" --auto-approve \
		--state-dir "$STATE" >"$TMP/killed.out" 2>"$TMP/killed.err"
	rc=$?
	[ "$rc" -eq 137 ] || { echo "apply exited $rc, not 137 (SIGKILL)"; cat "$TMP/killed.out" "$TMP/killed.err"; return 1; }
	grep -q "VIRTFORM_TEST_KILL: killed at $_point of $_addr" "$TMP/killed.err" || return 1
	pending_in_state "$_addr" create || return 1
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "an earlier apply was interrupted (since " &&
	expect_contains "$out" "during create of $_addr; this plan completes it" &&
	expect_not_contains "$err" "does not manage" || return 1
	printf '%s\n' "$out" >"$TMP/plan.out"
	vf apply "$CONF" --auto-approve && expect_rc 0 &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0 &&
	expect_not_contains "$out" "interrupted" &&
	converged "$TMP/small.raw"
}

test_expect 'killed after the first chunk of an upload: the image is uploaded again, whole' '
	crash volume-upload volume.vfc-img@lab1 &&
	grep -q -- "-/+ replace volume.vfc-img@lab1" "$TMP/plan.out" &&
	grep -q "an interrupted apply left its upload incomplete" "$TMP/plan.out" ||
		{ cat "$TMP/plan.out"; exit 1; }'

test_expect 'killed right after an image volume was created: it is filled, not taken as done' '
	crash volume-create volume.vfc-img@lab1 &&
	grep -q -- "-/+ replace volume.vfc-img@lab1" "$TMP/plan.out" || { cat "$TMP/plan.out"; exit 1; }'

test_expect 'killed right after a clone was created: it is managed, not a clash nor a duplicate' '
	crash volume-create volume.vfc-a-root@lab1 &&
	! grep -Eq "^(\+|~|-/\+|-) +[a-z]+ +volume.vfc-a-root@lab1" "$TMP/plan.out" ||
		{ cat "$TMP/plan.out"; exit 1; }'

test_expect 'killed right after define: the VM found by its marker is started, not redefined' '
	crash define vm.vfc-b &&
	grep -q ">   start   vm.vfc-b on lab" "$TMP/plan.out" &&
	! grep -q "+   create  vm.vfc-b" "$TMP/plan.out" || { cat "$TMP/plan.out"; exit 1; }'

test_expect 'killed right after start: nothing left to do for the VM' '
	crash start vm.vfc-b &&
	! grep -q "vm.vfc-b on" "$TMP/plan.out" || { cat "$TMP/plan.out"; exit 1; }'

# From outside: kill -9 as soon as the image volume exists on the host
# (its upload has begun or is about to); wherever the kill lands, the next
# apply must end with the image whole.
test_expect 'kill -9 from outside during a large upload: the lock is free at once, re-apply converges' '
	cleanup && IMAGE=$TMP/big.raw && write_conf || exit 1
	"$VIRTFORM" apply "$CONF" --auto-approve --state-dir "$STATE" >"$TMP/ext.out" 2>&1 &
	pid=$!
	for i in $(seq 600); do
		lab_virsh 1 vol-list vfc-data 2>/dev/null | grep -q "^ *vfc-img " && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	kill -9 $pid
	wait $pid; rc=$?
	[ "$rc" -eq 137 ] || { echo "apply was not killed (exit $rc)"; cat "$TMP/ext.out"; exit 1; }
	lab_virsh 1 vol-list vfc-data | grep -q "^ *vfc-img " || exit 1
	[ "$(state_view volume.vfc-img@lab1)" != absent ] ||
		{ cat "$STATE/state.json" "$STATE/journal"; exit 1; }
	vf apply "$CONF" --auto-approve --lock-timeout 0 && expect_rc 0 &&
	vf plan "$CONF" --detailed-exitcode && expect_rc 0 &&
	converged "$TMP/big.raw"'

test_expect 'destroy leaves nothing vfc- on any lab host' '
	vf destroy "$CONF" --auto-approve && expect_rc 0 &&
	lab_objects >"$TMP/left" &&
	[ ! -s "$TMP/left" ] || { cat "$TMP/left"; exit 1; }'

test_done
