/*
 * hooks.c — `virtform hooks install [--server] [REPO]`: write the git hook
 * scripts that run `virtform hook NAME` (cmd/hook.c) into REPO's hooks
 * directory.  Each script is a few lines of POSIX sh that execs this very
 * binary (/proc/self/exe, resolved) with the options given here, every
 * word quoted for sh: what the hook does is decided now, once, and read
 * back by anyone with `cat hooks/pre-receive`.
 *
 * Deliberate choices: without --server only pre-commit (a developer's
 * clone); with --server pre-receive and post-receive (the repository
 * pushed to).  Relative paths (state dir, allowed signers, secret key) are
 * made absolute: git runs hooks in the repository, not here.  A hook
 * virtform did not write (no marker line) is never overwritten without
 * --force: it may be someone's only copy of it.  contrib/hooks/ has the
 * same scripts as templates for installing by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "cmd/cmd.h"
#include "cmd/git-source.h"
#include "cmd/run.h"
#include "reconcile/util.h"

#define HOOK_MARKER "# virtform-hook:"

static const char usage[] =
	"usage: virtform hooks install [--server] [REPO] [--path SUBDIR] [--ref PATTERN]...\n"
	"                              [--state-dir DIR] [--auto-approve] [--secret-key FILE]\n"
	"                              [--verify-signatures [--allowed-signers FILE]\n"
	"                                                   [--gpg-keyring FILE]]\n"
	"                              [--allow-rewind] [--deadline SECONDS] [--max-destroy N]\n"
	"                              [--allow-mass-destroy] [--force]\n"
	"\n"
	"Write virtform's git hooks into REPO (default: the repository of the\n"
	"current directory): without --server, pre-commit (validate the staged\n"
	"configuration); with --server, pre-receive (validate every commit pushed\n"
	"to a protected ref) and post-receive (sync the pushed commit).  Each hook\n"
	"is a short sh script running 'virtform hook NAME' with these options.\n"
	"\n"
	"Options:\n"
	"      --server              install the server hooks (pre-receive,\n"
	"                            post-receive) instead of pre-commit\n"
	"      --path SUBDIR         the directory or YAML file of the configuration\n"
	"      --ref PATTERN         a protected ref (fnmatch glob, or a branch\n"
	"                            name); repeatable; default: the repository's\n"
	"                            virtform.protectedRefs, else refs/heads/main\n"
	"      --state-dir DIR       the state of the sync (required with --server)\n"
	"      --auto-approve        post-receive applies; without it, it only plans\n"
	"      --secret-key FILE     the key of sealed values, for the sync\n"
	"      --verify-signatures   pushed commits must be signed by a key of\n"
	"      --allowed-signers FILE  (OpenSSH allowed signers) or of\n"
	"      --gpg-keyring FILE    (OpenPGP public keys)\n"
	"      --allow-rewind        accept force pushes to protected refs\n"
	"      --deadline SECONDS    pre-receive refuses a push whose checks take\n"
	"                            longer (default 60)\n"
	"      --max-destroy N, --allow-mass-destroy\n"
	"                            post-receive: the sync's mass-deletion guard\n"
	"                            (docs/plan-apply.md)\n"
	"      --force               overwrite hooks virtform did not write\n"
	"  -h, --help                show this help\n"
	"\n"
	"Exit status: 0 installed, 1 an error (nothing was written).\n";

static int hooks_run(int argc, char **argv);

const struct vf_cmd vf_cmd_hooks = {
	.name = "hooks",
	.summary = "install the git hooks (hooks install [--server] REPO)",
	.usage = usage,
	.run = hooks_run,
};

enum {
	HOOKS_OPT_SERVER = 3100,
	HOOKS_OPT_REF,
	HOOKS_OPT_PATH,
	HOOKS_OPT_STATE_DIR,
	HOOKS_OPT_AUTO_APPROVE,
	HOOKS_OPT_SECRET_KEY,
	HOOKS_OPT_VERIFY,
	HOOKS_OPT_ALLOWED_SIGNERS,
	HOOKS_OPT_GPG_KEYRING,
	HOOKS_OPT_ALLOW_REWIND,
	HOOKS_OPT_FORCE,
	HOOKS_OPT_MAX_DESTROY,
	HOOKS_OPT_ALLOW_MASS_DESTROY,
	HOOKS_OPT_DEADLINE,
};

/* A growing string. */
struct text {
	char *s;
	size_t n, alloc;
};

static void text_add(struct text *t, const char *s)
{
	size_t l = strlen(s);

	VF_GROW(t->s, t->n + l + 1, t->alloc);
	memcpy(t->s + t->n, s, l + 1);
	t->n += l;
}

/* ' word' quoted for sh: 'it'\''s' */
static void text_word(struct text *t, const char *w)
{
	text_add(t, " '");
	for (; *w; w++) {
		char c[2] = { *w, '\0' };
		text_add(t, *w == '\'' ? "'\\''" : c);
	}
	text_add(t, "'");
}

/* An absolute path for what the hook will read from the repository's
 * directory; malloc'd. */
static char *absolute(const char *path)
{
	char real[PATH_MAX], cwd[PATH_MAX];

	if (realpath(path, real))
		return xstrdup(real);
	if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

static const char *describe(const char *name)
{
	if (!strcmp(name, "pre-commit"))
		return "# Refuses a commit whose staged configuration is invalid.\n";
	if (!strcmp(name, "pre-receive"))
		return "# Refuses a push to a protected ref: an invalid or unsigned commit, a\n"
		       "# deletion, a rewind.\n";
	return "# Syncs the commit pushed to each protected ref (virtform sync).\n";
}

/* Write dir/name atomically, mode 0755.  0, or -1 after an error. */
static int write_hook(const char *dir, const char *name, const char *script, bool force)
{
	char *path = xasprintf("%s/%s", dir, name);
	char head[4096];
	ssize_t got;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		got = read(fd, head, sizeof(head) - 1);
		close(fd);
		head[got > 0 ? got : 0] = '\0';
		if (!strstr(head, HOOK_MARKER) && !force) {
			vf_cmd_error(&vf_cmd_hooks, "'%s' exists and was not written by virtform; "
				     "merge it by hand (contrib/hooks/%s), or give --force to "
				     "replace it; nothing was written", path, name);
			goto out;
		}
	}
	/* 0755 whatever the umask: git runs only executable hooks */
	if (vf_write_file_atomic(path, script, strlen(script), 0755) < 0)
		goto fail;
	printf("Installed %s\n", path);
	rc = 0;
	goto out;
fail:
	vf_cmd_error(&vf_cmd_hooks, "cannot write '%s': %s", path, strerror(errno));
out:
	free(path);
	return rc;
}

static int hooks_run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "server", no_argument, NULL, HOOKS_OPT_SERVER },
		{ "ref", required_argument, NULL, HOOKS_OPT_REF },
		{ "path", required_argument, NULL, HOOKS_OPT_PATH },
		{ "state-dir", required_argument, NULL, HOOKS_OPT_STATE_DIR },
		{ "auto-approve", no_argument, NULL, HOOKS_OPT_AUTO_APPROVE },
		{ "secret-key", required_argument, NULL, HOOKS_OPT_SECRET_KEY },
		{ "verify-signatures", no_argument, NULL, HOOKS_OPT_VERIFY },
		{ "allowed-signers", required_argument, NULL, HOOKS_OPT_ALLOWED_SIGNERS },
		{ "gpg-keyring", required_argument, NULL, HOOKS_OPT_GPG_KEYRING },
		{ "allow-rewind", no_argument, NULL, HOOKS_OPT_ALLOW_REWIND },
		{ "force", no_argument, NULL, HOOKS_OPT_FORCE },
		{ "max-destroy", required_argument, NULL, HOOKS_OPT_MAX_DESTROY },
		{ "allow-mass-destroy", no_argument, NULL, HOOKS_OPT_ALLOW_MASS_DESTROY },
		{ "deadline", required_argument, NULL, HOOKS_OPT_DEADLINE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *state_dir = NULL, *secret_key = NULL, *signers = NULL;
	const char *keyring = NULL, *max_destroy = NULL, *deadline = NULL;
	unsigned long count;
	bool allow_mass = false;
	const char **refs = NULL, *repo_arg = ".";
	size_t n_refs = 0, alloc_refs = 0, i;
	bool server = false, auto_approve = false, verify = false, rewind = false, force = false;
	char exe[PATH_MAX], *hooks_dir = NULL, *abs;
	const char *names[2];
	size_t n_names;
	git_repository *repo = NULL;
	git_config *cfg = NULL;
	const char *hooks_path = NULL;
	ssize_t len;
	int c, rc = VF_EXIT_ERROR;

	while ((c = vf_getopt(&vf_cmd_hooks, argc, argv, "h", longopts)) != -1) {
		switch (c) {
		case HOOKS_OPT_SERVER: server = true; break;
		case HOOKS_OPT_REF:
			VF_GROW(refs, n_refs + 1, alloc_refs);
			refs[n_refs++] = optarg;
			break;
		case HOOKS_OPT_PATH: path = optarg; break;
		case HOOKS_OPT_STATE_DIR: state_dir = optarg; break;
		case HOOKS_OPT_AUTO_APPROVE: auto_approve = true; break;
		case HOOKS_OPT_SECRET_KEY: secret_key = optarg; break;
		case HOOKS_OPT_VERIFY: verify = true; break;
		case HOOKS_OPT_ALLOWED_SIGNERS: signers = optarg; break;
		case HOOKS_OPT_GPG_KEYRING: keyring = optarg; break;
		case HOOKS_OPT_ALLOW_REWIND: rewind = true; break;
		case HOOKS_OPT_FORCE: force = true; break;
		case HOOKS_OPT_MAX_DESTROY: max_destroy = optarg; break;
		case HOOKS_OPT_ALLOW_MASS_DESTROY: allow_mass = true; break;
		case HOOKS_OPT_DEADLINE: {
			double secs;
			if (!vf_parse_seconds(optarg, &secs)) {
				vf_cmd_error(&vf_cmd_hooks, "--deadline '%s': give seconds, more "
					     "than 0 and at most 86400 (a day)", optarg);
				goto out;
			}
			deadline = optarg;
			break;
		}
		case 'h': fputs(usage, stdout); rc = VF_EXIT_OK; goto out;
		default: goto out;
		}
	}
	if (optind >= argc || strcmp(argv[optind], "install")) {
		if (optind < argc)
			vf_cmd_error(&vf_cmd_hooks, "unknown subcommand '%s': virtform hooks "
				     "install [--server] [REPO]", argv[optind]);
		else
			vf_cmd_error(&vf_cmd_hooks, "give a subcommand: virtform hooks install "
				     "[--server] [REPO]");
		goto out;
	}
	if (argc - optind > 2) {
		vf_cmd_error(&vf_cmd_hooks, "expected one REPO, got '%s' and '%s'",
			     argv[optind + 1], argv[optind + 2]);
		goto out;
	}
	if (argc - optind == 2)
		repo_arg = argv[optind + 1];
	if (verify != (signers || keyring)) {
		vf_cmd_error(&vf_cmd_hooks, "%s", verify ? "--verify-signatures needs "
			     "--allowed-signers FILE and/or --gpg-keyring FILE" : "--allowed-signers "
			     "and --gpg-keyring are used with --verify-signatures");
		goto out;
	}
	if (server && !state_dir) {
		vf_cmd_error(&vf_cmd_hooks, "--server needs --state-dir DIR: post-receive syncs "
			     "into it (a hook has no directory of its own to keep state in)");
		goto out;
	}
	if (!server && (state_dir || auto_approve || secret_key || verify || rewind || n_refs ||
			max_destroy || allow_mass || deadline)) {
		vf_cmd_error(&vf_cmd_hooks, "--state-dir, --auto-approve, --secret-key, --ref, "
			     "--verify-signatures, --allow-rewind, --deadline, --max-destroy and "
			     "--allow-mass-destroy are for the server hooks: give --server too "
			     "(pre-commit takes only --path)");
		goto out;
	}
	if (max_destroy && !vf_parse_count(max_destroy, RUN_MAX_DESTROY_MAX, &count)) {
		vf_cmd_error(&vf_cmd_hooks, "--max-destroy: '%s' is not a number from 0 to %u",
			     max_destroy, RUN_MAX_DESTROY_MAX);
		goto out;
	}
	if (signers && access(signers, R_OK) < 0) {
		vf_cmd_error(&vf_cmd_hooks, "cannot read the allowed signers '%s': %s", signers,
			     strerror(errno));
		goto out;
	}
	if (keyring && access(keyring, R_OK) < 0) {
		vf_cmd_error(&vf_cmd_hooks, "cannot read the GPG keyring '%s': %s", keyring,
			     strerror(errno));
		goto out;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0) {
		vf_cmd_error(&vf_cmd_hooks, "cannot find this program's path (/proc/self/exe): "
			     "%s", strerror(errno));
		goto out;
	}
	exe[len] = '\0';

	git_libgit2_init();
	if (git_repository_open_ext(&repo, repo_arg, 0, NULL) < 0) {
		const git_error *e = git_error_last();
		vf_cmd_error(&vf_cmd_hooks, "'%s' is not a git repository (%s); give the "
			     "repository to install the hooks in", repo_arg,
			     e && e->message ? e->message : "not found");
		goto out;
	}
	if (git_repository_config_snapshot(&cfg, repo) == 0 &&
	    git_config_get_string(&hooks_path, cfg, "core.hooksPath") == 0) {
		vf_cmd_error(&vf_cmd_hooks, "'%s' sets core.hooksPath = %s: git runs the hooks "
			     "there, not in the repository's hooks directory; install them by "
			     "hand (contrib/hooks/) or unset it", repo_arg, hooks_path);
		goto out;
	}
	hooks_dir = xasprintf("%shooks", git_repository_commondir(repo));
	if (mkdir(hooks_dir, 0755) < 0 && errno != EEXIST) {
		vf_cmd_error(&vf_cmd_hooks, "cannot create '%s': %s", hooks_dir, strerror(errno));
		goto out;
	}
	if (server) {
		names[0] = "pre-receive";
		names[1] = "post-receive";
		n_names = 2;
	} else {
		names[0] = "pre-commit";
		n_names = 1;
	}
	/* refuse before writing anything */
	for (i = 0; i < n_names && !force; i++) {
		char *p = xasprintf("%s/%s", hooks_dir, names[i]), head[4096];
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		ssize_t got;
		if (fd >= 0) {
			got = read(fd, head, sizeof(head) - 1);
			close(fd);
			head[got > 0 ? got : 0] = '\0';
			if (!strstr(head, HOOK_MARKER)) {
				vf_cmd_error(&vf_cmd_hooks, "'%s' exists and was not written by "
					     "virtform; merge it by hand (contrib/hooks/%s), or give "
					     "--force to replace it; nothing was written", p, names[i]);
				free(p);
				goto out;
			}
		}
		free(p);
	}
	for (i = 0; i < n_names; i++) {
		struct text t = { 0 };
		size_t j;
		text_add(&t, "#!/bin/sh\n" HOOK_MARKER " ");
		text_add(&t, names[i]);
		text_add(&t, " (written by 'virtform hooks install'; reinstall to change it)\n");
		text_add(&t, describe(names[i]));
		text_add(&t, "# See docs/gitops.md, Hooks.\nexec");
		text_word(&t, exe);
		text_word(&t, "hook");
		text_word(&t, names[i]);
		if (path) {
			text_word(&t, "--path");
			text_word(&t, path);
		}
		for (j = 0; j < n_refs; j++) {
			text_word(&t, "--ref");
			text_word(&t, refs[j]);
		}
		if (server && rewind)
			text_word(&t, "--allow-rewind");
		if (verify)
			text_word(&t, "--verify-signatures");
		if (signers) {
			text_word(&t, "--allowed-signers");
			abs = absolute(signers);
			text_word(&t, abs);
			free(abs);
		}
		if (keyring) {
			text_word(&t, "--gpg-keyring");
			abs = absolute(keyring);
			text_word(&t, abs);
			free(abs);
		}
		if (deadline && !strcmp(names[i], "pre-receive")) {
			text_word(&t, "--deadline");
			text_word(&t, deadline);
		}
		if (!strcmp(names[i], "post-receive")) {
			text_word(&t, "--state-dir");
			abs = absolute(state_dir);
			text_word(&t, abs);
			free(abs);
			if (auto_approve)
				text_word(&t, "--auto-approve");
			if (max_destroy) {
				text_word(&t, "--max-destroy");
				text_word(&t, max_destroy);
			}
			if (allow_mass)
				text_word(&t, "--allow-mass-destroy");
			if (secret_key) {
				text_word(&t, "--secret-key");
				abs = absolute(secret_key);
				text_word(&t, abs);
				free(abs);
			}
		}
		text_add(&t, "\n");
		rc = write_hook(hooks_dir, names[i], t.s, force);
		free(t.s);
		if (rc < 0) {
			rc = VF_EXIT_ERROR;
			goto out;
		}
	}
	rc = VF_EXIT_OK;
out:
	git_config_free(cfg);
	git_repository_free(repo);
	free(hooks_dir);
	free(refs);
	return rc;
}
