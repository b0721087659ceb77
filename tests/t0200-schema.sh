#!/bin/sh
# The JSON schema, the examples and the loader agree.
#
# schemas/virtform.schema.json is what editors check against; `virtform
# validate` is what counts.  This test keeps them in step:
#   - the schema is valid draft-07;
#   - every example file passes the schema, every example directory passes
#     the loader with the summary counts its README promises;
#   - tests/schema/maximal.yaml uses every key of the schema and passes both;
#   - each tests/schema/wrong/*.yaml is wrong in one way, on the line marked
#     "# wrong:", and both the schema and the loader reject it there.
# Problems only the loader can see (dangling references, duplicates across
# files) are tested elsewhere, not here.
. "$(dirname "$0")/lib.sh"

# Debian's python3 with python3-jsonschema and python3-yaml (contrib/deps.sh),
# not whatever python3 comes first on PATH.
PY=/usr/bin/python3
SCHEMA=schemas/virtform.schema.json
cd "$TOP" || exit 1

schema_check() {   # schema_check FILE...: validate.py must accept them
	"$PY" tests/schema/validate.py "$@"
}

# marker_line FILE: the line number of the "# wrong:" comment (exactly one).
marker_line() {
	n=$(grep -c '# wrong:' "$1")
	[ "$n" -eq 1 ] || { echo "$1: $n '# wrong:' markers, want 1" >&2; return 1; }
	grep -n '# wrong:' "$1" | cut -d: -f1
}

# error_at TEXT FILE LINE: TEXT has a "FILE:LINE:COL: error: " diagnostic.
# FILE matches by its last path components, so the loader may print the
# path as given or made absolute.
error_at() {
	re=$(printf '%s' "$2" | sed 's/[.[\*^$]/\\&/g')
	printf '%s\n' "$1" | grep -Eq "(^|/)$re:$3:[0-9]+: error: " && return 0
	echo "expected '$2:$3:COL: error: ...' in:"; printf '%s\n' "$1"; return 1
}

schema_is_draft7() {
	"$PY" - "$SCHEMA" <<-'EOF'
	import json, sys, jsonschema
	s = json.load(open(sys.argv[1]))
	jsonschema.Draft7Validator.check_schema(s)
	assert s["$schema"] == "http://json-schema.org/draft-07/schema#", s["$schema"]
	assert s.get("$id") and s.get("title"), "no $id or title"
	EOF
}

# Every property name of the schema appears in docs/config.md as `name`.
schema_keys_documented() {
	"$PY" - "$SCHEMA" docs/config.md <<-'EOF'
	import json, sys
	schema = json.load(open(sys.argv[1]))
	doc = open(sys.argv[2]).read()
	keys = set()
	def walk(s):
	    if isinstance(s, dict):
	        keys.update(k for k, v in s.get("properties", {}).items() if v is not False)
	        for v in s.values():
	            walk(v)
	    elif isinstance(s, list):
	        for v in s:
	            walk(v)
	walk(schema)
	missing = sorted(k for k in keys if "`%s`" % k not in doc)
	if missing:
	    print("undocumented keys:", " ".join(missing))
	sys.exit(1 if missing else 0)
	EOF
}

# The summary `virtform validate` prints for each example directory.
example_counts() {
	case "$1" in
	quickstart) echo "ok: 1 hosts, 1 networks, 1 storage domains, 2 vms" ;;
	lab)        echo "ok: 3 hosts, 1 networks, 1 storage domains, 3 vms" ;;
	abc-local)  echo "ok: 2 hosts, 2 networks, 2 storage domains, 5 vms" ;;
	*)          return 1 ;;
	esac
}

# --- the schema itself ---------------------------------------------------

test_expect 'schema is valid JSON Schema draft-07' schema_is_draft7
test_expect 'every schema key is documented in docs/config.md' schema_keys_documented

# --- examples ------------------------------------------------------------

for f in examples/*/*.yaml examples/*/*.yml; do
	[ -e "$f" ] || continue
	test_expect "schema accepts $f" "schema_check '$f'"
	test_expect "$f has the yaml-language-server modeline" "
		head -n 1 '$f' | grep -qx '# yaml-language-server: \$schema=../../$SCHEMA'
	"
done

for d in examples/*/; do
	d=${d%/}
	name=${d#examples/}
	test_expect "virtform validate $d" "
		want=\$(example_counts '$name') || { echo 'no expected counts for $d: add them to example_counts in $0'; exit 1; }
		run_vf validate '$d'
		expect_rc 0 || exit 1
		[ \"\$out\" = \"\$want\" ] || { echo \"stdout: \$out\"; echo \"want:   \$want\"; exit 1; }
		[ -z \"\$err\" ] || { echo \"examples must not draw warnings; stderr:\"; echo \"\$err\"; exit 1; }
	"
done

# --- maximal.yaml --------------------------------------------------------

test_expect 'schema accepts tests/schema/maximal.yaml' 'schema_check tests/schema/maximal.yaml'
test_expect 'maximal.yaml uses every key of the schema' '
	"$PY" tests/schema/validate.py --unused-keys tests/schema/maximal.yaml
'
test_expect 'virtform validate accepts tests/schema/maximal.yaml' '
	run_vf validate tests/schema/maximal.yaml
	expect_rc 0 &&
	expect_contains "$out" "ok: 4 hosts, 4 networks, 5 storage domains, 4 vms"
'

# --- wrong/*.yaml ----------------------------------------------------------

n_wrong=0
for f in tests/schema/wrong/*.yaml; do
	[ -e "$f" ] || continue
	n_wrong=$((n_wrong + 1))
	test_expect "schema rejects $f at its marked line" "
		line=\$(marker_line '$f') || exit 1
		if out=\$(schema_check '$f'); then echo \"accepted: \$out\"; exit 1; fi
		error_at \"\$out\" '$f' \"\$line\"
	"
	test_expect "virtform validate rejects $f at its marked line" "
		line=\$(marker_line '$f') || exit 1
		run_vf validate '$f'
		expect_rc 1 &&
		error_at \"\$err\" '$f' \"\$line\"
	"
done
test_expect 'there are at least 12 wrong fixtures' "[ $n_wrong -ge 12 ]"

test_done
