#!/bin/sh
# The git hooks on the lab (docs/gitops.md, Hooks): a bare repository made
# by the test with `virtform hooks install --server`, pushes with the git
# CLI (test scaffolding).  An invalid commit is rejected by pre-receive with
# its errors and the ref does not move; a valid one is accepted and synced
# by post-receive, and its VM appears on a lab host; with
# --verify-signatures an unsigned commit is refused and a signed one
# applied; a force push is refused; pre-commit refuses an invalid staged
# config even when the work tree is fixed; hooks installed with
# --secret-key FILE apply a pushed configuration with a sealed cloud-init
# password, and the clear password appears nowhere (the push's output, the
# state, the log, the seed ISO).  Every object is named vfh6-* in projects
# vfh6 and vfh6-sealed; the test removes what it made.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/git-lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
at_exit 'lab_undefine 1 vfh6-web; lab_undefine 2 vfh6-db'

git_fixture vfh6 lab
lab_example_hosts "$W/lab"
write_vms() {   # write_vms WEB_MEMORY [DB_LINE]
	cat >"$W/lab/vms.yaml" <<EOF
version: 1
project: vfh6
clusters: [{name: lab}]
vms:
  - {name: vfh6-web, host: lab1, cpus: 1, memory: $1, state: stopped, shutdown_timeout: 1}
${2:-}
EOF
}
commit() { git -C "$W" add -A && git -C "$W" commit -q --no-verify -m "$1"; }
short() { echo "$1" | cut -c1-7; }

ssh_key good && allow_key good
sign() { signed_commit good --no-verify --amend --no-edit; }

test_expect 'hooks install --server with signatures, auto-approve and the state dir' '
	run_vf hooks install --server "$R" --state-dir "$S" --path lab --auto-approve \
		--verify-signatures --allowed-signers "$TMP/allowed" && expect_rc 0 &&
	[ -x "$R/hooks/pre-receive" ] && [ -x "$R/hooks/post-receive" ]'

write_vms 128MiB && commit "vfh6-web with 128 MiB" && sign
C1=$(git -C "$W" rev-parse HEAD)
test_expect 'a valid signed push is synced by post-receive: the VM appears on lab1' '
	push "$R" main && expect_rc 0 &&
	expect_contains "$err" "remote: Good signature by '\''ops@example.org'\''" &&
	expect_contains "$err" "remote: commit $C1 vfh6-web with 128 MiB" &&
	expect_contains "$err" "remote: Apply complete: 1 created" &&
	[ "$(head_of main)" = "$C1" ] &&
	lab_virsh 1 dominfo vfh6-web | grep -q "^Max memory: *131072 KiB"'

write_vms 2G && commit "vfh6-web: a broken memory" && sign
CB=$(git -C "$W" rev-parse --short=7 HEAD)
test_expect 'an invalid commit is rejected with its errors; the ref and the VM stay' '
	push "$R" main && expect_rc 1 &&
	expect_contains "$err" "remote: $CB:lab/vms.yaml:5:" &&
	expect_contains "$err" "memory '\''2G'\'' needs a binary unit" &&
	expect_contains "$err" "remote: virtform pre-receive: error: refs/heads/main: rejected" &&
	expect_contains "$err" "pre-receive hook declined" &&
	[ "$(head_of main)" = "$C1" ] &&
	lab_virsh 1 dominfo vfh6-web | grep -q "^Max memory: *131072 KiB"'

git -C "$W" reset -q --hard "$C1"
write_vms 128MiB "  - {name: vfh6-db, host: lab2, cpus: 1, memory: 64MiB, state: stopped, shutdown_timeout: 1}"
commit "vfh6-db, unsigned"
CU=$(git -C "$W" rev-parse --short=7 HEAD)
test_expect 'an unsigned commit is refused with --verify-signatures' '
	push "$R" main && expect_rc 1 &&
	expect_contains "$err" "remote: virtform pre-receive: error: $CU: commit '\''vfh6-db, unsigned'\'' is not signed" &&
	[ "$(head_of main)" = "$C1" ] &&
	! lab_virsh 2 dominfo vfh6-db >/dev/null 2>&1'

sign
C2=$(git -C "$W" rev-parse HEAD)
test_expect 'the same commit signed is accepted and applied: vfh6-db on lab2' '
	push "$R" main && expect_rc 0 &&
	expect_contains "$err" "remote: commit $C2 vfh6-db, unsigned" &&
	expect_contains "$err" "remote: Apply complete: 1 created" &&
	[ "$(head_of main)" = "$C2" ] &&
	lab_virsh 2 dominfo vfh6-db >/dev/null'

git -C "$W" reset -q --hard "$C1"
write_vms 192MiB && commit "vfh6-web to 192 MiB, rewritten" && sign
CR=$(git -C "$W" rev-parse HEAD)
test_expect 'a force push (rewind) is refused; nothing changes on the lab' '
	push -f "$R" main && expect_rc 1 &&
	expect_contains "$err" "error: refs/heads/main is protected: $(short "$CR") is not a descendant of $(short "$C2")" &&
	[ "$(head_of main)" = "$C2" ] &&
	lab_virsh 1 dominfo vfh6-web | grep -q "^Max memory: *131072 KiB" &&
	lab_virsh 2 dominfo vfh6-db >/dev/null'

test_expect 'virtform log lists the two syncs' '
	run_vf log --state-dir "$S" && expect_rc 0 &&
	[ "$(echo "$out" | wc -l)" -eq 2 ] &&
	expect_contains "$(echo "$out" | sed -n 1p)" "applied    vfh6-db, unsigned" &&
	expect_contains "$(echo "$out" | sed -n 2p)" "applied    vfh6-web with 128 MiB"'

git -C "$W" reset -q --hard "$C2"
test_expect 'pre-commit refuses an invalid staged config even when the work tree is fixed' '
	run_vf hooks install "$W" --path lab && expect_rc 0 &&
	write_vms 2G && git -C "$W" add lab/vms.yaml && write_vms 256MiB &&
	(cd "$W" && git commit -q -m "staged is broken") >"$TMP/.out" 2>"$TMP/.err"; rc=$?; err=$(cat "$TMP/.err") &&
	[ "$rc" -ne 0 ] &&
	expect_contains "$err" ":0:lab/vms.yaml:5:" &&
	expect_contains "$err" "virtform pre-commit: error: the staged configuration is invalid" &&
	[ "$(git -C "$W" rev-parse HEAD)" = "$C2" ] &&
	git -C "$W" add lab/vms.yaml &&
	(cd "$W" && git commit -q -m "vfh6-web to 256 MiB") >"$TMP/.out" 2>"$TMP/.err" &&
	[ "$(git -C "$W" rev-parse HEAD)" != "$C2" ]'

test_expect 'destroy --git removes what the test made' '
	run_vf destroy --git "$R" --path lab --state-dir "$S" --auto-approve && expect_rc 0 &&
	expect_contains "$out" "2 destroyed" &&
	! lab_virsh 1 dominfo vfh6-web >/dev/null 2>&1 &&
	! lab_virsh 2 dominfo vfh6-db >/dev/null 2>&1'

# ---- a sealed value applied by a push ---------------------------------------------
seal_keys
PW='vfh6-S3cret-pw-7304'
SEALED=$(seal "$PW")
RS="$TMP/vfh6-sealed.git" SS="$TMP/state-sealed"
git init -q --bare "$RS"
at_exit '"$VIRTFORM" destroy --git "$RS" --path lab --state-dir "$SS" --auto-approve >/dev/null 2>&1'
git -C "$W" checkout -q --orphan sealed
cat >"$W/lab/vms.yaml" <<EOF
version: 1
project: vfh6-sealed
clusters: [{name: lab}]
storage_domains:
  - {name: vfh6-data, type: dir, path: /var/lib/libvirt/virtform/vfh6-data}
vms:
  - name: vfh6-ci
    host: lab1
    cpus: 1
    memory: 128MiB
    state: stopped
    shutdown_timeout: 1
    disks: [{name: root, size: 64MiB, storage: vfh6-data}]
    cloud_init:
      hostname: vfh6-ci
      users: [{name: ops, password: {sealed: "$SEALED"}}]
EOF
git -C "$W" add -A lab && commit "vfh6-ci with a sealed password"
CS=$(git -C "$W" rev-parse HEAD)

test_expect 'hooks with --secret-key FILE: a push of a sealed password is applied by post-receive' '
	run_vf hooks install --server "$RS" --state-dir "$SS" --path lab --auto-approve \
		--secret-key "$TMP/keys/virtform.key" && expect_rc 0 &&
	push "$RS" sealed:main && expect_rc 0 &&
	expect_contains "$err" "remote: commit $CS vfh6-ci with a sealed password" &&
	expect_contains "$err" "cloud_init: (a seed for the first boot, with sealed values)" &&
	expect_contains "$err" "remote: Apply complete: 6 created" &&
	expect_not_contains "$err" "FAILED" &&
	lab_virsh 1 dominfo vfh6-ci >/dev/null &&
	lab_virsh 1 vol-info --pool vfh6-data vfh6-ci-cidata.iso >/dev/null &&
	printf "%s\n%s\n" "$out" "$err" >"$TMP/push-output.txt"'

test_expect 'the clear password is nowhere: output, state, log, hooks; the seed holds its hash' '
	lab_virsh 1 vol-download --pool vfh6-data vfh6-ci-cidata.iso "$TMP/seed.iso" &&
	{ grep -a -q -F "\$6\$" "$TMP/seed.iso" || { echo "no password hash in the seed"; false; }; } &&
	run_vf log --state-dir "$SS" && expect_rc 0 &&
	expect_contains "$out" "applied    vfh6-ci with a sealed password" &&
	printf "%s\n%s\n" "$out" "$err" >"$TMP/log-output.txt" &&
	! grep -r -a -l "$PW" "$TMP/push-output.txt" "$TMP/log-output.txt" "$SS" "$RS" "$TMP/seed.iso"'

test_done
