# tests/netns-lib.sh — helpers for the host-networking tests that change
# links (tests/t0430..t0460-host-*.sh).  Sourced after tests/lib.sh, not
# run; the namespace needs root.
#
#   . "$(dirname "$0")/netns-lib.sh"
#   netns_setup         $NS: a private network namespace (ip netns) named
#                       vf<test>-PID, e.g. vft0440-1234, with lo up and a
#                       veth pair uplink0/uplink0p; at exit whatever still
#                       runs in it is killed and it is removed
#   vf ARGS             $VIRTFORM ARGS inside $NS
#   link NAME FIELD     link NAME's FIELD in $NS (`ip -j link`): "absent"
#                       for no such link, up|down for FIELD "up", "-" for a
#                       field the link does not have
#   link_field NAME FIELD   the same, from `ip -j link` output on stdin
#   json_check FILE EXPR    succeed if the python expression EXPR is True,
#                       doc being FILE's JSON; else print its value, fail
#   jget FILE KEY       print the top-level KEY of FILE's JSON

netns_setup() {
	_vf_t=${0##*/}
	NS=vf${_vf_t%%-*}-$$
	ip netns add "$NS" || exit 1
	at_exit "ip netns pids $NS 2>/dev/null | xargs -r kill -9 2>/dev/null; ip netns del $NS"
	ip -n "$NS" link set lo up
	ip -n "$NS" link add uplink0 type veth peer name uplink0p
}

vf() { ip netns exec "$NS" "$VIRTFORM" "$@"; }

link() { ip -n "$NS" -j link | link_field "$1" "$2"; }

link_field() {
	/usr/bin/python3 -c '
import json, sys
links = {l["ifname"]: l for l in json.load(sys.stdin)}
l = links.get(sys.argv[1])
if l is None: print("absent")
elif sys.argv[2] == "up": print("up" if "UP" in l["flags"] else "down")
else: print(l.get(sys.argv[2], "-"))' "$1" "$2"
}

json_check() {
	/usr/bin/python3 -c 'import json, sys; doc = json.load(open(sys.argv[1])); ok = eval(sys.argv[2]); print(ok) if ok is not True else None; sys.exit(0 if ok is True else 1)' "$1" "$2"
}

jget() { /usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
