/*
 * hostnet.h — the controller's side of host networking: for `plan`,
 * `apply` and `destroy`, ask every host that takes part what its links
 * need (`virtform host plan --spec -` on it, providers/hostnet/remote.h)
 * and put the answers into the plan (plan->links); at apply, have each
 * host carry its part out, in two phases around the plan's actions, and
 * confirm each change over a fresh connection.
 *
 * Which hosts take part: those whose links the configuration declares or
 * derives, those with an ssh: mapping, and those this state directory
 * records as having had links applied (DIR/hostnet.json: a network
 * removed from the configuration still leaves links to delete there).
 */
#ifndef VF_CMD_HOSTNET_H
#define VF_CMD_HOSTNET_H

#include <stdbool.h>
#include <stdio.h>

#include "reconcile/engine.h"

struct vf_hostnetcmd_host;

struct vf_hostnetcmd {
	struct vf_hostnetcmd_host *hosts;     /* the hosts that take part, config order */
	size_t n;
	char *record_path;              /* DIR/hostnet.json */
	double timeout;                 /* per call, seconds */
};

struct vf_hostnetcmd_opts {
	double timeout;                 /* --timeout: per host call */
	bool destroy;                   /* every link virtform made goes */
	bool skip_unreachable;
	const char *const *targets;     /* --target: links only for link.* targets */
	size_t n_targets;
};

/*
 * Ask the hosts (in parallel) and append their link changes to plan
 * (plan->links, plan->link_counts).  Problems go to diags (a host's own
 * errors carry the config's FILE:LINE:COL); an unreachable host is an
 * error, or with skip_unreachable a warning.  Returns 0, or -1 with diags.
 */
int vf_hostnetcmd_plan(struct vf_hostnetcmd *hn, const struct vf_config *config, const char *state_dir,
		 const struct vf_hostnetcmd_opts *o, struct vf_plan *plan, struct vf_diags *diags);

/* What apply says about host networking. */
struct vf_hostnetcmd_result {
	unsigned done[VF_ACTION_COUNT];
	size_t n_failed;                /* link changes that failed */
	size_t n_rolled_back;           /* done, then undone: their host's change failed */
	size_t n_not_attempted;
	char *failures;                 /* "  host lab1: why\n" lines; malloc'd */
	bool unrecorded;                /* applied, but the record of hosts with
					   links could not be written (failures
					   says where): the run fails */
};

/* The confirm timeout of a host reached over SSH unless --confirm-timeout. */
#define HOSTNET_CONFIRM_TIMEOUT 60

/*
 * Phase 1 (deletes false): every host with changes other than deletes
 * applies them (`host apply --no-delete`) and, with a confirm timeout, is
 * confirmed over a fresh connection.  Phase 2 (deletes true): the
 * deletes.  Hosts in skip do nothing (their changes of the phase are
 * "not attempted").  confirm_timeout: seconds for every host, 0 none, -1
 * the default (HOSTNET_CONFIRM_TIMEOUT over SSH, none on this machine).
 * Prints one line per link change on out.  *failed is set to a malloc'd
 * array (the caller frees it) of the names of the hosts whose phase
 * failed or was skipped.  Returns 0, or -1 when one did.
 */
int vf_hostnetcmd_apply(struct vf_hostnetcmd *hn, const struct vf_config *config, const struct vf_plan *plan,
		  bool deletes, int confirm_timeout, const char *const *skip, size_t n_skip,
		  FILE *out, struct vf_hostnetcmd_result *res, const char ***failed, size_t *n_failed);

void vf_hostnetcmd_release(struct vf_hostnetcmd *hn);

#endif
