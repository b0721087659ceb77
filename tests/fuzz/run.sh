#!/bin/sh
# run.sh BUILD SECONDS TARGET...: run each libFuzzer target
# BUILD/fuzz/fuzz-TARGET for SECONDS seconds, one after the other (nice 10:
# the machine is shared), from the committed seeds (tests/fuzz/corpus/TARGET)
# and regression inputs (tests/fuzz/regressions/TARGET).  `make fuzz` runs
# it; docs/fuzzing.md explains the targets and the figures.
#
# What the fuzzer finds goes to a scratch directory, never into the tree:
# FUZZ_OUT (default BUILD/fuzz-out)/TARGET/{corpus,artifacts,log}.  The
# scratch corpus is kept, so a later run goes on from it.
#
# Exit status 0 when every target ran its time without a crash, a leak, a
# timeout (an input taking over 10 s) or running out of memory (2 GiB);
# else 1, after naming each reproducer and how to replay it.
set -u

[ $# -ge 3 ] || { echo "usage: $0 BUILD SECONDS TARGET..." >&2; exit 2; }
build=$1 seconds=$2
shift 2
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_OUT:-$build/fuzz-out}
# libgit2's and libvirt's dependencies' known leaks (tests/lsan.supp says which)
LSAN_OPTIONS=suppressions=$top/tests/lsan.supp:print_suppressions=0
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS UBSAN_OPTIONS

failed=
for t in "$@"; do
	bin=$build/fuzz/fuzz-$t
	# the largest input worth trying: a little over the largest seed
	case $t in
	yaml|saved) max_len=65536 ;;
	hostspec) max_len=16384 ;;
	hook) max_len=4096 ;;
	*) max_len=8192 ;;
	esac
	set -- "$top/tests/fuzz/corpus/$t"
	[ -d "$top/tests/fuzz/regressions/$t" ] && set -- "$@" "$top/tests/fuzz/regressions/$t"
	dict=
	[ -f "$top/tests/fuzz/$t.dict" ] && dict=-dict=$top/tests/fuzz/$t.dict
	rm -rf "$out/$t/artifacts"
	mkdir -p "$out/$t/corpus" "$out/$t/artifacts"
	echo "fuzz: $t: $seconds s (max_len $max_len; log $out/$t/log)"
	# -close_fd_mask=3: the targets' own output is silenced; libFuzzer's
	# and the sanitizers' reports still reach the log
	# shellcheck disable=SC2086
	nice -n 10 "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len="$max_len" $dict -close_fd_mask=3 -print_final_stats=1 \
		-artifact_prefix="$out/$t/artifacts/" "$out/$t/corpus" "$@" >"$out/$t/log" 2>&1
	rc=$?
	# the last status line: "#N DONE cov: C ft: F corp: N/S ..."
	last=$(grep -E '^#[0-9]+' "$out/$t/log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t/log")
	echo "fuzz: $t: ${execs:-?} executions; ${last:-no status line}"
	found=$(ls "$out/$t/artifacts" | grep -E '^(crash|leak|timeout|oom)-' || true)
	if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
		failed="$failed $t"
		echo "fuzz: $t: FAILED (exit $rc); the end of $out/$t/log:"
		tail -n 40 "$out/$t/log" | sed 's/^/    /'
		for a in $found; do
			echo "fuzz: $t: reproducer $out/$t/artifacts/$a"
			echo "      replay: $bin $out/$t/artifacts/$a"
			echo "      (or with gcc: make unit && build/fuzz/replay-$t $out/$t/artifacts/$a)"
		done
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: FAILED:$failed (docs/fuzzing.md: add the reproducer to tests/fuzz/regressions/TARGET/ with the fix)"
	exit 1
fi
echo "fuzz: every target ran $seconds s without a finding"
