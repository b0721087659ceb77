#!/bin/sh
# Install the Debian packages virtform needs to build, test and run its lab.
#
#   contrib/deps.sh              install (apt-get update once, then install)
#   contrib/deps.sh --if-missing install only when something is missing
#
# The list is the single source of truth: README, CI and `make deps` use it.
# linux-image-amd64 busybox-static xz-utils: a real kernel with 8021q and
# bonding for tests/tcg/run-in-vm (VLAN and bond tests under qemu TCG).
# openssh-server openssh-client: the lab runs an sshd in each lab host
# (contrib/lab/lab) and virtform drives remote hosts over ssh.
# gpgv gpg: virtform verifies OpenPGP-signed commits with gpgv (gpg turns an
# armored keyring into a binary one); git: the tests make their repositories,
# commits and pushes with it (virtform itself uses libgit2).
# tgt libvirt-daemon-driver-storage-iscsi-direct: an iSCSI target with CHAP
# in the lab (tgtd, user space) and libvirt's iscsi-direct pools (libiscsi in
# libvirtd) that log in to it; this machine's kernel has no iSCSI modules.
# clang-14 libclang-rt-14-dev: `make fuzz` (tests/fuzz/, docs/fuzzing.md)
# builds its libFuzzer targets with clang and its libFuzzer, ASan and UBSan
# runtimes.
# man-db: tests/t0055-completion-man.sh renders the manual pages `make man`
# writes with man -l and checks groff has no warning.
set -eu

PACKAGES="
gcc make pkg-config perl
libvirt-dev libyaml-dev libxml2-dev libjansson-dev libnl-3-dev libnl-route-3-dev
libsodium-dev libgit2-dev libisofs-dev
libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils ovmf dnsmasq-base
iproute2 util-linux procps time
python3 python3-jsonschema python3-yaml
linux-image-amd64 busybox-static xz-utils
openssh-server openssh-client
gpgv gpg git
tgt libvirt-daemon-driver-storage-iscsi-direct
systemd
clang-14 libclang-rt-14-dev
man-db
"

missing() {
    for p in $PACKAGES; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
            printf '%s\n' "$p"
    done
}

if [ "${1:-}" = "--if-missing" ]; then
    m=$(missing)
    [ -z "$m" ] && exit 0
    echo "deps: missing packages:" $m >&2
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: must run as root to install packages (try: sudo make deps)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Package install scripts must not start system daemons: the lab runs its own.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=1
fi
trap '[ -n "$own_policy" ] && rm -f "$policy"' EXIT
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $PACKAGES
mkdir -p /var/log/libvirt
