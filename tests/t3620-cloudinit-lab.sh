#!/bin/sh
# cloud-init first boot on the lab: a sealed password reaches the seed ISO
# (volume VM-cidata.iso, attached as a read-only SATA CD-ROM; downloaded
# with virsh vol-download and read back: a $6$ hash that verifies against
# the password) and appears nowhere in stdout, stderr, saved plans, the
# state or JSON; a wrong key fails at the field's FILE:LINE:COL and changes
# nothing; a new hostname is planned "(takes effect at first boot only)" and
# rewrites the volume; destroy removes the seed with the VM.
. "$(dirname "$0")/lib.sh"
. "$TOP/contrib/lab/testlib.sh"

lab_up_for_test
lab_config
PW='vfc-S3cret-pw-4217'

seal_keys
"$VIRTFORM" keygen --out "$TMP/other" >/dev/null 2>&1 || echo "keygen failed" >&2
SEALED=$(seal "$PW")

write_conf() {
	cat >"$CONF/main.yaml" <<EOF
version: 1
project: vfc-cloudinit
clusters: [{name: lab}]
storage_domains:
  - {name: vfc-data, type: dir, path: /var/lib/libvirt/virtform/vfc-data}
vms:
  - name: vfc-ci1
    host: lab1
    cpus: 1
    memory: 128MiB
    state: stopped
    shutdown_timeout: 1
    disks: [{name: root, size: 64MiB, storage: vfc-data}]
    cloud_init:
      hostname: $1
      users:
        - name: ops
          ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIvfcTestKey ops@lab"]
          sudo: "ALL=(ALL) NOPASSWD:ALL"
          shell: /bin/bash
          password: {sealed: "$SEALED"}
      network_config: {version: 2, ethernets: {eth0: {dhcp4: true}}}
EOF
}
at_exit '"$VIRTFORM" destroy "$CONF" --auto-approve --state-dir "$STATE" >/dev/null 2>&1'
write_conf vfc-first

# read_iso FILE NAME: the content of NAME (Rock Ridge name) in ISO image FILE
read_iso() {
	python3 - "$1" "$2" <<'EOF'
import sys
data = open(sys.argv[1], 'rb').read()
want = sys.argv[2]
pvd = data[16 * 2048:17 * 2048]
assert pvd[1:6] == b'CD001', 'not ISO 9660'
root = pvd[156:156 + 34]
lba, size = int.from_bytes(root[2:6], 'little'), int.from_bytes(root[10:14], 'little')
d = data[lba * 2048:lba * 2048 + size]
i = 0
while i < len(d):
    n = d[i]
    if n == 0:
        i = (i // 2048 + 1) * 2048
        continue
    rec = d[i:i + n]
    ext, ln = int.from_bytes(rec[2:6], 'little'), int.from_bytes(rec[10:14], 'little')
    nl = rec[32]
    su = rec[33 + nl + (1 - nl % 2):]
    name, j = None, 0
    while j + 4 <= len(su):
        sig, l = su[j:j + 2], su[j + 2]
        if l == 0:
            break
        if sig == b'NM':
            name = su[j + 5:j + l].decode()
        j += l
    if name == want:
        sys.stdout.write(data[ext * 2048:ext * 2048 + ln].decode())
        sys.exit(0)
    i += n
sys.exit('no ' + want + ' in the image')
EOF
}

test_expect 'a wrong key fails at the password field, before anything changes' '
	vf apply "$CONF" --auto-approve --secret-key "$TMP/other/virtform.key" && expect_rc 1 &&
	line=$(grep -n "password:" "$CONF/main.yaml" | cut -d: -f1) &&
	expect_contains "$err" "main.yaml:$line:" &&
	expect_contains "$err" "vm '"'"'vfc-ci1'"'"': cloud_init: user '"'"'ops'"'"': password: cannot open the sealed value" &&
	! lab_virsh 1 dominfo vfc-ci1 >/dev/null 2>&1 &&
	! lab_virsh 1 pool-info vfc-data >/dev/null 2>&1'

test_expect 'apply without a key says how to give one and changes nothing' '
	VIRTFORM_SECRET_KEY= vf apply "$CONF" --auto-approve && expect_rc 1 &&
	expect_contains "$err" "no secret key" && expect_contains "$err" "--secret-key" &&
	! lab_virsh 1 dominfo vfc-ci1 >/dev/null 2>&1'

test_expect 'plan shows the seed volume and the CD-ROM, not the content' '
	vf plan "$CONF" --secret-key "$KEY" -out "$TMP/plan.vfplan" && expect_rc 0 &&
	expect_contains "$out" "+   create  volume.vfc-ci1-cidata.iso@lab1" &&
	expect_contains "$out" "cloud_init: (a seed for the first boot, with sealed values)" &&
	expect_contains "$out" "disk[sda].volume: vfc-data/vfc-ci1-cidata.iso" &&
	cp "$TMP/.out" "$TMP/all.out" && cp "$TMP/.err" "$TMP/all.err"'

test_expect 'plan --json' '
	vf plan "$CONF" --secret-key "$KEY" --json && expect_rc 0 &&
	printf "%s" "$out" >"$TMP/plan.json" && python3 -m json.tool "$TMP/plan.json" >/dev/null'

test_expect 'apply the saved plan: the VM with its seed' '
	vf apply "$TMP/plan.vfplan" --secret-key "$KEY" && expect_rc 0 &&
	cat "$TMP/.out" >>"$TMP/all.out" && cat "$TMP/.err" >>"$TMP/all.err" &&
	lab_virsh 1 vol-info --pool vfc-data vfc-ci1-cidata.iso >/dev/null'

test_expect 'the seed is attached as a read-only SATA CD-ROM' '
	xml=$(lab_virsh 1 dumpxml vfc-ci1) &&
	expect_contains "$xml" "device=\"cdrom\"" || expect_contains "$xml" "device='"'"'cdrom'"'"'" &&
	expect_contains "$xml" "vfc-ci1-cidata.iso" && expect_contains "$xml" "<readonly/>" &&
	expect_contains "$xml" "bus=\"sata\"" || expect_contains "$xml" "bus='"'"'sata'"'"'"'

test_expect 'the ISO read back: meta-data, network-config, user-data with a $6$ hash of the password' '
	lab_virsh 1 vol-download --pool vfc-data vfc-ci1-cidata.iso "$TMP/seed.iso" &&
	meta=$(read_iso "$TMP/seed.iso" meta-data) &&
	expect_contains "$meta" "local-hostname: \"vfc-first\"" &&
	expect_contains "$meta" "instance-id: \"iid-vfc-ci1-" &&
	net=$(read_iso "$TMP/seed.iso" network-config) && expect_contains "$net" "dhcp4" &&
	read_iso "$TMP/seed.iso" user-data >"$TMP/user-data" &&
	grep -q "^#cloud-config" "$TMP/user-data" &&
	hash=$(sed -n "s/^ *passwd: \"\(\$6\$[^\"]*\)\"$/\1/p" "$TMP/user-data") &&
	[ -n "$hash" ] &&
	python3 -W ignore -c "import crypt, sys; sys.exit(crypt.crypt(sys.argv[1], sys.argv[2]) != sys.argv[2])" "$PW" "$hash" &&
	! python3 -W ignore -c "import crypt, sys; sys.exit(crypt.crypt(sys.argv[1], sys.argv[2]) != sys.argv[2])" wrong "$hash" &&
	! grep -q "$PW" "$TMP/seed.iso"'

test_expect 'the clear password is nowhere: stdout, stderr, the saved plan, JSON, the state' '
	! grep -r -q "$PW" "$TMP/all.out" "$TMP/all.err" "$TMP/plan.vfplan" "$TMP/plan.json" "$STATE" &&
	xml=$(lab_virsh 1 dumpxml vfc-ci1) && expect_not_contains "$xml" "$PW"'

test_expect 'a second plan has nothing to do (same key, same data)' '
	vf plan "$CONF" --secret-key "$KEY" --detailed-exitcode && expect_rc 0'

test_expect 'the password sealed again is no change' '
	SEALED=$(seal "$PW") &&
	write_conf vfc-first &&
	vf plan "$CONF" --secret-key "$KEY" --detailed-exitcode && expect_rc 0'

test_expect 'without the key, plan warns and counts the sealed values unchanged' '
	VIRTFORM_SECRET_KEY= vf plan "$CONF" --detailed-exitcode && expect_rc 0 &&
	expect_contains "$out$err" "sealed values were not compared"'

test_expect 'a new password: (sealed value changed)' '
	SEALED=$(seal another-pw) &&
	write_conf vfc-first &&
	vf plan "$CONF" --secret-key "$KEY" && expect_rc 0 &&
	expect_contains "$out" "~   update  vm.vfc-ci1 on lab1" &&
	expect_contains "$out" "cloud_init: (sealed value changed) (takes effect at first boot only)" &&
	SEALED=$(seal "$PW")'

test_expect 'a new hostname: (takes effect at first boot only), and apply rewrites the seed' '
	write_conf vfc-second &&
	vf plan "$CONF" --secret-key "$KEY" && expect_rc 0 &&
	expect_contains "$out" "cloud_init: (cloud-init data changed) (takes effect at first boot only)" &&
	VIRTFORM_SECRET_KEY="$(cat "$KEY")" vf apply "$CONF" --auto-approve && expect_rc 0 &&
	expect_not_contains "$out$err" "$PW" &&
	lab_virsh 1 vol-download --pool vfc-data vfc-ci1-cidata.iso "$TMP/seed2.iso" &&
	meta=$(read_iso "$TMP/seed2.iso" meta-data) &&
	expect_contains "$meta" "local-hostname: \"vfc-second\"" &&
	vf plan "$CONF" --secret-key "$KEY" --detailed-exitcode && expect_rc 0'

test_expect 'destroy removes the VM and its seed volume' '
	vf destroy "$CONF" --auto-approve && expect_rc 0 &&
	! lab_virsh 1 dominfo vfc-ci1 >/dev/null 2>&1 &&
	! lab_virsh 1 vol-info --pool vfc-data vfc-ci1-cidata.iso >/dev/null 2>&1'

test_done
