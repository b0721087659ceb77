#!/bin/sh
# Sealed secrets from the command line: `virtform keygen` (files, modes,
# --force, unsafe directories) and `virtform seal` (output that pastes into
# a configuration `validate` accepts, the clear text nowhere in it,
# newline handling, binary input, errors).  Opening and hashing are
# tested in tests/unit/test-secret.c.
. "$(dirname "$0")/lib.sh"

cd "$TMP" || exit 1
umask 022
CLEAR='correct horse battery staple 7f3a'
UD_DEFAULT='"#cloud-config"'

# config PASSWORD_VALUE [USER_DATA_VALUE]: a configuration using them.
config() {
	cat <<-EOF
	version: 1
	clusters: [{name: prod}]
	hosts: [{name: h1, uri: "qemu:///system"}]
	vms:
	  - name: web1
	    cpus: 1
	    memory: 512MiB
	    cloud_init:
	      users:
	        - name: ops
	          ssh_authorized_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample ops@example"]
	          password: $1
	  - name: web2
	    cpus: 1
	    memory: 512MiB
	    cloud_init:
	      user_data: ${2:-$UD_DEFAULT}
	EOF
}

test_expect 'keygen --help and seal --help' '
	run_vf keygen --help && expect_rc 0 && expect_contains "$out" "usage: virtform keygen --out DIR" &&
	run_vf seal --help && expect_rc 0 && expect_contains "$out" "usage: virtform seal --public-key FILE" &&
	run_vf help && expect_contains "$out" "keygen" && expect_contains "$out" "seal"'

test_expect 'keygen without --out is an error' '
	run_vf keygen && expect_rc 1 && expect_contains "$err" "--out DIR is required"'

test_expect 'keygen writes the key pair: secret 0600, public 0644, a new directory 0700' '
	run_vf keygen --out keys && expect_rc 0 &&
	expect_contains "$out" "wrote keys/virtform.key" &&
	expect_contains "$out" "wrote keys/virtform.pub (public key " &&
	[ "$(stat -c %a keys)" = 700 ] && [ "$(stat -c %a keys/virtform.key)" = 600 ] &&
	[ "$(stat -c %a keys/virtform.pub)" = 644 ] &&
	grep -Eqx "virtform-sealed-v1 secret [A-Za-z0-9+/]{43}=" keys/virtform.key &&
	grep -Eqx "virtform-sealed-v1 public [A-Za-z0-9+/]{43}=" keys/virtform.pub &&
	! ls -A keys | grep -v "^virtform\.\(key\|pub\)$"'
SECRET_B64=$(cut -d" " -f3 keys/virtform.key)

test_expect 'keygen does not print the secret key' '
	run_vf keygen --out keys2 && expect_rc 0 &&
	expect_not_contains "$out$err" "$(cut -d" " -f3 keys2/virtform.key)"'

test_expect 'keygen refuses to replace a key pair without --force, and changes nothing' '
	before=$(cat keys/virtform.key keys/virtform.pub | md5sum) &&
	run_vf keygen --out keys && expect_rc 1 &&
	expect_contains "$err" "keys/virtform.key: error: already exists; keep it, or give --force" &&
	[ "$(cat keys/virtform.key keys/virtform.pub | md5sum)" = "$before" ] && [ -z "$out" ]'

test_expect 'keygen --force replaces it, still 0600' '
	cp keys/virtform.pub old.pub &&
	run_vf keygen --out keys --force && expect_rc 0 &&
	! cmp -s old.pub keys/virtform.pub && [ "$(stat -c %a keys/virtform.key)" = 600 ] &&
	! ls -A keys | grep -q "^\."'
SECRET_B64=$(cut -d" " -f3 keys/virtform.key)

test_expect 'keygen refuses a directory group or others may write' '
	mkdir -m 777 open && chmod 777 open &&
	run_vf keygen --out open && expect_rc 1 &&
	expect_contains "$err" "open: error: the directory is writable by group and others (mode 0777)" &&
	[ ! -e open/virtform.key ] &&
	mkdir g && chmod 775 g && run_vf keygen --out g && expect_rc 1 &&
	expect_contains "$err" "writable by its group"'

test_expect 'keygen warns when the directory is in a git work tree' '
	mkdir -p repo/.git repo/secrets && chmod 700 repo/secrets &&
	run_vf keygen --out repo/secrets && expect_rc 0 &&
	expect_contains "$err" "warning: repo/secrets is inside a git work tree"'

test_expect 'seal prints {sealed: "<base64>"}, and nothing else' '
	printf "%s\n" "$CLEAR" | "$VIRTFORM" seal --public-key keys/virtform.pub >sealed.out 2>sealed.err &&
	grep -Eqx "\{sealed: \"[A-Za-z0-9+/]+={0,2}\"\}" sealed.out &&
	[ "$(wc -l < sealed.out)" -eq 1 ] && [ ! -s sealed.err ]'

test_expect 'the clear text appears nowhere in the output' '
	! grep -F "$CLEAR" sealed.out sealed.err && ! grep -F "correct horse" sealed.out'

test_expect 'sealing twice gives two different values' '
	printf "%s\n" "$CLEAR" | "$VIRTFORM" seal --public-key keys/virtform.pub > again.out &&
	! cmp -s sealed.out again.out'

test_expect 'the output pasted into a configuration validates (password and user_data)' '
	ud=$(printf "#cloud-config\nruncmd: [true]\n" | "$VIRTFORM" seal --public-key keys/virtform.pub) &&
	config "$(cat sealed.out)" "$ud" > ok.yaml &&
	run_vf validate ok.yaml && expect_rc 0 &&
	expect_contains "$out" "ok: 1 hosts, 0 networks, 0 storage domains, 2 vms" &&
	expect_not_contains "$out$err" "$CLEAR"'

test_expect 'validate needs no key: not even with a wrong VIRTFORM_SECRET_KEY' '
	VIRTFORM_SECRET_KEY=nonsense "$VIRTFORM" validate ok.yaml >/dev/null'

test_expect 'one trailing newline is stripped, unless --keep-newline' '
	a=$(echo abc | "$VIRTFORM" seal --public-key keys/virtform.pub --raw) &&
	b=$(echo abc | "$VIRTFORM" seal --public-key keys/virtform.pub --raw --keep-newline) &&
	c=$(printf "abc\n\n" | "$VIRTFORM" seal --public-key keys/virtform.pub --raw) &&
	echo "${#a} ${#b} ${#c}" &&
	[ ${#a} -eq 68 ] && [ ${#b} -eq 72 ] && [ ${#c} -eq 72 ]'

test_expect 'seal reads any bytes: NULs, not UTF-8' '
	head -c 100 /dev/urandom > bin && printf "\0\0\377" >> bin &&
	v=$("$VIRTFORM" seal --public-key keys/virtform.pub --raw < bin) && [ ${#v} -eq 204 ]'

test_expect 'seal: an empty secret is an error' '
	printf "" > empty && run_vf seal --public-key keys/virtform.pub < empty && expect_rc 1 &&
	expect_contains "$err" "nothing to seal" && [ -z "$out" ] &&
	printf "\n" > nl && run_vf seal --public-key keys/virtform.pub < nl && expect_rc 1'

test_expect 'seal: --public-key is required; the secret never comes from the command line' '
	run_vf seal < /dev/null && expect_rc 1 && expect_contains "$err" "--public-key FILE is required" &&
	run_vf seal --public-key keys/virtform.pub hunter2 < /dev/null && expect_rc 1 &&
	expect_contains "$err" "never from the command line"'

test_expect 'seal with the secret key file: refused, the key not shown' '
	run_vf seal --public-key keys/virtform.key < empty && expect_rc 1 &&
	expect_contains "$err" "keys/virtform.key: error: this is a secret key, not a public key" &&
	expect_not_contains "$out$err" "$SECRET_B64"'

test_expect 'seal with a file that is not a key' '
	echo hello > notakey && run_vf seal --public-key notakey < empty && expect_rc 1 &&
	expect_contains "$err" "notakey: error: not a virtform key" &&
	run_vf seal --public-key missing.pub < empty && expect_rc 1 &&
	expect_contains "$err" "missing.pub: error: cannot open the public key: No such file or directory"'

test_expect 'a clear password in the configuration is an error at its position' '
	config "hunter2" > plain.yaml &&
	run_vf validate plain.yaml && expect_rc 1 &&
	expect_contains "$err" "plain.yaml:12:21: error: vm '"'"'web1'"'"': cloud_init: user '"'"'ops'"'"': passwords must be sealed: virtform seal" &&
	expect_not_contains "$err" "hunter2"'

test_expect 'a damaged sealed value is an error at its position' '
	config "{sealed: \"not*base64\"}" > broken.yaml &&
	run_vf validate broken.yaml && expect_rc 1 &&
	expect_contains "$err" "broken.yaml:12:30: error: vm '"'"'web1'"'"': cloud_init: user '"'"'ops'"'"': password: the sealed value is not base64" &&
	config "{sealed: \"QUJD\"}" > short.yaml &&
	run_vf validate short.yaml && expect_rc 1 && expect_contains "$err" "too short"'

test_done
