#!/bin/sh
# The command line: help, version, dispatch, did-you-mean for commands and
# options, exit codes, the default CONFIG.
. "$(dirname "$0")/lib.sh"

test_expect 'virtform help lists the commands and exit codes' '
	run_vf help && expect_rc 0 &&
	expect_contains "$out" "validate" && expect_contains "$out" "hosts" &&
	expect_contains "$out" "2  changes present"'

test_expect 'no command prints usage and fails' '
	run_vf && expect_rc 1 && expect_contains "$out" "usage: virtform <command>"'

test_expect '--help is help' '
	run_vf --help && expect_rc 0 && expect_contains "$out" "Commands:"'

test_expect '--version prints the version' '
	run_vf --version && expect_rc 0 &&
	expect_contains "$out" "virtform $(cat "$TOP/VERSION")"'

test_expect 'an unknown command suggests the nearest' '
	run_vf valdate && expect_rc 1 &&
	expect_contains "$err" "unknown command '"'"'valdate'"'"'; did you mean '"'"'validate'"'"'?"'

test_expect 'an unknown command with nothing near points at help' '
	run_vf frobnicate && expect_rc 1 && expect_contains "$err" "see '"'"'virtform help'"'"'"'

test_expect 'an unknown option suggests the nearest' '
	run_vf hosts --jsn && expect_rc 1 &&
	expect_contains "$err" "unknown option '"'"'--jsn'"'"'; did you mean '"'"'--json'"'"'?"'

test_expect 'an unknown short option is reported' '
	run_vf validate -x && expect_rc 1 && expect_contains "$err" "unknown option '"'"'-x'"'"'"'

test_expect 'an unknown global option is reported' '
	run_vf --verison && expect_rc 1 &&
	expect_contains "$err" "did you mean '"'"'--version'"'"'?"'

test_expect 'an option missing its value is reported' '
	run_vf hosts --timeout && expect_rc 1 && expect_contains "$err" "needs a value"'

test_expect 'a bad --timeout is refused' '
	run_vf hosts --timeout=-3 "$TOP/examples/quickstart" && expect_rc 1 &&
	expect_contains "$err" "timeout"'

for c in validate hosts help version; do
	test_expect "virtform $c --help" '
		run_vf '"$c"' --help && expect_rc 0 && expect_contains "$out" "usage: virtform '"$c"'"'
	test_expect "virtform help $c is the same text" '
		run_vf '"$c"' --help; a=$out; run_vf help '"$c"'; [ "$a" = "$out" ]'
done

test_expect 'command help documents exit codes' '
	run_vf validate --help && expect_contains "$out" "Exit status"'

test_expect 'CONFIG defaults to the current directory' '
	cd "$TOP/examples/quickstart" && run_vf validate && expect_rc 0 &&
	expect_contains "$out" "ok: "'

test_expect 'two CONFIG arguments are refused' '
	run_vf validate a b && expect_rc 1 && expect_contains "$err" "at most one CONFIG"'

test_expect 'options may follow CONFIG' '
	run_vf validate "$TOP/examples/quickstart" --help && expect_rc 0'

# validate --json: the same diagnostics as the text, for editors and CI.
json_summary() {   # valid, hosts, vms, number of diagnostics
	printf '%s\n' "$out" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
c = d.get("counts", {})
print(d["valid"], c.get("hosts"), c.get("vms"), len(d["diagnostics"]))'
}
json_as_text() {   # the diagnostics rendered like the text output
	printf '%s\n' "$out" | /usr/bin/python3 -c '
import json, sys
for x in json.load(sys.stdin)["diagnostics"]:
    hint = "; " + x["hint"] if x["hint"] else ""
    print("%s:%d:%d: %s: %s%s" % (x["file"], x["line"], x["column"], x["severity"], x["message"], hint))'
}

test_expect 'validate --json on a valid config: valid, counts, no diagnostics' '
	run_vf validate --json "$TOP/examples/abc-local" && expect_rc 0 &&
	[ "$(json_summary)" = "True 2 5 0" ]'

test_expect 'validate --json on a bad config: every error with file, line, column' '
	run_vf validate "$TOP/tests/bad/dangling-refs.yaml" &&
	printf "%s\n" "$err" | grep ": error: " > "$TMP/from-text" &&
	run_vf validate --json "$TOP/tests/bad/dangling-refs.yaml" && expect_rc 1 &&
	[ "$(json_summary)" = "False None None 7" ] &&
	json_as_text > "$TMP/from-json" &&
	diff "$TMP/from-text" "$TMP/from-json"'

# Options are exact: getopt_long would take an unambiguous prefix ("--auto"
# for "--auto-approve"); an approval must never be guessed.
QS="$TMP/qs"
quickstart_config "$QS"

test_expect 'destroy --auto is not --auto-approve: refused, nothing destroyed' '
	run_vf destroy --auto "$QS" && expect_rc 1 &&
	expect_contains "$err" "unknown option '"'"'--auto'"'"'; did you mean '"'"'--auto-approve'"'"'?" &&
	expect_not_contains "$out" "Destroy" && [ ! -e "$QS/.virtform" ]'

test_expect 'apply --auto and --auto= are refused too' '
	run_vf apply "$QS" --auto && expect_rc 1 &&
	expect_contains "$err" "did you mean '"'"'--auto-approve'"'"'?" &&
	run_vf apply --auto=yes "$QS" && expect_rc 1 &&
	expect_contains "$err" "unknown option '"'"'--auto'"'"'" && [ ! -e "$QS/.virtform" ]'

test_expect 'a prefix of an option taking a value is refused, in both forms' '
	run_vf plan --state "$TMP/st" "$QS" && expect_rc 1 &&
	expect_contains "$err" "unknown option '"'"'--state'"'"'; did you mean '"'"'--state-dir'"'"'?" &&
	run_vf plan "$QS" --state="$TMP/st" && expect_rc 1 &&
	expect_contains "$err" "did you mean '"'"'--state-dir'"'"'?" && [ ! -e "$TMP/st" ]'

test_expect 'prefixes are refused by every command' '
	run_vf validate --js "$QS" && expect_rc 1 && expect_contains "$err" "'"'"'--json'"'"'?" &&
	run_vf hosts --time=5 "$QS" && expect_rc 1 && expect_contains "$err" "'"'"'--timeout'"'"'?" &&
	run_vf drift --fi "$QS" && expect_rc 1 && expect_contains "$err" "'"'"'--fix'"'"'?" &&
	run_vf sync --plan "$QS" && expect_rc 1 && expect_contains "$err" "'"'"'--plan-only'"'"'?" &&
	run_vf hook --auto post-receive && expect_rc 1 &&
	expect_contains "$err" "'"'"'--auto-approve'"'"'?" &&
	run_vf destroy --skip "$QS" && expect_rc 1 &&
	expect_contains "$err" "'"'"'--skip-unreachable'"'"'?" && [ ! -e "$QS/.virtform" ]'

test_expect 'a value given to an option that takes none is named plainly' '
	run_vf apply --auto-approve=yes "$QS" && expect_rc 1 &&
	expect_contains "$err" "option '"'"'--auto-approve'"'"' takes no value" &&
	run_vf hosts --json=1 "$QS" && expect_rc 1 &&
	expect_contains "$err" "option '"'"'--json'"'"' takes no value" && [ ! -e "$QS/.virtform" ]'

test_expect 'an ambiguous prefix names every option it could be' '
	run_vf plan --allow "$QS" && expect_rc 1 &&
	expect_contains "$err" "unknown option '"'"'--allow'"'"'" &&
	expect_contains "$err" "--allow-replace" && expect_contains "$err" "--allow-rewind"'

test_expect 'exact names work as --opt=value, --opt value and after CONFIG' '
	run_vf plan "$QS" --state-dir="$TMP/s1" --timeout 5 && expect_rc 0 && [ -d "$TMP/s1" ] &&
	run_vf plan --state-dir "$TMP/s2" "$QS" --detailed-exitcode && expect_rc 2 &&
	[ -d "$TMP/s2" ]'

test_expect 'a value that looks like a prefix is a value, not an option' '
	run_vf plan "$QS" --state-dir "$TMP/--auto" && expect_rc 0 &&
	[ -d "$TMP/--auto" ]'

test_expect 'hosts checks its --timeout before it loads anything' '
	run_vf hosts "$QS" --timeout 2.5x && expect_rc 1 && [ -z "$out" ] &&
	expect_contains "$err" "virtform hosts: error: invalid --timeout '"'"'2.5x'"'"'; expected a positive number of seconds"'

test_done
