/*
 * apply.c — `virtform apply [CONFIG]`: plan, confirm, converge.
 * `virtform apply FILE`: carry out a saved plan (plan -out FILE), exactly
 * it, or refuse it as stale.
 *
 * Without a terminal it refuses unless --auto-approve, so a CI job never
 * hangs on a prompt and never applies a plan nobody asked for.  A saved
 * plan is not asked about: it was reviewed when it was saved.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/run.h"

static const char usage[] =
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

static int cmd_apply(int argc, char **argv);

const struct vf_cmd vf_cmd_apply = VF_CMD("apply", "change the hosts to match the configuration", usage,
	cmd_apply, .options = VF_OPTS(RUN_APPLY_OPTS));

static int cmd_apply(int argc, char **argv)
{
	return vf_run_apply_command(&vf_cmd_apply, argc, argv, false);
}
