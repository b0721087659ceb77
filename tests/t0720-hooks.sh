#!/bin/sh
# The git hooks (docs/gitops.md, Hooks): `virtform hooks install` writes
# them, `virtform hook NAME` runs them.  Bare repositories made here,
# pushes and commits with the git CLI (test scaffolding; virtform reads the
# repositories with libgit2): pre-receive rejects invalid, unsigned,
# rewinding and deleting pushes to protected refs (reading the pushed
# objects from git's quarantine), post-receive syncs what it accepted,
# pre-commit checks the index, not the work tree.  No lab: the host is
# libvirt's in-process test driver.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/git-lib.sh"

git_fixture repo infra
# virtform run by the hooks is the one under test
VF=$(cd "$(dirname "$VIRTFORM")" && pwd)/$(basename "$VIRTFORM")
commit() { git -C "$W" add -A && git -C "$W" commit -q --no-verify -m "$1"; }

test_expect 'hooks install --server writes pre-receive and post-receive' '
	run_vf hooks install --server "$R" --state-dir "$S" --path infra --auto-approve &&
	expect_rc 0 &&
	expect_contains "$out" "Installed $R/hooks/pre-receive" &&
	expect_contains "$out" "Installed $R/hooks/post-receive" &&
	[ "$(stat -c %a "$R/hooks/pre-receive")" = 755 ] &&
	[ "$(stat -c %a "$R/hooks/post-receive")" = 755 ] &&
	[ ! -e "$R/hooks/pre-commit" ] &&
	grep -qx "# virtform-hook: pre-receive .*" "$R/hooks/pre-receive" &&
	grep -qx "exec '\''$VF'\'' '\''hook'\'' '\''pre-receive'\'' '\''--path'\'' '\''infra'\''" "$R/hooks/pre-receive" &&
	grep -qx "exec '\''$VF'\'' '\''hook'\'' '\''post-receive'\'' '\''--path'\'' '\''infra'\'' '\''--state-dir'\'' '\''$S'\'' '\''--auto-approve'\''" "$R/hooks/post-receive"'

test_expect 'install refuses a hook it did not write, and options without --server' '
	printf "#!/bin/sh\nexit 0\n" >"$W/.git/hooks/pre-commit" &&
	run_vf hooks install "$W" --path infra && expect_rc 1 &&
	expect_contains "$err" "'\''$W/.git/hooks/pre-commit'\'' exists and was not written by virtform" &&
	grep -q "^exit 0" "$W/.git/hooks/pre-commit" &&
	run_vf hooks install "$W" --state-dir "$S" && expect_rc 1 &&
	expect_contains "$err" "give --server too" &&
	run_vf hooks install --server "$R" && expect_rc 1 &&
	expect_contains "$err" "--server needs --state-dir DIR" &&
	run_vf hooks install "$TMP" && expect_rc 1 &&
	expect_contains "$err" "is not a git repository"'

vm_yaml 64MiB >"$W/infra/vms.yaml" && commit "v with 64 MiB"
C1=$(git -C "$W" rev-parse HEAD)
test_expect 'a valid push is accepted and synced by post-receive' '
	push "$R" main && expect_rc 0 &&
	expect_contains "$err" "remote: virtform pre-receive: refs/heads/main: 1 new commit checked: ok" &&
	expect_contains "$err" "remote: commit $C1 v with 64 MiB" &&
	expect_contains "$err" "remote: Apply complete: 1 created" &&
	[ "$(head_of main)" = "$C1" ] &&
	run_vf log --state-dir "$S" && expect_rc 0 &&
	expect_contains "$out" "applied    v with 64 MiB"'

bad_yaml >"$W/infra/vms.yaml" && commit "broken memory"
CB=$(git -C "$W" rev-parse --short=7 HEAD)
test_expect 'an invalid commit is rejected with its errors; the ref does not move' '
	push "$R" main && expect_rc 1 &&
	expect_contains "$err" "remote: $CB:infra/vms.yaml:4:32: error: vm '\''x'\'': memory '\''2G'\'' needs a binary unit" &&
	expect_contains "$err" "remote: virtform pre-receive: error: refs/heads/main: rejected: new commit 1 of 1 refused; fix it and push again" &&
	expect_contains "$err" "pre-receive hook declined" &&
	expect_not_contains "$err" "Apply complete" &&
	[ "$(head_of main)" = "$C1" ]'

test_expect 'every new commit is checked, not only the tip' '
	vm_yaml 96MiB >"$W/infra/vms.yaml" && commit "fixed on top" &&
	push "$R" main && expect_rc 1 &&
	expect_contains "$err" "remote: $CB:infra/vms.yaml:4:32: error:" &&
	expect_contains "$err" "rejected: new commit 1 of 2 refused (the 1 after it not checked)" &&
	[ "$(head_of main)" = "$C1" ]'
git -C "$W" reset -q --hard "$C1"

# a push is hostile input: the first refusal ends the checks
bad_yaml >"$W/infra/vms.yaml" && commit "first broken"
CB1=$(git -C "$W" rev-parse --short=7 HEAD)
bad_yaml | sed 's/2G/3G/' >"$W/infra/vms.yaml" && commit "second broken"
CB2=$(git -C "$W" rev-parse --short=7 HEAD)
test_expect 'pre-receive stops at the first refused commit; the later ones are not loaded' '
	push "$R" main && expect_rc 1 &&
	expect_contains "$err" "remote: $CB1:infra/vms.yaml:4:32: error:" &&
	expect_not_contains "$err" "$CB2:infra/vms.yaml" &&
	expect_contains "$err" "rejected: new commit 1 of 2 refused (the 1 after it not checked)" &&
	[ "$(head_of main)" = "$C1" ]'
git -C "$W" reset -q --hard "$C1"

test_expect 'pre-receive stops at the first refused ref; the others are named, not checked' '
	printf "%s 0000000000000000000000000000000000000000 refs/heads/main\n%s %s refs/heads/main\n" \
		"$C1" "$C1" "$C1" >"$TMP/updates" &&
	GIT_DIR="$R" "$VIRTFORM" hook pre-receive --path infra <"$TMP/updates" >"$TMP/.out" 2>"$TMP/.err"
	rc=$? && out=$(cat "$TMP/.out") && err=$(cat "$TMP/.err") && expect_rc 1 &&
	expect_contains "$err" "refs/heads/main is protected: it cannot be deleted" &&
	expect_contains "$err" "virtform pre-receive: refs/heads/main: not checked: the push is refused already" &&
	expect_not_contains "$out" "checked: ok"'

test_expect 'pre-receive has a deadline: past it the push is refused, naming it' '
	sleep 3 | GIT_DIR="$R" "$VIRTFORM" hook pre-receive --path infra --deadline 0.5 \
		>"$TMP/.out" 2>"$TMP/.err"
	rc=$? && err=$(cat "$TMP/.err") && expect_rc 1 &&
	expect_contains "$err" "virtform pre-receive: error: the checks of this push ran past their deadline of 0.5 s (--deadline SECONDS); the push is refused (nothing was changed)" &&
	run_vf hook pre-receive --deadline soon && expect_rc 1 &&
	expect_contains "$err" "--deadline '\''soon'\'': give seconds" &&
	run_vf hooks install --server "$TMP/dl.git" --state-dir "$S" --deadline 90 && expect_rc 1 &&
	git init -q --bare "$TMP/dl.git" &&
	run_vf hooks install --server "$TMP/dl.git" --state-dir "$S" --deadline 90 && expect_rc 0 &&
	grep -q "'\''--deadline'\'' '\''90'\''" "$TMP/dl.git/hooks/pre-receive" &&
	! grep -q -- "--deadline" "$TMP/dl.git/hooks/post-receive"'

# A name and a commit subject with terminal escapes: the pusher's terminal
# gets them as text (git relays the hook's stderr as it is).
printf 'version: 1\nclusters: [{name: local}]\nhosts: [{name: fake, uri: "test:///default"}]\nvms:\n  - {name: "x\\e[31mred", cpus: 1, memory: 64MiB}\n' >"$W/infra/vms.yaml"
commit "$(printf 'evil \033[2J subject')"
test_expect 'pre-receive escapes control characters from names and subjects' '
	push "$R" main && expect_rc 1 &&
	printf "%s" "$err" >"$TMP/push.err" &&
	! grep -qP "[\x00-\x09\x0b-\x1f\x7f]" "$TMP/push.err" &&
	expect_contains "$err" "invalid name '\''x\x1b[31mred'\''" &&
	expect_contains "$err" "evil \x1b[2J subject" &&
	[ "$(head_of main)" = "$C1" ]'
git -C "$W" reset -q --hard "$C1"

git -C "$W" checkout -q -b wip && bad_yaml >"$W/infra/vms.yaml" && commit "wip: broken"
CW=$(git -C "$W" rev-parse HEAD)
test_expect 'an unprotected branch takes anything; moving main onto it is checked' '
	push "$R" wip && expect_rc 0 && [ "$(head_of wip)" = "$CW" ] &&
	push "$R" wip:main && expect_rc 1 &&
	expect_contains "$err" "error: refs/heads/main: rejected" &&
	[ "$(head_of main)" = "$C1" ]'
git -C "$W" checkout -q main

vm_yaml 128MiB >"$W/infra/vms.yaml" && commit "v to 128 MiB"
C2=$(git -C "$W" rev-parse HEAD)
test_expect 'a second valid push is synced' '
	push "$R" main && expect_rc 0 && [ "$(head_of main)" = "$C2" ] &&
	expect_contains "$err" "remote: commit $C2 v to 128 MiB" &&
	expect_contains "$err" "remote: Apply complete"'
git -C "$W" reset -q --hard "$C1"
vm_yaml 80MiB >"$W/infra/vms.yaml" && commit "rewritten history"
test_expect 'a force push (rewind) and a deletion of main are refused' '
	push -f "$R" main && expect_rc 1 &&
	expect_contains "$err" "error: refs/heads/main is protected: $(echo $(git -C "$W" rev-parse HEAD) | cut -c1-7) is not a descendant of $(echo $C2 | cut -c1-7)" &&
	[ "$(head_of main)" = "$C2" ] &&
	push "$R" :main && expect_rc 1 &&
	expect_contains "$err" "error: refs/heads/main is protected: it cannot be deleted" &&
	[ "$(head_of main)" = "$C2" ]'
git -C "$W" reset -q --hard "$C2"

git -C "$R" config --add virtform.protectedRefs "refs/heads/prod-*"
git -C "$W" checkout -q -b prod-1 && bad_yaml >"$W/infra/vms.yaml" && commit "prod: broken"
test_expect 'virtform.protectedRefs in the repository chooses the protected refs' '
	push "$R" prod-1 && expect_rc 1 &&
	expect_contains "$err" "error: refs/heads/prod-1: rejected" &&
	[ "$(head_of prod-1)" = none ] &&
	push "$R" prod-1:main && expect_rc 0 &&
	expect_not_contains "$err" "virtform post-receive" &&
	push -f "$R" "$C2:refs/heads/main" && expect_rc 0'
git -C "$R" config --unset-all virtform.protectedRefs
git -C "$W" checkout -q main

# test://FILE (a file that is not there): for virtform's own tests only
export VIRTFORM_TEST_DRIVER_FILES=1
vm_yaml 64MiB test:///no/such/file.xml >"$W/infra/vms.yaml" && commit "a host that is not there"
C3=$(git -C "$W" rev-parse HEAD)
test_expect 'a failed sync keeps the push and says so loudly' '
	push "$R" main && expect_rc 0 &&
	expect_contains "$err" "remote: virtform post-receive: error: the sync of refs/heads/main at $(echo $C3 | cut -c1-7) FAILED" &&
	expect_contains "$err" "the push is kept" &&
	[ "$(head_of main)" = "$C3" ]'

ssh_key good && allow_key good
R2="$TMP/signed.git"
git init -q --bare "$R2"
# a new history for the signed repository: one commit
git -C "$W" checkout -q --orphan signed && vm_yaml 64MiB >"$W/infra/vms.yaml" && commit "unsigned"
CU=$(git -C "$W" rev-parse --short=7 HEAD)

test_expect 'with --verify-signatures an unsigned push is refused, a signed one accepted' '
	run_vf hooks install --server "$R2" --state-dir "$TMP/state2" --path infra \
		--verify-signatures --allowed-signers "$TMP/allowed" && expect_rc 0 &&
	grep -q "'\''--allowed-signers'\'' '\''$TMP/allowed'\''" "$R2/hooks/pre-receive" &&
	push "$R2" signed:main && expect_rc 1 &&
	expect_contains "$err" "remote: virtform pre-receive: error: $CU: commit '\''unsigned'\'' is not signed" &&
	[ -z "$(git -C "$R2" for-each-ref)" ] &&
	signed_commit good --no-verify --amend -m "signed" &&
	CS=$(git -C "$W" rev-parse HEAD) &&
	push "$R2" signed:main && expect_rc 0 &&
	expect_contains "$err" "remote: Good signature by '\''ops@example.org'\''" &&
	expect_contains "$err" "remote: commit $CS signed" &&
	[ "$(git -C "$R2" rev-parse main)" = "$CS" ]'

test_expect 'an unsigned commit is refused before its configuration is read' '
	git -C "$W" checkout -q -b unsigned-bad signed && bad_yaml >"$W/infra/vms.yaml" &&
	commit "unsigned and broken" && CUB=$(git -C "$W" rev-parse --short=7 HEAD) &&
	push "$R2" unsigned-bad:main && expect_rc 1 &&
	expect_contains "$err" "error: $CUB: commit '\''unsigned and broken'\'' is not signed" &&
	expect_not_contains "$err" "$CUB:infra/vms.yaml" &&
	expect_not_contains "$err" "needs a binary unit" &&
	[ "$(git -C "$R2" rev-parse main)" = "$(git -C "$W" rev-parse signed)" ] &&
	git -C "$W" checkout -q signed'

test_expect 'hooks with --gpg-keyring: a stranger'"'"'s GPG commit is refused, a trusted one synced' '
	gpg_key alice && gpg_key mallory &&
	R4="$TMP/gpg.git" && git init -q --bare "$R4" &&
	run_vf hooks install --server "$R4" --state-dir "$TMP/state4" --path infra --auto-approve \
		--verify-signatures --allowed-signers "$TMP/allowed" --gpg-keyring "$TMP/alice.asc" &&
	expect_rc 0 &&
	grep -q "'\''--gpg-keyring'\'' '\''$TMP/alice.asc'\''" "$R4/hooks/pre-receive" &&
	grep -q "'\''--gpg-keyring'\'' '\''$TMP/alice.asc'\''" "$R4/hooks/post-receive" &&
	git -C "$W" checkout -q --orphan gpg && vm_yaml 48MiB >"$W/infra/vms.yaml" &&
	git -C "$W" add -A && gpg_commit mallory --no-verify -m "by mallory" &&
	push "$R4" gpg:main && expect_rc 1 &&
	expect_contains "$err" "commit '\''by mallory'\'' is refused: its key " &&
	expect_contains "$err" "is not in the GPG keyring" &&
	[ -z "$(git -C "$R4" for-each-ref)" ] &&
	gpg_commit alice --no-verify --amend -m "by alice" &&
	push "$R4" gpg:main && expect_rc 0 &&
	expect_contains "$err" "remote: Good signature by '\''alice <alice@example.org>" &&
	expect_contains "$err" "remote: Apply complete"'

test_expect 'post-receive without --auto-approve only plans' '
	R3="$TMP/plan.git" && git init -q --bare "$R3" &&
	run_vf hooks install --server "$R3" --state-dir "$TMP/state3" --path infra &&
	expect_rc 0 &&
	push "$R3" signed:main && expect_rc 0 &&
	expect_contains "$err" "virtform sync --plan-only" &&
	expect_contains "$err" "remote: Plan: 1 to create" &&
	expect_not_contains "$err" "Apply complete"'

seal_keys
PW='vfk-S3cret-pw-5519'
SEALED=$(seal "$PW")
sealed_yaml() {   # a VM whose cloud-init password is sealed to $TMP/keys
	cat <<EOF
version: 1
clusters: [{name: local}]
hosts: [{name: fake, uri: "test:///default"}]
storage_domains: [{name: data, type: dir, path: $TMP/pool}]
vms:
  - name: v
    cpus: 1
    memory: 64MiB
    disks: [{name: root, size: 16MiB, storage: data}]
    cloud_init:
      users: [{name: ops, password: {sealed: "$SEALED"}}]
EOF
}
test_expect 'post-receive --secret-key FILE: the sync opens sealed values with the key file' '
	R5="$TMP/sealed.git" && git init -q --bare "$R5" &&
	run_vf hooks install --server "$R5" --state-dir "$TMP/state5" --path infra \
		--secret-key "$TMP/keys/virtform.key" && expect_rc 0 &&
	git -C "$W" checkout -q --orphan sealed && sealed_yaml >"$W/infra/vms.yaml" &&
	git -C "$W" add infra/vms.yaml && commit "a sealed password" &&
	push "$R5" sealed:main && expect_rc 0 &&
	expect_not_contains "$err" "FAILED" &&
	expect_not_contains "$err" "the variable names a file" &&
	expect_contains "$err" "cloud_init: (a seed for the first boot, with sealed values)" &&
	expect_contains "$err" "remote: Plan: 4 to create" &&
	expect_not_contains "$err$out" "$PW" &&
	! grep -r -q "$PW" "$TMP/state5" "$R5"'

test_expect 'hook: a bad hook name or option is an error' '
	run_vf hook pre-push && expect_rc 1 &&
	expect_contains "$err" "unknown hook '\''pre-push'\''" &&
	run_vf hook pre-receive --verify-signatures && expect_rc 1 &&
	expect_contains "$err" "--verify-signatures needs --allowed-signers FILE"'

# ---- pre-commit ------------------------------------------------------------------
git -C "$W" checkout -q -f main && git -C "$W" reset -q --hard "$C1"

test_expect 'hooks install (no --server) writes pre-commit, --force replaces a foreign one' '
	run_vf hooks install "$W" --path infra --force && expect_rc 0 &&
	expect_contains "$out" "Installed $W/.git/hooks/pre-commit" &&
	grep -qx "exec '\''$VF'\'' '\''hook'\'' '\''pre-commit'\'' '\''--path'\'' '\''infra'\''" "$W/.git/hooks/pre-commit" &&
	run_vf hooks install "$W" --path infra && expect_rc 0'

test_expect 'pre-commit refuses an invalid staged config even when the work tree is fixed' '
	bad_yaml >"$W/infra/vms.yaml" && git -C "$W" add infra/vms.yaml &&
	vm_yaml 64MiB >"$W/infra/vms.yaml" &&
	(cd "$W" && git commit -q -m "staged is broken") >"$TMP/.out" 2>"$TMP/.err"; rc=$?; err=$(cat "$TMP/.err") &&
	[ "$rc" -ne 0 ] &&
	expect_contains "$err" ":0:infra/vms.yaml:4:32: error: vm '\''x'\'': memory '\''2G'\''" &&
	expect_contains "$err" "virtform pre-commit: error: the staged configuration is invalid" &&
	[ "$(git -C "$W" rev-parse HEAD)" = "$C1" ]'

test_expect 'pre-commit accepts a valid staged config' '
	vm_yaml 72MiB >"$W/infra/vms.yaml" && git -C "$W" add infra/vms.yaml &&
	(cd "$W" && git commit -q -m "valid") >"$TMP/.out" 2>"$TMP/.err"; rc=$?; err=$(cat "$TMP/.err") &&
	[ "$rc" -eq 0 ] && expect_rc 0 &&
	[ "$(git -C "$W" rev-parse HEAD)" != "$C1" ]'

test_expect 'validate --staged: text and JSON, --path a file, errors' '
	cd "$W" &&
	run_vf validate --staged --path infra && expect_rc 0 &&
	expect_contains "$out" "ok: 1 hosts, 0 networks, 0 storage domains, 1 vms" &&
	run_vf validate --staged --path infra/vms.yaml --json && expect_rc 0 &&
	expect_contains "$out" "\"valid\": true" &&
	run_vf validate --staged && expect_rc 1 &&
	expect_contains "$err" "(staged): error: no staged *.yaml or *.yml files in the root" &&
	run_vf validate --staged "$W/infra" && expect_rc 1 &&
	expect_contains "$err" "--staged reads the index of the current repository" &&
	cd "$R" && run_vf validate --staged && expect_rc 1 &&
	expect_contains "$err" "is a bare repository: it has no staged files"'

test_expect 'the templates in contrib/hooks parse, carry the marker, and run' '
	for h in pre-commit pre-receive post-receive; do
		sh -n "$TOP/contrib/hooks/$h" && grep -q "^# virtform-hook: $h " "$TOP/contrib/hooks/$h" &&
		[ -x "$TOP/contrib/hooks/$h" ] || return 1
	done &&
	cd "$W" && VIRTFORM="$VF" sh "$TOP/contrib/hooks/pre-commit" >"$TMP/.out" 2>"$TMP/.err" &&
	bad_yaml >"$W/infra/vms.yaml" && git -C "$W" add infra/vms.yaml &&
	! VIRTFORM="$VF" sh "$TOP/contrib/hooks/pre-commit" >"$TMP/.out" 2>"$TMP/.err" &&
	grep -q "virtform pre-commit: error: the staged configuration is invalid" "$TMP/.err"'

test_done
