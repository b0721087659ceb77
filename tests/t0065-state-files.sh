#!/bin/sh
# The files virtform keeps: a state directory others can write is refused
# (they could plant files or symlinks where virtform writes), temporary
# files are never opened at a name someone could have planted, and an
# apply whose state cannot be saved (a full disk: a small tmpfs as the
# state directory) fails and says what is recorded where.  The one host
# is libvirt's in-process test driver: applies really run, nowhere.
# Needs root (mount, chown).
. "$(dirname "$0")/lib.sh"

QS="$TMP/qs"
quickstart_config "$QS"

test_expect 'a world-writable state directory is refused, with what to do' '
	mkdir -m 777 "$TMP/open" && chmod 777 "$TMP/open" &&
	run_vf plan "$QS" --state-dir "$TMP/open" && expect_rc 1 &&
	expect_contains "$err" "the state directory '\''$TMP/open'\'' is writable by its group and others (mode 0777)" &&
	expect_contains "$err" "chmod go-w '\''$TMP/open'\''" &&
	[ -z "$(ls -A "$TMP/open")" ]'

test_expect 'a group-writable state directory is refused; chmod go-w is enough' '
	mkdir -m 770 "$TMP/group" && chmod 770 "$TMP/group" &&
	run_vf apply "$QS" --auto-approve --state-dir "$TMP/group" && expect_rc 1 &&
	expect_contains "$err" "is writable by its group (mode 0770)" &&
	[ -z "$(ls -A "$TMP/group")" ] &&
	chmod go-w "$TMP/group" &&
	run_vf plan "$QS" --state-dir "$TMP/group" && expect_rc 0'

test_expect 'a state directory owned by another user is refused' '
	mkdir -m 700 "$TMP/theirs" && chown nobody "$TMP/theirs" &&
	run_vf plan "$QS" --state-dir "$TMP/theirs" && expect_rc 1 &&
	expect_contains "$err" "belongs to uid $(id -u nobody), not to you"'

test_expect 'the host network state directory is refused the same way' '
	mkdir -m 777 "$TMP/hostdir" && chmod 777 "$TMP/hostdir" &&
	run_vf host confirm --token 0123456789abcdef0123456789abcdef \
		--state-file "$TMP/hostdir/hostnet.json" &&
	expect_rc 1 &&
	expect_contains "$err" "the host network state directory '\''$TMP/hostdir'\'' is writable by its group and others" &&
	[ -z "$(ls -A "$TMP/hostdir")" ]'

# Before: state.json.tmp.PID, opened O_CREAT|O_TRUNC: a symlink planted
# there (exec keeps the pid the name was made with) was followed, and the
# file it points to overwritten with the state.
test_expect 'a symlink planted at the old predictable temporary name is not followed' '
	mkdir -m 700 "$TMP/st" &&
	echo "precious" >"$TMP/victim" &&
	sh -c "ln -s \"$TMP/victim\" \"$TMP/st/state.json.tmp.\$\$\" &&
	       exec \"$VIRTFORM\" apply \"$QS\" --auto-approve --state-dir \"$TMP/st\"" \
		>"$TMP/symlink.out" 2>&1; rc=$?
	cat "$TMP/symlink.out"
	[ "$rc" -eq 0 ] && [ "$(cat "$TMP/victim")" = "precious" ] &&
	grep -q "\"address\": \"vm.v\"" "$TMP/st/state.json" &&
	[ ! -L "$TMP/st/state.json" ] &&
	[ -z "$(find "$TMP/st" -name ".state.json.*")" ]'

# Room for the lock, state.json and the journal (a page each), none for
# the new state.json: the apply itself runs, its final save fails.
mkdir -m 700 "$TMP/full"
mount -t tmpfs -o size=12k,mode=0700 virtform-test "$TMP/full" || echo "Bail out! cannot mount a tmpfs"
at_exit "umount \"$TMP/full\""
test_expect 'an apply whose state cannot be saved (disk full) exits 1 and says where it is recorded' '
	run_vf apply "$QS" --auto-approve --state-dir "$TMP/full"
	expect_rc 1 &&
	expect_contains "$out" "vm.v on fake: created" &&
	expect_contains "$out" "the state could not be saved" &&
	expect_contains "$err" "cannot write the state '\''$TMP/full/state.json'\'': No space left on device" &&
	expect_contains "$err" "recorded in the journal '\''$TMP/full/journal'\''" &&
	expect_contains "$err" "run '\''virtform plan'\''" &&
	expect_not_contains "$out$err" "warning: cannot write the state" &&
	[ -z "$(find "$TMP/full" -name ".state.json.*")" ] &&
	mount -o remount,size=1m "$TMP/full" &&
	run_vf plan "$QS" --state-dir "$TMP/full" && expect_rc 0 &&
	grep -q "\"address\": \"vm.v\"" "$TMP/full/state.json" &&
	[ ! -e "$TMP/full/journal" ]'

test_expect 'output that cannot be written (a full disk) is a failure' '
	"$VIRTFORM" validate --json "$QS" >/dev/full 2>"$TMP/full.err"; rc=$?
	[ "$rc" -eq 1 ] &&
	grep -q "cannot write the output: No space left on device" "$TMP/full.err"'

test_done
