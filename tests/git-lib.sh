# tests/git-lib.sh — git fixtures for the tests of a configuration from git
# (t0710, t0720, t3600, t3610); sourced after lib.sh, not run.  The
# repositories are made with the git CLI: test scaffolding (virtform itself
# reads them with libgit2).
#
#   . "$(dirname "$0")/git-lib.sh"
#   git_fixture repo infra        # $W, $R = $TMP/repo.git, $S, $W/infra

# git_fixture NAME SUBDIR: a git identity of the test's own (HOME under
# $TMP, no system configuration, default branch main); a work repository
# $W with the directory SUBDIR, a bare repository $R ($TMP/NAME.git) to
# push to, and $S, the state directory's name.
git_fixture() {
	export GIT_CONFIG_NOSYSTEM=1 HOME="$TMP/home"
	mkdir -p "$HOME"
	git config --global user.name "Test Author"
	git config --global user.email test@example.org
	git config --global init.defaultBranch main
	W="$TMP/work"
	R="$TMP/$1.git"
	S="$TMP/state"
	git init -q "$W" && git init -q --bare "$R"
	mkdir "$W/$2"
}

vm_yaml() {   # vm_yaml MEMORY [URI]: one VM v on host fake (libvirt's test driver)
	cat <<EOF
version: 1
clusters: [{name: local}]
hosts: [{name: fake, uri: "${2:-test:///default}"}]
vms: [{name: v, cpus: 1, memory: $1}]
EOF
}
# a configuration with one error: memory 2G at line 4, column 32
bad_yaml() { printf 'version: 1\nclusters: [{name: local}]\nvms:\n  - {name: x, cpus: 1, memory: 2G}\n'; }

# push ARGS...: git push from $W; $out/$err/$rc of it (the hooks' output is in $err)
push() {
	git -C "$W" push "$@" >"$TMP/.out" 2>"$TMP/.err"
	rc=$?; out=$(cat "$TMP/.out"); err=$(cat "$TMP/.err")
}
# head_of BRANCH: the commit of BRANCH in $R, or "none"
head_of() { git -C "$R" rev-parse -q --verify "refs/heads/$1" 2>/dev/null || echo none; }

# ssh_key NAME: an ed25519 key pair $TMP/NAME, $TMP/NAME.pub without a passphrase
ssh_key() { ssh-keygen -q -t ed25519 -N "" -C "$1" -f "$TMP/$1"; }
# allow_key NAME: $TMP/allowed, OpenSSH allowed signers: NAME's key signs
# git commits as ops@example.org
allow_key() { echo "ops@example.org namespaces=\"git\" $(cat "$TMP/$1.pub")" >"$TMP/allowed"; }
# signed_commit KEY ARGS...: git commit -q -S ARGS... in $W, signed with the SSH key $TMP/KEY
signed_commit() {
	_key=$1; shift
	git -C "$W" -c gpg.format=ssh -c user.signingkey="$TMP/$_key" commit -q -S "$@"
}

# the gpg-agents gpg starts for the test's GNUPGHOMEs end with the test
at_exit 'for _h in "$TMP/gnupg" "$TMP/gnupg-rev"; do [ ! -d "$_h" ] || gpgconf --homedir "$_h" --kill gpg-agent 2>/dev/null; done'

# gpg_key NAME: an ed25519 OpenPGP signing key "NAME <NAME@example.org>"
# without a passphrase, in the test's own GNUPGHOME ($TMP/gnupg); its
# public key exported to $TMP/NAME.gpg (binary) and $TMP/NAME.asc (armored)
gpg_key() {
	mkdir -p "$TMP/gnupg" && chmod 700 "$TMP/gnupg" &&
	GNUPGHOME="$TMP/gnupg" gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "$1 <$1@example.org>" ed25519 sign never 2>/dev/null &&
	GNUPGHOME="$TMP/gnupg" gpg --batch --export "$1@example.org" >"$TMP/$1.gpg" &&
	GNUPGHOME="$TMP/gnupg" gpg --batch --export -a "$1@example.org" >"$TMP/$1.asc"
}
# gpg_revoked NAME: $TMP/NAME-revoked.gpg, NAME's public key with its
# revocation (a copy of the GNUPGHOME revokes it, the test's stays valid)
gpg_revoked() {
	rm -rf "$TMP/gnupg-rev" && cp -r "$TMP/gnupg" "$TMP/gnupg-rev" &&
	_fpr=$(GNUPGHOME="$TMP/gnupg-rev" gpg --batch --with-colons --list-keys "$1@example.org" |
		awk -F: '$1 == "fpr" { print $10; exit }') &&
	sed 's/^:-----BEGIN/-----BEGIN/' "$TMP/gnupg-rev/openpgp-revocs.d/$_fpr.rev" >"$TMP/rev.asc" &&
	GNUPGHOME="$TMP/gnupg-rev" gpg --batch --quiet --import "$TMP/rev.asc" 2>/dev/null &&
	GNUPGHOME="$TMP/gnupg-rev" gpg --batch --export "$1@example.org" >"$TMP/$1-revoked.gpg"
}
# gpg_commit NAME ARGS...: git commit -q -S ARGS... in $W, signed with NAME's OpenPGP key
gpg_commit() {
	_name=$1; shift
	GNUPGHOME="$TMP/gnupg" git -C "$W" -c gpg.format=openpgp \
		-c user.signingkey="$_name@example.org" commit -q -S "$@"
}
