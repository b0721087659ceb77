/*
 * run.h — what plan, apply and destroy share: parse the common options,
 * load the config, lock the state, observe the hosts and build the plan;
 * save a plan (plan -out FILE) and carry a saved one out (apply FILE).
 */
#ifndef VF_CMD_RUN_H
#define VF_CMD_RUN_H

#include <getopt.h>
#include <stdbool.h>

#include "cmd/cmd.h"
#include "cmd/hostnet.h"
#include "reconcile/engine.h"

/* Long options every reconciling command takes (val codes >= 1000). */
enum {
	RUN_OPT_TARGET = 1000,
	RUN_OPT_STATE_DIR,
	RUN_OPT_LOCK_TIMEOUT,
	RUN_OPT_TIMEOUT,
	RUN_OPT_SKIP_UNREACHABLE,
	RUN_OPT_PARALLELISM,
	RUN_OPT_AUTO_APPROVE,
	RUN_OPT_JSON,
	RUN_OPT_DETAILED_EXITCODE,
	RUN_OPT_ALLOW_REPLACE,
	RUN_OPT_OUT,
	RUN_OPT_DESTROY,
	RUN_OPT_CONFIRM_TIMEOUT,
};

/* The help text of the shared options. */
#define RUN_OPTIONS_HELP                                                            \
	"      --target ADDR         only ADDR (vm.NAME, network.NAME[@HOST],\n"         \
	"                            storage.NAME[@HOST], volume.NAME@HOST) and what\n"  \
	"                            it depends on; repeatable\n"                         \
	"      --state-dir DIR       the state directory (default: .virtform beside\n"   \
	"                            the config; or $VIRTFORM_STATE_DIR)\n"               \
	"      --lock-timeout SECONDS wait this long for another run's lock (default 0)\n" \
	"      --timeout SECONDS     give each host this long to answer (default 60)\n"  \
	"      --skip-unreachable    plan for the hosts that answer; say loudly which\n" \
	"                            were skipped (default: an unreachable host fails)\n" \
	"      --allow-replace       let the plan replace a network that running VMs\n" \
	"                            use (they lose their link until it is back)\n"

/* The long options of run_option(), for a command's option table. */
#define RUN_LONGOPTS                                                              \
	{ "target", required_argument, NULL, RUN_OPT_TARGET },                   \
	{ "state-dir", required_argument, NULL, RUN_OPT_STATE_DIR },             \
	{ "lock-timeout", required_argument, NULL, RUN_OPT_LOCK_TIMEOUT },       \
	{ "timeout", required_argument, NULL, RUN_OPT_TIMEOUT },                 \
	{ "skip-unreachable", no_argument, NULL, RUN_OPT_SKIP_UNREACHABLE },     \
	{ "allow-replace", no_argument, NULL, RUN_OPT_ALLOW_REPLACE },           \
	{ "help", no_argument, NULL, 'h' }

struct run_opts {
	const char *config_path;
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
};

/*
 * Handle option c (from vf_getopt) if it is a shared one: 1 handled, 0
 * not a shared option, -1 bad value (error printed).
 */
int run_option(const struct vf_cmd *cmd, int c, const char *arg, struct run_opts *o);

struct run {
	struct vf_config *config;
	struct vf_state state;
	bool state_open;
	struct vf_views views;
	struct vf_desired desired;
	struct vf_plan plan;
	struct hostnet hostnet;          /* the hosts' network links (plan->links) */
};

/*
 * Load, lock and observe, without planning (import).  Prints every
 * diagnostic to stderr.  Returns 0, or VF_EXIT_ERROR (run is then still to
 * be released).
 */
int run_observe(const struct vf_cmd *cmd, const struct run_opts *o, struct run *run);

/*
 * Load, lock, observe, plan.  Prints every diagnostic to stderr.
 * Returns 0, or VF_EXIT_ERROR (run is then still to be released).
 */
int run_plan(const struct vf_cmd *cmd, const struct run_opts *o, struct run *run);

/*
 * Write run's plan as a saved plan to file (reconcile/saved.h) and say so
 * ("Saved the plan to FILE: ..." on out).  Returns the exit status.
 */
int run_save_plan(const struct vf_cmd *cmd, const struct run_opts *o, struct run *run,
		  const char *file, FILE *out);
void run_release(struct run *run, struct run_opts *o);

/*
 * Show the plan, ask "Apply these changes? (yes/no)" on a terminal (or
 * refuse without one unless auto_approve), execute it and print the
 * summary ("Apply complete: ..." / "Destroy complete: ...").  Returns the
 * exit status.
 */
int run_apply(const struct vf_cmd *cmd, const struct run_opts *o, struct run *run,
	      bool auto_approve);

/*
 * The whole of `virtform apply` (destroy false) and `virtform destroy`
 * (true): options, plan, confirm, execute.  `apply FILE` with a saved
 * plan instead checks it is not stale and carries it out unasked.
 * Returns the exit status.
 */
int run_apply_command(const struct vf_cmd *cmd, int argc, char **argv, bool destroy);

/* Colour on stdout: a terminal, and NO_COLOR unset or empty. */
bool run_color(void);

/* The command that makes a saved plan like s again, for hints:
 * "virtform plan CONFIG [--destroy] [--target A]... -out FILE". */
struct vf_saved;
char *run_plan_command(const struct vf_saved *s, const char *file);

#endif
