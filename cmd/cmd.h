/*
 * cmd.h — the command table.  Each command lives in cmd/<name>.c (destroy
 * in apply.c, its mirror) and exports one descriptor, last in the file;
 * cmd/main.c lists them and dispatches.
 *
 * A command's run() gets argv with argv[0] the command name and returns
 * the process exit status (VF_EXIT_*).  Commands print their own output
 * to stdout and diagnostics to stderr.
 */
#ifndef VF_CMD_H
#define VF_CMD_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

enum vf_exit {
	VF_EXIT_OK = 0,
	VF_EXIT_ERROR = 1,
	VF_EXIT_CHANGES = 2,     /* plan --detailed-exitcode, drift */
};

/*
 * Every long option of every command, by its id: what getopt returns for
 * it.  The registry (cmd/options.c) defines each once, its name and
 * whether it takes a value; a command's descriptor names those it takes
 * (VF_OPTS), its usage says what they mean there.  An option of the same
 * name is the same option in every command that takes it.
 */
enum vf_opt {
	VF_OPT_END = 0,                  /* the end of a VF_OPTS list */
	VF_OPT_HELP = 'h',               /* -h too: every command takes it */
	VF_OPT_ALLOW_MASS_DESTROY = 256, /* past every short option */
	VF_OPT_ALLOW_REPLACE,
	VF_OPT_ALLOW_REWIND,
	VF_OPT_ALLOWED_SIGNERS,
	VF_OPT_AUTO_APPROVE,
	VF_OPT_CACHE_DIR,
	VF_OPT_CONFIRM_TIMEOUT,
	VF_OPT_DEADLINE,
	VF_OPT_DESTROY,
	VF_OPT_DETAILED_EXITCODE,
	VF_OPT_FIX,
	VF_OPT_FORCE,
	VF_OPT_GIT,
	VF_OPT_GIT_KNOWN_HOSTS,
	VF_OPT_GIT_SSH_KEY,
	VF_OPT_GPG_KEYRING,
	VF_OPT_HOST,
	VF_OPT_JSON,
	VF_OPT_KEEP_NEWLINE,
	VF_OPT_LAST_CONFIRMED,
	VF_OPT_LIST,
	VF_OPT_LOCK_TIMEOUT,
	VF_OPT_MAN,
	VF_OPT_MAX_DESTROY,
	VF_OPT_NO_DELETE,
	VF_OPT_NOTIFY_COMMAND,
	VF_OPT_OUT,
	VF_OPT_PARALLELISM,
	VF_OPT_PATH,
	VF_OPT_PLAN_ONLY,
	VF_OPT_PUBLIC_KEY,
	VF_OPT_RAW,
	VF_OPT_REF,
	VF_OPT_SECRET_KEY,
	VF_OPT_SERVER,
	VF_OPT_SKIP_UNREACHABLE,
	VF_OPT_SPEC,
	VF_OPT_STAGED,
	VF_OPT_STATE_DIR,
	VF_OPT_STATE_FILE,
	VF_OPT_TARGET,
	VF_OPT_TIMEOUT,
	VF_OPT_TOKEN,
	VF_OPT_VERIFY_SIGNATURES,
};

/* The options a command takes, in the order did-you-mean, --list and the
 * completions give them: VF_OPTS(VF_OPT_JSON, VF_OPT_TIMEOUT). */
#define VF_OPTS(...) ((const enum vf_opt[]){ __VA_ARGS__, VF_OPT_END })

/*
 * One command, or one subcommand ("host show"): everything it accepts is
 * here, so that help, usage, option parsing, did-you-mean, the shell
 * completion (cmd/completion.c) and the man pages (help --man) are all
 * read from one place.  options is a VF_OPTS list; --help comes last
 * unless the list names it; NULL: the command takes no option but --help
 * (and completes none).  subcommands is NULL-terminated; a subcommand's
 * name is its command's name, a space and its word ("host show"); its
 * options NULL: its command's.  Its run may be NULL when the command
 * dispatches itself (hook: the options come before the hook's name).
 */
struct vf_cmd {
	const char *name;
	const char *summary;     /* one line, for `virtform help` */
	const char *usage;       /* full --help text, ends in '\n' */
	int (*run)(int argc, char **argv);
	const enum vf_opt *options;
	const char *shortopts;   /* as getopt's optstring (a leading '+': options
	                          * before the arguments only); NULL: "h" */
	const struct vf_cmd *const *subcommands;
};

/*
 * The usual descriptor: VF_CMD("plan", "show what ...", usage, cmd_plan,
 * .options = VF_OPTS(VF_OPT_JSON, ...)).
 */
#define VF_CMD(name_, summary_, usage_, run_, ...) \
	{ .name = (name_), .summary = (summary_), .usage = (usage_), .run = (run_), __VA_ARGS__ }

extern const struct vf_cmd vf_cmd_validate;
extern const struct vf_cmd vf_cmd_hosts;
extern const struct vf_cmd vf_cmd_host;
extern const struct vf_cmd vf_cmd_plan;
extern const struct vf_cmd vf_cmd_apply;
extern const struct vf_cmd vf_cmd_destroy;
extern const struct vf_cmd vf_cmd_show;
extern const struct vf_cmd vf_cmd_drift;
extern const struct vf_cmd vf_cmd_import;
extern const struct vf_cmd vf_cmd_sync;
extern const struct vf_cmd vf_cmd_log;
extern const struct vf_cmd vf_cmd_hook;
extern const struct vf_cmd vf_cmd_hooks;
extern const struct vf_cmd vf_cmd_keygen;
extern const struct vf_cmd vf_cmd_seal;
extern const struct vf_cmd vf_cmd_help;
extern const struct vf_cmd vf_cmd_completion;
extern const struct vf_cmd vf_cmd_version;

/* virtform's version ("0.1.0"), for what it writes (saved plans). */
const char *vf_cmd_version_string(void);

/* Every command, in help order; NULL-terminated. */
extern const struct vf_cmd *const vf_commands[];

/* The most options a command takes, --help and the all-zero end included. */
#define VF_CMD_OPTIONS_MAX 48

/*
 * cmd's options as getopt_long's table (table has VF_CMD_OPTIONS_MAX
 * entries): each from the registry, in the order cmd names them, --help
 * last unless named, then the all-zero entry.  Returns how many options
 * (the end not counted); a command whose options are NULL takes --help.
 */
size_t vf_cmd_longopts(const struct vf_cmd *cmd, struct option *table);

/*
 * getopt_long() over cmd's options (vf_cmd_longopts) and shortopts
 * (default "h"), with virtform's error reporting: an unknown option or a
 * missing argument prints "virtform CMD: unknown option '--jsn'; did you
 * mean '--json'?" and returns '?'.  Long options are taken by their exact
 * name only ("--name", "--name=VALUE", "--name VALUE"): a prefix
 * getopt_long would accept ("--auto" for "--auto-approve") is such an
 * error.  Returns the option's id (enum vf_opt; 'h' for -h and --help).
 * Options may come after positional arguments (GNU permutation).
 */
int vf_cmd_getopt(const struct vf_cmd *cmd, int argc, char **argv);

/*
 * The subcommand of cmd named word ("show" finds "host show"), or NULL.
 * The caller reports an unknown one: each command says it its own way.
 */
const struct vf_cmd *vf_cmd_subcommand(const struct vf_cmd *cmd, const char *word);

/* The word of subcommand sub ("show" for "host show"). */
const char *vf_cmd_subcommand_word(const struct vf_cmd *sub);

/*
 * The manual page (roff) of cmd, virtform-CMD(1), from its usage and its
 * subcommands' (cmd/man.c); of virtform itself, virtform(1), from the text
 * `virtform help` prints.
 */
void vf_cmd_print_man(FILE *out, const struct vf_cmd *cmd);
void vf_cmd_print_man_main(FILE *out, const char *help_text);

/*
 * Where vf_cmd_parse puts an option of a command whose options are flags
 * and plain values: a flag set to true, or a string pointed at the
 * option's argument (the last one given wins).
 */
struct vf_opt_bind {
	int id;                  /* enum vf_opt */
	bool *flag;
	const char **value;
};
#define VF_FLAG(id_, p)  { .id = (id_), .flag = (p) }
#define VF_VALUE(id_, p) { .id = (id_), .value = (p) }

/* vf_cmd_parse's "the command goes on" (any other return is the exit status). */
#define VF_CMD_GO_ON (-1)

/*
 * The whole option parsing of such a command: vf_cmd_getopt over argv,
 * each option into its binding (every option of cmd but --help has one),
 * --help printing the usage.  With no_args ("; what to give instead"),
 * an argument left over is an error: "unexpected argument 'X'" followed by
 * no_args; NULL: the arguments from optind on are the command's.  Returns
 * VF_CMD_GO_ON, or the status to exit with (VF_EXIT_OK after --help,
 * VF_EXIT_ERROR after an error it reported).
 *
 *   rc = VF_CMD_PARSE(&vf_cmd_keygen, argc, argv, "; give the directory with --out DIR",
 *                     VF_VALUE(VF_OPT_OUT, &dir), VF_FLAG(VF_OPT_FORCE, &force));
 */
int vf_cmd_parse(const struct vf_cmd *cmd, int argc, char **argv, const char *no_args,
		 const struct vf_opt_bind *binds, size_t n_binds);
#define VF_CMD_PARSE(cmd, argc, argv, no_args, ...)                                    \
	vf_cmd_parse(cmd, argc, argv, no_args, (const struct vf_opt_bind[]){ __VA_ARGS__ }, \
		     sizeof((const struct vf_opt_bind[]){ __VA_ARGS__ }) /                  \
		     sizeof(struct vf_opt_bind))

/* The default of a command's getopt switch: 'h' prints the command's
 * usage to stdout and is VF_EXIT_OK; anything else is an option
 * vf_cmd_getopt already reported: VF_EXIT_ERROR. */
int vf_cmd_usage_or_error(const struct vf_cmd *cmd, int c);

/* Print "virtform CMD: error: MSG" to stderr; returns VF_EXIT_ERROR. */
int vf_cmd_error(const struct vf_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Parse a positive duration in seconds ("10", "2.5"); false on bad input. */
bool vf_parse_seconds(const char *text, double *seconds);

/* Parse a whole number from 0 to max written as digits only (no sign,
 * no space); false on bad input. */
bool vf_parse_count(const char *text, unsigned long max, unsigned long *n);

/* The CONFIG positional argument: at most one, default ".". NULL (after an
 * error message) when more than one was given. */
const char *vf_cmd_config_arg(const struct vf_cmd *cmd, int argc, char **argv);

struct vf_config;

/*
 * Load and check CONFIG (reconcile/model.h).  Every diagnostic goes to
 * stderr, sorted by position, and on failure a count line; returns NULL
 * then.  The caller frees the config with vf_config_free().
 */
struct vf_config *vf_cmd_load_config(const char *path);

#endif
