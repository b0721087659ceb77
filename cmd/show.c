/*
 * show.c — `virtform show FILE [--json]`: print a saved plan (made with
 * `virtform plan -out FILE`) as plan printed it, for review in a merge
 * request or before `virtform apply FILE`.
 *
 * Reads only the file: no host, no state, no lock.  So it can run where
 * the plan is reviewed, not only where it is applied.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/run.h"
#include "reconcile/saved.h"

static const char usage[] =
	"usage: virtform show FILE [--json]\n"
	"\n"
	"Print the saved plan FILE (made with 'virtform plan -out FILE'): when and\n"
	"from which configuration it was made, then its actions as 'virtform plan'\n"
	"printed them.  Contacts no host.\n"
	"\n"
	"Options:\n"
	"      --json                the plan as 'virtform plan --json' printed it\n"
	"                            (schemas/plan.schema.json)\n"
	"  -h, --help                show this help\n"
	"\n"
	"Exit status: 0 shown, 1 error (no such file, not a saved plan, damaged,\n"
	"a format version newer than this virtform reads).\n";

static void print_header(const struct vf_saved *s, const char *file)
{
	size_t i;

	printf("Saved plan %s, made %s by virtform %s\n", file, s->created, s->version);
	printf("Configuration: %s (project %s)\n", s->config_path, s->project);
	if (s->destroy || s->n_targets || s->allow_replace || s->skip_unreachable) {
		printf("Options:");
		if (s->destroy)
			printf(" --destroy");
		for (i = 0; i < s->n_targets; i++)
			printf(" --target %s", s->targets[i]);
		if (s->allow_replace)
			printf(" --allow-replace");
		if (s->skip_unreachable)
			printf(" --skip-unreachable");
		putchar('\n');
	}
	printf("Apply it with: virtform apply %s\n\n", file);
}

static int cmd_show(int argc, char **argv)
{
	struct vf_saved saved;
	struct vf_plan plan;
	bool json = false;
	char *error = NULL;
	const char *file;
	int rc = VF_CMD_PARSE(&vf_cmd_show, argc, argv, NULL, VF_FLAG(VF_OPT_JSON, &json));

	if (rc != VF_CMD_GO_ON)
		return rc;
	if (optind >= argc)
		return vf_cmd_error(&vf_cmd_show, "which saved plan? usage: virtform show FILE "
				    "[--json]");
	if (argc - optind > 1)
		return vf_cmd_error(&vf_cmd_show, "expected one FILE, got '%s' and '%s'",
				    argv[optind], argv[optind + 1]);
	file = argv[optind];
	if (vf_saved_read(file, &saved, &error) < 0) {
		vf_cmd_error(&vf_cmd_show, "%s", error);
		free(error);
		vf_saved_release(&saved);
		return VF_EXIT_ERROR;
	}
	if (json) {
		/* it says why on stderr (the file changed while it was read) */
		rc = vf_saved_print_json(&saved, stdout) < 0 ? VF_EXIT_ERROR : VF_EXIT_OK;
		vf_saved_release(&saved);
		return rc;
	}
	if (vf_saved_plan(&saved, &plan, &error) < 0) {
		vf_cmd_error(&vf_cmd_show, "%s", error);
		free(error);
		vf_saved_release(&saved);
		return VF_EXIT_ERROR;
	}
	print_header(&saved, file);
	vf_plan_print(&plan, stdout, vf_run_color());
	vf_plan_free(&plan);
	vf_saved_release(&saved);
	return VF_EXIT_OK;
}

const struct vf_cmd vf_cmd_show = VF_CMD("show", "print a saved plan", usage, cmd_show,
	.options = VF_OPTS(VF_OPT_JSON));
