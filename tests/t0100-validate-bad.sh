#!/bin/sh
# validate on a corpus of bad files: each gets exactly its expected
# FILE:LINE:COL errors (listed in the file as "# expect: L:C: message"),
# exit status 1, nothing on stdout, and never a crash or a hang.
. "$(dirname "$0")/lib.sh"

cd "$TOP" || exit 1

# check_bad FILE EXPECTATIONS: EXPECTATIONS is "L:C: message" lines.
check_bad() {
	file=$1 expect=$2
	run_vf validate "$file"
	expect_rc 1 || return 1
	[ -z "$out" ] || { echo "stdout not empty: $out"; return 1; }
	want=$(printf '%s\n' "$expect" | grep -c .)
	got=$(printf '%s\n' "$err" | grep -c ': error: ')
	printf '%s\n' "$expect" | while IFS= read -r e; do
		pos=${e%%: *} msg=${e#*: }
		printf '%s\n' "$err" | grep -F -- "$file:$pos: error: " | grep -qF -- "$msg" || {
			echo "missing: $file:$pos: error: ...$msg"; echo "stderr: $err"; exit 1; }
	done || return 1
	[ "$got" -eq "$want" ] || { echo "expected $want errors, got $got:"; echo "$err"; return 1; }
}

for f in tests/bad/*.yaml; do
	if [ -s "$f" ]; then
		expect=$(sed -n 's/^# expect: //p' "$f")
	else
		expect="1:1: the file is empty"
	fi
	test_expect "$(basename "$f" .yaml): $(printf '%s' "$expect" | head -n 1)" \
		'check_bad "$f" "$expect"'
done

# Inputs that cannot be committed as files.
head -c $((16 * 1024 * 1024 + 1)) /dev/zero | tr '\0' '#' > "$TMP/big.yaml"
test_expect 'a file over 16 MiB is refused' '
	check_bad "$TMP/big.yaml" "1:1: file is larger than 16 MiB"'

mkfifo "$TMP/fifo.yaml"
test_expect 'a FIFO is refused without blocking' '
	check_bad "$TMP/fifo.yaml" "1:1: not a regular file"'

mkdir "$TMP/empty-dir"
touch "$TMP/empty-dir/notes.txt" "$TMP/empty-dir/.hidden.yaml"
test_expect 'a directory without YAML files is an error' '
	run_vf validate "$TMP/empty-dir" && expect_rc 1 &&
	expect_contains "$err" "$TMP/empty-dir: error: no *.yaml or *.yml files in this directory"'

mkdir "$TMP/dangling"
ln -s /nonexistent/x.yaml "$TMP/dangling/a.yaml"
test_expect 'an unreadable file in a directory is reported by name' '
	run_vf validate "$TMP/dangling" && expect_rc 1 &&
	expect_contains "$err" "$TMP/dangling/a.yaml:1:1: error: cannot open: No such file or directory"'

test_expect 'a missing CONFIG path is an error' '
	run_vf validate "$TMP/does-not-exist" && expect_rc 1 &&
	expect_contains "$err" "cannot read configuration: No such file or directory"'

mkdir "$TMP/split"
printf 'version: 1\nclusters: [{name: prod}]\nhosts:\n  - {name: h1, uri: "qemu:///system"}\n' > "$TMP/split/a.yaml"
printf 'hosts:\n  - name: h1\n    uri: "qemu:///system"\n' > "$TMP/split/b.yml"
test_expect 'a name defined in two files names both places' '
	run_vf validate "$TMP/split" && expect_rc 1 &&
	expect_contains "$err" "$TMP/split/b.yml:2:5: error: host '"'"'h1'"'"' is defined twice (first at $TMP/split/a.yaml:4:5)"'

# A name with a terminal escape (YAML "\e[31m"): the error quotes it, but
# never as the bytes a terminal or a CI log would act on.
mkdir "$TMP/escape"
cat >"$TMP/escape/virtform.yaml" <<'EOF'
version: 1
clusters: [{name: local}]
hosts: [{name: h1, uri: "qemu:///system"}]
vms: [{name: "ev\e[31mil\u009b", cpus: 1, memory: 64MiB}]
EOF
test_expect 'control characters in a name are escaped in the error text' '
	"$VIRTFORM" validate "$TMP/escape" >"$TMP/esc.out" 2>"$TMP/esc.err"; rc=$?
	cat "$TMP/esc.err"
	[ "$rc" -eq 1 ] &&
	! grep -qP "[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]" "$TMP/esc.err" "$TMP/esc.out" &&
	grep -qF "vm #1: invalid name '\''ev\x1b[31mil\u009b'\''" "$TMP/esc.err"'

test_expect 'and encoded as JSON escapes in --json' '
	"$VIRTFORM" validate --json "$TMP/escape" >"$TMP/esc.json" 2>"$TMP/esc.jerr"; rc=$?
	cat "$TMP/esc.json"
	[ "$rc" -eq 1 ] &&
	! grep -qP "[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]" "$TMP/esc.json" "$TMP/esc.jerr" &&
	python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert any(\"ev\x1b[31mil\x9b\" in g[\"message\"] for g in d[\"diagnostics\"]), d
" "$TMP/esc.json"'

# A VM or host without a (valid) name is named by its position in every
# error about it, never "(null)".
mkdir "$TMP/noname"
cat >"$TMP/noname/virtform.yaml" <<'EOF'
version: 1
clusters: [{name: a}, {name: b}]
hosts: [{name: h1, uri: "qemu:///system", cluster: a}, {uri: "qemu:///system"}]
vms: [{cpus: 1, memory: 64MiB}, {name: "b@d", cpus: 1, memory: 64MiB}]
EOF
test_expect 'an object without a name is named by its position, never (null)' '
	run_vf validate "$TMP/noname" && expect_rc 1 &&
	expect_not_contains "$err" "(null)" &&
	expect_contains "$err" "4:7: error: vm #1 has no cluster" &&
	expect_contains "$err" "4:33: error: vm #2 has no cluster" &&
	expect_contains "$err" "error: host #2 has no cluster"'

# Random garbage must never crash the loader.
i=0
while [ $i -lt 20 ]; do
	head -c 2000 /dev/urandom > "$TMP/garbage$i.yaml"
	i=$((i + 1))
done
test_expect 'random bytes give errors, never a crash' '
	for g in "$TMP"/garbage*.yaml; do
		run_vf validate "$g"
		[ "$rc" -eq 1 ] || { echo "$g: exit $rc"; exit 1; }
	done'

# An image file that is a symbolic link out of the configuration's
# directory (a repository can commit one): refused at validate; the
# operator's VIRTFORM_IMAGE_PATH allows an absolute path, and only there.
mkdir -p "$TMP/img/images"
ln -s /etc/hostname "$TMP/img/images/disk.qcow2"
printf 'version: 1\nclusters: [{name: c}]\nstorage_domains: [{name: s, type: dir, path: /srv/s}]\nimages:\n  - {name: i, storage: s, file: images/disk.qcow2}\n' >"$TMP/img/c.yaml"
test_expect 'an image file linked out of the configuration directory is refused' '
	run_vf validate "$TMP/img" && expect_rc 1 &&
	expect_contains "$err" "$TMP/img/c.yaml:5:33: error: image '"'"'i'"'"': image file '"'"'$TMP/img/images/disk.qcow2'"'"' resolves to '"'"'/etc/hostname'"'"', outside '"'"'$TMP/img'"'"'"'
printf 'version: 1\nclusters: [{name: c}]\nstorage_domains: [{name: s, type: dir, path: /srv/s}]\nimages:\n  - {name: i, storage: s, file: /etc/hostname}\n' >"$TMP/img2.yaml"
test_expect 'VIRTFORM_IMAGE_PATH (the operator) allows an absolute image file under it' '
	VIRTFORM_IMAGE_PATH=/srv:/etc run_vf validate "$TMP/img2.yaml" && expect_rc 0 &&
	VIRTFORM_IMAGE_PATH=/etc/hostname.d:/et run_vf validate "$TMP/img2.yaml" && expect_rc 1'

# Scheduling keys the plan does not carry out yet are accepted, with a
# warning each, and validate still succeeds.
cat >"$TMP/sched.yaml" <<'YAML'
version: 1
clusters:
  - {name: c, rebalance: {threshold: 20%}}
hosts:
  - {name: h1, cluster: c, uri: "test:///default", maintenance: true}
  - {name: h2, cluster: c, uri: "test:///default"}
vms:
  - {name: a, cluster: c, cpus: 1, memory: 1GiB}
  - {name: b, cluster: c, cpus: 1, memory: 1GiB}
affinity_groups:
  - {name: apart, vms: [a, b], vm_rule: negative}
YAML
test_expect 'maintenance, affinity groups and rebalance warn that they are not carried out yet' '
	run_vf validate "$TMP/sched.yaml" && expect_rc 0 &&
	expect_contains "$out" "ok: 2 hosts" &&
	expect_contains "$err" "sched.yaml:5:5: warning: host '"'"'h1'"'"': maintenance is not carried out yet" &&
	expect_contains "$err" "sched.yaml:11:5: warning: affinity group '"'"'apart'"'"': validate checks it, but placement does not follow it yet" &&
	expect_contains "$err" "sched.yaml:3:5: warning: cluster '"'"'c'"'"': rebalance and migration settings are not carried out yet" &&
	[ "$(printf "%s\n" "$err" | grep -c ": warning: ")" -eq 3 ]'

test_done
