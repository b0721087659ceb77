/*
 * hook.c — `virtform hook pre-commit|pre-receive|post-receive`: the C
 * behind the thin scripts `virtform hooks install` writes (cmd/hooks.c,
 * contrib/hooks/).  git runs the hooks; virtform never runs git.
 *
 *   pre-commit    in a work tree: `validate --staged` (the index, not the
 *                 files on disk: what is committed is what is checked).
 *   pre-receive   in the receiving repository: for each protected ref,
 *                 refuse a deletion, a rewind (unless --allow-rewind), and
 *                 any new commit whose configuration is invalid or (with
 *                 --verify-signatures) not signed by an allowed key.  The
 *                 pushed objects are read from git's quarantine
 *                 (providers/git/hook.c).  A push is hostile input: the
 *                 first refusal ends the checks (an unsigned commit's
 *                 configuration is never loaded), and the whole run has a
 *                 deadline (--deadline, default 60 s).
 *   post-receive  for each protected ref updated, `virtform sync` of the
 *                 pushed commit from this repository, in a child process
 *                 (the same code path; a crash of one sync cannot take the
 *                 others down).  Its output reaches the pusher as
 *                 "remote: ..." lines.  A failed sync cannot undo the push:
 *                 it is said loudly, and the exit status is 1.
 *
 * Every hook takes the same options, so that one recorded set serves both
 * server hooks; each ignores what it does not use.  Protected refs:
 * --ref PATTERN (repeatable), else the repository's virtform.protectedRefs
 * (multi-valued; blanks or commas separate patterns), else
 * refs/heads/main.  A pattern is an fnmatch(3) glob matched against the
 * full ref name ("refs/heads/release-*"); a pattern without "refs/" also
 * matches a branch by its short name ("main").
 */
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/hook.h"
#include "providers/git/repo.h"
#include "reconcile/model.h"
#include "reconcile/util.h"

static const char usage[] =
	"usage: virtform hook pre-commit  [--path SUBDIR]\n"
	"       virtform hook pre-receive [--ref PATTERN]... [--path SUBDIR] [--allow-rewind]\n"
	"                                 [--verify-signatures [--allowed-signers FILE]\n"
	"                                                      [--gpg-keyring FILE]]\n"
	"                                 [--deadline SECONDS]\n"
	"       virtform hook post-receive --state-dir DIR [--ref PATTERN]... [--path SUBDIR]\n"
	"                                 [--auto-approve] [--secret-key FILE] [--allow-rewind]\n"
	"                                 [--verify-signatures [--allowed-signers FILE]\n"
	"                                                      [--gpg-keyring FILE]]\n"
	"\n"
	"Run by the git hooks 'virtform hooks install' writes (docs/gitops.md, Hooks).\n"
	"\n"
	"pre-commit validates the staged configuration (validate --staged) and\n"
	"refuses the commit when it is invalid.  pre-receive reads 'OLD NEW REF'\n"
	"lines on stdin and, for each protected ref, refuses a deletion, a rewind\n"
	"(unless --allow-rewind) and every new commit whose configuration is\n"
	"invalid or, with --verify-signatures, not signed by a trusted key; the\n"
	"first refusal ends the checks.\n"
	"post-receive syncs the pushed commit of each protected ref from this\n"
	"repository (virtform sync), with --plan-only unless --auto-approve.\n"
	"\n"
	"Options:\n"
	"      --ref PATTERN         a protected ref (fnmatch glob on the full name,\n"
	"                            or a branch name); repeatable; default: the\n"
	"                            repository's virtform.protectedRefs, else\n"
	"                            refs/heads/main\n"
	"      --path SUBDIR         the directory or YAML file of the configuration\n"
	"      --allow-rewind        accept a non-fast-forward of a protected ref\n"
	"      --verify-signatures   every new commit must be signed by a key of\n"
	"      --allowed-signers FILE  (OpenSSH allowed signers) or of\n"
	"      --gpg-keyring FILE    (OpenPGP public keys)\n"
	"      --deadline SECONDS    pre-receive: refuse the push when its checks take\n"
	"                            longer (default 60)\n"
	"      --state-dir DIR       post-receive: the state directory of the sync\n"
	"      --auto-approve        post-receive: apply; without it, plan only\n"
	"      --max-destroy N, --allow-mass-destroy\n"
	"                            post-receive: the sync's mass-deletion guard\n"
	"                            (a sync refuses a plan that destroys more VMs and\n"
	"                            volumes than the larger of 3 and 10% of those\n"
	"                            managed; docs/plan-apply.md)\n"
	"      --secret-key FILE     post-receive: the key of sealed values (the\n"
	"                            sync's --secret-key FILE)\n"
	"  -h, --help                show this help\n"
	"\n"
	"Exit status: 0 accepted (synced), 1 refused (or a sync failed).\n";

/* Say something to the pusher: stderr, which git relays as "remote: ". */
static void say(const struct vf_hook_opts *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const struct vf_hook_opts *h, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "virtform %s: ", h->name);
	va_start(ap, fmt);
	vf_vfprintf_text(stderr, fmt, ap);     /* the pusher's terminal: escaped */
	va_end(ap);
	fputc('\n', stderr);
}

static bool is_zero(const char *sha)
{
	return strspn(sha, "0") == strlen(sha);
}

static bool pattern_match(const char *pattern, const char *ref)
{
	if (!fnmatch(pattern, ref, 0))
		return true;
	return strncmp(pattern, "refs/", 5) && !strncmp(ref, "refs/heads/", 11) &&
	       !fnmatch(pattern, ref + 11, 0);
}

struct protected {
	char **owned;                    /* from the configuration */
	const char **patterns;
	size_t n;
};

static int protected_load(const struct vf_hook_opts *h, struct vf_git_repo *r,
			  struct protected *p)
{
	static const char *def = "refs/heads/main";
	char *error = NULL;
	size_t n = 0;

	memset(p, 0, sizeof(*p));
	if (h->n_refs) {
		p->patterns = h->refs;
		p->n = h->n_refs;
		return 0;
	}
	if (vf_git_config_list(r, "virtform.protectedRefs", &p->owned, &n, &error) < 0) {
		say(h, "error: %s", error);
		free(error);
		return -1;
	}
	if (n) {
		p->patterns = (const char **)p->owned;
		p->n = n;
	} else {
		p->patterns = &def;
		p->n = 1;
	}
	return 0;
}

static bool protected_match(const struct protected *p, const char *ref)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (pattern_match(p->patterns[i], ref))
			return true;
	return false;
}

static void protected_release(struct protected *p)
{
	size_t i;

	for (i = 0; p->owned && i < p->n; i++)
		free(p->owned[i]);
	free(p->owned);
}

/* One "OLD NEW REF" line; false at the end of input. */
struct update {
	char old[65], new[65], ref[1024];     /* sha-1 or sha-256 hex */
};

static bool read_update(FILE *in, struct update *u, bool *bad)
{
	char line[2200];

	*bad = false;
	if (!fgets(line, sizeof(line), in))
		return false;
	if (sscanf(line, "%64s %64s %1023s", u->old, u->new, u->ref) != 3 ||
	    strspn(u->old, "0123456789abcdef") != strlen(u->old) ||
	    strspn(u->new, "0123456789abcdef") != strlen(u->new))
		*bad = true;
	return true;
}

/*
 * Read every "OLD NEW REF" line git gives on stdin and call fn for each
 * protected ref.  A line that cannot be read is said and makes the result
 * an error.  With stop_at_first (pre-receive), the first failure ends the
 * calls: the refs after it are named as not checked (the push is refused
 * whole).  VF_EXIT_OK when every call returned 0.
 */
static int each_protected(const struct vf_hook_opts *h, const struct protected *p,
			  int (*fn)(const struct vf_hook_opts *h, const struct update *u, void *arg),
			  void *arg, bool stop_at_first)
{
	struct update u;
	bool bad_line;
	int rc = VF_EXIT_OK;

	while (read_update(stdin, &u, &bad_line)) {
		if (bad_line) {
			say(h, "error: cannot read the ref update line (expected 'OLD NEW REF' "
			    "from git on stdin)");
			rc = VF_EXIT_ERROR;
			continue;
		}
		if (!protected_match(p, u.ref))
			continue;
		if (rc != VF_EXIT_OK && stop_at_first) {
			say(h, "%s: not checked: the push is refused already", u.ref);
			continue;
		}
		if (fn(h, &u, arg) < 0)
			rc = VF_EXIT_ERROR;
	}
	return rc;
}

/* ---- pre-receive --------------------------------------------------------------- */

/* Check one commit: its configuration, its signature.  0 good. */
static int check_commit(const struct vf_hook_opts *h, struct vf_git_repo *r, const char *sha)
{
	struct vf_git_commit c;
	struct vf_git_files files;
	struct vf_diags diags = { 0 };
	struct vf_config *config;
	struct vf_git_trust trust = { h->run.allowed_signers, h->run.gpg_keyring };
	char *error = NULL, *source;
	int rc = 0;

	if (vf_git_resolve(r, sha, &c, &error) < 0) {
		say(h, "error: %.7s: %s", sha, error);
		free(error);
		return -1;
	}
	if (h->run.verify_signatures) {
		char *principal = NULL;
		int found = vf_git_verify_commit(r, &c, &trust, &principal, &error);
		if (!found) {
			say(h, "error: %s: commit '%s' is not signed; %s (or commit --amend -S) and "
			    "push again", c.short_sha, c.subject, vf_git_sign_hint(&trust));
			rc = -1;
		} else if (found < 0) {
			say(h, "error: %s: commit '%s' is refused: %s", c.short_sha, c.subject,
			    error);
			rc = -1;
		}
		free(error);
		error = NULL;
		free(principal);
		if (rc < 0) {
			/* refused: its configuration is not read, let alone loaded */
			vf_git_commit_release(&c);
			return rc;
		}
	}
	if (vf_git_read_files(r, &c, h->run.git_path, &files, &error) < 0) {
		say(h, "error: %s: %s", c.short_sha, error);
		free(error);
		vf_git_commit_release(&c);
		return -1;
	}
	source = xasprintf("%s@%s%s%s", r->url, c.sha, h->run.git_path ? ":" : "",
			   h->run.git_path ? h->run.git_path : "");
	config = vf_config_load_files(source, files.files, files.n, &diags);
	free(source);
	vf_git_files_release(&files);
	/* the positions are SHORT:PATH:LINE:COL: each error names its commit */
	vf_diags_sort(&diags);
	fflush(stdout);
	vf_diags_print(&diags, stderr);
	if (!config) {
		say(h, "%s: %zu error%s in the configuration of '%s'", c.short_sha,
		    diags.n_errors, diags.n_errors == 1 ? "" : "s", c.subject);
		rc = -1;
	}
	vf_config_free(config);
	vf_diags_release(&diags);
	vf_git_commit_release(&c);
	return rc;
}

/* One protected ref's update: 0 accepted. */
static int check_update(const struct vf_hook_opts *h, const struct update *u, void *repo)
{
	struct vf_git_repo *r = repo;
	char **shas = NULL, *error = NULL;
	size_t n = 0, i, bad = 0;

	if (is_zero(u->new)) {
		say(h, "error: %s is protected: it cannot be deleted", u->ref);
		return -1;
	}
	if (!is_zero(u->old) && !h->run.allow_rewind) {
		int d = vf_git_descends(r, u->new, u->old, &error);
		if (d < 0) {
			say(h, "error: %s: %s", u->ref, error);
			free(error);
			return -1;
		}
		if (!d) {
			say(h, "error: %s is protected: %.7s is not a descendant of %.7s (a force "
			    "push, a rewrite of history); push commits on top of it (git revert), "
			    "or install the hooks with --allow-rewind", u->ref, u->new, u->old);
			return -1;
		}
	}
	if (vf_git_new_commits(r, u->new, u->old, &shas, &n, &error) < 0) {
		say(h, "error: %s: %s", u->ref, error);
		free(error);
		return -1;
	}
	/* oldest first; the first refused commit ends the checks */
	for (i = 0; i < n && !bad; i++)
		if (check_commit(h, r, shas[i]) < 0)
			bad = i + 1;
	for (i = 0; i < n; i++)
		free(shas[i]);
	free(shas);
	if (bad) {
		if (bad < n)
			say(h, "error: %s: rejected: new commit %zu of %zu refused (the %zu after it "
			    "not checked); fix it and push again (nothing was changed)", u->ref,
			    bad, n, n - bad);
		else
			say(h, "error: %s: rejected: new commit %zu of %zu refused; fix it and push "
			    "again (nothing was changed)", u->ref, bad, n);
		return -1;
	}
	printf("virtform %s: %s: %zu new commit%s checked: ok\n", h->name, u->ref, n,
	       n == 1 ? "" : "s");
	return 0;
}

/* Open the repository the hook runs in and its protected refs; -1 said
 * (failing, with "error: ...", then failed). */
static int open_protected(const struct vf_hook_opts *h, struct vf_git_repo *r,
			  struct protected *p, const char *failed)
{
	char *error = NULL;

	if (vf_git_open_env(r, &error) < 0) {
		say(h, "error: %s%s", error, failed);
		free(error);
		return -1;
	}
	if (protected_load(h, r, p) < 0) {
		vf_git_close(r);
		return -1;
	}
	return 0;
}

/*
 * The deadline of a pre-receive run: a watchdog thread that, unless the run
 * ends first, says so and exits 1 (git refuses the push), whatever the hook
 * is waiting for (stdin, the object store, ssh-keygen or gpgv).  A thread
 * rather than SIGALRM: it takes no signal another part of the process (a
 * child's wait, a fuzzer's own timer) may rely on, and is disarmed when the
 * run ends, so a process that runs the hook more than once is not shot later.
 */
struct deadline {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	struct timespec at;              /* CLOCK_MONOTONIC */
	bool done, armed;
	pthread_t thread;
	char msg[512];                   /* made before it is armed */
};

static void *deadline_watch(void *arg)
{
	struct deadline *d = arg;
	int rc = 0;

	pthread_mutex_lock(&d->lock);
	while (!d->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&d->done_cond, &d->lock, &d->at);
	if (!d->done) {
		ssize_t w = write(STDERR_FILENO, d->msg, strlen(d->msg));
		(void)w;
		_exit(VF_EXIT_ERROR);    /* pre-receive changes nothing: nothing to undo */
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static void deadline_arm(struct deadline *d, const struct vf_hook_opts *h)
{
	pthread_condattr_t ca;
	double secs = h->deadline;

	snprintf(d->msg, sizeof(d->msg),
		 "virtform %s: error: the checks of this push ran past their deadline of %g s "
		 "(--deadline SECONDS); the push is refused (nothing was changed): push fewer "
		 "commits at once, or reinstall the hooks with a longer --deadline\n",
		 h->name, secs);
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->done_cond, &ca);
	pthread_condattr_destroy(&ca);
	clock_gettime(CLOCK_MONOTONIC, &d->at);
	d->at.tv_sec += (time_t)secs;
	d->at.tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
	if (d->at.tv_nsec >= 1000000000L) {
		d->at.tv_sec++;
		d->at.tv_nsec -= 1000000000L;
	}
	d->done = false;
	d->armed = pthread_create(&d->thread, NULL, deadline_watch, d) == 0;
	if (!d->armed)
		fprintf(stderr, "virtform %s: warning: cannot watch the deadline of this run: %s\n",
			h->name, strerror(errno));
}

static void deadline_disarm(struct deadline *d)
{
	if (d->armed) {
		pthread_mutex_lock(&d->lock);
		d->done = true;
		pthread_cond_signal(&d->done_cond);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->thread, NULL);
		d->armed = false;
	}
	pthread_cond_destroy(&d->done_cond);
	pthread_mutex_destroy(&d->lock);
}

static int pre_receive(const struct vf_hook_opts *h)
{
	struct vf_git_repo r;
	struct protected p;
	struct deadline d;
	int rc = VF_EXIT_ERROR;

	deadline_arm(&d, h);
	if (open_protected(h, &r, &p, "") == 0) {
		rc = each_protected(h, &p, check_update, &r, true);
		protected_release(&p);
		vf_git_close(&r);
	}
	deadline_disarm(&d);
	return rc;
}

/* ---- post-receive -------------------------------------------------------------- */

/* The sync's arguments for update u: what the hook was given, passed on. */
static void sync_argv(const struct vf_hook_opts *h, const struct update *u, const char *repo,
		      const char *argv[24])
{
	int argc = 0;

	argv[argc++] = "sync";
	argv[argc++] = repo;
	argv[argc++] = "--ref";
	argv[argc++] = u->new;
	argv[argc++] = "--state-dir";
	argv[argc++] = h->run.state_dir;
	if (h->run.git_path) {
		argv[argc++] = "--path";
		argv[argc++] = h->run.git_path;
	}
	argv[argc++] = h->auto_approve ? "--auto-approve" : "--plan-only";
	if (h->run.verify_signatures)
		argv[argc++] = "--verify-signatures";
	if (h->run.allowed_signers) {
		argv[argc++] = "--allowed-signers";
		argv[argc++] = h->run.allowed_signers;
	}
	if (h->run.gpg_keyring) {
		argv[argc++] = "--gpg-keyring";
		argv[argc++] = h->run.gpg_keyring;
	}
	if (h->run.allow_rewind)
		argv[argc++] = "--allow-rewind";
	if (h->run.secret_key) {
		/* as sync takes it: the file, never its path in the environment */
		argv[argc++] = "--secret-key";
		argv[argc++] = h->run.secret_key;
	}
	if (h->max_destroy_text) {
		argv[argc++] = "--max-destroy";
		argv[argc++] = h->max_destroy_text;
	}
	if (h->run.allow_mass_destroy)
		argv[argc++] = "--allow-mass-destroy";
	argv[argc] = NULL;
}

/* Run `virtform sync argv` in a child; its wait status, or -1 (said). */
static int sync_child(const struct vf_hook_opts *h, const char **argv)
{
	int argc = 0, status;
	pid_t pid;

	while (argv[argc])
		argc++;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		say(h, "error: cannot start the sync: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		optind = 0;              /* a fresh getopt for the sync's options */
		exit(vf_cmd_sync.run(argc, (char **)argv));
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			say(h, "error: cannot wait for the sync: %s", strerror(errno));
			return -1;
		}
	return status;
}

/* Sync one protected ref's update (a deletion: nothing); 0 synced. */
static int sync_one(const struct vf_hook_opts *h, const struct update *u, void *repo_url)
{
	const char *argv[24], *repo = repo_url;
	int status;

	if (is_zero(u->new))
		return 0;
	sync_argv(h, u, repo, argv);
	printf("virtform %s: %s -> %.7s: virtform sync%s (state %s)\n", h->name, u->ref, u->new,
	       h->auto_approve ? "" : " --plan-only", h->run.state_dir);
	status = sync_child(h, argv);
	if (status < 0)
		return -1;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	say(h, "**************************************************************");
	say(h, "error: the sync of %s at %.7s FAILED (%s %d); the push is kept (a "
	    "post-receive hook cannot undo it): read the errors above, fix the "
	    "configuration or the hosts, and push again (or run 'virtform sync %s --ref "
	    "%.7s --state-dir %s')", u->ref, u->new,
	    WIFEXITED(status) ? "exit status" : "signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), repo, u->new,
	    h->run.state_dir);
	say(h, "**************************************************************");
	return -1;
}

static int post_receive(const struct vf_hook_opts *h)
{
	struct vf_git_repo r;
	struct protected p;
	char *repo;
	int rc;

	if (!h->run.state_dir) {
		say(h, "error: no --state-dir: reinstall the hooks with 'virtform hooks "
		    "install --server --state-dir DIR'; nothing was synced");
		return VF_EXIT_ERROR;
	}
	if (open_protected(h, &r, &p, "; nothing was synced") < 0)
		return VF_EXIT_ERROR;
	repo = xstrdup(r.url);
	/* the sync opens the repository itself (into its cache) */
	vf_git_close(&r);
	rc = each_protected(h, &p, sync_one, repo, false);
	free(repo);
	protected_release(&p);
	return rc;
}

/* ---- pre-commit ---------------------------------------------------------------- */

static int pre_commit(const struct vf_hook_opts *h)
{
	const char *argv[5];
	int argc = 0, rc;

	argv[argc++] = "validate";
	argv[argc++] = "--staged";
	if (h->run.git_path) {
		argv[argc++] = "--path";
		argv[argc++] = h->run.git_path;
	}
	argv[argc] = NULL;
	optind = 0;
	rc = vf_cmd_validate.run(argc, (char **)argv);
	if (rc != VF_EXIT_OK)
		say(h, "error: the staged configuration is invalid: the commit is refused; "
		    "fix it and 'git add' the fix (what is checked is what is staged, not "
		    "the files on disk)");
	return rc;
}

/* ---- the options, shared with hooks install -------------------------------------- */

int vf_hook_option(const struct vf_cmd *cmd, int c, const char *value, struct vf_hook_opts *o)
{
	switch (c) {
	case VF_OPT_REF:
		*VF_APPEND(o->refs, o->n_refs, o->alloc_refs) = value;
		return 1;
	case VF_OPT_AUTO_APPROVE: o->auto_approve = true; return 1;
	case VF_OPT_DEADLINE:
		if (!vf_parse_seconds(value, &o->deadline)) {
			vf_cmd_error(cmd, "--deadline '%s': give seconds, more than 0 and at "
				     "most 86400 (a day)", value);
			return -1;
		}
		o->deadline_text = value;
		return 1;
	case VF_OPT_MAX_DESTROY:
		/* checked and stored as sync's below; passed on as given */
		o->max_destroy_text = value;
		break;
	}
	/* what a hook shares with sync */
	return vf_run_option(cmd, c, value, &o->run);
}

int vf_hook_check_trust(const struct vf_cmd *cmd, const struct vf_hook_opts *o)
{
	const struct vf_run_opts *r = &o->run;

	if (r->verify_signatures == (r->allowed_signers || r->gpg_keyring))
		return 0;
	vf_cmd_error(cmd, "%s", r->verify_signatures ? "--verify-signatures needs "
		     "--allowed-signers FILE and/or --gpg-keyring FILE" : "--allowed-signers "
		     "and --gpg-keyring are used with --verify-signatures");
	return -1;
}

void vf_hook_opts_release(struct vf_hook_opts *o)
{
	free(o->refs);
	o->refs = NULL;
	o->n_refs = o->alloc_refs = 0;
}

/* ---- virtform hook ------------------------------------------------------------- */

/* A hook: its descriptor (for help, completion and man) and what runs it. */
struct hook_kind {
	struct vf_cmd cmd;
	int (*run)(const struct vf_hook_opts *h);
};

static const struct hook_kind kinds[] = {
	{ VF_CMD("hook pre-commit", "validate the staged configuration", usage, NULL),
	  pre_commit },
	{ VF_CMD("hook pre-receive", "refuse a push of an invalid or unsigned configuration",
		 usage, NULL), pre_receive },
	{ VF_CMD("hook post-receive", "sync the pushed commit", usage, NULL), post_receive },
};

static const struct vf_cmd *const subcommands[] = {
	&kinds[0].cmd,
	&kinds[1].cmd,
	&kinds[2].cmd,
	NULL,
};

/* The options and the hook's name; 1: --help shown, 0 parsed, -1 an error. */
static int parse_options(int argc, char **argv, struct vf_hook_opts *h)
{
	int c, r;

	while ((c = vf_cmd_getopt(&vf_cmd_hook, argc, argv)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 1;
		}
		r = vf_hook_option(&vf_cmd_hook, c, optarg, h);
		if (r <= 0)
			return -1;
	}
	if (argc - optind != 1) {
		if (argc - optind)
			vf_cmd_error(&vf_cmd_hook, "expected one hook name, got '%s' and more",
				     argv[optind]);
		else
			vf_cmd_error(&vf_cmd_hook, "give the hook: pre-commit, pre-receive or "
				     "post-receive");
		return -1;
	}
	if (vf_hook_check_trust(&vf_cmd_hook, h) < 0)
		return -1;
	h->name = argv[optind];
	return 0;
}

static int hook_run(int argc, char **argv)
{
	struct vf_hook_opts h = VF_HOOK_OPTS_INIT;
	const struct vf_cmd *sub;
	int rc = VF_EXIT_ERROR, r;

	/* "remote:" lines in the order they were written */
	setvbuf(stdout, NULL, _IOLBF, 0);
	r = parse_options(argc, argv, &h);
	if (r > 0)
		rc = VF_EXIT_OK;
	else if (r == 0 && !(sub = vf_cmd_subcommand(&vf_cmd_hook, h.name)))
		vf_cmd_error(&vf_cmd_hook, "unknown hook '%s': give pre-commit, pre-receive or "
			     "post-receive", h.name);
	else if (r == 0)
		/* sub is the first member of its hook_kind */
		rc = ((const struct hook_kind *)sub)->run(&h);
	vf_hook_opts_release(&h);
	return rc;
}

const struct vf_cmd vf_cmd_hook = VF_CMD("hook",
	"the git hooks' work: pre-commit, pre-receive, post-receive", usage, hook_run,
	.options = VF_OPTS(VF_HOOK_OPTIONS), .subcommands = subcommands);
