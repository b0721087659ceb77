/*
 * sync.c — `virtform sync REPO`: GitOps in one command.  Fetch REPO into
 * the cache, resolve the ref, read the configuration from that commit's
 * tree (no checkout), check the commit (signature, no rewind), plan and,
 * unless --plan-only, apply; then record the commit in the state
 * directory's log of applied commits (`virtform log`).
 *
 * Deliberate choices: the state directory is required (--state-dir or
 * $VIRTFORM_STATE_DIR): a repository has no directory on this machine to
 * keep it beside, and a guess would split one project's state in two.  A
 * rewind is decided against the last commit applied from the same
 * repository and path (not the ref's previous position in the cache),
 * after the state lock is taken, so two syncs cannot both pass it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/run.h"

static const char usage[] =
	"usage: virtform sync REPO [--ref REF] [--path SUBDIR] [--plan-only] [--auto-approve]\n"
	"                     [--state-dir DIR] [--cache-dir DIR] [--allow-rewind]\n"
	"                     [--verify-signatures --allowed-signers FILE] [--target ADDR]...\n"
	"\n"
	"Fetch REPO (a URL, a local path or file://; every branch and tag) into the\n"
	"git cache, resolve REF (a branch, tag or commit sha; default: the remote's\n"
	"default branch; REPO@REF works too), load the configuration straight from\n"
	"that commit's tree, plan, and apply as 'virtform apply' does.  Output\n"
	"starts with 'commit SHA SUBJECT' and ends with the apply summary.  Each\n"
	"apply is recorded in STATE_DIR/git-log.jsonl ('virtform log').\n"
	"\n"
	"A commit that does not descend from the last commit applied from REPO\n"
	"and SUBDIR (a ref that moved backwards: a history rewrite, a revert by\n"
	"force-push) is refused unless --allow-rewind.  The same commit again is\n"
	"fine: its plan is empty.\n"
	"\n"
	"Options:\n"
	"      --ref REF             the branch, tag or sha to apply\n"
	"      --path SUBDIR         the directory or YAML file in the commit that\n"
	"                            holds the configuration (default: the root)\n"
	"      --plan-only           show the plan; change nothing\n"
	"      --auto-approve        do not ask (needed without a terminal)\n"
	"      --state-dir DIR       the state directory (required, or\n"
	"                            $VIRTFORM_STATE_DIR)\n"
	"      --cache-dir DIR       the git cache (default:\n"
	"                            STATE_DIR/git-cache/NAME-HASH)\n"
	"      --verify-signatures   refuse a commit that is not signed by a key of\n"
	"                            --allowed-signers FILE (SSH signatures, checked\n"
	"                            with ssh-keygen -Y verify; GPG is not supported)\n"
	"      --allowed-signers FILE  OpenSSH allowed signers (ssh-keygen(1))\n"
	"      --allow-rewind        apply a commit that is not a descendant of the\n"
	"                            last one applied\n"
	"      --parallelism N       actions in flight at once (default 10)\n"
	"      --target ADDR         only ADDR and what it depends on; repeatable\n"
	"      --lock-timeout SECONDS wait this long for another run's lock\n"
	"      --timeout SECONDS     give each host this long to answer (default 60)\n"
	"      --skip-unreachable    plan for the hosts that answer\n"
	"      --allow-replace       let the plan replace a network running VMs use\n"
	"  -h, --help                show this help\n"
	"\n"
	"Exit status: 0 applied (or nothing to do, or planned with --plan-only),\n"
	"1 an error: fetch, ref, invalid configuration, refused signature or\n"
	"rewind, a failed action.\n";

static int cmd_sync(int argc, char **argv);

const struct vf_cmd vf_cmd_sync = {
	.name = "sync",
	.summary = "apply the configuration of a git commit (GitOps)",
	.usage = usage,
	.run = cmd_sync,
};

enum {
	SYNC_OPT_REF = 2000,
	SYNC_OPT_PLAN_ONLY,
	SYNC_OPT_VERIFY,
	SYNC_OPT_ALLOWED_SIGNERS,
	SYNC_OPT_ALLOW_REWIND,
};

struct sync_opts {
	const char *ref, *allowed_signers;
	bool plan_only, auto_approve, verify, allow_rewind;
};

/* A refusal: said on stderr, and recorded in the log when it can be. */
static int refuse(struct run *run, const char *state_dir, const char *msg)
{
	char *error = NULL;

	fprintf(stderr, "virtform sync: error: %s; nothing was changed\n", msg);
	if (state_dir && git_log_append(state_dir, "sync", run->git, "refused", msg, NULL,
					&error) < 0) {
		fprintf(stderr, "virtform sync: error: %s\n", error);
		free(error);
	}
	return VF_EXIT_ERROR;
}

static int check_signature(struct run *run, const struct sync_opts *so, const char *state_dir)
{
	struct git_source *g = run->git;
	char *sig = NULL, *payload = NULL, *principal = NULL, *error = NULL, *msg;
	size_t len;
	int found, rc;

	found = vf_git_signature(&g->r, &g->commit, &sig, &payload, &len, &error);
	if (found < 0) {
		rc = vf_cmd_error(&vf_cmd_sync, "%s", error);
		free(error);
		return rc;
	}
	if (!found) {
		msg = xasprintf("commit %s is not signed, and --verify-signatures is given: sign "
				"it with a key of '%s' (git -c gpg.format=ssh commit -S)",
				g->commit.sha, so->allowed_signers);
		rc = refuse(run, state_dir, msg);
		free(msg);
		return rc;
	}
	if (vf_git_verify_ssh(sig, payload, len, so->allowed_signers, &principal, &error) < 0) {
		msg = xasprintf("commit %s is refused: %s", g->commit.sha, error);
		rc = refuse(run, state_dir, msg);
		free(msg);
	} else {
		printf("Good signature by '%s'\n", principal);
		rc = VF_EXIT_OK;
	}
	free(error);
	free(principal);
	free(sig);
	free(payload);
	return rc;
}

static int check_rewind(struct run *run, const struct sync_opts *so)
{
	struct git_source *g = run->git;
	char *last = NULL, *error = NULL, *msg;
	int d, rc = VF_EXIT_OK;

	if (git_log_last(run->state.dir, g->repo, g->path, &last, &error) < 0) {
		rc = vf_cmd_error(&vf_cmd_sync, "%s", error);
		free(error);
		return rc;
	}
	if (!last)
		return VF_EXIT_OK;
	d = vf_git_descends(&g->r, g->commit.sha, last, &error);
	if (d < 0) {
		rc = vf_cmd_error(&vf_cmd_sync, "%s", error);
		free(error);
	} else if (d == 0 && !so->allow_rewind) {
		msg = xasprintf("ref %s moved backwards: %s (the last commit applied) is not an "
				"ancestor of %s; give --allow-rewind to apply it", g->commit.ref,
				last, g->commit.sha);
		rc = refuse(run, run->state.dir, msg);
		free(msg);
	} else if (d == 0) {
		printf("Rewind allowed: %s (the last commit applied) is not an ancestor of %s.\n",
		       last, g->commit.sha);
	}
	free(last);
	return rc;
}

static int cmd_sync(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "ref", required_argument, NULL, SYNC_OPT_REF },
		{ "plan-only", no_argument, NULL, SYNC_OPT_PLAN_ONLY },
		{ "verify-signatures", no_argument, NULL, SYNC_OPT_VERIFY },
		{ "allowed-signers", required_argument, NULL, SYNC_OPT_ALLOWED_SIGNERS },
		{ "allow-rewind", no_argument, NULL, SYNC_OPT_ALLOW_REWIND },
		{ "auto-approve", no_argument, NULL, RUN_OPT_AUTO_APPROVE },
		{ "parallelism", required_argument, NULL, RUN_OPT_PARALLELISM },
		{ "confirm-timeout", required_argument, NULL, RUN_OPT_CONFIRM_TIMEOUT },
		RUN_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	struct run_opts o = { .confirm_timeout = -1 };
	struct sync_opts so = { 0 };
	struct run run;
	char *git = NULL, *state_dir = NULL;
	int c, r, rc = VF_EXIT_ERROR;

	memset(&run, 0, sizeof(run));
	while ((c = vf_getopt(&vf_cmd_sync, argc, argv, "h", longopts)) != -1) {
		r = run_option(&vf_cmd_sync, c, optarg, &o);
		if (r < 0)
			goto bad;
		if (r)
			continue;
		switch (c) {
		case SYNC_OPT_REF: so.ref = optarg; break;
		case SYNC_OPT_PLAN_ONLY: so.plan_only = true; break;
		case SYNC_OPT_VERIFY: so.verify = true; break;
		case SYNC_OPT_ALLOWED_SIGNERS: so.allowed_signers = optarg; break;
		case SYNC_OPT_ALLOW_REWIND: so.allow_rewind = true; break;
		case RUN_OPT_AUTO_APPROVE: so.auto_approve = true; break;
		case 'h': fputs(usage, stdout); rc = VF_EXIT_OK; goto bad;
		default: goto bad;
		}
	}
	if (o.git) {
		vf_cmd_error(&vf_cmd_sync, "give the repository as the argument: virtform sync "
			     "REPO [--ref REF]");
		goto bad;
	}
	if (argc - optind != 1) {
		if (argc - optind == 0)
			vf_cmd_error(&vf_cmd_sync, "give the repository to sync from: virtform sync "
				     "REPO (a URL or a path)");
		else
			vf_cmd_error(&vf_cmd_sync, "expected one REPO argument, got '%s' and '%s'",
				     argv[optind], argv[optind + 1]);
		goto bad;
	}
	if (so.verify != (so.allowed_signers != NULL)) {
		vf_cmd_error(&vf_cmd_sync, so.verify ? "--verify-signatures needs "
			     "--allowed-signers FILE (OpenSSH's allowed signers format)"
			     : "--allowed-signers is used with --verify-signatures");
		goto bad;
	}
	if (!so.plan_only && !so.auto_approve && !isatty(STDIN_FILENO)) {
		vf_cmd_error(&vf_cmd_sync, "no terminal to confirm on: give --auto-approve to "
			     "apply without asking, or --plan-only");
		goto bad;
	}
	git = so.ref ? xasprintf("%s@%s", argv[optind], so.ref) : xstrdup(argv[optind]);
	o.git = git;
	o.config_path = git;

	run.config = run_load(&vf_cmd_sync, &o, &run);
	if (!run.config)
		goto out;
	printf("commit %s %s\n", run.git->commit.sha, run.git->commit.subject);
	fflush(stdout);
	state_dir = run_state_dir(&o);
	if (so.verify && check_signature(&run, &so, state_dir))
		goto out;
	if (run_plan_config(&vf_cmd_sync, &o, &run))
		goto out;
	if (check_rewind(&run, &so))
		goto out;
	if (so.plan_only) {
		vf_plan_print(&run.plan, stdout, run_color());
		rc = VF_EXIT_OK;
		goto out;
	}
	rc = run_apply(&vf_cmd_sync, &o, &run, so.auto_approve);
	rc = run_git_log(&vf_cmd_sync, &run, rc);
out:
	run_release(&run, &o);
	free(state_dir);
	free(git);
	return rc;
bad:
	free(o.targets);
	return rc;
}
