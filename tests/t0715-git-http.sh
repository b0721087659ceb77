#!/bin/sh
# Fetching a configuration from a git server that wants a user name and a
# password (a token), over smart HTTP: git http-backend behind Basic
# authentication (tests/git-http-server.py), on 127.0.0.1 only.  The
# credentials come from VIRTFORM_GIT_USERNAME / VIRTFORM_GIT_PASSWORD and
# nowhere else; a server that asks without them, or refuses them, is a
# clear error (no prompt, no retry loop); the token reaches no output, the
# state, the log of applied commits or the git cache.  The SSH side
# (keys, ssh-agent, known hosts) is tests/t3640-git-ssh-lab.sh.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/git-lib.sh"

git_fixture repo infra     # $W, $R, $S
unset VIRTFORM_GIT_USERNAME VIRTFORM_GIT_PASSWORD SSH_AUTH_SOCK
TOKEN='vfh-T0ken-5531-secret'
vm_yaml 64MiB >"$W/infra/vms.yaml"
git -C "$W" add -A && git -C "$W" commit -q -m "over http" && git -C "$W" push -q "$R" main

/usr/bin/python3 "$TOP/tests/git-http-server.py" "$TMP" vf-user "$TOKEN" "$TMP/port" \
	2>"$TMP/http.log" &
HTTP_PID=$!
at_exit 'kill "$HTTP_PID" 2>/dev/null; wait "$HTTP_PID" 2>/dev/null'
i=0
while [ ! -s "$TMP/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s "$TMP/port" ] || { echo "Bail out! the test's git HTTP server did not start"; exit 1; }
URL="http://127.0.0.1:$(cat "$TMP/port")/repo.git"

test_expect 'without credentials: a clear error that says where they come from' '
	run_vf validate --git "$URL" --path infra && expect_rc 1 &&
	expect_contains "$err" "cannot fetch '\''$URL'\'': the server asks for a user name and password: set VIRTFORM_GIT_USERNAME and VIRTFORM_GIT_PASSWORD (a token) in the environment"'

test_expect 'a wrong password is refused once, not retried' '
	before=$(grep -c " 401$" "$TMP/http.log") &&
	VIRTFORM_GIT_USERNAME=vf-user VIRTFORM_GIT_PASSWORD=wrong run_vf validate --git "$URL" \
		--path infra && expect_rc 1 &&
	expect_contains "$err" "the server refused the user name and password" &&
	after=$(grep -c " 401$" "$TMP/http.log") && [ $((after - before)) -le 2 ]'

test_expect 'with them: validate, then sync applies the commit' '
	VIRTFORM_GIT_USERNAME=vf-user VIRTFORM_GIT_PASSWORD="$TOKEN" run_vf validate --git "$URL" \
		--path infra && expect_rc 0 &&
	expect_contains "$out" "ok: 1 hosts" &&
	VIRTFORM_GIT_USERNAME=vf-user VIRTFORM_GIT_PASSWORD="$TOKEN" run_vf sync "$URL" \
		--path infra --state-dir "$S" --auto-approve && expect_rc 0 &&
	expect_contains "$out" "commit " && expect_contains "$out" "Apply complete" &&
	grep -q "POST /repo.git/git-upload-pack 200" "$TMP/http.log"'

test_expect 'the token is nowhere: outputs, the state, the log, the cache' '
	! grep -r -q -- "$TOKEN" "$S" "$TMP/.out" "$TMP/.err" &&
	ls "$S/git-cache" >/dev/null && [ -s "$S/git-log.jsonl" ]'

test_expect 'the SSH options need --git (or a saved plan)' '
	vm_yaml 64MiB >"$TMP/local.yaml" &&
	run_vf plan "$TMP/local.yaml" --git-ssh-key "$TMP/nokey" && expect_rc 1 &&
	expect_contains "$err" "--git-ssh-key is for fetching from git: give --git REPO[@REF] too" &&
	run_vf validate --git "$URL" --path infra --git-known-hosts "$TMP/nofile" &&
	expect_rc 1 && expect_not_contains "$err" "is for fetching from git"'

test_done
