#!/bin/sh
# `virtform host show [--json]`: this machine's links as virtform reads them
# over netlink.  Runs in private network namespaces (unshare -n, needs
# root), each with a veth pair and a bridge made there with ip(8), so the
# machine's own links are never touched and the expected output is known.
. "$(dirname "$0")/lib.sh"

# in_netns SCRIPT: run SCRIPT in a new network namespace, with a veth pair
# vfhs0/vfhs1 (vfhs0 mtu 1400, up; vfhs1 down, so vfhs0 is up but its
# carrier is not: "up (lowerlayerdown)"), a bridge vfhsbr0 (up, no carrier)
# with vfhs0 as its port, lo up.
in_netns() {
	unshare -n sh -c '
		set -e
		ip link set lo up
		ip link add vfhs0 mtu 1400 type veth peer name vfhs1
		ip link add vfhsbr0 type bridge
		ip link set vfhs0 master vfhsbr0
		ip link set vfhs0 up
		ip link set vfhsbr0 up
		# the kernel publishes operstate up to a second later (linkwatch)
		i=0
		until ip -o link show vfhs0 | grep -q "state LOWERLAYERDOWN" &&
		      ip -o link show vfhsbr0 | grep -q "state DOWN"; do
			i=$((i + 1)); [ $i -lt 60 ] || break; sleep 0.05
		done
		'"$1"
}

test_expect 'host show lists lo, a veth pair and a bridge of its namespace' '
	out=$(in_netns "\"\$VIRTFORM\" host show") &&
	echo "$out" &&
	echo "$out" | head -1 | grep -q "^NAME  *KIND  *MTU  *STATE  *MASTER  *DETAILS$" &&
	echo "$out" | grep -q "^lo  *loopback  *65536  *up (unknown)  *-  *-$" &&
	echo "$out" | grep -q "^vfhs0  *veth  *1400  *up (lowerlayerdown)  *vfhsbr0  *-$" &&
	echo "$out" | grep -q "^vfhs1  *veth  *1500  *down  *-  *-$" &&
	echo "$out" | grep -q "^vfhsbr0  *bridge  *1400  *up (down)  *-  *stp off ports vfhs0$"'

test_expect 'host show sees only its own namespace' '
	out=$(in_netns "\"\$VIRTFORM\" host show") &&
	[ "$(echo "$out" | wc -l)" -eq 5 ]'

test_expect 'host show --json is one document with every link' '
	in_netns "\"\$VIRTFORM\" host show --json" >"$TMP/links.json" &&
	python3 - "$TMP/links.json" <<PY
import json, sys
doc = json.load(open(sys.argv[1]))
links = {l["name"]: l for l in doc["links"]}
assert set(links) == {"lo", "vfhs0", "vfhs1", "vfhsbr0"}, links
lo, a, b, br = links["lo"], links["vfhs0"], links["vfhs1"], links["vfhsbr0"]
assert lo["kind"] == "other" and lo["link_type"] == "loopback" and lo["up"], lo
assert a["kind"] == "veth" and a["kernel_kind"] == "veth" and a["mtu"] == 1400, a
assert a["up"] is True and a["master"] == "vfhsbr0", a
assert b["up"] is False and b["master"] is None and b["operstate"] == "down", b
assert br["kind"] == "bridge" and br["bridge"] == {"stp": False, "ports": ["vfhs0"]}, br
assert isinstance(a["ifindex"], int)
PY'

test_expect 'host show agrees with ip(8) about every link of the namespace' '
	in_netns "\"\$VIRTFORM\" host show --json >\"$TMP/j\"; ip -j link show >\"$TMP/ip\"" &&
	python3 - "$TMP/j" "$TMP/ip" <<PY
import json, sys
ours = {l["name"]: l for l in json.load(open(sys.argv[1]))["links"]}
ip = {l["ifname"]: l for l in json.load(open(sys.argv[2]))}
assert set(ours) == set(ip), (set(ours), set(ip))
for name, l in ip.items():
    o = ours[name]
    assert o["mtu"] == l["mtu"], name
    assert o["ifindex"] == l["ifindex"], name
    assert o["up"] == ("UP" in l["flags"]), name
    assert o["master"] == l.get("master"), name
    assert o["operstate"] == l["operstate"].lower(), name
PY'

test_expect 'host without a subcommand fails with usage' '
	run_vf host && expect_rc 1 && expect_contains "$err" "a subcommand is required"'

test_expect 'an unknown host subcommand suggests the nearest' '
	run_vf host sho && expect_rc 1 &&
	expect_contains "$err" "unknown subcommand '"'"'sho'"'"'; did you mean '"'"'show'"'"'?"'

test_expect 'host show --help, and unknown options' '
	run_vf host show --help && expect_rc 0 && expect_contains "$out" "usage: virtform host show" &&
	run_vf host show --jsn && expect_rc 1 &&
	expect_contains "$err" "virtform host show: error: unknown option '"'"'--jsn'"'"'; did you mean '"'"'--json'"'"'?" &&
	run_vf host show extra && expect_rc 1 && expect_contains "$err" "unexpected argument '"'"'extra'"'"'"'

test_expect 'help lists host' '
	run_vf help && expect_contains "$out" "  host " &&
	run_vf help host && expect_rc 0 && expect_contains "$out" "usage: virtform host <subcommand>"'

test_done
