/*
 * hook.h — what `virtform hook` (cmd/hook.c) and `virtform hooks install`
 * (cmd/hooks.c) share: the hooks' options.  hooks install takes every
 * option a hook takes (and writes it into the hook script), so both parse
 * them with one table and one switch.
 */
#ifndef VF_CMD_HOOK_H
#define VF_CMD_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "cmd/cmd.h"
#include "providers/git/repo.h"

enum {
	VF_HOOK_OPT_REF = 3000,
	VF_HOOK_OPT_PATH,
	VF_HOOK_OPT_ALLOW_REWIND,
	VF_HOOK_OPT_VERIFY,
	VF_HOOK_OPT_ALLOWED_SIGNERS,
	VF_HOOK_OPT_GPG_KEYRING,
	VF_HOOK_OPT_STATE_DIR,
	VF_HOOK_OPT_AUTO_APPROVE,
	VF_HOOK_OPT_SECRET_KEY,
	VF_HOOK_OPT_MAX_DESTROY,
	VF_HOOK_OPT_ALLOW_MASS_DESTROY,
	VF_HOOK_OPT_DEADLINE,
	VF_HOOK_OPT_SERVER,              /* hooks install only */
	VF_HOOK_OPT_FORCE,               /* hooks install only */
};

/* The options every hook takes (a longopts fragment, no terminator). */
#define VF_HOOK_LONGOPTS                                                                  \
	{ "ref", required_argument, NULL, VF_HOOK_OPT_REF },                             \
	{ "path", required_argument, NULL, VF_HOOK_OPT_PATH },                           \
	{ "allow-rewind", no_argument, NULL, VF_HOOK_OPT_ALLOW_REWIND },                 \
	{ "verify-signatures", no_argument, NULL, VF_HOOK_OPT_VERIFY },                  \
	{ "allowed-signers", required_argument, NULL, VF_HOOK_OPT_ALLOWED_SIGNERS },     \
	{ "gpg-keyring", required_argument, NULL, VF_HOOK_OPT_GPG_KEYRING },             \
	{ "state-dir", required_argument, NULL, VF_HOOK_OPT_STATE_DIR },                 \
	{ "auto-approve", no_argument, NULL, VF_HOOK_OPT_AUTO_APPROVE },                 \
	{ "secret-key", required_argument, NULL, VF_HOOK_OPT_SECRET_KEY },               \
	{ "max-destroy", required_argument, NULL, VF_HOOK_OPT_MAX_DESTROY },             \
	{ "allow-mass-destroy", no_argument, NULL, VF_HOOK_OPT_ALLOW_MASS_DESTROY },     \
	{ "deadline", required_argument, NULL, VF_HOOK_OPT_DEADLINE }

#define VF_HOOK_DEADLINE_DEFAULT 60.0    /* seconds, the whole pre-receive run */

/* The hooks' options; strings point into argv.  refs is malloc'd
 * (vf_hook_opts_release). */
struct vf_hook_opts {
	const char *name;                /* the hook run: "pre-receive", ... */
	const char **refs;               /* --ref */
	size_t n_refs, alloc_refs;
	const char *path, *state_dir, *secret_key;
	struct vf_git_trust trust;       /* --allowed-signers, --gpg-keyring */
	const char *deadline_text;       /* --deadline as given; NULL: the default */
	double deadline;                 /* --deadline, seconds */
	bool allow_rewind, verify, auto_approve;
	const char *max_destroy;         /* post-receive: the sync's --max-destroy */
	bool allow_mass_destroy;         /* post-receive: the sync's --allow-mass-destroy */
};

#define VF_HOOK_OPTS_INIT { .deadline = VF_HOOK_DEADLINE_DEFAULT }

/*
 * Take option c (from vf_cmd_getopt, its value in optarg) into o: 1 taken, 0
 * not one of VF_HOOK_LONGOPTS, -1 a bad value (reported for cmd).
 */
int vf_hook_option(const struct vf_cmd *cmd, int c, const char *value, struct vf_hook_opts *o);

/* --verify-signatures goes with --allowed-signers and/or --gpg-keyring:
 * 0, or -1 reported for cmd. */
int vf_hook_check_trust(const struct vf_cmd *cmd, const struct vf_hook_opts *o);

void vf_hook_opts_release(struct vf_hook_opts *o);

#endif
