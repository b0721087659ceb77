/*
 * plan.c — `virtform plan [CONFIG]`: read every host, diff it against the
 * configuration and show what apply would do.  Changes nothing on any
 * host (it takes the state lock, so it never reads a half-written state).
 *
 * `-out FILE` also saves the plan for `virtform apply FILE`
 * (reconcile/saved.h).  The single-dash spelling is Terraform's, kept so
 * CI scripts read the same; `--out` works too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/run.h"

static const char usage[] =
	"usage: virtform plan [CONFIG] [--json] [--detailed-exitcode] [--target ADDR]...\n"
	"                     [--destroy] [-out FILE] [--max-destroy N] [--allow-mass-destroy]\n"
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
	"      -out FILE, --out FILE save the plan (mode 0600) for 'virtform apply FILE',\n"
	"                            which carries out exactly it, or refuses if\n"
	"                            anything it depends on changed since\n"
	"      --destroy             plan the removal of everything virtform manages\n"
	"                            for CONFIG, as 'virtform destroy' would\n"
	RUN_PLAN_OPTIONS_HELP
	"  -h, --help                show this help\n"
	"\n"
	"A plan that destroys more VMs and volumes than --max-destroy allows is\n"
	"shown, then refused (and not saved) unless --allow-mass-destroy: an empty\n"
	"or truncated configuration must never wipe a fleet.\n"
	"\n"
	"Exit status: 0 success (with --detailed-exitcode: no changes), 2 changes\n"
	"(with --detailed-exitcode), 1 error: invalid configuration, unreachable\n"
	"host, name clash with an unmanaged object, protected resource, a mass\n"
	"deletion refused.\n";

/*
 * Terraform's "-out FILE" and "-out=FILE" as "--out": getopt would read
 * "-out" as -o -u -t.  Only before a "--".  Returns what to free.
 */
static char *long_out(int argc, char **argv)
{
	char *made = NULL;
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-out"))
			argv[i] = (char *)"--out";
		else if (!strncmp(argv[i], "-out=", 5) && !made)
			argv[i] = made = xasprintf("-%s", argv[i]);
	}
	return made;
}

/* A saved plan is JSON: a *.yaml name beside the configuration would be
 * read as configuration by the next run. */
static bool yaml_name(const char *file)
{
	size_t n = strlen(file);

	return (n >= 5 && !strcmp(file + n - 5, ".yaml")) || (n >= 4 && !strcmp(file + n - 4, ".yml"));
}

/* The work of plan, options parsed: plan, show (text or --json), refuse a
 * mass deletion, save (-out).  The exit status. */
static int plan(struct vf_run_opts *o, bool json, bool detailed, const char *out_file)
{
	struct vf_run run;
	int rc = vf_run_plan(&vf_cmd_plan, o, &run);

	if (rc == 0) {
		if (json)
			vf_plan_print_json(&run.plan, stdout);
		else
			vf_plan_print(&run.plan, stdout, vf_run_color());
		fflush(stdout);
		/* shown, then refused (and not saved): a mass deletion */
		rc = vf_run_guard(&vf_cmd_plan, &run);
		if (rc == 0 && out_file) {
			fflush(stdout);
			/* with --json, stdout stays one JSON document */
			rc = vf_run_save_plan(&vf_cmd_plan, o, &run, out_file, json ? stderr : stdout);
		}
		if (rc == 0 && detailed && !vf_plan_empty(&run.plan))
			rc = VF_EXIT_CHANGES;
	}
	vf_run_release(&run, o);
	return rc;
}

static int cmd_plan(int argc, char **argv)
{
	struct vf_run_opts o = { .git_checks = true };
	bool json = false, detailed = false;
	const char *out_file = NULL;
	char *made = long_out(argc, argv);
	int c, rc = VF_EXIT_ERROR;

	while ((c = vf_run_getopt(&vf_cmd_plan, argc, argv, &o)) != -1) {
		switch (c) {
		case VF_OPT_JSON: json = o.json = true; break;
		case VF_OPT_DETAILED_EXITCODE: detailed = true; break;
		case VF_OPT_OUT: out_file = optarg; break;
		case VF_OPT_DESTROY: o.destroy = true; break;
		default: rc = vf_cmd_usage_or_error(&vf_cmd_plan, c); goto bad;
		}
	}
	if (vf_run_config_arg(&vf_cmd_plan, argc, argv, &o) < 0)
		goto bad;
	if (out_file && (!*out_file || yaml_name(out_file))) {
		vf_cmd_error(&vf_cmd_plan, "-out '%s': a saved plan is JSON, not a configuration "
			     "file; name it for instance 'plan.vfplan'", out_file);
		goto bad;
	}
	rc = plan(&o, json, detailed, out_file);
	free(made);
	return rc;
bad:
	free(o.targets);
	free(made);
	return rc;
}

const struct vf_cmd vf_cmd_plan = VF_CMD("plan", "show what apply would change on the hosts", usage,
	cmd_plan, .options = VF_OPTS(VF_OPT_JSON, VF_OPT_DETAILED_EXITCODE, VF_OPT_OUT,
				     VF_OPT_DESTROY, RUN_OPTS, RUN_GIT_CHECK_OPTS, RUN_GUARD_OPTS));
