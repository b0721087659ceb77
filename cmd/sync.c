/*
 * sync.c — `virtform sync REPO`: GitOps in one command.  Fetch REPO into
 * the cache, resolve the ref, read the configuration from that commit's
 * tree (no checkout), check the commit (signature, no rewind: the checks
 * plan, apply and destroy --git make too, vf_run_plan_config), plan and,
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
	"                     [--verify-signatures [--allowed-signers FILE] [--gpg-keyring FILE]]\n"
	"                     [--target ADDR]... [--max-destroy N] [--allow-mass-destroy]\n"
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
	"                            --allowed-signers FILE (SSH, checked with\n"
	"                            ssh-keygen -Y verify) or of --gpg-keyring FILE\n"
	"                            (OpenPGP, checked with gpgv)\n"
	"      --allowed-signers FILE  OpenSSH allowed signers (ssh-keygen(1))\n"
	"      --gpg-keyring FILE    the trusted OpenPGP public keys (gpg --export\n"
	"                            [-a] KEYID... > FILE)\n"
	"      --allow-rewind        apply a commit that is not a descendant of the\n"
	"                            last one applied\n"
	"      --git-ssh-key FILE    the SSH key to fetch with (default:\n"
	"                            $VIRTFORM_GIT_SSH_KEY, the ssh-agent, ~/.ssh/id_*)\n"
	"      --git-known-hosts FILE  the SSH servers trusted (default:\n"
	"                            $VIRTFORM_GIT_KNOWN_HOSTS, ~/.ssh/known_hosts,\n"
	"                            /etc/ssh/ssh_known_hosts); unknown ones are refused\n"
	"      --secret-key FILE     the key that opens sealed values (default:\n"
	"                            $VIRTFORM_SECRET_KEY, the key text itself)\n"
	"      --parallelism N       actions in flight at once (default 10)\n"
	"      --confirm-timeout SECONDS\n"
	"                            how long a host waits for its new network links\n"
	"                            to be confirmed before rolling them back (as\n"
	"                            apply)\n"
	"      --target ADDR         only ADDR and what it depends on; repeatable\n"
	"      --lock-timeout SECONDS wait this long for another run's lock\n"
	"      --timeout SECONDS     give each host this long to answer (default 60)\n"
	"      --skip-unreachable    plan for the hosts that answer\n"
	"      --allow-replace       let the plan replace a network running VMs use\n"
	RUN_GUARD_OPTIONS_HELP
	"  -h, --help                show this help\n"
	"\n"
	"REPO is the argument: --git is refused.\n"
	"\n"
	"A plan that destroys more VMs and volumes than --max-destroy allows is\n"
	"refused, with --plan-only too, unless --allow-mass-destroy.\n"
	"\n"
	"Exit status: 0 applied (or nothing to do, or planned with --plan-only),\n"
	"1 an error: fetch, ref, invalid configuration, refused signature or\n"
	"rewind, a mass deletion refused, a failed action.\n";

struct sync_opts {
	const char *ref;
	bool plan_only, auto_approve;
};

/* The REPO argument and the options that go with it checked: 0, or -1
 * after an error message. */
static int check_args(int argc, char **argv, const struct vf_run_opts *o,
		      const struct sync_opts *so)
{
	if (o->git) {
		vf_cmd_error(&vf_cmd_sync, "give the repository as the argument: virtform sync "
			     "REPO [--ref REF]");
		return -1;
	}
	if (argc - optind != 1) {
		if (argc - optind == 0)
			vf_cmd_error(&vf_cmd_sync, "give the repository to sync from: virtform sync "
				     "REPO (a URL or a path)");
		else
			vf_cmd_error(&vf_cmd_sync, "expected one REPO argument, got '%s' and '%s'",
				     argv[optind], argv[optind + 1]);
		return -1;
	}
	if (vf_run_check_signers_opt(&vf_cmd_sync, o) < 0)
		return -1;
	if (!so->plan_only && !so->auto_approve && !isatty(STDIN_FILENO)) {
		vf_cmd_error(&vf_cmd_sync, "no terminal to confirm on: give --auto-approve to "
			     "apply without asking, or --plan-only");
		return -1;
	}
	return 0;
}

/* The work of sync, options checked: fetch REPO (at so->ref), plan, apply
 * or (--plan-only) show.  The exit status. */
static int sync_repo(const char *repo, struct vf_run_opts *o, const struct sync_opts *so)
{
	struct vf_run run;
	char *git = so->ref ? xasprintf("%s@%s", repo, so->ref) : xstrdup(repo);
	int rc = VF_EXIT_ERROR;

	memset(&run, 0, sizeof(run));
	o->git = git;
	o->config_path = git;
	run.config = vf_run_load(&vf_cmd_sync, o, &run);
	if (!run.config)
		goto out;
	printf("commit %s ", run.git->commit.sha);
	vf_fputs_text(run.git->commit.subject, stdout);   /* the pusher's words */
	putchar('\n');
	fflush(stdout);
	/* the signature, plan, the rewind: as plan --git and apply --git */
	if (vf_run_plan_config(&vf_cmd_sync, o, &run))
		goto out;
	if (so->plan_only) {
		vf_plan_print(&run.plan, stdout, vf_run_color());
		fflush(stdout);
		rc = vf_run_guard(&vf_cmd_sync, &run);
		goto out;
	}
	rc = vf_run_apply(&vf_cmd_sync, o, &run, so->auto_approve);
	rc = vf_run_git_log(&vf_cmd_sync, &run, rc);
out:
	vf_run_release(&run, o);
	free(git);
	return rc;
}

static int cmd_sync(int argc, char **argv)
{
	struct vf_run_opts o = { .confirm_timeout = -1, .git_checks = true };
	struct sync_opts so = { 0 };
	int c, rc = VF_EXIT_ERROR;

	while ((c = vf_run_getopt(&vf_cmd_sync, argc, argv, &o)) != -1) {
		switch (c) {
		case VF_OPT_REF: so.ref = optarg; break;
		case VF_OPT_PLAN_ONLY: so.plan_only = true; break;
		case VF_OPT_AUTO_APPROVE: so.auto_approve = true; break;
		default: rc = vf_cmd_usage_or_error(&vf_cmd_sync, c); goto bad;
		}
	}
	if (check_args(argc, argv, &o, &so) < 0)
		goto bad;
	return sync_repo(argv[optind], &o, &so);
bad:
	free(o.targets);
	return rc;
}

const struct vf_cmd vf_cmd_sync = VF_CMD("sync", "apply the configuration of a git commit (GitOps)",
	usage, cmd_sync, .options = VF_OPTS(VF_OPT_REF, VF_OPT_PLAN_ONLY, RUN_APPLY_OPTS));
