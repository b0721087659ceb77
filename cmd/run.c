/*
 * run.c — the steps plan, apply and destroy share (run.h): load, observe,
 * plan, the checks of a commit from git, confirm, carry out and report.
 * The shared options are read in run-options.c; the saved plan's two
 * ends (plan -out FILE, apply FILE) are in run-saved.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/run.h"
#include "cmd/run-internal.h"
#include "providers/libvirt/provider.h"
#include "reconcile/cloudinit.h"
#include "reconcile/saved.h"
#include "reconcile/secret.h"
#include "reconcile/transport.h"

#define RUN_DEFAULT_TIMEOUT 60.0
#define RUN_OBSERVE_THREADS 16

bool vf_run_color(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

/* error (malloc'd) said as the command's error, and freed: VF_EXIT_ERROR. */
int vf_run_error_said(const struct vf_cmd *cmd, char *error)
{
	vf_cmd_error(cmd, "%s", error);
	free(error);
	return VF_EXIT_ERROR;
}

/* A refusal that could not be recorded in the git log: said as it is
 * (the log's own words), and freed. */
static void log_failed(const struct vf_cmd *cmd, char *error)
{
	fprintf(stderr, "virtform %s: error: %s\n", cmd->name, error);
	free(error);
}

static void print_diags(struct vf_diags *d)
{
	vf_diags_sort(d);
	vf_diags_print(d, stderr);
}

struct vf_plan_opts vf_run_plan_opts(const struct vf_run_opts *o)
{
	struct vf_plan_opts popts = {
		.targets = o->targets, .n_targets = o->n_targets, .destroy = o->destroy,
		.allow_replace = o->allow_replace,
		.max_destroy_given = o->max_destroy_given, .max_destroy = o->max_destroy,
		.allow_mass_destroy = o->allow_mass_destroy,
	};
	return popts;
}

int vf_run_guard(const struct vf_cmd *cmd, const struct vf_run *run)
{
	const struct vf_guard *g = &run->plan.guard;

	char *msg, *error = NULL;

	if (!g->refused)
		return 0;
	fprintf(stderr, "virtform %s: error: refusing a mass deletion: %s; nothing was changed\n"
		"hint: %s\n", cmd->name, g->message, g->hint);
	/* a commit from git: its refusal in the log, as a refused signature
	 * or rewind is (plan changes nothing and records nothing) */
	if (run->git && run->git->resolved && run->state_open && strcmp(cmd->name, "plan")) {
		msg = xasprintf("refusing a mass deletion: %s", g->message);
		if (vf_git_log_append(run->state.dir, cmd->name, run->git, "refused", msg, NULL,
				   &error) < 0)
			log_failed(cmd, error);
		free(msg);
	}
	return VF_EXIT_ERROR;
}

struct vf_git_auth vf_run_git_auth(const struct vf_run_opts *o)
{
	const char *key = getenv("VIRTFORM_GIT_SSH_KEY");
	const char *hosts = getenv("VIRTFORM_GIT_KNOWN_HOSTS");
	struct vf_git_auth a = {
		.ssh_key = o->git_ssh_key ? o->git_ssh_key : key && *key ? key : NULL,
		.known_hosts = o->git_known_hosts ? o->git_known_hosts
						  : hosts && *hosts ? hosts : NULL,
	};
	return a;
}

char *vf_run_state_dir(const struct vf_run_opts *o)
{
	const char *env = getenv("VIRTFORM_STATE_DIR");

	if (o->state_dir)
		return xstrdup(o->state_dir);
	if (env && *env)
		return xstrdup(env);
	if (o->default_state_dir)
		return xstrdup(o->default_state_dir);
	if (o->git)
		return NULL;
	return vf_state_default_dir(o->config_path);
}

int vf_run_check_signers_opt(const struct vf_cmd *cmd, const struct vf_run_opts *o)
{
	if (o->verify_signatures == (o->allowed_signers || o->gpg_keyring))
		return 0;
	vf_cmd_error(cmd, o->verify_signatures ? "--verify-signatures needs the keys it trusts: "
		     "--allowed-signers FILE (SSH keys, OpenSSH's allowed signers format) "
		     "and/or --gpg-keyring FILE (OpenPGP keys)"
		     : "--allowed-signers and --gpg-keyring are used with --verify-signatures");
	return -1;
}

int vf_run_config_arg(const struct vf_cmd *cmd, int argc, char **argv, struct vf_run_opts *o)
{
	if (vf_run_check_signers_opt(cmd, o) < 0)
		return -1;
	if (!o->git) {
		if (o->git_path || o->cache_dir) {
			vf_cmd_error(cmd, "%s reads a configuration from git: give --git REPO[@REF] "
				     "too", o->git_path ? "--path" : "--cache-dir");
			return -1;
		}
		o->config_path = vf_cmd_config_arg(cmd, argc, argv);
		if (!o->config_path)
			return -1;
		/* a saved plan from git may fetch its commit: it takes these */
		if ((o->git_ssh_key || o->git_known_hosts) && !vf_saved_detect(o->config_path)) {
			vf_cmd_error(cmd, "%s is for fetching from git: give --git REPO[@REF] too",
				     o->git_ssh_key ? "--git-ssh-key" : "--git-known-hosts");
			return -1;
		}
		/* a saved plan carries its own (vf_run_apply_command says so) */
		if ((o->verify_signatures || o->allow_rewind) && !vf_saved_detect(o->config_path)) {
			vf_cmd_error(cmd, "%s checks a commit from git: give --git REPO[@REF] too",
				     o->verify_signatures ? "--verify-signatures" : "--allow-rewind");
			return -1;
		}
		return 0;
	}
	if (optind < argc) {
		vf_cmd_error(cmd, "give either CONFIG ('%s') or --git REPO[@REF], not both; "
			     "--path SUBDIR names the configuration inside the repository",
			     argv[optind]);
		return -1;
	}
	o->config_path = o->git;
	return 0;
}

struct vf_config *vf_run_load(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run)
{
	struct vf_diags diags = { 0 };
	struct vf_git_auth auth;
	struct vf_config *c;
	char *state_dir, *error = NULL, *label;

	if (!o->git)
		return vf_cmd_load_config(o->config_path);
	state_dir = vf_run_state_dir(o);
	if (!state_dir && strcmp(cmd->name, "validate")) {
		vf_cmd_error(cmd, "a configuration from git has no directory to keep its state "
			     "beside: give --state-dir DIR or set VIRTFORM_STATE_DIR (the git cache "
			     "goes under it too)");
		return NULL;
	}
	run->git = xcalloc(1, sizeof(*run->git));
	if (vf_git_source_parse(run->git, o->git, o->git_path, &error) < 0) {
		vf_cmd_error(cmd, "--git %s", error);
		free(error);
		free(state_dir);
		return NULL;
	}
	auth = vf_run_git_auth(o);
	c = vf_git_source_load(run->git, o->cache_dir, state_dir, !o->default_state_dir, &auth,
			    &diags, &error);
	free(state_dir);
	if (error)
		vf_run_error_said(cmd, error);
	vf_diags_sort(&diags);
	vf_diags_print(&diags, stderr);
	if (!c && !error) {
		label = vf_git_source_label(run->git);
		fprintf(stderr, "%zu error%s in %s\n", diags.n_errors,
			diags.n_errors == 1 ? "" : "s", label);
		free(label);
	}
	vf_diags_release(&diags);
	return c;
}

int vf_run_git_log(const struct vf_cmd *cmd, struct vf_run *run, int rc)
{
	unsigned counts[4];
	const char *outcome;
	char *error = NULL;

	if (!run->git || !run->state_open || !run->git->resolved)
		return rc;
	if (rc == 0 && !run->executed)
		outcome = "unchanged";
	else if (!run->executed)
		return rc;          /* cancelled, or refused before anything ran */
	else
		outcome = rc == 0 ? "applied" : "failed";
	counts[0] = run->plan.counts[VF_ACTION_CREATE];
	counts[1] = run->plan.counts[VF_ACTION_UPDATE];
	counts[2] = run->plan.counts[VF_ACTION_REPLACE];
	counts[3] = run->plan.counts[VF_ACTION_DELETE];
	if (vf_git_log_append(run->state.dir, cmd->name, run->git, outcome, NULL, counts,
			   &error) < 0)
		return vf_run_error_said(cmd, error);
	return rc;
}

/*
 * A warning on stderr for each host reached in clear text (qemu+tcp, the
 * host says insecure_transport: true; reconcile/transport.h), once per
 * host per run: plan, apply, drift and sync all observe through here.
 */
static void warn_insecure(const struct vf_cmd *cmd, const struct vf_config *c)
{
	static bool warned;
	size_t i;

	if (warned)
		return;
	warned = true;
	for (i = 0; i < c->n_hosts; i++)
		if (c->hosts[i].insecure_transport && vf_transport_is_clear(c->hosts[i].uri))
			fprintf(stderr, "virtform %s: warning: host '%s' is reached over plain TCP "
				"(insecure_transport: true): CHAP secrets, cloud-init seeds and "
				"graphics passwords cross the network in clear text\n", cmd->name, c->hosts[i].name);
}

/* Lock the state and observe the hosts, run->config loaded. */
static int run_observe_loaded(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run)
{
	char *dir, *error = NULL;
	size_t unreachable, i;

	dir = vf_run_state_dir(o);
	if (!dir)
		return vf_cmd_error(cmd, "a configuration from git has no directory to keep its "
				    "state beside: give --state-dir DIR or set VIRTFORM_STATE_DIR");
	if (vf_state_open(&run->state, dir, o->lock_timeout, cmd->name, &error) < 0) {
		vf_run_error_said(cmd, error);
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

	warn_insecure(cmd, run->config);
	unreachable = vf_observe_all(run->config, &vf_provider_libvirt, &run->state,
				     o->timeout > 0 ? o->timeout : RUN_DEFAULT_TIMEOUT,
				     RUN_OBSERVE_THREADS, &run->views);
	if (unreachable && o->skip_unreachable)
		for (i = 0; i < run->views.n; i++)
			if (!run->views.hosts[i].observed)
				run->views.hosts[i].skipped = true;

	return VF_EXIT_OK;
}

/* run set up afresh, with the configuration loaded (vf_run_load): 0 or
 * VF_EXIT_ERROR. */
static int run_start(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run)
{
	memset(run, 0, sizeof(*run));
	run->config = vf_run_load(cmd, o, run);
	return run->config ? VF_EXIT_OK : VF_EXIT_ERROR;
}

int vf_run_observe(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run)
{
	return run_start(cmd, o, run) ? VF_EXIT_ERROR : run_observe_loaded(cmd, o, run);
}

/* vf_run_plan() with run->config loaded. */
static int run_plan_loaded(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run)
{
	struct vf_diags diags = { 0 };
	struct vf_plan_opts popts = vf_run_plan_opts(o);
	struct vf_hostnetcmd_opts hopts;
	const char *env_key = vf_secret_env(VF_SECRET_KEY_ENV);
	int rc = VF_EXIT_ERROR;

	if (run_observe_loaded(cmd, o, run))
		return VF_EXIT_ERROR;
	/* The secret key, once per run: only when given or needed, so a
	 * configuration without sealed values never asks for one. */

	if (!o->destroy && (o->secret_key || (env_key &&
					      vf_config_has_sealed(run->config)))) {
		run->secret_key = vf_secret_key_find(o->secret_key, &diags);
		if (!run->secret_key)
			goto out;
	}
	vf_cloudinit_set_key(run->secret_key, o->secret_key_required);
	if (vf_desired_build(run->config, &run->views, &run->state, o->destroy, &run->desired,
			     &diags, &run->plan.warnings, &run->plan.n_warnings,
			     &run->plan.alloc_warnings) < 0)
		goto out;
	if (vf_plan_build(run->config, &run->desired, &run->views, &run->state,
			  &vf_provider_libvirt, &popts, &run->plan, &diags) < 0)
		goto out;
	hopts = (struct vf_hostnetcmd_opts){
		.timeout = o->timeout > 0 ? o->timeout : RUN_DEFAULT_TIMEOUT,
		.destroy = o->destroy, .skip_unreachable = o->skip_unreachable,
		.targets = o->targets, .n_targets = o->n_targets,
	};
	if (vf_hostnetcmd_plan(&run->hostnet, run->config, run->state.dir, &hopts, &run->plan,
			 &diags) < 0)
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

/* ---- the checks of a commit from git (sync, plan, apply, destroy) ---------- */

/* A refusal: said on stderr and, but by plan (which changes nothing),
 * recorded in the log when it can be.  VF_EXIT_ERROR. */
static int git_refuse(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int git_refuse(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run,
		      const char *fmt, ...)
{
	struct vf_buf msg = VF_BUF_INIT;
	char *error = NULL, *state_dir;
	va_list ap;

	va_start(ap, fmt);
	vf_buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "virtform %s: error: %s; nothing was changed\n", cmd->name, msg.buf);
	if (strcmp(cmd->name, "plan")) {
		state_dir = run->state_open ? xstrdup(run->state.dir) : vf_run_state_dir(o);
		if (state_dir && vf_git_log_append(state_dir, cmd->name, run->git, "refused",
						   msg.buf, NULL, &error) < 0)
			log_failed(cmd, error);
		free(state_dir);
	}
	vf_buf_release(&msg);
	return VF_EXIT_ERROR;
}

/* The commit's signature by a trusted key (--allowed-signers, --gpg-keyring). */
static int git_check_signature(const struct vf_cmd *cmd, const struct vf_run_opts *o,
			       struct vf_run *run)
{
	struct vf_git_source *g = run->git;
	struct vf_git_trust trust = { o->allowed_signers, o->gpg_keyring };
	char *principal = NULL, *error = NULL;
	int rc;

	switch (vf_git_verify_commit(&g->r, &g->commit, &trust, &principal, &error)) {
	case 1:
		fprintf(o->json ? stderr : stdout, "Good signature by '%s'\n", principal);
		rc = VF_EXIT_OK;
		break;
	case 0:
		rc = git_refuse(cmd, o, run, "commit %s is not signed, and --verify-signatures is "
				"given: %s", g->commit.sha, vf_git_sign_hint(&trust));
		break;
	default:
		rc = git_refuse(cmd, o, run, "commit %s is refused: %s", g->commit.sha, error);
		break;
	}
	free(error);
	free(principal);
	return rc;
}

/* The commit against the last one applied from the same repository and
 * path (the log), with the state locked: two runs cannot both pass. */
static int git_check_rewind(const struct vf_cmd *cmd, const struct vf_run_opts *o,
			    struct vf_run *run)
{
	struct vf_git_source *g = run->git;
	char *last = NULL, *error = NULL;
	int d, rc = VF_EXIT_OK;

	if (vf_git_log_last(run->state.dir, g->repo, g->path, &last, &error) < 0)
		return vf_run_error_said(cmd, error);
	if (!last)
		return VF_EXIT_OK;
	d = vf_git_descends(&g->r, g->commit.sha, last, &error);
	if (d < 0)
		rc = vf_run_error_said(cmd, error);
	else if (d == 0 && !o->allow_rewind)
		rc = git_refuse(cmd, o, run, "ref %s moved backwards: %s (the last commit applied) "
				"is not an ancestor of %s; give --allow-rewind to apply it",
				g->commit.ref, last, g->commit.sha);
	else if (d == 0)
		fprintf(o->json ? stderr : stdout, "Rewind allowed: %s (the last commit applied) "
			"is not an ancestor of %s.\n", last, g->commit.sha);
	free(last);
	return rc;
}

int vf_run_plan_config(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run)
{
	bool checks = o->git_checks && run->git && run->git->resolved;

	if (checks && o->verify_signatures && git_check_signature(cmd, o, run))
		return VF_EXIT_ERROR;
	if (run_plan_loaded(cmd, o, run))
		return VF_EXIT_ERROR;
	if (checks && git_check_rewind(cmd, o, run))
		return VF_EXIT_ERROR;
	return VF_EXIT_OK;
}

int vf_run_plan(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run)
{
	return run_start(cmd, o, run) ? VF_EXIT_ERROR : vf_run_plan_config(cmd, o, run);
}

void vf_run_release(struct vf_run *run, struct vf_run_opts *o)
{
	vf_cloudinit_set_key(NULL, false);
	vf_secret_key_free(run->secret_key);
	run->secret_key = NULL;
	vf_hostnetcmd_release(&run->hostnet);
	vf_plan_free(&run->plan);
	vf_desired_release(&run->desired);
	vf_views_release(&run->views);
	if (run->state_open)
		vf_state_close(&run->state);
	vf_config_free(run->config);
	run->config = NULL;
	if (run->git) {
		vf_git_source_release(run->git);
		free(run->git);
		run->git = NULL;
	}
	free(o->targets);
	o->targets = NULL;
}

/* Bring the state up to date before anything changes (vf_state_sync). */
int vf_run_sync_state(const struct vf_cmd *cmd, struct vf_run *run)
{
	char *error = NULL;

	if (vf_state_sync(&run->state, run->config, &run->desired, &run->views) &&
	    vf_state_save(&run->state, &error) < 0)
		return vf_run_error_said(cmd, error);
	return VF_EXIT_OK;
}

/*
 * The state could not be saved after an apply (a full disk): what was
 * done is on the hosts; say where it is recorded and how to get the state
 * back in step.
 */
static void state_unsaved(const struct vf_cmd *cmd, const struct vf_run *run,
			  const struct vf_apply_result *res)
{
	const char *dir = run->state.dir;

	vf_cmd_error(cmd, "%s", res->state_error);
	fprintf(stderr, "  What this run did is done on the hosts, but '%s/state.json' still "
		"holds the state from before it.\n", dir);
	if (!res->journal_incomplete)
		fprintf(stderr, "  Each change is recorded in the journal '%s': make room in "
			"'%s', then run 'virtform plan' (it reads the journal back into the "
			"state) and apply again if it shows changes.\n",
			run->state.journal_path, dir);
	else
		fprintf(stderr, "  The journal '%s' misses some changes (it could not be "
			"written either).  Make room in '%s', then run 'virtform plan': VMs "
			"carry virtform's marker and are found again; a network, pool or "
			"volume this run created that the plan wants to create again exists "
			"already: adopt it with 'virtform import ADDR'.\n",
			run->state.journal_path, dir);
}

/* What vf_run_execute() did: the actions' result and the host links'. */
struct outcome {
	struct vf_apply_result res;
	struct vf_hostnetcmd_result hres;
	int rc;                          /* 0: everything done and recorded */
};

/*
 * The host links' steps around the actions: all but deletes first, then
 * the actions on every host whose links were made, then the deletes —
 * on every host, but those whose links failed, when everything went
 * well; otherwise on none (what failed may still use them).
 */
static void execute_steps(const struct vf_run_opts *o, struct vf_run *run,
			  struct vf_apply_opts *aopts, struct outcome *out)
{
	const char **failed1 = NULL, **failed2 = NULL, **all;
	size_t n_failed1 = 0, n_failed2 = 0;
	int hrc;
	unsigned k;

	hrc = vf_hostnetcmd_apply(&run->hostnet, run->config, &run->plan, false,
				  o->confirm_timeout, NULL, 0, stdout, &out->hres, &failed1,
				  &n_failed1);
	aopts->skip_hosts = failed1;
	aopts->n_skip_hosts = n_failed1;
	if (run->plan.n_actions)
		out->rc = vf_apply(run->config, &run->plan, &vf_provider_libvirt, &run->state,
				   aopts, &out->res);
	if (out->rc == 0 && hrc == 0) {
		hrc = vf_hostnetcmd_apply(&run->hostnet, run->config, &run->plan, true,
					  o->confirm_timeout, NULL, 0, stdout, &out->hres,
					  &failed2, &n_failed2);
	} else {
		/* deletes wait for everything: what failed may still use them */
		all = xcalloc(run->config->n_hosts + 1, sizeof(*all));
		for (k = 0; k < run->config->n_hosts; k++)
			all[k] = run->config->hosts[k].name;
		vf_hostnetcmd_apply(&run->hostnet, run->config, &run->plan, true,
				    o->confirm_timeout, all, run->config->n_hosts, stdout,
				    &out->hres, &failed2, &n_failed2);
		free(all);
	}
	free(failed1);
	free(failed2);
	if (hrc || out->hres.unrecorded)
		out->rc = -1;
}

/* "Apply complete: 1 created, ..." and, when it failed, what failed. */
static void print_outcome(const struct vf_run_opts *o, const struct vf_run *run,
			  const struct outcome *out)
{
	const struct vf_apply_result *res = &out->res;
	const struct vf_hostnetcmd_result *hres = &out->hres;

	if (hres->failures)
		printf("\nHost network failures:\n%s", hres->failures);
	printf("\n%s %s: %u created, %u updated, %u replaced, %u destroyed",
	       o->destroy ? "Destroy" : "Apply", out->rc == 0 ? "complete" : "failed",
	       res->done[VF_ACTION_CREATE] + hres->done[VF_ACTION_CREATE],
	       res->done[VF_ACTION_UPDATE] + hres->done[VF_ACTION_UPDATE],
	       res->done[VF_ACTION_REPLACE] + hres->done[VF_ACTION_REPLACE],
	       res->done[VF_ACTION_DELETE] + hres->done[VF_ACTION_DELETE]);
	if (run->plan.counts[VF_ACTION_START] || run->plan.counts[VF_ACTION_STOP])
		printf(", %u started, %u stopped", res->done[VF_ACTION_START],
		       res->done[VF_ACTION_STOP]);
	if (out->rc) {
		printf("; %zu failed", res->n_failed + hres->n_failed);
		if (hres->n_rolled_back)
			printf(", %zu rolled back", hres->n_rolled_back);
		printf(", %zu not attempted", res->n_not_attempted + hres->n_not_attempted);
		if (res->state_error || hres->unrecorded)
			printf("; %s could not be saved",
			       res->state_error ? "the state" : "the record of host links");
	}
	printf(".\n");
}

/*
 * Carry out run's plan and print the summary; the exit status.  The
 * hosts' network links come first (all but deletes: a bridge exists
 * before the network and the VMs that use it), then the actions — on
 * every host whose links were made —, then the links' deletes, once
 * everything ran (what used them is gone).
 */
int vf_run_execute(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run)
{
	struct vf_apply_opts aopts = {
		.parallelism = o->parallelism ? o->parallelism : 10,
		.tty = isatty(STDOUT_FILENO),
		.color = vf_run_color(),
		.out = stdout,
		.skip_reason = "its network links could not be made",
	};
	struct outcome out;

	if (run->plan.guard.refused)        /* the callers asked; never run one */
		return VF_EXIT_ERROR;
	putchar('\n');
	fflush(stdout);
	memset(&out, 0, sizeof(out));
	execute_steps(o, run, &aopts, &out);
	print_outcome(o, run, &out);
	free(out.hres.failures);
	if (out.res.state_error) {
		fflush(stdout);
		state_unsaved(cmd, run, &out.res);
		free(out.res.state_error);
		out.rc = -1;
	}
	return out.rc ? VF_EXIT_ERROR : VF_EXIT_OK;
}

int vf_run_apply(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run,
	      bool auto_approve)
{
	const char *verb = o->destroy ? "Destroy" : "Apply";

	if (run->plan.guard.refused) {
		/* what would go, and why not */
		vf_plan_print(&run->plan, stdout, vf_run_color());
		fflush(stdout);
		return vf_run_guard(cmd, run);
	}
	if (vf_run_sync_state(cmd, run))
		return VF_EXIT_ERROR;
	vf_plan_print(&run->plan, stdout, vf_run_color());
	if (vf_plan_empty(&run->plan))
		return VF_EXIT_OK;
	if (!auto_approve) {
		if (!isatty(STDIN_FILENO))
			return vf_cmd_error(cmd, "no terminal to confirm on: review the plan and "
					    "give --auto-approve to %s without asking",
					    o->destroy ? "destroy" : "apply");
		if (!vf_confirm(stdout, o->destroy ? "Destroy these resources?"
						  : "Apply these changes?")) {
			printf("%s cancelled; nothing was changed.\n", verb);
			return VF_EXIT_ERROR;
		}
	}
	run->executed = true;
	return vf_run_execute(cmd, o, run);
}

/* The options a saved plan carries, given again on the command line. */
static const char *plan_shaping_option(const struct vf_run_opts *o)
{
	if (o->n_targets)
		return "--target";
	if (o->allow_replace)
		return "--allow-replace";
	if (o->skip_unreachable)
		return "--skip-unreachable";
	return NULL;
}

int vf_run_apply_command(const struct vf_cmd *cmd, int argc, char **argv, bool destroy)
{
	struct vf_run_opts o = { .destroy = destroy, .confirm_timeout = -1,
			      .secret_key_required = !destroy, .git_checks = true };
	struct vf_run run;
	bool auto_approve = false;
	int c, rc;

	while ((c = vf_run_getopt(cmd, argc, argv, &o)) != -1) {
		if (c == VF_OPT_AUTO_APPROVE) {
			auto_approve = true;
			continue;
		}
		free(o.targets);
		if (c == 'h') {
			fputs(cmd->usage, stdout);
			return VF_EXIT_OK;
		}
		return VF_EXIT_ERROR;
	}
	if (destroy && (o.max_destroy_given || o.allow_mass_destroy)) {
		free(o.targets);
		return vf_cmd_error(cmd, "%s does not apply to destroy: it destroys what it is "
				    "asked to (the mass-deletion guard is for plan, apply, sync and "
				    "drift --fix)", o.allow_mass_destroy ? "--allow-mass-destroy"
									 : "--max-destroy");
	}
	if (vf_run_config_arg(cmd, argc, argv, &o) < 0) {
		free(o.targets);
		return VF_EXIT_ERROR;
	}
	if (!o.git && vf_saved_detect(o.config_path)) {
		const char *opt = plan_shaping_option(&o);
		free(o.targets);
		o.targets = NULL;
		o.n_targets = o.alloc_targets = 0;
		if (destroy)
			return vf_cmd_error(cmd, "'%s' is a saved plan: carry it out with 'virtform "
					    "apply %s' (a plan saved with 'virtform plan --destroy "
					    "-out FILE' destroys)", o.config_path, o.config_path);
		if (opt)
			return vf_cmd_error(cmd, "%s cannot be given with the saved plan '%s': a "
					    "saved plan carries its own options; make another with "
					    "'virtform plan %s ... -out FILE'", opt, o.config_path, opt);
		return vf_run_apply_saved(cmd, &o, o.config_path);
	}
	rc = vf_run_plan(cmd, &o, &run);
	if (rc == 0) {
		rc = vf_run_apply(cmd, &o, &run, auto_approve);
		rc = vf_run_git_log(cmd, &run, rc);
	}
	vf_run_release(&run, &o);
	return rc;
}
