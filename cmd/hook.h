/*
 * hook.h — what `virtform hook` (cmd/hook.c) and `virtform hooks install`
 * (cmd/hooks.c) share: the hooks' options.  hooks install takes every
 * option a hook takes (and writes it into the hook script), so both parse
 * them with one list of options (VF_HOOK_OPTIONS) and one switch.
 */
#ifndef VF_CMD_HOOK_H
#define VF_CMD_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "cmd/cmd.h"
#include "cmd/run.h"

/* The options every hook takes, for a command's VF_OPTS. */
#define VF_HOOK_OPTIONS                                                           \
	VF_OPT_REF, VF_OPT_PATH, VF_OPT_ALLOW_REWIND, VF_OPT_VERIFY_SIGNATURES,   \
	VF_OPT_ALLOWED_SIGNERS, VF_OPT_GPG_KEYRING, VF_OPT_STATE_DIR,             \
	VF_OPT_AUTO_APPROVE, VF_OPT_SECRET_KEY, VF_OPT_MAX_DESTROY,               \
	VF_OPT_ALLOW_MASS_DESTROY, VF_OPT_DEADLINE

#define VF_HOOK_DEADLINE_DEFAULT 60.0    /* seconds, the whole pre-receive run */

/* The hooks' options; strings point into argv.  What a hook shares with
 * sync is stored where sync stores it, in run (vf_run_option): --path
 * (run.git_path), --state-dir, --secret-key, --verify-signatures,
 * --allowed-signers, --gpg-keyring, --allow-rewind, --max-destroy and
 * --allow-mass-destroy.  refs is malloc'd (vf_hook_opts_release). */
struct vf_hook_opts {
	const char *name;                /* the hook run: "pre-receive", ... */
	struct vf_run_opts run;          /* the options shared with sync */
	const char *max_destroy_text;    /* --max-destroy as given (checked into
					  * run), for the sync and the script */
	const char **refs;               /* --ref */
	size_t n_refs, alloc_refs;
	const char *deadline_text;       /* --deadline as given; NULL: the default */
	double deadline;                 /* --deadline, seconds */
	bool auto_approve;               /* post-receive: the sync applies */
};

#define VF_HOOK_OPTS_INIT { .deadline = VF_HOOK_DEADLINE_DEFAULT }

/*
 * Take option c (from vf_cmd_getopt, its value in optarg) into o: 1 taken, 0
 * not one of VF_HOOK_OPTIONS, -1 a bad value (reported for cmd; a
 * --max-destroy that is not a number is refused here, as sync would).
 */
int vf_hook_option(const struct vf_cmd *cmd, int c, const char *value, struct vf_hook_opts *o);

/* --verify-signatures goes with --allowed-signers and/or --gpg-keyring:
 * 0, or -1 reported for cmd. */
int vf_hook_check_trust(const struct vf_cmd *cmd, const struct vf_hook_opts *o);

void vf_hook_opts_release(struct vf_hook_opts *o);

#endif
