/*
 * apply.c — `virtform apply [CONFIG]`: plan, confirm, converge.
 * `virtform apply FILE`: carry out a saved plan (plan -out FILE), exactly
 * it, or refuse it as stale.
 *
 * `virtform destroy [CONFIG]`, its mirror, lives here too (as git's log.c
 * holds log and show): the same run towards nothing.  It removes
 * everything virtform manages for this configuration (or the --target
 * ones), and nothing else: unmanaged objects on the same hosts stay,
 * protected VMs stop the plan.
 *
 * Without a terminal it refuses unless --auto-approve, so a CI job never
 * hangs on a prompt and never applies a plan nobody asked for.  A saved
 * plan is not asked about: it was reviewed when it was saved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/run.h"

static const char apply_usage[] =
	"usage: virtform apply [CONFIG] [--auto-approve] [--parallelism N] [--target ADDR]...\n"
	"                      [--max-destroy N] [--allow-mass-destroy]\n"
	"       virtform apply FILE [--parallelism N] [--max-destroy N] [--allow-mass-destroy]\n"
	"\n"
	"Plan as 'virtform plan' does, show the plan, ask 'Apply these changes?'\n"
	"(on a terminal), then carry it out: in dependency order (storage, volumes,\n"
	"networks, VMs; deletes in reverse), on every host at once, one line per\n"
	"action with its time.  A failed action stops only what depends on it;\n"
	"every failure is listed at the end.  Host network links (link.NAME@HOST)\n"
	"are made first, on every host at once, and deleted last; each host checks\n"
	"its own change and rolls it back when it fails (docs/hostnet.md).\n"
	"\n"
	"apply FILE, with a plan saved by 'virtform plan -out FILE': reload the\n"
	"configuration and re-read the hosts with the options the plan was made\n"
	"with, and carry out exactly the saved actions, without asking.  If the\n"
	"configuration, the state or any object the plan depends on changed since\n"
	"(the plan is stale), say what changed and change nothing.  A plan saved\n"
	"from git re-reads its commit and checks it again (its signature, the\n"
	"rewind) with this command line's --verify-signatures, --allowed-signers,\n"
	"--gpg-keyring and --allow-rewind, which must be the ones plan had (a\n"
	"saved plan is not authenticated: it never supplies them).  --target,\n"
	"--allow-replace and --skip-unreachable are refused with a saved plan:\n"
	"it carries its own.\n"
	"\n"
	"Options:\n"
	"      --auto-approve        do not ask (needed without a terminal, as in CI)\n"
	RUN_APPLY_OPTIONS_HELP
	RUN_PLAN_OPTIONS_HELP
	"  -h, --help                show this help\n"
	"\n"
	"A plan that destroys more VMs and volumes than --max-destroy allows is\n"
	"shown, then refused unless --allow-mass-destroy; apply FILE checks again\n"
	"with its own --max-destroy and --allow-mass-destroy (a saved plan carries\n"
	"neither).\n"
	"\n"
	"Exit status: 0 applied (or nothing to do), 1 an error, a failed action, a\n"
	"state that could not be saved (the error says where the changes are\n"
	"recorded), a stale saved plan or a mass deletion refused.\n";

static const char destroy_usage[] =
	"usage: virtform destroy [CONFIG] [--auto-approve] [--target ADDR]...\n"
	"\n"
	"Plan the removal of every object virtform manages for CONFIG on its\n"
	"hosts (VMs shut down gracefully, then their volumes unless a disk says\n"
	"keep: true, networks, storage pools; the data of a storage pool stays),\n"
	"show it, ask 'Destroy these resources?' (on a terminal) and carry it\n"
	"out.  Objects virtform does not manage are never touched.  A VM with\n"
	"protect: true makes the plan fail.  The mass-deletion guard of plan and\n"
	"apply does not stop destroy: it is asked for; the plan still lists\n"
	"everything that goes (--max-destroy and --allow-mass-destroy are\n"
	"refused here).\n"
	"\n"
	"Options:\n"
	"      --auto-approve        do not ask (needed without a terminal)\n"
	RUN_APPLY_OPTIONS_HELP
	RUN_OPTIONS_HELP
	RUN_GIT_CHECK_OPTIONS_HELP
	"  -h, --help                show this help\n"
	"\n"
	"Exit status: 0 destroyed (or nothing to do), 1 an error or a failed action.\n";

/* argv[0] says which: "apply" or "destroy" (cmd.h). */
static int apply_run(int argc, char **argv)
{
	bool destroy = !strcmp(argv[0], "destroy");

	return vf_run_apply_command(destroy ? &vf_cmd_destroy : &vf_cmd_apply, argc, argv, destroy);
}

const struct vf_cmd vf_cmd_apply = VF_CMD("apply", "change the hosts to match the configuration",
	apply_usage, apply_run, .options = VF_OPTS(RUN_APPLY_OPTS));

const struct vf_cmd vf_cmd_destroy = VF_CMD("destroy",
	"remove everything virtform manages for the configuration", destroy_usage, apply_run,
	.options = VF_OPTS(RUN_APPLY_OPTS));
