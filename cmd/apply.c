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
	static const struct option longopts[] = {
		{ "auto-approve", no_argument, NULL, RUN_OPT_AUTO_APPROVE },
		{ "parallelism", required_argument, NULL, RUN_OPT_PARALLELISM },
		{ "target", required_argument, NULL, RUN_OPT_TARGET },
		{ "state-dir", required_argument, NULL, RUN_OPT_STATE_DIR },
		{ "lock-timeout", required_argument, NULL, RUN_OPT_LOCK_TIMEOUT },
		{ "timeout", required_argument, NULL, RUN_OPT_TIMEOUT },
		{ "skip-unreachable", no_argument, NULL, RUN_OPT_SKIP_UNREACHABLE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts o = { 0 };
	struct run run;
	bool auto_approve = false;
	int c, rc;

	while ((c = vf_getopt(&vf_cmd_apply, argc, argv, "h", longopts)) != -1) {
		int r = run_option(&vf_cmd_apply, c, optarg, &o);
		if (r < 0)
			goto bad;
		if (r)
			continue;
		switch (c) {
		case RUN_OPT_AUTO_APPROVE: auto_approve = true; break;
		case 'h': fputs(usage, stdout); free(o.targets); return VF_EXIT_OK;
		default: goto bad;
		}
	}
	o.config_path = vf_cmd_config_arg(&vf_cmd_apply, argc, argv);
	if (!o.config_path)
		goto bad;
	rc = run_plan(&vf_cmd_apply, &o, &run);
	if (rc == 0)
		rc = run_apply(&vf_cmd_apply, &o, &run, auto_approve);
	run_release(&run, &o);
	return rc;
bad:
	free(o.targets);
	return VF_EXIT_ERROR;
}
