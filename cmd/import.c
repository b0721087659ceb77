/*
 * import.c — `virtform import ADDR [CONFIG]`: adopt an object that exists
 * on a host and that the configuration describes (reconcile/import.c).
 * Shows how the live object differs from the configuration, then marks it
 * managed — the marker in a domain's metadata, a state record for a
 * network, pool or volume — without changing anything else on the host.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/run.h"
#include "providers/libvirt/provider.h"

static const char usage[] =
	"usage: virtform import ADDR [CONFIG] [--state-dir DIR] [--lock-timeout SECONDS]\n"
	"                                     [--timeout SECONDS]\n"
	"\n"
	"Adopt ADDR (vm.NAME, network.NAME@HOST, storage.NAME@HOST or\n"
	"volume.NAME@HOST), an object that exists on its host but that virtform\n"
	"did not create, and that CONFIG (default: the current directory)\n"
	"describes.  Shows how the live object differs from the configuration,\n"
	"then marks it managed — a VM gets virtform's marker in its metadata\n"
	"(with the disk volumes the configuration gives it), other objects a\n"
	"record in the state — and changes nothing else.  The next plan shows\n"
	"the remaining differences; apply makes them.\n"
	"\n"
	"Options:\n"
	RUN_STATE_OPTIONS_HELP
	"  -h, --help                show this help\n"
	"\n"
	"Exit status: 0 imported (or managed already), 1 error: not in the\n"
	"configuration, not on the host, another project's, unreachable host.\n";

/* The remaining differences of the imported object, as plan prints them. */
static size_t show_differences(const struct vf_plan *plan, const char *address)
{
	struct vf_plan one = { .project = plan->project };
	size_t i, n = 0;

	for (i = 0; i < plan->n_actions; i++)
		if (!strcmp(plan->actions[i].address, address))
			n++;
	if (!n) {
		printf("%s matches the configuration.\n", address);
		return 0;
	}
	one.actions = xcalloc(n, sizeof(*one.actions));
	for (i = 0; i < plan->n_actions; i++)
		if (!strcmp(plan->actions[i].address, address)) {
			one.actions[one.n_actions] = plan->actions[i];
			one.actions[one.n_actions].n_deps = 0;
			one.counts[one.actions[one.n_actions].type]++;
			one.n_actions++;
		}
	printf("How %s differs from the configuration:\n\n", address);
	vf_plan_print(&one, stdout, vf_run_color());
	free(one.actions);
	return n;
}

/*
 * The desired objects with the imported disks adopted, and the plan as
 * the next `virtform plan` will see it (a problem there, a shrink, is
 * shown, not fatal): -1 when the configuration cannot be built.
 */
static int plan_after_import(struct vf_run *run, const char **address, struct vf_import *imp,
			     struct vf_diags *diags)
{
	struct vf_plan_opts popts = { .targets = address, .n_targets = 1 };

	if (vf_desired_build(run->config, &run->views, &run->state, false, &run->desired, diags,
			     &run->plan.warnings, &run->plan.n_warnings,
			     &run->plan.alloc_warnings) < 0)
		return -1;
	vf_import_disks(&run->desired, &run->views, &run->state, imp);
	if (vf_plan_build(run->config, &run->desired, &run->views, &run->state,
			  &vf_provider_libvirt, &popts, &run->plan, diags) < 0) {
		vf_diags_sort(diags);
		vf_diags_print(diags, stderr);
		vf_diags_release(diags);
		memset(diags, 0, sizeof(*diags));
		fprintf(stderr, "(the next plan will report this; importing anyway)\n");
	}
	return 0;
}

/*
 * A VM gets virtform's marker, with the hash of what is there (not of
 * the configuration), through a session kept in *session for the caller
 * to close: -1 after an error message.
 */
static int mark_vm(const struct vf_run *run, const char *address, const struct vf_import *imp,
		   struct vf_session **session)
{
	struct vf_resource r = imp->item->r;
	const struct vf_host *h = vf_config_find_host(run->config, imp->host);
	char *error = NULL, hash[17];

	vf_resource_hash(&imp->item->r, hash);
	r.address = address;
	r.host = imp->host;
	r.u.vm.marker = imp->marker;
	r.u.vm.marker.spec_hash = hash;
	*session = vf_provider_libvirt.session_open(h->uri, &error);
	if (!*session || vf_provider_libvirt.adopt(*session, &r, &error) < 0) {
		fprintf(stderr, "virtform import: error: %s\n", error);
		free(error);
		return -1;
	}
	return 0;
}

static int import_one(const struct vf_run_opts *o, struct vf_run *run, const char *address)
{
	struct vf_diags diags = { 0 };
	struct vf_import imp;
	struct vf_session *session = NULL;
	char *error = NULL;
	int rc = VF_EXIT_ERROR;
	size_t n;

	if (vf_import_prepare(run->config, &run->views, &run->state, address, &imp, &diags) < 0)
		goto out;
	if (imp.already) {
		printf("%s is managed by virtform already (project %s): nothing to import.\n",
		       address, run->config->project);
		rc = VF_EXIT_OK;
		goto out;
	}
	if (plan_after_import(run, &address, &imp, &diags) < 0)
		goto out;
	n = show_differences(&run->plan, address);
	if (imp.item->r.kind == VF_KIND_VM && mark_vm(run, address, &imp, &session) < 0)
		goto out;
	if (vf_state_save(&run->state, &error) < 0) {
		fprintf(stderr, "virtform import: error: %s\n", error);
		free(error);
		goto out;
	}
	printf("\nImported %s on %s", address, imp.host);
	if (imp.n_disks)
		printf(" with %zu disk volume%s", imp.n_disks, imp.n_disks == 1 ? "" : "s");
	printf(": virtform manages it now (project %s); nothing on the host was changed.\n",
	       run->config->project);
	if (n)
		printf("Run 'virtform plan' to see the remaining differences, 'virtform apply' to "
		       "make them.\n");
	rc = VF_EXIT_OK;
out:
	if (session)
		vf_provider_libvirt.session_close(session);
	vf_diags_sort(&diags);
	vf_diags_print(&diags, stderr);
	if (rc && diags.n_errors)
		fprintf(stderr, "virtform import: %zu error%s; nothing was changed\n", diags.n_errors,
			diags.n_errors == 1 ? "" : "s");
	vf_diags_release(&diags);
	vf_import_release(&imp);
	return rc;
}

static int cmd_import(int argc, char **argv)
{
	struct vf_run_opts o = { 0 };
	struct vf_run run;
	const char *address;
	int c, rc;

	while ((c = vf_run_getopt(&vf_cmd_import, argc, argv, &o)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return VF_EXIT_OK;
		}
		return VF_EXIT_ERROR;
	}
	if (optind >= argc)
		return vf_cmd_error(&vf_cmd_import, "which object? give its address, e.g. "
				    "'virtform import vm.web1' (see 'virtform import --help')");
	address = argv[optind];
	if (argc - optind > 2)
		return vf_cmd_error(&vf_cmd_import, "too many arguments: give ADDR and at most "
				    "one CONFIG");
	o.config_path = argc - optind == 2 ? argv[optind + 1] : ".";
	rc = vf_run_observe(&vf_cmd_import, &o, &run);
	if (rc == 0)
		rc = import_one(&o, &run, address);
	vf_run_release(&run, &o);
	return rc;
}

const struct vf_cmd vf_cmd_import = VF_CMD("import",
	"adopt an existing object the configuration describes", usage, cmd_import,
	.options = VF_OPTS(RUN_STATE_OPTS));
