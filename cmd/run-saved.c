/*
 * run-saved.c — the saved plan's two ends: writing one after a plan
 * (plan -out FILE), and `apply FILE`, which re-runs the plan with the
 * recorded options and carries it out only when nothing it depends on
 * changed (reconcile/saved.h decides), and the command lines a message
 * tells the operator to run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/run.h"
#include "cmd/run-internal.h"
#include "reconcile/saved.h"

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
	vf_buf_add_shell_quoted(line, word);
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
	struct vf_plan_opts popts = vf_run_plan_opts(o);
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
		vf_run_error_said(cmd, error);
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
	struct vf_plan_opts popts = vf_run_plan_opts(o);
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
	if (vf_run_guard(cmd, run) || vf_run_sync_state(cmd, run))
		goto out;
	if (vf_plan_empty(&run->plan)) {
		vf_plan_print(&run->plan, stdout, vf_run_color());
		rc = VF_EXIT_OK;
		goto out;
	}
	print_saved_intro(saved, &run->plan, file);
	run->executed = true;
	rc = vf_run_execute(cmd, o, run);
out:
	vf_saved_problems_release(&problems);
	return rc;
}

/*
 * apply FILE: the configuration as it was, the plan pipeline with the
 * recorded options, then the stale checks; only an identical plan runs,
 * without asking (it was reviewed when it was saved).
 */
int vf_run_apply_saved(const struct vf_cmd *cmd, struct vf_run_opts *o, const char *file)
{
	struct vf_saved saved;
	struct vf_run run;
	char *error = NULL;
	int rc;

	if (vf_saved_read(file, &saved, &error) < 0) {
		vf_run_error_said(cmd, error);
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
