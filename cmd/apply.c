/*
 * apply.c — `virtform apply [CONFIG]`: plan, confirm, converge.
 *
 * Without a terminal it refuses unless --auto-approve, so a CI job never
 * hangs on a prompt and never applies a plan nobody asked for.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/run.h"

static const char usage[] =
	"usage: virtform apply [CONFIG] [--auto-approve] [--parallelism N] [--target ADDR]...\n"
	"\n"
	"Plan as 'virtform plan' does, show the plan, ask 'Apply these changes?'\n"
	"(on a terminal), then carry it out: in dependency order (storage, volumes,\n"
	"networks, VMs; deletes in reverse), on every host at once, one line per\n"
	"action with its time.  A failed action stops only what depends on it;\n"
	"every failure is listed at the end.\n"
	"\n"
	"Options:\n"
	"      --auto-approve        do not ask (needed without a terminal, as in CI)\n"
	"      --parallelism N       actions in flight at once (default 10)\n"
	RUN_OPTIONS_HELP
	"  -h, --help                show this help\n"
	"\n"
	"Exit status: 0 applied (or nothing to do), 1 an error or a failed action.\n";

static int cmd_apply(int argc, char **argv);

const struct vf_cmd vf_cmd_apply = {
	.name = "apply",
	.summary = "change the hosts to match the configuration",
	.usage = usage,
	.run = cmd_apply,
};

static int cmd_apply(int argc, char **argv)
{
	return run_apply_command(&vf_cmd_apply, argc, argv, false);
}
