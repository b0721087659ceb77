#!/bin/sh
# The fuzz targets' inputs, replayed through the normal build: every input
# a fuzzer once crashed on (tests/fuzz/regressions/TARGET/) and the seed
# corpus (tests/fuzz/corpus/TARGET/) run through build/fuzz/replay-TARGET
# (the target's code with tests/fuzz/replay.c as main, built by `make
# unit`) without a crash; under `make asan` the same replays run with
# AddressSanitizer and UBSan, which is what the fuzzer checks.  YAML
# regressions also go through `virtform validate`, saved plan ones through
# `virtform show`.  No clang, no libFuzzer:
# `make fuzz` searches for new inputs (docs/fuzzing.md).
. "$(dirname "$0")/lib.sh"

bin=${VF_BUILD:-$TOP/build}/fuzz
fz=$TOP/tests/fuzz

# replay TARGET FILE|DIR: exit 0 and no sanitizer report
replay() {
	"$bin/replay-$1" "$2" >"$TMP/replay.out" 2>"$TMP/replay.err"
	rc=$?
	if [ "$rc" -ne 0 ] || grep -qE 'runtime error|ERROR: (Address|Leak)Sanitizer' "$TMP/replay.err"; then
		echo "replay-$1 $2: exit $rc"
		tail -n 30 "$TMP/replay.out" "$TMP/replay.err"
		return 1
	fi
}

for t in yaml saved hostspec hook; do
	if [ -d "$fz/regressions/$t" ]; then
		for f in "$fz/regressions/$t"/*; do
			test_expect "$t regression $(basename "$f"): replays without a crash" \
				'replay "$t" "$f"'
		done
	fi
	test_expect "$t: the seed corpus ($(ls "$fz/corpus/$t" | wc -l) inputs) replays without a crash" \
		'replay "$t" "$fz/corpus/$t"'
done

for f in "$fz"/regressions/yaml/*; do
	test_expect "validate $(basename "$f"): an error, exit 1, no crash" '
		run_vf validate "$f" && expect_rc 1 &&
		expect_contains "$err" ": error: "'
done

# libgit2 reads the first 40 digits of a longer id: the hook must not
test_expect 'hook: an id with digits after the 40 is not a commit id' '
	VF_FUZZ_VERBOSE=1 "$bin/replay-hook" "$fz/regressions/hook/id-with-suffix" >"$TMP/o" 2>&1
	grep -q "refs/heads/main: .* is not a commit id" "$TMP/o" || { cat "$TMP/o"; exit 1; }'

for f in "$fz"/regressions/saved/*; do
	test_expect "show $(basename "$f"): printed or refused, no crash" '
		run_vf show "$f" && [ "$rc" -le 1 ] || { echo "exit $rc: $err"; exit 1; }'
done

test_done
