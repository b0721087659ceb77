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

#include "cmd/cmd.h"
#include "cmd/hook.h"
#include "cmd/run.h"
#include "providers/git/repo.h"
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

/* What `hooks install` was asked, and where it writes. */
struct install {
	struct vf_hook_opts o;           /* what the hooks are run with */
	bool server, force;
	const char *repo_arg;            /* REPO, default "." */
	char exe[PATH_MAX];              /* this binary, which the hooks run */
	char *hooks_dir;
	const char *names[2];            /* the hooks to write */
	size_t n_names;
};

/* takes the options of hooks (its options NULL: its command's) */
static const struct vf_cmd hooks_install = VF_CMD("hooks install",
	"write the git hooks into REPO", usage, NULL);

static const struct vf_cmd *const subcommands[] = {
	&hooks_install,
	NULL,
};

/* ' word' quoted for sh: 'it'\''s' */
static void add_word(struct vf_buf *b, const char *w)
{
	vf_buf_addch(b, ' ');
	vf_buf_add_shell_quoted(b, w);
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

/* " '--name' 'value'", the value made an absolute path when path is set */
static void add_option(struct vf_buf *b, const char *name, const char *value, bool path)
{
	char *abs;

	if (!value)
		return;
	add_word(b, name);
	abs = path ? absolute(value) : xstrdup(value);
	add_word(b, abs);
	free(abs);
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

/*
 * Refuse to replace dir/name when it exists and virtform did not write
 * it (no marker line): it may be someone's only copy.  0, or -1 said.
 */
static int refuse_foreign(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name), head[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t got;

	if (fd >= 0) {
		got = read(fd, head, sizeof(head) - 1);
		close(fd);
		head[got > 0 ? got : 0] = '\0';
		if (!strstr(head, HOOK_MARKER)) {
			vf_cmd_error(&vf_cmd_hooks, "'%s' exists and was not written by virtform; "
				     "merge it by hand (contrib/hooks/%s), or give --force to "
				     "replace it; nothing was written", path, name);
			rc = -1;
		}
	}
	free(path);
	return rc;
}

/* Write dir/name atomically, mode 0755.  0, or -1 after an error. */
static int write_hook(const char *dir, const char *name, const char *script, bool force)
{
	char *path;
	int rc = 0;

	if (!force && refuse_foreign(dir, name) < 0)
		return -1;
	path = xasprintf("%s/%s", dir, name);
	/* 0755 whatever the umask: git runs only executable hooks */
	if (vf_write_file_atomic(path, script, strlen(script), 0755) < 0) {
		vf_cmd_error(&vf_cmd_hooks, "cannot write '%s': %s", path, strerror(errno));
		rc = -1;
	} else {
		printf("Installed %s\n", path);
	}
	free(path);
	return rc;
}

/* The script of hook name: `exec virtform hook NAME` with the options it uses. */
static char *hook_script(const struct install *in, const char *name)
{
	const struct vf_hook_opts *o = &in->o;
	const struct vf_run_opts *r = &o->run;
	struct vf_buf b = VF_BUF_INIT;
	bool post = !strcmp(name, "post-receive");
	size_t j;

	vf_buf_addf(&b, "#!/bin/sh\n" HOOK_MARKER " %s (written by 'virtform hooks install'; "
		    "reinstall to change it)\n%s# See docs/gitops.md, Hooks.\nexec", name,
		    describe(name));
	add_word(&b, in->exe);
	add_word(&b, "hook");
	add_word(&b, name);
	add_option(&b, "--path", r->git_path, false);
	for (j = 0; j < o->n_refs; j++)
		add_option(&b, "--ref", o->refs[j], false);
	if (in->server && r->allow_rewind)
		add_word(&b, "--allow-rewind");
	if (r->verify_signatures)
		add_word(&b, "--verify-signatures");
	add_option(&b, "--allowed-signers", r->allowed_signers, true);
	add_option(&b, "--gpg-keyring", r->gpg_keyring, true);
	if (!strcmp(name, "pre-receive"))
		add_option(&b, "--deadline", o->deadline_text, false);
	if (post) {
		add_option(&b, "--state-dir", r->state_dir, true);
		if (o->auto_approve)
			add_word(&b, "--auto-approve");
		add_option(&b, "--max-destroy", o->max_destroy_text, false);
		if (r->allow_mass_destroy)
			add_word(&b, "--allow-mass-destroy");
		add_option(&b, "--secret-key", r->secret_key, true);
	}
	vf_buf_addch(&b, '\n');
	return vf_buf_detach(&b);
}

/* The options, the subcommand and REPO; 1: --help shown, 0 parsed, -1 an error. */
static int parse_options(int argc, char **argv, struct install *in)
{
	int c;

	while ((c = vf_cmd_getopt(&vf_cmd_hooks, argc, argv)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 1;
		} else if (c == VF_OPT_SERVER) {
			in->server = true;
		} else if (c == VF_OPT_FORCE) {
			in->force = true;
		} else if (vf_hook_option(&vf_cmd_hooks, c, optarg, &in->o) <= 0) {
			return -1;
		}
	}
	if (optind >= argc || !vf_cmd_subcommand(&vf_cmd_hooks, argv[optind])) {
		if (optind < argc)
			vf_cmd_error(&vf_cmd_hooks, "unknown subcommand '%s': virtform hooks "
				     "install [--server] [REPO]", argv[optind]);
		else
			vf_cmd_error(&vf_cmd_hooks, "give a subcommand: virtform hooks install "
				     "[--server] [REPO]");
		return -1;
	}
	if (argc - optind > 2) {
		vf_cmd_error(&vf_cmd_hooks, "expected one REPO, got '%s' and '%s'",
			     argv[optind + 1], argv[optind + 2]);
		return -1;
	}
	if (argc - optind == 2)
		in->repo_arg = argv[optind + 1];
	return 0;
}

/* What the options say together, and the files they name; 0, or -1 said. */
static int check_options(const struct install *in)
{
	const struct vf_hook_opts *o = &in->o;
	const struct vf_run_opts *r = &o->run;

	if (vf_hook_check_trust(&vf_cmd_hooks, o) < 0)
		return -1;
	if (in->server && !r->state_dir)
		return vf_cmd_error(&vf_cmd_hooks, "--server needs --state-dir DIR: post-receive "
				    "syncs into it (a hook has no directory of its own to keep "
				    "state in)"), -1;
	if (!in->server && (r->state_dir || o->auto_approve || r->secret_key ||
			    r->verify_signatures || r->allow_rewind || o->n_refs ||
			    r->max_destroy_given || r->allow_mass_destroy || o->deadline_text))
		return vf_cmd_error(&vf_cmd_hooks, "--state-dir, --auto-approve, --secret-key, "
				    "--ref, --verify-signatures, --allow-rewind, --deadline, "
				    "--max-destroy and --allow-mass-destroy are for the server "
				    "hooks: give --server too (pre-commit takes only --path)"), -1;
	if (r->allowed_signers && access(r->allowed_signers, R_OK) < 0)
		return vf_cmd_error(&vf_cmd_hooks, "cannot read the allowed signers '%s': %s",
				    r->allowed_signers, strerror(errno)), -1;
	if (r->gpg_keyring && access(r->gpg_keyring, R_OK) < 0)
		return vf_cmd_error(&vf_cmd_hooks, "cannot read the GPG keyring '%s': %s",
				    r->gpg_keyring, strerror(errno)), -1;
	return 0;
}

/* This binary's path and the repository's hooks directory (made); 0, or -1 said. */
static int find_paths(struct install *in)
{
	char *hooks_path = NULL, *error = NULL;
	ssize_t len;
	int r;

	len = readlink("/proc/self/exe", in->exe, sizeof(in->exe) - 1);
	if (len <= 0)
		return vf_cmd_error(&vf_cmd_hooks, "cannot find this program's path "
				    "(/proc/self/exe): %s", strerror(errno)), -1;
	in->exe[len] = '\0';
	r = vf_git_hooks_dir(in->repo_arg, &in->hooks_dir, &hooks_path, &error);
	if (r < 0) {
		vf_cmd_error(&vf_cmd_hooks, "'%s' is not a git repository (%s); give the "
			     "repository to install the hooks in", in->repo_arg, error);
		free(error);
		return -1;
	}
	if (r > 0) {
		vf_cmd_error(&vf_cmd_hooks, "'%s' sets core.hooksPath = %s: git runs the hooks "
			     "there, not in the repository's hooks directory; install them by "
			     "hand (contrib/hooks/) or unset it", in->repo_arg, hooks_path);
		free(hooks_path);
		return -1;
	}
	if (mkdir(in->hooks_dir, 0755) < 0 && errno != EEXIST)
		return vf_cmd_error(&vf_cmd_hooks, "cannot create '%s': %s", in->hooks_dir,
				    strerror(errno)), -1;
	return 0;
}

/* Write the hooks, refusing before writing anything; 0, or -1 said. */
static int install(struct install *in)
{
	size_t i;
	int rc = 0;

	if (in->server) {
		in->names[in->n_names++] = "pre-receive";
		in->names[in->n_names++] = "post-receive";
	} else {
		in->names[in->n_names++] = "pre-commit";
	}
	for (i = 0; i < in->n_names && !in->force; i++)
		if (refuse_foreign(in->hooks_dir, in->names[i]) < 0)
			return -1;
	for (i = 0; i < in->n_names && rc == 0; i++) {
		char *script = hook_script(in, in->names[i]);
		rc = write_hook(in->hooks_dir, in->names[i], script, in->force);
		free(script);
	}
	return rc;
}

static int hooks_run(int argc, char **argv)
{
	struct install in = { .o = VF_HOOK_OPTS_INIT, .repo_arg = "." };
	int rc = VF_EXIT_ERROR, r;

	r = parse_options(argc, argv, &in);
	if (r > 0)
		rc = VF_EXIT_OK;
	else if (r == 0 && check_options(&in) == 0 && find_paths(&in) == 0 &&
		 install(&in) == 0)
		rc = VF_EXIT_OK;
	free(in.hooks_dir);
	vf_hook_opts_release(&in.o);
	return rc;
}

const struct vf_cmd vf_cmd_hooks = VF_CMD("hooks",
	"install the git hooks (hooks install [--server] REPO)", usage, hooks_run,
	.options = VF_OPTS(VF_OPT_SERVER, VF_HOOK_OPTIONS, VF_OPT_FORCE),
	.subcommands = subcommands);
