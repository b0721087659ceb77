/*
 * destroy.c — `virtform destroy [CONFIG]`: remove everything virtform
 * manages for this configuration (or the --target ones), and nothing else:
 * unmanaged objects on the same hosts stay, protected VMs stop the plan.
 *
 * Without a terminal it refuses unless --auto-approve, so a CI job never
 * hangs on a prompt and never applies a plan nobody asked for.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/run.h"

static const char usage[] =
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

static int cmd_destroy(int argc, char **argv);

const struct vf_cmd vf_cmd_destroy = VF_CMD("destroy", "remove everything virtform manages for the configuration", usage,
	cmd_destroy, .options = VF_OPTS(RUN_APPLY_OPTS));

static int cmd_destroy(int argc, char **argv)
{
	return vf_run_apply_command(&vf_cmd_destroy, argc, argv, true);
}
