/*
 * plan.c — `virtform plan [CONFIG]`: read every host, diff it against the
 * configuration and show what apply would do.  Changes nothing on any
 * host (it takes the state lock, so it never reads a half-written state).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/run.h"

static const char usage[] =
	"usage: virtform plan [CONFIG] [--json] [--detailed-exitcode] [--target ADDR]...\n"
	"\n"
	"Read every host of CONFIG (a YAML file or a directory; default: the\n"
	"current directory) in parallel, diff what they have against the\n"
	"configuration and show the actions apply would take:\n"
	"\n"
	"  + create   ~ update   -/+ replace   - destroy   > start   < stop\n"
	"\n"
	"each with its host and field changes (memory: 1 GiB -> 2 GiB).  An\n"
	"update marked (takes effect at next restart) is written to the VM's\n"
	"definition; virtform never restarts a VM on its own.  Only objects\n"
	"virtform manages are ever changed or destroyed.\n"
	"\n"
	"Options:\n"
	"      --json                one JSON document (schemas/plan.schema.json)\n"
	"      --detailed-exitcode   exit 0 no changes, 2 changes, 1 error\n"
	RUN_OPTIONS_HELP
	"  -h, --help                show this help\n"
	"\n"
	"Exit status: 0 success (with --detailed-exitcode: no changes), 2 changes\n"
	"(with --detailed-exitcode), 1 error: invalid configuration, unreachable\n"
	"host, name clash with an unmanaged object, protected resource.\n";

static int cmd_plan(int argc, char **argv);

const struct vf_cmd vf_cmd_plan = {
	.name = "plan",
	.summary = "show what apply would change on the hosts",
	.usage = usage,
	.run = cmd_plan,
};

static int cmd_plan(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, RUN_OPT_JSON },
		{ "detailed-exitcode", no_argument, NULL, RUN_OPT_DETAILED_EXITCODE },
		RUN_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts o = { 0 };
	struct run run;
	bool json = false, detailed = false;
	int c, rc;

	while ((c = vf_getopt(&vf_cmd_plan, argc, argv, "h", longopts)) != -1) {
		int r = run_option(&vf_cmd_plan, c, optarg, &o);
		if (r < 0)
			goto bad;
		if (r)
			continue;
		switch (c) {
		case RUN_OPT_JSON: json = true; break;
		case RUN_OPT_DETAILED_EXITCODE: detailed = true; break;
		case 'h': fputs(usage, stdout); free(o.targets); return VF_EXIT_OK;
		default: goto bad;
		}
	}
	o.config_path = vf_cmd_config_arg(&vf_cmd_plan, argc, argv);
	if (!o.config_path)
		goto bad;
	rc = run_plan(&vf_cmd_plan, &o, &run);
	if (rc == 0) {
		if (json)
			vf_plan_print_json(&run.plan, stdout);
		else
			vf_plan_print(&run.plan, stdout, run_color());
		if (detailed && !vf_plan_empty(&run.plan))
			rc = VF_EXIT_CHANGES;
	}
	run_release(&run, &o);
	return rc;
bad:
	free(o.targets);
	return VF_EXIT_ERROR;
}
