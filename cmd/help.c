/*
 * help.c — `virtform help [--man] [COMMAND]`: the command list, or one
 * command's usage (the same text as `virtform COMMAND --help`); with
 * --man, the same as a manual page (cmd/man.c), for `make man`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"

static const char usage[] =
	"usage: virtform help [--man] [COMMAND]\n"
	"\n"
	"Show the list of commands, or the usage of COMMAND.\n"
	"\n"
	"Options:\n"
	"      --man   print the manual page (roff) of COMMAND, or of virtform\n"
	"  -h, --help  show this help\n";

static const char intro[] =
	"usage: virtform <command> [options] [CONFIG]\n"
	"\n"
	"virtform reconciles KVM hosts (libvirt) with a declarative YAML\n"
	"configuration: clusters, hosts, networks, storage domains and VMs.\n"
	"CONFIG is a YAML file or a directory whose *.yaml/*.yml files are\n"
	"merged; default: the current directory.  'virtform plan -out FILE' saves\n"
	"a plan for review; 'virtform apply FILE' carries out exactly it.\n"
	"\n"
	"Commands:\n";

static const char outro[] =
	"\n"
	"Exit status:\n"
	"  0  success\n"
	"  1  error (bad configuration, unreachable host, failed action, stale\n"
	"     saved plan)\n"
	"  2  changes present (plan --detailed-exitcode, drift)\n"
	"\n"
	"Run 'virtform <command> --help' for a command's options.\n";

/* The command list: `virtform help`, and virtform(1). */
static void print_help(FILE *out)
{
	size_t i;

	fputs(intro, out);
	for (i = 0; vf_commands[i]; i++)
		fprintf(out, "  %-10s %s\n", vf_commands[i]->name, vf_commands[i]->summary);
	fputs(outro, out);
}

static void print_man_main(void)
{
	char *text = NULL;
	size_t size = 0;
	FILE *mem = open_memstream(&text, &size);

	if (!mem)
		abort();                 /* out of memory, as xmalloc */
	print_help(mem);
	fclose(mem);
	vf_cmd_print_man_main(stdout, text);
	free(text);
}

static int help_run(int argc, char **argv)
{
	bool man = false;
	size_t i;
	int c;

	while ((c = vf_cmd_getopt(&vf_cmd_help, argc, argv)) != -1) {
		if (c == VF_OPT_MAN) {
			man = true;
		} else if (c == 'h') {
			fputs(usage, stdout);
			return VF_EXIT_OK;
		} else {
			return VF_EXIT_ERROR;
		}
	}
	if (optind == argc) {
		if (man)
			print_man_main();
		else
			print_help(stdout);
		return VF_EXIT_OK;
	}
	for (i = 0; vf_commands[i]; i++) {
		if (!strcmp(vf_commands[i]->name, argv[optind])) {
			if (man)
				vf_cmd_print_man(stdout, vf_commands[i]);
			else
				fputs(vf_commands[i]->usage, stdout);
			return VF_EXIT_OK;
		}
	}
	return vf_cmd_error(&vf_cmd_help, "unknown command '%s'", argv[optind]);
}

const struct vf_cmd vf_cmd_help = VF_CMD("help", "show commands, or one command's usage", usage,
	help_run, .options = VF_OPTS(VF_OPT_MAN),
	.shortopts = "+h");         /* help plan --help: plan's usage, as always */
