# tests/lib.sh — TAP helpers for virtform's shell tests (sourced, not run).
#
#   . "$(dirname "$0")/lib.sh"
#   test_expect 'title' 'shell commands; last status decides'
#   run_vf validate examples/quickstart   # sets $out, $err, $rc
#   test_done
#
# Each test script runs in its own scratch directory ($TMP), removed at exit.
# $VIRTFORM is the binary under test (set by `make check`); $TOP the tree.

set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
: "${VIRTFORM:=$TOP/virtform}"
export VIRTFORM TOP
TMP=$(mktemp -d "${TMPDIR:-/tmp}/vftest.XXXXXX")
_vf_cleanups=""
trap '_vf_run_cleanups; rm -rf "$TMP"' EXIT
_n=0
_failed=0

# Register a command to run when the script exits (lab shutdown, ...).
at_exit() { _vf_cleanups="$1
$_vf_cleanups"; }
_vf_run_cleanups() { [ -n "$_vf_cleanups" ] && eval "$_vf_cleanups"; return 0; }

diag() { printf '# %s\n' "$*" | sed '2,$s/^/# /'; }

ok() {   # ok STATUS TITLE
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		printf 'ok %d - %s\n' "$_n" "$2"
	else
		printf 'not ok %d - %s\n' "$_n" "$2"
		_failed=$((_failed + 1))
	fi
}

# test_expect TITLE SCRIPT: run SCRIPT in a subshell with set -e semantics
# off; its exit status decides.  On failure its output is shown as TAP
# comments.
test_expect() {
	_title=$1; _script=$2
	_log="$TMP/.log.$_n"
	( eval "$_script" ) >"$_log" 2>&1
	_st=$?
	ok "$_st" "$_title"
	if [ "$_st" -ne 0 ]; then
		sed 's/^/#   /' "$_log"
	fi
	return 0
}

# run_vf ARGS...: run virtform, capture stdout in $out, stderr in $err,
# exit status in $rc.  Never fails itself.
run_vf() {
	"$VIRTFORM" "$@" >"$TMP/.out" 2>"$TMP/.err"
	rc=$?
	out=$(cat "$TMP/.out")
	err=$(cat "$TMP/.err")
	return 0
}

# Assertions usable inside test_expect scripts; each prints what it saw.
expect_rc() {   # expect_rc WANT
	[ "$rc" -eq "$1" ] && return 0
	echo "exit status $rc, expected $1"; echo "stdout: $out"; echo "stderr: $err"; return 1
}
expect_contains() {   # expect_contains HAYSTACK NEEDLE
	case "$1" in *"$2"*) return 0 ;; esac
	echo "expected to find: $2"; echo "in: $1"; return 1
}
expect_not_contains() {
	case "$1" in *"$2"*) echo "did not expect: $2"; echo "in: $1"; return 1 ;; esac
	return 0
}

test_done() {
	printf '1..%d\n' "$_n"
	[ "$_failed" -eq 0 ]
}

# Fixtures more than one test uses.

# quickstart_config DIR: one VM on libvirt's in-process test driver, in
# DIR/virtform.yaml (DIR made).
quickstart_config() {
	mkdir -p "$1" &&
	printf 'version: 1\nclusters: [{name: local}]\nhosts: [{name: fake, uri: "test:///default"}]\nvms: [{name: v, cpus: 1, memory: 64MiB}]\n' >"$1/virtform.yaml"
}

# seal_keys: a key pair for sealed values in $TMP/keys; $KEY its secret key.
# seal TEXT: TEXT sealed to it (the base64 that goes in {sealed: ...}).
seal_keys() {
	"$VIRTFORM" keygen --out "$TMP/keys" >/dev/null 2>&1 || echo "keygen failed" >&2
	KEY="$TMP/keys/virtform.key"
}
seal() { printf '%s' "$1" | "$VIRTFORM" seal --public-key "$TMP/keys/virtform.pub" --raw; }
