/*
 * remote.h — run `virtform host ...` on a host of the configuration: over
 * SSH with the OpenSSH client, or, for a host on this machine, as a local
 * child process.  This is the controller's only way to a host's links:
 * the host reads and changes them itself (cmd/host.c) and answers with one
 * JSON document on stdout.
 *
 * Transport (docs/hostnet.md, "How the controller reaches a host"):
 *   - the host has an ssh: mapping, or its URI names a server
 *     (qemu+ssh://root@hyper1/system): ssh, with the mapping's settings,
 *     else the URI's user and host, else the host's address or name;
 *     always -o BatchMode=yes and a connect timeout; -F FILE when the
 *     operator sets $VIRTFORM_SSH_CONFIG=FILE (never a file the
 *     configuration names: a ProxyCommand would run here);
 *   - otherwise (qemu:///system): this very binary, /proc/self/exe;
 *   - a test:/// host is a fake: it has no links (vf_remote_kind NONE).
 *
 * Every word of the remote command is quoted for the remote shell; no
 * local shell is involved at all.
 */
#ifndef VF_PROVIDER_HOSTNET_REMOTE_H
#define VF_PROVIDER_HOSTNET_REMOTE_H

#include <stdbool.h>

#include "reconcile/model.h"

enum vf_remote_kind {
	VF_REMOTE_NONE,      /* test:/// and other fake drivers: no host links */
	VF_REMOTE_LOCAL,     /* this machine: a child process */
	VF_REMOTE_SSH,
};
enum vf_remote_kind vf_remote_kind_of(const struct vf_host *h);

/* The SSH destination of h as shown to people: "root@hyper1:2222"; "this
 * machine" for a local host.  Malloc'd. */
char *vf_remote_describe(const struct vf_host *h);

enum {
	VF_REMOTE_FRESH = 1 << 0,   /* a new connection: no ControlMaster sharing
				     * (a confirmation proves the host can be
				     * reached again) */
};

/* What a command printed and how it ended. */
struct vf_remote_result {
	char *out;          /* stdout, NUL-terminated; malloc'd */
	char *err;          /* stderr, trimmed; malloc'd */
	int status;         /* its exit status */
};
void vf_remote_result_release(struct vf_remote_result *r);

/*
 * Run `VIRTFORM host ARGS...` (args NULL-terminated, without "host") on h,
 * input (may be NULL) on its standard input, and wait at most timeout
 * seconds (then it is killed).  Returns 0 when the command ran (whatever
 * its exit status: see res->status); -1 with *error (malloc'd) when it
 * could not: ssh could not connect or log in (its message), the command
 * is not there, it did not finish in time.
 */
int vf_remote_run(const struct vf_host *h, const char *const *args, const char *input,
		  double timeout, unsigned flags, struct vf_remote_result *res, char **error);

#endif
