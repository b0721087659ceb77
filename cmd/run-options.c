/*
 * run-options.c — the options plan, apply, destroy, sync, drift, import
 * and validate share (run.h: RUN_OPTS and the others):
 * each one's value checked and stored in struct vf_run_opts, and the
 * getopt loop that handles them for a command (vf_run_getopt), so that a
 * command's own loop sees only its own options.  The hooks (cmd/hook.c)
 * store the ones they share with sync here too (vf_run_option).
 */
#include <stdlib.h>
#include <string.h>

#include "cmd/run.h"

/* The options that store their argument or set a flag: 1, or 0 when c is
 * not one of them. */
static int plain_option(int c, const char *arg, struct vf_run_opts *o)
{
	switch (c) {
	case VF_OPT_TARGET:
		*VF_APPEND(o->targets, o->n_targets, o->alloc_targets) = arg;
		return 1;
	case VF_OPT_STATE_DIR: o->state_dir = arg; return 1;
	case VF_OPT_GIT: o->git = arg; return 1;
	case VF_OPT_PATH: o->git_path = arg; return 1;
	case VF_OPT_SECRET_KEY: o->secret_key = arg; return 1;
	case VF_OPT_CACHE_DIR: o->cache_dir = arg; return 1;
	case VF_OPT_GIT_SSH_KEY: o->git_ssh_key = arg; return 1;
	case VF_OPT_GIT_KNOWN_HOSTS: o->git_known_hosts = arg; return 1;
	case VF_OPT_VERIFY_SIGNATURES: o->verify_signatures = true; return 1;
	case VF_OPT_ALLOWED_SIGNERS: o->allowed_signers = arg; return 1;
	case VF_OPT_GPG_KEYRING: o->gpg_keyring = arg; return 1;
	case VF_OPT_ALLOW_REWIND: o->allow_rewind = true; return 1;
	case VF_OPT_SKIP_UNREACHABLE: o->skip_unreachable = true; return 1;
	case VF_OPT_ALLOW_REPLACE: o->allow_replace = true; return 1;
	case VF_OPT_ALLOW_MASS_DESTROY: o->allow_mass_destroy = true; return 1;
	default: return 0;
	}
}

/* arg as a whole decimal number from lo to hi (strtoul's syntax). */
static bool number_in(const char *arg, unsigned long lo, unsigned long hi, unsigned long *n)
{
	char *end;

	*n = strtoul(arg, &end, 10);
	return *arg && !*end && *n >= lo && *n <= hi;
}

/* The options that take a number or a duration, range-checked: 1, 0 when
 * c is not one of them, -1 for a bad value (said). */
static int number_option(const struct vf_cmd *cmd, int c, const char *arg,
			 struct vf_run_opts *o)
{
	unsigned long n;

	switch (c) {
	case VF_OPT_LOCK_TIMEOUT:
		if (!strcmp(arg, "0")) {
			o->lock_timeout = 0;
			return 1;
		}
		if (!vf_parse_seconds(arg, &o->lock_timeout)) {
			vf_cmd_error(cmd, "--lock-timeout: '%s' is not a number of seconds",
				     arg);
			return -1;
		}
		return 1;
	case VF_OPT_TIMEOUT:
		if (!vf_parse_seconds(arg, &o->timeout)) {
			vf_cmd_error(cmd, "--timeout: '%s' is not a positive number of "
				     "seconds", arg);
			return -1;
		}
		return 1;
	case VF_OPT_CONFIRM_TIMEOUT:
		if (!number_in(arg, 0, 3600, &n)) {
			vf_cmd_error(cmd, "--confirm-timeout: '%s' is not a number of "
				     "seconds from 0 to 3600", arg);
			return -1;
		}
		o->confirm_timeout = (int)n;
		return 1;
	case VF_OPT_MAX_DESTROY:
		if (!vf_parse_count(arg, RUN_MAX_DESTROY_MAX, &n)) {
			vf_cmd_error(cmd, "--max-destroy: '%s' is not a number from 0 to %u",
				     arg, RUN_MAX_DESTROY_MAX);
			return -1;
		}
		o->max_destroy_given = true;
		o->max_destroy = (unsigned)n;
		return 1;
	case VF_OPT_PARALLELISM:
		if (!number_in(arg, 1, 256, &n)) {
			vf_cmd_error(cmd, "--parallelism: '%s' is not a number from 1 to 256",
				     arg);
			return -1;
		}
		o->parallelism = (unsigned)n;
		return 1;
	default:
		return 0;
	}
}

int vf_run_option(const struct vf_cmd *cmd, int c, const char *arg, struct vf_run_opts *o)
{
	return plain_option(c, arg, o) ? 1 : number_option(cmd, c, arg, o);
}

int vf_run_getopt(const struct vf_cmd *cmd, int argc, char **argv, struct vf_run_opts *o)
{
	int c, r;

	while ((c = vf_cmd_getopt(cmd, argc, argv)) != -1) {
		r = vf_run_option(cmd, c, optarg, o);
		if (r < 0)
			return '?';
		if (r == 0)
			return c;
	}
	return -1;
}
