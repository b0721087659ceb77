/*
 * cmd.h — the command table.  Each command lives in cmd/<name>.c and
 * exports one descriptor; cmd/main.c lists them and dispatches.
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
 * One command, or one subcommand ("host show"): everything it accepts is
 * here, so that help, usage, option parsing, did-you-mean, the shell
 * completion (cmd/completion.c) and the man pages (help --man) are all
 * read from one place.  longopts ends in an all-zero entry; NULL: the
 * command takes no option but --help.  subcommands is NULL-terminated;
 * a subcommand's name is its command's name, a space and its word
 * ("host show"), and its run may be NULL when the command dispatches
 * itself (hook: the options come before the hook's name).
 */
struct vf_cmd {
	const char *name;
	const char *summary;     /* one line, for `virtform help` */
	const char *usage;       /* full --help text, ends in '\n' */
	int (*run)(int argc, char **argv);
	const struct option *longopts;
	const char *shortopts;   /* as getopt's optstring (a leading '+': options
	                          * before the arguments only); NULL: "h" */
	const struct vf_cmd *const *subcommands;
};

/*
 * The usual descriptor: VF_CMD("plan", "show what ...", usage, cmd_plan,
 * .longopts = longopts).
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

/*
 * getopt_long() over cmd's own longopts and shortopts (default "h"), with
 * virtform's error reporting: an unknown option or a missing argument
 * prints "virtform CMD: unknown option '--jsn'; did you mean '--json'?"
 * and returns '?'.  Long options are taken by their exact name only
 * ("--name", "--name=VALUE", "--name VALUE"): a prefix getopt_long would
 * accept ("--auto" for "--auto-approve") is such an error.
 * "--help"/"-h" must be in longopts with val 'h'.  Options may come after
 * positional arguments (GNU permutation).
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

/* The end of a command's option table: --help (-h), then the terminator. */
#define VF_OPTIONS_END { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }

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
