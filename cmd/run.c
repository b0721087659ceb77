/*
 * run.c — the steps plan, apply and destroy share (run.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/run.h"

#define RUN_DEFAULT_TIMEOUT 60.0
#define RUN_OBSERVE_THREADS 16

int run_option(const struct vf_cmd *cmd, int c, const char *arg, struct run_opts *o)
{
	char *end;
	unsigned long n;

	switch (c) {
	case RUN_OPT_TARGET:
		VF_GROW(o->targets, o->n_targets + 1, o->alloc_targets);
		o->targets[o->n_targets++] = arg;
		return 1;
	case RUN_OPT_STATE_DIR:
		o->state_dir = arg;
		return 1;
	case RUN_OPT_LOCK_TIMEOUT:
		if (!strcmp(arg, "0")) {
			o->lock_timeout = 0;
			return 1;
		}
		if (!vf_parse_seconds(arg, &o->lock_timeout)) {
			vf_cmd_error(cmd, "--lock-timeout: '%s' is not a number of seconds", arg);
			return -1;
		}
		return 1;
	case RUN_OPT_TIMEOUT:
		if (!vf_parse_seconds(arg, &o->timeout)) {
			vf_cmd_error(cmd, "--timeout: '%s' is not a positive number of seconds", arg);
			return -1;
		}
		return 1;
	case RUN_OPT_SKIP_UNREACHABLE:
		o->skip_unreachable = true;
		return 1;
	case RUN_OPT_PARALLELISM:
		n = strtoul(arg, &end, 10);
		if (!*arg || *end || n < 1 || n > 256) {
			vf_cmd_error(cmd, "--parallelism: '%s' is not a number from 1 to 256", arg);
			return -1;
		}
		o->parallelism = (unsigned)n;
		return 1;
	default:
		return 0;
	}
}

bool run_color(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

static void print_diags(struct vf_diags *d)
{
	vf_diags_sort(d);
	vf_diags_print(d, stderr);
}

int run_plan(const struct vf_cmd *cmd, const struct run_opts *o, struct run *run)
{
	struct vf_diags diags = { 0 };
	struct vf_plan_opts popts = {
		.targets = o->targets, .n_targets = o->n_targets, .destroy = o->destroy,
	};
	char *dir, *error = NULL;
	const char *env = getenv("VIRTFORM_STATE_DIR");
	size_t unreachable, i;
	int rc = VF_EXIT_ERROR;

	memset(run, 0, sizeof(*run));
	run->config = vf_cmd_load_config(o->config_path);
	if (!run->config)
		return VF_EXIT_ERROR;
	if (o->state_dir)
		dir = xstrdup(o->state_dir);
	else if (env && *env)
		dir = xstrdup(env);
	else
		dir = vf_state_default_dir(o->config_path);
	if (vf_state_open(&run->state, dir, o->lock_timeout, cmd->name, &error) < 0) {
		vf_cmd_error(cmd, "%s", error);
		free(error);
		free(dir);
		vf_state_close(&run->state);
		return VF_EXIT_ERROR;
	}
	free(dir);
	run->state_open = true;
	if (run->state.project && strcmp(run->state.project, run->config->project)) {
		vf_cmd_error(cmd, "the state in '%s' belongs to project '%s', but this configuration "
			     "is project '%s'; give each configuration its own --state-dir, or set "
			     "'project: %s' in the configuration", run->state.dir, run->state.project,
			     run->config->project, run->state.project);
		return VF_EXIT_ERROR;
	}

	unreachable = vf_observe_all(run->config, &vf_provider_libvirt, &run->state,
				     o->timeout > 0 ? o->timeout : RUN_DEFAULT_TIMEOUT,
				     RUN_OBSERVE_THREADS, &run->views);
	if (unreachable && o->skip_unreachable)
		for (i = 0; i < run->views.n; i++)
			if (!run->views.hosts[i].observed)
				run->views.hosts[i].skipped = true;

	if (vf_desired_build(run->config, &run->views, &run->state, o->destroy, &run->desired,
			     &diags, &run->plan.warnings, &run->plan.n_warnings,
			     &run->plan.alloc_warnings) < 0)
		goto out;
	if (vf_plan_build(run->config, &run->desired, &run->views, &run->state,
			  &vf_provider_libvirt, &popts, &run->plan, &diags) < 0)
		goto out;
	rc = 0;
out:
	print_diags(&diags);
	if (rc)
		fprintf(stderr, "virtform %s: %zu error%s; nothing was changed\n", cmd->name,
			diags.n_errors, diags.n_errors == 1 ? "" : "s");
	vf_diags_release(&diags);
	return rc;
}

void run_release(struct run *run, struct run_opts *o)
{
	vf_plan_free(&run->plan);
	vf_desired_release(&run->desired);
	vf_views_release(&run->views);
	if (run->state_open)
		vf_state_close(&run->state);
	vf_config_free(run->config);
	free(o->targets);
	o->targets = NULL;
}

/* Read a yes/no answer on the terminal: true only for "yes". */
static bool confirm(const char *question)
{
	char line[64];

	printf("\n%s (yes/no) ", question);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		return false;
	line[strcspn(line, "\r\n")] = '\0';
	return !strcmp(line, "yes");
}

int run_apply(const struct vf_cmd *cmd, const struct run_opts *o, struct run *run,
	      bool auto_approve)
{
	struct vf_apply_opts aopts = {
		.parallelism = o->parallelism ? o->parallelism : 10,
		.tty = isatty(STDOUT_FILENO),
		.color = run_color(),
		.out = stdout,
	};
	struct vf_apply_result res;
	const char *verb = o->destroy ? "Destroy" : "Apply";
	int rc;

	char *error = NULL;

	if (vf_state_sync(&run->state, run->config, &run->desired, &run->views) &&
	    vf_state_save(&run->state, &error) < 0) {
		vf_cmd_error(cmd, "%s", error);
		free(error);
		return VF_EXIT_ERROR;
	}
	vf_plan_print(&run->plan, stdout, aopts.color);
	if (vf_plan_empty(&run->plan))
		return VF_EXIT_OK;
	if (!auto_approve) {
		if (!isatty(STDIN_FILENO))
			return vf_cmd_error(cmd, "no terminal to confirm on: review the plan and "
					    "give --auto-approve to %s without asking",
					    o->destroy ? "destroy" : "apply");
		if (!confirm(o->destroy ? "Destroy these resources?" : "Apply these changes?")) {
			printf("%s cancelled; nothing was changed.\n", verb);
			return VF_EXIT_ERROR;
		}
	}
	putchar('\n');
	fflush(stdout);
	rc = vf_apply(run->config, &run->plan, &vf_provider_libvirt, &run->state, &aopts, &res);
	printf("\n%s %s: %u created, %u updated, %u replaced, %u destroyed", verb,
	       rc == 0 ? "complete" : "failed", res.done[VF_ACTION_CREATE],
	       res.done[VF_ACTION_UPDATE], res.done[VF_ACTION_REPLACE], res.done[VF_ACTION_DELETE]);
	if (run->plan.counts[VF_ACTION_START] || run->plan.counts[VF_ACTION_STOP])
		printf(", %u started, %u stopped", res.done[VF_ACTION_START], res.done[VF_ACTION_STOP]);
	if (rc)
		printf("; %zu failed, %zu not attempted", res.n_failed, res.n_not_attempted);
	printf(".\n");
	return rc ? VF_EXIT_ERROR : VF_EXIT_OK;
}

int run_apply_command(const struct vf_cmd *cmd, int argc, char **argv, bool destroy)
{
	static const struct option longopts[] = {
		{ "auto-approve", no_argument, NULL, RUN_OPT_AUTO_APPROVE },
		{ "parallelism", required_argument, NULL, RUN_OPT_PARALLELISM },
		RUN_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts o = { .destroy = destroy };
	struct run run;
	bool auto_approve = false;
	int c, r, rc;

	while ((c = vf_getopt(cmd, argc, argv, "h", longopts)) != -1) {
		r = run_option(cmd, c, optarg, &o);
		if (r > 0)
			continue;
		if (r == 0 && c == RUN_OPT_AUTO_APPROVE) {
			auto_approve = true;
			continue;
		}
		free(o.targets);
		if (r == 0 && c == 'h') {
			fputs(cmd->usage, stdout);
			return VF_EXIT_OK;
		}
		return VF_EXIT_ERROR;
	}
	o.config_path = vf_cmd_config_arg(cmd, argc, argv);
	if (!o.config_path) {
		free(o.targets);
		return VF_EXIT_ERROR;
	}
	rc = run_plan(cmd, &o, &run);
	if (rc == 0)
		rc = run_apply(cmd, &o, &run, auto_approve);
	run_release(&run, &o);
	return rc;
}
