#!/bin/sh
# Configuration from git (docs/gitops.md): validate/plan/apply --git, sync,
# log, saved plans from a commit, rewind protection and SSH signatures (for
# sync, and the same checks for plan/apply/destroy --git and apply FILE).
# The repositories are made here with the git CLI (test scaffolding;
# virtform itself reads them with libgit2).  No lab: the one host is
# libvirt's in-process test driver, so nothing outside this process changes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/git-lib.sh"

git_fixture repo infra     # $W, pushed to the bare $R; $S
commit() {    # commit SUBJECT: commit everything, push main and tags
	git -C "$W" add -A && git -C "$W" commit -q -m "$1" &&
	git -C "$W" push -q -f "$R" main --tags 2>/dev/null
}
vm_yaml 64MiB >"$W/infra/vms.yaml"
echo "# not configuration" >"$W/README.md"
commit "first: v with 64 MiB"
git -C "$W" tag v1
C1=$(git -C "$W" rev-parse HEAD)
git -C "$W" push -q "$R" v1
# a broken configuration on a branch
git -C "$W" checkout -q -b broken
bad_yaml >"$W/infra/vms.yaml"
git -C "$W" commit -q -am "broken memory"
git -C "$W" push -q "$R" broken 2>/dev/null
CB=$(git -C "$W" rev-parse --short=7 HEAD)
git -C "$W" checkout -q main

test_expect 'validate --git reads the default branch at --path' '
	run_vf validate --git "$R" --path infra && expect_rc 0 &&
	expect_contains "$out" "ok: 1 hosts, 0 networks, 0 storage domains, 1 vms"'

test_expect 'errors carry SHA:PATH:LINE:COL of the commit' '
	run_vf validate --git "$R@broken" --path infra && expect_rc 1 &&
	expect_contains "$err" "$CB:infra/vms.yaml:4:32: error: vm '\''x'\'': memory '\''2G'\'' needs a binary unit" &&
	run_vf validate --git "$R@broken" --path infra --json && expect_rc 1 &&
	expect_contains "$out" "\"file\": \"$CB:infra/vms.yaml\""'

test_expect 'refs: a branch, a tag, a full and an abbreviated sha; --path a file' '
	run_vf validate --git "$R@main" --path infra && expect_rc 0 &&
	run_vf validate --git "$R@v1" --path infra && expect_rc 0 &&
	run_vf validate --git "$R@$C1" --path infra && expect_rc 0 &&
	run_vf validate --git "$R@$(echo $C1 | cut -c1-8)" --path infra/vms.yaml && expect_rc 0'

test_expect 'the root without YAML, a missing path, ref or repository are clear errors' '
	run_vf validate --git "$R" && expect_rc 1 &&
	expect_contains "$err" "no *.yaml or *.yml files in" &&
	run_vf validate --git "$R" --path nowhere && expect_rc 1 &&
	expect_contains "$err" "'\''nowhere'\'' does not exist in commit" &&
	run_vf validate --git "$R@nosuch" --path infra && expect_rc 1 &&
	expect_contains "$err" "ref '\''nosuch'\'' not found in '\''$R'\''" &&
	expect_contains "$err" "branches: broken, main" &&
	run_vf validate --git "$TMP/no-such-repo" && expect_rc 1 &&
	expect_contains "$err" "cannot fetch '\''$TMP/no-such-repo'\''"'

test_expect '--git and CONFIG together, --path without --git, are refused' '
	run_vf plan --git "$R" "$W/infra" --state-dir "$S" && expect_rc 1 &&
	expect_contains "$err" "give either CONFIG" &&
	run_vf plan --path infra "$W/infra" && expect_rc 1 &&
	expect_contains "$err" "--path reads a configuration from git: give --git" &&
	[ ! -e "$S" ]'

test_expect 'plan --git needs a state directory, and says so' '
	run_vf plan --git "$R" --path infra && expect_rc 1 &&
	expect_contains "$err" "give --state-dir DIR or set VIRTFORM_STATE_DIR"'

test_expect 'plan --git plans the commit; the cache is a bare repository under the state' '
	run_vf plan --git "$R" --path infra --state-dir "$S" && expect_rc 0 &&
	expect_contains "$out" "create  vm.v on fake" &&
	expect_contains "$out" "memory: 64 MiB" &&
	ls -d "$S"/git-cache/repo-* >/dev/null &&
	[ -f "$(ls -d "$S"/git-cache/repo-*)/HEAD" ]'

test_expect 'a git cache or a state directory others can write is refused before git reads it' '
	mkdir -m 700 "$TMP/open-cache" && chmod 777 "$TMP/open-cache" &&
	run_vf validate --git "$R" --path infra --cache-dir "$TMP/open-cache" && expect_rc 1 &&
	expect_contains "$err" "the git cache '\''$TMP/open-cache'\'' is writable by its group and others" &&
	[ -z "$(ls -A "$TMP/open-cache")" ] &&
	mkdir -m 700 "$TMP/open-state" && chmod 777 "$TMP/open-state" &&
	run_vf plan --git "$R" --path infra --state-dir "$TMP/open-state" && expect_rc 1 &&
	expect_contains "$err" "the state directory '\''$TMP/open-state'\'' is writable by its group and others" &&
	[ -z "$(ls -A "$TMP/open-state")" ]'

test_expect 'validate --git without a state: a temporary cache, gone afterwards' '
	mkdir -m 700 "$TMP/tmpd" &&
	TMPDIR="$TMP/tmpd" run_vf validate --git "$R" --path infra && expect_rc 0 &&
	[ -z "$(ls -A "$TMP/tmpd")" ]'

test_expect 'a saved plan from git re-applies exactly its commit after the branch moved' '
	run_vf plan --git "$R" --path infra --state-dir "$S" -out "$TMP/p.vfplan" && expect_rc 0 &&
	vm_yaml 128MiB >"$W/infra/vms.yaml" && commit "second: v with 128 MiB" &&
	run_vf plan --git "$R" --path infra --state-dir "$S" && expect_contains "$out" "memory: 128 MiB" &&
	run_vf apply "$TMP/p.vfplan" && expect_rc 0 &&
	expect_contains "$out" "vm.v on fake: created" &&
	tail -n 1 "$S/git-log.jsonl" | grep -q "\"commit\":\"$C1\"" &&
	run_vf show "$TMP/p.vfplan" && expect_contains "$out" "memory: 64 MiB"'

C2=$(git -C "$W" rev-parse HEAD)

test_expect 'sync: the commit line first, then the plan and the apply summary' '
	run_vf sync "$R" --path infra --state-dir "$S" --auto-approve && expect_rc 0 &&
	expect_contains "$(echo "$out" | head -n 1)" "commit $C2 second: v with 128 MiB" &&
	expect_contains "$out" "memory: 128 MiB" &&
	expect_contains "$(echo "$out" | tail -n 1)" "Apply complete: 1 created"'

test_expect 'sync --plan-only changes nothing and records nothing' '
	n=$(wc -l <"$S/git-log.jsonl") &&
	run_vf sync "$R" --ref v1 --path infra --state-dir "$S" --plan-only --allow-rewind &&
	expect_rc 0 && expect_contains "$out" "commit $C1 first" &&
	expect_not_contains "$out" "Apply complete" &&
	[ "$(wc -l <"$S/git-log.jsonl")" -eq "$n" ]'

test_expect 'sync without a terminal and without --auto-approve is refused up front' '
	run_vf sync "$R" --path infra --state-dir "$S" </dev/null && expect_rc 1 &&
	expect_contains "$err" "--auto-approve"'

test_expect 'a rewound branch is refused, then applied with --allow-rewind' '
	git -C "$W" push -q -f "$R" "$C1:refs/heads/main" &&
	run_vf sync "$R" --path infra --state-dir "$S" --auto-approve && expect_rc 1 &&
	expect_contains "$err" "ref main moved backwards: $C2 (the last commit applied) is not an ancestor of $C1; give --allow-rewind to apply it" &&
	expect_not_contains "$out" "Apply complete" &&
	run_vf sync "$R" --path infra --state-dir "$S" --auto-approve --allow-rewind && expect_rc 0 &&
	expect_contains "$out" "Apply complete" &&
	run_vf sync "$R" --path infra --state-dir "$S" --auto-approve && expect_rc 0'

test_expect 'log lists the applied commits newest first, refusals too; --json' '
	run_vf log --state-dir "$S" && expect_rc 0 &&
	first=$(echo "$out" | head -n 1) && last=$(echo "$out" | tail -n 1) &&
	expect_contains "$last" "$(echo $C1 | cut -c1-7)  applied    first: v with 64 MiB" &&
	expect_contains "$out" "$(echo $C2 | cut -c1-7)  applied    second: v with 128 MiB" &&
	expect_contains "$out" "refused    first: v with 64 MiB" &&
	expect_contains "$first" "$(echo $C1 | cut -c1-7)  applied" &&
	run_vf log --state-dir "$S" --json && expect_rc 0 &&
	echo "$out" | python3 -c "import json,sys; d=json.load(sys.stdin); assert d[0][\"repo\"]==\"$R\" and d[-1][\"commit\"]==\"$C1\" and d[0][\"counts\"][\"create\"]==1, d"'

test_expect 'log of a state without git applies says so' '
	run_vf log --state-dir "$TMP/empty" && expect_rc 0 &&
	expect_contains "$out" "No commit applied from git yet"'

# ---- signatures -----------------------------------------------------------
ssh_key good && ssh_key bad
allow_key good
S2="$TMP/state2"

test_expect 'an unsigned commit is refused with --verify-signatures, naming it' '
	git -C "$W" push -q -f "$R" "$C2:refs/heads/main" &&
	run_vf sync "$R" --path infra --state-dir "$S2" --auto-approve --verify-signatures \
		--allowed-signers "$TMP/allowed" && expect_rc 1 &&
	expect_contains "$err" "commit $C2 is not signed" &&
	expect_not_contains "$out" "Apply complete" &&
	run_vf sync "$R" --path infra --state-dir "$S2" --verify-signatures && expect_rc 1 &&
	expect_contains "$err" "--verify-signatures needs the keys it trusts: --allowed-signers FILE" &&
	expect_contains "$err" "and/or --gpg-keyring FILE"'

test_expect 'a commit signed by an allowed SSH key is applied' '
	vm_yaml 256MiB >"$W/infra/vms.yaml" &&
	git -C "$W" add -A &&
	signed_commit good -m "signed: 256 MiB" &&
	git -C "$W" push -q -f "$R" main &&
	run_vf sync "$R" --path infra --state-dir "$S2" --auto-approve --verify-signatures \
		--allowed-signers "$TMP/allowed" && expect_rc 0 &&
	expect_contains "$out" "Good signature by '\''ops@example.org'\''" &&
	expect_contains "$out" "Apply complete"'

test_expect 'a commit signed by a key not in the allowed signers is refused' '
	vm_yaml 512MiB >"$W/infra/vms.yaml" &&
	git -C "$W" add -A &&
	signed_commit bad -m "signed by a stranger" &&
	git -C "$W" push -q -f "$R" main &&
	C4=$(git -C "$W" rev-parse HEAD) &&
	run_vf sync "$R" --path infra --state-dir "$S2" --auto-approve --verify-signatures \
		--allowed-signers "$TMP/allowed" && expect_rc 1 &&
	expect_contains "$err" "commit $C4 is refused: its key is not in the allowed signers file" &&
	expect_not_contains "$out" "Apply complete"'

# ---- the same checks for plan, apply and destroy --git ----------------------
CS=$(git -C "$W" log --format=%H -n 1 --grep "^signed: 256 MiB")
S3="$TMP/state3"
S4="$TMP/state4"

test_expect 'plan --git --verify-signatures refuses an unsigned commit, and records nothing' '
	run_vf plan --git "$R@$C2" --path infra --state-dir "$S3" --verify-signatures \
		--allowed-signers "$TMP/allowed" && expect_rc 1 &&
	expect_contains "$err" "virtform plan: error: commit $C2 is not signed, and --verify-signatures is given" &&
	expect_contains "$err" "; nothing was changed" &&
	expect_not_contains "$out" "vm.v" &&
	[ ! -e "$S3/git-log.jsonl" ]'

test_expect 'plan --git --verify-signatures accepts a signed commit; with --json stdout stays JSON' '
	run_vf plan --git "$R@$CS" --path infra --state-dir "$S3" --verify-signatures \
		--allowed-signers "$TMP/allowed" && expect_rc 0 &&
	expect_contains "$(echo "$out" | head -n 1)" "Good signature by '\''ops@example.org'\''" &&
	expect_contains "$out" "create  vm.v on fake" &&
	run_vf plan --git "$R@$CS" --path infra --state-dir "$S3" --verify-signatures \
		--allowed-signers "$TMP/allowed" --json && expect_rc 0 &&
	expect_contains "$err" "Good signature by '\''ops@example.org'\''" &&
	echo "$out" | python3 -c "import json,sys; json.load(sys.stdin)"'

# apply FILE takes the trust settings from its own command line, never from
# the saved plan (not authenticated), and refuses a plan that records others
V3="--verify-signatures --allowed-signers $TMP/allowed3"
test_expect 'a plan saved with --verify-signatures verifies its commit again at apply' '
	cp "$TMP/allowed" "$TMP/allowed3" &&
	run_vf plan --git "$R@$CS" --path infra --state-dir "$S3" --verify-signatures \
		--allowed-signers "$TMP/allowed3" -out "$TMP/s.vfplan" && expect_rc 0 &&
	expect_contains "$out" "apply it with '\''virtform apply $V3 $TMP/s.vfplan'\''" &&
	python3 -c "import json,sys; g=json.load(open(sys.argv[1]))[\"config\"][\"git\"]; assert g[\"allowed_signers\"].endswith(\"/allowed3\") and g[\"allow_rewind\"] is False, g" "$TMP/s.vfplan" &&
	run_vf apply "$TMP/s.vfplan" $V3 --allow-rewind && expect_rc 1 &&
	expect_contains "$err" "virtform apply: error: the saved plan $TMP/s.vfplan is refused: the plan was made without --allow-rewind, this apply gives it" &&
	: >"$TMP/allowed3" &&
	run_vf apply "$TMP/s.vfplan" $V3 && expect_rc 1 &&
	expect_contains "$err" "virtform apply: error: commit $CS is refused:" &&
	expect_not_contains "$out" "created" &&
	tail -n 1 "$S3/git-log.jsonl" | grep -q "\"outcome\":\"refused\"" &&
	cp "$TMP/allowed" "$TMP/allowed3" &&
	run_vf apply "$TMP/s.vfplan" $V3 && expect_rc 0 &&
	expect_contains "$out" "Good signature by '\''ops@example.org'\''" &&
	expect_contains "$out" "vm.v on fake: created" &&
	tail -n 1 "$S3/git-log.jsonl" | grep -q "\"commit\":\"$CS\".*\"outcome\":\"applied\""'

S6="$TMP/state6"
test_expect 'apply of a plan saved with verification, without the flags, is refused naming them' '
	run_vf plan --git "$R@$CS" --path infra --state-dir "$S6" $V3 -out "$TMP/t.vfplan" &&
	expect_rc 0 &&
	run_vf apply "$TMP/t.vfplan" && expect_rc 1 &&
	expect_contains "$err" "virtform apply: error: the saved plan $TMP/t.vfplan is refused: the plan was made with --verify-signatures, this apply does not give it" &&
	expect_contains "$err" "come from apply'"'"'s command line, never from the saved plan" &&
	expect_contains "$err" "'"'"'virtform apply $V3 $TMP/t.vfplan'"'"'" &&
	expect_not_contains "$out" "created" && [ ! -e "$S6/git-log.jsonl" ] &&
	run_vf apply "$TMP/t.vfplan" --verify-signatures --allowed-signers "$TMP/allowed" &&
	expect_rc 1 &&
	expect_contains "$err" "is refused: the plan was made with --allowed-signers '"'"'$TMP/allowed3'"'"', this apply gives --allowed-signers '"'"'$TMP/allowed'"'"'" &&
	run_vf apply "$TMP/t.vfplan" --verify-signatures --allowed-signers "$TMP/allowed3" \
		--gpg-keyring "$TMP/allowed3" && expect_rc 1 &&
	expect_contains "$err" "is refused: the plan was made with no --gpg-keyring, this apply gives --gpg-keyring" &&
	expect_not_contains "$out" "created" && [ ! -e "$S6/git-log.jsonl" ]'

test_expect 'a saved plan edited to drop verification (or add --allow-rewind) is refused' '
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); del d[\"config\"][\"git\"][\"allowed_signers\"]; json.dump(d, open(sys.argv[2], \"w\"))" "$TMP/t.vfplan" "$TMP/t-noverify.vfplan" &&
	run_vf apply "$TMP/t-noverify.vfplan" $V3 && expect_rc 1 &&
	expect_contains "$err" "the saved plan $TMP/t-noverify.vfplan is refused: the plan was made without --verify-signatures, this apply gives it" &&
	python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d[\"config\"][\"git\"][\"allow_rewind\"] = True; json.dump(d, open(sys.argv[2], \"w\"))" "$TMP/t.vfplan" "$TMP/t-rewind.vfplan" &&
	run_vf apply "$TMP/t-rewind.vfplan" $V3 && expect_rc 1 &&
	expect_contains "$err" "is refused: the plan was made with --allow-rewind, this apply does not give it" &&
	expect_not_contains "$out" "created" && [ ! -e "$S6/git-log.jsonl" ] &&
	run_vf apply "$TMP/t.vfplan" $V3 && expect_rc 0 &&
	expect_contains "$out" "Good signature by" && expect_contains "$out" "vm.v on fake: created"'

test_expect 'apply --git refuses a rewind (the log of applied commits) unless --allow-rewind' '
	run_vf apply --git "$R@$C2" --path infra --state-dir "$S4" --auto-approve && expect_rc 0 &&
	run_vf plan --git "$R@$C1" --path infra --state-dir "$S4" && expect_rc 1 &&
	expect_contains "$err" "virtform plan: error: ref $C1 moved backwards" &&
	run_vf apply --git "$R@$C1" --path infra --state-dir "$S4" --auto-approve && expect_rc 1 &&
	expect_contains "$err" "virtform apply: error: ref $C1 moved backwards: $C2 (the last commit applied) is not an ancestor of $C1; give --allow-rewind to apply it; nothing was changed" &&
	expect_not_contains "$out" "Apply complete" &&
	[ "$(grep -c "\"outcome\":\"refused\"" "$S4/git-log.jsonl")" -eq 1 ] &&
	tail -n 1 "$S4/git-log.jsonl" | grep -q "\"command\":\"apply\"" &&
	run_vf apply --git "$R@$C1" --path infra --state-dir "$S4" --auto-approve --allow-rewind &&
	expect_rc 0 &&
	expect_contains "$out" "Rewind allowed: $C2 (the last commit applied) is not an ancestor of $C1." &&
	expect_contains "$out" "Apply complete" &&
	tail -n 1 "$S4/git-log.jsonl" | grep -q "\"commit\":\"$C1\".*\"outcome\":\"applied\""'

test_expect 'destroy --git takes the checks too; without --git they are refused' '
	run_vf destroy --git "$R@$C2" --path infra --state-dir "$S4" --auto-approve \
		--verify-signatures --allowed-signers "$TMP/allowed" && expect_rc 1 &&
	expect_contains "$err" "virtform destroy: error: commit $C2 is not signed" &&
	expect_not_contains "$out" "Destroy complete" &&
	run_vf plan "$W/infra" --allow-rewind && expect_rc 1 &&
	expect_contains "$err" "--allow-rewind checks a commit from git: give --git REPO[@REF] too" &&
	run_vf apply --git "$R" --path infra --state-dir "$S4" --allowed-signers "$TMP/allowed" &&
	expect_rc 1 && expect_contains "$err" "--allowed-signers and --gpg-keyring are used with --verify-signatures" &&
	run_vf plan --git "$R" --path infra --state-dir "$S4" --gpg-keyring "$TMP/alice.gpg" &&
	expect_rc 1 && expect_contains "$err" "are used with --verify-signatures"'

# ---- OpenPGP signatures (gpgv) --------------------------------------------
gpg_key alice && gpg_key mallory
S5="$TMP/state5"
# one commit signed by each key, and one by the allowed SSH key
vm_yaml 96MiB >"$W/infra/vms.yaml" && git -C "$W" add -A && gpg_commit alice -m "gpg: alice" &&
	CA=$(git -C "$W" rev-parse HEAD)
vm_yaml 80MiB >"$W/infra/vms.yaml" && git -C "$W" add -A && gpg_commit mallory -m "gpg: mallory" &&
	CM=$(git -C "$W" rev-parse HEAD)
git -C "$W" push -q -f "$R" main

test_expect 'a commit signed by a key of the GPG keyring is applied (binary keyring)' '
	run_vf plan --git "$R@$CA" --path infra --state-dir "$S5" --verify-signatures \
		--gpg-keyring "$TMP/alice.gpg" && expect_rc 0 &&
	fpr=$(GNUPGHOME="$TMP/gnupg" gpg --batch --with-colons --list-keys alice@example.org | awk -F: '"'"'$1 == "fpr" { print $10; exit }'"'"') &&
	expect_contains "$out" "Good signature by '\''alice <alice@example.org> ($fpr)'\''" &&
	run_vf apply --git "$R@$CA" --path infra --state-dir "$S5" --verify-signatures \
		--gpg-keyring "$TMP/alice.gpg" --auto-approve && expect_rc 0 &&
	expect_contains "$out" "Apply complete"'

test_expect 'an ASCII-armored export works as the keyring; a relative path too' '
	(cd "$TMP" && run_vf plan --git "$R@$CA" --path infra --state-dir "$S5" \
		--verify-signatures --gpg-keyring alice.asc && expect_rc 0 &&
		expect_contains "$out" "Good signature by '\''alice <alice@example.org>")'

test_expect 'a GPG key not in the keyring is refused, naming its key id' '
	run_vf plan --git "$R@$CM" --path infra --state-dir "$S5" --verify-signatures \
		--gpg-keyring "$TMP/alice.gpg" && expect_rc 1 &&
	expect_contains "$err" "commit $CM is refused: its key " &&
	expect_contains "$err" "is not in the GPG keyring '\''$TMP/alice.gpg'\''" &&
	expect_not_contains "$out" "vm.v"'

test_expect 'a revoked key is refused although gpgv calls its signature good' '
	gpg_revoked alice &&
	run_vf plan --git "$R@$CA" --path infra --state-dir "$S5" --verify-signatures \
		--gpg-keyring "$TMP/alice-revoked.gpg" && expect_rc 1 &&
	expect_contains "$err" "commit $CA is refused: it is signed by a revoked key"'

test_expect 'each kind of key needs its own trust: SSH-signed with a keyring only, GPG with signers only' '
	run_vf plan --git "$R@$CS" --path infra --state-dir "$S5" --allow-rewind --verify-signatures \
		--gpg-keyring "$TMP/alice.gpg" && expect_rc 1 &&
	expect_contains "$err" "it is signed with an SSH key, and only GPG keys are trusted: give --allowed-signers FILE" &&
	run_vf plan --git "$R@$CA" --path infra --state-dir "$S5" --allow-rewind --verify-signatures \
		--allowed-signers "$TMP/allowed" && expect_rc 1 &&
	expect_contains "$err" "it is signed with GPG, and only SSH keys are trusted: give --gpg-keyring FILE" &&
	run_vf plan --git "$R@$CS" --path infra --state-dir "$S5" --allow-rewind --verify-signatures \
		--allowed-signers "$TMP/allowed" --gpg-keyring "$TMP/alice.gpg" && expect_rc 0 &&
	run_vf plan --git "$R@$CA" --path infra --state-dir "$S5" --allow-rewind --verify-signatures \
		--allowed-signers "$TMP/allowed" --gpg-keyring "$TMP/alice.gpg" && expect_rc 0 &&
	run_vf plan --git "$R@$C2" --path infra --state-dir "$S5" --allow-rewind --verify-signatures \
		--allowed-signers "$TMP/allowed" --gpg-keyring "$TMP/alice.gpg" && expect_rc 1 &&
	expect_contains "$err" "sign it with an allowed SSH key (git -c gpg.format=ssh commit -S) or a key of the GPG keyring (git commit -S)"'

test_expect 'a plan saved with --gpg-keyring records it and verifies again at apply' '
	cp "$TMP/alice.gpg" "$TMP/k5.gpg" &&
	run_vf plan --git "$R@$CA" --path infra --state-dir "$S5" --verify-signatures \
		--gpg-keyring "$TMP/k5.gpg" -out "$TMP/g.vfplan" && expect_rc 0 &&
	python3 -c "import json,sys; g=json.load(open(sys.argv[1]))[\"config\"][\"git\"]; assert g[\"gpg_keyring\"].endswith(\"/k5.gpg\") and \"allowed_signers\" not in g, g" "$TMP/g.vfplan" &&
	cp "$TMP/mallory.gpg" "$TMP/k5.gpg" &&
	run_vf apply "$TMP/g.vfplan" --verify-signatures --gpg-keyring "$TMP/k5.gpg" && expect_rc 1 &&
	expect_contains "$err" "commit $CA is refused: its key " &&
	cp "$TMP/alice.gpg" "$TMP/k5.gpg" &&
	run_vf apply "$TMP/g.vfplan" --verify-signatures --gpg-keyring "$TMP/k5.gpg" && expect_rc 0 &&
	expect_contains "$out" "Good signature by '\''alice <alice@example.org>"'

test_expect 'no scratch is left behind, and no GPG home but virtform'"'"'s own is used' '
	mkdir -p "$TMP/scratch" "$TMP/home5" &&
	TMPDIR="$TMP/scratch" HOME="$TMP/home5" GNUPGHOME="$TMP/home5/nope" "$VIRTFORM" plan \
		--git "$R@$CA" --path infra --state-dir "$S5" --verify-signatures \
		--gpg-keyring "$TMP/alice.asc" >"$TMP/.out" 2>&1 &&
	grep -q "Good signature by" "$TMP/.out" &&
	[ -z "$(ls -A "$TMP/scratch")" ] && [ -z "$(ls -A "$TMP/home5")" ] ||
	{ cat "$TMP/.out"; ls -lAR "$TMP/scratch" "$TMP/home5"; false; }'

# A commit may name one blob from many tree entries: the limits on the files
# read from one commit (VF_GIT_FILES_MAX, VF_GIT_BYTES_MAX) are checked from
# the blobs' headers before anything is read, and a blob named twice is read
# once.  $TMP/many.git: one 2 MiB blob under 40 names, a tiny one under 1001.
MANY="$TMP/many.git"
git init -q --bare "$MANY"
yes "# a line of padding in a large configuration file" | head -c $((2 << 20)) >"$TMP/big.yaml"
vm_yaml 64MiB >"$TMP/small.yaml"
BIG=$(git --git-dir="$MANY" hash-object -w "$TMP/big.yaml")
SMALL=$(git --git-dir="$MANY" hash-object -w "$TMP/small.yaml")
many_tree() {   # many_tree BLOB COUNT: a tree of COUNT names f0000.yaml.. for BLOB
	_i=0
	while [ $_i -lt "$2" ]; do
		printf '100644 blob %s\tf%04d.yaml\n' "$1" $_i
		_i=$((_i + 1))
	done | git --git-dir="$MANY" mktree
}
many_commit() {   # many_commit BRANCH TREE
	git --git-dir="$MANY" update-ref "refs/heads/$1" \
		"$(git --git-dir="$MANY" commit-tree -m "$1" "$2")"
}
many_commit main "$(many_tree "$SMALL" 3)"
many_commit bytes "$(many_tree "$BIG" 40)"
many_commit files "$(many_tree "$SMALL" 1001)"
many_commit limit "$(many_tree "$SMALL" 1000)"
MB=$(git --git-dir="$MANY" rev-parse --short=7 bytes)
MF=$(git --git-dir="$MANY" rev-parse --short=7 files)
MM=$(git --git-dir="$MANY" rev-parse --short=7 main)

test_expect 'one blob under 40 names (80 MiB in all) is refused, naming the limits and the sizes' '
	run_vf validate --git "$MANY@bytes" && expect_rc 1 &&
	expect_contains "$err" "$MB:(the root): its 40 configuration files add up to 80.0 MiB; at most 64 MiB (and 1000 files) are read from one commit" &&
	run_vf plan --git "$MANY@bytes" --state-dir "$TMP/many-state" && expect_rc 1 &&
	expect_contains "$err" "add up to 80.0 MiB"'

test_expect 'more than 1000 configuration files in a commit are refused, naming the count' '
	run_vf validate --git "$MANY@files" && expect_rc 1 &&
	expect_contains "$err" "$MF:(the root) holds 1001 configuration files; at most 1000 files (and 64 MiB in all) are read from one commit" &&
	run_vf validate --git "$MANY@limit" && expect_rc 1 &&
	expect_not_contains "$err" "configuration files" &&
	expect_contains "$err" "is defined twice"'

test_expect 'a blob named by several files is read once and loaded under each name' '
	run_vf validate --git "$MANY" && expect_rc 1 &&
	expect_contains "$err" "$MM:f0001.yaml:3:" &&
	expect_contains "$err" "$MM:f0002.yaml:3:" &&
	expect_contains "$err" "(first at $MM:f0000.yaml:3:"'


# An image's file is uploaded to a host.  A configuration read from git has
# no directory on this machine: a relative path would name a file of the
# current directory (/ for a service: every file), so only an absolute path
# under a directory the operator allows (VIRTFORM_IMAGE_PATH) is taken.
images_yaml() {   # images_yaml FILE
	printf 'version: 1\nclusters: [{name: local}]\nhosts: [{name: fake, uri: "test:///default"}]\n'
	printf 'storage_domains: [{name: img, type: dir, path: /var/lib/virtform-test/img}]\n'
	printf 'images:\n  - {name: base, file: "%s", storage: img, format: raw}\n' "$1"
}
git -C "$W" checkout -q -b images
mkdir -p "$TMP/allowed-images" && echo "not a disk" >"$TMP/allowed-images/base.raw"
images_yaml etc/passwd >"$W/infra/vms.yaml" && git -C "$W" commit -q -am "relative image" &&
	git -C "$W" push -q "$R" images 2>/dev/null
CI1=$(git -C "$W" rev-parse --short=7 HEAD)
test_expect 'from git, a relative image file is refused (it would be read from the current directory)' '
	(cd / && run_vf validate --git "$R@images" --path infra &&
	 expect_rc 1 &&
	 expect_contains "$err" "$CI1:infra/vms.yaml:6:24: error: image '\''base'\'': file" &&
	 expect_contains "$err" "'\''etc/passwd'\'' is relative, and a configuration read from git has no directory on the machine that runs virtform" &&
	 expect_contains "$err" "VIRTFORM_IMAGE_PATH")'
images_yaml /etc/passwd >"$W/infra/vms.yaml" && git -C "$W" commit -q -am "absolute image" &&
	git -C "$W" push -q "$R" images 2>/dev/null
test_expect 'from git, an absolute image file outside VIRTFORM_IMAGE_PATH is refused' '
	run_vf validate --git "$R@images" --path infra && expect_rc 1 &&
	expect_contains "$err" "outside every directory VIRTFORM_IMAGE_PATH allows"'
images_yaml "$TMP/allowed-images/base.raw" >"$W/infra/vms.yaml" && git -C "$W" commit -q -am "allowed image" &&
	git -C "$W" push -q "$R" images 2>/dev/null
test_expect 'from git, an image under VIRTFORM_IMAGE_PATH is taken' '
	VIRTFORM_IMAGE_PATH="$TMP/allowed-images" run_vf validate --git "$R@images" --path infra &&
	expect_rc 0 && expect_contains "$out" "ok: 1 hosts"'
git -C "$W" checkout -q main

test_done
