/*
 * transport.h — the transport policy: which libvirt connection URIs a
 * configuration may name.  One function decides; the loader (validate,
 * with FILE:LINE:COL) and the libvirt provider's connect path both ask it.
 *
 * The repository is data: a URI must not make the controller run a
 * program, read a file of the repository's choosing, or weaken the TLS or
 * SSH host checks.  What an operator legitimately needs (a jump host, a
 * key) comes from the machine that runs virtform: ~/.ssh/config, the
 * ssh-agent, $VIRTFORM_SSH_CONFIG, libvirt's default PKI directories.
 *
 * Allowed (an allow-list; everything else is refused):
 *
 *   schemes     qemu (local, or TLS with a host), qemu+unix, qemu+ssh,
 *               qemu+libssh, qemu+libssh2, qemu+tls; qemu+tcp only when the
 *               host says insecure_transport: true (clear text: CHAP
 *               secrets and cloud-init seeds cross the network readable);
 *               test:///default (libvirt's in-memory test driver), and
 *               test://FILE only when $VIRTFORM_TEST_DRIVER_FILES=1 (the
 *               test driver reads FILE and echoes its first line in errors)
 *   paths       /system and /session (qemu)
 *   parameters  no_tty=1, known_hosts_verify=normal,
 *               mode=auto|legacy|direct, proxy=auto|netcat|native,
 *               sshauth=a comma list of agent, privkey, password,
 *               keyboard-interactive.  Refused with the reason: command
 *               (runs a program), netcat and socket (a program and a path
 *               on the far side), keyfile, pkipath and known_hosts (files
 *               on this machine), no_verify (no TLS certificate check),
 *               known_hosts_verify=auto|ignore (no host key check),
 *               tls_priority (weaker TLS), name (another driver URI on the
 *               host), anything unknown.
 */
#ifndef VF_TRANSPORT_H
#define VF_TRANSPORT_H

#include <stdbool.h>

/*
 * Is uri allowed?  insecure_ok: the host said insecure_transport: true
 * (plain qemu+tcp allowed).  0: allowed.  -1: refused, with *why (what is
 * refused and the risk, one line) and *hint (what to do instead), both
 * malloc'd.
 */
int vf_transport_check(const char *uri, bool insecure_ok, char **why, char **hint);

/* Does uri cross the network in clear text (qemu+tcp)? */
bool vf_transport_is_clear(const char *uri);

/*
 * Files on the machine that runs virtform that a configuration names: an
 * image's file (uploaded to a host, so a file of the repository's choosing
 * would leave the machine).  It lies under the directory of the YAML file
 * that names it (a relative path without '..', or an absolute one below
 * that directory), or under a directory the
 * operator allows with VIRTFORM_IMAGE_PATH=DIR[:DIR...] (an absolute path):
 *
 * vf_image_root: the directory path must stay under (malloc'd), or NULL
 * with *why (malloc'd) when the path itself is refused; dir is the
 * defining file's directory, NULL for a configuration read from git (its
 * files have no directory here: only VIRTFORM_IMAGE_PATH's count, and the
 * path must be absolute).
 *
 * vf_image_open_check: with symlinks resolved, is path (still) under root?
 * 0 and *real (malloc'd, the resolved path, the one to open), or -1 and
 * *why (malloc'd).  validate asks when the file exists, apply before every
 * upload.
 */
char *vf_image_root(const char *file, const char *dir, char **why);
int vf_image_open_check(const char *path, const char *root, char **real, char **why);

#endif
