/*
 * options.c — option parsing shared by every command: the registry of
 * every long option (each defined once; a descriptor names the ones its
 * command takes), getopt_long with exact option names only (no
 * abbreviations) and did-you-mean errors, durations, the CONFIG argument.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "reconcile/model.h"
#include "reconcile/util.h"

/*
 * Every long option, once: its name, whether it takes a value and its id
 * (enum vf_opt, what getopt returns).  A command takes those its
 * descriptor names (VF_OPTS); help, did-you-mean, --list, the completions
 * read them through vf_cmd_longopts.
 */
static const struct option registry[] = {
	{ "allow-mass-destroy", no_argument, NULL, VF_OPT_ALLOW_MASS_DESTROY },
	{ "allow-replace", no_argument, NULL, VF_OPT_ALLOW_REPLACE },
	{ "allow-rewind", no_argument, NULL, VF_OPT_ALLOW_REWIND },
	{ "allowed-signers", required_argument, NULL, VF_OPT_ALLOWED_SIGNERS },
	{ "auto-approve", no_argument, NULL, VF_OPT_AUTO_APPROVE },
	{ "cache-dir", required_argument, NULL, VF_OPT_CACHE_DIR },
	{ "confirm-timeout", required_argument, NULL, VF_OPT_CONFIRM_TIMEOUT },
	{ "deadline", required_argument, NULL, VF_OPT_DEADLINE },
	{ "destroy", no_argument, NULL, VF_OPT_DESTROY },
	{ "detailed-exitcode", no_argument, NULL, VF_OPT_DETAILED_EXITCODE },
	{ "fix", no_argument, NULL, VF_OPT_FIX },
	{ "force", no_argument, NULL, VF_OPT_FORCE },
	{ "git", required_argument, NULL, VF_OPT_GIT },
	{ "git-known-hosts", required_argument, NULL, VF_OPT_GIT_KNOWN_HOSTS },
	{ "git-ssh-key", required_argument, NULL, VF_OPT_GIT_SSH_KEY },
	{ "gpg-keyring", required_argument, NULL, VF_OPT_GPG_KEYRING },
	{ "help", no_argument, NULL, VF_OPT_HELP },
	{ "host", required_argument, NULL, VF_OPT_HOST },
	{ "json", no_argument, NULL, VF_OPT_JSON },
	{ "keep-newline", no_argument, NULL, VF_OPT_KEEP_NEWLINE },
	{ "last-confirmed", no_argument, NULL, VF_OPT_LAST_CONFIRMED },
	{ "list", no_argument, NULL, VF_OPT_LIST },
	{ "lock-timeout", required_argument, NULL, VF_OPT_LOCK_TIMEOUT },
	{ "man", no_argument, NULL, VF_OPT_MAN },
	{ "max-destroy", required_argument, NULL, VF_OPT_MAX_DESTROY },
	{ "no-delete", no_argument, NULL, VF_OPT_NO_DELETE },
	{ "notify-command", required_argument, NULL, VF_OPT_NOTIFY_COMMAND },
	{ "out", required_argument, NULL, VF_OPT_OUT },
	{ "parallelism", required_argument, NULL, VF_OPT_PARALLELISM },
	{ "path", required_argument, NULL, VF_OPT_PATH },
	{ "plan-only", no_argument, NULL, VF_OPT_PLAN_ONLY },
	{ "public-key", required_argument, NULL, VF_OPT_PUBLIC_KEY },
	{ "raw", no_argument, NULL, VF_OPT_RAW },
	{ "ref", required_argument, NULL, VF_OPT_REF },
	{ "secret-key", required_argument, NULL, VF_OPT_SECRET_KEY },
	{ "server", no_argument, NULL, VF_OPT_SERVER },
	{ "skip-unreachable", no_argument, NULL, VF_OPT_SKIP_UNREACHABLE },
	{ "spec", required_argument, NULL, VF_OPT_SPEC },
	{ "staged", no_argument, NULL, VF_OPT_STAGED },
	{ "state-dir", required_argument, NULL, VF_OPT_STATE_DIR },
	{ "state-file", required_argument, NULL, VF_OPT_STATE_FILE },
	{ "target", required_argument, NULL, VF_OPT_TARGET },
	{ "timeout", required_argument, NULL, VF_OPT_TIMEOUT },
	{ "token", required_argument, NULL, VF_OPT_TOKEN },
	{ "verify-signatures", no_argument, NULL, VF_OPT_VERIFY_SIGNATURES },
};

/* The registry's entry of id; a descriptor naming an option the registry
 * lacks is a bug, stopped at its first use. */
static const struct option *registry_option(enum vf_opt id)
{
	size_t i;

	for (i = 0; i < VF_ARRAY_SIZE(registry); i++)
		if (registry[i].val == (int)id)
			return &registry[i];
	fprintf(stderr, "virtform: BUG: option %d is not in the registry\n", (int)id);
	abort();
}

size_t vf_cmd_longopts(const struct vf_cmd *cmd, struct option *table)
{
	static const enum vf_opt help_only[] = { VF_OPT_HELP, VF_OPT_END };
	const enum vf_opt *id = cmd->options ? cmd->options : help_only;
	bool help = false;
	size_t n = 0;

	for (; *id; id++) {
		if (n + 2 >= VF_CMD_OPTIONS_MAX) {
			fprintf(stderr, "virtform: BUG: %s takes more than %d options\n",
				cmd->name, VF_CMD_OPTIONS_MAX - 2);
			abort();
		}
		help = help || *id == VF_OPT_HELP;
		table[n++] = *registry_option(*id);
	}
	if (!help)
		table[n++] = *registry_option(VF_OPT_HELP);
	table[n] = (struct option){ NULL, 0, NULL, 0 };
	return n;
}

int vf_cmd_usage_or_error(const struct vf_cmd *cmd, int c)
{
	if (c != 'h')
		return VF_EXIT_ERROR;
	fputs(cmd->usage, stdout);
	return VF_EXIT_OK;
}

int vf_cmd_parse(const struct vf_cmd *cmd, int argc, char **argv, const char *no_args,
		 const struct vf_opt_bind *binds, size_t n_binds)
{
	const struct vf_opt_bind *b;
	int c;

	while ((c = vf_cmd_getopt(cmd, argc, argv)) != -1) {
		for (b = binds; b < binds + n_binds && b->id != c; b++)
			;
		if (b == binds + n_binds)
			return vf_cmd_usage_or_error(cmd, c);
		if (b->flag)
			*b->flag = true;
		else
			*b->value = optarg;
	}
	if (no_args && optind < argc)
		return vf_cmd_error(cmd, "unexpected argument '%s'%s", argv[optind], no_args);
	return VF_CMD_GO_ON;
}

int vf_cmd_error(const struct vf_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "virtform %s: error: ", cmd->name);
	va_start(ap, fmt);
	vf_vfprintf_text(stderr, fmt, ap);     /* names from the config, escaped */
	va_end(ap);
	fputc('\n', stderr);
	return VF_EXIT_ERROR;
}

/*
 * "unknown option '--auto'; did you mean '--auto-approve'?": the options
 * word is a prefix of (one, or up to three when it is ambiguous), else the
 * nearest by edit distance, else a pointer at --help.
 */
static void unknown_option(const struct vf_cmd *cmd, const char *arg,
			   const struct option *longopts)
{
	struct vf_buf list = VF_BUF_INIT;
	char *names[64];
	const char *near, *prefixed[3];
	char *word;
	size_t n = 0, n_prefixed = 0, i;
	const char *eq;

	/* "--jsn=1" is reported as "--jsn" */
	eq = strchr(arg, '=');
	word = eq ? xstrndup(arg, (size_t)(eq - arg)) : xstrdup(arg);
	for (i = 0; longopts[i].name && n < VF_ARRAY_SIZE(names); i++)
		names[n++] = xasprintf("--%s", longopts[i].name);
	for (i = 0; i < n && strlen(word) > 2; i++)
		if (!strncmp(names[i], word, strlen(word)) && n_prefixed < VF_ARRAY_SIZE(prefixed))
			prefixed[n_prefixed++] = names[i];
	if (n_prefixed > 1) {
		for (i = 0; i < n_prefixed; i++)
			vf_buf_addf(&list, "%s'%s'", !i ? "" : i + 1 == n_prefixed ? " or " : ", ",
				    prefixed[i]);
		vf_cmd_error(cmd, "unknown option '%s'; did you mean %s? (options are never "
			     "abbreviated)", word, list.buf);
		vf_buf_release(&list);
		goto out;
	}
	near = n_prefixed ? prefixed[0] : vf_nearest(word, (const char *const *)names, n);
	if (near)
		vf_cmd_error(cmd, "unknown option '%s'; did you mean '%s'?", word, near);
	else
		vf_cmd_error(cmd, "unknown option '%s'; see 'virtform %s --help'", word, cmd->name);
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(word);
}

/*
 * The argument that named long option lo, just returned by getopt_long:
 * "--name" or "--name=value" at optind - 1, or with its value in the next
 * argument ("--name value") at optind - 2.
 */
static const char *long_option_word(char **argv, const struct option *lo)
{
	if (lo->has_arg == required_argument && optarg == argv[optind - 1])
		return argv[optind - 2];
	return argv[optind - 1];
}

/* Is word ("--name" or "--name=value") exactly lo's name? */
static bool exact_name(const char *word, const struct option *lo)
{
	size_t len = strcspn(word + 2, "=");

	return !strncmp(word, "--", 2) && strlen(lo->name) == len &&
	       !strncmp(word + 2, lo->name, len);
}

static int exact_getopt(const struct vf_cmd *cmd, int argc, char **argv,
			const char *shortopts, const struct option *longopts)
{
	char buf[64];
	int c, index = -1;

	/* ':' first (after a '+': stop at the first non-option): report a
	 * missing argument as ':' rather than '?' */
	if (shortopts[0] == '+')
		snprintf(buf, sizeof(buf), "+:%s", shortopts + 1);
	else
		snprintf(buf, sizeof(buf), ":%s", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, buf, longopts, &index);
	if (c == '?') {
		const char *word = argv[optind - 1];
		bool valued_long = !strncmp(word, "--", 2) && strchr(word, '=');
		size_t i;

		/* an unknown short option sets optopt; an unknown long one does
		 * not, and "--json=1" sets it to --json's val */
		if (optopt && optopt < 256 && !valued_long) {
			char s[3] = { '-', (char)optopt, '\0' };
			unknown_option(cmd, s, longopts);
			return '?';
		}
		for (i = 0; valued_long && longopts[i].name; i++)
			if (longopts[i].has_arg == no_argument && exact_name(word, &longopts[i])) {
				vf_cmd_error(cmd, "option '--%s' takes no value; see 'virtform %s "
					     "--help'", longopts[i].name, cmd->name);
				return '?';
			}
		unknown_option(cmd, word, longopts);
		return '?';
	}
	if (c == ':') {
		vf_cmd_error(cmd, "option '%s' needs a value; see 'virtform %s --help'",
			     argv[optind - 1], cmd->name);
		return '?';
	}
	/* getopt_long takes an unambiguous prefix ("--auto" for
	 * "--auto-approve"): an option, an approval above all, is never
	 * guessed; only its exact name is */
	if (c != -1 && index >= 0) {
		const char *word = long_option_word(argv, &longopts[index]);
		if (!exact_name(word, &longopts[index])) {
			unknown_option(cmd, word, longopts);
			return '?';
		}
	}
	return c;
}

bool vf_parse_seconds(const char *text, double *seconds)
{
	char *end;
	double v;

	if (!text || !*text)
		return false;
	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text)
		return false;
	if (*end == 's' && end[1] == '\0')
		end++;
	if (*end || !isfinite(v) || v <= 0 || v > 86400)
		return false;
	*seconds = v;
	return true;
}

bool vf_parse_count(const char *text, unsigned long max, unsigned long *n)
{
	unsigned long v = 0;
	const char *p;

	if (!text || !*text || text[strspn(text, "0123456789")])
		return false;
	for (p = text; *p; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max)
			return false;
	}
	*n = v;
	return true;
}

const char *vf_cmd_config_arg(const struct vf_cmd *cmd, int argc, char **argv)
{
	if (optind >= argc)
		return ".";
	if (argc - optind > 1) {
		vf_cmd_error(cmd, "expected at most one CONFIG argument, got '%s' and '%s'",
			     argv[optind], argv[optind + 1]);
		return NULL;
	}
	return argv[optind];
}

struct vf_config *vf_cmd_load_config(const char *path)
{
	struct vf_diags diags = { 0 };
	struct vf_config *config = vf_config_load(path, &diags);

	vf_diags_sort(&diags);
	vf_diags_print(&diags, stderr);
	if (!config)
		fprintf(stderr, "%zu error%s in %s\n", diags.n_errors,
			diags.n_errors == 1 ? "" : "s", path);
	vf_diags_release(&diags);
	return config;
}

int vf_cmd_getopt(const struct vf_cmd *cmd, int argc, char **argv)
{
	struct option longopts[VF_CMD_OPTIONS_MAX];

	vf_cmd_longopts(cmd, longopts);
	return exact_getopt(cmd, argc, argv, cmd->shortopts ? cmd->shortopts : "h", longopts);
}

const char *vf_cmd_subcommand_word(const struct vf_cmd *sub)
{
	const char *space = strrchr(sub->name, ' ');

	return space ? space + 1 : sub->name;
}

const struct vf_cmd *vf_cmd_subcommand(const struct vf_cmd *cmd, const char *word)
{
	size_t i;

	for (i = 0; cmd->subcommands && cmd->subcommands[i]; i++)
		if (!strcmp(vf_cmd_subcommand_word(cmd->subcommands[i]), word))
			return cmd->subcommands[i];
	return NULL;
}
