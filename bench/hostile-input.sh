#!/bin/sh
# Benchmark: what hostile input costs (issue 13, "a push must not be able to
# tie up the server").  Prints wall time and peak RSS of `virtform validate`
# for:
#   - a mapping merging N keys from an anchor (<<: *a) and adding N of its own;
#   - N anchors, each aliased once;
#   - a commit whose tree names one 15 MiB blob 60 times (refused by the
#     limits on what one commit may hold, before anything is read).
# Before the fixes: 19 s (100k merged keys), 60 s (80k anchors), 23 s and
# 956 MB (the commit).  A benchmark prints figures; it is not a pass/fail
# test (tests/unit/test-load.c and tests/t0710-git.sh are).
#
#   bench/hostile-input.sh [N]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
vf=${VIRTFORM:-$top/virtform}
n=${1:-100000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/vf-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT

measure() {   # measure LABEL CMD...: one line, wall seconds and peak RSS
	_label=$1; shift
	/usr/bin/time -f "%e %M" -o "$dir/time" "$@" >/dev/null 2>&1 || true
	read -r _wall _rss <<EOF
$(tail -n 1 "$dir/time")
EOF
	printf '%-40s %8s s %8s KiB\n' "$_label" "$_wall" "$_rss"
}

# yaml KIND: two hosts whose labels hold n keys each, the second's built
# from the first's: "merge", the first is an anchor merged whole (<<: *l);
# "anchors", each key of the first is an anchor the second aliases once.
yaml() {
	awk -v n="$n" -v kind="$1" '
	function host(name, labels) {
		printf "  - name: %s\n", name
		print "    uri: \"qemu:///system\""
		print "    labels:" labels
	}
	BEGIN {
		merge = kind == "merge"
		print "version: 1"
		print "clusters: [{name: c}]"
		print "hosts:"
		host("h1", merge ? " &l" : "")
		for (i = 0; i < n; i++) printf merge ? "      k%d: v\n" : "      k%d: &a%d v\n", i, i
		host("h2", "")
		if (merge)
			print "      <<: *l"
		for (i = 0; i < n; i++) printf merge ? "      j%d: v\n" : "      j%d: *a%d\n", i, i
	}' >"$dir/$1.yaml"
}

yaml merge
measure "merge keys: $n merged + $n own" "$vf" validate "$dir/merge.yaml"
yaml anchors
measure "anchors: $n, each aliased once" "$vf" validate "$dir/anchors.yaml"

export GIT_CONFIG_NOSYSTEM=1 HOME="$dir"
git init -q --bare "$dir/big.git"
yes "# padding of a large configuration file, 64 bytes a line......" |
	head -c $((15 << 20)) >"$dir/big.yaml"
blob=$(git --git-dir="$dir/big.git" hash-object -w "$dir/big.yaml")
tree=$(i=0; while [ $i -lt 60 ]; do printf '100644 blob %s\tf%02d.yaml\n' "$blob" $i;
	i=$((i + 1)); done | git --git-dir="$dir/big.git" mktree)
commit=$(git --git-dir="$dir/big.git" -c user.name=b -c user.email=b@example.org \
	commit-tree -m big "$tree")
git --git-dir="$dir/big.git" update-ref refs/heads/main "$commit"
git --git-dir="$dir/big.git" symbolic-ref HEAD refs/heads/main
measure "a commit: one 15 MiB blob under 60 names" \
	env VIRTFORM_STATE_DIR="$dir/state" "$vf" validate --git "$dir/big.git"
