#!/usr/bin/python3
"""validate.py — check virtform YAML files against schemas/virtform.schema.json.

    /usr/bin/python3 tests/schema/validate.py [--schema FILE] FILE...
    /usr/bin/python3 tests/schema/validate.py --unused-keys FILE...

Each FILE is validated on its own (a directory's files are merged only by
`virtform validate`, which also checks names and references; the schema
cannot).  Prints "FILE: ok" or one "FILE:LINE:COL: error: ..." line per
problem; exit status 0 when every file is valid, 1 otherwise, 2 on usage
errors.

--unused-keys instead lists the schema's keys that none of the FILEs uses
(exit 1 if any): tests/schema/maximal.yaml must use them all.

Why not plain yaml.safe_load(): PyYAML implements YAML 1.1, where `yes`,
`on` and `no` are booleans and 52:54:00:12:34:56 is a base-60 integer.
virtform's loader, like yaml-language-server, resolves plain scalars the
YAML 1.2 core way (only true/false are booleans), so this script composes
the node tree with PyYAML and resolves scalars itself.  It also rejects
duplicate keys, as the loader does, and keeps every node's position so
errors point into the file.  Needs Debian's python3-yaml and
python3-jsonschema (Draft 7).
"""

import json
import os
import re
import sys

import jsonschema
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_SCHEMA = os.path.join(HERE, "..", "..", "schemas", "virtform.schema.json")


class PlainLoader(yaml.SafeLoader):
    """Composes nodes without resolving plain scalars (everything str)."""


PlainLoader.yaml_implicit_resolvers = {}

# YAML 1.2 core schema, as the virtform loader reads plain scalars.
_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_TRUE = re.compile(r"^(true|True|TRUE)$")
_FALSE = re.compile(r"^(false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")      # the loader reads no 0x / 0o integers
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_INF = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")

STR_TAG = "tag:yaml.org,2002:str"
CORE_TAGS = {"tag:yaml.org,2002:int": "int", "tag:yaml.org,2002:float": "float",
             "tag:yaml.org,2002:bool": "bool", "tag:yaml.org,2002:null": "NoneType"}


class LoadError(Exception):
    def __init__(self, mark, message):
        super().__init__(message)
        self.mark = mark
        self.message = message


def resolve_plain(text):
    if _NULL.match(text):
        return None
    if _TRUE.match(text):
        return True
    if _FALSE.match(text):
        return False
    if _INT.match(text):
        return int(text, 10)
    if _FLOAT.match(text):
        return float(text)
    if _INF.match(text):
        return float("-inf") if text.startswith("-") else float("inf")
    if _NAN.match(text):
        return float("nan")
    return text


class Builder:
    """Turns a composed node tree into Python data, recording positions.

    pos[path] is the (line, col) of the value at path (a tuple of keys and
    indexes); keypos[path] the position of the key naming it."""

    def __init__(self):
        self.pos = {}
        self.keypos = {}

    def build(self, node, path=()):
        self.pos.setdefault(path, mark_of(node))
        if isinstance(node, yaml.ScalarNode):
            if node.style is None and node.tag == STR_TAG:
                return resolve_plain(node.value)
            if node.tag in CORE_TAGS:     # explicit !!int, !!bool, ...
                value = resolve_plain(node.value)
                if type(value).__name__ != CORE_TAGS[node.tag]:
                    raise LoadError(node.start_mark, "'%s' is not a valid %s" % (node.value, node.tag))
                return value
            return node.value
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self.build_map(node, path)
        raise LoadError(node.start_mark, "unsupported YAML node")

    def build_map(self, node, path):
        result, own = {}, set()
        merged = []
        for knode, vnode in node.value:
            if not isinstance(knode, yaml.ScalarNode):
                raise LoadError(knode.start_mark, "mapping keys must be scalars")
            if knode.value == "<<" and knode.style is None:
                merged.append(vnode)
                continue
            key = knode.value
            if key in own:
                raise LoadError(knode.start_mark, "duplicate key '%s'" % key)
            own.add(key)
            self.keypos[path + (key,)] = mark_of(knode)
            result[key] = self.build(vnode, path + (key,))
        # Merge keys ("<<: *defaults"): explicit keys win; earlier sources win.
        for vnode in merged:
            sources = vnode.value if isinstance(vnode, yaml.SequenceNode) else [vnode]
            for src in sources:
                if not isinstance(src, yaml.MappingNode):
                    raise LoadError(src.start_mark, "'<<' needs a mapping or a list of mappings")
                sub = Builder()
                data = sub.build_map(src, ())
                for key, value in data.items():
                    if key in result:
                        continue
                    result[key] = value
                    for p, m in sub.pos.items():
                        if p and p[0] == key:
                            self.pos.setdefault(path + p, m)
                    for p, m in sub.keypos.items():
                        if p and p[0] == key:
                            self.keypos.setdefault(path + p, m)
        return result


def mark_of(node):
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        node = yaml.compose(text, Loader=PlainLoader)
    except yaml.MarkedYAMLError as e:
        m = e.problem_mark or e.context_mark
        raise LoadError(m, "YAML syntax: %s" % (e.problem or e.context))
    if node is None:      # the loader, too, rejects a file with nothing in it
        raise LoadError(None, "the file is empty")
    builder = Builder()
    return builder.build(node), builder


def path_text(path):
    out = ""
    for p in path:
        out += "[%d]" % p if isinstance(p, int) else ("." if out else "") + str(p)
    return out or "(top level)"


def describe(error):
    """One line per problem: [(path, use_key_position, message)]."""
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = error.schema.get("properties", {})
        extra = [k for k in error.instance if k not in known]
        return [(path + (k,), True, "unknown key '%s'" % k) for k in extra]
    if error.validator is None and error.schema is False and path:
        return [(path, True, "key '%s' is not allowed here" % path[-1])]
    if error.context:           # anyOf: graphics, bridge needs uplink or bridge
        if all(e.validator == "required" for e in error.context):
            keys = [e.validator_value[0] for e in error.context]
            return [(path, False, "one of %s is required" % ", ".join("'%s'" % k for k in keys))]
        # The most specific complaint: from the deepest path, first branch on ties.
        best = max(error.context, key=lambda e: len(e.absolute_path))
        return [(tuple(best.absolute_path), False, best.message)]
    if error.validator == "pattern" and "patternErrorMessage" in error.schema:
        # the message editors show (yaml-language-server), not the regex
        return [(path, False, "'%s': %s" % (error.instance, error.schema["patternErrorMessage"]))]
    return [(path, False, error.message)]


def check(validator, fname):
    try:
        data, b = load(fname)
    except OSError as e:
        print("%s: error: %s" % (fname, e.strerror))
        return False
    except LoadError as e:
        line, col = (e.mark.line + 1, e.mark.column + 1) if e.mark else (1, 1)
        print("%s:%d:%d: error: %s" % (fname, line, col, e.message))
        return False
    lines = []
    for error in validator.iter_errors(data):
        for path, at_key, msg in describe(error):
            pos = (b.keypos.get(path) if at_key else None) or b.pos.get(path)
            probe = path
            while pos is None and probe:
                probe = probe[:-1]
                pos = b.pos.get(probe)
            line, col = pos or (1, 1)
            lines.append((line, col, "%s:%d:%d: error: %s: %s" % (fname, line, col, path_text(path), msg)))
    for _, _, text in sorted(lines):
        print(text)
    if not lines:
        print("%s: ok" % fname)
    return not lines


# "integer" means what the loader parses: digits, not 2.0 (jsonschema's
# default accepts a float with no fraction).
Validator = jsonschema.validators.extend(
    jsonschema.Draft7Validator,
    type_checker=jsonschema.Draft7Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, x: isinstance(x, int) and not isinstance(x, bool)))


# --unused-keys: every property path of the schema vs the ones documents use.

def deref(root, schema):
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        assert ref.startswith("#/"), ref
        schema = root
        for part in ref[2:].split("/"):
            schema = schema[part]
    return schema


def subschemas(root, schema):
    """schema and the branches that describe the same instance."""
    schema = deref(root, schema)
    if not isinstance(schema, dict):
        return []
    out = [schema]
    for kw in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(kw, []):
            out += subschemas(root, sub)
    return out


def all_keys(root, schema, path, acc):
    for s in subschemas(root, schema):
        for key, sub in s.get("properties", {}).items():
            if sub is False:
                continue
            acc.add(path + "." + key if path else key)
            all_keys(root, sub, path + "." + key if path else key, acc)
        if isinstance(s.get("items"), dict):
            all_keys(root, s["items"], path + "[]", acc)
    return acc


def used_keys(root, schema, data, path, acc):
    for s in subschemas(root, schema):
        if isinstance(data, dict):
            for key, sub in s.get("properties", {}).items():
                if key in data and sub is not False:
                    p = path + "." + key if path else key
                    acc.add(p)
                    used_keys(root, sub, data[key], p, acc)
        if isinstance(data, list) and isinstance(s.get("items"), dict):
            for item in data:
                used_keys(root, s["items"], item, path + "[]", acc)
    return acc


def main(argv):
    schema_path, unused, files = DEFAULT_SCHEMA, False, []
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--schema" and args:
            schema_path = args.pop(0)
        elif a == "--unused-keys":
            unused = True
        elif a.startswith("-") and a != "-":
            print("usage: validate.py [--schema FILE] [--unused-keys] FILE...", file=sys.stderr)
            return 2
        else:
            files.append(a)
    if not files:
        print("usage: validate.py [--schema FILE] [--unused-keys] FILE...", file=sys.stderr)
        return 2
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)

    if unused:
        used = set()
        for fname in files:
            data, _ = load(fname)
            used_keys(schema, schema, data, "", used)
        missing = sorted(all_keys(schema, schema, "", set()) - used)
        for key in missing:
            print("unused: %s" % key)
        return 1 if missing else 0

    validator = Validator(schema)
    ok = True
    for fname in files:
        ok = check(validator, fname) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
