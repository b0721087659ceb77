/*
 * run.c — the steps plan, apply and destroy share (run.h), and the saved
 * plan's two ends: writing one after a plan, and `apply FILE`, which
 * re-runs the plan with the recorded options and carries it out only
 * when nothing it depends on changed (reconcile/saved.h decides).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/run.h"
#include "reconcile/cloudinit.h"
#include "reconcile/saved.h"
#include "reconcile/secret.h"
#include "reconcile/transport.h"

#define RUN_DEFAULT_TIMEOUT 60.0
#define RUN_OBSERVE_THREADS 16

/* The options that store their argument or set a flag: 1, or 0 when c is
 * not one of them. */
static int plain_option(int c, const char *arg, struct vf_run_opts *o)
{
	switch (c) {
	case RUN_OPT_TARGET:
		VF_GROW(o->targets, o->n_targets + 1, o->alloc_targets);
		o->targets[o->n_targets++] = arg;
		return 1;
	case RUN_OPT_STATE_DIR: o->state_dir = arg; return 1;
	case RUN_OPT_GIT: o->git = arg; return 1;
	case RUN_OPT_PATH: o->git_path = arg; return 1;
	case RUN_OPT_SECRET_KEY: o->secret_key = arg; return 1;
	case RUN_OPT_CACHE_DIR: o->cache_dir = arg; return 1;
	case RUN_OPT_GIT_SSH_KEY: o->git_ssh_key = arg; return 1;
	case RUN_OPT_GIT_KNOWN_HOSTS: o->git_known_hosts = arg; return 1;
	case RUN_OPT_VERIFY_SIGNATURES: o->verify_signatures = true; return 1;
	case RUN_OPT_ALLOWED_SIGNERS: o->allowed_signers = arg; return 1;
	case RUN_OPT_GPG_KEYRING: o->gpg_keyring = arg; return 1;
	case RUN_OPT_ALLOW_REWIND: o->allow_rewind = true; return 1;
	case RUN_OPT_SKIP_UNREACHABLE: o->skip_unreachable = true; return 1;
	case RUN_OPT_ALLOW_REPLACE: o->allow_replace = true; return 1;
	case RUN_OPT_ALLOW_MASS_DESTROY: o->allow_mass_destroy = true; return 1;
	default: return 0;
	}
}

/* arg as a whole decimal number from lo to hi (strtoul's syntax). */
static bool number_in(const char *arg, unsigned long lo, unsigned long hi, unsigned long *n)
{
	char *end;

	*n = strtoul(arg, &end, 10);
	return *arg && !*end && *n >= lo && *n <= hi;
}

/* The options that take a number or a duration, range-checked: 1, 0 when
 * c is not one of them, -1 for a bad value (said). */
static int number_option(const struct vf_cmd *cmd, int c, const char *arg,
			 struct vf_run_opts *o)
{
	unsigned long n;

	switch (c) {
	case RUN_OPT_LOCK_TIMEOUT:
		if (!strcmp(arg, "0")) {
			o->lock_timeout = 0;
			return 1;
		}
		if (!vf_parse_seconds(arg, &o->lock_timeout)) {
			vf_cmd_error(cmd, "--lock-timeout: '%s' is not a number of seconds",
				     arg);
			return -1;
		}
		return 1;
	case RUN_OPT_TIMEOUT:
		if (!vf_parse_seconds(arg, &o->timeout)) {
			vf_cmd_error(cmd, "--timeout: '%s' is not a positive number of "
				     "seconds", arg);
			return -1;
		}
		return 1;
	case RUN_OPT_CONFIRM_TIMEOUT:
		if (!number_in(arg, 0, 3600, &n)) {
			vf_cmd_error(cmd, "--confirm-timeout: '%s' is not a number of "
				     "seconds from 0 to 3600", arg);
			return -1;
		}
		o->confirm_timeout = (int)n;
		return 1;
	case RUN_OPT_MAX_DESTROY:
		if (!vf_parse_count(arg, RUN_MAX_DESTROY_MAX, &n)) {
			vf_cmd_error(cmd, "--max-destroy: '%s' is not a number from 0 to %u",
				     arg, RUN_MAX_DESTROY_MAX);
			return -1;
		}
		o->max_destroy_given = true;
		o->max_destroy = (unsigned)n;
		return 1;
	case RUN_OPT_PARALLELISM:
		if (!number_in(arg, 1, 256, &n)) {
			vf_cmd_error(cmd, "--parallelism: '%s' is not a number from 1 to 256",
				     arg);
			return -1;
		}
		o->parallelism = (unsigned)n;
		return 1;
	default:
		return 0;
	}
}

int vf_run_option(const struct vf_cmd *cmd, int c, const char *arg, struct vf_run_opts *o)
{
	return plain_option(c, arg, o) ? 1 : number_option(cmd, c, arg, o);
}

int vf_run_getopt(const struct vf_cmd *cmd, int argc, char **argv, const char *shortopts,
		  const struct option *longopts, struct vf_run_opts *o)
{
	int c, r;

	while ((c = vf_getopt(cmd, argc, argv, shortopts, longopts)) != -1) {
		r = vf_run_option(cmd, c, optarg, o);
		if (r < 0)
			return '?';
		if (r == 0)
			return c;
	}
	return -1;
}

bool vf_run_color(void)
{
	const char *nc = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

/* error (malloc'd) said as the command's error, and freed: VF_EXIT_ERROR. */
static int error_said(const struct vf_cmd *cmd, char *error)
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

static struct vf_plan_opts plan_opts(const struct vf_run_opts *o)
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
		error_said(cmd, error);
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
		return error_said(cmd, error);
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
		error_said(cmd, error);
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

int vf_run_observe(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run)
{
	memset(run, 0, sizeof(*run));
	run->config = vf_run_load(cmd, o, run);
	if (!run->config)
		return VF_EXIT_ERROR;
	return run_observe_loaded(cmd, o, run);
}

/* vf_run_plan() with run->config loaded. */
static int run_plan_loaded(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run)
{
	struct vf_diags diags = { 0 };
	struct vf_plan_opts popts = plan_opts(o);
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
		return error_said(cmd, error);
	if (!last)
		return VF_EXIT_OK;
	d = vf_git_descends(&g->r, g->commit.sha, last, &error);
	if (d < 0)
		rc = error_said(cmd, error);
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
	memset(run, 0, sizeof(*run));
	run->config = vf_run_load(cmd, o, run);
	if (!run->config)
		return VF_EXIT_ERROR;
	return vf_run_plan_config(cmd, o, run);
}

/* A word for a sh command line (what a message suggests), quoted when it
 * needs to be, appended to line after a space. */
static void shell_word(struct vf_buf *line, const char *word)
{
	vf_buf_addch(line, ' ');
	if (*word && !word[strspn(word, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					 "0123456789@%+=:,./_-")]) {
		vf_buf_adds(line, word);
		return;
	}
	/* quote it, ' as '\'' */
	vf_buf_addch(line, '\'');
	for (; *word; word++) {
		if (*word == '\'')
			vf_buf_adds(line, "'\\''");
		else
			vf_buf_addch(line, *word);
	}
	vf_buf_addch(line, '\'');
}

/* "OPTION VALUE", appended to line. */
static void shell_option(struct vf_buf *line, const char *option, const char *value)
{
	shell_word(line, option);
	shell_word(line, value);
}

/*
 * The trust settings of an apply: its command line's, the files made
 * absolute (as vf_run_save_plan records them).  *owned: what to free.
 */
static struct vf_saved_trust apply_trust(const struct vf_run_opts *o, char *owned[2])
{
	struct vf_saved_trust t = { .allow_rewind = o->allow_rewind };

	owned[0] = owned[1] = NULL;
	if (o->verify_signatures && o->allowed_signers) {
		owned[0] = realpath(o->allowed_signers, NULL);
		t.allowed_signers = owned[0] ? owned[0] : o->allowed_signers;
	}
	if (o->verify_signatures && o->gpg_keyring) {
		owned[1] = realpath(o->gpg_keyring, NULL);
		t.gpg_keyring = owned[1] ? owned[1] : o->gpg_keyring;
	}
	return t;
}

/* The trust options of t as words for a command line, appended to line. */
static void trust_words(struct vf_buf *line, const struct vf_saved_trust *t)
{
	if (t->allowed_signers || t->gpg_keyring)
		shell_word(line, "--verify-signatures");
	if (t->allowed_signers)
		shell_option(line, "--allowed-signers", t->allowed_signers);
	if (t->gpg_keyring)
		shell_option(line, "--gpg-keyring", t->gpg_keyring);
	if (t->allow_rewind)
		shell_word(line, "--allow-rewind");
}

/* "virtform apply [TRUST OPTIONS] FILE", what a message tells the
 * operator to run (malloc'd). */
static char *apply_command(const struct vf_saved_trust *t, const char *file)
{
	struct vf_buf line = VF_BUF_INIT;

	vf_buf_adds(&line, "virtform apply");
	trust_words(&line, t);
	shell_word(&line, file);
	return vf_buf_detach(&line);
}

int vf_run_save_plan(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run,
		  const char *file, FILE *out)
{
	struct vf_plan_opts popts = plan_opts(o);
	struct vf_saved_source src = {
		.config_path = o->config_path, .config = run->config, .views = &run->views,
		.desired = &run->desired, .state = &run->state, .plan = &run->plan,
		.opts = &popts, .skip_unreachable = o->skip_unreachable,
		.version = vf_cmd_version_string(),
		.git_allow_rewind = o->allow_rewind,
	};
	char *error = NULL, *owned[2], *apply;
	struct vf_saved_trust t = apply_trust(o, owned);
	int rc;

	/* apply FILE verifies again, wherever it runs: the files' absolute
	 * paths, which apply's command line must give again */
	src.git_allowed_signers = t.allowed_signers;
	src.git_gpg_keyring = t.gpg_keyring;
	rc = vf_saved_write(file, &src, &error);
	if (rc < 0) {
		error_said(cmd, error);
		free(owned[0]);
		free(owned[1]);
		return VF_EXIT_ERROR;
	}
	apply = apply_command(&t, file);
	fprintf(out, "\nSaved the plan to %s: apply it with '%s'.\n", file, apply);
	free(apply);
	free(owned[0]);
	free(owned[1]);
	return VF_EXIT_OK;
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
static int sync_state(const struct vf_cmd *cmd, struct vf_run *run)
{
	char *error = NULL;

	if (vf_state_sync(&run->state, run->config, &run->desired, &run->views) &&
	    vf_state_save(&run->state, &error) < 0)
		return error_said(cmd, error);
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

/* What execute() did: the actions' result and the host links'. */
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
static int execute(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run)
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
	if (sync_state(cmd, run))
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
	return execute(cmd, o, run);
}

/* ---- apply FILE ------------------------------------------------------------ */

char *vf_run_plan_command(const struct vf_saved *s, const char *file)
{
	struct vf_buf line = VF_BUF_INIT;
	size_t i;

	vf_buf_adds(&line, "virtform plan");
	if (s->git_commit) {
		char *git = xasprintf("%s@%s", s->git_repo, s->git_commit);
		struct vf_saved_trust t = { s->git_allowed_signers, s->git_gpg_keyring,
					    s->git_allow_rewind };
		shell_option(&line, "--git", git);
		free(git);
		if (*s->git_path)
			shell_option(&line, "--path", s->git_path);
		shell_option(&line, "--state-dir", s->state_dir);
		trust_words(&line, &t);
	} else {
		shell_word(&line, s->config_path);
	}
	if (s->destroy)
		shell_word(&line, "--destroy");
	for (i = 0; i < s->n_targets; i++)
		shell_option(&line, "--target", s->targets[i]);
	if (s->allow_replace)
		shell_word(&line, "--allow-replace");
	if (s->skip_unreachable)
		shell_word(&line, "--skip-unreachable");
	shell_option(&line, "-out", file);
	return vf_buf_detach(&line);
}

static int stale(const struct vf_cmd *cmd, const struct vf_saved *s, const char *file,
		 const struct vf_saved_problems *p)
{
	char *again = vf_run_plan_command(s, file);
	size_t i;

	for (i = 0; i < p->n; i++)
		fprintf(stderr, "virtform %s: error: the saved plan %s is stale: %s\n", cmd->name,
			file, p->lines[i]);
	fprintf(stderr, "hint: run '%s' again and review it; nothing was changed\n", again);
	free(again);
	return VF_EXIT_ERROR;
}

/*
 * A saved plan is not authenticated: the apply's own trust settings must
 * be the ones it records, or it is refused, naming each difference.
 */
static int check_trust(const struct vf_cmd *cmd, const struct vf_run_opts *o,
		       const struct vf_saved *s, const char *file)
{
	struct vf_saved_problems p = { 0 };
	struct vf_saved_trust t;
	char *owned[2], *again;
	size_t i;

	t = apply_trust(o, owned);
	if (!vf_saved_check_trust(s, &t, &p)) {
		free(owned[0]);
		free(owned[1]);
		return 0;
	}
	for (i = 0; i < p.n; i++)
		fprintf(stderr, "virtform %s: error: the saved plan %s is refused: %s\n", cmd->name,
			file, p.lines[i]);
	t = (struct vf_saved_trust){ s->git_allowed_signers, s->git_gpg_keyring,
				     s->git_allow_rewind };
	again = apply_command(&t, file);
	fprintf(stderr, "hint: the trust settings (--verify-signatures, --allowed-signers, "
		"--gpg-keyring, --allow-rewind) come from apply's command line, never from the "
		"saved plan, and must be the ones it was made with: '%s' (or make another plan); "
		"nothing was changed\n", again);
	free(again);
	free(owned[0]);
	free(owned[1]);
	vf_saved_problems_release(&p);
	return -1;
}

/* The options the saved plan was made with, as this run's (the trust
 * settings excepted: check_trust). */
static void saved_options(struct vf_run_opts *o, const struct vf_saved *saved)
{
	size_t i;

	o->config_path = saved->config_path;
	o->default_state_dir = saved->state_dir;
	o->destroy = saved->destroy;
	o->allow_replace = saved->allow_replace;
	o->skip_unreachable = saved->skip_unreachable;
	for (i = 0; i < saved->n_targets; i++) {
		VF_GROW(o->targets, o->n_targets + 1, o->alloc_targets);
		o->targets[o->n_targets++] = saved->targets[i];
	}
	if (saved->git_commit) {
		/* exactly the commit the plan was made from, from the cache */
		o->git = xasprintf("%s@%s", saved->git_repo, saved->git_commit);
		o->git_path = saved->git_path;
		o->cache_dir = saved->git_cache;
		o->config_path = o->git;
	}
}

/* One more reason the saved plan is stale. */
static void problem_add(struct vf_saved_problems *p, char *line)
{
	VF_GROW(p->lines, p->n + 1, p->alloc);
	p->lines[p->n++] = line;
}

/*
 * The configuration the saved plan was made from, loaded again into
 * run->config and compared with the one recorded: 0, or 1 with the
 * differences in problems.
 */
static int saved_config(const struct vf_cmd *cmd, const struct vf_run_opts *o,
			const struct vf_saved *saved, struct vf_run *run,
			struct vf_saved_problems *problems)
{
	/* from git: the checks plan made, made again on the commit now, with
	 * the trust settings of this command line (check_trust: the same) */
	run->config = saved->git_commit ? vf_run_load(cmd, o, run)
					: vf_cmd_load_config(saved->config_path);
	if (!run->config) {
		problem_add(problems, xasprintf(
			"the configuration '%s' does not load any more (a saved plan names it "
			"relative to the directory plan ran in)", saved->config_path));
		return 1;
	}
	if (strcmp(run->config->project, saved->project) ||
	    vf_saved_check_config(saved, run->config, problems)) {
		if (strcmp(run->config->project, saved->project))
			problem_add(problems, xasprintf(
				"the configuration is project '%s' now, '%s' when the plan was made",
				run->config->project, saved->project));
		return 1;
	}
	return 0;
}

/* The plan made again, compared with the saved one: 0, or 1 with the
 * differences in problems. */
static int saved_plan_same(const struct vf_run_opts *o, const struct vf_saved *saved,
			   struct vf_run *run, struct vf_saved_problems *problems)
{
	struct vf_plan_opts popts = plan_opts(o);
	struct vf_saved_source src = {
		.config_path = o->config_path, .config = run->config, .views = &run->views,
		.desired = &run->desired, .state = &run->state, .plan = &run->plan, .opts = &popts,
		.skip_unreachable = o->skip_unreachable, .version = vf_cmd_version_string(),
	};

	return vf_saved_check_run(saved, &src, problems) ? 1 : 0;
}

/* "Applying the saved plan FILE (made ...): 1 to create, ..." */
static void print_saved_intro(const struct vf_saved *saved, const struct vf_plan *plan,
			      const char *file)
{
	printf("Applying the saved plan %s (made %s): %u to create, %u to update, %u to replace, "
	       "%u to destroy", file, saved->created, plan->counts[VF_ACTION_CREATE],
	       plan->counts[VF_ACTION_UPDATE], plan->counts[VF_ACTION_REPLACE],
	       plan->counts[VF_ACTION_DELETE]);
	if (plan->counts[VF_ACTION_START] || plan->counts[VF_ACTION_STOP])
		printf(", %u to start, %u to stop", plan->counts[VF_ACTION_START],
		       plan->counts[VF_ACTION_STOP]);
	printf(".\n");
}

/*
 * The saved plan made again and carried out if it is the same, on run;
 * the exit status.
 */
static int saved_execute(const struct vf_cmd *cmd, struct vf_run_opts *o,
			 const struct vf_saved *saved, const char *file, struct vf_run *run)
{
	struct vf_saved_problems problems = { 0 };
	int rc = VF_EXIT_ERROR;

	if (saved_config(cmd, o, saved, run, &problems)) {
		rc = stale(cmd, saved, file, &problems);
		goto out;
	}
	if (vf_run_plan_config(cmd, o, run))
		goto out;
	if (saved_plan_same(o, saved, run, &problems)) {
		rc = stale(cmd, saved, file, &problems);
		goto out;
	}
	/* the guard again, with this apply's options: a saved plan carries
	 * none of them */
	if (vf_run_guard(cmd, run) || sync_state(cmd, run))
		goto out;
	if (vf_plan_empty(&run->plan)) {
		vf_plan_print(&run->plan, stdout, vf_run_color());
		rc = VF_EXIT_OK;
		goto out;
	}
	print_saved_intro(saved, &run->plan, file);
	run->executed = true;
	rc = execute(cmd, o, run);
out:
	vf_saved_problems_release(&problems);
	return rc;
}

/*
 * apply FILE: the configuration as it was, the plan pipeline with the
 * recorded options, then the stale checks; only an identical plan runs,
 * without asking (it was reviewed when it was saved).
 */
static int run_apply_saved(const struct vf_cmd *cmd, struct vf_run_opts *o, const char *file)
{
	struct vf_saved saved;
	struct vf_run run;
	char *error = NULL;
	int rc;

	if (vf_saved_read(file, &saved, &error) < 0) {
		error_said(cmd, error);
		vf_saved_release(&saved);
		return VF_EXIT_ERROR;
	}
	if (check_trust(cmd, o, &saved, file) < 0) {
		vf_saved_release(&saved);
		return VF_EXIT_ERROR;
	}
	memset(&run, 0, sizeof(run));
	saved_options(o, &saved);
	rc = saved_execute(cmd, o, &saved, file, &run);
	if (saved.git_commit) {
		rc = vf_run_git_log(cmd, &run, rc);
		free((char *)o->git);
		o->git = NULL;
	}
	vf_run_release(&run, o);
	vf_saved_release(&saved);
	return rc;
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
	static const struct option longopts[] = {
		RUN_APPLY_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct vf_run_opts o = { .destroy = destroy, .confirm_timeout = -1,
			      .secret_key_required = !destroy, .git_checks = true };
	struct vf_run run;
	bool auto_approve = false;
	int c, rc;

	while ((c = vf_run_getopt(cmd, argc, argv, "h", longopts, &o)) != -1) {
		if (c == RUN_OPT_AUTO_APPROVE) {
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
		return run_apply_saved(cmd, &o, o.config_path);
	}
	rc = vf_run_plan(cmd, &o, &run);
	if (rc == 0) {
		rc = vf_run_apply(cmd, &o, &run, auto_approve);
		rc = vf_run_git_log(cmd, &run, rc);
	}
	vf_run_release(&run, &o);
	return rc;
}
