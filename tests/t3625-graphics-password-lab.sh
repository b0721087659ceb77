#!/bin/sh
# A sealed graphics password on the lab: a VNC console on 0.0.0.0 gets
# passwd= the opened value in the domain's definition (seen only with
# virsh --security-info) and the keyed hash in its marker; the password
# appears nowhere in stdout, stderr, saved plans or the state; a re-seal is
# no change, a new password "(sealed value changed)" for the next restart;
# without the key plan warns and apply stops with nothing changed.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
lab_config
PW='vfgPw1'
PW2='vfgPw2'

seal_keys

write_conf() {   # write_conf SEALED
	cat >"$CONF/main.yaml" <<EOF
version: 1
project: vfg-graphics
clusters: [{name: lab}]
vms:
  - name: vfg-con1
    host: lab1
    cpus: 1
    memory: 64MiB
    shutdown_timeout: 1
    graphics: {type: vnc, listen: 0.0.0.0, password: {sealed: "$1"}}
EOF
}
at_exit '"$VIRTFORM" destroy "$CONF" --auto-approve --state-dir "$STATE" --secret-key "$KEY" >/dev/null 2>&1'
write_conf "$(seal "$PW")"

# no_leak TEXT...: none holds either password
no_leak() {
	for t in "$@"; do
		case $t in *"$PW"*|*"$PW2"*) echo "a password leaked: $t"; return 1;; esac
	done
}

test_expect 'plan without the key: a warning, and apply stops before any change' '
	vf plan "$CONF" && expect_rc 0 &&
	expect_contains "$out" "graphics.password: (sealed)" &&
	expect_contains "$out" "warning: vm.vfg-con1: graphics: the sealed password was not compared (no secret key" &&
	vf apply "$CONF" --auto-approve && expect_rc 1 &&
	expect_contains "$err" "main.yaml:10:54: error: " &&
	expect_contains "$err" "vm '"'"'vfg-con1'"'"': graphics: password: cannot open the sealed value: no secret key was given" &&
	! lab_virsh 1 dominfo vfg-con1 >/dev/null 2>&1'

test_expect 'apply sets passwd= in the definition, seen only with --security-info' '
	vf plan "$CONF" --secret-key "$KEY" -out "$TMP/plan.vfplan" && expect_rc 0 &&
	expect_contains "$out" "graphics.password: (sealed)" && no_leak "$out" "$err" &&
	vf apply "$TMP/plan.vfplan" --secret-key "$KEY" && expect_rc 0 && no_leak "$out" "$err" &&
	no_leak "$(cat "$TMP/plan.vfplan")" "$(cat "$STATE/state.json")" &&
	lab_virsh 1 dumpxml --security-info vfg-con1 >"$TMP/secure.xml" &&
	grep -q "<graphics type=.vnc.*passwd=.$PW." "$TMP/secure.xml" &&
	lab_virsh 1 dumpxml vfg-con1 >"$TMP/plain.xml" &&
	grep -q "<graphics type=.vnc.*listen=.0.0.0.0." "$TMP/plain.xml" &&
	no_leak "$(cat "$TMP/plain.xml")" &&
	grep -q "graphics-password=\"[0-9a-f]\{16\}\"" "$TMP/plain.xml"'

test_expect 'the same password sealed again: no change' '
	write_conf "$(seal "$PW")" &&
	vf plan "$CONF" --secret-key "$KEY" --detailed-exitcode && expect_rc 0 &&
	expect_contains "$out" "No changes."'

test_expect 'a new password: "(sealed value changed)", in the definition for the next start' '
	write_conf "$(seal "$PW2")" &&
	vf plan "$CONF" --secret-key "$KEY" && expect_rc 0 &&
	expect_contains "$out" "~   update  vm.vfg-con1 on lab1 (takes effect at next restart)" &&
	expect_contains "$out" "graphics.password: (sealed value changed)" &&
	no_leak "$out" "$err" &&
	vf apply "$CONF" --auto-approve --secret-key "$KEY" && expect_rc 0 && no_leak "$out" "$err" &&
	lab_virsh 1 dumpxml --inactive --security-info vfg-con1 | grep -q "passwd=.$PW2." &&
	vf plan "$CONF" --secret-key "$KEY" --detailed-exitcode && expect_rc 0'

test_done
