/*
 * completion.c — `virtform completion bash|zsh`: the shell completion
 * scripts, written from the command descriptors (vf_commands[], each with
 * its longopts and subcommands), so that a new command or option completes
 * without anyone editing a script.  The scripts are installed with the
 * package (contrib/completion/, made by `make completion`; a test checks
 * they are what this command prints).
 *
 * What completes: the commands; a command's subcommands (host show, hook
 * pre-receive, ...); its long options (a subcommand with options of its own
 * takes those); files after an option that takes a value and, for commands
 * whose synopsis names CONFIG, for the positional argument; the command
 * names after `help`.  The scripts hold data only, no logic that depends on
 * which command it is beyond a case per command.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "reconcile/util.h"

static const char usage[] =
	"usage: virtform completion bash|zsh\n"
	"       virtform completion --list\n"
	"\n"
	"Print the completion script of the shell: commands, subcommands, options,\n"
	"files for CONFIG.  Load it for this shell with\n"
	"  source <(virtform completion bash)\n"
	"or install it: contrib/completion/virtform.bash (bash-completion) and\n"
	"contrib/completion/_virtform (a directory of zsh's $fpath).\n"
	"\n"
	"Options:\n"
	"      --list  print each command and subcommand, a tab and its long options\n"
	"              (what the scripts complete; for tests and other shells)\n"
	"  -h, --help  show this help\n";

static int completion_run(int argc, char **argv);

static const struct vf_cmd completion_bash = VF_CMD("completion bash",
	"the bash completion script", usage, NULL);
static const struct vf_cmd completion_zsh = VF_CMD("completion zsh",
	"the zsh completion script", usage, NULL);

static const struct vf_cmd *const subcommands[] = {
	&completion_bash,
	&completion_zsh,
	NULL,
};

static const struct option longopts[] = {
	{ "list", no_argument, NULL, 'l' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

const struct vf_cmd vf_cmd_completion = VF_CMD("completion",
	"print the bash or zsh completion script", usage, completion_run,
	.longopts = longopts, .subcommands = subcommands);

/* The options sub is completed with: its own, else its command's. */
static const struct option *options_of(const struct vf_cmd *cmd, const struct vf_cmd *sub)
{
	return sub && sub->longopts ? sub->longopts : cmd->longopts;
}

/* Does sub take options of its own (so that it comes first: "host show --json")? */
static bool own_options(const struct vf_cmd *cmd, const struct vf_cmd *sub)
{
	return sub->longopts && sub->longopts != cmd->longopts;
}

/* Does the command take CONFIG (its synopsis, the usage's first paragraph, says so)? */
static bool takes_config(const struct vf_cmd *cmd)
{
	const char *end = strstr(cmd->usage, "\n\n");
	const char *at = strstr(cmd->usage, "CONFIG");

	return at && (!end || at < end);
}

/* The long options, "--a --b", those with a value or those without. */
static void print_options(FILE *out, const struct option *lo, bool valued)
{
	const char *sep = "";

	for (; lo && lo->name; lo++) {
		if ((lo->has_arg != no_argument) != valued)
			continue;
		fprintf(out, "%s--%s", sep, lo->name);
		sep = " ";
	}
}

/* ---- bash ------------------------------------------------------------------- */

/* Add name to the n names listed so far unless there; false when it was there. */
static bool add_unique(const char **names, size_t *n, size_t max, const char *name)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (!strcmp(names[i], name))
			return false;
	if (*n < max)
		names[(*n)++] = name;
	return true;
}

/* Every option of every command and subcommand that takes a value, once each. */
static void print_all_valued(FILE *out)
{
	const char *names[256];
	size_t i, j, n = 0;

	for (i = 0; vf_commands[i]; i++) {
		const struct vf_cmd *c = vf_commands[i];
		for (j = 0; j == 0 || (c->subcommands && c->subcommands[j - 1]); j++) {
			const struct option *lo = j ? c->subcommands[j - 1]->longopts : c->longopts;
			for (; lo && lo->name; lo++)
				if (lo->has_arg != no_argument &&
				    add_unique(names, &n, VF_ARRAY_SIZE(names), lo->name))
					fprintf(out, "%s--%s", n > 1 ? " " : "", lo->name);
		}
	}
}

static void bash_options(FILE *out, const char *indent, const struct option *lo)
{
	fprintf(out, "%sopts=\"", indent);
	print_options(out, lo, false);
	fprintf(out, "\"; vopts=\"");
	print_options(out, lo, true);
	fputs("\"\n", out);
}

static void bash_command(FILE *out, const struct vf_cmd *cmd)
{
	size_t i;

	fprintf(out, "\t%s)\n", cmd->name);
	bash_options(out, "\t\t", cmd->longopts);
	if (takes_config(cmd))
		fputs("\t\tfiles=1\n", out);
	if (!strcmp(cmd->name, "help"))
		fputs("\t\tsubs=$commands\n", out);
	if (!cmd->subcommands) {
		fputs("\t\t;;\n", out);
		return;
	}
	fputs("\t\tsubs=\"", out);
	for (i = 0; cmd->subcommands[i]; i++)
		fprintf(out, "%s%s", i ? " " : "", vf_cmd_subcommand_word(cmd->subcommands[i]));
	fputs("\"\n\t\tcase $sub in\n", out);
	for (i = 0; cmd->subcommands[i]; i++) {
		const struct vf_cmd *sub = cmd->subcommands[i];
		if (!own_options(cmd, sub))
			continue;
		fprintf(out, "\t\t%s)\n", vf_cmd_subcommand_word(sub));
		bash_options(out, "\t\t\t", sub->longopts);
		if (takes_config(sub))
			fputs("\t\t\tfiles=1\n", out);
		fputs("\t\t\t;;\n", out);
	}
	fputs("\t\tesac\n\t\t;;\n", out);
}

static void print_bash(FILE *out)
{
	size_t i;

	fputs("# bash completion for virtform: generated by 'virtform completion bash'\n"
	      "# from the command descriptors (cmd/*.c); do not edit, run 'make completion'.\n"
	      "\n"
	      "_virtform()\n"
	      "{\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tlocal cmd= sub= opts= vopts= subs= files=0 i w\n"
	      "\tlocal commands=\"", out);
	for (i = 0; vf_commands[i]; i++)
		fprintf(out, "%s%s", i ? " " : "", vf_commands[i]->name);
	fputs("\"\n"
	      "\t# every option that takes a value: the word after it is not a command\n"
	      "\tlocal valued=\" ", out);
	print_all_valued(out);
	fputs(" \"\n"
	      "\n"
	      "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	      "\t\tw=${COMP_WORDS[i]}\n"
	      "\t\tcase $w in -*) continue ;; esac\n"
	      "\t\tcase $valued in *\" ${COMP_WORDS[i-1]} \"*) continue ;; esac\n"
	      "\t\tif [[ -z $cmd ]]; then cmd=$w; elif [[ -z $sub ]]; then sub=$w; fi\n"
	      "\tdone\n"
	      "\tif [[ -z $cmd ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$commands --help --version\" -- \"$cur\"))\n"
	      "\t\treturn\n"
	      "\tfi\n"
	      "\tcase $cmd in\n", out);
	for (i = 0; vf_commands[i]; i++)
		bash_command(out, vf_commands[i]);
	fputs("\t*) return ;;\n"
	      "\tesac\n"
	      "\tcase \" $vopts \" in\n"
	      "\t*\" $prev \"*)\n"
	      "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "\t\treturn\n"
	      "\t\t;;\n"
	      "\tesac\n"
	      "\tif [[ $cur == -* ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$opts $vopts\" -- \"$cur\"))\n"
	      "\telif [[ -n $subs && ( -z $sub || $sub == \"$cur\" ) ]]; then\n"
	      "\t\tCOMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
	      "\telif (( files )); then\n"
	      "\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n"
	      "\tfi\n"
	      "}\n"
	      "complete -o filenames -F _virtform virtform\n", out);
}

/* ---- zsh -------------------------------------------------------------------- */

/* s inside single quotes, for zsh; a colon escaped when s is a _describe name */
static void zsh_body(FILE *out, const char *s, bool name)
{
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", out);
		else if (*s == ':' && name)
			fputs("\\:", out);
		else
			fputc(*s, out);
	}
}

/* `_arguments` with the long options; then positional, else files for CONFIG */
static void zsh_arguments(FILE *out, const char *indent, const struct vf_cmd *cmd,
			  const struct option *lo, const char *positional)
{
	fprintf(out, "%s_arguments -S", indent);
	for (; lo && lo->name; lo++) {
		if (lo->has_arg == no_argument)
			fprintf(out, " \\\n%s\t'--%s'", indent, lo->name);
		else
			fprintf(out, " \\\n%s\t'*--%s=:value:_files'", indent, lo->name);
	}
	if (positional)
		fprintf(out, " \\\n%s\t%s", indent, positional);
	else if (takes_config(cmd))
		fprintf(out, " \\\n%s\t'*:CONFIG:_files'", indent);
	fputc('\n', out);
}

/* `_describe` of commands or subcommands, each with its summary */
static void zsh_describe(FILE *out, const char *indent, const char *what,
			 const struct vf_cmd *const *cmds)
{
	size_t i;

	fprintf(out, "%slocal -a items=(", indent);
	for (i = 0; cmds[i]; i++) {
		fprintf(out, "\n%s\t'", indent);
		zsh_body(out, vf_cmd_subcommand_word(cmds[i]), true);
		fputc(':', out);
		zsh_body(out, cmds[i]->summary, false);
		fputc('\'', out);
	}
	fprintf(out, "\n%s)\n%s_describe -t commands '%s' items\n", indent, indent, what);
}

/* A command whose subcommand comes first and has options of its own (host). */
static void zsh_subcommand_first(FILE *out, const struct vf_cmd *cmd)
{
	size_t i;

	fputs("\t\tif (( CURRENT == 2 )); then\n", out);
	zsh_describe(out, "\t\t\t", "subcommand", cmd->subcommands);
	fputs("\t\t\treturn\n\t\tfi\n\t\tshift words; (( CURRENT-- ))\n\t\tcase ${words[1]} in\n",
	      out);
	for (i = 0; cmd->subcommands[i]; i++) {
		const struct vf_cmd *sub = cmd->subcommands[i];
		fprintf(out, "\t\t%s)\n", vf_cmd_subcommand_word(sub));
		zsh_arguments(out, "\t\t\t", sub, options_of(cmd, sub), NULL);
		fputs("\t\t\t;;\n", out);
	}
	fputs("\t\tesac\n", out);
}

/* "'1:WHAT:(a b c)'": one of the words of cmds as the first argument */
static char *zsh_one_of(const char *what, const struct vf_cmd *const *cmds, const char *more)
{
	struct vf_buf b = VF_BUF_INIT;
	size_t i;

	vf_buf_addf(&b, "'1:%s:(", what);
	for (i = 0; cmds[i]; i++)
		vf_buf_addf(&b, "%s%s", i ? " " : "", vf_cmd_subcommand_word(cmds[i]));
	vf_buf_addf(&b, ")'%s", more);
	return vf_buf_detach(&b);
}

static void zsh_command(FILE *out, const struct vf_cmd *cmd)
{
	char *positional = NULL;

	fprintf(out, "\t%s)\n", cmd->name);
	if (cmd->subcommands && own_options(cmd, cmd->subcommands[0])) {
		zsh_subcommand_first(out, cmd);
		fputs("\t\t;;\n", out);
		return;
	}
	if (cmd->subcommands)
		positional = zsh_one_of("subcommand", cmd->subcommands, " '*:file:_files'");
	else if (!strcmp(cmd->name, "help"))
		positional = zsh_one_of("command", vf_commands, "");
	zsh_arguments(out, "\t\t", cmd, cmd->longopts, positional);
	free(positional);
	fputs("\t\t;;\n", out);
}

static void print_zsh(FILE *out)
{
	size_t i;

	fputs("#compdef virtform\n"
	      "# zsh completion for virtform: generated by 'virtform completion zsh'\n"
	      "# from the command descriptors (cmd/*.c); do not edit, run 'make completion'.\n"
	      "\n"
	      "_virtform()\n"
	      "{\n"
	      "\tif (( CURRENT == 2 )); then\n", out);
	zsh_describe(out, "\t\t", "command", vf_commands);
	fputs("\t\treturn\n"
	      "\tfi\n"
	      "\tshift words; (( CURRENT-- ))\n"
	      "\tcase ${words[1]} in\n", out);
	for (i = 0; vf_commands[i]; i++)
		zsh_command(out, vf_commands[i]);
	fputs("\tesac\n"
	      "}\n"
	      "\n"
	      "_virtform \"$@\"\n", out);
}

static void list_line(FILE *out, const struct vf_cmd *cmd)
{
	fprintf(out, "%s\t", cmd->name);
	print_options(out, cmd->longopts, false);
	fputc(' ', out);
	print_options(out, cmd->longopts, true);
	fputc('\n', out);
}

/* --list: "NAME\t--a --b" for each command and subcommand with options of its own */
static void print_list(FILE *out)
{
	size_t i, j;

	for (i = 0; vf_commands[i]; i++) {
		const struct vf_cmd *c = vf_commands[i];
		list_line(out, c);
		for (j = 0; c->subcommands && c->subcommands[j]; j++)
			if (own_options(c, c->subcommands[j]))
				list_line(out, c->subcommands[j]);
	}
}

static int completion_run(int argc, char **argv)
{
	const struct vf_cmd *sub;
	int c;

	while ((c = vf_cmd_getopt(&vf_cmd_completion, argc, argv)) != -1) {
		if (c == 'l') {
			print_list(stdout);
			return VF_EXIT_OK;
		}
		if (c != 'h')
			return VF_EXIT_ERROR;
		fputs(usage, stdout);
		return VF_EXIT_OK;
	}
	if (argc - optind != 1)
		return vf_cmd_error(&vf_cmd_completion, "give the shell: bash or zsh");
	sub = vf_cmd_subcommand(&vf_cmd_completion, argv[optind]);
	if (sub == &completion_bash)
		print_bash(stdout);
	else if (sub == &completion_zsh)
		print_zsh(stdout);
	else
		return vf_cmd_error(&vf_cmd_completion, "unknown shell '%s': give bash or zsh",
				    argv[optind]);
	return VF_EXIT_OK;
}
