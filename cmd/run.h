/*
 * run.h — what plan, apply and destroy share: parse the common options
 * (run-options.c), load the config, lock the state, observe the hosts and
 * build the plan (run.c); save a plan (plan -out FILE) and carry a saved
 * one out (apply FILE; run-saved.c).
 */
#ifndef VF_CMD_RUN_H
#define VF_CMD_RUN_H

#include <getopt.h>
#include <stdbool.h>

#include "cmd/cmd.h"
#include "cmd/git-source.h"
#include "cmd/hostnet.h"
#include "reconcile/engine.h"

/* The help text of the shared options. */
#define RUN_OPTIONS_HELP                                                            \
	"      --target ADDR         only ADDR (vm.NAME, network.NAME[@HOST],\n"         \
	"                            storage.NAME[@HOST], volume.NAME@HOST) and what\n"  \
	"                            it depends on; repeatable\n"                         \
	RUN_STATE_OPTIONS_HELP                                                      \
	"      --skip-unreachable    plan for the hosts that answer; say loudly which\n" \
	"                            were skipped (default: an unreachable host fails)\n" \
	"      --allow-replace       let the plan replace a network that running VMs\n" \
	"                            use (they lose their link until it is back)\n" \
	"      --secret-key FILE     the key that opens sealed values (default:\n"    \
	"                            $VIRTFORM_SECRET_KEY, the key text itself)\n"  \
	RUN_GIT_OPTIONS_HELP

/* The help text of --state-dir, --lock-timeout and --timeout (import takes
 * them without the rest). */
#define RUN_STATE_OPTIONS_HELP                                                      \
	"      --state-dir DIR       the state directory (default: .virtform beside\n"   \
	"                            the config; or $VIRTFORM_STATE_DIR)\n"               \
	"      --lock-timeout SECONDS wait this long for another run's lock (default 0)\n" \
	"      --timeout SECONDS     give each host this long to answer (default 60)\n"

/* The largest --max-destroy (the shared options: the commands' and the
 * hooks', which pass it on to the post-receive sync). */
#define RUN_MAX_DESTROY_MAX 1000000u

/* The help text of the mass-deletion guard's options (plan, apply, sync,
 * drift; docs/plan-apply.md). */
#define RUN_GUARD_OPTIONS_HELP                                                      \
	"      --max-destroy N       refuse a plan that destroys more than N VMs and\n" \
	"                            volumes (deleted, or a volume replaced); default:\n" \
	"                            the larger of 3 and 10% of those managed\n"     \
	"      --allow-mass-destroy  allow a plan over that limit (an empty or\n" \
	"                            truncated configuration would wipe the fleet)\n"

/* The help text of what apply and destroy take to carry a plan out. */
#define RUN_APPLY_OPTIONS_HELP                                                      \
	"      --parallelism N       actions in flight at once (default 10)\n"       \
	"      --confirm-timeout SECONDS\n"                                           \
	"                            a host keeps its new network links only when\n" \
	"                            virtform reconnects and confirms within this\n" \
	"                            time, else it rolls them back by itself\n"      \
	"                            (default 60 over SSH, none on this machine;\n"  \
	"                            0: no confirmation)\n"

/* The help text of the options plan and apply share: the guard's, the
 * shared ones, the commit's checks. */
#define RUN_PLAN_OPTIONS_HELP                                                       \
	RUN_GUARD_OPTIONS_HELP                                                      \
	RUN_OPTIONS_HELP                                                            \
	RUN_GIT_CHECK_OPTIONS_HELP

/* The help text of --git, --path and --cache-dir (docs/gitops.md). */
#define RUN_GIT_OPTIONS_HELP                                                        \
	"      --git REPO[@REF]      read the configuration from a commit of git\n"    \
	"                            repository REPO (URL or path; REF a branch, tag\n" \
	"                            or sha; default the remote's default branch)\n"    \
	"                            instead of CONFIG; needs --state-dir or\n"         \
	"                            $VIRTFORM_STATE_DIR (not validate)\n"              \
	"      --path SUBDIR         with --git: the directory or YAML file in the\n"  \
	"                            commit (default: the root)\n"                       \
	"      --git-ssh-key FILE    with --git: the SSH key to fetch with (default:\n" \
	"                            $VIRTFORM_GIT_SSH_KEY, the ssh-agent, ~/.ssh/id_*)\n" \
	"      --git-known-hosts FILE  with --git: the SSH servers trusted (default:\n" \
	"                            $VIRTFORM_GIT_KNOWN_HOSTS, ~/.ssh/known_hosts,\n" \
	"                            /etc/ssh/ssh_known_hosts); unknown ones are refused\n" \
	"      --cache-dir DIR       with --git: the git cache (default:\n"             \
	"                            STATE_DIR/git-cache/NAME-HASH)\n"

/* The help text of the checks of a commit from git (plan, apply, destroy,
 * sync; docs/gitops.md). */
#define RUN_GIT_CHECK_OPTIONS_HELP                                                  \
	"      --verify-signatures   with --git: refuse a commit that is not signed by\n" \
	"                            a key of --allowed-signers FILE (SSH, checked\n"  \
	"                            with ssh-keygen -Y verify) or of --gpg-keyring\n" \
	"                            FILE (OpenPGP, checked with gpgv)\n"              \
	"      --allowed-signers FILE  OpenSSH allowed signers (ssh-keygen(1))\n"      \
	"      --gpg-keyring FILE    the trusted OpenPGP public keys (gpg --export\n"  \
	"                            [-a] KEYID... > FILE)\n"                          \
	"      --allow-rewind        with --git: accept a commit that is not a\n"      \
	"                            descendant of the last one applied\n"

/*
 * The shared options (vf_run_getopt handles them), for a command's
 * VF_OPTS: --target, the state's, --skip-unreachable, --allow-replace,
 * --secret-key, the git ones and --help (listed here, before what a
 * command adds after).
 */
#define RUN_OPTS                                                                  \
	VF_OPT_TARGET, RUN_STATE_OPTS, VF_OPT_SKIP_UNREACHABLE, VF_OPT_ALLOW_REPLACE, \
	VF_OPT_SECRET_KEY, RUN_GIT_OPTS, VF_OPT_HELP

/* --state-dir, --lock-timeout, --timeout (import takes them without the rest). */
#define RUN_STATE_OPTS VF_OPT_STATE_DIR, VF_OPT_LOCK_TIMEOUT, VF_OPT_TIMEOUT

/* --verify-signatures, --allowed-signers, --gpg-keyring, --allow-rewind (plan, apply,
 * destroy, sync: the commands that check the commit, o->git_checks). */
#define RUN_GIT_CHECK_OPTS                                                        \
	VF_OPT_VERIFY_SIGNATURES, VF_OPT_ALLOWED_SIGNERS, VF_OPT_GPG_KEYRING,     \
	VF_OPT_ALLOW_REWIND

/* What apply, destroy and sync take: --auto-approve, --parallelism,
 * --confirm-timeout, the shared ones, the commit's checks and the guard's. */
#define RUN_APPLY_OPTS                                                            \
	VF_OPT_AUTO_APPROVE, VF_OPT_PARALLELISM, VF_OPT_CONFIRM_TIMEOUT, RUN_OPTS, \
	RUN_GIT_CHECK_OPTS, RUN_GUARD_OPTS

/* --max-destroy, --allow-mass-destroy (plan, apply, sync, drift; destroy
 * refuses them: it is exempt). */
#define RUN_GUARD_OPTS VF_OPT_MAX_DESTROY, VF_OPT_ALLOW_MASS_DESTROY

/* --git, --path, --cache-dir, --git-ssh-key, --git-known-hosts (validate
 * takes them without the rest). */
#define RUN_GIT_OPTS                                                              \
	VF_OPT_GIT, VF_OPT_PATH, VF_OPT_CACHE_DIR, VF_OPT_GIT_SSH_KEY,            \
	VF_OPT_GIT_KNOWN_HOSTS

struct vf_run_opts {
	const char *config_path;         /* with --git: the label "REPO@REF" */
	const char *git;                 /* --git REPO[@REF]; NULL: CONFIG */
	const char *git_path;            /* --path; NULL: the root */
	const char *cache_dir;           /* --cache-dir; NULL: under the state dir */
	const char *git_ssh_key;         /* --git-ssh-key; NULL: $VIRTFORM_GIT_SSH_KEY */
	const char *git_known_hosts;     /* --git-known-hosts; NULL: $VIRTFORM_GIT_KNOWN_HOSTS */
	const char *state_dir;           /* --state-dir; NULL: $VIRTFORM_STATE_DIR,
					  * else default_state_dir */
	const char *default_state_dir;   /* NULL: .virtform beside the config; a
					  * saved plan's: the directory plan used */
	double lock_timeout;             /* seconds; 0: fail at once */
	double timeout;                  /* per host */
	bool skip_unreachable;
	const char **targets;            /* malloc'd array of argv pointers */
	size_t n_targets, alloc_targets;
	bool destroy;
	bool allow_replace;              /* --allow-replace */
	unsigned parallelism;
	int confirm_timeout;             /* --confirm-timeout; -1: the default */
	const char *secret_key;          /* --secret-key FILE; NULL: $VIRTFORM_SECRET_KEY */
	bool secret_key_required;        /* apply: sealed values must open (plan
					  * without a key only warns) */
	bool git_checks;                 /* plan, apply, destroy, sync: check the
					  * commit from git (signature, rewind) */
	bool verify_signatures;          /* --verify-signatures */
	const char *allowed_signers;     /* --allowed-signers FILE */
	const char *gpg_keyring;         /* --gpg-keyring FILE */
	bool allow_rewind;               /* --allow-rewind */
	bool json;                       /* stdout is one JSON document: notes
					  * ("Good signature by") go to stderr */
	bool max_destroy_given;          /* --max-destroy N: the guard's limit */
	unsigned max_destroy;
	bool allow_mass_destroy;         /* --allow-mass-destroy; never from a
					  * saved plan: the apply's own options */
};

/*
 * vf_cmd_getopt() (the options of cmd's descriptor) with the shared
 * options (RUN_OPTS and the others) handled: the next option that is not one of
 * them, -1 at the end, '?' after an error (said, a bad value included).
 */
int vf_run_getopt(const struct vf_cmd *cmd, int argc, char **argv, struct vf_run_opts *o);

/*
 * Take option c into o if it is a shared one (its value arg checked):
 * 1 taken, 0 not a shared option, -1 a bad value (said for cmd).
 */
int vf_run_option(const struct vf_cmd *cmd, int c, const char *arg, struct vf_run_opts *o);

struct vf_secret_key;
struct vf_run {
	struct vf_config *config;
	struct vf_state state;
	bool state_open;
	struct vf_views views;
	struct vf_desired desired;
	struct vf_plan plan;
	struct vf_hostnetcmd hostnet;          /* the hosts' network links (plan->links) */
	struct vf_git_source *git;          /* the commit read with --git; NULL: CONFIG */
	bool executed;                   /* vf_run_apply carried the plan out */
	struct vf_secret_key *secret_key; /* opened once per run when the config
					  * has sealed values; NULL otherwise */
};

/*
 * The CONFIG argument, or --git's label when --git was given (a CONFIG
 * then is an error, as is --path or --cache-dir without --git, and
 * --verify-signatures or --allow-rewind without --git unless CONFIG is a
 * saved plan): sets o->config_path.  -1 after an error message.
 */
int vf_run_config_arg(const struct vf_cmd *cmd, int argc, char **argv, struct vf_run_opts *o);

/*
 * The state directory o names: --state-dir, $VIRTFORM_STATE_DIR, the
 * default of a saved plan, else .virtform beside CONFIG; NULL for a
 * configuration from git without one (malloc'd).
 */
char *vf_run_state_dir(const struct vf_run_opts *o);

/* How a fetch from git authenticates: the options, else the environment
 * ($VIRTFORM_GIT_SSH_KEY, $VIRTFORM_GIT_KNOWN_HOSTS), else the defaults. */
struct vf_git_auth vf_run_git_auth(const struct vf_run_opts *o);

/*
 * Load the configuration: CONFIG, or with o->git the commit (fetched into
 * the cache; run->git set).  Every diagnostic printed.  NULL on error.
 */
struct vf_config *vf_run_load(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run);

/*
 * --verify-signatures without --allowed-signers, or the other way round:
 * an error (said).  -1, or 0.
 */
int vf_run_check_signers_opt(const struct vf_cmd *cmd, const struct vf_run_opts *o);

/*
 * vf_run_plan() with run->config already loaded (sync prints the commit
 * first).  With a commit from git and o->git_checks, the checks sync,
 * plan, apply and destroy share: the commit's SSH signature (with
 * o->verify_signatures) before the state is locked, and after planning,
 * with the state locked, the rewind: a commit that does not descend from
 * the last one applied from the same repository and path (the log of
 * applied commits) is refused unless o->allow_rewind.  A refusal is said
 * ("...; nothing was changed") and, but by plan, recorded in the log as
 * "refused".
 */
int vf_run_plan_config(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run);

/*
 * After an apply from git: one line in STATE_DIR/git-log.jsonl (outcome
 * from rc and run->executed).  A failure to write it is said on stderr
 * and makes rc an error.  Returns the exit status.
 */
int vf_run_git_log(const struct vf_cmd *cmd, struct vf_run *run, int rc);

/*
 * Load, lock and observe, without planning (import).  Prints every
 * diagnostic to stderr.  Returns 0, or VF_EXIT_ERROR (run is then still to
 * be released).
 */
int vf_run_observe(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run);

/*
 * Load, lock, observe, plan (with the checks of a commit from git:
 * vf_run_plan_config).  Prints every diagnostic to stderr.
 * Returns 0, or VF_EXIT_ERROR (run is then still to be released).
 */
int vf_run_plan(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run);

/*
 * Write run's plan as a saved plan to file (reconcile/saved.h) and say so
 * ("Saved the plan to FILE: ..." on out).  Returns the exit status.
 */
int vf_run_save_plan(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run,
		  const char *file, FILE *out);
void vf_run_release(struct vf_run *run, struct vf_run_opts *o);

/*
 * Show the plan, ask "Apply these changes? (yes/no)" on a terminal (or
 * refuse without one unless auto_approve), execute it and print the
 * summary ("Apply complete: ..." / "Destroy complete: ...").  Returns the
 * exit status.
 */
int vf_run_apply(const struct vf_cmd *cmd, const struct vf_run_opts *o, struct vf_run *run,
	      bool auto_approve);

/*
 * The whole of `virtform apply` (destroy false) and `virtform destroy`
 * (true): options, plan, confirm, execute.  `apply FILE` with a saved
 * plan instead checks it is not stale and carries it out unasked.
 * Returns the exit status.
 */
int vf_run_apply_command(const struct vf_cmd *cmd, int argc, char **argv, bool destroy);

/*
 * The mass-deletion guard's refusal (the engine decides it: plan->guard):
 * when run's plan is refused, say why on stderr ("...; nothing was
 * changed" and the hint) and return VF_EXIT_ERROR; else 0.  Everything
 * that saves or carries out a plan asks this first.
 */
int vf_run_guard(const struct vf_cmd *cmd, const struct vf_run *run);

/* Colour on stdout: a terminal, and NO_COLOR unset or empty. */
bool vf_run_color(void);

/* The command that makes a saved plan like s again, for hints:
 * "virtform plan CONFIG [--destroy] [--target A]... -out FILE". */
struct vf_saved;
char *vf_run_plan_command(const struct vf_saved *s, const char *file);

#endif
